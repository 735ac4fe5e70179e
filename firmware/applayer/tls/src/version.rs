//! Protocol version numbers and the strings Suricata prints for them.
//!
//! Versions are kept as the raw 16-bit wire value (major in the high byte), never as an enum:
//! an IDS must report the odd values it sees (`0x0305`, drafts, Facebook's experiments).

/// No version seen yet (`UNDETERMINED`).
pub const VERSION_UNKNOWN: u16 = 0x0000;
/// SSL 2.0 (also the marker the parser uses for a direction speaking SSLv2 framing).
pub const SSL_V2: u16 = 0x0200;
/// SSL 3.0.
pub const SSL_V3: u16 = 0x0300;
/// TLS 1.0.
pub const TLS_V10: u16 = 0x0301;
/// TLS 1.1.
pub const TLS_V11: u16 = 0x0302;
/// TLS 1.2.
pub const TLS_V12: u16 = 0x0303;
/// TLS 1.3.
pub const TLS_V13: u16 = 0x0304;
/// What TLS 1.3 drafts before 16 are folded into (they are indistinguishable on the wire).
pub const TLS_V13_PRE_DRAFT16: u16 = 0x7f01;

/// Facebook's TLS 1.3 experiment versions Suricata knows, with their suffix.
const FB_DRAFTS: [(u16, &str); 5] = [
    (0xfb14, "TLS 1.3 draft-20-fb"),
    (0xfb15, "TLS 1.3 draft-21-fb"),
    (0xfb16, "TLS 1.3 draft-22-fb"),
    (0xfb17, "TLS 1.3 draft-23-fb"),
    (0xfb1a, "TLS 1.3 draft-26-fb"),
];

/// True for the versions Suricata accepts in a record header or a `supported_versions`
/// list: SSLv3 to TLS 1.3, TLS 1.3 drafts 16 to 28 (and the pre-16 marker), Facebook's
/// drafts. Anything else in a record header is `INVALID_RECORD_VERSION`.
pub fn is_valid(v: u16) -> bool {
    matches!(v, SSL_V3..=TLS_V13)
        || v == TLS_V13_PRE_DRAFT16
        || (0x7f10..=0x7f1c).contains(&v)
        || FB_DRAFTS.iter().any(|&(x, _)| x == v)
}

/// The version as Suricata's EVE `tls.version` prints it.
///
/// Note the historical mix: `TLSv1` but `TLS 1.1`; unknown values print as `0x` and four
/// lowercase hex digits.
pub fn to_eve_string(v: u16) -> String {
    let s = match v {
        VERSION_UNKNOWN => "UNDETERMINED",
        SSL_V2 => "SSLv2",
        SSL_V3 => "SSLv3",
        TLS_V10 => "TLSv1",
        TLS_V11 => "TLS 1.1",
        TLS_V12 => "TLS 1.2",
        TLS_V13 => "TLS 1.3",
        TLS_V13_PRE_DRAFT16 => "TLS 1.3 draft-<16",
        0x7f10..=0x7f1c => return format!("TLS 1.3 draft-{}", v & 0xff),
        _ => match FB_DRAFTS.iter().find(|&&(x, _)| x == v) {
            Some(&(_, s)) => s,
            None => return format!("0x{v:04x}"),
        },
    };
    s.to_owned()
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )]
    use super::*;

    #[test]
    fn strings_match_suricata() {
        assert_eq!(to_eve_string(0), "UNDETERMINED");
        assert_eq!(to_eve_string(0x0200), "SSLv2");
        assert_eq!(to_eve_string(0x0300), "SSLv3");
        assert_eq!(to_eve_string(0x0301), "TLSv1");
        assert_eq!(to_eve_string(0x0302), "TLS 1.1");
        assert_eq!(to_eve_string(0x0303), "TLS 1.2");
        assert_eq!(to_eve_string(0x0304), "TLS 1.3");
        assert_eq!(to_eve_string(0x7f1c), "TLS 1.3 draft-28");
        assert_eq!(to_eve_string(0x7f10), "TLS 1.3 draft-16");
        assert_eq!(to_eve_string(0x7f01), "TLS 1.3 draft-<16");
        assert_eq!(to_eve_string(0xfb17), "TLS 1.3 draft-23-fb");
        assert_eq!(to_eve_string(0x0305), "0x0305");
        assert_eq!(to_eve_string(0xfb18), "0xfb18");
    }

    #[test]
    fn validity() {
        for v in [
            0x0300, 0x0301, 0x0302, 0x0303, 0x0304, 0x7f01, 0x7f10, 0x7f1c, 0xfb1a,
        ] {
            assert!(is_valid(v), "{v:04x}");
        }
        for v in [0, 0x0200, 0x0305, 0x7f02, 0x7f1d, 0xfb18, 0x0a0a] {
            assert!(!is_valid(v), "{v:04x}");
        }
    }
}
