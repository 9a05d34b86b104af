//! The answer cache: rendered public answers, kept with holes where each client's request URL
//! and the data's update time go, and with the records each was rendered from, so that a
//! change to the data drops exactly the answers it affects.
//!
//! Who may use it: the protocol front ends put and take public answers only; an authority
//! answer never enters it. Whether a cached answer is still valid is the backend's call
//! ([`crate::backend::Backend::still_valid`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;

use crate::registry::store::Dep;
use crate::registry::Snapshot;

/// The text rendered into cached public bodies where the request URL goes. It carries a
/// per-process random nonce, so registration data (which never contains it) cannot forge a
/// splice point, and it is plain ASCII that JSON serialisation leaves as is.
pub fn request_url_placeholder() -> &'static str {
    static PLACEHOLDER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PLACEHOLDER.get_or_init(|| {
        let mut nonce = [0u8; 16];
        if getrandom::fill(&mut nonce).is_err() {
            // No OS randomness: fall back to the clock, still unknowable to data files written
            // before the process started.
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            nonce = t.to_le_bytes();
        }
        format!("rddsd-request-url-{}", hex::encode(nonce))
    })
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

    /// An empty doorkeeper.
    pub fn new() -> Self {
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

impl Default for Doorkeeper {
    fn default() -> Self {
        Self::new()
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
    let own = request_url_placeholder();
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

/// The cache of rendered public answers and its doorkeeper, bounded by [`CACHE_MAX_BYTES`].
pub fn answers() -> moka::sync::Cache<CacheKey, CachedBody, CacheHasher> {
    moka::sync::Cache::builder()
        .max_capacity(CACHE_MAX_BYTES)
        .weigher(|_k: &CacheKey, v: &CachedBody| u32::try_from(v.len()).unwrap_or(u32::MAX))
        .build_with_hasher(CacheHasher::default())
}
