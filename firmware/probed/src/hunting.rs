//! `probed hunt`, `probed filter`, `probed doc`, `probed webhook`: the local CLI over a data
//! directory. Each command is a thin shell around `hunt`/`export` (the management plane calls
//! the same functions).

use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use hunt::model::{Action, Declaration, TagValue, TargetType, ThresholdKind, Track};
use hunt::{retro, search, Filter, KillChain};
use indicatif::{ProgressBar, ProgressStyle};
use store::Store;
use types::Timestamp;

use crate::cli::{
    ActionArg, DocCommand, FilterAddArgs, FilterCommand, HuntArgs, TagArg, TargetTypeArg,
    ThresholdArg, TrackArg, WebhookCommand,
};

/// Parses `30s`, `5m`, `12h`, `60d`, `2w` (a bare number is seconds).
pub(crate) fn parse_duration(s: &str) -> Result<Duration> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| anyhow!("duration `{s}`: expected a number and a unit (s, m, h, d, w)"))?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => bail!("duration `{s}`: unknown unit `{unit}` (s, m, h, d, w)"),
    };
    Ok(Duration::from_secs(n.saturating_mul(mult)))
}

/// Parses `64M`, `2G`, `500K`, `1T` or a byte count.
pub(crate) fn parse_size(s: &str) -> Result<u64> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, ""),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| anyhow!("size `{s}`: expected a number with K, M, G or T"))?;
    let mult: u64 = match unit
        .to_ascii_uppercase()
        .trim_end_matches("IB")
        .trim_end_matches('B')
    {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => bail!("size `{s}`: unknown unit `{unit}` (K, M, G, T)"),
    };
    Ok(n.saturating_mul(mult))
}

fn open(dir: &Path) -> Result<Store> {
    Store::open(dir).with_context(|| format!("data directory {}", dir.display()))
}

/// [`open`] for commands that only make sense on an existing data directory.
fn open_existing(dir: &Path) -> Result<Store> {
    if !dir.join("state").is_dir() {
        bail!(
            "{}: not a data directory (create one with `probed replay -d {}` or `probed filter add -d {}`)",
            dir.display(),
            dir.display(),
            dir.display()
        );
    }
    open(dir)
}

fn fail(cmd: &str, e: anyhow::Error) -> ExitCode {
    eprintln!("probed {cmd}: {e:#}");
    ExitCode::from(2)
}

fn bar(enabled: bool, what: &str) -> Option<ProgressBar> {
    if !enabled || !io::stderr().is_terminal() {
        return None;
    }
    let b = ProgressBar::new(0);
    b.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {what} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} blocks (eta {{eta}})"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    Some(b)
}

fn ts_string(us: i64) -> String {
    Timestamp(u64::try_from(us).unwrap_or(0).saturating_mul(1000)).to_eve_string()
}

/// A `--since`/`--until` value: an absolute EVE/RFC 3339 time, or a duration back from
/// `newest`.
fn time_arg(s: &str, newest: i64) -> Result<i64> {
    if let Some(t) = Timestamp::parse_eve(s) {
        return Ok(i64::try_from(t.0 / 1000).unwrap_or(i64::MAX));
    }
    let d = parse_duration(s).map_err(|_| {
        anyhow!("`{s}`: expected a duration (7d, 12h) or a time (2026-01-31T00:00:00Z)")
    })?;
    Ok(newest.saturating_sub(i64::try_from(d.as_micros()).unwrap_or(i64::MAX)))
}

pub(crate) fn hunt(args: HuntArgs) -> ExitCode {
    match run_hunt(args) {
        Ok(c) => c,
        Err(e) => fail("hunt", e),
    }
}

fn run_hunt(args: HuntArgs) -> Result<ExitCode> {
    let store = open_existing(&args.data_dir)?;
    if let Some(name) = &args.retro {
        return run_retro(
            &store,
            name,
            args.days,
            args.json,
            !args.no_progress,
            Duration::from_secs(30),
        );
    }
    let q = args.filter.as_deref().unwrap_or("*");
    let node = hunt::parse_query(q)
        .map_err(|e| anyhow!("{e}\n  {q}\n  {}^", " ".repeat(e.column.saturating_sub(1))))?;
    let archive = store.archive();
    let newest = retro::archive_now(&archive)?.unwrap_or(0);
    let mut opts = search::SearchOptions {
        since_us: args
            .since
            .as_deref()
            .map(|s| time_arg(s, newest))
            .transpose()?,
        until_us: args
            .until
            .as_deref()
            .map(|s| time_arg(s, newest))
            .transpose()?,
        samples: args.samples,
        top_n: args.top,
        ..Default::default()
    };
    if !args.fields.is_empty() {
        for f in &args.fields {
            hunt::fields::check(f).map_err(|e| anyhow!("--field: {e}"))?;
        }
        opts.top_fields = args.fields.clone();
    }
    let start = Instant::now();
    let b = bar(!args.no_progress, "hunting");
    let progress = |done: usize, total: usize| {
        if let Some(b) = &b {
            b.set_length(total as u64);
            b.set_position(done as u64);
        }
    };
    let r = search::search(&archive, &node, &opts, &progress)?;
    if let Some(b) = b {
        b.finish_and_clear();
    }
    let secs = start.elapsed().as_secs_f64();
    let mut out = io::stdout().lock();
    if args.json {
        let top: serde_json::Map<String, serde_json::Value> = r
            .top
            .iter()
            .map(|(f, v)| (f.clone(), serde_json::json!(v)))
            .collect();
        let v = serde_json::json!({
            "count": r.count, "blocks": r.blocks, "blocks_read": r.blocks_read,
            "events_read": r.events_read, "elapsed_s": secs, "top": top,
            "samples": r.samples, "errors": r.errors,
        });
        writeln!(out, "{v}")?;
    } else {
        writeln!(
            out,
            "{} event(s) match ({} of {} archive blocks read, {} events decoded, {secs:.3} s)",
            r.count, r.blocks_read, r.blocks, r.events_read
        )?;
        for (f, vals) in &r.top {
            writeln!(out, "  {f}:")?;
            for (v, c) in vals {
                writeln!(out, "    {c:>10}  {v}")?;
            }
        }
        if !r.samples.is_empty() {
            writeln!(out, "samples:")?;
            for s in &r.samples {
                writeln!(out, "  {s}")?;
            }
        }
        for e in &r.errors {
            writeln!(out, "unreadable block: {e}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run_retro(
    store: &Store,
    name: &str,
    days: Option<u32>,
    json: bool,
    progress: bool,
    webhook_wait: Duration,
) -> Result<ExitCode> {
    let f = hunt::get_filter(store, name)?.ok_or_else(|| anyhow!("no filter named `{name}`"))?;
    let days = days.or(f.retro_days).unwrap_or(retro::DEFAULT_RETRO_DAYS);
    let c = hunt::policy::Compiled::new(f)?;
    let docs = hunt::docs::DocStore::new(store.clone());
    let webhooks = hunt::webhook_names(store)?;
    let b = bar(progress, "retro-hunt");
    let rep = retro::retro_hunt(store, &docs, &c, days, &webhooks, &mut |d, t| {
        if let Some(b) = &b {
            b.set_length(t as u64);
            b.set_position(d as u64);
        }
    })?;
    if let Some(b) = b {
        b.finish_and_clear();
    }
    let delivery = if rep.created.is_empty() || webhooks.is_empty() {
        None
    } else {
        Some(export::deliver(store, webhook_wait)?)
    };
    let mut out = io::stdout().lock();
    if json {
        let mut v = serde_json::to_value(&rep)?;
        v["filter"] = serde_json::json!(name);
        v["days"] = serde_json::json!(days);
        v["webhooks"] = serde_json::to_value(&delivery)?;
        writeln!(out, "{v}")?;
    } else {
        writeln!(
            out,
            "retro-hunt `{name}` over {} .. {}{}: {} matching event(s) in {} of {} blocks; {} new declaration(s), {} evidence event(s) added to existing ones",
            ts_string(rep.since_us),
            ts_string(rep.until_us),
            if rep.resumed { " (resumed)" } else { "" },
            rep.matched,
            rep.blocks_read,
            rep.blocks,
            rep.created.len(),
            rep.evidence_added
        )?;
        for d in &rep.created {
            writeln!(
                out,
                "  DoC {} {} on {} ({}), first seen {}",
                d.id,
                d.threat,
                d.asset,
                d.kill_chain.value(),
                d.first_seen
            )?;
        }
        if let Some(d) = &delivery {
            print_delivery_to(&mut out, d)?;
        }
        for e in &rep.errors {
            writeln!(out, "unreadable block: {e}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn print_delivery_to(out: &mut dyn Write, d: &export::DeliveryReport) -> io::Result<()> {
    writeln!(
        out,
        "webhooks: {} delivered, {} still queued{}",
        d.delivered,
        d.pending,
        if d.errors.is_empty() {
            String::new()
        } else {
            let mut e: Vec<String> = d.errors.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            e.sort();
            format!(" (last errors: {})", e.join("; "))
        }
    )
}

pub(crate) fn filter(cmd: FilterCommand) -> ExitCode {
    match run_filter(cmd) {
        Ok(c) => c,
        Err(e) => fail("filter", e),
    }
}

fn build_action(a: &FilterAddArgs) -> Result<Option<Action>> {
    let Some(kind) = a.action else {
        return Ok(None);
    };
    let tag = || -> Result<TagValue> {
        Ok(
            match a
                .tag
                .ok_or_else(|| anyhow!("--action tag/tagkeep needs --tag"))?
            {
                TagArg::Relevant => TagValue::Relevant,
                TagArg::Informational => TagValue::Informational,
            },
        )
    };
    let decl = |default_phase: Option<KillChain>| -> Result<Declaration> {
        let threat = a
            .threat
            .clone()
            .ok_or_else(|| anyhow!("--action doc/dopv needs --threat NAME"))?;
        let kill_chain = match (&a.kill_chain, default_phase) {
            (Some(k), _) => k
                .parse::<KillChain>()
                .map_err(|e| anyhow!("--kill-chain: {e}"))?,
            (None, Some(p)) => p,
            (None, None) => bail!("--action doc needs --kill-chain PHASE"),
        };
        for (flag, f) in [("--offender", &a.offender), ("--target", &a.target)] {
            hunt::fields::check(f).map_err(|e| anyhow!("{flag}: {e}"))?;
        }
        Ok(Declaration {
            threat,
            family: a.family.clone(),
            kill_chain,
            offender_key: a.offender.clone(),
            target_key: a.target.clone(),
            target_type: match a.target_type {
                TargetTypeArg::Ip => TargetType::Ip,
                TargetTypeArg::Username => TargetType::Username,
                TargetTypeArg::Mail => TargetType::Mail,
            },
            track_offender: a.track_offender,
            track_target: !a.no_track_target,
            webhook: !a.no_webhook,
        })
    };
    Ok(Some(match kind {
        ActionArg::Suppress => Action::Suppress,
        ActionArg::Threshold => Action::Threshold {
            track: match a.track {
                TrackArg::BySrc => Track::BySrc,
                TrackArg::ByDst => Track::ByDst,
            },
            count: a
                .count
                .ok_or_else(|| anyhow!("--action threshold needs --count N"))?,
            seconds: a
                .seconds
                .ok_or_else(|| anyhow!("--action threshold needs --seconds N"))?,
            kind: match a.threshold_type {
                ThresholdArg::Limit => ThresholdKind::Limit,
                ThresholdArg::Threshold => ThresholdKind::Threshold,
                ThresholdArg::Both => ThresholdKind::Both,
            },
        },
        ActionArg::Tag => Action::Tag { tag: tag()? },
        ActionArg::Tagkeep => Action::Tagkeep { tag: tag()? },
        ActionArg::Doc => Action::Doc(decl(None)?),
        ActionArg::Dopv => Action::Dopv(decl(Some(KillChain::PreCondition))?),
        ActionArg::Notify => Action::Notify,
    }))
}

fn run_filter(cmd: FilterCommand) -> Result<ExitCode> {
    match cmd {
        FilterCommand::Add(a) => {
            let set = match &a.from_set {
                Some(n) => Some(hunt::sets::get(n).ok_or_else(|| {
                    anyhow!("--from-set `{n}`: no such filter set (see `probed filter sets`)")
                })?),
                None => None,
            };
            let query = match (&a.filter, &set) {
                (Some(q), _) => q.clone(),
                (None, Some(s)) => s.query.clone(),
                (None, None) => bail!("give a FILTER or --from-set"),
            };
            if let Err(e) = hunt::parse_query(&query) {
                bail!(
                    "{e}\n  {query}\n  {}^",
                    " ".repeat(e.column.saturating_sub(1))
                );
            }
            let action = build_action(&a)?;
            let retro_days = if a.no_retro {
                None
            } else {
                let d = parse_duration(&a.retro).context("--retro")?;
                Some(
                    u32::try_from(d.as_secs().div_ceil(86_400))
                        .unwrap_or(u32::MAX)
                        .max(1),
                )
            };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            let f = Filter {
                name: a.name.clone(),
                query,
                description: a
                    .description
                    .clone()
                    .or_else(|| set.as_ref().map(|s| s.description.clone()))
                    .unwrap_or_default(),
                action,
                enabled: !a.disabled,
                index: a.index,
                created: Timestamp::from_secs_nanos(now.as_secs(), 0).to_eve_string(),
                retro_days,
            };
            let store = open(&a.data_dir)?;
            hunt::save_filter(&store, &f)?;
            let declares = f.action.as_ref().is_some_and(|x| x.declaration().is_some());
            if declares && !a.no_retro && f.enabled {
                if !a.json {
                    println!("filter `{}` stored; applying it to the archive", f.name);
                }
                let wait = parse_duration(&a.webhook_wait).context("--webhook-wait")?;
                return run_retro(&store, &f.name, retro_days, a.json, !a.no_progress, wait);
            }
            if a.json {
                println!("{}", serde_json::to_string(&f)?);
            } else {
                println!("filter `{}` stored", f.name);
            }
            Ok(ExitCode::SUCCESS)
        }
        FilterCommand::Ls { data_dir, json } => {
            let store = open_existing(&data_dir)?;
            let mut fs = hunt::list_filters(&store)?;
            fs.sort_by(|a, b| (a.index, &a.name).cmp(&(b.index, &b.name)));
            let mut out = io::stdout().lock();
            if json {
                let v: Vec<serde_json::Value> = fs
                    .iter()
                    .map(|f| {
                        let c = hunt::filter_counts(&store, &f.name).unwrap_or_default();
                        let mut v = serde_json::to_value(f).unwrap_or_default();
                        v["seen"] = c.seen.into();
                        v["dropped"] = c.dropped.into();
                        v["retro_pending"] =
                            retro::pending(&store, &f.name).unwrap_or(false).into();
                        v
                    })
                    .collect();
                writeln!(out, "{}", serde_json::Value::Array(v))?;
            } else {
                writeln!(
                    out,
                    "{:<32} {:>5} {:<10} {:>10} {:>10}  QUERY",
                    "NAME", "INDEX", "ACTION", "SEEN", "DROPPED"
                )?;
                for f in &fs {
                    let c = hunt::filter_counts(&store, &f.name)?;
                    writeln!(
                        out,
                        "{:<32} {:>5} {:<10} {:>10} {:>10}  {}{}",
                        f.name,
                        f.index,
                        f.action.as_ref().map_or("-", |x| x.name()),
                        c.seen,
                        c.dropped,
                        f.query,
                        if f.enabled { "" } else { "  (disabled)" }
                    )?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        FilterCommand::Show { data_dir, name } => {
            let store = open_existing(&data_dir)?;
            let f = hunt::get_filter(&store, &name)?
                .ok_or_else(|| anyhow!("no filter named `{name}`"))?;
            let c = hunt::filter_counts(&store, &name)?;
            let mut v = serde_json::to_value(&f)?;
            v["seen"] = c.seen.into();
            v["dropped"] = c.dropped.into();
            v["retro"] = serde_json::to_value(retro::cursor(&store, &name)?)?;
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(ExitCode::SUCCESS)
        }
        FilterCommand::Rm { data_dir, name } => {
            let store = open_existing(&data_dir)?;
            if !hunt::remove_filter(&store, &name)? {
                bail!("no filter named `{name}`");
            }
            println!("filter `{name}` removed");
            Ok(ExitCode::SUCCESS)
        }
        FilterCommand::Sets { category, json } => {
            let sets: Vec<_> = hunt::sets::all()
                .into_iter()
                .filter(|s| {
                    category
                        .as_ref()
                        .is_none_or(|c| s.category.eq_ignore_ascii_case(c))
                })
                .collect();
            let mut out = io::stdout().lock();
            if json {
                writeln!(out, "{}", serde_json::to_string(&sets)?)?;
            } else {
                for s in &sets {
                    writeln!(
                        out,
                        "{} [{}]\n    {}\n    {}",
                        s.name, s.category, s.description, s.query
                    )?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub(crate) fn doc(cmd: DocCommand) -> ExitCode {
    let r = (|| -> Result<ExitCode> {
        let DocCommand::Ls {
            data_dir,
            threat,
            json,
        } = cmd;
        let store = open_existing(&data_dir)?;
        let mut docs = hunt::docs::DocStore::new(store).list()?;
        docs.retain(|d| threat.as_ref().is_none_or(|t| &d.threat == t));
        let mut out = io::stdout().lock();
        if json {
            writeln!(out, "{}", serde_json::to_string(&docs)?)?;
        } else {
            docs.sort_by_key(|d| std::cmp::Reverse(d.last_seen_us));
            writeln!(
                out,
                "{:>6} {:<5} {:<24} {:<24} {:<22} {:>6}  FIRST SEEN / LAST SEEN",
                "ID", "KIND", "ASSET", "THREAT", "KILL CHAIN", "EVENTS"
            )?;
            for d in &docs {
                writeln!(
                    out,
                    "{:>6} {:<5} {:<24} {:<24} {:<22} {:>6}  {} / {}",
                    d.id,
                    if d.kind == hunt::DocKind::Doc {
                        "doc"
                    } else {
                        "dopv"
                    },
                    d.asset,
                    d.threat,
                    d.kill_chain.value(),
                    d.count,
                    d.first_seen,
                    d.last_seen
                )?;
            }
        }
        Ok(ExitCode::SUCCESS)
    })();
    r.unwrap_or_else(|e| fail("doc", e))
}

pub(crate) fn webhook(cmd: WebhookCommand) -> ExitCode {
    let r = (|| -> Result<ExitCode> {
        match cmd {
            WebhookCommand::Add {
                data_dir,
                name,
                url,
                template,
                secret_file,
            } => {
                let secret = match &secret_file {
                    Some(p) => Some(
                        std::fs::read_to_string(p)
                            .with_context(|| format!("--secret-file {}", p.display()))?
                            .trim()
                            .to_owned(),
                    ),
                    None => None,
                };
                let w = hunt::Webhook {
                    name,
                    url,
                    template,
                    secret,
                };
                export::check_template(&w)?;
                let store = open(&data_dir)?;
                hunt::save_webhook(&store, &w)?;
                println!("webhook `{}` stored", w.name);
            }
            WebhookCommand::Ls { data_dir, json } => {
                let store = open_existing(&data_dir)?;
                let hooks = hunt::list_webhooks(&store)?;
                let pending = export::pending(&store);
                if json {
                    let v: Vec<serde_json::Value> = hooks
                        .iter()
                        .map(|w| serde_json::json!({"name": w.name, "url": w.url, "template": w.template, "signed": w.secret.is_some()}))
                        .collect();
                    println!("{}", serde_json::json!({"webhooks": v, "pending": pending}));
                } else {
                    for w in &hooks {
                        println!(
                            "{:<24} {:<12} {}{}",
                            w.name,
                            w.template,
                            w.url,
                            if w.secret.is_some() { "  (signed)" } else { "" }
                        );
                    }
                    println!("{pending} delivery(ies) queued");
                }
            }
            WebhookCommand::Rm { data_dir, name } => {
                let store = open_existing(&data_dir)?;
                if !hunt::remove_webhook(&store, &name)? {
                    bail!("no webhook named `{name}`");
                }
                println!("webhook `{name}` removed");
            }
            WebhookCommand::Deliver { data_dir, wait } => {
                let store = open_existing(&data_dir)?;
                let wait = parse_duration(&wait).context("--wait")?;
                let rep = export::deliver(&store, wait)?;
                print_delivery_to(&mut io::stdout().lock(), &rep)?;
                if rep.pending > 0 {
                    return Ok(ExitCode::from(1));
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })();
    r.unwrap_or_else(|e| fail("webhook", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes() {
        assert_eq!(
            parse_duration("60d").unwrap(),
            Duration::from_secs(60 * 86_400)
        );
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert!(parse_duration("5y").is_err());
        assert_eq!(parse_size("64M").unwrap(), 64 << 20);
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert!(parse_size("x").is_err());
    }
}
