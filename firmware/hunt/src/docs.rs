//! Declarations of Compromise: one per (asset, named threat), evidence appended idempotently,
//! webhook deliveries queued in the same transaction.
//!
//! Invariants:
//! - A DoC, its dedup key, its first evidence and its outbox entries are written in one
//!   transaction and flushed before [`DocStore::declare`] returns it as new: a DoC reported
//!   created survives `kill -9`.
//! - Evidence is keyed by (DoC id, archived event): the same event never counts twice, so a
//!   retro-hunt run again, or resumed after a crash, adds nothing.

use std::sync::{Arc, Mutex};

use serde_json::Value;
use store::{EventRef, Op, Store, Tree};
use types::Timestamp;

use crate::eval::values_at;
use crate::model::{Declaration, Doc, DocKind, Origin, MAX_DOC_SAMPLE};
use crate::HuntError;

/// Outbox key prefix of DoC deliveries: `doc/` + DoC id (BE) + `/` + webhook name.
pub const OUTBOX_DOC_PREFIX: &[u8] = b"doc/";

/// Reads and writes DoCs in the store. Clones share one lock, so the live path and a
/// retro-hunt thread never interleave a read-modify-write of the same DoC.
#[derive(Debug, Clone)]
pub struct DocStore {
    store: Store,
    lock: Arc<Mutex<()>>,
}

/// What [`DocStore::declare`] did.
#[derive(Debug, Default)]
pub struct Declared {
    /// DoCs created (flushed).
    pub created: Vec<Doc>,
    /// Evidence added to existing DoCs.
    pub evidence_added: u64,
}

fn now_string() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_secs_nanos(d.as_secs(), u64::from(d.subsec_nanos())).to_eve_string()
}

fn first_string(ev: &Value, field: &str) -> Option<String> {
    let mut vals = Vec::new();
    values_at(ev, field, &mut vals);
    vals.into_iter().find_map(|v| match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

fn dedup_key(kind: DocKind, threat: &str, asset: &str) -> Vec<u8> {
    let k = match kind {
        DocKind::Doc => "doc",
        DocKind::Dopv => "dopv",
    };
    format!("{k}\0{threat}\0{asset}").into_bytes()
}

fn evidence_key(id: u64, r: EventRef) -> Vec<u8> {
    let mut k = id.to_be_bytes().to_vec();
    k.extend_from_slice(&r.to_key());
    k
}

fn corrupt(what: String, e: serde_json::Error) -> HuntError {
    HuntError::Store(store::StoreError::Corrupt {
        what,
        why: e.to_string(),
    })
}

impl DocStore {
    /// DoCs in `store`.
    pub fn new(store: Store) -> DocStore {
        DocStore {
            store,
            lock: Arc::new(Mutex::new(())),
        }
    }

    /// Declares for the event `ev` (time `ts_us`, archived at `r`) what `decl` says: one
    /// DoC per tracked asset, new or with this event added as evidence. `webhooks` names the
    /// receivers a new DoC is queued for (when the declaration asks for webhooks).
    #[allow(clippy::too_many_arguments)]
    pub fn declare(
        &self,
        filter: &str,
        kind: DocKind,
        decl: &Declaration,
        ev: &Value,
        ts_us: i64,
        r: EventRef,
        origin: Origin,
        webhooks: &[String],
    ) -> Result<Declared, HuntError> {
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let offender = first_string(ev, &decl.offender_key);
        let target = first_string(ev, &decl.target_key);
        let mut assets = Vec::new();
        if decl.track_target {
            if let Some(t) = &target {
                assets.push((t.clone(), "target"));
            }
        }
        if decl.track_offender {
            if let Some(o) = &offender {
                assets.push((o.clone(), "offender"));
            }
        }
        let ts_str = ev
            .get("timestamp")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| {
                Timestamp(u64::try_from(ts_us).unwrap_or(0).saturating_mul(1000)).to_eve_string()
            });
        let mut out = Declared::default();
        for (asset, role) in assets {
            let dk = dedup_key(kind, &decl.threat, &asset);
            match self.store.get(Tree::DocKeys, &dk)? {
                Some(idb) => {
                    let id =
                        u64::from_be_bytes(<[u8; 8]>::try_from(idb.as_slice()).map_err(|_| {
                            HuntError::Store(store::StoreError::Corrupt {
                                what: "doc_keys".into(),
                                why: "id length".into(),
                            })
                        })?);
                    let ek = evidence_key(id, r);
                    if self.store.get(Tree::DocEvidence, &ek)?.is_some() {
                        continue;
                    }
                    let Some(raw) = self.store.get(Tree::Docs, &id.to_be_bytes())? else {
                        continue;
                    };
                    let mut doc: Doc = serde_json::from_slice(&raw)
                        .map_err(|e| corrupt(format!("docs/{id}"), e))?;
                    doc.count += 1;
                    if ts_us < doc.first_seen_us {
                        doc.first_seen_us = ts_us;
                        doc.first_seen = ts_str.clone();
                    }
                    if ts_us > doc.last_seen_us {
                        doc.last_seen_us = ts_us;
                        doc.last_seen = ts_str.clone();
                    }
                    if doc.evidence.len() < MAX_DOC_SAMPLE {
                        doc.evidence.push(r.to_string());
                    }
                    self.store.commit(&[
                        Op::PutIfAbsent(Tree::DocEvidence, ek, Vec::new()),
                        Op::Put(Tree::Docs, id.to_be_bytes().to_vec(), to_json(&doc)),
                    ])?;
                    out.evidence_added += 1;
                }
                None => {
                    let id = self.store.next_id()?;
                    let doc = Doc {
                        id,
                        kind,
                        asset: asset.clone(),
                        asset_role: role.into(),
                        threat: decl.threat.clone(),
                        family: decl.family.clone(),
                        kill_chain: decl.kill_chain,
                        offender: offender.clone(),
                        target: target.clone(),
                        target_type: decl.target_type,
                        filter: filter.to_owned(),
                        first_seen: ts_str.clone(),
                        first_seen_us: ts_us,
                        last_seen: ts_str.clone(),
                        last_seen_us: ts_us,
                        count: 1,
                        evidence: vec![r.to_string()],
                        origin,
                        created: now_string(),
                    };
                    let body = to_json(&doc);
                    let mut ops = vec![
                        Op::Put(Tree::DocKeys, dk, id.to_be_bytes().to_vec()),
                        Op::Put(Tree::Docs, id.to_be_bytes().to_vec(), body.clone()),
                        Op::PutIfAbsent(Tree::DocEvidence, evidence_key(id, r), Vec::new()),
                    ];
                    if decl.webhook {
                        for w in webhooks {
                            let mut k = OUTBOX_DOC_PREFIX.to_vec();
                            k.extend_from_slice(&id.to_be_bytes());
                            k.push(b'/');
                            k.extend_from_slice(w.as_bytes());
                            ops.push(Op::Put(Tree::Outbox, k, body.clone()));
                        }
                    }
                    self.store.commit(&ops)?;
                    out.created.push(doc);
                }
            }
        }
        if !out.created.is_empty() {
            self.store.flush()?;
        }
        Ok(out)
    }

    /// Every DoC, oldest id first.
    pub fn list(&self) -> Result<Vec<Doc>, HuntError> {
        self.page(None, usize::MAX)
    }

    /// At most `limit` DoCs with ids above `after` (all when `None`), oldest id first: the
    /// cursor a collector (`probectl doc ls --after`) pages with.
    pub fn page(&self, after: Option<u64>, limit: usize) -> Result<Vec<Doc>, HuntError> {
        let start = match after {
            None => Vec::new(),
            Some(u64::MAX) => return Ok(Vec::new()),
            Some(a) => (a + 1).to_be_bytes().to_vec(),
        };
        let mut v = Vec::new();
        for kv in self.store.range_from(Tree::Docs, &start) {
            if v.len() >= limit {
                break;
            }
            let (k, raw) = kv?;
            v.push(
                serde_json::from_slice(&raw)
                    .map_err(|e| corrupt(format!("docs/{}", hex_key(&k)), e))?,
            );
        }
        Ok(v)
    }
}

fn hex_key(k: &[u8]) -> String {
    k.iter().map(|b| format!("{b:02x}")).collect()
}

fn to_json<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

/// The EVE `doc` event for a new declaration, on the time line of its first evidence.
pub fn doc_event(doc: &Doc, ev: &Value) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("timestamp".into(), Value::String(doc.first_seen.clone()));
    for k in [
        "flow_id",
        "src_ip",
        "src_port",
        "dest_ip",
        "dest_port",
        "proto",
        "app_proto",
    ] {
        if let Some(v) = ev.get(k) {
            m.insert(k.into(), v.clone());
        }
    }
    m.insert("event_type".into(), Value::String("doc".into()));
    let mut d = serde_json::to_value(doc).unwrap_or(Value::Null);
    if let Value::Object(o) = &mut d {
        o.insert(
            "kill_chain_label".into(),
            Value::String(doc.kill_chain.label().into()),
        );
        o.insert("kill_chain_step".into(), Value::from(doc.kill_chain.step()));
        o.insert(
            "evidence_event_type".into(),
            ev.get("event_type").cloned().unwrap_or(Value::Null),
        );
    }
    m.insert("doc".into(), d);
    Value::Object(m)
}
