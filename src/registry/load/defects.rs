//! What a load did with defective records: values made safe, records left out, and the
//! threshold past which a load is refused whole.
//!
//! The rule, per kind of defect (docs/operating.md, "Registration data"):
//! - a free-text value holding a character [`crate::registry::validate::forbidden_char`]
//!   refuses is made safe (each such character replaced by U+FFFD), the record kept and reported;
//! - a record that cannot be represented (a line that does not parse, a value outside its
//!   syntax, a duplicate key, a sponsoring registrar that is missing) is left out and reported,
//!   and what refers to it follows the documented rule (a contact or nameserver reference is
//!   dropped; a domain or host of a left-out registrar is left out too);
//! - a load whose share of records left out exceeds [`LoadOptions::max_bad_percent`] is refused
//!   whole.

use super::{LoadError, MAX_ERRORS};

/// How a load treats defective records.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadOptions {
    /// The largest share of records (in percent of the records in the input) that may be left
    /// out before the whole load is refused. 0 refuses a load with any record left out.
    pub max_bad_percent: f64,
}

impl LoadOptions {
    /// The default threshold, `[data] max_bad_percent`.
    pub const DEFAULT_MAX_BAD_PERCENT: f64 = 0.1;

    /// Refuse any load with a record left out (the behaviour before thresholds).
    pub const STRICT: Self = Self {
        max_bad_percent: 0.0,
    };
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            max_bad_percent: Self::DEFAULT_MAX_BAD_PERCENT,
        }
    }
}

/// Records counted by kind. `unparsed` holds lines that did not parse far enough to tell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindCounts {
    /// Contacts.
    pub contact: u64,
    /// Hosts.
    pub host: u64,
    /// Domains.
    pub domain: u64,
    /// Registrars.
    pub registrar: u64,
    /// Lines of no known kind (not JSON, no `kind`, an unknown kind, not UTF-8, too long).
    pub unparsed: u64,
}

impl KindCounts {
    /// Count one record of `kind` (a `kind` of the data format; anything else is `unparsed`).
    pub fn add(&mut self, kind: &str) {
        match kind {
            "contact" => self.contact += 1,
            "host" => self.host += 1,
            "domain" => self.domain += 1,
            "registrar" => self.registrar += 1,
            _ => self.unparsed += 1,
        }
    }

    /// All the records counted.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.contact + self.host + self.domain + self.registrar + self.unparsed
    }

    /// The counts by metric label, `unparsed` as `line`.
    #[must_use]
    pub fn by_kind(&self) -> [(&'static str, u64); 5] {
        [
            ("contact", self.contact),
            ("host", self.host),
            ("domain", self.domain),
            ("registrar", self.registrar),
            ("line", self.unparsed),
        ]
    }

    pub(super) fn absorb(&mut self, other: &Self) {
        self.contact += other.contact;
        self.host += other.host;
        self.domain += other.domain;
        self.registrar += other.registrar;
        self.unparsed += other.unparsed;
    }
}

/// The defects of a load that was accepted (or of a refused one, in its errors): what the
/// snapshot carries for the metrics and the log.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Defects {
    /// Records in the input: lines that looked like records, those that did not parse included.
    pub records: u64,
    /// Records kept with a value made safe.
    pub made_safe: KindCounts,
    /// Records left out, cascades included.
    pub left_out: KindCounts,
    /// Domains served without a reference to a record that never existed (the reference
    /// dropped). They count toward the threshold like a record left out.
    pub dropped_references: u64,
    /// The first [`MAX_ERRORS`] reports in file order (made safe, left out, dropped
    /// references); each names file, line, key and field, never the value.
    pub reports: Vec<LoadError>,
    /// Reports past the first [`MAX_ERRORS`], counted only.
    pub more_reports: u64,
}

impl Defects {
    /// Whether the load had no defect at all.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.reports.is_empty() && self.more_reports == 0
    }

    /// Records that count toward the threshold.
    #[must_use]
    pub fn bad(&self) -> u64 {
        self.left_out.total() + self.dropped_references
    }

    /// The share of bad records, in percent of the records in the input.
    #[must_use]
    pub fn bad_percent(&self) -> f64 {
        if self.records == 0 {
            return if self.bad() == 0 { 0.0 } else { 100.0 };
        }
        #[allow(clippy::cast_precision_loss)]
        let share = self.bad() as f64 * 100.0 / self.records as f64;
        share
    }

    /// Whether the load stays within `options`.
    #[must_use]
    pub fn within(&self, options: LoadOptions) -> bool {
        self.bad() == 0 || self.bad_percent() <= options.max_bad_percent
    }

    /// One line naming the counts, for the log and a refusal.
    #[must_use]
    pub fn summary(&self) -> String {
        format!(
            "{} of {} records left out ({:.3} %), {} domains without a reference to a record that does not exist, {} records with values made safe",
            self.left_out.total(),
            self.records,
            self.bad_percent(),
            self.dropped_references,
            self.made_safe.total(),
        )
    }

    /// One warning line per report (at most [`MAX_ERRORS`]), then one with the counts. Each
    /// names file, line, record key and field, never the value.
    pub fn log(&self, what: &str) {
        if self.is_clean() {
            return;
        }
        for e in &self.reports {
            match &e.key {
                Some(key) => tracing::warn!(record = %key, "{what}: {e}"),
                None => tracing::warn!("{what}: {e}"),
            }
        }
        tracing::warn!(
            more_reports = self.more_reports,
            "{what}: {}",
            self.summary()
        );
    }

    /// Add a worker's counts (its reports travel apart, as the loader's errors and warnings).
    pub(super) fn absorb(&mut self, other: &Self) {
        self.records += other.records;
        self.made_safe.absorb(&other.made_safe);
        self.left_out.absorb(&other.left_out);
        self.dropped_references += other.dropped_references;
        self.more_reports += other.more_reports;
    }

    pub(super) fn report(&mut self, e: LoadError) {
        if self.reports.len() < MAX_ERRORS {
            self.reports.push(e);
        } else {
            self.more_reports += 1;
        }
    }
}
