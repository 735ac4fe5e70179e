//! One worker: every stage for the flows it owns, run to completion per packet.
//!
//! The worker owns its flow table, TCP segment pool and defragmenter; nothing is shared with
//! other workers except the read-only settings and protocol registry, so the per-packet path
//! takes no lock. Scratch buffers (app outputs, stream events, the defrag buffer) are reused, so
//! the steady-state per-packet path allocates nothing below the app layer.

use std::sync::Arc;

use applayer::{AppLayer, Registry};
use decode::defrag::Defrag;
use decode::{Icmp, Packet, L4};
use events::anomaly::AnomalyEve;
use events::{AppOutput, Body, Event, PktSrc, Tuple};
use flow::{EndReason, Flow, FlowState, FlowTable};
use reassembly::{Chunk, Outcome, SegmentPool, TcpSession, TcpState};
use types::{Direction, FlowKey, Timestamp};

use crate::config::Settings;
use crate::detection::{
    alert_event, flow_view, packet_view, pseudo_view, AlertPacket, Detector, FlowDetect,
};
use crate::stats::WorkerStats;

/// Receives the events a worker produces.
pub trait EventSink {
    /// One event.
    fn emit(&mut self, ev: &Event);
}

/// A captured frame handed to a worker.
#[derive(Debug, Clone, Copy)]
pub struct PacketIn<'a> {
    /// Capture time.
    pub ts: Timestamp,
    /// Link type.
    pub linktype: u32,
    /// Frame bytes.
    pub data: &'a [u8],
    /// 1-based index in the input.
    pub pcap_cnt: u64,
    /// Whether TCP checksums are validated for this packet (see `ChecksumMode`).
    pub validate_checksum: bool,
}

/// Per-flow state of the stages after the flow table.
#[derive(Debug)]
pub struct FlowData {
    tcp: TcpSession,
    app: AppLayer,
    community: Option<String>,
    detect: FlowDetect,
}

/// Everything of a worker but its flow table, so that flow-end callbacks (invoked by the table)
/// can use it while the table is borrowed.
struct Ctx {
    settings: Arc<Settings>,
    registry: Arc<Registry>,
    pool: SegmentPool,
    defrag: Defrag,
    app_out: Vec<AppOutput>,
    /// Snapshots for detection that ride on no logged record (never written).
    inspect_out: Vec<AppOutput>,
    stream_events: Vec<&'static str>,
    now: Timestamp,
    stats: WorkerStats,
    /// The signature engine, when rules are loaded.
    det: Option<Detector>,
    /// Decoder event names of the packet being processed (for `decode-event`).
    decode_names: Vec<&'static str>,
}

/// One worker of the dataplane.
pub struct Worker {
    flows: FlowTable<FlowData>,
    ctx: Ctx,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("flows", &self.flows.len())
            .field("stats", &self.ctx.stats)
            .finish()
    }
}

/// The header fields an app-layer output needs from its flow.
struct FlowHdr {
    id: u64,
    tuple: Tuple,
    vlan: [u16; 2],
    community: Option<String>,
}

impl<T> From<&Flow<T>> for FlowHdr {
    fn from(f: &Flow<T>) -> Self {
        FlowHdr {
            id: f.id,
            tuple: f.tuple(),
            vlan: f.key.vlan,
            community: None,
        }
    }
}

fn wants_flow(p: &Packet<'_>) -> bool {
    if !p.has_ip() || p.fragment.is_some() {
        return false;
    }
    match p.l4 {
        L4::Tcp(_) | L4::Udp(_) | L4::Icmp(_) => true,
        // SCTP and ESP have flows in Suricata; so does IPv6 carried in IPv4/IPv6 (the outer
        // packet), but not GRE or IPv4-in-IP.
        L4::Other => {
            matches!(p.proto, 132 | 50)
                || (p.proto == 41 && p.tunnel.is_some() && matches!(p.l3, decode::L3::V4 { .. }))
        }
        L4::None => false,
    }
}

impl Worker {
    /// A worker with its own flow table. `id` distinguishes flow ids between workers.
    pub fn new(settings: Arc<Settings>, registry: Arc<Registry>, id: u64) -> Worker {
        Worker {
            flows: FlowTable::new(settings.flow.clone(), id.wrapping_mul(0x9e37_79b9)),
            ctx: Ctx {
                pool: SegmentPool::new(settings.stream.memcap),
                defrag: Defrag::new(settings.defrag.clone()),
                registry,
                app_out: Vec::new(),
                inspect_out: Vec::new(),
                stream_events: Vec::new(),
                now: Timestamp::default(),
                stats: WorkerStats::default(),
                settings,
                det: None,
                decode_names: Vec::new(),
            },
        }
    }

    /// Runs the signature engine `engine` on this worker's traffic.
    #[must_use]
    pub fn with_engine(mut self, engine: Arc<detect::engine::Engine>) -> Worker {
        self.ctx.det = Some(Detector::new(engine, self.ctx.settings.alert_payload));
        self
    }

    /// Swaps in a newly built rule set between two packets (hot reload): every flow's
    /// detection state is carried over to the new engine (see
    /// [`detect::engine::StateMap`]). No packet is inspected by a half-built set: `engine`
    /// is complete before it gets here. Returns the old engine so the caller can free it off
    /// the packet path (freeing a large rule set takes long enough to overflow a capture
    /// ring).
    pub fn swap_engine(
        &mut self,
        engine: Arc<detect::engine::Engine>,
    ) -> Option<Arc<detect::engine::Engine>> {
        if let Some(old) = &self.ctx.det {
            let map = engine.state_map_from(&old.engine);
            self.flows
                .for_each_mut(&mut |f| map.apply(&mut f.user.detect.state));
        }
        let old = self
            .ctx
            .det
            .replace(Detector::new(engine, self.ctx.settings.alert_payload));
        old.map(|d| d.engine)
    }

    /// The worker's clock: the latest packet time it has seen.
    pub fn now(&self) -> Timestamp {
        self.ctx.now
    }

    /// Counters so far.
    pub fn stats(&self) -> WorkerStats {
        let mut s = self.ctx.stats.clone();
        s.flows_active = self.flows.len() as u64;
        let fs = self.flows.stats();
        s.flows_created = fs.created;
        s.flows_evicted = fs.evicted;
        s.flows_timed_out = fs.timed_out;
        let ps = &self.ctx.pool.stats;
        s.tcp_sessions = ps.sessions;
        s.tcp_gaps = ps.gaps;
        s.tcp_memcap_drops = ps.memcap_drops;
        s.tcp_overlaps = ps.overlaps_different;
        s.tcp_reassembly_memuse = self.ctx.pool.memuse() as u64;
        let ds = self.ctx.defrag.stats();
        s.defrag_reassembled = ds.reassembled;
        s.defrag_memcap_drops = ds.memcap_drops;
        s
    }

    /// Moves the worker's clock to `ts` (when it gets no packets for a while) and ends the
    /// flows that timed out.
    pub fn advance_time(&mut self, ts: Timestamp, sink: &mut impl EventSink) {
        if ts > self.ctx.now {
            self.ctx.now = ts;
        }
        let ctx = &mut self.ctx;
        let now = ctx.now;
        self.flows.sweep(now, &mut |f, r| ctx.end_flow(f, r, sink));
    }

    /// Processes one captured frame.
    pub fn process(&mut self, pkt: PacketIn<'_>, sink: &mut impl EventSink) {
        self.ctx.stats.packets += 1;
        self.ctx.stats.bytes += pkt.data.len() as u64;
        self.advance_time(pkt.ts, sink);
        let p = decode::decode(pkt.linktype, pkt.data, &self.ctx.settings.decode);
        if !p.has_ip() {
            self.ctx.stats.no_ip += 1;
        }
        self.ctx.decode_names.clear();
        self.ctx.decode_names.extend(p.events.iter().map(|e| e.0));
        self.handle(&p, pkt.data.len(), PktSrc::Wire, 0, &pkt, sink);
    }

    fn handle(
        &mut self,
        p: &Packet<'_>,
        pkt_len: usize,
        src: PktSrc,
        depth: u8,
        pkt: &PacketIn<'_>,
        sink: &mut impl EventSink,
    ) {
        for e in p.events.iter() {
            self.ctx.stats.decoder_events += 1;
            if self.ctx.settings.anomaly.decode {
                let mut ev = Event::new(pkt.ts, Body::Anomaly(AnomalyEve::decode(e.eve_name())));
                ev.pcap_cnt = Some(pkt.pcap_cnt);
                ev.pkt_src = Some(src);
                if p.has_ip() {
                    ev.tuple = Some(Tuple {
                        src: p.src,
                        sport: p.sport,
                        dst: p.dst,
                        dport: p.dport,
                        proto: p.proto,
                    });
                }
                ev.vlan = p.vlan;
                sink.emit(&ev);
            }
        }
        if let Some(frag) = p.fragment {
            self.ctx.stats.fragments += 1;
            let mut buf = Vec::new();
            match self.ctx.defrag.insert(p, &frag, pkt.ts, &mut buf) {
                Ok(true) => {
                    let mut q = decode::decode_ip_datagram(&buf, &self.ctx.settings.decode);
                    q.vlan = p.vlan;
                    // Suricata's reassembled packet keeps the first fragment's link header.
                    let len = buf.len() + p.ip_offset;
                    self.handle(&q, len, PktSrc::Defrag, depth, pkt, sink);
                }
                Ok(false) => {}
                Err(e) => {
                    self.ctx.stats.decoder_events += 1;
                    if self.ctx.settings.anomaly.decode {
                        let mut ev =
                            Event::new(pkt.ts, Body::Anomaly(AnomalyEve::decode(e.eve_name())));
                        ev.pcap_cnt = Some(pkt.pcap_cnt);
                        sink.emit(&ev);
                    }
                }
            }
            return;
        }
        if wants_flow(p) {
            self.flow_packet(p, pkt_len, src, depth, pkt, sink);
        } else if p.has_ip() && p.fragment.is_none() {
            self.ctx.detect_flowless(p, src, pkt, sink);
        }
        if let Some(t) = p.tunnel {
            if depth >= decode::MAX_TUNNEL_DEPTH {
                self.ctx.stats.decoder_events += 1;
                return;
            }
            if let Some(mut inner) = decode::decode_tunnel(p, &self.ctx.settings.decode) {
                // Bytes are counted from where Suricata starts its tunnel packet.
                let len = (p.ip_offset + p.ip_len).saturating_sub(t.count_offset);
                if inner.vlan == [0, 0] {
                    inner.vlan = p.vlan;
                }
                self.ctx.stats.tunnelled += 1;
                self.handle(&inner, len, PktSrc::Tunnel, depth + 1, pkt, sink);
            }
        }
    }

    fn flow_packet(
        &mut self,
        p: &Packet<'_>,
        pkt_len: usize,
        src: PktSrc,
        depth: u8,
        pkt: &PacketIn<'_>,
        sink: &mut impl EventSink,
    ) {
        let ts = pkt.ts;
        if let L4::Icmp(ic) = &p.l4 {
            // ICMPv4 errors quoting a packet are special; ICMPv6 errors are ordinary flows.
            if !ic.v6 && ic.is_error() && ic.embedded.is_some() {
                self.icmp_error(ic, p, pkt_len, depth, ts, sink);
                return;
            }
        }
        let (mut key, sp, dp) = flow_key(p, depth);
        if !self.ctx.settings.vlan_tracking {
            key.vlan = [0, 0];
        }
        let (mut idx, mut created) = self.lookup_or_create(&key, p, sp, dp, ts, sink);
        let tcp_hdr = p.tcp().copied();
        // A bare SYN on an existing flow may start a new session on the same tuple.
        if let (Some(t), false) = (tcp_hdr, created) {
            if t.flags.0 == decode::TcpFlags::SYN {
                if let Some(f) = self.flows.get(idx) {
                    let dir = direction(f, p);
                    if f.user.tcp.reuse_on_syn(dir, t.seq) {
                        if let Some(old) = self.flows.remove(idx) {
                            self.ctx.end_flow(old, EndReason::Forced, sink);
                        }
                        (idx, created) = self.lookup_or_create(&key, p, sp, dp, ts, sink);
                    }
                }
            }
        }
        let _ = created;
        let Some(f) = self.flows.get_mut(idx) else {
            return;
        };
        let mut dir = direction(f, p);
        f.account(dir, pkt_len, ts, tcp_hdr.map_or(0, |t| t.flags.0));
        if let Some(ic) = p.icmp() {
            let slot = &mut f.icmp[dir.idx()];
            if slot.is_none() {
                *slot = Some((ic.kind, ic.code));
            }
        }
        match tcp_hdr {
            None => {
                if f.pkts[0] > 0 && f.pkts[1] > 0 {
                    f.state = FlowState::Established;
                }
                if matches!(p.l4, L4::Udp(_)) {
                    let ports = (f.client_port, f.server_port);
                    let swapped = f.user.app.on_datagram(
                        &self.ctx.registry,
                        dir,
                        p.payload(),
                        ports,
                        &mut self.ctx.app_out,
                    );
                    if swapped {
                        f.swap();
                    }
                    f.app_proto = f.user.app.app_proto();
                }
            }
            Some(t) => {
                if pkt.validate_checksum && !decode::l4_checksum_valid(p) {
                    self.ctx.stats.invalid_checksums += 1;
                } else {
                    loop {
                        let ports = (f.client_port, f.server_port);
                        let fv = flow_view(
                            f,
                            dir,
                            f.state != FlowState::New,
                            ts,
                            f.user.tcp.stream_size(),
                        );
                        let FlowData {
                            tcp,
                            app,
                            detect: fdet,
                            ..
                        } = &mut f.user;
                        let reg = &self.ctx.registry;
                        let out = &mut self.ctx.app_out;
                        let evs = &mut self.ctx.stream_events;
                        let det = &mut self.ctx.det;
                        let pv = packet_view(p, ts, Some(fv), &self.ctx.decode_names, &[], true);
                        let outcome = tcp.packet(
                            dir,
                            &t,
                            p.payload(),
                            &self.ctx.settings.stream,
                            &mut self.ctx.pool,
                            &mut |d, c| {
                                if let Some(dd) = det.as_mut() {
                                    match &c {
                                        Chunk::Data(b) => dd.stream_data(fdet, &pv, d, b),
                                        Chunk::Gap(n) => dd.stream_gap(fdet, &pv, d, *n),
                                        Chunk::Eof => {}
                                    }
                                }
                                dispatch(app, reg, d, c, ports, out)
                            },
                            &mut |e| evs.push(e),
                        );
                        if outcome == Outcome::SwapFlow {
                            // Picked up at a SYN/ACK: its sender is the server.
                            f.swap();
                            dir = dir.flip();
                            continue;
                        }
                        break;
                    }
                    let st = f.user.tcp.state();
                    if st != TcpState::None {
                        f.tcp_state = Some(st.as_str());
                        f.state = match st {
                            TcpState::SynSent | TcpState::SynRecv => FlowState::New,
                            TcpState::TimeWait
                            | TcpState::LastAck
                            | TcpState::Closing
                            | TcpState::Closed => FlowState::Closed,
                            _ => FlowState::Established,
                        };
                    }
                    f.max_regions = f.user.tcp.max_regions();
                    f.gaps = f.user.tcp.gaps();
                    f.app_proto = f.user.app.app_proto();
                }
            }
        }
        self.flows.touch(idx);
        let Some(f) = self.flows.get_mut(idx) else {
            return;
        };
        if self.ctx.settings.community_id.is_some() && f.user.community.is_none() {
            f.user.community = community(&self.ctx.settings, f);
        }
        if let Some(det) = self.ctx.det.as_mut() {
            let dir = direction(f, p);
            let fv = flow_view(
                f,
                dir,
                f.state != FlowState::New,
                ts,
                f.user.tcp.stream_size(),
            );
            let stream_names: Vec<&'static str> = self
                .ctx
                .stream_events
                .iter()
                .map(|e| e.strip_prefix("stream.").unwrap_or(e))
                .collect();
            // App-layer events raised by this packet's data, for `app-layer-event`.
            let applayer_names: Vec<&'static str> = self
                .ctx
                .app_out
                .iter()
                .filter_map(|o| match &o.body {
                    Body::Anomaly(a) if a.kind == "applayer" && o.tx_id.is_none() => Some(a.event),
                    _ => None,
                })
                .collect();
            let in_stream = tcp_hdr.is_some() && f.user.tcp.exists() && !p.payload().is_empty();
            let mut pv = packet_view(
                p,
                ts,
                Some(fv),
                &self.ctx.decode_names,
                &stream_names,
                in_stream,
            );
            pv.applayer_events = &applayer_names;
            f.user.app.take_inspect(&mut self.ctx.inspect_out);
            det.take_outputs(&mut f.user.detect, &pv, &mut self.ctx.inspect_out);
            self.ctx.inspect_out.clear();
            det.take_outputs(&mut f.user.detect, &pv, &mut self.ctx.app_out);
            det.take_events(&mut f.user.detect, &self.ctx.app_out);
            det.packet(&mut f.user.detect, &pv, f.app_proto.is_some());
            let ap = AlertPacket {
                frame: pkt.data,
                linktype: pkt.linktype,
                payload: p.payload(),
            };
            emit_alerts(
                det,
                f,
                ts,
                Some(pkt.pcap_cnt),
                src,
                Some((ap, p.vlan)),
                sink,
            );
        }
        let mut hdr = FlowHdr::from(&*f);
        hdr.community = f.user.community.clone();
        self.ctx
            .flush_stream_events(&hdr, ts, pkt.pcap_cnt, src, sink);
        self.ctx
            .emit_app(&hdr, ts, Some(pkt.pcap_cnt), src, f.app_proto, sink);
    }

    /// An ICMPv4 error that quotes the packet it is about. Like Suricata, a destination
    /// unreachable about a TCP or UDP packet is counted in that packet's flow (when it exists);
    /// other errors form no flow.
    fn icmp_error(
        &mut self,
        ic: &Icmp,
        p: &Packet<'_>,
        pkt_len: usize,
        depth: u8,
        ts: Timestamp,
        sink: &mut impl EventSink,
    ) {
        let Some((es, esp, ed, edp, eproto)) = ic.embedded else {
            return;
        };
        let unreachable = if ic.v6 { ic.kind == 1 } else { ic.kind == 3 };
        if !unreachable || !matches!(eproto, 6 | 17) {
            return;
        }
        let (key, _) = FlowKey::canonical(es, esp, ed, edp, eproto, p.vlan, depth);
        let ctx = &mut self.ctx;
        let Some(idx) = self
            .flows
            .lookup(&key, ts, &mut |f, r| ctx.end_flow(f, r, sink))
        else {
            return;
        };
        if let Some(f) = self.flows.get_mut(idx) {
            let dir = if p.src == f.client {
                Direction::ToServer
            } else {
                Direction::ToClient
            };
            f.account(dir, pkt_len, ts, 0);
        }
        self.flows.touch(idx);
    }

    fn lookup_or_create(
        &mut self,
        key: &FlowKey,
        p: &Packet<'_>,
        sp: u16,
        dp: u16,
        ts: Timestamp,
        sink: &mut impl EventSink,
    ) -> (u32, bool) {
        let ctx = &mut self.ctx;
        if let Some(i) = self
            .flows
            .lookup(key, ts, &mut |f, r| ctx.end_flow(f, r, sink))
        {
            return (i, false);
        }
        let data = FlowData {
            tcp: TcpSession::new(),
            app: AppLayer::new(),
            community: None,
            detect: FlowDetect::default(),
        };
        let idx = self
            .flows
            .create(*key, p.src, sp, p.dst, dp, ts, data, &mut |f, r| {
                ctx.end_flow(f, r, sink)
            });
        (idx, true)
    }

    /// Ends every flow (end of input).
    pub fn finish(&mut self, sink: &mut impl EventSink) {
        let ctx = &mut self.ctx;
        self.flows.drain(&mut |f, r| ctx.end_flow(f, r, sink));
    }
}

/// The type an ICMP message is answered with (Suricata's "counterpart"), which makes a request
/// and its reply one flow.
fn icmp_counterpart(v6: bool, t: u8) -> Option<u8> {
    Some(if v6 {
        match t {
            128 => 129,
            129 => 128,
            130 => 131,
            131 => 130,
            133 => 134,
            134 => 133,
            135 => 136,
            136 => 135,
            139 => 140,
            140 => 139,
            144 => 145,
            145 => 144,
            _ => return None,
        }
    } else {
        match t {
            8 => 0,
            0 => 8,
            13 => 14,
            14 => 13,
            15 => 16,
            16 => 15,
            17 => 18,
            18 => 17,
            _ => return None,
        }
    })
}

/// The flow key of a packet and the ports stored for its client/server. ICMP messages use
/// their type as the source "port" and the type that answers it (0 when none) as the
/// destination "port", as Suricata does: a request and its reply are one flow, while the same
/// request sent the other way is another.
fn flow_key(p: &Packet<'_>, depth: u8) -> (FlowKey, u16, u16) {
    match &p.l4 {
        L4::Icmp(ic) => {
            let cp = icmp_counterpart(ic.v6, ic.kind).unwrap_or(0);
            let (key, _) = FlowKey::canonical(
                p.src,
                u16::from(ic.kind),
                p.dst,
                u16::from(cp),
                p.proto,
                p.vlan,
                depth,
            );
            (key, 0, 0)
        }
        _ if matches!(p.proto, 6 | 17 | 132) => {
            let (key, _) =
                FlowKey::canonical(p.src, p.sport, p.dst, p.dport, p.proto, p.vlan, depth);
            (key, p.sport, p.dport)
        }
        _ => {
            let (key, _) = FlowKey::canonical(p.src, 0, p.dst, 0, p.proto, p.vlan, depth);
            (key, 0, 0)
        }
    }
}

/// Direction of a packet in its flow, as Suricata decides it: by source port for TCP/UDP/SCTP
/// (by address when both ports are equal), by address for ICMP, and always to-server for other
/// protocols.
fn direction<T>(f: &Flow<T>, p: &Packet<'_>) -> Direction {
    let by_addr = || {
        if p.src == f.client {
            Direction::ToServer
        } else {
            Direction::ToClient
        }
    };
    match p.proto {
        6 | 17 | 132 => {
            if p.sport != p.dport {
                if p.sport == f.client_port {
                    Direction::ToServer
                } else {
                    Direction::ToClient
                }
            } else {
                by_addr()
            }
        }
        1 | 58 => by_addr(),
        _ => Direction::ToServer,
    }
}

fn community(settings: &Settings, f: &Flow<FlowData>) -> Option<String> {
    let seed = settings.community_id?;
    let (sp, dp) = match f.icmp[0] {
        Some((t, c)) => (u16::from(t), u16::from(c)),
        None => (f.client_port, f.server_port),
    };
    Some(flow::community_id(
        seed,
        f.client,
        sp,
        f.server,
        dp,
        f.key.proto,
    ))
}

/// Writes the engine's alerts for this packet as EVE events, with the transaction's app-layer
/// record when the alert is about one.
fn emit_alerts(
    det: &mut Detector,
    f: &mut Flow<FlowData>,
    ts: Timestamp,
    pcap_cnt: Option<u64>,
    src: PktSrc,
    pkt: Option<(AlertPacket<'_>, [u16; 2])>,
    sink: &mut impl EventSink,
) {
    if !det.alerts.is_empty() {
        f.alerted = true;
        let tcp = f.tuple().proto == 6;
        // Like Suricata, an alert shows the VLAN ids of its packet (the flow's own may be
        // none when VLANs are not used for tracking).
        let vlan = pkt.map_or(f.key.vlan, |(_, v)| v);
        let pkt = pkt.map(|(p, _)| p);
        let vars = det.vars_of(&f.user.detect);
        for a in &det.alerts {
            let app = det.app_of(a.tx_id);
            let payload = det.payload_of(a, Some(&f.user.detect), tcp, pkt);
            let ev = alert_event(
                a,
                ts,
                pcap_cnt,
                src,
                Some(&*f),
                None,
                vlan,
                app,
                payload,
                vars.clone(),
            );
            sink.emit(&ev);
        }
    }
    det.clear();
}

/// Routes one reassembled chunk to the flow's app layer.
fn dispatch(
    app: &mut AppLayer,
    reg: &Registry,
    dir: Direction,
    c: Chunk<'_>,
    ports: (u16, u16),
    out: &mut Vec<AppOutput>,
) {
    match c {
        Chunk::Data(b) => app.on_data(reg, dir, b, ports, out),
        Chunk::Gap(n) => app.on_gap(dir, n, out),
        Chunk::Eof => app.on_eof(reg, dir, out),
    }
}

impl Ctx {
    /// Signature inspection of a packet that has no flow (non-flow protocols).
    fn detect_flowless(
        &mut self,
        p: &Packet<'_>,
        src: PktSrc,
        pkt: &PacketIn<'_>,
        sink: &mut impl EventSink,
    ) {
        let Some(det) = self.det.as_mut() else {
            return;
        };
        let pv = packet_view(p, pkt.ts, None, &self.decode_names, &[], false);
        det.engine
            .inspect_packet(&pv, None, &mut det.th, &mut det.alerts);
        det.engine
            .finish_packet(&pv, None, &mut det.th, &mut det.alerts);
        let mut alerts = std::mem::take(&mut det.alerts);
        for a in &alerts {
            let tuple = Tuple {
                src: p.src,
                sport: p.sport,
                dst: p.dst,
                dport: p.dport,
                proto: p.proto,
            };
            let ap = AlertPacket {
                frame: pkt.data,
                linktype: pkt.linktype,
                payload: p.payload(),
            };
            let payload = det.payload_of(a, None, false, Some(ap));
            let ev = alert_event::<FlowData>(
                a,
                pkt.ts,
                Some(pkt.pcap_cnt),
                src,
                None,
                Some(tuple),
                p.vlan,
                None,
                payload,
                None,
            );
            sink.emit(&ev);
        }
        // Keep the allocation for the next packet.
        alerts.clear();
        det.alerts = alerts;
    }

    fn flush_stream_events(
        &mut self,
        hdr: &FlowHdr,
        ts: Timestamp,
        pcap_cnt: u64,
        src: PktSrc,
        sink: &mut impl EventSink,
    ) {
        if self.stream_events.is_empty() {
            return;
        }
        self.stats.stream_events += self.stream_events.len() as u64;
        if self.settings.anomaly.stream {
            for e in self.stream_events.drain(..) {
                let mut ev = Event::new(ts, Body::Anomaly(AnomalyEve::stream(e)));
                ev.flow_id = hdr.id;
                ev.pcap_cnt = Some(pcap_cnt);
                ev.tuple = Some(hdr.tuple);
                ev.vlan = hdr.vlan;
                ev.pkt_src = Some(src);
                ev.community_id.clone_from(&hdr.community);
                sink.emit(&ev);
            }
        }
        self.stream_events.clear();
    }

    fn emit_app(
        &mut self,
        hdr: &FlowHdr,
        ts: Timestamp,
        pcap_cnt: Option<u64>,
        src: PktSrc,
        app_proto: Option<&'static str>,
        sink: &mut impl EventSink,
    ) {
        for o in self.app_out.drain(..) {
            if matches!(o.body, Body::Anomaly(_)) {
                self.stats.applayer_events += 1;
                if !self.settings.anomaly.applayer {
                    continue;
                }
            }
            let app = match &o.body {
                Body::Fileinfo(_) => app_proto,
                Body::Anomaly(a) => a.app_proto,
                _ => None,
            };
            let ev = Event {
                ts,
                flow_id: hdr.id,
                pcap_cnt,
                tuple: Some(match o.dir {
                    Direction::ToServer => hdr.tuple,
                    Direction::ToClient => hdr.tuple.reversed(),
                }),
                vlan: hdr.vlan,
                pkt_src: Some(src),
                community_id: hdr.community.clone(),
                tx_id: o.tx_id,
                app_proto: app,
                direction: None,
                body: o.body,
            };
            sink.emit(&ev);
        }
    }

    /// Flushes a finished flow through reassembly and the app layer, then logs its record.
    fn end_flow(&mut self, mut f: Flow<FlowData>, reason: EndReason, sink: &mut impl EventSink) {
        let end = f.last;
        let tuple = f.tuple();
        let stream_size = f.user.tcp.stream_size();
        let views = |f: &Flow<FlowData>| {
            [Direction::ToServer, Direction::ToClient].map(|d| {
                let fv = flow_view(f, d, f.state != FlowState::New, end, stream_size);
                pseudo_view(&tuple, end, fv)
            })
        };
        let pvs = views(&f);
        {
            let ports = (f.client_port, f.server_port);
            let FlowData {
                tcp,
                app,
                detect: fdet,
                ..
            } = &mut f.user;
            let reg = &self.registry;
            let out = &mut self.app_out;
            let det = &mut self.det;
            if tcp.exists() {
                tcp.flush(&self.settings.stream, &mut self.pool, &mut |d, c| {
                    if let Some(dd) = det.as_mut() {
                        match &c {
                            Chunk::Data(b) => dd.stream_data(fdet, &pvs[d.idx()], d, b),
                            Chunk::Gap(n) => dd.stream_gap(fdet, &pvs[d.idx()], d, *n),
                            Chunk::Eof => {}
                        }
                    }
                    dispatch(app, reg, d, c, ports, out)
                });
            }
            app.flush(out);
            tcp.release(&mut self.pool);
        }
        if let Some(dd) = self.det.as_mut() {
            f.app_proto = f.user.app.app_proto();
            let pvs = views(&f);
            f.user.app.take_inspect(&mut self.inspect_out);
            dd.take_outputs(&mut f.user.detect, &pvs[0], &mut self.inspect_out);
            self.inspect_out.clear();
            dd.take_outputs(&mut f.user.detect, &pvs[0], &mut self.app_out);
            dd.take_events(&mut f.user.detect, &self.app_out);
            dd.flow_end(&mut f.user.detect, [&pvs[0], &pvs[1]]);
            emit_alerts(dd, &mut f, end, None, PktSrc::FlowTimeout, None, sink);
        }
        f.gaps = f.user.tcp.gaps();
        f.app_proto = f.user.app.app_proto();
        if self.settings.community_id.is_some() && f.user.community.is_none() {
            f.user.community = community(&self.settings, &f);
        }
        let mut hdr = FlowHdr::from(&f);
        hdr.community = f.user.community.clone();
        self.emit_app(&hdr, end, None, PktSrc::FlowTimeout, f.app_proto, sink);
        if !self.settings.log_flows {
            return;
        }
        let mut tuple = hdr.tuple;
        if let Some((t, c)) = f.icmp[0].or(f.icmp[1]) {
            tuple.sport = u16::from(t);
            tuple.dport = u16::from(c);
        }
        let rec = f.to_eve(reason);
        let ev = Event {
            ts: end,
            flow_id: f.id,
            pcap_cnt: None,
            tuple: Some(tuple),
            vlan: f.key.vlan,
            pkt_src: None,
            community_id: hdr.community,
            tx_id: None,
            app_proto: f.app_proto,
            direction: None,
            body: Body::Flow(Box::new(rec)),
        };
        self.stats.flows_logged += 1;
        sink.emit(&ev);
    }
}
