//! Searches on the authority route (issue #13) end to end: every search form over real sockets,
//! pages followed by their `next` links, the cap, one disclosure-log entry per answer naming
//! every object and field that left, refusals, and the public paths that still answer 501.

use std::collections::HashSet;
use std::path::PathBuf;

use crate::harness::{Resp, Server};

/// Rate limits generous enough for a test to page freely (a search costs 5 requests).
const GENEROUS: &str = "rate_per_minute = 6000\nburst = 100\n";

/// A server with the authority route, small pages and a small cap (3 and 7), the credential
/// rate limits `limits`, and credentials for a police unit (criminal investigations and
/// consumer protection).
struct Fixture {
    _dir: tempfile::TempDir,
    log: PathBuf,
    token: String,
    credential_id: String,
    srv: Server,
}

const STATEMENT: &[(&str, &str)] = &[
    ("RDDS-Purpose", "criminal-investigation"),
    ("RDDS-Legal-Basis", "Swiss CrimPC Art. 265"),
    ("RDDS-Case-Reference", "CASE-2026-0099"),
];

/// The technical contact C201's e-mail address: eight domains name C201 as technical contact.
const C201_EMAIL: &str = "piotr.zh%40hostmaster-one.example.org";

impl Fixture {
    fn new(limits: &str) -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let creds = dir.path().join("credentials.jsonl");
        let log = dir.path().join("disclosures.jsonl");
        let (credential_id, token) = crate::harness::issue_credential(
            &creds,
            "Example Police Cyber Unit",
            "criminal-investigation,consumer-protection",
        );
        let config = format!(
            "[authority]\ncredentials = {:?}\nlog = {:?}\nsearch_page_size = 3\nsearch_max_results = 7\n{limits}",
            creds.to_str().expect("utf-8"),
            log.to_str().expect("utf-8"),
        );
        let srv = Server::with_config(&config, &[]);
        Self {
            _dir: dir,
            log,
            token,
            credential_id,
            srv,
        }
    }

    fn entries(&self) -> Vec<serde_json::Value> {
        crate::harness::log_entries(&self.log)
    }

    fn ask_as(&self, path: &str, statement: &[(&str, &str)]) -> Resp {
        let bearer = format!("Bearer {}", self.token);
        let mut headers = statement.to_vec();
        headers.push(("Authorization", &bearer));
        self.srv.request("GET", path, &headers)
    }

    fn ask(&self, path: &str) -> Resp {
        self.ask_as(path, STATEMENT)
    }

    /// The path and query of a `next` link (its origin is the server's own).
    fn local(&self, url: &str) -> String {
        let origin = format!("http://{}", self.srv.addr);
        url.strip_prefix(&origin)
            .unwrap_or_else(|| panic!("{url} is not on {origin}"))
            .to_string()
    }
}

fn text(r: &Resp) -> String {
    String::from_utf8_lossy(&r.body).to_string()
}

/// The `ldhName`s (or entity handles) of an answer's results, in order.
fn listed(r: &Resp, member: &str) -> Vec<String> {
    r.json()[member]
        .as_array()
        .unwrap_or_else(|| panic!("{member} in {}", text(r)))
        .iter()
        .map(|o| {
            o["ldhName"]
                .as_str()
                .or_else(|| o["handle"].as_str())
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

fn conformance(r: &Resp) -> Vec<String> {
    r.json()["rdapConformance"]
        .as_array()
        .expect("rdapConformance")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

fn next_link(r: &Resp) -> Option<String> {
    r.json()["paging_metadata"]["links"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["rel"] == "next"))
        .and_then(|l| l["href"].as_str().map(str::to_string))
}

/// The object names a log entry records.
fn objects(entry: &serde_json::Value) -> Vec<String> {
    entry["disclosure"]["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .filter_map(|o| o.as_str().map(str::to_string))
        .collect()
}

#[test]
fn every_search_form_answers_with_the_grants_view() {
    let fx = Fixture::new(GENEROUS);
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "/authority/domains?name=KA*",
            "domainSearchResults",
            &["karlovci.example"],
        ),
        (
            "/authority/domains?name=xn--c*.example",
            "domainSearchResults",
            &["xn--caf-dma.example"],
        ),
        (
            "/authority/domains?name=caf%C3%A9.example",
            "domainSearchResults",
            &["xn--caf-dma.example"],
        ),
        (
            "/authority/nameservers?name=ns1.*",
            "nameserverSearchResults",
            &[
                "ns1.dns-provider.example.net",
                "ns1.nic.example",
                "ns1.xn--caf-dma.example",
            ],
        ),
        (
            "/authority/nameservers?ip=198.51.100.53",
            "nameserverSearchResults",
            &["ns1.nic.example"],
        ),
        (
            "/authority/entities?fn=aure*",
            "entitySearchResults",
            &["C101-EXAMPLE"],
        ),
        (
            "/authority/entities?handle=c203-example",
            "entitySearchResults",
            &["C203-EXAMPLE"],
        ),
        (
            "/authority/domains/reverse_search/entity?handle=C101-EXAMPLE",
            "domainSearchResults",
            &["xn--caf-dma.example"],
        ),
        (
            "/authority/domains/reverse_search/entity?fn=Bartholomew%20Quisling-Oyelaran&role=registrant",
            "domainSearchResults",
            &["renewed.example", "tannery-flats.example", "xn--bcher-kva.example"],
        ),
        (
            "/authority/domains/reverse_search/entity?email=Quintessa.B%40hostmaster-two.example.org",
            "domainSearchResults",
            &["renewed.example", "tlapanco.example", "transferred.example"],
        ),
    ];
    let schema = crate::schema::validator("searchResponse");
    for (i, (path, member, want)) in cases.iter().enumerate() {
        let r = fx.ask(path);
        assert_eq!(r.status, 200, "{path}: {}", text(&r));
        crate::schema::assert_valid(&schema, &r.json(), path);
        assert_eq!(listed(&r, member), *want, "{path}");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{path}");
        assert_eq!(r.header("access-control-allow-origin"), None, "{path}");
        let c = conformance(&r);
        assert!(
            c.contains(&"sorting_and_paging".to_string()),
            "{path}: {c:?}"
        );
        assert_eq!(
            c.contains(&"reverse_search".to_string()),
            path.contains("reverse_search"),
            "{path}: {c:?}"
        );
        let json = r.json();
        assert_eq!(json["paging_metadata"]["pageNumber"], 1, "{path}");
        assert_eq!(json["paging_metadata"]["pageSize"], want.len(), "{path}");
        // Each result is an object of its own, without the top-level members of a lookup.
        for o in json[*member].as_array().expect("results") {
            assert!(o.get("rdapConformance").is_none() && o.get("notices").is_none());
            assert!(
                o.get("redacted").is_none(),
                "redactions are listed at the top"
            );
        }
        // Every redaction entry points into the results array.
        for e in json["redacted"].as_array().into_iter().flatten() {
            let p = e["prePath"]
                .as_str()
                .or(e["postPath"].as_str())
                .expect("path");
            assert!(p.starts_with(&format!("$.{member}[")), "{path}: {p}");
        }
        let notice = json["notices"]
            .as_array()
            .expect("notices")
            .last()
            .expect("a notice")
            .clone();
        assert_eq!(
            notice["title"],
            "Disclosure of Non-Public Registration Data"
        );
        // One log entry per answer, with the answer's request id and body hash.
        let entries = fx.entries();
        assert_eq!(entries.len(), i + 1, "{path}");
        let d = &entries[i]["disclosure"];
        assert_eq!(d["requestId"].as_str(), r.header("rdds-request-id"));
        assert_eq!(d["credentialId"], fx.credential_id.as_str());
        assert_eq!(
            d["query"].as_str(),
            Some(*path),
            "the log records the search"
        );
    }
    // The grant's view: the registrant's personal data is in the search answer.
    let r = fx.ask("/authority/domains/reverse_search/entity?handle=C101-EXAMPLE");
    for v in [
        "Aurelie Vantongeren",
        "aurelie.vantongeren@mailbox-one.example.org",
    ] {
        assert!(text(&r).contains(v), "disclosed {v}");
    }
    // HEAD is a GET on the authority route only.
    let bearer = format!("Bearer {}", fx.token);
    let mut headers = STATEMENT.to_vec();
    headers.push(("Authorization", &bearer));
    let r = fx
        .srv
        .request("HEAD", "/authority/domains?name=ka*", &headers);
    assert_eq!(r.status, 405);
}

#[test]
fn pages_follow_next_links_to_the_end_without_duplicates_up_to_the_cap() {
    let fx = Fixture::new(GENEROUS);
    // Five domains name C202 as technical contact: pages of 3 and 2, then no next link.
    let mut path = "/authority/domains/reverse_search/entity?email=quintessa.b%40hostmaster-two.example.org&role=technical".to_string();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let r = fx.ask(&path);
        assert_eq!(r.status, 200, "{path}: {}", text(&r));
        pages += 1;
        assert_eq!(r.json()["paging_metadata"]["pageNumber"], pages);
        seen.extend(listed(&r, "domainSearchResults"));
        match next_link(&r) {
            Some(next) => path = fx.local(&next),
            None => break,
        }
    }
    assert_eq!(pages, 2);
    assert_eq!(
        seen,
        [
            "renewed.example",
            "tlapanco.example",
            "transferred.example",
            "xn--and-6ma2c.example",
            "xn--bcher-kva.example"
        ]
    );
    assert_eq!(fx.entries().len(), 2, "one log entry per page");

    // Eight domains name C201 as technical contact; the cap is 7: pages of 3, 3 and 1, the
    // last saying that the rest were left out.
    let mut path =
        format!("/authority/domains/reverse_search/entity?email={C201_EMAIL}&purpose=ignored");
    let mut seen = Vec::new();
    let schema = crate::schema::validator("searchResponse");
    let last = loop {
        let r = fx.ask(&path);
        assert_eq!(r.status, 200, "{path}: {}", text(&r));
        crate::schema::assert_valid(&schema, &r.json(), &path);
        seen.extend(listed(&r, "domainSearchResults"));
        match next_link(&r) {
            Some(next) => {
                assert!(
                    next.contains("purpose=ignored"),
                    "the query is kept: {next}"
                );
                path = fx.local(&next);
            }
            None => break r,
        }
    };
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no duplicates: {seen:?}");
    assert_eq!(
        seen,
        [
            "advokatbyra.example",
            "gold-coast-lodge.example",
            "lantern-hosting.example",
            "signed-sha384.example",
            "tannery-flats.example",
            "xn--caf-dma.example",
            "xn--strae-oqa.example",
        ]
    );
    let notices = last.json()["notices"].clone();
    let truncated = notices
        .as_array()
        .expect("notices")
        .iter()
        .find(|n| n["type"] == "result set truncated due to authorization")
        .expect("truncation notice");
    assert!(truncated["description"].to_string().contains("more than 7"));
    assert_eq!(fx.entries().len(), 5, "2 + 3 pages, one entry each");

    // A cursor for another search, or a damaged one: 400, nothing disclosed or logged.
    let first = fx.ask(&format!(
        "/authority/domains/reverse_search/entity?email={C201_EMAIL}"
    ));
    let next = fx.local(&next_link(&first).expect("next"));
    let cursor = next.split("cursor=").nth(1).expect("cursor");
    for bad in [
        format!("/authority/domains?name=ka*&cursor={cursor}"),
        format!("/authority/domains/reverse_search/entity?email={C201_EMAIL}&cursor=x{cursor}"),
        format!("/authority/domains/reverse_search/entity?email={C201_EMAIL}&cursor=%FF"),
    ] {
        let r = fx.ask(&bad);
        assert_eq!(r.status, 400, "{bad}: {}", text(&r));
        assert!(!text(&r).contains("Piotr"), "{bad}");
    }
    assert_eq!(fx.entries().len(), 6, "only the first page was logged");
}

#[test]
fn each_log_entry_names_every_disclosed_object_and_field() {
    let fx = Fixture::new(GENEROUS);
    let r = fx.ask("/authority/domains/reverse_search/entity?fn=Bartholomew*");
    assert_eq!(r.status, 200, "{}", text(&r));
    let json = r.json();
    let entries = fx.entries();
    assert_eq!(entries.len(), 1);
    let d = &entries[0]["disclosure"];
    let named = objects(&entries[0]);
    // Every domain of the answer, and every contact in it, by its own ROID.
    for o in json["domainSearchResults"].as_array().expect("results") {
        let roid = o["handle"].as_str().expect("domain handle");
        assert!(named.contains(&format!("domain:{roid}")), "{named:?}");
        for e in o["entities"].as_array().into_iter().flatten() {
            let role = e["roles"][0].as_str().unwrap_or_default();
            if role == "registrant" || role == "technical" {
                let handle = e["handle"].as_str().expect("disclosed handle");
                assert!(named.contains(&format!("contact:{handle}")), "{named:?}");
                let listed = d["disclosed"]
                    .as_array()
                    .expect("disclosed")
                    .iter()
                    .find(|c| c["roid"] == handle && c["role"] == role)
                    .unwrap_or_else(|| panic!("{handle} as {role} in {d}"));
                assert!(
                    !listed["fields"].as_array().expect("fields").is_empty(),
                    "{listed}"
                );
            }
        }
    }
    // C102 is registrant of all three: named once as a contact, with every field criminal
    // investigations see.
    assert_eq!(
        named
            .iter()
            .filter(|o| *o == "contact:C102-EXAMPLE")
            .count(),
        1
    );
    let c102: Vec<&serde_json::Value> = d["disclosed"]
        .as_array()
        .expect("disclosed")
        .iter()
        .filter(|c| c["roid"] == "C102-EXAMPLE")
        .collect();
    assert_eq!(c102.len(), 1, "{d}");
    assert_eq!(
        c102[0]["fields"],
        serde_json::json!(["name", "street", "city", "pc", "voice", "fax", "email"])
    );
    assert_eq!(
        d["query"],
        "/authority/domains/reverse_search/entity?fn=Bartholomew*"
    );
    // The log's hash is of the bytes sent.
    let sha = rddsd::authority::log::sha256_hex(&r.body);
    assert_eq!(d["responseSha256"].as_str(), Some(sha.as_str()));

    // An empty answer is an answer: 200, an empty array, and one entry naming nothing.
    let r = fx.ask("/authority/domains?name=zz*");
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(r.json()["domainSearchResults"], serde_json::json!([]));
    crate::schema::assert_valid(
        &crate::schema::validator("searchResponse"),
        &r.json(),
        "empty",
    );
    assert!(next_link(&r).is_none());
    let entries = fx.entries();
    assert_eq!(entries.len(), 2);
    assert!(objects(&entries[1]).is_empty());
    assert_eq!(entries[1]["disclosure"]["disclosed"], serde_json::json!([]));
}

#[test]
fn searches_are_refused_for_purposes_not_allowed_to_search_and_without_a_credential() {
    let fx = Fixture::new(GENEROUS);
    let path = "/authority/domains/reverse_search/entity?handle=C101-EXAMPLE";
    // Consumer protection: the credential holds it, the policy does not let it search.
    let r = fx.ask_as(
        path,
        &[
            ("RDDS-Purpose", "consumer-protection"),
            ("RDDS-Legal-Basis", "Consumer Act 12"),
            ("RDDS-Case-Reference", "CP-1"),
        ],
    );
    assert_eq!(r.status, 403, "{}", text(&r));
    let body = text(&r);
    assert!(
        body.contains("criminal-investigation, urgent-threat-to-life"),
        "{body}"
    );
    assert!(!body.contains("Aurelie") && !body.contains("D1002-EXAMPLE"));
    // A lookup for the same purpose is still answered.
    let r = fx.ask_as(
        "/authority/domain/caf%C3%A9.example",
        &[
            ("RDDS-Purpose", "consumer-protection"),
            ("RDDS-Legal-Basis", "Consumer Act 12"),
            ("RDDS-Case-Reference", "CP-1"),
        ],
    );
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(fx.entries().len(), 1, "only the lookup is logged");
    // A purpose the credential does not hold: 403 as for a lookup.
    let r = fx.ask_as(
        path,
        &[
            ("RDDS-Purpose", "urgent-threat-to-life"),
            ("RDDS-Legal-Basis", "x"),
            ("RDDS-Case-Reference", "y"),
        ],
    );
    assert_eq!(r.status, 403);
    // No credential, a wrong one, no statement.
    let r = fx.srv.request("GET", path, STATEMENT);
    assert_eq!(r.status, 401);
    let mut wrong = STATEMENT.to_vec();
    wrong.push(("Authorization", "Bearer not-a-credential"));
    assert_eq!(fx.srv.request("GET", path, &wrong).status, 401);
    let bearer = format!("Bearer {}", fx.token);
    assert_eq!(
        fx.srv
            .request("GET", path, &[("Authorization", &bearer)])
            .status,
        400
    );
    assert_eq!(fx.entries().len(), 1, "no refusal is logged");
    // A malformed search is refused before anything else, with its reason.
    let r = fx.ask("/authority/domains?name=*");
    assert_eq!(r.status, 400);
    assert!(text(&r).contains("2 characters before the asterisk"));
}

#[test]
fn a_search_costs_more_of_the_credentials_rate_than_a_lookup() {
    // A burst of 10, a search costs 4: two searches and two lookups fit, then nothing.
    let fx = Fixture::new("rate_per_minute = 1\nburst = 10\nsearch_cost = 4\n");
    for _ in 0..2 {
        assert_eq!(fx.ask("/authority/domains?name=ka*").status, 200);
    }
    let r = fx.ask("/authority/domains?name=ka*");
    assert_eq!(r.status, 429, "{}", text(&r));
    assert!(r.header("retry-after").is_some());
    for _ in 0..2 {
        assert_eq!(fx.ask("/authority/domain/karlovci.example").status, 200);
    }
    assert_eq!(fx.ask("/authority/domain/karlovci.example").status, 429);
    assert_eq!(fx.entries().len(), 4);
}

#[test]
fn public_search_paths_answer_501_and_a_bearer_there_is_the_authority_route() {
    let fx = Fixture::new(GENEROUS);
    let public = Server::start(&[]);
    for path in [
        "/domains?name=ka*",
        "/domains?name=*",
        "/nameservers?ip=198.51.100.53",
        "/entities?fn=Aure*",
        "/domains/reverse_search/entity?handle=C101-EXAMPLE",
        "/nameservers/reverse_search/entity?fn=x",
    ] {
        for srv in [&fx.srv, &public] {
            let r = srv.get(path);
            assert_eq!(r.status, 501, "{path}: {}", text(&r));
            assert!(
                text(&r).contains("they would allow bulk harvesting"),
                "{path}"
            );
            assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        }
    }
    // With an authority's token, the public search path is answered as on the authority
    // route: the same checks, the same view, the same log.
    let r = fx.ask("/domains/reverse_search/entity?handle=C101-EXAMPLE");
    assert_eq!(r.status, 200, "{}", text(&r));
    assert!(text(&r).contains("Aurelie Vantongeren"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let entries = fx.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0]["disclosure"]["query"],
        "/domains/reverse_search/entity?handle=C101-EXAMPLE"
    );
    // Its next link stays on the path it was asked on.
    let r = fx.ask(&format!(
        "/domains/reverse_search/entity?email={C201_EMAIL}"
    ));
    let next = next_link(&r).expect("next");
    assert!(fx
        .local(&next)
        .starts_with("/domains/reverse_search/entity?"));
    let r = fx.ask("/domains?name=*");
    assert_eq!(
        r.status, 400,
        "malformed, told as the authority route tells it"
    );
    let r = fx.ask_as(
        "/domains?name=ka*",
        &[
            ("RDDS-Purpose", "consumer-protection"),
            ("RDDS-Legal-Basis", "x"),
            ("RDDS-Case-Reference", "y"),
        ],
    );
    assert_eq!(r.status, 403);
    // /help announces the searches where the authority route exists, and only there.
    let help = fx.srv.get("/help");
    let c = conformance(&help);
    assert!(
        c.contains(&"reverse_search".into()) && c.contains(&"sorting_and_paging".into()),
        "{c:?}"
    );
    let props: Vec<String> = help.json()["reverse_search_properties"]
        .as_array()
        .expect("reverse_search_properties")
        .iter()
        .map(|p| {
            assert_eq!(p["searchableResourceType"], "domains");
            assert_eq!(p["relatedResourceType"], "entity");
            p["property"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    assert_eq!(props, ["fn", "handle", "email", "role"]);
    assert!(text(&help).contains("/domains/reverse_search/entity?"));
    crate::schema::assert_valid(
        &crate::schema::validator("helpResponse"),
        &help.json(),
        "/help",
    );
    let help = public.get("/help");
    assert!(!conformance(&help).contains(&"reverse_search".into()));
    assert!(help.json().get("reverse_search_properties").is_none());
}
