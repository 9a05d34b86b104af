//! The admin endpoints: `/metrics` (Prometheus text), `/healthz` and `/readyz`. Bind their
//! listener (owned by [`crate::server`]) to a private address; they carry no registration data,
//! only counters.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};

use crate::state::State;

/// Answer one admin request by path.
pub fn respond(state: &State, path: &str) -> Response<Full<Bytes>> {
    let (status, kind, body) = match path {
        "/metrics" => (StatusCode::OK, "text/plain; version=0.0.4", metrics(state)),
        "/healthz" => (StatusCode::OK, "text/plain", "ok\n".to_string()),
        "/readyz" => readiness(state),
        // Transparency (issue #14): the log's public key and its latest signed checkpoint.
        "/transparency/public-key" | "/transparency/checkpoint" => {
            crate::authority::transparency::admin(
                state.authority.as_ref().and_then(|a| a.transparency()),
                path,
            )
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

/// The metrics, with the disclosure-request workflow's (issue #25) when it is configured.
fn metrics(state: &State) -> String {
    let mut text = state.metrics.render(&state.gauges());
    if let Some(g) = state
        .authority
        .as_ref()
        .and_then(|a| a.requests())
        .and_then(|r| r.gauges(crate::registry::Timestamp::now()))
    {
        text.push_str(&crate::metrics::render_requests(&g));
    }
    text
}

/// `/readyz` for load balancers: ready once the data is loaded and the listeners are bound,
/// which holds for as long as this listener answers. Shared dependencies (the disclosure log,
/// the PostgreSQL database)
/// are reported beside it but never make a node unready: one shared fault must not take every
/// node out of rotation while each can still serve public answers.
fn readiness(state: &State) -> (StatusCode, &'static str, String) {
    let g = state.gauges();
    let log = match g.disclosure_log_ok {
        None => "not configured",
        Some(true) => "ok",
        Some(false) => "refusing disclosures until repaired",
    };
    // The database, like the disclosure log, is shared by every node: losing it must not take
    // the whole pool out of rotation while nodes can answer from their caches (and answer 503,
    // quickly, for the rest).
    let health = state.backend.health();
    let complete = health.is_some_and(|h| h.complete);
    let database = match (g.database_up, health.and_then(|h| h.lost_for)) {
        (None, _) => String::new(),
        (Some(true), _) if complete => "database: following changes (replica)\n".to_string(),
        (Some(true), _) => "database: following changes\n".to_string(),
        (Some(false), Some(lost)) if complete => format!(
            "database: unreachable for {} s; serving the replica's whole snapshot, {} s behind at most\n",
            lost.as_secs(),
            lost.as_secs()
        ),
        (Some(false), Some(lost)) => format!(
            "database: unreachable for {} s; serving cached answers within the staleness bound, 503 otherwise\n",
            lost.as_secs()
        ),
        (Some(false), None) => "database: connecting\n".to_string(),
    };
    let body = format!(
        "ready\ndata: generation {}, {} s old\n{database}disclosure log: {log}\n",
        g.generation,
        g.now_unix.saturating_sub(g.data_updated_unix)
    );
    (StatusCode::OK, "text/plain", body)
}
