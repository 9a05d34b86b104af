//! WHOIS and RDAP publish exactly the same values for every object of the demo registry.
//!
//! Two comparisons per object:
//! - contact data is parsed back into sets of (role, field, value) that must be equal, so a
//!   value cannot move from one contact role to another;
//! - every public value anywhere in either answer (domain, registrar, abuse contact, contacts,
//!   DNSSEC, dates, statuses, nameservers, addresses) must appear in the other answer. The RDAP
//!   side walks the whole JSON and only skips protocol structure (links, notices, conformance,
//!   roles, vCard property names and parameters, redaction entries) and the members listed in
//!   [`rdap_values`] that Specification 4 has no line for.
//!
//! Redaction markers, empty values and withheld fields count as "not published" on both sides.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::harness::{encode, fixture_objects, Server};

type Facts = BTreeSet<(String, String, String)>;

fn add(out: &mut Facts, role: &str, field: &str, value: &str) {
    if !value.is_empty() {
        out.insert((role.to_string(), field.to_string(), value.to_string()));
    }
}

fn rdap_facts(d: &Value) -> Facts {
    let mut out = Facts::new();
    if let Some(h) = d["handle"].as_str() {
        add(&mut out, "domain", "handle", h);
    }
    for ns in d["nameservers"].as_array().into_iter().flatten() {
        add(
            &mut out,
            "domain",
            "nameserver",
            ns["ldhName"].as_str().unwrap_or_default(),
        );
    }
    for e in d["entities"].as_array().into_iter().flatten() {
        let role = match e["roles"][0].as_str() {
            Some("registrant") => "registrant",
            Some("technical") => "tech",
            _ => continue,
        };
        if let Some(h) = e["handle"].as_str() {
            add(&mut out, role, "handle", h);
        }
        for p in e["vcardArray"][1].as_array().into_iter().flatten() {
            let text = p[3].as_str().unwrap_or_default();
            match p[0].as_str().unwrap_or_default() {
                "fn" => add(&mut out, role, "name", text),
                "org" => add(&mut out, role, "org", text),
                "email" => add(&mut out, role, "email", text),
                "tel" => {
                    let kind = if p[1]["type"] == "fax" {
                        "fax"
                    } else {
                        "voice"
                    };
                    let uri = text.strip_prefix("tel:").unwrap_or(text);
                    let (num, ext) = uri.split_once(";ext=").unwrap_or((uri, ""));
                    add(&mut out, role, kind, num);
                    add(&mut out, role, &format!("{kind}_ext"), ext);
                }
                "adr" => {
                    add(
                        &mut out,
                        role,
                        "cc",
                        p[1]["cc"].as_str().unwrap_or_default(),
                    );
                    let a = &p[3];
                    match &a[2] {
                        Value::Array(lines) => lines.iter().for_each(|l| {
                            add(&mut out, role, "street", l.as_str().unwrap_or_default())
                        }),
                        v => add(&mut out, role, "street", v.as_str().unwrap_or_default()),
                    }
                    add(&mut out, role, "city", a[3].as_str().unwrap_or_default());
                    add(&mut out, role, "sp", a[4].as_str().unwrap_or_default());
                    add(&mut out, role, "pc", a[5].as_str().unwrap_or_default());
                }
                _ => {}
            }
        }
    }
    out
}

fn whois_facts(text: &str) -> Facts {
    let mut out = Facts::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(": ") else {
            continue;
        };
        if value == "REDACTED FOR PRIVACY" || value.starts_with("Please query the RDDS service") {
            continue;
        }
        let (role, field) = match key {
            "Registry Domain ID" => ("domain", "handle"),
            "Name Server" => ("domain", "nameserver"),
            "Registry Registrant ID" => ("registrant", "handle"),
            "Registry Tech ID" => ("tech", "handle"),
            _ => {
                let Some((prefix, rest)) = key.split_once(' ') else {
                    continue;
                };
                let role = match prefix {
                    "Registrant" => "registrant",
                    "Tech" => "tech",
                    _ => continue,
                };
                let field = match rest {
                    "Name" => "name",
                    "Organization" => "org",
                    "Street" => "street",
                    "City" => "city",
                    "State/Province" => "sp",
                    "Postal Code" => "pc",
                    "Country" => "cc",
                    "Phone" => "voice",
                    "Phone Ext" => "voice_ext",
                    "Fax" => "fax",
                    "Fax Ext" => "fax_ext",
                    "Email" => "email",
                    other => panic!("unexpected WHOIS label {prefix} {other}"),
                };
                (role, field)
            }
        };
        add(&mut out, role, field, value);
    }
    out
}

type Values = BTreeSet<String>;

/// The EPP status code for an RDAP status value (RFC 8056 §2): `client hold` -> `clientHold`,
/// `active` -> `ok`.
fn epp_status(rdap: &str) -> String {
    if rdap == "active" {
        return "ok".into();
    }
    let mut out = String::new();
    for (i, word) in rdap.split(' ').enumerate() {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            if i == 0 {
                out.push(first);
            } else {
                out.extend(first.to_uppercase());
            }
            out.extend(chars);
        }
    }
    out
}

/// What an RDAP answer to a lookup of `kind` publishes, as the text port 43 would print it.
///
/// Members Specification 4 has no line for, skipped by name here and nowhere else:
/// - inside a domain answer, the nested nameserver objects' handles, statuses, U-labels and
///   addresses (port 43 prints A-label names only; the nameserver lookups are compared below);
/// - in a nameserver answer, the host's ROID, statuses and registration/change events, and
///   the registrar entity's IANA ID and abuse contact (Spec 4's nameserver record carries
///   registrar name, WHOIS server and URL only);
/// - the abuse entity's fixed `fn` label "Abuse Contact".
fn rdap_values(v: &Value, kind: &str) -> Values {
    let mut out = Values::new();
    walk(v, kind, &[], &mut out);
    out
}

fn put(out: &mut Values, s: &str) {
    if !s.is_empty() {
        out.insert(s.to_string());
    }
}

fn walk(v: &Value, kind: &str, path: &[&str], out: &mut Values) {
    let last = path.last().copied().unwrap_or("");
    let in_registrar_of_ns = kind == "nameserver" && path.first() == Some(&"entities");
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let skip = matches!(
                    k.as_str(),
                    "rdapConformance"
                        | "notices"
                        | "links"
                        | "redacted"
                        | "objectClassName"
                        | "roles"
                        | "eventAction"
                        | "lang"
                        | "type"
                ) || (kind == "domain" && last == "nameservers" && k != "ldhName")
                    || (kind == "nameserver"
                        && path.is_empty()
                        && matches!(k.as_str(), "handle" | "status"))
                    || (in_registrar_of_ns
                        && matches!(k.as_str(), "handle" | "publicIds" | "entities"));
                if skip {
                    continue;
                }
                if k == "events" {
                    for e in x.as_array().into_iter().flatten() {
                        let action = e["eventAction"].as_str().unwrap_or_default();
                        if kind == "nameserver" && action != "last update of RDAP database" {
                            continue;
                        }
                        put(out, e["eventDate"].as_str().unwrap_or_default());
                    }
                    continue;
                }
                if k == "status" {
                    for st in x.as_array().into_iter().flatten().filter_map(Value::as_str) {
                        put(out, &epp_status(st));
                    }
                    continue;
                }
                if k == "vcardArray" {
                    vcard_values(x, last == "abuse", &mut |s| put(out, s));
                    continue;
                }
                if k == "secureDNS" {
                    let signed = x["delegationSigned"] == true;
                    put(
                        out,
                        if signed {
                            "signedDelegation"
                        } else {
                            "unsigned"
                        },
                    );
                    for ds in x["dsData"].as_array().into_iter().flatten() {
                        put(
                            out,
                            &format!(
                                "{} {} {} {}",
                                ds["keyTag"],
                                ds["algorithm"],
                                ds["digestType"],
                                ds["digest"].as_str().unwrap_or_default()
                            ),
                        );
                    }
                    continue;
                }
                // Entities are walked with their role as the path, so rules can name them.
                if k == "entities" {
                    for e in x.as_array().into_iter().flatten() {
                        let role = e["roles"][0].as_str().unwrap_or_default();
                        let mut p = path.to_vec();
                        p.push("entities");
                        p.push(role);
                        walk(e, kind, &p, out);
                    }
                    continue;
                }
                let mut p = path.to_vec();
                p.push(k);
                walk(x, kind, &p, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| walk(x, kind, path, out)),
        Value::String(s) => put(out, s),
        Value::Number(n) => put(out, &n.to_string()),
        Value::Bool(_) | Value::Null => {}
    }
}

/// Values of a jCard: property values and the `cc` parameter; `tel:` URIs split into number
/// and extension as port 43 prints them.
fn vcard_values(vcard: &Value, abuse: bool, add: &mut impl FnMut(&str)) {
    for p in vcard[1].as_array().into_iter().flatten() {
        let name = p[0].as_str().unwrap_or_default();
        match name {
            "version" => {}
            "fn" if abuse => {}
            "tel" => {
                let uri = p[3].as_str().unwrap_or_default();
                let uri = uri.strip_prefix("tel:").unwrap_or(uri);
                let (num, ext) = uri.split_once(";ext=").unwrap_or((uri, ""));
                add(num);
                add(ext);
            }
            _ => {
                if let Some(cc) = p[1]["cc"].as_str() {
                    add(cc);
                }
                let mut leaves = Vec::new();
                collect_strings(&p[3], &mut leaves);
                leaves.iter().for_each(|l| add(l));
            }
        }
    }
}

fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

/// Every value a WHOIS answer publishes: the values of its `Key: value` lines, minus the
/// boilerplate (terms, complaint form) and the redaction markers, plus the database time.
fn whois_values(text: &str) -> Values {
    let mut out = Values::new();
    for line in text.lines() {
        if let Some(t) = line
            .strip_prefix(">>> Last update of WHOIS database: ")
            .and_then(|r| r.strip_suffix(" <<<"))
        {
            out.insert(t.to_string());
            continue;
        }
        let Some((key, value)) = line.split_once(": ") else {
            continue;
        };
        if value.is_empty()
            || value == "REDACTED FOR PRIVACY"
            || value.starts_with("Please query the RDDS service")
            || matches!(
                key,
                "Terms of Use" | "URL of the ICANN Whois Inaccuracy Complaint Form"
            )
        {
            continue;
        }
        let value = match key {
            // `<code> https://icann.org/epp#<code>`: the code is the value.
            "Domain Status" => value.split(' ').next().unwrap_or(value),
            _ => value,
        };
        out.insert(value.to_string());
    }
    out
}

/// Equal value sets, with a message naming what each side lacks.
fn assert_same_values(what: &str, rdap: &Values, whois: &Values) {
    let only_rdap: Vec<_> = rdap.difference(whois).collect();
    let only_whois: Vec<_> = whois.difference(rdap).collect();
    assert!(
        only_rdap.is_empty() && only_whois.is_empty(),
        "{what}: only in RDAP {only_rdap:?}; only in WHOIS {only_whois:?}"
    );
}

#[test]
fn every_public_value_appears_in_both_protocols() {
    let srv = Server::start(&[]);
    let mut compared = 0;
    for d in fixture_objects("domain") {
        let name = d["name"].as_str().expect("name");
        let rdap = srv.get(&format!("/domain/{}", encode(name))).json();
        let whois = srv.whois(name);
        assert_same_values(name, &rdap_values(&rdap, "domain"), &whois_values(&whois));
        compared += 1;
    }
    for h in fixture_objects("host") {
        let name = h["name"].as_str().expect("name");
        let rdap = srv.get(&format!("/nameserver/{}", encode(name))).json();
        let whois = srv.whois(&format!("nameserver {name}"));
        assert_same_values(
            name,
            &rdap_values(&rdap, "nameserver"),
            &whois_values(&whois),
        );
        compared += 1;
    }
    for reg in fixture_objects("registrar") {
        let id = reg["ianaId"].as_u64().expect("id");
        let rdap = srv.get(&format!("/entity/{id}")).json();
        let whois = srv.whois(&format!("registrar {id}"));
        let values = rdap_values(&rdap, "registrar");
        assert_same_values(&format!("registrar {id}"), &values, &whois_values(&whois));
        // The values the issue named: URL, WHOIS server and the abuse phone's extension.
        for key in ["url", "whoisServer"] {
            if let Some(v) = reg[key].as_str() {
                assert!(values.contains(v), "registrar {id}: {key}");
            }
        }
        if let Some(ext) = reg["abusePhone"]["ext"].as_str() {
            assert!(whois.contains(&format!("Registrar Abuse Contact Phone Ext: {ext}\r\n")));
        }
        compared += 1;
    }
    assert_eq!(
        compared,
        fixture_objects("domain").len()
            + fixture_objects("host").len()
            + fixture_objects("registrar").len(),
        "every demo domain, host and registrar"
    );
}

#[test]
fn whois_and_rdap_publish_the_same_fields_for_every_object() {
    let srv = Server::start(&[]);
    let mut personal_facts = 0;
    for d in fixture_objects("domain") {
        let name = d["name"].as_str().expect("name");
        let rdap = rdap_facts(&srv.get(&format!("/domain/{}", encode(name))).json());
        let whois = whois_facts(&srv.whois(name));
        assert_eq!(
            rdap, whois,
            "{name}: RDAP (left) and WHOIS (right) disagree"
        );
        personal_facts += rdap
            .iter()
            .filter(|(r, f, _)| r != "domain" && f != "handle" && f != "cc" && f != "sp")
            .count();
    }
    assert!(
        personal_facts > 10,
        "consented fields must show up on both sides ({personal_facts})"
    );

    for h in fixture_objects("host") {
        let name = h["name"].as_str().expect("name");
        let rdap = srv.get(&format!("/nameserver/{}", encode(name))).json();
        let whois = srv.whois(&format!("nameserver {name}"));
        let mut r: BTreeSet<String> =
            BTreeSet::from([rdap["ldhName"].as_str().unwrap_or_default().to_string()]);
        for fam in ["v4", "v6"] {
            r.extend(
                rdap["ipAddresses"][fam]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a.as_str().map(String::from)),
            );
        }
        let w: BTreeSet<String> = whois
            .lines()
            .filter_map(|l| {
                l.strip_prefix("Server Name: ")
                    .or_else(|| l.strip_prefix("IP Address: "))
            })
            .map(String::from)
            .collect();
        assert_eq!(r, w, "{name}");
    }

    for reg in fixture_objects("registrar") {
        let id = reg["ianaId"].as_u64().expect("id");
        let rdap = srv.get(&format!("/entity/{id}")).json();
        let whois = srv.whois(&format!("registrar {id}"));
        let fname = rdap["vcardArray"][1]
            .as_array()
            .and_then(|p| p.iter().find(|x| x[0] == "fn"))
            .map(|x| x[3].clone());
        assert_eq!(
            fname.as_ref().and_then(Value::as_str),
            whois
                .lines()
                .next()
                .and_then(|l| l.strip_prefix("Registrar Name: ")),
            "registrar {id}"
        );
        assert!(whois.contains(&format!("Registrar IANA ID: {id}\r\n")));
    }
}
