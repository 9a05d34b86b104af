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
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::rdap::{self, RdapConfig};
use crate::state::{LoadFailure, Sources, State};
use crate::whois::WhoisConfig;

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
    /// The TLS certificate or key could not be used.
    #[error("{0}")]
    Tls(String),
}

/// A bound, loaded server, ready to run.
pub struct Server {
    state: Arc<State>,
    rdap_cfg: Arc<RdapConfig>,
    rdap: Vec<TcpListener>,
    whois: Vec<TcpListener>,
    admin: Vec<TcpListener>,
    tls: Option<TlsAcceptor>,
    settings: Settings,
}

impl Server {
    /// Load data and policy, then bind the listeners.
    ///
    /// # Errors
    /// Invalid data or policy; an address that cannot be bound; unusable TLS files.
    pub async fn bind(settings: Settings) -> Result<Self, StartError> {
        let sources = Sources {
            data_dir: settings.data_dir.clone(),
            policy: settings.policy.clone(),
            config: settings.config_path.clone(),
        };
        let state = Arc::new(State::new(
            sources,
            settings.limits.clone(),
            settings.authority.clone(),
        )?);
        let tls = settings
            .tls
            .as_ref()
            .map(crate::tls::acceptor)
            .transpose()
            .map_err(StartError::Tls)?;
        let rdap = bind_all(&settings.rdap_listen).await?;
        let admin = bind_all(&settings.admin_listen).await?;
        let whois = bind_all(&settings.whois_listen).await?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let first = rdap.first().and_then(|l| l.local_addr().ok());
        let base_url = match (&settings.base_url, first) {
            (Some(u), _) => u.clone(),
            (None, Some(a)) => format!("{scheme}://{a}/"),
            (None, None) => format!("{scheme}://localhost/"),
        };
        let rdap_cfg = Arc::new(RdapConfig::new(
            base_url,
            settings.port43.clone(),
            settings.terms_url.clone(),
        ));
        Ok(Self {
            state,
            rdap_cfg,
            rdap,
            whois,
            admin,
            tls,
            settings,
        })
    }

    /// The bound RDAP listeners as URLs (with the real port when 0 was asked for).
    pub fn rdap_urls(&self) -> Vec<String> {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        self.rdap
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .map(|a| format!("{scheme}://{a}"))
            .collect()
    }

    /// The bound admin addresses.
    pub fn admin_addrs(&self) -> Vec<SocketAddr> {
        self.admin
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect()
    }

    /// The bound WHOIS addresses.
    pub fn whois_addrs(&self) -> Vec<SocketAddr> {
        self.whois
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect()
    }

    /// Shared state, for reloads.
    pub fn state(&self) -> Arc<State> {
        Arc::clone(&self.state)
    }

    /// Serve until `shutdown` is cancelled, then drain.
    pub async fn run(self, shutdown: CancellationToken) {
        let Self {
            state,
            rdap_cfg,
            rdap,
            whois,
            admin,
            tls,
            settings,
        } = self;
        let whois_cfg = Arc::new(WhoisConfig {
            terms_url: settings.terms_url.clone(),
            read_timeout: settings.whois_read_timeout,
            write_timeout: Duration::from_secs(10),
            max_connections: settings.whois_max_connections,
            max_per_client: settings.whois_max_per_client,
            shutdown_grace: settings.shutdown_grace,
        });
        let settings = Arc::new(settings);
        // One connection cap shared by all RDAP listeners.
        let slots = Arc::new(Semaphore::new(settings.max_connections));
        let mut tasks = tokio::task::JoinSet::new();
        for listener in rdap {
            let ctx = RdapListener {
                state: Arc::clone(&state),
                cfg: Arc::clone(&rdap_cfg),
                tls: tls.clone(),
                settings: Arc::clone(&settings),
                slots: Arc::clone(&slots),
            };
            tasks.spawn(ctx.serve(listener, shutdown.clone()));
        }
        let whois_slots = Arc::new(Semaphore::new(whois_cfg.max_connections));
        for listener in whois {
            tasks.spawn(crate::whois::serve(
                listener,
                Arc::clone(&state),
                Arc::clone(&whois_cfg),
                Arc::clone(&whois_slots),
                shutdown.clone(),
            ));
        }
        for listener in admin {
            tasks.spawn(crate::admin::serve(
                listener,
                Arc::clone(&state),
                shutdown.clone(),
            ));
        }
        tasks.spawn(sweep_limiter(Arc::clone(&state), shutdown.clone()));
        while tasks.join_next().await.is_some() {}
    }
}

/// Everything one RDAP accept loop needs.
struct RdapListener {
    state: Arc<State>,
    cfg: Arc<RdapConfig>,
    tls: Option<TlsAcceptor>,
    settings: Arc<Settings>,
    slots: Arc<Semaphore>,
}

impl RdapListener {
    async fn serve(self, listener: TcpListener, shutdown: CancellationToken) {
        let graceful = GracefulShutdown::new();
        loop {
            let Some((stream, peer)) = accept(&listener, &shutdown, "rdap").await else {
                break;
            };
            // Fail fast when full rather than queueing: a clear 503 costs less than a stall.
            let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() else {
                self.state.metrics.busy(crate::metrics::Protocol::Rdap);
                if self.tls.is_none() {
                    tokio::spawn(refuse_busy(stream));
                }
                continue;
            };
            let _ = stream.set_nodelay(true);
            let svc = rdap::service(Arc::clone(&self.state), Arc::clone(&self.cfg), peer);
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .max_buf_size(MAX_HEAD_BYTES);
            match &self.tls {
                None => {
                    let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), svc));
                    tokio::spawn(async move {
                        if let Err(e) = conn.await {
                            tracing::debug!(error = %e, "rdap connection ended with an error");
                        }
                        drop(permit);
                    });
                }
                Some(acceptor) => {
                    let acceptor = acceptor.clone();
                    // The watcher registers now, so shutdown also waits for connections that
                    // are still in their handshake.
                    let watcher = graceful.watcher();
                    tokio::spawn(async move {
                        // The handshake gets the same deadline as a request head.
                        let tls = match tokio::time::timeout(
                            HEADER_READ_TIMEOUT,
                            acceptor.accept(stream),
                        )
                        .await
                        {
                            Ok(Ok(s)) => s,
                            Ok(Err(e)) => {
                                tracing::debug!(error = %e, "tls handshake failed");
                                return;
                            }
                            Err(_) => return,
                        };
                        let conn = watcher.watch(builder.serve_connection(TokioIo::new(tls), svc));
                        if let Err(e) = conn.await {
                            tracing::debug!(error = %e, "rdap connection ended with an error");
                        }
                        drop(permit);
                    });
                }
            }
        }
        drop(listener);
        tracing::info!("rdap listener closed; draining in-flight requests");
        tokio::select! {
            () = graceful.shutdown() => tracing::info!("rdap drained"),
            () = tokio::time::sleep(self.settings.shutdown_grace) => tracing::warn!("rdap drain deadline passed; closing remaining connections"),
        }
    }
}
async fn bind_all(addrs: &[SocketAddr]) -> Result<Vec<TcpListener>, StartError> {
    let mut out = Vec::with_capacity(addrs.len());
    for &addr in addrs {
        out.push(
            TcpListener::bind(addr)
                .await
                .map_err(|source| StartError::Bind { addr, source })?,
        );
    }
    Ok(out)
}

/// Accept the next connection, or `None` once shutdown starts. Accept errors (typically
/// EMFILE) back off briefly instead of spinning on a full file table.
pub(crate) async fn accept(
    listener: &TcpListener,
    shutdown: &CancellationToken,
    what: &'static str,
) -> Option<(tokio::net::TcpStream, SocketAddr)> {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return None,
            accepted = listener.accept() => match accepted {
                Ok(pair) => return Some(pair),
                Err(e) => {
                    tracing::warn!(error = %e, listener = what, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
}

/// Drop limiter entries that look like fresh clients, once a minute, so idle keys do not wait
/// for capacity pressure to leave.
async fn sweep_limiter(state: Arc<State>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {
                let removed = state.limiter.sweep();
                if removed > 0 {
                    tracing::debug!(removed, "limiter sweep");
                }
            }
        }
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
