//! Counters for operators, exposed as Prometheus text on the admin listener.
//!
//! Plain atomics: counting must never slow an answer down or fail.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::limit::Reason;

/// Which protocol a request used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// RDAP over HTTP(S).
    Rdap = 0,
    /// Port 43.
    Whois = 1,
}

const PROTOCOLS: [(Protocol, &str); 2] = [(Protocol::Rdap, "rdap"), (Protocol::Whois, "whois")];

/// Refusal reasons counted: the limiter's, plus connection caps.
const REASONS: [&str; 5] = ["denylist", "rate", "quota", "blocked", "busy"];

fn reason_index(r: Reason) -> usize {
    match r {
        Reason::Denylisted => 0,
        Reason::Rate => 1,
        Reason::Quota => 2,
        Reason::Blocked => 3,
    }
}

/// All counters.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: [AtomicU64; 2],
    refusals: [[AtomicU64; 5]; 2],
    accept_errors: AtomicU64,
    /// Open connections per listener kind: RDAP, port 43, admin.
    open: [Arc<AtomicU64>; 3],
}

/// Which kind of listener a connection came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// RDAP.
    Rdap = 0,
    /// Port 43.
    Whois = 1,
    /// The admin listener.
    Admin = 2,
}

const LISTENERS: [&str; 3] = ["rdap", "whois", "admin"];

/// One open connection, counted until dropped.
pub struct OpenConnection(Arc<AtomicU64>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    /// Count one request that was answered (whatever the answer).
    pub fn request(&self, p: Protocol) {
        self.requests[p as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Count one refusal by the limiter.
    pub fn refused(&self, p: Protocol, r: Reason) {
        self.refusals[p as usize][reason_index(r)].fetch_add(1, Ordering::Relaxed);
    }

    /// Count one connection refused because a connection cap was reached.
    pub fn busy(&self, p: Protocol) {
        self.refusals[p as usize][4].fetch_add(1, Ordering::Relaxed);
    }

    /// Count a connection as open until the returned guard is dropped.
    pub fn open_connection(&self, l: Listener) -> OpenConnection {
        let n = Arc::clone(&self.open[l as usize]);
        n.fetch_add(1, Ordering::Relaxed);
        OpenConnection(n)
    }

    /// Count one failed `accept` (typically a full file table).
    pub fn accept_error(&self) {
        self.accept_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Prometheus text exposition (format 0.0.4).
    pub fn render(&self, tracked: (usize, usize)) -> String {
        let mut out = String::new();
        out.push_str("# HELP rddsd_requests_total Requests answered, by protocol.\n# TYPE rddsd_requests_total counter\n");
        for (p, name) in PROTOCOLS {
            let _ = writeln!(
                out,
                "rddsd_requests_total{{protocol=\"{name}\"}} {}",
                self.requests[p as usize].load(Ordering::Relaxed)
            );
        }
        out.push_str("# HELP rddsd_refusals_total Requests refused by the harvesting defence or connection caps, by protocol and reason.\n# TYPE rddsd_refusals_total counter\n");
        for (p, name) in PROTOCOLS {
            for (i, reason) in REASONS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "rddsd_refusals_total{{protocol=\"{name}\",reason=\"{reason}\"}} {}",
                    self.refusals[p as usize][i].load(Ordering::Relaxed)
                );
            }
        }
        out.push_str("# HELP rddsd_limiter_clients Client networks tracked by the limiter.\n# TYPE rddsd_limiter_clients gauge\n");
        let _ = writeln!(out, "rddsd_limiter_clients {}", tracked.0);
        out.push_str("# HELP rddsd_limiter_capacity Most client networks the limiter tracks (memory bound).\n# TYPE rddsd_limiter_capacity gauge\n");
        let _ = writeln!(out, "rddsd_limiter_capacity {}", tracked.1);
        out.push_str("# HELP rddsd_accept_errors_total Failed accepts (e.g. the open-files limit reached).\n# TYPE rddsd_accept_errors_total counter\n");
        let _ = writeln!(
            out,
            "rddsd_accept_errors_total {}",
            self.accept_errors.load(Ordering::Relaxed)
        );
        out.push_str("# HELP rddsd_open_connections Connections open now, by listener.\n# TYPE rddsd_open_connections gauge\n");
        for (i, name) in LISTENERS.iter().enumerate() {
            let _ = writeln!(
                out,
                "rddsd_open_connections{{listener=\"{name}\"}} {}",
                self.open[i].load(Ordering::Relaxed)
            );
        }
        let (dropped, failed) = crate::telemetry::log_losses();
        out.push_str("# HELP rddsd_log_lines_dropped_total Log lines dropped because the log stream was slower than the server.\n# TYPE rddsd_log_lines_dropped_total counter\n");
        let _ = writeln!(out, "rddsd_log_lines_dropped_total {dropped}");
        out.push_str("# HELP rddsd_log_write_failures_total Log lines lost because writing to the log stream failed (e.g. its reader went away).\n# TYPE rddsd_log_write_failures_total counter\n");
        let _ = writeln!(out, "rddsd_log_write_failures_total {failed}");
        out
    }
}
