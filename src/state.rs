//! Shared service state: the current data generation (snapshot + policy), swapped atomically on
//! reload, the backend its records come from, the answer cache ([`crate::cache`]), the
//! harvesting defence and the authority service.
//!
//! This module sits above the backends' seam and below the protocol front ends: it never names
//! a backend, a front end or the configuration file (a reload re-reads the configuration
//! through [`Reconfigure`], which the assembler provides).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::authority::Authority;
use crate::backend::{Backend, Served};
use crate::cache::{CacheHasher, CacheKey, CachedBody, Doorkeeper};
use crate::limit::{LimitSettings, Limiter};
use crate::metrics::Metrics;
use crate::policy::Policy;
use crate::registry::load::delta_dir;
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

/// Default of `[data] max_shrink_percent`.
pub const DEFAULT_MAX_SHRINK_PERCENT: u8 = 10;

/// The reload shrink guard, from `[data]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShrinkGuard {
    /// Largest accepted drop in percent (100: no guard).
    pub max_shrink_percent: u8,
    /// Accept any drop this time.
    pub allow_shrink: bool,
}

impl Default for ShrinkGuard {
    fn default() -> Self {
        Self {
            max_shrink_percent: DEFAULT_MAX_SHRINK_PERCENT,
            allow_shrink: false,
        }
    }
}

/// What a reload (SIGHUP) takes from the configuration file again.
#[derive(Debug, Clone)]
pub struct Reconfigured {
    /// The harvesting defence's `[limits]`.
    pub limits: LimitSettings,
    /// The `[data]` shrink guard.
    pub shrink: ShrinkGuard,
    /// The `[data]` bad-record threshold.
    pub load_options: load::LoadOptions,
}

/// A configuration file a reload reads again. Implemented by `crate::config`, which this
/// layer does not import.
pub trait Reconfigure: Send + Sync + std::fmt::Debug {
    /// Read and resolve the file again.
    ///
    /// # Errors
    /// The file does not read or does not validate; the message names key and line.
    fn reread(&self) -> Result<Reconfigured, Box<dyn std::error::Error + Send + Sync>>;
}

/// Where data and policy come from.
#[derive(Debug, Clone)]
pub struct Sources {
    /// Data directory, or the embedded demo registry.
    pub data_dir: Option<PathBuf>,
    /// Policy file, or the embedded default.
    pub policy: Option<PathBuf>,
    /// The config file, whose `[limits]` and `[data]` guard are re-read on reload.
    pub config: Option<Arc<dyn Reconfigure>>,
    /// The delta directory: deltas in its `applied/` newer than the data are replayed over it
    /// on every load.
    pub delta_dir: Option<PathBuf>,
    /// Where records come from. A backend that reads them per query
    /// ([`Backend::registry_only`]) makes a load read the policy only (the generation's
    /// snapshot is empty).
    pub backend: Arc<dyn Backend>,
    /// How a load treats defective records (`[data] max_bad_percent`).
    pub load_options: load::LoadOptions,
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
    Config(Box<dyn std::error::Error + Send + Sync>),
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
pub fn check_shrink(old: Counts, new: Counts, guard: ShrinkGuard) -> Result<(), LoadFailure> {
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
        self.load_with(generation, previous, self.load_options)
    }

    /// [`Sources::load`] with the bad-record threshold `options` (a reload's, read again from
    /// the config file).
    ///
    /// # Errors
    /// Any validation error in data or policy.
    pub fn load_with(
        &self,
        generation: u64,
        previous: Option<&Snapshot>,
        options: load::LoadOptions,
    ) -> Result<Generation, LoadFailure> {
        let policy = match &self.policy {
            Some(p) => Policy::load(p)?,
            None => Policy::default_policy()?,
        };
        if let Some((tlds, updated)) = self.backend.registry_only() {
            let snapshot = load::fetched::empty_snapshot(tlds, updated);
            return Ok(Generation::new(snapshot, policy, generation, generation));
        }
        if let Some(snapshot) = self.backend.held_snapshot(previous) {
            return Ok(Generation::new(snapshot, policy, generation, generation));
        }
        let mut snapshot = match &self.data_dir {
            Some(d) => load::load_dir_over(d, previous, options)?,
            None => load::load_demo()?,
        };
        snapshot.defects().log("registration data");
        if let Some(dir) = &self.delta_dir {
            snapshot = delta_dir::replay_applied(snapshot, dir)?;
        }
        Ok(Generation::new(snapshot, policy, generation, generation))
    }
}

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
    pub limiter: Arc<Limiter>,
    /// Operator counters.
    pub metrics: Metrics,
    /// The authority route, when configured.
    pub authority: Option<Arc<Authority>>,
    /// The PostgreSQL backend, when configured: lookups read from it.
    pub backend: Arc<dyn Backend>,
}

impl State {
    /// Load the sources for the first time.
    ///
    /// # Errors
    /// Any validation error: the server does not start on bad data.
    pub fn new(
        sources: Sources,
        limits: LimitSettings,
        authority: Option<Authority>,
    ) -> Result<Self, LoadFailure> {
        let authority = authority.map(Arc::new);
        let first = sources.load(1, None)?;
        let backend = Arc::clone(&sources.backend);
        Ok(Self {
            backend,
            current: ArcSwap::from_pointee(first),
            sources,
            next_generation: AtomicU64::new(2),
            changing: std::sync::Mutex::new(()),
            rdap_cache: crate::cache::answers(),
            cache_doorkeeper: Doorkeeper::new(),
            limiter: Arc::new(Limiter::new(limits)),
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
        self.backend.updated(&data.snapshot)
    }

    /// Values for the metrics exposition that live outside the counters.
    pub fn gauges(&self) -> crate::metrics::Gauges {
        let data = self.current();
        let health = self.backend.health();
        crate::metrics::Gauges {
            tracked: self.limiter.tracked(),
            generation: data.number,
            data_updated_unix: self.updated(&data).unix(),
            database_up: health.map(|h| h.up),
            database_failures: health.map_or(0, |h| h.failures),
            database_changes: health.map_or(0, |h| h.changes_applied),
            database_behind_secs: health.and_then(|h| h.lost_for).map_or(0, |d| d.as_secs()),
            database_resyncs: health.filter(|h| h.complete).map(|h| h.resyncs),
            now_unix: crate::registry::Timestamp::now().unix(),
            disclosure_log_ok: self.authority.as_deref().map(Authority::log_writable),
            live_generations: Generation::live(),
            records_made_safe: data.snapshot.defects().made_safe.by_kind(),
            records_left_out: data.snapshot.defects().left_out.by_kind(),
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
        let result = load::delta_file::read_delta(path)
            .and_then(|delta| {
                let fresh = self.install_delta(&delta, Snapshot::apply, "delta")?;
                Ok((fresh, delta.len()))
            })
            .map_err(LoadFailure::from);
        self.metrics.delta(result.is_ok(), started.elapsed());
        result
    }

    /// Serve the generation being served with `delta` applied, as a follower of a change
    /// log applies it ([`Snapshot::apply_followed`]).
    fn apply_followed(&self, delta: &load::delta_file::Delta) -> Result<(), load::LoadErrors> {
        let started = std::time::Instant::now();
        let result = self
            .install_delta(delta, Snapshot::apply_followed, "database change")
            .map(|_| ());
        self.metrics.delta(result.is_ok(), started.elapsed());
        result
    }

    /// Serve the generation being served with `delta` applied by `apply`, keeping its policy
    /// and full load (so every cached answer none of whose records changed stays valid); the
    /// values made safe are logged as `what`. `self.changing` is held meanwhile.
    fn install_delta(
        &self,
        delta: &load::delta_file::Delta,
        apply: fn(&Snapshot, &load::delta_file::Delta) -> Result<Snapshot, load::LoadErrors>,
        what: &str,
    ) -> Result<Arc<Generation>, load::LoadErrors> {
        let _changing = self
            .changing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let current = self.current();
        let snapshot = apply(&current.snapshot, delta)?;
        let number = self.next_generation.fetch_add(1, Ordering::Relaxed);
        let fresh = Arc::new(Generation::new(
            snapshot,
            current.policy.clone(),
            number,
            current.base,
        ));
        self.current.store(Arc::clone(&fresh));
        for e in &delta.made_safe {
            let key = e.key.as_deref().unwrap_or("");
            tracing::warn!(record = %key, "{what}: {e}");
        }
        Ok(fresh)
    }

    /// Serve `snapshot` as a new full load with the served policy.
    fn replace_snapshot(&self, snapshot: Snapshot) {
        let _changing = self
            .changing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let current = self.current();
        let number = self.next_generation.fetch_add(1, Ordering::Relaxed);
        snapshot.defects().log("registration data");
        self.current.store(Arc::new(Generation::new(
            snapshot,
            current.policy.clone(),
            number,
            number,
        )));
        // A new full load: no cached answer can be hit again.
        self.rdap_cache.invalidate_all();
    }

    fn reload_inner(&self) -> Result<Arc<Generation>, LoadFailure> {
        let _changing = self
            .changing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (limits, shrink, load_options) = match &self.sources.config {
            Some(config) => {
                let again = config.reread().map_err(LoadFailure::Config)?;
                (Some(again.limits), again.shrink, again.load_options)
            }
            None => (None, ShrinkGuard::default(), self.sources.load_options),
        };
        let credentials = self
            .authority
            .as_ref()
            .map(|a| a.prepare_reload())
            .transpose()
            .map_err(LoadFailure::from)?;
        let generation = self.next_generation.fetch_add(1, Ordering::Relaxed);
        let fresh = Arc::new(self.sources.load_with(
            generation,
            Some(&self.current().snapshot),
            load_options,
        )?);
        let old = self.current().snapshot.counts();
        let new = fresh.snapshot.counts();
        check_shrink(old, new, shrink)?;
        if check_shrink(
            old,
            new,
            ShrinkGuard {
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

/// A replica's changes reach the served generation here.
impl Served for State {
    fn snapshot(&self) -> Snapshot {
        self.current().snapshot.clone()
    }

    fn apply(&self, delta: &load::delta_file::Delta) -> Result<(), load::LoadErrors> {
        self.apply_followed(delta)
    }

    fn replace(&self, snapshot: Snapshot) {
        self.replace_snapshot(snapshot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
