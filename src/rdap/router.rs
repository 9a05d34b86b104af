//! Pure routing: method and raw request path to a protocol-neutral [`Query`], or the protocol answer for a
//! request that cannot become one. No sockets, so it is unit-tested and fuzzed directly.

use percent_encoding::percent_decode_str;

use crate::query::{ContactHandle, EntityHandle, Query};
use crate::registry::{DomainName, IanaId, NameError, Roid};

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
    /// A protocol refusal.
    Refused(Refusal),
}

/// Route a request. `prefix` is the path of the configured base URL without its trailing slash
/// (empty when the service sits at the root).
pub fn route(method: &str, path: &str, prefix: &str) -> Route {
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
        ("authority", Some(inner)) => match route(method, &format!("/{inner}"), "") {
            Route::Query(Query::Help) => Route::Refused(Refusal::UnknownPath),
            Route::Query(q) => Route::Authority(q),
            Route::Refused(Refusal::NotImplemented(_)) => Route::Refused(Refusal::UnknownPath),
            other => other,
        },
        ("domain", Some(a)) => name_arg(a).map_or_else(Route::Refused, |n| Route::Query(Query::Domain(n))),
        ("nameserver", Some(a)) => name_arg(a).map_or_else(Route::Refused, |n| Route::Query(Query::Nameserver(n))),
        ("entity", Some(a)) => entity_arg(a).map_or_else(Route::Refused, |h| Route::Query(Query::Entity(h))),
        ("domain" | "nameserver" | "entity", None) => Route::Refused(Refusal::BadRequest("the lookup needs an object name after the path segment")),
        ("ip", Some(_)) => Route::Refused(Refusal::NotImplemented("IP network lookups are served by the Regional Internet Registries, not by this domain registry")),
        ("autnum", Some(_)) => Route::Refused(Refusal::NotImplemented("autonomous system number lookups are served by the Regional Internet Registries, not by this domain registry")),
        ("domains" | "nameservers" | "entities", None) => Route::Refused(Refusal::NotImplemented("searches are not offered: they would allow bulk harvesting of registration data")),
        _ => Route::Refused(Refusal::UnknownPath),
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

    #[test]
    fn not_a_domain_invalid_is_a_valid_name() {
        // RP24: /domain/not-a-domain.invalid must give 404, so it must route as a lookup.
        assert!(matches!(
            q("/domain/not-a-domain.invalid"),
            Route::Query(Query::Domain(_))
        ));
    }
}
