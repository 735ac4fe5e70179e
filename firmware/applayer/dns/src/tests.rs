//! Crate-level tests: Suricata 7.0.10 conformance vectors, TCP slicing, caps, config, fuzzing.

use events::app::{AppOutput, ParseStatus, Probe, StreamParser};
use events::Body;
use serde_json::{json, Value};
use types::Direction;

use super::*;
use crate::fuzzing::{fuzz_dns, fuzz_dns_outputs, XorShift};

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/vectors/dns/suricata-7.0.10-crafted.json"
);

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn dir_of(s: &str) -> Direction {
    match s {
        "to_server" => Direction::ToServer,
        "to_client" => Direction::ToClient,
        other => panic!("bad dir {other}"),
    }
}

/// Events Suricata hangs on the previous transaction of the same call: their presence depends
/// on how the stream is cut.
const LATE_EVENTS: [&str; 3] = ["malformed_data", "not_request", "not_response"];

/// Outputs as comparable values: the `dns` body (a `Value` map, so `grouped` order does not
/// matter), or the anomaly's name, transaction and orientation.
fn norm(outs: &[AppOutput]) -> Vec<Value> {
    outs.iter()
        .map(|o| match &o.body {
            Body::Dns(d) => {
                assert_eq!(o.dir, Direction::ToServer, "dns records are flow-oriented");
                assert!(o.tx_id.is_some());
                json!({ "dns": serde_json::to_value(d.as_ref()).unwrap() })
            }
            Body::Anomaly(a) => {
                assert_eq!(a.app_proto, Some(APP_PROTO));
                assert_eq!(a.kind, "applayer");
                assert_eq!(a.layer, Some("proto_parser"));
                json!({ "anomaly": a.event, "tx_id": o.tx_id, "dir": o.dir.as_str() })
            }
            other => panic!("unexpected body {other:?}"),
        })
        .collect()
}

fn expected(case: &Value) -> Vec<Value> {
    case["expect"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| match e.get("dns") {
            Some(d) => json!({ "dns": d }),
            None => json!({ "anomaly": e["anomaly"], "tx_id": e["tx_id"], "dir": e["dir"] }),
        })
        .collect()
}

/// Feeds a vector case; TCP chunks whole or one byte per call.
fn run_case(case: &Value, bytewise: bool) -> Vec<AppOutput> {
    let cfg = DnsConfig::default();
    let mut out = Vec::new();
    let steps = case["steps"].as_array().unwrap();
    match case["transport"].as_str().unwrap() {
        "udp" => {
            let mut udp = DnsUdp::new(&cfg);
            for s in steps {
                let st = udp.parse_datagram(
                    dir_of(s[0].as_str().unwrap()),
                    &unhex(s[1].as_str().unwrap()),
                    &mut out,
                );
                assert_eq!(st, ParseStatus::Ok);
            }
            udp.flush(&mut out);
        }
        "tcp" => {
            let mut tcp = DnsTcp::new(&cfg);
            for s in steps {
                if s[0] == "gap" {
                    tcp.gap(
                        dir_of(s[1].as_str().unwrap()),
                        s[2].as_u64().unwrap(),
                        &mut out,
                    );
                    continue;
                }
                let d = dir_of(s[0].as_str().unwrap());
                let data = unhex(s[1].as_str().unwrap());
                if bytewise {
                    for b in &data {
                        tcp.parse(d, std::slice::from_ref(b), &mut out);
                    }
                } else {
                    tcp.parse(d, &data, &mut out);
                }
            }
            tcp.eof(Direction::ToServer, &mut out);
            tcp.eof(Direction::ToClient, &mut out);
            tcp.flush(&mut out);
        }
        t => panic!("transport {t}"),
    }
    out
}

fn load_vectors() -> Vec<Value> {
    let text = std::fs::read_to_string(VECTORS).expect("vector file");
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["cases"].as_array().unwrap().clone()
}

#[test]
fn suricata_vectors_match() {
    let cases = load_vectors();
    assert!(cases.len() > 100);
    for case in &cases {
        let got = norm(&run_case(case, false));
        let want = expected(case);
        // The direction of dns records is a pipeline matter (flow swaps); compare bodies only.
        assert_eq!(got, want, "case {}", case["name"]);
    }
}

#[test]
fn tcp_vectors_same_whole_and_byte_by_byte() {
    for case in load_vectors().iter().filter(|c| c["transport"] == "tcp") {
        let strip = |v: Vec<Value>| -> Vec<Value> {
            v.into_iter()
                .filter(|x| !LATE_EVENTS.iter().any(|e| x["anomaly"] == *e))
                .collect()
        };
        let whole = strip(norm(&run_case(case, false)));
        let bytes = strip(norm(&run_case(case, true)));
        assert_eq!(whole, bytes, "case {}", case["name"]);
    }
}

/// Every UDP vector whose datagrams all parse, replayed as DNS over TCP (one frame per
/// datagram), whole and byte by byte: same records, anomalies flipped (TCP orientation).
#[test]
fn udp_vectors_replayed_over_tcp() {
    let cfg = DnsConfig::default();
    let mut replayed = 0;
    for case in load_vectors().iter().filter(|c| c["transport"] == "udp") {
        let steps: Vec<(Direction, Vec<u8>)> = case["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    dir_of(s[0].as_str().unwrap()),
                    unhex(s[1].as_str().unwrap()),
                )
            })
            .collect();
        let mut udp = DnsUdp::new(&cfg);
        let mut udp_out = Vec::new();
        for (d, m) in &steps {
            udp.parse_datagram(*d, m, &mut udp_out);
        }
        if udp.tx_count() != steps.len() as u64 || steps.iter().any(|(_, m)| m.len() > 65535) {
            continue;
        }
        let flip = |v: Vec<Value>| -> Vec<Value> {
            v.into_iter()
                .map(|mut x| {
                    if let Some(d) = x.get("dir").and_then(Value::as_str) {
                        x["dir"] = dir_of(d).flip().as_str().into();
                    }
                    x
                })
                .collect()
        };
        let want = flip(norm(&udp_out));
        for bytewise in [false, true] {
            let mut tcp = DnsTcp::new(&cfg);
            let mut out = Vec::new();
            for (d, m) in &steps {
                let mut frame = (m.len() as u16).to_be_bytes().to_vec();
                frame.extend_from_slice(m);
                if bytewise {
                    for b in &frame {
                        assert_eq!(
                            tcp.parse(*d, std::slice::from_ref(b), &mut out),
                            ParseStatus::Ok
                        );
                    }
                } else {
                    assert_eq!(tcp.parse(*d, &frame, &mut out), ParseStatus::Ok);
                }
            }
            assert_eq!(
                norm(&out),
                want,
                "case {} bytewise={bytewise}",
                case["name"]
            );
        }
        replayed += 1;
    }
    assert!(replayed > 80, "{replayed}");
}

// ---------------------------------------------------------------- message builders

fn name(n: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for l in n.split('.').filter(|l| !l.is_empty()) {
        v.push(l.len() as u8);
        v.extend_from_slice(l.as_bytes());
    }
    v.push(0);
    v
}

fn header(id: u16, flags: u16, counts: [u16; 4]) -> Vec<u8> {
    let mut v = id.to_be_bytes().to_vec();
    v.extend_from_slice(&flags.to_be_bytes());
    for c in counts {
        v.extend_from_slice(&c.to_be_bytes());
    }
    v
}

fn query(id: u16, qname: &str, qtype: u16) -> Vec<u8> {
    let mut m = header(id, 0x0100, [1, 0, 0, 0]);
    m.extend(name(qname));
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    m
}

fn rr(owner: &[u8], t: u16, rdata: &[u8]) -> Vec<u8> {
    let mut v = owner.to_vec();
    v.extend_from_slice(&t.to_be_bytes());
    v.extend_from_slice(&1u16.to_be_bytes());
    v.extend_from_slice(&300u32.to_be_bytes());
    v.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    v.extend_from_slice(rdata);
    v
}

fn response(id: u16, qname: &str, qtype: u16, answers: &[Vec<u8>]) -> Vec<u8> {
    let mut m = header(id, 0x8180, [1, answers.len() as u16, 0, 0]);
    m.extend(name(qname));
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    for a in answers {
        m.extend_from_slice(a);
    }
    m
}

fn framed(m: &[u8]) -> Vec<u8> {
    let mut f = (m.len() as u16).to_be_bytes().to_vec();
    f.extend_from_slice(m);
    f
}

fn dns_bodies(outs: &[AppOutput]) -> Vec<&events::dns::DnsEve> {
    outs.iter()
        .filter_map(|o| match &o.body {
            Body::Dns(d) => Some(d.as_ref()),
            _ => None,
        })
        .collect()
}

fn anomalies(outs: &[AppOutput]) -> Vec<&'static str> {
    outs.iter()
        .filter_map(|o| match &o.body {
            Body::Anomaly(a) => Some(a.event),
            _ => None,
        })
        .collect()
}

#[test]
fn parsers_are_send() {
    fn send<T: Send>() {}
    send::<DnsUdp>();
    send::<DnsTcp>();
    send::<DnsMessage>();
}

// ---------------------------------------------------------------- probes

#[test]
fn probes() {
    let q = query(1, "a.example", 1);
    assert_eq!(probe_udp(&q), Probe::Match);
    assert_eq!(probe_udp_dir(&q), (Probe::Match, Some(Direction::ToServer)));
    let r = response(1, "a.example", 1, &[]);
    assert_eq!(probe_udp_dir(&r), (Probe::Match, Some(Direction::ToClient)));
    assert_eq!(probe_udp(&q[..11]), Probe::NoMatch);
    assert_eq!(
        probe_udp(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        Probe::NoMatch
    );
    // Opcode 7 is not checked by the probe (Suricata 7.0.10).
    let mut o7 = q.clone();
    o7[2] = 0x39;
    assert_eq!(probe_udp(&o7), Probe::Match);

    let f = framed(&q);
    assert_eq!(probe_tcp(&f[..13]), Probe::NeedMore);
    assert_eq!(probe_tcp(&f[..14]), Probe::Match);
    assert_eq!(probe_tcp_dir(&f), (Probe::Match, Some(Direction::ToServer)));
    // A zero length prefix never decides.
    let mut z = vec![0, 0];
    z.extend_from_slice(&f);
    assert_eq!(probe_tcp(&z), Probe::NeedMore);
    assert_eq!(
        probe_tcp(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\xaa\xbb\xcc\xdd"),
        Probe::NoMatch
    );
}

// ---------------------------------------------------------------- UDP behaviour

#[test]
fn udp_transactions_are_numbered_across_directions() {
    let cfg = DnsConfig::default();
    let mut udp = DnsUdp::new(&cfg);
    let mut out = Vec::new();
    udp.parse_datagram(Direction::ToServer, &query(1, "a.example", 1), &mut out);
    udp.parse_datagram(
        Direction::ToClient,
        &response(1, "a.example", 1, &[]),
        &mut out,
    );
    udp.parse_datagram(Direction::ToServer, &query(2, "b.example", 28), &mut out);
    let d = dns_bodies(&out);
    assert_eq!(d.len(), 3);
    assert_eq!((d[0].kind, d[0].tx_id), ("query", Some(0)));
    assert_eq!((d[1].kind, d[1].tx_id), ("answer", None));
    assert_eq!(
        (d[2].kind, d[2].tx_id, d[2].rrtype.as_deref()),
        ("query", Some(2), Some("AAAA"))
    );
    assert_eq!(out[1].tx_id, Some(1));
    let txs: Vec<_> = udp.transactions().collect();
    assert_eq!(txs.len(), 1);
    assert_eq!(txs[0].message.questions[0].name.value, b"b.example");
    assert_eq!(udp.tx_count(), 3);
}

#[test]
fn udp_malformed_is_silent_and_flow_continues() {
    let cfg = DnsConfig::default();
    let mut udp = DnsUdp::new(&cfg);
    let mut out = Vec::new();
    let q = query(1, "a.example", 1);
    for cut in 0..q.len() {
        assert_eq!(
            udp.parse_datagram(Direction::ToServer, &q[..cut], &mut out),
            ParseStatus::Ok
        );
    }
    // A response in the request direction: dropped (not_request has no transaction to go to).
    udp.parse_datagram(
        Direction::ToServer,
        &response(1, "a.example", 1, &[]),
        &mut out,
    );
    assert!(out.is_empty(), "{out:?}");
    udp.parse_datagram(Direction::ToServer, &q, &mut out);
    assert_eq!(dns_bodies(&out).len(), 1);
}

// ---------------------------------------------------------------- TCP behaviour

#[test]
fn tcp_framing_any_slicing() {
    let cfg = DnsConfig::default();
    let mut stream = vec![0, 0];
    for i in 0..5u16 {
        stream.extend(framed(&query(i, "s.example", 1)));
        stream.extend_from_slice(&[0, 0]);
    }
    let mut rng = XorShift::new(7);
    for round in 0..50 {
        let mut tcp = DnsTcp::new(&cfg);
        let mut out = Vec::new();
        let mut rest = stream.as_slice();
        while !rest.is_empty() {
            let n = if round == 0 {
                rest.len()
            } else {
                1 + rng.below(rest.len().min(40))
            };
            let (a, b) = rest.split_at(n);
            assert_eq!(tcp.parse(Direction::ToServer, a, &mut out), ParseStatus::Ok);
            rest = b;
        }
        let ids: Vec<u16> = dns_bodies(&out).iter().map(|d| d.id).collect();
        assert_eq!(ids, vec![0, 1, 2, 3, 4], "round {round}");
    }
}

#[test]
fn tcp_failure_stops_both_directions() {
    let cfg = DnsConfig::default();
    let mut tcp = DnsTcp::new(&cfg);
    let mut out = Vec::new();
    let mut seg = framed(&query(1, "a.example", 1));
    seg.extend(framed(
        b"\x00\x06\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05ab",
    ));
    assert_eq!(
        tcp.parse(Direction::ToServer, &seg, &mut out),
        ParseStatus::Error
    );
    assert!(tcp.failed());
    // The good query is logged, with the malformed one charged to it (same call).
    assert_eq!(anomalies(&out), vec!["malformed_data"]);
    assert_eq!(
        out[0].dir,
        Direction::ToClient,
        "TCP anomalies take the ACK's orientation"
    );
    assert_eq!(dns_bodies(&out).len(), 1);
    let n = out.len();
    assert_eq!(
        tcp.parse(
            Direction::ToClient,
            &framed(&response(1, "a.example", 1, &[])),
            &mut out
        ),
        ParseStatus::Error
    );
    assert_eq!(out.len(), n);
}

#[test]
fn tcp_gap_resyncs_on_message_boundary_and_drops_garbage() {
    let cfg = DnsConfig::default();
    let mut tcp = DnsTcp::new(&cfg);
    let mut out = Vec::new();
    let q1 = framed(&query(1, "a.example", 1));
    tcp.parse(Direction::ToServer, &q1[..10], &mut out);
    tcp.gap(Direction::ToServer, 100, &mut out);
    // Garbage after the gap is dropped with its chunk...
    tcp.parse(
        Direction::ToServer,
        b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
        &mut out,
    );
    assert!(out.is_empty());
    // ...and a chunk starting with a message resumes parsing.
    assert_eq!(
        tcp.parse(
            Direction::ToServer,
            &framed(&query(2, "b.example", 1)),
            &mut out
        ),
        ParseStatus::Ok
    );
    let ids: Vec<u16> = dns_bodies(&out).iter().map(|d| d.id).collect();
    assert_eq!(ids, vec![2]);
}

#[test]
fn tcp_partial_frame_at_eof_is_not_logged() {
    let cfg = DnsConfig::default();
    let mut tcp = DnsTcp::new(&cfg);
    let mut out = Vec::new();
    let f = framed(&query(1, "a.example", 1));
    tcp.parse(Direction::ToServer, &f[..f.len() - 1], &mut out);
    tcp.eof(Direction::ToServer, &mut out);
    tcp.flush(&mut out);
    assert!(out.is_empty());
}

// ---------------------------------------------------------------- caps

#[test]
fn txt_expansion_is_capped_with_an_event() {
    let cfg = DnsConfig::default();
    // One TXT record of 30000 one-byte strings ("\x01x" ... ) is 60000 bytes.
    let rdata: Vec<u8> = std::iter::repeat_n([1u8, b'x'], 30000).flatten().collect();
    let m = response(1, "t.example", 16, &[rr(b"\xc0\x0c", 16, &rdata)]);
    let mut tcp = DnsTcp::new(&cfg);
    let mut out = Vec::new();
    assert_eq!(
        tcp.parse(Direction::ToClient, &framed(&m), &mut out),
        ParseStatus::Ok
    );
    assert_eq!(anomalies(&out), vec!["too_many_records"]);
    let d = dns_bodies(&out);
    assert_eq!(
        d[0].answers.as_ref().unwrap().len(),
        caps::MAX_RECORDS_PER_MESSAGE
    );
}

#[test]
fn retained_transactions_are_capped() {
    let cfg = DnsConfig::default();
    let mut tcp = DnsTcp::new(&cfg);
    let mut out = Vec::new();
    let mut seg = Vec::new();
    for i in 0..(caps::MAX_RETAINED_TX as u16 + 10) {
        seg.extend(framed(&query(i, "p.example", 1)));
    }
    tcp.parse(Direction::ToServer, &seg, &mut out);
    assert_eq!(tcp.transactions().count(), caps::MAX_RETAINED_TX);
    assert_eq!(anomalies(&out), vec!["too_many_transactions"]);
    assert_eq!(
        dns_bodies(&out).len(),
        caps::MAX_RETAINED_TX + 10,
        "everything is still logged"
    );
    // A new call starts afresh.
    tcp.parse(
        Direction::ToServer,
        &framed(&query(999, "p.example", 1)),
        &mut out,
    );
    assert_eq!(tcp.transactions().count(), 1);
}

#[test]
fn compression_abuse_terminates_quickly() {
    // An unknown record whose rdata is a chain of 255 pointers, each to the previous one (the
    // first to the question name), then 2000 records whose owner points at the chain's end:
    // every one of those names takes the step cap (255 hops) and ends truncated.
    let mut m = header(1, 0x8180, [1, 2001, 0, 0]);
    m.extend(name("x")); // offset 12
    m.extend_from_slice(&[0, 1, 0, 1]);
    let rdata_at = m.len() + 3 + 10; // after owner "c" and the fixed fields
    let mut chain = vec![0xc0, 0x0c];
    for i in 1..255usize {
        chain.extend_from_slice(&(0xc000 | (rdata_at + 2 * (i - 1)) as u16).to_be_bytes());
    }
    m.extend(rr(&name("c"), 300, &chain));
    let end = (0xc000 | (rdata_at + 2 * 254) as u16).to_be_bytes();
    for _ in 0..2000 {
        m.extend(rr(&end, 1, &[1, 2, 3, 4]));
    }
    let t = std::time::Instant::now();
    let msg = parse_response(&m, 4096).unwrap();
    assert!(t.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(msg.answers.len(), 2001);
    assert!(msg.name_flags.contains(NameFlags::LABEL_LIMIT));
    assert!(msg.answers[1].name.truncated());
}

// ---------------------------------------------------------------- config

#[test]
fn config_knobs() {
    let r = response(
        5,
        "k.example",
        1,
        &[rr(b"\xc0\x0c", 1, &[9, 9, 9, 9]), rr(b"\xc0\x0c", 99, b"x")],
    );
    let run = |cfg: DnsConfig| {
        let mut udp = DnsUdp::new(&cfg);
        let mut out = Vec::new();
        udp.parse_datagram(Direction::ToServer, &query(5, "k.example", 1), &mut out);
        udp.parse_datagram(Direction::ToClient, &r, &mut out);
        dns_bodies(&out).into_iter().cloned().collect::<Vec<_>>()
    };
    assert_eq!(run(DnsConfig::default()).len(), 2);
    assert_eq!(
        run(DnsConfig {
            log_queries: false,
            ..Default::default()
        })[0]
            .kind,
        "answer"
    );
    assert_eq!(
        run(DnsConfig {
            log_answers: false,
            ..Default::default()
        })
        .len(),
        1
    );
    let a = run(DnsConfig {
        detailed: false,
        ..Default::default()
    });
    assert!(a[1].answers.is_none() && a[1].grouped.is_some());
    let a = run(DnsConfig {
        grouped: false,
        ..Default::default()
    });
    assert!(a[1].answers.is_some() && a[1].grouped.is_none());
    assert!(run(DnsConfig {
        types: Some(vec![28]),
        ..Default::default()
    })
    .is_empty());
    assert_eq!(
        run(DnsConfig {
            types: Some(vec![1]),
            ..Default::default()
        })
        .len(),
        2
    );
}

#[test]
fn query_types_filter_stops_at_first_unlisted_question() {
    let mut m = header(1, 0x0100, [3, 0, 0, 0]);
    for (n, t) in [("a.example", 1u16), ("b.example", 16), ("c.example", 1)] {
        m.extend(name(n));
        m.extend_from_slice(&t.to_be_bytes());
        m.extend_from_slice(&[0, 1]);
    }
    let cfg = DnsConfig {
        types: Some(vec![1]),
        ..Default::default()
    };
    let mut udp = DnsUdp::new(&cfg);
    let mut out = Vec::new();
    udp.parse_datagram(Direction::ToServer, &m, &mut out);
    assert_eq!(dns_bodies(&out).len(), 1);
}

// ---------------------------------------------------------------- fuzzing

fn mutate(rng: &mut XorShift, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..1 + rng.below(2) {
        match rng.below(6) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next_u64() as u8;
            }
            2 => {
                let i = rng.below(v.len() + 1);
                v.insert(i, [0x00, 0xc0, 0x3f, 0xff, 0x01][rng.below(5)]);
            }
            3 if !v.is_empty() => {
                let n = rng.below(v.len());
                v.truncate(n);
            }
            4 if v.len() > 13 => {
                // pointer to a random place
                let i = 12 + rng.below(v.len() - 13);
                let off = rng.below(v.len() + 4) as u16;
                v[i] = 0xc0 | (off >> 8) as u8;
                v[i + 1] = off as u8;
            }
            _ => {
                let i = rng.below(v.len() + 1);
                let extra: Vec<u8> = (0..rng.below(8)).map(|_| rng.next_u64() as u8).collect();
                v.splice(i..i, extra);
            }
        }
    }
    v
}

#[test]
fn fuzz_smoke() {
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    for case in load_vectors() {
        for s in case["steps"].as_array().unwrap() {
            if let (false, Some(h)) = (s[0] == "gap", s[1].as_str()) {
                let b = unhex(h);
                if b.len() < 1500 {
                    seeds.push(b);
                }
            }
        }
    }
    let mut rng = XorShift::new(0x5eed);
    let mut productive = 0;
    for i in 0..3000 {
        let mut input = vec![rng.next_u64() as u8];
        if i % 3 == 0 {
            let n = rng.below(300);
            input.extend((0..n).map(|_| rng.next_u64() as u8));
        } else {
            let seed = &seeds[rng.below(seeds.len())];
            input.extend(mutate(&mut rng, seed));
        }
        if fuzz_dns_outputs(&input) > 0 {
            productive += 1;
        }
    }
    // Mutations of real messages must mostly still reach the logger, or the fuzz is shallow.
    assert!(productive > 300, "{productive}");
    fuzz_dns(&[]);
    fuzz_dns(&[0]);
}
