//! The full read of a replica: every registration table streamed through the loader, in one
//! consistent snapshot of the database, with where the change log stood when it was taken.
//!
//! The tables are read as `rddsd db export` reads them (hosts and domains with their child
//! rows aggregated in one pass, not a subquery per row), each row made into one line of the
//! JSON Lines format, the loader's input, as the export writes it. The rows are streamed (never
//! a whole table in memory), packed into chunks and handed over a bounded channel to the
//! loader, which runs on a blocking thread and parses on all cores as it does for files: the
//! database and the loader work at the same time, and at most [`CHUNKS_IN_FLIGHT`] chunks of
//! text are held between them, never a whole table. The registry record is built here from the
//! registry row, as `rddsd db export` builds it.

use std::cell::RefCell;
use std::io::{BufRead, Read};
use std::rc::Rc;
use std::time::Instant;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::{Client, Config, Transaction};

use super::super::follow::{present_below, Position, REGISTRY};
use super::super::{connect_with, export, DbError};
use super::ReplicaError;
use crate::registry::load::{self, LoadOptions};
use crate::registry::{Snapshot, Timestamp};

/// Bytes of whole lines in one chunk handed to the loader.
const CHUNK_BYTES: usize = 1024 * 1024;
/// Chunks between the database and the loader at most.
const CHUNKS_IN_FLIGHT: usize = 8;

/// The tables, in the loader's order (registrars before what refers to them); each is also
/// the source name its errors carry.
const TABLES: [&str; 4] = ["registrars", "contacts", "hosts", "domains"];

/// What the database side hands the loader.
enum Piece {
    /// Whole lines of the current table.
    Lines(Vec<u8>),
    /// The current table is complete.
    End,
}

/// Read every table of the database at `config` into a snapshot, sharing unchanged records
/// with `previous`; with the change log's position in the same database snapshot.
///
/// # Errors
/// The database could not be read ([`ReplicaError::Database`]), or the loader refused the
/// data ([`ReplicaError::Data`]: more records left out than `options` allow).
pub(super) async fn read_all(
    config: &Config,
    previous: Option<Snapshot>,
    options: LoadOptions,
) -> Result<(Snapshot, Position), ReplicaError> {
    let started = Instant::now();
    let mut client = connect_with(config).await?;
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(|e| DbError::sql("cannot start a transaction", &e))?;
    let (tlds, updated, position) = position(&tx).await?;
    let (send, receive) = mpsc::channel::<Piece>(CHUNKS_IN_FLIGHT);
    let registry_line = registry_line(&tlds, updated);
    let loading = tokio::task::spawn_blocking(move || {
        let receive = Rc::new(RefCell::new(receive));
        let mut first = Some(registry_line);
        let sources = std::iter::once("registry").chain(TABLES).map(move |table| {
            let reader: Box<dyn BufRead> = match first.take() {
                // The registry record comes first, from the row read above.
                Some(line) => Box::new(std::io::Cursor::new(line)),
                None => Box::new(std::io::BufReader::with_capacity(
                    64 * 1024,
                    TableReader {
                        receive: Rc::clone(&receive),
                        current: Vec::new(),
                        at: 0,
                        done: false,
                    },
                )),
            };
            (table.to_string(), Ok(reader))
        });
        load::load_readers(sources, previous.as_ref(), options)
    });
    let streamed = stream_tables(&tx, &send).await;
    drop(send);
    // Read-only: ending it either way changes nothing.
    let _ = tx.rollback().await;
    let loaded = loading
        .await
        .map_err(|e| DbError::Io(format!("the loader stopped: {e}")))?;
    // A database error explains a loader's "cannot read" better than the loader does.
    streamed?;
    let snapshot = loaded?;
    tracing::info!(
        domains = snapshot.counts().0,
        ms = started.elapsed().as_millis(),
        "read the registration data from the database"
    );
    Ok((snapshot, position))
}

/// The registry row and where the change log stands in this transaction's snapshot: the
/// newest serial, and the serials below it not visible yet (transactions that commit later).
async fn position(tx: &Transaction<'_>) -> Result<(Vec<String>, Timestamp, Position), DbError> {
    let what = "cannot read the registry row";
    let row = tx
        .query_one(REGISTRY, &[])
        .await
        .map_err(|e| DbError::sql(what, &e))?;
    let tlds: Vec<String> = row.try_get(0).map_err(|e| DbError::sql(what, &e))?;
    let updated: Option<std::time::SystemTime> =
        row.try_get(1).map_err(|e| DbError::sql(what, &e))?;
    let newest_row: i64 = row.try_get(2).map_err(|e| DbError::sql(what, &e))?;
    // Past the newest row, the serials handed out already: those not visible yet are waited
    // for below, and a log pruned down to nothing still tells how far it went.
    let newest = newest_row.max(handed_out(tx).await?);
    let Some(updated) = updated else {
        return Err(DbError::Sql {
            what: "the registry table is empty".into(),
            reason: "import a data set first (rddsd db import)".into(),
        });
    };
    let present = present_below(tx, newest)
        .await
        .map_err(|e| DbError::sql("cannot read the change log", &e))?;
    Ok((
        tlds,
        super::super::export::timestamp(updated),
        Position::scanned(newest, &present),
    ))
}

/// The registry record, as one JSON line.
fn registry_line(tlds: &[String], updated: Timestamp) -> Vec<u8> {
    let mut line = serde_json::json!({
        "kind": "registry",
        "tlds": tlds,
        "updated": updated.text().as_str(),
    })
    .to_string()
    .into_bytes();
    line.push(b'\n');
    line
}

/// Stream every table's lines to the loader, in [`TABLES`] order, each row made into its
/// JSON line here as `rddsd db export` makes it. Stops early, without an error, when the
/// loader stopped reading (it has its own errors to report).
async fn stream_tables(tx: &Transaction<'_>, send: &mpsc::Sender<Piece>) -> Result<(), DbError> {
    for table in TABLES {
        let Some((sql, row_line)) = export::unordered(table) else {
            continue;
        };
        let what = || format!("cannot read {table}");
        let stream = tx
            .query_raw(sql.as_str(), std::iter::empty::<&str>())
            .await
            .map_err(|e| DbError::sql(what(), &e))?;
        let mut rows = std::pin::pin!(stream);
        let path = std::path::Path::new(table);
        let mut chunk = Vec::with_capacity(CHUNK_BYTES + 64 * 1024);
        while let Some(row) = rows.next().await {
            let row = row.map_err(|e| DbError::sql(what(), &e))?;
            row_line(&row, &mut chunk, path)?;
            if chunk.len() >= CHUNK_BYTES {
                let full =
                    std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_BYTES + 64 * 1024));
                if send.send(Piece::Lines(full)).await.is_err() {
                    return Ok(());
                }
            }
        }
        if !chunk.is_empty() && send.send(Piece::Lines(chunk)).await.is_err() {
            return Ok(());
        }
        if send.send(Piece::End).await.is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// One table's lines as a reader, from the channel (on the loader's blocking thread).
struct TableReader {
    receive: Rc<RefCell<mpsc::Receiver<Piece>>>,
    current: Vec<u8>,
    at: usize,
    done: bool,
}

impl Read for TableReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.current.len() {
            if self.done {
                return Ok(0);
            }
            match self.receive.borrow_mut().blocking_recv() {
                Some(Piece::Lines(lines)) => {
                    self.current = lines;
                    self.at = 0;
                }
                Some(Piece::End) => self.done = true,
                // The database side failed; its error is reported instead of the loader's.
                None => {
                    return Err(std::io::Error::other(
                        "the database stopped sending this table",
                    ))
                }
            }
        }
        let n = buf.len().min(self.current.len() - self.at);
        buf[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The newest serial the change log's sequence handed out (0 before the first).
async fn handed_out(client: &impl tokio_postgres::GenericClient) -> Result<i64, DbError> {
    let row = client
        .query_one(
            "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM changes_serial_seq",
            &[],
        )
        .await
        .map_err(|e| DbError::sql("cannot read the change log", &e))?;
    row.try_get(0)
        .map_err(|e| DbError::sql("cannot read the change log", &e))
}

/// Whether the change log still reaches back to `newest` (the newest change applied): every
/// serial after it is either still in the table or was never handed out. A pruned (or emptied)
/// log cannot be replayed: the replica must read the tables again.
pub(super) async fn replayable(client: &Client, newest: i64) -> Result<bool, DbError> {
    let row = client
        .query_one("SELECT min(serial) FROM changes", &[])
        .await
        .map_err(|e| DbError::sql("cannot read the change log", &e))?;
    let oldest: Option<i64> = row
        .try_get(0)
        .map_err(|e| DbError::sql("cannot read the change log", &e))?;
    Ok(match oldest {
        Some(oldest) => oldest <= newest + 1,
        None => handed_out(client).await? <= newest,
    })
}
