//! Address and port expressions of the rule header: parsing, variable substitution, and
//! resolution to range sets with Suricata's emptiness rules.
//!
//! Grammar (both kinds): `expr := '!'* (any | '$' NAME | '[' expr (',' expr)* ']' | element)`,
//! and a top-level comma list without brackets is accepted too. A group's value is the union of
//! its positive members (or everything when it has none) minus the union of its negated
//! members. Like Suricata: a group with positive members that ends up empty is an error ("no
//! addresses left after merging"), and a negation of everything is an error ("complete address
//! space negated"). Addresses tolerate blanks around group members; ports do not tolerate
//! trailing blanks (Suricata's number parser rejects `80 `).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::caps::{MAX_EXPANDED_ELEMENTS, MAX_GROUP_NESTING, MAX_VAR_DEPTH};
use crate::error::{rerr, show, Result, RuleError};
use crate::ranges::RangeSet;
use crate::vars::Vars;

/// A resolved set of IPv4 and IPv6 addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrSet {
    /// IPv4 addresses as `u32` ranges.
    pub v4: RangeSet<u32>,
    /// IPv6 addresses as `u128` ranges.
    pub v6: RangeSet<u128>,
}

impl AddrSet {
    fn empty() -> Self {
        AddrSet {
            v4: RangeSet::empty(),
            v6: RangeSet::empty(),
        }
    }
    fn full() -> Self {
        AddrSet {
            v4: RangeSet::full(),
            v6: RangeSet::full(),
        }
    }
    fn union(&self, o: &Self) -> Self {
        AddrSet {
            v4: self.v4.union(&o.v4),
            v6: self.v6.union(&o.v6),
        }
    }
    fn subtract(&self, o: &Self) -> Self {
        AddrSet {
            v4: self.v4.subtract(&o.v4),
            v6: self.v6.subtract(&o.v6),
        }
    }
    fn complement(&self) -> Self {
        AddrSet {
            v4: self.v4.complement(),
            v6: self.v6.complement(),
        }
    }
    /// True when no address is in the set.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }
    /// True when every address (v4 and v6) is in the set.
    pub fn is_any(&self) -> bool {
        self.v4.is_full() && self.v6.is_full()
    }
    /// True when `ip` is in the set.
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        match ip {
            std::net::IpAddr::V4(a) => self.v4.contains(u32::from(a)),
            std::net::IpAddr::V6(a) => self.v6.contains(u128::from(a)),
        }
    }
}

/// A source or destination address field: its text and its resolved set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressSpec {
    /// The field as written (`$HOME_NET`, `[10.0.0.0/8,!10.1.0.0/16]`).
    pub text: String,
    /// The addresses it resolves to with the load's variables.
    pub set: AddrSet,
}

impl AddressSpec {
    /// True when the field matches every address.
    pub fn is_any(&self) -> bool {
        self.set.is_any()
    }
}

/// A source or destination port field: its text and its resolved set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    /// The field as written (`$HTTP_PORTS`, `[80,8000:8080]`).
    pub text: String,
    /// The ports it resolves to.
    pub set: RangeSet<u16>,
}

impl PortSpec {
    /// True when the field matches every port.
    pub fn is_any(&self) -> bool {
        self.set.is_full()
    }
}

/// What kind of field is being parsed: decides the element syntax and the variable namespace.
trait Domain {
    type Set: Clone;
    const KEYWORD: &'static str;
    const WHAT: &'static str;
    fn empty() -> Self::Set;
    fn full() -> Self::Set;
    fn union(a: &Self::Set, b: &Self::Set) -> Self::Set;
    fn subtract(a: &Self::Set, b: &Self::Set) -> Self::Set;
    fn complement(a: &Self::Set) -> Self::Set;
    fn is_empty(a: &Self::Set) -> bool;
    fn element(text: &[u8]) -> Option<Self::Set>;
    fn var<'v>(vars: &'v Vars, name: &str) -> Option<&'v str>;
    fn trims_blanks() -> bool;
}

struct Addr;
struct Port;

impl Domain for Addr {
    type Set = AddrSet;
    const KEYWORD: &'static str = "address";
    const WHAT: &'static str = "addresses";
    fn empty() -> AddrSet {
        AddrSet::empty()
    }
    fn full() -> AddrSet {
        AddrSet::full()
    }
    fn union(a: &AddrSet, b: &AddrSet) -> AddrSet {
        a.union(b)
    }
    fn subtract(a: &AddrSet, b: &AddrSet) -> AddrSet {
        a.subtract(b)
    }
    fn complement(a: &AddrSet) -> AddrSet {
        a.complement()
    }
    fn is_empty(a: &AddrSet) -> bool {
        a.is_empty()
    }
    fn element(text: &[u8]) -> Option<AddrSet> {
        parse_address_element(std::str::from_utf8(text).ok()?)
    }
    fn var<'v>(vars: &'v Vars, name: &str) -> Option<&'v str> {
        vars.address(name)
    }
    fn trims_blanks() -> bool {
        true
    }
}

impl Domain for Port {
    type Set = RangeSet<u16>;
    const KEYWORD: &'static str = "port";
    const WHAT: &'static str = "ports";
    fn empty() -> RangeSet<u16> {
        RangeSet::empty()
    }
    fn full() -> RangeSet<u16> {
        RangeSet::full()
    }
    fn union(a: &RangeSet<u16>, b: &RangeSet<u16>) -> RangeSet<u16> {
        a.union(b)
    }
    fn subtract(a: &RangeSet<u16>, b: &RangeSet<u16>) -> RangeSet<u16> {
        a.subtract(b)
    }
    fn complement(a: &RangeSet<u16>) -> RangeSet<u16> {
        a.complement()
    }
    fn is_empty(a: &RangeSet<u16>) -> bool {
        a.is_empty()
    }
    fn element(text: &[u8]) -> Option<RangeSet<u16>> {
        parse_port_element(std::str::from_utf8(text).ok()?)
    }
    fn var<'v>(vars: &'v Vars, name: &str) -> Option<&'v str> {
        vars.port(name)
    }
    fn trims_blanks() -> bool {
        false
    }
}

fn parse_port_number(s: &str) -> Option<u16> {
    // strtoul-like: leading blanks allowed, trailing characters are not.
    let t = s.trim_start_matches([' ', '\t']);
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse::<u16>().ok()
}

fn parse_port_element(s: &str) -> Option<RangeSet<u16>> {
    if s.eq_ignore_ascii_case("any") {
        return Some(RangeSet::full());
    }
    match s.split_once(':') {
        None => parse_port_number(s).map(|p| RangeSet::range(p, p)),
        Some((lo, hi)) => {
            let lo = if lo.is_empty() {
                0
            } else {
                parse_port_number(lo)?
            };
            let hi = if hi.is_empty() {
                u16::MAX
            } else {
                parse_port_number(hi)?
            };
            if lo > hi {
                return None;
            }
            Some(RangeSet::range(lo, hi))
        }
    }
}

fn prefix_v4(len: u32) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len.min(32))
    }
}

fn prefix_v6(len: u32) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - len.min(128))
    }
}

fn parse_address_element(s: &str) -> Option<AddrSet> {
    if s.eq_ignore_ascii_case("any") {
        return Some(AddrSet::full());
    }
    let mut out = AddrSet::empty();
    if let Some((a, b)) = s.split_once('-') {
        if let (Ok(a), Ok(b)) = (Ipv4Addr::from_str(a), Ipv4Addr::from_str(b)) {
            let (a, b) = (u32::from(a), u32::from(b));
            if a > b {
                return None;
            }
            out.v4 = RangeSet::range(a, b);
            return Some(out);
        }
        if let (Ok(a), Ok(b)) = (Ipv6Addr::from_str(a), Ipv6Addr::from_str(b)) {
            let (a, b) = (u128::from(a), u128::from(b));
            if a > b {
                return None;
            }
            out.v6 = RangeSet::range(a, b);
            return Some(out);
        }
        return None;
    }
    let (ip, mask) = match s.split_once('/') {
        Some((ip, m)) => (ip, Some(m)),
        None => (s, None),
    };
    if let Ok(a) = Ipv4Addr::from_str(ip) {
        let len = match mask {
            None => 32,
            Some(m) if !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()) => {
                let n: u32 = m.parse().ok()?;
                if n > 32 {
                    return None;
                }
                n
            }
            Some(m) => {
                let nm = u32::from(Ipv4Addr::from_str(m).ok()?);
                let ones = nm.leading_ones();
                if prefix_v4(ones) != nm {
                    return None;
                }
                ones
            }
        };
        let net = u32::from(a) & prefix_v4(len);
        let last = net | !prefix_v4(len);
        out.v4 = RangeSet::range(net, last);
        return Some(out);
    }
    if let Ok(a) = Ipv6Addr::from_str(ip) {
        let len = match mask {
            None => 128,
            Some(m) if !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()) => {
                let n: u32 = m.parse().ok()?;
                if n > 128 {
                    return None;
                }
                n
            }
            Some(_) => return None,
        };
        let net = u128::from(a) & prefix_v6(len);
        let last = net | !prefix_v6(len);
        out.v6 = RangeSet::range(net, last);
        return Some(out);
    }
    None
}

struct Parser<'v, D: Domain> {
    vars: &'v Vars,
    budget: usize,
    stack: Vec<String>,
    _d: std::marker::PhantomData<D>,
}

/// One member of a group: its value and whether it was negated.
struct Member<S> {
    negated: bool,
    set: S,
}

impl<D: Domain> Parser<'_, D> {
    fn spend(&mut self) -> Result<()> {
        self.budget = self.budget.checked_sub(1).ok_or_else(|| {
            rerr!(
                D::KEYWORD,
                "expression expands to more than {MAX_EXPANDED_ELEMENTS} elements (cap MAX_EXPANDED_ELEMENTS)"
            )
        })?;
        Ok(())
    }

    /// Parse a whole field (possibly a bare comma list) into its value.
    fn field(&mut self, text: &[u8], depth: usize) -> Result<D::Set> {
        let members = self.list(text, depth)?;
        if members.len() == 1 {
            if let Some(m) = members.into_iter().next() {
                if m.negated {
                    let v = D::complement(&m.set);
                    if D::is_empty(&v) {
                        return Err(rerr!(D::KEYWORD, "complete {} space negated", D::KEYWORD));
                    }
                    return Ok(v);
                }
                return Ok(m.set);
            }
            return Ok(D::empty());
        }
        self.combine(members)
    }

    fn combine(&self, members: Vec<Member<D::Set>>) -> Result<D::Set> {
        let mut pos: Option<D::Set> = None;
        let mut neg = D::empty();
        for m in members {
            if m.negated {
                neg = D::union(&neg, &m.set);
            } else {
                pos = Some(match pos {
                    Some(p) => D::union(&p, &m.set),
                    None => m.set,
                });
            }
        }
        let had_pos = pos.is_some();
        let base = pos.unwrap_or_else(D::full);
        let v = D::subtract(&base, &neg);
        if D::is_empty(&v) {
            if had_pos {
                return Err(rerr!(
                    D::KEYWORD,
                    "no {} left after merging {} and negated {}",
                    D::WHAT,
                    D::WHAT,
                    D::WHAT
                ));
            }
            return Err(rerr!(D::KEYWORD, "complete {} space negated", D::KEYWORD));
        }
        Ok(v)
    }

    /// Split `text` at top-level commas and parse each member.
    fn list(&mut self, text: &[u8], depth: usize) -> Result<Vec<Member<D::Set>>> {
        let mut members = Vec::new();
        let mut level: usize = 0;
        let mut start = 0usize;
        for (i, &b) in text.iter().enumerate() {
            match b {
                b'[' => level += 1,
                b']' => {
                    level = level
                        .checked_sub(1)
                        .ok_or_else(|| rerr!(D::KEYWORD, "unbalanced ']' in \"{}\"", show(text)))?
                }
                b',' if level == 0 => {
                    members.push(self.member(text.get(start..i).unwrap_or(&[]), depth)?);
                    start = i + 1;
                }
                _ => {}
            }
        }
        if level != 0 {
            return Err(rerr!(D::KEYWORD, "unbalanced '[' in \"{}\"", show(text)));
        }
        members.push(self.member(text.get(start..).unwrap_or(&[]), depth)?);
        Ok(members)
    }

    fn member(&mut self, raw: &[u8], depth: usize) -> Result<Member<D::Set>> {
        self.spend()?;
        let mut t = raw;
        if D::trims_blanks() {
            t = crate::text::trim_blank_start(t);
            while t.last().is_some_and(|&b| b == b' ' || b == b'\t') {
                t = t.get(..t.len() - 1).unwrap_or(&[]);
            }
        }
        let mut negated = false;
        while let Some((b'!', rest)) = t.split_first() {
            negated = !negated;
            t = rest;
        }
        let set = if let Some(inner) = t.strip_prefix(b"[") {
            let inner = inner.strip_suffix(b"]").ok_or_else(|| {
                rerr!(
                    D::KEYWORD,
                    "failed to parse {} \"{}\"",
                    D::KEYWORD,
                    show(raw)
                )
            })?;
            if depth >= MAX_GROUP_NESTING {
                return Err(rerr!(
                    D::KEYWORD,
                    "groups nested deeper than {MAX_GROUP_NESTING} (cap MAX_GROUP_NESTING)"
                ));
            }
            let members = self.list(inner, depth + 1)?;
            if members.len() == 1 && inner.iter().all(|&b| b != b',') {
                // `[x]` is x; `[!x]` is everything but x.
                self.combine(members)?
            } else {
                self.combine(members)?
            }
        } else if let Some(name) = t.strip_prefix(b"$") {
            let name = std::str::from_utf8(name)
                .map_err(|_| rerr!(D::KEYWORD, "variable name is not UTF-8"))?;
            self.var(name, depth)?
        } else {
            D::element(t).ok_or_else(|| {
                rerr!(D::KEYWORD, "failed to parse {} \"{}\"", D::KEYWORD, show(t))
            })?
        };
        Ok(Member { negated, set })
    }

    fn var(&mut self, name: &str, depth: usize) -> Result<D::Set> {
        let value = D::var(self.vars, name).ok_or_else(|| {
            rerr!(
                D::KEYWORD,
                "variable \"{}\" is not defined",
                show(name.as_bytes())
            )
        })?;
        if self.stack.iter().any(|n| n == name) {
            return Err(rerr!(
                D::KEYWORD,
                "variable \"{}\" refers to itself ({} -> {})",
                name,
                self.stack.join(" -> "),
                name
            ));
        }
        if self.stack.len() >= MAX_VAR_DEPTH {
            return Err(rerr!(
                D::KEYWORD,
                "variables nested deeper than {MAX_VAR_DEPTH} (cap MAX_VAR_DEPTH) at \"{name}\""
            ));
        }
        self.stack.push(name.to_string());
        let v = self.field(value.as_bytes(), depth + 1);
        self.stack.pop();
        v
    }
}

/// Resolve an address field with `vars`.
pub fn parse_address(text: &[u8], vars: &Vars) -> std::result::Result<AddressSpec, RuleError> {
    let mut p: Parser<'_, Addr> = Parser {
        vars,
        budget: MAX_EXPANDED_ELEMENTS,
        stack: Vec::new(),
        _d: std::marker::PhantomData,
    };
    if text.is_empty() {
        return Err(rerr!("address", "empty address field"));
    }
    let set = p.field(text, 0)?;
    Ok(AddressSpec {
        text: String::from_utf8_lossy(text).into_owned(),
        set,
    })
}

/// Resolve a port field with `vars`.
pub fn parse_ports(text: &[u8], vars: &Vars) -> std::result::Result<PortSpec, RuleError> {
    let mut p: Parser<'_, Port> = Parser {
        vars,
        budget: MAX_EXPANDED_ELEMENTS,
        stack: Vec::new(),
        _d: std::marker::PhantomData,
    };
    if text.is_empty() {
        return Err(rerr!("port", "empty port field"));
    }
    let set = p.field(text, 0)?;
    Ok(PortSpec {
        text: String::from_utf8_lossy(text).into_owned(),
        set,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn vars(extra: &[(&str, &str)]) -> Vars {
        let m: BTreeMap<String, String> = extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Vars::from_settings(&m)
    }

    #[test]
    fn addresses() {
        let v = vars(&[]);
        assert!(parse_address(b"any", &v).unwrap().is_any());
        let home = parse_address(b"$HOME_NET", &v).unwrap();
        assert!(home.set.contains("10.1.2.3".parse().unwrap()));
        let ext = parse_address(b"$EXTERNAL_NET", &v).unwrap();
        assert!(!ext.set.contains("10.1.2.3".parse().unwrap()));
        assert!(ext.set.contains("8.8.8.8".parse().unwrap()));
        assert!(ext.set.contains("::1".parse().unwrap()));
        let g = parse_address(b"[1.1.1.0/24, !1.1.1.5]", &v).unwrap();
        assert!(g.set.contains("1.1.1.4".parse().unwrap()));
        assert!(!g.set.contains("1.1.1.5".parse().unwrap()));
        assert!(parse_address(b"!any", &v).is_err());
        assert!(parse_address(b"[1.1.1.1,!1.1.1.1]", &v).is_err());
        assert!(parse_address(b"[!1.1.1.0/24,1.1.1.0/25]", &v).is_err());
        assert!(parse_address(b"[!1.1.1.1]", &v).is_ok());
        assert!(parse_address(b"1.1.1.1/33", &v).is_err());
        assert!(parse_address(b"01.2.3.4", &v).is_err());
        assert!(parse_address(b"1.1.1.1/255.255.255.0", &v).is_ok());
        assert!(parse_address(b"1.1.1.1-1.1.1.5", &v).is_ok());
        assert!(parse_address(b"2001:db8::/32", &v).is_ok());
        assert!(parse_address(b"fe80::1%eth0", &v).is_err());
        assert!(parse_address(b"$FOO", &v).is_err());
        assert!(parse_address(b"!!1.1.1.1", &v)
            .unwrap()
            .set
            .contains("1.1.1.1".parse().unwrap()));
        assert!(parse_address(b"[1.1.1.1", &v).is_err());
    }

    #[test]
    fn ports() {
        let v = vars(&[]);
        assert!(parse_ports(b"any", &v).unwrap().is_any());
        assert!(parse_ports(b"1024:", &v).unwrap().set.contains(65535));
        assert!(parse_ports(b":1023", &v).unwrap().set.contains(0));
        assert!(parse_ports(b"90:80", &v).is_err());
        assert!(parse_ports(b"65536", &v).is_err());
        assert!(parse_ports(b"[80,!80]", &v).is_err());
        assert!(parse_ports(b"!any", &v).is_err());
        assert!(parse_ports(b"[80 , 81]", &v).is_err());
        assert!(parse_ports(b"[]", &v).is_err());
        assert!(parse_ports(b"$HOME_NET", &v).is_err());
        let f = parse_ports(b"$FILE_DATA_PORTS", &v).unwrap();
        assert!(f.set.contains(80) && f.set.contains(143) && !f.set.contains(81));
        assert!(!parse_ports(b"$SHELLCODE_PORTS", &v)
            .unwrap()
            .set
            .contains(80));
        assert!(parse_ports(b"80,81", &v).unwrap().set.contains(81));
    }

    #[test]
    fn cycles_and_caps() {
        let v = vars(&[
            ("vars.address-groups.A", "$B"),
            ("vars.address-groups.B", "[$A,1.1.1.1]"),
        ]);
        let e = parse_address(b"$A", &v).unwrap_err();
        assert!(e.reason.contains("refers to itself"), "{e}");
        // Exponential expansion is bounded.
        let mut m = Vec::new();
        for i in 0..30 {
            m.push((
                format!("vars.address-groups.V{i}"),
                format!("[$V{},$V{}]", i + 1, i + 1),
            ));
        }
        m.push(("vars.address-groups.V30".into(), "1.1.1.1".into()));
        let mm: BTreeMap<String, String> = m.into_iter().collect();
        let v = Vars::from_settings(&mm);
        let e = parse_address(b"$V0", &v).unwrap_err();
        assert!(e.reason.contains("MAX_"), "{e}");
    }
}
