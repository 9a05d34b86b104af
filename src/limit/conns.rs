//! The connection table of one protocol's listeners: the total cap, and who gives way when it
//! is reached.
//!
//! A per-client cap stops one address; it does nothing against many addresses that each hold a
//! few idle connections (20 addresses × 4 keep-alive connections fill 60 slots). So, as nginx
//! does when it runs out of connections, a new connection at the cap takes the place of the
//! connection that has been **idle longest**, and is refused only when every connection is
//! busy. Idle (pre-emptible) means waiting for a first byte: an RDAP keep-alive connection
//! waiting for its next request, or a port 43 connection that has not sent its query. A
//! connection receiving a request or writing an answer is never chosen.
//!
//! And the time a connection may stay silent shrinks as the table fills ([`ConnTable::allowance`]),
//! so silent connections turn over faster exactly when slots are scarce. Whatever the number of
//! addresses taking part, a newcomer finds a slot unless every slot is doing work.
//!
//! Bounded: one entry per open connection; a pre-empted connection closes at once (its task
//! wakes on its token), and at most [`MAX_PREEMPTING`] evictions are in progress at a time (a
//! newcomer past them is refused as at a full table), so the table runs over its cap by at
//! most that many descriptors, which the open-files reserve holds.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

/// Evictions in progress (pre-empted connections not closed yet) per table, at most.
pub const MAX_PREEMPTING: usize = 16;

/// One protocol's open connections.
#[derive(Debug)]
pub struct ConnTable {
    cap: usize,
    inner: Mutex<Inner>,
    preempted: AtomicU64,
}

#[derive(Debug, Default)]
struct Inner {
    open: usize,
    /// Pre-empted connections that have not closed yet.
    evicting: usize,
    next_id: u64,
    /// Pre-emptible connections, idle longest first: (idle since, id) → its token.
    idle: BTreeMap<(Instant, u64), CancellationToken>,
}

/// One open connection's place in the table; gives it back when dropped.
#[derive(Debug)]
pub struct ConnSlot {
    table: Arc<ConnTable>,
    id: u64,
    /// Set while the connection is registered as pre-emptible.
    idle_since: Option<Instant>,
    evicted: CancellationToken,
}

impl ConnTable {
    /// A table of at most `cap` connections (at least 1).
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            cap: cap.max(1),
            inner: Mutex::new(Inner::default()),
            preempted: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for a new connection, registered as pre-emptible (it has sent nothing yet):
    /// under the cap at once; at the cap by pre-empting the connection idle longest (the
    /// second value is then `true`); `None` when every connection is busy.
    pub fn admit(self: &Arc<Self>) -> Option<(ConnSlot, bool)> {
        let now = Instant::now();
        let mut inner = self.lock();
        let mut preempted = false;
        if inner.open >= self.cap {
            if inner.evicting >= MAX_PREEMPTING {
                return None;
            }
            let (_, victim) = inner.idle.pop_first()?;
            victim.cancel();
            inner.evicting += 1;
            preempted = true;
            self.preempted.fetch_add(1, Ordering::Relaxed);
        }
        inner.open += 1;
        inner.next_id += 1;
        let id = inner.next_id;
        let evicted = CancellationToken::new();
        inner.idle.insert((now, id), evicted.clone());
        drop(inner);
        Some((
            ConnSlot {
                table: Arc::clone(self),
                id,
                idle_since: Some(now),
                evicted,
            },
            preempted,
        ))
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.lock().open
    }

    /// Connections pre-empted since start.
    pub fn preempted(&self) -> u64 {
        self.preempted.load(Ordering::Relaxed)
    }

    /// How long a connection may wait for its first byte now: `base` while the table is at
    /// most half full, then shrinking in proportion to the free half, down to a tenth of
    /// `base` when it is full.
    pub fn allowance(&self, base: Duration) -> Duration {
        allowance(base, self.open(), self.cap)
    }
}

/// See [`ConnTable::allowance`]. Pure.
pub fn allowance(base: Duration, open: usize, cap: usize) -> Duration {
    let half = (cap / 2).max(1);
    if open <= half {
        return base;
    }
    let free = cap.saturating_sub(open);
    // free / half of base, at least a tenth.
    let scaled = base.mul_f64(free as f64 / half as f64);
    scaled.max(base / 10)
}

impl ConnSlot {
    /// The connection waits for a first byte again: it may be pre-empted from now on. Returns
    /// how long it may wait ([`ConnTable::allowance`] of `base`), read under the same lock: a
    /// keep-alive connection comes here after every answer.
    pub fn idle(&mut self, base: Duration) -> Duration {
        let mut inner = self.table.lock();
        if self.idle_since.is_none() && !self.evicted.is_cancelled() {
            let now = Instant::now();
            inner.idle.insert((now, self.id), self.evicted.clone());
            self.idle_since = Some(now);
        }
        allowance(base, inner.open, self.table.cap)
    }

    /// The connection is receiving a request or writing an answer: never pre-empted.
    pub fn busy(&mut self) {
        if let Some(since) = self.idle_since.take() {
            self.table.lock().idle.remove(&(since, self.id));
        }
    }

    /// How long this connection may wait for a first byte now (see [`ConnTable::allowance`]).
    pub fn allowance(&self, base: Duration) -> Duration {
        self.table.allowance(base)
    }

    /// Cancelled when a newcomer took this connection's place: close it as a read timeout.
    pub fn evicted(&self) -> &CancellationToken {
        &self.evicted
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        let mut inner = self.table.lock();
        if let Some(since) = self.idle_since.take() {
            inner.idle.remove(&(since, self.id));
        }
        if self.evicted.is_cancelled() {
            inner.evicting = inner.evicting.saturating_sub(1);
        }
        inner.open = inner.open.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_the_cap_the_connection_idle_longest_gives_way_and_busy_ones_never_do() {
        let table = ConnTable::new(3);
        let (mut a, p) = table.admit().expect("a");
        assert!(!p);
        std::thread::sleep(Duration::from_millis(2));
        let (b, _) = table.admit().expect("b");
        std::thread::sleep(Duration::from_millis(2));
        let (mut c, _) = table.admit().expect("c");
        // a is busy (receiving a request): b is the idle one waiting longest.
        a.busy();
        let (d, preempted) = table.admit().expect("d takes b's place");
        assert!(preempted);
        assert!(b.evicted().is_cancelled(), "b was pre-empted");
        assert!(!a.evicted().is_cancelled() && !c.evicted().is_cancelled());
        assert_eq!(table.preempted(), 1);
        drop(b);
        // c busy too, d idle: the next newcomer takes d's place.
        c.busy();
        let (_e, preempted) = table.admit().expect("e takes d's place");
        assert!(preempted && d.evicted().is_cancelled());
        drop(d);
        // Every connection busy: refused.
        let mut e = _e;
        e.busy();
        assert!(table.admit().is_none(), "all busy: refused");
        // One goes idle again and is the one to give way.
        a.idle(Duration::ZERO);
        assert!(table.admit().is_some());
        assert!(a.evicted().is_cancelled());
    }

    #[test]
    fn evictions_in_progress_are_bounded() {
        let table = ConnTable::new(1);
        let mut held = vec![table.admit().expect("first").0];
        for _ in 0..MAX_PREEMPTING {
            // Each newcomer pre-empts the last one, which has not closed yet.
            let (slot, preempted) = table.admit().expect("pre-empts");
            assert!(preempted);
            held.push(slot);
        }
        assert!(table.admit().is_none(), "past the bound: refused");
        // The pre-empted ones close: room to pre-empt again.
        let newest = held.pop().expect("newest");
        drop(held);
        assert_eq!(table.open(), 1);
        assert!(table.admit().is_some_and(|(_, p)| p));
        drop(newest);
    }

    #[test]
    fn slots_come_back_and_the_count_stays_exact() {
        let table = ConnTable::new(2);
        let (a, _) = table.admit().expect("a");
        let (mut b, _) = table.admit().expect("b");
        b.busy();
        b.idle(Duration::ZERO);
        b.busy();
        assert_eq!(table.open(), 2);
        drop(a);
        drop(b);
        assert_eq!(table.open(), 0);
        assert!(table.lock().idle.is_empty());
    }

    #[test]
    fn the_silence_allowed_shrinks_as_the_table_fills() {
        let base = Duration::from_secs(10);
        assert_eq!(allowance(base, 0, 100), base);
        assert_eq!(allowance(base, 50, 100), base);
        assert_eq!(allowance(base, 75, 100), Duration::from_secs(5));
        assert_eq!(allowance(base, 100, 100), Duration::from_secs(1));
        assert_eq!(allowance(base, 200, 100), Duration::from_secs(1));
        assert_eq!(allowance(base, 2, 2), Duration::from_secs(1));
    }
}
