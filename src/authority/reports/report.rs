//! `rddsd audit report`: who received what, filtered, as a table or JSON. Pure over entries.

use crate::authority::log::Entry;
use crate::registry::Timestamp;

/// Report filters; all given ones must match.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// Authority name (case-insensitive substring) or credential id (exact).
    pub authority: Option<String>,
    /// Entries at or after this time.
    pub since: Option<Timestamp>,
    /// Entries before this time.
    pub until: Option<Timestamp>,
    /// Case reference (exact).
    pub case_reference: Option<String>,
    /// Contact ROID whose data was disclosed ("who has received this person's data?").
    pub contact: Option<String>,
}

impl Filter {
    fn matches(&self, e: &Entry) -> bool {
        let Some(d) = &e.disclosure else { return false };
        let time = crate::registry::validate::datetime(&e.time).ok();
        self.authority.as_ref().is_none_or(|a| {
            d.credential_id == *a || d.authority.to_lowercase().contains(&a.to_lowercase())
        }) && self
            .since
            .as_ref()
            .is_none_or(|s| time.as_ref().is_some_and(|t| t >= s))
            && self
                .until
                .as_ref()
                .is_none_or(|u| time.as_ref().is_some_and(|t| t < u))
            && self
                .case_reference
                .as_ref()
                .is_none_or(|c| d.case_reference == *c)
            && self
                .contact
                .as_ref()
                .is_none_or(|c| d.disclosed.iter().any(|x| x.roid.eq_ignore_ascii_case(c)))
    }
}

/// The matching disclosures.
pub fn select<'a>(entries: &'a [Entry], filter: &Filter) -> Vec<&'a Entry> {
    entries.iter().filter(|e| filter.matches(e)).collect()
}

/// A plain-text table, one disclosure per line.
pub fn table(entries: &[&Entry]) -> String {
    let mut out = String::from(
        "SEQ\tTIME\tAUTHORITY\tCREDENTIAL\tPURPOSE\tCASE\tQUERY\tDISCLOSED\tWITHHELD UNTIL\n",
    );
    for e in entries {
        let Some(d) = &e.disclosure else { continue };
        let disclosed: Vec<String> = d
            .disclosed
            .iter()
            .map(|c| {
                format!(
                    "{}({}):{}",
                    c.roid,
                    c.role,
                    if c.fields.is_empty() {
                        "-".to_string()
                    } else {
                        c.fields.join(",")
                    }
                )
            })
            .collect();
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            e.seq,
            e.time,
            d.authority,
            d.credential_id,
            d.purpose,
            d.case_reference,
            d.query,
            disclosed.join(" "),
            d.withheld_until.as_deref().unwrap_or("-")
        ));
    }
    out.push_str(&format!("{} disclosure(s)\n", entries.len()));
    out
}

/// One contact whose non-public data left through a credential (`rddsd audit affected`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Affected {
    /// Contact ROID, as the log records it.
    pub roid: String,
    /// Every non-public field that left, over all its disclosures (sorted).
    pub fields: Vec<String>,
    /// Each disclosure of it: when, and which fields.
    pub disclosures: Vec<AffectedDisclosure>,
}

/// One disclosure of an affected contact.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AffectedDisclosure {
    /// Log sequence number.
    pub seq: u64,
    /// When (RFC 3339 UTC).
    pub time: String,
    /// Role in the answer.
    pub role: String,
    /// The non-public fields that left.
    pub fields: Vec<String>,
    /// Until when the authority asked that the person not be told of this disclosure: the
    /// registry must respect it when it notifies the people concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withheld_until: Option<String>,
}

/// Every contact whose non-public data left through credential `credential` (exact id) within
/// `[since, until)`, sorted by ROID (ROIDs that differ only in case are one contact). A contact
/// that was in an answer with nothing beyond the public view is not listed: none of its
/// non-public data left. Withheld entries are included: this list is for the registry, which
/// must tell the people concerned about a leak, not the subject report.
pub fn affected(
    entries: &[Entry],
    credential: &str,
    since: Option<&Timestamp>,
    until: Option<&Timestamp>,
) -> Vec<Affected> {
    let filter = Filter {
        since: since.copied(),
        until: until.copied(),
        ..Filter::default()
    };
    let mut by_roid: std::collections::BTreeMap<String, Affected> =
        std::collections::BTreeMap::new();
    for e in entries.iter().filter(|e| filter.matches(e)) {
        let Some(d) = e
            .disclosure
            .as_ref()
            .filter(|d| d.credential_id == credential)
        else {
            continue;
        };
        for c in d.disclosed.iter().filter(|c| !c.fields.is_empty()) {
            let a = by_roid
                .entry(crate::registry::Roid::key(&c.roid))
                .or_insert_with(|| Affected {
                    roid: c.roid.clone(),
                    fields: Vec::new(),
                    disclosures: Vec::new(),
                });
            for f in &c.fields {
                if !a.fields.contains(f) {
                    a.fields.push(f.clone());
                }
            }
            a.disclosures.push(AffectedDisclosure {
                seq: e.seq,
                time: e.time.clone(),
                role: c.role.clone(),
                fields: c.fields.clone(),
                withheld_until: d.withheld_until.clone(),
            });
        }
    }
    by_roid
        .into_values()
        .map(|mut a| {
            a.fields.sort();
            a
        })
        .collect()
}

/// `audit affected` as text: one line per contact, then one indented line per disclosure.
pub fn affected_table(credential: &str, list: &[Affected]) -> String {
    let mut out = String::from("CONTACT\tFIELDS\tDISCLOSURES\n");
    for a in list {
        out.push_str(&format!(
            "{}\t{}\t{}\n",
            a.roid,
            a.fields.join(","),
            a.disclosures.len()
        ));
        for d in &a.disclosures {
            out.push_str(&format!(
                "\tseq {}\t{}\tas {}\t{}{}\n",
                d.seq,
                d.time,
                d.role,
                d.fields.join(","),
                d.withheld_until
                    .as_ref()
                    .map(|w| format!("\tWITHHELD from the person until {w}"))
                    .unwrap_or_default()
            ));
        }
    }
    out.push_str(&format!(
        "{} contact(s) with non-public data disclosed through credential {credential}\n",
        list.len()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authority::log::testing::disclosure;

    /// Disclosure `seq` through `credential`, withheld from the people concerned.
    fn entry(seq: u32, time: &str, credential: &str, disclosed: &[(&str, &[&str])]) -> Entry {
        disclosure(seq)
            .credential(credential)
            .contacts(disclosed)
            .withheld_until("2099-01-01T00:00:00Z")
            .at(time)
    }

    #[test]
    fn affected_lists_each_contact_of_one_credential_once_with_every_field() {
        let entries = vec![
            entry(
                1,
                "2026-01-01T00:00:00Z",
                "leaked",
                &[("C1-X", &["name"]), ("C2-X", &[])],
            ),
            entry(2, "2026-02-01T00:00:00Z", "other", &[("C3-X", &["email"])]),
            entry(
                3,
                "2026-03-01T00:00:00Z",
                "leaked",
                &[("c1-x", &["email", "name"])],
            ),
            entry(4, "2026-04-01T00:00:00Z", "leaked", &[("C4-X", &["voice"])]),
        ];
        let all = affected(&entries, "leaked", None, None);
        // C2 had nothing beyond the public view; C3 went through another credential; the
        // withheld entries count (the registry must still tell the people concerned).
        let roids: Vec<&str> = all.iter().map(|a| a.roid.as_str()).collect();
        assert_eq!(roids, vec!["C1-X", "C4-X"]);
        assert_eq!(all[0].fields, vec!["email", "name"]);
        assert_eq!(
            all[0].disclosures.iter().map(|d| d.seq).collect::<Vec<_>>(),
            vec![1, 3]
        );
        let t = |s: &str| crate::registry::validate::datetime(s).expect("date");
        let window = affected(
            &entries,
            "leaked",
            Some(&t("2026-02-01T00:00:00Z")),
            Some(&t("2026-04-01T00:00:00Z")),
        );
        assert_eq!(window.len(), 1);
        assert_eq!(window[0].disclosures[0].seq, 3);
        assert!(affected(&entries, "nobody", None, None).is_empty());
        assert!(affected_table("leaked", &all).contains("2 contact(s)"));
    }
}
