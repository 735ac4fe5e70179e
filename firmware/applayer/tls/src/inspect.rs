//! What the signature engine may inspect in a TLS session (Suricata 7.0.10's keywords).
//!
//! Suricata keeps one transaction per TLS flow. With
//! [`TlsConfig::inspect`](crate::TlsConfig::inspect) on, the parser takes one snapshot of it
//! at the moment that transaction is done for logging (the handshake is done, or the session
//! ended): the snapshot rides on the `tls` output, or, when the session is not worth a record
//! (no certificate, not resumed, not TLS 1.3), is kept for
//! [`TlsState::take_unlogged_inspect`](crate::TlsState::take_unlogged_inspect).
//!
//! Cost: the certificate chains (the only large data) *move* into the snapshot — nothing reads
//! them once the record's moment has passed — and the rest (names, hashes, 32-byte randoms) is
//! copied, a few hundred bytes.
//!
//! Buffers, per side (`ToServer`: the client's, `ToClient`: the server's), with the content
//! Suricata 7.0.10 gives them (checked with Lua-dumping rules on the corpus captures):
//! - `tls.sni` (to server): the SNI host name bytes up to the first NUL, not validated;
//! - `tls.cert_subject`, `tls.cert_issuer` (both sides: the server's certificate to the
//!   client, the client's to the server): the first certificate's names as EVE prints them;
//! - `tls.cert_serial` (`00:97:E6…`, uppercase) and `tls.cert_fingerprint` (SHA-1,
//!   `3a:0b…`, lowercase), both sides;
//! - `tls.certs` (both sides, one buffer per certificate, by index): the DER of each
//!   certificate of the side's first Certificate message;
//! - `ja3.hash`, `ja3.string` (to server), `ja3s.hash`, `ja3s.string` (to client): when JA3
//!   is computed ([`TlsConfig::ja3`](crate::TlsConfig::ja3)); the string may exist without a
//!   hash (a hello cut short);
//! - `ja4.hash` (to server): computed whenever `inspect` is on (it is logged only when
//!   [`TlsConfig::ja4`](crate::TlsConfig::ja4) and
//!   [`TlsConfig::log_ja4`](crate::TlsConfig::log_ja4) both say so);
//! - `tls.random` (32 bytes), `tls.random_time` (its first 4), `tls.random_bytes` (its last
//!   28): to server the client's random, to client the server's — with Suricata 7.0.10's
//!   availability quirk, which crosses the flags: the client's random is only offered once
//!   the *ServerHello* was seen as well, and the server's as soon as the *ClientHello* was,
//!   as 32 zero bytes until the ServerHello fills it in.
//!
//! Empty buffers (an empty issuer, say) are absent: Suricata does not inspect a zero-length
//! buffer.
//!
//! Numbers:
//! - `number_dir("tls.version", dir)`: the side's version as a raw 16-bit value, with
//!   Suricata's semantics (record header version until a hello sets it, then the hello's or
//!   `supported_versions`' choice; TLS 1.3 drafts before 16 fold to `0x7f01`). Suricata's
//!   `tls.version:1.3` also matches any `0x7fxx` draft, a raw `0x…` value only itself.
//! - `number_dir("ssl_version", dir)`: the same version as Suricata's `ssl_version` keyword
//!   classifies it, one bit per keyword value: [`SSL_VERSION_SSLV2`] … [`SSL_VERSION_TLS13`];
//!   0 when it is none of them (Suricata's keyword then never matches, negated or not).
//! - `number("ssl_state")`: the handshake messages the session showed, with Suricata's bit
//!   values ([`SslFlags::STATE_CLIENT_HELLO`], `…SERVER_HELLO`, `…CLIENT_KEYX`,
//!   `…SERVER_KEYX`, `…UNKNOWN`). Suricata's `ssl_state` tests a *current* state instead (the
//!   last of those messages parsed before the packet being inspected), which a single
//!   snapshot cannot replay: `number("ssl_state.current")` gives its value at the snapshot.
//! - `number("tls.cert_chain_len")` / `number_dir`: certificates in the side's chain (the
//!   server's for `number`).
//! - `number_dir("tls.cert_notbefore" | "tls.cert_notafter", dir)`: validity bounds of the
//!   side's first certificate, Unix seconds (absent before 1970).

use std::borrow::Cow;

use events::inspect::TxBuffers;
use types::Direction;

use crate::ja::Ja3;
use crate::session::{ConnInfo, SslFlags, TlsSession};
use crate::version::{SSL_V2, SSL_V3, TLS_V10, TLS_V11, TLS_V12, TLS_V13};

/// `number_dir("ssl_version")` bit for `sslv2`.
pub const SSL_VERSION_SSLV2: u64 = 1 << 0;
/// `number_dir("ssl_version")` bit for `sslv3`.
pub const SSL_VERSION_SSLV3: u64 = 1 << 1;
/// `number_dir("ssl_version")` bit for `tls1.0`.
pub const SSL_VERSION_TLS10: u64 = 1 << 2;
/// `number_dir("ssl_version")` bit for `tls1.1`.
pub const SSL_VERSION_TLS11: u64 = 1 << 3;
/// `number_dir("ssl_version")` bit for `tls1.2`.
pub const SSL_VERSION_TLS12: u64 = 1 << 4;
/// `number_dir("ssl_version")` bit for `tls1.3` (TLS 1.3 and its `0x7fxx` drafts).
pub const SSL_VERSION_TLS13: u64 = 1 << 5;

/// The buffers a snapshot may hold (each side), in Suricata's names.
pub const BUFFERS: &[&str] = &[
    "tls.sni",
    "tls.cert_subject",
    "tls.cert_issuer",
    "tls.cert_serial",
    "tls.cert_fingerprint",
    "tls.certs",
    "ja3.hash",
    "ja3.string",
    "ja3s.hash",
    "ja3s.string",
    "ja4.hash",
    "tls.random",
    "tls.random_time",
    "tls.random_bytes",
];

/// The numbers a snapshot answers for the whole session ([`TxBuffers::number`]).
pub const NUMBERS: &[&str] = &["ssl_state", "ssl_state.current", "tls.cert_chain_len"];

/// The numbers a snapshot answers per side ([`TxBuffers::number_dir`]).
pub const DIR_NUMBERS: &[&str] = &[
    "tls.version",
    "ssl_version",
    "tls.cert_chain_len",
    "tls.cert_notbefore",
    "tls.cert_notafter",
];

/// The `ssl_state` bits (Suricata's values).
const STATE_BITS: u32 = SslFlags::STATE_CLIENT_HELLO
    | SslFlags::STATE_SERVER_HELLO
    | SslFlags::STATE_CLIENT_KEYX
    | SslFlags::STATE_SERVER_KEYX
    | SslFlags::STATE_UNKNOWN;

/// Suricata's `ssl_version` classification of a raw version.
pub fn ssl_version_bit(v: u16) -> u64 {
    match v {
        SSL_V2 => SSL_VERSION_SSLV2,
        SSL_V3 => SSL_VERSION_SSLV3,
        TLS_V10 => SSL_VERSION_TLS10,
        TLS_V11 => SSL_VERSION_TLS11,
        TLS_V12 => SSL_VERSION_TLS12,
        TLS_V13 => SSL_VERSION_TLS13,
        _ if v >> 8 == 0x7f => SSL_VERSION_TLS13,
        _ => 0,
    }
}

/// What one side showed, as detection sees it.
#[derive(Debug, Default)]
struct Side {
    version: u16,
    /// The hello random; zeros until this side's hello set it.
    random: [u8; 32],
    subject: Option<String>,
    issuer: Option<String>,
    serial: Option<String>,
    fingerprint: Option<String>,
    not_before: Option<i64>,
    not_after: Option<i64>,
    chain: Vec<Vec<u8>>,
    ja3: Ja3,
}

impl Side {
    /// Copies the small fields of `c` and moves its chain out.
    fn take(c: &mut ConnInfo) -> Side {
        let cert = c.cert.as_ref();
        Side {
            version: c.version,
            random: c.random.unwrap_or_default(),
            subject: c.cert_subject().map(str::to_owned),
            issuer: c.cert_issuer().map(str::to_owned),
            serial: cert.map(|i| i.serial.clone()),
            fingerprint: cert.map(|i| i.fingerprint.clone()),
            not_before: cert.map(|i| i.not_before),
            not_after: cert.map(|i| i.not_after),
            chain: std::mem::take(&mut c.chain),
            ja3: c.ja3.clone(),
        }
    }
}

/// The inspection snapshot of one TLS session.
#[derive(Debug)]
pub struct TlsTxBuffers {
    client: Side,
    server: Side,
    /// SNI up to the first NUL.
    sni: Option<Vec<u8>>,
    ja4: Option<String>,
    flags: u32,
    current: u32,
    /// The `tls` object of an alert about this session.
    alert: Option<Box<events::tls::TlsEve>>,
}

impl TlsTxBuffers {
    /// Snapshot of `s`, taken once the handshake is done or the session ended; the
    /// certificate chains move out of it.
    pub(crate) fn take(s: &mut TlsSession) -> TlsTxBuffers {
        let f = s.flags;
        let sni = s
            .client
            .sni
            .as_deref()
            .map(|b| b.split(|&c| c == 0).next().unwrap_or(b).to_vec());
        TlsTxBuffers {
            client: Side::take(&mut s.client),
            server: Side::take(&mut s.server),
            sni,
            ja4: s.client.ja4_hash(),
            flags: f.0,
            current: s.current_state,
            alert: None,
        }
    }

    /// Keeps `rec` as the `tls` object of alerts about the session.
    pub(crate) fn with_alert_record(mut self, rec: events::tls::TlsEve) -> TlsTxBuffers {
        self.alert = Some(Box::new(rec));
        self
    }

    fn side(&self, dir: Direction) -> &Side {
        match dir {
            Direction::ToServer => &self.client,
            Direction::ToClient => &self.server,
        }
    }

    /// The random `tls.random*` reads in `dir`, when Suricata offers it (see the module docs:
    /// its availability checks are crossed).
    fn random(&self, dir: Direction) -> Option<&[u8; 32]> {
        let f = SslFlags(self.flags);
        let client_set = f.has(SslFlags::CLIENT_RANDOM_SET);
        let server_set = f.has(SslFlags::SERVER_RANDOM_SET);
        let offered = match dir {
            Direction::ToServer => client_set && server_set,
            Direction::ToClient => client_set,
        };
        offered.then(|| &self.side(dir).random)
    }
}

/// `Some(Borrowed)` of a string field.
fn text(s: Option<&String>) -> Option<Cow<'_, [u8]>> {
    s.map(|s| Cow::Borrowed(s.as_bytes()))
}

impl TxBuffers for TlsTxBuffers {
    fn app_proto(&self) -> &'static str {
        crate::APP_PROTO
    }

    fn alert_tls(&self) -> Option<&events::tls::TlsEve> {
        self.alert.as_deref()
    }

    /// Empty buffers are absent (an empty issuer, say): Suricata does not inspect a
    /// zero-length buffer.
    fn buffer(&self, name: &str, dir: Direction, index: usize) -> Option<Cow<'_, [u8]>> {
        self.lookup(name, dir, index).filter(|b| !b.is_empty())
    }

    fn number(&self, name: &str) -> Option<u64> {
        match name {
            "ssl_state" => Some(u64::from(self.flags & STATE_BITS)),
            "ssl_state.current" => Some(u64::from(self.current & STATE_BITS)),
            "tls.cert_chain_len" => u64::try_from(self.server.chain.len()).ok(),
            _ => None,
        }
    }

    fn number_dir(&self, name: &str, dir: Direction) -> Option<u64> {
        let side = self.side(dir);
        match name {
            "tls.version" => Some(u64::from(side.version)),
            "ssl_version" => Some(ssl_version_bit(side.version)),
            "tls.cert_chain_len" => u64::try_from(side.chain.len()).ok(),
            "tls.cert_notbefore" => side.not_before.and_then(|t| u64::try_from(t).ok()),
            "tls.cert_notafter" => side.not_after.and_then(|t| u64::try_from(t).ok()),
            _ => self.number(name),
        }
    }

    /// True: the snapshot is taken once the handshake is done or the session ended, after
    /// which nothing detection reads changes (certificates, hellos and fingerprints are only
    /// taken from a side's first messages).
    fn complete(&self, _dir: Direction) -> bool {
        true
    }
}

impl TlsTxBuffers {
    fn lookup(&self, name: &str, dir: Direction, index: usize) -> Option<Cow<'_, [u8]>> {
        let side = self.side(dir);
        if name == "tls.certs" {
            return side.chain.get(index).map(|d| Cow::Borrowed(d.as_slice()));
        }
        if index != 0 {
            return None;
        }
        let to_server = dir == Direction::ToServer;
        match name {
            "tls.sni" if to_server => self.sni.as_deref().map(Cow::Borrowed),
            "tls.cert_subject" => text(side.subject.as_ref()),
            "tls.cert_issuer" => text(side.issuer.as_ref()),
            "tls.cert_serial" => text(side.serial.as_ref()),
            "tls.cert_fingerprint" => text(side.fingerprint.as_ref()),
            "ja3.hash" if to_server => text(side.ja3.hash.as_ref()),
            "ja3.string" if to_server => text(side.ja3.string.as_ref()),
            "ja3s.hash" if !to_server => text(side.ja3.hash.as_ref()),
            "ja3s.string" if !to_server => text(side.ja3.string.as_ref()),
            "ja4.hash" if to_server => text(self.ja4.as_ref()),
            "tls.random" => self.random(dir).map(|r| Cow::Borrowed(&r[..])),
            "tls.random_time" => self.random(dir).and_then(|r| r.get(..4)).map(Cow::Borrowed),
            "tls.random_bytes" => self.random(dir).and_then(|r| r.get(4..)).map(Cow::Borrowed),
            _ => None,
        }
    }
}
