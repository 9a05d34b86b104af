//! Deadlines on a connection's reads and writes.
//!
//! A write that makes no progress for `write` (a client that pipelines requests and never
//! reads) fails with `TimedOut`, and so does a read that waits for `idle` while no request is
//! being answered (an idle keep-alive connection). While a request is in flight the read side
//! has no deadline: hyper keeps a read pending to notice a closed connection, and an answer
//! that legitimately takes a while (an authority disclosure waiting for the log) must not lose
//! its connection to the idle rule. The slow-request case is hyper's `header_read_timeout`.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// Requests being answered on one connection; the idle rule applies only at zero.
#[derive(Debug, Clone, Default)]
pub struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    /// Count one request until the guard is dropped.
    pub fn start(&self) -> InFlightGuard {
        self.0.fetch_add(1, Ordering::AcqRel);
        InFlightGuard(Arc::clone(&self.0))
    }

    fn busy(&self) -> bool {
        self.0.load(Ordering::Acquire) > 0
    }
}

/// One request in flight.
#[derive(Debug)]
pub struct InFlightGuard(Arc<AtomicUsize>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
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

/// A stream with an idle-read deadline and a write-progress deadline.
pub struct DeadlineIo<S> {
    inner: S,
    in_flight: InFlight,
    read: Deadline,
    write: Deadline,
}

impl<S> DeadlineIo<S> {
    /// Wrap `inner`; `in_flight` is shared with the service answering on this connection.
    pub fn new(inner: S, idle: Duration, write: Duration, in_flight: InFlight) -> Self {
        Self {
            inner,
            in_flight,
            read: Deadline::new(idle),
            write: Deadline::new(write),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for DeadlineIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                this.read.disarm();
                Poll::Ready(r)
            }
            Poll::Pending if this.in_flight.busy() => {
                // Not idle: a request is being answered. hyper polls again once it is done.
                this.read.disarm();
                Poll::Pending
            }
            Poll::Pending => this.read.poll_expired(cx).map(Err),
        }
    }
}

impl<S: AsyncWrite + Unpin> DeadlineIo<S> {
    fn progress<T>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match r {
            Poll::Ready(r) => {
                self.write.disarm();
                Poll::Ready(r)
            }
            Poll::Pending => self.write.poll_expired(cx).map(Err),
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
            Duration::from_secs(5),
            Duration::from_secs(5),
            in_flight.clone(),
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
            Duration::from_secs(60),
            Duration::from_secs(2),
            InFlight::default(),
        );
        // The peer never reads: the 16-byte pipe fills and the write stalls.
        let err = io
            .write_all(&[0u8; 1024])
            .await
            .expect_err("write deadline");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }
}
