//! `rddsd audit stats`: disclosure counts for a transparency report, grouped by month, purpose,
//! authority and jurisdiction in any subset and order. Pure over log entries.
//!
//! The counts carry no personal data: no contact ROID, name or other field value, no case
//! reference, legal basis, query, request id, client address or credential id ever reaches a
//! row. Only the grouping values do, and those are a month, a purpose key, and the authority's
//! name and jurisdiction as its credential was issued.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::report::Filter;
use crate::authority::log::Entry;

/// What counts can be grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatKey {
    /// The entry's month, `YYYY-MM` (UTC).
    Month,
    /// The stated purpose.
    Purpose,
    /// The authority's name.
    Authority,
    /// The credential's jurisdiction.
    Jurisdiction,
}

impl StatKey {
    /// Every key.
    pub const ALL: [Self; 4] = [
        Self::Month,
        Self::Purpose,
        Self::Authority,
        Self::Jurisdiction,
    ];

    /// The name used on the command line and in JSON.
    pub fn key(self) -> &'static str {
        match self {
            Self::Month => "month",
            Self::Purpose => "purpose",
            Self::Authority => "authority",
            Self::Jurisdiction => "jurisdiction",
        }
    }
}

/// Why a `--by` list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseByError {
    /// An empty key (an empty list, or a stray comma).
    #[error("--by: an empty key in {list:?}; give one or more of {}", known())]
    EmptyKey {
        /// The whole list as given.
        list: String,
    },
    /// A key that is not a [`StatKey`].
    #[error("--by: unknown key {key:?}; known keys: {}", known())]
    UnknownKey {
        /// The key as given.
        key: String,
    },
    /// A key given more than once.
    #[error("--by: {0:?} is given twice")]
    Repeated(String),
}

/// Parse `--by`: a comma-separated list of keys, each at most once, in the order to group by.
///
/// # Errors
/// An empty list, an unknown key (named, with the known ones) or a repeated key.
pub fn parse_by(s: &str) -> Result<Vec<StatKey>, ParseByError> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim) {
        if part.is_empty() {
            return Err(ParseByError::EmptyKey {
                list: s.to_string(),
            });
        }
        let Some(k) = StatKey::ALL.into_iter().find(|k| k.key() == part) else {
            return Err(ParseByError::UnknownKey {
                key: part.to_string(),
            });
        };
        if out.contains(&k) {
            return Err(ParseByError::Repeated(part.to_string()));
        }
        out.push(k);
    }
    Ok(out)
}

fn known() -> String {
    StatKey::ALL.map(StatKey::key).join(", ")
}

/// One group's counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// The group's value for each `--by` key.
    #[serde(flatten)]
    pub group: BTreeMap<&'static str, String>,
    /// Disclosures (log entries).
    pub disclosures: u64,
    /// Contact records with non-public data in those disclosures (a contact disclosed twice
    /// counts twice).
    pub contacts: u64,
}

/// The counts, grouped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// The keys grouped by, in order.
    pub by: Vec<&'static str>,
    /// One row per group, sorted by the keys in order.
    pub rows: Vec<Row>,
    /// All disclosures counted.
    pub disclosures: u64,
    /// All contact records with non-public data counted.
    pub contacts: u64,
}

/// What an entry written before the log recorded a jurisdiction, whose credential the
/// credentials file does not name, is grouped under.
pub const UNRECORDED: &str = "(not recorded)";

/// Count the disclosures `filter` selects (its time bounds; the other filters apply too),
/// grouped by `by`. `jurisdictions` maps credential ids to jurisdictions for entries written
/// before the log recorded it.
pub fn stats(
    entries: &[Entry],
    filter: &Filter,
    by: &[StatKey],
    jurisdictions: &HashMap<String, String>,
) -> Stats {
    let mut groups: BTreeMap<Vec<String>, (u64, u64)> = BTreeMap::new();
    for e in super::report::select(entries, filter) {
        let Some(d) = &e.disclosure else { continue };
        let group = by
            .iter()
            .map(|k| match k {
                StatKey::Month => crate::registry::validate::datetime(&e.time)
                    .map(|t| t.text()[..7].to_string())
                    .unwrap_or_else(|_| "(invalid time)".into()),
                StatKey::Purpose => d.purpose.clone(),
                StatKey::Authority => d.authority.clone(),
                StatKey::Jurisdiction => d
                    .jurisdiction
                    .clone()
                    .or_else(|| jurisdictions.get(&d.credential_id).cloned())
                    .unwrap_or_else(|| UNRECORDED.into()),
            })
            .collect();
        let counts = groups.entry(group).or_default();
        counts.0 += 1;
        counts.1 += d.disclosed.iter().filter(|c| !c.fields.is_empty()).count() as u64;
    }
    let rows: Vec<Row> = groups
        .into_iter()
        .map(|(values, (disclosures, contacts))| Row {
            group: by.iter().map(|k| k.key()).zip(values).collect(),
            disclosures,
            contacts,
        })
        .collect();
    Stats {
        by: by.iter().map(|k| k.key()).collect(),
        disclosures: rows.iter().map(|r| r.disclosures).sum(),
        contacts: rows.iter().map(|r| r.contacts).sum(),
        rows,
    }
}

/// The counts as a tab-separated table with a total line.
pub fn table(s: &Stats) -> String {
    let mut out = String::new();
    for k in &s.by {
        out.push_str(&k.to_uppercase());
        out.push('\t');
    }
    out.push_str("DISCLOSURES\tCONTACTS\n");
    for r in &s.rows {
        for k in &s.by {
            out.push_str(r.group.get(k).map_or("", String::as_str));
            out.push('\t');
        }
        out.push_str(&format!("{}\t{}\n", r.disclosures, r.contacts));
    }
    out.push_str(&format!(
        "total: {} disclosure(s), {} contact record(s) with non-public data\n",
        s.disclosures, s.contacts
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authority::log::testing::disclosure;

    /// A disclosure of contact `C1-X`, one record per field list, by `authority` through its
    /// credential `cred-<authority>`.
    fn entry(
        time: &str,
        purpose: &str,
        authority: &str,
        juris: Option<&str>,
        fields: &[&[&str]],
    ) -> Entry {
        let contacts: Vec<(&str, &[&str])> = fields.iter().map(|f| ("C1-X", *f)).collect();
        let d = disclosure(1)
            .purpose(purpose)
            .authority(authority)
            .credential(&format!("cred-{authority}"))
            .contacts(&contacts);
        match juris {
            Some(j) => d.jurisdiction(j),
            None => d,
        }
        .at(time)
    }

    #[test]
    fn by_is_any_subset_in_any_order_and_names_an_unknown_key() {
        assert_eq!(
            parse_by("jurisdiction, month").expect("ok"),
            vec![StatKey::Jurisdiction, StatKey::Month]
        );
        assert_eq!(
            parse_by("month,purpose,authority,jurisdiction")
                .expect("all")
                .len(),
            4
        );
        let e = parse_by("month,roid").expect_err("unknown").to_string();
        assert!(e.contains("\"roid\"") && e.contains("jurisdiction"), "{e}");
        assert!(parse_by("month,month")
            .expect_err("twice")
            .to_string()
            .contains("twice"));
        assert!(parse_by("").is_err());
        assert!(parse_by("month,").is_err());
    }

    #[test]
    fn counts_are_grouped_in_key_order_with_no_personal_value() {
        let entries = vec![
            entry(
                "2026-01-05T10:00:00Z",
                "court-order",
                "Unit A",
                Some("CH"),
                &[&["name"], &[]],
            ),
            entry(
                "2026-01-20T10:00:00Z",
                "court-order",
                "Unit A",
                None,
                &[&["email", "name"]],
            ),
            entry(
                "2026-02-01T00:00:00Z",
                "urgent-threat-to-life",
                "Unit B",
                Some("DE"),
                &[&["name"]],
            ),
        ];
        let juris = HashMap::from([("cred-Unit A".to_string(), "CH".to_string())]);
        let s = stats(
            &entries,
            &Filter::default(),
            &[StatKey::Month, StatKey::Jurisdiction],
            &juris,
        );
        assert_eq!((s.disclosures, s.contacts), (3, 3));
        let rows: Vec<(String, String, u64, u64)> = s
            .rows
            .iter()
            .map(|r| {
                (
                    r.group["month"].clone(),
                    r.group["jurisdiction"].clone(),
                    r.disclosures,
                    r.contacts,
                )
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                ("2026-01".into(), "CH".into(), 2, 2),
                ("2026-02".into(), "DE".into(), 1, 1),
            ]
        );
        // Without the credentials file the old entry is "not recorded".
        let s = stats(
            &entries,
            &Filter::default(),
            &[StatKey::Jurisdiction],
            &HashMap::new(),
        );
        assert!(s.rows.iter().any(|r| r.group["jurisdiction"] == UNRECORDED));
        // A time filter applies.
        let since = crate::registry::validate::datetime("2026-02-01T00:00:00Z").expect("date");
        let f = Filter {
            since: Some(since),
            ..Filter::default()
        };
        assert_eq!(
            stats(&entries, &f, &[StatKey::Purpose], &juris).disclosures,
            1
        );
        let all = stats(&entries, &Filter::default(), &StatKey::ALL, &juris);
        let out = format!(
            "{}{}",
            table(&all),
            serde_json::to_string(&all).expect("json")
        );
        let d = entries[0].disclosure.as_ref().expect("disclosure");
        for private in [
            "C1-X",
            d.case_reference.as_str(),
            d.legal_basis.as_str(),
            "cred-",
            d.client.as_str(),
            "name",
            "email",
        ] {
            assert!(!out.contains(private), "{private} in {out}");
        }
    }
}
