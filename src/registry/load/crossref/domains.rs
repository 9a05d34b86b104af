//! The domains' part of the second pass, on every core: their rules that need the other
//! records, their references resolved, and the domain and ROID indexes filled.
//!
//! On one thread this was the longest step of a ten-million-domain start. It runs in steps
//! that each split over the cores, and ends with the same snapshot and the same errors, in the
//! same order, as checking one domain after the other:
//!
//! 1. **Resolve** (split by runs of domains): each domain's own rules (zone, registrar, a
//!    ROID a contact holds) and its references against the finished contact and host indexes;
//!    the ROID text of a contact is shared with the domain.
//! 2. **Index** (split by shards of each index): every domain that passed its own rules is
//!    entered under its ROID (where a host's ROID is found), then under its name, in file
//!    order within each shard, so the first of two domains with one key is the one entered.
//!    A second one is a clash.
//! 3. **Clashes**, only if there was one: "first wins" means the first domain *kept* with a
//!    key, and a domain left out for one key no longer holds its other. The domains that
//!    share a clashing key are taken out of both indexes and decided again one after the
//!    other, exactly as on one thread. No domain outside them shares a key with one of them
//!    that can be kept, so nothing else changes.
//! 4. **Report** (one thread, file order): the errors of the domains with one, and a
//!    reference to nothing dropped from a domain kept (its record remade without it).
//! 5. **Count** (split by shards, then by runs): the contacts' roles, the registrars'
//!    sponsorships and the hosts' delegations, for the domains kept.
//!
//! What a step tells the next is a few bytes per domain ([`Found`]): a data set whose every
//! domain has an error costs no more memory here than a clean one, and the errors themselves
//! are kept up to the cap as before.

use std::collections::HashSet;
use std::sync::Arc;

use foldhash::{HashMap, HashMapExt};

use super::super::super::cowmap::{CowMap, Inserted};
use super::super::super::model::*;
use super::super::super::name::DomainName;
use super::super::super::parallel;
use super::super::super::store::{RoidOwner, Snapshot, Stored};
use super::super::{Failed, Loader, Origin};
use super::{at, registration_zone, roid_key, Kept};

/// No part: the domain names no such record.
const NONE: u8 = u8::MAX;

/// Complete nameserver lists one thread of step 1 remembers, at most.
const LISTS_CACHED: usize = 100_000;

/// What a domain is reported for ([`Found::flags`]).
mod flag {
    /// Its ROID is a contact's or a host's.
    pub(super) const ROID_TAKEN: u8 = 1;
    /// Its ROID is an earlier domain's (step 3).
    pub(super) const ROID_CLASH: u8 = 1 << 1;
    /// Its name is an earlier domain's (step 3).
    pub(super) const NAME_CLASH: u8 = 1 << 2;
    /// Not exactly one label below a registry zone.
    pub(super) const OUTSIDE_ZONES: u8 = 1 << 3;
    /// No registrar with its IANA ID.
    pub(super) const NO_REGISTRAR: u8 = 1 << 4;
    /// Its registrar was left out (its own error is the cause).
    pub(super) const REGISTRAR_LEFT_OUT: u8 = 1 << 5;
    /// A contact or nameserver it names is not there.
    pub(super) const MISSING_REFERENCE: u8 = 1 << 6;
    /// Any of the domain's own rules broken: it is left out.
    pub(super) const OWN_RULES: u8 = ROID_TAKEN | OUTSIDE_ZONES | NO_REGISTRAR | REGISTRAR_LEFT_OUT;
    /// Left out: its own rules, or a key an earlier domain kept.
    pub(super) const LEFT_OUT: u8 = OWN_RULES | ROID_CLASH | NAME_CLASH;
}

/// What the first steps learnt of one domain, for the steps after them: the parts of its keys
/// (so the threads of a later step find their own domains without reading every record), and
/// what it is reported for, which says whether it is left out.
#[derive(Clone, Copy)]
struct Found {
    flags: u8,
    roid_part: u8,
    name_part: u8,
    registrant_part: u8,
    tech_part: u8,
}

impl Default for Found {
    fn default() -> Self {
        Self {
            flags: 0,
            roid_part: NONE,
            name_part: NONE,
            registrant_part: NONE,
            tech_part: NONE,
        }
    }
}

impl Found {
    fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }

    fn left_out(&self) -> bool {
        self.has(flag::LEFT_OUT)
    }
}

/// The tables step 1 reads (the indexes of the other kinds are complete by then).
struct Tables<'a> {
    snap: &'a Snapshot,
    failed: &'a Failed,
    parts: usize,
}

impl Loader {
    /// Domains by name, their ROIDs, sponsors, contacts' roles and hosts' delegations; the
    /// domain shares its contacts' ROID text. A domain that breaks a rule of its own, or whose
    /// registrar is missing or left out, is left out; a contact or nameserver that is missing
    /// or left out is dropped from the domain, which is served without it.
    pub(super) fn index_domains(
        &mut self,
        snap: &mut Snapshot,
        kept: &mut Kept,
        failed: &mut Failed,
    ) {
        let parts = parallel::parts();
        let count = kept.domains.len();
        let mut found = vec![Found::default(); count];
        let tables = Tables {
            snap,
            failed,
            parts,
        };
        let work: Vec<_> = parallel::chunks_mut(&mut kept.domains, parts)
            .into_iter()
            .zip(found.chunks_mut(count.div_ceil(parts).max(1)))
            .collect();
        parallel::run_each(work, |((_, domains), found)| {
            tables.resolve(domains, found);
        });

        let mut clashes = index_keys(snap, &kept.domains, &mut found, parts);
        if !clashes.is_empty() {
            clashes.sort_unstable();
            clashes.dedup();
            decide_clashes(snap, &kept.domains, &mut found, &clashes);
        }
        for (i, f) in found.iter().enumerate() {
            if f.flags != 0 {
                self.report_domain(snap, kept, i, f, failed);
            }
        }
        count_references(snap, &kept.domains, &found, parts);
    }

    /// The errors of one domain, as checking it alone reports them, and its place among the
    /// records left out or served with a reference dropped. A domain kept with a reference to
    /// nothing is remade without it, here and in the index.
    fn report_domain(
        &mut self,
        snap: &mut Snapshot,
        kept: &mut Kept,
        i: usize,
        f: &Found,
        failed: &mut Failed,
    ) {
        let (o, d) = &kept.domains[i];
        let before = self.error_total;
        if f.has(flag::ROID_TAKEN | flag::ROID_CLASH) {
            self.roid_used(kept, o, &d.roid);
        }
        if f.has(flag::NAME_CLASH) {
            let first = kept.domains.iter().find(|(_, x)| x.name == d.name);
            let msg = at("this domain is already listed", first.map(|(f, _)| f));
            self.error_v(&o.file, o.line, "name", msg, Some(d.name.to_string()));
        }
        if f.has(flag::OUTSIDE_ZONES) {
            self.error_v(
                &o.file,
                o.line,
                "name",
                "not a registration under the registry's TLDs: a domain is exactly one label below a listed TLD",
                Some(d.name.to_string()),
            );
        }
        if f.has(flag::NO_REGISTRAR) {
            self.error_v(
                &o.file,
                o.line,
                "registrar",
                "no registrar with this IANA ID",
                Some(d.registrar.to_string()),
            );
        }
        // Formatted only for a domain with a report: not once per domain of a large load.
        let record = format!("domain {} ({})", d.name.ascii(), d.roid.as_str());
        if f.has(flag::REGISTRAR_LEFT_OUT) || self.error_total != before {
            self.defects.left_out.domain += 1;
            self.name_errors(o, &record);
            if !f.has(flag::NAME_CLASH) {
                failed.domains.insert(d.name.ascii().to_string());
            }
            return;
        }
        if !f.has(flag::MISSING_REFERENCE) {
            return;
        }
        let mut value = (***d).clone();
        for (field, r) in [
            ("registrant", &mut value.registrant),
            ("tech", &mut value.tech),
        ] {
            let Some(roid) = r.as_ref() else { continue };
            let key = roid_key(roid);
            if snap.contacts.contains_key(&*key) {
                continue;
            }
            if !failed.roids.contains(&*key) {
                let shown = roid.as_str().to_string();
                self.error_v(
                    &o.file,
                    o.line,
                    field,
                    "no contact with this ROID; the domain is served without it",
                    Some(shown),
                );
            }
            *r = None;
        }
        let mut present = Vec::with_capacity(value.nameservers.len());
        for (n, ns) in value.nameservers.iter().enumerate() {
            if snap.hosts.contains_key(ns.ascii()) {
                present.push(ns.clone());
            } else if !failed.hosts.contains(ns.ascii()) {
                self.error_v(
                    &o.file,
                    o.line,
                    &format!("nameservers[{n}]"),
                    "no host object with this name; the domain is served without it",
                    Some(ns.to_string()),
                );
            }
        }
        if present.len() != value.nameservers.len() {
            value.nameservers = present.into();
        }
        if self.error_total != before {
            // A reference to nothing: the domain is kept without it, and counts toward
            // the threshold.
            self.defects.dropped_references += 1;
            self.name_errors(o, &record);
        }
        let remade = Stored::new(kept.revision, value);
        snap.domains
            .insert(remade.name.ascii_shared().clone(), Arc::clone(&remade));
        kept.domains[i].1 = remade;
    }
}

impl Tables<'_> {
    /// Step 1 for a run of domains.
    fn resolve(&self, domains: &mut [(Origin, Arc<Stored<Domain>>)], found: &mut [Found]) {
        let snap = self.snap;
        let part = |n: usize| u8::try_from(n).unwrap_or(NONE);
        // Nameserver lists (by address) whose every host is present. A list remembered is
        // held by the domains that share it and is not freed during this step (no record is
        // remade here), so its address is not reused meanwhile.
        let mut complete_lists: HashSet<usize> = HashSet::new();
        for ((_, d), f) in domains.iter_mut().zip(found.iter_mut()) {
            let key = roid_key(&d.roid);
            // A host's ROID is found when step 2 enters the domain's (the ROID index holds
            // only the hosts' yet): one probe of that large index per domain, not two.
            if snap.contacts.contains_key(&*key) {
                f.flags |= flag::ROID_TAKEN;
            }
            if registration_zone(&snap.tlds, &d.name).is_none() {
                f.flags |= flag::OUTSIDE_ZONES;
            }
            if self.failed.registrars.contains(&d.registrar) {
                f.flags |= flag::REGISTRAR_LEFT_OUT;
            } else if !snap.registrars.contains_key(&d.registrar) {
                f.flags |= flag::NO_REGISTRAR;
            }
            f.roid_part = part(snap.roids.part_of(&*key, self.parts));
            f.name_part = part(snap.domains.part_of(d.name.ascii(), self.parts));

            // The contact's own ROID text, to share with the domain (ten million domains name
            // ten million contacts: one copy of each ROID, not two).
            let mut shared: [Option<Roid>; 2] = [None, None];
            for (slot, r) in [&d.registrant, &d.tech].into_iter().enumerate() {
                let Some(r) = r else { continue };
                let key = roid_key(r);
                match snap.contacts.get(&*key) {
                    Some(e) => {
                        shared[slot] = Some(e.contact.roid.clone());
                        let p = part(snap.contacts.part_of(&*key, self.parts));
                        if slot == 0 {
                            f.registrant_part = p;
                        } else {
                            f.tech_part = p;
                        }
                    }
                    None => f.flags |= flag::MISSING_REFERENCE,
                }
            }
            // Most domains share their list with many others (the first pass shares them):
            // a list found complete once is not looked up again.
            let list = d.nameservers.as_ptr() as usize;
            if !d.nameservers.is_empty() && !complete_lists.contains(&list) {
                if d.nameservers
                    .iter()
                    .all(|ns| snap.hosts.contains_key(ns.ascii()))
                {
                    if complete_lists.len() < LISTS_CACHED {
                        complete_lists.insert(list);
                    }
                } else {
                    f.flags |= flag::MISSING_REFERENCE;
                }
            }
            // A record taken over from the previous generation already points at shared text.
            if let Some(stored) = Arc::get_mut(d) {
                let value = stored.value_mut();
                let [registrant, tech] = shared;
                if let Some(r) = registrant {
                    value.registrant = Some(r);
                }
                if let Some(t) = tech {
                    value.tech = Some(t);
                }
            }
        }
    }
}

/// Step 2: every domain that passed its own rules entered under its ROID and its name, each
/// index split over the cores by shard. A domain whose ROID a host holds is left out here (the
/// ROID index holds the hosts' already). Returns the domains that clashed with an earlier
/// domain (any domain, kept or not, whose key an earlier domain took).
fn index_keys(
    snap: &mut Snapshot,
    domains: &[(Origin, Arc<Stored<Domain>>)],
    found: &mut [Found],
    parts: usize,
) -> Vec<usize> {
    let taken = enter(
        &mut snap.roids,
        parts,
        found,
        |f| f.roid_part,
        |i| {
            let d = &domains[i].1;
            let owner = RoidOwner::Domain(d.name.ascii_shared().clone());
            (d.roid.shared_key(), owner)
        },
    );
    let mut clashes = Vec::new();
    for i in taken {
        match snap.roids.get(&*roid_key(&domains[i].1.roid)) {
            Some(RoidOwner::Host(_)) => found[i].flags |= flag::ROID_TAKEN,
            _ => clashes.push(i),
        }
    }
    clashes.extend(enter(
        &mut snap.domains,
        parts,
        found,
        |f| f.name_part,
        |i| {
            let d = &domains[i].1;
            (d.name.ascii_shared().clone(), Arc::clone(d))
        },
    ));
    clashes
}

/// Step 2 for one index: each domain kept so far entered under its key, the index split over
/// the cores by shard and each thread taking its domains in file order; a domain left out is
/// only looked for. Returns the domains whose key was there already, in no particular order.
fn enter<K, V>(
    map: &mut CowMap<K, V>,
    parts: usize,
    found: &[Found],
    part_of: impl Fn(&Found) -> u8 + Sync,
    entry: impl Fn(usize) -> (K, V) + Sync,
) -> Vec<usize>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync,
    V: Clone + Send + Sync,
{
    map.fill_in_parts(parts, |part| {
        let mut taken = Vec::new();
        for (i, f) in found.iter().enumerate() {
            if usize::from(part_of(f)) != part.index() {
                continue;
            }
            let (key, value) = entry(i);
            let present = if f.left_out() {
                part.contains_key(&key)
            } else {
                part.insert_new(key, value) == Inserted::Present
            };
            if present {
                taken.push(i);
            }
        }
        taken
    })
    .into_iter()
    .flatten()
    .collect()
}

/// Step 3: the domains sharing a ROID or a name with another one, decided again in file
/// order as on one thread (see the module's comment). `clashes` holds, in order, the domains
/// step 2 found taken.
fn decide_clashes(
    snap: &mut Snapshot,
    domains: &[(Origin, Arc<Stored<Domain>>)],
    found: &mut [Found],
    clashes: &[usize],
) {
    let roids: HashSet<Arc<str>> = clashes
        .iter()
        .map(|&i| domains[i].1.roid.shared_key())
        .collect();
    let names: HashSet<&str> = clashes.iter().map(|&i| domains[i].1.name.ascii()).collect();
    // Every domain with one of these keys: the group is decided alone (see below).
    let group: Vec<usize> = domains
        .iter()
        .enumerate()
        .filter(|(_, (_, d))| names.contains(d.name.ascii()) || roids.contains(&*roid_key(&d.roid)))
        .map(|(i, _)| i)
        .collect();
    // Take out what step 2 entered for them (only their own entries: a host's ROID stays).
    for &i in &group {
        let d = &domains[i].1;
        if found[i].left_out() {
            continue;
        }
        if snap
            .domains
            .get(d.name.ascii())
            .is_some_and(|e| Arc::ptr_eq(e, d))
        {
            snap.domains.remove(d.name.ascii());
        }
        let key = d.roid.shared_key();
        let owner = RoidOwner::Domain(d.name.ascii_shared().clone());
        if snap.roids.get(&*key) == Some(&owner) {
            snap.roids.remove(&*key);
        }
    }
    // Decided again in file order. A clash is with a domain of the group kept before this
    // one: a domain outside the group that shares a key with one inside comes after it, and
    // that one is left out by its own rules (else the later one would have clashed in step 2
    // and be in the group), so what that later domain entered does not count here. A host's
    // ROID was reported in step 1.
    let mut kept_roids: HashSet<Arc<str>> = HashSet::new();
    let mut kept_names: HashSet<Arc<str>> = HashSet::new();
    for &i in &group {
        let d = &domains[i].1;
        let key = d.roid.shared_key();
        let name = d.name.ascii_shared();
        let roid_clash = kept_roids.contains(&key);
        let name_clash = kept_names.contains(name);
        if roid_clash || name_clash {
            if roid_clash {
                found[i].flags |= flag::ROID_CLASH;
            }
            if name_clash {
                found[i].flags |= flag::NAME_CLASH;
            }
        } else if !found[i].left_out() {
            snap.roids
                .insert(key.clone(), RoidOwner::Domain(name.clone()));
            snap.domains.insert(name.clone(), Arc::clone(d));
            kept_roids.insert(key);
            kept_names.insert(name.clone());
        }
    }
}

/// Step 5: the contacts' roles (split by the contacts' shards), then the registrars'
/// sponsorships and the hosts' delegations (split by runs of domains, each counting into a
/// small table of its own: a few dozen registrars, and nameserver lists the first pass
/// shares between domains), for the domains kept.
fn count_references(
    snap: &mut Snapshot,
    domains: &[(Origin, Arc<Stored<Domain>>)],
    found: &[Found],
    parts: usize,
) {
    snap.contacts.fill_in_parts(parts, |part| {
        let me = part.index();
        for (i, f) in found.iter().enumerate() {
            if f.left_out() {
                continue;
            }
            let roles = [
                (
                    usize::from(f.registrant_part) == me,
                    &domains[i].1.registrant,
                ),
                (usize::from(f.tech_part) == me, &domains[i].1.tech),
            ];
            for (slot, (mine, roid)) in roles.into_iter().enumerate() {
                let Some(roid) = roid.as_ref().filter(|_| mine) else {
                    continue;
                };
                if let Some(e) = part.get_mut(&*roid_key(roid)) {
                    if slot == 0 {
                        e.registrant_of += 1;
                    } else {
                        e.technical_of += 1;
                    }
                }
            }
        }
    });

    type Counts = (
        HashMap<IanaId, u32>,
        HashMap<usize, (Arc<[DomainName]>, u32)>,
    );
    let runs: Vec<_> = domains
        .chunks(domains.len().div_ceil(parts).max(1))
        .zip(found.chunks(domains.len().div_ceil(parts).max(1)))
        .collect();
    let counted: Vec<Counts> = parallel::run_each(runs, |(domains, found)| {
        let mut sponsors: HashMap<IanaId, u32> = HashMap::new();
        let mut lists: HashMap<usize, (Arc<[DomainName]>, u32)> = HashMap::new();
        for ((_, d), f) in domains.iter().zip(found) {
            if f.left_out() {
                continue;
            }
            *sponsors.entry(d.registrar).or_default() += 1;
            if !d.nameservers.is_empty() {
                // By the list's address: the lists are shared, so this is a handful of entries.
                let at = d.nameservers.as_ptr() as usize;
                lists
                    .entry(at)
                    .or_insert_with(|| (Arc::clone(&d.nameservers), 0))
                    .1 += 1;
            }
        }
        (sponsors, lists)
    });
    for (sponsors, lists) in counted {
        for (id, n) in sponsors {
            if let Some(r) = snap.registrars.get_mut(&id) {
                r.sponsors += n;
            }
        }
        for (list, n) in lists.into_values() {
            for ns in list.iter() {
                if let Some(h) = snap.hosts.get_mut(ns.ascii()) {
                    h.delegations += n;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::{load_texts_with, LoadOptions};

    const HEAD: [&str; 4] = [
        r#"{"kind":"registry","tlds":["example"],"updated":"2026-01-01T00:00:00Z"}"#,
        r#"{"kind":"registrar","ianaId":1001,"name":"R","abuseEmail":"abuse@r.example","abusePhone":{"number":"+1.5555550100"},"address":{"city":"C","cc":"US"}}"#,
        r#"{"kind":"contact","roid":"C1-T","name":"N","city":"C","cc":"DE","email":"n@n.example","personType":"natural"}"#,
        r#"{"kind":"host","roid":"H1-T","name":"ns1.a.example","addresses":["192.0.2.1"],"statuses":["ok"],"registrar":1001}"#,
    ];

    /// A domain line; `extra` sets fields (JSON object members) over the usual ones.
    fn domain(roid: &str, name: &str, extra: &str) -> String {
        let mut v: serde_json::Value = serde_json::from_str(&format!(
            r#"{{"kind":"domain","roid":"{roid}","name":"{name}","statuses":["ok"],"created":"2020-01-01T00:00:00Z","expires":"2030-01-01T00:00:00Z","registrar":1001,"registrant":"C1-T","nameservers":["ns1.a.example"]}}"#
        ))
        .expect("json");
        let extra: serde_json::Value =
            serde_json::from_str(&format!("{{{}}}", extra.trim_start_matches(','))).expect("json");
        for (k, x) in extra.as_object().expect("object") {
            v[k] = x.clone();
        }
        v.to_string()
    }

    #[test]
    fn the_first_domain_kept_with_a_key_wins_along_chains_of_clashes() {
        let mut lines: Vec<String> = HEAD.iter().map(|s| s.to_string()).collect();
        lines.extend([
            domain("D1-T", "a.example", ""),                     // 5: kept
            domain("D1-T", "b.example", ""),                     // 6: ROID of line 5
            domain("D3-T", "b.example", ""),                     // 7: kept, line 6 was left out
            domain("D3-T", "c.example", ""),                     // 8: ROID of line 7
            domain("D5-T", "c.example", r#","tech":"C1-T""#),    // 9: kept
            domain("D6-T", "a.example", r#","registrar":9999"#), // 10: name of line 5, registrar
            domain("C1-T", "e.example", ""),                     // 11: a contact's ROID
            domain("H1-T", "f.example", ""),                     // 12: a host's ROID
            domain(
                "D7-T",
                "g.example",
                r#","registrant":"C9-T","nameservers":["ns9.example.net"]"#,
            ), // 13: kept without both
            domain("d8-t", "h.example", ""),                     // 14: kept
            domain("D8-T", "i.example", ""), // 15: ROID of line 14, in another case
            domain("D9-T", "x.other", ""),   // 16: outside the zones
            domain("D10-T", "x.other", ""),  // 17: outside, and no clash with 16 (left out)
        ]);
        let text = lines.join("\n");
        let snap = load_texts_with(
            &[("t.jsonl", &text)],
            LoadOptions {
                max_bad_percent: 100.0,
            },
        )
        .expect("served with its defects");

        let roid_of = |name: &str| snap.domains.get(name).map(|d| d.roid.as_str().to_string());
        assert_eq!(roid_of("a.example").as_deref(), Some("D1-T"));
        assert_eq!(roid_of("b.example").as_deref(), Some("D3-T"));
        assert_eq!(roid_of("c.example").as_deref(), Some("D5-T"));
        assert_eq!(roid_of("g.example").as_deref(), Some("D7-T"));
        assert_eq!(roid_of("h.example").as_deref(), Some("d8-t"));
        for gone in ["e.example", "f.example", "i.example", "x.other"] {
            assert_eq!(roid_of(gone), None, "{gone}");
        }
        assert_eq!(snap.domains.len(), 5);
        // The ROID index holds the host and the five domains kept, under their own names.
        assert_eq!(snap.roids.len(), 6);
        assert_eq!(
            snap.roids.get("D3-T"),
            Some(&super::RoidOwner::Domain("b.example".into()))
        );
        let g = snap.domains.get("g.example").expect("kept");
        assert!(g.registrant.is_none() && g.nameservers.is_empty());

        // Counted for the domains kept only.
        let contact = snap.contacts.get("C1-T").expect("contact");
        assert_eq!((contact.registrant_of, contact.technical_of), (4, 1));
        assert_eq!(
            snap.hosts.get("ns1.a.example").map(|h| h.delegations),
            Some(4)
        );
        assert_eq!(snap.registrars.get(&1001).map(|r| r.sponsors), Some(6));

        let defects = snap.defects();
        assert_eq!(defects.left_out.domain, 8);
        assert_eq!(defects.dropped_references, 1);
        let reports: Vec<(usize, &str, &str)> = defects
            .reports
            .iter()
            .map(|e| (e.line, e.field.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(
            reports,
            vec![
                (6, "roid", "this ROID is already used at t.jsonl:5"),
                (8, "roid", "this ROID is already used at t.jsonl:7"),
                (10, "name", "this domain is already listed at t.jsonl:5"),
                (10, "registrar", "no registrar with this IANA ID"),
                (11, "roid", "this ROID is already used at t.jsonl:3"),
                (12, "roid", "this ROID is already used at t.jsonl:4"),
                (13, "registrant", "no contact with this ROID; the domain is served without it"),
                (13, "nameservers[0]", "no host object with this name; the domain is served without it"),
                (15, "roid", "this ROID is already used at t.jsonl:14"),
                (16, "name", "not a registration under the registry's TLDs: a domain is exactly one label below a listed TLD"),
                (17, "name", "not a registration under the registry's TLDs: a domain is exactly one label below a listed TLD"),
            ]
        );
        let keyed = |line: usize| {
            defects
                .reports
                .iter()
                .find(|e| e.line == line)
                .and_then(|e| e.key.clone())
        };
        assert_eq!(keyed(6).as_deref(), Some("domain b.example (D1-T)"));
        assert_eq!(keyed(13).as_deref(), Some("domain g.example (D7-T)"));
    }
}
