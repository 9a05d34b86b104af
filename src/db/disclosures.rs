//! The disclosure log in PostgreSQL (`[authority] log_database = true`): one hash chain for
//! every node of a cluster, with the entries of the file log ([`crate::authority::log`]) kept as
//! their exact lines, so the file verifier checks them (`rddsd audit export`).
//!
//! An append locks the one row of `disclosure_log_head` (every node's appends take turns there,
//! and each chains from the entry before it), inserts the entry, moves the head, and commits
//! with `synchronous_commit` on: the answer is sent only after the commit returned. If it does
//! not, the request gets 503 and nothing is disclosed. A prune takes the same lock.
//!
//! The head row also guards the end of the chain: [`read`] checks that the entries end exactly
//! where the head says, so deleting the newest rows is caught (a file log needs `--head` for
//! that).

use std::sync::mpsc::Receiver;

use tokio_postgres::{Client, IsolationLevel};

use super::DbError;
use crate::authority::log::{
    self, ChainError, DisclosureLog, Entry, Job, LogError, Pruned, Verified,
};
use crate::registry::Timestamp;

/// Why the database's disclosure log could not be read, verified or pruned.
#[derive(Debug, thiserror::Error)]
pub enum DbLogError {
    /// A database error.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The chain does not verify.
    #[error("disclosure log in the database: {0}")]
    Chain(ChainError),
    /// The chain ends before the head row: its newest entries were deleted.
    #[error("disclosure log in the database: the chain ends at seq {chain_seq} (hash {chain_head}), but the head row says seq {row_seq} (hash {row_head}): entries were removed from its end")]
    Cut {
        /// The last seq of the chain.
        chain_seq: u64,
        /// The chain's head hash.
        chain_head: String,
        /// The last seq the head row names.
        row_seq: u64,
        /// The head row's hash.
        row_head: String,
    },
    /// A prune date after now.
    #[error("--before {} is in the future: a prune only removes entries older than now", before.text())]
    FutureDate {
        /// The prune date.
        before: Timestamp,
    },
    /// A checkpoint line that is not UTF-8 (cannot happen for serialised JSON).
    #[error("a log entry is not UTF-8")]
    NotUtf8,
    /// A seq beyond PostgreSQL's `bigint`.
    #[error("seq out of range")]
    SeqRange,
    /// The pruned log does not verify; the transaction is not committed.
    #[error("prune produced a log that does not verify ({0}); log unchanged")]
    PruneUnverified(Box<DbLogError>),
}

/// Append one disclosure to the cluster's chain, committed synchronously.
///
/// # Errors
/// The entry is not committed (or not known to be): nothing may be disclosed.
pub async fn append(client: &mut Client, disclosure: &log::Disclosure) -> Result<Entry, DbError> {
    append_or_not_begun(client, disclosure)
        .await
        .map_err(|e| match e {
            Attempt::NotBegun(e) | Attempt::Failed(e) => e,
        })
}

/// How an append failed: before its transaction began (nothing can have been written: safe to
/// try again on a new connection), or later.
enum Attempt {
    NotBegun(DbError),
    Failed(DbError),
}

async fn append_or_not_begun(
    client: &mut Client,
    disclosure: &log::Disclosure,
) -> Result<Entry, Attempt> {
    let tx = client
        .transaction()
        .await
        .map_err(|e| Attempt::NotBegun(DbError::sql("cannot start a transaction", &e)))?;
    append_in(tx, disclosure).await.map_err(Attempt::Failed)
}

async fn append_in(
    tx: tokio_postgres::Transaction<'_>,
    disclosure: &log::Disclosure,
) -> Result<Entry, DbError> {
    // Durable on the server (and its synchronous standbys) before the answer leaves, whatever
    // the role's or database's default.
    tx.batch_execute("SET LOCAL synchronous_commit = on")
        .await
        .map_err(|e| DbError::sql("cannot set synchronous_commit", &e))?;
    let (next_seq, head) = read_head(&tx, true).await?;
    let seq = u64::try_from(next_seq)
        .map_err(|_| DbError::Io(format!("disclosure log head: bad next_seq {next_seq}")))?;
    let (entry, mut line) = Entry {
        seq,
        time: Timestamp::now().text().to_string(),
        disclosure: Some(disclosure.clone()),
        checkpoint: None,
        salt: None,
        prev: head,
        hash: String::new(),
    }
    .sealed();
    line.pop(); // the line ending
    let line =
        String::from_utf8(line).map_err(|_| DbError::Io("a log entry is not UTF-8".into()))?;
    tx.execute(
        "INSERT INTO disclosure_log (seq, time, hash, line) VALUES ($1, $2, $3, $4)",
        &[&next_seq, &entry.time, &entry.hash, &line],
    )
    .await
    .map_err(|e| DbError::sql("cannot insert the disclosure log entry", &e))?;
    tx.execute(
        "UPDATE disclosure_log_head SET next_seq = $1, head = $2",
        &[&(next_seq + 1), &entry.hash],
    )
    .await
    .map_err(|e| DbError::sql("cannot move the disclosure log head", &e))?;
    tx.commit()
        .await
        .map_err(|e| DbError::sql("cannot commit the disclosure log entry", &e))?;
    Ok(entry)
}

/// The whole log as the file log's bytes (JSON Lines, in order) with the head row, read in one
/// snapshot.
///
/// # Errors
/// The database cannot be read.
pub async fn read_raw(client: &mut Client) -> Result<(Vec<u8>, u64, String), DbError> {
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(|e| DbError::sql("cannot start a transaction", &e))?;
    let (next_seq, head) = read_head(&tx, false).await?;
    let data = log_lines(&tx).await?;
    tx.commit()
        .await
        .map_err(|e| DbError::sql("cannot end the read", &e))?;
    Ok((data, u64::try_from(next_seq).unwrap_or(0), head))
}

/// Read and verify the whole chain, and check that it ends where the head row says.
///
/// # Errors
/// A database error, or the first bad entry (its line is its position in seq order).
pub async fn read(client: &mut Client) -> Result<(Vec<u8>, Verified), DbLogError> {
    let (data, next_seq, head) = read_raw(client).await?;
    let v = check(&data, next_seq, &head)?;
    Ok((data, v))
}

/// The log head: the next sequence number and the hash of the last entry. `lock` takes the
/// row for the transaction (an append or a prune, which move the head); a read leaves it free.
async fn read_head(
    tx: &tokio_postgres::Transaction<'_>,
    lock: bool,
) -> Result<(i64, String), DbError> {
    let (statement, failed) = if lock {
        (
            "SELECT next_seq, head FROM disclosure_log_head FOR UPDATE",
            "cannot lock the disclosure log head",
        )
    } else {
        (
            "SELECT next_seq, head FROM disclosure_log_head",
            "cannot read the disclosure log head",
        )
    };
    let row = tx
        .query_one(statement, &[])
        .await
        .map_err(|e| DbError::sql(failed, &e))?;
    let read = |e| DbError::sql("cannot read the disclosure log head", &e);
    Ok((row.try_get(0).map_err(read)?, row.try_get(1).map_err(read)?))
}

/// Verify the log's bytes and compare their end with the head row.
/// Every entry of the log in seq order, as the file form holds them (one line each), for the
/// file verifier.
async fn log_lines(tx: &tokio_postgres::Transaction<'_>) -> Result<Vec<u8>, DbError> {
    let rows = tx
        .query("SELECT line FROM disclosure_log ORDER BY seq", &[])
        .await
        .map_err(|e| DbError::sql("cannot read the disclosure log", &e))?;
    let mut data = Vec::new();
    for r in &rows {
        let line: &str = r
            .try_get(0)
            .map_err(|e| DbError::sql("cannot read the disclosure log", &e))?;
        data.extend_from_slice(line.as_bytes());
        data.push(b'\n');
    }
    Ok(data)
}

fn check(data: &[u8], next_seq: u64, head: &str) -> Result<Verified, DbLogError> {
    let v = log::verify_bytes(data).map_err(DbLogError::Chain)?;
    if v.head != head || v.next_seq != next_seq {
        return Err(DbLogError::Cut {
            chain_seq: v.next_seq - 1,
            chain_head: v.head,
            row_seq: next_seq.saturating_sub(1),
            row_head: head.to_string(),
        });
    }
    Ok(v)
}

/// Prune the database's log as `rddsd audit prune` prunes a file: the longest prefix of entries
/// older than `before` is replaced by one checkpoint, in one transaction holding the head lock,
/// after the whole chain verified.
///
/// # Errors
/// A date in the future, a log that does not verify, or a database error; the log is then
/// unchanged.
pub async fn prune(
    client: &mut Client,
    before: &Timestamp,
    now: &Timestamp,
) -> Result<Pruned, DbLogError> {
    if before > now {
        return Err(DbLogError::FutureDate { before: *before });
    }
    let sql = |what: &'static str| move |e: tokio_postgres::Error| DbError::sql(what, &e);
    let tx = client
        .transaction()
        .await
        .map_err(sql("cannot start a transaction"))?;
    let (next_seq, head) = read_head(&tx, true).await?;
    let data = log_lines(&tx).await?;
    let v = check(&data, u64::try_from(next_seq).unwrap_or(0), &head)?;
    let first = usize::from(v.checkpoint().is_some());
    let total = (v.entries.len() - first) as u64;
    let Some((cut, checkpoint)) = log::prune_plan(&v, before, now) else {
        return Ok(Pruned {
            removed: 0,
            kept: total,
        });
    };
    let (checkpoint, mut line) = checkpoint.sealed();
    line.pop();
    let line = String::from_utf8(line).map_err(|_| DbLogError::NotUtf8)?;
    let through = i64::try_from(checkpoint.seq).map_err(|_| DbLogError::SeqRange)?;
    // The checkpoint takes the seq of the last removed entry, whose row goes with the others.
    tx.execute("DELETE FROM disclosure_log WHERE seq <= $1", &[&through])
        .await
        .map_err(sql("cannot delete the pruned entries"))?;
    tx.execute(
        "INSERT INTO disclosure_log (seq, time, hash, line) VALUES ($1, $2, $3, $4)",
        &[&through, &checkpoint.time, &checkpoint.hash, &line],
    )
    .await
    .map_err(sql("cannot insert the checkpoint"))?;
    // The same check as the file prune's before it replaces the file: the rest still verifies
    // and ends at the same head.
    let after = log_lines(&tx).await?;
    check(&after, v.next_seq, &v.head).map_err(|e| DbLogError::PruneUnverified(Box::new(e)))?;
    tx.commit().await.map_err(sql("cannot commit the prune"))?;
    Ok(Pruned {
        removed: cut as u64,
        kept: total - cut as u64,
    })
}

/// The server's handle on the database log: a writer thread with its own connection (made
/// again when it was lost) appends each entry and replies once the commit returned.
pub fn open(url: &str) -> DisclosureLog {
    let url = url.to_string();
    DisclosureLog::with_writer("disclosure-log-db", move |jobs| writer(&url, &jobs))
}

fn writer(url: &str, jobs: &Receiver<Job>) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the disclosure log writer");
            return;
        }
    };
    let mut client: Option<Client> = None;
    while let Ok(job) = jobs.recv() {
        // The requester gave up (timeout): it disclosed nothing, and nothing is written.
        if job.reply.is_closed() {
            continue;
        }
        // The timeout is made inside the runtime: its timer needs the runtime's clock.
        let append = async {
            // An idle connection that the server ended (a restart, `pg_terminate_backend`)
            // is found out only when used: then the transaction did not even begin, and
            // the entry is tried once more on a new connection.
            for attempt in 0..2 {
                let c = match client.take() {
                    Some(c) if !c.is_closed() => c,
                    _ => super::connect(url).await?,
                };
                let c = client.insert(c);
                match append_or_not_begun(c, &job.disclosure).await {
                    Ok(entry) => return Ok(entry),
                    Err(Attempt::NotBegun(e)) => {
                        client = None;
                        if attempt == 1 {
                            return Err(e);
                        }
                    }
                    Err(Attempt::Failed(e)) => {
                        // A connection that failed once is not reused.
                        client = None;
                        return Err(e);
                    }
                }
            }
            Err(DbError::Io("no attempt left".into()))
        };
        let result = rt
            .block_on(async { tokio::time::timeout(log::APPEND_TIMEOUT, append).await })
            .unwrap_or_else(|_| {
                // Cut off mid-transaction: the connection's state is unknown, so not reused.
                client = None;
                Err(DbError::Io(format!(
                    "the entry was not committed within {} s",
                    log::APPEND_TIMEOUT.as_secs()
                )))
            });
        let result = match result {
            Ok(entry) => {
                tracing::info!(seq = entry.seq, head = %entry.hash, "disclosure recorded");
                Ok(entry)
            }
            Err(e) => Err(LogError::Database(Box::new(e))),
        };
        let _ = job.reply.send(result);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chain of `n` entries: its bytes and each entry's hash.
    fn chain(n: usize) -> (Vec<u8>, Vec<String>) {
        let (entries, data) = log::testing::sealed_chain(&vec!["2026-01-01T00:00:00Z"; n]);
        (data, entries.into_iter().map(|e| e.hash).collect())
    }

    #[test]
    fn a_chain_that_ends_before_the_head_is_refused() {
        assert!(check(b"", 1, log::GENESIS).is_ok());
        let e = check(b"", 2, &"ab".repeat(32))
            .expect_err("cut")
            .to_string();
        assert!(e.contains("removed from its end"), "{e}");
        let (data, hashes) = chain(3);
        let v = check(&data, 4, &hashes[2]).expect("whole");
        assert_eq!(v.disclosures(), 3);
        // The newest row deleted: the chain itself still verifies, the head row does not agree.
        let two = data
            .split_inclusive(|b| *b == b'\n')
            .take(2)
            .flatten()
            .copied()
            .collect::<Vec<u8>>();
        assert!(log::verify_bytes(&two).is_ok());
        let e = check(&two, 4, &hashes[2]).expect_err("cut").to_string();
        assert!(
            e.contains("ends at seq 2") && e.contains("says seq 3"),
            "{e}"
        );
    }
}
