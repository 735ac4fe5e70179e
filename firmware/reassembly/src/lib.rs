//! TCP session tracking and stream reassembly: turns segments into two in-order byte streams
//! (client→server, server→client) made of [`Chunk::Data`] and [`Chunk::Gap`], ended by
//! [`Chunk::Eof`].
//!
//! Layer: after the flow table, before the app layer. One [`TcpSession`] lives in each TCP
//! flow; the worker's [`SegmentPool`] holds out-of-order data for all of them under one memcap.
//!
//! How it follows Suricata 7 (IDS mode, default settings):
//! - A session starts only with a SYN (`stream.midstream: false`); a handshake missing the
//!   SYN/ACK does not become a session (`stream.async-oneside: false`). Both are settable.
//! - Data is reassembled from the initial sequence numbers, per direction, up to
//!   `stream.reassembly.depth` bytes (1 MiB); beyond, the direction is no longer reassembled.
//! - A hole that the receiver acknowledges (it got bytes we never saw), or that is still open
//!   when the stream ends, becomes a `Gap`. Gaps are handed to the app layer, not hidden.
//! - Overlapping segments are resolved by an [`OverlapPolicy`] (Suricata's default, BSD).
//!
//! Where we differ on purpose: in-order data is delivered the moment it arrives, straight from
//! the packet (no copy), instead of waiting for the peer's ACK. Only out-of-order segments are
//! copied, into pooled buffers. The bytes delivered are the same; a retransmission that changes
//! bytes already delivered raises `reassembly_overlap_different_data` only while they are still
//! buffered.
//!
//! Caps (each hit is counted and raises a stream anomaly): [`StreamConfig::max_segments`]
//! out-of-order segments per direction, [`StreamConfig::memcap`] pooled bytes per worker, the
//! depth per direction, and a bound on how far an ACK may jump ([`MAX_ACK_JUMP`]) before it is
//! treated as invalid rather than as a gap.
#![forbid(unsafe_code)]

mod session;

pub use session::{Outcome, TcpSession, TcpState};

/// Largest gap an acknowledgement may reveal (16 MiB). A larger jump is far more likely a
/// forged or broken ACK than 16 MiB of missed capture; it raises `pkt_invalid_ack`.
pub const MAX_ACK_JUMP: u32 = 16 << 20;

/// How overlapping data is resolved (`stream.reassembly` host OS policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverlapPolicy {
    /// The first copy of a byte wins (Windows, Solaris, "first").
    First,
    /// The last copy wins (Cisco IOS, "last").
    Last,
    /// BSD: the original wins, unless the new segment starts before it (Suricata's default).
    Bsd,
    /// Linux: like BSD, and a new segment starting at the same place that is longer wins.
    Linux,
}

impl OverlapPolicy {
    /// Parses Suricata's host-os-policy names.
    pub fn from_name(s: &str) -> Option<OverlapPolicy> {
        Some(match s {
            "first" | "windows" | "vista" | "windows2k3" | "solaris" | "old-solaris" => {
                OverlapPolicy::First
            }
            "last" | "hpux10" | "irix" => OverlapPolicy::Last,
            "bsd" | "bsd-right" | "macos" | "hpux11" => OverlapPolicy::Bsd,
            "linux" | "old-linux" => OverlapPolicy::Linux,
            _ => return None,
        })
    }
}

/// Stream settings; defaults follow Suricata 7's `stream:` section.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// Pick up sessions without a SYN (`stream.midstream`).
    pub midstream: bool,
    /// Track sessions whose other direction is never seen (`stream.async-oneside`).
    pub async_oneside: bool,
    /// Bytes reassembled per direction, 0 for no limit (`stream.reassembly.depth`).
    pub depth: u64,
    /// Overlap resolution.
    pub policy: OverlapPolicy,
    /// Out-of-order segments held per direction.
    pub max_segments: usize,
    /// Bytes of out-of-order data held per worker (`stream.reassembly.memcap`).
    pub memcap: usize,
    /// Hand a direction's bytes to the app layer only once the peer acknowledges them, as
    /// Suricata does in IDS mode (so parsers see the same chunks and the same interleaving of
    /// the two directions). When off, in-order bytes go to the parser straight from the
    /// packet, without a copy. Default on.
    pub deliver_on_ack: bool,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            midstream: false,
            async_oneside: false,
            depth: 1 << 20,
            policy: OverlapPolicy::Bsd,
            // Enough for a fast flow with heavy loss; far below what would let one flow
            // dominate the memcap with tiny segments.
            max_segments: 2048,
            memcap: 256 << 20,
            deliver_on_ack: true,
        }
    }
}

/// One piece of a reassembled stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// In-order bytes.
    Data(&'a [u8]),
    /// This many bytes are missing.
    Gap(u64),
    /// The sender closed this direction (FIN or RST), or the flow ended.
    Eof,
}

/// Counters of reassembly (per worker).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Sessions started.
    pub sessions: u64,
    /// Gaps delivered.
    pub gaps: u64,
    /// Out-of-order segments stored.
    pub ooo_segments: u64,
    /// Segments dropped because the memcap or the per-direction segment cap was reached.
    pub memcap_drops: u64,
    /// Directions that reached the depth.
    pub depth_reached: u64,
    /// Overlaps with different data.
    pub overlaps_different: u64,
}

/// Most in-order bytes held per direction while they wait for the peer's acknowledgement
/// (4 MiB, above any real receive window that is not being abused); beyond it the oldest are
/// handed over unacknowledged rather than held.
pub const MAX_HELD: usize = 4 << 20;

/// Recycled buffers for out-of-order segments, with the worker-wide memcap.
#[derive(Debug, Default)]
pub struct SegmentPool {
    free: Vec<Vec<u8>>,
    memuse: usize,
    /// In-order bytes held for acknowledgement, across all sessions (counted in the memcap).
    held: usize,
    memcap: usize,
    /// Counters.
    pub stats: StreamStats,
}

/// Most idle buffers kept for reuse.
const POOL_KEEP: usize = 4096;

impl SegmentPool {
    /// A pool bounded by `memcap` bytes.
    pub fn new(memcap: usize) -> SegmentPool {
        SegmentPool {
            free: Vec::new(),
            memuse: 0,
            held: 0,
            memcap,
            stats: StreamStats::default(),
        }
    }

    /// Bytes currently held (out-of-order segments and data awaiting acknowledgement).
    pub fn memuse(&self) -> usize {
        self.memuse + self.held
    }

    fn take(&mut self, data: &[u8]) -> Option<Vec<u8>> {
        if self.memuse + self.held + data.len() > self.memcap {
            self.stats.memcap_drops += 1;
            return None;
        }
        self.memuse += data.len();
        let mut v = self.free.pop().unwrap_or_default();
        v.clear();
        v.extend_from_slice(data);
        Some(v)
    }

    fn give(&mut self, v: Vec<u8>) {
        self.memuse = self.memuse.saturating_sub(v.len());
        if self.free.len() < POOL_KEEP && v.capacity() <= 64 * 1024 {
            self.free.push(v);
        }
    }
}

/// Fuzz entry points (see `firmware/fuzz`).
#[doc(hidden)]
pub mod fuzzing {
    use decode::{Tcp, TcpFlags, TcpOptions};
    use types::Direction;

    use crate::{Chunk, OverlapPolicy, SegmentPool, StreamConfig, TcpSession};

    /// Interprets `data` as a list of segments, `[dir|flags, seq offset (2 bytes), ack offset
    /// (2 bytes), len, payload...]`, feeds them to one session with small caps, and checks the
    /// invariants: memory within the memcap, delivered bytes within the depth, nothing leaked.
    pub fn fuzz_segments(data: &[u8]) {
        let Some((&policy, mut rest)) = data.split_first() else {
            return;
        };
        let cfg = StreamConfig {
            deliver_on_ack: policy & 0x40 == 0,
            midstream: policy & 0x10 != 0,
            async_oneside: policy & 0x20 != 0,
            depth: 4096,
            policy: match policy & 3 {
                0 => OverlapPolicy::First,
                1 => OverlapPolicy::Last,
                2 => OverlapPolicy::Bsd,
                _ => OverlapPolicy::Linux,
            },
            max_segments: 64,
            memcap: 8192,
        };
        let mut pool = SegmentPool::new(cfg.memcap);
        let mut s = TcpSession::new();
        let mut delivered = [0u64; 2];
        let mut sink = |d: Direction, c: Chunk<'_>| match c {
            Chunk::Data(b) => delivered[d.idx()] += b.len() as u64,
            Chunk::Gap(n) => delivered[d.idx()] += n,
            Chunk::Eof => {}
        };
        let base = [1000u32, 90_000u32];
        while rest.len() >= 6 {
            let (h, tail) = rest.split_at(6);
            let dir = if h[0] & 0x80 != 0 {
                Direction::ToClient
            } else {
                Direction::ToServer
            };
            let flags = h[0] & 0x3f | if h[0] & 0x40 != 0 { 0x10 } else { 0 };
            let seq = base[dir.idx()].wrapping_add(u32::from(u16::from_be_bytes([h[1], h[2]])));
            let ack = base[1 - dir.idx()].wrapping_add(u32::from(u16::from_be_bytes([h[3], h[4]])));
            let len = usize::from(h[5]).min(tail.len());
            let (payload, next) = tail.split_at(len);
            let t = Tcp {
                sport: 1,
                dport: 2,
                seq,
                ack,
                hlen: 20,
                flags: TcpFlags(flags),
                window: 65535,
                urg_ptr: 0,
                opts: TcpOptions::default(),
            };
            let _ = s.packet(dir, &t, payload, &cfg, &mut pool, &mut sink, &mut |_| {});
            assert!(pool.memuse() <= cfg.memcap);
            rest = next;
        }
        s.flush(&cfg, &mut pool, &mut sink);
        assert_eq!(pool.memuse(), 0, "buffers leaked");
        assert!(delivered[0] <= cfg.depth && delivered[1] <= cfg.depth);
    }
}
