//! One batch of the change log, turned into a delta: the change rows not applied yet, and the
//! current lines of the objects they name, read in one consistent snapshot of the database;
//! then a delta in the delta-file format, which the loader's own rules check and the snapshot
//! applies as it applies a delta file.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::SystemTime;

use tokio_postgres::Transaction;

use super::super::export::timestamp;
use super::super::follow::{Position, Seen, POLL};
use crate::registry::load::delta_file::{parse_delta, Delta};
use crate::registry::load::LoadErrors;
use crate::registry::{Roid, Snapshot, Timestamp};

/// Change rows read per batch.
pub(super) const BATCH: i64 = 10_000;

const DOMAINS: &str = "SELECT d.name, rddsd_domain_line(d) FROM domains d WHERE d.name = ANY($1)";
const HOSTS: &str = "SELECT h.name, rddsd_host_line(h) FROM hosts h WHERE h.name = ANY($1)";
const CONTACTS: &str =
    "SELECT upper(c.roid), rddsd_contact_line(c) FROM contacts c WHERE upper(c.roid) = ANY($1)";
const REGISTRARS: &str = "SELECT r.iana_id::text, rddsd_registrar_line(r) FROM registrars r \
    WHERE r.iana_id = ANY($1::bigint[])";

/// What one batch asks of the replica.
pub(super) enum Batch {
    /// Nothing new.
    Nothing,
    /// Apply this delta, then move to this position; `rows` change rows were new.
    Apply {
        delta: Box<Delta>,
        position: Position,
        rows: usize,
        /// A full batch: more rows may wait.
        more: bool,
    },
    /// The tables must be read again (a TRUNCATE or import, the zones changed, or too many
    /// serials to wait for); why.
    Resync(&'static str),
}

/// The objects a batch names, by kind.
#[derive(Default)]
struct Named {
    domains: BTreeSet<String>,
    hosts: BTreeSet<String>,
    contacts: BTreeSet<String>,
    registrars: BTreeSet<i64>,
    registry: bool,
}

/// Read the next batch in `tx` (REPEATABLE READ), against the snapshot being served.
///
/// # Errors
/// A statement failed; or the objects' lines break the data rules
/// ([`BatchError::Refused`]: the caller reads the tables again, with the loader's rules for
/// bad records).
pub(super) async fn next_batch(
    tx: &Transaction<'_>,
    from: &Position,
    served: &Snapshot,
) -> Result<Batch, BatchError> {
    let gaps: Vec<i64> = from.gaps.keys().copied().collect();
    let rows = tx
        .query(POLL, &[&from.newest, &gaps, &BATCH])
        .await
        .map_err(BatchError::sql)?;
    let mut position = from.clone();
    let mut named = Named::default();
    let mut latest: Option<Timestamp> = None;
    let mut new_rows = 0;
    for row in &rows {
        let (Ok(serial), Ok(kind), Ok(key), Ok(at)) = (
            row.try_get::<_, i64>(0),
            row.try_get::<_, &str>(1),
            row.try_get::<_, Option<&str>>(2),
            row.try_get::<_, SystemTime>(3),
        ) else {
            return Err(BatchError::Sql("a change row could not be read".into()));
        };
        match position.see(serial) {
            Seen::Before => continue,
            Seen::TooFar => return Ok(Batch::Resync("too many change serials to wait for")),
            Seen::New => {}
        }
        new_rows += 1;
        let at = timestamp(at);
        latest = Some(latest.map_or(at, |l| l.max(at)));
        match (kind, key) {
            ("domain", Some(k)) => {
                named.domains.insert(k.to_string());
            }
            ("host", Some(k)) => {
                named.hosts.insert(k.to_string());
            }
            ("contact", Some(k)) => {
                named.contacts.insert(Roid::key(k));
            }
            ("registrar", Some(k)) => match k.parse() {
                Ok(id) => {
                    named.registrars.insert(id);
                }
                Err(_) => return Ok(Batch::Resync("a registrar change without its IANA ID")),
            },
            ("registry", _) => named.registry = true,
            // `all` (an import, a TRUNCATE), or a kind this binary does not know.
            _ => {
                return Ok(Batch::Resync(
                    "the change log says everything may have changed",
                ))
            }
        }
    }
    if new_rows == 0 {
        // Only rows seen before (a gap's serial read again is never one): the position may
        // still have moved (expired gaps).
        return Ok(Batch::Nothing);
    }
    let mut updated = latest.unwrap_or_else(|| *served.updated());
    if named.registry {
        let row = tx
            .query_one(super::super::follow::REGISTRY, &[])
            .await
            .map_err(BatchError::sql)?;
        let tlds: Vec<String> = row.try_get(0).map_err(BatchError::sql)?;
        if tlds.as_slice() != served.tlds() {
            return Ok(Batch::Resync("the registry's zones changed"));
        }
        if let Ok(Some(at)) = row.try_get::<_, Option<SystemTime>>(1) {
            updated = updated.max(timestamp(at));
        }
    }
    let text = delta_text(tx, &named, served, updated).await?;
    let delta = parse_delta("database changes", text.as_bytes()).map_err(BatchError::Refused)?;
    let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= BATCH;
    Ok(Batch::Apply {
        delta: Box::new(delta),
        position,
        rows: new_rows,
        more,
    })
}

/// The delta of the named objects: each one's current line, or a delete of one that is gone
/// (and served; one created and deleted between two batches is neither).
async fn delta_text(
    tx: &Transaction<'_>,
    named: &Named,
    served: &Snapshot,
    updated: Timestamp,
) -> Result<String, BatchError> {
    let mut lines = String::new();
    let mut count = 0usize;
    let mut each = |found: Vec<(String, String)>,
                    asked: Vec<String>,
                    object: &str,
                    field: &str,
                    served_has: &dyn Fn(&str) -> bool|
     -> Result<(), BatchError> {
        let found_keys: BTreeSet<&str> = found.iter().map(|(k, _)| k.as_str()).collect();
        for (_, line) in &found {
            lines.push_str(line);
            lines.push('\n');
            count += 1;
        }
        for key in asked.iter().filter(|k| !found_keys.contains(k.as_str())) {
            if served_has(key) {
                let value = if field == "ianaId" {
                    key.clone()
                } else {
                    serde_json::Value::from(key.as_str()).to_string()
                };
                let _ = writeln!(
                    lines,
                    r#"{{"kind":"delete","object":"{object}","{field}":{value}}}"#
                );
                count += 1;
            }
        }
        Ok(())
    };
    let domains: Vec<String> = named.domains.iter().cloned().collect();
    let hosts: Vec<String> = named.hosts.iter().cloned().collect();
    let contacts: Vec<String> = named.contacts.iter().cloned().collect();
    let registrars: Vec<i64> = named.registrars.iter().copied().collect();
    let read = |rows: Vec<tokio_postgres::Row>| -> Result<Vec<(String, String)>, BatchError> {
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get::<_, String>(0).map_err(BatchError::sql)?,
                    r.try_get::<_, String>(1).map_err(BatchError::sql)?,
                ))
            })
            .collect()
    };
    // Registrars and contacts before hosts and domains: the delta is a set, but its lines are
    // easier to follow in the data's own order.
    if !registrars.is_empty() {
        let rows = tx
            .query(REGISTRARS, &[&registrars])
            .await
            .map_err(BatchError::sql)?;
        each(
            read(rows)?,
            registrars.iter().map(i64::to_string).collect(),
            "registrar",
            "ianaId",
            &|k| {
                k.parse()
                    .is_ok_and(|id| served.registrars.contains_key(&id))
            },
        )?;
    }
    if !contacts.is_empty() {
        let rows = tx
            .query(CONTACTS, &[&contacts])
            .await
            .map_err(BatchError::sql)?;
        each(read(rows)?, contacts, "contact", "roid", &|k| {
            served.contacts.contains_key(k)
        })?;
    }
    if !hosts.is_empty() {
        let rows = tx.query(HOSTS, &[&hosts]).await.map_err(BatchError::sql)?;
        each(read(rows)?, hosts, "host", "name", &|k| {
            served.hosts.contains_key(k)
        })?;
    }
    if !domains.is_empty() {
        let rows = tx
            .query(DOMAINS, &[&domains])
            .await
            .map_err(BatchError::sql)?;
        each(read(rows)?, domains, "domain", "name", &|k| {
            served.domains.contains_key(k)
        })?;
    }
    Ok(format!(
        "{{\"kind\":\"delta\",\"updated\":\"{}\",\"changes\":{count}}}\n{lines}",
        updated.text().as_str()
    ))
}

/// Why a batch could not be read or applied.
#[derive(Debug, thiserror::Error)]
pub(super) enum BatchError {
    /// PostgreSQL's message, without its detail.
    #[error("{0}")]
    Sql(String),
    /// The changed objects break the data rules (each error names table, line and field).
    #[error("the changed records were refused:\n{0}")]
    Refused(LoadErrors),
}

impl BatchError {
    fn sql(e: tokio_postgres::Error) -> Self {
        Self::Sql(super::super::describe(&e))
    }
}
