//! `rddsd subject report`: the answer to one person's access request — what the registry holds
//! about a contact, on which domains and in which role, what the public sees of each field, and
//! to whom it was disclosed.
//!
//! Pure: a data generation, verified log entries and the time in, a [`SubjectReport`] out. The
//! public view comes from the same policy and view code the protocols use
//! ([`crate::policy::Policy::domain_view`], [`crate::policy::Policy::contact_view`]); nothing
//! here decides on its own what is public.
//!
//! The report holds the person's own data by design: it is for the registry's privacy officer
//! answering that person. It never goes to a log.
//!
//! A disclosure whose authority asked that it be withheld from the person
//! ([`crate::authority::service::WITHHOLD_HEADER`]) is listed, until its date, only as "withheld until": no
//! time, authority, purpose, legal basis, case reference or fields.

use std::collections::HashMap;

use serde::Serialize;

use crate::authority::log::{Entry, Verified};
use crate::policy::{Audience, ContactView, Field, Policy};
use crate::registry::{Contact, ContactField, ContactRoles, PersonType, Snapshot, Timestamp};

/// How the public sees one field (as the view code decides it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Shown.
    Shown,
    /// Redacted (by policy, or for want of consent).
    Withheld,
    /// Public by policy, but the contact has no value.
    Absent,
}

impl Visibility {
    fn of<T>(f: &Field<T>) -> Self {
        match f {
            Field::Shown(_) => Self::Shown,
            Field::Withheld => Self::Withheld,
            Field::Absent => Self::Absent,
        }
    }

    fn text(self) -> &'static str {
        match self {
            Self::Shown => "shown",
            Self::Withheld => "withheld",
            Self::Absent => "absent",
        }
    }
}

/// What the public sees of one field: in a domain answer that names the contact as registrant,
/// as technical contact, and in the contact's own lookup. `None` for a role the contact holds
/// on no domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicView {
    /// In a domain answer, as registrant.
    pub as_registrant: Option<Visibility>,
    /// In a domain answer, as technical contact.
    pub as_technical: Option<Visibility>,
    /// In the contact's own lookup (RDAP entity, WHOIS handle).
    pub own_lookup: Visibility,
}

/// One field of the contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldReport {
    /// Field name, as in data and policy files.
    pub field: &'static str,
    /// The value held; `None` if the registry holds none. Street lines are separate items.
    pub value: Option<Vec<String>>,
    /// Whether the contact consented to publish it.
    pub consent: bool,
    /// What the public sees of it.
    pub public: PublicView,
}

/// One domain the contact appears on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainRole {
    /// The domain (Unicode form).
    pub domain: String,
    /// The domain's A-label form.
    pub ascii: String,
    /// `registrant`, `technical`, or both.
    pub roles: Vec<&'static str>,
}

/// The contact's part of one disclosure: in which role, which non-public fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DisclosedAs {
    /// `registrant`, `technical` or `contact` (its own lookup).
    pub role: String,
    /// Non-public fields that went out; empty when nothing beyond the public view did.
    pub fields: Vec<String>,
}

/// One disclosure that named the contact, told in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DisclosureDetails {
    /// Log sequence number.
    pub seq: u64,
    /// When (RFC 3339 UTC).
    pub time: String,
    /// The authority.
    pub authority: String,
    /// Its credential.
    pub credential_id: String,
    /// The credential's jurisdiction; `None` if neither the entry nor the credentials file
    /// records it.
    pub jurisdiction: Option<String>,
    /// Stated purpose.
    pub purpose: String,
    /// Stated legal basis.
    pub legal_basis: String,
    /// Stated case reference.
    pub case_reference: String,
    /// The query path.
    pub query: String,
    /// The contact's part (one item per role it had in the answer).
    pub disclosed: Vec<DisclosedAs>,
    /// Until when it was withheld from the person, if the authority asked (now past).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withheld_until: Option<String>,
}

/// One disclosure that named the contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum DisclosureReport {
    /// Told in full.
    Disclosed(Box<DisclosureDetails>),
    /// Withheld from the person at the authority's request: only that, and until when.
    #[serde(rename_all = "camelCase")]
    Withheld {
        /// Log sequence number (for the officer to find it again once the date has passed).
        seq: u64,
        /// Until when (RFC 3339 UTC, or the entry's text if it is not a date).
        withheld_until: String,
    },
}

/// The state of the log the disclosures come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogSummary {
    /// Entries in the (verified) log.
    pub entries: usize,
    /// Its head hash.
    pub head: String,
    /// When older entries were pruned (retention): disclosures before this date are no longer
    /// held, so they cannot be reported.
    pub pruned_before: Option<String>,
}

/// Everything the registry can tell one person about their data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubjectReport {
    /// The contact's ROID, as the registry spells it.
    pub roid: String,
    /// When the report was made.
    pub generated: String,
    /// When the registration data it reads was last updated (its export or last delta).
    pub data_updated: String,
    /// `natural` or `legal` person.
    pub person_type: &'static str,
    /// Every field the registry decides on, with its value and public view.
    pub fields: Vec<FieldReport>,
    /// The domains it appears on.
    pub domains: Vec<DomainRole>,
    /// Every disclosure of it in the log, oldest first.
    pub disclosures: Vec<DisclosureReport>,
    /// The log's state.
    pub log: LogSummary,
}

/// The ROID is not a contact in the registration data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}: no contact with this ROID in the registration data (ROIDs match without regard to case); for disclosures of a contact no longer registered, see `rddsd audit report LOG --contact ROID`, the registry's own view: it includes withheld entries (column WITHHELD UNTIL), whose details must not reach the person before that date")]
pub struct UnknownContact(pub String);

/// Find the contact, or say at once that there is none. Cheap: done before the log is read.
///
/// # Errors
/// [`UnknownContact`].
pub fn find<'a>(
    snapshot: &'a Snapshot,
    roid: &str,
) -> Result<(&'a Contact, ContactRoles), UnknownContact> {
    snapshot
        .contact(roid.trim())
        .ok_or_else(|| UnknownContact(roid.trim().to_string()))
}

fn value(contact: &Contact, field: ContactField) -> Option<Vec<String>> {
    let phone = |p: Option<crate::registry::PhoneRef<'_>>| {
        p.map(|p| match p.ext {
            Some(ext) => vec![format!("{} ext. {ext}", p.number)],
            None => vec![p.number.to_string()],
        })
    };
    let one = |s: Option<&str>| s.map(|s| vec![s.to_string()]);
    match field {
        ContactField::Handle => one(Some(contact.roid.as_str())),
        ContactField::Name => one(Some(contact.name())),
        ContactField::Org => one(contact.org()),
        ContactField::Street => {
            let lines: Vec<String> = contact.street().iter().map(str::to_string).collect();
            (!lines.is_empty()).then_some(lines)
        }
        ContactField::City => one(Some(contact.city())),
        ContactField::Sp => one(contact.sp()),
        ContactField::Pc => one(contact.pc()),
        ContactField::Cc => one(Some(contact.cc())),
        ContactField::Voice => phone(contact.voice()),
        ContactField::Fax => phone(contact.fax()),
        ContactField::Email => one(Some(contact.email())),
    }
}

fn visibility(view: &ContactView<'_>, field: ContactField) -> Visibility {
    match field {
        ContactField::Handle => Visibility::of(&view.handle()),
        ContactField::Name => Visibility::of(&view.name()),
        ContactField::Org => Visibility::of(&view.org()),
        ContactField::Street => Visibility::of(&view.street()),
        ContactField::City => Visibility::of(&view.city()),
        ContactField::Sp => Visibility::of(&view.sp()),
        ContactField::Pc => Visibility::of(&view.pc()),
        ContactField::Cc => Visibility::of(&view.cc()),
        ContactField::Voice => Visibility::of(&view.voice()),
        ContactField::Fax => Visibility::of(&view.fax()),
        ContactField::Email => Visibility::of(&view.email()),
    }
}

/// Whether an entry is still withheld from the person at `now`, and until when (its text).
/// A withholding date that does not parse keeps the entry withheld: the safe reading of a
/// request the registry cannot interpret.
pub fn withheld_at(entry: &Entry, now: Timestamp) -> Option<String> {
    let until = entry.disclosure.as_ref()?.withheld_until.as_ref()?;
    match crate::registry::validate::datetime(until) {
        Ok(t) if t <= now => None,
        _ => Some(until.clone()),
    }
}

/// Build the report for `contact` (found with [`find`]). `jurisdictions` maps credential ids
/// to jurisdictions, for entries written before the log recorded it.
pub fn report(
    snapshot: &Snapshot,
    policy: &Policy,
    contact: (&Contact, ContactRoles),
    log: &Verified,
    jurisdictions: &HashMap<String, String>,
    now: Timestamp,
) -> SubjectReport {
    let (c, roles) = contact;
    let roid = c.roid.as_str();
    let domains = snapshot.domains_of_contact(roid);
    // The public view in each role, taken from a real domain answer that names the contact in
    // it (the view of a contact depends only on its role, not on the domain).
    let in_role = |registrant: bool| {
        domains
            .iter()
            .find(|(_, r)| {
                if registrant {
                    r.registrant
                } else {
                    r.technical
                }
            })
            .and_then(|(d, _)| policy.domain_view(Audience::Public, snapshot, d))
    };
    let registrant_domain = in_role(true);
    let technical_domain = in_role(false);
    let as_registrant = registrant_domain.as_ref().and_then(|v| v.registrant());
    let as_technical = technical_domain.as_ref().and_then(|v| v.technical());
    let own = policy.contact_view(Audience::Public, c, roles);
    let fields = ContactField::ALL
        .into_iter()
        .map(|f| FieldReport {
            field: f.key(),
            value: value(c, f),
            consent: c.consent.allows(f),
            public: PublicView {
                as_registrant: as_registrant.map(|v| visibility(v, f)),
                as_technical: as_technical.map(|v| visibility(v, f)),
                own_lookup: visibility(&own, f),
            },
        })
        .collect();
    let domains = domains
        .iter()
        .map(|(d, r)| DomainRole {
            domain: d.name.unicode().to_string(),
            ascii: d.name.ascii().to_string(),
            roles: [(r.registrant, "registrant"), (r.technical, "technical")]
                .into_iter()
                .filter_map(|(has, name)| has.then_some(name))
                .collect(),
        })
        .collect();
    SubjectReport {
        roid: roid.to_string(),
        generated: now.text().to_string(),
        data_updated: snapshot.updated().text().to_string(),
        person_type: match c.person {
            PersonType::Natural => "natural",
            PersonType::Legal => "legal",
        },
        fields,
        domains,
        disclosures: disclosures_of(&log.entries, roid, jurisdictions, now),
        log: LogSummary {
            entries: log.entries.len(),
            head: log.head.clone(),
            pruned_before: log.checkpoint().map(|cp| cp.pruned_before.clone()),
        },
    }
}

/// Every disclosure in `entries` that names `roid` (ASCII case-insensitive), withheld ones
/// reduced to their date while `now` is before it.
pub fn disclosures_of(
    entries: &[Entry],
    roid: &str,
    jurisdictions: &HashMap<String, String>,
    now: Timestamp,
) -> Vec<DisclosureReport> {
    let mut out = Vec::new();
    for e in entries {
        let Some(d) = &e.disclosure else { continue };
        let mine: Vec<DisclosedAs> = d
            .disclosed
            .iter()
            .filter(|x| x.roid.eq_ignore_ascii_case(roid))
            .map(|x| DisclosedAs {
                role: x.role.clone(),
                fields: x.fields.clone(),
            })
            .collect();
        if mine.is_empty() {
            continue;
        }
        if let Some(until) = withheld_at(e, now) {
            out.push(DisclosureReport::Withheld {
                seq: e.seq,
                withheld_until: until,
            });
            continue;
        }
        out.push(DisclosureReport::Disclosed(Box::new(DisclosureDetails {
            seq: e.seq,
            time: e.time.clone(),
            authority: d.authority.clone(),
            credential_id: d.credential_id.clone(),
            jurisdiction: d
                .jurisdiction
                .clone()
                .or_else(|| jurisdictions.get(&d.credential_id).cloned()),
            purpose: d.purpose.clone(),
            legal_basis: d.legal_basis.clone(),
            case_reference: d.case_reference.clone(),
            query: d.query.clone(),
            disclosed: mine,
            withheld_until: d.withheld_until.clone(),
        })));
    }
    out
}

/// The report as text for the privacy officer.
pub fn text(r: &SubjectReport, log_name: &str) -> String {
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(format!("Subject access report for contact {}", r.roid));
    line(format!(
        "Generated {} from the registration data (as of {}) and the disclosure log {log_name}.",
        r.generated, r.data_updated
    ));
    line("This report contains the person's personal data: give it only to that person, after confirming their identity.".into());
    line(String::new());
    line(format!("REGISTRATION DATA HELD ({} person)", r.person_type));
    line(
        "FIELD\tVALUE\tCONSENT\tPUBLIC AS REGISTRANT\tPUBLIC AS TECHNICAL\tPUBLIC OWN LOOKUP"
            .into(),
    );
    let role = |v: Option<Visibility>| v.map_or("(no such role)", Visibility::text);
    for f in &r.fields {
        line(format!(
            "{}\t{}\t{}\t{}\t{}\t{}",
            f.field,
            f.value
                .as_ref()
                .map_or("(none held)".to_string(), |v| v.join(" / ")),
            // The handle is the registry's identifier: there is no consent to give for it.
            match (f.field, f.consent) {
                ("handle", _) => "-",
                (_, true) => "yes",
                (_, false) => "no",
            },
            role(f.public.as_registrant),
            role(f.public.as_technical),
            f.public.own_lookup.text()
        ));
    }
    line(String::new());
    line(format!("DOMAINS ({})", r.domains.len()));
    for d in &r.domains {
        let name = if d.domain == d.ascii {
            d.domain.clone()
        } else {
            format!("{} ({})", d.domain, d.ascii)
        };
        line(format!("{name}\t{}", d.roles.join(", ")));
    }
    line(String::new());
    line(format!(
        "DISCLOSURES TO AUTHORITIES ({})",
        r.disclosures.len()
    ));
    for d in &r.disclosures {
        match d {
            DisclosureReport::Withheld {
                seq,
                withheld_until,
            } => line(format!(
                "seq {seq}\twithheld until {withheld_until}: at the authority's request, its details are not given before then"
            )),
            DisclosureReport::Disclosed(d) => {
                let DisclosureDetails {
                    seq,
                    time,
                    authority,
                    credential_id,
                    jurisdiction,
                    purpose,
                    legal_basis,
                    case_reference,
                    query,
                    disclosed,
                    withheld_until,
                } = d.as_ref();
                line(format!(
                    "seq {seq}\t{time}\t{authority} (credential {credential_id}, jurisdiction {})",
                    jurisdiction.as_deref().unwrap_or("not recorded")
                ));
                line(format!(
                    "\tpurpose {purpose}; legal basis \"{legal_basis}\"; case reference \"{case_reference}\"; query {query}"
                ));
                for x in disclosed {
                    line(format!(
                        "\tas {}: {}",
                        x.role,
                        if x.fields.is_empty() {
                            "nothing beyond the public view".to_string()
                        } else {
                            x.fields.join(", ")
                        }
                    ));
                }
                if let Some(u) = withheld_until {
                    line(format!("\twas withheld from the person until {u}"));
                }
            }
        }
    }
    line(String::new());
    line(format!(
        "The disclosure log verifies: {} entr{}, head {}.",
        r.log.entries,
        if r.log.entries == 1 { "y" } else { "ies" },
        r.log.head
    ));
    if let Some(before) = &r.log.pruned_before {
        line(format!(
            "Entries before {before} were pruned under the retention policy and are no longer held."
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authority::log::testing::{disclosure, ts};

    /// Disclosure `seq` of contact `roid`'s name, withheld until `withheld_until` if given.
    fn entry(seq: u32, roid: &str, withheld_until: Option<&str>) -> Entry {
        let d = disclosure(seq).contacts(&[(roid, &["name"])]);
        match withheld_until {
            Some(t) => d.withheld_until(t),
            None => d,
        }
        .at("2026-03-01T10:00:00Z")
    }

    #[test]
    fn a_withheld_entry_shows_only_its_date_until_the_date_has_passed() {
        // GIVEN an entry withheld until 2027-06-30, another contact's entry, an ordinary one
        let entries = vec![
            entry(1, "C1-X", Some("2027-06-30T00:00:00Z")),
            entry(2, "C2-X", None),
            entry(3, "c1-x", None),
        ];
        let logged = entries[0].disclosure.clone().expect("disclosure");
        let juris = HashMap::from([(logged.credential_id.clone(), "CH".to_string())]);
        // WHEN reported before the date
        let before = disclosures_of(&entries, "C1-X", &juris, ts("2027-06-29T23:59:59Z"));
        // THEN the withheld entry is its seq and date only; the other is in full, matched
        // without regard to case, its jurisdiction from the credentials file
        assert_eq!(before.len(), 2);
        assert_eq!(
            before[0],
            DisclosureReport::Withheld {
                seq: 1,
                withheld_until: "2027-06-30T00:00:00Z".into()
            }
        );
        let json = serde_json::to_string(&before[0]).expect("json");
        for detail in [
            logged.authority.as_str(),
            "CASE-1",
            logged.purpose.as_str(),
            logged.legal_basis.as_str(),
            "name",
            logged.credential_id.as_str(),
        ] {
            assert!(!json.contains(detail), "{detail} in {json}");
        }
        assert!(
            matches!(&before[1], DisclosureReport::Disclosed(d) if d.seq == 3 && d.jurisdiction.as_deref() == Some("CH"))
        );
        // WHEN reported at the date: THEN in full, saying it was withheld until then
        let after = disclosures_of(&entries, "C1-X", &juris, ts("2027-06-30T00:00:00Z"));
        match &after[0] {
            DisclosureReport::Disclosed(d) => {
                let DisclosureDetails {
                    case_reference,
                    withheld_until,
                    disclosed,
                    ..
                } = d.as_ref();
                assert_eq!(case_reference, "CASE-1");
                assert_eq!(withheld_until.as_deref(), Some("2027-06-30T00:00:00Z"));
                assert_eq!(disclosed[0].fields, vec!["name".to_string()]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_unreadable_withholding_date_keeps_the_entry_withheld() {
        let e = entry(1, "C1-X", Some("soon"));
        assert_eq!(
            withheld_at(&e, ts("2099-01-01T00:00:00Z")).as_deref(),
            Some("soon")
        );
        assert_eq!(
            withheld_at(&entry(2, "C1-X", None), ts("2020-01-01T00:00:00Z")),
            None
        );
    }

    #[test]
    fn the_public_view_comes_from_the_policy_and_consent() {
        let snap = crate::registry::load::load_demo().expect("demo");
        let policy = Policy::default_policy().expect("policy");
        assert!(find(&snap, "C999-NOPE").is_err());
        // C104 consented to publish its organisation; it is a registrant only.
        let c = find(&snap, "c104-example").expect("case-insensitive");
        let log = Verified::default();
        let r = report(
            &snap,
            &policy,
            c,
            &log,
            &HashMap::new(),
            ts("2026-01-01T00:00:00Z"),
        );
        assert_eq!(r.roid, "C104-EXAMPLE");
        let f = |k: &str| r.fields.iter().find(|f| f.field == k).expect(k).clone();
        let org = f("org");
        assert!(org.consent);
        assert_eq!(org.public.as_registrant, Some(Visibility::Shown));
        assert_eq!(org.public.as_technical, None, "not a technical contact");
        let name = f("name");
        assert_eq!(name.value, Some(vec!["Dmitri Haverbeke".to_string()]));
        assert_eq!(name.public.as_registrant, Some(Visibility::Withheld));
        assert_eq!(f("cc").public.as_registrant, Some(Visibility::Shown));
        assert_eq!(r.domains.len(), 1);
        assert_eq!(r.domains[0].roles, vec!["registrant"]);
        // C204 is registrant and technical contact of the same domains.
        let c = find(&snap, "C204-EXAMPLE").expect("c204");
        let r = report(
            &snap,
            &policy,
            c,
            &log,
            &HashMap::new(),
            ts("2026-01-01T00:00:00Z"),
        );
        assert!(r
            .domains
            .iter()
            .all(|d| d.roles == vec!["registrant", "technical"]));
        assert!(r.fields.iter().all(|f| f.public.as_technical.is_some()));
    }
}
