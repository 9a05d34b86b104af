//! `rddsd audit report`: who received what, filtered, as a table or JSON. Pure over entries.

use super::log::Entry;
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
    let mut out =
        String::from("SEQ\tTIME\tAUTHORITY\tCREDENTIAL\tPURPOSE\tCASE\tQUERY\tDISCLOSED\n");
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
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            e.seq,
            e.time,
            d.authority,
            d.credential_id,
            d.purpose,
            d.case_reference,
            d.query,
            disclosed.join(" ")
        ));
    }
    out.push_str(&format!("{} disclosure(s)\n", entries.len()));
    out
}
