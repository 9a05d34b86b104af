//! The disclosure policy: one declarative file decides every contact field for every audience.
//!
//! Both protocols ask the same policy for a *view* of an object ([`view`]); the renderers accept
//! nothing else, so WHOIS and RDAP cannot disagree about what is public, and unredacted data has
//! no path to a public response. The file format is `schema/policy.schema.json`; the shipped
//! default is `src/policy/default.toml` (compiled in).
//!
//! Invariants enforced at load, whatever the file says:
//! - the registrant's state/province and country are always published (RDP §9.1.4, §9.1.5);
//! - no personal field is published to the public without the contact's consent.

pub mod access;
pub mod view;

use std::fmt;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::registry::ContactField;

pub use view::{Audience, ContactView, DomainView, Field, HostView, RegistrarView, ViewRole};

/// The policy compiled into the binary.
pub const DEFAULT_POLICY: &str = include_str!("default.toml");

/// What the policy says about one field for one audience and role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rule {
    /// Always shown.
    Publish,
    /// Shown only with the contact's consent for that field.
    Consent,
    /// Never shown.
    Redact,
}

impl Rule {
    /// The name used in policy files (and by the database backend's search statements).
    pub fn key(self) -> &'static str {
        match self {
            Self::Publish => "publish",
            Self::Consent => "consent",
            Self::Redact => "redact",
        }
    }
}

/// The rules for every field of a contact in one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContactRules([Rule; ContactField::ALL.len()]);

impl ContactRules {
    /// The rule for a field.
    pub fn get(&self, field: ContactField) -> Rule {
        self.0[field as usize]
    }

    /// Every field redacted, the handle included: what an unreferenced contact gets. (No
    /// domain response shows it, so its own lookup shows nothing either.)
    pub fn redact_all() -> Self {
        Self([Rule::Redact; ContactField::ALL.len()])
    }

    /// Field by field, the more permissive of two rule sets (Publish > Consent > Redact).
    pub fn union(&self, other: &Self) -> Self {
        let rank = |r: Rule| match r {
            Rule::Redact => 0,
            Rule::Consent => 1,
            Rule::Publish => 2,
        };
        let mut out = self.0;
        for (o, b) in out.iter_mut().zip(other.0) {
            if rank(b) > rank(*o) {
                *o = b;
            }
        }
        Self(out)
    }
}

/// The rules of one audience.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudienceRules {
    /// Whether the Registry Domain ID (domain ROID) is shown.
    pub registry_domain_id: bool,
    /// Rules for the registrant.
    pub registrant: ContactRules,
    /// Rules for the technical contact.
    pub technical: ContactRules,
}

/// A validated policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The anonymous public: port 43 and unauthenticated RDAP.
    pub public: AudienceRules,
    /// Per disclosure purpose (indexed by [`Purpose`]): fields an authenticated authority sees.
    purposes: Vec<AudienceRules>,
    /// Per disclosure purpose (indexed by [`Purpose`]): whether it may search on the authority
    /// route (`search = true` in its `[purpose.<name>]` table; false when left out).
    searches: Vec<bool>,
}

pub use access::{Grant, Purpose};

/// A policy file that cannot be used, with its location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PolicyError {
    /// File name.
    pub file: String,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// Dotted key, e.g. `public.registrant.name`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        if !self.field.is_empty() {
            write!(f, ": field `{}`", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

// ===== the file format =====

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    version: Spanned<u32>,
    public: RawAudience,
    #[serde(default)]
    purpose: std::collections::BTreeMap<String, Spanned<RawPurpose>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPurpose {
    #[serde(default)]
    registrant: Vec<ContactField>,
    #[serde(default)]
    technical: Vec<ContactField>,
    /// Searches on the authority route: off unless a purpose says so.
    #[serde(default)]
    search: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudience {
    #[serde(default)]
    domain: RawDomainRules,
    #[serde(default)]
    registrant: RawContactRules,
    #[serde(default)]
    technical: RawContactRules,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDomainRules {
    registry_domain_id: Option<Spanned<Rule>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawContactRules {
    handle: Option<Spanned<Rule>>,
    name: Option<Spanned<Rule>>,
    org: Option<Spanned<Rule>>,
    street: Option<Spanned<Rule>>,
    city: Option<Spanned<Rule>>,
    sp: Option<Spanned<Rule>>,
    pc: Option<Spanned<Rule>>,
    cc: Option<Spanned<Rule>>,
    voice: Option<Spanned<Rule>>,
    fax: Option<Spanned<Rule>>,
    email: Option<Spanned<Rule>>,
}

impl RawContactRules {
    fn get(&self, field: ContactField) -> &Option<Spanned<Rule>> {
        match field {
            ContactField::Handle => &self.handle,
            ContactField::Name => &self.name,
            ContactField::Org => &self.org,
            ContactField::Street => &self.street,
            ContactField::City => &self.city,
            ContactField::Sp => &self.sp,
            ContactField::Pc => &self.pc,
            ContactField::Cc => &self.cc,
            ContactField::Voice => &self.voice,
            ContactField::Fax => &self.fax,
            ContactField::Email => &self.email,
        }
    }
}

/// The baseline a missing key falls back to: the shipped default, which is the RDP baseline.
fn baseline(role: &str, field: ContactField) -> Rule {
    use ContactField as F;
    match (role, field) {
        // Registry Registrant ID and Registry Tech ID are in the RDP's redacted set (§9.2).
        (_, F::Handle) => Rule::Redact,
        ("registrant", F::Sp | F::Cc) => Rule::Publish,
        ("registrant", _) => Rule::Consent,
        (_, F::Name | F::Voice | F::Email) => Rule::Consent,
        _ => Rule::Redact,
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(0, |t| t.bytes().filter(|b| *b == b'\n').count() + 1)
}

impl Policy {
    /// The shipped default policy.
    ///
    /// # Errors
    /// Only if the compiled-in file is broken, which the tests rule out.
    pub fn default_policy() -> Result<Self, PolicyError> {
        Self::parse("(default policy)", DEFAULT_POLICY)
    }

    /// Read and validate a policy file.
    ///
    /// # Errors
    /// Unreadable file, TOML syntax, unknown keys, or a rule the invariants forbid.
    pub fn load(path: &Path) -> Result<Self, PolicyError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| PolicyError {
            file: file.clone(),
            line: 0,
            field: String::new(),
            message: format!("cannot read policy file: {e}"),
        })?;
        Self::parse(&file, &text)
    }

    /// Validate policy text.
    ///
    /// # Errors
    /// TOML syntax, unknown keys, or a rule the invariants forbid.
    pub fn parse(file: &str, text: &str) -> Result<Self, PolicyError> {
        let err = |line: usize, field: &str, message: String| PolicyError {
            file: file.to_string(),
            line,
            field: field.to_string(),
            message,
        };
        let raw: RawPolicy = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(0, |s| line_of(text, s.start));
            err(line, "", e.message().to_string())
        })?;
        if *raw.version.get_ref() != 1 {
            return Err(err(
                line_of(text, raw.version.span().start),
                "version",
                "only version 1 is supported".into(),
            ));
        }
        let domain_rule = raw.public.domain.registry_domain_id.as_ref();
        let registry_domain_id = match domain_rule.map(|s| *s.get_ref()) {
            None | Some(Rule::Publish) => true,
            Some(Rule::Redact) => false,
            Some(Rule::Consent) => {
                let line = domain_rule.map_or(0, |s| line_of(text, s.span().start));
                return Err(err(
                    line,
                    "public.domain.registry_domain_id",
                    "the domain ROID has no consent: use \"publish\" or \"redact\"".into(),
                ));
            }
        };
        let mut roles = Vec::new();
        for (role, raw_rules) in [
            ("registrant", &raw.public.registrant),
            ("technical", &raw.public.technical),
        ] {
            let mut rules = [Rule::Redact; ContactField::ALL.len()];
            for field in ContactField::ALL {
                let spanned = raw_rules.get(field);
                let rule = spanned
                    .as_ref()
                    .map_or_else(|| baseline(role, field), |s| *s.get_ref());
                let line = spanned
                    .as_ref()
                    .map_or(0, |s| line_of(text, s.span().start));
                let key = format!("public.{role}.{}", field.key());
                let must_publish =
                    role == "registrant" && matches!(field, ContactField::Sp | ContactField::Cc);
                if must_publish && rule != Rule::Publish {
                    return Err(err(line, &key, format!(
                        "the registrant's {} must be published (Registration Data Policy §9.1.4/§9.1.5); \"{}\" is not allowed",
                        if field == ContactField::Sp { "state/province" } else { "country" },
                        rule.key()
                    )));
                }
                if field.is_personal() && !must_publish && rule == Rule::Publish {
                    return Err(err(line, &key, format!(
                        "\"publish\" would show the {role}'s {} to the public without their consent; use \"consent\" or \"redact\"",
                        field.key()
                    )));
                }
                if field == ContactField::Handle && rule == Rule::Consent {
                    return Err(err(
                        line,
                        &key,
                        "the handle has no consent: use \"publish\" or \"redact\"".into(),
                    ));
                }
                rules[field as usize] = rule;
            }
            roles.push(ContactRules(rules));
        }
        let technical = roles.pop().unwrap_or_else(ContactRules::redact_all);
        let registrant = roles.pop().unwrap_or_else(ContactRules::redact_all);
        let public = AudienceRules {
            registry_domain_id,
            registrant,
            technical,
        };
        // A purpose shows the listed fields; everything else as the public sees it. A purpose
        // the file leaves out discloses nothing beyond the public view.
        let mut purposes = vec![public.clone(); Purpose::ALL.len()];
        let mut searches = vec![false; Purpose::ALL.len()];
        for (name, spanned) in &raw.purpose {
            let line = line_of(text, spanned.span().start);
            let Some(p) = Purpose::parse(name) else {
                let known: Vec<&str> = Purpose::ALL.iter().map(|p| p.key()).collect();
                return Err(err(
                    line,
                    &format!("purpose.{name}"),
                    format!("unknown purpose; known purposes: {}", known.join(", ")),
                ));
            };
            let rp = spanned.get_ref();
            let widen = |base: &ContactRules, fields: &[ContactField]| {
                let mut rules = base.0;
                for f in fields {
                    rules[*f as usize] = Rule::Publish;
                }
                ContactRules(rules)
            };
            purposes[p as usize] = AudienceRules {
                registry_domain_id: true,
                registrant: widen(&public.registrant, &rp.registrant),
                technical: widen(&public.technical, &rp.technical),
            };
            searches[p as usize] = rp.search;
        }
        Ok(Self {
            public,
            purposes,
            searches,
        })
    }

    /// Whether a purpose may search on the authority route (RFC 9082 searches and RFC 9536
    /// reverse search). Lookups are allowed for every purpose a credential holds; searches
    /// reach many people at once, so only the purposes the policy names may make them.
    pub fn allows_search(&self, purpose: Purpose) -> bool {
        self.searches
            .get(purpose as usize)
            .copied()
            .unwrap_or(false)
    }

    /// The purposes that may search, in their fixed order.
    pub fn search_purposes(&self) -> Vec<Purpose> {
        Purpose::ALL
            .into_iter()
            .filter(|p| self.allows_search(*p))
            .collect()
    }

    /// The rules of an audience.
    pub fn rules<'a>(&'a self, audience: Audience<'a>) -> &'a AudienceRules {
        match audience {
            Audience::Public => &self.public,
            Audience::Authority(grant) => match grant.rules() {
                Some(approved) => approved,
                None => self
                    .purposes
                    .get(grant.purpose() as usize)
                    .unwrap_or(&self.public),
            },
        }
    }

    /// The rules of a workflow request approved for `fields` (issue #25): what the public
    /// sees, and those fields besides, for the registrant and the technical contact alike.
    pub fn approved_rules(&self, fields: &[ContactField]) -> AudienceRules {
        let widen = |base: &ContactRules| {
            let mut out = base.0;
            for f in fields {
                if let Some(i) = ContactField::ALL.iter().position(|x| x == f) {
                    out[i] = Rule::Publish;
                }
            }
            ContactRules(out)
        };
        AudienceRules {
            registry_domain_id: self.public.registry_domain_id,
            registrant: widen(&self.public.registrant),
            technical: widen(&self.public.technical),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_is_the_rdp_baseline() {
        let p = Policy::default_policy().expect("default policy parses");
        let r = &p.public.registrant;
        assert_eq!(r.get(ContactField::Sp), Rule::Publish);
        assert_eq!(r.get(ContactField::Cc), Rule::Publish);
        assert_eq!(r.get(ContactField::Name), Rule::Consent);
        assert_eq!(p.public.technical.get(ContactField::Street), Rule::Redact);
        // RDP §9.2: Registry Registrant ID and Registry Tech ID are redacted.
        assert_eq!(r.get(ContactField::Handle), Rule::Redact);
        assert_eq!(p.public.technical.get(ContactField::Handle), Rule::Redact);
        assert!(p.public.registry_domain_id);
        // Every key left out falls back to the same baseline the file spells out.
        let minimal = Policy::parse("min", "version = 1\n[public]\n").expect("minimal parses");
        assert_eq!(minimal.public, p.public);
        // Purposes widen only what they list.
        let urgent_grant = crate::policy::Grant::for_test(Purpose::UrgentThreatToLife);
        let urgent = p.rules(Audience::Authority(&urgent_grant));
        assert_eq!(urgent.registrant.get(ContactField::Email), Rule::Publish);
        let cyber_grant = crate::policy::Grant::for_test(Purpose::CybersecurityIncident);
        let cyber = p.rules(Audience::Authority(&cyber_grant));
        assert_eq!(cyber.registrant.get(ContactField::Street), Rule::Consent);
        // A purpose the file leaves out discloses nothing beyond the public view.
        assert_eq!(
            minimal.rules(Audience::Authority(&crate::policy::Grant::for_test(
                Purpose::CourtOrder
            ))),
            &minimal.public
        );
        // Searches: only the law-enforcement purposes of the shipped file; none by default.
        assert_eq!(
            p.search_purposes(),
            vec![Purpose::CriminalInvestigation, Purpose::UrgentThreatToLife]
        );
        assert!(minimal.search_purposes().is_empty());
        let searching = Policy::parse(
            "s",
            "version = 1\n[public]\n[purpose.court-order]\nsearch = true\n",
        )
        .expect("search key parses");
        assert!(searching.allows_search(Purpose::CourtOrder));
        assert!(!searching.allows_search(Purpose::CriminalInvestigation));
        assert!(Policy::parse(
            "s",
            "version = 1\n[public]\n[purpose.court-order]\nsearch = 1\n"
        )
        .is_err());
        let bad = "version = 1\n[public]\n[purpose.curiosity]\nregistrant = [\"name\"]\n";
        let e = Policy::parse("p.toml", bad).expect_err("unknown purpose");
        assert!(
            e.to_string().contains("purpose.curiosity")
                && e.to_string().contains("urgent-threat-to-life"),
            "{e}"
        );
    }

    #[test]
    fn loosening_is_refused_with_line_and_field() {
        let text = "version = 1\n[public.registrant]\nname = \"publish\"\n";
        let e = Policy::parse("p.toml", text).expect_err("must refuse");
        assert_eq!((e.line, e.field.as_str()), (3, "public.registrant.name"));
        assert!(
            e.to_string()
                .starts_with("p.toml:3: field `public.registrant.name`"),
            "{e}"
        );

        let text = "version = 1\n[public.registrant]\ncc = \"redact\"\n";
        let e = Policy::parse("p.toml", text).expect_err("must refuse");
        assert_eq!(e.field, "public.registrant.cc");

        let text = "version = 1\n[public.technical]\nemail = \"publish\"\n";
        assert!(Policy::parse("p.toml", text).is_err());
    }

    #[test]
    fn tightening_is_accepted() {
        let text = "version = 1\n[public.domain]\nregistry_domain_id = \"redact\"\n[public.registrant]\nhandle = \"redact\"\nemail = \"redact\"\n";
        let p = Policy::parse("p.toml", text).expect("tighter policy parses");
        assert!(!p.public.registry_domain_id);
        assert_eq!(p.public.registrant.get(ContactField::Handle), Rule::Redact);
        assert_eq!(p.public.registrant.get(ContactField::Email), Rule::Redact);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        for text in [
            "version = 1\n[public]\nextra = 1\n",
            "version = 1\n[public.registrant]\nnickname = \"redact\"\n",
            "version = 1\n[public.registrant]\nname = \"maybe\"\n",
            "version = 2\n[public]\n",
            "[public]\n",
            "version = 1\n[public\n",
        ] {
            let e = Policy::parse("p.toml", text).expect_err(text);
            assert!(
                e.line > 0 || e.message.contains("missing"),
                "{text:?} -> {e}"
            );
        }
    }
}
