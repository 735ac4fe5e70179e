//! X.509 certificate decoding into the fields Suricata logs and matches on.
//!
//! Decoding uses `x509-parser`, as Suricata 7 does, so the subject/issuer strings are rendered
//! by the same code: RDNs joined with `", "`, multi-valued RDNs with `" + "`, attribute names
//! abbreviated from the OID registry (`CN`, `O`, `Email`, `streetAddress` …), unknown OIDs as
//! dotted numbers, non-string values as hex. Nothing here panics on hostile DER: the decoder
//! returns errors, and those map to the `CERTIFICATE_INVALID_*` events Suricata raises.

use sha1::{Digest as _, Sha1};
use std::fmt::Write as _;
use x509_parser::error::X509Error;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::anomaly::TlsEvent;

/// The decoded fields of one certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertInfo {
    /// Subject, rendered like Suricata (`C=US, O=Example, CN=www.example.com`).
    pub subject: String,
    /// Issuer, same rendering.
    pub issuer: String,
    /// Serial as it appears in the DER (leading zero kept), uppercase hex joined with `:`.
    pub serial: String,
    /// SHA-1 of the DER, lowercase hex joined with `:`.
    pub fingerprint: String,
    /// Validity start, seconds since the Unix epoch (UTC).
    pub not_before: i64,
    /// Validity end, seconds since the Unix epoch (UTC).
    pub not_after: i64,
}

/// Outcome of decoding one certificate, following Suricata's handling of each failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// All fields extracted.
    Cert(CertInfo),
    /// The DER did not decode: raise the event, leave the certificate out of the chain and
    /// go on with the next one.
    Undecodable(TlsEvent),
    /// The subject cannot be passed on as a C string (it contains NUL): raise
    /// `CERTIFICATE_INVALID_SUBJECT` and stop processing the chain.
    BadSubject,
    /// Same for the issuer; the subject was already taken.
    BadIssuer(String),
}

/// Decodes `der` (one certificate, trailing bytes ignored as Suricata does).
pub(crate) fn decode(der: &[u8]) -> Decoded {
    let cert = match X509Certificate::from_der(der) {
        Ok((_rest, c)) => c,
        Err(e) => return Decoded::Undecodable(error_event(&e)),
    };
    let subject = cert.subject().to_string();
    if subject.contains('\0') {
        return Decoded::BadSubject;
    }
    let issuer = cert.issuer().to_string();
    if issuer.contains('\0') {
        return Decoded::BadIssuer(subject);
    }
    Decoded::Cert(CertInfo {
        subject,
        issuer,
        serial: hex_join(cert.raw_serial(), ':', true),
        fingerprint: hex_join(&Sha1::digest(der), ':', false),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
    })
}

/// Maps a decoder error to the event Suricata raises for it.
fn error_event(e: &x509_parser::nom::Err<X509Error>) -> TlsEvent {
    use x509_parser::nom::Err;
    match e {
        Err::Incomplete(_) => TlsEvent::CertificateInvalidLength,
        Err::Error(e) | Err::Failure(e) => match e {
            X509Error::InvalidVersion => TlsEvent::CertificateInvalidVersion,
            X509Error::InvalidSerial => TlsEvent::CertificateInvalidSerial,
            X509Error::InvalidAlgorithmIdentifier => {
                TlsEvent::CertificateInvalidAlgorithmidentifier
            }
            X509Error::InvalidX509Name => TlsEvent::CertificateInvalidX509name,
            X509Error::InvalidDate => TlsEvent::CertificateInvalidDate,
            X509Error::InvalidExtensions => TlsEvent::CertificateInvalidExtensions,
            X509Error::Der(_) => TlsEvent::CertificateInvalidDer,
            _ => TlsEvent::InvalidCertificate,
        },
    }
}

/// Hex bytes joined with `sep`.
pub(crate) fn hex_join(b: &[u8], sep: char, upper: bool) -> String {
    let mut s = String::with_capacity(b.len().saturating_mul(3));
    for (i, x) in b.iter().enumerate() {
        if i > 0 {
            s.push(sep);
        }
        let _ = if upper {
            write!(s, "{x:02X}")
        } else {
            write!(s, "{x:02x}")
        };
    }
    s
}

/// Formats a Unix timestamp as `YYYY-MM-DDTHH:MM:SS` (UTC), as Suricata logs validity.
pub fn format_time(ts: i64) -> String {
    let days = ts.div_euclid(86_400);
    let secs = ts.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
/// Valid for every `i64` day count an X.509 time can produce (years 0000..9999).
// The input is clamped to ±10^9 days first, so no intermediate value comes near i64's range.
#[allow(clippy::arithmetic_side_effects)]
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    // Clamp far outside any representable certificate date so the arithmetic stays small.
    let z = z.clamp(-1_000_000_000, 1_000_000_000) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
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
    fn time_format() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00");
        assert_eq!(format_time(1_423_764_447), "2015-02-12T18:07:27");
        assert_eq!(format_time(1_739_124_447), "2025-02-09T18:07:27");
        assert_eq!(format_time(-1), "1969-12-31T23:59:59");
        assert_eq!(format_time(-631_152_000), "1950-01-01T00:00:00");
        assert_eq!(format_time(253_402_300_799), "9999-12-31T23:59:59");
        assert_eq!(format_time(951_782_400), "2000-02-29T00:00:00");
    }

    #[test]
    fn hex_joins() {
        assert_eq!(hex_join(&[0x00, 0x97, 0xe6], ':', true), "00:97:E6");
        assert_eq!(hex_join(&[0x3a, 0x0b], ':', false), "3a:0b");
        assert_eq!(hex_join(&[], ':', false), "");
    }

    #[test]
    fn garbage_is_undecodable() {
        assert!(matches!(decode(&[]), Decoded::Undecodable(_)));
        assert!(matches!(
            decode(&[0x30, 0x03, 1, 2, 3]),
            Decoded::Undecodable(_)
        ));
        assert!(matches!(decode(&[0xff; 40]), Decoded::Undecodable(_)));
    }
}
