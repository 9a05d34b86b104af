//! The delta directory's bookkeeping: change files dropped in by the registry's export,
//! applied as they come (the watcher is `crate::server`'s), moved to `applied/` or `refused/`,
//! and replayed over the full data on every load.
//!
//! Once a second the directory is listed; every `*.jsonl` file in it (not in subdirectories) is
//! read, validated against the data being served and applied as a new generation, in file-name
//! order. An applied file moves to `applied/` (replayed over the full data on every start and
//! reload, so a restart serves what was served before it); a refused one moves to `refused/`,
//! with `<name>.errors` beside it naming file, line and field of every problem. The data being
//! served is untouched by a refused file.
//!
//! Writers must create the file under another name (say `x.jsonl.tmp`) and rename it into
//! place, so the watcher never reads half a file. Should one be read half written anyway, its
//! header's change count and its missing last line end refuse it as torn.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::registry::{LoadErrors, Snapshot};

/// Subdirectory for applied deltas.
pub const APPLIED: &str = "applied";
/// Subdirectory for refused deltas and their error reports.
pub const REFUSED: &str = "refused";
/// How often the directory is listed: four times a second, so a delta dropped in is served
/// within a second even at ten million domains (where validating and applying 1,000 changes
/// takes about 0.4 s); listing a directory is cheap.
pub const POLL: Duration = Duration::from_millis(250);

/// The delta files waiting in `dir`, in the order they are applied.
pub fn pending(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// What became of one delta file.
#[derive(Debug)]
pub enum Outcome {
    /// Applied as generation `generation` with `changes` changes, moved to `applied/`.
    Applied {
        /// The file as moved.
        file: PathBuf,
        /// The generation now served.
        generation: u64,
        /// Number of changes.
        changes: usize,
    },
    /// Refused, moved to `refused/` with its `.errors` report.
    Refused {
        /// The file as moved.
        file: PathBuf,
        /// The errors, without values.
        errors: String,
    },
}

/// Apply (or refuse) one file and move it where it belongs.
///
/// # Errors
/// The file could not be moved (the directory is not writable): it stays, and is tried again.
/// `apply` applies the file to the data being served and returns the new generation's number
/// and the number of changes.
pub fn process<E: std::fmt::Display>(
    apply: impl FnOnce(&Path) -> Result<(u64, usize), E>,
    dir: &Path,
    path: &Path,
) -> std::io::Result<Outcome> {
    let name = path.file_name().unwrap_or_default();
    match apply(path) {
        Ok((generation, changes)) => {
            let to = dir.join(APPLIED);
            std::fs::create_dir_all(&to)?;
            let file = to.join(name);
            std::fs::rename(path, &file)?;
            Ok(Outcome::Applied {
                file,
                generation,
                changes,
            })
        }
        Err(e) => {
            let to = dir.join(REFUSED);
            std::fs::create_dir_all(&to)?;
            let file = to.join(name);
            let errors = e.to_string();
            let mut report = file.clone().into_os_string();
            report.push(".errors");
            let mut tmp = report.clone();
            tmp.push(".tmp");
            crate::files::atomic_replace(
                Path::new(&report),
                Path::new(&tmp),
                format!("{errors}\n").as_bytes(),
                0o640,
            )?;
            std::fs::rename(path, &file)?;
            Ok(Outcome::Refused { file, errors })
        }
    }
}

/// Apply the deltas of `dir/applied/` that are newer than the data, in file-name order, so
/// a restart or a full reload serves what was served before it. A delta already contained in
/// the data (its update time not after the data's) is skipped.
///
/// # Errors
/// A delta that does not read or apply, naming file, line and field.
pub fn replay_applied(mut snapshot: Snapshot, dir: &Path) -> Result<Snapshot, LoadErrors> {
    let applied = dir.join(APPLIED);
    let Ok(entries) = std::fs::read_dir(&applied) else {
        return Ok(snapshot);
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    for path in files {
        let delta = super::delta_file::read_delta(&path)?;
        if delta.updated <= *snapshot.updated() {
            continue;
        }
        snapshot = snapshot.apply(&delta)?;
    }
    Ok(snapshot)
}
