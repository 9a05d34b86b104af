//! RDAP behaviour over real sockets: lookups, normalisation, status codes, headers, profile
//! members, RFC 9537 paths, and hostile requests.

use serde_json::Value;
use serde_json_path::JsonPath;

use crate::harness::{encode, Server};

/// The string at JSON pointer `ptr` inside each element of the array `arr`.
fn strings<'a>(arr: &'a Value, ptr: &str) -> Vec<&'a str> {
    arr.as_array()
        .expect("array")
        .iter()
        .filter_map(|e| e.pointer(ptr)?.as_str())
        .collect()
}

fn conformance(v: &Value) -> Vec<String> {
    v["rdapConformance"]
        .as_array()
        .expect("rdapConformance")
        .iter()
        .map(|s| s.as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn domain_lookup_by_a_label_u_label_case_and_trailing_dot_agree() {
    let srv = Server::start(&[]);
    let a = srv.get("/domain/xn--caf-dma.example");
    assert_eq!(a.status, 200);
    let a = a.json();
    assert_eq!(a["ldhName"], "xn--caf-dma.example");
    assert_eq!(a["unicodeName"], "café.example");
    // The same answer, except that notice and referral links carry each request's own URL.
    let origin = format!("http://{}", srv.addr);
    let without_request_url = |mut v: Value, path: &str| {
        for link in crate::profile::request_url_links(&mut v) {
            assert_eq!(link["value"], format!("{origin}{path}"), "{path}");
            link["value"] = Value::Null;
        }
        v
    };
    let a = without_request_url(a, "/domain/xn--caf-dma.example");
    for path in [
        format!("/domain/{}", encode("café.example")),
        format!("/domain/{}", encode("CAFÉ.Example.")),
        "/domain/XN--CAF-DMA.EXAMPLE".to_string(),
    ] {
        let r = srv.get(&path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(
            without_request_url(r.json(), &path),
            a,
            "{path} must give the same answer"
        );
    }
}

#[test]
fn status_codes_and_error_bodies() {
    let srv = Server::start(&[]);
    for (path, status) in [
        ("/domain/not-a-domain.invalid", 404),
        ("/domain/unregistered.example", 404),
        ("/domain/-bad-.example", 400),
        ("/domain/", 400),
        ("/domain/%FF%FE.example", 400),
        ("/domain/a%2Fb.example", 400),
        ("/domain/%zz.example", 400),
        ("/nameserver/ns9.nic.example", 404),
        ("/entity/4242", 404),
        ("/entity/C999-EXAMPLE", 404),
        ("/entity/not%20a%20handle", 400),
        ("/ip/192.0.2.1", 501),
        ("/autnum/64496", 501),
        ("/domains?name=ex*", 501),
        ("/nameservers?ip=192.0.2.1", 501),
        ("/entities?fn=A*", 501),
        ("/no-such-path", 404),
        ("/", 404),
    ] {
        let r = srv.get(path);
        assert_eq!(r.status, status, "{path}");
        assert_eq!(
            r.header("content-type"),
            Some("application/rdap+json"),
            "{path}"
        );
        assert_eq!(r.header("access-control-allow-origin"), Some("*"), "{path}");
        let body = r.json();
        assert_eq!(body["errorCode"], status, "{path}");
        assert!(conformance(&body).contains(&"rdap_level_0".to_string()));
        assert!(body["description"].is_array());
    }
    let r = srv.request("POST", "/domain/nic.example", &[("Content-Length", "0")]);
    assert_eq!(r.status, 405);
    assert!(r.header("allow").is_some_and(|a| a.contains("GET")));
    let r = srv.request("DELETE", "/help", &[]);
    assert_eq!(r.status, 405);
}

#[test]
fn head_matches_get_in_status_and_headers() {
    let srv = Server::start(&[]);
    for path in [
        "/domain/nic.example",
        "/domain/nope.example",
        "/help",
        "/ip/1.2.3.4",
        "/domain/%FF",
    ] {
        let get = srv.get(path);
        let head = srv.request("HEAD", path, &[]);
        assert_eq!(head.status, get.status, "{path}");
        assert!(head.body.is_empty(), "{path}: HEAD has no body");
        for h in [
            "content-type",
            "access-control-allow-origin",
            "content-length",
        ] {
            assert_eq!(head.header(h), get.header(h), "{path}: {h}");
        }
    }
}

#[test]
fn any_accept_header_or_none_gets_rdap_json() {
    let srv = Server::start(&[]);
    for accept in [
        None,
        Some("application/rdap+json"),
        Some("application/json"),
        Some("text/html"),
        Some("application/rdap+json;exts_list=\"redacted\""),
        Some("\u{00ff}\u{00fe}"),
    ] {
        let headers: Vec<(&str, &str)> = accept.iter().map(|a| ("Accept", *a)).collect();
        let r = srv.request("GET", "/domain/nic.example", &headers);
        assert_eq!(r.status, 200, "{accept:?}");
        assert_eq!(r.header("content-type"), Some("application/rdap+json"));
    }
}

#[test]
fn domain_carries_what_the_gtld_profile_requires() {
    let srv = Server::start(&[]);
    let d = srv.get("/domain/kite-surfing.example").json();
    let conf = conformance(&d);
    for id in [
        "rdap_level_0",
        "icann_rdap_response_profile_1",
        "icann_rdap_technical_implementation_guide_1",
        "redacted",
    ] {
        assert!(conf.contains(&id.to_string()), "missing {id}");
    }
    // rdapConformance on the top object only.
    let nested = JsonPath::parse("$..entities[*].rdapConformance").expect("path");
    assert!(nested.query(&d).all().is_empty());
    let titles: Vec<&str> = strings(&d["notices"], "/title");
    assert_eq!(
        titles,
        [
            "Terms of Service",
            "Status Codes",
            "RDDS Inaccuracy Complaint Form"
        ]
    );
    assert!(d["notices"][1]["description"][0]
        .as_str()
        .is_some_and(|s| s.contains("https://icann.org/epp")));
    assert_eq!(
        d["notices"][2]["links"][0]["href"],
        "https://icann.org/wicf"
    );
    let actions: Vec<&str> = strings(&d["events"], "/eventAction");
    assert_eq!(
        actions,
        [
            "registration",
            "expiration",
            "last changed",
            "last update of RDAP database"
        ]
    );
    assert_eq!(d["handle"], "D1009-EXAMPLE");
    assert_eq!(d["secureDNS"]["delegationSigned"], true);
    assert_eq!(d["secureDNS"]["dsData"][0]["keyTag"], 60485);
    assert_eq!(
        d["status"],
        serde_json::json!([
            "client transfer prohibited",
            "client update prohibited",
            "client delete prohibited"
        ])
    );
    // Registrar entity: IANA ID as handle and public ID, abuse contact, about link.
    let reg = &d["entities"][0];
    assert_eq!(reg["roles"], serde_json::json!(["registrar"]));
    assert_eq!(reg["handle"], "1002");
    assert_eq!(
        reg["publicIds"][0],
        serde_json::json!({"type": "IANA Registrar ID", "identifier": "1002"})
    );
    assert_eq!(reg["entities"][0]["roles"], serde_json::json!(["abuse"]));
    assert_eq!(reg["links"][0]["rel"], "about");
    // Related link to the registrar's RDAP service, distinct from self.
    let links = d["links"].as_array().expect("links");
    assert_eq!(links[0]["rel"], "self");
    assert_eq!(links[1]["rel"], "related");
    assert_eq!(
        links[1]["href"],
        "https://rdap.bluefjord.example.com/rdap/domain/kite-surfing.example"
    );
    // Unsigned domain.
    let u = srv.get("/domain/tlapanco.example").json();
    assert_eq!(
        u["secureDNS"],
        serde_json::json!({"delegationSigned": false})
    );
}

#[test]
fn registry_as_registrar_has_no_related_link() {
    let srv = Server::start(&[]);
    let d = srv.get("/domain/nic.example").json();
    let rels: Vec<&str> = strings(&d["links"], "/rel");
    assert_eq!(rels, ["self"]);
    assert_eq!(d["entities"][0]["handle"], "9999");
}

#[test]
fn redaction_paths_resolve_as_rfc9537_requires() {
    let srv = Server::start(&[]);
    let mut checked = 0;
    for domain in crate::harness::fixture_objects("domain") {
        let name = domain["name"].as_str().expect("name");
        let d = srv.get(&format!("/domain/{}", encode(name))).json();
        for entry in d["redacted"].as_array().into_iter().flatten() {
            let method = entry["method"].as_str().expect("method");
            let (member, must_resolve) = match method {
                "removal" => ("prePath", false),
                "emptyValue" => ("postPath", true),
                other => panic!("unexpected method {other}"),
            };
            let path = JsonPath::parse(entry[member].as_str().expect("path"))
                .expect("valid RFC 9535 JSONPath");
            let found = path.query(&d).all();
            assert_eq!(!found.is_empty(), must_resolve, "{name}: {entry}");
            if method == "emptyValue" {
                assert!(
                    found.iter().all(
                        |v| *v == "" || v.as_array().is_some_and(|a| a.iter().all(|x| x == ""))
                    ),
                    "{name}: {entry} -> {found:?}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} redactions checked");
}

#[test]
fn consent_publishes_a_field_and_drops_its_redaction() {
    let srv = Server::start(&[]);
    // C106 consented to everything.
    let d = srv.get("/domain/advokatbyra.example").json();
    let names: Vec<&str> = strings(&d["redacted"], "/name/type");
    let registrant: Vec<&&str> = names
        .iter()
        .filter(|n| n.starts_with("Registrant"))
        .collect();
    // C106 has no fax: an absent field is reported like a withheld one, so the public cannot
    // tell "no fax" from "fax withheld".
    assert_eq!(
        registrant,
        [&"Registrant Fax", &"Registrant Fax Ext"],
        "{names:?}"
    );
    let text = d.to_string();
    assert!(
        text.contains("Fenwick Oduya-Lindqvist")
            && text.contains("fenwick.ol@mailbox-six.example.org")
    );
    // C104 consented to the organisation only.
    let d = srv.get("/domain/kite-surfing.example").json();
    let names: Vec<&str> = strings(&d["redacted"], "/name/type");
    assert!(!names.contains(&"Registrant Organization"));
    assert!(names.contains(&"Registrant Name") && names.contains(&"Registrant Email"));
    assert!(d.to_string().contains("Haverbeke Kite Surfing BV"));
    // State/province and country are always there.
    let reg = &d["entities"][1];
    assert_eq!(reg["roles"][0], "registrant");
    let adr = reg["vcardArray"][1]
        .as_array()
        .expect("vcard")
        .iter()
        .find(|p| p[0] == "adr")
        .expect("adr");
    assert_eq!(adr[1]["cc"], "BE");
}

#[test]
fn nameserver_and_entity_lookups() {
    let srv = Server::start(&[]);
    let ns = srv.get("/nameserver/ns1.nic.example").json();
    assert_eq!(ns["objectClassName"], "nameserver");
    assert_eq!(ns["ipAddresses"]["v4"][0], "198.51.100.53");
    assert_eq!(ns["ipAddresses"]["v6"][0], "2001:db8:53::1");
    let idn = srv
        .get(&format!("/nameserver/{}", encode("NS1.CAFÉ.example")))
        .json();
    assert_eq!(idn["ldhName"], "ns1.xn--caf-dma.example");
    let r = srv.get("/entity/1001").json();
    assert_eq!(r["handle"], "1001");
    assert_eq!(r["publicIds"][0]["identifier"], "1001");
    let c = srv.get("/entity/c101-example");
    assert_eq!(
        c.status, 200,
        "contact handles match without regard to case"
    );
    // The contact ROID is a redacted element (RDP §9.2): the lookup works, the answer does not
    // carry it.
    let c = c.json();
    assert!(c.get("handle").is_none(), "{c}");
    assert!(c["redacted"]
        .as_array()
        .expect("redacted")
        .iter()
        .any(|r| r["prePath"] == "$.handle" && r["method"] == "removal"));
    let help = srv.get("/help");
    assert_eq!(help.status, 200);
    assert!(help.json()["notices"]
        .as_array()
        .is_some_and(|n| n.len() >= 2));
}

#[test]
fn hostile_requests_get_a_clear_4xx_and_the_server_survives() {
    let srv = Server::start(&[]);
    let huge_path = format!(
        "GET /domain/{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "a".repeat(20_000)
    );
    let huge_header = format!(
        "GET /help HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "b".repeat(40_000)
    );
    let cases: Vec<Vec<u8>> = vec![
        b"GET /domain/\xff\xfe.example HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
        b"GET /domain/%C3%28.example HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
        b"GET /domain/%%%% HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
        b"GET /domain/%00 HTTP/1.1\r\nConnection: close\r\n\r\n".to_vec(),
        b"GARBAGE\r\n\r\n".to_vec(),
        huge_path.into_bytes(),
        huge_header.into_bytes(),
    ];
    for raw in &cases {
        let r = srv.raw(raw);
        assert!(
            (400..500).contains(&r.status),
            "{:?} -> {}",
            String::from_utf8_lossy(&raw[..raw.len().min(60)]),
            r.status
        );
    }
    // Non-ASCII header bytes are not our business: the Accept header is ignored.
    let r =
        srv.raw(b"GET /help HTTP/1.1\r\nHost: x\r\nAccept: \xff\xff\r\nConnection: close\r\n\r\n");
    assert_eq!(r.status, 200);
    // RFC 9112 section 3.2: HTTP/1.1 needs exactly one Host; HTTP/1.0 may omit it.
    for raw in [
        &b"GET /help HTTP/1.1\r\nConnection: close\r\n\r\n"[..],
        &b"GET /help HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n"[..],
    ] {
        let r = srv.raw(raw);
        assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(raw));
        assert_eq!(r.json()["errorCode"], 400);
    }
    assert_eq!(srv.raw(b"GET /help HTTP/1.0\r\n\r\n").status, 200);
    assert_eq!(srv.get("/help").status, 200, "server still answers");
    assert!(!srv.log().contains("panicked"), "no panic in the log");
}
