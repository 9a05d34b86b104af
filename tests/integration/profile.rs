//! The ICANN gTLD RDAP Profile (February 2024) rules that `rdap-test` 0.0.30 does not check,
//! applied to every answer of the demo registry over real sockets. The codes in comments are
//! the ICANN RDAP Conformance Tool's (RDAPCT) check codes for the same rule.
//!
//! Each rule is a function over one parsed answer that returns its violations, so one run lists
//! everything wrong at once instead of stopping at the first assertion.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::harness::{encode, fixture_objects, Server};

/// The links whose `value` must be the URL of the request as sent: every notice link
/// (RP24 §2.6.3 Status Codes -46606, §2.10 Inaccuracy Complaint Form -46706, Terms of Service
/// and the help notices -61202) and the registry-to-registrar `related` link (TIG24 §3.2).
pub fn request_url_links(v: &mut Value) -> Vec<&mut Value> {
    let mut out = Vec::new();
    let Value::Object(top) = v else {
        return out;
    };
    for (key, member) in top.iter_mut() {
        let items = member.as_array_mut().into_iter().flatten();
        match key.as_str() {
            "notices" => {
                for notice in items {
                    let links = notice.get_mut("links").and_then(Value::as_array_mut);
                    out.extend(links.into_iter().flatten());
                }
            }
            "links" => out.extend(items.filter(|l| l["rel"] == "related")),
            _ => {}
        }
    }
    out
}

/// Violations found in one answer.
#[derive(Default)]
struct Report(Vec<String>);

impl Report {
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.0.push(what());
        }
    }
}

fn strs<'a>(v: &'a Value, key: &str) -> Vec<&'a str> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e[key].as_str())
        .collect()
}

/// A vCard property by name, e.g. `fn`, `tel`, `url`.
fn vcard_props<'a>(entity: &'a Value, name: &str) -> Vec<&'a Value> {
    entity["vcardArray"][1]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p[0] == name)
        .collect()
}

/// RFC 5730 `roidType`: `(\w|_){1,80}-\w{1,8}`, and not the ICANN test suffix.
fn is_roid(s: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    s.rsplit_once('-').is_some_and(|(local, suffix)| {
        (1..=80).contains(&local.len())
            && local.chars().all(word)
            && (1..=8).contains(&suffix.len())
            && suffix.chars().all(word)
            && suffix != "ICANNRST"
    })
}

/// `YYYY-MM-DDThh:mm:ssZ`, the RFC 3339 UTC form the profile's examples use.
fn is_rfc3339_utc(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// RFC 9083 §10.2.2 status values (the IANA RDAP JSON Values registry, RFC 8056 mapping).
const STATUS_VALUES: &[&str] = &[
    "validated",
    "renew prohibited",
    "update prohibited",
    "transfer prohibited",
    "delete prohibited",
    "proxy",
    "private",
    "removed",
    "obscured",
    "associated",
    "active",
    "inactive",
    "locked",
    "pending create",
    "pending renew",
    "pending transfer",
    "pending update",
    "pending delete",
    "add period",
    "auto renew period",
    "client delete prohibited",
    "client hold",
    "client renew prohibited",
    "client transfer prohibited",
    "client update prohibited",
    "pending restore",
    "redemption period",
    "renew period",
    "server delete prohibited",
    "server renew prohibited",
    "server transfer prohibited",
    "server update prohibited",
    "server hold",
    "transfer period",
];

const BASE_CONFORMANCE: [&str; 3] = [
    "rdap_level_0",
    "icann_rdap_response_profile_1",
    "icann_rdap_technical_implementation_guide_1",
];

/// Rules for every top-level answer.
fn common(v: &Value, request_url: &str, r: &mut Report) {
    // RFC 9083 §4.1: rdapConformance on the top object only; the profile's identifiers, and
    // `redacted` exactly when there is a `redacted` member (RFC 9537 §4.1).
    let conf: Vec<&str> = v["rdapConformance"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for id in BASE_CONFORMANCE {
        r.check(conf.contains(&id), || format!("rdapConformance lacks {id}"));
    }
    let has_redacted = v["redacted"].as_array().is_some_and(|a| !a.is_empty());
    r.check(conf.contains(&"redacted") == has_redacted, || {
        format!("`redacted` in rdapConformance ({conf:?}) but redacted member is {has_redacted}")
    });
    let mut nested = 0;
    count_nested_conformance(v, true, &mut nested);
    r.check(nested == 0, || {
        "rdapConformance below the top object".into()
    });

    // Notices: a Terms of Service notice, every link with value/rel/href, and every value is the
    // request URL (-46606, -46706, -61202).
    let notices = v["notices"].as_array().cloned().unwrap_or_default();
    r.check(
        notices.iter().any(|n| n["title"] == "Terms of Service"),
        || "no Terms of Service notice".into(),
    );
    let mut copy = v.clone();
    for link in request_url_links(&mut copy) {
        r.check(link["value"] == request_url, || {
            format!(
                "link value {} is not the request URL {request_url}",
                link["value"]
            )
        });
        for member in ["rel", "href"] {
            r.check(link[member].is_string(), || {
                format!("link without {member}: {link}")
            });
        }
    }
    // RFC 9083 §4.5: exactly one `last update of RDAP database` event on every object answer
    // (RP24 §2.3.1.3, -43100); `/help` is not an object.
    let actions = strs(&v["events"], "eventAction");
    r.check(
        v["objectClassName"].is_null()
            || actions
                .iter()
                .filter(|a| **a == "last update of RDAP database")
                .count()
                == 1,
        || format!("events {actions:?} need one 'last update of RDAP database'"),
    );
    for e in v["events"].as_array().into_iter().flatten() {
        let date = e["eventDate"].as_str().unwrap_or_default();
        r.check(is_rfc3339_utc(date), || format!("event date {date:?}"));
    }
    // RP 1.2.2 (-40100): no browser-executable code anywhere in a response.
    let text = v.to_string().to_ascii_lowercase();
    r.check(
        !text.contains("<script") && !text.contains("javascript:"),
        || "script in response".into(),
    );
    redaction_hygiene(v, r);
}

fn count_nested_conformance(v: &Value, top: bool, n: &mut usize) {
    match v {
        Value::Object(m) => {
            if !top && m.contains_key("rdapConformance") {
                *n += 1;
            }
            m.values()
                .for_each(|x| count_nested_conformance(x, false, n));
        }
        Value::Array(a) => a.iter().for_each(|x| count_nested_conformance(x, false, n)),
        _ => {}
    }
}

/// RP24 §1.2 (-62002..-62005): redaction objects are well-formed.
fn redaction_hygiene(v: &Value, r: &mut Report) {
    for e in v["redacted"].as_array().into_iter().flatten() {
        let name = e["name"].as_object();
        r.check(
            name.is_some_and(|n| {
                n.len() == 1 && (n.contains_key("type") || n.contains_key("description"))
            }),
            || format!("redaction name must carry exactly one of type/description: {e}"),
        );
        for member in [
            "prePath",
            "postPath",
            "pathLang",
            "method",
            "replacementPath",
        ] {
            r.check(e.get(member).is_none_or(Value::is_string), || {
                format!("{member} is not a string: {e}")
            });
        }
        if let Some(reason) = e.get("reason") {
            r.check(
                reason.as_object().is_some_and(|o| {
                    o.keys()
                        .all(|k| ["lang", "type", "description"].contains(&k.as_str()))
                }),
                || format!("reason has other members: {e}"),
            );
        }
    }
}

fn redaction<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v["redacted"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["name"]["type"] == name)
}

/// The registrar entity in a domain or nameserver answer, or a top-level registrar lookup
/// (`reg` is the fixture line of the registrar).
fn registrar_entity(e: &Value, reg: &Value, r: &mut Report) {
    let id = reg["ianaId"].to_string();
    r.check(e["handle"] == id.as_str(), || {
        format!("registrar handle {}", e["handle"])
    });
    // -47400..-47404: publicIds IANA Registrar ID equal to the handle.
    r.check(
        e["publicIds"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["type"] == "IANA Registrar ID" && p["identifier"] == id.as_str()),
        || format!("registrar {id}: publicIds {}", e["publicIds"]),
    );
    r.check(
        vcard_props(e, "fn")
            .first()
            .is_some_and(|p| p[3] == reg["name"]),
        || format!("registrar {id}: fn"),
    );
    // RP24 §2.4.5 (-47500): nested abuse entity with voice tel and email.
    let abuse: Vec<&Value> = e["entities"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|x| x["roles"][0] == "abuse")
        .collect();
    r.check(abuse.len() == 1, || {
        format!("registrar {id}: {} abuse entities", abuse.len())
    });
    if let Some(a) = abuse.first() {
        let tel = format!(
            "tel:{}{}",
            reg["abusePhone"]["number"].as_str().unwrap_or_default(),
            reg["abusePhone"]["ext"]
                .as_str()
                .map(|x| format!(";ext={x}"))
                .unwrap_or_default()
        );
        r.check(
            vcard_props(a, "tel")
                .iter()
                .any(|p| p[1]["type"] == "voice" && p[3] == tel.as_str()),
            || format!("registrar {id}: abuse tel is not {tel}"),
        );
        r.check(
            vcard_props(a, "email")
                .iter()
                .any(|p| p[3] == reg["abuseEmail"]),
            || format!("registrar {id}: abuse email"),
        );
    }
    // RP24 §2.4.6 (-47700..-47703): about link, value = RDAP base URL, href = Registrar URL;
    // none when the registrar has no RDAP base URL.
    let about: Vec<&Value> = e["links"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["rel"] == "about")
        .collect();
    match (reg["rdapBaseUrl"].as_str(), reg["url"].as_str()) {
        (Some(base), Some(url)) => {
            r.check(about.len() == 1, || {
                format!("registrar {id}: {} about links", about.len())
            });
            if let Some(l) = about.first() {
                let value = l["value"].as_str().unwrap_or_default();
                r.check(
                    value.trim_end_matches('/') == base.trim_end_matches('/'),
                    || {
                        format!(
                            "registrar {id}: about value {value} is not the RDAP base URL {base}"
                        )
                    },
                );
                r.check(l["href"] == url, || {
                    format!(
                        "registrar {id}: about href {} is not the Registrar URL {url}",
                        l["href"]
                    )
                });
            }
        }
        _ => r.check(about.is_empty(), || {
            format!("registrar {id}: about link without RDAP base URL")
        }),
    }
    // Specification 4 values port 43 prints: Registrar URL and Registrar WHOIS Server.
    r.check(
        vcard_props(e, "url").first().map(|p| &p[3]) == reg.get("url"),
        || format!("registrar {id}: vCard url is not the Registrar URL"),
    );
    r.check(e.get("port43") == reg.get("whoisServer"), || {
        format!(
            "registrar {id}: port43 {:?} is not the WHOIS server",
            e.get("port43")
        )
    });
}

fn registrars() -> BTreeMap<String, Value> {
    fixture_objects("registrar")
        .into_iter()
        .map(|r| (r["ianaId"].to_string(), r))
        .collect()
}

fn domain_rules(d: &Value, fixture: &Value, request_url: &str, r: &mut Report) {
    common(d, request_url, r);
    let regs = registrars();
    let ldh = d["ldhName"].as_str().unwrap_or_default();
    r.check(d["objectClassName"] == "domain", || {
        "objectClassName".into()
    });
    r.check(!ldh.is_empty() && ldh == ldh.to_ascii_lowercase(), || {
        format!("ldhName {ldh}")
    });
    // RP24 §2.2 (-46200..-46206): a ROID handle, or its redaction.
    match d["handle"].as_str() {
        Some(h) => r.check(is_roid(h), || format!("handle {h} is not a ROID")),
        None => r.check(redaction(d, "Registry Domain ID").is_some(), || {
            "no handle and no Registry Domain ID redaction".into()
        }),
    }
    // RP24 §2.3.1 (-46300, -46400): registration and expiration events.
    let actions = strs(&d["events"], "eventAction");
    for a in ["registration", "expiration"] {
        r.check(actions.contains(&a), || format!("no {a} event"));
    }
    // RP §2.6.1 (-47100): at least one status, each a registered value.
    let status: Vec<&str> = d["status"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    r.check(!status.is_empty(), || "no status".into());
    for s in &status {
        r.check(STATUS_VALUES.contains(s), || {
            format!("unregistered status {s:?}")
        });
    }
    // The three domain notices with their fixed text and links (RP24 §2.6.3, §2.10).
    let notice = |title: &str| {
        d["notices"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|n| n["title"] == title)
            .cloned()
    };
    match notice("Status Codes") {
        Some(n) => {
            r.check(n["description"].to_string().contains("For more information on domain status codes, please visit https://icann.org/epp"), || "Status Codes description".into());
            r.check(
                n["links"][0]["href"] == "https://icann.org/epp"
                    && n["links"][0]["rel"] == "glossary",
                || "Status Codes link".into(),
            );
        }
        None => r.0.push("no Status Codes notice".into()),
    }
    match notice("RDDS Inaccuracy Complaint Form") {
        Some(n) => {
            r.check(
                n["description"].to_string().contains(
                    "URL of the ICANN RDDS Inaccuracy Complaint Form: https://icann.org/wicf",
                ),
                || "complaint form description".into(),
            );
            r.check(
                n["links"][0]["href"] == "https://icann.org/wicf" && n["links"][0]["rel"] == "help",
                || "complaint form link".into(),
            );
        }
        None => r.0.push("no RDDS Inaccuracy Complaint Form notice".into()),
    }
    // RP24 §2.5 (-46800): secureDNS with delegationSigned.
    r.check(d["secureDNS"]["delegationSigned"].is_boolean(), || {
        "secureDNS.delegationSigned".into()
    });
    // Exactly one registrar entity (-47300).
    let entities = d["entities"].as_array().cloned().unwrap_or_default();
    let registrar: Vec<&Value> = entities
        .iter()
        .filter(|e| e["roles"][0] == "registrar")
        .collect();
    r.check(registrar.len() == 1, || {
        format!("{} registrar entities", registrar.len())
    });
    let reg_id = fixture["registrar"].to_string();
    let reg = &regs[&reg_id];
    if let Some(e) = registrar.first() {
        registrar_entity(e, reg, r);
    }
    // TIG24 §3.2 (-23200..-23202): related link to the registrar's RDAP service, except 9999.
    let related: Vec<&Value> = d["links"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["rel"] == "related")
        .collect();
    match reg["rdapBaseUrl"].as_str() {
        Some(base) if reg_id != "9999" => {
            let want = format!("{}/domain/{ldh}", base.trim_end_matches('/'));
            r.check(
                related.len() == 1 && related[0]["href"] == want.as_str(),
                || format!("related link {related:?}, want href {want}"),
            );
        }
        _ => r.check(related.is_empty(), || {
            "related link for a registrar without RDAP".into()
        }),
    }
    // Nameservers: ldhName and a ROID handle (-47200..-47205).
    for ns in d["nameservers"].as_array().into_iter().flatten() {
        r.check(ns["ldhName"].is_string(), || {
            format!("nameserver without ldhName {ns}")
        });
        if let Some(h) = ns["handle"].as_str() {
            r.check(is_roid(h), || format!("nameserver handle {h}"));
        }
    }
    // Contacts: single role first; the RDP's redacted handles (§9.2) are removed with their
    // registered redaction (RP24 §2.7.4.x / §2.7.6.x, -63100, -65702..-65706).
    for (role, id_name) in [
        ("registrant", "Registry Registrant ID"),
        ("technical", "Registry Tech ID"),
    ] {
        let Some(e) = entities.iter().find(|e| e["roles"][0] == role) else {
            continue;
        };
        r.check(e.get("handle").is_none(), || {
            format!("{role} handle {} is published", e["handle"])
        });
        let path = format!("$.entities[?(@.roles[0]=='{role}')].handle");
        r.check(
            redaction(d, id_name).is_some_and(|x| {
                x["prePath"] == path.as_str()
                    && x["method"] == "removal"
                    && x["pathLang"] == "jsonpath"
            }),
            || format!("no {id_name} removal redaction at {path}"),
        );
        contact_vcard_rules(d, e, role, r);
    }
}

/// RP24 §2.7.4.x/§2.7.5.x/§2.7.6.x: each withheld element has its redaction, each shown one
/// has none.
fn contact_vcard_rules(d: &Value, e: &Value, role: &str, r: &mut Report) {
    let prefix = if role == "registrant" {
        "Registrant"
    } else {
        "Tech"
    };
    let fname = vcard_props(e, "fn");
    r.check(fname.len() == 1, || format!("{role}: fn missing"));
    let empty_fn = fname.first().is_some_and(|p| p[3] == "");
    r.check(
        empty_fn == redaction(d, &format!("{prefix} Name")).is_some(),
        || format!("{role}: empty fn and {prefix} Name redaction disagree"),
    );
    let voice = vcard_props(e, "tel")
        .iter()
        .any(|p| p[1]["type"] == "voice");
    r.check(
        voice != redaction(d, &format!("{prefix} Phone")).is_some(),
        || format!("{role}: voice tel and {prefix} Phone redaction disagree"),
    );
    let email = !vcard_props(e, "email").is_empty();
    r.check(
        email != redaction(d, &format!("{prefix} Email")).is_some(),
        || format!("{role}: email and {prefix} Email redaction disagree"),
    );
    if role == "registrant" {
        let org = !vcard_props(e, "org").is_empty();
        r.check(
            org != redaction(d, "Registrant Organization").is_some(),
            || "registrant: org and its redaction disagree".into(),
        );
        // RDP §9.1.4/§9.1.5: country (and the adr it lives in) always published.
        let adr = vcard_props(e, "adr");
        r.check(adr.first().is_some_and(|a| a[1]["cc"].is_string()), || {
            "registrant: adr with cc".into()
        });
    }
}

fn finish(what: &str, r: Report, failures: &mut Vec<String>) {
    failures.extend(r.0.into_iter().map(|v| format!("{what}: {v}")));
}

#[test]
fn every_demo_answer_follows_the_2024_profile() {
    let srv = Server::start(&[]);
    let origin = format!("http://{}", srv.addr);
    let regs = registrars();
    let mut failures = Vec::new();
    let mut checked = 0;

    for d in fixture_objects("domain") {
        let path = format!("/domain/{}", encode(d["name"].as_str().expect("name")));
        let resp = srv.get(&path);
        assert_eq!(resp.status, 200, "{path}");
        let mut r = Report::default();
        domain_rules(&resp.json(), &d, &format!("{origin}{path}"), &mut r);
        finish(&path, r, &mut failures);
        checked += 1;
    }
    for h in fixture_objects("host") {
        let path = format!("/nameserver/{}", encode(h["name"].as_str().expect("name")));
        let v = srv.get(&path).json();
        let mut r = Report::default();
        common(&v, &format!("{origin}{path}"), &mut r);
        r.check(v["objectClassName"] == "nameserver", || {
            "objectClassName".into()
        });
        r.check(v["handle"].as_str().is_some_and(is_roid), || {
            format!("handle {}", v["handle"])
        });
        r.check(v["ldhName"].is_string(), || "ldhName".into());
        let reg = &regs[&h["registrar"].to_string()];
        match v["entities"].as_array().and_then(|a| a.first()) {
            Some(e) => registrar_entity(e, reg, &mut r),
            None => r.0.push("no registrar entity".into()),
        }
        finish(&path, r, &mut failures);
        checked += 1;
    }
    for reg in regs.values() {
        let path = format!("/entity/{}", reg["ianaId"]);
        let v = srv.get(&path).json();
        let mut r = Report::default();
        common(&v, &format!("{origin}{path}"), &mut r);
        registrar_entity(&v, reg, &mut r);
        // RP §3.1 (2019 -60100): address with street, city and country.
        let adr = vcard_props(&v, "adr");
        r.check(
            adr.first().is_some_and(|a| {
                a[1]["cc"].is_string() && a[3][3].as_str().is_some_and(|c| !c.is_empty())
            }),
            || "registrar adr".into(),
        );
        finish(&path, r, &mut failures);
        checked += 1;
    }
    for c in fixture_objects("contact") {
        let path = format!("/entity/{}", c["roid"].as_str().expect("roid"));
        let v = srv.get(&path).json();
        let mut r = Report::default();
        common(&v, &format!("{origin}{path}"), &mut r);
        r.check(v.get("handle").is_none(), || {
            "contact ROID published".into()
        });
        finish(&path, r, &mut failures);
        checked += 1;
    }
    let mut r = Report::default();
    common(&srv.get("/help").json(), &format!("{origin}/help"), &mut r);
    finish("/help", r, &mut failures);

    assert!(checked >= 60, "only {checked} answers checked");
    assert!(
        failures.is_empty(),
        "{} violations:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Notice link values are the request URL as sent, for every spelling of the same query, and a
/// cached body never carries another client's URL.
#[test]
fn notice_links_carry_each_request_url_even_from_the_cache() {
    let srv = Server::start(&[]);
    let origin = format!("http://{}", srv.addr);
    // The first request fills the cache under the canonical key; the others are cache hits.
    let spellings = [
        "/domain/XN--CAF-DMA.EXAMPLE".to_string(),
        format!("/domain/{}", encode("café.example")),
        format!("/domain/{}", encode("CAFÉ.example.")),
        "/domain/xn--caf-dma.example.".to_string(),
        "/domain/xn--caf-dma.example".to_string(),
        // Lower-case percent-encoding is kept as sent, too.
        "/domain/caf%c3%a9.example".to_string(),
    ];
    for _round in 0..2 {
        for path in &spellings {
            let resp = srv.get(path);
            assert_eq!(resp.status, 200, "{path}");
            let mut v = resp.json();
            let want = format!("{origin}{path}");
            let links = request_url_links(&mut v);
            assert_eq!(
                links.len(),
                4,
                "{path}: 3 notice links and the related link"
            );
            for l in links {
                assert_eq!(l["value"], want.as_str(), "{path}");
            }
            // The self link stays canonical.
            assert_eq!(
                v["links"][0]["value"],
                format!("{origin}/domain/xn--caf-dma.example")
            );
            let body = String::from_utf8_lossy(&resp.body).to_string();
            assert!(
                !body.contains("rddsd-request-url"),
                "placeholder leaked: {body}"
            );
        }
    }
    // Entity, nameserver and help notices follow the same rule.
    for path in [
        "/entity/1001",
        "/nameserver/NS1.nic.example",
        "/help",
        "/entity/c101-example",
    ] {
        for _ in 0..2 {
            let mut v = srv.get(path).json();
            for l in request_url_links(&mut v) {
                assert_eq!(l["value"], format!("{origin}{path}"), "{path}");
            }
        }
    }
}

/// Whatever a client puts in its path or query lands inside a JSON string, escaped, and an
/// over-long query string is left out rather than echoed.
#[test]
fn a_hostile_request_url_cannot_inject_json() {
    let srv = Server::start(&[]);
    let origin = format!("http://{}", srv.addr);
    // hyper refuses a raw `"` in the request line; a backslash and braces pass and must be
    // escaped, and percent-encoded quotes stay encoded.
    let query = r"x=%22%7D%5D&y=\{}}\u0022";
    let resp = srv.get(&format!("/domain/nic.example?{query}"));
    assert_eq!(resp.status, 200);
    let mut v = resp.json();
    assert!(v.get("evil").is_none());
    let links = request_url_links(&mut v);
    assert_eq!(links.len(), 3);
    for l in links {
        assert_eq!(l["value"], format!("{origin}/domain/nic.example?{query}"));
    }
    let refused = srv.get(r#"/domain/nic.example?y="},{"evil":true}"#);
    assert_eq!(
        refused.status, 400,
        "hyper refuses a raw quote; nothing is echoed"
    );
    let long = "q=".to_string() + &"a".repeat(3000);
    let mut v = srv.get(&format!("/domain/nic.example?{long}")).json();
    for l in request_url_links(&mut v) {
        assert_eq!(l["value"], format!("{origin}/domain/nic.example"));
    }
}
