//! The backend seam: where the records of an answer come from.
//!
//! The protocol front ends never ask which backend serves them. They call [`records`] (a
//! lookup) or [`search_records`] (one page of an authority search), ask [`Backend::still_valid`]
//! whether a cached answer may still be served and [`Backend::updated`] for `last update of
//! RDAP database`, and turn a failure into their answer through the one [`Unreadable`] value.
//!
//! Two backends exist:
//! - [`InMemory`]: the generation's snapshot holds every record (JSON Lines files, or the
//!   embedded demo registry). Nothing ever waits: a lookup's future is ready on its first poll,
//!   which the RDAP front end uses to answer without allocating a task.
//! - the PostgreSQL adapter in direct mode (`crate::db::serve::Database`), which reads the
//!   records of each query from the database and follows its change log;
//! - the PostgreSQL adapter in replica mode (`crate::db::replica::Replica`), which reads the
//!   whole registry into the generation's snapshot at start and applies the database's change
//!   log to it ([`Served`]): lookups are in-memory ones, as with JSON Lines.
//!
//! A third backend implements [`Backend`] and is handed to [`crate::state::Sources`]; nothing
//! in `rdap` or `whois` changes.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::cache::CachedBody;
use crate::policy::AudienceRules;
use crate::query::Query;
use crate::registry::load::delta_file::Delta;
use crate::registry::load::LoadErrors;
use crate::registry::store::Revision;
use crate::registry::{Snapshot, Timestamp};
use crate::search::{Limits, Search};

/// A future that a backend may finish at once ([`Fetch::Ready`], no allocation) or later.
pub enum Fetch<'a, T> {
    /// Done (taken on the first poll).
    Ready(Option<T>),
    /// Waiting (for the database).
    Pending(Pin<Box<dyn Future<Output = T> + Send + 'a>>),
}

impl<T> Fetch<'_, T> {
    /// A result that is ready now.
    pub fn ready(value: T) -> Self {
        Self::Ready(Some(value))
    }
}

impl<T: Unpin> Future for Fetch<'_, T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match self.get_mut() {
            Self::Ready(value) => match value.take() {
                Some(v) => Poll::Ready(v),
                // Polled after completion: a broken executor. Never finish twice.
                None => Poll::Pending,
            },
            Self::Pending(f) => f.as_mut().poll(cx),
        }
    }
}

/// Why a backend could not read the records of an answer.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The store is unreachable, too slow, or every connection is busy.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Records broke the data rules; each message names table, key and field.
    #[error("records refused: {}", .0.join("; "))]
    BadData(Vec<String>),
}

/// What a front end answers when the records could not be read: the one mapping from a
/// backend failure to an outcome (RDAP 503 or 500, a port 43 error line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreadable {
    /// Try again later (503, `%ERROR:503`).
    Unavailable,
    /// The records are defective (500, `%ERROR:500`); the backend logged which.
    BadData,
}

impl From<&FetchError> for Unreadable {
    fn from(e: &FetchError) -> Self {
        match e {
            FetchError::Unavailable(_) => Self::Unavailable,
            FetchError::BadData(_) => Self::BadData,
        }
    }
}

/// The records an answer is rendered from: the generation's snapshot, or a small one read for
/// this query.
#[derive(Debug)]
pub enum Records<'a> {
    /// The whole registry, in memory.
    Shared(&'a Snapshot),
    /// The records this query needs, read from the store.
    Fetched(Box<Snapshot>),
}

impl std::ops::Deref for Records<'_> {
    type Target = Snapshot;

    fn deref(&self) -> &Snapshot {
        match self {
            Self::Shared(s) => s,
            Self::Fetched(s) => s,
        }
    }
}

/// The records of one lookup, with what the answer cache and the renderer need of them.
#[derive(Debug)]
pub struct Found<'a> {
    /// The records.
    pub records: Records<'a>,
    /// The revision (or database epoch) they are of: a cached answer records it.
    pub revision: Revision,
    /// `last update of RDAP database`.
    pub updated: Timestamp,
}

/// How a backend that depends on a remote store is doing, for `/readyz` and the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Health {
    /// Following the store's changes.
    pub up: bool,
    /// How long the store has been lost; `None` while following.
    pub lost_for: Option<Duration>,
    /// Lookups answered 503 or 500 because the store could not be read.
    pub failures: u64,
    /// Change rows applied.
    pub changes_applied: u64,
    /// The backend serves a complete snapshot of the store (a replica): while the store is
    /// lost it keeps serving everything, `lost_for` behind at most.
    pub complete: bool,
    /// Full re-reads of the store (a replica's resyncs).
    pub resyncs: u64,
}

/// The generation being served, as a backend that holds the whole registry (a replica)
/// changes it. Implemented by `crate::state::State`, which this layer does not import.
pub trait Served: Send + Sync {
    /// The snapshot served now (a cheap clone: its shards are shared).
    fn snapshot(&self) -> Snapshot;
    /// Serve the served snapshot with `delta` applied (a follower's changes, in order): every
    /// cached answer none of whose records changed stays valid.
    ///
    /// # Errors
    /// The delta does not apply to the served snapshot; nothing changed.
    fn apply(&self, delta: &Delta) -> Result<(), LoadErrors>;
    /// Serve `snapshot` instead, as a full load (a resync): every cached answer is dropped.
    fn replace(&self, snapshot: Snapshot);
}

/// The records of one search page read by a backend, and how many matches lie at or before
/// its cursor when the set cannot count them.
pub type SearchSet = (Snapshot, Option<usize>);

/// A source of registration records for the front ends.
pub trait Backend: Send + Sync + fmt::Debug {
    /// Whether every lookup is answered from the generation's snapshot without waiting.
    fn in_memory(&self) -> bool;

    /// For a backend that reads records per query: the zones and update time a generation's
    /// (empty) snapshot is made with, instead of loading a data set. `None`: load the data.
    fn registry_only(&self) -> Option<(Vec<String>, Timestamp)> {
        None
    }

    /// The records the answer to `query` needs; `snapshot` is the generation's.
    fn fetch<'a>(
        &'a self,
        snapshot: &'a Snapshot,
        query: &'a Query,
    ) -> Fetch<'a, Result<Found<'a>, FetchError>>;

    /// The candidates of one search page after the cursor `after`, with how many matches lie
    /// at or before it when the set cannot count them; `None`: search the generation's
    /// snapshot.
    fn fetch_search<'a>(
        &'a self,
        search: &'a Search,
        after: Option<&'a str>,
        rules: &'a AudienceRules,
        limits: Limits,
    ) -> Fetch<'a, Result<Option<SearchSet>, FetchError>>;

    /// Whether a cached answer may still be served: none of its records changed since it was
    /// rendered.
    fn still_valid(&self, body: &CachedBody, snapshot: &Snapshot) -> bool;

    /// `last update of RDAP database`.
    fn updated(&self, snapshot: &Snapshot) -> Timestamp;

    /// For a backend that holds the whole registry itself (a replica): the snapshot a load
    /// serves. At start, the one it read; on a reload (SIGHUP), `previous`, the one being
    /// served: its records change through the store's change log, not through a reload.
    /// `None`: load the data (or see [`Backend::registry_only`]).
    fn held_snapshot(&self, _previous: Option<&Snapshot>) -> Option<Snapshot> {
        None
    }

    /// The remote store's health; `None` for a backend without one.
    fn health(&self) -> Option<Health> {
        None
    }

    /// The task that keeps the backend in step with its store until `shutdown`, if it has one;
    /// a backend that holds the registry applies the store's changes to `served`.
    fn follow(
        self: Arc<Self>,
        _served: Arc<dyn Served>,
        _shutdown: CancellationToken,
    ) -> Option<Pin<Box<dyn Future<Output = ()> + Send>>> {
        None
    }
}

/// The in-memory backend: every record is in the generation's snapshot.
#[derive(Debug, Clone, Copy, Default)]
pub struct InMemory;

impl Backend for InMemory {
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
    ) -> Fetch<'a, Result<Option<SearchSet>, FetchError>> {
        Fetch::ready(Ok(None))
    }

    fn still_valid(&self, body: &CachedBody, snapshot: &Snapshot) -> bool {
        body.valid_in(snapshot)
    }

    fn updated(&self, snapshot: &Snapshot) -> Timestamp {
        *snapshot.updated()
    }
}

/// The records of a lookup, or why they cannot be read.
///
/// # Errors
/// [`Unreadable`] when the backend could not read them.
pub async fn records<'a>(
    backend: &'a dyn Backend,
    snapshot: &'a Snapshot,
    query: &'a Query,
) -> Result<Found<'a>, Unreadable> {
    backend
        .fetch(snapshot, query)
        .await
        .map_err(|e| Unreadable::from(&e))
}

/// The candidates of a search page (see [`Backend::fetch_search`]), or why they cannot be
/// read.
///
/// # Errors
/// [`Unreadable`] when the backend could not read them.
pub async fn search_records(
    backend: &dyn Backend,
    search: &Search,
    after: Option<&str>,
    rules: &AudienceRules,
    limits: Limits,
) -> Result<Option<SearchSet>, Unreadable> {
    backend
        .fetch_search(search, after, rules, limits)
        .await
        .map_err(|e| Unreadable::from(&e))
}
