//! The grant: the only value that authorises a view of non-public data.
//!
//! A [`Grant`] has private fields and no public constructor. The authority module makes one
//! only after verifying a credential and the requester's statement
//! ([`super::Authority::authorize`]), and the view builder ([`crate::policy::Audience`]) needs
//! one to name an authority audience. So no code path, inside or outside this crate, can ask
//! for an unredacted view without having passed those checks; and the grant carries what the
//! disclosure log must record about the request.

use serde::Deserialize;

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
}

impl CredentialKind {
    /// The name recorded in the disclosure log (`credentialKind`).
    pub fn key(self) -> &'static str {
        match self {
            Self::Registry => "registry",
            Self::Jwt => "jwt",
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
}

/// The parts of a grant, given to [`Grant::issue`] by the authority module.
pub(super) struct GrantParts {
    pub(super) purpose: Purpose,
    pub(super) credential_id: String,
    pub(super) authority: String,
    pub(super) legal_basis: String,
    pub(super) case_reference: String,
    pub(super) request_id: String,
    pub(super) client: String,
    pub(super) path: String,
    pub(super) jurisdiction: String,
    pub(super) withheld_until: Option<crate::registry::Timestamp>,
    pub(super) kind: CredentialKind,
    pub(super) issuer: Option<String>,
    pub(super) subject: Option<String>,
}

impl Grant {
    /// Only the authority module issues grants, after its checks.
    pub(super) fn issue(p: GrantParts) -> Self {
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
        }
    }

    /// A grant for a unit test of this crate, bypassing the checks.
    #[cfg(test)]
    pub(crate) fn for_test(purpose: Purpose) -> Self {
        Self::issue(GrantParts {
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
        })
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
    /// concerns, if it asked (validated: in the future, within [`super::route::MAX_WITHHOLD_DAYS`]).
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
}
