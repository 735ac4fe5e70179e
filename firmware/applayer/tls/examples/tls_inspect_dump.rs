//! Developer tool: replays TCP flows through the TLS parser with `inspect` (and JA3) on and
//! prints every detection buffer of every snapshot, to compare with what Suricata's rules see.
//!
//! Input lines: `FLOW tcp <client>:<port>-<server>:<port>` starts a flow; `C <hex>` / `S <hex>`
//! is one chunk of client / server data; `GC <n>` / `GS <n>` a gap of `n` bytes. Output
//! lines: `<buffer> <S|C> <tuple> <hex>` and
//! `#<number>[.<S|C>] <value> <tuple>`.

use std::io::BufRead;

use applayer_tls::inspect::BUFFERS;
use applayer_tls::{TlsConfig, TlsState};
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
    for (dir, d) in [(Direction::ToServer, "S"), (Direction::ToClient, "C")] {
        for name in BUFFERS {
            for i in 0..64 {
                let Some(b) = snap.buffer(name, dir, i) else {
                    break;
                };
                println!("{name} {d} {tuple} {}", hex(&b));
            }
        }
        for n in ["tls.version", "ssl_version", "tls.cert_chain_len"] {
            if let Some(v) = snap.number_dir(n, dir) {
                println!("#{n}.{d} {v} {tuple}");
            }
        }
    }
    for n in ["ssl_state", "ssl_state.current"] {
        if let Some(v) = snap.number(n) {
            println!("#{n} {v} {tuple}");
        }
    }
}

fn main() {
    let bytewise = std::env::args().any(|a| a == "--bytewise");
    let cfg = TlsConfig {
        ja3: true,
        inspect: true,
        ..TlsConfig::default()
    };
    let mut flow: Option<(TlsState, String)> = None;
    let mut out: Vec<AppOutput> = Vec::new();
    let drain = |flow: &mut Option<(TlsState, String)>, out: &mut Vec<AppOutput>| {
        let Some((st, tuple)) = flow.as_mut() else {
            return;
        };
        for o in out.drain(..) {
            if let Some(s) = o.inspect {
                dump(s.as_ref(), tuple);
            }
        }
        if let Some(s) = st.take_unlogged_inspect() {
            dump(s.as_ref(), tuple);
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
                drain(&mut flow, &mut out);
                let _ = parts.next();
                let tuple = parts.next().unwrap_or("").to_owned();
                flow = Some((TlsState::new(&cfg), tuple));
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
                drain(&mut flow, &mut out);
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
                drain(&mut flow, &mut out);
            }
            _ => {}
        }
    }
    if let Some((st, _)) = flow.as_mut() {
        st.flush(&mut out);
    }
    drain(&mut flow, &mut out);
}
