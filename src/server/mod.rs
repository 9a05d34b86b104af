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
use tokio_util::task::TaskTracker;

mod delta_watch;
pub mod fdlimit;
pub mod io;
pub mod settings;

use crate::authority::Authority;
use crate::backend::{Backend, InMemory};
use crate::limit::conns::{ConnSlot, ConnTable};
use crate::limit::slots::{ClientSlot, ClientSlots};
use crate::metrics::Listener;
use crate::metrics::Protocol;
use crate::rdap::{self, RdapConfig};
use crate::state::{LoadFailure, Sources, State};
use crate::whois::WhoisConfig;
use settings::{RdapConnLimits, Settings};

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
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// The PostgreSQL backend's database could not be used.
    #[error(transparent)]
    Database(#[from] crate::db::DbError),
}

impl From<crate::db::replica::ReplicaError> for StartError {
    fn from(e: crate::db::replica::ReplicaError) -> Self {
        match e {
            crate::db::replica::ReplicaError::Database(e) => Self::Database(e),
            crate::db::replica::ReplicaError::Data(e) => Self::Load(LoadFailure::Data(e)),
        }
    }
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
        // The assembly of the layers: the backend and the disclosure log's adapters are chosen
        // here, and the layers below only see their traits.
        let backend: Arc<dyn Backend> = match &settings.database {
            Some(d) if d.mode == crate::db::DatabaseMode::Replica => {
                crate::db::replica::Replica::open(d, settings.load_options).await?
            }
            Some(d) => crate::db::serve::Database::open(d.clone()).await?,
            None => Arc::new(InMemory),
        };
        let authority = settings
            .authority
            .clone()
            .map(|a| Authority::new(a, crate::db::disclosures::open))
            .transpose()
            .map_err(LoadFailure::from)?
            .map(|a| match &settings.requests {
                // The request workflow (issue #25): its record's store is chosen here too.
                Some(r) => a.with_requests(std::sync::Arc::new(crate::requests::Requests::new(
                    r.clone(),
                    match &r.log_database {
                        Some(url) => crate::db::requests::open(url),
                        None => std::sync::Arc::new(crate::requests::FileStore::new(r.log.clone())),
                    },
                ))),
                None => a,
            });
        let sources = Sources {
            data_dir: settings.data_dir.clone(),
            policy: settings.policy.clone(),
            config: settings.reconfigure.clone(),
            delta_dir: settings.delta_dir.clone(),
            backend,
            load_options: settings.load_options,
        };
        let state = Arc::new(State::new(sources, settings.limits.clone(), authority)?);
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
        let mut rdap_cfg = RdapConfig::new(
            base_url,
            settings.port43.clone(),
            settings.terms_url.clone(),
        );
        // `/help` names the trusted identity providers (RFC 9560) when there are any.
        rdap_cfg.farv1 = state
            .authority
            .as_ref()
            .and_then(|a| a.federation())
            .map(|f| crate::rdap::render::Farv1 {
                providers: f.providers(),
            });
        // Searches exist on the authority route only, so `/help` announces them only with it.
        rdap_cfg.searches = state.authority.is_some();
        let rdap_cfg = Arc::new(rdap_cfg);
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
        // Every connection is a descriptor: make the caps fit the open-files limit, so a flood
        // meets a cap's clear refusal, never a failing accept.
        let caps = fdlimit::raise_and_fit(fdlimit::Caps {
            rdap: settings.max_connections,
            whois: if whois.is_empty() {
                0
            } else {
                settings.whois_max_connections
            },
            admin: if admin.is_empty() {
                0
            } else {
                settings.admin_max_connections
            },
        });
        let whois_cfg = Arc::new(WhoisConfig {
            terms_url: settings.terms_url.clone(),
            read_timeout: settings.whois_read_timeout,
            write_timeout: settings.rdap_conn.write_timeout,
            max_connections: caps.whois.max(1),
            max_per_client: settings.whois_max_per_client,
            shutdown_grace: settings.shutdown_grace,
        });
        let settings = Arc::new(settings);
        // One connection cap and one per-client count shared by all listeners of a protocol.
        let slots = ConnTable::new(caps.rdap);
        let clients = Arc::new(ClientSlots::default());
        let refusals = Arc::new(Semaphore::new(fdlimit::REFUSING));
        let mut tasks = tokio::task::JoinSet::new();
        for listener in rdap {
            let ctx = RdapListener {
                state: Arc::clone(&state),
                cfg: Arc::clone(&rdap_cfg),
                tls: tls.clone(),
                settings: Arc::clone(&settings),
                limits: settings.rdap_conn,
                slots: Arc::clone(&slots),
                clients: Arc::clone(&clients),
                refusals: Arc::clone(&refusals),
            };
            tasks.spawn(ctx.serve(listener, shutdown.clone()));
        }
        let whois_slots = ConnTable::new(whois_cfg.max_connections);
        let whois_clients = Arc::new(ClientSlots::default());
        for listener in whois {
            tasks.spawn(serve_whois(
                listener,
                Arc::clone(&state),
                Arc::clone(&whois_cfg),
                Arc::clone(&whois_slots),
                Arc::clone(&whois_clients),
                shutdown.clone(),
            ));
        }
        let admin_slots = Arc::new(Semaphore::new(caps.admin.max(1)));
        for listener in admin {
            tasks.spawn(serve_admin(
                listener,
                Arc::clone(&state),
                Arc::clone(&admin_slots),
                settings.rdap_conn,
                shutdown.clone(),
            ));
        }
        tasks.spawn(sweep_limiter(Arc::clone(&state), shutdown.clone()));
        let served: Arc<dyn crate::backend::Served> = Arc::clone(&state) as _;
        if let Some(follow) = Arc::clone(&state.backend).follow(served, shutdown.clone()) {
            tasks.spawn(follow);
        }
        if let Some(d) = settings.database.as_ref().filter(|d| d.shared_budget) {
            tasks.spawn(crate::db::harvest::follow(
                Arc::clone(&state.limiter),
                d.url.clone(),
                shutdown.clone(),
            ));
        }
        if let Some(requests) = state.authority.as_ref().and_then(|a| a.requests()) {
            tasks.spawn(crate::requests::follow(
                Arc::clone(requests),
                shutdown.clone(),
            ));
        }
        if let Some(authority) = &state.authority {
            if let Some(url) = authority.credentials_database() {
                tasks.spawn(crate::db::credentials::follow(
                    Arc::clone(authority),
                    url.to_string(),
                    shutdown.clone(),
                ));
            }
        }
        if let Some(dir) = settings.delta_dir.clone() {
            tasks.spawn(delta_watch::watch(
                Arc::clone(&state),
                dir,
                shutdown.clone(),
            ));
        }
        while tasks.join_next().await.is_some() {}
    }
}

/// Serve port 43 on one listener until `shutdown`, then wait (bounded) for open connections.
async fn serve_whois(
    listener: TcpListener,
    state: Arc<State>,
    cfg: Arc<WhoisConfig>,
    total: Arc<ConnTable>,
    clients: Arc<ClientSlots>,
    shutdown: CancellationToken,
) {
    let tracker = TaskTracker::new();
    let mut backoff = AcceptBackoff::default();
    // Busy lines being written at once; past it a refused connection is closed at once, so a
    // flood cannot turn refusals into a descriptor leak.
    let refusals = Arc::new(Semaphore::new(fdlimit::REFUSING));
    loop {
        let Some((stream, peer)) =
            accept(&listener, &shutdown, "whois", &mut backoff, &state).await
        else {
            break;
        };
        // At the cap the connection idle longest (one that has not sent its query) gives way;
        // refused only when every connection is answering.
        let Some((permit, preempted)) = total.admit() else {
            state.metrics.busy(Protocol::Whois);
            if let Ok(refusing) = Arc::clone(&refusals).try_acquire_owned() {
                let cfg = Arc::clone(&cfg);
                tracker.spawn(async move {
                    crate::whois::refuse(stream, peer, cfg).await;
                    drop(refusing);
                });
            }
            continue;
        };
        let state = Arc::clone(&state);
        let cfg = Arc::clone(&cfg);
        let clients = Arc::clone(&clients);
        let stop = shutdown.clone();
        if preempted {
            state.metrics.preempted(Listener::Whois);
        }
        tracker.spawn(async move {
            let open = state
                .metrics
                .open_connection(crate::metrics::Listener::Whois);
            crate::whois::handle(stream, peer, &state, &cfg, &clients, &stop, permit).await;
            drop(open);
        });
    }
    drop(listener);
    tracker.close();
    if tokio::time::timeout(cfg.shutdown_grace, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("whois drain deadline passed");
    } else {
        tracing::info!("whois drained");
    }
}

/// Serve the admin endpoints until `shutdown`. Capped like the public listeners
/// (`[admin] max_connections`, refused by closing at once) and with the same deadlines, so a
/// stuck scraper cannot hold descriptors.
async fn serve_admin(
    listener: TcpListener,
    state: Arc<State>,
    slots: Arc<Semaphore>,
    limits: RdapConnLimits,
    shutdown: CancellationToken,
) {
    let graceful = GracefulShutdown::new();
    let mut backoff = AcceptBackoff::default();
    loop {
        let Some((stream, _)) = accept(&listener, &shutdown, "admin", &mut backoff, &state).await
        else {
            break;
        };
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let st = Arc::clone(&state);
        let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
            std::future::ready(Ok::<_, std::convert::Infallible>(crate::admin::respond(
                &st,
                req.uri().path(),
            )))
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout);
        let io = timed(stream, &limits, io::InFlight::default(), None);
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(io), svc));
        let open = state.metrics.open_connection(Listener::Admin);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
            drop(open);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(2), graceful.shutdown()).await;
}

/// Everything one RDAP accept loop needs.
struct RdapListener {
    state: Arc<State>,
    cfg: Arc<RdapConfig>,
    tls: Option<TlsAcceptor>,
    settings: Arc<Settings>,
    limits: RdapConnLimits,
    /// The RDAP connection table (all RDAP listeners together).
    slots: Arc<ConnTable>,
    clients: Arc<ClientSlots>,
    /// Busy answers being written at once (see [`fdlimit::REFUSING`]).
    refusals: Arc<Semaphore>,
}

impl RdapListener {
    /// The per-client slot for a new connection: `Ok(None)` for a trusted proxy (its clients
    /// arrive per request in `X-Forwarded-For`, and the limiter meters each of them) and for
    /// an allowlisted network,
    /// `Err(())` when the client network already holds its share.
    fn client_slot(&self, ip: std::net::IpAddr) -> Result<Option<ClientSlot>, ()> {
        // Allowlisted networks (monitoring, registrars) are exempt from the per-client cap;
        // they still count toward the listener's total.
        if self.state.limiter.is_trusted_proxy(ip) || self.state.limiter.is_allowlisted(ip) {
            return Ok(None);
        }
        let key = self.state.limiter.key(ip);
        self.clients
            .take(key, self.limits.max_per_client)
            .map(Some)
            .ok_or(())
    }

    async fn serve(self, listener: TcpListener, shutdown: CancellationToken) {
        let graceful = GracefulShutdown::new();
        let mut backoff = AcceptBackoff::default();
        loop {
            let Some((stream, peer)) =
                accept(&listener, &shutdown, "rdap", &mut backoff, &self.state).await
            else {
                break;
            };
            // The per-client cap first (it refuses without touching anyone else), then the
            // listener's total: at the cap the connection idle longest gives way; refused only
            // when every connection is busy. Fail fast rather than queue: a clear 503 costs
            // less than a stall.
            let client_slot = self.client_slot(peer.ip().to_canonical());
            let admitted = match client_slot {
                Ok(_) => self.slots.admit(),
                Err(()) => None,
            };
            if let Some((_, true)) = &admitted {
                self.state.metrics.preempted(Listener::Rdap);
            }
            let (Some((permit, _)), Ok(client_slot)) = (admitted, client_slot) else {
                self.state.metrics.busy(crate::metrics::Protocol::Rdap);
                // A flood must not turn refusals into a descriptor leak: a bounded number are
                // answered with a 503, the rest are closed at once.
                if let (None, Ok(refusing)) =
                    (&self.tls, Arc::clone(&self.refusals).try_acquire_owned())
                {
                    let timeout = self.limits.write_timeout;
                    tokio::spawn(async move {
                        refuse_busy(stream, timeout).await;
                        drop(refusing);
                    });
                }
                continue;
            };
            let _ = stream.set_nodelay(true);
            let open = self.state.metrics.open_connection(Listener::Rdap);
            let in_flight = io::InFlight::default();
            let io = timed(stream, &self.limits, in_flight.clone(), Some(permit));
            let svc = ConnectionPolicy {
                inner: rdap::service(Arc::clone(&self.state), Arc::clone(&self.cfg), peer),
                served: std::cell::Cell::new(0),
                max: self.limits.max_requests_per_connection,
                in_flight,
            };
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(self.limits.header_timeout)
                .max_buf_size(MAX_HEAD_BYTES);
            match &self.tls {
                None => {
                    let conn = graceful.watch(builder.serve_connection(TokioIo::new(io), svc));
                    tokio::spawn(async move {
                        if let Err(e) = conn.await {
                            tracing::debug!(error = %e, "rdap connection ended with an error");
                        }
                        drop(client_slot);
                        drop(open);
                    });
                }
                Some(acceptor) => {
                    let acceptor = acceptor.clone();
                    // The watcher registers now, so shutdown also waits for connections that
                    // are still in their handshake.
                    let watcher = graceful.watcher();
                    let handshake = self.limits.header_timeout;
                    tokio::spawn(async move {
                        // The handshake gets the same deadline as a request head.
                        let tls = match tokio::time::timeout(handshake, acceptor.accept(io)).await {
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
                        drop(client_slot);
                        drop(open);
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

/// A TCP stream whose reads and writes each have a deadline: a write that makes no progress
/// (a client that pipelines requests and never reads) and a read that gets no bytes while no
/// request is in flight (an idle keep-alive connection) both end the connection and free its
/// slot (see [`io::DeadlineIo`]).
fn timed(
    stream: tokio::net::TcpStream,
    limits: &RdapConnLimits,
    in_flight: io::InFlight,
    slot: Option<ConnSlot>,
) -> io::DeadlineIo<tokio::net::TcpStream> {
    io::DeadlineIo::new(
        stream,
        io::Deadlines {
            idle: limits.keepalive_timeout,
            request: limits.header_timeout,
            write: limits.write_timeout,
        },
        in_flight,
        slot,
    )
}

/// Connection-level rules around the RDAP service: after `max` requests, or after a refusal by
/// the harvesting defence, the answer says `Connection: close` and hyper closes the connection
/// once it is written, so neither a long-lived client nor a refused one keeps its slot.
struct ConnectionPolicy<S> {
    inner: S,
    /// Requests seen on this connection (hyper calls `call` with `&self`, one request at a time).
    served: std::cell::Cell<u32>,
    max: u32,
    /// Shared with the connection's [`io::DeadlineIo`]: no idle deadline while answering.
    in_flight: io::InFlight,
}

impl<S, B> hyper::service::Service<hyper::Request<B>> for ConnectionPolicy<S>
where
    S: hyper::service::Service<hyper::Request<B>, Response = rdap::HttpResponse>,
    S::Future: Unpin,
{
    type Response = rdap::HttpResponse;
    type Error = S::Error;
    type Future = CloseWhen<S::Future>;

    fn call(&self, req: hyper::Request<B>) -> Self::Future {
        let n = self.served.get().saturating_add(1);
        self.served.set(n);
        CloseWhen {
            inner: self.inner.call(req),
            last: n >= self.max,
            _in_flight: self.in_flight.start(),
        }
    }
}

/// The response future of [`ConnectionPolicy`].
pub(crate) struct CloseWhen<F> {
    inner: F,
    last: bool,
    /// The request counts as in flight until its answer is ready.
    _in_flight: io::InFlightGuard,
}

impl<F, E> std::future::Future for CloseWhen<F>
where
    F: std::future::Future<Output = Result<rdap::HttpResponse, E>> + Unpin,
{
    type Output = Result<rdap::HttpResponse, E>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let last = self.last;
        std::pin::Pin::new(&mut self.inner).poll(cx).map(|r| {
            r.map(|mut resp| {
                let refused = matches!(resp.status().as_u16(), 403 | 429 | 503);
                if last || refused {
                    resp.headers_mut().insert(
                        hyper::header::CONNECTION,
                        hyper::header::HeaderValue::from_static("close"),
                    );
                }
                resp
            })
        })
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

/// How long to wait after a failed `accept`: doubling from 5 ms to 1 s while failures last,
/// back to the start after a success. A full file table (EMFILE) clears only when connections
/// close, so retrying at once would spin a core and flood the log.
#[derive(Debug, Default)]
struct AcceptBackoff {
    failures: u32,
}

impl AcceptBackoff {
    const FIRST: Duration = Duration::from_millis(5);
    const MAX: Duration = Duration::from_secs(1);

    /// The wait after one more failure.
    fn next_wait(&mut self) -> Duration {
        let wait = Self::FIRST
            .saturating_mul(1u32 << self.failures.min(10))
            .min(Self::MAX);
        self.failures = self.failures.saturating_add(1);
        wait
    }

    fn reset(&mut self) {
        self.failures = 0;
    }
}

/// Accept the next connection, or `None` once shutdown starts. Accept errors (typically
/// EMFILE) back off (see [`AcceptBackoff`]), are counted, and are logged once per streak.
async fn accept(
    listener: &TcpListener,
    shutdown: &CancellationToken,
    what: &'static str,
    backoff: &mut AcceptBackoff,
    state: &State,
) -> Option<(tokio::net::TcpStream, SocketAddr)> {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return None,
            accepted = listener.accept() => match accepted {
                Ok(pair) => {
                    backoff.reset();
                    return Some(pair);
                }
                Err(e) => {
                    state.metrics.accept_error();
                    if backoff.failures == 0 {
                        tracing::warn!(error = %e, listener = what, "accept failed; backing off");
                    }
                    let wait = backoff.next_wait();
                    tokio::select! {
                        _ = shutdown.cancelled() => return None,
                        () = tokio::time::sleep(wait) => {}
                    }
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

async fn refuse_busy(mut stream: tokio::net::TcpStream, write_timeout: Duration) {
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
    // A refusal is short-lived: at most a second, whatever the configured write timeout.
    let _ = tokio::time::timeout(write_timeout.min(Duration::from_secs(1)), write).await;
}
