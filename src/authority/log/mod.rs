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

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::oneshot;

mod entry;
mod error;
mod lock;
mod prune;
mod verify;
mod writer;

use writer::Writer;

pub use entry::{sha256_hex, Checkpoint, Disclosure, Entry};
pub use error::{LogError, TreeError};
pub use lock::{append_lock, append_lock_path, writer_lock_path};
pub use prune::{prune, prune_plan, read_entries, Pruned};
pub use verify::{verify_bytes, verify_file, ChainError, Fault, HeadFound, Verified};

/// `prev` of the first entry of a log that was never pruned.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// How long a request waits for its entry to be made durable; after that it answers 503 and
/// discloses nothing (the entry may still be written later, which errs on the safe side).
pub const APPEND_TIMEOUT: Duration = Duration::from_secs(5);

/// Disclosures waiting for the writer at most; beyond that a request is refused at once rather
/// than queued behind a stuck disk.
pub const QUEUE_DEPTH: usize = 64;

pub use crate::policy::access::DisclosedContact;

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
    /// Stop disclosures for `error` (unless they were already stopped); the reason they are
    /// stopped, as requests are told it.
    fn fail(&self, error: LogError) -> LogError {
        let reason = error.to_string();
        if self.broken.set(reason.clone()).is_ok() {
            tracing::error!(reason = %reason, "authority disclosures are disabled until the disclosure log is repaired and the server restarted");
        }
        LogError::Broken(self.broken.get().cloned().unwrap_or(reason))
    }
}

/// One entry to append, and where to send the outcome.
pub(crate) struct Job {
    pub(crate) disclosure: Disclosure,
    pub(crate) reply: oneshot::Sender<Result<Entry, LogError>>,
}

/// What the writer tells a Merkle tree kept beside the log
/// ([`crate::authority::transparency`], issue #14). The log knows only this trait, so the
/// transparency code depends on the log and never the other way round.
pub trait TreeSink: Send {
    /// Bring the tree up to date with the verified log `data` (at start, after a prune).
    ///
    /// # Errors
    /// A tree that does not match the log.
    fn sync(&mut self, data: &[u8], v: &Verified) -> Result<(), TreeError>;
    /// One entry (its exact line, without the newline) is durable in the log.
    ///
    /// # Errors
    /// The tree could not follow; the log then stops disclosing.
    fn appended(&mut self, seq: u64, line: &[u8]) -> Result<(), TreeError>;
    /// How long until a checkpoint is due (`None`: nothing to publish).
    fn wait(&self) -> Option<Duration>;
    /// Whether enough entries wait for a checkpoint to publish one now.
    fn batch_full(&self) -> bool;
    /// Publish a checkpoint.
    fn tick(&mut self);
}

/// What `prune` tells a tree kept beside the log before the old entries go: given the log's
/// path, its bytes and their verification.
pub type BeforePrune<'a> = &'a dyn Fn(&Path, &[u8], &Verified) -> Result<(), TreeError>;

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
    pub fn open_with(path: &Path, tlog: Result<Option<Box<dyn TreeSink>>, TreeError>) -> Self {
        let status = Arc::new(Status::default());
        let tlog = tlog.unwrap_or_else(|e| {
            status.fail(LogError::TreeOpen(e));
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
                status.fail(LogError::Thread(e));
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
    ) -> Result<oneshot::Receiver<Result<Entry, LogError>>, LogError> {
        let (reply, rx) = oneshot::channel();
        let jobs = self.jobs.as_ref().ok_or(LogError::Closed)?;
        let job = Job { disclosure, reply };
        if blocking {
            jobs.send(job).map_err(|_| LogError::Stopped)?;
        } else {
            jobs.try_send(job).map_err(|e| match e {
                TrySendError::Full(_) => LogError::Busy,
                TrySendError::Disconnected(_) => LogError::Stopped,
            })?;
        }
        Ok(rx)
    }

    /// Append one disclosure and wait, at most `timeout`, until it is on stable storage.
    ///
    /// # Errors
    /// Why the entry is not known to be durable; nothing may be disclosed then.
    pub async fn append(
        &self,
        disclosure: Disclosure,
        timeout: Duration,
    ) -> Result<Entry, LogError> {
        let rx = self.submit(disclosure, false)?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(LogError::Stopped),
            Err(_) => Err(LogError::Timeout {
                secs: timeout.as_secs(),
            }),
        }
    }

    /// Append and wait without a deadline, from a thread that may block (tests, tools). Not
    /// for async workers.
    ///
    /// # Errors
    /// As [`Self::append`].
    pub fn append_blocking(&self, disclosure: Disclosure) -> Result<Entry, LogError> {
        let rx = self.submit(disclosure, true)?;
        rx.blocking_recv().map_err(|_| LogError::Stopped)?
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

/// Test fixtures shared by the log's tests and the modules that read its entries.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::registry::Timestamp;

    /// The disclosure fixture number `n`: request `r<n>`, case `CASE-<n>`, one registrant
    /// `C1-X` with its name disclosed; as an entry, seq `n`. Change what a test is about with
    /// the builder's methods, then take it [`build`](DisclosureFixture::build) or as an entry
    /// [`at`](DisclosureFixture::at) a time.
    pub(crate) fn disclosure(n: u32) -> DisclosureFixture {
        DisclosureFixture {
            seq: u64::from(n),
            disclosure: Disclosure {
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
                workflow: None,
            },
        }
    }

    /// A disclosure (and its entry's seq) being built; see [`disclosure`].
    #[derive(Debug, Clone)]
    pub(crate) struct DisclosureFixture {
        seq: u64,
        disclosure: Disclosure,
    }

    impl DisclosureFixture {
        /// The authority's name.
        pub(crate) fn authority(mut self, name: &str) -> Self {
            self.disclosure.authority = name.into();
            self
        }

        /// The credential id.
        pub(crate) fn credential(mut self, id: &str) -> Self {
            self.disclosure.credential_id = id.into();
            self
        }

        /// The stated purpose.
        pub(crate) fn purpose(mut self, purpose: &str) -> Self {
            self.disclosure.purpose = purpose.into();
            self
        }

        /// The credential's jurisdiction, as recorded.
        pub(crate) fn jurisdiction(mut self, jurisdiction: &str) -> Self {
            self.disclosure.jurisdiction = Some(jurisdiction.into());
            self
        }

        /// Withheld from the person concerned until `time` (any text; the log keeps it as is).
        pub(crate) fn withheld_until(mut self, time: &str) -> Self {
            self.disclosure.withheld_until = Some(time.into());
            self
        }

        /// The contacts disclosed instead of `C1-X`: each `(roid, fields)`, as registrant.
        pub(crate) fn contacts(mut self, contacts: &[(&str, &[&str])]) -> Self {
            self.disclosure.disclosed = contacts
                .iter()
                .map(|(roid, fields)| DisclosedContact {
                    roid: (*roid).into(),
                    role: "registrant".into(),
                    fields: fields.iter().map(|f| (*f).to_string()).collect(),
                })
                .collect();
            self
        }

        /// The entry's seq, when not `n`.
        pub(crate) fn seq(mut self, seq: u64) -> Self {
            self.seq = seq;
            self
        }

        /// The disclosure, to append.
        pub(crate) fn build(self) -> Disclosure {
            self.disclosure
        }

        /// The disclosure as an entry logged at `time` (RFC 3339 UTC), first after genesis and
        /// not sealed (empty hash).
        pub(crate) fn at(self, time: &str) -> Entry {
            Entry {
                seq: self.seq,
                time: time.into(),
                disclosure: Some(self.disclosure),
                checkpoint: None,
                salt: None,
                prev: GENESIS.into(),
                hash: String::new(),
            }
        }
    }

    pub(crate) fn ts(s: &str) -> Timestamp {
        crate::registry::validate::datetime(s).expect("date")
    }

    /// A valid chain with the given entry times (which tests may make old or out of order):
    /// the sealed entries, disclosures `0, 1, …` at seq `1, 2, …`, and the log's bytes.
    pub(crate) fn sealed_chain(times: &[&str]) -> (Vec<Entry>, Vec<u8>) {
        let (mut prev, mut entries, mut out) = (GENESIS.to_string(), Vec::new(), Vec::new());
        for (i, t) in times.iter().enumerate() {
            let mut e = disclosure(i as u32).seq(i as u64 + 1).at(t);
            e.prev = prev;
            let (e, line) = e.sealed();
            prev = e.hash.clone();
            entries.push(e);
            out.extend_from_slice(&line);
        }
        (entries, out)
    }

    /// The bytes of [`sealed_chain`].
    pub(crate) fn chain(times: &[&str]) -> Vec<u8> {
        sealed_chain(times).1
    }

    pub(crate) fn log_with(n: u32) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("disclosures.jsonl");
        let log = DisclosureLog::open(&path);
        for i in 0..n {
            log.append_blocking(disclosure(i).build()).expect("append");
        }
        log.close();
        (dir, path)
    }

    pub(crate) fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .expect("read")
            .lines()
            .map(String::from)
            .collect()
    }

    pub(crate) fn write_lines(path: &Path, lines: &[String]) {
        std::fs::write(
            path,
            lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
        )
        .expect("write");
    }
}
