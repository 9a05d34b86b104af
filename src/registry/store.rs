//! The in-memory store: an immutable, indexed snapshot of the registry.
//!
//! A [`Snapshot`] is never mutated once built, so readers need no locks while they use it.
//! Its indexes are sharded copy-on-write maps ([`super::cowmap`]) holding each record behind an
//! `Arc`: cloning a snapshot copies shard pointers only, and a delta ([`super::load::delta`])
//! builds the next snapshot by changing a clone, so the two share every record and every shard
//! the delta did not touch. A full reload builds new indexes beside the old ones, but takes over
//! the old generation's `Arc` of every record that did not change. Either way one `Arc` swap
//! publishes it ([`crate::state::State`]), so no reader ever sees half of one
//! load and half of another.
//!
//! Every record carries the data revision it last changed in ([`Stored::since`]): the answer
//! cache keeps an answer only while none of the records it was rendered from changed.

use std::net::IpAddr;
use std::sync::Arc;

use super::model::*;
use super::name::DomainName;

/// Counts data changes within one full load: 0 for the loaded data, one more per applied delta.
pub type Revision = u64;

/// A record with the revision it last changed in.
#[derive(Debug)]
pub struct Stored<T> {
    since: Revision,
    value: T,
}

impl<T> Stored<T> {
    pub(crate) fn new(since: Revision, value: T) -> Arc<Self> {
        Arc::new(Self { since, value })
    }

    /// The record, to change before it is published (the loader points references at shared
    /// text through it).
    pub(crate) fn value_mut(&mut self) -> &mut T {
        &mut self.value
    }

    /// The revision this record last changed in.
    pub fn since(&self) -> Revision {
        self.since
    }
}

impl<T> std::ops::Deref for Stored<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// The roles in which a contact is referenced by at least one domain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContactRoles {
    /// Registrant of at least one domain.
    pub registrant: bool,
    /// Technical contact of at least one domain.
    pub technical: bool,
}

/// A contact with how many domains reference it in each role: the roles decide what its own
/// lookup may show, and a contact still referenced cannot be deleted.
#[derive(Clone)]
pub(crate) struct ContactEntry {
    pub(crate) contact: Arc<Stored<Contact>>,
    pub(crate) registrant_of: u32,
    pub(crate) technical_of: u32,
    /// The revision the roles last changed in: they decide the contact's own answer.
    pub(crate) roles_since: Revision,
}

impl ContactEntry {
    fn roles(&self) -> ContactRoles {
        ContactRoles {
            registrant: self.registrant_of > 0,
            technical: self.technical_of > 0,
        }
    }
}

/// A host with how many domains delegate to it.
#[derive(Clone)]
pub(crate) struct HostEntry {
    pub(crate) host: Arc<Stored<Host>>,
    pub(crate) delegations: u32,
}

/// A registrar with how many domains and hosts it sponsors.
#[derive(Clone)]
pub(crate) struct RegistrarEntry {
    pub(crate) registrar: Arc<Stored<Registrar>>,
    pub(crate) sponsors: u32,
}

/// What a domain or host ROID belongs to (contacts are indexed by ROID already).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RoidOwner {
    Domain(Arc<str>),
    Host(Arc<str>),
}

/// A record an answer was rendered from, for the answer cache's validity check.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Dep {
    /// A domain, by A-label name.
    Domain(Arc<str>),
    /// A host, by A-label name.
    Host(Arc<str>),
    /// A contact, by ROID key.
    Contact(Arc<str>),
    /// A registrar.
    Registrar(IanaId),
}

pub(crate) type Map<K, V> = super::cowmap::CowMap<K, V>;

/// One immutable generation of registration data with its lookup indexes.
///
/// Its `Debug` prints counts only: the snapshot holds personal data.
#[derive(Clone)]
pub struct Snapshot {
    pub(crate) tlds: Arc<[String]>,
    pub(crate) updated: Timestamp,
    pub(crate) revision: Revision,
    pub(crate) domains: Map<Arc<str>, Arc<Stored<Domain>>>,
    pub(crate) hosts: Map<Arc<str>, HostEntry>,
    /// Keyed by [`Roid::key`].
    pub(crate) contacts: Map<Arc<str>, ContactEntry>,
    pub(crate) registrars: Map<IanaId, RegistrarEntry>,
    pub(crate) registrars_by_name: Map<String, IanaId>,
    pub(crate) hosts_by_ip: Map<IpAddr, Arc<[Arc<str>]>>,
    /// Domain and host ROIDs ([`Roid::key`]), so a delta cannot reuse one.
    pub(crate) roids: Map<Arc<str>, RoidOwner>,
    /// What the load that made this snapshot made safe and left out (a delta keeps its
    /// generation's).
    pub(crate) defects: Arc<super::load::Defects>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (domains, hosts, contacts, registrars) = self.counts();
        f.debug_struct("Snapshot")
            .field("domains", &domains)
            .field("hosts", &hosts)
            .field("contacts", &contacts)
            .field("registrars", &registrars)
            .field("updated", &self.updated().text().as_str())
            .field("revision", &self.revision)
            .finish_non_exhaustive()
    }
}

impl Snapshot {
    /// An empty snapshot whose indexes are sized for the given record counts, for the loader
    /// to fill (it checks references against these indexes as it fills them).
    pub(crate) fn with_capacity(
        tlds: Vec<String>,
        updated: Timestamp,
        revision: Revision,
        (registrars, contacts, hosts, domains): (usize, usize, usize, usize),
    ) -> Self {
        // The three large indexes are allocated on two cores: at ten million domains each is
        // tens of thousands of tables whose fresh pages the system must clear.
        let ((domain_map, roids), contact_map) = super::parallel::join(
            || {
                (
                    Map::with_expected(domains),
                    Map::with_expected(domains + hosts),
                )
            },
            || Map::with_expected(contacts),
        );
        Self {
            tlds: tlds.into(),
            updated,
            revision,
            domains: domain_map,
            hosts: Map::with_expected(hosts),
            contacts: contact_map,
            registrars: Map::with_expected(registrars),
            registrars_by_name: Map::with_expected(registrars),
            hosts_by_ip: Map::with_expected(hosts),
            roids,
            defects: Arc::default(),
        }
    }

    /// What the load of this data made safe and left out.
    #[must_use]
    pub fn defects(&self) -> &super::load::Defects {
        &self.defects
    }

    /// Point a domain's references at the text the indexes already hold: a million domains
    /// delegate to a few thousand nameservers and name contacts already stored, so each name
    /// and ROID is kept once rather than once per domain.
    pub(crate) fn share_references(&self, d: &mut Domain) {
        d.nameservers = d
            .nameservers
            .iter()
            .map(|ns| match self.hosts.get(ns.ascii()) {
                Some(h) => h.host.name.clone(),
                None => ns.clone(),
            })
            .collect();
        for r in [&mut d.registrant, &mut d.tech].into_iter().flatten() {
            if let Some(c) = self.contacts.get(&r.shared_key()) {
                *r = c.contact.roid.clone();
            }
        }
    }

    /// The data revision: 0 as loaded, one more per applied delta.
    pub fn revision(&self) -> Revision {
        self.revision
    }

    /// The revision a record last changed in; `None` if it no longer exists.
    pub fn since(&self, dep: &Dep) -> Option<Revision> {
        match dep {
            Dep::Domain(n) => self.domains.get(n).map(|d| d.since),
            Dep::Host(n) => self.hosts.get(n).map(|h| h.host.since),
            Dep::Contact(k) => self
                .contacts
                .get(k)
                .map(|c| c.contact.since.max(c.roles_since)),
            Dep::Registrar(id) => self.registrars.get(id).map(|r| r.registrar.since),
        }
    }

    /// The TLDs this registry serves.
    pub fn tlds(&self) -> &[String] {
        &self.tlds
    }

    /// When the data was last updated (the export time), for `last update of RDAP database`.
    pub fn updated(&self) -> &Timestamp {
        &self.updated
    }

    /// Whether a name lies under one of the registry's zones (a TLD, or a second-level registry
    /// zone such as `co.example`).
    pub fn is_authoritative_for(&self, name: &DomainName) -> bool {
        self.tlds.iter().any(|t| name.is_within(t))
    }

    /// Domain by name.
    pub fn domain(&self, name: &DomainName) -> Option<&Domain> {
        self.domains.get(name.ascii()).map(|d| &d.value)
    }

    /// Host (nameserver) by name.
    pub fn host(&self, name: &DomainName) -> Option<&Host> {
        self.hosts.get(name.ascii()).map(|h| &h.host.value)
    }

    /// Hosts with a glue address, sorted by name.
    pub fn hosts_by_ip(&self, ip: IpAddr) -> Vec<&Host> {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let mut found: Vec<&Host> = self
            .hosts_by_ip
            .get(&ip)
            .into_iter()
            .flat_map(|names| names.iter())
            .filter_map(|n| self.hosts.get(n))
            .map(|h| &h.host.value)
            .collect();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        found
    }

    /// Contact by ROID (ASCII case-insensitive), with the roles it is referenced in.
    pub fn contact(&self, roid: &str) -> Option<(&Contact, ContactRoles)> {
        self.contacts
            .get(Roid::key(roid).as_str())
            .map(|e| (&e.contact.value, e.roles()))
    }

    /// Registrar by IANA ID.
    pub fn registrar(&self, id: IanaId) -> Option<&Registrar> {
        self.registrars.get(&id).map(|r| &r.registrar.value)
    }

    /// Registrar by name, case-insensitive (WHOIS `registrar <name>`).
    pub fn registrar_by_name(&self, name: &str) -> Option<&Registrar> {
        self.registrars_by_name
            .get(&super::name::registrar_name_key(name))
            .and_then(|id| self.registrar(*id))
    }

    /// Visit every domain with its name (the index key), in no particular order (authority
    /// searches; no allocation, and the record itself is not read unless `visit` reads it).
    pub fn for_each_domain<'s>(&'s self, visit: &mut dyn FnMut(&'s str, &'s Domain)) {
        for (name, d) in self.domains.iter() {
            visit(name, &d.value);
        }
    }

    /// Visit every host with its name, in no particular order (authority searches).
    pub fn for_each_host<'s>(&'s self, visit: &mut dyn FnMut(&'s str, &'s Host)) {
        for (name, h) in self.hosts.iter() {
            visit(name, &h.host.value);
        }
    }

    /// Visit every contact with its roles, in no particular order (authority searches).
    pub fn for_each_contact<'s>(&'s self, visit: &mut dyn FnMut(&'s Contact, ContactRoles)) {
        for e in self.contacts.values() {
            visit(&e.contact.value, e.roles());
        }
    }

    /// Every domain, sorted by name (tests and tools; not a public query).
    pub fn domains(&self) -> Vec<&Domain> {
        let mut v: Vec<&Domain> = self.domains.values().map(|d| &d.value).collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// The domains that name a contact (by ROID, ASCII case-insensitive) as registrant or
    /// technical contact, sorted by name, each with the roles it holds there. A scan of every
    /// domain: for tools (the subject report), never for a query.
    pub fn domains_of_contact(&self, roid: &str) -> Vec<(&Domain, ContactRoles)> {
        let is = |r: &Option<Roid>| {
            r.as_ref()
                .is_some_and(|r| r.as_str().eq_ignore_ascii_case(roid))
        };
        let mut v: Vec<(&Domain, ContactRoles)> = self
            .domains
            .values()
            .map(|d| &d.value)
            .filter_map(|d| {
                let roles = ContactRoles {
                    registrant: is(&d.registrant),
                    technical: is(&d.tech),
                };
                (roles.registrant || roles.technical).then_some((d, roles))
            })
            .collect();
        v.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        v
    }

    /// Every host, sorted by name.
    pub fn hosts(&self) -> Vec<&Host> {
        let mut v: Vec<&Host> = self.hosts.values().map(|h| &h.host.value).collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Every contact, sorted by ROID.
    pub fn contacts(&self) -> Vec<&Contact> {
        let mut v: Vec<&Contact> = self.contacts.values().map(|e| &e.contact.value).collect();
        v.sort_by(|a, b| a.roid.cmp(&b.roid));
        v
    }

    /// Every registrar, sorted by IANA ID.
    pub fn registrars(&self) -> Vec<&Registrar> {
        let mut v: Vec<&Registrar> = self
            .registrars
            .values()
            .map(|r| &r.registrar.value)
            .collect();
        v.sort_by_key(|r| r.iana_id);
        v
    }

    /// Object counts, for the load log line.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        (
            self.domains.len(),
            self.hosts.len(),
            self.contacts.len(),
            self.registrars.len(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A million of each are held: a field added in passing must be a decision, not an accident.
    #[test]
    fn records_stay_small() {
        assert!(
            std::mem::size_of::<Domain>() <= 176,
            "{}",
            std::mem::size_of::<Domain>()
        );
        assert!(
            std::mem::size_of::<Contact>() <= 88,
            "{}",
            std::mem::size_of::<Contact>()
        );
        assert!(std::mem::size_of::<ContactEntry>() <= 24);
        assert!(std::mem::size_of::<DomainName>() <= 32);
    }
}
