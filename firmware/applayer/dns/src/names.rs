//! Suricata 7.0.10's spellings of record types and response codes.
//!
//! Read off Suricata's own output for every type 0..=65535 and every rcode: 59 types have a
//! name, everything else prints as its decimal number. The odd spellings (`ND` for type 3,
//! `NSAPPT`, `CDSNKEY`) are Suricata's and are kept so EVE matches byte for byte; newer types
//! it does not know (SVCB 64, CAA 257, AXFR 252, …) print as numbers.

use std::borrow::Cow;

/// The EVE name of a record type.
pub fn rrtype_name(t: u16) -> Cow<'static, str> {
    let s = match t {
        1 => "A",
        2 => "NS",
        3 => "ND",
        4 => "MF",
        5 => "CNAME",
        6 => "SOA",
        7 => "MB",
        8 => "MG",
        9 => "MR",
        10 => "NULL",
        11 => "WKS",
        12 => "PTR",
        13 => "HINFO",
        14 => "MINFO",
        15 => "MX",
        16 => "TXT",
        17 => "RP",
        18 => "AFSDB",
        19 => "X25",
        20 => "ISDN",
        21 => "RT",
        22 => "NSAP",
        23 => "NSAPPT",
        24 => "SIG",
        25 => "KEY",
        26 => "PX",
        27 => "GPOS",
        28 => "AAAA",
        29 => "LOC",
        30 => "NXT",
        33 => "SRV",
        34 => "ATMA",
        35 => "NAPTR",
        36 => "KX",
        37 => "CERT",
        38 => "A6",
        39 => "DNAME",
        41 => "OPT",
        42 => "APL",
        43 => "DS",
        44 => "SSHFP",
        45 => "IPSECKEY",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        49 => "DHCID",
        50 => "NSEC3",
        51 => "NSEC3PARAM",
        52 => "TLSA",
        55 => "HIP",
        59 => "CDS",
        60 => "CDSNKEY",
        65 => "HTTPS",
        99 => "SPF",
        249 => "TKEY",
        250 => "TSIG",
        254 => "MAILA",
        255 => "ANY",
        256 => "URI",
        _ => return Cow::Owned(t.to_string()),
    };
    Cow::Borrowed(s)
}

/// The EVE name of a 4-bit response code (11..=15 print as numbers).
pub fn rcode_name(rcode: u8) -> Cow<'static, str> {
    let s = match rcode {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        _ => return Cow::Owned(rcode.to_string()),
    };
    Cow::Borrowed(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(rrtype_name(1), "A");
        assert_eq!(rrtype_name(3), "ND");
        assert_eq!(rrtype_name(64), "64");
        assert_eq!(rrtype_name(65), "HTTPS");
        assert_eq!(rrtype_name(0), "0");
        assert_eq!(rrtype_name(65535), "65535");
        assert_eq!(
            (0..=u16::MAX)
                .filter(|&t| rrtype_name(t) != t.to_string())
                .count(),
            59
        );
        assert_eq!(rcode_name(3), "NXDOMAIN");
        assert_eq!(rcode_name(11), "11");
    }
}
