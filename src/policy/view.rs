//! Redacted views: the only input the renderers accept.
//!
//! A view holds, for every personal field, either the value the audience may see or the fact
//! that it is withheld. Views are built only here, from the policy; their fields are private, so
//! no other module can assemble one around unredacted data. Renderers then decide only *how* a
//! withheld field looks in their protocol (RDAP: `""` or removal plus an RFC 9537 entry; WHOIS:
//! `REDACTED FOR PRIVACY`), never *whether* a value is shown.

use super::access::Grant;
use crate::registry::store::Dep;
use crate::registry::{
    Contact, ContactField, ContactRoles, DomainName, DomainStatus, DsData, Host, PhoneRef,
    Registrar, Street, Timestamp,
};
use crate::store::Store;

use super::{ContactRules, Policy, Rule};

/// Who is asking. Every audience maps to rules in the policy file.
///
/// An authority audience can only be named with a [`Grant`], which only the authority module
/// issues after verifying a credential and a statement: code that has no grant can build
/// public views and nothing else.
#[derive(Debug, Clone, Copy)]
pub enum Audience<'g> {
    /// The anonymous public (port 43, unauthenticated RDAP).
    Public,
    /// An authenticated authority, for the purpose its grant states.
    Authority(&'g Grant),
}

impl Audience<'_> {
    /// Whether this is the public audience (whose answers may be cached and shared).
    pub fn is_public(&self) -> bool {
        matches!(self, Self::Public)
    }
}

/// One field as an audience may see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field<T> {
    /// The value, cleared for this audience.
    Shown(T),
    /// Redacted by policy. Also used when the policy would need consent and the value does not
    /// exist, so the public cannot tell "no fax" from "fax withheld".
    Withheld,
    /// Public by policy but the contact has no value (e.g. no state/province).
    Absent,
}

impl<T> Field<T> {
    /// The shown value, if any.
    pub fn shown(&self) -> Option<&T> {
        match self {
            Self::Shown(v) => Some(v),
            _ => None,
        }
    }

    /// Whether the field is withheld by policy.
    pub fn is_withheld(&self) -> bool {
        matches!(self, Self::Withheld)
    }
}

/// The role a contact view is rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewRole {
    /// Registrant of the domain being rendered.
    Registrant,
    /// Technical contact of the domain being rendered.
    Technical,
    /// A contact looked up on its own (`/entity/<ROID>`), with the roles it holds anywhere.
    Standalone(ContactRoles),
}

/// A contact as one audience may see it. Its `Debug` says which fields are shown, withheld or
/// absent, never their values (an authority's view holds personal data).
#[derive(Clone)]
pub struct ContactView<'a> {
    role: ViewRole,
    /// For a contact looked up on its own: the ROID that was asked for (the requester knows
    /// it), for the answer's self link. `None` inside a domain answer.
    lookup_handle: Option<&'a str>,
    handle: Field<&'a str>,
    name: Field<&'a str>,
    org: Field<&'a str>,
    street: Field<Street<'a>>,
    city: Field<&'a str>,
    sp: Field<&'a str>,
    pc: Field<&'a str>,
    cc: Field<&'a str>,
    voice: Field<PhoneRef<'a>>,
    fax: Field<PhoneRef<'a>>,
    email: Field<&'a str>,
}

impl<T> Field<T> {
    fn state(&self) -> &'static str {
        match self {
            Self::Shown(_) => "shown",
            Self::Withheld => "withheld",
            Self::Absent => "absent",
        }
    }
}

impl std::fmt::Debug for ContactView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContactView")
            .field("role", &self.role)
            .field("handle", &self.handle.state())
            .field("name", &self.name.state())
            .field("org", &self.org.state())
            .field("street", &self.street.state())
            .field("city", &self.city.state())
            .field("sp", &self.sp.state())
            .field("pc", &self.pc.state())
            .field("cc", &self.cc.state())
            .field("voice", &self.voice.state())
            .field("fax", &self.fax.state())
            .field("email", &self.email.state())
            .finish()
    }
}

impl<'a> ContactView<'a> {
    fn build(contact: &'a Contact, role: ViewRole, rules: &ContactRules) -> Self {
        let decide = |field: ContactField, present: bool| -> Field<()> {
            match rules.get(field) {
                Rule::Publish if present => Field::Shown(()),
                Rule::Publish => Field::Absent,
                Rule::Consent if present && contact.consent.allows(field) => Field::Shown(()),
                Rule::Consent | Rule::Redact => Field::Withheld,
            }
        };
        fn with<T>(f: Field<()>, v: Option<T>) -> Field<T> {
            match (f, v) {
                (Field::Shown(()), Some(v)) => Field::Shown(v),
                (Field::Absent, _) => Field::Absent,
                _ => Field::Withheld,
            }
        }
        let street_present = !contact.street().is_empty();
        let mut view = Self {
            role,
            lookup_handle: None,
            handle: with(
                decide(ContactField::Handle, true),
                Some(contact.roid.as_str()),
            ),
            name: with(decide(ContactField::Name, true), Some(contact.name())),
            org: with(
                decide(ContactField::Org, contact.org().is_some()),
                contact.org(),
            ),
            street: with(
                decide(ContactField::Street, street_present),
                Some(contact.street()),
            ),
            city: with(decide(ContactField::City, true), Some(contact.city())),
            sp: with(
                decide(ContactField::Sp, contact.sp().is_some()),
                contact.sp(),
            ),
            pc: with(
                decide(ContactField::Pc, contact.pc().is_some()),
                contact.pc(),
            ),
            cc: with(decide(ContactField::Cc, true), Some(contact.cc())),
            voice: with(
                decide(ContactField::Voice, contact.voice().is_some()),
                contact.voice(),
            ),
            fax: with(
                decide(ContactField::Fax, contact.fax().is_some()),
                contact.fax(),
            ),
            email: with(decide(ContactField::Email, true), Some(contact.email())),
        };
        // An address is only shown with its country: a jCard `adr` needs its `cc` parameter
        // (RFC 8605, gTLD profile), and a street without a country is meaningless anyway.
        if !matches!(view.cc, Field::Shown(_)) {
            view.street = Field::Withheld;
            view.city = Field::Withheld;
            view.sp = Field::Withheld;
            view.pc = Field::Withheld;
            view.cc = Field::Withheld;
        }
        view
    }

    /// The role this view is rendered in.
    pub fn role(&self) -> ViewRole {
        self.role
    }
    /// For a contact looked up on its own, the ROID asked for (for self links).
    pub fn lookup_handle(&self) -> Option<&'a str> {
        self.lookup_handle
    }
    /// ROID (entity handle).
    pub fn handle(&self) -> Field<&'a str> {
        self.handle
    }
    /// Full name.
    pub fn name(&self) -> Field<&'a str> {
        self.name
    }
    /// Organisation.
    pub fn org(&self) -> Field<&'a str> {
        self.org
    }
    /// Street lines.
    pub fn street(&self) -> Field<Street<'a>> {
        self.street
    }
    /// City.
    pub fn city(&self) -> Field<&'a str> {
        self.city
    }
    /// State or province.
    pub fn sp(&self) -> Field<&'a str> {
        self.sp
    }
    /// Postal code.
    pub fn pc(&self) -> Field<&'a str> {
        self.pc
    }
    /// Country code.
    pub fn cc(&self) -> Field<&'a str> {
        self.cc
    }
    /// Voice telephone (with extension).
    pub fn voice(&self) -> Field<PhoneRef<'a>> {
        self.voice
    }
    /// Fax (with extension).
    pub fn fax(&self) -> Field<PhoneRef<'a>> {
        self.fax
    }
    /// E-mail.
    pub fn email(&self) -> Field<&'a str> {
        self.email
    }
    /// Whether the address block is shown at all (it is shown whenever the country is).
    pub fn has_address(&self) -> bool {
        matches!(self.cc, Field::Shown(_))
    }

    /// The records a contact looked up on its own shows something of: the contact itself (its
    /// roles included). `None` inside a domain answer, which names its records itself.
    pub fn records(&self) -> Option<Vec<Dep>> {
        self.lookup_handle
            .map(|h| vec![Dep::Contact(crate::registry::Roid::key(h).into())])
    }

    /// The personal fields this view shows (for the disclosure log).
    pub fn shown_personal_fields(&self) -> Vec<ContactField> {
        let shown = [
            (ContactField::Name, self.name.shown().is_some()),
            (ContactField::Org, self.org.shown().is_some()),
            (ContactField::Street, self.street.shown().is_some()),
            (ContactField::City, self.city.shown().is_some()),
            (ContactField::Sp, self.sp.shown().is_some()),
            (ContactField::Pc, self.pc.shown().is_some()),
            (ContactField::Cc, self.cc.shown().is_some()),
            (ContactField::Voice, self.voice.shown().is_some()),
            (ContactField::Fax, self.fax.shown().is_some()),
            (ContactField::Email, self.email.shown().is_some()),
        ];
        shown
            .into_iter()
            .filter(|(_, s)| *s)
            .map(|(f, _)| f)
            .collect()
    }
}

/// A domain as one audience may see it. Domain data other than contacts is public registration
/// data (RDP §9.1) and is exposed field by field; the contacts only as their views (the raw
/// record, with its contact ROIDs, never leaves this module).
#[derive(Debug, Clone)]
pub struct DomainView<'a> {
    domain: &'a crate::registry::Domain,
    handle: Field<&'a str>,
    registrar: &'a Registrar,
    registrant: Option<ContactView<'a>>,
    technical: Option<ContactView<'a>>,
    nameservers: Vec<&'a Host>,
}

impl<'a> DomainView<'a> {
    /// The domain name.
    pub fn name(&self) -> &'a DomainName {
        &self.domain.name
    }
    /// EPP and RGP statuses.
    pub fn statuses(&self) -> &'a [DomainStatus] {
        &self.domain.statuses
    }
    /// Creation date.
    pub fn created(&self) -> &'a Timestamp {
        &self.domain.created
    }
    /// Last update, if ever updated.
    pub fn updated(&self) -> Option<&'a Timestamp> {
        self.domain.updated.as_ref()
    }
    /// Registry expiry date.
    pub fn expires(&self) -> &'a Timestamp {
        &self.domain.expires
    }
    /// DS records; empty for an unsigned delegation.
    pub fn ds(&self) -> &'a [DsData] {
        &self.domain.ds
    }
    /// Registry Domain ID, as the policy allows.
    pub fn handle(&self) -> Field<&'a str> {
        self.handle
    }
    /// Sponsoring registrar.
    pub fn registrar(&self) -> &'a Registrar {
        self.registrar
    }
    /// Registrant, redacted for the audience.
    pub fn registrant(&self) -> Option<&ContactView<'a>> {
        self.registrant.as_ref()
    }
    /// Technical contact, redacted for the audience.
    pub fn technical(&self) -> Option<&ContactView<'a>> {
        self.technical.as_ref()
    }
    /// Delegated nameservers, in the domain's order.
    pub fn nameservers(&self) -> &[&'a Host] {
        &self.nameservers
    }

    /// The records this view shows something of: the domain, its registrar, contacts and
    /// nameservers (for the answer cache's validity check).
    pub fn records(&self) -> Vec<Dep> {
        let mut deps = vec![
            Dep::Domain(self.domain.name.ascii_shared().clone()),
            Dep::Registrar(self.registrar.iana_id),
        ];
        for r in [&self.domain.registrant, &self.domain.tech]
            .into_iter()
            .flatten()
        {
            deps.push(Dep::Contact(r.shared_key()));
        }
        for h in &self.nameservers {
            deps.push(Dep::Host(h.name.ascii_shared().clone()));
        }
        deps
    }
}

/// A nameserver as one audience may see it (no personal data; a view for uniformity).
#[derive(Debug, Clone)]
pub struct HostView<'a> {
    host: &'a Host,
    registrar: Option<&'a Registrar>,
}

impl<'a> HostView<'a> {
    /// The host.
    pub fn host(&self) -> &'a Host {
        self.host
    }
    /// Sponsoring registrar.
    pub fn registrar(&self) -> Option<&'a Registrar> {
        self.registrar
    }

    /// The records this view shows something of.
    pub fn records(&self) -> Vec<Dep> {
        let mut deps = vec![Dep::Host(self.host.name.ascii_shared().clone())];
        deps.extend(self.registrar.map(|r| Dep::Registrar(r.iana_id)));
        deps
    }
}

/// A registrar (business data, public in full).
#[derive(Debug, Clone)]
pub struct RegistrarView<'a> {
    registrar: &'a Registrar,
}

impl<'a> RegistrarView<'a> {
    /// The registrar.
    pub fn registrar(&self) -> &'a Registrar {
        self.registrar
    }
}

impl Policy {
    /// The view of a domain for an audience. `None` only if the snapshot is inconsistent, which
    /// the loader rules out.
    pub fn domain_view<'a, S: Store + ?Sized>(
        &self,
        audience: Audience<'_>,
        snap: &'a S,
        domain: &'a crate::registry::Domain,
    ) -> Option<DomainView<'a>> {
        let rules = self.rules(audience);
        let registrar = snap.registrar(domain.registrar)?;
        let contact = |roid: Option<&crate::registry::Roid>, role: ViewRole, r: &ContactRules| {
            roid.and_then(|id| snap.contact(id.as_str()))
                .map(|(c, _)| ContactView::build(c, role, r))
        };
        Some(DomainView {
            domain,
            handle: if rules.registry_domain_id {
                Field::Shown(domain.roid.as_str())
            } else {
                Field::Withheld
            },
            registrar,
            registrant: contact(
                domain.registrant.as_ref(),
                ViewRole::Registrant,
                &rules.registrant,
            ),
            technical: contact(domain.tech.as_ref(), ViewRole::Technical, &rules.technical),
            nameservers: domain
                .nameservers
                .iter()
                .filter_map(|n| snap.host(n))
                .collect(),
        })
    }

    /// The view of a contact looked up on its own. A field is shown if it would be shown in at
    /// least one domain response that references the contact, so this lookup reveals nothing
    /// those do not; a contact no domain references shows nothing personal.
    pub fn contact_view<'a>(
        &self,
        audience: Audience<'_>,
        contact: &'a Contact,
        roles: ContactRoles,
    ) -> ContactView<'a> {
        let r = self.rules(audience);
        let rules = match (roles.registrant, roles.technical) {
            (true, true) => r.registrant.union(&r.technical),
            (true, false) => r.registrant,
            (false, true) => r.technical,
            (false, false) => ContactRules::redact_all(),
        };
        let mut view = ContactView::build(contact, ViewRole::Standalone(roles), &rules);
        view.lookup_handle = Some(contact.roid.as_str());
        view
    }

    /// The view of a host.
    pub fn host_view<'a, S: Store + ?Sized>(
        &self,
        _audience: Audience<'_>,
        snap: &'a S,
        host: &'a Host,
    ) -> HostView<'a> {
        HostView {
            host,
            registrar: snap.registrar(host.registrar),
        }
    }

    /// The view of a registrar.
    pub fn registrar_view<'a>(
        &self,
        _audience: Audience<'_>,
        registrar: &'a Registrar,
    ) -> RegistrarView<'a> {
        RegistrarView { registrar }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Purpose;

    /// Every personal value of a contact, as text.
    fn values(c: &Contact) -> Vec<String> {
        let mut v: Vec<String> = [c.name(), c.city(), c.email()]
            .into_iter()
            .chain(c.org())
            .chain(c.street().iter())
            .chain(c.pc())
            .map(str::to_string)
            .collect();
        for p in [c.voice(), c.fax()].into_iter().flatten() {
            v.push(p.number.to_string());
        }
        v
    }

    #[test]
    fn debug_output_holds_no_personal_value() {
        let snap = crate::registry::load::load_demo().expect("demo");
        let policy = Policy::default_policy().expect("policy");
        let snapshot_debug = format!("{snap:?}");
        for c in snap.contacts() {
            let (contact, roles) = snap.contact(c.roid.as_str()).expect("contact");
            let grant = Grant::for_test(Purpose::UrgentThreatToLife);
            let authority = policy.contact_view(Audience::Authority(&grant), contact, roles);
            let public = policy.contact_view(Audience::Public, contact, roles);
            for text in [
                format!("{contact:?}"),
                format!("{contact:#?}"),
                format!("{authority:?}"),
                format!("{public:?}"),
                snapshot_debug.clone(),
            ] {
                for value in values(contact) {
                    assert!(!text.contains(&value), "{value:?} in {text}");
                }
            }
        }
    }
}
