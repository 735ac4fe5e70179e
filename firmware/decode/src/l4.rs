//! TCP, UDP, ICMP and ICMPv6 headers.

use types::Addr;

use crate::events::DecodeEvent as E;
use crate::{Packet, L4};

/// TCP flag bits as they appear in byte 13 of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
    /// URG.
    pub const URG: u8 = 0x20;
    /// ECE.
    pub const ECE: u8 = 0x40;
    /// CWR.
    pub const CWR: u8 = 0x80;

    /// True when every bit of `mask` is set.
    pub fn has(self, mask: u8) -> bool {
        self.0 & mask == mask
    }
    /// SYN set.
    pub fn syn(self) -> bool {
        self.has(Self::SYN)
    }
    /// ACK set.
    pub fn ack(self) -> bool {
        self.has(Self::ACK)
    }
    /// FIN set.
    pub fn fin(self) -> bool {
        self.has(Self::FIN)
    }
    /// RST set.
    pub fn rst(self) -> bool {
        self.has(Self::RST)
    }
}

/// TCP options the stream engine uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpOptions {
    /// Window scale shift (option 3).
    pub wscale: Option<u8>,
    /// SACK permitted (option 4).
    pub sack_permitted: bool,
    /// Number of SACK blocks (option 5).
    pub sack_blocks: u8,
    /// Timestamps value and echo reply (option 8).
    pub timestamp: Option<(u32, u32)>,
    /// Maximum segment size (option 2).
    pub mss: Option<u16>,
    /// TCP Fast Open cookie present (option 34).
    pub tfo: bool,
}

/// A decoded TCP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tcp {
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Header length in bytes.
    pub hlen: u8,
    /// Flags.
    pub flags: TcpFlags,
    /// Window (unscaled).
    pub window: u16,
    /// Urgent pointer.
    pub urg_ptr: u16,
    /// Parsed options.
    pub opts: TcpOptions,
}

/// A decoded UDP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Udp {
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Length field.
    pub len: u16,
}

/// A decoded ICMP / ICMPv6 header, with the tuple of the packet embedded in an error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Icmp {
    /// Type.
    pub kind: u8,
    /// Code.
    pub code: u8,
    /// True for ICMPv6.
    pub v6: bool,
    /// Echo id (echo request/reply only).
    pub id: Option<u16>,
    /// Echo sequence (echo request/reply only).
    pub seq: Option<u16>,
    /// For error messages: (src, sport, dst, dport, proto) of the offending packet.
    pub embedded: Option<(Addr, u16, Addr, u16, u8)>,
}

impl Icmp {
    /// True for error messages (destination unreachable, time exceeded, …).
    pub fn is_error(&self) -> bool {
        if self.v6 {
            self.kind < 128
        } else {
            matches!(self.kind, 3 | 4 | 5 | 11 | 12)
        }
    }
}

pub(crate) fn decode_tcp(p: &mut Packet<'_>, start: usize, end: usize) {
    let d = p.data;
    let len = end.saturating_sub(start);
    let Some(h) = d.get(start..start + 20).filter(|_| len >= 20) else {
        p.event(E("tcp.pkt_too_small"));
        return;
    };
    let hlen = usize::from(h[12] >> 4) * 4;
    if hlen < 20 {
        p.event(E("tcp.hlen_too_small"));
        return;
    }
    if hlen > len {
        p.event(E("tcp.pkt_too_small"));
        return;
    }
    let mut t = Tcp {
        sport: u16::from_be_bytes([h[0], h[1]]),
        dport: u16::from_be_bytes([h[2], h[3]]),
        seq: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
        ack: u32::from_be_bytes([h[8], h[9], h[10], h[11]]),
        hlen: (hlen & 0xff) as u8,
        flags: TcpFlags(h[13]),
        window: u16::from_be_bytes([h[14], h[15]]),
        urg_ptr: u16::from_be_bytes([h[18], h[19]]),
        opts: TcpOptions::default(),
    };
    if hlen > 20 {
        parse_tcp_options(
            p,
            d.get(start + 20..start + hlen).unwrap_or_default(),
            &mut t.opts,
        );
    }
    p.sport = t.sport;
    p.dport = t.dport;
    p.l4 = L4::Tcp(t);
    p.payload_offset = start + hlen;
    p.payload_len = len - hlen;
}

fn parse_tcp_options(p: &mut Packet<'_>, mut o: &[u8], out: &mut TcpOptions) {
    let mut seen = 0u64;
    while let Some((&kind, rest)) = o.split_first() {
        match kind {
            0 => return,
            1 => {
                o = rest;
                continue;
            }
            _ => {}
        }
        let Some(&l) = rest.first() else {
            p.event(E("tcp.invalid_optlen"));
            return;
        };
        let l = usize::from(l);
        if l < 2 || l > o.len() {
            p.event(E("tcp.invalid_optlen"));
            return;
        }
        let v = o.get(2..l).unwrap_or_default();
        if kind < 64 {
            if seen & (1 << kind) != 0 {
                p.event(E("tcp.opt_duplicate"));
            }
            seen |= 1 << kind;
        }
        match kind {
            2 if l == 4 => out.mss = Some(u16::from_be_bytes([v[0], v[1]])),
            3 if l == 3 => out.wscale = Some(v[0]),
            4 if l == 2 => out.sack_permitted = true,
            // An empty SACK (length 2) is accepted, as Suricata 7 does (suricata-verify
            // `tcp-empty-sack`).
            5 if l == 2 || (l >= 10 && (l - 2) % 8 == 0) => {
                out.sack_blocks = ((l - 2) / 8).min(255) as u8
            }
            8 if l == 10 => {
                out.timestamp = Some((
                    u32::from_be_bytes([v[0], v[1], v[2], v[3]]),
                    u32::from_be_bytes([v[4], v[5], v[6], v[7]]),
                ))
            }
            // Fast Open: option 34, or the experimental option 254 with magic 0xF989.
            34 => out.tfo = true,
            254 if v.starts_with(&[0xf9, 0x89]) => out.tfo = true,
            2 | 3 | 4 | 5 | 8 => p.event(E("tcp.opt_invalid_len")),
            _ => {}
        }
        o = o.get(l..).unwrap_or_default();
    }
}

pub(crate) fn decode_udp(p: &mut Packet<'_>, start: usize, end: usize) {
    let len = end.saturating_sub(start);
    let Some(h) = p.data.get(start..start + 8).filter(|_| len >= 8) else {
        p.event(E("udp.hlen_too_small"));
        return;
    };
    let ulen = usize::from(u16::from_be_bytes([h[4], h[5]]));
    if len < ulen {
        p.event(E("udp.pkt_too_small"));
        return;
    }
    if ulen < 8 || len != ulen {
        p.event(E("udp.len_invalid"));
        return;
    }
    let u = Udp {
        sport: u16::from_be_bytes([h[0], h[1]]),
        dport: u16::from_be_bytes([h[2], h[3]]),
        len: (ulen & 0xffff) as u16,
    };
    p.sport = u.sport;
    p.dport = u.dport;
    p.l4 = L4::Udp(u);
    p.payload_offset = start + 8;
    p.payload_len = ulen - 8;
}

/// Highest valid code per ICMPv4 type (None: type unknown to Suricata).
fn icmpv4_max_code(t: u8) -> Option<u8> {
    Some(match t {
        0 | 8 | 13 | 14 | 15 | 16 | 17 | 18 => 0,
        3 => 15,
        4 => 0,
        5 => 3,
        9 => 16,
        10 => 0,
        11 => 1,
        12 => 2,
        _ => return None,
    })
}

pub(crate) fn decode_icmp(p: &mut Packet<'_>, start: usize, end: usize, v6: bool) {
    let d = p.data;
    let len = end.saturating_sub(start);
    let min = if v6 { 4 } else { 8 };
    let Some(h) = d.get(start..start + min).filter(|_| len >= min) else {
        p.event(E(if v6 {
            "icmpv6.pkt_too_small"
        } else {
            "icmpv4.pkt_too_small"
        }));
        return;
    };
    let kind = h[0];
    let code = h[1];
    let mut ic = Icmp {
        kind,
        code,
        v6,
        id: None,
        seq: None,
        embedded: None,
    };
    let echo = if v6 {
        matches!(kind, 128 | 129)
    } else {
        matches!(kind, 0 | 8)
    };
    if echo {
        if let Some(e) = d.get(start + 4..start + 8) {
            ic.id = Some(u16::from_be_bytes([e[0], e[1]]));
            ic.seq = Some(u16::from_be_bytes([e[2], e[3]]));
        }
    }
    if v6 {
        match kind {
            1..=4 => {
                if len < 8 + 40 {
                    p.event(E("icmpv6.ipv6_trunc_pkt"));
                } else if let Some(inner) = d.get(start + 8..end) {
                    if inner[0] >> 4 != 6 {
                        p.event(E("icmpv6.ipv6_unknown_version"));
                    } else {
                        ic.embedded = embedded_v6(inner);
                    }
                }
            }
            128..=161 => {}
            100 | 101 | 200 | 201 => p.event(E("icmpv6.experimentation_type")),
            _ => p.event(E("icmpv6.unassigned_type")),
        }
        if matches!(kind, 130..=132 | 143) {
            if let crate::L3::V6 { hlim, .. } = p.l3 {
                if hlim != 1 {
                    p.event(E("icmpv6.mld_message_with_invalid_hl"));
                }
            }
        }
    } else {
        match icmpv4_max_code(kind) {
            None => p.event(E("icmpv4.unknown_type")),
            Some(max) if code > max => p.event(E("icmpv4.unknown_code")),
            _ => {}
        }
        if ic.is_error() {
            match d.get(start + 8..end) {
                Some(inner) if inner.len() >= 20 => {
                    if inner[0] >> 4 != 4 {
                        p.event(E("icmpv4.ipv4_unknown_ver"));
                    } else {
                        ic.embedded = embedded_v4(inner);
                    }
                }
                _ => p.event(E("icmpv4.ipv4_trunc_pkt")),
            }
        }
    }
    p.sport = u16::from(kind);
    p.dport = u16::from(code);
    p.l4 = L4::Icmp(ic);
    p.payload_offset = start + min;
    p.payload_len = len - min;
}

fn ports(b: Option<&[u8]>) -> (u16, u16) {
    match b {
        Some(x) if x.len() >= 4 => (
            u16::from_be_bytes([x[0], x[1]]),
            u16::from_be_bytes([x[2], x[3]]),
        ),
        _ => (0, 0),
    }
}

fn embedded_v4(inner: &[u8]) -> Option<(Addr, u16, Addr, u16, u8)> {
    let hl = usize::from(inner.first()? & 0x0f) * 4;
    let src = Addr::v4(inner.get(12..16)?.try_into().ok()?);
    let dst = Addr::v4(inner.get(16..20)?.try_into().ok()?);
    let proto = *inner.get(9)?;
    let (sp, dp) = if matches!(proto, 6 | 17) {
        ports(inner.get(hl..hl + 4))
    } else {
        (0, 0)
    };
    Some((src, sp, dst, dp, proto))
}

fn embedded_v6(inner: &[u8]) -> Option<(Addr, u16, Addr, u16, u8)> {
    let src = Addr::v6(inner.get(8..24)?.try_into().ok()?);
    let dst = Addr::v6(inner.get(24..40)?.try_into().ok()?);
    let proto = *inner.get(6)?;
    let (sp, dp) = if matches!(proto, 6 | 17) {
        ports(inner.get(40..44))
    } else {
        (0, 0)
    };
    Some((src, sp, dst, dp, proto))
}

#[cfg(test)]
mod tests {
    use crate::*;

    fn ipv4(proto: u8, payload: &[u8]) -> Vec<u8> {
        let total = 20 + payload.len();
        let mut v = vec![
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            1,
            0,
            0,
            64,
            proto,
            0,
            0,
            10,
            0,
            0,
            1,
            10,
            0,
            0,
            2,
        ];
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn tcp_with_options() {
        let mut t = vec![
            0x04, 0xd2, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x80, 0x02, 0xff, 0xff, 0, 0, 0, 0,
        ];
        // MSS 1460, NOP, WS 7, SACK-OK, TS, pad.
        t.extend_from_slice(&[
            2, 4, 0x05, 0xb4, 1, 3, 3, 7, 4, 2, 8, 10, 0, 0, 0, 9, 0, 0, 0, 0,
        ]);
        t.extend_from_slice(b"hi");
        // Fix data offset: 40 bytes -> 10 words.
        t[12] = 0xa0;
        let v = ipv4(6, &t);
        let p = decode(101, &v, &DecodeConfig::default());
        let tcp = p.tcp().unwrap();
        assert_eq!(tcp.opts.mss, Some(1460));
        assert_eq!(tcp.opts.wscale, Some(7));
        assert!(tcp.opts.sack_permitted);
        assert_eq!(tcp.opts.timestamp, Some((9, 0)));
        assert!(tcp.flags.syn());
        assert_eq!(p.payload(), b"hi");
        assert!(p.events.is_empty());
    }

    #[test]
    fn empty_sack_is_valid_and_odd_sack_is_not() {
        let with_opts = |opts: &[u8]| {
            let mut t = vec![
                0x04, 0xd2, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 0x10, 0xff, 0xff, 0, 0, 0, 0,
            ];
            t.extend_from_slice(opts);
            decode(101, &ipv4(6, &t), &DecodeConfig::default())
                .events
                .contains("tcp.opt_invalid_len")
        };
        // SACK of length 2 (no blocks), NOP, NOP.
        assert!(!with_opts(&[5, 2, 1, 1]));
        // SACK of length 3: not a whole number of blocks.
        assert!(with_opts(&[5, 3, 0, 1]));
    }

    #[test]
    fn tcp_bad_header_lengths() {
        let mut t = vec![0u8; 20];
        t[12] = 0x40;
        assert!(decode(101, &ipv4(6, &t), &DecodeConfig::default())
            .events
            .contains("tcp.hlen_too_small"));
        t[12] = 0xf0;
        assert!(decode(101, &ipv4(6, &t), &DecodeConfig::default())
            .events
            .contains("tcp.pkt_too_small"));
        assert!(decode(101, &ipv4(6, &[0u8; 10]), &DecodeConfig::default())
            .events
            .contains("tcp.pkt_too_small"));
    }

    #[test]
    fn udp_length_checks() {
        let u = [0, 1, 0, 2, 0, 20, 0, 0, 1, 2];
        assert!(decode(101, &ipv4(17, &u), &DecodeConfig::default())
            .events
            .contains("udp.pkt_too_small"));
        let u = [0, 1, 0, 2, 0, 9, 0, 0, 1, 2];
        assert!(decode(101, &ipv4(17, &u), &DecodeConfig::default())
            .events
            .contains("udp.len_invalid"));
    }

    #[test]
    fn icmp_error_embeds_tuple() {
        let inner = ipv4(17, &[0x30, 0x39, 0x00, 0x35, 0, 8, 0, 0]);
        let mut ic = vec![3, 3, 0, 0, 0, 0, 0, 0];
        ic.extend_from_slice(&inner);
        let pkt = ipv4(1, &ic);
        let p = decode(101, &pkt, &DecodeConfig::default());
        let i = p.icmp().unwrap();
        assert!(i.is_error());
        let (_, sp, _, dp, pr) = i.embedded.unwrap();
        assert_eq!((sp, dp, pr), (12345, 53, 17));
        assert!(decode(
            101,
            &ipv4(1, &[99, 0, 0, 0, 0, 0, 0, 0]),
            &DecodeConfig::default()
        )
        .events
        .contains("icmpv4.unknown_type"));
    }
}
