//! Where the record lives: the [`Store`] trait, and the file store (the embedded default).
//! The PostgreSQL store is an adapter above this layer (`crate::db::requests`), handed in as a
//! `Store` like the disclosure log's opener.
//!
//! Every change is made under the store's lock, on the record as it is then: the CLI on the
//! officer's terminal and every server read and append the same record, so a change made with
//! the CLI is seen by the route at its next read (no reload), two changes never fork the chain,
//! and a transition is checked against the state it is applied to.
//!
//! The file store `L`:
//! - `L`: the chain (JSON Lines), appended and synced under `L.lock`;
//! - `L.lock`: an exclusive `flock` around each change, a shared one around each read;
//! - `L.details/<id>.json` (directory mode 0700, files 0600): the requester's details and the
//!   justification, written (and synced) before the entry that holds their hash.

use std::fs::{File, OpenOptions};
use std::future::Future;
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::pin::Pin;

use super::chain::{self, Book, ChainError, Entry};
use super::model::{Event, Refused};
use super::retention::{self, Pruned};
use super::Details;
use crate::registry::Timestamp;

/// A boxed future, for the object-safe trait.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One entry a change appends.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The request.
    pub request: String,
    /// Who (`None`: the requester).
    pub officer: Option<String>,
    /// What.
    pub event: Event,
    /// Details to keep beside the chain (with a `Received` event only).
    pub details: Option<Details>,
    /// Remove the request's details, in the same change (with an `Erased` event).
    pub erase_details: bool,
}

/// A change: given the record as it is under the lock, the entries to append.
pub type Change = Box<dyn FnOnce(&Book) -> Result<Vec<Pending>, Refused> + Send>;

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file or the database could not be read or written.
    #[error("request record: {0}")]
    Io(String),
    /// The record does not verify: nothing is appended until it is repaired.
    #[error("request record does not verify: {0}")]
    Chain(#[from] ChainError),
    /// The change does not apply.
    #[error(transparent)]
    Refused(#[from] Refused),
}

impl StoreError {
    /// An I/O error with what was being done.
    pub fn io(what: &str, e: impl std::fmt::Display) -> Self {
        Self::Io(format!("{what}: {e}"))
    }
}

/// A record of requests.
pub trait Store: Send + Sync {
    /// Read and verify the whole record.
    fn read(&self) -> BoxFuture<'_, Result<Book, StoreError>>;
    /// Under the lock: read and verify, let `change` decide, keep the details, append.
    fn change(
        &self,
        now: Timestamp,
        change: Change,
    ) -> BoxFuture<'_, Result<Vec<Entry>, StoreError>>;
    /// The details of a request (`None`: erased, or never kept).
    fn details(&self, id: String) -> BoxFuture<'_, Result<Option<Details>, StoreError>>;
    /// Remove the details of a request, without an entry (what is left after an erasure whose
    /// removal failed). The chain keeps their hash.
    fn erase_details(&self, id: String) -> BoxFuture<'_, Result<bool, StoreError>>;
    /// Under the lock: remove the details of requests closed before `before`, and cut the
    /// front of the chain behind a checkpoint ([`super::retention`]). `before` may not be
    /// later than `now`.
    fn prune(
        &self,
        before: Timestamp,
        now: Timestamp,
        officer: String,
    ) -> BoxFuture<'_, Result<Pruned, StoreError>>;
    /// Where the record is, for messages.
    fn describe(&self) -> String;
}

/// What a change applied: its pending entries, and the sealed entries with their lines.
pub type Applied = (Vec<Pending>, Vec<(Entry, String)>);

/// Apply `change` to `book`: the entries and their lines.
///
/// # Errors
/// The change is refused, or does not fit the chain.
pub fn apply_change(
    book: &mut Book,
    now: Timestamp,
    change: Change,
) -> Result<Applied, StoreError> {
    let pending = change(book)?;
    let mut out = Vec::with_capacity(pending.len());
    for p in &pending {
        out.push(book.append(&p.request, p.officer.as_deref(), p.event.clone(), now)?);
    }
    Ok((pending, out))
}

/// The file store.
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
}

fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// A request id as a file name: only what the ids are made of.
fn safe_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl FileStore {
    /// The store at `path` (created on the first change).
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    fn details_dir(&self) -> PathBuf {
        sidecar(&self.path, ".details")
    }

    fn details_path(&self, id: &str) -> Option<PathBuf> {
        safe_id(id).then(|| self.details_dir().join(format!("{id}.json")))
    }

    fn lock(&self, exclusive: bool) -> Result<File, StoreError> {
        let p = sidecar(&self.path, ".lock");
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&p)
            .map_err(|e| StoreError::io(&p.display().to_string(), e))?;
        if exclusive { f.lock() } else { f.lock_shared() }
            .map_err(|e| StoreError::io(&format!("lock {}", p.display()), e))?;
        Ok(f)
    }

    fn read_bytes(&self) -> Result<Vec<u8>, StoreError> {
        match File::open(&self.path) {
            Ok(mut f) => {
                let mut data = Vec::new();
                f.read_to_end(&mut data)
                    .map_err(|e| StoreError::io(&self.path.display().to_string(), e))?;
                Ok(data)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(StoreError::io(&self.path.display().to_string(), e)),
        }
    }

    /// Read and verify (blocking).
    ///
    /// # Errors
    /// Unreadable, or not verifying.
    pub fn read_blocking(&self) -> Result<Book, StoreError> {
        let _lock = self.lock(false)?;
        Ok(chain::verify(&self.read_bytes()?)?)
    }

    /// The change (blocking).
    ///
    /// # Errors
    /// See [`Store::change`].
    pub fn change_blocking(
        &self,
        now: Timestamp,
        change: Change,
    ) -> Result<Vec<Entry>, StoreError> {
        let _lock = self.lock(true)?;
        let mut book = chain::verify(&self.read_bytes()?)?;
        let (pending, entries) = apply_change(&mut book, now, change)?;
        for p in &pending {
            if let Some(d) = &p.details {
                self.write_details(&p.request, d)?;
            }
        }
        let erase: Vec<&str> = pending
            .iter()
            .filter(|p| p.erase_details)
            .map(|p| p.request.as_str())
            .collect();
        let mut text = String::new();
        for (_, line) in &entries {
            text.push_str(line);
            text.push('\n');
        }
        let mut f = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&self.path)
            .map_err(|e| StoreError::io(&self.path.display().to_string(), e))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_data())
            .map_err(|e| StoreError::io(&self.path.display().to_string(), e))?;
        // An erasure is recorded first, then done: a failed removal is seen by `verify`
        // ("still kept after their erasure") and finished by `erase` again.
        for id in erase {
            self.remove_details(id)?;
        }
        Ok(entries.into_iter().map(|(e, _)| e).collect())
    }

    fn write_details(&self, id: &str, d: &Details) -> Result<(), StoreError> {
        let dir = self.details_dir();
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| StoreError::io(&dir.display().to_string(), e))?;
        let path = self
            .details_path(id)
            .ok_or_else(|| StoreError::Io("a request id that is not a file name".into()))?;
        let tmp = path.with_extension("json.tmp");
        crate::files::atomic_replace(&path, &tmp, &d.bytes(), 0o600)
            .map_err(|e| StoreError::io(&path.display().to_string(), e))
    }

    fn details_blocking(&self, id: &str) -> Result<Option<Details>, StoreError> {
        let Some(path) = self.details_path(id) else {
            return Ok(None);
        };
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| StoreError::io(&path.display().to_string(), e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io(&path.display().to_string(), e)),
        }
    }

    fn erase_blocking(&self, id: &str) -> Result<bool, StoreError> {
        let _lock = self.lock(true)?;
        self.remove_details(id)
    }

    /// Prune (blocking). See [`Store::prune`].
    ///
    /// # Errors
    /// A date in the future, a record that does not verify, I/O.
    pub fn prune_blocking(
        &self,
        before: Timestamp,
        now: Timestamp,
        officer: &str,
    ) -> Result<Pruned, StoreError> {
        if before > now {
            return Err(Refused::Argument("--before may not lie in the future".into()).into());
        }
        let _lock = self.lock(true)?;
        let data = self.read_bytes()?;
        let (book, plan) = retention::plan(&data, before, now, officer)?;
        let mut pruned = Pruned::default();
        // The details first: a closed request without them is what retention leaves.
        for id in retention::details_to_prune(&book, before, now) {
            if self.remove_details(&id)? {
                pruned.details += 1;
            }
        }
        if let Some(plan) = plan {
            crate::files::atomic_replace(
                &self.path,
                &sidecar(&self.path, ".prune-tmp"),
                &plan.bytes,
                crate::files::PRIVATE,
            )
            .map_err(|e| StoreError::io(&self.path.display().to_string(), e))?;
            pruned.entries = plan.removed_entries;
            pruned.requests = plan.removed_requests.len() as u64;
            pruned.through_seq = Some(plan.checkpoint.0.seq);
        }
        Ok(pruned)
    }

    /// Remove a request's details (the caller holds the lock).
    fn remove_details(&self, id: &str) -> Result<bool, StoreError> {
        let Some(path) = self.details_path(id) else {
            return Ok(false);
        };
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(StoreError::io(&path.display().to_string(), e)),
        }
    }
}

/// Run blocking file work off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::io("request record task", e))?
}

impl Store for FileStore {
    fn read(&self) -> BoxFuture<'_, Result<Book, StoreError>> {
        let me = self.clone();
        Box::pin(blocking(move || me.read_blocking()))
    }

    fn change(
        &self,
        now: Timestamp,
        change: Change,
    ) -> BoxFuture<'_, Result<Vec<Entry>, StoreError>> {
        let me = self.clone();
        Box::pin(blocking(move || me.change_blocking(now, change)))
    }

    fn details(&self, id: String) -> BoxFuture<'_, Result<Option<Details>, StoreError>> {
        let me = self.clone();
        Box::pin(blocking(move || me.details_blocking(&id)))
    }

    fn erase_details(&self, id: String) -> BoxFuture<'_, Result<bool, StoreError>> {
        let me = self.clone();
        Box::pin(blocking(move || me.erase_blocking(&id)))
    }

    fn prune(
        &self,
        before: Timestamp,
        now: Timestamp,
        officer: String,
    ) -> BoxFuture<'_, Result<Pruned, StoreError>> {
        let me = self.clone();
        Box::pin(blocking(move || me.prune_blocking(before, now, &officer)))
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }
}
