//! The authority route: `/authority/<domain|nameserver|entity>/<name>`.
//!
//! Order of checks, each failing closed with no data and no log entry (the denylist, 403, is
//! applied before any of them by the HTTP layer):
//! 1. the client network's budget of failed authentications — otherwise 429, before the token
//!    is even looked at, so guessing stops once the budget is spent;
//! 2. a valid credential (`Authorization: Bearer`) — otherwise 401 with `WWW-Authenticate`,
//!    the same whether or not the object exists, because nothing is looked up yet; the failure
//!    is charged to the client network;
//! 3. the credential's own rate limit — otherwise 429;
//! 4. a stated purpose, legal basis and case reference — otherwise 400 (403 if the purpose is
//!    not one the credential was issued for);
//! 5. a writable disclosure log — otherwise 503;
//! 6. the lookup, with the purpose's view — 404 if absent;
//! 7. render, hash, hand the entry to the log's writer thread and **wait until it is durable**
//!    (bounded by [`APPEND_TIMEOUT`]), and only then answer. Otherwise: 503, nothing disclosed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use governor::clock::DefaultClock;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};
use serde_json::{json, Value};

use super::credentials::{AuthFailure, Credentials};
use super::log::{sha256_hex, DisclosedContact, Disclosure, DisclosureLog, APPEND_TIMEOUT};
use crate::limit::client::NetKey;
use crate::policy::{Audience, ContactView, Purpose};
use crate::rdap::router::{EntityHandle, RdapQuery};
use crate::rdap::{render, render_query, RdapConfig};
use crate::registry::Timestamp;
use crate::state::Dataset;

/// `[authority]` settings, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthoritySettings {
    /// Credentials file.
    pub credentials: PathBuf,
    /// Disclosure log.
    pub log: PathBuf,
    /// Requests per minute per credential.
    pub rate_per_minute: NonZeroU32,
    /// Burst per credential.
    pub burst: NonZeroU32,
    /// Transparency (Merkle tree, signed checkpoints, receipts), when a signing key is set.
    pub transparency: Option<crate::transparency::TlogSettings>,
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
    settings: AuthoritySettings,
    credentials: RwLock<Arc<Credentials>>,
    log: DisclosureLog,
    limiter: CredentialLimiter,
    failures: FailureMeter,
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

/// An answer of the authority route, before HTTP framing.
#[derive(Debug)]
pub struct AuthorityAnswer {
    /// Status.
    pub status: u16,
    /// Body (RFC 9083 JSON).
    pub body: Bytes,
    /// `WWW-Authenticate` for 401.
    pub www_authenticate: Option<&'static str>,
    /// `Retry-After` for 429.
    pub retry_after: Option<u64>,
    /// Request id of a disclosure.
    pub request_id: Option<String>,
    /// Label for the access log.
    pub outcome: &'static str,
    /// Transparency: the entry's leaf index and leaf hash (base64), for the receipt headers.
    pub log_leaf: Option<Box<(u64, String)>>,
}

fn error_answer(
    status: u16,
    title: &str,
    description: &str,
    outcome: &'static str,
) -> AuthorityAnswer {
    let body = serde_json::to_vec(&render::error(status, title, description))
        .map(Bytes::from)
        .unwrap_or_default();
    AuthorityAnswer {
        status,
        body,
        www_authenticate: None,
        retry_after: None,
        request_id: None,
        outcome,
        log_leaf: None,
    }
}

impl Authority {
    /// Load credentials and open the disclosure log.
    ///
    /// # Errors
    /// A credentials file that does not validate.
    pub fn new(settings: AuthoritySettings) -> Result<Self, String> {
        let credentials = Credentials::load(&settings.credentials)?;
        let log = DisclosureLog::open_with(&settings.log, settings.transparency.clone());
        let quota = Quota::per_minute(settings.rate_per_minute).allow_burst(settings.burst);
        Ok(Self {
            credentials: RwLock::new(Arc::new(credentials)),
            log,
            limiter: RateLimiter::hashmap(quota),
            failures: FailureMeter {
                debt_until: Mutex::new(HashMap::new()),
            },
            settings,
        })
    }

    /// Read the credentials file again (SIGHUP), without installing it yet.
    ///
    /// # Errors
    /// A credentials file that does not validate.
    pub fn prepare_reload(&self) -> Result<Arc<Credentials>, String> {
        Ok(Arc::new(Credentials::load(&self.settings.credentials)?))
    }

    /// Install credentials read by [`Self::prepare_reload`]: revocations and expiries apply at
    /// once.
    pub fn install(&self, fresh: Arc<Credentials>) {
        match self.credentials.write() {
            Ok(mut g) => *g = fresh,
            Err(p) => *p.into_inner() = fresh,
        }
    }

    fn credentials(&self) -> Arc<Credentials> {
        match self.credentials.read() {
            Ok(g) => Arc::clone(&g),
            Err(p) => Arc::clone(&p.into_inner()),
        }
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

    /// Answer one authority request. Everything before the log append is synchronous and
    /// cheap; the append waits on the writer thread without blocking an async worker.
    pub async fn respond(
        &self,
        data: Arc<Dataset>,
        cfg: &RdapConfig,
        query: &RdapQuery,
        req: AuthorityRequest,
    ) -> AuthorityAnswer {
        let (body, request_id, record) = match self.prepare(&data, cfg, query, &req) {
            Ok(ready) => ready,
            Err(refused) => return refused,
        };
        drop(data);
        let entry = match self.log.append(record, APPEND_TIMEOUT).await {
            Ok(entry) => entry,
            Err(e) => {
                tracing::error!(error = %e, "disclosure not recorded; nothing disclosed");
                return error_answer(
                    503,
                    "Service Unavailable",
                    "The disclosure could not be recorded, so nothing was disclosed.",
                    "log-failed",
                );
            }
        };
        AuthorityAnswer {
            status: 200,
            body,
            www_authenticate: None,
            retry_after: None,
            request_id: Some(request_id),
            outcome: "disclosed",
            log_leaf: self
                .log
                .transparency()
                .map(|_| Box::new(crate::transparency::receipt::leaf_of(&entry))),
        }
    }

    /// Transparency: the log's shared view (checkpoints, proofs), when configured.
    pub fn transparency(&self) -> Option<Arc<crate::transparency::store::Shared>> {
        self.log.transparency()
    }

    /// `GET /authority/receipt/<index>` (issue #14): authenticate as a disclosure does (the
    /// same failure budget, the same 401), then answer from the transparency view. Only the
    /// credential that made the disclosure, or an auditor credential, gets its receipt.
    pub fn receipt(&self, req: &AuthorityRequest, index: &str) -> AuthorityAnswer {
        let now = Instant::now();
        if let Some(wait) = self.failures.refused(req.client_key, now) {
            let mut a = error_answer(
                429,
                "Too Many Requests",
                "Too many failed authentication attempts from your network; retry later.",
                "auth-failures",
            );
            a.retry_after = Some(wait.as_secs() + u64::from(wait.subsec_nanos() > 0));
            return a;
        }
        let creds = self.credentials();
        let authorization = req
            .headers
            .get(hyper::header::AUTHORIZATION)
            .map(hyper::header::HeaderValue::as_bytes);
        let cred = match creds.authenticate(authorization, &Timestamp::now()) {
            Ok(c) => c,
            Err(failure) => {
                if failure != AuthFailure::Missing {
                    self.failures.charge(req.client_key, now);
                }
                let mut a = error_answer(
                    401,
                    "Unauthorized",
                    "This route requires a valid authority credential (Authorization: Bearer).",
                    "auth-invalid",
                );
                a.www_authenticate = Some("Bearer realm=\"rddsd-authority\"");
                return a;
            }
        };
        if self.limiter.check_key(&cred.id).is_err() {
            return error_answer(
                429,
                "Too Many Requests",
                "The request rate limit of this credential is exceeded.",
                "authority-rate",
            );
        }
        let Some(shared) = self.log.transparency() else {
            return error_answer(
                501,
                "Not Implemented",
                "This server publishes no checkpoints, so it has no receipts.",
                "not-configured",
            );
        };
        let r = crate::transparency::receipt::answer(&shared, &cred.id, index);
        let mut a = error_answer(r.status, r.title, &r.description, r.outcome);
        if let Some(body) = r.body {
            a.body = body;
        }
        a.retry_after = r.retry_after;
        a
    }

    /// Every check, the lookup and the rendering: the body to send once its log entry is
    /// durable, or the refusal.
    fn prepare(
        &self,
        data: &Dataset,
        cfg: &RdapConfig,
        query: &RdapQuery,
        req: &AuthorityRequest,
    ) -> Result<(Bytes, String, Disclosure), AuthorityAnswer> {
        let now = Instant::now();
        if let Some(wait) = self.failures.refused(req.client_key, now) {
            let mut a = error_answer(
                429,
                "Too Many Requests",
                "Too many failed authentication attempts from your network; retry later.",
                "auth-failures",
            );
            a.retry_after = Some(wait.as_secs() + u64::from(wait.subsec_nanos() > 0));
            return Err(a);
        }
        let creds = self.credentials();
        let authorization = req
            .headers
            .get(hyper::header::AUTHORIZATION)
            .map(hyper::header::HeaderValue::as_bytes);
        let cred = match creds.authenticate(authorization, &Timestamp::now()) {
            Ok(c) => c,
            Err(failure) => {
                let (www, outcome) = match failure {
                    AuthFailure::Missing => ("Bearer realm=\"rddsd-authority\"", "auth-missing"),
                    AuthFailure::Invalid => ("Bearer realm=\"rddsd-authority\", error=\"invalid_token\"", "auth-invalid"),
                    AuthFailure::Expired => ("Bearer realm=\"rddsd-authority\", error=\"invalid_token\", error_description=\"expired\"", "auth-expired"),
                    AuthFailure::Revoked => ("Bearer realm=\"rddsd-authority\", error=\"invalid_token\", error_description=\"revoked\"", "auth-revoked"),
                };
                // Presenting no token is not a guess; any presented token that fails is.
                if failure != AuthFailure::Missing {
                    self.failures.charge(req.client_key, now);
                }
                let mut a = error_answer(
                    401,
                    "Unauthorized",
                    "This route requires a valid authority credential (Authorization: Bearer).",
                    outcome,
                );
                a.www_authenticate = Some(www);
                return Err(a);
            }
        };
        if let Err(nu) = self.limiter.check_key(&cred.id) {
            let wait = nu.wait_time_from(governor::clock::Clock::now(&DefaultClock::default()));
            let mut a = error_answer(
                429,
                "Too Many Requests",
                "The request rate limit of this credential is exceeded.",
                "authority-rate",
            );
            a.retry_after = Some((wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1));
            return Err(a);
        }
        let header = |name: &str| req.headers.get(name).map(|v| v.as_bytes().to_vec());
        let st = match statement(header, req.query_string.as_deref()) {
            Ok(s) => s,
            Err(StatementError(why)) => {
                return Err(error_answer(400, "Bad Request", &why, "statement-missing"))
            }
        };
        if !cred.purposes.contains(&st.purpose) {
            return Err(error_answer(
                403,
                "Forbidden",
                "This credential was not issued for the stated purpose.",
                "purpose-not-allowed",
            ));
        }
        if self.log.broken().is_some() {
            return Err(error_answer(
                503,
                "Service Unavailable",
                "Disclosures are suspended: the disclosure log cannot be written.",
                "log-unavailable",
            ));
        }
        let audience = Audience::Authority(st.purpose);
        let Some(mut value) = render_query(data, cfg, query, audience) else {
            return Err(error_answer(
                404,
                "Not Found",
                "The object was not found in this registry.",
                "not-found",
            ));
        };
        let request_id = match random_id() {
            Ok(id) => id,
            Err(e) => {
                return Err(error_answer(
                    503,
                    "Service Unavailable",
                    &e,
                    "no-randomness",
                ))
            }
        };
        let notice = json!({
            "title": "Disclosure of Non-Public Registration Data",
            "type": "object redacted due to authorization",
            "description": [
                format!("This response contains non-public registration data disclosed to {} (credential {}) for the purpose {} under the legal basis \"{}\", case reference \"{}\".", cred.authority, cred.id, st.purpose.key(), st.legal_basis, st.case_reference),
                format!("Request {request_id}. The disclosure is recorded in the registry's disclosure log. Use the data only for the stated purpose and do not retain it longer than needed."),
            ],
        });
        if let Some(notices) = value.get_mut("notices").and_then(Value::as_array_mut) {
            notices.push(notice);
        }
        let body = serde_json::to_vec(&value)
            .map(Bytes::from)
            .unwrap_or_default();
        let (objects, disclosed) = disclosed_fields(data, query, st.purpose);
        let record = Disclosure {
            request_id: request_id.clone(),
            authority: cred.authority.clone(),
            credential_id: cred.id.clone(),
            client: req.client.to_string(),
            purpose: st.purpose.key().to_string(),
            legal_basis: st.legal_basis,
            case_reference: st.case_reference,
            query: req.path.clone(),
            objects,
            disclosed,
            response_sha256: sha256_hex(&body),
        };
        Ok((body, request_id, record))
    }
}

fn random_id() -> Result<String, String> {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).map_err(|e| format!("no secure randomness: {e}"))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// Objects in the answer and, per contact, the personal fields shown to the authority that the
/// public does not see.
fn disclosed_fields(
    data: &Dataset,
    query: &RdapQuery,
    purpose: Purpose,
) -> (Vec<String>, Vec<DisclosedContact>) {
    let snap = &data.snapshot;
    let policy = &data.policy;
    let diff = |auth: &ContactView<'_>, public: &ContactView<'_>, roid: &str, role: &str| {
        let public_fields = public.shown_personal_fields();
        let fields = auth
            .shown_personal_fields()
            .into_iter()
            .filter(|f| !public_fields.contains(f))
            .map(|f| f.key().to_string())
            .collect();
        DisclosedContact {
            roid: roid.to_string(),
            role: role.to_string(),
            fields,
        }
    };
    let mut objects = Vec::new();
    let mut disclosed = Vec::new();
    match query {
        RdapQuery::Domain(name) => {
            if let Some(d) = snap.domain(name) {
                objects.push(format!("domain:{}", d.roid.as_str()));
                let auth = policy.domain_view(Audience::Authority(purpose), snap, d);
                let public = policy.domain_view(Audience::Public, snap, d);
                if let (Some(a), Some(p)) = (auth, public) {
                    for (role, av, pv, roid) in [
                        (
                            "registrant",
                            a.registrant(),
                            p.registrant(),
                            d.registrant.as_ref(),
                        ),
                        ("technical", a.technical(), p.technical(), d.tech.as_ref()),
                    ] {
                        // Record the contact's own ROID, not the domain record's spelling of
                        // it, so a report by contact finds every disclosure.
                        let canonical = roid
                            .and_then(|r| snap.contact(r.as_str()))
                            .map(|(c, _)| c.roid.as_str());
                        if let (Some(av), Some(pv), Some(roid)) = (av, pv, canonical) {
                            objects.push(format!("contact:{roid}"));
                            disclosed.push(diff(av, pv, roid, role));
                        }
                    }
                }
            }
        }
        RdapQuery::Entity(EntityHandle::Contact(roid)) => {
            if let Some((c, roles)) = snap.contact(roid) {
                objects.push(format!("contact:{}", c.roid.as_str()));
                let av = policy.contact_view(Audience::Authority(purpose), c, roles);
                let pv = policy.contact_view(Audience::Public, c, roles);
                disclosed.push(diff(&av, &pv, c.roid.as_str(), "contact"));
            }
        }
        RdapQuery::Entity(EntityHandle::Registrar(id)) => objects.push(format!("registrar:{id}")),
        RdapQuery::Nameserver(name) => {
            if let Some(h) = snap.host(name) {
                objects.push(format!("nameserver:{}", h.roid.as_str()));
            }
        }
        RdapQuery::Help => {}
    }
    (objects, disclosed)
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
}
