//! `rddsd check --database`: the loader's rules over the tables.
//!
//! The constraints of the schema hold whatever writes the tables; the rules SQL cannot state
//! (IDNA 2008 names, country codes, status combinations, ROIDs unique across object kinds, glue
//! and superordinate domains, …) live in the JSON Lines loader, and are not written twice: the
//! tables are exported, in one consistent snapshot, to a private temporary directory, the loader
//! runs over those files, and each of its errors is told by table and key instead of file and
//! line (`domains[example.example]: field `registrar`: no registrar with this IANA ID`).

use std::fmt;
use std::path::{Path, PathBuf};

use tokio_postgres::Client;

use super::{DbError, FILES};
use crate::registry::load::{self, LoadError};
use crate::registry::Snapshot;

/// One rule a record breaks: where (table and key), which field, what is wrong.
#[derive(Clone, PartialEq, Eq)]
pub struct Violation {
    /// The table of the record (its main table: a status lives in `domain_statuses` but is
    /// reported on its domain, with field `statuses[i]`).
    pub table: String,
    /// The record's key: a domain's or host's name, a contact's ROID, a registrar's IANA ID;
    /// empty for rules of the whole data set.
    pub key: String,
    /// The field, as the loader names it (`registrant`, `statuses[1]`, `ds[0].digest`).
    pub field: String,
    /// What is wrong, without the offending value.
    pub message: String,
    /// The offending value, if any. Never part of [`fmt::Display`]: it may be personal data.
    pub value: Option<String>,
}

impl fmt::Debug for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}", self.table)?;
        } else {
            write!(f, "{}[{}]", self.table, self.key)?;
        }
        if !self.field.is_empty() {
            write!(f, ": field `{}`", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every violation found (up to the loader's limit). `Display` prints locations and problems
/// only, never values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violations(pub Vec<Violation>);

impl Violations {
    /// The violations with each offending value appended, for an operator's terminal
    /// (`--show-values`). Never log this.
    pub fn with_values(&self) -> impl fmt::Display + '_ {
        WithValues(self)
    }
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{v}")?;
        }
        if self.0.len() >= load::MAX_ERRORS {
            write!(f, "\n(stopped after {} errors)", load::MAX_ERRORS)?;
        }
        Ok(())
    }
}

struct WithValues<'a>(&'a Violations);

impl fmt::Display for WithValues<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.0 .0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{v}")?;
            if let Some(value) = &v.value {
                // Escape what could forge or reorder terminal lines, as `check --show-values`.
                write!(f, " (value: {})", crate::registry::shown::escaped(value))?;
            }
        }
        Ok(())
    }
}

/// Check the data in the database with the loader's rules.
///
/// `Ok(Ok(snapshot))` when every rule holds, `Ok(Err(violations))` when some do not, `Err` when
/// the database cannot be read.
///
/// # Errors
/// A schema that is not the current one, a failed query, or a temporary file that cannot be
/// written.
pub async fn check(client: &mut Client) -> Result<Result<Snapshot, Violations>, DbError> {
    let tmp = PrivateDir::create()?;
    super::export::export(client, tmp.path()).await?;
    match load::load_dir(tmp.path(), load::LoadOptions::STRICT) {
        // A value made safe is a defect too: the check insists on clean data.
        Ok(snapshot) if !snapshot.defects().is_clean() => Ok(Err(violations(
            tmp.path(),
            snapshot.defects().reports.clone(),
        ))),
        Ok(snapshot) => Ok(Ok(snapshot)),
        Err(errors) => Ok(Err(violations(tmp.path(), errors.0))),
    }
}

/// Restate the loader's errors about the exported files by table and key.
fn violations(dir: &Path, errors: Vec<LoadError>) -> Violations {
    let keys = Keys::read(dir, &errors);
    Violations(
        errors
            .into_iter()
            .map(|e| {
                let (table, key) = keys.locate(&e.file, e.line);
                Violation {
                    table,
                    key,
                    field: e.field,
                    message: keys.restate(&e.message),
                    value: e.value,
                }
            })
            .collect(),
    )
}

/// The keys of the lines the errors point at, read back from the exported files.
struct Keys {
    /// (file as the loader names it, line, table, key).
    lines: Vec<(String, usize, String, String)>,
}

impl Keys {
    fn read(dir: &Path, errors: &[LoadError]) -> Self {
        use std::io::BufRead;
        let mut lines = Vec::new();
        for (name, table) in FILES {
            let path = dir.join(name);
            let file = path.display().to_string();
            // The lines named by an error, or by a message ("already used at FILE:LINE").
            let wanted: std::collections::HashSet<usize> = errors
                .iter()
                .filter(|e| e.file == file)
                .map(|e| e.line)
                .chain(
                    errors
                        .iter()
                        .flat_map(|e| referenced_lines(&e.message, &file)),
                )
                .collect();
            if wanted.is_empty() {
                continue;
            }
            let Ok(f) = std::fs::File::open(&path) else {
                continue;
            };
            for (i, text) in std::io::BufReader::new(f).lines().enumerate() {
                let no = i + 1;
                let Ok(text) = text else { break };
                if wanted.contains(&no) {
                    lines.push((file.clone(), no, table.to_string(), key_of(&text)));
                }
            }
        }
        Self { lines }
    }

    /// Table and key of a file and line; the table alone for errors of a whole file or set.
    fn locate(&self, file: &str, line: usize) -> (String, String) {
        if let Some((_, _, table, key)) = self
            .lines
            .iter()
            .find(|(f, l, _, _)| f == file && *l == line)
        {
            return (table.clone(), key.clone());
        }
        let table = FILES
            .iter()
            .find(|(name, _)| file.ends_with(&format!("/{name}")))
            .map_or("(data set)", |(_, table)| table);
        (table.to_string(), String::new())
    }

    /// A message with every `FILE:LINE` of an exported file replaced by `table[key]`.
    fn restate(&self, message: &str) -> String {
        let mut out = message.to_string();
        for (file, line, table, key) in &self.lines {
            out = out.replace(&format!("{file}:{line}"), &format!("{table}[{key}]"));
        }
        out
    }
}

/// The line numbers of `file` that a message refers to as `FILE:LINE`.
fn referenced_lines(message: &str, file: &str) -> Vec<usize> {
    let needle = format!("{file}:");
    message
        .match_indices(&needle)
        .filter_map(|(i, _)| {
            let digits: String = message[i + needle.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .collect()
}

/// The key of an exported line: a registrar's IANA ID, a domain's or host's name, a contact's
/// ROID. The line was written by the export, so it parses; a line that does not is named by
/// what is left.
fn key_of(text: &str) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return "?".into();
    };
    let field = match v.get("kind").and_then(|k| k.as_str()) {
        Some("registrar") => "ianaId",
        Some("contact") => "roid",
        Some("host" | "domain") => "name",
        _ => return String::new(),
    };
    match v.get(field) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => "?".into(),
    }
}

/// A directory only this user can read, removed with everything in it when dropped: the export
/// holds personal data.
pub struct PrivateDir(PathBuf);

impl PrivateDir {
    /// A new one under the temporary directory.
    ///
    /// # Errors
    /// It cannot be created.
    pub fn create() -> Result<Self, DbError> {
        use std::os::unix::fs::DirBuilderExt;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path =
            std::env::temp_dir().join(format!("rddsd-check-{}-{nanos:09}", std::process::id()));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|e| DbError::Io(format!("{}: {e}", path.display())))?;
        Ok(Self(path))
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(file: &str, line: usize, field: &str, message: &str) -> LoadError {
        LoadError {
            file: file.into(),
            line,
            field: field.into(),
            message: message.into(),
            value: Some("secret value".into()),
            key: None,
        }
    }

    /// Loader errors about exported files become table and key, in the message too.
    #[test]
    fn errors_are_restated_by_table_and_key() {
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path();
        std::fs::write(
            d.join("contacts.jsonl"),
            "{\"kind\":\"contact\",\"roid\":\"C1-T\"}\n{\"kind\":\"contact\",\"roid\":\"C2-T\"}\n",
        )
        .expect("write");
        std::fs::write(
            d.join("domains.jsonl"),
            "{\"kind\":\"domain\",\"roid\":\"C2-T\",\"name\":\"a.example\"}\n",
        )
        .expect("write");
        std::fs::write(
            d.join("registrars.jsonl"),
            "{\"kind\":\"registrar\",\"ianaId\":1001}\n",
        )
        .expect("write");
        let file = |n: &str| d.join(n).display().to_string();
        let contacts = file("contacts.jsonl");
        let v = violations(
            d,
            vec![
                error(
                    &file("domains.jsonl"),
                    1,
                    "roid",
                    &format!("this ROID is already used at {contacts}:2"),
                ),
                error(&file("registrars.jsonl"), 1, "cc", "not a country"),
                error(&file("registry.jsonl"), 0, "", "cannot read file"),
                error("(data set)", 0, "", "no registry record"),
            ],
        );
        let shown: Vec<String> = v.0.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "domains[a.example]: field `roid`: this ROID is already used at contacts[C2-T]",
                "registrars[1001]: field `cc`: not a country",
                "registry: cannot read file",
                "(data set): no registry record",
            ]
        );
        assert!(!v.to_string().contains("secret"));
        assert!(v
            .with_values()
            .to_string()
            .contains("(value: secret value)"));
    }
}
