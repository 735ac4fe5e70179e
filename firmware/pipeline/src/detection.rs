//! Glue between the worker and the signature engine: what the engine is shown of a packet and
//! its flow, and how its alerts become EVE `alert` events.

use std::collections::VecDeque;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use decode::{Packet, L3, L4};
use detect::engine::{Alert, AlertSource, FlowView, PacketView};
use events::alert::{AlertEve, AlertFlow, AlertInfo, AlertPayloadEve, FlowVarsEve};
use events::app::AppOutput;
use events::inspect::TxBuffers;
use events::{Body, Event, PktSrc, Tuple};
use flow::Flow;
use types::{Direction, Timestamp};

/// Most transaction snapshots a flow keeps waiting for the packet that inspects them. Past
/// it the oldest is inspected at once, both ways, and dropped: nothing goes uninspected and
/// a flow of a million pipelined requests cannot hold a million snapshots.
pub(crate) const MAX_PENDING_TX: usize = 64;

/// Most reassembled bytes a flow direction holds for raw stream inspection. Suricata
/// inspects a direction's stream on the next packet of that direction; a direction that
/// accumulates more than this before such a packet (or before protocol detection ends) is
/// inspected at once.
pub(crate) const MAX_PENDING_RAW: usize = 256 * 1024;

/// Acknowledged, uninspected bytes a direction of a flow without an app-layer parser
/// gathers before its raw stream is inspected (Suricata's `stream.reassembly.
/// toserver-chunk-size` / `toclient-chunk-size`, 2560 in its shipped configuration). Flows
/// with a parser are inspected on every packet of the direction, as the parsers' progress
/// triggers Suricata's raw inspection; either way, what is left is inspected at flow end.
pub(crate) const RAW_CHUNK_SIZE: usize = 2560;

/// Most app-layer events kept per waiting transaction (and per flow for events whose
/// transaction has no snapshot yet); more are dropped.
pub(crate) const MAX_TX_EVENTS: usize = 32;

/// Most gaps a direction's pending stream bytes may contain; one more inspects them at once.
pub(crate) const MAX_PENDING_GAPS: usize = 64;

/// The engine's view of a flow at this packet.
pub(crate) fn flow_view<T>(
    f: &Flow<T>,
    dir: Direction,
    established: bool,
    ts: Timestamp,
    stream_size: Option<[u64; 2]>,
) -> FlowView {
    FlowView {
        dir,
        established,
        app_proto: f.app_proto,
        pkts: f.pkts,
        bytes: f.bytes,
        age_secs: ts.secs().saturating_sub(f.start.secs()),
        stream_size,
    }
}

/// The engine's view at flow end: no packet, the flow's tuple oriented as `fv.dir`.
pub(crate) fn pseudo_view(t: &Tuple, ts: Timestamp, fv: FlowView) -> PacketView<'static> {
    let (src, dst, sport, dport) = match fv.dir {
        Direction::ToServer => (t.src, t.dst, t.sport, t.dport),
        Direction::ToClient => (t.dst, t.src, t.dport, t.sport),
    };
    PacketView {
        ts,
        src,
        dst,
        sport,
        dport,
        proto: t.proto,
        ttl: 0,
        ip_proto: t.proto,
        tcp_flags: None,
        tcp_seq: 0,
        tcp_ack: 0,
        window: 0,
        icmp: None,
        payload: &[],
        tcp_header: &[],
        ipv6: !t.src.is_v4(),
        flow: Some(fv),
        decode_events: &[],
        stream_events: &[],
        applayer_events: &[],
        in_stream: true,
    }
}

/// The engine's view of a decoded packet.
pub(crate) fn packet_view<'a>(
    p: &Packet<'a>,
    ts: Timestamp,
    flow: Option<FlowView>,
    decode_events: &'a [&'static str],
    stream_events: &'a [&'static str],
    in_stream: bool,
) -> PacketView<'a> {
    let (ttl, ipv6) = match p.l3 {
        L3::V4 { ttl, .. } => (ttl, false),
        L3::V6 { hlim, .. } => (hlim, true),
        L3::None => (0, false),
    };
    let (tcp_flags, tcp_seq, tcp_ack, window, tcp_header) = match &p.l4 {
        L4::Tcp(t) => {
            let start = p.payload_offset.saturating_sub(usize::from(t.hlen));
            (
                Some(t.flags.0),
                t.seq,
                t.ack,
                t.window,
                p.data.get(start..p.payload_offset).unwrap_or_default(),
            )
        }
        _ => (None, 0, 0, 0, &[][..]),
    };
    let icmp = p.icmp().map(|i| (i.kind, i.code, i.id, i.seq));
    PacketView {
        ts,
        src: p.src,
        dst: p.dst,
        sport: p.sport,
        dport: p.dport,
        proto: p.proto,
        ttl,
        ip_proto: p.proto,
        tcp_flags,
        tcp_seq,
        tcp_ack,
        window,
        icmp,
        payload: p.payload(),
        tcp_header,
        ipv6,
        flow,
        decode_events,
        stream_events,
        applayer_events: &[],
        in_stream,
    }
}

/// App-layer metadata to attach to an alert on a transaction.
#[derive(Debug, Default, Clone)]
pub(crate) struct AlertApp {
    pub(crate) http: Option<events::http::HttpEve>,
    pub(crate) tls: Option<events::tls::TlsEve>,
}

/// Builds the EVE `alert` event for `a` on flow `f` (or a flowless packet oriented by
/// `tuple`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn alert_event<T>(
    a: &Alert,
    ts: Timestamp,
    pcap_cnt: Option<u64>,
    pkt_src: PktSrc,
    flow: Option<&Flow<T>>,
    tuple: Option<Tuple>,
    vlan: [u16; 2],
    app: Option<&AlertApp>,
    payload: Option<AlertPayloadEve>,
    vars: Option<FlowVarsEve>,
) -> Event {
    let info = AlertInfo {
        action: "allowed",
        gid: a.gid,
        signature_id: a.sid,
        rev: a.rev,
        signature: a.msg.to_string(),
        category: a.category.as_deref().unwrap_or_default().to_string(),
        severity: a.severity,
        metadata: a.metadata.as_ref().map(|m| m.as_ref().clone()),
    };
    let (tuple, flow_id, app_proto, flow_obj) = match flow {
        Some(f) => {
            let ports = f.tuple().has_ports();
            (
                Some(f.tuple_for(a.dir)),
                f.id,
                f.app_proto,
                Some(AlertFlow {
                    pkts_toserver: f.pkts[0],
                    pkts_toclient: f.pkts[1],
                    bytes_toserver: f.bytes[0],
                    bytes_toclient: f.bytes[1],
                    start: f.start.to_eve_string(),
                    src_ip: f.client.to_string(),
                    dest_ip: f.server.to_string(),
                    src_port: ports.then_some(f.client_port),
                    dest_port: ports.then_some(f.server_port),
                }),
            )
        }
        None => (tuple, 0, None, None),
    };
    let mut ev = Event::new(
        ts,
        Body::Alert(Box::new(AlertEve {
            alert: info,
            http: app.and_then(|x| x.http.clone()),
            tls: app.and_then(|x| x.tls.clone()),
            flow: flow_obj,
            payload,
            vars,
        })),
    );
    ev.flow_id = flow_id;
    ev.pcap_cnt = pcap_cnt;
    ev.tuple = tuple;
    ev.vlan = vlan;
    ev.pkt_src = Some(pkt_src);
    ev.tx_id = a.tx_id;
    ev.app_proto = app_proto.filter(|p| *p != "failed");
    ev.direction = flow.map(|_| a.dir);
    ev
}

/// A transaction snapshot whose sides wait for the packet that inspects them.
#[derive(Debug)]
struct PendingTx {
    id: u64,
    tx: Box<dyn TxBuffers>,
    /// Side inspected complete, per direction: nothing more to inspect that way.
    done: [bool; 2],
    /// The snapshot is newer than the last inspection of the side, per direction.
    fresh: [bool; 2],
    /// App-layer events the parser raised on this transaction (`app-layer-event`), at most
    /// MAX_TX_EVENTS.
    events: Vec<&'static str>,
    /// The app-layer record logged with an alert on this transaction.
    app: AlertApp,
}

/// A flow's detection state: the engine's per-flow state plus what waits to be inspected.
///
/// Suricata (IDS mode) inspects a direction's reassembled stream, and the side of a
/// transaction travelling that way, on the next packet of that direction; at flow end,
/// whatever is left is inspected both ways. Reassembly and the parsers produce data when
/// the peer acknowledges it, which is a packet of the *other* direction, so it waits here.
#[derive(Debug, Default)]
pub(crate) struct FlowDetect {
    pub(crate) state: detect::engine::FlowState,
    /// Reassembled bytes not yet inspected, per direction.
    raw: [Vec<u8>; 2],
    /// Gaps inside `raw`, per direction: (position in `raw`, bytes missing). Each
    /// contiguous piece is inspected on its own: no match spans a gap.
    gaps: [Vec<(usize, u64)>; 2],
    /// With alert payloads on: the last inspected window of each direction as an alert
    /// shows it (pieces joined by `[N bytes missing]`, at most `payload-buffer-size`).
    shown: [Vec<u8>; 2],
    pending: VecDeque<PendingTx>,
    /// The latest transaction id the parsers produced (stream alerts on app-layer flows
    /// carry it, as Suricata's do).
    last_tx: Option<u64>,
    /// App-layer events of transactions with no snapshot yet: (transaction, event).
    orphan_events: Vec<(Option<u64>, &'static str)>,
}

/// The engine and this worker's state for it.
#[derive(Debug)]
pub(crate) struct Detector {
    pub(crate) engine: Arc<detect::engine::Engine>,
    pub(crate) th: detect::engine::ThreadState,
    pub(crate) alerts: Vec<Alert>,
    /// Transaction records for the alerts of the packet being finished.
    apps: Vec<(u64, AlertApp)>,
    /// What alert records show besides the alert.
    pub(crate) payload: crate::config::AlertPayload,
}

/// The packet an alert is raised on, for its `payload` and `packet` fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AlertPacket<'a> {
    /// The whole frame, as captured.
    pub(crate) frame: &'a [u8],
    /// The capture's link type.
    pub(crate) linktype: u32,
    /// The packet's L4 payload.
    pub(crate) payload: &'a [u8],
}

impl Detector {
    pub(crate) fn new(
        engine: Arc<detect::engine::Engine>,
        payload: crate::config::AlertPayload,
    ) -> Detector {
        let th = detect::engine::ThreadState::new(&engine);
        Detector {
            engine,
            th,
            alerts: Vec::new(),
            apps: Vec::new(),
            payload,
        }
    }

    /// `len` bytes of `dir` are missing from the stream: the bytes after them are a new
    /// piece, inspected apart from those before.
    pub(crate) fn stream_gap(
        &mut self,
        fd: &mut FlowDetect,
        pv: &PacketView<'_>,
        dir: Direction,
        len: u64,
    ) {
        if fd.gaps[dir.idx()].len() >= MAX_PENDING_GAPS {
            self.flush_raw(fd, pv, dir);
        }
        let at = fd.raw[dir.idx()].len();
        fd.gaps[dir.idx()].push((at, len));
    }

    /// The flow's variables for its alerts (`traffic`, `metadata`), None when none is set.
    pub(crate) fn vars_of(&self, fd: &FlowDetect) -> Option<FlowVarsEve> {
        let m = self.engine.flow_metadata(&fd.state);
        if m.is_empty() {
            return None;
        }
        Some(FlowVarsEve {
            traffic_id: m.traffic_id,
            traffic_label: m.traffic_label,
            flowbits: m.flowbits,
            flowints: m.flowints,
        })
    }

    /// The `payload` fields of alert `a` (None when alert payloads are off): stream and
    /// transaction alerts on TCP show the direction's last inspected stream window, other
    /// alerts the packet's payload; `packet` shows the alerting packet's frame.
    pub(crate) fn payload_of(
        &self,
        a: &Alert,
        fd: Option<&FlowDetect>,
        tcp: bool,
        pkt: Option<AlertPacket<'_>>,
    ) -> Option<AlertPayloadEve> {
        let cfg = &self.payload;
        if !cfg.shows_data() && !cfg.packet {
            return None;
        }
        let mut out = AlertPayloadEve::default();
        if cfg.shows_data() {
            let stream = tcp && matches!(a.source, AlertSource::Stream | AlertSource::Tx);
            let data: &[u8] = if stream {
                fd.and_then(|f| f.shown.get(a.dir.idx()))
                    .map_or(&[][..], |v| v.as_slice())
            } else {
                pkt.map_or(&[][..], |p| p.payload)
            };
            if cfg.payload {
                out.base64 = Some(STANDARD.encode(data));
            }
            if cfg.printable {
                out.printable = Some(AlertPayloadEve::printable_of(data));
            }
            out.stream = Some(u8::from(stream));
        }
        if cfg.packet {
            out.packet = pkt.map(|p| (STANDARD.encode(p.frame), p.linktype));
        }
        Some(out)
    }

    /// Reassembled bytes of `dir`, kept for the next packet of that direction.
    pub(crate) fn stream_data(
        &mut self,
        fd: &mut FlowDetect,
        pv: &PacketView<'_>,
        dir: Direction,
        data: &[u8],
    ) {
        let raw = &mut fd.raw[dir.idx()];
        if raw.len() + data.len() > MAX_PENDING_RAW {
            self.flush_raw(fd, pv, dir);
            if data.len() > MAX_PENDING_RAW {
                self.engine.inspect_stream(
                    pv,
                    dir,
                    data,
                    &mut fd.state,
                    &mut self.th,
                    &mut self.alerts,
                );
                if self.payload.shows_data() {
                    let shown = &mut fd.shown[dir.idx()];
                    shown.clear();
                    shown.extend_from_slice(data.get(..self.payload.buffer_size).unwrap_or(data));
                }
                return;
            }
        }
        fd.raw[dir.idx()].extend_from_slice(data);
    }

    fn flush_raw(&mut self, fd: &mut FlowDetect, pv: &PacketView<'_>, dir: Direction) {
        let d = dir.idx();
        let mut raw = std::mem::take(&mut fd.raw[d]);
        let mut gaps = std::mem::take(&mut fd.gaps[d]);
        if raw.is_empty() && gaps.is_empty() {
            fd.raw[d] = raw;
            fd.gaps[d] = gaps;
            return;
        }
        // Each contiguous piece at its stream offset; a gap skips the offsets it lacks.
        let mut offset = fd.state.stream_offset(dir);
        let mut start = 0usize;
        for &(at, missing) in gaps.iter().chain(std::iter::once(&(raw.len(), 0))) {
            let piece = raw.get(start..at).unwrap_or_default();
            if !piece.is_empty() {
                self.engine.inspect_stream_at(
                    pv,
                    dir,
                    offset,
                    piece,
                    &mut fd.state,
                    &mut self.th,
                    &mut self.alerts,
                );
            }
            offset = offset
                .saturating_add(piece.len() as u64)
                .saturating_add(missing);
            start = at.max(start);
        }
        fd.state.set_stream_offset(dir, offset);
        if self.payload.shows_data() {
            let cap = self.payload.buffer_size;
            let shown = &mut fd.shown[d];
            shown.clear();
            let mut start = 0usize;
            for &(at, missing) in &gaps {
                shown.extend_from_slice(raw.get(start..at).unwrap_or_default());
                shown.extend_from_slice(format!("[{missing} bytes missing]").as_bytes());
                start = at.max(start);
                if shown.len() >= cap {
                    break;
                }
            }
            shown.extend_from_slice(raw.get(start..).unwrap_or_default());
            shown.truncate(cap);
        }
        // Keep the allocations for the next bytes.
        raw.clear();
        gaps.clear();
        fd.raw[d] = raw;
        fd.gaps[d] = gaps;
    }

    /// Takes the transaction snapshots out of the parsers' outputs.
    pub(crate) fn take_outputs(
        &mut self,
        fd: &mut FlowDetect,
        pv: &PacketView<'_>,
        outs: &mut [AppOutput],
    ) {
        for o in outs.iter_mut() {
            let Some(id) = o.tx_id else { continue };
            fd.last_tx = Some(fd.last_tx.map_or(id, |l| l.max(id)));
            let Some(tx) = o.inspect.take() else { continue };
            let mut app = AlertApp::default();
            match &o.body {
                Body::Http(h) => app.http = Some(h.as_ref().clone()),
                Body::Tls(t) => {
                    app.tls = Some(tx.alert_tls().unwrap_or(t).clone());
                }
                _ => {}
            }
            // A later snapshot of a waiting transaction (its request first, then the whole
            // transaction) replaces the earlier one; the sides already inspected stay done.
            if let Some(t) = fd.pending.iter_mut().find(|t| t.id == id) {
                t.tx = tx;
                t.app = app;
                t.fresh = [true; 2];
                continue;
            }
            if fd.pending.len() >= MAX_PENDING_TX {
                if let Some(old) = fd.pending.pop_front() {
                    self.inspect_rest(fd, [pv, pv], old);
                }
            }
            // Events raised before the snapshot existed.
            let mut events = Vec::new();
            fd.orphan_events.retain(|(t, e)| {
                if t.is_none_or(|t| t == id) {
                    events.push(*e);
                    false
                } else {
                    true
                }
            });
            fd.pending.push_back(PendingTx {
                id,
                tx,
                done: [false; 2],
                fresh: [true; 2],
                events,
                app,
            });
        }
    }

    /// Files the app-layer events among `outs` with their transactions (a waiting one, or
    /// the flow's orphans until its snapshot comes); an event without a transaction goes
    /// with the latest one.
    pub(crate) fn take_events(&mut self, fd: &mut FlowDetect, outs: &[AppOutput]) {
        for o in outs {
            let Body::Anomaly(a) = &o.body else { continue };
            if a.kind != "applayer" {
                continue;
            }
            let id = o.tx_id.or(fd.last_tx);
            match fd.pending.iter_mut().find(|t| Some(t.id) == id) {
                Some(t) if t.events.len() < MAX_TX_EVENTS => {
                    t.events.push(a.event);
                    t.fresh = [true; 2];
                }
                Some(_) => {}
                None if fd.orphan_events.len() < MAX_TX_EVENTS => {
                    fd.orphan_events.push((id, a.event));
                }
                None => {}
            }
        }
    }

    /// Inspects the sides of `t` not inspected yet, both ways: side `d` as seen from
    /// `views[d]`.
    fn inspect_rest(&mut self, fd: &mut FlowDetect, views: [&PacketView<'_>; 2], t: PendingTx) {
        for d in [Direction::ToServer, Direction::ToClient] {
            if !t.done[d.idx()] {
                let pv = &PacketView {
                    applayer_events: &t.events,
                    ..*views[d.idx()]
                };
                self.engine.inspect_tx_dir(
                    pv,
                    t.tx.as_ref(),
                    t.id,
                    d,
                    &mut fd.state,
                    &mut self.th,
                    &mut self.alerts,
                );
            }
        }
        self.apps.push((t.id, t.app));
    }

    /// Inspection of one packet of a flow: the stream and transaction sides waiting for
    /// this direction (the stream once protocol detection is over), then the packet.
    /// Leaves the alerts, finished, in `self.alerts`.
    pub(crate) fn packet(
        &mut self,
        fd: &mut FlowDetect,
        pv: &PacketView<'_>,
        detection_done: bool,
    ) {
        let Some(fv) = pv.flow else { return };
        let dir = fv.dir;
        let first_alert = self.alerts.len();
        let parsed = fv.app_proto.is_some_and(|p| p != "failed");
        if detection_done && (parsed || fd.raw[dir.idx()].len() >= RAW_CHUNK_SIZE) {
            self.flush_raw(fd, pv, dir);
        }
        for t in fd.pending.iter_mut() {
            let d = dir.idx();
            // A side is inspected once its head is in and again with each newer snapshot
            // until it is complete; the engine never repeats a rule's alert on a side. Not
            // before the handshake is over (a request in a TCP Fast Open SYN): Suricata
            // retries such a transaction's rules on later packets, so `flow:established`
            // rules still see it.
            if fv.established && !t.done[d] && t.fresh[d] && t.tx.ready(dir) {
                t.fresh[d] = false;
                t.done[d] = t.tx.complete(dir);
                let pv = &PacketView {
                    applayer_events: &t.events,
                    ..*pv
                };
                self.engine.inspect_tx(
                    pv,
                    t.tx.as_ref(),
                    t.id,
                    &mut fd.state,
                    &mut self.th,
                    &mut self.alerts,
                );
            }
        }
        self.set_stream_tx(fd, first_alert, fv.app_proto);
        self.engine
            .inspect_packet(pv, Some(&mut fd.state), &mut self.th, &mut self.alerts);
        self.engine
            .finish_packet(pv, Some(&mut fd.state), &mut self.th, &mut self.alerts);
        self.collect_apps(fd);
        fd.pending.retain(|t| !(t.done[0] && t.done[1]));
    }

    /// Flow end: every stream byte and transaction side left, both ways.
    pub(crate) fn flow_end(&mut self, fd: &mut FlowDetect, views: [&PacketView<'_>; 2]) {
        let app_proto = views[0].flow.and_then(|f| f.app_proto);
        for d in [Direction::ToServer, Direction::ToClient] {
            let first = self.alerts.len();
            self.flush_raw(fd, views[d.idx()], d);
            self.set_stream_tx(fd, first, app_proto);
        }
        while let Some(t) = fd.pending.pop_front() {
            self.inspect_rest(fd, views, t);
        }
        self.engine.finish_packet(
            views[0],
            Some(&mut fd.state),
            &mut self.th,
            &mut self.alerts,
        );
    }

    /// Stream matches on an app-layer flow carry the flow's current transaction id.
    fn set_stream_tx(&mut self, fd: &FlowDetect, from: usize, app_proto: Option<&str>) {
        if app_proto.is_none_or(|p| p == "failed") {
            return;
        }
        for a in self.alerts.iter_mut().skip(from) {
            if a.source == AlertSource::Stream && a.tx_id.is_none() {
                a.tx_id = fd.last_tx;
            }
        }
    }

    /// Keeps the records of the transactions this packet's alerts are about.
    fn collect_apps(&mut self, fd: &FlowDetect) {
        for a in &self.alerts {
            let Some(id) = a.tx_id else { continue };
            if self.apps.iter().any(|(i, _)| *i == id) {
                continue;
            }
            if let Some(t) = fd.pending.iter().find(|t| t.id == id) {
                self.apps.push((id, t.app.clone()));
            }
        }
    }

    /// The record of transaction `id` for an alert of this packet.
    pub(crate) fn app_of(&self, id: Option<u64>) -> Option<&AlertApp> {
        let id = id?;
        self.apps.iter().find(|(i, _)| *i == id).map(|(_, a)| a)
    }

    /// Ends a packet: drops the records kept for its alerts.
    pub(crate) fn clear(&mut self) {
        self.alerts.clear();
        self.apps.clear();
    }
}
