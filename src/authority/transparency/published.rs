//! What a checkpoint publication leaves behind: the latest signed checkpoint as readers see
//! it, and witness cosignatures as stored beside the log.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::store::StoreError;
use super::tree::Hash;

/// The latest published checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// The signed note.
    pub note: String,
}

/// One line of `LOG.cosignatures`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StoredCosignature {
    /// When it was received (RFC 3339 UTC).
    pub time: String,
    /// The cosigned checkpoint's tree size.
    pub size: u64,
    /// The witness's verifier key.
    pub witness: String,
    /// The signature line, verified with that key.
    pub signature: String,
}

/// Append a verified cosignature to `LOG.cosignatures`.
///
/// # Errors
/// I/O failure.
pub fn store_cosignature(log: &Path, c: &StoredCosignature) -> Result<(), StoreError> {
    append_line(&super::cosignatures_path(log), c)
}

pub(super) fn append_line(path: &Path, value: &impl Serialize) -> Result<(), StoreError> {
    let mut line = serde_json::to_vec(value).map_err(StoreError::Encode)?;
    line.push(b'\n');
    let mut f = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| StoreError::io(path, e))?;
    f.write_all(&line)
        .and_then(|()| f.sync_data())
        .map_err(|e| StoreError::io(path, e))
}
