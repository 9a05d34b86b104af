//! PostgreSQL, phase 3: state the nodes of a cluster share through the database — the one
//! disclosure log. Each test on a database of its own (see `pgdb`); skipped without a server.

use std::process::Command;
use std::time::Duration;

use crate::harness::{bin, Server};
use crate::pgdb::TestDb;
use crate::postgres::imported;

/// Run the CLI; whether it succeeded, and stdout followed by stderr.
fn run(args: &[&str]) -> (bool, String) {
    let out = Command::new(bin())
        .args(args)
        .env_remove("RDDSD_DATABASE_URL")
        .output()
        .expect("run rddsd");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn ok(args: &[&str]) -> String {
    let (ok, out) = run(args);
    assert!(ok, "{args:?}: {out}");
    out
}

/// A migrated database holding the demo registry, or `None` (skipped).
/// Issue a credential for criminal investigations in the database with the CLI; its token.
fn issue_police_credential(db: &TestDb) -> String {
    let out = ok(&[
        "authority",
        "add",
        "--database",
        &db.url,
        "--authority",
        "Cluster Police",
        "--jurisdiction",
        "CH",
        "--contact",
        "desk@police.example",
        "--purposes",
        "criminal-investigation",
        "--expires",
        "2099-01-01",
    ]);
    out.lines()
        .find_map(|l| l.strip_prefix("secret (shown once, store it safely): "))
        .expect("token")
        .to_string()
}

/// A node serving `db` with `toml` in its config.
fn node(db: &TestDb, toml: &str) -> Server {
    Server::with_config(toml, &["--database", &db.url])
}

const STATEMENT: &[(&str, &str)] = &[
    ("RDDS-Purpose", "criminal-investigation"),
    ("RDDS-Legal-Basis", "Swiss CrimPC Art. 265"),
    ("RDDS-Case-Reference", "CASE-2026-0042"),
];

/// One authority request; its status and request id.
fn disclose(addr: std::net::SocketAddr, token: &str) -> (u16, Option<String>, Vec<u8>) {
    let bearer = format!("Bearer {token}");
    let mut headers: Vec<(&str, &str)> = STATEMENT.to_vec();
    headers.push(("Authorization", &bearer));
    let r = crate::harness::request_at(addr, "GET", "/authority/domain/nic.example", &headers);
    (
        r.status,
        r.header("rdds-request-id").map(str::to_string),
        r.body,
    )
}

/// Three nodes disclose in parallel: one chain in the database, one entry per answer, which
/// `audit verify --database` accepts and whose export the file verifier accepts; a prune keeps
/// it verifiable and the nodes continue it; with the database gone, 503 and nothing disclosed.
#[test]
fn nodes_share_one_disclosure_chain() {
    let Some(db) = imported("nodes_share_one_disclosure_chain") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let creds = dir.path().join("credentials.jsonl");
    let (_, token) =
        crate::harness::issue_credential(&creds, "Cluster Police", "criminal-investigation");
    let toml = format!(
        "[authority]\ncredentials = {:?}\nlog_database = true\nrate_per_minute = 6000\nburst = 100\n",
        creds.to_str().expect("utf-8")
    );
    let nodes: Vec<Server> = (0..3).map(|_| node(&db, &toml)).collect();
    let addrs: Vec<_> = nodes.iter().map(|n| n.addr).collect();
    let threads: Vec<_> = (0..20)
        .map(|i| {
            let (addr, token) = (addrs[i % addrs.len()], token.clone());
            std::thread::spawn(move || disclose(addr, &token))
        })
        .collect();
    let mut ids = Vec::new();
    for t in threads {
        let (status, id, body) = t.join().expect("thread");
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        ids.push(id.expect("request id"));
    }
    let out = ok(&["audit", "verify", "--database", &db.url]);
    assert!(
        out.starts_with("ok: 20 disclosure(s), chain intact"),
        "{out}"
    );
    // One entry per answer, each answer's own.
    for id in &ids {
        assert_eq!(
            db.value(&format!(
                "SELECT count(*) FROM disclosure_log WHERE line::json->'disclosure'->>'requestId' = '{id}'"
            ))
            .as_deref(),
            Some("1"),
            "{id}"
        );
    }
    assert_eq!(
        db.value("SELECT count(*) FROM disclosure_log").as_deref(),
        Some("20")
    );
    let report = ok(&["audit", "report", "--database", &db.url, "--json"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&report)
            .expect("json")
            .as_array()
            .map(Vec::len),
        Some(20)
    );

    // The export is a file log the file verifier accepts, with the same head.
    let file = dir.path().join("export.jsonl");
    let exported = ok(&[
        "audit",
        "export",
        "--database",
        &db.url,
        file.to_str().expect("utf-8"),
    ]);
    assert!(exported.starts_with("exported 20 entries"), "{exported}");
    let verified = ok(&["audit", "verify", file.to_str().expect("utf-8")]);
    let head = |s: &str| {
        s.lines()
            .next()
            .and_then(|l| l.rsplit(' ').next())
            .map(str::to_string)
    };
    assert_eq!(head(&verified), head(&out));

    // Deleting the newest entry is caught by the head row.
    let backup = db
        .value("SELECT line FROM disclosure_log WHERE seq = 20")
        .expect("row");
    db.sql("DELETE FROM disclosure_log WHERE seq = 20")
        .expect("delete");
    let (good, msg) = run(&["audit", "verify", "--database", &db.url]);
    assert!(!good && msg.contains("removed from its end"), "{msg}");
    let e: serde_json::Value = serde_json::from_str(&backup).expect("json");
    db.sql(&format!(
        "INSERT INTO disclosure_log VALUES (20, '{}', '{}', '{}')",
        e["time"].as_str().expect("time"),
        e["hash"].as_str().expect("hash"),
        backup.replace('\'', "''")
    ))
    .expect("restore");

    // A prune of everything older than now leaves a checkpoint the chain continues from.
    std::thread::sleep(Duration::from_millis(1100));
    let now = ok(&["audit", "verify", "--database", &db.url]);
    assert!(now.starts_with("ok: 20"), "{now}");
    let before = db
        .value("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
        .expect("now");
    let pruned = ok(&["audit", "prune", "--database", &db.url, "--before", &before]);
    assert_eq!(
        pruned,
        format!("pruned 20 entries before {before}; 0 kept\n")
    );
    assert_eq!(disclose(addrs[1], &token).0, 200);
    let after = ok(&["audit", "verify", "--database", &db.url]);
    assert!(
        after.starts_with("ok: 1 disclosure(s)") && after.contains("pruned: 20 entries"),
        "{after}"
    );
    let exported = ok(&[
        "audit",
        "export",
        "--database",
        &db.url,
        file.to_str().expect("utf-8"),
    ]);
    assert!(exported.starts_with("exported 2 entries"), "{exported}");
    ok(&["audit", "verify", file.to_str().expect("utf-8")]);

    // The database gone: 503, nothing disclosed.
    db.drop_now();
    let (status, _, body) = disclose(addrs[2], &token);
    assert_eq!(status, 503);
    let body = String::from_utf8_lossy(&body);
    for (what, value) in crate::privacy::secrets() {
        assert!(
            !body.contains(&value),
            "{what} disclosed without a log entry"
        );
    }
}

/// Credentials in the database: issued and revoked with the CLI, read by every node; a
/// revocation reaches both nodes within the refresh time (5 s) plus a second, without SIGHUP.
#[test]
fn a_revocation_in_the_database_reaches_every_node_within_seconds() {
    let Some(db) = imported("a_revocation_in_the_database_reaches_every_node") else {
        return;
    };
    let token = issue_police_credential(&db);
    let id = token.split('_').nth(1).expect("id").to_string();
    let stored = db
        .value("SELECT credential::text FROM authority_credentials")
        .expect("row");
    assert!(
        !stored.contains(token.rsplit('_').next().expect("secret")),
        "{stored}"
    );
    let toml = "[authority]\ncredentials_database = true\nlog_database = true\n";
    let nodes: Vec<Server> = (0..2).map(|_| node(&db, toml)).collect();
    // The first refresh comes right after start.
    let until = std::time::Instant::now() + Duration::from_secs(10);
    for n in &nodes {
        while disclose(n.addr, &token).0 != 200 {
            assert!(std::time::Instant::now() < until, "never accepted");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let revoked = ok(&["authority", "revoke", "--database", &db.url, &id]);
    assert_eq!(
        revoked,
        format!("credential {id} revoked; every node refuses it within 5 s\n")
    );
    let at = std::time::Instant::now();
    for n in &nodes {
        while disclose(n.addr, &token).0 != 401 {
            assert!(
                at.elapsed() < Duration::from_secs(6),
                "still accepted after {:?}",
                at.elapsed()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let list = ok(&["authority", "list", "--database", &db.url]);
    assert!(
        list.contains(&format!("{id}\tCluster Police")) && list.contains("revoked 20"),
        "{list}"
    );
    let (good, msg) = run(&["authority", "revoke", "--database", &db.url, &id]);
    assert!(!good && msg.contains("already revoked"), "{msg}");
    // Every disclosure before the revocation is in the one chain.
    assert!(ok(&["audit", "verify", "--database", &db.url]).starts_with("ok: "));
}

/// The harvesting budget shared by the cluster: a client spends half its daily quota on one
/// node and half on the other, and is then refused by both; a node started afterwards refuses
/// it too (the counts and the block are in the database).
#[test]
fn the_daily_quota_is_one_budget_for_the_cluster() {
    let Some(db) = imported("the_daily_quota_is_one_budget_for_the_cluster") else {
        return;
    };
    let toml = "[database]\nshared_budget = true\n\
                [limits]\nrate_per_second = 100\nburst = 100\ndaily_quota = 10\n";
    let a = node(&db, toml);
    let b = node(&db, toml);
    let status = |n: &Server| n.get("/domain/nic.example").status;
    for _ in 0..5 {
        assert_eq!(status(&a), 200);
    }
    // Past two syncs: B knows A's five.
    std::thread::sleep(Duration::from_millis(2500));
    for _ in 0..5 {
        assert_eq!(status(&b), 200);
    }
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(status(&a), 429, "A counts B's five");
    assert_eq!(status(&b), 429, "B refuses too");
    let total: u32 = db
        .value("SELECT sum(count) FROM harvest_counts")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(total >= 10, "{total}");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        db.value("SELECT count(*) FROM harvest_blocks WHERE network = '127.0.0.1'")
            .as_deref(),
        Some("1")
    );
    // A node restarted (a new process on the same database) refuses it after its first sync.
    drop(a);
    let c = node(&db, toml);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(status(&c), 429, "the restarted node knows the block");
    // Another client is not affected.
    let other = c.get_from("127.0.0.2", "/domain/nic.example", &[]);
    assert_eq!(other.status, 200);
}

/// Every connection of a node terminated (`pg_terminate_backend`): the next disclosure is
/// recorded on a new connection and answered, without a restart; the credentials' next refresh
/// does not lose them; and the chain stays whole.
#[test]
fn disclosures_recover_when_every_connection_is_terminated() {
    let Some(db) = imported("disclosures_recover_when_every_connection_is_terminated") else {
        return;
    };
    let token = issue_police_credential(&db);
    let toml = "[authority]\ncredentials_database = true\nlog_database = true\n";
    let n = node(&db, toml);
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while disclose(n.addr, &token).0 != 200 {
        assert!(std::time::Instant::now() < until, "never accepted");
        std::thread::sleep(Duration::from_millis(100));
    }
    let killed = db.value(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    );
    assert!(
        killed.is_some_and(|k| k.parse::<u32>().unwrap_or(0) >= 2),
        "terminated"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(disclose(n.addr, &token).0, 200, "recovered at once");
    // Past the credentials' next refresh, which found its connection ended too.
    std::thread::sleep(Duration::from_millis(5500));
    assert_eq!(disclose(n.addr, &token).0, 200, "credentials kept");
    let out = ok(&["audit", "verify", "--database", &db.url]);
    assert!(out.starts_with("ok: 3 disclosure(s)"), "{out}");
}

/// The cluster commands on a database without the schema say what to do, and change nothing.
#[test]
fn cluster_commands_need_the_current_schema() {
    let Some(db) = TestDb::fresh("cluster_commands_need_the_current_schema") else {
        return;
    };
    for args in [
        vec!["audit", "verify", "--database", &db.url],
        vec![
            "audit",
            "prune",
            "--database",
            &db.url,
            "--before",
            "2020-01-01",
        ],
        vec!["authority", "list", "--database", &db.url],
        vec![
            "authority",
            "revoke",
            "--database",
            &db.url,
            "0123456789abcdef",
        ],
    ] {
        let (good, msg) = run(&args);
        assert!(
            !good && msg.contains("run `rddsd db migrate` first"),
            "{args:?}: {msg}"
        );
        assert!(!msg.contains(&db.url), "the URL is not printed: {msg}");
    }
    let (good, msg) = run(&["audit", "verify"]);
    assert!(!good && msg.contains("<LOG>"), "{msg}");
}

/// A replica node and a direct node on one database (issue #24): the credentials, the one
/// disclosure chain and the harvesting budget in the database work the same for both modes.
#[test]
fn a_replica_and_a_direct_node_share_credentials_log_and_budget() {
    let Some(db) = imported("a_replica_and_a_direct_node_share") else {
        return;
    };
    let token = issue_police_credential(&db);
    let shared = "[authority]\ncredentials_database = true\nlog_database = true\n\
                  [limits]\nrate_per_second = 100\nburst = 100\ndaily_quota = 6\n";
    let replica = node(
        &db,
        &format!("{shared}[database]\nmode = \"replica\"\nshared_budget = true\n"),
    );
    let direct = node(&db, &format!("{shared}[database]\nshared_budget = true\n"));
    let until = std::time::Instant::now() + Duration::from_secs(10);
    for n in [&replica, &direct] {
        while disclose(n.addr, &token).0 != 200 {
            assert!(std::time::Instant::now() < until, "never accepted");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let verified = ok(&["audit", "verify", "--database", &db.url]);
    assert!(verified.starts_with("ok: "), "{verified}");
    let entries: u32 = db
        .value("SELECT count(*) FROM disclosure_log")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(
        entries >= 2,
        "both nodes logged into the one chain: {entries}"
    );
    // The public budget: three lookups on each node spend the daily quota of six.
    let status = |n: &Server| n.get_from("127.0.0.3", "/domain/nic.example", &[]).status;
    for _ in 0..3 {
        assert_eq!(status(&replica), 200);
    }
    std::thread::sleep(Duration::from_millis(2500));
    for _ in 0..3 {
        assert_eq!(status(&direct), 200);
    }
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        status(&replica),
        429,
        "the replica counts the direct node's lookups"
    );
    assert_eq!(status(&direct), 429);
}
