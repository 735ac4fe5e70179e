//! Replays a text description of one TCP flow through the HTTP parser and prints the EVE
//! bodies it produces, one JSON line each. Used to compare with Suricata on corpus captures.
//!
//! Input lines: `C <hex>` / `S <hex>` (client / server data, one chunk each), `GC <n>` /
//! `GS <n>` (gap), `EC` / `ES` (FIN), `FLOW` (start a new flow), and the end of input flushes.
use std::io::{BufRead, Write};

use events::app::StreamParser;
use events::{Event, Tuple};
use types::{Addr, Direction, Timestamp};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

fn main() {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    let mut st = applayer_http::HttpState::default();
    let mut outs = Vec::new();
    let mut flow = 0u64;
    let emit = |outs: &mut Vec<events::AppOutput>, flow: u64, out: &mut dyn Write| {
        for o in outs.drain(..) {
            let t = Tuple {
                src: Addr::v4([10, 0, 0, 1]),
                sport: 1,
                dst: Addr::v4([10, 0, 0, 2]),
                dport: 2,
                proto: 6,
            };
            let ev = Event {
                ts: Timestamp::from_secs_nanos(0, 0),
                flow_id: flow + 1,
                pcap_cnt: None,
                tuple: Some(if o.dir == Direction::ToServer {
                    t
                } else {
                    t.reversed()
                }),
                vlan: [0; 2],
                pkt_src: None,
                community_id: None,
                tx_id: o.tx_id,
                app_proto: Some("http"),
                direction: None,
                body: o.body,
            };
            let mut b = Vec::new();
            ev.write_json(&mut b);
            let _ = out.write_all(&b);
        }
    };
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let (k, v) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match k {
            "FLOW" => {
                st.flush(&mut outs);
                emit(&mut outs, flow, &mut out);
                flow += 1;
                st = applayer_http::HttpState::default();
            }
            "C" => {
                let _ = st.parse(Direction::ToServer, &unhex(v), &mut outs);
            }
            "S" => {
                let _ = st.parse(Direction::ToClient, &unhex(v), &mut outs);
            }
            "GC" => st.gap(Direction::ToServer, v.parse().unwrap_or(0), &mut outs),
            "GS" => st.gap(Direction::ToClient, v.parse().unwrap_or(0), &mut outs),
            "EC" => st.eof(Direction::ToServer, &mut outs),
            "ES" => st.eof(Direction::ToClient, &mut outs),
            _ => {}
        }
        emit(&mut outs, flow, &mut out);
    }
    st.flush(&mut outs);
    emit(&mut outs, flow, &mut out);
}
