//! The daemon's configuration file: Suricata's YAML layout (the pipeline reads its settings)
//! plus the `probe:` section and Suricata's rule list, read here. Flags override the file;
//! the file overrides the defaults (`virtual` profile, `./probed-data`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::cli::RunArgs;

/// Keys of the configuration file that the daemon reads itself (the pipeline ignores them).
pub(crate) const DAEMON_KEYS: &[&str] = &["probe.", "probe", "default-rule-path", "rule-files"];

/// Where the daemon keeps its state with no `-d` and no `probe.data-dir`.
pub(crate) const DEFAULT_DATA_DIR: &str = "probed-data";
/// The profile used with no `-p` and no `probe.hw-profile`.
pub(crate) const DEFAULT_PROFILE: &str = "virtual";

/// The `probe:` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct ProbeSection {
    data_dir: Option<PathBuf>,
    hw_profile: Option<String>,
    capture: Option<String>,
    pcap_dir: Option<PathBuf>,
    output: Option<PathBuf>,
    stats_interval: Option<String>,
    until_idle: Option<String>,
    bpf_file: Option<PathBuf>,
    workers: Option<usize>,
    #[serde(default)]
    mgmt: MgmtSection,
    #[serde(default)]
    analytics: AnalyticsSection,
}

/// `probe.analytics` (each key as the `run` flag of the same name).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct AnalyticsSection {
    #[serde(default)]
    intel: Vec<PathBuf>,
    protect: Option<PathBuf>,
    #[serde(default)]
    home_net: Vec<String>,
    beacon_min_score: Option<f64>,
    sightings_learning: Option<String>,
    enabled: Option<bool>,
    sightings: Option<bool>,
    hosts: Option<bool>,
}

/// `probe.mgmt`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct MgmtSection {
    listen: Option<SocketAddr>,
    pki: Option<PathBuf>,
    max_frame: Option<String>,
    skew: Option<String>,
}

/// The parts of the file the daemon reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct DaemonFile {
    #[serde(default)]
    probe: Option<ProbeSection>,
    default_rule_path: Option<PathBuf>,
    #[serde(default)]
    rule_files: Vec<PathBuf>,
}

/// Fills what the flags left open from the configuration file, then the defaults. Relative
/// paths in the file are relative to the file's directory.
pub(crate) fn resolve(args: &mut RunArgs) -> Result<()> {
    if let Some(path) = args.engine.config.clone() {
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("-c {}", path.display()))?;
        let body: String = text
            .lines()
            .filter(|l| !l.starts_with('%'))
            .collect::<Vec<_>>()
            .join("\n");
        let file: DaemonFile = serde_yaml::from_str(&body)
            .with_context(|| format!("{}: the probe section", path.display()))?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        let rel = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        let p = file.probe.unwrap_or_default();
        let m = p.mgmt;
        fill(&mut args.data_dir, p.data_dir.map(rel));
        // A shipped profile's name, or a file relative to the configuration.
        fill(
            &mut args.profile,
            p.hw_profile.map(|h| {
                if hw_profiles::builtin_names().contains(&h.as_str()) {
                    h
                } else {
                    rel(PathBuf::from(h)).display().to_string()
                }
            }),
        );
        fill(&mut args.output, p.output.map(rel));
        fill(&mut args.bpf_file, p.bpf_file.map(rel));
        fill(&mut args.until_idle, p.until_idle);
        fill(&mut args.engine.workers, p.workers);
        if args.capture.is_none() && args.pcap_dir.is_none() && !args.no_capture {
            args.capture = p.capture;
            args.pcap_dir = p.pcap_dir.map(rel);
            if args.capture.is_some() && args.pcap_dir.is_some() {
                bail!(
                    "{}: probe.capture and probe.pcap-dir exclude each other",
                    path.display()
                );
            }
        }
        if let Some(s) = p.stats_interval {
            if args.stats_interval == crate::cli::DEFAULT_STATS_INTERVAL {
                args.stats_interval = s;
            }
        }
        if args.mgmt.is_none() {
            args.mgmt = m.listen;
            args.mgmt_pki = m.pki.map(rel);
            if args.mgmt.is_some() != args.mgmt_pki.is_some() {
                bail!("{}: probe.mgmt needs both listen and pki", path.display());
            }
        }
        if let Some(v) = m.max_frame {
            args.mgmt_max_frame = v;
        }
        if let Some(v) = m.skew {
            args.mgmt_skew = v;
        }
        let an = p.analytics;
        let a = &mut args.engine.analytics;
        if a.intel.is_empty() {
            a.intel = an.intel.into_iter().map(rel).collect();
        }
        fill(&mut a.protect, an.protect.map(rel));
        if a.home_net.is_empty() {
            a.home_net = an.home_net;
        }
        if let Some(v) = an.beacon_min_score {
            if a.beacon_min_score == crate::cli::DEFAULT_BEACON_MIN_SCORE {
                a.beacon_min_score = v;
            }
        }
        if let Some(v) = an.sightings_learning {
            if a.sightings_learning == crate::cli::DEFAULT_SIGHTINGS_LEARNING {
                a.sightings_learning = v;
            }
        }
        a.no_analytics |= an.enabled == Some(false);
        a.no_sightings |= an.sightings == Some(false);
        a.no_hosts |= an.hosts == Some(false);
        // Suricata's rule list, when no -S was given.
        if args.engine.rules.is_empty() && !file.rule_files.is_empty() {
            let dir = file
                .default_rule_path
                .map(rel)
                .unwrap_or_else(|| base.to_owned());
            for f in file.rule_files {
                args.engine
                    .rules
                    .push(if f.is_absolute() { f } else { dir.join(f) });
            }
        }
    }
    fill(&mut args.data_dir, Some(PathBuf::from(DEFAULT_DATA_DIR)));
    fill(&mut args.profile, Some(DEFAULT_PROFILE.to_owned()));
    Ok(())
}

fn fill<T>(slot: &mut Option<T>, v: Option<T>) {
    if slot.is_none() {
        *slot = v;
    }
}
