//! Loading registration data from JSON Lines, with validation that names file, line and field.
//!
//! The input is a set of `*.jsonl` files (a data directory, or the demo registry embedded in the
//! binary). Every line is one object tagged by `kind`: `registry` (exactly one in the whole set),
//! `registrar`, `contact`, `host` or `domain`; `schema/registry-data.schema.json` documents the
//! format. Loading happens in two passes: each line is parsed and checked on its own, then
//! references between objects are resolved. All errors are collected (up to [`MAX_ERRORS`]) so an
//! operator fixes a bad export in one round, and nothing is served from a set with any error.
//!
//! Files are streamed line by line with a bounded line buffer ([`MAX_LINE_BYTES`]): a reload never
//! holds a whole file in memory, so a junk file cannot grow the live process.
//!
//! The parts, in the order a line meets them:
//! - [`raw`]: one line to a raw record (serde's internally tagged enum, duplicate keys refused,
//!   serde messages stripped of values);
//! - [`convert`]: a raw record to a validated model record, field by field;
//! - [`crossref`]: the second pass: references between records, zones, glue, the snapshot;
//! - [`demo`]: the demo registry embedded in the binary.
//!
//! Errors never carry the offending value in their message: they go to the server log, and a
//! contact's phone number or street must not. Each [`LoadError`] keeps the value apart, and only
//! [`LoadErrors::with_values`] (used by `rddsd check --show-values`) prints it.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;
use std::io::BufRead;
use std::path::Path;

use super::model::*;
use super::store::Snapshot;

mod convert;
mod crossref;
pub mod delta;
mod demo;
mod raw;

use super::validate;
use convert::Line;
pub use demo::{load_demo, DEMO_REGISTRY};
use raw::*;
use serde::de::DeserializeSeed;

/// Stop collecting after this many errors: a wholly wrong file would otherwise print millions.
pub const MAX_ERRORS: usize = 100;

/// Longest line accepted. The largest legitimate object (a domain with a few dozen nameservers
/// and DS records) is a few KiB; this bound is the most a reader ever buffers, so a corrupt or
/// hostile file cannot exhaust memory. A longer line is an error naming file and line.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

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
}

impl fmt::Debug for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadError")
            .field("file", &self.file)
            .field("line", &self.line)
            .field("field", &self.field)
            .field("message", &self.message)
            .field("value", &self.value.as_ref().map(|_| "<hidden>"))
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
                f.write_str(" (value: ")?;
                for c in v.chars() {
                    if validate::forbidden_char(c) {
                        write!(f, "\\u{{{:04X}}}", u32::from(c))?;
                    } else {
                        write!(f, "{c}")?;
                    }
                }
                f.write_str(")")?;
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

/// Load every `*.jsonl` file of a directory, in file-name order.
///
/// # Errors
/// Unreadable directory or files, or any validation error.
pub fn load_dir(dir: &Path) -> Result<Snapshot, LoadErrors> {
    let dir_name = dir.display().to_string();
    let fail = |message: String| {
        LoadErrors(vec![LoadError {
            file: dir_name.clone(),
            line: 0,
            field: String::new(),
            message,
            value: None,
        }])
    };
    let entries =
        std::fs::read_dir(dir).map_err(|e| fail(format!("cannot read data directory: {e}")))?;
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl") && p.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(fail("no *.jsonl files in the data directory".into()));
    }
    let mut loader = Loader::default();
    for path in files {
        if loader.full() {
            break;
        }
        let file = path.display().to_string();
        match std::fs::File::open(&path) {
            Ok(f) => loader.add_reader(&file, std::io::BufReader::with_capacity(64 * 1024, f)),
            Err(e) => loader.error(&file, 0, "", format!("cannot read file: {e}")),
        }
    }
    loader.finish()
}

// ===== raw input records (the JSON Lines format) =====

/// Identities of refused records (ROIDs as lookup keys, names in A-label form).
#[derive(Default)]
struct Failed {
    roids: HashSet<String>,
    registrars: HashSet<u32>,
    hosts: HashSet<String>,
    domains: HashSet<String>,
}

/// Where a record came from, for errors found in the second pass.
#[derive(Clone)]
struct Origin {
    file: String,
    line: usize,
}

/// Collects validated records and errors across files, then resolves references.
#[derive(Default)]
struct Loader {
    errors: Vec<LoadError>,
    /// Identities of records refused in the first pass. A reference to one of them is not
    /// reported again: the record's own error is the cause, and repeating it once per referencing
    /// domain would bury it.
    failed: Failed,
    registry: Option<(Origin, Vec<String>, Timestamp)>,
    registrars: Vec<(Origin, Registrar)>,
    contacts: Vec<(Origin, Contact)>,
    hosts: Vec<(Origin, Host)>,
    domains: Vec<(Origin, Domain)>,
}

impl Loader {
    /// Field-error context for one line.
    fn at<'a>(&'a mut self, origin: &'a Origin) -> Line<'a> {
        Line {
            loader: self,
            file: &origin.file,
            line: origin.line,
        }
    }

    fn error(&mut self, file: &str, line: usize, field: &str, message: String) {
        self.error_v(file, line, field, message, None);
    }

    fn error_v(
        &mut self,
        file: &str,
        line: usize,
        field: &str,
        message: impl Into<String>,
        value: Option<String>,
    ) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(LoadError {
                file: file.to_string(),
                line,
                field: field.to_string(),
                message: message.into(),
                value,
            });
        }
    }

    /// Whether enough errors were collected to stop reading.
    fn full(&self) -> bool {
        self.errors.len() >= MAX_ERRORS
    }

    /// Read one file line by line, never buffering more than [`MAX_LINE_BYTES`] of it.
    fn add_reader(&mut self, file: &str, mut reader: impl BufRead) {
        let mut buf = Vec::new();
        let mut line_no = 0;
        loop {
            if self.full() {
                return;
            }
            line_no += 1;
            let (overlong, eof) = match read_bounded_line(&mut reader, &mut buf, MAX_LINE_BYTES) {
                Ok(r) => r,
                Err(e) => {
                    self.error(file, line_no, "", format!("cannot read file: {e}"));
                    return;
                }
            };
            if eof && buf.is_empty() && !overlong {
                return;
            }
            if overlong {
                self.error(
                    file,
                    line_no,
                    "",
                    format!("line longer than {MAX_LINE_BYTES} bytes"),
                );
            } else if line_no == 1 && (buf.starts_with(b"\xFF\xFE") || buf.starts_with(b"\xFE\xFF"))
            {
                self.error(
                    file,
                    1,
                    "",
                    "the file starts with a UTF-16 byte order mark: export it as UTF-8".into(),
                );
                return;
            } else {
                // A UTF-8 byte order mark is tolerated at the start of a file (some Windows tools
                // write one); anywhere else it is a concatenation accident and refused below.
                let bytes = if line_no == 1 {
                    buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&buf)
                } else {
                    &buf[..]
                };
                match std::str::from_utf8(bytes) {
                    Ok(text) => self.add_raw_line(file, line_no, text),
                    Err(_) => self.error(file, line_no, "", "the line is not valid UTF-8".into()),
                }
            }
            if eof {
                return;
            }
        }
    }

    fn add_raw_line(&mut self, file: &str, line: usize, text: &str) {
        let trimmed = text.trim();
        // Blank lines are tolerated so hand-edited files stay forgiving; everything else is
        // exactly one JSON object.
        if trimmed.is_empty() {
            return;
        }
        if trimmed.starts_with('\u{FEFF}') {
            self.error(
                file,
                line,
                "",
                "a byte order mark (U+FEFF) is only allowed at the very start of a file".into(),
            );
            // Still note which record this was, so references to it do not cascade.
            if let Ok(v) =
                serde_json::from_str::<serde_json::Value>(&trimmed['\u{FEFF}'.len_utf8()..])
            {
                if let Some(kind) = v.get("kind").and_then(|k| k.as_str()) {
                    self.failed.record(&Identity::of(kind, &v));
                }
            }
            return;
        }
        self.add_line(file, line, trimmed);
    }

    fn add_line(&mut self, file: &str, line: usize, text: &str) {
        let dup: RefCell<Option<String>> = RefCell::new(None);
        let mut de = serde_json::Deserializer::from_str(text);
        let parsed = StrictValue {
            path: String::new(),
            dup: &dup,
        }
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v));
        let value = match parsed {
            Ok(v) => v,
            Err(e) => {
                if let Some(path) = dup.into_inner() {
                    self.error(
                        file,
                        line,
                        &path,
                        "this key appears twice in one object (JSON keeps only one of them silently)".into(),
                    );
                } else {
                    self.error_v(
                        file,
                        line,
                        "",
                        format!("not a JSON object: {}", json_syntax_message(&e)),
                        None,
                    );
                }
                return;
            }
        };
        if !value.is_object() {
            self.error(file, line, "", "not a JSON object".into());
            return;
        }
        let kind = match value.get("kind").and_then(|k| k.as_str()) {
            Some(k) => k.to_string(),
            None => {
                self.error(
                    file,
                    line,
                    "kind",
                    "missing: one of registry, registrar, contact, host, domain".into(),
                );
                return;
            }
        };
        let identity = Identity::of(&kind, &value);
        let origin = Origin {
            file: file.to_string(),
            line,
        };
        let before = self.errors.len();
        macro_rules! parse {
            ($ty:ty) => {
                match serde_path_to_error::deserialize::<_, $ty>(&value) {
                    Ok(raw) => raw,
                    Err(e) => {
                        let path = e.path().to_string();
                        let path = if path == "." { String::new() } else { path };
                        let shown = value_at(&value, e.path());
                        let message = serde_message(&e.into_inner().to_string());
                        self.error_v(file, line, &path, message, shown);
                        self.failed.record(&identity);
                        return;
                    }
                }
            };
        }
        match kind.as_str() {
            "registry" => {
                let raw = parse!(RawRegistry);
                self.registry_line(origin, raw);
            }
            "registrar" => {
                let raw = parse!(RawRegistrar);
                self.registrar_line(origin, raw);
            }
            "contact" => {
                let raw = parse!(RawContact);
                self.contact_line(origin, raw);
            }
            "host" => {
                let raw = parse!(RawHost);
                self.host_line(origin, raw);
            }
            "domain" => {
                let raw = parse!(RawDomain);
                self.domain_line(origin, raw);
            }
            other => self.error_v(
                file,
                line,
                "kind",
                "unknown kind: one of registry, registrar, contact, host, domain",
                Some(other.to_string()),
            ),
        }
        if self.errors.len() != before {
            self.failed.record(&identity);
        }
    }
}

impl Failed {
    fn record(&mut self, id: &Identity) {
        match id.kind.as_str() {
            "registrar" => self.registrars.extend(id.iana_id),
            "contact" => self.roids.extend(id.roid.clone()),
            "host" => {
                self.roids.extend(id.roid.clone());
                self.hosts.extend(id.name.clone());
            }
            "domain" => {
                self.roids.extend(id.roid.clone());
                self.domains.extend(id.name.clone());
            }
            _ => {}
        }
    }
}

/// Validate a data set held in memory, as (file name, text) pairs. Used by tests and benches.
///
/// # Errors
/// Any validation error.
pub fn load_texts(files: &[(&str, &str)]) -> Result<Snapshot, LoadErrors> {
    let mut loader = Loader::default();
    for (file, text) in files {
        loader.add_reader(file, text.as_bytes());
    }
    loader.finish()
}

/// Read one line (without its `\n`) into `buf`, keeping at most `max` bytes. Returns
/// `(overlong, eof)`: `overlong` when the line was longer than `max` (its bytes are consumed and
/// dropped, `buf` is left empty), `eof` when the input ended.
fn read_bounded_line(
    r: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<(bool, bool)> {
    buf.clear();
    let mut overlong = false;
    loop {
        let chunk = match r.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok((overlong, true));
        }
        let (used, content_len, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, i, true),
            None => (chunk.len(), chunk.len(), false),
        };
        if !overlong {
            if buf.len() + content_len > max {
                overlong = true;
                buf.clear();
                buf.shrink_to(64 * 1024);
            } else {
                buf.extend_from_slice(&chunk[..content_len]);
            }
        }
        r.consume(used);
        if done {
            return Ok((overlong, false));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGISTRY: &str =
        r#"{"kind":"registry","tlds":["example"],"updated":"2026-01-01T00:00:00Z"}"#;
    const REGISTRAR: &str = r#"{"kind":"registrar","ianaId":1001,"name":"R","abuseEmail":"abuse@r.example","abusePhone":{"number":"+1.5555550100"},"address":{"city":"C","cc":"US"}}"#;
    const CONTACT: &str = r#"{"kind":"contact","roid":"C1-T","name":"N","city":"C","cc":"DE","email":"n@n.example","personType":"natural"}"#;
    const HOST: &str = r#"{"kind":"host","roid":"H1-T","name":"ns1.a.example","addresses":["192.0.2.1"],"statuses":["ok"],"registrar":1001}"#;
    const DOMAIN: &str = r#"{"kind":"domain","roid":"D1-T","name":"a.example","statuses":["ok"],"created":"2020-01-01T00:00:00Z","expires":"2030-01-01T00:00:00Z","registrar":1001,"registrant":"C1-T","nameservers":["ns1.a.example"]}"#;

    fn base() -> Vec<String> {
        [REGISTRY, REGISTRAR, CONTACT, HOST, DOMAIN]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn load(lines: &[String]) -> Result<Snapshot, LoadErrors> {
        let text = lines.join("\n");
        load_texts(&[("t.jsonl", &text)])
    }

    fn with(extra: &[&str]) -> Result<Snapshot, LoadErrors> {
        let mut lines = base();
        lines.extend(extra.iter().map(|s| s.to_string()));
        load(&lines)
    }

    /// `DOMAIN` with one field replaced (or added) as raw JSON.
    fn domain_with(key: &str, json: &str) -> String {
        let mut v: serde_json::Value = serde_json::from_str(DOMAIN).expect("json");
        v["roid"] = "D2-T".into();
        v["name"] = "b.example".into();
        v[key] = serde_json::from_str(json).expect("json");
        v.to_string()
    }

    fn errors(r: Result<Snapshot, LoadErrors>) -> Vec<LoadError> {
        match r {
            Ok(_) => panic!("expected a refusal"),
            Err(e) => e.0,
        }
    }

    #[test]
    fn the_base_set_loads() {
        let snap = load(&base()).expect("loads");
        assert_eq!(snap.counts(), (1, 1, 1, 1));
    }

    #[test]
    fn a_utf8_bom_starts_a_file_but_nowhere_else() {
        let mut lines = base();
        lines[0] = format!("\u{FEFF}{}", lines[0]);
        assert!(load(&lines).is_ok());
        let mut lines = base();
        lines[2] = format!("\u{FEFF}{}", lines[2]);
        let e = errors(load(&lines));
        assert_eq!((e[0].line, e.len()), (3, 1), "{e:?}");
        assert!(e[0].message.contains("byte order mark"), "{e:?}");
        let mut loader = Loader::default();
        loader.add_reader("t.jsonl", &b"\xFF\xFE{\x00}\x00"[..]);
        let e = errors(loader.finish());
        assert!(e[0].message.contains("UTF-16"), "{e:?}");
    }

    #[test]
    fn an_overlong_line_is_an_error_and_reading_goes_on() {
        let mut lines = base();
        lines.insert(1, "x".repeat(MAX_LINE_BYTES + 1));
        lines.push("{".into());
        let e = errors(load(&lines));
        assert_eq!(e[0].line, 2);
        assert!(e[0].message.contains("longer than"), "{e:?}");
        assert_eq!(e[1].line, 7, "the line after it still counts: {e:?}");
        let mut reader = &b"abc\ndefgh\nij"[..];
        let mut buf = Vec::new();
        assert_eq!(
            read_bounded_line(&mut reader, &mut buf, 4).ok(),
            Some((false, false))
        );
        assert_eq!(buf, b"abc");
        assert_eq!(
            read_bounded_line(&mut reader, &mut buf, 4).ok(),
            Some((true, false))
        );
        assert!(buf.is_empty());
        assert_eq!(
            read_bounded_line(&mut reader, &mut buf, 4).ok(),
            Some((false, true))
        );
        assert_eq!(buf, b"ij");
    }

    #[test]
    fn duplicate_keys_are_named() {
        let dup = DOMAIN.replace(
            r#""statuses":["ok"]"#,
            r#""statuses":["ok"],"statuses":["clientHold"]"#,
        );
        let mut lines = base();
        lines[4] = dup;
        let e = errors(load(&lines));
        assert_eq!((e[0].line, e[0].field.as_str()), (5, "statuses"), "{e:?}");
        let nested = REGISTRAR.replace(
            r#"{"number":"+1.5555550100"}"#,
            r#"{"number":"+1.5555550100","number":"+1.5555550199"}"#,
        );
        let mut lines = base();
        lines[1] = nested;
        let e = errors(load(&lines));
        assert_eq!(e[0].field, "abusePhone.number", "{e:?}");
    }

    #[test]
    fn one_bad_contact_is_reported_once_not_per_domain() {
        let mut lines = base();
        lines[2] = CONTACT.replace(r#""cc":"DE""#, r#""cc":"Germany""#);
        for i in 2..6 {
            lines.push(DOMAIN.replace("D1-T", &format!("D{i}-T")).replace(
                "a.example\",\"statuses",
                &format!("a{i}.example\",\"statuses"),
            ));
        }
        let e = errors(load(&lines));
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!((e[0].line, e[0].field.as_str()), (3, "cc"));
        // The same for a contact whose JSON types are wrong, a host and a registrar.
        let mut lines = base();
        lines[2] = CONTACT.replace(r#""city":"C""#, r#""city":["C"]"#);
        lines[3] = HOST.replace(r#""statuses":["ok"]"#, r#""statuses":["nope"]"#);
        let e = errors(load(&lines));
        assert_eq!(e.len(), 2, "{e:?}");
        let mut lines = base();
        lines[1] = REGISTRAR.replace(r#""cc":"US""#, r#""cc":"U""#);
        let e = errors(load(&lines));
        assert_eq!(e.len(), 1, "{e:?}");
    }

    #[test]
    fn realistic_data_is_accepted() {
        // RGP statuses beside ok (RFC 3915 keeps them apart from the EPP rules).
        assert!(with(&[&domain_with("statuses", r#"["ok","addPeriod"]"#)]).is_ok());
        // DS digest types 1 to 6 with their lengths.
        for (t, n) in [(1, 40), (2, 64), (3, 64), (4, 96), (5, 64), (6, 64)] {
            let ds = format!(
                r#"[{{"keyTag":1,"algorithm":13,"digestType":{t},"digest":"{}"}}]"#,
                "a".repeat(n)
            );
            assert!(with(&[&domain_with("ds", &ds)]).is_ok(), "type {t}");
        }
        // More than 13 nameservers.
        let mut lines = base();
        let mut names = Vec::new();
        for i in 0..20 {
            lines.push(format!(r#"{{"kind":"host","roid":"HX{i}-T","name":"ns{i}.dns.example.net","statuses":["ok"],"registrar":1001}}"#));
            names.push(format!("\"ns{i}.dns.example.net\""));
        }
        lines.push(domain_with(
            "nameservers",
            &format!("[{}]", names.join(",")),
        ));
        assert!(load(&lines).is_ok());
        // Kosovo.
        let mut lines = base();
        lines[2] = CONTACT.replace(r#""cc":"DE""#, r#""cc":"XK""#);
        assert!(load(&lines).is_ok());
        // An in-zone host without addresses that nothing delegates to.
        assert!(with(&[r#"{"kind":"host","roid":"H2-T","name":"ns2.a.example","statuses":["ok"],"registrar":1001}"#]).is_ok());
        // A second-level registry zone.
        let mut lines = base();
        lines[0] = REGISTRY.replace(r#"["example"]"#, r#"["example","co.example"]"#);
        lines.push(domain_with("name", r#""shop.co.example""#));
        assert!(load(&lines).is_ok());
    }

    #[test]
    fn unrealistic_data_is_refused() {
        let refused = |extra: &[&str], field: &str| {
            let r = with(extra);
            assert!(r.is_err(), "{field} {extra:?}");
            let e = errors(r);
            assert!(e.iter().any(|e| e.field == field), "{field}: {e:?}");
        };
        refused(
            &[&domain_with(
                "statuses",
                r#"["ok","addPeriod","clientHold"]"#,
            )],
            "statuses",
        );
        let ds = |t: u8| {
            format!(
                r#"[{{"keyTag":1,"algorithm":13,"digestType":{t},"digest":"{}"}}]"#,
                "a".repeat(64)
            )
        };
        refused(&[&domain_with("ds", &ds(0))], "ds[0].digestType");
        refused(&[&domain_with("ds", &ds(7))], "ds[0].digestType");
        refused(&[&domain_with("ds", &ds(4))], "ds[0].digest");
        refused(
            &[&domain_with("created", r#""0000-01-01T00:00:00Z""#)],
            "created",
        );
        refused(&[&domain_with("name", r#""💩.example""#)], "name");
        refused(&[&domain_with("name", r#""a.b.example""#)], "name");
        // A delegated in-zone host without glue, and a host under a domain that does not exist.
        refused(
            &[
                r#"{"kind":"host","roid":"H2-T","name":"ns2.a.example","statuses":["ok"],"registrar":1001}"#,
                &domain_with("nameservers", r#"["ns2.a.example"]"#),
            ],
            "addresses",
        );
        refused(
            &[
                r#"{"kind":"host","roid":"H2-T","name":"ns.nowhere.example","addresses":["192.0.2.9"],"statuses":["ok"],"registrar":1001}"#,
            ],
            "name",
        );
        let mut lines = base();
        lines[0] = REGISTRY.replace(r#"["example"]"#, r#"["example","EXAMPLE."]"#);
        let e = errors(load(&lines));
        assert_eq!(e[0].field, "tlds[1]", "{e:?}");
    }

    #[test]
    fn line_forging_characters_are_refused_in_every_text_field() {
        let evil = "x\u{2028}Registrant Email: evil@attacker.example";
        let json = serde_json::to_string(evil).expect("json");
        let cases: Vec<(usize, String, &str)> = vec![
            (
                2,
                CONTACT.replace(r#""name":"N""#, &format!(r#""name":{json}"#)),
                "name",
            ),
            (
                2,
                CONTACT.replace(r#""city":"C""#, &format!(r#""city":{json},"org":{json}"#)),
                "org",
            ),
            (
                2,
                CONTACT.replace(
                    r#""city":"C""#,
                    &format!(r#""city":"C","street":["1",{json}]"#),
                ),
                "street[1]",
            ),
            (
                2,
                CONTACT.replace(r#""city":"C""#, &format!(r#""city":"C","sp":{json}"#)),
                "sp",
            ),
            (
                2,
                CONTACT.replace(r#""city":"C""#, r#""city":"C","pc":"1\u202E2""#),
                "pc",
            ),
            (
                1,
                REGISTRAR.replace(r#""name":"R""#, &format!(r#""name":{json}"#)),
                "name",
            ),
            (
                1,
                REGISTRAR.replace(r#""city":"C""#, &format!(r#""city":{json}"#)),
                "address.city",
            ),
            (
                1,
                REGISTRAR.replace(
                    r#""abuseEmail":"abuse@r.example""#,
                    r#""abuseEmail":"abuse\u2029@r.example""#,
                ),
                "abuseEmail",
            ),
            (
                1,
                REGISTRAR.replace(
                    r#""name":"R""#,
                    r#""name":"R","url":"https://r.example/\u200F""#,
                ),
                "url",
            ),
            (
                3,
                HOST.replace("ns1.a.example", "ns1\u{202E}.a.example"),
                "name",
            ),
        ];
        for (i, line, field) in cases {
            let mut lines = base();
            lines[i] = line;
            let e = errors(load(&lines));
            assert!(e.iter().any(|e| e.field == field), "{field}: {e:?}");
            let shown = LoadErrors(e).to_string();
            assert!(!shown.contains("evil"), "no value in the message: {shown}");
        }
    }

    #[test]
    fn messages_carry_no_values_unless_asked() {
        let secret = "+81 3 1234 5678";
        let mut lines = base();
        lines[2] = CONTACT.replace(
            r#""city":"C""#,
            &format!(r#""city":"C","voice":{{"number":"{secret}"}},"street":"Secret Street 9","personType":"Secret Person""#),
        ).replace(r#","personType":"natural""#, "");
        lines.push(
            CONTACT
                .replace("C1-T", "C2-T")
                .replace(r#""cc":"DE""#, r#""cc":"Secret Land""#),
        );
        lines.push(
            CONTACT
                .replace("C1-T", "C3-T")
                .replace(r#""email":"n@n.example""#, r#""email":"Secret@@x""#),
        );
        lines.push(domain_with("created", r#""Secret date""#));
        lines.push(r#"{"kind":"Secret kind"}"#.into());
        let e = load(&lines).expect_err("refused");
        let plain = e.to_string();
        for needle in ["1234", "Secret"] {
            assert!(!plain.contains(needle), "{needle} leaked:\n{plain}");
        }
        assert!(plain.contains("t.jsonl:3: field `street`"), "{plain}");
        let shown = e.with_values().to_string();
        assert!(shown.contains("Secret Street 9"), "{shown}");
        assert!(shown.contains("Secret Land"), "{shown}");
    }

    #[test]
    fn serde_messages_lose_their_values() {
        assert_eq!(
            serde_message(r#"invalid type: string "+81 3, expected 5", expected a sequence"#),
            "invalid type: string, expected a sequence"
        );
        assert_eq!(
            serde_message("invalid value: integer `99999999999`, expected u32"),
            "invalid value: integer, expected u32"
        );
        assert_eq!(
            serde_message("unknown variant `Jane Doe`, expected `natural` or `legal`"),
            "unknown value, expected `natural` or `legal`"
        );
        assert_eq!(
            serde_message("unknown field `colour`, expected one of `kind`, `roid`"),
            "unknown field `colour`, expected one of `kind`, `roid`"
        );
        assert!(
            !serde_message("unknown field `Jane Doe, 1 Main St`, expected `kind`").contains("Jane")
        );
        assert_eq!(
            serde_message("missing field `roid`"),
            "missing field `roid`"
        );
        assert_eq!(serde_message("something new: \"Jane\""), "invalid value");
    }
}
