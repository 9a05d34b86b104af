//! The Merkle tree over disclosure entries (RFC 9162 §2.1 hashing: `SHA-256(0x00 || leaf)` and
//! `SHA-256(0x01 || left || right)`), kept as the "stored hashes" of Go's `sumdb/tlog` (ported
//! by the `tlog_tiles` crate): every complete subtree's hash is stored once, so any root,
//! inclusion proof or consistency proof of any earlier size can be computed from hashes alone.
//!
//! Leaf `i` is the log line (without its line ending) of the disclosure entry with seq `i + 1`.
//! That line carries a random salt, so a leaf hash cannot be confirmed by guessing a contact
//! handle or field name.
//!
//! The stored hashes are persisted next to the log (`LOG.tree`, 32 bytes per hash, about two per
//! entry). They hold no personal data and are never pruned: a pruned entry's line is gone, but
//! every root and proof still verifies.

use tlog_tiles::{HashReader, RecordProof, TreeProof};

pub use tlog_tiles::{record_hash as leaf_hash, Hash, EMPTY_HASH};

/// Size of one stored hash on disk.
pub const HASH_LEN: usize = 32;

/// An append-only Merkle tree in stored-hash form.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tree {
    hashes: Vec<Hash>,
    size: u64,
}

struct Reader<'a>(&'a [Hash]);

impl HashReader for Reader<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| self.0.get(i).copied())
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

/// Why a proof or a stored-hash file is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TreeError(pub String);

fn err(e: tlog_tiles::Error) -> TreeError {
    TreeError(e.to_string())
}

impl Tree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// All stored hashes, in storage order (what `LOG.tree` holds).
    pub fn stored(&self) -> &[Hash] {
        &self.hashes
    }

    /// Rebuild from stored hashes read back from disk. A torn tail (a crash while appending)
    /// is dropped back to the last complete leaf; the caller re-appends from the log.
    pub fn from_stored(mut hashes: Vec<Hash>) -> Self {
        let mut size = 0u64;
        while tlog_tiles::stored_hash_count(size + 1) <= hashes.len() as u64 {
            size += 1;
        }
        hashes.truncate(tlog_tiles::stored_hash_count(size) as usize);
        Self { hashes, size }
    }

    /// Parse `LOG.tree` bytes (whole hashes only; a torn last hash is dropped).
    pub fn from_bytes(data: &[u8]) -> Self {
        let hashes = data
            .chunks_exact(HASH_LEN)
            .map(|c| {
                let mut h = [0u8; HASH_LEN];
                h.copy_from_slice(c);
                Hash(h)
            })
            .collect();
        Self::from_stored(hashes)
    }

    /// Append a leaf given its leaf hash; returns the stored hashes added (to persist).
    ///
    /// # Errors
    /// Only on an internal inconsistency of the stored hashes.
    pub fn push_hash(&mut self, leaf: Hash) -> Result<&[Hash], TreeError> {
        let new = tlog_tiles::stored_hashes_for_record_hash(self.size, leaf, &Reader(&self.hashes))
            .map_err(err)?;
        let from = self.hashes.len();
        self.hashes.extend(new);
        self.size += 1;
        Ok(&self.hashes[from..])
    }

    /// Append a leaf given its data (a log line).
    ///
    /// # Errors
    /// As [`Self::push_hash`].
    pub fn push(&mut self, data: &[u8]) -> Result<&[Hash], TreeError> {
        self.push_hash(leaf_hash(data))
    }

    /// The leaf hash at `index`, if the tree has it.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        if index >= self.size {
            return None;
        }
        let i = tlog_tiles::stored_hash_index(0, index);
        self.hashes.get(usize::try_from(i).ok()?).copied()
    }

    /// Root hash of the tree's first `size` leaves.
    ///
    /// # Errors
    /// `size` larger than the tree.
    pub fn root(&self, size: u64) -> Result<Hash, TreeError> {
        if size > self.size {
            return Err(TreeError(format!(
                "tree size {size} is beyond the tree ({} leaves)",
                self.size
            )));
        }
        tlog_tiles::tree_hash(size, &Reader(&self.hashes)).map_err(err)
    }

    /// Inclusion proof of leaf `index` in the tree of size `size` (RFC 9162 §2.1.3).
    ///
    /// # Errors
    /// `index >= size` or `size` beyond the tree.
    pub fn inclusion(&self, index: u64, size: u64) -> Result<RecordProof, TreeError> {
        if size > self.size {
            return Err(TreeError(format!("tree size {size} is beyond the tree")));
        }
        tlog_tiles::prove_record(size, index, &Reader(&self.hashes)).map_err(err)
    }

    /// Consistency proof from size `old` to size `new` (RFC 9162 §2.1.4). Empty when equal.
    ///
    /// # Errors
    /// `old` of 0, `old > new` or `new` beyond the tree.
    pub fn consistency(&self, old: u64, new: u64) -> Result<TreeProof, TreeError> {
        if new > self.size {
            return Err(TreeError(format!("tree size {new} is beyond the tree")));
        }
        tlog_tiles::prove_tree(new, old, &Reader(&self.hashes)).map_err(err)
    }
}

/// Check that `proof` shows leaf `index` with hash `leaf` in the tree of `size` and `root`.
///
/// # Errors
/// The proof does not verify.
pub fn check_inclusion(
    proof: &[Hash],
    size: u64,
    root: Hash,
    index: u64,
    leaf: Hash,
) -> Result<(), TreeError> {
    if index >= size {
        return Err(TreeError(format!(
            "leaf {index} is not in a tree of size {size}"
        )));
    }
    // Longer proofs are malformed; refuse before recursing over them.
    if proof.len() > 64 {
        return Err(TreeError("inclusion proof too long".into()));
    }
    tlog_tiles::check_record(&proof.to_vec(), size, root, index, leaf)
        .map_err(|e| TreeError(format!("inclusion proof does not verify: {e}")))
}

/// Check that `proof` shows the tree (`new`, `new_root`) extends (`old`, `old_root`).
///
/// # Errors
/// The proof does not verify.
pub fn check_consistency(
    proof: &[Hash],
    old: u64,
    old_root: Hash,
    new: u64,
    new_root: Hash,
) -> Result<(), TreeError> {
    if old == 0 {
        // Every tree extends the empty tree.
        return if proof.is_empty() {
            Ok(())
        } else {
            Err(TreeError("a proof from the empty tree is empty".into()))
        };
    }
    if old > new {
        return Err(TreeError(format!(
            "tree size {new} is smaller than the older checkpoint's {old}: the log lost entries"
        )));
    }
    if proof.len() > 128 {
        return Err(TreeError("consistency proof too long".into()));
    }
    tlog_tiles::check_tree(&proof.to_vec(), new, new_root, old, old_root)
        .map_err(|e| TreeError(format!("consistency proof does not verify: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tree(n: u64) -> Tree {
        let mut t = Tree::new();
        for i in 0..n {
            t.push(format!("leaf {i}").as_bytes()).expect("push");
        }
        t
    }

    /// RFC 9162 §2.1.1, computed directly and recursively: the reference the stored-hash tree
    /// must agree with.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => EMPTY_HASH,
            1 => leaves[0],
            n => {
                let k = n.next_power_of_two() / 2;
                tlog_tiles::node_hash(mth(&leaves[..k]), mth(&leaves[k..]))
            }
        }
    }

    #[test]
    fn roots_match_the_rfc_definition_and_known_vectors() {
        let t = tree(40);
        let leaves: Vec<Hash> = (0..40)
            .map(|i| leaf_hash(format!("leaf {i}").as_bytes()))
            .collect();
        for n in 0..=40 {
            assert_eq!(t.root(n).expect("root"), mth(&leaves[..n as usize]), "{n}");
        }
        // RFC 6962 test vector: the empty tree, and a one-leaf tree over the empty string.
        assert_eq!(
            format!("{}", Tree::new().root(0).expect("root")),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        let mut one = Tree::new();
        one.push(b"").expect("push");
        assert_eq!(
            format!("{}", one.root(1).expect("root")),
            "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0="
        );
        assert!(t.root(41).is_err());
    }

    #[test]
    fn stored_hashes_round_trip_and_a_torn_tail_is_dropped() {
        let t = tree(13);
        let bytes: Vec<u8> = t.stored().iter().flat_map(|h| h.0).collect();
        assert_eq!(Tree::from_bytes(&bytes), t);
        // Half a hash and the first hash of the next leaf: back to 13 leaves.
        let mut torn = bytes.clone();
        torn.extend_from_slice(&[7u8; 48]);
        assert_eq!(Tree::from_bytes(&torn), t);
    }

    #[test]
    fn bad_proofs_are_refused() {
        let t = tree(10);
        let root = t.root(10).expect("root");
        let p = t.inclusion(3, 10).expect("proof");
        let leaf = t.leaf(3).expect("leaf");
        check_inclusion(&p, 10, root, 3, leaf).expect("verifies");
        assert!(check_inclusion(&p, 10, root, 4, leaf).is_err());
        assert!(check_inclusion(&p, 10, root, 3, t.leaf(4).expect("leaf")).is_err());
        assert!(check_inclusion(&p, 10, root, 10, leaf).is_err());
        assert!(check_inclusion(&p[1..], 10, root, 3, leaf).is_err());
        let c = t.consistency(4, 10).expect("proof");
        let old = t.root(4).expect("root");
        check_consistency(&c, 4, old, 10, root).expect("verifies");
        assert!(check_consistency(&c, 4, root, 10, root).is_err());
        assert!(check_consistency(&c, 5, old, 10, root).is_err());
        assert!(check_consistency(&c, 11, old, 10, root).is_err());
        assert!(t.consistency(0, 10).is_err());
        assert!(t.inclusion(10, 10).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Every inclusion proof in trees of 1 to 1,000 leaves verifies, against the root the
        /// RFC defines, and a proof for another leaf or another root does not.
        #[test]
        fn inclusion_proofs_verify(size in 1u64..=1000, pick in any::<u64>()) {
            let t = tree(size);
            let index = pick % size;
            let root = t.root(size).expect("root");
            let leaf = t.leaf(index).expect("leaf");
            let proof = t.inclusion(index, size).expect("proof");
            prop_assert!(check_inclusion(&proof, size, root, index, leaf).is_ok());
            let other = leaf_hash(b"not a leaf");
            prop_assert!(check_inclusion(&proof, size, root, index, other).is_err());
            if size > 1 {
                let wrong = (index + 1) % size;
                prop_assert!(check_inclusion(&proof, size, root, wrong, leaf).is_err());
                let older = t.root(size - 1).expect("root");
                prop_assert!(check_inclusion(&proof, size, older, index, leaf).is_err());
            }
        }

        /// Every consistency proof between sizes 1 ≤ old ≤ new ≤ 1,000 verifies, and fails
        /// against a different old root or a rewritten new tree.
        #[test]
        fn consistency_proofs_verify(new in 1u64..=1000, pick in any::<u64>()) {
            let t = tree(new);
            let old = 1 + pick % new;
            let old_root = t.root(old).expect("root");
            let new_root = t.root(new).expect("root");
            let proof = t.consistency(old, new).expect("proof");
            prop_assert!(check_consistency(&proof, old, old_root, new, new_root).is_ok());
            // A history rewritten at leaf 0 keeps no old root.
            let mut forged = Tree::new();
            forged.push(b"rewritten").expect("push");
            for i in 1..new {
                forged.push(format!("leaf {i}").as_bytes()).expect("push");
            }
            let forged_root = forged.root(new).expect("root");
            let forged_proof = forged.consistency(old, new).expect("proof");
            prop_assert!(check_consistency(&forged_proof, old, old_root, new, forged_root).is_err());
            if old < new {
                prop_assert!(check_consistency(&proof, old, new_root, new, new_root).is_err());
            }
        }
    }
}
