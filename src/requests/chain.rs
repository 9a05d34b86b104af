//! The record of requests: append-only JSON Lines, hash-chained like the disclosure log
//! ([`crate::authority::log`]): each [`Entry`] carries the SHA-256 of itself (with `hash`
//! empty) and its predecessor's hash. The requester's details and the justification are not in
//! it: only their hash, in the request's first entry ([`super::Details`]), so they can be erased
//! without breaking the chain.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::model::{Event, Record};
use crate::registry::Timestamp;

/// `prev` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One line of the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Entry {
    /// 1, 2, 3, …
    pub seq: u64,
    /// RFC 3339 UTC.
    pub time: String,
    /// The request's id.
    pub request: String,
    /// Who made the change (`None`: the requester's intake).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub officer: Option<String>,
    /// What changed.
    pub event: Event,
    /// The previous entry's hash.
    pub prev: String,
    /// This entry's hash.
    pub hash: String,
}

/// SHA-256 in lower-case hex.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

impl Entry {
    /// The hash this entry must carry.
    pub fn compute_hash(&self) -> String {
        let mut unhashed = self.clone();
        unhashed.hash = String::new();
        sha256_hex(&serde_json::to_vec(&unhashed).unwrap_or_default())
    }

    /// Set `hash`; the entry and its line (without a line ending).
    pub fn sealed(mut self) -> (Self, String) {
        self.hash = self.compute_hash();
        let line = serde_json::to_string(&self).unwrap_or_default();
        (self, line)
    }
}

/// Why the record does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// A line that is not an entry.
    #[error("line {line}: not a request record entry")]
    Syntax {
        /// 1-based.
        line: usize,
    },
    /// Its last line has no line ending (a write cut short).
    #[error("the last line is torn (no line ending): a write was cut short")]
    Torn,
    /// A seq out of order.
    #[error("line {line}: seq {found}, expected {expected}")]
    Seq {
        /// 1-based.
        line: usize,
        /// Found.
        found: u64,
        /// Expected.
        expected: u64,
    },
    /// A broken link or hash.
    #[error(
        "line {line} (seq {seq}): the hash chain is broken (entry edited, removed or inserted)"
    )]
    Hash {
        /// 1-based.
        line: usize,
        /// Its seq.
        seq: u64,
    },
    /// A checkpoint anywhere but on the first line, or one that does not verify.
    #[error("line {line}: a checkpoint that is not the record's first line, or is not sealed")]
    Checkpoint {
        /// 1-based.
        line: usize,
    },
    /// An event that does not belong to its request (an unknown id, a second filing).
    #[error("line {line} (seq {seq}): event for a request that was not filed, or filed twice")]
    Orphan {
        /// 1-based.
        line: usize,
        /// Its seq.
        seq: u64,
    },
}

/// Every request, as the verified record makes them.
#[derive(Debug, Clone, Default)]
pub struct Book {
    /// By id.
    pub records: BTreeMap<String, Record>,
    /// The last entry's hash.
    pub head: String,
    /// The next entry's seq.
    pub next_seq: u64,
    /// The checkpoint a prune left first, if any.
    pub checkpoint: Option<Entry>,
    /// Entries after the checkpoint.
    pub entries: u64,
}

impl Book {
    /// An empty record.
    pub fn empty() -> Self {
        Self {
            records: BTreeMap::new(),
            head: GENESIS.to_string(),
            next_seq: 1,
            checkpoint: None,
            entries: 0,
        }
    }

    /// Add a verified entry.
    fn apply(&mut self, e: &Entry, line: usize) -> Result<(), ChainError> {
        let at = crate::registry::validate::datetime(&e.time)
            .map_err(|_| ChainError::Syntax { line })?;
        let orphan = ChainError::Orphan { line, seq: e.seq };
        match &e.event {
            Event::Checkpoint(_) => return Err(ChainError::Checkpoint { line }),
            Event::Received(filed) => {
                if self.records.contains_key(&e.request) {
                    return Err(orphan);
                }
                self.records.insert(
                    e.request.clone(),
                    Record::new(&e.request, filed.clone(), at),
                );
            }
            other => {
                let r = self.records.get_mut(&e.request).ok_or(orphan)?;
                r.apply(other, at, e.officer.as_deref());
            }
        }
        self.head = e.hash.clone();
        self.next_seq = e.seq.saturating_add(1);
        self.entries += 1;
        Ok(())
    }

    /// The next entry for `request`, sealed and applied; its line.
    ///
    /// # Errors
    /// The event does not fit (a second filing, an unknown request).
    pub fn append(
        &mut self,
        request: &str,
        officer: Option<&str>,
        event: Event,
        now: Timestamp,
    ) -> Result<(Entry, String), ChainError> {
        let (entry, line) = Entry {
            seq: self.next_seq,
            time: now.text().to_string(),
            request: request.to_string(),
            officer: officer.map(str::to_string),
            event,
            prev: self.head.clone(),
            hash: String::new(),
        }
        .sealed();
        self.apply(&entry, 0)?;
        Ok((entry, line))
    }
}

/// Verify the record's bytes (JSON Lines) and fold them into a [`Book`].
///
/// # Errors
/// The first fault.
pub fn verify(data: &[u8]) -> Result<Book, ChainError> {
    let mut book = Book::empty();
    if data.is_empty() {
        return Ok(book);
    }
    if !data.ends_with(b"\n") {
        return Err(ChainError::Torn);
    }
    for (i, raw) in data.split(|b| *b == b'\n').enumerate() {
        if raw.is_empty() {
            continue;
        }
        let line = i + 1;
        let e: Entry = serde_json::from_slice(raw).map_err(|_| ChainError::Syntax { line })?;
        if matches!(e.event, Event::Checkpoint(_)) && book.next_seq == 1 && book.entries == 0 {
            // A pruned record: the checkpoint anchors what follows (its seq and prev are the
            // last pruned entry's).
            if book.checkpoint.is_some() || e.hash != e.compute_hash() {
                return Err(ChainError::Checkpoint { line });
            }
            book.head = e.prev.clone();
            book.next_seq = e
                .seq
                .checked_add(1)
                .ok_or(ChainError::Checkpoint { line })?;
            book.checkpoint = Some(e);
            continue;
        }
        if e.seq != book.next_seq {
            return Err(ChainError::Seq {
                line,
                found: e.seq,
                expected: book.next_seq,
            });
        }
        if e.prev != book.head || e.hash != e.compute_hash() {
            return Err(ChainError::Hash { line, seq: e.seq });
        }
        book.apply(&e, line)?;
    }
    Ok(book)
}

/// A filed request for the unit tests of the chain and of retention.
#[cfg(test)]
pub(super) fn filed() -> Event {
    use crate::requests::model::{Received, RequesterKind};
    Event::Received(Received {
        kind: RequesterKind::ThirdParty,
        purpose: "consumer-protection".into(),
        jurisdiction: "DE".into(),
        legal_basis: "b".into(),
        case_reference: "c".into(),
        urgent: None,
        objects: vec![],
        fields: None,
        token_sha256: "t".into(),
        credential: None,
        acknowledge_by: "2026-06-03T00:00:00Z".into(),
        respond_by: "2026-07-01T00:00:00Z".into(),
        details_sha256: "d".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines() -> Vec<String> {
        let now = crate::registry::validate::datetime("2026-06-01T00:00:00Z").expect("t");
        let mut book = Book::empty();
        vec![
            book.append("a", None, filed(), now).expect("1").1,
            book.append("a", Some("olga"), Event::Acknowledged, now)
                .expect("2")
                .1,
            book.append("b", None, filed(), now).expect("3").1,
        ]
    }

    fn join(lines: &[String]) -> Vec<u8> {
        lines
            .iter()
            .flat_map(|l| format!("{l}\n").into_bytes())
            .collect()
    }

    #[test]
    fn a_sound_record_verifies_and_folds() {
        let book = verify(&join(&lines())).expect("verifies");
        assert_eq!(book.records.len(), 2);
        assert_eq!(book.next_seq, 4);
        assert_eq!(
            book.records["a"].status,
            crate::requests::model::Status::Acknowledged
        );
        assert!(verify(b"").expect("empty").records.is_empty());
    }

    #[test]
    fn edits_removals_torn_lines_and_orphans_are_caught() {
        let l = lines();
        // Edited.
        let edited = l[1].replace("olga", "oleg");
        assert!(matches!(
            verify(&join(&[l[0].clone(), edited, l[2].clone()])),
            Err(ChainError::Hash { line: 2, .. })
        ));
        // Removed from the middle.
        assert!(matches!(
            verify(&join(&[l[0].clone(), l[2].clone()])),
            Err(ChainError::Seq { line: 2, .. })
        ));
        // Torn.
        let mut torn = join(&l);
        torn.pop();
        assert_eq!(verify(&torn).map(|_| ()), Err(ChainError::Torn));
        // A second filing of the same id.
        let now = crate::registry::validate::datetime("2026-06-01T00:00:00Z").expect("t");
        let mut book = Book::empty();
        book.append("a", None, filed(), now).expect("first");
        assert!(book.append("a", None, filed(), now).is_err());
        assert!(book.append("zz", None, Event::Acknowledged, now).is_err());
    }
}
