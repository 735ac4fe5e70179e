//! `probed run`: the daemon. It resolves its configuration (flags, then the `-c` file, then
//! defaults), checks the hardware profile against the machine before anything starts, and
//! wires a capture source, the pipeline, the hunt ingest, webhook delivery and the management
//! server; it stops cleanly on SIGTERM/SIGINT and reloads rules on SIGHUP.
//!
//! Filters pushed over management reach a running ingest at once (`Ingest::watch`); rule sets
//! activated over management are built on a low-priority thread and swapped into the workers
//! between batches; archive settings apply at the next ingest open (the next batch of files,
//! or a restart in live mode).

use std::fs::{self, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use serde_json::Value;
use store::Store;

use crate::cli::RunArgs;
use crate::hw::Source;
use crate::notify::notify;
use crate::replay::{archive_config, ingest, prepare, Prepared};

/// What `status` reports about the daemon.
#[derive(Debug, Default, Clone, serde::Serialize)]
struct DaemonStatus {
    profile: String,
    capture: String,
    workers: usize,
    files_done: u64,
    files_failed: u64,
    packets: u64,
    bytes: u64,
    events: u64,
    last_error: Option<String>,
    rules_loaded: usize,
    rules_version: Option<String>,
    reloads: u64,
    webhooks_delivered: u64,
    webhooks_pending: u64,
    /// The daemon's process id (for `probed health`).
    pid: u32,
    /// Whether packets are being read (live sources open, or the capture loop running).
    capturing: bool,
    /// The management server's address, when it runs.
    mgmt: Option<String>,
    /// When the status file was last written (Unix seconds).
    updated_at: u64,
}

pub(crate) fn run(args: RunArgs) -> ExitCode {
    match daemon(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("probed run: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// What the running stages share with the management plane: the policy generation (bumped
/// when filters change) and the analytics configuration (whose intel set management feeds
/// replace).
struct Hooks {
    policy: Arc<AtomicU64>,
    analytics: Option<analytics::engine::Config>,
}

fn daemon(mut args: RunArgs) -> Result<ExitCode> {
    crate::probe_config::resolve(&mut args)?;
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(crate::probe_config::DEFAULT_DATA_DIR));
    fs::create_dir_all(&data_dir).with_context(|| format!("--data-dir {}", data_dir.display()))?;
    // The hardware profile is checked before anything starts.
    let plan = crate::hw::plan(&args, &data_dir)?;
    for w in &plan.warnings {
        eprintln!(
            "probed run: hardware profile {}: {}: {}",
            plan.profile, w.field, w.message
        );
    }
    args.engine.base = plan.settings.clone();
    if args.engine.workers.is_none() {
        args.engine.workers = Some(plan.workers);
    }
    let store =
        Store::open(&data_dir).with_context(|| format!("--data-dir {}", data_dir.display()))?;
    let mut rules_version = mgmt::rules::active(&store).map(|(v, _)| v);
    let mut prepared = prepare_with_active(&args, &store)?;
    let poll = crate::hunting::parse_duration(&args.poll).context("--poll")?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, stop.clone()).context("installing signal handlers")?;
    }
    // SIGHUP: reload the rules (the `-S` files and the active rule set) without stopping.
    let hup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, hup.clone())
        .context("installing the SIGHUP handler")?;
    // Bumped when filters change over management: the running ingest reloads its policy.
    let policy = Arc::new(AtomicU64::new(0));
    let hooks = Hooks {
        policy: policy.clone(),
        analytics: crate::analytics_cmd::config(
            &args.engine.analytics,
            Some(&store),
            "probed run",
        )?,
    };
    let status = Arc::new(Mutex::new(DaemonStatus {
        capture: describe_source(&plan.source),
        profile: plan.profile.clone(),
        workers: prepared.workers,
        rules_loaded: prepared.rules.as_ref().map_or(0, |r| r.loaded),
        rules_version: rules_version.clone(),
        ..Default::default()
    }));
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| data_dir.join("eve.json"));
    let server = match (&args.mgmt, &args.mgmt_pki) {
        (Some(addr), Some(dir)) => Some(start_mgmt(
            &args, *addr, dir, &output, &store, &status, &hooks,
        )?),
        _ => None,
    };
    {
        let mut s = lock(&status);
        s.pid = std::process::id();
        s.mgmt = server.as_ref().map(|s| s.local_addr().to_string());
    }
    let status_writer = start_status_file(data_dir.join(STATUS_FILE), status.clone(), stop.clone());
    if let Source::PcapDir(d) = &plan.source {
        fs::create_dir_all(d.join("done"))
            .with_context(|| format!("--pcap-dir {}", d.display()))?;
    }
    let ready = |what: &str| {
        let s = lock(&status);
        eprintln!(
            "probed run: {what} (profile {}; capture: {}; {} worker(s); {} rules; events to {}{})",
            s.profile,
            s.capture,
            s.workers,
            s.rules_loaded,
            output.display(),
            server
                .as_ref()
                .map(|s| format!("; management on {}", s.local_addr()))
                .unwrap_or_default()
        );
        notify(&format!(
            "READY=1\nSTATUS=capture {}, {} rules",
            s.capture, s.rules_loaded
        ));
    };
    crate::notify::start_watchdog(stop.clone());
    if matches!(plan.source, Source::AfPacket(_) | Source::Dpdk { .. }) {
        let r = open_sources(&plan.source, &args, prepared.workers).and_then(|sources| {
            lock(&status).capturing = true;
            ready("capturing");
            run_live_capture(
                &args, sources, &plan.pins, &prepared, &store, &output, &status, &stop, &hup,
                &hooks,
            )
        });
        notify("STOPPING=1");
        if let Some(s) = server {
            s.stop();
        }
        store.flush().context("flushing state")?;
        stop.store(true, Ordering::Relaxed);
        let _ = status_writer.map(|t| t.join());
        r?;
        eprintln!("probed run: stopped");
        return Ok(ExitCode::SUCCESS);
    }
    // `--no-capture` runs management, hunting and the archive only: nothing is captured.
    lock(&status).capturing = !matches!(plan.source, Source::Nothing);
    ready("ready");
    // Capture files named by the profile or `--capture pcap:` are read once; without a
    // management server the daemon then stops, like `suricata -r`.
    let mut once = match &plan.source {
        Source::Pcap(files) => Some(files.clone()),
        _ => None,
    };
    while !stop.load(Ordering::Relaxed) {
        // A rule set activated over management: rebuild the engine between batches. A set
        // that fails to build leaves the running engine in place.
        let active = mgmt::rules::active(&store).map(|(v, _)| v);
        if active != rules_version || hup.swap(false, Ordering::Relaxed) {
            match prepare_with_active(&args, &store) {
                Ok(p) => {
                    let mut s = lock(&status);
                    s.rules_loaded = p.rules.as_ref().map_or(0, |r| r.loaded);
                    s.rules_version = active.clone();
                    tracing::info!(
                        "rule set {} active: {} rules",
                        active.as_deref().unwrap_or("(none)"),
                        s.rules_loaded
                    );
                    prepared = p;
                }
                Err(e) => {
                    tracing::error!("rule set {active:?}: {e:#}; keeping the running engine");
                    lock(&status).last_error = Some(format!("rule set {active:?}: {e:#}"));
                }
            }
            rules_version = active;
        }
        if let Some(files) = once.take() {
            if let Err(e) = process(&args, &prepared, &store, &files, &output, &status, &hooks) {
                eprintln!("probed run: capture: {e:#}");
                lock(&status).last_error = Some(format!("{e:#}"));
            }
            {
                let s = lock(&status);
                eprintln!(
                    "probed run: {} file(s) read: {} packets, {} events",
                    s.files_done, s.packets, s.events
                );
            }
            if server.is_none() {
                deliver(&store, &status);
                break;
            }
        }
        if let Source::PcapDir(dir) = &plan.source {
            let files = ready_files(dir);
            if !files.is_empty() {
                if let Err(e) = process(&args, &prepared, &store, &files, &output, &status, &hooks)
                {
                    tracing::error!("capture batch: {e:#}");
                    lock(&status).last_error = Some(format!("{e:#}"));
                }
                for f in &files {
                    let done = dir.join("done").join(f.file_name().unwrap_or_default());
                    if let Err(e) = fs::rename(f, &done) {
                        // A file that cannot be moved would be read again: stop reading it.
                        tracing::error!("{}: cannot move to done/: {e}", f.display());
                        let _ = fs::remove_file(f);
                    }
                }
            }
        }
        deliver(&store, &status);
        sleep_until(&stop, poll);
    }
    eprintln!("probed run: stopping");
    notify("STOPPING=1");
    if let Some(s) = server {
        s.stop();
    }
    store.flush().context("flushing state")?;
    stop.store(true, Ordering::Relaxed);
    let _ = status_writer.map(|t| t.join());
    Ok(ExitCode::SUCCESS)
}

/// The daemon's status file in the data directory, read by `probed health`.
pub(crate) const STATUS_FILE: &str = "status.json";
/// How often the status file is rewritten; `probed health` treats a file older than a few
/// periods as a daemon that hangs.
pub(crate) const STATUS_PERIOD: Duration = Duration::from_secs(2);

/// Rewrites the status file every [`STATUS_PERIOD`] until `stop`, then removes it (a stopped
/// daemon is not healthy). A failed write is logged and retried next period.
fn start_status_file(
    path: PathBuf,
    status: Arc<Mutex<DaemonStatus>>,
    stop: Arc<AtomicBool>,
) -> Option<std::thread::JoinHandle<()>> {
    let spawned = std::thread::Builder::new()
        .name("status-file".into())
        .spawn(move || {
            let tmp = path.with_extension("json.tmp");
            while !stop.load(Ordering::Relaxed) {
                let body = {
                    let mut s = lock(&status);
                    s.updated_at = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or(0);
                    serde_json::to_vec_pretty(&*s).unwrap_or_default()
                };
                if let Err(e) = fs::write(&tmp, &body).and_then(|()| fs::rename(&tmp, &path)) {
                    tracing::warn!("{}: {e}", path.display());
                }
                sleep_until(&stop, STATUS_PERIOD);
            }
            let _ = fs::remove_file(&path);
        });
    match spawned {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::error!("cannot start the status-file thread: {e}");
            None
        }
    }
}

/// The analytics stage and the hunt ingest in front of the EVE output (appended to), with the
/// archive limits in force and the stored filters reloaded whenever the policy generation
/// moves. Each capture batch and each live run opens one.
fn start_ingest(args: &RunArgs, store: &Store, output: &Path, hooks: &Hooks) -> Result<Sink> {
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(output)
        .with_context(|| format!("cannot open {}", output.display()))?;
    let (w, ingest) = ingest(
        store,
        effective_archive_config(args, store)?,
        Box::new(BufWriter::with_capacity(1 << 20, f)),
        Some(hooks.policy.clone()),
    )?;
    let (w, analytics) = crate::analytics_cmd::wrap(hooks.analytics.as_ref(), Some(store), w)?;
    Ok(Sink {
        w,
        handles: SinkHandles { analytics, ingest },
    })
}

/// The writer the pipeline writes to, and the threads behind it.
struct Sink {
    w: Box<dyn Write + Send>,
    handles: SinkHandles,
}

struct SinkHandles {
    analytics: Option<analytics::engine::AnalyticsHandle>,
    ingest: hunt::ingest::IngestHandle,
}

impl SinkHandles {
    /// Waits for analytics (beacons scored, hosts written), then the ingest (archive sealed).
    fn join(self) -> Result<hunt::ingest::IngestStats> {
        if let Some(a) = self.analytics {
            a.join().context("analytics")?;
        }
        self.ingest.join().context("archiving events")
    }
}

/// The engine from `-S` files plus the rule set activated over management, if any.
fn prepare_with_active(args: &RunArgs, store: &Store) -> Result<Prepared> {
    let mut engine = args.engine.clone();
    if let Some((_, path)) = mgmt::rules::active(store) {
        engine.rules.push(path);
    }
    prepare(&engine, true)
}

fn lock(s: &Mutex<DaemonStatus>) -> std::sync::MutexGuard<'_, DaemonStatus> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

fn sleep_until(stop: &AtomicBool, d: Duration) {
    let end = Instant::now() + d;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now >= end {
            break;
        }
        std::thread::sleep((end - now).min(Duration::from_millis(50)));
    }
}

fn start_mgmt(
    args: &RunArgs,
    addr: std::net::SocketAddr,
    dir: &Path,
    eve: &Path,
    store: &Store,
    status: &Arc<Mutex<DaemonStatus>>,
    hooks: &Hooks,
) -> Result<mgmt::Server> {
    let creds = mgmt::Credentials::load(dir).context("--mgmt-pki")?;
    let state = Arc::new(mgmt::MgmtState::open(
        store.clone(),
        &creds.operators,
        creds.crl.as_deref(),
    )?);
    let mut cfg = mgmt::MgmtConfig::new(addr);
    cfg.max_frame = usize::try_from(
        crate::hunting::parse_size(&args.mgmt_max_frame).context("--mgmt-max-frame")?,
    )
    .unwrap_or(usize::MAX);
    cfg.skew_ms = i64::try_from(
        crate::hunting::parse_duration(&args.mgmt_skew)
            .context("--mgmt-skew")?
            .as_millis(),
    )
    .unwrap_or(i64::MAX);
    let st = status.clone();
    let ctx = mgmt::Context {
        eve: Some(eve.to_owned()),
        update_config: args.update_config.clone().or_else(|| {
            Some(PathBuf::from(update::install::DEFAULT_CONFIG)).filter(|p| p.exists())
        }),
        status: Box::new(move || serde_json::to_value(&*lock(&st)).unwrap_or(Value::Null)),
        changed: {
            let policy = hooks.policy.clone();
            let intel = hooks.analytics.as_ref().map(|c| c.intel.clone());
            let store = store.clone();
            let files = args.engine.analytics.intel.clone();
            let seen = Arc::new(AtomicU64::new(analytics::intel::stored_fingerprint(&store)));
            let reloading = Arc::new(Mutex::new(()));
            Box::new(move || {
                policy.fetch_add(1, Ordering::Release);
                // Stored feeds changed: rebuild the intel set before the command answers (so
                // that an acknowledged push is in force); the running stage switches to it
                // before its next chunk of events, and matching never stops meanwhile.
                if let Some(h) = &intel {
                    // One rebuild at a time, so that the last change wins.
                    let _one = reloading.lock().unwrap_or_else(|p| p.into_inner());
                    let fp = analytics::intel::stored_fingerprint(&store);
                    if seen.swap(fp, Ordering::AcqRel) != fp {
                        match crate::analytics_cmd::reload_intel(h, &store, &files) {
                            Ok(n) => eprintln!("probed run: intel reloaded: {n} indicators"),
                            Err(e) => eprintln!(
                                "probed run: intel reload failed, the running set stays: {e:#}"
                            ),
                        }
                    }
                }
            })
        },
    };
    Ok(mgmt::Server::start(cfg, creds, state, ctx)?)
}

/// Capture files ready in `dir`: regular files not starting with `.`, in name order.
fn ready_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    v.sort();
    v
}

/// The archive limits: the command line, overridden by settings changed over management.
fn effective_archive_config(args: &RunArgs, store: &Store) -> Result<store::ArchiveConfig> {
    let mut cfg = archive_config(&args.archive)?;
    if let Some(d) = mgmt::config_value(store, "archive.retention-days") {
        let days: u64 = d
            .parse()
            .map_err(|_| anyhow!("archive.retention-days `{d}`"))?;
        cfg.max_age_secs = days.saturating_mul(86_400);
    }
    if let Some(s) = mgmt::config_value(store, "archive.max-size") {
        cfg.max_bytes = crate::hunting::parse_size(&s)?;
    }
    if let Some(s) = mgmt::config_value(store, "archive.min-free") {
        cfg.min_free_bytes = Some(crate::hunting::parse_size(&s)?);
    }
    Ok(cfg)
}

/// Runs one batch of capture files through the pipeline and the hunt ingest.
fn process(
    args: &RunArgs,
    prepared: &Prepared,
    store: &Store,
    files: &[PathBuf],
    output: &Path,
    status: &Mutex<DaemonStatus>,
    hooks: &Hooks,
) -> Result<()> {
    let Sink { w, handles: h } = start_ingest(args, store, output, hooks)?;
    let settings = prepared.settings.clone();
    let registry = pipeline::registry(&settings);
    let mut failed = 0u64;
    let result = pipeline::replay(
        files,
        settings,
        registry,
        prepared.engine.clone(),
        w,
        prepared.workers,
        &mut |_| {},
        &mut |e| {
            failed += 1;
            tracing::warn!("{e}");
        },
    );
    let stats = h.join()?;
    let summary = result.context("writing events")?;
    let mut s = lock(status);
    s.files_done += files.len() as u64;
    s.files_failed += failed;
    s.packets += summary.source.packets;
    s.bytes += summary.source.bytes;
    s.events += stats.events;
    tracing::info!(
        "{} capture file(s): {} packets, {} events",
        files.len(),
        summary.source.packets,
        stats.events
    );
    Ok(())
}

/// Parses `tcpdump -ddd` output: a count line, then `code jt jf k` per instruction.
fn read_bpf(path: &Path) -> Result<Vec<(u16, u8, u8, u32)>> {
    let text =
        fs::read_to_string(path).with_context(|| format!("--bpf-file {}", path.display()))?;
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let count: usize = lines.next().and_then(|l| l.parse().ok()).ok_or_else(|| {
        anyhow!(
            "--bpf-file {}: expected `tcpdump -ddd` output",
            path.display()
        )
    })?;
    let mut prog = Vec::with_capacity(count);
    for (i, l) in lines.enumerate() {
        let f: Vec<u64> = l
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        match f.as_slice() {
            [code, jt, jf, k] => prog.push((
                u16::try_from(*code)?,
                u8::try_from(*jt)?,
                u8::try_from(*jf)?,
                u32::try_from(*k)?,
            )),
            _ => anyhow::bail!(
                "--bpf-file {}: line {}: expected four numbers",
                path.display(),
                i + 2
            ),
        }
    }
    if prog.len() != count {
        anyhow::bail!(
            "--bpf-file {}: {} instructions announced, {} found",
            path.display(),
            count,
            prog.len()
        );
    }
    Ok(prog)
}

fn describe_source(s: &Source) -> String {
    match s {
        Source::AfPacket(i) => format!("afpacket {}", i.join(",")),
        Source::Dpdk { eal, .. } => format!("dpdk {}", eal[1..].join(" ")),
        Source::Pcap(f) => format!(
            "pcap {}",
            f.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(",")
        ),
        Source::PcapDir(d) => format!("pcap-dir {}", d.display()),
        Source::Nothing => "none".into(),
    }
}

/// Opens the live sources: for AF_PACKET one socket per worker and interface, in a fanout
/// group per interface; for DPDK one source per worker, reading its queue on every port.
fn open_sources(
    source: &Source,
    args: &RunArgs,
    workers: usize,
) -> Result<Vec<Box<dyn pipeline::LiveSource>>> {
    let mut sources: Vec<Box<dyn pipeline::LiveSource>> = Vec::new();
    match source {
        Source::AfPacket(ifaces) => {
            let bpf = args.bpf_file.as_deref().map(read_bpf).transpose()?;
            for (i, iface) in ifaces.iter().enumerate() {
                // One fanout group per interface, unique to this process.
                let group = (std::process::id() as u16).wrapping_add(i as u16);
                for _ in 0..workers {
                    let mut cfg = capture::AfPacketConfig::new(iface);
                    cfg.fanout_group = Some(group);
                    cfg.bpf = bpf.clone();
                    let src = capture::AfPacketSource::open(&cfg)
                        .with_context(|| format!("capture afpacket:{iface}"))?;
                    sources.push(Box::new(src));
                }
            }
        }
        Source::Dpdk {
            eal,
            rx_descriptors,
            mbufs,
        } => {
            if args.bpf_file.is_some() {
                anyhow::bail!("--bpf-file applies to AF_PACKET capture, not DPDK");
            }
            sources = crate::dpdk::open(eal, workers, *rx_descriptors, *mbufs)?;
        }
        _ => {}
    }
    if sources.is_empty() {
        anyhow::bail!("capture: no interface");
    }
    Ok(sources)
}

/// Live capture until stopped: the sources through the pipeline (worker `w` pinned to
/// `pins[w % pins.len()]`) and the hunt ingest; webhooks are delivered on their own thread
/// meanwhile.
#[allow(clippy::too_many_arguments)]
fn run_live_capture(
    args: &RunArgs,
    sources: Vec<Box<dyn pipeline::LiveSource>>,
    pins: &[usize],
    prepared: &Prepared,
    store: &Store,
    output: &Path,
    status: &Arc<Mutex<DaemonStatus>>,
    stop: &Arc<AtomicBool>,
    hup: &Arc<AtomicBool>,
    hooks: &Hooks,
) -> Result<()> {
    let Sink { w, handles: h } = start_ingest(args, store, output, hooks)?;
    let engines = Arc::new(pipeline::EngineSlot::default());
    let reloader = {
        let hup = hup.clone();
        let args = args.clone();
        let store = store.clone();
        let status = status.clone();
        let stop = stop.clone();
        let engines = engines.clone();
        let mut version = mgmt::rules::active(&store).map(|(v, _)| v);
        std::thread::Builder::new()
            .name("rule-reload".into())
            .spawn(move || {
                // Building an engine is long and CPU-heavy: it yields to the workers, which
                // keep inspecting with the running rules meanwhile (Linux nice is per thread).
                if let Err(e) =
                    rustix::process::setpriority_process(Some(rustix::thread::gettid()), 19)
                {
                    tracing::debug!("rule-reload thread priority: {e}");
                }
                while !stop.load(Ordering::Relaxed) {
                    sleep_until(&stop, Duration::from_millis(250));
                    engines.free_retired();
                    let active = mgmt::rules::active(&store).map(|(v, _)| v);
                    let signalled = hup.swap(false, Ordering::Relaxed);
                    if !signalled && active == version {
                        continue;
                    }
                    version = active.clone();
                    let t = Instant::now();
                    notify("RELOADING=1");
                    match prepare_with_active(&args, &store) {
                        Ok(p) => {
                            let loaded = p.rules.as_ref().map_or(0, |r| r.loaded);
                            match p.engine {
                                Some(e) => engines.publish(e),
                                None => tracing::warn!("reload: no rules to load"),
                            }
                            let mut s = lock(&status);
                            s.rules_loaded = loaded;
                            s.rules_version = active;
                            s.reloads += 1;
                            eprintln!(
                                "probed run: rules reloaded: {loaded} rules in {:.1} s",
                                t.elapsed().as_secs_f64()
                            );
                            notify(&format!("READY=1\nSTATUS=rules reloaded: {loaded} rules"));
                        }
                        Err(e) => {
                            eprintln!(
                                "probed run: rule reload failed, the running rules stay: {e:#}"
                            );
                            lock(&status).last_error = Some(format!("rule reload: {e:#}"));
                            notify("READY=1\nSTATUS=rule reload failed, the running rules stay");
                        }
                    }
                }
            })?
    };
    let opts = pipeline::LiveOptions {
        engines,
        stats_interval: Some(
            crate::hunting::parse_duration(&args.stats_interval).context("--stats-interval")?,
        ),
        until_idle: args
            .until_idle
            .as_deref()
            .map(crate::hunting::parse_duration)
            .transpose()
            .context("--until-idle")?,
        stop: stop.clone(),
        pins: pins.to_vec(),
    };
    let deliverer = {
        let store = store.clone();
        let status = status.clone();
        let stop = stop.clone();
        std::thread::Builder::new()
            .name("webhooks".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    deliver(&store, &status);
                    sleep_until(&stop, Duration::from_secs(1));
                }
            })?
    };
    let settings = prepared.settings.clone();
    let registry = pipeline::registry(&settings);
    let result = pipeline::run_live(
        sources,
        settings,
        registry,
        prepared.engine.clone(),
        w,
        &opts,
    );
    stop.store(true, Ordering::Relaxed);
    let _ = deliverer.join();
    let _ = reloader.join();
    let stats = h.join()?;
    let summary = result.context("live capture")?;
    deliver(store, status);
    {
        let mut s = lock(status);
        s.packets += summary.stats.packets;
        s.bytes += summary.stats.bytes;
        s.events += stats.events;
    }
    for e in &summary.source_errors {
        eprintln!("probed run: capture: {e}");
    }
    eprintln!(
        "probed run: {} packets ({} kernel packets, {} kernel drops), {} events",
        summary.stats.packets, summary.kernel.packets, summary.kernel.drops, stats.events
    );
    Ok(())
}

/// Delivers queued webhooks (one attempt each; failures stay queued with their backoff).
fn deliver(store: &Store, status: &Mutex<DaemonStatus>) {
    let pending = export::pending(store);
    if pending > 0 {
        match export::deliver(store, Duration::ZERO) {
            Ok(r) => {
                let mut s = lock(status);
                s.webhooks_delivered += r.delivered;
                s.webhooks_pending = r.pending;
            }
            Err(e) => tracing::warn!("webhooks: {e}"),
        }
    } else {
        lock(status).webhooks_pending = 0;
    }
}
