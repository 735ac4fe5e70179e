//! The event archive: events keyed by time, CBOR-encoded and LZ4-compressed in blocks, with
//! per-block summaries that let hunts skip what cannot match.
//!
//! Layout under `DATA_DIR/archive/`:
//! - **segment files** `{id:016x}.seg`: append-only sequences of block records
//!   `magic u32 | len u32 | crc32 u32 | lz4(size-prefixed CBOR [[ts_us, event], ...])`. A segment
//!   holds one UTC day of event time at most and [`ArchiveConfig::segment_bytes`]; it is the unit
//!   of eviction.
//! - **index** (sled tree `archive_index`): block id → [`BlockInfo`] (segment, offset, length,
//!   event count, time range, bloom filter of the block's field tokens, see [`crate::tokens`]).
//! - **segments** (sled tree `archive_segments`): segment id → its day, time range, size and
//!   block-id range.
//!
//! Invariants:
//! - A block is written to its segment file before its index entry exists, so every indexed
//!   block was fully written (or the read fails its CRC and is reported, never mis-decoded).
//! - Eviction removes index entries before the file, so a crash in between leaves entries that
//!   point at a missing file; the next writer open removes them. Orphan files (no metadata) are
//!   deleted on open as well.
//! - Block ids come from [`Store::next_id`] and are never reused, even after a crash, so an
//!   [`EventRef`] held by a DoC never points at a different event later.
//! - Nothing here stops ingest: a full disk evicts the oldest segments (raising an
//!   [`Eviction`]), and only if nothing is left to evict is a block dropped, also reported.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bloom::{Bloom, BloomRef};
use crate::tokens::{event_tokens, TokenSet};
use crate::{Op, Store, StoreError, Tree};

/// Default retention: 60 days of event time.
pub const DEFAULT_MAX_AGE_SECS: u64 = 60 * 86_400;
/// Events per block (the unit of compression, summaries and reads).
pub const DEFAULT_BLOCK_EVENTS: usize = 1024;
/// Encoded bytes per block before it is sealed early.
pub const DEFAULT_BLOCK_BYTES: usize = 1 << 20;
/// Largest decoded block a reader accepts (a record claiming more is corrupt).
pub const MAX_BLOCK_RAW: usize = 64 << 20;
/// Default segment size.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 << 20;
/// Free space always kept, whatever the configuration says: the state database needs room to
/// write DoCs and the archive index when the disk is otherwise full.
pub const MIN_FREE_FLOOR: u64 = 2 << 20;
/// Dropped blocks logged one by one (the rest only become `disk_full` evictions).
const MAX_LOGGED_DROPS: u64 = 10;
/// Sealed blocks whose median times make the archive's "now" ([`ArchiveWriter::now`]).
pub const RECENT_BLOCKS: usize = 5;
/// Largest free-space reserve picked by default (5 % of the file system, at most this).
pub const MAX_DEFAULT_MIN_FREE: u64 = 4 << 30;

const MAGIC: u32 = 0x4e44_5231; // "NDR1"
const RECORD_HEADER: usize = 12;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Archive limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveConfig {
    /// Segments whose newest event is older than this (relative to the newest event archived)
    /// are deleted.
    pub max_age_secs: u64,
    /// Total size of segment files kept (0: no limit besides the disk).
    pub max_bytes: u64,
    /// Free space kept on the file system; below it the oldest segments go. `None`: 5 % of the
    /// file system, at most [`MAX_DEFAULT_MIN_FREE`].
    pub min_free_bytes: Option<u64>,
    /// Events per block.
    pub block_events: usize,
    /// Encoded bytes per block.
    pub block_bytes: usize,
    /// Bytes per segment file.
    pub segment_bytes: u64,
}

impl Default for ArchiveConfig {
    fn default() -> Self {
        ArchiveConfig {
            max_age_secs: DEFAULT_MAX_AGE_SECS,
            max_bytes: 0,
            min_free_bytes: None,
            block_events: DEFAULT_BLOCK_EVENTS,
            block_bytes: DEFAULT_BLOCK_BYTES,
            segment_bytes: DEFAULT_SEGMENT_BYTES,
        }
    }
}

/// Where an archived event lives: its block and its position in it. Printed `BLOCK:INDEX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EventRef {
    /// Block id.
    pub block: u64,
    /// Position in the block.
    pub index: u32,
}

impl fmt::Display for EventRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.block, self.index)
    }
}

impl FromStr for EventRef {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (b, i) = s
            .split_once(':')
            .ok_or_else(|| format!("{s:?}: expected BLOCK:INDEX"))?;
        Ok(EventRef {
            block: b.parse().map_err(|e| format!("{s:?}: block: {e}"))?,
            index: i.parse().map_err(|e| format!("{s:?}: index: {e}"))?,
        })
    }
}

impl EventRef {
    /// 12 bytes that sort as the refs do.
    pub fn to_key(&self) -> [u8; 12] {
        let mut k = [0; 12];
        k[..8].copy_from_slice(&self.block.to_be_bytes());
        k[8..].copy_from_slice(&self.index.to_be_bytes());
        k
    }
}

/// A block's summary, as the index keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockInfo {
    /// Segment file id.
    pub segment: u64,
    /// Record offset in the segment file.
    pub offset: u64,
    /// Record length (header included).
    pub len: u32,
    /// Events in the block.
    pub count: u32,
    /// Oldest event time (µs since the epoch).
    pub min_ts: i64,
    /// Newest event time.
    pub max_ts: i64,
    /// Tokens of the block's events.
    pub bloom: Bloom,
}

const INFO_FIXED: usize = 1 + 8 + 8 + 4 + 4 + 8 + 8;

impl BlockInfo {
    fn encode(&self) -> Vec<u8> {
        let bloom = self.bloom.to_bytes();
        let mut v = Vec::with_capacity(INFO_FIXED + bloom.len());
        v.push(1);
        v.extend_from_slice(&self.segment.to_le_bytes());
        v.extend_from_slice(&self.offset.to_le_bytes());
        v.extend_from_slice(&self.len.to_le_bytes());
        v.extend_from_slice(&self.count.to_le_bytes());
        v.extend_from_slice(&self.min_ts.to_le_bytes());
        v.extend_from_slice(&self.max_ts.to_le_bytes());
        v.extend_from_slice(&bloom);
        v
    }

    fn decode(id: u64, b: &[u8]) -> Result<BlockInfo, StoreError> {
        let bad = |why: &str| StoreError::Corrupt {
            what: format!("archive_index/{id}"),
            why: why.to_owned(),
        };
        if b.len() < INFO_FIXED || b[0] != 1 {
            return Err(bad("short or unknown version"));
        }
        let mut r = Reader(&b[1..]);
        let info = BlockInfo {
            segment: r.u64(),
            offset: r.u64(),
            len: r.u32(),
            count: r.u32(),
            min_ts: r.u64() as i64,
            max_ts: r.u64() as i64,
            bloom: Bloom::from_bytes(r.0).ok_or_else(|| bad("bloom size"))?,
        };
        Ok(info)
    }
}

/// Fixed-width little-endian reads from a slice whose length was checked before.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut a = [0; N];
        if self.0.len() >= N {
            a.copy_from_slice(&self.0[..N]);
            self.0 = &self.0[N..];
        }
        a
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }
}

/// A segment file's metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SegmentMeta {
    day: i64,
    min_ts: i64,
    max_ts: i64,
    bytes: u64,
    events: u64,
    first_block: u64,
    last_block: u64,
}

impl SegmentMeta {
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(57);
        v.push(1);
        for x in [
            self.day as u64,
            self.min_ts as u64,
            self.max_ts as u64,
            self.bytes,
            self.events,
            self.first_block,
            self.last_block,
        ] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v
    }

    fn decode(id: u64, b: &[u8]) -> Result<SegmentMeta, StoreError> {
        if b.len() != 57 || b[0] != 1 {
            return Err(StoreError::Corrupt {
                what: format!("archive_segments/{id}"),
                why: format!("{} bytes", b.len()),
            });
        }
        let mut r = Reader(&b[1..]);
        Ok(SegmentMeta {
            day: r.u64() as i64,
            min_ts: r.u64() as i64,
            max_ts: r.u64() as i64,
            bytes: r.u64(),
            events: r.u64(),
            first_block: r.u64(),
            last_block: r.u64(),
        })
    }
}

/// Why archive data was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvictReason {
    /// Older than the retention period.
    Age,
    /// Over the configured archive size.
    Size,
    /// Free disk space fell below the reserve.
    DiskWatermark,
    /// A write failed for lack of space and nothing older was left: the block was dropped.
    DiskFull,
}

/// Archive data removed (or, for [`EvictReason::DiskFull`], never written).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Eviction {
    /// Why.
    pub reason: EvictReason,
    /// Segment removed (0 for a dropped block).
    pub segment: u64,
    /// Events removed or dropped.
    pub events: u64,
    /// Bytes freed.
    pub bytes: u64,
    /// Oldest event time removed (µs).
    pub min_ts: i64,
    /// Newest event time removed (µs).
    pub max_ts: i64,
}

/// Archive totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ArchiveStats {
    /// Segment files.
    pub segments: u64,
    /// Events archived.
    pub events: u64,
    /// Bytes in segment files.
    pub bytes: u64,
    /// Oldest event time (µs), if any.
    pub oldest_ts: Option<i64>,
    /// Newest event time (µs), if any.
    pub newest_ts: Option<i64>,
}

fn archive_dir(store: &Store) -> PathBuf {
    store.dir().join("archive")
}

fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:016x}.seg"))
}

fn io_err(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

fn load_segments(store: &Store) -> Result<BTreeMap<u64, SegmentMeta>, StoreError> {
    let mut m = BTreeMap::new();
    for kv in store.scan_prefix(Tree::ArchiveSegments, b"") {
        let (k, v) = kv?;
        let id = key_u64(&k);
        m.insert(id, SegmentMeta::decode(id, &v)?);
    }
    Ok(m)
}

fn key_u64(k: &[u8]) -> u64 {
    let mut a = [0; 8];
    let n = k.len().min(8);
    a[..n].copy_from_slice(&k[..n]);
    u64::from_be_bytes(a)
}

/// The read side: block summaries and block contents.
#[derive(Debug, Clone)]
pub struct Archive {
    store: Store,
    dir: PathBuf,
}

impl Archive {
    pub(crate) fn new(store: Store) -> Archive {
        let dir = archive_dir(&store);
        Archive { store, dir }
    }

    /// Blocks that may hold events in `[since, until]` (µs, inclusive; `None`: open), in block
    /// order (ingest order).
    pub fn blocks(
        &self,
        since: Option<i64>,
        until: Option<i64>,
    ) -> Result<Vec<(u64, BlockInfo)>, StoreError> {
        Ok(self.candidate_blocks(0, since, until, &|_| true)?.1)
    }

    /// Blocks from id `first` on that overlap `[since, until]` and whose bloom filter `keep`
    /// accepts, tested in place in the index (only accepted blocks are copied out); also the
    /// number of blocks in the time range.
    pub fn candidate_blocks(
        &self,
        first: u64,
        since: Option<i64>,
        until: Option<i64>,
        keep: &dyn Fn(&BloomRef<'_>) -> bool,
    ) -> Result<(usize, Vec<(u64, BlockInfo)>), StoreError> {
        let mut out = Vec::new();
        let mut in_range = 0;
        let mut bad: Option<StoreError> = None;
        self.store
            .visit_from(Tree::ArchiveIndex, &first.to_be_bytes(), &mut |k, v| {
                let id = key_u64(k);
                if v.len() < INFO_FIXED || v[0] != 1 {
                    bad = Some(StoreError::Corrupt {
                        what: format!("archive_index/{id}"),
                        why: "short or unknown version".into(),
                    });
                    return false;
                }
                let mut r = Reader(&v[1 + 8 + 8 + 4 + 4..INFO_FIXED]);
                let (min_ts, max_ts) = (r.u64() as i64, r.u64() as i64);
                if since.is_some_and(|s| max_ts < s) || until.is_some_and(|u| min_ts > u) {
                    return true;
                }
                in_range += 1;
                let Some(bloom) = BloomRef::new(&v[INFO_FIXED..]) else {
                    bad = Some(StoreError::Corrupt {
                        what: format!("archive_index/{id}"),
                        why: "bloom size".into(),
                    });
                    return false;
                };
                if keep(&bloom) {
                    match BlockInfo::decode(id, v) {
                        Ok(info) => out.push((id, info)),
                        Err(e) => {
                            bad = Some(e);
                            return false;
                        }
                    }
                }
                true
            })?;
        match bad {
            Some(e) => Err(e),
            None => Ok((in_range, out)),
        }
    }

    /// The events of a block, `(ts_us, event)` in archive order.
    pub fn read_block(&self, id: u64, info: &BlockInfo) -> Result<Vec<(i64, Value)>, StoreError> {
        let raw = self.read_block_raw(id, info)?;
        ciborium::from_reader(raw.as_slice()).map_err(|e| StoreError::Corrupt {
            what: format!("archive block {id}"),
            why: e.to_string(),
        })
    }

    /// The decoded (decompressed) CBOR of a block: walk it with [`RawEvents`] to look at
    /// events without building them, and [`decode_event`] the interesting ones.
    pub fn read_block_raw(&self, id: u64, info: &BlockInfo) -> Result<Vec<u8>, StoreError> {
        let path = segment_path(&self.dir, info.segment);
        let corrupt = |why: String| StoreError::Corrupt {
            what: format!("{} block {id}", path.display()),
            why,
        };
        let f = File::open(&path).map_err(|e| io_err(&path, e))?;
        let len = info.len as usize;
        if !(RECORD_HEADER + 4..=MAX_BLOCK_RAW).contains(&len) {
            return Err(corrupt(format!("record length {len}")));
        }
        let mut rec = vec![0; len];
        f.read_exact_at(&mut rec, info.offset)
            .map_err(|e| io_err(&path, e))?;
        record_payload(&rec).map_err(corrupt)
    }

    /// One archived event.
    pub fn event(&self, r: EventRef) -> Result<Option<(i64, Value)>, StoreError> {
        let Some(v) = self.store.get(Tree::ArchiveIndex, &r.block.to_be_bytes())? else {
            return Ok(None);
        };
        let info = BlockInfo::decode(r.block, &v)?;
        let mut evs = self.read_block(r.block, &info)?;
        let i = r.index as usize;
        Ok((i < evs.len()).then(|| evs.swap_remove(i)))
    }

    /// The archive's "now" for readers (retro-hunt windows, `--since`): the lower median of
    /// the mid-times of the last [`RECENT_BLOCKS`] blocks, at most a day ahead of the clock;
    /// `None` for an empty archive. Like [`ArchiveWriter::now`], a few bogus timestamps do not
    /// move it.
    pub fn now(&self) -> Result<Option<i64>, StoreError> {
        let mut mids = Vec::new();
        for (k, v) in self.store.last_n(Tree::ArchiveIndex, RECENT_BLOCKS)? {
            let info = BlockInfo::decode(key_u64(&k), &v)?;
            mids.push(info.min_ts / 2 + info.max_ts / 2);
        }
        if mids.is_empty() {
            return Ok(None);
        }
        let mid = (mids.len() - 1) / 2;
        let (_, m, _) = mids.select_nth_unstable(mid);
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(i64::MAX, |d| {
                i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
            });
        Ok(Some((*m).min(wall.saturating_add(MICROS_PER_DAY))))
    }

    /// Totals over the segments.
    pub fn stats(&self) -> Result<ArchiveStats, StoreError> {
        let segs = load_segments(&self.store)?;
        let mut s = ArchiveStats::default();
        for m in segs.values() {
            s.segments += 1;
            s.events += m.events;
            s.bytes += m.bytes;
            s.oldest_ts = Some(s.oldest_ts.map_or(m.min_ts, |t: i64| t.min(m.min_ts)));
            s.newest_ts = Some(s.newest_ts.map_or(m.max_ts, |t: i64| t.max(m.max_ts)));
        }
        Ok(s)
    }
}

struct OpenBlock {
    id: u64,
    /// Event times, for the block's median.
    times: Vec<i64>,
    items: Vec<u8>,
    count: u32,
    tokens: TokenSet,
    min_ts: i64,
    max_ts: i64,
    day: i64,
}

struct OpenSegment {
    id: u64,
    file: File,
    path: PathBuf,
    meta: SegmentMeta,
}

/// The write side. One per data directory at a time (the caller's ingest thread).
pub struct ArchiveWriter {
    store: Store,
    cfg: ArchiveConfig,
    dir: PathBuf,
    block: Option<OpenBlock>,
    seg: Option<OpenSegment>,
    segments: BTreeMap<u64, SegmentMeta>,
    /// Median event times of the last sealed blocks (see [`ArchiveWriter::now`]).
    recent: std::collections::VecDeque<i64>,
    evictions: Vec<Eviction>,
    dropped_blocks: u64,
}

impl fmt::Debug for ArchiveWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArchiveWriter")
            .field("dir", &self.dir)
            .field("segments", &self.segments.len())
            .finish()
    }
}

impl ArchiveWriter {
    /// Opens the archive for writing: repairs what a crash may have left (index entries of
    /// missing segment files, files without metadata) and starts a new segment on first write.
    pub fn open(store: &Store, cfg: ArchiveConfig) -> Result<ArchiveWriter, StoreError> {
        let dir = archive_dir(store);
        std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        let mut segments = load_segments(store)?;
        let missing: Vec<u64> = segments
            .keys()
            .copied()
            .filter(|id| !segment_path(&dir, *id).exists())
            .collect();
        for id in missing {
            if let Some(m) = segments.remove(&id) {
                tracing::warn!("archive: segment {id:016x} is missing; dropping its index");
                drop_index(store, id, &m)?;
            }
        }
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for e in rd.flatten() {
                let name = e.file_name();
                let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".seg")) else {
                    continue;
                };
                if u64::from_str_radix(stem, 16).is_ok_and(|id| !segments.contains_key(&id)) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        Ok(ArchiveWriter {
            store: store.clone(),
            cfg,
            dir,
            block: None,
            seg: None,
            segments,
            recent: std::collections::VecDeque::with_capacity(RECENT_BLOCKS),
            evictions: Vec::new(),
            dropped_blocks: 0,
        })
    }

    /// The open block for an event at `ts_us` (sealing the current one on a day change).
    fn block_for(&mut self, ts_us: i64) -> Result<&mut OpenBlock, StoreError> {
        let day = ts_us.div_euclid(MICROS_PER_DAY);
        // A new day starts a new block (and segment); a late event of an earlier day joins
        // the current one (its time range says so), so out-of-order events never fragment
        // the archive.
        if self.block.as_ref().is_some_and(|b| day > b.day) {
            self.seal()?;
        }
        let b = match self.block.take() {
            Some(b) => b,
            None => OpenBlock {
                id: self.store.next_id()?,
                times: Vec::with_capacity(self.cfg.block_events),
                items: Vec::with_capacity(self.cfg.block_bytes / 2),
                count: 0,
                tokens: TokenSet::default(),
                min_ts: ts_us,
                max_ts: ts_us,
                day,
            },
        };
        Ok(self.block.insert(b))
    }

    /// Counts the event just written into the open block and seals the block when full.
    fn appended_one(&mut self, ts_us: i64) -> Result<EventRef, StoreError> {
        let (r, full) = match self.block.as_mut() {
            Some(b) => {
                let r = EventRef {
                    block: b.id,
                    index: b.count,
                };
                b.count += 1;
                b.times.push(ts_us);
                b.min_ts = b.min_ts.min(ts_us);
                b.max_ts = b.max_ts.max(ts_us);
                (
                    r,
                    b.count as usize >= self.cfg.block_events
                        || b.items.len() >= self.cfg.block_bytes,
                )
            }
            None => (EventRef { block: 0, index: 0 }, false),
        };
        if full {
            self.seal()?;
        }
        Ok(r)
    }

    /// Adds an event with time `ts_us`; returns where it will be found once its block is
    /// sealed (by [`ArchiveWriter::seal`], [`ArchiveWriter::flush`] or a full block).
    pub fn append(&mut self, ts_us: i64, ev: &Value) -> Result<EventRef, StoreError> {
        let b = self.block_for(ts_us)?;
        ciborium::into_writer(&(ts_us, ev), &mut b.items).map_err(|e| StoreError::Corrupt {
            what: "archive event".into(),
            why: e.to_string(),
        })?;
        event_tokens(ev, &mut b.tokens);
        self.appended_one(ts_us)
    }

    /// Adds an event already encoded as a CBOR map (see [`crate::transcode`]) with its
    /// tokens: the fast path of ingest, no `Value` built.
    pub fn append_cbor(
        &mut self,
        ts_us: i64,
        cbor: &[u8],
        tokens: &[u64],
    ) -> Result<EventRef, StoreError> {
        let b = self.block_for(ts_us)?;
        b.items.push(0x82);
        if ts_us >= 0 {
            crate::transcode::cbor_head(&mut b.items, 0, ts_us as u64);
        } else {
            crate::transcode::cbor_head(&mut b.items, 1, (-(ts_us + 1)) as u64);
        }
        b.items.extend_from_slice(cbor);
        b.tokens.extend(tokens.iter().copied());
        self.appended_one(ts_us)
    }

    /// Writes the open block, if any, and applies the retention limits.
    pub fn seal(&mut self) -> Result<(), StoreError> {
        let Some(b) = self.block.take() else {
            return Ok(());
        };
        let mut raw = Vec::with_capacity(b.items.len() + 5);
        cbor_array_header(b.count, &mut raw);
        raw.extend_from_slice(&b.items);
        let body = lz4_flex::compress_prepend_size(&raw);
        let mut rec = Vec::with_capacity(RECORD_HEADER + body.len());
        rec.extend_from_slice(&MAGIC.to_le_bytes());
        rec.extend_from_slice(&(body.len() as u32).to_le_bytes());
        rec.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        rec.extend_from_slice(&body);

        let offset = match self.write_record(&b, &rec) {
            Ok(o) => o,
            Err(e) => {
                // Nothing older left to free: the block is lost, and said so.
                self.dropped_blocks += 1;
                if self.dropped_blocks <= MAX_LOGGED_DROPS {
                    tracing::warn!("archive: block of {} events dropped: {e}", b.count);
                }
                self.evictions.push(Eviction {
                    reason: EvictReason::DiskFull,
                    segment: 0,
                    events: u64::from(b.count),
                    bytes: rec.len() as u64,
                    min_ts: b.min_ts,
                    max_ts: b.max_ts,
                });
                return Ok(());
            }
        };
        let Some(seg) = self.seg.as_mut() else {
            return Err(no_segment());
        };
        let m = &mut seg.meta;
        if m.events == 0 {
            m.first_block = b.id;
            m.min_ts = b.min_ts;
            m.max_ts = b.max_ts;
        }
        m.last_block = b.id;
        m.min_ts = m.min_ts.min(b.min_ts);
        m.max_ts = m.max_ts.max(b.max_ts);
        m.bytes = offset + rec.len() as u64;
        m.events += u64::from(b.count);
        let mut bloom = Bloom::with_capacity(b.tokens.len());
        for t in &b.tokens {
            bloom.insert(*t);
        }
        let info = BlockInfo {
            segment: seg.id,
            offset,
            len: rec.len() as u32,
            count: b.count,
            min_ts: b.min_ts,
            max_ts: b.max_ts,
            bloom,
        };
        let meta = seg.meta;
        self.store.commit(&[
            Op::Put(
                Tree::ArchiveIndex,
                b.id.to_be_bytes().to_vec(),
                info.encode(),
            ),
            Op::Put(
                Tree::ArchiveSegments,
                seg.id.to_be_bytes().to_vec(),
                meta.encode(),
            ),
        ])?;
        self.segments.insert(seg.id, meta);
        let mut times = b.times;
        if !times.is_empty() {
            let mid = (times.len() - 1) / 2;
            let (_, m, _) = times.select_nth_unstable(mid);
            if self.recent.len() == RECENT_BLOCKS {
                self.recent.pop_front();
            }
            self.recent.push_back(*m);
        }
        self.enforce_limits()
    }

    /// Appends `rec` to the current segment (opening or rotating as needed), freeing space by
    /// eviction and retrying once when the disk is full. Returns the record's offset.
    fn write_record(&mut self, b: &OpenBlock, rec: &[u8]) -> Result<u64, StoreError> {
        let rotate = self.seg.as_ref().is_some_and(|s| {
            b.day > s.meta.day || s.meta.bytes + rec.len() as u64 > self.cfg.segment_bytes
        });
        if rotate {
            self.close_segment()?;
        }
        if self.seg.is_none() {
            self.open_segment(b.day)?;
        }
        let mut tried_eviction = false;
        loop {
            let Some(seg) = self.seg.as_mut() else {
                return Err(no_segment());
            };
            let offset = seg.meta.bytes;
            match seg.file.write_all_at(rec, offset) {
                Ok(()) => return Ok(offset),
                Err(e) => {
                    // Undo a partial write, then free the oldest segment and try once more.
                    let _ = seg.file.set_len(offset);
                    let path = seg.path.clone();
                    if tried_eviction || !self.evict_oldest(EvictReason::DiskWatermark)? {
                        return Err(io_err(&path, e));
                    }
                    tried_eviction = true;
                }
            }
        }
    }

    fn open_segment(&mut self, day: i64) -> Result<(), StoreError> {
        let id = self.store.next_id()?;
        let path = segment_path(&self.dir, id);
        let file = OpenOptions::new()
            .create_new(true)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| io_err(&path, e))?;
        self.seg = Some(OpenSegment {
            id,
            file,
            path,
            meta: SegmentMeta {
                day,
                min_ts: 0,
                max_ts: 0,
                bytes: 0,
                events: 0,
                first_block: 0,
                last_block: 0,
            },
        });
        Ok(())
    }

    fn close_segment(&mut self) -> Result<(), StoreError> {
        if let Some(s) = self.seg.take() {
            s.file.sync_data().map_err(|e| io_err(&s.path, e))?;
            if s.meta.events == 0 {
                let _ = std::fs::remove_file(&s.path);
            }
        }
        Ok(())
    }

    /// Seals the open block, syncs the segment file and the database: everything appended so
    /// far survives a crash.
    pub fn flush(&mut self) -> Result<(), StoreError> {
        self.seal()?;
        if let Some(s) = &self.seg {
            s.file.sync_data().map_err(|e| io_err(&s.path, e))?;
        }
        self.store.flush()
    }

    /// Evictions since the last call (the caller turns them into events).
    pub fn take_evictions(&mut self) -> Vec<Eviction> {
        std::mem::take(&mut self.evictions)
    }

    /// The archive's "now" on the capture's time line (µs): the (lower) median of the median
    /// event times of the last [`RECENT_BLOCKS`] sealed blocks, never more than a day ahead of the
    /// clock. Retention counts back from it; a few events with bogus timestamps (a hostile
    /// capture dated 2100) cannot move it, so they cannot age out the archive. `None` until a
    /// block was sealed by this writer.
    pub fn now(&self) -> Option<i64> {
        if self.recent.is_empty() {
            return None;
        }
        let mut v: Vec<i64> = self.recent.iter().copied().collect();
        let mid = (v.len() - 1) / 2;
        let (_, m, _) = v.select_nth_unstable(mid);
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(i64::MAX, |d| {
                i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
            });
        Some((*m).min(wall.saturating_add(MICROS_PER_DAY)))
    }

    fn current(&self) -> Option<u64> {
        self.seg.as_ref().map(|s| s.id)
    }

    fn enforce_limits(&mut self) -> Result<(), StoreError> {
        // Age, relative to the archive's robust "now".
        let max_age =
            i64::try_from(self.cfg.max_age_secs.saturating_mul(1_000_000)).unwrap_or(i64::MAX);
        let cutoff = self.now().map_or(i64::MIN, |n| n.saturating_sub(max_age));
        let old: Vec<u64> = self
            .segments
            .iter()
            .filter(|(id, m)| m.max_ts < cutoff && Some(**id) != self.current())
            .map(|(id, _)| *id)
            .collect();
        for id in old {
            self.evict(id, EvictReason::Age)?;
        }
        if self.cfg.max_bytes > 0 {
            while self.segments.values().map(|m| m.bytes).sum::<u64>() > self.cfg.max_bytes {
                if !self.evict_oldest(EvictReason::Size)? {
                    break;
                }
            }
        }
        while self.free_space_low() {
            if !self.evict_oldest(EvictReason::DiskWatermark)? {
                break;
            }
        }
        Ok(())
    }

    fn free_space_low(&self) -> bool {
        let Ok(st) = rustix::fs::statvfs(&self.dir) else {
            return false;
        };
        let free = st.f_bavail.saturating_mul(st.f_frsize);
        let total = st.f_blocks.saturating_mul(st.f_frsize);
        let reserve = self
            .cfg
            .min_free_bytes
            .unwrap_or_else(|| (total / 20).min(MAX_DEFAULT_MIN_FREE))
            .max(MIN_FREE_FLOOR);
        free < reserve
    }

    /// Evicts the segment with the oldest data (never the one being written). False when there
    /// is none.
    fn evict_oldest(&mut self, reason: EvictReason) -> Result<bool, StoreError> {
        let cur = self.current();
        let Some(id) = self
            .segments
            .iter()
            .filter(|(id, _)| Some(**id) != cur)
            .min_by_key(|(id, m)| (m.max_ts, **id))
            .map(|(id, _)| *id)
        else {
            return Ok(false);
        };
        self.evict(id, reason)?;
        Ok(true)
    }

    fn evict(&mut self, id: u64, reason: EvictReason) -> Result<(), StoreError> {
        let Some(m) = self.segments.remove(&id) else {
            return Ok(());
        };
        // The file goes even when the index cannot be updated (a full disk can make the
        // database fail): freeing space comes first, and the next open drops index entries
        // whose file is missing.
        let dropped = drop_index(&self.store, id, &m);
        let path = segment_path(&self.dir, id);
        if let Err(e) = std::fs::remove_file(&path) {
            if e.kind() != std::io::ErrorKind::NotFound {
                return Err(io_err(&path, e));
            }
        }
        tracing::info!(
            "archive: evicted segment {id:016x} ({reason:?}, {} events)",
            m.events
        );
        self.evictions.push(Eviction {
            reason,
            segment: id,
            events: m.events,
            bytes: m.bytes,
            min_ts: m.min_ts,
            max_ts: m.max_ts,
        });
        dropped
    }
}

/// Decodes one block record (`magic | len | crc | lz4(cbor)`), checking everything before
/// trusting it: the bytes may come from a damaged or hostile file.
pub fn decode_record(rec: &[u8]) -> Result<Vec<(i64, Value)>, String> {
    let raw = record_payload(rec)?;
    ciborium::from_reader(raw.as_slice()).map_err(|e| e.to_string())
}

/// The checked, decompressed CBOR payload of a record.
fn record_payload(rec: &[u8]) -> Result<Vec<u8>, String> {
    if rec.len() < RECORD_HEADER + 4 {
        return Err(format!("record of {} bytes", rec.len()));
    }
    let word = |i: usize| u32::from_le_bytes([rec[i], rec[i + 1], rec[i + 2], rec[i + 3]]);
    if word(0) != MAGIC {
        return Err("bad magic".into());
    }
    if word(4) as usize != rec.len() - RECORD_HEADER {
        return Err("length mismatch".into());
    }
    let body = &rec[RECORD_HEADER..];
    if crc32fast::hash(body) != word(8) {
        return Err("checksum mismatch".into());
    }
    let raw_len = u32::from_le_bytes([body[0], body[1], body[2], body[3]]) as usize;
    if raw_len > MAX_BLOCK_RAW {
        return Err(format!("decoded size {raw_len}"));
    }
    lz4_flex::decompress_size_prepended(body).map_err(|e| e.to_string())
}

/// Deepest CBOR nesting [`RawEvents`] walks (deeper blocks are reported corrupt).
const MAX_CBOR_DEPTH: usize = 128;

/// The end of the CBOR item at `i` (structure only: no values built), or `None` when the
/// bytes are not well-formed within bounds.
fn skip_item(b: &[u8], mut i: usize, depth: usize) -> Option<usize> {
    if depth > MAX_CBOR_DEPTH {
        return None;
    }
    let ib = *b.get(i)?;
    i += 1;
    let (major, info) = (ib >> 5, ib & 0x1f);
    let arg = |i: &mut usize, n: usize| -> Option<u64> {
        let s = b.get(*i..*i + n)?;
        *i += n;
        Some(s.iter().fold(0u64, |a, x| a << 8 | u64::from(*x)))
    };
    let n: Option<u64> = match info {
        0..=23 => Some(u64::from(info)),
        24 => Some(arg(&mut i, 1)?),
        25 => Some(arg(&mut i, 2)?),
        26 => Some(arg(&mut i, 4)?),
        27 => Some(arg(&mut i, 8)?),
        31 => None,
        _ => return None,
    };
    match (major, n) {
        (0 | 1, Some(_)) => Some(i),
        (2 | 3, Some(len)) => {
            let end = i.checked_add(usize::try_from(len).ok()?)?;
            (end <= b.len()).then_some(end)
        }
        (2 | 3, None) => {
            while *b.get(i)? != 0xff {
                i = skip_item(b, i, depth + 1)?;
            }
            Some(i + 1)
        }
        (4 | 5, Some(len)) => {
            let items = len.checked_mul(if major == 5 { 2 } else { 1 })?;
            for _ in 0..items {
                i = skip_item(b, i, depth + 1)?;
            }
            Some(i)
        }
        (4 | 5, None) => {
            while *b.get(i)? != 0xff {
                i = skip_item(b, i, depth + 1)?;
            }
            Some(i + 1)
        }
        (6, Some(_)) => skip_item(b, i, depth + 1),
        (7, Some(_)) => Some(i),
        _ => None,
    }
}

/// The events of a raw block (see [`Archive::read_block_raw`]) as `(index, ts_us, cbor)`,
/// where `cbor` is the event map's bytes. Ends at the first malformed item.
#[derive(Debug)]
pub struct RawEvents<'a> {
    b: &'a [u8],
    i: usize,
    left: u64,
    index: u32,
}

impl<'a> RawEvents<'a> {
    /// Walks `raw`.
    pub fn new(raw: &'a [u8]) -> RawEvents<'a> {
        let mut r = RawEvents {
            b: raw,
            i: 0,
            left: 0,
            index: 0,
        };
        // The outer array's head.
        if let Some(&h) = raw.first() {
            if h >> 5 == 4 {
                let info = h & 0x1f;
                let mut i = 1;
                let n = match info {
                    0..=23 => Some(u64::from(info)),
                    24..=27 => {
                        let w = 1usize << (info - 24);
                        raw.get(1..1 + w).map(|s| {
                            i += w;
                            s.iter().fold(0u64, |a, x| a << 8 | u64::from(*x))
                        })
                    }
                    _ => None,
                };
                if let Some(n) = n {
                    r.i = i;
                    r.left = n;
                }
            }
        }
        r
    }
}

impl<'a> Iterator for RawEvents<'a> {
    type Item = (u32, i64, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // Each item: [ts, event] (a 2-array).
        let b = self.b;
        if *b.get(self.i)? != 0x82 {
            self.left = 0;
            return None;
        }
        let ts_start = self.i + 1;
        let ts_end = skip_item(b, ts_start, 0)?;
        let ev_end = skip_item(b, ts_end, 0)?;
        let ts: i64 = ciborium::from_reader(&b[ts_start..ts_end]).unwrap_or(0);
        let item = (self.index, ts, &b[ts_end..ev_end]);
        self.i = ev_end;
        self.index += 1;
        Some(item)
    }
}

/// Decodes one event's CBOR (from [`RawEvents`]).
pub fn decode_event(cbor: &[u8]) -> Result<Value, String> {
    ciborium::from_reader(cbor).map_err(|e| e.to_string())
}

/// Fuzz entry point: `data` as a record body (the header is made valid, so the decompressor
/// and the CBOR decoder see hostile bytes).
#[doc(hidden)]
pub fn fuzz_record(data: &[u8]) {
    let mut rec = Vec::with_capacity(data.len() + RECORD_HEADER);
    rec.extend_from_slice(&MAGIC.to_le_bytes());
    rec.extend_from_slice(&(data.len() as u32).to_le_bytes());
    rec.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    rec.extend_from_slice(data);
    let _ = decode_record(&rec);
    let _ = BlockInfo::decode(0, data);
}

/// The writer lost its open segment (cannot happen: `write_record` opens one first); an error
/// rather than a panic all the same.
fn no_segment() -> StoreError {
    StoreError::Corrupt {
        what: "archive writer".into(),
        why: "no open segment".into(),
    }
}

/// Removes a segment's index entries and metadata (one transaction).
fn drop_index(store: &Store, id: u64, m: &SegmentMeta) -> Result<(), StoreError> {
    let mut ops = Vec::new();
    if m.events > 0 {
        for kv in store.range_from(Tree::ArchiveIndex, &m.first_block.to_be_bytes()) {
            let (k, _) = kv?;
            if key_u64(&k) > m.last_block {
                break;
            }
            ops.push(Op::Del(Tree::ArchiveIndex, k));
        }
    }
    ops.push(Op::Del(Tree::ArchiveSegments, id.to_be_bytes().to_vec()));
    store.commit(&ops)?;
    Ok(())
}

/// A CBOR array header for `n` items (major type 4).
fn cbor_array_header(n: u32, out: &mut Vec<u8>) {
    match n {
        0..=23 => out.push(0x80 | n as u8),
        24..=0xff => out.extend_from_slice(&[0x98, n as u8]),
        0x100..=0xffff => {
            out.push(0x99);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        _ => {
            out.push(0x9a);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{exists_token, value_token};

    fn ev(i: i64) -> Value {
        serde_json::json!({"event_type": if i % 10 == 0 { "http" } else { "dns" }, "n": i,
            "http": {"status": if i % 100 == 0 { 500 } else { 200 }}})
    }

    #[test]
    fn round_trip_blocks_summaries_and_refs() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        let mut w = ArchiveWriter::open(
            &s,
            ArchiveConfig {
                block_events: 100,
                ..Default::default()
            },
        )
        .unwrap();
        let mut refs = Vec::new();
        for i in 0..1000 {
            refs.push(w.append(1_700_000_000_000_000 + i * 1000, &ev(i)).unwrap());
        }
        w.flush().unwrap();
        let a = s.archive();
        let blocks = a.blocks(None, None).unwrap();
        assert_eq!(blocks.len(), 10);
        let (id, info) = &blocks[3];
        let evs = a.read_block(*id, info).unwrap();
        assert_eq!(evs.len(), 100);
        assert_eq!(evs[0].1["n"], 300);
        assert!(info.bloom.may_hold(value_token("http.status", "500")));
        assert!(info.bloom.may_hold(exists_token("http.status")));
        assert!(!info.bloom.may_hold(value_token("http.status", "404")));
        assert_eq!(a.event(refs[567]).unwrap().unwrap().1["n"], 567);
        let since = 1_700_000_000_000_000 + 950 * 1000;
        assert_eq!(a.blocks(Some(since), None).unwrap().len(), 1);
        let st = a.stats().unwrap();
        assert_eq!(st.events, 1000);
        assert_eq!(st.segments, 1);
    }

    #[test]
    fn raw_walk_sees_every_event_of_both_encodings() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        let mut w = ArchiveWriter::open(&s, ArchiveConfig::default()).unwrap();
        let mut cbor = Vec::new();
        let mut toks = Vec::new();
        for i in 0..50i64 {
            if i % 2 == 0 {
                w.append(1000 + i, &ev(i)).unwrap();
            } else {
                cbor.clear();
                toks.clear();
                let j = serde_json::to_vec(&ev(i)).unwrap();
                crate::transcode::json_to_cbor(&j, &mut cbor, &mut toks).unwrap();
                w.append_cbor(1000 + i, &cbor, &toks).unwrap();
            }
        }
        w.flush().unwrap();
        let a = s.archive();
        let (id, info) = a.blocks(None, None).unwrap().remove(0);
        let raw = a.read_block_raw(id, &info).unwrap();
        let walked: Vec<(u32, i64, Value)> = RawEvents::new(&raw)
            .map(|(i, ts, c)| (i, ts, decode_event(c).unwrap()))
            .collect();
        let full = a.read_block(id, &info).unwrap();
        assert_eq!(walked.len(), 50);
        for (k, (i, ts, v)) in walked.iter().enumerate() {
            assert_eq!(*i as usize, k);
            assert_eq!((*ts, v), (full[k].0, &full[k].1));
            assert_eq!(v["n"], k as i64);
        }
        let needle = b"status";
        assert!(RawEvents::new(&raw).all(|(_, _, c)| c.windows(needle.len()).any(|w| w == needle)));
        // Garbage ends the walk, never panics.
        assert!(RawEvents::new(&raw[..raw.len() / 2]).count() < 50);
        assert_eq!(RawEvents::new(&[0x9f, 0x82, 0xff]).count(), 0);
    }

    #[test]
    fn age_and_size_limits_evict_oldest_segments_first() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        let mut w = ArchiveWriter::open(
            &s,
            ArchiveConfig {
                block_events: 10,
                max_age_secs: 5 * 86_400,
                ..Default::default()
            },
        )
        .unwrap();
        let day = MICROS_PER_DAY;
        for d in 0..10 {
            for i in 0..20 {
                w.append(d * day + i, &ev(i)).unwrap();
            }
        }
        w.flush().unwrap();
        let ev = w.take_evictions();
        assert!(ev.iter().all(|e| e.reason == EvictReason::Age));
        // "Now" is the median of the last 5 blocks' medians (day 8): days 0-2 are older than
        // 5 days.
        assert_eq!(ev.len(), 3, "{ev:?}");
        let st = s.archive().stats().unwrap();
        assert_eq!(st.oldest_ts, Some(3 * day));
        // Reopen: a crash-free restart keeps everything and repairs nothing.
        drop(w);
        let w = ArchiveWriter::open(&s, ArchiveConfig::default()).unwrap();
        assert_eq!(w.segments.len(), 7);
    }

    #[test]
    fn late_events_and_future_timestamps_do_not_fragment_or_age_out() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        let mut w = ArchiveWriter::open(&s, ArchiveConfig::default()).unwrap();
        let day = MICROS_PER_DAY;
        let base = 20_000 * day; // 2024
        for i in 0..100 {
            // Alternating today and a late event from yesterday.
            let t = if i % 2 == 0 { base + i } else { base - 10 };
            w.append(t, &ev(i)).unwrap();
        }
        // One bogus timestamp far in the future.
        w.append(base + 3_650 * day, &ev(100)).unwrap();
        w.append(base + 1, &ev(101)).unwrap();
        w.flush().unwrap();
        assert!(w.take_evictions().is_empty(), "nothing aged out");
        assert_eq!(s.archive().stats().unwrap().events, 102);
        assert!(w.segments.len() <= 2, "{} segments", w.segments.len());
    }

    #[test]
    fn missing_segment_files_and_orphans_are_repaired_on_open() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        let mut w = ArchiveWriter::open(&s, ArchiveConfig::default()).unwrap();
        for i in 0..10 {
            w.append(i * MICROS_PER_DAY, &ev(i)).unwrap();
        }
        w.flush().unwrap();
        drop(w);
        let dir = d.path().join("archive");
        let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        files.sort_by_key(|e| e.file_name());
        std::fs::remove_file(files[0].path()).unwrap();
        std::fs::write(dir.join("00000000ffffffff.seg"), b"junk").unwrap();
        let _w = ArchiveWriter::open(&s, ArchiveConfig::default()).unwrap();
        assert_eq!(s.archive().stats().unwrap().events, 9);
        assert_eq!(s.archive().blocks(None, None).unwrap().len(), 9);
        assert!(!dir.join("00000000ffffffff.seg").exists());
    }

    #[test]
    fn corrupt_records_are_errors_not_panics() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        let mut w = ArchiveWriter::open(&s, ArchiveConfig::default()).unwrap();
        w.append(1, &ev(1)).unwrap();
        w.flush().unwrap();
        let (id, info) = s.archive().blocks(None, None).unwrap().remove(0);
        let path = segment_path(&d.path().join("archive"), info.segment);
        let mut bytes = std::fs::read(&path).unwrap();
        let n = bytes.len();
        bytes[n - 3] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let e = s.archive().read_block(id, &info).unwrap_err().to_string();
        assert!(e.contains("checksum"), "{e}");
    }
}
