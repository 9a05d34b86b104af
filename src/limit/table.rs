//! The bounded per-client table behind the limiter.
//!
//! It holds, per client network, governor's GCRA state (the "theoretical arrival time") and the
//! daily accounting. Its size is capped: entries are spread over shards, each with a fixed
//! capacity; a full shard evicts by sampling a few entries and dropping the least recently seen
//! one that is not blocked (approximated LRU, as Redis does). A periodic sweep drops entries
//! that are indistinguishable from a fresh client. So memory stays bounded whatever the
//! attacker does, and a blocked client cannot get itself forgotten by flooding the table from
//! other addresses, unless every sampled entry is blocked too.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use governor::nanos::Nanos;
use indexmap::IndexMap;

use super::client::NetKey;

const SHARDS: usize = 64;
/// Entries inspected to pick an eviction victim.
const SAMPLE: usize = 8;

/// Per-client state. Times are nanoseconds since the limiter started.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Entry {
    /// GCRA theoretical arrival time (governor's state), if the client was rate-checked.
    pub(crate) tat: Option<u64>,
    /// Last time the client was seen.
    pub(crate) last_seen: u64,
    /// The UTC day `count` belongs to.
    pub(crate) day: u32,
    /// Queries counted on `day`.
    pub(crate) count: u32,
    /// Blocked until this time (0: not blocked).
    pub(crate) blocked_until: u64,
    /// First day of the current escalation window.
    pub(crate) window_start: u32,
    /// Days blocked within the window.
    pub(crate) blocks_in_window: u32,
    /// Queries of `day` counted here and not yet added to the cluster's total (a cluster
    /// shares budgets through PostgreSQL, [`crate::db::harvest`]).
    pub(crate) pending: u32,
    /// A block started here that the cluster has not been told of yet.
    pub(crate) block_pending: bool,
}

struct Shard {
    map: IndexMap<NetKey, Entry>,
    rng: u64,
}

impl Shard {
    fn next(&mut self) -> u64 {
        // xorshift64: cheap, and victims need not be unpredictable, only spread.
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    fn evict_one(&mut self) {
        let len = self.map.len();
        if len == 0 {
            return;
        }
        let mut victim: Option<(usize, bool, u64)> = None;
        for _ in 0..SAMPLE.min(len) {
            let i = (self.next() % len as u64) as usize;
            let Some((_, e)) = self.map.get_index(i) else {
                continue;
            };
            let blocked = e.blocked_until != 0;
            let better = match victim {
                None => true,
                // Prefer unblocked entries, then the least recently seen.
                Some((_, vb, vs)) => (blocked, e.last_seen) < (vb, vs),
            };
            if better {
                victim = Some((i, blocked, e.last_seen));
            }
        }
        if let Some((i, _, _)) = victim {
            self.map.swap_remove_index(i);
        }
    }
}

/// The bounded table.
pub(crate) struct Table {
    shards: Vec<Mutex<Shard>>,
    /// Entries per shard; changes when `max_tracked_clients` is reconfigured.
    per_shard: AtomicUsize,
}

impl Table {
    fn per_shard_for(max_entries: usize) -> usize {
        max_entries.div_ceil(SHARDS).max(1)
    }

    pub(crate) fn new(max_entries: usize) -> Self {
        let per_shard = AtomicUsize::new(Self::per_shard_for(max_entries));
        let shards = (0..SHARDS)
            .map(|i| {
                Mutex::new(Shard {
                    map: IndexMap::new(),
                    rng: 0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1),
                })
            })
            .collect();
        Self { shards, per_shard }
    }

    fn shard(&self, key: &NetKey) -> std::sync::MutexGuard<'_, Shard> {
        use std::hash::{BuildHasher, BuildHasherDefault};
        let h = BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
            .hash_one(key);
        let idx = (h as usize) % SHARDS;
        // A panic while holding a shard lock leaves plain counters behind; keep using them.
        self.shards[idx]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Run `f` on the key's entry, creating it (and evicting if full) when missing.
    pub(crate) fn with<T>(&self, key: &NetKey, now: u64, f: impl FnOnce(&mut Entry) -> T) -> T {
        let mut shard = self.shard(key);
        if !shard.map.contains_key(key) && shard.map.len() >= self.per_shard.load(Ordering::Relaxed)
        {
            shard.evict_one();
        }
        let entry = shard.map.entry(*key).or_default();
        entry.last_seen = now;
        f(entry)
    }

    /// Read the key's entry without creating it.
    pub(crate) fn peek<T>(&self, key: &NetKey, f: impl FnOnce(&Entry) -> T) -> Option<T> {
        self.shard(key).map.get(key).map(f)
    }

    /// Run `f` on every entry (the cluster sync collects and clears what is pending).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&NetKey, &mut Entry)) {
        for s in &self.shards {
            let mut shard = s.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            for (k, e) in shard.map.iter_mut() {
                f(k, e);
            }
        }
    }

    /// Drop every entry that a fresh client would look like: not blocked, nothing counted today,
    /// and its rate bucket full again.
    pub(crate) fn sweep(&self, now: u64, today: u32) -> usize {
        let mut removed = 0;
        for s in &self.shards {
            let mut shard = s.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let before = shard.map.len();
            shard.map.retain(|_, e| {
                let blocked = e.blocked_until > now;
                // (An entry with counts not yet sent to the cluster was counted today, or is
                // blocked, so it is kept until the next sync.)
                let counted_today = e.day == today && e.count > 0;
                let bucket_busy = e.tat.is_some_and(|t| t > now);
                blocked || counted_today || bucket_busy
            });
            removed += before - shard.map.len();
        }
        removed
    }

    /// Forget rate state (after the rate or burst changed); daily counts and blocks stay.
    pub(crate) fn reset_rate_state(&self) {
        for s in &self.shards {
            let mut shard = s.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            for (_, e) in shard.map.iter_mut() {
                e.tat = None;
            }
        }
    }

    /// Entries held.
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                s.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .map
                    .len()
            })
            .sum()
    }

    /// The most entries the table will hold.
    pub(crate) fn capacity(&self) -> usize {
        self.per_shard.load(Ordering::Relaxed) * SHARDS
    }

    /// Change the bound (SIGHUP with a new `max_tracked_clients`). A smaller bound evicts at
    /// once, by the same rule as a full shard, so memory drops without waiting for traffic.
    pub(crate) fn set_capacity(&self, max_entries: usize) {
        let per_shard = Self::per_shard_for(max_entries);
        self.per_shard.store(per_shard, Ordering::Relaxed);
        for s in &self.shards {
            let mut shard = s.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            while shard.map.len() > per_shard {
                shard.evict_one();
            }
        }
    }
}

/// governor's view of the table: the GCRA state per key. The shard lock makes the
/// read-modify-write atomic.
///
/// Two time bases meet here. governor measures its theoretical arrival times from the moment
/// its `RateLimiter` was built, which is every reconfiguration; the table keeps every time
/// relative to the [`Limiter`](super::Limiter)'s own start, which never moves. `offset` is the
/// gap between the two, added on the way in and taken off on the way out, so a rebuilt
/// governor limiter reads the same state the old one wrote.
pub(crate) struct GcraStore {
    pub(crate) table: std::sync::Arc<Table>,
    /// Nanoseconds from the limiter's start to this governor limiter's start.
    pub(crate) offset: u64,
    /// The current time in the table's base.
    pub(crate) now: std::sync::Arc<dyn Fn() -> u64 + Send + Sync>,
}

impl governor::state::StateStore for GcraStore {
    type Key = NetKey;

    fn measure_and_replace<T, F, E>(&self, key: &NetKey, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let now = (self.now)();
        let offset = self.offset;
        self.table.with(key, now, |e| {
            // A time before governor's start means "long ago" to it: clamp to its zero, which
            // is a full bucket just the same.
            let (out, tat) = f(e.tat.map(|t| Nanos::from(t.saturating_sub(offset))))?;
            e.tat = Some(u64::from(tat).saturating_add(offset));
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn key(i: u32) -> NetKey {
        NetKey::of(IpAddr::V4(std::net::Ipv4Addr::from(i)), 32, 64)
    }

    #[test]
    fn size_is_capped_whatever_is_inserted() {
        let t = Table::new(640);
        for i in 0..100_000u32 {
            t.with(&key(i), u64::from(i), |e| e.count += 1);
        }
        assert!(t.len() <= t.capacity(), "{} > {}", t.len(), t.capacity());
        assert!(
            t.len() >= t.capacity() * 9 / 10,
            "the table is used, not emptied: {}",
            t.len()
        );
    }

    #[test]
    fn blocked_entries_survive_a_flood() {
        let t = Table::new(6400);
        t.with(&key(7), 0, |e| e.blocked_until = u64::MAX);
        for i in 1000..200_000u32 {
            t.with(&key(i), u64::from(i), |_| ());
        }
        assert_eq!(t.peek(&key(7), |e| e.blocked_until), Some(u64::MAX));
    }

    #[test]
    fn sweep_drops_only_clean_entries() {
        let t = Table::new(1000);
        t.with(&key(1), 0, |e| {
            e.day = 5;
            e.count = 3;
        });
        t.with(&key(2), 0, |e| e.day = 4);
        t.with(&key(3), 0, |e| e.blocked_until = 100);
        t.with(&key(4), 0, |e| e.tat = Some(100));
        assert_eq!(t.sweep(50, 5), 1);
        assert!(t.peek(&key(2), |_| ()).is_none());
        assert_eq!(t.sweep(200, 6), 3);
        assert_eq!(t.len(), 0);
    }
}
