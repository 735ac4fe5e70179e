//! Developer tool: replays one TCP stream through the TLS parser and prints what it emits.
//!
//! Input format (one stream per file): an optional `# client server` line, then one line per
//! chunk in capture order, `C <hex>` for client-to-server data and `S <hex>` for
//! server-to-client data (what `tshark -z follow,tcp,raw` prints, re-labelled). Flags:
//! `--ja3`, `--ja4`, `--log-ja4`, `--basic` (not extended), `--bytewise` (feed one byte at a time), `--starttls` (per
//! direction, drop chunks until one probes as TLS, approximating a protocol upgrade).
//! Output: one JSON line per record: `{"tls":{…}}` or `{"anomaly":{…}}`.

use std::io::Read as _;

use applayer_tls::{TlsConfig, TlsState};
use events::app::StreamParser;
use events::Body;
use types::Direction;

fn unhex(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    b.chunks_exact(2)
        .filter_map(|p| std::str::from_utf8(p).ok())
        .filter_map(|p| u8::from_str_radix(p, 16).ok())
        .collect()
}

fn main() {
    let mut cfg = TlsConfig::default();
    let mut bytewise = false;
    let mut starttls = false;
    let mut started = [false; 2];
    let mut path = None;
    for a in std::env::args().skip(1) {
        match a.as_str() {
            "--ja3" => cfg.ja3 = true,
            "--ja4" => cfg.ja4 = true,
            "--log-ja4" => cfg.log_ja4 = true,
            "--bytewise" => bytewise = true,
            "--starttls" => starttls = true,
            "--basic" => cfg.extended = false,
            _ => path = Some(a),
        }
    }
    let mut text = String::new();
    match path {
        Some(p) => text = std::fs::read_to_string(p).unwrap_or_default(),
        None => {
            let _ = std::io::stdin().read_to_string(&mut text);
        }
    }
    let mut st = TlsState::new(&cfg);
    let mut out = Vec::new();
    for line in text.lines() {
        let (dir, hex) = match line.split_once(' ') {
            Some(("C", h)) => (Direction::ToServer, h),
            Some(("S", h)) => (Direction::ToClient, h),
            _ => continue,
        };
        let data = unhex(hex.trim());
        if starttls && !started[dir.idx()] {
            if applayer_tls::probe(dir, &data) != events::app::Probe::Match {
                continue;
            }
            started[dir.idx()] = true;
        }
        if bytewise {
            for b in data.chunks(1) {
                st.parse(dir, b, &mut out);
            }
        } else {
            st.parse(dir, &data, &mut out);
        }
    }
    st.flush(&mut out);
    for o in out {
        let line = match &o.body {
            Body::Tls(t) => serde_json::json!({ "tls": t }),
            Body::Anomaly(a) => serde_json::json!({ "anomaly": a, "dir": o.dir.as_str() }),
            _ => continue,
        };
        println!("{line}");
    }
}
