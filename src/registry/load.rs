//! Loading registration data from JSON Lines, with validation that names file, line and field.
//!
//! The input is a set of `*.jsonl` files (a data directory, or the demo registry embedded in the
//! binary). Every line is one object tagged by `kind`: `registry` (exactly one in the whole set),
//! `registrar`, `contact`, `host` or `domain`; `schema/registry-data.schema.json` documents the
//! format. Loading happens in two passes: each line is parsed and checked on its own, then
//! references between objects are resolved. All errors are collected (up to [`MAX_ERRORS`]) so an
//! operator fixes a bad export in one round, and nothing is served from a set with any error.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::IpAddr;
use std::path::Path;

use serde::Deserialize;

use super::model::*;
use super::name::DomainName;
use super::store::Snapshot;
use super::validate;

/// Stop collecting after this many errors: a wholly wrong file would otherwise print millions.
pub const MAX_ERRORS: usize = 100;

/// Longest line accepted. The largest legitimate object (a domain with 13 nameservers and a few
/// DS records) is a few KiB; this bound keeps a corrupt file from exhausting memory.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// One problem in the input, located precisely enough to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// File name (as given, or the embedded name).
    pub file: String,
    /// 1-based line number; 0 for problems of the whole set.
    pub line: usize,
    /// The field, as a path such as `voice.number`; empty for the whole line.
    pub field: String,
    /// What is wrong.
    pub message: String,
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

/// All the errors of one failed load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadErrors(pub Vec<LoadError>);

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
        loader.add_text(file, text);
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
        let file = path.display().to_string();
        match std::fs::read(&path) {
            Ok(bytes) => loader.add_bytes(&file, &bytes),
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

    fn check(&mut self, field: &str, result: Result<(), String>) -> bool {
        match result {
            Ok(()) => true,
            Err(m) => {
                self.err(field, m);
                false
            }
        }
    }

    fn text(&mut self, field: &str, value: &str, max: usize) {
        self.check(field, validate::text(value, max));
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
                self.err(field, m);
                None
            }
        }
    }

    fn opt_date(&mut self, field: &str, value: &Option<String>) -> Option<Timestamp> {
        value.as_deref().and_then(|v| self.date(field, v))
    }

    fn roid(&mut self, field: &str, value: &str) -> Option<Roid> {
        Roid::parse(value).map_err(|m| self.err(field, m)).ok()
    }

    fn name(&mut self, field: &str, value: &str) -> Option<DomainName> {
        DomainName::parse(value)
            .map_err(|e| self.err(field, format!("{value:?}: {e}")))
            .ok()
    }

    fn phone(&mut self, field: &str, raw: Option<RawPhone>) -> Option<Phone> {
        let raw = raw?;
        let phone = Phone {
            number: raw.number,
            ext: raw.ext,
        };
        self.check(field, validate::phone(&phone));
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
                None => self.err(&format!("statuses[{i}]"), format!("{s:?} is not {what}")),
            }
        }
        if out.len() == raw.len() {
            self.check("statuses", check(&out));
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
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(LoadError {
                file: file.to_string(),
                line,
                field: field.to_string(),
                message,
            });
        }
    }

    fn add_bytes(&mut self, file: &str, bytes: &[u8]) {
        match std::str::from_utf8(bytes) {
            Ok(text) => self.add_text(file, text),
            Err(e) => {
                let line = bytes[..e.valid_up_to()]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count()
                    + 1;
                self.error(file, line, "", "the file is not valid UTF-8".into());
            }
        }
    }

    fn add_text(&mut self, file: &str, text: &str) {
        for (i, line) in text.lines().enumerate() {
            if self.errors.len() >= MAX_ERRORS {
                return;
            }
            let line_no = i + 1;
            let trimmed = line.trim();
            // Blank lines are tolerated so hand-edited files stay forgiving; everything else is
            // exactly one JSON object.
            if trimmed.is_empty() {
                continue;
            }
            if line.len() > MAX_LINE_BYTES {
                self.error(
                    file,
                    line_no,
                    "",
                    format!("line longer than {MAX_LINE_BYTES} bytes"),
                );
                continue;
            }
            self.add_line(file, line_no, trimmed);
        }
    }

    fn add_line(&mut self, file: &str, line: usize, text: &str) {
        let value: serde_json::Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                self.error(file, line, "", format!("not a JSON object: {e}"));
                return;
            }
        };
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
        let origin = Origin {
            file: file.to_string(),
            line,
        };
        macro_rules! parse {
            ($ty:ty) => {
                match serde_path_to_error::deserialize::<_, $ty>(value) {
                    Ok(raw) => raw,
                    Err(e) => {
                        let path = e.path().to_string();
                        let path = if path == "." { String::new() } else { path };
                        self.error(file, line, &path, e.into_inner().to_string());
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
            other => self.error(
                file,
                line,
                "kind",
                format!(
                    "unknown kind {other:?}: one of registry, registrar, contact, host, domain"
                ),
            ),
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
            // A TLD is one label: validate it by making it a two-label name.
            match DomainName::parse(&format!("x.{t}")) {
                Ok(n) if !t.contains('.') => tlds.push(n.tld().to_string()),
                _ => l.err(&field, format!("{t:?} is not a valid TLD label")),
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
                l.check(field, validate::http_url(u));
            }
        }
        if let Some(w) = &raw.whois_server {
            if DomainName::parse(w).is_err() {
                l.err("whoisServer", format!("{w:?} is not a host name"));
            }
        }
        l.check("abuseEmail", validate::email(&raw.abuse_email));
        if let Some(e) = &raw.email {
            l.check("email", validate::email(e));
        }
        let abuse_phone = l.phone("abusePhone", Some(raw.abuse_phone));
        let voice = l.phone("voice", raw.voice);
        let fax = l.phone("fax", raw.fax);
        l.street("address.street", &raw.address.street);
        l.text("address.city", &raw.address.city, 255);
        l.opt_text("address.sp", &raw.address.sp, 255);
        l.opt_text("address.pc", &raw.address.pc, 16);
        l.check("address.cc", validate::country_code(&raw.address.cc));
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
        l.check("cc", validate::country_code(&raw.cc));
        let voice = l.phone("voice", raw.voice);
        let fax = l.phone("fax", raw.fax);
        l.check("email", validate::email(&raw.email));
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
                    l.err(
                        &format!("addresses[{i}]"),
                        format!("{a} cannot be a nameserver address"),
                    );
                }
                Ok(IpAddr::V4(ip)) => v4.push(IpAddr::V4(ip)),
                Ok(IpAddr::V6(ip)) => v6.push(IpAddr::V6(ip)),
                Err(_) => l.err(
                    &format!("addresses[{i}]"),
                    format!("{a:?} is not an IPv4 or IPv6 address"),
                ),
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
        if raw.nameservers.len() > 13 {
            l.err("nameservers", "at most 13 nameservers");
        }
        for (i, ns) in raw.nameservers.iter().enumerate() {
            if let Some(n) = l.name(&format!("nameservers[{i}]"), ns) {
                if nameservers.contains(&n) {
                    l.err(
                        &format!("nameservers[{i}]"),
                        format!("{ns} is listed twice"),
                    );
                }
                nameservers.push(n);
            }
        }
        let mut ds = Vec::new();
        for (i, d) in raw.ds.into_iter().enumerate() {
            let want = match d.digest_type {
                1 => Some(40),
                2 => Some(64),
                4 => Some(96),
                _ => None,
            };
            let hex = d.digest.bytes().all(|b| b.is_ascii_hexdigit());
            match want {
                None => l.err(
                    &format!("ds[{i}].digestType"),
                    "digest type must be 1 (SHA-1), 2 (SHA-256) or 4 (SHA-384)",
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

    /// Second pass: uniqueness and references, then build the indexed snapshot.
    fn finish(mut self) -> Result<Snapshot, LoadErrors> {
        let Some((_, tlds, updated)) = self.registry.take() else {
            if self.errors.is_empty() {
                self.error("(data set)", 0, "", "no registry record: add one line {\"kind\":\"registry\",\"tlds\":[...],\"updated\":...}".into());
            }
            return Err(LoadErrors(self.errors));
        };
        let mut roids: HashMap<String, Origin> = HashMap::new();
        let mut seen_roid = |this: &mut Self, roid: &Roid, o: &Origin| {
            if let Some(first) = roids.insert(Roid::key(roid.as_str()), o.clone()) {
                let msg = format!(
                    "ROID {} is already used at {}:{}",
                    roid.as_str(),
                    first.file,
                    first.line
                );
                this.error(&o.file, o.line, "roid", msg);
            }
        };
        let registrars = std::mem::take(&mut self.registrars);
        let contacts = std::mem::take(&mut self.contacts);
        let hosts = std::mem::take(&mut self.hosts);
        let domains = std::mem::take(&mut self.domains);

        let mut registrar_ids = HashSet::new();
        for (o, r) in &registrars {
            if !registrar_ids.insert(r.iana_id) {
                self.error(
                    &o.file,
                    o.line,
                    "ianaId",
                    format!("IANA ID {} is listed twice", r.iana_id),
                );
            }
        }
        for (o, c) in &contacts {
            seen_roid(&mut self, &c.roid, o);
        }
        let mut host_names = HashSet::new();
        for (o, h) in &hosts {
            seen_roid(&mut self, &h.roid, o);
            if !host_names.insert(h.name.clone()) {
                self.error(
                    &o.file,
                    o.line,
                    "name",
                    format!("host {} is listed twice", h.name),
                );
            }
            if !registrar_ids.contains(&h.registrar) {
                self.error(
                    &o.file,
                    o.line,
                    "registrar",
                    format!("no registrar with IANA ID {}", h.registrar),
                );
            }
            let in_zone = tlds.iter().any(|t| h.name.is_within(t));
            if in_zone && h.addresses.is_empty() {
                // Not an error in EPP, but worth refusing: an in-zone nameserver without glue
                // cannot resolve. Operators export glue with the host.
                self.error(
                    &o.file,
                    o.line,
                    "addresses",
                    format!(
                        "host {} is inside a registry TLD and needs at least one address",
                        h.name
                    ),
                );
            }
            if !in_zone && !h.addresses.is_empty() {
                self.error(&o.file, o.line, "addresses", format!("host {} is outside the registry's TLDs and cannot carry glue addresses (RFC 5732 §1.1)", h.name));
            }
        }
        let contact_ids: HashSet<String> = contacts
            .iter()
            .map(|(_, c)| Roid::key(c.roid.as_str()))
            .collect();
        let mut domain_names = HashSet::new();
        for (o, d) in &domains {
            seen_roid(&mut self, &d.roid, o);
            if !domain_names.insert(d.name.clone()) {
                self.error(
                    &o.file,
                    o.line,
                    "name",
                    format!("domain {} is listed twice", d.name),
                );
            }
            if !tlds.iter().any(|t| d.name.tld() == t) {
                self.error(
                    &o.file,
                    o.line,
                    "name",
                    format!(
                        "{} is not under one of the registry's TLDs ({})",
                        d.name,
                        tlds.join(", ")
                    ),
                );
            }
            if !registrar_ids.contains(&d.registrar) {
                self.error(
                    &o.file,
                    o.line,
                    "registrar",
                    format!("no registrar with IANA ID {}", d.registrar),
                );
            }
            for (field, r) in [("registrant", &d.registrant), ("tech", &d.tech)] {
                if let Some(r) = r {
                    if !contact_ids.contains(&Roid::key(r.as_str())) {
                        self.error(
                            &o.file,
                            o.line,
                            field,
                            format!("no contact with ROID {}", r.as_str()),
                        );
                    }
                }
            }
            for (i, ns) in d.nameservers.iter().enumerate() {
                if !host_names.contains(ns) {
                    self.error(
                        &o.file,
                        o.line,
                        &format!("nameservers[{i}]"),
                        format!("no host object named {ns}"),
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

/// Validate a data set held in memory, as (file name, text) pairs. Used by tests and benches.
///
/// # Errors
/// Any validation error.
pub fn load_texts(files: &[(&str, &str)]) -> Result<Snapshot, LoadErrors> {
    let mut loader = Loader::default();
    for (file, text) in files {
        loader.add_text(file, text);
    }
    loader.finish()
}
