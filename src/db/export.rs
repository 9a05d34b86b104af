//! The tables back to JSON Lines, in the documented format and file names
//! (`registry.jsonl`, `registrars.jsonl`, `contacts.jsonl`, `hosts.jsonl`, `domains.jsonl`).
//!
//! All tables are read in one read-only REPEATABLE READ transaction, so the files are one
//! consistent state even while the database changes. Rows are streamed to the files one at a
//! time (memory does not grow with the registry), each file is written under a temporary name
//! that the loader ignores and renamed into place only when all five are complete: a failed
//! export leaves the directory as it was. The files hold personal data and are created 0600.
//!
//! Nothing is validated here: the lines are what the tables hold, and `rddsd check --database`
//! runs the loader over exactly these lines.

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use serde::Serialize;
use tokio_postgres::{Client, Row, Transaction};

use super::{tables, DbError, FILES};
use crate::registry::Timestamp;

/// Lines written, by object kind.
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

/// A `timestamptz` as the model's whole seconds (rounded down, as the loader does).
pub(crate) fn timestamp(t: SystemTime) -> Timestamp {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => Timestamp::from_unix(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        Err(e) => {
            let d = e.duration();
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            Timestamp::from_unix(-secs - i64::from(d.subsec_nanos() > 0))
        }
    }
}

fn text(t: SystemTime) -> String {
    timestamp(t).text().to_string()
}

// ===== the JSON Lines shapes (schema/registry-data.schema.json) =====

#[derive(Serialize)]
struct PhoneLine<'a> {
    number: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ext: Option<&'a str>,
}

fn phone<'a>(number: Option<&'a str>, ext: Option<&'a str>) -> Option<PhoneLine<'a>> {
    number.map(|number| PhoneLine { number, ext })
}

#[derive(Serialize)]
struct RegistryLine<'a> {
    kind: &'static str,
    tlds: &'a [String],
    updated: String,
}

#[derive(Serialize)]
struct AddressLine<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    street: Vec<&'a str>,
    city: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sp: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pc: Option<&'a str>,
    cc: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RegistrarLine<'a> {
    kind: &'static str,
    iana_id: i64,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    whois_server: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rdap_base_url: Option<&'a str>,
    abuse_email: &'a str,
    abuse_phone: PhoneLine<'a>,
    address: AddressLine<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    voice: Option<PhoneLine<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fax: Option<PhoneLine<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ContactLine<'a> {
    kind: &'static str,
    roid: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    org: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    street: Vec<&'a str>,
    city: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sp: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pc: Option<&'a str>,
    cc: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    voice: Option<PhoneLine<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fax: Option<PhoneLine<'a>>,
    email: &'a str,
    person_type: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    consent: Vec<&'a str>,
}

#[derive(Serialize)]
struct HostLine<'a> {
    kind: &'static str,
    roid: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    addresses: Vec<String>,
    statuses: Vec<&'a str>,
    registrar: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DsLine<'a> {
    key_tag: i32,
    algorithm: i16,
    digest_type: i16,
    digest: &'a str,
}

#[derive(Serialize)]
struct DomainLine<'a> {
    kind: &'static str,
    roid: &'a str,
    name: &'a str,
    statuses: Vec<&'a str>,
    created: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated: Option<String>,
    expires: String,
    registrar: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    registrant: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tech: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    nameservers: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ds: Vec<DsLine<'a>>,
}

// ===== the queries =====

const REGISTRY: &str = "SELECT r.updated, \
     ARRAY(SELECT tld FROM registry_tlds ORDER BY position) \
     FROM registry r";

// Registrars and contacts are read with the columns import writes (`super::tables`), each
// value by its column's name.

// Hosts and domains with their child rows aggregated in one pass each (hash joins), not a
// subquery per row: the replica reads a million domains this way at start.
const HOSTS_UNORDERED: &str = "SELECT h.roid, h.name, h.registrar, h.created, h.updated, \
     coalesce(a.v, '{}'), coalesce(s.v, '{}') \
     FROM hosts h \
     LEFT JOIN (SELECT host, array_agg(address ORDER BY position) AS v \
         FROM host_addresses GROUP BY host) a ON a.host = h.name \
     LEFT JOIN (SELECT host, array_agg(status ORDER BY position) AS v \
         FROM host_statuses GROUP BY host) s ON s.host = h.name";

const DOMAINS_UNORDERED: &str = "SELECT d.roid, d.name, d.created, d.updated, d.expires, \
     d.registrar, coalesce(s.v, '{}'), c.registrant, c.tech, coalesce(n.v, '{}'), \
     coalesce(x.key_tags, '{}'), coalesce(x.algorithms, '{}'), \
     coalesce(x.digest_types, '{}'), coalesce(x.digests, '{}') \
     FROM domains d \
     LEFT JOIN (SELECT domain, array_agg(status ORDER BY position) AS v \
         FROM domain_statuses GROUP BY domain) s ON s.domain = d.name \
     LEFT JOIN (SELECT domain, max(contact) FILTER (WHERE role = 'registrant') AS registrant, \
         max(contact) FILTER (WHERE role = 'tech') AS tech \
         FROM domain_contacts GROUP BY domain) c ON c.domain = d.name \
     LEFT JOIN (SELECT domain, array_agg(host ORDER BY position) AS v \
         FROM domain_nameservers GROUP BY domain) n ON n.domain = d.name \
     LEFT JOIN (SELECT domain, array_agg(key_tag ORDER BY position) AS key_tags, \
         array_agg(algorithm ORDER BY position) AS algorithms, \
         array_agg(digest_type ORDER BY position) AS digest_types, \
         array_agg(digest ORDER BY position) AS digests \
         FROM domain_ds GROUP BY domain) x ON x.domain = d.name";

/// How one table's row becomes a JSON line.
pub(crate) type RowLine = fn(&Row, &mut Vec<u8>, &Path) -> Result<(), DbError>;

/// The statement that reads every row of `table` (`registrars`, `contacts`, `hosts` or
/// `domains`) in no particular order, and how a row becomes its JSON line: the replica's
/// full read. `None` for another name.
pub(crate) fn unordered(table: &str) -> Option<(String, RowLine)> {
    Some(match table {
        "registrars" => (
            format!("SELECT {} FROM registrars", tables::REGISTRARS.names()),
            registrar::<Vec<u8>>,
        ),
        "contacts" => (
            format!("SELECT {} FROM contacts", tables::CONTACTS.names()),
            contact::<Vec<u8>>,
        ),
        "hosts" => (HOSTS_UNORDERED.to_string(), host::<Vec<u8>>),
        "domains" => (DOMAINS_UNORDERED.to_string(), domain::<Vec<u8>>),
        _ => return None,
    })
}

/// Write the database's data set into `dir` (created if missing). The directory may hold no
/// other `*.jsonl` file, since the loader would read it as part of the set.
///
/// # Errors
/// A schema that is not the current one, a failed query, or a file that cannot be written;
/// the directory's files are then as they were.
pub async fn export(client: &mut Client, dir: &Path) -> Result<Counts, DbError> {
    super::migrate::require_current(client).await?;
    prepare_dir(dir)?;
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(|e| DbError::sql("cannot start a transaction", &e))?;
    let mut files = Files::new(dir);
    let result = write_all(&tx, &mut files).await;
    // Read-only: ending it either way changes nothing.
    let _ = tx.rollback().await;
    match result {
        Ok(counts) => {
            files.place()?;
            Ok(counts)
        }
        Err(e) => {
            files.discard();
            Err(e)
        }
    }
}

fn prepare_dir(dir: &Path) -> Result<(), DbError> {
    let io = |e: std::io::Error| DbError::Io(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let name = entry.map_err(io)?.file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".jsonl") && !FILES.iter().any(|(f, _)| *f == name) {
            return Err(DbError::Io(format!(
                "{}: holds {name}, which is not a file this export writes; the loader would read it with the export: use an empty directory",
                dir.display()
            )));
        }
    }
    Ok(())
}

/// The five files being written, under temporary names until [`Files::place`].
struct Files {
    dir: PathBuf,
    open: Vec<(PathBuf, PathBuf)>,
}

impl Files {
    fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            open: Vec::new(),
        }
    }

    fn create(&mut self, name: &str) -> Result<std::io::BufWriter<std::fs::File>, DbError> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.dir.join(name);
        // Not `*.jsonl`: a loader reading the directory meanwhile does not see it.
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(crate::files::PRIVATE)
            .open(&tmp)
            .map_err(|e| DbError::Io(format!("{}: {e}", tmp.display())))?;
        self.open.push((tmp, path));
        Ok(std::io::BufWriter::with_capacity(256 * 1024, file))
    }

    fn place(&mut self) -> Result<(), DbError> {
        for (tmp, path) in std::mem::take(&mut self.open) {
            std::fs::rename(&tmp, &path)
                .map_err(|e| DbError::Io(format!("{}: {e}", path.display())))?;
        }
        if let Ok(d) = std::fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    fn discard(&mut self) {
        for (tmp, _) in std::mem::take(&mut self.open) {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        self.discard();
    }
}

/// One JSON line.
fn line(out: &mut impl Write, file: &Path, value: &impl Serialize) -> Result<(), DbError> {
    let io = |e: std::io::Error| DbError::Io(format!("{}: {e}", file.display()));
    serde_json::to_writer(&mut *out, value).map_err(|e| DbError::Io(e.to_string()))?;
    out.write_all(b"\n").map_err(io)
}

fn finish(out: std::io::BufWriter<std::fs::File>, file: &Path) -> Result<(), DbError> {
    let io = |e: std::io::Error| DbError::Io(format!("{}: {e}", file.display()));
    let f = out.into_inner().map_err(|e| io(e.into_error()))?;
    f.sync_all().map_err(io)
}

/// A column of a row of one of our own queries.
fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    i: impl tokio_postgres::row::RowIndex + std::fmt::Display,
    table: &str,
) -> Result<T, DbError> {
    row.try_get(i)
        .map_err(|e| DbError::sql(format!("cannot read {table}"), &e))
}

/// Stream the rows of `sql`, handing each to `each`.
async fn rows(
    tx: &Transaction<'_>,
    sql: &str,
    table: &str,
    mut each: impl FnMut(&Row) -> Result<(), DbError>,
) -> Result<u64, DbError> {
    let stream = tx
        .query_raw(sql, std::iter::empty::<&str>())
        .await
        .map_err(|e| DbError::sql(format!("cannot read {table}"), &e))?;
    let mut stream = std::pin::pin!(stream);
    let mut n = 0;
    while let Some(row) = stream.next().await {
        let row = row.map_err(|e| DbError::sql(format!("cannot read {table}"), &e))?;
        each(&row)?;
        n += 1;
    }
    Ok(n)
}

async fn write_all(tx: &Transaction<'_>, files: &mut Files) -> Result<Counts, DbError> {
    let mut counts = Counts::default();
    for (name, table) in FILES {
        let path = files.dir.join(name);
        let mut out = files.create(name)?;
        let out_ref = &mut out;
        let n = match table {
            "registry" => {
                rows(tx, REGISTRY, table, |r| {
                    let updated: SystemTime = get(r, 0, table)?;
                    let tlds: Vec<String> = get(r, 1, table)?;
                    line(
                        out_ref,
                        &path,
                        &RegistryLine {
                            kind: "registry",
                            tlds: &tlds,
                            updated: text(updated),
                        },
                    )
                })
                .await?
            }
            "registrars" => {
                let sql = tables::REGISTRARS.select("iana_id");
                rows(tx, &sql, table, |r| registrar(r, out_ref, &path)).await?
            }
            "contacts" => {
                let sql = tables::CONTACTS.select("roid COLLATE \"C\"");
                rows(tx, &sql, table, |r| contact(r, out_ref, &path)).await?
            }
            "hosts" => {
                let sql = format!("{HOSTS_UNORDERED} ORDER BY h.name COLLATE \"C\"");
                rows(tx, &sql, table, |r| host(r, out_ref, &path)).await?
            }
            _ => {
                let sql = format!("{DOMAINS_UNORDERED} ORDER BY d.name COLLATE \"C\"");
                rows(tx, &sql, table, |r| domain(r, out_ref, &path)).await?
            }
        };
        finish(out, &path)?;
        match table {
            "registrars" => counts.registrars = n,
            "contacts" => counts.contacts = n,
            "hosts" => counts.hosts = n,
            "domains" => counts.domains = n,
            _ => {}
        }
    }
    Ok(counts)
}

fn registrar<W: Write>(r: &Row, out: &mut W, path: &Path) -> Result<(), DbError> {
    let t = "registrars";
    let street: Vec<&str> = get(r, "street", t)?;
    line(
        out,
        path,
        &RegistrarLine {
            kind: "registrar",
            iana_id: get(r, "iana_id", t)?,
            name: get(r, "name", t)?,
            url: get(r, "url", t)?,
            whois_server: get(r, "whois_server", t)?,
            rdap_base_url: get(r, "rdap_base_url", t)?,
            abuse_email: get(r, "abuse_email", t)?,
            abuse_phone: PhoneLine {
                number: get(r, "abuse_phone", t)?,
                ext: get(r, "abuse_phone_ext", t)?,
            },
            address: AddressLine {
                street,
                city: get(r, "city", t)?,
                sp: get(r, "sp", t)?,
                pc: get(r, "pc", t)?,
                cc: get(r, "cc", t)?,
            },
            voice: phone(get(r, "voice", t)?, get(r, "voice_ext", t)?),
            fax: phone(get(r, "fax", t)?, get(r, "fax_ext", t)?),
            email: get(r, "email", t)?,
        },
    )
}

fn contact<W: Write>(r: &Row, out: &mut W, path: &Path) -> Result<(), DbError> {
    let t = "contacts";
    line(
        out,
        path,
        &ContactLine {
            kind: "contact",
            roid: get(r, "roid", t)?,
            name: get(r, "name", t)?,
            org: get(r, "org", t)?,
            street: get(r, "street", t)?,
            city: get(r, "city", t)?,
            sp: get(r, "sp", t)?,
            pc: get(r, "pc", t)?,
            cc: get(r, "cc", t)?,
            voice: phone(get(r, "voice", t)?, get(r, "voice_ext", t)?),
            fax: phone(get(r, "fax", t)?, get(r, "fax_ext", t)?),
            email: get(r, "email", t)?,
            person_type: get(r, "person_type", t)?,
            consent: get(r, "consent", t)?,
        },
    )
}

fn host<W: Write>(r: &Row, out: &mut W, path: &Path) -> Result<(), DbError> {
    let t = "hosts";
    let addresses: Vec<IpAddr> = get(r, 5, t)?;
    line(
        out,
        path,
        &HostLine {
            kind: "host",
            roid: get(r, 0, t)?,
            name: get(r, 1, t)?,
            addresses: addresses.iter().map(IpAddr::to_string).collect(),
            statuses: get(r, 6, t)?,
            registrar: get(r, 2, t)?,
            created: get::<Option<SystemTime>>(r, 3, t)?.map(text),
            updated: get::<Option<SystemTime>>(r, 4, t)?.map(text),
        },
    )
}

fn domain<W: Write>(r: &Row, out: &mut W, path: &Path) -> Result<(), DbError> {
    let t = "domains";
    let key_tags: Vec<i32> = get(r, 10, t)?;
    let algorithms: Vec<i16> = get(r, 11, t)?;
    let digest_types: Vec<i16> = get(r, 12, t)?;
    let digests: Vec<&str> = get(r, 13, t)?;
    let ds = key_tags
        .iter()
        .zip(&algorithms)
        .zip(&digest_types)
        .zip(&digests)
        .map(|(((k, a), d), g)| DsLine {
            key_tag: *k,
            algorithm: *a,
            digest_type: *d,
            digest: g,
        })
        .collect();
    line(
        out,
        path,
        &DomainLine {
            kind: "domain",
            roid: get(r, 0, t)?,
            name: get(r, 1, t)?,
            statuses: get(r, 6, t)?,
            created: text(get(r, 2, t)?),
            updated: get::<Option<SystemTime>>(r, 3, t)?.map(text),
            expires: text(get(r, 4, t)?),
            registrar: get(r, 5, t)?,
            registrant: get(r, 7, t)?,
            tech: get(r, 8, t)?,
            nameservers: get(r, 9, t)?,
            ds,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_down_to_whole_seconds_on_both_sides_of_the_epoch() {
        let at = |secs: i64| super::super::import::system_time(Timestamp::from_unix(secs));
        for secs in [0, 1, -1, 1_700_000_000, -62_135_596_800, 253_402_300_799] {
            assert_eq!(timestamp(at(secs)).unix(), secs);
        }
        let half = std::time::Duration::from_millis(500);
        assert_eq!(timestamp(at(10) + half).unix(), 10);
        assert_eq!(timestamp(at(-10) + half).unix(), -10);
        assert_eq!(text(at(0)), "1970-01-01T00:00:00Z");
    }
}
