//! The live path behind the dataplane: EVE lines in; policy actions applied; kept events
//! written on and archived; declarations made; archive evictions reported as events.
//!
//! [`IngestWriter`] puts this on its own thread behind a bounded channel, so the dataplane's
//! writer hands over 256 KiB chunks and goes on; when ingest falls behind, the channel fills
//! and the dataplane waits (backpressure): no event is ever dropped for speed.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, RecvTimeoutError, Sender};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;
use store::{ArchiveConfig, ArchiveWriter, Eviction, Op, Store, Tree};
use types::Timestamp;

use crate::docs::{doc_event, DocStore};
use crate::model::Origin;
use crate::policy::{Counts, Policy};
use crate::HuntError;

/// Chunks in flight between the dataplane's writer and the ingest thread.
const CHANNEL_CHUNKS: usize = 16;
/// Longest time events stay buffered before the ingest thread writes them out (Suricata's
/// EVE output is likewise flushed about once a second on a live probe).
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Longest event line accepted; a longer one is passed through unarchived and counted.
pub const MAX_LINE: usize = 16 << 20;
/// Store failures logged one by one (the rest are counted in [`IngestStats::store_errors`]).
const MAX_LOGGED_STORE_ERRORS: u64 = 10;
/// Outbox key prefix of notify deliveries.
pub const OUTBOX_EVENT_PREFIX: &[u8] = b"event/";

/// Ingest counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct IngestStats {
    /// Event lines received.
    pub events: u64,
    /// Dropped by suppress/threshold actions.
    pub dropped: u64,
    /// Archived (including `doc` and `archive` events).
    pub archived: u64,
    /// Lines that are not JSON objects (passed through, not archived).
    pub bad_lines: u64,
    /// DoCs created.
    pub docs_created: u64,
    /// Evidence added to existing DoCs.
    pub evidence_added: u64,
    /// Notifications queued.
    pub notified: u64,
    /// Archive evictions (segments removed, blocks dropped).
    pub evictions: u64,
    /// Events the data directory failed to archive or declare for (logged).
    pub store_errors: u64,
}

/// Policy, archive and DoCs for one data directory.
#[derive(Debug)]
pub struct Ingest {
    store: Store,
    writer: ArchiveWriter,
    policy: Policy,
    docs: DocStore,
    webhooks: Vec<String>,
    stats: IngestStats,
    /// Scratch: the current event as CBOR, and its tokens.
    cbor: Vec<u8>,
    tokens: Vec<u64>,
    /// Bumped by whoever changes the stored filters while this ingest runs (the management
    /// plane): the policy is reloaded before the next events.
    reload: Option<(Arc<AtomicU64>, u64)>,
}

fn write_json(out: &mut dyn Write, v: &Value) -> io::Result<()> {
    let mut b = serde_json::to_vec(v).map_err(io::Error::other)?;
    b.push(b'\n');
    out.write_all(&b)
}

impl Ingest {
    /// Opens the archive for writing and loads the stored filters.
    pub fn open(store: &Store, cfg: ArchiveConfig) -> Result<Ingest, HuntError> {
        let writer = ArchiveWriter::open(store, cfg)?;
        let policy = crate::load_policy(store)?;
        let webhooks = crate::webhook_names(store)?;
        Ok(Ingest {
            store: store.clone(),
            writer,
            policy,
            docs: DocStore::new(store.clone()),
            webhooks,
            stats: IngestStats::default(),
            cbor: Vec::with_capacity(4096),
            tokens: Vec::with_capacity(128),
            reload: None,
        })
    }

    /// Reloads the stored filters and webhooks whenever `generation` changes (checked before
    /// each group of events; threshold windows start over).
    pub fn watch(&mut self, generation: Arc<AtomicU64>) {
        let seen = generation.load(Ordering::Acquire);
        self.reload = Some((generation, seen));
    }

    fn maybe_reload(&mut self) -> Result<(), HuntError> {
        let Some((g, seen)) = &mut self.reload else {
            return Ok(());
        };
        let now = g.load(Ordering::Acquire);
        if now != *seen {
            *seen = now;
            self.save_counts();
            self.policy = crate::load_policy(&self.store)?;
            self.webhooks = crate::webhook_names(&self.store)?;
            tracing::info!(
                "hunt policy reloaded: {} filters",
                self.policy.filters().len()
            );
        }
        Ok(())
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Counters so far.
    pub fn stats(&self) -> IngestStats {
        self.stats
    }

    /// One EVE line (without its newline).
    pub fn line(&mut self, line: &[u8], out: &mut dyn Write) -> Result<(), HuntError> {
        self.maybe_reload()?;
        let mut cbor = std::mem::take(&mut self.cbor);
        let mut tokens = std::mem::take(&mut self.tokens);
        cbor.clear();
        tokens.clear();
        let ts = transcode(line, &mut cbor, &mut tokens);
        let r = self.process(line, ts, &cbor, &tokens, out);
        self.cbor = cbor;
        self.tokens = tokens;
        r
    }

    /// Many EVE lines: the transcoding (most of the work) runs in parallel over groups of
    /// lines, the rest (policy, archive order, declarations) in line order.
    pub fn lines(&mut self, lines: &[&[u8]], out: &mut dyn Write) -> Result<(), HuntError> {
        self.maybe_reload()?;
        if lines.len() < PARALLEL_MIN_LINES {
            for l in lines {
                self.line(l, out)?;
            }
            return Ok(());
        }
        let groups: Vec<Transcoded> = lines
            .par_chunks(PARALLEL_GROUP)
            .map(|g| {
                let mut t = Transcoded::default();
                for l in g {
                    let (c0, k0) = (t.cbor.len(), t.tokens.len());
                    let ts = transcode(l, &mut t.cbor, &mut t.tokens);
                    t.items.push((ts, c0..t.cbor.len(), k0..t.tokens.len()));
                }
                t
            })
            .collect();
        for (g, ls) in groups.iter().zip(lines.chunks(PARALLEL_GROUP)) {
            for ((ts, c, k), l) in g.items.iter().zip(ls) {
                self.process(l, *ts, &g.cbor[c.clone()], &g.tokens[k.clone()], out)?;
            }
        }
        Ok(())
    }

    /// The ordered stage for one line, given its transcoding (`ts`: `None` when it is not a
    /// JSON object).
    fn process(
        &mut self,
        line: &[u8],
        ts: Option<i64>,
        cbor: &[u8],
        tokens: &[u64],
        out: &mut dyn Write,
    ) -> Result<(), HuntError> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        self.stats.events += 1;
        let Some(ts) = ts else {
            self.stats.bad_lines += 1;
            out.write_all(line)?;
            out.write_all(b"\n")?;
            return Ok(());
        };
        // Only events some policy filter may match (by their exact tokens) are parsed.
        if !self.policy.is_active() || !self.policy.may_act(tokens) {
            out.write_all(line)?;
            out.write_all(b"\n")?;
            let r = self.writer.append_cbor(ts, cbor, tokens);
            if self.stored(r).is_some() {
                self.stats.archived += 1;
            }
            self.report_evictions(out)?;
            return Ok(());
        }
        let Ok(mut ev) = serde_json::from_slice::<Value>(line) else {
            self.stats.bad_lines += 1;
            out.write_all(line)?;
            out.write_all(b"\n")?;
            return Ok(());
        };
        let verdict = self.policy.apply(&mut ev, ts);
        if !verdict.keep {
            self.stats.dropped += 1;
            return Ok(());
        }
        let r = if verdict.tagged {
            write_json(out, &ev)?;
            self.writer.append(ts, &ev)
        } else {
            out.write_all(line)?;
            out.write_all(b"\n")?;
            self.writer.append_cbor(ts, cbor, tokens)
        };
        // Declarations refer to the archived copy; an event that could not be archived is
        // still written, and counted.
        let Some(r) = self.stored(r) else {
            return Ok(());
        };
        self.stats.archived += 1;
        for (i, kind, decl) in &verdict.declare {
            let name = self.policy.filters()[*i].filter.name.clone();
            let d = self
                .docs
                .declare(&name, *kind, decl, &ev, ts, r, Origin::Live, &self.webhooks);
            let Some(d) = self.stored(d) else { continue };
            self.stats.evidence_added += d.evidence_added;
            for doc in d.created {
                self.stats.docs_created += 1;
                let de = doc_event(&doc, &ev);
                write_json(out, &de)?;
                let a = self.writer.append(ts, &de);
                if self.stored(a).is_some() {
                    self.stats.archived += 1;
                }
            }
        }
        if !verdict.notify.is_empty() && !self.webhooks.is_empty() {
            let body = serde_json::to_vec(&ev).unwrap_or_default();
            let mut ops = Vec::new();
            for w in &self.webhooks {
                let mut k = OUTBOX_EVENT_PREFIX.to_vec();
                k.extend_from_slice(&r.to_key());
                k.push(b'/');
                k.extend_from_slice(w.as_bytes());
                ops.push(Op::Put(Tree::Outbox, k, body.clone()));
            }
            let c = self.store.commit(&ops);
            if self.stored(c).is_some() {
                self.stats.notified += 1;
            }
        }
        self.report_evictions(out)?;
        Ok(())
    }

    fn report_evictions(&mut self, out: &mut dyn Write) -> Result<(), HuntError> {
        for e in self.writer.take_evictions() {
            self.stats.evictions += 1;
            // On the capture's time line (the newest event archived), like the events around
            // it: a wall-clock time would move retention's "now" for an old capture.
            let ts = self.writer.now().unwrap_or(e.max_ts).max(e.max_ts);
            let ev = eviction_event(&e, ts);
            write_json(out, &ev)?;
            let a = self.writer.append(ts, &ev);
            if self.stored(a).is_some() {
                self.stats.archived += 1;
            }
        }
        Ok(())
    }

    /// The value of a state write, or `None` after counting and logging its failure: the
    /// probe goes on writing events when the data directory fails (the count, and the log,
    /// say what was not archived or declared).
    fn stored<T>(&mut self, r: Result<T, impl Into<HuntError>>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.stats.store_errors += 1;
                if self.stats.store_errors <= MAX_LOGGED_STORE_ERRORS {
                    tracing::error!("data directory: {}; event written, not archived", e.into());
                }
                None
            }
        }
    }

    /// Adds the policy's counters so far to the stored ones.
    fn save_counts(&mut self) {
        let mut ops = Vec::new();
        for (c, n) in self.policy.filters().iter().zip(self.policy.counts()) {
            let key = format!("counts/{}", c.filter.name).into_bytes();
            let mut total: Counts = self
                .store
                .get(Tree::Policy, &key)
                .ok()
                .flatten()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default();
            total.seen += n.seen;
            total.dropped += n.dropped;
            ops.push(Op::Put(
                Tree::Policy,
                key,
                serde_json::to_vec(&total).unwrap_or_default(),
            ));
        }
        let c = self.store.commit(&ops).and_then(|_| self.store.flush());
        self.stored(c);
    }

    /// Seals and syncs the archive and adds this run's filter counters to the stored ones. A
    /// failing data directory is counted in [`IngestStats::store_errors`], not an error: the
    /// events were written.
    pub fn finish(mut self, out: &mut dyn Write) -> Result<IngestStats, HuntError> {
        let f = self.writer.flush();
        self.stored(f);
        self.report_evictions(out)?;
        let f = self.writer.flush();
        self.stored(f);
        self.save_counts();
        Ok(self.stats)
    }
}

/// Lines below which [`Ingest::lines`] does not bother going parallel.
const PARALLEL_MIN_LINES: usize = 256;
/// Lines per parallel transcoding task.
const PARALLEL_GROUP: usize = 128;

/// The transcodings of a group of lines: `(ts, cbor range, token range)` per line.
#[derive(Default)]
struct Transcoded {
    cbor: Vec<u8>,
    tokens: Vec<u64>,
    items: Vec<(Option<i64>, std::ops::Range<usize>, std::ops::Range<usize>)>,
}

/// The parallel stage for one line: JSON to CBOR with tokens, and the event time (0 when it
/// has none); `None` when the line is not an archivable JSON object.
fn transcode(line: &[u8], cbor: &mut Vec<u8>, tokens: &mut Vec<u64>) -> Option<i64> {
    if line.len() > MAX_LINE {
        return None;
    }
    let ts_raw = store::transcode::json_to_cbor(line, cbor, tokens).ok()?;
    Some(
        ts_raw
            .and_then(|r| std::str::from_utf8(r).ok())
            .and_then(|r| r.strip_prefix('"')?.strip_suffix('"'))
            .and_then(Timestamp::parse_eve)
            .map_or(0, |t| i64::try_from(t.0 / 1000).unwrap_or(i64::MAX)),
    )
}

/// The EVE `archive` event for an eviction, at time `ts_us`.
pub fn eviction_event(e: &Eviction, ts_us: i64) -> Value {
    let ts =
        |us: i64| Timestamp(u64::try_from(us).unwrap_or(0).saturating_mul(1000)).to_eve_string();
    serde_json::json!({
        "timestamp": ts(ts_us),
        "event_type": "archive",
        "archive": {
            "action": if e.reason == store::EvictReason::DiskFull { "dropped" } else { "evicted" },
            "reason": e.reason,
            "segment": e.segment,
            "events": e.events,
            "bytes": e.bytes,
            "oldest": ts(e.min_ts),
            "newest": ts(e.max_ts),
        }
    })
}

/// A `Write` that hands EVE chunks to an [`Ingest`] on its own thread; the ingest writes kept
/// events to the inner writer. Dropping it (or [`IngestWriter::finish`]) ends the thread.
pub struct IngestWriter {
    tx: Option<Sender<Vec<u8>>>,
}

impl std::fmt::Debug for IngestWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IngestWriter")
    }
}

/// Joins the ingest thread.
#[derive(Debug)]
pub struct IngestHandle {
    join: JoinHandle<Result<IngestStats, HuntError>>,
}

impl IngestHandle {
    /// Waits for the ingest thread (the writer must be dropped first) and returns its
    /// counters.
    pub fn join(self) -> Result<IngestStats, HuntError> {
        self.join
            .join()
            .unwrap_or_else(|_| Err(HuntError::Invalid("ingest thread panicked".into())))
    }
}

impl IngestWriter {
    /// Starts the ingest thread writing to `out`.
    pub fn spawn(
        mut ingest: Ingest,
        mut out: Box<dyn Write + Send>,
    ) -> io::Result<(IngestWriter, IngestHandle)> {
        let (tx, rx) = bounded::<Vec<u8>>(CHANNEL_CHUNKS);
        let join = std::thread::Builder::new()
            .name("ingest".into())
            .spawn(move || {
                let mut carry: Vec<u8> = Vec::new();
                let mut last_flush = Instant::now();
                loop {
                    // A live probe's output is read while it runs (SOC tooling tailing
                    // eve.json, `probectl events tail`): what is buffered is written out when
                    // the stream goes quiet and at least every FLUSH_EVERY.
                    let chunk = match rx.recv_timeout(FLUSH_EVERY) {
                        Ok(c) => c,
                        Err(RecvTimeoutError::Timeout) => {
                            out.flush()?;
                            last_flush = Instant::now();
                            continue;
                        }
                        Err(RecvTimeoutError::Disconnected) => break,
                    };
                    if last_flush.elapsed() >= FLUSH_EVERY {
                        out.flush()?;
                        last_flush = Instant::now();
                    }
                    let data = if carry.is_empty() {
                        chunk
                    } else {
                        let mut c = std::mem::take(&mut carry);
                        c.extend_from_slice(&chunk);
                        c
                    };
                    let mut start = 0;
                    let mut lines = Vec::with_capacity(1024);
                    while let Some(nl) = memchr::memchr(b'\n', &data[start..]) {
                        lines.push(&data[start..start + nl]);
                        start += nl + 1;
                    }
                    ingest.lines(&lines, &mut out)?;
                    carry = data[start..].to_vec();
                    if carry.len() > MAX_LINE {
                        // A line this long is passed through as it is, never archived.
                        ingest.line(&carry, &mut out)?;
                        carry.clear();
                    }
                }
                if !carry.is_empty() {
                    ingest.line(&carry, &mut out)?;
                }
                let stats = ingest.finish(&mut out)?;
                out.flush()?;
                Ok(stats)
            })?;
        Ok((IngestWriter { tx: Some(tx) }, IngestHandle { join }))
    }
}

impl Write for IngestWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(tx) = &self.tx else {
            return Err(io::Error::other("ingest closed"));
        };
        tx.send(buf.to_vec())
            .map_err(|_| io::Error::other("ingest thread stopped (see its error)"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
