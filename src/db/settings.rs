//! `[database]` settings, resolved: how a serving node uses PostgreSQL.

use std::time::Duration;

/// How a serving node uses its database: `[database] mode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseMode {
    /// Every lookup reads its records from the database; a bounded cache of answers follows
    /// the change log (`crate::db::serve`).
    #[default]
    Direct,
    /// The node reads every table at start and applies the change log to its in-memory
    /// snapshot (`crate::db::replica`).
    Replica,
}

/// The PostgreSQL backend's settings, checked.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseSettings {
    /// The database URL (may hold a password: never printed).
    pub url: String,
    /// Direct or replica.
    pub mode: DatabaseMode,
    /// Connections per node.
    pub pool_size: usize,
    /// Longest a lookup statement may run.
    pub statement_timeout: Duration,
    /// Longest a request waits for a connection.
    pub queue_timeout: Duration,
    /// How long cached answers outlive the loss of the database (direct mode only: a replica
    /// serves its complete snapshot through an outage).
    pub max_stale: Duration,
    /// Whether the harvesting budget is shared with the cluster through the database.
    pub shared_budget: bool,
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the URL: it may carry the password.
        f.debug_struct("DatabaseSettings")
            .field("mode", &self.mode)
            .field("pool_size", &self.pool_size)
            .field("statement_timeout", &self.statement_timeout)
            .field("queue_timeout", &self.queue_timeout)
            .field("max_stale", &self.max_stale)
            .field("shared_budget", &self.shared_budget)
            .finish_non_exhaustive()
    }
}

impl DatabaseSettings {
    /// Default connections per node.
    pub const POOL_SIZE: usize = 8;
    /// Default statement timeout, in milliseconds.
    pub const STATEMENT_TIMEOUT_MS: u64 = 2000;
    /// Default queue timeout, in milliseconds.
    pub const QUEUE_TIMEOUT_MS: u64 = 1000;
    /// Default staleness bound during an outage, in seconds.
    pub const MAX_STALE_SECS: u64 = 300;

    /// The defaults, for `url`.
    pub fn with_url(url: String) -> Self {
        Self {
            url,
            mode: DatabaseMode::Direct,
            pool_size: Self::POOL_SIZE,
            statement_timeout: Duration::from_millis(Self::STATEMENT_TIMEOUT_MS),
            queue_timeout: Duration::from_millis(Self::QUEUE_TIMEOUT_MS),
            max_stale: Duration::from_secs(Self::MAX_STALE_SECS),
            shared_budget: false,
        }
    }
}
