//! The one outgoing HTTP client of the authority side: fetching an identity provider's JWKS and
//! posting checkpoints to witnesses. `http://`, or `https://` with rustls, on one connection per
//! request, without a client crate's pool: both are rare, and a bounded caller-side timeout wraps
//! each, so the TCP connection, the TLS handshake and the answer all share one deadline.
//!
//! An `https://` peer is always verified: its chain must lead to the destination's
//! [`TrustRoots`] and its certificate must name the URL's host. There is no switch to turn that
//! off; a provider behind a private CA is trusted by giving that CA, not by trusting everyone.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::RootCertStore;
use tokio_rustls::TlsConnector;

/// Why an outgoing request, or the setup of its destination, failed. The text names the URL
/// or the file; it is logged and shown to the operator.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// A CA file that does not read as PEM.
    #[error("{0}")]
    Pem(#[from] rustls::pki_types::pem::Error),
    /// A CA file without a certificate.
    #[error("no certificate in it (PEM, -----BEGIN CERTIFICATE-----)")]
    NoCertificate,
    /// A certificate that cannot be a trust anchor.
    #[error("not a usable CA certificate: {0}")]
    UnusableCa(rustls::Error),
    /// A CA file whose certificates became unusable.
    #[error("{}: unusable CA certificates", .0.display())]
    UnusableCaFile(PathBuf),
    /// The system's trust store has no usable certificate.
    #[error(transparent)]
    NoSystemRoots(#[from] NoSystemRoots),
    /// Not a URL at all.
    #[error("{0:?} is not a URL")]
    NotAUrl(String),
    /// A scheme other than `http` and `https`.
    #[error("{0:?} is not an http:// or https:// URL")]
    Scheme(String),
    /// A URL without a host.
    #[error("{0:?} has no host")]
    NoHost(String),
    /// A host that cannot be checked against a certificate.
    #[error("{url:?}: {host:?} cannot be a certificate name: {reason}")]
    CertificateName {
        /// The URL.
        url: String,
        /// Its host.
        host: String,
        /// rustls's reason.
        reason: String,
    },
    /// The TCP connection failed.
    #[error("connect: {0}")]
    Connect(std::io::Error),
    /// The TLS handshake failed (an untrusted or misnamed certificate among the causes).
    #[error("TLS: {0}")]
    Tls(std::io::Error),
    /// The HTTP/1.1 handshake failed.
    #[error("handshake: {0}")]
    Handshake(hyper::Error),
    /// The TLS client could not be set up.
    #[error("TLS setup: {0}")]
    TlsSetup(rustls::Error),
}

/// The system's trust store has no usable certificate (kept once per process, so cloneable).
#[derive(Debug, Clone, thiserror::Error)]
#[error("the system trust store has no usable certificate{why}: install the ca-certificates package, or give a CA file")]
pub struct NoSystemRoots {
    /// The first error met reading it, as ` (reason)`, or empty.
    why: String,
}

/// The certificates an `https://` peer's chain must lead to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TrustRoots {
    /// The system's trust store (`/etc/ssl/certs` on Debian, from the `ca-certificates`
    /// package; `SSL_CERT_FILE` and `SSL_CERT_DIR` override where it is looked for).
    #[default]
    System,
    /// Only the certificates of a PEM file, instead of the system's: a provider behind a
    /// private CA. Read with the configuration, so a bad file stops the start, not a fetch.
    File {
        /// The file, for messages.
        path: PathBuf,
        /// Its certificates, each already checked to be usable as a trust anchor.
        certs: Vec<CertificateDer<'static>>,
    },
}

impl TrustRoots {
    /// Read a PEM file of one or more CA certificates.
    ///
    /// # Errors
    /// The file cannot be read, holds no certificate, or holds one that cannot be a trust
    /// anchor; the reason (the caller names the key and the file).
    pub fn from_pem_file(path: &Path) -> Result<Self, HttpError> {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(path)?.collect::<Result<_, _>>()?;
        if certs.is_empty() {
            return Err(HttpError::NoCertificate);
        }
        // Parsed as trust anchors now, so a certificate rustls cannot use is a config error
        // rather than a failure at the first fetch.
        let mut store = RootCertStore::empty();
        for cert in &certs {
            store.add(cert.clone()).map_err(HttpError::UnusableCa)?;
        }
        Ok(Self::File {
            path: path.to_path_buf(),
            certs,
        })
    }

    fn store(&self) -> Result<Arc<RootCertStore>, HttpError> {
        match self {
            Self::System => Ok(system_roots()?),
            Self::File { path, certs } => {
                let mut store = RootCertStore::empty();
                let (_, unusable) = store.add_parsable_certificates(certs.iter().cloned());
                if unusable > 0 || store.is_empty() {
                    return Err(HttpError::UnusableCaFile(path.clone()));
                }
                Ok(Arc::new(store))
            }
        }
    }
}

/// The system's trust store, read once per process: it is some hundreds of files, and the
/// destinations that use it all share it.
///
/// The system store rather than a list compiled into the binary (`webpki-roots`): it is the one
/// the operator controls. Debian's `ca-certificates` brings new roots and distrusts old ones with
/// security updates, without a rebuild of rddsd, and a CA added with `update-ca-certificates` is
/// trusted here too.
fn system_roots() -> Result<Arc<RootCertStore>, NoSystemRoots> {
    static ROOTS: OnceLock<Result<Arc<RootCertStore>, NoSystemRoots>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            let mut store = RootCertStore::empty();
            // Some system bundles carry certificates rustls cannot use (old or odd ones);
            // the rest still serve, as for any TLS client on the system.
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                let why = found
                    .errors
                    .first()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default();
                return Err(NoSystemRoots { why });
            }
            Ok(Arc::new(store))
        })
        .clone()
}

/// Check that `url` is one this client can reach: `http://` or `https://` with a host. Pure,
/// for the configuration.
///
/// # Errors
/// Why it is not.
pub(crate) fn check_url(url: &str) -> Result<(), HttpError> {
    parse(url).map(|_| ())
}

fn parse(url: &str) -> Result<(hyper::Uri, bool), HttpError> {
    let uri: hyper::Uri = url.parse().map_err(|_| HttpError::NotAUrl(url.into()))?;
    let tls = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        _ => return Err(HttpError::Scheme(url.into())),
    };
    if uri.host().is_none_or(str::is_empty) {
        return Err(HttpError::NoHost(url.into()));
    }
    Ok((uri, tls))
}

/// One configured destination (a JWKS URL, a witness): its URL parsed once and, for
/// `https://`, its TLS setup built once from its trust roots.
#[derive(Clone)]
pub(crate) struct Endpoint {
    uri: hyper::Uri,
    /// The host to connect to: an IPv6 literal without its brackets.
    host: String,
    port: u16,
    /// The `Host` header: the URL's authority as written.
    authority: String,
    /// For `https://`: the connector and the name the certificate must hold (and SNI sends).
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("uri", &self.uri)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// Prepare `url`; `roots` are used only for `https://`.
    ///
    /// # Errors
    /// A URL [`check_url`] refuses, a host that cannot be a certificate name, or trust roots
    /// that cannot be had (an empty system store).
    pub(crate) fn new(url: &str, roots: &TrustRoots) -> Result<Self, HttpError> {
        let (uri, tls) = parse(url)?;
        let host = uri
            .host()
            .unwrap_or_default()
            .trim_matches(['[', ']'])
            .to_string();
        let authority = uri
            .authority()
            .map(|a| a.as_str().to_string())
            .unwrap_or_default();
        let tls = if tls {
            // An IP address is checked against the certificate's IP names and sent without
            // SNI; a DNS name is both checked and sent as SNI (rustls does both).
            let name =
                ServerName::try_from(host.clone()).map_err(|e| HttpError::CertificateName {
                    url: url.into(),
                    host: host.clone(),
                    reason: e.to_string(),
                })?;
            Some((connector(roots)?, name))
        } else {
            None
        };
        Ok(Self {
            port: uri
                .port_u16()
                .unwrap_or(if tls.is_some() { 443 } else { 80 }),
            uri,
            host,
            authority,
            tls,
        })
    }

    /// The URL.
    pub(crate) fn uri(&self) -> &hyper::Uri {
        &self.uri
    }

    /// Connect (and for `https://`, complete the TLS handshake) and open an HTTP/1.1
    /// connection. Returns the sender and the `Host` value to send. The caller bounds the time.
    ///
    /// # Errors
    /// What failed: the connection, the TLS handshake (an untrusted or misnamed certificate
    /// among them) or the HTTP handshake.
    pub(crate) async fn connect<B>(&self) -> Result<(SendRequest<B>, String), HttpError>
    where
        B: hyper::body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let stream = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(HttpError::Connect)?;
        let sender = match &self.tls {
            None => handshake(TokioIo::new(stream)).await?,
            Some((connector, name)) => {
                let tls = connector
                    .connect(name.clone(), stream)
                    .await
                    .map_err(HttpError::Tls)?;
                handshake(TokioIo::new(tls)).await?
            }
        };
        Ok((sender, self.authority.clone()))
    }
}

async fn handshake<B, I>(io: I) -> Result<SendRequest<B>, HttpError>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(HttpError::Handshake)?;
    tokio::spawn(conn);
    Ok(sender)
}

/// A TLS client setup: TLS 1.2 and 1.3 with ring (as the listener), the given roots, and ALPN
/// `http/1.1`, the only protocol spoken here.
fn connector(roots: &TrustRoots) -> Result<TlsConnector, HttpError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(HttpError::TlsSetup)?
        .with_root_certificates(roots.store()?)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Callers that still speak in messages (the witness pusher) take the text.
impl From<HttpError> for String {
    fn from(e: HttpError) -> Self {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_urls_with_a_host() {
        assert!(check_url("http://127.0.0.1:8080/jwks.json").is_ok());
        assert!(check_url("https://idp.example/jwks").is_ok());
        assert!(check_url("https://[::1]:8443/jwks").is_ok());
        for bad in [
            "ftp://idp.example/jwks",
            "idp.example/jwks",
            "https:///jwks",
            "not a url",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn default_ports_follow_the_scheme() {
        let plain = Endpoint::new("http://idp.example/jwks", &TrustRoots::System).expect("http");
        assert_eq!((plain.port, plain.tls.is_none()), (80, true));
        assert_eq!(plain.authority, "idp.example");
        let v6 = Endpoint::new("http://[::1]:8080/w", &TrustRoots::System).expect("v6");
        assert_eq!((v6.host.as_str(), v6.port), ("::1", 8080));
        assert_eq!(v6.authority, "[::1]:8080");
    }

    #[test]
    fn a_ca_file_without_a_certificate_is_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let missing = dir.path().join("missing.pem");
        assert!(TrustRoots::from_pem_file(&missing)
            .expect_err("missing")
            .to_string()
            .contains("No such file"));
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").expect("write");
        assert!(TrustRoots::from_pem_file(&empty)
            .expect_err("empty")
            .to_string()
            .contains("no certificate"));
        // A private key alone is PEM, but not a certificate.
        let key = dir.path().join("key.pem");
        std::fs::write(
            &key,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .expect("write");
        assert!(TrustRoots::from_pem_file(&key)
            .expect_err("key only")
            .to_string()
            .contains("no certificate"));
    }
}
