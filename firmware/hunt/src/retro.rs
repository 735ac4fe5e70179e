//! Retro-hunt: a DoC/DoPV filter applied to the archived past, declaring with the original
//! event times. Resumable (a cursor per filter in the policy tree, advanced only after the
//! declarations of the blocks before it are durable) and idempotent (evidence is keyed by
//! archived event, see [`crate::docs`]).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use store::{EventRef, Store, Tree};

use crate::docs::DocStore;
use crate::eval::{matches, may_match};
use crate::model::{Doc, Origin};
use crate::policy::Compiled;
use crate::HuntError;

/// A matching archived event.
type Hit = (EventRef, i64, Value);

/// Default look-back of a retro-hunt, in days.
pub const DEFAULT_RETRO_DAYS: u32 = 60;
/// Blocks decoded in parallel between two cursor updates.
const CHUNK_BLOCKS: usize = 64;

/// A retro-hunt's persisted progress.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Cursor {
    /// Window start (µs).
    pub since_us: i64,
    /// Window end (µs): the newest archived event when the hunt started.
    pub until_us: i64,
    /// First block not yet processed.
    pub next_block: u64,
    /// Finished.
    pub done: bool,
    /// Matches so far.
    pub matched: u64,
}

/// What a retro-hunt did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RetroReport {
    /// Continued an interrupted run.
    pub resumed: bool,
    /// Window start (µs).
    pub since_us: i64,
    /// Window end (µs).
    pub until_us: i64,
    /// Blocks in the window.
    pub blocks: usize,
    /// Blocks read.
    pub blocks_read: usize,
    /// Matching events.
    pub matched: u64,
    /// DoCs created.
    pub created: Vec<Doc>,
    /// Evidence added to DoCs that already existed.
    pub evidence_added: u64,
    /// Blocks that could not be read.
    pub errors: Vec<String>,
    /// Stopped before the end (cancelled); the cursor is saved.
    pub stopped: bool,
}

fn cursor_key(filter: &str) -> Vec<u8> {
    format!("retro/{filter}").into_bytes()
}

/// "Now" for look-backs over the archive (retro-hunt windows, `--since 7d`): the newest
/// archived event, unless a few bogus timestamps put it more than a day ahead of the archive's
/// robust now ([`store::Archive::now`]); `None` for an empty archive.
pub fn archive_now(archive: &store::Archive) -> Result<Option<i64>, HuntError> {
    let Some(newest) = archive.stats()?.newest_ts else {
        return Ok(None);
    };
    Ok(Some(match archive.now()? {
        Some(n) if newest > n.saturating_add(86_400_000_000) => n,
        _ => newest,
    }))
}

/// The stored cursor of `filter`'s retro-hunt.
pub fn cursor(store: &Store, filter: &str) -> Result<Option<Cursor>, HuntError> {
    Ok(store
        .get(Tree::Policy, &cursor_key(filter))?
        .and_then(|b| serde_json::from_slice(&b).ok()))
}

/// Whether an interrupted retro-hunt of `filter` is waiting to resume.
pub fn pending(store: &Store, filter: &str) -> Result<bool, HuntError> {
    Ok(cursor(store, filter)?.is_some_and(|c| !c.done))
}

/// Runs (or resumes) the retro-hunt of `c` over the last `days` of the archive (counted back
/// from its newest event). `progress(done, total)` is called per chunk of blocks; when it
/// returns false the hunt stops there with its cursor saved (a later call resumes) and the
/// report says `stopped`.
pub fn retro_hunt(
    store: &Store,
    docs: &DocStore,
    c: &Compiled,
    days: u32,
    webhooks: &[String],
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<RetroReport, HuntError> {
    let Some((kind, decl)) = c.filter.action.as_ref().and_then(|a| a.declaration()) else {
        return Err(HuntError::Invalid(format!(
            "filter `{}` has no doc or dopv action to apply to the past",
            c.filter.name
        )));
    };
    let archive = store.archive();
    let key = cursor_key(&c.filter.name);
    let mut cur = match cursor(store, &c.filter.name)? {
        Some(cur) if !cur.done => cur,
        _ => {
            let newest = archive_now(&archive)?.unwrap_or(0);
            Cursor {
                since_us: newest.saturating_sub(i64::from(days) * 86_400_000_000),
                until_us: newest,
                next_block: 0,
                done: false,
                matched: 0,
            }
        }
    };
    let mut rep = RetroReport {
        resumed: cur.next_block > 0,
        since_us: cur.since_us,
        until_us: cur.until_us,
        ..Default::default()
    };
    let save = |cur: &Cursor| -> Result<(), HuntError> {
        store.put(
            Tree::Policy,
            &key,
            &serde_json::to_vec(cur).unwrap_or_default(),
        )?;
        store.flush()?;
        Ok(())
    };
    save(&cur)?;
    let (in_range, blocks) = archive.candidate_blocks(
        cur.next_block,
        Some(cur.since_us),
        Some(cur.until_us),
        &|b| may_match(&c.node, b),
    )?;
    rep.blocks = in_range;
    let total = blocks.len();
    let pre = crate::eval::Pre::new(&c.node);
    let mut done = 0;
    if !progress(0, total) {
        rep.stopped = true;
        return Ok(rep);
    }
    for chunk in blocks.chunks(CHUNK_BLOCKS) {
        let found: Vec<Result<Vec<Hit>, String>> = chunk
            .par_iter()
            .map(|(id, info)| {
                let raw = archive
                    .read_block_raw(*id, info)
                    .map_err(|e| e.to_string())?;
                let mut hits = Vec::new();
                for (i, ts, cbor) in store::RawEvents::new(&raw) {
                    if ts < cur.since_us || ts > cur.until_us || !pre.may_match(cbor) {
                        continue;
                    }
                    let ev = store::decode_event(cbor).map_err(|e| format!("block {id}: {e}"))?;
                    if matches(&c.node, &ev) {
                        hits.push((
                            EventRef {
                                block: *id,
                                index: i,
                            },
                            ts,
                            ev,
                        ));
                    }
                }
                Ok(hits)
            })
            .collect();
        for f in found {
            match f {
                Err(e) => rep.errors.push(e),
                Ok(hits) => {
                    for (r, ts, ev) in hits {
                        rep.matched += 1;
                        let d = docs.declare(
                            &c.filter.name,
                            kind,
                            decl,
                            &ev,
                            ts,
                            r,
                            Origin::Retro,
                            webhooks,
                        )?;
                        rep.created.extend(d.created);
                        rep.evidence_added += d.evidence_added;
                    }
                }
            }
        }
        rep.blocks_read += chunk.len();
        done += chunk.len();
        if let Some((last, _)) = chunk.last() {
            cur.next_block = last + 1;
        }
        cur.matched = rep.matched;
        save(&cur)?;
        if !progress(done, total) && done < total {
            rep.stopped = true;
            return Ok(rep);
        }
    }
    cur.done = true;
    save(&cur)?;
    Ok(rep)
}
