//! A load's errors: each names file, line and field, and keeps the offending value apart so
//! that only `rddsd check --show-values` prints it.

use std::fmt;

use super::MAX_ERRORS;

/// One problem in the input, located precisely enough to fix it. Its `Debug`, like its
/// `Display`, leaves the offending value out.
#[derive(Clone, PartialEq, Eq)]
pub struct LoadError {
    /// File name (as given, or the embedded name).
    pub file: String,
    /// 1-based line number; 0 for problems of the whole set.
    pub line: usize,
    /// The field, as a path such as `voice.number`; empty for the whole line.
    pub field: String,
    /// What is wrong, without the offending value.
    pub message: String,
    /// The offending value, if any. Never part of [`fmt::Display`]: it may be personal data.
    pub value: Option<String>,
    /// The record's key (ROID, name or IANA ID) where it is known: never personal data. Named
    /// in the load's warning lines, not in [`fmt::Display`] (which keeps `file:line: field`).
    pub key: Option<String>,
}

impl fmt::Debug for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadError")
            .field("file", &self.file)
            .field("line", &self.line)
            .field("field", &self.field)
            .field("message", &self.message)
            .field("value", &self.value.as_ref().map(|_| "<hidden>"))
            .field("key", &self.key)
            .finish()
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.field.is_empty()) {
            (0, _) => write!(f, "{}: {}", self.file, self.message),
            (_, true) => write!(f, "{}:{}: {}", self.file, self.line, self.message),
            (_, false) => write!(
                f,
                "{}:{}: field `{}`: {}",
                self.file, self.line, self.field, self.message
            ),
        }
    }
}

/// All the errors of one failed load. `Display` prints locations and problems only, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadErrors(pub Vec<LoadError>);

impl LoadErrors {
    /// The errors with each offending value appended, for an operator's terminal
    /// (`rddsd check --show-values`). Never log this.
    pub fn with_values(&self) -> impl fmt::Display + '_ {
        WithValues(self)
    }
}

struct WithValues<'a>(&'a LoadErrors);

impl fmt::Display for WithValues<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0 .0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
            if let Some(v) = &e.value {
                // Escape what could forge or reorder terminal lines; keep the rest readable.
                write!(f, " (value: {})", crate::registry::shown::escaped(v))?;
            }
        }
        if self.0 .0.len() >= MAX_ERRORS {
            write!(f, "\n(stopped after {MAX_ERRORS} errors)")?;
        }
        Ok(())
    }
}

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        if self.0.len() >= MAX_ERRORS {
            write!(f, "\n(stopped after {MAX_ERRORS} errors)")?;
        }
        Ok(())
    }
}
