//! PostgreSQL, phase 1: `rddsd db migrate|import|export` and `rddsd check --database`, run as
//! the real binary against a real server, each test on a database of its own (see `pgdb`).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use futures_util::StreamExt;

use crate::harness::{bin, fixtures};
use crate::pgdb::{runtime, TestDb};

/// A fresh database for this test, or return (skipped) when there is no server to use.
macro_rules! fresh_db {
    ($test:expr) => {
        match TestDb::fresh($test) {
            Some(db) => db,
            None => return,
        }
    };
}

/// Run the CLI with extra environment; whether it succeeded, its stdout, its stderr.
fn run(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let out = Command::new(bin())
        .args(args)
        // Only what the test gives: a variable in the test's own environment must not leak in.
        .env_remove("RDDSD_DATABASE_URL")
        .envs(env.iter().copied())
        .output()
        .expect("run rddsd");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(args: &[&str]) -> String {
    let (ok, out, err) = run(args, &[]);
    assert!(ok, "{args:?}: {out}{err}");
    out
}

pub(crate) fn migrated(test: &str) -> Option<TestDb> {
    let db = TestDb::fresh(test)?;
    ok(&["db", "migrate", "--database", &db.url]);
    Some(db)
}

pub(crate) fn imported(test: &str) -> Option<TestDb> {
    let db = migrated(test)?;
    let demo = fixtures().join("registry");
    ok(&[
        "db",
        "import",
        "--database",
        &db.url,
        demo.to_str().expect("utf-8"),
    ]);
    Some(db)
}

/// Every record of a data set as comparable text: what the loader made of it, contacts field
/// by field (their `Debug` hides personal data).
fn records(dir: &Path) -> Vec<String> {
    let snap = rddsd::registry::load::load_dir(dir, rddsd::registry::load::LoadOptions::STRICT)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut out = vec![format!("{:?} {}", snap.tlds(), snap.updated().text())];
    out.extend(snap.registrars().iter().map(|r| format!("{r:?}")));
    out.extend(snap.contacts().iter().map(|c| {
        format!(
            "{:?} {} {:?} {:?} {} {:?} {:?} {} {:?} {:?} {} {:?} {:?}",
            c.roid,
            c.name(),
            c.org(),
            c.street().iter().collect::<Vec<_>>(),
            c.city(),
            c.sp(),
            c.pc(),
            c.cc(),
            c.voice().map(|p| p.tel_uri()),
            c.fax().map(|p| p.tel_uri()),
            c.email(),
            c.person,
            c.consent,
        )
    }));
    out.extend(snap.hosts().iter().map(|h| format!("{h:?}")));
    out.extend(snap.domains().iter().map(|d| format!("{d:?}")));
    out
}

#[test]
fn migrate_twice_is_a_no_op() {
    let db = fresh_db!("migrate_twice_is_a_no_op");
    let first = ok(&["db", "migrate", "--database", &db.url]);
    assert_eq!(
        first,
        "applied 0001_registration_data\napplied 0002_serving\napplied 0003_cluster\napplied 0004_search\napplied 0005_requests\nschema at version 5\n"
    );
    // The second run takes its URL from the environment.
    let (ok2, second, err) = run(&["db", "migrate"], &[("RDDSD_DATABASE_URL", &db.url)]);
    assert!(ok2, "{second}{err}");
    assert_eq!(second, "schema already at version 5: nothing to do\n");
    assert_eq!(
        db.value("SELECT string_agg(version || ' ' || name, ',' ORDER BY version) FROM schema_migrations")
            .as_deref(),
        Some("1 registration_data,2 serving,3 cluster,4 search,5 requests")
    );
}

#[test]
fn parallel_first_migrations_apply_once() {
    let db = fresh_db!("parallel_first_migrations_apply_once");
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let url = db.url.clone();
            std::thread::spawn(move || {
                Command::new(bin())
                    .args(["db", "migrate", "--database", &url])
                    .env_remove("RDDSD_DATABASE_URL")
                    .output()
                    .expect("run")
            })
        })
        .collect();
    let outs: Vec<String> = handles
        .into_iter()
        .map(|h| {
            let o = h.join().expect("thread");
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            String::from_utf8_lossy(&o.stdout).into_owned()
        })
        .collect();
    // Each migration is applied by exactly one of the runs (each step takes the lock on its
    // own, so two runs may share the work), and every run ends at the latest version.
    for m in ["applied 0001", "applied 0002"] {
        assert_eq!(
            outs.iter().filter(|o| o.contains(m)).count(),
            1,
            "{m}: {outs:?}"
        );
    }
    assert!(
        outs.iter().all(|o| o.ends_with("schema at version 5\n")
            || o.ends_with("schema already at version 5: nothing to do\n")),
        "{outs:?}"
    );
}

#[test]
fn a_newer_schema_is_refused() {
    let Some(db) = migrated("a_newer_schema_is_refused") else {
        return;
    };
    db.sql("INSERT INTO schema_migrations (version, name) VALUES (6, 'from_the_future')")
        .expect("insert");
    let (ok, out, err) = run(&["db", "migrate", "--database", &db.url], &[]);
    assert!(!ok, "{out}");
    assert!(
        err.contains(
            "the database schema is at version 6, newer than this rddsd knows (version 5)"
        ),
        "{err}"
    );
    // The other commands refuse it too, before touching anything.
    let demo = fixtures().join("registry");
    let (ok, _, err) = run(
        &[
            "db",
            "import",
            "--database",
            &db.url,
            demo.to_str().expect("utf-8"),
        ],
        &[],
    );
    assert!(!ok && err.contains("version 6"), "{err}");
    let (ok, _, err) = run(&["check", "--database", &db.url], &[]);
    assert!(!ok && err.contains("version 6"), "{err}");
    assert_eq!(
        db.value("SELECT count(*) FROM domains").as_deref(),
        Some("0")
    );
    assert_eq!(
        db.value("SELECT count(*) FROM schema_migrations")
            .as_deref(),
        Some("6")
    );
}

#[test]
fn a_database_without_the_schema_is_sent_to_migrate() {
    let db = fresh_db!("a_database_without_the_schema_is_sent_to_migrate");
    let (ok, _, err) = run(&["check", "--database", &db.url], &[]);
    assert!(!ok);
    assert!(err.contains("run `rddsd db migrate` first"), "{err}");
}

#[test]
fn import_then_export_gives_the_same_records() {
    let Some(db) = migrated("import_then_export_gives_the_same_records") else {
        return;
    };
    let demo = fixtures().join("registry");
    let out = ok(&[
        "db",
        "import",
        "--database",
        &db.url,
        demo.to_str().expect("utf-8"),
    ]);
    assert!(
        out.starts_with("imported 34 domains, 9 hosts, 20 contacts, 4 registrars in "),
        "{out}"
    );
    // One `all` change for the whole import, not one per row.
    assert_eq!(
        db.value("SELECT string_agg(kind, ',') FROM changes")
            .as_deref(),
        Some("all")
    );
    let dir = tempfile::tempdir().expect("tmp");
    let out = ok(&[
        "db",
        "export",
        "--database",
        &db.url,
        dir.path().to_str().expect("utf-8"),
    ]);
    assert!(
        out.starts_with("exported 34 domains, 9 hosts, 20 contacts, 4 registrars to "),
        "{out}"
    );
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("read")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut want: Vec<String> = std::fs::read_dir(&demo)
        .expect("read")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    want.sort();
    assert_eq!(names, want, "the data dir's file names, nothing else");
    let (before, after) = (records(&demo), records(dir.path()));
    assert_eq!(before.len(), 1 + 4 + 20 + 9 + 34);
    assert_eq!(before, after);

    // A second import replaces the data rather than adding to it.
    ok(&[
        "db",
        "import",
        "--database",
        &db.url,
        dir.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(
        db.value("SELECT count(*) FROM domains").as_deref(),
        Some("34")
    );
    assert_eq!(
        db.value("SELECT count(*) FROM domain_statuses").as_deref(),
        Some("49")
    );
}

#[test]
fn a_refused_data_dir_leaves_the_tables_untouched() {
    let Some(db) = imported("a_refused_data_dir_leaves_the_tables_untouched") else {
        return;
    };
    let bad = tempfile::tempdir().expect("tmp");
    for entry in std::fs::read_dir(fixtures().join("registry")).expect("fixtures") {
        let path = entry.expect("entry").path();
        let mut text = std::fs::read_to_string(&path).expect("read");
        if path.ends_with("contacts.jsonl") {
            text = text.replacen(r#""cc":"CA""#, r#""cc":"Canada""#, 1);
        }
        if path.ends_with("domains.jsonl") {
            text = text.replace("2027-05-17T14:22:03Z", "2030-01-01T00:00:00Z");
        }
        std::fs::write(bad.path().join(path.file_name().expect("name")), text).expect("write");
    }
    let dir = bad.path().to_str().expect("utf-8");
    let (ok, _, import_err) = run(&["db", "import", "--database", &db.url, dir], &[]);
    assert!(!ok);
    let (_, _, check_err) = run(&["check", "--data", dir], &[]);
    assert_eq!(import_err, check_err, "reported exactly as check does");
    assert!(
        import_err.contains("contacts.jsonl:1: field `cc`: not an ISO 3166-1 alpha-2 country code"),
        "{import_err}"
    );
    assert!(!import_err.contains("Canada"), "no values: {import_err}");
    // Nothing of the refused set went in: the old expiry dates and country are still there.
    assert_eq!(
        db.value("SELECT count(*) FROM domains").as_deref(),
        Some("34")
    );
    assert_eq!(
        db.value("SELECT count(*) FROM domains WHERE expires = '2030-01-01T00:00:00Z'")
            .as_deref(),
        Some("0")
    );
    assert_eq!(
        db.value("SELECT cc FROM contacts WHERE roid = 'C101-EXAMPLE'")
            .as_deref(),
        Some("CA")
    );
    assert_eq!(
        db.value("SELECT count(*) FROM changes").as_deref(),
        Some("1")
    );
}

#[test]
fn check_database_passes_on_a_clean_import() {
    let Some(db) = imported("check_database_passes_on_a_clean_import") else {
        return;
    };
    let (ok, out, err) = run(&["check"], &[("RDDSD_DATABASE_URL", &db.url)]);
    assert!(ok, "{out}{err}");
    assert_eq!(
        out,
        "ok: 34 domains, 9 hosts, 20 contacts, 4 registrars; policy valid\n"
    );
    // `--data` wins over the environment.
    let (ok, out, _) = run(
        &["check", "--data", "/nonexistent"],
        &[("RDDSD_DATABASE_URL", &db.url)],
    );
    assert!(!ok, "{out}");
}

#[test]
fn constraints_refuse_what_sql_can_state() {
    let Some(db) = imported("constraints_refuse_what_sql_can_state") else {
        return;
    };
    for (sql, needle) in [
        (
            "UPDATE domains SET registrar = 4242 WHERE name = 'nic.example'",
            "foreign key",
        ),
        (
            "INSERT INTO domain_contacts VALUES ('nic.example', 'admin', 'C101-EXAMPLE')",
            "check constraint",
        ),
        (
            "INSERT INTO domain_contacts VALUES ('nic.example', 'registrant', 'C999-EXAMPLE')",
            "duplicate key",
        ),
        (
            "INSERT INTO domain_statuses VALUES ('nic.example', 'serverDeleteProhibited', 9)",
            "duplicate key",
        ),
        (
            "INSERT INTO domains (name, roid, created, expires, registrar) VALUES ('a.b.example', 'D9-EXAMPLE', now(), now() + interval '1 year', 1001)",
            "foreign key",
        ),
        (
            "UPDATE domains SET expires = created WHERE name = 'nic.example'",
            "check constraint",
        ),
        (
            "UPDATE contacts SET street = '{a,b,c,d}' WHERE roid = 'C101-EXAMPLE'",
            "check constraint",
        ),
        (
            "UPDATE contacts SET name = E'x\\u2028Registrant Email: x' WHERE roid = 'C101-EXAMPLE'",
            "check constraint",
        ),
        (
            "UPDATE contacts SET roid = 'c101-example' WHERE roid = 'C102-EXAMPLE'",
            "duplicate key",
        ),
        (
            "INSERT INTO host_addresses VALUES ('ns1.nic.example', 9, '127.0.0.1')",
            "check constraint",
        ),
        (
            "UPDATE domain_ds SET digest = 'AB' WHERE domain = 'nic.example'",
            "check constraint",
        ),
        (
            "DELETE FROM hosts WHERE name = 'ns1.nic.example'",
            "foreign key",
        ),
    ] {
        let e = db.sql(sql).expect_err(sql);
        assert!(e.contains(needle), "{sql}: {e}");
    }
    assert_eq!(
        db.value("SELECT count(*) FROM changes").as_deref(),
        Some("1")
    );
}

#[test]
fn check_database_names_table_and_key() {
    let Some(db) = imported("check_database_names_table_and_key") else {
        return;
    };
    // Rules no constraint states: a status combination, and a ROID shared by a host and a
    // contact (unique per table, not across them).
    db.sql(
        "INSERT INTO domain_statuses VALUES ('xn--bcher-kva.example', 'clientHold', 1); \
         UPDATE hosts SET roid = 'C101-EXAMPLE' WHERE name = 'ns1.nic.example'",
    )
    .expect("plain SQL");
    let (ok, out, err) = run(&["check", "--database", &db.url], &[]);
    assert!(!ok, "{out}");
    assert_eq!(
        err,
        "rddsd: registration data refused:\n\
         domains[xn--bcher-kva.example]: field `statuses`: status ok cannot be combined with other EPP statuses (only with RGP statuses such as addPeriod)\n\
         hosts[ns1.nic.example]: field `roid`: this ROID is already used at contacts[C101-EXAMPLE]\n"
    );
    // With the values on request, and without leaving a copy of the data behind in the
    // temporary directory the check exports into.
    let tmp = tempfile::tempdir().expect("tmp");
    let (_, _, shown) = run(
        &["check", "--database", &db.url, "--show-values"],
        &[("TMPDIR", tmp.path().to_str().expect("utf-8"))],
    );
    assert!(shown.contains("(value: C101-EXAMPLE)"), "{shown}");
    assert_eq!(
        std::fs::read_dir(tmp.path()).expect("tmp").count(),
        0,
        "no export left behind"
    );
}

#[test]
fn changes_are_recorded_and_notified() {
    let Some(db) = imported("changes_are_recorded_and_notified") else {
        return;
    };
    let rt = runtime();
    let (client, mut rx) = rt.block_on(async {
        let (client, mut conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
        tokio::spawn(messages.for_each(move |m| {
            if let Ok(tokio_postgres::AsyncMessage::Notification(n)) = m {
                let _ = tx.send(n.payload().to_string());
            }
            std::future::ready(())
        }));
        client
            .batch_execute("LISTEN rddsd_changes")
            .await
            .expect("listen");
        (client, rx)
    });
    db.sql(
        "UPDATE domains SET updated = now() WHERE name = 'nic.example'; \
         DELETE FROM domain_ds WHERE domain = 'xn--caf-dma.example'; \
         UPDATE contacts SET city = 'Elsewhere' WHERE roid = 'C101-EXAMPLE'",
    )
    .expect("changes");
    let serial = rt.block_on(async {
        let mut last = String::new();
        while let Ok(Some(p)) = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
            last = p;
            if last == "4" {
                break;
            }
        }
        last
    });
    drop(client);
    assert_eq!(serial, "4", "the newest serial is notified");
    let rows = db
        .sql("SELECT serial, kind, key FROM changes ORDER BY serial")
        .expect("changes");
    let rows: Vec<String> = rows
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|v| v.unwrap_or_default())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert_eq!(
        rows,
        [
            "1 all ",
            "2 domain nic.example",
            "3 domain xn--caf-dma.example",
            "4 contact C101-EXAMPLE",
        ]
    );
}

#[test]
fn connection_errors_name_the_target_but_not_the_password() {
    // No server needed: nothing listens on port 1.
    for args in [
        vec!["db", "migrate", "--database"],
        vec!["check", "--database"],
    ] {
        let mut args = args.clone();
        args.push("postgres://rddsd:sekrit-pw@127.0.0.1:1/registry");
        let (ok, out, err) = run(&args, &[]);
        assert!(!ok, "{out}");
        assert!(
            err.starts_with(
                "rddsd: cannot connect to PostgreSQL at host 127.0.0.1 port 1 database registry user rddsd: "
            ),
            "{err}"
        );
        assert!(!err.contains("sekrit"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let (ok, _, err) = run(
        &[
            "db",
            "migrate",
            "--database",
            "postgres://u:sekrit@h:port/db",
        ],
        &[],
    );
    assert!(!ok);
    assert!(err.contains("the database URL is not valid"), "{err}");
    assert!(!err.contains("sekrit"), "{err}");
}

// ===== phase 2: `rddsd serve` with the postgres backend =====

/// The fixture contact's personal value that `text` holds, if any. Short all-digit values (a
/// postal code, a phone extension) also occur in lengths and times, so they are looked for as
/// the JSON string or WHOIS field value a leak would be (the privacy test does the same).
pub(crate) fn leaked(text: &str) -> Option<String> {
    let text = text.to_lowercase();
    crate::privacy::secrets()
        .into_iter()
        .find_map(|(what, value)| {
            let value = value.to_lowercase();
            let hit = if value.len() <= 6 && value.bytes().all(|b| b.is_ascii_digit()) {
                text.contains(&format!("\"{value}\"")) || text.contains(&format!(": {value}\r"))
            } else {
                text.contains(&value)
            };
            hit.then_some(what)
        })
}

/// The base URL both backends are started with, so request URLs in the answers agree.
pub(crate) const BASE: &str = "http://rdap.test/";

/// A node serving `db`, budgets off, with `toml` in its config.
pub(crate) fn node(db: &TestDb, toml: &str) -> crate::harness::Server {
    crate::harness::Server::with_config(toml, &["--base-url", BASE, "--database", &db.url])
}

pub(crate) fn status_of(srv: &crate::harness::Server, path: &str) -> Vec<String> {
    let d = srv.get(path).json();
    d["status"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Every public answer of the demo registry, RDAP and WHOIS, is byte for byte the JSON Lines
/// backend's answer: rendered fresh, rendered for the cache, and from the cache.
#[test]
fn the_database_backend_answers_exactly_as_the_jsonl_backend() {
    answers_exactly_as_the_jsonl_backend(
        "the_database_backend_answers_exactly_as_the_jsonl_backend",
        "",
    );
}

/// The body of the test above, for a node with `toml` in its config (a mode).
pub(crate) fn answers_exactly_as_the_jsonl_backend(test: &str, toml: &str) {
    let Some(db) = imported(test) else {
        return;
    };
    let jsonl = crate::harness::Server::start(&["--base-url", BASE]);
    let pg = node(&db, toml);
    let mut paths = crate::privacy::public_paths();
    for ip in [
        "198.51.100.53",
        "2001:db8:53::1",
        "203.0.113.10",
        "192.0.2.99",
    ] {
        paths.push(format!("/nameservers?ip={ip}"));
    }
    for path in &paths {
        let want = jsonl.get(path);
        for round in 0..3 {
            let got = pg.get(path);
            assert_eq!(got.status, want.status, "{path} (request {round})");
            assert_eq!(
                String::from_utf8_lossy(&got.body),
                String::from_utf8_lossy(&want.body),
                "{path} (request {round})"
            );
        }
    }
    assert!(
        pg.metric("rddsd_cache_requests_total{result=\"hit\"}")
            .is_some_and(|n| n > 0.0),
        "the third requests came from the cache"
    );
    for q in crate::privacy::whois_queries() {
        let want = jsonl.whois_raw(&q);
        let got = pg.whois_raw(&q);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "whois {}",
            String::from_utf8_lossy(&q)
        );
    }
}

/// Two nodes on one database: an UPDATE is served by both within a second; an answer whose
/// records did not change stays cached.
#[test]
fn two_nodes_serve_an_update_within_a_second_and_keep_the_rest_cached() {
    let Some(db) = imported("two_nodes_serve_an_update_within_a_second") else {
        return;
    };
    let nodes = [node(&db, ""), node(&db, "")];
    for n in &nodes {
        n.wait_metric("rddsd_database_up", 1.0);
        for path in [
            "/domain/nic.example",
            "/domain/xn--bcher-kva.example",
            "/entity/C101-EXAMPLE",
        ] {
            for _ in 0..3 {
                assert_eq!(n.get(path).status, 200, "{path}");
            }
        }
        assert!(!status_of(n, "/domain/nic.example").contains(&"client hold".to_string()));
    }
    db.sql(
        "BEGIN; \
         UPDATE domain_statuses SET status = 'clientHold' \
             WHERE domain = 'nic.example' AND status = 'serverUpdateProhibited'; \
         UPDATE contacts SET sp = 'Nunavut' WHERE roid = 'C101-EXAMPLE'; \
         COMMIT",
    )
    .expect("update");
    let committed = std::time::Instant::now();
    for n in &nodes {
        loop {
            let held = status_of(n, "/domain/nic.example").contains(&"client hold".to_string());
            let moved =
                String::from_utf8_lossy(&n.get("/entity/C101-EXAMPLE").body).contains("Nunavut");
            if held && moved {
                break;
            }
            assert!(
                committed.elapsed() < Duration::from_secs(1),
                "the update was not served within 1 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    // The contact's change reaches the answers of the domains it is a contact of, too.
    for n in &nodes {
        assert!(
            String::from_utf8_lossy(&n.get("/domain/xn--caf-dma.example").body).contains("Nunavut")
        );
        let hits = n
            .metric("rddsd_cache_requests_total{result=\"hit\"}")
            .expect("hits");
        assert_eq!(n.get("/domain/xn--bcher-kva.example").status, 200);
        assert_eq!(
            n.metric("rddsd_cache_requests_total{result=\"hit\"}"),
            Some(hits + 1.0),
            "an answer none of whose records changed is still served from the cache"
        );
    }
}

/// Every rddsd connection terminated: the nodes reconnect by themselves, answer, and follow
/// changes again.
#[test]
fn nodes_recover_when_every_connection_is_terminated() {
    let Some(db) = imported("nodes_recover_when_every_connection_is_terminated") else {
        return;
    };
    let nodes = [node(&db, ""), node(&db, "")];
    for n in &nodes {
        n.wait_metric("rddsd_database_up", 1.0);
        // Cached: the change below must reach it through the reconnected listener.
        for _ in 0..3 {
            assert_eq!(n.get("/domain/nic.example").status, 200);
        }
    }
    let killed = db.value(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = 'rddsd'",
    );
    assert!(
        killed.is_some_and(|k| k.parse::<u32>().unwrap_or(0) >= 2),
        "listeners and pools"
    );
    db.sql(
        "UPDATE domain_statuses SET status = 'clientHold' \
         WHERE domain = 'nic.example' AND status = 'serverUpdateProhibited'",
    )
    .expect("update");
    let since = std::time::Instant::now();
    for n in &nodes {
        while !status_of(n, "/domain/nic.example").contains(&"client hold".to_string()) {
            assert!(since.elapsed() < Duration::from_secs(10), "never recovered");
            std::thread::sleep(Duration::from_millis(50));
        }
        n.wait_metric("rddsd_database_up", 1.0);
        assert_eq!(n.get("/domain/xn--bcher-kva.example").status, 200);
        assert!(n.whois("nic.example").contains("clientHold"));
    }
}

/// The database gone: a cached answer is served within the staleness bound, anything else is
/// 503 with Retry-After (RDAP) or a `%ERROR:` line (port 43), and no error answer carries a
/// fixture contact's personal value. With `max_stale_secs = 0`, the cache stands in for nothing.
#[test]
fn an_unreachable_database_is_503_and_an_error_line_and_leaks_nothing() {
    let Some(db) = imported("an_unreachable_database_is_503") else {
        return;
    };
    let lenient = node(&db, "");
    let strict = node(&db, "[database]\nmax_stale_secs = 0\n");
    for n in [&lenient, &strict] {
        n.wait_metric("rddsd_database_up", 1.0);
        for _ in 0..3 {
            assert_eq!(n.get("/domain/nic.example").status, 200);
        }
    }
    // Drop the database under them (terminating their connections).
    db.drop_now();
    for n in [&lenient, &strict] {
        n.wait_metric("rddsd_database_up", 0.0);
        let ready = n.admin_get("/readyz");
        assert_eq!(
            ready.status, 200,
            "a node that can answer from its cache stays ready"
        );
        assert!(String::from_utf8_lossy(&ready.body).contains("database: unreachable"));
    }
    assert_eq!(lenient.get("/domain/nic.example").status, 200, "cached");
    assert_eq!(
        strict.get("/domain/nic.example").status,
        503,
        "past the bound"
    );
    for n in [&lenient, &strict] {
        let r = n.get("/domain/xn--caf-dma.example");
        assert_eq!(r.status, 503);
        assert_eq!(r.header("retry-after"), Some("5"));
        assert_eq!(r.json()["errorCode"], 503);
        for path in crate::privacy::public_paths() {
            let r = n.get(&path);
            if r.status == 200 {
                continue;
            }
            let text = String::from_utf8_lossy(&r.raw);
            assert_eq!(leaked(&text), None, "{path}: {text}");
        }
        for q in crate::privacy::whois_queries() {
            let text = String::from_utf8_lossy(&n.whois_raw(&q)).to_string();
            assert_eq!(leaked(&text), None, "{text}");
        }
        let line = n.whois("xn--caf-dma.example");
        assert!(line.starts_with("%ERROR:209:"), "{line}");
        assert_eq!(leaked(&n.log()), None, "the log");
    }
}

/// A row that breaks a rule only the loader states (not a constraint) cannot be represented:
/// it is left out alone, as a load leaves it out (issue 23; this answered 500 before). The
/// contact's own lookup is not found, the domain that shows it is answered without it, and
/// the log names table, key and field, not the value.
#[test]
fn a_record_breaking_the_data_rules_is_left_out_and_named_in_the_log() {
    let Some(db) = imported("a_record_breaking_the_data_rules_is_left_out") else {
        return;
    };
    let n = node(&db, "");
    // A two-letter code, as the constraint wants, but no ISO 3166 country.
    db.sql("UPDATE contacts SET cc = 'ZZ' WHERE roid = 'C101-EXAMPLE'")
        .expect("update");
    let r = n.get("/entity/C101-EXAMPLE");
    assert_eq!(r.status, 404, "{}", String::from_utf8_lossy(&r.body));
    let r = n.get("/domain/xn--caf-dma.example");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let registrants = r.json()["entities"]
        .as_array()
        .map(|es| {
            es.iter()
                .filter(|e| {
                    e["roles"]
                        .as_array()
                        .is_some_and(|rs| rs.iter().any(|x| x == "registrant"))
                })
                .count()
        })
        .unwrap_or(0);
    assert_eq!(registrants, 0, "served without the contact left out");
    assert!(n
        .whois("xn--caf-dma.example")
        .starts_with("Domain Name: xn--caf-dma.example"));
    assert_eq!(
        n.get("/domain/nic.example").status,
        200,
        "other answers are unaffected"
    );
    assert!(
        n.wait_log("table contacts key C101-EXAMPLE field `cc`"),
        "{}",
        n.log()
    );
    assert!(!n.log().contains("Trois-Pistoles"));
}

/// A row whose free text holds a line separator or a bidi control (possible in a database
/// whose constraint was dropped or predates it) is served made safe (200), not 500.
#[test]
fn a_record_with_a_value_that_can_be_made_safe_is_served() {
    let Some(db) = imported("a_record_with_a_value_that_can_be_made_safe") else {
        return;
    };
    let n = node(&db, "");
    db.sql("ALTER TABLE contacts DROP CONSTRAINT contacts_name_check")
        .expect("drop the constraint");
    db.sql("UPDATE contacts SET name = E'x\\u2028Registrant Email: forged\\u202E' WHERE roid = 'C101-EXAMPLE'")
        .expect("update");
    let r = n.get("/domain/xn--caf-dma.example");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let body = String::from_utf8_lossy(&r.body).to_string();
    assert!(
        !body.contains('\u{2028}') && !body.contains('\u{202E}'),
        "{body}"
    );
    let whois = n.whois("xn--caf-dma.example");
    assert!(
        !whois.contains('\u{2028}') && !whois.contains('\u{202E}'),
        "{whois}"
    );
    assert!(
        !whois
            .lines()
            .any(|l| l.starts_with("Registrant Email: forged")),
        "{whois}"
    );
    assert!(!n.log().contains("forged"));
}

/// The authority route reads the same database: a disclosure from it, and with the database
/// gone a 503 that discloses nothing and logs nothing.
#[test]
fn the_authority_route_discloses_from_the_database_and_nothing_without_it() {
    let Some(db) = imported("the_authority_route_discloses_from_the_database") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let creds = dir.path().join("credentials.jsonl");
    let log = dir.path().join("disclosures.jsonl");
    let (_, token) = crate::harness::issue_credential(&creds, "Example Police", "court-order");
    let config = format!(
        "[authority]\ncredentials = {:?}\nlog = {:?}\n",
        creds.to_str().expect("utf-8"),
        log.to_str().expect("utf-8")
    );
    let n = node(&db, &config);
    let bearer = format!("Bearer {token}");
    let headers = [
        ("Authorization", bearer.as_str()),
        ("RDDS-Purpose", "court-order"),
        ("RDDS-Legal-Basis", "Order 7"),
        ("RDDS-Case-Reference", "PG-1"),
    ];
    let lines = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .count()
    };
    let r = n.request("GET", "/authority/entity/C101-EXAMPLE", &headers);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(String::from_utf8_lossy(&r.body).contains("Aurelie Vantongeren"));
    let logged = lines();
    assert!(logged >= 1);
    db.drop_now();
    n.wait_metric("rddsd_database_up", 0.0);
    let r = n.request("GET", "/authority/entity/C101-EXAMPLE", &headers);
    assert_eq!(r.status, 503);
    assert!(r.header("retry-after").is_some());
    let text = String::from_utf8_lossy(&r.raw);
    assert_eq!(leaked(&text), None, "{text}");
    assert_eq!(lines(), logged, "nothing disclosed, nothing logged");
}

/// A database that does not answer in time (a table locked by another session) costs each
/// lookup at most about its statement timeout: 503 then, while the cache, the help answer and
/// the admin listener keep answering at once. Nothing waits on a runtime thread.
#[test]
fn a_slow_database_is_503_within_the_statement_timeout_and_stalls_nothing() {
    let Some(db) = imported("a_slow_database_is_503_within_the_statement_timeout") else {
        return;
    };
    let n = std::sync::Arc::new(node(
        &db,
        "[database]\npool_size = 2\nstatement_timeout_ms = 300\nqueue_timeout_ms = 200\n",
    ));
    n.wait_metric("rddsd_database_up", 1.0);
    for _ in 0..3 {
        assert_eq!(n.get("/domain/nic.example").status, 200);
    }
    let rt = runtime();
    let locker = rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(conn);
        client
            .batch_execute("BEGIN; LOCK TABLE domains IN ACCESS EXCLUSIVE MODE")
            .await
            .expect("lock");
        client
    });
    // More lookups at once than the pool has connections: some wait in the queue (200 ms),
    // the others for the statement (300 ms); none longer.
    let started = std::time::Instant::now();
    let slow: Vec<_> = (0..6)
        .map(|i| {
            let n = std::sync::Arc::clone(&n);
            std::thread::spawn(move || {
                let t = std::time::Instant::now();
                let r = n.get(&format!("/domain/d{i}.example"));
                (
                    r.status,
                    r.header("retry-after").map(str::to_string),
                    t.elapsed(),
                )
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(50));
    let t = std::time::Instant::now();
    assert_eq!(n.get("/domain/nic.example").status, 200, "cached");
    assert_eq!(n.get("/help").status, 200);
    assert_eq!(n.admin_get("/readyz").status, 200);
    assert!(
        t.elapsed() < Duration::from_millis(200),
        "{:?}",
        t.elapsed()
    );
    for h in slow {
        let (status, retry, took) = h.join().expect("thread");
        assert_eq!(status, 503);
        assert_eq!(retry.as_deref(), Some("5"));
        assert!(took < Duration::from_secs(2), "{took:?}");
    }
    assert!(started.elapsed() < Duration::from_secs(3));
    rt.block_on(locker.batch_execute("ROLLBACK"))
        .expect("release the lock");
    // The lock released, lookups answer again.
    let until = std::time::Instant::now() + Duration::from_secs(5);
    while n.get("/domain/xn--bcher-kva.example").status != 200 {
        assert!(std::time::Instant::now() < until, "never answered again");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Searches on the authority route read the database through their own statements, and answer
/// exactly as the JSON Lines backend does: the same objects in the same order, the same pages
/// and cursors, the same truncation, the same log entries. Both backends run a policy that
/// also lets consumer protection search, which sees no technical contact field: the SQL must
/// leave out exactly the contacts the in-memory search leaves out.
#[test]
fn searches_from_the_database_answer_as_from_memory() {
    searches_answer_as_from_memory("searches_from_the_database_answer_as_from_memory", "");
}

/// The body of the test above, for a node with `mode` added to its config.
pub(crate) fn searches_answer_as_from_memory(test: &str, mode: &str) {
    let Some(db) = imported(test) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let creds = dir.path().join("credentials.jsonl");
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        rddsd::policy::DEFAULT_POLICY.replace(
            "[purpose.consumer-protection]\n",
            "[purpose.consumer-protection]\nsearch = true\n",
        ),
    )
    .expect("policy");
    let (_, token) = crate::harness::issue_credential(
        &creds,
        "Example Police",
        "criminal-investigation,consumer-protection",
    );
    let config = |log: &str| {
        format!(
            "[authority]\ncredentials = {:?}\nlog = {:?}\nrate_per_minute = 60000\nburst = 1000\nsearch_page_size = 2\nsearch_max_results = 5\n",
            creds.to_str().expect("utf-8"),
            dir.path().join(log).to_str().expect("utf-8"),
        )
    };
    let policy_flag = policy.to_str().expect("utf-8");
    let mem = crate::harness::Server::with_config(
        &config("mem.jsonl"),
        &["--base-url", BASE, "--policy", policy_flag],
    );
    let pg = crate::harness::Server::with_config(
        &format!("{}{mode}", config("pg.jsonl")),
        &[
            "--base-url",
            BASE,
            "--database",
            &db.url,
            "--policy",
            policy_flag,
        ],
    );
    let bearer = format!("Bearer {token}");
    let statement = |purpose: &'static str| {
        vec![
            ("Authorization", bearer.clone()),
            ("RDDS-Purpose", purpose.to_string()),
            ("RDDS-Legal-Basis", "Basis 1".to_string()),
            ("RDDS-Case-Reference", "PG-SEARCH".to_string()),
        ]
    };
    // An answer without its notices (the disclosure notice names the request id).
    let comparable = |r: &crate::harness::Resp| {
        let mut v = r.json();
        if let Some(o) = v.as_object_mut() {
            o.remove("notices");
        }
        v
    };
    let mut pages = 0;
    for purpose in ["criminal-investigation", "consumer-protection"] {
        let headers = statement(purpose);
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        for first in [
            "/authority/domains?name=xn--*",
            "/authority/domains?name=KA*",
            "/authority/domains?name=xn--c*.example",
            "/authority/domains?name=caf%C3%A9.example",
            "/authority/domains?name=zz*",
            "/authority/nameservers?name=ns1.*",
            "/authority/nameservers?ip=198.51.100.53",
            "/authority/entities?fn=aure*",
            "/authority/entities?fn=Quintessa%20Ballantyne",
            "/authority/entities?fn=r*",
            "/authority/entities?fn=re*",
            "/authority/entities?handle=c203-example",
            "/authority/domains/reverse_search/entity?handle=C101-EXAMPLE",
            "/authority/domains/reverse_search/entity?handle=C201-EXAMPLE",
            "/authority/domains/reverse_search/entity?fn=Bartholomew*&role=registrant",
            "/authority/domains/reverse_search/entity?fn=piotr*",
            "/authority/domains/reverse_search/entity?email=quintessa.b%40hostmaster-two.example.org&role=technical",
            "/authority/domains/reverse_search/entity?email=Aurelie.Vantongeren%40mailbox-one.example.org",
        ] {
            let mut path = first.to_string();
            loop {
                let want = mem.request("GET", &path, &headers);
                let got = pg.request("GET", &path, &headers);
                assert_eq!(got.status, want.status, "{purpose} {path}");
                assert_eq!(
                    comparable(&got),
                    comparable(&want),
                    "{purpose} {path}"
                );
                if want.status == 200 {
                    pages += 1;
                }
                let next = want.json()["paging_metadata"]["links"][0]["href"]
                    .as_str()
                    .map(str::to_string);
                match next {
                    Some(n) => path = n.strip_prefix("http://rdap.test").expect("base").to_string(),
                    None => break,
                }
            }
        }
    }
    // The same log entries, page for page (their times and request ids aside).
    let logged = |name: &str| -> Vec<serde_json::Value> {
        std::fs::read_to_string(dir.path().join(name))
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let e: serde_json::Value = serde_json::from_str(l).expect("json");
                let d = &e["disclosure"];
                serde_json::json!([
                    d["query"],
                    d["purpose"],
                    d["objects"],
                    d["disclosed"],
                    d["responseSha256"].is_string()
                ])
            })
            .collect()
    };
    let (m, p) = (logged("mem.jsonl"), logged("pg.jsonl"));
    assert_eq!(m.len(), pages);
    assert_eq!(p, m);
    assert!(
        p.iter()
            .any(|e| e[2].as_array().is_some_and(|o| o.len() > 3)),
        "some pages disclosed several objects"
    );
}
