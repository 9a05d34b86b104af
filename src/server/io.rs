//! Deadlines on a connection's reads and writes, and its place in the connection table.
//!
//! A connection is always in one of three states, seen from its reads:
//! - **waiting** for the first byte of a request (just accepted, or a keep-alive connection
//!   after its answer): pre-emptible ([`ConnSlot::idle`]) and given the table's shrinking
//!   allowance ([`crate::limit::conns::ConnTable::allowance`]) of the keep-alive time;
//! - **receiving** a request (head and body): one deadline for the whole request, counted from
//!   its first byte and not extended by later bytes, so a slow body cannot hold a slot either;
//! - **answering** (a request in flight, or its answer still being written): no read deadline,
//!   since an answer may legitimately take a while (an authority disclosure waiting for the
//!   log); never pre-empted.
//!
//! A write that makes no progress for `write` (a client that pipelines requests and never
//! reads) fails with `TimedOut`. A waiting connection whose slot is taken by a newcomer ends
//! with `ConnectionAborted` at once.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;
use tokio_util::sync::WaitForCancellationFutureOwned;

use crate::limit::conns::ConnSlot;

/// Requests being answered on one connection, and how many were ever started; the idle rule
/// applies only at zero.
#[derive(Debug, Clone, Default)]
pub struct InFlight(Arc<Counts>);

#[derive(Debug, Default)]
struct Counts {
    now: AtomicUsize,
    started: AtomicUsize,
}

impl InFlight {
    /// Count one request until the guard is dropped.
    pub fn start(&self) -> InFlightGuard {
        self.0.started.fetch_add(1, Ordering::AcqRel);
        self.0.now.fetch_add(1, Ordering::AcqRel);
        InFlightGuard(Arc::clone(&self.0))
    }

    fn busy(&self) -> bool {
        self.0.now.load(Ordering::Acquire) > 0
    }

    fn started(&self) -> usize {
        self.0.started.load(Ordering::Acquire)
    }
}

/// One request in flight.
#[derive(Debug)]
pub struct InFlightGuard(Arc<Counts>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Where a connection is, seen from its reads (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the first byte of a request: pre-emptible.
    Waiting,
    /// Receiving the request that will be the `started`-th dispatched.
    Receiving { started: usize },
    /// A request is being answered, or its answer written.
    Answering,
}

/// One deadline, armed when an operation starts waiting and disarmed when it makes progress.
/// Its timer is allocated once per connection and re-armed with `reset`, so a busy
/// connection does not allocate a timer per read or write.
struct Deadline {
    after: Duration,
    timer: Option<Pin<Box<Sleep>>>,
    armed: bool,
}

impl Deadline {
    fn new(after: Duration) -> Self {
        Self {
            after,
            timer: None,
            armed: false,
        }
    }

    fn disarm(&mut self) {
        self.armed = false;
    }

    /// Arm the deadline if it is not running, then see whether it has passed.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let when = tokio::time::Instant::now() + self.after;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(when)));
        if !self.armed {
            timer.as_mut().reset(when);
            self.armed = true;
        }
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(io::Error::new(
                io::ErrorKind::TimedOut,
                "connection deadline passed",
            )),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The deadlines of one connection.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    /// The longest wait for the first byte of a request (the keep-alive time), before the
    /// table's shrinking.
    pub idle: Duration,
    /// The longest a whole request (head and body) may take to arrive.
    pub request: Duration,
    /// The longest a write may make no progress.
    pub write: Duration,
}

/// A stream with the deadlines of its phase and, for a public listener, its connection slot.
pub struct DeadlineIo<S> {
    inner: S,
    in_flight: InFlight,
    limits: Deadlines,
    phase: Phase,
    read: Deadline,
    write: Deadline,
    /// A write is waiting for the peer: the answer is not out yet.
    writing: bool,
    slot: Option<ConnSlot>,
    /// Resolves when a newcomer took this connection's slot.
    evicted: Option<Pin<Box<WaitForCancellationFutureOwned>>>,
}

impl<S> DeadlineIo<S> {
    /// Wrap `inner`; `in_flight` is shared with the service answering on this connection;
    /// `slot` is its place in the listener's connection table (none for the admin listener).
    pub fn new(inner: S, limits: Deadlines, in_flight: InFlight, slot: Option<ConnSlot>) -> Self {
        let idle = match &slot {
            Some(s) => s.allowance(limits.idle),
            None => limits.idle,
        };
        let evicted = slot
            .as_ref()
            .map(|s| Box::pin(s.evicted().clone().cancelled_owned()));
        Self {
            inner,
            in_flight,
            limits,
            phase: Phase::Waiting,
            read: Deadline::new(idle),
            write: Deadline::new(limits.write),
            writing: false,
            slot,
            evicted,
        }
    }

    /// Bytes arrived: a request begins (unless one is already arriving or being answered).
    fn on_bytes(&mut self) {
        let begins = match self.phase {
            Phase::Waiting => true,
            Phase::Answering => !self.in_flight.busy(),
            Phase::Receiving { .. } => false,
        };
        if begins {
            self.phase = Phase::Receiving {
                started: self.in_flight.started(),
            };
            if let Some(slot) = &mut self.slot {
                slot.busy();
            }
            self.read.disarm();
            self.read.after = self.limits.request;
        }
    }

    /// Back to waiting for a request: pre-emptible, with the table's allowance now.
    fn wait_again(&mut self) {
        self.phase = Phase::Waiting;
        self.read.disarm();
        self.read.after = match &mut self.slot {
            Some(slot) => slot.idle(self.limits.idle),
            None => self.limits.idle,
        };
    }

    /// A read found no bytes: the deadline of the phase, or pre-emption while waiting.
    fn on_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.in_flight.busy() {
            // A request is being answered; hyper polls again once it is done.
            self.phase = Phase::Answering;
            self.read.disarm();
            return Poll::Pending;
        }
        match self.phase {
            Phase::Receiving { started } if self.in_flight.started() == started => {
                // The same request is still arriving: its one deadline.
                return self.read.poll_expired(cx).map(Err);
            }
            Phase::Receiving { .. } | Phase::Answering => {
                if self.writing {
                    // The answer is still going out: not idle yet.
                    self.read.disarm();
                    return Poll::Pending;
                }
                self.wait_again();
            }
            Phase::Waiting => {}
        }
        if let Some(evicted) = &mut self.evicted {
            if evicted.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "idle connection pre-empted for a new one",
                )));
            }
        }
        self.read.poll_expired(cx).map(Err)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for DeadlineIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.on_bytes();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => this.on_pending(cx),
        }
    }
}

impl<S: AsyncWrite + Unpin> DeadlineIo<S> {
    fn progress<T>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match r {
            Poll::Ready(r) => {
                self.writing = false;
                self.write.disarm();
                Poll::Ready(r)
            }
            Poll::Pending => {
                self.writing = true;
                self.write.poll_expired(cx).map(Err)
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for DeadlineIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.progress(cx, r)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.progress(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_flush(cx);
        this.progress(cx, r)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.progress(cx, r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn idle_reads_time_out_only_when_no_request_is_in_flight() {
        let (client, server) = tokio::io::duplex(64);
        let in_flight = InFlight::default();
        let mut io = DeadlineIo::new(
            server,
            Deadlines {
                idle: Duration::from_secs(5),
                request: Duration::from_secs(10),
                write: Duration::from_secs(5),
            },
            in_flight.clone(),
            None,
        );
        let mut buf = [0u8; 8];
        // Busy: a read may wait past the idle deadline.
        let guard = in_flight.start();
        let waited = tokio::time::timeout(Duration::from_secs(30), io.read(&mut buf)).await;
        assert!(
            waited.is_err(),
            "no idle deadline while a request is in flight"
        );
        drop(guard);
        // Idle: the read fails after 5 s.
        let err = io.read(&mut buf).await.expect_err("idle deadline");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        drop(client);
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_without_progress_times_out() {
        let (_client, server) = tokio::io::duplex(16);
        let mut io = DeadlineIo::new(
            server,
            Deadlines {
                idle: Duration::from_secs(60),
                request: Duration::from_secs(60),
                write: Duration::from_secs(2),
            },
            InFlight::default(),
            None,
        );
        // The peer never reads: the 16-byte pipe fills and the write stalls.
        let err = io
            .write_all(&[0u8; 1024])
            .await
            .expect_err("write deadline");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }
}
