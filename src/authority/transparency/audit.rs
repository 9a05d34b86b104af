//! The bodies of the transparency `rddsd audit` subcommands. Each returns the lines to print,
//! or an error naming the file and what failed.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::note::{self, open_checkpoint, peek_checkpoint, NoteError};
use super::receipt::ReceiptError;
use super::store::{read_checkpoints, reconcile, StoreError};
use super::tree::{check_consistency, Tree, TreeError};
use crate::authority::log::{self, LogError, Verified};

/// Why an `rddsd audit` transparency subcommand failed. The text names the file and what
/// failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// `keygen` without `--rotate` over an existing key.
    #[error("{} exists; pass --rotate to replace it (the old key is kept as retired)", path.display())]
    KeyExists {
        /// The key file.
        path: PathBuf,
    },
    /// Reading, writing or renaming a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A stored checkpoint that does not open (or, with keys, does not verify).
    #[error("{}:{line}: {source}", path.display())]
    StoredCheckpoint {
        /// The checkpoints file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// Why it does not open.
        source: NoteError,
    },
    /// A stored checkpoint smaller than the one before it.
    #[error("{}:{line}: checkpoint size {size} is smaller than the one before ({before}): the log was rolled back", path.display())]
    RolledBack {
        /// The checkpoints file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// Its tree size.
        size: u64,
        /// The size of the checkpoint before it.
        before: u64,
    },
    /// A stored checkpoint larger than the tree.
    #[error("{}:{line}: checkpoint size {size} is beyond the log's {entries} entries: entries were removed", path.display())]
    BeyondTheLog {
        /// The checkpoints file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// Its tree size.
        size: u64,
        /// Leaves in the tree.
        entries: u64,
    },
    /// A stored checkpoint whose root is not the tree's at its size.
    #[error("{}:{line}: the log's root at size {size} is not the checkpoint's: the history was rewritten after it was checkpointed", path.display())]
    RootRewritten {
        /// The checkpoints file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// Its tree size.
        size: u64,
    },
    /// `consistency` without keys.
    #[error("--key PUBLIC_KEYS is required: an unsigned checkpoint proves nothing")]
    KeyRequired,
    /// The old checkpoint does not open with the keys.
    #[error("{}: {source}", path.display())]
    OldCheckpoint {
        /// The old checkpoint's file.
        path: PathBuf,
        /// Why it does not open.
        source: NoteError,
    },
    /// The log is shorter than the old checkpoint.
    #[error("the log has {entries} entries, fewer than the checkpoint's {size}: entries were removed (or this is another log)")]
    FewerEntries {
        /// Leaves in the tree.
        entries: u64,
        /// The old checkpoint's tree size.
        size: u64,
    },
    /// The log does not extend the old checkpoint.
    #[error("the log does not extend the checkpoint of size {size}: its history was rewritten")]
    NotExtended {
        /// The old checkpoint's tree size.
        size: u64,
    },
    /// The receipt does not verify.
    #[error("{}: {source}", path.display())]
    Receipt {
        /// The receipt file.
        path: PathBuf,
        /// Why it does not verify.
        source: ReceiptError,
    },
    /// The log does not verify.
    #[error(transparent)]
    Log(#[from] LogError),
    /// A transparency file next to the log.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A key or a key file.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The tree refused a size.
    #[error(transparent)]
    Tree(#[from] TreeError),
}

impl AuditError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// `rddsd audit keygen`: write a new signer key to `key` (mode 0600) and add its public key to
/// `KEY.pub` (newest first; earlier keys stay so older checkpoints keep verifying). An
/// existing key is replaced only with `rotate`, and then kept as `KEY.retired-<key ID>`.
///
/// # Errors
/// An existing key without `rotate`, an invalid origin, or I/O failure.
pub fn keygen(key: &Path, origin: &str, rotate: bool) -> Result<Vec<String>, AuditError> {
    let exists = key.exists();
    if exists && !rotate {
        return Err(AuditError::KeyExists {
            path: key.to_path_buf(),
        });
    }
    let (skey, vkey) = note::generate_log(origin)?;
    let mut out = Vec::new();
    if exists {
        let old = note::LogKey::load(key)?;
        let id = old
            .verifier_key()
            .split('+')
            .nth(1)
            .unwrap_or("old")
            .to_string();
        let retired = super::sidecar(key, &format!(".retired-{id}"));
        std::fs::rename(key, &retired).map_err(|e| AuditError::io(key, e))?;
        out.push(format!("retired key kept as {}", retired.display()));
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(key)
        .map_err(|e| AuditError::io(key, e))?;
    f.write_all(format!("{skey}\n").as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| AuditError::io(key, e))?;
    let pub_path = super::sidecar(key, ".pub");
    let previous = std::fs::read_to_string(&pub_path).unwrap_or_default();
    super::store::replace_file(&pub_path, format!("{vkey}\n{previous}").as_bytes())?;
    out.push(format!("public key (publish it): {vkey}"));
    out.push(format!(
        "public keys, newest first: {} (give it to auditors and witnesses; restart rddsd to sign with the new key)",
        pub_path.display()
    ));
    Ok(out)
}

/// Where `audit verify` finds the transparency files (the sidecars of the log by default, or
/// an export's copies).
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Public keys file; without it, signatures are not checked.
    pub keys: Option<PathBuf>,
    /// Stored checkpoints (default `LOG.checkpoints`).
    pub checkpoints: Option<PathBuf>,
    /// Stored tree hashes (default `LOG.tree`).
    pub tree: Option<PathBuf>,
}

/// Read and verify the log's bytes under the append lock (a running server's append in
/// progress is not a torn line), then rebuild the tree.
fn load(path: &Path, tree_file: &Path) -> Result<(Vec<u8>, Verified, Tree), AuditError> {
    let _guard = log::append_lock(path).ok();
    let data = std::fs::read(path).map_err(|e| AuditError::io(path, e))?;
    let v = log::verify_bytes(&data).map_err(|source| LogError::Chain {
        path: path.to_path_buf(),
        source,
    })?;
    let stored = match std::fs::read(tree_file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(AuditError::io(tree_file, e)),
    };
    let mut tree = Tree::from_bytes(&stored);
    reconcile(&mut tree, &data, &v).map_err(|e| StoreError::reconcile(tree_file, e))?;
    Ok((data, v, tree))
}

/// `rddsd audit verify` (transparency part): the tree over the entries and every stored
/// checkpoint (its root at its size, sizes never shrinking, and with keys its signature).
///
/// # Errors
/// The first failure, named.
pub fn verify(path: &Path, src: &Sources) -> Result<Vec<String>, AuditError> {
    let tree_file = src.tree.clone().unwrap_or_else(|| super::tree_path(path));
    let cps_file = src
        .checkpoints
        .clone()
        .unwrap_or_else(|| super::checkpoints_path(path));
    let (_, _, tree) = load(path, &tree_file)?;
    let keys = src.keys.as_deref().map(note::load_verifiers).transpose()?;
    let mut out = vec![format!(
        "tree: {} entr{}, root {}",
        tree.size(),
        if tree.size() == 1 { "y" } else { "ies" },
        tree.root(tree.size())?
    )];
    let cps = read_checkpoints(&cps_file)?;
    let mut last = 0;
    for (i, c) in cps.iter().enumerate() {
        let line = i + 1;
        let body = match &keys {
            Some(k) => open_checkpoint(c.checkpoint.as_bytes(), k),
            None => peek_checkpoint(c.checkpoint.as_bytes()),
        }
        .map_err(|source| AuditError::StoredCheckpoint {
            path: cps_file.clone(),
            line,
            source,
        })?;
        if body.size < last {
            return Err(AuditError::RolledBack {
                path: cps_file,
                line,
                size: body.size,
                before: last,
            });
        }
        last = body.size;
        let root = tree.root(body.size).map_err(|_| AuditError::BeyondTheLog {
            path: cps_file.clone(),
            line,
            size: body.size,
            entries: tree.size(),
        })?;
        if root != body.root {
            return Err(AuditError::RootRewritten {
                path: cps_file,
                line,
                size: body.size,
            });
        }
    }
    out.push(format!(
        "checkpoints: {} consistent with the tree{}",
        cps.len(),
        if keys.is_some() {
            ", signatures verified"
        } else {
            " (signatures not checked: pass --key PUBLIC_KEYS)"
        }
    ));
    Ok(out)
}

/// `rddsd audit verify`'s transparency part, run when keys are given or the log has a tree or
/// stored checkpoints; nothing to print otherwise (a log without transparency).
///
/// # Errors
/// As [`verify`].
pub fn verify_if_present(path: &Path, src: &Sources) -> Result<Vec<String>, AuditError> {
    let present = src.keys.is_some()
        || src.checkpoints.is_some()
        || src.tree.is_some()
        || super::tree_path(path).exists()
        || super::checkpoints_path(path).exists();
    if present {
        verify(path, src)
    } else {
        Ok(Vec::new())
    }
}

/// `rddsd audit consistency LOG OLD_CHECKPOINT --key KEYS`: prove that the current log extends
/// an older checkpoint an auditor kept. Prints the consistency proof to the current tree.
///
/// # Errors
/// The old checkpoint does not verify, or the log does not extend it.
pub fn consistency(
    path: &Path,
    old_checkpoint: &Path,
    src: &Sources,
) -> Result<Vec<String>, AuditError> {
    let keys_path = src.keys.as_deref().ok_or(AuditError::KeyRequired)?;
    let keys = note::load_verifiers(keys_path)?;
    let note_bytes =
        std::fs::read(old_checkpoint).map_err(|e| AuditError::io(old_checkpoint, e))?;
    let old = open_checkpoint(&note_bytes, &keys).map_err(|source| AuditError::OldCheckpoint {
        path: old_checkpoint.to_path_buf(),
        source,
    })?;
    let tree_file = src.tree.clone().unwrap_or_else(|| super::tree_path(path));
    let (_, _, tree) = load(path, &tree_file)?;
    let size = tree.size();
    if old.size > size {
        return Err(AuditError::FewerEntries {
            entries: size,
            size: old.size,
        });
    }
    let root = tree.root(size)?;
    let proof = if old.size == 0 {
        Vec::new()
    } else {
        tree.consistency(old.size, size)?
    };
    check_consistency(&proof, old.size, old.root, size, root)
        .map_err(|_| AuditError::NotExtended { size: old.size })?;
    let mut out = vec![
        format!(
            "consistent: the log ({size} entries, root {root}) extends the checkpoint of size {} (root {})",
            old.size, old.root
        ),
        format!("consistency proof ({} hashes):", proof.len()),
    ];
    out.extend(proof.iter().map(ToString::to_string));
    Ok(out)
}

/// `rddsd audit verify-receipt RECEIPT --key KEYS`: check a receipt offline.
///
/// # Errors
/// The receipt does not verify.
pub fn verify_receipt(receipt: &Path, keys: &Path) -> Result<Vec<String>, AuditError> {
    let keys = note::load_verifiers(keys)?;
    let bytes = std::fs::read(receipt).map_err(|e| AuditError::io(receipt, e))?;
    let v = super::receipt::verify(&bytes, &keys).map_err(|source| AuditError::Receipt {
        path: receipt.to_path_buf(),
        source,
    })?;
    let d = v.entry.disclosure.as_ref();
    Ok(vec![
        format!(
            "ok: entry seq {} (request {}) is in the log's tree of size {} signed by {}",
            v.entry.seq,
            d.map_or("?", |d| d.request_id.as_str()),
            v.checkpoint.size,
            v.checkpoint.origin
        ),
        format!(
            "recorded response SHA-256: {}",
            d.map_or("?", |d| d.response_sha256.as_str())
        ),
    ])
}
