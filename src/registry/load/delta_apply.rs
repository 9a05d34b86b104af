//! Applying a delta: the new snapshot is a clone of the old one with the changed records
//! replaced, validated as a whole against the result ([`Snapshot::apply`]); the two share every
//! record and index shard the delta did not touch ([`super::super::cowmap`]).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::super::model::*;
use super::super::name::DomainName;
use super::super::store::{
    ContactEntry, HostEntry, RegistrarEntry, Revision, RoidOwner, Snapshot, Stored,
};
use super::crossref::{registration_zone, superordinate};
use super::delta_file::{Delta, Key};
use super::{LoadError, LoadErrors, Origin};

/// Collects the errors of applying a delta.
struct Problems<'d> {
    delta: &'d Delta,
    errors: Vec<LoadError>,
}

impl Problems<'_> {
    fn at(&mut self, o: &Origin, field: &str, message: impl Into<String>, value: Option<String>) {
        if self.errors.len() < super::MAX_ERRORS {
            self.errors.push(LoadError {
                file: o.file.to_string(),
                line: o.line,
                field: field.to_string(),
                message: message.into(),
                value,
                key: None,
            });
        }
    }

    fn whole(&mut self, message: impl Into<String>) {
        self.errors.push(LoadError {
            file: self.delta.file.clone(),
            line: 0,
            field: String::new(),
            message: message.into(),
            value: None,
            key: None,
        });
    }
}

/// Whether two versions of a domain name the same contacts, hosts and registrar, so the
/// reference counts of the one hold for the other.
fn same_references(old: &Domain, new: &Domain) -> bool {
    old.registrar == new.registrar
        && old.registrant == new.registrant
        && old.tech == new.tech
        && old.nameservers == new.nameservers
}

impl Snapshot {
    /// The snapshot with `delta` applied, validated as a whole against the result; `self` is
    /// untouched either way.
    ///
    /// # Errors
    /// Every problem found, each naming the delta's file, line and field.
    pub fn apply(&self, delta: &Delta) -> Result<Snapshot, LoadErrors> {
        let mut p = Problems {
            delta,
            errors: Vec::new(),
        };
        if delta.updated <= self.updated {
            p.whole(format!(
                "the delta's update time {} is not after the data's {}: it is already applied, or older than the data",
                delta.updated.text(),
                self.updated.text()
            ));
            return Err(LoadErrors(p.errors));
        }
        self.apply_checked(p, delta)
    }

    /// [`Snapshot::apply`] for a follower of a change log (the PostgreSQL replica), which
    /// knows its changes are newer than the data however their times compare: two batches
    /// can fall in one second. The update time never goes back.
    ///
    /// # Errors
    /// As [`Snapshot::apply`], but for the update time.
    pub fn apply_followed(&self, delta: &Delta) -> Result<Snapshot, LoadErrors> {
        let p = Problems {
            delta,
            errors: Vec::new(),
        };
        self.apply_checked(p, delta)
    }

    fn apply_checked(&self, mut p: Problems<'_>, delta: &Delta) -> Result<Snapshot, LoadErrors> {
        let rev: Revision = self.revision + 1;
        let mut next = self.clone();
        next.revision = rev;
        next.updated = delta.updated.max(self.updated);
        self.check_deletes_exist(&mut p, delta);
        let (deleted_domains, counted) = next.take_out_domains(delta, rev);
        next.replace_registrars(delta, rev);
        next.replace_contacts(&mut p, delta, rev);
        let carried = next.replace_hosts(&mut p, delta, rev);
        next.add_domains(&mut p, delta, rev, &counted);
        next.check_final(&mut p, delta, &carried, &deleted_domains);
        if p.errors.is_empty() {
            Ok(next)
        } else {
            Err(LoadErrors(p.errors))
        }
    }

    /// Every delete names an object of the data being served.
    fn check_deletes_exist(&self, p: &mut Problems<'_>, delta: &Delta) {
        for (o, key) in &delta.deletes {
            let exists = match key {
                Key::Domain(n) => self.domains.contains_key(n),
                Key::Host(n) => self.hosts.contains_key(n),
                Key::Contact(k) => self.contacts.contains_key(k.as_str()),
                Key::Registrar(id) => self.registrars.contains_key(id),
            };
            if !exists {
                p.at(
                    o,
                    "",
                    format!("there is no such {} to delete", key.describe()),
                    None,
                );
            }
        }
    }

    /// Step 1: the domains the delta deletes, and the changed domains' old versions, taken out;
    /// returns the deleted names, and the changed domains that keep their counts.
    fn take_out_domains<'d>(
        &mut self,
        delta: &'d Delta,
        rev: Revision,
    ) -> (Vec<&'d Arc<str>>, HashSet<&'d str>) {
        let next = self;
        // 1. Take out the old version of every changed or deleted domain, with its references,
        //    while everything it references still exists. A changed domain that keeps the same
        //    references keeps its counts: taking them off and putting them back would copy the
        //    store shard of every contact, host and registrar it names (most deltas change
        //    statuses and dates, not contacts), and would mark its contacts' roles as changed.
        let deleted_domains: Vec<&Arc<str>> = delta
            .deletes
            .iter()
            .filter_map(|(_, k)| match k {
                Key::Domain(n) => Some(n),
                _ => None,
            })
            .collect();
        for name in deleted_domains.iter().map(|n| n.as_ref()) {
            if let Some(old) = next.domains.remove(name) {
                next.unreference(&old, rev);
                next.roids.remove(&old.roid.shared_key());
            }
        }
        let mut counted: HashSet<&str> = HashSet::new();
        for (_, d) in &delta.domains {
            let name = d.name.ascii();
            if let Some(old) = next.domains.remove(name) {
                if same_references(&old, d) {
                    counted.insert(name);
                } else {
                    next.unreference(&old, rev);
                }
                next.roids.remove(&old.roid.shared_key());
            }
        }
        (deleted_domains, counted)
    }

    /// Step 2a: registrars replaced in place, keeping their sponsor counts.
    fn replace_registrars(&mut self, delta: &Delta, rev: Revision) {
        let next = self;
        // 2. Registrars, contacts and hosts replaced in place; the counts of references to them
        //    carry over.
        for (_, r) in &delta.registrars {
            let sponsors = match next.registrars.get(&r.iana_id) {
                Some(old) => {
                    let old_key = registrar_name_key(&old.registrar.name);
                    let sponsors = old.sponsors;
                    next.registrars_by_name.remove(&old_key);
                    sponsors
                }
                None => 0,
            };
            next.registrars_by_name
                .insert(registrar_name_key(&r.name), r.iana_id);
            next.registrars.insert(
                r.iana_id,
                RegistrarEntry {
                    registrar: Stored::new(rev, r.clone()),
                    sponsors,
                },
            );
        }
    }

    /// Step 2b: contacts replaced in place, keeping their role counts.
    fn replace_contacts(&mut self, p: &mut Problems<'_>, delta: &Delta, rev: Revision) {
        let next = self;
        for (o, c) in &delta.contacts {
            let key = c.roid.shared_key();
            if let Some(owner) = next.roids.get(&key) {
                p.at(
                    o,
                    "roid",
                    format!("this ROID already belongs to {}", owner_text(owner)),
                    Some(c.roid.as_str().to_string()),
                );
            }
            let (registrant_of, technical_of, roles_since) =
                next.contacts.get(&key).map_or((0, 0, rev), |e| {
                    (e.registrant_of, e.technical_of, e.roles_since)
                });
            next.contacts.insert(
                key,
                ContactEntry {
                    contact: Stored::new(rev, c.clone()),
                    registrant_of,
                    technical_of,
                    roles_since,
                },
            );
        }
    }

    /// Step 2c: hosts deleted or replaced; returns the delegations each kept.
    fn replace_hosts<'d>(
        &mut self,
        p: &mut Problems<'_>,
        delta: &'d Delta,
        rev: Revision,
    ) -> HashMap<&'d str, u32> {
        let next = self;
        let deleted_hosts: HashSet<&str> = delta
            .deletes
            .iter()
            .filter_map(|(_, k)| match k {
                Key::Host(n) => Some(n.as_ref()),
                _ => None,
            })
            .collect();
        let mut carried: HashMap<&str, u32> = HashMap::new();
        for name in deleted_hosts
            .iter()
            .copied()
            .chain(delta.hosts.iter().map(|(_, h)| h.name.ascii()))
        {
            if let Some(old) = next.hosts.remove(name) {
                carried.insert(name, old.delegations);
                next.unhost(&old.host);
            }
        }
        for (o, h) in &delta.hosts {
            let key = h.name.ascii_shared().clone();
            next.check_new_roid(p, o, &h.roid);
            next.roids
                .insert(h.roid.shared_key(), RoidOwner::Host(key.clone()));
            for ip in &h.addresses {
                let mut names: Vec<Arc<str>> = next
                    .hosts_by_ip
                    .get(ip)
                    .map(|n| n.to_vec())
                    .unwrap_or_default();
                names.push(key.clone());
                next.hosts_by_ip.insert(*ip, names.into());
            }
            match next.registrars.get_mut(&h.registrar) {
                Some(r) => r.sponsors += 1,
                None => p.at(
                    o,
                    "registrar",
                    "no registrar with this IANA ID",
                    Some(h.registrar.to_string()),
                ),
            }
            let delegations = carried.get(h.name.ascii()).copied().unwrap_or(0);
            next.hosts.insert(
                key,
                HostEntry {
                    host: Stored::new(rev, h.clone()),
                    delegations,
                },
            );
        }
        carried
    }

    /// Step 3: the new and changed domains, with their references checked and counted (unless
    /// `counted` says their counts were kept).
    fn add_domains(
        &mut self,
        p: &mut Problems<'_>,
        delta: &Delta,
        rev: Revision,
        counted: &HashSet<&str>,
    ) {
        let next = self;
        // 3. The new domains, with their references.
        for (o, d) in &delta.domains {
            let mut d = d.clone();
            next.share_references(&mut d);
            if registration_zone(&next.tlds, &d.name).is_none() {
                p.at(
                    o,
                    "name",
                    "not a registration under the registry's TLDs: a domain is exactly one label below a listed TLD",
                    Some(d.name.to_string()),
                );
            }
            next.check_new_roid(p, o, &d.roid);
            if !next.registrars.contains_key(&d.registrar) {
                p.at(
                    o,
                    "registrar",
                    "no registrar with this IANA ID",
                    Some(d.registrar.to_string()),
                );
            }
            for (field, r) in [("registrant", &d.registrant), ("tech", &d.tech)] {
                if let Some(r) = r {
                    if !next.contacts.contains_key(&r.shared_key()) {
                        p.at(
                            o,
                            field,
                            "no contact with this ROID",
                            Some(r.as_str().to_string()),
                        );
                    }
                }
            }
            for (i, ns) in d.nameservers.iter().enumerate() {
                match next.hosts.get(ns.ascii()) {
                    None => p.at(
                        o,
                        &format!("nameservers[{i}]"),
                        "no host object with this name",
                        Some(ns.to_string()),
                    ),
                    Some(h) if h.host.addresses.is_empty() && next.in_zone(ns) => p.at(
                        o,
                        &format!("nameservers[{i}]"),
                        "the host is inside a registry TLD and has no address (glue), so a domain cannot delegate to it",
                        Some(ns.to_string()),
                    ),
                    Some(_) => {}
                }
            }
            let key = d.name.ascii_shared().clone();
            next.roids
                .insert(d.roid.shared_key(), RoidOwner::Domain(key.clone()));
            if !counted.contains(d.name.ascii()) {
                next.reference(&d, rev);
            }
            next.domains.insert(key, Stored::new(rev, d));
        }
    }

    /// Step 4: the checks that need the final counts and the final set of domains: hosts,
    /// deletes of what is still referenced, hosts left under a deleted domain.
    fn check_final(
        &mut self,
        p: &mut Problems<'_>,
        delta: &Delta,
        carried: &HashMap<&str, u32>,
        deleted_domains: &[&Arc<str>],
    ) {
        let next = self;
        // 4. Checks that need the final counts and the final set of domains.
        for (o, h) in &delta.hosts {
            next.check_host(p, o, h);
        }
        for (o, k) in &delta.deletes {
            match k {
                Key::Contact(key) => {
                    if let Some(e) = next.contacts.remove(key.as_str()) {
                        if e.registrant_of + e.technical_of > 0 {
                            p.at(
                                o,
                                "roid",
                                format!(
                                    "the contact would still be referenced: registrant of {} and technical contact of {} domain(s)",
                                    e.registrant_of, e.technical_of
                                ),
                                None,
                            );
                        }
                    }
                }
                Key::Host(n) => {
                    // Counted when the host was taken out, after the domains this delta
                    // changes had let go of it: what is left are unchanged domains. (A changed
                    // domain naming the deleted host was refused above.)
                    let still = carried.get(n.as_ref()).copied().unwrap_or(0);
                    if still > 0 {
                        p.at(
                            o,
                            "name",
                            format!("{still} domain(s) would still delegate to this host"),
                            None,
                        );
                    }
                }
                Key::Registrar(_) | Key::Domain(_) => {}
            }
        }
        for (o, k) in &delta.deletes {
            if let Key::Registrar(id) = k {
                if let Some(e) = next.registrars.remove(id) {
                    next.registrars_by_name
                        .remove(&registrar_name_key(&e.registrar.name));
                    if e.sponsors > 0 {
                        p.at(
                            o,
                            "ianaId",
                            format!(
                                "the registrar would still sponsor {} domain(s) or host(s)",
                                e.sponsors
                            ),
                            None,
                        );
                    }
                }
            }
        }
        if !deleted_domains.is_empty() {
            let deleted: HashSet<&str> = deleted_domains
                .iter()
                .map(|n| n.as_ref())
                .filter(|n| !next.domains.contains_key(*n))
                .collect();
            for h in next.hosts.values() {
                if let Some(parent) = superordinate(&next.tlds, &h.host.name) {
                    if deleted.contains(parent.ascii()) {
                        if let Some((o, _)) = delta.deletes.iter().find(
                            |(_, k)| matches!(k, Key::Domain(n) if n.as_ref() == parent.ascii()),
                        ) {
                            p.at(
                                o,
                                "name",
                                format!(
                                    "the host {} is subordinate to this domain: delete or rename the host in the same delta",
                                    h.host.name
                                ),
                                None,
                            );
                        }
                    }
                }
            }
        }
    }

    fn in_zone(&self, name: &DomainName) -> bool {
        self.tlds.iter().any(|t| name.is_within(t))
    }

    fn check_new_roid(&self, p: &mut Problems<'_>, o: &Origin, roid: &Roid) {
        let key = roid.shared_key();
        let owner = match self.roids.get(&key) {
            Some(owner) => Some(owner_text(owner)),
            None if self.contacts.contains_key(&key) => Some("a contact".to_string()),
            None => None,
        };
        if let Some(owner) = owner {
            p.at(
                o,
                "roid",
                format!("this ROID already belongs to {owner}"),
                Some(roid.as_str().to_string()),
            );
        }
    }

    /// The host rules of RFC 5732 that the full loader checks too.
    fn check_host(&self, p: &mut Problems<'_>, o: &Origin, h: &Host) {
        let in_zone = self.in_zone(&h.name);
        if in_zone {
            match superordinate(&self.tlds, &h.name) {
                Some(parent) if !self.domains.contains_key(parent.ascii()) => p.at(
                    o,
                    "name",
                    "the host is inside a registry TLD but its superordinate domain does not exist",
                    Some(h.name.to_string()),
                ),
                Some(_) => {}
                None => p.at(
                    o,
                    "name",
                    "a host cannot be a registry TLD itself",
                    Some(h.name.to_string()),
                ),
            }
            let delegated = self
                .hosts
                .get(h.name.ascii())
                .is_some_and(|e| e.delegations > 0);
            if h.addresses.is_empty() && delegated {
                p.at(
                    o,
                    "addresses",
                    "the host is inside a registry TLD and a domain delegates to it, so it needs at least one address (glue)",
                    Some(h.name.to_string()),
                );
            }
        } else if !h.addresses.is_empty() {
            p.at(
                o,
                "addresses",
                "the host is outside the registry's TLDs and cannot carry glue addresses (RFC 5732 §1.1)",
                Some(h.name.to_string()),
            );
        }
    }

    /// Count a domain's references.
    fn reference(&mut self, d: &Domain, rev: Revision) {
        self.count(d, rev, true);
    }

    /// Uncount a domain's references.
    fn unreference(&mut self, d: &Domain, rev: Revision) {
        self.count(d, rev, false);
    }

    fn count(&mut self, d: &Domain, rev: Revision, add: bool) {
        let step = |n: &mut u32| {
            if add {
                *n += 1;
            } else {
                *n = n.saturating_sub(1);
            }
        };
        for (r, registrant) in [(&d.registrant, true), (&d.tech, false)] {
            let Some(r) = r else { continue };
            if let Some(e) = self.contacts.get_mut(&r.shared_key()) {
                let before = (e.registrant_of > 0, e.technical_of > 0);
                step(if registrant {
                    &mut e.registrant_of
                } else {
                    &mut e.technical_of
                });
                // The roles decide what the contact's own lookup shows: a change of roles is
                // a change of that answer.
                if before != (e.registrant_of > 0, e.technical_of > 0) {
                    e.roles_since = rev;
                }
            }
        }
        for ns in d.nameservers.iter() {
            if let Some(h) = self.hosts.get_mut(ns.ascii()) {
                step(&mut h.delegations);
            }
        }
        if let Some(r) = self.registrars.get_mut(&d.registrar) {
            step(&mut r.sponsors);
        }
    }

    /// Take a host's entries out of the indexes that are not keyed by its name.
    fn unhost(&mut self, h: &Host) {
        for ip in &h.addresses {
            let rest: Vec<Arc<str>> = self
                .hosts_by_ip
                .get(ip)
                .map(|names| {
                    names
                        .iter()
                        .filter(|n| n.as_ref() != h.name.ascii())
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            if rest.is_empty() {
                self.hosts_by_ip.remove(ip);
            } else {
                self.hosts_by_ip.insert(*ip, rest.into());
            }
        }
        if let Some(r) = self.registrars.get_mut(&h.registrar) {
            r.sponsors = r.sponsors.saturating_sub(1);
        }
        self.roids.remove(&h.roid.shared_key());
    }
}

fn registrar_name_key(name: &str) -> String {
    super::super::name::registrar_name_key(name)
}

fn owner_text(owner: &RoidOwner) -> String {
    match owner {
        RoidOwner::Domain(n) => format!("the domain {n}"),
        RoidOwner::Host(n) => format!("the host {n}"),
    }
}
