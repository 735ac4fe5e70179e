//! One rule: header, options, and Suricata's semantic checks.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::ast::*;
use crate::buffers::BufKind;
use crate::caps::{MAX_BYTE_VARS, MAX_OPTIONS_PER_RULE, MAX_RULE_LEN};
use crate::error::{rerr, show, Result, RuleError};
use crate::keywords::{self, Arg, Kind, KwDef, Quotes, Tx, K};
use crate::num::Base;
use crate::text::{self, Options};
use crate::values as val;
use crate::vars::Vars;

/// Classification entries: classtype name -> (description, priority).
pub type Classifications = HashMap<String, (String, u8)>;

/// Everything a rule is parsed against.
#[derive(Debug, Clone, Default)]
pub struct ParseContext {
    /// Rule variables.
    pub vars: Vars,
    /// Known classtypes; when present, unknown classtypes are accepted with default priority
    /// (Suricata warns and loads) and known ones give the rule its priority.
    pub classifications: Option<Arc<Classifications>>,
    /// Directory dataset/datarep files are resolved against.
    pub rules_dir: PathBuf,
    /// Features `requires` must not count on because the configuration turns them off
    /// (`ja3`, `ja4` with `app-layer.protocols.tls.ja3-fingerprints` / `ja4-fingerprints`
    /// set to `no`), as Suricata registers a feature only when it is enabled.
    pub features_off: Vec<String>,
}

/// The features a configuration turns off (see [`ParseContext::features_off`]), from the
/// same key/value settings rule variables come from.
pub fn features_off(settings: &std::collections::BTreeMap<String, String>) -> Vec<String> {
    let mut off = Vec::new();
    for (feature, key) in [
        ("ja3", "app-layer.protocols.tls.ja3-fingerprints"),
        ("ja4", "app-layer.protocols.tls.ja4-fingerprints"),
    ] {
        if settings.get(key).is_some_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "no" | "false" | "off" | "0"
            )
        }) {
            off.push(feature.to_string());
        }
    }
    off
}

/// Outcome of parsing one rule text.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum ParseOutcome {
    /// A valid rule.
    Rule(Rule),
    /// The rule's `requires` is not met by Suricata 7.0.10: skipped, not an error.
    Skipped(String),
    /// The rule is invalid; `sid` when it could be read.
    Failed {
        /// The rule's sid if it was found.
        sid: Option<u32>,
        /// Why.
        error: RuleError,
    },
}

/// Parse a single rule text (one logical line) with `ctx`. `file`/`line` are recorded in the
/// rule's source.
pub fn parse_rule(text: &[u8], ctx: &ParseContext, file: Arc<PathBuf>, line: u32) -> ParseOutcome {
    if text.len() > MAX_RULE_LEN {
        return ParseOutcome::Failed {
            sid: sniff_sid(text),
            error: rerr!(
                "rule",
                "rule is {} bytes, longer than {MAX_RULE_LEN} (cap MAX_RULE_LEN, Suricata's limit)",
                text.len()
            ),
        };
    }
    if text.contains(&0) {
        return ParseOutcome::Failed {
            sid: sniff_sid(text),
            error: rerr!("rule", "rule contains a NUL byte"),
        };
    }
    if let Some(req) = sniff_requires(text) {
        if !val::requires_met(&req, &ctx.features_off) {
            return ParseOutcome::Skipped(format!("requirements not met: {req}"));
        }
    }
    let mut b = Builder::new(text, ctx, file, line);
    match b.run() {
        Ok(rule) => ParseOutcome::Rule(rule),
        Err(error) => ParseOutcome::Failed {
            sid: b.sid.or_else(|| sniff_sid(text)),
            error,
        },
    }
}

/// Find `sid:N` in raw text, for error reports of rules that fail before their sid is read.
pub(crate) fn sniff_sid(text: &[u8]) -> Option<u32> {
    // Look at the head and the tail only: bounded work on huge lines.
    const WINDOW: usize = 2 * MAX_RULE_LEN;
    if text.len() > 2 * WINDOW {
        let head = text.get(..WINDOW).unwrap_or(&[]);
        let tail = text.get(text.len() - WINDOW..).unwrap_or(&[]);
        return sniff_sid(head).or_else(|| sniff_sid(tail));
    }
    let s = String::from_utf8_lossy(text);
    let mut rest = s.as_ref();
    while let Some(i) = rest.find("sid") {
        let before = rest.get(..i).and_then(|b| b.chars().last());
        rest = rest.get(i + 3..).unwrap_or("");
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
            continue;
        }
        let t = rest.trim_start();
        if let Some(t) = t.strip_prefix(':') {
            let digits: String = t
                .trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(n) = digits.parse::<u32>() {
                return Some(n);
            }
        }
    }
    None
}

fn sniff_requires(text: &[u8]) -> Option<String> {
    let parts = text::header_parts(text).ok()?;
    for o in Options::new(parts.options).flatten() {
        if o.name.eq_ignore_ascii_case(b"requires") {
            let v = o
                .value
                .map(|v| String::from_utf8_lossy(text::trim_blank_start(v)).into_owned());
            return Some(v.unwrap_or_default().trim_matches('"').to_string());
        }
    }
    None
}

/// A block plus builder bookkeeping.
#[derive(Debug)]
struct Block {
    b: BufferBlock,
    /// Selected with a sticky keyword (not created by a legacy modifier or the payload).
    sticky: bool,
}

struct Builder<'a> {
    text: &'a [u8],
    ctx: &'a ParseContext,
    file: Arc<PathBuf>,
    line: u32,
    sid: Option<u32>,
    gid: Option<u32>,
    rev: Option<u32>,
    msg: Option<String>,
    classtype: Option<String>,
    priority: Option<u32>,
    references: Vec<Reference>,
    metadata: Vec<(String, String)>,
    target: Option<Target>,
    app_proto: Option<AppProto>,
    header_proto: Option<Protocol>,
    flow: Option<Flow>,
    noalert: bool,
    blocks: Vec<Block>,
    payload: Option<usize>,
    cur: Option<usize>,
    last_content: Option<(usize, usize)>,
    /// The block of the last payload-inspecting match (content, pcre, byte_*, isdataat):
    /// where relative keywords go when no sticky buffer is set, as Suricata's
    /// `DetectGetLastSMFromLists` decides.
    last_pm_block: Option<usize>,
    byte_vars: Vec<String>,
    conditions: Vec<Spanned<Condition>>,
    untyped: Vec<Spanned<(String, String)>>,
    offset: usize,
    packet_kw: Option<&'static str>,
    seen_dsize: bool,
    seen_threshold: bool,
    seen_detection_filter: bool,
    seen_base64_decode: bool,
    ip_protos: Vec<Option<char>>,
}

fn utf8(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

impl<'a> Builder<'a> {
    fn new(text: &'a [u8], ctx: &'a ParseContext, file: Arc<PathBuf>, line: u32) -> Self {
        Builder {
            text,
            ctx,
            file,
            line,
            sid: None,
            gid: None,
            rev: None,
            msg: None,
            classtype: None,
            priority: None,
            references: Vec::new(),
            metadata: Vec::new(),
            target: None,
            app_proto: None,
            header_proto: None,
            flow: None,
            noalert: false,
            blocks: Vec::new(),
            payload: None,
            cur: None,
            last_content: None,
            last_pm_block: None,
            byte_vars: Vec::new(),
            conditions: Vec::new(),
            untyped: Vec::new(),
            offset: 0,
            packet_kw: None,
            seen_dsize: false,
            seen_threshold: false,
            seen_detection_filter: false,
            seen_base64_decode: false,
            ip_protos: Vec::new(),
        }
    }

    fn run(&mut self) -> Result<Rule> {
        let parts = text::header_parts(self.text).map_err(|e| rerr!("rule", "{e}"))?;
        let action = parse_action(parts.action)?;
        let protocol = self.parse_protocol(parts.protocol)?;
        self.header_proto = Some(protocol);
        if let Protocol::App(p) = protocol {
            self.app_proto = Some(p);
        }
        let src = crate::netexpr::parse_address(parts.src, &self.ctx.vars)
            .map_err(|e| relabel(e, "source address"))?;
        let src_ports = crate::netexpr::parse_ports(parts.sp, &self.ctx.vars)
            .map_err(|e| relabel(e, "source port"))?;
        let direction = match parts.direction {
            b"->" => Direction::ToDst,
            b"<>" => Direction::Both,
            d => {
                return Err(rerr!(
                    "direction",
                    "\"{}\" is not a valid direction, \"->\" and \"<>\" are supported",
                    show(d)
                ))
            }
        };
        let dst = crate::netexpr::parse_address(parts.dst, &self.ctx.vars)
            .map_err(|e| relabel(e, "destination address"))?;
        let dst_ports = crate::netexpr::parse_ports(parts.dp, &self.ctx.vars)
            .map_err(|e| relabel(e, "destination port"))?;

        let mut count = 0usize;
        for opt in Options::new(parts.options) {
            let opt = opt.map_err(|e| rerr!("rule", "{e}"))?;
            count += 1;
            if count > MAX_OPTIONS_PER_RULE {
                return Err(rerr!(
                    "rule",
                    "more than {MAX_OPTIONS_PER_RULE} options (cap MAX_OPTIONS_PER_RULE)"
                ));
            }
            self.offset = parts.options_offset + opt.offset;
            self.option(opt.name, opt.value)?;
        }
        self.finish(action, protocol, src, src_ports, direction, dst, dst_ports)
    }

    fn parse_protocol(&self, p: &[u8]) -> Result<Protocol> {
        let s = std::str::from_utf8(p).unwrap_or("");
        let lower = s.to_ascii_lowercase();
        let l4 = match lower.as_str() {
            "ip" => Some(Protocol::Ip),
            "ipv4" | "ip4" => Some(Protocol::Ipv4),
            "ipv6" | "ip6" => Some(Protocol::Ipv6),
            "tcp" => Some(Protocol::Tcp),
            "tcp-pkt" => Some(Protocol::TcpPkt),
            "tcp-stream" => Some(Protocol::TcpStream),
            "udp" => Some(Protocol::Udp),
            "icmp" => Some(Protocol::Icmp),
            "icmpv4" => Some(Protocol::Icmpv4),
            "icmpv6" => Some(Protocol::Icmpv6),
            "sctp" => Some(Protocol::Sctp),
            "pkthdr" => Some(Protocol::Pkthdr),
            _ => None,
        };
        if let Some(l4) = l4 {
            return Ok(l4);
        }
        match AppProto::from_name(s) {
            Some((a, true)) => Ok(Protocol::App(a)),
            _ => Err(rerr!(
                "protocol",
                "protocol \"{}\" cannot be used in a signature (unknown, or detection disabled by default)",
                show(p)
            )),
        }
    }

    /// Bind the rule to `p`, or fail like Suricata when it is bound to another protocol.
    fn set_proto(&mut self, kw: &str, p: AppProto) -> Result<()> {
        if !p.enabled_by_default() {
            return Err(rerr!(
                kw,
                "disabled alproto {}, rule can never match",
                p.name()
            ));
        }
        match self.app_proto {
            None => {
                self.app_proto = Some(p);
                Ok(())
            }
            Some(cur) if cur.accepts(p) => {
                // Narrow http_any to the more specific protocol when one is named.
                if cur == AppProto::Http && p != AppProto::Http {
                    self.app_proto = Some(p);
                }
                Ok(())
            }
            Some(cur) => Err(rerr!(
                kw,
                "can't set rule app proto to {}: already set to {}",
                p.name(),
                cur.name()
            )),
        }
    }

    fn spanned<T>(&self, item: T) -> Spanned<T> {
        Spanned {
            item,
            offset: self.offset,
        }
    }

    fn new_block(&mut self, buffer: Buffer, sticky: bool) -> usize {
        self.blocks.push(Block {
            b: BufferBlock {
                buffer,
                transforms: Vec::new(),
                matches: Vec::new(),
            },
            sticky,
        });
        self.blocks.len() - 1
    }

    fn payload_block(&mut self) -> usize {
        match self.payload {
            Some(i) => i,
            None => {
                let i = self.new_block(Buffer::Payload, false);
                self.payload = Some(i);
                i
            }
        }
    }

    /// Block of a legacy modifier / pcre flag buffer: reuse the non-sticky one.
    fn modifier_block(&mut self, buffer: Buffer) -> usize {
        if let Some(i) = self
            .blocks
            .iter()
            .position(|b| !b.sticky && b.b.buffer == buffer)
        {
            return i;
        }
        self.new_block(buffer, false)
    }

    /// The block new matches go to: the current sticky buffer, else the payload.
    fn target_block(&mut self) -> usize {
        match self.cur {
            Some(i) => i,
            None => self.payload_block(),
        }
    }

    /// The block a relative payload keyword joins: the sticky buffer when one is set, else
    /// (for a relative keyword, or `always`) the buffer of the last content, pcre, byte_* or
    /// isdataat — `content:"x"; http_uri; isdataat:1,relative;` inspects the URI, as in
    /// Suricata — else the packet payload.
    fn relative_block(&mut self, relative: bool) -> usize {
        match (self.cur, self.last_pm_block) {
            (Some(i), _) => i,
            (None, Some(b)) if relative => b,
            _ => self.payload_block(),
        }
    }

    fn push_match(&mut self, block: usize, m: Match) -> Result<usize> {
        if matches!(
            m,
            Match::Content(_)
                | Match::Pcre(_)
                | Match::ByteTest(_)
                | Match::ByteJump(_)
                | Match::ByteExtract(_)
                | Match::ByteMath(_)
                | Match::IsDataAt(_)
        ) {
            self.last_pm_block = Some(block);
        }
        let span = self.spanned(m);
        let blk = self
            .blocks
            .get_mut(block)
            .ok_or_else(|| rerr!("rule", "internal: no block"))?;
        blk.b.matches.push(span);
        Ok(blk.b.matches.len() - 1)
    }

    fn block_has_match(&self, block: usize, pred: impl Fn(&Match) -> bool) -> bool {
        self.blocks
            .get(block)
            .is_some_and(|b| b.b.matches.iter().any(|m| pred(&m.item)))
    }

    /// The content the modifier keywords apply to: the last content of the current sticky
    /// buffer, or with no sticky buffer the last content added anywhere.
    fn modifier_target(&self, kw: &str) -> Result<(usize, usize)> {
        let found = match self.cur {
            Some(c) => self.blocks.get(c).and_then(|b| {
                b.b.matches
                    .iter()
                    .rposition(|m| matches!(m.item, Match::Content(_)))
                    .map(|i| (c, i))
            }),
            None => self.last_content,
        };
        found.ok_or_else(|| rerr!(kw, "{kw} needs a preceding content option"))
    }

    fn content_mut(&mut self, at: (usize, usize)) -> Result<&mut Content> {
        match self
            .blocks
            .get_mut(at.0)
            .and_then(|b| b.b.matches.get_mut(at.1))
            .map(|m| &mut m.item)
        {
            Some(Match::Content(c)) => Ok(c),
            _ => Err(rerr!("rule", "internal: content not found")),
        }
    }

    /// The content/pcre before `at` in the same block.
    fn prev_content(&self, at: (usize, usize)) -> Option<&Content> {
        let b = self.blocks.get(at.0)?;
        b.b.matches
            .get(..at.1)?
            .iter()
            .rev()
            .find_map(|m| match &m.item {
                Match::Content(c) => Some(c),
                _ => None,
            })
    }

    fn var_value<T>(&self, kw: &str, v: &str, lit: impl Fn(&str) -> Result<T>) -> Result<Value<T>> {
        let t = v.trim();
        if t.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_digit() || b == b'-' || b == b'+')
        {
            return lit(t).map(Value::Lit);
        }
        if self.byte_vars.iter().any(|n| n == t) {
            return Ok(Value::Var(t.to_string()));
        }
        Err(rerr!(
            kw,
            "unknown byte_ keyword var seen in {kw} - \"{}\"",
            show(t.as_bytes())
        ))
    }

    fn option(&mut self, name: &[u8], value: Option<&[u8]>) -> Result<()> {
        let def: &'static KwDef = keywords::lookup(name).ok_or_else(|| {
            let kw = if name.is_empty() {
                "rule".to_string()
            } else {
                utf8(name)
            };
            rerr!(kw, "unknown rule keyword '{}'", show(name))
        })?;
        let kw = def.name;
        let value = value.filter(|v| !v.is_empty());
        match def.arg {
            Arg::Required if value.is_none() => {
                return Err(rerr!(
                    kw,
                    "invalid formatting or malformed option to {kw} keyword: value required"
                ))
            }
            Arg::NoValue if value.is_some_and(|v| !text::trim_blank_start(v).is_empty()) => {
                return Err(rerr!(kw, "unexpected option to {kw} keyword"))
            }
            _ => {}
        }
        let mut negated = false;
        let value: Option<Vec<u8>> = match value {
            Some(v) if def.arg != Arg::NoValue => {
                let mut v = text::trim_blank_start(v);
                if v.is_empty() {
                    return Err(rerr!(
                        kw,
                        "invalid formatting or malformed option to {kw} keyword"
                    ));
                }
                if def.negation {
                    if let Some(rest) = v.strip_prefix(b"!") {
                        negated = true;
                        v = text::trim_blank_start(rest);
                    }
                }
                if v.is_empty() {
                    return Err(rerr!(
                        kw,
                        "invalid formatting or malformed option to {kw} keyword"
                    ));
                }
                if def.quotes == Quotes::Mandatory && v.first() != Some(&b'"') {
                    return Err(rerr!(
                        kw,
                        "invalid formatting to {kw} keyword: value must be double quoted"
                    ));
                }
                if def.quotes != Quotes::Forbidden && v.first() == Some(&b'"') {
                    if v.len() < 2 || v.last() != Some(&b'"') {
                        return Err(rerr!(
                            kw,
                            "bad option value formatting (possible missing semicolon) for keyword {kw}: '{}'",
                            show(v)
                        ));
                    }
                    let inner = v.get(1..v.len() - 1).unwrap_or(&[]);
                    if inner.is_empty() {
                        return Err(rerr!(kw, "bad input for keyword {kw}: empty quoted value"));
                    }
                    Some(inner.to_vec())
                } else {
                    if v.first() == Some(&b'"') {
                        return Err(rerr!(
                            kw,
                            "quotes on {kw} keyword that doesn't support them"
                        ));
                    }
                    Some(v.to_vec())
                }
            }
            _ => None,
        };
        let vs = value.as_deref().map(utf8);
        match def.kind {
            Kind::Sticky(b) => self.sticky(kw, b),
            Kind::Modifier(b) => self.modifier(kw, b),
            Kind::Transform(t) => self.transform(kw, t, value.as_deref()),
            Kind::Generic(proto) => {
                if let Some(p) = proto {
                    self.set_proto(kw, p)?;
                }
                let mut raw = vs.unwrap_or_default();
                if negated {
                    raw.insert(0, '!');
                }
                let s = self.spanned((kw.to_string(), raw));
                self.untyped.push(s);
                Ok(())
            }
            Kind::Typed(k) => self.typed(
                kw,
                k,
                value.as_deref(),
                vs.as_deref().unwrap_or(""),
                negated,
            ),
        }
    }

    fn sticky(&mut self, kw: &str, b: Buffer) -> Result<()> {
        let def = b.def();
        if b == Buffer::Payload {
            self.cur = None;
            return Ok(());
        }
        if b == Buffer::Base64Data && !self.seen_base64_decode {
            return Err(rerr!(
                kw,
                "\"base64_data\" keyword seen without preceding base64_decode"
            ));
        }
        if b == Buffer::FileData {
            if let Some(p) = self.app_proto {
                use AppProto::*;
                if !matches!(
                    p,
                    Http | Http1 | Http2 | Smtp | Smb | Ftp | FtpData | Nfs | Imap
                ) {
                    return Err(rerr!(
                        kw,
                        "the 'file_data' keyword cannot be used with protocol {}",
                        p.name()
                    ));
                }
            }
        }
        // JA3/JA4 buffers exist for QUIC too in Suricata 7.
        let quic_ok = matches!(
            b,
            Buffer::Ja3Hash
                | Buffer::Ja3String
                | Buffer::Ja3sHash
                | Buffer::Ja3sString
                | Buffer::Ja4Hash
        ) && self.app_proto == Some(AppProto::Quic);
        if let Some(p) = def.proto.filter(|_| !quic_ok) {
            self.set_proto(kw, p)?;
        }
        let i = self.new_block(b, true);
        self.cur = Some(i);
        Ok(())
    }

    fn modifier(&mut self, kw: &str, b: Buffer) -> Result<()> {
        if let Some(c) = self.cur {
            let name = self.blocks.get(c).map(|x| x.b.buffer.name()).unwrap_or("");
            return Err(rerr!(
                kw,
                "\"{kw}\" keyword seen with sticky buffer {name} still set; reset it with pkt_data before using the modifier"
            ));
        }
        let no_ctx = || {
            rerr!(kw, "\"{kw}\" keyword found inside the rule without a content context; use a \"content\" keyword first")
        };
        let p = self.payload.ok_or_else(no_ctx)?;
        let idx = self
            .blocks
            .get(p)
            .and_then(|blk| {
                blk.b
                    .matches
                    .iter()
                    .rposition(|m| matches!(m.item, Match::Content(_)))
            })
            .ok_or_else(no_ctx)?;
        if let Some(Match::Content(c)) = self
            .blocks
            .get(p)
            .and_then(|blk| blk.b.matches.get(idx))
            .map(|m| &m.item)
        {
            if c.rawbytes {
                return Err(rerr!(
                    kw,
                    "{kw} can not be used with the rawbytes rule keyword"
                ));
            }
        }
        if let Some(proto) = b.def().proto {
            if let Some(cur) = self.app_proto {
                if !cur.accepts(proto) {
                    return Err(rerr!(kw, "rule contains conflicting alprotos set"));
                }
            }
            self.set_proto(kw, proto)?;
        }
        let moved = self
            .blocks
            .get_mut(p)
            .map(|blk| blk.b.matches.remove(idx))
            .ok_or_else(|| rerr!("rule", "internal: payload block"))?;
        let dst = self.modifier_block(b);
        let blk = self
            .blocks
            .get_mut(dst)
            .ok_or_else(|| rerr!("rule", "internal: no block"))?;
        blk.b.matches.push(moved);
        let new_at = (dst, blk.b.matches.len() - 1);
        self.last_content = Some(new_at);
        self.last_pm_block = Some(dst);
        // The payload block may now be empty; it is dropped at the end if so.
        Ok(())
    }

    fn transform(&mut self, kw: &str, t: Tx, value: Option<&[u8]>) -> Result<()> {
        let Some(c) = self.cur else {
            return Err(rerr!(kw, "transforms must directly follow stickybuffers"));
        };
        let tr = match t {
            Tx::DotPrefix => Transform::DotPrefix,
            Tx::ToLowercase => Transform::ToLowercase,
            Tx::ToUppercase => Transform::ToUppercase,
            Tx::StripWhitespace => Transform::StripWhitespace,
            Tx::CompressWhitespace => Transform::CompressWhitespace,
            Tx::UrlDecode => Transform::UrlDecode,
            Tx::ToMd5 => Transform::ToMd5,
            Tx::ToSha1 => Transform::ToSha1,
            Tx::ToSha256 => Transform::ToSha256,
            Tx::HeaderLowercase => Transform::HeaderLowercase,
            Tx::StripPseudoHeaders => Transform::StripPseudoHeaders,
            Tx::Xor => Transform::Xor(val::xor_key(&utf8(value.unwrap_or(&[])))?),
            Tx::PcreXform => Transform::PcreXform(crate::pcre::xform(value.unwrap_or(&[]))?),
        };
        if let Some(b) = self.blocks.get_mut(c) {
            b.b.transforms.push(tr);
        }
        Ok(())
    }

    fn add_content(&mut self, kw: &str, raw: &[u8], negated: bool) -> Result<(usize, usize)> {
        let pattern = val::content_bytes(kw, raw)?;
        let c = Content {
            pattern,
            negated,
            nocase: false,
            rawbytes: false,
            offset: None,
            depth: None,
            distance: None,
            within: None,
            startswith: false,
            endswith: false,
            fast_pattern: None,
            replace: None,
        };
        let blk = self.target_block();
        let i = self.push_match(blk, Match::Content(c))?;
        self.last_content = Some((blk, i));
        Ok((blk, i))
    }

    #[allow(clippy::too_many_lines)]
    fn typed(&mut self, kw: &str, k: K, raw: Option<&[u8]>, v: &str, negated: bool) -> Result<()> {
        let raw = raw.unwrap_or(&[]);
        match k {
            K::Msg => {
                if self.msg.is_some() {
                    return Err(rerr!(kw, "duplicated 'msg' keyword detected"));
                }
                self.msg = Some(val::msg_text(raw));
            }
            K::Sid => {
                if self.sid.is_some() {
                    return Err(rerr!(kw, "duplicated 'sid' keyword detected"));
                }
                self.sid = Some(val::id(kw, v, 1, u64::from(u32::MAX) - 1)?);
            }
            K::Rev => {
                if self.rev.is_some() {
                    return Err(rerr!(kw, "duplicated 'rev' keyword detected"));
                }
                self.rev = Some(val::id(kw, v, 1, u64::from(u32::MAX) - 1)?);
            }
            K::Gid => self.gid = Some(val::id(kw, v, 0, u64::from(u32::MAX) - 1)?),
            K::Classtype => {
                let name = v.trim().to_string();
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    return Err(rerr!(kw, "invalid classtype \"{}\"", show(name.as_bytes())));
                }
                // Suricata keeps the instance with the highest priority (lowest number).
                let prio = |n: &str| {
                    self.ctx
                        .classifications
                        .as_ref()
                        .and_then(|c| c.get(n))
                        .map(|e| e.1)
                        .unwrap_or(3)
                };
                match &self.classtype {
                    Some(old) if prio(old) <= prio(&name) => {}
                    _ => self.classtype = Some(name),
                }
            }
            K::Priority => {
                let p = val::u64_in(kw, "priority", v.trim(), Base::Ten, 0, u64::from(u32::MAX))?;
                let p = u32::try_from(p).unwrap_or(u32::MAX);
                self.priority = Some(self.priority.map_or(p, |old| old.min(p)));
            }
            K::Reference => self.references.push(val::reference(v)?),
            K::Metadata => val::metadata(v, &mut self.metadata)?,
            K::Target => {
                let t = val::target(v)?;
                if self.target.is_some_and(|old| old != t) {
                    return Err(rerr!(kw, "conflicting values of target keyword"));
                }
                self.target = Some(t);
            }
            K::Content => {
                self.add_content(kw, raw, negated)?;
            }
            K::Uricontent => {
                if self.cur.is_some() {
                    return Err(rerr!(kw, "uricontent seen with a sticky buffer still set"));
                }
                self.add_content(kw, raw, negated)?;
                self.modifier(kw, Buffer::HttpUri)?;
            }
            K::Nocase => {
                let at = self.modifier_target(kw)?;
                let c = self.content_mut(at)?;
                if c.nocase {
                    return Err(rerr!(
                        kw,
                        "can't use multiple nocase modifiers with the same content"
                    ));
                }
                c.nocase = true;
            }
            K::Rawbytes => {
                if let Some(cur) = self.cur {
                    let name = self
                        .blocks
                        .get(cur)
                        .map(|b| b.b.buffer.name())
                        .unwrap_or("");
                    return Err(rerr!(
                        kw,
                        "\"rawbytes\" cannot be combined with the \"{name}\" sticky buffer"
                    ));
                }
                let p = self
                    .payload
                    .ok_or_else(|| rerr!(kw, "\"rawbytes\" needs a preceding content option"))?;
                let idx = self
                    .blocks
                    .get(p)
                    .and_then(|b| {
                        b.b.matches
                            .iter()
                            .rposition(|m| matches!(m.item, Match::Content(_)))
                    })
                    .ok_or_else(|| rerr!(kw, "\"rawbytes\" needs a preceding content option"))?;
                self.content_mut((p, idx))?.rawbytes = true;
            }
            K::Depth | K::Offset => {
                let at = self.modifier_target(kw)?;
                let value = self.var_value(kw, v, |s| {
                    let n = val::u64_in(kw, kw, s, Base::Auto, 0, 65535)
                        .map_err(|_| rerr!(kw, "invalid value for {kw}: {}", show(s.as_bytes())))?;
                    u16::try_from(n).map_err(|_| rerr!(kw, "invalid value for {kw}"))
                })?;
                let c = self.content_mut(at)?;
                if c.is_relative() {
                    return Err(rerr!(
                        kw,
                        "can't use a relative keyword like within/distance with an absolute keyword like depth/offset for the same content"
                    ));
                }
                if c.fast_pattern.is_some_and(|f| f.only) {
                    return Err(rerr!(
                        kw,
                        "can't have {kw} with a fast_pattern:only content"
                    ));
                }
                if k == K::Depth {
                    if c.depth.is_some() || c.startswith {
                        return Err(rerr!(
                            kw,
                            "can't use multiple depth/startswith settings for the same content"
                        ));
                    }
                    if let Value::Lit(d) = value {
                        if usize::from(d) < c.pattern.len() {
                            return Err(rerr!(
                                kw,
                                "depth:{d} smaller than content of len {}",
                                c.pattern.len()
                            ));
                        }
                    }
                    c.depth = Some(value);
                } else {
                    if c.offset.is_some() {
                        return Err(rerr!(kw, "can't use multiple offsets for the same content"));
                    }
                    if c.startswith {
                        return Err(rerr!(kw, "can't mix offset with startswith"));
                    }
                    c.offset = Some(value);
                }
            }
            K::Distance | K::Within => {
                let at = self.modifier_target(kw)?;
                let value = self.var_value(kw, v, |s| {
                    let n = val::i64_in(
                        kw,
                        kw,
                        s,
                        Base::Auto,
                        i64::from(i32::MIN),
                        i64::from(i32::MAX),
                    )?;
                    i32::try_from(n).map_err(|_| rerr!(kw, "invalid value for {kw}"))
                })?;
                let prev_only = self
                    .prev_content(at)
                    .is_some_and(|p| p.fast_pattern.is_some_and(|f| f.only));
                let c = self.content_mut(at)?;
                if c.depth.is_some() || c.offset.is_some() || c.startswith {
                    return Err(rerr!(
                        kw,
                        "can't use a relative keyword like within/distance with an absolute keyword like depth/offset for the same content"
                    ));
                }
                if c.fast_pattern.is_some_and(|f| f.only) {
                    return Err(rerr!(
                        kw,
                        "can't have a relative keyword set along with a fast_pattern:only"
                    ));
                }
                if prev_only {
                    return Err(rerr!(kw, "previous content has fast_pattern:only set; can't have relative keywords around it"));
                }
                if k == K::Within {
                    if c.within.is_some() {
                        return Err(rerr!(kw, "can't use multiple withins for the same content"));
                    }
                    if let Value::Lit(w) = value {
                        if i64::from(w) < i64::try_from(c.pattern.len()).unwrap_or(i64::MAX) {
                            return Err(rerr!(
                                kw,
                                "within argument \"{w}\" is less than the content length \"{}\"; the rule can never match",
                                c.pattern.len()
                            ));
                        }
                    }
                    c.within = Some(value);
                } else {
                    if c.distance.is_some() {
                        return Err(rerr!(
                            kw,
                            "can't use multiple distances for the same content"
                        ));
                    }
                    c.distance = Some(value);
                }
            }
            K::Startswith => {
                let at = self.modifier_target(kw)?;
                let c = self.content_mut(at)?;
                if c.depth.is_some() || c.startswith {
                    return Err(rerr!(
                        kw,
                        "can't use multiple depth/startswith settings for the same content"
                    ));
                }
                if c.offset.is_some() {
                    return Err(rerr!(kw, "can't mix offset with startswith"));
                }
                if c.is_relative() {
                    return Err(rerr!(
                        kw,
                        "can't use a relative keyword like within/distance with an absolute keyword like startswith"
                    ));
                }
                c.startswith = true;
            }
            K::Endswith => {
                let at = self.modifier_target(kw)?;
                self.content_mut(at)?.endswith = true;
            }
            K::FastPattern => {
                let fp = val::fast_pattern(if raw.is_empty() { None } else { Some(v) })?;
                let at = self.modifier_target(kw)?;
                let other = self.blocks.get(at.0).is_some_and(|b| {
                    b.b.matches.iter().enumerate().any(|(i, m)| {
                        i != at.1
                            && matches!(&m.item, Match::Content(c) if c.fast_pattern.is_some())
                    })
                });
                let c = self.content_mut(at)?;
                if let Some(old) = c.fast_pattern {
                    // `fast_pattern:only; fast_pattern:1,1;` is accepted by Suricata: merge.
                    if old.only == fp.only && old.chop == fp.chop || (!fp.only && fp.chop.is_none())
                    {
                        return Err(rerr!(
                            kw,
                            "can't use multiple fast_pattern options for the same content"
                        ));
                    }
                    c.fast_pattern = Some(FastPattern {
                        only: old.only || fp.only,
                        chop: fp.chop.or(old.chop),
                    });
                    return Ok(());
                }
                if other {
                    return Err(rerr!(
                        kw,
                        "fast_pattern can be used on only one content in a buffer"
                    ));
                }
                if fp.only
                    && (c.negated || c.is_relative() || c.offset.is_some() || c.depth.is_some())
                {
                    return Err(rerr!(
                        kw,
                        "fast_pattern:only cannot be used with negated content or with distance, within, offset, depth"
                    ));
                }
                if let Some((o, l)) = fp.chop {
                    let end = usize::from(o) + usize::from(l);
                    if end > c.pattern.len() {
                        return Err(rerr!(
                            kw,
                            "fast pattern (length + offset ({end})) exceeds pattern length ({})",
                            c.pattern.len()
                        ));
                    }
                }
                c.fast_pattern = Some(fp);
            }
            K::Replace => {
                let at = self.modifier_target(kw)?;
                let r = val::content_bytes(kw, raw)?;
                self.content_mut(at)?.replace = Some(r);
            }
            K::Isdataat => {
                let d = val::isdataat(v, &self.byte_vars)?;
                let blk = self.relative_block(d.relative);
                self.push_match(blk, Match::IsDataAt(d))?;
            }
            K::Bsize => {
                let Some(c) = self.cur else {
                    return Err(rerr!(kw, "bsize needs a sticky buffer"));
                };
                let check = val::num_check(kw, v, u64::MAX)?;
                self.push_match(c, Match::Bsize(check))?;
            }
            K::Dsize => {
                if self.seen_dsize {
                    return Err(rerr!(kw, "can't use 2 or more dsizes in the same sig"));
                }
                self.seen_dsize = true;
                self.packet_kw = Some("dsize");
                let c = val::num_check(kw, v, 65535)?;
                self.push_cond(Condition::Dsize(c));
            }
            K::Urilen => {
                let (spec, raw_uri) = match v.rsplit_once(',') {
                    Some((s, "raw")) => (s, true),
                    Some((s, "norm")) => (s, false),
                    Some(_) => return Err(rerr!(kw, "invalid urilen \"{}\"", show(v.as_bytes()))),
                    None => (v, false),
                };
                let check = val::num_check(kw, spec, 65535)?;
                self.set_proto(kw, AppProto::Http)?;
                let blk = self.modifier_block(if raw_uri {
                    Buffer::HttpUriRaw
                } else {
                    Buffer::HttpUri
                });
                self.push_match(blk, Match::Urilen(check))?;
            }
            K::Pcre => self.pcre(raw, negated)?,
            K::ByteTest => {
                let t = val::byte_test(v, &self.byte_vars)?;
                let blk = self.relative_block(t.relative);
                self.push_match(blk, Match::ByteTest(t))?;
            }
            K::ByteJump => {
                let j = val::byte_jump(v, &self.byte_vars)?;
                let blk = self.relative_block(j.relative);
                self.push_match(blk, Match::ByteJump(j))?;
            }
            K::ByteExtract => {
                let e = val::byte_extract(v)?;
                self.add_var(kw, &e.name)?;
                let blk = self.relative_block(e.relative);
                self.push_match(blk, Match::ByteExtract(e))?;
            }
            K::ByteMath => {
                let m = val::byte_math(v, &self.byte_vars)?;
                self.add_var(kw, &m.result)?;
                let blk = self.relative_block(m.relative);
                self.push_match(blk, Match::ByteMath(m))?;
            }
            K::Flow => {
                if self.flow.is_some() {
                    return Err(rerr!(kw, "a signature may have only one flow option"));
                }
                self.flow = Some(val::flow(v)?);
            }
            K::Flowbits => match val::flowbits(v)? {
                None => self.noalert = true,
                Some(f) => self.push_cond(Condition::Flowbits(f)),
            },
            K::Flowint => {
                let f = val::flowint(v)?;
                self.push_cond(Condition::Flowint(f));
            }
            K::Xbits => {
                let x = val::xbits(v)?;
                self.push_cond(Condition::Xbits(x));
            }
            K::Hostbits => {
                let x = val::hostbits(v)?;
                self.push_cond(Condition::Hostbits(x));
            }
            K::Threshold => {
                if self.seen_threshold {
                    return Err(rerr!(
                        kw,
                        "multiple \"threshold\" options are not allowed in the same rule"
                    ));
                }
                if self.seen_detection_filter {
                    return Err(rerr!(
                        kw,
                        "\"detection_filter\" and \"threshold\" are not allowed in the same rule"
                    ));
                }
                self.seen_threshold = true;
                let t = val::threshold(v, false)?;
                self.push_cond(Condition::Threshold(t));
            }
            K::DetectionFilter => {
                if self.seen_detection_filter {
                    return Err(rerr!(
                        kw,
                        "multiple \"detection_filter\" options are not allowed in the same rule"
                    ));
                }
                if self.seen_threshold {
                    return Err(rerr!(
                        kw,
                        "\"detection_filter\" and \"threshold\" are not allowed in the same rule"
                    ));
                }
                self.seen_detection_filter = true;
                let t = val::threshold(v, true)?;
                self.push_cond(Condition::DetectionFilter(t));
            }
            K::Dataset | K::Datarep => {
                let Some(c) = self.cur else {
                    return Err(rerr!(kw, "datasets are only supported for sticky buffers"));
                };
                let m = if k == K::Dataset {
                    Match::Dataset(val::dataset(v, &self.ctx.rules_dir)?)
                } else {
                    Match::Datarep(val::datarep(v, &self.ctx.rules_dir)?)
                };
                self.push_match(c, m)?;
            }
            K::Base64Decode => {
                let d = val::base64_decode(if raw.is_empty() { None } else { Some(v) })?;
                self.seen_base64_decode = true;
                // Suricata places base64_decode after the last payload match whether or
                // not it is relative.
                let blk = self.relative_block(true);
                self.push_match(blk, Match::Base64Decode(d))?;
            }
            K::IpProto => {
                if !matches!(
                    self.header_proto,
                    Some(Protocol::Ip | Protocol::Ipv4 | Protocol::Ipv6)
                ) {
                    return Err(rerr!(
                        kw,
                        "ip_proto can only be used in rules with protocol ip"
                    ));
                }
                let (op, n) = val::ip_proto(v)?;
                let eq_mix = (op.is_none() && !self.ip_protos.is_empty())
                    || (op.is_some() && self.ip_protos.iter().any(Option::is_none));
                if eq_mix {
                    return Err(rerr!(
                        kw,
                        "can't use an equality ip_proto together with other ip_proto keywords"
                    ));
                }
                self.ip_protos.push(op);
                let text = match op {
                    Some(o) => format!("{o}{n}"),
                    None => n.to_string(),
                };
                self.push_cond(Condition::IpProto(text));
            }
            K::Ttl => {
                self.packet_kw = Some("ttl");
                let c = val::num_check(kw, v, 255)?;
                self.push_cond(Condition::Ttl(c));
            }
            K::Flags => {
                self.packet_kw = Some("flags");
                let f = val::tcp_flags(v)?;
                self.push_cond(Condition::TcpFlags(f));
            }
            K::Itype => {
                let c = val::num_check(kw, v, 255)?;
                self.push_cond(Condition::Itype(c));
            }
            K::Icode => {
                let c = val::num_check(kw, v, 255)?;
                self.push_cond(Condition::Icode(c));
            }
            K::IcmpId | K::IcmpSeq => {
                let n = val::u64_in(kw, kw, v.trim(), Base::Ten, 0, 65535)
                    .map_err(|_| rerr!(kw, "specified {kw} {} is not valid", show(v.as_bytes())))?;
                let n = u16::try_from(n).unwrap_or(0);
                self.push_cond(if k == K::IcmpId {
                    Condition::IcmpId(n)
                } else {
                    Condition::IcmpSeq(n)
                });
            }
            K::Noalert => self.noalert = true,
            K::Tag => {
                let t = val::tag(v)?;
                self.push_cond(Condition::Tag(t));
            }
            K::Requires => self.push_cond(Condition::Requires(v.trim().to_string())),
            K::AppLayerProtocol => {
                let t = v.trim();
                let (neg, name) = match t.strip_prefix('!') {
                    Some(r) => (true, r.trim()),
                    None => (false, t),
                };
                if AppProto::from_name(name).is_none()
                    && !matches!(name, "failed" | "unknown" | "ftp-data")
                {
                    return Err(rerr!(
                        kw,
                        "app-layer-protocol keyword supplied with unknown protocol \"{}\"",
                        show(name.as_bytes())
                    ));
                }
                self.push_cond(Condition::AppLayerProtocol(neg, name.to_string()));
            }
            K::AppLayerEvent => {
                let t = v.trim();
                if t.is_empty() || t.contains(char::is_whitespace) {
                    return Err(rerr!(kw, "invalid event name \"{}\"", show(t.as_bytes())));
                }
                if let Some((proto, _)) = t.split_once('.') {
                    if let Some((p, _)) = AppProto::from_name(proto) {
                        self.set_proto(kw, p)?;
                    }
                }
                self.push_cond(Condition::AppLayerEvent(t.to_string()));
            }
            K::DecodeEvent => {
                let t = v.trim();
                let name = t.strip_prefix("decoder.").unwrap_or(t);
                if !crate::events::DECODE_EVENTS.contains(&name) {
                    return Err(rerr!(kw, "unknown decode event \"{}\"", show(t.as_bytes())));
                }
                self.push_cond(Condition::DecodeEvent(name.to_string()));
            }
            K::StreamEvent => {
                let t = v.trim();
                let name = t.strip_prefix("stream.").unwrap_or(t);
                if !crate::events::STREAM_EVENTS.contains(&name) {
                    return Err(rerr!(kw, "unknown stream event \"{}\"", show(t.as_bytes())));
                }
                self.push_cond(Condition::StreamEvent(name.to_string()));
            }
            K::SslState => {
                let s = val::ssl_state(v)?;
                self.set_proto(kw, AppProto::Tls)?;
                self.push_cond(Condition::SslState(s));
            }
            K::SslVersion => {
                let s = val::ssl_version(v)?;
                self.set_proto(kw, AppProto::Tls)?;
                self.push_cond(Condition::SslVersion(s));
            }
            K::TlsVersion => {
                let s = val::tls_version(v)?;
                self.set_proto(kw, AppProto::Tls)?;
                self.push_cond(Condition::TlsVersion(s));
            }
            K::DnsOpcode => {
                let (n, o) = val::dns_opcode(v)?;
                self.set_proto(kw, AppProto::Dns)?;
                self.push_cond(Condition::DnsOpcode(n, o));
            }
            K::StreamSize => {
                let s = val::stream_size(v)?;
                self.push_cond(Condition::StreamSize(s));
            }
            K::FlowAge => {
                let c = val::num_check(kw, v, u64::from(u32::MAX))?;
                self.push_cond(Condition::FlowAge(c));
            }
            K::Asn1 => {
                for item in v.split(',') {
                    let item = item.trim();
                    let (k2, n) = item
                        .split_once(' ')
                        .map(|(a, b)| (a, Some(b.trim())))
                        .unwrap_or((item, None));
                    let ok = match (k2, n) {
                        ("bitstring_overflow" | "double_overflow", None) => true,
                        ("oversize_length" | "absolute_offset" | "relative_offset", Some(n)) => {
                            val::i64_in(kw, k2, n, Base::Ten, -65535, i64::from(u32::MAX)).is_ok()
                        }
                        _ => false,
                    };
                    if !ok {
                        return Err(rerr!(
                            kw,
                            "malformed asn1 argument \"{}\"",
                            show(item.as_bytes())
                        ));
                    }
                }
                let blk = self.target_block();
                self.push_match(blk, Match::Asn1(v.trim().to_string()))?;
            }
            K::Ftpbounce => {
                let blk = self.target_block();
                self.push_match(blk, Match::FtpBounce)?;
            }
            K::Sameip => self.push_cond(Condition::SameIp),
            K::Config => self.push_cond(Condition::Config(v.trim().to_string())),
        }
        Ok(())
    }

    fn add_var(&mut self, kw: &str, name: &str) -> Result<()> {
        if !self.byte_vars.iter().any(|n| n == name) {
            if self.byte_vars.len() >= MAX_BYTE_VARS {
                return Err(rerr!(
                    kw,
                    "more than {MAX_BYTE_VARS} byte variables (cap MAX_BYTE_VARS)"
                ));
            }
            self.byte_vars.push(name.to_string());
        }
        Ok(())
    }

    fn push_cond(&mut self, c: Condition) {
        let s = self.spanned(c);
        self.conditions.push(s);
    }

    fn pcre(&mut self, raw: &[u8], negated: bool) -> Result<()> {
        let kw = "pcre";
        let p = crate::pcre::parse(raw)?;
        let blk = match p.buffer {
            Some((b, flag)) => {
                if let Some(c) = self.cur {
                    let cur_buf = self.blocks.get(c).map(|x| canonical(x.b.buffer));
                    if cur_buf != Some(canonical(b)) {
                        return Err(rerr!(
                            kw,
                            "expression with flag '{flag}' seen with a sticky buffer still set; reset it with pkt_data or use the {} sticky buffer",
                            b.name()
                        ));
                    }
                    c
                } else {
                    if let Some(proto) = b.def().proto {
                        self.set_proto(kw, proto)?;
                    }
                    self.modifier_block(b)
                }
            }
            None => self.target_block(),
        };
        if p.relative && self.cur.is_none() {
            let has_prev =
                self.block_has_match(blk, |m| matches!(m, Match::Content(_) | Match::Pcre(_)));
            if !has_prev {
                return Err(rerr!(
                    kw,
                    "pcre with /R (relative) needs preceding match in the same buffer"
                ));
            }
        }
        // Suricata checks case only for the legacy `W` flag, not for pcres under `http.host`.
        if matches!(p.buffer, Some((Buffer::HttpHost, _)))
            && !p.caseless
            && crate::pcre::has_unescaped_upper(&p.pattern)
        {
            return Err(rerr!(
                kw,
                "pcre on the host buffer has an uppercase char; the buffer is lowercase, use an all-lowercase pcre"
            ));
        }
        let regex = crate::pcre::compile(
            kw,
            &p.pattern,
            p.caseless,
            p.dotall,
            p.multiline,
            p.extended,
            p.ungreedy,
        )?;
        let m = Pcre {
            pattern: p.pattern,
            flags: p.flags,
            negated,
            relative: p.relative,
            caseless: p.caseless,
            dotall: p.dotall,
            multiline: p.multiline,
            extended: p.extended,
            anchored: p.anchored,
            dollar_endonly: p.dollar_endonly,
            ungreedy: p.ungreedy,
            match_limit_override: p.match_limit_override,
            rawbytes: p.rawbytes,
            captures: p.captures,
            regex: Arc::new(regex),
        };
        self.push_match(blk, Match::Pcre(m))?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        &mut self,
        action: Action,
        protocol: Protocol,
        src: AddressSpec,
        src_ports: PortSpec,
        direction: Direction,
        dst: AddressSpec,
        dst_ports: PortSpec,
    ) -> Result<Rule> {
        let sid = self
            .sid
            .ok_or_else(|| rerr!("sid", "signature missing required value \"sid\""))?;
        let blocks = std::mem::take(&mut self.blocks);
        let mut merged: Vec<BufferBlock> = Vec::new();
        let flow = self.flow;
        let mut to_server = flow.is_some_and(|f| f.to_server);
        let mut to_client = flow.is_some_and(|f| f.to_client);
        for mut blk in blocks {
            match blk.b.buffer.def().dir {
                Dir::ToServer => to_server = true,
                Dir::ToClient => to_client = true,
                Dir::Both => {}
            }
            // Suricata 7 inspects http.response_body / http_server_body / pcre `Q` as file.data.
            blk.b.buffer = canonical(blk.b.buffer);
            if blk.b.matches.is_empty() {
                if blk.sticky {
                    return Err(rerr!(
                        blk.b.buffer.name(),
                        "rule {sid} sets up buffer {} but adds no matches to it",
                        blk.b.buffer.name()
                    ));
                }
                continue;
            }
            match merged
                .iter_mut()
                .find(|m| m.buffer == blk.b.buffer && m.transforms == blk.b.transforms)
            {
                Some(m) => m.matches.extend(blk.b.matches),
                None => merged.push(blk.b),
            }
        }
        // Blocks in the order the rule first inspects them.
        merged.sort_by_key(|b| {
            b.matches
                .iter()
                .map(|m| m.offset)
                .min()
                .unwrap_or(usize::MAX)
        });
        for b in &merged {
            validate_block(b)?;
            let def = b.buffer.def();
            if b.buffer == Buffer::HttpHeaderRaw
                && !flow.is_some_and(|f| f.to_server || f.to_client)
            {
                return Err(rerr!(
                    "http.header.raw",
                    "http_raw_header signature without a flow direction; use flow:to_server or flow:to_client"
                ));
            }
            if let Some(kw) = self.packet_kw {
                if def.kind == BufKind::App {
                    return Err(rerr!(
                        kw,
                        "signature combines packet specific matches (like dsize, flags, ttl) with stream/state matching on app-layer buffers"
                    ));
                }
            }
        }
        if to_server && to_client {
            return Err(rerr!(
                "flow",
                "rule {sid} mixes keywords with conflicting directions"
            ));
        }
        let priority = match self.priority {
            Some(p) => Some(u8::try_from(p).unwrap_or(u8::MAX)),
            None => self.classtype.as_ref().and_then(|c| {
                self.ctx
                    .classifications
                    .as_ref()
                    .and_then(|m| m.get(c))
                    .map(|e| e.1)
            }),
        };
        Ok(Rule {
            action,
            protocol,
            src,
            src_ports,
            direction,
            dst,
            dst_ports,
            sid,
            gid: self.gid.unwrap_or(1),
            rev: self.rev.unwrap_or(0),
            msg: self.msg.take(),
            classtype: self.classtype.take(),
            priority,
            references: std::mem::take(&mut self.references),
            metadata: std::mem::take(&mut self.metadata),
            target: self.target,
            app_proto: self.app_proto,
            flow,
            noalert: self.noalert,
            buffers: merged,
            conditions: std::mem::take(&mut self.conditions),
            untyped: std::mem::take(&mut self.untyped),
            source: RuleSource {
                file: self.file.clone(),
                line: self.line,
                text: String::from_utf8_lossy(self.text).into_owned(),
            },
        })
    }
}

/// The buffer Suricata 7 actually inspects for `b`.
fn canonical(b: Buffer) -> Buffer {
    match b {
        Buffer::HttpResponseBody => Buffer::FileData,
        o => o,
    }
}

fn relabel(mut e: RuleError, kw: &str) -> RuleError {
    e.keyword = kw.to_string();
    e
}

fn parse_action(a: &[u8]) -> Result<Action> {
    let s = std::str::from_utf8(a).unwrap_or("").to_ascii_lowercase();
    Ok(match s.as_str() {
        "alert" => Action::Alert,
        "pass" => Action::Pass,
        "drop" => Action::Drop,
        "reject" => Action::Reject,
        "rejectsrc" => Action::RejectSrc,
        "rejectdst" => Action::RejectDst,
        "rejectboth" => Action::RejectBoth,
        "config" => Action::Config,
        _ => return Err(rerr!("action", "action \"{}\" is not supported", show(a))),
    })
}

/// Per-buffer checks Suricata runs when a rule is complete.
fn validate_block(b: &BufferBlock) -> Result<()> {
    let name = b.buffer.name();
    let lower = b.transforms.contains(&Transform::ToLowercase);
    let upper = b.transforms.contains(&Transform::ToUppercase);
    let hashed = b.transforms.iter().any(|t| {
        matches!(
            t,
            Transform::ToMd5
                | Transform::ToSha1
                | Transform::ToSha256
                | Transform::PcreXform(_)
                | Transform::Xor(_)
        )
    });
    let mut fast = 0usize;
    // Smallest buffer size the contents need, for the bsize check.
    let (mut needed, mut prev_end) = (0u64, 0u64);
    let mut first_content = true;
    for m in &b.matches {
        let Match::Content(c) = &m.item else { continue };
        // Suricata checks hash lengths on the buffer's first content only.
        let is_first = std::mem::replace(&mut first_content, false);
        if c.fast_pattern.is_some() {
            fast += 1;
        }
        let has_upper = c.pattern.iter().any(u8::is_ascii_uppercase);
        let has_lower_letter = c.pattern.iter().any(u8::is_ascii_lowercase);
        if lower && !c.nocase && has_upper {
            return Err(rerr!(
                "content",
                "content \"{}\" incompatible with to_lowercase transform",
                show(&c.pattern)
            ));
        }
        if upper && !c.nocase && has_lower_letter {
            return Err(rerr!(
                "content",
                "content \"{}\" incompatible with to_uppercase transform",
                show(&c.pattern)
            ));
        }
        if b.transforms.is_empty() {
            match b.buffer {
                Buffer::HttpHost => {
                    if c.nocase {
                        return Err(rerr!(name, "http.host with \"nocase\": the hostname buffer is normalized to lowercase"));
                    }
                    if has_upper {
                        return Err(rerr!(
                            name,
                            "pattern with uppercase characters for http.host; the hostname buffer is normalized to lowercase"
                        ));
                    }
                }
                Buffer::HttpMethod => {
                    if c.pattern.first() == Some(&b' ') {
                        return Err(rerr!(name, "http_method pattern with leading space"));
                    }
                    if c.pattern.last() == Some(&b' ') {
                        return Err(rerr!(name, "http_method pattern with trailing space"));
                    }
                }
                Buffer::Ja3Hash | Buffer::Ja3sHash | Buffer::SshHassh | Buffer::SshHasshServer
                    if is_first && c.pattern.len() != 32 =>
                {
                    return Err(rerr!(
                        name,
                        "invalid length of the specified hash (should be 32 characters long)"
                    ));
                }
                Buffer::TlsCertFingerprint if is_first && c.pattern.len() != 59 => {
                    return Err(rerr!(name, "invalid length of the specified fingerprint (should be 59 characters long)"));
                }
                _ => {}
            }
        }
        if !c.negated && !hashed {
            let len = c.pattern.len() as u64;
            let start = if c.is_relative() {
                match c.distance {
                    Some(Value::Lit(d)) if d > 0 => prev_end + u64::from(d.unsigned_abs()),
                    _ => prev_end,
                }
            } else {
                match c.offset {
                    Some(Value::Lit(o)) => u64::from(o),
                    _ => 0,
                }
            };
            prev_end = start + len;
            needed = needed.max(prev_end);
        }
    }
    if fast > 1 {
        return Err(rerr!(
            "fast_pattern",
            "fast_pattern can be used on only one content in buffer {name}"
        ));
    }
    for m in &b.matches {
        if let Match::Bsize(check) = &m.item {
            if let Some(max) = check.max_value() {
                if needed > max && !hashed {
                    return Err(rerr!(
                        "bsize",
                        "signature can't match as required content length {needed} exceeds bsize value {max}"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Resolve the directory dataset files are relative to for a rule file.
pub(crate) fn rules_dir_of(file: &Path) -> PathBuf {
    file.parent().map(Path::to_path_buf).unwrap_or_default()
}
