//! The second pass: references between records (registrar, contacts, hosts), zones and glue,
//! then the snapshot. A reference to a record refused in the first pass is not reported again.

// foldhash: these maps hold a million keys for one pass; SipHash showed in load profiles.
use foldhash::{HashMap, HashMapExt, HashSet};

use super::super::model::*;
use super::super::name::DomainName;
use super::super::store::Snapshot;
use super::{LoadErrors, Loader, Origin};

impl Loader {
    /// Second pass: uniqueness and references, then build the indexed snapshot. A reference to
    /// a record that was refused in the first pass is not reported: that record's own error is
    /// the cause.
    pub(super) fn finish(mut self) -> Result<Snapshot, LoadErrors> {
        let Some((_, tlds, updated)) = self.registry.take() else {
            if self.errors.is_empty() {
                self.error("(data set)", 0, "", "no registry record: add one line {\"kind\":\"registry\",\"tlds\":[...],\"updated\":...}".into());
            }
            return Err(LoadErrors(self.errors));
        };
        let failed = std::mem::take(&mut self.failed);
        let mut roids: HashMap<String, Origin> = HashMap::new();
        let mut seen_roid = |this: &mut Self, roid: &Roid, o: &Origin| {
            if let Some(first) = roids.insert(Roid::key(roid.as_str()), o.clone()) {
                let msg = format!("this ROID is already used at {}:{}", first.file, first.line);
                this.error_v(
                    &o.file,
                    o.line,
                    "roid",
                    msg,
                    Some(roid.as_str().to_string()),
                );
            }
        };
        let registrars = std::mem::take(&mut self.registrars);
        let contacts = std::mem::take(&mut self.contacts);
        let hosts = std::mem::take(&mut self.hosts);
        let domains = std::mem::take(&mut self.domains);

        let mut registrar_ids = HashMap::new();
        for (o, r) in &registrars {
            if let Some(first) = registrar_ids.insert(r.iana_id, o.clone()) {
                self.error_v(
                    &o.file,
                    o.line,
                    "ianaId",
                    format!(
                        "this IANA ID is already used at {}:{}",
                        first.file, first.line
                    ),
                    Some(r.iana_id.to_string()),
                );
            }
        }
        let registrar_missing =
            |id: IanaId| !registrar_ids.contains_key(&id) && !failed.registrars.contains(&id);
        for (o, c) in &contacts {
            seen_roid(&mut self, &c.roid, o);
        }
        let mut domain_names: HashMap<DomainName, Origin> = HashMap::new();
        for (o, d) in &domains {
            seen_roid(&mut self, &d.roid, o);
            if let Some(first) = domain_names.insert(d.name.clone(), o.clone()) {
                self.error_v(
                    &o.file,
                    o.line,
                    "name",
                    format!(
                        "this domain is already listed at {}:{}",
                        first.file, first.line
                    ),
                    Some(d.name.to_string()),
                );
            }
            if registration_zone(&tlds, &d.name).is_none() {
                self.error_v(
                    &o.file,
                    o.line,
                    "name",
                    "not a registration under the registry's TLDs: a domain is exactly one label below a listed TLD",
                    Some(d.name.to_string()),
                );
            }
            if registrar_missing(d.registrar) {
                self.error_v(
                    &o.file,
                    o.line,
                    "registrar",
                    "no registrar with this IANA ID",
                    Some(d.registrar.to_string()),
                );
            }
        }
        // Hosts that some domain delegates to: an in-zone one of them needs glue.
        let delegated: HashSet<&DomainName> =
            domains.iter().flat_map(|(_, d)| &d.nameservers).collect();
        let mut host_names: HashMap<DomainName, Origin> = HashMap::new();
        for (o, h) in &hosts {
            seen_roid(&mut self, &h.roid, o);
            if let Some(first) = host_names.insert(h.name.clone(), o.clone()) {
                self.error_v(
                    &o.file,
                    o.line,
                    "name",
                    format!(
                        "this host is already listed at {}:{}",
                        first.file, first.line
                    ),
                    Some(h.name.to_string()),
                );
            }
            if registrar_missing(h.registrar) {
                self.error_v(
                    &o.file,
                    o.line,
                    "registrar",
                    "no registrar with this IANA ID",
                    Some(h.registrar.to_string()),
                );
            }
            let in_zone = tlds.iter().any(|t| h.name.is_within(t));
            if in_zone {
                // RFC 5732 §1.1: an internal host is subordinate to a domain of this registry,
                // which must exist.
                match superordinate(&tlds, &h.name) {
                    Some(parent)
                        if !domain_names.contains_key(&parent)
                            && !failed.domains.contains(parent.ascii()) =>
                    {
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
            }
            if in_zone && h.addresses.is_empty() && delegated.contains(&h.name) {
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
            if !in_zone && !h.addresses.is_empty() {
                self.error_v(
                    &o.file,
                    o.line,
                    "addresses",
                    "the host is outside the registry's TLDs and cannot carry glue addresses (RFC 5732 §1.1)",
                    Some(h.name.to_string()),
                );
            }
        }
        let contact_ids: HashSet<String> = contacts
            .iter()
            .map(|(_, c)| Roid::key(c.roid.as_str()))
            .collect();
        for (o, d) in &domains {
            for (field, r) in [("registrant", &d.registrant), ("tech", &d.tech)] {
                if let Some(r) = r {
                    let key = Roid::key(r.as_str());
                    if !contact_ids.contains(&key) && !failed.roids.contains(&key) {
                        self.error_v(
                            &o.file,
                            o.line,
                            field,
                            "no contact with this ROID",
                            Some(r.as_str().to_string()),
                        );
                    }
                }
            }
            for (i, ns) in d.nameservers.iter().enumerate() {
                if !host_names.contains_key(ns) && !failed.hosts.contains(ns.ascii()) {
                    self.error_v(
                        &o.file,
                        o.line,
                        &format!("nameservers[{i}]"),
                        "no host object with this name",
                        Some(ns.to_string()),
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
