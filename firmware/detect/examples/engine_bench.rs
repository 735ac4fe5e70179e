//! Build the matching engine from rule files and measure build time, memory and inspect
//! throughput on a synthetic but realistic buffer mix (HTTP requests and responses as
//! packets, stream chunks and transactions; DNS queries; TLS SNI; binary payloads).
//!
//! `cargo run --release -p detect --example engine_bench -- [--set K=V]... [-c classification.config] [--secs N] FILES...`

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use detect::{Engine, EngineConfig, FlowState, FlowView, PacketView, ThreadState};
use events::inspect::TxBuffers;
use types::{Addr, Direction, Timestamp};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

#[derive(Debug)]
struct Tx {
    proto: &'static str,
    bufs: Vec<(&'static str, Direction, Vec<u8>)>,
}

impl TxBuffers for Tx {
    fn app_proto(&self) -> &'static str {
        self.proto
    }
    fn buffer(&self, name: &str, dir: Direction, index: usize) -> Option<Cow<'_, [u8]>> {
        self.bufs
            .iter()
            .filter(|(n, d, _)| *n == name && *d == dir)
            .nth(index)
            .map(|(_, _, b)| Cow::Borrowed(b.as_slice()))
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[(self.next() % v.len() as u64) as usize]
    }
}

const PATHS: &[&str] = &[
    "/index.html",
    "/wp-admin/admin-ajax.php",
    "/api/v1/users?id=42&sort=asc",
    "/static/js/app.min.js",
    "/images/logo.png",
    "/search?q=network+probe",
    "/login.php",
    "/cgi-bin/status",
    "/update/check.xml",
    "/download/setup.exe",
    "/favicon.ico",
    "/feed/rss",
];
const HOSTS: &[&str] = &[
    "www.example.com",
    "cdn.jsdelivr.net",
    "update.microsoft.com",
    "api.github.com",
    "news.ycombinator.com",
    "static.xx.fbcdn.net",
    "login.live.com",
    "s3.amazonaws.com",
];
const UAS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "curl/8.5.0",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Microsoft-CryptoAPI/10.0",
];

fn http_request(r: &mut Rng) -> (Vec<u8>, Tx) {
    let path = r.pick(PATHS);
    let host = r.pick(HOSTS);
    let ua = r.pick(UAS);
    let method = if r.next().is_multiple_of(5) {
        "POST"
    } else {
        "GET"
    };
    let headers = format!(
        "Host: {host}\r\nUser-Agent: {ua}\r\nAccept: text/html,application/xhtml+xml,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\nCookie: session=ab12cd34ef56; theme=dark\r\n\r\n"
    );
    let raw = format!("{method} {path} HTTP/1.1\r\n{headers}");
    let tx = Tx {
        proto: "http",
        bufs: vec![
            ("http.method", Direction::ToServer, method.as_bytes().to_vec()),
            ("http.uri", Direction::ToServer, path.as_bytes().to_vec()),
            ("http.uri.raw", Direction::ToServer, path.as_bytes().to_vec()),
            ("http.host", Direction::ToServer, host.as_bytes().to_vec()),
            ("http.user_agent", Direction::ToServer, ua.as_bytes().to_vec()),
            ("http.header", Direction::ToServer, headers.as_bytes().to_vec()),
            ("http.header.raw", Direction::ToServer, headers.as_bytes().to_vec()),
            ("http.cookie", Direction::ToServer, b"session=ab12cd34ef56; theme=dark".to_vec()),
            ("http.request_line", Direction::ToServer, format!("{method} {path} HTTP/1.1").into_bytes()),
            ("http.accept", Direction::ToServer, b"text/html,application/xhtml+xml,*/*;q=0.8".to_vec()),
            ("http.protocol", Direction::ToServer, b"HTTP/1.1".to_vec()),
            ("http.header_names", Direction::ToServer, b"\r\nHost\r\nUser-Agent\r\nAccept\r\nAccept-Language\r\nAccept-Encoding\r\nConnection\r\nCookie\r\n\r\n".to_vec()),
        ],
    };
    (raw.into_bytes(), tx)
}

fn http_response(r: &mut Rng) -> (Vec<u8>, Tx) {
    let mut body = String::from("<!DOCTYPE html><html><head><title>Example</title><script src=\"/static/js/app.min.js\"></script></head><body>");
    let n = 4 + r.next() % 40;
    for i in 0..n {
        body.push_str(&format!("<div class=\"item-{i}\"><a href=\"/item/{i}\">Item number {i}</a><p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p></div>"));
    }
    body.push_str("</body></html>");
    let headers = format!(
        "Server: nginx/1.24.0\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: max-age=600\r\n\r\n",
        body.len()
    );
    let raw = format!("HTTP/1.1 200 OK\r\n{headers}{body}");
    let tx = Tx {
        proto: "http",
        bufs: vec![
            ("http.stat_code", Direction::ToClient, b"200".to_vec()),
            ("http.stat_msg", Direction::ToClient, b"OK".to_vec()),
            (
                "http.header",
                Direction::ToClient,
                headers.as_bytes().to_vec(),
            ),
            ("http.server", Direction::ToClient, b"nginx/1.24.0".to_vec()),
            (
                "http.content_type",
                Direction::ToClient,
                b"text/html; charset=utf-8".to_vec(),
            ),
            (
                "http.response_line",
                Direction::ToClient,
                b"HTTP/1.1 200 OK".to_vec(),
            ),
            ("file.data", Direction::ToClient, body.as_bytes().to_vec()),
        ],
    };
    (raw.into_bytes(), tx)
}

fn main() {
    let mut vars = BTreeMap::new();
    let mut files = Vec::new();
    let mut classification = None;
    let mut secs = 5.0f64;
    let mut dump_mpm: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--set" => {
                if let Some((k, v)) = args.next().as_deref().and_then(|kv| kv.split_once('=')) {
                    vars.insert(k.to_string(), v.to_string());
                }
            }
            "-c" => classification = args.next().map(PathBuf::from),
            "--secs" => secs = args.next().and_then(|s| s.parse().ok()).unwrap_or(5.0),
            "--dump-mpm" => dump_mpm = args.next().map(PathBuf::from),
            _ => files.push(PathBuf::from(a)),
        }
    }
    let rss0 = rss_kib();
    let t = Instant::now();
    let report = detect::load_rule_files(&files, &vars, classification.as_deref());
    let load_ms = t.elapsed().as_millis();
    let rss1 = rss_kib();
    let t = Instant::now();
    let mut cfg = EngineConfig::default();
    if let Some(n) = std::env::var("DETECT_DFA_MAX")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        cfg.prefilter_dfa_max_patterns = n;
    }
    let engine = Engine::build(&report, &cfg);
    let build_ms = t.elapsed().as_millis();
    let rss2 = rss_kib();
    let info = engine.info();
    println!(
        "rules loaded {} failed {} | load {load_ms} ms, rss +{} MiB | build {build_ms} ms, rss +{} MiB",
        report.rules.len(),
        report.failures.len(),
        (rss1.saturating_sub(rss0)) / 1024,
        (rss2.saturating_sub(rss1)) / 1024
    );
    println!(
        "kinds iponly/pdonly/packet/stream/tx = {:?}; disabled {}; groups {}; prefilters {}; patterns {}; no fast pattern {}; prefilter heap {} MiB",
        info.kinds,
        info.disabled.len(),
        info.groups,
        info.prefilters,
        info.patterns,
        info.no_fast_pattern,
        info.prefilter_bytes / (1024 * 1024)
    );
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for (_, r) in &info.disabled {
        let key: String = r.chars().take(60).collect();
        *reasons.entry(key).or_default() += 1;
    }
    for (r, n) in reasons {
        println!("  disabled {n:5}  {r}");
    }
    drop(report);

    // Workload.
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut work: Vec<(u8, Vec<u8>, Option<Tx>)> = Vec::new();
    for _ in 0..200 {
        let (req, txq) = http_request(&mut rng);
        let (resp, txr) = http_response(&mut rng);
        work.push((0, req, Some(txq)));
        work.push((1, resp, Some(txr)));
        let name = format!(
            "{}.{}",
            rng.pick(&["mail", "www", "api", "cdn", "x9f2k"]),
            rng.pick(HOSTS)
        );
        work.push((
            2,
            name.clone().into_bytes(),
            Some(Tx {
                proto: "dns",
                bufs: vec![("dns.query", Direction::ToServer, name.into_bytes())],
            }),
        ));
        work.push((
            3,
            Vec::new(),
            Some(Tx {
                proto: "tls",
                bufs: vec![(
                    "tls.sni",
                    Direction::ToServer,
                    rng.pick(HOSTS).as_bytes().to_vec(),
                )],
            }),
        ));
        let bin: Vec<u8> = (0..(200 + rng.next() % 1200))
            .map(|_| rng.next() as u8)
            .collect();
        work.push((4, bin, None));
    }
    if let Some(dir) = dump_mpm {
        mpm_compare(&engine, &work, &dir);
    }
    let mut th = ThreadState::new(&engine);
    let t = Instant::now();
    let (mut n, mut bytes, mut alerts) = (0u64, 0u64, 0u64);
    let mut out = Vec::new();
    while t.elapsed().as_secs_f64() < secs {
        for (kind, data, tx) in &work {
            let mut fs = FlowState::default();
            let (dir, port, proto, app) = match kind {
                0 => (Direction::ToServer, 80, 6, Some("http")),
                1 => (Direction::ToClient, 80, 6, Some("http")),
                2 => (Direction::ToServer, 53, 17, Some("dns")),
                3 => (Direction::ToServer, 443, 6, Some("tls")),
                _ => (Direction::ToServer, 4444, 6, None),
            };
            let (src, dst, sport, dport) = if dir == Direction::ToServer {
                (
                    Addr::v4([192, 168, 1, 10]),
                    Addr::v4([93, 184, 216, 34]),
                    50000,
                    port,
                )
            } else {
                (
                    Addr::v4([93, 184, 216, 34]),
                    Addr::v4([192, 168, 1, 10]),
                    port,
                    50000,
                )
            };
            let p = PacketView {
                ts: Timestamp::from_secs_nanos(1_700_000_000, 0),
                src,
                dst,
                sport,
                dport,
                proto,
                ttl: 64,
                ip_proto: proto,
                tcp_flags: (proto == 6).then_some(0x18),
                tcp_seq: 0,
                tcp_ack: 0,
                window: 1000,
                icmp: None,
                payload: data,
                tcp_header: &[],
                ipv6: false,
                flow: Some(FlowView {
                    dir,
                    established: true,
                    app_proto: app,
                    pkts: [3, 3],
                    bytes: [500, 500],
                    age_secs: 1,
                    stream_size: None,
                }),
                decode_events: &[],
                stream_events: &[],
                applayer_events: &[],
                in_stream: proto == 6,
            };
            out.clear();
            engine.inspect_packet(&p, Some(&mut fs), &mut th, &mut out);
            if proto == 6 && !data.is_empty() {
                engine.inspect_stream(&p, dir, data, &mut fs, &mut th, &mut out);
            }
            if let Some(tx) = tx {
                engine.inspect_tx(&p, tx, 0, &mut fs, &mut th, &mut out);
            }
            engine.finish_packet(&p, Some(&mut fs), &mut th, &mut out);
            alerts += out.len() as u64;
            n += 1;
            bytes += data.len() as u64
                + tx.as_ref()
                    .map(|t| t.bufs.iter().map(|b| b.2.len() as u64).sum::<u64>())
                    .unwrap_or(0);
        }
    }
    let el = t.elapsed().as_secs_f64();
    println!(
        "inspect: {n} items ({:.0}/s), {:.1} MB inspected ({:.1} MB/s incl. tx buffers), {alerts} alerts; rules evaluated {} ({:.1}/item)",
        n as f64 / el,
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / el,
        th.stats.rules_evaluated,
        th.stats.rules_evaluated as f64 / n as f64
    );
    println!("rss total {} MiB", rss_kib() / 1024);
}

/// Dump the largest prefilter of each buffer kind with matching haystacks (for the
/// Hyperscan comparison program) and time aho-corasick on them, the way the engine scans.
fn mpm_compare(engine: &Engine, work: &[(u8, Vec<u8>, Option<Tx>)], dir: &std::path::Path) {
    use aho_corasick::{AhoCorasickBuilder, MatchKind};
    let _ = std::fs::create_dir_all(dir);
    let mut best: BTreeMap<&str, Vec<Vec<u8>>> = BTreeMap::new();
    for (name, pats) in engine.prefilter_patterns() {
        let e = best.entry(name).or_default();
        if pats.len() > e.len() {
            *e = pats;
        }
    }
    for (name, pats) in best {
        if pats.len() < 50 {
            continue;
        }
        let mut hays: Vec<&[u8]> = Vec::new();
        for (kind, data, tx) in work {
            if name == "pkt_data" && !data.is_empty() && *kind != 3 {
                hays.push(data);
            }
            if let Some(tx) = tx {
                for (n, _, b) in &tx.bufs {
                    if *n == name {
                        hays.push(b);
                    }
                }
            }
        }
        if hays.is_empty() {
            continue;
        }
        let file = name.replace('.', "_");
        let pat_text: String = pats
            .iter()
            .map(|p| p.iter().map(|b| format!("{b:02x}")).collect::<String>() + "\n")
            .collect();
        let _ = std::fs::write(dir.join(format!("{file}.pats")), pat_text);
        let mut hay_bin = Vec::new();
        for h in &hays {
            hay_bin.extend_from_slice(&(h.len() as u32).to_le_bytes());
            hay_bin.extend_from_slice(h);
        }
        let _ = std::fs::write(dir.join(format!("{file}.hay")), hay_bin);
        let t = Instant::now();
        let kind = match std::env::var("AC_KIND").as_deref() {
            Ok("dfa") => Some(aho_corasick::AhoCorasickKind::DFA),
            Ok("nfa") => Some(aho_corasick::AhoCorasickKind::ContiguousNFA),
            _ => None,
        };
        let Ok(ac) = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(kind)
            .build(&pats)
        else {
            continue;
        };
        let build = t.elapsed();
        let total: usize = hays.iter().map(|h| h.len()).sum();
        let t = Instant::now();
        let mut rounds = 0u32;
        let mut hits = 0u64;
        let mut seen = vec![0u32; pats.len()];
        let mut epoch = 0u32;
        while t.elapsed().as_secs_f64() < 1.0 {
            for h in &hays {
                epoch += 1;
                for m in ac.find_overlapping_iter(h) {
                    let i = m.pattern().as_usize();
                    if seen[i] != epoch {
                        seen[i] = epoch;
                        hits += 1;
                    }
                }
            }
            rounds += 1;
        }
        let el = t.elapsed().as_secs_f64();
        println!(
            "mpm {name:12} patterns {:6} haystacks {:5} ({:7} B) | aho-corasick build {:6.1} ms, mem {:6} KiB, scan {:7.1} MB/s, unique hits/round {}",
            pats.len(),
            hays.len(),
            total,
            build.as_secs_f64() * 1000.0,
            ac.memory_usage() / 1024,
            total as f64 * f64::from(rounds) / el / 1e6,
            hits / u64::from(rounds.max(1))
        );
    }
}
