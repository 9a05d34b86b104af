//! HTTPS for the RDAP listener (TIG §1.4/§1.5: HTTPS only, TLS 1.2 and 1.3), with rustls.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// `[rdap.tls]` (or `--tls-cert` and `--tls-key`): certificate chain and key, PEM files.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// Certificate chain (leaf first), PEM.
    pub cert: std::path::PathBuf,
    /// Private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: std::path::PathBuf,
}

/// Why the TLS files cannot be used. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate chain file cannot be read.
    #[error("{}: cannot read certificate chain: {source}", path.display())]
    ReadCertificates {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        source: rustls::pki_types::pem::Error,
    },
    /// The file holds no certificate.
    #[error("{}: no certificate found", .0.display())]
    NoCertificate(std::path::PathBuf),
    /// The private key file cannot be read.
    #[error("{}: cannot read private key: {source}", path.display())]
    ReadKey {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        source: rustls::pki_types::pem::Error,
    },
    /// rustls refused the protocol setup.
    #[error("TLS setup: {0}")]
    Setup(rustls::Error),
    /// The key does not belong to the certificate.
    #[error("{}: certificate and key do not match: {source}", path.display())]
    Mismatch {
        /// The key file.
        path: std::path::PathBuf,
        /// What rustls said.
        source: rustls::Error,
    },
}

/// Build a TLS acceptor from PEM files. rustls offers only TLS 1.2 and 1.3 with AEAD
/// ECDHE suites, which is what the gTLD profile allows.
///
/// # Errors
/// The file that could not be read or used, and why.
pub fn acceptor(cfg: &TlsFiles) -> Result<TlsAcceptor, TlsError> {
    let read_certs = |source| TlsError::ReadCertificates {
        path: cfg.cert.clone(),
        source,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cfg.cert)
        .map_err(read_certs)?
        .collect::<Result<_, _>>()
        .map_err(read_certs)?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(cfg.cert.clone()));
    }
    let key = PrivateKeyDer::from_pem_file(&cfg.key).map_err(|source| TlsError::ReadKey {
        path: cfg.key.clone(),
        source,
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(TlsError::Setup)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|source| TlsError::Mismatch {
            path: cfg.key.clone(),
            source,
        })?;
    let mut config = config;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
