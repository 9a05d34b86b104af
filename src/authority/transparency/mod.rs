//! A disclosure log that others can verify (issue #14): a Merkle tree over the disclosure
//! entries, signed checkpoints in the C2SP formats, receipts (inclusion proofs) for the
//! authorities, consistency proofs for auditors, and witnesses that cosign checkpoints.
//!
//! The hash chain of [`crate::authority::log`] shows edits inside a file; it cannot show that
//! the whole file was rewritten consistently. A checkpoint signed by the registry and kept by
//! someone else (an authority's receipt, an auditor, a witness) can: a rewritten history no
//! longer has the old checkpoint's root at the old size.
//!
//! Parts:
//! - [`tree`]: RFC 9162 Merkle tree in stored-hash form, proofs and their checks (pure);
//! - [`note`]: keys, checkpoint signing and opening, witness cosignatures (pure);
//! - [`store`]: the files next to the log and the writer-thread side (append, checkpoint);
//! - [`receipt`]: receipts and their offline check (pure);
//! - [`witness`]: pushing checkpoints to witnesses;
//! - [`audit`]: the `rddsd audit` subcommands' bodies.

pub mod audit;
pub mod note;
pub mod published;
pub mod receipt;
pub mod serve;
pub mod store;

pub use published::{store_cosignature, Published, StoredCosignature};
pub mod tree;
pub mod witness;

use std::path::PathBuf;
use std::time::Duration;

/// Where a checkpoint is pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WitnessTarget {
    /// Written to `<dir>/checkpoint` (atomically replaced), for a witness that picks it up.
    Dir(PathBuf),
    /// Sent with the C2SP tlog-witness protocol (`POST <url>/add-checkpoint`); its
    /// cosignatures are verified with `key` and stored.
    Http {
        /// Base URL (`http://host:port/path` or `https://…`).
        url: String,
        /// The witness's verifier key (note format).
        key: String,
        /// What an `https://` witness's certificate must lead to (`ca_file`, or the system's).
        roots: crate::authority::TrustRoots,
    },
}

/// `[authority]` transparency settings, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogSettings {
    /// The signer key file (`rddsd audit keygen`).
    pub key: PathBuf,
    /// Publish a checkpoint once this many entries are not yet covered ...
    pub checkpoint_every: u64,
    /// ... or this long after the first uncovered entry, whichever comes first.
    pub checkpoint_interval: Duration,
    /// Where checkpoints go.
    pub witnesses: Vec<WitnessTarget>,
    /// Credential ids that may fetch any receipt.
    pub auditors: Vec<String>,
}

/// A file next to the log: `<log><suffix>`.
pub(crate) fn sidecar(path: &std::path::Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// `LOG.tree`: the Merkle tree's stored hashes.
pub fn tree_path(log: &std::path::Path) -> PathBuf {
    sidecar(log, ".tree")
}

/// `LOG.checkpoints`: every checkpoint published, JSON Lines.
pub fn checkpoints_path(log: &std::path::Path) -> PathBuf {
    sidecar(log, ".checkpoints")
}

/// `LOG.checkpoint`: the latest checkpoint, as a plain signed note.
pub fn latest_path(log: &std::path::Path) -> PathBuf {
    sidecar(log, ".checkpoint")
}

/// `LOG.cosignatures`: witness cosignatures, JSON Lines.
pub fn cosignatures_path(log: &std::path::Path) -> PathBuf {
    sidecar(log, ".cosignatures")
}

/// The admin listener's transparency URLs: `/transparency/public-key` (the note verifier key)
/// and `/transparency/checkpoint` (the latest signed checkpoint, as C2SP tooling fetches it).
pub fn admin(
    shared: Option<std::sync::Arc<store::Shared>>,
    path: &str,
) -> (hyper::StatusCode, &'static str, String) {
    let Some(shared) = shared else {
        return (
            hyper::StatusCode::NOT_FOUND,
            "text/plain",
            "transparency is not configured ([authority] signing_key)\n".into(),
        );
    };
    if path == "/transparency/public-key" {
        return (
            hyper::StatusCode::OK,
            "text/plain; charset=utf-8",
            format!("{}\n", shared.verifier_key()),
        );
    }
    match shared.latest() {
        Some(p) => (hyper::StatusCode::OK, "text/plain; charset=utf-8", p.note),
        None => (
            hyper::StatusCode::NOT_FOUND,
            "text/plain",
            "no checkpoint published yet\n".into(),
        ),
    }
}

/// Open the disclosure log with a Merkle tree beside it when `settings` is given: the log, and
/// the shared view of the tree (checkpoints, proofs) for receipts and the admin URLs. A tree
/// that cannot be opened opens the log broken (no disclosures until repaired).
pub fn open_log(
    path: &std::path::Path,
    settings: Option<TlogSettings>,
) -> (
    crate::authority::log::DisclosureLog,
    Option<std::sync::Arc<store::Shared>>,
) {
    let tlog = settings
        .map(|t| {
            let targets = t.witnesses.clone();
            store::Tlog::open(path, t).map(|mut tlog| {
                if !targets.is_empty() {
                    tlog.set_witnesses(witness::spawn(path, targets, tlog.shared()));
                }
                tlog
            })
        })
        .transpose();
    let shared = tlog
        .as_ref()
        .ok()
        .and_then(|t| t.as_ref().map(store::Tlog::shared));
    let sink = tlog
        .map(|t| t.map(|t| Box::new(t) as Box<dyn crate::authority::log::TreeSink>))
        .map_err(Into::into);
    (
        crate::authority::log::DisclosureLog::open_with(path, sink),
        shared,
    )
}
