//! A copy-on-write hash map in shards: cheap to clone, cheap to change a little.
//!
//! A snapshot of a million domains must be cloned and changed by a delta of a thousand without
//! copying the million, and without the memory of a persistent trie (a hash array mapped trie
//! node reserves all 32 slots, which measured at about 180 bytes per entry here, against about
//! 40 for a flat table). So the map is split into a fixed number of `Arc`ed shards chosen by
//! hash: a clone copies the shard pointers, and a change copies only the shards it touches
//! (`Arc::make_mut`), whose entries are themselves `Arc`s or small keys. Readers of an older
//! clone keep their shards untouched.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};

/// foldhash, not SipHash: keys are registry data (names, ROIDs), which clients cannot insert,
/// so hash flooding is not a concern here, and SipHash was a tenth of a million-domain load.
/// Seeded per process all the same.
type RandomState = foldhash::fast::RandomState;
use std::sync::Arc;

/// Entries per shard the map is sized for when built: a change then copies about this many.
/// A shard's table of 512 buckets holds up to 448 entries; 384 fills it to three quarters and
/// leaves room for the spread of the hash between shards (a few tens at this size). The shard
/// count is not a power of two ([`CowMap::shard_of`]), so every size of map fills its tables
/// this well: with power-of-two shards and power-of-two tables, a map's fill depended on its
/// size and was as low as 48 % (a million domains), which cost a fifth of the resident memory.
const ENTRIES_PER_SHARD: usize = 384;
/// Most shards, so the shard table itself stays small to clone.
const MAX_SHARDS: usize = 1 << 16;

/// A sharded copy-on-write hash map.
#[derive(Clone)]
pub struct CowMap<K, V> {
    shards: Vec<Arc<HashMap<K, V, RandomState>>>,
    hasher: RandomState,
    len: usize,
}

impl<K: Hash + Eq + Clone, V: Clone> CowMap<K, V> {
    /// An empty map sized for about `expected` entries.
    pub fn with_expected(expected: usize) -> Self {
        let shards = expected.div_ceil(ENTRIES_PER_SHARD).clamp(1, MAX_SHARDS);
        let per = expected / shards + 1;
        Self {
            shards: (0..shards)
                .map(|_| {
                    Arc::new(HashMap::with_capacity_and_hasher(
                        per,
                        RandomState::default(),
                    ))
                })
                .collect(),
            hasher: RandomState::default(),
            len: 0,
        }
    }

    fn shard_of<Q: Hash + ?Sized>(&self, key: &Q) -> usize {
        // The high 32 bits of the hash, scaled to the shard count (multiply and shift: any
        // count, no division). They are independent of the low bits the shard's own table uses
        // (a different hasher anyway).
        let h = self.hasher.hash_one(key) >> 32;
        let n = self.shards.len() as u64;
        usize::try_from((h * n) >> 32).unwrap_or(0)
    }

    /// The value for a key.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shards[self.shard_of(key)].get(key)
    }

    /// Whether the key is present.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get(key).is_some()
    }

    fn shard_mut(&mut self, i: usize) -> &mut HashMap<K, V, RandomState> {
        // Copy the shard only if another clone shares it.
        Arc::make_mut(&mut self.shards[i])
    }

    /// Insert, returning the value replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let i = self.shard_of(&key);
        let old = self.shard_mut(i).insert(key, value);
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// Remove, returning the value removed.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let old = self.shard_holding(key)?.remove(key);
        if old.is_some() {
            self.len -= 1;
        }
        old
    }

    /// A value to change in place (copying its shard if shared).
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shard_holding(key)?.get_mut(key)
    }

    /// The shard holding `key`, made unique for a change; `None` (and nothing copied) when the
    /// key is absent.
    fn shard_holding<Q>(&mut self, key: &Q) -> Option<&mut HashMap<K, V, RandomState>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let i = self.shard_of(key);
        // A shard no clone shares (every shard while a load builds the map) is changed in
        // place: one lookup. A shared one is looked into first, so an absent key copies
        // nothing.
        if Arc::get_mut(&mut self.shards[i]).is_some() || self.shards[i].contains_key(key) {
            Some(self.shard_mut(i))
        } else {
            None
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every value, in no particular order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.shards.iter().flat_map(|s| s.values())
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.shards.iter().flat_map(|s| s.iter())
    }

    /// How many shards two maps share (the same allocation): for tests of structural sharing.
    pub fn shared_shards(&self, other: &Self) -> usize {
        self.shards
            .iter()
            .zip(other.shards.iter())
            .filter(|(a, b)| Arc::ptr_eq(a, b))
            .count()
    }

    /// Number of shards.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_filled_to_about_three_quarters_of_their_tables_at_any_size() {
        for n in [100_000usize, 1_000_000, 1_300_000] {
            let m: CowMap<u32, u32> = CowMap::with_expected(n);
            let per = n / m.shard_count();
            assert!(
                (ENTRIES_PER_SHARD * 9 / 10..=ENTRIES_PER_SHARD).contains(&per),
                "{n}: {per} per shard"
            );
            let mut m = m;
            for i in 0..u32::try_from(n).expect("small") {
                m.insert(i, i);
            }
            assert_eq!(m.len(), n);
            assert!((0..1000).all(|i| m.get(&i) == Some(&i)));
        }
    }

    #[test]
    fn a_clone_changed_a_little_shares_the_rest() {
        let mut a: CowMap<u32, Arc<str>> = CowMap::with_expected(100_000);
        for i in 0..100_000 {
            a.insert(i, Arc::from(i.to_string()));
        }
        assert_eq!(a.len(), 100_000);
        let mut b = a.clone();
        for i in 0..10 {
            b.insert(i, Arc::from("changed"));
        }
        b.remove(&50_000);
        b.insert(200_000, Arc::from("new"));
        assert_eq!(b.len(), 100_000);
        assert_eq!(
            a.get(&3).map(|s| &**s),
            Some("3"),
            "the original is untouched"
        );
        assert_eq!(b.get(&3).map(|s| &**s), Some("changed"));
        assert!(a.contains_key(&50_000) && !b.contains_key(&50_000));
        let shared = a.shared_shards(&b);
        assert!(
            shared >= a.shard_count() - 12,
            "{shared} of {} shards shared",
            a.shard_count()
        );
        assert_eq!(b.values().count(), 100_000);
        let mut c = b.clone();
        *c.get_mut(&200_000).expect("present") = Arc::from("again");
        assert_eq!(b.get(&200_000).map(|s| &**s), Some("new"));
        assert!(c.remove(&999_999).is_none());
    }
}
