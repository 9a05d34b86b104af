//! The transparency files next to the log and the writer thread's part.
//!
//! Order of writes for one disclosure: the log line is written and fsynced (the commitment),
//! then its tree hashes are appended to `LOG.tree`. A crash between the two leaves the tree
//! short; the next start re-appends from the log. `LOG.tree` is fsynced before every checkpoint
//! (a checkpoint commits to it) and by a prune before entries leave the log (their hashes must
//! outlive them).
//!
//! Checkpoints: once `checkpoint_every` entries are uncovered, or `checkpoint_interval` after the
//! first uncovered entry, the writer signs `(size, root)`, appends it to `LOG.checkpoints`
//! (fsynced), replaces `LOG.checkpoint` atomically and hands it to the witness thread.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use super::note::{LogKey, NoteError};
use super::published::{append_line, Published};
use super::tree::{leaf_hash, Hash, Tree, TreeError as ProofError, HASH_LEN};
use super::{checkpoints_path, latest_path, tree_path, TlogSettings};
use crate::authority::log::{TreeError, Verified};

/// Why a tree does not fit the log it is reconciled with ([`reconcile`]).
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The log was pruned past the leaves the tree holds: their hashes are gone.
    #[error("the tree holds {leaves} leaves but the log was pruned through seq {pruned}: the pruned entries' hashes are lost (restore LOG.tree from a backup)")]
    PrunedLeavesLost {
        /// Leaves in the tree.
        leaves: u64,
        /// The log's last pruned seq.
        pruned: u64,
    },
    /// The tree holds more leaves than the log has entries.
    #[error("the tree holds {leaves} leaves but the log has {entries} entries: entries were removed from the log, or the tree belongs to another log")]
    EntriesRemoved {
        /// Leaves in the tree.
        leaves: u64,
        /// Entries in the log (pruned ones included).
        entries: u64,
    },
    /// A kept line's hash is not the tree's leaf.
    #[error(
        "the tree does not match the log at seq {seq}: the entry was rewritten after it was logged"
    )]
    Rewritten {
        /// The entry's seq.
        seq: u64,
    },
    /// The tree refused a leaf.
    #[error(transparent)]
    Tree(#[from] ProofError),
}

/// Why a transparency file next to the log could not be read, written or trusted. The text
/// names the file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading, writing or syncing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The tree file does not fit the log.
    #[error("{}: {source}", path.display())]
    Reconcile {
        /// The tree file.
        path: PathBuf,
        /// How it does not fit.
        source: ReconcileError,
    },
    /// A line of `LOG.checkpoints` that is not a stored checkpoint.
    #[error("{}:{line}: not a stored checkpoint: {source}", path.display())]
    NotAStoredCheckpoint {
        /// The checkpoints file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// The parser's message.
        source: serde_json::Error,
    },
    /// The last stored checkpoint is not a checkpoint note.
    #[error("{}: last checkpoint: {source}", path.display())]
    LastCheckpoint {
        /// The checkpoints file.
        path: PathBuf,
        /// Why it does not open.
        source: NoteError,
    },
    /// The last stored checkpoint is not this tree's.
    #[error("{}: the last checkpoint (size {size}) does not match the log's tree: the log was rewritten or replaced", path.display())]
    CheckpointMismatch {
        /// The checkpoints file.
        path: PathBuf,
        /// The checkpoint's tree size.
        size: u64,
    },
    /// An appended entry is not the tree's next leaf.
    #[error("the tree holds {leaves} leaves, so it cannot take seq {seq}")]
    NotNextLeaf {
        /// Leaves in the tree.
        leaves: u64,
        /// The entry's seq.
        seq: u64,
    },
    /// The tree file was not opened by [`Tlog::sync`].
    #[error("{} is not open", path.display())]
    NotOpen {
        /// The tree file.
        path: PathBuf,
    },
    /// A line to append could not be encoded.
    #[error("{0}")]
    Encode(serde_json::Error),
    /// The tree refused a leaf or a size.
    #[error(transparent)]
    Tree(#[from] ProofError),
    /// The key could not be loaded or could not sign.
    #[error(transparent)]
    Note(#[from] NoteError),
}

impl StoreError {
    pub(super) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(super) fn reconcile(path: &Path, source: ReconcileError) -> Self {
        Self::Reconcile {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// One line of `LOG.checkpoints`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StoredCheckpoint {
    /// When it was signed (RFC 3339 UTC).
    pub time: String,
    /// Tree size.
    pub size: u64,
    /// The signed note.
    pub checkpoint: String,
}

/// What readers (the receipt route, the admin listener, the witness thread) see.
#[derive(Debug, Default)]
struct View {
    tree: Tree,
    /// Kept lines by leaf index (pruned ones are gone).
    lines: BTreeMap<u64, Arc<str>>,
    latest: Option<Published>,
    /// When the uncovered entries will be covered at the latest.
    due: Option<SystemTime>,
}

/// Shared, read-mostly transparency state. Locks are held only for memory operations.
#[derive(Debug)]
pub struct Shared {
    view: RwLock<View>,
    verifier_key: String,
    /// Credential ids that may fetch any receipt.
    pub auditors: Vec<String>,
}

/// What a receipt request finds.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// Covered by the latest checkpoint.
    Covered {
        /// The exact log line.
        line: Arc<str>,
        /// The proof and checkpoint.
        receipt: super::receipt::Receipt,
    },
    /// Logged, but the latest checkpoint does not cover it yet.
    Pending {
        /// The exact log line (to check who may see it).
        line: Arc<str>,
        /// When a checkpoint will cover it at the latest.
        due: SystemTime,
    },
    /// Pruned: its line is gone (its hash stays in the tree).
    Pruned,
    /// No such entry.
    Missing,
}

impl Shared {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, View> {
        self.view
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, View> {
        self.view
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The log's public key (note verifier key).
    pub fn verifier_key(&self) -> &str {
        &self.verifier_key
    }

    /// The latest checkpoint.
    pub fn latest(&self) -> Option<Published> {
        self.read().latest.clone()
    }

    /// Tree size now (covered or not).
    pub fn size(&self) -> u64 {
        self.read().tree.size()
    }

    /// A consistency proof between two sizes of the current tree.
    ///
    /// # Errors
    /// Sizes outside the tree.
    pub fn consistency(&self, old: u64, new: u64) -> Result<Vec<Hash>, ProofError> {
        if old == 0 {
            return Ok(Vec::new());
        }
        self.read().tree.consistency(old, new)
    }

    /// Look up leaf `index` for a receipt.
    pub fn lookup(&self, index: u64) -> Lookup {
        let v = self.read();
        if index >= v.tree.size() {
            return Lookup::Missing;
        }
        let Some(line) = v.lines.get(&index).cloned() else {
            return Lookup::Pruned;
        };
        match &v.latest {
            Some(p) if index < p.size => {
                let proof = v.tree.inclusion(index, p.size);
                match proof {
                    Ok(proof) => Lookup::Covered {
                        receipt: super::receipt::Receipt::new(
                            index,
                            &line,
                            p,
                            &proof,
                            &self.verifier_key,
                        ),
                        line,
                    },
                    Err(_) => Lookup::Missing,
                }
            }
            _ => Lookup::Pending {
                line,
                // The writer always sets `due` while entries are uncovered; if it has not yet
                // (a race with the append), one interval from now is the bound.
                due: v.due.unwrap_or_else(SystemTime::now),
            },
        }
    }
}

/// The writer thread's transparency state.
pub struct Tlog {
    log_path: PathBuf,
    key: LogKey,
    settings: TlogSettings,
    shared: Arc<Shared>,
    tree_file: Option<File>,
    /// When the first uncovered entry was appended.
    pending_since: Option<Instant>,
    witnesses: Option<SyncSender<Published>>,
}

fn now_rfc3339() -> String {
    crate::registry::Timestamp::now().text().to_string()
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    match File::open(path) {
        Ok(mut f) => {
            let mut data = Vec::new();
            f.read_to_end(&mut data)
                .map_err(|e| StoreError::io(path, e))?;
            Ok(Some(data))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

/// The disclosure entries' (seq, line) of verified log bytes.
pub fn leaves<'a>(data: &'a [u8], v: &Verified) -> Vec<(u64, &'a [u8])> {
    data.split(|b| *b == b'\n')
        .zip(&v.entries)
        .filter(|(_, e)| e.disclosure.is_some())
        .map(|(line, e)| (e.seq, line))
        .collect()
}

/// Bring a tree up to date with a verified log: the tree must hold every pruned leaf, agree
/// with every kept line, and may lack only a tail, which is appended. Returns the stored
/// hashes that were added.
///
/// # Errors
/// The tree and the log disagree, or pruned leaves are missing.
pub fn reconcile(tree: &mut Tree, data: &[u8], v: &Verified) -> Result<usize, ReconcileError> {
    let pruned = v.checkpoint().map_or(0, |c| c.pruned_through_seq);
    let size = v.next_seq - 1;
    if tree.size() < pruned {
        return Err(ReconcileError::PrunedLeavesLost {
            leaves: tree.size(),
            pruned,
        });
    }
    if tree.size() > size {
        return Err(ReconcileError::EntriesRemoved {
            leaves: tree.size(),
            entries: size,
        });
    }
    let before = tree.stored().len();
    for (seq, line) in leaves(data, v) {
        let index = seq - 1;
        match tree.leaf(index) {
            Some(h) if h == leaf_hash(line) => {}
            Some(_) => return Err(ReconcileError::Rewritten { seq }),
            None => {
                tree.push(line)?;
            }
        }
    }
    Ok(tree.stored().len() - before)
}

/// Read `LOG.checkpoints`.
///
/// # Errors
/// Unreadable, or a line that is not a stored checkpoint (named by line).
pub fn read_checkpoints(path: &Path) -> Result<Vec<StoredCheckpoint>, StoreError> {
    let Some(data) = read_optional(path)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (i, line) in data.split(|b| *b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        out.push(serde_json::from_slice(line).map_err(|source| {
            StoreError::NotAStoredCheckpoint {
                path: path.to_path_buf(),
                line: i + 1,
                source,
            }
        })?);
    }
    Ok(out)
}

/// Replace a published file (checkpoint, public keys) atomically; others may read it.
pub(crate) fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    crate::files::atomic_replace(
        path,
        &super::sidecar(path, ".tmp"),
        bytes,
        crate::files::PUBLIC,
    )
    .map_err(|e| StoreError::io(path, e))
}

/// Before a prune removes lines: make `LOG.tree` hold every entry's hash, durably. A log that
/// was pruned before without a tree has no tree to keep; it is left so. The caller holds the
/// append lock.
///
/// # Errors
/// The tree and the log disagree, or I/O failure.
pub fn before_prune(log: &Path, data: &[u8], v: &Verified) -> Result<(), StoreError> {
    let path = tree_path(log);
    let existing = read_optional(&path)?;
    if existing.is_none() && v.checkpoint().is_some() {
        return Ok(());
    }
    let mut tree = Tree::from_bytes(existing.as_deref().unwrap_or_default());
    let kept = tree.stored().len();
    reconcile(&mut tree, data, v).map_err(|e| StoreError::reconcile(&path, e))?;
    // Extended in place, never replaced: a running writer holds this file open.
    let io = |e: std::io::Error| StoreError::io(&path, e);
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(io)?;
    let added: Vec<u8> = tree.stored()[kept..].iter().flat_map(|h| h.0).collect();
    file.set_len((kept * HASH_LEN) as u64)
        .and_then(|()| file.write_all_at(&added, (kept * HASH_LEN) as u64))
        .and_then(|()| file.sync_all())
        .map_err(io)
}

impl Tlog {
    /// Load the key. The tree is loaded by [`Self::sync`]; witnesses are attached by
    /// [`super::open_log`].
    ///
    /// # Errors
    /// The key file cannot be read or is not a log key.
    pub fn open(log_path: &Path, settings: TlogSettings) -> Result<Self, StoreError> {
        let key = LogKey::load(&settings.key)?;
        let shared = Arc::new(Shared {
            view: RwLock::new(View::default()),
            verifier_key: key.verifier_key().to_string(),
            auditors: settings.auditors.clone(),
        });
        Ok(Self {
            log_path: log_path.to_path_buf(),
            key,
            settings,
            shared,
            tree_file: None,
            pending_since: None,
            witnesses: None,
        })
    }

    /// Hand every published checkpoint to the witness thread from now on.
    pub fn set_witnesses(&mut self, tx: Option<SyncSender<Published>>) {
        self.witnesses = tx;
    }

    /// The readers' handle.
    pub fn shared(&self) -> Arc<Shared> {
        Arc::clone(&self.shared)
    }

    /// After the log was (re)loaded and verified: load or extend the tree so it covers every
    /// entry, and load the latest checkpoint. The caller holds the append lock.
    ///
    /// # Errors
    /// The tree or the stored checkpoints disagree with the log: disclosures must stop.
    pub fn sync(&mut self, data: &[u8], v: &Verified) -> Result<(), StoreError> {
        let path = tree_path(&self.log_path);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| StoreError::io(&path, e))?;
        let mut bytes = Vec::new();
        (&file)
            .read_to_end(&mut bytes)
            .map_err(|e| StoreError::io(&path, e))?;
        let mut tree = Tree::from_bytes(&bytes);
        let kept = tree.stored().len();
        reconcile(&mut tree, data, v).map_err(|e| StoreError::reconcile(&path, e))?;
        // Drop a torn tail, then write what the log adds.
        let io = |e: std::io::Error| StoreError::io(&path, e);
        file.set_len((kept * HASH_LEN) as u64).map_err(io)?;
        let added: Vec<u8> = tree.stored()[kept..].iter().flat_map(|h| h.0).collect();
        file.write_all_at(&added, (kept * HASH_LEN) as u64)
            .and_then(|()| file.sync_data())
            .map_err(io)?;
        let latest = self.load_latest(&tree)?;
        let mut lines = BTreeMap::new();
        for (seq, line) in leaves(data, v) {
            lines.insert(seq - 1, Arc::from(String::from_utf8_lossy(line).as_ref()));
        }
        let uncovered = tree.size() > latest.as_ref().map_or(0, |p| p.size);
        self.pending_since = uncovered.then(Instant::now);
        let mut view = self.shared.write();
        view.due = uncovered.then(|| SystemTime::now() + self.settings.checkpoint_interval);
        view.tree = tree;
        view.lines = lines;
        view.latest = latest;
        drop(view);
        self.tree_file = Some(file);
        Ok(())
    }

    /// The last stored checkpoint, which must describe this tree.
    fn load_latest(&self, tree: &Tree) -> Result<Option<Published>, StoreError> {
        let path = checkpoints_path(&self.log_path);
        let Some(last) = read_checkpoints(&path)?.pop() else {
            return Ok(None);
        };
        let body = super::note::peek_checkpoint(last.checkpoint.as_bytes()).map_err(|source| {
            StoreError::LastCheckpoint {
                path: path.clone(),
                source,
            }
        })?;
        let matches = body.size <= tree.size() && tree.root(body.size).ok() == Some(body.root);
        if !matches {
            return Err(StoreError::CheckpointMismatch {
                path,
                size: body.size,
            });
        }
        Ok(Some(Published {
            size: body.size,
            root: body.root,
            note: last.checkpoint,
        }))
    }

    /// After a log line is durable: add its leaf. `seq` must be the next leaf.
    ///
    /// # Errors
    /// The tree file cannot be written: further disclosures must stop (this one is logged).
    pub fn appended(&mut self, seq: u64, line: &[u8]) -> Result<(), StoreError> {
        let path = tree_path(&self.log_path);
        let mut view = self.shared.write();
        if seq != view.tree.size() + 1 {
            return Err(StoreError::NotNextLeaf {
                leaves: view.tree.size(),
                seq,
            });
        }
        let offset = (view.tree.stored().len() * HASH_LEN) as u64;
        let added: Vec<u8> = view.tree.push(line)?.iter().flat_map(|h| h.0).collect();
        view.lines
            .insert(seq - 1, Arc::from(String::from_utf8_lossy(line).as_ref()));
        if self.pending_since.is_none() {
            self.pending_since = Some(Instant::now());
            view.due = Some(SystemTime::now() + self.settings.checkpoint_interval);
        }
        drop(view);
        let file = self
            .tree_file
            .as_ref()
            .ok_or_else(|| StoreError::NotOpen { path: path.clone() })?;
        file.write_all_at(&added, offset)
            .map_err(|e| StoreError::io(&path, e))
    }

    /// Whether `checkpoint_every` entries are uncovered.
    pub fn batch_full(&self) -> bool {
        let v = self.shared.read();
        self.pending_since.is_some()
            && v.tree.size() - v.latest.as_ref().map_or(0, |p| p.size)
                >= self.settings.checkpoint_every
    }

    /// How long until the next checkpoint is due, if entries are uncovered.
    pub fn wait(&self) -> Option<Duration> {
        self.pending_since.map(|t| {
            self.settings
                .checkpoint_interval
                .saturating_sub(t.elapsed())
        })
    }

    /// Publish a checkpoint if one is due. The caller holds the append lock. A failure is
    /// logged and retried at the next interval: the entries stay logged, only their receipts
    /// wait.
    pub fn tick(&mut self) {
        let Some(since) = self.pending_since else {
            return;
        };
        let (size, covered) = {
            let v = self.shared.read();
            (v.tree.size(), v.latest.as_ref().map_or(0, |p| p.size))
        };
        let due = size.saturating_sub(covered) >= self.settings.checkpoint_every
            || since.elapsed() >= self.settings.checkpoint_interval;
        if !due {
            return;
        }
        match self.publish(size) {
            Ok(p) => {
                self.pending_since = None;
                let mut v = self.shared.write();
                v.latest = Some(p.clone());
                v.due = None;
                drop(v);
                // Logged once receipts can use it: whoever acts on this line (an operator, a
                // test) then finds the checkpoint served.
                tracing::info!(size = p.size, root = %p.root, "checkpoint published");
                if let Some(tx) = &self.witnesses {
                    // A full queue means the witness thread is behind; it sends the latest
                    // checkpoint when it catches up, which covers this one.
                    let _ = tx.try_send(p);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "checkpoint not published; retrying at the next interval");
                self.pending_since = Some(Instant::now());
                self.shared.write().due =
                    Some(SystemTime::now() + self.settings.checkpoint_interval);
            }
        }
    }

    fn publish(&self, size: u64) -> Result<Published, StoreError> {
        let path = tree_path(&self.log_path);
        // A checkpoint commits to the tree: the tree must be on disk first.
        if let Some(f) = &self.tree_file {
            f.sync_data().map_err(|e| StoreError::io(&path, e))?;
        }
        let root = self.shared.read().tree.root(size)?;
        let note = self.key.sign_checkpoint(size, &root)?;
        append_line(
            &checkpoints_path(&self.log_path),
            &StoredCheckpoint {
                time: now_rfc3339(),
                size,
                checkpoint: note.clone(),
            },
        )?;
        replace_file(&latest_path(&self.log_path), note.as_bytes())?;
        Ok(Published { size, root, note })
    }
}

/// The disclosure log drives the tree through this trait, so the log needs no knowledge of it.
impl crate::authority::log::TreeSink for Tlog {
    fn sync(&mut self, data: &[u8], v: &Verified) -> Result<(), TreeError> {
        Ok(Tlog::sync(self, data, v)?)
    }
    fn appended(&mut self, seq: u64, line: &[u8]) -> Result<(), TreeError> {
        Ok(Tlog::appended(self, seq, line)?)
    }
    fn wait(&self) -> Option<Duration> {
        Tlog::wait(self)
    }
    fn batch_full(&self) -> bool {
        Tlog::batch_full(self)
    }
    fn tick(&mut self) {
        Tlog::tick(self);
    }
}
