//! The PostgreSQL backend of `rddsd serve`: every public or authority lookup reads the records
//! its answer needs from the database, and the answer cache follows the database's changes.
//!
//! **Lookups.** One prepared statement per query kind fetches, in one round trip, every record
//! the answer shows (a domain with its contacts, nameserver hosts and registrars), each as a line
//! of the JSON Lines format built by the schema's `rddsd_*_line` functions. The loader's field
//! rules check those lines ([`fetched_snapshot`]) into a small snapshot of their own, which the
//! resolver, the policy and the renderers read exactly as they read the in-memory one: one
//! answer path for both backends.
//!
//! **The pool.** A fixed number of connections ([`DatabaseSettings::pool_size`]), each with its
//! statements prepared once. A request waits at most `queue_timeout` for one, and a statement
//! runs at most `statement_timeout` (enforced by the server, and by the client a little later
//! for a connection that went silent): a slow database costs a request a bounded wait on an
//! async timer, never a runtime thread. After a failed connection attempt, requests fail at
//! once until the next attempt is due (backoff up to [`MAX_BACKOFF`]) rather than each waiting
//! for a connect timeout.
//!
//! **Following changes.** A task ([`Database::follow`]) holds one more connection that LISTENs
//! on `rddsd_changes`. On each notification (and at least every [`POLL_INTERVAL`]) it reads the
//! change rows it has not seen: those after the newest serial it saw, and the serials below it
//! still missing, since a transaction that commits late can hold a smaller serial than rows
//! already read (a missing serial is looked for during [`LATE_COMMIT_WINDOW`]). Each new change
//! gets a local sequence number (an epoch) and is recorded against the object it names; a
//! cached answer is valid only while none of the records it was rendered from changed after the
//! epoch it was rendered in. An `all` or `registry` change, an overflow of the bounded map, and
//! every (re)connection of the listener (notifications may have been missed) move a floor
//! instead: everything rendered before it is stale.
//!
//! **Faults.** While the listener has lost the database, cached answers are served for at most
//! `max_stale` after the loss; a lookup that cannot be read is answered 503. Nothing personal
//! is logged: errors name the table and key (a name, a ROID or an IANA ID) and PostgreSQL's
//! message without its detail.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::Semaphore;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, Statement};
use tokio_util::sync::CancellationToken;

use super::DatabaseSettings;
use super::{describe, DbError};
use crate::backend::{Backend, Fetch, Found, Health, Records};
use crate::cache::CachedBody;
use crate::policy::AudienceRules;
use crate::query::{EntityHandle, Query};
use crate::registry::load::fetched::{empty_snapshot, fetched_snapshot, FetchedLine};
use crate::registry::store::{Dep, Revision};
use crate::registry::{ContactRoles, Snapshot, Timestamp};
use crate::search::{Limits, Search};

mod search;

/// Objects whose last change is remembered; past it the floor moves and the map starts over.
pub const MAX_TRACKED: usize = 100_000;
/// Change rows read per poll statement.
const POLL_BATCH: i64 = 10_000;

use super::follow::{FollowError, Link, Position, Seen, MIN_BACKOFF, POLL, REGISTRY};
pub use super::follow::{CONNECT_TIMEOUT, LATE_COMMIT_WINDOW, MAX_BACKOFF, POLL_INTERVAL};

pub use crate::backend::FetchError;

// ===== the lookups =====

/// Columns of every lookup: table, key, JSON line, and for a contact its roles.
const DOMAIN: &str = "\
SELECT 'domains', d.name, rddsd_domain_line(d), false, false FROM domains d WHERE d.name = $1 \
UNION ALL SELECT 'contacts', c.roid, rddsd_contact_line(c), false, false FROM contacts c \
    WHERE c.roid IN (SELECT x.contact FROM domain_contacts x WHERE x.domain = $1) \
UNION ALL SELECT 'hosts', h.name, rddsd_host_line(h), false, false FROM hosts h \
    WHERE h.name IN (SELECT n.host FROM domain_nameservers n WHERE n.domain = $1) \
UNION ALL SELECT 'registrars', r.iana_id::text, rddsd_registrar_line(r), false, false \
    FROM registrars r WHERE r.iana_id IN (SELECT d.registrar FROM domains d WHERE d.name = $1 \
    UNION SELECT h.registrar FROM hosts h JOIN domain_nameservers n ON n.host = h.name \
    WHERE n.domain = $1)";

const HOST: &str = "\
SELECT 'hosts', h.name, rddsd_host_line(h), false, false FROM hosts h WHERE h.name = $1 \
UNION ALL SELECT 'registrars', r.iana_id::text, rddsd_registrar_line(r), false, false \
    FROM registrars r WHERE r.iana_id = (SELECT h.registrar FROM hosts h WHERE h.name = $1)";

const HOSTS_BY_IP: &str = "\
SELECT 'hosts', h.name, rddsd_host_line(h), false, false FROM hosts h \
    WHERE h.name IN (SELECT a.host FROM host_addresses a WHERE a.address = $1) \
UNION ALL SELECT 'registrars', r.iana_id::text, rddsd_registrar_line(r), false, false \
    FROM registrars r WHERE r.iana_id IN (SELECT h.registrar FROM hosts h \
    JOIN host_addresses a ON a.host = h.name WHERE a.address = $1)";

const CONTACT: &str = "\
SELECT 'contacts', c.roid, rddsd_contact_line(c), \
    EXISTS (SELECT 1 FROM domain_contacts x WHERE x.contact = c.roid AND x.role = 'registrant'), \
    EXISTS (SELECT 1 FROM domain_contacts x WHERE x.contact = c.roid AND x.role = 'tech') \
    FROM contacts c WHERE upper(c.roid) = upper($1)";

const REGISTRAR: &str = "\
SELECT 'registrars', r.iana_id::text, rddsd_registrar_line(r), false, false \
    FROM registrars r WHERE r.iana_id = $1";

/// A registrar by name reads every registrar (a registry has a few thousand at most): the name
/// is matched by the loader's own rule (case and IDNA forms), which SQL does not state.
const REGISTRARS: &str = "\
SELECT 'registrars', r.iana_id::text, rddsd_registrar_line(r), false, false FROM registrars r";

/// The statements of a lookup connection, prepared once per connection.
struct Statements {
    domain: Statement,
    host: Statement,
    hosts_by_ip: Statement,
    contact: Statement,
    registrar: Statement,
    registrars: Statement,
}

/// A pooled connection.
struct Conn {
    client: Client,
    statements: Statements,
}

/// A connection taken from the pool; back into it when dropped, unless it broke.
struct Taken<'a> {
    db: &'a Database,
    conn: Option<Conn>,
    broken: bool,
    /// Taken from the idle list (rather than opened for this request).
    reused: bool,
    /// The connection turned out to have ended (not a statement error or a timeout).
    ended: bool,
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if !self.broken && !conn.client.is_closed() {
                lock(&self.db.idle).push(conn);
            }
        }
    }
}

/// When the next connection attempt may be made.
struct Retry {
    next: Instant,
    backoff: Duration,
}

/// What the node knows of the database's changes.
struct Tracker {
    /// Local sequence of applied changes.
    epoch: Revision,
    /// Answers rendered before this epoch are stale.
    floor: Revision,
    /// Per object, the epoch of its last change (since the floor last moved).
    changed: HashMap<Dep, Revision>,
    /// The newest serial read, and the serials below it not read yet.
    position: Position,
    /// The registry's zones.
    tlds: Vec<String>,
    /// The time of the latest change applied (at least the registry row's update time).
    updated: Timestamp,
}

impl Tracker {
    fn stale_all(&mut self) {
        self.floor = self.epoch;
        self.changed.clear();
    }

    /// Apply one change row; false if it was read before. A serial above the newest one seen
    /// leaves the serials between them to be looked for; an object's change is recorded
    /// against it, anything else (`all`, `registry`, a kind this binary does not know, or one
    /// object too many) makes everything before it stale.
    fn apply(&mut self, serial: i64, kind: &str, key: Option<&str>, at: Timestamp) -> bool {
        match self.position.see(serial) {
            Seen::Before => return false,
            Seen::New => {}
            Seen::TooFar => {
                // Too many serials to wait for: whatever they hold, treat everything as changed.
                self.epoch += 1;
                self.stale_all();
                self.position.newest = serial;
            }
        }
        self.epoch += 1;
        let dep = match (kind, key) {
            ("domain", Some(k)) => Some(Dep::Domain(k.into())),
            ("host", Some(k)) => Some(Dep::Host(k.into())),
            ("contact", Some(k)) => Some(Dep::Contact(crate::registry::Roid::key(k).into())),
            ("registrar", Some(k)) => k.parse().ok().map(Dep::Registrar),
            // `all`, `registry`, or a row this binary does not know.
            _ => None,
        };
        match dep {
            Some(dep) if self.changed.len() < MAX_TRACKED => {
                self.changed.insert(dep, self.epoch);
            }
            _ => self.stale_all(),
        }
        if at > self.updated {
            self.updated = at;
        }
        true
    }
}

/// The database, as the serving node uses it. Shared by every request.
pub struct Database {
    config: Config,
    settings: DatabaseSettings,
    idle: Mutex<Vec<Conn>>,
    permits: Semaphore,
    retry: Mutex<Retry>,
    tracker: RwLock<Tracker>,
    /// Whether the listener follows the database's changes, and since when it lost it.
    link: Link,
    /// Lookups answered 503 or 500 because the database could not be read.
    pub failures: AtomicU64,
    /// Change rows applied.
    pub changes_applied: AtomicU64,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("target", &super::target(&self.config))
            .field("following", &self.link.is_up())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A `timestamptz` as the model's whole seconds.
fn timestamp(t: SystemTime) -> Timestamp {
    super::export::timestamp(t)
}

impl Database {
    /// Connect once, check the schema, and read the registry row: a node does not start on a
    /// database it cannot serve from.
    ///
    /// # Errors
    /// The URL, the connection, or a schema that is missing or not this binary's.
    pub async fn open(settings: DatabaseSettings) -> Result<Arc<Self>, DbError> {
        let mut config = super::parse_url(&settings.url)?;
        config.connect_timeout(CONNECT_TIMEOUT);
        let client = super::connect_with(&config).await?;
        super::migrate::require_current(&client).await?;
        let row = client
            .query_one(REGISTRY, &[])
            .await
            .map_err(|e| DbError::sql("cannot read the registry row", &e))?;
        let tlds: Vec<String> = row
            .try_get(0)
            .map_err(|e| DbError::sql("cannot read the registry row", &e))?;
        let updated: Option<SystemTime> = row
            .try_get(1)
            .map_err(|e| DbError::sql("cannot read the registry row", &e))?;
        let newest: i64 = row
            .try_get(2)
            .map_err(|e| DbError::sql("cannot read the change log", &e))?;
        let Some(updated) = updated else {
            return Err(DbError::Sql {
                what: "the registry table is empty".into(),
                reason: "import a data set first (rddsd db import)".into(),
            });
        };
        let pool_size = settings.pool_size;
        Ok(Arc::new(Self {
            config,
            idle: Mutex::new(Vec::with_capacity(pool_size)),
            permits: Semaphore::new(pool_size),
            settings,
            retry: Mutex::new(Retry {
                next: Instant::now(),
                backoff: MIN_BACKOFF,
            }),
            tracker: RwLock::new(Tracker {
                epoch: 1,
                floor: 1,
                changed: HashMap::new(),
                position: Position {
                    newest,
                    gaps: BTreeMap::new(),
                },
                tlds,
                updated: timestamp(updated),
            }),
            link: Link::default(),
            failures: AtomicU64::new(0),
            changes_applied: AtomicU64::new(0),
        }))
    }

    /// The registry's zones and the time of the latest change applied.
    pub fn registry(&self) -> (Vec<String>, Timestamp) {
        let t = self.tracker.read().unwrap_or_else(PoisonError::into_inner);
        (t.tlds.clone(), t.updated)
    }

    /// The time of the latest change applied (`last update of RDAP database`).
    pub fn updated(&self) -> Timestamp {
        self.tracker
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .updated
    }

    /// The epoch an answer fetched from now on is rendered in.
    pub fn epoch(&self) -> Revision {
        self.tracker
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .epoch
    }

    /// Whether the node follows the database's changes (its listener is connected).
    pub fn is_up(&self) -> bool {
        self.link.is_up()
    }

    /// Seconds since the node lost the database; `None` while it follows it.
    pub fn lost_for(&self) -> Option<Duration> {
        self.link.lost_for()
    }

    /// Whether a cached answer may still be served: none of its records changed after it was
    /// rendered, nothing moved the floor since, and if the database is lost, not for longer
    /// than `max_stale`.
    pub fn still_valid(&self, body: &CachedBody) -> bool {
        if self
            .lost_for()
            .is_some_and(|lost| lost > self.settings.max_stale)
        {
            return false;
        }
        let t = self.tracker.read().unwrap_or_else(PoisonError::into_inner);
        let at = body.rendered_at();
        at >= t.floor
            && body
                .deps()
                .iter()
                .all(|d| t.changed.get(d).is_none_or(|e| *e <= at))
    }

    /// The records the answer to `query` needs, read in one statement and checked, as a
    /// snapshot of their own; with the epoch they were read in.
    ///
    /// # Errors
    /// [`FetchError::Unavailable`] when the database cannot be read in time;
    /// [`FetchError::BadData`] when a record breaks the data rules (logged here, by table and
    /// key).
    pub async fn fetch(&self, query: &Query) -> Result<(Snapshot, Revision), FetchError> {
        let (tlds, updated) = self.registry();
        let epoch = self.epoch();
        if matches!(query, Query::Help) {
            return Ok((empty_snapshot(tlds, updated), epoch));
        }
        let result = self.read(query).await;
        let rows = match result {
            Ok(rows) => rows,
            Err(e) => {
                self.unreadable(query.kind(), &e);
                return Err(e);
            }
        };
        self.set_of(query.kind(), tlds, updated, &rows)
            .map(|s| (s, epoch))
    }

    /// The rows of a lookup or search (table, key, JSON line, and a contact's roles), checked
    /// into a snapshot of their own.
    fn set_of(
        &self,
        kind: &'static str,
        tlds: Vec<String>,
        updated: Timestamp,
        rows: &[tokio_postgres::Row],
    ) -> Result<Snapshot, FetchError> {
        let mut owned = Vec::with_capacity(rows.len());
        for row in rows {
            let (Ok(table), Ok(key), Ok(line), Ok(r), Ok(t)) = (
                row.try_get::<_, &str>(0),
                row.try_get::<_, &str>(1),
                row.try_get::<_, &str>(2),
                row.try_get::<_, bool>(3),
                row.try_get::<_, bool>(4),
            ) else {
                return Err(self.bad(kind, vec!["a row of the lookup could not be read".into()]));
            };
            owned.push(FetchedLine {
                table,
                key,
                line,
                roles: ContactRoles {
                    registrant: r,
                    technical: t,
                },
            });
        }
        let (snapshot, left_out) = fetched_snapshot(tlds, updated, &owned);
        for e in &left_out {
            tracing::warn!(kind, error = %e, "a record in the database cannot be represented; left out of this answer (run rddsd check --database)");
        }
        Ok(snapshot)
    }

    fn bad(&self, kind: &'static str, errors: Vec<String>) -> FetchError {
        self.failures.fetch_add(1, Ordering::Relaxed);
        for e in &errors {
            tracing::error!(kind, error = %e, "a record in the database breaks the data rules; answered 500 (run rddsd check --database)");
        }
        FetchError::BadData(errors)
    }

    /// A lookup or search that could not be read: counted, and logged as a warning while the
    /// node follows the database (while it knows it lost it, every request failing is
    /// expected and logged once, by the listener).
    fn unreadable(&self, kind: &'static str, e: &FetchError) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        if self.is_up() {
            tracing::warn!(kind, error = %e, "lookup not read from the database");
        } else {
            tracing::debug!(kind, error = %e, "lookup not read from the database");
        }
    }

    /// Run the query's statement. A pooled connection can have ended unnoticed (the server
    /// restarted, or terminated it): a failure of a reused connection is tried once more, on a
    /// connection of its own.
    async fn read(&self, query: &Query) -> Result<Vec<tokio_postgres::Row>, FetchError> {
        let first = self.take().await?;
        let reused = first.reused;
        let mut ended = false;
        match self.read_on(first, query, &mut ended).await {
            // Not a statement that failed or timed out (trying again would double the wait),
            // only a connection found ended.
            Err(FetchError::Unavailable(_)) if reused && ended => {
                let fresh = self.take_fresh().await?;
                self.read_on(fresh, query, &mut ended).await
            }
            outcome => outcome,
        }
    }

    /// Run the query's statement on `taken`; `ended` tells whether the connection had ended.
    async fn read_on(
        &self,
        mut taken: Taken<'_>,
        query: &Query,
        ended: &mut bool,
    ) -> Result<Vec<tokio_postgres::Row>, FetchError> {
        let result = self.read_with(&mut taken, query).await;
        *ended = taken.ended;
        result
    }

    /// Run an unprepared statement (a search: rare, one of many shapes, so not worth a
    /// prepared statement on every connection), with [`Self::read`]'s one retry.
    async fn read_sql(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, FetchError> {
        let mut taken = self.take().await?;
        let reused = taken.reused;
        match self.run(&mut taken, sql, params).await {
            Err(FetchError::Unavailable(_)) if reused && taken.ended => {
                drop(taken);
                let mut fresh = self.take_fresh().await?;
                self.run(&mut fresh, sql, params).await
            }
            outcome => outcome,
        }
    }

    async fn read_with(
        &self,
        taken: &mut Taken<'_>,
        query: &Query,
    ) -> Result<Vec<tokio_postgres::Row>, FetchError> {
        let Some(conn) = taken.conn.as_ref() else {
            return Err(FetchError::Unavailable("no connection".into()));
        };
        let s = &conn.statements;
        let name;
        let id;
        let ip;
        let (statement, params): (&Statement, [&(dyn ToSql + Sync); 1]) = match query {
            Query::Help => return Ok(Vec::new()),
            Query::Domain(n) => {
                name = n.ascii().to_string();
                (&s.domain, [&name])
            }
            Query::Nameserver(n) => {
                name = n.ascii().to_string();
                (&s.host, [&name])
            }
            Query::NameserversByIp(a) => {
                // As the snapshot indexes them: an IPv4-mapped IPv6 address is the IPv4 one.
                ip = match a {
                    IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(*a, IpAddr::V4),
                    v4 => *v4,
                };
                (&s.hosts_by_ip, [&ip])
            }
            Query::Entity(EntityHandle::Contact(roid)) => {
                name = roid.as_str().to_string();
                (&s.contact, [&name])
            }
            Query::Entity(EntityHandle::Registrar(i)) => {
                id = i64::from(*i);
                (&s.registrar, [&id])
            }
            Query::RegistrarByName(_) => {
                let all = s.registrars.clone();
                return self.run(taken, &all, &[]).await;
            }
        };
        let statement = statement.clone();
        self.run(taken, &statement, &params).await
    }

    async fn run<T>(
        &self,
        taken: &mut Taken<'_>,
        statement: &T,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, FetchError>
    where
        T: tokio_postgres::ToStatement + Sync + ?Sized,
    {
        let Some(conn) = taken.conn.as_ref() else {
            return Err(FetchError::Unavailable("no connection".into()));
        };
        // The server cancels the statement at `statement_timeout`; the client's own bound, a
        // little later, covers a connection that went silent.
        let limit = self.settings.statement_timeout + Duration::from_millis(500);
        match tokio::time::timeout(limit, conn.client.query(statement, params)).await {
            Ok(Ok(rows)) => Ok(rows),
            Ok(Err(e)) => {
                // A statement error on a live connection (a cancelled statement) leaves it
                // usable; anything else does not.
                taken.ended = e.as_db_error().is_none() || conn.client.is_closed();
                taken.broken = taken.ended;
                Err(FetchError::Unavailable(describe(&e)))
            }
            Err(_) => {
                taken.broken = true;
                Err(FetchError::Unavailable(format!(
                    "no answer within {} ms",
                    limit.as_millis()
                )))
            }
        }
    }

    /// A connection from the pool, waiting at most `queue_timeout`; a new one if none is idle.
    async fn take(&self) -> Result<Taken<'_>, FetchError> {
        let permit = self.permit().await?;
        loop {
            let conn = lock(&self.idle).pop();
            match conn {
                Some(c) if !c.client.is_closed() => {
                    return Ok(Taken {
                        db: self,
                        conn: Some(c),
                        broken: false,
                        reused: true,
                        ended: false,
                        _permit: permit,
                    })
                }
                Some(_) => {}
                None => break,
            }
        }
        self.open_with(permit).await
    }

    /// A newly opened connection, for a retry: the idle ones may have ended with the one that
    /// failed.
    async fn take_fresh(&self) -> Result<Taken<'_>, FetchError> {
        let permit = self.permit().await?;
        lock(&self.idle).retain(|c| !c.client.is_closed());
        self.open_with(permit).await
    }

    async fn permit(&self) -> Result<tokio::sync::SemaphorePermit<'_>, FetchError> {
        tokio::time::timeout(self.settings.queue_timeout, self.permits.acquire())
            .await
            .map_err(|_| {
                FetchError::Unavailable(format!(
                    "every connection busy for {} ms",
                    self.settings.queue_timeout.as_millis()
                ))
            })?
            .map_err(|_| FetchError::Unavailable("the pool is closed".into()))
    }

    async fn open_with<'a>(
        &'a self,
        permit: tokio::sync::SemaphorePermit<'a>,
    ) -> Result<Taken<'a>, FetchError> {
        {
            let retry = lock(&self.retry);
            if Instant::now() < retry.next {
                return Err(FetchError::Unavailable(
                    "the database is unreachable; reconnecting".into(),
                ));
            }
        }
        match tokio::time::timeout(CONNECT_TIMEOUT, self.connect()).await {
            Ok(Ok(conn)) => {
                let mut retry = lock(&self.retry);
                retry.backoff = MIN_BACKOFF;
                Ok(Taken {
                    db: self,
                    conn: Some(conn),
                    broken: false,
                    reused: false,
                    ended: false,
                    _permit: permit,
                })
            }
            outcome => {
                let mut retry = lock(&self.retry);
                retry.next = Instant::now() + retry.backoff;
                retry.backoff = (retry.backoff * 2).min(MAX_BACKOFF);
                Err(FetchError::Unavailable(match outcome {
                    Ok(Err(e)) => e.to_string(),
                    _ => "connection attempt timed out".into(),
                }))
            }
        }
    }

    /// A new lookup connection: the statement timeout set and every statement prepared (one
    /// pipelined exchange).
    async fn connect(&self) -> Result<Conn, DbError> {
        let client = super::connect_with(&self.config).await?;
        let ms = self.settings.statement_timeout.as_millis();
        let fail = |e: tokio_postgres::Error| DbError::sql("cannot prepare the lookups", &e);
        let set_timeout = format!("SET statement_timeout = {ms}");
        let set = client.batch_execute(&set_timeout);
        let (set, domain, host, hosts_by_ip, contact, registrar, registrars) = tokio::join!(
            set,
            client.prepare(DOMAIN),
            client.prepare(HOST),
            client.prepare(HOSTS_BY_IP),
            client.prepare(CONTACT),
            client.prepare(REGISTRAR),
            client.prepare(REGISTRARS),
        );
        set.map_err(fail)?;
        let statements = Statements {
            domain: domain.map_err(fail)?,
            host: host.map_err(fail)?,
            hosts_by_ip: hosts_by_ip.map_err(fail)?,
            contact: contact.map_err(fail)?,
            registrar: registrar.map_err(fail)?,
            registrars: registrars.map_err(fail)?,
        };
        Ok(Conn { client, statements })
    }

    // ===== following changes =====

    /// Follow the database's changes until `shutdown`: LISTEN, read new change rows on each
    /// notification and every [`POLL_INTERVAL`], reconnect with backoff when the connection is
    /// lost.
    pub async fn follow(self: Arc<Self>, shutdown: CancellationToken) {
        super::follow::reconnecting(
            &self.link,
            &shutdown,
            "lost the database; cached answers are served for at most max_stale_secs, then 503",
            || self.follow_once(&shutdown),
        )
        .await;
    }

    async fn follow_once(&self, shutdown: &CancellationToken) -> Result<(), FollowError> {
        let super::follow::Listening {
            client,
            wake,
            closed,
            ..
        } = &super::follow::listen(&self.config).await?;
        let sql = FollowError::sql;
        let poll = client.prepare(POLL).await.map_err(sql)?;
        let registry = client.prepare(REGISTRY).await.map_err(sql)?;
        // Start over: changes may have been missed while not listening. Everything cached
        // before now is stale; serials not yet committed below the newest are waited for.
        let (tlds, updated, newest) = read_registry(client, &registry).await?;
        let present = super::follow::present_below(client, newest)
            .await
            .map_err(sql)?;
        {
            let mut t = self.tracker.write().unwrap_or_else(PoisonError::into_inner);
            t.epoch += 1;
            t.stale_all();
            t.position = Position::scanned(newest, &present);
            t.tlds = tlds;
            t.updated = updated;
        }
        self.link.up();
        tracing::info!("following the database's changes");
        let mut tick = tokio::time::interval(POLL_INTERVAL);
        loop {
            tokio::select! {
                () = wake.notified() => {}
                _ = tick.tick() => {}
                () = closed.cancelled() => return Err(FollowError::Ended),
                () = shutdown.cancelled() => return Ok(()),
            }
            self.poll(client, &poll, &registry).await?;
        }
    }

    /// Read and apply every change row not seen yet.
    async fn poll(
        &self,
        client: &Client,
        poll: &Statement,
        registry: &Statement,
    ) -> Result<(), FollowError> {
        loop {
            let (newest, gaps) = {
                let mut t = self.tracker.write().unwrap_or_else(PoisonError::into_inner);
                t.position.expire_gaps();
                (
                    t.position.newest,
                    t.position.gaps.keys().copied().collect::<Vec<i64>>(),
                )
            };
            let rows = client
                .query(poll, &[&newest, &gaps, &POLL_BATCH])
                .await
                .map_err(FollowError::sql)?;
            let mut reread = false;
            {
                let mut t = self.tracker.write().unwrap_or_else(PoisonError::into_inner);
                for row in &rows {
                    let (Ok(serial), Ok(kind), Ok(key), Ok(at)) = (
                        row.try_get::<_, i64>(0),
                        row.try_get::<_, &str>(1),
                        row.try_get::<_, Option<&str>>(2),
                        row.try_get::<_, SystemTime>(3),
                    ) else {
                        return Err(FollowError::BadChangeRow);
                    };
                    if t.apply(serial, kind, key, timestamp(at)) {
                        self.changes_applied.fetch_add(1, Ordering::Relaxed);
                        reread |= matches!(kind, "all" | "registry");
                    }
                }
            }
            if reread {
                let (tlds, updated, _) = read_registry(client, registry).await?;
                let mut t = self.tracker.write().unwrap_or_else(PoisonError::into_inner);
                t.tlds = tlds;
                if updated > t.updated {
                    t.updated = updated;
                }
            }
            if i64::try_from(rows.len()).unwrap_or(i64::MAX) < POLL_BATCH {
                return Ok(());
            }
        }
    }
}

async fn read_registry(
    client: &Client,
    registry: &Statement,
) -> Result<(Vec<String>, Timestamp, i64), FollowError> {
    let row = client
        .query_one(registry, &[])
        .await
        .map_err(FollowError::sql)?;
    let tlds: Vec<String> = row.try_get(0).map_err(FollowError::sql)?;
    let updated: Option<SystemTime> = row.try_get(1).map_err(FollowError::sql)?;
    let newest: i64 = row.try_get(2).map_err(FollowError::sql)?;
    let updated = updated.ok_or(FollowError::NoRegistryRow)?;
    Ok((tlds, timestamp(updated), newest))
}

/// The PostgreSQL backend behind the seam the front ends use.
impl Backend for Database {
    fn in_memory(&self) -> bool {
        false
    }

    fn registry_only(&self) -> Option<(Vec<String>, Timestamp)> {
        Some(self.registry())
    }

    fn fetch<'a>(
        &'a self,
        _snapshot: &'a Snapshot,
        query: &'a Query,
    ) -> Fetch<'a, Result<Found<'a>, FetchError>> {
        Fetch::Pending(Box::pin(async move {
            let (set, epoch) = Database::fetch(self, query).await?;
            Ok(Found {
                records: Records::Fetched(Box::new(set)),
                revision: epoch,
                updated: self.updated(),
            })
        }))
    }

    fn fetch_search<'a>(
        &'a self,
        search: &'a Search,
        after: Option<&'a str>,
        rules: &'a AudienceRules,
        limits: Limits,
    ) -> Fetch<'a, Result<Option<crate::backend::SearchSet>, FetchError>> {
        Fetch::Pending(Box::pin(async move {
            Database::fetch_search(self, search, after, rules, limits)
                .await
                .map(Some)
        }))
    }

    fn still_valid(&self, body: &CachedBody, _snapshot: &Snapshot) -> bool {
        Database::still_valid(self, body)
    }

    fn updated(&self, _snapshot: &Snapshot) -> Timestamp {
        Database::updated(self)
    }

    fn health(&self) -> Option<Health> {
        Some(Health {
            up: self.is_up(),
            lost_for: self.lost_for(),
            failures: self.failures.load(Ordering::Relaxed),
            changes_applied: self.changes_applied.load(Ordering::Relaxed),
            complete: false,
            resyncs: 0,
        })
    }

    fn follow(
        self: Arc<Self>,
        _served: Arc<dyn crate::backend::Served>,
        shutdown: CancellationToken,
    ) -> Option<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>> {
        Some(Box::pin(Database::follow(self, shutdown)))
    }
}

#[cfg(test)]
mod tests {
    use super::super::follow::MAX_GAPS;
    use super::*;

    fn tracker() -> Tracker {
        Tracker {
            epoch: 1,
            floor: 1,
            changed: HashMap::new(),
            position: Position {
                newest: 10,
                gaps: BTreeMap::new(),
            },
            tlds: Vec::new(),
            updated: Timestamp::from_unix(0),
        }
    }

    #[test]
    fn a_change_is_recorded_once_against_its_object() {
        let mut t = tracker();
        assert!(t.apply(11, "domain", Some("a.example"), Timestamp::from_unix(5)));
        assert!(!t.apply(11, "domain", Some("a.example"), Timestamp::from_unix(5)));
        assert_eq!(t.changed.get(&Dep::Domain("a.example".into())), Some(&2));
        assert_eq!(t.updated, Timestamp::from_unix(5));
        assert!(t.apply(12, "contact", Some("c1-x"), Timestamp::from_unix(4)));
        assert_eq!(t.changed.get(&Dep::Contact("C1-X".into())), Some(&3));
        assert_eq!(t.updated, Timestamp::from_unix(5), "never goes back");
        assert_eq!(t.floor, 1);
    }

    #[test]
    fn a_late_commit_below_the_newest_serial_is_still_applied() {
        let mut t = tracker();
        assert!(t.apply(13, "domain", Some("b.example"), Timestamp::from_unix(1)));
        assert_eq!(
            t.position.gaps.keys().copied().collect::<Vec<_>>(),
            [11, 12]
        );
        // Serial 12 commits after 13 was read: it is still new.
        assert!(t.apply(12, "host", Some("ns.b.example"), Timestamp::from_unix(1)));
        assert_eq!(t.changed.get(&Dep::Host("ns.b.example".into())), Some(&3));
        assert_eq!(t.position.gaps.keys().copied().collect::<Vec<_>>(), [11]);
    }

    #[test]
    fn all_and_overflow_move_the_floor() {
        let mut t = tracker();
        t.apply(11, "domain", Some("a.example"), Timestamp::from_unix(1));
        t.apply(12, "all", None, Timestamp::from_unix(1));
        assert_eq!(t.floor, t.epoch);
        assert!(t.changed.is_empty());
        let mut t = tracker();
        t.apply(
            10 + MAX_GAPS as i64 + 5,
            "domain",
            Some("a.example"),
            Timestamp::from_unix(1),
        );
        assert!(t.position.gaps.is_empty());
        assert_eq!(t.floor, t.epoch - 1, "everything before the jump is stale");
    }
}
