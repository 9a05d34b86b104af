//! Access: the purposes an authority may state, and the grant, the only value that
//! authorises a view of non-public data.
//!
//! These types live in the policy layer because the policy decides fields per purpose and the
//! view builder ([`super::Audience`]) needs a grant to name an authority audience; the
//! authority *service* (credentials, statements, the disclosure log) sits above this layer and
//! is the only issuer.
//!
//! A [`Grant`] has private fields and no public constructor. It is issued by
//! `Grant::issue`, which needs an [`IssueToken`]: outside this crate neither can be named
//! (the compile-fail tests prove it), and inside it only the authority service makes a token
//! (`tests/architecture.rs` checks every call site). So no code path can ask for an
//! unredacted view without having passed the authority service's checks; and the grant
//! carries what the disclosure log must record about the request.

use serde::{Deserialize, Serialize};

/// Why an authority asks for non-public data. Each credential is issued for some of these, and
/// the policy file says which fields each one discloses (`[purpose.<name>]`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    /// Investigation or prosecution of a crime.
    CriminalInvestigation,
    /// Imminent threat to life, serious bodily injury, critical infrastructure or child
    /// exploitation (the RDP's urgent requests).
    UrgentThreatToLife,
    /// Response to a cybersecurity incident (phishing, malware, botnet command and control).
    CybersecurityIncident,
    /// Consumer protection enforcement.
    ConsumerProtection,
    /// Compliance with a court order or subpoena.
    CourtOrder,
}

impl Purpose {
    /// Every purpose.
    pub const ALL: [Self; 5] = [
        Self::CriminalInvestigation,
        Self::UrgentThreatToLife,
        Self::CybersecurityIncident,
        Self::ConsumerProtection,
        Self::CourtOrder,
    ];

    /// The name used in requests, credentials and the policy file.
    pub fn key(self) -> &'static str {
        match self {
            Self::CriminalInvestigation => "criminal-investigation",
            Self::UrgentThreatToLife => "urgent-threat-to-life",
            Self::CybersecurityIncident => "cybersecurity-incident",
            Self::ConsumerProtection => "consumer-protection",
            Self::CourtOrder => "court-order",
        }
    }

    /// Parse a purpose name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.key() == s)
    }
}

/// Which kind of credential authenticated a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// A bearer credential issued by this registry (`rddsd authority add`).
    Registry,
    /// A JWT from a trusted identity provider (RFC 9560).
    Jwt,
    /// No standing credential: a tracked request approved by the registry's privacy officer
    /// (issue #25, `crate::requests`).
    Request,
}

impl CredentialKind {
    /// The name recorded in the disclosure log (`credentialKind`).
    pub fn key(self) -> &'static str {
        match self {
            Self::Registry => "registry",
            Self::Jwt => "jwt",
            Self::Request => "request",
        }
    }
}

/// Permission to see non-public data for one request: who, for what, on which legal basis,
/// and the request id its disclosure-log entry will carry.
#[derive(Debug)]
pub struct Grant {
    purpose: Purpose,
    credential_id: String,
    authority: String,
    legal_basis: String,
    case_reference: String,
    request_id: String,
    client: String,
    path: String,
    jurisdiction: String,
    withheld_until: Option<crate::registry::Timestamp>,
    kind: CredentialKind,
    issuer: Option<String>,
    subject: Option<String>,
    /// For an approved workflow request: exactly the fields the officer approved, as rules
    /// that replace the purpose's.
    rules: Option<super::AudienceRules>,
    /// For an approved workflow request: what the disclosure-log entry records of it.
    workflow: Option<WorkflowRef>,
}

/// The workflow request behind a grant (issue #25): recorded in the disclosure-log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WorkflowRef {
    /// The request's id.
    pub request: String,
    /// The officer who approved it.
    pub officer: String,
    /// The officer's rationale.
    pub rationale: String,
}

/// The authority service's right to issue grants. Made only by the authority service
/// (`crate::authority::service`), once, when it starts; `tests/architecture.rs` fails if any
/// other module of the crate names its constructor.
#[derive(Debug)]
pub struct IssueToken {
    _sealed: (),
}

impl IssueToken {
    /// The token of the authority service. Call it nowhere else (see the type's doc).
    pub(crate) fn for_authority_service() -> Self {
        Self { _sealed: () }
    }
}

/// The parts of a grant, given to [`Grant::issue`] by the authority service.
pub(crate) struct GrantParts {
    pub(crate) purpose: Purpose,
    pub(crate) credential_id: String,
    pub(crate) authority: String,
    pub(crate) legal_basis: String,
    pub(crate) case_reference: String,
    pub(crate) request_id: String,
    pub(crate) client: String,
    pub(crate) path: String,
    pub(crate) jurisdiction: String,
    pub(crate) withheld_until: Option<crate::registry::Timestamp>,
    pub(crate) kind: CredentialKind,
    pub(crate) issuer: Option<String>,
    pub(crate) subject: Option<String>,
    pub(crate) rules: Option<super::AudienceRules>,
    pub(crate) workflow: Option<WorkflowRef>,
}

impl Grant {
    /// Only the authority service issues grants, after its checks: it alone holds an
    /// [`IssueToken`].
    pub(crate) fn issue(p: GrantParts, _token: &IssueToken) -> Self {
        Self {
            purpose: p.purpose,
            credential_id: p.credential_id,
            authority: p.authority,
            legal_basis: p.legal_basis,
            case_reference: p.case_reference,
            request_id: p.request_id,
            client: p.client,
            path: p.path,
            jurisdiction: p.jurisdiction,
            withheld_until: p.withheld_until,
            kind: p.kind,
            issuer: p.issuer,
            subject: p.subject,
            rules: p.rules,
            workflow: p.workflow,
        }
    }

    /// A grant for a unit test of this crate, bypassing the checks.
    #[cfg(test)]
    pub(crate) fn for_test(purpose: Purpose) -> Self {
        Self::issue(
            GrantParts {
                purpose,
                credential_id: "test".into(),
                authority: "Test Authority".into(),
                legal_basis: "test".into(),
                case_reference: "test".into(),
                request_id: "0".into(),
                client: "192.0.2.1".into(),
                path: "/test".into(),
                jurisdiction: "XX".into(),
                withheld_until: None,
                kind: CredentialKind::Registry,
                issuer: None,
                subject: None,
                rules: None,
                workflow: None,
            },
            &IssueToken { _sealed: () },
        )
    }

    /// The stated purpose, one the credential was issued for.
    pub fn purpose(&self) -> Purpose {
        self.purpose
    }
    /// The credential's id.
    pub fn credential_id(&self) -> &str {
        &self.credential_id
    }
    /// The authority's name.
    pub fn authority(&self) -> &str {
        &self.authority
    }
    /// The stated legal basis.
    pub fn legal_basis(&self) -> &str {
        &self.legal_basis
    }
    /// The stated case reference.
    pub fn case_reference(&self) -> &str {
        &self.case_reference
    }
    /// The request id (also in the answer's `RDDS-Request-Id` header and the log entry).
    pub fn request_id(&self) -> &str {
        &self.request_id
    }
    /// The client address the request came from.
    pub fn client(&self) -> &str {
        &self.client
    }
    /// The request path as received.
    pub fn path(&self) -> &str {
        &self.path
    }
    /// The credential's jurisdiction.
    pub fn jurisdiction(&self) -> &str {
        &self.jurisdiction
    }
    /// Until when the authority asked that the disclosure be withheld from the person it
    /// concerns, if it asked (validated: in the future, within `crate::authority::service::MAX_WITHHOLD_DAYS`).
    pub fn withheld_until(&self) -> Option<crate::registry::Timestamp> {
        self.withheld_until
    }
    /// Which kind of credential authenticated the request.
    pub fn credential_kind(&self) -> CredentialKind {
        self.kind
    }
    /// The identity provider (`iss`) of a federated credential.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }
    /// The officer (`sub`) of a federated credential, as the identity provider names them.
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }
    /// The rules of an approved workflow request (exactly its approved fields), if it is one.
    pub fn rules(&self) -> Option<&super::AudienceRules> {
        self.rules.as_ref()
    }
    /// The workflow request behind the grant, if any.
    pub fn workflow(&self) -> Option<&WorkflowRef> {
        self.workflow.as_ref()
    }
}

/// One contact's disclosed fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DisclosedContact {
    /// Contact ROID, as the contact object spells it (not as a domain record refers to it).
    pub roid: String,
    /// Role in the answer: registrant, technical or contact (an entity lookup).
    pub role: String,
    /// Personal fields that went out and are not public.
    pub fields: Vec<String>,
}
