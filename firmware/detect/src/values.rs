//! Value parsers of individual keywords: each turns the option's value into a typed AST node or
//! an error naming the keyword and the reason, with Suricata 7's accept/reject behaviour.

use std::path::{Path, PathBuf};

use crate::ast::*;
use crate::caps::{MAX_CONTENT_LEN, MAX_FLOWBIT_GROUP, MAX_METADATA_ENTRIES};
use crate::error::{rerr, show, Result};
use crate::num::{parse_i64, parse_u64, Base, NumError};

/// Split on `sep`, trimming blanks around each part.
fn parts(s: &str, sep: char) -> Vec<&str> {
    s.split(sep).map(|p| p.trim_matches([' ', '\t'])).collect()
}

fn num_err(kw: &str, what: &str, v: &str, e: NumError) -> crate::error::RuleError {
    match e {
        NumError::Invalid => rerr!(kw, "invalid {what} \"{}\"", show(v.as_bytes())),
        NumError::Range => rerr!(kw, "{what} \"{}\" out of range", show(v.as_bytes())),
    }
}

pub(crate) fn u64_in(kw: &str, what: &str, v: &str, base: Base, min: u64, max: u64) -> Result<u64> {
    parse_u64(v, base, min, max).map_err(|e| num_err(kw, what, v, e))
}

pub(crate) fn i64_in(kw: &str, what: &str, v: &str, base: Base, min: i64, max: i64) -> Result<i64> {
    parse_i64(v, base, min, max).map_err(|e| num_err(kw, what, v, e))
}

fn u32_of(kw: &str, what: &str, v: &str) -> Result<u32> {
    let n = u64_in(kw, what, v, Base::Ten, 0, u64::from(u32::MAX))?;
    u32::try_from(n).map_err(|_| rerr!(kw, "{what} out of range"))
}

/// Decode a content string: `|hex|` blocks and `\` escapes of `\ " ; :`.
pub(crate) fn content_bytes(kw: &str, s: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut hex = false;
    let mut nib: Option<u8> = None;
    let mut i = 0usize;
    while let Some(&b) = s.get(i) {
        if hex {
            match b {
                b'|' => {
                    if nib.is_some() {
                        return Err(rerr!(kw, "incomplete hex code in \"{}\"", show(s)));
                    }
                    hex = false;
                }
                b' ' | b'\t' => {}
                _ => {
                    let d = (b as char)
                        .to_digit(16)
                        .ok_or_else(|| rerr!(kw, "invalid hex code in \"{}\"", show(s)))?
                        as u8;
                    match nib.take() {
                        Some(hi) => out.push(hi << 4 | d),
                        None => nib = Some(d),
                    }
                }
            }
        } else {
            match b {
                b'|' => hex = true,
                b'\\' => {
                    i += 1;
                    match s.get(i) {
                        Some(&c @ (b'\\' | b'"' | b';' | b':')) => out.push(c),
                        _ => return Err(rerr!(kw, "'\\' has to be escaped")),
                    }
                }
                b'"' => return Err(rerr!(kw, "invalid unescaped double quote within content")),
                _ => out.push(b),
            }
        }
        if out.len() > MAX_CONTENT_LEN {
            return Err(rerr!(
                kw,
                "pattern longer than {MAX_CONTENT_LEN} bytes (cap MAX_CONTENT_LEN)"
            ));
        }
        i += 1;
    }
    if hex {
        return Err(rerr!(
            kw,
            "invalid hex code assembly: unterminated '|' in \"{}\"",
            show(s)
        ));
    }
    if out.is_empty() {
        return Err(rerr!(kw, "empty pattern"));
    }
    Ok(out)
}

/// `msg` text: a backslash escapes the next character, whatever it is (Suricata drops the
/// backslash of `\d` too); a trailing lone backslash stays.
pub(crate) fn msg_text(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0usize;
    while let Some(&b) = s.get(i) {
        if b == b'\\' {
            if let Some(&c) = s.get(i + 1) {
                out.push(c);
                i += 2;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `sid`/`rev`/`gid`: decimal, `max` inclusive.
pub(crate) fn id(kw: &str, v: &str, min: u64, max: u64) -> Result<u32> {
    let t = v.trim_matches([' ', '\t']);
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        if t.starts_with('-') {
            return Err(rerr!(kw, "{kw} value too high, max {max}"));
        }
        return Err(rerr!(kw, "invalid character as arg to {kw} keyword"));
    }
    let n = parse_u64(t, Base::Ten, 0, u64::MAX)
        .map_err(|_| rerr!(kw, "{kw} value too high, max {max}"))?;
    if n < min {
        return Err(rerr!(kw, "{kw} value {n} is invalid"));
    }
    if n > max {
        return Err(rerr!(kw, "{kw} value too high, max {max}"));
    }
    u32::try_from(n).map_err(|_| rerr!(kw, "{kw} value too high"))
}

pub(crate) fn reference(v: &str) -> Result<Reference> {
    let (sys, val) = v.split_once(',').ok_or_else(|| {
        rerr!(
            "reference",
            "expected \"system,value\", got \"{}\"",
            show(v.as_bytes())
        )
    })?;
    let sys = sys.trim_matches([' ', '\t']);
    let val = val.trim_matches([' ', '\t']);
    if sys.is_empty() || val.is_empty() {
        return Err(rerr!(
            "reference",
            "expected \"system,value\", got \"{}\"",
            show(v.as_bytes())
        ));
    }
    Ok(Reference {
        system: sys.to_string(),
        value: val.to_string(),
    })
}

pub(crate) fn metadata(v: &str, out: &mut Vec<(String, String)>) -> Result<()> {
    for item in parts(v, ',') {
        if item.is_empty() {
            continue;
        }
        if out.len() >= MAX_METADATA_ENTRIES {
            return Err(rerr!(
                "metadata",
                "more than {MAX_METADATA_ENTRIES} entries (cap MAX_METADATA_ENTRIES)"
            ));
        }
        let (k, val) = match item.split_once([' ', '\t']) {
            Some((k, v)) => (k, v.trim_matches([' ', '\t'])),
            None => (item, ""),
        };
        out.push((k.to_string(), val.to_string()));
    }
    Ok(())
}

pub(crate) fn target(v: &str) -> Result<Target> {
    match v.trim() {
        "src_ip" => Ok(Target::SrcIp),
        "dest_ip" => Ok(Target::DestIp),
        o => Err(rerr!(
            "target",
            "expected src_ip or dest_ip, got \"{}\"",
            show(o.as_bytes())
        )),
    }
}

/// Suricata's unsigned comparison syntax, values in `[0, max]`.
pub(crate) fn num_check(kw: &str, v: &str, max: u64) -> Result<NumCheck> {
    let t = v.trim_matches([' ', '\t']);
    let bad = || rerr!(kw, "invalid value \"{}\"", show(t.as_bytes()));
    let num = |s: &str| -> Result<u64> {
        let s = s.trim_matches([' ', '\t']);
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let n = parse_u64(s, Base::Ten, 0, max).map_err(|_| {
            rerr!(
                kw,
                "value \"{}\" out of range 0..={max}",
                show(s.as_bytes())
            )
        })?;
        Ok(n)
    };
    let check = if let Some(r) = t.strip_prefix("<=") {
        NumCheck::Le(num(r)?)
    } else if let Some(r) = t.strip_prefix(">=") {
        NumCheck::Ge(num(r)?)
    } else if let Some(r) = t.strip_prefix('<') {
        let n = num(r)?;
        if n == 0 {
            return Err(rerr!(kw, "\"<0\" can never match"));
        }
        NumCheck::Lt(n)
    } else if let Some(r) = t.strip_prefix('>') {
        let n = num(r)?;
        if n == max {
            return Err(rerr!(kw, "\">{max}\" can never match"));
        }
        NumCheck::Gt(n)
    } else if let Some(r) = t.strip_prefix('!') {
        NumCheck::Ne(num(r)?)
    } else if let Some((a, b)) = t.split_once("<>").or_else(|| t.split_once('-')) {
        let (a, b) = (num(a)?, num(b)?);
        if a >= b {
            return Err(rerr!(
                kw,
                "range \"{}\" is empty: first value must be smaller",
                show(t.as_bytes())
            ));
        }
        NumCheck::Between(a, b)
    } else {
        NumCheck::Eq(num(t)?)
    };
    Ok(check)
}

pub(crate) fn flow(v: &str) -> Result<Flow> {
    let mut f = Flow::default();
    for p in parts(v, ',') {
        let set = |flag: &mut bool, name: &str| -> Result<()> {
            if *flag {
                return Err(rerr!("flow", "option \"{name}\" given twice"));
            }
            *flag = true;
            Ok(())
        };
        match p {
            "to_server" | "from_client" => {
                if f.to_client {
                    return Err(rerr!("flow", "cannot set {p}: to_client already set"));
                }
                set(&mut f.to_server, p)?
            }
            "to_client" | "from_server" => {
                if f.to_server {
                    return Err(rerr!("flow", "cannot set {p}: to_server already set"));
                }
                set(&mut f.to_client, p)?
            }
            "established" => {
                if f.not_established || f.stateless {
                    return Err(rerr!(
                        "flow",
                        "cannot combine established with not_established/stateless"
                    ));
                }
                set(&mut f.established, p)?
            }
            "not_established" => {
                if f.established || f.stateless {
                    return Err(rerr!(
                        "flow",
                        "cannot combine not_established with established/stateless"
                    ));
                }
                set(&mut f.not_established, p)?
            }
            "stateless" => {
                if f.established || f.not_established {
                    return Err(rerr!("flow", "cannot combine stateless with established"));
                }
                set(&mut f.stateless, p)?
            }
            "only_stream" => {
                if f.no_stream {
                    return Err(rerr!("flow", "cannot combine only_stream and no_stream"));
                }
                set(&mut f.only_stream, p)?
            }
            "no_stream" => {
                if f.only_stream {
                    return Err(rerr!("flow", "cannot combine only_stream and no_stream"));
                }
                set(&mut f.no_stream, p)?
            }
            "only_frag" => {
                if f.no_frag {
                    return Err(rerr!("flow", "cannot combine only_frag and no_frag"));
                }
                set(&mut f.only_frag, p)?
            }
            "no_frag" => {
                if f.only_frag {
                    return Err(rerr!("flow", "cannot combine only_frag and no_frag"));
                }
                set(&mut f.no_frag, p)?
            }
            o => {
                return Err(rerr!(
                    "flow",
                    "invalid flow option \"{}\"",
                    show(o.as_bytes())
                ))
            }
        }
    }
    Ok(f)
}

fn bit_cmd(kw: &str, c: &str) -> Result<BitCmd> {
    Ok(match c {
        "set" => BitCmd::Set,
        "unset" => BitCmd::Unset,
        "toggle" => BitCmd::Toggle,
        "isset" => BitCmd::IsSet,
        "isnotset" => BitCmd::IsNotSet,
        o => {
            return Err(rerr!(
                kw,
                "action \"{}\" is not supported",
                show(o.as_bytes())
            ))
        }
    })
}

/// `flowbits`; `Ok(None)` for `flowbits:noalert`.
pub(crate) fn flowbits(v: &str) -> Result<Option<Flowbits>> {
    let (cmd, name) = match v.split_once(',') {
        Some((c, n)) => (c, Some(n)),
        None => (v, None),
    };
    if cmd == "noalert" {
        if name.is_some() {
            return Err(rerr!("flowbits", "noalert takes no flowbit name"));
        }
        return Ok(None);
    }
    let cmd = bit_cmd("flowbits", cmd)?;
    // Blanks after the comma are accepted (`set, name`); blanks inside names are not.
    let name = name
        .map(|n| n.trim_start_matches([' ', '\t']))
        .filter(|n| !n.is_empty())
        .ok_or_else(|| rerr!("flowbits", "missing flowbit name"))?;
    if name.contains([' ', '\t']) {
        return Err(rerr!("flowbits", "spaces not allowed in flowbit names"));
    }
    let group = if name.contains('|') {
        BitGroup::Or
    } else if name.contains('&') {
        BitGroup::And
    } else {
        BitGroup::Single
    };
    let names: Vec<String> = name.split(['|', '&']).map(str::to_string).collect();
    if names.iter().any(String::is_empty) {
        return Err(rerr!(
            "flowbits",
            "empty flowbit name in \"{}\"",
            show(name.as_bytes())
        ));
    }
    if names.len() > MAX_FLOWBIT_GROUP {
        return Err(rerr!(
            "flowbits",
            "more than {MAX_FLOWBIT_GROUP} names in one group (cap MAX_FLOWBIT_GROUP)"
        ));
    }
    Ok(Some(Flowbits { cmd, names, group }))
}

pub(crate) fn xbits(v: &str) -> Result<Xbits> {
    let p = parts(v, ',');
    let bad = || {
        rerr!(
            "xbits",
            "\"{}\" is not a valid setting for xbits",
            show(v.as_bytes())
        )
    };
    let cmd = bit_cmd("xbits", p.first().copied().unwrap_or("")).map_err(|_| bad())?;
    let name = p
        .get(1)
        .copied()
        .filter(|n| !n.is_empty())
        .ok_or_else(bad)?;
    let track = match p
        .get(2)
        .copied()
        .and_then(|t| t.strip_prefix("track"))
        .map(str::trim)
    {
        Some("ip_src") => BitTrack::IpSrc,
        Some("ip_dst") => BitTrack::IpDst,
        Some("ip_pair") => BitTrack::IpPair,
        _ => return Err(bad()),
    };
    let mut expire = None;
    if let Some(e) = p.get(3).and_then(|e| e.strip_prefix("expire")) {
        let n = u32_of("xbits", "expire", e.trim())?;
        if n == 0 {
            return Err(rerr!("xbits", "expire must be bigger than 0"));
        }
        expire = Some(n);
    }
    Ok(Xbits {
        cmd,
        name: name.to_string(),
        track,
        expire,
    })
}

pub(crate) fn hostbits(v: &str) -> Result<Xbits> {
    let p = parts(v, ',');
    let bad = || {
        rerr!(
            "hostbits",
            "\"{}\" is not a valid setting for hostbits",
            show(v.as_bytes())
        )
    };
    if p.len() > 3 {
        return Err(bad());
    }
    let cmd = bit_cmd("hostbits", p.first().copied().unwrap_or("")).map_err(|_| bad())?;
    let name = p
        .get(1)
        .copied()
        .filter(|n| !n.is_empty())
        .ok_or_else(bad)?;
    let track = match p.get(2).copied() {
        None | Some("src") => BitTrack::IpSrc,
        Some("dst") => BitTrack::IpDst,
        Some("both") => BitTrack::IpPair,
        _ => return Err(bad()),
    };
    Ok(Xbits {
        cmd,
        name: name.to_string(),
        track,
        expire: None,
    })
}

fn var_name_ok(s: &str) -> bool {
    let mut it = s.chars();
    matches!(it.next(), Some(c) if c.is_ascii_alphabetic())
        && s.len() >= 2
        && it.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

pub(crate) fn flowint(v: &str) -> Result<Flowint> {
    let p = parts(v, ',');
    let bad = || {
        rerr!(
            "flowint",
            "\"{}\" is not a valid setting for flowint",
            show(v.as_bytes())
        )
    };
    let name = p
        .first()
        .copied()
        .filter(|n| var_name_ok(n))
        .ok_or_else(bad)?;
    let op = match p.get(1).copied() {
        Some("=") => FlowintOp::Set,
        Some("+") => FlowintOp::Add,
        Some("-") => FlowintOp::Sub,
        Some(c @ ("<" | ">" | "<=" | ">=" | "==" | "!=")) => FlowintOp::Cmp(c.to_string()),
        Some("isset") => FlowintOp::IsSet,
        Some("notset" | "isnotset") => FlowintOp::NotSet,
        _ => return Err(bad()),
    };
    let needs_value = !matches!(op, FlowintOp::IsSet | FlowintOp::NotSet);
    let value = match (p.get(2).copied(), needs_value) {
        (None, false) => None,
        (Some(x), true) if p.len() == 3 => {
            if x.bytes().all(|b| b.is_ascii_digit()) && !x.is_empty() && x.len() <= 10 {
                Some(Value::Lit(
                    u32_of("flowint", "value", x).map_err(|_| bad())?,
                ))
            } else if var_name_ok(x) {
                Some(Value::Var(x.to_string()))
            } else {
                return Err(bad());
            }
        }
        _ => return Err(bad()),
    };
    Ok(Flowint {
        name: name.to_string(),
        op,
        value,
    })
}

/// `threshold` (`detection == false`) or `detection_filter` (`detection == true`).
pub(crate) fn threshold(v: &str, detection: bool) -> Result<Threshold> {
    let kw = if detection {
        "detection_filter"
    } else {
        "threshold"
    };
    let bad = || rerr!(kw, "invalid value \"{}\"", show(v.as_bytes()));
    let (mut kind, mut track, mut count, mut seconds) = (None, None, None, None);
    for p in parts(v, ',') {
        let (k, val) = p.split_once([' ', '\t']).ok_or_else(bad)?;
        let val = val.trim_matches([' ', '\t']);
        let dup = |slot_is_some: bool| if slot_is_some { Err(bad()) } else { Ok(()) };
        match k {
            "type" if !detection => {
                dup(kind.is_some())?;
                kind = Some(match val {
                    "limit" => ThresholdType::Limit,
                    "threshold" => ThresholdType::Threshold,
                    "both" => ThresholdType::Both,
                    _ => return Err(bad()),
                });
            }
            "track" => {
                dup(track.is_some())?;
                track = Some(match val {
                    "by_src" => Track::BySrc,
                    "by_dst" => Track::ByDst,
                    "by_rule" if !detection => Track::ByRule,
                    "by_both" if !detection => Track::ByBoth,
                    _ => return Err(bad()),
                });
            }
            "count" => {
                dup(count.is_some())?;
                count = Some(u32_of(kw, "count", val)?);
            }
            "seconds" => {
                dup(seconds.is_some())?;
                seconds = Some(u32_of(kw, "seconds", val)?);
            }
            _ => return Err(bad()),
        }
    }
    let kind = if detection {
        Some(ThresholdType::DetectionFilter)
    } else {
        kind
    };
    match (kind, track, count, seconds) {
        (Some(kind), Some(track), Some(count), Some(seconds)) => Ok(Threshold {
            kind,
            track,
            count,
            seconds,
            multiplier: None,
        }),
        _ => Err(rerr!(
            kw,
            "needs type, track, count and seconds: \"{}\"",
            show(v.as_bytes())
        )),
    }
}

pub(crate) fn tag(v: &str) -> Result<Tag> {
    let p = parts(v, ',');
    let bad = || rerr!("tag", "invalid value \"{}\"", show(v.as_bytes()));
    let kind = match p.first().copied() {
        Some(k @ ("session" | "host")) => k.to_string(),
        _ => return Err(bad()),
    };
    let count = match p.get(1) {
        Some(c) => Some(u32_of("tag", "count", c)?),
        None => None,
    };
    let metric = match p.get(2).copied() {
        Some(m @ ("packets" | "seconds" | "bytes")) => Some(m.to_string()),
        Some(_) => return Err(bad()),
        None => None,
    };
    if count.is_some() && metric.is_none() {
        return Err(bad());
    }
    let direction = match p.get(3).copied() {
        Some(d @ ("src" | "dst")) if kind == "host" => Some(d.to_string()),
        Some(_) => return Err(bad()),
        None => None,
    };
    if p.len() > 4 {
        return Err(bad());
    }
    Ok(Tag {
        kind,
        count,
        metric,
        direction,
    })
}

fn flag_bits(s: &str) -> Option<u8> {
    let mut bits = 0u8;
    for c in s.chars() {
        bits |= match c.to_ascii_uppercase() {
            'F' => 0x01,
            'S' => 0x02,
            'R' => 0x04,
            'P' => 0x08,
            'A' => 0x10,
            'U' => 0x20,
            'E' | '2' => 0x40,
            'C' | '1' => 0x80,
            '0' => 0,
            _ => return None,
        };
    }
    Some(bits)
}

pub(crate) fn tcp_flags(v: &str) -> Result<TcpFlags> {
    let t = v.trim();
    let bad = || rerr!("flags", "invalid flags \"{}\"", show(t.as_bytes()));
    let (main, mask) = match t.split_once(',') {
        Some((m, k)) => (m.trim(), Some(k.trim())),
        None => (t, None),
    };
    let mut modifier = None;
    let mut letters = String::new();
    for c in main.chars() {
        match c {
            '+' | '*' | '!' => {
                if modifier.is_some() {
                    return Err(bad());
                }
                modifier = Some(c);
            }
            _ => letters.push(c),
        }
    }
    if letters.is_empty() {
        return Err(bad());
    }
    let flags = flag_bits(&letters).ok_or_else(bad)?;
    let mask = match mask {
        Some(m) => flag_bits(m).ok_or_else(bad)?,
        None => 0,
    };
    Ok(TcpFlags {
        modifier,
        flags,
        mask,
    })
}

const IP_PROTO_NAMES: &[(&str, u8)] = &[
    ("ip", 0),
    ("hopopt", 0),
    ("icmp", 1),
    ("igmp", 2),
    ("ggp", 3),
    ("ipencap", 4),
    ("st", 5),
    ("tcp", 6),
    ("egp", 8),
    ("igp", 9),
    ("pup", 12),
    ("udp", 17),
    ("hmp", 20),
    ("xns-idp", 22),
    ("rdp", 27),
    ("iso-tp4", 29),
    ("dccp", 33),
    ("xtp", 36),
    ("ddp", 37),
    ("idpr-cmtp", 38),
    ("ipv6", 41),
    ("ipv6-route", 43),
    ("ipv6-frag", 44),
    ("idrp", 45),
    ("rsvp", 46),
    ("gre", 47),
    ("esp", 50),
    ("ah", 51),
    ("skip", 57),
    ("ipv6-icmp", 58),
    ("ipv6-nonxt", 59),
    ("ipv6-opts", 60),
    ("rspf", 73),
    ("vmtp", 81),
    ("eigrp", 88),
    ("ospf", 89),
    ("ax.25", 93),
    ("ipip", 94),
    ("etherip", 97),
    ("encap", 98),
    ("pim", 103),
    ("ipcomp", 108),
    ("vrrp", 112),
    ("l2tp", 115),
    ("isis", 124),
    ("sctp", 132),
    ("fc", 133),
    ("mobility-header", 135),
    ("udplite", 136),
    ("mpls-in-ip", 137),
    ("manet", 138),
    ("hip", 139),
    ("shim6", 140),
    ("wesp", 141),
    ("rohc", 142),
    ("ethernet", 143),
];

/// `ip_proto`: returns (operator, protocol number).
pub(crate) fn ip_proto(v: &str) -> Result<(Option<char>, u8)> {
    let t = v.trim();
    let (op, rest) = match t.chars().next() {
        Some(c @ ('!' | '<' | '>')) => (Some(c), t.get(1..).unwrap_or("").trim()),
        _ => (None, t),
    };
    let n = if rest.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
        let n = parse_u64(rest, Base::Ten, 0, 255).map_err(|_| {
            rerr!(
                "ip_proto",
                "malformed protocol number: \"{}\"",
                show(rest.as_bytes())
            )
        })?;
        u8::try_from(n).map_err(|_| rerr!("ip_proto", "malformed protocol number"))?
    } else {
        IP_PROTO_NAMES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(rest))
            .map(|&(_, n)| n)
            .ok_or_else(|| {
                rerr!(
                    "ip_proto",
                    "unknown protocol name: \"{}\"",
                    show(rest.as_bytes())
                )
            })?
    };
    Ok((op, n))
}

fn endian_word(w: &str) -> Option<Endian> {
    match w {
        "big" => Some(Endian::Big),
        "little" => Some(Endian::Little),
        "dce" => Some(Endian::Dce),
        _ => None,
    }
}

fn base_word(w: &str) -> Option<NumBase> {
    match w {
        "dec" => Some(NumBase::Dec),
        "hex" => Some(NumBase::Hex),
        "oct" => Some(NumBase::Oct),
        _ => None,
    }
}

fn var_or<T>(
    kw: &str,
    what: &str,
    s: &str,
    vars: &[String],
    lit: impl Fn(&str) -> Result<T>,
) -> Result<Value<T>> {
    let first = s.bytes().next();
    if first.is_some_and(|b| b.is_ascii_digit() || b == b'-' || b == b'+') {
        return lit(s).map(Value::Lit);
    }
    if vars.iter().any(|v| v == s) {
        return Ok(Value::Var(s.to_string()));
    }
    Err(rerr!(
        kw,
        "unknown byte_extract/byte_math variable \"{}\" used as {what}",
        show(s.as_bytes())
    ))
}

fn bitmask(kw: &str, s: &str) -> Result<u32> {
    let n = u64_in(kw, "bitmask", s, Base::Auto, 0, u64::from(u32::MAX))?;
    u32::try_from(n).map_err(|_| rerr!(kw, "bitmask out of range"))
}

fn nbytes_check(kw: &str, n: u8, string: bool) -> Result<()> {
    if !string && n > 8 {
        return Err(rerr!(
            kw,
            "cannot read more than 8 bytes without \"string\""
        ));
    }
    if string && n > 23 {
        return Err(rerr!(kw, "cannot read more than 23 bytes with \"string\""));
    }
    Ok(())
}

fn nbytes_lit(kw: &str, s: &str) -> Result<u8> {
    let n = u64_in(kw, "byte count", s, Base::Ten, 0, 255)?;
    u8::try_from(n).map_err(|_| rerr!(kw, "byte count out of range"))
}

fn offset_lit(kw: &str, s: &str) -> Result<i32> {
    let n = i64_in(
        kw,
        "offset",
        s,
        Base::Ten,
        i64::from(i32::MIN),
        i64::from(i32::MAX),
    )?;
    i32::try_from(n).map_err(|_| rerr!(kw, "offset out of range"))
}

pub(crate) fn byte_test(v: &str, vars: &[String]) -> Result<ByteTest> {
    let kw = "byte_test";
    let p = parts(v, ',');
    if p.len() < 4 {
        return Err(rerr!(
            kw,
            "needs at least nbytes, operator, value, offset: \"{}\"",
            show(v.as_bytes())
        ));
    }
    let nbytes = var_or(
        kw,
        "byte count",
        p.first().copied().unwrap_or(""),
        vars,
        |s| nbytes_lit(kw, s),
    )?;
    let opstr = p.get(1).copied().unwrap_or("");
    let (negated, opstr) = match opstr.strip_prefix('!') {
        Some(r) => (true, r.trim()),
        None => (false, opstr),
    };
    let op = match opstr {
        "<" => ByteOp::Lt,
        ">" => ByteOp::Gt,
        "=" | "" if negated || opstr == "=" => ByteOp::Eq,
        "<=" => ByteOp::Le,
        ">=" => ByteOp::Ge,
        "&" => ByteOp::And,
        "^" => ByteOp::Xor,
        _ => return Err(rerr!(kw, "invalid operator \"{}\"", show(opstr.as_bytes()))),
    };
    let value = var_or(kw, "value", p.get(2).copied().unwrap_or(""), vars, |s| {
        // C strtoull semantics: a leading '-' wraps; Suricata accepts it.
        if let Some(neg) = s.strip_prefix('-') {
            let n = u64_in(kw, "value", neg, Base::Auto, 0, u64::MAX)?;
            return Ok(0u64.wrapping_sub(n));
        }
        u64_in(kw, "value", s, Base::Auto, 0, u64::MAX)
    })?;
    let offset = var_or(kw, "offset", p.get(3).copied().unwrap_or(""), vars, |s| {
        offset_lit(kw, s)
    })?;
    let mut t = ByteTest {
        nbytes,
        negated,
        op,
        value,
        offset,
        relative: false,
        endian: Endian::Big,
        string: None,
        bitmask: None,
    };
    let mut saw_string = false;
    let mut base = None;
    for w in p.iter().skip(4).copied() {
        if w == "relative" {
            t.relative = true;
        } else if w == "string" {
            saw_string = true;
        } else if let Some(e) = endian_word(w) {
            t.endian = e;
        } else if let Some(b) = base_word(w) {
            base = Some(b);
        } else if let Some(m) = w.strip_prefix("bitmask") {
            t.bitmask = Some(bitmask(kw, m.trim())?);
        } else {
            return Err(rerr!(kw, "unknown option \"{}\"", show(w.as_bytes())));
        }
    }
    if base.is_some() && !saw_string {
        return Err(rerr!(kw, "cannot use a base without \"string\""));
    }
    if saw_string {
        t.string = Some(base.unwrap_or(NumBase::Dec));
    }
    if let Value::Lit(n) = t.nbytes {
        nbytes_check(kw, n, saw_string)?;
    }
    Ok(t)
}

pub(crate) fn byte_jump(v: &str, vars: &[String]) -> Result<ByteJump> {
    let kw = "byte_jump";
    let p = parts(v, ',');
    if p.len() < 2 {
        return Err(rerr!(
            kw,
            "needs at least nbytes and offset: \"{}\"",
            show(v.as_bytes())
        ));
    }
    let nbytes = var_or(
        kw,
        "byte count",
        p.first().copied().unwrap_or(""),
        vars,
        |s| nbytes_lit(kw, s),
    )?;
    let offset = var_or(kw, "offset", p.get(1).copied().unwrap_or(""), vars, |s| {
        offset_lit(kw, s)
    })?;
    let mut j = ByteJump {
        nbytes,
        offset,
        relative: false,
        multiplier: None,
        endian: Endian::Big,
        string: None,
        align: false,
        from_beginning: false,
        from_end: false,
        post_offset: None,
    };
    let mut saw_string = false;
    let mut base = None;
    for w in p.iter().skip(2).copied() {
        if w == "relative" {
            j.relative = true;
        } else if w == "string" {
            saw_string = true;
        } else if w == "align" {
            j.align = true;
        } else if w == "from_beginning" {
            j.from_beginning = true;
        } else if w == "from_end" {
            j.from_end = true;
        } else if let Some(e) = endian_word(w) {
            j.endian = e;
        } else if let Some(b) = base_word(w) {
            base = Some(b);
        } else if let Some(m) = w.strip_prefix("multiplier") {
            let n = u64_in(kw, "multiplier", m.trim(), Base::Ten, 1, 65535)
                .map_err(|_| rerr!(kw, "malformed multiplier \"{}\"", show(m.trim().as_bytes())))?;
            j.multiplier = u16::try_from(n).ok();
        } else if let Some(m) = w.strip_prefix("post_offset") {
            let n = i64_in(
                kw,
                "post_offset",
                m.trim(),
                Base::Ten,
                i64::from(i32::MIN),
                i64::from(i32::MAX),
            )?;
            j.post_offset = i32::try_from(n).ok();
        } else {
            // Suricata 7.0.10 has no `bitmask` for byte_jump.
            return Err(rerr!(kw, "unknown option \"{}\"", show(w.as_bytes())));
        }
    }
    if j.from_beginning && j.from_end {
        return Err(rerr!(
            kw,
            "'from_end' and 'from_beginning' cannot be used together"
        ));
    }
    if base.is_some() && !saw_string {
        return Err(rerr!(kw, "cannot use a base without \"string\""));
    }
    if saw_string {
        j.string = Some(base.unwrap_or(NumBase::Dec));
    }
    if let Value::Lit(n) = j.nbytes {
        nbytes_check(kw, n, saw_string)?;
    }
    Ok(j)
}

fn var_ident_ok(s: &str) -> bool {
    let mut it = s.chars();
    matches!(it.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && it.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
}

pub(crate) fn byte_extract(v: &str) -> Result<ByteExtract> {
    let kw = "byte_extract";
    let p = parts(v, ',');
    if p.len() < 3 {
        return Err(rerr!(
            kw,
            "needs nbytes, offset and a variable name: \"{}\"",
            show(v.as_bytes())
        ));
    }
    let nbytes = nbytes_lit(kw, p.first().copied().unwrap_or(""))?;
    let offset = offset_lit(kw, p.get(1).copied().unwrap_or(""))?;
    let name = p.get(2).copied().unwrap_or("");
    if !var_ident_ok(name) {
        return Err(rerr!(
            kw,
            "invalid variable name \"{}\"",
            show(name.as_bytes())
        ));
    }
    let mut e = ByteExtract {
        nbytes,
        offset,
        name: name.to_string(),
        relative: false,
        multiplier: None,
        endian: Endian::Big,
        string: None,
        align: None,
    };
    let mut saw_string = false;
    let mut base = None;
    for w in p.iter().skip(3).copied() {
        if w == "relative" {
            e.relative = true;
        } else if w == "string" {
            saw_string = true;
        } else if let Some(en) = endian_word(w) {
            e.endian = en;
        } else if let Some(b) = base_word(w) {
            base = Some(b);
        } else if let Some(m) = w.strip_prefix("multiplier") {
            let n = u64_in(kw, "multiplier", m.trim(), Base::Ten, 1, 65535)?;
            e.multiplier = u16::try_from(n).ok();
        } else if let Some(a) = w.strip_prefix("align") {
            e.align = match a.trim() {
                "2" => Some(2),
                "4" => Some(4),
                o => return Err(rerr!(kw, "invalid align value \"{}\"", show(o.as_bytes()))),
            };
        } else {
            return Err(rerr!(kw, "unknown option \"{}\"", show(w.as_bytes())));
        }
    }
    if base.is_some() && !saw_string {
        return Err(rerr!(kw, "cannot use a base without \"string\""));
    }
    if saw_string {
        e.string = Some(base.unwrap_or(NumBase::Dec));
    }
    nbytes_check(kw, e.nbytes, saw_string)?;
    if e.nbytes == 0 {
        return Err(rerr!(kw, "byte count must be at least 1"));
    }
    Ok(e)
}

pub(crate) fn byte_math(v: &str, vars: &[String]) -> Result<ByteMath> {
    let kw = "byte_math";
    let bad = || rerr!(kw, "invalid byte_math values \"{}\"", show(v.as_bytes()));
    let (mut nbytes, mut offset, mut op, mut rvalue, mut result) = (None, None, None, None, None);
    let mut m = ByteMath {
        nbytes: Value::Lit(0),
        offset: 0,
        op: MathOp::Add,
        rvalue: Value::Lit(0),
        result: String::new(),
        relative: false,
        endian: Endian::Big,
        string: None,
        bitmask: None,
    };
    for w in parts(v, ',') {
        let (k, val) = match w.split_once([' ', '\t']) {
            Some((k, val)) => (k, val.trim()),
            None => (w, ""),
        };
        match k {
            "bytes" => nbytes = Some(var_or(kw, "bytes", val, vars, |s| nbytes_lit(kw, s))?),
            "offset" => offset = Some(offset_lit(kw, val)?),
            "oper" => {
                op = Some(match val {
                    "+" => MathOp::Add,
                    "-" => MathOp::Sub,
                    "*" => MathOp::Mul,
                    "/" => MathOp::Div,
                    "<<" => MathOp::Shl,
                    ">>" => MathOp::Shr,
                    _ => return Err(bad()),
                })
            }
            "rvalue" => {
                rvalue = Some(var_or(kw, "rvalue", val, vars, |s| {
                    let n = u64_in(kw, "rvalue", s, Base::Auto, 0, u64::from(u32::MAX))?;
                    u32::try_from(n).map_err(|_| bad())
                })?)
            }
            "result" => {
                if !var_ident_ok(val) {
                    return Err(bad());
                }
                result = Some(val.to_string())
            }
            "relative" if val.is_empty() => m.relative = true,
            "endian" => m.endian = endian_word(val).ok_or_else(bad)?,
            "dce" if val.is_empty() => m.endian = Endian::Dce,
            "string" => m.string = Some(base_word(val).ok_or_else(bad)?),
            "bitmask" => m.bitmask = Some(bitmask(kw, val)?),
            _ => return Err(bad()),
        }
    }
    match (nbytes, offset, op, rvalue, result) {
        (Some(n), Some(o), Some(op), Some(r), Some(res)) => {
            m.nbytes = n;
            m.offset = o;
            m.op = op;
            m.rvalue = r;
            m.result = res;
        }
        _ => return Err(bad()),
    }
    if let Value::Lit(n) = m.nbytes {
        if n == 0 || n > 10 || (m.string.is_none() && n > 4) {
            return Err(rerr!(kw, "bytes must be 1..=4 (1..=10 with string)"));
        }
    }
    Ok(m)
}

pub(crate) fn isdataat(v: &str, vars: &[String]) -> Result<IsDataAt> {
    let kw = "isdataat";
    let p = parts(v, ',');
    let first = p.first().copied().unwrap_or("");
    let (negated, first) = match first.strip_prefix('!') {
        Some(r) => (true, r.trim()),
        None => (false, first),
    };
    let pos = var_or(kw, "position", first, vars, |s| {
        let n = u64_in(kw, "position", s, Base::Ten, 0, 65535)
            .map_err(|_| rerr!(kw, "isdataat out of range"))?;
        u16::try_from(n).map_err(|_| rerr!(kw, "isdataat out of range"))
    })?;
    let mut d = IsDataAt {
        negated,
        pos,
        relative: false,
        rawbytes: false,
    };
    for w in p.iter().skip(1).copied() {
        match w {
            "relative" => d.relative = true,
            "rawbytes" => d.rawbytes = true,
            o => return Err(rerr!(kw, "unknown option \"{}\"", show(o.as_bytes()))),
        }
    }
    Ok(d)
}

pub(crate) fn base64_decode(v: Option<&str>) -> Result<Base64Decode> {
    let kw = "base64_decode";
    let mut d = Base64Decode::default();
    let Some(v) = v else { return Ok(d) };
    for w in parts(v, ',') {
        let (k, val) = match w.split_once([' ', '\t']) {
            Some((k, val)) => (k, val.trim()),
            None => (w, ""),
        };
        match k {
            "bytes" => d.bytes = Some(u32_of(kw, "bytes", val)?),
            "offset" => d.offset = Some(u32_of(kw, "offset", val)?),
            "relative" if val.is_empty() => d.relative = true,
            _ => return Err(rerr!(kw, "invalid argument \"{}\"", show(w.as_bytes()))),
        }
    }
    Ok(d)
}

fn size_value(kw: &str, what: &str, s: &str) -> Result<u64> {
    let t = s.trim().to_ascii_lowercase();
    let (num, mult) = if let Some(n) = t.strip_suffix("kb") {
        (n, 1u64 << 10)
    } else if let Some(n) = t.strip_suffix("mb") {
        (n, 1 << 20)
    } else if let Some(n) = t.strip_suffix("gb") {
        (n, 1 << 30)
    } else {
        (t.as_str(), 1)
    };
    let n = u64_in(kw, what, num.trim(), Base::Ten, 0, u64::MAX)?;
    n.checked_mul(mult)
        .ok_or_else(|| rerr!(kw, "{what} out of range"))
}

/// Resolve a dataset/datarep file against the rule file's directory, refusing paths that
/// climb out of it.
fn data_path(kw: &str, dir: &Path, f: &str) -> Result<PathBuf> {
    let p = Path::new(f);
    if p.components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(rerr!(
            kw,
            "file path \"{}\" must not contain \"..\"",
            show(f.as_bytes())
        ));
    }
    Ok(if p.is_absolute() {
        p.to_path_buf()
    } else {
        dir.join(p)
    })
}

const DATASET_TYPES: &[&str] = &["string", "md5", "sha256", "ipv4", "ipv6", "ip"];

pub(crate) fn dataset(v: &str, dir: &Path) -> Result<Dataset> {
    let kw = "dataset";
    let p = parts(v, ',');
    let cmd = match p.first().copied() {
        Some("set") => DatasetCmd::Set,
        Some("unset") => DatasetCmd::Unset,
        Some("isset") => DatasetCmd::IsSet,
        Some("isnotset") => DatasetCmd::IsNotSet,
        _ => return Err(rerr!(kw, "invalid command in \"{}\"", show(v.as_bytes()))),
    };
    let name = p
        .get(1)
        .copied()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| rerr!(kw, "missing set name"))?;
    let mut d = Dataset {
        cmd,
        name: name.to_string(),
        kind: None,
        load: None,
        state: None,
        save: None,
        memcap: None,
        hashsize: None,
    };
    for w in p.iter().skip(2).copied() {
        let (k, val) = w
            .split_once([' ', '\t'])
            .map(|(k, v)| (k, v.trim()))
            .unwrap_or((w, ""));
        match k {
            "type" => {
                if !DATASET_TYPES.contains(&val) {
                    return Err(rerr!(kw, "bad type \"{}\"", show(val.as_bytes())));
                }
                d.kind = Some(val.to_string());
            }
            "load" => d.load = Some(data_path(kw, dir, val)?),
            "state" => d.state = Some(data_path(kw, dir, val)?),
            "save" => d.save = Some(data_path(kw, dir, val)?),
            "memcap" => d.memcap = Some(size_value(kw, "memcap", val)?),
            "hashsize" => d.hashsize = Some(size_value(kw, "hashsize", val)?),
            _ => return Err(rerr!(kw, "unknown option \"{}\"", show(w.as_bytes()))),
        }
    }
    // `load` must exist; a `state` file is created on first save.
    if let Some(f) = &d.load {
        if !f.is_file() {
            return Err(rerr!(kw, "cannot open \"{}\"", f.display()));
        }
    }
    Ok(d)
}

pub(crate) fn datarep(v: &str, dir: &Path) -> Result<Datarep> {
    let kw = "datarep";
    let p = parts(v, ',');
    let name = p
        .first()
        .copied()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| rerr!(kw, "missing set name"))?;
    let op = match p.get(1).copied() {
        Some("<") => ByteOp::Lt,
        Some(">") => ByteOp::Gt,
        Some("<=") => ByteOp::Le,
        Some(">=") => ByteOp::Ge,
        Some("=" | "==") => ByteOp::Eq,
        _ => return Err(rerr!(kw, "invalid operator in \"{}\"", show(v.as_bytes()))),
    };
    let value = u64_in(
        kw,
        "value",
        p.get(2).copied().unwrap_or(""),
        Base::Ten,
        0,
        65535,
    )?;
    let mut d = Datarep {
        name: name.to_string(),
        op,
        value: u16::try_from(value).unwrap_or(u16::MAX),
        kind: None,
        load: None,
        memcap: None,
        hashsize: None,
    };
    for w in p.iter().skip(3).copied() {
        let (k, val) = w
            .split_once([' ', '\t'])
            .map(|(k, v)| (k, v.trim()))
            .unwrap_or((w, ""));
        match k {
            "type" => {
                if !DATASET_TYPES.contains(&val) {
                    return Err(rerr!(kw, "bad type \"{}\"", show(val.as_bytes())));
                }
                d.kind = Some(val.to_string());
            }
            "load" => d.load = Some(data_path(kw, dir, val)?),
            "memcap" => d.memcap = Some(size_value(kw, "memcap", val)?),
            "hashsize" => d.hashsize = Some(size_value(kw, "hashsize", val)?),
            _ => return Err(rerr!(kw, "unknown option \"{}\"", show(w.as_bytes()))),
        }
    }
    if let Some(f) = &d.load {
        if !f.is_file() {
            return Err(rerr!(kw, "cannot open \"{}\"", f.display()));
        }
    }
    Ok(d)
}

pub(crate) fn ssl_state(v: &str) -> Result<String> {
    for item in v.split(['|', ',']) {
        let item = item.trim();
        let item = item.strip_prefix('!').unwrap_or(item);
        if !matches!(
            item,
            "client_hello" | "server_hello" | "client_keyx" | "server_keyx" | "unknown"
        ) {
            return Err(rerr!(
                "ssl_state",
                "invalid option \"{}\"",
                show(item.as_bytes())
            ));
        }
    }
    Ok(v.trim().to_string())
}

pub(crate) fn ssl_version(v: &str) -> Result<String> {
    let (mut pos, mut neg) = (false, false);
    for item in v.split(',') {
        let item = item.trim();
        let (n, name) = match item.strip_prefix('!') {
            Some(r) => (true, r),
            None => (false, item),
        };
        if !matches!(
            name,
            "sslv2" | "sslv3" | "tls1.0" | "tls1.1" | "tls1.2" | "tls1.3"
        ) {
            return Err(rerr!(
                "ssl_version",
                "invalid unknown value \"{}\"",
                show(name.as_bytes())
            ));
        }
        if n {
            neg = true;
        } else {
            pos = true;
        }
    }
    if pos && neg {
        return Err(rerr!(
            "ssl_version",
            "invalid value mixing negative and positive forms"
        ));
    }
    Ok(v.trim().to_string())
}

pub(crate) fn tls_version(v: &str) -> Result<String> {
    let t = v.trim();
    let ok = matches!(t, "1.0" | "1.1" | "1.2" | "1.3")
        || t.strip_prefix("0x").is_some_and(|h| {
            !h.is_empty() && h.len() <= 4 && h.bytes().all(|b| b.is_ascii_hexdigit())
        });
    if !ok {
        return Err(rerr!(
            "tls.version",
            "invalid value \"{}\"",
            show(t.as_bytes())
        ));
    }
    Ok(t.to_string())
}

pub(crate) fn dns_opcode(v: &str) -> Result<(bool, u8)> {
    let t = v.trim();
    let (neg, n) = match t.strip_prefix('!') {
        Some(r) => (true, r.trim()),
        None => (false, t),
    };
    let n = u64_in("dns.opcode", "opcode", n, Base::Ten, 0, 255)?;
    Ok((neg, u8::try_from(n).unwrap_or(u8::MAX)))
}

pub(crate) fn stream_size(v: &str) -> Result<String> {
    let p = parts(v, ',');
    let bad = || rerr!("stream_size", "invalid value \"{}\"", show(v.as_bytes()));
    if p.len() != 3 {
        return Err(bad());
    }
    if !matches!(
        p.first().copied(),
        Some("server" | "client" | "both" | "either")
    ) {
        return Err(bad());
    }
    if !matches!(
        p.get(1).copied(),
        Some("<" | ">" | "=" | "!=" | "<=" | ">=")
    ) {
        return Err(bad());
    }
    u64_in(
        "stream_size",
        "value",
        p.get(2).copied().unwrap_or(""),
        Base::Ten,
        0,
        u64::from(u32::MAX),
    )?;
    Ok(v.trim().to_string())
}

/// `fast_pattern` argument.
pub(crate) fn fast_pattern(v: Option<&str>) -> Result<FastPattern> {
    let kw = "fast_pattern";
    let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(FastPattern::default());
    };
    if v == "only" {
        return Ok(FastPattern {
            only: true,
            chop: None,
        });
    }
    let (a, b) = v
        .split_once(',')
        .ok_or_else(|| rerr!(kw, "parse error in \"{}\"", show(v.as_bytes())))?;
    let a = u64_in(kw, "offset", a.trim(), Base::Ten, 0, 65535).map_err(|_| {
        rerr!(
            kw,
            "invalid value for fast pattern: \"{}\"",
            show(a.as_bytes())
        )
    })?;
    let b = u64_in(kw, "length", b.trim(), Base::Ten, 0, 65535).map_err(|_| {
        rerr!(
            kw,
            "invalid value for fast pattern: \"{}\"",
            show(b.as_bytes())
        )
    })?;
    Ok(FastPattern {
        only: false,
        chop: Some((u16::try_from(a).unwrap_or(0), u16::try_from(b).unwrap_or(0))),
    })
}

pub(crate) fn xor_key(v: &str) -> Result<Vec<u8>> {
    let t = v.trim();
    if !t.len().is_multiple_of(2) {
        return Err(rerr!("xor", "key length must be an even number"));
    }
    if t.is_empty() || t.len() > 510 {
        return Err(rerr!("xor", "key must be 1 to 255 bytes"));
    }
    let mut out = Vec::with_capacity(t.len() / 2);
    let b = t.as_bytes();
    for pair in b.chunks(2) {
        let hi = pair.first().and_then(|&c| (c as char).to_digit(16));
        let lo = pair.get(1).and_then(|&c| (c as char).to_digit(16));
        match (hi, lo) {
            (Some(h), Some(l)) => out.push(u8::try_from(h << 4 | l).unwrap_or(0)),
            _ => return Err(rerr!("xor", "key must be hex")),
        }
    }
    Ok(out)
}

/// `requires`: `Ok(true)` when satisfied by Suricata 7.0.10 semantics (features `ja3`,
/// `ja4`), `Ok(false)` when the rule must be skipped.
pub(crate) fn requires_met(v: &str, features_off: &[String]) -> bool {
    const VERSION: (u64, u64, u64) = (7, 0, 10);
    const FEATURES: &[&str] = &["ja3", "ja4", "output::file-store"];
    for item in v.split(',') {
        let item = item.trim();
        if let Some(f) = item.strip_prefix("feature") {
            let f = f.trim();
            if !FEATURES.contains(&f) || features_off.iter().any(|o| o == f) {
                return false;
            }
        } else if let Some(expr) = item.strip_prefix("version") {
            let toks: Vec<&str> = expr.split_whitespace().collect();
            for pair in toks.chunks(2) {
                let (Some(op), Some(ver)) = (pair.first(), pair.get(1)) else {
                    return false;
                };
                let mut it = ver.split('.').map(|x| x.parse::<u64>().ok());
                let want = (
                    it.next().flatten().unwrap_or(0),
                    it.next().flatten().unwrap_or(0),
                    it.next().flatten().unwrap_or(0),
                );
                let ok = match *op {
                    ">=" => VERSION >= want,
                    ">" => VERSION > want,
                    "<" => VERSION < want,
                    "<=" => VERSION <= want,
                    "=" | "==" => VERSION == want,
                    _ => false,
                };
                if !ok {
                    return false;
                }
            }
        } else {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_decoding() {
        assert_eq!(
            content_bytes("content", b"|41 42|C|4344|").unwrap(),
            b"ABCCD"
        );
        assert_eq!(
            content_bytes("content", b"a\\;b\\\"c\\\\d\\:e").unwrap(),
            b"a;b\"c\\d:e"
        );
        assert!(content_bytes("content", b"|414|").is_err());
        assert!(content_bytes("content", b"|41").is_err());
        assert!(content_bytes("content", b"a\\x41").is_err());
        assert!(content_bytes("content", b"a\"b").is_err());
        assert!(content_bytes("content", b"||").is_err());
        assert!(content_bytes("content", b"|4G|").is_err());
    }

    #[test]
    fn numeric_checks() {
        assert_eq!(num_check("dsize", ">10", 65535).unwrap(), NumCheck::Gt(10));
        assert_eq!(
            num_check("dsize", "5<>10", 65535).unwrap(),
            NumCheck::Between(5, 10)
        );
        assert_eq!(
            num_check("ttl", "1-5", 255).unwrap(),
            NumCheck::Between(1, 5)
        );
        assert!(num_check("dsize", "10<>5", 65535).is_err());
        assert!(num_check("dsize", "70000", 65535).is_err());
        assert!(num_check("bsize", "<0", u64::MAX).is_err());
        assert!(num_check("ttl", "256", 255).is_err());
    }

    #[test]
    fn ids() {
        assert_eq!(id("sid", "024", 1, u64::from(u32::MAX) - 1).unwrap(), 24);
        assert!(id("sid", "0x17", 1, 10).is_err());
        assert!(id("sid", "0", 1, 10).is_err());
        assert!(id("sid", "4294967295", 1, u64::from(u32::MAX) - 1).is_err());
    }

    #[test]
    fn requires() {
        assert!(requires_met("feature ja4", &[]));
        assert!(requires_met("version >= 7", &[]));
        assert!(requires_met("version >= 7.0.3", &[]));
        assert!(!requires_met("version >= 8", &[]));
        assert!(!requires_met("version >= 7.0.11", &[]));
        assert!(!requires_met("feature foo", &[]));
        assert!(!requires_met("foo", &[]));
        assert!(requires_met("version < 8, feature ja4", &[]));
        assert!(!requires_met("feature ja4", &["ja4".to_string()]));
        assert!(requires_met("feature ja3", &["ja4".to_string()]));
    }
}
