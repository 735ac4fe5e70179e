//! The probe's persistent state.
//!
//! One sled database under the data directory holds the small, precious state: configuration,
//! hunt filters and their policy actions, Declarations of Compromise and their evidence, policy
//! state (threshold windows, retro-hunt cursors), the webhook outbox, and the archive's index.
//! Writes that span trees go through [`Store::commit`], one sled transaction, so a DoC, its
//! evidence and its outbox entry appear together or not at all; [`Store::flush`] makes them
//! durable, and callers flush before they report anything as created.
//!
//! The event archive ([`archive`]) keeps event *bodies* in append-only segment files beside the
//! database and only their index in sled: deleting a segment file returns its space to the file
//! system at once, which a log-structured database cannot promise, and that is what lets the
//! disk watermark evict the oldest data instead of ever stopping capture.
//!
//! Layer: below `hunt` and the binaries; knows nothing of the query language or of EVE beyond
//! "a JSON object with a time". Callers never see sled types.
#![forbid(unsafe_code)]

pub mod archive;
mod bloom;
mod tokens;
pub mod transcode;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use archive::{
    decode_event, Archive, ArchiveConfig, ArchiveStats, ArchiveWriter, BlockInfo, EventRef,
    EvictReason, Eviction, RawEvents,
};
pub use bloom::{Bloom, BloomRef};
pub use tokens::{
    event_tokens, exists_token, fold, scalar_text, value_token, TokenSet, MAX_TOKEN_DEPTH,
};

/// The layout version this build writes. Opening a directory written by a newer build is an
/// error; older layouts are migrated on open (none exist yet).
pub const SCHEMA_VERSION: u64 = 1;

/// Key of the schema version in [`Tree::Config`].
const SCHEMA_KEY: &[u8] = b"schema_version";

/// The named trees. The discriminant indexes [`Inner::trees`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tree {
    /// Settings changed at run time (webhooks, archive limits), by name.
    Config = 0,
    /// Hunt filters and their policy actions, by name.
    Filters,
    /// Declarations of Compromise / Policy Violation, by id.
    Docs,
    /// DoC evidence: one key per (DoC, event), so adding the same event twice is a no-op.
    DocEvidence,
    /// DoC id by dedup key (asset, threat).
    DocKeys,
    /// Policy state: action counters, threshold windows, retro-hunt cursors.
    Policy,
    /// Deliveries not yet acknowledged by their receiver (webhooks).
    Outbox,
    /// Archive block summaries, by block id.
    ArchiveIndex,
    /// Archive segment files, by segment id.
    ArchiveSegments,
    /// Operator keys the management plane trusts, by key id.
    Keys,
    /// Management-plane state: last sequence per key, recent nonces, the revocation list,
    /// the audit chain head.
    Mgmt,
    /// The hash-chained audit log of management requests, by index.
    Audit,
    /// Threat-intel feeds pushed to the probe, by feed name (the feed file as pushed).
    Intel,
    /// Artifacts seen on the network, by `kind/value` (first sighting, asset, count).
    Sightings,
    /// Host inventory, by IP address.
    Hosts,
    /// Beacon candidates: per (source, destination) pair, connection times and sizes.
    Beacons,
}

impl Tree {
    /// Every tree, in discriminant order.
    pub const ALL: [Tree; 16] = [
        Tree::Config,
        Tree::Filters,
        Tree::Docs,
        Tree::DocEvidence,
        Tree::DocKeys,
        Tree::Policy,
        Tree::Outbox,
        Tree::ArchiveIndex,
        Tree::ArchiveSegments,
        Tree::Keys,
        Tree::Mgmt,
        Tree::Audit,
        Tree::Intel,
        Tree::Sightings,
        Tree::Hosts,
        Tree::Beacons,
    ];

    /// The sled tree name.
    pub fn name(self) -> &'static str {
        match self {
            Tree::Config => "config",
            Tree::Filters => "filters",
            Tree::Docs => "docs",
            Tree::DocEvidence => "doc_evidence",
            Tree::DocKeys => "doc_keys",
            Tree::Policy => "policy",
            Tree::Outbox => "outbox",
            Tree::ArchiveIndex => "archive_index",
            Tree::ArchiveSegments => "archive_segments",
            Tree::Keys => "keys",
            Tree::Mgmt => "mgmt",
            Tree::Audit => "audit",
            Tree::Intel => "intel",
            Tree::Sightings => "sightings",
            Tree::Hosts => "hosts",
            Tree::Beacons => "beacons",
        }
    }
}

/// A key and its value.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// One write of a [`Store::commit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Set `key` to `value`.
    Put(Tree, Vec<u8>, Vec<u8>),
    /// Remove `key`.
    Del(Tree, Vec<u8>),
    /// Set `key` to `value` only if it is absent (otherwise leave it: idempotent inserts).
    PutIfAbsent(Tree, Vec<u8>, Vec<u8>),
}

/// What went wrong, naming the file or the tree.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database itself failed (I/O, corruption).
    #[error("{dir}: state database: {msg}")]
    Db {
        /// The data directory.
        dir: PathBuf,
        /// sled's message.
        msg: String,
    },
    /// A file beside the database.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The directory was written by a newer build.
    #[error(
        "{dir}: written by a newer probe (schema {found}, this build reads up to {SCHEMA_VERSION})"
    )]
    NewerSchema {
        /// The data directory.
        dir: PathBuf,
        /// The version found.
        found: u64,
    },
    /// A stored record does not decode.
    #[error("{what}: corrupt record ({why})")]
    Corrupt {
        /// Tree or file and key.
        what: String,
        /// Why it does not decode.
        why: String,
    },
}

/// A handle on the data directory; cheap to clone, shared by threads.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    db: sled::Db,
    trees: Vec<sled::Tree>,
}

impl Store {
    /// Opens (creating if needed) the state under `dir`. Only one process may hold a data
    /// directory: a second open fails with the database's lock error.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let dbdir = dir.join("state");
        let db = sled::Config::new()
            .path(&dbdir)
            .cache_capacity(64 << 20)
            .flush_every_ms(Some(500))
            .open()
            .map_err(|e| db_err(dir, e))?;
        let mut trees = Vec::with_capacity(Tree::ALL.len());
        for t in Tree::ALL {
            trees.push(db.open_tree(t.name()).map_err(|e| db_err(dir, e))?);
        }
        let store = Store {
            inner: Arc::new(Inner {
                dir: dir.to_owned(),
                db,
                trees,
            }),
        };
        store.check_schema()?;
        Ok(store)
    }

    fn check_schema(&self) -> Result<(), StoreError> {
        match self.get(Tree::Config, SCHEMA_KEY)? {
            None => {
                self.put(Tree::Config, SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
                self.flush()
            }
            Some(v) => {
                let found = <[u8; 8]>::try_from(v.as_slice())
                    .map(u64::from_be_bytes)
                    .map_err(|_| StoreError::Corrupt {
                        what: "config/schema_version".into(),
                        why: format!("{} bytes", v.len()),
                    })?;
                if found > SCHEMA_VERSION {
                    return Err(StoreError::NewerSchema {
                        dir: self.inner.dir.clone(),
                        found,
                    });
                }
                // Migrations from `found` up to SCHEMA_VERSION go here.
                Ok(())
            }
        }
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    fn tree(&self, t: Tree) -> &sled::Tree {
        &self.inner.trees[t as usize]
    }

    fn err(&self, e: sled::Error) -> StoreError {
        db_err(&self.inner.dir, e)
    }

    /// The value of `key`.
    pub fn get(&self, t: Tree, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.tree(t)
            .get(key)
            .map(|o| o.map(|v| v.to_vec()))
            .map_err(|e| self.err(e))
    }

    /// Sets `key` (not durable until [`Store::flush`]).
    pub fn put(&self, t: Tree, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.tree(t)
            .insert(key, value)
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Removes `key`, returning its value.
    pub fn remove(&self, t: Tree, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.tree(t)
            .remove(key)
            .map(|o| o.map(|v| v.to_vec()))
            .map_err(|e| self.err(e))
    }

    /// Keys and values starting with `prefix`, in key order.
    pub fn scan_prefix(
        &self,
        t: Tree,
        prefix: &[u8],
    ) -> impl Iterator<Item = Result<KeyValue, StoreError>> + '_ {
        self.tree(t).scan_prefix(prefix).map(move |r| {
            r.map(|(k, v)| (k.to_vec(), v.to_vec()))
                .map_err(|e| self.err(e))
        })
    }

    /// Keys and values from `start` (inclusive) on, in key order.
    pub fn range_from(
        &self,
        t: Tree,
        start: &[u8],
    ) -> impl Iterator<Item = Result<KeyValue, StoreError>> + '_ {
        self.tree(t).range(start.to_vec()..).map(move |r| {
            r.map(|(k, v)| (k.to_vec(), v.to_vec()))
                .map_err(|e| self.err(e))
        })
    }

    /// Calls `f(key, value)` from `start` on, in key order, without copying, until it returns
    /// false.
    pub fn visit_from(
        &self,
        t: Tree,
        start: &[u8],
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), StoreError> {
        for r in self.tree(t).range(start.to_vec()..) {
            let (k, v) = r.map_err(|e| self.err(e))?;
            if !f(&k, &v) {
                break;
            }
        }
        Ok(())
    }

    /// The last `n` keys and values of a tree, last first.
    pub fn last_n(&self, t: Tree, n: usize) -> Result<Vec<KeyValue>, StoreError> {
        self.tree(t)
            .iter()
            .rev()
            .take(n)
            .map(|r| {
                r.map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .map_err(|e| self.err(e))
            })
            .collect()
    }

    /// Number of keys in a tree (walks it).
    pub fn count(&self, t: Tree) -> usize {
        self.tree(t).len()
    }

    /// Applies `ops` atomically across trees. Returns, per op, whether it changed anything
    /// (a [`Op::PutIfAbsent`] on a present key does not).
    pub fn commit(&self, ops: &[Op]) -> Result<Vec<bool>, StoreError> {
        use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
        let r = self.inner.trees[..].transaction(|views| {
            let mut changed = Vec::with_capacity(ops.len());
            for op in ops {
                match op {
                    Op::Put(t, k, v) => {
                        views[*t as usize].insert(k.as_slice(), v.as_slice())?;
                        changed.push(true);
                    }
                    Op::Del(t, k) => {
                        changed.push(views[*t as usize].remove(k.as_slice())?.is_some());
                    }
                    Op::PutIfAbsent(t, k, v) => {
                        let view = &views[*t as usize];
                        if view.get(k.as_slice())?.is_some() {
                            changed.push(false);
                        } else {
                            view.insert(k.as_slice(), v.as_slice())?;
                            changed.push(true);
                        }
                    }
                }
            }
            Ok::<_, ConflictableTransactionError<()>>(changed)
        });
        r.map_err(|e| match e {
            TransactionError::Storage(e) => self.err(e),
            TransactionError::Abort(()) => StoreError::Db {
                dir: self.inner.dir.clone(),
                msg: "transaction aborted".into(),
            },
        })
    }

    /// A fresh id, unique for the life of the directory even across crashes.
    pub fn next_id(&self) -> Result<u64, StoreError> {
        self.inner.db.generate_id().map_err(|e| self.err(e))
    }

    /// Free bytes on the data directory's file system (`None` if it cannot be read).
    pub fn free_bytes(&self) -> Option<u64> {
        let st = rustix::fs::statvfs(&self.inner.dir).ok()?;
        Some(st.f_bavail.saturating_mul(st.f_frsize))
    }

    /// Whether optional state (analytics: hosts, sightings) may be written: the file system
    /// keeps more than twice [`archive::MIN_FREE_FLOOR`] free, which stays for DoCs and the
    /// archive index when the disk is otherwise full.
    pub fn room_for_optional_state(&self) -> bool {
        self.free_bytes()
            .is_none_or(|f| f > 2 * archive::MIN_FREE_FLOOR)
    }

    /// Makes every write so far durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.inner.db.flush().map(|_| ()).map_err(|e| self.err(e))
    }

    /// The event archive (read side).
    pub fn archive(&self) -> Archive {
        Archive::new(self.clone())
    }
}

fn db_err(dir: &Path, e: sled::Error) -> StoreError {
    StoreError::Db {
        dir: dir.to_owned(),
        msg: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_is_atomic_and_put_if_absent_is_idempotent() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        let ops = vec![
            Op::Put(Tree::Docs, b"1".to_vec(), b"doc".to_vec()),
            Op::PutIfAbsent(Tree::DocEvidence, b"1/a".to_vec(), b"e".to_vec()),
        ];
        assert_eq!(s.commit(&ops).unwrap(), vec![true, true]);
        assert_eq!(s.commit(&ops).unwrap(), vec![true, false]);
        s.flush().unwrap();
        drop(s);
        let s = Store::open(d.path()).unwrap();
        assert_eq!(s.get(Tree::Docs, b"1").unwrap().unwrap(), b"doc");
        assert_eq!(s.scan_prefix(Tree::DocEvidence, b"1/").count(), 1);
        let a = s.next_id().unwrap();
        assert!(s.next_id().unwrap() > a);
    }

    #[test]
    fn newer_schema_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        s.put(Tree::Config, SCHEMA_KEY, &99u64.to_be_bytes())
            .unwrap();
        s.flush().unwrap();
        drop(s);
        let e = Store::open(d.path()).unwrap_err().to_string();
        assert!(e.contains("newer probe"), "{e}");
    }
}
