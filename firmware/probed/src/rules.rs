//! Loading a rule set the way `replay` and `check-rules` both need it: rule files,
//! `classification.config`, `threshold.config` and engine settings taken from [`Settings`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use detect::config::{ConfigError, ThresholdEntry};
use detect::engine::{Engine, EngineConfig};
use detect::LoadReport;
use pipeline::Settings;

/// A loaded rule set.
pub(crate) struct Loaded {
    /// What loaded and what failed.
    pub(crate) report: LoadReport,
    /// `threshold.config` entries that parsed.
    pub(crate) thresholds: Vec<ThresholdEntry>,
    /// Problems in `threshold.config` (the good lines still apply).
    pub(crate) threshold_errors: Vec<ConfigError>,
    /// Time spent reading and parsing.
    pub(crate) elapsed: Duration,
    /// Rules that parsed (`report.rules` is emptied once they are compiled).
    pub(crate) loaded: usize,
}

/// The classification file: the one named on the command line, else `classification-file`
/// from the settings, else `classification.config` beside the first rule file.
pub(crate) fn classification_path(
    explicit: Option<&Path>,
    settings: &Settings,
    rules: &[PathBuf],
) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Some(p) = settings.detect.get("classification-file") {
        return Some(PathBuf::from(p));
    }
    let p = rules.first()?.parent()?.join("classification.config");
    p.exists().then_some(p)
}

/// Parses the rule files, the classification file and the threshold file (`threshold-file`).
pub(crate) fn load(
    rules: &[PathBuf],
    settings: &Settings,
    classification: Option<&Path>,
) -> Loaded {
    let start = Instant::now();
    let classification = classification_path(classification, settings, rules);
    let report = detect::load_rule_files(rules, &settings.detect, classification.as_deref());
    let (thresholds, threshold_errors) = match settings.detect.get("threshold-file") {
        Some(t) => {
            let vars = detect::Vars::from_settings(&settings.detect);
            detect::config::load_threshold_file(Path::new(t), &vars)
        }
        None => (Vec::new(), Vec::new()),
    };
    Loaded {
        loaded: report.rules.len(),
        report,
        thresholds,
        threshold_errors,
        elapsed: start.elapsed(),
    }
}

/// Engine settings from `packet-alert-max`, `detect.inspection-recursion-limit` and the
/// classification file.
pub(crate) fn engine_config(
    settings: &Settings,
    classification: Option<&Path>,
    rules: &[PathBuf],
) -> Result<EngineConfig> {
    let mut cfg = EngineConfig::default();
    if let Some(v) = settings.detect.get("packet-alert-max") {
        match v.parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => cfg.packet_alert_max = n,
            _ => bail!("packet-alert-max={v}: expected 1..=1000"),
        }
    }
    if let Some(v) = settings.detect.get("detect.inspection-recursion-limit") {
        match v.parse::<u32>() {
            Ok(n) if n > 0 => cfg.inspection_recursion_limit = n,
            _ => bail!("detect.inspection-recursion-limit={v}: expected a positive number"),
        }
    }
    if let Some(p) = classification_path(classification, settings, rules) {
        let (map, _) = detect::config::load_classification(&p);
        cfg.classifications = Some(Arc::new(map));
    }
    Ok(cfg)
}

/// Loads the rule set and compiles it into an engine. Rules that fail are reported (and
/// left out); the engine runs with the rest.
pub(crate) fn build_engine(
    rules: &[PathBuf],
    settings: &Settings,
    classification: Option<&Path>,
) -> Result<(Loaded, Arc<Engine>)> {
    let mut cfg = engine_config(settings, classification, rules)?;
    let mut loaded = load(rules, settings, classification);
    cfg.thresholds = loaded.thresholds.clone();
    // The parsed rules are given up to the build, which drops each once compiled: the
    // parsed set and the engine are never both whole in memory.
    let parsed = std::mem::take(&mut loaded.report.rules);
    let engine = Engine::build_owned(parsed, &cfg);
    Ok((loaded, Arc::new(engine)))
}
