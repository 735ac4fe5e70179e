//! The audit chain: every management request a probe receives, accepted or not, is one
//! entry. Each entry carries the hash of the one before it and its own hash over its CBOR
//! (with `hash` empty), so an edited entry fails its own hash, and a removed or reordered
//! entry breaks the index sequence and the `prev` link. The head (next index and last hash)
//! is kept apart from the entries, so removing the newest entries is seen too.
//!
//! The chain proves integrity against edits made without the probe's cooperation (a disk
//! taken out, a database edited offline); a probe whose software is subverted can rewrite
//! everything, which is why probectl can also keep the heads it saw (see
//! docs/threat-model.md).

use serde::{Deserialize, Serialize};

/// One audited request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the chain, from 0 without gaps.
    pub index: u64,
    /// When the probe decided (Unix milliseconds).
    pub ts: i64,
    /// Remote address.
    pub peer: String,
    /// The client certificate (subject common name and SHA-256 prefix), when there was one.
    pub client: String,
    /// Signing key id, when the envelope could be read.
    pub key_id: String,
    /// Operation name, when the payload could be read.
    pub op: String,
    /// Sequence number, when the payload could be read.
    pub seq: Option<u64>,
    /// `ok`, `rejected` or `failed`.
    pub outcome: String,
    /// The reject code, for rejected requests.
    pub code: String,
    /// Reason or error text (or a short summary of what changed).
    pub detail: String,
    /// SHA-256 (hex) of the request payload bytes, or of the whole frame when it had no
    /// readable payload.
    pub request: String,
    /// `hash` of the previous entry (hex), or the chain base.
    pub prev: String,
    /// SHA-256 (hex) of this entry's CBOR with `hash` empty.
    pub hash: String,
}

/// The chain head and base, stored apart from the entries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHead {
    /// Index of the oldest entry kept (entries before it were pruned by the size cap).
    pub base_index: u64,
    /// `prev` of the oldest entry kept (empty for a chain that starts at 0).
    pub base_prev: String,
    /// Index the next entry gets.
    pub next: u64,
    /// Hash of the newest entry (empty when there is none).
    pub hash: String,
}

impl AuditEntry {
    /// The hash this entry should carry.
    pub fn compute_hash(&self) -> String {
        let mut e = self.clone();
        e.hash.clear();
        hex::encode(crate::sha256(&crate::to_cbor(&e)))
    }

    /// Links this entry after `head`: sets index, prev and hash, and advances the head.
    pub fn link(&mut self, head: &mut AuditHead) {
        self.index = head.next;
        self.prev = head.hash.clone();
        self.hash = self.compute_hash();
        head.next += 1;
        head.hash = self.hash.clone();
    }
}

/// A break in the chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit entry {index}: {what}")]
pub struct ChainBreak {
    /// Where (the index expected at that position).
    pub index: u64,
    /// What is wrong.
    pub what: String,
}

/// Checks entries in stored order against the head. Returns the number of entries checked.
pub fn verify(entries: &[AuditEntry], head: &AuditHead) -> Result<u64, ChainBreak> {
    let mut expect_index = head.base_index;
    let mut prev = head.base_prev.clone();
    for e in entries {
        if e.index != expect_index {
            return Err(ChainBreak {
                index: expect_index,
                what: if e.index > expect_index {
                    format!("missing (next stored entry is {})", e.index)
                } else {
                    format!("out of order (entry {} found here)", e.index)
                },
            });
        }
        if e.hash != e.compute_hash() {
            return Err(ChainBreak {
                index: e.index,
                what: "content does not match its hash (edited)".into(),
            });
        }
        if e.prev != prev {
            return Err(ChainBreak {
                index: e.index,
                what: "does not link to the entry before it".into(),
            });
        }
        prev = e.hash.clone();
        expect_index += 1;
    }
    if expect_index != head.next || prev != head.hash {
        return Err(ChainBreak {
            index: expect_index,
            what: format!(
                "chain ends before the recorded head (head says {} entries)",
                head.next
            ),
        });
    }
    Ok(expect_index - head.base_index)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn chain(n: u64) -> (Vec<AuditEntry>, AuditHead) {
        let mut head = AuditHead::default();
        let mut v = Vec::new();
        for i in 0..n {
            let mut e = AuditEntry {
                index: 0,
                ts: i as i64,
                peer: "127.0.0.1:1".into(),
                client: "op".into(),
                key_id: "k".into(),
                op: "status".into(),
                seq: Some(i),
                outcome: "ok".into(),
                code: String::new(),
                detail: String::new(),
                request: "00".into(),
                prev: String::new(),
                hash: String::new(),
            };
            e.link(&mut head);
            v.push(e);
        }
        (v, head)
    }

    #[test]
    fn intact_chain_verifies() {
        let (v, head) = chain(5);
        assert_eq!(verify(&v, &head).unwrap(), 5);
        assert_eq!(verify(&[], &AuditHead::default()).unwrap(), 0);
    }

    #[test]
    fn edit_reorder_delete_truncate_are_detected() {
        let (v, head) = chain(5);
        let mut edited = v.clone();
        edited[2].outcome = "rejected".into();
        assert_eq!(verify(&edited, &head).unwrap_err().index, 2);
        let mut swapped = v.clone();
        swapped.swap(1, 2);
        assert_eq!(verify(&swapped, &head).unwrap_err().index, 1);
        let mut deleted = v.clone();
        deleted.remove(3);
        assert_eq!(verify(&deleted, &head).unwrap_err().index, 3);
        let truncated = &v[..4];
        assert_eq!(verify(truncated, &head).unwrap_err().index, 4);
        // A re-hashed edit still breaks the next entry's link.
        let mut rehashed = v.clone();
        rehashed[1].detail = "forged".into();
        rehashed[1].hash = rehashed[1].compute_hash();
        assert_eq!(verify(&rehashed, &head).unwrap_err().index, 2);
    }
}
