//! Every response kind validates against `schema/rdap-response.schema.json`; fixtures and the
//! default policy validate against their schemas.

use serde_json::Value;

use crate::harness::{encode, fixture_objects, Server};

fn schema_file(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schema")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("read schema"))
        .expect("schema is JSON")
}

/// A validator for one response kind of the RDAP response schema (`$defs/<kind>`).
pub fn validator(kind: &str) -> jsonschema::Validator {
    let mut schema = schema_file("rdap-response.schema.json");
    schema["$ref"] = Value::from(format!("#/$defs/{kind}"));
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles")
}

/// Fail with every schema error of `doc`.
pub fn assert_valid(v: &jsonschema::Validator, doc: &Value, what: &str) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}:\n{}", errors.join("\n"));
}

#[test]
fn every_response_kind_validates() {
    let srv = Server::start(&[]);
    let domain = validator("domainResponse");
    for d in fixture_objects("domain") {
        let path = format!("/domain/{}", encode(d["name"].as_str().expect("name")));
        assert_valid(&domain, &srv.get(&path).json(), &path);
    }
    let ns = validator("nameserverResponse");
    for h in fixture_objects("host") {
        let path = format!("/nameserver/{}", encode(h["name"].as_str().expect("name")));
        assert_valid(&ns, &srv.get(&path).json(), &path);
    }
    let entity = validator("entityResponse");
    for r in fixture_objects("registrar") {
        let path = format!("/entity/{}", r["ianaId"]);
        assert_valid(&entity, &srv.get(&path).json(), &path);
    }
    for c in fixture_objects("contact") {
        let path = format!("/entity/{}", c["roid"].as_str().expect("roid"));
        assert_valid(&entity, &srv.get(&path).json(), &path);
    }
    assert_valid(
        &validator("helpResponse"),
        &srv.get("/help").json(),
        "/help",
    );
    let error = validator("errorResponse");
    for path in ["/domain/nope.example", "/domain/%FF", "/ip/1.2.3.4", "/x"] {
        assert_valid(&error, &srv.get(path).json(), path);
    }
    // The schema is not vacuous: a domain answer is not a valid error, and vice versa.
    assert!(!error.is_valid(&srv.get("/domain/nic.example").json()));
    assert!(!domain.is_valid(&srv.get("/domain/nope.example").json()));
}

#[test]
fn fixtures_validate_against_the_data_schema() {
    let schema = schema_file("registry-data.schema.json");
    let v = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("compiles");
    for kind in ["registry", "registrar", "contact", "host", "domain"] {
        for obj in fixture_objects(kind) {
            assert_valid(&v, &obj, &obj.to_string());
        }
    }
    let bad = serde_json::json!({"kind": "contact", "roid": "C1-X", "name": "n", "city": "c", "cc": "XX1", "email": "e@x.example", "personType": "natural"});
    assert!(!v.is_valid(&bad));
    let contact = |street: &str| serde_json::json!({"kind": "contact", "roid": "C1-X", "name": "n", "street": [street], "city": "c", "cc": "XK", "email": "e@x.example", "personType": "natural"});
    assert!(v.is_valid(&contact("1 Main St")));
    for forged in ["a\u{2028}b", "a\u{85}b", "a\u{202E}b", "a\u{B}b"] {
        assert!(!v.is_valid(&contact(forged)), "{forged:?}");
    }
    let domain = |digest_type: u8, len: usize, created: &str| serde_json::json!({"kind": "domain", "roid": "D1-X", "name": "a.example", "statuses": ["ok", "addPeriod"], "created": created, "expires": "2030-01-01T00:00:00Z", "registrar": 1, "ds": [{"keyTag": 1, "algorithm": 13, "digestType": digest_type, "digest": "A".repeat(len)}]});
    for (t, n) in [(1, 40), (2, 64), (3, 64), (4, 96), (5, 64), (6, 64)] {
        assert!(
            v.is_valid(&domain(t, n, "2020-01-01T00:00:00Z")),
            "type {t}"
        );
    }
    assert!(!v.is_valid(&domain(7, 64, "2020-01-01T00:00:00Z")));
    assert!(!v.is_valid(&domain(4, 64, "2020-01-01T00:00:00Z")));
    assert!(!v.is_valid(&domain(2, 64, "0000-01-01T00:00:00Z")));
}

#[test]
fn default_policy_validates_against_the_policy_schema() {
    let schema = schema_file("policy.schema.json");
    let v = jsonschema::validator_for(&schema).expect("compiles");
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/policy/default.toml"),
    )
    .expect("read");
    let toml_value: toml::Value = toml::from_str(&text).expect("toml");
    let json = serde_json::to_value(toml_value).expect("to json");
    assert_valid(&v, &json, "default policy");
    let loose = serde_json::json!({"version": 1, "public": {"registrant": {"name": "publish"}}});
    assert!(!v.is_valid(&loose));
}
