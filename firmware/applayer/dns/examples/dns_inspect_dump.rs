//! Developer tool: replays flows through the DNS parser with `inspect` on and prints every
//! detection buffer of every snapshot, to compare with what Suricata's rules see.
//!
//! Input lines: `FLOW udp|tcp <a>:<port>-<b>:<port>` starts a flow; `C <hex>` / `S <hex>` is
//! data sent by `a` / by `b` (UDP: one datagram). The side on port 53 is the server.
//! Output lines: `<buffer> <S|C> <client>:<port>-<server>:<port> <hex>`, and
//! `#<number> <value> <tuple>` for numbers.

use std::io::BufRead;

use applayer_dns::{DnsConfig, DnsTcp, DnsUdp};
use events::app::{AppOutput, StreamParser};
use events::inspect::TxBuffers;
use types::Direction;

fn unhex(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    b.chunks_exact(2)
        .filter_map(|p| std::str::from_utf8(p).ok())
        .filter_map(|p| u8::from_str_radix(p, 16).ok())
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn dump(snap: &dyn TxBuffers, tuple: &str) {
    for i in 0..4096 {
        let Some(b) = snap.buffer("dns.query", Direction::ToServer, i) else {
            break;
        };
        println!("dns.query S {tuple} {}", hex(&b));
    }
    if let Some(n) = snap.number("dns.opcode") {
        println!("#dns.opcode {n} {tuple}");
    }
}

enum Flow {
    Udp(DnsUdp),
    Tcp(DnsTcp),
}

fn main() {
    let cfg = DnsConfig {
        inspect: true,
        ..DnsConfig::default()
    };
    let mut flow: Option<(Flow, bool, String)> = None;
    let mut out: Vec<AppOutput> = Vec::new();
    let drain = |flow: &mut Option<(Flow, bool, String)>, out: &mut Vec<AppOutput>| {
        let Some((f, _, tuple)) = flow.as_mut() else {
            return;
        };
        for o in out.drain(..) {
            if let Some(s) = o.inspect {
                dump(s.as_ref(), tuple);
            }
        }
        let extra = match f {
            Flow::Udp(u) => u.take_unlogged_inspect(),
            Flow::Tcp(t) => t.take_unlogged_inspect(),
        };
        for s in extra {
            dump(s.as_ref(), tuple);
        }
    };
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let mut parts = line.split(' ');
        match parts.next() {
            Some("FLOW") => {
                if let Some((f, _, _)) = flow.as_mut() {
                    match f {
                        Flow::Udp(u) => u.flush(&mut out),
                        Flow::Tcp(t) => t.flush(&mut out),
                    }
                }
                drain(&mut flow, &mut out);
                let kind = parts.next().unwrap_or("udp");
                let tuple = parts.next().unwrap_or("");
                let (a, b) = tuple.split_once('-').unwrap_or((tuple, ""));
                let a_is_server = a.ends_with(":53");
                let t = if a_is_server {
                    format!("{b}-{a}")
                } else {
                    format!("{a}-{b}")
                };
                let f = if kind == "tcp" {
                    Flow::Tcp(DnsTcp::new(&cfg))
                } else {
                    Flow::Udp(DnsUdp::new(&cfg))
                };
                flow = Some((f, a_is_server, t));
            }
            Some(gap @ ("GC" | "GS")) => {
                let n: u64 = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0);
                if let Some((Flow::Tcp(t), a_is_server, _)) = flow.as_mut() {
                    let from_a = gap == "GC";
                    let dir = if from_a != *a_is_server {
                        Direction::ToServer
                    } else {
                        Direction::ToClient
                    };
                    t.gap(dir, n, &mut out);
                }
                drain(&mut flow, &mut out);
            }
            Some(side @ ("C" | "S")) => {
                let data = unhex(parts.next().unwrap_or(""));
                if let Some((f, a_is_server, _)) = flow.as_mut() {
                    let from_a = side == "C";
                    let dir = if from_a != *a_is_server {
                        Direction::ToServer
                    } else {
                        Direction::ToClient
                    };
                    match f {
                        Flow::Udp(u) => {
                            let _ = u.parse_datagram(dir, &data, &mut out);
                        }
                        Flow::Tcp(t) => {
                            let _ = t.parse(dir, &data, &mut out);
                        }
                    }
                }
                drain(&mut flow, &mut out);
            }
            _ => {}
        }
    }
    if let Some((f, _, _)) = flow.as_mut() {
        match f {
            Flow::Udp(u) => u.flush(&mut out),
            Flow::Tcp(t) => t.flush(&mut out),
        }
    }
    drain(&mut flow, &mut out);
}
