//! The delta directory: change files dropped in by the registry's export, applied as they come.
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
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::state::State;

/// Subdirectory for applied deltas.
pub const APPLIED: &str = "applied";
/// Subdirectory for refused deltas and their error reports.
pub const REFUSED: &str = "refused";
/// How often the directory is listed.
pub const POLL: Duration = Duration::from_secs(1);

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
pub fn process(state: &State, dir: &Path, path: &Path) -> std::io::Result<Outcome> {
    let name = path.file_name().unwrap_or_default();
    match state.apply_delta(path) {
        Ok((generation, changes)) => {
            let to = dir.join(APPLIED);
            std::fs::create_dir_all(&to)?;
            let file = to.join(name);
            std::fs::rename(path, &file)?;
            Ok(Outcome::Applied {
                file,
                generation: generation.number,
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

/// Watch `dir` until shutdown.
pub async fn watch(state: Arc<State>, dir: PathBuf, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let st = Arc::clone(&state);
        let d = dir.clone();
        // Reading and validating run off the async workers; files of one tick in order.
        let run = tokio::task::spawn_blocking(move || {
            let files = match pending(&d) {
                Ok(f) => f,
                Err(e) => {
                    tracing::warn!(dir = %d.display(), error = %e, "cannot list the delta directory");
                    return;
                }
            };
            for path in files {
                match process(&st, &d, &path) {
                    Ok(Outcome::Applied {
                        file,
                        generation,
                        changes,
                    }) => tracing::info!(
                        file = %file.display(),
                        generation,
                        changes,
                        "delta applied"
                    ),
                    Ok(Outcome::Refused { file, errors }) => tracing::error!(
                        file = %file.display(),
                        errors = %errors,
                        "delta refused; still serving the data before it"
                    ),
                    Err(e) => {
                        tracing::error!(file = %path.display(), error = %e, "cannot move a delta file; will retry");
                        return;
                    }
                }
            }
        });
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = run => {}
        }
    }
}
