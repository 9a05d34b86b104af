//! The server: owns the listeners, the connection cap and the shutdown sequence.
//!
//! One [`CancellationToken`] stops everything: accept loops stop accepting, in-flight requests
//! finish (bounded by the configured grace period), then [`Server::run`] returns.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::rdap::{self, RdapConfig};
use crate::state::{LoadFailure, Sources, State};

/// A client has this long to send a complete request head; slow-loris connections are closed.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// hyper's read buffer, which also bounds the request head (hyper's minimum is 8 KiB).
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Data or policy did not validate.
    #[error(transparent)]
    Load(#[from] LoadFailure),
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A bound, loaded server, ready to run.
pub struct Server {
    state: Arc<State>,
    rdap_cfg: Arc<RdapConfig>,
    rdap: TcpListener,
    settings: Settings,
}

impl Server {
    /// Load data and policy, then bind the listeners.
    ///
    /// # Errors
    /// Invalid data or policy; an address that cannot be bound.
    pub async fn bind(settings: Settings) -> Result<Self, StartError> {
        let sources = Sources { data_dir: settings.data_dir.clone(), policy: settings.policy.clone() };
        let state = Arc::new(State::new(sources)?);
        let addr = settings.rdap_listen;
        let rdap = TcpListener::bind(addr).await.map_err(|source| StartError::Bind { addr, source })?;
        let bound = rdap.local_addr().map_err(|source| StartError::Bind { addr, source })?;
        let base_url = settings.base_url.clone().unwrap_or_else(|| format!("http://{bound}/"));
        let rdap_cfg = Arc::new(RdapConfig::new(base_url, settings.port43.clone(), settings.terms_url.clone()));
        Ok(Self { state, rdap_cfg, rdap, settings })
    }

    /// The bound RDAP address (the real port when 0 was asked for).
    pub fn rdap_addr(&self) -> Option<SocketAddr> {
        self.rdap.local_addr().ok()
    }

    /// Shared state, for reloads.
    pub fn state(&self) -> Arc<State> {
        Arc::clone(&self.state)
    }

    /// Serve until `shutdown` is cancelled, then drain.
    pub async fn run(self, shutdown: CancellationToken) {
        let Self { state, rdap_cfg, rdap, settings } = self;
        serve_rdap(rdap, state, rdap_cfg, &settings, shutdown).await;
    }
}

async fn serve_rdap(
    listener: TcpListener,
    state: Arc<State>,
    cfg: Arc<RdapConfig>,
    settings: &Settings,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Typically EMFILE: back off instead of spinning on a full file table.
                    tracing::warn!(error = %e, "rdap accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // Fail fast when full rather than queueing: a clear 503 costs less than a stalled client.
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            tokio::spawn(refuse_busy(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let svc = rdap::service(Arc::clone(&state), Arc::clone(&cfg), peer);
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT).max_buf_size(MAX_HEAD_BYTES);
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), svc));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "rdap connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!("rdap listener closed; draining in-flight requests");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("rdap drained"),
        () = tokio::time::sleep(settings.shutdown_grace) => tracing::warn!("rdap drain deadline passed; closing remaining connections"),
    }
}

async fn refuse_busy(mut stream: tokio::net::TcpStream) {
    let body = r#"{"rdapConformance":["rdap_level_0"],"errorCode":503,"title":"Service Unavailable","description":["Too many connections; retry shortly."]}"#;
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/rdap+json\r\naccess-control-allow-origin: *\r\nretry-after: 1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let write = async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), write).await;
}
