//! The disclosure log: append-only JSON Lines, hash-chained, flushed to stable storage before
//! any disclosed byte leaves.
//!
//! Each line is one [`Entry`]. `hash` is the SHA-256 of the entry serialised with `hash` set to
//! the empty string; `prev` is the previous entry's `hash` (64 zeros for the first). Removing,
//! editing, reordering or inserting an entry breaks the chain; a line cut short by a crash has no
//! line ending and is reported as torn. Only the end of the log can be cut cleanly without a
//! trace in the file itself, so every append also logs the new head hash (tracing), and
//! `rddsd audit verify --head` checks against a head recorded elsewhere.
//!
//! `prune` removes entries older than a date and puts a checkpoint entry first, whose `prev` is
//! the hash of the last removed entry: the remaining chain still verifies from there.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `prev` of the first entry of a log that was never pruned.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One contact's disclosed fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DisclosedContact {
    /// Contact ROID.
    pub roid: String,
    /// Role in the answer: registrant, technical or contact (an entity lookup).
    pub role: String,
    /// Personal fields that went out and are not public.
    pub fields: Vec<String>,
}

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
}

/// What a prune removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Checkpoint {
    /// Entries older than this were removed.
    pub pruned_before: String,
    /// How many.
    pub pruned_entries: u64,
    /// Sequence number of the last removed entry.
    pub pruned_through_seq: u64,
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
    /// Hash of the previous entry.
    pub prev: String,
    /// Hash of this entry.
    pub hash: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
    fn seal(mut self) -> (Self, Vec<u8>) {
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
        match (&entry.checkpoint, &entry.disclosure) {
            (Some(cp), None) => {
                if line != 1 {
                    return Err(bad("a checkpoint may only be the first entry".into()));
                }
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
        out.head = entry.hash.clone();
        out.next_seq = entry.seq + 1;
        out.entries.push(entry);
    }
    Ok(out)
}

/// Read and verify a log file. A missing file is an empty log; a non-regular file (such as a
/// device) is treated as empty and verified by nobody, which is only useful to simulate a full
/// disk with `/dev/full`.
///
/// # Errors
/// Unreadable file, or the first bad entry.
pub fn verify_file(path: &Path) -> Result<Verified, String> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Verified {
                head: GENESIS.into(),
                next_seq: 1,
                ..Verified::default()
            })
        }
        Err(e) => return Err(format!("{}: {e}", path.display())),
        Ok(m) if !m.is_file() => {
            return Ok(Verified {
                head: GENESIS.into(),
                next_seq: 1,
                ..Verified::default()
            })
        }
        Ok(_) => {}
    }
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    verify_bytes(&data).map_err(|e| format!("{}: {e}", path.display()))
}

fn now_rfc3339() -> String {
    crate::registry::Timestamp::now().as_str().to_string()
}

/// The server's handle on the log.
pub struct DisclosureLog {
    path: PathBuf,
    state: Mutex<State>,
}

struct State {
    file: Option<File>,
    /// Inode of the open file, to notice a prune that replaced it.
    ino: u64,
    head: String,
    next_seq: u64,
    /// Set when the log cannot be trusted to continue (torn tail, failed write): every later
    /// disclosure is refused until an operator repairs the log and reloads.
    broken: Option<String>,
}

fn open_append(path: &Path) -> std::io::Result<(File, u64)> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)?;
    let ino = file.metadata()?.ino();
    Ok((file, ino))
}

impl DisclosureLog {
    /// Open (creating if needed) and verify the log. A log that fails verification is opened
    /// *broken*: the server runs, and the authority route answers 503 until it is repaired.
    pub fn open(path: &Path) -> Self {
        let mut state = State {
            file: None,
            ino: 0,
            head: GENESIS.into(),
            next_seq: 1,
            broken: None,
        };
        match verify_file(path) {
            Err(e) => state.broken = Some(format!("disclosure log failed verification: {e}")),
            Ok(v) => {
                state.head = v.head;
                state.next_seq = v.next_seq;
                match open_append(path) {
                    Ok((f, ino)) => {
                        state.file = Some(f);
                        state.ino = ino;
                    }
                    Err(e) => {
                        state.broken = Some(format!(
                            "cannot open disclosure log {}: {e}",
                            path.display()
                        ))
                    }
                }
            }
        }
        if let Some(b) = &state.broken {
            tracing::error!(reason = %b, "authority disclosures are disabled");
        }
        Self {
            path: path.to_path_buf(),
            state: Mutex::new(state),
        }
    }

    /// Why disclosures are refused, if they are.
    pub fn broken(&self) -> Option<String> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .broken
            .clone()
    }

    /// Append one disclosure and flush it to stable storage. Entries never interleave: one
    /// writer at a time in this process (the mutex) and across processes (an exclusive file
    /// lock, which `audit prune` also takes).
    ///
    /// # Errors
    /// Why the entry could not be made durable; nothing may be disclosed then.
    pub fn append(&self, disclosure: Disclosure) -> Result<Entry, String> {
        let mut st = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(b) = &st.broken {
            return Err(b.clone());
        }
        let result = Self::append_locked(&self.path, &mut st, disclosure);
        if let Err(e) = &result {
            // A failed write may have left part of a line behind: stop until repaired.
            st.broken = Some(format!("disclosure log write failed: {e}"));
            tracing::error!(error = %e, "disclosure log write failed; authority disclosures are disabled");
        }
        result
    }

    fn append_locked(path: &Path, st: &mut State, disclosure: Disclosure) -> Result<Entry, String> {
        use std::os::unix::fs::MetadataExt;
        let file = st.file.as_ref().ok_or("disclosure log is not open")?;
        file.lock()
            .map_err(|e| format!("cannot lock the disclosure log: {e}"))?;
        // A prune may have replaced the file while we waited for the lock: continue the new one.
        let current = std::fs::metadata(path)
            .map(|m| m.ino())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if current != st.ino {
            let _ = file.unlock();
            let v = verify_file(path)?;
            let (f, ino) = open_append(path).map_err(|e| format!("{}: {e}", path.display()))?;
            f.lock()
                .map_err(|e| format!("cannot lock the disclosure log: {e}"))?;
            st.file = Some(f);
            st.ino = ino;
            st.head = v.head;
            st.next_seq = v.next_seq;
        }
        let entry = Entry {
            seq: st.next_seq,
            time: now_rfc3339(),
            disclosure: Some(disclosure),
            checkpoint: None,
            prev: st.head.clone(),
            hash: String::new(),
        };
        let (entry, line) = entry.seal();
        let file = st.file.as_mut().ok_or("disclosure log is not open")?;
        let written = file.write_all(&line).and_then(|()| file.sync_data());
        let _ = file.unlock();
        written.map_err(|e| e.to_string())?;
        st.head = entry.hash.clone();
        st.next_seq = entry.seq + 1;
        tracing::info!(seq = entry.seq, head = %entry.hash, "disclosure recorded");
        Ok(entry)
    }
}

/// Remove entries older than `before` (RFC 3339), leaving a checkpoint first so the rest still
/// verifies. The log must verify first; the rewrite is atomic (temporary file, fsync, rename).
///
/// # Errors
/// Unreadable or unverifiable log, or I/O failure; the log is then unchanged.
pub fn prune(path: &Path, before: &crate::registry::Timestamp) -> Result<(u64, u64), String> {
    let lock_file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    lock_file
        .lock()
        .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
    let v = verify_file(path)?;
    let is_old = |e: &Entry| {
        e.disclosure.is_some()
            && crate::registry::validate::datetime(&e.time)
                .map(|t| t < *before)
                .unwrap_or(false)
    };
    let old: Vec<&Entry> = v.entries.iter().filter(|e| is_old(e)).collect();
    let Some(last_old) = old.last() else {
        return Ok((
            0,
            v.entries.iter().filter(|e| e.disclosure.is_some()).count() as u64,
        ));
    };
    // Entries are in time order, so the old ones are a prefix (after any earlier checkpoint).
    let earlier = v
        .entries
        .first()
        .and_then(|e| e.checkpoint.as_ref())
        .map_or(0, |c| c.pruned_entries);
    let checkpoint = Entry {
        seq: last_old.seq,
        time: now_rfc3339(),
        disclosure: None,
        checkpoint: Some(Checkpoint {
            pruned_before: before.as_str().to_string(),
            pruned_entries: earlier + old.len() as u64,
            pruned_through_seq: last_old.seq,
        }),
        prev: last_old.hash.clone(),
        hash: String::new(),
    };
    let (_, mut out) = checkpoint.seal();
    let mut kept = 0u64;
    for e in v
        .entries
        .iter()
        .filter(|e| e.disclosure.is_some() && !is_old(e))
    {
        out.extend_from_slice(&serde_json::to_vec(e).unwrap_or_default());
        out.push(b'\n');
        kept += 1;
    }
    let tmp = path.with_extension("prune-tmp");
    let write = || -> std::io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(&out)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("prune failed, log unchanged: {e}")
    })?;
    let _ = lock_file.unlock();
    Ok((old.len() as u64, kept))
}

/// Read a log for reporting, line by line (verification is `audit verify`'s job).
///
/// # Errors
/// Unreadable file or unparseable line.
pub fn read_entries(path: &Path) -> Result<Vec<Entry>, String> {
    let f = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?;
        if line.is_empty() {
            continue;
        }
        out.push(
            serde_json::from_str(&line)
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
        }
    }

    fn log_with(n: u32) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("disclosures.jsonl");
        let log = DisclosureLog::open(&path);
        for i in 0..n {
            log.append(disclosure(i)).expect("append");
        }
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
    fn a_fresh_chain_verifies() {
        let (_d, path) = log_with(5);
        let v = verify_file(&path).expect("verifies");
        assert_eq!(v.entries.len(), 5);
        assert_eq!(v.next_seq, 6);
        assert_eq!(v.entries[0].prev, GENESIS);
        // Reopening continues the chain.
        let log = DisclosureLog::open(&path);
        let e = log.append(disclosure(9)).expect("append");
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
        // Edit a field of entry 3.
        let mut m = orig.clone();
        m[2] = m[2].replace("CASE-2", "CASE-X");
        check(m, 3, "edit");
        // Edit and re-hash entry 3: the next entry's prev no longer matches.
        let mut m = orig.clone();
        let mut e: Entry = serde_json::from_str(&m[2]).expect("entry");
        if let Some(d) = e.disclosure.as_mut() {
            d.case_reference = "CASE-X".into();
        }
        e.hash = e.compute_hash();
        m[2] = serde_json::to_string(&e).expect("json");
        check(m, 4, "edit and re-hash");
        // Delete entry 2.
        let mut m = orig.clone();
        m.remove(1);
        check(m, 2, "delete");
        // Reorder entries 2 and 3.
        let mut m = orig.clone();
        m.swap(1, 2);
        check(m, 2, "reorder");
        // Insert a copy of entry 1 after it.
        let mut m = orig.clone();
        m.insert(1, orig[0].clone());
        check(m, 2, "insert");
        // Truncate the last entry mid-line.
        let mut bytes = orig
            .iter()
            .map(|l| format!("{l}\n"))
            .collect::<String>()
            .into_bytes();
        bytes.truncate(bytes.len() - 20);
        std::fs::write(&path, &bytes).expect("write");
        assert_eq!(verify_bytes(&bytes).expect_err("torn").line, 5);
        // Delete the first entry.
        let mut m = orig.clone();
        m.remove(0);
        check(m, 1, "delete first");
    }

    #[test]
    fn a_torn_log_refuses_further_disclosures() {
        let (_d, path) = log_with(2);
        let mut bytes = std::fs::read(&path).expect("read");
        bytes.truncate(bytes.len() - 5);
        std::fs::write(&path, &bytes).expect("write");
        let log = DisclosureLog::open(&path);
        assert!(log.broken().is_some_and(|b| b.contains("torn")));
        assert!(log.append(disclosure(3)).is_err());
        assert_eq!(
            std::fs::read(&path).expect("read"),
            bytes,
            "nothing appended to a torn log"
        );
    }

    #[test]
    fn a_full_disk_fails_the_append() {
        let log = DisclosureLog::open(Path::new("/dev/full"));
        assert!(log.append(disclosure(1)).is_err());
        assert!(log.broken().is_some());
    }

    #[test]
    fn prune_keeps_the_rest_verifiable() {
        let (_d, path) = log_with(4);
        let future = crate::registry::validate::datetime("2999-01-01T00:00:00Z").expect("date");
        let past = crate::registry::validate::datetime("2000-01-01T00:00:00Z").expect("date");
        assert_eq!(prune(&path, &past).expect("prune"), (0, 4));
        // Prune everything, then keep appending: the chain continues from the checkpoint.
        assert_eq!(prune(&path, &future).expect("prune"), (4, 0));
        let v = verify_file(&path).expect("verifies after prune");
        assert_eq!(v.entries.len(), 1);
        assert_eq!(
            v.entries[0].checkpoint.as_ref().map(|c| c.pruned_entries),
            Some(4)
        );
        let log = DisclosureLog::open(&path);
        assert_eq!(log.append(disclosure(5)).expect("append").seq, 5);
        let v = verify_file(&path).expect("verifies");
        assert_eq!(v.entries.len(), 2);
        // Removing the checkpoint is detected.
        let mut m = lines(&path);
        m.remove(0);
        write_lines(&path, &m);
        assert!(verify_file(&path)
            .expect_err("no checkpoint")
            .contains("line 1"));
    }

    #[test]
    fn concurrent_appends_chain_without_loss() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("d.jsonl");
        let log = std::sync::Arc::new(DisclosureLog::open(&path));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let log = std::sync::Arc::clone(&log);
                std::thread::spawn(move || {
                    for i in 0..25 {
                        log.append(disclosure(t * 100 + i)).expect("append");
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
