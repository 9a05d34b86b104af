//! `rddsd requests report`: per month (UTC, by the month a request was received), how many
//! were received, acknowledged in time, approved, denied (by reason), answered; the median and
//! 95th-percentile times to acknowledge and to decide; urgent requests decided within 24 hours.
//! Counts and times only: no personal data, no request ids, fit for ICANN Compliance and a
//! transparency report. Pure.

use std::collections::BTreeMap;

use serde::Serialize;

use super::model::{DenyReason, Record, Status};
use crate::registry::Timestamp;

/// One month.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Month {
    /// `YYYY-MM`.
    pub month: String,
    /// Requests received.
    pub received: u64,
    /// Of which urgent.
    pub urgent: u64,
    /// Acknowledged by `acknowledgeBy`.
    pub acknowledged_in_time: u64,
    /// Approved (expired ones included).
    pub approved: u64,
    /// Denied, by reason code.
    pub denied: BTreeMap<String, u64>,
    /// Data subjects answered.
    pub answered: u64,
    /// Still open.
    pub open: u64,
    /// Median seconds from receipt to acknowledgement.
    pub acknowledge_median_secs: Option<i64>,
    /// 95th percentile of the same.
    pub acknowledge_p95_secs: Option<i64>,
    /// Median seconds from receipt to decision.
    pub decide_median_secs: Option<i64>,
    /// 95th percentile of the same.
    pub decide_p95_secs: Option<i64>,
    /// Urgent requests decided within 24 hours of receipt.
    pub urgent_decided_within_24h: u64,
}

/// The report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// From (inclusive), if limited.
    pub since: Option<String>,
    /// Until (exclusive), if limited.
    pub until: Option<String>,
    /// Month by month.
    pub months: Vec<Month>,
}

/// The `p`-th percentile (nearest rank) of sorted values.
fn percentile(sorted: &[i64], p: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// The report over `records` received in `[since, until)`.
pub fn report<'a>(
    records: impl IntoIterator<Item = &'a Record>,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    now: Timestamp,
) -> Report {
    let mut months: BTreeMap<String, (Month, Vec<i64>, Vec<i64>)> = BTreeMap::new();
    for r in records {
        if since.is_some_and(|s| r.received_at < s) || until.is_some_and(|u| r.received_at >= u) {
            continue;
        }
        let key = r
            .received_at
            .text()
            .to_string()
            .get(..7)
            .unwrap_or("")
            .to_string();
        let (m, ack, decide) = months.entry(key.clone()).or_default();
        m.month = key;
        m.received += 1;
        let urgent = r.filed.urgent.is_some();
        m.urgent += u64::from(urgent);
        if let Some(a) = r.acknowledged_at {
            if a <= r.acknowledge_by() {
                m.acknowledged_in_time += 1;
            }
            ack.push(a.unix() - r.received_at.unix());
        }
        match r.status_at(now) {
            Status::Approved | Status::Expired => m.approved += 1,
            Status::Denied => {
                let reason = r.denial.as_ref().map_or(DenyReason::Other, |d| d.0);
                *m.denied.entry(reason.key().to_string()).or_default() += 1;
            }
            Status::Answered => m.answered += 1,
            _ => m.open += 1,
        }
        if let Some(d) = r.decided_at {
            let took = d.unix() - r.received_at.unix();
            decide.push(took);
            if urgent && took <= 86_400 {
                m.urgent_decided_within_24h += 1;
            }
        }
    }
    let months = months
        .into_values()
        .map(|(mut m, mut ack, mut decide)| {
            ack.sort_unstable();
            decide.sort_unstable();
            m.acknowledge_median_secs = percentile(&ack, 50);
            m.acknowledge_p95_secs = percentile(&ack, 95);
            m.decide_median_secs = percentile(&decide, 50);
            m.decide_p95_secs = percentile(&decide, 95);
            m
        })
        .collect();
    Report {
        since: since.map(|t| t.text().to_string()),
        until: until.map(|t| t.text().to_string()),
        months,
    }
}

fn dur(secs: Option<i64>) -> String {
    match secs {
        None => "-".into(),
        Some(s) if s < 3600 => format!("{s}s"),
        Some(s) if s < 86_400 * 2 => format!("{:.1}h", s as f64 / 3600.0),
        Some(s) => format!("{:.1}d", s as f64 / 86_400.0),
    }
}

/// The report as text.
pub fn text(r: &Report) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "month    received urgent ack-in-time approved denied answered open  ack-median ack-p95 decide-median decide-p95 urgent<=24h"
    );
    for m in &r.months {
        let denied: u64 = m.denied.values().sum();
        let _ = writeln!(
            out,
            "{:<8} {:>8} {:>6} {:>11} {:>8} {:>6} {:>8} {:>4}  {:>10} {:>7} {:>13} {:>10} {:>11}",
            m.month,
            m.received,
            m.urgent,
            m.acknowledged_in_time,
            m.approved,
            denied,
            m.answered,
            m.open,
            dur(m.acknowledge_median_secs),
            dur(m.acknowledge_p95_secs),
            dur(m.decide_median_secs),
            dur(m.decide_p95_secs),
            m.urgent_decided_within_24h,
        );
        for (reason, n) in &m.denied {
            let _ = writeln!(out, "         denied {reason}: {n}");
        }
    }
    if r.months.is_empty() {
        out.push_str("(no requests in this period)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requests::model::{Event, Received, RequesterKind, Urgency};

    fn at(s: &str) -> Timestamp {
        crate::registry::validate::datetime(s).expect("t")
    }

    fn rec(received: &str, urgent: bool) -> Record {
        Record::new(
            "r",
            Received {
                kind: RequesterKind::PublicAuthority,
                purpose: "court-order".into(),
                jurisdiction: "CH".into(),
                legal_basis: "b".into(),
                case_reference: "c".into(),
                urgent: urgent.then_some(Urgency::ThreatToLife),
                objects: vec![],
                fields: None,
                token_sha256: String::new(),
                credential: None,
                acknowledge_by: "2026-06-03T00:00:00Z".into(),
                respond_by: "2026-07-01T00:00:00Z".into(),
                details_sha256: String::new(),
            },
            at(received),
        )
    }

    #[test]
    fn counts_and_percentiles_per_month() {
        let mut a = rec("2026-06-01T00:00:00Z", true);
        a.apply(&Event::Acknowledged, at("2026-06-01T01:00:00Z"), Some("o"));
        a.apply(
            &Event::Denied {
                reason: DenyReason::NotProportionate,
                rationale: "r".into(),
            },
            at("2026-06-01T02:00:00Z"),
            Some("o"),
        );
        let mut b = rec("2026-06-02T00:00:00Z", false);
        b.apply(&Event::Acknowledged, at("2026-06-04T00:00:00Z"), Some("o"));
        let c = rec("2026-07-02T00:00:00Z", false);
        let now = at("2026-08-01T00:00:00Z");
        let r = report([&a, &b, &c], None, None, now);
        assert_eq!(r.months.len(), 2);
        let june = &r.months[0];
        assert_eq!(june.month, "2026-06");
        assert_eq!((june.received, june.urgent), (2, 1));
        assert_eq!(june.acknowledged_in_time, 1, "b was late");
        assert_eq!(june.denied.get("not-proportionate"), Some(&1));
        assert_eq!(june.urgent_decided_within_24h, 1);
        assert_eq!(june.acknowledge_median_secs, Some(3600));
        assert_eq!(june.acknowledge_p95_secs, Some(2 * 86_400));
        assert_eq!(june.open, 1);
        let only_july = report([&a, &b, &c], Some(at("2026-07-01T00:00:00Z")), None, now);
        assert_eq!(only_july.months.len(), 1);
        assert!(text(&r).contains("2026-06"));
    }

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[5], 95), Some(5));
        let v: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50), Some(50));
        assert_eq!(percentile(&v, 95), Some(95));
    }
}
