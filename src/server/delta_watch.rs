//! The delta directory's watcher: four times a second, every pending delta file is applied to the
//! data being served or refused (`crate::registry::load::delta_dir` keeps the books).

use std::path::PathBuf;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::registry::load::delta_dir;
use crate::state::State;

/// Watch `dir` until shutdown.
pub(super) async fn watch(state: Arc<State>, dir: PathBuf, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(delta_dir::POLL);
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
            let files = match delta_dir::pending(&d) {
                Ok(f) => f,
                Err(e) => {
                    tracing::warn!(dir = %d.display(), error = %e, "cannot list the delta directory");
                    return;
                }
            };
            for path in files {
                match delta_dir::process(
                    |p| st.apply_delta(p).map(|(g, n)| (g.number, n)),
                    &d,
                    &path,
                ) {
                    Ok(delta_dir::Outcome::Applied {
                        file,
                        generation,
                        changes,
                    }) => tracing::info!(
                        file = %file.display(),
                        generation,
                        changes,
                        "delta applied"
                    ),
                    Ok(delta_dir::Outcome::Refused { file, errors }) => tracing::error!(
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
