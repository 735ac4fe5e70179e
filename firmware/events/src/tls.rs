//! `tls` records: one per TLS session, written when the handshake is done (or when the flow
//! ends with enough seen), with certificate details and fingerprints.
//!
//! Field order is Suricata 7's: serde writes struct fields in declaration order, and SOC
//! tooling diffing our output against Suricata's sees the same key order. Every field is
//! optional because which ones appear depends on the logging mode (`extended`, `custom`) and
//! on what the session showed (TLS 1.3 sessions carry no certificate, resumed ones neither).

use serde::Serialize;

/// The `tls` object, in Suricata 7's field order (`extended: yes` and `custom` modes).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct TlsEve {
    /// Server certificate subject, as Suricata prints it (`C=US, O=..., CN=...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Server certificate issuer, same format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuerdn: Option<String>,
    /// True when the session was resumed (no certificate exchanged, not TLS 1.3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_resumed: Option<bool>,
    /// Serial number, colon-separated uppercase hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// SHA-1 of the DER certificate, colon-separated lowercase hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Server Name Indication from the ClientHello.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// Negotiated version (`TLS 1.2`, `TLS 1.3`, `TLSv1`, `SSLv3`, `UNDETERMINED` …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Certificate validity start, `YYYY-MM-DDTHH:MM:SS` (UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notbefore: Option<String>,
    /// Certificate validity end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notafter: Option<String>,
    /// Base64 DER of the server certificate (custom logging only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// Base64 DER of each certificate in the chain (custom logging only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<Vec<String>>,
    /// JA3 of the ClientHello, when enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja3: Option<Fingerprint>,
    /// JA3S of the ServerHello, when enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja3s: Option<Fingerprint>,
    /// JA4 of the ClientHello, when enabled and logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja4: Option<String>,
    /// The client certificate, when the client presented one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<TlsClientEve>,
    /// The application protocol the flow started as, when TLS came after an upgrade
    /// (STARTTLS, HTTP CONNECT).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_proto: Option<String>,
}

/// A JA3/JA3S fingerprint: the MD5 and the string it was computed from.
///
/// Both are optional: Suricata prints the string without the hash when the hello was cut
/// short by a malformed field, and the object is absent when neither exists.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Fingerprint {
    /// MD5 hex of `string`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// The canonical string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub string: Option<String>,
}

/// The `tls.client` object: the client certificate, in Suricata 7's (different) key order.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct TlsClientEve {
    /// Client certificate subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Client certificate issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuerdn: Option<String>,
    /// SHA-1 of the DER client certificate, colon-separated lowercase hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Serial number, colon-separated uppercase hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// Validity start, `YYYY-MM-DDTHH:MM:SS` (UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notbefore: Option<String>,
    /// Validity end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notafter: Option<String>,
    /// Base64 DER of the client certificate (custom `client_certificate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// Base64 DER of each client chain certificate (custom `client_chain`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<Vec<String>>,
}
