//! The authority route's orchestration: the authority service checks the credential and the
//! statement and issues the grant; the records are read through the backend seam, resolved
//! with the grant's view, rendered, recorded in the disclosure log, and only then answered.
//! Lookups, searches (one page at a time, found on the blocking pool) and receipts.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use hyper::Request;

use super::router::{self, Refusal, Route};
use super::{client_of, context, finish, host_ok, render, render_resolved, request_url, results};
use super::{Answer, HttpResponse, Outcome, RdapConfig};
use crate::metrics::Protocol;
use crate::policy::Audience;
use crate::query::Query;
use crate::resolve::resolve;
use crate::state::{Generation, State};

/// A lookup on a public path (`/domain/…`, `/nameserver/…`, `/entity/…`), or a search
/// (`/domains?…`, `/domains/reverse_search/entity?…`, …), that carries `Authorization: Bearer`,
/// on a server with the authority route: RFC 9560 clients send their token on the ordinary
/// paths, so it is answered exactly as on `/authority/…` (same checks, same log, searches only
/// for the purposes allowed to search, never the public cache), and a bad token gets 401,
/// never a silent public answer. Without a token, or without the authority route, the request
/// stays public (and a search gets 501).
pub(super) fn public_with_token<B>(
    state: &State,
    cfg: &RdapConfig,
    req: &Request<B>,
) -> Option<AuthorityAsk> {
    if state.authority.is_none()
        || !host_ok(req)
        || !crate::authority::service::has_bearer(req.headers())
    {
        return None;
    }
    if !matches!(req.method().as_str(), "GET" | "HEAD") {
        return None;
    }
    if let Some(search) = router::public_search(req.uri().path(), req.uri().query(), &cfg.prefix) {
        return Some(match search {
            Ok(s) => AuthorityAsk::Search(s),
            // Told as on the authority route (a public search would only hear 501).
            Err(refusal) => AuthorityAsk::Malformed(refusal),
        });
    }
    match router::route(req.method().as_str(), req.uri().path(), &cfg.prefix) {
        Route::Query(q @ (Query::Domain(_) | Query::Nameserver(_) | Query::Entity(_))) => {
            Some(AuthorityAsk::Disclose(q))
        }
        _ => None,
    }
}

/// The authority route: denylist, then the authority checks (which issue the grant), then
/// resolve and render with the grant's view, then record, then answer.
pub(super) async fn authority_response(
    state: Arc<State>,
    cfg: Arc<RdapConfig>,
    parts: hyper::http::request::Parts,
    ask: AuthorityAsk,
    peer: SocketAddr,
) -> HttpResponse {
    let started = Instant::now();
    let client = client_of(&state, &parts.headers, peer);
    let outcome = authority_outcome(&state, &cfg, &parts, &ask, client).await;
    let answer = Answer::of(outcome);
    finish(&state, client, &parts.method, "authority", &answer, started);
    answer.into_http(false)
}

/// What an authority request asks for.
pub(super) enum AuthorityAsk {
    /// A lookup with disclosure.
    Disclose(Query),
    /// A search with disclosure.
    Search(router::SearchRequest),
    /// A search with a token on a public path that is malformed: refused as the authority
    /// route would refuse it, before any check.
    Malformed(Refusal),
    /// The receipt of an earlier disclosure, by leaf index.
    Receipt(String),
}

pub(super) async fn authority_outcome(
    state: &State,
    cfg: &RdapConfig,
    parts: &hyper::http::request::Parts,
    ask: &AuthorityAsk,
    client: IpAddr,
) -> Outcome<'static> {
    if state.limiter.is_denied(client) {
        state
            .metrics
            .refused(Protocol::Rdap, crate::limit::Reason::Denylisted);
        return Outcome::AuthorityDenied;
    }
    let Some(authority) = &state.authority else {
        return Outcome::AuthorityOff;
    };
    if parts.method != hyper::Method::GET {
        return Outcome::AuthorityMethod;
    }
    // A search's log entry records what was searched for: the path with its query string
    // (the router bounds both).
    let path = match (ask, parts.uri.query()) {
        (AuthorityAsk::Search(_), Some(q)) => format!("{}?{q}", parts.uri.path()),
        _ => parts.uri.path().to_string(),
    };
    let request = crate::authority::service::AuthorityRequest {
        path,
        query_string: parts.uri.query().map(str::to_string),
        client,
        client_key: state.limiter.key(client),
        headers: parts.headers.clone(),
    };
    let query = match ask {
        AuthorityAsk::Disclose(q) => q,
        AuthorityAsk::Search(search) => {
            return search_outcome(state, cfg, parts, authority, &request, search).await
        }
        AuthorityAsk::Malformed(refusal) => return Outcome::Refused(refusal.clone()),
        AuthorityAsk::Receipt(index) => {
            return match authority.receipt(&request, index).await {
                Ok(receipt) => Outcome::Receipt(receipt),
                Err(refusal) => Outcome::AuthorityRefused(refusal),
            }
        }
    };
    let grant = match authority
        .authorize(&request, std::num::NonZeroU32::MIN)
        .await
    {
        Ok(g) => g,
        Err(refusal) => return Outcome::AuthorityRefused(refusal),
    };
    // The records are read first; if they cannot be, nothing is disclosed (and nothing
    // logged). Resolve, render and work out what leaves, then let go of the data before
    // waiting for the log: a reload must not wait on a disclosure.
    let (body, objects, disclosed) = {
        let data = state.current();
        let found = match crate::backend::records(&*state.backend, &data.snapshot, query).await {
            Ok(found) => found,
            Err(unreadable) => return Outcome::unreadable(unreadable, true),
        };
        let store: &crate::registry::Snapshot = &found.records;
        let updated = found.updated;
        let resolved = resolve(store, &data.policy, query, Audience::Authority(&grant));
        let url = request_url(cfg, &parts.uri);
        let ctx = render::Context {
            disclosure: Some(&grant),
            db_updated: &updated,
            ..context(cfg, &data, Some(&url))
        };
        // (`farv1` joins rdapConformance of an authority answer when issuers are configured:
        // `ctx.farv1` comes from the service config.)
        let Some(body) = render_resolved(&resolved, &ctx) else {
            return Outcome::NotFound { authority: true };
        };
        let (objects, disclosed) = crate::resolve::disclosure(store, &data.policy, query, &grant);
        (Bytes::from(body), objects, disclosed)
    };
    disclose(authority, &grant, objects, disclosed, body).await
}

/// A search on the authority route: the same checks as a lookup (at the search's cost of the
/// credential's rate limit), then the policy's word on the purpose, then one page found,
/// rendered with the grant's view, recorded, and answered. Every answer is recorded, an empty
/// one too: the log shows what was searched for even when nothing was found.
///
/// A search of the in-memory store reads every record of a kind (up to a second for a
/// million domains), so finding and rendering run on the blocking pool, never on a runtime
/// worker that public requests share.
pub(super) async fn search_outcome(
    state: &State,
    cfg: &RdapConfig,
    parts: &hyper::http::request::Parts,
    authority: &crate::authority::Authority,
    request: &crate::authority::service::AuthorityRequest,
    search: &router::SearchRequest,
) -> Outcome<'static> {
    let settings = authority.search_settings();
    let grant = match authority.authorize(request, settings.cost).await {
        Ok(g) => g,
        Err(refusal) => return Outcome::AuthorityRefused(refusal),
    };
    // One generation for the whole answer: the policy that allows the search is the one that
    // decides what it finds and shows.
    let data = state.current();
    if !data.policy.allows_search(grant.purpose()) {
        return Outcome::AuthorityRefused(
            crate::authority::service::AuthorityRefusal::SearchNotAllowed(
                data.policy.search_purposes(),
            ),
        );
    }
    let limits = settings.limits;
    // A backend that reads per query reads the page's candidates first (with how many
    // matches precede the cursor); if they cannot be, nothing is disclosed (and nothing
    // logged).
    let rules = data.policy.rules(Audience::Authority(&grant));
    let fetched = match crate::backend::search_records(
        &*state.backend,
        &search.search,
        search.after.as_deref(),
        rules,
        limits,
    )
    .await
    {
        Ok(fetched) => fetched,
        Err(unreadable) => return Outcome::unreadable(unreadable, true),
    };
    let ask = SearchPage {
        updated: state.updated(&data),
        data,
        fetched,
        cfg: cfg.clone(),
        uri: parts.uri.clone(),
        search: search.clone(),
        limits,
    };
    // The grant goes to the blocking task and comes back with the page, for the log entry.
    let task = tokio::task::spawn_blocking(move || {
        let page = ask.answer(&grant);
        (grant, page)
    });
    let (grant, page) = match task.await {
        Ok((grant, Some(page))) => (grant, page),
        Ok((_, None)) => {
            tracing::error!("a search answer could not be assembled; nothing disclosed");
            return Outcome::BadData { authority: true };
        }
        Err(e) => {
            tracing::error!(error = %e, "a search did not finish; nothing disclosed");
            return Outcome::BadData { authority: true };
        }
    };
    let (body, objects, disclosed) = page;
    disclose(authority, &grant, objects, disclosed, body).await
}

/// Everything one search page is found and rendered from, owned, for the blocking pool.
pub(super) struct SearchPage {
    /// The generation the search was allowed in.
    data: Arc<Generation>,
    /// From a backend that reads per query: the page's records and the matches before the
    /// cursor; `None`: search the generation's snapshot.
    fetched: Option<(crate::registry::Snapshot, Option<usize>)>,
    /// `last update of RDAP database`.
    updated: crate::registry::Timestamp,
    cfg: RdapConfig,
    uri: hyper::Uri,
    search: router::SearchRequest,
    limits: crate::search::Limits,
}

impl SearchPage {
    /// The answer's body, the objects it names and the contacts' disclosed fields; `None` if
    /// the body could not be assembled.
    fn answer(
        &self,
        grant: &crate::authority::Grant,
    ) -> Option<(
        Bytes,
        Vec<String>,
        Vec<crate::authority::log::DisclosedContact>,
    )> {
        let (store, before_known) = match &self.fetched {
            Some((set, before)) => (set, *before),
            None => (&self.data.snapshot, None),
        };
        let search = &self.search.search;
        let rules = self.data.policy.rules(Audience::Authority(grant));
        let found = crate::search::run(
            store,
            rules,
            search,
            self.search.after.as_deref(),
            before_known,
            self.limits,
        );
        let url = request_url(&self.cfg, &self.uri);
        let ctx = render::Context {
            disclosure: Some(grant),
            db_updated: &self.updated,
            ..context(&self.cfg, &self.data, Some(&url))
        };
        let (objects_json, objects, disclosed) =
            found_objects(store, &self.data.policy, grant, &found, &ctx);
        let next = found.next_key().map(|k| {
            results::next_url(
                &self.cfg.origin,
                self.uri.path(),
                self.uri.query(),
                &crate::search::encode_cursor(search, &k),
            )
        });
        let page = results::Page {
            kind: search.kind(),
            reverse: search.is_reverse(),
            objects: objects_json,
            page_number: found.page_number(self.limits.page_size),
            next,
            truncated: found.truncated,
            max_results: self.limits.max_results,
        };
        let body = results::render(&page, &ctx).ok()?;
        Some((Bytes::from(body), objects, disclosed))
    }
}

/// Record a disclosure and only then hand out its answer: the log entry is durable before
/// any byte leaves (no log, no disclosure: 503).
pub(super) async fn disclose(
    authority: &crate::authority::Authority,
    grant: &crate::authority::Grant,
    objects: Vec<String>,
    disclosed: Vec<crate::authority::log::DisclosedContact>,
    body: Bytes,
) -> Outcome<'static> {
    match authority.record(grant, objects, disclosed, &body).await {
        Ok(log_leaf) => Outcome::Disclosed {
            body,
            request_id: grant.request_id().to_string(),
            log_leaf,
        },
        Err(_) => Outcome::NotRecorded,
    }
}

/// The page's objects, each rendered as its own authority lookup, and what the log must record
/// of them: every object, and per contact the non-public fields that left (the resolver's
/// disclosure of each object, as for a lookup), each named once.
pub(super) fn found_objects(
    store: &crate::registry::Snapshot,
    policy: &crate::policy::Policy,
    grant: &crate::authority::Grant,
    found: &crate::search::Found<'_>,
    ctx: &render::Context<'_>,
) -> (
    Vec<Vec<u8>>,
    Vec<String>,
    Vec<crate::authority::log::DisclosedContact>,
) {
    use crate::query::{ContactHandle, EntityHandle};
    use crate::search::Hits;
    let audience = Audience::Authority(grant);
    let mut bodies = Vec::with_capacity(found.hits.len());
    let mut queries = Vec::with_capacity(found.hits.len());
    match &found.hits {
        Hits::Domains(domains) => {
            for d in domains {
                // The loader guarantees the registrar exists; a domain without a view would
                // be left out of both the answer and the log.
                if let Some(view) = policy.domain_view(audience, store, d) {
                    bodies.push(render::domain(&view, ctx));
                    queries.push(Query::Domain(d.name.clone()));
                }
            }
        }
        Hits::Nameservers(hosts) => {
            for h in hosts {
                bodies.push(render::nameserver(
                    &policy.host_view(audience, store, h),
                    ctx,
                ));
                queries.push(Query::Nameserver(h.name.clone()));
            }
        }
        Hits::Entities(contacts) => {
            for (c, roles) in contacts {
                bodies.push(render::contact(
                    &policy.contact_view(audience, c, *roles),
                    ctx,
                ));
                queries.push(Query::Entity(EntityHandle::Contact(ContactHandle::new(
                    &c.roid,
                ))));
            }
        }
    }
    let mut objects: Vec<String> = Vec::new();
    let mut disclosed: Vec<crate::authority::log::DisclosedContact> = Vec::new();
    for q in &queries {
        let (o, d) = crate::resolve::disclosure(store, policy, q, grant);
        for object in o {
            if !objects.contains(&object) {
                objects.push(object);
            }
        }
        for contact in d {
            if !disclosed.contains(&contact) {
                disclosed.push(contact);
            }
        }
    }
    (bodies, objects, disclosed)
}
