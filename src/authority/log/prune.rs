//! Pruning old entries behind a checkpoint, and reading a log for reports.

use std::fs::File;
use std::path::Path;

use super::entry::{Checkpoint, Entry};
use super::lock::{append_lock, sidecar};
use super::verify::{parse_time, read_regular, verify_bytes, Verified};
use super::{BeforePrune, LogError};
use crate::registry::Timestamp;

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
) -> Result<Pruned, LogError> {
    if before > now {
        return Err(LogError::FutureDate { before: *before });
    }
    // The log must exist and be a regular file before any lock file is created next to it.
    let mut file = File::open(path).map_err(|e| LogError::io(path, e))?;
    read_regular(&mut file, path)?;
    let _guard = append_lock(path)?;
    // Read again under the lock: a writer may have appended while we waited.
    let mut file = File::open(path).map_err(|e| LogError::io(path, e))?;
    let data = read_regular(&mut file, path)?;
    let v = verify_bytes(&data).map_err(|e| LogError::chain(path, e))?;
    // Transparency: the tree keeps the hashes of the entries about to go.
    before_prune(path, &data, &v).map_err(LogError::Tree)?;
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
        Ok(_) => return Err(LogError::PruneMovedHead),
        Err(e) => return Err(LogError::PruneUnverified(e)),
    }
    crate::files::atomic_replace(
        path,
        &sidecar(path, ".prune-tmp"),
        &out,
        crate::files::PRIVATE,
    )
    .map_err(LogError::PruneReplace)?;
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
pub fn read_entries(path: &Path) -> Result<Vec<Entry>, LogError> {
    let mut f = File::open(path).map_err(|e| LogError::io(path, e))?;
    let data = read_regular(&mut f, path)?;
    let mut out = Vec::new();
    for (i, line) in data.split(|b| *b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        out.push(
            serde_json::from_slice(line).map_err(|source| LogError::Parse {
                path: path.to_path_buf(),
                line: i + 1,
                source,
            })?,
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{verify_file, DisclosureLog};
    use super::*;

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
        let head = log
            .append_blocking(disclosure(4).build())
            .expect("append")
            .hash;
        let now = Timestamp::now();
        assert!(
            prune(&path, &ts("2999-01-01T00:00:00Z"), &now, &|_, _, _| Ok(()))
                .expect_err("future")
                .to_string()
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
            log.append_blocking(disclosure(5).build())
                .expect("continues")
                .seq,
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
            log.append_blocking(disclosure(6).build())
                .expect("continues")
                .seq,
            6
        );
        // Removing the checkpoint is detected.
        let mut m = lines(&path);
        m.remove(0);
        write_lines(&path, &m);
        assert!(verify_file(&path)
            .expect_err("no checkpoint")
            .to_string()
            .contains("line 1"));
    }
}
