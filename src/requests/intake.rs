//! The intake body (`POST {base}requests`), checked member by member. Pure. An error names
//! the member (`requester.email`, `objects[3]`) and what is wrong with it, never the value.

use serde_json::{Map, Value};

use super::model::{purpose_for, RequesterKind, Urgency};
use super::Details;
use crate::registry::model::ContactField;
use crate::registry::{DomainName, Roid};

/// The largest body accepted.
pub const MAX_BODY: usize = 64 * 1024;
/// Objects per request at most.
pub const MAX_OBJECTS: usize = 50;
/// The longest justification, in characters.
pub const MAX_JUSTIFICATION: usize = 8000;
/// The longest short text member (name, organization, legal basis, case reference…).
pub const MAX_SHORT: usize = 200;

/// A checked intake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intake {
    /// Who asks.
    pub kind: RequesterKind,
    /// A policy purpose, or a data subject's right.
    pub purpose: String,
    /// The requester's jurisdiction.
    pub jurisdiction: String,
    /// Legal basis (empty for a data subject who gave none).
    pub legal_basis: String,
    /// Case reference (empty for a data subject who gave none).
    pub case_reference: String,
    /// The urgent category.
    pub urgent: Option<Urgency>,
    /// `domain:<a-label>` or `contact:<ROID>`.
    pub objects: Vec<String>,
    /// Field names, if given.
    pub fields: Option<Vec<String>>,
    /// Personal: kept beside the chain.
    pub details: Details,
}

/// What is wrong with a body: the member and the problem, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{member}: {problem}")]
pub struct BodyError {
    /// The member, e.g. `requester.email` or `objects[2]`.
    pub member: String,
    /// What is wrong.
    pub problem: &'static str,
}

fn err(member: impl Into<String>, problem: &'static str) -> BodyError {
    BodyError {
        member: member.into(),
        problem,
    }
}

fn text(
    obj: &Map<String, Value>,
    key: &str,
    member: &str,
    max: usize,
    required: bool,
) -> Result<Option<String>, BodyError> {
    match obj.get(key) {
        None | Some(Value::Null) if !required => Ok(None),
        None | Some(Value::Null) => Err(err(member, "is required")),
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.is_empty() {
                return Err(err(member, "is empty"));
            }
            if s.chars().count() > max {
                return Err(err(member, "is too long"));
            }
            // Line breaks are allowed in the justification only.
            let multi = max == MAX_JUSTIFICATION;
            if s.chars()
                .any(|c| c.is_control() && !(multi && (c == '\n' || c == '\t')))
            {
                return Err(err(member, "holds control characters"));
            }
            Ok(Some(s.to_string()))
        }
        Some(_) => Err(err(member, "must be a string")),
    }
}

fn no_unknown(obj: &Map<String, Value>, known: &[&str], at: &str) -> Result<(), BodyError> {
    if obj.keys().any(|k| !known.contains(&k.as_str())) {
        return Err(err(at, "has a member this server does not know"));
    }
    Ok(())
}

/// Parse and check a body.
///
/// # Errors
/// The first member that is missing, of the wrong type, too long or not allowed.
pub fn parse(body: &[u8]) -> Result<Intake, BodyError> {
    if body.len() > MAX_BODY {
        return Err(err("(body)", "is larger than 64 KiB"));
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|_| err("(body)", "is not a JSON document"))?;
    let Value::Object(top) = value else {
        return Err(err("(body)", "must be a JSON object"));
    };
    no_unknown(
        &top,
        &[
            "requester",
            "purpose",
            "legalBasis",
            "caseReference",
            "justification",
            "urgent",
            "objects",
            "fields",
        ],
        "(body)",
    )?;
    let Some(Value::Object(req)) = top.get("requester") else {
        return Err(err("requester", "is required and must be an object"));
    };
    no_unknown(
        req,
        &["kind", "name", "email", "jurisdiction", "organization"],
        "requester",
    )?;
    let kind = text(req, "kind", "requester.kind", 40, true)?.unwrap_or_default();
    let kind = RequesterKind::parse(&kind).ok_or_else(|| {
        err(
            "requester.kind",
            "must be public-authority, third-party or data-subject",
        )
    })?;
    let name = text(req, "name", "requester.name", MAX_SHORT, true)?.unwrap_or_default();
    let email = text(req, "email", "requester.email", 254, true)?.unwrap_or_default();
    if !email_like(&email) {
        return Err(err("requester.email", "is not an e-mail address"));
    }
    let jurisdiction =
        text(req, "jurisdiction", "requester.jurisdiction", 100, true)?.unwrap_or_default();
    let organization = text(
        req,
        "organization",
        "requester.organization",
        MAX_SHORT,
        false,
    )?;
    let purpose = text(&top, "purpose", "purpose", 60, true)?.unwrap_or_default();
    if !purpose_for(kind, &purpose) {
        return Err(err(
            "purpose",
            if kind == RequesterKind::DataSubject {
                "must be access, rectification, erasure or objection"
            } else {
                "must be one of the policy's purposes"
            },
        ));
    }
    let subject = kind == RequesterKind::DataSubject;
    let legal_basis =
        text(&top, "legalBasis", "legalBasis", MAX_SHORT, !subject)?.unwrap_or_default();
    let case_reference =
        text(&top, "caseReference", "caseReference", MAX_SHORT, !subject)?.unwrap_or_default();
    let justification = text(
        &top,
        "justification",
        "justification",
        MAX_JUSTIFICATION,
        true,
    )?
    .unwrap_or_default();
    let urgent = match text(&top, "urgent", "urgent", 60, false)? {
        None => None,
        Some(u) => Some(
            Urgency::ALL
                .into_iter()
                .find(|k| k.key() == u)
                .ok_or_else(|| err("urgent", "must be threat-to-life, serious-bodily-injury, critical-infrastructure or child-exploitation"))?,
        ),
    };
    let objects = objects(&top)?;
    let fields = fields(&top)?;
    Ok(Intake {
        kind,
        purpose,
        jurisdiction,
        legal_basis,
        case_reference,
        urgent,
        objects,
        fields,
        details: Details {
            name,
            email,
            organization,
            justification,
        },
    })
}

fn email_like(s: &str) -> bool {
    match s.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

fn objects(top: &Map<String, Value>) -> Result<Vec<String>, BodyError> {
    let Some(Value::Array(items)) = top.get("objects") else {
        return Err(err("objects", "is required and must be an array"));
    };
    if items.is_empty() {
        return Err(err("objects", "names no object"));
    }
    if items.len() > MAX_OBJECTS {
        return Err(err("objects", "names more than 50 objects"));
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let member = format!("objects[{i}]");
        let Value::String(s) = item else {
            return Err(err(member, "must be a string"));
        };
        let s = s.trim();
        if s.len() > 255 {
            return Err(err(member, "is too long"));
        }
        let key = if s.contains('.') {
            DomainName::parse(s)
                .map(|d| format!("domain:{}", d.ascii()))
                .map_err(|_| err(member, "is not a domain name"))?
        } else {
            Roid::parse(s)
                .map(|r| format!("contact:{}", Roid::key(r.as_str())))
                .map_err(|_| err(member, "is neither a domain name nor a contact ROID"))?
        };
        if !out.contains(&key) {
            out.push(key);
        }
    }
    Ok(out)
}

fn fields(top: &Map<String, Value>) -> Result<Option<Vec<String>>, BodyError> {
    match top.get("fields") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let name = item.as_str().unwrap_or("");
                let Some(f) = field(name) else {
                    return Err(err(
                        format!("fields[{i}]"),
                        "is not a field name of the policy",
                    ));
                };
                if !out.contains(&f.key().to_string()) {
                    out.push(f.key().to_string());
                }
            }
            Ok(Some(out))
        }
        Some(_) => Err(err("fields", "must be an array")),
    }
}

/// A contact field by the policy's name.
pub fn field(name: &str) -> Option<ContactField> {
    ContactField::ALL.into_iter().find(|f| f.key() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&v).expect("json")
    }

    fn good() -> serde_json::Value {
        serde_json::json!({
            "requester": {"kind": "public-authority", "name": "Insp. Meier",
                          "email": "meier@police.example", "jurisdiction": "CH",
                          "organization": "Kantonspolizei"},
            "purpose": "criminal-investigation",
            "legalBasis": "StPO Art. 265",
            "caseReference": "K-2026-17",
            "justification": "Phishing site\nimpersonating a bank.",
            "objects": ["Example.EXAMPLE", "c101-example", "example.example"],
            "fields": ["name", "email"]
        })
    }

    #[test]
    fn a_good_body() {
        let i = parse(&body(good())).expect("good");
        assert_eq!(i.kind, RequesterKind::PublicAuthority);
        assert_eq!(
            i.objects,
            vec!["domain:example.example", "contact:C101-EXAMPLE"]
        );
        assert_eq!(i.fields, Some(vec!["name".into(), "email".into()]));
        assert_eq!(i.details.organization.as_deref(), Some("Kantonspolizei"));
    }

    #[test]
    fn errors_name_the_member_never_the_value() {
        let secret = "SECRET-VALUE-4711";
        let cases: Vec<(serde_json::Value, &str)> = vec![
            (
                serde_json::json!({"requester": {"kind": secret}}),
                "requester.kind",
            ),
            (
                {
                    let mut v = good();
                    v["requester"]["email"] = secret.into();
                    v
                },
                "requester.email",
            ),
            (
                {
                    let mut v = good();
                    v["purpose"] = secret.into();
                    v
                },
                "purpose",
            ),
            (
                {
                    let mut v = good();
                    v["objects"] = serde_json::json!(["ok.example", secret]);
                    v
                },
                "objects[1]",
            ),
            (
                {
                    let mut v = good();
                    v["objects"] = serde_json::json!(vec!["a.example"; 51]);
                    v
                },
                "objects",
            ),
            (
                {
                    let mut v = good();
                    v["fields"] = serde_json::json!([secret]);
                    v
                },
                "fields[0]",
            ),
            (
                {
                    let mut v = good();
                    v["justification"] = "x".repeat(MAX_JUSTIFICATION + 1).into();
                    v
                },
                "justification",
            ),
            (
                {
                    let mut v = good();
                    v[secret] = 1.into();
                    v
                },
                "(body)",
            ),
            (
                {
                    let mut v = good();
                    v["requester"]["name"] = format!("a\u{7}{secret}").into();
                    v
                },
                "requester.name",
            ),
            (
                {
                    let mut v = good();
                    v["legalBasis"] = serde_json::Value::Null;
                    v
                },
                "legalBasis",
            ),
        ];
        for (v, member) in cases {
            let e = parse(&body(v)).expect_err(member);
            assert_eq!(e.member, member);
            assert!(!e.to_string().contains(secret), "{e}");
        }
        assert_eq!(parse(b"{").expect_err("json").member, "(body)");
        assert_eq!(parse(b"[]").expect_err("array").member, "(body)");
    }

    #[test]
    fn a_data_subject_states_a_right_and_needs_no_legal_basis() {
        let mut v = good();
        v["requester"]["kind"] = "data-subject".into();
        v["purpose"] = "access".into();
        v.as_object_mut().expect("obj").remove("legalBasis");
        v.as_object_mut().expect("obj").remove("caseReference");
        let i = parse(&body(v)).expect("subject");
        assert_eq!(i.legal_basis, "");
        let mut v = good();
        v["requester"]["kind"] = "data-subject".into();
        assert_eq!(parse(&body(v)).expect_err("purpose").member, "purpose");
    }
}
