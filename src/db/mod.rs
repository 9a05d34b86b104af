//! PostgreSQL as a home for the registration data: the schema and its migrations, and the
//! tools that fill, read back and check it (`rddsd db migrate|import|export`,
//! `rddsd check --database`).
//!
//! [`serve`] is the backend of `rddsd serve` with `[data] backend = "postgres"` in direct mode,
//! [`replica`] in replica mode (`[database] mode = "replica"`). The tables mirror the JSON Lines format field for field (see
//! `schema/postgres/`), so the loader stays the one place that knows the data rules: an import
//! validates with it before a row is written, and a check exports the tables to JSON Lines and
//! runs it over them.
//!
//! - [`migrate`]: the embedded, versioned migrations and the `schema_migrations` table;
//! - [`import`]: a validated data set into the tables, in one transaction, by COPY;
//! - [`export`]: the tables back to JSON Lines, in one consistent snapshot;
//! - [`check`]: the loader's rules over the tables, each violation named by table and key.
//!
//! Connection errors name host, port and database, never the password; database errors give
//! PostgreSQL's message without its detail, which may quote a row (personal data).

use std::time::Duration;

use tokio_postgres::config::Host;
use tokio_postgres::{Client, Config, NoTls};

pub mod check;
pub mod credentials;
pub mod disclosures;
pub mod export;
mod follow;
pub mod harvest;
pub mod import;
pub mod migrate;
pub mod replica;
pub mod requests;
pub mod serve;
mod settings;
mod tables;

pub use settings::{DatabaseMode, DatabaseSettings};

/// How long a connection attempt may take when the URL sets no `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What went wrong talking to PostgreSQL. Messages never hold the password, nor a row's values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// The database URL does not parse.
    #[error("the database URL is not valid: {0}")]
    Url(String),
    /// The server could not be reached or refused the session.
    #[error("cannot connect to PostgreSQL at {target}: {reason}")]
    Connect {
        /// Host, port, database and user (never the password).
        target: String,
        /// The cause.
        reason: String,
    },
    /// A statement failed.
    #[error("PostgreSQL: {what}: {reason}")]
    Sql {
        /// What rddsd was doing.
        what: String,
        /// PostgreSQL's message (without its detail).
        reason: String,
    },
    /// The database holds no rddsd schema yet.
    #[error("the database has no rddsd schema: run `rddsd db migrate` first")]
    NoSchema,
    /// The schema is older than this binary's.
    #[error("the database schema is at version {found}, this rddsd needs version {known}: run `rddsd db migrate` first")]
    Older {
        /// The newest version applied to the database.
        found: i32,
        /// The newest version this binary knows.
        known: i32,
    },
    /// The schema is newer than this binary's: a newer rddsd migrated it.
    #[error("the database schema is at version {found}, newer than this rddsd knows (version {known}): use an rddsd release that knows version {found}")]
    Newer {
        /// The newest version applied to the database.
        found: i32,
        /// The newest version this binary knows.
        known: i32,
    },
    /// Reading or writing local files.
    #[error("{0}")]
    Io(String),
}

impl DbError {
    /// A failed statement, described safely.
    pub(crate) fn sql(what: impl Into<String>, e: &tokio_postgres::Error) -> Self {
        Self::Sql {
            what: what.into(),
            reason: describe(e),
        }
    }
}

/// A tokio-postgres error as one line: PostgreSQL's own message with its code, table and
/// constraint, or the client's error and its cause. A server error's `DETAIL` is left out: for
/// a constraint violation it quotes the row ("Failing row contains (…)"), which may be a
/// contact's personal data.
pub fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = format!("{} ({})", db.message(), db.code().code());
        if let Some(c) = db.constraint().filter(|c| !db.message().contains(c)) {
            s.push_str(&format!(", constraint {c}"));
        }
        return s;
    }
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        s.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    s
}

/// Host, port, database and user of a connection config, for messages. No password.
pub fn target(config: &Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(name) => name.clone(),
            Host::Unix(path) => format!("socket {}", path.display()),
        })
        .collect();
    let hosts = if hosts.is_empty() {
        "localhost".to_string()
    } else {
        hosts.join(",")
    };
    let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
    let ports = if ports.is_empty() {
        "5432".to_string()
    } else {
        ports.join(",")
    };
    let user = config.get_user().unwrap_or("(default user)");
    // PostgreSQL's default database is the user's name.
    let db = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("(default)");
    format!("host {hosts} port {ports} database {db} user {user}")
}

/// Parse a database URL (`postgres://user@host:port/db`) or key-value string.
///
/// # Errors
/// [`DbError::Url`]; the message names the problem, not the URL.
pub fn parse_url(url: &str) -> Result<Config, DbError> {
    let mut config: Config = url.parse().map_err(|e: tokio_postgres::Error| {
        DbError::Url(
            std::error::Error::source(&e).map_or_else(|| e.to_string(), |c| format!("{e}: {c}")),
        )
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("rddsd");
    }
    Ok(config)
}

/// Connect, and drive the connection on a task of the current runtime. The client errors out
/// once the connection ends.
///
/// # Errors
/// [`DbError::Url`] or [`DbError::Connect`], naming host, port and database.
pub async fn connect(url: &str) -> Result<Client, DbError> {
    connect_with(&parse_url(url)?).await
}

/// Connect with a parsed config, and drive the connection on a task of the current runtime.
///
/// # Errors
/// [`DbError::Connect`], naming host, port and database.
pub async fn connect_with(config: &Config) -> Result<Client, DbError> {
    if config.get_ssl_mode() == tokio_postgres::config::SslMode::Require {
        return Err(DbError::Connect {
            target: target(config),
            reason: "sslmode=require, but this rddsd connects without TLS: use a local or \
                     private network connection (sslmode=disable or prefer)"
                .into(),
        });
    }
    let (client, connection) = config.connect(NoTls).await.map_err(|e| DbError::Connect {
        target: target(config),
        reason: describe(&e),
    })?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %describe(&e), "PostgreSQL connection ended");
        }
    });
    Ok(client)
}

/// The names of the JSON Lines files of a data set, as the demo registry and `db export` use
/// them, with the table each one's records come from.
pub const FILES: [(&str, &str); 5] = [
    ("registry.jsonl", "registry"),
    ("registrars.jsonl", "registrars"),
    ("contacts.jsonl", "contacts"),
    ("hosts.jsonl", "hosts"),
    ("domains.jsonl", "domains"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_name_host_port_and_database_but_not_the_password() {
        let c = parse_url("postgres://rddsd:s3cret@db.example:6543/registry").expect("url");
        let t = target(&c);
        assert_eq!(t, "host db.example port 6543 database registry user rddsd");
        assert!(!t.contains("s3cret"));
        let c = parse_url("postgres://rddsd@127.0.0.1").expect("url");
        assert_eq!(
            target(&c),
            "host 127.0.0.1 port 5432 database rddsd user rddsd"
        );
        let c = parse_url("host=/run/postgresql dbname=x").expect("key-value");
        assert!(target(&c).starts_with("host socket /run/postgresql port 5432 database x"));
    }

    #[test]
    fn a_bad_url_is_an_error_without_the_url() {
        let e = parse_url("postgres://u:pw@h:notaport/db").expect_err("bad port");
        assert!(
            e.to_string().starts_with("the database URL is not valid"),
            "{e}"
        );
        assert!(!e.to_string().contains("pw"), "{e}");
    }
}
