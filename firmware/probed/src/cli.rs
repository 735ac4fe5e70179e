//! Command-line interface (clap derive). The help text is the manual: keep it complete.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Network detection and response probe.
///
/// `probed` turns packets into Suricata-compatible EVE JSON events: flows, HTTP, TLS, DNS,
/// files and anomalies. `probed replay` analyses capture files offline; the live daemon,
/// signatures, hunting and fleet management come as further subcommands.
#[derive(Debug, Parser)]
#[command(name = "probed", version, propagate_version = true)]
pub(crate) struct Cli {
    /// More log output on stderr (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub(crate) verbose: u8,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Analyse pcap/pcapng files offline, like `suricata -r`, and write EVE JSON.
    ///
    /// Several files are read in the order given as one continuous time line. A summary
    /// (packets, bytes, events by type, elapsed time, packets per second) goes to stderr.
    /// Exit status: 0 on success, 1 when an input file could not be read completely (the
    /// others are still processed and the summary printed), 2 for bad arguments or settings.
    ///
    /// Examples:
    ///
    ///   probed replay -o eve.json capture.pcap
    ///
    ///   probed replay --set stream.midstream=true -o - a.pcap b.pcapng | jq .event_type
    Replay(ReplayArgs),
    /// Parse and check signature files: how many rules load, and why each failure failed.
    ///
    /// Every rule is parsed and validated as Suricata 7 would (keywords, values, buffers,
    /// PCRE2 compilation, variables); a rule that fails never stops the others. Rule
    /// variables come from `--set vars.address-groups.NAME=...` / `vars.port-groups.NAME=...`
    /// (Suricata's defaults otherwise) or from `-c`. The classification file defaults to
    /// `classification.config` beside the first rule file, when there is one.
    /// Exit status: 0 when every rule loaded, 1 when some failed, 2 for bad arguments.
    ///
    /// Example: probed check-rules -S emerging-all.rules --json | jq .failed
    CheckRules(CheckRulesArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    ///
    /// Example: probed completions bash > /etc/bash_completion.d/probed
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to stdout.
    ///
    /// Example: probed man | man -l -
    Man,
}

#[derive(Debug, Args)]
pub(crate) struct CheckRulesArgs {
    /// Rule files: `-S a.rules b.rules` or `-S a.rules -S b.rules`.
    #[arg(short = 'S', long = "rules", value_name = "RULES", required = true, num_args = 1..)]
    pub(crate) rules: Vec<PathBuf>,
    /// A setting in Suricata's key form (repeatable), e.g.
    /// `--set vars.address-groups.HOME_NET=[10.0.0.0/8]`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub(crate) set: Vec<String>,
    /// A YAML configuration in Suricata's layout (for its `vars:`).
    #[arg(short = 'c', long = "config", value_name = "CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// The classification.config to resolve `classtype` against.
    #[arg(long, value_name = "FILE")]
    pub(crate) classification: Option<PathBuf>,
    /// Print `{"loaded": N, "failed": N, "skipped": N, "failures": [...]}` on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// Capture files (pcap or pcapng, optionally gzip-compressed).
    #[arg(required = true, value_name = "PCAP")]
    pub(crate) pcaps: Vec<PathBuf>,
    /// Where to write EVE JSON lines; `-` for stdout.
    #[arg(short, long, value_name = "EVE.json", default_value = "eve.json")]
    pub(crate) output: PathBuf,
    /// Change a setting, using Suricata's key names where they mean the same
    /// (repeatable), e.g. `--set stream.midstream=true`,
    /// `--set vars.address-groups.HOME_NET=[10.0.0.0/8]`,
    /// `--set outputs.eve-log.community-id=yes`. Unknown keys are an error.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub(crate) set: Vec<String>,
    /// A YAML configuration file in Suricata's layout; keys this probe does not use are
    /// listed as warnings. `--set` is applied after it.
    #[arg(short = 'c', long = "config", value_name = "CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// Signature files in Suricata's language (repeatable: `-S a.rules -S b.rules`). Rules
    /// that fail to parse are listed on stderr and left out; the rest run. Variables come
    /// from `vars.address-groups.*` / `vars.port-groups.*` (Suricata's defaults otherwise).
    /// Alerts go to EVE with the other events; `--set
    /// outputs.eve-log.types.alert.payload-printable=yes` (or `payload`, `packet`) adds the
    /// matched data, as in Suricata.
    #[arg(short = 'S', long = "rules", value_name = "RULES")]
    pub(crate) rules: Vec<PathBuf>,
    /// The classification.config that `classtype` resolves against (default:
    /// `classification-file`, else `classification.config` beside the first rule file).
    #[arg(long, value_name = "FILE")]
    pub(crate) classification: Option<PathBuf>,
    /// Worker threads. Flows are spread over workers by address; 1 processes everything on
    /// the reading thread. Default: the number of CPUs minus one (the reader's), at least 1.
    #[arg(long, value_name = "N")]
    pub(crate) workers: Option<usize>,
    /// Archive events and apply stored policy actions in this data directory (hunting
    /// support is not built yet: giving one is an error).
    #[arg(long = "data-dir", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Print the summary as one JSON object (on stderr) instead of text.
    #[arg(long)]
    pub(crate) json: bool,
    /// Never show a progress bar.
    #[arg(long)]
    pub(crate) no_progress: bool,
}
