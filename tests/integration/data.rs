//! `rddsd check`: validation without serving, with file, line and field in every message.

use std::process::Command;

use crate::harness::{bin, fixtures};

fn copy_fixtures(dir: &std::path::Path) {
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
    assert!(text.contains("33 domains"), "{text}");
}

/// Each bad line is appended to a copy of the fixtures; the message must name file, line, field.
#[test]
fn bad_data_is_refused_with_file_line_and_field() {
    let cases = [
        (
            r#"{"kind":"domain","roid":"D9-EXAMPLE","name":"orphan.example","statuses":["ok"],"created":"2020-01-01T00:00:00Z","expires":"2030-01-01T00:00:00Z","registrar":1001,"registrant":"C404-EXAMPLE"}"#,
            "registrant",
            "no contact with ROID C404-EXAMPLE",
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
            "not under one of the registry's TLDs",
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
        .args(["serve", "--rdap-listen", "127.0.0.1:0", "--policy"])
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
        .args(["serve", "--config"])
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
