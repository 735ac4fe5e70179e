//! Link-layer header types (tcpdump.org LINKTYPE_ values) the decoder understands.

/// BSD loopback: 4-byte address family in the capturing host's byte order.
pub const NULL: u32 = 0;
/// Ethernet II / 802.3.
pub const ETHERNET: u32 = 1;
/// PPP (RFC 1661 framing without HDLC flags).
pub const PPP: u32 = 9;
/// Raw IP on some BSDs (DLT_RAW = 12).
pub const RAW_BSD12: u32 = 12;
/// Raw IP on OpenBSD (DLT_RAW = 14).
pub const RAW_BSD14: u32 = 14;
/// Raw IPv4 or IPv6, version from the first nibble.
pub const RAW: u32 = 101;
/// Cisco HDLC.
pub const C_HDLC: u32 = 104;
/// OpenBSD loopback: address family in network byte order.
pub const LOOP: u32 = 108;
/// Linux cooked capture v1.
pub const LINUX_SLL: u32 = 113;
/// Raw IPv4.
pub const IPV4: u32 = 228;
/// Raw IPv6.
pub const IPV6: u32 = 229;
/// Linux netfilter log (NFLOG).
pub const NFLOG: u32 = 239;
/// Linux cooked capture v2.
pub const LINUX_SLL2: u32 = 276;

/// Human name of a link type, for messages.
pub fn name(lt: u32) -> &'static str {
    match lt {
        NULL => "null",
        ETHERNET => "ethernet",
        PPP => "ppp",
        RAW_BSD12 | RAW_BSD14 | RAW => "raw",
        C_HDLC => "cisco-hdlc",
        LOOP => "loop",
        LINUX_SLL => "linux-sll",
        IPV4 => "rawip4",
        IPV6 => "rawip6",
        NFLOG => "nflog",
        LINUX_SLL2 => "linux-sll2",
        105 => "ieee-802-11",
        127 => "ieee-802-11-radiotap",
        10 => "fddi",
        _ => "unknown",
    }
}
