//! `probectl`: the operator's CLI for fleets of probes.
//!
//! Layer: the top (beside `probed`). It holds the fleet PKI and the inventory, signs every
//! command with the operator's Ed25519 key, sends it over mutual TLS to each target probe in
//! parallel, and believes an answer only after checking the probe's signature on it.
#![forbid(unsafe_code)]

mod fleet;
mod pki;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, CommandFactory, Parser, Subcommand};
use mgmt_proto::audit::{AuditEntry, AuditHead};
use mgmt_proto::{Command, Envelope, Outcome, Role};
use serde_json::{json, Value};

use crate::fleet::{Client, ProbeResult};
use crate::pki::Pki;

/// Exit status when some probes succeeded and others failed or did not answer.
const EXIT_PARTIAL: u8 = 3;
/// Exit status when no probe succeeded.
const EXIT_FAILED: u8 = 1;
/// Exit status for bad usage and local errors.
const EXIT_USAGE: u8 = 2;

/// Manage fleets of NDR probes: Ed25519-signed, replay-proof commands over mutual TLS.
///
/// Every command that reaches a probe is signed with the operator's key, names the probe,
/// carries a fresh sequence number and nonce and expires within a minute; each probe checks
/// all of that before it decodes the command, records it in its hash-chained audit log and
/// signs its answer, which probectl verifies against the probe's key from the inventory.
///
/// Setup: `probectl pki init --dir PKI` (fleet CA and an admin operator), `probectl --pki
/// PKI probe enroll --name edge1 --address 10.0.0.5:7443`, copy `PKI/probes/edge1/` to the
/// probe and run `probed run --mgmt 0.0.0.0:7443 --mgmt-pki DIR ...` there.
///
/// Targets: `-p NAME`, `-p all`, `-p LABEL=VALUE` (labels from enrolment); repeat `-p` to add.
///
/// Exit status: 0 when every target succeeded; 3 (partial) when some did and others failed
/// or did not answer (each is listed); 1 when none succeeded; 2 for bad usage or a local error.
#[derive(Debug, Parser)]
#[command(name = "probectl", version, propagate_version = true)]
struct Cli {
    /// The fleet PKI directory (default: $PROBECTL_PKI, else ./pki).
    #[arg(long, global = true, value_name = "DIR", env = "PROBECTL_PKI")]
    pki: Option<PathBuf>,
    /// Target probes: NAME, `all`, or LABEL=VALUE (repeatable).
    #[arg(short = 'p', long = "probe", global = true, value_name = "TARGET")]
    targets: Vec<String>,
    /// Act as this operator (its certificate and key under PKI/operators/NAME).
    #[arg(long, global = true, default_value = "admin")]
    operator: String,
    /// JSON on stdout.
    #[arg(long, global = true)]
    json: bool,
    /// Connect, send and answer timeout per probe.
    #[arg(long, global = true, value_name = "DUR", default_value = "10s")]
    timeout: String,
    /// How long a request stays valid (at most 15m).
    #[arg(long, global = true, value_name = "DUR", default_value = "60s")]
    ttl: String,
    /// Write the exact signed envelope sent (FILE for one probe, FILE.NAME for several).
    #[arg(long, global = true, value_name = "FILE")]
    save_request: Option<PathBuf>,
    /// Never show a progress bar.
    #[arg(long, global = true)]
    no_progress: bool,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// The fleet PKI: CA, operators, revocation.
    #[command(subcommand)]
    Pki(PkiCmd),
    /// Enrol probes and list the inventory.
    #[command(subcommand)]
    Probe(ProbeCmd),
    /// Version, uptime, capture state, archive and management counters of each probe.
    Status,
    /// Hunt filters and their policy actions.
    #[command(subcommand)]
    Filter(FilterCmd),
    /// Declarations of Compromise / Policy Violation.
    #[command(subcommand)]
    Doc(DocCmd),
    /// Retro-hunts: apply a DoC/DoPV filter to the archived past.
    #[command(subcommand)]
    Retro(RetroCmd),
    /// Query each probe's event archive with a hunt filter (Kibana query syntax).
    Hunt {
        /// The query, e.g. `event_type:http AND http.status:200`.
        query: String,
        /// Only events at or after (`7d` back from the newest, or a time).
        #[arg(long)]
        since: Option<String>,
        /// Only events before.
        #[arg(long)]
        until: Option<String>,
        /// Matching events to return per probe.
        #[arg(long, default_value_t = 10)]
        samples: u32,
    },
    /// The events each probe writes (its EVE output, after its hunt policy).
    #[command(subcommand)]
    Events(EventsCmd),
    /// Versioned Suricata rule sets: push, activate, roll back.
    #[command(subcommand)]
    Rules(RulesCmd),
    /// Threat-intel feeds on probes: push, remove, list (matched without a restart).
    #[command(subcommand)]
    Intel(IntelCmd),
    /// Signed A/B updates of appliance probes: push a bundle, see where updates stand.
    #[command(subcommand)]
    Update(UpdateCmd),
    /// Run-time settings.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Operator keys and the revocation list on probes.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// The probes' audit logs.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Send a saved envelope (`--save-request`) unchanged to one probe (replay testing).
    RawSend {
        /// The envelope file.
        file: PathBuf,
    },
    /// Print shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff).
    Man,
}

#[derive(Debug, Subcommand)]
enum PkiCmd {
    /// Create the fleet CA and a first admin operator.
    ///
    /// The CA key (`ca.key`) signs every certificate and revocation list; keep the
    /// directory on a trusted machine (it is never needed on probes).
    Init {
        /// Where (created).
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// Name of the first (admin) operator.
        #[arg(long, default_value = "admin")]
        admin: String,
        /// Replace an existing PKI there (every credential it issued becomes useless).
        #[arg(long)]
        force: bool,
    },
    /// Create an operator with a role (viewer, analyst, admin).
    Operator {
        /// Operator name (its certificate subject).
        #[arg(long)]
        name: String,
        /// What it may do.
        #[arg(long, value_enum)]
        role: Role,
    },
    /// Give an operator a new command key (the old one is marked revoked); then push keys.
    Rotate {
        /// Operator name.
        name: String,
    },
    /// Revoke an operator's certificate and key; then `probectl -p all keys push`.
    Revoke {
        /// Operator name.
        name: String,
    },
    /// List operators and their keys.
    Ls,
}

#[derive(Debug, Subcommand)]
enum ProbeCmd {
    /// Issue a probe's credentials (PKI/probes/NAME/) and add it to the inventory.
    Enroll {
        /// Probe name.
        #[arg(long)]
        name: String,
        /// Its management address, HOST:PORT.
        #[arg(long)]
        address: String,
        /// Labels for targeting, LABEL=VALUE (repeatable).
        #[arg(long = "label", value_name = "LABEL=VALUE")]
        labels: Vec<String>,
        /// Re-issue the credentials of an enrolled probe.
        #[arg(long)]
        force: bool,
    },
    /// List the inventory.
    Ls,
    /// Remove a probe from the inventory.
    Rm {
        /// Probe name.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum FilterCmd {
    /// Store or replace a filter on the targets; DoC/DoPV filters are also applied to the
    /// archived past (60 days unless --retro/--no-retro).
    ///
    /// Example: probectl -p all filter push --name raiz0worm --action doc --threat Raiz0WorM
    /// --kill-chain installation 'event_type:http AND http.status:200 AND
    /// _exists_:base64.functions'
    Push(Box<PushArgs>),
    /// List filters with their counts.
    Ls,
    /// Remove a filter (its DoCs stay).
    Rm {
        /// Filter name.
        name: String,
    },
}

#[derive(Debug, Args)]
struct PushArgs {
    #[command(flatten)]
    spec: mgmt_proto::FilterSpec,
}

#[derive(Debug, Subcommand)]
enum EventsCmd {
    /// The last events of each probe, optionally filtered; with -f, keep following them.
    ///
    /// Lines are `PROBE<TAB>EVENT-JSON`; with --json, one JSON object per line:
    /// `{"probe": NAME, "event": {...}}`. A rotated EVE file is followed from its start.
    /// Needs the analyst role.
    ///
    /// Examples:
    ///
    ///   probectl -p all events tail 'event_type:alert' -n 50
    ///
    ///   probectl -p edge1 events tail -f --json 'http.status:200 AND _exists_:base64.functions'
    Tail {
        /// A hunt filter (Kibana query syntax), e.g. `event_type:alert`.
        query: Option<String>,
        /// Events per probe: the last N, then at most N per poll.
        #[arg(short = 'n', long = "lines", default_value_t = 20)]
        lines: u32,
        /// Keep polling for new events until interrupted.
        #[arg(short = 'f', long)]
        follow: bool,
        /// How often to poll with -f.
        #[arg(long, value_name = "DUR", default_value = "1s")]
        interval: String,
    },
}

#[derive(Debug, Subcommand)]
enum DocCmd {
    /// Declarations this operator has not acknowledged yet, per probe; with --ack they are
    /// acknowledged once received, so the next collect returns only newer ones (delivery at
    /// least once: a collect that fails before its ack is repeated by the next).
    Collect {
        /// Most declarations per probe.
        #[arg(long, default_value_t = 1000)]
        limit: u32,
        /// Acknowledge what was received.
        #[arg(long)]
        ack: bool,
    },
    /// Acknowledge declarations up to an id on the targets.
    Ack {
        /// Last id to acknowledge.
        upto: u64,
    },
    /// Declarations with ids above --after (a collection cursor), oldest first.
    Ls {
        /// Cursor: the last id already collected (per probe: use with one probe).
        #[arg(long, default_value_t = 0)]
        after: u64,
        /// Most declarations per probe.
        #[arg(long, default_value_t = 1000)]
        limit: u32,
    },
}

#[derive(Debug, Subcommand)]
enum RetroCmd {
    /// Stop a running retro-hunt (`retro start` resumes it where it stopped).
    Cancel {
        /// Filter name.
        filter: String,
    },
    /// Start (or resume) a filter's retro-hunt.
    Start {
        /// Filter name.
        filter: String,
        /// Days back (default: the filter's).
        #[arg(long)]
        days: Option<u32>,
    },
    /// Where a filter's retro-hunt is.
    Status {
        /// Filter name.
        filter: String,
    },
}

#[derive(Debug, Subcommand)]
enum RulesCmd {
    /// Send a rule file as a new version; each probe loads it and reports what failed (a
    /// set where no rule loads is refused).
    ///
    /// Example: probectl -p all rules push --activate et-2026-12-05 emerging-all.rules
    Push {
        /// Version name (letters, digits, `.`, `_`, `-`).
        #[arg(value_name = "VERSION")]
        set_version: String,
        /// The rules (Suricata language, e.g. ET Open's emerging-all.rules).
        file: PathBuf,
        /// Make it the active set once stored.
        #[arg(long)]
        activate: bool,
    },
    /// Make a stored version the active rule set.
    Activate {
        /// Version name.
        #[arg(value_name = "VERSION")]
        set_version: String,
    },
    /// Go back to the previously active rule set.
    Rollback,
    /// Stored versions, the active one and the history.
    Ls,
}

#[derive(Debug, Subcommand)]
enum IntelCmd {
    /// Send a feed (CSV, JSON lines, Zeek intel or STIX 2.1); each probe checks it, stores it
    /// under NAME (replacing a feed of that name) and matches it from its next events on.
    ///
    /// Example: probectl -p all intel push --name feodo feodo-ipblocklist.csv
    Push {
        /// The feed file.
        file: PathBuf,
        /// Its name on the probes (default: the file name without extension).
        #[arg(long)]
        name: Option<String>,
    },
    /// Remove a feed from probes.
    Rm {
        /// Feed name.
        name: String,
    },
    /// Feeds stored on probes, with indicator counts.
    Ls,
}

#[derive(Debug, Subcommand)]
enum UpdateCmd {
    /// Send a signed update bundle to each probe (in pieces, resuming where a probe already
    /// has some), then install it into the probe's inactive slot. The probe checks the
    /// bundle's release signature, product, hardware, generation and hashes before writing
    /// anything (`probed update`); the new slot boots on probation and falls back by itself
    /// if it never gets healthy.
    ///
    /// Example: probectl -p all update push --reboot ndr-probe-0.2.0-g7.bundle
    Push {
        /// The bundle (`image/build` writes it).
        bundle: PathBuf,
        /// Reboot each probe into the new slot once installed.
        #[arg(long)]
        reboot: bool,
        /// Only upload; install later with another push of the same bundle.
        #[arg(long, conflicts_with = "reboot")]
        no_apply: bool,
    },
    /// Slots, boot counting, pending install, rollbacks and history of each probe.
    Status,
}

#[derive(Debug, Subcommand)]
enum ConfigCmd {
    /// Read settings (all, or one).
    Get {
        /// The setting.
        key: Option<String>,
    },
    /// Change a setting.
    Set {
        /// The setting (archive.retention-days, archive.max-size, archive.min-free).
        key: String,
        /// Its value.
        value: String,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCmd {
    /// Send the PKI's operator keys (with revoked and retired ones marked) and revocation
    /// list; probes apply them to every later request and handshake.
    Push,
    /// The keys and revocation list a probe holds.
    Ls,
}

#[derive(Debug, Subcommand)]
enum AuditCmd {
    /// Fetch each probe's whole audit log and check its hash chain: an edited, reordered or
    /// deleted entry is reported with its index.
    Verify,
    /// Print audit entries.
    Ls {
        /// First index.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// Most entries.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("probectl: {e:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn pki_dir(cli: &Cli) -> PathBuf {
    cli.pki.clone().unwrap_or_else(|| PathBuf::from("pki"))
}

fn duration(s: &str, flag: &str) -> Result<Duration> {
    mgmt_proto::units::parse_duration(s).map_err(|e| anyhow!("{flag}: {e}"))
}

fn run(cli: Cli) -> Result<ExitCode> {
    let remote = match &cli.command {
        Cmd::Pki(c) => return pki_cmd(&cli, c),
        Cmd::Probe(c) => return probe_cmd(&cli, c),
        Cmd::Completions { shell } => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "probectl",
                &mut std::io::stdout(),
            );
            return Ok(ExitCode::SUCCESS);
        }
        Cmd::Man => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            return Ok(ExitCode::SUCCESS);
        }
        Cmd::RawSend { file } => return raw_send(&cli, file),
        Cmd::Events(EventsCmd::Tail {
            query,
            lines,
            follow,
            interval,
        }) => {
            return events_tail(
                &cli,
                query.as_deref(),
                *lines,
                *follow,
                duration(interval, "--interval")?,
            )
        }
        Cmd::Audit(AuditCmd::Verify) => return audit_verify(&cli),
        Cmd::Update(UpdateCmd::Push {
            bundle,
            reboot,
            no_apply,
        }) => return update_push(&cli, bundle, *reboot, !*no_apply),
        Cmd::Update(UpdateCmd::Status) => Command::UpdateStatus,
        Cmd::Status => Command::Status,
        Cmd::Filter(FilterCmd::Push(a)) => Command::FilterPush {
            spec: Box::new(a.spec.clone()),
        },
        Cmd::Filter(FilterCmd::Ls) => Command::FilterList,
        Cmd::Filter(FilterCmd::Rm { name }) => Command::FilterRemove { name: name.clone() },
        Cmd::Doc(DocCmd::Ls { after, limit }) => Command::DocList {
            after: *after,
            limit: *limit,
        },
        Cmd::Retro(RetroCmd::Start { filter, days }) => Command::RetroStart {
            filter: filter.clone(),
            days: *days,
        },
        Cmd::Retro(RetroCmd::Cancel { filter }) => Command::RetroCancel {
            filter: filter.clone(),
        },
        Cmd::Doc(DocCmd::Collect { limit, ack }) => return doc_collect(&cli, *limit, *ack),
        Cmd::Doc(DocCmd::Ack { upto }) => Command::DocAck { upto: *upto },
        Cmd::Retro(RetroCmd::Status { filter }) => Command::RetroStatus {
            filter: filter.clone(),
        },
        Cmd::Hunt {
            query,
            since,
            until,
            samples,
        } => Command::Hunt {
            query: query.clone(),
            since: since.clone(),
            until: until.clone(),
            samples: *samples,
        },
        Cmd::Rules(RulesCmd::Push {
            file,
            set_version,
            activate,
        }) => {
            let text = read_for_push(file)?;
            Command::RulesPush {
                version: set_version.clone(),
                rules_lz4: mgmt_proto::compress_rules(&text),
                activate: *activate,
            }
        }
        Cmd::Rules(RulesCmd::Activate { set_version }) => Command::RulesActivate {
            version: set_version.clone(),
        },
        Cmd::Rules(RulesCmd::Rollback) => Command::RulesRollback,
        Cmd::Rules(RulesCmd::Ls) => Command::RulesList,
        Cmd::Intel(IntelCmd::Push { file, name }) => {
            let text = read_for_push(file)?;
            let name = name.clone().unwrap_or_else(|| {
                file.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "feed".into())
            });
            Command::IntelPush {
                name,
                feed_lz4: mgmt_proto::compress_rules(&text),
            }
        }
        Cmd::Intel(IntelCmd::Rm { name }) => Command::IntelRemove { name: name.clone() },
        Cmd::Intel(IntelCmd::Ls) => Command::IntelList,
        Cmd::Config(ConfigCmd::Get { key }) => Command::ConfigGet { key: key.clone() },
        Cmd::Config(ConfigCmd::Set { key, value }) => Command::ConfigSet {
            key: key.clone(),
            value: value.clone(),
        },
        Cmd::Keys(KeysCmd::Ls) => Command::KeysList,
        Cmd::Keys(KeysCmd::Push) => {
            let pki = Pki::open(&pki_dir(&cli))?;
            Command::KeysPush {
                keys: pki.operator_keys()?,
                crl: pki.crl()?,
            }
        }
        Cmd::Audit(AuditCmd::Ls { from, limit }) => Command::AuditGet {
            from: *from,
            limit: *limit,
        },
    };
    let pki = Pki::open(&pki_dir(&cli))?;
    let probes = fleet::select(&pki, &cli.targets)?;
    let client = client(&cli, &pki)?;
    let results = fleet::fan_out(
        &client,
        &pki,
        &cli.operator,
        &probes,
        &remote,
        cli.save_request.as_deref(),
        !cli.no_progress,
    )?;
    report(&cli, remote.op(), &results)
}

fn client(cli: &Cli, pki: &Pki) -> Result<Client> {
    let ttl = duration(&cli.ttl, "--ttl")?;
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    if ttl_ms > mgmt_proto::MAX_LIFETIME_MS {
        bail!("--ttl {}: at most 15m", cli.ttl);
    }
    Client::new(
        pki,
        &cli.operator,
        duration(&cli.timeout, "--timeout")?,
        ttl_ms,
    )
}

/// Prints the per-probe results and returns the exit status.
fn report(cli: &Cli, op: &str, results: &[ProbeResult]) -> Result<ExitCode> {
    let ok = results.iter().filter(|r| r.ok()).count();
    let unreachable: Vec<&str> = results
        .iter()
        .filter(|r| r.answer.is_err())
        .map(|r| r.probe.name.as_str())
        .collect();
    let mut out = std::io::stdout().lock();
    if cli.json {
        let v = json!({
            "command": op,
            "targets": results.len(),
            "succeeded": ok,
            "unreachable": unreachable,
            "partial": ok > 0 && ok < results.len(),
            "results": results.iter().map(ProbeResult::to_json).collect::<Vec<_>>(),
        });
        writeln!(out, "{v}")?;
    } else {
        writeln!(out, "{:<20} {:<12} DETAIL", "PROBE", "RESULT")?;
        for r in results {
            let j = r.to_json();
            let outcome = j["outcome"].as_str().unwrap_or("?").to_string();
            let detail = match (&r.answer, j.get("error")) {
                (_, Some(e)) => format!(
                    "{}{}",
                    j.get("code")
                        .and_then(Value::as_str)
                        .map(|c| format!("{c}: "))
                        .unwrap_or_default(),
                    e.as_str().unwrap_or_default()
                ),
                (Ok(a), None) => match &a.outcome {
                    Outcome::Ok { body } => summarize(op, body),
                    _ => String::new(),
                },
                (Err(e), None) => e.clone(),
            };
            writeln!(out, "{:<20} {:<12} {}", r.probe.name, outcome, detail)?;
        }
        writeln!(
            out,
            "{ok} of {} probe(s) succeeded{}",
            results.len(),
            if unreachable.is_empty() {
                String::new()
            } else {
                format!("; no answer from: {}", unreachable.join(", "))
            }
        )?;
    }
    Ok(fleet_exit(ok, results.len()))
}

/// The exit status for `ok` successes out of `total` probes: 0 all, 3 partial, 1 none.
fn fleet_exit(ok: usize, total: usize) -> ExitCode {
    if ok == total {
        ExitCode::SUCCESS
    } else if ok == 0 {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::from(EXIT_PARTIAL)
    }
}

/// A one-line summary of an answer for the text table.
fn summarize(op: &str, body: &Value) -> String {
    match op {
        "status" => format!(
            "v{} up {}s, {} filters, {} DoCs, {} archived events, capture: {}",
            body["version"].as_str().unwrap_or("?"),
            body["uptime_s"],
            body["filters"],
            body["docs"],
            body["archive"]["events"],
            body["daemon"]["capture"].as_str().unwrap_or("?")
        ),
        "filter_push" => format!(
            "stored `{}` (retro-hunt: {})",
            body["filter"]["name"].as_str().unwrap_or("?"),
            body["retro"].as_str().unwrap_or("?")
        ),
        "filter_list" => {
            let names: Vec<String> = body
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|f| {
                            format!("{} ({} seen)", f["name"].as_str().unwrap_or("?"), f["seen"])
                        })
                        .collect()
                })
                .unwrap_or_default();
            format!("{} filter(s): {}", names.len(), names.join(", "))
        }
        "doc_list" | "doc_collect" => {
            let docs = body["docs"].as_array().cloned().unwrap_or_default();
            let mut s = format!("{} declaration(s), cursor {}", docs.len(), body["next"]);
            for d in docs.iter().take(20) {
                s.push_str(&format!(
                    "\n    #{} {} {} {} ({}, {} evidence event(s), first {})",
                    d["id"],
                    d["kind"].as_str().unwrap_or("?"),
                    d["asset"].as_str().unwrap_or("?"),
                    d["threat"].as_str().unwrap_or("?"),
                    d["kill_chain"].as_str().unwrap_or("?"),
                    d["count"],
                    d["first_seen"].as_str().unwrap_or("?")
                ));
            }
            s
        }
        "rules_push" => format!(
            "`{}`: {} rules loaded, {} failed{}",
            body["set"]["version"].as_str().unwrap_or("?"),
            body["set"]["loaded"],
            body["set"]["failed"],
            if body["activate"]["active"].is_string() {
                ", active"
            } else {
                ""
            }
        ),
        "intel_push" => format!(
            "feed `{}`: {} indicators stored, {} refused",
            body["name"].as_str().unwrap_or("?"),
            body["indicators"],
            body["refused"]
        ),
        "intel_remove" => format!("feed `{}` removed", body["removed"].as_str().unwrap_or("?")),
        "intel_list" => {
            let feeds = body["feeds"].as_array().cloned().unwrap_or_default();
            let names: Vec<String> = feeds
                .iter()
                .map(|f| {
                    format!(
                        "{} ({})",
                        f["name"].as_str().unwrap_or("?"),
                        f["indicators"]
                    )
                })
                .collect();
            format!(
                "{} feed(s), {} indicators: {}",
                feeds.len(),
                body["counts"]["indicators"],
                names.join(", ")
            )
        }
        "rules_activate" | "rules_rollback" => {
            format!("active: {}", body["active"].as_str().unwrap_or("?"))
        }
        "hunt" => format!(
            "{} matching event(s) ({} of {} blocks read)",
            body["count"], body["blocks_read"], body["blocks"]
        ),
        _ => body.to_string(),
    }
}

/// A rule set or feed file to push, refused above the probes' size limit.
fn read_for_push(file: &Path) -> Result<Vec<u8>> {
    let text = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    if text.len() > mgmt_proto::MAX_RULESET_BYTES {
        bail!(
            "{}: {} bytes is over the probes' {}-byte limit",
            file.display(),
            text.len(),
            mgmt_proto::MAX_RULESET_BYTES
        );
    }
    Ok(text)
}

fn pki_cmd(cli: &Cli, c: &PkiCmd) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match c {
        PkiCmd::Init { dir, admin, force } => {
            let p = Pki::init(dir, admin, *force)?;
            let k = p.operator(admin)?;
            if cli.json {
                writeln!(out, "{}", json!({"dir": dir, "admin": k}))?;
            } else {
                writeln!(
                    out,
                    "fleet PKI created in {} (CA key: {}; keep it safe)\nadmin operator `{admin}`: key {}",
                    dir.display(),
                    dir.join("ca.key").display(),
                    k.key_id
                )?;
            }
        }
        PkiCmd::Operator { name, role } => {
            let k = Pki::open(&pki_dir(cli))?.add_operator(name, *role)?;
            print_key(&mut out, cli.json, &k, "created")?;
        }
        PkiCmd::Rotate { name } => {
            let k = Pki::open(&pki_dir(cli))?.rotate(name)?;
            print_key(&mut out, cli.json, &k, "new key")?;
        }
        PkiCmd::Revoke { name } => {
            let p = Pki::open(&pki_dir(cli))?;
            p.revoke_operator(name)?;
            let k = p.operator(name)?;
            print_key(&mut out, cli.json, &k, "revoked")?;
            if !cli.json {
                writeln!(
                    out,
                    "now run `probectl -p all keys push` so probes refuse it"
                )?;
            }
        }
        PkiCmd::Ls => {
            let keys = Pki::open(&pki_dir(cli))?.operator_keys()?;
            if cli.json {
                writeln!(out, "{}", serde_json::to_string(&keys)?)?;
            } else {
                writeln!(out, "{:<20} {:<8} {:<16} STATE", "OPERATOR", "ROLE", "KEY")?;
                for k in keys {
                    writeln!(
                        out,
                        "{:<20} {:<8} {:<16} {}",
                        k.name,
                        k.role,
                        k.key_id,
                        if k.revoked { "revoked" } else { "active" }
                    )?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_key(
    out: &mut dyn Write,
    json: bool,
    k: &mgmt_proto::OperatorKey,
    what: &str,
) -> Result<()> {
    if json {
        writeln!(out, "{}", serde_json::to_string(k)?)?;
    } else {
        writeln!(
            out,
            "operator `{}` ({}): {what}, key {}",
            k.name, k.role, k.key_id
        )?;
    }
    Ok(())
}

fn probe_cmd(cli: &Cli, c: &ProbeCmd) -> Result<ExitCode> {
    let pki = Pki::open(&pki_dir(cli))?;
    let mut out = std::io::stdout().lock();
    match c {
        ProbeCmd::Enroll {
            name,
            address,
            labels,
            force,
        } => {
            let mut l = BTreeMap::new();
            for kv in labels {
                let (k, v) = kv
                    .split_once('=')
                    .ok_or_else(|| anyhow!("--label {kv}: expected LABEL=VALUE"))?;
                l.insert(k.to_string(), v.to_string());
            }
            let p = pki.enroll(name, address, l, *force)?;
            if cli.json {
                writeln!(out, "{}", serde_json::to_string(&p)?)?;
            } else {
                writeln!(
                    out,
                    "probe `{name}` enrolled: id {}, credentials in {} (copy them to the probe; run `probed run --mgmt {address} --mgmt-pki DIR`)",
                    p.id,
                    pki.dir.join("probes").join(name).display()
                )?;
            }
        }
        ProbeCmd::Ls => {
            let inv = pki.inventory()?;
            if cli.json {
                writeln!(out, "{}", serde_json::to_string(&inv.probes)?)?;
            } else {
                writeln!(out, "{:<20} {:<22} {:<16} LABELS", "PROBE", "ADDRESS", "ID")?;
                for p in &inv.probes {
                    let labels: Vec<String> =
                        p.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    writeln!(
                        out,
                        "{:<20} {:<22} {:<16} {}",
                        p.name,
                        p.address,
                        p.id,
                        labels.join(",")
                    )?;
                }
            }
        }
        ProbeCmd::Rm { name } => {
            let mut inv = pki.inventory()?;
            let before = inv.probes.len();
            inv.probes.retain(|p| &p.name != name);
            if inv.probes.len() == before {
                bail!("no probe `{name}` in the inventory");
            }
            pki.save_inventory(&inv)?;
            writeln!(out, "probe `{name}` removed from the inventory")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `doc collect`: the unacknowledged DoCs of each target, then (with `ack`) an
/// acknowledgement to each probe of the last id it returned.
fn doc_collect(cli: &Cli, limit: u32, ack: bool) -> Result<ExitCode> {
    let pki = Pki::open(&pki_dir(cli))?;
    let probes = fleet::select(&pki, &cli.targets)?;
    let client = client(cli, &pki)?;
    let mut results = fleet::fan_out(
        &client,
        &pki,
        &cli.operator,
        &probes,
        &Command::DocCollect { limit },
        cli.save_request.as_deref(),
        !cli.no_progress,
    )?;
    if ack {
        for r in &mut results {
            let Ok(answer) = &mut r.answer else { continue };
            let Outcome::Ok { body } = &mut answer.outcome else {
                continue;
            };
            let (Some(next), Some(prev)) = (body["next"].as_u64(), body["acknowledged"].as_u64())
            else {
                continue;
            };
            if next == prev {
                continue;
            }
            let cmd = Command::DocAck { upto: next };
            let env = client.seal(&r.probe, pki.next_seq(&cli.operator)?, &cmd)?;
            body["ack"] = match client.exchange(&r.probe, &env.to_bytes(), &env.payload) {
                Ok(a) => match a.outcome {
                    Outcome::Ok { body } => body["acknowledged"].clone(),
                    Outcome::Rejected { code, reason } => {
                        json!({"error": format!("{}: {reason}", code.name())})
                    }
                    Outcome::Failed { error } => json!({ "error": error }),
                },
                Err(e) => json!({"error": format!("{e:#}")}),
            };
        }
    }
    report(cli, "doc_collect", &results)
}

/// `events tail`: one request per probe and round, each with that probe's cursor.
fn events_tail(
    cli: &Cli,
    query: Option<&str>,
    lines: u32,
    follow: bool,
    interval: Duration,
) -> Result<ExitCode> {
    let pki = Pki::open(&pki_dir(cli))?;
    let probes = fleet::select(&pki, &cli.targets)?;
    let client = client(cli, &pki)?;
    let mut cursors: Vec<Option<mgmt_proto::TailCursor>> = vec![None; probes.len()];
    let mut answered = vec![false; probes.len()];
    let mut out = std::io::stdout().lock();
    loop {
        let mut more = false;
        for (i, probe) in probes.iter().enumerate() {
            let cmd = Command::EventsTail {
                query: query.map(str::to_owned),
                cursor: cursors[i],
                limit: lines,
            };
            let env = client.seal(probe, pki.next_seq(&cli.operator)?, &cmd)?;
            let body = match client.exchange(probe, &env.to_bytes(), &env.payload) {
                Ok(a) => match a.outcome {
                    Outcome::Ok { body } => body,
                    Outcome::Rejected { code, reason } => {
                        eprintln!(
                            "probectl: {}: rejected: {}: {reason}",
                            probe.name,
                            code.name()
                        );
                        continue;
                    }
                    Outcome::Failed { error } => {
                        eprintln!("probectl: {}: {error}", probe.name);
                        continue;
                    }
                },
                Err(e) => {
                    eprintln!("probectl: {}: {e:#}", probe.name);
                    continue;
                }
            };
            answered[i] = true;
            if body["rotated"] == true {
                eprintln!("probectl: {}: the EVE file was rotated", probe.name);
            }
            for ev in body["events"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
                if cli.json {
                    writeln!(out, "{}", json!({"probe": probe.name, "event": ev}))?;
                } else {
                    writeln!(out, "{}\t{ev}", probe.name)?;
                }
            }
            out.flush()?;
            cursors[i] = serde_json::from_value(body["cursor"].clone()).ok();
            more |= body["more"] == true;
        }
        if !follow {
            break;
        }
        if !more {
            std::thread::sleep(interval);
        }
    }
    let ok = answered.iter().filter(|a| **a).count();
    Ok(fleet_exit(ok, probes.len()))
}

/// Sends one command to one probe and returns the body of a successful answer.
fn call(
    cli: &Cli,
    pki: &Pki,
    client: &Client,
    probe: &pki::InventoryProbe,
    cmd: &Command,
) -> Result<Value> {
    let env = client.seal(probe, pki.next_seq(&cli.operator)?, cmd)?;
    let a = client.exchange(probe, &env.to_bytes(), &env.payload)?;
    match a.outcome {
        Outcome::Ok { body } => Ok(body),
        Outcome::Rejected { code, reason } => bail!("rejected: {}: {reason}", code.name()),
        Outcome::Failed { error } => bail!("{error}"),
    }
}

/// `probectl update push`: the bundle in pieces to each probe, then `update_apply`.
fn update_push(cli: &Cli, bundle: &Path, reboot: bool, apply: bool) -> Result<ExitCode> {
    use std::io::{IsTerminal, Read, Seek, SeekFrom};
    let pki = Pki::open(&pki_dir(cli))?;
    let probes = fleet::select(&pki, &cli.targets)?;
    let client = client(cli, &pki)?;
    let total = std::fs::metadata(bundle)
        .with_context(|| bundle.display().to_string())?
        .len();
    let sha = update::bundle::file_sha256(bundle).with_context(|| bundle.display().to_string())?;
    let mut ok = 0;
    for probe in &probes {
        let bar = (!cli.no_progress && std::io::stderr().is_terminal()).then(|| {
            let b = indicatif::ProgressBar::new(total);
            b.set_style(
                indicatif::ProgressStyle::with_template(&format!(
                    "{{spinner}} {} [{{elapsed_precise}}] {{wide_bar}} {{bytes}}/{{total_bytes}} ({{bytes_per_sec}})",
                    probe.name
                ))
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            b
        });
        let r = (|| -> Result<Value> {
            let mut f = std::fs::File::open(bundle)?;
            let mut offset = 0u64;
            let mut buf = vec![0u8; mgmt_proto::MAX_UPDATE_CHUNK];
            loop {
                f.seek(SeekFrom::Start(offset))?;
                let want = usize::try_from((total - offset).min(buf.len() as u64)).unwrap_or(0);
                f.read_exact(&mut buf[..want])?;
                let body = call(
                    cli,
                    &pki,
                    &client,
                    probe,
                    &Command::UpdateChunk {
                        bundle_sha256: sha.clone(),
                        total,
                        offset,
                        data: buf[..want].to_vec(),
                    },
                )?;
                if body["complete"] == true {
                    break;
                }
                // The probe says how much it has: resume from there.
                offset = body["received"].as_u64().unwrap_or(offset + want as u64);
                if let Some(b) = &bar {
                    b.set_position(offset);
                }
            }
            if let Some(b) = &bar {
                b.finish_and_clear();
            }
            if !apply {
                return Ok(json!({"uploaded": total, "bundle_sha256": sha}));
            }
            call(
                cli,
                &pki,
                &client,
                probe,
                &Command::UpdateApply {
                    bundle_sha256: sha.clone(),
                    reboot,
                },
            )
        })();
        match r {
            Ok(body) => {
                ok += 1;
                if cli.json {
                    println!(
                        "{}",
                        json!({"probe": probe.name, "ok": true, "result": body})
                    );
                } else {
                    let i = &body["installed"];
                    if i.is_null() {
                        println!("{}\tuploaded {total} bytes", probe.name);
                    } else {
                        println!(
                            "{}\tinstalled {} generation {} into slot {}{}",
                            probe.name,
                            i["version"].as_str().unwrap_or("?"),
                            i["generation"],
                            i["target"].as_str().unwrap_or("?"),
                            if body["rebooting"] == true {
                                "; rebooting"
                            } else {
                                ""
                            }
                        );
                    }
                }
            }
            Err(e) => {
                if cli.json {
                    println!(
                        "{}",
                        json!({"probe": probe.name, "ok": false, "error": format!("{e:#}")})
                    );
                } else {
                    eprintln!("probectl: {}: {e:#}", probe.name);
                }
            }
        }
    }
    Ok(fleet_exit(ok, probes.len()))
}

/// Sends a saved envelope as it is.
fn raw_send(cli: &Cli, file: &Path) -> Result<ExitCode> {
    let pki = Pki::open(&pki_dir(cli))?;
    let probes = fleet::select(&pki, &cli.targets)?;
    if probes.len() != 1 {
        bail!("raw-send goes to exactly one probe (-p NAME)");
    }
    let frame = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    // The answer names the payload's digest when the envelope is readable.
    let payload = mgmt_proto::from_cbor::<Envelope>(&frame, "envelope")
        .map(|e| e.payload)
        .unwrap_or_else(|_| frame.clone());
    let client = client(cli, &pki)?;
    let answer = client
        .exchange(&probes[0], &frame, &payload)
        .map_err(|e| format!("{e:#}"));
    let r = ProbeResult {
        probe: probes[0].clone(),
        answer,
    };
    report(cli, "raw", std::slice::from_ref(&r))
}

/// Fetches and verifies each target's audit chain.
fn audit_verify(cli: &Cli) -> Result<ExitCode> {
    let pki = Pki::open(&pki_dir(cli))?;
    let probes = fleet::select(&pki, &cli.targets)?;
    let client = client(cli, &pki)?;
    let mut out = std::io::stdout().lock();
    let mut rows = Vec::new();
    let mut good = 0;
    for p in &probes {
        let r = fetch_audit(&client, &pki, &cli.operator, p).and_then(|(entries, head)| {
            let n = mgmt_proto::audit::verify(&entries, &head).map_err(|e| anyhow!("{e}"))?;
            check_seen_head(&pki, &p.name, &entries, &head)?;
            Ok((n, head))
        });
        match r {
            Ok((n, head)) => {
                good += 1;
                rows.push(json!({"probe": p.name, "ok": true, "entries": n, "head": head.hash}));
            }
            Err(e) => rows.push(json!({"probe": p.name, "ok": false, "error": format!("{e:#}")})),
        }
    }
    if cli.json {
        writeln!(out, "{}", json!({"results": rows}))?;
    } else {
        for r in &rows {
            if r["ok"] == json!(true) {
                writeln!(
                    out,
                    "{:<20} intact: {} entries, head {}",
                    r["probe"].as_str().unwrap_or("?"),
                    r["entries"],
                    r["head"].as_str().unwrap_or("")
                )?;
            } else {
                writeln!(
                    out,
                    "{:<20} BROKEN: {}",
                    r["probe"].as_str().unwrap_or("?"),
                    r["error"].as_str().unwrap_or("")
                )?;
            }
        }
    }
    Ok(fleet_exit(good, probes.len()))
}

/// The newest audit entry probectl verified on a probe, remembered in
/// `PKI/audit/NAME.toml`: a later log must still contain it unchanged, which a rewrite or
/// rollback of the whole log (that the chain alone cannot reveal) would break.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct SeenHead {
    index: u64,
    hash: String,
    verified_at: i64,
}

fn check_seen_head(pki: &Pki, probe: &str, entries: &[AuditEntry], head: &AuditHead) -> Result<()> {
    let dir = pki.dir.join("audit");
    let path = dir.join(format!("{probe}.toml"));
    if let Ok(s) = std::fs::read_to_string(&path) {
        let seen: SeenHead = toml::from_str(&s).with_context(|| format!("{}", path.display()))?;
        if seen.index >= head.base_index {
            match entries.iter().find(|e| e.index == seen.index) {
                Some(e) if e.hash == seen.hash => {}
                Some(_) => bail!(
                    "audit entry {} differs from the one verified earlier: the log was rewritten",
                    seen.index
                ),
                None => bail!(
                    "audit entry {} verified earlier is gone: the log was rolled back (it now ends at {})",
                    seen.index,
                    head.next
                ),
            }
        }
    }
    if head.next > 0 {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let seen = SeenHead {
            index: head.next - 1,
            hash: head.hash.clone(),
            verified_at: mgmt_proto::now_ms() / 1000,
        };
        std::fs::write(&path, toml::to_string(&seen)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

fn fetch_audit(
    client: &Client,
    pki: &Pki,
    operator: &str,
    p: &pki::InventoryProbe,
) -> Result<(Vec<AuditEntry>, AuditHead)> {
    let mut entries: Vec<AuditEntry> = Vec::new();
    let mut from = 0u64;
    let mut head = None;
    loop {
        let cmd = Command::AuditGet {
            from,
            limit: 10_000,
        };
        let env = client.seal(p, pki.next_seq(operator)?, &cmd)?;
        let r = client.exchange(p, &env.to_bytes(), &env.payload)?;
        let body = match r.outcome {
            Outcome::Ok { body } => body,
            Outcome::Rejected { code, reason } => bail!("rejected: {}: {reason}", code.name()),
            Outcome::Failed { error } => bail!("{error}"),
        };
        let page: Vec<AuditEntry> =
            serde_json::from_value(body["entries"].clone()).context("audit entries")?;
        // The head of the first page: entries appended while paging (our own requests) come
        // after it and are not part of the chain checked.
        if head.is_none() {
            head = Some(
                serde_json::from_value::<AuditHead>(body["head"].clone()).context("audit head")?,
            );
        }
        entries.extend(page);
        match body["next"].as_u64() {
            Some(next) => from = next,
            None => break,
        }
    }
    let head = head.unwrap_or_default();
    // Only the entries up to the head of the first page were covered by it.
    entries.retain(|e| e.index < head.next || e.outcome == "unreadable");
    Ok((entries, head))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
