//! `probed hunt`, `probed filter`, `probed doc`, `probed webhook`: the local CLI over a data
//! directory. Each command is a thin shell around `hunt`/`export` (the management plane calls
//! the same functions).

use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use hunt::{retro, search};
use indicatif::{ProgressBar, ProgressStyle};
use store::Store;
use types::Timestamp;

use crate::cli::{DocCommand, FilterCommand, HuntArgs, WebhookCommand};

/// Parses `30s`, `5m`, `12h`, `60d`, `2w` (a bare number is seconds).
pub(crate) fn parse_duration(s: &str) -> Result<Duration> {
    mgmt_proto::units::parse_duration(s).map_err(|e| anyhow!(e))
}

/// Parses `64M`, `2G`, `500K`, `1T` or a byte count.
pub(crate) fn parse_size(s: &str) -> Result<u64> {
    mgmt_proto::units::parse_size(s).map_err(|e| anyhow!(e))
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

fn time_arg(s: &str, newest: i64) -> Result<i64> {
    Ok(search::time_arg(s, newest)?)
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
        writeln!(out, "{}", r.to_json(secs))?;
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
        true
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

fn run_filter(cmd: FilterCommand) -> Result<ExitCode> {
    match cmd {
        FilterCommand::Add(a) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            let f = hunt::spec::build(&a.spec, now.as_secs())?;
            let (no_retro, retro_days) = (a.spec.no_retro, f.retro_days);
            let store = open(&a.data_dir)?;
            hunt::save_filter(&store, &f)?;
            let declares = f.action.as_ref().is_some_and(|x| x.declaration().is_some());
            if declares && !no_retro && f.enabled {
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
                let v = hunt::filters_json(&store, &fs)?;
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

/// Feeds the archived `flow` events of the last `window_secs` (counted back from the
/// archive's newest time) to `f` as beacon connections, naming each flow by the TLS SNI or
/// HTTP Host of the archived events before it with the same `flow_id`; returns how many there
/// were.
pub(crate) fn archived_flows(
    store: &Store,
    window_secs: i64,
    f: &mut dyn FnMut(&analytics::beacon::Conn),
) -> Result<u64> {
    use serde_json::Value;
    let archive = store.archive();
    let Some(now) = archive.now()? else {
        return Ok(0);
    };
    let since = now.saturating_sub(window_secs.saturating_mul(1_000_000));
    let blocks = archive.blocks(Some(since), None)?;
    // Names of flows not ended yet (a flow's event comes after its app-layer events).
    let mut names: std::collections::HashMap<u64, (String, bool)> = Default::default();
    let str_at = |ev: &Value, p: &str| ev.pointer(p).and_then(Value::as_str).map(str::to_string);
    let secs = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .and_then(Timestamp::parse_eve)
            .map(|t| t.0 as f64 / 1e9)
    };
    let mut n = 0;
    for (id, info) in &blocks {
        for (_, ev) in archive.read_block(*id, info)? {
            let fid = ev.get("flow_id").and_then(Value::as_u64).unwrap_or(0);
            match ev.get("event_type").and_then(Value::as_str) {
                Some("tls") => {
                    if let Some(s) = str_at(&ev, "/tls/sni") {
                        names.entry(fid).or_insert((s, false));
                    }
                }
                Some("http") => {
                    let Some(h) = str_at(&ev, "/http/hostname") else {
                        continue;
                    };
                    let m = str_at(&ev, "/http/http_method").unwrap_or_default();
                    let u = str_at(&ev, "/http/url").unwrap_or_default();
                    let (name, proxied) = analytics::beacon::http_request_name(&h, &m, &u);
                    let name = name.to_string();
                    let e = names.entry(fid).or_insert_with(|| (name.clone(), proxied));
                    if proxied {
                        *e = (name, true);
                    }
                }
                Some("flow") => {
                    let ip = |k: &str| str_at(&ev, k).and_then(|s| s.parse().ok());
                    let (Some(src), Some(dst)) = (ip("/src_ip"), ip("/dest_ip")) else {
                        continue;
                    };
                    let Some(start) =
                        secs(ev.pointer("/flow/start")).or_else(|| secs(ev.get("timestamp")))
                    else {
                        continue;
                    };
                    let end = secs(ev.pointer("/flow/end")).unwrap_or(start);
                    let num = |p: &str| ev.pointer(p).and_then(Value::as_u64).unwrap_or(0);
                    let (fqdn, proxied) = match names.remove(&fid) {
                        Some((n, p)) => (Some(n), p),
                        None => (None, false),
                    };
                    f(&analytics::beacon::Conn {
                        ts: start,
                        src,
                        dst,
                        dport: u16::try_from(num("/dest_port")).unwrap_or(0),
                        orig_bytes: num("/flow/bytes_toserver"),
                        resp_bytes: num("/flow/bytes_toclient"),
                        duration: (end - start).max(0.0),
                        fqdn,
                        proxied,
                    });
                    n += 1;
                }
                _ => {}
            }
        }
    }
    Ok(n)
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
