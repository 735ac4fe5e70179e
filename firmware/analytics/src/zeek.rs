//! Zeek logs as beacon input: `conn`, `ssl` and `http` logs, TSV (with `#fields` headers) or
//! JSON lines, plain or gzip, joined on `uid`.
//!
//! Only closed connections count: `open_conn` logs (Zeek's long-connection package) are
//! skipped, as RITA skips them for beaconing. A connection is named by the Host of its first
//! `http` record when that is a request to a proxy (`CONNECT host:port` or an absolute URI:
//! the connection is then marked proxied), else by the TLS SNI of its `ssl` record, else by
//! the Host of its first `http` record.
//!
//! Every line is hostile input: a malformed line is counted and skipped, lines longer than
//! [`MAX_LINE_LEN`] are skipped, and a directory holds at most [`MAX_RECORDS`] connections.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::beacon::Conn;

/// Longest log line read.
pub const MAX_LINE_LEN: usize = 1 << 20;
/// Most connections read from one directory.
pub const MAX_RECORDS: usize = 50_000_000;

/// Errors reading a log directory.
#[derive(Debug, thiserror::Error)]
pub enum ZeekError {
    /// The directory cannot be listed.
    #[error("{path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// No conn log in the directory.
    #[error("{0}: no Zeek conn log (conn.log, conn.*.log.gz) found")]
    NoConnLog(PathBuf),
}

/// What was read.
#[derive(Debug, Default)]
pub struct ZeekLogs {
    /// Connections, in file order.
    pub conns: Vec<Conn>,
    /// Files read.
    pub files: Vec<PathBuf>,
    /// Lines skipped as malformed (with the first few reasons in `errors`).
    pub bad_lines: u64,
    /// The first problems met, `file:line: reason`.
    pub errors: Vec<String>,
    /// Connections not read because [`MAX_RECORDS`] was reached.
    pub dropped: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Log {
    Conn,
    Ssl,
    Http,
}

fn classify(name: &str) -> Option<Log> {
    let stem = name.split('.').next().unwrap_or("");
    let ok_ext = name.ends_with(".log") || name.ends_with(".log.gz") || name.ends_with(".gz");
    if !ok_ext {
        return None;
    }
    match stem {
        "conn" => Some(Log::Conn),
        "ssl" => Some(Log::Ssl),
        "http" => Some(Log::Http),
        _ => None,
    }
}

/// Reads every conn, ssl and http log in `dir` (not recursively).
pub fn read_dir(dir: &Path) -> Result<ZeekLogs, ZeekError> {
    let rd = std::fs::read_dir(dir).map_err(|source| ZeekError::Dir {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files: Vec<(Log, PathBuf)> = rd
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            classify(&name).map(|k| (k, e.path()))
        })
        .collect();
    files.sort_by(|a, b| a.1.cmp(&b.1));
    if !files.iter().any(|(k, _)| *k == Log::Conn) {
        return Err(ZeekError::NoConnLog(dir.to_path_buf()));
    }
    let mut out = ZeekLogs::default();
    let mut sni: HashMap<String, String> = HashMap::new();
    let mut http: HashMap<String, (String, bool)> = HashMap::new();
    for (kind, path) in files.iter().filter(|(k, _)| *k != Log::Conn) {
        read_records(path, &mut out, |r| {
            let uid = r.get("uid")?;
            match kind {
                Log::Ssl => {
                    if let Some(n) = r.get("server_name") {
                        sni.entry(uid).or_insert(n);
                    }
                }
                _ => {
                    if let Some(h) = r.get("host") {
                        let method = r.get("method").unwrap_or_default();
                        let uri = r.get("uri").unwrap_or_default();
                        let (name, proxied) = crate::beacon::http_request_name(&h, &method, &uri);
                        http.entry(uid)
                            .or_insert_with(|| (name.to_string(), proxied));
                    }
                }
            }
            Some(())
        });
    }
    for (_, path) in files.iter().filter(|(k, _)| *k == Log::Conn) {
        let mut conns = std::mem::take(&mut out.conns);
        let mut dropped = 0u64;
        read_records(path, &mut out, |r| {
            let uid = r.get("uid").unwrap_or_default();
            let num = |k: &str| r.get(k).and_then(|v| v.parse::<f64>().ok());
            let ts = num("ts").or_else(|| r.get("ts").and_then(|s| rfc3339(&s)))?;
            let src: IpAddr = r.get("id.orig_h")?.parse().ok()?;
            let dst: IpAddr = r.get("id.resp_h")?.parse().ok()?;
            let dport = r.get("id.resp_p").and_then(|p| p.parse().ok()).unwrap_or(0);
            // A proxied request names the destination the client asked for; TLS inside the
            // tunnel (same uid) only repeats it without the port.
            let (fqdn, proxied) = match (http.get(&uid), sni.get(&uid)) {
                (Some((h, true)), _) => (Some(h.clone()), true),
                (_, Some(n)) => (Some(n.clone()), false),
                (Some((h, false)), None) => (Some(h.clone()), false),
                (None, None) => (None, false),
            };
            if conns.len() >= MAX_RECORDS {
                dropped += 1;
                return Some(());
            }
            conns.push(Conn {
                ts,
                src,
                dst,
                dport,
                orig_bytes: num("orig_ip_bytes").unwrap_or(0.0) as u64,
                resp_bytes: num("resp_ip_bytes").unwrap_or(0.0) as u64,
                duration: num("duration").unwrap_or(0.0),
                fqdn,
                proxied,
            });
            Some(())
        });
        out.conns = conns;
        out.dropped += dropped;
    }
    out.files = files.into_iter().map(|(_, p)| p).collect();
    Ok(out)
}

fn rfc3339(s: &str) -> Option<f64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    Some(t.unix_timestamp_nanos() as f64 / 1e9)
}

/// One record, TSV or JSON.
enum Record<'a> {
    Tsv(&'a [String], Vec<&'a str>),
    Json(serde_json::Map<String, serde_json::Value>),
}

impl Record<'_> {
    /// The field's value; Zeek's unset (`-`) and empty (`(empty)`) markers are `None`.
    fn get(&self, key: &str) -> Option<String> {
        match self {
            Record::Tsv(fields, vals) => {
                let i = fields.iter().position(|f| f == key)?;
                let v = *vals.get(i)?;
                (v != "-" && v != "(empty)" && !v.is_empty()).then(|| v.to_string())
            }
            Record::Json(m) => match m.get(key)? {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                serde_json::Value::Bool(b) => Some(b.to_string()),
                _ => None,
            },
        }
    }
}

const MAX_REPORTED: usize = 20;

fn note(out: &mut ZeekLogs, path: &Path, line: usize, why: &str) {
    out.bad_lines += 1;
    if out.errors.len() < MAX_REPORTED {
        out.errors.push(format!("{}:{line}: {why}", path.display()));
    }
}

/// Calls `f` on every record of `path`; a `None` from `f` counts the line as malformed.
fn read_records(path: &Path, out: &mut ZeekLogs, f: impl FnMut(&Record<'_>) -> Option<()>) {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            note(out, path, 0, &e.to_string());
            return;
        }
    };
    let mut head = [0u8; 2];
    let gz = {
        let mut probe = BufReader::new(&file);
        matches!(probe.read(&mut head), Ok(2)) && head == [0x1f, 0x8b]
    };
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            note(out, path, 0, &e.to_string());
            return;
        }
    };
    let reader: Box<dyn Read> = if gz {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    read_lines(BufReader::new(reader), path, out, f);
}

/// Calls `f` on every record read from `reader` (`path` names it in errors).
fn read_lines(
    mut reader: impl BufRead,
    path: &Path,
    out: &mut ZeekLogs,
    mut f: impl FnMut(&Record<'_>) -> Option<()>,
) {
    let mut fields: Vec<String> = Vec::new();
    let mut sep = '\t';
    let mut buf = Vec::new();
    let mut n = 0usize;
    loop {
        buf.clear();
        match read_line_capped(&mut reader, &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                note(out, path, n + 1, &e.to_string());
                break;
            }
        }
        n += 1;
        if buf.len() > MAX_LINE_LEN {
            note(out, path, n, "line too long");
            continue;
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']);
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("#separator ") {
            sep = match rest.trim() {
                "\\x09" => '\t',
                s if s.len() == 1 => s.chars().next().unwrap_or('\t'),
                _ => '\t',
            };
            continue;
        }
        if let Some(rest) = line.strip_prefix("#fields") {
            fields = rest
                .trim_start_matches(sep)
                .split(sep)
                .map(str::to_string)
                .collect();
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let ok = if line.starts_with('{') {
            match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(line) {
                Ok(m) => f(&Record::Json(m)),
                Err(_) => None,
            }
        } else if fields.is_empty() {
            None
        } else {
            f(&Record::Tsv(&fields, line.split(sep).collect()))
        };
        if ok.is_none() {
            note(out, path, n, "malformed record");
        }
    }
}

/// Reads one line into `buf`, keeping at most [`MAX_LINE_LEN`] + 1 bytes of it (the rest is
/// consumed and dropped, so that the length check sees the line as too long).
fn read_line_capped(r: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut total = 0;
    loop {
        let chunk = r.fill_buf()?;
        if chunk.is_empty() {
            return Ok(total);
        }
        let (take, done) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = (MAX_LINE_LEN + 1).saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..take.min(room)]);
        r.consume(take);
        total += take;
        if done {
            return Ok(total);
        }
    }
}

/// Reads one log's bytes as [`read_dir`] reads a file, for the fuzzer: every record's fields
/// are looked up.
pub fn fuzz_log(data: &[u8]) {
    let mut out = ZeekLogs::default();
    read_lines(data, Path::new("fuzz"), &mut out, |r| {
        for k in [
            "ts",
            "uid",
            "id.orig_h",
            "server_name",
            "host",
            "orig_ip_bytes",
        ] {
            let _ = r.get(k);
        }
        Some(())
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_and_json_logs_join_on_uid() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("conn.log"),
            "#separator \\x09\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tduration\torig_ip_bytes\tresp_ip_bytes\n\
             100.5\tC1\t10.0.0.1\t5000\t203.0.113.1\t443\t1.5\t300\t400\n\
             101.5\tC2\t10.0.0.1\t5001\t10.0.0.2\t3128\t-\t30\t40\n\
             garbage line\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("ssl.log"),
            "{\"uid\":\"C1\",\"server_name\":\"c2.example\"}\n{broken\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("http.log"),
            "{\"uid\":\"C2\",\"method\":\"CONNECT\",\"host\":\"x.example:443\",\"uri\":\"x.example:443\"}\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("open_conn.log"), "ignored\n").unwrap();
        let logs = read_dir(dir.path()).unwrap();
        assert_eq!(logs.files.len(), 3);
        assert_eq!(logs.conns.len(), 2);
        assert_eq!(logs.conns[0].fqdn.as_deref(), Some("c2.example"));
        assert_eq!(logs.conns[0].orig_bytes, 300);
        assert!(!logs.conns[0].proxied);
        assert_eq!(logs.conns[1].fqdn.as_deref(), Some("x.example:443"));
        assert!(logs.conns[1].proxied);
        assert_eq!(logs.bad_lines, 2, "{:?}", logs.errors);
    }

    #[test]
    fn a_directory_without_conn_log_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(read_dir(dir.path()), Err(ZeekError::NoConnLog(_))));
    }
}
