//! WHOIS on port 43 (RFC 3912): read one query line, answer from the same resolver and policy
//! views as RDAP, close. The connection handler is here; the accept loop, the global cap and the
//! drain are the server's ([`crate::server`]).
//!
//! One connection goes one way: PROXY header (trusted proxies only) → per-client cap → **admit**
//! (the harvesting defence) → read the line → **parse** ([`parse`], to a protocol-neutral
//! query) → **resolve** → **render** ([`render`], pure) → write → one access-log line.
//!
//! Everything a client can make us hold is bounded: one line of at most 1 KiB, read within a
//! timeout; a global connection cap and a per-client cap, both refused at once with one
//! `%ERROR` line; no state survives the connection.

pub mod parse;
pub mod render;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::backend::Unreadable;
use crate::limit::client::{parse_proxy, Proxy};
use crate::limit::conns::ConnSlot;
use crate::limit::slots::ClientSlots;
use crate::metrics::Protocol;
use crate::policy::{Audience, Policy};
use crate::query::Query;
use crate::registry::{Snapshot, Timestamp};
use crate::resolve::{resolve, Resolved};
use crate::state::{Generation, State};
use parse::{WhoisRefusal, MAX_QUERY_BYTES};

/// Port 43 settings.
#[derive(Debug, Clone)]
pub struct WhoisConfig {
    /// Terms of service URL printed in the footer.
    pub terms_url: String,
    /// Time a client has to send its whole query line.
    pub read_timeout: Duration,
    /// Time allowed to write the answer.
    pub write_timeout: Duration,
    /// Concurrent connections in total.
    pub max_connections: usize,
    /// Concurrent connections from one client address.
    pub max_per_client: u32,
    /// How long shutdown waits for open connections.
    pub shutdown_grace: Duration,
}

/// The answer to one parsed query, and a label for the access log: resolve for the public,
/// then render. Port 43 has no contact lookup, so a contact (which its parser never asks for)
/// reads as not found.
pub fn answer(data: &Generation, query: &Query, terms_url: &str) -> (String, &'static str) {
    answer_in(
        &data.snapshot,
        &data.policy,
        data.snapshot.updated(),
        query,
        terms_url,
    )
}

/// [`answer`] from the records of `store` (the generation's snapshot, or the set a backend
/// read for this query), with the data's update time `updated`.
pub fn answer_in(
    store: &Snapshot,
    policy: &Policy,
    updated: &Timestamp,
    query: &Query,
    terms_url: &str,
) -> (String, &'static str) {
    let ctx = render::Context {
        db_updated: updated,
        terms_url,
    };
    let text = match resolve(store, policy, query, Audience::Public) {
        Resolved::Help => render::help(&ctx),
        Resolved::Domain(view) => render::domain(&view, &ctx),
        Resolved::Nameservers(views) => render::nameservers(&views, &ctx),
        Resolved::Registrar(view) => render::registrar(&view, &ctx),
        Resolved::Contact(_) | Resolved::NotFound => return (render::not_found(&ctx), "not-found"),
    };
    (text, "found")
}

/// The one mapping of a backend that could not read the records: a port 43 error line.
fn unreadable(why: Unreadable) -> (String, &'static str) {
    match why {
        Unreadable::Unavailable => (render::UNAVAILABLE_LINE.to_string(), "unavailable"),
        Unreadable::BadData => (render::BAD_DATA_LINE.to_string(), "bad-data"),
    }
}

/// Reads the start of a connection: an optional PROXY protocol header, then one query line,
/// all within one deadline and one bounded buffer.
struct RequestReader {
    buf: Vec<u8>,
    deadline: tokio::time::Instant,
    eof: bool,
}

impl RequestReader {
    fn new(timeout: Duration) -> Self {
        Self {
            buf: Vec::with_capacity(256),
            deadline: tokio::time::Instant::now() + timeout,
            eof: false,
        }
    }

    /// Read one more chunk; false at end of stream.
    async fn more(&mut self, stream: &mut TcpStream) -> Result<bool, WhoisRefusal> {
        if self.eof {
            return Ok(false);
        }
        let mut chunk = [0u8; 512];
        let n = match tokio::time::timeout_at(self.deadline, stream.read(&mut chunk)).await {
            Err(_) => return Err(WhoisRefusal::Timeout),
            Ok(Err(_)) => return Err(WhoisRefusal::Garbage),
            Ok(Ok(n)) => n,
        };
        self.eof = n == 0;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    /// Consume a PROXY protocol v1/v2 header if there is one; its source address, if given.
    async fn proxy_header(
        &mut self,
        stream: &mut TcpStream,
    ) -> Result<Option<IpAddr>, WhoisRefusal> {
        loop {
            match parse_proxy(&self.buf) {
                Proxy::Absent => return Ok(None),
                Proxy::Invalid => return Err(WhoisRefusal::Garbage),
                Proxy::Header { source, len } => {
                    self.buf.drain(..len);
                    return Ok(source);
                }
                Proxy::Incomplete => {
                    if !self.more(stream).await? {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// The query line: up to LF (a preceding CR is dropped), or what came before EOF.
    async fn line(mut self, stream: &mut TcpStream) -> Result<Vec<u8>, WhoisRefusal> {
        // One byte past the limit plus CR LF is the most we ever buffer.
        let cap = MAX_QUERY_BYTES + 2;
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                self.buf.truncate(pos);
                return Ok(strip_cr(self.buf));
            }
            if self.buf.len() > cap {
                return Err(WhoisRefusal::TooLong);
            }
            if !self.more(stream).await? {
                // The client half-closed without a line ending: take what it sent.
                return Ok(strip_cr(self.buf));
            }
        }
    }
}

fn strip_cr(mut line: Vec<u8>) -> Vec<u8> {
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    line
}

/// Refuse a connection over the connection cap: one `%ERROR:208` line, then close.
pub async fn refuse(mut stream: TcpStream, peer: SocketAddr, cfg: Arc<WhoisConfig>) {
    let _ = tokio::time::timeout(cfg.write_timeout, async {
        stream.write_all(render::BUSY_LINE.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
    log(None, peer.ip(), "refused", "busy", 0, Instant::now());
}

/// Serve one port 43 connection: an optional PROXY header, the per-client cap, the harvesting
/// defence, one query line, one answer, close.
pub async fn handle(
    mut stream: TcpStream,
    peer: SocketAddr,
    state: &State,
    cfg: &WhoisConfig,
    clients: &Arc<ClientSlots>,
    shutdown: &CancellationToken,
    mut conn: ConnSlot,
) {
    let started = Instant::now();
    state.metrics.request(Protocol::Whois);
    // The time allowed for the query shrinks as the listener fills; until the query is in, a
    // newcomer at the cap may take this connection's place (answered as a read timeout).
    let mut reader = RequestReader::new(conn.allowance(cfg.read_timeout));
    let evicted = conn.evicted().clone();
    // A client still sending its query when shutdown starts is not waited for; one whose query
    // is in gets its answer.
    let read = async {
        // Only a trusted load balancer may tell us who the client is.
        let from_proxy = state.limiter.is_trusted_proxy(peer.ip());
        let (client, proxied) = if from_proxy {
            match reader.proxy_header(&mut stream).await? {
                Some(source) => (source, true),
                // LOCAL / UNKNOWN: the proxy's own health check.
                None => (peer.ip(), false),
            }
        } else {
            (peer.ip(), false)
        };
        // The per-client cap counts the client the PROXY header names (a trusted proxy's own
        // connections are exempt), by the limiter's network key: one IPv6 /64 is one client.
        let slot = if (from_proxy && !proxied) || state.limiter.is_allowlisted(client) {
            // A proxy's own health check, or an allowlisted network: no per-client cap (the
            // listener's total still counts it).
            None
        } else {
            let key = state.limiter.key(client);
            match clients.take(key, cfg.max_per_client) {
                Some(slot) => Some(slot),
                None => return Ok((client, Err(Admission::Busy))),
            }
        };
        if let Err(refusal) = state.limiter.admit(client) {
            return Ok((client, Err(Admission::Limited(refusal))));
        }
        reader
            .line(&mut stream)
            .await
            .map(|line| (client, Ok((line, slot))))
    };
    let read = tokio::select! {
        read = read => read,
        () = evicted.cancelled() => Err(WhoisRefusal::Timeout),
        () = shutdown.cancelled() => {
            log(Some(state), peer.ip(), "refused", "shutdown", 0, started);
            return;
        }
    };
    // The query is in (or refused): answering now, never pre-empted.
    conn.busy();
    let mut held = None;
    let (client, text, kind, outcome): (
        IpAddr,
        std::borrow::Cow<'static, str>,
        &'static str,
        &'static str,
    ) =
        match read {
            Err(refusal) => (
                peer.ip(),
                render::error_line(refusal).into(),
                "refused",
                refusal_label(refusal),
            ),
            Ok((client, Err(Admission::Busy))) => {
                state.metrics.busy(Protocol::Whois);
                (client, render::BUSY_LINE.into(), "refused", "busy")
            }
            Ok((client, Err(Admission::Limited(limited)))) => {
                state.metrics.refused(Protocol::Whois, limited.reason);
                (
                    client,
                    render::denied_line(&limited).into(),
                    "limited",
                    limited.reason.label(),
                )
            }
            Ok((client, Ok((line, slot)))) => {
                // Held until the answer is written.
                held = slot;
                match parse::parse(&line) {
                    Err(refusal) => (
                        client,
                        render::error_line(refusal).into(),
                        "refused",
                        refusal_label(refusal),
                    ),
                    Ok(query) => {
                        let data = state.current();
                        let (text, outcome) =
                            match crate::backend::records(&*state.backend, &data.snapshot, &query)
                                .await
                            {
                                Ok(found) => answer_in(
                                    &found.records,
                                    &data.policy,
                                    &found.updated,
                                    &query,
                                    &cfg.terms_url,
                                ),
                                Err(why) => unreadable(why),
                            };
                        (client, text.into(), query.kind(), outcome)
                    }
                }
            }
        };
    let _ = tokio::time::timeout(cfg.write_timeout, async {
        stream.write_all(text.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
    drop(held);
    log(Some(state), client, kind, outcome, text.len(), started);
}

/// Why a connection was not admitted to read its query.
enum Admission {
    /// The client network already holds `max_per_client` connections.
    Busy,
    /// The harvesting defence refused it.
    Limited(crate::limit::Denial),
}

/// The access-log line and the answer metrics of one connection.
fn log(
    state: Option<&State>,
    client: IpAddr,
    kind: &str,
    outcome: &str,
    bytes: usize,
    started: Instant,
) {
    if let Some(state) = state {
        let status = match kind {
            "refused" | "limited" => kind,
            _ => outcome,
        };
        state.metrics.whois_answer(kind, status, started.elapsed());
    }
    tracing::info!(
        target: "rddsd::access",
        proto = "whois",
        client = %crate::telemetry::ClientNet(client),
        kind,
        outcome,
        bytes,
        micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
    );
}

fn refusal_label(r: WhoisRefusal) -> &'static str {
    match r {
        WhoisRefusal::Empty => "empty",
        WhoisRefusal::TooLong => "too-long",
        WhoisRefusal::Garbage => "garbage",
        WhoisRefusal::Timeout => "timeout",
        WhoisRefusal::Malformed => "malformed",
        WhoisRefusal::InvalidName => "invalid-name",
    }
}
