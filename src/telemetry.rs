//! Logging setup and privacy-safe log fields.
//!
//! Access events carry the client's *network* (IPv4 /24, IPv6 /48), never the full address,
//! and never any registration data beyond the kind of object asked for.

use std::fmt;
use std::io::Write;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::OnceLock;
use std::time::Duration;

/// Log lines waiting for the log stream, at most. Past it lines are dropped and counted: a slow
/// or stuck reader of stderr must never hold up an answer.
const QUEUE_LINES: usize = 8192;

static DROPPED: AtomicU64 = AtomicU64::new(0);
static FAILED: AtomicU64 = AtomicU64::new(0);
static QUEUE: OnceLock<SyncSender<Message>> = OnceLock::new();

enum Message {
    Line(Vec<u8>),
    /// Everything queued before this has been written (or failed); tell the sender.
    Flush(SyncSender<()>),
}

/// Install the global subscriber: human-readable lines on stderr, level from `filter`
/// (e.g. `info`, `rddsd=debug`).
///
/// Lines go through a bounded queue to one writer thread. Logging never blocks and never
/// fails a request or a shutdown: when the queue is full a line is dropped, when the stream
/// is gone (a closed pipe, a restarted log shipper) the write fails; both are counted
/// ([`log_losses`], exported as metrics) and the server carries on.
///
/// `Json` writes one JSON object per line with stable field names: `timestamp`, `level`,
/// `target`, then the event's own fields at the top level (`message`, and for access events
/// `proto`, `client`, `method`, `kind`, `status`, `outcome`, `bytes`, `micros`). Both formats
/// carry exactly the same fields, so the privacy rules of the text log hold for JSON too.
pub fn init(filter: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(QueueWriter::start())
        .with_ansi(false)
        .log_internal_errors(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
    };
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (the default).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!("unknown log format {other:?}: use text or json")),
        }
    }
}

/// Lines dropped because the queue was full, and lines whose write failed.
pub fn log_losses() -> (u64, u64) {
    (
        DROPPED.load(Ordering::Relaxed),
        FAILED.load(Ordering::Relaxed),
    )
}

/// Wait (bounded) until the lines logged so far have reached the stream: called before exit.
pub fn flush(limit: Duration) {
    let Some(queue) = QUEUE.get() else { return };
    let (tx, rx) = mpsc::sync_channel(1);
    if queue.try_send(Message::Flush(tx)).is_ok() {
        let _ = rx.recv_timeout(limit);
    }
}

/// The `MakeWriter` of the subscriber: each event becomes one queued line.
struct QueueWriter;

impl QueueWriter {
    fn start() -> Self {
        let (tx, rx) = mpsc::sync_channel(QUEUE_LINES);
        if QUEUE.set(tx).is_ok() {
            let spawned = std::thread::Builder::new()
                .name("rddsd-log".into())
                .spawn(move || write_lines(&rx));
            if spawned.is_err() {
                // No writer thread: every line will count as dropped; the server still runs.
                FAILED.fetch_add(1, Ordering::Relaxed);
            }
        }
        Self
    }
}

/// Lines written to the stream in one `write` at most (batching under load).
const BATCH_BYTES: usize = 64 * 1024;

/// How long the writer rests after each write before it looks at the queue again. A thread
/// that parks on an empty queue must be woken (a futex call, and a context switch on a small
/// machine) by the next line's sender: one wake per request under load, which measured about a
/// fifth of the server's CPU time. Resting a little instead lets lines gather, so a loaded
/// server wakes the writer some hundreds of times a second rather than once per answer; an idle
/// one writes a lone line at once and delays the next by at most this.
const LINGER: Duration = Duration::from_millis(2);

/// The writer thread: wait for a line, then take every line already queued (up to
/// [`BATCH_BYTES`]) and write them with one system call, then rest for [`LINGER`]. Under load
/// the queue holds many lines and the thread writes them in batches instead of one call per
/// line; when idle it writes each line as it comes.
fn write_lines(rx: &Receiver<Message>) {
    let stderr = std::io::stderr();
    let mut batch: Vec<u8> = Vec::with_capacity(BATCH_BYTES);
    let mut lines = 0u64;
    let mut flushes = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Message::Line(line) => {
                    batch.extend_from_slice(&line);
                    lines += 1;
                }
                Message::Flush(done) => flushes.push(done),
            }
            if batch.len() < BATCH_BYTES {
                next = rx.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            let mut out = stderr.lock();
            if out.write_all(&batch).and_then(|()| out.flush()).is_err() {
                FAILED.fetch_add(lines, Ordering::Relaxed);
            }
            batch.clear();
        }
        lines = 0;
        // Everything queued before a flush request is written now.
        for done in flushes.drain(..) {
            let _ = done.try_send(());
        }
        std::thread::sleep(LINGER);
    }
}

/// One event's bytes, queued when the formatter drops it.
pub struct QueuedLine(Vec<u8>);

impl Write for QueuedLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for QueuedLine {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let line = std::mem::take(&mut self.0);
        match QUEUE.get().map(|q| q.try_send(Message::Line(line))) {
            Some(Ok(())) => {}
            Some(Err(TrySendError::Full(_))) => {
                DROPPED.fetch_add(1, Ordering::Relaxed);
            }
            Some(Err(TrySendError::Disconnected(_))) | None => {
                FAILED.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for QueueWriter {
    type Writer = QueuedLine;

    fn make_writer(&'a self) -> Self::Writer {
        QueuedLine(Vec::with_capacity(256))
    }
}

/// The HTTP method for the access log: a known method's name, `OTHER` for anything else, so a
/// client cannot plant text of its choosing in the log.
pub fn method_label(m: &hyper::Method) -> &'static str {
    use hyper::Method;
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

/// A client address reduced to its network for logging.
pub struct ClientNet(pub IpAddr);

impl fmt::Display for ClientNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.to_canonical() {
            IpAddr::V4(v4) => {
                let o = v4.octets();
                write!(f, "{}.{}.{}.0/24", o[0], o[1], o[2])
            }
            IpAddr::V6(v6) => {
                let s = v6.segments();
                write!(f, "{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
            }
        }
    }
}

/// Request-derived text made safe for a log line: at most 16 printable ASCII characters.
pub struct Printable<'a>(pub &'a str);

impl fmt::Display for Printable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars().take(16) {
            if c.is_ascii_graphic() {
                write!(f, "{c}")?;
            } else {
                f.write_str("?")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_not_addresses() {
        let v4: IpAddr = "198.51.100.77".parse().expect("ip");
        assert_eq!(ClientNet(v4).to_string(), "198.51.100.0/24");
        let v6: IpAddr = "2001:db8:1:2:3::4".parse().expect("ip");
        assert_eq!(ClientNet(v6).to_string(), "2001:db8:1::/48");
        let mapped: IpAddr = "::ffff:192.0.2.9".parse().expect("ip");
        assert_eq!(ClientNet(mapped).to_string(), "192.0.2.0/24");
        assert_eq!(
            Printable("GE\nT\u{7f}xxxxxxxxxxxxxxxxxxxx").to_string(),
            "GE?T?xxxxxxxxxxx"
        );
        let planted = hyper::Method::from_bytes(b"C101-EXAMPLE").expect("token");
        assert_eq!(method_label(&planted), "OTHER");
        assert_eq!(method_label(&hyper::Method::HEAD), "HEAD");
    }
}
