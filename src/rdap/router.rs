//! Pure routing: method and raw request path to a protocol-neutral [`Query`], or the protocol answer for a
//! request that cannot become one. No sockets, so it is unit-tested and fuzzed directly.

use percent_encoding::percent_decode_str;

use crate::query::{ContactHandle, EntityHandle, Query};
use crate::registry::{DomainName, IanaId, NameError, Roid};
use crate::search::{
    decode_cursor, fold, ContactMatch, NamePattern, Role, Search, TextPattern, MAX_PATTERN_CHARS,
    MIN_LITERAL,
};

/// Longest path we route. hyper already caps the request head; this bounds our own work.
pub const MAX_PATH_LEN: usize = 2048;

/// An RDAP protocol outcome that is not a successful lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 400: the query is malformed.
    BadRequest(&'static str),
    /// 404: no such path (the object-not-found 404 comes from the store, not the router).
    UnknownPath,
    /// 405: a method other than GET, HEAD or OPTIONS.
    MethodNotAllowed,
    /// 501: a valid RDAP query this server does not offer.
    NotImplemented(&'static str),
}

/// The router's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A lookup to run.
    Query(Query),
    /// A CORS preflight or `OPTIONS` probe.
    Options,
    /// `/authority/<lookup>`: the authenticated disclosure route.
    Authority(Query),
    /// `/authority/<search>`: a search on the authenticated disclosure route.
    AuthoritySearch(SearchRequest),
    /// A protocol refusal.
    Refused(Refusal),
}

/// A search with the page it asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRequest {
    /// The search, normalised.
    pub search: Search,
    /// The last key of the previous page (from a valid `cursor`), or `None` for the first.
    pub after: Option<String>,
}

/// The message of every public search: searches exist on the authority route only.
const NO_PUBLIC_SEARCH: &str =
    "searches are not offered: they would allow bulk harvesting of registration data";

/// Route a request by its path alone (a search gets no query string; see [`route_request`]).
pub fn route(method: &str, path: &str, prefix: &str) -> Route {
    route_request(method, path, None, prefix)
}

/// Route a request. `prefix` is the path of the configured base URL without its trailing slash
/// (empty when the service sits at the root); `query` is the query string, which only a
/// search on the authority route reads.
pub fn route_request(method: &str, path: &str, query: Option<&str>, prefix: &str) -> Route {
    let is_lookup_method = matches!(method, "GET" | "HEAD");
    if method == "OPTIONS" {
        return Route::Options;
    }
    if !is_lookup_method {
        return Route::Refused(Refusal::MethodNotAllowed);
    }
    if path.len() > MAX_PATH_LEN {
        return Route::Refused(Refusal::BadRequest("the request path is too long"));
    }
    let Some(rest) = path.strip_prefix(prefix).and_then(|r| r.strip_prefix('/')) else {
        return Route::Refused(Refusal::UnknownPath);
    };
    let (kind, arg) = match rest.split_once('/') {
        Some((k, a)) => (k, Some(a)),
        None => (rest, None),
    };
    match (kind, arg) {
        ("help", None | Some("")) => Route::Query(Query::Help),
        ("authority", Some(inner)) => {
            if let Some(search) = search_path(inner) {
                return search_request(search, query)
                    .map_or_else(Route::Refused, Route::AuthoritySearch);
            }
            match route(method, &format!("/{inner}"), "") {
                Route::Query(Query::Help) => Route::Refused(Refusal::UnknownPath),
                Route::Query(q) => Route::Authority(q),
                Route::Refused(Refusal::NotImplemented(_)) => {
                    Route::Refused(Refusal::UnknownPath)
                }
                other => other,
            }
        }
        ("domain", Some(a)) => name_arg(a).map_or_else(Route::Refused, |n| Route::Query(Query::Domain(n))),
        ("nameserver", Some(a)) => name_arg(a).map_or_else(Route::Refused, |n| Route::Query(Query::Nameserver(n))),
        ("entity", Some(a)) => entity_arg(a).map_or_else(Route::Refused, |h| Route::Query(Query::Entity(h))),
        ("domain" | "nameserver" | "entity", None) => Route::Refused(Refusal::BadRequest("the lookup needs an object name after the path segment")),
        ("ip", Some(_)) => Route::Refused(Refusal::NotImplemented("IP network lookups are served by the Regional Internet Registries, not by this domain registry")),
        ("autnum", Some(_)) => Route::Refused(Refusal::NotImplemented("autonomous system number lookups are served by the Regional Internet Registries, not by this domain registry")),
        // Public searches stay refused whatever they ask, so a malformed one is not told
        // apart from a well-formed one: no search exists on these paths.
        _ if search_path(rest).is_some() => Route::Refused(Refusal::NotImplemented(NO_PUBLIC_SEARCH)),
        _ => Route::Refused(Refusal::UnknownPath),
    }
}

/// A search on a public path (`/domains?…`, `/domains/reverse_search/entity?…`, …) with the
/// bearer token of an authority (RFC 9560 clients send it on the ordinary paths): the search
/// as it would be on the authority route, or why it is malformed. `None` for any other path.
pub fn public_search(
    path: &str,
    query: Option<&str>,
    prefix: &str,
) -> Option<Result<SearchRequest, Refusal>> {
    let rest = path.strip_prefix(prefix)?.strip_prefix('/')?;
    search_path(rest).map(|s| search_request(s, query))
}

/// The search forms, by path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SearchPath {
    /// `domains`
    Domains,
    /// `nameservers`
    Nameservers,
    /// `entities`
    Entities,
    /// `domains/reverse_search/entity`
    ReverseDomains,
    /// Another RFC 9536 reverse search (`<searchable>/reverse_search/<related>`).
    OtherReverse,
}

/// Which search a path (after the prefix, without its leading `/`) names, if any.
fn search_path(rest: &str) -> Option<SearchPath> {
    match rest {
        "domains" => Some(SearchPath::Domains),
        "nameservers" => Some(SearchPath::Nameservers),
        "entities" => Some(SearchPath::Entities),
        "domains/reverse_search/entity" => Some(SearchPath::ReverseDomains),
        _ => {
            let (searchable, related) = rest.split_once("/reverse_search/")?;
            let known = matches!(
                searchable,
                "domains" | "nameservers" | "entities" | "ips" | "autnums"
            );
            (known && !related.is_empty() && !related.contains('/'))
                .then_some(SearchPath::OtherReverse)
        }
    }
}

/// The query parameters a search reads; any other parameter (the statement, `farv1_dnt`, …)
/// is left to its own reader.
const SEARCH_PARAMS: [&str; 9] = [
    "name",
    "ip",
    "fn",
    "handle",
    "email",
    "role",
    "cursor",
    "nsLdhName",
    "nsIp",
];

/// The search parameters of a query string, decoded. At most one of each.
fn search_params(query: Option<&str>) -> Result<Vec<(&'static str, String)>, Refusal> {
    let query = query.unwrap_or("");
    if query.len() > MAX_PATH_LEN {
        return Err(Refusal::BadRequest("the query string is too long"));
    }
    let mut out: Vec<(&'static str, String)> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let Some(key) = SEARCH_PARAMS.iter().find(|p| **p == k) else {
            continue;
        };
        if out.iter().any(|(seen, _)| seen == key) {
            return Err(Refusal::BadRequest(
                "a search parameter is given more than once",
            ));
        }
        let value = percent_decode_str(&v.replace('+', " "))
            .decode_utf8()
            .map_err(|_| {
                Refusal::BadRequest("a search parameter is not valid percent-encoded UTF-8")
            })?
            .into_owned();
        if value.chars().any(char::is_control) {
            return Err(Refusal::BadRequest(
                "a search parameter holds a control character",
            ));
        }
        out.push((key, value));
    }
    Ok(out)
}

/// Parse a search: its one search property (and `role` for a reverse search), then the cursor,
/// which must belong to that very search.
fn search_request(path: SearchPath, query: Option<&str>) -> Result<SearchRequest, Refusal> {
    let params = search_params(query)?;
    let get = |k: &str| {
        params
            .iter()
            .find(|(p, _)| *p == k)
            .map(|(_, v)| v.as_str())
    };
    let given: Vec<&'static str> = params
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| !matches!(*k, "cursor" | "role"))
        .collect();
    // Exactly one search property: RFC 9536 allows several joined by `&`, which this server
    // does not combine (one property, and `role`, per reverse search).
    let only = |allowed: &[&'static str], message: &'static str| match given.as_slice() {
        [one] if allowed.contains(one) => Ok(*one),
        _ => Err(Refusal::BadRequest(message)),
    };
    if get("role").is_some() && path != SearchPath::ReverseDomains {
        return Err(Refusal::BadRequest(
            "role= filters a reverse search (domains/reverse_search/entity) only",
        ));
    }
    let search = match path {
        SearchPath::OtherReverse => {
            return Err(Refusal::NotImplemented(
                "reverse search is offered for domains by their contacts only: domains/reverse_search/entity",
            ))
        }
        SearchPath::Domains => {
            if get("nsLdhName").is_some() || get("nsIp").is_some() {
                return Err(Refusal::NotImplemented(
                    "domain searches by nameserver are not offered; search nameservers?name= or nameservers?ip=",
                ));
            }
            only(&["name"], "a domain search takes one parameter: name=")?;
            Search::Domains(name_pattern(get("name").unwrap_or_default())?)
        }
        SearchPath::Nameservers => {
            match only(
                &["name", "ip"],
                "a nameserver search takes one parameter: name= or ip=",
            )? {
                "ip" => Search::NameserversByIp(
                    get("ip")
                        .unwrap_or_default()
                        .trim()
                        .parse()
                        .map_err(|_| Refusal::BadRequest("ip= must be an IPv4 or IPv6 address"))?,
                ),
                _ => Search::Nameservers(name_pattern(get("name").unwrap_or_default())?),
            }
        }
        SearchPath::Entities => {
            let key = only(
                &["fn", "handle"],
                "an entity search takes one parameter: fn= or handle=",
            )?;
            Search::Entities(contact_match(key, get(key).unwrap_or_default())?)
        }
        SearchPath::ReverseDomains => {
            let key = only(
                &["fn", "handle", "email"],
                "a reverse search takes one of fn=, handle= or email=, and optionally role=",
            )?;
            let role = match get("role").map(str::trim) {
                None => None,
                Some("registrant") => Some(Role::Registrant),
                Some("technical") => Some(Role::Technical),
                Some(_) => {
                    return Err(Refusal::BadRequest(
                        "role= is registrant or technical: the contacts this registry holds for a domain",
                    ))
                }
            };
            Search::ReverseDomains {
                by: contact_match(key, get(key).unwrap_or_default())?,
                role,
            }
        }
    };
    let after = get("cursor")
        .map(|c| decode_cursor(&search, c.trim()).map_err(Refusal::BadRequest))
        .transpose()?;
    Ok(SearchRequest { search, after })
}

/// `name=` of a domain or nameserver search: a name, or a name with one asterisk (RFC 9082
/// §4.1) that ends the name (`exam*`) or a label before literal labels (`exam*.example`).
fn name_pattern(raw: &str) -> Result<NamePattern, Refusal> {
    let text = raw.trim();
    if text.chars().count() > MAX_PATTERN_CHARS {
        return Err(Refusal::BadRequest("the search pattern is too long"));
    }
    let Some((before, after)) = text.split_once('*') else {
        return DomainName::parse(text)
            .map(NamePattern::Exact)
            .map_err(|e| match e {
                NameError::Empty => Refusal::BadRequest("name= is empty"),
                NameError::TooFewLabels => Refusal::BadRequest(
                    "a name without an asterisk is searched exactly and needs at least two labels",
                ),
                NameError::Invalid => Refusal::BadRequest("not a valid domain name (IDNA 2008)"),
            });
    };
    if after.contains('*') {
        return Err(Refusal::BadRequest(
            "a search pattern holds one asterisk, ending the name (exam*) or a label before literal labels (exam*.example)",
        ));
    }
    if !before.is_ascii() {
        return Err(Refusal::BadRequest(
            "the part before the asterisk must be written in A-labels (xn--…): a U-label cut short has no A-label form",
        ));
    }
    let prefix = before.to_ascii_lowercase();
    let ldh = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            && !s.starts_with('.')
            && !s.contains("..")
    };
    if !ldh(&prefix) {
        return Err(Refusal::BadRequest(
            "the part before the asterisk holds characters no domain name has",
        ));
    }
    if prefix.len() < MIN_LITERAL {
        return Err(Refusal::BadRequest(
            "a search pattern needs at least 2 characters before the asterisk",
        ));
    }
    let suffix = match after.strip_suffix('.').unwrap_or(after) {
        "" => None,
        rest => {
            let Some(labels) = rest.strip_prefix('.') else {
                return Err(Refusal::BadRequest(
                    "the asterisk must end the name or a label: exam* or exam*.example",
                ));
            };
            let ascii = idna::domain_to_ascii_strict(labels)
                .ok()
                .filter(|a| !a.is_empty() && ldh(a))
                .ok_or(Refusal::BadRequest(
                    "the labels after the asterisk are not a valid domain name (IDNA 2008)",
                ))?;
            Some(ascii)
        }
    };
    Ok(NamePattern::Prefix { prefix, suffix })
}

/// `fn=`, `handle=` or `email=`.
fn contact_match(key: &str, raw: &str) -> Result<ContactMatch, Refusal> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(Refusal::BadRequest("the search value is empty"));
    }
    if text.chars().count() > MAX_PATTERN_CHARS {
        return Err(Refusal::BadRequest("the search value is too long"));
    }
    match key {
        "handle" => Roid::parse(text)
            .map(|r| ContactMatch::Handle(ContactHandle::new(&r)))
            .map_err(|_| {
                Refusal::BadRequest(
                    "handle= is a contact ROID such as C123-EXAMPLE, searched exactly",
                )
            }),
        "email" => {
            if text.contains('*') {
                return Err(Refusal::BadRequest(
                    "email= is searched exactly, without an asterisk",
                ));
            }
            if !text.contains('@') {
                return Err(Refusal::BadRequest("email= must be an e-mail address"));
            }
            Ok(ContactMatch::Email(fold(text)))
        }
        _ => match text.split_once('*') {
            None => Ok(ContactMatch::Name(TextPattern::Exact(fold(text)))),
            Some((start, "")) if start.trim().chars().count() >= MIN_LITERAL => {
                Ok(ContactMatch::Name(TextPattern::Prefix(fold(start))))
            }
            Some((_, "")) => Err(Refusal::BadRequest(
                "a search pattern needs at least 2 characters before the asterisk",
            )),
            Some(_) => Err(Refusal::BadRequest(
                "fn= takes one asterisk, at the end (Aurel*)",
            )),
        },
    }
}

/// The leaf index of a receipt request (`{prefix}/authority/receipt/<index>`, issue #14), as
/// sent; the transparency module parses and bounds it. Any method: the authority route answers
/// methods other than GET itself.
pub fn receipt_index<'p>(path: &'p str, prefix: &str) -> Option<&'p str> {
    path.strip_prefix(prefix)?
        .strip_prefix("/authority/receipt/")
}

/// Decode one path segment to UTF-8 text. Exactly one segment: a decoded or raw `/` inside is
/// malformed, and so are control characters.
fn segment(raw: &str) -> Result<String, Refusal> {
    if raw.is_empty() {
        return Err(Refusal::BadRequest(
            "the lookup needs an object name after the path segment",
        ));
    }
    if raw.contains('/') {
        return Err(Refusal::BadRequest(
            "the object name must be a single path segment",
        ));
    }
    let decoded = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| Refusal::BadRequest("the object name is not valid percent-encoded UTF-8"))?;
    if decoded.chars().any(|c| c.is_control() || c == '/') {
        return Err(Refusal::BadRequest(
            "the object name contains characters not allowed in a name",
        ));
    }
    Ok(decoded.into_owned())
}

fn name_arg(raw: &str) -> Result<DomainName, Refusal> {
    let text = segment(raw)?;
    DomainName::parse(&text).map_err(|e| match e {
        NameError::Empty => Refusal::BadRequest("the domain name is empty"),
        NameError::TooFewLabels => Refusal::BadRequest("a domain name needs at least two labels"),
        NameError::Invalid => Refusal::BadRequest("not a valid domain name (IDNA 2008)"),
    })
}

fn entity_arg(raw: &str) -> Result<EntityHandle, Refusal> {
    let text = segment(raw)?;
    if !text.is_empty() && text.len() <= 10 && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<IanaId>()
            .map(EntityHandle::Registrar)
            .map_err(|_| Refusal::BadRequest("an IANA Registrar ID must fit in 32 bits"));
    }
    Roid::parse(&text)
        // Canonical case: the cache is keyed by the query, and case variants of one ROID must
        // not fill it with copies (the answer never depends on the case typed).
        .map(|r| EntityHandle::Contact(ContactHandle::new(&r)))
        .map_err(|_| {
            Refusal::BadRequest(
                "an entity handle is an IANA Registrar ID or a ROID such as C123-EXAMPLE",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(path: &str) -> Route {
        route("GET", path, "")
    }

    #[test]
    fn receipt_paths_give_their_index() {
        assert_eq!(receipt_index("/authority/receipt/17", ""), Some("17"));
        assert_eq!(
            receipt_index("/rdap/authority/receipt/x", "/rdap"),
            Some("x")
        );
        assert_eq!(receipt_index("/authority/domain/nic.example", ""), None);
        assert_eq!(receipt_index("/authority/receipt/1", "/rdap"), None);
    }

    #[test]
    fn lookups_route_with_normalised_names() {
        let Route::Query(Query::Domain(n)) = q("/domain/CAF%C3%89.Example.") else {
            panic!("domain")
        };
        assert_eq!(n.ascii(), "xn--caf-dma.example");
        assert!(matches!(
            q("/nameserver/ns1.nic.example"),
            Route::Query(Query::Nameserver(_))
        ));
        assert_eq!(
            q("/entity/1001"),
            Route::Query(Query::Entity(EntityHandle::Registrar(1001)))
        );
        assert_eq!(
            q("/entity/C101-EXAMPLE"),
            Route::Query(Query::Entity(EntityHandle::Contact(ContactHandle::new(
                &Roid::parse("C101-EXAMPLE").expect("roid")
            ))))
        );
        assert_eq!(q("/help"), Route::Query(Query::Help));
        assert!(matches!(
            q("/authority/domain/nic.example"),
            Route::Authority(Query::Domain(_))
        ));
        assert!(matches!(
            q("/authority/entity/C101-EXAMPLE"),
            Route::Authority(Query::Entity(_))
        ));
        assert_eq!(q("/authority/help"), Route::Refused(Refusal::UnknownPath));
        assert!(matches!(
            q("/authority/domain/%FF"),
            Route::Refused(Refusal::BadRequest(_))
        ));
    }

    #[test]
    fn prefix_is_honoured() {
        assert_eq!(
            route("GET", "/rdap/help", "/rdap"),
            Route::Query(Query::Help)
        );
        assert_eq!(
            route("GET", "/help", "/rdap"),
            Route::Refused(Refusal::UnknownPath)
        );
    }

    #[test]
    fn refusals() {
        assert!(matches!(
            q("/domain/"),
            Route::Refused(Refusal::BadRequest(_))
        ));
        assert!(matches!(
            q("/domain"),
            Route::Refused(Refusal::BadRequest(_))
        ));
        assert!(matches!(
            q("/domain/a..b"),
            Route::Refused(Refusal::BadRequest(_))
        ));
        assert!(matches!(
            q("/domain/%FF.example"),
            Route::Refused(Refusal::BadRequest(_))
        ));
        assert!(matches!(
            q("/domain/a%2Fb.example"),
            Route::Refused(Refusal::BadRequest(_))
        ));
        assert!(matches!(
            q("/domain/a/b"),
            Route::Refused(Refusal::BadRequest(_))
        ));
        assert!(matches!(
            q("/domain/%00.example"),
            Route::Refused(Refusal::BadRequest(_))
        ));
        assert!(matches!(
            q("/entity/99999999999"),
            Route::Refused(Refusal::BadRequest(_))
        ));
        assert!(matches!(
            q("/entity/no spaces"),
            Route::Refused(Refusal::BadRequest(_))
        ));
        assert!(matches!(
            q("/ip/192.0.2.1"),
            Route::Refused(Refusal::NotImplemented(_))
        ));
        assert!(matches!(
            q("/autnum/64496"),
            Route::Refused(Refusal::NotImplemented(_))
        ));
        assert!(matches!(
            q("/domains"),
            Route::Refused(Refusal::NotImplemented(_))
        ));
        assert_eq!(q("/nothing-here"), Route::Refused(Refusal::UnknownPath));
        assert_eq!(q("/"), Route::Refused(Refusal::UnknownPath));
        assert_eq!(
            route("POST", "/help", ""),
            Route::Refused(Refusal::MethodNotAllowed)
        );
        assert_eq!(route("OPTIONS", "/help", ""), Route::Options);
        let long = format!("/domain/{}", "a".repeat(5000));
        assert!(matches!(q(&long), Route::Refused(Refusal::BadRequest(_))));
    }

    fn search(path: &str) -> Result<SearchRequest, Refusal> {
        let (p, q) = path.split_once('?').unwrap_or((path, ""));
        match route_request("GET", p, Some(q), "") {
            Route::AuthoritySearch(s) => Ok(s),
            Route::Refused(r) => Err(r),
            other => panic!("{path}: {other:?}"),
        }
    }

    fn prefix(p: &str, suffix: Option<&str>) -> NamePattern {
        NamePattern::Prefix {
            prefix: p.into(),
            suffix: suffix.map(str::to_string),
        }
    }

    #[test]
    fn every_search_form_routes_on_the_authority_route_only() {
        // GIVEN each search form on the authority route, THEN it parses, names normalised.
        let s = |path: &str| search(path).expect(path).search;
        assert_eq!(
            s("/authority/domains?name=Exam*"),
            Search::Domains(prefix("exam", None))
        );
        assert_eq!(
            s("/authority/domains?name=exa*.Caf%C3%A9.example."),
            Search::Domains(prefix("exa", Some("xn--caf-dma.example")))
        );
        assert!(matches!(
            s("/authority/domains?name=CAF%C3%89.example"),
            Search::Domains(NamePattern::Exact(n)) if n.ascii() == "xn--caf-dma.example"
        ));
        assert_eq!(
            s("/authority/nameservers?name=ns1.*"),
            Search::Nameservers(prefix("ns1.", None))
        );
        assert_eq!(
            s("/authority/nameservers?ip=2001:DB8::1"),
            Search::NameserversByIp("2001:db8::1".parse().expect("ip"))
        );
        assert_eq!(
            s("/authority/entities?fn=Aur%C3%89lie+V*"),
            Search::Entities(ContactMatch::Name(TextPattern::Prefix("aurélie v".into())))
        );
        assert_eq!(
            s("/authority/entities?handle=c101-example"),
            Search::Entities(ContactMatch::Handle(ContactHandle::new(
                &Roid::parse("C101-EXAMPLE").expect("roid")
            )))
        );
        assert_eq!(
            s("/authority/domains/reverse_search/entity?email=A%40B.example&role=technical&purpose=x"),
            Search::ReverseDomains {
                by: ContactMatch::Email("a@b.example".into()),
                role: Some(Role::Technical),
            }
        );
        assert_eq!(
            s("/authority/domains/reverse_search/entity?fn=Aurelie%20Vantongeren"),
            Search::ReverseDomains {
                by: ContactMatch::Name(TextPattern::Exact("aurelie vantongeren".into())),
                role: None,
            }
        );
        // AND the public paths stay 501 whatever they ask, well-formed or not.
        for public in [
            "/domains",
            "/nameservers",
            "/entities",
            "/domains/reverse_search/entity",
            "/nameservers/reverse_search/entity",
        ] {
            for q in [None, Some("name=ex*"), Some("name=*"), Some("cursor=x")] {
                assert_eq!(
                    route_request("GET", public, q, ""),
                    Route::Refused(Refusal::NotImplemented(NO_PUBLIC_SEARCH)),
                    "{public}?{q:?}"
                );
            }
        }
        // AND a bearer on a public search path parses it as the authority route would.
        assert_eq!(
            public_search("/rdap/domains", Some("name=ex*"), "/rdap").map(|r| r.map(|s| s.search)),
            Some(Ok(Search::Domains(prefix("ex", None))))
        );
        assert_eq!(public_search("/rdap/domain/x.example", None, "/rdap"), None);
    }

    #[test]
    fn malformed_searches_are_refused_with_a_reason() {
        for (path, why) in [
            ("/authority/domains", "one parameter: name="),
            (
                "/authority/domains?name=*",
                "2 characters before the asterisk",
            ),
            (
                "/authority/domains?name=e*",
                "2 characters before the asterisk",
            ),
            (
                "/authority/domains?name=*.example",
                "2 characters before the asterisk",
            ),
            ("/authority/domains?name=ex*am*", "one asterisk"),
            (
                "/authority/domains?name=ex*ample",
                "must end the name or a label",
            ),
            ("/authority/domains?name=caf%C3%A9*", "A-labels"),
            (
                "/authority/domains?name=ex_*",
                "characters no domain name has",
            ),
            ("/authority/domains?name=example", "at least two labels"),
            ("/authority/domains?name=ex*&name=ey*", "more than once"),
            ("/authority/domains?name=%FF*", "percent-encoded UTF-8"),
            ("/authority/domains?name=ex*&fn=x", "one parameter"),
            ("/authority/domains?nsLdhName=ns1.example", "by nameserver"),
            (
                "/authority/domains?name=ex*&role=registrant",
                "role= filters",
            ),
            ("/authority/nameservers?ip=300.1.1.1", "IPv4 or IPv6"),
            (
                "/authority/nameservers?name=ns*&ip=192.0.2.1",
                "name= or ip=",
            ),
            ("/authority/entities?fn=*", "2 characters"),
            ("/authority/entities?fn=A*b", "at the end"),
            ("/authority/entities?handle=C1*", "searched exactly"),
            ("/authority/entities?email=a@b.example", "fn= or handle="),
            (
                "/authority/domains/reverse_search/entity?role=registrant",
                "one of fn=",
            ),
            (
                "/authority/domains/reverse_search/entity?email=nobody",
                "e-mail address",
            ),
            (
                "/authority/domains/reverse_search/entity?email=a*@b.example",
                "exactly",
            ),
            (
                "/authority/domains/reverse_search/entity?handle=C1-X&role=abuse",
                "registrant or technical",
            ),
            (
                "/authority/domains/reverse_search/entity?handle=C1-X&fn=Y",
                "one of fn=",
            ),
            ("/authority/domains?name=ex*&cursor=garbage", "cursor"),
        ] {
            match search(path) {
                Err(Refusal::BadRequest(m)) | Err(Refusal::NotImplemented(m)) => {
                    assert!(m.contains(why), "{path}: {m}")
                }
                other => panic!("{path}: {other:?}"),
            }
        }
        assert!(matches!(
            search("/authority/nameservers/reverse_search/entity?fn=x"),
            Err(Refusal::NotImplemented(_))
        ));
        let long = format!("/authority/domains?name=ex*&x={}", "y".repeat(MAX_PATH_LEN));
        assert!(matches!(search(&long), Err(Refusal::BadRequest(_))));
    }

    #[test]
    fn a_cursor_continues_its_own_search_only() {
        let first = search("/authority/domains?name=ex*").expect("search");
        let cursor = crate::search::encode_cursor(&first.search, "example.example");
        let next = search(&format!("/authority/domains?name=ex*&cursor={cursor}")).expect("next");
        assert_eq!(next.after.as_deref(), Some("example.example"));
        assert!(matches!(
            search(&format!("/authority/domains?name=ey*&cursor={cursor}")),
            Err(Refusal::BadRequest(_))
        ));
    }

    proptest::proptest! {
        /// Query strings shaped like searches never panic, and whatever parses holds a valid
        /// pattern: a prefix of at least two characters, lower-case, and a cursor that is
        /// a result key of that very search.
        #[test]
        fn search_shaped_query_strings_are_safe(
            form in "(domains|nameservers|entities|domains/reverse_search/entity)",
            key in "(name|ip|fn|handle|email|role|cursor|nsIp)",
            value in "[a-zA-Z0-9.*%@_\\-+=&é]{0,40}",
            cursor in "[A-Za-z0-9_\\-=%]{0,40}",
        ) {
            let q = format!("{key}={value}&cursor={cursor}");
            match route_request("GET", &format!("/authority/{form}"), Some(&q), "") {
                Route::AuthoritySearch(r) => {
                    if let Search::Domains(NamePattern::Prefix { prefix, .. })
                    | Search::Nameservers(NamePattern::Prefix { prefix, .. }) = &r.search
                    {
                        proptest::prop_assert!(prefix.len() >= MIN_LITERAL);
                        proptest::prop_assert_eq!(prefix, &prefix.to_ascii_lowercase());
                    }
                    if let Some(after) = &r.after {
                        let c = crate::search::encode_cursor(&r.search, after);
                        let decoded = crate::search::decode_cursor(&r.search, &c);
                        proptest::prop_assert_eq!(decoded.as_deref(), Ok(after.as_str()));
                    }
                }
                Route::Refused(_) => {}
                other => proptest::prop_assert!(false, "{:?}", other),
            }
        }
    }

    #[test]
    fn not_a_domain_invalid_is_a_valid_name() {
        // RP24: /domain/not-a-domain.invalid must give 404, so it must route as a lookup.
        assert!(matches!(
            q("/domain/not-a-domain.invalid"),
            Route::Query(Query::Domain(_))
        ));
    }
}
