//! Running it in production: JSON logs, the metrics an operator alerts on, readiness, systemd
//! notification, and the version and manual generated from the CLI.

use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::Duration;

use crate::harness::{bin, Server};

/// One metric's value, or a panic naming it.
fn value(srv: &Server, series: &str) -> f64 {
    srv.metric(series)
        .unwrap_or_else(|| panic!("metric {series} missing"))
}

#[test]
fn json_logs_parse_line_by_line_with_stable_fields_and_no_personal_data() {
    let srv = Server::start(&["--log-format", "json"]);
    assert_eq!(srv.get("/domain/nic.example").status, 200);
    assert_eq!(srv.get("/entity/C101-EXAMPLE").status, 200);
    assert_eq!(srv.request("BREW", "/domain/nic.example", &[]).status, 405);
    assert!(srv.whois("café.example").starts_with("Domain Name:"));
    assert!(srv.wait_log_count("\"rddsd::access\"", 4), "{}", srv.log());
    let mut access = 0;
    for line in srv.log().lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        for key in ["timestamp", "level", "target"] {
            assert!(v[key].is_string(), "{key} in {line}");
        }
        if v["target"] == "rddsd::access" {
            access += 1;
            for key in ["proto", "client", "kind", "outcome", "bytes", "micros"] {
                assert!(!v[key].is_null(), "{key} in {line}");
            }
            assert!(
                v["client"]
                    .as_str()
                    .is_some_and(|c| c.ends_with("/24") || c.ends_with("/48")),
                "networks, not addresses: {line}"
            );
            if v["proto"] == "rdap" {
                assert!(
                    ["GET", "OTHER"].contains(&v["method"].as_str().unwrap_or("")),
                    "{line}"
                );
            }
        }
    }
    assert_eq!(access, 4);
    // The contact looked up above has a withheld name; JSON logs carry no more than text ones.
    assert!(!srv.log().contains("Aurelie"), "{}", srv.log());
}

#[test]
fn the_config_file_can_ask_for_json_logs() {
    let srv = Server::with_config("[log]\nformat = \"json\"\n", &[]);
    assert_eq!(srv.get("/help").status, 200);
    assert!(srv.wait_log_count("\"rddsd::access\"", 1));
    for line in srv.log().lines() {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "{line}"
        );
    }
}

#[test]
fn every_metric_is_present_and_counts_a_scripted_session() {
    let dir = tempfile::tempdir().expect("tmp");
    for e in std::fs::read_dir(crate::harness::fixtures().join("registry")).expect("fixtures") {
        let p = e.expect("entry").path();
        std::fs::copy(&p, dir.path().join(p.file_name().expect("name"))).expect("copy");
    }
    let data = dir.path().to_str().expect("utf-8 path");
    let srv = Server::with_config(
        "[limits]\nrate_per_minute = 1\nburst = 2\nallow = [\"127.0.0.1\"]\n",
        &["--data", data],
    );
    // A scripted session: two lookups of one domain (a miss, then a hit), a not-found, a bad
    // request, two port 43 answers, and a client from another address spending its burst.
    assert_eq!(srv.get("/domain/nic.example").status, 200);
    assert_eq!(srv.get("/domain/nic.example").status, 200);
    assert_eq!(srv.get("/domain/nope.example").status, 404);
    assert_eq!(srv.get("/domain/%FF").status, 400);
    assert!(srv.whois("nic.example").starts_with("Domain Name:"));
    assert!(srv.whois("nope.example").contains("NOT FOUND"));
    for _ in 0..2 {
        assert_eq!(srv.get_from("127.0.0.90", "/help", &[]).status, 200);
    }
    assert_eq!(srv.get_from("127.0.0.90", "/help", &[]).status, 429);

    let rdap_domain = "{protocol=\"rdap\",kind=\"domain\"";
    assert_eq!(
        value(
            &srv,
            &format!("rddsd_request_duration_seconds_count{rdap_domain}}}")
        ),
        3.0,
        "two found, one not found (the malformed one is `other`)"
    );
    assert_eq!(
        value(
            &srv,
            &format!("rddsd_request_duration_seconds_bucket{rdap_domain},le=\"2\"}}")
        ),
        3.0,
        "all within ICANN's 2 s"
    );
    assert_eq!(
        value(
            &srv,
            "rddsd_request_duration_seconds_count{protocol=\"whois\",kind=\"domain\"}"
        ),
        2.0
    );
    assert_eq!(
        value(
            &srv,
            "rddsd_responses_total{protocol=\"rdap\",status=\"200\"}"
        ),
        4.0
    );
    assert_eq!(
        value(
            &srv,
            "rddsd_responses_total{protocol=\"rdap\",status=\"404\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &srv,
            "rddsd_responses_total{protocol=\"rdap\",status=\"400\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &srv,
            "rddsd_responses_total{protocol=\"rdap\",status=\"429\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &srv,
            "rddsd_responses_total{protocol=\"whois\",status=\"found\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &srv,
            "rddsd_responses_total{protocol=\"whois\",status=\"not-found\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &srv,
            "rddsd_refusals_total{protocol=\"rdap\",reason=\"rate\"}"
        ),
        1.0
    );
    // nic.example twice, nope.example, /help twice from .90: all misses, since an answer is
    // cached on its second request (the doorkeeper) and served from the cache from the third.
    assert_eq!(
        value(&srv, "rddsd_cache_requests_total{result=\"hit\"}"),
        0.0
    );
    assert_eq!(
        value(&srv, "rddsd_cache_requests_total{result=\"miss\"}"),
        5.0
    );
    assert_eq!(value(&srv, "rddsd_limiter_clients"), 1.0);
    assert_eq!(value(&srv, "rddsd_data_generation"), 1.0);
    assert_eq!(value(&srv, "rddsd_reload_last_success"), -1.0);
    let updated = value(&srv, "rddsd_data_updated_timestamp_seconds");
    assert!(updated > 1.7e9, "{updated}");
    let age = value(&srv, "rddsd_data_age_seconds");
    assert!(age >= 0.0, "{age}");
    assert_eq!(
        value(&srv, "rddsd_open_connections{listener=\"admin\"}"),
        1.0,
        "the scrape itself"
    );
    for series in [
        "rddsd_open_connections{listener=\"rdap\"}",
        "rddsd_open_connections{listener=\"whois\"}",
        "rddsd_accept_errors_total",
        "rddsd_log_lines_dropped_total",
        "rddsd_log_write_failures_total",
        "rddsd_disclosures_total{result=\"recorded\"}",
        "rddsd_disclosures_total{result=\"failed\"}",
        "rddsd_limiter_capacity",
    ] {
        let _ = value(&srv, series);
    }
    // A reload: counted, timed, and the generation moves on.
    srv.signal("HUP");
    srv.wait_metric("rddsd_data_generation", 2.0);
    assert_eq!(value(&srv, "rddsd_reloads_total{result=\"ok\"}"), 1.0);
    assert_eq!(value(&srv, "rddsd_reload_last_success"), 1.0);
    assert!(value(&srv, "rddsd_reload_last_timestamp_seconds") > 1.7e9);
    // A refused reload is reported as such.
    std::fs::write(dir.path().join("zz-bad.jsonl"), "{\"kind\":\"nope\"}\n").expect("write");
    srv.signal("HUP");
    srv.wait_metric("rddsd_reload_last_success", 0.0);
    assert_eq!(value(&srv, "rddsd_reloads_total{result=\"refused\"}"), 1.0);
    assert_eq!(value(&srv, "rddsd_data_generation"), 2.0);
}

#[test]
fn readiness_and_liveness() {
    let srv = Server::start(&[]);
    assert_eq!(srv.admin_get("/healthz").status, 200);
    let ready = srv.admin_get("/readyz");
    assert_eq!(ready.status, 200);
    let body = String::from_utf8_lossy(&ready.body).to_string();
    assert!(body.starts_with("ready\n"), "{body}");
    assert!(body.contains("data: generation 1"), "{body}");
    assert!(body.contains("disclosure log: not configured"), "{body}");
}

#[test]
fn systemd_hears_ready_and_reloading() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&path).expect("bind notify socket");
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let srv = Server::with_env(&[("NOTIFY_SOCKET", path.to_str().expect("utf-8"))]);
    let mut buf = [0u8; 256];
    let mut next = || {
        let n = sock.recv(&mut buf).expect("a notification");
        String::from_utf8_lossy(&buf[..n]).trim_end().to_string()
    };
    assert_eq!(next(), "READY=1");
    srv.signal("HUP");
    assert_eq!(next(), "RELOADING=1");
    assert_eq!(next(), "READY=1");
    srv.signal("TERM");
    assert_eq!(next(), "STOPPING=1");
}

#[test]
fn version_manual_and_completions_come_from_the_cli() {
    let out = Command::new(bin()).arg("--version").output().expect("run");
    let version = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        version.starts_with(&format!("rddsd {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    let man = Command::new(bin()).arg("man").output().expect("run");
    let man = String::from_utf8_lossy(&man.stdout).to_string();
    assert!(
        man.contains(".TH rddsd 1") && man.contains("serve"),
        "{man:.300}"
    );
    for shell in ["bash", "zsh", "fish"] {
        let out = Command::new(bin())
            .args(["completions", shell])
            .output()
            .expect("run");
        assert!(out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("serve"),
            "{shell}"
        );
    }
}

#[test]
fn case_variants_of_a_contact_handle_share_one_cache_entry() {
    // Issue #9: enumeration by case variants must not push real answers out of the cache.
    let srv = Server::start(&[]);
    for handle in [
        "C101-EXAMPLE",
        "c101-example",
        "C101-example",
        "c101-EXAMPLE",
    ] {
        assert_eq!(srv.get(&format!("/entity/{handle}")).status, 200);
    }
    // The first request renders for itself, the second is cached (an answer is cached when
    // it is asked for again), the other two are hits: one entry for every spelling.
    assert_eq!(
        value(&srv, "rddsd_cache_requests_total{result=\"miss\"}"),
        2.0
    );
    assert_eq!(
        value(&srv, "rddsd_cache_requests_total{result=\"hit\"}"),
        2.0
    );
}

#[test]
fn an_answer_rendered_for_its_request_equals_the_cached_one() {
    // The first request for an answer renders it with the request's own URL and the data's
    // update time; the second caches a body with placeholders and fills them in; the third
    // comes from the cache. A client must not be able to tell which one it got.
    let srv = Server::start(&[]);
    for path in [
        "/domain/kite-surfing.example",
        "/domain/xn--caf-dma.example",
        "/entity/C101-EXAMPLE",
        "/nameserver/ns1.nic.example",
        "/entity/1001",
        "/help",
    ] {
        let answers: Vec<_> = (0..3).map(|_| srv.get(path)).collect();
        assert_eq!(answers[0].status, 200, "{path}");
        assert!(
            String::from_utf8_lossy(&answers[0].body).contains(path),
            "{path}: the request URL is in the answer"
        );
        assert_eq!(
            answers[0].body, answers[1].body,
            "{path}: rendered vs cached"
        );
        assert_eq!(
            answers[1].body, answers[2].body,
            "{path}: cached vs from the cache"
        );
    }
    assert_eq!(
        value(&srv, "rddsd_cache_requests_total{result=\"hit\"}"),
        6.0
    );
}
