//! The RDAP router on arbitrary methods, paths, query strings and base-URL prefixes: never
//! panics. The query string reaches the search parser (patterns, cursors) on the authority
//! route and behind a bearer token on the public search paths.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let method = parts.next().unwrap_or("GET");
    let path = parts.next().unwrap_or("/");
    let prefix = parts.next().unwrap_or("");
    let _ = rddsd::rdap::router::route(method, path, prefix);
    let _ = rddsd::rdap::router::route("GET", &text, "");
    let (p, q) = path.split_once('?').unwrap_or((path, ""));
    let _ = rddsd::rdap::router::route_request(method, p, Some(q), prefix);
    for search in [
        "/authority/domains",
        "/authority/nameservers",
        "/authority/entities",
        "/authority/domains/reverse_search/entity",
    ] {
        let _ = rddsd::rdap::router::route_request("GET", search, Some(&text), "");
    }
    let _ = rddsd::rdap::router::public_search("/domains", Some(&text), "");
});
