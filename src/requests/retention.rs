//! Retention and erasure of the request record (pure): which requests are closed long enough
//! for their details to go, how a prune cuts the front of the chain behind a checkpoint (as
//! `rddsd audit prune` does for the disclosure log), and what `rddsd requests verify` checks
//! of the details kept beside the chain.
//!
//! A prune removes the longest prefix of entries that all belong to requests closed before the
//! date, and only whole requests: an entry of a request that is still open (or approved and
//! valid, or closed later) is never removed, and neither is anything after it. The kept
//! entries are copied byte for byte after a checkpoint whose `seq` and `prev` are the last
//! pruned entry's, so the rest verifies and the chain's head does not move.

use std::collections::{BTreeSet, HashSet};

use super::chain::{self, Book, ChainError, Entry};
use super::model::{Checkpoint, Event, Record, Status};
use super::Details;
use crate::registry::Timestamp;

/// When a request closed: its last entry, or for an expired approval its `valid-until` if
/// later. `None` while open, or approved and still valid.
pub fn closed_at(r: &Record, now: Timestamp) -> Option<Timestamp> {
    match r.status_at(now) {
        Status::Denied | Status::Answered => Some(r.last_at),
        Status::Expired => Some(
            r.approval
                .as_ref()
                .map_or(r.last_at, |a| a.valid_until.max(r.last_at)),
        ),
        _ => None,
    }
}

/// Closed before `before`: its details may go, and its entries with it.
pub fn prunable(r: &Record, before: Timestamp, now: Timestamp) -> bool {
    closed_at(r, now).is_some_and(|t| t < before)
}

/// The requests whose details a prune at `before` removes.
pub fn details_to_prune(book: &Book, before: Timestamp, now: Timestamp) -> Vec<String> {
    book.records
        .values()
        .filter(|r| prunable(r, before, now))
        .map(|r| r.id.clone())
        .collect()
}

/// What a prune of the chain does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The checkpoint, sealed, and its line.
    pub checkpoint: (Entry, String),
    /// The new record: the checkpoint, then the kept lines byte for byte.
    pub bytes: Vec<u8>,
    /// Entries removed now.
    pub removed_entries: u64,
    /// Requests removed now (every entry of each).
    pub removed_requests: Vec<String>,
}

/// What a prune did, for the officer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Entries removed from the chain.
    pub entries: u64,
    /// Requests removed from the chain (every entry of each).
    pub requests: u64,
    /// Requests whose details were removed.
    pub details: u64,
    /// The checkpoint's seq (the last entry pruned), when the chain was cut.
    pub through_seq: Option<u64>,
}

/// Plan a prune of the record `data` at `before`. Verifies it first; the new bytes verify to
/// the same head and next seq (checked here).
///
/// # Errors
/// The record does not verify, or (a bug) the pruned one would not.
pub fn plan(
    data: &[u8],
    before: Timestamp,
    now: Timestamp,
    officer: &str,
) -> Result<(Book, Option<Plan>), ChainError> {
    let book = chain::verify(data)?;
    let mut lines: Vec<(Entry, &[u8])> = Vec::new();
    for (i, raw) in data.split(|b| *b == b'\n').enumerate() {
        if raw.is_empty() {
            continue;
        }
        let e: Entry =
            serde_json::from_slice(raw).map_err(|_| ChainError::Syntax { line: i + 1 })?;
        if !matches!(e.event, Event::Checkpoint(_)) {
            lines.push((e, raw));
        }
    }
    let ok: HashSet<&str> = book
        .records
        .values()
        .filter(|r| prunable(r, before, now))
        .map(|r| r.id.as_str())
        .collect();
    let mut cut = lines
        .iter()
        .take_while(|(e, _)| ok.contains(e.request.as_str()))
        .count();
    // Whole requests only: shrink the cut until no request has entries on both sides.
    loop {
        let after: HashSet<&str> = lines[cut..]
            .iter()
            .map(|(e, _)| e.request.as_str())
            .collect();
        match lines[..cut]
            .iter()
            .position(|(e, _)| after.contains(e.request.as_str()))
        {
            Some(p) => cut = p,
            None => break,
        }
    }
    let Some((last, _)) = cut.checked_sub(1).and_then(|i| lines.get(i)) else {
        return Ok((book, None));
    };
    let removed: BTreeSet<&str> = lines[..cut]
        .iter()
        .map(|(e, _)| e.request.as_str())
        .collect();
    let earlier = book.checkpoint.as_ref().map_or(0, |c| match &c.event {
        Event::Checkpoint(cp) => cp.pruned_requests,
        _ => 0,
    });
    let checkpoint = Entry {
        seq: last.seq,
        time: now.text().to_string(),
        request: String::new(),
        officer: Some(officer.to_string()),
        event: Event::Checkpoint(Checkpoint {
            pruned_before: before.text().to_string(),
            pruned_requests: earlier + removed.len() as u64,
            pruned_through_time: last.time.clone(),
        }),
        prev: last.hash.clone(),
        hash: String::new(),
    }
    .sealed();
    let mut bytes = Vec::with_capacity(data.len());
    bytes.extend_from_slice(checkpoint.1.as_bytes());
    bytes.push(b'\n');
    for (_, raw) in &lines[cut..] {
        bytes.extend_from_slice(raw);
        bytes.push(b'\n');
    }
    let after = chain::verify(&bytes)?;
    if after.head != book.head || after.next_seq != book.next_seq {
        return Err(ChainError::Checkpoint { line: 1 });
    }
    let plan = Plan {
        checkpoint,
        bytes,
        removed_entries: cut as u64,
        removed_requests: removed.into_iter().map(str::to_string).collect(),
    };
    Ok((book, Some(plan)))
}

/// What `verify` finds of one request's details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailsState {
    /// Kept, and matching the hash in the chain.
    Intact,
    /// Erased (an erasure entry in the chain).
    Erased,
    /// Gone from a closed request: retention.
    Pruned,
    /// Kept, and not matching their hash.
    Altered,
    /// Gone from an open request that was not erased.
    Missing,
    /// Still kept though the chain records their erasure.
    KeptAfterErasure,
}

impl DetailsState {
    /// Whether this is a fault `verify` reports.
    pub fn is_fault(self) -> bool {
        matches!(self, Self::Altered | Self::Missing | Self::KeptAfterErasure)
    }

    /// In the verdict.
    pub fn key(self) -> &'static str {
        match self {
            Self::Intact => "intact",
            Self::Erased => "erased",
            Self::Pruned => "removed by retention",
            Self::Altered => "do not match their hash",
            Self::Missing => "missing (open, not erased)",
            Self::KeptAfterErasure => "still kept after their erasure",
        }
    }
}

/// What is kept of `r`'s details, against the chain.
pub fn details_state(r: &Record, details: Option<&Details>) -> DetailsState {
    match (details, &r.erased) {
        (Some(_), Some(_)) => DetailsState::KeptAfterErasure,
        (Some(d), None) if d.sha256() == r.filed.details_sha256 => DetailsState::Intact,
        (Some(_), None) => DetailsState::Altered,
        (None, Some(_)) => DetailsState::Erased,
        (None, None) if r.status.is_open() => DetailsState::Missing,
        (None, None) => DetailsState::Pruned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requests::chain::filed;
    use crate::requests::model::DenyReason;

    fn at(s: &str) -> Timestamp {
        crate::registry::validate::datetime(s).expect("t")
    }

    fn deny() -> Event {
        Event::Denied {
            reason: DenyReason::Other,
            rationale: "r".into(),
        }
    }

    /// a: filed and denied first; c: filed before the open b, denied after b's filing; d:
    /// filed and denied in March.
    fn record() -> Vec<u8> {
        let mut book = Book::empty();
        let mut out = Vec::new();
        let mut push = |r: &str, e: Event, t: &str| {
            let (_, line) = book.append(r, Some("o"), e, at(t)).expect("append");
            out.extend_from_slice(line.as_bytes());
            out.push(b'\n');
        };
        push("a", filed(), "2026-01-01T00:00:00Z");
        push("a", deny(), "2026-01-02T00:00:00Z");
        push("c", filed(), "2026-01-03T00:00:00Z");
        push("b", filed(), "2026-01-04T00:00:00Z");
        push("c", deny(), "2026-01-05T00:00:00Z");
        push("d", filed(), "2026-03-01T00:00:00Z");
        push("d", deny(), "2026-03-02T00:00:00Z");
        out
    }

    #[test]
    fn a_prune_cuts_whole_closed_requests_from_the_front_and_keeps_the_open_ones() {
        let data = record();
        let now = at("2026-06-01T00:00:00Z");
        let before = at("2026-04-01T00:00:00Z");
        let (book, plan) = plan(&data, before, now, "olga").expect("plan");
        let plan = plan.expect("something to cut");
        // a goes; c was filed before the open b but denied after it: the cut stops at b.
        assert_eq!(plan.removed_requests, vec!["a".to_string()]);
        assert_eq!(plan.removed_entries, 2);
        let after = chain::verify(&plan.bytes).expect("verifies");
        assert_eq!(
            (after.head.as_str(), after.next_seq),
            (book.head.as_str(), 8)
        );
        assert_eq!(after.records.len(), 3);
        assert!(after.checkpoint.is_some());
        // Every closed request's details go, wherever its entries are.
        let mut d = details_to_prune(&book, before, now);
        d.sort();
        assert_eq!(d, vec!["a", "c", "d"]);
        // Nothing before the first entry: nothing to cut.
        assert!(plan_none(&data, "2026-01-01T00:00:00Z"));
        // A second prune of the pruned record: b still blocks the rest.
        let (_, second) = super::plan(&plan.bytes, before, now, "olga").expect("again");
        assert!(second.is_none(), "b still blocks the rest");
    }

    fn plan_none(data: &[u8], before: &str) -> bool {
        plan(data, at(before), at("2026-06-01T00:00:00Z"), "o")
            .expect("plan")
            .1
            .is_none()
    }

    #[test]
    fn a_checkpoint_only_anchors_the_first_line() {
        let data = record();
        let now = at("2026-06-01T00:00:00Z");
        let (_, plan) = plan(&data, at("2026-04-01T00:00:00Z"), now, "o").expect("plan");
        let bytes = plan.expect("cut").bytes;
        let text = String::from_utf8(bytes).expect("utf-8");
        let mut lines: Vec<&str> = text.lines().collect();
        // Removing the checkpoint breaks the chain.
        let without = format!("{}\n", lines[1..].join("\n"));
        assert!(chain::verify(without.as_bytes()).is_err());
        // A checkpoint moved after the first line is refused.
        lines.swap(0, 1);
        let moved = format!("{}\n", lines.join("\n"));
        assert!(chain::verify(moved.as_bytes()).is_err());
    }

    #[test]
    fn details_states() {
        let book = chain::verify(&record()).expect("verifies");
        let d = Details {
            name: "n".into(),
            email: "e@x".into(),
            organization: None,
            justification: "j".into(),
        };
        assert_eq!(
            details_state(&book.records["b"], None),
            DetailsState::Missing
        );
        assert_eq!(
            details_state(&book.records["a"], None),
            DetailsState::Pruned
        );
        assert_eq!(
            details_state(&book.records["a"], Some(&d)),
            DetailsState::Altered
        );
        let mut r = book.records["b"].clone();
        r.filed.details_sha256 = d.sha256();
        assert_eq!(details_state(&r, Some(&d)), DetailsState::Intact);
        r.apply(
            &Event::Erased { reason: "r".into() },
            at("2026-05-01T00:00:00Z"),
            Some("o"),
        );
        assert_eq!(details_state(&r, Some(&d)), DetailsState::KeptAfterErasure);
        assert_eq!(details_state(&r, None), DetailsState::Erased);
    }
}
