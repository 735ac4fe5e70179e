//! End-to-end tests: rule text in, `Engine` driven with hand-built packets, stream chunks and
//! transactions, alerts out. Each test is named after the Suricata behaviour it checks; the
//! behaviours were confirmed against Suricata 7.0.10 on crafted captures where noted.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use events::inspect::TxBuffers;
use types::{Addr, Direction, Timestamp};

use super::*;

const C: Addr = Addr::v4([10, 0, 0, 1]);
const S: Addr = Addr::v4([10, 0, 0, 2]);

fn engine_cfg(rules: &str, cfg: &EngineConfig) -> Engine {
    let r = crate::load_rules_from_bytes(
        Path::new("test.rules"),
        rules.as_bytes(),
        &BTreeMap::new(),
        Path::new("/tmp"),
    );
    assert!(r.failures.is_empty(), "{:?}", r.failures);
    let e = Engine::build(&r, cfg);
    assert!(e.info().disabled.is_empty(), "{:?}", e.info().disabled);
    e
}

fn engine(rules: &str) -> Engine {
    engine_cfg(rules, &EngineConfig::default())
}

fn flow(dir: Direction, app: Option<&'static str>) -> FlowView {
    FlowView {
        dir,
        established: true,
        app_proto: app,
        pkts: [1, 1],
        bytes: [100, 100],
        age_secs: 1,
        stream_size: None,
    }
}

/// A packet `dir` of a C:40000 <-> S:`sport` flow.
fn pkt<'a>(
    proto: u8,
    dir: Direction,
    server_port: u16,
    payload: &'a [u8],
    f: Option<FlowView>,
) -> PacketView<'a> {
    let (src, dst, sport, dport) = match dir {
        Direction::ToServer => (C, S, 40000, server_port),
        Direction::ToClient => (S, C, server_port, 40000),
    };
    PacketView {
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
        window: 1024,
        icmp: None,
        payload,
        tcp_header: &[],
        ipv6: false,
        flow: f,
        decode_events: &[],
        stream_events: &[],
        applayer_events: &[],
        in_stream: proto == 6,
    }
}

fn sids(v: &[Alert]) -> Vec<u32> {
    v.iter().map(|a| a.sid).collect()
}

/// Run one packet through inspect_packet + finish_packet.
fn packet(
    e: &Engine,
    p: &PacketView<'_>,
    fs: Option<&mut FlowState>,
    th: &mut ThreadState,
) -> Vec<u32> {
    let mut out = Vec::new();
    let mut fs = fs;
    e.inspect_packet(p, fs.as_deref_mut(), th, &mut out);
    e.finish_packet(p, fs, th, &mut out);
    sids(&out)
}

#[derive(Debug, Default)]
struct Tx {
    proto: &'static str,
    bufs: Vec<(&'static str, Direction, Vec<u8>)>,
    nums: Vec<(&'static str, u64)>,
}

impl Tx {
    fn http(uri: &str) -> Tx {
        Tx {
            proto: "http",
            bufs: vec![
                ("http.uri", Direction::ToServer, uri.as_bytes().to_vec()),
                ("http.method", Direction::ToServer, b"GET".to_vec()),
                (
                    "http.header",
                    Direction::ToServer,
                    b"Host: Example.COM\r\n".to_vec(),
                ),
                ("http.host", Direction::ToServer, b"example.com".to_vec()),
                ("http.stat_code", Direction::ToClient, b"200".to_vec()),
                (
                    "file.data",
                    Direction::ToClient,
                    b"<html>body</html>".to_vec(),
                ),
            ],
            nums: vec![],
        }
    }
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
    fn number(&self, name: &str) -> Option<u64> {
        self.nums.iter().find(|(n, _)| *n == name).map(|e| e.1)
    }
}

fn tx_alerts(
    e: &Engine,
    p: &PacketView<'_>,
    tx: &Tx,
    id: u64,
    fs: &mut FlowState,
    th: &mut ThreadState,
) -> Vec<u32> {
    let mut out = Vec::new();
    e.inspect_tx(p, tx, id, fs, th, &mut out);
    e.finish_packet(p, Some(fs), th, &mut out);
    sids(&out)
}

#[test]
fn udp_payload_rule_matches_on_ports_and_content() {
    let e = engine(
        "alert udp any any -> any 53 (content:\"abc\"; sid:1;)\n\
         alert udp any any -> any 54 (content:\"abc\"; sid:2;)\n\
         alert udp any any -> any any (content:\"zzz\"; sid:3;)",
    );
    let mut th = ThreadState::new(&e);
    let p = pkt(17, Direction::ToServer, 53, b"xxabcxx", None);
    assert_eq!(packet(&e, &p, None, &mut th), vec![1]);
}

#[test]
fn bidirectional_rule_alerts_once_per_packet() {
    // Suricata 7.0.10: `<>` matching both ways on one packet gives one alert.
    let e = engine("alert udp any any <> any any (content:\"AB\"; sid:2;)");
    let mut th = ThreadState::new(&e);
    let p = pkt(17, Direction::ToServer, 6000, b"udpAB", None);
    assert_eq!(packet(&e, &p, None, &mut th), vec![2]);
    let e = engine("alert udp 10.0.0.2 any <> 10.0.0.1 40000 (content:\"AB\"; sid:3;)");
    let mut th = ThreadState::new(&e);
    assert_eq!(packet(&e, &p, None, &mut th), vec![3]);
}

#[test]
fn tcp_payload_rules_use_the_stream_not_in_stream_packets() {
    let e = engine(
        "alert tcp any any -> any any (content:\"AB\"; sid:1;)\n\
         alert tcp any any -> any any (content:\"AB\"; flow:no_stream; sid:2;)\n\
         alert tcp any any -> any any (content:\"AB\"; flow:only_stream; sid:3;)",
    );
    let mut th = ThreadState::new(&e);
    let mut fs = FlowState::default();
    let f = Some(flow(Direction::ToServer, None));
    let p = pkt(6, Direction::ToServer, 9999, b"xAB", f);
    assert_eq!(packet(&e, &p, Some(&mut fs), &mut th), vec![2]);
    let mut out = Vec::new();
    e.inspect_stream(&p, Direction::ToServer, b"xAB", &mut fs, &mut th, &mut out);
    e.finish_packet(&p, Some(&mut fs), &mut th, &mut out);
    assert_eq!(sids(&out), vec![1, 3]);
    // A packet not added to the stream is inspected as a packet by stream rules too.
    let mut p2 = pkt(6, Direction::ToServer, 9999, b"xAB", f);
    p2.in_stream = false;
    assert_eq!(packet(&e, &p2, Some(&mut fs), &mut th), vec![1, 2]);
}

#[test]
fn stream_match_across_chunks_and_no_realert_on_old_data() {
    let e = engine("alert tcp any any -> any any (content:\"ABCD\"; sid:1;)");
    let mut th = ThreadState::new(&e);
    let mut fs = FlowState::default();
    let f = Some(flow(Direction::ToServer, None));
    let p = pkt(6, Direction::ToServer, 9999, b"", f);
    let stream = b"xxABCDyyAB";
    let mut out = Vec::new();
    e.inspect_stream_at(
        &p,
        Direction::ToServer,
        0,
        stream,
        &mut fs,
        &mut th,
        &mut out,
    );
    e.finish_packet(&p, Some(&mut fs), &mut th, &mut out);
    assert_eq!(sids(&out), vec![1]);
    // The next window re-includes old bytes; only a new occurrence alerts.
    let stream2 = b"xxABCDyyABCD";
    let mut out = Vec::new();
    e.inspect_stream_at(
        &p,
        Direction::ToServer,
        0,
        stream2,
        &mut fs,
        &mut th,
        &mut out,
    );
    e.finish_packet(&p, Some(&mut fs), &mut th, &mut out);
    assert_eq!(sids(&out), vec![1]);
    let stream3 = b"xxABCDyyABCDzz";
    let mut out = Vec::new();
    e.inspect_stream_at(
        &p,
        Direction::ToServer,
        0,
        stream3,
        &mut fs,
        &mut th,
        &mut out,
    );
    assert!(out.is_empty());
}

#[test]
fn stream_whole_and_byte_by_byte_windows_agree() {
    let e = engine(
        "alert tcp any any -> any any (content:\"GET \"; depth:4; content:\"/evil\"; distance:0; sid:1;)\n\
         alert tcp any any -> any any (content:\"X-Bad\"; sid:2;)\n\
         alert tcp any any -> any any (pcre:\"/^Host: [a-z]+\\.test/m\"; sid:3;)",
    );
    let data = b"GET /evil HTTP/1.1\r\nHost: abc.test\r\nX-Bad: 1\r\n\r\n";
    let f = Some(flow(Direction::ToServer, None));
    let p = pkt(6, Direction::ToServer, 80, b"", f);
    // Whole.
    let mut th = ThreadState::new(&e);
    let mut fs = FlowState::default();
    let mut whole = Vec::new();
    e.inspect_stream_at(
        &p,
        Direction::ToServer,
        0,
        data,
        &mut fs,
        &mut th,
        &mut whole,
    );
    e.finish_packet(&p, Some(&mut fs), &mut th, &mut whole);
    let mut whole = sids(&whole);
    whole.sort_unstable();
    // Byte by byte: each call sees the stream from its start up to the new byte.
    let mut th = ThreadState::new(&e);
    let mut fs = FlowState::default();
    let mut split = Vec::new();
    for n in 1..=data.len() {
        let mut out = Vec::new();
        e.inspect_stream_at(
            &p,
            Direction::ToServer,
            0,
            &data[..n],
            &mut fs,
            &mut th,
            &mut out,
        );
        e.finish_packet(&p, Some(&mut fs), &mut th, &mut out);
        split.extend(sids(&out));
    }
    split.sort_unstable();
    assert_eq!(whole, vec![1, 2, 3]);
    assert_eq!(split, whole);
}

#[test]
fn tx_rule_alerts_once_per_transaction_and_direction() {
    let e = engine(
        "alert http any any -> any any (http.uri; content:\"/evil\"; sid:1;)\n\
         alert http any any -> any any (flow:to_client; http.stat_code; content:\"200\"; sid:2;)\n\
         alert http any any -> any any (http.header; content:\"example.com\"; nocase; sid:3;)",
    );
    let mut th = ThreadState::new(&e);
    let mut fs = FlowState::default();
    let tx = Tx::http("/evil.php");
    let ps = pkt(
        6,
        Direction::ToServer,
        80,
        b"",
        Some(flow(Direction::ToServer, Some("http"))),
    );
    let pc = pkt(
        6,
        Direction::ToClient,
        80,
        b"",
        Some(flow(Direction::ToClient, Some("http"))),
    );
    assert_eq!(tx_alerts(&e, &ps, &tx, 0, &mut fs, &mut th), vec![1, 3]);
    assert!(tx_alerts(&e, &ps, &tx, 0, &mut fs, &mut th).is_empty());
    assert_eq!(tx_alerts(&e, &pc, &tx, 0, &mut fs, &mut th), vec![2]);
    assert_eq!(tx_alerts(&e, &ps, &tx, 1, &mut fs, &mut th), vec![1, 3]);
    // Wrong app protocol: no tx rule applies.
    let mut fs2 = FlowState::default();
    let pt = pkt(
        6,
        Direction::ToServer,
        80,
        b"",
        Some(flow(Direction::ToServer, Some("tls"))),
    );
    let mut out = Vec::new();
    e.inspect_tx(
        &pt,
        &Tx {
            proto: "tls",
            ..Tx::http("/evil")
        },
        0,
        &mut fs2,
        &mut th,
        &mut out,
    );
    assert!(out.is_empty());
}

/// Without a sticky buffer, a relative keyword (and base64_decode, relative or not) joins the
/// buffer of the last content: after `content:"arg"; http_uri;` it inspects the URI.
#[test]
fn relative_keywords_follow_legacy_modifiers() {
    let e = engine(
        "alert http any any -> any any (content:\"arg\"; http_uri; base64_decode:bytes 17, offset 1, relative; base64_data; content:\"thisisatest\"; sid:1;)\n\
         alert http any any -> any any (content:\"arg\"; http_uri; isdataat:4,relative; sid:2;)\n\
         alert http any any -> any any (content:\"arg\"; http_uri; isdataat:40,relative; sid:3;)\n\
         alert http any any -> any any (content:\"arg\"; http_uri; byte_test:1,=,0x3d,0,relative; sid:4;)\n\
         alert http any any -> any any (content:\"arg\"; http_uri; base64_decode:bytes 17, offset 1, relative; base64_data; content:\"toast\"; sid:5;)",
    );
    let mut th = ThreadState::new(&e);
    let mut fs = FlowState::default();
    let tx = Tx::http("/?arg=dGhpc2lzYXRlc3QK");
    let ps = pkt(
        6,
        Direction::ToServer,
        80,
        b"",
        Some(flow(Direction::ToServer, Some("http"))),
    );
    assert_eq!(tx_alerts(&e, &ps, &tx, 0, &mut fs, &mut th), vec![1, 2, 4]);
}

#[test]
fn tx_transforms_and_multi_buffers() {
    let e = engine(
        "alert dns any any -> any any (dns.query; dotprefix; content:\".evil.com\"; endswith; sid:1;)\n\
         alert http any any -> any any (http.header; to_lowercase; content:\"host: example.com\"; sid:2;)\n\
         alert http any any -> any any (http.uri; to_md5; content:\"|30 a5 f3 7a 2b 2e d6 33 f9 76 fa 4f 68 a4 ee 9f|\"; sid:3;)\n\
         alert http any any -> any any (http.uri; url_decode; content:\"/a b\"; sid:4;)",
    );
    let mut th = ThreadState::new(&e);
    let mut fs = FlowState::default();
    let dns = Tx {
        proto: "dns",
        bufs: vec![
            ("dns.query", Direction::ToServer, b"good.org".to_vec()),
            ("dns.query", Direction::ToServer, b"www.evil.com".to_vec()),
        ],
        nums: vec![],
    };
    let pd = pkt(
        17,
        Direction::ToServer,
        53,
        b"",
        Some(flow(Direction::ToServer, Some("dns"))),
    );
    assert_eq!(tx_alerts(&e, &pd, &dns, 0, &mut fs, &mut th), vec![1]);
    let ps = pkt(
        6,
        Direction::ToServer,
        80,
        b"",
        Some(flow(Direction::ToServer, Some("http"))),
    );
    let mut fs = FlowState::default();
    assert_eq!(
        tx_alerts(&e, &ps, &Tx::http("/a%20b"), 0, &mut fs, &mut th),
        vec![2, 4]
    );
    // md5("/x") = 30a5f37a2b2ed633f976fa4f68a4ee9f? computed below to keep the test honest.
    let digest = {
        use md5::Digest as _;
        md5::Md5::digest(b"/x")
    };
    let hex: String = digest.iter().map(|b| format!("{b:02x} ")).collect();
    let e2 = engine(&format!(
        "alert http any any -> any any (http.uri; to_md5; content:\"|{}|\"; sid:3;)",
        hex.trim()
    ));
    let mut th2 = ThreadState::new(&e2);
    let mut fs = FlowState::default();
    assert_eq!(
        tx_alerts(&e2, &ps, &Tx::http("/x"), 0, &mut fs, &mut th2),
        vec![3]
    );
}

#[test]
fn flowbits_set_is_visible_to_later_rules_on_the_same_packet() {
    // Suricata 7.0.10: the setter (priority 4) is ordered before the reader (priority 1).
    let e = engine(
        "alert udp any any -> any any (content:\"udp\"; flowbits:isset,fb; priority:1; sid:8;)\n\
         alert udp any any -> any any (content:\"udp\"; flowbits:set,fb; priority:4; sid:7;)\n\
         alert udp any any -> any any (content:\"udp\"; priority:2; sid:5;)\n\
         alert udp any any -> any any (content:\"udp\"; priority:1; sid:3;)\n\
         drop udp any any -> any any (content:\"udp\"; priority:3; sid:6;)",
    );
    let mut th = ThreadState::new(&e);
    let mut fs = FlowState::default();
    let p = pkt(
        17,
        Direction::ToServer,
        6000,
        b"udpAB",
        Some(flow(Direction::ToServer, Some("failed"))),
    );
    assert_eq!(packet(&e, &p, Some(&mut fs), &mut th), vec![6, 7, 8, 3, 5]);
}

/// EVE `metadata` / `traffic`: the flow's variables by name, `traffic/*` flowbits apart.
#[test]
fn flow_metadata_names_flowbits_flowints_and_traffic() {
    let e = engine(
        "alert udp any any -> any any (content:\"u\"; flowbits:set,traffic/id/curl; flowbits:set,traffic/label/cli; flowbits:set,junk; flowint:cnt,+,2; sid:1;)\n\
         alert udp any any -> any any (content:\"never\"; flowbits:set,other; sid:2;)",
    );
    let mut th = ThreadState::new(&e);
    let mut fs = FlowState::default();
    assert!(e.flow_metadata(&fs).is_empty());
    let p = pkt(
        17,
        Direction::ToServer,
        6000,
        b"u",
        Some(flow(Direction::ToServer, Some("failed"))),
    );
    assert_eq!(packet(&e, &p, Some(&mut fs), &mut th), vec![1]);
    let m = e.flow_metadata(&fs);
    assert_eq!(m.traffic_id, vec!["curl"]);
    assert_eq!(m.traffic_label, vec!["cli"]);
    assert_eq!(m.flowbits, vec!["junk"]);
    assert_eq!(m.flowints, vec![("cnt".to_string(), 2)]);
}

#[test]
fn flowbits_across_packets_isnotset_toggle_unset_and_noalert() {
    let e = engine(
        "alert udp any any -> any any (content:\"login\"; flowbits:set,auth; flowbits:noalert; sid:1;)\n\
         alert udp any any -> any any (content:\"cmd\"; flowbits:isset,auth; sid:2;)\n\
         alert udp any any -> any any (content:\"cmd\"; flowbits:isnotset,auth; sid:3;)\n\
         alert udp any any -> any any (content:\"logout\"; flowbits:unset,auth; sid:4;)\n\
         alert udp any any -> any any (content:\"flip\"; flowbits:toggle,x; sid:5;)\n\
         alert udp any any -> any any (content:\"chk\"; flowbits:isset,x|auth; sid:6;)",
    );
    let mut th = ThreadState::new(&e);
    let mut fs = FlowState::default();
    let f = Some(flow(Direction::ToServer, None));
    let run = |d: &[u8], fs: &mut FlowState, th: &mut ThreadState| {
        packet(&e, &pkt(17, Direction::ToServer, 1, d, f), Some(fs), th)
    };
    assert_eq!(run(b"cmd", &mut fs, &mut th), vec![3]);
    assert!(run(b"login", &mut fs, &mut th).is_empty());
    assert_eq!(run(b"cmd", &mut fs, &mut th), vec![2]);
    assert_eq!(run(b"chk", &mut fs, &mut th), vec![6]);
    assert_eq!(run(b"logout", &mut fs, &mut th), vec![4]);
    assert_eq!(run(b"cmd", &mut fs, &mut th), vec![3]);
    assert!(run(b"chk", &mut fs, &mut th).is_empty());
    assert_eq!(run(b"flip", &mut fs, &mut th), vec![5]);
    assert_eq!(run(b"chk", &mut fs, &mut th), vec![6]);
}

#[test]
fn pass_on_packet_drops_that_packets_alerts_only() {
    // Suricata 7.0.10: a pass packet rule only affects its packet.
    let e = engine(
        "pass udp any any -> any any (content:\"UDPPASS\"; sid:6;)\n\
         alert udp any any -> any any (content:\"U\"; sid:7;)",
    );
    let mut th = ThreadState::new(&e);
    let mut fs = FlowState::default();
    let f = Some(flow(Direction::ToServer, Some("failed")));
    assert!(packet(
        &e,
        &pkt(17, Direction::ToServer, 1, b"UDPPASS", f),
        Some(&mut fs),
        &mut th
    )
    .is_empty());
    assert_eq!(
        packet(
            &e,
            &pkt(17, Direction::ToServer, 1, b"U", f),
            Some(&mut fs),
            &mut th
        ),
        vec![7]
    );
    assert!(!fs.passed());
}

#[test]
fn pass_on_transaction_stops_the_flow() {
    // Suricata 7.0.10: a pass rule matching a transaction applies to the whole flow.
    let e = engine(
        "pass http any any -> any any (http.uri; content:\"passme\"; sid:3;)\n\
         alert http any any -> any any (http.uri; content:\"AB\"; sid:4;)\n\
         alert tcp any any -> any any (content:\"AB\"; flow:no_stream; sid:1;)",
    );
    let mut th = ThreadState::new(&e);
    let mut fs = FlowState::default();
    let f = Some(flow(Direction::ToServer, Some("http")));
    let ps = pkt(6, Direction::ToServer, 80, b"", f);
    assert!(tx_alerts(&e, &ps, &Tx::http("/passme/AB"), 0, &mut fs, &mut th).is_empty());
    assert!(fs.passed());
    assert!(tx_alerts(&e, &ps, &Tx::http("/AB"), 1, &mut fs, &mut th).is_empty());
    assert!(packet(
        &e,
        &pkt(6, Direction::ToServer, 80, b"AB", f),
        Some(&mut fs),
        &mut th
    )
    .is_empty());
}

#[test]
fn iponly_rules_fire_once_per_flow_direction() {
    let e = engine("alert ip any any -> any any (msg:\"iponly\"; sid:4;)");
    let mut th = ThreadState::new(&e);
    let mut fs = FlowState::default();
    let up = Some(flow(Direction::ToServer, None));
    let down = Some(flow(Direction::ToClient, None));
    assert_eq!(
        packet(
            &e,
            &pkt(6, Direction::ToServer, 80, b"", up),
            Some(&mut fs),
            &mut th
        ),
        vec![4]
    );
    assert!(packet(
        &e,
        &pkt(6, Direction::ToServer, 80, b"", up),
        Some(&mut fs),
        &mut th
    )
    .is_empty());
    assert_eq!(
        packet(
            &e,
            &pkt(6, Direction::ToClient, 80, b"", down),
            Some(&mut fs),
            &mut th
        ),
        vec![4]
    );
    // Without a flow: every packet.
    assert_eq!(
        packet(
            &e,
            &pkt(6, Direction::ToServer, 80, b"", None),
            None,
            &mut th
        ),
        vec![4]
    );
    assert_eq!(
        packet(
            &e,
            &pkt(6, Direction::ToServer, 80, b"", None),
            None,
            &mut th
        ),
        vec![4]
    );
}

#[test]
fn pdonly_rules_fire_once_per_direction_after_detection() {
    let e = engine(
        "alert tcp any any -> any any (app-layer-protocol:http; sid:1;)\n\
         alert tcp any any -> any any (app-layer-protocol:!tls; sid:2;)",
    );
    let mut th = ThreadState::new(&e);
    let mut fs = FlowState::default();
    let none = Some(flow(Direction::ToServer, None));
    let http = Some(flow(Direction::ToServer, Some("http")));
    assert!(packet(
        &e,
        &pkt(6, Direction::ToServer, 80, b"", none),
        Some(&mut fs),
        &mut th
    )
    .is_empty());
    assert_eq!(
        packet(
            &e,
            &pkt(6, Direction::ToServer, 80, b"", http),
            Some(&mut fs),
            &mut th
        ),
        vec![1, 2]
    );
    assert!(packet(
        &e,
        &pkt(6, Direction::ToServer, 80, b"", http),
        Some(&mut fs),
        &mut th
    )
    .is_empty());
}

#[test]
fn threshold_limit_and_detection_filter() {
    let e = engine(
        "alert udp any any -> any any (content:\"a\"; threshold:type limit, track by_src, count 2, seconds 60; sid:1;)\n\
         alert udp any any -> any any (content:\"a\"; detection_filter:track by_dst, count 2, seconds 60; sid:2;)",
    );
    let mut th = ThreadState::new(&e);
    let p = pkt(17, Direction::ToServer, 1, b"a", None);
    let got: Vec<Vec<u32>> = (0..4).map(|_| packet(&e, &p, None, &mut th)).collect();
    assert_eq!(got, vec![vec![1], vec![1], vec![2], vec![2]]);
    assert_eq!(th.stats.alerts_suppressed, 4);
}

#[test]
fn suppress_from_threshold_config() {
    use crate::config::{SuppressTrack, ThresholdEntry};
    let cfg = EngineConfig {
        thresholds: vec![
            ThresholdEntry::Suppress {
                gid: 1,
                sid: 1,
                track: None,
            },
            ThresholdEntry::Suppress {
                gid: 1,
                sid: 2,
                track: Some((SuppressTrack::BySrc, "10.0.0.1".into())),
            },
        ],
        ..EngineConfig::default()
    };
    let e = engine_cfg(
        "alert udp any any -> any any (content:\"a\"; sid:1;)\n\
         alert udp any any -> any any (content:\"a\"; sid:2;)\n\
         alert udp any any -> any any (content:\"a\"; sid:3;)",
        &cfg,
    );
    let mut th = ThreadState::new(&e);
    assert_eq!(
        packet(
            &e,
            &pkt(17, Direction::ToServer, 1, b"a", None),
            None,
            &mut th
        ),
        vec![3]
    );
    assert_eq!(
        packet(
            &e,
            &pkt(17, Direction::ToClient, 1, b"a", None),
            None,
            &mut th
        ),
        vec![2, 3]
    );
}

#[test]
fn packet_alert_max_keeps_highest_priority_alerts() {
    let mut rules = String::new();
    for i in 1..=20u32 {
        rules.push_str(&format!(
            "alert udp any any -> any any (content:\"x\"; priority:{}; sid:{i};)\n",
            if i == 20 { 1 } else { 3 }
        ));
    }
    let e = engine(&rules);
    let mut th = ThreadState::new(&e);
    let got = packet(
        &e,
        &pkt(17, Direction::ToServer, 1, b"x", None),
        None,
        &mut th,
    );
    assert_eq!(got.len(), 15);
    assert_eq!(got.first(), Some(&20));
    assert_eq!(th.stats.alerts_discarded, 5);
}

#[test]
fn flowint_counts_across_packets() {
    let e = engine(
        "alert udp any any -> any any (content:\"x\"; flowint:cnt,notset; flowint:cnt,=,1; noalert; sid:1;)\n\
         alert udp any any -> any any (content:\"x\"; flowint:cnt,isset; flowint:cnt,+,1; noalert; sid:2;)\n\
         alert udp any any -> any any (content:\"x\"; flowint:cnt,>,3; sid:3;)",
    );
    let mut th = ThreadState::new(&e);
    let mut fs = FlowState::default();
    let f = Some(flow(Direction::ToServer, None));
    let p = pkt(17, Direction::ToServer, 1, b"x", f);
    let got: Vec<Vec<u32>> = (0..5)
        .map(|_| packet(&e, &p, Some(&mut fs), &mut th))
        .collect();
    // sid 1 and 2 both read and set (same rank), load order keeps sid 1 first: packet 1
    // gives cnt = 1 then + 1 = 2; packets 3, 4 and 5 see cnt > 3.
    assert_eq!(got.iter().filter(|v| v.contains(&3)).count(), 3);
}

#[test]
fn xbits_track_ip_src_across_flows() {
    let e = engine(
        "alert udp any any -> any any (content:\"set\"; xbits:set,seen,track ip_src,expire 60; noalert; sid:1;)\n\
         alert udp any any -> any any (content:\"chk\"; xbits:isset,seen,track ip_src; sid:2;)",
    );
    let mut th = ThreadState::new(&e);
    let mut f1 = FlowState::default();
    let mut f2 = FlowState::default();
    let f = Some(flow(Direction::ToServer, None));
    assert!(packet(
        &e,
        &pkt(17, Direction::ToServer, 1, b"chk", f),
        Some(&mut f1),
        &mut th
    )
    .is_empty());
    assert!(packet(
        &e,
        &pkt(17, Direction::ToServer, 1, b"set", f),
        Some(&mut f1),
        &mut th
    )
    .is_empty());
    assert_eq!(
        packet(
            &e,
            &pkt(17, Direction::ToServer, 2, b"chk", f),
            Some(&mut f2),
            &mut th
        ),
        vec![2]
    );
    // The other host has no bit.
    assert!(packet(
        &e,
        &pkt(17, Direction::ToClient, 2, b"chk", f),
        Some(&mut f2),
        &mut th
    )
    .is_empty());
}

#[test]
fn packet_header_keywords() {
    let e = engine(
        "alert tcp any any -> any any (flags:PA; sid:1;)\n\
         alert tcp any any -> any any (flags:S,12; sid:2;)\n\
         alert tcp any any -> any any (dsize:3; sid:3;)\n\
         alert tcp any any -> any any (ttl:<65; sid:4;)\n\
         alert ip any any -> any any (ip_proto:6; sid:5;)\n\
         alert ip any any -> any any (ip_proto:!6; sid:6;)\n\
         alert ip any any -> any any (sameip; sid:7;)\n\
         alert tcp any any -> any any (flags:*SA; dsize:>2; sid:8;)\n\
         alert tcp any any -> any any (flags:+A; dsize:1<>5; sid:9;)",
    );
    let mut th = ThreadState::new(&e);
    let p = pkt(6, Direction::ToServer, 80, b"abc", None);
    // ip_proto rules are IP-only-incompatible packet rules; flags PA (0x18) exact match.
    assert_eq!(packet(&e, &p, None, &mut th), vec![1, 3, 4, 5, 8, 9]);
}

#[test]
fn icmp_keywords() {
    let e = engine(
        "alert icmp any any -> any any (itype:8; icode:0; sid:1;)\n\
         alert icmp any any -> any any (icmp_id:7; icmp_seq:9; sid:2;)\n\
         alert icmp any any -> any any (itype:>10; sid:3;)\n\
         alert tcp any any -> any any (sid:4; flags:S;)",
    );
    let mut th = ThreadState::new(&e);
    let mut p = pkt(1, Direction::ToServer, 0, b"", None);
    p.sport = 0;
    p.dport = 0;
    p.icmp = Some((8, 0, Some(7), Some(9)));
    assert_eq!(packet(&e, &p, None, &mut th), vec![1, 2]);
}

#[test]
fn event_keywords() {
    let e = engine(
        "alert pkthdr any any -> any any (decode-event:ipv4.trunc_pkt; sid:1;)\n\
         alert tcp any any -> any any (stream-event:3whs_wrong_seq_wrong_ack; sid:2;)\n\
         alert http any any -> any any (app-layer-event:http.request_field_too_long; sid:3;)",
    );
    let mut th = ThreadState::new(&e);
    let mut p = pkt(
        6,
        Direction::ToServer,
        80,
        b"",
        Some(flow(Direction::ToServer, Some("http"))),
    );
    p.decode_events = &["ipv4.trunc_pkt"];
    p.stream_events = &["3whs_wrong_seq_wrong_ack"];
    let mut fs = FlowState::default();
    assert_eq!(packet(&e, &p, Some(&mut fs), &mut th), vec![1, 2]);
    // An HTTP event is a transaction keyword: the events of the transaction inspected, by
    // the parser's name, on a flow of that protocol.
    let tx = Tx::http("/");
    p.applayer_events = &["REQUEST_FIELD_TOO_LONG"];
    assert_eq!(tx_alerts(&e, &p, &tx, 0, &mut fs, &mut th), vec![3]);
    p.applayer_events = &["REQUEST_LINE_INVALID"];
    assert!(tx_alerts(&e, &p, &tx, 1, &mut fs, &mut th).is_empty());
}

#[test]
fn tls_and_dns_state_keywords_use_tx_numbers() {
    let e = engine(
        "alert tls any any -> any any (ssl_state:client_hello; sid:1;)\n\
         alert tls any any -> any any (ssl_version:tls1.0,sslv3; sid:2;)\n\
         alert tls any any -> any any (ssl_version:!tls1.2; sid:3;)\n\
         alert dns any any -> any any (dns.opcode:4; sid:4;)\n\
         alert tls any any -> any any (tls.version:1.2; sid:5;)",
    );
    let mut th = ThreadState::new(&e);
    let mut fs = FlowState::default();
    let tls = Tx {
        proto: "tls",
        bufs: vec![],
        nums: vec![
            ("ssl_state", 1 << 9),
            ("ssl_version", 4),
            ("tls.version", 0x0303),
        ],
    };
    let p = pkt(
        6,
        Direction::ToServer,
        443,
        b"",
        Some(flow(Direction::ToServer, Some("tls"))),
    );
    assert_eq!(
        tx_alerts(&e, &p, &tls, 0, &mut fs, &mut th),
        vec![1, 2, 3, 5]
    );
    let dns = Tx {
        proto: "dns",
        bufs: vec![],
        nums: vec![("dns.opcode", 4)],
    };
    let p = pkt(
        17,
        Direction::ToServer,
        53,
        b"",
        Some(flow(Direction::ToServer, Some("dns"))),
    );
    let mut fs = FlowState::default();
    assert_eq!(tx_alerts(&e, &p, &dns, 0, &mut fs, &mut th), vec![4]);
}

#[test]
fn dataset_set_then_isset_across_rules() {
    let e = engine(
        "alert http any any -> any any (http.host; dataset:set,hosts,type string; noalert; sid:1;)\n\
         alert http any any -> any any (http.host; dataset:isset,hosts,type string; sid:2;)",
    );
    let mut th = ThreadState::new(&e);
    let p = pkt(
        6,
        Direction::ToServer,
        80,
        b"",
        Some(flow(Direction::ToServer, Some("http"))),
    );
    let mut fs = FlowState::default();
    // Setter ordered first: the same transaction already sees the value.
    assert_eq!(
        tx_alerts(&e, &p, &Tx::http("/"), 0, &mut fs, &mut th),
        vec![2]
    );
}

#[test]
fn byte_extract_variable_used_across_keywords() {
    let e = engine(
        "alert udp any any -> any any (byte_extract:1,0,len; content:\"A\"; distance:0; within:len; byte_test:1,=,len,0; sid:1;)",
    );
    let mut th = ThreadState::new(&e);
    assert_eq!(
        packet(
            &e,
            &pkt(17, Direction::ToServer, 1, b"\x03xxA", None),
            None,
            &mut th
        ),
        vec![1]
    );
    assert!(packet(
        &e,
        &pkt(17, Direction::ToServer, 1, b"\x02xxA", None),
        None,
        &mut th
    )
    .is_empty());
}

#[test]
fn unsupported_keywords_disable_the_rule() {
    let r = crate::load_rules_from_bytes(
        Path::new("t.rules"),
        b"alert tcp any any -> any any (content:\"a\"; asn1:bitstring_overflow; sid:1;)\n",
        &BTreeMap::new(),
        Path::new("/tmp"),
    );
    let e = Engine::build(&r, &EngineConfig::default());
    assert_eq!(e.info().disabled.len(), 1);
    let mut th = ThreadState::new(&e);
    let mut p = pkt(6, Direction::ToServer, 1, b"a", None);
    p.in_stream = false;
    assert!(packet(&e, &p, None, &mut th).is_empty());
}

#[test]
fn fuzz_engine_never_panics() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let seeds: [&[u8]; 4] = [
        b"GET /evil HTTP/1.1\r\nHost: a.test\r\n\r\n",
        b"\x00\x05abcdeQUJDREVG",
        b"login cmd logout flip chk",
        b"\xff\xff\xff\xff\x00\x00\x00\x01",
    ];
    for i in 0..3000usize {
        let mut d: Vec<u8> = seeds[i % seeds.len()].to_vec();
        let n = (next() % 8) as usize;
        for _ in 0..n {
            let r = next();
            match r % 3 {
                0 if !d.is_empty() => {
                    let at = (r >> 8) as usize % d.len();
                    d[at] = (r >> 16) as u8;
                }
                1 => d.push((r >> 8) as u8),
                _ => {
                    if !d.is_empty() {
                        let at = (r >> 8) as usize % d.len();
                        d.truncate(at);
                    }
                }
            }
        }
        if i % 5 == 0 {
            d = (0..(next() % 64)).map(|_| next() as u8).collect();
        }
        crate::fuzzing::fuzz_engine(&d);
    }
}

#[test]
fn engine_is_shareable_between_workers() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Engine>();
    send::<ThreadState>();
    send::<FlowState>();
}

#[test]
fn reload_carries_flow_state_by_name_and_sid() {
    let old = engine(
        "alert tcp any any -> any any (content:\"a\"; flowbits:set,a; sid:1;)\n\
         alert tcp any any -> any any (content:\"b\"; flowbits:set,b; flowint:cnt,+,1; sid:2;)\n\
         alert tcp any any -> any any (content:\"c\"; sid:3;)",
    );
    let new = engine(
        "alert tcp any any -> any any (content:\"b\"; flowbits:set,b; flowint:cnt,+,1; sid:2;)\n\
         alert tcp any any -> any any (content:\"z\"; flowbits:set,z; sid:9;)\n\
         alert tcp any any -> any any (content:\"c\"; sid:3;)",
    );
    let id = |e: &Engine, n: &str| e.flowbit_names.iter().position(|x| x == n).unwrap() as u32;
    let num = |e: &Engine, sid: u32| e.rules.iter().find(|r| r.meta.sid == sid).unwrap().num;
    let mut bits = vec![id(&old, "a"), id(&old, "b")];
    bits.sort_unstable();
    let mut st = FlowState {
        bits,
        ints: vec![(0, 7)],
        stream_next: [100, 200],
        ..Default::default()
    };
    st.tx.push_back((0, 0, vec![num(&old, 1), num(&old, 3)]));
    new.state_map_from(&old).apply(&mut st);
    assert_eq!(
        st.bits,
        vec![id(&new, "b")],
        "a is gone, b keeps its meaning"
    );
    assert_eq!(st.ints, vec![(0, 7)]);
    assert_eq!(
        st.tx[0].2,
        vec![num(&new, 3)],
        "sid 1 is gone, sid 3 renumbered"
    );
    assert_eq!(st.stream_next, [100, 200], "stream positions carry over");
}
