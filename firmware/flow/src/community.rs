//! Community ID v1 (https://github.com/corelight/community-id-spec): a flow hash that Zeek,
//! Suricata and others compute identically, so records can be joined across tools.

use base64::Engine;
use sha1::{Digest, Sha1};
use types::Addr;

/// ICMP types whose reply type stands in for the port pair, per the spec's table.
fn icmp_equiv(v6: bool, t: u8, c: u8) -> (u16, u16, bool) {
    let m: Option<u8> = if v6 {
        match t {
            128 => Some(129),
            129 => Some(128),
            130 => Some(131),
            131 => Some(130),
            133 => Some(134),
            134 => Some(133),
            135 => Some(136),
            136 => Some(135),
            139 => Some(140),
            140 => Some(139),
            144 => Some(145),
            145 => Some(144),
            _ => None,
        }
    } else {
        match t {
            8 => Some(0),
            0 => Some(8),
            13 => Some(14),
            14 => Some(13),
            15 => Some(16),
            16 => Some(15),
            10 => Some(9),
            9 => Some(10),
            17 => Some(18),
            18 => Some(17),
            _ => None,
        }
    };
    match m {
        Some(r) => (u16::from(t), u16::from(r), false),
        None => (u16::from(t), u16::from(c), true),
    }
}

/// Computes `1:<base64 sha1>` for a flow `src:sport -> dst:dport` (ICMP: type/code in
/// sport/dport) with `seed`.
pub fn community_id(seed: u16, src: Addr, sport: u16, dst: Addr, dport: u16, proto: u8) -> String {
    let (mut sp, mut dp, mut one_way) = (sport, dport, false);
    if proto == 1 || proto == 58 {
        let (a, b, ow) = icmp_equiv(proto == 58, (sport & 0xff) as u8, (dport & 0xff) as u8);
        sp = a;
        dp = b;
        one_way = ow;
    }
    // Endpoints are ordered lowest first, except one-way ICMP messages, which keep the
    // sender first (the spec's `is_one_way`).
    let (a, ap, b, bp) = if !one_way && (src, sp) > (dst, dp) {
        (dst, dp, src, sp)
    } else {
        (src, sp, dst, dp)
    };
    let mut h = Sha1::new();
    h.update(seed.to_be_bytes());
    match (a.v4_octets(), b.v4_octets()) {
        (Some(x), Some(y)) => {
            h.update(x);
            h.update(y);
        }
        _ => {
            h.update(a.0);
            h.update(b.0);
        }
    }
    h.update([proto, 0]);
    if matches!(proto, 1 | 6 | 17 | 58 | 132) {
        h.update(ap.to_be_bytes());
        h.update(bp.to_be_bytes());
    }
    format!(
        "1:{}",
        base64::engine::general_purpose::STANDARD.encode(h.finalize())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_vector_tcp() {
        // From the community-id spec's baseline: 128.232.110.120:34855 -> 66.35.250.204:80 TCP.
        let id = community_id(
            0,
            Addr::v4([128, 232, 110, 120]),
            34855,
            Addr::v4([66, 35, 250, 204]),
            80,
            6,
        );
        assert_eq!(id, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
        let rev = community_id(
            0,
            Addr::v4([66, 35, 250, 204]),
            80,
            Addr::v4([128, 232, 110, 120]),
            34855,
            6,
        );
        assert_eq!(id, rev);
    }
}
