//! Detection snapshots: what Suricata 7.0.10's `dns.query` and `dns.opcode` see (checked with
//! Lua-dumping rules and `dns.opcode` rules on crafted captures), over UDP and over TCP fed
//! whole and byte by byte.

use events::app::{AppOutput, StreamParser};
use events::inspect::TxBuffers;
use events::Body;
use types::Direction::{self, ToClient, ToServer};

use crate::{DnsConfig, DnsTcp, DnsUdp};

fn name(n: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for l in n.split('.').filter(|l| !l.is_empty()) {
        v.push(u8::try_from(l.len()).unwrap());
        v.extend_from_slice(l.as_bytes());
    }
    v.push(0);
    v
}

/// A message with these questions (type A, class IN).
fn message(id: u16, flags: u16, names: &[&str]) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&flags.to_be_bytes());
    m.extend_from_slice(&u16::try_from(names.len()).unwrap().to_be_bytes());
    m.extend_from_slice(&[0; 6]);
    for n in names {
        m.extend(name(n));
        m.extend_from_slice(&[0, 1, 0, 1]);
    }
    m
}

/// `(queries, opcode)` of a snapshot.
type View = (Vec<Vec<u8>>, Option<u64>);

fn view(s: &dyn TxBuffers) -> View {
    assert_eq!(s.app_proto(), "dns");
    assert!(s.complete(ToServer) && s.complete(ToClient));
    let mut q = Vec::new();
    for i in 0.. {
        let Some(b) = s.buffer("dns.query", ToServer, i) else {
            break;
        };
        q.push(b.into_owned());
    }
    // Suricata has no `dns.query` to the client.
    assert!(s.buffer("dns.query", ToClient, 0).is_none());
    // `dns.opcode` is read from the side inspected: exactly one direction answers.
    let (srv, cli) = (
        s.number_dir("dns.opcode", ToServer),
        s.number_dir("dns.opcode", ToClient),
    );
    assert!(srv.is_none() != cli.is_none(), "{srv:?} / {cli:?}");
    assert_eq!(srv.or(cli), s.number("dns.opcode"));
    (q, s.number("dns.opcode"))
}

fn inspecting() -> DnsConfig {
    DnsConfig {
        inspect: true,
        ..DnsConfig::default()
    }
}

/// Runs datagrams through a UDP flow; returns the snapshot views of each output that carries
/// one (and checks they ride on `dns` records), then the unlogged ones.
fn udp(cfg: &DnsConfig, msgs: &[(Direction, Vec<u8>)]) -> (Vec<View>, usize) {
    let mut u = DnsUdp::new(cfg);
    let mut views = Vec::new();
    let mut unlogged = 0;
    for (d, m) in msgs {
        let mut out: Vec<AppOutput> = Vec::new();
        let _ = u.parse_datagram(*d, m, &mut out);
        for o in &out {
            if let Some(s) = o.inspect.as_deref() {
                assert!(matches!(o.body, Body::Dns(_)));
                views.push(view(s));
            }
        }
        for s in u.take_unlogged_inspect() {
            views.push(view(s.as_ref()));
            unlogged += 1;
        }
    }
    (views, unlogged)
}

fn q(v: &[&str]) -> Vec<Vec<u8>> {
    v.iter().map(|s| s.as_bytes().to_vec()).collect()
}

#[test]
fn queries_and_opcodes() {
    let (views, unlogged) = udp(
        &inspecting(),
        &[
            (ToServer, message(1, 0x0100, &["a.example", "B.Example"])),
            (ToClient, message(1, 0x8180, &["a.example"])),
            // Suricata's getter ends the list at the first root (empty) name.
            (
                ToServer,
                message(2, 0x0100, &["c.example", "", "d.example"]),
            ),
            (ToServer, message(3, 0x0100, &[""])),
            (ToServer, message(4, 0x2000, &["notify.example"])),
            (ToServer, message(5, 0x7800, &["op15.example"])),
        ],
    );
    assert_eq!(unlogged, 0);
    assert_eq!(
        views,
        vec![
            (q(&["a.example", "B.Example"]), Some(0)),
            (vec![], Some(0)),
            (q(&["c.example"]), Some(0)),
            (vec![], Some(0)),
            (q(&["notify.example"]), Some(4)),
            (q(&["op15.example"]), Some(15)),
        ]
    );
}

#[test]
fn unlogged_transactions_keep_their_snapshot() {
    // No question: no `dns` record, the snapshot waits for `take_unlogged_inspect`.
    let (views, unlogged) = udp(&inspecting(), &[(ToServer, message(7, 0x2800, &[]))]);
    assert_eq!(unlogged, 1);
    assert_eq!(views, vec![(vec![], Some(5))]);
    // Queries not logged by configuration are still inspected.
    let cfg = DnsConfig {
        log_queries: false,
        ..inspecting()
    };
    let (views, unlogged) = udp(&cfg, &[(ToServer, message(8, 0x0100, &["x.example"]))]);
    assert_eq!((views, unlogged), (vec![(q(&["x.example"]), Some(0))], 1));
}

#[test]
fn off_by_default_and_retention_when_on() {
    let mut u = DnsUdp::new(&DnsConfig::default());
    let mut out = Vec::new();
    let _ = u.parse_datagram(ToServer, &message(1, 0x0100, &["a.example"]), &mut out);
    assert!(out.iter().all(|o| o.inspect.is_none()));
    assert_eq!(u.transactions().count(), 1);
    assert!(u.take_unlogged_inspect().is_empty());
    // With inspect the transaction moves into its snapshot instead of being retained.
    let mut u = DnsUdp::new(&inspecting());
    let mut out = Vec::new();
    let _ = u.parse_datagram(ToServer, &message(1, 0x0100, &["a.example"]), &mut out);
    assert_eq!(out.iter().filter(|o| o.inspect.is_some()).count(), 1);
    assert_eq!(u.transactions().count(), 0);
}

#[test]
fn one_snapshot_per_transaction_not_per_record() {
    // Two questions give two `query` records; only the first carries the snapshot.
    let mut u = DnsUdp::new(&inspecting());
    let mut out = Vec::new();
    let _ = u.parse_datagram(ToServer, &message(1, 0x0100, &["a.x", "b.x"]), &mut out);
    let dns: Vec<bool> = out
        .iter()
        .filter(|o| matches!(o.body, Body::Dns(_)))
        .map(|o| o.inspect.is_some())
        .collect();
    assert_eq!(dns, vec![true, false]);
}

#[test]
fn tcp_snapshots_same_whole_and_byte_by_byte() {
    let mut stream = Vec::new();
    for m in [
        message(1, 0x0100, &["one.example"]),
        message(2, 0x1000, &["two.example", "three.example"]),
        message(3, 0x0100, &[]),
    ] {
        stream.extend_from_slice(&u16::try_from(m.len()).unwrap().to_be_bytes());
        stream.extend_from_slice(&m);
    }
    let run = |bytewise: bool| {
        let mut t = DnsTcp::new(&inspecting());
        let mut views = Vec::new();
        let chunks: Vec<&[u8]> = if bytewise {
            stream.chunks(1).collect()
        } else {
            vec![&stream]
        };
        for c in chunks {
            let mut out = Vec::new();
            let _ = t.parse(ToServer, c, &mut out);
            views.extend(out.iter().filter_map(|o| o.inspect.as_deref()).map(view));
            views.extend(t.take_unlogged_inspect().iter().map(|s| view(s.as_ref())));
        }
        let mut out = Vec::new();
        t.flush(&mut out);
        views.extend(out.iter().filter_map(|o| o.inspect.as_deref()).map(view));
        views
    };
    let whole = run(false);
    assert_eq!(whole, run(true));
    assert_eq!(
        whole,
        vec![
            (q(&["one.example"]), Some(0)),
            (q(&["two.example", "three.example"]), Some(2)),
            (vec![], Some(0)),
        ]
    );
}

#[test]
fn unlogged_snapshots_are_capped() {
    let cfg = DnsConfig {
        max_retained_transactions: 2,
        ..inspecting()
    };
    let mut stream = Vec::new();
    for id in 0..5u16 {
        let m = message(id, 0x0100, &[]);
        stream.extend_from_slice(&u16::try_from(m.len()).unwrap().to_be_bytes());
        stream.extend_from_slice(&m);
    }
    let mut t = DnsTcp::new(&cfg);
    let mut out = Vec::new();
    let _ = t.parse(ToServer, &stream, &mut out);
    assert_eq!(t.take_unlogged_inspect().len(), 2);
    let capped = out
        .iter()
        .filter(|o| matches!(&o.body, Body::Anomaly(a) if a.event == "too_many_transactions"))
        .count();
    assert_eq!(capped, 1);
}
