//! RFC 9537 `redacted` entries: one per withheld part of a contact, each rendered once per
//! process and copied into answers; the JSONPaths live in one table ([`Part::withheld`]).

use super::*;

/// The RFC 9537 entries of one response, in the order they arise while rendering: they are
/// written after the notices, but only known once the contacts are.
///
/// Every entry is one of a fixed set ([`Redaction`]) whose text depends on nothing but which
/// entry it is, so each is written once per process ([`Redaction::json`]) and an answer only
/// copies it. The entries are about half the bytes of a public domain answer; writing them
/// value by value was the largest part of rendering one.
#[derive(Debug, Default)]
pub(super) struct Redactions(pub(super) Vec<&'static [u8]>);

/// A public domain answer has about 20 entries.
pub(super) const REDACTION_ENTRIES: usize = 24;

impl Redactions {
    pub(super) fn new() -> Self {
        Self(Vec::with_capacity(REDACTION_ENTRIES))
    }

    pub(super) fn add(&mut self, entry: Redaction) {
        self.0.push(entry.json());
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One RFC 9537 entry: the domain's handle, or one part of a contact.
#[derive(Debug, Clone, Copy)]
pub(super) enum Redaction {
    DomainHandle,
    Contact(Holder, Part),
}

impl Redaction {
    /// The entry as JSON text, written on first use with the same writer as the rest of the
    /// answer.
    pub(super) fn json(self) -> &'static [u8] {
        static TEXT: std::sync::OnceLock<Texts> = std::sync::OnceLock::new();
        let texts = TEXT.get_or_init(|| Texts {
            domain_handle: entry_json(
                Name::Registered("Registry Domain ID"),
                Method::Removal,
                &["$.handle"],
            ),
            contacts: Holder::ALL.map(|holder| {
                Part::ALL.map(|part| {
                    let (method, path) = part.withheld();
                    entry_json(
                        redaction_name(holder, part),
                        method,
                        &[holder.entity_path(), path],
                    )
                })
            }),
        });
        match self {
            Self::DomainHandle => &texts.domain_handle,
            Self::Contact(holder, part) => &texts.contacts[holder as usize][part as usize],
        }
    }
}

/// Every entry's text, by [`Redaction`].
pub(super) struct Texts {
    pub(super) domain_handle: Box<[u8]>,
    pub(super) contacts: [[Box<[u8]>; Part::ALL.len()]; Holder::ALL.len()],
}

/// One entry's JSON text; `path` is its JSONPath, given as the pieces it is joined from.
pub(super) fn entry_json(name: Name, method: Method, path: &[&str]) -> Box<[u8]> {
    let mut w = Json::with_capacity(256);
    w.begin_object();
    w.key("name");
    w.begin_object();
    match name {
        Name::Registered(t) => w.member("type", t),
        Name::Description(d) => w.member("description", d),
    }
    w.end_object();
    let (path_key, method) = match method {
        Method::Removal => ("prePath", "removal"),
        Method::EmptyValue => ("postPath", "emptyValue"),
    };
    w.key(path_key);
    w.text(path);
    w.member_lit("pathLang", lit!("jsonpath"));
    w.member("method", method);
    w.key("reason");
    w.begin_object();
    w.member_lit("description", lit!("Server policy"));
    w.end_object();
    w.end_object();
    w.out.into_boxed_slice()
}

/// How a withheld value disappears.
#[derive(Clone, Copy)]
pub(super) enum Method {
    /// The member or property is gone; `prePath` points where it was.
    Removal,
    /// The value is an empty string; `postPath` resolves to it.
    EmptyValue,
}

/// A redaction name: a type from the IANA "redacted name" registry, or a free description for
/// fields the registry has no name for.
#[derive(Clone, Copy)]
pub(super) enum Name {
    Registered(&'static str),
    Description(&'static str),
}

/// Whose contact an entry is about, which says where its entity is in the answer.
#[derive(Debug, Clone, Copy)]
pub(super) enum Holder {
    /// The registrant of the domain answered.
    Registrant,
    /// The technical contact of the domain answered.
    Technical,
    /// A contact looked up on its own: the entity is the answer.
    Standalone,
}

impl Holder {
    pub(super) const ALL: [Self; 3] = [Self::Registrant, Self::Technical, Self::Standalone];

    pub(super) fn of(role: ViewRole) -> Self {
        match role {
            ViewRole::Registrant => Self::Registrant,
            ViewRole::Technical => Self::Technical,
            ViewRole::Standalone(_) => Self::Standalone,
        }
    }

    /// The JSONPath of the entity in the answer.
    pub(super) fn entity_path(self) -> &'static str {
        match self {
            Self::Registrant => "$.entities[?(@.roles[0]=='registrant')]",
            Self::Technical => "$.entities[?(@.roles[0]=='technical')]",
            Self::Standalone => "$",
        }
    }
}

/// The part of a contact a redaction entry is about.
#[derive(Debug, Clone, Copy)]
pub(super) enum Part {
    Handle,
    Name,
    Org,
    Street,
    City,
    Sp,
    Pc,
    Address,
    Phone,
    PhoneExt,
    Fax,
    FaxExt,
    Email,
}

/// `concat!` of where a contact's jCard properties are, relative to the entity, and `$path`.
macro_rules! in_vcard {
    ($path:literal) => {
        concat!(".vcardArray[1]", $path)
    };
}

impl Part {
    /// In declaration order, so `part as usize` indexes it.
    pub(super) const ALL: [Self; 13] = [
        Self::Handle,
        Self::Name,
        Self::Org,
        Self::Street,
        Self::City,
        Self::Sp,
        Self::Pc,
        Self::Address,
        Self::Phone,
        Self::PhoneExt,
        Self::Fax,
        Self::FaxExt,
        Self::Email,
    ];

    /// How the part is withheld, and its JSONPath relative to the entity. The name and the
    /// address fields keep their place with an empty value (the profile requires `fn` and
    /// `adr` keeps its shape); everything else is removed. A phone's extension lives inside
    /// its tel URI, so it goes with the number and shares its path.
    pub(super) fn withheld(self) -> (Method, &'static str) {
        use Method::{EmptyValue, Removal};
        match self {
            Self::Handle => (Removal, ".handle"),
            Self::Name => (EmptyValue, in_vcard!("[?(@[0]=='fn')][3]")),
            Self::Org => (Removal, in_vcard!("[?(@[0]=='org')]")),
            Self::Street => (EmptyValue, in_vcard!("[?(@[0]=='adr')][3][:3]")),
            Self::City => (EmptyValue, in_vcard!("[?(@[0]=='adr')][3][3]")),
            Self::Sp => (EmptyValue, in_vcard!("[?(@[0]=='adr')][3][4]")),
            Self::Pc => (EmptyValue, in_vcard!("[?(@[0]=='adr')][3][5]")),
            Self::Address => (Removal, in_vcard!("[?(@[0]=='adr')]")),
            Self::Phone | Self::PhoneExt => (Removal, in_vcard!("[?(@[1].type=='voice')]")),
            Self::Fax | Self::FaxExt => (Removal, in_vcard!("[?(@[1].type=='fax')]")),
            Self::Email => (Removal, in_vcard!("[?(@[0]=='email')]")),
        }
    }
}

pub(super) fn redaction_name(holder: Holder, part: Part) -> Name {
    use Name::{Description as D, Registered as R};
    match holder {
        Holder::Registrant => match part {
            Part::Handle => R("Registry Registrant ID"),
            Part::Name => R("Registrant Name"),
            Part::Org => R("Registrant Organization"),
            Part::Street => R("Registrant Street"),
            Part::City => R("Registrant City"),
            Part::Sp => D("Registrant State/Province"),
            Part::Pc => R("Registrant Postal Code"),
            Part::Address => D("Registrant Address"),
            Part::Phone => R("Registrant Phone"),
            Part::PhoneExt => R("Registrant Phone Ext"),
            Part::Fax => R("Registrant Fax"),
            Part::FaxExt => R("Registrant Fax Ext"),
            Part::Email => R("Registrant Email"),
        },
        Holder::Technical => match part {
            Part::Handle => R("Registry Tech ID"),
            Part::Name => R("Tech Name"),
            Part::Org => D("Tech Organization"),
            Part::Street => D("Tech Street"),
            Part::City => D("Tech City"),
            Part::Sp => D("Tech State/Province"),
            Part::Pc => D("Tech Postal Code"),
            Part::Address => D("Tech Address"),
            Part::Phone => R("Tech Phone"),
            Part::PhoneExt => R("Tech Phone Ext"),
            Part::Fax => D("Tech Fax"),
            Part::FaxExt => D("Tech Fax Ext"),
            Part::Email => R("Tech Email"),
        },
        Holder::Standalone => D(match part {
            Part::Handle => "Contact ID",
            Part::Name => "Contact Name",
            Part::Org => "Contact Organization",
            Part::Street => "Contact Street",
            Part::City => "Contact City",
            Part::Sp => "Contact State/Province",
            Part::Pc => "Contact Postal Code",
            Part::Address => "Contact Address",
            Part::Phone => "Contact Phone",
            Part::PhoneExt => "Contact Phone Ext",
            Part::Fax => "Contact Fax",
            Part::FaxExt => "Contact Fax Ext",
            Part::Email => "Contact Email",
        }),
    }
}
