//! `probed replay`: offline analysis of capture files.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use pipeline::{RunSummary, Settings};

use crate::cli::{ArchiveArgs, EngineArgs, ReplayArgs};
use crate::rules::Loaded;

pub(crate) fn run(args: ReplayArgs) -> ExitCode {
    match replay(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("probed replay: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Settings, rules and the worker count, ready to run the pipeline.
pub(crate) struct Prepared {
    pub(crate) settings: Settings,
    pub(crate) rules: Option<Loaded>,
    pub(crate) engine: Option<std::sync::Arc<detect::engine::Engine>>,
    pub(crate) workers: usize,
}

/// Builds the settings (config file, then `--set`), loads the rules and picks the worker
/// count. `hunting` turns on what the hunt path needs (HTTP base64 fields).
pub(crate) fn prepare(args: &EngineArgs, hunting: bool) -> Result<Prepared> {
    let mut settings = Settings::default();
    if hunting {
        // Hunting needs the derived base64 fields of HTTP transactions.
        settings.set("outputs.eve-log.types.http.base64", "yes")?;
    }
    for (k, v) in &args.base {
        settings.set(k, v).with_context(|| format!("{k}={v}"))?;
    }
    if let Some(c) = &args.config {
        let mut unused = settings.load_yaml(c)?;
        // The daemon's own section and the rule list are read by `probed run`.
        unused.retain(|k| {
            !crate::probe_config::DAEMON_KEYS
                .iter()
                .any(|p| k.starts_with(p))
        });
        if !unused.is_empty() {
            tracing::warn!(
                "{}: {} settings not used by this probe (first: {})",
                c.display(),
                unused.len(),
                unused[0]
            );
        }
    }
    for kv in &args.set {
        settings.set_kv(kv).with_context(|| format!("--set {kv}"))?;
    }
    for p in &args.rules {
        if !p.exists() {
            bail!("-S {}: no such file", p.display());
        }
    }
    let (rules, engine) = if args.rules.is_empty() {
        (None, None)
    } else {
        let (loaded, engine) =
            crate::rules::build_engine(&args.rules, &settings, args.classification.as_deref())?;
        report_rule_problems(&loaded);
        if engine.needs_buffers() {
            settings.app.set_inspect(true);
        }
        // `ja3-fingerprints` / `ja4-fingerprints: auto`: computed when a rule needs them,
        // unless the configuration says `no`.
        let off = detect::features_off(&settings.detect);
        for (prefix, key) in [
            ("ja3", "app-layer.protocols.tls.ja3-fingerprints"),
            ("ja4", "app-layer.protocols.tls.ja4-fingerprints"),
        ] {
            if !off.iter().any(|f| f == prefix) && engine.uses_buffer(|b| b.starts_with(prefix)) {
                settings.set(key, "yes")?;
            }
        }
        (Some(loaded), Some(engine))
    };
    // One core is left to the reading thread (and the writer), which keeps the workers fed.
    let workers = args.workers.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get().saturating_sub(1).max(1))
            .unwrap_or(1)
    });
    if workers == 0 || workers > 256 {
        bail!("--workers {workers}: expected 1..=256");
    }
    Ok(Prepared {
        settings,
        rules,
        engine,
        workers,
    })
}

fn replay(args: ReplayArgs) -> Result<ExitCode> {
    let data = match &args.data_dir {
        Some(d) => {
            Some(store::Store::open(d).with_context(|| format!("--data-dir {}", d.display()))?)
        }
        None => None,
    };
    let Prepared {
        settings,
        rules,
        engine,
        workers,
    } = prepare(&args.engine, data.is_some())?;
    for p in &args.pcaps {
        if !p.exists() {
            bail!("{}: no such file", p.display());
        }
    }
    let out: Box<dyn Write + Send> = if args.output.as_os_str() == "-" {
        Box::new(BufWriter::with_capacity(1 << 20, io::stdout()))
    } else {
        let f = File::create(&args.output)
            .with_context(|| format!("cannot create {}", args.output.display()))?;
        Box::new(BufWriter::with_capacity(1 << 20, f))
    };
    let (out, ingest) = match &data {
        None => (out, None),
        Some(store) => {
            let (w, h) = ingest(store, archive_config(&args.archive)?, out, None)?;
            (w, Some(h))
        }
    };
    // Analytics sees the workers' events first, so that its alerts, sightings, hosts and
    // beacons are archived and pass the hunt policy like any event.
    let t_intel = std::time::Instant::now();
    let acfg =
        crate::analytics_cmd::config(&args.engine.analytics, data.as_ref(), "probed replay")?;
    let intel = acfg.as_ref().map(|c| {
        let n = c.intel.current().counts().indicators;
        IntelLoad {
            indicators: n,
            secs: t_intel.elapsed().as_secs_f64(),
        }
    });
    let (out, analytics) = crate::analytics_cmd::wrap(acfg.as_ref(), data.as_ref(), out)?;
    let total: u64 = args
        .pcaps
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let bar = if !args.no_progress && io::stderr().is_terminal() && total > 64 << 20 {
        let b = ProgressBar::new(total);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(b)
    } else {
        None
    };
    let registry = pipeline::registry(&settings);
    let mut progress = |bytes: u64| {
        if let Some(b) = &bar {
            b.set_position(bytes.min(total));
        }
    };
    let mut file_error = |e: &capture::FileError| {
        if let Some(b) = &bar {
            b.suspend(|| eprintln!("probed replay: {e}"));
        } else {
            eprintln!("probed replay: {e}");
        }
    };
    let result = pipeline::replay(
        &args.pcaps,
        settings,
        registry,
        engine,
        out,
        workers,
        &mut progress,
        &mut file_error,
    );
    // The pipeline dropped its writer: the analytics thread finishes (beacons scored, hosts
    // written), then the ingest thread (archive sealed and synced).
    let analytics = match analytics {
        Some(h) => Some(h.join().context("analytics")?),
        None => None,
    };
    let hunting = match ingest {
        Some(h) => Some(h.join().context("archiving events")?),
        None => None,
    };
    let summary = result.context("writing events")?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let delivery = match &data {
        Some(store) if export::pending(store) > 0 => {
            let wait =
                crate::hunting::parse_duration(&args.webhook_wait).context("--webhook-wait")?;
            Some(export::deliver(store, wait)?)
        }
        _ => None,
    };
    print_summary(
        &summary,
        &args,
        workers,
        rules.as_ref(),
        hunting.as_ref(),
        delivery.as_ref(),
        analytics.as_ref(),
        intel.as_ref(),
    );
    Ok(if summary.file_errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The archive limits of `--retention-days`, `--archive-max-size`, `--archive-min-free`.
pub(crate) fn archive_config(a: &ArchiveArgs) -> Result<store::ArchiveConfig> {
    Ok(store::ArchiveConfig {
        max_age_secs: a.retention_days.saturating_mul(86_400),
        max_bytes: match &a.archive_max_size {
            Some(s) => crate::hunting::parse_size(s).context("--archive-max-size")?,
            None => 0,
        },
        min_free_bytes: a
            .archive_min_free
            .as_deref()
            .map(crate::hunting::parse_size)
            .transpose()
            .context("--archive-min-free")?,
        ..Default::default()
    })
}

/// Puts the hunt ingest (policy, archive, declarations) in front of `out`: events written
/// to the returned writer are archived and filtered, and the kept ones reach `out`.
/// With `watch`, the stored filters are reloaded whenever it changes.
pub(crate) fn ingest(
    store: &store::Store,
    cfg: store::ArchiveConfig,
    out: Box<dyn Write + Send>,
    watch: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
) -> Result<(Box<dyn Write + Send>, hunt::ingest::IngestHandle)> {
    let mut ing = hunt::ingest::Ingest::open(store, cfg)?;
    if let Some(g) = watch {
        ing.watch(g);
    }
    let (w, h) = hunt::ingest::IngestWriter::spawn(ing, out)?;
    Ok((Box::new(w), h))
}

/// Peak resident memory of this process in bytes (Linux `VmHWM`), if known.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Rule and threshold-file failures, one line each on stderr (the run goes on without them).
fn report_rule_problems(loaded: &Loaded) {
    let mut e = io::stderr().lock();
    for f in &loaded.report.failures {
        let sid = f.sid.map(|s| format!(" sid {s}:")).unwrap_or_default();
        let _ = writeln!(
            e,
            "probed replay: {}:{}:{} {}: {}",
            f.file.display(),
            f.line,
            sid,
            f.keyword,
            f.reason
        );
    }
    for t in &loaded.threshold_errors {
        let _ = writeln!(e, "probed replay: {t}");
    }
}

/// How the threat-intel feeds loaded (for the summary).
struct IntelLoad {
    indicators: usize,
    secs: f64,
}

#[allow(clippy::too_many_arguments)]
fn print_summary(
    s: &RunSummary,
    args: &ReplayArgs,
    workers: usize,
    rules: Option<&Loaded>,
    hunting: Option<&hunt::ingest::IngestStats>,
    delivery: Option<&export::DeliveryReport>,
    analytics: Option<&analytics::engine::AnalyticsStats>,
    intel: Option<&IntelLoad>,
) {
    let (loaded, failed) = rules
        .map(|l| (l.loaded, l.report.failures.len()))
        .unwrap_or((0, 0));
    let secs = s.elapsed.as_secs_f64().max(1e-9);
    let rss = peak_rss();
    let pps = s.source.packets as f64 / secs;
    if args.json {
        let v = serde_json::json!({
            "packets": s.source.packets,
            "bytes": s.source.bytes,
            "files_ok": s.source.files_ok,
            "files_failed": s.source.files_failed,
            "file_errors": s.file_errors,
            "events": s.events,
            "alerts": s.events.get("alert").copied().unwrap_or(0),
            "rules_loaded": loaded,
            "rules_failed": failed,
            "flows": s.stats.flows_created,
            "tcp_sessions": s.stats.tcp_sessions,
            "decoder_anomalies": s.stats.decoder_events,
            "stream_anomalies": s.stats.stream_events,
            "applayer_anomalies": s.stats.applayer_events,
            "invalid_checksums": s.stats.invalid_checksums,
            "tcp_gaps": s.stats.tcp_gaps,
            "tcp_memcap_drops": s.stats.tcp_memcap_drops,
            "fragments": s.stats.fragments,
            "defrag_reassembled": s.stats.defrag_reassembled,
            "defrag_memcap_drops": s.stats.defrag_memcap_drops,
            "flows_evicted": s.stats.flows_evicted,
            "peak_rss_bytes": rss,
            "checksum_offload_detected": s.checksums_offloaded,
            "workers": workers,
            "elapsed_s": secs,
            "packets_per_s": pps,
            "output": args.output.display().to_string(),
            "archive": hunting,
            "webhooks": delivery,
            "analytics": analytics,
            "intel_indicators": intel.map(|i| i.indicators),
            "intel_load_s": intel.map(|i| i.secs),
        });
        eprintln!("{v}");
        return;
    }
    let mut e = io::stderr().lock();
    let _ = writeln!(
        e,
        "probed replay: {} packets, {} bytes from {} file(s){} in {:.3} s ({:.0} packets/s, {} worker(s))",
        s.source.packets,
        s.source.bytes,
        s.source.files_ok + s.source.files_failed,
        if s.source.files_failed > 0 {
            format!(" ({} with errors)", s.source.files_failed)
        } else {
            String::new()
        },
        secs,
        pps,
        workers
    );
    let total: u64 = s.events.values().sum();
    let by_type: Vec<String> = s.events.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let _ = writeln!(
        e,
        "  events: {total} ({})",
        if by_type.is_empty() {
            "none".to_owned()
        } else {
            by_type.join(", ")
        }
    );
    let alerts = s.events.get("alert").copied().unwrap_or(0);
    match rules {
        Some(l) => {
            let _ = writeln!(
                e,
                "  alerts: {alerts}; rules loaded {loaded}, failed {failed}, skipped {} (in {:.2} s)",
                l.report.skipped.len(),
                l.elapsed.as_secs_f64()
            );
        }
        None => {
            let _ = writeln!(e, "  alerts: {alerts}; no rules given (-S)");
        }
    }
    let _ = writeln!(
        e,
        "  flows: {}, tcp sessions: {}, anomalies: decode {}, stream {}, app-layer {}",
        s.stats.flows_created,
        s.stats.tcp_sessions,
        s.stats.decoder_events,
        s.stats.stream_events,
        s.stats.applayer_events
    );
    if s.stats.tcp_memcap_drops + s.stats.defrag_memcap_drops + s.stats.flows_evicted > 0 {
        let _ = writeln!(
            e,
            "  caps hit: reassembly segments dropped {}, fragments dropped {}, flows evicted {}",
            s.stats.tcp_memcap_drops, s.stats.defrag_memcap_drops, s.stats.flows_evicted
        );
    }
    if let Some(i) = intel.filter(|i| i.indicators > 0) {
        let _ = writeln!(
            e,
            "  intel: {} indicators loaded in {:.2} s",
            i.indicators, i.secs
        );
    }
    if let Some(a) = analytics {
        let _ = writeln!(
            e,
            "  analytics: intel alerts {}, lookalike alerts {}, sightings {}, hosts {} ({} host events), beacons {} (from {} flows){}",
            a.intel_alerts,
            a.lookalike_alerts,
            a.sightings,
            a.hosts,
            a.host_events,
            a.beacons,
            a.beacon_conns,
            if a.capped > 0 {
                format!("; {} inputs over caps", a.capped)
            } else {
                String::new()
            }
        );
    }
    if let (Some(h), Some(d)) = (hunting, &args.data_dir) {
        let _ = writeln!(
            e,
            "  archive: {} events archived in {} ({} dropped by policy, {} not JSON); declarations: {} new, {} evidence added; notifications {}; evictions {}",
            h.archived,
            d.display(),
            h.dropped,
            h.bad_lines,
            h.docs_created,
            h.evidence_added,
            h.notified,
            h.evictions
        );
        if h.store_errors > 0 {
            let _ = writeln!(
                e,
                "  data directory errors: {} events written but not archived or declared for (see the log)",
                h.store_errors
            );
        }
    }
    if let Some(d) = delivery {
        let _ = crate::hunting::print_delivery_to(&mut e, d);
    }
    if let Some(r) = rss {
        let _ = writeln!(e, "  peak memory: {:.1} MiB", r as f64 / 1048576.0);
    }
    if s.checksums_offloaded {
        let _ = writeln!(
            e,
            "  checksums: more than 1 in 10 invalid in the first 1000 packets; validation turned off (offloading)"
        );
    }
    let _ = writeln!(
        e,
        "  output: {}",
        if args.output.as_os_str() == "-" {
            "stdout".to_owned()
        } else {
            args.output.display().to_string()
        }
    );
}
