//! Shared vocabulary of the probe: timestamps, IP addresses and flow keys, directions, and the
//! wrapping TCP sequence arithmetic that every stage uses.
//!
//! Layer: the bottom of the dependency stack. This crate owns no I/O and never allocates on a
//! hot path; everything here is `Copy` and cheap to compare and hash.
//!
//! Invariants callers rely on:
//! - [`FlowKey`] is stored in *canonical* order (lower endpoint first) so both directions of a
//!   flow hash and compare equal; [`FlowKey::canonical`] tells which way a packet went.
//! - Sequence numbers wrap: [`seq`] helpers never panic and never overflow.
#![forbid(unsafe_code)]

pub mod seq;
mod time;
pub mod units;

pub use time::Timestamp;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IPv4 or IPv6 address stored as 16 bytes (IPv4 as `::ffff:a.b.c.d`), so flow keys have one
/// fixed layout and compare with a memcmp.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Addr(pub [u8; 16]);

impl Addr {
    /// An IPv4 address.
    pub const fn v4(b: [u8; 4]) -> Addr {
        Addr([
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, b[0], b[1], b[2], b[3],
        ])
    }
    /// An IPv6 address.
    pub const fn v6(b: [u8; 16]) -> Addr {
        Addr(b)
    }
    /// True when this is an IPv4-mapped address.
    pub fn is_v4(&self) -> bool {
        self.0[..10] == [0; 10] && self.0[10] == 0xff && self.0[11] == 0xff
    }
    /// The address as std's [`IpAddr`].
    pub fn ip(&self) -> IpAddr {
        if self.is_v4() {
            IpAddr::V4(Ipv4Addr::new(
                self.0[12], self.0[13], self.0[14], self.0[15],
            ))
        } else {
            IpAddr::V6(Ipv6Addr::from(self.0))
        }
    }
    /// The IPv4 octets, if this is IPv4.
    pub fn v4_octets(&self) -> Option<[u8; 4]> {
        self.is_v4()
            .then(|| [self.0[12], self.0[13], self.0[14], self.0[15]])
    }
}

impl From<IpAddr> for Addr {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Addr::v4(v4.octets()),
            IpAddr::V6(v6) => Addr::v6(v6.octets()),
        }
    }
}

impl fmt::Display for Addr {
    /// Formats as Suricata does in EVE: dotted quad for IPv4; for IPv6 the full, zero-padded
    /// form (`2001:0db8:0000:...`), which is what Suricata 7 writes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(o) = self.v4_octets() {
            write!(f, "{}.{}.{}.{}", o[0], o[1], o[2], o[3])
        } else {
            for i in 0..8 {
                if i > 0 {
                    f.write_str(":")?;
                }
                write!(f, "{:02x}{:02x}", self.0[2 * i], self.0[2 * i + 1])?;
            }
            Ok(())
        }
    }
}

impl fmt::Debug for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.ip())
    }
}

/// Which way a packet or a byte stream travels relative to the flow's initiator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client (the side that started the flow) to the server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

impl Direction {
    /// The other direction.
    #[must_use]
    pub fn flip(self) -> Direction {
        match self {
            Direction::ToServer => Direction::ToClient,
            Direction::ToClient => Direction::ToServer,
        }
    }
    /// 0 for to-server, 1 for to-client: an index into per-direction arrays.
    pub fn idx(self) -> usize {
        match self {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        }
    }
    /// The EVE spelling, `to_server` / `to_client`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::ToServer => "to_server",
            Direction::ToClient => "to_client",
        }
    }
}

/// IP protocol numbers the flow layer distinguishes.
pub mod ipproto {
    /// ICMP for IPv4.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// ICMP for IPv6.
    pub const ICMPV6: u8 = 58;
    /// SCTP.
    pub const SCTP: u8 = 132;
    /// GRE.
    pub const GRE: u8 = 47;

    /// Suricata's EVE name for an IP protocol (`TCP`, `UDP`, `ICMP`, `IPv6-ICMP`, or the number).
    pub fn eve_name(p: u8) -> std::borrow::Cow<'static, str> {
        use std::borrow::Cow;
        match p {
            TCP => Cow::Borrowed("TCP"),
            UDP => Cow::Borrowed("UDP"),
            ICMP => Cow::Borrowed("ICMP"),
            ICMPV6 => Cow::Borrowed("IPv6-ICMP"),
            SCTP => Cow::Borrowed("SCTP"),
            GRE => Cow::Borrowed("GRE"),
            2 => Cow::Borrowed("IGMP"),
            4 => Cow::Borrowed("IPIP"),
            41 => Cow::Borrowed("IPv6"),
            50 => Cow::Borrowed("ESP"),
            51 => Cow::Borrowed("AH"),
            89 => Cow::Borrowed("OSPF"),
            103 => Cow::Borrowed("PIM"),
            112 => Cow::Borrowed("VRRP"),
            n => Cow::Owned(n.to_string()),
        }
    }
}

/// The identity of a flow: addresses, ports (ICMP: type/code folded as Suricata does, see the
/// flow crate), IP protocol, and up to two VLAN ids. Stored canonically: `lo` is the smaller
/// `(addr, port)` endpoint so that both directions give the same key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct FlowKey {
    /// The smaller endpoint address.
    pub lo_addr: Addr,
    /// The larger endpoint address.
    pub hi_addr: Addr,
    /// Port of the `lo` endpoint.
    pub lo_port: u16,
    /// Port of the `hi` endpoint.
    pub hi_port: u16,
    /// IP protocol number.
    pub proto: u8,
    /// Outer and inner VLAN ids (0 when absent).
    pub vlan: [u16; 2],
    /// Tunnel nesting depth: packets inside a tunnel form flows distinct from the outer one.
    pub tunnel: u8,
}

impl FlowKey {
    /// Builds the canonical key for a packet `src -> dst` and returns it with `true` when the
    /// packet travels from `lo` to `hi`.
    pub fn canonical(
        src: Addr,
        sport: u16,
        dst: Addr,
        dport: u16,
        proto: u8,
        vlan: [u16; 2],
        tunnel: u8,
    ) -> (FlowKey, bool) {
        let forward = (src, sport) <= (dst, dport);
        let (lo_addr, lo_port, hi_addr, hi_port) = if forward {
            (src, sport, dst, dport)
        } else {
            (dst, dport, src, sport)
        };
        (
            FlowKey {
                lo_addr,
                hi_addr,
                lo_port,
                hi_port,
                proto,
                vlan,
                tunnel,
            },
            forward,
        )
    }

    /// A cheap, symmetric 64-bit hash for sharding flows across workers (both directions of a
    /// flow land on the same worker because the key is canonical).
    pub fn shard_hash(&self) -> u64 {
        // FNV-1a over the fixed layout: deterministic across runs and processes, which keeps
        // worker assignment (and so event order per worker) reproducible.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |b: u8| {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        };
        self.lo_addr.0.iter().for_each(|&b| eat(b));
        self.hi_addr.0.iter().for_each(|&b| eat(b));
        self.lo_port.to_be_bytes().iter().for_each(|&b| eat(b));
        self.hi_port.to_be_bytes().iter().for_each(|&b| eat(b));
        eat(self.proto);
        self.vlan[0].to_be_bytes().iter().for_each(|&b| eat(b));
        self.vlan[1].to_be_bytes().iter().for_each(|&b| eat(b));
        eat(self.tunnel);
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_key_is_symmetric() {
        let a = Addr::v4([10, 0, 0, 1]);
        let b = Addr::v4([10, 0, 0, 2]);
        let (k1, f1) = FlowKey::canonical(a, 1234, b, 80, ipproto::TCP, [0; 2], 0);
        let (k2, f2) = FlowKey::canonical(b, 80, a, 1234, ipproto::TCP, [0; 2], 0);
        assert_eq!(k1, k2);
        assert_ne!(f1, f2);
        assert_eq!(k1.shard_hash(), k2.shard_hash());
    }

    #[test]
    fn ipv6_formats_like_suricata() {
        let mut b = [0u8; 16];
        b[0] = 0x20;
        b[1] = 0x01;
        b[15] = 1;
        assert_eq!(
            Addr::v6(b).to_string(),
            "2001:0000:0000:0000:0000:0000:0000:0001"
        );
        assert_eq!(Addr::v4([1, 2, 3, 4]).to_string(), "1.2.3.4");
    }
}
