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
        shard_index(&self.hasher, self.shards.len(), key)
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

    /// Which of `parts` groups of neighbouring shards holds `key` (see
    /// [`CowMap::fill_in_parts`]).
    pub fn part_of<Q: Hash + ?Sized>(&self, key: &Q, parts: usize) -> usize {
        part_of_shard(self.shard_of(key), self.shards.len(), parts)
    }

    /// Change the map on `parts` threads at once: the shards are cut into `parts` groups of
    /// neighbouring shards, and `work` runs on each group ([`Part`]) on a thread of its own.
    /// A key belongs to the group [`CowMap::part_of`] names, so the threads share no shard and
    /// take no lock; each works through its own keys in whatever order it likes (a load, in
    /// file order, so the first of two records with one key is the one kept, as on one
    /// thread). Returns the results in part order.
    pub fn fill_in_parts<R: Send>(
        &mut self,
        parts: usize,
        work: impl Fn(&mut Part<'_, K, V>) -> R + Sync,
    ) -> Vec<R>
    where
        K: Send + Sync,
        V: Send + Sync,
    {
        let parts = parts.clamp(1, self.shards.len());
        let total = self.shards.len();
        let hasher = &self.hasher;
        let mut groups = Vec::with_capacity(parts);
        let mut rest: &mut [_] = &mut self.shards;
        let mut first = 0;
        for index in 0..parts {
            // Part `index` holds the shards `s` with `s * parts / total == index`.
            let end = ((index + 1) * total).div_ceil(parts);
            let (mine, others) = rest.split_at_mut(end - first);
            groups.push(Part {
                index,
                parts,
                first,
                total,
                shards: mine,
                hasher,
            });
            rest = others;
            first = end;
        }
        let results = super::parallel::run_each(groups, |mut part| work(&mut part));
        self.len = self.shards.iter().map(|s| s.len()).sum();
        results
    }
}

/// The shard of `key` among `count`: the high 32 bits of the hash scaled to the count
/// (multiply and shift: any count, no division). They are independent of the low bits the
/// shard's own table uses (a different hasher anyway).
fn shard_index<Q: Hash + ?Sized>(hasher: &RandomState, count: usize, key: &Q) -> usize {
    let h = hasher.hash_one(key) >> 32;
    usize::try_from((h * count as u64) >> 32).unwrap_or(0)
}

/// The part a shard belongs to when `total` shards are cut into `parts` groups.
fn part_of_shard(shard: usize, total: usize, parts: usize) -> usize {
    shard * parts.clamp(1, total.max(1)) / total.max(1)
}

/// What [`Part::insert_new`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// The key was absent and is now present.
    New,
    /// The key was present already; nothing changed.
    Present,
    /// The key belongs to another part; nothing changed.
    OtherPart,
}

/// One group of a map's neighbouring shards, changed by one thread of
/// [`CowMap::fill_in_parts`]. It answers for the keys of its own shards only: another part's
/// key is absent here, and is not inserted.
pub struct Part<'a, K, V> {
    index: usize,
    parts: usize,
    first: usize,
    total: usize,
    shards: &'a mut [Arc<HashMap<K, V, RandomState>>],
    hasher: &'a RandomState,
}

impl<K: Hash + Eq + Clone, V: Clone> Part<'_, K, V> {
    /// Which part this is, from 0.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The position of `key`'s shard in this part, if the key belongs to it.
    fn local<Q: Hash + ?Sized>(&self, key: &Q) -> Option<usize> {
        let shard = shard_index(self.hasher, self.total, key);
        (part_of_shard(shard, self.total, self.parts) == self.index).then(|| shard - self.first)
    }

    /// The value for a key of this part.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shards.get(self.local(key)?)?.get(key)
    }

    /// Whether a key of this part is present.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get(key).is_some()
    }

    /// A value of this part to change in place (copying its shard if shared).
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let i = self.local(key)?;
        let shard = self.shards.get_mut(i)?;
        if Arc::get_mut(shard).is_none() && !shard.contains_key(key) {
            return None;
        }
        Arc::make_mut(shard).get_mut(key)
    }

    /// Insert `key` unless it is present (one lookup).
    pub fn insert_new(&mut self, key: K, value: V) -> Inserted {
        let Some(shard) = self.local(&key).and_then(|i| self.shards.get_mut(i)) else {
            return Inserted::OtherPart;
        };
        match Arc::make_mut(shard).entry(key) {
            std::collections::hash_map::Entry::Occupied(_) => Inserted::Present,
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(value);
                Inserted::New
            }
        }
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
    fn parts_fill_the_map_as_one_thread_would() {
        let mut m: CowMap<u32, u32> = CowMap::with_expected(50_000);
        let keys: Vec<u32> = (0..60_000).map(|i| i % 50_000).collect();
        let parts = 3;
        let owners: Vec<usize> = keys.iter().map(|k| m.part_of(k, parts)).collect();
        let present = m.fill_in_parts(parts, |part| {
            let mut present = 0;
            for (i, k) in keys.iter().enumerate() {
                if owners[i] != part.index() {
                    assert_eq!(part.insert_new(*k, 0), Inserted::OtherPart);
                    assert!(!part.contains_key(k));
                    continue;
                }
                // The first of two equal keys wins, as on one thread.
                match part.insert_new(*k, u32::try_from(i).expect("small")) {
                    Inserted::New => {}
                    Inserted::Present => present += 1,
                    Inserted::OtherPart => panic!("{k} is this part's"),
                }
                *part.get_mut(k).expect("just inserted") += 0;
            }
            present
        });
        assert_eq!(present.len(), parts);
        assert_eq!(present.iter().sum::<usize>(), 10_000);
        assert_eq!(m.len(), 50_000);
        assert!((0..50_000u32).all(|k| m.get(&k) == Some(&k)));
        assert!(
            (0..parts).all(|p| owners.contains(&p)),
            "every part has keys"
        );
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
