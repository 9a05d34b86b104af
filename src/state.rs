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
use crate::registry::{load, Snapshot};

/// One generation of everything that decides an answer: the data and the policy, loaded and
/// validated together, and replaced together.
#[derive(Debug)]
pub struct Generation {
    /// Registration data.
    pub snapshot: Snapshot,
    /// Disclosure policy.
    pub policy: Policy,
    /// Increases with every successful load; part of every cache key, so a reload can never
    /// serve an answer rendered from older data.
    pub number: u64,
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
    /// Load and validate both sources.
    ///
    /// # Errors
    /// Any validation error in data or policy.
    pub fn load(&self, generation: u64) -> Result<Generation, LoadFailure> {
        let policy = match &self.policy {
            Some(p) => Policy::load(p)?,
            None => Policy::default_policy()?,
        };
        let snapshot = match &self.data_dir {
            Some(d) => load::load_dir(d)?,
            None => load::load_demo()?,
        };
        Ok(Generation {
            snapshot,
            policy,
            number: generation,
        })
    }
}

/// Cache key of a rendered public answer.
pub type CacheKey = (u64, crate::query::Query);

/// A rendered public answer as cached: the body with holes where each client's request URL
/// goes (RDAP notice and referral link `value`s). The holes are found once, when the answer is
/// cached, so a cache hit only copies the body with the URL in them.
#[derive(Debug, Clone)]
pub struct CachedBody {
    bytes: Bytes,
    /// Offsets of the placeholder in `bytes`, in order, not overlapping.
    holes: Arc<[usize]>,
    placeholder_len: usize,
}

impl CachedBody {
    /// Cache `bytes`, in which `placeholder` marks each place the request URL goes.
    pub fn new(bytes: Bytes, placeholder: &str) -> Self {
        let needle = placeholder.as_bytes();
        let mut holes = Vec::new();
        let mut at = 0;
        while let Some(i) = bytes[at..].windows(needle.len()).position(|w| w == needle) {
            holes.push(at + i);
            at += i + needle.len();
        }
        Self {
            bytes,
            holes: holes.into(),
            placeholder_len: needle.len(),
        }
    }

    /// The body for one client: `text` (already escaped for a JSON string) in every hole.
    pub fn fill(&self, text: &str) -> Bytes {
        if self.holes.is_empty() {
            return self.bytes.clone();
        }
        let mut out = Vec::with_capacity(self.bytes.len() + self.holes.len() * text.len());
        let mut from = 0;
        for &hole in self.holes.iter() {
            out.extend_from_slice(&self.bytes[from..hole]);
            out.extend_from_slice(text.as_bytes());
            from = hole + self.placeholder_len;
        }
        out.extend_from_slice(&self.bytes[from..]);
        Bytes::from(out)
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
    /// Rendered public RDAP bodies of found objects. Bounded by bytes; keys carry the generation.
    pub rdap_cache: moka::sync::Cache<CacheKey, CachedBody>,
    /// The harvesting defence, shared by both protocols. Its counts outlive reloads.
    pub limiter: Limiter,
    /// Operator counters.
    pub metrics: Metrics,
    /// The authority route, when configured.
    pub authority: Option<Authority>,
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
        let first = sources.load(1)?;
        Ok(Self {
            current: ArcSwap::from_pointee(first),
            sources,
            next_generation: AtomicU64::new(2),
            rdap_cache: moka::sync::Cache::builder()
                .max_capacity(CACHE_MAX_BYTES)
                .weigher(|_k: &CacheKey, v: &CachedBody| u32::try_from(v.len()).unwrap_or(u32::MAX))
                .build(),
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

    /// Values for the metrics exposition that live outside the counters.
    pub fn gauges(&self) -> crate::metrics::Gauges {
        let data = self.current();
        crate::metrics::Gauges {
            tracked: self.limiter.tracked(),
            generation: data.number,
            data_updated_unix: data.snapshot.updated().unix(),
            now_unix: crate::registry::Timestamp::now().unix(),
            disclosure_log_ok: self.authority.as_ref().map(Authority::log_writable),
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

    fn reload_inner(&self) -> Result<Arc<Generation>, LoadFailure> {
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
        let fresh = Arc::new(self.sources.load(generation)?);
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
        // Old entries can no longer be hit (their generation is gone); drop them now rather
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
