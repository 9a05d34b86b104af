//! The workflow's model: who asks, for what, and the state machine a request moves through.
//! Pure: events in, a [`Record`] out; an officer's [`Action`] and the time in, the events it
//! appends (or why it may not) out.
//!
//! ```text
//! received ──► acknowledged ──► identity-confirmed ──► approved ──(valid-until)──► expired
//!     │              │                  │        └───► answered   (a data subject)
//!     └──────────────┴──────────────────┴────────────► denied     (from any open state)
//! ```

use serde::{Deserialize, Serialize};

use crate::policy::Purpose;
use crate::registry::Timestamp;

/// Who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequesterKind {
    /// A police force, a court, a CERT, a regulator.
    PublicAuthority,
    /// A party with a legitimate interest, weighed case by case.
    ThirdParty,
    /// The person the data is about.
    DataSubject,
}

impl RequesterKind {
    /// Every kind.
    pub const ALL: [Self; 3] = [Self::PublicAuthority, Self::ThirdParty, Self::DataSubject];

    /// The name in requests and records.
    pub fn key(self) -> &'static str {
        match self {
            Self::PublicAuthority => "public-authority",
            Self::ThirdParty => "third-party",
            Self::DataSubject => "data-subject",
        }
    }

    /// Parse a kind.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.key() == s)
    }
}

/// What a data subject asks for (GDPR Art. 15-21).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubjectRight {
    /// What is held, and to whom it went.
    Access,
    /// Correction.
    Rectification,
    /// Deletion.
    Erasure,
    /// Stop using it.
    Objection,
}

impl SubjectRight {
    /// Every right.
    pub const ALL: [Self; 4] = [
        Self::Access,
        Self::Rectification,
        Self::Erasure,
        Self::Objection,
    ];

    /// The name in requests.
    pub fn key(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Rectification => "rectification",
            Self::Erasure => "erasure",
            Self::Objection => "objection",
        }
    }
}

/// The urgent categories of the Registration Data Policy: due within the urgent clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Urgency {
    /// Imminent threat to life.
    ThreatToLife,
    /// Serious bodily injury.
    SeriousBodilyInjury,
    /// Critical infrastructure.
    CriticalInfrastructure,
    /// Child exploitation.
    ChildExploitation,
}

impl Urgency {
    /// Every category.
    pub const ALL: [Self; 4] = [
        Self::ThreatToLife,
        Self::SeriousBodilyInjury,
        Self::CriticalInfrastructure,
        Self::ChildExploitation,
    ];

    /// The name in requests.
    pub fn key(self) -> &'static str {
        match self {
            Self::ThreatToLife => "threat-to-life",
            Self::SeriousBodilyInjury => "serious-bodily-injury",
            Self::CriticalInfrastructure => "critical-infrastructure",
            Self::ChildExploitation => "child-exploitation",
        }
    }
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Filed, not yet acknowledged.
    Received,
    /// Acknowledged by the registry.
    Acknowledged,
    /// The requester's identity is confirmed.
    IdentityConfirmed,
    /// Approved: the disclosure may be fetched until `valid-until`.
    Approved,
    /// Denied, with a reason and a rationale.
    Denied,
    /// A data subject's request, answered.
    Answered,
    /// Approved, and past `valid-until`.
    Expired,
}

impl Status {
    /// Every status.
    pub const ALL: [Self; 7] = [
        Self::Received,
        Self::Acknowledged,
        Self::IdentityConfirmed,
        Self::Approved,
        Self::Denied,
        Self::Answered,
        Self::Expired,
    ];

    /// The name in answers, the CLI and metrics.
    pub fn key(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Acknowledged => "acknowledged",
            Self::IdentityConfirmed => "identity-confirmed",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Answered => "answered",
            Self::Expired => "expired",
        }
    }

    /// Parse a status name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.key() == s)
    }

    /// Waiting for the registry.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Self::Received | Self::Acknowledged | Self::IdentityConfirmed
        )
    }
}

/// Why a request is denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DenyReason {
    /// No legal basis that carries the request.
    InsufficientBasis,
    /// The data asked for goes beyond what the purpose needs.
    NotProportionate,
    /// The requester's identity could not be confirmed.
    IdentityNotConfirmed,
    /// The registry holds no such data.
    NoData,
    /// Another reason (the rationale says which).
    Other,
}

impl DenyReason {
    /// Every reason.
    pub const ALL: [Self; 5] = [
        Self::InsufficientBasis,
        Self::NotProportionate,
        Self::IdentityNotConfirmed,
        Self::NoData,
        Self::Other,
    ];

    /// The code on the command line and in records.
    pub fn key(self) -> &'static str {
        match self {
            Self::InsufficientBasis => "insufficient-basis",
            Self::NotProportionate => "not-proportionate",
            Self::IdentityNotConfirmed => "identity-not-confirmed",
            Self::NoData => "no-data",
            Self::Other => "other",
        }
    }

    /// Parse a reason code.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.key() == s)
    }
}

/// The answer a data subject gets when nothing matches.
pub const NO_SUCH_DATA: &str = "no such data is held";

/// A request as filed: everything but the requester's details and the justification, which
/// are kept beside the chain ([`super::Details`]); `details_sha256` binds them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Received {
    /// Who asks (the kind only).
    pub kind: RequesterKind,
    /// A policy purpose, or for a data subject the right exercised.
    pub purpose: String,
    /// The requester's jurisdiction (a country or an international body; not personal).
    pub jurisdiction: String,
    /// Legal basis as stated.
    pub legal_basis: String,
    /// Case reference as stated.
    pub case_reference: String,
    /// The urgent category, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgent: Option<Urgency>,
    /// Objects asked about: domain names (A-labels) and contact ROIDs.
    pub objects: Vec<String>,
    /// Fields asked for, by the policy's names (`None`: not said).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<String>>,
    /// SHA-256 (hex) of the access token; the token itself is shown once and never stored.
    pub token_sha256: String,
    /// The credential whose bearer filed it (identity confirmed at intake), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    /// When it must be acknowledged.
    pub acknowledge_by: String,
    /// When it must be decided.
    pub respond_by: String,
    /// SHA-256 (hex) of the details kept beside the chain.
    pub details_sha256: String,
}

/// One change of a request, as the chain records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "type", rename_all = "kebab-case")]
pub enum Event {
    /// The request was filed.
    Received(Received),
    /// The registry acknowledged it.
    Acknowledged,
    /// The requester's identity is confirmed.
    #[serde(rename_all = "camelCase")]
    IdentityConfirmed {
        /// How (the officer's words, e.g. "call-back to the embassy's switchboard").
        method: String,
    },
    /// Approved for these fields until `valid_until`.
    #[serde(rename_all = "camelCase")]
    Approved {
        /// Fields by the policy's names.
        fields: Vec<String>,
        /// RFC 3339 UTC.
        valid_until: String,
        /// Why.
        rationale: String,
    },
    /// Denied.
    #[serde(rename_all = "camelCase")]
    Denied {
        /// The reason code.
        reason: DenyReason,
        /// Why, in words.
        rationale: String,
    },
    /// A data subject's request, answered.
    #[serde(rename_all = "camelCase")]
    Answered {
        /// What was answered: [`NO_SUCH_DATA`], or that a report was attached.
        outcome: String,
        /// SHA-256 of the report given, if one was.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        report_sha256: Option<String>,
    },
    /// The requester's details and the justification were erased from beside the chain (the
    /// person's erasure request, a court order). Holds no personal data.
    #[serde(rename_all = "camelCase")]
    Erased {
        /// Why, in the officer's words.
        reason: String,
    },
    /// The first entry of a pruned record: it anchors the entries kept after it (its `seq` and
    /// `prev` are the last pruned entry's). Belongs to no request.
    Checkpoint(Checkpoint),
}

/// What a prune cut from the front of the record ([`super::retention`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Checkpoint {
    /// The `--before` date of the prune (RFC 3339 UTC).
    pub pruned_before: String,
    /// Requests whose every entry is gone, by this prune and earlier ones.
    pub pruned_requests: u64,
    /// The time of the last entry pruned.
    pub pruned_through_time: String,
}

/// An erasure of a request's details, as the chain records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    /// When.
    pub at: Timestamp,
    /// By whom.
    pub officer: Option<String>,
    /// Why.
    pub reason: String,
}

/// A request as its events make it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The request id.
    pub id: String,
    /// As filed.
    pub filed: Received,
    /// When filed.
    pub received_at: Timestamp,
    /// The stored status (before expiry, which [`Record::status_at`] applies).
    pub status: Status,
    /// When acknowledged.
    pub acknowledged_at: Option<Timestamp>,
    /// When the identity was confirmed (by an officer; the credential at intake counts as
    /// confirmed without a time).
    pub identity_at: Option<Timestamp>,
    /// How the identity was confirmed.
    pub identity_method: Option<String>,
    /// When decided (approved, denied or answered).
    pub decided_at: Option<Timestamp>,
    /// The approval.
    pub approval: Option<Approval>,
    /// The denial.
    pub denial: Option<(DenyReason, String)>,
    /// A data subject's answer.
    pub answer: Option<String>,
    /// The officer of each change, in order (`None` for the requester's own intake).
    pub officers: Vec<String>,
    /// The officer who decided.
    pub decided_by: Option<String>,
    /// When the details were erased, if they were.
    pub erased: Option<Erasure>,
    /// The time of its last entry.
    pub last_at: Timestamp,
}

/// What an approval allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// Fields by the policy's names.
    pub fields: Vec<String>,
    /// Until when.
    pub valid_until: Timestamp,
    /// Why.
    pub rationale: String,
}

impl Record {
    /// The status now: an approval past its `valid_until` has expired.
    pub fn status_at(&self, now: Timestamp) -> Status {
        match (&self.status, &self.approval) {
            (Status::Approved, Some(a)) if now >= a.valid_until => Status::Expired,
            (s, _) => *s,
        }
    }

    /// Whether the identity is confirmed, by an officer or by the credential at intake.
    pub fn identity_confirmed(&self) -> bool {
        self.identity_at.is_some() || self.filed.credential.is_some()
    }

    /// When the request must be acknowledged.
    pub fn acknowledge_by(&self) -> Timestamp {
        parse_time(&self.filed.acknowledge_by).unwrap_or(self.received_at)
    }

    /// When the request must be decided.
    pub fn respond_by(&self) -> Timestamp {
        parse_time(&self.filed.respond_by).unwrap_or(self.received_at)
    }

    /// Open and not acknowledged past its clock.
    pub fn ack_overdue(&self, now: Timestamp) -> bool {
        self.status == Status::Received && now > self.acknowledge_by()
    }

    /// Open past its decision clock.
    pub fn decision_overdue(&self, now: Timestamp) -> bool {
        self.status.is_open() && now > self.respond_by()
    }

    /// Apply one later event (the chain's order). Events that do not fit the state are kept
    /// out by [`transition`]; here they are applied as recorded.
    pub fn apply(&mut self, event: &Event, at: Timestamp, officer: Option<&str>) {
        if let Some(o) = officer {
            self.officers.push(o.to_string());
        }
        self.last_at = self.last_at.max(at);
        match event {
            Event::Received(_) | Event::Checkpoint(_) => {}
            Event::Erased { reason } => {
                self.erased = Some(Erasure {
                    at,
                    officer: officer.map(str::to_string),
                    reason: reason.clone(),
                });
            }
            Event::Acknowledged => {
                self.acknowledged_at.get_or_insert(at);
                if self.status == Status::Received {
                    self.status = Status::Acknowledged;
                }
            }
            Event::IdentityConfirmed { method } => {
                self.identity_at = Some(at);
                self.identity_method = Some(method.clone());
                self.status = Status::IdentityConfirmed;
            }
            Event::Approved {
                fields,
                valid_until,
                rationale,
            } => {
                self.status = Status::Approved;
                self.decided_at = Some(at);
                self.decided_by = officer.map(str::to_string);
                self.approval = Some(Approval {
                    fields: fields.clone(),
                    valid_until: parse_time(valid_until).unwrap_or(at),
                    rationale: rationale.clone(),
                });
            }
            Event::Denied { reason, rationale } => {
                self.status = Status::Denied;
                self.decided_at = Some(at);
                self.decided_by = officer.map(str::to_string);
                self.denial = Some((*reason, rationale.clone()));
            }
            Event::Answered { outcome, .. } => {
                self.status = Status::Answered;
                self.decided_at = Some(at);
                self.decided_by = officer.map(str::to_string);
                self.answer = Some(outcome.clone());
            }
        }
    }

    /// A record from its first event.
    pub fn new(id: &str, filed: Received, at: Timestamp) -> Self {
        Self {
            id: id.to_string(),
            filed,
            received_at: at,
            status: Status::Received,
            acknowledged_at: None,
            identity_at: None,
            identity_method: None,
            decided_at: None,
            approval: None,
            denial: None,
            answer: None,
            officers: Vec::new(),
            decided_by: None,
            erased: None,
            last_at: at,
        }
    }
}

fn parse_time(s: &str) -> Option<Timestamp> {
    crate::registry::validate::datetime(s).ok()
}

/// What an officer does to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Acknowledge.
    Acknowledge,
    /// Confirm the identity (acknowledging too when needed). For a data subject,
    /// `subject_matches` says whether the confirmed identity (and the ROIDs the officer
    /// accepts) match anything in the data: `Some(false)` answers at once.
    ConfirmIdentity {
        /// How.
        method: String,
        /// For a data subject: whether anything matches.
        subject_matches: Option<bool>,
    },
    /// Approve.
    Approve {
        /// Fields by the policy's names.
        fields: Vec<String>,
        /// Until when.
        valid_until: Timestamp,
        /// Why.
        rationale: String,
    },
    /// Deny.
    Deny {
        /// Code.
        reason: DenyReason,
        /// Why.
        rationale: String,
    },
    /// Answer a data subject with a report.
    Answer {
        /// SHA-256 of the report given.
        report_sha256: String,
    },
    /// Erase the requester's details and the justification (any state).
    Erase {
        /// Why.
        reason: String,
    },
}

/// Why an action does not apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Not in a state that allows it.
    #[error("request {id} is {status}: {action} is not possible now")]
    State {
        /// The request.
        id: String,
        /// Its status.
        status: &'static str,
        /// The action.
        action: &'static str,
    },
    /// Approval before the identity is confirmed.
    #[error("request {0}: the requester's identity is not confirmed (confirm-identity first)")]
    IdentityNotConfirmed(String),
    /// A data subject's request is answered, not approved; others are approved, not answered.
    #[error("request {id} is from a {kind}: {action} does not apply")]
    WrongKind {
        /// The request.
        id: String,
        /// Its requester's kind.
        kind: &'static str,
        /// The action.
        action: &'static str,
    },
    /// A bad argument.
    #[error("{0}")]
    Argument(String),
}

/// The longest rationale, method or reason text an officer may record.
pub const MAX_OFFICER_TEXT: usize = 2000;

fn text_ok(what: &str, s: &str) -> Result<(), Refused> {
    if s.trim().is_empty() || s.chars().count() > MAX_OFFICER_TEXT {
        return Err(Refused::Argument(format!(
            "{what} must be 1 to {MAX_OFFICER_TEXT} characters"
        )));
    }
    Ok(())
}

/// The events `action` appends to `record` at `now`, or why it may not. Pure.
///
/// # Errors
/// The action does not fit the request's state or kind, or an argument is bad.
pub fn transition(record: &Record, action: &Action, now: Timestamp) -> Result<Vec<Event>, Refused> {
    let status = record.status_at(now);
    let wrong_state = |action: &'static str| Refused::State {
        id: record.id.clone(),
        status: status.key(),
        action,
    };
    let subject = record.filed.kind == RequesterKind::DataSubject;
    let mut events = Vec::new();
    match action {
        Action::Acknowledge => {
            if status != Status::Received {
                return Err(wrong_state("acknowledge"));
            }
            events.push(Event::Acknowledged);
        }
        Action::ConfirmIdentity {
            method,
            subject_matches,
        } => {
            text_ok("--method", method)?;
            if !matches!(status, Status::Received | Status::Acknowledged) {
                return Err(wrong_state("confirm-identity"));
            }
            if status == Status::Received {
                events.push(Event::Acknowledged);
            }
            events.push(Event::IdentityConfirmed {
                method: method.clone(),
            });
            if subject && *subject_matches == Some(false) {
                events.push(Event::Answered {
                    outcome: NO_SUCH_DATA.to_string(),
                    report_sha256: None,
                });
            }
        }
        Action::Approve {
            fields,
            valid_until,
            rationale,
        } => {
            if subject {
                return Err(Refused::WrongKind {
                    id: record.id.clone(),
                    kind: record.filed.kind.key(),
                    action: "approve",
                });
            }
            if !status.is_open() {
                return Err(wrong_state("approve"));
            }
            if !record.identity_confirmed() {
                return Err(Refused::IdentityNotConfirmed(record.id.clone()));
            }
            text_ok("--rationale", rationale)?;
            if fields.is_empty() {
                return Err(Refused::Argument("--fields names no field".into()));
            }
            if *valid_until <= now {
                return Err(Refused::Argument(
                    "--valid-until must lie in the future".into(),
                ));
            }
            if status == Status::Received {
                events.push(Event::Acknowledged);
            }
            events.push(Event::Approved {
                fields: fields.clone(),
                valid_until: valid_until.text().to_string(),
                rationale: rationale.clone(),
            });
        }
        Action::Deny { reason, rationale } => {
            text_ok("--rationale", rationale)?;
            if !status.is_open() {
                return Err(wrong_state("deny"));
            }
            if status == Status::Received {
                events.push(Event::Acknowledged);
            }
            events.push(Event::Denied {
                reason: *reason,
                rationale: rationale.clone(),
            });
        }
        Action::Answer { report_sha256 } => {
            if !subject {
                return Err(Refused::WrongKind {
                    id: record.id.clone(),
                    kind: record.filed.kind.key(),
                    action: "answer",
                });
            }
            if status != Status::IdentityConfirmed {
                return Err(if status.is_open() {
                    Refused::IdentityNotConfirmed(record.id.clone())
                } else {
                    wrong_state("answer")
                });
            }
            events.push(Event::Answered {
                outcome: "report attached".into(),
                report_sha256: Some(report_sha256.clone()),
            });
        }
        Action::Erase { reason } => {
            text_ok("--reason", reason)?;
            if record.erased.is_some() {
                return Err(Refused::Argument(format!(
                    "request {}: its details were already erased",
                    record.id
                )));
            }
            events.push(Event::Erased {
                reason: reason.clone(),
            });
        }
    }
    Ok(events)
}

/// Whether a purpose fits the requester's kind: one of the policy's, or for a data subject a
/// right.
pub fn purpose_for(kind: RequesterKind, purpose: &str) -> bool {
    match kind {
        RequesterKind::DataSubject => SubjectRight::ALL.iter().any(|r| r.key() == purpose),
        _ => Purpose::parse(purpose).is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        crate::registry::validate::datetime(s).expect("time")
    }

    fn record(kind: RequesterKind, credential: Option<&str>) -> Record {
        Record::new(
            "r1",
            Received {
                kind,
                purpose: "court-order".into(),
                jurisdiction: "CH".into(),
                legal_basis: "b".into(),
                case_reference: "c".into(),
                urgent: None,
                objects: vec!["example.example".into()],
                fields: None,
                token_sha256: String::new(),
                credential: credential.map(str::to_string),
                acknowledge_by: "2026-06-03T00:00:00Z".into(),
                respond_by: "2026-07-01T00:00:00Z".into(),
                details_sha256: String::new(),
            },
            at("2026-06-01T00:00:00Z"),
        )
    }

    fn run(r: &mut Record, a: &Action, now: &str) -> Result<(), Refused> {
        let now = at(now);
        for e in transition(r, a, now)? {
            r.apply(&e, now, Some("officer"));
        }
        Ok(())
    }

    fn approve(until: &str) -> Action {
        Action::Approve {
            fields: vec!["name".into()],
            valid_until: at(until),
            rationale: "ok".into(),
        }
    }

    #[test]
    fn the_happy_path_and_expiry() {
        let mut r = record(RequesterKind::PublicAuthority, None);
        assert!(matches!(
            run(
                &mut r,
                &approve("2026-09-01T00:00:00Z"),
                "2026-06-01T01:00:00Z"
            ),
            Err(Refused::IdentityNotConfirmed(_))
        ));
        run(&mut r, &Action::Acknowledge, "2026-06-01T01:00:00Z").expect("ack");
        assert_eq!(r.status, Status::Acknowledged);
        assert!(run(&mut r, &Action::Acknowledge, "2026-06-01T01:00:00Z").is_err());
        let confirm = Action::ConfirmIdentity {
            method: "call-back".into(),
            subject_matches: None,
        };
        run(&mut r, &confirm, "2026-06-01T02:00:00Z").expect("confirm");
        assert_eq!(r.status, Status::IdentityConfirmed);
        // Not in the past.
        assert!(run(
            &mut r,
            &approve("2026-06-01T00:00:00Z"),
            "2026-06-01T03:00:00Z"
        )
        .is_err());
        run(
            &mut r,
            &approve("2026-09-01T00:00:00Z"),
            "2026-06-01T03:00:00Z",
        )
        .expect("approve");
        assert_eq!(r.status_at(at("2026-08-31T23:59:59Z")), Status::Approved);
        assert_eq!(r.status_at(at("2026-09-01T00:00:00Z")), Status::Expired);
        // Closed: nothing more.
        let deny = Action::Deny {
            reason: DenyReason::Other,
            rationale: "x".into(),
        };
        assert!(run(&mut r, &deny, "2026-06-02T00:00:00Z").is_err());
    }

    #[test]
    fn confirm_identity_acknowledges_and_a_credential_confirms_at_intake() {
        let mut r = record(RequesterKind::ThirdParty, None);
        let confirm = Action::ConfirmIdentity {
            method: "id card".into(),
            subject_matches: None,
        };
        run(&mut r, &confirm, "2026-06-01T01:00:00Z").expect("confirm");
        assert!(r.acknowledged_at.is_some());
        assert_eq!(r.status, Status::IdentityConfirmed);

        let mut r = record(RequesterKind::PublicAuthority, Some("cred1"));
        run(
            &mut r,
            &approve("2026-09-01T00:00:00Z"),
            "2026-06-01T01:00:00Z",
        )
        .expect("approve");
        assert!(r.acknowledged_at.is_some());
        assert_eq!(r.status, Status::Approved);
    }

    #[test]
    fn denial_from_any_open_state_needs_a_rationale() {
        for steps in 0..3 {
            let mut r = record(RequesterKind::PublicAuthority, None);
            if steps >= 1 {
                run(&mut r, &Action::Acknowledge, "2026-06-01T01:00:00Z").expect("ack");
            }
            if steps >= 2 {
                let c = Action::ConfirmIdentity {
                    method: "m".into(),
                    subject_matches: None,
                };
                run(&mut r, &c, "2026-06-01T01:00:00Z").expect("confirm");
            }
            let empty = Action::Deny {
                reason: DenyReason::InsufficientBasis,
                rationale: " ".into(),
            };
            assert!(run(&mut r, &empty, "2026-06-01T02:00:00Z").is_err());
            let deny = Action::Deny {
                reason: DenyReason::InsufficientBasis,
                rationale: "no basis".into(),
            };
            run(&mut r, &deny, "2026-06-01T02:00:00Z").expect("deny");
            assert_eq!(r.status, Status::Denied);
        }
    }

    #[test]
    fn a_data_subject_is_answered_at_once_when_nothing_matches_never_before() {
        let mut r = record(RequesterKind::DataSubject, None);
        r.filed.purpose = "access".into();
        assert!(matches!(
            run(
                &mut r,
                &approve("2026-09-01T00:00:00Z"),
                "2026-06-01T01:00:00Z"
            ),
            Err(Refused::WrongKind { .. })
        ));
        let answer = Action::Answer {
            report_sha256: "0".into(),
        };
        assert!(matches!(
            run(&mut r, &answer, "2026-06-01T01:00:00Z"),
            Err(Refused::IdentityNotConfirmed(_))
        ));
        assert_eq!(r.status, Status::Received);
        let confirm = Action::ConfirmIdentity {
            method: "m".into(),
            subject_matches: Some(false),
        };
        run(&mut r, &confirm, "2026-06-01T01:00:00Z").expect("confirm");
        assert_eq!(r.status, Status::Answered);
        assert_eq!(r.answer.as_deref(), Some(NO_SUCH_DATA));

        let mut r = record(RequesterKind::DataSubject, None);
        let confirm = Action::ConfirmIdentity {
            method: "m".into(),
            subject_matches: Some(true),
        };
        run(&mut r, &confirm, "2026-06-01T01:00:00Z").expect("confirm");
        assert_eq!(r.status, Status::IdentityConfirmed);
        run(&mut r, &answer, "2026-06-02T01:00:00Z").expect("answer");
        assert_eq!(r.status, Status::Answered);
    }

    #[test]
    fn overdue_clocks() {
        let r = record(RequesterKind::PublicAuthority, None);
        assert!(!r.ack_overdue(at("2026-06-02T00:00:00Z")));
        assert!(r.ack_overdue(at("2026-06-03T00:00:01Z")));
        assert!(r.decision_overdue(at("2026-07-01T00:00:01Z")));
    }

    #[test]
    fn purposes_by_kind() {
        assert!(purpose_for(RequesterKind::PublicAuthority, "court-order"));
        assert!(!purpose_for(RequesterKind::PublicAuthority, "access"));
        assert!(purpose_for(RequesterKind::DataSubject, "erasure"));
        assert!(!purpose_for(RequesterKind::DataSubject, "court-order"));
    }
}
