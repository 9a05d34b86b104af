//! PostgreSQL replica mode (`[database] mode = "replica"`): the node reads every table at
//! start, serves from memory, applies the change log within a second, reads the tables again
//! when the log cannot be replayed, and serves its whole snapshot through an outage.

use std::time::{Duration, Instant};

use crate::postgres::{imported, leaked, node, status_of};

const REPLICA: &str = "[database]\nmode = \"replica\"\n";

/// Poll `check` every 20 ms until it holds or `limit` passed; how long it took.
fn within(limit: Duration, what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let since = Instant::now();
    while !check() {
        assert!(since.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    since.elapsed()
}

/// Every public answer, RDAP and WHOIS, is byte for byte the JSON Lines node's.
#[test]
fn a_replica_answers_exactly_as_the_jsonl_backend() {
    crate::postgres::answers_exactly_as_the_jsonl_backend(
        "a_replica_answers_exactly_as_the_jsonl_backend",
        REPLICA,
    );
}

/// The authority route's searches answer as from memory (they are: the replica's snapshot is
/// searched as a JSON Lines node's is).
#[test]
fn a_replica_searches_as_from_memory() {
    crate::postgres::searches_answer_as_from_memory("a_replica_searches_as_from_memory", REPLICA);
}

/// A committed change (an update of a domain and of a contact, a new domain, a deleted one)
/// is served within a second; an answer none of whose records changed stays cached.
#[test]
fn a_replica_serves_a_change_within_a_second_and_keeps_the_rest_cached() {
    let Some(db) = imported("a_replica_serves_a_change_within_a_second") else {
        return;
    };
    let n = node(&db, REPLICA);
    n.wait_metric("rddsd_database_up", 1.0);
    assert!(n
        .admin_get("/readyz")
        .text()
        .contains("following changes (replica)"));
    for path in [
        "/domain/nic.example",
        "/domain/xn--bcher-kva.example",
        "/entity/C101-EXAMPLE",
    ] {
        for _ in 0..3 {
            assert_eq!(n.get(path).status, 200, "{path}");
        }
    }
    assert_eq!(n.get("/domain/fresh.example").status, 404);
    db.sql(
        "BEGIN; \
         UPDATE domain_statuses SET status = 'clientHold' \
             WHERE domain = 'nic.example' AND status = 'serverUpdateProhibited'; \
         UPDATE contacts SET sp = 'Nunavut' WHERE roid = 'C101-EXAMPLE'; \
         INSERT INTO domains (roid, name, created, expires, registrar) \
             SELECT 'D999-EXAMPLE', 'fresh.example', created, expires, registrar \
             FROM domains WHERE name = 'nic.example'; \
         INSERT INTO domain_statuses (domain, status, position) VALUES ('fresh.example', 'ok', 0); \
         COMMIT",
    )
    .expect("update");
    let took = within(Duration::from_secs(1), "the change served", || {
        status_of(&n, "/domain/nic.example").contains(&"client hold".to_string())
            && n.get("/entity/C101-EXAMPLE").text().contains("Nunavut")
            && n.get("/domain/fresh.example").status == 200
    });
    eprintln!("served after {took:?}");
    assert!(n.whois("nic.example").contains("clientHold"));
    assert!(n
        .whois("fresh.example")
        .starts_with("Domain Name: fresh.example"));
    // The contact's change reaches the domains it is a contact of.
    assert!(n
        .get("/domain/xn--caf-dma.example")
        .text()
        .contains("Nunavut"));
    let hits = n
        .metric("rddsd_cache_requests_total{result=\"hit\"}")
        .expect("hits");
    assert_eq!(n.get("/domain/xn--bcher-kva.example").status, 200);
    assert_eq!(
        n.metric("rddsd_cache_requests_total{result=\"hit\"}"),
        Some(hits + 1.0),
        "an answer none of whose records changed is still served from the cache"
    );
    db.sql("DELETE FROM domains WHERE name = 'fresh.example'")
        .expect("delete");
    within(Duration::from_secs(1), "the delete served", || {
        n.get("/domain/fresh.example").status == 404
    });
    assert!(n.metric("rddsd_database_changes_total").unwrap_or(0.0) >= 4.0);
    assert_eq!(n.metric("rddsd_database_resyncs_total"), Some(0.0));
}

/// The follower's connection cut, and the change log pruned past what it applied before it is
/// back (a retention job ran meanwhile): the replica cannot replay, reads the tables again,
/// and serves what they hold, the old snapshot answering meanwhile.
#[test]
fn a_replica_reads_the_tables_again_after_it_lost_the_change_feed() {
    let Some(db) = imported("a_replica_reads_the_tables_again") else {
        return;
    };
    let n = node(&db, REPLICA);
    n.wait_metric("rddsd_database_up", 1.0);
    assert_eq!(n.get("/domain/nic.example").status, 200);
    // One session: cut the follower, change the data and prune the log before the follower
    // reconnects (its first retry comes 100 ms later).
    db.sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = 'rddsd' \
             AND pid <> pg_backend_pid(); \
         UPDATE domain_statuses SET status = 'clientHold' \
             WHERE domain = 'nic.example' AND status = 'serverUpdateProhibited'; \
         DELETE FROM changes",
    )
    .expect("cut, change, prune");
    within(Duration::from_secs(15), "the resync", || {
        n.metric("rddsd_database_resyncs_total") == Some(1.0)
    });
    assert!(status_of(&n, "/domain/nic.example").contains(&"client hold".to_string()));
    assert!(n.wait_log("reading the tables again"));
    // Following again from the resync's position: the next change is applied, not another
    // resync.
    n.wait_metric("rddsd_database_up", 1.0);
    db.sql("UPDATE contacts SET sp = 'Yukon' WHERE roid = 'C101-EXAMPLE'")
        .expect("update");
    within(Duration::from_secs(2), "the next change", || {
        n.get("/entity/C101-EXAMPLE").text().contains("Yukon")
    });
    assert_eq!(n.metric("rddsd_database_resyncs_total"), Some(1.0));
}

/// An import (an `all` change) is read whole, as a resync.
#[test]
fn a_replica_reads_the_tables_again_after_an_import() {
    let Some(db) = imported("a_replica_reads_the_tables_again_after_an_import") else {
        return;
    };
    let n = node(&db, REPLICA);
    n.wait_metric("rddsd_database_up", 1.0);
    db.sql("TRUNCATE domain_ds").expect("truncate");
    within(Duration::from_secs(5), "the resync", || {
        n.metric("rddsd_database_resyncs_total") == Some(1.0)
    });
    assert_eq!(n.get("/domain/nic.example").status, 200);
}

/// The database gone: every answer is still served (the snapshot is complete, not a cache),
/// `/readyz` says how far behind, and nothing personal shows in any answer or the log.
#[test]
fn a_replica_serves_everything_through_a_database_outage() {
    let Some(db) = imported("a_replica_serves_everything_through_an_outage") else {
        return;
    };
    let n = node(&db, &format!("{REPLICA}max_stale_secs = 0\n"));
    n.wait_metric("rddsd_database_up", 1.0);
    let paths = crate::privacy::public_paths();
    let before: Vec<_> = paths.iter().map(|p| (p, n.get(p))).collect();
    let queries = crate::privacy::whois_queries();
    let whois_before: Vec<_> = queries.iter().map(|q| n.whois_raw(q)).collect();
    db.drop_now();
    n.wait_metric("rddsd_database_up", 0.0);
    std::thread::sleep(Duration::from_millis(1100));
    let ready = n.admin_get("/readyz");
    assert_eq!(ready.status, 200);
    assert!(
        ready
            .text()
            .contains("serving the replica's whole snapshot"),
        "{}",
        ready.text()
    );
    assert!(n.metric("rddsd_database_behind_seconds").unwrap_or(0.0) >= 1.0);
    for (path, want) in before {
        let got = n.get(path);
        assert_eq!(got.status, want.status, "{path}");
        assert_eq!(
            got.body, want.body,
            "{path}: the same answer as before the outage"
        );
    }
    for (q, want) in queries.iter().zip(whois_before) {
        let got = n.whois_raw(q);
        // The answers carry no time of their own that moves: the same bytes.
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "whois {}",
            String::from_utf8_lossy(q)
        );
    }
    assert!(n.whois("xn--caf-dma.example").contains("Domain Name:"));
    assert_eq!(leaked(&n.log()), None, "the log");
}

/// A changed record the loader refuses (a country code that is no ISO 3166 country) cannot go
/// in as a delta: the tables are read again, and the record is left out by the bad-record
/// rules, named by table in the log, never by value.
#[test]
fn a_replica_leaves_out_a_changed_record_that_breaks_the_data_rules() {
    let Some(db) = imported("a_replica_leaves_out_a_bad_changed_record") else {
        return;
    };
    let n = node(&db, &format!("{REPLICA}[data]\nmax_bad_percent = 50\n"));
    n.wait_metric("rddsd_database_up", 1.0);
    assert_eq!(n.get("/entity/C101-EXAMPLE").status, 200);
    db.sql("UPDATE contacts SET cc = 'ZZ' WHERE roid = 'C101-EXAMPLE'")
        .expect("update");
    within(Duration::from_secs(5), "the record left out", || {
        n.get("/entity/C101-EXAMPLE").status == 404
    });
    assert_eq!(n.metric("rddsd_database_resyncs_total"), Some(1.0));
    assert_eq!(n.get("/domain/nic.example").status, 200);
    assert_eq!(leaked(&n.log()), None, "the log");
}
