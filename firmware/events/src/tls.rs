//! `tls` records: one per TLS handshake, with certificate details and fingerprints.

use serde::Serialize;

/// The `tls` object, in Suricata 7's field order (`extended: yes`).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct TlsEve {
    /// Server certificate subject, RFC 2253-like, as Suricata prints it (`C=US, O=..., CN=...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Server certificate issuer, same format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuerdn: Option<String>,
    /// Serial number, colon-separated uppercase hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// SHA-1 of the DER certificate, colon-separated lowercase hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// True when the session was resumed (no certificate exchanged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_resumed: Option<bool>,
    /// Server Name Indication from the ClientHello.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// Negotiated version (`TLS 1.2`, `TLS 1.3`, `SSLv3`, `UNDETERMINED` …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Certificate validity start, `YYYY-MM-DDTHH:MM:SS`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notbefore: Option<String>,
    /// Certificate validity end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notafter: Option<String>,
    /// JA3 of the ClientHello, when enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja3: Option<Fingerprint>,
    /// JA3S of the ServerHello, when enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja3s: Option<Fingerprint>,
    /// JA4 of the ClientHello, when enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja4: Option<String>,
    /// Base64 DER of the server certificate (custom logging only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// Base64 DER of each certificate in the chain (custom logging only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<Vec<String>>,
}

/// A JA3/JA3S fingerprint: the MD5 and the string it was computed from.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Fingerprint {
    /// MD5 hex of `string`.
    pub hash: String,
    /// The canonical string.
    pub string: String,
}
