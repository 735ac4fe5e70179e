//! Webhook delivery: every declaration queued in the store's outbox reaches every configured
//! receiver exactly once, however long the receiver is down.
//!
//! - The outbox entry is written in the same transaction as the DoC (see `hunt::docs`), so a
//!   DoC never exists without its pending deliveries.
//! - An entry is removed (and the removal flushed) only after the receiver answered 2xx. A
//!   crash between the answer and the removal resends once; every request carries
//!   `X-Probe-Delivery` (the entry's key, stable across retries) so a receiver can drop such a
//!   duplicate.
//! - Failures are retried with exponential backoff (250 ms doubling to 30 s) for as long as the
//!   caller allows; what is left stays queued for the next run.
//! - Payloads come from templates (minijinja, the Jinja dialect Stamus users write): built-in
//!   `rocketchat`, `slack`, `mattermost` and `soar` (the DoC as JSON), or a template file. With
//!   a secret, `X-Probe-Signature: sha256=HEX` is the HMAC-SHA256 of the exact body bytes.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use hunt::Webhook;
use serde::Serialize;
use serde_json::Value;
use store::{Store, Tree};

/// Largest template file read.
pub const MAX_TEMPLATE: usize = 64 * 1024;
/// Largest rendered payload sent.
pub const MAX_PAYLOAD: usize = 1 << 20;
/// Per-request timeout.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// First retry delay.
const BACKOFF_START: Duration = Duration::from_millis(250);
/// Longest retry delay.
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Text shared by the chat templates.
const CHAT_TEXT: &str = "{{ kind_label }} on {{ doc.asset }}: {{ doc.threat }}{% if doc.family %} ({{ doc.family }}){% endif %}, {{ kill_chain.label }}. Offender {{ doc.offender or '-' }}, target {{ doc.target or '-' }}; first seen {{ doc.first_seen }}, filter {{ doc.filter }}.";

fn builtin(name: &str) -> Option<String> {
    let t = match name {
        "slack" => "{{ {\"text\": text} | tojson }}".to_owned(),
        "mattermost" => "{{ {\"text\": text, \"username\": \"ndr-probe\"} | tojson }}".to_owned(),
        "rocketchat" => "{{ {\"alias\": \"ndr-probe\", \"text\": text, \"attachments\": [{\"title\": doc.threat ~ \" on \" ~ doc.asset, \"text\": \"kill chain: \" ~ kill_chain.label ~ \", evidence: \" ~ doc.count ~ \" event(s)\", \"color\": \"#d00000\"}]} | tojson }}".to_owned(),
        "soar" => "{{ {\"type\": \"declaration\", \"kind\": doc.kind, \"doc\": doc, \"threat\": threat, \"family\": family, \"kill_chain\": kill_chain, \"method\": method} | tojson }}".to_owned(),
        _ => return None,
    };
    Some(t)
}

/// What went wrong, naming the webhook.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A template does not load or render.
    #[error("webhook `{name}`: template: {msg}")]
    Template {
        /// Webhook.
        name: String,
        /// Why.
        msg: String,
    },
    /// State.
    #[error(transparent)]
    Hunt(#[from] hunt::HuntError),
    /// State.
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

/// A receiver ready to post to.
struct Receiver {
    hook: Webhook,
    template: String,
}

/// What a delivery run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeliveryReport {
    /// Deliveries acknowledged by their receiver.
    pub delivered: u64,
    /// Attempts that failed (and will be retried).
    pub failed_attempts: u64,
    /// Entries still queued.
    pub pending: u64,
    /// Entries for webhooks that no longer exist, removed.
    pub orphaned: u64,
    /// The last error per webhook.
    pub errors: HashMap<String, String>,
}

/// Renders `template` for a DoC (`kind_label`, `doc`, `threat`, `family`, `kill_chain`,
/// `method`, `text` are in scope).
pub fn render(name: &str, template: &str, doc: &Value) -> Result<String, ExportError> {
    let terr = |e: minijinja::Error| ExportError::Template {
        name: name.to_owned(),
        msg: e.to_string(),
    };
    let mut env = minijinja::Environment::new();
    env.add_template("text", CHAT_TEXT).map_err(terr)?;
    env.add_template("payload", template).map_err(terr)?;
    let kc = doc.get("kill_chain").and_then(Value::as_str).unwrap_or("");
    let kc_label = doc
        .get("kill_chain")
        .cloned()
        .and_then(|v| serde_json::from_value::<hunt::KillChain>(v).ok())
        .map(|k| (k.label(), k.step()));
    let kind_label = if doc.get("kind").and_then(Value::as_str) == Some("dopv") {
        "Declaration of Policy Violation"
    } else {
        "Declaration of Compromise"
    };
    let mut ctx = serde_json::json!({
        "kind_label": kind_label,
        "doc": doc,
        "threat": {"name": doc.get("threat"), "kill_chain": kc},
        "family": {"name": doc.get("family")},
        "kill_chain": {"value": kc, "label": kc_label.map(|k| k.0), "step": kc_label.map(|k| k.1)},
        "method": {"source_key": "offender", "target_key": "target",
                   "target_type": doc.get("target_type"), "filter": doc.get("filter")},
    });
    let text = env
        .get_template("text")
        .and_then(|t| t.render(&ctx))
        .map_err(terr)?;
    ctx["text"] = Value::String(text);
    let out = env
        .get_template("payload")
        .and_then(|t| t.render(&ctx))
        .map_err(terr)?;
    if out.len() > MAX_PAYLOAD {
        return Err(ExportError::Template {
            name: name.to_owned(),
            msg: format!("payload of {} bytes is over {MAX_PAYLOAD}", out.len()),
        });
    }
    Ok(out)
}

/// HMAC-SHA256 of `body` under `key`, hex.
pub fn signature(key: &[u8], body: &[u8]) -> String {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    hex::encode(ring::hmac::sign(&k, body).as_ref())
}

fn load_receivers(store: &Store) -> Result<HashMap<String, Receiver>, ExportError> {
    let mut m = HashMap::new();
    for hook in hunt::list_webhooks(store)? {
        let template = match builtin(&hook.template) {
            Some(t) => t,
            None => {
                let t =
                    std::fs::read_to_string(&hook.template).map_err(|e| ExportError::Template {
                        name: hook.name.clone(),
                        msg: format!("{}: {e}", hook.template),
                    })?;
                if t.len() > MAX_TEMPLATE {
                    return Err(ExportError::Template {
                        name: hook.name.clone(),
                        msg: format!("{}: longer than {MAX_TEMPLATE} bytes", hook.template),
                    });
                }
                t
            }
        };
        // Check it renders before anything is sent.
        render(&hook.name, &template, &serde_json::json!({"threat": "t"}))?;
        m.insert(hook.name.clone(), Receiver { hook, template });
    }
    Ok(m)
}

/// Checks a webhook's template (built-in name or file) loads and renders.
pub fn check_template(hook: &Webhook) -> Result<(), ExportError> {
    let t = match builtin(&hook.template) {
        Some(t) => t,
        None => std::fs::read_to_string(&hook.template).map_err(|e| ExportError::Template {
            name: hook.name.clone(),
            msg: format!("{}: {e}", hook.template),
        })?,
    };
    render(&hook.name, &t, &serde_json::json!({"threat": "t"})).map(|_| ())
}

/// Splits an outbox key `doc/ID(8)/NAME` or `event/REF(12)/NAME` into (delivery id, webhook).
fn parse_key(k: &[u8]) -> Option<(String, String)> {
    let (prefix, rest) = if let Some(r) = k.strip_prefix(hunt::docs::OUTBOX_DOC_PREFIX) {
        ("doc", r)
    } else if let Some(r) = k.strip_prefix(hunt::ingest::OUTBOX_EVENT_PREFIX) {
        ("event", r)
    } else {
        return None;
    };
    let n = if prefix == "doc" { 8 } else { 12 };
    if rest.len() < n + 2 || rest[n] != b'/' {
        return None;
    }
    let id = hex::encode(&rest[..n]);
    let name = String::from_utf8(rest[n + 1..].to_vec()).ok()?;
    Some((format!("{prefix}-{id}"), name))
}

/// Number of queued deliveries.
pub fn pending(store: &Store) -> usize {
    store.count(Tree::Outbox)
}

/// Delivers the outbox, retrying failures with backoff until it is empty or `wait` has passed
/// (a zero `wait` makes one pass).
pub fn deliver(store: &Store, wait: Duration) -> Result<DeliveryReport, ExportError> {
    let receivers = load_receivers(store)?;
    let agent = ureq::AgentBuilder::new()
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("ndr-probe/", env!("CARGO_PKG_VERSION")))
        .build();
    let start = Instant::now();
    let mut rep = DeliveryReport::default();
    let mut backoff = BACKOFF_START;
    loop {
        let entries: Vec<(Vec<u8>, Vec<u8>)> = store
            .scan_prefix(Tree::Outbox, b"")
            .collect::<Result<_, _>>()?;
        let mut failed = 0;
        for (k, body) in entries {
            let Some((delivery, name)) = parse_key(&k) else {
                store.remove(Tree::Outbox, &k)?;
                rep.orphaned += 1;
                continue;
            };
            let Some(r) = receivers.get(&name) else {
                store.remove(Tree::Outbox, &k)?;
                rep.orphaned += 1;
                continue;
            };
            let item: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let payload = if delivery.starts_with("doc-") {
                render(&name, &r.template, &item)?
            } else {
                serde_json::json!({"type": "event", "event": item}).to_string()
            };
            let mut req = agent
                .post(&r.hook.url)
                .set("Content-Type", "application/json")
                .set("X-Probe-Delivery", &delivery);
            if let Some(s) = &r.hook.secret {
                req = req.set(
                    "X-Probe-Signature",
                    &format!("sha256={}", signature(s.as_bytes(), payload.as_bytes())),
                );
            }
            match req.send_string(&payload) {
                Ok(resp) if (200..300).contains(&resp.status()) => {
                    store.remove(Tree::Outbox, &k)?;
                    store.flush()?;
                    rep.delivered += 1;
                }
                Ok(resp) => {
                    failed += 1;
                    rep.errors
                        .insert(name.clone(), format!("HTTP {}", resp.status()));
                }
                Err(e) => {
                    failed += 1;
                    let msg = match &e {
                        ureq::Error::Status(code, _) => format!("HTTP {code}"),
                        ureq::Error::Transport(t) => t.to_string(),
                    };
                    tracing::debug!("webhook {name}: {msg}");
                    rep.errors.insert(name.clone(), msg);
                }
            }
        }
        rep.failed_attempts += failed;
        if failed == 0 || start.elapsed() + backoff > wait {
            break;
        }
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
    rep.pending = pending(store) as u64;
    if rep.pending == 0 {
        rep.errors.clear();
    }
    Ok(rep)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        serde_json::json!({"id": 7, "kind": "doc", "asset": "10.0.0.5", "threat": "Raiz0WorM",
            "family": "worm", "kill_chain": "installation", "offender": "10.0.0.5",
            "target": "192.0.2.1", "filter": "raiz", "first_seen": "2026-01-01T00:00:00.000000+0000",
            "count": 3, "target_type": "ip"})
    }

    #[test]
    fn builtin_templates_render_valid_json() {
        for t in ["slack", "mattermost", "rocketchat", "soar"] {
            let out = render(t, &builtin(t).unwrap(), &doc()).unwrap();
            let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{t}: {e}: {out}"));
            let s = v.to_string();
            assert!(s.contains("Raiz0WorM"), "{t}: {s}");
        }
        let soar: Value =
            serde_json::from_str(&render("soar", &builtin("soar").unwrap(), &doc()).unwrap())
                .unwrap();
        assert_eq!(soar["kill_chain"]["label"], "Installation");
        assert_eq!(soar["doc"]["asset"], "10.0.0.5");
        let slack: Value =
            serde_json::from_str(&render("slack", &builtin("slack").unwrap(), &doc()).unwrap())
                .unwrap();
        assert!(slack["text"]
            .as_str()
            .unwrap()
            .starts_with("Declaration of Compromise on 10.0.0.5: Raiz0WorM (worm), Installation"));
    }

    #[test]
    fn bad_templates_are_named_errors() {
        let e = render("x", "{{ oops", &doc()).unwrap_err().to_string();
        assert!(e.starts_with("webhook `x`: template"), "{e}");
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
