//! The analytics stage of `replay` / `run`, and the `lookalike`, `beacon` and `intel`
//! commands.

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use analytics::beacon::{Analyzer, Internal, Limits};
use analytics::engine::{Analytics, AnalyticsHandle, AnalyticsWriter, Config, IntelHandle};
use analytics::intel::{Feed, IntelSet};
use analytics::lookalike::Protect;
use anyhow::{bail, Context, Result};

use crate::cli::{AnalyticsArgs, BeaconArgs, IntelCommand, LookalikeArgs};

/// Largest feed or protect file read.
const MAX_FILE: u64 = 2 << 30;

fn read_file(p: &Path) -> Result<Vec<u8>> {
    let len = std::fs::metadata(p)
        .with_context(|| format!("{}", p.display()))?
        .len();
    if len > MAX_FILE {
        bail!(
            "{}: {len} bytes is more than the {MAX_FILE} a feed may have",
            p.display()
        );
    }
    std::fs::read(p).with_context(|| format!("{}", p.display()))
}

fn stored_feeds(store: &store::Store) -> Result<Vec<Feed>> {
    Ok(analytics::intel::stored_feeds(store)?)
}

/// Parses a feed file, reporting its refused records on stderr.
fn load_feed(p: &Path, cmd: &str) -> Result<Feed> {
    let data = read_file(p)?;
    let name = analytics::intel::feed_name(p);
    let f = Feed::parse(&name, &data);
    for e in &f.errors {
        eprintln!("{cmd}: {}:{}: {}", p.display(), e.line, e.reason);
    }
    if f.refused > f.errors.len() {
        eprintln!(
            "{cmd}: {}: {} more records refused",
            p.display(),
            f.refused - f.errors.len()
        );
    }
    Ok(f)
}

fn load_protect(p: &Path, cmd: &str) -> Result<Protect> {
    let text = String::from_utf8_lossy(&read_file(p)?).into_owned();
    let (protect, bad) = Protect::parse(&text);
    for b in &bad {
        eprintln!("{cmd}: {}:{}: {}", p.display(), b.line, b.reason);
    }
    if protect.is_empty() {
        bail!("{}: no domain to protect", p.display());
    }
    Ok(protect)
}

fn internal(home_net: &[String]) -> Result<Internal> {
    if home_net.is_empty() {
        return Ok(Internal::default());
    }
    let nets: Vec<&str> = home_net
        .iter()
        .flat_map(|s| s.split(','))
        .map(|s| s.trim().trim_matches(['[', ']']))
        .filter(|s| !s.is_empty())
        .collect();
    Internal::parse(nets).map_err(|e| anyhow::anyhow!("--home-net: {e}"))
}

/// The analytics configuration of the flags (with the data directory's stored feeds);
/// `None` with `--no-analytics`.
pub(crate) fn config(
    a: &AnalyticsArgs,
    store: Option<&store::Store>,
    cmd: &str,
) -> Result<Option<Config>> {
    if a.no_analytics {
        return Ok(None);
    }
    let mut feeds = match store {
        Some(s) => stored_feeds(s)?,
        None => Vec::new(),
    };
    for p in &a.intel {
        feeds.push(load_feed(p, cmd)?);
    }
    let intel = IntelHandle::new(IntelSet::build(&feeds));
    let protect = match &a.protect {
        Some(p) => load_protect(p, cmd)?,
        None => Protect::default(),
    };
    let learning = crate::hunting::parse_duration(&a.sightings_learning)
        .context("--sightings-learning")?
        .as_secs_f64();
    if !(0.0..=1.0).contains(&a.beacon_min_score) {
        bail!("--beacon-min-score {}: expected 0..=1", a.beacon_min_score);
    }
    Ok(Some(Config {
        intel,
        protect: Arc::new(protect),
        internal: internal(&a.home_net)?,
        beacon_min_score: a.beacon_min_score,
        sightings: !a.no_sightings,
        sighting_learning_secs: learning,
        hosts: !a.no_hosts,
        ..Config::default()
    }))
}

/// Puts the stage in front of `out`.
pub(crate) fn wrap(
    cfg: Option<&Config>,
    store: Option<&store::Store>,
    out: Box<dyn Write + Send>,
) -> Result<(Box<dyn Write + Send>, Option<AnalyticsHandle>)> {
    match cfg {
        None => Ok((out, None)),
        Some(c) => {
            let a = Analytics::new(c.clone(), store.cloned());
            let (w, h) = AnalyticsWriter::spawn(a, out).context("starting analytics")?;
            Ok((Box::new(w), Some(h)))
        }
    }
}

/// Rebuilds the intel set of a running stage from the data directory's stored feeds and the
/// `--intel` files (after `intel_push` / `intel_remove` through management).
pub(crate) fn reload_intel(
    handle: &IntelHandle,
    store: &store::Store,
    files: &[PathBuf],
) -> Result<usize> {
    let mut feeds = stored_feeds(store)?;
    for p in files {
        feeds.push(load_feed(p, "probed run")?);
    }
    let set = IntelSet::build(&feeds);
    let n = set.counts().indicators;
    handle.replace(set);
    Ok(n)
}

/// `probed lookalike`.
pub(crate) fn lookalike(args: LookalikeArgs) -> Result<ExitCode> {
    let protect = load_protect(&args.protect, "probed lookalike")?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut found = 0u64;
    let mut check = |name: &str, out: &mut dyn Write| -> Result<()> {
        let name = name.trim();
        if name.is_empty() || name.starts_with('#') {
            return Ok(());
        }
        match protect.check(name) {
            Some(f) => {
                found += 1;
                if args.json {
                    serde_json::to_writer(&mut *out, &f)?;
                    writeln!(out)?;
                } else {
                    writeln!(
                        out,
                        "{}\t{}\t{}\t{}",
                        f.domain,
                        f.protected,
                        f.method,
                        match f.tier {
                            analytics::lookalike::Tier::High => "high",
                            analytics::lookalike::Tier::Medium => "medium",
                        }
                    )?;
                }
            }
            None if args.all => {
                if args.json {
                    writeln!(
                        out,
                        "{}",
                        serde_json::json!({ "domain": name, "protected": null })
                    )?;
                } else {
                    writeln!(out, "{name}\t-\t-\t-")?;
                }
            }
            None => {}
        }
        Ok(())
    };
    if args.names.is_empty() {
        let stdin = io::stdin();
        if stdin.is_terminal() {
            eprintln!("probed lookalike: reading names from stdin (one per line; ^D ends)");
        }
        for line in stdin.lock().lines() {
            let line = line.context("reading stdin")?;
            check(&line, &mut out)?;
        }
    } else {
        for n in &args.names {
            check(n, &mut out)?;
        }
    }
    out.flush()?;
    Ok(if found > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `probed beacon`.
pub(crate) fn beacon(args: BeaconArgs) -> Result<ExitCode> {
    let internal = internal(&args.home_net)?;
    let window = crate::hunting::parse_duration(&args.window)
        .context("--window")?
        .as_secs() as i64;
    let mut a = Analyzer::new(
        internal,
        Limits {
            window_secs: window.max(1),
            ..Limits::default()
        },
    );
    let mut source = String::new();
    if let Some(dir) = &args.zeek_log {
        let logs = analytics::zeek::read_dir(dir)?;
        for e in &logs.errors {
            eprintln!("probed beacon: {e}");
        }
        for c in &logs.conns {
            a.add(c);
        }
        source = format!(
            "{} connections from {} Zeek log file(s)",
            logs.conns.len(),
            logs.files.len()
        );
    }
    if let Some(dir) = &args.data_dir {
        let store =
            store::Store::open(dir).with_context(|| format!("--data-dir {}", dir.display()))?;
        let n = crate::hunting::archived_flows(&store, window, &mut |c| a.add(c))?;
        source = format!("{n} archived flows");
    }
    let beacons = a.score();
    let shown: Vec<_> = beacons
        .iter()
        .filter(|b| b.score >= args.min_score && (args.all || b.excluded.is_none()))
        .collect();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    if args.json {
        serde_json::to_writer(&mut out, &shown)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "{:<6} {:<16} {:<40} {:>7} {:>11} {:>6} {:>6} {:>6} {:>6}  note",
            "score", "source", "destination", "conns", "bytes", "ts", "ds", "hist", "dur"
        )?;
        for b in &shown {
            let dst = b.fqdn.clone().unwrap_or_else(|| b.dst.to_string());
            writeln!(
                out,
                "{:<6.3} {:<16} {:<40} {:>7} {:>11} {:>6.3} {:>6.3} {:>6.3} {:>6.3}  {}",
                b.score,
                b.src.to_string(),
                dst,
                b.conns,
                b.bytes,
                b.ts_score,
                b.ds_score,
                b.hist_score,
                b.dur_score,
                b.excluded
                    .unwrap_or(if b.proxy_count > 0 { "via proxy" } else { "" })
            )?;
        }
        writeln!(
            out,
            "{} pair(s) scored from {source}; {} shown (score >= {}{})",
            beacons.len(),
            shown.len(),
            args.min_score,
            if args.all {
                ""
            } else {
                ", infrastructure excluded"
            }
        )?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `probed intel`.
pub(crate) fn intel(cmd: IntelCommand) -> Result<ExitCode> {
    match cmd {
        IntelCommand::Add {
            data_dir,
            name,
            file,
            json,
        } => {
            let store = store::Store::open(&data_dir)?;
            let data = read_file(&file)?;
            let name = name.unwrap_or_else(|| analytics::intel::feed_name(&file));
            let feed = Feed::parse(&name, &data);
            if feed.indicators.is_empty() {
                for e in &feed.errors {
                    eprintln!(
                        "probed intel add: {}:{}: {}",
                        file.display(),
                        e.line,
                        e.reason
                    );
                }
                bail!("{}: no usable indicator; nothing stored", file.display());
            }
            store.put(store::Tree::Intel, name.as_bytes(), &data)?;
            store.flush()?;
            let report = serde_json::json!({
                "name": name,
                "indicators": feed.indicators.len(),
                "refused": feed.refused,
                "errors": feed.errors,
            });
            if json {
                println!("{report}");
            } else {
                for e in &feed.errors {
                    eprintln!(
                        "probed intel add: {}:{}: {}",
                        file.display(),
                        e.line,
                        e.reason
                    );
                }
                println!(
                    "feed {name}: {} indicators stored ({} refused)",
                    feed.indicators.len(),
                    feed.refused
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        IntelCommand::Rm { data_dir, name } => {
            let store = store::Store::open(&data_dir)?;
            if store.remove(store::Tree::Intel, name.as_bytes())?.is_none() {
                bail!("no feed named {name:?} (see `probed intel ls`)");
            }
            store.flush()?;
            println!("feed {name} removed");
            Ok(ExitCode::SUCCESS)
        }
        IntelCommand::Ls { data_dir, json } => {
            let store = store::Store::open(&data_dir)?;
            let feeds = stored_feeds(&store)?;
            let set = IntelSet::build(&feeds);
            if json {
                let v = serde_json::json!({
                    "feeds": feeds.iter().map(|f| serde_json::json!({
                        "name": f.name, "indicators": f.indicators.len(), "refused": f.refused,
                    })).collect::<Vec<_>>(),
                    "counts": set.counts(),
                });
                println!("{v}");
            } else {
                for f in &feeds {
                    println!(
                        "{:<32} {:>10} indicators {:>8} refused",
                        f.name,
                        f.indicators.len(),
                        f.refused
                    );
                }
                let c = set.counts();
                let kinds: Vec<String> =
                    c.by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
                println!("{} indicators in all ({})", c.indicators, kinds.join(", "));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
