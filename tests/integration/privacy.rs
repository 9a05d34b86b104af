//! Adversarial privacy test: every non-public personal value of every fixture contact is
//! searched for in every public answer of both protocols (RDAP bodies and headers, WHOIS text,
//! successes and errors) and in the server's log. A value is non-public when the contact did
//! not consent to publish its field.

use serde_json::Value;

use crate::harness::{encode, fixture_objects, Server};

/// Personal values that no public output may contain.
pub fn secrets() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for c in fixture_objects("contact") {
        let roid = c["roid"].as_str().expect("roid").to_string();
        let consent: Vec<&str> = c["consent"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut add = |field: &str, v: &Value| {
            if consent.contains(&field) {
                return;
            }
            if let Some(s) = v.as_str() {
                out.push((format!("{roid}.{field}"), s.to_string()));
            }
        };
        add("name", &c["name"]);
        add("org", &c["org"]);
        for line in c["street"].as_array().into_iter().flatten() {
            add("street", line);
        }
        add("city", &c["city"]);
        add("pc", &c["pc"]);
        add("email", &c["email"]);
        add("voice", &c["voice"]["number"]);
        add("voice", &c["voice"]["ext"]);
        add("fax", &c["fax"]["number"]);
        add("fax", &c["fax"]["ext"]);
    }
    out
}

/// Every form in which `value` could appear in output, lower-cased, each with whether to look
/// for it in the server log too.
///
/// A short all-digit value (a postal code such as "2650", a phone extension such as "12")
/// also occurs inside counts, dates and timings, so it is searched in the shapes a leak would
/// take: a JSON string, a WHOIS field value, a tel URI parameter. Phone numbers are also
/// searched as bare digits and in the tel URI form RDAP uses.
fn forms(value: &str) -> Vec<Form> {
    let v = value.to_lowercase();
    let short_number = v.len() < 6 && v.bytes().all(|b| b.is_ascii_digit());
    if short_number {
        return vec![
            // JSON string and tel URI parameter (RDAP; a log would quote it too).
            Form::everywhere(format!("\"{v}\"")),
            Form::everywhere(format!("ext={v}")),
            // A WHOIS field value ends its line; RDAP's HTTP headers (content-length) would
            // match this shape harmlessly, so it is searched in port 43 answers only.
            Form::whois(format!(": {v}\r")),
            Form::whois(format!(": {v}\n")),
            Form::whois(format!("ext. {v}")),
        ];
    }
    let mut out = vec![Form::everywhere(v.clone())];
    if let Some(number) = v.strip_prefix('+') {
        // +CC.NUMBER: RDAP writes tel:+CC.NUMBER; a renderer might drop the dot.
        let digits: String = number.chars().filter(char::is_ascii_digit).collect();
        out.push(Form::answers(digits));
        out.push(Form::everywhere(format!("tel:{v}")));
    }
    if let Ok(json) = serde_json::to_string(value) {
        // The JSON-escaped form (quotes, backslashes, control characters) without its quotes.
        let inner = json.trim_matches('"').to_lowercase();
        if inner != v {
            out.push(Form::everywhere(inner));
        }
    }
    out
}

/// One searched form of a personal value and where to search it.
struct Form {
    text: String,
    places: &'static [&'static str],
}

impl Form {
    fn everywhere(text: String) -> Self {
        Self {
            text,
            places: &["RDAP answers", "port 43 answers", "the log"],
        }
    }

    fn answers(text: String) -> Self {
        Self {
            text,
            places: &["RDAP answers", "port 43 answers"],
        }
    }

    fn whois(text: String) -> Self {
        Self {
            text,
            places: &["port 43 answers"],
        }
    }

    fn applies_to(&self, place: &str) -> bool {
        self.places.contains(&place)
    }
}

/// Every port 43 query a client could ask about the demo registry, plus queries that carry
/// personal values (their answers must not echo them).
pub fn whois_queries() -> Vec<Vec<u8>> {
    let mut qs: Vec<String> = vec![
        "help".into(),
        "nope.example".into(),
        "".into(),
        "domain".into(),
    ];
    for d in fixture_objects("domain") {
        let name = d["name"].as_str().expect("name");
        qs.push(name.to_string());
        qs.push(format!("domain {}", name.to_uppercase()));
    }
    for h in fixture_objects("host") {
        qs.push(format!("nameserver {}", h["name"].as_str().expect("name")));
        for a in h["addresses"].as_array().into_iter().flatten() {
            qs.push(format!("nameserver {}", a.as_str().expect("ip")));
        }
    }
    for r in fixture_objects("registrar") {
        qs.push(format!("registrar {}", r["ianaId"]));
        qs.push(format!("registrar {}", r["name"].as_str().expect("name")));
    }
    for c in fixture_objects("contact") {
        for field in ["name", "email", "city", "roid"] {
            if let Some(v) = c[field].as_str() {
                qs.push(v.to_string());
                qs.push(format!("registrar {v}"));
            }
        }
    }
    let mut raw: Vec<Vec<u8>> = qs
        .into_iter()
        .map(|q| format!("{q}\r\n").into_bytes())
        .collect();
    raw.push(b"Aurelie Vantongeren \xff\r\n".to_vec());
    raw
}

pub fn public_paths() -> Vec<String> {
    let mut paths = vec![
        "/help".to_string(),
        "/".to_string(),
        "/domain/nope.example".to_string(),
        "/ip/192.0.2.1".to_string(),
        // The authority route without a credential answers like any refusal.
        "/authority/domain/caf%C3%A9.example".to_string(),
        "/authority/entity/C101-EXAMPLE?purpose=court-order&legalBasis=x&caseReference=y"
            .to_string(),
    ];
    for d in fixture_objects("domain") {
        let name = d["name"].as_str().expect("name");
        paths.push(format!("/domain/{}", encode(name)));
        // An uppercase variant takes another route through the cache.
        paths.push(format!("/domain/{}", encode(&name.to_uppercase())));
    }
    for h in fixture_objects("host") {
        paths.push(format!(
            "/nameserver/{}",
            encode(h["name"].as_str().expect("name"))
        ));
    }
    for r in fixture_objects("registrar") {
        paths.push(format!("/entity/{}", r["ianaId"]));
    }
    for c in fixture_objects("contact") {
        let roid = c["roid"].as_str().expect("roid");
        paths.push(format!("/entity/{roid}"));
        // Queries that name personal data get errors; the errors must not echo it back.
        for field in ["name", "email", "city"] {
            if let Some(v) = c[field].as_str() {
                paths.push(format!("/entity/{}", encode(v)));
                paths.push(format!("/domain/{}", encode(v)));
            }
        }
    }
    paths
}

#[test]
fn no_personal_value_leaks_into_public_rdap_output_or_logs() {
    leak_check("text");
}

#[test]
fn no_personal_value_leaks_with_json_logs() {
    leak_check("json");
}

/// Every public query of both protocols, then every withheld value searched in the answers
/// and in the server log written in `log_format`.
fn leak_check(log_format: &str) {
    let secrets = secrets();
    assert!(
        secrets.len() > 100,
        "the fixtures must hold enough personal data to test"
    );
    // With the authority route enabled: public answers must be unchanged by it.
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = format!(
        "[authority]\ncredentials = {:?}\nlog = {:?}\n",
        dir.path().join("credentials.jsonl"),
        dir.path().join("disclosures.jsonl")
    );
    let srv = Server::with_config(&cfg, &["--log-format", log_format]);
    let mut corpus = String::new();
    let paths = public_paths();
    for path in &paths {
        for method in ["GET", "HEAD"] {
            let r = srv.request(method, path, &[("Accept", "application/rdap+json")]);
            corpus.push_str(&String::from_utf8_lossy(&r.raw));
            corpus.push('\n');
        }
    }
    let queries = whois_queries();
    let mut whois = String::new();
    for q in &queries {
        whois.push_str(&String::from_utf8_lossy(&srv.whois_raw(q)));
        whois.push('\n');
    }
    // The log of all of the above: one access line per request.
    let expected = paths.len() * 2 + queries.len();
    assert!(
        srv.wait_log_count("rddsd::access", expected),
        "every request was logged"
    );
    let log = srv.log();
    let rdap_lower = corpus.to_lowercase();
    let whois_lower = whois.to_lowercase();
    let log_lower = log.to_lowercase();
    let mut leaks = Vec::new();
    for (what, value) in &secrets {
        for form in forms(value) {
            for (name, text) in [
                ("RDAP answers", &rdap_lower),
                ("port 43 answers", &whois_lower),
                ("the log", &log_lower),
            ] {
                if form.applies_to(name) && text.contains(&form.text) {
                    leaks.push(format!("{what} = {value:?} in {name} as {:?}", form.text));
                }
            }
        }
    }
    corpus.push_str(&whois);
    assert!(
        leaks.is_empty(),
        "personal data leaked:\n{}",
        leaks.join("\n")
    );
    // The corpus is real: it holds public data and every query was answered.
    assert!(corpus.contains("Lantern Names Ltd") && corpus.contains("QC"));
    assert!(
        corpus.contains("Domain Name: nic.example")
            && corpus.contains("Server Name: ns1.nic.example")
    );
    assert!(log.matches("rddsd::access").count() >= paths.len() * 2 + queries.len());
}

#[test]
fn consented_values_are_published() {
    // The other half of the test above: consent must actually publish, or the privacy test
    // would pass on a server that publishes nothing.
    let srv = Server::start(&[]);
    let body = String::from_utf8_lossy(&srv.get("/domain/tlapanco.example").body).to_string();
    assert!(
        body.contains("Esperanza Tlapanco Ruiz"),
        "C105 consented to name"
    );
    assert!(
        body.contains("esperanza.tr@mailbox-five.example.org"),
        "C105 consented to email"
    );
    assert!(
        !body.contains("Calle Real de Guadalupe 61"),
        "but not to street"
    );
}
