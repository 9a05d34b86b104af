//! The admin listener: `/metrics` (Prometheus text) and `/healthz`. Bind it to a private
//! address; it carries no registration data, only counters.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::RdapConnLimits;
use crate::server::AcceptBackoff;
use crate::state::State;
use tokio::sync::Semaphore;

fn respond(state: &State, path: &str) -> Response<Full<Bytes>> {
    let (status, kind, body) = match path {
        "/metrics" => (
            StatusCode::OK,
            "text/plain; version=0.0.4",
            state.metrics.render(&state.gauges()),
        ),
        "/healthz" => (StatusCode::OK, "text/plain", "ok\n".to_string()),
        "/readyz" => readiness(state),
        // Transparency (issue #14): the log's public key and its latest signed checkpoint.
        "/transparency/public-key" | "/transparency/checkpoint" => {
            crate::transparency::admin(state, path)
        }
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found: try /metrics, /healthz or /readyz\n".to_string(),
        ),
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    resp
}

/// `/readyz` for load balancers: ready once the data is loaded and the listeners are bound,
/// which holds for as long as this listener answers. Shared dependencies (the disclosure log)
/// are reported beside it but never make a node unready: one shared fault must not take every
/// node out of rotation while each can still serve public answers.
fn readiness(state: &State) -> (StatusCode, &'static str, String) {
    let g = state.gauges();
    let log = match g.disclosure_log_ok {
        None => "not configured",
        Some(true) => "ok",
        Some(false) => "refusing disclosures until repaired",
    };
    let body = format!(
        "ready\ndata: generation {}, {} s old\ndisclosure log: {log}\n",
        g.generation,
        g.now_unix.saturating_sub(g.data_updated_unix)
    );
    (StatusCode::OK, "text/plain", body)
}

/// Serve the admin endpoints until `shutdown`.
///
/// Capped like the public listeners (`[admin] max_connections`, refused by closing at once) and
/// with the same read and write deadlines, so a stuck scraper cannot hold descriptors.
pub async fn serve(
    listener: TcpListener,
    state: Arc<State>,
    slots: Arc<Semaphore>,
    limits: RdapConnLimits,
    shutdown: CancellationToken,
) {
    let graceful = GracefulShutdown::new();
    let mut backoff = AcceptBackoff::default();
    loop {
        let Some((stream, _)) =
            crate::server::accept(&listener, &shutdown, "admin", &mut backoff, &state).await
        else {
            break;
        };
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let st = Arc::clone(&state);
        let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
            std::future::ready(Ok::<_, std::convert::Infallible>(respond(
                &st,
                req.uri().path(),
            )))
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout);
        let io = crate::server::timed(stream, &limits, crate::server::io::InFlight::default());
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(io), svc));
        let open = state
            .metrics
            .open_connection(crate::metrics::Listener::Admin);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
            drop(open);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(2), graceful.shutdown()).await;
}
