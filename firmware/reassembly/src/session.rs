//! The TCP session state machine and the per-direction reassembly buffers.

use types::{seq, Direction};

use crate::{Chunk, OverlapPolicy, SegmentPool, StreamConfig, MAX_ACK_JUMP};

/// TCP session state, named as Suricata names it in EVE (`tcp.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TcpState {
    /// No session (yet).
    None,
    /// SYN seen.
    SynSent,
    /// SYN/ACK seen.
    SynRecv,
    /// Handshake complete (or picked up midstream).
    Established,
    /// Server sent FIN first (Suricata names states from the server's side).
    FinWait1,
    /// Client acknowledged the server's FIN.
    FinWait2,
    /// Server closed first, then the client: the last ACK is pending.
    TimeWait,
    /// Client closed first, then the server: the last ACK is pending.
    LastAck,
    /// Client sent FIN first.
    CloseWait,
    /// Both sent FIN at the same time.
    Closing,
    /// Closed by FIN handshake or RST.
    Closed,
}

impl TcpState {
    /// EVE spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TcpState::None => "none",
            TcpState::SynSent => "syn_sent",
            TcpState::SynRecv => "syn_recv",
            TcpState::Established => "established",
            TcpState::FinWait1 => "fin_wait1",
            TcpState::FinWait2 => "fin_wait2",
            TcpState::TimeWait => "time_wait",
            TcpState::LastAck => "last_ack",
            TcpState::CloseWait => "close_wait",
            TcpState::Closing => "closing",
            TcpState::Closed => "closed",
        }
    }
}

/// What the pipeline must do after [`TcpSession::packet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Packet handled.
    Ok,
    /// No session exists and this packet cannot start one (midstream disabled).
    NoSession,
    /// The packet starts the session from the flow's server side: swap the flow's
    /// direction and call again with the direction flipped.
    SwapFlow,
}

#[derive(Debug)]
struct Seg {
    seq: u32,
    data: Vec<u8>,
}

impl Seg {
    fn end(&self) -> u32 {
        self.seq.wrapping_add(self.data.len() as u32)
    }
}

/// One direction of a session: what its sender sent, as reassembled so far.
#[derive(Debug, Default)]
struct Half {
    /// Initial sequence number.
    isn: u32,
    /// Next sequence number to deliver.
    next: u32,
    /// `next` is known (the sender's ISN or a midstream pick-up point was seen).
    active: bool,
    /// Bytes of stream passed to the app layer (data and gaps).
    delivered: u64,
    /// Sequence number of the sender's FIN, once seen.
    fin: Option<u32>,
    /// Eof was delivered: nothing more in this direction.
    closed: bool,
    /// Depth reached: nothing more is reassembled.
    depth_done: bool,
    /// Out-of-order segments, sorted by sequence, never overlapping each other.
    segs: Vec<Seg>,
    /// Highest acknowledgement the receiver sent that is beyond `next` (a pending gap).
    acked_ahead: Option<u32>,
    /// Most separate regions held at once.
    max_regions: u32,
    /// A gap was delivered in this direction.
    had_gap: bool,
    /// In-order bytes not yet acknowledged by the peer (they end at `next`).
    held: Vec<u8>,
    /// Highest acknowledgement the peer sent for this direction.
    peer_ack: Option<u32>,
    /// Window scale this side announced in its SYN.
    wscale: Option<u8>,
    /// Last window this side advertised (scaled), 0 when not seen.
    window: u32,
}

impl Half {
    fn init(&mut self, isn: u32) {
        self.isn = isn;
        self.next = isn.wrapping_add(1);
        self.active = true;
    }
}

/// A TCP session and its two reassembled streams.
#[derive(Debug)]
pub struct TcpSession {
    state: TcpState,
    half: [Half; 2],
    rst: bool,
}

impl Default for TcpSession {
    fn default() -> Self {
        Self::new()
    }
}

fn dir_of(i: usize) -> Direction {
    if i == 0 {
        Direction::ToServer
    } else {
        Direction::ToClient
    }
}

impl TcpSession {
    /// A session in state `None`.
    pub fn new() -> TcpSession {
        TcpSession {
            state: TcpState::None,
            half: [Half::default(), Half::default()],
            rst: false,
        }
    }

    /// Current state.
    pub fn state(&self) -> TcpState {
        self.state
    }

    /// Whether a bare SYN (flags exactly SYN) travelling in `dir` with sequence `seq`, on a
    /// flow that already exists, starts a new flow on the same tuple. Suricata's rule: with no
    /// session yet (the flow was picked up without a SYN), always; otherwise unless it is a
    /// retransmission of the client's SYN or the session is still before `LAST_ACK` (in its
    /// state order, where `TIME_WAIT` comes before `LAST_ACK`).
    pub fn reuse_on_syn(&self, dir: Direction, seq: u32) -> bool {
        if self.state == TcpState::None {
            return true;
        }
        if dir == Direction::ToServer && seq == self.half[0].isn {
            return false;
        }
        self.state >= TcpState::LastAck
    }

    /// True once a session exists (a SYN, or a midstream pick-up).
    pub fn exists(&self) -> bool {
        self.state != TcpState::None
    }

    /// True when the session reached `Established` at some point and is not closed.
    pub fn established(&self) -> bool {
        self.state >= TcpState::Established && self.state != TcpState::Closed
    }

    /// Whether bytes were missing in each direction (for the flow record).
    pub fn gaps(&self) -> [bool; 2] {
        [self.half[0].had_gap, self.half[1].had_gap]
    }

    /// Suricata's `stream_size` per direction: the next in-order sequence number minus the
    /// initial one (payload bytes plus one for the SYN); `None` before a session exists.
    pub fn stream_size(&self) -> Option<[u64; 2]> {
        if !self.exists() {
            return None;
        }
        let size = |h: &Half| {
            if h.active {
                u64::from(h.next.wrapping_sub(h.isn))
            } else {
                0
            }
        };
        Some([size(&self.half[0]), size(&self.half[1])])
    }

    /// Most out-of-order regions held at once per direction (for the flow record).
    pub fn max_regions(&self) -> [u32; 2] {
        [self.half[0].max_regions, self.half[1].max_regions]
    }

    /// Handles one segment travelling in `dir` (relative to the flow). `sink` receives the
    /// reassembled chunks, `ev` the stream anomalies (Suricata names, `stream.` prefix).
    #[allow(clippy::too_many_arguments)]
    pub fn packet(
        &mut self,
        dir: Direction,
        tcp: &decode::Tcp,
        payload: &[u8],
        cfg: &StreamConfig,
        pool: &mut SegmentPool,
        sink: &mut impl FnMut(Direction, Chunk<'_>),
        ev: &mut impl FnMut(&'static str),
    ) -> Outcome {
        let f = tcp.flags;
        let s = dir.idx();
        let o = 1 - s;
        self.note_window(s, tcp);
        if self.state == TcpState::None {
            return self.start(dir, tcp, payload, cfg, pool, sink, ev);
        }
        match self.state {
            TcpState::SynSent => {
                if f.rst() {
                    if self.rst_valid(s, tcp.seq) {
                        self.close_rst();
                    }
                    return Outcome::Ok;
                }
                if s == 0 {
                    if f.syn() && !f.ack() {
                        if tcp.seq != self.half[0].isn {
                            ev("stream.3whs_syn_resend_diff_seq_on_syn_recv");
                            self.half[0].init(tcp.seq);
                        }
                        return Outcome::Ok;
                    }
                    if f.ack() && cfg.async_oneside {
                        self.state = TcpState::Established;
                        self.half[1].next = tcp.ack;
                        self.half[1].active = true;
                    } else {
                        ev("stream.3whs_ack_in_wrong_dir");
                        return Outcome::Ok;
                    }
                } else if f.syn() {
                    // The SYN/ACK acknowledges the SYN, and any Fast Open data it carried.
                    let first = self.half[0].isn.wrapping_add(1);
                    if f.ack() && !(seq::ge(tcp.ack, first) && seq::le(tcp.ack, self.half[0].next))
                    {
                        ev("stream.3whs_synack_with_wrong_ack");
                        return Outcome::Ok;
                    }
                    self.half[1].init(tcp.seq);
                    self.state = TcpState::SynRecv;
                    return Outcome::Ok;
                } else {
                    return Outcome::Ok;
                }
            }
            TcpState::SynRecv => {
                if f.rst() {
                    if self.rst_valid(s, tcp.seq) {
                        self.close_rst();
                    }
                    return Outcome::Ok;
                }
                if f.syn() {
                    if s == 1 && f.ack() && tcp.seq != self.half[1].isn {
                        ev("stream.3whs_synack_resend_with_diff_seq");
                    }
                    return Outcome::Ok;
                }
                if !f.ack() {
                    return Outcome::Ok;
                }
                if s == 0 && tcp.ack != self.half[1].isn.wrapping_add(1) {
                    let off = seq::diff(self.half[1].isn.wrapping_add(1), tcp.ack);
                    if !(0..=i64::from(MAX_ACK_JUMP)).contains(&off) {
                        ev("stream.3whs_wrong_seq_wrong_ack");
                        return Outcome::Ok;
                    }
                }
                self.state = TcpState::Established;
            }
            _ => {}
        }
        if self.rst || self.state == TcpState::Closed {
            return Outcome::Ok;
        }
        if f.rst() {
            if self.rst_valid(s, tcp.seq) {
                self.close_rst();
            }
            return Outcome::Ok;
        }
        if f.syn() {
            // SYN or SYN/ACK resent on an established session: nothing to reassemble.
            ev(if s == 0 {
                "stream.est_syn_resend"
            } else {
                "stream.est_synack_resend"
            });
            return Outcome::Ok;
        }
        // Its acknowledgement first releases what it has received of the other direction (so
        // a request reaches the parser before the response that acknowledges it, as in
        // Suricata); then the packet's own data (it may fill a hole its peer already
        // acknowledged); then what the acknowledgement says about gaps in the other direction.
        if f.ack() {
            let h = &mut self.half[o];
            h.peer_ack = Some(match h.peer_ack {
                Some(a) if seq::gt(a, tcp.ack) => a,
                _ => tcp.ack,
            });
            release_acked(h, o, pool, sink);
        }
        if !payload.is_empty() {
            self.on_data(s, tcp.seq, payload, cfg, pool, sink, ev);
        }
        self.resolve_pending_gap(s, cfg, pool, sink, ev);
        if f.fin() {
            let fin = tcp.seq.wrapping_add(payload.len() as u32);
            if self.half[s].fin.is_none() {
                self.half[s].fin = Some(fin);
            }
            self.drain(s, cfg, pool, sink);
            // Suricata names states from the server's side: the client closing first is
            // CLOSE_WAIT, the server closing first FIN_WAIT1.
            self.state = match (self.state, s) {
                (TcpState::Established, 0) => TcpState::CloseWait,
                (TcpState::Established, _) => TcpState::FinWait1,
                (TcpState::FinWait1, 0) | (TcpState::FinWait2, 0) => {
                    if f.ack() && self.acks_fin(1, tcp.ack) {
                        TcpState::TimeWait
                    } else {
                        TcpState::Closing
                    }
                }
                (TcpState::CloseWait, 1) => TcpState::LastAck,
                (st, _) => st,
            };
        }
        if f.ack() {
            self.on_ack(o, tcp.ack, ev);
            self.state = match (self.state, s) {
                (TcpState::FinWait1, 0) if self.acks_fin(1, tcp.ack) && !f.fin() => {
                    TcpState::FinWait2
                }
                (TcpState::LastAck, 0) if self.acks_fin(1, tcp.ack) => TcpState::Closed,
                (TcpState::TimeWait, 1) if self.acks_fin(0, tcp.ack) => TcpState::Closed,
                (TcpState::Closing, _) if self.acks_fin(o, tcp.ack) => TcpState::TimeWait,
                (st, _) => st,
            };
        }
        Outcome::Ok
    }

    fn acks_fin(&self, side: usize, ack: u32) -> bool {
        match self.half[side].fin {
            Some(fin) => seq::ge(ack, fin.wrapping_add(1)),
            None => false,
        }
    }

    /// Records the window (and, on SYNs, the window scale) a side advertises.
    fn note_window(&mut self, s: usize, tcp: &decode::Tcp) {
        if tcp.flags.syn() {
            self.half[s].wscale = tcp.opts.wscale;
            self.half[s].window = u32::from(tcp.window);
            return;
        }
        // Scaling applies only when both SYNs carried the option (RFC 7323).
        let shift = match (self.half[0].wscale, self.half[1].wscale) {
            (Some(_), Some(_)) => u32::from(self.half[s].wscale.unwrap_or(0).min(14)),
            _ => 0,
        };
        self.half[s].window = u32::from(tcp.window) << shift;
    }

    /// A RST is taken only when its sequence number falls in the window the receiver
    /// advertised (RFC 5961's reasoning, and Suricata's): a forged or stale RST is ignored.
    fn rst_valid(&self, s: usize, sq: u32) -> bool {
        let h = &self.half[s];
        if !h.active {
            return true;
        }
        let win = match self.half[1 - s].window {
            0 => 65_535,
            w => w,
        };
        let off = seq::diff(h.next, sq);
        (-1..=i64::from(win)).contains(&off)
    }

    fn close_rst(&mut self) {
        self.rst = true;
        self.state = TcpState::Closed;
    }

    /// First packet of a would-be session.
    #[allow(clippy::too_many_arguments)]
    fn start(
        &mut self,
        dir: Direction,
        tcp: &decode::Tcp,
        payload: &[u8],
        cfg: &StreamConfig,
        pool: &mut SegmentPool,
        sink: &mut impl FnMut(Direction, Chunk<'_>),
        ev: &mut impl FnMut(&'static str),
    ) -> Outcome {
        let f = tcp.flags;
        if f.rst() {
            ev("stream.rst_but_no_session");
            return Outcome::NoSession;
        }
        if f.syn() && !f.ack() {
            if dir == Direction::ToClient {
                return Outcome::SwapFlow;
            }
            self.half[0].init(tcp.seq);
            self.state = TcpState::SynSent;
            pool.stats.sessions += 1;
            // TCP Fast Open: data in a SYN carrying the Fast Open option is the start of the
            // client's stream (data in other SYNs is ignored, as by Suricata).
            if !payload.is_empty() && tcp.opts.tfo {
                self.on_data(0, tcp.seq.wrapping_add(1), payload, cfg, pool, sink, ev);
            }
            return Outcome::Ok;
        }
        if !cfg.midstream {
            if f.fin() {
                ev("stream.fin_but_no_session");
            }
            return Outcome::NoSession;
        }
        if f.syn() && f.ack() {
            // Picked up at the SYN/ACK: its sender is the server.
            if dir == Direction::ToServer {
                return Outcome::SwapFlow;
            }
            self.half[1].init(tcp.seq);
            self.half[0].next = tcp.ack;
            self.half[0].isn = tcp.ack.wrapping_sub(1);
            self.half[0].active = true;
            self.state = TcpState::SynRecv;
            pool.stats.sessions += 1;
            return Outcome::Ok;
        }
        // Midstream pick-up on an ordinary segment: the sender is the client.
        let s = dir.idx();
        self.half[s].next = tcp.seq;
        self.half[s].isn = tcp.seq.wrapping_sub(1);
        self.half[s].active = true;
        if f.ack() {
            self.half[1 - s].next = tcp.ack;
            self.half[1 - s].isn = tcp.ack.wrapping_sub(1);
            self.half[1 - s].active = true;
        }
        self.state = TcpState::Established;
        pool.stats.sessions += 1;
        self.packet(dir, tcp, payload, cfg, pool, sink, ev)
    }

    /// Records that the receiver of side `side` acknowledged up to `ack`.
    fn on_ack(&mut self, side: usize, ack: u32, ev: &mut impl FnMut(&'static str)) {
        let h = &mut self.half[side];
        if !h.active || h.closed || h.depth_done {
            return;
        }
        // The ACK of a FIN covers one sequence number past the data.
        let limit = match h.fin {
            Some(fin) if seq::gt(ack, fin) => fin,
            _ => ack,
        };
        if !seq::gt(limit, h.next) {
            return;
        }
        if seq::diff(h.next, limit) > i64::from(MAX_ACK_JUMP) {
            ev("stream.pkt_invalid_ack");
            return;
        }
        h.acked_ahead = Some(match h.acked_ahead {
            Some(a) if seq::gt(a, limit) => a,
            _ => limit,
        });
    }

    /// If the peer acknowledged bytes of side `side` that never arrived, they are a gap.
    /// Called when `side` sends its next packet (so a data packet reordered behind its ACK is
    /// not mistaken for a loss) and at flush.
    fn resolve_pending_gap(
        &mut self,
        side: usize,
        cfg: &StreamConfig,
        pool: &mut SegmentPool,
        sink: &mut impl FnMut(Direction, Chunk<'_>),
        ev: &mut impl FnMut(&'static str),
    ) {
        let Some(acked) = self.half[side].acked_ahead.take() else {
            return;
        };
        let h = &mut self.half[side];
        if h.closed || h.depth_done || !seq::gt(acked, h.next) {
            return;
        }
        let gap_end = match h.segs.first() {
            Some(sg) if seq::lt(sg.seq, acked) => sg.seq,
            _ => acked,
        };
        if seq::gt(gap_end, h.next) {
            self.gap(side, gap_end, cfg, pool, sink, ev);
        }
        self.drain(side, cfg, pool, sink);
    }

    /// Delivers a gap from `next` up to `to`.
    fn gap(
        &mut self,
        side: usize,
        to: u32,
        cfg: &StreamConfig,
        pool: &mut SegmentPool,
        sink: &mut impl FnMut(Direction, Chunk<'_>),
        ev: &mut impl FnMut(&'static str),
    ) {
        let h = &mut self.half[side];
        let len = seq::diff(h.next, to).max(0) as u64;
        if len == 0 {
            return;
        }
        ev("stream.reassembly_seq_gap");
        pool.stats.gaps += 1;
        let len = if cfg.depth > 0 {
            let room = cfg.depth.saturating_sub(h.delivered);
            if len >= room {
                h.depth_done = true;
                pool.stats.depth_reached += 1;
                release_all(h, pool);
                room
            } else {
                len
            }
        } else {
            len
        };
        h.delivered += len;
        h.next = to;
        h.had_gap = true;
        flush_held(h, side, pool, sink);
        if len > 0 {
            sink(dir_of(side), Chunk::Gap(len));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_data(
        &mut self,
        s: usize,
        sq: u32,
        data: &[u8],
        cfg: &StreamConfig,
        pool: &mut SegmentPool,
        sink: &mut impl FnMut(Direction, Chunk<'_>),
        ev: &mut impl FnMut(&'static str),
    ) {
        {
            let h = &self.half[s];
            if !h.active || h.closed || h.depth_done {
                return;
            }
            // Data beyond the FIN is not part of the stream.
            if let Some(fin) = h.fin {
                if seq::ge(sq, fin) {
                    return;
                }
            }
        }
        let off = seq::diff(self.half[s].next, sq);
        if off <= 0 {
            let skip = off.unsigned_abs();
            if skip >= data.len() as u64 {
                return; // entirely old: a retransmission of delivered bytes
            }
            let fresh = &data[skip as usize..];
            let fresh = match self.half[s].fin {
                Some(fin) => {
                    let room = seq::diff(self.half[s].next, fin).max(0) as usize;
                    &fresh[..fresh.len().min(room)]
                }
                None => fresh,
            };
            self.deliver(s, fresh, cfg, pool, sink, ev);
            self.drain(s, cfg, pool, sink);
        } else {
            self.store(s, sq, data, cfg, pool, ev);
        }
    }

    /// Passes in-order bytes to the sink, honouring the depth.
    fn deliver(
        &mut self,
        s: usize,
        bytes: &[u8],
        cfg: &StreamConfig,
        pool: &mut SegmentPool,
        sink: &mut impl FnMut(Direction, Chunk<'_>),
        ev: &mut impl FnMut(&'static str),
    ) {
        let h = &mut self.half[s];
        let mut take = bytes.len();
        if cfg.depth > 0 {
            let room = cfg.depth.saturating_sub(h.delivered);
            if (take as u64) >= room {
                take = room as usize;
                h.depth_done = true;
                pool.stats.depth_reached += 1;
                ev("stream.reassembly_depth_reached");
            }
        }
        h.next = h.next.wrapping_add(take as u32);
        h.delivered += take as u64;
        let peer_seen = self.half[1 - s].active;
        let h = &mut self.half[s];
        if take > 0 {
            let acked = match h.peer_ack {
                Some(a) => seq::ge(a, h.next),
                None => false,
            };
            let hold = cfg.deliver_on_ack
                && peer_seen
                && !(acked && h.held.is_empty())
                && pool.memuse() + take <= pool.memcap;
            if hold {
                if h.held.len() + take > crate::MAX_HELD {
                    flush_held(h, s, pool, sink);
                }
                h.held.extend_from_slice(&bytes[..take]);
                pool.held += take;
                release_acked(h, s, pool, sink);
            } else {
                flush_held(h, s, pool, sink);
                sink(dir_of(s), Chunk::Data(&bytes[..take]));
            }
        }
        if h.depth_done {
            flush_held(h, s, pool, sink);
            release_all(h, pool);
        }
    }

    /// Delivers stored segments that have become in order, then the Eof after a FIN.
    fn drain(
        &mut self,
        s: usize,
        cfg: &StreamConfig,
        pool: &mut SegmentPool,
        sink: &mut impl FnMut(Direction, Chunk<'_>),
    ) {
        let mut nothing = |_: &'static str| {};
        loop {
            let h = &mut self.half[s];
            if h.closed || h.depth_done {
                return;
            }
            let Some(first) = h.segs.first() else {
                break;
            };
            if seq::gt(first.seq, h.next) {
                break;
            }
            let sg = h.segs.remove(0);
            let skip = seq::diff(sg.seq, h.next).max(0) as usize;
            if skip < sg.data.len() {
                let tail = sg.data.get(skip..).unwrap_or_default();
                self.deliver(s, tail, cfg, pool, sink, &mut nothing);
            }
            pool.give(sg.data);
        }
        let h = &mut self.half[s];
        if let Some(fin) = h.fin {
            if !h.closed && h.next == fin {
                h.next = fin.wrapping_add(1);
                h.closed = true;
                release_all(h, pool);
                flush_held(h, s, pool, sink);
                sink(dir_of(s), Chunk::Eof);
            }
        }
    }

    /// Stores an out-of-order segment, resolving overlaps with the stored ones.
    fn store(
        &mut self,
        s: usize,
        sq: u32,
        data: &[u8],
        cfg: &StreamConfig,
        pool: &mut SegmentPool,
        ev: &mut impl FnMut(&'static str),
    ) {
        let h = &mut self.half[s];
        // Never buffer beyond the depth.
        if cfg.depth > 0 {
            let ahead = seq::diff(h.next, sq).max(0) as u64;
            if h.delivered + ahead >= cfg.depth {
                return;
            }
        }
        let new_end = sq.wrapping_add(data.len() as u32);
        // Pieces of the new segment still to insert, as (seq, offset, len).
        let mut pieces: Vec<(u32, usize, usize)> = vec![(sq, 0, data.len())];
        let mut i = 0;
        while i < h.segs.len() {
            let (os, oe) = (h.segs[i].seq, h.segs[i].end());
            if seq::ge(os, new_end) {
                break;
            }
            if seq::le(oe, sq) {
                i += 1;
                continue;
            }
            // Overlap [max(sq, os), min(new_end, oe)).
            let ov_s = if seq::gt(sq, os) { sq } else { os };
            let ov_e = if seq::lt(new_end, oe) { new_end } else { oe };
            let a = &h.segs[i].data[seq::diff(os, ov_s) as usize..seq::diff(os, ov_e) as usize];
            let b = &data[seq::diff(sq, ov_s) as usize..seq::diff(sq, ov_e) as usize];
            if a != b {
                ev("stream.reassembly_overlap_different_data");
                pool.stats.overlaps_different += 1;
            }
            let new_wins = match cfg.policy {
                OverlapPolicy::First => false,
                OverlapPolicy::Last => true,
                OverlapPolicy::Bsd => seq::lt(sq, os),
                OverlapPolicy::Linux => seq::lt(sq, os) || (sq == os && seq::gt(new_end, oe)),
            };
            if new_wins {
                // Cut the old segment around the overlap.
                let old = h.segs.remove(i);
                let head_len = seq::diff(os, ov_s) as usize;
                let tail_off = seq::diff(os, ov_e) as usize;
                let mut inserted = 0;
                if tail_off < old.data.len() {
                    if let Some(v) = pool.take(&old.data[tail_off..]) {
                        h.segs.insert(i, Seg { seq: ov_e, data: v });
                        inserted += 1;
                    }
                }
                if head_len > 0 {
                    if let Some(v) = pool.take(&old.data[..head_len]) {
                        h.segs.insert(i, Seg { seq: os, data: v });
                        inserted += 1;
                    }
                }
                pool.give(old.data);
                i += inserted;
            } else {
                // Cut the overlap out of the new pieces.
                let mut next_pieces = Vec::with_capacity(pieces.len() + 1);
                for (ps, po, pl) in pieces {
                    let pe = ps.wrapping_add(pl as u32);
                    if seq::le(pe, ov_s) || seq::ge(ps, ov_e) {
                        next_pieces.push((ps, po, pl));
                        continue;
                    }
                    if seq::lt(ps, ov_s) {
                        next_pieces.push((ps, po, seq::diff(ps, ov_s) as usize));
                    }
                    if seq::gt(pe, ov_e) {
                        let cut = seq::diff(ps, ov_e) as usize;
                        next_pieces.push((ov_e, po + cut, pl - cut));
                    }
                }
                pieces = next_pieces;
                i += 1;
            }
        }
        for (ps, po, pl) in pieces {
            if pl == 0 {
                continue;
            }
            if h.segs.len() >= cfg.max_segments {
                pool.stats.memcap_drops += 1;
                ev("stream.reassembly_segment_limit");
                continue;
            }
            let Some(v) = pool.take(&data[po..po + pl]) else {
                ev("stream.reassembly_memcap");
                continue;
            };
            pool.stats.ooo_segments += 1;
            let at = h.segs.partition_point(|x| seq::lt(x.seq, ps));
            h.segs.insert(at, Seg { seq: ps, data: v });
        }
        // Regions: the in-order part plus every separate run of stored segments.
        let mut regions = 1u32;
        let mut prev_end: Option<u32> = None;
        for sg in &h.segs {
            if prev_end != Some(sg.seq) {
                regions += 1;
            }
            prev_end = Some(sg.end());
        }
        h.max_regions = h.max_regions.max(regions);
    }

    /// Ends the session (flow end): delivers whatever is stored, with gaps for holes, and an
    /// Eof per direction. Buffers go back to the pool.
    pub fn flush(
        &mut self,
        cfg: &StreamConfig,
        pool: &mut SegmentPool,
        sink: &mut impl FnMut(Direction, Chunk<'_>),
    ) {
        let mut nothing = |_: &'static str| {};
        for s in 0..2 {
            if !self.half[s].active {
                continue;
            }
            flush_held(&mut self.half[s], s, pool, sink);
            self.resolve_pending_gap(s, cfg, pool, sink, &mut nothing);
            loop {
                let h = &self.half[s];
                if h.closed || h.depth_done {
                    break;
                }
                let Some(first) = h.segs.first() else {
                    break;
                };
                let to = first.seq;
                if seq::gt(to, h.next) {
                    self.gap(s, to, cfg, pool, sink, &mut nothing);
                }
                self.drain(s, cfg, pool, sink);
            }
            let h = &mut self.half[s];
            release_all(h, pool);
            flush_held(h, s, pool, sink);
            if !h.closed {
                h.closed = true;
                sink(dir_of(s), Chunk::Eof);
            }
        }
    }

    /// Returns every buffer to the pool without delivering (flow dropped).
    pub fn release(&mut self, pool: &mut SegmentPool) {
        for h in &mut self.half {
            release_all(h, pool);
            pool.held = pool.held.saturating_sub(h.held.len());
            h.held = Vec::new();
        }
    }
}

fn release_all(h: &mut Half, pool: &mut SegmentPool) {
    for sg in h.segs.drain(..) {
        pool.give(sg.data);
    }
}

/// Hands over the held bytes the peer has acknowledged.
fn release_acked(
    h: &mut Half,
    s: usize,
    pool: &mut SegmentPool,
    sink: &mut impl FnMut(Direction, Chunk<'_>),
) {
    let Some(ack) = h.peer_ack else {
        return;
    };
    if h.held.is_empty() {
        return;
    }
    let start = h.next.wrapping_sub(h.held.len() as u32);
    let n = seq::diff(start, ack).clamp(0, h.held.len() as i64) as usize;
    if n == 0 {
        return;
    }
    sink(dir_of(s), Chunk::Data(&h.held[..n]));
    h.held.drain(..n);
    pool.held = pool.held.saturating_sub(n);
}

/// Hands over every held byte, acknowledged or not (before a gap or an end of stream).
fn flush_held(
    h: &mut Half,
    s: usize,
    pool: &mut SegmentPool,
    sink: &mut impl FnMut(Direction, Chunk<'_>),
) {
    if h.held.is_empty() {
        return;
    }
    sink(dir_of(s), Chunk::Data(&h.held));
    pool.held = pool.held.saturating_sub(h.held.len());
    h.held.clear();
}

#[cfg(test)]
mod tests {
    use super::*;
    use decode::{Tcp, TcpFlags, TcpOptions};

    fn seg(seq: u32, ack: u32, flags: u8) -> Tcp {
        Tcp {
            sport: 1000,
            dport: 80,
            seq,
            ack,
            hlen: 20,
            flags: TcpFlags(flags),
            window: 65535,
            urg_ptr: 0,
            opts: TcpOptions::default(),
        }
    }

    /// Reassembly logic tests look at delivery as segments arrive.
    fn immediate() -> StreamConfig {
        StreamConfig {
            deliver_on_ack: false,
            ..StreamConfig::default()
        }
    }

    const S: u8 = TcpFlags::SYN;
    const A: u8 = TcpFlags::ACK;
    const F: u8 = TcpFlags::FIN;
    const R: u8 = TcpFlags::RST;

    /// Collects chunks as (dir, "data"/"gap:N"/"eof").
    #[derive(Default)]
    struct Out(Vec<(Direction, String)>);

    fn run(
        sess: &mut TcpSession,
        cfg: &StreamConfig,
        pool: &mut SegmentPool,
        out: &mut Out,
        evs: &mut Vec<&'static str>,
        pkts: &[(Direction, Tcp, &[u8])],
    ) {
        for (d, t, p) in pkts {
            let r = sess.packet(
                *d,
                t,
                p,
                cfg,
                pool,
                &mut |dir, c| {
                    let s = match c {
                        Chunk::Data(b) => String::from_utf8_lossy(b).into_owned(),
                        Chunk::Gap(n) => format!("<gap:{n}>"),
                        Chunk::Eof => "<eof>".into(),
                    };
                    out.0.push((dir, s));
                },
                &mut |e| evs.push(e),
            );
            assert_eq!(r, Outcome::Ok);
        }
    }

    fn joined(out: &Out, d: Direction) -> String {
        out.0
            .iter()
            .filter(|(x, _)| *x == d)
            .map(|(_, s)| s.as_str())
            .collect()
    }

    use Direction::{ToClient as C, ToServer as SV};

    fn handshake() -> Vec<(Direction, Tcp, &'static [u8])> {
        vec![
            (SV, seg(100, 0, S), b"".as_slice()),
            (C, seg(500, 101, S | A), b""),
            (SV, seg(101, 501, A), b""),
        ]
    }

    #[test]
    fn in_order_both_ways_and_close() {
        let cfg = immediate();
        let mut pool = SegmentPool::new(cfg.memcap);
        let mut s = TcpSession::new();
        let mut out = Out::default();
        let mut evs = Vec::new();
        let mut pk = handshake();
        pk.extend([
            (SV, seg(101, 501, A), b"GET / HTTP/1.1\r\n".as_slice()),
            (SV, seg(117, 501, A), b"\r\n"),
            (C, seg(501, 119, A), b"HTTP/1.1 200 OK\r\n\r\n"),
            (SV, seg(119, 520, A | F), b""),
            (C, seg(520, 120, A | F), b""),
            (SV, seg(120, 521, A), b""),
        ]);
        run(&mut s, &cfg, &mut pool, &mut out, &mut evs, &pk);
        assert_eq!(joined(&out, SV), "GET / HTTP/1.1\r\n\r\n<eof>");
        assert_eq!(joined(&out, C), "HTTP/1.1 200 OK\r\n\r\n<eof>");
        assert_eq!(s.state(), TcpState::Closed);
        assert!(evs.is_empty(), "{evs:?}");
    }

    #[test]
    fn out_of_order_and_retransmission() {
        let cfg = immediate();
        let mut pool = SegmentPool::new(cfg.memcap);
        let mut s = TcpSession::new();
        let mut out = Out::default();
        let mut evs = Vec::new();
        let mut pk = handshake();
        pk.extend([
            (SV, seg(105, 501, A), b"efgh".as_slice()),
            (SV, seg(109, 501, A), b"ijkl"),
            (SV, seg(101, 501, A), b"abcd"),
            (SV, seg(101, 501, A), b"abcdefgh"),
        ]);
        run(&mut s, &cfg, &mut pool, &mut out, &mut evs, &pk);
        assert_eq!(joined(&out, SV), "abcdefghijkl");
        assert_eq!(pool.memuse(), 0);
        assert_eq!(s.max_regions()[0], 2);
    }

    #[test]
    fn acked_hole_becomes_gap() {
        let cfg = immediate();
        let mut pool = SegmentPool::new(cfg.memcap);
        let mut s = TcpSession::new();
        let mut out = Out::default();
        let mut evs = Vec::new();
        let mut pk = handshake();
        pk.extend([
            (SV, seg(101, 501, A), b"abcd".as_slice()),
            // 105..109 lost; server acks up to 113.
            (SV, seg(109, 501, A), b"ijkl"),
            (C, seg(501, 113, A), b""),
            (SV, seg(113, 501, A), b"mn"),
        ]);
        run(&mut s, &cfg, &mut pool, &mut out, &mut evs, &pk);
        assert_eq!(joined(&out, SV), "abcd<gap:4>ijklmn");
        assert!(evs.contains(&"stream.reassembly_seq_gap"));
    }

    #[test]
    fn no_session_without_syn_unless_midstream() {
        let cfg = immediate();
        let mut pool = SegmentPool::new(cfg.memcap);
        let mut s = TcpSession::new();
        let r = s.packet(
            SV,
            &seg(1, 1, A),
            b"x",
            &cfg,
            &mut pool,
            &mut |_, _| {},
            &mut |_| {},
        );
        assert_eq!(r, Outcome::NoSession);
        let cfg = StreamConfig {
            midstream: true,
            ..immediate()
        };
        let mut got = Vec::new();
        let r = s.packet(
            SV,
            &seg(1, 1, A),
            b"x",
            &cfg,
            &mut pool,
            &mut |d, c| {
                if let Chunk::Data(b) = c {
                    got.push((d, b.to_vec()))
                }
            },
            &mut |_| {},
        );
        assert_eq!(r, Outcome::Ok);
        assert_eq!(got, vec![(SV, b"x".to_vec())]);
    }

    #[test]
    fn syn_from_server_side_asks_for_swap_and_reuse_rules() {
        let cfg = immediate();
        let mut pool = SegmentPool::new(cfg.memcap);
        let mut s = TcpSession::new();
        let r = s.packet(
            C,
            &seg(1, 0, S),
            b"",
            &cfg,
            &mut pool,
            &mut |_, _| {},
            &mut |_| {},
        );
        assert_eq!(r, Outcome::SwapFlow);
        let mut out = Out::default();
        let mut evs = Vec::new();
        let mut pk = handshake();
        pk.push((SV, seg(101, 501, A | R), b""));
        run(&mut s, &cfg, &mut pool, &mut out, &mut evs, &pk);
        assert_eq!(s.state(), TcpState::Closed);
        assert!(s.reuse_on_syn(SV, 9000));
        // A retransmitted SYN is not a new session; neither is a SYN on an open one.
        let mut t = TcpSession::new();
        assert!(t.reuse_on_syn(SV, 5));
        run(&mut t, &cfg, &mut pool, &mut out, &mut evs, &handshake());
        assert!(!t.reuse_on_syn(SV, 100));
        assert!(!t.reuse_on_syn(SV, 7777));
    }

    #[test]
    fn rst_outside_the_window_is_ignored() {
        let cfg = immediate();
        let mut pool = SegmentPool::new(cfg.memcap);
        let mut s = TcpSession::new();
        let mut out = Out::default();
        let mut evs = Vec::new();
        // A stale RST far from the client's sequence does not end the handshake.
        run(
            &mut s,
            &cfg,
            &mut pool,
            &mut out,
            &mut evs,
            &[
                (SV, seg(100, 0, S), b"".as_slice()),
                (SV, seg(860_000_000, 0, R), b""),
            ],
        );
        assert_eq!(s.state(), TcpState::SynSent);
        run(
            &mut s,
            &cfg,
            &mut pool,
            &mut out,
            &mut evs,
            &[
                (C, seg(500, 101, S | A), b"".as_slice()),
                (SV, seg(101, 501, A), b""),
                (SV, seg(101, 501, A), b"hi"),
                (C, seg(501, 103, A | R), b""),
            ],
        );
        assert_eq!(joined(&out, SV), "hi");
        assert_eq!(s.state(), TcpState::Closed);
    }

    #[test]
    fn data_waits_for_the_peers_ack_like_suricata() {
        let cfg = StreamConfig::default();
        let mut pool = SegmentPool::new(cfg.memcap);
        let mut s = TcpSession::new();
        let mut out = Out::default();
        let mut evs = Vec::new();
        let mut pk = handshake();
        pk.extend([
            (SV, seg(101, 501, A), b"GET /".as_slice()),
            (SV, seg(106, 501, A), b" HTTP/1.1\r\n\r\n"),
        ]);
        run(&mut s, &cfg, &mut pool, &mut out, &mut evs, &pk);
        // Nothing acknowledged yet: nothing handed over, but it is counted in memory.
        assert!(out.0.is_empty());
        assert_eq!(pool.memuse(), 18);
        // The server's response acknowledges the request: the request is released as one
        // chunk, before the response (which waits for the client's ACK).
        run(
            &mut s,
            &cfg,
            &mut pool,
            &mut out,
            &mut evs,
            &[(C, seg(501, 119, A), b"HTTP/1.1 200 OK\r\n\r\n".as_slice())],
        );
        assert_eq!(out.0, vec![(SV, "GET / HTTP/1.1\r\n\r\n".to_owned())]);
        // A partial ACK releases part; flush at flow end hands over the rest.
        run(
            &mut s,
            &cfg,
            &mut pool,
            &mut out,
            &mut evs,
            &[(SV, seg(119, 505, A), b"".as_slice())],
        );
        assert_eq!(joined(&out, C), "HTTP");
        s.flush(&cfg, &mut pool, &mut |d, c| {
            if let Chunk::Data(b) = c {
                out.0.push((d, String::from_utf8_lossy(b).into_owned()));
            }
        });
        assert_eq!(joined(&out, C), "HTTP/1.1 200 OK\r\n\r\n");
        assert_eq!(pool.memuse(), 0);
    }

    #[test]
    fn depth_and_caps_hold() {
        let cfg = StreamConfig {
            depth: 10,
            max_segments: 8,
            ..immediate()
        };
        let mut pool = SegmentPool::new(cfg.memcap);
        let mut s = TcpSession::new();
        let mut out = Out::default();
        let mut evs = Vec::new();
        let mut pk = handshake();
        pk.push((SV, seg(101, 501, A), b"0123456789abcdef".as_slice()));
        run(&mut s, &cfg, &mut pool, &mut out, &mut evs, &pk);
        assert_eq!(joined(&out, SV), "0123456789");
        assert!(evs.contains(&"stream.reassembly_depth_reached"));

        // Many tiny out-of-order segments: storage stays under the segment cap.
        let cfg = StreamConfig {
            max_segments: 8,
            ..immediate()
        };
        let mut s = TcpSession::new();
        let mut pk = handshake();
        let bytes = [b'x'; 1];
        for i in 0..1000u32 {
            pk.push((SV, seg(200 + i * 2, 501, A), bytes.as_slice()));
        }
        let mut out = Out::default();
        run(&mut s, &cfg, &mut pool, &mut out, &mut evs, &pk);
        assert!(pool.memuse() <= 8);
        s.flush(&cfg, &mut pool, &mut |_, _| {});
        assert_eq!(pool.memuse(), 0);
    }

    #[test]
    fn overlap_policies() {
        for (policy, want) in [
            (OverlapPolicy::First, "abcdef"),
            (OverlapPolicy::Last, "aXYZef"),
            (OverlapPolicy::Bsd, "abcdef"),
        ] {
            let cfg = StreamConfig {
                policy,
                ..immediate()
            };
            let mut pool = SegmentPool::new(cfg.memcap);
            let mut s = TcpSession::new();
            let mut out = Out::default();
            let mut evs = Vec::new();
            let mut pk = handshake();
            pk.extend([
                (SV, seg(102, 501, A), b"bcde".as_slice()),
                (SV, seg(102, 501, A), b"XYZ"),
                (SV, seg(106, 501, A), b"f"),
                (SV, seg(101, 501, A), b"a"),
            ]);
            run(&mut s, &cfg, &mut pool, &mut out, &mut evs, &pk);
            assert_eq!(joined(&out, SV), want, "{policy:?}");
            assert!(evs.contains(&"stream.reassembly_overlap_different_data"));
        }
    }

    #[test]
    fn flush_delivers_stored_with_gaps() {
        let cfg = immediate();
        let mut pool = SegmentPool::new(cfg.memcap);
        let mut s = TcpSession::new();
        let mut out = Out::default();
        let mut evs = Vec::new();
        let mut pk = handshake();
        pk.push((SV, seg(111, 501, A), b"later".as_slice()));
        run(&mut s, &cfg, &mut pool, &mut out, &mut evs, &pk);
        s.flush(&cfg, &mut pool, &mut |d, c| {
            out.0.push((
                d,
                match c {
                    Chunk::Data(b) => String::from_utf8_lossy(b).into_owned(),
                    Chunk::Gap(n) => format!("<gap:{n}>"),
                    Chunk::Eof => "<eof>".into(),
                },
            ))
        });
        assert_eq!(joined(&out, SV), "<gap:10>later<eof>");
        assert_eq!(joined(&out, C), "<eof>");
    }
}
