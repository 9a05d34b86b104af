//! The schema's versioned migrations (`schema/postgres/NNNN_name.sql`, embedded in the binary)
//! and the `schema_migrations` table that records which are applied.
//!
//! Each migration runs in its own transaction together with its `schema_migrations` row, so a
//! failed one leaves nothing behind. Every step holds a transaction-scoped advisory lock, so two
//! `rddsd db migrate` runs at once take turns and the second finds the work done.

use tokio_postgres::Client;

use super::DbError;

/// One migration: its version, its name (the file name without number and `.sql`) and its SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// The `NNNN` of the file name; versions count up from 1 without gaps.
    pub version: i32,
    /// The rest of the file name, for messages.
    pub name: &'static str,
    /// The statements.
    pub sql: &'static str,
}

/// Every migration this binary knows, in order. A new one is a new file in `schema/postgres/`
/// and a line here (a unit test checks that the two agree).
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "registration_data",
        sql: include_str!("../../schema/postgres/0001_registration_data.sql"),
    },
    Migration {
        version: 2,
        name: "serving",
        sql: include_str!("../../schema/postgres/0002_serving.sql"),
    },
    Migration {
        version: 3,
        name: "cluster",
        sql: include_str!("../../schema/postgres/0003_cluster.sql"),
    },
    Migration {
        version: 4,
        name: "search",
        sql: include_str!("../../schema/postgres/0004_search.sql"),
    },
    Migration {
        version: 5,
        name: "requests",
        sql: include_str!("../../schema/postgres/0005_requests.sql"),
    },
];

/// The newest schema version this binary knows.
pub fn latest() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// The advisory lock all migration steps take: "rddsd_mg" in ASCII.
const LOCK: i64 = 0x7264_6473_645f_6d67;

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)";

/// What a migrate run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The migrations applied by this run, in order.
    pub applied: Vec<Migration>,
    /// The schema version afterwards.
    pub version: i32,
}

/// Apply every missing migration, in order, each in its own transaction.
///
/// # Errors
/// [`DbError::Newer`] when the database has a version this binary does not know (nothing is
/// changed); [`DbError::Sql`] when a migration fails (its transaction is rolled back, earlier
/// ones stay applied).
pub async fn migrate(client: &mut Client) -> Result<Outcome, DbError> {
    let mut applied = Vec::new();
    loop {
        let tx = client
            .transaction()
            .await
            .map_err(|e| DbError::sql("cannot start a transaction", &e))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
            .await
            .map_err(|e| DbError::sql("cannot take the migration lock", &e))?;
        tx.batch_execute(CREATE_TABLE)
            .await
            .map_err(|e| DbError::sql("cannot create schema_migrations", &e))?;
        let done = applied_versions(&tx).await?;
        let found = done.iter().copied().max().unwrap_or(0);
        if found > latest() {
            return Err(DbError::Newer {
                found,
                known: latest(),
            });
        }
        let Some(next) = MIGRATIONS.iter().find(|m| !done.contains(&m.version)) else {
            tx.commit()
                .await
                .map_err(|e| DbError::sql("cannot commit", &e))?;
            return Ok(Outcome {
                applied,
                version: found,
            });
        };
        tx.batch_execute(next.sql).await.map_err(|e| {
            DbError::sql(
                format!("migration {:04}_{} failed", next.version, next.name),
                &e,
            )
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            &[&next.version, &next.name],
        )
        .await
        .map_err(|e| DbError::sql("cannot record the migration", &e))?;
        tx.commit().await.map_err(|e| {
            DbError::sql(format!("cannot commit migration {:04}", next.version), &e)
        })?;
        applied.push(*next);
    }
}

async fn applied_versions(tx: &tokio_postgres::Transaction<'_>) -> Result<Vec<i32>, DbError> {
    let rows = tx
        .query("SELECT version FROM schema_migrations", &[])
        .await
        .map_err(|e| DbError::sql("cannot read schema_migrations", &e))?;
    rows.iter()
        .map(|r| r.try_get::<_, i32>(0))
        .collect::<Result<_, _>>()
        .map_err(|e| DbError::sql("cannot read schema_migrations", &e))
}

/// The schema version of the database, checked to be the one this binary works with.
///
/// # Errors
/// [`DbError::NoSchema`], [`DbError::Older`] or [`DbError::Newer`] naming both versions.
pub async fn require_current(client: &Client) -> Result<(), DbError> {
    let row = client
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .await
        .map_err(|e| DbError::sql("cannot read the schema version", &e))?;
    let exists: bool = row
        .try_get(0)
        .map_err(|e| DbError::sql("cannot read the schema version", &e))?;
    if !exists {
        return Err(DbError::NoSchema);
    }
    let row = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )
        .await
        .map_err(|e| DbError::sql("cannot read the schema version", &e))?;
    let found: i32 = row
        .try_get(0)
        .map_err(|e| DbError::sql("cannot read the schema version", &e))?;
    let known = latest();
    match found.cmp(&known) {
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Less if found == 0 => Err(DbError::NoSchema),
        std::cmp::Ordering::Less => Err(DbError::Older { found, known }),
        std::cmp::Ordering::Greater => Err(DbError::Newer { found, known }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file in `schema/postgres/` is a migration of the list, numbered from 1 without gaps,
    /// and embedded with its own text.
    #[test]
    fn the_list_matches_the_files() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/postgres");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("schema/postgres")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(files.len(), MIGRATIONS.len(), "{files:?}");
        for (i, (file, m)) in files.iter().zip(MIGRATIONS).enumerate() {
            assert_eq!(m.version, i32::try_from(i + 1).expect("small"));
            assert_eq!(file, &format!("{:04}_{}.sql", m.version, m.name));
            let text = std::fs::read_to_string(dir.join(file)).expect("read");
            assert_eq!(text, m.sql, "{file}");
        }
        assert_eq!(latest(), i32::try_from(MIGRATIONS.len()).expect("small"));
    }
}
