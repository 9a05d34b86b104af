//! Loading registration data from JSON Lines, with validation that names file, line and field.
//!
//! The input is a set of `*.jsonl` files (a data directory, or the demo registry embedded in the
//! binary). Every line is one object tagged by `kind`: `registry` (exactly one in the whole set),
//! `registrar`, `contact`, `host` or `domain`; `schema/registry-data.schema.json` documents the
//! format. Loading happens in two passes: each line is parsed and checked on its own, then
//! references between objects are resolved. All errors are collected (up to [`MAX_ERRORS`]) so an
//! operator fixes a bad export in one round, and nothing is served from a set with any error.
//!
//! Files are streamed in chunks of whole lines with a bounded line ([`MAX_LINE_BYTES`]) and a
//! bounded number of chunks in flight: a reload never holds a whole file in memory, so a junk file
//! cannot grow the live process. The chunks of the first pass are parsed on all cores and merged
//! in file order, so errors and "first wins" rules do not depend on the threads.
//!
//! The parts, in the order a line meets them:
//! - [`raw`]: one line to a raw record: straight into borrowed structs when the line is good (the
//!   fast path), else through a value tree that refuses duplicate keys and names the bad field
//!   (the strict path), with serde messages stripped of values;
//! - [`convert`]: a raw record to a validated model record, field by field;
//! - [`crossref`]: the second pass: references between records, zones, glue, the snapshot;
//! - [`demo`]: the demo registry embedded in the binary.
//!
//! Errors never carry the offending value in their message: they go to the server log, and a
//! contact's phone number or street must not. Each [`LoadError`] keeps the value apart, and only
//! [`LoadErrors::with_values`] (used by `rddsd check --show-values`) prints it.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;

use super::model::*;
use super::name::DomainName;
use super::store::Snapshot;

mod convert;
mod crossref;
mod defects;
mod delta_apply;
pub mod delta_dir;
pub mod delta_file;
mod demo;
mod errors;
pub mod fetched;
mod loader;
mod pipeline;
mod raw;

use convert::Line;
pub use defects::{Defects, KindCounts, LoadOptions};
pub use demo::{load_demo, DEMO_REGISTRY};
pub use errors::{LoadError, LoadErrors};
use loader::*;
use pipeline::*;
use raw::*;
use serde::de::DeserializeSeed;

/// Stop collecting after this many errors: a wholly wrong file would otherwise print millions.
pub const MAX_ERRORS: usize = 100;

/// Longest line accepted. The largest legitimate object (a domain with a few dozen nameservers
/// and DS records) is a few KiB; this bound is the most a reader ever buffers, so a corrupt or
/// hostile file cannot exhaust memory. A longer line is an error naming file and line.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

/// Load every `*.jsonl` file of a directory, in file-name order. Values that can be made safe
/// are; records that cannot be represented are left out, unless more than
/// `options.max_bad_percent` of them are (the snapshot's [`Snapshot::defects`] says what).
///
/// # Errors
/// Unreadable directory or files, an error in the registry record, or more records left out
/// than the threshold allows.
pub fn load_dir(dir: &Path, options: LoadOptions) -> Result<Snapshot, LoadErrors> {
    load_dir_over(dir, None, options)
}

/// [`load_dir`] for a reload that replaces `previous`: every record that did not change is
/// shared with it (the same `Arc`), so the reload holds the old generation plus the changes
/// rather than two full copies.
///
/// # Errors
/// As [`load_dir`].
pub fn load_dir_over(
    dir: &Path,
    previous: Option<&Snapshot>,
    options: LoadOptions,
) -> Result<Snapshot, LoadErrors> {
    let dir_name = dir.display().to_string();
    let fail = |message: String| {
        LoadErrors(vec![LoadError {
            file: dir_name.clone(),
            line: 0,
            field: String::new(),
            message,
            value: None,
            key: None,
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
    let mut loader = Loader::full_load(previous, options);
    let bytes: u64 = files
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    if let Some(kept) = loader.kept.as_deref_mut() {
        kept.reserve_for(bytes);
    }
    let started = std::time::Instant::now();
    // Opened one at a time as the reader reaches them, so an unreadable file is reported in
    // file order and at most one file is open.
    loader.add_sources(files.into_iter().map(|path| {
        let reader = std::fs::File::open(&path)
            .map(|f| std::io::BufReader::with_capacity(READ_BUFFER_BYTES, f));
        (path.display().to_string(), reader)
    }));
    let parsed = started.elapsed();
    let result = loader.finish();
    // Where the time of a large load goes, for an operator tuning start-up (`--log rddsd=debug`).
    tracing::debug!(
        parse_ms = parsed.as_millis(),
        check_and_index_ms = (started.elapsed() - parsed).as_millis(),
        "data directory read"
    );
    result
}

/// Load a data set from readers of JSON Lines, in the order given, as [`load_dir_over`] loads
/// files: the same rules, the same threshold of records left out, every unchanged record
/// shared with `previous`. Each source is a name for errors (a file, or a database table) and
/// its reader, opened when the loader reaches it; a reader's error is an error of that source.
/// The PostgreSQL replica streams its tables through this.
///
/// # Errors
/// As [`load_dir`].
pub fn load_readers<R: BufRead>(
    sources: impl IntoIterator<Item = (String, std::io::Result<R>)>,
    previous: Option<&Snapshot>,
    options: LoadOptions,
) -> Result<Snapshot, LoadErrors> {
    let mut loader = Loader::full_load(previous, options);
    loader.add_sources(sources);
    loader.finish()
}

/// Validate a data set held in memory, as (file name, text) pairs, refusing it if any record is
/// left out ([`LoadOptions::STRICT`]). Used by tests and benches.
///
/// # Errors
/// Any record left out, or an error of the registry record.
pub fn load_texts(files: &[(&str, &str)]) -> Result<Snapshot, LoadErrors> {
    load_texts_with(files, LoadOptions::STRICT)
}

/// [`load_texts`] with a threshold of records left out.
///
/// # Errors
/// As [`load_dir`].
pub fn load_texts_with(
    files: &[(&str, &str)],
    options: LoadOptions,
) -> Result<Snapshot, LoadErrors> {
    let mut loader = Loader::full_load(None, options);
    loader.add_sources(
        files
            .iter()
            .map(|(file, text)| (file.to_string(), Ok(text.as_bytes()))),
    );
    loader.finish()
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

    #[test]
    fn a_reload_shares_every_record_that_did_not_change() {
        let b = |created: &str| domain_with("created", &format!("\"{created}\""));
        let before = with(&[&b("2020-01-01T00:00:00Z")]).expect("valid");
        let mut lines = base();
        lines.push(b("2021-06-01T00:00:00Z"));
        let text = lines.join("\n");
        let mut loader = Loader::full_load(Some(&before), LoadOptions::STRICT);
        loader.add_reader("t.jsonl", text.as_bytes());
        let after = loader.finish().expect("valid");

        let same = |name: &str| {
            Arc::ptr_eq(
                before.domains.get(name).expect("before"),
                after.domains.get(name).expect("after"),
            )
        };
        assert!(
            same("a.example"),
            "an unchanged domain is the same allocation"
        );
        assert!(!same("b.example"), "a changed domain is a new record");
        assert_eq!(
            after
                .domains
                .get("b.example")
                .map(|d| d.created.text().as_str().to_owned()),
            Some("2021-06-01T00:00:00Z".to_owned())
        );
        let contact = |s: &Snapshot| Arc::clone(&s.contacts.get("C1-T").expect("contact").contact);
        assert!(Arc::ptr_eq(&contact(&before), &contact(&after)));
        let host = |s: &Snapshot| Arc::clone(&s.hosts.get("ns1.a.example").expect("host").host);
        assert!(Arc::ptr_eq(&host(&before), &host(&after)));
        // The reload continues the revision count: taken-over records are never newer than
        // the snapshot that holds them, and the changed one is of the reload.
        assert_eq!(after.revision(), before.revision() + 1);
        assert_eq!(
            after.domains.get("b.example").map(|d| d.since()),
            Some(after.revision())
        );
        // References still count across both: the contact is registrant of both domains.
        assert_eq!(after.contacts.get("C1-T").map(|c| c.registrant_of), Some(2));
    }

    fn errors(r: Result<Snapshot, LoadErrors>) -> Vec<LoadError> {
        match r {
            Ok(_) => panic!("expected a refusal"),
            Err(e) => e.0,
        }
    }

    /// Everything one line leaves in a loader, comparable.
    fn outcome(l: &Loader) -> String {
        let mut failed: Vec<String> = l
            .failed
            .roids
            .iter()
            .chain(&l.failed.hosts)
            .chain(&l.failed.domains)
            .cloned()
            .chain(l.failed.registrars.iter().map(u32::to_string))
            .collect();
        failed.sort();
        let contacts: Vec<_> = l
            .contacts
            .iter()
            .map(|(_, c)| {
                (
                    c.roid.as_str().to_string(),
                    c.name().to_string(),
                    c.org().map(str::to_string),
                    c.street().iter().map(str::to_string).collect::<Vec<_>>(),
                    c.city().to_string(),
                    c.cc().to_string(),
                    c.voice().map(|v| v.tel_uri()),
                    c.email().to_string(),
                    c.person,
                    c.consent,
                )
            })
            .collect();
        format!(
            "errors {:?} values {:?} failed {failed:?} registry {:?} registrars {:?} contacts {contacts:?} hosts {:?} domains {:?}",
            l.errors,
            l.errors.iter().map(|e| e.value.clone()).collect::<Vec<_>>(),
            l.registry.as_ref().map(|(o, t, u)| (o.line, t, u.unix())),
            l.registrars.iter().map(|(_, r)| r).collect::<Vec<_>>(),
            l.hosts.iter().map(|(_, h)| h).collect::<Vec<_>>(),
            l.domains.iter().map(|(_, d)| d).collect::<Vec<_>>(),
        )
    }

    #[test]
    fn the_fast_path_agrees_with_the_strict_path() {
        let contact = |fields: &str| {
            format!(
                r#"{{"kind":"contact","roid":"C9-T","name":"N","city":"C","cc":"DE","email":"n@n.example","personType":"natural"{fields}}}"#
            )
        };
        let domain = |fields: &str| {
            format!(
                r#"{{"kind":"domain","roid":"D9-T","name":"z.example","statuses":["ok"],"created":"2020-01-01T00:00:00Z","expires":"2030-01-01T00:00:00Z","registrar":1001{fields}}}"#
            )
        };
        let mut lines: Vec<String> = [REGISTRY, REGISTRAR, CONTACT, HOST, DOMAIN]
            .iter()
            .map(|s| s.to_string())
            .collect();
        lines.extend([
            // Escapes, so strings are owned rather than borrowed.
            contact(r#","org":"\u00c9cole \"X\"","street":["a\/b","c"],"sp":"S\u00e9","pc":"1""#),
            contact(r#","voice":{"number":"+1.5555550100","ext":"1\u0032"}"#),
            // Field order, white space and `kind` not first: the fallback that finds `kind`.
            contact(r#", "org" : "O""#).replacen(r#""kind":"contact","#, "", 1).replacen('{', r#"{"roid":"C8-T", "kind" : "contact", "#, 1).replacen(r#""roid":"C9-T","#, "", 1),
            CONTACT.replace(r#""kind":"contact""#, r#""kind":"cont\u0061ct""#),
            // Duplicate keys, at the top and nested.
            CONTACT.replace(r#""kind":"contact""#, r#""kind":"contact","kind":"contact""#),
            CONTACT.replace(r#""name":"N""#, r#""name":"N","name":"M""#),
            REGISTRAR.replace(r#"{"number":"+1.5555550100"}"#, r#"{"number":"+1.5555550100","number":"+1.5"}"#),
            domain(r#","ds":[{"keyTag":1,"algorithm":13,"digestType":2,"digestType":2,"digest":"00"}]"#),
            // Not an object, or not only one.
            format!("[{CONTACT}]"),
            r#"["contact","C1-T"]"#.into(),
            format!("{CONTACT} x"),
            format!("{CONTACT}{CONTACT}"),
            "{}".into(),
            r#"{"kind":"domain""#.into(),
            r#"{"kind":5}"#.into(),
            r#"{"kind":"zone"}"#.into(),
            r#"{"kind":"contact"}"#.into(),
            // A struct given as an array, an enum as a map: accepted by both.
            REGISTRAR.replace(r#"{"number":"+1.5555550100"}"#, r#"["+1.5555550100"]"#),
            CONTACT.replace(r#""personType":"natural""#, r#""personType":{"natural":null}"#),
            // Numbers.
            domain("").replace("1001", "1001.0"),
            domain("").replace("1001", "1e3"),
            domain("").replace("1001", "-0"),
            domain("").replace("1001", "-1"),
            domain("").replace("1001", "4294967296"),
            domain("").replace("1001", "01001"),
            domain(r#","ds":[{"keyTag":70000,"algorithm":13,"digestType":2,"digest":"00"}]"#),
            // Types, nulls, unknown fields, missing fields.
            contact(r#","org":null,"voice":null,"street":[]"#),
            CONTACT.replace(r#""name":"N""#, r#""name":null"#),
            CONTACT.replace(r#""city":"C""#, r#""city":"C","street":"x""#),
            CONTACT.replace(r#""city":"C""#, r#""city":"C","street":[1]"#),
            CONTACT.replace(r#""city":"C""#, r#""city":"C","colour":"red""#),
            CONTACT.replace(r#","email":"n@n.example""#, ""),
            contact(r#","consent":["name","handle"]"#),
            contact(r#","consent":["nope"]"#),
            domain(r#","statuses":["ok"]"#),
            CONTACT.replace(r#""name":"N""#, r#""name":"\ud800""#),
            // Conversion errors after a good parse: the refused record's identity is noted.
            CONTACT.replace(r#""cc":"DE""#, r#""cc":"Germany""#),
            domain(r#","nameservers":["ns1.a.example","bad..name","ns1.a.example"]"#),
            domain("").replace("z.example", "Z.EXAMPLE."),
            HOST.replace("192.0.2.1", "127.0.0.1"),
            REGISTRAR.replace("1001", "0"),
            REGISTRY.replace(r#"["example"]"#, r#"["example","example"]"#),
            REGISTRY.replace(r#""updated""#, r#""updated":"x","x""#),
        ]);
        let file: Arc<str> = "t.jsonl".into();
        let mut taken = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let mut fast = Loader::default();
            if fast.add_line_fast(&file, 7, line) {
                taken.push(i);
            } else {
                fast.add_line_strict(&file, 7, line);
            }
            let mut strict = Loader::default();
            strict.add_line_strict(&file, 7, line);
            assert_eq!(outcome(&fast), outcome(&strict), "{line}");
        }
        // The comparison means something only where the fast path took the line: the good
        // records, escapes, the `kind` fallbacks, an array for a struct, a map for an enum,
        // optional nulls, and records that parse but fail conversion.
        let mut want: Vec<usize> = (0..9).collect();
        want.extend([22, 23, 31, 37, 41, 42, 43, 44, 45, 46]);
        assert_eq!(taken, want);
    }

    #[test]
    fn errors_keep_file_order_across_chunks() {
        let bad = |i: usize| {
            CONTACT
                .replace("C1-T", &format!("C{i}0-T"))
                .replace(r#""cc":"DE""#, r#""cc":"D""#)
        };
        let mut lines = base();
        for i in 0..30 {
            lines.push(bad(i));
            if i == 10 {
                // A second registry record with an error of its own, between bad contacts.
                lines.push(
                    REGISTRY.replace(r#""updated":"2026-01-01T00:00:00Z""#, r#""updated":"x""#),
                );
            }
        }
        let e = errors(load(&lines));
        let at: Vec<(usize, &str)> = e.iter().map(|e| (e.line, e.field.as_str())).collect();
        let mut want: Vec<(usize, &str)> = (6..=16).map(|l| (l, "cc")).collect();
        want.extend([(17, "updated"), (17, "kind")]);
        want.extend((18..=36).map(|l| (l, "cc")));
        assert_eq!(at, want);
        assert!(e[12].message.contains("the first is at t.jsonl:1"), "{e:?}");

        // Past MAX_ERRORS, the first ones in file order are kept, across files.
        let many: Vec<String> = (0..150).map(bad).collect();
        let first = [REGISTRY.to_string(), many[..40].join("\n")].join("\n");
        let second = many[40..].join("\n");
        let e = load_texts(&[("a.jsonl", &first), ("b.jsonl", &second)]).expect_err("refused");
        assert_eq!(e.0.len(), MAX_ERRORS);
        assert!(e.0[..40]
            .iter()
            .enumerate()
            .all(|(i, e)| e.file == "a.jsonl" && e.line == i + 2));
        assert!(e.0[40..]
            .iter()
            .enumerate()
            .all(|(i, e)| e.file == "b.jsonl" && e.line == i + 1));
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
    fn line_forging_characters_are_made_safe_in_free_text_and_refused_in_syntax_fields() {
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
        // Free text (the first seven) is made safe and reported; a value with a syntax (an
        // e-mail address, a URL, a host name) is outside it, and the record is left out.
        for (n, (i, line, field)) in cases.into_iter().enumerate() {
            let mut lines = base();
            lines[i] = line;
            if n < 7 {
                let snap = load(&lines).expect("made safe, not refused");
                let d = snap.defects();
                assert!(d.reports.iter().any(|e| e.field == field), "{field}: {d:?}");
                assert_eq!(d.made_safe.total(), 1, "{field}");
                assert_eq!(d.left_out.total(), 0, "{field}");
                let shown = LoadErrors(d.reports.clone()).to_string();
                assert!(!shown.contains("evil"), "no value in the message: {shown}");
                assert!(d.reports[0].key.is_some(), "the record is named: {d:?}");
            } else {
                let e = errors(load(&lines));
                assert!(e.iter().any(|e| e.field == field), "{field}: {e:?}");
                let shown = LoadErrors(e).to_string();
                assert!(!shown.contains("evil"), "no value in the message: {shown}");
            }
        }
        // What is served holds U+FFFD where the forbidden characters were.
        let mut lines = base();
        lines[2] = CONTACT.replace(
            r#""city":"C""#,
            r#""city":"C\u202eD","street":["1\u2028Registrant Email: x","\u0007"]"#,
        );
        let snap = load(&lines).expect("made safe");
        let c = &snap.contacts.get("C1-T").expect("kept").contact;
        assert_eq!(c.city(), "C\u{FFFD}D");
        let street: Vec<&str> = c.street().iter().collect();
        assert_eq!(street, ["1\u{FFFD}Registrant Email: x", "\u{FFFD}"]);
        assert_eq!(snap.defects().made_safe.contact, 1);
        assert_eq!(snap.defects().reports.len(), 3);
    }

    fn lenient(lines: &[String], percent: f64) -> Result<Snapshot, LoadErrors> {
        let text = lines.join("\n");
        load_texts_with(
            &[("t.jsonl", &text)],
            LoadOptions {
                max_bad_percent: percent,
            },
        )
    }

    #[test]
    fn records_that_cannot_be_represented_are_left_out_within_the_threshold() {
        let mut lines = base();
        // A contact outside its syntax: the domain is served without its registrant.
        lines[2] = CONTACT.replace(r#""cc":"DE""#, r#""cc":"Germany""#);
        // A broken line, a domain naming a registrar that does not exist, a duplicate domain,
        // a domain naming a tech contact and a nameserver that never existed.
        lines.push("{not json".into());
        lines.push(domain_with("registrar", "4242"));
        lines.push(DOMAIN.replace("D1-T", "D3-T"));
        lines.push(
            domain_with("tech", r#""C404-T""#)
                .replace("D2-T", "D4-T")
                .replace("b.example", "c.example")
                .replace(r#""ns1.a.example""#, r#""ns1.a.example","ns9.nowhere.net""#),
        );
        // Strict (0 %): refused whole, as before thresholds.
        assert!(lenient(&lines, 0.0).is_err());
        // 9 records, 4 left out and 1 dropped reference: 55 %.
        let e = lenient(&lines, 50.0).expect_err("past the threshold");
        assert!(e.to_string().contains("max_bad_percent"), "{e}");
        let snap = lenient(&lines, 60.0).expect("within the threshold");
        let d = snap.defects();
        assert_eq!(d.records, 9);
        assert_eq!(d.left_out.contact, 1);
        assert_eq!(d.left_out.domain, 2);
        assert_eq!(d.left_out.unparsed, 1);
        assert_eq!(d.dropped_references, 1);
        assert!(snap.contacts.get("C1-T").is_none());
        let a = snap
            .domains
            .get("a.example")
            .expect("kept without its registrant");
        assert_eq!(a.registrant, None);
        assert!(
            snap.domains.get("b.example").is_none(),
            "no registrar: left out"
        );
        let c = snap
            .domains
            .get("c.example")
            .expect("kept without the missing");
        assert_eq!(c.tech, None);
        assert_eq!(c.nameservers.len(), 1);
        assert_eq!(
            snap.domains
                .get("a.example")
                .map(|d| d.roid.as_str().to_owned()),
            Some("D1-T".into())
        );
        // Every report names file, line and field, never the value.
        let shown = LoadErrors(d.reports.clone()).to_string();
        assert!(shown.contains("t.jsonl:3: field `cc`"), "{shown}");
        assert!(shown.contains("t.jsonl:6:"), "the broken line: {shown}");
        assert!(!shown.contains("Germany"), "{shown}");
    }

    #[test]
    fn a_registrar_left_out_takes_its_domains_and_hosts_with_it() {
        let mut lines = base();
        lines[1] = REGISTRAR.replace(r#""cc":"US""#, r#""cc":"U""#);
        let e = errors(lenient(&lines, 10.0));
        assert_eq!(
            e.iter().filter(|e| e.line > 0).count(),
            1,
            "one report: {e:?}"
        );
        let mut big = base();
        for i in 0..2000 {
            big.push(CONTACT.replace("C1-T", &format!("C{i}X-T")));
        }
        big[1] = REGISTRAR.replace(r#""cc":"US""#, r#""cc":"U""#);
        let snap = lenient(&big, 1.0).expect("3 of 2005 records");
        assert_eq!(snap.defects().left_out.registrar, 1);
        assert_eq!(snap.defects().left_out.host, 1);
        assert_eq!(snap.defects().left_out.domain, 1);
        assert!(snap.domains.get("a.example").is_none());
        assert!(snap.hosts.get("ns1.a.example").is_none());
        // The default threshold (0.1 %) refuses 3 of 2005.
        assert!(lenient(&big, LoadOptions::DEFAULT_MAX_BAD_PERCENT).is_err());
    }

    #[test]
    fn an_error_of_the_registry_record_refuses_whatever_the_threshold() {
        let mut lines = base();
        lines[0] = REGISTRY.replace(r#""updated":"2026-01-01T00:00:00Z""#, r#""updated":"x""#);
        assert!(lenient(&lines, 100.0).is_err());
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
