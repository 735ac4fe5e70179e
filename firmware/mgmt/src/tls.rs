//! rustls configuration: TLS 1.3 only, client certificates required and verified against the
//! fleet CA and its revocation list.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;

use crate::{Client, MgmtError};

/// The server configuration for the current revocation list.
pub(crate) fn server_config(
    ca: &CertificateDer<'static>,
    chain: &[CertificateDer<'static>],
    key: &PrivateKeyDer<'static>,
    crl: Option<&[u8]>,
) -> Result<rustls::ServerConfig, MgmtError> {
    let provider = mgmt_proto::tls::provider();
    let mut roots = RootCertStore::empty();
    roots
        .add(ca.clone())
        .map_err(|e| MgmtError::Tls(format!("fleet CA certificate: {e}")))?;
    let mut vb = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    if let Some(c) = crl {
        vb = vb.with_crls([CertificateRevocationListDer::from(c.to_vec())]);
    }
    let verifier = vb
        .build()
        .map_err(|e| MgmtError::Tls(format!("client verifier: {e}")))?;
    rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| MgmtError::Tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain.to_vec(), key.clone_key())
        .map_err(|e| MgmtError::Tls(format!("probe certificate: {e}")))
}

/// Checks that a revocation list is one the verifier accepts (a list pushed by an operator
/// is refused rather than installed when it would fail every later handshake).
pub(crate) fn check_crl(ca: &CertificateDer<'static>, crl: &[u8]) -> Result<(), String> {
    let provider = mgmt_proto::tls::provider();
    let mut roots = RootCertStore::empty();
    roots.add(ca.clone()).map_err(|e| e.to_string())?;
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .with_crls([CertificateRevocationListDer::from(crl.to_vec())])
        .build()
        .map(|_| ())
        .map_err(|e| format!("revocation list: {e}"))
}

/// The client named by its certificate.
pub(crate) fn client_identity(cert: &CertificateDer<'_>, peer: &str) -> Client {
    let fp = hex::encode(&mgmt_proto::sha256(cert.as_ref())[..8]);
    let name = x509_parser::parse_x509_certificate(cert.as_ref())
        .ok()
        .and_then(|(_, c)| {
            c.subject()
                .iter_common_name()
                .next()
                .and_then(|cn| cn.as_str().ok().map(str::to_string))
        })
        .unwrap_or_default();
    Client {
        label: format!("{name} ({fp})"),
        name,
        peer: peer.to_string(),
    }
}
