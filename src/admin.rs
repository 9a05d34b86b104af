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
        "/metrics" => (
            StatusCode::OK,
            "text/plain; version=0.0.4",
            state.metrics.render(&state.gauges()),
        ),
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
