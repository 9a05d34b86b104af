//! Delta files: a set of changes (upserts and deletes of domains, hosts, contacts and
//! registrars) applied to the snapshot being served, without reading the full data set again.
//!
//! Format (`schema/registry-delta.schema.json`): JSON Lines; the first line is the header
//! `{"kind":"delta","updated":"<RFC 3339>","changes":N}`, then exactly `N` change lines. A change
//! is either a record in the data format (an upsert: it replaces the object with the same key,
//! or adds it) or a delete, `{"kind":"delete","object":"domain","name":"…"}` (`host` by
//! `name`, `contact` by `roid`, `registrar` by `ianaId`). A delta is a *set*: each object appears
//! at most once, and the result is validated as a whole, so the order of lines does not matter.
//!
//! A delta is applied whole or not at all: any error (a record that fails its field checks, a
//! reference to an object that would not exist, a delete of an object still referenced, a line
//! count that does not match the header, a last line without its line end) refuses the file,
//! names file, line and field, and leaves the served snapshot as it was.
//!
//! The new snapshot is a clone of the old one with the changed records replaced: the two share
//! every record and every index shard the delta did not touch ([`super::super::cowmap`]).

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;

use super::super::model::*;
use super::super::name::DomainName;
use super::{LoadError, LoadErrors, Loader, Origin, MAX_LINE_BYTES};

/// Largest delta file accepted. A delta is meant for the changes of minutes or hours; a bigger
/// change set is a full export.
pub const MAX_DELTA_BYTES: u64 = 256 * 1024 * 1024;

/// The header line of a delta file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    #[allow(dead_code)]
    kind: String,
    updated: String,
    changes: u64,
}

/// A delete line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawDelete {
    #[allow(dead_code)]
    kind: String,
    object: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    roid: Option<String>,
    #[serde(default)]
    iana_id: Option<u32>,
}

/// The key of an object a delta changes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Key {
    Domain(Arc<str>),
    Host(Arc<str>),
    Contact(String),
    Registrar(IanaId),
}

impl Key {
    pub(super) fn describe(&self) -> &'static str {
        match self {
            Self::Domain(_) => "domain",
            Self::Host(_) => "host",
            Self::Contact(_) => "contact",
            Self::Registrar(_) => "registrar",
        }
    }
}

/// A parsed, field-validated delta, not yet checked against any snapshot.
#[derive(Debug)]
pub struct Delta {
    /// The file it was read from.
    pub file: String,
    /// The export time of the changes: the new `last update of RDAP database`.
    pub updated: Timestamp,
    pub(super) registrars: Vec<(Origin, Registrar)>,
    pub(super) contacts: Vec<(Origin, Contact)>,
    pub(super) hosts: Vec<(Origin, Host)>,
    pub(super) domains: Vec<(Origin, Domain)>,
    pub(super) deletes: Vec<(Origin, Key)>,
    /// Values made safe (reported, applied made safe): each names file, line, key and field.
    pub made_safe: Vec<LoadError>,
}

impl std::fmt::Debug for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

impl Delta {
    /// Number of changes.
    pub fn len(&self) -> usize {
        self.registrars.len()
            + self.contacts.len()
            + self.hosts.len()
            + self.domains.len()
            + self.deletes.len()
    }

    /// Whether the delta changes nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn one(file: &str, line: usize, field: &str, message: impl Into<String>) -> LoadErrors {
    LoadErrors(vec![LoadError {
        file: file.to_string(),
        line,
        field: field.to_string(),
        message: message.into(),
        value: None,
        key: None,
    }])
}

/// Read and field-check a delta file.
///
/// # Errors
/// Every problem found, located by file, line and field.
pub fn read_delta(path: &std::path::Path) -> Result<Delta, LoadErrors> {
    let file = path.display().to_string();
    let meta =
        std::fs::metadata(path).map_err(|e| one(&file, 0, "", format!("cannot read file: {e}")))?;
    if !meta.is_file() {
        return Err(one(&file, 0, "", "not a regular file"));
    }
    if meta.len() > MAX_DELTA_BYTES {
        return Err(one(
            &file,
            0,
            "",
            format!("larger than {MAX_DELTA_BYTES} bytes: send a full export instead"),
        ));
    }
    let bytes =
        std::fs::read(path).map_err(|e| one(&file, 0, "", format!("cannot read file: {e}")))?;
    parse_delta(&file, &bytes)
}

/// Parse and field-check a delta from its bytes.
///
/// # Errors
/// Every problem found, located by file, line and field.
pub fn parse_delta(file: &str, bytes: &[u8]) -> Result<Delta, LoadErrors> {
    check_whole(file, bytes)?;
    // Any record left out refuses a delta whole; a value made safe does not.
    let mut loader = Loader {
        options: super::LoadOptions::STRICT,
        ..Loader::default()
    };
    let shared_file: Arc<str> = file.into();
    let mut header: Option<(usize, Timestamp, u64)> = None;
    let mut deletes: Vec<(Origin, Key)> = Vec::new();
    let mut change_lines = 0u64;
    for (i, raw_line) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = i + 1;
        if loader.full() {
            break;
        }
        let Some(text) = line_text(&mut loader, file, line, raw_line) else {
            continue;
        };
        if text.is_empty() {
            continue;
        }
        let kind = kind_of(text);
        if header.is_none() {
            let (updated, changes) = parse_header(file, line, kind.as_deref(), text)?;
            header = Some((line, updated, changes));
            continue;
        }
        change_lines += 1;
        change_line(
            &mut loader,
            &shared_file,
            line,
            kind.as_deref(),
            text,
            &mut deletes,
        );
    }
    let Some((_, updated, declared)) = header else {
        return Err(one(file, 0, "", "no delta header line"));
    };
    if loader.errors.is_empty() && change_lines != declared {
        loader.error(
            file,
            0,
            "changes",
            format!(
                "the header announces {declared} changes but the file holds {change_lines}: the file is incomplete or was edited"
            ),
        );
    }
    if !loader.errors.is_empty() {
        return Err(LoadErrors(loader.errors));
    }
    let delta = Delta {
        file: file.to_string(),
        updated,
        registrars: std::mem::take(&mut loader.registrars),
        contacts: std::mem::take(&mut loader.contacts),
        hosts: std::mem::take(&mut loader.hosts),
        domains: std::mem::take(&mut loader.domains),
        deletes,
        made_safe: std::mem::take(&mut loader.warnings),
    };
    let errors = each_object_once(&delta);
    if errors.is_empty() {
        Ok(delta)
    } else {
        Err(LoadErrors(errors))
    }
}

/// The whole file's checks: not empty, and not torn (its last line ends).
fn check_whole(file: &str, bytes: &[u8]) -> Result<(), LoadErrors> {
    if bytes.is_empty() {
        return Err(one(
            file,
            0,
            "",
            "the file is empty: a delta starts with its header line",
        ));
    }
    if !bytes.ends_with(b"\n") {
        let lines = bytes.split(|b| *b == b'\n').count();
        return Err(one(
            file,
            lines,
            "",
            "the last line has no line end: the file is incomplete (torn); write deltas to a temporary name and rename them into place",
        ));
    }
    Ok(())
}

/// A line's text, trimmed (the first line without a byte order mark); `None` for a line too
/// long or not UTF-8, reported.
fn line_text<'b>(
    loader: &mut Loader,
    file: &str,
    line: usize,
    raw_line: &'b [u8],
) -> Option<&'b str> {
    if raw_line.len() > MAX_LINE_BYTES {
        loader.error(
            file,
            line,
            "",
            format!("line longer than {MAX_LINE_BYTES} bytes"),
        );
        return None;
    }
    let bytes = if line == 1 {
        raw_line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw_line)
    } else {
        raw_line
    };
    let Ok(text) = std::str::from_utf8(bytes) else {
        loader.error(file, line, "", "the line is not valid UTF-8".into());
        return None;
    };
    Some(text.trim())
}

/// The `kind` member of a line, if it has one.
fn kind_of(text: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct KindOnly<'a> {
        #[serde(borrow)]
        kind: Option<std::borrow::Cow<'a, str>>,
    }
    serde_json::from_str::<KindOnly<'_>>(text)
        .ok()
        .and_then(|k| k.kind)
        .map(|k| k.into_owned())
}

/// The header line: its update time and announced change count.
fn parse_header(
    file: &str,
    line: usize,
    kind: Option<&str>,
    text: &str,
) -> Result<(Timestamp, u64), LoadErrors> {
    if kind != Some("delta") {
        return Err(one(
            file,
            line,
            "kind",
            "a delta file starts with its header: {\"kind\":\"delta\",\"updated\":\"…\",\"changes\":N}",
        ));
    }
    match serde_json::from_str::<RawHeader>(text) {
        Ok(h) => match super::super::validate::datetime(&h.updated) {
            Ok(t) => Ok((t, h.changes)),
            Err(m) => Err(one(file, line, "updated", m.to_string())),
        },
        Err(e) => Err(one(
            file,
            line,
            "",
            format!(
                "not a delta header: {}",
                super::raw::serde_message(&e.to_string())
            ),
        )),
    }
}

/// One change line: a delete, a record (through the data files' own path), or an error.
fn change_line(
    loader: &mut Loader,
    shared_file: &Arc<str>,
    line: usize,
    kind: Option<&str>,
    text: &str,
    deletes: &mut Vec<(Origin, Key)>,
) {
    let file: &str = shared_file;
    match kind {
        Some("delta") => {
            loader.error(file, line, "kind", "a second delta header".into());
        }
        Some("registry") => loader.error(
            file,
            line,
            "kind",
            "a delta carries no registry record: its header gives the update time".into(),
        ),
        Some("delete") => match serde_json::from_str::<RawDelete>(text) {
            Ok(d) => {
                let origin = Origin {
                    file: shared_file.clone(),
                    line,
                };
                match delete_key(&d) {
                    Ok(key) => deletes.push((origin, key)),
                    Err((field, message)) => loader.error(file, line, field, message),
                }
            }
            Err(e) => loader.error(
                file,
                line,
                "",
                format!(
                    "not a delete: {}",
                    super::raw::serde_message(&e.to_string())
                ),
            ),
        },
        // Records (and anything unparseable) take the data files' own path, with its
        // field checks and messages.
        _ => loader.add_raw_line(shared_file, line, text),
    }
}

/// A delta is a set: each object at most once. The errors of every object named twice.
fn each_object_once(delta: &Delta) -> Vec<LoadError> {
    let mut seen: HashMap<Key, usize> = HashMap::new();
    let mut errors = Vec::new();
    let keys = delta
        .registrars
        .iter()
        .map(|(o, r)| (o, Key::Registrar(r.iana_id)))
        .chain(
            delta
                .contacts
                .iter()
                .map(|(o, c)| (o, Key::Contact(Roid::key(c.roid.as_str())))),
        )
        .chain(
            delta
                .hosts
                .iter()
                .map(|(o, h)| (o, Key::Host(h.name.ascii_shared().clone()))),
        )
        .chain(
            delta
                .domains
                .iter()
                .map(|(o, d)| (o, Key::Domain(d.name.ascii_shared().clone()))),
        )
        .chain(delta.deletes.iter().map(|(o, k)| (o, k.clone())));
    for (o, key) in keys {
        if let Some(first) = seen.insert(key.clone(), o.line) {
            errors.push(LoadError {
                file: o.file.to_string(),
                line: o.line,
                field: String::new(),
                message: format!(
                    "this {} is already changed at line {first}: a delta changes each object at most once",
                    key.describe()
                ),
                value: None,
                key: None,
            });
        }
    }
    errors
}

fn delete_key(d: &RawDelete) -> Result<Key, (&'static str, String)> {
    let only = |present: [bool; 3], field: &'static str| -> Result<(), (&'static str, String)> {
        if present.iter().filter(|p| **p).count() != 1 {
            return Err((
                field,
                format!("a delete of a {} names it by `{field}` alone", d.object),
            ));
        }
        Ok(())
    };
    let has = [d.name.is_some(), d.roid.is_some(), d.iana_id.is_some()];
    match d.object.as_str() {
        "domain" | "host" => {
            only(has, "name")?;
            let name = d.name.as_deref().unwrap_or_default();
            let name = DomainName::parse(name).map_err(|e| ("name", e.to_string()))?;
            let key = name.ascii_shared().clone();
            Ok(if d.object == "domain" {
                Key::Domain(key)
            } else {
                Key::Host(key)
            })
        }
        "contact" => {
            only(has, "roid")?;
            let roid = d.roid.as_deref().unwrap_or_default();
            let roid = Roid::parse(roid).map_err(|m| ("roid", m.to_string()))?;
            Ok(Key::Contact(Roid::key(roid.as_str())))
        }
        "registrar" => {
            only(has, "ianaId")?;
            Ok(Key::Registrar(d.iana_id.unwrap_or_default()))
        }
        _ => Err((
            "object",
            "unknown object: one of domain, host, contact, registrar".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::store::Dep;
    use crate::registry::store::Snapshot;

    const BUCHER: &str = r#"{"kind":"domain","roid":"D1003-EXAMPLE","name":"xn--bcher-kva.example","statuses":["clientTransferProhibited","clientUpdateProhibited"],"created":"2020-05-17T14:22:03Z","updated":"2026-11-27T23:00:00Z","expires":"2028-05-17T14:22:03Z","registrar":1002,"registrant":"REGISTRANT","tech":"C202-EXAMPLE","nameservers":["ns1.dns-provider.example.net","ns2.dns-provider.example.net"]}"#;

    fn demo() -> Snapshot {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/registry");
        crate::registry::load::load_dir(&dir, crate::registry::load::LoadOptions::STRICT)
            .expect("the demo registry loads")
    }

    fn bucher_with_registrant(roid: &str) -> Delta {
        let text = format!(
            "{{\"kind\":\"delta\",\"updated\":\"2026-11-28T00:00:00Z\",\"changes\":1}}\n{}\n",
            BUCHER.replace("REGISTRANT", roid)
        );
        parse_delta("test.jsonl", text.as_bytes()).expect("a valid delta")
    }

    fn bucher_registrant(s: &Snapshot) -> Roid {
        s.domains
            .get("xn--bcher-kva.example")
            .and_then(|d| d.registrant.clone())
            .expect("the demo domain has a registrant")
    }

    fn counts(s: &Snapshot, roid: &str) -> (u32, u32) {
        let e = s.contacts.get(Roid::key(roid).as_str()).expect("contact");
        (e.registrant_of, e.technical_of)
    }

    #[test]
    fn a_value_made_safe_no_longer_refuses_a_delta_but_a_bad_record_does() {
        let contact = r#"{"kind":"contact","roid":"C777-EXAMPLE","name":"A\u2028B","city":"C\u202eD","cc":"DE","email":"a@b.example","personType":"natural"}"#;
        let text = format!(
            "{{\"kind\":\"delta\",\"updated\":\"2026-11-28T00:00:00Z\",\"changes\":1}}\n{contact}\n"
        );
        let delta = parse_delta("d.jsonl", text.as_bytes()).expect("made safe, not refused");
        let fields: Vec<&str> = delta.made_safe.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "city"]);
        assert!(delta
            .made_safe
            .iter()
            .all(|e| e.line == 2 && e.key.is_some()));
        let after = demo().apply(&delta).expect("applies");
        let c = &after.contacts.get("C777-EXAMPLE").expect("added").contact;
        assert_eq!((c.name(), c.city()), ("A\u{FFFD}B", "C\u{FFFD}D"));
        // A record outside its syntax still refuses the delta whole.
        let bad = text.replace(r#""cc":"DE""#, r#""cc":"Germany""#);
        assert!(parse_delta("d.jsonl", bad.as_bytes()).is_err());
    }

    #[test]
    fn a_change_that_keeps_its_references_leaves_their_counts_and_records_alone() {
        let before = demo();
        let registrant = bucher_registrant(&before);
        let after = before
            .apply(&bucher_with_registrant(registrant.as_str()))
            .expect("applies");
        for roid in [registrant.as_str(), "C202-EXAMPLE"] {
            assert_eq!(counts(&after, roid), counts(&before, roid), "{roid}");
            let dep = Dep::Contact(Roid::key(roid).into());
            assert_eq!(
                after.since(&dep),
                before.since(&dep),
                "{roid} did not change"
            );
            // Not even copied: the new generation shares the contact's store shard.
            let key = Roid::key(roid);
            assert!(
                std::ptr::eq(
                    before.contacts.get(key.as_str()).expect("before"),
                    after.contacts.get(key.as_str()).expect("after"),
                ),
                "{roid}'s shard was copied"
            );
        }
    }

    #[test]
    fn a_change_of_references_moves_the_counts() {
        let before = demo();
        let registrant = bucher_registrant(&before);
        let other = if registrant.as_str() == "C101-EXAMPLE" {
            "C102-EXAMPLE"
        } else {
            "C101-EXAMPLE"
        };
        let after = before
            .apply(&bucher_with_registrant(other))
            .expect("applies");
        let (was, _) = counts(&before, registrant.as_str());
        assert_eq!(counts(&after, registrant.as_str()).0, was - 1);
        let (had, _) = counts(&before, other);
        assert_eq!(counts(&after, other).0, had + 1);
        assert_eq!(
            counts(&after, "C202-EXAMPLE"),
            counts(&before, "C202-EXAMPLE")
        );
    }
}
