//! DNS over UDP and TCP: protocol probes, message parsing, per-flow transactions, and EVE
//! `dns` records exactly as Suricata 7.0.10 prints them with its default configuration
//! (version 2, queries and answers, formats `detailed` + `grouped`).
//!
//! Layer: an app-layer parser, called by the pipeline with the payloads of flows on the DNS
//! ports. It owns the DNS wire format ([`wire`]), the flow state ([`DnsUdp`], [`DnsTcp`]), the
//! EVE rendering and the DNS app-layer events ([`DnsEvent`]). It does not know about packets,
//! times or addresses: it returns [`AppOutput`](events::app::AppOutput)s and the pipeline wraps
//! them into events.
//!
//! # Contract with the pipeline
//! - Probe with [`probe_udp`] / [`probe_tcp`] (Suricata's probing parser; the opcode is not
//!   checked). [`probe_udp_dir`] / [`probe_tcp_dir`] also say which way the message claims to
//!   travel (requests to the server): Suricata swaps a UDP flow (and a midstream TCP flow) when
//!   the first message of a direction claims the other direction.
//! - UDP: one [`DnsUdp::parse_datagram`] per datagram; TCP: [`DnsTcp`] through
//!   [`StreamParser`](events::app::StreamParser), in any segmentation.
//! - `dns` outputs have `dir: ToServer` (Suricata orients them like the flow: the client is
//!   `src_ip` for queries *and* answers) and `tx_id: Some(n)`; Suricata prints no top-level
//!   `tx_id` on `dns` records (the query's `dns.tx_id` carries it).
//! - With [`DnsConfig::inspect`], each transaction (one message) moves into a
//!   [`DnsTxBuffers`] snapshot (`dns.query`, `dns.opcode`, see [`inspect`]) carried by its
//!   first `dns` output; a transaction that logs no record leaves its snapshot for
//!   [`DnsUdp::take_unlogged_inspect`] / [`DnsTcp::take_unlogged_inspect`], to be taken after
//!   each call.
//! - `anomaly` outputs (app-layer events) carry the transaction id and are oriented like the
//!   packet that made Suricata parse the data: the data's direction for UDP, the opposite one
//!   for TCP (Suricata parses TCP data when the peer acknowledges it).
//!
//! # Caps
//! All in [`caps`]: name length 1025 and 255 labels-or-pointers per name (Suricata's, raising
//! `name_too_long` / `too_many_labels`, with self-pointers raising `infinite_loop`), 4096
//! records per message, 64 transactions retained for detection (and, in inspect mode, 64
//! unlogged snapshots per call), one TCP frame (65537 bytes) buffered per direction.
//!
//! # Never
//! This crate never panics, indexes unchecked or does unchecked arithmetic on wire data, never
//! loops without a bound (compression loops end at the step cap), and never grows a buffer
//! beyond one TCP frame. A malformed message is an event or a silent drop (as in Suricata),
//! never a reason to stop watching a UDP flow.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod caps;
mod config;
mod event;
pub mod inspect;
mod log;
mod names;
mod state;
pub mod wire;

pub use config::DnsConfig;
pub use event::DnsEvent;
pub use inspect::DnsTxBuffers;
pub use names::{rcode_name, rrtype_name};
pub use state::{DnsTcp, DnsTransaction, DnsUdp};
pub use wire::{
    parse_request, parse_response, DnsHeader, DnsMessage, DnsName, DnsQuestion, DnsRecord,
    NameFlags, ParseError, RData,
};

use events::app::Probe;
use types::Direction;
use wire::{probe_message, Verdict};

/// The `app_proto` name.
pub const APP_PROTO: &str = "dns";

/// Suricata's DNS-over-TCP probe on the unconsumed bytes of a direction (no minimum length).
pub(crate) fn tcp_verdict(data: &[u8]) -> Verdict {
    match data.split_first_chunk::<2>() {
        Some((prefix, rest)) => probe_message(rest, usize::from(u16::from_be_bytes(*prefix))),
        None => Verdict::Incomplete,
    }
}

fn verdict_dir(v: Verdict) -> Option<Direction> {
    match v {
        Verdict::Dns(true) => Some(Direction::ToServer),
        Verdict::Dns(false) => Some(Direction::ToClient),
        _ => None,
    }
}

fn udp_verdict(data: &[u8]) -> Verdict {
    if data.len() < wire::HEADER_LEN {
        return Verdict::NotDns;
    }
    match probe_message(data, data.len()) {
        // A whole datagram is never "too short to tell".
        Verdict::Incomplete => Verdict::NotDns,
        v => v,
    }
}

fn tcp_probe_verdict(data: &[u8]) -> Verdict {
    // Suricata waits for a length prefix and a full header before probing.
    if data.len() < 2 + wire::HEADER_LEN {
        return Verdict::Incomplete;
    }
    tcp_verdict(data)
}

/// Is this UDP payload DNS? (Suricata: at least a header, plausible record counts, header and
/// questions parse, running out of bytes tolerated.)
pub fn probe_udp(data: &[u8]) -> Probe {
    state::to_probe(udp_verdict(data))
}

/// Are these first bytes of a TCP direction DNS? `NeedMore` until a length prefix and a header
/// have arrived (and for as long as the announced length is shorter than a header).
pub fn probe_tcp(data: &[u8]) -> Probe {
    state::to_probe(tcp_probe_verdict(data))
}

/// [`probe_udp`], plus the direction the message claims: `ToServer` for a request (QR clear),
/// `ToClient` for a response.
pub fn probe_udp_dir(data: &[u8]) -> (Probe, Option<Direction>) {
    let v = udp_verdict(data);
    (state::to_probe(v), verdict_dir(v))
}

/// [`probe_tcp`], plus the direction the first message claims.
pub fn probe_tcp_dir(data: &[u8]) -> (Probe, Option<Direction>) {
    let v = tcp_probe_verdict(data);
    (state::to_probe(v), verdict_dir(v))
}

/// Entry points for fuzzers (`firmware/fuzz/`) and the in-crate fuzz test. Not an API.
#[doc(hidden)]
pub mod fuzzing {
    use events::app::{AppOutput, StreamParser};
    use events::Event;
    use types::{Direction, Timestamp};

    use crate::{DnsConfig, DnsTcp, DnsUdp};

    /// A tiny deterministic PRNG (xorshift64*), so split points come from the input itself.
    #[derive(Debug)]
    pub struct XorShift(u64);

    impl XorShift {
        /// Seeded generator (a zero seed is replaced).
        pub fn new(seed: u64) -> XorShift {
            XorShift(if seed == 0 {
                0x9e37_79b9_7f4a_7c15
            } else {
                seed
            })
        }
        /// Next value.
        pub fn next_u64(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            x.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        /// A value in `0..n` (0 when `n` is 0).
        pub fn below(&mut self, n: usize) -> usize {
            if n == 0 {
                return 0;
            }
            usize::try_from(self.next_u64() % u64::try_from(n).unwrap_or(u64::MAX)).unwrap_or(0)
        }
    }

    /// Reads every buffer and number of a snapshot.
    fn exercise(s: &dyn events::inspect::TxBuffers) {
        for dir in [Direction::ToServer, Direction::ToClient] {
            for name in crate::inspect::BUFFERS {
                for i in 0..8 {
                    let _ = s.buffer(name, dir, i);
                }
            }
            let _ = s.complete(dir);
        }
        for n in crate::inspect::NUMBERS {
            let _ = s.number(n);
        }
    }

    fn render(out: &[AppOutput]) {
        let mut line = Vec::new();
        for o in out {
            if let Some(s) = o.inspect.as_deref() {
                exercise(s);
            }
            let ev = Event::new(Timestamp::from_secs_nanos(0, 0), o.body.clone());
            ev.write_json(&mut line);
            line.clear();
        }
    }

    fn dir_of(bit: u64) -> Direction {
        if bit & 1 == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        }
    }

    /// Drives every entry point with `data`: byte 0 seeds the choices (split points,
    /// directions, gaps), the rest is the payload. Probes and both message parsers see the
    /// payload whole; the UDP state sees it cut into datagrams; the TCP state sees it raw and
    /// as a length-prefixed frame, in random slices and directions, with occasional gaps.
    pub fn fuzz_dns(data: &[u8]) {
        let _ = fuzz_dns_outputs(data);
    }

    /// [`fuzz_dns`], returning how many outputs were produced (for coverage checks).
    pub fn fuzz_dns_outputs(data: &[u8]) -> usize {
        let Some((&ctl, payload)) = data.split_first() else {
            return 0;
        };
        let mut rng =
            XorShift::new(u64::from(ctl) << 32 | u64::try_from(payload.len()).unwrap_or(0));
        let cfg = DnsConfig {
            grouped: ctl & 0x80 == 0,
            inspect: ctl & 0x08 != 0,
            ..DnsConfig::default()
        };
        let _ = crate::probe_udp_dir(payload);
        let _ = crate::probe_tcp_dir(payload);
        let _ = crate::parse_request(payload, 64);
        let _ = crate::parse_response(payload, 64);
        let mut out = Vec::new();

        // UDP: the payload whole in both directions, then cut into a few datagrams.
        let mut udp = DnsUdp::new(&cfg);
        udp.parse_datagram(Direction::ToServer, payload, &mut out);
        udp.parse_datagram(Direction::ToClient, payload, &mut out);
        let mut rest = payload;
        while !rest.is_empty() {
            let n = 1 + rng.below(rest.len());
            let (a, b) = rest.split_at(n.min(rest.len()));
            udp.parse_datagram(dir_of(rng.next_u64()), a, &mut out);
            rest = b;
        }
        udp.flush(&mut out);
        for s in udp.take_unlogged_inspect() {
            exercise(s.as_ref());
        }

        // TCP: raw stream, then the payload as one frame, in random slices.
        let mut framed = Vec::with_capacity(payload.len() + 2);
        let len = u16::try_from(payload.len()).unwrap_or(u16::MAX);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(payload);
        for stream in [payload, framed.as_slice()] {
            let mut tcp = DnsTcp::new(&cfg);
            let fixed_dir = dir_of(u64::from(ctl >> 1));
            let mut rest = stream;
            while !rest.is_empty() {
                let n = 1 + rng.below(rest.len().min(64));
                let (a, b) = rest.split_at(n.min(rest.len()));
                let r = rng.next_u64();
                let dir = if ctl & 4 == 0 { fixed_dir } else { dir_of(r) };
                if r.is_multiple_of(29) {
                    tcp.gap(dir, 1 + r % 7, &mut out);
                }
                let _ = tcp.parse(dir, a, &mut out);
                for s in tcp.take_unlogged_inspect() {
                    exercise(s.as_ref());
                }
                rest = b;
            }
            tcp.eof(Direction::ToServer, &mut out);
            tcp.flush(&mut out);
        }
        render(&out);
        out.len()
    }
}

#[cfg(test)]
mod inspect_tests;
#[cfg(test)]
mod tests;
