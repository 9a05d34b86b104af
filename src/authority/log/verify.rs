//! Verification of the hash chain: of a log's bytes, and of a log file.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::entry::{Checkpoint, Entry};
use super::lock::append_lock;
use super::{LogError, GENESIS};
use crate::registry::validate::Invalid;
use crate::registry::Timestamp;

/// Where and why a log fails verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ChainError {
    /// 1-based line of the first bad entry.
    pub line: usize,
    /// What is wrong.
    pub reason: Fault,
}

/// What is wrong with the first bad entry of a log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fault {
    /// The last line has no line ending.
    #[error("torn entry: the last line has no line ending (a write was cut short)")]
    Torn,
    /// The line is not an entry.
    #[error("not a valid log entry: {0}")]
    NotAnEntry(String),
    /// The hash does not match the content.
    #[error("entry seq {seq} was altered: its hash does not match its content")]
    Altered {
        /// The entry's seq.
        seq: u64,
    },
    /// A time field that is not RFC 3339.
    #[error("{field}: {source}")]
    Time {
        /// Which field.
        field: &'static str,
        /// Why.
        source: Invalid,
    },
    /// A checkpoint after line 1.
    #[error("a checkpoint may only be the first entry")]
    CheckpointNotFirst,
    /// Neither or both of disclosure and checkpoint.
    #[error("an entry holds exactly one of disclosure or checkpoint")]
    NotOneKind,
    /// `prev` is not the previous entry's hash.
    #[error("chain broken at seq {seq}: prev does not match the hash of the entry before it (an entry was removed, inserted or reordered)")]
    ChainBroken {
        /// The entry's seq.
        seq: u64,
    },
    /// A seq that does not follow the previous one.
    #[error("sequence broken: expected seq {expected}, found {found}")]
    Sequence {
        /// The seq that should follow.
        expected: u64,
        /// The seq found.
        found: u64,
    },
    /// The first kept entry is older than the checkpoint's prune date.
    #[error("entry seq {seq} is older than the checkpoint's prune date {before}: the checkpoint does not match the entries it replaced")]
    OlderThanCheckpoint {
        /// The entry's seq.
        seq: u64,
        /// The prune date.
        before: String,
    },
    /// A checkpoint whose seq is not the last pruned seq.
    #[error("forged checkpoint: its seq {seq} is not the last pruned seq {through}")]
    CheckpointSeq {
        /// The checkpoint entry's seq.
        seq: u64,
        /// The seq it says it pruned through.
        through: u64,
    },
    /// A checkpoint whose count does not end at its seq.
    #[error("forged checkpoint: {count} pruned entries cannot end at seq {through}")]
    CheckpointCount {
        /// Entries it says were pruned.
        count: u64,
        /// The seq it says it pruned through.
        through: u64,
    },
    /// A checkpoint whose `prev` is not its anchor.
    #[error("forged checkpoint: prev is not the hash of the last pruned entry")]
    CheckpointPrev,
    /// A checkpoint covering an entry not older than its prune date.
    #[error("forged checkpoint: the last pruned entry ({through}) is not older than the prune date {before}")]
    CheckpointNotOlder {
        /// Time of the last pruned entry.
        through: String,
        /// The prune date.
        before: String,
    },
    /// A prune date later than the prune.
    #[error("forged checkpoint: the prune date {before} is later than the prune itself ({at})")]
    CheckpointLater {
        /// The prune date.
        before: String,
        /// The checkpoint entry's time.
        at: String,
    },
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

pub(super) fn parse_time(s: &str, field: &'static str) -> Result<Timestamp, Fault> {
    crate::registry::validate::datetime(s).map_err(|source| Fault::Time { field, source })
}

/// Check a checkpoint entry (line 1) on its own: it may only cover entries older than its prune
/// date, the prune date may not be later than the prune itself, and it must stand in for the
/// last removed entry (same seq, `prev` = that entry's hash).
fn check_checkpoint(entry: &Entry, cp: &Checkpoint) -> Result<Timestamp, Fault> {
    let before = parse_time(&cp.pruned_before, "checkpoint prunedBefore")?;
    let through = parse_time(&cp.pruned_through_time, "checkpoint prunedThroughTime")?;
    let at = parse_time(&entry.time, "checkpoint time")?;
    if cp.pruned_through_seq == 0 || entry.seq != cp.pruned_through_seq {
        return Err(Fault::CheckpointSeq {
            seq: entry.seq,
            through: cp.pruned_through_seq,
        });
    }
    if cp.pruned_entries != cp.pruned_through_seq {
        return Err(Fault::CheckpointCount {
            count: cp.pruned_entries,
            through: cp.pruned_through_seq,
        });
    }
    if entry.prev != cp.pruned_through_hash {
        return Err(Fault::CheckpointPrev);
    }
    if through >= before {
        return Err(Fault::CheckpointNotOlder {
            through: cp.pruned_through_time.clone(),
            before: cp.pruned_before.clone(),
        });
    }
    if before > at {
        return Err(Fault::CheckpointLater {
            before: cp.pruned_before.clone(),
            at: entry.time.clone(),
        });
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
            reason: Fault::Torn,
        });
    }
    // The prune date of a checkpoint: the first kept entry may not be older (a prune cuts the
    // longest prefix of older entries, so the entry after the cut never is).
    let mut pruned_before: Option<Timestamp> = None;
    for (i, raw) in lines[..complete].iter().enumerate() {
        let line = i + 1;
        let bad = |reason: Fault| ChainError { line, reason };
        let entry: Entry =
            serde_json::from_slice(raw).map_err(|e| bad(Fault::NotAnEntry(e.to_string())))?;
        if entry.compute_hash() != entry.hash {
            return Err(bad(Fault::Altered { seq: entry.seq }));
        }
        let time = parse_time(&entry.time, "time").map_err(bad)?;
        match (&entry.checkpoint, &entry.disclosure) {
            (Some(cp), None) => {
                if line != 1 {
                    return Err(bad(Fault::CheckpointNotFirst));
                }
                pruned_before = Some(check_checkpoint(&entry, cp).map_err(bad)?);
                out.head = entry.prev.clone();
                out.next_seq = cp.pruned_through_seq + 1;
                out.entries.push(entry);
                continue;
            }
            (None, Some(_)) => {}
            _ => return Err(bad(Fault::NotOneKind)),
        }
        if entry.prev != out.head {
            return Err(bad(Fault::ChainBroken { seq: entry.seq }));
        }
        if entry.seq != out.next_seq {
            return Err(bad(Fault::Sequence {
                expected: out.next_seq,
                found: entry.seq,
            }));
        }
        if let Some(before) = pruned_before.take() {
            if time < before {
                return Err(bad(Fault::OlderThanCheckpoint {
                    seq: entry.seq,
                    before: before.text().to_string(),
                }));
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
pub(super) fn read_regular(file: &mut File, path: &Path) -> Result<Vec<u8>, LogError> {
    let meta = file.metadata().map_err(|e| LogError::io(path, e))?;
    if meta.is_dir() {
        return Err(LogError::Directory {
            path: path.to_path_buf(),
        });
    }
    if !meta.is_file() {
        return Err(LogError::NotRegular {
            path: path.to_path_buf(),
        });
    }
    let mut data = Vec::new();
    file.read_to_end(&mut data)
        .map_err(|e| LogError::io(path, e))?;
    Ok(data)
}

/// Read and verify a log file (the `audit` commands). A missing or unreadable file, a
/// directory or anything but a regular file is an error; an empty file is an empty log.
///
/// # Errors
/// Unreadable or non-regular file, or the first bad entry.
pub fn verify_file(path: &Path) -> Result<Verified, LogError> {
    let mut file = File::open(path).map_err(|e| LogError::io(path, e))?;
    read_regular(&mut file, path)?;
    // Read under the append lock when we can, so a running server's append in progress is not
    // mistaken for a torn line; a copy on read-only media is read without it.
    // The lock is held for the read only, not for the hashing: a long log must not hold up a
    // running server's appends (and its authority answers) while it is verified.
    let data = {
        let _guard = append_lock(path).ok();
        let mut file = File::open(path).map_err(|e| LogError::io(path, e))?;
        read_regular(&mut file, path)?
    };
    verify_bytes(&data).map_err(|e| LogError::chain(path, e))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{prune, writer_lock_path, DisclosureLog};
    use super::*;

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
            .to_string()
            .contains("directory"));
        let null = dir.path().join("null.jsonl");
        std::os::unix::fs::symlink("/dev/null", &null).expect("symlink");
        assert!(verify_file(&null)
            .expect_err("device")
            .to_string()
            .contains("not a regular file"));
        let empty = dir.path().join("empty.jsonl");
        std::fs::write(&empty, b"").expect("write");
        assert_eq!(verify_file(&empty).expect("empty log").entries.len(), 0);
        // The server refuses a device too, and creates no lock files next to it.
        let log = DisclosureLog::open(&null);
        assert!(log
            .broken()
            .is_some_and(|b| b.contains("not a regular file")));
        assert!(log.append_blocking(disclosure(1).build()).is_err());
        assert!(!writer_lock_path(&null).exists());
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
            verify_file(&path).expect_err("forged").to_string()
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
}
