//! The first pass: each raw record converted to a model record and validated field by field,
//! with errors located by file, line and field (and never quoting the value).

use super::super::model::*;
use super::super::name::DomainName;
use super::super::validate::{self, Invalid};
use super::raw::*;
use std::borrow::Cow;
use std::net::IpAddr;

use super::{Loader, Origin};

/// Per-line context: collects field errors with the line's location.
pub(super) struct Line<'a> {
    pub(super) loader: &'a mut Loader,
    pub(super) file: &'a str,
    pub(super) line: usize,
    /// Whether a value of the line was made safe.
    pub(super) made_safe: bool,
}

impl Line<'_> {
    fn err(&mut self, field: &str, message: impl std::fmt::Display) {
        self.loader
            .error(self.file, self.line, field, message.to_string());
    }

    /// An error whose cause is a value; the value is kept apart from the message.
    fn err_v(&mut self, field: &str, message: impl std::fmt::Display, value: &str) {
        self.loader.error_v(
            self.file,
            self.line,
            field,
            message.to_string(),
            Some(value.to_string()),
        );
    }

    fn check(&mut self, field: &str, value: &str, result: Result<(), Invalid>) -> bool {
        match result {
            Ok(()) => true,
            Err(m) => {
                self.err_v(field, m, value);
                false
            }
        }
    }

    fn text(&mut self, field: &str, value: &str, max: usize) {
        self.check(field, value, validate::text(value, max));
    }

    fn opt_text(&mut self, field: &str, value: &mut Option<Cow<'_, str>>, max: usize) {
        if let Some(v) = value {
            self.safe_text(field, v, max);
        }
    }

    /// Free text: a [`validate::forbidden_char`] in it is made safe (replaced by U+FFFD) and
    /// reported, then the text is checked as any other.
    fn safe_text(&mut self, field: &str, value: &mut Cow<'_, str>, max: usize) {
        if let Err(reason @ Invalid::ForbiddenChar { .. }) = validate::text(value, max) {
            self.loader.warn(super::LoadError {
                file: self.file.to_string(),
                line: self.line,
                field: field.to_string(),
                message: format!(
                    "made safe: {reason}; each such character replaced by U+FFFD and the record kept"
                ),
                value: Some(value.to_string()),
                key: None,
            });
            *value = Cow::Owned(validate::made_safe(value));
            self.made_safe = true;
        }
        self.text(field, value, max);
    }

    fn date(&mut self, field: &str, value: &str) -> Option<Timestamp> {
        match validate::datetime(value) {
            Ok(t) => Some(t),
            Err(m) => {
                self.err_v(field, m, value);
                None
            }
        }
    }

    fn opt_date(&mut self, field: &str, value: &Option<Cow<'_, str>>) -> Option<Timestamp> {
        value.as_deref().and_then(|v| self.date(field, v))
    }

    fn roid(&mut self, field: &str, value: &str) -> Option<Roid> {
        Roid::parse(value)
            .map_err(|m| self.err_v(field, m, value))
            .ok()
    }

    fn name(&mut self, field: &str, value: &str) -> Option<DomainName> {
        DomainName::parse(value)
            .map_err(|e| self.err_v(field, e.to_string(), value))
            .ok()
    }

    /// The name in `nameservers[i]`. A few thousand nameserver names recur across a million
    /// domains, so each is parsed (IDNA) once per worker and then shared, and the field path is
    /// only formatted for an error.
    fn nameserver(&mut self, i: usize, value: &str) -> Option<DomainName> {
        if let Some(n) = self.loader.names.get(value) {
            return Some(n);
        }
        let n = self.name(&format!("nameservers[{i}]"), value)?;
        self.loader.names.insert(value, &n);
        Some(n)
    }

    fn phone(&mut self, field: &str, raw: Option<RawPhone<'_>>) -> Option<Phone> {
        let raw = raw?;
        let phone = Phone {
            number: raw.number.into_owned(),
            ext: raw.ext.map(Cow::into_owned),
        };
        let shown = match &phone.ext {
            Some(ext) => format!("{} ext {ext}", phone.number),
            None => phone.number.clone(),
        };
        self.check(field, &shown, validate::phone(&phone));
        Some(phone)
    }

    /// Parse a status list with `parse`, then check the combination rules.
    fn statuses<T>(
        &mut self,
        raw: &[Cow<'_, str>],
        parse: fn(&str) -> Option<T>,
        what: &str,
        check: fn(&[T]) -> Result<(), Invalid>,
    ) -> Vec<T> {
        let mut out = Vec::new();
        for (i, s) in raw.iter().enumerate() {
            match parse(s) {
                Some(st) => out.push(st),
                None => self.err_v(&format!("statuses[{i}]"), format!("not {what}"), s),
            }
        }
        if out.len() == raw.len() {
            if let Err(m) = check(&out) {
                self.err("statuses", m);
            }
        }
        out
    }

    fn street(&mut self, field: &str, street: &mut [Cow<'_, str>]) {
        if street.len() > 3 {
            self.err(field, "at most three street lines (RFC 5733)");
        }
        for (i, s) in street.iter_mut().enumerate() {
            self.safe_text(&format!("{field}[{i}]"), s, 255);
        }
    }
}

impl Loader {
    pub(super) fn registry_line(&mut self, origin: Origin, raw: RawRegistry) {
        let before = self.error_total;
        let mut l = self.at(&origin);
        let updated = l.date("updated", &raw.updated);
        let mut tlds = Vec::new();
        if raw.tlds.is_empty() {
            l.err("tlds", "list at least one TLD");
        }
        for (i, t) in raw.tlds.iter().enumerate() {
            let field = format!("tlds[{i}]");
            // A registry zone is usually one label (`example`), but may be a second-level
            // registry zone (`co.example`) whose names are registered one label below it.
            // Validate it by making it a name one label longer.
            let zone = t.trim().strip_suffix('.').unwrap_or(t.trim());
            match DomainName::parse(&format!("x.{zone}")) {
                Ok(n) if !zone.is_empty() => {
                    let ascii = n.ascii()["x.".len()..].to_string();
                    if tlds.contains(&ascii) {
                        l.err_v(&field, "this TLD is listed twice", t);
                    } else {
                        tlds.push(ascii);
                    }
                }
                _ => l.err_v(&field, "not a valid TLD label", t),
            }
        }
        if let Some((first, _, _)) = &self.registry {
            let msg = format!(
                "a second registry record; the first is at {}:{}",
                first.file, first.line
            );
            self.error(&origin.file, origin.line, "kind", msg);
            self.fatal += 1;
            return;
        }
        if self.error_total != before {
            // Without its registry record nothing can be served.
            self.fatal += 1;
        }
        if self.error_total == before {
            if let Some(updated) = updated {
                self.registry = Some((origin, tlds, updated));
            }
        }
    }

    pub(super) fn registrar_line(&mut self, origin: Origin, mut raw: RawRegistrar<'_>) {
        let before = self.error_total;
        let mut l = self.at(&origin);
        if raw.iana_id == 0 {
            l.err("ianaId", "an IANA Registrar ID is a positive integer");
        }
        l.safe_text("name", &mut raw.name, 255);
        for (field, url) in [("url", &raw.url), ("rdapBaseUrl", &raw.rdap_base_url)] {
            if let Some(u) = url {
                l.check(field, u, validate::http_url(u));
            }
        }
        if let Some(w) = &raw.whois_server {
            if DomainName::parse(w).is_err() {
                l.err_v("whoisServer", "not a host name", w);
            }
        }
        l.check(
            "abuseEmail",
            &raw.abuse_email,
            validate::email(&raw.abuse_email),
        );
        if let Some(e) = &raw.email {
            l.check("email", e, validate::email(e));
        }
        let abuse_phone = l.phone("abusePhone", Some(raw.abuse_phone));
        let voice = l.phone("voice", raw.voice);
        let fax = l.phone("fax", raw.fax);
        l.street("address.street", &mut raw.address.street);
        l.safe_text("address.city", &mut raw.address.city, 255);
        l.opt_text("address.sp", &mut raw.address.sp, 255);
        l.opt_text("address.pc", &mut raw.address.pc, 16);
        let made_safe = l.made_safe;
        l.check(
            "address.cc",
            &raw.address.cc,
            validate::country_code(&raw.address.cc),
        );
        let rdap_base_url = raw.rdap_base_url.map(|u| {
            if u.ends_with('/') {
                u.into_owned()
            } else {
                format!("{u}/")
            }
        });
        if self.error_total != before {
            return;
        }
        let Some(abuse_phone) = abuse_phone else {
            return;
        };
        if made_safe {
            self.defects.made_safe.registrar += 1;
        }
        self.registrars.push((
            origin,
            Registrar {
                iana_id: raw.iana_id,
                name: raw.name.into_owned(),
                url: raw.url.map(Cow::into_owned),
                whois_server: raw.whois_server.map(|w| w.to_ascii_lowercase()),
                rdap_base_url,
                abuse_email: raw.abuse_email.into_owned(),
                abuse_phone,
                address: Address {
                    street: raw
                        .address
                        .street
                        .into_iter()
                        .map(Cow::into_owned)
                        .collect(),
                    city: raw.address.city.into_owned(),
                    sp: raw.address.sp.map(Cow::into_owned),
                    pc: raw.address.pc.map(Cow::into_owned),
                    cc: raw.address.cc.into_owned(),
                },
                voice,
                fax,
                email: raw.email.map(Cow::into_owned),
            },
        ));
    }

    pub(super) fn contact_line(&mut self, origin: Origin, mut raw: RawContact<'_>) {
        let before = self.error_total;
        let mut l = self.at(&origin);
        let roid = l.roid("roid", &raw.roid);
        l.safe_text("name", &mut raw.name, 255);
        l.opt_text("org", &mut raw.org, 255);
        l.street("street", &mut raw.street);
        l.safe_text("city", &mut raw.city, 255);
        l.opt_text("sp", &mut raw.sp, 255);
        l.opt_text("pc", &mut raw.pc, 16);
        l.check("cc", &raw.cc, validate::country_code(&raw.cc));
        let voice = l.phone("voice", raw.voice);
        let fax = l.phone("fax", raw.fax);
        l.check("email", &raw.email, validate::email(&raw.email));
        let mut consent = Consent::default();
        for (i, field) in raw.consent.iter().enumerate() {
            if *field == ContactField::Handle {
                l.err(
                    &format!("consent[{i}]"),
                    "the handle is not personal data and needs no consent",
                );
            }
            consent = consent.with(*field);
        }
        let made_safe = l.made_safe;
        if self.error_total != before {
            return;
        }
        let Some(roid) = roid else { return };
        if made_safe {
            self.defects.made_safe.contact += 1;
        }
        let street: Vec<&str> = raw.street.iter().map(|s| &s[..]).collect();
        let contact = Contact::new(ContactParts {
            roid: &roid,
            name: &raw.name,
            org: raw.org.as_deref(),
            street: &street,
            city: &raw.city,
            sp: raw.sp.as_deref(),
            pc: raw.pc.as_deref(),
            cc: &raw.cc,
            voice: voice.as_ref().map(Phone::as_ref),
            fax: fax.as_ref().map(Phone::as_ref),
            email: &raw.email,
            person: raw.person_type,
            consent,
        });
        self.contacts.push((origin, contact));
    }

    pub(super) fn host_line(&mut self, origin: Origin, raw: RawHost<'_>) {
        let before = self.error_total;
        let mut l = self.at(&origin);
        let roid = l.roid("roid", &raw.roid);
        let name = l.name("name", &raw.name);
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for (i, a) in raw.addresses.iter().enumerate() {
            match a.parse::<IpAddr>() {
                Ok(ip) if ip.is_unspecified() || ip.is_loopback() || ip.is_multicast() => {
                    l.err_v(
                        &format!("addresses[{i}]"),
                        "an unspecified, loopback or multicast address cannot be a nameserver address",
                        a,
                    );
                }
                Ok(IpAddr::V4(ip)) => v4.push(IpAddr::V4(ip)),
                Ok(IpAddr::V6(ip)) => v6.push(IpAddr::V6(ip)),
                Err(_) => l.err_v(&format!("addresses[{i}]"), "not an IPv4 or IPv6 address", a),
            }
        }
        let statuses = l.statuses(
            &raw.statuses,
            HostStatus::from_epp,
            "an EPP host status (RFC 5732)",
            HostStatus::check_combination,
        );
        let created = l.opt_date("created", &raw.created);
        let updated = l.opt_date("updated", &raw.updated);
        if self.error_total != before {
            return;
        }
        let (Some(roid), Some(name)) = (roid, name) else {
            return;
        };
        v4.extend(v6);
        self.hosts.push((
            origin,
            Host {
                roid,
                name,
                addresses: v4,
                statuses,
                registrar: raw.registrar,
                created,
                updated,
            },
        ));
    }

    pub(super) fn domain_line(&mut self, origin: Origin, raw: RawDomain<'_>) {
        let before = self.error_total;
        let mut l = self.at(&origin);
        let roid = l.roid("roid", &raw.roid);
        let name = l.name("name", &raw.name);
        let statuses = l.statuses(
            &raw.statuses,
            DomainStatus::from_epp,
            "an EPP or RGP domain status",
            DomainStatus::check_combination,
        );
        let created = l.date("created", &raw.created);
        let updated = l.opt_date("updated", &raw.updated);
        let expires = l.date("expires", &raw.expires);
        if let (Some(c), Some(e)) = (&created, &expires) {
            if e <= c {
                l.err("expires", "the expiry date must be after the creation date");
            }
        }
        let registrant = raw
            .registrant
            .as_deref()
            .and_then(|r| l.roid("registrant", r));
        let tech = raw.tech.as_deref().and_then(|r| l.roid("tech", r));
        let mut nameservers: Vec<DomainName> = Vec::new();
        for (i, ns) in raw.nameservers.iter().enumerate() {
            if let Some(n) = l.nameserver(i, ns) {
                if nameservers.contains(&n) {
                    l.err_v(
                        &format!("nameservers[{i}]"),
                        "this nameserver is listed twice",
                        ns,
                    );
                }
                nameservers.push(n);
            }
        }
        let mut ds = Vec::new();
        for (i, d) in raw.ds.into_iter().enumerate() {
            let want = ds_digest_hex_len(d.digest_type);
            let hex = d.digest.bytes().all(|b| b.is_ascii_hexdigit());
            match want {
                None => l.err(
                    &format!("ds[{i}].digestType"),
                    "not an assigned DS digest type (IANA: 1 SHA-1, 2 SHA-256, 3 GOST R 34.11-94, 4 SHA-384, 5 GOST R 34.11-2012, 6 SM3)",
                ),
                Some(n) if !hex || d.digest.len() != n => l.err(
                    &format!("ds[{i}].digest"),
                    format!(
                        "expected {n} hexadecimal digits for digest type {}",
                        d.digest_type
                    ),
                ),
                Some(_) => ds.push(DsData {
                    key_tag: d.key_tag,
                    algorithm: d.algorithm,
                    digest_type: d.digest_type,
                    digest: d.digest.to_ascii_uppercase().into(),
                }),
            }
        }
        if self.error_total != before {
            return;
        }
        let (Some(roid), Some(name), Some(created), Some(expires)) = (roid, name, created, expires)
        else {
            return;
        };
        self.domains.push((
            origin,
            Domain {
                roid,
                name,
                statuses: self.lists.statuses(statuses),
                created,
                updated,
                expires,
                registrar: raw.registrar,
                registrant,
                tech,
                nameservers: self.lists.nameservers(nameservers),
                ds: ds.into(),
            },
        ));
    }
}

/// The length in hexadecimal digits of a DS digest of each type assigned in the IANA "Delegation
/// Signer (DS) Resource Record (RR) Type Digest Algorithms" registry; `None` for 0 (reserved) and
/// the unassigned types, which no validator can check.
pub(super) fn ds_digest_hex_len(digest_type: u8) -> Option<usize> {
    match digest_type {
        1 => Some(40), // SHA-1, RFC 3658: 20 bytes
        2 => Some(64), // SHA-256, RFC 4509: 32 bytes
        3 => Some(64), // GOST R 34.11-94, RFC 5933: 32 bytes
        4 => Some(96), // SHA-384, RFC 6605: 48 bytes
        5 => Some(64), // GOST R 34.11-2012, RFC 9558: 32 bytes
        6 => Some(64), // SM3, RFC 9563: 32 bytes
        _ => None,
    }
}
