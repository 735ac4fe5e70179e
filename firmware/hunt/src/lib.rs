//! Hunting and response: the hunt-filter language, stored filters with policy actions,
//! Declarations of Compromise, retro-hunts over the archive, and the live ingest path.
//!
//! Layer: above `store` (it reads and writes the trees and the archive through `store`'s API),
//! below the binaries. The management plane exposes these same functions; there is no second
//! implementation.
//!
//! The flow of an event (see [`ingest`]): policy actions in filter order (suppress, threshold,
//! tag, tagkeep, doc/dopv, notify) → kept events written to EVE and archived → declarations
//! made against the archived copy, so that a later retro-hunt over the same events finds the
//! same evidence and adds nothing.
#![forbid(unsafe_code)]

pub mod docs;
pub mod eval;
pub mod fields;
pub mod ingest;
pub mod model;
pub mod policy;
pub mod query;
pub mod retro;
pub mod search;
pub mod sets;
pub mod spec;

use serde::{Deserialize, Serialize};
use store::{Store, StoreError, Tree};

pub use model::{Action, Declaration, Doc, DocKind, Filter, KillChain};
pub use query::{Node, QueryError};

/// Longest filter name.
pub const MAX_FILTER_NAME: usize = 128;

/// Hunting errors, naming what failed.
#[derive(Debug, thiserror::Error)]
pub enum HuntError {
    /// A query does not parse.
    #[error("{what}: {error}")]
    Query {
        /// Which query.
        what: String,
        /// Where and why.
        error: QueryError,
    },
    /// State could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Output could not be written.
    #[error("writing events: {0}")]
    Io(#[from] std::io::Error),
    /// A request that cannot be carried out (unknown filter, bad name, ...).
    #[error("{0}")]
    Invalid(String),
}

/// Parses a query, checking field names against the catalog.
pub fn parse_query(q: &str) -> Result<Node, QueryError> {
    query::parse(q, &fields::check)
}

fn filter_key(name: &str) -> Vec<u8> {
    name.as_bytes().to_vec()
}

/// Checks a filter name: 1 to [`MAX_FILTER_NAME`] characters from `[A-Za-z0-9._-]`.
pub fn check_name(name: &str) -> Result<(), HuntError> {
    if name.is_empty()
        || name.len() > MAX_FILTER_NAME
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(HuntError::Invalid(format!(
            "filter name `{name}`: use 1 to {MAX_FILTER_NAME} letters, digits, `.`, `_` or `-`"
        )));
    }
    Ok(())
}

/// Stores a filter (replacing one of the same name) after checking its query.
pub fn save_filter(store: &Store, f: &Filter) -> Result<(), HuntError> {
    check_name(&f.name)?;
    policy::Compiled::new(f.clone())?;
    store.put(
        Tree::Filters,
        &filter_key(&f.name),
        &serde_json::to_vec(f).unwrap_or_default(),
    )?;
    store.flush()?;
    Ok(())
}

/// A stored filter.
pub fn get_filter(store: &Store, name: &str) -> Result<Option<Filter>, HuntError> {
    match store.get(Tree::Filters, &filter_key(name))? {
        None => Ok(None),
        Some(b) => serde_json::from_slice(&b).map(Some).map_err(|e| {
            HuntError::Store(StoreError::Corrupt {
                what: format!("filters/{name}"),
                why: e.to_string(),
            })
        }),
    }
}

/// Every stored filter, by name.
pub fn list_filters(store: &Store) -> Result<Vec<Filter>, HuntError> {
    let mut v = Vec::new();
    for kv in store.scan_prefix(Tree::Filters, b"") {
        let (k, b) = kv?;
        v.push(serde_json::from_slice(&b).map_err(|e| {
            HuntError::Store(StoreError::Corrupt {
                what: format!("filters/{}", String::from_utf8_lossy(&k)),
                why: e.to_string(),
            })
        })?);
    }
    Ok(v)
}

/// Filters as JSON with their counts (`seen`, `dropped`) and whether a retro-hunt is
/// pending: what `filter ls --json` prints locally and remotely.
pub fn filters_json(
    store: &Store,
    filters: &[Filter],
) -> Result<Vec<serde_json::Value>, HuntError> {
    filters
        .iter()
        .map(|f| {
            let c = filter_counts(store, &f.name)?;
            let mut v = serde_json::to_value(f)
                .map_err(|e| HuntError::Invalid(format!("filter `{}`: {e}", f.name)))?;
            v["seen"] = c.seen.into();
            v["dropped"] = c.dropped.into();
            v["retro_pending"] = retro::pending(store, &f.name)?.into();
            Ok(v)
        })
        .collect()
}

/// Removes a filter (and its counters and retro-hunt cursor); false if there was none.
pub fn remove_filter(store: &Store, name: &str) -> Result<bool, HuntError> {
    let had = store.remove(Tree::Filters, &filter_key(name))?.is_some();
    store.remove(Tree::Policy, format!("counts/{name}").as_bytes())?;
    store.remove(Tree::Policy, format!("retro/{name}").as_bytes())?;
    store.flush()?;
    Ok(had)
}

/// Stored seen/dropped counts of a filter.
pub fn filter_counts(store: &Store, name: &str) -> Result<policy::Counts, HuntError> {
    Ok(store
        .get(Tree::Policy, format!("counts/{name}").as_bytes())?
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default())
}

/// The live policy: every stored filter, compiled. A filter whose query no longer parses
/// (e.g. stored by a build with other fields) is left out with a warning, never fatal.
pub fn load_policy(store: &Store) -> Result<policy::Policy, HuntError> {
    let mut v = Vec::new();
    for f in list_filters(store)? {
        match policy::Compiled::new(f) {
            Ok(c) => v.push(c),
            Err(e) => tracing::warn!("{e}; filter left out"),
        }
    }
    Ok(policy::Policy::new(v))
}

/// A webhook receiver as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    /// Name.
    pub name: String,
    /// `http://` or `https://` URL.
    pub url: String,
    /// Payload template: `rocketchat`, `slack`, `mattermost`, `soar`, or a path to a Jinja
    /// template file.
    pub template: String,
    /// HMAC-SHA256 key for the signature header (none: unsigned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

const WEBHOOK_PREFIX: &[u8] = b"webhook/";

/// Stores a webhook.
pub fn save_webhook(store: &Store, w: &Webhook) -> Result<(), HuntError> {
    check_name(&w.name)?;
    if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
        return Err(HuntError::Invalid(format!(
            "webhook `{}`: URL `{}` is not http:// or https://",
            w.name, w.url
        )));
    }
    let mut k = WEBHOOK_PREFIX.to_vec();
    k.extend_from_slice(w.name.as_bytes());
    store.put(Tree::Config, &k, &serde_json::to_vec(w).unwrap_or_default())?;
    store.flush()?;
    Ok(())
}

/// Every configured webhook.
pub fn list_webhooks(store: &Store) -> Result<Vec<Webhook>, HuntError> {
    let mut v = Vec::new();
    for kv in store.scan_prefix(Tree::Config, WEBHOOK_PREFIX) {
        let (_, b) = kv?;
        if let Ok(w) = serde_json::from_slice(&b) {
            v.push(w);
        }
    }
    Ok(v)
}

/// Removes a webhook; false if there was none.
pub fn remove_webhook(store: &Store, name: &str) -> Result<bool, HuntError> {
    let mut k = WEBHOOK_PREFIX.to_vec();
    k.extend_from_slice(name.as_bytes());
    let had = store.remove(Tree::Config, &k)?.is_some();
    store.flush()?;
    Ok(had)
}

/// Names of the configured webhooks.
pub fn webhook_names(store: &Store) -> Result<Vec<String>, HuntError> {
    Ok(list_webhooks(store)?.into_iter().map(|w| w.name).collect())
}

/// Fuzz entry points (see `firmware/fuzz`).
#[doc(hidden)]
pub mod fuzzing {
    /// Parses `data` as a query (catalog-checked and unchecked); a query that parses is
    /// evaluated on a sample event and against an empty and a full block summary.
    pub fn fuzz_query(data: &[u8]) {
        let Ok(q) = std::str::from_utf8(data) else {
            return;
        };
        let _ = crate::parse_query(q);
        if let Ok(n) = crate::query::parse(q, &|_| Ok(())) {
            let ev = serde_json::json!({"event_type": "http", "src_ip": "10.0.0.1",
                "dest_port": 80, "http": {"url": "/a?b=c", "status": 200,
                "request_headers": [{"name": "Host", "value": "x"}]},
                "base64": {"functions": ["atob"]}});
            let _ = crate::eval::matches(&n, &ev);
            let empty = store::Bloom::with_capacity(0);
            let _ = crate::eval::may_match(&n, &empty);
        }
    }
}
