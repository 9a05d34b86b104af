//! WHOIS and RDAP publish exactly the same fields for every object of the demo registry.
//!
//! Both answers are parsed back into sets of (role, field, value) for what is actually shown,
//! and the sets must be equal. Redaction markers, empty values and withheld fields count as
//! "not published" on both sides.

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
                .and_then(|l| l.strip_prefix("Registrar: ")),
            "registrar {id}"
        );
        assert!(whois.contains(&format!("Registrar IANA ID: {id}\r\n")));
    }
}
