//! Versioned rule sets pushed over management: each is a file `DATA/rules/VERSION.rules`
//! (written aside and renamed in, so a reader never sees half of one) with its load report in
//! [`Tree::Config`] (`rules/set/VERSION`); `rules/active` names the active version and
//! `rules/history` the versions activated before it (for rollback). The daemon builds its
//! detection engine from the active set.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use store::{Store, Tree};

/// Most rule sets kept; pushing another removes the oldest one that is neither active nor in
/// the history.
pub const MAX_RULESETS: usize = 16;
/// Activations remembered for rollback.
pub const MAX_HISTORY: usize = 32;

const ACTIVE: &[u8] = b"rules/active";
const HISTORY: &[u8] = b"rules/history";

/// A stored rule set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleSet {
    /// Version name.
    pub version: String,
    /// SHA-256 of the text (hex).
    pub sha256: String,
    /// Size of the text.
    pub bytes: u64,
    /// Rules that loaded.
    pub loaded: usize,
    /// Rules that failed.
    pub failed: usize,
    /// When it was pushed (Unix seconds).
    pub pushed_at: i64,
}

fn set_key(version: &str) -> Vec<u8> {
    format!("rules/set/{version}").into_bytes()
}

fn dir(store: &Store) -> PathBuf {
    store.dir().join("rules")
}

/// The file of a rule set version.
pub fn path(store: &Store, version: &str) -> PathBuf {
    dir(store).join(format!("{version}.rules"))
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The active rule set's version and file, if one was activated.
pub fn active(store: &Store) -> Option<(String, PathBuf)> {
    let v = store.get(Tree::Config, ACTIVE).ok().flatten()?;
    let v = String::from_utf8(v).ok()?;
    let p = path(store, &v);
    Some((v, p))
}

fn history(store: &Store) -> Result<Vec<String>, String> {
    Ok(store
        .get(Tree::Config, HISTORY)
        .map_err(err)?
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default())
}

fn sets(store: &Store) -> Result<Vec<RuleSet>, String> {
    let mut v = Vec::new();
    for kv in store.scan_prefix(Tree::Config, b"rules/set/") {
        let (_, b) = kv.map_err(err)?;
        if let Ok(s) = serde_json::from_slice::<RuleSet>(&b) {
            v.push(s);
        }
    }
    v.sort_by_key(|s| s.pushed_at);
    Ok(v)
}

fn check_version(v: &str) -> Result<(), String> {
    if v.is_empty()
        || v.len() > 64
        || v.starts_with('.')
        || !v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(format!(
            "rule set version `{v}`: use 1 to 64 letters, digits, `.`, `_` or `-` (not first)"
        ));
    }
    Ok(())
}

/// Stores a rule set after loading it with Suricata's default variables; refuses one where
/// no rule loads. Returns its load report.
pub fn push(store: &Store, version: &str, text: &[u8]) -> Result<Value, String> {
    check_version(version)?;
    let d = dir(store);
    std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
    let tmp = d.join(format!(".{version}.rules.tmp"));
    std::fs::write(&tmp, text).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let report = detect::load_rule_files(std::slice::from_ref(&tmp), &BTreeMap::new(), None);
    let (loaded, failed) = (report.rules.len(), report.failures.len());
    if loaded == 0 {
        let _ = std::fs::remove_file(&tmp);
        let first = report
            .failures
            .first()
            .map(|f| format!(": line {}: {}: {}", f.line, f.keyword, f.reason))
            .unwrap_or_default();
        return Err(format!(
            "rule set `{version}`: no rule loads ({failed} failed{first})"
        ));
    }
    let dst = path(store, version);
    std::fs::rename(&tmp, &dst).map_err(|e| format!("{}: {e}", dst.display()))?;
    let set = RuleSet {
        version: version.to_string(),
        sha256: hex::encode(mgmt_proto::sha256(text)),
        bytes: text.len() as u64,
        loaded,
        failed,
        pushed_at: mgmt_proto::now_ms() / 1000,
    };
    store
        .put(
            Tree::Config,
            &set_key(version),
            &serde_json::to_vec(&set).map_err(err)?,
        )
        .map_err(err)?;
    prune(store)?;
    store.flush().map_err(err)?;
    let mut r = report.to_json();
    if let Some(f) = r.get_mut("failures").and_then(Value::as_array_mut) {
        f.truncate(50);
    }
    Ok(json!({"set": set, "report": r}))
}

fn prune(store: &Store) -> Result<(), String> {
    let all = sets(store)?;
    if all.len() <= MAX_RULESETS {
        return Ok(());
    }
    let keep: Vec<String> = active(store)
        .map(|(v, _)| v)
        .into_iter()
        .chain(history(store)?)
        .collect();
    let excess = all.len() - MAX_RULESETS;
    for s in all
        .iter()
        .filter(|s| !keep.contains(&s.version))
        .take(excess)
    {
        store
            .remove(Tree::Config, &set_key(&s.version))
            .map_err(err)?;
        let _ = std::fs::remove_file(path(store, &s.version));
    }
    Ok(())
}

/// Writes the active version and the history in one transaction.
fn set_active(store: &Store, version: &str, history: &[String]) -> Result<(), String> {
    store
        .commit(&[
            store::Op::Put(Tree::Config, ACTIVE.to_vec(), version.as_bytes().to_vec()),
            store::Op::Put(
                Tree::Config,
                HISTORY.to_vec(),
                serde_json::to_vec(history).map_err(err)?,
            ),
        ])
        .map_err(err)?;
    store.flush().map_err(err)
}

/// Makes `version` the active rule set.
pub fn activate(store: &Store, version: &str) -> Result<Value, String> {
    check_version(version)?;
    if store
        .get(Tree::Config, &set_key(version))
        .map_err(err)?
        .is_none()
        || !path(store, version).is_file()
    {
        return Err(format!("no rule set `{version}` on this probe"));
    }
    let mut h = history(store)?;
    if let Some((cur, _)) = active(store) {
        if cur == version {
            return Ok(json!({"active": version, "changed": false}));
        }
        h.push(cur);
        if h.len() > MAX_HISTORY {
            h.remove(0);
        }
    }
    set_active(store, version, &h)?;
    Ok(json!({"active": version, "changed": true}))
}

/// Re-activates the rule set active before the current one.
pub fn rollback(store: &Store) -> Result<Value, String> {
    let mut h = history(store)?;
    let prev = loop {
        let Some(p) = h.pop() else {
            return Err("no earlier rule set to roll back to".into());
        };
        // Skip versions pruned since.
        if path(store, &p).is_file() {
            break p;
        }
    };
    set_active(store, &prev, &h)?;
    Ok(json!({"active": prev}))
}

/// Stored sets, the active one, the history.
pub fn list(store: &Store) -> Result<Value, String> {
    Ok(json!({
        "sets": sets(store)?,
        "active": active(store).map(|(v, _)| v),
        "history": history(store)?,
    }))
}
