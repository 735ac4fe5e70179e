//! Beaconing: connections from one internal host to one destination at regular intervals and
//! sizes, scored the way RITA v5 scores them so that analysts can compare the two.
//!
//! Connections are grouped into pairs: `(source, destination IP)` for internal → external
//! connections, and `(source, server name)` when the connection carried a TLS SNI or an HTTP
//! Host (including proxied `CONNECT host:port` requests, whose client → proxy connection is
//! internal). An IP pair is dropped when any of its connections belongs to a server-name pair
//! that is itself scored: the name says more than the address behind a CDN.
//!
//! Each pair with at least [`MIN_UNIQUE_TS`] distinct connection seconds gets four sub-scores
//! in `[0, 1]`, and the beacon score is their mean, rounded to three decimals:
//! - **ts** (intervals): mean of the Bowley-skew score and the MAD score of the non-zero
//!   intervals between sorted connection start seconds;
//! - **ds** (data sizes): the same two scores over the bytes the source sent per connection;
//! - **hist**: the connection-count histogram over 24 equal bins of the analysis window:
//!   `1 − cv` of the bin counts, or the bimodal fit when at least 11 bins are busy;
//! - **dur**: with at least 6 busy bins, the larger of the pair's coverage of the window and
//!   its longest run of busy bins (wrapping) over 12.
//!
//! The window ends at the latest connection seen and spans at most 24 hours. Slow beacons
//! (one connection an hour or less) need more history: [`Analyzer`] takes any window length,
//! and `probed beacon --data-dir` scores the archived flows of several days.
//!
//! Caps: pairs ([`Limits::max_pairs`]) and connections per pair ([`MAX_CONNS_PER_PAIR`], RITA's
//! own limit: a pair above it is not a beacon but a flood) are bounded; what goes over is
//! counted, never stored.

use std::collections::HashSet;
use std::net::IpAddr;

use ahash::{HashMap, HashMapExt};
use serde::Serialize;

/// Fewest distinct connection seconds a pair needs to be scored.
pub const MIN_UNIQUE_TS: usize = 4;
/// Connections per pair above which the pair is not scored (and stops being stored).
pub const MAX_CONNS_PER_PAIR: usize = 86_400;
/// Histogram bins over the window.
pub const BINS: usize = 24;
/// Default analysis window.
pub const DEFAULT_WINDOW_SECS: i64 = 86_400;
/// Server names longer than this are cut (DNS names are at most 253 bytes; a Host header
/// with a port a little more).
pub const MAX_FQDN_LEN: usize = 300;

/// One connection, from a Zeek conn log or an EVE `flow` event.
#[derive(Debug, Clone, PartialEq)]
pub struct Conn {
    /// Start, Unix seconds.
    pub ts: f64,
    /// Originator.
    pub src: IpAddr,
    /// Responder.
    pub dst: IpAddr,
    /// Responder port.
    pub dport: u16,
    /// IP bytes the originator sent.
    pub orig_bytes: u64,
    /// IP bytes the responder sent.
    pub resp_bytes: u64,
    /// Duration in seconds.
    pub duration: f64,
    /// TLS SNI or HTTP Host of the connection, if it had one.
    pub fqdn: Option<String>,
    /// Whether the name came from a request to a proxy (`CONNECT` or an absolute URI).
    pub proxied: bool,
}

/// Sizes of the analyzer.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most pairs tracked; connections of new pairs beyond it are counted as dropped.
    pub max_pairs: usize,
    /// The analysis window (seconds before the latest connection).
    pub window_secs: i64,
    /// Destination ports that are infrastructure (DNS, NTP, DHCP, NetBIOS, mDNS, LLMNR): their
    /// pairs are scored but marked excluded, and make no `beacon` events.
    pub infrastructure_ports: Vec<u16>,
    /// A destination contacted by at least this many sources, and by at least half of all
    /// sources, is a frequent item (an update server, a resolver): scored, but excluded.
    pub frequent_min_sources: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_pairs: 1_000_000,
            window_secs: DEFAULT_WINDOW_SECS,
            infrastructure_ports: vec![53, 67, 68, 123, 137, 138, 5353, 5355],
            frequent_min_sources: 10,
        }
    }
}

/// How an HTTP request names its connection for beaconing: its Host, or for a `CONNECT` the
/// `host:port` it asks for; and whether it went to a proxy (`CONNECT` or an absolute URI).
pub fn http_request_name<'a>(host: &'a str, method: &str, uri: &'a str) -> (&'a str, bool) {
    let connect = method.eq_ignore_ascii_case("CONNECT");
    let proxied = connect || uri.starts_with("http://") || uri.starts_with("https://");
    let name = if connect && !uri.is_empty() && !uri.starts_with('/') {
        uri
    } else {
        host
    };
    (name, proxied)
}

/// Networks counted as internal (the sources of beacons).
#[derive(Debug, Clone)]
pub struct Internal {
    nets: Vec<(IpAddr, u8)>,
}

impl Default for Internal {
    /// RFC 1918, RFC 6598 (carrier-grade NAT) and IPv6 unique-local addresses.
    fn default() -> Self {
        let p = |s: &str, l| (s.parse().unwrap_or_else(|_| IpAddr::from([0, 0, 0, 0])), l);
        Internal {
            nets: vec![
                p("10.0.0.0", 8),
                p("172.16.0.0", 12),
                p("192.168.0.0", 16),
                p("100.64.0.0", 10),
                p("fc00::", 7),
            ],
        }
    }
}

impl Internal {
    /// Networks from `a.b.c.d/len` strings.
    pub fn parse<'a>(nets: impl IntoIterator<Item = &'a str>) -> Result<Internal, String> {
        let mut out = Vec::new();
        for n in nets {
            let (a, l) = n.split_once('/').unwrap_or((n, ""));
            let a: IpAddr = a.parse().map_err(|_| format!("{n:?}: not an address"))?;
            let max = if a.is_ipv4() { 32 } else { 128 };
            let l = if l.is_empty() {
                max
            } else {
                l.parse::<u8>()
                    .ok()
                    .filter(|l| *l <= max)
                    .ok_or_else(|| format!("{n:?}: bad prefix length"))?
            };
            out.push((a, l));
        }
        Ok(Internal { nets: out })
    }

    /// Whether `a` is internal.
    pub fn contains(&self, a: IpAddr) -> bool {
        self.nets.iter().any(|(n, l)| in_net(a, *n, *l))
    }
}

fn in_net(a: IpAddr, n: IpAddr, len: u8) -> bool {
    match (a, n) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let m = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(a) & m == u32::from(n) & m
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let m = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(a) & m == u128::from(n) & m
        }
        _ => false,
    }
}

/// Addresses that are never beacon destinations (multicast, broadcast, link-local, loopback,
/// unspecified).
fn special(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => {
            v.is_multicast()
                || v.is_broadcast()
                || v.is_link_local()
                || v.is_loopback()
                || v.is_unspecified()
        }
        IpAddr::V6(v) => {
            v.is_multicast()
                || v.is_loopback()
                || v.is_unspecified()
                || (v.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// What a pair is keyed on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Dest {
    Ip(IpAddr),
    Name(Box<str>),
}

#[derive(Debug, Default)]
struct Pair {
    ts: Vec<i64>,
    ds: Vec<u64>,
    bytes: u64,
    duration: f64,
    dports: Vec<u16>,
    proxied: u64,
    overflow: bool,
    /// For an IP pair: the server-name pairs its connections also belong to.
    names: HashSet<Box<str>>,
}

/// A scored pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Beacon {
    /// The internal host.
    pub src: IpAddr,
    /// The destination address (`::` for a server-name pair, as RITA reports it).
    pub dst: IpAddr,
    /// The server name, for a server-name pair.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    /// Beacon score, `[0, 1]`.
    pub score: f64,
    /// Interval sub-score.
    pub ts_score: f64,
    /// Data-size sub-score.
    pub ds_score: f64,
    /// Histogram sub-score.
    pub hist_score: f64,
    /// Duration sub-score.
    pub dur_score: f64,
    /// Connections in the window.
    pub conns: u64,
    /// Bytes both ways.
    pub bytes: u64,
    /// Sum of connection durations, seconds.
    pub duration: f64,
    /// Connections made through a proxy.
    pub proxy_count: u64,
    /// Most common interval between connections, seconds.
    pub interval_mode: i64,
    /// First and last connection second in the window.
    pub first: i64,
    /// See `first`.
    pub last: i64,
    /// Destination ports seen (at most 8).
    pub dports: Vec<u16>,
    /// Why the pair makes no `beacon` event despite its score, if it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excluded: Option<&'static str>,
}

/// Groups connections into pairs and scores them.
#[derive(Debug)]
pub struct Analyzer {
    limits: Limits,
    internal: Internal,
    pairs: HashMap<(IpAddr, Dest), Pair>,
    earliest: i64,
    latest: i64,
    /// Connections not stored because a cap was hit.
    pub dropped: u64,
    /// Connections that were not internal → external (and not proxied).
    pub ignored: u64,
}

impl Analyzer {
    /// An empty analyzer.
    pub fn new(internal: Internal, limits: Limits) -> Analyzer {
        Analyzer {
            limits,
            internal,
            pairs: HashMap::new(),
            earliest: i64::MAX,
            latest: i64::MIN,
            dropped: 0,
            ignored: 0,
        }
    }

    /// Pairs tracked.
    pub fn pairs(&self) -> usize {
        self.pairs.len()
    }

    /// Adds one connection.
    pub fn add(&mut self, c: &Conn) {
        if !c.ts.is_finite() || !self.internal.contains(c.src) || special(c.dst) {
            self.ignored += 1;
            return;
        }
        // Truncated to whole seconds, as RITA does.
        let ts = c.ts as i64;
        let external = !self.internal.contains(c.dst);
        let name = c
            .fqdn
            .as_deref()
            .filter(|n| !n.is_empty())
            .map(|n| cut(n, MAX_FQDN_LEN));
        if !(external || (c.proxied && name.is_some())) {
            self.ignored += 1;
            return;
        }
        self.earliest = self.earliest.min(ts);
        self.latest = self.latest.max(ts);
        if let Some(n) = &name {
            self.push(c, ts, Dest::Name(n.clone()), None);
        }
        if external {
            self.push(c, ts, Dest::Ip(c.dst), name);
        }
    }

    fn push(&mut self, c: &Conn, ts: i64, dest: Dest, name: Option<Box<str>>) {
        let key = (c.src, dest);
        if !self.pairs.contains_key(&key) && self.pairs.len() >= self.limits.max_pairs {
            self.dropped += 1;
            return;
        }
        let p = self.pairs.entry(key).or_default();
        if p.ts.len() >= MAX_CONNS_PER_PAIR {
            p.overflow = true;
            self.dropped += 1;
            return;
        }
        p.ts.push(ts);
        p.ds.push(c.orig_bytes);
        p.bytes = p
            .bytes
            .saturating_add(c.orig_bytes.saturating_add(c.resp_bytes));
        if c.duration.is_finite() && c.duration > 0.0 {
            p.duration += c.duration;
        }
        if c.proxied {
            p.proxied += 1;
        }
        if p.dports.len() < 8 && !p.dports.contains(&c.dport) {
            p.dports.push(c.dport);
        }
        if let Some(n) = name {
            if p.names.len() < 64 {
                p.names.insert(n);
            }
        }
    }

    /// Scores every pair with enough connections, best first.
    pub fn score(&self) -> Vec<Beacon> {
        if self.latest == i64::MIN {
            return Vec::new();
        }
        let max = self.latest;
        let min = self.earliest.max(max - self.limits.window_secs);
        // Server-name pairs that qualify (their IP pairs are dropped).
        let qualifying: HashSet<(IpAddr, &str)> = self
            .pairs
            .iter()
            .filter_map(|((src, d), p)| match d {
                Dest::Name(n) if qualifies(p, min) => Some((*src, &**n)),
                _ => None,
            })
            .collect();
        // Sources per destination, for the frequent-item exclusion.
        let mut sources: HashMap<&Dest, usize> = HashMap::new();
        let mut all_sources = HashSet::new();
        for (src, d) in self.pairs.keys() {
            *sources.entry(d).or_default() += 1;
            all_sources.insert(*src);
        }
        let mut out = Vec::new();
        for ((src, d), p) in &self.pairs {
            if p.overflow || !qualifies(p, min) {
                continue;
            }
            if matches!(d, Dest::Ip(_))
                && p.names.iter().any(|n| qualifying.contains(&(*src, &**n)))
            {
                continue;
            }
            let Some(mut b) = score_pair(p, min, max) else {
                continue;
            };
            b.src = *src;
            match d {
                Dest::Ip(a) => b.dst = *a,
                Dest::Name(n) => b.fqdn = Some(n.to_string()),
            }
            let n_src = sources.get(d).copied().unwrap_or(0);
            if p.dports
                .iter()
                .all(|port| self.limits.infrastructure_ports.contains(port))
            {
                b.excluded = Some("infrastructure-port");
            } else if n_src >= self.limits.frequent_min_sources && n_src * 2 >= all_sources.len() {
                b.excluded = Some("frequent-destination");
            }
            out.push(b);
        }
        out.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| b.conns.cmp(&a.conns))
                .then_with(|| a.src.cmp(&b.src))
                .then_with(|| a.fqdn.cmp(&b.fqdn))
                .then_with(|| a.dst.cmp(&b.dst))
        });
        out
    }
}

fn cut(s: &str, max: usize) -> Box<str> {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].into()
}

fn qualifies(p: &Pair, min: i64) -> bool {
    let mut u: Vec<i64> = p.ts.iter().copied().filter(|t| *t >= min).collect();
    u.sort_unstable();
    u.dedup();
    u.len() >= MIN_UNIQUE_TS && p.ts.len() < MAX_CONNS_PER_PAIR
}

/// Scores one pair over the window `[min, max]`.
fn score_pair(p: &Pair, min: i64, max: i64) -> Option<Beacon> {
    let mut rows: Vec<(i64, u64)> =
        p.ts.iter()
            .zip(&p.ds)
            .filter(|(t, _)| **t >= min)
            .map(|(t, d)| (*t, *d))
            .collect();
    rows.sort_unstable();
    let ts: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let ds: Vec<f64> = rows.iter().map(|r| r.1 as f64).collect();
    let (first, last) = (*ts.first()?, *ts.last()?);

    let intervals: Vec<f64> = ts
        .windows(2)
        .map(|w| (w[1] - w[0]) as f64)
        .filter(|d| *d > 0.0)
        .collect();
    let ts_score = dispersion_score(&intervals, 1.0);
    let ds_score = dispersion_score(&ds, 0.0);

    // Histogram of connection counts over the window.
    let span = (max - min).max(1) as f64;
    let width = span / BINS as f64;
    let mut bins = [0u64; BINS];
    for t in &ts {
        let i = (((t - min) as f64) / width).floor() as usize;
        bins[i.min(BINS - 1)] += 1;
    }
    let busy = bins.iter().filter(|b| **b > 0).count();
    let hist_score = round3(histogram_score(&bins, busy));

    let dur_score = if busy >= 6 {
        let coverage = ceil3((last - first) as f64 / span);
        let run = ceil3(longest_run(&bins) as f64 / 12.0);
        coverage.max(run).min(1.0)
    } else {
        0.0
    };
    let score = round3((ts_score + ds_score + hist_score + dur_score) / 4.0);
    Some(Beacon {
        src: IpAddr::from([0, 0, 0, 0]),
        dst: IpAddr::from([0u16; 8]),
        fqdn: None,
        score,
        ts_score,
        ds_score,
        hist_score,
        dur_score,
        conns: ts.len() as u64,
        bytes: p.bytes,
        duration: (p.duration * 1e6).round() / 1e6,
        proxy_count: p.proxied,
        interval_mode: mode(&intervals),
        first,
        last,
        dports: p.dports.clone(),
        excluded: None,
    })
}

/// Mean of the Bowley-skew score and the MAD score of `v`, rounded to three decimals.
/// `small_median` is the MAD score when the median is below 1 (intervals: 1, perfectly
/// regular; sizes: 0, nothing sent).
fn dispersion_score(v: &[f64], small_median: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let (q1, q2, q3) = quartiles(&s);
    let skew = if q3 - q1 >= 10.0 && q2 != q1 && q2 != q3 {
        (q3 + q1 - 2.0 * q2) / (q3 - q1)
    } else {
        0.0
    };
    let skew_score = 1.0 - skew.abs();
    let mut dev: Vec<f64> = s.iter().map(|x| (x - q2).abs()).collect();
    dev.sort_by(f64::total_cmp);
    let mad = median(&dev);
    let mad_score = if q2 >= 1.0 {
        ((q2 - mad) / q2).max(0.0)
    } else {
        small_median
    };
    round3((skew_score + mad_score) / 2.0)
}

/// Median of sorted `s` (0 when empty).
fn median(s: &[f64]) -> f64 {
    let n = s.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => s[n / 2],
        _ => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

/// Q1, median, Q3 of sorted `s`: the quartiles are the medians of the lower and upper halves,
/// the middle value excluded when the count is odd.
fn quartiles(s: &[f64]) -> (f64, f64, f64) {
    let n = s.len();
    if n < 2 {
        let m = median(s);
        return (m, m, m);
    }
    (median(&s[..n / 2]), median(s), median(&s[n.div_ceil(2)..]))
}

/// `1 − cv` of the bin counts, or the bimodal fit when at least 11 bins are busy.
fn histogram_score(bins: &[u64; BINS], busy: usize) -> f64 {
    let n = BINS as f64;
    let mean = bins.iter().sum::<u64>() as f64 / n;
    if mean <= 0.0 {
        return 0.0;
    }
    let var = bins.iter().map(|b| (*b as f64 - mean).powi(2)).sum::<f64>() / n;
    let cv = var.sqrt() / mean;
    let cv_score = if cv > 1.0 { 0.0 } else { 1.0 - cv };
    let mut bimodal = 0.0;
    if busy >= 11 {
        let tallest = bins.iter().copied().max().unwrap_or(0) as f64;
        let width = (tallest * 0.05).ceil().max(1.0);
        let mut buckets: HashMap<u64, usize> = HashMap::new();
        for b in bins.iter().filter(|b| **b > 0) {
            *buckets
                .entry((*b as f64 / width).floor() as u64)
                .or_default() += 1;
        }
        let mut counts: Vec<usize> = buckets.into_values().collect();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        let top2 = counts.iter().take(2).sum::<usize>() as f64;
        bimodal = (top2 / (busy as f64 - 1.0)).min(1.0);
    }
    cv_score.max(bimodal)
}

/// Longest run of busy bins, wrapping from the last bin to the first.
fn longest_run(bins: &[u64; BINS]) -> usize {
    if bins.iter().all(|b| *b > 0) {
        return BINS;
    }
    let (mut best, mut run) = (0, 0);
    for b in bins.iter().chain(bins.iter()) {
        if *b > 0 {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best.min(BINS)
}

/// Most common value of `v` (the smallest among ties), 0 when empty.
fn mode(v: &[f64]) -> i64 {
    let mut counts: HashMap<i64, usize> = HashMap::new();
    for x in v {
        *counts.entry(*x as i64).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
        .map_or(0, |(k, _)| k)
}

/// Rounded to three decimals, half away from zero (as Go's `math.Round`).
fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Rounded up to three decimals (a hair of tolerance for binary fractions).
fn ceil3(x: f64) -> f64 {
    (x * 1000.0 - 1e-9).ceil() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(ts: f64, dst: &str, bytes: u64) -> Conn {
        Conn {
            ts,
            src: "10.1.1.1".parse().unwrap(),
            dst: dst.parse().unwrap(),
            dport: 443,
            orig_bytes: bytes,
            resp_bytes: 100,
            duration: 0.5,
            fqdn: None,
            proxied: false,
        }
    }

    #[test]
    fn a_regular_beacon_scores_high_and_noise_low() {
        let mut a = Analyzer::new(Internal::default(), Limits::default());
        // Every 300 s for a day, same size: a textbook beacon.
        for i in 0..288 {
            a.add(&conn(
                1_700_000_000.0 + f64::from(i) * 300.0,
                "203.0.113.9",
                420,
            ));
        }
        // A burst of irregular times and sizes to another host.
        let (mut t, mut x) = (1_700_000_000.0, 12_345u64);
        for _ in 0..60 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            t += ((x >> 33) % 600 + 1) as f64;
            a.add(&conn(t, "198.51.100.7", (x >> 20) % 90_000));
        }
        // Too few connections, and an internal destination: not scored.
        for i in 0..3 {
            a.add(&conn(1_700_000_000.0 + f64::from(i) * 60.0, "192.0.2.1", 1));
        }
        a.add(&conn(1_700_000_000.0, "10.9.9.9", 1));
        let b = a.score();
        assert_eq!(b.len(), 2, "{b:#?}");
        assert_eq!(b[0].dst.to_string(), "203.0.113.9");
        assert_eq!(b[0].score, 1.0, "{:?}", b[0]);
        assert_eq!(b[0].interval_mode, 300);
        assert!(b[1].score < 0.6, "{:?}", b[1]);
        assert_eq!(a.ignored, 1);
    }

    #[test]
    fn named_pairs_replace_their_ip_pairs_and_infrastructure_is_excluded() {
        let mut a = Analyzer::new(Internal::default(), Limits::default());
        for i in 0..20 {
            let mut c = conn(1_700_000_000.0 + f64::from(i) * 60.0, "203.0.113.9", 500);
            c.fqdn = Some("c2.example".into());
            a.add(&c);
            let mut d = conn(1_700_000_000.0 + f64::from(i) * 60.0, "198.51.100.53", 60);
            d.dport = 53;
            a.add(&d);
        }
        let b = a.score();
        assert_eq!(b.len(), 2, "{b:#?}");
        let named = b.iter().find(|b| b.fqdn.is_some()).unwrap();
        assert_eq!(named.fqdn.as_deref(), Some("c2.example"));
        assert!(named.dst.is_unspecified());
        assert_eq!(named.excluded, None);
        let dns = b.iter().find(|b| b.fqdn.is_none()).unwrap();
        assert_eq!(dns.excluded, Some("infrastructure-port"));
    }

    #[test]
    fn quartiles_exclude_the_middle_of_odd_counts() {
        assert_eq!(quartiles(&[1.0, 2.0, 3.0, 4.0, 5.0]), (1.5, 3.0, 4.5));
        assert_eq!(quartiles(&[1.0, 2.0, 3.0, 4.0]), (1.5, 2.5, 3.5));
        assert_eq!(round3(0.6245), 0.625);
        assert_eq!(ceil3(0.5), 0.5);
        assert_eq!(ceil3(0.5001), 0.501);
    }

    #[test]
    fn caps_hold() {
        let mut a = Analyzer::new(
            Internal::default(),
            Limits {
                max_pairs: 2,
                ..Limits::default()
            },
        );
        for d in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
            a.add(&conn(1.0, d, 1));
        }
        assert_eq!(a.pairs(), 2);
        assert_eq!(a.dropped, 1);
        a.add(&conn(f64::NAN, "203.0.113.1", 1));
        assert_eq!(a.ignored, 1);
    }
}
