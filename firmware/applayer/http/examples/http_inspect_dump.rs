//! Developer tool: replays TCP flows through the HTTP parser with `inspect` on and prints
//! every detection buffer of every snapshot, to compare with what Suricata's rules see.
//!
//! Input lines: `FLOW tcp <client>:<port>-<server>:<port>` starts a flow; `C <hex>` / `S <hex>`
//! is one chunk of client / server data; `GC <n>` / `GS <n>` a gap of `n` bytes. Output
//! lines: `<buffer> <S|C> <tuple> <hex>` and
//! `#<number> <value> <tuple>`. `--bytewise` feeds one byte per call.

use std::io::BufRead;
use std::sync::Arc;

use applayer_http::inspect::{NUMBERS, REQUEST_BUFFERS as REQUEST, RESPONSE_BUFFERS as RESPONSE};
use applayer_http::{HttpConfig, HttpState};
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
    for (dir, d, names) in [
        (Direction::ToServer, "S", REQUEST),
        (Direction::ToClient, "C", RESPONSE),
    ] {
        for name in names {
            for i in 0..2048 {
                let Some(b) = snap.buffer(name, dir, i) else {
                    break;
                };
                println!("{name} {d} {tuple} {}", hex(&b));
            }
        }
    }
    for n in NUMBERS {
        if let Some(v) = snap.number(n) {
            println!("#{n} {v} {tuple}");
        }
    }
}

fn main() {
    let bytewise = std::env::args().any(|a| a == "--bytewise");
    let cfg = Arc::new(HttpConfig {
        inspect: true,
        ..HttpConfig::default()
    });
    let mut flow: Option<(HttpState, String)> = None;
    let mut out: Vec<AppOutput> = Vec::new();
    let drain = |flow: &Option<(HttpState, String)>, out: &mut Vec<AppOutput>| {
        let Some((_, tuple)) = flow.as_ref() else {
            return;
        };
        for o in out.drain(..) {
            if let Some(s) = o.inspect {
                dump(s.as_ref(), tuple);
            }
        }
    };
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let mut parts = line.split(' ');
        match parts.next() {
            Some("FLOW") => {
                if let Some((st, _)) = flow.as_mut() {
                    st.flush(&mut out);
                }
                drain(&flow, &mut out);
                let _ = parts.next();
                let tuple = parts.next().unwrap_or("").to_owned();
                flow = Some((HttpState::new(Arc::clone(&cfg)), tuple));
            }
            Some(gap @ ("GC" | "GS")) => {
                let n: u64 = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0);
                let dir = if gap == "GC" {
                    Direction::ToServer
                } else {
                    Direction::ToClient
                };
                if let Some((st, _)) = flow.as_mut() {
                    st.gap(dir, n, &mut out);
                }
                drain(&flow, &mut out);
            }
            Some(side @ ("C" | "S")) => {
                let data = unhex(parts.next().unwrap_or(""));
                let dir = if side == "C" {
                    Direction::ToServer
                } else {
                    Direction::ToClient
                };
                if let Some((st, _)) = flow.as_mut() {
                    if bytewise {
                        for b in data.chunks(1) {
                            let _ = st.parse(dir, b, &mut out);
                        }
                    } else {
                        let _ = st.parse(dir, &data, &mut out);
                    }
                }
                drain(&flow, &mut out);
            }
            _ => {}
        }
    }
    if let Some((st, _)) = flow.as_mut() {
        st.flush(&mut out);
    }
    drain(&flow, &mut out);
}
