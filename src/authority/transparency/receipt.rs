//! Receipts: what an authority keeps to prove, later and to anyone, that its disclosure was
//! logged and exactly what was recorded. A receipt holds the exact log line, its leaf index,
//! the signed checkpoint and the inclusion proof against it; [`verify`] needs nothing else but
//! the log's public key.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::note::{open_checkpoint, CheckpointBody, NoteError};
use super::published::Published;
use super::tree::{check_inclusion, leaf_hash, Hash, TreeError};
use crate::authority::log::Entry;

/// Format tag of a receipt.
pub const FORMAT: &str = "rddsd-disclosure-receipt/v1";

/// A receipt (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Receipt {
    /// [`FORMAT`].
    pub format: String,
    /// Leaf index (the entry's seq minus 1).
    pub index: u64,
    /// The log line exactly as recorded (the leaf is `SHA-256(0x00 || entry)`).
    pub entry: String,
    /// Base64 leaf hash.
    pub leaf_hash: String,
    /// Tree size of the checkpoint.
    pub tree_size: u64,
    /// Base64 root hash of the checkpoint.
    pub root_hash: String,
    /// Base64 hashes of the RFC 9162 inclusion proof, leaf to root.
    pub inclusion_proof: Vec<String>,
    /// The signed checkpoint (C2SP signed note).
    pub checkpoint: String,
    /// The log's public key (for convenience; verify with a copy obtained independently).
    pub log_key: String,
}

impl Receipt {
    /// Build a receipt.
    pub fn new(index: u64, line: &str, cp: &Published, proof: &[Hash], vkey: &str) -> Self {
        Self {
            format: FORMAT.into(),
            index,
            entry: line.to_string(),
            leaf_hash: leaf_hash(line.as_bytes()).to_string(),
            tree_size: cp.size,
            root_hash: cp.root.to_string(),
            inclusion_proof: proof.iter().map(ToString::to_string).collect(),
            checkpoint: cp.note.clone(),
            log_key: vkey.to_string(),
        }
    }
}

/// Why a receipt does not verify.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    /// Not a receipt's JSON.
    #[error("not a receipt: {0}")]
    NotAReceipt(serde_json::Error),
    /// A format tag other than [`FORMAT`].
    #[error("unknown receipt format {0:?}")]
    UnknownFormat(String),
    /// The checkpoint does not open with the keys.
    #[error("checkpoint: {0}")]
    Checkpoint(NoteError),
    /// The receipt's size or root is not the signed checkpoint's.
    #[error("the receipt's tree size or root is not the signed checkpoint's")]
    NotTheCheckpoint,
    /// The leaf hash is not the recorded entry's.
    #[error("the leaf hash is not the hash of the recorded entry")]
    LeafHash,
    /// A hash that is not base64.
    #[error("{what} is not base64")]
    NotBase64 {
        /// Which hash.
        what: &'static str,
    },
    /// A hash that is not 32 bytes.
    #[error("{what} is not 32 bytes")]
    NotAHash {
        /// Which hash.
        what: &'static str,
    },
    /// The inclusion proof does not verify.
    #[error(transparent)]
    Proof(#[from] TreeError),
    /// The recorded line is not a log entry.
    #[error("the recorded entry is not a log entry: {0}")]
    NotAnEntry(serde_json::Error),
    /// The recorded entry is not the one at the index, or its hash is not its own.
    #[error("the recorded entry does not match its index or its own hash")]
    EntryMismatch,
}

fn hash(s: &str, what: &'static str) -> Result<Hash, ReceiptError> {
    let b = B64
        .decode(s)
        .map_err(|_| ReceiptError::NotBase64 { what })?;
    let a: [u8; 32] = b.try_into().map_err(|_| ReceiptError::NotAHash { what })?;
    Ok(Hash(a))
}

/// What a verified receipt proves.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// The recorded entry.
    pub entry: Entry,
    /// The checkpoint it is included in.
    pub checkpoint: CheckpointBody,
}

/// Verify a receipt offline with the log's public keys (not the key inside the receipt).
///
/// # Errors
/// Any check that fails, named.
pub fn verify(
    receipt: &[u8],
    keys: &[signed_note::StandardVerifier],
) -> Result<Verified, ReceiptError> {
    let r: Receipt = serde_json::from_slice(receipt).map_err(ReceiptError::NotAReceipt)?;
    if r.format != FORMAT {
        return Err(ReceiptError::UnknownFormat(r.format));
    }
    let cp = open_checkpoint(r.checkpoint.as_bytes(), keys).map_err(ReceiptError::Checkpoint)?;
    if cp.size != r.tree_size || cp.root.to_string() != r.root_hash {
        return Err(ReceiptError::NotTheCheckpoint);
    }
    let leaf = leaf_hash(r.entry.as_bytes());
    if leaf.to_string() != r.leaf_hash {
        return Err(ReceiptError::LeafHash);
    }
    let proof = r
        .inclusion_proof
        .iter()
        .map(|h| hash(h, "a proof hash"))
        .collect::<Result<Vec<_>, _>>()?;
    check_inclusion(&proof, cp.size, cp.root, r.index, leaf)?;
    let entry: Entry = serde_json::from_str(&r.entry).map_err(ReceiptError::NotAnEntry)?;
    if entry.seq != r.index + 1 || entry.hash != entry.compute_hash() || entry.disclosure.is_none()
    {
        return Err(ReceiptError::EntryMismatch);
    }
    Ok(Verified {
        entry,
        checkpoint: cp,
    })
}

/// The leaf index and base64 leaf hash of a log entry, for the response headers
/// `RDDS-Log-Index` and `RDDS-Log-Leaf-Hash` (the line is the entry serialised as logged).
pub fn leaf_of(entry: &Entry) -> (u64, String) {
    let line = serde_json::to_vec(entry).unwrap_or_default();
    (entry.seq.saturating_sub(1), leaf_hash(&line).to_string())
}
