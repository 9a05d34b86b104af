//! Issue 23: one bad record no longer keeps a registry out of service. A value that can be
//! made safe is served with U+FFFD in both protocols and reported without its value; a set
//! whose share of records left out passes `[data] max_bad_percent` is still refused whole.

use crate::data::{copy_fixtures, serve_must_fail};
use crate::harness::{fixture_objects, rddsd, Server};

const EVIL_CONTACT: &str = r#"{"kind":"contact","roid":"C990-EXAMPLE","name":"Eve \u202Eliam\u2028Registrant Email: forged@evil.example","street":["1 Bidi\u0007 Road\u2028Admin Email: forged@evil.example"],"city":"Testville","cc":"DE","email":"eve@mail.example","personType":"natural","consent":["name","street","city"]}"#;
const EVIL_DOMAIN: &str = r#"{"kind":"domain","roid":"D990-EXAMPLE","name":"bidi-contact.example","statuses":["ok"],"created":"2020-01-01T00:00:00Z","expires":"2030-01-01T00:00:00Z","registrar":1001,"registrant":"C990-EXAMPLE"}"#;

fn forbidden(text: &str) -> bool {
    text.chars()
        .any(|c| matches!(c, '\u{202E}' | '\u{2028}' | '\u{2029}' | '\u{0007}'))
}

#[test]
fn a_contact_with_bidi_and_line_separators_is_served_made_safe() {
    let dir = tempfile::tempdir().expect("tmp");
    copy_fixtures(dir.path());
    let file = dir.path().join("zz-extra.jsonl");
    std::fs::write(&file, format!("{EVIL_CONTACT}\n{EVIL_DOMAIN}\n")).expect("write");
    let srv = Server::with_config(
        &format!("[data]\ndir = {:?}\n", dir.path().display().to_string()),
        &[],
    );
    // Every domain is served.
    for d in fixture_objects("domain") {
        let name = d["name"].as_str().expect("name");
        let r = srv.get(&format!("/domain/{}", crate::harness::encode(name)));
        assert_eq!(r.status, 200, "{name}");
    }
    // The affected domain: U+FFFD where the forbidden characters were, in both protocols.
    let r = srv.get("/domain/bidi-contact.example");
    assert_eq!(r.status, 200);
    let body = String::from_utf8_lossy(&r.body).to_string();
    assert!(!forbidden(&body), "raw forbidden character in RDAP: {body}");
    let json = r.json().to_string();
    assert!(json.contains('\u{FFFD}'), "{json}");
    let whois = srv.whois("bidi-contact.example");
    assert!(
        !forbidden(&whois),
        "raw forbidden character on port 43: {whois}"
    );
    assert!(whois.contains('\u{FFFD}'), "{whois}");
    assert!(
        !whois
            .lines()
            .any(|l| l.starts_with("Registrant Email: forged")),
        "{whois}"
    );
    // The log names file, line, record and field, never the value.
    assert!(srv.wait_log("made safe"), "{}", srv.log());
    let log = srv.log();
    let f = file.display().to_string();
    assert!(log.contains(&format!("{f}:1: field `name`")), "{log}");
    assert!(log.contains(&format!("{f}:1: field `street[0]`")), "{log}");
    assert!(log.contains("C990-EXAMPLE"), "the record is named: {log}");
    for value in ["forged", "Bidi", "liam"] {
        assert!(
            !log.contains(value),
            "{value:?} leaked into the log:\n{log}"
        );
    }
    // The metrics count it.
    assert_eq!(
        srv.metric(r#"rddsd_records_made_safe{kind="contact"}"#),
        Some(1.0)
    );
    // `rddsd check` still insists on clean data.
    let (ok, text) = rddsd(&["check", "--data", &dir.path().display().to_string()]);
    assert!(!ok, "{text}");
    assert!(text.contains(&format!("{f}:1: field `name`")), "{text}");
    assert!(!text.contains("forged"), "{text}");
}

#[test]
fn a_demo_size_set_with_one_broken_line_is_refused_whole() {
    let dir = tempfile::tempdir().expect("tmp");
    copy_fixtures(dir.path());
    std::fs::write(
        dir.path().join("zz-extra.jsonl"),
        "{\"kind\":\"domain\", \n",
    )
    .expect("write");
    let err = serve_must_fail(dir.path());
    assert!(err.contains("zz-extra.jsonl:1"), "{err}");
    let (ok, _) = rddsd(&["check", "--data", &dir.path().display().to_string()]);
    assert!(!ok);
}

/// `[data] max_bad_percent` is read again on SIGHUP with the data: a set with one broken line
/// (1 bad record in 71) is served at 2 %, a reload at 1 % is refused (the old data keeps
/// serving), and one at 5 % is accepted again.
#[test]
fn the_bad_record_threshold_is_read_again_on_reload() {
    let dir = tempfile::tempdir().expect("tmp");
    copy_fixtures(dir.path());
    std::fs::write(
        dir.path().join("zz-extra.jsonl"),
        "{\"kind\":\"domain\", \n",
    )
    .expect("write");
    let data = dir.path().display().to_string();
    let config = |percent: &str| format!("[data]\ndir = {data:?}\nmax_bad_percent = {percent}\n");
    let srv = Server::with_config(&config("2"), &[]);
    assert_eq!(srv.get("/domain/nic.example").status, 200, "served at 2 %");
    std::fs::write(
        &srv.config,
        format!("{}\n[limits]\nenabled = false\n", config("1")),
    )
    .expect("rewrite config");
    srv.signal("HUP");
    assert!(srv.wait_log("reload refused"), "{}", srv.log());
    assert_eq!(
        srv.get("/domain/nic.example").status,
        200,
        "the old data serves"
    );
    std::fs::write(
        &srv.config,
        format!("{}\n[limits]\nenabled = false\n", config("5")),
    )
    .expect("rewrite config");
    srv.signal("HUP");
    assert!(srv.wait_log("reloaded"), "{}", srv.log());
}
