//! Reload (SIGHUP) and shutdown (SIGTERM) of the real process.

use std::time::Duration;

use crate::harness::{fixtures, Server};

#[test]
fn sighup_reloads_and_a_bad_reload_keeps_the_old_data_serving() {
    let dir = tempfile::tempdir().expect("tmp");
    for e in std::fs::read_dir(fixtures().join("registry")).expect("fixtures") {
        let p = e.expect("entry").path();
        std::fs::copy(&p, dir.path().join(p.file_name().expect("name"))).expect("copy");
    }
    let data = dir.path().to_str().expect("utf-8 path");
    let srv = Server::start(&["--data", data]);
    assert_eq!(srv.get("/domain/fresh.example").status, 404);

    // 1. A valid change is picked up.
    let extra = dir.path().join("zz-new.jsonl");
    std::fs::write(&extra, r#"{"kind":"domain","roid":"D9001-EXAMPLE","name":"fresh.example","statuses":["ok"],"created":"2026-01-01T00:00:00Z","expires":"2027-01-01T00:00:00Z","registrar":1001}"#).expect("write");
    srv.signal("HUP");
    assert!(
        srv.wait_log("generation=2"),
        "reload logged:\n{}",
        srv.log()
    );
    assert_eq!(srv.get("/domain/fresh.example").status, 200);

    // 2. A broken file is refused; the previous generation keeps serving.
    std::fs::write(&extra, "{\"kind\":\"domain\",\"roid\":\"D9001-EXAMPLE\"}\n").expect("write");
    srv.signal("HUP");
    assert!(srv.wait_log("reload refused"), "{}", srv.log());
    assert!(
        srv.log().contains("zz-new.jsonl:1"),
        "the log names file and line:\n{}",
        srv.log()
    );
    assert_eq!(
        srv.get("/domain/fresh.example").status,
        200,
        "old data still served"
    );
    assert_eq!(srv.get("/domain/nic.example").status, 200);

    // 3. Reload is not dead after a failure: fixing the file works.
    std::fs::remove_file(&extra).expect("rm");
    srv.signal("HUP");
    assert!(srv.wait_log("generation=4"), "{}", srv.log());
    assert_eq!(srv.get("/domain/fresh.example").status, 404);
}

#[test]
fn sigterm_drains_and_exits_promptly() {
    let mut srv = Server::start(&[]);
    assert_eq!(srv.get("/help").status, 200);
    // An idle keep-alive connection must not hold shutdown up.
    let idle = std::net::TcpStream::connect(srv.addr).expect("connect");
    // Nor a port 43 client that never finishes its line.
    let mut slow = std::net::TcpStream::connect(srv.whois_addr).expect("connect");
    std::io::Write::write_all(&mut slow, b"nic.exa").expect("write");
    srv.wait_metric("rddsd_open_connections{listener=\"rdap\"}", 1.0);
    srv.wait_metric("rddsd_open_connections{listener=\"whois\"}", 1.0);
    let started = std::time::Instant::now();
    srv.signal("TERM");
    let status = srv
        .wait_exit(Duration::from_secs(15))
        .expect("exited within the drain bound");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        started.elapsed()
    );
    assert!(status.success(), "{status:?}");
    assert!(srv.log().contains("SIGTERM"));
    drop(idle);
    drop(slow);
}

#[test]
fn sigterm_is_not_held_up_by_a_reload_that_hangs() {
    // GIVEN a server whose policy file will be replaced by a named pipe nobody writes to, so
    // the next reload blocks opening it
    let dir = tempfile::tempdir().expect("tmp");
    let policy = dir.path().join("policy.toml");
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/policy/default.toml"),
        &policy,
    )
    .expect("copy policy");
    let policy_arg = policy.to_str().expect("utf-8 path");
    let mut srv = Server::with_config(
        "[service]\nshutdown_grace_secs = 2\n",
        &["--policy", policy_arg],
    );
    std::fs::remove_file(&policy).expect("rm");
    let made = std::process::Command::new("mkfifo")
        .arg(&policy)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    srv.signal("HUP");
    // The server still answers from the old generation while the reload hangs.
    assert_eq!(srv.get("/domain/nic.example").status, 200);
    // WHEN the operator stops it
    let started = std::time::Instant::now();
    srv.signal("TERM");
    // THEN it exits within the grace period (plus process teardown)
    let status = srv
        .wait_exit(Duration::from_secs(10))
        .expect("exited despite the stuck reload");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "shutdown took {:?} with a 2 s grace",
        started.elapsed()
    );
    assert!(status.success(), "{status:?}");
    assert!(!srv.log().contains("reloaded"), "the reload really hung");
}
