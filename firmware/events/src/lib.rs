//! The event model: Suricata-7-compatible EVE records and the JSON-lines writer.
//!
//! Layer: above `types`, below every producer of events. The field names and shapes here are a
//! public interface: SOC tooling reads them, and `../shared/corpus/eve-schema` validates them.
//! We add fields and event types of our own; we never rename Suricata's.
//!
//! An [`Event`] is a common header (time, flow id, 5-tuple oriented the way Suricata orients it
//! for that event type) plus a typed [`Body`]. [`Event::write_json`] renders one EVE line with the
//! header keys in Suricata's order; bodies are serialised with serde.
#![forbid(unsafe_code)]

pub mod alert;
pub mod anomaly;
pub mod app;
pub mod dns;
pub mod fileinfo;
pub mod flow;
pub mod http;
pub mod inspect;
pub mod stats;
pub mod tls;

pub use app::AppOutput;

use serde::Serialize;
use types::{Addr, Direction, Timestamp};

/// The oriented 5-tuple printed in an event's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tuple {
    /// Source address.
    pub src: Addr,
    /// Source port (ICMP: type for the first packet, as Suricata prints).
    pub sport: u16,
    /// Destination address.
    pub dst: Addr,
    /// Destination port (ICMP: code).
    pub dport: u16,
    /// IP protocol number.
    pub proto: u8,
}

impl Tuple {
    /// The same tuple seen from the other side.
    #[must_use]
    pub fn reversed(self) -> Tuple {
        Tuple {
            src: self.dst,
            sport: self.dport,
            dst: self.src,
            dport: self.sport,
            proto: self.proto,
        }
    }
    /// True when the protocol carries ports in EVE (TCP, UDP, SCTP).
    pub fn has_ports(&self) -> bool {
        matches!(self.proto, 6 | 17 | 132)
    }
}

/// Where the packet that triggered an event came from (`pkt_src` in EVE).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PktSrc {
    /// A captured packet (`wire/pcap`).
    Wire,
    /// A reassembled IP datagram (`defrag`).
    Defrag,
    /// A pseudo packet flushing a flow at timeout (`stream (flow timeout)`).
    FlowTimeout,
    /// Decoded from inside a tunnel (`tunnel`).
    Tunnel,
}

impl PktSrc {
    /// The EVE spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PktSrc::Wire => "wire/pcap",
            PktSrc::Defrag => "defrag",
            PktSrc::FlowTimeout => "stream (flow timeout)",
            PktSrc::Tunnel => "tunnel",
        }
    }
}

/// The typed part of an event; the variant gives `event_type`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Body {
    /// `flow`: one record per finished flow.
    Flow(Box<flow::FlowEve>),
    /// `http`: one record per HTTP transaction.
    Http(Box<http::HttpEve>),
    /// `fileinfo`: one record per file (HTTP body) with the transaction that carried it.
    Fileinfo(Box<fileinfo::FileinfoEve>),
    /// `tls`: one record per TLS session handshake.
    Tls(Box<tls::TlsEve>),
    /// `dns`: one record per DNS query or answer.
    Dns(Box<dns::DnsEve>),
    /// `anomaly`: a decoder, stream or app-layer anomaly.
    Anomaly(anomaly::AnomalyEve),
    /// `stats`: counters.
    Stats(Box<stats::StatsEve>),
    /// `alert`: a signature matched.
    Alert(Box<alert::AlertEve>),
}

impl Body {
    /// The `event_type` string.
    pub fn event_type(&self) -> &'static str {
        match self {
            Body::Flow(_) => "flow",
            Body::Http(_) => "http",
            Body::Fileinfo(_) => "fileinfo",
            Body::Tls(_) => "tls",
            Body::Dns(_) => "dns",
            Body::Anomaly(_) => "anomaly",
            Body::Stats(_) => "stats",
            Body::Alert(_) => "alert",
        }
    }
}

/// One EVE record.
#[derive(Debug, Clone)]
pub struct Event {
    /// Time of the packet (or flow end) that produced the event.
    pub ts: Timestamp,
    /// Flow id shared by every event of one flow; 0 when the event has no flow.
    pub flow_id: u64,
    /// 1-based index of the packet in the input, when the event was triggered by one.
    pub pcap_cnt: Option<u64>,
    /// Oriented 5-tuple, absent for `stats`.
    pub tuple: Option<Tuple>,
    /// VLAN ids, outer first (0 entries are not printed).
    pub vlan: [u16; 2],
    /// `pkt_src`.
    pub pkt_src: Option<PktSrc>,
    /// `community_id`, when enabled.
    pub community_id: Option<String>,
    /// `tx_id` at the top level (http, fileinfo's transaction, app-layer anomalies).
    pub tx_id: Option<u64>,
    /// `app_proto`.
    pub app_proto: Option<&'static str>,
    /// `direction` (alerts).
    pub direction: Option<Direction>,
    /// The typed body.
    pub body: Body,
}

impl Event {
    /// A bare event with only a time and a body.
    pub fn new(ts: Timestamp, body: Body) -> Event {
        Event {
            ts,
            flow_id: 0,
            pcap_cnt: None,
            tuple: None,
            vlan: [0; 2],
            pkt_src: None,
            community_id: None,
            tx_id: None,
            app_proto: None,
            direction: None,
            body,
        }
    }

    /// Appends this event as one JSON line (with the trailing `\n`) to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"timestamp\":\"");
        self.ts.write_eve(out);
        out.push(b'"');
        if self.flow_id != 0 {
            out.extend_from_slice(b",\"flow_id\":");
            push_u64(out, self.flow_id);
        }
        if let Some(c) = self.pcap_cnt {
            out.extend_from_slice(b",\"pcap_cnt\":");
            push_u64(out, c);
        }
        out.extend_from_slice(b",\"event_type\":\"");
        out.extend_from_slice(self.body.event_type().as_bytes());
        out.push(b'"');
        if self.vlan[0] != 0 {
            out.extend_from_slice(b",\"vlan\":[");
            push_u64(out, u64::from(self.vlan[0]));
            if self.vlan[1] != 0 {
                out.push(b',');
                push_u64(out, u64::from(self.vlan[1]));
            }
            out.push(b']');
        }
        if let Some(t) = &self.tuple {
            use std::io::Write;
            let _ = write!(out, ",\"src_ip\":\"{}\"", t.src);
            if t.has_ports() {
                out.extend_from_slice(b",\"src_port\":");
                push_u64(out, u64::from(t.sport));
            }
            let _ = write!(out, ",\"dest_ip\":\"{}\"", t.dst);
            if t.has_ports() {
                out.extend_from_slice(b",\"dest_port\":");
                push_u64(out, u64::from(t.dport));
            }
            out.extend_from_slice(b",\"proto\":\"");
            out.extend_from_slice(types::ipproto::eve_name(t.proto).as_bytes());
            out.push(b'"');
            if matches!(t.proto, 1 | 58) {
                // Suricata prints ICMP type/code as icmp_type/icmp_code.
                out.extend_from_slice(b",\"icmp_type\":");
                push_u64(out, u64::from(t.sport));
                out.extend_from_slice(b",\"icmp_code\":");
                push_u64(out, u64::from(t.dport));
                if let Body::Flow(f) = &self.body {
                    if let Some((rt, rc)) = f.response_icmp {
                        out.extend_from_slice(b",\"response_icmp_type\":");
                        push_u64(out, u64::from(rt));
                        out.extend_from_slice(b",\"response_icmp_code\":");
                        push_u64(out, u64::from(rc));
                    }
                }
            }
        }
        if let Some(p) = self.pkt_src {
            out.extend_from_slice(b",\"pkt_src\":\"");
            out.extend_from_slice(p.as_str().as_bytes());
            out.push(b'"');
        }
        if let Some(c) = &self.community_id {
            out.extend_from_slice(b",\"community_id\":");
            json_str(out, c);
        }
        match &self.body {
            Body::Flow(f) => {
                if let Some(a) = self.app_proto {
                    field_str(out, "app_proto", a);
                }
                field(out, "flow", &f.flow);
                if let Some(tcp) = &f.tcp {
                    field(out, "tcp", tcp);
                }
            }
            Body::Http(h) => {
                self.write_tx_id(out);
                field(out, "http", h.as_ref());
                if let Some(b) = &h.base64 {
                    field(out, "base64", b);
                }
            }
            Body::Fileinfo(fi) => {
                if let Some(h) = &fi.http {
                    field(out, "http", h);
                }
                if let Some(a) = self.app_proto {
                    field_str(out, "app_proto", a);
                }
                field(out, "fileinfo", &fi.fileinfo);
            }
            Body::Tls(t) => field(out, "tls", t.as_ref()),
            Body::Dns(d) => field(out, "dns", d.as_ref()),
            Body::Anomaly(a) => {
                self.write_tx_id(out);
                field(out, "anomaly", a);
            }
            Body::Stats(s) => field(out, "stats", &s.stats),
            Body::Alert(a) => {
                if let Some(v) = &a.vars {
                    if let Some(t) = v.traffic() {
                        field(out, "traffic", &t);
                    }
                    if let Some(m) = v.metadata() {
                        field(out, "metadata", &m);
                    }
                }
                self.write_tx_id(out);
                field(out, "alert", &a.alert);
                if let Some(h) = &a.http {
                    field(out, "http", h);
                }
                if let Some(t) = &a.tls {
                    field(out, "tls", t);
                }
                if let Some(p) = self.app_proto {
                    field_str(out, "app_proto", p);
                }
                if let Some(d) = self.direction {
                    field_str(out, "direction", d.as_str());
                }
                if let Some(f) = &a.flow {
                    field(out, "flow", f);
                }
                if let Some(pl) = &a.payload {
                    if let Some(b) = &pl.base64 {
                        field_str(out, "payload", b);
                    }
                    if let Some(t) = &pl.printable {
                        field_str(out, "payload_printable", t);
                    }
                    if let Some(st) = pl.stream {
                        out.extend_from_slice(b",\"stream\":");
                        push_u64(out, u64::from(st));
                    }
                    if let Some((pk, lt)) = &pl.packet {
                        field_str(out, "packet", pk);
                        out.extend_from_slice(b",\"packet_info\":{\"linktype\":");
                        push_u64(out, u64::from(*lt));
                        out.push(b'}');
                    }
                }
                out.extend_from_slice(b"}\n");
                return;
            }
        }
        if let Some(d) = self.direction {
            field_str(out, "direction", d.as_str());
        }
        out.extend_from_slice(b"}\n");
    }

    fn write_tx_id(&self, out: &mut Vec<u8>) {
        if let Some(t) = self.tx_id {
            out.extend_from_slice(b",\"tx_id\":");
            push_u64(out, t);
        }
    }
}

fn push_u64(out: &mut Vec<u8>, v: u64) {
    let mut b = itoa_buf();
    out.extend_from_slice(fmt_u64(&mut b, v));
}

fn itoa_buf() -> [u8; 20] {
    [0; 20]
}

fn fmt_u64(buf: &mut [u8; 20], mut v: u64) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &buf[i..]
}

fn field<T: Serialize + ?Sized>(out: &mut Vec<u8>, name: &str, v: &T) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
    if serde_json::to_writer(&mut *out, v).is_err() {
        // Serialising our own plain structs cannot fail; keep the line valid JSON regardless.
        out.extend_from_slice(b"null");
    }
}

fn field_str(out: &mut Vec<u8>, name: &str, v: &str) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
    json_str(out, v);
}

fn json_str(out: &mut Vec<u8>, v: &str) {
    if serde_json::to_writer(&mut *out, v).is_err() {
        out.extend_from_slice(b"\"\"");
    }
}

/// Renders bytes from the wire as an EVE string the way Suricata's JSON builder does: valid
/// UTF-8 is kept as is; otherwise every byte >= 0x80 becomes `\xhh` (lowercase hex) and ASCII
/// is kept. JSON escaping of control characters happens when the string is serialised.
pub fn lossy_string(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_owned(),
        Err(_) => {
            use std::fmt::Write;
            let mut s = String::with_capacity(b.len() + 8);
            for &c in b {
                if c < 0x80 {
                    s.push(char::from(c));
                } else {
                    let _ = write!(s, "\\x{c:02x}");
                }
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_order_and_shape() {
        let ev = Event {
            ts: Timestamp::from_secs_nanos(1_468_449_727, 388_078_000),
            flow_id: 42,
            pcap_cnt: Some(6),
            tuple: Some(Tuple {
                src: Addr::v4([10, 16, 1, 11]),
                sport: 54186,
                dst: Addr::v4([82, 165, 177, 154]),
                dport: 80,
                proto: 6,
            }),
            vlan: [0; 2],
            pkt_src: Some(PktSrc::Wire),
            community_id: None,
            tx_id: Some(0),
            app_proto: None,
            direction: None,
            body: Body::Http(Box::new(http::HttpEve {
                hostname: Some("www.testmyids.com".into()),
                url: Some("/".into()),
                ..Default::default()
            })),
        };
        let mut out = Vec::new();
        ev.write_json(&mut out);
        let s = String::from_utf8(out).unwrap();
        assert_eq!(
            s,
            "{\"timestamp\":\"2016-07-13T22:42:07.388078+0000\",\"flow_id\":42,\"pcap_cnt\":6,\
             \"event_type\":\"http\",\"src_ip\":\"10.16.1.11\",\"src_port\":54186,\
             \"dest_ip\":\"82.165.177.154\",\"dest_port\":80,\"proto\":\"TCP\",\
             \"pkt_src\":\"wire/pcap\",\"tx_id\":0,\"http\":{\"hostname\":\"www.testmyids.com\",\
             \"url\":\"/\"}}\n"
        );
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["http"]["url"], "/");
    }

    #[test]
    fn lossy_escapes_invalid_bytes() {
        assert_eq!(lossy_string(b"ab\xffc"), "ab\\xffc");
        assert_eq!(lossy_string("é".as_bytes()), "é");
    }
}
