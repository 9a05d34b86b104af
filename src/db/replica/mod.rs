//! The PostgreSQL replica: `[database] mode = "replica"`. A node that shares one database
//! with its cluster and answers at in-memory speed.
//!
//! **Start.** The node reads every registration table in one consistent snapshot of the
//! database, streamed through the loader ([`read`]): the same rules as a JSON Lines load,
//! bad records included (`[data] max_bad_percent`), and the same in-memory snapshot. It does
//! not bind its listeners until that read is complete.
//!
//! **Following.** A task LISTENs on `rddsd_changes` and, on each notification and at least
//! every [`POLL_INTERVAL`], reads the change rows it has not applied and the current lines of
//! the objects they name, in one REPEATABLE READ transaction ([`changes`]), and applies them
//! to the served snapshot as a delta file is applied: unchanged records and index shards are
//! shared, and the answer cache drops exactly the answers whose records changed. Serials that
//! commit late are waited for as the direct mode waits for them.
//!
//! **Resync.** The tables are read again, in the background while the old snapshot is served,
//! and the new one swapped in whole, when the changes cannot be applied one by one: the change
//! log no longer reaches back to the newest change applied (pruned while the node was away),
//! an `all` change (an import or a TRUNCATE), a change of the zones, too many serials to wait
//! for, or changed records the loader refuses (the full read applies the bad-record rules).
//!
//! **Outages.** While the database is unreachable the node serves its snapshot, which is
//! complete (not a cache that runs dry), and says since when in `/readyz` and in
//! `rddsd_database_behind_seconds`. `max_stale_secs` does not apply.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio_postgres::Config;
use tokio_util::sync::CancellationToken;

use super::follow::{FollowError, Link, Position, POLL_INTERVAL};
use super::{DatabaseSettings, DbError};
use crate::backend::{Backend, Fetch, FetchError, Found, Health, InMemory, Served};
use crate::cache::CachedBody;
use crate::policy::AudienceRules;
use crate::query::Query;
use crate::registry::load::{LoadErrors, LoadOptions};
use crate::registry::{Snapshot, Timestamp};
use crate::search::{Limits, Search};

mod changes;
mod read;

use changes::{Batch, BatchError};

/// Why a replica could not start, or read the tables again.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    /// The database could not be read.
    #[error(transparent)]
    Database(#[from] DbError),
    /// The loader refused the data (more records left out than allowed); each error names
    /// the table, the row and the field.
    #[error("registration data in the database refused:\n{0}")]
    Data(#[from] LoadErrors),
}

/// A replica of the database's registration data, behind the backend seam.
pub struct Replica {
    config: Config,
    options: Mutex<LoadOptions>,
    /// The snapshot read at start, until the first generation takes it.
    first: Mutex<Option<Snapshot>>,
    position: Mutex<Position>,
    /// Whether the follower follows the database, and since when it lost it.
    link: Link,
    changes_applied: AtomicU64,
    resyncs: AtomicU64,
    failures: AtomicU64,
}

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica")
            .field("target", &super::target(&self.config))
            .field("following", &self.link.is_up())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Replica {
    /// Connect, check the schema, and read every table: a node does not start before it holds
    /// the whole registry.
    ///
    /// # Errors
    /// The URL, the connection, a schema that is not this binary's, a failed read, or data the
    /// loader refuses.
    pub async fn open(
        settings: &DatabaseSettings,
        options: LoadOptions,
    ) -> Result<Arc<Self>, ReplicaError> {
        let config = super::parse_url(&settings.url)?;
        {
            let client = super::connect_with(&config).await?;
            super::migrate::require_current(&client).await?;
        }
        let (snapshot, position) = read::read_all(&config, None, options).await?;
        Ok(Arc::new(Self {
            config,
            options: Mutex::new(options),
            first: Mutex::new(Some(snapshot)),
            position: Mutex::new(position),
            link: Link::default(),
            changes_applied: AtomicU64::new(0),
            resyncs: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        }))
    }

    /// Follow the change log until `shutdown`, reconnecting with backoff.
    async fn follow(self: Arc<Self>, served: Arc<dyn Served>, shutdown: CancellationToken) {
        super::follow::reconnecting(
            &self.link,
            &shutdown,
            "lost the database; serving the replica's snapshot as it stands",
            || self.follow_once(served.as_ref(), &shutdown),
        )
        .await;
    }

    async fn follow_once(
        &self,
        served: &dyn Served,
        shutdown: &CancellationToken,
    ) -> Result<(), FollowError> {
        let mut listening = super::follow::listen(&self.config).await?;
        // Listening from here on: whatever commits now is seen by the reads below. What
        // committed while the node was away is in the log, unless the log was pruned past it.
        let newest = lock(&self.position).newest;
        if !read::replayable(&listening.client, newest).await? {
            self.resync(
                served,
                "the change log no longer reaches back to the newest change applied",
            )
            .await?;
        }
        self.link.up();
        tracing::info!("following the database's changes (replica)");
        let mut tick = tokio::time::interval(POLL_INTERVAL);
        loop {
            self.poll(&mut listening.client, served).await?;
            tokio::select! {
                () = listening.wake.notified() => {}
                _ = tick.tick() => {}
                () = listening.closed.cancelled() => return Err(FollowError::Ended),
                () = shutdown.cancelled() => return Ok(()),
            }
        }
    }

    /// Apply every batch of changes not applied yet.
    async fn poll(
        &self,
        client: &mut tokio_postgres::Client,
        served: &dyn Served,
    ) -> Result<(), FollowError> {
        loop {
            let from = {
                let mut p = lock(&self.position);
                p.expire_gaps();
                p.clone()
            };
            let snapshot = served.snapshot();
            let tx = client
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await
                .map_err(FollowError::sql)?;
            let batch = changes::next_batch(&tx, &from, &snapshot).await;
            let _ = tx.rollback().await;
            match batch {
                Ok(Batch::Nothing) => return Ok(()),
                Ok(Batch::Apply {
                    delta,
                    position,
                    rows,
                    more,
                }) => match served.apply(&delta) {
                    Ok(()) => {
                        *lock(&self.position) = position;
                        self.changes_applied
                            .fetch_add(u64::try_from(rows).unwrap_or(u64::MAX), Ordering::Relaxed);
                        if !more {
                            return Ok(());
                        }
                    }
                    Err(e) => {
                        self.failures.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(error = %e, "database changes refused by the data rules; reading the tables again");
                        return self.resync(served, "changed records refused").await;
                    }
                },
                Ok(Batch::Resync(why)) => return self.resync(served, why).await,
                Err(BatchError::Refused(e)) => {
                    self.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, "database changes refused by the data rules; reading the tables again");
                    return self.resync(served, "changed records refused").await;
                }
                Err(BatchError::Sql(e)) => return Err(FollowError::Sql(e)),
            }
        }
    }

    /// Read every table again while the served snapshot keeps answering, then swap.
    async fn resync(&self, served: &dyn Served, why: &str) -> Result<(), FollowError> {
        tracing::info!(reason = why, "reading the tables again (replica resync)");
        let options = *lock(&self.options);
        match read::read_all(&self.config, Some(served.snapshot()), options).await {
            Ok((snapshot, position)) => {
                served.replace(snapshot);
                *lock(&self.position) = position;
                self.resyncs.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(ReplicaError::Data(e)) => {
                // The served snapshot stays; the log says what to repair, and the next change
                // (or reconnection) tries again.
                self.failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, "the database's data was refused; serving the snapshot as it stands");
                Ok(())
            }
            Err(ReplicaError::Database(e)) => Err(FollowError::Sql(e.to_string())),
        }
    }

    /// Whether the node follows the change log.
    pub fn is_up(&self) -> bool {
        self.link.is_up()
    }

    /// How long the node has been away from the database; `None` while it follows it.
    pub fn lost_for(&self) -> Option<Duration> {
        self.link.lost_for()
    }
}

/// The replica behind the seam: every lookup is an in-memory one.
impl Backend for Replica {
    fn in_memory(&self) -> bool {
        true
    }

    fn fetch<'a>(
        &'a self,
        snapshot: &'a Snapshot,
        query: &'a Query,
    ) -> Fetch<'a, Result<Found<'a>, FetchError>> {
        InMemory.fetch(snapshot, query)
    }

    fn fetch_search<'a>(
        &'a self,
        search: &'a Search,
        after: Option<&'a str>,
        rules: &'a AudienceRules,
        limits: Limits,
    ) -> Fetch<'a, Result<Option<crate::backend::SearchSet>, FetchError>> {
        InMemory.fetch_search(search, after, rules, limits)
    }

    fn still_valid(&self, body: &CachedBody, snapshot: &Snapshot) -> bool {
        InMemory.still_valid(body, snapshot)
    }

    fn updated(&self, snapshot: &Snapshot) -> Timestamp {
        InMemory.updated(snapshot)
    }

    fn held_snapshot(&self, previous: Option<&Snapshot>) -> Option<Snapshot> {
        lock(&self.first).take().or_else(|| previous.cloned())
    }

    fn health(&self) -> Option<Health> {
        Some(Health {
            up: self.is_up(),
            lost_for: self.lost_for(),
            failures: self.failures.load(Ordering::Relaxed),
            changes_applied: self.changes_applied.load(Ordering::Relaxed),
            complete: true,
            resyncs: self.resyncs.load(Ordering::Relaxed),
        })
    }

    fn follow(
        self: Arc<Self>,
        served: Arc<dyn Served>,
        shutdown: CancellationToken,
    ) -> Option<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>> {
        Some(Box::pin(Replica::follow(self, served, shutdown)))
    }
}
