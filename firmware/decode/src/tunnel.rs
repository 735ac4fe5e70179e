//! Tunnels: GRE (v0 incl. ERSPAN I/II/III and transparent Ethernet bridging; v1 as used by
//! PPTP), VXLAN, Geneve, Teredo and GTP-U. Each finds where the inner packet starts and records
//! it in [`Packet::tunnel`]; the pipeline decodes the inner packet separately.

use crate::events::DecodeEvent as E;
use crate::{DecodeConfig, Inner, Packet, Tunnel, TunnelKind, L4};

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn set(p: &mut Packet<'_>, kind: TunnelKind, inner: Inner, offset: usize) {
    p.tunnel = Some(Tunnel {
        kind,
        inner,
        offset,
        count_offset: offset,
    });
}

fn set_counted_from(
    p: &mut Packet<'_>,
    kind: TunnelKind,
    inner: Inner,
    offset: usize,
    from: usize,
) {
    p.tunnel = Some(Tunnel {
        kind,
        inner,
        offset,
        count_offset: from,
    });
}

/// GRE at `start`; the IP payload ends at `end`.
pub(crate) fn decode_gre(p: &mut Packet<'_>, start: usize, end: usize) {
    let d = p.data.get(..end).unwrap_or(p.data);
    p.l4 = L4::Other;
    p.payload_offset = start;
    p.payload_len = end.saturating_sub(start);
    let Some(h) = d.get(start..start + 4) else {
        p.event(E("gre.pkt_too_small"));
        return;
    };
    let flags = h[0];
    let version = h[1] & 0x07;
    let proto = u16::from_be_bytes([h[2], h[3]]);
    let c = flags & 0x80 != 0;
    let r = flags & 0x40 != 0;
    let k = flags & 0x20 != 0;
    let s = flags & 0x10 != 0;
    let ssr = flags & 0x08 != 0;
    let recur = flags & 0x07;
    let mut off = start + 4;
    match version {
        0 => {
            if recur != 0 {
                p.event(E("gre.version0_recur"));
                return;
            }
            if h[1] & 0xf8 != 0 {
                p.event(E("gre.version0_flags"));
                return;
            }
            if c || r {
                off += 4;
            }
            if k {
                off += 4;
            }
            if s {
                off += 4;
            }
            if off > d.len() {
                p.event(E("gre.version0_hdr_too_big"));
                return;
            }
            if r {
                // Source route entries until a NULL SRE; each is at least 4 bytes.
                loop {
                    let (Some(af), Some(&sre_len)) = (be16(d, off), d.get(off + 3)) else {
                        p.event(E("gre.version0_malformed_sre_hdr"));
                        return;
                    };
                    off += 4;
                    if af == 0 && sre_len == 0 {
                        break;
                    }
                    off += usize::from(sre_len);
                    if off > d.len() {
                        p.event(E("gre.version0_malformed_sre_hdr"));
                        return;
                    }
                }
            }
            match proto {
                0x0800 => set(p, TunnelKind::Gre, Inner::Ipv4, off),
                0x86dd => set(p, TunnelKind::Gre, Inner::Ipv6, off),
                0x6558 => set(p, TunnelKind::Gre, Inner::Ethernet, off),
                0x880b => set(p, TunnelKind::Gre, Inner::Ppp, off),
                // ERSPAN type II (with sequence) or type I (without).
                0x88be => {
                    if s {
                        let Some(e) = d.get(off..off + 8) else {
                            p.event(E("erspan.header_too_small"));
                            return;
                        };
                        if e[0] >> 4 != 1 {
                            p.event(E("erspan.unsupported_version"));
                            return;
                        }
                        set_counted_from(p, TunnelKind::Gre, Inner::Ethernet, off + 8, off);
                    } else {
                        set(p, TunnelKind::Gre, Inner::Ethernet, off);
                    }
                }
                // ERSPAN type III: 12-byte header, plus 8 with the optional sub-header.
                0x22eb => {
                    let Some(e) = d.get(off..off + 12) else {
                        p.event(E("erspan.header_too_small"));
                        return;
                    };
                    if e[0] >> 4 != 2 {
                        p.event(E("erspan.unsupported_version"));
                        return;
                    }
                    let o_bit = e[11] & 0x01 != 0;
                    set_counted_from(
                        p,
                        TunnelKind::Gre,
                        Inner::Ethernet,
                        off + 12 + if o_bit { 8 } else { 0 },
                        off,
                    );
                }
                _ => {}
            }
        }
        1 => {
            if c {
                p.event(E("gre.version1_chksum"));
                return;
            }
            if r {
                p.event(E("gre.version1_route"));
                return;
            }
            if ssr {
                p.event(E("gre.version1_ssr"));
                return;
            }
            if recur != 0 {
                p.event(E("gre.version1_recur"));
                return;
            }
            if h[1] & 0x78 != 0 {
                p.event(E("gre.version1_flags"));
                return;
            }
            if !k {
                p.event(E("gre.version1_no_key"));
                return;
            }
            if proto != 0x880b {
                p.event(E("gre.version1_wrong_protocol"));
                return;
            }
            let payload_len = usize::from(be16(d, start + 4).unwrap_or(0));
            off += 4; // key: payload length + call id
            if s {
                off += 4;
            }
            if h[1] & 0x80 != 0 {
                off += 4; // acknowledgement number
            }
            if off > d.len() {
                p.event(E("gre.version1_hdr_too_big"));
                return;
            }
            if payload_len > 0 {
                set(p, TunnelKind::Gre, Inner::Ppp, off);
            }
        }
        _ => p.event(E("gre.wrong_version")),
    }
}

/// Checks a decoded UDP packet for VXLAN, Geneve, Teredo and GTP-U.
pub(crate) fn udp_tunnel(p: &mut Packet<'_>, cfg: &DecodeConfig) {
    let (sport, dport) = (p.sport, p.dport);
    let off = p.payload_offset;
    let pl = p.payload();
    if cfg.vxlan_ports.contains(&dport) {
        // Flags with the I bit, then 3 reserved bytes, VNI, reserved.
        if pl.len() >= 8 + 14 && pl[0] & 0x08 != 0 {
            set_counted_from(p, TunnelKind::Vxlan, Inner::Ethernet, off + 8, off + 8 + 14);
        }
        return;
    }
    if cfg.geneve_ports.contains(&dport) {
        if pl.len() >= 8 && pl[0] >> 6 == 0 {
            let opt_len = usize::from(pl[0] & 0x3f) * 4;
            let inner_off = off + 8 + opt_len;
            if pl.len() >= 8 + opt_len {
                match u16::from_be_bytes([pl[2], pl[3]]) {
                    0x6558 => set(p, TunnelKind::Geneve, Inner::Ethernet, inner_off),
                    0x0800 => set(p, TunnelKind::Geneve, Inner::Ipv4, inner_off),
                    0x86dd => set(p, TunnelKind::Geneve, Inner::Ipv6, inner_off),
                    _ => p.event(E("geneve.unknown_payload_type")),
                }
            }
        }
        return;
    }
    if cfg.gtpu_ports.contains(&dport) || cfg.gtpu_ports.contains(&sport) {
        gtpu(p, off, cfg);
        return;
    }
    if cfg.teredo_ports.contains(&dport) || cfg.teredo_ports.contains(&sport) {
        teredo(p, off);
    }
}

/// Teredo: optional authentication (type 0x0001) and origin indication (type 0x0000)
/// headers, then an IPv6 packet whose length matches the datagram exactly.
fn teredo(p: &mut Packet<'_>, off: usize) {
    let pl = p.payload();
    let mut i = 0usize;
    // Like Suricata, packets with the authentication header (0x0001) are not decoded: they
    // are Teredo control traffic (router solicitations), not tunnelled payload.
    if pl.get(0..2) == Some(&[0, 1]) {
        return;
    }
    if pl.get(i..i + 2) == Some(&[0, 0]) {
        i += 8;
    }
    let Some(v6) = pl.get(i..) else {
        return;
    };
    if v6.len() < 40 || v6[0] >> 4 != 6 {
        return;
    }
    let plen = usize::from(u16::from_be_bytes([v6[4], v6[5]]));
    if v6.len() != 40 + plen {
        return;
    }
    // A bubble (no next header, no payload) carries nothing to decode.
    if v6[6] == 59 && plen == 0 {
        return;
    }
    set(p, TunnelKind::Teredo, Inner::Ipv6, off + i);
}

/// GTP-U G-PDU (version 1, message type 255) carrying IPv4 or IPv6.
fn gtpu(p: &mut Packet<'_>, off: usize, _cfg: &DecodeConfig) {
    let pl = p.payload();
    let Some(h) = pl.get(0..8) else {
        return;
    };
    if h[0] >> 5 != 1 || h[0] & 0x10 == 0 || h[1] != 0xff {
        return;
    }
    let mut i = 8usize;
    if h[0] & 0x07 != 0 {
        // Sequence number, N-PDU number, next extension header type.
        let Some(&next) = pl.get(11) else {
            return;
        };
        i = 12;
        let mut next = next;
        // Extension headers: length in 4-byte units, last byte is the next type. Each is
        // at least 4 bytes so the loop is bounded by the payload length.
        while next != 0 {
            let Some(&l) = pl.get(i) else {
                return;
            };
            let l = usize::from(l) * 4;
            if l == 0 {
                return;
            }
            let Some(&n) = pl.get(i + l - 1) else {
                return;
            };
            next = n;
            i += l;
        }
    }
    match pl.get(i).map(|b| b >> 4) {
        Some(4) => set(p, TunnelKind::Gtpu, Inner::Ipv4, off + i),
        Some(6) => set(p, TunnelKind::Gtpu, Inner::Ipv6, off + i),
        _ => {}
    }
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

    fn udp(dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut u = vec![0x30, 0x39];
        u.extend_from_slice(&dport.to_be_bytes());
        u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        u.extend_from_slice(&[0, 0]);
        u.extend_from_slice(payload);
        u
    }

    #[test]
    fn gre_ipv4() {
        let inner = ipv4(17, &udp(53, b"g"));
        let mut gre = vec![0, 0, 0x08, 0x00];
        gre.extend_from_slice(&inner);
        let cfg = DecodeConfig::default();
        let pkt = ipv4(47, &gre);
        let p = decode(101, &pkt, &cfg);
        assert_eq!(p.tunnel.unwrap().kind, TunnelKind::Gre);
        assert_eq!(decode_tunnel(&p, &cfg).unwrap().payload(), b"g");
    }

    #[test]
    fn gre_bad_version() {
        let pkt = ipv4(47, &[0, 3, 8, 0]);
        let p = decode(101, &pkt, &DecodeConfig::default());
        assert!(p.events.contains("gre.wrong_version"));
    }

    #[test]
    fn vxlan_ethernet_ipv4() {
        let inner_ip = ipv4(17, &udp(53, b"v"));
        let mut vx = vec![0x08, 0, 0, 0, 0, 0, 1, 0];
        vx.extend_from_slice(&[0u8; 12]);
        vx.extend_from_slice(&[0x08, 0x00]);
        vx.extend_from_slice(&inner_ip);
        let cfg = DecodeConfig::default();
        let pkt = ipv4(17, &udp(4789, &vx));
        let p = decode(101, &pkt, &cfg);
        assert_eq!(p.tunnel.unwrap().kind, TunnelKind::Vxlan);
        let q = decode_tunnel(&p, &cfg).unwrap();
        assert_eq!(q.payload(), b"v");
    }

    #[test]
    fn gtpu_when_enabled() {
        let inner_ip = ipv4(17, &udp(53, b"t"));
        let mut g = vec![0x30, 0xff];
        g.extend_from_slice(&(inner_ip.len() as u16).to_be_bytes());
        g.extend_from_slice(&[0, 0, 0, 1]);
        g.extend_from_slice(&inner_ip);
        let off = DecodeConfig::default();
        assert!(decode(101, &ipv4(17, &udp(2152, &g)), &off)
            .tunnel
            .is_none());
        let on = DecodeConfig {
            gtpu_ports: vec![2152],
            ..DecodeConfig::default()
        };
        let pkt = ipv4(17, &udp(2152, &g));
        let p = decode(101, &pkt, &on);
        assert_eq!(decode_tunnel(&p, &on).unwrap().payload(), b"t");
    }
}
