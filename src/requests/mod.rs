//! Requests that need a decision (issue #25): a tracked disclosure workflow for those without
//! a standing credential — an authority the registry never issued a credential to, a third
//! party with a legitimate interest, the person the data is about.
//!
//! - [`intake`]: the body of `POST {base}requests`, checked (pure);
//! - [`model`]: the state machine (pure);
//! - [`calendar`]: the clocks (business days, holidays, a time zone; pure);
//! - [`chain`]: the hash-chained record and its verification (pure);
//! - [`store`]: the [`Store`] trait and the file store; the PostgreSQL store is
//!   `crate::db::requests`, injected from above;
//! - [`report`]: the monthly report, without personal data (pure).
//!
//! [`Requests`] holds them together for the server: the intake rate per client network, the
//! filing, the requester's reads, and what the metrics show. The grant behind a disclosure is
//! issued by the authority service, and only for an [`Approved`] request, which only this module
//! makes (from a record that is approved and within its `valid-until`).

pub mod calendar;
pub mod chain;
pub mod intake;
pub mod model;
pub mod report;
pub mod retention;
pub mod store;

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::DefaultClock;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

pub use calendar::{Calendar, Span};
pub use chain::{sha256_hex, Book};
pub use model::{Record, RequesterKind, Status};
pub use store::{FileStore, Store, StoreError};

use crate::limit::client::NetKey;
use crate::policy::Purpose;
use crate::registry::{ContactField, Timestamp};

/// The requester's details and the justification: personal data, kept beside the chain (the
/// chain holds their hash) so retention and erasure can remove them. Read only by the privacy
/// officer (`rddsd requests show`); never in the server log, the metrics or an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Details {
    /// The requester's name.
    pub name: String,
    /// The requester's e-mail address.
    pub email: String,
    /// The requester's organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// Why they ask.
    pub justification: String,
}

impl Details {
    /// The bytes kept (and hashed).
    pub fn bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Their hash, as the chain holds it.
    pub fn sha256(&self) -> String {
        sha256_hex(&self.bytes())
    }
}

/// `[requests]` settings, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestsSettings {
    /// The file store (empty with `log_database`).
    pub log: PathBuf,
    /// The PostgreSQL URL of a record kept in the database.
    pub log_database: Option<String>,
    /// Time to acknowledge.
    pub acknowledge: Span,
    /// Time to decide.
    pub respond: Span,
    /// Time to decide an urgent request.
    pub urgent: Span,
    /// The business-day calendar.
    pub calendar: Calendar,
    /// Requests filed per minute per client network ...
    pub intake_per_minute: NonZeroU32,
    /// ... with this burst.
    pub intake_burst: NonZeroU32,
}

impl RequestsSettings {
    /// The defaults around a store.
    pub fn new(log: PathBuf, log_database: Option<String>) -> Self {
        Self {
            log,
            log_database,
            acknowledge: Span::BusinessDays(2),
            respond: Span::Fixed(Duration::from_secs(30 * 86_400)),
            urgent: Span::Fixed(Duration::from_secs(86_400)),
            calendar: Calendar::default(),
            intake_per_minute: NonZeroU32::new(5).unwrap_or(NonZeroU32::MIN),
            intake_burst: NonZeroU32::new(5).unwrap_or(NonZeroU32::MIN),
        }
    }

    /// The deadlines of a request filed at `now`: acknowledge by, respond by.
    pub fn deadlines(&self, now: Timestamp, urgent: bool) -> (Timestamp, Timestamp) {
        let ack = self.calendar.add(now, self.acknowledge);
        if urgent {
            let due = self.calendar.add(now, self.urgent);
            (ack.min(due), due)
        } else {
            (ack, self.calendar.add(now, self.respond))
        }
    }
}

/// A request approved and within its `valid-until`: what the authority service needs to issue
/// the grant for its disclosure. Made only here ([`Requests::approved`]); its fields are
/// private, so no other code can make one.
#[derive(Debug, Clone)]
pub struct Approved {
    id: String,
    purpose: Purpose,
    legal_basis: String,
    case_reference: String,
    jurisdiction: String,
    kind: RequesterKind,
    officer: String,
    rationale: String,
    fields: Vec<ContactField>,
    objects: Vec<String>,
    credential: Option<String>,
}

impl Approved {
    /// The request id.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The purpose.
    pub fn purpose(&self) -> Purpose {
        self.purpose
    }
    /// Legal basis as stated.
    pub fn legal_basis(&self) -> &str {
        &self.legal_basis
    }
    /// Case reference as stated.
    pub fn case_reference(&self) -> &str {
        &self.case_reference
    }
    /// The requester's jurisdiction.
    pub fn jurisdiction(&self) -> &str {
        &self.jurisdiction
    }
    /// The requester's kind.
    pub fn kind(&self) -> RequesterKind {
        self.kind
    }
    /// The officer who approved it.
    pub fn officer(&self) -> &str {
        &self.officer
    }
    /// Why.
    pub fn rationale(&self) -> &str {
        &self.rationale
    }
    /// The approved fields.
    pub fn fields(&self) -> &[ContactField] {
        &self.fields
    }
    /// The objects asked about (`domain:…`, `contact:…`).
    pub fn objects(&self) -> &[String] {
        &self.objects
    }
    /// The credential that filed it, if any.
    pub fn credential(&self) -> Option<&str> {
        self.credential.as_deref()
    }
}

/// What the requester may fetch of a request.
#[derive(Debug)]
pub enum Release {
    /// No such request, or not theirs: one answer for all.
    Unknown,
    /// Not decided yet (409).
    Undecided,
    /// Decided without a disclosure (denied, answered).
    Nothing,
    /// Approved, past `valid-until` (410).
    Expired,
    /// Approved.
    Approved(Box<Approved>),
}

/// A filed request, as the requester is told.
#[derive(Debug, Clone)]
pub struct Filed {
    /// The id.
    pub id: String,
    /// The access token (shown once).
    pub token: String,
    /// `received`.
    pub status: Status,
    /// When it will be acknowledged at the latest.
    pub acknowledge_by: Timestamp,
    /// When it will be decided at the latest.
    pub respond_by: Timestamp,
}

/// Who the requester proved to be with a credential at intake.
#[derive(Debug, Clone)]
pub struct Credentialed {
    /// The credential id.
    pub id: String,
    /// Its jurisdiction.
    pub jurisdiction: String,
}

/// Why a request could not be filed.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// No secure randomness for the id and token.
    #[error("no secure randomness")]
    Randomness,
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
}

type IntakeLimiter = RateLimiter<NetKey, HashMapStateStore<NetKey>, DefaultClock>;

/// What the metrics need of one open request.
#[derive(Debug, Clone, Copy)]
struct OpenRequest {
    status: Status,
    urgent: bool,
    received: i64,
    ack_by: i64,
    respond_by: i64,
}

/// The workflow on a server.
pub struct Requests {
    store: Arc<dyn Store>,
    settings: RequestsSettings,
    intake: IntakeLimiter,
    /// Open requests as last read, for the metrics.
    open: Mutex<Option<Vec<OpenRequest>>>,
}

/// The prefix of an access token.
pub const TOKEN_PREFIX: &str = "rqt_";
/// The prefix of a request id.
pub const ID_PREFIX: &str = "rq-";

/// Whether `id` has the form of a request id (`rq-` and 24 lower-case hex digits).
pub fn id_well_formed(id: &str) -> bool {
    id.strip_prefix(ID_PREFIX).is_some_and(|h| {
        h.len() == 24
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn random_hex(n: usize) -> Result<String, FileError> {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).map_err(|_| FileError::Randomness)?;
    Ok(hex::encode(b))
}

impl Requests {
    /// The workflow over `store`.
    pub fn new(settings: RequestsSettings, store: Arc<dyn Store>) -> Self {
        let quota =
            Quota::per_minute(settings.intake_per_minute).allow_burst(settings.intake_burst);
        Self {
            store,
            intake: RateLimiter::keyed(quota),
            settings,
            open: Mutex::new(None),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &RequestsSettings {
        &self.settings
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Charge one intake to the client network's own (lower) rate; when spent, how long to
    /// wait.
    pub fn admit(&self, key: NetKey) -> Result<(), Duration> {
        self.intake
            .check_key(&key)
            .map_err(|nu| nu.wait_time_from(governor::clock::Clock::now(&DefaultClock::default())))
    }

    /// File a request. The answer says nothing about whether its objects exist.
    ///
    /// # Errors
    /// No randomness, or the store.
    pub async fn file(
        &self,
        intake: intake::Intake,
        credential: Option<Credentialed>,
        now: Timestamp,
    ) -> Result<Filed, FileError> {
        let id = format!("{ID_PREFIX}{}", random_hex(12)?);
        let token = format!("{TOKEN_PREFIX}{}", random_hex(32)?);
        let (ack, respond) = self.settings.deadlines(now, intake.urgent.is_some());
        let filed = model::Received {
            kind: intake.kind,
            purpose: intake.purpose,
            jurisdiction: credential
                .as_ref()
                .map_or(intake.jurisdiction, |c| c.jurisdiction.clone()),
            legal_basis: intake.legal_basis,
            case_reference: intake.case_reference,
            urgent: intake.urgent,
            objects: intake.objects,
            fields: intake.fields,
            token_sha256: sha256_hex(token.as_bytes()),
            credential: credential.map(|c| c.id),
            acknowledge_by: ack.text().to_string(),
            respond_by: respond.text().to_string(),
            details_sha256: intake.details.sha256(),
        };
        let pending = store::Pending {
            request: id.clone(),
            officer: None,
            event: model::Event::Received(filed),
            details: Some(intake.details),
            erase_details: false,
        };
        self.store
            .change(now, Box::new(move |_| Ok(vec![pending])))
            .await?;
        Ok(Filed {
            id,
            token,
            status: Status::Received,
            acknowledge_by: ack,
            respond_by: respond,
        })
    }

    /// The request `id` if `token` (an access token) or `credential` (the id of the credential
    /// the bearer authenticated with) is its requester's. `None` for a malformed id, an unknown
    /// one, a wrong token: the same.
    ///
    /// # Errors
    /// The store.
    pub async fn find(
        &self,
        id: &str,
        token: Option<&str>,
        credential: Option<&str>,
    ) -> Result<Option<Record>, StoreError> {
        if !id_well_formed(id) {
            return Ok(None);
        }
        let book = self.store.read().await?;
        self.remember(&book);
        let Some(r) = book.records.get(id) else {
            return Ok(None);
        };
        let by_token = token.is_some_and(|t| {
            bool::from(
                sha256_hex(t.as_bytes())
                    .as_bytes()
                    .ct_eq(r.filed.token_sha256.as_bytes()),
            )
        });
        let by_credential = credential.is_some() && credential == r.filed.credential.as_deref();
        Ok((by_token || by_credential).then(|| r.clone()))
    }

    /// What the requester of `id` may fetch now.
    ///
    /// # Errors
    /// The store.
    pub async fn release(
        &self,
        id: &str,
        token: Option<&str>,
        credential: Option<&str>,
        now: Timestamp,
    ) -> Result<Release, StoreError> {
        let Some(r) = self.find(id, token, credential).await? else {
            return Ok(Release::Unknown);
        };
        Ok(match r.status_at(now) {
            s if s.is_open() => Release::Undecided,
            Status::Expired => Release::Expired,
            Status::Approved => match approved_of(&r) {
                Some(a) => Release::Approved(Box::new(a)),
                None => Release::Nothing,
            },
            _ => Release::Nothing,
        })
    }

    /// Read the store again for the metrics (the servers do it every few seconds, so a
    /// change made with the CLI shows there too), and forget idle intake buckets.
    ///
    /// # Errors
    /// The store.
    pub async fn refresh(&self) -> Result<(), StoreError> {
        let book = self.store.read().await?;
        self.remember(&book);
        self.intake.retain_recent();
        Ok(())
    }

    fn remember(&self, book: &Book) {
        let open = book
            .records
            .values()
            .filter(|r| r.status.is_open())
            .map(|r| OpenRequest {
                status: r.status,
                urgent: r.filed.urgent.is_some(),
                received: r.received_at.unix(),
                ack_by: r.acknowledge_by().unix(),
                respond_by: r.respond_by().unix(),
            })
            .collect();
        *self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(open);
    }

    /// The metrics now (`None` until the store was read once).
    pub fn gauges(&self, now: Timestamp) -> Option<crate::metrics::RequestGauges> {
        let open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()?;
        Some(gauges_of(&open, now.unix()))
    }
}

/// How often a server reads the record again for its metrics.
pub const REFRESH: Duration = Duration::from_secs(2);

/// Keep the metrics in step with the record (changes made with the CLI or on other nodes)
/// until `shutdown`.
pub async fn follow(requests: Arc<Requests>, shutdown: tokio_util::sync::CancellationToken) {
    let mut tick = tokio::time::interval(REFRESH);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => match requests.refresh().await {
                Ok(()) => failing = false,
                Err(e) => {
                    if !failing {
                        tracing::error!(error = %e, "the request record cannot be read");
                    }
                    failing = true;
                }
            },
        }
    }
}

fn gauges_of(open: &[OpenRequest], now: i64) -> crate::metrics::RequestGauges {
    let mut g = crate::metrics::RequestGauges::default();
    for o in open {
        let i = match o.status {
            Status::Received => 0,
            Status::Acknowledged => 1,
            _ => 2,
        };
        g.open[i][usize::from(o.urgent)] += 1;
        if o.status == Status::Received && now > o.ack_by {
            g.ack_overdue += 1;
        }
        if now > o.respond_by {
            g.decision_overdue += 1;
        }
        if o.urgent {
            g.oldest_urgent_secs = g.oldest_urgent_secs.max(now.saturating_sub(o.received));
        }
    }
    g
}

/// The [`Approved`] of an approved record (the only maker of one).
fn approved_of(r: &Record) -> Option<Approved> {
    let a = r.approval.as_ref()?;
    Some(Approved {
        id: r.id.clone(),
        purpose: Purpose::parse(&r.filed.purpose)?,
        legal_basis: r.filed.legal_basis.clone(),
        case_reference: r.filed.case_reference.clone(),
        jurisdiction: r.filed.jurisdiction.clone(),
        kind: r.filed.kind,
        officer: r.decided_by.clone().unwrap_or_default(),
        rationale: a.rationale.clone(),
        fields: a.fields.iter().filter_map(|f| intake::field(f)).collect(),
        objects: r.filed.objects.clone(),
        credential: r.filed.credential.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_by_form() {
        assert!(id_well_formed("rq-0123456789abcdef01234567"));
        for bad in [
            "",
            "rq-",
            "rq-0123456789ABCDEF01234567",
            "rq-0123456789abcdef0123456",
            "../../etc/passwd",
            "rq-0123456789abcdef0123456g",
        ] {
            assert!(!id_well_formed(bad), "{bad}");
        }
    }

    #[test]
    fn urgent_requests_are_due_within_the_urgent_clock() {
        let s = RequestsSettings::new(PathBuf::from("x"), None);
        let now = crate::registry::validate::datetime("2026-06-05T10:00:00Z").expect("t");
        let (ack, due) = s.deadlines(now, false);
        assert_eq!(ack.text().to_string(), "2026-06-09T10:00:00Z");
        assert_eq!(due.text().to_string(), "2026-07-05T10:00:00Z");
        let (ack, due) = s.deadlines(now, true);
        assert_eq!(due.text().to_string(), "2026-06-06T10:00:00Z");
        assert_eq!(ack, due);
    }

    #[test]
    fn gauges_count_open_overdue_and_the_oldest_urgent() {
        let o = |status, urgent, received, ack_by, respond_by| OpenRequest {
            status,
            urgent,
            received,
            ack_by,
            respond_by,
        };
        let g = gauges_of(
            &[
                o(Status::Received, true, 100, 150, 200),
                o(Status::Acknowledged, false, 0, 50, 1000),
                o(Status::IdentityConfirmed, true, 180, 200, 400),
            ],
            300,
        );
        assert_eq!(g.open[0][1], 1);
        assert_eq!(g.open[1][0], 1);
        assert_eq!(g.open[2][1], 1);
        assert_eq!((g.ack_overdue, g.decision_overdue), (1, 1));
        assert_eq!(g.oldest_urgent_secs, 200);
    }
}
