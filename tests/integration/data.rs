//! `rddsd check`: validation without serving, with file, line and field in every message.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{bin, fixtures, Server};

/// Every `serve` a test starts binds port 0 on every listener, so tests never collide with each
/// other or with a real server.
const PORT_ZERO: [&str; 6] = [
    "--rdap-listen",
    "127.0.0.1:0",
    "--whois-listen",
    "127.0.0.1:0",
    "--admin-listen",
    "127.0.0.1:0",
];

/// A contact holding personal values that must never reach a log: a phone number written the
/// way people write it (not EPP) and a street given as a string instead of a list.
const PERSONAL_PHONE: &str = "+81 3 1234 5678";
const PERSONAL_STREET: &str = "7-2 Kioicho Chiyoda";
fn personal_lines() -> String {
    format!(
        "{}\n{}\n",
        format_args!(
            r#"{{"kind":"contact","roid":"C901-EXAMPLE","name":"Haruka Tanabe","city":"Tokyo","cc":"JP","email":"h.tanabe@mail.example","personType":"natural","voice":{{"number":"{PERSONAL_PHONE}"}}}}"#
        ),
        format_args!(
            r#"{{"kind":"contact","roid":"C902-EXAMPLE","name":"Haruka Tanabe","street":"{PERSONAL_STREET}","city":"Tokyo","cc":"JP","email":"h.tanabe@mail.example","personType":"natural"}}"#
        ),
    )
}

/// Assert that `text` names both bad fields with file and line but holds none of their values.
fn assert_located_without_values(text: &str, file: &std::path::Path) {
    let f = file.display();
    assert!(text.contains(&format!("{f}:1: field `voice`")), "{text}");
    assert!(text.contains(&format!("{f}:2: field `street`")), "{text}");
    for value in [PERSONAL_PHONE, "1234 5678", PERSONAL_STREET, "Kioicho"] {
        assert!(!text.contains(value), "{value:?} leaked into:\n{text}");
    }
}

pub(crate) fn copy_fixtures(dir: &std::path::Path) {
    for e in std::fs::read_dir(fixtures().join("registry")).expect("fixtures") {
        let p = e.expect("entry").path();
        std::fs::copy(&p, dir.join(p.file_name().expect("name"))).expect("copy");
    }
}

fn check(dir: &std::path::Path) -> (bool, String) {
    let out = Command::new(bin())
        .args(["check", "--data"])
        .arg(dir)
        .output()
        .expect("run check");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn the_demo_registry_checks_clean() {
    let out = Command::new(bin()).arg("check").output().expect("run");
    assert!(out.status.success());
    let dir = tempfile::tempdir().expect("tmp");
    copy_fixtures(dir.path());
    let (ok, text) = check(dir.path());
    assert!(ok, "{text}");
    assert!(text.contains("34 domains"), "{text}");
}

/// Each bad line is appended to a copy of the fixtures; the message must name file, line, field.
#[test]
fn bad_data_is_refused_with_file_line_and_field() {
    let cases = [
        (
            r#"{"kind":"domain","roid":"D9-EXAMPLE","name":"orphan.example","statuses":["ok"],"created":"2020-01-01T00:00:00Z","expires":"2030-01-01T00:00:00Z","registrar":1001,"registrant":"C404-EXAMPLE"}"#,
            "registrant",
            "no contact with this ROID",
        ),
        (
            r#"{"kind":"domain","roid":"D9-EXAMPLE","name":"bad date.example","statuses":["ok"],"created":"2020-01-01","expires":"2030-01-01T00:00:00Z","registrar":1001}"#,
            "created",
            "RFC 3339",
        ),
        (
            r#"{"kind":"contact","roid":"C9-EXAMPLE","name":"X","city":"Y","cc":"ZZ","email":"x@y.example","personType":"natural"}"#,
            "cc",
            "ISO 3166",
        ),
        (
            r#"{"kind":"contact","roid":"C9-EXAMPLE","name":"X","city":"Y","cc":"DE","email":"x@y.example","personType":"natural","voice":{"number":"0301234"}}"#,
            "voice",
            "+CC.NUMBER",
        ),
        (
            r#"{"kind":"host","roid":"H99-EXAMPLE","name":"ns.other.example","addresses":["300.1.1.1"],"statuses":["ok"],"registrar":1001}"#,
            "addresses[0]",
            "not an IPv4 or IPv6",
        ),
        (
            r#"{"kind":"domain","roid":"D9-EXAMPLE","name":"xn--zz.example","statuses":["ok"],"created":"2020-01-01T00:00:00Z","expires":"2030-01-01T00:00:00Z","registrar":1001}"#,
            "name",
            "IDNA 2008",
        ),
        (
            r#"{"kind":"domain","roid":"D9-EXAMPLE","name":"two.example","statuses":["ok","clientHold"],"created":"2020-01-01T00:00:00Z","expires":"2030-01-01T00:00:00Z","registrar":1001}"#,
            "statuses",
            "ok cannot be combined",
        ),
        (
            r#"{"kind":"domain","roid":"D9-EXAMPLE","name":"extra.example","statuses":["ok"],"created":"2020-01-01T00:00:00Z","expires":"2030-01-01T00:00:00Z","registrar":1001,"colour":"red"}"#,
            "",
            "unknown field `colour`",
        ),
        (
            r#"{"kind":"domain","roid":"D9-EXAMPLE","name":"wrongtype.example","statuses":["ok"],"created":"2020-01-01T00:00:00Z","expires":"2030-01-01T00:00:00Z","registrar":"1001"}"#,
            "registrar",
            "invalid type",
        ),
        (
            r#"{"kind":"domain","roid":"D9-EXAMPLE","name":"nope.com","statuses":["ok"],"created":"2020-01-01T00:00:00Z","expires":"2030-01-01T00:00:00Z","registrar":1001}"#,
            "name",
            "not a registration under the registry's TLDs",
        ),
        (r#"{"kind":"widget"}"#, "kind", "unknown kind"),
        (r#"{"kind":"domain", "#, "", "not a JSON object"),
    ];
    for (line, field, message) in cases {
        let dir = tempfile::tempdir().expect("tmp");
        copy_fixtures(dir.path());
        let file = dir.path().join("zz-extra.jsonl");
        std::fs::write(&file, format!("\n{line}\n")).expect("write");
        let (ok, text) = check(dir.path());
        assert!(!ok, "{line} must be refused");
        let located = format!("{}:2:", file.display());
        assert!(text.contains(&located), "{line}\n -> {text}");
        if !field.is_empty() {
            assert!(
                text.contains(&format!("field `{field}`")),
                "{line}\n -> {text}"
            );
        }
        assert!(text.contains(message), "{line}\n -> {text}");
    }
}

#[test]
fn bad_policy_is_refused_by_check_and_by_serve() {
    let dir = tempfile::tempdir().expect("tmp");
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "version = 1\n[public.registrant]\nemail = \"publish\"\n",
    )
    .expect("write");
    let out = Command::new(bin())
        .args(["check", "--policy"])
        .arg(&policy)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:3: field `public.registrant.email`",
            policy.display()
        )),
        "{err}"
    );
    let out = Command::new(bin())
        .arg("serve")
        .args(PORT_ZERO)
        .arg("--policy")
        .arg(&policy)
        .output()
        .expect("run");
    assert!(
        !out.status.success(),
        "serve must refuse to start on a loosening policy"
    );
}

#[test]
fn unknown_config_keys_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = dir.path().join("rddsd.toml");
    std::fs::write(
        &cfg,
        "[rdap]\nlisten = [\"127.0.0.1:0\"]\nlisten_port = 80\n",
    )
    .expect("write");
    let out = Command::new(bin())
        .arg("serve")
        .args(PORT_ZERO)
        .arg("--config")
        .arg(&cfg)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rddsd.toml:3") && err.contains("listen_port"),
        "{err}"
    );
}

/// Run `rddsd serve` on `dir`, expecting it to refuse to start; returns its stderr. Bounded: a
/// server that wrongly starts is killed and the test fails instead of hanging.
pub(crate) fn serve_must_fail(dir: &std::path::Path) -> String {
    let mut child = Command::new(bin())
        .arg("serve")
        .args(PORT_ZERO)
        .arg("--data")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let until = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            panic!("serve started on bad data");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success());
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err)
        .expect("read stderr");
    err
}

#[test]
fn load_errors_name_file_line_and_field_but_never_the_value() {
    let dir = tempfile::tempdir().expect("tmp");
    copy_fixtures(dir.path());
    let file = dir.path().join("zz-people.jsonl");
    std::fs::write(&file, personal_lines()).expect("write");

    // A failed start: the message goes to stderr, which is the server log.
    let err = serve_must_fail(dir.path());
    assert_located_without_values(&err, &file);

    // `check` is the same without the flag ...
    let (ok, text) = check(dir.path());
    assert!(!ok);
    assert_located_without_values(&text, &file);
    // ... and shows the values on the operator's terminal only when asked.
    let out = Command::new(bin())
        .args(["check", "--show-values", "--data"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains(PERSONAL_PHONE), "{text}");
    assert!(text.contains(PERSONAL_STREET), "{text}");

    // A refused reload logs the same way.
    std::fs::remove_file(&file).expect("rm");
    let srv = Server::start(&["--data", dir.path().to_str().expect("utf-8")]);
    std::fs::write(&file, personal_lines()).expect("write");
    srv.signal("HUP");
    assert!(srv.wait_log("reload refused"), "{}", srv.log());
    assert_located_without_values(&srv.log(), &file);
    assert_eq!(srv.get("/domain/nic.example").status, 200);
}

#[test]
fn a_contact_value_that_forges_whois_lines_is_made_safe_and_fails_check() {
    for c in [
        '\u{2028}', '\u{2029}', '\u{85}', '\u{B}', '\u{C}', '\u{202E}', '\u{2066}',
    ] {
        let dir = tempfile::tempdir().expect("tmp");
        copy_fixtures(dir.path());
        let street = serde_json::to_string(&format!(
            "1 Main St{c}Registrant Email: forged@evil.example"
        ))
        .expect("json");
        let file = dir.path().join("zz-forged.jsonl");
        std::fs::write(
            &file,
            format!(r#"{{"kind":"contact","roid":"C903-EXAMPLE","name":"A","street":["x",{street}],"city":"B","cc":"DE","email":"a@b.example","personType":"natural"}}"#),
        )
        .expect("write");
        // A server serves it made safe; `rddsd check` still exits 1 on it.
        let (ok, text) = check(dir.path());
        assert!(!ok, "U+{:04X} passed the check", u32::from(c));
        assert!(text.contains("made safe"), "{text}");
        assert!(
            text.contains(&format!("{}:1: field `street[1]`", file.display()))
                && text.contains(&format!("U+{:04X}", u32::from(c))),
            "{text}"
        );
        assert!(!text.contains("forged@"), "{text}");
    }
}

#[test]
fn files_are_read_line_by_line_with_a_bounded_line() {
    let dir = tempfile::tempdir().expect("tmp");
    copy_fixtures(dir.path());
    // A BOM at the start of a file is skipped (Windows exports).
    let domains = dir.path().join("domains.jsonl");
    let text = std::fs::read(&domains).expect("read");
    std::fs::write(&domains, [&b"\xEF\xBB\xBF"[..], &text].concat()).expect("write");
    let (ok, text) = check(dir.path());
    assert!(ok, "{text}");
    // A 2 MiB line without a newline is one error naming its line; lines after it still count.
    let junk = dir.path().join("zz-junk.jsonl");
    let mut bytes = b"\n".to_vec();
    bytes.extend(std::iter::repeat_n(b'x', 2 * 1024 * 1024));
    bytes.extend_from_slice(b"\n{\"kind\":\"widget\"}\n");
    std::fs::write(&junk, bytes).expect("write");
    let (ok, text) = check(dir.path());
    assert!(!ok);
    assert!(
        text.contains(&format!("{}:2: line longer than", junk.display())),
        "{text}"
    );
    assert!(
        text.contains(&format!("{}:3: field `kind`", junk.display())),
        "{text}"
    );
}

#[test]
fn a_reload_that_drops_most_domains_is_refused_unless_allowed() {
    let dir = tempfile::tempdir().expect("tmp");
    copy_fixtures(dir.path());
    let srv = Server::start(&["--data", dir.path().to_str().expect("utf-8")]);
    assert_eq!(srv.get("/domain/kite-surfing.example").status, 200);

    // A truncated export: only the domains that the in-zone nameservers need, so the set still
    // validates and only the shrink guard stands between it and 404s.
    let domains = dir.path().join("domains.jsonl");
    let full = std::fs::read_to_string(&domains).expect("read");
    let kept: Vec<&str> = full
        .lines()
        .filter(|l| {
            [
                "\"nic.example\"",
                "\"café.example\"",
                "\"müller.example\"",
                "\"lantern-hosting.example\"",
            ]
            .iter()
            .any(|n| l.contains(&format!("\"name\":{n}")))
        })
        .collect();
    assert_eq!(kept.len(), 4);
    std::fs::write(&domains, kept.join("\n")).expect("write");
    srv.signal("HUP");
    assert!(srv.wait_log("reload refused"), "{}", srv.log());
    let log = srv.log();
    assert!(
        log.contains("domains from 34 to 4") && log.contains("max_shrink_percent = 10"),
        "{log}"
    );
    assert_eq!(
        srv.get("/domain/kite-surfing.example").status,
        200,
        "old data still served"
    );

    // The operator confirms once in the config file; the next SIGHUP accepts it.
    let config = std::fs::read_to_string(&srv.config).expect("config");
    std::fs::write(
        &srv.config,
        format!("{config}\n[data]\nallow_shrink = true\n"),
    )
    .expect("write");
    srv.signal("HUP");
    assert!(srv.wait_log("reloaded generation="), "{}", srv.log());
    assert!(srv.log().contains("allow_shrink = true"), "{}", srv.log());
    assert_eq!(srv.get("/domain/kite-surfing.example").status, 404);
    assert_eq!(srv.get("/domain/nic.example").status, 200);
}

/// `rddsd check --config FILE` (like `nginx -t`): an unknown key and a value out of bounds are
/// named with the file and line; a good file is checked with the data it names; nothing is
/// served.
#[test]
fn check_config_names_the_key_and_line_of_what_is_wrong() {
    let dir = tempfile::tempdir().expect("tmp");
    let conf = dir.path().join("rddsd.toml");
    let write = |text: &str| std::fs::write(&conf, text).expect("write config");
    let conf_arg = conf.to_str().expect("utf-8 path");

    write("[rdap]\nlisten = [\"127.0.0.1:0\"]\n\n[limits]\nburts = 3\n");
    let (ok, text) = crate::harness::rddsd(&["check", "--config", conf_arg]);
    assert!(!ok, "an unknown key fails: {text}");
    assert!(
        text.contains(&format!("{conf_arg}:5")),
        "names file and line: {text}"
    );
    assert!(text.contains("burts"), "names the key: {text}");

    write("[service]\nport43 = \"whois.nic.example\"\nmax_connections = 0\n");
    let (ok, text) = crate::harness::rddsd(&["check", "--config", conf_arg]);
    assert!(!ok, "a value out of bounds fails: {text}");
    assert!(
        text.contains(&format!("{conf_arg}:3: service.max_connections")),
        "names file, line and key: {text}"
    );

    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    copy_fixtures(&data);
    write(&format!(
        "[data]\ndir = {:?}\n",
        data.to_str().expect("utf-8")
    ));
    let (ok, text) = crate::harness::rddsd(&["check", "--config", conf_arg]);
    assert!(ok, "a good file and its data pass: {text}");
    assert!(
        text.contains("34 domains"),
        "the data it names was checked: {text}"
    );

    // The data it names is checked too: a broken record fails the check.
    std::fs::write(data.join("domains.jsonl"), "{\"not\": \"a domain\"}\n").expect("write");
    let (ok, text) = crate::harness::rddsd(&["check", "--config", conf_arg]);
    assert!(!ok, "the data named by the config is checked: {text}");
}
