//! The flow table: one entry per conversation (5-tuple + VLANs + tunnel depth), with
//! per-direction counters, Suricata-like timeouts and the EVE `flow` record.
//!
//! Layer: after decode, before reassembly. The table owns a `T` per flow for the stages after it
//! (TCP session and app-layer state), so a worker keeps everything about a flow in one place and
//! drops it in one go. It knows nothing about streams or protocols.
//!
//! Invariants:
//! - Capacity is fixed ([`FlowConfig::max_flows`]); the map is keyed with a random-seeded hash
//!   (ahash), so an attacker cannot aim collisions at it. When full, expired flows are reaped
//!   with the emergency timeouts, then the longest-idle flow is evicted (reason `forced`).
//! - A packet arriving after its flow timed out starts a new flow, exactly as Suricata 7 does
//!   when it finds a timed-out flow in the hash (`timeout_at < now`, in whole seconds).
//! - The first packet's sender is the client (`to_server`), unless the caller swaps the flow
//!   (e.g. a TCP SYN/ACK seen first).
#![forbid(unsafe_code)]

mod community;

pub use community::community_id;

use std::collections::HashMap;

use events::flow::{FlowEve, FlowInfo, TcpInfo};
use events::Tuple;
use types::{ipproto, Addr, Direction, FlowKey, Timestamp};

/// Timeouts for one protocol, in seconds of packet time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Flow not yet established.
    pub new: u64,
    /// Established flow.
    pub established: u64,
    /// Closed flow (TCP FIN/RST handshake done).
    pub closed: u64,
}

/// Flow table settings; defaults are Suricata 7's `flow:` and `flow-timeouts:` sections.
#[derive(Debug, Clone)]
pub struct FlowConfig {
    /// Most flows held at once per worker.
    pub max_flows: usize,
    /// TCP timeouts.
    pub tcp: Timeouts,
    /// UDP timeouts.
    pub udp: Timeouts,
    /// ICMP timeouts.
    pub icmp: Timeouts,
    /// Other protocols.
    pub default: Timeouts,
    /// Timeouts used when the table is full (Suricata's emergency values, TCP).
    pub emergency: Timeouts,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            // Suricata's 128 MiB flow memcap holds roughly 500k flows; per worker we default
            // to the same order of magnitude.
            max_flows: 512 * 1024,
            tcp: Timeouts {
                new: 60,
                established: 600,
                closed: 60,
            },
            udp: Timeouts {
                new: 30,
                established: 300,
                closed: 0,
            },
            icmp: Timeouts {
                new: 30,
                established: 300,
                closed: 0,
            },
            default: Timeouts {
                new: 30,
                established: 300,
                closed: 0,
            },
            emergency: Timeouts {
                new: 5,
                established: 100,
                closed: 10,
            },
        }
    }
}

/// Life-cycle state of a flow (EVE `flow.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowState {
    /// Packets seen one way only (or TCP handshake not complete).
    New,
    /// Packets both ways (TCP: handshake complete).
    Established,
    /// TCP session closed.
    Closed,
}

impl FlowState {
    /// EVE spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FlowState::New => "new",
            FlowState::Established => "established",
            FlowState::Closed => "closed",
        }
    }
}

/// Why a flow ended (EVE `flow.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// No packet within the timeout.
    Timeout,
    /// Evicted to make room, or replaced by a new session on the same tuple.
    Forced,
    /// End of input / engine shutdown.
    Shutdown,
}

impl EndReason {
    /// EVE spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Timeout => "timeout",
            EndReason::Forced => "forced",
            EndReason::Shutdown => "shutdown",
        }
    }
}

/// One flow and the state later stages keep for it.
#[derive(Debug)]
pub struct Flow<T> {
    /// Canonical key.
    pub key: FlowKey,
    /// Flow id printed in every event of the flow.
    pub id: u64,
    /// Client address (sender of the first packet).
    pub client: Addr,
    /// Client port (ICMP: 0).
    pub client_port: u16,
    /// Server address.
    pub server: Addr,
    /// Server port.
    pub server_port: u16,
    /// First packet time.
    pub start: Timestamp,
    /// Last packet time.
    pub last: Timestamp,
    /// Packets per direction (index: [`Direction::idx`]).
    pub pkts: [u64; 2],
    /// Bytes per direction.
    pub bytes: [u64; 2],
    /// TCP flags seen per direction.
    pub tcp_flags: [u8; 2],
    /// Life-cycle state.
    pub state: FlowState,
    /// ICMP type/code of the first packet each way (`[dir][type, code]`).
    pub icmp: [Option<(u8, u8)>; 2],
    /// Whether an alert fired on the flow.
    pub alerted: bool,
    /// App-layer protocol for EVE (`http`, `tls`, `dns`, `failed` …).
    pub app_proto: Option<&'static str>,
    /// TCP session state name for the `tcp` object, when a session was tracked.
    pub tcp_state: Option<&'static str>,
    /// Most out-of-order regions per direction, from reassembly.
    pub max_regions: [u32; 2],
    /// Whether reassembly found bytes missing, per direction.
    pub gaps: [bool; 2],
    /// State owned by later stages.
    pub user: T,
    timeout_at: u64,
}

impl<T> Flow<T> {
    /// The direction of a packet from `src`:`sport`.
    pub fn direction_of(&self, src: Addr, sport: u16) -> Direction {
        if src == self.client && sport == self.client_port {
            Direction::ToServer
        } else if src == self.server && sport == self.server_port {
            Direction::ToClient
        } else if src == self.client {
            // Same host both ends (e.g. ICMP to self): fall back to the address.
            Direction::ToServer
        } else {
            Direction::ToClient
        }
    }

    /// The client-to-server tuple.
    pub fn tuple(&self) -> Tuple {
        Tuple {
            src: self.client,
            sport: self.client_port,
            dst: self.server,
            dport: self.server_port,
            proto: self.key.proto,
        }
    }

    /// The tuple oriented for `dir` (its sender first).
    pub fn tuple_for(&self, dir: Direction) -> Tuple {
        match dir {
            Direction::ToServer => self.tuple(),
            Direction::ToClient => self.tuple().reversed(),
        }
    }

    /// Swaps client and server, with every per-direction counter.
    pub fn swap(&mut self) {
        std::mem::swap(&mut self.client, &mut self.server);
        std::mem::swap(&mut self.client_port, &mut self.server_port);
        self.pkts.swap(0, 1);
        self.bytes.swap(0, 1);
        self.tcp_flags.swap(0, 1);
        self.icmp.swap(0, 1);
        self.max_regions.swap(0, 1);
        self.gaps.swap(0, 1);
    }

    /// Accounts one packet of `len` bytes in `dir` at `ts`, with its TCP flags.
    pub fn account(&mut self, dir: Direction, len: usize, ts: Timestamp, tcp_flags: u8) {
        let i = dir.idx();
        self.pkts[i] += 1;
        self.bytes[i] += len as u64;
        self.tcp_flags[i] |= tcp_flags;
        if ts > self.last {
            self.last = ts;
        }
    }

    /// Builds the EVE `flow` record.
    pub fn to_eve(&self, reason: EndReason) -> FlowEve {
        let mut info = FlowInfo {
            pkts_toserver: self.pkts[0],
            pkts_toclient: self.pkts[1],
            bytes_toserver: self.bytes[0],
            bytes_toclient: self.bytes[1],
            start: self.start.to_eve_string(),
            end: self.last.to_eve_string(),
            age: self.last.secs().saturating_sub(self.start.secs()),
            state: self.state.as_str(),
            reason: reason.as_str(),
            alerted: self.alerted,
        };
        if self.last < self.start {
            info.end = info.start.clone();
        }
        let tcp = (self.key.proto == ipproto::TCP).then(|| {
            let f = self.tcp_flags[0] | self.tcp_flags[1];
            let bit = |m: u8| f & m != 0;
            TcpInfo {
                tcp_flags: format!("{f:02x}"),
                tcp_flags_ts: format!("{:02x}", self.tcp_flags[0]),
                tcp_flags_tc: format!("{:02x}", self.tcp_flags[1]),
                syn: bit(0x02),
                fin: bit(0x01),
                rst: bit(0x04),
                psh: bit(0x08),
                ack: bit(0x10),
                urg: bit(0x20),
                ecn: bit(0x40),
                cwr: bit(0x80),
                state: self.tcp_state,
                ts_gap: self.gaps[0],
                tc_gap: self.gaps[1],
                ts_max_regions: self.tcp_state.map(|_| self.max_regions[0].max(1)),
                tc_max_regions: self.tcp_state.map(|_| self.max_regions[1].max(1)),
            }
        });
        FlowEve {
            flow: info,
            tcp,
            response_icmp: self.icmp[1],
        }
    }
}

/// Counters of a flow table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowStats {
    /// Flows created.
    pub created: u64,
    /// Flows ended by timeout.
    pub timed_out: u64,
    /// Flows evicted because the table was full.
    pub evicted: u64,
    /// Times the table was full when a flow had to be created.
    pub table_full: u64,
}

/// A fixed-capacity flow table.
#[derive(Debug)]
pub struct FlowTable<T> {
    cfg: FlowConfig,
    map: HashMap<FlowKey, u32, ahash::RandomState>,
    slots: Vec<Option<Flow<T>>>,
    free: Vec<u32>,
    live: usize,
    last_sweep: u64,
    stats: FlowStats,
    id_salt: u64,
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl<T> FlowTable<T> {
    /// An empty table. `id_salt` varies flow ids between workers.
    pub fn new(cfg: FlowConfig, id_salt: u64) -> FlowTable<T> {
        FlowTable {
            map: HashMap::with_capacity_and_hasher(
                cfg.max_flows.min(1 << 16),
                ahash::RandomState::new(),
            ),
            cfg,
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            last_sweep: 0,
            stats: FlowStats::default(),
            id_salt,
        }
    }

    /// Counters.
    pub fn stats(&self) -> &FlowStats {
        &self.stats
    }

    /// Flows currently held.
    pub fn len(&self) -> usize {
        self.live
    }

    /// True when no flow is held.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    fn timeouts(&self, proto: u8) -> Timeouts {
        match proto {
            ipproto::TCP => self.cfg.tcp,
            ipproto::UDP => self.cfg.udp,
            ipproto::ICMP | ipproto::ICMPV6 => self.cfg.icmp,
            _ => self.cfg.default,
        }
    }

    fn timeout_for(&self, f: &Flow<T>, emergency: bool) -> u64 {
        let t = if emergency {
            self.cfg.emergency
        } else {
            self.timeouts(f.key.proto)
        };
        match f.state {
            FlowState::New => t.new,
            FlowState::Established => t.established,
            FlowState::Closed => t.closed,
        }
    }

    /// Recomputes when `idx` times out; call after changing its state or last time.
    pub fn touch(&mut self, idx: u32) {
        let Some(Some(f)) = self.slots.get(idx as usize) else {
            return;
        };
        let t = self.timeout_for(f, false);
        let at = f.last.secs().saturating_add(t);
        if let Some(Some(f)) = self.slots.get_mut(idx as usize) {
            f.timeout_at = at;
        }
    }

    /// Calls `f` on every flow held (a rule reload carries each flow's detection state over).
    pub fn for_each_mut(&mut self, f: &mut impl FnMut(&mut Flow<T>)) {
        for fl in self.slots.iter_mut().flatten() {
            f(fl);
        }
    }

    /// The flow in slot `idx`.
    pub fn get_mut(&mut self, idx: u32) -> Option<&mut Flow<T>> {
        self.slots.get_mut(idx as usize).and_then(Option::as_mut)
    }

    /// The flow in slot `idx`.
    pub fn get(&self, idx: u32) -> Option<&Flow<T>> {
        self.slots.get(idx as usize).and_then(Option::as_ref)
    }

    /// Finds the flow of `key` if it exists and has not timed out at `now`. A timed-out flow
    /// is removed and handed to `ended` first.
    pub fn lookup(
        &mut self,
        key: &FlowKey,
        now: Timestamp,
        ended: &mut impl FnMut(Flow<T>, EndReason),
    ) -> Option<u32> {
        let idx = *self.map.get(key)?;
        let timed_out = match self.get(idx) {
            Some(f) => f.timeout_at < now.secs(),
            None => true,
        };
        if timed_out {
            if let Some(f) = self.remove(idx) {
                self.stats.timed_out += 1;
                ended(f, EndReason::Timeout);
            }
            return None;
        }
        Some(idx)
    }

    /// Creates a flow for `key` whose first packet goes `src:sport -> dst:dport`.
    #[allow(clippy::too_many_arguments)]
    pub fn create(
        &mut self,
        key: FlowKey,
        src: Addr,
        sport: u16,
        dst: Addr,
        dport: u16,
        now: Timestamp,
        user: T,
        ended: &mut impl FnMut(Flow<T>, EndReason),
    ) -> u32 {
        if self.live >= self.cfg.max_flows {
            self.stats.table_full += 1;
            self.sweep_with(now, true, ended);
            if self.live >= self.cfg.max_flows {
                self.evict_oldest(ended);
            }
        }
        self.stats.created += 1;
        let id = (mix(key.shard_hash() ^ now.0 ^ self.id_salt ^ self.stats.created))
            & 0x0007_ffff_ffff_ffff;
        let mut f = Flow {
            key,
            id: id.max(1),
            client: src,
            client_port: sport,
            server: dst,
            server_port: dport,
            start: now,
            last: now,
            pkts: [0; 2],
            bytes: [0; 2],
            tcp_flags: [0; 2],
            state: FlowState::New,
            icmp: [None; 2],
            alerted: false,
            app_proto: None,
            tcp_state: None,
            max_regions: [0; 2],
            gaps: [false; 2],
            user,
            timeout_at: 0,
        };
        f.timeout_at = now.secs().saturating_add(self.timeout_for(&f, false));
        let idx = match self.free.pop() {
            Some(i) => {
                if let Some(s) = self.slots.get_mut(i as usize) {
                    *s = Some(f);
                }
                i
            }
            None => {
                self.slots.push(Some(f));
                // Slots never exceed max_flows + 1, far below u32::MAX.
                (self.slots.len() - 1) as u32
            }
        };
        self.map.insert(key, idx);
        self.live += 1;
        idx
    }

    /// Removes and returns the flow in `idx`.
    pub fn remove(&mut self, idx: u32) -> Option<Flow<T>> {
        let f = self.slots.get_mut(idx as usize)?.take()?;
        self.map.remove(&f.key);
        self.free.push(idx);
        self.live -= 1;
        Some(f)
    }

    fn evict_oldest(&mut self, ended: &mut impl FnMut(Flow<T>, EndReason)) {
        let oldest = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|f| (f.last, i)))
            .min();
        if let Some((_, i)) = oldest {
            if let Some(f) = self.remove(i as u32) {
                self.stats.evicted += 1;
                ended(f, EndReason::Forced);
            }
        }
    }

    /// Ends flows that timed out by `now` (at most one full pass per second of packet time).
    pub fn sweep(&mut self, now: Timestamp, ended: &mut impl FnMut(Flow<T>, EndReason)) {
        if now.secs() <= self.last_sweep {
            return;
        }
        self.last_sweep = now.secs();
        self.sweep_with(now, false, ended);
    }

    fn sweep_with(
        &mut self,
        now: Timestamp,
        emergency: bool,
        ended: &mut impl FnMut(Flow<T>, EndReason),
    ) {
        let secs = now.secs();
        for i in 0..self.slots.len() {
            let expired = match &self.slots[i] {
                Some(f) if emergency => {
                    f.last.secs().saturating_add(self.timeout_for(f, true)) < secs
                }
                Some(f) => f.timeout_at < secs,
                None => false,
            };
            if expired {
                if let Some(f) = self.remove(i as u32) {
                    self.stats.timed_out += 1;
                    ended(f, EndReason::Timeout);
                }
            }
        }
    }

    /// Ends every flow (end of input), oldest first.
    pub fn drain(&mut self, ended: &mut impl FnMut(Flow<T>, EndReason)) {
        let mut order: Vec<(Timestamp, u32)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|f| (f.start, i as u32)))
            .collect();
        order.sort_unstable();
        for (_, i) in order {
            if let Some(f) = self.remove(i) {
                ended(f, EndReason::Shutdown);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(a: u8, b: u8) -> (FlowKey, Addr, Addr) {
        let x = Addr::v4([10, 0, 0, a]);
        let y = Addr::v4([10, 0, 0, b]);
        (FlowKey::canonical(x, 1000, y, 53, 17, [0; 2], 0).0, x, y)
    }

    #[test]
    fn timeout_starts_new_flow() {
        let mut t: FlowTable<()> = FlowTable::new(FlowConfig::default(), 0);
        let mut ended = Vec::new();
        let mut sink = |f: Flow<()>, r| ended.push((f.id, r));
        let (k, x, y) = key(1, 2);
        let t0 = Timestamp::from_secs_nanos(100, 0);
        let i = t.create(k, x, 1000, y, 53, t0, (), &mut sink);
        assert_eq!(t.lookup(&k, t0.plus_secs(30), &mut sink), Some(i));
        // UDP new timeout is 30 s: at +31 s (timeout_at 130 < 131) the flow is gone.
        assert_eq!(t.lookup(&k, t0.plus_secs(31), &mut sink), None);
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].1, EndReason::Timeout);
    }

    #[test]
    fn full_table_evicts() {
        let cfg = FlowConfig {
            max_flows: 4,
            ..FlowConfig::default()
        };
        let mut t: FlowTable<()> = FlowTable::new(cfg, 0);
        let mut ended = 0;
        let mut sink = |_: Flow<()>, _| ended += 1;
        for i in 0..10u8 {
            let (k, x, y) = key(i, 200);
            t.create(
                k,
                x,
                1000,
                y,
                53,
                Timestamp::from_secs_nanos(1, 0),
                (),
                &mut sink,
            );
        }
        assert_eq!(t.len(), 4);
        assert_eq!(ended, 6);
        assert_eq!(t.stats().evicted, 6);
    }

    #[test]
    fn record_counts_and_flags() {
        let mut t: FlowTable<()> = FlowTable::new(FlowConfig::default(), 0);
        let mut sink = |_: Flow<()>, _| {};
        let x = Addr::v4([1, 1, 1, 1]);
        let y = Addr::v4([2, 2, 2, 2]);
        let (k, _) = FlowKey::canonical(x, 5000, y, 80, 6, [0; 2], 0);
        let i = t.create(
            k,
            x,
            5000,
            y,
            80,
            Timestamp::from_secs_nanos(10, 0),
            (),
            &mut sink,
        );
        let f = t.get_mut(i).unwrap();
        f.account(
            Direction::ToServer,
            60,
            Timestamp::from_secs_nanos(10, 0),
            0x02,
        );
        f.account(
            Direction::ToClient,
            60,
            Timestamp::from_secs_nanos(12, 5),
            0x12,
        );
        assert_eq!(f.direction_of(y, 80), Direction::ToClient);
        let e = f.to_eve(EndReason::Shutdown);
        assert_eq!(e.flow.age, 2);
        assert_eq!(e.flow.bytes_toclient, 60);
        let tcp = e.tcp.unwrap();
        assert_eq!(tcp.tcp_flags, "12");
        assert_eq!(tcp.tcp_flags_ts, "02");
        assert!(tcp.syn && tcp.ack && !tcp.fin);
    }
}
