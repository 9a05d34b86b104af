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

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::Notify;
use tokio_postgres::{AsyncMessage, Config, NoTls};
use tokio_util::sync::CancellationToken;

use super::{DatabaseSettings, DbError};
use crate::backend::{Backend, Fetch, FetchError, Found, Health, Records, Served};
use crate::cache::CachedBody;
use crate::policy::AudienceRules;
use crate::query::Query;
use crate::registry::load::{LoadErrors, LoadOptions};
use crate::registry::{Snapshot, Timestamp};
use crate::search::{Limits, Search};

mod changes;
mod read;

use changes::{Batch, BatchError, Seen};

/// The change log is read at least this often, even without a notification.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// The shortest and longest wait between two connection attempts of the follower.
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long a missing serial (a transaction not committed yet, or rolled back) is waited for.
const LATE_COMMIT_WINDOW: Duration = Duration::from_secs(600);
/// Missing serials waited for at most; past it the tables are read again.
const MAX_GAPS: usize = 10_000;
/// How far below the newest serial a full read looks for serials not committed yet.
const GAP_SCAN: i64 = 1_000;

/// Where the replica stands in the change log.
#[derive(Debug, Clone, Default)]
pub(crate) struct Position {
    /// The newest serial applied (or handed out when the tables were read).
    newest: i64,
    /// Serials below `newest` not applied yet, with when they were first missed.
    gaps: BTreeMap<i64, Instant>,
}

impl Position {
    /// Take `serial` into account.
    fn see(&mut self, serial: i64) -> Seen {
        if serial <= self.newest {
            return if self.gaps.remove(&serial).is_some() {
                Seen::New
            } else {
                Seen::Before
            };
        }
        let missing = serial - self.newest - 1;
        if usize::try_from(missing).map_or(true, |m| self.gaps.len() + m > MAX_GAPS) {
            return Seen::TooFar;
        }
        let now = Instant::now();
        for s in self.newest + 1..serial {
            self.gaps.insert(s, now);
        }
        self.newest = serial;
        Seen::New
    }

    /// Forget missing serials waited for long enough (rolled back, most likely).
    fn expire_gaps(&mut self) {
        let now = Instant::now();
        self.gaps
            .retain(|_, since| now.duration_since(*since) < LATE_COMMIT_WINDOW);
    }
}

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
    following: AtomicBool,
    lost_at: Mutex<Option<Instant>>,
    changes_applied: AtomicU64,
    resyncs: AtomicU64,
    failures: AtomicU64,
}

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica")
            .field("target", &super::target(&self.config))
            .field("following", &self.following.load(Ordering::Relaxed))
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
            following: AtomicBool::new(false),
            lost_at: Mutex::new(None),
            changes_applied: AtomicU64::new(0),
            resyncs: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        }))
    }

    /// Follow the change log until `shutdown`, reconnecting with backoff.
    async fn follow(self: Arc<Self>, served: Arc<dyn Served>, shutdown: CancellationToken) {
        let mut backoff = MIN_BACKOFF;
        loop {
            let started = Instant::now();
            let outcome = self.follow_once(served.as_ref(), &shutdown).await;
            if shutdown.is_cancelled() {
                return;
            }
            self.following.store(false, Ordering::Relaxed);
            lock(&self.lost_at).get_or_insert_with(Instant::now);
            if let Err(e) = &outcome {
                tracing::warn!(error = %e, "lost the database; serving the replica's snapshot as it stands");
            }
            if started.elapsed() > MAX_BACKOFF {
                backoff = MIN_BACKOFF;
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = shutdown.cancelled() => return,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    async fn follow_once(
        &self,
        served: &dyn Served,
        shutdown: &CancellationToken,
    ) -> Result<(), FollowError> {
        let (mut client, mut connection) =
            tokio::time::timeout(super::serve::CONNECT_TIMEOUT, self.config.connect(NoTls))
                .await
                .map_err(|_| FollowError::ConnectTimeout)?
                .map_err(FollowError::sql)?;
        let wake = Arc::new(Notify::new());
        let closed = CancellationToken::new();
        let driver = {
            let wake = Arc::clone(&wake);
            let closed = closed.clone();
            tokio::spawn(async move {
                let mut messages =
                    futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                while let Some(m) = messages.next().await {
                    match m {
                        Ok(AsyncMessage::Notification(_)) => wake.notify_one(),
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
                closed.cancel();
            })
        };
        let _driver = AbortOnDrop(driver);
        client
            .batch_execute("LISTEN rddsd_changes")
            .await
            .map_err(FollowError::sql)?;
        // Listening from here on: whatever commits now is seen by the reads below. What
        // committed while the node was away is in the log, unless the log was pruned past it.
        let newest = lock(&self.position).newest;
        if !read::replayable(&client, newest).await? {
            self.resync(
                served,
                "the change log no longer reaches back to the newest change applied",
            )
            .await?;
        }
        self.following.store(true, Ordering::Relaxed);
        *lock(&self.lost_at) = None;
        tracing::info!("following the database's changes (replica)");
        let mut tick = tokio::time::interval(POLL_INTERVAL);
        loop {
            self.poll(&mut client, served).await?;
            tokio::select! {
                () = wake.notified() => {}
                _ = tick.tick() => {}
                () = closed.cancelled() => return Err(FollowError::Ended),
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
        self.following.load(Ordering::Relaxed)
    }

    /// How long the node has been away from the database; `None` while it follows it.
    pub fn lost_for(&self) -> Option<Duration> {
        lock(&self.lost_at).map(|at| at.elapsed())
    }
}

/// Why the follower lost the database (logged; it reconnects with backoff).
#[derive(Debug, thiserror::Error)]
enum FollowError {
    /// The connection attempt took too long.
    #[error("connection attempt timed out")]
    ConnectTimeout,
    /// PostgreSQL's message, without its detail.
    #[error("{0}")]
    Sql(String),
    /// The listening connection ended.
    #[error("the connection ended")]
    Ended,
}

impl FollowError {
    fn sql(e: tokio_postgres::Error) -> Self {
        Self::Sql(super::describe(&e))
    }
}

impl From<DbError> for FollowError {
    fn from(e: DbError) -> Self {
        Self::Sql(e.to_string())
    }
}

/// Aborts a task when dropped: the connection driver ends with the follower that owns it.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
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
        _query: &'a Query,
    ) -> Fetch<'a, Result<Found<'a>, FetchError>> {
        Fetch::ready(Ok(Found {
            records: Records::Shared(snapshot),
            revision: snapshot.revision(),
            updated: *snapshot.updated(),
        }))
    }

    fn fetch_search<'a>(
        &'a self,
        _search: &'a Search,
        _after: Option<&'a str>,
        _rules: &'a AudienceRules,
        _limits: Limits,
    ) -> Fetch<'a, Result<Option<crate::backend::SearchSet>, FetchError>> {
        Fetch::ready(Ok(None))
    }

    fn still_valid(&self, body: &CachedBody, snapshot: &Snapshot) -> bool {
        body.valid_in(snapshot)
    }

    fn updated(&self, snapshot: &Snapshot) -> Timestamp {
        *snapshot.updated()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_waits_for_late_serials_and_applies_each_once() {
        let mut p = Position {
            newest: 10,
            gaps: BTreeMap::new(),
        };
        assert_eq!(p.see(10), Seen::Before);
        assert_eq!(p.see(13), Seen::New);
        assert_eq!(p.gaps.keys().copied().collect::<Vec<_>>(), [11, 12]);
        assert_eq!(p.see(12), Seen::New, "a late commit below the newest");
        assert_eq!(p.see(12), Seen::Before);
        assert_eq!(p.see(13), Seen::Before);
        assert_eq!(p.newest, 13);
        assert_eq!(p.see(13 + MAX_GAPS as i64 + 2), Seen::TooFar);
        assert_eq!(p.newest, 13, "too far leaves the position as it was");
    }
}
