//! The in-memory store: an immutable, indexed snapshot of the registry, swapped whole.
//!
//! A [`Snapshot`] is built once by the loader and never mutated, so readers need no locks while
//! they use it. Reloading builds a complete new snapshot beside the old one and swaps one
//! `Arc` ([`crate::state::State`]), so no reader ever sees half of one load and half of another
//! (the failure mode of swapping index maps one at a time).

use std::collections::HashMap;
use std::net::IpAddr;

use super::model::*;
use super::name::DomainName;

/// The roles in which a contact is referenced by at least one domain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContactRoles {
    /// Registrant of at least one domain.
    pub registrant: bool,
    /// Technical contact of at least one domain.
    pub technical: bool,
}

/// One immutable generation of registration data with its lookup indexes.
///
/// Its `Debug` prints counts only: the snapshot holds personal data.
pub struct Snapshot {
    tlds: Vec<String>,
    updated: Timestamp,
    domains: HashMap<Box<str>, Domain>,
    hosts: HashMap<Box<str>, Host>,
    contacts: HashMap<String, (Contact, ContactRoles)>,
    registrars: HashMap<IanaId, Registrar>,
    registrars_by_name: HashMap<String, IanaId>,
    hosts_by_ip: HashMap<IpAddr, Vec<Box<str>>>,
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
            .finish_non_exhaustive()
    }
}

impl Snapshot {
    /// Index validated records. The loader guarantees references resolve.
    pub(crate) fn build(
        tlds: Vec<String>,
        updated: Timestamp,
        registrars: Vec<Registrar>,
        contacts: Vec<Contact>,
        hosts: Vec<Host>,
        domains: Vec<Domain>,
    ) -> Self {
        let mut contacts: HashMap<String, (Contact, ContactRoles)> = contacts
            .into_iter()
            .map(|c| (Roid::key(c.roid.as_str()), (c, ContactRoles::default())))
            .collect();
        for d in &domains {
            if let Some((_, roles)) = d
                .registrant
                .as_ref()
                .and_then(|r| contacts.get_mut(&Roid::key(r.as_str())))
            {
                roles.registrant = true;
            }
            if let Some((_, roles)) = d
                .tech
                .as_ref()
                .and_then(|r| contacts.get_mut(&Roid::key(r.as_str())))
            {
                roles.technical = true;
            }
        }
        let mut hosts_by_ip: HashMap<IpAddr, Vec<Box<str>>> = HashMap::new();
        for h in &hosts {
            for ip in &h.addresses {
                hosts_by_ip
                    .entry(*ip)
                    .or_default()
                    .push(h.name.ascii().into());
            }
        }
        let registrars_by_name = registrars
            .iter()
            .map(|r| (super::name::registrar_name_key(&r.name), r.iana_id))
            .collect();
        Self {
            tlds,
            updated,
            domains: domains
                .into_iter()
                .map(|d| (d.name.ascii().into(), d))
                .collect(),
            hosts: hosts
                .into_iter()
                .map(|h| (h.name.ascii().into(), h))
                .collect(),
            contacts,
            registrars: registrars.into_iter().map(|r| (r.iana_id, r)).collect(),
            registrars_by_name,
            hosts_by_ip,
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
        self.domains.get(name.ascii())
    }

    /// Host (nameserver) by name.
    pub fn host(&self, name: &DomainName) -> Option<&Host> {
        self.hosts.get(name.ascii())
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
            .flatten()
            .filter_map(|n| self.hosts.get(n))
            .collect();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        found
    }

    /// Contact by ROID (ASCII case-insensitive), with the roles it is referenced in.
    pub fn contact(&self, roid: &str) -> Option<(&Contact, ContactRoles)> {
        self.contacts.get(&Roid::key(roid)).map(|(c, r)| (c, *r))
    }

    /// Registrar by IANA ID.
    pub fn registrar(&self, id: IanaId) -> Option<&Registrar> {
        self.registrars.get(&id)
    }

    /// Registrar by name, case-insensitive (WHOIS `registrar <name>`).
    pub fn registrar_by_name(&self, name: &str) -> Option<&Registrar> {
        self.registrars_by_name
            .get(&super::name::registrar_name_key(name))
            .and_then(|id| self.registrars.get(id))
    }

    /// Every domain, sorted by name (tests and tools; not a public query).
    pub fn domains(&self) -> Vec<&Domain> {
        let mut v: Vec<_> = self.domains.values().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Every host, sorted by name.
    pub fn hosts(&self) -> Vec<&Host> {
        let mut v: Vec<_> = self.hosts.values().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Every contact, sorted by ROID.
    pub fn contacts(&self) -> Vec<&Contact> {
        let mut v: Vec<_> = self.contacts.values().map(|(c, _)| c).collect();
        v.sort_by(|a, b| a.roid.cmp(&b.roid));
        v
    }

    /// Every registrar, sorted by IANA ID.
    pub fn registrars(&self) -> Vec<&Registrar> {
        let mut v: Vec<_> = self.registrars.values().collect();
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
