//! Management state in sled: trusted operator keys, the last sequence number per key, recent
//! nonces, the revocation list, and the audit chain.
//!
//! Keys in [`Tree::Mgmt`]: `s/<key id>` → last accepted sequence (u64 BE); `n/<nonce>` →
//! expiry of the request that used it (i64 BE, ms); `crl` → the revocation list (DER);
//! `audit/head` → the [`AuditHead`] (CBOR). [`Tree::Audit`] holds entries by index (u64 BE).
//! An entry and the head that names it are written in one transaction, so the chain on disk
//! is always whole.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use mgmt_proto::audit::{AuditEntry, AuditHead};
use mgmt_proto::{from_cbor, to_cbor, OperatorKey};
use store::{Op, Store, StoreError, Tree};

/// Most audit entries kept; beyond it the oldest [`AUDIT_PRUNE`] go and the chain base moves.
pub const MAX_AUDIT_ENTRIES: u64 = 1_000_000;
/// Entries pruned at once when the audit log is full.
pub const AUDIT_PRUNE: u64 = 10_000;
/// Most nonces remembered; a probe with this many live nonces refuses new requests until some
/// expire (only requests with valid signatures get this far).
pub const MAX_NONCES: usize = 1_000_000;

const HEAD_KEY: &[u8] = b"audit/head";
const CRL_KEY: &[u8] = b"crl";

/// The management state of one data directory.
#[derive(Debug)]
pub struct MgmtState {
    store: Store,
    /// Serialises the replay check-and-record and the audit appends.
    replay: Mutex<()>,
    audit: Mutex<()>,
    /// Live nonces (counted at open, kept up to date under `replay`).
    nonces: AtomicUsize,
}

/// Outcome of the replay check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fresh {
    /// New: recorded.
    Yes,
    /// Sequence not above the last accepted one.
    StaleSequence(u64),
    /// Nonce seen before.
    Replay,
    /// Too many live nonces.
    Full,
}

fn seq_key(key_id: &str) -> Vec<u8> {
    format!("s/{key_id}").into_bytes()
}

fn nonce_key(nonce: &[u8]) -> Vec<u8> {
    let mut k = b"n/".to_vec();
    k.extend_from_slice(nonce);
    k
}

impl MgmtState {
    /// The state in `store`; `bootstrap` keys and CRL are installed when the store has none
    /// yet (first start after enrolment).
    pub fn open(
        store: Store,
        bootstrap_keys: &[OperatorKey],
        bootstrap_crl: Option<&[u8]>,
    ) -> Result<MgmtState, StoreError> {
        let st = MgmtState {
            store,
            replay: Mutex::new(()),
            audit: Mutex::new(()),
            nonces: AtomicUsize::new(0),
        };
        st.nonces.store(
            st.store.scan_prefix(Tree::Mgmt, b"n/").count(),
            Ordering::Relaxed,
        );
        if st.store.count(Tree::Keys) == 0 && !bootstrap_keys.is_empty() {
            st.set_keys(bootstrap_keys, bootstrap_crl.unwrap_or_default())?;
        } else if let Some(c) = bootstrap_crl {
            if st.crl()?.is_none() {
                st.store.put(Tree::Mgmt, CRL_KEY, c)?;
            }
        }
        Ok(st)
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// A trusted key by id.
    pub fn key(&self, key_id: &str) -> Result<Option<OperatorKey>, StoreError> {
        Ok(self
            .store
            .get(Tree::Keys, key_id.as_bytes())?
            .and_then(|b| from_cbor(&b, "operator key").ok()))
    }

    /// Every trusted key.
    pub fn keys(&self) -> Result<Vec<OperatorKey>, StoreError> {
        let mut v = Vec::new();
        for kv in self.store.scan_prefix(Tree::Keys, b"") {
            let (_, b) = kv?;
            if let Ok(k) = from_cbor::<OperatorKey>(&b, "operator key") {
                v.push(k);
            }
        }
        Ok(v)
    }

    /// Replaces the key list and the revocation list in one transaction.
    pub fn set_keys(&self, keys: &[OperatorKey], crl: &[u8]) -> Result<(), StoreError> {
        let mut ops: Vec<Op> = Vec::new();
        for kv in self.store.scan_prefix(Tree::Keys, b"") {
            let (k, _) = kv?;
            ops.push(Op::Del(Tree::Keys, k));
        }
        for k in keys {
            ops.push(Op::Put(
                Tree::Keys,
                k.key_id.as_bytes().to_vec(),
                to_cbor(k),
            ));
        }
        if crl.is_empty() {
            ops.push(Op::Del(Tree::Mgmt, CRL_KEY.to_vec()));
        } else {
            ops.push(Op::Put(Tree::Mgmt, CRL_KEY.to_vec(), crl.to_vec()));
        }
        self.store.commit(&ops)?;
        self.store.flush()
    }

    /// The revocation list in force (DER).
    pub fn crl(&self) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.get(Tree::Mgmt, CRL_KEY)
    }

    /// Checks that `seq` is above the last accepted one for `key_id` and that `nonce` is new;
    /// if so records both durably before returning [`Fresh::Yes`].
    pub fn check_fresh(
        &self,
        key_id: &str,
        seq: u64,
        nonce: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<Fresh, StoreError> {
        let _g = self.replay.lock().unwrap_or_else(|p| p.into_inner());
        let nk = nonce_key(nonce);
        let seen = self.store.get(Tree::Mgmt, &nk)?.is_some();
        let last = self
            .store
            .get(Tree::Mgmt, &seq_key(key_id))?
            .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
            .map(u64::from_be_bytes);
        if let Some(last) = last {
            if seq <= last {
                return Ok(if seen {
                    Fresh::Replay
                } else {
                    Fresh::StaleSequence(last)
                });
            }
        }
        if seen {
            return Ok(Fresh::Replay);
        }
        let live = self.nonces.load(Ordering::Relaxed);
        if live >= MAX_NONCES || (live > 0 && live.is_multiple_of(1024)) {
            self.prune_nonces(now)?;
            if self.nonces.load(Ordering::Relaxed) >= MAX_NONCES {
                return Ok(Fresh::Full);
            }
        }
        self.store.commit(&[
            Op::Put(Tree::Mgmt, seq_key(key_id), seq.to_be_bytes().to_vec()),
            Op::Put(Tree::Mgmt, nk, expires_at.to_be_bytes().to_vec()),
        ])?;
        self.store.flush()?;
        self.nonces.fetch_add(1, Ordering::Relaxed);
        Ok(Fresh::Yes)
    }

    /// Forgets nonces of requests that expired more than the allowed skew ago (they would be
    /// refused as expired anyway). Returns how many went.
    pub fn prune_nonces(&self, now: i64) -> Result<usize, StoreError> {
        let horizon = now.saturating_sub(mgmt_proto::DEFAULT_SKEW_MS);
        let mut ops = Vec::new();
        for kv in self.store.scan_prefix(Tree::Mgmt, b"n/") {
            let (k, v) = kv?;
            let exp = <[u8; 8]>::try_from(v.as_slice())
                .map(i64::from_be_bytes)
                .unwrap_or(i64::MIN);
            if exp < horizon {
                ops.push(Op::Del(Tree::Mgmt, k));
            }
        }
        let n = ops.len();
        if n > 0 {
            self.store.commit(&ops)?;
        }
        self.nonces.store(
            self.store.scan_prefix(Tree::Mgmt, b"n/").count(),
            Ordering::Relaxed,
        );
        Ok(n)
    }

    /// The audit chain head.
    pub fn audit_head(&self) -> Result<AuditHead, StoreError> {
        Ok(self
            .store
            .get(Tree::Mgmt, HEAD_KEY)?
            .and_then(|b| from_cbor(&b, "audit head").ok())
            .unwrap_or_default())
    }

    /// Appends an entry (its index, prev and hash are set here) and makes it durable.
    pub fn audit(&self, mut e: AuditEntry) -> Result<u64, StoreError> {
        let _g = self.audit.lock().unwrap_or_else(|p| p.into_inner());
        let mut head = self.audit_head()?;
        e.link(&mut head);
        let mut ops = vec![
            Op::Put(Tree::Audit, e.index.to_be_bytes().to_vec(), to_cbor(&e)),
            Op::Put(Tree::Mgmt, HEAD_KEY.to_vec(), Vec::new()),
        ];
        if head.next - head.base_index > MAX_AUDIT_ENTRIES {
            // Prune the oldest entries; the base remembers where the kept chain starts.
            let upto = head.base_index + AUDIT_PRUNE;
            let mut base_prev = String::new();
            for i in head.base_index..upto {
                if i + 1 == upto {
                    if let Some(b) = self.store.get(Tree::Audit, &i.to_be_bytes())? {
                        base_prev = from_cbor::<AuditEntry>(&b, "audit entry")
                            .map(|x| x.hash)
                            .unwrap_or_default();
                    }
                }
                ops.push(Op::Del(Tree::Audit, i.to_be_bytes().to_vec()));
            }
            head.base_index = upto;
            head.base_prev = base_prev;
        }
        ops[1] = Op::Put(Tree::Mgmt, HEAD_KEY.to_vec(), to_cbor(&head));
        self.store.commit(&ops)?;
        self.store.flush()?;
        Ok(e.index)
    }

    /// Stored audit entries from index `from`, at most `limit`, in stored key order (a
    /// tampered entry is returned as stored: verification is the reader's job).
    /// Also returns the stored key to continue from (`None` at the end).
    pub fn audit_entries(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<(Vec<AuditEntry>, Option<u64>), StoreError> {
        let mut v = Vec::new();
        let mut next = None;
        for kv in self.store.range_from(Tree::Audit, &from.to_be_bytes()) {
            let (k, b) = kv?;
            let key = <[u8; 8]>::try_from(k.as_slice())
                .map(u64::from_be_bytes)
                .unwrap_or(u64::MAX);
            if v.len() >= limit {
                next = Some(key);
                break;
            }
            let e = from_cbor::<AuditEntry>(&b, "audit entry").unwrap_or_else(|err| {
                // An undecodable entry still takes its place, so the gap is reported where it is.
                AuditEntry {
                    index: key,
                    ts: 0,
                    peer: String::new(),
                    client: String::new(),
                    key_id: String::new(),
                    op: String::new(),
                    seq: None,
                    outcome: "unreadable".into(),
                    code: String::new(),
                    detail: err.to_string(),
                    request: String::new(),
                    prev: String::new(),
                    hash: String::new(),
                }
            });
            v.push(e);
        }
        Ok((v, next))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sequence_and_nonce_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        {
            let st = MgmtState::open(Store::open(dir.path()).unwrap(), &[], None).unwrap();
            assert_eq!(st.check_fresh("k", 5, b"n1", 100, 0).unwrap(), Fresh::Yes);
            assert_eq!(
                st.check_fresh("k", 5, b"n1", 100, 0).unwrap(),
                Fresh::Replay
            );
            assert_eq!(
                st.check_fresh("k", 4, b"n2", 100, 0).unwrap(),
                Fresh::StaleSequence(5)
            );
            assert_eq!(st.check_fresh("j", 1, b"n3", 100, 0).unwrap(), Fresh::Yes);
        }
        let st = MgmtState::open(Store::open(dir.path()).unwrap(), &[], None).unwrap();
        assert_eq!(
            st.check_fresh("k", 5, b"n1", 100, 0).unwrap(),
            Fresh::Replay
        );
        assert_eq!(
            st.check_fresh("k", 9, b"n3", 100, 0).unwrap(),
            Fresh::Replay
        );
        assert_eq!(st.check_fresh("k", 9, b"n4", 100, 0).unwrap(), Fresh::Yes);
        // Expired nonces are pruned, live ones kept.
        assert_eq!(st.prune_nonces(1_000_000).unwrap(), 3);
    }

    #[test]
    fn audit_chain_appends_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let st = MgmtState::open(Store::open(dir.path()).unwrap(), &[], None).unwrap();
        for i in 0..3 {
            let e = AuditEntry {
                index: 0,
                ts: i,
                peer: "p".into(),
                client: String::new(),
                key_id: String::new(),
                op: "status".into(),
                seq: None,
                outcome: "ok".into(),
                code: String::new(),
                detail: String::new(),
                request: String::new(),
                prev: String::new(),
                hash: String::new(),
            };
            assert_eq!(st.audit(e).unwrap(), i as u64);
        }
        let (entries, next) = st.audit_entries(0, 100).unwrap();
        assert_eq!(next, None);
        assert_eq!(
            mgmt_proto::audit::verify(&entries, &st.audit_head().unwrap()).unwrap(),
            3
        );
    }
}
