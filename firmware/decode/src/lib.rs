//! Zero-copy decoding of captured frames: link layers, VLAN/QinQ, MPLS, PPPoE, IPv4/IPv6 with
//! extension headers, TCP/UDP/ICMP/ICMPv6, and the common tunnels (GRE incl. ERSPAN and PPTP,
//! VXLAN, Geneve, Teredo, GTP-U, IP-in-IP).
//!
//! Layer: right after capture. [`decode`] turns a frame into a [`Packet`] that borrows the
//! frame; nothing here allocates (fragments are copied only by [`defrag::Defrag`], which owns a
//! capped arena). Every length read from the wire is checked before use; a malformed layer
//! stops decoding at that layer and records a Suricata-named [`DecodeEvent`] (`ipv4.trunc_pkt`,
//! `tcp.hlen_too_small`, …), which the pipeline logs as an EVE `anomaly` with type `decode`.
//!
//! Tunnels: when a layer carries another packet (GRE, VXLAN …), decoding stops there and
//! [`Packet::tunnel`] says where the inner packet starts and what it is. The pipeline handles the
//! outer packet (it has its own flow, as in Suricata) and then calls [`decode_tunnel`] on the
//! inner bytes, up to [`MAX_TUNNEL_DEPTH`] levels.
#![forbid(unsafe_code)]

pub mod defrag;
mod events;
mod l2;
mod l3;
mod l4;
mod tunnel;

pub use events::{DecodeEvent, Events};
pub use l4::{Icmp, Tcp, TcpFlags, TcpOptions, Udp};

use types::Addr;

/// Most tunnel layers decoded inside one frame (Suricata's default `max-layers` is 16 decoder
/// layers in all; nested tunnels beyond 3 are not seen in practice and cost a flow each).
pub const MAX_TUNNEL_DEPTH: u8 = 3;

/// Most VLAN tags kept (outer and inner); deeper stacks raise `vlan.too_many_layers`.
pub const MAX_VLAN_LAYERS: usize = 3;

/// Most MPLS labels skipped before giving up (`mpls.header_too_small` style anomaly beyond).
pub const MAX_MPLS_LABELS: usize = 16;

/// Decoder settings. Defaults follow Suricata 7's `decoder:` section.
#[derive(Debug, Clone)]
pub struct DecodeConfig {
    /// UDP ports carrying VXLAN (`decoder.vxlan.ports`), empty to disable.
    pub vxlan_ports: Vec<u16>,
    /// UDP ports carrying Geneve (`decoder.geneve.ports`), empty to disable.
    pub geneve_ports: Vec<u16>,
    /// UDP ports checked for Teredo (`decoder.teredo.ports`), empty to disable.
    pub teredo_ports: Vec<u16>,
    /// UDP ports carrying GTP-U. Suricata 7 has no GTP decoder, so the default is off (empty)
    /// to keep flows identical to Suricata's; set `decoder.gtpu.ports` to decode it.
    pub gtpu_ports: Vec<u16>,
}

impl Default for DecodeConfig {
    fn default() -> Self {
        DecodeConfig {
            vxlan_ports: vec![4789],
            geneve_ports: vec![6081],
            teredo_ports: vec![3544],
            gtpu_ports: Vec::new(),
        }
    }
}

/// The network layer of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L3 {
    /// No IP layer was decoded (ARP, unknown ethertype, malformed).
    None,
    /// IPv4 header fields.
    V4 {
        /// Header length in bytes.
        hlen: u8,
        /// Time to live.
        ttl: u8,
        /// Identification.
        id: u16,
        /// Type of service byte.
        tos: u8,
    },
    /// IPv6 header fields.
    V6 {
        /// Hop limit.
        hlim: u8,
        /// Flow label.
        flow_label: u32,
    },
}

/// What a tunnel layer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inner {
    /// An IPv4 packet.
    Ipv4,
    /// An IPv6 packet.
    Ipv6,
    /// An IP packet whose version is in its first nibble.
    Ip,
    /// An Ethernet frame.
    Ethernet,
    /// A PPP frame (PPTP/GRE v1).
    Ppp,
}

/// Which tunnel protocol carried an inner packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunnelKind {
    /// GRE (incl. ERSPAN, PPTP).
    Gre,
    /// VXLAN.
    Vxlan,
    /// Geneve.
    Geneve,
    /// Teredo (IPv6 over UDP).
    Teredo,
    /// GTP-U.
    Gtpu,
    /// IPv4/IPv6 encapsulated directly in IP (protocols 4 and 41).
    IpInIp,
}

impl TunnelKind {
    /// `pkt_src` wording Suricata uses for tunnel packets.
    pub fn pkt_src(self) -> &'static str {
        match self {
            TunnelKind::Gre => "gre tunnel",
            TunnelKind::Vxlan => "vxlan tunnel",
            TunnelKind::Geneve => "geneve tunnel",
            TunnelKind::Teredo => "teredo tunnel",
            TunnelKind::Gtpu => "gtp tunnel",
            TunnelKind::IpInIp => "ip tunnel",
        }
    }
}

/// A tunnel found while decoding: where the inner packet starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tunnel {
    /// Protocol that carried it.
    pub kind: TunnelKind,
    /// What the inner bytes are.
    pub inner: Inner,
    /// Offset of the inner packet in the decoded buffer.
    pub offset: usize,
    /// Where the tunnel's payload starts for byte accounting: Suricata counts a tunnelled
    /// packet from here (the ERSPAN header for ERSPAN, the inner IP header for VXLAN, the
    /// inner packet otherwise).
    pub count_offset: usize,
}

/// An IP fragment: the pipeline hands it to [`defrag::Defrag`] instead of L4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    /// Fragment identification (IPv6: 32 bits).
    pub id: u32,
    /// Offset of this fragment's data in the original datagram, in bytes.
    pub offset: u32,
    /// More fragments follow.
    pub more: bool,
    /// Offset of the IP header in the buffer.
    pub ip_offset: usize,
    /// Length of the unfragmentable part (IPv4: header; IPv6: up to the fragment header).
    pub hdr_len: usize,
    /// Offset of the fragment data in the buffer.
    pub data_offset: usize,
    /// Length of the fragment data.
    pub data_len: usize,
    /// Protocol of the payload (the next header after the fragment header for IPv6).
    pub next_proto: u8,
    /// Offset of the "next header" byte that points at the fragment header (IPv6), so the
    /// reassembled datagram can splice it out.
    pub nh_field: usize,
}

/// The transport layer of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L4 {
    /// Nothing decoded.
    None,
    /// TCP header.
    Tcp(Tcp),
    /// UDP header.
    Udp(Udp),
    /// ICMP or ICMPv6 header.
    Icmp(Icmp),
    /// Another protocol, undecoded (GRE packets that carry no tunnel, ESP, SCTP …).
    Other,
}

/// A decoded packet borrowing the frame it came from.
#[derive(Debug, Clone)]
pub struct Packet<'a> {
    /// The buffer decoded (the frame, or the inner packet of a tunnel).
    pub data: &'a [u8],
    /// VLAN ids outer first (0 = absent).
    pub vlan: [u16; 2],
    /// Network layer.
    pub l3: L3,
    /// Offset of the IP header in `data`.
    pub ip_offset: usize,
    /// Source address (unspecified when `l3` is `None`).
    pub src: Addr,
    /// Destination address.
    pub dst: Addr,
    /// IP protocol of the transport layer (after IPv6 extension headers).
    pub proto: u8,
    /// Transport layer.
    pub l4: L4,
    /// Source port (ICMP: type).
    pub sport: u16,
    /// Destination port (ICMP: code).
    pub dport: u16,
    /// Offset of the transport payload in `data`.
    pub payload_offset: usize,
    /// Length of the transport payload (bounded by the IP length and the captured bytes).
    pub payload_len: usize,
    /// IP total length as claimed by the header (bounded by captured bytes).
    pub ip_len: usize,
    /// Set when this packet is an IP fragment (L4 is not decoded).
    pub fragment: Option<Fragment>,
    /// Set when this packet carries a tunnelled packet.
    pub tunnel: Option<Tunnel>,
    /// Decoder anomalies raised on this packet.
    pub events: Events,
}

impl<'a> Packet<'a> {
    fn empty(data: &'a [u8]) -> Packet<'a> {
        Packet {
            data,
            vlan: [0; 2],
            l3: L3::None,
            ip_offset: 0,
            src: Addr::default(),
            dst: Addr::default(),
            proto: 0,
            l4: L4::None,
            sport: 0,
            dport: 0,
            payload_offset: 0,
            payload_len: 0,
            ip_len: 0,
            fragment: None,
            tunnel: None,
            events: Events::default(),
        }
    }

    /// The transport payload.
    pub fn payload(&self) -> &'a [u8] {
        self.data
            .get(self.payload_offset..self.payload_offset + self.payload_len)
            .unwrap_or_default()
    }

    /// The IP packet (header and payload, bounded by the captured bytes).
    pub fn ip_packet(&self) -> &'a [u8] {
        self.data
            .get(self.ip_offset..self.ip_offset + self.ip_len)
            .unwrap_or_default()
    }

    /// True when an IP layer was decoded.
    pub fn has_ip(&self) -> bool {
        !matches!(self.l3, L3::None)
    }

    /// The TCP header, if any.
    pub fn tcp(&self) -> Option<&Tcp> {
        match &self.l4 {
            L4::Tcp(t) => Some(t),
            _ => None,
        }
    }

    /// The ICMP header, if any.
    pub fn icmp(&self) -> Option<&Icmp> {
        match &self.l4 {
            L4::Icmp(i) => Some(i),
            _ => None,
        }
    }

    pub(crate) fn event(&mut self, e: DecodeEvent) {
        self.events.push(e);
    }
}

/// Decodes a captured frame of link type `linktype` (tcpdump.org numbers).
pub fn decode<'a>(linktype: u32, data: &'a [u8], cfg: &DecodeConfig) -> Packet<'a> {
    let mut p = Packet::empty(data);
    l2::decode_link(&mut p, linktype, cfg);
    p
}

/// Decodes the inner packet of `outer`'s tunnel. `data` is the same buffer `outer` decoded;
/// VLAN ids of an inner Ethernet frame replace the outer ones.
pub fn decode_tunnel<'a>(outer: &Packet<'a>, cfg: &DecodeConfig) -> Option<Packet<'a>> {
    let t = outer.tunnel?;
    // The inner packet ends where the outer IP payload ends (not at the frame's padding).
    let end = outer.ip_offset + outer.ip_len;
    let inner = outer.data.get(t.offset..end.max(t.offset))?;
    let mut p = Packet::empty(inner);
    match t.inner {
        Inner::Ipv4 | Inner::Ipv6 | Inner::Ip => l3::decode_ip(&mut p, 0, cfg, true),
        Inner::Ethernet => l2::decode_ethernet(&mut p, 0, cfg),
        Inner::Ppp => l2::decode_ppp(&mut p, 0, cfg),
    }
    Some(p)
}

/// Verifies the TCP or UDP checksum of `p` (pseudo-header included). Packets without a
/// checksum to verify (other protocols, UDP checksum 0, fragments) are valid.
pub fn l4_checksum_valid(p: &Packet<'_>) -> bool {
    let (hdr_len, ck_at) = match &p.l4 {
        L4::Tcp(t) => (usize::from(t.hlen), 16),
        L4::Udp(_) => (8, 6),
        _ => return true,
    };
    let start = p.payload_offset.saturating_sub(hdr_len);
    let end = p.ip_offset + p.ip_len;
    let Some(seg) = p.data.get(start..end) else {
        return true;
    };
    if matches!(p.l4, L4::Udp(_)) && seg.get(ck_at..ck_at + 2) == Some(&[0, 0]) {
        return true;
    }
    fn add(sum: &mut u64, b: &[u8]) {
        let mut it = b.chunks_exact(2);
        for c in &mut it {
            *sum += u64::from(u16::from_be_bytes([c[0], c[1]]));
        }
        if let [last] = it.remainder() {
            *sum += u64::from(*last) << 8;
        }
    }
    let mut sum: u64 = 0;
    match (p.src.v4_octets(), p.dst.v4_octets()) {
        (Some(s), Some(d)) if matches!(p.l3, L3::V4 { .. }) => {
            add(&mut sum, &s);
            add(&mut sum, &d);
        }
        _ => {
            add(&mut sum, &p.src.0);
            add(&mut sum, &p.dst.0);
        }
    }
    let len = seg.len() as u64;
    sum += u64::from(p.proto) + (len & 0xffff) + (len >> 16);
    add(&mut sum, seg);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum == 0xffff
}

/// Decodes a reassembled IP datagram (from [`defrag::Defrag`]).
pub fn decode_ip_datagram<'a>(data: &'a [u8], cfg: &DecodeConfig) -> Packet<'a> {
    let mut p = Packet::empty(data);
    l3::decode_ip(&mut p, 0, cfg, false);
    p
}

/// A cheap symmetric hash of a frame's outermost IP addresses (and VLAN ids), for spreading
/// packets over workers so that both directions of a flow, and all fragments of a datagram,
/// reach the same worker. Frames without IP hash to 0.
pub fn shard_hash(linktype: u32, data: &[u8], cfg: &DecodeConfig) -> u64 {
    let p = decode(linktype, data, cfg);
    if !p.has_ip() {
        return 0;
    }
    let (a, b) = if p.src <= p.dst {
        (p.src, p.dst)
    } else {
        (p.dst, p.src)
    };
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &x in a.0.iter().chain(b.0.iter()) {
        h ^= u64::from(x);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= u64::from(p.vlan[0]) << 16 | u64::from(p.vlan[1]);
    h.wrapping_mul(0x0100_0000_01b3)
}

/// Fuzz entry points (see `firmware/fuzz`).
#[doc(hidden)]
pub mod fuzzing {
    use super::*;

    /// Decodes `data` with a link type chosen by its first byte, follows tunnels and feeds
    /// fragments to a small defragmenter.
    pub fn fuzz_decode(data: &[u8]) {
        let Some((&sel, rest)) = data.split_first() else {
            return;
        };
        const LTS: [u32; 12] = [0, 1, 9, 12, 101, 104, 108, 113, 228, 229, 239, 276];
        let lt = LTS[usize::from(sel) % LTS.len()];
        let cfg = DecodeConfig {
            gtpu_ports: vec![2152],
            ..DecodeConfig::default()
        };
        let mut defrag = defrag::Defrag::new(defrag::DefragConfig {
            memcap: 1 << 20,
            ..Default::default()
        });
        let mut p = decode(lt, rest, &cfg);
        for _ in 0..=MAX_TUNNEL_DEPTH {
            if let Some(f) = p.fragment {
                let mut out = Vec::new();
                let _ = defrag.insert(&p, &f, types::Timestamp(0), &mut out);
                let _ = decode_ip_datagram(&out, &cfg).payload();
            }
            std::hint::black_box(p.payload());
            match decode_tunnel(&p, &cfg) {
                Some(inner) => p = inner,
                None => break,
            }
        }
    }
}
