//! Why the disclosure log could not be read, verified, written or pruned.

use std::path::{Path, PathBuf};

use super::ChainError;
use crate::registry::Timestamp;

/// What a Merkle tree kept beside the log ([`super::TreeSink`]) reports when it cannot follow.
pub type TreeError = Box<dyn std::error::Error + Send + Sync>;

/// Why the disclosure log could not be read, verified, written or pruned. The text names the
/// file and the line, never an entry's content.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// Reading or inspecting a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The path names a directory.
    #[error("{}: is a directory, not a disclosure log", path.display())]
    Directory {
        /// The path.
        path: PathBuf,
    },
    /// The path names a device, FIFO or socket.
    #[error("{}: not a regular file, so not a disclosure log", path.display())]
    NotRegular {
        /// The path.
        path: PathBuf,
    },
    /// The chain does not verify.
    #[error("{}: {source}", path.display())]
    Chain {
        /// The log.
        path: PathBuf,
        /// The first bad entry.
        source: ChainError,
    },
    /// A line of a log read for a report does not parse.
    #[error("{}:{line}: {source}", path.display())]
    Parse {
        /// The log.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// The parser's message.
        source: serde_json::Error,
    },
    /// A lock file could not be locked.
    #[error("cannot lock {}: {source}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The server could not open the log to append to it.
    #[error("cannot open disclosure log {}: {source}", path.display())]
    Open {
        /// The log.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The log the server opened does not verify.
    #[error("disclosure log failed verification: {}: {source}", path.display())]
    Unverified {
        /// The log.
        path: PathBuf,
        /// The first bad entry.
        source: ChainError,
    },
    /// The log path exists but is not a regular file (checked before any lock file is made).
    #[error("disclosure log {} is not a regular file", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// The log path could not be inspected at start.
    #[error("disclosure log {}: {source}", path.display())]
    Stat {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// No randomness for an entry's salt.
    #[error("no secure randomness for the entry's salt: {0}")]
    Randomness(getrandom::Error),
    /// Another process is the log's writer.
    #[error("another rddsd process is writing this disclosure log")]
    Standby,
    /// The writer has no log open.
    #[error("disclosure log is not open")]
    NotOpen,
    /// The log was removed or renamed under the writer.
    #[error("disclosure log {} was removed or renamed while the server ran", path.display())]
    Removed {
        /// The log.
        path: PathBuf,
    },
    /// The log's length is not what the writer wrote.
    #[error("disclosure log {} changed behind the writer: {expected} bytes expected, {found} found (truncated or written by another program)", path.display())]
    Resized {
        /// The log.
        path: PathBuf,
        /// Bytes the writer verified and wrote.
        expected: u64,
        /// Bytes the file holds.
        found: u64,
    },
    /// The last entry is not what the writer wrote.
    #[error("disclosure log {}: the last entry (seq {seq}) was altered behind the writer", path.display())]
    TailAltered {
        /// The log.
        path: PathBuf,
        /// The last entry's seq.
        seq: u64,
    },
    /// Another file at the log's path that does not load.
    #[error("disclosure log {} was replaced while the server ran: {source}", path.display())]
    Replaced {
        /// The log.
        path: PathBuf,
        /// Why the new file does not load.
        source: Box<LogError>,
    },
    /// Another file at the log's path that is not a prune of the writer's chain.
    #[error("disclosure log {} was replaced while the server ran by a file that is not a prune of its chain (expected head {head} at seq {seq})", path.display())]
    NotAPrune {
        /// The log.
        path: PathBuf,
        /// The writer's head.
        head: String,
        /// Its seq.
        seq: u64,
    },
    /// Writing or syncing an entry failed.
    #[error("disclosure log write failed: {0}")]
    Write(std::io::Error),
    /// The Merkle tree beside the log could not be opened (transparency).
    #[error("transparency: {0}")]
    TreeOpen(TreeError),
    /// The Merkle tree beside the log does not match it or could not follow.
    #[error("{0}")]
    Tree(TreeError),
    /// The Merkle tree could not follow an append.
    #[error("disclosure log tree: {0}")]
    TreeFollow(TreeError),
    /// The writer thread could not start.
    #[error("cannot start the disclosure log writer: {0}")]
    Thread(std::io::Error),
    /// Disclosures are refused until the log is repaired and the server restarted; the
    /// reason the writer gave when it stopped.
    #[error("{0}")]
    Broken(String),
    /// The handle was closed.
    #[error("the disclosure log is closed")]
    Closed,
    /// The writer thread is gone.
    #[error("the disclosure log writer has stopped")]
    Stopped,
    /// Too many disclosures wait for the writer.
    #[error("the disclosure log writer is busy (queue full)")]
    Busy,
    /// The entry was not durable in time.
    #[error("the entry was not durable within {secs} s (is the log locked by a prune?)")]
    Timeout {
        /// The deadline.
        secs: u64,
    },
    /// Another writer (the cluster's database log) failed.
    #[error("disclosure log in the database: {0}")]
    Database(TreeError),
    /// A prune date after now.
    #[error("--before {} is in the future: a prune only removes entries older than now", before.text())]
    FutureDate {
        /// The prune date.
        before: Timestamp,
    },
    /// The pruned log would end elsewhere.
    #[error("prune would change the log's head; log unchanged")]
    PruneMovedHead,
    /// The pruned log does not verify.
    #[error("prune produced a log that does not verify ({0}); log unchanged")]
    PruneUnverified(ChainError),
    /// The pruned log could not replace the old one.
    #[error("prune failed, log unchanged: {0}")]
    PruneReplace(std::io::Error),
}

impl LogError {
    pub(super) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(super) fn chain(path: &Path, source: ChainError) -> Self {
        Self::Chain {
            path: path.to_path_buf(),
            source,
        }
    }
}
