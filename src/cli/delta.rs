//! `rddsd delta …`: hand a delta file to a running server, or check one against a data set.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Subcommand;

use crate::registry::load::delta_dir::{APPLIED, REFUSED};

/// Delta subcommands.
#[derive(Debug, Subcommand)]
pub enum DeltaCommand {
    /// Hand a delta file to the running server: check its format, place it in the configured
    /// `[data] delta_dir` (atomically), and wait until the server applied or refused it.
    /// Exit 1 if refused.
    Apply {
        /// The server's config file (for `[data] delta_dir`).
        #[arg(long, short = 'c')]
        config: PathBuf,
        /// Seconds to wait for the server's verdict.
        #[arg(long, default_value_t = 60)]
        wait: u64,
        /// The delta file.
        file: PathBuf,
    },
    /// Check delta files against a data set without a server: the data, then each delta in
    /// turn, as the server would apply them. Exit 1 on the first refused delta.
    Check {
        /// Directory of registration data (*.jsonl). Default: the bundled demo registry.
        #[arg(long)]
        data: Option<PathBuf>,
        /// The delta files, in the order to apply them.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// Run a delta subcommand, writing its report to `out`.
///
/// # Errors
/// What went wrong, for the terminal.
pub fn run(command: DeltaCommand, out: &mut impl Write) -> Result<(), String> {
    match command {
        DeltaCommand::Apply { config, wait, file } => apply(&config, &file, wait, out),
        DeltaCommand::Check { data, files } => check(data.as_deref(), &files, out),
    }
}

fn apply(config: &Path, file: &Path, wait: u64, out: &mut impl Write) -> Result<(), String> {
    let settings = crate::config::ConfigFile::load(config)
        .and_then(|f| crate::config::Settings::resolve(f, crate::config::Overrides::default()))
        .map_err(|e| e.to_string())?;
    let dir = settings.delta_dir.ok_or_else(|| {
        format!(
            "{}: no [data] delta_dir: the server watches no delta directory",
            config.display()
        )
    })?;
    // The format is checked here, so a typo is reported at once rather than as a refusal; the
    // bytes checked are the bytes placed.
    let bytes = std::fs::read(file).map_err(|e| format!("{}: cannot read: {e}", file.display()))?;
    let delta = crate::registry::load::delta_file::parse_delta(&file.display().to_string(), &bytes)
        .map_err(|e| e.to_string())?;
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| n.ends_with(".jsonl"))
        .ok_or_else(|| format!("{}: a delta file is named *.jsonl", file.display()))?;
    for sub in ["", APPLIED, REFUSED] {
        if dir.join(sub).join(name).exists() {
            return Err(format!(
                "{} already holds a delta named {name}: give this one a new name",
                dir.join(sub).display()
            ));
        }
    }
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, &bytes)
        .map_err(|e| format!("cannot write into {}: {e}", dir.display()))?;
    std::fs::rename(&tmp, dir.join(name))
        .map_err(|e| format!("cannot place the delta in {}: {e}", dir.display()))?;
    writeln!(
        out,
        "placed {name} ({} changes) in {}; waiting for the server",
        delta.len(),
        dir.display()
    )
    .map_err(super::io)?;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(wait) {
        if dir.join(APPLIED).join(name).exists() {
            writeln!(out, "applied").map_err(super::io)?;
            return Ok(());
        }
        let refused = dir.join(REFUSED).join(name);
        if refused.exists() {
            let report = std::fs::read_to_string(dir.join(REFUSED).join(format!("{name}.errors")))
                .unwrap_or_default();
            return Err(format!("refused:\n{}", report.trim_end()));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "no verdict after {wait} s: is the server running with this config? The file stays in {}",
        dir.display()
    ))
}

fn check(data: Option<&Path>, files: &[PathBuf], out: &mut impl Write) -> Result<(), String> {
    let mut snapshot = match data {
        Some(d) => crate::registry::load::load_dir(d, Default::default()),
        None => crate::registry::load::load_demo(),
    }
    .map_err(|e| format!("registration data refused:\n{e}"))?;
    for f in files {
        let delta = crate::registry::load::delta_file::read_delta(f).map_err(|e| e.to_string())?;
        let started = Instant::now();
        snapshot = snapshot.apply(&delta).map_err(|e| e.to_string())?;
        writeln!(
            out,
            "ok: {} ({} changes, applied in {} ms)",
            f.display(),
            delta.len(),
            started.elapsed().as_millis()
        )
        .map_err(super::io)?;
    }
    let (domains, hosts, contacts, registrars) = snapshot.counts();
    writeln!(
        out,
        "result: {domains} domains, {hosts} hosts, {contacts} contacts, {registrars} registrars"
    )
    .map_err(super::io)
}
