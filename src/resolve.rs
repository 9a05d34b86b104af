//! The resolver: a [`Query`] and an [`Audience`] in, redacted views out.
//!
//! This is the one place where a lookup meets the policy, for both protocols and both
//! audiences. Everything it returns is a view ([`crate::policy`]): renderers never see a raw
//! record. For an authority audience it also says what the disclosure log must record
//! ([`disclosure`]).

use crate::policy::access::{DisclosedContact, Grant};
use crate::policy::{Audience, ContactView, DomainView, HostView, Policy, RegistrarView};
use crate::query::{EntityHandle, Query};
use crate::registry::store::Dep;
use crate::store::Store;

/// The answer to a query, as the audience may see it. Short-lived (one request, on the stack),
/// so the size difference between variants costs nothing worth a box.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Resolved<'a> {
    /// The help text (no data).
    Help,
    /// A domain.
    Domain(DomainView<'a>),
    /// Nameservers: one for a lookup by name, every match for a lookup by address.
    Nameservers(Vec<HostView<'a>>),
    /// A registrar.
    Registrar(RegistrarView<'a>),
    /// A contact looked up on its own.
    Contact(ContactView<'a>),
    /// Nothing by that name or handle.
    NotFound,
}

impl Resolved<'_> {
    /// The records this answer was rendered from, for the answer cache; `None` for an answer
    /// that must not be cached: nothing found, or a search (nameservers by address), which a
    /// new record can change without changing any record it lists.
    pub fn records(&self, query: &Query) -> Option<Vec<Dep>> {
        match (self, query) {
            (Self::Help, _) => Some(Vec::new()),
            (Self::Domain(v), _) => Some(v.records()),
            (Self::Nameservers(views), Query::Nameserver(_)) => {
                Some(views.iter().flat_map(HostView::records).collect())
            }
            (Self::Registrar(v), _) => Some(vec![Dep::Registrar(v.registrar().iana_id)]),
            (Self::Contact(v), _) => v.records(),
            (Self::Nameservers(_), _) | (Self::NotFound, _) => None,
        }
    }
}

/// Look up `query` in `store` and redact what is found for `audience`.
pub fn resolve<'a, S: Store + ?Sized>(
    store: &'a S,
    policy: &Policy,
    query: &Query,
    audience: Audience<'_>,
) -> Resolved<'a> {
    let found = match query {
        Query::Help => Some(Resolved::Help),
        Query::Domain(name) => store
            .domain(name)
            .and_then(|d| policy.domain_view(audience, store, d))
            .map(Resolved::Domain),
        Query::Nameserver(name) => store
            .host(name)
            .map(|h| Resolved::Nameservers(vec![policy.host_view(audience, store, h)])),
        Query::NameserversByIp(ip) => {
            let views: Vec<_> = store
                .hosts_by_ip(*ip)
                .into_iter()
                .map(|h| policy.host_view(audience, store, h))
                .collect();
            (!views.is_empty()).then_some(Resolved::Nameservers(views))
        }
        Query::Entity(EntityHandle::Registrar(id)) => store
            .registrar(*id)
            .map(|r| Resolved::Registrar(policy.registrar_view(audience, r))),
        Query::RegistrarByName(name) => store
            .registrar_by_name(name)
            .map(|r| Resolved::Registrar(policy.registrar_view(audience, r))),
        Query::Entity(EntityHandle::Contact(roid)) => store
            .contact(roid.as_str())
            .map(|(c, roles)| Resolved::Contact(policy.contact_view(audience, c, roles))),
    };
    found.unwrap_or(Resolved::NotFound)
}

/// What a disclosure under `grant` lets out: the objects in the answer and, per contact, the
/// personal fields the authority sees that the public does not. Contacts are named by their
/// own canonical ROID, however a domain record spells it, so a report by contact finds every
/// disclosure.
pub fn disclosure<S: Store + ?Sized>(
    store: &S,
    policy: &Policy,
    query: &Query,
    grant: &Grant,
) -> (Vec<String>, Vec<DisclosedContact>) {
    let diff = |auth: &ContactView<'_>, public: &ContactView<'_>, roid: &str, role: &str| {
        let public_fields = public.shown_personal_fields();
        DisclosedContact {
            roid: roid.to_string(),
            role: role.to_string(),
            fields: auth
                .shown_personal_fields()
                .into_iter()
                .filter(|f| !public_fields.contains(f))
                .map(|f| f.key().to_string())
                .collect(),
        }
    };
    let authority = Audience::Authority(grant);
    let mut objects = Vec::new();
    let mut disclosed = Vec::new();
    match query {
        Query::Domain(name) => {
            let Some(d) = store.domain(name) else {
                return (objects, disclosed);
            };
            objects.push(format!("domain:{}", d.roid.as_str()));
            let (Some(a), Some(p)) = (
                policy.domain_view(authority, store, d),
                policy.domain_view(Audience::Public, store, d),
            ) else {
                return (objects, disclosed);
            };
            for (role, av, pv, roid) in [
                (
                    "registrant",
                    a.registrant(),
                    p.registrant(),
                    d.registrant.as_ref(),
                ),
                ("technical", a.technical(), p.technical(), d.tech.as_ref()),
            ] {
                let canonical = roid
                    .and_then(|r| store.contact(r.as_str()))
                    .map(|(c, _)| c.roid.as_str());
                if let (Some(av), Some(pv), Some(roid)) = (av, pv, canonical) {
                    objects.push(format!("contact:{roid}"));
                    disclosed.push(diff(av, pv, roid, role));
                }
            }
        }
        Query::Entity(EntityHandle::Contact(roid)) => {
            if let Some((c, roles)) = store.contact(roid.as_str()) {
                objects.push(format!("contact:{}", c.roid.as_str()));
                let av = policy.contact_view(authority, c, roles);
                let pv = policy.contact_view(Audience::Public, c, roles);
                disclosed.push(diff(&av, &pv, c.roid.as_str(), "contact"));
            }
        }
        Query::Entity(EntityHandle::Registrar(id)) => objects.push(format!("registrar:{id}")),
        Query::RegistrarByName(name) => {
            if let Some(r) = store.registrar_by_name(name) {
                objects.push(format!("registrar:{}", r.iana_id));
            }
        }
        Query::Nameserver(name) => {
            if let Some(h) = store.host(name) {
                objects.push(format!("nameserver:{}", h.roid.as_str()));
            }
        }
        Query::NameserversByIp(ip) => {
            for h in store.hosts_by_ip(*ip) {
                objects.push(format!("nameserver:{}", h.roid.as_str()));
            }
        }
        Query::Help => {}
    }
    (objects, disclosed)
}
