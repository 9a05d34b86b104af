//! The record of disclosure requests in PostgreSQL (`[requests] log_database = true`, issue
//! #25): one chain for every node of a cluster and the officer's CLI, with the entries kept as
//! their exact lines (the file store's format, so [`crate::requests::chain::verify`] checks
//! them) and the requester's details in a table beside them.
//!
//! A change locks the one row of `request_log_head` (`SELECT … FOR UPDATE`), reads and
//! verifies the chain, applies the change to the record as it is then, inserts the details and
//! the entries, moves the head and commits: changes from any node or the CLI take turns, so the
//! chain never forks, and each node's next read sees them (no reload). The head row also guards
//! the end of the chain: entries deleted from its end are caught.
//!
//! The tables (`request_log`, `request_log_head`, `request_details`) come with migration
//! `0005_requests` (`rddsd db migrate`); a database without them is refused with that advice.

use tokio_postgres::{Client, IsolationLevel};

use crate::registry::Timestamp;
use crate::requests::chain::{self, Book, Entry};
use crate::requests::retention::{self, Pruned};
use crate::requests::store::{apply_change, BoxFuture, Change, Store, StoreError};
use crate::requests::Details;

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct DbStore {
    url: String,
}

/// Open the store at `url` (connections are made per operation).
pub fn open(url: &str) -> std::sync::Arc<dyn Store> {
    std::sync::Arc::new(DbStore {
        url: url.to_string(),
    })
}

fn db(what: &str, e: &tokio_postgres::Error) -> StoreError {
    StoreError::Io(format!("{what}: {}", super::describe(e)))
}

impl DbStore {
    async fn client(&self) -> Result<Client, StoreError> {
        let client = super::connect(&self.url)
            .await
            .map_err(|e| StoreError::Io(e.to_string()))?;
        let row = client
            .query_one(
                "SELECT to_regclass('request_log_head') IS NOT NULL AND to_regclass('request_details') IS NOT NULL",
                &[],
            )
            .await
            .map_err(|e| db("request record: schema", &e))?;
        if !row.get::<_, bool>(0) {
            return Err(StoreError::Io(
                "the database has no request record tables (migration 0005_requests): run `rddsd db migrate` first".into(),
            ));
        }
        Ok(client)
    }

    /// The chain's lines, as the file store keeps them.
    async fn lines(tx: &tokio_postgres::Transaction<'_>) -> Result<Vec<u8>, StoreError> {
        let rows = tx
            .query("SELECT line FROM request_log ORDER BY seq", &[])
            .await
            .map_err(|e| db("request record: read", &e))?;
        let mut data = Vec::new();
        for r in rows {
            let line: String = r.get(0);
            data.extend_from_slice(line.as_bytes());
            data.push(b'\n');
        }
        Ok(data)
    }

    /// A transaction for a change of the record: committed durably (`synchronous_commit`).
    async fn begin_change(
        client: &mut tokio_postgres::Client,
    ) -> Result<tokio_postgres::Transaction<'_>, StoreError> {
        let tx = client
            .transaction()
            .await
            .map_err(|e| db("request record: begin", &e))?;
        tx.batch_execute("SET LOCAL synchronous_commit = on")
            .await
            .map_err(|e| db("request record: synchronous_commit", &e))?;
        Ok(tx)
    }

    /// Read and verify the chain within `tx` (whose head row the caller may have locked).
    async fn book(tx: &tokio_postgres::Transaction<'_>, lock: bool) -> Result<Book, StoreError> {
        Ok(Self::book_and_lines(tx, lock).await?.0)
    }

    /// [`Self::book`], with the chain's lines it was verified from.
    async fn book_and_lines(
        tx: &tokio_postgres::Transaction<'_>,
        lock: bool,
    ) -> Result<(Book, Vec<u8>), StoreError> {
        let head_sql = if lock {
            "SELECT next_seq, head FROM request_log_head FOR UPDATE"
        } else {
            "SELECT next_seq, head FROM request_log_head"
        };
        let row = tx
            .query_one(head_sql, &[])
            .await
            .map_err(|e| db("request record: head", &e))?;
        let next_seq: i64 = row.get(0);
        let head: String = row.get(1);
        let data = Self::lines(tx).await?;
        let book = chain::verify(&data)?;
        if i64::try_from(book.next_seq).ok() != Some(next_seq) || book.head != head {
            return Err(StoreError::Io(format!(
                "request record in the database: the chain ends at seq {} but the head row says {}: entries were removed from its end",
                book.next_seq.saturating_sub(1),
                next_seq.saturating_sub(1)
            )));
        }
        Ok((book, data))
    }

    async fn read_now(&self) -> Result<Book, StoreError> {
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(|e| db("request record: begin", &e))?;
        Self::book(&tx, false).await
    }

    async fn change_now(&self, now: Timestamp, change: Change) -> Result<Vec<Entry>, StoreError> {
        let mut client = self.client().await?;
        let tx = Self::begin_change(&mut client).await?;
        let mut book = Self::book(&tx, true).await?;
        let (pending, entries) = apply_change(&mut book, now, change)?;
        for p in &pending {
            if let Some(d) = &p.details {
                let body = String::from_utf8(d.bytes())
                    .map_err(|_| StoreError::Io("details are not UTF-8".into()))?;
                tx.execute(
                    "INSERT INTO request_details (request, body) VALUES ($1, $2)",
                    &[&p.request, &body],
                )
                .await
                .map_err(|e| db("request record: details", &e))?;
            }
            if p.erase_details {
                tx.execute(
                    "DELETE FROM request_details WHERE request = $1",
                    &[&p.request],
                )
                .await
                .map_err(|e| db("request record: erase", &e))?;
            }
        }
        for (e, line) in &entries {
            let seq =
                i64::try_from(e.seq).map_err(|_| StoreError::Io("seq out of range".into()))?;
            tx.execute(
                "INSERT INTO request_log (seq, time, request, line) VALUES ($1, $2, $3, $4)",
                &[&seq, &e.time, &e.request, line],
            )
            .await
            .map_err(|e| db("request record: append", &e))?;
        }
        let next =
            i64::try_from(book.next_seq).map_err(|_| StoreError::Io("seq out of range".into()))?;
        tx.execute(
            "UPDATE request_log_head SET next_seq = $1, head = $2",
            &[&next, &book.head],
        )
        .await
        .map_err(|e| db("request record: head", &e))?;
        tx.commit()
            .await
            .map_err(|e| db("request record: commit", &e))?;
        Ok(entries.into_iter().map(|(e, _)| e).collect())
    }

    async fn details_now(&self, id: String) -> Result<Option<Details>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT body FROM request_details WHERE request = $1",
                &[&id],
            )
            .await
            .map_err(|e| db("request record: details", &e))?;
        match row {
            None => Ok(None),
            Some(r) => {
                let body: String = r.get(0);
                serde_json::from_str(&body)
                    .map(Some)
                    .map_err(|e| StoreError::Io(format!("request details: {e}")))
            }
        }
    }

    async fn erase_now(&self, id: String) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let n = client
            .execute("DELETE FROM request_details WHERE request = $1", &[&id])
            .await
            .map_err(|e| db("request record: erase", &e))?;
        Ok(n > 0)
    }
}

impl DbStore {
    async fn prune_now(
        &self,
        before: Timestamp,
        now: Timestamp,
        officer: String,
    ) -> Result<Pruned, StoreError> {
        if before > now {
            return Err(crate::requests::model::Refused::Argument(
                "--before may not lie in the future".into(),
            )
            .into());
        }
        let mut client = self.client().await?;
        let tx = Self::begin_change(&mut client).await?;
        // Lock the head (and check it) as a change does.
        let (_, data) = Self::book_and_lines(&tx, true).await?;
        let (book, plan) = retention::plan(&data, before, now, &officer)?;
        let mut pruned = Pruned::default();
        let ids = retention::details_to_prune(&book, before, now);
        pruned.details = tx
            .execute(
                "DELETE FROM request_details WHERE request = ANY($1)",
                &[&ids],
            )
            .await
            .map_err(|e| db("request record: prune details", &e))?;
        if let Some(plan) = plan {
            let (cp, line) = &plan.checkpoint;
            let seq =
                i64::try_from(cp.seq).map_err(|_| StoreError::Io("seq out of range".into()))?;
            tx.execute("DELETE FROM request_log WHERE seq <= $1", &[&seq])
                .await
                .map_err(|e| db("request record: prune", &e))?;
            tx.execute(
                "INSERT INTO request_log (seq, time, request, line) VALUES ($1, $2, '', $3)",
                &[&seq, &cp.time, line],
            )
            .await
            .map_err(|e| db("request record: checkpoint", &e))?;
            // What is left verifies to the same head (the head row's check).
            Self::book(&tx, false).await?;
            pruned.entries = plan.removed_entries;
            pruned.requests = plan.removed_requests.len() as u64;
            pruned.through_seq = Some(cp.seq);
        }
        tx.commit()
            .await
            .map_err(|e| db("request record: commit", &e))?;
        Ok(pruned)
    }
}

impl Store for DbStore {
    fn read(&self) -> BoxFuture<'_, Result<Book, StoreError>> {
        Box::pin(self.read_now())
    }

    fn change(
        &self,
        now: Timestamp,
        change: Change,
    ) -> BoxFuture<'_, Result<Vec<Entry>, StoreError>> {
        Box::pin(self.change_now(now, change))
    }

    fn details(&self, id: String) -> BoxFuture<'_, Result<Option<Details>, StoreError>> {
        Box::pin(self.details_now(id))
    }

    fn erase_details(&self, id: String) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(self.erase_now(id))
    }

    fn prune(
        &self,
        before: Timestamp,
        now: Timestamp,
        officer: String,
    ) -> BoxFuture<'_, Result<Pruned, StoreError>> {
        Box::pin(self.prune_now(before, now, officer))
    }

    fn describe(&self) -> String {
        "the request record in PostgreSQL".into()
    }
}

/// Whether the registration data in the database holds a data subject, matched by their
/// confirmed identity: a contact whose e-mail address is `email` without regard to case (the
/// `contacts_email_lower` index), or one of `roids` (which must exist; without regard to
/// case, as ROIDs are matched). Only after the identity is confirmed.
///
/// # Errors
/// The database cannot be read.
pub async fn subject_matches(url: &str, email: &str, roids: &[String]) -> Result<bool, StoreError> {
    let client = super::connect(url)
        .await
        .map_err(|e| StoreError::Io(e.to_string()))?;
    let upper: Vec<String> = roids
        .iter()
        .map(|r| r.trim().to_ascii_uppercase())
        .collect();
    let email = email.trim();
    let row = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM contacts WHERE upper(roid) = ANY($1))
                 OR ($2 <> '' AND EXISTS (SELECT 1 FROM contacts WHERE lower(email) = lower($2)))",
            &[&upper, &email],
        )
        .await
        .map_err(|e| db("registration data: match the data subject", &e))?;
    Ok(row.get(0))
}
