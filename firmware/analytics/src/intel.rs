//! Threat intelligence: typed indicators, feeds in four formats, and an immutable match set.
//!
//! An [`IntelSet`] is built once from feeds ([`Feed::parse`]) and then only read: the analytics
//! thread holds it in an `Arc` and swaps in a new one when a feed is added or removed, so a
//! change never stops matching. Lookups are hash lookups on normalised values:
//!
//! | kind | normalised as | matched against (the "seen" locations) |
//! |---|---|---|
//! | `ip` | the address | source and destination of every flow |
//! | `cidr` | network address + prefix | the same, longest prefix wins |
//! | `domain` | lowercase, no trailing dot | DNS queries, HTTP Host, TLS SNI; the domain and its subdomains |
//! | `url` | `host/path?query`, host lowercase, no scheme | HTTP host + URI |
//! | `ja3`, `ja3s`, `ja4` | lowercase | TLS client / server fingerprints |
//! | `sha256`, `sha1`, `md5` | lowercase hex | file hashes (fileinfo) |
//! | `user_agent` | exact | HTTP User-Agent |
//! | `cert_fingerprint` | lowercase hex, no colons | TLS server certificate SHA-1 |
//!
//! Feeds: CSV with a header (`indicator,type[,source,description,confidence,expires]`), JSON
//! lines with the same keys, Zeek intel files (`#fields indicator indicator_type meta.source
//! …`), and STIX 2.1 bundles (`indicator` objects with `[type:path = 'value']` patterns, `OR`
//! allowed). A bad record is reported with its line (or object id) and skipped; the rest loads.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use ahash::RandomState;
use serde::{Deserialize, Serialize};

/// Longest indicator value kept (longer ones are refused as bad records).
pub const MAX_VALUE_LEN: usize = 4096;
/// Longest description kept (longer ones are truncated at a character boundary).
pub const MAX_DESCRIPTION_LEN: usize = 1024;
/// Bad records reported per feed, by line; the rest are only counted.
pub const MAX_REPORTED_ERRORS: usize = 20;
/// Labels looked up for one domain (its suffixes): deeper names are matched on their last
/// labels only.
pub const MAX_DOMAIN_LABELS: usize = 16;

/// What an indicator is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// One IP address.
    Ip,
    /// An IP network.
    Cidr,
    /// A domain and its subdomains.
    Domain,
    /// A URL (host and path).
    Url,
    /// TLS client fingerprint (JA3 MD5).
    Ja3,
    /// TLS server fingerprint (JA3S MD5).
    Ja3s,
    /// TLS client fingerprint (JA4).
    Ja4,
    /// File SHA-256.
    Sha256,
    /// File SHA-1.
    Sha1,
    /// File MD5.
    Md5,
    /// HTTP User-Agent.
    UserAgent,
    /// TLS certificate SHA-1 fingerprint.
    CertFingerprint,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 12] = [
        Kind::Ip,
        Kind::Cidr,
        Kind::Domain,
        Kind::Url,
        Kind::Ja3,
        Kind::Ja3s,
        Kind::Ja4,
        Kind::Sha256,
        Kind::Sha1,
        Kind::Md5,
        Kind::UserAgent,
        Kind::CertFingerprint,
    ];

    /// The name used in feeds and events.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Ip => "ip",
            Kind::Cidr => "cidr",
            Kind::Domain => "domain",
            Kind::Url => "url",
            Kind::Ja3 => "ja3",
            Kind::Ja3s => "ja3s",
            Kind::Ja4 => "ja4",
            Kind::Sha256 => "sha256",
            Kind::Sha1 => "sha1",
            Kind::Md5 => "md5",
            Kind::UserAgent => "user_agent",
            Kind::CertFingerprint => "cert_fingerprint",
        }
    }

    /// The kind a feed names: ours, a few common aliases, and Zeek's `Intel::*` types.
    pub fn parse(s: &str) -> Option<Kind> {
        let s = s.trim();
        let s = s.strip_prefix("Intel::").unwrap_or(s);
        Some(match s.to_ascii_lowercase().as_str() {
            "ip" | "addr" | "ipv4" | "ipv6" | "ip-dst" | "ip-src" | "ipv4-addr" | "ipv6-addr" => {
                Kind::Ip
            }
            "cidr" | "subnet" | "network" => Kind::Cidr,
            "domain" | "hostname" | "fqdn" | "domain-name" => Kind::Domain,
            "url" | "uri" => Kind::Url,
            "ja3" => Kind::Ja3,
            "ja3s" => Kind::Ja3s,
            "ja4" => Kind::Ja4,
            "sha256" | "sha-256" => Kind::Sha256,
            "sha1" | "sha-1" => Kind::Sha1,
            "md5" => Kind::Md5,
            "user_agent" | "user-agent" | "useragent" | "software" => Kind::UserAgent,
            "cert_fingerprint" | "cert_hash" | "x509-fingerprint-sha1" | "certificate" => {
                Kind::CertFingerprint
            }
            _ => return None,
        })
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One indicator as a feed gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Indicator {
    /// The value, normalised for its kind.
    pub value: String,
    /// Its kind.
    pub kind: Kind,
    /// Who says so (the feed's name unless the record names one).
    pub source: String,
    /// Why it is bad.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Confidence 0–100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<u8>,
    /// Unix seconds after which the indicator no longer matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<i64>,
}

/// A record a feed could not use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadRecord {
    /// 1-based line (or object index in a STIX bundle).
    pub line: usize,
    /// Why.
    pub reason: String,
}

/// A parsed feed: its indicators and what was refused.
#[derive(Debug, Clone, Default)]
pub struct Feed {
    /// The feed's name (the default source).
    pub name: String,
    /// Indicators, in file order.
    pub indicators: Vec<Indicator>,
    /// The first [`MAX_REPORTED_ERRORS`] refused records.
    pub errors: Vec<BadRecord>,
    /// Refused records in all.
    pub refused: usize,
}

/// The format of a feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated with a header row.
    Csv,
    /// One JSON object per line.
    JsonLines,
    /// Zeek's intel framework file (tab-separated, `#fields` header).
    Zeek,
    /// A STIX 2.1 bundle.
    Stix,
}

impl Format {
    /// Guesses the format from the first non-blank bytes.
    pub fn sniff(data: &[u8]) -> Format {
        let start = data
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(data.len());
        let head = &data[start..data.len().min(start + 4096)];
        if head.starts_with(b"#fields") || head.starts_with(b"#separator") {
            Format::Zeek
        } else if head.starts_with(b"{") {
            // A bundle is one object whose `type` is "bundle"; JSON lines are many objects.
            let first_line = head.split(|&b| b == b'\n').next().unwrap_or_default();
            let one_object = serde_json::from_slice::<serde_json::Value>(first_line).is_ok();
            if memchr::memmem::find(head, b"\"bundle\"").is_some()
                && (!one_object || memchr::memmem::find(first_line, b"\"bundle\"").is_some())
            {
                Format::Stix
            } else {
                Format::JsonLines
            }
        } else {
            Format::Csv
        }
    }
}

impl Feed {
    /// Parses `data` (format sniffed) as the feed `name`.
    pub fn parse(name: &str, data: &[u8]) -> Feed {
        Feed::parse_as(name, data, Format::sniff(data))
    }

    /// Parses `data` as `format`.
    pub fn parse_as(name: &str, data: &[u8], format: Format) -> Feed {
        let mut feed = Feed {
            name: name.to_owned(),
            ..Feed::default()
        };
        match format {
            Format::Csv => feed.parse_csv(data),
            Format::JsonLines => feed.parse_jsonl(data),
            Format::Zeek => feed.parse_zeek(data),
            Format::Stix => feed.parse_stix(data),
        }
        feed
    }

    fn refuse(&mut self, line: usize, reason: impl Into<String>) {
        self.refused += 1;
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(BadRecord {
                line,
                reason: reason.into(),
            });
        }
    }

    /// Adds a record given as text fields, normalising it; refuses it with a reason otherwise.
    fn add(&mut self, line: usize, rec: RawRecord<'_>) {
        match rec.build(&self.name) {
            Ok(i) => self.indicators.push(i),
            Err(why) => self.refuse(line, why),
        }
    }

    fn parse_csv(&mut self, data: &[u8]) {
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .comment(Some(b'#'))
            .trim(csv::Trim::All)
            .from_reader(data);
        let headers = match rdr.byte_headers() {
            Ok(h) => h.clone(),
            Err(e) => {
                self.refuse(1, format!("CSV header: {e}"));
                return;
            }
        };
        let col = |names: &[&str]| {
            headers.iter().position(|h| {
                let h = String::from_utf8_lossy(h).to_ascii_lowercase();
                names.contains(&h.as_str())
            })
        };
        let Some(ci) = col(&["indicator", "value", "ioc"]) else {
            self.refuse(1, "CSV header names no `indicator` (or `value`) column");
            return;
        };
        let Some(ct) = col(&["type", "indicator_type", "kind"]) else {
            self.refuse(1, "CSV header names no `type` column");
            return;
        };
        let cs = col(&["source", "meta.source"]);
        let cd = col(&["description", "desc", "meta.desc"]);
        let cc = col(&["confidence"]);
        let ce = col(&["expires", "expiry", "valid_until"]);
        let mut rec = csv::ByteRecord::new();
        loop {
            match rdr.read_byte_record(&mut rec) {
                Ok(false) => break,
                Ok(true) => {
                    let line = rec.position().map_or(0, |p| p.line() as usize);
                    let get = |c: Option<usize>| {
                        c.and_then(|c| rec.get(c))
                            .map(|b| String::from_utf8_lossy(b).into_owned())
                    };
                    let (value, kind) = (get(Some(ci)), get(Some(ct)));
                    self.add(
                        line,
                        RawRecord {
                            value: value.as_deref().unwrap_or(""),
                            kind: kind.as_deref().unwrap_or(""),
                            source: get(cs).as_deref().unwrap_or(""),
                            description: get(cd).as_deref().unwrap_or(""),
                            confidence: get(cc).as_deref().unwrap_or(""),
                            expires: get(ce).as_deref().unwrap_or(""),
                        },
                    );
                }
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line() as usize);
                    self.refuse(line, format!("CSV: {e}"));
                    if !matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. }) {
                        break;
                    }
                }
            }
        }
    }

    fn parse_jsonl(&mut self, data: &[u8]) {
        for (n, l) in data.split(|&b| b == b'\n').enumerate() {
            if l.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let v: serde_json::Value = match serde_json::from_slice(l) {
                Ok(v) => v,
                Err(e) => {
                    self.refuse(n + 1, format!("JSON: {e}"));
                    continue;
                }
            };
            let s = |k: &[&str]| -> String {
                k.iter()
                    .find_map(|k| v.get(*k))
                    .map(|x| match x {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Null => String::new(),
                        other => other.to_string(),
                    })
                    .unwrap_or_default()
            };
            let (value, kind) = (s(&["indicator", "value", "ioc"]), s(&["type", "kind"]));
            let (source, description) = (s(&["source"]), s(&["description", "desc"]));
            let (confidence, expires) = (s(&["confidence"]), s(&["expires", "valid_until"]));
            self.add(
                n + 1,
                RawRecord {
                    value: &value,
                    kind: &kind,
                    source: &source,
                    description: &description,
                    confidence: &confidence,
                    expires: &expires,
                },
            );
        }
    }

    fn parse_zeek(&mut self, data: &[u8]) {
        let mut fields: Vec<String> = Vec::new();
        for (n, l) in data.split(|&b| b == b'\n').enumerate() {
            let l = String::from_utf8_lossy(l);
            let l = l.trim_end_matches('\r');
            if let Some(f) = l.strip_prefix("#fields") {
                fields = f
                    .split('\t')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                continue;
            }
            if l.starts_with('#') || l.trim().is_empty() {
                continue;
            }
            if fields.is_empty() {
                self.refuse(n + 1, "Zeek intel record before the #fields header");
                continue;
            }
            let cols: Vec<&str> = l.split('\t').collect();
            let get = |name: &str| {
                fields
                    .iter()
                    .position(|f| f == name)
                    .and_then(|i| cols.get(i))
                    .map(|s| if *s == "-" { "" } else { *s })
                    .unwrap_or("")
            };
            self.add(
                n + 1,
                RawRecord {
                    value: get("indicator"),
                    kind: get("indicator_type"),
                    source: get("meta.source"),
                    description: get("meta.desc"),
                    confidence: get("meta.confidence"),
                    expires: "",
                },
            );
        }
    }

    fn parse_stix(&mut self, data: &[u8]) {
        let v: serde_json::Value = match serde_json::from_slice(data) {
            Ok(v) => v,
            Err(e) => {
                self.refuse(e.line(), format!("STIX bundle: {e}"));
                return;
            }
        };
        let Some(objects) = v.get("objects").and_then(|o| o.as_array()) else {
            self.refuse(1, "STIX bundle has no `objects` array");
            return;
        };
        // Identities name the source of the indicators they created.
        let identities: HashMap<&str, &str> = objects
            .iter()
            .filter(|o| o.get("type").and_then(|t| t.as_str()) == Some("identity"))
            .filter_map(|o| Some((o.get("id")?.as_str()?, o.get("name")?.as_str()?)))
            .collect();
        for (n, o) in objects.iter().enumerate() {
            if o.get("type").and_then(|t| t.as_str()) != Some("indicator") {
                continue;
            }
            let s = |k: &str| o.get(k).and_then(|x| x.as_str()).unwrap_or("");
            let ptype = s("pattern_type");
            if !ptype.is_empty() && ptype != "stix" {
                self.refuse(
                    n + 1,
                    format!("{}: pattern_type {ptype} not supported", s("id")),
                );
                continue;
            }
            let comparisons = match stix_pattern(s("pattern")) {
                Ok(c) => c,
                Err(why) => {
                    self.refuse(n + 1, format!("{}: {why}", s("id")));
                    continue;
                }
            };
            let source = identities.get(s("created_by_ref")).copied().unwrap_or("");
            let desc = if s("description").is_empty() {
                s("name")
            } else {
                s("description")
            };
            let confidence = o
                .get("confidence")
                .and_then(serde_json::Value::as_u64)
                .map(|c| c.to_string())
                .unwrap_or_default();
            for (kind, value) in comparisons {
                self.add(
                    n + 1,
                    RawRecord {
                        value: &value,
                        kind: kind.as_str(),
                        source,
                        description: desc,
                        confidence: &confidence,
                        expires: s("valid_until"),
                    },
                );
            }
        }
    }
}

/// The comparisons of a STIX pattern we can represent: `[path = 'value']` terms joined by
/// `OR` (inside or between brackets). `AND`, `FOLLOWEDBY`, qualifiers and other operators
/// describe more than one observation and are refused.
fn stix_pattern(p: &str) -> Result<Vec<(Kind, String)>, String> {
    let mut out = Vec::new();
    let mut rest = p.trim();
    if rest.is_empty() {
        return Err("empty pattern".into());
    }
    while !rest.is_empty() {
        rest = rest.trim_start();
        rest = rest.strip_prefix('[').unwrap_or(rest).trim_start();
        // object-path
        let op = rest
            .find(|c: char| c.is_whitespace() || c == '=' || c == '!')
            .ok_or("comparison without an operator")?;
        let path = &rest[..op];
        rest = rest[op..].trim_start();
        rest = rest
            .strip_prefix('=')
            .ok_or_else(|| format!("`{path}`: only `=` comparisons are supported"))?
            .trim_start();
        rest = rest
            .strip_prefix('\'')
            .ok_or("value is not a quoted string")?;
        // A quoted string with \' and \\ escapes.
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, e)) = chars.next() {
                        value.push(e);
                    }
                }
                '\'' => {
                    end = Some(i + 1);
                    break;
                }
                c => value.push(c),
            }
        }
        let end = end.ok_or("unterminated string")?;
        rest = rest[end..].trim_start();
        let kind = stix_kind(path).ok_or_else(|| format!("object path `{path}` not supported"))?;
        out.push((kind, value));
        rest = rest.strip_prefix(']').unwrap_or(rest).trim_start();
        if rest.is_empty() {
            break;
        }
        let Some(r) = rest.strip_prefix("OR") else {
            let word: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
            return Err(format!(
                "`{word}`: only OR-joined comparisons are supported"
            ));
        };
        rest = r;
    }
    Ok(out)
}

fn stix_kind(path: &str) -> Option<Kind> {
    let path = path.replace('"', "'");
    Some(match path.as_str() {
        "ipv4-addr:value" | "ipv6-addr:value" => Kind::Ip,
        "domain-name:value" => Kind::Domain,
        "url:value" => Kind::Url,
        "file:hashes.'SHA-256'" | "file:hashes.SHA256" | "file:hashes.'SHA256'" => Kind::Sha256,
        "file:hashes.'SHA-1'" | "file:hashes.SHA1" | "file:hashes.'SHA1'" => Kind::Sha1,
        "file:hashes.MD5" | "file:hashes.'MD5'" => Kind::Md5,
        "x509-certificate:hashes.'SHA-1'" | "x509-certificate:hashes.SHA1" => Kind::CertFingerprint,
        "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'" => {
            Kind::UserAgent
        }
        _ => return None,
    })
}

/// One record's text fields before normalisation.
struct RawRecord<'a> {
    value: &'a str,
    kind: &'a str,
    source: &'a str,
    description: &'a str,
    confidence: &'a str,
    expires: &'a str,
}

impl RawRecord<'_> {
    fn build(&self, feed: &str) -> Result<Indicator, String> {
        let kind = Kind::parse(self.kind)
            .ok_or_else(|| format!("unknown indicator type `{}`", self.kind.trim()))?;
        if self.value.len() > MAX_VALUE_LEN {
            return Err(format!("value longer than {MAX_VALUE_LEN} bytes"));
        }
        // An IPv4 CIDR given as "ip" is a network.
        let kind = if kind == Kind::Ip && self.value.contains('/') {
            Kind::Cidr
        } else {
            kind
        };
        let value = normalise(kind, self.value)?;
        let confidence = match self.confidence.trim() {
            "" => None,
            c => {
                let n: f64 = c
                    .parse()
                    .map_err(|_| format!("confidence `{c}` is not a number"))?;
                if !(0.0..=100.0).contains(&n) {
                    return Err(format!("confidence {c} is outside 0-100"));
                }
                Some(n.round() as u8)
            }
        };
        let expires = match self.expires.trim() {
            "" => None,
            e => Some(parse_time(e).ok_or_else(|| format!("expiry `{e}` is not a time"))?),
        };
        let mut description = self.description.trim().to_owned();
        if description.len() > MAX_DESCRIPTION_LEN {
            let mut cut = MAX_DESCRIPTION_LEN;
            while !description.is_char_boundary(cut) {
                cut -= 1;
            }
            description.truncate(cut);
        }
        let source = match self.source.trim() {
            "" => feed.to_owned(),
            s => s.to_owned(),
        };
        Ok(Indicator {
            value,
            kind,
            source,
            description,
            confidence,
            expires,
        })
    }
}

/// Unix seconds from RFC 3339 or a number of seconds.
fn parse_time(s: &str) -> Option<i64> {
    if let Ok(n) = s.parse::<i64>() {
        return Some(n);
    }
    if let Ok(f) = s.parse::<f64>() {
        return f.is_finite().then_some(f as i64);
    }
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// The normalised form of `v` as a `kind` (the form events are looked up in).
pub fn normalise(kind: Kind, v: &str) -> Result<String, String> {
    let v = v.trim();
    if v.is_empty() {
        return Err("empty value".into());
    }
    let hex = |len: &[usize]| -> Result<String, String> {
        let h: String = v
            .chars()
            .filter(|c| *c != ':')
            .collect::<String>()
            .to_ascii_lowercase();
        if !len.contains(&h.len()) || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("`{v}` is not a {kind} (hex of {len:?} digits)"));
        }
        Ok(h)
    };
    match kind {
        Kind::Ip => v
            .parse::<IpAddr>()
            .map(|a| a.to_string())
            .map_err(|_| format!("`{v}` is not an IP address")),
        Kind::Cidr => {
            let (net, len) = parse_cidr(v)?;
            Ok(format!("{net}/{len}"))
        }
        Kind::Domain => {
            let d = domain_key(v);
            if d.is_empty() || d.contains(['/', ' ', '\t']) {
                return Err(format!("`{v}` is not a domain name"));
            }
            Ok(d)
        }
        Kind::Url => Ok(url_key(v)),
        Kind::Ja3 | Kind::Ja3s | Kind::Md5 => hex(&[32]),
        Kind::Sha1 | Kind::CertFingerprint => hex(&[40]),
        Kind::Sha256 => hex(&[64]),
        Kind::Ja4 => Ok(v.to_ascii_lowercase()),
        Kind::UserAgent => Ok(v.to_owned()),
    }
}

/// A network's masked address and prefix length.
fn parse_cidr(v: &str) -> Result<(IpAddr, u8), String> {
    let (a, l) = v.split_once('/').unwrap_or((v, ""));
    let addr: IpAddr = a
        .parse()
        .map_err(|_| format!("`{v}` is not a network (address/prefix)"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len: u8 = if l.is_empty() {
        max
    } else {
        l.parse()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| format!("`{v}`: prefix length must be 0-{max}"))?
    };
    Ok((mask(addr, len), len))
}

fn mask(a: IpAddr, len: u8) -> IpAddr {
    match a {
        IpAddr::V4(v) => {
            let m = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            IpAddr::V4((u32::from(v) & m).into())
        }
        IpAddr::V6(v) => {
            let m = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            IpAddr::V6((u128::from(v) & m).into())
        }
    }
}

/// A domain as looked up: lowercase, no trailing dot.
pub fn domain_key(d: &str) -> String {
    d.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// A URL as looked up: no scheme, host lowercase, the rest as given (Zeek's form).
pub fn url_key(u: &str) -> String {
    let u = u.trim();
    let lower = u.get(..8).map(str::to_ascii_lowercase).unwrap_or_default();
    let rest = if lower.starts_with("http://") {
        &u[7..]
    } else if lower.starts_with("https://") {
        &u[8..]
    } else {
        u
    };
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut k = host.to_ascii_lowercase();
    k.push_str(if path.is_empty() { "/" } else { path });
    k
}

/// Per-indicator data kept in the set (the value is the map key).
#[derive(Debug, Clone)]
struct Meta {
    source: u32,
    confidence: Option<u8>,
    expires: Option<i64>,
    description: Box<str>,
}

type Map<K> = HashMap<K, u32, RandomState>;

/// What matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hit {
    /// The indicator's value (for a domain, the listed domain; for a network, the network).
    pub indicator: String,
    /// Its kind.
    #[serde(rename = "type")]
    pub kind: Kind,
    /// Its source.
    pub source: Arc<str>,
    /// Its description.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub description: Arc<str>,
    /// Its confidence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<u8>,
}

/// Counts per kind, for status output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IntelCounts {
    /// Indicators in the set (duplicates merged: the last feed's record wins).
    pub indicators: usize,
    /// By kind.
    pub by_kind: std::collections::BTreeMap<Kind, usize>,
}

/// An immutable set of indicators built from feeds.
#[derive(Debug, Default)]
pub struct IntelSet {
    metas: Vec<Meta>,
    sources: Vec<Arc<str>>,
    ips: Map<IpAddr>,
    /// Networks by prefix length: (masked address) → indicator; lengths present, longest first.
    nets: HashMap<u8, Map<IpAddr>, RandomState>,
    net_lens_v4: Vec<u8>,
    net_lens_v6: Vec<u8>,
    strings: [Map<Box<str>>; 10],
    counts: IntelCounts,
}

/// Index into [`IntelSet::strings`] of a string kind.
fn slot(kind: Kind) -> Option<usize> {
    Some(match kind {
        Kind::Domain => 0,
        Kind::Url => 1,
        Kind::Ja3 => 2,
        Kind::Ja3s => 3,
        Kind::Ja4 => 4,
        Kind::Sha256 => 5,
        Kind::Sha1 => 6,
        Kind::Md5 => 7,
        Kind::UserAgent => 8,
        Kind::CertFingerprint => 9,
        Kind::Ip | Kind::Cidr => return None,
    })
}

impl IntelSet {
    /// Builds the set from feeds; a value listed twice keeps the later record.
    pub fn build<'a>(feeds: impl IntoIterator<Item = &'a Feed>) -> IntelSet {
        let mut s = IntelSet::default();
        let mut source_ids: HashMap<String, u32> = HashMap::new();
        for f in feeds {
            s.metas.reserve(f.indicators.len());
            for i in &f.indicators {
                let src = match source_ids.get(&i.source) {
                    Some(&n) => n,
                    None => {
                        let n = s.sources.len() as u32;
                        s.sources.push(Arc::from(i.source.as_str()));
                        source_ids.insert(i.source.clone(), n);
                        n
                    }
                };
                let id = s.metas.len() as u32;
                s.metas.push(Meta {
                    source: src,
                    confidence: i.confidence,
                    expires: i.expires,
                    description: i.description.as_str().into(),
                });
                let fresh = match i.kind {
                    Kind::Ip => i
                        .value
                        .parse::<IpAddr>()
                        .is_ok_and(|a| s.ips.insert(a, id).is_none()),
                    Kind::Cidr => match parse_cidr(&i.value) {
                        Ok((net, len)) => {
                            let lens = if net.is_ipv4() {
                                &mut s.net_lens_v4
                            } else {
                                &mut s.net_lens_v6
                            };
                            if !lens.contains(&len) {
                                lens.push(len);
                                lens.sort_unstable_by(|a, b| b.cmp(a));
                            }
                            // v4 and v6 share a length's map: the addresses differ in type.
                            s.nets.entry(len).or_default().insert(net, id).is_none()
                        }
                        Err(_) => false,
                    },
                    k => match slot(k) {
                        Some(n) => s.strings[n].insert(i.value.as_str().into(), id).is_none(),
                        None => false,
                    },
                };
                if fresh {
                    s.counts.indicators += 1;
                    *s.counts.by_kind.entry(i.kind).or_default() += 1;
                }
            }
        }
        s
    }

    /// Indicators by kind.
    pub fn counts(&self) -> &IntelCounts {
        &self.counts
    }

    /// True when nothing is loaded (matching can be skipped).
    pub fn is_empty(&self) -> bool {
        self.counts.indicators == 0
    }

    fn hit(&self, id: u32, indicator: String, kind: Kind, now: i64) -> Option<Hit> {
        let m = self.metas.get(id as usize)?;
        if m.expires.is_some_and(|e| now > e) {
            return None;
        }
        Some(Hit {
            indicator,
            kind,
            source: self.sources.get(m.source as usize).cloned()?,
            description: Arc::from(&*m.description),
            confidence: m.confidence,
        })
    }

    /// The indicator an address matches (an exact address first, then the longest network),
    /// unless expired at `now` (Unix seconds).
    pub fn match_ip(&self, a: IpAddr, now: i64) -> Option<Hit> {
        if let Some(&id) = self.ips.get(&a) {
            if let Some(h) = self.hit(id, a.to_string(), Kind::Ip, now) {
                return Some(h);
            }
        }
        let lens = if a.is_ipv4() {
            &self.net_lens_v4
        } else {
            &self.net_lens_v6
        };
        for &len in lens {
            let net = mask(a, len);
            if let Some(&id) = self.nets.get(&len).and_then(|m| m.get(&net)) {
                if let Some(h) = self.hit(id, format!("{net}/{len}"), Kind::Cidr, now) {
                    return Some(h);
                }
            }
        }
        None
    }

    /// The indicator a domain matches: the name itself or its closest listed parent.
    pub fn match_domain(&self, name: &str, now: i64) -> Option<Hit> {
        let map = &self.strings[0];
        if map.is_empty() || name.is_empty() {
            return None;
        }
        let d = domain_key(name);
        // Suffixes at label boundaries, longest first, at most MAX_DOMAIN_LABELS of them.
        let mut starts: Vec<usize> = std::iter::once(0)
            .chain(d.match_indices('.').map(|(i, _)| i + 1))
            .collect();
        if starts.len() > MAX_DOMAIN_LABELS {
            starts.drain(..starts.len() - MAX_DOMAIN_LABELS);
        }
        for s in starts {
            let suffix = &d[s..];
            if let Some(&id) = map.get(suffix) {
                if let Some(h) = self.hit(id, suffix.to_owned(), Kind::Domain, now) {
                    return Some(h);
                }
            }
        }
        None
    }

    /// The indicator a URL (host + URI) matches.
    pub fn match_url(&self, host: &str, uri: &str, now: i64) -> Option<Hit> {
        let map = &self.strings[1];
        if map.is_empty() {
            return None;
        }
        let mut k = domain_key(host);
        if uri.starts_with("http://") || uri.starts_with("https://") {
            k = url_key(uri);
        } else {
            k.push_str(if uri.is_empty() { "/" } else { uri });
        }
        let &id = map.get(k.as_str())?;
        self.hit(id, k, Kind::Url, now)
    }

    /// The indicator a value of a string kind (not ip, cidr, domain, url) matches; the value
    /// is normalised first (hex lowercase, colons dropped).
    pub fn match_value(&self, kind: Kind, v: &str, now: i64) -> Option<Hit> {
        let map = &self.strings[slot(kind)?];
        if map.is_empty() || v.is_empty() {
            return None;
        }
        let id = match map.get(v) {
            Some(&id) => id,
            None => {
                let n = normalise(kind, v).ok()?;
                *map.get(n.as_str())?
            }
        };
        self.hit(id, v.to_owned(), kind, now)
    }
}

/// The name a feed file is stored under by default: its file name without extension.
pub fn feed_name(path: &std::path::Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "feed".into())
}

/// Longest feed name stored.
pub const MAX_FEED_NAME: usize = 64;

/// Whether `name` may name a stored feed (letters, digits, `.`, `_`, `-`; at most
/// [`MAX_FEED_NAME`]).
pub fn valid_feed_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_FEED_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The feeds stored in the `intel` tree of a data directory (name → feed text), parsed.
pub fn stored_feeds(store: &store::Store) -> Result<Vec<Feed>, store::StoreError> {
    let mut out = Vec::new();
    for kv in store.scan_prefix(store::Tree::Intel, b"") {
        let (k, v) = kv?;
        out.push(Feed::parse(&String::from_utf8_lossy(&k), &v));
    }
    Ok(out)
}

/// A cheap fingerprint of the stored feeds (names and sizes), to notice a change without
/// parsing them.
pub fn stored_fingerprint(store: &store::Store) -> u64 {
    let h = RandomState::with_seeds(1, 2, 3, 4);
    let mut acc = 0u64;
    for (k, v) in store.scan_prefix(store::Tree::Intel, b"").flatten() {
        acc = acc.wrapping_mul(31).wrapping_add(h.hash_one((&k, v.len())));
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(name: &str, data: &str) -> (IntelSet, Feed) {
        let f = Feed::parse(name, data.as_bytes());
        (IntelSet::build([&f]), f)
    }

    #[test]
    fn csv_feed_matches_each_kind_and_reports_bad_lines() {
        let (s, f) = set(
            "feed-a",
            "indicator,type,source,description,confidence,expires\n\
             198.51.100.7,ip,abuse.ch,c2 server,90,\n\
             203.0.113.0/24,cidr,,bad net,,\n\
             Evil.Example.,domain,,phishing kit,50,2030-01-01T00:00:00Z\n\
             http://files.example.net/drop/a.exe,url,,,,\n\
             e7d705a3286e19ea42f587b344ee6865,ja3,,,,\n\
             AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD,cert_fingerprint,,,,\n\
             Mozilla/4.0 (compatible; Bot),user_agent,,,,\n\
             not-an-ip,ip,,,,\n\
             x.example,colour,,,,\n\
             1.2.3.4,ip,,,150,\n",
        );
        assert_eq!(f.refused, 3, "{:?}", f.errors);
        assert_eq!(f.errors[0].line, 9);
        assert!(f.errors[1].reason.contains("colour"), "{:?}", f.errors[1]);
        assert!(f.errors[2].reason.contains("confidence"));
        assert_eq!(s.counts().indicators, 7);
        let now = 1_700_000_000;
        let h = s.match_ip("198.51.100.7".parse().unwrap(), now).unwrap();
        assert_eq!(
            (h.kind, &*h.source, h.confidence),
            (Kind::Ip, "abuse.ch", Some(90))
        );
        let h = s.match_ip("203.0.113.99".parse().unwrap(), now).unwrap();
        assert_eq!(
            (h.indicator.as_str(), &*h.source),
            ("203.0.113.0/24", "feed-a")
        );
        assert!(s.match_ip("203.0.114.1".parse().unwrap(), now).is_none());
        let h = s.match_domain("WWW.evil.example", now).unwrap();
        assert_eq!(h.indicator, "evil.example");
        assert!(s.match_domain("notevil.example", now).is_none());
        // Expired in 2030.
        assert!(s.match_domain("evil.example", 1_900_000_000).is_none());
        assert!(s
            .match_url("Files.Example.net", "/drop/a.exe", now)
            .is_some());
        assert!(s
            .match_url("files.example.net", "/drop/b.exe", now)
            .is_none());
        assert!(s
            .match_value(Kind::Ja3, "E7D705A3286E19EA42F587B344EE6865", now)
            .is_some());
        assert!(s
            .match_value(
                Kind::CertFingerprint,
                "aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd",
                now
            )
            .is_some());
        assert!(s
            .match_value(Kind::UserAgent, "Mozilla/4.0 (compatible; Bot)", now)
            .is_some());
    }

    #[test]
    fn jsonl_zeek_and_stix_feeds() {
        let (s, f) = set(
            "j",
            "{\"indicator\":\"2001:db8::1\",\"type\":\"ip\",\"confidence\":70}\n\
             {\"value\":\"bad.test\",\"kind\":\"domain\",\"expires\":1900000000}\n\
             not json\n",
        );
        assert_eq!((s.counts().indicators, f.refused), (2, 1));
        assert!(s.match_ip("2001:db8::1".parse().unwrap(), 0).is_some());

        let (s, f) = set(
            "z",
            "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n\
             10.9.8.7\tIntel::ADDR\tzeek-src\t-\n\
             c2.test\tIntel::DOMAIN\tzeek-src\tcallback\n\
             x\tIntel::EMAIL\tz\t-\n",
        );
        assert_eq!((s.counts().indicators, f.refused), (2, 1));
        assert_eq!(
            &*s.match_domain("a.c2.test", 0).unwrap().description,
            "callback"
        );

        let bundle = r#"{"type":"bundle","id":"bundle--1","objects":[
          {"type":"identity","id":"identity--1","name":"CERT-X"},
          {"type":"indicator","id":"indicator--1","created_by_ref":"identity--1",
           "pattern":"[ipv4-addr:value = '192.0.2.9'] OR [domain-name:value = 'x.bad.test']",
           "pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z",
           "valid_until":"2099-01-01T00:00:00Z","name":"C2","confidence":85},
          {"type":"indicator","id":"indicator--2","pattern_type":"stix",
           "pattern":"[file:hashes.'SHA-256' = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']"},
          {"type":"indicator","id":"indicator--3","pattern_type":"stix",
           "pattern":"[ipv4-addr:value = '192.0.2.1' AND domain-name:value = 'y.test']"},
          {"type":"indicator","id":"indicator--4","pattern_type":"sigma","pattern":"x"}
        ]}"#;
        let (s, f) = set("stix", bundle);
        assert_eq!(s.counts().indicators, 3, "{:?}", f.errors);
        assert_eq!(f.refused, 2);
        assert!(f.errors[0].reason.contains("AND"), "{:?}", f.errors);
        let h = s.match_ip("192.0.2.9".parse().unwrap(), 0).unwrap();
        assert_eq!((&*h.source, h.confidence), ("CERT-X", Some(85)));
        assert!(s.match_domain("x.bad.test", 0).is_some());
        assert!(s.match_value(Kind::Sha256, &"a".repeat(64), 0).is_some());
    }

    #[test]
    fn longest_network_wins_and_v6_networks_match() {
        let (s, _) = set(
            "n",
            "indicator,type,description\n10.0.0.0/8,cidr,wide\n10.1.0.0/16,cidr,narrow\n\
             2001:db8::/32,cidr,v6\n",
        );
        assert_eq!(
            &*s.match_ip("10.1.2.3".parse().unwrap(), 0)
                .unwrap()
                .description,
            "narrow"
        );
        assert_eq!(
            &*s.match_ip("10.2.2.3".parse().unwrap(), 0)
                .unwrap()
                .description,
            "wide"
        );
        assert!(s.match_ip("2001:db8:5::1".parse().unwrap(), 0).is_some());
        assert!(s.match_ip("11.0.0.1".parse().unwrap(), 0).is_none());
    }

    #[test]
    fn hostile_feeds_do_not_panic() {
        for data in [
            &b"\xff\xfe,\x00"[..],
            b"{\"type\":\"bundle\",\"objects\":[{\"type\":\"indicator\",\"pattern\":\"[\"}]}",
            b"#fields\n\t\t\t",
            b"indicator,type\n\"unterminated,ip\n",
            b"{",
        ] {
            let f = Feed::parse("h", data);
            let _ = IntelSet::build([&f]);
        }
        for p in [
            "",
            "[",
            "[a",
            "[a =",
            "[a = '",
            "[a = 'x' OR",
            "[x:y = 'z'] FOO",
        ] {
            assert!(stix_pattern(p).is_err(), "{p}");
        }
    }
}
