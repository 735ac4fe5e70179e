//! Running the pipeline over capture files, with one or several workers.
//!
//! With one worker everything runs on the calling thread: frames are borrowed from the file
//! reader's buffer and never copied. With N workers the calling thread reads, hashes each frame's
//! outer addresses (symmetric, so both directions and all fragments of a flow meet on one
//! worker), and copies frames into recycled per-worker batches; workers send JSON in large
//! chunks to a writer thread. Channels are bounded, so a slow writer slows the reader instead of
//! growing memory.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use applayer::Registry;
use capture::{FileError, FileSource, SourceStats};
use crossbeam_channel::{bounded, Receiver, Sender};
use events::Event;
use types::Timestamp;

use crate::config::{ChecksumMode, EveTypes, Settings};
use crate::stats::WorkerStats;
use crate::worker::{EventSink, PacketIn, Worker};

/// JSON bytes buffered per worker before they are written out.
pub(crate) const JSON_CHUNK: usize = 256 * 1024;
/// Frames per batch handed to a worker.
const BATCH_PKTS: usize = 512;
/// Bytes per batch handed to a worker.
const BATCH_BYTES: usize = 1 << 20;
/// Batches in flight per worker (bounds the reader's lead and the memory it uses).
const BATCHES_PER_WORKER: usize = 4;
/// Packets sampled before deciding whether checksums are offloaded (Suricata's value).
const CHECKSUM_SAMPLE: u64 = 1000;

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    /// Counters summed over workers.
    pub stats: WorkerStats,
    /// Reader counters.
    pub source: SourceStats,
    /// Events written, by `event_type`.
    pub events: BTreeMap<&'static str, u64>,
    /// File problems, as messages.
    pub file_errors: Vec<String>,
    /// Wall time.
    pub elapsed: Duration,
    /// Whether checksum validation was switched off by the auto mode.
    pub checksums_offloaded: bool,
}

/// Serialises events into a buffer and hands full buffers to `flush`.
pub(crate) struct JsonSink<F: FnMut(Vec<u8>)> {
    pub(crate) buf: Vec<u8>,
    pub(crate) counts: BTreeMap<&'static str, u64>,
    pub(crate) types: EveTypes,
    pub(crate) flush: F,
}

impl<F: FnMut(Vec<u8>)> EventSink for JsonSink<F> {
    fn emit(&mut self, ev: &Event) {
        if !self.types.allows(ev.body.event_type()) {
            return;
        }
        ev.write_json(&mut self.buf);
        *self.counts.entry(ev.body.event_type()).or_insert(0) += 1;
        if self.buf.len() >= JSON_CHUNK {
            let full = std::mem::replace(&mut self.buf, Vec::with_capacity(JSON_CHUNK + 4096));
            (self.flush)(full);
        }
    }
}

impl<F: FnMut(Vec<u8>)> JsonSink<F> {
    pub(crate) fn finish(mut self) -> BTreeMap<&'static str, u64> {
        if !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            (self.flush)(rest);
        }
        self.counts
    }
}

/// Decides, per packet, whether checksums are validated (Suricata's `auto` mode: validate;
/// after 1000 packets, stop if more than one in ten TCP packets had a bad checksum).
struct ChecksumAuto {
    mode: ChecksumMode,
    seen: u64,
    invalid: u64,
    offloaded: bool,
}

impl ChecksumAuto {
    fn validate(&mut self, linktype: u32, data: &[u8], settings: &Settings) -> bool {
        match self.mode {
            ChecksumMode::No => false,
            ChecksumMode::Yes => true,
            ChecksumMode::Auto => {
                if self.offloaded {
                    return false;
                }
                self.seen += 1;
                if self.seen <= CHECKSUM_SAMPLE {
                    let p = decode::decode(linktype, data, &settings.decode);
                    if p.tcp().is_some() && !decode::l4_checksum_valid(&p) {
                        self.invalid += 1;
                    }
                    if self.seen == CHECKSUM_SAMPLE
                        && self.invalid > 0
                        && CHECKSUM_SAMPLE / self.invalid < 10
                    {
                        self.offloaded = true;
                    }
                }
                true
            }
        }
    }
}

/// Replays `paths` as one time line through `workers` workers, writing EVE JSON lines to
/// `out`. `on_progress(bytes_read)` is called now and then; `on_file_error` for every file
/// problem as it happens.
#[allow(clippy::too_many_arguments)]
pub fn replay(
    paths: &[PathBuf],
    settings: Settings,
    registry: Registry,
    engine: Option<Arc<detect::engine::Engine>>,
    out: Box<dyn Write + Send>,
    workers: usize,
    on_progress: &mut dyn FnMut(u64),
    on_file_error: &mut dyn FnMut(&FileError),
) -> io::Result<RunSummary> {
    let start = Instant::now();
    let settings = Arc::new(settings);
    let registry = Arc::new(registry);
    let mut summary = if workers <= 1 {
        replay_single(
            paths,
            start,
            settings,
            registry,
            engine,
            out,
            on_progress,
            on_file_error,
        )?
    } else {
        replay_multi(
            paths,
            start,
            settings,
            registry,
            engine,
            out,
            workers,
            on_progress,
            on_file_error,
        )?
    };
    summary.elapsed = start.elapsed();
    Ok(summary)
}

#[allow(clippy::too_many_arguments)]
fn replay_single(
    paths: &[PathBuf],
    start: Instant,
    settings: Arc<Settings>,
    registry: Arc<Registry>,
    engine: Option<Arc<detect::engine::Engine>>,
    mut out: Box<dyn Write + Send>,
    on_progress: &mut dyn FnMut(u64),
    on_file_error: &mut dyn FnMut(&FileError),
) -> io::Result<RunSummary> {
    let mut src = FileSource::new(paths);
    let mut worker = Worker::new(settings.clone(), registry, 0);
    if let Some(e) = engine {
        worker = worker.with_engine(e);
    }
    let mut io_err: Option<io::Error> = None;
    let mut sink = JsonSink {
        buf: Vec::with_capacity(JSON_CHUNK + 4096),
        counts: BTreeMap::new(),
        types: settings.eve_types,
        flush: |b: Vec<u8>| {
            if io_err.is_none() {
                if let Err(e) = out.write_all(&b) {
                    io_err = Some(e);
                }
            }
        },
    };
    let mut ck = ChecksumAuto {
        mode: settings.checksum,
        seen: 0,
        invalid: 0,
        offloaded: false,
    };
    let mut summary = RunSummary::default();
    let mut n: u64 = 0;
    while let Some(p) = src.next_packet() {
        n += 1;
        let validate = ck.validate(p.linktype, p.data, &settings);
        worker.process(
            PacketIn {
                ts: p.ts,
                linktype: p.linktype,
                data: p.data,
                pcap_cnt: n,
                validate_checksum: validate,
            },
            &mut sink,
        );
        if n.is_multiple_of(65_536) {
            on_progress(src.stats().bytes);
        }
        for e in src.take_errors() {
            on_file_error(&e);
            summary.file_errors.push(e.to_string());
        }
    }
    for e in src.take_errors() {
        on_file_error(&e);
        summary.file_errors.push(e.to_string());
    }
    worker.finish(&mut sink);
    // A final `stats` record, as Suricata writes at exit.
    sink.emit(
        &worker
            .stats()
            .to_event(worker.now(), start.elapsed().as_secs()),
    );
    summary.events = sink.finish();
    if let Some(e) = io_err {
        return Err(e);
    }
    out.flush()?;
    summary.stats = worker.stats();
    summary.source = src.stats().clone();
    summary.checksums_offloaded = ck.offloaded;
    on_progress(summary.source.bytes);
    Ok(summary)
}

/// Frames copied for one worker.
struct Batch {
    data: Vec<u8>,
    /// (offset, len, ts, linktype, pcap_cnt, validate)
    pkts: Vec<(u32, u32, Timestamp, u32, u64, bool)>,
    /// Reader's clock when the batch was sent.
    now: Timestamp,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            data: Vec::with_capacity(BATCH_BYTES + 65_536),
            pkts: Vec::with_capacity(BATCH_PKTS),
            now: Timestamp::default(),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn replay_multi(
    paths: &[PathBuf],
    start: Instant,
    settings: Arc<Settings>,
    registry: Arc<Registry>,
    engine: Option<Arc<detect::engine::Engine>>,
    mut out: Box<dyn Write + Send>,
    workers: usize,
    on_progress: &mut dyn FnMut(u64),
    on_file_error: &mut dyn FnMut(&FileError),
) -> io::Result<RunSummary> {
    let (json_tx, json_rx) = bounded::<Vec<u8>>(workers * 4);
    let writer =
        thread::Builder::new()
            .name("eve-writer".into())
            .spawn(move || -> io::Result<()> {
                for chunk in json_rx {
                    out.write_all(&chunk)?;
                }
                out.flush()
            })?;

    let mut to_worker: Vec<Sender<Batch>> = Vec::new();
    let mut free_rx: Vec<Receiver<Batch>> = Vec::new();
    let mut handles = Vec::new();
    for w in 0..workers {
        let (tx, rx) = bounded::<Batch>(BATCHES_PER_WORKER);
        let (free_tx, free_r) = bounded::<Batch>(BATCHES_PER_WORKER + 1);
        for _ in 0..BATCHES_PER_WORKER {
            let _ = free_tx.send(Batch::new());
        }
        to_worker.push(tx);
        free_rx.push(free_r);
        let settings = settings.clone();
        let registry = registry.clone();
        let engine = engine.clone();
        let json_tx = json_tx.clone();
        handles.push(
            thread::Builder::new()
                .name(format!("worker-{w}"))
                .spawn(move || {
                    let types = settings.eve_types;
                    let mut worker = Worker::new(settings, registry, w as u64);
                    if let Some(e) = engine {
                        worker = worker.with_engine(e);
                    }
                    let mut sink = JsonSink {
                        buf: Vec::with_capacity(JSON_CHUNK + 4096),
                        counts: BTreeMap::new(),
                        types,
                        flush: |b: Vec<u8>| {
                            let _ = json_tx.send(b);
                        },
                    };
                    for mut batch in rx {
                        for &(off, len, ts, lt, cnt, validate) in &batch.pkts {
                            let data = batch
                                .data
                                .get(off as usize..(off + len) as usize)
                                .unwrap_or_default();
                            worker.process(
                                PacketIn {
                                    ts,
                                    linktype: lt,
                                    data,
                                    pcap_cnt: cnt,
                                    validate_checksum: validate,
                                },
                                &mut sink,
                            );
                        }
                        worker.advance_time(batch.now, &mut sink);
                        batch.data.clear();
                        batch.pkts.clear();
                        let _ = free_tx.send(batch);
                    }
                    worker.finish(&mut sink);
                    let counts = sink.finish();
                    (worker.stats(), counts)
                })?,
        );
    }
    let mut src = FileSource::new(paths);
    let mut ck = ChecksumAuto {
        mode: settings.checksum,
        seen: 0,
        invalid: 0,
        offloaded: false,
    };
    let mut summary = RunSummary::default();
    let mut cur: Vec<Option<Batch>> = (0..workers).map(|_| None).collect();
    let mut n: u64 = 0;
    let mut now = Timestamp::default();
    let mut last_tick = Timestamp::default();
    let send = |w: usize, cur: &mut Vec<Option<Batch>>, now: Timestamp| {
        if let Some(mut b) = cur[w].take() {
            b.now = now;
            let _ = to_worker[w].send(b);
        }
    };
    while let Some(p) = src.next_packet() {
        n += 1;
        if p.ts > now {
            now = p.ts;
        }
        let validate = ck.validate(p.linktype, p.data, &settings);
        let w =
            (decode::shard_hash(p.linktype, p.data, &settings.decode) % workers as u64) as usize;
        if cur[w].is_none() {
            cur[w] = Some(free_rx[w].recv().unwrap_or_else(|_| Batch::new()));
        }
        if let Some(b) = cur[w].as_mut() {
            let off = b.data.len() as u32;
            b.data.extend_from_slice(p.data);
            b.pkts
                .push((off, p.data.len() as u32, p.ts, p.linktype, n, validate));
            if b.pkts.len() >= BATCH_PKTS || b.data.len() >= BATCH_BYTES {
                send(w, &mut cur, now);
            }
        }
        // Once per second of packet time, wake every worker so idle ones expire flows too.
        if now.since(last_tick) >= 1_000_000_000 {
            last_tick = now;
            for w in 0..workers {
                if cur[w].is_none() {
                    if let Ok(b) = free_rx[w].try_recv() {
                        cur[w] = Some(b);
                    }
                }
                send(w, &mut cur, now);
            }
        }
        if n.is_multiple_of(65_536) {
            on_progress(src.stats().bytes);
        }
        for e in src.take_errors() {
            on_file_error(&e);
            summary.file_errors.push(e.to_string());
        }
    }
    for e in src.take_errors() {
        on_file_error(&e);
        summary.file_errors.push(e.to_string());
    }
    for w in 0..workers {
        send(w, &mut cur, now);
    }
    drop(to_worker);
    for h in handles {
        match h.join() {
            Ok((stats, counts)) => {
                summary.stats.add(&stats);
                for (k, v) in counts {
                    *summary.events.entry(k).or_insert(0) += v;
                }
            }
            Err(_) => return Err(io::Error::other("a worker thread panicked")),
        }
    }
    // A final `stats` record for the whole run, then let the writer finish.
    if settings.eve_types.stats {
        let mut line = Vec::new();
        summary
            .stats
            .to_event(now, start.elapsed().as_secs())
            .write_json(&mut line);
        let _ = json_tx.send(line);
        *summary.events.entry("stats").or_insert(0) += 1;
    }
    drop(json_tx);
    match writer.join() {
        Ok(r) => r?,
        Err(_) => return Err(io::Error::other("the writer thread panicked")),
    }
    summary.source = src.stats().clone();
    summary.checksums_offloaded = ck.offloaded;
    on_progress(summary.source.bytes);
    Ok(summary)
}
