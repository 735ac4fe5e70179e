//! Execution of admitted commands. Each is a thin shell around `hunt`/`store`: the same
//! functions `probed filter`, `probed doc` and `probed hunt` call locally.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hunt::{retro, search};
use mgmt_proto::{Command, OperatorKey, Role};
use serde_json::{json, Value};
use store::Tree;

use crate::Shared;

/// Most DoCs in one `doc_list` answer.
pub const MAX_DOC_PAGE: u32 = 10_000;
/// Most audit entries in one `audit_get` answer.
pub const MAX_AUDIT_PAGE: u32 = 10_000;
/// Most sample events in one `hunt` answer.
pub const MAX_HUNT_SAMPLES: u32 = 1_000;
/// Most events in one `events_tail` answer.
pub const MAX_TAIL_EVENTS: u32 = 1_000;
/// Most bytes of EVE output read for one `events_tail` answer (the cursor resumes after).
pub const MAX_TAIL_BYTES: u64 = 8 << 20;
/// Without a cursor, how far back from the end the last events are looked for.
pub const TAIL_WINDOW: u64 = 4 << 20;

/// Settings an operator may change at run time, with their checks. The daemon reads them
/// (from [`Tree::Config`], key `cfg/NAME`) when it next opens the archive.
pub const CONFIG_KEYS: &[(&str, &str)] = &[
    ("archive.retention-days", "days events are kept (1..=3650)"),
    ("archive.max-size", "archive size cap (`64G`; 0: none)"),
    ("archive.min-free", "free disk space kept (`2G`)"),
];

fn check_config(key: &str, value: &str) -> Result<(), String> {
    match key {
        "archive.retention-days" => match value.parse::<u32>() {
            Ok(1..=3650) => Ok(()),
            _ => Err(format!(
                "{key}: `{value}` is not a number of days in 1..=3650"
            )),
        },
        "archive.max-size" | "archive.min-free" => mgmt_proto::units::parse_size(value)
            .map(|_| ())
            .map_err(|e| format!("{key}: {e}")),
        _ => Err(format!(
            "unknown setting `{key}` (known: {})",
            CONFIG_KEYS
                .iter()
                .map(|(k, _)| *k)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn config_key(key: &str) -> Vec<u8> {
    format!("cfg/{key}").into_bytes()
}

/// Reads a run-time setting.
pub fn config_value(store: &store::Store, key: &str) -> Option<String> {
    store
        .get(Tree::Config, &config_key(key))
        .ok()
        .flatten()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// A retro-hunt running on its own thread.
#[derive(Debug, Default)]
pub(crate) struct RetroRun {
    cancel: AtomicBool,
    done: AtomicUsize,
    total: AtomicUsize,
}

/// Running retro-hunts by filter name.
pub(crate) type Retros = Arc<Mutex<HashMap<String, Arc<RetroRun>>>>;

fn ack_key(operator: &str) -> Vec<u8> {
    format!("ack/{operator}").into_bytes()
}

fn ack_cursor(store: &store::Store, operator: &str) -> Result<u64, String> {
    Ok(store
        .get(Tree::Mgmt, &ack_key(operator))
        .map_err(err)?
        .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
        .map_or(0, u64::from_be_bytes))
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Runs one command for `operator`.
pub(crate) fn run(shared: &Shared, operator: &str, cmd: Command) -> Result<Value, String> {
    let store = shared.state.store();
    match cmd {
        Command::Status => {
            let c = &shared.counters;
            let archive = store.archive().stats().map_err(err)?;
            Ok(json!({
                "probe_id": shared.identity.id,
                "name": shared.identity.name,
                "version": env!("CARGO_PKG_VERSION"),
                "uptime_s": shared.started.elapsed().as_secs(),
                "daemon": (shared.ctx.status)(),
                "filters": store.count(Tree::Filters),
                "docs": store.count(Tree::Docs),
                "archive": {
                    "segments": archive.segments,
                    "events": archive.events,
                    "bytes": archive.bytes,
                },
                "mgmt": {
                    "connections": c.connections.load(Ordering::Relaxed),
                    "handshake_failures": c.handshake_failures.load(Ordering::Relaxed),
                    "accepted": c.accepted.load(Ordering::Relaxed),
                    "rejected": c.rejected.load(Ordering::Relaxed),
                    "refused": c.refused.load(Ordering::Relaxed),
                    "audit_entries": shared.state.audit_head().map(|h| h.next).unwrap_or(0),
                },
            }))
        }
        Command::FilterPush { spec } => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs();
            let f = hunt::spec::build(&spec, now).map_err(err)?;
            hunt::save_filter(store, &f).map_err(err)?;
            store.flush().map_err(err)?;
            (shared.ctx.changed)();
            let declares = f.action.as_ref().is_some_and(|a| a.declaration().is_some());
            let retro = if declares && f.enabled && !spec.no_retro {
                start_retro(shared, &f.name, f.retro_days)?
            } else {
                "none".to_string()
            };
            Ok(json!({"filter": f, "retro": retro}))
        }
        Command::FilterList => {
            let mut fs = hunt::list_filters(store).map_err(err)?;
            fs.sort_by(|a, b| (a.index, &a.name).cmp(&(b.index, &b.name)));
            Ok(Value::Array(hunt::filters_json(store, &fs).map_err(err)?))
        }
        Command::FilterRemove { name } => {
            if hunt::remove_filter(store, &name).map_err(err)? {
                store.flush().map_err(err)?;
                (shared.ctx.changed)();
                Ok(json!({"removed": name}))
            } else {
                Err(format!("no filter named `{name}`"))
            }
        }
        Command::DocList { after, limit } => {
            let docs = hunt::docs::DocStore::new(store.clone())
                .page(Some(after), limit.min(MAX_DOC_PAGE) as usize)
                .map_err(err)?;
            let next = docs.last().map_or(after, |d| d.id);
            Ok(json!({"docs": docs, "next": next}))
        }
        Command::RetroStart { filter, days } => {
            let state = start_retro(shared, &filter, days)?;
            Ok(json!({"filter": filter, "retro": state}))
        }
        Command::RetroStatus { filter } => {
            if hunt::get_filter(store, &filter).map_err(err)?.is_none() {
                return Err(format!("no filter named `{filter}`"));
            }
            let run = shared
                .retros
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&filter)
                .cloned();
            let cur = retro::cursor(store, &filter).map_err(err)?;
            Ok(json!({
                "filter": filter,
                "running": run.is_some(),
                "blocks_done": run.as_ref().map(|r| r.done.load(Ordering::Relaxed)),
                "blocks_total": run.as_ref().map(|r| r.total.load(Ordering::Relaxed)),
                "cursor": cur,
            }))
        }
        Command::RetroCancel { filter } => {
            let run = shared
                .retros
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&filter)
                .cloned();
            match run {
                Some(r) => {
                    r.cancel.store(true, Ordering::Relaxed);
                    Ok(json!({"filter": filter, "cancelled": true}))
                }
                None => Err(format!("no retro-hunt of `{filter}` is running")),
            }
        }
        Command::DocCollect { limit } => {
            let after = ack_cursor(store, operator)?;
            let docs = hunt::docs::DocStore::new(store.clone())
                .page(Some(after), limit.min(MAX_DOC_PAGE) as usize)
                .map_err(err)?;
            let next = docs.last().map_or(after, |d| d.id);
            Ok(json!({"docs": docs, "acknowledged": after, "next": next}))
        }
        Command::DocAck { upto } => {
            let cur = ack_cursor(store, operator)?;
            let new = cur.max(upto);
            store
                .put(Tree::Mgmt, &ack_key(operator), &new.to_be_bytes())
                .map_err(err)?;
            store.flush().map_err(err)?;
            Ok(json!({"acknowledged": new}))
        }
        Command::Hunt {
            query,
            since,
            until,
            samples,
        } => {
            let node = hunt::parse_query(&query).map_err(|e| {
                format!(
                    "{e}\n  {query}\n  {}^",
                    " ".repeat(e.column.saturating_sub(1))
                )
            })?;
            let archive = store.archive();
            let newest = retro::archive_now(&archive).map_err(err)?.unwrap_or(0);
            let opts = search::SearchOptions {
                since_us: since
                    .as_deref()
                    .map(|s| search::time_arg(s, newest))
                    .transpose()
                    .map_err(err)?,
                until_us: until
                    .as_deref()
                    .map(|s| search::time_arg(s, newest))
                    .transpose()
                    .map_err(err)?,
                samples: samples.min(MAX_HUNT_SAMPLES) as usize,
                ..Default::default()
            };
            let t = Instant::now();
            let r = search::search(&archive, &node, &opts, &|_, _| {}).map_err(err)?;
            Ok(r.to_json(t.elapsed().as_secs_f64()))
        }
        Command::EventsTail {
            query,
            cursor,
            limit,
        } => {
            let path = shared
                .ctx
                .eve
                .as_deref()
                .ok_or("this probe has no EVE output to tail")?;
            let node = query
                .as_deref()
                .map(|q| {
                    hunt::parse_query(q).map_err(|e| {
                        format!("{e}\n  {q}\n  {}^", " ".repeat(e.column.saturating_sub(1)))
                    })
                })
                .transpose()?;
            crate::tail::tail(path, node.as_ref(), cursor, limit.min(MAX_TAIL_EVENTS))
        }
        Command::ConfigGet { key } => {
            let mut m = serde_json::Map::new();
            for (k, _) in CONFIG_KEYS {
                if key.as_deref().is_none_or(|want| want == *k) {
                    m.insert(
                        (*k).to_string(),
                        config_value(store, k).map_or(Value::Null, Value::String),
                    );
                }
            }
            if let Some(k) = key {
                if m.is_empty() {
                    return check_config(&k, "").map(|_| Value::Null);
                }
            }
            Ok(Value::Object(m))
        }
        Command::ConfigSet { key, value } => {
            check_config(&key, &value)?;
            store
                .put(Tree::Config, &config_key(&key), value.as_bytes())
                .map_err(err)?;
            store.flush().map_err(err)?;
            (shared.ctx.changed)();
            Ok(json!({ key: value }))
        }
        Command::KeysList => {
            let keys = shared.state.keys().map_err(err)?;
            let crl = shared.state.crl().map_err(err)?;
            Ok(json!({
                "keys": keys,
                "crl": crl.map(|c| json!({"bytes": c.len(), "sha256": hex::encode(mgmt_proto::sha256(&c))})),
            }))
        }
        Command::KeysPush { keys, crl } => {
            check_keys(&keys)?;
            if !crl.is_empty() {
                crate::tls::check_crl(&shared.ca, &crl)?;
            }
            shared.state.set_keys(&keys, &crl).map_err(err)?;
            shared.reload_tls().map_err(err)?;
            Ok(json!({"keys": keys.len(), "crl_bytes": crl.len()}))
        }
        Command::RulesPush {
            version,
            rules_lz4,
            activate,
        } => {
            let text = mgmt_proto::decompress_rules(&rules_lz4)?;
            let mut r = crate::rules::push(store, &version, &text)?;
            if activate {
                r["activate"] = crate::rules::activate(store, &version)?;
                (shared.ctx.changed)();
            }
            Ok(r)
        }
        Command::RulesActivate { version } => {
            let r = crate::rules::activate(store, &version)?;
            (shared.ctx.changed)();
            Ok(r)
        }
        Command::RulesRollback => {
            let r = crate::rules::rollback(store)?;
            (shared.ctx.changed)();
            Ok(r)
        }
        Command::RulesList => crate::rules::list(store),
        Command::IntelPush { name, feed_lz4 } => {
            if !analytics::intel::valid_feed_name(&name) {
                return Err(format!(
                    "feed name `{name}`: letters, digits, `.`, `_`, `-`, at most {} characters",
                    analytics::intel::MAX_FEED_NAME
                ));
            }
            let text = mgmt_proto::decompress_rules(&feed_lz4)
                .map_err(|e| e.replace("rule set", "feed"))?;
            let feed = analytics::intel::Feed::parse(&name, &text);
            if feed.indicators.is_empty() {
                let first = feed
                    .errors
                    .first()
                    .map(|e| format!(" (line {}: {})", e.line, e.reason))
                    .unwrap_or_default();
                return Err(format!("feed `{name}`: no usable indicator{first}"));
            }
            store
                .put(Tree::Intel, name.as_bytes(), &text)
                .map_err(err)?;
            store.flush().map_err(err)?;
            (shared.ctx.changed)();
            Ok(json!({
                "name": name,
                "indicators": feed.indicators.len(),
                "refused": feed.refused,
                "errors": feed.errors,
            }))
        }
        Command::IntelRemove { name } => {
            if store
                .remove(Tree::Intel, name.as_bytes())
                .map_err(err)?
                .is_none()
            {
                return Err(format!("no feed named `{name}`"));
            }
            store.flush().map_err(err)?;
            (shared.ctx.changed)();
            Ok(json!({"removed": name}))
        }
        Command::IntelList => {
            let feeds = analytics::intel::stored_feeds(store).map_err(err)?;
            let set = analytics::intel::IntelSet::build(&feeds);
            Ok(json!({
                "feeds": feeds.iter().map(|f| json!({
                    "name": f.name,
                    "indicators": f.indicators.len(),
                    "refused": f.refused,
                })).collect::<Vec<_>>(),
                "counts": set.counts(),
            }))
        }
        Command::UpdateChunk {
            bundle_sha256,
            total,
            offset,
            data,
        } => crate::updates::chunk(store.dir(), &bundle_sha256, total, offset, &data),
        Command::UpdateApply {
            bundle_sha256,
            reboot,
        } => {
            let mut out = crate::updates::apply(
                store.dir(),
                shared.ctx.update_config.as_ref(),
                &bundle_sha256,
            )?;
            if reboot {
                // After the answer has gone out: the operator learns the install worked.
                std::thread::spawn(|| {
                    std::thread::sleep(std::time::Duration::from_secs(2));
                    tracing::warn!("rebooting into the updated slot (update_apply)");
                    if let Err(e) = std::process::Command::new("systemctl")
                        .arg("reboot")
                        .status()
                    {
                        tracing::error!("systemctl reboot: {e}");
                    }
                });
                out["rebooting"] = json!(true);
            }
            Ok(out)
        }
        Command::UpdateStatus => crate::updates::status(shared.ctx.update_config.as_ref()),
        Command::AuditGet { from, limit } => {
            let head = shared.state.audit_head().map_err(err)?;
            let (entries, next) = shared
                .state
                .audit_entries(from, limit.clamp(1, MAX_AUDIT_PAGE) as usize)
                .map_err(err)?;
            Ok(json!({"head": head, "entries": entries, "next": next}))
        }
    }
}

/// A pushed key list must be usable: well-formed keys whose ids match, and at least one admin
/// left, so that a mistaken push cannot lock every operator out.
fn check_keys(keys: &[OperatorKey]) -> Result<(), String> {
    for k in keys {
        let public = hex::decode(&k.public_key)
            .map_err(|_| format!("key `{}`: public key is not hex", k.name))?;
        if public.len() != 32 {
            return Err(format!(
                "key `{}`: an Ed25519 public key has 32 bytes, not {}",
                k.name,
                public.len()
            ));
        }
        if mgmt_proto::key_id(&public) != k.key_id {
            return Err(format!(
                "key `{}`: id {} does not match its public key",
                k.name, k.key_id
            ));
        }
    }
    if !keys.iter().any(|k| k.role == Role::Admin && !k.revoked) {
        return Err("the key list has no usable admin key: refused".into());
    }
    Ok(())
}

/// Starts (or resumes) a filter's retro-hunt on its own thread; returns `started` or
/// `running`.
fn start_retro(shared: &Shared, name: &str, days: Option<u32>) -> Result<String, String> {
    let store = shared.state.store().clone();
    let f = hunt::get_filter(&store, name)
        .map_err(err)?
        .ok_or_else(|| format!("no filter named `{name}`"))?;
    let days = days.or(f.retro_days).unwrap_or(retro::DEFAULT_RETRO_DAYS);
    let c = hunt::policy::Compiled::new(f).map_err(err)?;
    if c.filter
        .action
        .as_ref()
        .and_then(|a| a.declaration())
        .is_none()
    {
        return Err(format!(
            "filter `{name}` has no doc or dopv action to apply to the past"
        ));
    }
    let run = {
        let mut running = shared.retros.lock().unwrap_or_else(|p| p.into_inner());
        if running.contains_key(name) {
            return Ok("running".into());
        }
        let run = Arc::new(RetroRun::default());
        running.insert(name.to_string(), run.clone());
        run
    };
    let retros = Arc::clone(&shared.retros);
    let name = name.to_string();
    let spawned = std::thread::Builder::new()
        .name("retro-hunt".into())
        .spawn(move || {
            let docs = hunt::docs::DocStore::new(store.clone());
            let webhooks = hunt::webhook_names(&store).unwrap_or_default();
            let mut progress = |done: usize, total: usize| {
                run.done.store(done, Ordering::Relaxed);
                run.total.store(total, Ordering::Relaxed);
                !run.cancel.load(Ordering::Relaxed)
            };
            match retro::retro_hunt(&store, &docs, &c, days, &webhooks, &mut progress) {
                Ok(rep) => tracing::info!(
                    "retro-hunt `{name}`: {} matches, {} new declarations{}",
                    rep.matched,
                    rep.created.len(),
                    if rep.stopped { " (cancelled)" } else { "" }
                ),
                Err(e) => tracing::warn!("retro-hunt `{name}`: {e}"),
            }
            retros
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&name);
        });
    match spawned {
        Ok(_) => Ok("started".into()),
        Err(e) => Err(format!("cannot start the retro-hunt: {e}")),
    }
}
