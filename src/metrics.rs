//! Counters and histograms for operators, exposed as Prometheus text on the admin listener.
//!
//! Plain atomics in fixed arrays: counting must never slow an answer down, allocate or fail.
//! Every label value comes from a fixed list in this file, never from a request, so a client
//! cannot create series (or plant text) in the exposition.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

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

/// Query kinds with a latency histogram of their own. A kind outside the list is `other`
/// (refusals before routing, OPTIONS, malformed queries).
const KINDS: [&str; 7] = [
    "domain",
    "nameserver",
    "entity",
    "registrar",
    "help",
    "authority",
    "other",
];

fn kind_index(kind: &str) -> usize {
    KINDS
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(KINDS.len() - 1)
}

/// Histogram bucket bounds in seconds. 2 s is ICANN's RDDS round-trip service level, so
/// `le="2"` answers "what share met it" directly.
const BUCKETS: [f64; 13] = [
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0,
];

/// HTTP statuses counted by value; anything else is `other`.
const RDAP_STATUSES: [u16; 12] = [200, 204, 400, 401, 403, 404, 405, 429, 431, 500, 501, 503];

/// Port 43 answers by outcome class.
const WHOIS_STATUSES: [&str; 5] = ["found", "not-found", "refused", "limited", "other"];

/// The `# HELP` and `# TYPE` lines of one metric family.
fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// The Prometheus text exposition being written: a family's header, then its samples, each
/// spelled by one helper so no family is written by hand.
#[derive(Default)]
struct Exposition {
    out: String,
    /// The family the next samples belong to.
    name: &'static str,
}

impl Exposition {
    /// Start a family of `kind` (`counter`, `gauge`, `histogram`).
    fn family(&mut self, name: &'static str, kind: &str, help: &str) {
        header(&mut self.out, name, kind, help);
        self.name = name;
    }

    /// Start a counter family.
    fn counter(&mut self, name: &'static str, help: &str) {
        self.family(name, "counter", help);
    }

    /// Start a gauge family.
    fn gauge(&mut self, name: &'static str, help: &str) {
        self.family(name, "gauge", help);
    }

    /// The family's one sample, without labels.
    fn value(&mut self, value: impl std::fmt::Display) {
        let _ = writeln!(self.out, "{} {value}", self.name);
    }

    /// A sample with labels (values are the crate's own constants: nothing to escape).
    fn sample(&mut self, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.out.push_str(self.name);
        self.out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            let _ = write!(self.out, "{k}=\"{v}\"");
        }
        let _ = writeln!(self.out, "}} {value}");
    }
}

/// The PostgreSQL backend's families, present only with it.
/// What the load of the data served made safe and left out.
fn render_records(e: &mut Exposition, g: &Gauges) {
    e.gauge(
        "rddsd_records_made_safe",
        "Records of the data served whose free text had control, line-separator or bidi characters replaced by U+FFFD, by kind.",
    );
    for (kind, n) in g.records_made_safe {
        e.sample(&[("kind", kind)], n);
    }
    e.gauge(
        "rddsd_records_left_out",
        "Records of the input left out of the data served because they cannot be represented, by kind (line: lines of no kind).",
    );
    for (kind, n) in g.records_left_out {
        e.sample(&[("kind", kind)], n);
    }
}

/// The disclosure-request workflow's gauges (issue #25), read from its record at scrape time.
/// Counts and ages only: nothing about a requester.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestGauges {
    /// Open requests: `[received, acknowledged, identity-confirmed][not urgent, urgent]`.
    pub open: [[u64; 2]; 3],
    /// Received and not acknowledged past `acknowledgeBy`.
    pub ack_overdue: u64,
    /// Open past `respondBy`.
    pub decision_overdue: u64,
    /// Seconds since the oldest open urgent request was received (0: none).
    pub oldest_urgent_secs: i64,
}

/// The workflow's families, in the Prometheus text format.
pub fn render_requests(g: &RequestGauges) -> String {
    let mut e = Exposition::default();
    e.gauge(
        "rddsd_requests_open",
        "Disclosure requests waiting for the registry, by state and urgency.",
    );
    for (i, state) in ["received", "acknowledged", "identity-confirmed"]
        .iter()
        .enumerate()
    {
        for (u, urgent) in ["false", "true"].iter().enumerate() {
            e.sample(&[("state", state), ("urgent", urgent)], g.open[i][u]);
        }
    }
    e.gauge(
        "rddsd_requests_acknowledge_overdue",
        "Disclosure requests not acknowledged by their acknowledgeBy.",
    );
    e.value(g.ack_overdue);
    e.gauge(
        "rddsd_requests_decision_overdue",
        "Open disclosure requests past their respondBy (24 hours for urgent ones).",
    );
    e.value(g.decision_overdue);
    e.gauge(
        "rddsd_requests_oldest_urgent_open_seconds",
        "Age of the oldest open urgent disclosure request (0 when none is open).",
    );
    e.value(g.oldest_urgent_secs);
    e.out
}

fn render_database(e: &mut Exposition, g: &Gauges) {
    let Some(up) = g.database_up else {
        return;
    };
    e.gauge("rddsd_database_up", "1 while the node follows its PostgreSQL database (listening for changes), 0 while it has lost it.");
    e.value(u8::from(up));
    e.counter("rddsd_database_failures_total", "Lookups the database could not answer (unreachable, too slow, every connection busy, or records breaking the data rules).");
    e.value(g.database_failures);
    e.counter(
        "rddsd_database_changes_total",
        "Change-log rows applied to the answer cache.",
    );
    e.value(g.database_changes);
    e.gauge(
        "rddsd_database_behind_seconds",
        "How far the data served may be behind the database: 0 while the node follows it, else the seconds since it lost it (a replica keeps serving its whole snapshot; direct mode its cache within max_stale_secs).",
    );
    e.value(g.database_behind_secs);
    if let Some(resyncs) = g.database_resyncs {
        e.counter(
            "rddsd_database_resyncs_total",
            "Full reads of the tables by a replica after its start (a pruned change log, an import, a change of the zones, or changed records refused).",
        );
        e.value(resyncs);
    }
}

/// A fixed-bucket latency histogram.
#[derive(Debug, Default)]
struct Histogram {
    /// Non-cumulative counts per bucket; the last slot is `+Inf`.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (i, bound) in BUCKETS.iter().enumerate() {
            cumulative += self.buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
        }
        cumulative += self.buckets[BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {cumulative}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
        let _ = writeln!(
            out,
            "{name}_count{{{labels}}} {}",
            self.count.load(Ordering::Relaxed)
        );
    }
}

/// What the last reload did.
#[derive(Debug, Default)]
struct ReloadStats {
    ok: AtomicU64,
    failed: AtomicU64,
    /// 1 if the last reload succeeded, 0 if it failed, -1 before any reload.
    last_success: AtomicI64,
    last_duration_micros: AtomicU64,
    last_unix: AtomicI64,
}

/// All counters.
#[derive(Debug)]
pub struct Metrics {
    requests: [AtomicU64; 2],
    refusals: [[AtomicU64; 5]; 2],
    accept_errors: AtomicU64,
    /// Open connections per listener kind: RDAP, port 43, admin.
    open: [Arc<AtomicU64>; 3],
    /// Idle connections closed to make room for a new one, per listener kind.
    preempted: [AtomicU64; 3],
    latency: [[Histogram; KINDS.len()]; 2],
    rdap_status: [AtomicU64; RDAP_STATUSES.len() + 1],
    whois_status: [AtomicU64; WHOIS_STATUSES.len()],
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
    reload: ReloadStats,
    deltas: [AtomicU64; 2],
    delta_last_duration_micros: AtomicU64,
    disclosures: AtomicU64,
    disclosure_failures: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        let metrics = Self {
            requests: Default::default(),
            refusals: Default::default(),
            accept_errors: AtomicU64::new(0),
            open: Default::default(),
            preempted: Default::default(),
            latency: Default::default(),
            rdap_status: Default::default(),
            whois_status: Default::default(),
            cache_hits: AtomicU64::new(0),
            cache_misses: AtomicU64::new(0),
            reload: ReloadStats::default(),
            deltas: Default::default(),
            delta_last_duration_micros: AtomicU64::new(0),
            disclosures: AtomicU64::new(0),
            disclosure_failures: AtomicU64::new(0),
        };
        metrics.reload.last_success.store(-1, Ordering::Relaxed);
        metrics
    }
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

/// Values read from elsewhere at scrape time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    /// Client networks tracked by the limiter, and its bound.
    pub tracked: (usize, usize),
    /// The data generation being served.
    pub generation: u64,
    /// Unix time of `last update of RDAP database` of the data served.
    pub data_updated_unix: i64,
    /// Unix time now.
    pub now_unix: i64,
    /// Whether the disclosure log accepts entries (`None`: the route is not configured).
    pub disclosure_log_ok: Option<bool>,
    /// Data generations alive (the served one and any held by requests in flight).
    pub live_generations: u64,
    /// Whether the node follows its database (`None`: the JSON Lines backend).
    pub database_up: Option<bool>,
    /// Lookups the database could not answer (unreachable, too slow, or bad records).
    pub database_failures: u64,
    /// Database change rows applied to the answer cache.
    pub database_changes: u64,
    /// Seconds since the node lost its database (0 while it follows it).
    pub database_behind_secs: u64,
    /// A replica's full re-reads of the tables (`None`: not a replica).
    pub database_resyncs: Option<u64>,
    /// Records of the current generation's load with a value made safe, by kind.
    pub records_made_safe: [(&'static str, u64); 5],
    /// Records the current generation's load left out, by kind (`line`: lines of no kind).
    pub records_left_out: [(&'static str, u64); 5],
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

    /// Count one idle connection closed to make room for a new one at the connection cap.
    pub fn preempted(&self, l: Listener) {
        self.preempted[l as usize].fetch_add(1, Ordering::Relaxed);
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

    /// One RDAP answer: its query kind, HTTP status and time from request to answer.
    pub fn rdap_answer(&self, kind: &str, status: u16, took: Duration) {
        self.latency[Protocol::Rdap as usize][kind_index(kind)].observe(took);
        let i = RDAP_STATUSES
            .iter()
            .position(|s| *s == status)
            .unwrap_or(RDAP_STATUSES.len());
        self.rdap_status[i].fetch_add(1, Ordering::Relaxed);
    }

    /// One port 43 answer: its query kind, outcome class (`found`, `not-found`, `refused`,
    /// `limited`) and time from accept to the answer written.
    pub fn whois_answer(&self, kind: &str, status: &str, took: Duration) {
        self.latency[Protocol::Whois as usize][kind_index(kind)].observe(took);
        let i = WHOIS_STATUSES
            .iter()
            .position(|s| *s == status)
            .unwrap_or(WHOIS_STATUSES.len() - 1);
        self.whois_status[i].fetch_add(1, Ordering::Relaxed);
    }

    /// A public answer came from the rendered-answer cache (`true`) or was rendered.
    pub fn cache(&self, hit: bool) {
        if hit {
            self.cache_hits.fetch_add(1, Ordering::Relaxed);
        } else {
            self.cache_misses.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A reload finished at `unix` after `took`, successfully or not.
    pub fn reload(&self, ok: bool, took: Duration, unix: i64) {
        let r = &self.reload;
        if ok { &r.ok } else { &r.failed }.fetch_add(1, Ordering::Relaxed);
        r.last_success.store(i64::from(ok), Ordering::Relaxed);
        r.last_duration_micros.store(
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        r.last_unix.store(unix, Ordering::Relaxed);
    }

    /// A delta file applied (`true`) or refused, after `took`.
    pub fn delta(&self, ok: bool, took: Duration) {
        self.deltas[usize::from(!ok)].fetch_add(1, Ordering::Relaxed);
        if ok {
            self.delta_last_duration_micros.store(
                u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
                Ordering::Relaxed,
            );
        }
    }

    /// One disclosure-log append: recorded (`true`), or failed and nothing disclosed.
    pub fn disclosure(&self, recorded: bool) {
        if recorded {
            self.disclosures.fetch_add(1, Ordering::Relaxed);
        } else {
            self.disclosure_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Prometheus text exposition (format 0.0.4).
    pub fn render(&self, g: &Gauges) -> String {
        let mut e = Exposition {
            out: String::with_capacity(16 * 1024),
            name: "",
        };
        self.render_answers(&mut e);
        self.render_capacity(&mut e, g);
        self.render_data(&mut e, g);
        self.render_reloads(&mut e);
        self.render_disclosures(&mut e, g);
        render_database(&mut e, g);
        render_records(&mut e, g);
        self.render_process(&mut e);
        e.out
    }

    /// Requests, answers by status, latency, refusals and the answer cache.
    fn render_answers(&self, e: &mut Exposition) {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        e.counter("rddsd_requests_total", "Requests answered, by protocol.");
        for (p, name) in PROTOCOLS {
            e.sample(&[("protocol", name)], n(&self.requests[p as usize]));
        }
        e.counter(
            "rddsd_responses_total",
            "Answers by protocol and status (HTTP status for RDAP, outcome for port 43).",
        );
        for (i, status) in RDAP_STATUSES.iter().enumerate() {
            let status = status.to_string();
            e.sample(
                &[("protocol", "rdap"), ("status", &status)],
                n(&self.rdap_status[i]),
            );
        }
        e.sample(
            &[("protocol", "rdap"), ("status", "other")],
            n(&self.rdap_status[RDAP_STATUSES.len()]),
        );
        for (i, status) in WHOIS_STATUSES.iter().enumerate() {
            e.sample(
                &[("protocol", "whois"), ("status", status)],
                n(&self.whois_status[i]),
            );
        }
        e.family(
            "rddsd_request_duration_seconds",
            "histogram",
            "Time from request to answer, by protocol and query kind.",
        );
        for (p, pname) in PROTOCOLS {
            for (k, kname) in KINDS.iter().enumerate() {
                let labels = format!("protocol=\"{pname}\",kind=\"{kname}\"");
                self.latency[p as usize][k].render(
                    &mut e.out,
                    "rddsd_request_duration_seconds",
                    &labels,
                );
            }
        }
        e.counter("rddsd_refusals_total", "Requests refused by the harvesting defence or connection caps, by protocol and reason.");
        for (p, name) in PROTOCOLS {
            for (i, reason) in REASONS.iter().enumerate() {
                e.sample(
                    &[("protocol", name), ("reason", reason)],
                    n(&self.refusals[p as usize][i]),
                );
            }
        }
        e.counter(
            "rddsd_cache_requests_total",
            "Public RDAP answers from the rendered-answer cache (hit) or rendered (miss).",
        );
        e.sample(&[("result", "hit")], n(&self.cache_hits));
        e.sample(&[("result", "miss")], n(&self.cache_misses));
    }

    /// The limiter's table and the open connections.
    fn render_capacity(&self, e: &mut Exposition, g: &Gauges) {
        e.gauge(
            "rddsd_limiter_clients",
            "Client networks tracked by the limiter.",
        );
        e.value(g.tracked.0);
        e.gauge(
            "rddsd_limiter_capacity",
            "Most client networks the limiter tracks (memory bound).",
        );
        e.value(g.tracked.1);
        e.gauge(
            "rddsd_open_connections",
            "Connections open now, by listener.",
        );
        for (i, name) in LISTENERS.iter().enumerate() {
            e.sample(&[("listener", name)], self.open[i].load(Ordering::Relaxed));
        }
        e.counter(
            "rddsd_connections_preempted_total",
            "Idle connections closed to make room for a new one at the connection cap, by listener.",
        );
        for (i, name) in LISTENERS.iter().enumerate().take(2) {
            e.sample(
                &[("listener", name)],
                self.preempted[i].load(Ordering::Relaxed),
            );
        }
    }

    /// The data served: its generation, deltas, and age.
    fn render_data(&self, e: &mut Exposition, g: &Gauges) {
        e.gauge(
            "rddsd_data_generation",
            "The data generation being served (1 at start, +1 per successful reload or delta).",
        );
        e.value(g.generation);
        e.gauge(
            "rddsd_data_generations_live",
            "Data generations in memory: 1, plus older ones still held by requests in flight.",
        );
        e.value(g.live_generations);
        e.counter("rddsd_deltas_total", "Delta files, by result.");
        for (i, result) in ["applied", "refused"].iter().enumerate() {
            e.sample(
                &[("result", result)],
                self.deltas[i].load(Ordering::Relaxed),
            );
        }
        e.gauge(
            "rddsd_delta_last_duration_seconds",
            "How long validating and applying the last applied delta took.",
        );
        e.value(self.delta_last_duration_micros.load(Ordering::Relaxed) as f64 / 1e6);
        e.gauge(
            "rddsd_data_updated_timestamp_seconds",
            "The 'last update of RDAP database' of the data served, Unix time.",
        );
        e.value(g.data_updated_unix);
        e.gauge(
            "rddsd_data_age_seconds",
            "Now minus the 'last update of RDAP database' of the data served.",
        );
        e.value(g.now_unix.saturating_sub(g.data_updated_unix));
    }

    /// Reloads: counts, the last one's result, duration and time.
    fn render_reloads(&self, e: &mut Exposition) {
        let r = &self.reload;
        e.counter("rddsd_reloads_total", "Reloads (SIGHUP), by result.");
        e.sample(&[("result", "ok")], r.ok.load(Ordering::Relaxed));
        e.sample(&[("result", "refused")], r.failed.load(Ordering::Relaxed));
        e.gauge(
            "rddsd_reload_last_success",
            "1 if the last reload succeeded, 0 if it was refused, -1 before any reload.",
        );
        e.value(r.last_success.load(Ordering::Relaxed));
        e.gauge(
            "rddsd_reload_last_duration_seconds",
            "How long the last reload took.",
        );
        e.value(r.last_duration_micros.load(Ordering::Relaxed) as f64 / 1e6);
        e.gauge(
            "rddsd_reload_last_timestamp_seconds",
            "When the last reload finished, Unix time (0 before any).",
        );
        e.value(r.last_unix.load(Ordering::Relaxed));
    }

    /// Disclosure-log appends and whether the log is writable.
    fn render_disclosures(&self, e: &mut Exposition, g: &Gauges) {
        e.counter(
            "rddsd_disclosures_total",
            "Disclosure-log appends, by result (a failed append disclosed nothing).",
        );
        e.sample(
            &[("result", "recorded")],
            self.disclosures.load(Ordering::Relaxed),
        );
        e.sample(
            &[("result", "failed")],
            self.disclosure_failures.load(Ordering::Relaxed),
        );
        e.gauge("rddsd_disclosure_log_writable", "1 if the disclosure log accepts entries, 0 if disclosures are refused until repair; absent without the authority route.");
        if let Some(ok) = g.disclosure_log_ok {
            e.value(u8::from(ok));
        }
    }

    /// Accept errors and lost log lines.
    fn render_process(&self, e: &mut Exposition) {
        e.counter(
            "rddsd_accept_errors_total",
            "Failed accepts (e.g. the open-files limit reached).",
        );
        e.value(self.accept_errors.load(Ordering::Relaxed));
        let (dropped, failed) = crate::telemetry::log_losses();
        e.counter(
            "rddsd_log_lines_dropped_total",
            "Log lines dropped because the log stream was slower than the server.",
        );
        e.value(dropped);
        e.counter(
            "rddsd_log_write_failures_total",
            "Log lines lost because writing to the log stream failed (e.g. its reader went away).",
        );
        e.value(failed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_include_two_seconds() {
        let m = Metrics::default();
        m.rdap_answer("domain", 200, Duration::from_micros(300));
        m.rdap_answer("domain", 404, Duration::from_millis(1500));
        m.rdap_answer("domain", 200, Duration::from_secs(3));
        m.rdap_answer("x-made-up", 999, Duration::from_millis(1));
        let text = m.render(&Gauges::default());
        let line = |needle: &str| {
            text.lines()
                .find(|l| l.starts_with(needle))
                .unwrap_or_else(|| panic!("{needle} missing"))
                .to_string()
        };
        let bucket = "rddsd_request_duration_seconds_bucket{protocol=\"rdap\",kind=\"domain\"";
        assert!(line(&format!("{bucket},le=\"0.0005\"}}")).ends_with(" 1"));
        assert!(line(&format!("{bucket},le=\"2\"}}")).ends_with(" 2"));
        assert!(line(&format!("{bucket},le=\"+Inf\"}}")).ends_with(" 3"));
        assert!(
            line("rddsd_request_duration_seconds_count{protocol=\"rdap\",kind=\"other\"}")
                .ends_with(" 1")
        );
        assert!(line("rddsd_responses_total{protocol=\"rdap\",status=\"other\"}").ends_with(" 1"));
        assert!(line("rddsd_responses_total{protocol=\"rdap\",status=\"200\"}").ends_with(" 2"));
        assert!(!text.contains("x-made-up"), "labels come from fixed lists");
    }
}
