//! `probed update` (verify, install, status of signed A/B updates; the protocol is in the
//! `update` crate and docs/update.md) and `probed health` (the check that gates marking a slot
//! good after an update).

use std::io::{self, IsTerminal};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use serde_json::{json, Value};
use update::bundle::{self, Trust};
use update::install::{self, Config};

use crate::cli::{HealthArgs, UpdateArgs};
use crate::daemon::{STATUS_FILE, STATUS_PERIOD};

/// `probed update`.
pub(crate) fn update(args: UpdateArgs) -> ExitCode {
    match run_update(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("probed update: {e:#}");
            // Refusals of the bundle are 1; configuration and argument errors 2.
            if e.downcast_ref::<update::UpdateError>().is_some_and(refusal) {
                ExitCode::from(1)
            } else {
                ExitCode::from(2)
            }
        }
    }
}

fn refusal(e: &update::UpdateError) -> bool {
    !matches!(
        e,
        update::UpdateError::Config { .. } | update::UpdateError::Trust { .. }
    )
}

fn bar(enabled: bool, total: u64, what: &str) -> Option<ProgressBar> {
    if !enabled || !io::stderr().is_terminal() {
        return None;
    }
    let b = ProgressBar::new(total);
    b.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {what} [{{elapsed_precise}}] {{wide_bar}} {{bytes}}/{{total_bytes}} ({{bytes_per_sec}})"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    Some(b)
}

fn run_update(args: &UpdateArgs) -> Result<ExitCode> {
    let config = || -> Result<Config> {
        Config::load(&args.config).with_context(|| {
            format!(
                "the updater configuration (--config {})",
                args.config.display()
            )
        })
    };
    if args.status {
        let st = install::status(&config()?)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&st)?);
        } else {
            print_status(&st);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(path) = &args.bundle else {
        anyhow::bail!("no bundle given");
    };
    let trust = match &args.trust {
        Some(t) => Trust::load(t)?,
        None if args.verify_only && !args.config.exists() => {
            anyhow::bail!(
                "--verify-only needs --trust FILE (no {} here)",
                args.config.display()
            )
        }
        None => config()?.trust()?,
    };
    let v = bundle::open(path, &trust).with_context(|| path.display().to_string())?;
    let total = v.parts_len();
    if args.verify_only {
        let b = bar(!args.no_progress, total, "verifying");
        v.check_parts(&mut |n| b.iter().for_each(|b| b.inc(n)))
            .with_context(|| path.display().to_string())?;
        if let Some(b) = b {
            b.finish_and_clear();
        }
        if args.json {
            let out = json!({"bundle": path, "verified": true, "signer": v.signer, "manifest": v.manifest});
            println!("{}", serde_json::to_string_pretty(&out)?);
        } else {
            let m = &v.manifest;
            println!(
                "{}: verified: {} {} generation {}, for {}, signed by key {}",
                path.display(),
                m.product,
                m.version,
                m.generation,
                m.compatible.join(", "),
                v.signer
            );
            for p in &m.parts {
                println!("  {:<7} {:>12} bytes  sha256 {}", p.name, p.size, p.sha256);
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let cfg = config()?;
    // Two passes: the hash check, then the writes.
    let b = bar(!args.no_progress, total * 2, "installing");
    let plan = install::install(&cfg, &v, &mut |_| Ok(()), &mut |n| {
        b.iter().for_each(|b| b.inc(n))
    })
    .with_context(|| path.display().to_string())?;
    if let Some(b) = b {
        b.finish_and_clear();
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"installed": plan}))?
        );
    } else {
        println!(
            "installed {} generation {} into slot {} (running: slot {}, generation {}); \
             it boots next, on probation for {} attempt(s), until `probed health --mark-good` passes",
            plan.version,
            plan.generation,
            plan.target,
            plan.running,
            plan.release.generation,
            cfg.boot_tries
        );
    }
    if args.reboot {
        let st = std::process::Command::new("systemctl")
            .arg("reboot")
            .status()
            .context("running systemctl reboot")?;
        anyhow::ensure!(st.success(), "systemctl reboot: {st}");
    }
    Ok(ExitCode::SUCCESS)
}

fn print_status(st: &install::Status) {
    println!(
        "running: slot {} ({} {} generation {}){}",
        st.running,
        st.release.product,
        st.release.version,
        st.release.generation,
        match st.running_assessment {
            Some(update::boot::Assessment::Trying { left, .. }) =>
                format!(", on probation ({left} boot attempt(s) left)"),
            Some(update::boot::Assessment::Bad { .. }) =>
                ", on its last boot attempt (not marked good)".into(),
            Some(update::boot::Assessment::Good) => ", good".into(),
            None => ", no boot entry".into(),
        }
    );
    for e in &st.entries {
        println!(
            "  entry {}: generation {}, {:?}",
            e.file
                .file_name()
                .map(|f| f.to_string_lossy())
                .unwrap_or_default(),
            e.generation,
            e.assessment
        );
    }
    if let Some(n) = &st.next_boot {
        println!("next boot: slot {} (generation {})", n.slot, n.generation);
    }
    if let Some(p) = &st.state.pending {
        println!(
            "pending: {} generation {} in slot {}",
            p.version, p.generation, p.slot
        );
    }
    if let Some(r) = &st.rolled_back {
        println!(
            "ROLLED BACK: {} generation {} in slot {}: {}",
            r.version, r.generation, r.slot, r.detail
        );
    }
    println!("last good generation: {}", st.state.last_good_generation);
    for r in st.state.history.iter().rev().take(5) {
        println!(
            "  {} {:?} slot {} generation {} {}",
            r.at, r.outcome, r.slot, r.generation, r.detail
        );
    }
}

/// One health check's result.
#[derive(Debug, Serialize)]
struct Check {
    check: &'static str,
    ok: bool,
    detail: String,
}

fn check(check: &'static str, ok: bool, detail: impl Into<String>) -> Check {
    Check {
        check,
        ok,
        detail: detail.into(),
    }
}

/// Oldest status file accepted: a few write periods (a daemon whose writer stalls this long
/// is hung).
const MAX_STATUS_AGE: Duration = Duration::from_secs(5 * STATUS_PERIOD.as_secs());
/// How long the management port may take to accept a connection.
const MGMT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

fn run_checks(args: &HealthArgs) -> Vec<Check> {
    let path = args.data_dir.join(STATUS_FILE);
    let status: Value = match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b).unwrap_or(Value::Null),
        Err(e) => {
            return vec![check(
                "daemon",
                false,
                format!("{}: {e} (is `probed run` running?)", path.display()),
            )]
        }
    };
    let mut out = Vec::new();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let pid = status["pid"].as_u64().unwrap_or(0);
    let age = now.saturating_sub(status["updated_at"].as_u64().unwrap_or(0));
    let alive = pid > 0 && Path::new(&format!("/proc/{pid}")).exists();
    out.push(check(
        "daemon",
        alive && age <= MAX_STATUS_AGE.as_secs(),
        format!(
            "pid {pid}{}, status written {age}s ago",
            if alive { "" } else { " (gone)" }
        ),
    ));
    let capture = status["capture"].as_str().unwrap_or("");
    let capturing = status["capturing"].as_bool().unwrap_or(false);
    let last_error = status["last_error"].as_str().unwrap_or("");
    out.push(check(
        "capture",
        capturing,
        format!(
            "{capture}{}{}",
            if capturing { "" } else { " (not started)" },
            if last_error.is_empty() {
                String::new()
            } else {
                format!("; last error: {last_error}")
            }
        ),
    ));
    let rules = status["rules_loaded"].as_u64().unwrap_or(0);
    out.push(check(
        "rules",
        rules > 0 || !args.require_rules,
        format!("{rules} rules loaded"),
    ));
    if args.require_mgmt {
        out.push(match status["mgmt"].as_str() {
            None => check("mgmt", false, "the management server is not running"),
            Some(a) => match a.parse::<SocketAddr>() {
                Err(e) => check("mgmt", false, format!("{a}: {e}")),
                Ok(mut addr) => {
                    if addr.ip().is_unspecified() {
                        addr.set_ip(if addr.is_ipv4() {
                            std::net::Ipv4Addr::LOCALHOST.into()
                        } else {
                            std::net::Ipv6Addr::LOCALHOST.into()
                        });
                    }
                    match TcpStream::connect_timeout(&addr, MGMT_CONNECT_TIMEOUT) {
                        Ok(_) => check("mgmt", true, format!("{addr} accepts connections")),
                        Err(e) => check("mgmt", false, format!("{addr}: {e}")),
                    }
                }
            },
        });
    }
    out
}

/// `probed health`.
pub(crate) fn health(args: HealthArgs) -> ExitCode {
    match run_health(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("probed health: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run_health(args: &HealthArgs) -> Result<ExitCode> {
    let wait = match &args.wait {
        Some(w) => crate::hunting::parse_duration(w).context("--wait")?,
        None => Duration::ZERO,
    };
    // Load the configuration first: a probe that cannot be marked good should say so now,
    // not after waiting.
    let config = if args.mark_good {
        Some(
            Config::load(&args.config)
                .with_context(|| format!("--config {}", args.config.display()))?,
        )
    } else {
        None
    };
    let start = Instant::now();
    let checks = loop {
        let checks = run_checks(args);
        if checks.iter().all(|c| c.ok) || start.elapsed() >= wait {
            break checks;
        }
        std::thread::sleep(STATUS_PERIOD);
    };
    let healthy = checks.iter().all(|c| c.ok);
    let mut report = json!({"healthy": healthy, "checks": checks});
    if let (true, Some(cfg)) = (healthy, &config) {
        // Record a rollback first (the previous install's slot ran out of attempts), then
        // bless the running slot.
        let st = install::status(cfg)?;
        if let Some(r) = &st.rolled_back {
            eprintln!(
                "probed health: update to {} generation {} in slot {} was rolled back: {}",
                r.version, r.generation, r.slot, r.detail
            );
        }
        let blessed = install::mark_good(cfg)?;
        report["rolled_back"] = serde_json::to_value(&st.rolled_back)?;
        report["marked_good"] = json!({"slot": st.running, "generation": st.release.generation, "was_on_probation": blessed});
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for c in &checks {
            println!(
                "{:<8} {}  {}",
                c.check,
                if c.ok { "ok  " } else { "FAIL" },
                c.detail
            );
        }
        if let Some(m) = report.get("marked_good") {
            println!(
                "slot {} generation {} marked good{}",
                m["slot"].as_str().unwrap_or("?"),
                m["generation"],
                if m["was_on_probation"].as_bool() == Some(true) {
                    " (its boot counter is removed)"
                } else {
                    ""
                }
            );
        }
    }
    if healthy {
        return Ok(ExitCode::SUCCESS);
    }
    if let (true, Some(cfg)) = (args.reboot_on_probation_failure, &config) {
        let st = install::status(cfg)?;
        if let Some(left) = st.running_assessment.and_then(|a| a.left()) {
            eprintln!(
                "probed health: slot {} (generation {}) is on probation and not healthy after {}; \
                 rebooting ({})",
                st.running,
                st.release.generation,
                args.wait.as_deref().unwrap_or("one check"),
                if left == 0 {
                    "its last boot attempt: the boot loader returns to the other slot".to_string()
                } else {
                    format!("{left} boot attempt(s) left for it")
                }
            );
            // --no-block: this command runs inside probe-health.service, which the reboot
            // stops; waiting for the reboot job would hold the shutdown until a timeout.
            let st = std::process::Command::new("systemctl")
                .args(["reboot", "--no-block"])
                .status()
                .context("running systemctl reboot")?;
            anyhow::ensure!(st.success(), "systemctl reboot: {st}");
        }
    }
    Ok(ExitCode::from(1))
}
