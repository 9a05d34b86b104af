//! The protocol-neutral query: what a client asked for, with names already normalised.
//!
//! The RDAP router ([`crate::rdap::router`]) and the port 43 parser ([`crate::whois::parse`])
//! both produce a [`Query`]; one resolver ([`crate::resolve`]) answers it. So the two protocols
//! differ only in how they parse and how they render, never in what they look up or show.

use std::net::IpAddr;

use crate::registry::{DomainName, IanaId, Roid};

/// What an entity handle names in this registry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EntityHandle {
    /// A registrar, by IANA Registrar ID.
    Registrar(IanaId),
    /// A contact, by ROID, in its canonical (upper-case) form: the answer never depends on the
    /// case typed, so neither may a cache key.
    Contact(ContactHandle),
}

/// A contact ROID as asked, normalised once ([`Roid::key`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContactHandle(String);

impl ContactHandle {
    /// Normalise a syntactically valid ROID.
    pub fn new(roid: &Roid) -> Self {
        Self(Roid::key(roid.as_str()))
    }

    /// The canonical text, as the store keys contacts.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A lookup.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Query {
    /// A domain: RDAP `/domain/<name>`, port 43 `<name>` or `domain <name>`.
    Domain(DomainName),
    /// A nameserver by name: RDAP `/nameserver/<name>`, port 43 `nameserver <name>`.
    Nameserver(DomainName),
    /// Every nameserver with a glue address: port 43 `nameserver <IP>`.
    NameserversByIp(IpAddr),
    /// An entity: RDAP `/entity/<handle>`, port 43 `registrar <IANA ID>`.
    Entity(EntityHandle),
    /// A registrar by name, without regard to case: port 43 `registrar <name>`.
    RegistrarByName(String),
    /// The help text.
    Help,
}

impl Query {
    /// Short label for logs and metrics: what kind of object was asked for.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Domain(_) => "domain",
            Self::Nameserver(_) | Self::NameserversByIp(_) => "nameserver",
            Self::Entity(EntityHandle::Contact(_)) => "entity",
            Self::Entity(EntityHandle::Registrar(_)) | Self::RegistrarByName(_) => "registrar",
            Self::Help => "help",
        }
    }
}
