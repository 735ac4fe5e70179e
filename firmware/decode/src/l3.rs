//! IPv4 and IPv6 (with extension headers), fragments, and the IP-in-IP tunnels.

use types::Addr;

use crate::events::DecodeEvent as E;
use crate::{l4, tunnel, DecodeConfig, Fragment, Inner, Packet, Tunnel, TunnelKind, L3};

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

/// Decodes an IP packet at `off`, choosing v4/v6 from the version nibble. `tunnel_inner` is true
/// when the packet came out of a tunnel (only changes which anomaly a bad version raises).
pub(crate) fn decode_ip(p: &mut Packet<'_>, off: usize, cfg: &DecodeConfig, tunnel_inner: bool) {
    let Some(&b0) = p.data.get(off) else {
        p.event(E("ipv4.pkt_too_small"));
        return;
    };
    match b0 >> 4 {
        4 => decode_ipv4(p, off, cfg),
        6 => decode_ipv6(p, off, cfg),
        _ if tunnel_inner => p.event(E("ipraw.invalid_ip_version")),
        _ => p.event(E("ipv4.wrong_ip_version")),
    }
}

fn decode_ipv4(p: &mut Packet<'_>, off: usize, cfg: &DecodeConfig) {
    let d = p.data;
    let Some(h) = d.get(off..off + 20) else {
        p.event(E("ipv4.pkt_too_small"));
        return;
    };
    if h[0] >> 4 != 4 {
        p.event(E("ipv4.wrong_ip_version"));
        return;
    }
    let hlen = usize::from(h[0] & 0x0f) * 4;
    if hlen < 20 {
        p.event(E("ipv4.hlen_too_small"));
        return;
    }
    let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    if total < hlen {
        p.event(E("ipv4.iplen_smaller_than_hlen"));
        return;
    }
    if d.len() < off + total || d.len() < off + hlen {
        p.event(E("ipv4.trunc_pkt"));
        return;
    }
    let src = Addr::v4([h[12], h[13], h[14], h[15]]);
    let dst = Addr::v4([h[16], h[17], h[18], h[19]]);
    let proto = h[9];
    let id = u16::from_be_bytes([h[4], h[5]]);
    let frag = u16::from_be_bytes([h[6], h[7]]);
    p.l3 = L3::V4 {
        hlen: (hlen & 0xff) as u8,
        ttl: h[8],
        id,
        tos: h[1],
    };
    p.ip_offset = off;
    p.ip_len = total;
    p.src = src;
    p.dst = dst;
    p.proto = proto;
    if hlen > 20 {
        check_ipv4_options(p, d.get(off + 20..off + hlen).unwrap_or_default());
    }
    let more = frag & 0x2000 != 0;
    let frag_off = u32::from(frag & 0x1fff) * 8;
    if more || frag_off != 0 {
        p.fragment = Some(Fragment {
            id: u32::from(id),
            offset: frag_off,
            more,
            ip_offset: off,
            hdr_len: hlen,
            data_offset: off + hlen,
            data_len: total - hlen,
            next_proto: proto,
            nh_field: off + 9,
        });
        return;
    }
    decode_l4(p, proto, off + hlen, off + total, cfg, false);
}

/// Validates IPv4 options as Suricata does, raising `ipv4.opt_*` events.
fn check_ipv4_options(p: &mut Packet<'_>, mut opts: &[u8]) {
    let mut seen = [false; 256];
    while let Some((&t, rest)) = opts.split_first() {
        match t {
            0 => return, // end of list
            1 => {
                opts = rest;
                continue;
            }
            _ => {}
        }
        let Some(&len) = rest.first() else {
            p.event(E("ipv4.opt_malformed"));
            return;
        };
        let len = usize::from(len);
        if len < 2 {
            p.event(E("ipv4.opt_invalid_len"));
            return;
        }
        if len > opts.len() {
            p.event(E("ipv4.opt_malformed"));
            return;
        }
        if seen[usize::from(t)] {
            p.event(E("ipv4.opt_duplicate"));
        }
        seen[usize::from(t)] = true;
        // Known options: security, LSRR, QS, timestamp, RR, CIPSO, SID, SSRR, RTRALT.
        if !matches!(t, 130 | 131 | 25 | 68 | 7 | 134 | 136 | 137 | 148) {
            p.event(E("ipv4.opt_unknown"));
        }
        opts = opts.get(len..).unwrap_or_default();
    }
}

/// Walks IPv6 extension headers; sets up L4, a fragment or an IP-in-IP tunnel.
fn decode_ipv6(p: &mut Packet<'_>, off: usize, cfg: &DecodeConfig) {
    let d = p.data;
    let Some(h) = d.get(off..off + 40) else {
        p.event(E("ipv6.pkt_too_small"));
        return;
    };
    if h[0] >> 4 != 6 {
        p.event(E("ipv6.wrong_ip_version"));
        return;
    }
    let plen = usize::from(u16::from_be_bytes([h[4], h[5]]));
    if d.len() < off + 40 + plen {
        p.event(E("ipv6.trunc_pkt"));
        return;
    }
    let mut src = [0u8; 16];
    let mut dst = [0u8; 16];
    src.copy_from_slice(&h[8..24]);
    dst.copy_from_slice(&h[24..40]);
    p.l3 = L3::V6 {
        hlim: h[7],
        flow_label: (u32::from(h[1] & 0x0f) << 16) | (u32::from(h[2]) << 8) | u32::from(h[3]),
    };
    p.ip_offset = off;
    p.ip_len = 40 + plen;
    p.src = Addr::v6(src);
    p.dst = Addr::v6(dst);
    let end = off + 40 + plen;
    let mut nh = h[6];
    let mut nh_field = off + 6;
    let mut cur = off + 40;
    // Each header is at least 8 bytes, so the walk ends; cap it anyway.
    let mut seen_hh = false;
    let mut seen_rh = false;
    let mut seen_dh = 0u8;
    let mut seen_fh = false;
    for _ in 0..32 {
        match nh {
            0 | 43 | 60 | 135 | 139 | 140 => {
                let (Some(&next), Some(&l)) = (d.get(cur), d.get(cur + 1)) else {
                    p.event(E("ipv6.trunc_exthdr"));
                    return;
                };
                let hl = (usize::from(l) + 1) * 8;
                if cur + hl > end {
                    p.event(E("ipv6.trunc_exthdr"));
                    return;
                }
                match nh {
                    0 => {
                        if seen_hh {
                            p.event(E("ipv6.exthdr_dupl_hh"));
                        }
                        seen_hh = true;
                        check_ipv6_opts(p, d.get(cur + 2..cur + hl).unwrap_or_default(), true);
                    }
                    43 => {
                        if seen_rh {
                            p.event(E("ipv6.exthdr_dupl_rh"));
                        }
                        seen_rh = true;
                        if d.get(cur + 2) == Some(&0) {
                            p.event(E("ipv6.rh_type_0"));
                        }
                    }
                    60 => {
                        if seen_dh >= 2 {
                            p.event(E("ipv6.exthdr_dupl_dh"));
                        }
                        seen_dh += 1;
                        check_ipv6_opts(p, d.get(cur + 2..cur + hl).unwrap_or_default(), false);
                    }
                    _ => {}
                }
                nh_field = cur;
                nh = next;
                cur += hl;
            }
            44 => {
                let Some(f) = d.get(cur..cur + 8) else {
                    p.event(E("ipv6.trunc_exthdr"));
                    return;
                };
                if seen_fh {
                    p.event(E("ipv6.exthdr_dupl_fh"));
                }
                seen_fh = true;
                if f[1] != 0 {
                    p.event(E("ipv6.fh_non_zero_reserved_field"));
                }
                let fo = u16::from_be_bytes([f[2], f[3]]);
                let more = fo & 1 != 0;
                let frag_off = u32::from(fo >> 3) * 8;
                let id = u32::from_be_bytes([f[4], f[5], f[6], f[7]]);
                if !more && frag_off == 0 {
                    // An atomic fragment: nothing to reassemble.
                    p.event(E("ipv6.exthdr_useless_fh"));
                    nh_field = cur;
                    nh = f[0];
                    cur += 8;
                    continue;
                }
                let data_len = end.saturating_sub(cur + 8);
                if more && !data_len.is_multiple_of(8) {
                    p.event(E("ipv6.frag_invalid_length"));
                }
                p.proto = f[0];
                p.fragment = Some(Fragment {
                    id,
                    offset: frag_off,
                    more,
                    ip_offset: off,
                    hdr_len: cur - off,
                    data_offset: cur + 8,
                    data_len,
                    next_proto: f[0],
                    nh_field,
                });
                return;
            }
            51 => {
                // Authentication header: length in 4-byte units minus 2.
                let (Some(&next), Some(&l)) = (d.get(cur), d.get(cur + 1)) else {
                    p.event(E("ipv6.trunc_exthdr"));
                    return;
                };
                let hl = (usize::from(l) + 2) * 4;
                if cur + hl > end {
                    p.event(E("ipv6.trunc_exthdr"));
                    return;
                }
                if be16(d, cur + 2) != Some(0) {
                    p.event(E("ipv6.exthdr_ah_res_not_null"));
                }
                nh_field = cur;
                nh = next;
                cur += hl;
            }
            59 => {
                if cur < end {
                    p.event(E("ipv6.data_after_none_header"));
                }
                p.proto = 59;
                p.l4 = crate::L4::Other;
                return;
            }
            _ => break,
        }
    }
    let _ = nh_field;
    p.proto = nh;
    decode_l4(p, nh, cur, end, cfg, true);
}

/// Checks hop-by-hop / destination options for padding-only and unknown options.
fn check_ipv6_opts(p: &mut Packet<'_>, mut opts: &[u8], hop: bool) {
    let mut only_padding = true;
    let mut any = false;
    while let Some((&t, rest)) = opts.split_first() {
        any = true;
        if t == 0 {
            opts = rest;
            continue;
        }
        let Some(&l) = rest.first() else {
            p.event(E("ipv6.exthdr_invalid_optlen"));
            return;
        };
        let l = usize::from(l);
        if 2 + l > opts.len() {
            p.event(E("ipv6.exthdr_invalid_optlen"));
            return;
        }
        match t {
            1 => {
                if l == 0 {
                    p.event(E("ipv6.zero_len_padn"));
                }
            }
            // Router alert, jumbo, home address, calipso, quick-start, RPL, MPL …
            5 | 0xc2 | 0xc9 | 7 | 0x26 | 0x63 | 0x6d | 0x8b | 0x3e | 0x1e | 0x3f => {
                only_padding = false
            }
            _ => {
                only_padding = false;
                p.event(E(if hop {
                    "ipv6.hopopts_unknown_opt"
                } else {
                    "ipv6.dstopts_unknown_opt"
                }));
            }
        }
        opts = opts.get(2 + l..).unwrap_or_default();
    }
    if any && only_padding {
        p.event(E(if hop {
            "ipv6.hopopts_only_padding"
        } else {
            "ipv6.dstopts_only_padding"
        }));
    }
}

/// Dispatches on the transport protocol of a complete (non-fragment) IP packet whose payload
/// is `data[start..end]`.
pub(crate) fn decode_l4(
    p: &mut Packet<'_>,
    proto: u8,
    start: usize,
    end: usize,
    cfg: &DecodeConfig,
    v6: bool,
) {
    p.proto = proto;
    match proto {
        6 => l4::decode_tcp(p, start, end),
        17 => {
            l4::decode_udp(p, start, end);
            if matches!(p.l4, crate::L4::Udp(_)) {
                tunnel::udp_tunnel(p, cfg);
            }
        }
        1 => {
            if v6 {
                p.event(E("ipv6.icmpv4"));
            }
            l4::decode_icmp(p, start, end, false)
        }
        58 => {
            if !v6 {
                p.event(E("ipv4.icmpv6"));
            }
            l4::decode_icmp(p, start, end, true)
        }
        47 => tunnel::decode_gre(p, start, end),
        4 => {
            if v6 && end - start < 20 {
                p.event(E("ipv6.ipv4_in_ipv6_too_small"));
            } else if p.data.get(start).map(|b| b >> 4) != Some(4) {
                p.event(E(if v6 {
                    "ipv6.ipv4_in_ipv6_wrong_version"
                } else {
                    "ipv4.wrong_ip_version"
                }));
            } else {
                p.l4 = crate::L4::Other;
                p.tunnel = Some(Tunnel {
                    kind: TunnelKind::IpInIp,
                    inner: Inner::Ipv4,
                    offset: start,
                    count_offset: start,
                });
            }
        }
        41 => {
            if end - start < 40 {
                p.event(E("ipv6.ipv6_in_ipv6_too_small"));
            } else if p.data.get(start).map(|b| b >> 4) != Some(6) {
                p.event(E("ipv6.ipv6_in_ipv6_wrong_version"));
            } else {
                p.l4 = crate::L4::Other;
                p.tunnel = Some(Tunnel {
                    kind: TunnelKind::IpInIp,
                    inner: Inner::Ipv6,
                    offset: start,
                    count_offset: start,
                });
            }
        }
        // SCTP: ports in the common header, so flows are per association as in Suricata.
        132 => {
            if let Some(h) = p.data.get(start..start + 12).filter(|_| end >= start + 12) {
                p.sport = u16::from_be_bytes([h[0], h[1]]);
                p.dport = u16::from_be_bytes([h[2], h[3]]);
            }
            p.l4 = crate::L4::Other;
            p.payload_offset = start.min(end);
            p.payload_len = end.saturating_sub(start);
        }
        _ => {
            p.l4 = crate::L4::Other;
            p.payload_offset = start.min(end);
            p.payload_len = end.saturating_sub(start);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::*;

    fn ipv4(proto: u8, flags_frag: u16, payload: &[u8]) -> Vec<u8> {
        let total = 20 + payload.len();
        let ff = flags_frag.to_be_bytes();
        let mut v = vec![
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0x12,
            0x34,
            ff[0],
            ff[1],
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
    fn ipv4_truncated_and_bad_lengths() {
        let mut v = ipv4(17, 0, &[0u8; 8]);
        v.truncate(25);
        let p = decode(101, &v, &DecodeConfig::default());
        assert!(p.events.contains("ipv4.trunc_pkt"));
        assert!(!p.has_ip());
        let mut v = ipv4(17, 0, &[0u8; 8]);
        v[0] = 0x44;
        assert!(decode(101, &v, &DecodeConfig::default())
            .events
            .contains("ipv4.hlen_too_small"));
        let mut v = ipv4(17, 0, &[0u8; 8]);
        v[3] = 10;
        assert!(decode(101, &v, &DecodeConfig::default())
            .events
            .contains("ipv4.iplen_smaller_than_hlen"));
        assert!(decode(101, &[0x45, 0, 0], &DecodeConfig::default())
            .events
            .contains("ipv4.pkt_too_small"));
    }

    #[test]
    fn ipv4_fragment_is_flagged() {
        let v = ipv4(17, 0x2000, &[0u8; 16]);
        let p = decode(101, &v, &DecodeConfig::default());
        let f = p.fragment.unwrap();
        assert!(f.more);
        assert_eq!(f.offset, 0);
        assert_eq!(f.data_len, 16);
        assert_eq!(p.l4, L4::None);
    }

    fn ipv6(nh: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0x60, 0, 0, 0];
        v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        v.push(nh);
        v.push(64);
        v.extend_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        v.extend_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn ipv6_ext_headers_then_udp() {
        // Hop-by-hop with PadN(4), then UDP.
        let mut pl = vec![17, 0, 1, 4, 0, 0, 0, 0];
        pl.extend_from_slice(&[0x04, 0x00, 0x00, 0x35, 0x00, 0x09, 0, 0, b'a']);
        let v = ipv6(0, &pl);
        let p = decode(101, &v, &DecodeConfig::default());
        assert_eq!(p.proto, 17);
        assert_eq!(p.dport, 53);
        assert_eq!(p.payload(), b"a");
        assert!(p.events.contains("ipv6.hopopts_only_padding"));
    }

    #[test]
    fn ipv6_fragment_header() {
        let mut pl = vec![17, 0, 0x00, 0x01, 0, 0, 0, 7];
        pl.extend_from_slice(&[0u8; 16]);
        let v = ipv6(44, &pl);
        let p = decode(101, &v, &DecodeConfig::default());
        let f = p.fragment.unwrap();
        assert_eq!(f.id, 7);
        assert!(f.more);
        assert_eq!(f.next_proto, 17);
    }

    #[test]
    fn ip_in_ip_tunnel() {
        let inner = ipv4(17, 0, &[0x04, 0x00, 0x00, 0x35, 0x00, 0x09, 0, 0, b'b']);
        let outer = ipv4(4, 0, &inner);
        let cfg = DecodeConfig::default();
        let p = decode(101, &outer, &cfg);
        assert_eq!(p.tunnel.unwrap().kind, TunnelKind::IpInIp);
        let q = decode_tunnel(&p, &cfg).unwrap();
        assert_eq!(q.payload(), b"b");
    }
}
