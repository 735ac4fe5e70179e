//! Link layers: Ethernet with VLAN/QinQ/802.1ah, MPLS, PPPoE, PPP, Linux cooked v1/v2, BSD
//! loopback, Cisco HDLC, NFLOG, raw IP.

use crate::events::DecodeEvent as E;
use crate::{l3, DecodeConfig, Packet, MAX_MPLS_LABELS, MAX_VLAN_LAYERS};

pub(crate) const ETH_IPV4: u16 = 0x0800;
pub(crate) const ETH_IPV6: u16 = 0x86dd;
const ETH_VLAN: u16 = 0x8100;
const ETH_QINQ: u16 = 0x88a8;
const ETH_QINQ_OLD: u16 = 0x9100;
const ETH_8021AH: u16 = 0x88e7;
const ETH_MPLS_UC: u16 = 0x8847;
const ETH_MPLS_MC: u16 = 0x8848;
const ETH_PPPOE_DISC: u16 = 0x8863;
const ETH_PPPOE_SESS: u16 = 0x8864;
const ETH_VNTAG: u16 = 0x8926;
const ETH_FABRICPATH: u16 = 0x8903;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

pub(crate) fn decode_link(p: &mut Packet<'_>, lt: u32, cfg: &DecodeConfig) {
    match lt {
        1 => decode_ethernet(p, 0, cfg),
        // Raw IP in its several numberings.
        12 | 14 | 101 => {
            if p.data.is_empty() {
                p.event(E("ipraw.invalid_ip_version"));
            } else {
                l3::decode_ip(p, 0, cfg, false)
            }
        }
        228 | 229 => l3::decode_ip(p, 0, cfg, false),
        0 | 108 => decode_null(p, lt == 108, cfg),
        9 => decode_ppp(p, 0, cfg),
        104 => decode_chdlc(p, cfg),
        113 => decode_sll(p, cfg),
        276 => decode_sll2(p, cfg),
        239 => decode_nflog(p, cfg),
        _ => {}
    }
}

/// Ethernet II starting at `off`.
pub(crate) fn decode_ethernet(p: &mut Packet<'_>, off: usize, cfg: &DecodeConfig) {
    let Some(ethertype) = be16(p.data, off + 12) else {
        p.event(E("ethernet.pkt_too_small"));
        return;
    };
    decode_ethertype(p, ethertype, off + 14, cfg);
}

/// Dispatches on an ethertype whose payload starts at `off`, handling VLAN stacks.
fn decode_ethertype(p: &mut Packet<'_>, mut ethertype: u16, mut off: usize, cfg: &DecodeConfig) {
    let mut vlans = 0usize;
    loop {
        match ethertype {
            ETH_VLAN | ETH_QINQ | ETH_QINQ_OLD => {
                let (Some(tci), Some(next)) = (be16(p.data, off), be16(p.data, off + 2)) else {
                    p.event(E("vlan.header_too_small"));
                    return;
                };
                if vlans >= MAX_VLAN_LAYERS {
                    p.event(E("vlan.too_many_layers"));
                    return;
                }
                if vlans < 2 {
                    p.vlan[vlans] = tci & 0x0fff;
                }
                vlans += 1;
                ethertype = next;
                off += 4;
            }
            ETH_8021AH => {
                // I-TAG (4 bytes of TCI) then the customer's MAC addresses and ethertype.
                if p.data.len() < off + 18 {
                    p.event(E("ieee8021ah.header_too_small"));
                    return;
                }
                match be16(p.data, off + 16) {
                    Some(t) => {
                        ethertype = t;
                        off += 18;
                    }
                    None => return,
                }
            }
            ETH_FABRICPATH => {
                // Cisco FabricPath: FTag/TTL, then the classical Ethernet frame.
                if p.data.len() < off + 2 + 14 {
                    p.event(E("ethernet.pkt_too_small"));
                    return;
                }
                return decode_ethernet(p, off + 2, cfg);
            }
            ETH_VNTAG => {
                let Some(next) = be16(p.data, off + 4) else {
                    return;
                };
                ethertype = next;
                off += 6;
            }
            _ => break,
        }
    }
    match ethertype {
        ETH_IPV4 | ETH_IPV6 => l3::decode_ip(p, off, cfg, false),
        ETH_MPLS_UC | ETH_MPLS_MC => decode_mpls(p, off, cfg),
        ETH_PPPOE_SESS => decode_pppoe_session(p, off, cfg),
        ETH_PPPOE_DISC if p.data.len() < off + 6 => {
            p.event(E("pppoe.pkt_too_small"));
        }
        _ => {}
    }
}

/// MPLS label stack; the payload after the bottom label is guessed from its first nibble as
/// routers do (4 = IPv4, 6 = IPv6, 0 = pseudowire control word with Ethernet).
fn decode_mpls(p: &mut Packet<'_>, mut off: usize, cfg: &DecodeConfig) {
    for _ in 0..MAX_MPLS_LABELS {
        let Some(b) = p.data.get(off..off + 4) else {
            p.event(E("mpls.header_too_small"));
            return;
        };
        let label = (u32::from(b[0]) << 12) | (u32::from(b[1]) << 4) | (u32::from(b[2]) >> 4);
        let bottom = b[2] & 1 != 0;
        off += 4;
        if bottom {
            let Some(&first) = p.data.get(off) else {
                p.event(E("mpls.pkt_too_small"));
                return;
            };
            match label {
                0 => return l3::decode_ip(p, off, cfg, false), // IPv4 explicit null
                2 => return l3::decode_ip(p, off, cfg, false), // IPv6 explicit null
                _ => {}
            }
            match first >> 4 {
                4 | 6 => l3::decode_ip(p, off, cfg, false),
                0 => decode_ethernet(p, off + 4, cfg),
                _ => p.event(E("mpls.unknown_payload_type")),
            }
            return;
        }
    }
    p.event(E("mpls.header_too_small"));
}

fn decode_pppoe_session(p: &mut Packet<'_>, off: usize, cfg: &DecodeConfig) {
    let Some(h) = p.data.get(off..off + 6) else {
        p.event(E("pppoe.pkt_too_small"));
        return;
    };
    if h[1] != 0 {
        p.event(E("pppoe.wrong_code"));
        return;
    }
    decode_ppp_proto(p, off + 6, cfg);
}

/// PPP with optional HDLC address/control bytes.
pub(crate) fn decode_ppp(p: &mut Packet<'_>, off: usize, cfg: &DecodeConfig) {
    let off = if p.data.get(off..off + 2) == Some(&[0xff, 0x03]) {
        off + 2
    } else {
        off
    };
    decode_ppp_proto(p, off, cfg);
}

fn decode_ppp_proto(p: &mut Packet<'_>, off: usize, cfg: &DecodeConfig) {
    // The protocol field may be compressed to one byte (odd value).
    let Some(&b0) = p.data.get(off) else {
        p.event(E("ppp.pkt_too_small"));
        return;
    };
    let (proto, hlen) = if b0 & 1 == 1 {
        (u16::from(b0), 1)
    } else {
        match be16(p.data, off) {
            Some(v) => (v, 2),
            None => {
                p.event(E("ppp.pkt_too_small"));
                return;
            }
        }
    };
    let off = off + hlen;
    match proto {
        0x0021 => {
            if p.data.len() < off + 20 {
                p.event(E("ppp.ip4_pkt_too_small"));
                return;
            }
            l3::decode_ip(p, off, cfg, false)
        }
        0x0057 => {
            if p.data.len() < off + 40 {
                p.event(E("ppp.ip6_pkt_too_small"));
                return;
            }
            l3::decode_ip(p, off, cfg, false)
        }
        // Control protocols (LCP, IPCP, CHAP, PAP, CCP …) carry no IP.
        0xc021 | 0x8021 | 0xc223 | 0xc023 | 0x80fd | 0x8057 | 0x80fb => {}
        0x002d | 0x002f => p.event(E("ppp.vju_pkt_too_small")),
        _ => p.event(E("ppp.unsup_proto")),
    }
}

/// BSD loopback: a 4-byte address family (host order for NULL, network order for LOOP).
fn decode_null(p: &mut Packet<'_>, network_order: bool, cfg: &DecodeConfig) {
    let Some(b) = p.data.get(0..4) else {
        p.event(E("ltnull.pkt_too_small"));
        return;
    };
    let arr = [b[0], b[1], b[2], b[3]];
    let fam = if network_order {
        u32::from_be_bytes(arr)
    } else {
        // The capturing host's order is unknown: accept either.
        let le = u32::from_le_bytes(arr);
        if le <= 0xffff {
            le
        } else {
            u32::from_be_bytes(arr)
        }
    };
    match fam {
        // AF_INET, and AF_INET6 as numbered by the BSDs, Linux and Darwin.
        2 | 10 | 24 | 28 | 30 => l3::decode_ip(p, 4, cfg, false),
        _ => p.event(E("ltnull.unsupported_type")),
    }
}

fn decode_chdlc(p: &mut Packet<'_>, cfg: &DecodeConfig) {
    let Some(proto) = be16(p.data, 2) else {
        p.event(E("chdlc.pkt_too_small"));
        return;
    };
    decode_ethertype(p, proto, 4, cfg);
}

/// Linux cooked capture v1: 16-byte header, protocol at offset 14.
fn decode_sll(p: &mut Packet<'_>, cfg: &DecodeConfig) {
    let Some(proto) = be16(p.data, 14) else {
        p.event(E("sll.pkt_too_small"));
        return;
    };
    decode_ethertype(p, proto, 16, cfg);
}

/// Linux cooked capture v2: 20-byte header, protocol at offset 0.
fn decode_sll2(p: &mut Packet<'_>, cfg: &DecodeConfig) {
    if p.data.len() < 20 {
        p.event(E("sll.pkt_too_small"));
        return;
    }
    let Some(proto) = be16(p.data, 0) else {
        return;
    };
    decode_ethertype(p, proto, 20, cfg);
}

/// NFLOG: a 4-byte header (family, version, resource id) then TLVs (little-endian lengths);
/// TLV type 9 carries the packet.
fn decode_nflog(p: &mut Packet<'_>, cfg: &DecodeConfig) {
    if p.data.len() < 4 {
        p.event(E("nflog.pkt_too_small"));
        return;
    }
    let mut off = 4usize;
    // Each TLV is at least 4 bytes, so this loop runs at most len/4 times.
    while let (Some(len), Some(t)) = (le16(p.data, off), le16(p.data, off + 2)) {
        let len = usize::from(len);
        if len < 4 {
            p.event(E("nflog.pkt_too_small"));
            return;
        }
        if t & 0x7fff == 9 {
            if p.data.len() < off + len {
                p.event(E("nflog.pkt_too_small"));
                return;
            }
            let end = off + len;
            let start = off + 4;
            // Restrict decoding to the TLV's value.
            let data = p.data;
            p.data = data.get(..end).unwrap_or(data);
            l3::decode_ip(p, start, cfg, false);
            return;
        }
        off += (len + 3) & !3;
    }
}

#[cfg(test)]
mod tests {
    use crate::*;

    pub(crate) fn ipv4_udp(
        src: [u8; 4],
        dst: [u8; 4],
        sport: u16,
        dport: u16,
        payload: &[u8],
    ) -> Vec<u8> {
        let total = 20 + 8 + payload.len();
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
            17,
            0,
            0,
        ];
        v.extend_from_slice(&src);
        v.extend_from_slice(&dst);
        v.extend_from_slice(&sport.to_be_bytes());
        v.extend_from_slice(&dport.to_be_bytes());
        v.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(payload);
        v
    }

    fn eth(ethertype: &[u8], rest: &[u8]) -> Vec<u8> {
        let mut v = vec![0u8; 12];
        v.extend_from_slice(ethertype);
        v.extend_from_slice(rest);
        v
    }

    #[test]
    fn qinq_vlans() {
        let ip = ipv4_udp([1, 1, 1, 1], [2, 2, 2, 2], 1000, 53, b"x");
        let mut inner = vec![0x00, 0x0a, 0x81, 0x00, 0x00, 0x14, 0x08, 0x00];
        inner.extend_from_slice(&ip);
        let f = eth(&[0x88, 0xa8], &inner);
        let p = decode(1, &f, &DecodeConfig::default());
        assert_eq!(p.vlan, [10, 20]);
        assert_eq!(p.dport, 53);
        assert_eq!(p.payload(), b"x");
    }

    #[test]
    fn mpls_then_ipv4() {
        let ip = ipv4_udp([1, 1, 1, 1], [2, 2, 2, 2], 1000, 53, b"y");
        let mut m = vec![0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40];
        m.extend_from_slice(&ip);
        let f = eth(&[0x88, 0x47], &m);
        let p = decode(1, &f, &DecodeConfig::default());
        assert_eq!(p.payload(), b"y");
    }

    #[test]
    fn pppoe_session() {
        let ip = ipv4_udp([1, 1, 1, 1], [2, 2, 2, 2], 1000, 53, b"z");
        let mut s = vec![0x11, 0x00, 0x00, 0x01, 0, 0, 0x00, 0x21];
        s.extend_from_slice(&ip);
        let f = eth(&[0x88, 0x64], &s);
        let p = decode(1, &f, &DecodeConfig::default());
        assert_eq!(p.payload(), b"z");
    }

    #[test]
    fn sll_sll2_null_loop_raw() {
        let ip = ipv4_udp([1, 1, 1, 1], [2, 2, 2, 2], 1000, 53, b"q");
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&[0x08, 0x00]);
        sll.extend_from_slice(&ip);
        assert_eq!(decode(113, &sll, &DecodeConfig::default()).payload(), b"q");
        let mut sll2 = vec![0x08, 0x00];
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.extend_from_slice(&ip);
        assert_eq!(decode(276, &sll2, &DecodeConfig::default()).payload(), b"q");
        let mut null = vec![2, 0, 0, 0];
        null.extend_from_slice(&ip);
        assert_eq!(decode(0, &null, &DecodeConfig::default()).payload(), b"q");
        let mut lp = vec![0, 0, 0, 2];
        lp.extend_from_slice(&ip);
        assert_eq!(decode(108, &lp, &DecodeConfig::default()).payload(), b"q");
        assert_eq!(decode(101, &ip, &DecodeConfig::default()).payload(), b"q");
    }

    #[test]
    fn short_frames_raise_events() {
        let p = decode(1, &[0u8; 5], &DecodeConfig::default());
        assert!(p.events.contains("ethernet.pkt_too_small"));
        let p = decode(113, &[0u8; 5], &DecodeConfig::default());
        assert!(p.events.contains("sll.pkt_too_small"));
    }
}
