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
//! Errors never carry the offending value in their message: they go to the server log, and a
//! contact's phone number or street must not. Each [`LoadError`] keeps the value apart, and only
//! [`LoadErrors::with_values`] (used by `rddsd check --show-values`) prints it.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::BufRead;
use std::net::IpAddr;
use std::path::Path;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::model::*;
use super::name::DomainName;
use super::store::Snapshot;
use super::validate;

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

/// The demo registry compiled into the binary, so `rddsd serve` works anywhere.
pub const DEMO_REGISTRY: &[(&str, &str)] = &[
    (
        "fixtures/registry/registry.jsonl",
        include_str!("../../fixtures/registry/registry.jsonl"),
    ),
    (
        "fixtures/registry/registrars.jsonl",
        include_str!("../../fixtures/registry/registrars.jsonl"),
    ),
    (
        "fixtures/registry/contacts.jsonl",
        include_str!("../../fixtures/registry/contacts.jsonl"),
    ),
    (
        "fixtures/registry/hosts.jsonl",
        include_str!("../../fixtures/registry/hosts.jsonl"),
    ),
    (
        "fixtures/registry/domains.jsonl",
        include_str!("../../fixtures/registry/domains.jsonl"),
    ),
];

/// Load the embedded demo registry.
///
/// # Errors
/// Only if the shipped fixtures are broken, which the test suite rules out.
pub fn load_demo() -> Result<Snapshot, LoadErrors> {
    let mut loader = Loader::default();
    for (file, text) in DEMO_REGISTRY {
        loader.add_reader(file, text.as_bytes());
    }
    loader.finish()
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawRegistry {
    #[allow(dead_code)]
    kind: String,
    tlds: Vec<String>,
    updated: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPhone {
    number: String,
    #[serde(default)]
    ext: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAddress {
    #[serde(default)]
    street: Vec<String>,
    city: String,
    #[serde(default)]
    sp: Option<String>,
    #[serde(default)]
    pc: Option<String>,
    cc: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawRegistrar {
    #[allow(dead_code)]
    kind: String,
    iana_id: u32,
    name: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    whois_server: Option<String>,
    #[serde(default)]
    rdap_base_url: Option<String>,
    abuse_email: String,
    abuse_phone: RawPhone,
    address: RawAddress,
    #[serde(default)]
    voice: Option<RawPhone>,
    #[serde(default)]
    fax: Option<RawPhone>,
    #[serde(default)]
    email: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawContact {
    #[allow(dead_code)]
    kind: String,
    roid: String,
    name: String,
    #[serde(default)]
    org: Option<String>,
    #[serde(default)]
    street: Vec<String>,
    city: String,
    #[serde(default)]
    sp: Option<String>,
    #[serde(default)]
    pc: Option<String>,
    cc: String,
    #[serde(default)]
    voice: Option<RawPhone>,
    #[serde(default)]
    fax: Option<RawPhone>,
    email: String,
    person_type: PersonType,
    #[serde(default)]
    consent: Vec<ContactField>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawHost {
    #[allow(dead_code)]
    kind: String,
    roid: String,
    name: String,
    #[serde(default)]
    addresses: Vec<String>,
    statuses: Vec<String>,
    registrar: u32,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    updated: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawDs {
    key_tag: u16,
    algorithm: u8,
    digest_type: u8,
    digest: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawDomain {
    #[allow(dead_code)]
    kind: String,
    roid: String,
    name: String,
    statuses: Vec<String>,
    created: String,
    #[serde(default)]
    updated: Option<String>,
    expires: String,
    registrar: u32,
    #[serde(default)]
    registrant: Option<String>,
    #[serde(default)]
    tech: Option<String>,
    #[serde(default)]
    nameservers: Vec<String>,
    #[serde(default)]
    ds: Vec<RawDs>,
}

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

/// Per-line context: collects field errors with the line's location.
struct Line<'a> {
    loader: &'a mut Loader,
    file: &'a str,
    line: usize,
}

impl Line<'_> {
    fn err(&mut self, field: &str, message: impl Into<String>) {
        self.loader
            .error(self.file, self.line, field, message.into());
    }

    /// An error whose cause is a value; the value is kept apart from the message.
    fn err_v(&mut self, field: &str, message: impl Into<String>, value: &str) {
        self.loader.error_v(
            self.file,
            self.line,
            field,
            message.into(),
            Some(value.to_string()),
        );
    }

    fn check(&mut self, field: &str, value: &str, result: Result<(), String>) -> bool {
        match result {
            Ok(()) => true,
            Err(m) => {
                self.err_v(field, m, value);
                false
            }
        }
    }

    fn text(&mut self, field: &str, value: &str, max: usize) {
        self.check(field, value, validate::text(value, max));
    }

    fn opt_text(&mut self, field: &str, value: &Option<String>, max: usize) {
        if let Some(v) = value {
            self.text(field, v, max);
        }
    }

    fn date(&mut self, field: &str, value: &str) -> Option<Timestamp> {
        match validate::datetime(value) {
            Ok(t) => Some(t),
            Err(m) => {
                self.err_v(field, m, value);
                None
            }
        }
    }

    fn opt_date(&mut self, field: &str, value: &Option<String>) -> Option<Timestamp> {
        value.as_deref().and_then(|v| self.date(field, v))
    }

    fn roid(&mut self, field: &str, value: &str) -> Option<Roid> {
        Roid::parse(value)
            .map_err(|m| self.err_v(field, m, value))
            .ok()
    }

    fn name(&mut self, field: &str, value: &str) -> Option<DomainName> {
        DomainName::parse(value)
            .map_err(|e| self.err_v(field, e.to_string(), value))
            .ok()
    }

    fn phone(&mut self, field: &str, raw: Option<RawPhone>) -> Option<Phone> {
        let raw = raw?;
        let phone = Phone {
            number: raw.number,
            ext: raw.ext,
        };
        let shown = match &phone.ext {
            Some(ext) => format!("{} ext {ext}", phone.number),
            None => phone.number.clone(),
        };
        self.check(field, &shown, validate::phone(&phone));
        Some(phone)
    }

    /// Parse a status list with `parse`, then check the combination rules.
    fn statuses<T>(
        &mut self,
        raw: &[String],
        parse: fn(&str) -> Option<T>,
        what: &str,
        check: fn(&[T]) -> Result<(), String>,
    ) -> Vec<T> {
        let mut out = Vec::new();
        for (i, s) in raw.iter().enumerate() {
            match parse(s) {
                Some(st) => out.push(st),
                None => self.err_v(&format!("statuses[{i}]"), format!("not {what}"), s),
            }
        }
        if out.len() == raw.len() {
            if let Err(m) = check(&out) {
                self.err("statuses", m);
            }
        }
        out
    }

    fn street(&mut self, field: &str, street: &[String]) {
        if street.len() > 3 {
            self.err(field, "at most three street lines (RFC 5733)");
        }
        for (i, s) in street.iter().enumerate() {
            self.text(&format!("{field}[{i}]"), s, 255);
        }
    }
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

    fn registry_line(&mut self, origin: Origin, raw: RawRegistry) {
        let before = self.errors.len();
        let mut l = self.at(&origin);
        let updated = l.date("updated", &raw.updated);
        let mut tlds = Vec::new();
        if raw.tlds.is_empty() {
            l.err("tlds", "list at least one TLD");
        }
        for (i, t) in raw.tlds.iter().enumerate() {
            let field = format!("tlds[{i}]");
            // A registry zone is usually one label (`example`), but may be a second-level
            // registry zone (`co.example`) whose names are registered one label below it.
            // Validate it by making it a name one label longer.
            let zone = t.trim().strip_suffix('.').unwrap_or(t.trim());
            match DomainName::parse(&format!("x.{zone}")) {
                Ok(n) if !zone.is_empty() => {
                    let ascii = n.ascii()["x.".len()..].to_string();
                    if tlds.contains(&ascii) {
                        l.err_v(&field, "this TLD is listed twice", t);
                    } else {
                        tlds.push(ascii);
                    }
                }
                _ => l.err_v(&field, "not a valid TLD label", t),
            }
        }
        if let Some((first, _, _)) = &self.registry {
            let msg = format!(
                "a second registry record; the first is at {}:{}",
                first.file, first.line
            );
            self.error(&origin.file, origin.line, "kind", msg);
            return;
        }
        if self.errors.len() == before {
            if let Some(updated) = updated {
                self.registry = Some((origin, tlds, updated));
            }
        }
    }

    fn registrar_line(&mut self, origin: Origin, raw: RawRegistrar) {
        let before = self.errors.len();
        let mut l = self.at(&origin);
        if raw.iana_id == 0 {
            l.err("ianaId", "an IANA Registrar ID is a positive integer");
        }
        l.text("name", &raw.name, 255);
        for (field, url) in [("url", &raw.url), ("rdapBaseUrl", &raw.rdap_base_url)] {
            if let Some(u) = url {
                l.check(field, u, validate::http_url(u));
            }
        }
        if let Some(w) = &raw.whois_server {
            if DomainName::parse(w).is_err() {
                l.err_v("whoisServer", "not a host name", w);
            }
        }
        l.check(
            "abuseEmail",
            &raw.abuse_email,
            validate::email(&raw.abuse_email),
        );
        if let Some(e) = &raw.email {
            l.check("email", e, validate::email(e));
        }
        let abuse_phone = l.phone("abusePhone", Some(raw.abuse_phone));
        let voice = l.phone("voice", raw.voice);
        let fax = l.phone("fax", raw.fax);
        l.street("address.street", &raw.address.street);
        l.text("address.city", &raw.address.city, 255);
        l.opt_text("address.sp", &raw.address.sp, 255);
        l.opt_text("address.pc", &raw.address.pc, 16);
        l.check(
            "address.cc",
            &raw.address.cc,
            validate::country_code(&raw.address.cc),
        );
        let rdap_base_url =
            raw.rdap_base_url
                .map(|u| if u.ends_with('/') { u } else { format!("{u}/") });
        if self.errors.len() != before {
            return;
        }
        let Some(abuse_phone) = abuse_phone else {
            return;
        };
        self.registrars.push((
            origin,
            Registrar {
                iana_id: raw.iana_id,
                name: raw.name,
                url: raw.url,
                whois_server: raw.whois_server.map(|w| w.to_ascii_lowercase()),
                rdap_base_url,
                abuse_email: raw.abuse_email,
                abuse_phone,
                address: Address {
                    street: raw.address.street,
                    city: raw.address.city,
                    sp: raw.address.sp,
                    pc: raw.address.pc,
                    cc: raw.address.cc,
                },
                voice,
                fax,
                email: raw.email,
            },
        ));
    }

    fn contact_line(&mut self, origin: Origin, raw: RawContact) {
        let before = self.errors.len();
        let mut l = self.at(&origin);
        let roid = l.roid("roid", &raw.roid);
        l.text("name", &raw.name, 255);
        l.opt_text("org", &raw.org, 255);
        l.street("street", &raw.street);
        l.text("city", &raw.city, 255);
        l.opt_text("sp", &raw.sp, 255);
        l.opt_text("pc", &raw.pc, 16);
        l.check("cc", &raw.cc, validate::country_code(&raw.cc));
        let voice = l.phone("voice", raw.voice);
        let fax = l.phone("fax", raw.fax);
        l.check("email", &raw.email, validate::email(&raw.email));
        let mut consent = Consent::default();
        for (i, field) in raw.consent.iter().enumerate() {
            if *field == ContactField::Handle {
                l.err(
                    &format!("consent[{i}]"),
                    "the handle is not personal data and needs no consent",
                );
            }
            consent = consent.with(*field);
        }
        if self.errors.len() != before {
            return;
        }
        let Some(roid) = roid else { return };
        self.contacts.push((
            origin,
            Contact {
                roid,
                name: raw.name,
                org: raw.org,
                street: raw.street,
                city: raw.city,
                sp: raw.sp,
                pc: raw.pc,
                cc: raw.cc,
                voice,
                fax,
                email: raw.email,
                person: raw.person_type,
                consent,
            },
        ));
    }

    fn host_line(&mut self, origin: Origin, raw: RawHost) {
        let before = self.errors.len();
        let mut l = self.at(&origin);
        let roid = l.roid("roid", &raw.roid);
        let name = l.name("name", &raw.name);
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for (i, a) in raw.addresses.iter().enumerate() {
            match a.parse::<IpAddr>() {
                Ok(ip) if ip.is_unspecified() || ip.is_loopback() || ip.is_multicast() => {
                    l.err_v(
                        &format!("addresses[{i}]"),
                        "an unspecified, loopback or multicast address cannot be a nameserver address",
                        a,
                    );
                }
                Ok(IpAddr::V4(ip)) => v4.push(IpAddr::V4(ip)),
                Ok(IpAddr::V6(ip)) => v6.push(IpAddr::V6(ip)),
                Err(_) => l.err_v(&format!("addresses[{i}]"), "not an IPv4 or IPv6 address", a),
            }
        }
        let statuses = l.statuses(
            &raw.statuses,
            HostStatus::from_epp,
            "an EPP host status (RFC 5732)",
            HostStatus::check_combination,
        );
        let created = l.opt_date("created", &raw.created);
        let updated = l.opt_date("updated", &raw.updated);
        if self.errors.len() != before {
            return;
        }
        let (Some(roid), Some(name)) = (roid, name) else {
            return;
        };
        v4.extend(v6);
        self.hosts.push((
            origin,
            Host {
                roid,
                name,
                addresses: v4,
                statuses,
                registrar: raw.registrar,
                created,
                updated,
            },
        ));
    }

    fn domain_line(&mut self, origin: Origin, raw: RawDomain) {
        let before = self.errors.len();
        let mut l = self.at(&origin);
        let roid = l.roid("roid", &raw.roid);
        let name = l.name("name", &raw.name);
        let statuses = l.statuses(
            &raw.statuses,
            DomainStatus::from_epp,
            "an EPP or RGP domain status",
            DomainStatus::check_combination,
        );
        let created = l.date("created", &raw.created);
        let updated = l.opt_date("updated", &raw.updated);
        let expires = l.date("expires", &raw.expires);
        if let (Some(c), Some(e)) = (&created, &expires) {
            if e <= c {
                l.err("expires", "the expiry date must be after the creation date");
            }
        }
        let registrant = raw
            .registrant
            .as_deref()
            .and_then(|r| l.roid("registrant", r));
        let tech = raw.tech.as_deref().and_then(|r| l.roid("tech", r));
        let mut nameservers: Vec<DomainName> = Vec::new();
        for (i, ns) in raw.nameservers.iter().enumerate() {
            if let Some(n) = l.name(&format!("nameservers[{i}]"), ns) {
                if nameservers.contains(&n) {
                    l.err_v(
                        &format!("nameservers[{i}]"),
                        "this nameserver is listed twice",
                        ns,
                    );
                }
                nameservers.push(n);
            }
        }
        let mut ds = Vec::new();
        for (i, d) in raw.ds.into_iter().enumerate() {
            let want = ds_digest_hex_len(d.digest_type);
            let hex = d.digest.bytes().all(|b| b.is_ascii_hexdigit());
            match want {
                None => l.err(
                    &format!("ds[{i}].digestType"),
                    "not an assigned DS digest type (IANA: 1 SHA-1, 2 SHA-256, 3 GOST R 34.11-94, 4 SHA-384, 5 GOST R 34.11-2012, 6 SM3)",
                ),
                Some(n) if !hex || d.digest.len() != n => l.err(
                    &format!("ds[{i}].digest"),
                    format!(
                        "expected {n} hexadecimal digits for digest type {}",
                        d.digest_type
                    ),
                ),
                Some(_) => ds.push(DsData {
                    key_tag: d.key_tag,
                    algorithm: d.algorithm,
                    digest_type: d.digest_type,
                    digest: d.digest.to_ascii_uppercase(),
                }),
            }
        }
        if self.errors.len() != before {
            return;
        }
        let (Some(roid), Some(name), Some(created), Some(expires)) = (roid, name, created, expires)
        else {
            return;
        };
        self.domains.push((
            origin,
            Domain {
                roid,
                name,
                statuses,
                created,
                updated,
                expires,
                registrar: raw.registrar,
                registrant,
                tech,
                nameservers,
                ds,
            },
        ));
    }

    /// Second pass: uniqueness and references, then build the indexed snapshot. A reference to
    /// a record that was refused in the first pass is not reported: that record's own error is
    /// the cause.
    fn finish(mut self) -> Result<Snapshot, LoadErrors> {
        let Some((_, tlds, updated)) = self.registry.take() else {
            if self.errors.is_empty() {
                self.error("(data set)", 0, "", "no registry record: add one line {\"kind\":\"registry\",\"tlds\":[...],\"updated\":...}".into());
            }
            return Err(LoadErrors(self.errors));
        };
        let failed = std::mem::take(&mut self.failed);
        let mut roids: HashMap<String, Origin> = HashMap::new();
        let mut seen_roid = |this: &mut Self, roid: &Roid, o: &Origin| {
            if let Some(first) = roids.insert(Roid::key(roid.as_str()), o.clone()) {
                let msg = format!("this ROID is already used at {}:{}", first.file, first.line);
                this.error_v(
                    &o.file,
                    o.line,
                    "roid",
                    msg,
                    Some(roid.as_str().to_string()),
                );
            }
        };
        let registrars = std::mem::take(&mut self.registrars);
        let contacts = std::mem::take(&mut self.contacts);
        let hosts = std::mem::take(&mut self.hosts);
        let domains = std::mem::take(&mut self.domains);

        let mut registrar_ids = HashMap::new();
        for (o, r) in &registrars {
            if let Some(first) = registrar_ids.insert(r.iana_id, o.clone()) {
                self.error_v(
                    &o.file,
                    o.line,
                    "ianaId",
                    format!(
                        "this IANA ID is already used at {}:{}",
                        first.file, first.line
                    ),
                    Some(r.iana_id.to_string()),
                );
            }
        }
        let registrar_missing =
            |id: IanaId| !registrar_ids.contains_key(&id) && !failed.registrars.contains(&id);
        for (o, c) in &contacts {
            seen_roid(&mut self, &c.roid, o);
        }
        let mut domain_names: HashMap<DomainName, Origin> = HashMap::new();
        for (o, d) in &domains {
            seen_roid(&mut self, &d.roid, o);
            if let Some(first) = domain_names.insert(d.name.clone(), o.clone()) {
                self.error_v(
                    &o.file,
                    o.line,
                    "name",
                    format!(
                        "this domain is already listed at {}:{}",
                        first.file, first.line
                    ),
                    Some(d.name.to_string()),
                );
            }
            if registration_zone(&tlds, &d.name).is_none() {
                self.error_v(
                    &o.file,
                    o.line,
                    "name",
                    "not a registration under the registry's TLDs: a domain is exactly one label below a listed TLD",
                    Some(d.name.to_string()),
                );
            }
            if registrar_missing(d.registrar) {
                self.error_v(
                    &o.file,
                    o.line,
                    "registrar",
                    "no registrar with this IANA ID",
                    Some(d.registrar.to_string()),
                );
            }
        }
        // Hosts that some domain delegates to: an in-zone one of them needs glue.
        let delegated: HashSet<&DomainName> =
            domains.iter().flat_map(|(_, d)| &d.nameservers).collect();
        let mut host_names: HashMap<DomainName, Origin> = HashMap::new();
        for (o, h) in &hosts {
            seen_roid(&mut self, &h.roid, o);
            if let Some(first) = host_names.insert(h.name.clone(), o.clone()) {
                self.error_v(
                    &o.file,
                    o.line,
                    "name",
                    format!(
                        "this host is already listed at {}:{}",
                        first.file, first.line
                    ),
                    Some(h.name.to_string()),
                );
            }
            if registrar_missing(h.registrar) {
                self.error_v(
                    &o.file,
                    o.line,
                    "registrar",
                    "no registrar with this IANA ID",
                    Some(h.registrar.to_string()),
                );
            }
            let in_zone = tlds.iter().any(|t| h.name.is_within(t));
            if in_zone {
                // RFC 5732 §1.1: an internal host is subordinate to a domain of this registry,
                // which must exist.
                match superordinate(&tlds, &h.name) {
                    Some(parent)
                        if !domain_names.contains_key(&parent)
                            && !failed.domains.contains(parent.ascii()) =>
                    {
                        self.error_v(
                            &o.file,
                            o.line,
                            "name",
                            "the host is inside a registry TLD but its superordinate domain does not exist",
                            Some(h.name.to_string()),
                        );
                    }
                    Some(_) => {}
                    None => self.error_v(
                        &o.file,
                        o.line,
                        "name",
                        "a host cannot be a registry TLD itself",
                        Some(h.name.to_string()),
                    ),
                }
            }
            if in_zone && h.addresses.is_empty() && delegated.contains(&h.name) {
                // An in-zone nameserver without glue cannot be resolved. A host nothing
                // delegates to yet needs none.
                self.error_v(
                    &o.file,
                    o.line,
                    "addresses",
                    "the host is inside a registry TLD and a domain delegates to it, so it needs at least one address (glue)",
                    Some(h.name.to_string()),
                );
            }
            if !in_zone && !h.addresses.is_empty() {
                self.error_v(
                    &o.file,
                    o.line,
                    "addresses",
                    "the host is outside the registry's TLDs and cannot carry glue addresses (RFC 5732 §1.1)",
                    Some(h.name.to_string()),
                );
            }
        }
        let contact_ids: HashSet<String> = contacts
            .iter()
            .map(|(_, c)| Roid::key(c.roid.as_str()))
            .collect();
        for (o, d) in &domains {
            for (field, r) in [("registrant", &d.registrant), ("tech", &d.tech)] {
                if let Some(r) = r {
                    let key = Roid::key(r.as_str());
                    if !contact_ids.contains(&key) && !failed.roids.contains(&key) {
                        self.error_v(
                            &o.file,
                            o.line,
                            field,
                            "no contact with this ROID",
                            Some(r.as_str().to_string()),
                        );
                    }
                }
            }
            for (i, ns) in d.nameservers.iter().enumerate() {
                if !host_names.contains_key(ns) && !failed.hosts.contains(ns.ascii()) {
                    self.error_v(
                        &o.file,
                        o.line,
                        &format!("nameservers[{i}]"),
                        "no host object with this name",
                        Some(ns.to_string()),
                    );
                }
            }
        }
        if !self.errors.is_empty() {
            return Err(LoadErrors(self.errors));
        }
        Ok(Snapshot::build(
            tlds,
            updated,
            registrars.into_iter().map(|(_, r)| r).collect(),
            contacts.into_iter().map(|(_, c)| c).collect(),
            hosts.into_iter().map(|(_, h)| h).collect(),
            domains.into_iter().map(|(_, d)| d).collect(),
        ))
    }
}

/// The registry zone a domain is registered in, if the domain is exactly one label below a
/// listed zone (`a.example` under `example`; `a.co.example` only if `co.example` is listed).
fn registration_zone<'a>(zones: &'a [String], name: &DomainName) -> Option<&'a str> {
    let (_, rest) = name.ascii().split_once('.')?;
    zones
        .iter()
        .find(|z| z.as_str() == rest)
        .map(String::as_str)
}

/// The registered domain an in-zone host is subordinate to: the name one label below the most
/// specific registry zone that strictly contains the host (`ns1.foo.example` -> `foo.example`).
fn superordinate(zones: &[String], host: &DomainName) -> Option<DomainName> {
    let ascii = host.ascii();
    let zone = zones
        .iter()
        .filter(|z| host.is_within(z) && ascii.len() > z.len())
        .max_by_key(|z| z.len())?;
    let below = &ascii[..ascii.len() - zone.len() - 1];
    let label = below.rsplit('.').next()?;
    DomainName::parse(&format!("{label}.{zone}")).ok()
}

/// The length in hexadecimal digits of a DS digest of each type assigned in the IANA "Delegation
/// Signer (DS) Resource Record (RR) Type Digest Algorithms" registry; `None` for 0 (reserved) and
/// the unassigned types, which no validator can check.
fn ds_digest_hex_len(digest_type: u8) -> Option<usize> {
    match digest_type {
        1 => Some(40), // SHA-1, RFC 3658: 20 bytes
        2 => Some(64), // SHA-256, RFC 4509: 32 bytes
        3 => Some(64), // GOST R 34.11-94, RFC 5933: 32 bytes
        4 => Some(96), // SHA-384, RFC 6605: 48 bytes
        5 => Some(64), // GOST R 34.11-2012, RFC 9558: 32 bytes
        6 => Some(64), // SM3, RFC 9563: 32 bytes
        _ => None,
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

/// The identity of a record as far as it can be read before validation, so that references to a
/// refused record are not reported again.
struct Identity {
    kind: String,
    roid: Option<String>,
    name: Option<String>,
    iana_id: Option<u32>,
}

impl Identity {
    fn of(kind: &str, value: &serde_json::Value) -> Self {
        Self {
            kind: kind.to_string(),
            roid: value.get("roid").and_then(|r| r.as_str()).map(Roid::key),
            name: value
                .get("name")
                .and_then(|n| n.as_str())
                .and_then(|n| DomainName::parse(n).ok())
                .map(|n| n.ascii().to_string()),
            iana_id: value
                .get("ianaId")
                .and_then(serde_json::Value::as_u64)
                .and_then(|i| u32::try_from(i).ok()),
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

/// Builds a `serde_json::Value` like its own `Deserialize` does, but refuses an object with a
/// key given twice (serde_json would silently keep the last), recording the key's path.
struct StrictValue<'a> {
    path: String,
    dup: &'a RefCell<Option<String>>,
}

impl StrictValue<'_> {
    fn child(&self, step: &str) -> Self {
        let path = if self.path.is_empty() {
            step.to_string()
        } else if step.starts_with('[') {
            format!("{}{step}", self.path)
        } else {
            format!("{}.{step}", self.path)
        };
        Self {
            path,
            dup: self.dup,
        }
    }
}

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = serde_json::Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue<'_> {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self.child(&format!("[{}]", out.len())))? {
            out.push(v);
        }
        Ok(serde_json::Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let child = self.child(&safe_key(&key));
            if out.contains_key(&key) {
                *self.dup.borrow_mut() = Some(child.path);
                return Err(de::Error::custom("duplicate key"));
            }
            let v = map.next_value_seed(child)?;
            out.insert(key, v);
        }
        Ok(serde_json::Value::Object(out))
    }
}

/// The JSON text at a serde path, for `check --show-values`; `None` for the whole record.
fn value_at(root: &serde_json::Value, path: &serde_path_to_error::Path) -> Option<String> {
    use serde_path_to_error::Segment;
    let mut node = root;
    let mut steps = 0;
    for seg in path {
        node = match seg {
            Segment::Seq { index } => node.get(*index)?,
            Segment::Map { key } => node.get(key)?,
            Segment::Enum { .. } | Segment::Unknown => return None,
        };
        steps += 1;
    }
    if steps == 0 {
        return None;
    }
    let mut text = node.to_string();
    if text.len() > 200 {
        let cut = (0..=200)
            .rev()
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(0);
        text.truncate(cut);
        text.push('…');
    }
    Some(text)
}

/// A JSON key as it may appear in an error: our own field names are short identifiers; anything
/// else is not echoed, since a misplaced value can end up as a key.
fn safe_key(key: &str) -> String {
    if !key.is_empty()
        && key.len() <= 40
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        key.to_string()
    } else {
        "(a key that is not a field name)".to_string()
    }
}

/// A JSON syntax error without serde_json's "line 1" (every record is one line).
fn json_syntax_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => format!("{} at column {}", &text[..i], e.column()),
        None => text,
    }
}

/// Rewrite a serde data error so it names the problem but never the value: serde's messages
/// quote it (`invalid type: string "+81 3 1234 5678", expected a sequence`, `unknown variant
/// `John``). Messages of an unknown shape become a generic one rather than risk an echo.
fn serde_message(raw: &str) -> String {
    // The kind of a serde `Unexpected`: `string "…"`, `integer `5``, `floating point `1.5``,
    // `boolean `true``, `map`, `sequence`, `null`, …: the words before any quote.
    let kind_of = |unexpected: &str| {
        let end = unexpected
            .find(['"', '`', '\''])
            .unwrap_or(unexpected.len());
        unexpected[..end].trim().to_string()
    };
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = raw.strip_prefix(prefix) {
            if let Some(i) = rest.rfind(", expected ") {
                return format!(
                    "{prefix}{}, expected {}",
                    kind_of(&rest[..i]),
                    &rest[i + ", expected ".len()..]
                );
            }
        }
    }
    if raw.starts_with("unknown variant ") {
        if let Some(i) = raw.rfind("`, expected ") {
            return format!(
                "unknown value, expected {}",
                &raw[i + "`, expected ".len()..]
            );
        }
        return "unknown value".into();
    }
    if let Some(rest) = raw.strip_prefix("unknown field `") {
        if let Some(i) = rest.find('`') {
            let expected = rest[i + 1..]
                .strip_prefix(", expected ")
                .map(|e| format!(", expected {e}"))
                .unwrap_or_default();
            return format!("unknown field `{}`{expected}", safe_key(&rest[..i]));
        }
    }
    // These name only our own fields or lengths.
    if raw.starts_with("missing field `")
        || raw.starts_with("duplicate field `")
        || raw.starts_with("invalid length ")
    {
        return raw.to_string();
    }
    "invalid value".into()
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
