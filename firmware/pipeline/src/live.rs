//! Running the pipeline on live sources: one worker thread per source (an AF_PACKET socket of
//! a fanout group, a DPDK queue), each owning its flows, JSON to one writer thread, and the
//! calling thread keeping time: aggregated `stats` events every interval (with the kernel's
//! capture counters, Suricata's `capture.kernel_packets` / `capture.kernel_drops`), the idle
//! stop, and the stop flag.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use applayer::Registry;
use capture::{KernelStats, RawPacket};
use crossbeam_channel::bounded;
use types::Timestamp;

use crate::config::Settings;
use crate::run::{JsonSink, JSON_CHUNK};
use crate::stats::WorkerStats;
use crate::worker::{PacketIn, Worker};

/// How long a worker waits for packets before it advances its clock (flow timeouts run on
/// wall-clock time when the wire is quiet).
const POLL: Duration = Duration::from_millis(100);
/// How long the drain at stop waits for a partly filled block (above the ring's block
/// timeout).
const DRAIN_WAIT: Duration = Duration::from_millis(50);

/// A live packet source owned by one worker.
pub trait LiveSource: Send {
    /// Waits up to `timeout` for packets and hands each to `f`; returns how many.
    fn next_batch(
        &mut self,
        timeout: Duration,
        f: &mut dyn FnMut(RawPacket<'_>),
    ) -> io::Result<usize>;
    /// The kernel's or NIC's counters for this source, if it has any.
    fn kernel_stats(&mut self) -> Option<KernelStats>;
    /// A name for messages.
    fn describe(&self) -> String;
    /// Things an operator should hear about now (a port's link went down or came back).
    fn notices(&mut self) -> Vec<String> {
        Vec::new()
    }
}

impl LiveSource for capture::AfPacketSource {
    fn next_batch(
        &mut self,
        timeout: Duration,
        f: &mut dyn FnMut(RawPacket<'_>),
    ) -> io::Result<usize> {
        self.next_block(timeout, f)
    }

    fn kernel_stats(&mut self) -> Option<KernelStats> {
        capture::AfPacketSource::kernel_stats(self).ok()
    }

    fn describe(&self) -> String {
        format!("af-packet {}", self.iface())
    }
}

#[cfg(feature = "dpdk")]
impl LiveSource for capture::dpdk::DpdkSource {
    fn next_batch(
        &mut self,
        timeout: Duration,
        f: &mut dyn FnMut(RawPacket<'_>),
    ) -> io::Result<usize> {
        self.next_burst(timeout, f)
    }

    /// Packets this source took plus, for the one source that reports them, the ports'
    /// drops (imissed, ierrors, rx_nombuf): like the kernel's `tp_packets`, drops included.
    fn kernel_stats(&mut self) -> Option<KernelStats> {
        let drops = self.port_drops().ok()?;
        Some(KernelStats {
            packets: self.counters().packets + drops,
            drops,
        })
    }

    fn describe(&self) -> String {
        let names: Vec<&str> = self.ports().iter().map(|p| p.name.as_str()).collect();
        format!("dpdk {}", names.join(","))
    }

    fn notices(&mut self) -> Vec<String> {
        self.link_changes()
    }
}

/// Where a reloaded rule set is published to the workers. Each worker checks the generation
/// between batches and swaps the new engine in (carrying its flows' detection state over), so
/// a reload never stops capture and no packet meets a half-built set.
#[derive(Debug, Default)]
pub struct EngineSlot {
    generation: AtomicU64,
    engine: Mutex<Option<Arc<detect::engine::Engine>>>,
    /// Engines the workers let go of, freed by [`EngineSlot::free_retired`] on the
    /// reloading thread rather than on a worker.
    retired: Mutex<Vec<Arc<detect::engine::Engine>>>,
}

impl EngineSlot {
    /// Publishes a complete engine.
    pub fn publish(&self, engine: Arc<detect::engine::Engine>) {
        if let Ok(mut e) = self.engine.lock() {
            *e = Some(engine);
        }
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Reloads published so far.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Frees the engines no worker uses any more (call from a thread that is not a worker).
    pub fn free_retired(&self) {
        let old = self
            .retired
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default();
        drop(old);
    }

    fn retire(&self, e: Arc<detect::engine::Engine>) {
        if let Ok(mut v) = self.retired.lock() {
            v.push(e);
        }
    }

    fn take(&self) -> Option<Arc<detect::engine::Engine>> {
        self.engine.lock().ok().and_then(|e| e.clone())
    }
}

/// Options of a live run.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Rule reloads reach the workers through this.
    pub engines: Arc<EngineSlot>,
    /// Write an aggregated `stats` event this often (and always at exit).
    pub stats_interval: Option<Duration>,
    /// Stop after this long without a packet on any source.
    pub until_idle: Option<Duration>,
    /// Set to stop (signals).
    pub stop: Arc<AtomicBool>,
    /// Worker `w` is pinned to core `pins[w % pins.len()]` (none: not pinned).
    pub pins: Vec<usize>,
}

/// What a live run did.
#[derive(Debug, Clone, Default)]
pub struct LiveSummary {
    /// Counters summed over workers.
    pub stats: WorkerStats,
    /// Kernel counters summed over sources.
    pub kernel: KernelStats,
    /// Events written, by type.
    pub events: BTreeMap<&'static str, u64>,
    /// Sources that failed while running (the others went on), as messages.
    pub source_errors: Vec<String>,
    /// Wall time.
    pub elapsed: Duration,
}

/// What each worker publishes for the stats events.
#[derive(Debug, Default, Clone)]
struct Shared {
    stats: WorkerStats,
    kernel: KernelStats,
    last_packet: Option<Instant>,
}

fn wall_now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_secs_nanos(d.as_secs(), u64::from(d.subsec_nanos()))
}

fn stats_line(stats: &WorkerStats, kernel: KernelStats, uptime: u64) -> Vec<u8> {
    let mut counters = stats.counters();
    counters.push(("capture.kernel_packets", kernel.packets));
    counters.push(("capture.kernel_drops", kernel.drops));
    let ev = events::Event::new(
        wall_now(),
        events::Body::Stats(Box::new(events::stats::StatsEve::from_counters(
            uptime, counters,
        ))),
    );
    let mut line = Vec::new();
    ev.write_json(&mut line);
    line
}

/// Runs one worker per source until `opts.stop` is set (or the idle limit passes), writing
/// EVE to `out`. A source that fails is reported and its worker ends; the others go on.
pub fn run_live(
    sources: Vec<Box<dyn LiveSource>>,
    settings: Settings,
    registry: Registry,
    engine: Option<Arc<detect::engine::Engine>>,
    mut out: Box<dyn Write + Send>,
    opts: &LiveOptions,
) -> io::Result<LiveSummary> {
    let start = Instant::now();
    let settings = Arc::new(settings);
    let registry = Arc::new(registry);
    let n = sources.len();
    let (json_tx, json_rx) = bounded::<Vec<u8>>(n.max(1) * 8);
    let writer =
        thread::Builder::new()
            .name("eve-writer".into())
            .spawn(move || -> io::Result<()> {
                for chunk in json_rx {
                    out.write_all(&chunk)?;
                    out.flush()?;
                }
                out.flush()
            })?;
    let shared: Arc<Vec<Mutex<Shared>>> =
        Arc::new((0..n).map(|_| Mutex::new(Shared::default())).collect());
    let errors: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    for (w, mut src) in sources.into_iter().enumerate() {
        let settings = settings.clone();
        let registry = registry.clone();
        let engine = engine.clone();
        let json_tx = json_tx.clone();
        let shared = shared.clone();
        let errors = errors.clone();
        let stop = opts.stop.clone();
        let slot = opts.engines.clone();
        let pin = (!opts.pins.is_empty()).then(|| opts.pins[w % opts.pins.len()]);
        handles.push(
            thread::Builder::new()
                .name(format!("worker-{w}"))
                .spawn(move || {
                    if let Some(core) = pin {
                        if let Err(e) = hw_profiles::pin_current_thread(core) {
                            tracing::warn!("worker {w}: cannot pin to core {core}: {e}");
                        }
                    }
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
                    let mut cnt: u64 = 0;
                    let mut last_publish = Instant::now();
                    let mut generation = slot.generation();
                    while !stop.load(Ordering::Relaxed) {
                        let g = slot.generation();
                        if g != generation {
                            generation = g;
                            if let Some(e) = slot.take() {
                                if let Some(old) = worker.swap_engine(e) {
                                    slot.retire(old);
                                }
                            }
                        }
                        let got = src.next_batch(POLL, &mut |p| {
                            cnt += 1;
                            worker.process(
                                PacketIn {
                                    ts: p.ts,
                                    linktype: p.linktype,
                                    data: p.data,
                                    pcap_cnt: cnt,
                                    validate_checksum: false,
                                },
                                &mut sink,
                            );
                        });
                        match got {
                            Ok(0) => {
                                // Quiet wire: flows time out on the wall clock, and what the
                                // worker holds reaches the writer.
                                worker.advance_time(wall_now(), &mut sink);
                                if !sink.buf.is_empty() {
                                    let b = std::mem::take(&mut sink.buf);
                                    (sink.flush)(b);
                                }
                            }
                            Ok(_) => {
                                if let Ok(mut s) = shared[w].lock() {
                                    s.last_packet = Some(Instant::now());
                                }
                            }
                            Err(e) => {
                                // Reported at once; this worker's other work ends, the other
                                // sources go on.
                                let msg = format!("{}: {e}", src.describe());
                                tracing::error!(
                                    "capture stopped on {msg}; the other sources go on"
                                );
                                if let Ok(mut v) = errors.lock() {
                                    v.push(msg);
                                }
                                break;
                            }
                        }
                        if last_publish.elapsed() >= Duration::from_millis(250) {
                            last_publish = Instant::now();
                            let k = src.kernel_stats().unwrap_or_default();
                            if let Ok(mut s) = shared[w].lock() {
                                s.stats = worker.stats();
                                s.kernel = k;
                            }
                            for n in src.notices() {
                                tracing::error!("capture: {n}");
                            }
                        }
                    }
                    // Packets still in the ring when the stop came are processed too: the
                    // kernel hands over a partly filled block after its timeout, so the drain
                    // waits a little for each until none comes.
                    for _ in 0..1024 {
                        let got = src.next_batch(DRAIN_WAIT, &mut |p| {
                            cnt += 1;
                            worker.process(
                                PacketIn {
                                    ts: p.ts,
                                    linktype: p.linktype,
                                    data: p.data,
                                    pcap_cnt: cnt,
                                    validate_checksum: false,
                                },
                                &mut sink,
                            );
                        });
                        if !matches!(got, Ok(n) if n > 0) {
                            break;
                        }
                    }
                    worker.finish(&mut sink);
                    let k = src.kernel_stats().unwrap_or_default();
                    if let Ok(mut s) = shared[w].lock() {
                        s.stats = worker.stats();
                        s.kernel = k;
                    }
                    sink.finish()
                })?,
        );
    }
    let total = |shared: &Vec<Mutex<Shared>>| {
        let mut st = WorkerStats::default();
        let mut k = KernelStats::default();
        let mut last: Option<Instant> = None;
        for s in shared {
            if let Ok(s) = s.lock() {
                st.add(&s.stats);
                k.packets += s.kernel.packets;
                k.drops += s.kernel.drops;
                last = last.max(s.last_packet);
            }
        }
        (st, k, last)
    };
    let mut last_stats = Instant::now();
    loop {
        thread::sleep(Duration::from_millis(50));
        if handles.iter().all(|h| h.is_finished()) {
            break;
        }
        let (st, k, last) = total(&shared);
        if let Some(iv) = opts.stats_interval {
            if last_stats.elapsed() >= iv && settings.eve_types.stats {
                last_stats = Instant::now();
                let _ = json_tx.send(stats_line(&st, k, start.elapsed().as_secs()));
            }
        }
        if let Some(idle) = opts.until_idle {
            let since = last.unwrap_or(start).elapsed();
            if since >= idle {
                opts.stop.store(true, Ordering::Relaxed);
            }
        }
        if opts.stop.load(Ordering::Relaxed) {
            break;
        }
    }
    opts.stop.store(true, Ordering::Relaxed);
    let mut summary = LiveSummary::default();
    for h in handles {
        match h.join() {
            Ok(counts) => {
                for (k, v) in counts {
                    *summary.events.entry(k).or_insert(0) += v;
                }
            }
            Err(_) => return Err(io::Error::other("a worker thread panicked")),
        }
    }
    let (st, k, _) = total(&shared);
    if settings.eve_types.stats {
        let _ = json_tx.send(stats_line(&st, k, start.elapsed().as_secs()));
        *summary.events.entry("stats").or_insert(0) += 1;
    }
    drop(json_tx);
    match writer.join() {
        Ok(r) => r?,
        Err(_) => return Err(io::Error::other("the writer thread panicked")),
    }
    summary.stats = st;
    summary.kernel = k;
    summary.source_errors = errors.lock().map(|v| v.clone()).unwrap_or_default();
    summary.elapsed = start.elapsed();
    Ok(summary)
}
