//! Configuration: what to compute, what to log, and the caps.
//!
//! `TlsConfig::default()` is what Suricata 7.0.10 does with its shipped `suricata.yaml` and no
//! rules: EVE `tls` with `extended: yes`, session resumption logged (the option is commented
//! out there, and Suricata treats "not set" as "yes"), JA3/JA4 not computed
//! (`ja3-fingerprints`/`ja4-fingerprints: auto` only turn on when a rule needs them), and
//! `encryption-handling: default`.

/// What to do once the session is encrypted (`app-layer.protocols.tls.encryption-handling`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum EncryptionHandling {
    /// Keep parsing records (alerts, heartbeats, anomalies) but stop content inspection of
    /// the encrypted payload. Suricata's default.
    #[default]
    Default,
    /// Stop processing the flow as soon as application data is seen: the parser ignores
    /// everything after that, and [`crate::TlsState::wants_data`] turns false so the
    /// pipeline can stop reassembling it.
    Bypass,
    /// Keep tracking and inspecting as for any cleartext protocol.
    Full,
}

impl EncryptionHandling {
    /// Parses Suricata's config value (`default`, `bypass`, `full`); anything else is `Default`,
    /// as in Suricata.
    pub fn from_config(v: &str) -> EncryptionHandling {
        match v {
            "bypass" => EncryptionHandling::Bypass,
            "full" => EncryptionHandling::Full,
            _ => EncryptionHandling::Default,
        }
    }
}

/// A set of EVE `tls` fields for `custom` logging (Suricata's `custom:` list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct TlsFields(u32);

impl TlsFields {
    /// `version`
    pub const VERSION: TlsFields = TlsFields(1 << 0);
    /// `subject`
    pub const SUBJECT: TlsFields = TlsFields(1 << 1);
    /// `issuer` (printed as `issuerdn`)
    pub const ISSUER: TlsFields = TlsFields(1 << 2);
    /// `serial`
    pub const SERIAL: TlsFields = TlsFields(1 << 3);
    /// `fingerprint`
    pub const FINGERPRINT: TlsFields = TlsFields(1 << 4);
    /// `not_before` (printed as `notbefore`)
    pub const NOT_BEFORE: TlsFields = TlsFields(1 << 5);
    /// `not_after` (printed as `notafter`)
    pub const NOT_AFTER: TlsFields = TlsFields(1 << 6);
    /// `sni`
    pub const SNI: TlsFields = TlsFields(1 << 7);
    /// `certificate`: base64 DER of the server certificate.
    pub const CERTIFICATE: TlsFields = TlsFields(1 << 8);
    /// `chain`: base64 DER of the whole server chain.
    pub const CHAIN: TlsFields = TlsFields(1 << 9);
    /// `session_resumed`
    pub const SESSION_RESUMED: TlsFields = TlsFields(1 << 10);
    /// `ja3`
    pub const JA3: TlsFields = TlsFields(1 << 11);
    /// `ja3s`
    pub const JA3S: TlsFields = TlsFields(1 << 12);
    /// `client`: the client certificate's fields.
    pub const CLIENT: TlsFields = TlsFields(1 << 13);
    /// `client_certificate` (implies `client`)
    pub const CLIENT_CERTIFICATE: TlsFields = TlsFields(1 << 14);
    /// `client_chain` (implies `client`)
    pub const CLIENT_CHAIN: TlsFields = TlsFields(1 << 15);
    /// `ja4`
    pub const JA4: TlsFields = TlsFields(1 << 16);

    /// The empty set.
    pub const fn empty() -> TlsFields {
        TlsFields(0)
    }

    /// True when every field of `other` is in `self`.
    pub const fn contains(self, other: TlsFields) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union.
    #[must_use]
    pub const fn with(self, other: TlsFields) -> TlsFields {
        TlsFields(self.0 | other.0)
    }

    /// The field for one of Suricata's `custom:` names (case-insensitive), if it is one.
    pub fn from_name(name: &str) -> Option<TlsFields> {
        const NAMES: [(&str, TlsFields); 17] = [
            ("version", TlsFields::VERSION),
            ("subject", TlsFields::SUBJECT),
            ("issuer", TlsFields::ISSUER),
            ("serial", TlsFields::SERIAL),
            ("fingerprint", TlsFields::FINGERPRINT),
            ("not_before", TlsFields::NOT_BEFORE),
            ("not_after", TlsFields::NOT_AFTER),
            ("sni", TlsFields::SNI),
            ("certificate", TlsFields::CERTIFICATE),
            ("chain", TlsFields::CHAIN),
            ("session_resumed", TlsFields::SESSION_RESUMED),
            ("ja3", TlsFields::JA3),
            ("ja3s", TlsFields::JA3S),
            ("client", TlsFields::CLIENT),
            ("client_certificate", TlsFields::CLIENT_CERTIFICATE),
            ("client_chain", TlsFields::CLIENT_CHAIN),
            ("ja4", TlsFields::JA4),
        ];
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, f)| f)
    }

    /// Builds a set from Suricata's `custom:` names, with `client_certificate` and
    /// `client_chain` pulling in `client` as Suricata does. Unknown names are returned so the
    /// caller can warn (Suricata warns and ignores them).
    pub fn from_names<'a, I: IntoIterator<Item = &'a str>>(names: I) -> (TlsFields, Vec<&'a str>) {
        let mut set = TlsFields::empty();
        let mut unknown = Vec::new();
        for n in names {
            match TlsFields::from_name(n) {
                Some(f) => set = set.with(f),
                None => unknown.push(n),
            }
        }
        if set.contains(TlsFields::CLIENT_CERTIFICATE) || set.contains(TlsFields::CLIENT_CHAIN) {
            set = set.with(TlsFields::CLIENT);
        }
        (set, unknown)
    }
}

/// Per-flow caps on input-driven memory. Hitting one raises an anomaly and truncates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsCaps {
    /// Largest handshake message reassembled across records (bytes).
    pub max_handshake_message: usize,
    /// Most certificates kept from one Certificate message.
    pub max_chain_certs: usize,
    /// Largest single certificate decoded and kept (bytes).
    pub max_cert_len: usize,
}

/// Default [`TlsCaps::max_handshake_message`]: 1 MiB. A handshake message is 24-bit
/// length-prefixed (16 MiB). Real Certificate messages are a few KiB (OpenSSL's default
/// `max_cert_list` is 100 KiB), but Zeek's `tls-fragmented-handshake` trace carries a single
/// 332 KiB certificate that Suricata logs; 1 MiB keeps 3x headroom over that while bounding
/// the per-direction defragmentation buffer.
pub const MAX_HANDSHAKE_MESSAGE: usize = 1024 * 1024;

/// Default [`TlsCaps::max_chain_certs`]: 32. Real chains are 1 to 5 certificates; 32 leaves
/// room for odd cross-signed bundles while bounding the DER copies kept per flow.
pub const MAX_CHAIN_CERTS: usize = 32;

/// Default [`TlsCaps::max_cert_len`]: 1 MiB, the same as the message cap (a certificate
/// cannot be larger than its message), so by default every certificate Suricata would decode
/// is decoded. Lower it to bound DER parsing cost per certificate.
pub const MAX_CERT_LEN: usize = 1024 * 1024;

impl Default for TlsCaps {
    fn default() -> Self {
        TlsCaps {
            max_handshake_message: MAX_HANDSHAKE_MESSAGE,
            max_chain_certs: MAX_CHAIN_CERTS,
            max_cert_len: MAX_CERT_LEN,
        }
    }
}

/// TLS parser and logger configuration. `Default` is Suricata 7.0.10's default behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsConfig {
    /// Compute JA3/JA3S (`ja3-fingerprints`); extended logging prints them when computed.
    /// Default false (Suricata's `auto` with no rule needing them).
    pub ja3: bool,
    /// Compute JA4 (`ja4-fingerprints`). Default false (`auto`, no rule needing it).
    pub ja4: bool,
    /// Print JA4 in EVE `tls` (`outputs.eve-log.types.tls.ja4`). Default false: Suricata 7
    /// never logs it unless told to, even when computed.
    pub log_ja4: bool,
    /// Log sessions resumed without a certificate (`session-resumption`). Default true.
    pub log_resumed: bool,
    /// Extended logging (`extended: yes` in the shipped config). When false, and no custom
    /// list is set, only subject, issuer and session_resumed are printed.
    pub extended: bool,
    /// `custom:` field list; when set it replaces both basic and extended logging.
    pub custom: Option<TlsFields>,
    /// What to do once encrypted.
    pub encryption_handling: EncryptionHandling,
    /// Memory caps.
    pub caps: TlsCaps,
    /// Attach a [`TlsTxBuffers`](crate::TlsTxBuffers) snapshot of the session to the output
    /// that logs it (or keep it for [`crate::TlsState::take_unlogged_inspect`] when the
    /// session is not logged), for the signature engine. Also computes JA4 (never logged
    /// because of this). Default false. Once the snapshot is taken, the certificate chains
    /// have moved into it: [`crate::TlsState::session`] then shows them empty.
    pub inspect: bool,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            ja3: false,
            ja4: false,
            log_ja4: false,
            log_resumed: true,
            extended: true,
            custom: None,
            encryption_handling: EncryptionHandling::Default,
            caps: TlsCaps::default(),
            inspect: false,
        }
    }
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
    fn custom_names() {
        let (f, unknown) = TlsFields::from_names(["Subject", "client_chain", "nope"]);
        assert!(f.contains(TlsFields::SUBJECT));
        assert!(f.contains(TlsFields::CLIENT));
        assert!(!f.contains(TlsFields::ISSUER));
        assert_eq!(unknown, vec!["nope"]);
    }

    #[test]
    fn encryption_handling_values() {
        assert_eq!(
            EncryptionHandling::from_config("bypass"),
            EncryptionHandling::Bypass
        );
        assert_eq!(
            EncryptionHandling::from_config("full"),
            EncryptionHandling::Full
        );
        assert_eq!(
            EncryptionHandling::from_config("x"),
            EncryptionHandling::Default
        );
    }
}
