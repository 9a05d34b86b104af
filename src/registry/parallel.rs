//! Work of a large load split over the cores: a few scoped threads, each with a share of
//! the work, every result handed back in order.
//!
//! The second pass of a ten-million-domain load fills hash maps of tens of millions of
//! entries; on one core it was half of the start-up time. The maps split by shard
//! ([`super::cowmap::CowMap::fill_in_parts`]), so each thread owns whole shards and needs no
//! lock. A thread that cannot be started does not fail the load: its share runs on the
//! calling thread, as the first pass's chunks do.

use std::num::NonZeroUsize;
use std::sync::mpsc::{sync_channel, SendError};

/// Most threads a step is split over: beyond this the merge of the results and the memory
/// bandwidth, not the cores, bound a step.
pub const MAX_PARTS: usize = 8;

/// How many parts a step is split into: one per core, at most [`MAX_PARTS`]. Unit tests
/// always split into three, so every test data set goes through the split and its merge
/// whatever machine runs them.
#[must_use]
pub fn parts() -> usize {
    if cfg!(test) {
        return 3;
    }
    std::thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .clamp(1, MAX_PARTS)
}

/// Run `work` on each item, each on a thread of its own (the last on the calling thread), and
/// return the results in the items' order. A panic in one is resumed here.
pub fn run_each<T: Send, R: Send>(items: Vec<T>, work: impl Fn(T) -> R + Sync) -> Vec<R> {
    let work = &work;
    std::thread::scope(|scope| {
        let mut items = items.into_iter();
        let last = items.next_back();
        let mut running = Vec::new();
        for item in items {
            // The item goes over a channel rather than into the closure, so that it is still
            // here when no thread can be started, and is then worked on this one.
            let (tx, rx) = sync_channel::<T>(1);
            let spawned = std::thread::Builder::new()
                .name("rddsd-index".into())
                .spawn_scoped(scope, move || rx.recv().ok().map(work));
            running.push(match spawned {
                Ok(handle) => match tx.send(item) {
                    Ok(()) => Slot::Running(handle),
                    Err(SendError(item)) => Slot::Done(work(item)),
                },
                Err(_) => Slot::Done(work(item)),
            });
        }
        let last = last.map(work);
        let mut results: Vec<R> = running
            .into_iter()
            .filter_map(|slot| match slot {
                Slot::Done(r) => Some(r),
                Slot::Running(handle) => match handle.join() {
                    // `None` only if the item never reached the thread, which the send rules out.
                    Ok(r) => r,
                    Err(panic) => std::panic::resume_unwind(panic),
                },
            })
            .collect();
        results.extend(last);
        results
    })
}

enum Slot<'scope, R> {
    Running(std::thread::ScopedJoinHandle<'scope, Option<R>>),
    Done(R),
}

/// Run `a` on another thread and `b` on this one, and return both results.
pub fn join<RA: Send, RB: Send>(
    a: impl FnOnce() -> RA + Send,
    b: impl FnOnce() -> RB + Send,
) -> (RA, RB) {
    enum Job<A, B> {
        A(A),
        B(B),
    }
    enum Out<A, B> {
        A(A),
        B(B),
    }
    let mut out = run_each(vec![Job::A(a), Job::B(b)], |job| match job {
        Job::A(a) => Out::A(a()),
        Job::B(b) => Out::B(b()),
    })
    .into_iter();
    match (out.next(), out.next()) {
        (Some(Out::A(a)), Some(Out::B(b))) => (a, b),
        // `run_each` returns one result per item, in order.
        _ => unreachable!("run_each returns its results in order"),
    }
}

/// `items` cut into `parts` runs of neighbouring items (as even as can be), each with the
/// index of its first item, for [`run_each`].
pub fn chunks_mut<T>(items: &mut [T], parts: usize) -> Vec<(usize, &mut [T])> {
    let size = items.len().div_ceil(parts.max(1)).max(1);
    items
        .chunks_mut(size)
        .enumerate()
        .map(|(n, chunk)| (n * size, chunk))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_order() {
        let out = run_each((0..7).collect(), |n: u32| n * 10);
        assert_eq!(out, vec![0, 10, 20, 30, 40, 50, 60]);
        assert_eq!(run_each(Vec::<u32>::new(), |n| n), Vec::<u32>::new());
        assert_eq!(join(|| "a", || 2), ("a", 2));
    }

    #[test]
    fn chunks_cover_every_item_once_with_their_offsets() {
        for len in [0usize, 1, 2, 3, 10, 11] {
            let mut items: Vec<usize> = (0..len).collect();
            let chunks = chunks_mut(&mut items, 3);
            assert!(chunks.len() <= 3);
            let mut seen = Vec::new();
            for (offset, chunk) in chunks {
                for (j, item) in chunk.iter().enumerate() {
                    assert_eq!(*item, offset + j);
                    seen.push(*item);
                }
            }
            assert_eq!(seen, (0..len).collect::<Vec<_>>());
        }
    }
}
