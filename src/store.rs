//! The store boundary: everything the resolver reads, behind one small trait.
//!
//! The in-memory [`Snapshot`] implements it today. Another store (a database, a snapshot
//! updated by deltas) plugs in by implementing [`Store`], without touching the protocols or
//! the policy. Records are returned by reference for the lifetime of the borrow, so a store
//! that fetches records on demand answers from an owned set it fetched for the query (which
//! itself implements `Store`); views then borrow from that set exactly as they borrow from the
//! snapshot. Authority searches ([`crate::search`]) read through the same boundary: the
//! snapshot is scanned, and the database backend fetches the page's candidates by SQL into
//! such a set, which is then searched the same way.

use std::net::IpAddr;

use crate::registry::{
    Contact, ContactRoles, Domain, DomainName, Host, IanaId, Registrar, Snapshot, Timestamp,
};

/// Read access to registration data.
pub trait Store {
    /// A domain by normalised name.
    fn domain(&self, name: &DomainName) -> Option<&Domain>;
    /// A host object by normalised name.
    fn host(&self, name: &DomainName) -> Option<&Host>;
    /// Every host with this glue address, in name order.
    fn hosts_by_ip(&self, ip: IpAddr) -> Vec<&Host>;
    /// A contact by ROID (any case), with the roles it holds on any domain.
    fn contact(&self, roid: &str) -> Option<(&Contact, ContactRoles)>;
    /// A registrar by IANA ID.
    fn registrar(&self, id: IanaId) -> Option<&Registrar>;
    /// A registrar by name, without regard to case.
    fn registrar_by_name(&self, name: &str) -> Option<&Registrar>;
    /// When the data was last updated (RDAP `last update of RDAP database`).
    fn updated(&self) -> &Timestamp;
    /// Every domain with its A-label name, in no particular order: the scan behind an
    /// authority search ([`crate::search`]), never a public query. The name comes from the
    /// index, so a scan that matches names reads a record only when its name matches.
    fn for_each_domain<'s>(&'s self, visit: &mut dyn FnMut(&'s str, &'s Domain));
    /// Every host with its A-label name, in no particular order (authority searches only).
    fn for_each_host<'s>(&'s self, visit: &mut dyn FnMut(&'s str, &'s Host));
    /// Every contact with the roles it holds, in no particular order (authority searches
    /// only).
    fn for_each_contact<'s>(&'s self, visit: &mut dyn FnMut(&'s Contact, ContactRoles));
}

impl Store for Snapshot {
    fn domain(&self, name: &DomainName) -> Option<&Domain> {
        Snapshot::domain(self, name)
    }
    fn host(&self, name: &DomainName) -> Option<&Host> {
        Snapshot::host(self, name)
    }
    fn hosts_by_ip(&self, ip: IpAddr) -> Vec<&Host> {
        Snapshot::hosts_by_ip(self, ip)
    }
    fn contact(&self, roid: &str) -> Option<(&Contact, ContactRoles)> {
        Snapshot::contact(self, roid)
    }
    fn registrar(&self, id: IanaId) -> Option<&Registrar> {
        Snapshot::registrar(self, id)
    }
    fn registrar_by_name(&self, name: &str) -> Option<&Registrar> {
        Snapshot::registrar_by_name(self, name)
    }
    fn updated(&self) -> &Timestamp {
        Snapshot::updated(self)
    }
    fn for_each_domain<'s>(&'s self, visit: &mut dyn FnMut(&'s str, &'s Domain)) {
        Snapshot::for_each_domain(self, visit);
    }
    fn for_each_host<'s>(&'s self, visit: &mut dyn FnMut(&'s str, &'s Host)) {
        Snapshot::for_each_host(self, visit);
    }
    fn for_each_contact<'s>(&'s self, visit: &mut dyn FnMut(&'s Contact, ContactRoles)) {
        Snapshot::for_each_contact(self, visit);
    }
}
