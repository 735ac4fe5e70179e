//! `probed check-rules`: load signature files and report what loads and what fails.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use pipeline::Settings;

use crate::cli::CheckRulesArgs;

pub(crate) fn run(args: CheckRulesArgs) -> ExitCode {
    match check(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("probed check-rules: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn check(args: CheckRulesArgs) -> Result<ExitCode> {
    let mut settings = Settings::default();
    if let Some(c) = &args.config {
        settings.load_yaml(c)?;
    }
    for kv in &args.set {
        settings.set_kv(kv).with_context(|| format!("--set {kv}"))?;
    }
    let loaded = crate::rules::load(&args.rules, &settings, args.classification.as_deref());
    let (report, elapsed) = (&loaded.report, loaded.elapsed);
    let mut out = std::io::stdout().lock();
    if args.json {
        let mut v = report.to_json();
        if let Some(o) = v.as_object_mut() {
            o.insert("elapsed_s".into(), elapsed.as_secs_f64().into());
        }
        let _ = writeln!(out, "{v}");
    } else {
        for f in &report.failures {
            let sid = f.sid.map(|s| format!(" sid {s}:")).unwrap_or_default();
            let _ = writeln!(
                out,
                "{}:{}:{} {}: {}",
                f.file.display(),
                f.line,
                sid,
                f.keyword,
                f.reason
            );
        }
        for e in &loaded.threshold_errors {
            let _ = writeln!(out, "{e}");
        }
        for w in &report.warnings {
            let _ = writeln!(out, "warning: {w}");
        }
        let _ = writeln!(
            out,
            "{} rules loaded, {} failed, {} skipped (requires) in {:.3} s",
            report.rules.len(),
            report.failures.len(),
            report.skipped.len(),
            elapsed.as_secs_f64()
        );
    }
    Ok(
        if report.failures.is_empty() && loaded.threshold_errors.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        },
    )
}
