//! The second pass: uniqueness and references between records (registrar, contacts, hosts),
//! zones and glue, checked while the snapshot's own indexes are filled: the indexes are the
//! lookup tables of the checks, so a million-domain load builds one set of hash maps, not two.
//! A reference to a record refused in the first pass is not reported again.

use std::borrow::Cow;
use std::sync::Arc;

use foldhash::{HashMap, HashMapExt};

use super::super::cowmap::Inserted;
use super::super::model::*;
use super::super::name::{registrar_name_key, DomainName};
use super::super::parallel;
use super::super::store::{
    ContactEntry, HostEntry, RegistrarEntry, Revision, RoidOwner, Snapshot, Stored,
};
use super::{LoadErrors, Loader, Origin};

mod domains;

/// The records of a full load, each already behind the `Arc` the snapshot will hold it by:
/// the previous generation's own `Arc` where the record did not change. A reload thus shares
/// every unchanged record with the generation it replaces, and the parsed copy of such a
/// record is dropped as soon as its chunk is merged, so a reload holds the old generation plus
/// what changed, not two full copies of the data.
#[derive(Default)]
pub(super) struct Kept {
    /// Shared by every worker's set: one `Arc`, not a clone of the indexes per chunk.
    previous: Option<Arc<Snapshot>>,
    revision: Revision,
    registrars: Vec<(Origin, Arc<Stored<Registrar>>)>,
    contacts: Vec<(Origin, Arc<Stored<Contact>>)>,
    hosts: Vec<(Origin, Arc<Stored<Host>>)>,
    domains: Vec<(Origin, Arc<Stored<Domain>>)>,
    /// Records taken over from the previous generation.
    shared: usize,
}

impl Kept {
    /// Records of a load that replaces `previous`, if any. A reload continues the previous
    /// revision count, so the records it takes over (which may carry the revision of a delta)
    /// are never newer than the snapshot that holds them.
    pub(super) fn over(previous: Option<&Snapshot>) -> Self {
        Self {
            revision: previous.map_or(0, |p| p.revision() + 1),
            previous: previous.cloned().map(Arc::new),
            ..Self::default()
        }
    }

    /// Make room for the records of about `bytes` of input at once: growing these vectors
    /// one doubling at a time copied them (and faulted in fresh pages) a dozen times over at
    /// ten million domains. Reserved address space that stays unused is never touched, so it
    /// costs no memory.
    pub(super) fn reserve_for(&mut self, bytes: u64) {
        // The shortest records of a real export are about 200 bytes a line.
        let records = usize::try_from(bytes / 200).unwrap_or(usize::MAX / 64);
        self.contacts.reserve(records);
        self.domains.reserve(records);
    }

    /// An empty set for a worker, comparing against the same previous generation.
    pub(super) fn for_worker(&self) -> Self {
        Self {
            previous: self.previous.clone(),
            revision: self.revision,
            ..Self::default()
        }
    }

    /// Append a worker's records (the next chunk in order).
    pub(super) fn append(&mut self, other: &mut Self) {
        self.registrars.append(&mut other.registrars);
        self.contacts.append(&mut other.contacts);
        self.hosts.append(&mut other.hosts);
        self.domains.append(&mut other.domains);
        self.shared += std::mem::take(&mut other.shared);
    }

    /// Take a loader's parsed records, in order.
    pub(super) fn take(&mut self, part: &mut Loader) {
        let rev = self.revision;
        let prev = self.previous.as_ref();
        let shared = &mut self.shared;
        for (o, r) in part.registrars.drain(..) {
            let old = prev.and_then(|p| p.registrars.get(&r.iana_id));
            let r = keep(old.map(|e| &e.registrar), r, rev, shared);
            self.registrars.push((o, r));
        }
        for (o, c) in part.contacts.drain(..) {
            let old = prev.and_then(|p| p.contacts.get(&*roid_key(&c.roid)));
            let c = keep(old.map(|e| &e.contact), c, rev, shared);
            self.contacts.push((o, c));
        }
        for (o, h) in part.hosts.drain(..) {
            let old = prev.and_then(|p| p.hosts.get(h.name.ascii()));
            let h = keep(old.map(|e| &e.host), h, rev, shared);
            self.hosts.push((o, h));
        }
        for (o, d) in part.domains.drain(..) {
            let old = prev.and_then(|p| p.domains.get(d.name.ascii()));
            let d = keep(old, d, rev, shared);
            self.domains.push((o, d));
        }
    }
}

/// The previous generation's record if it equals the new one, else the new one.
fn keep<T: PartialEq>(
    old: Option<&Arc<Stored<T>>>,
    new: T,
    revision: Revision,
    shared: &mut usize,
) -> Arc<Stored<T>> {
    match old {
        Some(old) if ***old == new => {
            *shared += 1;
            Arc::clone(old)
        }
        _ => Stored::new(revision, new),
    }
}

/// A ROID's lookup key ([`Roid::key`]) without an allocation in the usual case, a ROID
/// already in upper case.
fn roid_key(roid: &Roid) -> Cow<'_, str> {
    let s = roid.as_str();
    if s.bytes().any(|b| b.is_ascii_lowercase()) {
        Cow::Owned(Roid::key(s))
    } else {
        Cow::Borrowed(s)
    }
}

/// Where a ROID was first used: contacts, hosts and domains are checked in that order.
fn roid_origin<'a>(kept: &'a Kept, key: &str) -> Option<&'a Origin> {
    let same = |r: &Roid| r.as_str().eq_ignore_ascii_case(key);
    kept.contacts
        .iter()
        .find(|(_, c)| same(&c.roid))
        .map(|(o, _)| o)
        .or_else(|| {
            kept.hosts
                .iter()
                .find(|(_, h)| same(&h.roid))
                .map(|(o, _)| o)
        })
        .or_else(|| {
            kept.domains
                .iter()
                .find(|(_, d)| same(&d.roid))
                .map(|(o, _)| o)
        })
}

/// "… at FILE:LINE" naming the first occurrence, or without a place if it cannot be found (it
/// always can).
fn at(message: &str, first: Option<&Origin>) -> String {
    match first {
        Some(o) => format!("{message} at {}:{}", o.file, o.line),
        None => message.to_string(),
    }
}

impl Loader {
    /// Second pass: uniqueness and references, filling the snapshot's indexes as it goes. A
    /// reference to a record that was refused in the first pass is not reported: that
    /// record's own error is the cause.
    pub(super) fn finish(mut self) -> Result<Snapshot, LoadErrors> {
        let Some((_, tlds, updated)) = self.registry.take() else {
            if self.errors.is_empty() {
                self.error("(data set)", 0, "", "no registry record: add one line {\"kind\":\"registry\",\"tlds\":[...],\"updated\":...}".into());
            }
            return Err(LoadErrors(self.errors));
        };
        let started = std::time::Instant::now();
        let mut failed = std::mem::take(&mut self.failed);
        let mut kept = match self.kept.take() {
            Some(k) => *k,
            None => {
                // A loader that kept its records in its own vectors (a test's): take them now.
                let mut k = Kept::over(None);
                k.take(&mut self);
                k
            }
        };
        let mut snap = Snapshot::with_capacity(
            tlds,
            updated,
            kept.revision,
            (
                kept.registrars.len(),
                kept.contacts.len(),
                kept.hosts.len(),
                kept.domains.len(),
            ),
        );
        let rev = kept.revision;

        let allocated = started.elapsed();
        self.index_registrars(&mut snap, &kept);
        self.index_contacts(&mut snap, &kept, rev);
        let contacts_done = started.elapsed();
        // Hosts before domains, so a domain's nameservers are checked (and counted) as it is
        // indexed; the host rules that need the domains follow them.
        self.index_hosts(&mut snap, &kept, &mut failed);
        let hosts_done = started.elapsed();
        self.index_domains(&mut snap, &mut kept, &mut failed);
        let domains_done = started.elapsed();
        self.check_internal_hosts(&mut snap, &mut kept, &failed);
        let mut defects = std::mem::take(&mut self.defects);
        if self.fatal > 0 || !defects.within(self.options) {
            if self.fatal == 0 && self.options.max_bad_percent > 0.0 {
                let summary = format!(
                    "{}, more than [data] max_bad_percent = {}",
                    defects.summary(),
                    self.options.max_bad_percent
                );
                self.errors.push(super::LoadError {
                    file: "(data set)".into(),
                    line: 0,
                    field: String::new(),
                    message: summary,
                    value: None,
                    key: None,
                });
            }
            return Err(LoadErrors(self.errors));
        }
        // Served: the reports, in file order, for the log and `rddsd check`.
        let mut reports = std::mem::take(&mut self.errors);
        reports.append(&mut self.warnings);
        reports.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        let past = self.error_total.saturating_sub(reports.len());
        for e in reports {
            defects.report(e);
        }
        defects.more_reports += past as u64;
        snap.defects = Arc::new(defects);
        index_addresses(&mut snap, &kept);
        // Where the time of a large load's second pass goes, step by step.
        tracing::debug!(
            ms = started.elapsed().as_millis(),
            allocate_ms = allocated.as_millis(),
            contacts_ms = (contacts_done - allocated).as_millis(),
            hosts_ms = (hosts_done - contacts_done).as_millis(),
            domains_ms = (domains_done - hosts_done).as_millis(),
            shared_with_previous = kept.shared,
            "references checked and indexed"
        );
        Ok(snap)
    }

    /// Registrars by IANA ID and by name; a second use of an IANA ID is an error.
    fn index_registrars(&mut self, snap: &mut Snapshot, kept: &Kept) {
        for i in 0..kept.registrars.len() {
            let (o, r) = &kept.registrars[i];
            if snap.registrars.contains_key(&r.iana_id) {
                let first = kept.registrars.iter().find(|(_, x)| x.iana_id == r.iana_id);
                self.error_v(
                    &o.file,
                    o.line,
                    "ianaId",
                    at("this IANA ID is already used", first.map(|(o, _)| o)),
                    Some(r.iana_id.to_string()),
                );
                continue;
            }
            snap.registrars_by_name
                .insert(registrar_name_key(&r.name), r.iana_id);
            snap.registrars.insert(
                r.iana_id,
                RegistrarEntry {
                    registrar: Arc::clone(r),
                    sponsors: 0,
                },
            );
        }
    }

    /// Contacts by ROID; a second use of a ROID is an error. Split over the cores by the
    /// index's shards: each thread enters its own contacts in file order, so the first use of a
    /// ROID is the one entered, as on one thread.
    fn index_contacts(&mut self, snap: &mut Snapshot, kept: &Kept, rev: Revision) {
        let parts = parallel::parts();
        let mut owner = vec![0u8; kept.contacts.len()];
        let contacts = &snap.contacts;
        let runs: Vec<_> = parallel::chunks_mut(&mut owner, parts)
            .into_iter()
            .map(|(offset, owner)| (&kept.contacts[offset..offset + owner.len()], owner))
            .collect();
        parallel::run_each(runs, |(records, owner)| {
            for ((_, c), part) in records.iter().zip(owner) {
                let p = contacts.part_of(&*roid_key(&c.roid), parts);
                *part = u8::try_from(p).unwrap_or(u8::MAX);
            }
        });
        let mut taken: Vec<usize> = snap
            .contacts
            .fill_in_parts(parts, |part| {
                let mut taken = Vec::new();
                for (i, (_, c)) in kept.contacts.iter().enumerate() {
                    if usize::from(owner[i]) != part.index() {
                        continue;
                    }
                    let entry = ContactEntry {
                        contact: Arc::clone(c),
                        registrant_of: 0,
                        technical_of: 0,
                        roles_since: rev,
                    };
                    if part.insert_new(c.roid.shared_key(), entry) != Inserted::New {
                        taken.push(i);
                    }
                }
                taken
            })
            .into_iter()
            .flatten()
            .collect();
        taken.sort_unstable();
        for i in taken {
            let (o, c) = &kept.contacts[i];
            self.roid_used(kept, o, &c.roid);
        }
    }

    /// Hosts by name, their ROIDs and sponsors; the rules that need only the host. A host that
    /// breaks one is left out (and reported), as is a host whose registrar was left out.
    fn index_hosts(&mut self, snap: &mut Snapshot, kept: &Kept, failed: &mut super::Failed) {
        for i in 0..kept.hosts.len() {
            let (o, h) = &kept.hosts[i];
            let before = self.error_total;
            let key = h.roid.shared_key();
            if snap.contacts.contains_key(&*key) || snap.roids.contains_key(&*key) {
                self.roid_used(kept, o, &h.roid);
            }
            let duplicate = snap.hosts.contains_key(h.name.ascii());
            if duplicate {
                let first = kept.hosts.iter().find(|(_, x)| x.name == h.name);
                let msg = at("this host is already listed", first.map(|(f, _)| f));
                self.error_v(&o.file, o.line, "name", msg, Some(h.name.to_string()));
            }
            let cascade = failed.registrars.contains(&h.registrar);
            if !cascade && !snap.registrars.contains_key(&h.registrar) {
                self.error_v(
                    &o.file,
                    o.line,
                    "registrar",
                    "no registrar with this IANA ID",
                    Some(h.registrar.to_string()),
                );
            }
            let in_zone = snap.tlds.iter().any(|t| h.name.is_within(t));
            if !in_zone && !h.addresses.is_empty() {
                self.error_v(
                    &o.file,
                    o.line,
                    "addresses",
                    "the host is outside the registry's TLDs and cannot carry glue addresses (RFC 5732 §1.1)",
                    Some(h.name.to_string()),
                );
            }
            if cascade || self.error_total != before {
                self.leave_out_host(o, h);
                if !duplicate {
                    failed.hosts.insert(h.name.ascii().to_string());
                }
                continue;
            }
            if let Some(r) = snap.registrars.get_mut(&h.registrar) {
                r.sponsors += 1;
            }
            let name = h.name.ascii_shared().clone();
            snap.roids.insert(key, RoidOwner::Host(name));
            snap.hosts.insert(
                h.name.ascii_shared().clone(),
                HostEntry {
                    host: Arc::clone(h),
                    delegations: 0,
                },
            );
        }
    }

    /// "This ROID is already used", naming where it was first used (contacts, hosts and
    /// domains share one ROID space).
    fn roid_used(&mut self, kept: &Kept, o: &Origin, roid: &Roid) {
        self.error_v(
            &o.file,
            o.line,
            "roid",
            at(
                "this ROID is already used",
                roid_origin(kept, &roid_key(roid)),
            ),
            Some(roid.as_str().to_string()),
        );
    }

    /// Count a host left out and name it in the errors of its line.
    fn leave_out_host(&mut self, o: &Origin, h: &Host) {
        self.defects.left_out.host += 1;
        self.name_errors(o, &format!("host {} ({})", h.name.ascii(), h.roid.as_str()));
    }

    /// Name the record in the kept errors of its line.
    fn name_errors(&mut self, o: &Origin, key: &str) {
        for e in self
            .errors
            .iter_mut()
            .rev()
            .take_while(|e| e.line == o.line && *e.file == *o.file)
        {
            e.key = Some(key.to_string());
        }
    }

    /// The host rules that need the domains: an internal host's superordinate domain exists,
    /// and a delegated internal host has glue. A host that breaks one is left out, as is one
    /// whose superordinate domain was left out, and the domains delegating to it are served
    /// without it.
    fn check_internal_hosts(
        &mut self,
        snap: &mut Snapshot,
        kept: &mut Kept,
        failed: &super::Failed,
    ) {
        let rev = kept.revision;
        let mut gone: Vec<Arc<str>> = Vec::new();
        for (o, h) in &kept.hosts {
            if !snap.tlds.iter().any(|t| h.name.is_within(t)) {
                continue;
            }
            let Some(entry) = snap.hosts.get(h.name.ascii()) else {
                continue;
            };
            if !Arc::ptr_eq(&entry.host, h) {
                continue;
            }
            let before = self.error_total;
            let mut cascade = false;
            // RFC 5732 §1.1: an internal host is subordinate to a domain of this registry,
            // which must exist.
            match superordinate(&snap.tlds, &h.name) {
                Some(parent) if failed.domains.contains(parent.ascii()) => cascade = true,
                Some(parent) if !snap.domains.contains_key(parent.ascii()) => {
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
            if h.addresses.is_empty() && entry.delegations > 0 {
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
            if cascade || self.error_total != before {
                self.leave_out_host(o, h);
                gone.push(h.name.ascii_shared().clone());
            }
        }
        if gone.is_empty() {
            return;
        }
        for name in &gone {
            if let Some(entry) = snap.hosts.remove(name) {
                snap.roids.remove(&*entry.host.roid.shared_key());
                if let Some(r) = snap.registrars.get_mut(&entry.host.registrar) {
                    r.sponsors = r.sponsors.saturating_sub(1);
                }
            }
        }
        // The domains delegating to a host left out are served without it.
        for (_, d) in &mut kept.domains {
            if !d
                .nameservers
                .iter()
                .any(|ns| gone.iter().any(|g| **g == *ns.ascii()))
            {
                continue;
            }
            let Some(current) = snap.domains.get(d.name.ascii()) else {
                continue;
            };
            if !Arc::ptr_eq(current, d) {
                continue;
            }
            let mut value = (***d).clone();
            value.nameservers = value
                .nameservers
                .iter()
                .filter(|ns| !gone.iter().any(|g| **g == *ns.ascii()))
                .cloned()
                .collect();
            *d = Stored::new(rev, value);
            snap.domains
                .insert(d.name.ascii_shared().clone(), Arc::clone(d));
        }
    }
}

/// Hosts by address, once every check passed.
fn index_addresses(snap: &mut Snapshot, kept: &Kept) {
    let mut by_ip: HashMap<std::net::IpAddr, Vec<Arc<str>>> = HashMap::new();
    for (_, h) in &kept.hosts {
        for ip in &h.addresses {
            by_ip
                .entry(*ip)
                .or_default()
                .push(h.name.ascii_shared().clone());
        }
    }
    for (ip, names) in by_ip {
        snap.hosts_by_ip.insert(ip, names.into());
    }
}

/// The registry zone a domain is registered in, if the domain is exactly one label below a
/// listed zone (`a.example` under `example`; `a.co.example` only if `co.example` is listed).
pub(super) fn registration_zone<'a>(zones: &'a [String], name: &DomainName) -> Option<&'a str> {
    let (_, rest) = name.ascii().split_once('.')?;
    zones
        .iter()
        .find(|z| z.as_str() == rest)
        .map(String::as_str)
}

/// The registered domain an in-zone host is subordinate to: the name one label below the most
/// specific registry zone that strictly contains the host (`ns1.foo.example` -> `foo.example`).
pub(super) fn superordinate(zones: &[String], host: &DomainName) -> Option<DomainName> {
    let ascii = host.ascii();
    let zone = zones
        .iter()
        .filter(|z| host.is_within(z) && ascii.len() > z.len())
        .max_by_key(|z| z.len())?;
    let below = &ascii[..ascii.len() - zone.len() - 1];
    let label = below.rsplit('.').next()?;
    DomainName::parse(&format!("{label}.{zone}")).ok()
}
