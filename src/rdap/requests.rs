//! The disclosure-request workflow on the RDAP listener (issue #25):
//! - `POST {base}requests`: intake (the only path that takes POST);
//! - `GET {base}requests/<id>`: the request's status, for its requester;
//! - `GET {base}requests/<id>/disclosure`: the approved objects with exactly the approved
//!   fields, rendered as the authority route renders them, recorded in the disclosure log
//!   before a byte leaves.
//!
//! Without `[requests]` these paths are not taken here and answer as before (404, or 405 for
//! a POST). The requester is known by the access token (or the credential it filed with); a
//! wrong token, an unknown id and a malformed id get one answer. Nothing here logs a value the
//! requester sent: the access log line has the client network, the status and the outcome.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt as _;
use hyper::{Request, StatusCode};

use super::answer::WorkflowAnswer;
use super::{client_of, context, finish, render, render_resolved, request_url};
use super::{Answer, HttpResponse, Outcome, RdapConfig};
use crate::authority::service::AuthorityRequest;
use crate::authority::Authority;
use crate::policy::Audience;
use crate::query::{ContactHandle, EntityHandle, Query};
use crate::registry::{DomainName, Roid, Timestamp};
use crate::requests::intake::{self, MAX_BODY};
use crate::requests::{Release, Requests, TOKEN_PREFIX};
use crate::resolve::resolve;
use crate::state::State;

/// The whole body must arrive within this (one deadline, however it is sent).
pub(super) const BODY_DEADLINE: Duration = Duration::from_secs(10);

/// Which workflow path a request is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Path {
    /// `{base}requests`
    Intake,
    /// `{base}requests/<id>`
    Status(String),
    /// `{base}requests/<id>/disclosure`
    Disclosure(String),
}

/// The workflow path of `path`, if it is one.
pub(super) fn path_of(path: &str, prefix: &str) -> Option<Path> {
    let rest = path.strip_prefix(prefix)?.strip_prefix("/requests")?;
    if rest.is_empty() {
        return Some(Path::Intake);
    }
    let rest = rest.strip_prefix('/')?;
    if rest.len() > 128 {
        return Some(Path::Status(String::new()));
    }
    Some(match rest.split_once('/') {
        None => Path::Status(rest.to_string()),
        Some((id, "disclosure")) => Path::Disclosure(id.to_string()),
        // Anything else under it is a malformed id: the one "no such request".
        Some(_) => Path::Status(String::new()),
    })
}

fn answer(
    status: StatusCode,
    title: &'static str,
    description: &str,
    outcome: &'static str,
) -> Outcome<'static> {
    Outcome::Workflow(WorkflowAnswer {
        status,
        body: None,
        title,
        description: description.to_string(),
        outcome,
        retry_after: None,
        allow: None,
    })
}

fn json(status: StatusCode, body: &serde_json::Value, outcome: &'static str) -> Outcome<'static> {
    Outcome::Workflow(WorkflowAnswer {
        status,
        body: Some(Bytes::from(serde_json::to_vec(body).unwrap_or_default())),
        title: "",
        description: String::new(),
        outcome,
        retry_after: None,
        allow: None,
    })
}

fn too_many(retry: Duration, description: &str) -> Outcome<'static> {
    let mut o = answer(
        StatusCode::TOO_MANY_REQUESTS,
        "Too Many Requests",
        description,
        "request-rate",
    );
    if let Outcome::Workflow(w) = &mut o {
        w.retry_after = Some(retry.as_secs().max(1));
    }
    o
}

fn unknown() -> Outcome<'static> {
    answer(
        StatusCode::NOT_FOUND,
        "Not Found",
        "No such request, or the access token does not match it.",
        "request-unknown",
    )
}

/// Answer one workflow request.
pub(super) async fn respond(
    state: Arc<State>,
    cfg: Arc<RdapConfig>,
    req: Request<hyper::body::Incoming>,
    path: Path,
    peer: SocketAddr,
) -> HttpResponse {
    let started = Instant::now();
    let client = client_of(&state, req.headers(), peer);
    let method = req.method().clone();
    let outcome = outcome(&state, &cfg, req, path, client).await;
    let answer = Answer::of(outcome);
    finish(&state, client, &method, "requests", &answer, started);
    answer.into_http(false)
}

async fn outcome(
    state: &State,
    cfg: &RdapConfig,
    req: Request<hyper::body::Incoming>,
    path: Path,
    client: IpAddr,
) -> Outcome<'static> {
    let Some(authority) = state.authority.as_ref() else {
        return unknown();
    };
    let Some(requests) = authority.requests() else {
        return unknown();
    };
    if state.limiter.is_denied(client) {
        state.metrics.refused(
            crate::metrics::Protocol::Rdap,
            crate::limit::Reason::Denylisted,
        );
        return Outcome::AuthorityDenied;
    }
    let allowed = match path {
        Path::Intake => "POST",
        _ => "GET",
    };
    if req.method().as_str() != allowed {
        let mut o = answer(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method Not Allowed",
            &format!("This path answers {allowed} only."),
            "bad-method",
        );
        if let Outcome::Workflow(w) = &mut o {
            w.allow = Some(if allowed == "POST" { "POST" } else { "GET" });
        }
        return o;
    }
    let (parts, body) = req.into_parts();
    let request = AuthorityRequest {
        path: parts.uri.path().to_string(),
        query_string: None,
        headers: parts.headers.clone(),
        client,
        client_key: state.limiter.key(client),
    };
    match path {
        Path::Intake => intake(state, authority, requests, &request, body).await,
        Path::Status(id) => status(authority, requests, &request, &id).await,
        Path::Disclosure(id) => {
            disclosure(state, cfg, &parts, authority, requests, &request, &id).await
        }
    }
}

/// Read the body: at most [`MAX_BODY`] bytes, all within [`BODY_DEADLINE`].
async fn read_body(
    headers: &hyper::HeaderMap,
    body: hyper::body::Incoming,
) -> Result<Bytes, Outcome<'static>> {
    let too_large = || {
        answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Content Too Large",
            "The request body is larger than 64 KiB.",
            "request-too-large",
        )
    };
    let declared = headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large());
    }
    let limited = http_body_util::Limited::new(body, MAX_BODY);
    match tokio::time::timeout(BODY_DEADLINE, limited.collect()).await {
        Err(_) => Err(answer(
            StatusCode::REQUEST_TIMEOUT,
            "Request Timeout",
            "The request body did not arrive in time.",
            "request-slow",
        )),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Ok(Err(_)) => Err(answer(
            StatusCode::BAD_REQUEST,
            "Bad Request",
            "The request body could not be read.",
            "request-body",
        )),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

fn bearer(headers: &hyper::HeaderMap) -> Option<&str> {
    let v = headers.get(hyper::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

async fn intake(
    state: &State,
    authority: &Authority,
    requests: &Requests,
    request: &AuthorityRequest,
    body: hyper::body::Incoming,
) -> Outcome<'static> {
    // The harvesting budget first (a filing counts as a query), then the intake's own rate.
    if let Err(denial) = state.limiter.admit(request.client) {
        state
            .metrics
            .refused(crate::metrics::Protocol::Rdap, denial.reason);
        return too_many(
            Duration::from_secs(denial.retry_after_secs().unwrap_or(60)),
            "The query budget of your network is spent; retry later.",
        );
    }
    if let Err(wait) = requests.admit(request.client_key) {
        return too_many(
            wait,
            "Too many requests filed from your network; retry later.",
        );
    }
    let bytes = match read_body(&request.headers, body).await {
        Ok(b) => b,
        Err(o) => return o,
    };
    // A credential confirms the requester's identity; a bad one is refused, never ignored.
    let credentialed = if bearer(&request.headers).is_some() {
        match authority.identify(request).await {
            Ok(c) => Some(c),
            Err(refusal) => return Outcome::AuthorityRefused(refusal),
        }
    } else {
        None
    };
    let parsed = match intake::parse(&bytes) {
        Ok(p) => p,
        Err(e) => {
            return answer(
                StatusCode::BAD_REQUEST,
                "Bad Request",
                &e.to_string(),
                "request-invalid",
            )
        }
    };
    match requests.file(parsed, credentialed, Timestamp::now()).await {
        Ok(filed) => json(
            StatusCode::ACCEPTED,
            &serde_json::json!({
                "id": filed.id,
                "accessToken": filed.token,
                "status": filed.status.key(),
                "acknowledgeBy": filed.acknowledge_by.text().to_string(),
                "respondBy": filed.respond_by.text().to_string(),
            }),
            "request-filed",
        ),
        Err(e) => {
            tracing::error!(error = %e, "a request could not be filed");
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable",
                "The request could not be recorded; nothing was filed. Please try again later.",
                "request-store",
            )
        }
    }
}

/// The requester's proof: an access token, or (any other bearer token) the credential it
/// filed with. A credential that fails counts against the network's failure budget.
async fn proof(
    authority: &Authority,
    request: &AuthorityRequest,
) -> (Option<String>, Option<String>) {
    match bearer(&request.headers) {
        None => (None, None),
        Some(t) if t.starts_with(TOKEN_PREFIX) => (Some(t.to_string()), None),
        Some(_) => match authority.identify(request).await {
            Ok(c) => (None, Some(c.id)),
            Err(_) => (None, None),
        },
    }
}

fn store_failed(e: &crate::requests::StoreError) -> Outcome<'static> {
    tracing::error!(error = %e, "the request record cannot be read");
    answer(
        StatusCode::SERVICE_UNAVAILABLE,
        "Service Unavailable",
        "The request record cannot be read at the moment. Please try again later.",
        "request-store",
    )
}

async fn status(
    authority: &Authority,
    requests: &Requests,
    request: &AuthorityRequest,
    id: &str,
) -> Outcome<'static> {
    let (token, credential) = proof(authority, request).await;
    let record = match requests
        .find(id, token.as_deref(), credential.as_deref())
        .await
    {
        Ok(Some(r)) => r,
        Ok(None) => return unknown(),
        Err(e) => return store_failed(&e),
    };
    let now = Timestamp::now();
    let status = record.status_at(now);
    let mut body = serde_json::json!({
        "id": record.id,
        "status": status.key(),
        "receivedAt": record.received_at.text().to_string(),
        "acknowledgeBy": record.filed.acknowledge_by,
        "respondBy": record.filed.respond_by,
        "identityConfirmed": record.identity_confirmed(),
    });
    let mut put = |k: &str, v: serde_json::Value| {
        if let Some(o) = body.as_object_mut() {
            o.insert(k.to_string(), v);
        }
    };
    if let Some(t) = record.acknowledged_at {
        put("acknowledgedAt", t.text().to_string().into());
    }
    if let Some(t) = record.decided_at {
        put("decidedAt", t.text().to_string().into());
    }
    if let Some(a) = &record.approval {
        put("rationale", a.rationale.clone().into());
        put("fields", a.fields.clone().into());
        put("validUntil", a.valid_until.text().to_string().into());
    }
    if let Some((reason, rationale)) = &record.denial {
        put("reason", reason.key().into());
        put("rationale", rationale.clone().into());
    }
    if let Some(answer) = &record.answer {
        put("answer", answer.clone().into());
    }
    json(StatusCode::OK, &body, "request-status")
}

/// The query of a stored object name (`domain:…`, `contact:…`).
fn query_of(object: &str) -> Option<Query> {
    match object.split_once(':')? {
        ("domain", name) => DomainName::parse(name).ok().map(Query::Domain),
        ("contact", roid) => Roid::parse(roid)
            .ok()
            .map(|r| Query::Entity(EntityHandle::Contact(ContactHandle::new(&r)))),
        _ => None,
    }
}

async fn disclosure(
    state: &State,
    cfg: &RdapConfig,
    parts: &hyper::http::request::Parts,
    authority: &Authority,
    requests: &Requests,
    request: &AuthorityRequest,
    id: &str,
) -> Outcome<'static> {
    let (token, credential) = proof(authority, request).await;
    let approved =
        match requests
            .release(
                id,
                token.as_deref(),
                credential.as_deref(),
                Timestamp::now(),
            )
            .await
        {
            Ok(Release::Approved(a)) => a,
            Ok(Release::Unknown) => return unknown(),
            Ok(Release::Undecided) => {
                return answer(
                    StatusCode::CONFLICT,
                    "Conflict",
                    "The request is not decided yet; see its status.",
                    "request-undecided",
                )
            }
            Ok(Release::Nothing) => return answer(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "The request was not approved for a disclosure; see its status for the decision.",
                "request-not-approved",
            ),
            Ok(Release::Expired) => {
                return answer(
                    StatusCode::GONE,
                    "Gone",
                    "The approval of this request has expired.",
                    "request-expired",
                )
            }
            Err(e) => return store_failed(&e),
        };
    let data = state.current();
    let grant = match authority.grant_for_request(
        &approved,
        data.policy.approved_rules(approved.fields()),
        request.client,
        parts.uri.path(),
    ) {
        Ok(g) => g,
        Err(refusal) => return Outcome::AuthorityRefused(refusal),
    };
    let url = request_url(cfg, &parts.uri);
    let mut bodies: Vec<serde_json::Value> = Vec::new();
    let mut objects: Vec<String> = Vec::new();
    let mut disclosed: Vec<crate::authority::log::DisclosedContact> = Vec::new();
    for object in approved.objects() {
        let Some(query) = query_of(object) else {
            continue;
        };
        let found = match crate::backend::records(&*state.backend, &data.snapshot, &query).await {
            Ok(found) => found,
            Err(unreadable) => return Outcome::unreadable(unreadable, true),
        };
        let store: &crate::registry::Snapshot = &found.records;
        let resolved = resolve(store, &data.policy, &query, Audience::Authority(&grant));
        let ctx = render::Context {
            disclosure: Some(&grant),
            db_updated: &found.updated,
            ..context(cfg, &data, Some(&url))
        };
        let Some(body) = render_resolved(&resolved, &ctx) else {
            continue;
        };
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(&body) else {
            continue;
        };
        bodies.push(value);
        let (o, d) = crate::resolve::disclosure(store, &data.policy, &query, &grant);
        for x in o {
            if !objects.contains(&x) {
                objects.push(x);
            }
        }
        for c in d {
            if !disclosed.contains(&c) {
                disclosed.push(c);
            }
        }
    }
    drop(data);
    let body = serde_json::json!({
        "rdapConformance": ["rdap_level_0"],
        "request": approved.id(),
        "objects": bodies,
    });
    let body = Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
    super::authority::disclose(authority, &grant, objects, disclosed, body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(path_of("/rdap/requests", "/rdap"), Some(Path::Intake));
        assert_eq!(
            path_of("/requests/rq-1", ""),
            Some(Path::Status("rq-1".into()))
        );
        assert_eq!(
            path_of("/requests/rq-1/disclosure", ""),
            Some(Path::Disclosure("rq-1".into()))
        );
        assert_eq!(
            path_of("/requests/rq-1/other", ""),
            Some(Path::Status(String::new()))
        );
        assert_eq!(path_of("/requestsx", ""), None);
        assert_eq!(path_of("/domain/x", ""), None);
    }

    #[test]
    fn stored_objects_become_queries() {
        assert!(matches!(
            query_of("domain:example.example"),
            Some(Query::Domain(_))
        ));
        assert!(matches!(
            query_of("contact:C101-EXAMPLE"),
            Some(Query::Entity(_))
        ));
        assert!(query_of("nameserver:x").is_none());
    }
}
