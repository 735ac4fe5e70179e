//! TLS settings both ends share: the crypto provider and the operator's client configuration
//! (TLS 1.3 only, the probe's certificate verified against the fleet CA, our certificate
//! presented).

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The *ring* crypto provider. rustls 0.23.48 deprecates it because *ring* has no
/// post-quantum key exchange; *ring* is the project's crypto library (signatures, TLS), so we
/// keep it and list the missing hybrid key exchange in docs/threat-model.md.
pub fn provider() -> Arc<CryptoProvider> {
    #[allow(deprecated)]
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The operator's TLS client configuration.
pub fn client_config(
    ca: &CertificateDer<'static>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(ca.clone())
        .map_err(|e| format!("fleet CA certificate: {e}"))?;
    rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| format!("operator certificate: {e}"))
}
