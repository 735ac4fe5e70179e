//! The typed rule AST.
//!
//! A [`Rule`] keeps its header (resolved addresses and ports), its meta options, and its
//! detection options grouped the way an engine compiles them:
//!
//! * [`Rule::buffers`]: one [`BufferBlock`] per inspection buffer instance (`pkt_data`,
//!   `http.uri`, `tls.sni`, ... with its transforms), holding the ordered [`Match`]es against
//!   that buffer. Each content/pcre/byte_* knows its buffer by the block it sits in, and carries
//!   all its modifiers; "relative" means relative to the previous match of the same block.
//! * [`Rule::conditions`]: everything that is not inspected against a buffer (flow, flowbits,
//!   ttl, threshold, app-layer-event, ...), in rule order.
//!
//! Every detection item keeps the option's byte offset in the rule text ([`Spanned`]) and the
//! rule keeps its file, line and full text ([`RuleSource`]), so a later compile step can report
//! errors the same way the parser does.

use std::path::PathBuf;
use std::sync::Arc;

pub use crate::buffers::{AppProto, Buffer, Dir};
pub use crate::netexpr::{AddrSet, AddressSpec, PortSpec};

/// What to do when the rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Alert.
    Alert,
    /// Stop inspecting the flow/packet with lower-priority rules.
    Pass,
    /// Drop (IPS) and alert.
    Drop,
    /// Reset or ICMP-unreachable the sender, and alert.
    Reject,
    /// `rejectsrc`: same as `reject`.
    RejectSrc,
    /// `rejectdst`: reject towards the destination.
    RejectDst,
    /// `rejectboth`: reject both ways.
    RejectBoth,
    /// `config`: a rule that only applies `config` keyword settings.
    Config,
}

impl Action {
    /// The action's rule-text name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Alert => "alert",
            Action::Pass => "pass",
            Action::Drop => "drop",
            Action::Reject => "reject",
            Action::RejectSrc => "rejectsrc",
            Action::RejectDst => "rejectdst",
            Action::RejectBoth => "rejectboth",
            Action::Config => "config",
        }
    }
}

/// The header protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// `ip`: any IP packet (v4 or v6).
    Ip,
    /// `ipv4`/`ip4`.
    Ipv4,
    /// `ipv6`/`ip6`.
    Ipv6,
    /// `tcp`: packets and reassembled stream.
    Tcp,
    /// `tcp-pkt`: TCP packets only.
    TcpPkt,
    /// `tcp-stream`: reassembled TCP stream only.
    TcpStream,
    /// `udp`.
    Udp,
    /// `icmp`: ICMPv4 and ICMPv6.
    Icmp,
    /// `icmpv4`.
    Icmpv4,
    /// `icmpv6`.
    Icmpv6,
    /// `sctp`.
    Sctp,
    /// `pkthdr`: decoder-event rules.
    Pkthdr,
    /// An application-layer protocol (`http`, `tls`, `dns`, ...).
    App(AppProto),
}

/// Header direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Direction {
    /// `->`.
    ToDst,
    /// `<>`: either way.
    Both,
}

/// An option value that is either a literal or the name of a `byte_extract`/`byte_math`
/// variable of the same rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<T> {
    /// A number written in the rule.
    Lit(T),
    /// A variable set by an earlier byte_extract/byte_math.
    Var(String),
}

/// A detection item and the byte offset of its option in the rule text.
#[derive(Debug, Clone)]
pub struct Spanned<T> {
    /// The item.
    pub item: T,
    /// Offset of the option (its keyword) in [`RuleSource::text`].
    pub offset: usize,
}

/// Where a rule came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSource {
    /// Rule file (empty for rules parsed from a string).
    pub file: Arc<PathBuf>,
    /// 1-based line of the rule's first physical line.
    pub line: u32,
    /// The logical rule text (continuation lines joined).
    pub text: String,
}

/// A `reference:type,value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Reference system (`url`, `cve`, ...).
    pub system: String,
    /// The reference value.
    pub value: String,
}

/// `target:src_ip|dest_ip`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// The source is the target.
    SrcIp,
    /// The destination is the target.
    DestIp,
}

/// One parsed rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Action.
    pub action: Action,
    /// Header protocol.
    pub protocol: Protocol,
    /// Source addresses.
    pub src: AddressSpec,
    /// Source ports.
    pub src_ports: PortSpec,
    /// `->` or `<>`.
    pub direction: Direction,
    /// Destination addresses.
    pub dst: AddressSpec,
    /// Destination ports.
    pub dst_ports: PortSpec,
    /// Signature id (required, 1..=u32::MAX-1).
    pub sid: u32,
    /// Generator id (default 1).
    pub gid: u32,
    /// Revision (default 0 when absent).
    pub rev: u32,
    /// `msg` with Suricata's escapes removed.
    pub msg: Option<String>,
    /// `classtype` name.
    pub classtype: Option<String>,
    /// Explicit `priority`, else the classtype's priority when a classification file was
    /// given, else `None` (Suricata then uses 3).
    pub priority: Option<u8>,
    /// `reference` options in order.
    pub references: Vec<Reference>,
    /// `metadata` key/value pairs in order.
    pub metadata: Vec<(String, String)>,
    /// `target`.
    pub target: Option<Target>,
    /// The app-layer protocol the rule is bound to, from the header or its keywords.
    pub app_proto: Option<AppProto>,
    /// `flow` keyword.
    pub flow: Option<Flow>,
    /// `noalert` or `flowbits:noalert`/`xbits:noalert`.
    pub noalert: bool,
    /// Inspection buffers with their transforms and matches.
    pub buffers: Vec<BufferBlock>,
    /// Non-buffer conditions and actions, in rule order.
    pub conditions: Vec<Spanned<Condition>>,
    /// Keywords the parser accepted without a typed model (rare protocols); name and raw
    /// value, so a later engine can refuse or support them explicitly.
    pub untyped: Vec<Spanned<(String, String)>>,
    /// Where the rule came from.
    pub source: RuleSource,
}

impl Rule {
    /// All contents of the rule, with the buffer each inspects.
    pub fn contents(&self) -> impl Iterator<Item = (&BufferBlock, &Content)> {
        self.buffers.iter().flat_map(|b| {
            b.matches.iter().filter_map(move |m| match &m.item {
                Match::Content(c) => Some((b, c)),
                _ => None,
            })
        })
    }

    /// All pcres of the rule, with the buffer each inspects.
    pub fn pcres(&self) -> impl Iterator<Item = (&BufferBlock, &Pcre)> {
        self.buffers.iter().flat_map(|b| {
            b.matches.iter().filter_map(move |m| match &m.item {
                Match::Pcre(p) => Some((b, p)),
                _ => None,
            })
        })
    }
}

/// One inspection buffer instance with its transforms and ordered matches.
#[derive(Debug, Clone)]
pub struct BufferBlock {
    /// The buffer.
    pub buffer: Buffer,
    /// Transforms applied to the buffer before matching, in order.
    pub transforms: Vec<Transform>,
    /// Matches in rule order; relative items refer to the previous one.
    pub matches: Vec<Spanned<Match>>,
}

/// A buffer transform.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transform {
    /// `dotprefix`.
    DotPrefix,
    /// `to_lowercase`.
    ToLowercase,
    /// `to_uppercase`.
    ToUppercase,
    /// `strip_whitespace`.
    StripWhitespace,
    /// `compress_whitespace`.
    CompressWhitespace,
    /// `url_decode`.
    UrlDecode,
    /// `to_md5`.
    ToMd5,
    /// `to_sha1`.
    ToSha1,
    /// `to_sha256`.
    ToSha256,
    /// `header_lowercase`.
    HeaderLowercase,
    /// `strip_pseudo_headers`.
    StripPseudoHeaders,
    /// `xor:"hexkey"`: the decoded key.
    Xor(Vec<u8>),
    /// `pcrexform:"re"`: the output is the one capture group.
    PcreXform(PcreXform),
}

/// A compiled `pcrexform` expression.
#[derive(Debug, Clone)]
pub struct PcreXform {
    /// The expression as written.
    pub pattern: String,
    /// Compiled with Suricata's match limits.
    pub regex: Arc<pcre2::bytes::Regex>,
}

impl PartialEq for PcreXform {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}
impl Eq for PcreXform {}

/// Something matched against a buffer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Match {
    /// `content`.
    Content(Content),
    /// `pcre`.
    Pcre(Pcre),
    /// `byte_test`.
    ByteTest(ByteTest),
    /// `byte_jump`.
    ByteJump(ByteJump),
    /// `byte_extract`.
    ByteExtract(ByteExtract),
    /// `byte_math`.
    ByteMath(ByteMath),
    /// `isdataat`.
    IsDataAt(IsDataAt),
    /// `bsize`.
    Bsize(NumCheck),
    /// `urilen` (on `http.uri`, or `http.uri.raw` with `,raw`).
    Urilen(NumCheck),
    /// `base64_decode` (the decoded data is then `base64_data`).
    Base64Decode(Base64Decode),
    /// `dataset`.
    Dataset(Dataset),
    /// `datarep`.
    Datarep(Datarep),
    /// `asn1` checks.
    Asn1(String),
    /// `ftpbounce`.
    FtpBounce,
}

/// `fast_pattern` settings of a content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FastPattern {
    /// `fast_pattern:only`.
    pub only: bool,
    /// `fast_pattern:offset,length`: use only this slice of the pattern for the prefilter.
    pub chop: Option<(u16, u16)>,
}

/// A `content` with its modifiers.
#[derive(Debug, Clone)]
pub struct Content {
    /// The bytes to find (escapes and `|hex|` decoded).
    pub pattern: Vec<u8>,
    /// `content:!"..."`.
    pub negated: bool,
    /// `nocase`.
    pub nocase: bool,
    /// `rawbytes` (payload only).
    pub rawbytes: bool,
    /// `offset`.
    pub offset: Option<Value<u16>>,
    /// `depth`.
    pub depth: Option<Value<u16>>,
    /// `distance` (relative to the previous match).
    pub distance: Option<Value<i32>>,
    /// `within` (relative to the previous match).
    pub within: Option<Value<i32>>,
    /// `startswith`.
    pub startswith: bool,
    /// `endswith`.
    pub endswith: bool,
    /// `fast_pattern`.
    pub fast_pattern: Option<FastPattern>,
    /// `replace` (IPS).
    pub replace: Option<Vec<u8>>,
}

impl Content {
    /// True when the content is anchored to the previous match.
    pub fn is_relative(&self) -> bool {
        self.distance.is_some() || self.within.is_some()
    }
}

/// A capture variable of a pcre (`(?P<pkt_name>...)` or `,flow:name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcreCapture {
    /// `pkt`, `flow` or `alert`.
    pub scope: String,
    /// Variable name.
    pub name: String,
}

/// A `pcre` with its Suricata flags and the compiled expression.
#[derive(Debug, Clone)]
pub struct Pcre {
    /// The expression between the slashes.
    pub pattern: String,
    /// The flag letters as written.
    pub flags: String,
    /// `pcre:!"..."`.
    pub negated: bool,
    /// `R`: relative to the previous match.
    pub relative: bool,
    /// `i`.
    pub caseless: bool,
    /// `s`.
    pub dotall: bool,
    /// `m`.
    pub multiline: bool,
    /// `x`.
    pub extended: bool,
    /// `A`: the match must start at the inspection start (the engine checks the match
    /// start; the compiled expression is not anchored).
    pub anchored: bool,
    /// `E`: `$` matches only at the very end (the engine must treat a match ending before a
    /// final newline as no match).
    pub dollar_endonly: bool,
    /// `G`: quantifiers are lazy by default (compiled in via `(?U)`).
    pub ungreedy: bool,
    /// `O`: use the configured match limits (same as the defaults here).
    pub match_limit_override: bool,
    /// `B`: inspect raw bytes.
    pub rawbytes: bool,
    /// Capture variables.
    pub captures: Vec<PcreCapture>,
    /// The expression compiled with PCRE2 (JIT when available), carrying Suricata's default
    /// match and depth limits.
    pub regex: Arc<pcre2::bytes::Regex>,
}

/// Endianness of byte_* reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Endian {
    /// Network order (default).
    #[default]
    Big,
    /// Little endian.
    Little,
    /// DCE/RPC: the endianness of the PDU.
    Dce,
}

/// Base of string byte_* reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NumBase {
    /// `string,dec` (also `string` alone).
    Dec,
    /// `string,hex`.
    Hex,
    /// `string,oct`.
    Oct,
}

/// Comparison of `byte_test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ByteOp {
    /// `<`.
    Lt,
    /// `>`.
    Gt,
    /// `=`.
    Eq,
    /// `<=`.
    Le,
    /// `>=`.
    Ge,
    /// `&`: any bit of value set.
    And,
    /// `^`: xor non-zero.
    Xor,
}

/// `byte_test`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteTest {
    /// Bytes to read (1..=8, up to 23 for `string`).
    pub nbytes: Value<u8>,
    /// `!` before the operator.
    pub negated: bool,
    /// Operator.
    pub op: ByteOp,
    /// Value to compare with.
    pub value: Value<u64>,
    /// Offset of the read.
    pub offset: Value<i32>,
    /// `relative`.
    pub relative: bool,
    /// Endianness.
    pub endian: Endian,
    /// `string,<base>`.
    pub string: Option<NumBase>,
    /// `bitmask`.
    pub bitmask: Option<u32>,
}

/// `byte_jump`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteJump {
    /// Bytes to read.
    pub nbytes: Value<u8>,
    /// Offset of the read.
    pub offset: Value<i32>,
    /// `relative`.
    pub relative: bool,
    /// `multiplier`.
    pub multiplier: Option<u16>,
    /// Endianness.
    pub endian: Endian,
    /// `string,<base>`.
    pub string: Option<NumBase>,
    /// `align` (round to 4).
    pub align: bool,
    /// `from_beginning`.
    pub from_beginning: bool,
    /// `from_end`.
    pub from_end: bool,
    /// `post_offset`.
    pub post_offset: Option<i32>,
}

/// `byte_extract`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteExtract {
    /// Bytes to read.
    pub nbytes: u8,
    /// Offset of the read.
    pub offset: i32,
    /// Variable name set.
    pub name: String,
    /// `relative`.
    pub relative: bool,
    /// `multiplier`.
    pub multiplier: Option<u16>,
    /// Endianness.
    pub endian: Endian,
    /// `string,<base>`.
    pub string: Option<NumBase>,
    /// `align` 2 or 4.
    pub align: Option<u8>,
}

/// Operator of `byte_math`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MathOp {
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `<<`.
    Shl,
    /// `>>`.
    Shr,
}

/// `byte_math`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteMath {
    /// Bytes to read.
    pub nbytes: Value<u8>,
    /// Offset of the read.
    pub offset: i32,
    /// Operator.
    pub op: MathOp,
    /// Right operand.
    pub rvalue: Value<u32>,
    /// Variable name set.
    pub result: String,
    /// `relative`.
    pub relative: bool,
    /// Endianness.
    pub endian: Endian,
    /// `string <base>`.
    pub string: Option<NumBase>,
    /// `bitmask`.
    pub bitmask: Option<u32>,
}

/// `isdataat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsDataAt {
    /// `!`.
    pub negated: bool,
    /// Position.
    pub pos: Value<u16>,
    /// `relative`.
    pub relative: bool,
    /// `rawbytes`.
    pub rawbytes: bool,
}

/// A numeric comparison: `N`, `<N`, `>N`, `<=N`, `>=N`, `!N`, `N<>M` (exclusive range) or
/// `N-M` (inclusive range).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NumCheck {
    /// `N`.
    Eq(u64),
    /// `!N`.
    Ne(u64),
    /// `<N`.
    Lt(u64),
    /// `<=N`.
    Le(u64),
    /// `>N`.
    Gt(u64),
    /// `>=N`.
    Ge(u64),
    /// `N<>M`: strictly between.
    Between(u64, u64),
    /// `N-M`: inclusive range.
    Range(u64, u64),
}

impl NumCheck {
    /// Largest value the check can accept, if bounded.
    pub fn max_value(&self) -> Option<u64> {
        match *self {
            NumCheck::Eq(v) | NumCheck::Le(v) => Some(v),
            NumCheck::Lt(v) => Some(v.saturating_sub(1)),
            NumCheck::Between(_, hi) => Some(hi.saturating_sub(1)),
            NumCheck::Range(_, hi) => Some(hi),
            NumCheck::Ne(_) | NumCheck::Gt(_) | NumCheck::Ge(_) => None,
        }
    }
}

/// `base64_decode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Base64Decode {
    /// `bytes N`.
    pub bytes: Option<u32>,
    /// `offset N`.
    pub offset: Option<u32>,
    /// `relative`.
    pub relative: bool,
}

/// `dataset` command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DatasetCmd {
    /// `set`.
    Set,
    /// `unset`.
    Unset,
    /// `isset`.
    IsSet,
    /// `isnotset`.
    IsNotSet,
}

/// `dataset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    /// Command.
    pub cmd: DatasetCmd,
    /// Set name.
    pub name: String,
    /// `type` (`string`, `md5`, `sha256`, `ipv4`, `ip`).
    pub kind: Option<String>,
    /// `load` file (resolved against the rule file's directory).
    pub load: Option<PathBuf>,
    /// `state` file (load and save).
    pub state: Option<PathBuf>,
    /// `save` file.
    pub save: Option<PathBuf>,
    /// `memcap`.
    pub memcap: Option<u64>,
    /// `hashsize`.
    pub hashsize: Option<u64>,
}

/// `datarep`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datarep {
    /// Set name.
    pub name: String,
    /// Comparison.
    pub op: ByteOp,
    /// Reputation value compared.
    pub value: u16,
    /// `type`.
    pub kind: Option<String>,
    /// `load` file (resolved against the rule file's directory).
    pub load: Option<PathBuf>,
    /// `memcap`.
    pub memcap: Option<u64>,
    /// `hashsize`.
    pub hashsize: Option<u64>,
}

/// `flow` options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flow {
    /// `to_server`/`from_client`.
    pub to_server: bool,
    /// `to_client`/`from_server`.
    pub to_client: bool,
    /// `established`.
    pub established: bool,
    /// `not_established`.
    pub not_established: bool,
    /// `stateless`.
    pub stateless: bool,
    /// `only_stream`.
    pub only_stream: bool,
    /// `no_stream`.
    pub no_stream: bool,
    /// `only_frag`.
    pub only_frag: bool,
    /// `no_frag`.
    pub no_frag: bool,
}

/// flowbits/xbits command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BitCmd {
    /// `set`.
    Set,
    /// `toggle`.
    Toggle,
    /// `unset`.
    Unset,
    /// `isset`.
    IsSet,
    /// `isnotset`.
    IsNotSet,
}

/// How several bit names combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BitGroup {
    /// One name.
    Single,
    /// `a|b`: any.
    Or,
    /// `a&b`: all.
    And,
}

/// `flowbits`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flowbits {
    /// Command.
    pub cmd: BitCmd,
    /// Names.
    pub names: Vec<String>,
    /// How names combine.
    pub group: BitGroup,
}

/// `xbits`/`hostbits` tracking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BitTrack {
    /// `ip_src`.
    IpSrc,
    /// `ip_dst`.
    IpDst,
    /// `ip_pair`.
    IpPair,
}

/// `xbits`/`hostbits`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Xbits {
    /// Command.
    pub cmd: BitCmd,
    /// Bit name.
    pub name: String,
    /// Tracking.
    pub track: BitTrack,
    /// `expire` seconds.
    pub expire: Option<u32>,
}

/// `flowint` operation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlowintOp {
    /// `=`.
    Set,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `<`, `>`, `<=`, `>=`, `==`, `!=`.
    Cmp(String),
    /// `isset`.
    IsSet,
    /// `notset`/`isnotset`.
    NotSet,
}

/// `flowint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flowint {
    /// Variable name.
    pub name: String,
    /// Operation.
    pub op: FlowintOp,
    /// Operand (a number or another flowint's name).
    pub value: Option<Value<u32>>,
}

/// Threshold type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ThresholdType {
    /// `limit`.
    Limit,
    /// `threshold`.
    Threshold,
    /// `both`.
    Both,
    /// `backoff`.
    Backoff,
    /// detection_filter semantics.
    DetectionFilter,
}

/// Threshold tracking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Track {
    /// `by_src`.
    BySrc,
    /// `by_dst`.
    ByDst,
    /// `by_rule`.
    ByRule,
    /// `by_both`.
    ByBoth,
    /// `by_flow`.
    ByFlow,
}

/// `threshold` or `detection_filter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold {
    /// Type.
    pub kind: ThresholdType,
    /// Tracking.
    pub track: Track,
    /// `count` (for backoff: the first count).
    pub count: u32,
    /// `seconds` (0 for backoff).
    pub seconds: u32,
    /// `multiplier` (backoff).
    pub multiplier: Option<u32>,
}

/// `tag`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// `session` or `host`.
    pub kind: String,
    /// Count.
    pub count: Option<u32>,
    /// `packets`, `seconds` or `bytes`.
    pub metric: Option<String>,
    /// `src`/`dst` for host tags.
    pub direction: Option<String>,
}

/// A TCP flags test (`flags:[modifier]flags[,mask]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpFlags {
    /// Modifier: `+` (all plus others), `*` (any), `!` (not), or none (exact).
    pub modifier: Option<char>,
    /// Flag bits required (FIN=1 ... CWR=0x80), 0 for `0`.
    pub flags: u8,
    /// Bits ignored.
    pub mask: u8,
}

/// Non-buffer condition or action of a rule.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Condition {
    /// `flowbits`.
    Flowbits(Flowbits),
    /// `xbits`.
    Xbits(Xbits),
    /// `hostbits`.
    Hostbits(Xbits),
    /// `flowint`.
    Flowint(Flowint),
    /// `threshold`.
    Threshold(Threshold),
    /// `detection_filter`.
    DetectionFilter(Threshold),
    /// `dsize`.
    Dsize(NumCheck),
    /// `ttl`.
    Ttl(NumCheck),
    /// `itype`.
    Itype(NumCheck),
    /// `icode`.
    Icode(NumCheck),
    /// `icmp_id`.
    IcmpId(u16),
    /// `icmp_seq`.
    IcmpSeq(u16),
    /// `ip_proto` (`!` negation, comparison or protocol number).
    IpProto(String),
    /// `flags`/`tcp.flags`.
    TcpFlags(TcpFlags),
    /// `stream_size:side,op,value`.
    StreamSize(String),
    /// `app-layer-protocol` (negated, name).
    AppLayerProtocol(bool, String),
    /// `app-layer-event` (full name `proto.event`).
    AppLayerEvent(String),
    /// `decode-event`.
    DecodeEvent(String),
    /// `stream-event`.
    StreamEvent(String),
    /// `ssl_state` (raw list).
    SslState(String),
    /// `ssl_version` (raw list).
    SslVersion(String),
    /// `tls.version`.
    TlsVersion(String),
    /// `dns.opcode` (negated, value).
    DnsOpcode(bool, u8),
    /// `tag`.
    Tag(Tag),
    /// `flow.age`.
    FlowAge(NumCheck),
    /// `requires` (satisfied requirements, raw).
    Requires(String),
    /// `config` (raw).
    Config(String),
    /// `sameip`.
    SameIp,
}
