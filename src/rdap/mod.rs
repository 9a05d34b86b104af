//! RDAP over HTTP (RFC 7480, 9082, 9083): the protocol's edges around the shared core.
//!
//! One request goes one way: **admit** (the harvesting defence, on the raw request: only the
//! client address and a path-prefix test decide it, before any parsing) → **parse**
//! ([`router`]: method and path to a protocol-neutral [`Query`]) → **resolve** ([`resolve`]:
//! lookup and redaction for the audience) → **render** ([`render`], pure) → **answer**
//! ([`answer`]: the one outcome → HTTP mapping) → **write**, with one access-log line and the
//! metrics recorded in `finish` for every request.
//!
//! The authority route (`/authority/…`) takes the same steps with two more around resolve: the
//! authority module checks the credential and the statement and issues the [`Grant`](crate::authority::Grant) that
//! authorises the view, and the answer leaves only after its disclosure-log entry is durable.
//! It never touches the public budget or the public cache. A search there (`/authority/domains?…`,
//! the RFC 9536 reverse search, or a public search path with a bearer token) takes the same
//! steps at a higher cost of the credential's rate limit, only for a purpose the policy lets
//! search; its page is found by [`crate::search`] on the blocking pool and gathered by
//! [`results`], and each page is one log entry.

pub mod answer;
mod authority;
pub mod render;
mod requests;
pub mod results;
pub mod router;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures_util::FutureExt as _;
use hyper::header::HeaderValue;
use hyper::Request;

use crate::cache::{request_url_placeholder, CachedBody};
use crate::metrics::Protocol;
use crate::policy::Audience;
use crate::query::Query;
use crate::resolve::{resolve, Resolved};
use crate::state::{Generation, State};
pub use answer::{Answer, HttpResponse, Outcome, RDAP_MEDIA_TYPE};
use authority::{authority_response, public_with_token, AuthorityAsk};
use router::{Refusal, Route};

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
    /// Federated authentication (RFC 9560), when identity providers are trusted.
    pub farv1: Option<render::Farv1>,
    /// Searches are offered on the authority route (it is configured): `/help` says so.
    pub searches: bool,
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
            farv1: None,
            searches: false,
        }
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

/// `text` escaped as the inside of a JSON string, so whatever a client put in its path cannot
/// leave the string it lands in.
fn json_string_inside(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into());
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or("")
        .to_string()
}

/// The render context of one data generation.
pub fn context<'a>(
    cfg: &'a RdapConfig,
    data: &'a Generation,
    request_url: Option<&'a str>,
) -> render::Context<'a> {
    render::Context {
        base_url: &cfg.base_url,
        port43: cfg.port43.as_deref(),
        terms_url: &cfg.terms_url,
        db_updated: data.snapshot.updated(),
        request_url,
        disclosure: None,
        farv1: cfg.farv1.as_ref(),
        searches: cfg.searches,
    }
}

/// Render what the resolver found, as the RFC 9083 body; `None` when nothing was found.
pub fn render_resolved(resolved: &Resolved<'_>, ctx: &render::Context<'_>) -> Option<Vec<u8>> {
    match resolved {
        Resolved::Help => Some(render::help(ctx)),
        Resolved::Domain(view) => Some(render::domain(view, ctx)),
        Resolved::Nameservers(views) => views.first().map(|v| render::nameserver(v, ctx)),
        Resolved::Registrar(view) => Some(render::registrar(view, ctx)),
        Resolved::Contact(view) => Some(render::contact(view, ctx)),
        Resolved::NotFound => None,
    }
}

/// The public answer to a query, for a client that requested `request_url`: from the cache
/// while the backend says none of its records changed, or read, resolved, rendered and cached.
/// Only found objects are cached, so enumeration cannot push real answers out. Records that
/// cannot be read are answered by [`Outcome::unreadable`] (503 or 500).
///
/// The cache holds one body per canonical query, rendered with a placeholder where the request
/// URL goes (notice and referral link `value`s); each answer splices in its own client's URL,
/// so no client ever receives another client's request URL, whichever spelling filled the cache.
///
/// With an in-memory backend nothing here waits: the future is ready on its first poll.
pub async fn public_answer(
    state: &State,
    data: &Generation,
    cfg: &RdapConfig,
    query: &Query,
    request_url: &str,
) -> Outcome<'static> {
    let key = (data.base, query.clone());
    let url = json_string_inside(request_url);
    let backend = &*state.backend;
    // A cached answer serves only while none of the records it was rendered from changed; a
    // stale one is rendered again and replaced below.
    let cached = state
        .rdap_cache
        .get(&key)
        .filter(|t| backend.still_valid(t, &data.snapshot));
    state.metrics.cache(cached.is_some());
    if let Some(template) = cached {
        return Outcome::Found {
            body: template.fill(&url, &backend.updated(&data.snapshot)),
            cached: true,
        };
    }
    let found = match crate::backend::records(backend, &data.snapshot, query).await {
        Ok(found) => found,
        Err(unreadable) => return Outcome::unreadable(unreadable, false),
    };
    let fresh = Fresh {
        store: &found.records,
        rendered_at: found.revision,
        updated: &found.updated,
    };
    render_public(state, data, cfg, &fresh, query, request_url, key, &url)
}

/// The records a public answer is rendered from now.
struct Fresh<'a> {
    /// The snapshot, or the set fetched for the query.
    store: &'a crate::registry::Snapshot,
    /// The revision (or database epoch) they are of, for the cache.
    rendered_at: crate::registry::store::Revision,
    /// `last update of RDAP database`.
    updated: &'a crate::registry::Timestamp,
}

/// Resolve, render and (on its second request) cache a public answer.
#[allow(clippy::too_many_arguments)]
fn render_public(
    state: &State,
    data: &Generation,
    cfg: &RdapConfig,
    fresh: &Fresh<'_>,
    query: &Query,
    request_url: &str,
    key: crate::cache::CacheKey,
    url: &str,
) -> Outcome<'static> {
    let placeholder = request_url_placeholder();
    let resolved = resolve(fresh.store, &data.policy, query, Audience::Public);
    let deps = resolved.records(query);
    // The first request for an answer in a while gets it rendered for itself; the cache takes
    // an answer when it is asked for again (see `Doorkeeper`).
    let worth_caching = deps.is_some() && state.cache_doorkeeper.seen_before(&key);
    if !worth_caching {
        let mut ctx = context(cfg, data, Some(request_url));
        ctx.db_updated = fresh.updated;
        return match render_resolved(&resolved, &ctx) {
            Some(body) => Outcome::Found {
                body: Bytes::from(body),
                cached: false,
            },
            None => Outcome::NotFound { authority: false },
        };
    }
    let mut ctx = context(cfg, data, Some(placeholder));
    ctx.db_updated = &crate::cache::DB_UPDATED_PLACEHOLDER;
    let Some(body) = render_resolved(&resolved, &ctx) else {
        return Outcome::NotFound { authority: false };
    };
    let cacheable = deps.is_some();
    let template = CachedBody::new(
        Bytes::from(body),
        placeholder,
        fresh.rendered_at,
        deps.unwrap_or_default(),
    );
    let body = template.fill(url, fresh.updated);
    if cacheable {
        state.rdap_cache.insert(key, template);
    }
    Outcome::Found {
        body,
        cached: false,
    }
}

/// The client address of a request: the peer, or what a trusted proxy says it forwarded.
fn client_of(state: &State, headers: &hyper::HeaderMap, peer: SocketAddr) -> IpAddr {
    let forwarded = headers.get_all("x-forwarded-for");
    state
        .limiter
        .client_ip(peer.ip(), forwarded.iter().map(HeaderValue::as_bytes))
}

/// What the admission and routing steps made of a request.
enum Routed {
    /// Answered without data.
    Done(Outcome<'static>, &'static str),
    /// Refused by the harvesting defence.
    Limited(crate::limit::Denial),
    /// A query to answer.
    Query(Query),
}

/// Admit (the harvesting defence, on the client address alone: a refused client gets nothing
/// but the refusal, not even a cached answer, and costs no parsing), then route.
fn admit_and_route<B>(state: &State, cfg: &RdapConfig, req: &Request<B>, client: IpAddr) -> Routed {
    if let Err(denial) = state.limiter.admit(client) {
        state.metrics.refused(Protocol::Rdap, denial.reason);
        return Routed::Limited(denial);
    }
    let route = if host_ok(req) {
        router::route_request(
            req.method().as_str(),
            req.uri().path(),
            req.uri().query(),
            &cfg.prefix,
        )
    } else {
        Route::Refused(Refusal::BadRequest(
            "an HTTP/1.1 request needs exactly one Host header (RFC 9112 section 3.2)",
        ))
    };
    match route {
        Route::Options => Routed::Done(Outcome::Options, "options"),
        Route::Refused(r) => Routed::Done(Outcome::Refused(r), "refused"),
        // The service sends authority paths elsewhere; one that arrives here had no valid
        // Host, which the router case above already refused.
        Route::Authority(_) | Route::AuthoritySearch(_) => {
            Routed::Done(Outcome::Refused(Refusal::UnknownPath), "refused")
        }
        Route::Query(q) => Routed::Query(q),
    }
}

/// Handle one public request. Never fails: every outcome is an HTTP answer. With an in-memory
/// backend the future is ready on its first poll.
pub async fn handle<B>(
    state: &State,
    cfg: &RdapConfig,
    req: &Request<B>,
    peer: SocketAddr,
) -> HttpResponse {
    let started = Instant::now();
    let client = client_of(state, req.headers(), peer);
    // The settings are copied only to word a refusal, never on the way to an answer.
    let limits;
    let (outcome, kind) = match admit_and_route(state, cfg, req, client) {
        Routed::Limited(denial) => {
            limits = state.limiter.settings();
            (Outcome::Limited(denial, &limits), "limited")
        }
        Routed::Done(outcome, kind) => (outcome, kind),
        Routed::Query(q) => {
            let url = request_url(cfg, req.uri());
            let data = state.current();
            (public_answer(state, &data, cfg, &q, &url).await, q.kind())
        }
    };
    let answer = Answer::of(outcome);
    finish(state, client, req.method(), kind, &answer, started);
    answer.into_http(req.method() == hyper::Method::HEAD)
}

/// RFC 9112 §3.2: an HTTP/1.1 request carries exactly one Host header (HTTP/1.0 may omit it).
fn host_ok<B>(req: &Request<B>) -> bool {
    let hosts = req.headers().get_all(hyper::header::HOST).iter().count();
    match req.version() {
        hyper::Version::HTTP_10 | hyper::Version::HTTP_09 => hosts <= 1,
        _ => hosts == 1,
    }
}

/// The one access-log line and the answer metrics of every RDAP request.
fn finish(
    state: &State,
    client: IpAddr,
    method: &hyper::Method,
    kind: &'static str,
    answer: &Answer,
    started: Instant,
) {
    state.metrics.request(Protocol::Rdap);
    state
        .metrics
        .rdap_answer(kind, answer.status.as_u16(), started.elapsed());
    match answer.outcome {
        "disclosed" => state.metrics.disclosure(true),
        "log-failed" => state.metrics.disclosure(false),
        _ => {}
    }
    tracing::info!(
        target: "rddsd::access",
        proto = "rdap",
        client = %crate::telemetry::ClientNet(client),
        method = crate::telemetry::method_label(method),
        kind,
        status = answer.status.as_u16(),
        outcome = answer.outcome,
        bytes = answer.body.len(),
        micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
    );
}

/// What the service returns. Public answers from an in-memory backend are ready on their
/// first poll, so they are answered at once and cost no allocation; the authority route,
/// which waits for its log entry, and every answer of a backend that waits for its store, are
/// boxed futures.
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
        // The disclosure-request workflow (issue #25), when configured: `{base}requests…`.
        let workflow = state
            .authority
            .as_ref()
            .is_some_and(|a| a.requests().is_some())
            && host_ok(&req);
        if let Some(path) = workflow
            .then(|| requests::path_of(req.uri().path(), &cfg.prefix))
            .flatten()
        {
            return ServiceFuture::Pending(Box::pin(requests::respond(
                Arc::clone(&state),
                Arc::clone(&cfg),
                req,
                path,
                peer,
            )));
        }
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
            .then(|| router::receipt_index(req.uri().path(), &cfg.prefix).map(str::to_string))
            .flatten();
        let route = authority_path.then(|| {
            router::route_request(
                req.method().as_str(),
                req.uri().path(),
                req.uri().query(),
                &cfg.prefix,
            )
        });
        let ask = match (route, receipt) {
            (Some(Route::Authority(q)), _) => Some(AuthorityAsk::Disclose(q)),
            (Some(Route::AuthoritySearch(s)), _) => Some(AuthorityAsk::Search(s)),
            (Some(_), Some(index)) => Some(AuthorityAsk::Receipt(index)),
            _ => public_with_token(&state, &cfg, &req),
        };
        match ask {
            Some(ask) => {
                let (parts, _body) = req.into_parts();
                ServiceFuture::Pending(Box::pin(authority_response(
                    Arc::clone(&state),
                    Arc::clone(&cfg),
                    parts,
                    ask,
                    peer,
                )))
            }
            None => {
                if state.backend.in_memory() {
                    if let Some(answer) = handle(&state, &cfg, &req, peer).now_or_never() {
                        return ServiceFuture::Ready(Some(answer));
                    }
                }
                let (state, cfg) = (Arc::clone(&state), Arc::clone(&cfg));
                ServiceFuture::Pending(Box::pin(
                    async move { handle(&state, &cfg, &req, peer).await },
                ))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replace every placeholder in a rendered body by the request URL, escaped as the inside of a
    /// JSON string, so whatever the client put in its path cannot leave the string it lands in.
    fn splice_request_url(template: &[u8], placeholder: &str, url: &str) -> Bytes {
        CachedBody::new(Bytes::copy_from_slice(template), placeholder, 0, Vec::new()).fill(
            &json_string_inside(url),
            &crate::registry::Timestamp::from_unix(0),
        )
    }

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
