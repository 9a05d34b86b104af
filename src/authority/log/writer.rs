//! The writer thread: the one place that opens, checks and appends to a log file.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use super::entry::{hex, Entry};
use super::lock::{append_lock, open_lock_file, writer_lock_path};
use super::verify::{read_regular, verify_bytes};
use super::{Job, LogError, Status, TreeSink};
use crate::registry::Timestamp;

/// 128 random bits, hex: an entry's salt.
fn salt() -> Result<String, LogError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(LogError::Randomness)?;
    Ok(hex(&b))
}

fn now_rfc3339() -> String {
    Timestamp::now().text().to_string()
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
    fn load(path: &Path) -> Result<Self, LogError> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .map_err(|source| LogError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        // Read through the descriptor we will append to, so what we verify is what we extend.
        let data = read_regular(&mut file, path)?;
        let v = verify_bytes(&data).map_err(|source| LogError::Unverified {
            path: path.to_path_buf(),
            source,
        })?;
        let meta = file.metadata().map_err(|e| LogError::io(path, e))?;
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
pub(super) struct Writer {
    path: PathBuf,
    status: Arc<Status>,
    /// The writer lock, held for the writer's life once taken.
    owner: Option<File>,
    log: Option<OpenLog>,
    /// Transparency (issue #14): the Merkle tree and checkpoints, when a signing key is set.
    tlog: Option<Box<dyn TreeSink>>,
}

impl Writer {
    pub(super) fn start(path: &Path, status: Arc<Status>, tlog: Option<Box<dyn TreeSink>>) -> Self {
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
                w.status.fail(LogError::NotAFile {
                    path: path.to_path_buf(),
                });
                return w;
            }
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                w.status.fail(LogError::Stat {
                    path: path.to_path_buf(),
                    source: e,
                });
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
    fn take_ownership(&mut self) -> Result<bool, LogError> {
        let lock_path = writer_lock_path(&self.path);
        let f = open_lock_file(&lock_path).map_err(|e| LogError::io(&lock_path, e))?;
        match f.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                if !self.status.standby.swap(true, Ordering::Relaxed) {
                    tracing::warn!(lock = %lock_path.display(), "another rddsd process is the disclosure log's writer; this server refuses disclosures until that one stops");
                }
                return Ok(false);
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(LogError::Lock {
                    path: lock_path,
                    source: e,
                })
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

    pub(super) fn run(mut self, jobs: Receiver<Job>) {
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
    fn sync_tlog(&mut self) -> Result<(), LogError> {
        let Some(tlog) = self.tlog.as_mut() else {
            return Ok(());
        };
        let data = std::fs::read(&self.path).map_err(|e| LogError::io(&self.path, e))?;
        let v = verify_bytes(&data).map_err(|e| LogError::chain(&self.path, e))?;
        tlog.sync(&data, &v).map_err(LogError::Tree)
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
    fn append(&mut self, job: &Job) -> Option<Result<Entry, LogError>> {
        if let Some(b) = self.status.broken.get() {
            return Some(Err(LogError::Broken(b.clone())));
        }
        if self.owner.is_none() {
            match self.take_ownership() {
                Ok(true) => {}
                Ok(false) => return Some(Err(LogError::Standby)),
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
            return Some(Err(self.status.fail(LogError::NotOpen)));
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
            return Some(Err(self.status.fail(LogError::Write(e))));
        }
        log.len += line.len() as u64;
        log.head = entry.hash.clone();
        log.next_seq = entry.seq + 1;
        tracing::info!(seq = entry.seq, head = %entry.hash, "disclosure recorded");
        if let Some(tlog) = self.tlog.as_mut() {
            // The entry is durable and may be disclosed; a tree that cannot follow stops the
            // next disclosures instead.
            if let Err(e) = tlog.appended(entry.seq, &line[..line.len() - 1]) {
                self.status.fail(LogError::TreeFollow(e));
            }
        }
        if let Some(log) = self.log.as_mut() {
            log.last_line = line;
        }
        Some(Ok(entry))
    }

    /// Before each append (append lock held): is the file at the path still the one we verified
    /// and wrote, and unchanged? A new file is accepted only as a prune of our own chain.
    fn check_file(&mut self) -> Result<(), LogError> {
        let path = &self.path;
        let log = self.log.as_ref().ok_or(LogError::NotOpen)?;
        let at_path = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(LogError::Removed { path: path.clone() })
            }
            Err(e) => return Err(LogError::io(path, e)),
        };
        if (at_path.dev(), at_path.ino()) == (log.dev, log.ino) {
            let len = log
                .file
                .metadata()
                .map_err(|e| LogError::io(path, e))?
                .len();
            if len != log.len {
                return Err(LogError::Resized {
                    path: path.clone(),
                    expected: log.len,
                    found: len,
                });
            }
            if !log.last_line.is_empty() {
                let mut tail = vec![0; log.last_line.len()];
                let at = log.len - tail.len() as u64;
                log.file
                    .read_exact_at(&mut tail, at)
                    .map_err(|e| LogError::io(path, e))?;
                if tail != log.last_line {
                    return Err(LogError::TailAltered {
                        path: path.clone(),
                        seq: log.next_seq - 1,
                    });
                }
            }
            return Ok(());
        }
        // Another file at the path: only a prune of this very chain may replace it. Its chain
        // must end exactly at our head, which (hashes chaining back to the checkpoint's anchor)
        // means its kept entries are our tail and its anchor is the entry before the cut.
        let fresh = OpenLog::load(path).map_err(|e| LogError::Replaced {
            path: path.clone(),
            source: Box::new(e),
        })?;
        let is_prune = fresh.pruned && fresh.head == log.head && fresh.next_seq == log.next_seq;
        if !is_prune {
            return Err(LogError::NotAPrune {
                path: path.clone(),
                head: log.head.clone(),
                seq: log.next_seq.saturating_sub(1),
            });
        }
        tracing::info!(head = %fresh.head, "disclosure log was pruned; continuing its chain");
        self.log = Some(fresh);
        self.sync_tlog()
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{prune, verify_file, DisclosureLog, GENESIS};
    use super::*;

    #[test]
    fn a_fresh_chain_verifies_and_a_reopened_log_continues_it() {
        let (_d, path) = log_with(5);
        let v = verify_file(&path).expect("verifies");
        assert_eq!(v.entries.len(), 5);
        assert_eq!(v.next_seq, 6);
        assert_eq!(v.entries[0].prev, GENESIS);
        let log = DisclosureLog::open(&path);
        let e = log.append_blocking(disclosure(9).build()).expect("append");
        assert_eq!(e.seq, 6);
        assert_eq!(e.prev, v.head);
    }

    #[test]
    fn a_torn_log_refuses_further_disclosures() {
        let (_d, path) = log_with(2);
        let mut bytes = std::fs::read(&path).expect("read");
        bytes.truncate(bytes.len() - 5);
        std::fs::write(&path, &bytes).expect("write");
        let log = DisclosureLog::open(&path);
        assert!(log.broken().is_some_and(|b| b.contains("torn")));
        assert!(log.append_blocking(disclosure(3).build()).is_err());
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
            log.append_blocking(disclosure(0).build()).expect("append");
            log.append_blocking(disclosure(1).build()).expect("append");
            change(&path);
            let before = std::fs::read(&path).ok();
            assert!(
                log.append_blocking(disclosure(2).build()).is_err(),
                "{what}"
            );
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
            .append_blocking(disclosure(1).build())
            .expect_err("second writer")
            .to_string()
            .contains("another rddsd process"));
        assert_eq!(
            first
                .append_blocking(disclosure(2).build())
                .expect("first")
                .seq,
            2
        );
        first.close();
        assert_eq!(
            second
                .append_blocking(disclosure(3).build())
                .expect("took over")
                .seq,
            3
        );
        assert!(!second.is_standby());
        assert_eq!(verify_file(&path).expect("one chain").entries.len(), 3);
    }

    #[test]
    fn a_foreign_replacement_with_a_checkpoint_is_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("d.jsonl");
        std::fs::write(&path, chain(&["2020-01-01T00:00:00Z"])).expect("write");
        let log = DisclosureLog::open(&path);
        log.append_blocking(disclosure(1).build()).expect("append");
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
            .append_blocking(disclosure(2).build())
            .expect_err("foreign")
            .to_string()
            .contains("not a prune"));
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
                        log.append_blocking(disclosure(t * 100 + i).build())
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
