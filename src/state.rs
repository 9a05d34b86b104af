//! Shared service state: the current data generation (snapshot + policy), swapped atomically on
//! reload, and the cache of rendered public answers.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;

use bytes::Bytes;

use crate::authority::{Authority, AuthoritySettings};
use crate::limit::{LimitSettings, Limiter};
use crate::metrics::Metrics;
use crate::policy::Policy;
use crate::registry::store::Dep;
use crate::registry::{load, Snapshot};

/// One generation of everything that decides an answer: the data and the policy, loaded and
/// validated together, and replaced together.
#[derive(Debug)]
pub struct Generation {
    /// Registration data.
    pub snapshot: Snapshot,
    /// Disclosure policy.
    pub policy: Policy,
    /// Increases with every successful load or delta.
    pub number: u64,
    /// The number of the full load this generation descends from (deltas keep it). Part of
    /// every cache key: a full reload (which may change the policy too) never meets an answer
    /// of the data before it, while a delta keeps every answer none of whose records changed
    /// (see [`CachedBody::valid_in`]).
    pub base: u64,
}

/// Generations alive (the one served, and older ones still held by requests in flight).
static LIVE_GENERATIONS: AtomicU64 = AtomicU64::new(0);

impl Generation {
    /// A generation of `snapshot` and `policy`.
    pub fn new(snapshot: Snapshot, policy: Policy, number: u64, base: u64) -> Self {
        LIVE_GENERATIONS.fetch_add(1, Ordering::Relaxed);
        Self {
            snapshot,
            policy,
            number,
            base,
        }
    }

    /// How many generations are alive in this process: 1 in steady state; more while requests
    /// that started before a reload or delta still hold an older one. Exposed in `/metrics` so
    /// an operator (and a test) can see an old generation released.
    pub fn live() -> u64 {
        LIVE_GENERATIONS.load(Ordering::Relaxed)
    }
}

impl Drop for Generation {
    fn drop(&mut self) {
        LIVE_GENERATIONS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Where data and policy come from.
#[derive(Debug, Clone)]
pub struct Sources {
    /// Data directory, or the embedded demo registry.
    pub data_dir: Option<PathBuf>,
    /// Policy file, or the embedded default.
    pub policy: Option<PathBuf>,
    /// The config file, whose `[limits]` are re-read on reload.
    pub config: Option<PathBuf>,
    /// The delta directory: deltas in its `applied/` newer than the data are replayed over it
    /// on every load.
    pub delta_dir: Option<PathBuf>,
    /// The PostgreSQL backend: records are read per query from this database, and a load
    /// reads the policy only (the generation's snapshot is empty).
    pub database: Option<Arc<crate::db::serve::Database>>,
}

/// Why a load failed; the message names file, line and field.
#[derive(Debug, thiserror::Error)]
pub enum LoadFailure {
    /// Registration data did not validate.
    #[error("registration data refused:\n{0}")]
    Data(#[from] load::LoadErrors),
    /// The policy did not validate.
    #[error("policy refused: {0}")]
    Policy(#[from] crate::policy::PolicyError),
    /// The credentials file did not validate.
    #[error("authority credentials refused: {0}")]
    Authority(#[from] crate::authority::credentials::CredentialsError),
    /// The config file (its `[limits]`) did not validate.
    #[error("config refused: {0}")]
    Config(#[from] crate::config::ConfigError),
    /// The new data set is much smaller than the one being served: most likely a truncated or
    /// emptied export, not a real change.
    #[error("the new data would shrink the {what} from {before} to {after}, more than [data] max_shrink_percent = {max_percent}; set [data] allow_shrink = true in the config file and send SIGHUP again to accept it")]
    Shrink {
        /// `domains` or `objects` (all records together).
        what: &'static str,
        /// Count being served.
        before: usize,
        /// Count in the refused data.
        after: usize,
        /// The configured bound.
        max_percent: u8,
    },
}

/// Object counts of a snapshot: (domains, hosts, contacts, registrars).
pub type Counts = (usize, usize, usize, usize);

/// Check a reload's counts against the shrink guard: the number of domains, and the number of
/// all objects, may each drop by at most `max_shrink_percent` of what is served now.
///
/// # Errors
/// [`LoadFailure::Shrink`] naming the first count that dropped too far.
pub fn check_shrink(
    old: Counts,
    new: Counts,
    guard: crate::config::ShrinkGuard,
) -> Result<(), LoadFailure> {
    if guard.allow_shrink {
        return Ok(());
    }
    let total = |c: Counts| c.0 + c.1 + c.2 + c.3;
    for (what, before, after) in [
        ("domains", old.0, new.0),
        ("objects", total(old), total(new)),
    ] {
        let dropped = before.saturating_sub(after);
        // Integer arithmetic: dropped / before > max / 100, without rounding.
        if dropped * 100 > usize::from(guard.max_shrink_percent) * before {
            return Err(LoadFailure::Shrink {
                what,
                before,
                after,
                max_percent: guard.max_shrink_percent,
            });
        }
    }
    Ok(())
}

impl Sources {
    /// Load and validate both sources. A reload passes the generation it replaces as
    /// `previous`: every record that did not change is shared with it rather than held twice.
    ///
    /// # Errors
    /// Any validation error in data or policy.
    pub fn load(
        &self,
        generation: u64,
        previous: Option<&Snapshot>,
    ) -> Result<Generation, LoadFailure> {
        let policy = match &self.policy {
            Some(p) => Policy::load(p)?,
            None => Policy::default_policy()?,
        };
        if let Some(db) = &self.database {
            let (tlds, updated) = db.registry();
            let snapshot = load::fetched::empty_snapshot(tlds, updated);
            return Ok(Generation::new(snapshot, policy, generation, generation));
        }
        let mut snapshot = match &self.data_dir {
            Some(d) => load::load_dir_over(d, previous)?,
            None => load::load_demo()?,
        };
        if let Some(dir) = &self.delta_dir {
            snapshot = replay_applied(snapshot, dir)?;
        }
        Ok(Generation::new(snapshot, policy, generation, generation))
    }
}

/// Apply the deltas of `dir/applied/` that are newer than the data, in file-name order, so
/// a restart or a full reload serves what was served before it. A delta already contained in
/// the data (its update time not after the data's) is skipped.
fn replay_applied(mut snapshot: Snapshot, dir: &std::path::Path) -> Result<Snapshot, LoadFailure> {
    let applied = dir.join(crate::deltas::APPLIED);
    let Ok(entries) = std::fs::read_dir(&applied) else {
        return Ok(snapshot);
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    for path in files {
        let delta = load::delta::read_delta(&path)?;
        if delta.updated <= *snapshot.updated() {
            continue;
        }
        snapshot = snapshot.apply(&delta)?;
    }
    Ok(snapshot)
}

/// Cache key of a rendered public answer: the full load it was rendered in, and the query.
pub type CacheKey = (u64, crate::query::Query);

/// The answer cache's hasher: foldhash rather than SipHash (which took a few per cent of a
/// cache miss). Only found objects are cached, so the keys are registry names and handles, not
/// strings a client can choose to collide; the seed is random per process besides.
pub type CacheHasher = foldhash::fast::RandomState;

/// Remembers which answers were asked for recently, so that only an answer asked for a second
/// time is cached. Under a spread of names (a real client population, or a harvester walking
/// the registry) most answers are asked for once in a long while; caching each of them costs a
/// copy, a scan for the placeholders and the cache's own bookkeeping, and evicts answers that
/// are asked for again. A fixed table of hashes: bounded whatever the clients send, and a
/// collision only means one answer is cached a request early or late.
pub struct Doorkeeper {
    slots: Box<[AtomicU64]>,
    hasher: CacheHasher,
}

impl Doorkeeper {
    /// Table slots: 64 Ki hashes (512 KiB), about the answers of the last 64 Ki distinct misses.
    const SLOTS: usize = 1 << 16;

    fn new() -> Self {
        Self {
            slots: (0..Self::SLOTS).map(|_| AtomicU64::new(0)).collect(),
            hasher: CacheHasher::default(),
        }
    }

    /// Whether the answer with this key was asked for recently (since its slot was last taken
    /// by another); notes it either way.
    pub fn seen_before(&self, key: &CacheKey) -> bool {
        use std::hash::BuildHasher as _;
        let hash = self.hasher.hash_one(key);
        // The low bits choose the slot; the stored value is never 0, which marks an empty slot.
        let slot = &self.slots[usize::try_from(hash).unwrap_or(0) & (Self::SLOTS - 1)];
        let tag = hash | 1;
        slot.swap(tag, Ordering::Relaxed) == tag
    }
}

impl std::fmt::Debug for Doorkeeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Doorkeeper").finish_non_exhaustive()
    }
}

/// What goes into a hole of a cached body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hole {
    /// The client's request URL (RDAP notice and referral link `value`s).
    RequestUrl,
    /// The `last update of RDAP database` time, which every delta moves.
    DbUpdated,
}

/// The time a cached body is rendered with where `last update of RDAP database` goes: year
/// 0000, which the loader refuses in data, so it can only be this placeholder.
pub const DB_UPDATED_PLACEHOLDER: crate::registry::Timestamp =
    crate::registry::Timestamp::from_unix(-62_167_219_200);

/// The searchers for a URL placeholder and for [`DB_UPDATED_PLACEHOLDER`]. Building one costs
/// as much as a search of a whole answer, so those of the process's own URL placeholder (the
/// only one the server uses) are built once; another placeholder gets its own.
fn finders(
    url_placeholder: &str,
) -> (
    std::borrow::Cow<'static, memchr::memmem::Finder<'static>>,
    &'static memchr::memmem::Finder<'static>,
) {
    use memchr::memmem::Finder;
    use std::borrow::Cow;
    use std::sync::OnceLock;
    static UPDATED: OnceLock<Finder<'static>> = OnceLock::new();
    static URL: OnceLock<(String, Finder<'static>)> = OnceLock::new();
    let updated =
        UPDATED.get_or_init(|| Finder::new(DB_UPDATED_PLACEHOLDER.text().as_bytes()).into_owned());
    let own = crate::rdap::request_url_placeholder();
    let (text, finder) =
        URL.get_or_init(|| (own.to_string(), Finder::new(own.as_bytes()).into_owned()));
    if text == url_placeholder {
        (Cow::Borrowed(finder), updated)
    } else {
        (
            Cow::Owned(Finder::new(url_placeholder.as_bytes()).into_owned()),
            updated,
        )
    }
}

/// A rendered public answer as cached: the body with holes where each client's request URL
/// goes, and where the data's update time goes, with the records it was rendered from. The
/// holes are found once, when the answer is cached, so a cache hit only copies the body with
/// the values in them.
#[derive(Debug, Clone)]
pub struct CachedBody {
    bytes: Bytes,
    /// Offsets of the placeholders in `bytes`, in order, not overlapping.
    holes: Arc<[(usize, Hole)]>,
    url_placeholder_len: usize,
    /// The data revision it was rendered in.
    rendered_at: crate::registry::store::Revision,
    /// The records it was rendered from.
    deps: Arc<[Dep]>,
}

impl CachedBody {
    /// Cache `bytes`, in which `url_placeholder` marks each place the request URL goes and
    /// [`DB_UPDATED_PLACEHOLDER`] the data's update time; rendered in `rendered_at` from `deps`.
    pub fn new(
        bytes: Bytes,
        url_placeholder: &str,
        rendered_at: crate::registry::store::Revision,
        deps: Vec<Dep>,
    ) -> Self {
        let mut holes = Vec::new();
        let (url_finder, updated_finder) = finders(url_placeholder);
        for (finder, hole) in [
            (&*url_finder, Hole::RequestUrl),
            (updated_finder, Hole::DbUpdated),
        ] {
            // memmem (SIMD), not a window-by-window compare: this runs on every answer cached.
            holes.extend(finder.find_iter(&bytes).map(|at| (at, hole)));
        }
        holes.sort_unstable_by_key(|(at, _)| *at);
        Self {
            bytes,
            holes: holes.into(),
            url_placeholder_len: url_placeholder.len(),
            rendered_at,
            deps: deps.into(),
        }
    }

    /// Whether the body still holds in `snapshot`: none of the records it was rendered from
    /// changed (or went) since. A delta that changed a domain, one of its contacts, hosts or
    /// its registrar thus drops exactly the answers that showed them.
    pub fn valid_in(&self, snapshot: &Snapshot) -> bool {
        self.deps.iter().all(|d| {
            snapshot
                .since(d)
                .is_some_and(|since| since <= self.rendered_at)
        })
    }

    /// The body for one client: `url` (already escaped for a JSON string) and the data's update
    /// time in their holes.
    pub fn fill(&self, url: &str, updated: &crate::registry::Timestamp) -> Bytes {
        if self.holes.is_empty() {
            return self.bytes.clone();
        }
        let updated = updated.text();
        let mut out = Vec::with_capacity(self.bytes.len() + self.holes.len() * url.len());
        let mut from = 0;
        for &(at, hole) in self.holes.iter() {
            out.extend_from_slice(&self.bytes[from..at]);
            let (text, len) = match hole {
                Hole::RequestUrl => (url, self.url_placeholder_len),
                Hole::DbUpdated => (updated.as_str(), updated.len()),
            };
            out.extend_from_slice(text.as_bytes());
            from = at + len;
        }
        out.extend_from_slice(&self.bytes[from..]);
        Bytes::from(out)
    }

    /// The data revision (the database backend: the epoch) it was rendered in.
    pub fn rendered_at(&self) -> crate::registry::store::Revision {
        self.rendered_at
    }

    /// The records it was rendered from.
    pub fn deps(&self) -> &[Dep] {
        &self.deps
    }

    /// The cached size, for the cache's byte bound.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// Upper bound on the bytes the answer cache holds.
pub const CACHE_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// State shared by every connection.
pub struct State {
    current: ArcSwap<Generation>,
    sources: Sources,
    next_generation: AtomicU64,
    /// Held while a reload or a delta builds the next generation from the current one, so two
    /// never build on the same one and one's work is lost.
    changing: std::sync::Mutex<()>,
    /// Rendered public RDAP bodies of found objects. Bounded by bytes; keys carry the full
    /// load, entries the records they were rendered from.
    pub rdap_cache: moka::sync::Cache<CacheKey, CachedBody, CacheHasher>,
    /// Which answers were asked for recently: the cache takes an answer on its second request.
    pub cache_doorkeeper: Doorkeeper,
    /// The harvesting defence, shared by both protocols. Its counts outlive reloads.
    pub limiter: Limiter,
    /// Operator counters.
    pub metrics: Metrics,
    /// The authority route, when configured.
    pub authority: Option<Authority>,
    /// The PostgreSQL backend, when configured: lookups read from it.
    pub database: Option<Arc<crate::db::serve::Database>>,
}

impl State {
    /// Load the sources for the first time.
    ///
    /// # Errors
    /// Any validation error: the server does not start on bad data.
    pub fn new(
        sources: Sources,
        limits: LimitSettings,
        authority: Option<AuthoritySettings>,
    ) -> Result<Self, LoadFailure> {
        let authority = authority
            .map(Authority::new)
            .transpose()
            .map_err(LoadFailure::from)?;
        let first = sources.load(1, None)?;
        let database = sources.database.clone();
        Ok(Self {
            database,
            current: ArcSwap::from_pointee(first),
            sources,
            next_generation: AtomicU64::new(2),
            changing: std::sync::Mutex::new(()),
            rdap_cache: moka::sync::Cache::builder()
                .max_capacity(CACHE_MAX_BYTES)
                .weigher(|_k: &CacheKey, v: &CachedBody| u32::try_from(v.len()).unwrap_or(u32::MAX))
                .build_with_hasher(CacheHasher::default()),
            cache_doorkeeper: Doorkeeper::new(),
            limiter: Limiter::new(limits),
            metrics: Metrics::default(),
            authority,
        })
    }

    /// The generation (data and policy) to answer from. Callers hold the `Arc` for one request, so a concurrent
    /// reload never changes data under a request.
    pub fn current(&self) -> Arc<Generation> {
        self.current.load_full()
    }

    /// `last update of RDAP database`: the data's update time, or with the database backend
    /// the time of the latest change applied.
    pub fn updated(&self, data: &Generation) -> crate::registry::Timestamp {
        match &self.database {
            Some(db) => db.updated(),
            None => *data.snapshot.updated(),
        }
    }

    /// Values for the metrics exposition that live outside the counters.
    pub fn gauges(&self) -> crate::metrics::Gauges {
        let data = self.current();
        crate::metrics::Gauges {
            tracked: self.limiter.tracked(),
            generation: data.number,
            data_updated_unix: self.updated(&data).unix(),
            database_up: self.database.as_ref().map(|d| d.is_up()),
            database_failures: self
                .database
                .as_ref()
                .map_or(0, |d| d.failures.load(Ordering::Relaxed)),
            database_changes: self
                .database
                .as_ref()
                .map_or(0, |d| d.changes_applied.load(Ordering::Relaxed)),
            now_unix: crate::registry::Timestamp::now().unix(),
            disclosure_log_ok: self.authority.as_ref().map(Authority::log_writable),
            live_generations: Generation::live(),
        }
    }

    /// Reload data and policy. On failure the old generation keeps serving. The outcome and
    /// its duration are recorded in the metrics.
    ///
    /// The shrink guard (`[data] max_shrink_percent` and `allow_shrink`, re-read from the config
    /// file here) refuses a data set that lost too many domains or objects, so an emptied export
    /// cannot turn every answer into 404.
    ///
    /// # Errors
    /// The validation errors of the new data, or a refused shrink; nothing was swapped.
    pub fn reload(&self) -> Result<Arc<Generation>, LoadFailure> {
        let started = std::time::Instant::now();
        let result = self.reload_inner();
        self.metrics.reload(
            result.is_ok(),
            started.elapsed(),
            crate::registry::Timestamp::now().unix(),
        );
        result
    }

    /// Apply the delta file at `path` to the generation being served, and serve the result.
    /// On failure nothing changes.
    ///
    /// # Errors
    /// The delta's errors (file, line, field), or a failure to read it.
    pub fn apply_delta(
        &self,
        path: &std::path::Path,
    ) -> Result<(Arc<Generation>, usize), LoadFailure> {
        let started = std::time::Instant::now();
        let result = (|| {
            let delta = load::delta::read_delta(path)?;
            let _changing = self
                .changing
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let current = self.current();
            let snapshot = current.snapshot.apply(&delta)?;
            let number = self.next_generation.fetch_add(1, Ordering::Relaxed);
            let fresh = Arc::new(Generation::new(
                snapshot,
                current.policy.clone(),
                number,
                current.base,
            ));
            self.current.store(Arc::clone(&fresh));
            Ok((fresh, delta.len()))
        })();
        self.metrics.delta(result.is_ok(), started.elapsed());
        result
    }

    fn reload_inner(&self) -> Result<Arc<Generation>, LoadFailure> {
        let _changing = self
            .changing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (limits, shrink) = match &self.sources.config {
            Some(path) => {
                let file = crate::config::ConfigFile::load(path)?;
                let s =
                    crate::config::Settings::resolve(file, crate::config::Overrides::default())?;
                (Some(s.limits), s.shrink)
            }
            None => (None, crate::config::ShrinkGuard::default()),
        };
        let credentials = self
            .authority
            .as_ref()
            .map(Authority::prepare_reload)
            .transpose()
            .map_err(LoadFailure::from)?;
        let generation = self.next_generation.fetch_add(1, Ordering::Relaxed);
        let fresh = Arc::new(
            self.sources
                .load(generation, Some(&self.current().snapshot))?,
        );
        let old = self.current().snapshot.counts();
        let new = fresh.snapshot.counts();
        check_shrink(old, new, shrink)?;
        if check_shrink(
            old,
            new,
            crate::config::ShrinkGuard {
                allow_shrink: false,
                ..shrink
            },
        )
        .is_err()
        {
            tracing::warn!(
                domains_before = old.0,
                domains_after = new.0,
                "accepting a reload beyond max_shrink_percent because allow_shrink = true; remove it from the config file"
            );
        }
        // Everything validated: install it all.
        if let (Some(a), Some(c)) = (&self.authority, credentials) {
            a.install(c);
        }
        if let Some(limits) = limits {
            self.limiter.reconfigure(limits);
        }
        self.current.store(Arc::clone(&fresh));
        // Old entries can no longer be hit (their full load is gone); drop them now rather
        // than waiting for eviction.
        self.rdap_cache.invalidate_all();
        Ok(fresh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ShrinkGuard;

    fn guard(max: u8) -> ShrinkGuard {
        ShrinkGuard {
            max_shrink_percent: max,
            allow_shrink: false,
        }
    }

    #[test]
    fn shrink_guard_bounds_domains_and_all_objects() {
        let old = (100, 10, 50, 4);
        assert!(
            check_shrink(old, (90, 10, 50, 4), guard(10)).is_ok(),
            "exactly 10 %"
        );
        assert!(matches!(
            check_shrink(old, (89, 10, 50, 4), guard(10)),
            Err(LoadFailure::Shrink {
                what: "domains",
                before: 100,
                after: 89,
                ..
            })
        ));
        assert!(matches!(
            check_shrink(old, (100, 0, 0, 4), guard(10)),
            Err(LoadFailure::Shrink {
                what: "objects",
                ..
            })
        ));
        assert!(
            check_shrink(old, (0, 0, 0, 0), guard(100)).is_ok(),
            "100 turns it off"
        );
        assert!(
            check_shrink(old, (99, 10, 50, 4), guard(0)).is_err(),
            "0 refuses any drop"
        );
        assert!(
            check_shrink(old, (500, 10, 50, 4), guard(0)).is_ok(),
            "growth is fine"
        );
        assert!(check_shrink((0, 0, 0, 0), (0, 0, 0, 0), guard(0)).is_ok());
        let forced = ShrinkGuard {
            max_shrink_percent: 10,
            allow_shrink: true,
        };
        assert!(check_shrink(old, (0, 0, 0, 0), forced).is_ok());
    }
}
