//! The files of a probe's management credentials directory, as `probectl probe enroll`
//! writes them (`PKI/probes/NAME/`) and `probed run --mgmt-pki DIR` reads them.
//!
//! | file | content |
//! |---|---|
//! | `probe.toml` | [`ProbeIdentity`]: id, name, address |
//! | `ca.crt` | the fleet CA certificate (PEM): trust anchor for operator certificates |
//! | `tls.crt`, `tls.key` | the probe's TLS certificate (PEM) and key (PEM PKCS#8, mode 0600) |
//! | `sign.pk8` | the probe's Ed25519 response-signing key (PKCS#8 DER, mode 0600) |
//! | `operators.toml` | [`OperatorsFile`]: operator keys trusted at first start |
//! | `crl.der` | the fleet CA's revocation list at enrolment (optional) |

use serde::{Deserialize, Serialize};

use crate::OperatorKey;

/// `probe.toml`.
pub const PROBE_FILE: &str = "probe.toml";
/// `ca.crt`.
pub const CA_CERT: &str = "ca.crt";
/// `tls.crt`.
pub const TLS_CERT: &str = "tls.crt";
/// `tls.key`.
pub const TLS_KEY: &str = "tls.key";
/// `sign.pk8`.
pub const SIGN_KEY: &str = "sign.pk8";
/// `operators.toml`.
pub const OPERATORS_FILE: &str = "operators.toml";
/// `crl.der`.
pub const CRL_FILE: &str = "crl.der";

/// A probe's identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeIdentity {
    /// Probe id: the key id of its response-signing key.
    pub id: String,
    /// Name in the fleet inventory.
    pub name: String,
    /// Management address (`HOST:PORT`).
    pub address: String,
}

impl ProbeIdentity {
    /// The DNS name in the probe's TLS certificate (operators verify it).
    pub fn server_name(&self) -> String {
        server_name(&self.id)
    }
}

/// The TLS server name of the probe with id `id`.
pub fn server_name(id: &str) -> String {
    format!("{id}.probe.invalid")
}

/// `operators.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorsFile {
    /// The keys.
    #[serde(default, rename = "operator")]
    pub operators: Vec<OperatorKey>,
}
