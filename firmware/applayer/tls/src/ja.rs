//! JA3 / JA3S (Salesforce) and JA4 (FoxIO) fingerprints, the way Suricata 7 builds them.
//!
//! JA3 is `version,ciphers,extensions,groups,point_formats` (JA3S: the first three, from the
//! ServerHello), decimal values joined with `-`, GREASE values left out, hashed with MD5.
//!
//! JA4 (TLS over TCP) is `t` + version code + `d`/`i` (SNI present) + cipher count + extension
//! count (both capped at 99, extensions counting SNI and ALPN) + first and last character of
//! the first ALPN value, then `_` + 12 hex of SHA-256 over the sorted cipher list, then `_` +
//! 12 hex of SHA-256 over the sorted extension list (without SNI and ALPN) `_` the signature
//! algorithms in wire order. Suricata 7 differs from the FoxIO reference on two points that we
//! keep: an empty cipher list hashes the empty string (not `000000000000`), and the `_` before
//! the signature algorithms is always there, even with none.

use md5::{Digest as _, Md5};
use sha2::Sha256;
use std::fmt::Write as _;

/// Cap on values a JA4 builder keeps per list. A ClientHello is at most 64 KiB, so this many
/// 2-byte values is already more than fits; the cap only guarantees the builder can never
/// grow past one hello's worth even if a hostile flow sends many hellos.
pub(crate) const MAX_JA4_VALUES: usize = 32 * 1024;

/// True for the 16 GREASE values (RFC 8701).
pub(crate) fn is_grease(v: u16) -> bool {
    let [hi, lo] = v.to_be_bytes();
    hi == lo && lo & 0x0f == 0x0a
}

/// Appends `v` to a `-`-joined decimal list.
pub(crate) fn push_value(list: &mut String, v: u16) {
    if !list.is_empty() {
        list.push('-');
    }
    let _ = write!(list, "{v}");
}

/// Lowercase hex MD5 of `s`.
pub(crate) fn md5_hex(s: &str) -> String {
    hex_lower(&Md5::digest(s.as_bytes()))
}

/// Lowercase hex without separators.
pub(crate) fn hex_lower(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len().saturating_mul(2));
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// A JA3 or JA3S being built for one direction.
///
/// Mirrors Suricata: the string is created by the first hello's version and then only grows
/// while no hash has been computed yet, so a second hello in the same direction (a client
/// repeating its ClientHello, or answering a HelloRetryRequest) does not change it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ja3 {
    /// The canonical string (possibly partial when a hello was malformed).
    pub string: Option<String>,
    /// MD5 of `string`, set once a hello was parsed through its extensions.
    pub hash: Option<String>,
}

impl Ja3 {
    /// True while hello fields should still be added.
    pub(crate) fn active(&self) -> bool {
        self.hash.is_none()
    }

    /// Starts the string with the hello's version, unless it already exists.
    pub(crate) fn start(&mut self, version: u16) {
        if self.string.is_none() {
            let mut s = String::new();
            push_value(&mut s, version);
            self.string = Some(s);
        }
    }

    /// Appends `,` and a `-`-joined list (Suricata's `Ja3BufferAppendBuffer`).
    pub(crate) fn append(&mut self, list: &str) {
        if let Some(s) = &mut self.string {
            s.push(',');
            s.push_str(list);
        }
    }

    /// Computes the hash from the string, once.
    pub(crate) fn finish(&mut self) {
        if self.hash.is_none() {
            if let Some(s) = &self.string {
                self.hash = Some(md5_hex(s));
            }
        }
    }
}

/// A JA4 being built from ClientHello fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ja4 {
    version: Option<u16>,
    ciphers: Vec<u16>,
    extensions: Vec<u16>,
    sig_algs: Vec<u16>,
    domain: bool,
    alpn: Option<(u8, u8)>,
    nof_exts: u16,
}

impl Ja4 {
    /// Records a version seen (hello version, `supported_versions` choice); the highest wins.
    pub(crate) fn set_version(&mut self, v: u16) {
        if is_grease(v) {
            return;
        }
        if self.version.is_none_or(|cur| v > cur) {
            self.version = Some(v);
        }
    }

    /// Records the first ALPN protocol name: its first and last characters, or, when either
    /// is not ASCII alphanumeric, the first hex digit of the first byte and the last hex digit
    /// of the last byte (FoxIO's rule; `\xcd2` gives `c2`, `h-` gives `6d`). A one-byte name
    /// counts as both first and last; a 2-byte GREASE value is ignored.
    pub(crate) fn set_alpn(&mut self, name: &[u8]) {
        let (Some(&first), Some(&last)) = (name.first(), name.last()) else {
            return;
        };
        if name.len() == 2 && is_grease(u16::from_be_bytes([first, last])) {
            return;
        }
        self.alpn = Some(
            if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() {
                (first, last)
            } else {
                (hex_digit(first >> 4), hex_digit(last & 0x0f))
            },
        );
    }

    /// Records an offered cipher suite.
    pub(crate) fn add_cipher(&mut self, c: u16) {
        if !is_grease(c) && self.ciphers.len() < MAX_JA4_VALUES {
            self.ciphers.push(c);
        }
    }

    /// Records an extension type (SNI and ALPN only count, they are not hashed).
    pub(crate) fn add_extension(&mut self, e: u16) {
        if is_grease(e) {
            return;
        }
        match e {
            0x0000 => self.domain = true,
            0x0010 => {}
            _ => {
                if self.extensions.len() < MAX_JA4_VALUES {
                    self.extensions.push(e);
                }
            }
        }
        self.nof_exts = self.nof_exts.saturating_add(1);
    }

    /// Records a signature algorithm.
    pub(crate) fn add_sig_alg(&mut self, s: u16) {
        if !is_grease(s) && self.sig_algs.len() < MAX_JA4_VALUES {
            self.sig_algs.push(s);
        }
    }

    /// The fingerprint, `t13d1516h2_8daaf6152771_e5627efa2ab1` style.
    pub fn hash(&self) -> String {
        let version = match self.version {
            Some(0x0304) => "13",
            Some(0x0303) => "12",
            Some(0x0302) => "11",
            Some(0x0301) => "10",
            Some(0x0300) => "s3",
            _ => "00",
        };
        let (a1, a2) = match self.alpn {
            Some((f, l)) => (char::from(f), char::from(l)),
            None => ('0', '0'),
        };
        let mut out = format!(
            "t{version}{}{:02}{:02}{a1}{a2}_",
            if self.domain { 'd' } else { 'i' },
            self.ciphers.len().min(99),
            self.nof_exts.min(99),
        );
        let mut c = self.ciphers.clone();
        c.sort_unstable();
        out.push_str(&sha256_12(&hex_list(&c)));
        out.push('_');
        let mut e = self.extensions.clone();
        e.sort_unstable();
        let raw = format!("{}_{}", hex_list(&e), hex_list(&self.sig_algs));
        out.push_str(&sha256_12(&raw));
        out
    }
}

/// The lowercase hex digit for `n` (0..=15).
fn hex_digit(n: u8) -> u8 {
    match n {
        0..=9 => b'0'.saturating_add(n),
        _ => b'a'.saturating_add(n.saturating_sub(10)).min(b'f'),
    }
}

fn hex_list(v: &[u16]) -> String {
    let mut s = String::with_capacity(v.len().saturating_mul(5));
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "{x:04x}");
    }
    s
}

fn sha256_12(s: &str) -> String {
    let mut h = hex_lower(&Sha256::digest(s.as_bytes()));
    h.truncate(12);
    h
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
    fn grease() {
        for v in [0x0a0a, 0x1a1a, 0xfafa, 0xdada] {
            assert!(is_grease(v));
        }
        for v in [0x0a1a, 0x0000, 0x0b0b, 0x1301] {
            assert!(!is_grease(v));
        }
    }

    #[test]
    fn ja4_matches_suricata_unit_vectors() {
        // The vectors Suricata's own JA4 unit test uses (with `t` instead of `q`).
        let mut j = Ja4::default();
        assert_eq!(j.hash(), "t00i000000_e3b0c44298fc_d2e2adf7177b");
        j.set_version(0x0303);
        assert_eq!(j.hash(), "t12i000000_e3b0c44298fc_d2e2adf7177b");
        j.add_extension(0x0a0a);
        assert_eq!(j.hash(), "t12i000000_e3b0c44298fc_d2e2adf7177b");
        j.add_extension(0x0000);
        assert_eq!(j.hash(), "t12d000100_e3b0c44298fc_d2e2adf7177b");
        j.set_alpn(b"h3-16");
        j.add_extension(0x0010);
        assert_eq!(j.hash(), "t12d0002h6_e3b0c44298fc_d2e2adf7177b");
        for c in [0x1111, 0x0a20, 0xbada] {
            j.add_cipher(c);
        }
        assert_eq!(j.hash(), "t12d0302h6_f500716053f9_d2e2adf7177b");
        for e in [0xface, 0x0121, 0x1234] {
            j.add_extension(e);
        }
        j.add_sig_alg(0x6666);
        assert_eq!(j.hash(), "t12d0305h6_f500716053f9_2debc8880bae");
    }

    #[test]
    fn ja4_counts_cap_at_99_and_short_alpn_ignored() {
        let mut j = Ja4::default();
        for i in 1..200 {
            j.add_cipher(i);
            j.add_extension(i);
        }
        j.set_alpn(b"\x0a\x0a");
        assert!(j.hash().starts_with("t00i999900"));
        j.set_alpn(b"a");
        assert!(j.hash().starts_with("t00i9999aa"));
        j.set_version(0x0304);
        j.set_version(0x0301);
        assert!(j.hash().starts_with("t13"));
    }

    #[test]
    fn ja4_alpn_characters_like_suricata_7_0_10() {
        // Values checked against Suricata 7.0.10's output.
        for (alpn, want) in [
            (&b"\xcd2"[..], "c2"),
            (b"h-", "6d"),
            (b"a", "aa"),
            (b"ab", "ab"),
            (b"\x00\x01", "01"),
            (b"-h2-", "2d"),
            (b"\x0a\x0a", "00"),
            (b"http/1.1", "h1"),
            (b"\xff", "ff"),
            (b"a\xc3\xa9", "69"),
        ] {
            let mut j = Ja4::default();
            j.set_alpn(alpn);
            assert_eq!(&j.hash()[8..10], want, "{alpn:?}");
        }
    }

    #[test]
    fn ja3_appends_once() {
        let mut j = Ja3::default();
        j.start(771);
        j.append("4865-4866");
        j.append("");
        j.finish();
        assert_eq!(j.string.as_deref(), Some("771,4865-4866,"));
        assert_eq!(j.hash.as_deref(), Some(md5_hex("771,4865-4866,").as_str()));
        assert!(!j.active());
    }
}
