//! A validated data set into the tables: everything replaced in one transaction, by binary COPY.
//!
//! The caller validates first (the JSON Lines loader), so only a data set that `rddsd check`
//! accepts reaches this point, in its normalised form (A-label names, upper-case DS digests,
//! references spelled as the referenced record spells its ROID). The tables are emptied and
//! filled inside one transaction: a failure at any point rolls all of it back, and readers see
//! the old data until the commit, then the new. The per-object change rows are switched off for
//! the transaction (`rddsd.bulk`); one `all` change is recorded instead, and NOTIFYed.

use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Transaction};

use super::tables;
use super::DbError;
use crate::registry::{ContactField, Snapshot, Timestamp};

/// Rows written, by object kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Domains.
    pub domains: u64,
    /// Hosts.
    pub hosts: u64,
    /// Contacts.
    pub contacts: u64,
    /// Registrars.
    pub registrars: u64,
}

/// Every data table, parents before children; TRUNCATE takes them all at once.
pub const DATA_TABLES: &[&str] = &[
    "registry",
    "registry_tlds",
    "registrars",
    "contacts",
    "hosts",
    "host_addresses",
    "host_statuses",
    "domains",
    "domain_statuses",
    "domain_nameservers",
    "domain_contacts",
    "domain_ds",
];

/// A model time as PostgreSQL's `timestamptz`. The loader keeps years 1 to 9999, all of which
/// `SystemTime` holds on the platforms rddsd runs on.
pub(crate) fn system_time(t: Timestamp) -> SystemTime {
    let secs = t.unix();
    let d = Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 {
        UNIX_EPOCH.checked_add(d)
    } else {
        UNIX_EPOCH.checked_sub(d)
    }
    .unwrap_or(UNIX_EPOCH)
}

/// Replace the registration data in the database with `snapshot`.
///
/// # Errors
/// A schema that is not the current one, or any failed statement; the transaction is then
/// rolled back and the tables keep their previous content.
pub async fn import(client: &mut Client, snapshot: &Snapshot) -> Result<Counts, DbError> {
    super::migrate::require_current(client).await?;
    let tx = client
        .transaction()
        .await
        .map_err(|e| DbError::sql("cannot start a transaction", &e))?;
    tx.batch_execute(&format!(
        "SET LOCAL rddsd.bulk = 'on'; TRUNCATE {}",
        DATA_TABLES.join(", ")
    ))
    .await
    .map_err(|e| DbError::sql("cannot empty the data tables", &e))?;
    let foreign_keys = drop_foreign_keys(&tx).await?;
    let counts = fill(&tx, snapshot).await?;
    restore_foreign_keys(&tx, &foreign_keys).await?;
    // Planner statistics for the new content, in the same transaction: without them, right
    // after an import of a million domains the lookup statements were planned as scans of whole
    // tables (about 80 ms a lookup instead of 0.3 to 2 ms) until autovacuum came round.
    tx.batch_execute(&format!("ANALYZE {}", DATA_TABLES.join(", ")))
        .await
        .map_err(|e| DbError::sql("cannot gather statistics of the data tables", &e))?;
    tx.batch_execute("SET LOCAL rddsd.bulk = 'off'")
        .await
        .map_err(|e| DbError::sql("cannot record the change", &e))?;
    let serial: i64 = tx
        .query_one(
            // Dated by the data set's own update time: the data is as of then, and a node
            // serving it reports the latest change's time as `last update of RDAP database`.
            "INSERT INTO changes (kind, at) \
             VALUES ('all', coalesce((SELECT updated FROM registry), now())) RETURNING serial",
            &[],
        )
        .await
        .and_then(|r| r.try_get(0))
        .map_err(|e| DbError::sql("cannot record the change", &e))?;
    tx.execute(
        "SELECT pg_notify('rddsd_changes', $1)",
        &[&serial.to_string()],
    )
    .await
    .map_err(|e| DbError::sql("cannot notify the change", &e))?;
    tx.commit()
        .await
        .map_err(|e| DbError::sql("cannot commit the import", &e))?;
    Ok(counts)
}

/// The foreign keys between the data tables, as (table, name, definition).
type ForeignKeys = Vec<(String, String, String)>;

/// Drop the foreign keys of the data tables for the load. Checked row by row, they were most of
/// an import's time (a lookup per reference, millions for a large registry); added back after
/// the COPYs, each is validated by one join. The schema stays the one source of their
/// definitions: they are read from the catalogue, not written here. Inside the transaction, so
/// a failure anywhere restores them with everything else.
async fn drop_foreign_keys(tx: &Transaction<'_>) -> Result<ForeignKeys, DbError> {
    let tables: Vec<String> = DATA_TABLES.iter().map(|t| (*t).to_string()).collect();
    let rows = tx
        .query(
            "SELECT c.conrelid::regclass::text, c.conname::text, pg_get_constraintdef(c.oid) \
             FROM pg_constraint c \
             WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY($1) \
             ORDER BY c.conrelid::regclass::text, c.conname",
            &[&tables],
        )
        .await
        .map_err(|e| DbError::sql("cannot read the foreign keys", &e))?;
    let mut keys = Vec::new();
    for r in rows {
        let key: (String, String, String) = (
            r.try_get(0)
                .map_err(|e| DbError::sql("cannot read the foreign keys", &e))?,
            r.try_get(1)
                .map_err(|e| DbError::sql("cannot read the foreign keys", &e))?,
            r.try_get(2)
                .map_err(|e| DbError::sql("cannot read the foreign keys", &e))?,
        );
        tx.batch_execute(&format!(
            "ALTER TABLE {} DROP CONSTRAINT {}",
            key.0,
            quote(&key.1)
        ))
        .await
        .map_err(|e| DbError::sql(format!("cannot drop foreign key {}", key.1), &e))?;
        keys.push(key);
    }
    Ok(keys)
}

async fn restore_foreign_keys(tx: &Transaction<'_>, keys: &ForeignKeys) -> Result<(), DbError> {
    for (table, name, definition) in keys {
        tx.batch_execute(&format!(
            "ALTER TABLE {table} ADD CONSTRAINT {} {definition}",
            quote(name)
        ))
        .await
        .map_err(|e| DbError::sql(format!("cannot restore foreign key {name}"), &e))?;
    }
    Ok(())
}

/// An SQL identifier, quoted.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// One table's COPY in progress.
struct Copy {
    table: &'static str,
    writer: Pin<Box<BinaryCopyInWriter>>,
}

impl Copy {
    async fn start(tx: &Transaction<'_>, spec: &tables::Table) -> Result<Self, DbError> {
        let table = spec.name;
        let types: Vec<Type> = spec.columns.iter().map(|(_, t)| t.clone()).collect();
        let sink = tx
            .copy_in(&format!(
                "COPY {table} ({}) FROM STDIN (FORMAT binary)",
                spec.names()
            ))
            .await
            .map_err(|e| DbError::sql(format!("cannot start the copy into {table}"), &e))?;
        Ok(Self {
            table,
            writer: Box::pin(BinaryCopyInWriter::new(sink, &types)),
        })
    }

    async fn row(&mut self, values: &[&(dyn ToSql + Sync)]) -> Result<(), DbError> {
        let table = self.table;
        self.writer
            .as_mut()
            .write(values)
            .await
            .map_err(|e| DbError::sql(format!("cannot copy into {table}"), &e))
    }

    async fn finish(mut self) -> Result<u64, DbError> {
        let table = self.table;
        self.writer
            .as_mut()
            .finish()
            .await
            .map_err(|e| DbError::sql(format!("cannot copy into {table}"), &e))
    }
}

/// A list position as the `integer` column holds it. Lists are bounded by the loader's line
/// length, far below `i32::MAX` entries.
fn pos(i: usize) -> i32 {
    i32::try_from(i).unwrap_or(i32::MAX)
}

async fn fill(tx: &Transaction<'_>, snap: &Snapshot) -> Result<Counts, DbError> {
    let mut c = Copy::start(tx, &tables::REGISTRY).await?;
    c.row(&[&system_time(*snap.updated())]).await?;
    c.finish().await?;
    let mut c = Copy::start(tx, &tables::REGISTRY_TLDS).await?;
    for (i, tld) in snap.tlds().iter().enumerate() {
        c.row(&[tld, &pos(i)]).await?;
    }
    c.finish().await?;
    Ok(Counts {
        registrars: registrars(tx, snap).await?,
        contacts: contacts(tx, snap).await?,
        hosts: hosts(tx, snap).await?,
        domains: domains(tx, snap).await?,
    })
}

async fn registrars(tx: &Transaction<'_>, snap: &Snapshot) -> Result<u64, DbError> {
    let mut c = Copy::start(tx, &tables::REGISTRARS).await?;
    for r in snap.registrars() {
        let a = &r.address;
        c.row(&[
            &i64::from(r.iana_id),
            &r.name,
            &r.url,
            &r.whois_server,
            &r.rdap_base_url,
            &r.abuse_email,
            &r.abuse_phone.number,
            &r.abuse_phone.ext,
            &a.street,
            &a.city,
            &a.sp,
            &a.pc,
            &a.cc,
            &r.voice.as_ref().map(|p| &p.number),
            &r.voice.as_ref().and_then(|p| p.ext.as_ref()),
            &r.fax.as_ref().map(|p| &p.number),
            &r.fax.as_ref().and_then(|p| p.ext.as_ref()),
            &r.email,
        ])
        .await?;
    }
    c.finish().await
}

async fn contacts(tx: &Transaction<'_>, snap: &Snapshot) -> Result<u64, DbError> {
    let mut c = Copy::start(tx, &tables::CONTACTS).await?;
    for k in snap.contacts() {
        let street: Vec<&str> = k.street().iter().collect();
        let consent: Vec<&str> = ContactField::ALL
            .iter()
            .filter(|f| k.consent.allows(**f))
            .map(|f| f.key())
            .collect();
        let person = match k.person {
            crate::registry::PersonType::Natural => "natural",
            crate::registry::PersonType::Legal => "legal",
        };
        c.row(&[
            &k.roid.as_str(),
            &k.name(),
            &k.org(),
            &street,
            &k.city(),
            &k.sp(),
            &k.pc(),
            &k.cc(),
            &k.voice().map(|p| p.number),
            &k.voice().and_then(|p| p.ext),
            &k.fax().map(|p| p.number),
            &k.fax().and_then(|p| p.ext),
            &k.email(),
            &person,
            &consent,
        ])
        .await?;
    }
    c.finish().await
}

async fn hosts(tx: &Transaction<'_>, snap: &Snapshot) -> Result<u64, DbError> {
    let hosts = snap.hosts();
    let mut c = Copy::start(tx, &tables::HOSTS).await?;
    for h in &hosts {
        c.row(&[
            &h.name.ascii(),
            &h.roid.as_str(),
            &i64::from(h.registrar),
            &h.created.map(system_time),
            &h.updated.map(system_time),
        ])
        .await?;
    }
    let n = c.finish().await?;
    let mut c = Copy::start(tx, &tables::HOST_ADDRESSES).await?;
    for h in &hosts {
        for (i, a) in h.addresses.iter().enumerate() {
            c.row(&[&h.name.ascii(), &pos(i), a]).await?;
        }
    }
    c.finish().await?;
    let mut c = Copy::start(tx, &tables::HOST_STATUSES).await?;
    for h in &hosts {
        for (i, s) in h.statuses.iter().enumerate() {
            c.row(&[&h.name.ascii(), &s.epp(), &pos(i)]).await?;
        }
    }
    c.finish().await?;
    Ok(n)
}

async fn domains(tx: &Transaction<'_>, snap: &Snapshot) -> Result<u64, DbError> {
    let domains = snap.domains();
    let mut c = Copy::start(tx, &tables::DOMAINS).await?;
    for d in &domains {
        c.row(&[
            &d.name.ascii(),
            &d.roid.as_str(),
            &system_time(d.created),
            &d.updated.map(system_time),
            &system_time(d.expires),
            &i64::from(d.registrar),
        ])
        .await?;
    }
    let n = c.finish().await?;
    let mut c = Copy::start(tx, &tables::DOMAIN_STATUSES).await?;
    for d in &domains {
        for (i, s) in d.statuses.iter().enumerate() {
            c.row(&[&d.name.ascii(), &s.epp(), &pos(i)]).await?;
        }
    }
    c.finish().await?;
    let mut c = Copy::start(tx, &tables::DOMAIN_NAMESERVERS).await?;
    for d in &domains {
        for (i, ns) in d.nameservers.iter().enumerate() {
            c.row(&[&d.name.ascii(), &pos(i), &ns.ascii()]).await?;
        }
    }
    c.finish().await?;
    let mut c = Copy::start(tx, &tables::DOMAIN_CONTACTS).await?;
    for d in &domains {
        for (role, roid) in [("registrant", &d.registrant), ("tech", &d.tech)] {
            if let Some(roid) = roid {
                c.row(&[&d.name.ascii(), &role, &roid.as_str()]).await?;
            }
        }
    }
    c.finish().await?;
    let mut c = Copy::start(tx, &tables::DOMAIN_DS).await?;
    for d in &domains {
        for (i, ds) in d.ds.iter().enumerate() {
            c.row(&[
                &d.name.ascii(),
                &pos(i),
                &i32::from(ds.key_tag),
                &i16::from(ds.algorithm),
                &i16::from(ds.digest_type),
                &&*ds.digest,
            ])
            .await?;
        }
    }
    c.finish().await?;
    Ok(n)
}
