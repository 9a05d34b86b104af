//! The harvesting defence over real sockets. Loopback gives us many source addresses
//! (127.0.0.0/8); IPv6 clients come through a trusted proxy's `X-Forwarded-For`.

use crate::harness::Server;

/// Burst of 3, then 1 per minute, so no test depends on how fast the machine sends its
/// requests; a small daily quota where a test needs one.
fn limits(extra: &str) -> String {
    format!("[limits]\nrate_per_minute = 1\nburst = 3\n{extra}\n")
}

fn status(srv: &Server, from: &str, headers: &[(&str, &str)]) -> u16 {
    srv.get_from(from, "/domain/nic.example", headers).status
}

#[test]
fn a_burst_gets_429_with_retry_after_and_others_are_unaffected() {
    let srv = Server::with_config(&limits(""), &[]);
    for _ in 0..3 {
        assert_eq!(status(&srv, "127.0.0.10", &[]), 200);
    }
    let r = srv.get_from("127.0.0.10", "/domain/nic.example", &[]);
    assert_eq!(r.status, 429);
    let retry: u64 = r
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("retry-after");
    assert!((50..=60).contains(&retry), "one query a minute: {retry}");
    assert_eq!(r.header("content-type"), Some("application/rdap+json"));
    let body = r.json();
    assert_eq!(body["errorCode"], 429);
    assert_eq!(body["notices"][0]["title"], "Query Limits");
    assert!(body["description"][0]
        .as_str()
        .is_some_and(|d| d.contains("at most 1 queries per minute with a burst of 3")));
    // Not even a cached answer leaks through, and not-found or malformed queries are refused too.
    assert_eq!(srv.get_from("127.0.0.10", "/domain/%FF", &[]).status, 429);
    // Another address has its own budget.
    assert_eq!(status(&srv, "127.0.0.11", &[]), 200);
}

#[test]
fn malformed_and_not_found_queries_spend_the_budget() {
    let srv = Server::with_config(&limits(""), &[]);
    assert_eq!(
        srv.get_from("127.0.0.12", "/domain/nope.example", &[])
            .status,
        404
    );
    assert_eq!(srv.get_from("127.0.0.12", "/domain/%FF", &[]).status, 400);
    assert!(srv
        .whois_from("127.0.0.12", b"\xff\r\n")
        .starts_with("%ERROR:103"));
    assert_eq!(status(&srv, "127.0.0.12", &[]), 429);
}

#[test]
fn one_budget_across_rdap_and_port_43() {
    let srv = Server::with_config(&limits(""), &[]);
    // Spend it on port 43, get refused on RDAP.
    for _ in 0..3 {
        assert!(srv
            .whois_from("127.0.0.20", b"nic.example\r\n")
            .starts_with("Domain Name:"));
    }
    let r = srv.get_from("127.0.0.20", "/domain/nic.example", &[]);
    assert_eq!(r.status, 429);
    // And the reverse, with the port 43 refusal line.
    for _ in 0..3 {
        assert_eq!(status(&srv, "127.0.0.21", &[]), 200);
    }
    let line = srv.whois_from("127.0.0.21", b"nic.example\r\n");
    assert!(
        line.starts_with("%ERROR:201: access denied: query rate limit exceeded"),
        "{line}"
    );
    assert!(
        (line.ends_with("retry after 60 seconds\r\n")
            || line.ends_with("retry after 59 seconds\r\n"))
            && line.lines().count() == 1,
        "{line}"
    );
}

#[test]
fn allowlisted_and_denylisted_networks() {
    let srv = Server::with_config(
        &limits("allow = [\"127.0.0.30/32\"]\ndeny = [\"127.0.0.31\"]"),
        &[],
    );
    for _ in 0..20 {
        assert_eq!(status(&srv, "127.0.0.30", &[]), 200);
    }
    let r = srv.get_from("127.0.0.31", "/domain/nic.example", &[]);
    assert_eq!(r.status, 403);
    assert_eq!(r.header("retry-after"), None);
    assert!(srv
        .whois_from("127.0.0.31", b"nic.example\r\n")
        .starts_with("%ERROR:201: access denied: access from your network is denied"));
}

#[test]
fn forwarded_for_counts_only_from_trusted_proxies() {
    // Untrusted: X-Forwarded-For is ignored, so rotating it gains nothing.
    let srv = Server::with_config(&limits(""), &[]);
    for i in 0..3 {
        let xff = format!("203.0.113.{i}");
        assert_eq!(
            status(&srv, "127.0.0.40", &[("X-Forwarded-For", &xff)]),
            200
        );
    }
    assert_eq!(
        status(&srv, "127.0.0.40", &[("X-Forwarded-For", "203.0.113.99")]),
        429
    );

    // Trusted proxy: the forwarded client is the key; a /64 is one client.
    let srv = Server::with_config(&limits("trusted_proxies = [\"127.0.0.50/32\"]"), &[]);
    for i in 1..=3 {
        let xff = format!("2001:db8:1:2::{i}");
        assert_eq!(
            status(&srv, "127.0.0.50", &[("X-Forwarded-For", &xff)]),
            200
        );
    }
    assert_eq!(
        status(
            &srv,
            "127.0.0.50",
            &[("X-Forwarded-For", "2001:db8:1:2:ffff::9")]
        ),
        429,
        "same /64"
    );
    assert_eq!(
        status(
            &srv,
            "127.0.0.50",
            &[("X-Forwarded-For", "2001:db8:1:3::1")]
        ),
        200,
        "next /64"
    );
    // A client-forged hop to the left does not change the key.
    assert_eq!(
        status(
            &srv,
            "127.0.0.50",
            &[("X-Forwarded-For", "198.51.100.1, 2001:db8:1:2::7")]
        ),
        429
    );
}

#[test]
fn proxy_protocol_only_from_trusted_proxies() {
    let srv = Server::with_config(&limits("trusted_proxies = [\"127.0.0.60/32\"]"), &[]);
    let v1 =
        |src: &str| format!("PROXY TCP4 {src} 192.0.2.1 40000 43\r\nnic.example\r\n").into_bytes();
    for _ in 0..3 {
        assert!(srv
            .whois_from("127.0.0.60", &v1("203.0.113.7"))
            .starts_with("Domain Name:"));
    }
    assert!(
        srv.whois_from("127.0.0.60", &v1("203.0.113.7"))
            .starts_with("%ERROR:201"),
        "the proxied client is limited"
    );
    assert!(
        srv.whois_from("127.0.0.60", &v1("203.0.113.8"))
            .starts_with("Domain Name:"),
        "another proxied client is not"
    );
    // v2 header with an IPv4 source.
    let mut v2 = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    v2.extend_from_slice(&[
        0x21, 0x11, 0, 12, 203, 0, 113, 9, 192, 0, 2, 1, 0x9c, 0x40, 0, 43,
    ]);
    v2.extend_from_slice(b"nic.example\r\n");
    assert!(srv
        .whois_from("127.0.0.60", &v2)
        .starts_with("Domain Name:"));
    // From an untrusted peer a PROXY line is just a malformed query.
    assert!(srv
        .whois_from("127.0.0.61", &v1("203.0.113.10"))
        .starts_with("%ERROR:105"));
}

#[test]
fn daily_quota_blocks_and_survives_reload_and_metrics_count_refusals() {
    let srv = Server::with_config(
        "[limits]\nrate_per_second = 1000\nburst = 1000\ndaily_quota = 4\n",
        &[],
    );
    for _ in 0..4 {
        assert_eq!(status(&srv, "127.0.0.70", &[]), 200);
    }
    let r = srv.get_from("127.0.0.70", "/domain/nic.example", &[]);
    assert_eq!(r.status, 429);
    let retry: u64 = r
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("retry-after");
    assert!(
        retry > 0 && retry <= 86_400,
        "blocked until the next 00:00 UTC: {retry}"
    );
    assert!(r.json()["description"][0]
        .as_str()
        .is_some_and(|d| d.contains("Daily query quota of 4")));

    // Reload with a new allowlist: the block and the counts stay.
    let cfg = std::fs::read_to_string(&srv.config).expect("read config");
    std::fs::write(
        &srv.config,
        cfg.replace("[limits]", "[limits]\nallow = [\"127.0.0.71\"]"),
    )
    .expect("write");
    srv.signal("HUP");
    assert!(srv.wait_log("generation=2"), "{}", srv.log());
    assert_eq!(
        status(&srv, "127.0.0.70", &[]),
        429,
        "still blocked after reload"
    );
    for _ in 0..10 {
        assert_eq!(
            status(&srv, "127.0.0.71", &[]),
            200,
            "new allowlist applies"
        );
    }
    assert!(srv
        .whois_from("127.0.0.70", b"nic.example\r\n")
        .contains("daily query quota exhausted"));

    let m = srv.admin_get("/metrics");
    assert_eq!(m.status, 200);
    let text = String::from_utf8_lossy(&m.body).to_string();
    assert!(
        text.contains("rddsd_refusals_total{protocol=\"rdap\",reason=\"quota\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("rddsd_refusals_total{protocol=\"rdap\",reason=\"blocked\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("rddsd_refusals_total{protocol=\"whois\",reason=\"blocked\"} 1"),
        "{text}"
    );
    assert!(text.contains("rddsd_limiter_capacity "), "{text}");
    assert_eq!(srv.admin_get("/healthz").status, 200);
}

#[test]
fn a_reload_keeps_recent_clients_admitted() {
    // GIVEN a server that has been up for a few seconds (the lock-out grew with uptime) and a
    // client from a non-allowlisted address that was just served
    // (per second: the lock-out needed an uptime longer than burst / rate)
    let srv = Server::with_config("[limits]\nrate_per_second = 1\nburst = 3\n", &[]);
    std::thread::sleep(std::time::Duration::from_secs(5));
    assert_eq!(status(&srv, "127.0.0.9", &[]), 200);
    // WHEN the operator reloads
    srv.signal("HUP");
    assert!(srv.wait_log("generation=2"), "{}", srv.log());
    // THEN the client keeps the rest of its burst
    assert_eq!(status(&srv, "127.0.0.9", &[]), 200);
    assert_eq!(status(&srv, "127.0.0.9", &[]), 200);
}
