//! Evaluating a parsed query on an event, and deciding from a block summary whether any event
//! of the block can match (see `store::tokens` for the safety rule pruning relies on).

use std::cmp::Ordering;
use std::net::IpAddr;

use serde_json::Value;
use store::{exists_token, fold, value_token, Bloom};

use crate::query::{Literal, Node, Test};

/// Paths with more segments than this are never used for pruning (their tokens may not exist:
/// the ingest walk stops at `store::MAX_TOKEN_DEPTH` levels of nesting).
const MAX_PRUNE_SEGMENTS: usize = store::MAX_TOKEN_DEPTH / 2;

/// Whether `ev` matches `n`.
pub fn matches(n: &Node, ev: &Value) -> bool {
    match n {
        Node::And(v) => v.iter().all(|c| matches(c, ev)),
        Node::Or(v) => v.iter().any(|c| matches(c, ev)),
        Node::Not(c) => !matches(c, ev),
        Node::All => true,
        Node::Exists(f) => {
            let mut vals = Vec::new();
            values_at(ev, f, &mut vals);
            vals.iter().any(|v| !v.is_null())
        }
        Node::Term {
            field: Some(f),
            test,
        } => {
            let mut vals = Vec::new();
            values_at(ev, f, &mut vals);
            vals.iter().any(|v| test_value(test, v))
        }
        Node::Term { field: None, test } => any_leaf(ev, &|v| test_value(test, v)),
    }
}

/// Every value at dotted `path`, looking through arrays at any level.
pub fn values_at<'a>(ev: &'a Value, path: &str, out: &mut Vec<&'a Value>) {
    fn go<'a>(v: &'a Value, parts: &[&str], out: &mut Vec<&'a Value>) {
        match v {
            Value::Array(a) => {
                for x in a {
                    go(x, parts, out);
                }
            }
            Value::Object(m) => match parts.split_first() {
                None => out.push(v),
                Some((first, rest)) => {
                    if let Some(c) = m.get(*first) {
                        go(c, rest, out);
                    }
                    // Keys may hold dots themselves (flowint and metadata names such as
                    // `http.anomaly.count`): try the longer keys too.
                    let mut key = (*first).to_owned();
                    for (i, p) in rest.iter().enumerate() {
                        key.push('.');
                        key.push_str(p);
                        if let Some(c) = m.get(&key) {
                            go(c, &rest[i + 1..], out);
                        }
                    }
                }
            },
            _ => {
                if parts.is_empty() {
                    out.push(v);
                }
            }
        }
    }
    let parts: Vec<&str> = path.split('.').collect();
    go(ev, &parts, out);
}

fn any_leaf(v: &Value, f: &dyn Fn(&Value) -> bool) -> bool {
    match v {
        Value::Object(m) => m.values().any(|c| any_leaf(c, f)),
        Value::Array(a) => a.iter().any(|c| any_leaf(c, f)),
        _ => f(v),
    }
}

fn lower(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) || !s.is_ascii() {
        std::borrow::Cow::Owned(s.to_lowercase())
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|x| x.is_finite()),
        _ => None,
    }
}

fn text(v: &Value) -> Option<std::borrow::Cow<'_, str>> {
    match v {
        Value::String(s) => Some(lower(s)),
        Value::Number(n) => Some(std::borrow::Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(std::borrow::Cow::Borrowed(if *b {
            "true"
        } else {
            "false"
        })),
        _ => None,
    }
}

fn eq(l: &Literal, v: &Value) -> bool {
    match v {
        Value::String(s) => {
            if let Some(ip) = l.ip {
                if let Ok(x) = s.parse::<IpAddr>() {
                    return x == ip;
                }
            }
            if s.is_ascii() && l.lower.is_ascii() {
                s.eq_ignore_ascii_case(&l.lower)
            } else {
                s.to_lowercase() == l.lower
            }
        }
        Value::Number(n) => match (l.num, n.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => n.to_string() == l.lower,
        },
        Value::Bool(b) => l.lower == if *b { "true" } else { "false" },
        _ => false,
    }
}

fn cmp_bound(v: &Value, b: &Literal) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (as_number(v), b.num) {
        return x.partial_cmp(&y);
    }
    if let (Value::String(s), Some(ip)) = (v, b.ip) {
        if let Ok(x) = s.parse::<IpAddr>() {
            return x.partial_cmp(&ip);
        }
    }
    text(v).map(|t| t.as_ref().cmp(b.lower.as_str()))
}

fn test_value(t: &Test, v: &Value) -> bool {
    match t {
        Test::Eq(l) => eq(l, v),
        Test::Wildcard(g) => text(v).is_some_and(|s| g.matches(&s)),
        Test::Range { lo, hi } => {
            if v.is_null() || v.is_object() || v.is_array() {
                return false;
            }
            let lo_ok = lo.as_ref().is_none_or(|(b, incl)| match cmp_bound(v, b) {
                Some(Ordering::Greater) => true,
                Some(Ordering::Equal) => *incl,
                _ => false,
            });
            let hi_ok = hi.as_ref().is_none_or(|(b, incl)| match cmp_bound(v, b) {
                Some(Ordering::Less) => true,
                Some(Ordering::Equal) => *incl,
                _ => false,
            });
            lo_ok && hi_ok
        }
        Test::Cidr(net, bits) => match v {
            Value::String(s) => s.parse::<IpAddr>().is_ok_and(|ip| in_cidr(ip, *net, *bits)),
            _ => false,
        },
    }
}

/// Whether `ip` is inside `net/bits` (same family).
pub fn in_cidr(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let m = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(bits.min(32)))
            };
            u32::from(a) & m == u32::from(n) & m
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let m = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(bits.min(128)))
            };
            u128::from(a) & m == u128::from(n) & m
        }
        _ => false,
    }
}

/// Something that can say a token is certainly absent: a block's bloom filter, or the exact
/// token list of one event.
pub trait TokenLookup {
    /// False when `token` is certainly absent.
    fn may_hold(&self, token: u64) -> bool;
}

impl TokenLookup for Bloom {
    fn may_hold(&self, token: u64) -> bool {
        Bloom::may_hold(self, token)
    }
}

impl TokenLookup for store::BloomRef<'_> {
    fn may_hold(&self, token: u64) -> bool {
        store::BloomRef::may_hold(self, token)
    }
}

impl TokenLookup for [u64] {
    fn may_hold(&self, token: u64) -> bool {
        self.contains(&token)
    }
}

/// False only when no event of a block (or the one event) whose tokens are `bloom` can match
/// `n`.
pub fn may_match<T: TokenLookup + ?Sized>(n: &Node, bloom: &T) -> bool {
    let prunable = |f: &str| f.split('.').count() <= MAX_PRUNE_SEGMENTS && !f.is_empty();
    match n {
        Node::And(v) => v.iter().all(|c| may_match(c, bloom)),
        Node::Or(v) => v.iter().any(|c| may_match(c, bloom)),
        Node::Not(_) | Node::All | Node::Term { field: None, .. } => true,
        Node::Exists(f) => !prunable(f) || bloom.may_hold(exists_token(f)),
        Node::Term {
            field: Some(f),
            test,
        } => {
            if !prunable(f) {
                return true;
            }
            match test {
                // A string literal: its folded value must be there. Numbers and addresses
                // compare by value (`200.0` = `200`, `::1` = `0:0::1`): only the field.
                Test::Eq(l) if l.num.is_none() && l.ip.is_none() => {
                    bloom.may_hold(value_token(f, &fold(&l.text)))
                }
                _ => bloom.may_hold(exists_token(f)),
            }
        }
    }
}

/// A byte-level pre-check of one archived event's CBOR, derived from a query: the keys a
/// matching event certainly contains. Lets a hunt skip decoding most events of the blocks it
/// reads (a block's bloom cannot tell which of its events hold both `http.status` and
/// `base64.functions`; the bytes of each event can).
#[derive(Debug)]
pub enum Pre {
    /// No constraint.
    All,
    /// The event's bytes contain this CBOR-encoded key.
    Key(Box<memchr::memmem::Finder<'static>>),
    /// All of these.
    And(Vec<Pre>),
    /// One of these.
    Or(Vec<Pre>),
}

impl Pre {
    /// The pre-check for `n`.
    pub fn new(n: &Node) -> Pre {
        // The last path segment's bytes (not its CBOR key encoding: a key may hold dots, as
        // in `metadata.flowints.http.anomaly.count`, and then the segment is only its tail).
        let key = |f: &str| match f.rsplit('.').next() {
            Some(k) if !k.is_empty() => Pre::Key(Box::new(
                memchr::memmem::Finder::new(k.as_bytes()).into_owned(),
            )),
            _ => Pre::All,
        };
        match n {
            Node::And(v) => Pre::And(v.iter().map(Pre::new).collect()),
            Node::Or(v) => {
                let c: Vec<Pre> = v.iter().map(Pre::new).collect();
                if c.iter().any(|p| matches!(p, Pre::All)) {
                    Pre::All
                } else {
                    Pre::Or(c)
                }
            }
            Node::Not(_) | Node::All | Node::Term { field: None, .. } => Pre::All,
            Node::Exists(f) => key(f),
            Node::Term { field: Some(f), .. } => key(f),
        }
    }

    /// False when an event with these CBOR bytes certainly does not match.
    pub fn may_match(&self, cbor: &[u8]) -> bool {
        match self {
            Pre::All => true,
            Pre::Key(f) => f.find(cbor).is_some(),
            Pre::And(v) => v.iter().all(|p| p.may_match(cbor)),
            Pre::Or(v) => v.iter().any(|p| p.may_match(cbor)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::parse;

    fn m(q: &str, ev: &Value) -> bool {
        matches(&parse(q, &|_| Ok(())).unwrap(), ev)
    }

    fn ev() -> Value {
        serde_json::json!({
            "event_type": "http", "src_ip": "10.1.2.3", "dest_ip": "2001:db8::1",
            "dest_port": 8080,
            "http": {"hostname": "Evil.Example", "url": "/x.php?c=base64_decode(YWJj)",
                     "status": 200, "request_headers": [{"name": "X-A", "value": "1"}]},
            "base64": {"functions": ["base64_decode"], "decoded": ["abc"]},
            "dns": {"answers": [{"rdata": "1.1.1.1"}, {"rdata": "8.8.8.8"}]}
        })
    }

    #[test]
    fn matching() {
        let e = ev();
        assert!(m("event_type:http AND http.status:200", &e));
        assert!(m("http.status:200.0", &e));
        assert!(!m("http.status:404", &e));
        assert!(m("http.hostname:evil.example", &e));
        assert!(m("http.url:*BASE64_DECODE*", &e));
        assert!(m("_exists_:base64.functions", &e));
        assert!(!m("_exists_:tls", &e));
        assert!(m("base64.functions:base64_decode", &e));
        assert!(m("src_ip:10.0.0.0/8 AND NOT src_ip:192.168.0.0/16", &e));
        assert!(m("dest_ip:\"2001:0db8:0:0::1\"", &e));
        assert!(m("dest_ip:2001\\:db8\\:\\:/32", &e));
        assert!(m("dest_port:[8000 TO 9000]", &e));
        assert!(!m("dest_port:{8080 TO 9000]", &e));
        assert!(m("dest_port:>=8080 AND dest_port:<8081", &e));
        assert!(m("dns.answers.rdata:8.8.8.8", &e));
        assert!(m("http.request_headers.name:x-a", &e));
        assert!(m("http.status:(404 OR 200)", &e));
        assert!(!m("http.status:(404 OR 500)", &e));
        assert!(m("evil.example", &e));
        assert!(m("-event_type:dns", &e));
        assert!(m("http:*", &e));
        let fi = serde_json::json!({"metadata": {"flowints": {"http.anomaly.count": 3}}});
        assert!(m("metadata.flowints.http.anomaly.count:3", &fi));
        assert!(m("metadata.flowints.http.anomaly.count:>2", &fi));
    }

    #[test]
    fn pruning_never_drops_a_match() {
        let e = ev();
        let mut toks = store::TokenSet::default();
        store::event_tokens(&e, &mut toks);
        let mut bloom = Bloom::with_capacity(toks.len());
        for t in &toks {
            bloom.insert(*t);
        }
        for q in [
            "event_type:http AND http.status:200",
            "http.hostname:EVIL.example",
            "http.status:200.0",
            "dest_ip:\"2001:0db8:0:0::1\"",
            "_exists_:base64.functions",
            "http.url:*base64*",
            "dns.answers.rdata:8.8.8.8",
            "NOT event_type:dns",
        ] {
            let n = parse(q, &|_| Ok(())).unwrap();
            assert!(matches(&n, &e), "{q}");
            assert!(may_match(&n, &bloom), "{q}");
        }
        // The byte pre-check never drops a match either (the event as archived CBOR).
        let mut cbor = Vec::new();
        store::transcode::json_to_cbor(
            &serde_json::to_vec(&e).unwrap(),
            &mut cbor,
            &mut Vec::new(),
        )
        .unwrap();
        for q in [
            "event_type:http AND http.status:200",
            "http.request_headers.name:x-a",
            "_exists_:base64.functions",
        ] {
            assert!(
                Pre::new(&parse(q, &|_| Ok(())).unwrap()).may_match(&cbor),
                "{q}"
            );
        }
        assert!(!Pre::new(&parse("tls.sni:x", &|_| Ok(())).unwrap()).may_match(&cbor));
        for q in [
            "event_type:dns",
            "_exists_:tls.sni",
            "http.hostname:other.example",
        ] {
            let n = parse(q, &|_| Ok(())).unwrap();
            assert!(!may_match(&n, &bloom), "{q}");
        }
    }
}
