//! `events_tail`: the events the daemon appended to its EVE output after a cursor.
//!
//! The file is the daemon's own output (the events after the hunt policy), read with bounded
//! memory: at most [`MAX_TAIL_BYTES`] per answer, whole lines only, so a cursor always sits at
//! a line start. A cursor names the file by inode: when the file was rotated or truncated, the
//! answer starts at the new file's beginning and says `rotated`.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use hunt::query::Node;
use mgmt_proto::TailCursor;
use serde_json::{json, Value};

use crate::exec::{MAX_TAIL_BYTES, TAIL_WINDOW};

/// Most bytes of events in one answer (long events such as file records add up).
const MAX_ANSWER_BYTES: usize = 8 << 20;

pub(crate) fn tail(
    path: &Path,
    query: Option<&Node>,
    cursor: Option<TailCursor>,
    limit: u32,
) -> Result<Value, String> {
    let limit = limit.max(1) as usize;
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(json!({"events": [], "cursor": cursor, "rotated": false, "more": false}))
        }
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let meta = f
        .metadata()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let (ino, len) = (meta.ino(), meta.len());
    let (start, rotated, from_end) = match cursor {
        Some(c) if c.file == ino && c.offset <= len => (c.offset, false, false),
        Some(_) => (0, true, false),
        None => (len.saturating_sub(TAIL_WINDOW), false, true),
    };
    let end = len.min(start.saturating_add(MAX_TAIL_BYTES));
    let mut buf = Vec::with_capacity(usize::try_from(end - start).unwrap_or(0));
    f.seek(SeekFrom::Start(start))
        .and_then(|_| f.by_ref().take(end - start).read_to_end(&mut buf))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    // Whole lines only: from the first line start (when starting mid-file from the end) to
    // the last newline.
    let mut pos = 0usize;
    if from_end && start > 0 {
        pos = buf
            .iter()
            .position(|&b| b == b'\n')
            .map_or(buf.len(), |i| i + 1);
    }
    let last_nl = buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut kept: VecDeque<Value> = VecDeque::new();
    let mut kept_bytes = 0usize;
    let mut unreadable = 0u64;
    let mut next = start + last_nl.max(pos) as u64;
    while pos < last_nl {
        let nl = buf[pos..last_nl]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(last_nl, |i| pos + i);
        let line = &buf[pos..nl];
        let line_end = nl + 1;
        if !line.is_empty() {
            match serde_json::from_slice::<Value>(line) {
                Ok(ev) => {
                    if query.is_none_or(|q| hunt::eval::matches(q, &ev)) {
                        kept_bytes += line.len();
                        kept.push_back(ev);
                        if from_end {
                            // The last `limit` events of the window.
                            while kept.len() > limit {
                                kept.pop_front();
                            }
                        } else if kept.len() >= limit || kept_bytes >= MAX_ANSWER_BYTES {
                            next = start + line_end as u64;
                            break;
                        }
                    }
                }
                Err(_) => unreadable += 1,
            }
        }
        pos = line_end;
    }
    Ok(json!({
        "events": Vec::from(kept),
        "cursor": TailCursor { file: ino, offset: next },
        "rotated": rotated,
        "more": next < len,
        "unreadable": unreadable,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use std::io::Write;

    fn ev(i: usize, t: &str) -> String {
        format!("{{\"event_type\":\"{t}\",\"n\":{i}}}\n")
    }

    fn ns(v: &Value) -> Vec<u64> {
        v["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["n"].as_u64().unwrap())
            .collect()
    }

    #[test]
    fn follows_appends_filters_and_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("eve.json");
        let mut f = File::create(&p).unwrap();
        for i in 0..10 {
            f.write_all(ev(i, if i % 2 == 0 { "alert" } else { "flow" }).as_bytes())
                .unwrap();
        }
        // A line still being written is not returned.
        f.write_all(b"{\"event_type\":\"alert\",\"n\":9").unwrap();
        f.flush().unwrap();
        let v = tail(&p, None, None, 3).unwrap();
        assert_eq!(ns(&v), vec![7, 8, 9]);
        let c: TailCursor = serde_json::from_value(v["cursor"].clone()).unwrap();
        // Nothing new yet.
        let v = tail(&p, None, Some(c), 100).unwrap();
        assert!(ns(&v).is_empty());
        f.write_all(b"9}\n").unwrap();
        f.write_all(ev(10, "flow").as_bytes()).unwrap();
        f.write_all(ev(11, "alert").as_bytes()).unwrap();
        f.write_all(b"not json\n").unwrap();
        let q = hunt::parse_query("event_type:alert").unwrap();
        let v = tail(&p, Some(&q), Some(c), 100).unwrap();
        assert_eq!(ns(&v), vec![99, 11]);
        assert_eq!(v["unreadable"], 1);
        // The limit stops the answer and the cursor resumes after it.
        let v = tail(&p, None, Some(c), 1).unwrap();
        assert_eq!(ns(&v), vec![99]);
        assert_eq!(v["more"], true);
        let c2: TailCursor = serde_json::from_value(v["cursor"].clone()).unwrap();
        assert_eq!(ns(&tail(&p, None, Some(c2), 10).unwrap()), vec![10, 11]);
        // Rotation: a new file under the name starts from its beginning.
        std::fs::rename(&p, dir.path().join("eve.json.1")).unwrap();
        std::fs::write(&p, ev(100, "dns")).unwrap();
        let v = tail(&p, None, Some(c2), 10).unwrap();
        assert_eq!(v["rotated"], true);
        assert_eq!(ns(&v), vec![100]);
        // A missing file is empty, not an error.
        assert!(ns(&tail(&dir.path().join("none.json"), None, None, 5).unwrap()).is_empty());
    }
}
