//! A record set fetched for one query (the PostgreSQL backend): the few records an answer needs,
//! each checked by the loader's own field rules, in a [`Snapshot`] of their own that the
//! resolver reads exactly as it reads the full one.
//!
//! The cross-record rules of a full load (every reference resolves, ROIDs unique across kinds,
//! zones and glue) are not checked here: they need the whole registry, which the database's
//! constraints and `rddsd check --database` keep. A reference to a record that is not in the
//! set only leaves that part out of the answer, as the resolver does for any missing record.

use std::collections::HashMap;
use std::sync::Arc;

use super::super::model::Roid;
use super::super::name::registrar_name_key;
use super::super::store::{
    ContactEntry, ContactRoles, HostEntry, RegistrarEntry, Snapshot, Stored,
};
use super::Loader;
use crate::registry::Timestamp;

/// One fetched record.
#[derive(Debug, Clone, Copy)]
pub struct FetchedLine<'a> {
    /// The table it comes from (`domains`, `hosts`, `contacts`, `registrars`), for errors.
    pub table: &'a str,
    /// Its key in that table (name, ROID or IANA ID), for errors: never personal data.
    pub key: &'a str,
    /// The record as one line of the JSON Lines format.
    pub line: &'a str,
    /// For a contact, the roles it holds on any domain (its own answer depends on them).
    pub roles: ContactRoles,
}

/// Check the fetched records and index them as a snapshot of their own, with the data's update
/// time `updated` and the registry's `tlds`.
///
/// A record that cannot be represented is left out alone, as a load leaves it out (see
/// `docs/operating.md`, "Bad records"): what refers to it is answered by the same rules (a
/// domain without that contact or nameserver; a domain or host whose registrar was left out is
/// not found). The second value holds one message per record left out, naming table, key and
/// field (never a value).
pub fn fetched_snapshot(
    tlds: Vec<String>,
    updated: Timestamp,
    lines: &[FetchedLine<'_>],
) -> (Snapshot, Vec<String>) {
    let mut loader = Loader::default();
    let mut roles: HashMap<String, ContactRoles> = HashMap::new();
    for (i, l) in lines.iter().enumerate() {
        let file: Arc<str> = l.table.into();
        // The index doubles as the "line", to find the key of an error below.
        loader.add_line(&file, i + 1, l.line);
        if l.table == "contacts" {
            roles.insert(Roid::key(l.key), l.roles);
        }
    }
    let left_out: Vec<String> = loader
        .errors
        .iter()
        .map(|e| {
            let key = e
                .line
                .checked_sub(1)
                .and_then(|i| lines.get(i))
                .map_or("?", |l| l.key);
            let field = if e.field.is_empty() {
                String::new()
            } else {
                format!(" field `{}`", e.field)
            };
            format!("table {} key {key}{field}: {}", e.file, e.message)
        })
        .collect();
    let mut snap = Snapshot::with_capacity(
        tlds,
        updated,
        0,
        (
            loader.registrars.len(),
            loader.contacts.len(),
            loader.hosts.len(),
            loader.domains.len(),
        ),
    );
    for (_, r) in loader.registrars.drain(..) {
        snap.registrars_by_name
            .insert(registrar_name_key(&r.name), r.iana_id);
        snap.registrars.insert(
            r.iana_id,
            RegistrarEntry {
                registrar: Stored::new(0, r),
                sponsors: 0,
            },
        );
    }
    for (_, c) in loader.contacts.drain(..) {
        let key = c.roid.shared_key();
        let held = roles.get(&*key).copied().unwrap_or_default();
        snap.contacts.insert(
            key,
            ContactEntry {
                contact: Stored::new(0, c),
                registrant_of: u32::from(held.registrant),
                technical_of: u32::from(held.technical),
                roles_since: 0,
            },
        );
    }
    let mut by_ip: HashMap<std::net::IpAddr, Vec<Arc<str>>> = HashMap::new();
    for (_, h) in loader.hosts.drain(..) {
        for ip in &h.addresses {
            by_ip
                .entry(*ip)
                .or_default()
                .push(h.name.ascii_shared().clone());
        }
        snap.hosts.insert(
            h.name.ascii_shared().clone(),
            HostEntry {
                host: Stored::new(0, h),
                delegations: 0,
            },
        );
    }
    for (ip, names) in by_ip {
        snap.hosts_by_ip.insert(ip, names.into());
    }
    for (_, mut d) in loader.domains.drain(..) {
        snap.share_references(&mut d);
        snap.domains
            .insert(d.name.ascii_shared().clone(), Stored::new(0, d));
    }
    (snap, left_out)
}

/// An empty snapshot: the served generation of a node whose records live in the database
/// (its policy, update time and TLDs are what it holds).
pub fn empty_snapshot(tlds: Vec<String>, updated: Timestamp) -> Snapshot {
    Snapshot::with_capacity(tlds, updated, 0, (0, 0, 0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(table: &'a str, key: &'a str, line: &'a str) -> FetchedLine<'a> {
        FetchedLine {
            table,
            key,
            line,
            roles: ContactRoles::default(),
        }
    }

    #[test]
    fn records_are_checked_and_indexed_without_cross_references() {
        let t = Timestamp::from_unix(0);
        // A domain whose registrar and contacts were not fetched is still indexed.
        let domain = r#"{"kind":"domain","roid":"D1-X","name":"a.example","statuses":["ok"],"created":"2020-01-01T00:00:00Z","expires":"2030-01-01T00:00:00Z","registrar":1,"registrant":"C1-X"}"#;
        let (snap, left_out) = fetched_snapshot(
            vec!["example".into()],
            t,
            &[line("domains", "a.example", domain)],
        );
        assert!(left_out.is_empty(), "{left_out:?}");
        assert_eq!(snap.counts(), (1, 0, 0, 0));
    }

    #[test]
    fn a_bad_record_is_left_out_alone_and_named_by_table_key_and_field_without_its_value() {
        let t = Timestamp::from_unix(0);
        let contact = r#"{"kind":"contact","roid":"C1-X","name":"N","city":"Secretville","cc":"ZZZ","email":"a@b.example","personType":"natural"}"#;
        let domain = r#"{"kind":"domain","roid":"D1-X","name":"a.example","statuses":["ok"],"created":"2020-01-01T00:00:00Z","expires":"2030-01-01T00:00:00Z","registrar":1,"registrant":"C1-X"}"#;
        let (snap, errors) = fetched_snapshot(
            vec!["example".into()],
            t,
            &[
                line("contacts", "C1-X", contact),
                line("domains", "a.example", domain),
            ],
        );
        assert_eq!(
            snap.counts(),
            (1, 0, 0, 0),
            "the domain stays, the contact is left out"
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("table contacts key C1-X field `cc`: "),
            "{errors:?}"
        );
        assert!(!errors[0].contains("ZZZ") && !errors[0].contains("Secretville"));
    }
}
