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
    /// `scheme://host[:port]` of the base URL: request URLs are this plus the path as sent.
    pub origin: String,
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
        let origin = base_url[..base_url.len() - path.len()].to_string();
        Self {
            base_url,
            prefix,
            origin,
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
                    "Query rate limit exceeded: at most {} queries per second with a burst of {} per client network (IPv4 /{}, IPv6 /{}), shared by RDAP and WHOIS.",
                    limits.rate_per_second, limits.burst, limits.ipv4_prefix, limits.ipv6_prefix
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

/// The URL a client requested, for the `value` of notice and referral links: the base URL's
/// `scheme://host[:port]` and the path and query exactly as sent (percent-encoding kept, so an
/// upper-case, U-label or trailing-dot query sees its own spelling). The router already bounds
/// the path ([`router::MAX_PATH_LEN`]); a query string that would push the URL past that bound
/// is left out rather than echoed.
pub fn request_url(cfg: &RdapConfig, uri: &hyper::Uri) -> String {
    let path = uri.path();
    match uri.query() {
        Some(q) if path.len() + 1 + q.len() <= router::MAX_PATH_LEN => {
            format!("{}{path}?{q}", cfg.origin)
        }
        _ => format!("{}{path}", cfg.origin),
    }
}

/// The text rendered into cached public bodies where the request URL goes. It carries a
/// per-process random nonce, so registration data (which never contains it) cannot forge a
/// splice point, and it is plain ASCII that JSON serialisation leaves as is.
fn request_url_placeholder() -> &'static str {
    static PLACEHOLDER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PLACEHOLDER.get_or_init(|| {
        let mut nonce = [0u8; 16];
        if getrandom::fill(&mut nonce).is_err() {
            // No OS randomness: fall back to the clock, still unknowable to data files written
            // before the process started.
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            nonce = t.to_le_bytes();
        }
        let hex: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        format!("rddsd-request-url-{hex}")
    })
}

/// Replace every placeholder in a rendered body by the request URL, escaped as the inside of a
/// JSON string, so whatever the client put in its path cannot leave the string it lands in.
fn splice_request_url(template: &[u8], placeholder: &str, url: &str) -> Bytes {
    let quoted = serde_json::to_string(url).unwrap_or_else(|_| "\"\"".into());
    let escaped = quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or("");
    let needle = placeholder.as_bytes();
    let mut out = Vec::with_capacity(template.len() + 4 * escaped.len());
    let mut rest = template;
    while let Some(i) = rest.windows(needle.len()).position(|w| w == needle) {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(escaped.as_bytes());
        rest = &rest[i + needle.len()..];
    }
    out.extend_from_slice(rest);
    Bytes::from(out)
}

/// Answer one routed query from a dataset, for an audience, to a client that requested
/// `request_url`. Pure apart from the cache.
///
/// The cache holds one body per canonical query, rendered with a placeholder where the request
/// URL goes; each answer splices in its own client's URL. No client ever receives another
/// client's request URL, whichever spelling filled the cache.
pub fn answer(
    state: &State,
    data: &Dataset,
    cfg: &RdapConfig,
    query: &RdapQuery,
    audience: Audience,
    request_url: &str,
) -> Answer {
    let cacheable = audience == Audience::Public;
    let placeholder = request_url_placeholder();
    let key = (data.generation, query.clone());
    if cacheable {
        if let Some(template) = state.rdap_cache.get(&key) {
            return Answer {
                status: StatusCode::OK,
                body: splice_request_url(&template, placeholder, request_url),
                outcome: "found-cached",
                retry_after: None,
            };
        }
    }
    let Some(value) = render_with_url(data, cfg, query, audience, Some(placeholder)) else {
        return Answer::not_found();
    };
    let mut found = Answer::json(StatusCode::OK, &value, "found");
    let template = std::mem::take(&mut found.body);
    found.body = splice_request_url(&template, placeholder, request_url);
    if cacheable {
        state.rdap_cache.insert(key, template);
    }
    found
}

/// Look up and render; `None` when the object does not exist. Links whose `value` is the
/// request URL carry the object's canonical URL here; [`answer`] gives each client its own.
pub fn render_query(
    data: &Dataset,
    cfg: &RdapConfig,
    query: &RdapQuery,
    audience: Audience,
) -> Option<serde_json::Value> {
    render_with_url(data, cfg, query, audience, None)
}

/// Look up and render with `request_url` as the context URI of notice and referral links.
pub fn render_with_url(
    data: &Dataset,
    cfg: &RdapConfig,
    query: &RdapQuery,
    audience: Audience,
    request_url: Option<&str>,
) -> Option<serde_json::Value> {
    let snap = &data.snapshot;
    let policy = &data.policy;
    let ctx = render::Context {
        base_url: &cfg.base_url,
        port43: cfg.port43.as_deref(),
        terms_url: &cfg.terms_url,
        db_updated: snap.updated(),
        request_url,
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
    let route = router::route(method, path, &cfg.prefix);
    // Authorities have their own credential-based limit and never touch the public budget or
    // the public cache.
    if let Route::Authority(q) = &route {
        return authority_response(state, cfg, req, q, client, started);
    }
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
                // Answered above; kept for exhaustiveness.
                Route::Authority(_) => (Answer::refusal(&Refusal::UnknownPath), "refused"),
                Route::Query(q) => {
                    let data = state.dataset();
                    let kind = match q {
                        RdapQuery::Domain(_) => "domain",
                        RdapQuery::Nameserver(_) => "nameserver",
                        RdapQuery::Entity(_) => "entity",
                        RdapQuery::Help => "help",
                    };
                    let url = request_url(cfg, req.uri());
                    (answer(state, &data, cfg, q, Audience::Public, &url), kind)
                }
            };
            (Some(route), answer, kind)
        }
    };
    tracing::info!(
        target: "rddsd::access",
        proto = "rdap",
        client = %crate::telemetry::ClientNet(client),
        method = %crate::telemetry::Printable(method),
        kind,
        status = answer.status.as_u16(),
        outcome = answer.outcome,
        bytes = answer.body.len(),
        micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
    );
    let is_head = method == "HEAD";
    http_response(answer, route.as_ref(), is_head)
}

/// The authority route: GET only, no CORS (browsers of other origins must not read disclosed
/// data), never cached anywhere.
fn authority_response<B>(
    state: &State,
    cfg: &RdapConfig,
    req: &Request<B>,
    query: &RdapQuery,
    client: std::net::IpAddr,
    started: Instant,
) -> Response<Full<Bytes>> {
    let answer = match (&state.authority, req.method().as_str()) {
        (None, _) => {
            let v = render::error(
                501,
                "Not Implemented",
                "Authority disclosure is not configured on this server.",
            );
            crate::authority::route::AuthorityAnswer {
                status: 501,
                body: serde_json::to_vec(&v).map(Bytes::from).unwrap_or_default(),
                www_authenticate: None,
                retry_after: None,
                request_id: None,
                outcome: "not-configured",
            }
        }
        (Some(_), m) if m != "GET" => {
            let v = render::error(
                405,
                "Method Not Allowed",
                "The authority route answers GET only.",
            );
            crate::authority::route::AuthorityAnswer {
                status: 405,
                body: serde_json::to_vec(&v).map(Bytes::from).unwrap_or_default(),
                www_authenticate: None,
                retry_after: None,
                request_id: None,
                outcome: "bad-method",
            }
        }
        (Some(authority), _) => {
            let data = state.dataset();
            let headers = req.headers();
            authority.respond(
                &data,
                cfg,
                query,
                req.uri().path(),
                headers
                    .get(hyper::header::AUTHORIZATION)
                    .map(HeaderValue::as_bytes),
                |name| headers.get(name).map(|v| v.as_bytes().to_vec()),
                req.uri().query(),
                client,
            )
        }
    };
    tracing::info!(
        target: "rddsd::access",
        proto = "rdap",
        client = %crate::telemetry::ClientNet(client),
        method = %crate::telemetry::Printable(req.method().as_str()),
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

/// What the service returns: answers are computed synchronously from memory, so the future is
/// always ready and no error is possible.
pub type ServiceFuture = std::future::Ready<Result<HttpResponse, std::convert::Infallible>>;

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
        std::future::ready(Ok(handle(&state, &cfg, &req, peer)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_url_is_spliced_json_escaped_everywhere() {
        let ph = request_url_placeholder();
        assert_eq!(ph, request_url_placeholder(), "one placeholder per process");
        let template = serde_json::to_vec(&serde_json::json!({
            "a": ph, "b": [{ "value": ph }], "c": "text"
        }))
        .expect("json");
        let url = "http://x/domain/a\"},{\"evil\":1}\\\u{1}";
        let body = splice_request_url(&template, ph, url);
        let v: serde_json::Value = serde_json::from_slice(&body).expect("still JSON");
        assert_eq!(v["a"], url);
        assert_eq!(v["b"][0]["value"], url);
        assert_eq!(v["c"], "text");
        assert!(v.get("evil").is_none());
    }

    #[test]
    fn request_url_keeps_the_path_as_sent() {
        let cfg = RdapConfig::new("https://rdap.nic.example/rdap/".into(), None, String::new());
        assert_eq!(cfg.origin, "https://rdap.nic.example");
        let uri: hyper::Uri = "/rdap/domain/CAF%C3%A9.Example.?x=1".parse().expect("uri");
        assert_eq!(
            request_url(&cfg, &uri),
            "https://rdap.nic.example/rdap/domain/CAF%C3%A9.Example.?x=1"
        );
        let long: hyper::Uri = format!("/domain/a.example?{}", "q".repeat(router::MAX_PATH_LEN))
            .parse()
            .expect("uri");
        assert_eq!(
            request_url(&cfg, &long),
            "https://rdap.nic.example/domain/a.example"
        );
    }
}
