//! The disclosure log: append-only JSON Lines, hash-chained, made durable before any disclosed
//! byte leaves.
//!
//! Each line is one [`Entry`]. `hash` is the SHA-256 of the entry serialised with `hash` set to
//! the empty string; `prev` is the previous entry's `hash` (64 zeros for the first). Removing,
//! editing, reordering or inserting an entry breaks the chain; a line cut short by a crash has no
//! line ending and is reported as torn. Only the end of the log can be cut cleanly without a
//! trace in the file itself, so every append also logs the new head hash (tracing), and
//! `rddsd audit verify --head` checks against a head recorded elsewhere.
//!
//! `prune` cuts the longest prefix of entries older than a date and puts a checkpoint entry
//! first. The checkpoint names the last removed entry (seq, time, hash) and stands in for it:
//! the first kept entry chains from that hash, so the rest still verifies from there.
//!
//! Files next to the log `L`:
//! - `L.writer.lock`: one server holds an exclusive lock on it for its whole life, so two
//!   servers on one log (a rolling restart) never both append;
//! - `L.lock`: held briefly around each append and for the whole of a prune, so the two never
//!   interleave.
//!
//! A server appends from one dedicated thread; requests hand it their entry through a bounded
//! channel and wait for the reply with a deadline. Nothing blocking (file lock, fsync) ever runs
//! on an async worker, and the only state a request reads is atomic.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

use crate::registry::Timestamp;

/// `prev` of the first entry of a log that was never pruned.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// How long a request waits for its entry to be made durable; after that it answers 503 and
/// discloses nothing (the entry may still be written later, which errs on the safe side).
pub const APPEND_TIMEOUT: Duration = Duration::from_secs(5);

/// Disclosures waiting for the writer at most; beyond that a request is refused at once rather
/// than queued behind a stuck disk.
pub const QUEUE_DEPTH: usize = 64;

pub use crate::policy::access::DisclosedContact;

/// What one disclosure was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Disclosure {
    /// Request id, also sent to the authority.
    pub request_id: String,
    /// Authority name.
    pub authority: String,
    /// Credential id.
    pub credential_id: String,
    /// Client address as seen by the server.
    pub client: String,
    /// Stated purpose.
    pub purpose: String,
    /// Stated legal basis.
    pub legal_basis: String,
    /// Stated case reference.
    pub case_reference: String,
    /// The query path.
    pub query: String,
    /// Objects returned, e.g. `domain:D1002-EXAMPLE`.
    pub objects: Vec<String>,
    /// Per contact, the non-public fields disclosed.
    pub disclosed: Vec<DisclosedContact>,
    /// SHA-256 of the response body.
    pub response_sha256: String,
    /// The credential's jurisdiction, for reports (`audit stats --by jurisdiction`, the subject
    /// report). Absent in entries written before it was recorded; reports then look it up in
    /// the credentials file when they are given one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jurisdiction: Option<String>,
    /// RFC 3339 UTC time until which the authority asked that this disclosure be withheld from
    /// the person it concerns (`RDDS-Withhold-Until`): the subject report states only that an
    /// entry is withheld, and until when, before this time. Inside the hash chain like every
    /// other field, so it cannot be shortened or removed afterwards. Absent when not asked
    /// (and in entries written before it existed, which therefore hash and verify as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withheld_until: Option<String>,
    /// Which kind of credential was used: `registry` (issued by `rddsd authority add`) or `jwt`
    /// (from a trusted identity provider, RFC 9560). Absent in entries written before it was
    /// recorded (all of which used registry credentials), which therefore verify as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_kind: Option<String>,
    /// For a `jwt` credential: the identity provider (`iss`). Never the token itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// For a `jwt` credential: the officer as the identity provider names them (`sub`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// What a prune removed. The checkpoint entry stands in for the last removed entry: it carries
/// that entry's seq, its `prev` is that entry's hash, and the first kept entry chains from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Checkpoint {
    /// The prune date: only entries older than this were removed. Never later than the prune
    /// itself (the checkpoint entry's `time`).
    pub pruned_before: String,
    /// How many entries were removed since the log began (equal to the last removed seq).
    pub pruned_entries: u64,
    /// Sequence number of the last removed entry.
    pub pruned_through_seq: u64,
    /// Time of the last removed entry; older than `pruned_before`.
    pub pruned_through_time: String,
    /// Hash of the last removed entry: the anchor the rest of the log chains from.
    pub pruned_through_hash: String,
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Entry {
    /// Sequence number, one more than the previous entry's.
    pub seq: u64,
    /// RFC 3339 UTC time of the entry.
    pub time: String,
    /// A disclosure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disclosure: Option<Disclosure>,
    /// A prune checkpoint (only ever the first line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Checkpoint>,
    /// Random salt (hex), so the entry's Merkle leaf hash cannot be confirmed by guessing its
    /// contents (transparency, issue #14). Absent in entries written without transparency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// Hash of the previous entry.
    pub prev: String,
    /// Hash of this entry.
    pub hash: String,
}

fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// SHA-256 in lower-case hex.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

impl Entry {
    /// The hash this entry must carry.
    pub fn compute_hash(&self) -> String {
        let mut unhashed = self.clone();
        unhashed.hash = String::new();
        // Serialising plain strings and integers cannot fail.
        let bytes = serde_json::to_vec(&unhashed).unwrap_or_default();
        sha256_hex(&bytes)
    }

    /// Set `hash` and serialise as one line with its line ending.
    pub fn sealed(mut self) -> (Self, Vec<u8>) {
        self.hash = self.compute_hash();
        let mut line = serde_json::to_vec(&self).unwrap_or_default();
        line.push(b'\n');
        (self, line)
    }
}

/// Where and why a log fails verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ChainError {
    /// 1-based line of the first bad entry.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// A verified log: its entries and the state to continue it.
#[derive(Debug, Default)]
pub struct Verified {
    /// Every entry, in order.
    pub entries: Vec<Entry>,
    /// Hash the next entry must carry as `prev`.
    pub head: String,
    /// Sequence number of the next entry.
    pub next_seq: u64,
}

/// Where a head hash recorded elsewhere was found in a verified log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadFound {
    /// It is the log's current head: nothing was appended since it was recorded.
    Head {
        /// Its sequence number.
        seq: u64,
    },
    /// It is a kept entry; the log continues past it.
    Entry {
        /// Its sequence number.
        seq: u64,
        /// Its 1-based line.
        line: usize,
    },
    /// It is the last entry a prune removed, which the checkpoint on line 1 anchors.
    Anchor {
        /// Its sequence number.
        seq: u64,
        /// Whether it is also the head (nothing appended since the prune).
        is_head: bool,
    },
}

impl Verified {
    /// The checkpoint, when the log was pruned.
    pub fn checkpoint(&self) -> Option<&Checkpoint> {
        self.entries.first().and_then(|e| e.checkpoint.as_ref())
    }

    /// Number of disclosure entries.
    pub fn disclosures(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| e.disclosure.is_some())
            .count()
    }

    /// Find a head recorded elsewhere: any entry of the verified chain, or the checkpoint's
    /// anchor. A hash of any other pruned entry cannot be checked and is not found.
    pub fn find_head(&self, hash: &str) -> Option<HeadFound> {
        if let Some(cp) = self.checkpoint() {
            if cp.pruned_through_hash == hash {
                return Some(HeadFound::Anchor {
                    seq: cp.pruned_through_seq,
                    is_head: self.head == hash,
                });
            }
        }
        let (i, e) = self
            .entries
            .iter()
            .enumerate()
            .find(|(_, e)| e.disclosure.is_some() && e.hash == hash)?;
        Some(if self.head == hash {
            HeadFound::Head { seq: e.seq }
        } else {
            HeadFound::Entry {
                seq: e.seq,
                line: i + 1,
            }
        })
    }
}

fn parse_time(s: &str, what: &str) -> Result<Timestamp, String> {
    crate::registry::validate::datetime(s).map_err(|m| format!("{what}: {m}"))
}

/// Check a checkpoint entry (line 1) on its own: it may only cover entries older than its prune
/// date, the prune date may not be later than the prune itself, and it must stand in for the
/// last removed entry (same seq, `prev` = that entry's hash).
fn check_checkpoint(entry: &Entry, cp: &Checkpoint) -> Result<Timestamp, String> {
    let before = parse_time(&cp.pruned_before, "checkpoint prunedBefore")?;
    let through = parse_time(&cp.pruned_through_time, "checkpoint prunedThroughTime")?;
    let at = parse_time(&entry.time, "checkpoint time")?;
    if cp.pruned_through_seq == 0 || entry.seq != cp.pruned_through_seq {
        return Err(format!(
            "forged checkpoint: its seq {} is not the last pruned seq {}",
            entry.seq, cp.pruned_through_seq
        ));
    }
    if cp.pruned_entries != cp.pruned_through_seq {
        return Err(format!(
            "forged checkpoint: {} pruned entries cannot end at seq {}",
            cp.pruned_entries, cp.pruned_through_seq
        ));
    }
    if entry.prev != cp.pruned_through_hash {
        return Err("forged checkpoint: prev is not the hash of the last pruned entry".into());
    }
    if through >= before {
        return Err(format!(
            "forged checkpoint: the last pruned entry ({}) is not older than the prune date {}",
            cp.pruned_through_time, cp.pruned_before
        ));
    }
    if before > at {
        return Err(format!(
            "forged checkpoint: the prune date {} is later than the prune itself ({})",
            cp.pruned_before, entry.time
        ));
    }
    Ok(before)
}

/// Verify a whole log's bytes.
///
/// # Errors
/// The first bad entry.
pub fn verify_bytes(data: &[u8]) -> Result<Verified, ChainError> {
    let mut out = Verified {
        entries: Vec::new(),
        head: GENESIS.to_string(),
        next_seq: 1,
    };
    if data.is_empty() {
        return Ok(out);
    }
    let lines: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    let complete = lines.len() - 1; // the part after the last '\n' must be empty
    if !lines[complete].is_empty() {
        return Err(ChainError {
            line: complete + 1,
            reason: "torn entry: the last line has no line ending (a write was cut short)".into(),
        });
    }
    // The prune date of a checkpoint: the first kept entry may not be older (a prune cuts the
    // longest prefix of older entries, so the entry after the cut never is).
    let mut pruned_before: Option<Timestamp> = None;
    for (i, raw) in lines[..complete].iter().enumerate() {
        let line = i + 1;
        let bad = |reason: String| ChainError { line, reason };
        let entry: Entry =
            serde_json::from_slice(raw).map_err(|e| bad(format!("not a valid log entry: {e}")))?;
        if entry.compute_hash() != entry.hash {
            return Err(bad(format!(
                "entry seq {} was altered: its hash does not match its content",
                entry.seq
            )));
        }
        let time = parse_time(&entry.time, "time").map_err(bad)?;
        match (&entry.checkpoint, &entry.disclosure) {
            (Some(cp), None) => {
                if line != 1 {
                    return Err(bad("a checkpoint may only be the first entry".into()));
                }
                pruned_before = Some(check_checkpoint(&entry, cp).map_err(bad)?);
                out.head = entry.prev.clone();
                out.next_seq = cp.pruned_through_seq + 1;
                out.entries.push(entry);
                continue;
            }
            (None, Some(_)) => {}
            _ => {
                return Err(bad(
                    "an entry holds exactly one of disclosure or checkpoint".into(),
                ))
            }
        }
        if entry.prev != out.head {
            return Err(bad(format!(
                "chain broken at seq {}: prev does not match the hash of the entry before it (an entry was removed, inserted or reordered)",
                entry.seq
            )));
        }
        if entry.seq != out.next_seq {
            return Err(bad(format!(
                "sequence broken: expected seq {}, found {}",
                out.next_seq, entry.seq
            )));
        }
        if let Some(before) = pruned_before.take() {
            if time < before {
                return Err(bad(format!(
                    "entry seq {} is older than the checkpoint's prune date {}: the checkpoint does not match the entries it replaced",
                    entry.seq,
                    before.text()
                )));
            }
        }
        out.head = entry.hash.clone();
        out.next_seq = entry.seq + 1;
        out.entries.push(entry);
    }
    Ok(out)
}

/// Read all of an open file, refusing anything but a regular file (a directory, a device such
/// as `/dev/null`, a FIFO): only a regular file can hold a log.
fn read_regular(file: &mut File, path: &Path) -> Result<Vec<u8>, String> {
    let meta = file
        .metadata()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.is_dir() {
        return Err(format!(
            "{}: is a directory, not a disclosure log",
            path.display()
        ));
    }
    if !meta.is_file() {
        return Err(format!(
            "{}: not a regular file, so not a disclosure log",
            path.display()
        ));
    }
    let mut data = Vec::new();
    file.read_to_end(&mut data)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(data)
}

/// Read and verify a log file (the `audit` commands). A missing or unreadable file, a
/// directory or anything but a regular file is an error; an empty file is an empty log.
///
/// # Errors
/// Unreadable or non-regular file, or the first bad entry.
pub fn verify_file(path: &Path) -> Result<Verified, String> {
    let mut file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    read_regular(&mut file, path)?;
    // Read under the append lock when we can, so a running server's append in progress is not
    // mistaken for a torn line; a copy on read-only media is read without it.
    // The lock is held for the read only, not for the hashing: a long log must not hold up a
    // running server's appends (and its authority answers) while it is verified.
    let data = {
        let _guard = append_lock(path).ok();
        let mut file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        read_regular(&mut file, path)?
    };
    verify_bytes(&data).map_err(|e| format!("{}: {e}", path.display()))
}

/// 128 random bits, hex: an entry's salt.
fn salt() -> Result<String, String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)
        .map_err(|e| format!("no secure randomness for the entry's salt: {e}"))?;
    Ok(hex(&b))
}

fn now_rfc3339() -> String {
    Timestamp::now().text().to_string()
}

/// A file next to the log: `<log><suffix>`.
fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The lock held around each append and for a whole prune.
pub fn append_lock_path(path: &Path) -> PathBuf {
    sidecar(path, ".lock")
}

/// The lock a server holds for its life: one writer per log.
pub fn writer_lock_path(path: &Path) -> PathBuf {
    sidecar(path, ".writer.lock")
}

fn open_lock_file(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

/// Take the append/prune lock, waiting for it. Released when the returned file is dropped.
pub fn append_lock(path: &Path) -> Result<File, String> {
    let lock = append_lock_path(path);
    let f = open_lock_file(&lock).map_err(|e| format!("{}: {e}", lock.display()))?;
    match f.try_lock() {
        Ok(()) => return Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => {
            tracing::info!(lock = %lock.display(), "waiting for the disclosure log lock (a prune is running?)");
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(format!("cannot lock {}: {e}", lock.display()))
        }
    }
    f.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock.display()))?;
    Ok(f)
}

/// What requests may read about the writer: set only by the writer thread, read lock-free.
#[derive(Default)]
struct Status {
    /// Why disclosures are refused until an operator repairs the log and restarts.
    broken: OnceLock<String>,
    /// Another process holds the writer lock; this one refuses disclosures until it can take
    /// the lock over.
    standby: AtomicBool,
}

impl Status {
    fn fail(&self, reason: String) -> String {
        if self.broken.set(reason.clone()).is_ok() {
            tracing::error!(reason = %reason, "authority disclosures are disabled until the disclosure log is repaired and the server restarted");
        }
        self.broken.get().cloned().unwrap_or(reason)
    }
}

/// One entry to append, and where to send the outcome.
pub(crate) struct Job {
    pub(crate) disclosure: Disclosure,
    pub(crate) reply: oneshot::Sender<Result<Entry, String>>,
}

/// The log file as the writer last verified and wrote it.
struct OpenLog {
    file: File,
    dev: u64,
    ino: u64,
    /// Bytes the file holds: what we verified plus what we appended.
    len: u64,
    /// The last complete line, to check that the tail is still what we wrote.
    last_line: Vec<u8>,
    head: String,
    next_seq: u64,
    /// Whether the log starts with a prune checkpoint.
    pruned: bool,
}

impl OpenLog {
    /// Open (creating if missing) and verify a log. The caller holds the append lock.
    fn load(path: &Path) -> Result<Self, String> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| format!("cannot open disclosure log {}: {e}", path.display()))?;
        // Read through the descriptor we will append to, so what we verify is what we extend.
        let data = read_regular(&mut file, path)?;
        let v = verify_bytes(&data).map_err(|e| {
            format!(
                "disclosure log failed verification: {}: {e}",
                path.display()
            )
        })?;
        let meta = file
            .metadata()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let last_line = last_line(&data).to_vec();
        Ok(Self {
            file,
            dev: meta.dev(),
            ino: meta.ino(),
            len: data.len() as u64,
            last_line,
            pruned: v.checkpoint().is_some(),
            head: v.head,
            next_seq: v.next_seq,
        })
    }
}

/// The last complete line of verified log bytes, with its line ending.
fn last_line(data: &[u8]) -> &[u8] {
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    let start = body.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    &data[start..]
}

/// The writer thread's state. Only this thread touches the file.
struct Writer {
    path: PathBuf,
    status: Arc<Status>,
    /// The writer lock, held for the writer's life once taken.
    owner: Option<File>,
    log: Option<OpenLog>,
    /// Transparency (issue #14): the Merkle tree and checkpoints, when a signing key is set.
    tlog: Option<Box<dyn TreeSink>>,
}

/// What the writer tells a Merkle tree kept beside the log
/// ([`crate::authority::transparency`], issue #14). The log knows only this trait, so the
/// transparency code depends on the log and never the other way round.
pub trait TreeSink: Send {
    /// Bring the tree up to date with the verified log `data` (at start, after a prune).
    ///
    /// # Errors
    /// A tree that does not match the log.
    fn sync(&mut self, data: &[u8], v: &Verified) -> Result<(), String>;
    /// One entry (its exact line, without the newline) is durable in the log.
    ///
    /// # Errors
    /// The tree could not follow; the log then stops disclosing.
    fn appended(&mut self, seq: u64, line: &[u8]) -> Result<(), String>;
    /// How long until a checkpoint is due (`None`: nothing to publish).
    fn wait(&self) -> Option<Duration>;
    /// Whether enough entries wait for a checkpoint to publish one now.
    fn batch_full(&self) -> bool;
    /// Publish a checkpoint.
    fn tick(&mut self);
}

/// What `prune` tells a tree kept beside the log before the old entries go: given the log's
/// path, its bytes and their verification.
pub type BeforePrune<'a> = &'a dyn Fn(&Path, &[u8], &Verified) -> Result<(), String>;

impl Writer {
    fn start(path: &Path, status: Arc<Status>, tlog: Option<Box<dyn TreeSink>>) -> Self {
        let mut w = Self {
            path: path.to_path_buf(),
            status,
            owner: None,
            log: None,
            tlog,
        };
        // A device, directory or FIFO can never hold the chain: refuse before creating the lock
        // files next to it.
        match std::fs::metadata(path) {
            Ok(m) if !m.is_file() => {
                w.status.fail(format!(
                    "disclosure log {} is not a regular file",
                    path.display()
                ));
                return w;
            }
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                w.status
                    .fail(format!("disclosure log {}: {e}", path.display()));
                return w;
            }
            _ => {}
        }
        if let Err(e) = w.take_ownership() {
            w.status.fail(e);
        }
        w
    }

    /// Try to become the log's one writer; on success, load and verify the log. `Ok(false)`
    /// when another process is the writer.
    fn take_ownership(&mut self) -> Result<bool, String> {
        let lock_path = writer_lock_path(&self.path);
        let f = open_lock_file(&lock_path).map_err(|e| format!("{}: {e}", lock_path.display()))?;
        match f.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                if !self.status.standby.swap(true, Ordering::Relaxed) {
                    tracing::warn!(lock = %lock_path.display(), "another rddsd process is the disclosure log's writer; this server refuses disclosures until that one stops");
                }
                return Ok(false);
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(format!("cannot lock {}: {e}", lock_path.display()))
            }
        }
        let _guard = append_lock(&self.path)?;
        self.log = Some(OpenLog::load(&self.path)?);
        self.sync_tlog()?;
        self.owner = Some(f);
        if self.status.standby.swap(false, Ordering::Relaxed) {
            tracing::info!("this server is now the disclosure log's writer");
        }
        Ok(true)
    }

    fn run(mut self, jobs: Receiver<Job>) {
        loop {
            // Wake for a due checkpoint even when no disclosure comes.
            let wait = self.tlog.as_ref().and_then(|t| t.wait());
            let job = match wait {
                None => jobs.recv().ok(),
                Some(d) => match jobs.recv_timeout(d) {
                    Ok(job) => Some(job),
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => None,
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                },
            };
            if wait.is_none() && job.is_none() {
                break;
            }
            if let Some(job) = job {
                let result = self.append(&job);
                if let Some(result) = result {
                    // The requester may have given up (timeout): then it disclosed nothing.
                    let _ = job.reply.send(result);
                }
            }
            self.checkpoint_if_due();
        }
    }

    /// Transparency: after the log was (re)loaded, bring the tree up to date with it. The
    /// caller holds the append lock.
    fn sync_tlog(&mut self) -> Result<(), String> {
        let Some(tlog) = self.tlog.as_mut() else {
            return Ok(());
        };
        let data =
            std::fs::read(&self.path).map_err(|e| format!("{}: {e}", self.path.display()))?;
        let v = verify_bytes(&data).map_err(|e| format!("{}: {e}", self.path.display()))?;
        tlog.sync(&data, &v)
    }

    /// Transparency: publish a checkpoint when one is due, under the append lock (so a prune
    /// never runs meanwhile). Only the log's writer does.
    fn checkpoint_if_due(&mut self) {
        if self.owner.is_none() || self.status.broken.get().is_some() {
            return;
        }
        let Some(tlog) = self.tlog.as_mut() else {
            return;
        };
        if tlog.wait().is_none_or(|d| !d.is_zero()) && !tlog.batch_full() {
            return;
        }
        if let Ok(_guard) = append_lock(&self.path) {
            tlog.tick();
        }
    }

    /// `None` when the requester gave up before anything was written.
    fn append(&mut self, job: &Job) -> Option<Result<Entry, String>> {
        if let Some(b) = self.status.broken.get() {
            return Some(Err(b.clone()));
        }
        if self.owner.is_none() {
            match self.take_ownership() {
                Ok(true) => {}
                Ok(false) => {
                    return Some(Err(
                        "another rddsd process is writing this disclosure log".into()
                    ))
                }
                Err(e) => return Some(Err(self.status.fail(e))),
            }
        }
        let _guard = match append_lock(&self.path) {
            Ok(g) => g,
            Err(e) => return Some(Err(e)),
        };
        if job.reply.is_closed() {
            return None;
        }
        if let Err(e) = self.check_file() {
            return Some(Err(self.status.fail(e)));
        }
        let Some(log) = self.log.as_mut() else {
            return Some(Err(self.status.fail("disclosure log is not open".into())));
        };
        let salt = match self.tlog.as_ref().map(|_| salt()).transpose() {
            Ok(s) => s,
            Err(e) => return Some(Err(e)),
        };
        let entry = Entry {
            seq: log.next_seq,
            time: now_rfc3339(),
            disclosure: Some(job.disclosure.clone()),
            checkpoint: None,
            salt,
            prev: log.head.clone(),
            hash: String::new(),
        };
        let (entry, line) = entry.sealed();
        let written = log
            .file
            .write_all(&line)
            .and_then(|()| log.file.sync_data());
        if let Err(e) = written {
            // Part of the line may be on disk: take it back if we can; either way stop, as a
            // disk that failed once is not trusted with the next disclosure.
            let _ = log
                .file
                .set_len(log.len)
                .and_then(|()| log.file.sync_data());
            return Some(Err(self
                .status
                .fail(format!("disclosure log write failed: {e}"))));
        }
        log.len += line.len() as u64;
        log.head = entry.hash.clone();
        log.next_seq = entry.seq + 1;
        tracing::info!(seq = entry.seq, head = %entry.hash, "disclosure recorded");
        if let Some(tlog) = self.tlog.as_mut() {
            // The entry is durable and may be disclosed; a tree that cannot follow stops the
            // next disclosures instead.
            if let Err(e) = tlog.appended(entry.seq, &line[..line.len() - 1]) {
                self.status.fail(format!("disclosure log tree: {e}"));
            }
        }
        if let Some(log) = self.log.as_mut() {
            log.last_line = line;
        }
        Some(Ok(entry))
    }

    /// Before each append (append lock held): is the file at the path still the one we verified
    /// and wrote, and unchanged? A new file is accepted only as a prune of our own chain.
    fn check_file(&mut self) -> Result<(), String> {
        let path = &self.path;
        let log = self.log.as_ref().ok_or("disclosure log is not open")?;
        let at_path = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(format!(
                    "disclosure log {} was removed or renamed while the server ran",
                    path.display()
                ))
            }
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        if (at_path.dev(), at_path.ino()) == (log.dev, log.ino) {
            let len = log
                .file
                .metadata()
                .map_err(|e| format!("{}: {e}", path.display()))?
                .len();
            if len != log.len {
                return Err(format!(
                    "disclosure log {} changed behind the writer: {} bytes expected, {len} found (truncated or written by another program)",
                    path.display(),
                    log.len
                ));
            }
            if !log.last_line.is_empty() {
                let mut tail = vec![0; log.last_line.len()];
                let at = log.len - tail.len() as u64;
                log.file
                    .read_exact_at(&mut tail, at)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                if tail != log.last_line {
                    return Err(format!(
                        "disclosure log {}: the last entry (seq {}) was altered behind the writer",
                        path.display(),
                        log.next_seq - 1
                    ));
                }
            }
            return Ok(());
        }
        // Another file at the path: only a prune of this very chain may replace it. Its chain
        // must end exactly at our head, which (hashes chaining back to the checkpoint's anchor)
        // means its kept entries are our tail and its anchor is the entry before the cut.
        let fresh = OpenLog::load(path).map_err(|e| {
            format!(
                "disclosure log {} was replaced while the server ran: {e}",
                path.display()
            )
        })?;
        let is_prune = fresh.pruned && fresh.head == log.head && fresh.next_seq == log.next_seq;
        if !is_prune {
            return Err(format!(
                "disclosure log {} was replaced while the server ran by a file that is not a prune of its chain (expected head {} at seq {})",
                path.display(),
                log.head,
                log.next_seq.saturating_sub(1)
            ));
        }
        tracing::info!(head = %fresh.head, "disclosure log was pruned; continuing its chain");
        self.log = Some(fresh);
        self.sync_tlog()
    }
}

/// The server's handle on the log: a channel to the writer thread and its status.
pub struct DisclosureLog {
    jobs: Option<SyncSender<Job>>,
    status: Arc<Status>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DisclosureLog {
    /// Become the log's writer, verify the log (creating it if missing) and start the writer
    /// thread. A log that fails verification, or cannot be opened, is opened *broken*: the server
    /// runs and the authority route answers 503. When another process is the writer, this one
    /// refuses disclosures until it can take over.
    pub fn open(path: &Path) -> Self {
        Self::open_with(path, Ok(None))
    }

    /// [`Self::open`], with a Merkle tree kept beside the log (transparency, issue #14). A
    /// tree that could not be opened (`Err`) opens the log broken.
    pub fn open_with(path: &Path, tlog: Result<Option<Box<dyn TreeSink>>, String>) -> Self {
        let status = Arc::new(Status::default());
        let tlog = tlog.unwrap_or_else(|e| {
            status.fail(format!("transparency: {e}"));
            None
        });
        let writer = Writer::start(path, Arc::clone(&status), tlog);
        Self::spawn("disclosure-log", status, move |rx| writer.run(rx))
    }

    /// A log whose entries another writer makes durable (the cluster's log in PostgreSQL,
    /// [`crate::db::disclosures`]): `run` receives the jobs on a thread of its own, and
    /// requests wait for its replies exactly as for the file writer.
    pub(crate) fn with_writer(
        name: &str,
        run: impl FnOnce(Receiver<Job>) + Send + 'static,
    ) -> Self {
        Self::spawn(name, Arc::new(Status::default()), run)
    }

    /// Start the thread that makes entries durable; a thread that cannot start leaves the log
    /// refusing disclosures, with the reason.
    fn spawn(
        name: &str,
        status: Arc<Status>,
        run: impl FnOnce(Receiver<Job>) + Send + 'static,
    ) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE_DEPTH);
        let thread = match std::thread::Builder::new()
            .name(name.into())
            .spawn(move || run(rx))
        {
            Ok(t) => Some(t),
            Err(e) => {
                status.fail(format!("cannot start the disclosure log writer: {e}"));
                None
            }
        };
        Self {
            jobs: Some(tx),
            status,
            thread,
        }
    }

    /// Why disclosures are refused until repair, if they are. Lock-free.
    pub fn broken(&self) -> Option<String> {
        self.status.broken.get().cloned()
    }

    /// Whether another process is the log's writer (this one refuses disclosures meanwhile).
    pub fn is_standby(&self) -> bool {
        self.status.standby.load(Ordering::Relaxed)
    }

    fn submit(
        &self,
        disclosure: Disclosure,
        blocking: bool,
    ) -> Result<oneshot::Receiver<Result<Entry, String>>, String> {
        let (reply, rx) = oneshot::channel();
        let jobs = self.jobs.as_ref().ok_or("the disclosure log is closed")?;
        let job = Job { disclosure, reply };
        if blocking {
            jobs.send(job)
                .map_err(|_| "the disclosure log writer has stopped".to_string())?;
        } else {
            jobs.try_send(job).map_err(|e| match e {
                TrySendError::Full(_) => {
                    "the disclosure log writer is busy (queue full)".to_string()
                }
                TrySendError::Disconnected(_) => {
                    "the disclosure log writer has stopped".to_string()
                }
            })?;
        }
        Ok(rx)
    }

    /// Append one disclosure and wait, at most `timeout`, until it is on stable storage.
    ///
    /// # Errors
    /// Why the entry is not known to be durable; nothing may be disclosed then.
    pub async fn append(&self, disclosure: Disclosure, timeout: Duration) -> Result<Entry, String> {
        let rx = self.submit(disclosure, false)?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err("the disclosure log writer has stopped".into()),
            Err(_) => Err(format!(
                "the entry was not durable within {} s (is the log locked by a prune?)",
                timeout.as_secs()
            )),
        }
    }

    /// Append and wait without a deadline, from a thread that may block (tests, tools). Not
    /// for async workers.
    ///
    /// # Errors
    /// As [`Self::append`].
    pub fn append_blocking(&self, disclosure: Disclosure) -> Result<Entry, String> {
        let rx = self.submit(disclosure, true)?;
        rx.blocking_recv()
            .map_err(|_| "the disclosure log writer has stopped".to_string())?
    }

    /// Stop the writer after the queued entries and wait for it, releasing the writer lock.
    /// (Dropping the handle stops it too, but without waiting: shutdown must not wait on a
    /// writer stuck behind a prune's lock.)
    pub fn close(mut self) {
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What a prune did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pruned {
    /// Entries removed now.
    pub removed: u64,
    /// Disclosure entries kept.
    pub kept: u64,
}

/// Cut the longest prefix of disclosures older than `before` and put a checkpoint first, so the
/// rest still verifies. `before` may not be later than `now`: a prune removes old entries, never
/// recent ones. The log must verify first, and the new file must verify (ending at the same head)
/// before it replaces the old one atomically (temporary file, fsync, rename, fsync of the
/// directory). A running server's writer waits on the same lock meanwhile, then recognises the
/// new file as a prune of its chain.
///
/// # Errors
/// A date in the future, an unreadable or unverifiable log, or I/O failure; the log is then
/// unchanged.
pub fn prune(
    path: &Path,
    before: &Timestamp,
    now: &Timestamp,
    before_prune: BeforePrune<'_>,
) -> Result<Pruned, String> {
    if before > now {
        return Err(format!(
            "--before {} is in the future: a prune only removes entries older than now",
            before.text()
        ));
    }
    // The log must exist and be a regular file before any lock file is created next to it.
    let mut file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    read_regular(&mut file, path)?;
    let _guard = append_lock(path)?;
    // Read again under the lock: a writer may have appended while we waited.
    let mut file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let data = read_regular(&mut file, path)?;
    let v = verify_bytes(&data).map_err(|e| format!("{}: {e}", path.display()))?;
    // Transparency: the tree keeps the hashes of the entries about to go.
    before_prune(path, &data, &v)?;
    let lines: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    let first = usize::from(v.checkpoint().is_some());
    let total = (v.entries.len() - first) as u64;
    let Some((cut, checkpoint)) = prune_plan(&v, before, now) else {
        return Ok(Pruned {
            removed: 0,
            kept: total,
        });
    };
    let (_, mut out) = checkpoint.sealed();
    // Kept lines are copied byte for byte.
    for raw in &lines[first + cut..v.entries.len()] {
        out.extend_from_slice(raw);
        out.push(b'\n');
    }
    match verify_bytes(&out) {
        Ok(n) if n.head == v.head && n.next_seq == v.next_seq => {}
        Ok(_) => return Err("prune would change the log's head; log unchanged".into()),
        Err(e) => {
            return Err(format!(
                "prune produced a log that does not verify ({e}); log unchanged"
            ))
        }
    }
    crate::files::atomic_replace(
        path,
        &sidecar(path, ".prune-tmp"),
        &out,
        crate::files::PRIVATE,
    )
    .map_err(|e| format!("prune failed, log unchanged: {e}"))?;
    Ok(Pruned {
        removed: cut as u64,
        kept: total - cut as u64,
    })
}

/// What a prune of the verified log `v` removes: how many disclosure entries (the longest
/// prefix older than `before`), and the checkpoint (unsealed) that replaces them and any earlier
/// checkpoint. `None` when nothing is old enough. Shared by the file prune and the database's
/// ([`crate::db::disclosures`]), so both cut and anchor the same way.
pub fn prune_plan(v: &Verified, before: &Timestamp, now: &Timestamp) -> Option<(usize, Entry)> {
    let first = usize::from(v.checkpoint().is_some());
    // The longest prefix of older entries, not every older entry: after a clock step backwards
    // an older-looking entry can follow a newer one, and cutting it out would break the chain.
    let cut = v.entries[first..]
        .iter()
        .take_while(|e| parse_time(&e.time, "time").is_ok_and(|t| t < *before))
        .count();
    let last = v.entries.get(first + cut.checked_sub(1)?)?;
    Some((
        cut,
        Entry {
            seq: last.seq,
            time: now.text().to_string(),
            disclosure: None,
            salt: None,
            checkpoint: Some(Checkpoint {
                pruned_before: before.text().to_string(),
                pruned_entries: last.seq,
                pruned_through_seq: last.seq,
                pruned_through_time: last.time.clone(),
                pruned_through_hash: last.hash.clone(),
            }),
            prev: last.hash.clone(),
            hash: String::new(),
        },
    ))
}

/// Read a log for reporting (verification is `audit verify`'s job, but only a regular file is
/// a log).
///
/// # Errors
/// Unreadable or non-regular file, or an unparseable line.
pub fn read_entries(path: &Path) -> Result<Vec<Entry>, String> {
    let mut f = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let data = read_regular(&mut f, path)?;
    let mut out = Vec::new();
    for (i, line) in data.split(|b| *b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        out.push(
            serde_json::from_slice(line)
                .map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?,
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disclosure(n: u32) -> Disclosure {
        Disclosure {
            request_id: format!("r{n}"),
            authority: "Test Police".into(),
            credential_id: "c1".into(),
            client: "192.0.2.1".into(),
            purpose: "criminal-investigation".into(),
            legal_basis: "Code 1".into(),
            case_reference: format!("CASE-{n}"),
            query: "/authority/domain/x.example".into(),
            objects: vec!["domain:D1-X".into()],
            disclosed: vec![DisclosedContact {
                roid: "C1-X".into(),
                role: "registrant".into(),
                fields: vec!["name".into()],
            }],
            response_sha256: sha256_hex(b"body"),
            jurisdiction: None,
            withheld_until: None,
            credential_kind: None,
            issuer: None,
            subject: None,
        }
    }

    fn ts(s: &str) -> Timestamp {
        crate::registry::validate::datetime(s).expect("date")
    }

    /// A valid chain with the given entry times (which tests may make old or out of order).
    fn chain(times: &[&str]) -> Vec<u8> {
        let (mut prev, mut out) = (GENESIS.to_string(), Vec::new());
        for (i, t) in times.iter().enumerate() {
            let (e, line) = Entry {
                seq: i as u64 + 1,
                time: (*t).to_string(),
                disclosure: Some(disclosure(i as u32)),
                checkpoint: None,
                salt: None,
                prev: prev.clone(),
                hash: String::new(),
            }
            .sealed();
            prev = e.hash;
            out.extend_from_slice(&line);
        }
        out
    }

    fn log_with(n: u32) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("disclosures.jsonl");
        let log = DisclosureLog::open(&path);
        for i in 0..n {
            log.append_blocking(disclosure(i)).expect("append");
        }
        log.close();
        (dir, path)
    }

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .expect("read")
            .lines()
            .map(String::from)
            .collect()
    }

    fn write_lines(path: &Path, lines: &[String]) {
        std::fs::write(
            path,
            lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
        )
        .expect("write");
    }

    #[test]
    fn a_fresh_chain_verifies_and_a_reopened_log_continues_it() {
        let (_d, path) = log_with(5);
        let v = verify_file(&path).expect("verifies");
        assert_eq!(v.entries.len(), 5);
        assert_eq!(v.next_seq, 6);
        assert_eq!(v.entries[0].prev, GENESIS);
        let log = DisclosureLog::open(&path);
        let e = log.append_blocking(disclosure(9)).expect("append");
        assert_eq!(e.seq, 6);
        assert_eq!(e.prev, v.head);
    }

    #[test]
    fn every_kind_of_tampering_is_caught_at_the_right_line() {
        let (_d, path) = log_with(5);
        let orig = lines(&path);
        let check = |mutated: Vec<String>, line: usize, what: &str| {
            write_lines(&path, &mutated);
            let e = verify_bytes(&std::fs::read(&path).expect("read")).expect_err(what);
            assert_eq!(e.line, line, "{what}: {e}");
        };
        let mut m = orig.clone();
        m[2] = m[2].replace("CASE-2", "CASE-X");
        check(m, 3, "edit");
        let mut m = orig.clone();
        let mut e: Entry = serde_json::from_str(&m[2]).expect("entry");
        if let Some(d) = e.disclosure.as_mut() {
            d.case_reference = "CASE-X".into();
        }
        e.hash = e.compute_hash();
        m[2] = serde_json::to_string(&e).expect("json");
        check(m, 4, "edit and re-hash");
        let mut m = orig.clone();
        m.remove(1);
        check(m, 2, "delete");
        let mut m = orig.clone();
        m.swap(1, 2);
        check(m, 2, "reorder");
        let mut m = orig.clone();
        m.insert(1, orig[0].clone());
        check(m, 2, "insert");
        let mut bytes = orig
            .iter()
            .map(|l| format!("{l}\n"))
            .collect::<String>()
            .into_bytes();
        bytes.truncate(bytes.len() - 20);
        assert_eq!(verify_bytes(&bytes).expect_err("torn").line, 5);
        let mut m = orig.clone();
        m.remove(0);
        check(m, 1, "delete first");
    }

    #[test]
    fn only_a_regular_file_is_a_log() {
        let dir = tempfile::tempdir().expect("tmp");
        let missing = dir.path().join("missing.jsonl");
        assert!(verify_file(&missing).is_err(), "missing");
        assert!(verify_file(dir.path())
            .expect_err("directory")
            .contains("directory"));
        let null = dir.path().join("null.jsonl");
        std::os::unix::fs::symlink("/dev/null", &null).expect("symlink");
        assert!(verify_file(&null)
            .expect_err("device")
            .contains("not a regular file"));
        let empty = dir.path().join("empty.jsonl");
        std::fs::write(&empty, b"").expect("write");
        assert_eq!(verify_file(&empty).expect("empty log").entries.len(), 0);
        // The server refuses a device too, and creates no lock files next to it.
        let log = DisclosureLog::open(&null);
        assert!(log
            .broken()
            .is_some_and(|b| b.contains("not a regular file")));
        assert!(log.append_blocking(disclosure(1)).is_err());
        assert!(!writer_lock_path(&null).exists());
    }

    #[test]
    fn a_torn_log_refuses_further_disclosures() {
        let (_d, path) = log_with(2);
        let mut bytes = std::fs::read(&path).expect("read");
        bytes.truncate(bytes.len() - 5);
        std::fs::write(&path, &bytes).expect("write");
        let log = DisclosureLog::open(&path);
        assert!(log.broken().is_some_and(|b| b.contains("torn")));
        assert!(log.append_blocking(disclosure(3)).is_err());
        assert_eq!(std::fs::read(&path).expect("read"), bytes);
    }

    /// Each way the file can change behind a running writer stops disclosures, and nothing is
    /// appended to the changed file.
    #[test]
    fn the_writer_notices_its_file_changed() {
        type Change = fn(&Path);
        let changes: [(&str, Change); 5] = [
            ("replaced by an empty file", |p| {
                std::fs::rename(p, p.with_extension("old")).expect("rename");
                std::fs::write(p, b"").expect("create");
            }),
            ("removed", |p| std::fs::remove_file(p).expect("rm")),
            ("truncated", |p| {
                let data = std::fs::read(p).expect("read");
                std::fs::write(p, &data[..data.len() - 7]).expect("truncate");
            }),
            ("appended to by another program", |p| {
                let mut f = OpenOptions::new().append(true).open(p).expect("open");
                f.write_all(b"{}\n").expect("write");
            }),
            ("last entry altered in place", |p| {
                let text = std::fs::read_to_string(p).expect("read");
                let f = OpenOptions::new().write(true).open(p).expect("open");
                let at = text.rfind("CASE-1").expect("case");
                f.write_all_at(b"CASE-9", at as u64).expect("write");
            }),
        ];
        for (what, change) in changes {
            let (_d, path) = log_with(0);
            let log = DisclosureLog::open(&path);
            log.append_blocking(disclosure(0)).expect("append");
            log.append_blocking(disclosure(1)).expect("append");
            change(&path);
            let before = std::fs::read(&path).ok();
            assert!(log.append_blocking(disclosure(2)).is_err(), "{what}");
            assert!(log.broken().is_some(), "{what}");
            assert_eq!(
                std::fs::read(&path).ok(),
                before,
                "{what}: nothing appended"
            );
        }
    }

    #[test]
    fn one_writer_per_log_and_a_standby_takes_over() {
        let (_d, path) = log_with(1);
        let first = DisclosureLog::open(&path);
        let second = DisclosureLog::open(&path);
        assert!(second.is_standby() && second.broken().is_none());
        assert!(second
            .append_blocking(disclosure(1))
            .expect_err("second writer")
            .contains("another rddsd process"));
        assert_eq!(first.append_blocking(disclosure(2)).expect("first").seq, 2);
        first.close();
        assert_eq!(
            second
                .append_blocking(disclosure(3))
                .expect("took over")
                .seq,
            3
        );
        assert!(!second.is_standby());
        assert_eq!(verify_file(&path).expect("one chain").entries.len(), 3);
    }

    #[test]
    fn prune_cuts_the_oldest_prefix_and_the_writer_continues() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("d.jsonl");
        // A clock step backwards: entry 3 looks older than entry 2.
        std::fs::write(
            &path,
            chain(&[
                "2020-01-01T00:00:00Z",
                "2023-06-01T00:00:00Z",
                "2021-01-01T00:00:00Z",
            ]),
        )
        .expect("write");
        let log = DisclosureLog::open(&path);
        let head = log.append_blocking(disclosure(4)).expect("append").hash;
        let now = Timestamp::now();
        assert!(
            prune(&path, &ts("2999-01-01T00:00:00Z"), &now, &|_, _, _| Ok(()))
                .expect_err("future")
                .contains("future")
        );
        assert_eq!(
            prune(&path, &ts("2019-01-01T00:00:00Z"), &now, &|_, _, _| Ok(()))
                .expect("nothing old"),
            Pruned {
                removed: 0,
                kept: 4
            }
        );
        // Only entry 1 goes: entry 3 is older than the date but follows a newer one.
        assert_eq!(
            prune(&path, &ts("2022-01-01T00:00:00Z"), &now, &|_, _, _| Ok(())).expect("prune"),
            Pruned {
                removed: 1,
                kept: 3
            }
        );
        let v = verify_file(&path).expect("verifies");
        let cp = v.checkpoint().expect("checkpoint").clone();
        assert_eq!(
            (cp.pruned_through_seq, cp.pruned_through_time.as_str()),
            (1, "2020-01-01T00:00:00Z")
        );
        assert_eq!(v.head, head);
        // The running writer recognises the prune of its own chain and continues it.
        assert_eq!(
            log.append_blocking(disclosure(5)).expect("continues").seq,
            5
        );
        // A second prune, through the old entries.
        let p = prune(&path, &ts("2024-01-01T00:00:00Z"), &now, &|_, _, _| Ok(())).expect("prune");
        assert_eq!(
            p,
            Pruned {
                removed: 2,
                kept: 2
            }
        );
        let v = verify_file(&path).expect("verifies");
        assert_eq!(v.checkpoint().map(|c| c.pruned_entries), Some(3));
        assert_eq!(
            log.append_blocking(disclosure(6)).expect("continues").seq,
            6
        );
        // Removing the checkpoint is detected.
        let mut m = lines(&path);
        m.remove(0);
        write_lines(&path, &m);
        assert!(verify_file(&path)
            .expect_err("no checkpoint")
            .contains("line 1"));
    }

    #[test]
    fn a_foreign_replacement_with_a_checkpoint_is_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("d.jsonl");
        std::fs::write(&path, chain(&["2020-01-01T00:00:00Z"])).expect("write");
        let log = DisclosureLog::open(&path);
        log.append_blocking(disclosure(1)).expect("append");
        // Another log, validly pruned, moved into place.
        let other = dir.path().join("other.jsonl");
        std::fs::write(
            &other,
            chain(&["2020-02-01T00:00:00Z", "2030-01-01T00:00:00Z"]),
        )
        .expect("write");
        prune(
            &other,
            &ts("2021-01-01T00:00:00Z"),
            &Timestamp::now(),
            &|_, _, _| Ok(()),
        )
        .expect("prune");
        std::fs::rename(&other, &path).expect("rename");
        assert!(log
            .append_blocking(disclosure(2))
            .expect_err("foreign")
            .contains("not a prune"));
    }

    #[test]
    fn forged_checkpoints_are_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("d.jsonl");
        std::fs::write(
            &path,
            chain(&[
                "2020-01-01T00:00:00Z",
                "2021-01-01T00:00:00Z",
                "2026-01-01T00:00:00Z",
            ]),
        )
        .expect("write");
        prune(
            &path,
            &ts("2020-06-01T00:00:00Z"),
            &ts("2026-02-01T00:00:00Z"),
            &|_, _, _| Ok(()),
        )
        .expect("prune");
        let good = lines(&path);
        let forge = |f: &dyn Fn(&mut Entry)| {
            let mut m = good.clone();
            let mut cp: Entry = serde_json::from_str(&m[0]).expect("entry");
            f(&mut cp);
            cp.hash = cp.compute_hash();
            m[0] = serde_json::to_string(&cp).expect("json");
            write_lines(&path, &m);
            verify_file(&path).expect_err("forged")
        };
        // Claims to cover entries newer than the prune date.
        let e = forge(&|e| {
            if let Some(c) = e.checkpoint.as_mut() {
                c.pruned_through_time = "2020-07-01T00:00:00Z".into();
            }
        });
        assert!(e.contains("line 1") && e.contains("not older"), "{e}");
        // A prune date later than the prune.
        let e = forge(&|e| {
            if let Some(c) = e.checkpoint.as_mut() {
                c.pruned_before = "2027-01-01T00:00:00Z".into();
            }
        });
        assert!(e.contains("later than the prune"), "{e}");
        // A prune date after the first kept entry: it would hide it as "old".
        let e = forge(&|e| {
            e.time = "2026-03-01T00:00:00Z".into();
            if let Some(c) = e.checkpoint.as_mut() {
                c.pruned_before = "2021-06-01T00:00:00Z".into();
            }
        });
        assert!(
            e.contains("line 2") && e.contains("older than the checkpoint"),
            "{e}"
        );
        // Seq or anchor that does not match what follows.
        let e = forge(&|e| {
            e.seq = 2;
            if let Some(c) = e.checkpoint.as_mut() {
                c.pruned_through_seq = 2;
                c.pruned_entries = 2;
            }
        });
        assert!(e.contains("line 2") && e.contains("sequence"), "{e}");
        let e = forge(&|e| e.prev = "ab".repeat(32));
        assert!(e.contains("line 1") && e.contains("forged"), "{e}");
    }

    #[test]
    fn a_recorded_head_is_found_in_the_chain_or_as_the_anchor() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("d.jsonl");
        std::fs::write(
            &path,
            chain(&[
                "2020-01-01T00:00:00Z",
                "2020-02-01T00:00:00Z",
                "2026-01-01T00:00:00Z",
            ]),
        )
        .expect("write");
        let hashes: Vec<String> = verify_file(&path)
            .expect("verify")
            .entries
            .into_iter()
            .map(|e| e.hash)
            .collect();
        prune(
            &path,
            &ts("2021-01-01T00:00:00Z"),
            &Timestamp::now(),
            &|_, _, _| Ok(()),
        )
        .expect("prune");
        let v = verify_file(&path).expect("verify");
        assert_eq!(v.find_head(&hashes[0]), None, "pruned, not the anchor");
        assert_eq!(
            v.find_head(&hashes[1]),
            Some(HeadFound::Anchor {
                seq: 2,
                is_head: false
            })
        );
        assert_eq!(v.find_head(&hashes[2]), Some(HeadFound::Head { seq: 3 }));
        assert_eq!(v.find_head(&"0".repeat(64)), None);
    }

    #[test]
    fn concurrent_appends_chain_without_loss() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("d.jsonl");
        let log = Arc::new(DisclosureLog::open(&path));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let log = Arc::clone(&log);
                std::thread::spawn(move || {
                    for i in 0..25 {
                        log.append_blocking(disclosure(t * 100 + i))
                            .expect("append");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        let v = verify_file(&path).expect("verifies");
        assert_eq!(v.entries.len(), 200);
    }
}
