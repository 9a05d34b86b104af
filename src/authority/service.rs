//! The authority side of a disclosure: checking who asks and why ([`Authority::authorize`],
//! which issues the [`Grant`]), and recording what left ([`Authority::record`]). The lookup,
//! redaction and rendering between the two are the same as for the public
//! ([`crate::resolve`]); the HTTP glue is in [`crate::rdap`].
//!
//! Order of checks, each failing closed with no data and no log entry (the denylist, 403, is
//! applied before any of them by the HTTP layer):
//! 1. the client network's budget of failed authentications — otherwise 429, before the token
//!    is even looked at, so guessing stops once the budget is spent;
//! 2. a valid credential (`Authorization: Bearer`): a registry credential, or a JWT from a
//!    trusted identity provider ([`super::federation`]) — otherwise 401 with
//!    `WWW-Authenticate`, the same whether or not the object exists, because nothing is looked
//!    up yet; the failure is charged to the client network;
//! 3. the credential's own rate limit — otherwise 429;
//! 4. a stated purpose, legal basis and case reference — otherwise 400 (403 if the purpose is
//!    not one the credential was issued for, or, for a JWT, not one its
//!    `rdap_allowed_purposes` claim and its issuer allow); a do-not-track request
//!    (`farv1_dnt=true`) — 403, because every disclosure is logged;
//! 5. a writable disclosure log — otherwise 503;
//!
//! Then, outside this module: the lookup with the grant's view (404 if absent) and rendering;
//! then [`Authority::record`] hands the entry to the log's writer thread and **waits until it
//! is durable** (bounded by [`APPEND_TIMEOUT`]); only then is the answer written. Otherwise:
//! 503, nothing disclosed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use std::time::{Duration, Instant};

use governor::clock::DefaultClock;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};

use super::credentials::{AuthFailure, Credentials};
use super::federation::{looks_like_jwt, Federation, FederationSettings, JwtFailure};
use super::log::{
    sha256_hex, DisclosedContact, Disclosure, DisclosureLog, LogError, APPEND_TIMEOUT,
};
use crate::limit::client::NetKey;
use crate::policy::access::{CredentialKind, Grant, GrantParts, IssueToken, Purpose};
use crate::registry::Timestamp;

/// `[authority]` settings, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthoritySettings {
    /// Credentials file (empty when `credentials_database` is set).
    pub credentials: PathBuf,
    /// The PostgreSQL URL of credentials kept in the database ([`crate::db::credentials`],
    /// re-read every few seconds by the node); `None`: the file `credentials`.
    pub credentials_database: Option<String>,
    /// Disclosure log file (empty when `log_database` is set).
    pub log: PathBuf,
    /// The PostgreSQL URL of a disclosure log kept in the database (one chain for the
    /// cluster, [`crate::db::disclosures`]); `None`: the file `log`.
    pub log_database: Option<String>,
    /// Requests per minute per credential.
    pub rate_per_minute: NonZeroU32,
    /// Burst per credential.
    pub burst: NonZeroU32,
    /// Searches on the authority route.
    pub search: SearchSettings,
    /// Transparency (Merkle tree, signed checkpoints, receipts), when a signing key is set.
    pub transparency: Option<crate::authority::transparency::TlogSettings>,
    /// Federated credentials (RFC 9560), when issuers are configured.
    pub federation: Option<FederationSettings>,
}

/// `[authority]` search settings, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchSettings {
    /// Page size and the cap on results per search.
    pub limits: crate::search::Limits,
    /// What one search page costs of the credential's rate limit, in requests (a lookup costs
    /// one): a page reads and discloses up to a page of objects, not one.
    pub cost: NonZeroU32,
}

/// The longest statement field accepted.
pub const MAX_STATEMENT_CHARS: usize = 200;

/// Header names for the statement (query parameters `purpose`, `legalBasis`, `caseReference`
/// are accepted too).
pub const PURPOSE_HEADER: &str = "rdds-purpose";
/// See [`PURPOSE_HEADER`].
pub const LEGAL_BASIS_HEADER: &str = "rdds-legal-basis";
/// See [`PURPOSE_HEADER`].
pub const CASE_REFERENCE_HEADER: &str = "rdds-case-reference";

/// What the requester states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Purpose.
    pub purpose: Purpose,
    /// Legal basis.
    pub legal_basis: String,
    /// Case reference.
    pub case_reference: String,
}

/// Why a statement is refused (400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementError(pub String);

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| {
            percent_encoding::percent_decode_str(&v.replace('+', " "))
                .decode_utf8()
                .ok()
                .map(|c| c.into_owned())
        })?
    })
}

/// Parse the statement from headers (first) or query parameters. Pure.
///
/// # Errors
/// A missing, empty, overlong or non-text field, or an unknown purpose.
pub fn statement(
    header: impl Fn(&str) -> Option<Vec<u8>>,
    query: Option<&str>,
) -> Result<Statement, StatementError> {
    let field = |h: &str, q: &str, label: &str| -> Result<String, StatementError> {
        let raw = match header(h) {
            Some(bytes) => String::from_utf8(bytes)
                .map_err(|_| StatementError(format!("{label} is not UTF-8 text")))?,
            None => query_param(query, q).ok_or_else(|| {
                StatementError(format!(
                    "{label} is required: send the {h} header or the {q} query parameter"
                ))
            })?,
        };
        let v = raw.trim().to_string();
        if v.is_empty()
            || v.chars().count() > MAX_STATEMENT_CHARS
            || v.chars().any(char::is_control)
        {
            return Err(StatementError(format!(
                "{label} must be 1 to {MAX_STATEMENT_CHARS} characters of text"
            )));
        }
        Ok(v)
    };
    let purpose = field(PURPOSE_HEADER, "purpose", "the purpose")?;
    let purpose = Purpose::parse(&purpose).ok_or_else(|| {
        let known: Vec<&str> = Purpose::ALL.iter().map(|p| p.key()).collect();
        StatementError(format!("unknown purpose; one of: {}", known.join(", ")))
    })?;
    Ok(Statement {
        purpose,
        legal_basis: field(LEGAL_BASIS_HEADER, "legalBasis", "the legal basis")?,
        case_reference: field(CASE_REFERENCE_HEADER, "caseReference", "the case reference")?,
    })
}

/// Header by which an authority asks that a disclosure be withheld from the person it concerns
/// until a date, so an investigation is not revealed by the person's own access request (query
/// parameter `withholdUntil`). RFC 9560 defines no such parameter (only a purpose and a
/// do-not-track parameter), nor does the ICANN RDAP profile, so rddsd names its own, beside its
/// statement headers.
pub const WITHHOLD_HEADER: &str = "rdds-withhold-until";
/// The query parameter form of [`WITHHOLD_HEADER`].
pub const WITHHOLD_PARAM: &str = "withholdUntil";
/// The longest withholding accepted, in days after the request (two years): a longer one needs
/// a fresh request, so no disclosure stays hidden from the person indefinitely by default.
pub const MAX_WITHHOLD_DAYS: i64 = 731;

/// Parse a withholding request from the header (first) or the query parameter: `YYYY-MM-DD`
/// (00:00 UTC of that day) or an RFC 3339 date-time, later than `now` and at most
/// [`MAX_WITHHOLD_DAYS`] after it. `None` when neither is sent. Pure: `now` is given.
///
/// # Errors
/// A value that is not text, not a date, not in the future or too far ahead.
pub fn withhold_until(
    header: impl Fn(&str) -> Option<Vec<u8>>,
    query: Option<&str>,
    now: Timestamp,
) -> Result<Option<Timestamp>, StatementError> {
    // A parameter that is present but unreadable is refused, never taken as absent: that
    // would disclose without the withholding the authority asked for.
    let in_query = query.is_some_and(|q| {
        q.split('&')
            .any(|pair| pair.split('=').next() == Some(WITHHOLD_PARAM))
    });
    let raw = match (header(WITHHOLD_HEADER), in_query) {
        (Some(_), true) => {
            return Err(StatementError(format!(
                "send RDDS-Withhold-Until or {WITHHOLD_PARAM}, not both"
            )))
        }
        (Some(bytes), false) => String::from_utf8(bytes)
            .map_err(|_| StatementError("RDDS-Withhold-Until is not UTF-8 text".into()))?,
        (None, true) => query_param(query, WITHHOLD_PARAM).ok_or_else(|| {
            StatementError(format!(
                "{WITHHOLD_PARAM} must be given as {WITHHOLD_PARAM}=DATE in percent-encoded UTF-8"
            ))
        })?,
        (None, false) => return Ok(None),
    };
    let v = raw.trim();
    let bad =
        |why: &str| StatementError(format!("RDDS-Withhold-Until (or {WITHHOLD_PARAM}) {why}"));
    // Bounded before parsing; the longest RFC 3339 form with fractions is well under this.
    if v.is_empty() || v.len() > 40 {
        return Err(bad(
            "must be a date such as 2027-06-30 or an RFC 3339 date-time",
        ));
    }
    let full = if v.len() == 10 {
        format!("{v}T00:00:00Z")
    } else {
        v.to_string()
    };
    let until = crate::registry::validate::datetime(&full)
        .map_err(|_| bad("must be a date such as 2027-06-30 or an RFC 3339 date-time"))?;
    if until <= now {
        return Err(bad("must lie in the future"));
    }
    let latest = Timestamp::from_unix(now.unix().saturating_add(MAX_WITHHOLD_DAYS * 86_400));
    if until > latest {
        return Err(bad(&format!(
            "may lie at most {MAX_WITHHOLD_DAYS} days ahead (not after {})",
            latest.text()
        )));
    }
    Ok(Some(until))
}

type CredentialLimiter = RateLimiter<String, HashMapStateStore<String>, DefaultClock>;

/// Failed authentications a client network may make at once ...
pub const AUTH_FAILURE_BURST: u32 = 10;
/// ... and one more per this interval after that.
pub const AUTH_FAILURE_INTERVAL: Duration = Duration::from_secs(60);
/// Client networks whose failures are tracked at most (memory bound).
const AUTH_FAILURE_TRACKED: usize = 10_000;

/// Failed authentications per client network: a token bucket kept as the time its debt is paid
/// off (GCRA). Authority traffic is small, so a plain map behind a short mutex (never held across
/// I/O) is enough.
struct FailureMeter {
    debt_until: Mutex<HashMap<NetKey, Instant>>,
}

impl FailureMeter {
    /// How long `key` must wait before it may try again, if its failure budget is spent.
    fn refused(&self, key: NetKey, now: Instant) -> Option<Duration> {
        let map = self
            .debt_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let debt = map.get(&key)?.saturating_duration_since(now);
        let allowed = AUTH_FAILURE_INTERVAL * (AUTH_FAILURE_BURST - 1);
        (debt > allowed).then(|| debt - allowed)
    }

    /// Charge one failed authentication to `key`.
    fn charge(&self, key: NetKey, now: Instant) {
        let mut map = self
            .debt_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= AUTH_FAILURE_TRACKED && !map.contains_key(&key) {
            map.retain(|_, until| *until > now);
            if map.len() >= AUTH_FAILURE_TRACKED {
                // Still full of active failers: forget the one closest to being paid off.
                if let Some(k) = map.iter().min_by_key(|(_, u)| **u).map(|(k, _)| *k) {
                    map.remove(&k);
                }
            }
        }
        let until = map.entry(key).or_insert(now);
        *until = (*until).max(now) + AUTH_FAILURE_INTERVAL;
    }
}

/// The authority side of the server state.
pub struct Authority {
    /// The right to issue grants: only this service holds one.
    issuer: IssueToken,
    settings: AuthoritySettings,
    credentials: ArcSwap<Credentials>,
    log: DisclosureLog,
    /// The transparency view (tree, checkpoints), when a signing key is set.
    transparency: Option<Arc<super::transparency::store::Shared>>,
    limiter: CredentialLimiter,
    failures: FailureMeter,
    /// Trusted identity providers, when configured.
    federation: Option<Federation>,
    /// The disclosure-request workflow (issue #25), when configured.
    requests: Option<Arc<crate::requests::Requests>>,
}

/// Who a request was authenticated as, whatever the kind of credential.
#[derive(Debug, Clone)]
struct Principal {
    id: String,
    authority: String,
    jurisdiction: String,
    purposes: Vec<Purpose>,
    kind: CredentialKind,
    issuer: Option<String>,
    subject: Option<String>,
}

/// The do-not-track request parameter of RFC 9560 (`farv1_dnt=true`).
pub const DNT_PARAM: &str = "farv1_dnt";

/// Whether the request asks not to be tracked. Any value but `false` counts as asking: a
/// request that might mean it is not served as if it did not.
pub fn asks_dnt(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        q.split('&').any(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            k == DNT_PARAM && !v.eq_ignore_ascii_case("false")
        })
    })
}

/// One authority request, owned, so the answer can wait for the log without borrowing the
/// connection.
#[derive(Debug)]
pub struct AuthorityRequest {
    /// Request path as received.
    pub path: String,
    /// Query string, if any.
    pub query_string: Option<String>,
    /// Request headers.
    pub headers: hyper::HeaderMap,
    /// Client address (after trusted-proxy handling).
    pub client: IpAddr,
    /// The client's network, as the harvesting defence groups addresses.
    pub client_key: NetKey,
}

/// Why an authority request gets no data. Each is mapped to one HTTP answer in
/// [`crate::rdap`]; none discloses anything or writes a log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorityRefusal {
    /// The client network spent its budget of failed authentications (429).
    FailureBudget {
        /// When to retry.
        retry_after: Duration,
    },
    /// No valid credential (401).
    Unauthenticated(AuthFailure),
    /// The credential's own rate limit is spent (429).
    CredentialRate {
        /// When to retry.
        retry_after: Duration,
    },
    /// The statement is missing or malformed (400).
    BadStatement(String),
    /// The withholding request (`RDDS-Withhold-Until`) is malformed, in the past or too far
    /// ahead (400).
    BadWithhold(String),
    /// The purpose is not one the credential was issued for (403).
    PurposeNotAllowed,
    /// A search, for a purpose the policy does not let search (403). The purposes that may
    /// search, for the answer.
    SearchNotAllowed(Vec<Purpose>),
    /// The request asks not to be tracked (`farv1_dnt`), which a disclosure cannot be (403).
    DoNotTrack,
    /// The disclosure log cannot be written (503).
    LogUnavailable,
    /// No secure randomness for the request id (503).
    NoRandomness,
    /// A receipt was asked for, but this server publishes no checkpoints (501).
    NoTransparency,
}

impl Authority {
    /// Load credentials and open the disclosure log: the file log, or with `log_database` the
    /// log that `open_database_log` opens at that URL (the PostgreSQL adapter, which this
    /// layer does not import).
    ///
    /// # Errors
    /// A credentials file that does not validate.
    pub fn new(
        settings: AuthoritySettings,
        open_database_log: impl FnOnce(&str) -> DisclosureLog,
    ) -> Result<Self, super::credentials::CredentialsError> {
        // Credentials in the database arrive with the node's first refresh, right after start.
        let credentials = match settings.credentials_database {
            Some(_) => Credentials::default(),
            None => Credentials::load(&settings.credentials)?,
        };
        // Transparency (issue #14): the tree beside the log, and its shared view for receipts
        // and the admin URLs. The log itself only knows the `TreeSink` it is given.
        let (log, transparency) = match &settings.log_database {
            Some(url) => (open_database_log(url), None),
            None => super::transparency::open_log(&settings.log, settings.transparency.clone()),
        };
        let quota = Quota::per_minute(settings.rate_per_minute).allow_burst(settings.burst);
        let federation = settings
            .federation
            .as_ref()
            .map(Federation::new)
            .transpose()
            .map_err(super::credentials::CredentialsError::Federation)?;
        Ok(Self {
            issuer: IssueToken::for_authority_service(),
            federation,
            credentials: ArcSwap::from_pointee(credentials),
            log,
            limiter: RateLimiter::hashmap(quota),
            transparency,
            failures: FailureMeter {
                debt_until: Mutex::new(HashMap::new()),
            },
            settings,
            requests: None,
        })
    }

    /// With the disclosure-request workflow (issue #25): its approved requests are disclosed
    /// through this service and recorded in its log.
    #[must_use]
    pub fn with_requests(mut self, requests: Arc<crate::requests::Requests>) -> Self {
        self.requests = Some(requests);
        self
    }

    /// The disclosure-request workflow, when configured.
    pub fn requests(&self) -> Option<&Arc<crate::requests::Requests>> {
        self.requests.as_ref()
    }

    /// Read the credentials file again (SIGHUP), without installing it yet.
    ///
    /// # Errors
    /// A credentials file that does not validate.
    pub fn prepare_reload(&self) -> Result<Arc<Credentials>, super::credentials::CredentialsError> {
        if self.settings.credentials_database.is_some() {
            // Kept in step with the database by its own refresh, not by SIGHUP.
            return Ok(self.credentials());
        }
        Ok(Arc::new(Credentials::load(&self.settings.credentials)?))
    }

    /// The database URL when the credentials are kept there.
    pub fn credentials_database(&self) -> Option<&str> {
        self.settings.credentials_database.as_deref()
    }

    /// Install credentials read by [`Self::prepare_reload`]: revocations and expiries apply at
    /// once.
    pub fn install(&self, fresh: Arc<Credentials>) {
        self.credentials.store(fresh);
    }

    fn credentials(&self) -> Arc<Credentials> {
        self.credentials.load_full()
    }

    /// Why disclosures are refused until the log is repaired, if they are.
    pub fn log_broken(&self) -> Option<String> {
        self.log.broken()
    }

    /// Whether disclosures can be recorded now: the log is sound and this process is its
    /// writer (not a standby behind another server).
    pub fn log_writable(&self) -> bool {
        self.log.broken().is_none() && !self.log.is_standby()
    }

    /// Check one request: the client network's failure budget, the credential, its rate
    /// limit, the statement, the purpose, the log. On success the [`Grant`] that authorises the
    /// purpose's view and carries what the log entry must record. Synchronous and cheap.
    ///
    /// `cost`: how many requests of the credential's rate limit this one counts as (one for
    /// a lookup, [`SearchSettings::cost`] for a search page).
    ///
    /// # Errors
    /// The refusal; nothing was looked up and nothing is logged.
    pub async fn authorize(
        &self,
        req: &AuthorityRequest,
        cost: NonZeroU32,
    ) -> Result<Grant, AuthorityRefusal> {
        let cred = self.authenticate(req, cost).await?;
        let header = |name: &str| req.headers.get(name).map(|v| v.as_bytes().to_vec());
        let st = statement(header, req.query_string.as_deref())
            .map_err(|StatementError(why)| AuthorityRefusal::BadStatement(why))?;
        let withheld_until = withhold_until(header, req.query_string.as_deref(), Timestamp::now())
            .map_err(|StatementError(why)| AuthorityRefusal::BadWithhold(why))?;
        // RFC 9560 lets a client ask that its queries not be tracked (`farv1_dnt`, allowed by
        // the `rdap_dnt_allowed` claim). A disclosure of personal data is always logged, so
        // such a request gets nothing rather than an answer that breaks what it asked.
        if asks_dnt(req.query_string.as_deref()) {
            return Err(AuthorityRefusal::DoNotTrack);
        }
        if !cred.purposes.contains(&st.purpose) {
            return Err(AuthorityRefusal::PurposeNotAllowed);
        }
        if self.log.broken().is_some() {
            return Err(AuthorityRefusal::LogUnavailable);
        }
        let request_id = random_id().map_err(|e| {
            tracing::error!(error = %format_args!("no secure randomness: {e}"), "no request id");
            AuthorityRefusal::NoRandomness
        })?;
        Ok(Grant::issue(
            GrantParts {
                purpose: st.purpose,
                credential_id: cred.id,
                authority: cred.authority,
                legal_basis: st.legal_basis,
                case_reference: st.case_reference,
                request_id,
                client: req.client.to_string(),
                path: req.path.clone(),
                jurisdiction: cred.jurisdiction,
                withheld_until,
                kind: cred.kind,
                issuer: cred.issuer,
                subject: cred.subject,
                rules: None,
                workflow: None,
            },
            &self.issuer,
        ))
    }

    /// Who presents the credential in `req` (a registry credential or a federated token), for
    /// the workflow's intake and the requester's reads (issue #25): the same failure budget,
    /// the same checks and the same rate limit as a disclosure, but no statement.
    ///
    /// # Errors
    /// The refusal (401, 429).
    pub async fn identify(
        &self,
        req: &AuthorityRequest,
    ) -> Result<crate::requests::Credentialed, AuthorityRefusal> {
        let cred = self.authenticate(req, NonZeroU32::MIN).await?;
        Ok(crate::requests::Credentialed {
            id: cred.id,
            jurisdiction: cred.jurisdiction,
        })
    }

    /// The grant for the disclosure of a workflow request the privacy officer approved (issue
    /// #25): its purpose, legal basis and case reference as filed, exactly the approved fields
    /// (`rules`, from [`crate::policy::Policy::approved_rules`]), and the request's id, officer
    /// and rationale for the log entry. Only an [`crate::requests::Approved`] gets one, and only
    /// [`crate::requests`] makes those, from a record approved and within its `valid-until`.
    ///
    /// # Errors
    /// The log cannot be written (503), no randomness for the request id.
    pub fn grant_for_request(
        &self,
        approved: &crate::requests::Approved,
        rules: crate::policy::AudienceRules,
        client: IpAddr,
        path: &str,
    ) -> Result<Grant, AuthorityRefusal> {
        if self.log.broken().is_some() {
            return Err(AuthorityRefusal::LogUnavailable);
        }
        let request_id = random_id().map_err(|_| AuthorityRefusal::NoRandomness)?;
        Ok(Grant::issue(
            GrantParts {
                purpose: approved.purpose(),
                credential_id: approved
                    .credential()
                    .map_or_else(|| format!("request:{}", approved.id()), str::to_string),
                authority: format!("{} (request {})", approved.kind().key(), approved.id()),
                legal_basis: approved.legal_basis().to_string(),
                case_reference: approved.case_reference().to_string(),
                request_id,
                client: client.to_string(),
                path: path.to_string(),
                jurisdiction: approved.jurisdiction().to_string(),
                withheld_until: None,
                kind: CredentialKind::Request,
                issuer: None,
                subject: None,
                rules: Some(rules),
                workflow: Some(crate::policy::access::WorkflowRef {
                    request: approved.id().to_string(),
                    officer: approved.officer().to_string(),
                    rationale: approved.rationale().to_string(),
                }),
            },
            &self.issuer,
        ))
    }

    /// The first checks of every authority request (disclosures and receipts alike): the
    /// client network's failure budget, a valid credential, the credential's rate limit.
    async fn authenticate(
        &self,
        req: &AuthorityRequest,
        cost: NonZeroU32,
    ) -> Result<Principal, AuthorityRefusal> {
        let now = Instant::now();
        if let Some(wait) = self.failures.refused(req.client_key, now) {
            return Err(AuthorityRefusal::FailureBudget { retry_after: wait });
        }
        let authorization = req
            .headers
            .get(hyper::header::AUTHORIZATION)
            .map(hyper::header::HeaderValue::as_bytes);
        let cred = match self.principal(authorization).await {
            Ok(c) => c,
            Err(failure) => {
                // Presenting no token is not a guess; any presented token that fails is.
                if failure != AuthFailure::Missing {
                    self.failures.charge(req.client_key, now);
                }
                return Err(AuthorityRefusal::Unauthenticated(failure));
            }
        };
        match self.limiter.check_key_n(&cred.id, cost) {
            Ok(Ok(())) => {}
            Ok(Err(nu)) => {
                let wait = nu.wait_time_from(governor::clock::Clock::now(&DefaultClock::default()));
                return Err(AuthorityRefusal::CredentialRate { retry_after: wait });
            }
            // A cost above the burst can never be paid; the config refuses one, so this is
            // only a safe answer should it happen anyway.
            Err(_) => {
                return Err(AuthorityRefusal::CredentialRate {
                    retry_after: Duration::from_secs(60),
                })
            }
        }
        Ok(cred)
    }

    /// The credential behind an `Authorization` header: a JWT goes to the trusted issuers
    /// (when configured), anything else to the registry's credentials.
    async fn principal(&self, authorization: Option<&[u8]>) -> Result<Principal, AuthFailure> {
        if let (Some(federation), Some(token)) = (&self.federation, bearer(authorization)) {
            if looks_like_jwt(token) {
                return match federation.verify(token).await {
                    Ok(id) => Ok(Principal {
                        id: id.id,
                        authority: id.authority,
                        jurisdiction: id.jurisdiction,
                        purposes: id.purposes,
                        kind: CredentialKind::Jwt,
                        issuer: Some(id.issuer),
                        subject: Some(id.subject),
                    }),
                    Err(JwtFailure::Expired) => Err(AuthFailure::Expired),
                    Err(JwtFailure::Invalid(why)) => {
                        tracing::debug!(why, "JWT refused");
                        Err(AuthFailure::Invalid)
                    }
                };
            }
        }
        let creds = self.credentials();
        let c = creds.authenticate(authorization, &Timestamp::now())?;
        Ok(Principal {
            id: c.id.clone(),
            authority: c.authority.clone(),
            jurisdiction: c.jurisdiction.clone(),
            purposes: c.purposes.clone(),
            kind: CredentialKind::Registry,
            issuer: None,
            subject: None,
        })
    }

    /// The search settings.
    pub fn search_settings(&self) -> SearchSettings {
        self.settings.search
    }

    /// The trusted identity providers, when configured.
    pub fn federation(&self) -> Option<&Federation> {
        self.federation.as_ref()
    }

    /// Transparency: the log's shared view (checkpoints, proofs), when configured.
    pub fn transparency(&self) -> Option<Arc<super::transparency::store::Shared>> {
        self.transparency.clone()
    }

    /// `GET /authority/receipt/<index>` (issue #14): authenticated as a disclosure is (the same
    /// failure budget, the same 401), then answered from the transparency view. Only the
    /// credential that made the disclosure, or an auditor credential, gets its receipt.
    ///
    /// # Errors
    /// The authentication refusal.
    pub async fn receipt(
        &self,
        req: &AuthorityRequest,
        index: &str,
    ) -> Result<crate::authority::transparency::serve::Answer, AuthorityRefusal> {
        let cred = self.authenticate(req, NonZeroU32::MIN).await?;
        let Some(shared) = self.transparency() else {
            return Err(AuthorityRefusal::NoTransparency);
        };
        Ok(crate::authority::transparency::serve::answer(
            &shared, &cred.id, index,
        ))
    }

    /// Record a disclosure under `grant` and wait (on the log's writer thread, bounded by
    /// [`APPEND_TIMEOUT`]) until the entry is durable. Only then may `body` be sent.
    ///
    /// Returns the entry's leaf index and leaf hash when the log is a transparency log (for
    /// the receipt headers).
    ///
    /// # Errors
    /// The entry is not durable: nothing may be disclosed.
    pub async fn record(
        &self,
        grant: &Grant,
        objects: Vec<String>,
        disclosed: Vec<DisclosedContact>,
        body: &[u8],
    ) -> Result<Option<(u64, String)>, LogError> {
        let record = Disclosure {
            request_id: grant.request_id().to_string(),
            authority: grant.authority().to_string(),
            credential_id: grant.credential_id().to_string(),
            client: grant.client().to_string(),
            purpose: grant.purpose().key().to_string(),
            legal_basis: grant.legal_basis().to_string(),
            case_reference: grant.case_reference().to_string(),
            query: grant.path().to_string(),
            objects,
            disclosed,
            response_sha256: sha256_hex(body),
            jurisdiction: Some(grant.jurisdiction().to_string()),
            withheld_until: grant.withheld_until().map(|t| t.text().to_string()),
            credential_kind: Some(grant.credential_kind().key().to_string()),
            issuer: grant.issuer().map(str::to_string),
            subject: grant.subject().map(str::to_string),
            workflow: grant.workflow().cloned(),
        };
        match self.log.append(record, APPEND_TIMEOUT).await {
            Ok(entry) => Ok(self
                .transparency
                .as_ref()
                .map(|_| super::transparency::receipt::leaf_of(&entry))),
            Err(e) => {
                tracing::error!(error = %e, "disclosure not recorded; nothing disclosed");
                Err(e)
            }
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(authorization: Option<&[u8]>) -> Option<&str> {
    let text = std::str::from_utf8(authorization?).ok()?;
    let (scheme, token) = text.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Whether a request carries `Authorization: Bearer …`: on the public lookup paths such a
/// request is an authority request (RFC 9560 clients send their token there).
pub fn has_bearer(headers: &hyper::HeaderMap) -> bool {
    bearer(
        headers
            .get(hyper::header::AUTHORIZATION)
            .map(hyper::header::HeaderValue::as_bytes),
    )
    .is_some()
}

fn random_id() -> Result<String, getrandom::Error> {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b)?;
    Ok(hex::encode(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<Vec<u8>> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.as_bytes().to_vec())
        }
    }

    #[test]
    fn statement_from_headers_or_query() {
        let h = headers(&[
            ("rdds-purpose", "urgent-threat-to-life"),
            ("rdds-legal-basis", "Art. 6(1)(d) GDPR"),
            ("rdds-case-reference", "TTL-1"),
        ]);
        let s = statement(h, None).expect("headers");
        assert_eq!(s.purpose, Purpose::UrgentThreatToLife);
        let q = "purpose=court-order&legalBasis=Order%2012%2F2026&caseReference=C+7";
        let s = statement(headers(&[]), Some(q)).expect("query");
        assert_eq!(
            (s.legal_basis.as_str(), s.case_reference.as_str()),
            ("Order 12/2026", "C 7")
        );
        for bad in [
            "purpose=curiosity&legalBasis=x&caseReference=y",
            "purpose=court-order&caseReference=y",
            "purpose=court-order&legalBasis=%0A&caseReference=y",
        ] {
            assert!(statement(headers(&[]), Some(bad)).is_err(), "{bad}");
        }
        assert!(statement(headers(&[]), None).is_err());
    }

    #[test]
    fn withholding_is_a_date_in_the_future_at_most_two_years_ahead() {
        let now = crate::registry::validate::datetime("2026-06-01T12:00:00Z").expect("now");
        // The header's value (if sent) and the query string; the result as text.
        let until = |header: Option<&'static str>, q: Option<&str>| {
            let h = move |name: &str| {
                header
                    .filter(|_| name == WITHHOLD_HEADER)
                    .map(|v| v.as_bytes().to_vec())
            };
            withhold_until(h, q, now).map(|t| t.map(|t| t.text().to_string()))
        };
        // Absent: nothing to withhold.
        assert_eq!(until(None, None), Ok(None));
        // A date is 00:00 UTC of that day; an RFC 3339 time is taken as given.
        assert_eq!(
            until(Some(" 2027-06-30 "), Some("purpose=x")),
            Ok(Some("2027-06-30T00:00:00Z".into()))
        );
        // Both ways at once, or a parameter that is there but unreadable, is refused: never
        // taken as "no withholding".
        for (header, q, why) in [
            (Some("2027-06-30"), "withholdUntil=2026-07-01", "not both"),
            (None, "withholdUntil=%FF", "percent-encoded UTF-8"),
            (None, "a=1&withholdUntil", "percent-encoded UTF-8"),
        ] {
            let e = until(header, Some(q)).expect_err(q);
            assert!(e.0.contains(why), "{q}: {}", e.0);
        }
        assert_eq!(
            until(
                None,
                Some("withholdUntil=2026-06-01T14%3A00%3A00%2B02%3A00")
            )
            .map_err(|e| e.0),
            Err("RDDS-Withhold-Until (or withholdUntil) must lie in the future".into()),
            "14:00+02:00 is now"
        );
        assert_eq!(
            until(None, Some("withholdUntil=2026-06-01T12:00:01Z")),
            Ok(Some("2026-06-01T12:00:01Z".into()))
        );
        // The last accepted instant is exactly MAX_WITHHOLD_DAYS ahead.
        assert!(until(Some("2028-06-01T12:00:00Z"), None).is_ok());
        for (bad, why) in [
            ("2028-06-02", "at most 731 days"),
            ("2026-05-31", "future"),
            ("2026-06-01", "future"),
            ("tomorrow", "must be a date"),
            ("", "must be a date"),
            ("2027-02-30", "must be a date"),
            ("9999-12-31T23:59:59Z", "at most"),
            (
                "2027-06-30T00:00:00.000000000000000000000000000Z",
                "must be a date",
            ),
        ] {
            let e = until(Some(bad), None).expect_err(bad);
            assert!(e.0.contains(why), "{bad}: {}", e.0);
        }
    }
}
