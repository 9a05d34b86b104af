//! Outcomes to HTTP: the one mapping from every RDAP outcome (found, not found, a router
//! refusal, a harvesting-defence refusal, an authority refusal, a disclosure) to a status, an
//! RFC 9083 body and headers. Nothing else in the crate picks a status code for RDAP.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{
    HeaderValue, ACCESS_CONTROL_ALLOW_ORIGIN, ALLOW, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER,
};
use hyper::{Response, StatusCode};

use super::render;
use super::router::Refusal;
use crate::authority::credentials::AuthFailure;
use crate::authority::service::AuthorityRefusal;
use crate::limit::{Denial, LimitSettings, Reason};

/// The RDAP media type (RFC 7480 §4.2).
pub const RDAP_MEDIA_TYPE: &str = "application/rdap+json";

/// An HTTP response with a fully buffered body.
pub type HttpResponse = Response<Full<Bytes>>;

/// What happened to one RDAP request.
#[derive(Debug)]
pub enum Outcome<'a> {
    /// A public answer, rendered now or taken from the cache.
    Found {
        /// The RFC 9083 body.
        body: Bytes,
        /// Whether it came from the cache.
        cached: bool,
    },
    /// An authority answer whose disclosure is recorded.
    Disclosed {
        /// The RFC 9083 body.
        body: Bytes,
        /// The request id of the disclosure-log entry.
        request_id: String,
        /// The entry's leaf index and leaf hash in a transparency log.
        log_leaf: Option<(u64, String)>,
    },
    /// A receipt (inclusion proof) of an earlier disclosure, or why there is none yet.
    Receipt(crate::authority::transparency::serve::Answer),
    /// An answer of the disclosure-request workflow (issue #25): private like every
    /// authority answer (no-store, no CORS).
    Workflow(WorkflowAnswer),
    /// No object by that name or handle.
    NotFound {
        /// On the authority route (answered privately).
        authority: bool,
    },
    /// A CORS preflight or `OPTIONS` probe.
    Options,
    /// The router refused the request.
    Refused(Refusal),
    /// The harvesting defence refused the client (`settings` words the notice).
    Limited(Denial, &'a LimitSettings),
    /// A denylisted network on the authority route.
    AuthorityDenied,
    /// The authority route is not configured.
    AuthorityOff,
    /// A method other than GET on the authority route.
    AuthorityMethod,
    /// The authority checks refused the request.
    AuthorityRefused(AuthorityRefusal),
    /// The disclosure could not be recorded, so nothing is disclosed.
    NotRecorded,
    /// The registration data could not be read (the database is unreachable or too slow) and
    /// no cached answer may stand in: 503 with `Retry-After`.
    Unavailable {
        /// On the authority route (answered privately).
        authority: bool,
    },
    /// The records read for the answer broke the data rules (logged by table and key): 500,
    /// never an answer built from part of them.
    BadData {
        /// On the authority route (answered privately).
        authority: bool,
    },
}

impl Outcome<'_> {
    /// The one mapping of a backend that could not read the records: 503 (try again) or 500.
    pub fn unreadable(why: crate::backend::Unreadable, authority: bool) -> Self {
        match why {
            crate::backend::Unreadable::Unavailable => Self::Unavailable { authority },
            crate::backend::Unreadable::BadData => Self::BadData { authority },
        }
    }
}

/// An answer of the disclosure-request workflow, before HTTP framing: a JSON body, or an
/// RFC 9083 error.
#[derive(Debug)]
pub struct WorkflowAnswer {
    /// HTTP status.
    pub status: StatusCode,
    /// The body; `None`: an RFC 9083 error of `title` and `description`.
    pub body: Option<Bytes>,
    /// The error's title.
    pub title: &'static str,
    /// The error's description (never a value the client sent).
    pub description: String,
    /// The access log's label.
    pub outcome: &'static str,
    /// `Retry-After`, in seconds.
    pub retry_after: Option<u64>,
    /// `Allow`, for a 405.
    pub allow: Option<&'static str>,
}

/// `Retry-After` of a 503 for an unreachable database, in seconds: about the time a node takes
/// to reconnect.
pub const UNAVAILABLE_RETRY_SECS: u64 = 5;

/// An answer, before HTTP framing.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: StatusCode,
    /// JSON body (empty for OPTIONS).
    pub body: Bytes,
    /// Short label for the access log: what kind of answer this was.
    pub outcome: &'static str,
    /// `Retry-After`, in seconds.
    pub retry_after: Option<u64>,
    /// `WWW-Authenticate` for a 401.
    pub www_authenticate: Option<&'static str>,
    /// `Allow`, for a 405 or `OPTIONS`.
    pub allow: Option<&'static str>,
    /// `RDDS-Request-Id` of a disclosure.
    pub request_id: Option<String>,
    /// `RDDS-Log-Index` and `RDDS-Log-Leaf-Hash` of a disclosure in a transparency log.
    pub log_leaf: Option<(u64, String)>,
    /// An authority answer: never cached anywhere, no CORS (browsers of other origins must not
    /// read disclosed data).
    pub private: bool,
    /// A CORS preflight answer.
    pub preflight: bool,
}

fn secs(d: std::time::Duration) -> u64 {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

impl Answer {
    fn new(status: StatusCode, body: Bytes, outcome: &'static str) -> Self {
        Self {
            status,
            body,
            outcome,
            retry_after: None,
            www_authenticate: None,
            allow: None,
            request_id: None,
            log_leaf: None,
            private: false,
            preflight: false,
        }
    }

    fn error(status: StatusCode, title: &str, description: &str, outcome: &'static str) -> Self {
        let body = render::error(status.as_u16(), title, description);
        Self::new(status, Bytes::from(body), outcome)
    }

    fn private(mut self) -> Self {
        self.private = true;
        self
    }

    /// The one mapping from outcomes to answers.
    pub fn of(outcome: Outcome<'_>) -> Self {
        match outcome {
            Outcome::Found { body, cached } => Self::new(
                StatusCode::OK,
                body,
                if cached { "found-cached" } else { "found" },
            ),
            Outcome::Disclosed {
                body,
                request_id,
                log_leaf,
            } => {
                let mut a = Self::new(StatusCode::OK, body, "disclosed").private();
                a.request_id = Some(request_id);
                a.log_leaf = log_leaf;
                a
            }
            Outcome::Receipt(r) => {
                let status =
                    StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let mut a = match r.body {
                    Some(body) => Self::new(status, body, r.outcome),
                    None => Self::error(status, r.title, &r.description, r.outcome),
                }
                .private();
                a.retry_after = r.retry_after;
                a
            }
            Outcome::Workflow(w) => {
                let mut a = match w.body {
                    Some(body) => Self::new(w.status, body, w.outcome),
                    None => Self::error(w.status, w.title, &w.description, w.outcome),
                }
                .private();
                a.retry_after = w.retry_after;
                a.allow = w.allow;
                a
            }
            Outcome::NotFound { authority } => {
                let a = Self::error(
                    StatusCode::NOT_FOUND,
                    "Not Found",
                    "The object was not found in this registry.",
                    "not-found",
                );
                if authority {
                    a.private()
                } else {
                    a
                }
            }
            Outcome::Options => {
                let mut a = Self::new(StatusCode::NO_CONTENT, Bytes::new(), "options");
                a.allow = Some("GET, HEAD, OPTIONS");
                a.preflight = true;
                a
            }
            Outcome::Refused(r) => Self::refused(&r),
            Outcome::Limited(denial, limits) => Self::limited(&denial, limits),
            Outcome::AuthorityDenied => Self::error(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "Access from your network is denied by the registry. Contact the registry if you believe this is an error.",
                Reason::Denylisted.label(),
            )
            .private(),
            Outcome::AuthorityOff => Self::error(
                StatusCode::NOT_IMPLEMENTED,
                "Not Implemented",
                "Authority disclosure is not configured on this server.",
                "not-configured",
            )
            .private(),
            Outcome::AuthorityMethod => {
                let mut a = Self::error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "Method Not Allowed",
                    "The authority route answers GET only.",
                    "bad-method",
                )
                .private();
                a.allow = Some("GET");
                a
            }
            Outcome::AuthorityRefused(r) => Self::authority_refused(r).private(),
            Outcome::NotRecorded => Self::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable",
                "The disclosure could not be recorded, so nothing was disclosed.",
                "log-failed",
            )
            .private(),
            Outcome::Unavailable { authority } => {
                let mut a = Self::error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Service Unavailable",
                    "The registration data cannot be read at the moment. Please try again later.",
                    "unavailable",
                );
                a.retry_after = Some(UNAVAILABLE_RETRY_SECS);
                if authority {
                    a.private()
                } else {
                    a
                }
            }
            Outcome::BadData { authority } => {
                let a = Self::error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal Server Error",
                    "The registry's data for this object could not be read. The registry has been notified.",
                    "bad-data",
                );
                if authority {
                    a.private()
                } else {
                    a
                }
            }
        }
    }

    fn refused(refusal: &Refusal) -> Self {
        match refusal {
            Refusal::BadRequest(why) => {
                Self::error(StatusCode::BAD_REQUEST, "Bad Request", why, "bad-request")
            }
            Refusal::UnknownPath => Self::error(
                StatusCode::NOT_FOUND,
                "Not Found",
                "This path is not an RDAP query this server answers; see /help.",
                "unknown-path",
            ),
            Refusal::MethodNotAllowed => {
                let mut a = Self::error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "Method Not Allowed",
                    "RDAP queries use GET or HEAD.",
                    "bad-method",
                );
                a.allow = Some("GET, HEAD, OPTIONS");
                a
            }
            Refusal::NotImplemented(why) => Self::error(
                StatusCode::NOT_IMPLEMENTED,
                "Not Implemented",
                why,
                "not-implemented",
            ),
        }
    }

    /// 429 with `Retry-After` (403 for a denylisted network), and a notice saying which limit
    /// was hit.
    fn limited(denial: &Denial, limits: &LimitSettings) -> Self {
        let retry = denial.retry_after_secs();
        let (status, title, text) = match denial.reason {
            Reason::Denylisted => (
                StatusCode::FORBIDDEN,
                "Forbidden",
                "Access from your network is denied by the registry. Contact the registry if you believe this is an error.".to_string(),
            ),
            Reason::Rate => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests",
                format!(
                    "Query rate limit exceeded: at most {} with a burst of {} per client network (IPv4 /{}, IPv6 /{}), shared by RDAP and WHOIS.",
                    limits.rate_text(), limits.burst, limits.ipv4_prefix, limits.ipv6_prefix
                ),
            ),
            Reason::Quota | Reason::Blocked => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests",
                format!(
                    "Daily query quota of {} queries per client network exhausted (shared by RDAP and WHOIS); access is blocked until the quota resets at 00:00 UTC, longer for repeated excess.",
                    limits.daily_quota
                ),
            ),
        };
        let body = render::limited(status.as_u16(), title, &text, retry);
        let mut answer = Self::new(status, Bytes::from(body), denial.reason.label());
        answer.retry_after = retry;
        answer
    }

    fn authority_refused(r: AuthorityRefusal) -> Self {
        match r {
            AuthorityRefusal::FailureBudget { retry_after } => {
                let mut a = Self::error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too Many Requests",
                    "Too many failed authentication attempts from your network; retry later.",
                    "auth-failures",
                );
                a.retry_after = Some(secs(retry_after));
                a
            }
            AuthorityRefusal::Unauthenticated(failure) => {
                let (www, outcome) = match failure {
                    AuthFailure::Missing => ("Bearer realm=\"rddsd-authority\"", "auth-missing"),
                    AuthFailure::Invalid => ("Bearer realm=\"rddsd-authority\", error=\"invalid_token\"", "auth-invalid"),
                    AuthFailure::Expired => ("Bearer realm=\"rddsd-authority\", error=\"invalid_token\", error_description=\"expired\"", "auth-expired"),
                    AuthFailure::Revoked => ("Bearer realm=\"rddsd-authority\", error=\"invalid_token\", error_description=\"revoked\"", "auth-revoked"),
                };
                let mut a = Self::error(
                    StatusCode::UNAUTHORIZED,
                    "Unauthorized",
                    "This route requires a valid authority credential (Authorization: Bearer).",
                    outcome,
                );
                a.www_authenticate = Some(www);
                a
            }
            AuthorityRefusal::CredentialRate { retry_after } => {
                let mut a = Self::error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too Many Requests",
                    "The request rate limit of this credential is exceeded.",
                    "authority-rate",
                );
                a.retry_after = Some(secs(retry_after));
                a
            }
            AuthorityRefusal::BadStatement(why) => Self::error(
                StatusCode::BAD_REQUEST,
                "Bad Request",
                &why,
                "statement-missing",
            ),
            AuthorityRefusal::BadWithhold(why) => Self::error(
                StatusCode::BAD_REQUEST,
                "Bad Request",
                &why,
                "withhold-invalid",
            ),
            AuthorityRefusal::PurposeNotAllowed => Self::error(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "This credential was not issued for the stated purpose.",
                "purpose-not-allowed",
            ),
            AuthorityRefusal::SearchNotAllowed(purposes) => {
                let allowed: Vec<&str> = purposes.iter().map(|p| p.key()).collect();
                let why = if allowed.is_empty() {
                    "Searches are not allowed for the stated purpose: this registry's policy allows searches for no purpose. Nothing was searched.".to_string()
                } else {
                    format!(
                        "Searches are not allowed for the stated purpose: this registry's policy allows them for {} only. Nothing was searched; lookups of single objects remain available.",
                        allowed.join(", ")
                    )
                };
                Self::error(StatusCode::FORBIDDEN, "Forbidden", &why, "search-not-allowed")
            }
            AuthorityRefusal::DoNotTrack => Self::error(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "This server records every disclosure of non-public data in its disclosure log and does not support do-not-track (farv1_dnt); nothing was disclosed. Send the request without farv1_dnt.",
                "dnt-refused",
            ),
            AuthorityRefusal::LogUnavailable => Self::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable",
                "Disclosures are suspended: the disclosure log cannot be written.",
                "log-unavailable",
            ),
            AuthorityRefusal::NoTransparency => Self::error(
                StatusCode::NOT_IMPLEMENTED,
                "Not Implemented",
                "This server publishes no checkpoints, so it has no receipts.",
                "not-configured",
            ),
            AuthorityRefusal::NoRandomness => Self::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable",
                "No secure randomness for a request id; nothing was disclosed.",
                "no-randomness",
            ),
        }
    }

    /// Frame the answer as HTTP. HEAD gets the headers (with the `Content-Length` a GET would
    /// have, RFC 9110 §9.3.2) and no body.
    pub fn into_http(self, is_head: bool) -> HttpResponse {
        let len = self.body.len();
        let body = if is_head { Bytes::new() } else { self.body };
        let mut resp = Response::new(Full::new(body));
        *resp.status_mut() = self.status;
        let h = resp.headers_mut();
        h.insert(CONTENT_TYPE, HeaderValue::from_static(RDAP_MEDIA_TYPE));
        if self.private {
            h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(hyper::header::PRAGMA, HeaderValue::from_static("no-cache"));
        } else {
            h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
            if self.status.is_client_error() || self.status.is_server_error() {
                h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            }
        }
        if let Some(allow) = self.allow {
            h.insert(ALLOW, HeaderValue::from_static(allow));
        }
        if self.preflight {
            h.insert(
                "access-control-allow-methods",
                HeaderValue::from_static("GET, HEAD, OPTIONS"),
            );
            h.insert(
                "access-control-allow-headers",
                HeaderValue::from_static("Accept"),
            );
        }
        if let Some(w) = self.www_authenticate {
            h.insert(hyper::header::WWW_AUTHENTICATE, HeaderValue::from_static(w));
        }
        if let Some(secs) = self.retry_after {
            h.insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(id) = self
            .request_id
            .and_then(|id| HeaderValue::from_str(&id).ok())
        {
            h.insert("rdds-request-id", id);
        }
        if let Some((index, leaf)) = self.log_leaf {
            h.insert("rdds-log-index", HeaderValue::from(index));
            if let Ok(v) = HeaderValue::from_str(&leaf) {
                h.insert("rdds-log-leaf-hash", v);
            }
        }
        if is_head {
            h.insert(hyper::header::CONTENT_LENGTH, HeaderValue::from(len));
        }
        resp
    }
}
