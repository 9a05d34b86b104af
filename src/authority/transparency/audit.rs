//! The bodies of the transparency `rddsd audit` subcommands. Each returns the lines to print,
//! or an error naming the file and what failed.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::note::{self, open_checkpoint, peek_checkpoint};
use super::store::{read_checkpoints, reconcile};
use super::tree::{check_consistency, Tree};
use crate::authority::log::{self, Verified};

/// `rddsd audit keygen`: write a new signer key to `key` (mode 0600) and add its public key to
/// `KEY.pub` (newest first; earlier keys stay so older checkpoints keep verifying). An
/// existing key is replaced only with `rotate`, and then kept as `KEY.retired-<key ID>`.
///
/// # Errors
/// An existing key without `rotate`, an invalid origin, or I/O failure.
pub fn keygen(key: &Path, origin: &str, rotate: bool) -> Result<Vec<String>, String> {
    let exists = key.exists();
    if exists && !rotate {
        return Err(format!(
            "{} exists; pass --rotate to replace it (the old key is kept as retired)",
            key.display()
        ));
    }
    let (skey, vkey) = note::generate_log(origin).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    if exists {
        let old = note::LogKey::load(key).map_err(|e| e.to_string())?;
        let id = old
            .verifier_key()
            .split('+')
            .nth(1)
            .unwrap_or("old")
            .to_string();
        let retired = super::sidecar(key, &format!(".retired-{id}"));
        std::fs::rename(key, &retired).map_err(|e| format!("{}: {e}", key.display()))?;
        out.push(format!("retired key kept as {}", retired.display()));
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(key)
        .map_err(|e| format!("{}: {e}", key.display()))?;
    f.write_all(format!("{skey}\n").as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("{}: {e}", key.display()))?;
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
fn load(path: &Path, tree_file: &Path) -> Result<(Vec<u8>, Verified, Tree), String> {
    let _guard = log::append_lock(path).ok();
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v = log::verify_bytes(&data).map_err(|e| format!("{}: {e}", path.display()))?;
    let stored = match std::fs::read(tree_file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(format!("{}: {e}", tree_file.display())),
    };
    let mut tree = Tree::from_bytes(&stored);
    reconcile(&mut tree, &data, &v).map_err(|e| format!("{}: {e}", tree_file.display()))?;
    Ok((data, v, tree))
}

/// `rddsd audit verify` (transparency part): the tree over the entries and every stored
/// checkpoint (its root at its size, sizes never shrinking, and with keys its signature).
///
/// # Errors
/// The first failure, named.
pub fn verify(path: &Path, src: &Sources) -> Result<Vec<String>, String> {
    let tree_file = src.tree.clone().unwrap_or_else(|| super::tree_path(path));
    let cps_file = src
        .checkpoints
        .clone()
        .unwrap_or_else(|| super::checkpoints_path(path));
    let (_, _, tree) = load(path, &tree_file)?;
    let keys = src
        .keys
        .as_deref()
        .map(note::load_verifiers)
        .transpose()
        .map_err(|e| e.to_string())?;
    let mut out = vec![format!(
        "tree: {} entr{}, root {}",
        tree.size(),
        if tree.size() == 1 { "y" } else { "ies" },
        tree.root(tree.size()).map_err(|e| e.to_string())?
    )];
    let cps = read_checkpoints(&cps_file)?;
    let mut last = 0;
    for (i, c) in cps.iter().enumerate() {
        let at = format!("{}:{}", cps_file.display(), i + 1);
        let body = match &keys {
            Some(k) => open_checkpoint(c.checkpoint.as_bytes(), k),
            None => peek_checkpoint(c.checkpoint.as_bytes()),
        }
        .map_err(|e| format!("{at}: {e}"))?;
        if body.size < last {
            return Err(format!(
                "{at}: checkpoint size {} is smaller than the one before ({last}): the log was rolled back",
                body.size
            ));
        }
        last = body.size;
        let root = tree.root(body.size).map_err(|_| {
            format!(
                "{at}: checkpoint size {} is beyond the log's {} entries: entries were removed",
                body.size,
                tree.size()
            )
        })?;
        if root != body.root {
            return Err(format!(
                "{at}: the log's root at size {} is not the checkpoint's: the history was rewritten after it was checkpointed",
                body.size
            ));
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
pub fn verify_if_present(path: &Path, src: &Sources) -> Result<Vec<String>, String> {
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
) -> Result<Vec<String>, String> {
    let keys_path = src
        .keys
        .as_deref()
        .ok_or("--key PUBLIC_KEYS is required: an unsigned checkpoint proves nothing")?;
    let keys = note::load_verifiers(keys_path).map_err(|e| e.to_string())?;
    let note_bytes =
        std::fs::read(old_checkpoint).map_err(|e| format!("{}: {e}", old_checkpoint.display()))?;
    let old = open_checkpoint(&note_bytes, &keys)
        .map_err(|e| format!("{}: {e}", old_checkpoint.display()))?;
    let tree_file = src.tree.clone().unwrap_or_else(|| super::tree_path(path));
    let (_, _, tree) = load(path, &tree_file)?;
    let size = tree.size();
    if old.size > size {
        return Err(format!(
            "the log has {size} entries, fewer than the checkpoint's {}: entries were removed (or this is another log)",
            old.size
        ));
    }
    let root = tree.root(size).map_err(|e| e.to_string())?;
    let proof = if old.size == 0 {
        Vec::new()
    } else {
        tree.consistency(old.size, size)
            .map_err(|e| e.to_string())?
    };
    check_consistency(&proof, old.size, old.root, size, root).map_err(|_| {
        format!(
            "the log does not extend the checkpoint of size {}: its history was rewritten",
            old.size
        )
    })?;
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
pub fn verify_receipt(receipt: &Path, keys: &Path) -> Result<Vec<String>, String> {
    let keys = note::load_verifiers(keys).map_err(|e| e.to_string())?;
    let bytes = std::fs::read(receipt).map_err(|e| format!("{}: {e}", receipt.display()))?;
    let v =
        super::receipt::verify(&bytes, &keys).map_err(|e| format!("{}: {e}", receipt.display()))?;
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
