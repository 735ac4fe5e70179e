//! Every input-driven quantity the parser holds, with its cap and the reason for the number.
//!
//! Caps marked *Suricata* reproduce Suricata 7.0.10's limits (hitting them raises the same
//! app-layer event Suricata raises); the others are ours and raise events of our own, named in
//! [`crate::DnsEvent`].

/// Longest name kept, in bytes of presentation form (*Suricata*, `MAX_NAME_LEN`; the value
/// dnsmasq uses). Longer names are cut here and flagged `*_truncated` in EVE, with a
/// `name_too_long` event.
pub const MAX_NAME_LEN: usize = 1025;

/// Labels plus compression pointers followed while reading one name (*Suricata*). A legal name
/// has at most 127 labels, so 255 only stops loops and abuse; hitting it raises
/// `too_many_labels`. Together with the self-pointer check this bounds every name read, so a
/// compression loop can never hang the parser.
pub const MAX_NAME_STEPS: usize = 255;

/// Character-strings taken from one TXT record (*Suricata*: half of the 65535-byte rdata
/// maximum, since each string needs a length byte).
pub const TXT_MAX_STRINGS: usize = 32767;

/// Records kept per message: questions, and answers plus authorities (after TXT strings are
/// expanded into one record each). Ours. A full 64 KiB TCP message holds at most ~5 400
/// minimal records, and real ones (even zone transfers) a few thousand at most; only TXT
/// expansion (up to 32767 records, each repeating a name of up to 1025 bytes, i.e. tens of MB
/// of EVE) can go far beyond. Records past the cap are still parsed, so acceptance does not
/// change, but are neither kept nor logged; `too_many_records` is raised.
pub const MAX_RECORDS_PER_MESSAGE: usize = 4096;

/// Transactions kept for detection between two parse calls (see `transactions()`). Ours. A UDP
/// call yields one; a TCP call one per message in the delivered bytes, and clients pipeline a
/// handful (RFC 7766). Older ones beyond the cap are dropped (they were already logged) and
/// `too_many_transactions` is raised once per call.
pub const MAX_RETAINED_TX: usize = 64;

/// Largest DNS-over-TCP frame: the 2-byte length prefix plus a 65535-byte message. The TCP
/// reassembly buffer of each direction only ever holds one partial frame, so it never exceeds
/// this; no event is needed because the protocol cannot ask for more.
pub const MAX_TCP_FRAME: usize = 2 + 65535;
