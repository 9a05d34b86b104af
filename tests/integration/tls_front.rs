//! An HTTPS front for the tests' plain HTTP servers (the JWKS server, the witness): a
//! self-signed certificate made at test time by `openssl req`, served with tokio-rustls on
//! loopback, each connection's bytes relayed to the plain server behind it. So what rddsd sees
//! is a real TLS server, and the servers behind it stay the same small ones.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A certificate and its key, PEM files.
pub struct TestCert {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A self-signed P-256 certificate for `names` (`subjectAltName` syntax, e.g.
/// `IP:127.0.0.1,DNS:localhost`), valid for a day, written as `<stem>.crt` and `<stem>.key`.
pub fn self_signed(dir: &Path, stem: &str, names: &str) -> TestCert {
    let cert = dir.join(format!("{stem}.crt"));
    let key = dir.join(format!("{stem}.key"));
    let out = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .arg("ec_paramgen_curve:P-256")
        .args(["-nodes", "-subj", "/CN=localhost", "-days", "1"])
        .arg("-addext")
        .arg(format!("subjectAltName={names}"))
        // openssl marks a self-signed certificate as a CA by default, and a CA certificate is
        // not accepted as a server's own (webpki's CaUsedAsEndEntity): this one is a leaf that
        // the test trusts directly.
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl req: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    TestCert { cert, key }
}

/// One TLS handshake the front completed: the SNI name the client sent and the ALPN protocol
/// agreed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    pub sni: Option<String>,
    pub alpn: Option<String>,
}

/// A running front; its thread lives as long as the test process.
pub struct TlsFront {
    pub addr: SocketAddr,
    /// Completed handshakes, in order.
    pub handshakes: Arc<Mutex<Vec<Handshake>>>,
}

impl TlsFront {
    /// Serve `cert` on a new loopback port, relaying to `backend`.
    pub fn start(cert: &TestCert, backend: SocketAddr) -> Self {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert.cert)
            .expect("cert file")
            .collect::<Result<_, _>>()
            .expect("cert");
        let key = PrivateKeyDer::from_pem_file(&cert.key).expect("key");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("cert and key");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let handshakes = Arc::new(Mutex::new(Vec::new()));
        let done = Arc::clone(&handshakes);
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        continue;
                    };
                    let (acceptor, done) = (acceptor.clone(), Arc::clone(&done));
                    tokio::spawn(async move {
                        // A client that refuses the certificate ends the handshake here.
                        let Ok(mut tls) = acceptor.accept(tcp).await else {
                            return;
                        };
                        let conn = tls.get_ref().1;
                        done.lock().expect("handshakes").push(Handshake {
                            sni: conn.server_name().map(str::to_string),
                            alpn: conn
                                .alpn_protocol()
                                .map(|p| String::from_utf8_lossy(p).into_owned()),
                        });
                        let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await else {
                            return;
                        };
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                    });
                }
            });
        });
        Self { addr, handshakes }
    }

    pub fn handshakes(&self) -> Vec<Handshake> {
        self.handshakes.lock().expect("handshakes").clone()
    }
}
