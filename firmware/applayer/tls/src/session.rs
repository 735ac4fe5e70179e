//! What one TLS session showed, per side: the data detection keywords read.
//!
//! Filled in by the parser as messages arrive and never cleared; detection code reads it
//! through [`crate::TlsState::session`]. Keyword mapping:
//! `tls.sni` → [`ConnInfo::sni`] of the client; `tls.cert_subject`/`cert_issuer`/
//! `cert_serial`/`cert_fingerprint`/validity → [`ConnInfo::cert`] of the server;
//! `tls.certs`/`tls.cert_chain_len` → [`ConnInfo::chain`]; `ja3.hash`/`ja3.string` → client
//! [`ConnInfo::ja3`], `ja3s.*` → server's; `ja4.hash` → [`ConnInfo::ja4_hash`] of the client;
//! `ssl_state` → [`TlsSession::flags`]; `ssl_version` → [`ConnInfo::version`].

use crate::cert::CertInfo;
use crate::ja::{Ja3, Ja4};

/// Session state flags, with Suricata's bit values (`SSL_AL_FLAG_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct SslFlags(pub u32);

impl SslFlags {
    /// The server sent ChangeCipherSpec.
    pub const SERVER_CHANGE_CIPHER_SPEC: u32 = 1 << 0;
    /// The client sent ChangeCipherSpec.
    pub const CLIENT_CHANGE_CIPHER_SPEC: u32 = 1 << 1;
    /// Either side sent ChangeCipherSpec.
    pub const CHANGE_CIPHER_SPEC: u32 = 1 << 2;
    /// SSLv2 client hello seen.
    pub const SSL_CLIENT_HS: u32 = 1 << 3;
    /// SSLv2 server hello seen.
    pub const SSL_SERVER_HS: u32 = 1 << 4;
    /// SSLv2 client master key seen.
    pub const SSL_CLIENT_MASTER_KEY: u32 = 1 << 5;
    /// SSLv2 client side encrypted.
    pub const SSL_CLIENT_SSN_ENCRYPTED: u32 = 1 << 6;
    /// SSLv2 server side encrypted.
    pub const SSL_SERVER_SSN_ENCRYPTED: u32 = 1 << 7;
    /// SSLv2 client hello without session id.
    pub const SSL_NO_SESSION_ID: u32 = 1 << 8;
    /// `ssl_state:client_hello`.
    pub const STATE_CLIENT_HELLO: u32 = 1 << 9;
    /// `ssl_state:server_hello`.
    pub const STATE_SERVER_HELLO: u32 = 1 << 10;
    /// `ssl_state:client_keyx`.
    pub const STATE_CLIENT_KEYX: u32 = 1 << 11;
    /// `ssl_state:server_keyx`.
    pub const STATE_SERVER_KEYX: u32 = 1 << 12;
    /// `ssl_state:unknown`.
    pub const STATE_UNKNOWN: u32 = 1 << 13;
    /// The session is finished (a side closed, or the parser stopped).
    pub const STATE_FINISHED: u32 = 1 << 14;
    /// A heartbeat is in flight.
    pub const HB_INFLIGHT: u32 = 1 << 15;
    /// The in-flight heartbeat came from the client.
    pub const HB_CLIENT_INIT: u32 = 1 << 16;
    /// The in-flight heartbeat came from the server.
    pub const HB_SERVER_INIT: u32 = 1 << 17;
    /// The handshake is done (certificate seen, or encrypted data flowing).
    pub const HANDSHAKE_DONE: u32 = 1 << 18;
    /// The session looks resumed (matching session id, or a session ticket offered).
    pub const SESSION_RESUMED: u32 = 1 << 20;
    /// The ClientHello had `supported_versions`.
    pub const CH_VERSION_EXTENSION: u32 = 1 << 21;
    /// TLS 1.3: log the session without a certificate.
    pub const LOG_WITHOUT_CERT: u32 = 1 << 22;
    /// The ClientHello offered early data (0-RTT).
    pub const EARLY_DATA: u32 = 1 << 23;
    /// The server random was seen.
    pub const SERVER_RANDOM_SET: u32 = 1 << 24;
    /// The client random was seen.
    pub const CLIENT_RANDOM_SET: u32 = 1 << 25;
    /// The server asked for a client certificate.
    pub const NEED_CLIENT_CERT: u32 = 1 << 26;

    /// True when every bit of `bits` is set.
    pub fn has(self, bits: u32) -> bool {
        self.0 & bits == bits
    }

    /// True when any bit of `bits` is set.
    pub fn any(self, bits: u32) -> bool {
        self.0 & bits != 0
    }

    pub(crate) fn set(&mut self, bits: u32) {
        self.0 |= bits;
    }

    pub(crate) fn clear(&mut self, bits: u32) {
        self.0 &= !bits;
    }
}

/// What one side of the session showed.
#[derive(Debug, Clone, Default)]
pub struct ConnInfo {
    /// This side's current version, with Suricata's semantics: from record headers until a
    /// hello sets it, then the hello's (or `supported_versions`') value. The server side's
    /// value is what `tls.version` prints and `ssl_version` matches.
    pub version: u16,
    /// Version field of this side's first hello, as on the wire.
    pub hello_version: Option<u16>,
    /// SNI host name bytes (client side), as sent (not validated).
    pub sni: Option<Vec<u8>>,
    /// Session id from this side's hello, when non-empty.
    pub session_id: Option<Vec<u8>>,
    /// Hello random.
    pub random: Option<[u8; 32]>,
    /// Cipher suites offered (client) or chosen (server), GREASE included, capped.
    pub ciphers: Vec<u16>,
    /// Hello extension types in wire order, GREASE included, capped.
    pub extensions: Vec<u16>,
    /// Decoded fields of the first certificate of this side's chain that decoded.
    pub cert: Option<CertInfo>,
    /// Subject, kept even when the issuer could not be rendered (Suricata keeps both apart).
    pub(crate) cert_subject_only: Option<String>,
    /// DER of each certificate this side sent (first Certificate message only), capped.
    pub chain: Vec<Vec<u8>>,
    /// JA3 (client) or JA3S (server), when enabled.
    pub ja3: Ja3,
    /// JA4 builder (client side, when enabled).
    pub(crate) ja4: Option<Ja4>,
}

impl ConnInfo {
    /// JA4 fingerprint of this side's ClientHello, when JA4 is enabled and one was seen.
    pub fn ja4_hash(&self) -> Option<String> {
        self.ja4.as_ref().map(Ja4::hash)
    }

    /// The SNI as Suricata's C code sees it: up to the first NUL, and only if valid UTF-8.
    pub fn sni_str(&self) -> Option<&str> {
        let b = self.sni.as_deref()?;
        let b = b.split(|&c| c == 0).next().unwrap_or(b);
        std::str::from_utf8(b).ok()
    }

    /// Certificate subject, if one was extracted (possibly without an issuer).
    pub fn cert_subject(&self) -> Option<&str> {
        self.cert
            .as_ref()
            .map(|c| c.subject.as_str())
            .or(self.cert_subject_only.as_deref())
    }

    /// Certificate issuer, if one was extracted.
    pub fn cert_issuer(&self) -> Option<&str> {
        self.cert.as_ref().map(|c| c.issuer.as_str())
    }
}

/// Everything known about one TLS session.
#[derive(Debug, Clone, Default)]
pub struct TlsSession {
    /// The client side (to-server direction).
    pub client: ConnInfo,
    /// The server side (to-client direction).
    pub server: ConnInfo,
    /// Session state flags.
    pub flags: SslFlags,
    /// Suricata's `current_flags`: the `ssl_state` bit of the last ClientHello, ServerHello,
    /// ClientKeyExchange or ServerKeyExchange parsed (0 before any), what its `ssl_state`
    /// keyword tests.
    pub current_state: u32,
}

impl TlsSession {
    /// The side sending in `dir`.
    pub fn side(&self, dir: types::Direction) -> &ConnInfo {
        match dir {
            types::Direction::ToServer => &self.client,
            types::Direction::ToClient => &self.server,
        }
    }

    pub(crate) fn side_mut(&mut self, dir: types::Direction) -> &mut ConnInfo {
        match dir {
            types::Direction::ToServer => &mut self.client,
            types::Direction::ToClient => &mut self.server,
        }
    }

    /// The cipher suite the server chose, with its IANA name when `tls-parser` knows it.
    pub fn server_cipher(&self) -> Option<(u16, Option<&'static str>)> {
        let id = *self.server.ciphers.first()?;
        Some((id, tls_parser::TlsCipherSuite::from_id(id).map(|c| c.name)))
    }

    /// True when the server side presented a certificate with both subject and issuer.
    pub fn has_server_cert(&self) -> bool {
        self.server.cert.is_some()
    }
}
