//! Command-line interface (clap derive). The help text is the manual: keep it complete.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// `--stats-interval` unless set.
pub(crate) const DEFAULT_STATS_INTERVAL: &str = "8s";
/// `--beacon-min-score` unless set.
pub(crate) const DEFAULT_BEACON_MIN_SCORE: f64 = 0.8;
/// `--sightings-learning` unless set.
pub(crate) const DEFAULT_SIGHTINGS_LEARNING: &str = "0s";

/// Network detection and response probe.
///
/// `probed` turns packets into Suricata-compatible EVE JSON events: flows, HTTP, TLS, DNS,
/// files, anomalies and alerts from Suricata rules. `probed replay` analyses capture files
/// offline (with `-d DIR`, archiving events and applying hunt policies); `probed hunt`,
/// `filter`, `doc` and `webhook` hunt in the archive and turn filters into Declarations of
/// Compromise. `probed run` is the live daemon (capture on the hardware profile's NICs and
/// cores, detection, archive, management server); `probed hw-check` says whether a hardware
/// profile fits this machine.
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
    Replay(Box<ReplayArgs>),
    /// The probe daemon: capture, detection, archive, hunting policy and the management
    /// server, until SIGTERM or SIGINT.
    ///
    /// Configuration: `-c CONFIG` is a YAML file in Suricata's layout (its settings as in
    /// `replay`; `default-rule-path` and `rule-files` load rules) with the daemon's own
    /// section `probe:` (data-dir, hw-profile, capture, output, stats-interval, mgmt.listen,
    /// mgmt.pki, analytics.intel/protect/home-net/beacon-min-score/sightings-learning);
    /// `firmware/probed/dist/probed.yaml` is a commented example. Flags override the
    /// file. With no configuration at all, `probed run` starts on the `virtual` hardware
    /// profile, reads the example capture built into it, writes `probed-data/eve.json` and
    /// exits.
    ///
    /// Hardware: the profile (`-p NAME|FILE`, `probe.hw-profile`; `probed hw-check` lists the
    /// shipped ones) says which NICs are read, on which cores the workers run (each pinned to
    /// its core) and how large the flow table and reassembly memcaps are. A profile that does
    /// not fit this machine is refused before capture starts, naming the field.
    ///
    /// Capture (`--capture`, else the profile's): `afpacket:IFACE[,IFACE]` reads interfaces
    /// live (AF_PACKET TPACKET_V3 rings, fanout over the workers; kernel drops are reported in
    /// `stats` events); `dpdk:"EAL ARGS"` reads DPDK ports (PCI devices or vdevs such as
    /// `--vdev net_pcap0,rx_pcap=FILE`; needs a build with `--features dpdk`);
    /// `pcap:FILE[,FILE]` reads capture files once; `--pcap-dir DIR` reads every capture file
    /// that appears in DIR (write it under a name starting with `.` and rename it into place;
    /// files are read in name order and moved to DIR/done/), like Suricata's
    /// `--pcap-file-continuous`; `--no-capture` runs management, hunting and the archive alone.
    ///
    /// Events are appended to `-o` (default DIR/eve.json) after the data directory's hunt
    /// policy; webhooks are delivered as declarations are made. With `--mgmt ADDR
    /// --mgmt-pki CREDS`, the management server listens for signed commands from `probectl`
    /// (CREDS is the directory `probectl probe enroll` wrote for this probe).
    ///
    /// Signals: SIGHUP reloads the rules without stopping capture; SIGTERM and SIGINT flush and
    /// stop. Under systemd (`Type=notify`) the daemon reports READY=1 once capture runs,
    /// RELOADING=1 during reloads, STOPPING=1, and pings the watchdog when WatchdogSec is set;
    /// `firmware/probed/dist/probed.service` is the unit.
    ///
    /// Examples:
    ///
    ///   probed run
    ///
    ///   probed run -c /etc/probed/probed.yaml
    ///
    ///   probed run -d /var/lib/probed -p generic-afpacket --capture afpacket:eth1 --workers 4
    ///   -S local.rules --mgmt 0.0.0.0:7443 --mgmt-pki /etc/probed/mgmt
    Run(Box<RunArgs>),
    /// Check a hardware profile against this machine, field by field.
    ///
    /// Each field the machine can contradict gets a line: ok, warn (runs, but not as
    /// intended: a NIC on another NUMA node, DPDK without hugepages) or FAIL with the reason
    /// and the fix (a missing NIC, cores that do not exist or are not ours, too few free
    /// hugepages, memcaps over RAM, a capture method this build or these privileges cannot
    /// run). `probed run` refuses a profile with any failure before capture starts. Without
    /// `-p`, lists the shipped profiles. Exit status: 0 fits, 1 does not fit, 2 bad profile.
    ///
    /// Examples:
    ///
    ///   probed hw-check -p e810-25g
    ///
    ///   probed hw-check -p /etc/probed/site.toml --json | jq '.findings[] | select(.level=="fail")'
    HwCheck(HwCheckArgs),
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
    /// Hunt in the event archive of a data directory: count, top values, sample events.
    ///
    /// FILTER is a query in the Kibana/Scirius query-string syntax over EVE fields (see
    /// docs/hunting.md): `event_type:http AND http.status:200 AND _exists_:base64.functions`,
    /// wildcards (`http.url:*base64_decode*`), ranges (`dest_port:[1 TO 1023]`, `flow.age:>=60`),
    /// CIDR (`src_ip:10.0.0.0/8`), `_exists_:FIELD`, NOT/AND/OR and parentheses. Errors name the
    /// column and suggest the nearest field. Blocks of the archive whose summary rules the query
    /// out are never read.
    ///
    /// With `--retro NAME`, runs the retro-hunt of a stored DoC/DoPV filter again (or resumes
    /// an interrupted one): declarations for matching archived events, dated by the events.
    /// Running it twice creates nothing new.
    ///
    /// Exit status: 0 (also when nothing matches), 2 for a bad filter or data directory.
    ///
    /// Examples:
    ///
    ///   probed hunt -d /var/lib/probe 'event_type:http AND http.status:200 AND _exists_:base64.functions'
    ///
    ///   probed hunt -d DIR --since 7d --json 'tls.version:"TLS 1.0"' | jq .count
    ///
    ///   probed hunt -d DIR --retro raiz0worm --days 60
    Hunt(HuntArgs),
    /// Manage stored hunt filters and their policy actions (add, ls, show, rm, sets).
    ///
    /// A filter's action runs on every event of later `replay`/`run` sessions, in filter order:
    /// suppress, threshold, tag, tagkeep, doc (Declaration of Compromise), dopv (Declaration of
    /// Policy Violation), notify (webhooks). Adding a doc/dopv filter also applies it to the
    /// archived past (`--retro`, default 60 days).
    #[command(subcommand)]
    Filter(FilterCommand),
    /// List Declarations of Compromise / Policy Violation.
    #[command(subcommand)]
    Doc(DocCommand),
    /// Manage webhook receivers of new declarations and deliver what is queued.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Check domain names against protected domains: homoglyphs, typos, combosquats.
    ///
    /// Names come from the arguments, else from stdin (one per line). Each lookalike is
    /// printed as `NAME<TAB>PROTECTED<TAB>METHOD<TAB>TIER` (or a JSON object per line with
    /// `--json`); methods are homoglyph, hyphenation, typo (high tier) and combosquat,
    /// subdomain, split, tld-swap (medium tier). The protect file lists one registrable domain
    /// per line (`paypal.com`); `!domain` marks a domain the brand owns (never reported).
    /// `replay`/`run --protect FILE` raise the same findings as alerts (gid 9002) on DNS
    /// queries, HTTP hosts and TLS SNIs. Exit status: 0 when a lookalike was found, 1 when
    /// none, 2 for a bad protect file.
    ///
    /// Examples:
    ///
    ///   probed lookalike --protect brands.txt paypa1.com amazon-login.net
    ///
    ///   cut -f2 dns-names.tsv | probed lookalike --protect brands.txt --json | jq .method
    Lookalike(LookalikeArgs),
    /// Score beaconing (RITA v5 scores) from Zeek logs or from the archived flows.
    ///
    /// `--zeek-log DIR` reads the conn, ssl and http logs of a Zeek log directory (TSV or
    /// JSON, plain or gzip); `-d DIR` reads the `flow` events of a data directory's archive,
    /// over `--window` (default 24h; longer windows find slow beacons). Connections are
    /// grouped by source and destination (or server name: TLS SNI, HTTP Host, proxy CONNECT),
    /// and each pair gets the interval (ts), size (ds), histogram and duration sub-scores and
    /// their mean. Pairs to infrastructure ports (DNS, NTP, DHCP, NetBIOS) and destinations
    /// most hosts contact are scored but hidden unless `--all`. See docs/analytics.md.
    ///
    /// Examples:
    ///
    ///   probed beacon --zeek-log /opt/zeek/logs/2024-04-29 --all
    ///
    ///   probed beacon -d /var/lib/probed --window 7d --min-score 0.8 --json
    Beacon(BeaconArgs),
    /// Manage the threat-intel feeds stored in a data directory (add, rm, ls).
    ///
    /// Feeds are CSV (`indicator,type[,source,description,confidence,expires]`), JSON lines
    /// with the same keys, Zeek intel files, or STIX 2.1 bundles; types are ip, cidr, domain
    /// (and its subdomains), url, ja3, ja3s, ja4, sha256, sha1, md5, user_agent,
    /// cert_fingerprint. Stored feeds are matched by every later `replay -d`/`run`; a running
    /// probe picks up feeds pushed with `probectl intel push` without a restart.
    #[command(subcommand)]
    Intel(IntelCommand),
    /// Check, install or report signed A/B updates of the appliance.
    ///
    /// `probed update BUNDLE` verifies the bundle (Ed25519 signature by a trusted key before
    /// anything else is read, product, hardware id, a generation not lower than the running or
    /// last good one, every part's SHA-256, and that each part fits), then writes the root to
    /// the slot not running and its kernel and initrd to the ESP, and creates that slot's boot
    /// entry with a boot counter. Nothing is written unless every check passes. After a
    /// reboot the new slot runs on probation until `probed health --mark-good` passes; a slot
    /// that never does runs out of boot attempts and the boot loader returns to the previous
    /// slot, which `probed update --status` then reports as a rollback. See docs/update.md.
    ///
    /// Exit status: 0 installed (or verified, or status shown), 1 refused, 2 bad arguments or
    /// configuration.
    ///
    /// Examples:
    ///
    ///   probed update --verify-only --trust release.pub ndr-probe-0.2.0.bundle
    ///
    ///   probed update ndr-probe-0.2.0.bundle && systemctl reboot
    ///
    ///   probed update --status --json
    Update(UpdateArgs),
    /// Check that the running probe is healthy; with `--mark-good`, bless the running slot.
    ///
    /// Checks: the daemon runs (its status file in the data directory is fresh and its process
    /// alive), capture is running, rules are loaded, and the management port accepts
    /// connections (when the daemon has one). On an appliance `probe-health.service` runs
    /// `probed health --mark-good --wait 300s` after each boot: the first pass removes the
    /// boot counter of a slot on probation and records its generation as the new floor for
    /// updates; if the checks never pass the unit fails and the probe reboots, spending one of
    /// the slot's boot attempts. Exit status: 0 healthy, 1 not healthy, 2 bad arguments.
    ///
    /// Example: probed health -d /var/lib/probed --json
    Health(HealthArgs),
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
    #[command(flatten)]
    pub(crate) engine: EngineArgs,
    /// Archive the events in this data directory and apply its stored policy actions
    /// (filters added with `probed filter add`): suppressed events are not written, tagged ones
    /// carry `tag`, declarations are made and written as `doc` events, webhooks notified.
    /// HTTP events gain the derived `base64` fields.
    #[arg(short = 'd', long = "data-dir", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) archive: ArchiveArgs,
    /// How long to keep retrying webhook deliveries at the end of the run (e.g. `30s`, `5m`);
    /// what is still undelivered stays queued for the next run or `probed webhook deliver`.
    #[arg(long, value_name = "DUR", default_value = "30s")]
    pub(crate) webhook_wait: String,
    /// Print the summary as one JSON object (on stderr) instead of text.
    #[arg(long)]
    pub(crate) json: bool,
    /// Never show a progress bar.
    #[arg(long)]
    pub(crate) no_progress: bool,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct RunArgs {
    /// The data directory: state, archive and (by default) the EVE output (default:
    /// `probe.data-dir`, else ./probed-data).
    #[arg(short = 'd', long = "data-dir", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// The hardware profile: a shipped one by name (`probed hw-check` lists them) or a TOML
    /// file (default: `probe.hw-profile`, else `virtual`).
    #[arg(short = 'p', long = "profile", value_name = "PROFILE")]
    pub(crate) profile: Option<String>,
    /// Read capture files that appear in this directory.
    #[arg(long, value_name = "DIR")]
    pub(crate) pcap_dir: Option<PathBuf>,
    /// The capture source, overriding the profile's: `afpacket:IFACE[,IFACE...]` (one
    /// AF_PACKET socket per worker and interface, in a fanout group that keeps each flow on
    /// one worker; needs CAP_NET_RAW), `dpdk:"EAL ARGS"` (builds with `--features dpdk`),
    /// or `pcap:FILE[,FILE...]` (read once).
    #[arg(long, value_name = "SPEC", conflicts_with_all = ["pcap_dir", "no_capture"])]
    pub(crate) capture: Option<String>,
    /// No capture: management, hunting and the archive only.
    #[arg(long, conflicts_with = "pcap_dir")]
    pub(crate) no_capture: bool,
    /// Live capture: stop after this long without a packet (tests, one-off captures).
    #[arg(long, value_name = "DUR")]
    pub(crate) until_idle: Option<String>,
    /// Live capture: how often a `stats` event is written (it is always written at exit).
    #[arg(long, value_name = "DUR", default_value = DEFAULT_STATS_INTERVAL)]
    pub(crate) stats_interval: String,
    /// Live capture: a classic BPF filter as `tcpdump -ddd EXPR` prints it, in a file.
    #[arg(long, value_name = "FILE")]
    pub(crate) bpf_file: Option<PathBuf>,
    /// Where EVE JSON lines are appended (default: DIR/eve.json).
    #[arg(short, long, value_name = "EVE.json")]
    pub(crate) output: Option<PathBuf>,
    /// Listen for management commands on this address (HOST:PORT).
    #[arg(long, value_name = "ADDR", requires = "mgmt_pki")]
    pub(crate) mgmt: Option<std::net::SocketAddr>,
    /// The probe's management credentials (from `probectl probe enroll`).
    #[arg(long, value_name = "DIR", requires = "mgmt")]
    pub(crate) mgmt_pki: Option<PathBuf>,
    /// The updater's configuration for the management plane's `update_*` commands (default:
    /// /etc/ndr-probe/update.toml when it exists; without one those commands fail).
    #[arg(long, value_name = "FILE")]
    pub(crate) update_config: Option<PathBuf>,
    /// Largest management request accepted, e.g. `32M`.
    #[arg(long, value_name = "SIZE", default_value = "32M")]
    pub(crate) mgmt_max_frame: String,
    /// Tolerated clock difference with operators.
    #[arg(long, value_name = "DUR", default_value = "60s")]
    pub(crate) mgmt_skew: String,
    /// How often the capture directory is looked at.
    #[arg(long, value_name = "DUR", default_value = "1s")]
    pub(crate) poll: String,
    #[command(flatten)]
    pub(crate) engine: EngineArgs,
    #[command(flatten)]
    pub(crate) archive: ArchiveArgs,
}

/// Settings, rules and workers: what `replay` and `run` configure alike.
#[derive(Debug, Clone, Args)]
pub(crate) struct EngineArgs {
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
    /// the reading thread. Default: the number of CPUs minus one (the reader's), at least 1;
    /// for `probed run`, the hardware profile's worker cores.
    #[arg(long, value_name = "N")]
    pub(crate) workers: Option<usize>,
    /// Settings applied before the configuration file (the hardware profile's memcaps).
    #[arg(skip)]
    pub(crate) base: Vec<(String, String)>,
    #[command(flatten)]
    pub(crate) analytics: AnalyticsArgs,
}

/// The analytics stage: threat intel, lookalikes, sightings, hosts, beacons.
#[derive(Debug, Clone, Args)]
pub(crate) struct AnalyticsArgs {
    /// A threat-intel feed file (repeatable): CSV, JSON lines, Zeek intel or STIX 2.1. Matches
    /// become alerts (gid 9001) carrying an `intel` object. With `-d`, the feeds stored by
    /// `probed intel add` are matched too.
    #[arg(long = "intel", value_name = "FILE")]
    pub(crate) intel: Vec<PathBuf>,
    /// Protected domains, one per line: lookalikes of them in DNS queries, HTTP hosts and TLS
    /// SNIs become alerts (gid 9002) with a `lookalike` object.
    #[arg(long, value_name = "FILE")]
    pub(crate) protect: Option<PathBuf>,
    /// The monitored networks (comma-separated CIDRs, repeatable): the hosts whose insights
    /// are kept and the sources of beacons. Default: 10.0.0.0/8, 172.16.0.0/12,
    /// 192.168.0.0/16, 100.64.0.0/10, fc00::/7.
    #[arg(long, value_name = "CIDRS")]
    pub(crate) home_net: Vec<String>,
    /// Lowest beacon score that makes a `beacon` event.
    #[arg(long, value_name = "SCORE", default_value_t = DEFAULT_BEACON_MIN_SCORE)]
    pub(crate) beacon_min_score: f64,
    /// Learning period of sightings (e.g. `7d`): artifacts first seen within it after the
    /// data directory first saw traffic are recorded without `sighting` events.
    #[arg(long, value_name = "DUR", default_value = DEFAULT_SIGHTINGS_LEARNING)]
    pub(crate) sightings_learning: String,
    /// No `sighting` events.
    #[arg(long)]
    pub(crate) no_sightings: bool,
    /// No host insights (`host` events).
    #[arg(long)]
    pub(crate) no_hosts: bool,
    /// No analytics stage at all (no intel, lookalike, sighting, host or beacon events).
    #[arg(long)]
    pub(crate) no_analytics: bool,
}

/// `probed lookalike`.
#[derive(Debug, Args)]
pub(crate) struct LookalikeArgs {
    /// The protected domains, one per line (`!domain`: owned, never reported).
    #[arg(long, value_name = "FILE")]
    pub(crate) protect: PathBuf,
    /// Names to check (default: read stdin).
    #[arg(value_name = "NAME")]
    pub(crate) names: Vec<String>,
    /// One JSON object per lookalike (`domain`, `protected`, `method`, `tier`).
    #[arg(long)]
    pub(crate) json: bool,
    /// Also print the names that imitate nothing.
    #[arg(long)]
    pub(crate) all: bool,
}

/// `probed beacon`.
#[derive(Debug, Args)]
pub(crate) struct BeaconArgs {
    /// A Zeek log directory (conn, ssl, http logs).
    #[arg(long, value_name = "DIR", required_unless_present = "data_dir")]
    pub(crate) zeek_log: Option<PathBuf>,
    /// A data directory whose archived flow events are scored.
    #[arg(
        short = 'd',
        long = "data-dir",
        value_name = "DIR",
        conflicts_with = "zeek_log"
    )]
    pub(crate) data_dir: Option<PathBuf>,
    /// Analysis window, back from the newest connection.
    #[arg(long, value_name = "DUR", default_value = "24h")]
    pub(crate) window: String,
    /// Internal networks (comma-separated CIDRs); default as `replay --home-net`.
    #[arg(long, value_name = "CIDRS")]
    pub(crate) home_net: Vec<String>,
    /// Lowest score shown.
    #[arg(long, value_name = "SCORE", default_value_t = 0.0)]
    pub(crate) min_score: f64,
    /// Also show infrastructure and frequent destinations.
    #[arg(long)]
    pub(crate) all: bool,
    /// A JSON array of scored pairs on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `probed intel`.
#[derive(Debug, Subcommand)]
pub(crate) enum IntelCommand {
    /// Store (or replace) a feed.
    ///
    /// Example: probed intel add -d /var/lib/probed feodo-ips.csv --name feodo
    Add {
        /// The data directory.
        #[arg(short = 'd', long = "data-dir", value_name = "DIR")]
        data_dir: PathBuf,
        /// The feed file.
        file: PathBuf,
        /// Its name (default: the file name without extension).
        #[arg(long)]
        name: Option<String>,
        /// The report as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Remove a stored feed.
    Rm {
        /// The data directory.
        #[arg(short = 'd', long = "data-dir", value_name = "DIR")]
        data_dir: PathBuf,
        /// Feed name.
        name: String,
    },
    /// List stored feeds and indicator counts by type.
    Ls {
        /// The data directory.
        #[arg(short = 'd', long = "data-dir", value_name = "DIR")]
        data_dir: PathBuf,
        /// JSON on stdout.
        #[arg(long)]
        json: bool,
    },
}

/// `probed hw-check`.
#[derive(Debug, Clone, Args)]
pub(crate) struct HwCheckArgs {
    /// The profile: a shipped one by name, or a TOML file. Without it, the shipped profiles
    /// are listed.
    #[arg(short = 'p', long = "profile", value_name = "PROFILE")]
    pub(crate) profile: Option<String>,
    /// Machine-readable output: `{"profile", "fits", "setup", "findings": [{"field",
    /// "level", "message"}]}`.
    #[arg(long)]
    pub(crate) json: bool,
    /// Prepare this machine for the profile before checking it: reserve the hugepages its
    /// DPDK capture needs and bind its PCI NICs to vfio-pci (mlx5 keeps its driver). Needs
    /// root; the appliance runs it at boot (probe-hw-setup.service) before probed.
    #[arg(long, requires = "profile")]
    pub(crate) setup: bool,
}

/// Archive limits (with `--data-dir`).
#[derive(Debug, Clone, Args)]
pub(crate) struct ArchiveArgs {
    /// Days of events kept in the archive (by event time, counted back from the newest).
    #[arg(long, value_name = "DAYS", default_value_t = 60)]
    pub(crate) retention_days: u64,
    /// Largest archive size, e.g. `500G`, `64M` (default: no limit besides the disk).
    #[arg(long, value_name = "SIZE")]
    pub(crate) archive_max_size: Option<String>,
    /// Free space kept on the data directory's file system; below it the oldest archive data
    /// is evicted (an `archive` event says so). Default: 5 % of the file system, at most 4G.
    #[arg(long, value_name = "SIZE")]
    pub(crate) archive_min_free: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct HuntArgs {
    /// The data directory (as given to `replay --data-dir`).
    #[arg(short = 'd', long = "data-dir", value_name = "DIR")]
    pub(crate) data_dir: PathBuf,
    /// The filter (query-string syntax); not with `--retro`.
    #[arg(value_name = "FILTER", required_unless_present = "retro")]
    pub(crate) filter: Option<String>,
    /// Only events from this far back from the newest archived event (`7d`, `12h`, `30m`),
    /// or since an absolute time (`2026-01-31T00:00:00Z`).
    #[arg(long, value_name = "DUR|TIME")]
    pub(crate) since: Option<String>,
    /// Only events up to this time (absolute, or a duration back from the newest event).
    #[arg(long, value_name = "DUR|TIME")]
    pub(crate) until: Option<String>,
    /// Sample events shown (the oldest matches).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub(crate) samples: usize,
    /// Values listed per field.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub(crate) top: usize,
    /// Fields whose top values are counted (repeatable; default: a standard set).
    #[arg(long = "field", value_name = "FIELD")]
    pub(crate) fields: Vec<String>,
    /// Run the retro-hunt of this stored filter (instead of a search).
    #[arg(long, value_name = "NAME", conflicts_with = "filter")]
    pub(crate) retro: Option<String>,
    /// Look-back of `--retro`, in days.
    #[arg(long, value_name = "N", requires = "retro")]
    pub(crate) days: Option<u32>,
    /// Print one JSON object on stdout (`count`, `top`, `samples`, ... or the retro report).
    #[arg(long)]
    pub(crate) json: bool,
    /// Never show a progress bar.
    #[arg(long)]
    pub(crate) no_progress: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum FilterCommand {
    /// Store a filter, with an optional policy action.
    ///
    /// Examples:
    ///
    ///   probed filter add -d DIR --name raiz0worm --action doc --threat Raiz0WorM --kill-chain installation --offender src_ip --target dest_ip 'event_type:http AND http.status:200 AND _exists_:base64.functions'
    ///
    ///   probed filter add -d DIR --name quiet-scanner --action suppress 'src_ip:10.0.0.99'
    ///
    ///   probed filter add -d DIR --from-set policy-tls-legacy-versions --action dopv --threat "Old TLS" --kill-chain pre_condition
    Add(Box<FilterAddArgs>),
    /// List stored filters with their actions and seen/dropped counts.
    Ls {
        /// The data directory.
        #[arg(short = 'd', long = "data-dir", value_name = "DIR")]
        data_dir: PathBuf,
        /// JSON array on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Show one stored filter (JSON).
    Show {
        /// The data directory.
        #[arg(short = 'd', long = "data-dir", value_name = "DIR")]
        data_dir: PathBuf,
        /// Filter name.
        name: String,
    },
    /// Remove a stored filter (its DoCs stay).
    Rm {
        /// The data directory.
        #[arg(short = 'd', long = "data-dir", value_name = "DIR")]
        data_dir: PathBuf,
        /// Filter name.
        name: String,
    },
    /// List the predefined filter sets shipped with the probe.
    Sets {
        /// Only this category (Hunt, Policy, Anomaly, Compliance, Info, Roles, ...).
        #[arg(long)]
        category: Option<String>,
        /// JSON array on stdout.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct FilterAddArgs {
    /// The data directory.
    #[arg(short = 'd', long = "data-dir", value_name = "DIR")]
    pub(crate) data_dir: PathBuf,
    #[command(flatten)]
    pub(crate) spec: mgmt_proto::FilterSpec,
    /// JSON on stdout (the stored filter and the retro-hunt report).
    #[arg(long)]
    pub(crate) json: bool,
    /// Never show a progress bar.
    #[arg(long)]
    pub(crate) no_progress: bool,
    /// How long to retry delivering webhooks for declarations the retro-hunt made.
    #[arg(long, value_name = "DUR", default_value = "30s")]
    pub(crate) webhook_wait: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DocCommand {
    /// List declarations (newest first in text, by id in JSON).
    Ls {
        /// The data directory.
        #[arg(short = 'd', long = "data-dir", value_name = "DIR")]
        data_dir: PathBuf,
        /// Only this threat.
        #[arg(long)]
        threat: Option<String>,
        /// JSON array on stdout.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum WebhookCommand {
    /// Add (or replace) a receiver of new declarations.
    ///
    /// Example: probed webhook add -d DIR --name soc-chat --url https://chat.example/hooks/X --template rocketchat --secret-file /etc/probe/hook.key
    Add {
        /// The data directory.
        #[arg(short = 'd', long = "data-dir", value_name = "DIR")]
        data_dir: PathBuf,
        /// Name.
        #[arg(long)]
        name: String,
        /// http:// or https:// URL.
        #[arg(long)]
        url: String,
        /// Payload: rocketchat, slack, mattermost, soar (generic JSON), or a Jinja template
        /// file.
        #[arg(long, default_value = "soar")]
        template: String,
        /// File holding the HMAC-SHA256 key that signs each payload (header
        /// `X-Probe-Signature: sha256=HEX`).
        #[arg(long, value_name = "FILE")]
        secret_file: Option<PathBuf>,
    },
    /// List receivers and queued deliveries.
    Ls {
        /// The data directory.
        #[arg(short = 'd', long = "data-dir", value_name = "DIR")]
        data_dir: PathBuf,
        /// JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Remove a receiver (its queued deliveries are dropped).
    Rm {
        /// The data directory.
        #[arg(short = 'd', long = "data-dir", value_name = "DIR")]
        data_dir: PathBuf,
        /// Name.
        name: String,
    },
    /// Deliver what is queued, retrying with backoff for up to `--wait`.
    Deliver {
        /// The data directory.
        #[arg(short = 'd', long = "data-dir", value_name = "DIR")]
        data_dir: PathBuf,
        /// How long to keep retrying.
        #[arg(long, value_name = "DUR", default_value = "60s")]
        wait: String,
    },
}

/// `probed update`.
#[derive(Debug, Args)]
pub(crate) struct UpdateArgs {
    /// The bundle to verify or install.
    #[arg(value_name = "BUNDLE", required_unless_present = "status")]
    pub(crate) bundle: Option<PathBuf>,
    /// Only verify the bundle (signature, manifest, length, part hashes); needs `--trust` or
    /// the configuration's trusted keys; installs nothing and needs no slots.
    #[arg(long, requires = "bundle")]
    pub(crate) verify_only: bool,
    /// Trusted keys: a file with one Ed25519 public key per line in hex (`probe-image keygen`
    /// writes `release.pub`). Default: the configuration's `trust`.
    #[arg(long, value_name = "FILE")]
    pub(crate) trust: Option<PathBuf>,
    /// The updater's configuration (ESP, slots, hardware id, trusted keys, state directory).
    #[arg(long, value_name = "FILE", default_value = update::install::DEFAULT_CONFIG)]
    pub(crate) config: PathBuf,
    /// Show the slots, their boot counting state, the next boot, the pending install and the
    /// history (recording a rollback if one happened).
    #[arg(long, conflicts_with_all = ["bundle", "verify_only"])]
    pub(crate) status: bool,
    /// Reboot into the new slot once installed.
    #[arg(long, conflicts_with_all = ["verify_only", "status"])]
    pub(crate) reboot: bool,
    /// The report as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    /// No progress bar.
    #[arg(long)]
    pub(crate) no_progress: bool,
}

/// `probed health`.
#[derive(Debug, Args)]
pub(crate) struct HealthArgs {
    /// The daemon's data directory (its `status.json`).
    #[arg(short = 'd', long = "data-dir", value_name = "DIR", default_value = crate::probe_config::DEFAULT_DATA_DIR)]
    pub(crate) data_dir: PathBuf,
    /// Require rules to be loaded (off for a probe that runs analytics without signatures).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub(crate) require_rules: bool,
    /// Require the management server to be running and reachable.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub(crate) require_mgmt: bool,
    /// Keep checking until healthy or this long has passed (e.g. 300s); default: check once.
    #[arg(long, value_name = "DURATION")]
    pub(crate) wait: Option<String>,
    /// When healthy, mark the running slot good (needs the updater configuration).
    #[arg(long)]
    pub(crate) mark_good: bool,
    /// When not healthy and the running slot is on probation (an update not yet marked good),
    /// reboot: the boot loader spends one of the slot's attempts, and returns to the previous
    /// slot when none are left. A slot already good is never rebooted for failing a check.
    #[arg(long, requires = "mark_good")]
    pub(crate) reboot_on_probation_failure: bool,
    /// The updater's configuration (for `--mark-good`).
    #[arg(long, value_name = "FILE", default_value = update::install::DEFAULT_CONFIG)]
    pub(crate) config: PathBuf,
    /// The report as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}
