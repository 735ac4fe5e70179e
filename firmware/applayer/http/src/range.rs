//! Reassembly of one file from the byte ranges of several `206 Partial Content` responses,
//! possibly spread over several flows (Suricata's `app-layer.protocols.http.byterange`).
//!
//! Suricata gives every response with a usable `Content-Range` its own file, with `start` and
//! `end` in `fileinfo`, and also feeds the bytes to a container shared by all flows and keyed
//! by the request host plus the file name. The container owns one "whole" file. A response
//! whose range starts exactly where the whole file ends writes straight into it; a range that
//! starts later is buffered (up to its announced length) and merged when the gap before it is
//! filled; a range already covered is skipped. When the whole file reaches the largest total
//! size any range announced, it is closed and logged once more (without `start`/`end`) on the
//! transaction whose response completed it.
//!
//! Behaviour kept from Suricata: the whole file grows only when a range closes (`lastsize`);
//! in-order ranges are not cut at their announced end; a buffered range keeps at most its
//! announced length; duplicate buffered ranges are dropped; a completed container starts a
//! new whole file for later ranges. Not kept: Suricata forgets a container 60 s (of packet
//! time) after its last use; parsers here see no clock, so containers are forgotten least
//! recently used first once [`MAX_RANGE_CONTAINERS`] are tracked.
//!
//! Caps: [`MAX_RANGE_CONTAINERS`] URLs, [`RANGE_MEMCAP`] bytes of buffered out-of-order data
//! (reserved at the announced range length, as Suricata's memcap does; a range that does not
//! fit is skipped), [`MAX_RANGE_KEY`] key bytes. A poisoned lock disables reassembly instead
//! of panicking.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::config::ForceHash;
use crate::files::{FileState, HttpFile};

/// URLs (host + file name) tracked at once. Suricata's table is bounded by its 100 MB memcap
/// and a 60 s timeout; 4096 concurrent partial downloads is far beyond real traffic.
pub const MAX_RANGE_CONTAINERS: usize = 4096;
/// Out-of-order range bytes buffered across all containers: Suricata's default
/// `byterange.memcap` (100 MiB), counted the same way (announced range length).
pub const RANGE_MEMCAP: u64 = 100 << 20;
/// Longest key kept (host is at most 64 KiB in Suricata, the file name 1024 bytes).
pub const MAX_RANGE_KEY: usize = 2048;

/// One buffered out-of-order range.
#[derive(Debug, Clone)]
struct Frag {
    start: u64,
    /// Announced length (`end - start + 1`): the reservation, and the most kept.
    buflen: u64,
    data: Vec<u8>,
    /// Missing bytes seen while buffering (applied before the data when merged).
    gap: u64,
}

#[derive(Debug)]
struct Container {
    /// The whole file, while no in-order range is writing to it.
    file: Option<Box<HttpFile>>,
    /// An in-order range has taken the file.
    lent: bool,
    /// Size of the whole file as of the last range close.
    lastsize: u64,
    /// Largest total size announced.
    totalsize: u64,
    /// Buffered ranges by (start, length, kept bytes): equal keys are duplicates.
    frags: BTreeMap<(u64, u64, u64), Frag>,
    /// Range blocks still referring to this container.
    users: usize,
    /// LRU stamp.
    last_use: u64,
}

#[derive(Debug, Default)]
struct Inner {
    containers: HashMap<Vec<u8>, Container>,
    /// Bytes reserved by buffered ranges.
    reserved: u64,
    tick: u64,
}

/// The container table shared by every flow of a configuration (it lives in
/// [`crate::HttpConfig`], behind an `Arc`).
#[derive(Debug, Default)]
pub struct RangeStore {
    inner: Mutex<Inner>,
}

/// Runtime state inside a configuration: every table compares equal, so configurations
/// compare by their settings only.
impl PartialEq for RangeStore {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl Eq for RangeStore {}

impl RangeStore {
    /// An empty table.
    pub fn new() -> RangeStore {
        RangeStore::default()
    }

    /// Containers currently tracked.
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |g| g.containers.len())
    }

    /// No container tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a response's range does with its bytes.
#[derive(Debug)]
enum Mode {
    /// Writes into the whole file (owned while the response lasts), after skipping `toskip`
    /// bytes the whole file already has.
    Direct {
        file: Option<Box<HttpFile>>,
        toskip: u64,
    },
    /// Buffers the range for later.
    Buffer(Frag),
    /// Everything is known already (or did not fit): ignore the bytes.
    Skip { toskip: u64 },
}

/// The share of one response in a container (Suricata `HttpRangeContainerBlock`).
#[derive(Debug)]
pub(crate) struct RangeBlock {
    store: Arc<RangeStore>,
    key: Vec<u8>,
    mode: Mode,
    /// Counted in the container's `users`.
    attached: bool,
}

impl RangeBlock {
    /// Joins (or creates) the container for `key` with the range `start..=end` of a file of
    /// `total` bytes. `None` when the table is full of busy containers or the lock is broken.
    pub(crate) fn open(
        store: &Arc<RangeStore>,
        key: &[u8],
        start: u64,
        end: u64,
        total: u64,
        name: &[u8],
        hash: ForceHash,
    ) -> Option<RangeBlock> {
        let key = key.get(..MAX_RANGE_KEY).unwrap_or(key).to_vec();
        let mut g = store.inner.lock().ok()?;
        let inner = &mut *g;
        inner.tick = inner.tick.wrapping_add(1);
        let tick = inner.tick;
        if !inner.containers.contains_key(&key) {
            if inner.containers.len() >= MAX_RANGE_CONTAINERS {
                // Forget the least recently used idle container.
                let victim = inner
                    .containers
                    .iter()
                    .filter(|(_, c)| c.users == 0 && !c.lent)
                    .min_by_key(|(_, c)| c.last_use)
                    .map(|(k, _)| k.clone())?;
                if let Some(c) = inner.containers.remove(&victim) {
                    let freed: u64 = c.frags.values().map(|f| f.buflen).sum();
                    inner.reserved = inner.reserved.saturating_sub(freed);
                }
            }
            inner.containers.insert(
                key.clone(),
                Container {
                    file: None,
                    lent: false,
                    lastsize: 0,
                    totalsize: 0,
                    frags: BTreeMap::new(),
                    users: 0,
                    last_use: tick,
                },
            );
        }
        let reserved = inner.reserved;
        let c = inner.containers.get_mut(&key)?;
        c.last_use = tick;
        if !c.lent && c.file.is_none() {
            // First range (or first after a completed file): the whole file starts here.
            c.file = Some(Box::new(HttpFile::new(name, hash)));
        }
        c.totalsize = c.totalsize.max(total);
        let buflen = end.saturating_sub(start).saturating_add(1);
        let (mode, attached) = if start == c.lastsize && !c.lent {
            c.lent = true;
            (
                Mode::Direct {
                    file: c.file.take(),
                    toskip: 0,
                },
                true,
            )
        } else if start < c.lastsize && c.lastsize - start >= buflen {
            (Mode::Skip { toskip: buflen }, false)
        } else if start < c.lastsize && !c.lent {
            c.lent = true;
            (
                Mode::Direct {
                    file: c.file.take(),
                    toskip: c.lastsize - start,
                },
                true,
            )
        } else if reserved.saturating_add(buflen) > RANGE_MEMCAP {
            (Mode::Skip { toskip: buflen }, false)
        } else {
            inner.reserved = reserved.saturating_add(buflen);
            (
                Mode::Buffer(Frag {
                    start,
                    buflen,
                    data: Vec::new(),
                    gap: 0,
                }),
                true,
            )
        };
        if attached {
            if let Some(c) = inner.containers.get_mut(&key) {
                c.users = c.users.saturating_add(1);
            }
        }
        drop(g);
        Some(RangeBlock {
            store: Arc::clone(store),
            key,
            mode,
            attached,
        })
    }

    /// Response body bytes of this range (the same bytes the response's own file gets).
    pub(crate) fn append(&mut self, data: &[u8]) {
        match &mut self.mode {
            Mode::Skip { toskip } => *toskip = toskip.saturating_sub(data.len() as u64),
            Mode::Direct { file, toskip } => {
                let skip = usize::try_from(*toskip)
                    .unwrap_or(usize::MAX)
                    .min(data.len());
                *toskip -= skip as u64;
                if let (Some(f), Some(rest)) = (file.as_mut(), data.get(skip..)) {
                    if !rest.is_empty() {
                        f.append(rest);
                    }
                }
            }
            Mode::Buffer(frag) => {
                let room = usize::try_from(frag.buflen.saturating_sub(frag.data.len() as u64))
                    .unwrap_or(usize::MAX);
                let take = room.min(data.len());
                frag.data.extend_from_slice(&data[..take]);
            }
        }
    }

    /// `len` missing body bytes.
    pub(crate) fn gap(&mut self, len: u64) {
        match &mut self.mode {
            Mode::Skip { toskip } => *toskip = toskip.saturating_sub(len),
            Mode::Direct { file, toskip } => {
                let skip = (*toskip).min(len);
                *toskip -= skip;
                if let Some(f) = file.as_mut() {
                    if len > skip {
                        f.append_gap(len - skip);
                    }
                }
            }
            Mode::Buffer(frag) => frag.gap = frag.gap.saturating_add(len),
        }
    }

    /// The response's file closed (`truncated` when cut by the body limit): hands the bytes
    /// to the container and returns the whole file if this range completed it.
    pub(crate) fn close(mut self, truncated: bool) -> Option<HttpFile> {
        let mode = std::mem::replace(&mut self.mode, Mode::Skip { toskip: 0 });
        let attached = std::mem::replace(&mut self.attached, false);
        if !attached {
            return None;
        }
        let store = Arc::clone(&self.store);
        let mut g = store.inner.lock().ok()?;
        let inner = &mut *g;
        let c = inner.containers.get_mut(&self.key)?;
        c.users = c.users.saturating_sub(1);
        let mut freed = 0u64;
        match mode {
            Mode::Skip { .. } => return None,
            Mode::Buffer(frag) => {
                let fkey = (frag.start, frag.buflen, frag.data.len() as u64);
                let obsolete = c.lastsize >= frag.start.saturating_add(frag.data.len() as u64);
                if obsolete || c.frags.contains_key(&fkey) {
                    inner.reserved = inner.reserved.saturating_sub(frag.buflen);
                    return None;
                }
                c.frags.insert(fkey, frag);
                if c.lent || c.file.is_none() {
                    // The writer of the whole file will merge it.
                    return None;
                }
            }
            Mode::Direct { file, toskip } => {
                c.lent = false;
                c.file = file;
                if toskip > 0 {
                    // Never reached new bytes.
                    return None;
                }
            }
        }
        let f = c.file.as_mut()?;
        // Merge buffered ranges that now touch the end of the whole file.
        let keys: Vec<(u64, u64, u64)> = c.frags.keys().copied().collect();
        for k in keys {
            let Some(fr) = c.frags.get(&k) else { continue };
            if f.size < fr.start {
                break;
            }
            let overlap = usize::try_from(f.size - fr.start).unwrap_or(usize::MAX);
            if overlap < fr.data.len() {
                if fr.gap > 0 {
                    f.append_gap(fr.gap);
                }
                f.append(&fr.data[overlap..]);
            }
            if let Some(fr) = c.frags.remove(&k) {
                freed = freed.saturating_add(fr.buflen);
            }
        }
        c.lastsize = f.size;
        let done = f.size >= c.totalsize;
        inner.reserved = inner.reserved.saturating_sub(freed);
        if !done {
            return None;
        }
        let mut whole = c.file.take()?;
        whole.close(if truncated {
            FileState::Truncated
        } else {
            FileState::Closed
        });
        Some(*whole)
    }
}

impl Drop for RangeBlock {
    /// A block dropped without `close` (the parser itself dropped) gives the whole file back.
    fn drop(&mut self) {
        if !self.attached {
            return;
        }
        let Ok(mut g) = self.store.inner.lock() else {
            return;
        };
        let inner = &mut *g;
        let mut release = 0u64;
        if let Some(c) = inner.containers.get_mut(&self.key) {
            c.users = c.users.saturating_sub(1);
            match &mut self.mode {
                Mode::Direct { file, .. } => {
                    c.lent = false;
                    c.file = file.take();
                }
                Mode::Buffer(frag) => release = frag.buflen,
                Mode::Skip { .. } => {}
            }
        }
        inner.reserved = inner.reserved.saturating_sub(release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(s: &Arc<RangeStore>, start: u64, end: u64, total: u64) -> RangeBlock {
        RangeBlock::open(
            s,
            b"hostfile",
            start,
            end,
            total,
            b"/f",
            ForceHash::default(),
        )
        .expect("block")
    }

    #[test]
    fn in_order_ranges_complete_the_file() {
        let s = Arc::new(RangeStore::new());
        let mut a = open(&s, 0, 3, 8);
        a.append(b"abcd");
        assert!(a.close(false).is_none());
        let mut b = open(&s, 4, 7, 8);
        b.append(b"efgh");
        let f = b.close(false).expect("whole file");
        assert_eq!(f.size, 8);
        assert_eq!(f.state, FileState::Closed);
    }

    #[test]
    fn out_of_order_ranges_are_merged() {
        // Suricata's concurrent-range-requests: 26-33, 0-8, 9-25 of 34 bytes.
        let s = Arc::new(RangeStore::new());
        let mut c = open(&s, 26, 33, 34);
        let mut a = open(&s, 0, 8, 34);
        let mut b = open(&s, 9, 25, 34);
        c.append(&[b'c'; 8]);
        assert!(c.close(false).is_none());
        a.append(&[b'a'; 9]);
        assert!(a.close(false).is_none());
        b.append(&[b'b'; 17]);
        let f = b.close(false).expect("whole file");
        assert_eq!(f.size, 34);
        assert!(s.inner.lock().map(|g| g.reserved == 0).unwrap_or(false));
    }

    #[test]
    fn buffered_range_is_cut_at_its_length_and_duplicates_dropped() {
        let s = Arc::new(RangeStore::new());
        let mut a = open(&s, 4, 5, 10);
        a.append(b"xyzzy");
        assert!(a.close(false).is_none());
        let mut d = open(&s, 4, 5, 10);
        d.append(b"xy");
        assert!(d.close(false).is_none());
        let g = s.inner.lock().expect("lock");
        let c = g.containers.values().next().expect("container");
        assert_eq!(c.frags.len(), 1);
        assert_eq!(g.reserved, 2);
    }

    #[test]
    fn longer_in_order_body_counts_fully() {
        // content-range-less-than-len: "bytes 0-4/33" with a 33-byte body.
        let s = Arc::new(RangeStore::new());
        let mut a = open(&s, 0, 4, 33);
        a.append(&[0u8; 33]);
        let f = a.close(false).expect("whole file");
        assert_eq!(f.size, 33);
    }

    #[test]
    fn dropped_block_returns_the_file() {
        let s = Arc::new(RangeStore::new());
        {
            let mut a = open(&s, 0, 3, 8);
            a.append(b"ab");
        }
        let mut b = open(&s, 0, 3, 8);
        b.append(b"cd");
        // The file was given back (2 bytes), lastsize stayed 0, so this range wrote in order.
        assert!(b.close(false).is_none());
    }

    #[test]
    fn table_is_bounded() {
        let s = Arc::new(RangeStore::new());
        for i in 0..(MAX_RANGE_CONTAINERS + 10) {
            let key = format!("k{i}");
            let b = RangeBlock::open(&s, key.as_bytes(), 0, 1, 4, b"/f", ForceHash::default());
            drop(b.map(|b| b.close(false)));
        }
        assert!(s.len() <= MAX_RANGE_CONTAINERS);
    }
}
