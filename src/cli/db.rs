//! `rddsd db …` (schema migrations, import and export of the registration data) and
//! `rddsd check --database`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Subcommand;

use crate::db::{self, DbError};

/// Database subcommands.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Apply the schema migrations the database lacks, in order, each in its own transaction.
    /// Running it again is a no-op; a database migrated by a newer rddsd is refused.
    Migrate {
        /// PostgreSQL URL, e.g. postgres://rddsd@127.0.0.1:5432/registry.
        #[arg(long, env = "RDDSD_DATABASE_URL", hide_env_values = true)]
        database: String,
    },
    /// Validate a JSON Lines data set (as `rddsd check --data` does), then replace the
    /// registration data in the database with it, in one transaction.
    Import {
        /// PostgreSQL URL.
        #[arg(long, env = "RDDSD_DATABASE_URL", hide_env_values = true)]
        database: String,
        /// Directory of registration data (*.jsonl).
        dir: PathBuf,
    },
    /// Write the registration data in the database as JSON Lines files into a directory.
    Export {
        /// PostgreSQL URL.
        #[arg(long, env = "RDDSD_DATABASE_URL", hide_env_values = true)]
        database: String,
        /// Directory to write registry.jsonl, registrars.jsonl, contacts.jsonl, hosts.jsonl and
        /// domains.jsonl into (created if missing).
        dir: PathBuf,
    },
}

/// Run a database subcommand, writing its report to `out`.
///
/// # Errors
/// What went wrong, for the terminal.
pub fn run(command: DbCommand, out: &mut impl Write) -> Result<(), String> {
    match command {
        DbCommand::Migrate { database } => block_on(migrate(&database, out)),
        DbCommand::Import { database, dir } => import(&database, &dir, out),
        DbCommand::Export { database, dir } => block_on(export(&database, &dir, out)),
    }
}

/// `rddsd check --database URL`: the loader's rules over the tables, and the policy.
///
/// # Errors
/// The violations by table and key (with their values if `show_values`), a refused policy, or
/// a database that cannot be read.
pub fn check(
    database: &str,
    policy: Option<&Path>,
    show_values: bool,
    out: &mut impl Write,
) -> Result<(), String> {
    let policy = match policy {
        Some(p) => crate::policy::Policy::load(p),
        None => crate::policy::Policy::default_policy(),
    }
    .map_err(|e| format!("policy refused: {e}"))?;
    drop(policy);
    let checked = block_on(async {
        let mut client = db::connect(database).await.map_err(str)?;
        db::check::check(&mut client).await.map_err(str)
    })?;
    match checked {
        Ok(snapshot) => {
            let (domains, hosts, contacts, registrars) = snapshot.counts();
            writeln!(
                out,
                "ok: {domains} domains, {hosts} hosts, {contacts} contacts, {registrars} registrars; policy valid"
            )
            .map_err(super::io)?;
            // The process ends soon: freeing a large registry record by record only delays it.
            std::mem::forget(snapshot);
            Ok(())
        }
        Err(v) if show_values => Err(format!("registration data refused:\n{}", v.with_values())),
        Err(v) => Err(format!("registration data refused:\n{v}")),
    }
}

fn str(e: DbError) -> String {
    e.to_string()
}

/// The database tools run on a runtime of their own, on this thread: one connection, one
/// statement at a time.
/// Connect for a command that uses the cluster's tables (`audit … --database`, `authority …
/// --database`), after checking that the schema is the one this rddsd knows: an unmigrated
/// database gets "run `rddsd db migrate` first", not a missing table.
///
/// # Errors
/// A connection failure or a schema of another version, for the terminal.
pub(crate) async fn connect_current(url: &str) -> Result<tokio_postgres::Client, DbError> {
    let client = db::connect(url).await?;
    db::migrate::require_current(&client).await?;
    Ok(client)
}

/// Run `f` to its end on a runtime of this thread; its error, or the runtime's, as the
/// terminal says it.
pub(crate) fn block_on<T, E: std::fmt::Display>(
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?
        .block_on(f)
        .map_err(|e| e.to_string())
}

async fn migrate(database: &str, out: &mut impl Write) -> Result<(), String> {
    let mut client = db::connect(database).await.map_err(str)?;
    let outcome = db::migrate::migrate(&mut client).await.map_err(str)?;
    if outcome.applied.is_empty() {
        writeln!(
            out,
            "schema already at version {}: nothing to do",
            outcome.version
        )
        .map_err(super::io)?;
        return Ok(());
    }
    for m in &outcome.applied {
        writeln!(out, "applied {:04}_{}", m.version, m.name).map_err(super::io)?;
    }
    writeln!(out, "schema at version {}", outcome.version).map_err(super::io)
}

fn import(database: &str, dir: &Path, out: &mut impl Write) -> Result<(), String> {
    let started = Instant::now();
    // Validation first, and before any connection: a refused set never touches the database.
    // The same loader and the same message as `rddsd check --data`.
    // Values made safe are imported made safe; records left out stay out, unless more than the
    // default `[data] max_bad_percent` are, which refuses the set as a server start would.
    let snapshot = crate::registry::load::load_dir(dir, Default::default())
        .map_err(|e| format!("registration data refused:\n{e}"))?;
    let defects = snapshot.defects();
    if !defects.is_clean() {
        for e in &defects.reports {
            writeln!(out, "warning: {e}").map_err(super::io)?;
        }
        writeln!(out, "warning: {}", defects.summary()).map_err(super::io)?;
    }
    let validated = started.elapsed();
    let counts = block_on(async {
        let mut client = db::connect(database).await.map_err(str)?;
        db::import::import(&mut client, &snapshot)
            .await
            .map_err(str)
    })?;
    std::mem::forget(snapshot);
    writeln!(
        out,
        "imported {} domains, {} hosts, {} contacts, {} registrars in {:.1} s (validation {:.1} s, database {:.1} s)",
        counts.domains,
        counts.hosts,
        counts.contacts,
        counts.registrars,
        started.elapsed().as_secs_f64(),
        validated.as_secs_f64(),
        (started.elapsed() - validated).as_secs_f64(),
    )
    .map_err(super::io)
}

async fn export(database: &str, dir: &Path, out: &mut impl Write) -> Result<(), String> {
    let started = Instant::now();
    let mut client = db::connect(database).await.map_err(str)?;
    let counts = db::export::export(&mut client, dir).await.map_err(str)?;
    writeln!(
        out,
        "exported {} domains, {} hosts, {} contacts, {} registrars to {} in {:.1} s",
        counts.domains,
        counts.hosts,
        counts.contacts,
        counts.registrars,
        dir.display(),
        started.elapsed().as_secs_f64(),
    )
    .map_err(super::io)
}
