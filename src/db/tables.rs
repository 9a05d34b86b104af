//! The registration tables' columns, as `rddsd db import` copies them in and `rddsd db export`
//! reads them back: one list per table, in the order both sides use, so a column is named in
//! one place (the schema, `schema/postgres/`, is the other).

use tokio_postgres::types::Type;

/// A table and its data columns, in copy order.
#[derive(Debug)]
pub(super) struct Table {
    /// The table's name.
    pub(super) name: &'static str,
    /// Its columns and their types, in the order rows are written and read.
    pub(super) columns: &'static [(&'static str, Type)],
}

impl Table {
    /// The column names, comma-separated, for a `COPY … (…)` or a `SELECT`.
    pub(super) fn names(&self) -> String {
        self.columns
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `SELECT <columns> FROM <table> ORDER BY <order>`.
    pub(super) fn select(&self, order: &str) -> String {
        format!(
            "SELECT {} FROM {} ORDER BY {order}",
            self.names(),
            self.name
        )
    }
}

/// `registry`.
pub(super) const REGISTRY: Table = Table {
    name: "registry",
    columns: &[("updated", Type::TIMESTAMPTZ)],
};

/// `registry_tlds`.
pub(super) const REGISTRY_TLDS: Table = Table {
    name: "registry_tlds",
    columns: &[("tld", Type::TEXT), ("position", Type::INT4)],
};

/// `registrars`.
pub(super) const REGISTRARS: Table = Table {
    name: "registrars",
    columns: &[
        ("iana_id", Type::INT8),
        ("name", Type::TEXT),
        ("url", Type::TEXT),
        ("whois_server", Type::TEXT),
        ("rdap_base_url", Type::TEXT),
        ("abuse_email", Type::TEXT),
        ("abuse_phone", Type::TEXT),
        ("abuse_phone_ext", Type::TEXT),
        ("street", Type::TEXT_ARRAY),
        ("city", Type::TEXT),
        ("sp", Type::TEXT),
        ("pc", Type::TEXT),
        ("cc", Type::TEXT),
        ("voice", Type::TEXT),
        ("voice_ext", Type::TEXT),
        ("fax", Type::TEXT),
        ("fax_ext", Type::TEXT),
        ("email", Type::TEXT),
    ],
};

/// `contacts`.
pub(super) const CONTACTS: Table = Table {
    name: "contacts",
    columns: &[
        ("roid", Type::TEXT),
        ("name", Type::TEXT),
        ("org", Type::TEXT),
        ("street", Type::TEXT_ARRAY),
        ("city", Type::TEXT),
        ("sp", Type::TEXT),
        ("pc", Type::TEXT),
        ("cc", Type::TEXT),
        ("voice", Type::TEXT),
        ("voice_ext", Type::TEXT),
        ("fax", Type::TEXT),
        ("fax_ext", Type::TEXT),
        ("email", Type::TEXT),
        ("person_type", Type::TEXT),
        ("consent", Type::TEXT_ARRAY),
    ],
};

/// `hosts`.
pub(super) const HOSTS: Table = Table {
    name: "hosts",
    columns: &[
        ("name", Type::TEXT),
        ("roid", Type::TEXT),
        ("registrar", Type::INT8),
        ("created", Type::TIMESTAMPTZ),
        ("updated", Type::TIMESTAMPTZ),
    ],
};

/// `host_addresses`.
pub(super) const HOST_ADDRESSES: Table = Table {
    name: "host_addresses",
    columns: &[
        ("host", Type::TEXT),
        ("position", Type::INT4),
        ("address", Type::INET),
    ],
};

/// `host_statuses`.
pub(super) const HOST_STATUSES: Table = Table {
    name: "host_statuses",
    columns: &[
        ("host", Type::TEXT),
        ("status", Type::TEXT),
        ("position", Type::INT4),
    ],
};

/// `domains`.
pub(super) const DOMAINS: Table = Table {
    name: "domains",
    columns: &[
        ("name", Type::TEXT),
        ("roid", Type::TEXT),
        ("created", Type::TIMESTAMPTZ),
        ("updated", Type::TIMESTAMPTZ),
        ("expires", Type::TIMESTAMPTZ),
        ("registrar", Type::INT8),
    ],
};

/// `domain_statuses`.
pub(super) const DOMAIN_STATUSES: Table = Table {
    name: "domain_statuses",
    columns: &[
        ("domain", Type::TEXT),
        ("status", Type::TEXT),
        ("position", Type::INT4),
    ],
};

/// `domain_nameservers`.
pub(super) const DOMAIN_NAMESERVERS: Table = Table {
    name: "domain_nameservers",
    columns: &[
        ("domain", Type::TEXT),
        ("position", Type::INT4),
        ("host", Type::TEXT),
    ],
};

/// `domain_contacts`.
pub(super) const DOMAIN_CONTACTS: Table = Table {
    name: "domain_contacts",
    columns: &[
        ("domain", Type::TEXT),
        ("role", Type::TEXT),
        ("contact", Type::TEXT),
    ],
};

/// `domain_ds`.
pub(super) const DOMAIN_DS: Table = Table {
    name: "domain_ds",
    columns: &[
        ("domain", Type::TEXT),
        ("position", Type::INT4),
        ("key_tag", Type::INT4),
        ("algorithm", Type::INT2),
        ("digest_type", Type::INT2),
        ("digest", Type::TEXT),
    ],
};
