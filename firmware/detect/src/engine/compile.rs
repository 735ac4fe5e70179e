//! Rule compilation: one [`Rule`] of the AST becomes a [`CRule`] the matcher runs.
//!
//! Compilation decides, once per rule:
//! * its **kind** (Suricata's signature types): IP-only, protocol-detection-only, packet,
//!   stream (payload content on TCP: inspected on the reassembled stream) or app-layer
//!   transaction;
//! * its **order** among all rules (Suricata's default ordering: action, then flowbits /
//!   flowvar / pktvar / hostbits / ippair set-before-read, then priority, then load order);
//! * its **fast pattern** (the explicit `fast_pattern`, else the content of the
//!   highest-priority buffer with the longest, then strongest pattern, like Suricata 7);
//! * resolved variable slots for `byte_extract`/`byte_math`, interned flowbit/flowint/xbit
//!   names, and the "next item is relative" flags the backtracking matcher needs.
//!
//! A rule using something the engine cannot evaluate (`asn1`, `ftpbounce`, rare protocol
//! keywords kept untyped by the parser, header buffers the pipeline does not provide) is
//! compiled as disabled with a reason: it never alerts, rather than alerting wrongly.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::ast::*;
use crate::buffers::BufKind;
use crate::ranges::RangeSet;

/// Signature type, as Suricata classifies rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Addresses/protocol only (plus flowbits:set, threshold, ip_proto): inspected on the
    /// first packet of each flow direction. Includes Suricata 7's "like IP-only" rules, which
    /// also name ports (verified: `alert udp any any -> any 6000 (sid:1;)` fires once per
    /// flow direction in 7.0.10).
    IpOnly,
    /// Only `app-layer-protocol`: inspected once per direction once the protocol is known.
    PdOnly,
    /// Packet fields and packet payload.
    Packet,
    /// Payload content that can be TCP: the reassembled stream on TCP flows, the packet
    /// payload otherwise.
    Stream,
    /// App-layer transaction buffers or state.
    Tx,
}

/// A number or a byte variable slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CVal {
    Lit(i64),
    Var(u8),
}

/// A compiled `content`.
#[derive(Debug)]
pub(crate) struct CContent {
    pub pat: Vec<u8>,
    /// Lower-cased pattern (nocase only).
    pub lower: Vec<u8>,
    pub nocase: bool,
    pub negated: bool,
    pub offset: Option<CVal>,
    pub depth: Option<CVal>,
    pub distance: Option<CVal>,
    pub within: Option<CVal>,
    pub startswith: bool,
    pub endswith: bool,
    pub relative: bool,
    pub finder: memchr::memmem::Finder<'static>,
}

/// A compiled `pcre`.
#[derive(Debug)]
pub(crate) struct CPcre {
    pub regex: Arc<pcre2::bytes::Regex>,
    pub negated: bool,
    pub relative: bool,
    pub anchored: bool,
    pub dollar_endonly: bool,
}

/// A compiled byte read shared by byte_test/jump/extract/math.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ByteRead {
    pub nbytes: CVal,
    pub offset: CVal,
    pub relative: bool,
    pub endian: Endian,
    pub string: Option<NumBase>,
}

/// One item of a buffer program.
#[derive(Debug)]
pub(crate) enum CItem {
    Content(Box<CContent>),
    Pcre(CPcre),
    ByteTest {
        read: ByteRead,
        negated: bool,
        op: ByteOp,
        value: CVal,
        bitmask: Option<u32>,
    },
    ByteJump {
        read: ByteRead,
        multiplier: u64,
        align: bool,
        from_beginning: bool,
        from_end: bool,
        post_offset: i64,
    },
    ByteExtract {
        read: ByteRead,
        var: u8,
        multiplier: u64,
        align: u8,
    },
    ByteMath {
        read: ByteRead,
        var: u8,
        op: MathOp,
        rvalue: CVal,
        bitmask: Option<u32>,
    },
    IsDataAt {
        negated: bool,
        pos: CVal,
        relative: bool,
    },
    Bsize(NumCheck),
    Base64Decode(Base64Decode),
    Dataset {
        set: usize,
        cmd: DatasetCmd,
    },
    Datarep {
        set: usize,
        op: ByteOp,
        value: u16,
    },
}

impl CItem {
    /// True when the item positions itself relative to the previous match.
    fn is_relative(&self) -> bool {
        match self {
            CItem::Content(c) => c.relative,
            CItem::Pcre(p) => p.relative,
            CItem::ByteTest { read, .. }
            | CItem::ByteJump { read, .. }
            | CItem::ByteExtract { read, .. }
            | CItem::ByteMath { read, .. } => read.relative,
            CItem::IsDataAt { relative, .. } => *relative,
            CItem::Base64Decode(d) => d.relative,
            _ => false,
        }
    }
}

/// An item and whether the next item is relative to it (Suricata's `RELATIVE_NEXT`: only
/// then is another occurrence worth trying when the rest fails).
#[derive(Debug)]
pub(crate) struct CEntry {
    pub item: CItem,
    pub relative_next: bool,
}

/// The buffer program of one inspected buffer.
#[derive(Debug)]
pub(crate) struct CBlock {
    /// Dense id of (buffer, transforms), shared across rules: the key of prefilters and the
    /// per-inspection buffer cache.
    pub buf_id: u16,
    pub buffer: Buffer,
    pub items: Vec<CEntry>,
}

/// flowbits / xbits isset-style check.
#[derive(Debug, Clone)]
pub(crate) struct BitCheck {
    pub ids: Vec<u32>,
    pub group: BitGroup,
    pub isset: bool,
}

/// Compiled non-buffer condition (evaluated at match time).
#[derive(Debug)]
pub(crate) enum CCond {
    Flowbits(BitCheck),
    Xbits {
        id: u32,
        track: BitTrack,
        isset: bool,
    },
    FlowintCmp {
        id: u32,
        op: CmpOp,
        value: FlowintVal,
    },
    FlowintIsSet(u32, bool),
    Dsize(NumCheck),
    Ttl(NumCheck),
    Itype(NumCheck),
    Icode(NumCheck),
    IcmpId(u16),
    IcmpSeq(u16),
    IpProto(Option<char>, u8),
    TcpFlags(TcpFlags),
    StreamSize {
        side: u8,
        op: CmpOp,
        value: u64,
    },
    AppLayerProtocol(bool, String),
    AppLayerEvent(String),
    DecodeEvent(String),
    StreamEvent(String),
    SslState {
        any_of: u64,
        negated_of: u64,
    },
    /// Version classes as bits (sslv2 1, sslv3 2, tls1.0 4, tls1.1 8, tls1.2 16,
    /// tls1.3 32), the TLS parser's `number_dir("ssl_version")` convention.
    SslVersion {
        mask: u64,
        negated: bool,
    },
    TlsVersion(u64),
    DnsOpcode(bool, u64),
    FlowAge(NumCheck),
    SameIp,
}

/// Comparison of flowint and stream_size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Lt,
    Le,
    Eq,
    Ne,
    Ge,
    Gt,
}

impl CmpOp {
    pub(crate) fn eval(self, a: u64, b: u64) -> bool {
        match self {
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Ge => a >= b,
            CmpOp::Gt => a > b,
        }
    }
    fn parse(s: &str) -> Option<CmpOp> {
        Some(match s {
            "<" => CmpOp::Lt,
            "<=" => CmpOp::Le,
            "=" | "==" => CmpOp::Eq,
            "!=" => CmpOp::Ne,
            ">=" => CmpOp::Ge,
            ">" => CmpOp::Gt,
            _ => return None,
        })
    }
}

/// A flowint operand: a number or another flowint.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FlowintVal {
    Lit(u32),
    Var(u32),
}

/// Actions run after a full match (Suricata's post-match list).
#[derive(Debug)]
pub(crate) enum CPost {
    Flowbits(BitCmd, Vec<u32>),
    Flowint {
        id: u32,
        op: FlowintOp,
        value: FlowintVal,
    },
    Xbits {
        cmd: BitCmd,
        id: u32,
        track: BitTrack,
        expire: u32,
    },
}

/// What an alert carries about its rule (shared, cheap to clone).
#[derive(Debug)]
pub(crate) struct Meta {
    pub sid: u32,
    pub gid: u32,
    pub rev: u32,
    pub msg: Arc<str>,
    pub category: Option<Arc<str>>,
    pub severity: u8,
    pub metadata: Option<Arc<BTreeMap<String, Vec<String>>>>,
    pub tag: Option<Arc<Tag>>,
    pub target: Option<Target>,
}

/// Header constraints.
#[derive(Debug)]
pub(crate) struct Header {
    /// Allowed transport protocols (bit per IP protocol number).
    pub protos: [u64; 4],
    pub v4: bool,
    pub v6: bool,
    pub src: Option<AddrSet>,
    pub dst: Option<AddrSet>,
    pub sp: Option<RangeSet<u16>>,
    pub dp: Option<RangeSet<u16>>,
    pub bidir: bool,
}

impl Header {
    pub(crate) fn proto_ok(&self, p: u8) -> bool {
        let w = self.protos.get(usize::from(p >> 6)).copied().unwrap_or(0);
        w & (1u64 << (p & 63)) != 0
    }
    pub(crate) fn ports_any(&self) -> bool {
        self.sp.is_none() && self.dp.is_none()
    }
}

/// Flow keyword requirements.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FlowReq {
    pub to_server: bool,
    pub to_client: bool,
    pub established: bool,
    pub not_established: bool,
    pub only_stream: bool,
    pub no_stream: bool,
    pub only_frag: bool,
    /// A stream rule whose payload content is anchored to the start (`depth` or `offset`
    /// on a non-relative content): Suricata also inspects it against the payload of packets
    /// that join the stream (seen on ET's `content:"PONG "; depth:5;` rules, which alert on
    /// the packet, not the stream).
    pub also_packet: bool,
}

/// The fast pattern of a rule.
#[derive(Debug, Clone)]
pub(crate) struct FastPat {
    pub buf_id: u16,
    pub bytes: Vec<u8>,
    pub nocase: bool,
}

/// A compiled rule.
#[derive(Debug)]
pub(crate) struct CRule {
    /// Position in Suricata's evaluation order (index into `Engine::rules`).
    pub num: u32,
    pub action: Action,
    pub kind: Kind,
    pub app: Option<AppProto>,
    pub header: Header,
    pub flow: FlowReq,
    pub blocks: Vec<CBlock>,
    /// The `base64_data` program, run by `base64_decode` on the decoded bytes.
    pub b64: Option<CBlock>,
    pub conds: Vec<CCond>,
    pub post: Vec<CPost>,
    pub threshold: Option<Threshold>,
    pub detection_filter: Option<Threshold>,
    pub noalert: bool,
    pub meta: Arc<Meta>,
    pub nvars: usize,
    pub fast: Option<FastPat>,
    /// Why the rule never matches, when it uses something the engine cannot evaluate.
    pub disabled: Option<String>,
    /// Sort key (see module docs).
    pub order: (u8, u8, u8, u8, u8, u8, u8, usize),
}

/// Names interned across the rule set.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    pub map: HashMap<String, u32>,
}

impl Interner {
    pub(crate) fn id(&mut self, name: &str) -> u32 {
        let n = u32::try_from(self.map.len()).unwrap_or(u32::MAX);
        *self.map.entry(name.to_string()).or_insert(n)
    }
}

/// Build-time context shared by all rules.
#[derive(Debug, Default)]
pub(crate) struct Ctx {
    pub flowbits: Interner,
    pub flowints: Interner,
    pub xbits: Interner,
    /// (buffer, transforms) -> buf id.
    pub bufs: Vec<(Buffer, Vec<Transform>)>,
    pub datasets: crate::engine::dataset::Registry,
    pub classifications: Option<Arc<HashMap<String, (String, u8)>>>,
}

impl Ctx {
    fn buf_id(&mut self, b: Buffer, t: &[Transform]) -> u16 {
        if let Some(i) = self
            .bufs
            .iter()
            .position(|(bb, tt)| *bb == b && tt.as_slice() == t)
        {
            return u16::try_from(i).unwrap_or(u16::MAX);
        }
        self.bufs.push((b, t.to_vec()));
        u16::try_from(self.bufs.len() - 1).unwrap_or(u16::MAX)
    }
}

/// Transport protocols an app-layer protocol runs over.
fn app_transports(p: AppProto) -> &'static [u8] {
    use AppProto::*;
    match p {
        Dns | Krb5 | Nfs | Dcerpc | Sip | Enip => &[6, 17],
        Ntp | Tftp | Ike | Quic | Dhcp | Snmp | BittorrentDht => &[17],
        _ => &[6],
    }
}

fn proto_mask(protocol: Protocol, app: Option<AppProto>) -> ([u64; 4], bool, bool) {
    let mut m = [0u64; 4];
    let mut set = |p: u8| {
        if let Some(w) = m.get_mut(usize::from(p >> 6)) {
            *w |= 1u64 << (p & 63);
        }
    };
    let (mut v4, mut v6) = (true, true);
    match protocol {
        Protocol::Ip | Protocol::Pkthdr => {
            for p in 0..=255u8 {
                set(p);
            }
        }
        Protocol::Ipv4 => {
            v6 = false;
            for p in 0..=255u8 {
                set(p);
            }
        }
        Protocol::Ipv6 => {
            v4 = false;
            for p in 0..=255u8 {
                set(p);
            }
        }
        Protocol::Tcp | Protocol::TcpPkt | Protocol::TcpStream => set(6),
        Protocol::Udp => set(17),
        Protocol::Icmp => {
            set(1);
            set(58);
        }
        Protocol::Icmpv4 => set(1),
        Protocol::Icmpv6 => set(58),
        Protocol::Sctp => set(132),
        Protocol::App(p) => {
            for &t in app_transports(p) {
                set(t);
            }
        }
        #[allow(unreachable_patterns)]
        _ => {}
    }
    // A transport-level header with an app-layer keyword keeps its transport; an `ip` header
    // bound to an app protocol by keywords narrows to that protocol's transports.
    if let (Some(a), Protocol::Ip | Protocol::Ipv4 | Protocol::Ipv6) = (app, protocol) {
        let mut n = [0u64; 4];
        for &t in app_transports(a) {
            if let Some(w) = n.get_mut(usize::from(t >> 6)) {
                *w |= 1u64 << (t & 63);
            }
        }
        m = n;
    }
    (m, v4, v6)
}

fn var_ref(name: &str, vars: &[String]) -> Result<CVal, String> {
    vars.iter()
        .position(|x| x == name)
        .and_then(|i| u8::try_from(i).ok())
        .map(CVal::Var)
        .ok_or_else(|| format!("unknown byte variable {name}"))
}

fn cval<T: Copy + Into<i64>>(v: &Value<T>, vars: &[String]) -> Result<CVal, String> {
    match v {
        Value::Lit(n) => Ok(CVal::Lit((*n).into())),
        Value::Var(name) => var_ref(name, vars),
    }
}

fn var_slot(vars: &mut Vec<String>, name: &str) -> u8 {
    if let Some(i) = vars.iter().position(|x| x == name) {
        return u8::try_from(i).unwrap_or(u8::MAX);
    }
    vars.push(name.to_string());
    u8::try_from(vars.len() - 1).unwrap_or(u8::MAX)
}

/// Pattern strength as Suricata scores it: distinct letters 3, distinct printable/00/01/FF
/// bytes 4, other distinct bytes 6, repeats 1.
pub(crate) fn pattern_strength(p: &[u8]) -> u32 {
    let mut seen = [false; 256];
    let mut s = 0u32;
    for &b in p {
        let slot = seen.get_mut(usize::from(b));
        match slot {
            Some(x) if !*x => {
                *x = true;
                s += if b.is_ascii_alphabetic() {
                    3
                } else if (0x20..0x7f).contains(&b) || matches!(b, 0x00 | 0x01 | 0xff) {
                    4
                } else {
                    6
                };
            }
            _ => s += 1,
        }
    }
    s
}

/// A fast pattern candidate: its block, its content and the `fast_pattern` chop.
type FpChoice<'a> = (&'a CBlock, &'a CContent, Option<(u16, u16)>);

/// Fast-pattern priority of a buffer: app-layer buffers above the payload, `http.method`
/// below it (Suricata's documented order).
fn fp_priority(b: Buffer) -> u8 {
    match b {
        Buffer::HttpMethod => 0,
        Buffer::Payload => 1,
        _ => 2,
    }
}

/// Buffers whose fast pattern may feed a prefilter for a rule of `kind`.
fn fp_allowed(kind: Kind, b: Buffer) -> bool {
    match kind {
        Kind::Tx => b.def().kind == BufKind::App,
        Kind::Stream | Kind::Packet => matches!(b, Buffer::Payload | Buffer::TcpHdr),
        _ => false,
    }
}

fn parse_ssl_state(s: &str) -> (u64, u64) {
    let (mut any, mut neg) = (0u64, 0u64);
    for item in s.split(['|', ',']) {
        let item = item.trim();
        let (n, name) = match item.strip_prefix('!') {
            Some(r) => (true, r),
            None => (false, item),
        };
        // Suricata's state flag values (the TLS parser reports the same bits).
        let bit = match name {
            "client_hello" => 1 << 9,
            "server_hello" => 1 << 10,
            "client_keyx" => 1 << 11,
            "server_keyx" => 1 << 12,
            _ => 1 << 13,
        };
        if n {
            neg |= bit;
        } else {
            any |= bit;
        }
    }
    (any, neg)
}

/// `tls.version` values to wire versions.
fn tls_version_number(s: &str) -> Option<u64> {
    Some(match s {
        "1.0" => 0x0301,
        "1.1" => 0x0302,
        "1.2" => 0x0303,
        "1.3" => 0x0304,
        h => return u64::from_str_radix(h.strip_prefix("0x")?, 16).ok(),
    })
}

fn flowint_val(v: &Option<Value<u32>>, ctx: &mut Ctx) -> FlowintVal {
    match v {
        Some(Value::Lit(n)) => FlowintVal::Lit(*n),
        Some(Value::Var(name)) => FlowintVal::Var(ctx.flowints.id(name)),
        None => FlowintVal::Lit(0),
    }
}

fn compile_content(c: &Content, vars: &[String]) -> Result<CContent, String> {
    let lower = if c.nocase {
        c.pattern.to_ascii_lowercase()
    } else {
        Vec::new()
    };
    Ok(CContent {
        finder: memchr::memmem::Finder::new(&c.pattern).into_owned(),
        pat: c.pattern.clone(),
        lower,
        nocase: c.nocase,
        negated: c.negated,
        offset: c.offset.as_ref().map(|v| cval(v, vars)).transpose()?,
        depth: c.depth.as_ref().map(|v| cval(v, vars)).transpose()?,
        distance: c.distance.as_ref().map(|v| cval(v, vars)).transpose()?,
        within: c.within.as_ref().map(|v| cval(v, vars)).transpose()?,
        startswith: c.startswith,
        endswith: c.endswith,
        relative: c.is_relative(),
    })
}

fn read_of(
    nbytes: CVal,
    offset: CVal,
    relative: bool,
    endian: Endian,
    string: Option<NumBase>,
) -> ByteRead {
    ByteRead {
        nbytes,
        offset,
        relative,
        endian,
        string,
    }
}

fn compile_block(
    b: &BufferBlock,
    vars: &mut Vec<String>,
    ctx: &mut Ctx,
    rule_dir: &std::path::Path,
) -> Result<CBlock, String> {
    let buf_id = ctx.buf_id(b.buffer, &b.transforms);
    let mut items: Vec<CItem> = Vec::with_capacity(b.matches.len());
    for m in &b.matches {
        let it = match &m.item {
            Match::Content(c) => CItem::Content(Box::new(compile_content(c, vars)?)),
            Match::Pcre(p) => {
                if !p.captures.is_empty() {
                    // Capture variables are stored by Suricata for logging/flowvar use; the
                    // match itself is unaffected.
                }
                CItem::Pcre(CPcre {
                    regex: p.regex.clone(),
                    negated: p.negated,
                    relative: p.relative,
                    anchored: p.anchored,
                    dollar_endonly: p.dollar_endonly,
                })
            }
            Match::ByteTest(t) => CItem::ByteTest {
                read: read_of(
                    cval(&t.nbytes, vars)?,
                    cval(&t.offset, vars)?,
                    t.relative,
                    t.endian,
                    t.string,
                ),
                negated: t.negated,
                op: t.op,
                value: match &t.value {
                    Value::Lit(n) => CVal::Lit(i64::from_ne_bytes(n.to_ne_bytes())),
                    Value::Var(name) => var_ref(name, vars)?,
                },
                bitmask: t.bitmask,
            },
            Match::ByteJump(j) => CItem::ByteJump {
                read: read_of(
                    cval(&j.nbytes, vars)?,
                    cval(&j.offset, vars)?,
                    j.relative,
                    j.endian,
                    j.string,
                ),
                multiplier: u64::from(j.multiplier.unwrap_or(1)),
                align: j.align,
                from_beginning: j.from_beginning,
                from_end: j.from_end,
                post_offset: i64::from(j.post_offset.unwrap_or(0)),
            },
            Match::ByteExtract(e) => {
                let read = read_of(
                    CVal::Lit(i64::from(e.nbytes)),
                    CVal::Lit(i64::from(e.offset)),
                    e.relative,
                    e.endian,
                    e.string,
                );
                CItem::ByteExtract {
                    read,
                    var: var_slot(vars, &e.name),
                    multiplier: u64::from(e.multiplier.unwrap_or(1)),
                    align: e.align.unwrap_or(0),
                }
            }
            Match::ByteMath(bm) => {
                let read = read_of(
                    cval(&bm.nbytes, vars)?,
                    CVal::Lit(i64::from(bm.offset)),
                    bm.relative,
                    bm.endian,
                    bm.string,
                );
                let rvalue = cval(&bm.rvalue, vars)?;
                CItem::ByteMath {
                    read,
                    var: var_slot(vars, &bm.result),
                    op: bm.op,
                    rvalue,
                    bitmask: bm.bitmask,
                }
            }
            Match::IsDataAt(d) => CItem::IsDataAt {
                negated: d.negated,
                pos: cval(&d.pos, vars)?,
                relative: d.relative,
            },
            Match::Bsize(c) | Match::Urilen(c) => CItem::Bsize(*c),
            Match::Base64Decode(d) => CItem::Base64Decode(*d),
            Match::Dataset(d) => CItem::Dataset {
                set: ctx.datasets.dataset(d, rule_dir)?,
                cmd: d.cmd,
            },
            Match::Datarep(d) => CItem::Datarep {
                set: ctx.datasets.datarep(d)?,
                op: d.op,
                value: d.value,
            },
            Match::Asn1(_) => return Err("asn1 is not evaluated by this engine".into()),
            Match::FtpBounce => return Err("ftpbounce is not evaluated by this engine".into()),
            #[allow(unreachable_patterns)]
            _ => return Err("unsupported match keyword".into()),
        };
        items.push(it);
    }
    let mut entries = Vec::with_capacity(items.len());
    let rel: Vec<bool> = items.iter().map(CItem::is_relative).collect();
    for (i, item) in items.into_iter().enumerate() {
        let relative_next = rel.get(i + 1).copied().unwrap_or(false);
        entries.push(CEntry {
            item,
            relative_next,
        });
    }
    Ok(CBlock {
        buf_id,
        buffer: b.buffer,
        items: entries,
    })
}

/// Ordering ranks for flowbits-like keywords: set-only 0, set+read 1, read-only 2, unused 3
/// (Suricata orders setters before readers so a same-packet isset sees the set).
fn rw_rank(set: bool, read: bool) -> u8 {
    match (set, read) {
        (true, false) => 0,
        (true, true) => 1,
        (false, true) => 2,
        (false, false) => 3,
    }
}

fn action_rank(a: Action) -> u8 {
    match a {
        Action::Pass => 0,
        Action::Drop => 1,
        Action::Reject | Action::RejectSrc | Action::RejectDst | Action::RejectBoth => 2,
        _ => 3,
    }
}

fn metadata_map(md: &[(String, String)]) -> Option<Arc<BTreeMap<String, Vec<String>>>> {
    if md.is_empty() {
        return None;
    }
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in md {
        m.entry(k.clone()).or_default().push(v.clone());
    }
    Some(Arc::new(m))
}

/// Compile one rule. `load_idx` is its position in the load report (the last ordering key).
pub(crate) fn compile(rule: &Rule, load_idx: usize, ctx: &mut Ctx) -> CRule {
    let mut disabled: Option<String> = None;
    let mut vars: Vec<String> = Vec::new();
    let rule_dir = rule
        .source
        .file
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();

    // Conditions.
    let mut conds = Vec::new();
    let mut post = Vec::new();
    let mut threshold = None;
    let mut detection_filter = None;
    let mut tag = None;
    let (mut fb_set, mut fb_read) = (false, false);
    let (mut fv_set, mut fv_read) = (false, false);
    let (mut hb_set, mut hb_read) = (false, false);
    let (mut xb_set, mut xb_read) = (false, false);
    let mut tx_cond = false;
    let mut packet_cond = false;
    let mut iponly_ok = true;
    let mut pd_only_candidate = false;
    for c in &rule.conditions {
        match &c.item {
            Condition::Flowbits(f) => {
                let ids: Vec<u32> = f.names.iter().map(|n| ctx.flowbits.id(n)).collect();
                match f.cmd {
                    BitCmd::IsSet | BitCmd::IsNotSet => {
                        fb_read = true;
                        iponly_ok = false;
                        conds.push(CCond::Flowbits(BitCheck {
                            ids,
                            group: f.group,
                            isset: f.cmd == BitCmd::IsSet,
                        }));
                    }
                    cmd => {
                        fb_set = true;
                        if cmd != BitCmd::Set {
                            iponly_ok = false;
                        }
                        post.push(CPost::Flowbits(cmd, ids));
                    }
                }
            }
            Condition::Xbits(x) | Condition::Hostbits(x) => {
                let host = matches!(&c.item, Condition::Hostbits(_));
                let id = ctx.xbits.id(&x.name);
                iponly_ok = false;
                match x.cmd {
                    BitCmd::IsSet | BitCmd::IsNotSet => {
                        if host {
                            hb_read = true;
                        } else {
                            xb_read = true;
                        }
                        conds.push(CCond::Xbits {
                            id,
                            track: x.track,
                            isset: x.cmd == BitCmd::IsSet,
                        });
                    }
                    cmd => {
                        if host {
                            hb_set = true;
                        } else {
                            xb_set = true;
                        }
                        post.push(CPost::Xbits {
                            cmd,
                            id,
                            track: x.track,
                            expire: x.expire.unwrap_or(crate::caps::XBITS_DEFAULT_EXPIRE),
                        });
                    }
                }
            }
            Condition::Flowint(f) => {
                iponly_ok = false;
                let id = ctx.flowints.id(&f.name);
                match &f.op {
                    FlowintOp::Set | FlowintOp::Add | FlowintOp::Sub => {
                        fv_set = true;
                        let value = flowint_val(&f.value, ctx);
                        post.push(CPost::Flowint {
                            id,
                            op: f.op.clone(),
                            value,
                        });
                    }
                    FlowintOp::Cmp(op) => {
                        fv_read = true;
                        let value = flowint_val(&f.value, ctx);
                        match CmpOp::parse(op) {
                            Some(op) => conds.push(CCond::FlowintCmp { id, op, value }),
                            None => disabled = Some(format!("flowint operator {op}")),
                        }
                    }
                    FlowintOp::IsSet => {
                        fv_read = true;
                        conds.push(CCond::FlowintIsSet(id, true));
                    }
                    FlowintOp::NotSet => {
                        fv_read = true;
                        conds.push(CCond::FlowintIsSet(id, false));
                    }
                    #[allow(unreachable_patterns)]
                    _ => disabled = Some("flowint operation".into()),
                }
            }
            Condition::Threshold(t) => threshold = Some(*t),
            Condition::DetectionFilter(t) => detection_filter = Some(*t),
            Condition::Tag(t) => tag = Some(Arc::new(t.clone())),
            Condition::Requires(_) | Condition::Config(_) => {}
            other => {
                // `ip_proto` only narrows the protocol: Suricata keeps such rules IP-only.
                if !matches!(other, Condition::IpProto(_)) {
                    iponly_ok = false;
                    packet_cond = true;
                }
                let cc = match other {
                    Condition::Dsize(n) => CCond::Dsize(*n),
                    Condition::Ttl(n) => CCond::Ttl(*n),
                    Condition::Itype(n) => CCond::Itype(*n),
                    Condition::Icode(n) => CCond::Icode(*n),
                    Condition::IcmpId(n) => CCond::IcmpId(*n),
                    Condition::IcmpSeq(n) => CCond::IcmpSeq(*n),
                    Condition::IpProto(s) => {
                        let (op, rest) = match s.chars().next() {
                            Some(c @ ('!' | '<' | '>')) => (Some(c), s.get(1..).unwrap_or("")),
                            _ => (None, s.as_str()),
                        };
                        match rest.parse::<u8>() {
                            Ok(n) => CCond::IpProto(op, n),
                            Err(_) => {
                                disabled = Some(format!("ip_proto {s}"));
                                continue;
                            }
                        }
                    }
                    Condition::TcpFlags(f) => CCond::TcpFlags(f.clone()),
                    Condition::StreamSize(s) => {
                        let p: Vec<&str> = s.split(',').map(str::trim).collect();
                        let side = match p.first().copied() {
                            Some("server") => 0,
                            Some("client") => 1,
                            Some("both") => 2,
                            _ => 3,
                        };
                        let op = p.get(1).and_then(|o| CmpOp::parse(o));
                        let value = p.get(2).and_then(|v| v.parse::<u64>().ok());
                        match (op, value) {
                            (Some(op), Some(value)) => CCond::StreamSize { side, op, value },
                            _ => {
                                disabled = Some(format!("stream_size {s}"));
                                continue;
                            }
                        }
                    }
                    Condition::AppLayerProtocol(n, name) => {
                        pd_only_candidate = true;
                        CCond::AppLayerProtocol(*n, name.clone())
                    }
                    Condition::AppLayerEvent(e) => {
                        // `proto.event` of a parser with transactions is a transaction
                        // keyword in Suricata (the event belongs to the transaction);
                        // detection events (`applayer_*`) are per packet.
                        if e.contains('.') && rule.app_proto.is_some() {
                            tx_cond = true;
                        }
                        CCond::AppLayerEvent(e.clone())
                    }
                    Condition::DecodeEvent(e) => CCond::DecodeEvent(e.clone()),
                    Condition::StreamEvent(e) => CCond::StreamEvent(e.clone()),
                    Condition::SslState(s) => {
                        tx_cond = true;
                        let (any_of, negated_of) = parse_ssl_state(s);
                        CCond::SslState { any_of, negated_of }
                    }
                    Condition::SslVersion(s) => {
                        tx_cond = true;
                        let negated = s.contains('!');
                        let mask = s
                            .split(',')
                            .map(|v| match v.trim().trim_start_matches('!') {
                                "sslv2" => 1,
                                "sslv3" => 2,
                                "tls1.0" => 4,
                                "tls1.1" => 8,
                                "tls1.2" => 16,
                                "tls1.3" => 32,
                                _ => 0,
                            })
                            .fold(0u64, |a, b| a | b);
                        CCond::SslVersion { mask, negated }
                    }
                    Condition::TlsVersion(s) => {
                        tx_cond = true;
                        match tls_version_number(s) {
                            Some(v) => CCond::TlsVersion(v),
                            None => {
                                disabled = Some(format!("tls.version {s}"));
                                continue;
                            }
                        }
                    }
                    Condition::DnsOpcode(n, o) => {
                        tx_cond = true;
                        CCond::DnsOpcode(*n, u64::from(*o))
                    }
                    Condition::FlowAge(n) => CCond::FlowAge(*n),
                    Condition::SameIp => CCond::SameIp,
                    _ => {
                        disabled = Some("unsupported condition".into());
                        continue;
                    }
                };
                conds.push(cc);
            }
        }
    }
    if !rule.untyped.is_empty() {
        let names: Vec<&str> = rule.untyped.iter().map(|u| u.item.0.as_str()).collect();
        disabled = Some(format!("keywords not evaluated: {}", names.join(",")));
    }

    // Buffer programs.
    let mut blocks = Vec::new();
    let mut block_src: Vec<usize> = Vec::new();
    let mut b64 = None;
    // byte variables first seen in a block must be known before later blocks reference
    // them: compile in block order (the parser sorted blocks by first appearance).
    for (ai, b) in rule.buffers.iter().enumerate() {
        match compile_block(b, &mut vars, ctx, &rule_dir) {
            Ok(cb) => {
                if b.buffer == Buffer::Base64Data {
                    b64 = Some(cb);
                } else {
                    blocks.push(cb);
                    block_src.push(ai);
                }
            }
            Err(e) => {
                disabled = Some(e);
            }
        }
    }
    for b in &blocks {
        let k = b.buffer.def().kind;
        if k == BufKind::Packet && b.buffer != Buffer::TcpHdr {
            disabled = Some(format!("buffer {} is not provided", b.buffer.name()));
        }
    }

    let flow = rule
        .flow
        .map(|f| FlowReq {
            to_server: f.to_server,
            to_client: f.to_client,
            established: f.established,
            not_established: f.not_established,
            only_stream: f.only_stream,
            no_stream: f.no_stream,
            only_frag: f.only_frag,
            also_packet: false,
        })
        .unwrap_or_default();
    let mut flow = flow;
    flow.also_packet = rule
        .buffers
        .iter()
        .filter(|b| b.buffer == Buffer::Payload)
        .flat_map(|b| b.matches.iter())
        .any(|m| {
            matches!(&m.item, Match::Content(c)
                if !c.negated && !c.is_relative() && (c.depth.is_some() || c.offset.is_some()))
        });
    // Direction implied by buffers.
    for b in rule.buffers.iter() {
        match b.buffer.def().dir {
            Dir::ToServer => flow.to_server = true,
            Dir::ToClient => flow.to_client = true,
            _ => {}
        }
    }
    if flow.to_server && flow.to_client {
        flow.to_server = false;
        flow.to_client = false;
    }
    match rule.protocol {
        Protocol::TcpPkt => flow.no_stream = true,
        Protocol::TcpStream => flow.only_stream = true,
        _ => {}
    }

    let has_app_block = blocks.iter().any(|b| b.buffer.def().kind == BufKind::App);
    let has_payload = blocks.iter().any(|b| b.buffer == Buffer::Payload);
    let has_dsize = conds.iter().any(|c| matches!(c, CCond::Dsize(_)));
    let (protos, v4, v6) = proto_mask(rule.protocol, rule.app_proto);
    let tcp_possible = protos.first().is_some_and(|w| w & (1 << 6) != 0);

    let kind = if has_app_block || tx_cond {
        Kind::Tx
    } else if has_payload && tcp_possible && !flow.no_stream && !has_dsize {
        Kind::Stream
    } else if blocks.is_empty()
        && b64.is_none()
        && rule.flow.is_none()
        && rule.app_proto.is_none()
        && iponly_ok
        && !packet_cond
        && rule.protocol != Protocol::Pkthdr
    {
        Kind::IpOnly
    } else if pd_only_candidate
        && blocks.is_empty()
        && b64.is_none()
        && conds
            .iter()
            .all(|c| matches!(c, CCond::AppLayerProtocol(..)))
    {
        Kind::PdOnly
    } else {
        Kind::Packet
    };

    // Fast pattern.
    let mut fast = None;
    let mut best: Option<((u8, usize, u32), FpChoice<'_>)> = None;
    let mut explicit: Option<FpChoice<'_>> = None;
    for (cb, &ai) in blocks.iter().zip(block_src.iter()) {
        let Some(b) = rule.buffers.get(ai) else {
            continue;
        };
        if !fp_allowed(kind, b.buffer) {
            continue;
        }
        for (m, e) in b.matches.iter().zip(cb.items.iter()) {
            let (Match::Content(c), CItem::Content(cc)) = (&m.item, &e.item) else {
                continue;
            };
            if let Some(fp) = c.fast_pattern {
                if explicit.is_none() {
                    explicit = Some((cb, cc.as_ref(), fp.chop));
                }
            }
            if c.negated {
                continue;
            }
            let key = (
                fp_priority(b.buffer),
                c.pattern.len(),
                pattern_strength(&c.pattern),
            );
            if best.as_ref().is_none_or(|(k, ..)| key > *k) {
                best = Some((key, (cb, cc.as_ref(), None)));
            }
        }
    }
    let chosen = match explicit {
        Some((cb, cc, chop)) => Some((cb, cc, chop)),
        None => best.map(|(_, c)| c),
    };
    if let Some((cb, cc, chop)) = chosen {
        if !cc.negated {
            let bytes = match chop {
                Some((off, len)) => {
                    let s = usize::from(off);
                    let e = s.saturating_add(usize::from(len)).min(cc.pat.len());
                    cc.pat.get(s..e).map(<[u8]>::to_vec).unwrap_or_default()
                }
                None => cc.pat.clone(),
            };
            if !bytes.is_empty() {
                fast = Some(FastPat {
                    buf_id: cb.buf_id,
                    bytes,
                    nocase: cc.nocase,
                });
            }
        }
    }

    let severity = rule.priority.unwrap_or_else(|| {
        rule.classtype
            .as_ref()
            .and_then(|c| ctx.classifications.as_ref().and_then(|m| m.get(c)))
            .map(|e| e.1)
            .unwrap_or(3)
    });
    let category = rule.classtype.as_ref().and_then(|c| {
        ctx.classifications
            .as_ref()
            .and_then(|m| m.get(c))
            .map(|e| Arc::from(e.0.as_str()))
    });
    let meta = Arc::new(Meta {
        sid: rule.sid,
        gid: rule.gid,
        rev: rule.rev,
        msg: Arc::from(rule.msg.as_deref().unwrap_or("")),
        category,
        severity,
        metadata: metadata_map(&rule.metadata),
        tag,
        target: rule.target,
    });

    let header = Header {
        protos,
        v4,
        v6,
        src: (!rule.src.set.is_any()).then(|| rule.src.set.clone()),
        dst: (!rule.dst.set.is_any()).then(|| rule.dst.set.clone()),
        sp: (!rule.src_ports.is_any()).then(|| rule.src_ports.set.clone()),
        dp: (!rule.dst_ports.is_any()).then(|| rule.dst_ports.set.clone()),
        bidir: rule.direction == Direction::Both,
    };
    if rule.action == Action::Config {
        disabled = Some("config rules do not alert".into());
    }
    let nvars = vars.len();
    CRule {
        num: 0,
        action: rule.action,
        kind,
        app: rule.app_proto,
        header,
        flow,
        blocks,
        b64,
        conds,
        post,
        threshold,
        detection_filter,
        noalert: rule.noalert || rule.action == Action::Pass,
        meta,
        nvars,
        fast,
        disabled,
        order: (
            action_rank(rule.action),
            rw_rank(fb_set, fb_read),
            rw_rank(fv_set, fv_read),
            3,
            rw_rank(hb_set, hb_read),
            rw_rank(xb_set, xb_read),
            severity,
            load_idx,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(text: &str) -> CRule {
        let r = crate::parse_rule_str(text).unwrap();
        compile(&r, 0, &mut Ctx::default())
    }

    #[test]
    fn kinds_follow_suricata_signature_types() {
        assert_eq!(
            c("alert ip 1.2.3.4 any -> any any (sid:1;)").kind,
            Kind::IpOnly
        );
        assert_eq!(
            c("alert ip any any -> any any (flowbits:set,a; sid:1;)").kind,
            Kind::IpOnly
        );
        assert_eq!(
            c("alert ip any any -> any any (flowbits:isset,a; sid:1;)").kind,
            Kind::Packet
        );
        assert_eq!(c("alert tcp any any -> any 80 (sid:1;)").kind, Kind::IpOnly);
        assert_eq!(
            c("alert ip any any -> any any (ip_proto:17; sid:1;)").kind,
            Kind::IpOnly
        );
        assert_eq!(
            c("alert ip any any -> any any (ttl:3; sid:1;)").kind,
            Kind::Packet
        );
        assert_eq!(
            c("alert tcp any any -> any 80 (flow:to_server; sid:1;)").kind,
            Kind::Packet
        );
        assert_eq!(
            c("alert tcp any any -> any any (content:\"a\"; sid:1;)").kind,
            Kind::Stream
        );
        assert_eq!(
            c("alert tcp any any -> any any (content:\"a\"; dsize:>1; sid:1;)").kind,
            Kind::Packet
        );
        assert_eq!(
            c("alert udp any any -> any any (content:\"a\"; sid:1;)").kind,
            Kind::Packet
        );
        assert_eq!(
            c("alert http any any -> any any (http.uri; content:\"a\"; sid:1;)").kind,
            Kind::Tx
        );
        assert_eq!(
            c("alert tcp any any -> any any (app-layer-protocol:http; sid:1;)").kind,
            Kind::PdOnly
        );
    }

    #[test]
    fn fast_pattern_prefers_app_buffer_then_length() {
        let r = c("alert http any any -> any any (content:\"longlonglong\"; http.uri; content:\"ab\"; http.header; content:\"abcd\"; sid:1;)");
        assert_eq!(r.fast.unwrap().bytes, b"abcd");
        let r = c("alert http any any -> any any (http.method; content:\"POSTPOSTPOST\"; http.uri; content:\"x\"; sid:1;)");
        assert_eq!(r.fast.unwrap().bytes, b"x");
        let r = c("alert tcp any any -> any any (content:\"abcdef\"; content:\"xy\"; fast_pattern; sid:1;)");
        assert_eq!(r.fast.unwrap().bytes, b"xy");
        let r = c("alert tcp any any -> any any (content:\"abcdef\"; fast_pattern:1,2; sid:1;)");
        assert_eq!(r.fast.unwrap().bytes, b"bc");
        let r = c("alert tcp any any -> any any (content:!\"abcdef\"; sid:1;)");
        assert!(r.fast.is_none());
    }

    #[test]
    fn relative_next_flags() {
        let r = c("alert tcp any any -> any any (content:\"a\"; content:\"b\"; distance:0; content:\"c\"; sid:1;)");
        let flags: Vec<bool> = r.blocks[0].items.iter().map(|e| e.relative_next).collect();
        assert_eq!(flags, vec![true, false, false]);
    }

    #[test]
    fn order_puts_pass_and_setters_first() {
        let a = c("alert ip any any -> any any (priority:1; sid:1;)");
        let p = c("pass ip any any -> any any (sid:2;)");
        let s = c("alert tcp any any -> any any (flowbits:set,x; priority:4; sid:3;)");
        let r = c("alert tcp any any -> any any (flowbits:isset,x; priority:1; sid:4;)");
        assert!(p.order < a.order);
        assert!(s.order < r.order);
        assert!(r.order < a.order);
    }

    #[test]
    fn strength_scores() {
        assert_eq!(pattern_strength(b"aa"), 4);
        assert_eq!(pattern_strength(b"a1"), 7);
        assert_eq!(pattern_strength(&[0x80]), 6);
    }

    #[test]
    fn unsupported_rules_are_disabled() {
        assert!(
            c("alert tcp any any -> any any (content:\"a\"; asn1:bitstring_overflow; sid:1;)")
                .disabled
                .is_some()
        );
        assert!(c("alert tcp any any -> any any (content:\"a\"; sid:1;)")
            .disabled
            .is_none());
    }
}
