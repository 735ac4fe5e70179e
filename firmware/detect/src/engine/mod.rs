//! The signature matching engine: compiled rules, signature groups with multi-pattern
//! prefilters, and the per-packet / per-stream-chunk / per-transaction inspection the
//! pipeline drives.
//!
//! ## Contract with the pipeline
//!
//! For every packet the pipeline calls, in any order and as applicable:
//!
//! * [`Engine::inspect_packet`] once (packet rules, IP-only rules on the first packet of each
//!   flow direction, protocol-detection-only rules once per direction, and payload rules on
//!   packets whose payload is not part of a reassembled TCP stream);
//! * [`Engine::inspect_stream`] / [`Engine::inspect_stream_at`] with the reassembled bytes of a
//!   TCP direction that became inspectable on this packet (payload rules of TCP flows);
//! * [`Engine::inspect_tx`] for each app-layer transaction to inspect on this packet (the
//!   side travelling in the packet's direction);
//!
//! all appending raw matches to one `Vec<Alert>`, then [`Engine::finish_packet`] exactly once,
//! which orders the matches like Suricata (rule order), applies pass rules, thresholds,
//! suppressions, `noalert` and `packet-alert-max`, and leaves only the alerts to log.
//!
//! ## Semantics (Suricata 7.0.10)
//!
//! * Rules are evaluated in Suricata's order: action (pass, drop, reject, alert), then rules
//!   that set flowbits/flowints/xbits before those that read them, then priority, then load
//!   order. A flowbit set by a full match is visible to rules evaluated after it on the same
//!   packet.
//! * IP-only rules run on the first packet of each flow direction (every packet without a
//!   flow); `app-layer-protocol`-only rules run once per direction once the protocol is known.
//! * A transaction rule alerts at most once per transaction and direction; a stream rule only
//!   alerts on a match that ends in bytes not inspected before; a packet rule at most once per
//!   packet (`<>` rules included).
//! * A pass rule that matches drops every other alert of the packet; when it matched on the
//!   stream, a transaction or IP-only, detection stops for the whole flow.
//!
//! ## What the pipeline must feed, and when (for parity with Suricata 7.0.10)
//!
//! * [`PacketView`] for every decoded packet, with `flow` set for packets of a flow, the
//!   flow direction, `established` (TCP: after the handshake; UDP: both sides seen),
//!   `app_proto` once detected, `stream_size` for TCP, ICMP id/seq for echo, timestamp,
//!   information and address-mask messages, and `in_stream` = the payload went into TCP
//!   reassembly. Tunnel inner packets are packets of their own.
//! * [`Engine::inspect_stream`] when Suricata inspects raw stream data: in IDS mode a
//!   direction's stream is inspected on a packet of that direction once the data is
//!   acknowledged, and not before app-layer protocol detection is done (or failed) — on a
//!   flow whose protocol is never detected that is the flow end. One inspection covers all
//!   new bytes, so a rule alerts at most once per inspection, however many occurrences.
//! * [`Engine::inspect_tx`] for each transaction side the parser progressed, on the next
//!   packet of that side's direction (Suricata inspects a to-server side on to-server
//!   packets), and at flow end with pseudo packets for both directions
//!   ([`Engine::inspect_tx_dir`]).
//! * Stream alerts on flows with an app-layer parser carry the flow's current transaction
//!   id in Suricata's EVE (`tx_id`); the engine leaves `tx_id` empty for stream matches
//!   ([`AlertSource::Stream`]) so the pipeline can fill it.
//!
//! ## Known differences from Suricata
//!
//! * Threshold, detection_filter and xbits tables are per worker thread (Suricata shares
//!   them): with several workers, `by_src`/`by_dst` counts are split across workers.
//! * Rules with a payload block and app-layer buffers inspect the packet payload at
//!   transaction time.
//! * `asn1`, `ftpbounce`, pcre capture variables (`pkt:`/`flow:` vars), and keywords the
//!   parser keeps untyped (rare protocols, `tos`, `id`, ...) are not evaluated: such rules
//!   are disabled and listed in [`BuildInfo::disabled`] (5 of the 24,827 ET Open rules).
//! * Header buffers other than `tcp.hdr` (`ipv4.hdr`, `udp.hdr`, ...) are not provided.
//! * `flow:only_frag` never matches, `no_frag` always does.
//! * `rate_filter` entries of threshold.config are ignored.
//!
//! ## Caps
//!
//! See [`crate::caps`]: recursion limit 3,000 calls per buffer inspection, 15 alerts per
//! packet, 512 flowbits and 128 flowints per flow, 64 transaction records per flow, 65,536
//! threshold and xbits entries per worker, 1,024 instances per multi-buffer, 1M entries per
//! dataset, 64 port groups per bucket. Every cap hit is counted in [`EngineStats`].
//!
//! ## Never
//!
//! No panic, no unbounded growth and no unbounded time on any packet, stream or transaction
//! content: positions are checked, regexes carry match limits, backtracking is bounded.

pub(crate) mod compile;
pub(crate) mod dataset;
pub(crate) mod group;
pub(crate) mod inspect;
pub(crate) mod iponly;
pub(crate) mod state;
pub(crate) mod transform;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use events::inspect::TxBuffers;
use types::{Addr, Direction, Timestamp};

use crate::ast::{Action, AppProto, Buffer, Tag, Target, Threshold, Transform};
use crate::buffers::BufKind;
use crate::caps::{INSPECTION_RECURSION_LIMIT, MAX_BUFFER_INSTANCES, PACKET_ALERT_MAX};
use crate::config::{SuppressTrack, ThresholdEntry};
use crate::loader::LoadReport;
use crate::netexpr::AddrSet;

use compile::{CCond, CPost, CRule, FlowintVal, Kind};
use group::{Groups, PortIndex};
pub use inspect::InspectStats;
pub use state::{EngineStats, FlowState};

/// Default [`EngineConfig::prefilter_dfa_max_patterns`]. Measured on ET Open (24,827 rules,
/// synthetic HTTP/DNS/TLS/binary mix): NFA-only 48k items/s and +109 MiB; DFA up to 100
/// patterns 58k/s, +167 MiB; up to 1,000 patterns 62k/s, +227 MiB; up to 5,000 60k/s,
/// +338 MiB. 1,000 buys most of the speed for ~120 MiB.
pub const DFA_MAX_PATTERNS: usize = 1000;

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Most alerts logged per packet (Suricata `packet-alert-max`, default 15).
    pub packet_alert_max: usize,
    /// Calls allowed per buffer inspection (`detect.inspection-recursion-limit`, 3000).
    pub inspection_recursion_limit: u32,
    /// `classification.config` (class name -> (description, priority)): alert `category`
    /// and default severity. Rules parsed with a classification file already carry their
    /// priority.
    pub classifications: Option<Arc<HashMap<String, (String, u8)>>>,
    /// `threshold.config` entries: `suppress` and `threshold`/`event_filter` (which replace
    /// a rule's own threshold); `rate_filter` is not applied.
    pub thresholds: Vec<ThresholdEntry>,
    /// Prefilter automata with at most this many patterns are built as DFAs (faster scans,
    /// ~10 KiB per pattern), larger ones as compact NFAs.
    pub prefilter_dfa_max_patterns: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            packet_alert_max: PACKET_ALERT_MAX,
            inspection_recursion_limit: INSPECTION_RECURSION_LIMIT,
            classifications: None,
            thresholds: Vec::new(),
            prefilter_dfa_max_patterns: DFA_MAX_PATTERNS,
        }
    }
}

/// What the flow layer knows about the packet's flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowView {
    /// Direction of the packet relative to the flow's initiator.
    pub dir: Direction,
    /// TCP: three-way handshake completed; UDP and others: both sides seen.
    pub established: bool,
    /// Detected app-layer protocol (`http`, `http2`, `tls`, `dns`, ..., `failed`).
    pub app_proto: Option<&'static str>,
    /// Packets seen per direction (index [`Direction::idx`]).
    pub pkts: [u64; 2],
    /// Bytes seen per direction.
    pub bytes: [u64; 2],
    /// Seconds since the flow's first packet.
    pub age_secs: u64,
    /// TCP only: Suricata's `stream_size` value per direction, the next expected sequence
    /// number minus the initial one (payload bytes + 1 for the SYN); `None` for other flows
    /// (`stream_size` then never matches).
    pub stream_size: Option<[u64; 2]>,
}

/// What the pipeline knows about one packet.
#[derive(Debug, Clone, Copy)]
pub struct PacketView<'a> {
    /// Capture time.
    pub ts: Timestamp,
    /// Source address.
    pub src: Addr,
    /// Destination address.
    pub dst: Addr,
    /// Source port (0 without ports).
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Transport protocol (the flow's protocol: 6, 17, 1, 58, ...).
    pub proto: u8,
    /// IPv4 TTL / IPv6 hop limit.
    pub ttl: u8,
    /// The IP header's protocol field (IPv6: the last next-header), for `ip_proto`.
    pub ip_proto: u8,
    /// TCP flags, for TCP packets.
    pub tcp_flags: Option<u8>,
    /// TCP sequence number.
    pub tcp_seq: u32,
    /// TCP acknowledgement number.
    pub tcp_ack: u32,
    /// TCP window.
    pub window: u16,
    /// ICMP (type, code, id, seq); id/seq for echo-like messages.
    pub icmp: Option<(u8, u8, Option<u16>, Option<u16>)>,
    /// Transport payload.
    pub payload: &'a [u8],
    /// The TCP header bytes (`tcp.hdr`), empty otherwise.
    pub tcp_header: &'a [u8],
    /// IPv6 packet.
    pub ipv6: bool,
    /// The packet's flow, if it has one.
    pub flow: Option<FlowView>,
    /// Decoder events of the packet (Suricata names without the `decoder.` prefix).
    pub decode_events: &'a [&'static str],
    /// Stream events raised on this packet (without the `stream.` prefix).
    pub stream_events: &'a [&'static str],
    /// App-layer events raised while processing this packet, full names (`http.xxx`,
    /// `applayer.xxx`, `tls.xxx`), for `app-layer-event`.
    pub applayer_events: &'a [&'static str],
    /// The payload was added to TCP reassembly (Suricata's `PKT_STREAM_ADD`): payload rules
    /// then see it only through [`Engine::inspect_stream`], not as a packet.
    pub in_stream: bool,
}

/// Where a match came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AlertSource {
    /// Packet fields or payload.
    Packet,
    /// Reassembled stream bytes (Suricata logs the flow's current transaction id with these
    /// when the flow has an app-layer parser).
    Stream,
    /// An app-layer transaction.
    Tx,
    /// An IP-only or protocol-detection-only rule.
    Flow,
}

/// One alert (or, before [`Engine::finish_packet`], one raw match).
#[derive(Debug, Clone)]
pub struct Alert {
    /// Signature id.
    pub sid: u32,
    /// Generator id.
    pub gid: u32,
    /// Revision.
    pub rev: u32,
    /// `msg`.
    pub msg: Arc<str>,
    /// Classification description.
    pub category: Option<Arc<str>>,
    /// Priority (EVE `severity`).
    pub severity: u8,
    /// The rule's action.
    pub action: Action,
    /// `metadata` key -> values.
    pub metadata: Option<Arc<BTreeMap<String, Vec<String>>>>,
    /// Transaction of a transaction match.
    pub tx_id: Option<u64>,
    /// The side whose data matched.
    pub dir: Direction,
    /// Raw matches of `noalert` rules and pass rules carry `true`; `finish_packet` removes
    /// them.
    pub noalert: bool,
    /// What was inspected.
    pub source: AlertSource,
    /// Position of the rule in evaluation order (Suricata's internal signature number).
    pub num: u32,
    /// The rule's `tag`, recorded only.
    pub tag: Option<Arc<Tag>>,
    /// The rule's `target`.
    pub target: Option<Target>,
}

/// Facts about a built engine.
#[derive(Debug, Default, Clone)]
pub struct BuildInfo {
    /// Rules compiled (including disabled ones).
    pub rules: usize,
    /// Rules that never match, with their sid and the reason.
    pub disabled: Vec<(u32, String)>,
    /// Rules per kind: ip-only, pd-only, packet, stream, transaction.
    pub kinds: [usize; 5],
    /// Signature groups built.
    pub groups: usize,
    /// Prefilter automata built.
    pub prefilters: usize,
    /// Distinct prefilter patterns over all automata.
    pub patterns: usize,
    /// Rules without a fast pattern.
    pub no_fast_pattern: usize,
    /// Approximate heap bytes of the prefilter automata.
    pub prefilter_bytes: usize,
    /// Build time in milliseconds.
    pub build_ms: u128,
}

/// An input being inspected.
#[derive(Clone, Copy)]
enum Input<'a> {
    Packet,
    Stream(&'a [u8], Direction),
    Tx(&'a dyn TxBuffers, Direction),
}

/// (category, transport class, direction bucket).
type BucketKey = (u8, u8, u8);

/// A rule in a bucket with its server-side port set (`None`: any).
type BucketEntry<'a> = (u32, Option<&'a crate::ranges::RangeSet<u16>>);

const CAT_PACKET: u8 = 0;
const CAT_STREAM: u8 = 1;
/// Stream rules inspected on packets whose payload is not in a TCP stream.
const CAT_PKT_STREAM: u8 = 2;
const CAT_TX: u8 = 3;

/// App-layer protocols a flow can carry, for transaction buckets.
const APP_CLASSES: &[AppProto] = &[
    AppProto::Http,
    AppProto::Http1,
    AppProto::Http2,
    AppProto::Ftp,
    AppProto::FtpData,
    AppProto::Smtp,
    AppProto::Tls,
    AppProto::Ssh,
    AppProto::Imap,
    AppProto::Smb,
    AppProto::Dcerpc,
    AppProto::Dns,
    AppProto::Nfs,
    AppProto::Ntp,
    AppProto::Tftp,
    AppProto::Ike,
    AppProto::Krb5,
    AppProto::Quic,
    AppProto::Dhcp,
    AppProto::Snmp,
    AppProto::Sip,
    AppProto::Rfb,
    AppProto::Mqtt,
    AppProto::Telnet,
    AppProto::Rdp,
    AppProto::BittorrentDht,
    AppProto::Modbus,
    AppProto::Enip,
    AppProto::Dnp3,
    AppProto::Pgsql,
];

/// The transaction class of app protocol `p` (index into [`APP_CLASSES`] + 1; 0 is the
/// class of rules bound to no protocol).
fn class_of(p: AppProto) -> u8 {
    APP_CLASSES
        .iter()
        .position(|&c| c == p)
        .and_then(|i| u8::try_from(i + 1).ok())
        .unwrap_or(0)
}

/// The transaction classes whose rules may inspect a flow of protocol `name`: its own, the
/// protocol-less class, `http` for HTTP/1 and HTTP/2 flows, `dcerpc` for SMB flows.
fn flow_classes(name: Option<&str>) -> ([u8; 3], usize) {
    let Some(p) = flow_app(name) else {
        return ([0, 0, 0], 1);
    };
    let own = class_of(p);
    match p {
        AppProto::Http1 | AppProto::Http2 => ([own, class_of(AppProto::Http), 0], 3),
        AppProto::Smb => ([own, class_of(AppProto::Dcerpc), 0], 3),
        _ if own == 0 => ([0, 0, 0], 1),
        _ => ([own, 0, 0], 2),
    }
}

/// Whether a rule bound to `rule` may inspect a flow of protocol `flow`.
fn app_compatible(rule: AppProto, flow: AppProto) -> bool {
    use AppProto::*;
    rule == flow
        || matches!(
            (rule, flow),
            (Http, Http1 | Http2) | (Http1, Http) | (Http, Http) | (Dcerpc, Smb)
        )
}

fn flow_app(name: Option<&str>) -> Option<AppProto> {
    match name {
        Some("http" | "http1") => Some(AppProto::Http1),
        Some(n) => AppProto::from_name(n).map(|x| x.0),
        None => None,
    }
}

fn proto_class(p: u8) -> u8 {
    match p {
        6 => 0,
        17 => 1,
        _ => 2,
    }
}

/// Suppression from threshold.config.
#[derive(Debug)]
struct Suppress {
    gid: u32,
    sid: u32,
    track: Option<(SuppressTrack, AddrSet)>,
}

/// Per-inspection cache of (transformed) buffer instances.
#[derive(Debug, Default)]
struct BufCache {
    epoch: u32,
    slots: Vec<(u32, Vec<Vec<u8>>)>,
    tmp: Vec<u8>,
}

/// Per-worker scratch and tables. Create one per worker thread with [`ThreadState::new`].
#[derive(Debug)]
pub struct ThreadState {
    /// Counters of this worker.
    pub stats: EngineStats,
    mark: Vec<u32>,
    epoch: u32,
    pat_done: Vec<u32>,
    pat_epoch: u32,
    cands: Vec<u32>,
    vars: Vec<u64>,
    b64: Vec<u8>,
    cache: BufCache,
    tables: state::Tables,
}

impl ThreadState {
    /// Scratch sized for `engine`.
    pub fn new(engine: &Engine) -> ThreadState {
        ThreadState {
            stats: EngineStats::default(),
            mark: vec![0; engine.rules.len()],
            epoch: 0,
            pat_done: Vec::new(),
            pat_epoch: 0,
            cands: Vec::new(),
            vars: vec![0; engine.max_vars],
            b64: Vec::new(),
            cache: BufCache {
                epoch: 0,
                slots: (0..engine.bufs.len()).map(|_| (0, Vec::new())).collect(),
                tmp: Vec::new(),
            },
            tables: state::Tables::default(),
        }
    }

    fn next_epoch(&mut self) -> u32 {
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.mark.iter_mut().for_each(|m| *m = 0);
            self.epoch = 1;
        }
        self.epoch
    }

    fn next_pat_epoch(&mut self) -> u32 {
        self.pat_epoch = self.pat_epoch.wrapping_add(1);
        if self.pat_epoch == 0 {
            self.pat_done.iter_mut().for_each(|m| *m = 0);
            self.pat_epoch = 1;
        }
        self.pat_epoch
    }

    fn new_cache_epoch(&mut self) {
        self.cache.epoch = self.cache.epoch.wrapping_add(1);
        if self.cache.epoch == 0 {
            self.cache.slots.iter_mut().for_each(|s| s.0 = 0);
            self.cache.epoch = 1;
        }
    }
}

/// The compiled rule set. Immutable once built except for datasets (shared, locked);
/// `Send + Sync`, share it between workers with an `Arc`.
#[derive(Debug)]
pub struct Engine {
    rules: Vec<CRule>,
    groups: Groups,
    index: HashMap<BucketKey, PortIndex>,
    iponly: iponly::IpIndex,
    pdonly: Vec<u32>,
    bufs: Vec<(Buffer, Vec<Transform>)>,
    datasets: dataset::Store,
    packet_alert_max: usize,
    recursion_limit: u32,
    suppress: Vec<Suppress>,
    th_override: HashMap<(u32, u32), Threshold>,
    max_vars: usize,
    info: BuildInfo,
    needs_buffers: bool,
    /// Flowbit and flowint names by id, for EVE `metadata`.
    flowbit_names: Vec<String>,
    flowint_names: Vec<String>,
}

/// A flow's variables as Suricata's EVE `metadata` and `traffic` objects show them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowMetadata {
    /// Set flowbits, except the `traffic/id/*` and `traffic/label/*` ones.
    pub flowbits: Vec<String>,
    /// Flowints: (name, value).
    pub flowints: Vec<(String, u32)>,
    /// `traffic/id/NAME` flowbits: the names.
    pub traffic_id: Vec<String>,
    /// `traffic/label/NAME` flowbits: the names.
    pub traffic_label: Vec<String>,
}

impl FlowMetadata {
    /// Nothing to show.
    pub fn is_empty(&self) -> bool {
        self.flowbits.is_empty()
            && self.flowints.is_empty()
            && self.traffic_id.is_empty()
            && self.traffic_label.is_empty()
    }
}

/// Translates a flow's detection state from the engine it was built with to a newer one (a
/// rule reload): flowbits and flowints by name, per-transaction alert records and per-flow
/// thresholds by (gid, sid). Variables and rules the new set does not have are dropped;
/// stream positions and what was already inspected carry over, so no byte is inspected twice
/// and none is skipped.
#[derive(Debug)]
pub struct StateMap {
    bits: Vec<Option<u32>>,
    ints: Vec<Option<u32>>,
    rules: Vec<Option<u32>>,
}

fn id_map(old: &[String], new: &[String]) -> Vec<Option<u32>> {
    let by_name: HashMap<&str, u32> = new
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i as u32))
        .collect();
    old.iter()
        .map(|n| by_name.get(n.as_str()).copied())
        .collect()
}

impl StateMap {
    /// Rewrites `st` (built by the old engine) for the new one.
    pub fn apply(&self, st: &mut FlowState) {
        let map = |m: &[Option<u32>], id: u32| m.get(id as usize).copied().flatten();
        let mut bits: Vec<u32> = st.bits.iter().filter_map(|&b| map(&self.bits, b)).collect();
        bits.sort_unstable();
        bits.dedup();
        st.bits = bits;
        let mut ints: Vec<(u32, u32)> = st
            .ints
            .iter()
            .filter_map(|&(i, v)| map(&self.ints, i).map(|n| (n, v)))
            .collect();
        ints.sort_unstable_by_key(|&(i, _)| i);
        ints.dedup_by_key(|&mut (i, _)| i);
        st.ints = ints;
        for (_, _, rules) in st.tx.iter_mut() {
            let mut r: Vec<u32> = rules.iter().filter_map(|&n| map(&self.rules, n)).collect();
            r.sort_unstable();
            r.dedup();
            *rules = r;
        }
        st.thresholds = std::mem::take(&mut st.thresholds)
            .into_iter()
            .filter_map(|(n, e)| map(&self.rules, n).map(|m| (m, e)))
            .collect();
    }
}

fn names_by_id(map: &HashMap<String, u32>) -> Vec<String> {
    let mut v = vec![String::new(); map.len()];
    for (name, &id) in map {
        if let Some(slot) = v.get_mut(id as usize) {
            slot.clone_from(name);
        }
    }
    v
}

impl Engine {
    /// How to carry flow state built by `old` over to this engine.
    pub fn state_map_from(&self, old: &Engine) -> StateMap {
        let by_sid: HashMap<(u32, u32), u32> = self
            .rules
            .iter()
            .map(|r| ((r.meta.gid, r.meta.sid), r.num))
            .collect();
        let mut rules = vec![None; old.rules.len()];
        for r in &old.rules {
            if let Some(slot) = rules.get_mut(r.num as usize) {
                *slot = by_sid.get(&(r.meta.gid, r.meta.sid)).copied();
            }
        }
        StateMap {
            bits: id_map(&old.flowbit_names, &self.flowbit_names),
            ints: id_map(&old.flowint_names, &self.flowint_names),
            rules,
        }
    }

    /// The flow's flowbits and flowints by name (EVE `metadata`), `traffic/id/` and
    /// `traffic/label/` flowbits apart (EVE `traffic`), as Suricata 7 writes them.
    pub fn flow_metadata(&self, fs: &FlowState) -> FlowMetadata {
        let mut m = FlowMetadata::default();
        for &id in &fs.bits {
            let Some(name) = self.flowbit_names.get(id as usize) else {
                continue;
            };
            if let Some(t) = name.strip_prefix("traffic/id/") {
                m.traffic_id.push(t.to_string());
            } else if let Some(t) = name.strip_prefix("traffic/label/") {
                m.traffic_label.push(t.to_string());
            } else {
                m.flowbits.push(name.clone());
            }
        }
        for &(id, v) in &fs.ints {
            if let Some(name) = self.flowint_names.get(id as usize) {
                m.flowints.push((name.clone(), v));
            }
        }
        m
    }

    /// Compile every rule of `report` and build the signature groups.
    pub fn build(report: &LoadReport, cfg: &EngineConfig) -> Engine {
        Self::build_from(report.rules.iter(), cfg)
    }

    /// [`Engine::build`] from rules given up: each parsed rule is dropped as soon as it is
    /// compiled, so the parsed set and the engine are never both whole in memory.
    pub fn build_owned(rules: Vec<crate::ast::Rule>, cfg: &EngineConfig) -> Engine {
        Self::build_from(rules.into_iter(), cfg)
    }

    fn build_from<R: std::borrow::Borrow<crate::ast::Rule>>(
        parsed: impl Iterator<Item = R>,
        cfg: &EngineConfig,
    ) -> Engine {
        let t0 = Instant::now();
        let mut ctx = compile::Ctx {
            classifications: cfg.classifications.clone(),
            ..compile::Ctx::default()
        };
        let mut rules: Vec<CRule> = parsed
            .enumerate()
            .map(|(i, r)| compile::compile(r.borrow(), i, &mut ctx))
            .collect();
        rules.sort_by_key(|r| r.order);
        for (i, r) in rules.iter_mut().enumerate() {
            r.num = u32::try_from(i).unwrap_or(u32::MAX);
        }
        let mut info = BuildInfo {
            rules: rules.len(),
            ..BuildInfo::default()
        };
        let mut groups = Groups::default();
        groups.dfa_max = cfg.prefilter_dfa_max_patterns;
        let mut index = HashMap::new();
        let (mut iponly, mut pdonly) = (Vec::new(), Vec::new());
        // Bucket entries: key -> (num, server-side port set).
        let mut buckets: HashMap<BucketKey, Vec<BucketEntry<'_>>> = HashMap::new();
        let mut needs_buffers = false;
        for r in &rules {
            if let Some(d) = &r.disabled {
                info.disabled.push((r.meta.sid, d.clone()));
                continue;
            }
            let k = match r.kind {
                Kind::IpOnly => 0,
                Kind::PdOnly => 1,
                Kind::Packet => 2,
                Kind::Stream => 3,
                Kind::Tx => 4,
            };
            if let Some(c) = info.kinds.get_mut(k) {
                *c += 1;
            }
            if r.fast.is_none() && matches!(r.kind, Kind::Packet | Kind::Stream | Kind::Tx) {
                info.no_fast_pattern += 1;
            }
            let mut cats: Vec<u8> = Vec::new();
            match r.kind {
                Kind::IpOnly => {
                    iponly.push(r.num);
                    continue;
                }
                Kind::PdOnly => {
                    pdonly.push(r.num);
                    continue;
                }
                Kind::Packet => cats.push(CAT_PACKET),
                Kind::Stream => {
                    cats.push(CAT_STREAM);
                    if r.flow.also_packet && !r.flow.only_stream {
                        // Inspected on every packet, in the stream or not.
                        cats.push(CAT_PACKET);
                    } else if !r.flow.only_stream {
                        cats.push(CAT_PKT_STREAM);
                    }
                }
                Kind::Tx => {
                    needs_buffers = true;
                    cats.push(CAT_TX + r.app.map(class_of).unwrap_or(0));
                }
            }
            let pclasses: Vec<u8> = [
                (0u8, r.header.proto_ok(6)),
                (1, r.header.proto_ok(17)),
                (
                    2,
                    (0..=255u8).any(|p| p != 6 && p != 17 && r.header.proto_ok(p)),
                ),
            ]
            .iter()
            .filter(|(_, ok)| *ok)
            .map(|(c, _)| *c)
            .collect();
            for &cat in &cats {
                let dirs: &[u8] = if matches!(cat, CAT_PACKET | CAT_PKT_STREAM) {
                    &[0, 1, 2]
                } else {
                    &[0, 1]
                };
                for &d in dirs {
                    let ok = match d {
                        0 => !r.flow.to_client,
                        1 => !r.flow.to_server,
                        _ => !(r.flow.to_server || r.flow.to_client || r.flow.established),
                    };
                    if !ok {
                        continue;
                    }
                    for &pc in &pclasses {
                        if cat == CAT_STREAM && pc != 0 {
                            continue;
                        }
                        let e = buckets.entry((cat, pc, d)).or_default();
                        if pc == 2 {
                            e.push((r.num, None));
                            continue;
                        }
                        // Server-side port: dport for to-server/flowless, sport for to-client.
                        let (fwd, rev) = if d == 1 {
                            (r.header.sp.as_ref(), r.header.dp.as_ref())
                        } else {
                            (r.header.dp.as_ref(), r.header.sp.as_ref())
                        };
                        e.push((r.num, fwd));
                        if r.header.bidir {
                            e.push((r.num, rev));
                        }
                    }
                }
            }
        }
        let iponly_index = iponly::IpIndex::build(&rules, &iponly);
        let mut keys: Vec<BucketKey> = buckets.keys().copied().collect();
        keys.sort_unstable();
        for k in keys {
            let entries = buckets.get(&k).map(Vec::as_slice).unwrap_or(&[]);
            let pi = groups.bucket(entries, &rules);
            index.insert(k, pi);
        }
        info.groups = groups.groups.len();
        for g in &groups.groups {
            info.prefilters += g.pfs.len();
            for p in &g.pfs {
                info.patterns += p.patterns();
                info.prefilter_bytes += p.memory();
            }
        }
        let max_vars = rules.iter().map(|r| r.nvars).max().unwrap_or(0);

        let mut suppress = Vec::new();
        let mut th_override = HashMap::new();
        for e in &cfg.thresholds {
            match e {
                ThresholdEntry::Suppress { gid, sid, track } => {
                    let track = match track {
                        Some((t, text)) => {
                            match crate::netexpr::parse_address(
                                text.as_bytes(),
                                &crate::vars::Vars::default(),
                            ) {
                                Ok(spec) => Some((*t, spec.set)),
                                Err(_) => continue,
                            }
                        }
                        None => None,
                    };
                    suppress.push(Suppress {
                        gid: *gid,
                        sid: *sid,
                        track,
                    });
                }
                ThresholdEntry::Threshold {
                    gid,
                    sid,
                    threshold,
                } => {
                    th_override.insert((*gid, *sid), *threshold);
                }
                _ => {}
            }
        }
        info.build_ms = t0.elapsed().as_millis();
        Engine {
            bufs: std::mem::take(&mut ctx.bufs),
            datasets: dataset::Store::load(std::mem::take(&mut ctx.datasets)),
            rules,
            groups,
            index,
            iponly: iponly_index,
            pdonly,
            packet_alert_max: cfg.packet_alert_max,
            recursion_limit: cfg.inspection_recursion_limit,
            suppress,
            th_override,
            max_vars,
            info,
            needs_buffers,
            flowbit_names: names_by_id(&ctx.flowbits.map),
            flowint_names: names_by_id(&ctx.flowints.map),
        }
    }

    /// Number of rules compiled (including disabled ones).
    pub fn rules(&self) -> usize {
        self.rules.len()
    }

    /// True when some enabled rule inspects app-layer transactions (parsers must attach
    /// [`TxBuffers`]).
    pub fn needs_buffers(&self) -> bool {
        self.needs_buffers
    }

    /// Whether some enabled rule inspects a buffer whose Suricata name satisfies `pred`
    /// (`ja3.hash` and friends: the TLS parser computes JA3/JA4 only when asked, as
    /// Suricata's `ja3-fingerprints: auto` does).
    pub fn uses_buffer(&self, pred: impl Fn(&str) -> bool) -> bool {
        self.rules
            .iter()
            .filter(|r| r.disabled.is_none())
            .flat_map(|r| r.blocks.iter().chain(r.b64.iter()))
            .any(|b| pred(b.buffer.name()))
    }

    /// Facts about the build (disabled rules, groups, prefilter sizes, build time).
    pub fn info(&self) -> &BuildInfo {
        &self.info
    }

    /// Every prefilter's buffer name and patterns (lower-cased, matched without case), for
    /// benchmarks and debugging.
    #[doc(hidden)]
    pub fn prefilter_patterns(&self) -> Vec<(&'static str, Vec<Vec<u8>>)> {
        let mut out = Vec::new();
        for g in &self.groups.groups {
            for pf in &g.pfs {
                let name = self
                    .bufs
                    .get(usize::from(pf.buf_id))
                    .map(|b| b.0.name())
                    .unwrap_or("?");
                out.push((name, pf.keys().to_vec()));
            }
        }
        out
    }

    /// Write datasets that have a `state` or `save` file (call at shutdown, like Suricata).
    pub fn save_datasets(&self) -> (Vec<std::path::PathBuf>, Vec<String>) {
        self.datasets.save()
    }

    /// (additions refused because a dataset was full, unparsable dataset file lines).
    pub fn dataset_counters(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering;
        (
            self.datasets.full.load(Ordering::Relaxed),
            self.datasets.bad_lines.load(Ordering::Relaxed),
        )
    }

    fn group_cands(
        &self,
        key: BucketKey,
        port: u16,
        input: Input<'_>,
        p: &PacketView<'_>,
        th: &mut ThreadState,
    ) {
        let Some(pi) = self.index.get(&key) else {
            return;
        };
        for g in pi.lookup(port).into_iter().flatten() {
            if let Some(g) = self.groups.groups.get(g as usize) {
                self.group_scan(g, input, p, th);
            }
        }
    }

    fn group_scan(
        &self,
        g: &group::Group,
        input: Input<'_>,
        p: &PacketView<'_>,
        th: &mut ThreadState,
    ) {
        let epoch = th.epoch;
        for pf in &g.pfs {
            self.fill(pf.buf_id, input, p, th);
            let pe = th.next_pat_epoch();
            let ThreadState {
                mark,
                pat_done,
                cands,
                cache,
                ..
            } = th;
            for hay in self.instances(pf.buf_id, input, p, cache) {
                pf.scan(hay, pe, mark, pat_done, cands);
            }
            let _ = epoch;
        }
        for &n in &g.nopf {
            if let Some(m) = th.mark.get_mut(n as usize) {
                if *m != epoch {
                    *m = epoch;
                    th.cands.push(n);
                }
            }
        }
    }

    fn push_cand(th: &mut ThreadState, n: u32) {
        let epoch = th.epoch;
        if let Some(m) = th.mark.get_mut(n as usize) {
            if *m != epoch {
                *m = epoch;
                th.cands.push(n);
            }
        }
    }

    /// Fill the cache slot of `buf_id` for this inspection, if it needs one.
    fn fill(&self, buf_id: u16, input: Input<'_>, p: &PacketView<'_>, th: &mut ThreadState) {
        let Some((buffer, transforms)) = self.bufs.get(usize::from(buf_id)) else {
            return;
        };
        let direct = transforms.is_empty() && !matches!(input, Input::Tx(..));
        if direct {
            return;
        }
        let epoch = th.cache.epoch;
        let BufCache { slots, tmp, .. } = &mut th.cache;
        let Some(slot) = slots.get_mut(usize::from(buf_id)) else {
            return;
        };
        if slot.0 == epoch {
            return;
        }
        slot.0 = epoch;
        let out = &mut slot.1;
        out.clear();
        let mut push = |raw: &[u8], stats: &mut EngineStats| {
            let mut v = Vec::new();
            let (ok, trunc) = transform::apply_all(transforms, raw, &mut v, tmp);
            if !ok {
                stats.inspect.pcre_limit += 1;
            }
            if trunc {
                stats.transform_truncated += 1;
            }
            out.push(v);
        };
        match (buffer.def().kind, input) {
            (BufKind::App, Input::Tx(tx, dir)) => {
                let name = buffer.name();
                for idx in 0..=MAX_BUFFER_INSTANCES {
                    let Some(b) = tx.buffer(name, dir, idx) else {
                        break;
                    };
                    if idx == MAX_BUFFER_INSTANCES {
                        th.stats.buffer_instances_capped += 1;
                        break;
                    }
                    push(&b, &mut th.stats);
                }
            }
            (BufKind::Payload, Input::Stream(d, _)) => push(d, &mut th.stats),
            (BufKind::Payload, _) => push(p.payload, &mut th.stats),
            (BufKind::Packet, _) if *buffer == Buffer::TcpHdr && !p.tcp_header.is_empty() => {
                push(p.tcp_header, &mut th.stats)
            }
            _ => {}
        }
    }

    /// The instances of `buf_id` for this inspection (after `fill`).
    fn instances<'x>(
        &'x self,
        buf_id: u16,
        input: Input<'x>,
        p: &PacketView<'x>,
        cache: &'x BufCache,
    ) -> Insts<'x> {
        let Some((buffer, transforms)) = self.bufs.get(usize::from(buf_id)) else {
            return Insts::None;
        };
        if transforms.is_empty() && !matches!(input, Input::Tx(..)) {
            return match (buffer, input) {
                (Buffer::Payload, Input::Stream(d, _)) => Insts::One(d),
                (Buffer::Payload, _) => Insts::One(p.payload),
                (Buffer::TcpHdr, _) if !p.tcp_header.is_empty() => Insts::One(p.tcp_header),
                _ => Insts::None,
            };
        }
        match cache.slots.get(usize::from(buf_id)) {
            Some((e, v)) if *e == cache.epoch => Insts::Many(v),
            _ => Insts::None,
        }
    }

    /// Packet-level inspection; see the module docs.
    pub fn inspect_packet(
        &self,
        p: &PacketView<'_>,
        mut flow: Option<&mut FlowState>,
        th: &mut ThreadState,
        out: &mut Vec<Alert>,
    ) {
        if flow.as_ref().is_some_and(|f| f.passed) {
            return;
        }
        th.next_epoch();
        th.new_cache_epoch();
        th.cands.clear();
        let dir = p.flow.map(|f| f.dir);
        // IP-only: first packet of each flow direction.
        let run_iponly = match (dir, flow.as_deref_mut()) {
            (Some(d), Some(f)) => {
                let done = f.iponly_done.get(d.idx()).copied().unwrap_or(true);
                if let Some(x) = f.iponly_done.get_mut(d.idx()) {
                    *x = true;
                }
                !done
            }
            _ => true,
        };
        if run_iponly {
            self.iponly.lookup(p.src, p.dst, |n| Self::push_cand(th, n));
        }
        if let (Some(d), Some(fv)) = (dir, p.flow) {
            if fv.app_proto.is_some() {
                if let Some(f) = flow.as_deref_mut() {
                    let done = f.pd_done.get(d.idx()).copied().unwrap_or(true);
                    if !done {
                        if let Some(x) = f.pd_done.get_mut(d.idx()) {
                            *x = true;
                        }
                        for &n in &self.pdonly {
                            Self::push_cand(th, n);
                        }
                    }
                }
            }
        }
        let dbucket = match dir {
            Some(Direction::ToServer) => 0,
            Some(Direction::ToClient) => 1,
            None => 2,
        };
        let port = if dir == Some(Direction::ToClient) {
            p.sport
        } else {
            p.dport
        };
        self.group_cands(
            (CAT_PACKET, proto_class(p.proto), dbucket),
            port,
            Input::Packet,
            p,
            th,
        );
        if !(p.in_stream && p.proto == 6) {
            self.group_cands(
                (CAT_PKT_STREAM, proto_class(p.proto), dbucket),
                port,
                Input::Packet,
                p,
                th,
            );
        }
        th.cands.sort_unstable();
        let cands = std::mem::take(&mut th.cands);
        let adir = dir.unwrap_or(Direction::ToServer);
        for &n in &cands {
            let Some(r) = self.rules.get(n as usize) else {
                continue;
            };
            if r.kind == Kind::Stream
                && (r.flow.only_stream || (p.in_stream && p.proto == 6 && !r.flow.also_packet))
            {
                continue;
            }
            if self
                .eval(r, p, Input::Packet, 0, flow.as_deref_mut(), th)
                .is_some()
            {
                let src = if matches!(r.kind, Kind::IpOnly | Kind::PdOnly) {
                    AlertSource::Flow
                } else {
                    AlertSource::Packet
                };
                out.push(self.alert(r, None, adir, src));
            }
        }
        th.cands = cands;
    }

    /// Inspect the next reassembled bytes of TCP direction `dir`, contiguous with what was
    /// inspected before on this flow (see [`Engine::inspect_stream_at`] for overlapping
    /// windows).
    pub fn inspect_stream(
        &self,
        p: &PacketView<'_>,
        dir: Direction,
        data: &[u8],
        flow: &mut FlowState,
        th: &mut ThreadState,
        out: &mut Vec<Alert>,
    ) {
        let off = flow.stream_next.get(dir.idx()).copied().unwrap_or(0);
        self.inspect_stream_at(p, dir, off, data, flow, th, out);
    }

    /// Inspect stream bytes of direction `dir` starting at absolute stream offset `offset`.
    /// The window may overlap bytes inspected before (so matches can cross segment
    /// boundaries); a match is reported only when it ends in bytes not inspected before.
    #[allow(clippy::too_many_arguments)]
    pub fn inspect_stream_at(
        &self,
        p: &PacketView<'_>,
        dir: Direction,
        offset: u64,
        data: &[u8],
        flow: &mut FlowState,
        th: &mut ThreadState,
        out: &mut Vec<Alert>,
    ) {
        let end_abs = offset.saturating_add(u64::try_from(data.len()).unwrap_or(u64::MAX));
        let di = dir.idx();
        let inspected = flow.stream_inspected.get(di).copied().unwrap_or(0);
        if let Some(n) = flow.stream_next.get_mut(di) {
            *n = (*n).max(end_abs);
        }
        if let Some(s) = flow.stream_inspected.get_mut(di) {
            *s = (*s).max(end_abs);
        }
        if flow.passed || data.is_empty() || end_abs <= inspected {
            return;
        }
        th.next_epoch();
        th.new_cache_epoch();
        th.cands.clear();
        let server_port = match p.flow.map(|f| f.dir) {
            Some(Direction::ToClient) => p.sport,
            _ => p.dport,
        };
        let dbucket = match dir {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        };
        let input = Input::Stream(data, dir);
        let min_end = usize::try_from(inspected.saturating_sub(offset)).unwrap_or(usize::MAX);
        self.group_cands((CAT_STREAM, 0, dbucket), server_port, input, p, th);
        th.cands.sort_unstable();
        let cands = std::mem::take(&mut th.cands);
        for &n in &cands {
            let Some(r) = self.rules.get(n as usize) else {
                continue;
            };
            if let Some(end) = self.eval(r, p, input, min_end, Some(&mut *flow), th) {
                let end = if end == 0 { data.len() } else { end };
                let m_end = offset.saturating_add(u64::try_from(end).unwrap_or(u64::MAX));
                if m_end > inspected {
                    out.push(self.alert(r, None, dir, AlertSource::Stream));
                }
            }
        }
        th.cands = cands;
    }

    /// Inspect the side of transaction `tx_id` travelling in the packet's direction.
    pub fn inspect_tx(
        &self,
        p: &PacketView<'_>,
        tx: &dyn TxBuffers,
        tx_id: u64,
        flow: &mut FlowState,
        th: &mut ThreadState,
        out: &mut Vec<Alert>,
    ) {
        let Some(fv) = p.flow else {
            return;
        };
        self.inspect_tx_dir(p, tx, tx_id, fv.dir, flow, th, out);
    }

    /// Inspect side `dir` of a transaction, whatever the packet's direction (flow end).
    #[allow(clippy::too_many_arguments)]
    pub fn inspect_tx_dir(
        &self,
        p: &PacketView<'_>,
        tx: &dyn TxBuffers,
        tx_id: u64,
        dir: Direction,
        flow: &mut FlowState,
        th: &mut ThreadState,
        out: &mut Vec<Alert>,
    ) {
        if flow.passed {
            return;
        }
        th.next_epoch();
        th.new_cache_epoch();
        th.cands.clear();
        let fdir = p.flow.map(|f| f.dir).unwrap_or(Direction::ToServer);
        let server_port = if fdir == Direction::ToClient {
            p.sport
        } else {
            p.dport
        };
        let (classes, nclasses) = flow_classes(Some(tx.app_proto()));
        let dbucket = match dir {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        };
        let input = Input::Tx(tx, dir);
        for &class in classes.get(..nclasses).unwrap_or(&[]) {
            self.group_cands(
                (CAT_TX + class, proto_class(p.proto), dbucket),
                server_port,
                input,
                p,
                th,
            );
        }
        th.cands.sort_unstable();
        let cands = std::mem::take(&mut th.cands);
        let d8 = u8::try_from(dir.idx()).unwrap_or(0);
        for &n in &cands {
            let Some(r) = self.rules.get(n as usize) else {
                continue;
            };
            if flow.tx_alerted(tx_id, d8, n) {
                continue;
            }
            if self.eval(r, p, input, 0, Some(&mut *flow), th).is_some() {
                flow.tx_record(tx_id, d8, n, &mut th.stats);
                out.push(self.alert(r, Some(tx_id), dir, AlertSource::Tx));
            }
        }
        th.cands = cands;
    }

    /// Finish a packet: order the raw matches in `out` like Suricata, apply pass rules
    /// (a pass match removes every alert of the packet, and of the flow when it matched on
    /// the stream, a transaction or IP-only), suppressions, thresholds and
    /// detection_filters, drop `noalert` matches and keep at most `packet-alert-max`.
    pub fn finish_packet(
        &self,
        p: &PacketView<'_>,
        mut flow: Option<&mut FlowState>,
        th: &mut ThreadState,
        out: &mut Vec<Alert>,
    ) {
        if out.is_empty() {
            return;
        }
        out.sort_by(|a, b| a.num.cmp(&b.num).then(b.tx_id.cmp(&a.tx_id)));
        out.dedup_by(|a, b| a.num == b.num && a.tx_id == b.tx_id);
        let raw = std::mem::take(out);
        for a in raw {
            let Some(r) = self.rules.get(a.num as usize) else {
                continue;
            };
            if r.action == Action::Pass {
                if a.source != AlertSource::Packet {
                    if let Some(f) = flow.as_deref_mut() {
                        f.passed = true;
                    }
                }
                out.clear();
                return;
            }
            if self.suppressed(r, p) {
                th.stats.alerts_suppressed += 1;
                continue;
            }
            let th_rule = self
                .th_override
                .get(&(r.meta.gid, r.meta.sid))
                .or(r.threshold.as_ref())
                .or(r.detection_filter.as_ref())
                .or_else(|| {
                    self.th_override
                        .get(&(r.meta.gid, 0))
                        .or_else(|| self.th_override.get(&(0, 0)))
                });
            if let Some(t) = th_rule {
                let keep = th.tables.threshold(
                    a.num,
                    t,
                    p.src,
                    p.dst,
                    p.ts,
                    flow.as_deref_mut(),
                    &mut th.stats,
                );
                if !keep {
                    th.stats.alerts_suppressed += 1;
                    continue;
                }
            }
            if a.noalert {
                continue;
            }
            if out.len() >= self.packet_alert_max {
                th.stats.alerts_discarded += 1;
                continue;
            }
            out.push(a);
        }
    }

    fn suppressed(&self, r: &CRule, p: &PacketView<'_>) -> bool {
        self.suppress.iter().any(|s| {
            (s.gid == 0 || s.gid == r.meta.gid)
                && (s.sid == 0 || s.sid == r.meta.sid)
                && match &s.track {
                    None => true,
                    Some((t, set)) => {
                        let src = set.contains(p.src.ip());
                        let dst = set.contains(p.dst.ip());
                        match t {
                            SuppressTrack::BySrc => src,
                            SuppressTrack::ByDst => dst,
                            _ => src || dst,
                        }
                    }
                }
        })
    }

    fn alert(&self, r: &CRule, tx_id: Option<u64>, dir: Direction, source: AlertSource) -> Alert {
        let m = &r.meta;
        Alert {
            sid: m.sid,
            gid: m.gid,
            rev: m.rev,
            msg: m.msg.clone(),
            category: m.category.clone(),
            severity: m.severity,
            action: r.action,
            metadata: m.metadata.clone(),
            tx_id,
            dir,
            noalert: r.noalert,
            source,
            num: r.num,
            tag: m.tag.clone(),
            target: m.target,
        }
    }

    /// Header, flow, conditions and buffers of one rule; on a full match runs the
    /// post-match actions and returns the end of the match in the inspected data.
    fn eval(
        &self,
        r: &CRule,
        p: &PacketView<'_>,
        input: Input<'_>,
        min_end: usize,
        mut flow: Option<&mut FlowState>,
        th: &mut ThreadState,
    ) -> Option<usize> {
        if r.disabled.is_some() {
            return None;
        }
        th.stats.rules_evaluated += 1;
        let pdir = p.flow.map(|f| f.dir);
        // Data direction and the addresses/ports oriented that way.
        let ddir = match input {
            Input::Stream(_, d) | Input::Tx(_, d) => Some(d),
            Input::Packet => pdir,
        };
        let swapped = matches!((pdir, ddir), (Some(a), Some(b)) if a != b);
        let (src, dst, sp, dp) = if swapped {
            (p.dst, p.src, p.dport, p.sport)
        } else {
            (p.src, p.dst, p.sport, p.dport)
        };
        let h = &r.header;
        if !h.proto_ok(p.proto) || (p.ipv6 && !h.v6) || (!p.ipv6 && !h.v4) {
            return None;
        }
        let has_ports = matches!(p.proto, 6 | 17 | 132);
        if !has_ports && !h.ports_any() {
            return None;
        }
        let side_ok = |a: Addr, b: Addr, pa: u16, pb: u16| {
            h.src.as_ref().is_none_or(|s| s.contains(a.ip()))
                && h.dst.as_ref().is_none_or(|s| s.contains(b.ip()))
                && (!has_ports
                    || (h.sp.as_ref().is_none_or(|s| s.contains(pa))
                        && h.dp.as_ref().is_none_or(|s| s.contains(pb))))
        };
        if !(side_ok(src, dst, sp, dp) || (h.bidir && side_ok(dst, src, dp, sp))) {
            return None;
        }
        // flow keyword.
        let f = &r.flow;
        let fv = p.flow;
        if f.to_server && ddir != Some(Direction::ToServer) {
            return None;
        }
        if f.to_client && ddir != Some(Direction::ToClient) {
            return None;
        }
        if f.established && !fv.is_some_and(|v| v.established) {
            return None;
        }
        if f.not_established && fv.is_some_and(|v| v.established) {
            return None;
        }
        if f.only_stream && !matches!(input, Input::Stream(..)) {
            return None;
        }
        if f.no_stream && matches!(input, Input::Stream(..)) {
            return None;
        }
        if f.only_frag {
            return None;
        }
        if let Some(a) = r.app {
            let fa = flow_app(fv.and_then(|v| v.app_proto))?;
            if !app_compatible(a, fa) {
                return None;
            }
        }
        let tx = match input {
            Input::Tx(t, _) => Some(t),
            _ => None,
        };
        for c in &r.conds {
            if !self.cond(c, p, src, dst, fv, flow.as_deref(), tx, th) {
                return None;
            }
        }
        // Buffers.
        for b in &r.blocks {
            self.fill(b.buf_id, input, p, th);
        }
        let ThreadState {
            vars,
            b64,
            cache,
            stats,
            ..
        } = th;
        let mut end = 0usize;
        {
            let nv = r.nvars.min(vars.len());
            let mut ctx = inspect::Ctx {
                vars: vars.get_mut(..nv).unwrap_or(&mut []),
                limit: self.recursion_limit,
                calls: 0,
                discontinue: false,
                datasets: &self.datasets,
                b64: r.b64.as_ref(),
                b64_buf: b64,
                stats: &mut stats.inspect,
                match_end: 0,
                min_end: 0,
            };
            for b in &r.blocks {
                ctx.min_end = if b.buffer == Buffer::Payload {
                    min_end
                } else {
                    0
                };
                // Suricata: payload keywords never match a packet without payload.
                if b.buffer == Buffer::Payload
                    && matches!(input, Input::Packet)
                    && p.payload.is_empty()
                {
                    return None;
                }
                let mut matched = false;
                for hay in self.instances(b.buf_id, input, p, cache) {
                    if inspect::inspect(&b.items, hay, &mut ctx) {
                        matched = true;
                        if b.buffer == Buffer::Payload {
                            end = end.max(ctx.match_end);
                        }
                        break;
                    }
                }
                if !matched {
                    return None;
                }
            }
        }
        // Post-match.
        th.stats.matches += 1;
        for pm in &r.post {
            match pm {
                CPost::Flowbits(cmd, ids) => {
                    if let Some(fs) = flow.as_deref_mut() {
                        fs.bits_apply(*cmd, ids, &mut th.stats);
                    }
                }
                CPost::Flowint { id, op, value } => {
                    let Some(fs) = flow.as_deref_mut() else {
                        continue;
                    };
                    let v = match value {
                        FlowintVal::Lit(n) => Some(*n),
                        FlowintVal::Var(o) => fs.int(*o),
                    };
                    let Some(v) = v else { continue };
                    let cur = fs.int(*id);
                    let new = match op {
                        crate::ast::FlowintOp::Set => v,
                        crate::ast::FlowintOp::Add => cur.unwrap_or(0).saturating_add(v),
                        crate::ast::FlowintOp::Sub => cur.unwrap_or(0).saturating_sub(v),
                        _ => continue,
                    };
                    fs.int_set(*id, new, &mut th.stats);
                }
                CPost::Xbits {
                    cmd,
                    id,
                    track,
                    expire,
                } => {
                    let k = state::x_key(*id, *track, src, dst);
                    th.tables
                        .xbit_apply(*cmd, k, *expire, p.ts.secs(), &mut th.stats);
                }
            }
        }
        Some(end)
    }

    #[allow(clippy::too_many_arguments)]
    fn cond(
        &self,
        c: &CCond,
        p: &PacketView<'_>,
        src: Addr,
        dst: Addr,
        fv: Option<FlowView>,
        fs: Option<&FlowState>,
        tx: Option<&dyn TxBuffers>,
        th: &ThreadState,
    ) -> bool {
        use inspect::num_check;
        let num = |name: &str| tx.and_then(|t| t.number(name));
        let dir = p.flow.map(|f| f.dir).unwrap_or(Direction::ToServer);
        let num_dir = |name: &str| tx.and_then(|t| t.number_dir(name, dir));
        match c {
            CCond::Flowbits(b) => match fs {
                Some(f) => f.bits_check(&b.ids, b.group, b.isset),
                None => !b.isset,
            },
            CCond::Xbits { id, track, isset } => {
                th.tables
                    .xbit_isset(&state::x_key(*id, *track, src, dst), p.ts.secs())
                    == *isset
            }
            CCond::FlowintCmp { id, op, value } => {
                let Some(f) = fs else { return false };
                let Some(a) = f.int(*id) else { return false };
                let b = match value {
                    FlowintVal::Lit(n) => Some(*n),
                    FlowintVal::Var(o) => f.int(*o),
                };
                b.is_some_and(|b| op.eval(u64::from(a), u64::from(b)))
            }
            CCond::FlowintIsSet(id, set) => fs.and_then(|f| f.int(*id)).is_some() == *set,
            CCond::Dsize(n) => num_check(n, u64::try_from(p.payload.len()).unwrap_or(u64::MAX)),
            CCond::Ttl(n) => num_check(n, u64::from(p.ttl)),
            CCond::Itype(n) => p.icmp.is_some_and(|i| num_check(n, u64::from(i.0))),
            CCond::Icode(n) => p.icmp.is_some_and(|i| num_check(n, u64::from(i.1))),
            CCond::IcmpId(v) => p.icmp.is_some_and(|i| i.2 == Some(*v)),
            CCond::IcmpSeq(v) => p.icmp.is_some_and(|i| i.3 == Some(*v)),
            CCond::IpProto(op, n) => match op {
                None => p.ip_proto == *n,
                Some('!') => p.ip_proto != *n,
                Some('<') => p.ip_proto < *n,
                Some('>') => p.ip_proto > *n,
                _ => false,
            },
            CCond::TcpFlags(t) => {
                let Some(fl) = p.tcp_flags else { return false };
                let fl = fl & !t.mask;
                match t.modifier {
                    Some('*') => fl & t.flags != 0,
                    Some('+') => fl & t.flags == t.flags,
                    Some('!') => fl & t.flags != t.flags,
                    _ => fl == t.flags,
                }
            }
            CCond::StreamSize { side, op, value } => {
                let Some(ss) = fv.and_then(|v| v.stream_size) else {
                    return false;
                };
                let client = ss.first().copied().unwrap_or(0);
                let server = ss.get(1).copied().unwrap_or(0);
                match side {
                    0 => op.eval(server, *value),
                    1 => op.eval(client, *value),
                    2 => op.eval(server, *value) && op.eval(client, *value),
                    _ => op.eval(server, *value) || op.eval(client, *value),
                }
            }
            CCond::AppLayerProtocol(neg, name) => {
                let Some(a) = fv.and_then(|v| v.app_proto) else {
                    return false;
                };
                let eq = a == name.as_str()
                    || (name == "http" && matches!(a, "http1" | "http2"))
                    || (name == "http1" && a == "http");
                eq != *neg
            }
            CCond::AppLayerEvent(e) => {
                // `proto.event_name` (or a bare detection event): the event of that name
                // on a flow of that protocol, names compared without case (parsers report
                // `DOUBLE_ENCODED_URI`, rules say `http.double_encoded_uri`).
                let (proto, name) = match e.split_once('.') {
                    Some((pr, n)) => (Some(pr), n),
                    None => (None, e.as_str()),
                };
                let proto_ok = proto.is_none_or(|pr| {
                    fv.and_then(|v| v.app_proto).is_some_and(|a| {
                        a == pr || (pr == "http" && matches!(a, "http1" | "http2"))
                    })
                });
                proto_ok
                    && p.applayer_events
                        .iter()
                        .any(|x| x.eq_ignore_ascii_case(name))
            }
            CCond::DecodeEvent(e) => p.decode_events.iter().any(|x| x == e),
            CCond::StreamEvent(e) => p.stream_events.iter().any(|x| x == e),
            CCond::SslState { any_of, negated_of } => {
                let Some(s) = num("ssl_state") else {
                    return false;
                };
                (*any_of == 0 || s & any_of != 0) && s & negated_of == 0
            }
            CCond::SslVersion { mask, negated } => {
                // The side's version class; an unknown version never matches.
                let Some(v) = num_dir("ssl_version").filter(|&v| v != 0) else {
                    return false;
                };
                (v & mask != 0) != *negated
            }
            CCond::TlsVersion(v) => num_dir("tls.version") == Some(*v),
            CCond::DnsOpcode(neg, v) => num_dir("dns.opcode").is_some_and(|o| (o == *v) != *neg),
            CCond::FlowAge(n) => fv.is_some_and(|v| num_check(n, v.age_secs)),
            CCond::SameIp => p.src == p.dst,
        }
    }
}

/// Buffer instances of one inspection.
enum Insts<'a> {
    None,
    One(&'a [u8]),
    Many(&'a [Vec<u8>]),
}

impl<'a> Iterator for Insts<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        match std::mem::replace(self, Insts::None) {
            Insts::None => None,
            Insts::One(s) => Some(s),
            Insts::Many(v) => {
                let (first, rest) = v.split_first()?;
                *self = Insts::Many(rest);
                Some(first.as_slice())
            }
        }
    }
}

#[cfg(test)]
mod tests;
