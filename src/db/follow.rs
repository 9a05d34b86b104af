//! Following the change log, as both serving modes do it: the listening connection, the
//! reconnection with backoff, whether the node follows its database, where it stands among the
//! change serials, and the statements over `changes`. Direct mode (`super::serve`) turns the
//! changes into cache invalidations, replica mode (`super::replica`) into deltas.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::Notify;
use tokio_postgres::{AsyncMessage, Client, Config, GenericClient, NoTls};
use tokio_util::sync::CancellationToken;

use super::{describe, DbError};

/// How long one connection attempt may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// The longest wait between two connection attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// The first wait after a failed attempt.
pub(super) const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// The change log is read at least this often, even without a notification.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How long a missing serial (a transaction not yet committed, or rolled back) is looked for.
pub const LATE_COMMIT_WINDOW: Duration = Duration::from_secs(600);
/// Missing serials waited for at most.
pub(super) const MAX_GAPS: usize = 10_000;
/// How far below the newest serial a (re)connection or a full read looks for serials not yet
/// committed.
pub(super) const GAP_SCAN: i64 = 1_000;

/// The registry's zones, the time of the latest change (at least the registry row's update
/// time: `last update of RDAP database`) and the newest change serial.
pub(super) const REGISTRY: &str = "\
SELECT ARRAY(SELECT tld FROM registry_tlds ORDER BY position), \
    greatest((SELECT updated FROM registry), \
             (SELECT at FROM changes ORDER BY serial DESC LIMIT 1)), \
    (SELECT coalesce(max(serial), 0) FROM changes)";

/// The change rows after the newest serial seen, and the missing ones below it: two index
/// ranges (an `OR` of the two may scan the whole, ever-growing table).
pub(super) const POLL: &str = "\
SELECT serial, kind, key, at FROM changes WHERE serial > $1 \
UNION ALL SELECT serial, kind, key, at FROM changes WHERE serial = ANY($2) AND serial <= $1 \
    ORDER BY serial LIMIT $3";

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Where a node stands in the change log.
#[derive(Debug, Clone, Default)]
pub(crate) struct Position {
    /// The newest serial seen.
    pub(super) newest: i64,
    /// Serials below `newest` not seen yet, with when they were first missed.
    pub(super) gaps: BTreeMap<i64, Instant>,
}

/// What a serial is to a [`Position`].
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Seen {
    /// Seen before.
    Before,
    /// Not seen yet.
    New,
    /// So far past the newest that the serials between cannot all be waited for (the
    /// position is as it was).
    TooFar,
}

impl Position {
    /// `newest`, with the serials of the window below it that `present` (the serials the log
    /// shows) lacks waited for.
    pub(super) fn scanned(newest: i64, present: &[i64]) -> Self {
        let now = Instant::now();
        Self {
            newest,
            gaps: ((newest - GAP_SCAN).max(0) + 1..=newest)
                .filter(|s| !present.contains(s))
                .map(|s| (s, now))
                .collect(),
        }
    }

    /// Take `serial` into account.
    pub(super) fn see(&mut self, serial: i64) -> Seen {
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
    pub(super) fn expire_gaps(&mut self) {
        let now = Instant::now();
        self.gaps
            .retain(|_, since| now.duration_since(*since) < LATE_COMMIT_WINDOW);
    }
}

/// The serials the log holds in the window below `newest` ([`Position::scanned`]).
pub(super) async fn present_below(
    client: &impl GenericClient,
    newest: i64,
) -> Result<Vec<i64>, tokio_postgres::Error> {
    Ok(client
        .query(
            "SELECT serial FROM changes WHERE serial > $1",
            &[&(newest - GAP_SCAN)],
        )
        .await?
        .iter()
        .filter_map(|r| r.try_get(0).ok())
        .collect())
}

/// Whether a node follows its database, and since when it has lost it.
#[derive(Debug, Default)]
pub(super) struct Link {
    following: AtomicBool,
    lost_at: Mutex<Option<Instant>>,
}

impl Link {
    /// Following the database's changes (the listener is connected).
    pub(super) fn is_up(&self) -> bool {
        self.following.load(Ordering::Relaxed)
    }

    /// How long the node has been away from the database; `None` while it follows it.
    pub(super) fn lost_for(&self) -> Option<Duration> {
        lock(&self.lost_at).map(|at| at.elapsed())
    }

    /// The listener is following again.
    pub(super) fn up(&self) {
        self.following.store(true, Ordering::Relaxed);
        *lock(&self.lost_at) = None;
    }

    /// The listener is gone. From the first failure on: a node that never reached the
    /// database has lost it since it tried.
    fn down(&self) {
        self.following.store(false, Ordering::Relaxed);
        lock(&self.lost_at).get_or_insert_with(Instant::now);
    }
}

/// Run `once` (one connection's following) until `shutdown`, again after each loss with a
/// backoff of 0.1 s doubling to [`MAX_BACKOFF`] (back to the start after a connection that
/// lasted longer than that), keeping `link` and logging each loss with `lost`.
pub(super) async fn reconnecting<F, Fut>(
    link: &Link,
    shutdown: &CancellationToken,
    lost: &'static str,
    mut once: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), FollowError>>,
{
    let mut backoff = MIN_BACKOFF;
    loop {
        let started = Instant::now();
        let outcome = once().await;
        if shutdown.is_cancelled() {
            return;
        }
        link.down();
        if let Err(e) = &outcome {
            tracing::warn!(error = %e, "{lost}");
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

/// A connection that LISTENs on `rddsd_changes`: `wake` is notified on each notification,
/// `closed` is cancelled when the connection ends; its driver task ends with it.
pub(super) struct Listening {
    pub(super) client: Client,
    pub(super) wake: Arc<Notify>,
    pub(super) closed: CancellationToken,
    _driver: AbortOnDrop,
}

/// Connect (within [`CONNECT_TIMEOUT`]) and LISTEN.
///
/// # Errors
/// The connection or the LISTEN failed.
pub(super) async fn listen(config: &Config) -> Result<Listening, FollowError> {
    let (client, mut connection) = tokio::time::timeout(CONNECT_TIMEOUT, config.connect(NoTls))
        .await
        .map_err(|_| FollowError::ConnectTimeout)?
        .map_err(FollowError::sql)?;
    let wake = Arc::new(Notify::new());
    let closed = CancellationToken::new();
    let driver = {
        let wake = Arc::clone(&wake);
        let closed = closed.clone();
        tokio::spawn(async move {
            let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
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
    let listening = Listening {
        client,
        wake,
        closed,
        _driver: AbortOnDrop(driver),
    };
    listening
        .client
        .batch_execute("LISTEN rddsd_changes")
        .await
        .map_err(FollowError::sql)?;
    Ok(listening)
}

/// Why a follower lost the database (logged; it reconnects with backoff).
#[derive(Debug, thiserror::Error)]
pub(super) enum FollowError {
    /// The connection attempt took longer than [`CONNECT_TIMEOUT`].
    #[error("connection attempt timed out")]
    ConnectTimeout,
    /// PostgreSQL's message, without its detail ([`describe`]).
    #[error("{0}")]
    Sql(String),
    /// The listening connection ended.
    #[error("the connection ended")]
    Ended,
    /// A change row without its columns.
    #[error("a change row could not be read")]
    BadChangeRow,
    /// The registry row is gone.
    #[error("the registry table is empty")]
    NoRegistryRow,
}

impl FollowError {
    pub(super) fn sql(e: tokio_postgres::Error) -> Self {
        Self::Sql(describe(&e))
    }
}

impl From<DbError> for FollowError {
    fn from(e: DbError) -> Self {
        Self::Sql(e.to_string())
    }
}

/// Aborts a task when dropped: the connection driver ends with the listener that owns it.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
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
