//! TLS (and SSLv2/SSLv3) app-layer parser: records, handshake messages, certificates,
//! JA3/JA3S/JA4, and the EVE `tls` record — matching what Suricata 7.0.10 parses and logs.
//!
//! Layer: an app-layer parser under `applayer`, above `events` and `types`. The pipeline calls
//! [`probe`] on the first bytes of a TCP direction, then drives one [`TlsState`] per flow
//! through [`events::app::StreamParser`]. Detection gets a [`TlsTxBuffers`] snapshot of the
//! session when [`TlsConfig::inspect`] is on: on the `tls` output, or, for a session that is
//! not logged, from [`TlsState::take_unlogged_inspect`] (see [`inspect`] for each buffer's
//! content, checked against Suricata 7.0.10). [`TlsState::session`] shows the live state.
//!
//! # What it owns
//! - Record framing for SSLv2 (2- and 3-byte headers) and SSLv3..TLS 1.3, with records split
//!   across segments and several records per segment; handshake messages spanning records.
//! - ClientHello/ServerHello fields (SNI, versions incl. `supported_versions` and TLS 1.3
//!   drafts, session ids, ciphers, extensions), the first Certificate message of each side
//!   (subject, issuer, serial, SHA-1 fingerprint, validity, DER chain), heartbeat checks.
//! - JA3/JA3S per Salesforce (GREASE removed) and JA4 per FoxIO as Suricata 7 computes them.
//! - The `tls` EVE object (basic, extended or custom fields) and the TLS `anomaly` events,
//!   with Suricata's names.
//!
//! # Caps (see [`config::TlsCaps`] and the constants in [`parser`])
//! Record size [`parser::MAX_RECORD_LEN`] (Suricata's 2^14 + 1024; longer is
//! `INVALID_RECORD_LENGTH`); framing buffer [`parser::MAX_BUFFERED`] per direction (one
//! record); handshake message reassembly [`config::MAX_HANDSHAKE_MESSAGE`]; certificates kept
//! per chain [`config::MAX_CHAIN_CERTS`]; certificate size [`config::MAX_CERT_LEN`]; anomaly
//! events per flow [`parser::MAX_EVENTS`]. Hitting a cap raises an anomaly and truncates.
//!
//! # What it must never do
//! Panic, index unchecked or overflow on peer-controlled bytes; grow without a cap; let the
//! slicing of the stream change how it is framed or parsed (one byte at a time gives the same
//! records as whole segments); write more than one `tls` record per flow.
//!
//! Two outcomes do follow the slicing, on purpose, because Suricata's follow its packets and
//! we match its output when the pipeline passes data as Suricata's stream engine does (one
//! call per segment as it is acknowledged):
//! - whether the handshake is done is checked at the end of each `parse` call (unless the call
//!   ended inside a record body), so the moment the record is written — and, when a server
//!   asks for a client certificate in a later segment than its own certificate, whether the
//!   client's makes it in — follows the calls;
//! - an unknown record type in a TLS 1.0/1.1 stream is tolerated by dropping the rest of the
//!   data of that call, so where parsing resumes follows the calls.
//!
//! # Why not `tls-parser` for the hellos
//! `tls-parser` (used here for record headers, record/handshake type and version vocabulary,
//! and cipher suite names) parses a message all or nothing.
//! Suricata walks a hello field by field and keeps what it got before a malformed field, and
//! that partial behaviour decides what is logged (SNI, JA3 string without hash …), so hello
//! and certificate-list bodies are walked with our own bounds-checked cursor.
#![forbid(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

pub mod anomaly;
pub mod cert;
pub mod config;
mod cursor;
mod eve;
mod hello;
pub mod inspect;
pub mod ja;
pub mod parser;
pub mod session;
pub mod version;

pub use anomaly::TlsEvent;
pub use cert::CertInfo;
pub use config::{EncryptionHandling, TlsCaps, TlsConfig, TlsFields};
pub use inspect::TlsTxBuffers;
pub use ja::{Ja3, Ja4};
pub use parser::TlsState;
pub use session::{ConnInfo, SslFlags, TlsSession};

use events::app::Probe;
use tls_parser::{TlsRecordType, TlsVersion};
use types::Direction;

/// The app-layer protocol name, as printed in `app_proto`.
pub const APP_PROTO: &str = "tls";

/// Content-based protocol detection, mirroring Suricata's TLS patterns.
///
/// - To server: a handshake record header `16 03 0x` (x = 0..3), Suricata's `01 03 0x`
///   pattern, or an SSLv2 ClientHello (2-byte header, type 1) announcing SSL 2.0
///   (`00 02`) or SSL 3.0 .. TLS 1.2.
/// - To client: an alert, handshake or application data record header `15/16/17 03 0x`.
///
/// `NeedMore` while fewer bytes than a decision needs (3, or 5 for an SSLv2 hello) could
/// still match.
pub fn probe(dir: Direction, data: &[u8]) -> Probe {
    let first = data.first().copied();
    let v3_types: &[u8] = match dir {
        Direction::ToServer => &[TlsRecordType::Handshake.0, 0x01],
        Direction::ToClient => &[
            TlsRecordType::Alert.0,
            TlsRecordType::Handshake.0,
            TlsRecordType::ApplicationData.0,
        ],
    };
    let sslv2_candidate = dir == Direction::ToServer && first.is_some_and(|b| b & 0x80 != 0);
    let v3_candidate = first.is_some_and(|b| v3_types.contains(&b));
    let (Some(&a), Some(&b), Some(&c)) = (data.first(), data.get(1), data.get(2)) else {
        // Fewer than 3 bytes: undecided while a prefix could still match.
        let v3_prefix = v3_candidate && data.get(1).is_none_or(|&b| b == 3);
        return if data.is_empty() || v3_prefix || sslv2_candidate {
            Probe::NeedMore
        } else {
            Probe::NoMatch
        };
    };
    if v3_types.contains(&a) && b == 3 && c <= 3 {
        return Probe::Match;
    }
    if sslv2_candidate && c == 1 {
        let Some(&[v0, v1]) = data.get(3..5) else {
            return Probe::NeedMore;
        };
        let v = u16::from_be_bytes([v0, v1]);
        let known = v == 0x0002
            || [
                TlsVersion::Ssl30,
                TlsVersion::Tls10,
                TlsVersion::Tls11,
                TlsVersion::Tls12,
            ]
            .iter()
            .any(|t| t.0 == v);
        return if known { Probe::Match } else { Probe::NoMatch };
    }
    Probe::NoMatch
}

/// Fuzzing entry points (used by `firmware/fuzz`). Never panic, whatever the input.
#[doc(hidden)]
pub mod fuzzing {
    use events::app::StreamParser;
    use types::Direction;

    use crate::{EncryptionHandling, TlsConfig, TlsState};

    /// Drives a [`TlsState`] through all its states. Byte 0 picks the configuration; then
    /// each chunk is one control byte (bit 7: direction; bit 6 with bit 5: gap, or EOF when
    /// bit 5 is clear and bits 0..4 are zero; else bits 0..4 + 1 = chunk length, scaled ×64
    /// when bit 6 is set) followed by the chunk.
    pub fn fuzz_stream(data: &[u8]) {
        let Some((&cfg_byte, mut rest)) = data.split_first() else {
            return;
        };
        let cfg = TlsConfig {
            ja3: cfg_byte & 1 != 0,
            ja4: cfg_byte & 2 != 0,
            log_ja4: cfg_byte & 4 != 0,
            log_resumed: cfg_byte & 8 != 0,
            extended: cfg_byte & 16 == 0,
            encryption_handling: match cfg_byte >> 5 & 3 {
                1 => EncryptionHandling::Bypass,
                2 => EncryptionHandling::Full,
                _ => EncryptionHandling::Default,
            },
            inspect: cfg_byte & 0x80 != 0,
            ..TlsConfig::default()
        };
        let mut st = TlsState::new(&cfg);
        let mut out = Vec::new();
        while let Some((&ctl, tail)) = rest.split_first() {
            let dir = if ctl & 0x80 != 0 {
                Direction::ToClient
            } else {
                Direction::ToServer
            };
            if ctl & 0x60 == 0x60 {
                st.gap(dir, u64::from(ctl & 0x1f), &mut out);
                rest = tail;
                continue;
            }
            if ctl & 0x7f == 0 {
                st.eof(dir, &mut out);
                rest = tail;
                continue;
            }
            let mut len = usize::from(ctl & 0x1f).saturating_add(1);
            if ctl & 0x40 != 0 {
                len = len.saturating_mul(64);
            }
            let (chunk, after) = tail.split_at(len.min(tail.len()));
            let _ = st.parse(dir, chunk, &mut out);
            let _ = st.session().client.ja4_hash();
            exercise_all(&mut st, &mut out);
            rest = after;
        }
        st.flush(&mut out);
        exercise_all(&mut st, &mut out);
    }

    /// Reads every buffer and number of the snapshots produced so far, then drops the outputs.
    fn exercise_all(st: &mut TlsState, out: &mut Vec<events::app::AppOutput>) {
        for o in out.drain(..) {
            if let Some(s) = o.inspect.as_deref() {
                exercise(s);
            }
        }
        if let Some(s) = st.take_unlogged_inspect() {
            exercise(s.as_ref());
        }
    }

    fn exercise(s: &dyn events::inspect::TxBuffers) {
        use crate::inspect::{BUFFERS, DIR_NUMBERS, NUMBERS};
        for dir in [Direction::ToServer, Direction::ToClient] {
            for name in BUFFERS {
                for i in 0..4 {
                    let _ = s.buffer(name, dir, i);
                }
            }
            for n in DIR_NUMBERS {
                let _ = s.number_dir(n, dir);
            }
            let _ = s.complete(dir);
        }
        for n in NUMBERS {
            let _ = s.number(n);
        }
    }

    /// Feeds `data` whole to the to-server side, then the same bytes one at a time to a second
    /// parser, and to the probe: exercises record framing at every split point.
    pub fn fuzz_records(data: &[u8]) {
        let cfg = TlsConfig {
            ja3: true,
            ja4: true,
            log_ja4: true,
            inspect: true,
            ..TlsConfig::default()
        };
        let mut out = Vec::new();
        let mut a = TlsState::new(&cfg);
        let _ = a.parse(Direction::ToServer, data, &mut out);
        let _ = a.parse(Direction::ToClient, data, &mut out);
        a.flush(&mut out);
        exercise_all(&mut a, &mut out);
        let mut b = TlsState::new(&cfg);
        for byte in data.chunks(1) {
            let _ = b.parse(Direction::ToClient, byte, &mut out);
        }
        b.flush(&mut out);
        exercise_all(&mut b, &mut out);
        let _ = crate::probe(Direction::ToServer, data);
        let _ = crate::probe(Direction::ToClient, data);
    }

    /// Decodes `data` as one certificate.
    pub fn fuzz_cert(data: &[u8]) {
        let _ = crate::cert::decode(data);
    }
}

#[cfg(test)]
mod inspect_tests;
#[cfg(test)]
mod tests;
