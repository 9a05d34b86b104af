//! Delta files dropped into `[data] delta_dir`, applied to the running server.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::harness::{fixtures, Server};

const HEADER_TIME: &str = "2026-11-28T00:00:00Z";

fn server_with_deltas() -> (Server, tempfile::TempDir) {
    let deltas = tempfile::tempdir().expect("tmp");
    let data = fixtures().join("registry");
    let toml = format!(
        "[data]\ndir = \"{}\"\ndelta_dir = \"{}\"\n",
        data.display(),
        deltas.path().display()
    );
    (Server::with_config(&toml, &[]), deltas)
}

/// Write a delta the way an exporter must: under another name, then renamed into place.
fn drop_delta(dir: &Path, name: &str, text: &str) {
    let tmp = dir.join(format!("{name}.tmp"));
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, dir.join(name)).expect("rename");
}

/// Wait until the watcher moved `name` to `applied/` or `refused/`; which one.
fn outcome(dir: &Path, name: &str) -> &'static str {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if dir.join("applied").join(name).exists() {
            return "applied";
        }
        if dir.join("refused").join(name).exists() {
            return "refused";
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{name} was neither applied nor refused");
}

fn errors_of(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join("refused").join(format!("{name}.errors"))).expect("errors")
}

/// A body with the data's update time blanked, to compare answers across a delta.
fn without_update_time(body: &[u8]) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(body).expect("json");
    if let Some(events) = v.get_mut("events").and_then(|e| e.as_array_mut()) {
        events.retain(|e| e["eventAction"] != "last update of RDAP database");
    }
    v
}

fn statuses(body: &[u8]) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(body).expect("json");
    v["status"]
        .as_array()
        .expect("status")
        .iter()
        .map(|s| s.as_str().unwrap_or_default().to_string())
        .collect()
}

const BUCHER: &str = r#"{"kind":"domain","roid":"D1003-EXAMPLE","name":"xn--bcher-kva.example","statuses":["clientTransferProhibited","clientUpdateProhibited"],"created":"2020-05-17T14:22:03Z","updated":"2026-11-27T23:00:00Z","expires":"2028-05-17T14:22:03Z","registrar":1002,"registrant":"C102-EXAMPLE","tech":"C202-EXAMPLE","nameservers":["ns1.dns-provider.example.net","ns2.dns-provider.example.net"]}"#;

#[test]
fn a_delta_changes_exactly_the_changed_answers() {
    let (srv, dir) = server_with_deltas();
    let changed = "/domain/xn--bcher-kva.example";
    let unchanged = "/domain/nic.example";
    let before_changed = srv.get(changed);
    let before_unchanged = srv.get(unchanged);
    assert_eq!(before_changed.status, 200);
    assert_eq!(statuses(&before_changed.body), ["active"]);
    assert_eq!(srv.get("/domain/fresh-delta.example").status, 404);
    assert_eq!(srv.get(unchanged).status, 200, "now cached");
    let hits = srv
        .metric("rddsd_cache_requests_total{result=\"hit\"}")
        .expect("hits");

    let text = format!(
        "{{\"kind\":\"delta\",\"updated\":\"{HEADER_TIME}\",\"changes\":2}}\n{BUCHER}\n{}\n",
        r#"{"kind":"domain","roid":"D9100-EXAMPLE","name":"fresh-delta.example","statuses":["ok"],"created":"2026-11-27T22:00:00Z","expires":"2027-11-27T22:00:00Z","registrar":1001,"registrant":"C101-EXAMPLE"}"#
    );
    drop_delta(dir.path(), "0001.jsonl", &text);
    assert_eq!(
        outcome(dir.path(), "0001.jsonl"),
        "applied",
        "{}",
        srv.log()
    );

    let after_changed = srv.get(changed);
    assert_eq!(
        statuses(&after_changed.body),
        ["client transfer prohibited", "client update prohibited"],
        "the changed domain shows its new statuses"
    );
    assert!(
        srv.whois("xn--bcher-kva.example")
            .contains("Domain Status: clientUpdateProhibited"),
        "port 43 agrees"
    );
    assert_eq!(
        srv.get("/domain/fresh-delta.example").status,
        200,
        "the new domain is served"
    );
    let after_unchanged = srv.get(unchanged);
    assert_eq!(
        without_update_time(&after_unchanged.body),
        without_update_time(&before_unchanged.body),
        "an unchanged domain answers as before"
    );
    let v: serde_json::Value = serde_json::from_slice(&after_unchanged.body).expect("json");
    let db = v["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["eventAction"] == "last update of RDAP database")
        .expect("db event");
    assert_eq!(
        db["eventDate"], HEADER_TIME,
        "the data's update time moved with the delta"
    );
    assert!(
        srv.metric("rddsd_cache_requests_total{result=\"hit\"}")
            .expect("hits")
            > hits,
        "the unchanged answer stayed cached"
    );
    srv.wait_metric("rddsd_data_generations_live", 1.0);
    assert_eq!(
        srv.metric("rddsd_deltas_total{result=\"applied\"}"),
        Some(1.0)
    );

    // A delete, in a second delta.
    let text = format!(
        "{{\"kind\":\"delta\",\"updated\":\"2026-11-28T01:00:00Z\",\"changes\":1}}\n{}\n",
        r#"{"kind":"delete","object":"domain","name":"fresh-delta.example"}"#
    );
    drop_delta(dir.path(), "0002.jsonl", &text);
    assert_eq!(
        outcome(dir.path(), "0002.jsonl"),
        "applied",
        "{}",
        srv.log()
    );
    assert_eq!(srv.get("/domain/fresh-delta.example").status, 404);
    assert_eq!(srv.get(changed).status, 200);
}

#[test]
fn bad_deltas_are_refused_whole_and_the_data_keeps_serving() {
    let (srv, dir) = server_with_deltas();
    let cases = [
        (
            "10-referenced.jsonl",
            // nic.example still has its subordinate hosts ns1/ns2.nic.example.
            format!(
                "{{\"kind\":\"delta\",\"updated\":\"{HEADER_TIME}\",\"changes\":2}}\n{BUCHER}\n{}\n",
                r#"{"kind":"delete","object":"domain","name":"nic.example"}"#
            ),
            ":3: field `name`: the host ns1.nic.example is subordinate",
        ),
        (
            "20-missing-contact.jsonl",
            format!(
                "{{\"kind\":\"delta\",\"updated\":\"{HEADER_TIME}\",\"changes\":2}}\n{BUCHER}\n{}\n",
                r#"{"kind":"domain","roid":"D9200-EXAMPLE","name":"orphan.example","statuses":["ok"],"created":"2026-11-27T22:00:00Z","expires":"2027-11-27T22:00:00Z","registrar":1001,"registrant":"C999-EXAMPLE"}"#
            ),
            ":3: field `registrant`: no contact with this ROID",
        ),
        (
            "30-torn.jsonl",
            format!(
                "{{\"kind\":\"delta\",\"updated\":\"{HEADER_TIME}\",\"changes\":2}}\n{BUCHER}\n{{\"kind\":\"domain\",\"roid\":\"D92"
            ),
            "torn",
        ),
        (
            "40-short.jsonl",
            format!("{{\"kind\":\"delta\",\"updated\":\"{HEADER_TIME}\",\"changes\":2}}\n{BUCHER}\n"),
            "announces 2 changes but the file holds 1",
        ),
        (
            "50-contact-in-use.jsonl",
            format!(
                "{{\"kind\":\"delta\",\"updated\":\"{HEADER_TIME}\",\"changes\":1}}\n{}\n",
                r#"{"kind":"delete","object":"contact","roid":"C102-EXAMPLE"}"#
            ),
            "field `roid`: the contact would still be referenced",
        ),
    ];
    for (name, text, expected) in &cases {
        drop_delta(dir.path(), name, text);
        assert_eq!(
            outcome(dir.path(), name),
            "refused",
            "{name}: {}",
            srv.log()
        );
        let errors = errors_of(dir.path(), name);
        assert!(errors.contains(expected), "{name}: {errors}");
        assert!(errors.contains(name), "{name}: the file is named: {errors}");
        // Whole: the valid change in the same file was not applied either.
        let body = srv.get("/domain/xn--bcher-kva.example").body;
        assert_eq!(statuses(&body), ["active"], "{name} changed nothing");
        assert_eq!(srv.get("/domain/nic.example").status, 200);
        assert_eq!(srv.get("/domain/orphan.example").status, 404);
    }
    assert!(
        !srv.log().contains("C999"),
        "the log carries no offending value"
    );
    assert_eq!(
        srv.metric("rddsd_deltas_total{result=\"refused\"}"),
        Some(5.0)
    );
}

#[test]
fn reloads_and_deltas_under_load_fail_no_request() {
    let (srv, dir) = server_with_deltas();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let addr = srv.addr;
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut n = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    for path in [
                        "/domain/xn--bcher-kva.example",
                        "/domain/nic.example",
                        "/nameserver/ns1.nic.example",
                    ] {
                        let r = crate::harness::get_at(addr, path);
                        assert_eq!(r.status, 200, "{path} failed during a change");
                        n += 1;
                    }
                }
                n
            })
        })
        .collect();
    for i in 0..3 {
        srv.signal("HUP");
        let text = format!(
            "{{\"kind\":\"delta\",\"updated\":\"2026-11-28T0{i}:30:00Z\",\"changes\":1}}\n{BUCHER}\n"
        );
        let name = format!("1{i}.jsonl");
        drop_delta(dir.path(), &name, &text);
        assert_eq!(outcome(dir.path(), &name), "applied", "{}", srv.log());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let total: u32 = workers
        .into_iter()
        .map(|w| w.join().expect("no failed request"))
        .sum();
    assert!(total > 0);
    // Every old generation was released once its last request ended.
    srv.wait_metric("rddsd_data_generations_live", 1.0);
}

#[test]
fn the_delta_command_hands_a_file_to_the_server_and_reports_its_verdict() {
    let (srv, dir) = server_with_deltas();
    let work = tempfile::tempdir().expect("tmp");
    let cfg = work.path().join("rddsd.toml");
    std::fs::write(
        &cfg,
        format!("[data]\ndelta_dir = \"{}\"\n", dir.path().display()),
    )
    .expect("config");
    let cfg = cfg.to_str().expect("utf-8");
    let good = work.path().join("0100.jsonl");
    std::fs::write(
        &good,
        format!("{{\"kind\":\"delta\",\"updated\":\"{HEADER_TIME}\",\"changes\":1}}\n{BUCHER}\n"),
    )
    .expect("write");
    let good = good.to_str().expect("utf-8");

    // Offline check against the same data first.
    let data = fixtures().join("registry");
    let (ok, out) = crate::harness::rddsd(&[
        "delta",
        "check",
        "--data",
        data.to_str().expect("utf-8"),
        good,
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("ok: ") && out.contains("1 changes"), "{out}");

    let (ok, out) = crate::harness::rddsd(&["delta", "apply", "--config", cfg, good]);
    assert!(ok, "{out}");
    assert!(out.contains("applied"), "{out}");
    assert_eq!(
        statuses(&srv.get("/domain/xn--bcher-kva.example").body),
        ["client transfer prohibited", "client update prohibited"]
    );

    // The same update time again: the server refuses it, and the command says why.
    let again = work.path().join("0101.jsonl");
    std::fs::copy(good, &again).expect("copy");
    let (ok, out) = crate::harness::rddsd(&[
        "delta",
        "apply",
        "--config",
        cfg,
        again.to_str().expect("utf-8"),
    ]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("refused") && out.contains("not after the data"),
        "{out}"
    );

    // A malformed file never reaches the server.
    let bad = work.path().join("0102.jsonl");
    std::fs::write(&bad, "{\"kind\":\"domain\"}\n").expect("write");
    let (ok, out) = crate::harness::rddsd(&[
        "delta",
        "apply",
        "--config",
        cfg,
        bad.to_str().expect("utf-8"),
    ]);
    assert!(!ok && out.contains("0102.jsonl:1"), "{out}");
    assert!(!dir.path().join("0102.jsonl").exists());
}
