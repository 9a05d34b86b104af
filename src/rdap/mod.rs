//! RDAP over HTTP (RFC 7480) with hyper: request in, [`Answer`] out.
//!
//! The order of steps is fixed: route (pure) → cache → lookup → redact (policy view) → render
//! (pure) → HTTP response. Protocol outcomes (not found, bad query, not implemented) are values
//! mapped to status codes and RFC 9083 bodies in exactly one place, [`Answer::refusal`].

pub mod render;
pub mod router;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{
    HeaderValue, ACCESS_CONTROL_ALLOW_ORIGIN, ALLOW, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER,
};
use hyper::{Request, Response, StatusCode};

use crate::limit::{LimitSettings, Reason};
use crate::metrics::Protocol;
use crate::policy::Audience;
use crate::state::{Dataset, State};
use router::{EntityHandle, RdapQuery, Refusal, Route};

/// The RDAP media type (RFC 7480 §4.2).
pub const RDAP_MEDIA_TYPE: &str = "application/rdap+json";

/// Service-wide values, fixed at start.
#[derive(Debug, Clone)]
pub struct RdapConfig {
    /// Base URL ending in `/`.
    pub base_url: String,
    /// Path part of the base URL without the trailing slash ("" at the root).
    pub prefix: String,
    /// `port43` host name.
    pub port43: Option<String>,
    /// Terms of service URL.
    pub terms_url: String,
}

impl RdapConfig {
    /// Build from a base URL.
    pub fn new(base_url: String, port43: Option<String>, terms_url: String) -> Self {
        let after_scheme = base_url
            .split_once("://")
            .map_or(base_url.as_str(), |(_, r)| r);
        let path = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
        let prefix = path.trim_end_matches('/').to_string();
        Self {
            base_url,
            prefix,
            port43,
            terms_url,
        }
    }
}

/// What to send back, before HTTP framing.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: StatusCode,
    /// JSON body (empty for OPTIONS).
    pub body: Bytes,
    /// Short label for the access log: what kind of answer this was.
    pub outcome: &'static str,
    /// Seconds for a `Retry-After` header (refusals by the harvesting defence).
    pub retry_after: Option<u64>,
}

impl Answer {
    fn json(status: StatusCode, value: &serde_json::Value, outcome: &'static str) -> Self {
        // Serialising a `Value` cannot fail: all keys are strings.
        let body = serde_json::to_vec(value)
            .map(Bytes::from)
            .unwrap_or_default();
        Self {
            status,
            body,
            outcome,
            retry_after: None,
        }
    }

    /// The single mapping from protocol outcomes to HTTP answers.
    pub fn refusal(refusal: &Refusal) -> Self {
        let (status, title, description, outcome) = match refusal {
            Refusal::BadRequest(why) => {
                (StatusCode::BAD_REQUEST, "Bad Request", *why, "bad-request")
            }
            Refusal::UnknownPath => (
                StatusCode::NOT_FOUND,
                "Not Found",
                "This path is not an RDAP query this server answers; see /help.",
                "unknown-path",
            ),
            Refusal::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "Method Not Allowed",
                "RDAP queries use GET or HEAD.",
                "bad-method",
            ),
            Refusal::NotImplemented(why) => (
                StatusCode::NOT_IMPLEMENTED,
                "Not Implemented",
                *why,
                "not-implemented",
            ),
        };
        Self::json(
            status,
            &render::error(status.as_u16(), title, description),
            outcome,
        )
    }

    /// The answer to a client the harvesting defence refused: 429 with `Retry-After` (403 for a
    /// denylisted network), and a notice saying which limit was hit.
    pub fn limited(refusal: &crate::limit::Refusal, limits: &LimitSettings) -> Self {
        let retry = refusal.retry_after_secs();
        let (status, title, text) = match refusal.reason {
            Reason::Denylisted => (
                StatusCode::FORBIDDEN,
                "Forbidden",
                "Access from your network is denied by the registry. Contact the registry if you believe this is an error.".to_string(),
            ),
            Reason::Rate => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests",
                format!(
                    "Query rate limit exceeded: at most {} with a burst of {} per client network (IPv4 /{}, IPv6 /{}), shared by RDAP and WHOIS.",
                    limits.rate_text(), limits.burst, limits.ipv4_prefix, limits.ipv6_prefix
                ),
            ),
            Reason::Quota | Reason::Blocked => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests",
                format!(
                    "Daily query quota of {} queries per client network exhausted (shared by RDAP and WHOIS); access is blocked until the quota resets at 00:00 UTC, longer for repeated excess.",
                    limits.daily_quota
                ),
            ),
        };
        let value = render::limited(status.as_u16(), title, &text, retry);
        let mut answer = Self::json(status, &value, refusal.reason.label());
        answer.retry_after = retry;
        answer
    }

    fn not_found() -> Self {
        let v = render::error(
            404,
            "Not Found",
            "The object was not found in this registry.",
        );
        Self::json(StatusCode::NOT_FOUND, &v, "not-found")
    }
}

/// Answer one routed query from a dataset, for an audience. Pure apart from the cache.
pub fn answer(
    state: &State,
    data: &Dataset,
    cfg: &RdapConfig,
    query: &RdapQuery,
    audience: Audience,
) -> Answer {
    let cacheable = audience == Audience::Public;
    let key = (data.generation, query.clone());
    if cacheable {
        let cached = state.rdap_cache.get(&key);
        state.metrics.cache(cached.is_some());
        if let Some(body) = cached {
            return Answer {
                status: StatusCode::OK,
                body,
                outcome: "found-cached",
                retry_after: None,
            };
        }
    }
    let Some(value) = render_query(data, cfg, query, audience) else {
        return Answer::not_found();
    };
    let found = Answer::json(StatusCode::OK, &value, "found");
    if cacheable {
        state.rdap_cache.insert(key, found.body.clone());
    }
    found
}

/// Look up and render; `None` when the object does not exist.
pub fn render_query(
    data: &Dataset,
    cfg: &RdapConfig,
    query: &RdapQuery,
    audience: Audience,
) -> Option<serde_json::Value> {
    let snap = &data.snapshot;
    let policy = &data.policy;
    let ctx = render::Context {
        base_url: &cfg.base_url,
        port43: cfg.port43.as_deref(),
        terms_url: &cfg.terms_url,
        db_updated: snap.updated(),
    };
    match query {
        RdapQuery::Help => Some(render::help(&ctx)),
        RdapQuery::Domain(name) => {
            let d = snap.domain(name)?;
            let view = policy.domain_view(audience, snap, d)?;
            Some(render::domain(&view, &ctx))
        }
        RdapQuery::Nameserver(name) => {
            let h = snap.host(name)?;
            Some(render::nameserver(
                &policy.host_view(audience, snap, h),
                &ctx,
            ))
        }
        RdapQuery::Entity(EntityHandle::Registrar(id)) => {
            let r = snap.registrar(*id)?;
            Some(render::registrar(&policy.registrar_view(audience, r), &ctx))
        }
        RdapQuery::Entity(EntityHandle::Contact(roid)) => {
            let (c, roles) = snap.contact(roid)?;
            let view = policy.contact_view(audience, c, roles);
            Some(render::contact(&view, &ctx, c.roid.as_str()))
        }
    }
}

/// Handle one HTTP request. Never fails: every outcome is an HTTP answer.
///
/// The harvesting defence runs first, before routing, cache or lookup: a refused client gets
/// nothing but the refusal, not even a cached answer.
pub fn handle<B>(
    state: &State,
    cfg: &RdapConfig,
    req: &Request<B>,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let method = req.method().as_str();
    let path = req.uri().path();
    let forwarded = req.headers().get_all("x-forwarded-for");
    let client = state
        .limiter
        .client_ip(peer.ip(), forwarded.iter().map(HeaderValue::as_bytes));
    state.metrics.request(Protocol::Rdap);
    let route = if host_ok(req) {
        router::route(method, path, &cfg.prefix)
    } else {
        Route::Refused(Refusal::BadRequest(
            "an HTTP/1.1 request needs exactly one Host header (RFC 9112 section 3.2)",
        ))
    };
    let (route, answer, kind) = match state.limiter.admit(client) {
        Err(refusal) => {
            state.metrics.refused(Protocol::Rdap, refusal.reason);
            let answer = Answer::limited(&refusal, &state.limiter.settings());
            (None, answer, "limited")
        }
        Ok(()) => {
            let (answer, kind) = match &route {
                Route::Options => (
                    Answer {
                        status: StatusCode::NO_CONTENT,
                        body: Bytes::new(),
                        outcome: "options",
                        retry_after: None,
                    },
                    "options",
                ),
                Route::Refused(r) => (Answer::refusal(r), "refused"),
                // Answered by `service` (asynchronously); kept for exhaustiveness.
                Route::Authority(_) => (Answer::refusal(&Refusal::UnknownPath), "refused"),
                Route::Query(q) => {
                    let data = state.dataset();
                    let kind = match q {
                        RdapQuery::Domain(_) => "domain",
                        RdapQuery::Nameserver(_) => "nameserver",
                        RdapQuery::Entity(_) => "entity",
                        RdapQuery::Help => "help",
                    };
                    (answer(state, &data, cfg, q, Audience::Public), kind)
                }
            };
            (Some(route), answer, kind)
        }
    };
    state
        .metrics
        .rdap_answer(kind, answer.status.as_u16(), started.elapsed());
    tracing::info!(
        target: "rddsd::access",
        proto = "rdap",
        client = %crate::telemetry::ClientNet(client),
        method = crate::telemetry::method_label(req.method()),
        kind,
        status = answer.status.as_u16(),
        outcome = answer.outcome,
        bytes = answer.body.len(),
        micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
    );
    let is_head = method == "HEAD";
    http_response(answer, route.as_ref(), is_head)
}

/// RFC 9112 §3.2: an HTTP/1.1 request carries exactly one Host header (HTTP/1.0 may omit it).
fn host_ok<B>(req: &Request<B>) -> bool {
    let hosts = req.headers().get_all(hyper::header::HOST).iter().count();
    match req.version() {
        hyper::Version::HTTP_10 | hyper::Version::HTTP_09 => hosts <= 1,
        _ => hosts == 1,
    }
}

/// The authority route: GET only, no CORS (browsers of other origins must not read disclosed
/// data), never cached anywhere. The denylist applies here as on the public routes (403); the
/// authority side meters failed authentications itself. Asynchronous because a disclosure waits
/// for its log entry to be durable.
async fn authority_response(
    state: Arc<State>,
    cfg: Arc<RdapConfig>,
    parts: hyper::http::request::Parts,
    query: RdapQuery,
    peer: SocketAddr,
    receipt: Option<String>,
) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let forwarded = parts.headers.get_all("x-forwarded-for");
    let client = state
        .limiter
        .client_ip(peer.ip(), forwarded.iter().map(HeaderValue::as_bytes));
    state.metrics.request(Protocol::Rdap);
    let simple = |status: u16, title: &str, text: &str, outcome: &'static str| {
        let v = render::error(status, title, text);
        crate::authority::route::AuthorityAnswer {
            status,
            body: serde_json::to_vec(&v).map(Bytes::from).unwrap_or_default(),
            www_authenticate: None,
            retry_after: None,
            request_id: None,
            outcome,
            log_leaf: None,
        }
    };
    let denied = crate::limit::client::in_any(&state.limiter.settings().deny, client);
    let answer = match (&state.authority, parts.method.as_str()) {
        _ if denied => {
            state.metrics.refused(Protocol::Rdap, Reason::Denylisted);
            simple(
                403,
                "Forbidden",
                "Access from your network is denied by the registry. Contact the registry if you believe this is an error.",
                Reason::Denylisted.label(),
            )
        }
        (None, _) => simple(
            501,
            "Not Implemented",
            "Authority disclosure is not configured on this server.",
            "not-configured",
        ),
        (Some(_), m) if m != "GET" => simple(
            405,
            "Method Not Allowed",
            "The authority route answers GET only.",
            "bad-method",
        ),
        // Transparency (issue #14): receipts, authenticated like disclosures.
        (Some(authority), _) if receipt.is_some() => {
            let request = crate::authority::route::AuthorityRequest {
                path: parts.uri.path().to_string(),
                query_string: parts.uri.query().map(str::to_string),
                client,
                client_key: state.limiter.key(client),
                headers: parts.headers.clone(),
            };
            authority.receipt(&request, receipt.as_deref().unwrap_or_default())
        }
        (Some(authority), _) => {
            let request = crate::authority::route::AuthorityRequest {
                path: parts.uri.path().to_string(),
                query_string: parts.uri.query().map(str::to_string),
                client,
                client_key: state.limiter.key(client),
                headers: parts.headers,
            };
            authority
                .respond(state.dataset(), &cfg, &query, request)
                .await
        }
    };
    state
        .metrics
        .rdap_answer("authority", answer.status, started.elapsed());
    match answer.outcome {
        "disclosed" => state.metrics.disclosure(true),
        o if o.starts_with("log-") => state.metrics.disclosure(false),
        _ => {}
    }
    tracing::info!(
        target: "rddsd::access",
        proto = "rdap",
        client = %crate::telemetry::ClientNet(client),
        method = crate::telemetry::method_label(&parts.method),
        kind = "authority",
        status = answer.status,
        outcome = answer.outcome,
        bytes = answer.body.len(),
        micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
    );
    let mut resp = Response::new(Full::new(answer.body));
    *resp.status_mut() =
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(RDAP_MEDIA_TYPE));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(hyper::header::PRAGMA, HeaderValue::from_static("no-cache"));
    if let Some(w) = answer.www_authenticate {
        h.insert(hyper::header::WWW_AUTHENTICATE, HeaderValue::from_static(w));
    }
    if let Some(s) = answer.retry_after {
        h.insert(RETRY_AFTER, HeaderValue::from(s));
    }
    if answer.status == 405 {
        h.insert(ALLOW, HeaderValue::from_static("GET"));
    }
    if let Some(id) = answer
        .request_id
        .and_then(|id| HeaderValue::from_str(&id).ok())
    {
        h.insert("rdds-request-id", id);
    }
    if let Some((index, leaf)) = answer.log_leaf.map(|b| *b) {
        h.insert("rdds-log-index", HeaderValue::from(index));
        if let Ok(v) = HeaderValue::from_str(&leaf) {
            h.insert("rdds-log-leaf-hash", v);
        }
    }
    resp
}

fn http_response(answer: Answer, route: Option<&Route>, is_head: bool) -> Response<Full<Bytes>> {
    let len = answer.body.len();
    let body = if is_head { Bytes::new() } else { answer.body };
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = answer.status;
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(RDAP_MEDIA_TYPE));
    h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    match route {
        Some(Route::Options) => {
            h.insert(ALLOW, HeaderValue::from_static("GET, HEAD, OPTIONS"));
            h.insert(
                "access-control-allow-methods",
                HeaderValue::from_static("GET, HEAD, OPTIONS"),
            );
            h.insert(
                "access-control-allow-headers",
                HeaderValue::from_static("Accept"),
            );
        }
        Some(Route::Refused(Refusal::MethodNotAllowed)) => {
            h.insert(ALLOW, HeaderValue::from_static("GET, HEAD, OPTIONS"));
        }
        _ => {}
    }
    if let Some(secs) = answer.retry_after {
        h.insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    if answer.status.is_client_error() || answer.status.is_server_error() {
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    // HEAD must carry the Content-Length the GET would have (RFC 9110 §9.3.2); hyper derives
    // it from the (empty) body otherwise.
    if is_head {
        h.insert(hyper::header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    resp
}

/// An HTTP response with a fully buffered body.
pub type HttpResponse = Response<Full<Bytes>>;

/// What the service returns. Public answers are computed synchronously from memory, so their
/// future is ready at once and costs no allocation; only the authority route, which waits for
/// its log entry, is a boxed future.
pub enum ServiceFuture {
    /// A finished answer (taken on first poll).
    Ready(Option<HttpResponse>),
    /// An authority answer in progress.
    Pending(std::pin::Pin<Box<dyn std::future::Future<Output = HttpResponse> + Send>>),
}

impl std::future::Future for ServiceFuture {
    type Output = Result<HttpResponse, std::convert::Infallible>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        match self.get_mut() {
            // Polled again after completion only by a broken executor: answer something valid.
            Self::Ready(r) => std::task::Poll::Ready(Ok(r.take().unwrap_or_default())),
            Self::Pending(f) => f.as_mut().poll(cx).map(Ok),
        }
    }
}

/// The hyper service for one connection.
pub fn service(
    state: Arc<State>,
    cfg: Arc<RdapConfig>,
    peer: SocketAddr,
) -> impl hyper::service::Service<
    Request<hyper::body::Incoming>,
    Response = HttpResponse,
    Error = std::convert::Infallible,
    Future = ServiceFuture,
> + Clone {
    hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
        // Authorities have their own credential-based limit and never touch the public budget
        // or the public cache. A prefix test first keeps public requests to one routing pass.
        let authority_path = host_ok(&req)
            && req
                .uri()
                .path()
                .strip_prefix(cfg.prefix.as_str())
                .is_some_and(|p| p.starts_with("/authority/"));
        // Transparency (issue #14): `/authority/receipt/<index>`.
        let receipt = authority_path
            .then(|| {
                req.uri()
                    .path()
                    .strip_prefix(cfg.prefix.as_str())
                    .and_then(|p| p.strip_prefix("/authority/receipt/"))
                    .map(str::to_string)
            })
            .flatten();
        let route = authority_path
            .then(|| router::route(req.method().as_str(), req.uri().path(), &cfg.prefix));
        match route {
            Some(Route::Authority(q)) => {
                let (parts, _body) = req.into_parts();
                ServiceFuture::Pending(Box::pin(authority_response(
                    Arc::clone(&state),
                    Arc::clone(&cfg),
                    parts,
                    q,
                    peer,
                    None,
                )))
            }
            Some(_) if receipt.is_some() => {
                let (parts, _body) = req.into_parts();
                ServiceFuture::Pending(Box::pin(authority_response(
                    Arc::clone(&state),
                    Arc::clone(&cfg),
                    parts,
                    RdapQuery::Help,
                    peer,
                    receipt,
                )))
            }
            _ => ServiceFuture::Ready(Some(handle(&state, &cfg, &req, peer))),
        }
    })
}
