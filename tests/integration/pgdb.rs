//! A fresh PostgreSQL database for each test that needs one, dropped when the test ends (also
//! when it fails).
//!
//! The server comes from `RDDSD_TEST_DATABASE_URL` (e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`, a role that may create databases). Without it
//! a test is skipped, and says so on the terminal; with `RDDSD_REQUIRE_DATABASE=1` (CI) a
//! missing variable fails the test instead, so a CI run cannot pass by skipping.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio_postgres::NoTls;

/// A database of one test's own; dropped on drop.
pub struct TestDb {
    /// URL of the test's database (same server, role and options as the admin URL).
    pub url: String,
    name: String,
    admin: String,
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

impl TestDb {
    /// A new, empty database for `test`; `None` when the test is to be skipped.
    pub fn fresh(test: &str) -> Option<Self> {
        let Ok(admin) = std::env::var("RDDSD_TEST_DATABASE_URL") else {
            if std::env::var("RDDSD_REQUIRE_DATABASE").is_ok_and(|v| v == "1") {
                panic!("RDDSD_REQUIRE_DATABASE=1 but RDDSD_TEST_DATABASE_URL is not set ({test})");
            }
            // Straight to stderr, not `eprintln!`: the test harness captures that, and a skip
            // must be seen in a plain `cargo test`.
            let _ = writeln!(
                std::io::stderr(),
                "skipped: RDDSD_TEST_DATABASE_URL not set ({test})"
            );
            return None;
        };
        let safe: String = test
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        let mut name = format!(
            "rddsd_t{}_{}_{safe}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        name.truncate(63);
        sql_on(&admin, &format!("DROP DATABASE IF EXISTS {name}")).expect("drop stale database");
        sql_on(&admin, &format!("CREATE DATABASE {name}")).expect("create the test database");
        Some(Self {
            url: with_database(&admin, &name),
            name,
            admin,
        })
    }

    /// Run statements on the test database; the rows of the last one, as text.
    pub fn sql(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
        sql_on(&self.url, sql)
    }

    /// The first column of the first row of a query.
    pub fn value(&self, sql: &str) -> Option<String> {
        let rows = self.sql(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
            .flatten()
    }
}

impl TestDb {
    /// Drop the database now, terminating every session on it (a database that is gone).
    pub fn drop_now(&self) {
        sql_on(
            &self.admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        )
        .expect("drop the test database");
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Err(e) = sql_on(
            &self.admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        ) {
            let _ = writeln!(std::io::stderr(), "cannot drop {}: {e}", self.name);
        }
    }
}

/// `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(i) => &base[..authority_start + i],
        None => base,
    };
    format!("{base}/{name}{query}")
}

/// Run statements (simple query protocol) on the database at `url`.
pub fn sql_on(url: &str, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
    runtime().block_on(async {
        let (client, conn) = tokio_postgres::connect(url, NoTls)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let conn = tokio::spawn(conn);
        let result = client.simple_query(sql).await.map_err(|e| {
            e.as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_string())
        });
        drop(client);
        let _ = conn.await;
        let mut rows = Vec::new();
        for m in result? {
            match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => {
                    rows.push((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
                }
                // A new statement's result: keep only the last one's rows.
                tokio_postgres::SimpleQueryMessage::RowDescription(_) => rows.clear(),
                _ => {}
            }
        }
        Ok(rows)
    })
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn urls_get_the_test_database() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
        "postgres://postgres@127.0.0.1:5432/t1"
    );
    assert_eq!(
        with_database("postgres://u:p@h/db?sslmode=disable", "t1"),
        "postgres://u:p@h/t1?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h:1", "t1"), "postgres://h:1/t1");
}
