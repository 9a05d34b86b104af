//! `rddsd subject report ROID`: the answer to a person's access request
//! ([`crate::authority::reports::subject`]). Its output holds that person's data, by design.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Subcommand;

/// `rddsd subject …`
#[derive(Debug, Subcommand)]
pub enum SubjectCommand {
    /// Everything the registry holds about one contact, the domains it appears on and in which
    /// role, what the public sees of each field, and every disclosure of it to an authority
    /// (withheld ones only as "withheld until"). THE OUTPUT CONTAINS THE PERSON'S PERSONAL DATA:
    /// it is for the privacy officer answering that person, after confirming their identity.
    /// Exit 1 if the ROID is not a contact.
    Report {
        /// The contact's ROID (matched without regard to case).
        roid: String,
        /// The server's config file: data directory, policy, delta directory, disclosure log
        /// and credentials file, unless the flags below override them.
        #[arg(long, short = 'c')]
        config: Option<PathBuf>,
        /// Directory of registration data (*.jsonl). Default: the config's, else the bundled
        /// demo registry.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Disclosure policy file. Default: the config's, else the bundled RDP baseline.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Disclosure log. Default: the config's `[authority] log`.
        #[arg(long)]
        log: Option<PathBuf>,
        /// Credentials file, for the jurisdiction of entries written before the log recorded
        /// it. Default: the config's `[authority] credentials`.
        #[arg(long)]
        credentials: Option<PathBuf>,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Run one `rddsd subject` command, writing its report to `out`.
///
/// # Errors
/// A message for the operator: an unknown ROID, data or policy that does not validate, a log
/// that does not verify, no log given.
pub fn run(cmd: SubjectCommand, out: &mut impl Write) -> Result<(), String> {
    let SubjectCommand::Report {
        roid,
        config,
        data,
        policy,
        log,
        credentials,
        json,
    } = cmd;
    let settings = match &config {
        Some(path) => Some(
            crate::config::ConfigFile::load(path)
                .and_then(|f| {
                    crate::config::Settings::resolve(f, crate::config::Overrides::default())
                })
                .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    let from_config =
        |pick: fn(&crate::config::Settings) -> Option<PathBuf>| settings.as_ref().and_then(pick);
    // The registration data in PostgreSQL (and the disclosure log, with `log_database`): read
    // from there, the data through an export to a private directory removed afterwards.
    let log_in_db = log.is_none()
        && settings
            .as_ref()
            .and_then(|s| s.authority.as_ref())
            .is_some_and(|a| a.log.as_os_str().is_empty());
    let from_db = match settings.as_ref().and_then(|s| s.database.as_ref()) {
        Some(db) if data.is_none() => Some(super::db::block_on(from_database(
            db.url.clone(),
            log_in_db,
        ))?),
        _ => None,
    };
    let data = data.or_else(|| from_db.as_ref().map(|(dir, _)| dir.path().to_path_buf()));
    let sources = crate::state::Sources {
        data_dir: data.or_else(|| from_config(|s| s.data_dir.clone())),
        policy: policy.or_else(|| from_config(|s| s.policy.clone())),
        config: None,
        delta_dir: from_config(|s| s.delta_dir.clone()),
        backend: std::sync::Arc::new(crate::backend::InMemory),
        load_options: settings
            .as_ref()
            .map_or_else(Default::default, |s| s.load_options),
    };
    // The export directory lives until the report is made.
    let (_export, db_log) = match from_db {
        Some((dir, v)) => (Some(dir), v),
        None => (None, None),
    };
    let log = match &db_log {
        Some(_) => None,
        None => Some(
            log.or_else(|| {
                // An empty path: the log is in the database (read above when the data is).
                from_config(|s| s.authority.as_ref().map(|a| a.log.clone()))
                    .filter(|p| !p.as_os_str().is_empty())
            })
            .ok_or("no disclosure log: give --log LOG, or --config with an [authority] log")?,
        ),
    };
    let credentials = credentials
        .or_else(|| from_config(|s| s.authority.as_ref().map(|a| a.credentials.clone())))
        .filter(|p| !p.as_os_str().is_empty());
    let generation = sources.load(0, None).map_err(|e| e.to_string())?;
    // An unknown ROID is said at once, before the log is read.
    let contact = crate::authority::reports::subject::find(&generation.snapshot, &roid)
        .map_err(|e| e.to_string())?;
    let (verified, log_name) = match (db_log, &log) {
        (Some(v), _) => (v, "in PostgreSQL".to_string()),
        (None, Some(path)) => (
            crate::authority::log::verify_file(path).map_err(|e| e.to_string())?,
            path.display().to_string(),
        ),
        (None, None) => return Err("no disclosure log".into()),
    };
    let report = crate::authority::reports::subject::report(
        &generation.snapshot,
        &generation.policy,
        contact,
        &verified,
        &jurisdictions(credentials.as_deref())?,
        crate::registry::Timestamp::now(),
    );
    if json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        )
        .map_err(super::io)
    } else {
        write!(
            out,
            "{}",
            crate::authority::reports::subject::text(&report, &log_name)
        )
        .map_err(super::io)
    }
}

/// Why the data or the log could not be read from the database.
#[derive(Debug, thiserror::Error)]
enum FromDatabase {
    /// The data.
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    /// The disclosure log.
    #[error(transparent)]
    Log(#[from] crate::db::disclosures::DbLogError),
}

/// The registration data exported from the database to a private directory, and the
/// disclosure log read and verified from it when `log` says it is there.
async fn from_database(
    url: String,
    log: bool,
) -> Result<
    (
        crate::db::check::PrivateDir,
        Option<crate::authority::log::Verified>,
    ),
    FromDatabase,
> {
    let mut client = crate::db::connect(&url).await?;
    let dir = crate::db::check::PrivateDir::create()?;
    crate::db::export::export(&mut client, dir.path()).await?;
    let verified = if log {
        Some(crate::db::disclosures::read(&mut client).await?.1)
    } else {
        None
    };
    Ok((dir, verified))
}

/// Credential id → jurisdiction, from a credentials file (none given or missing: empty).
///
/// # Errors
/// A credentials file that does not validate.
pub(super) fn jurisdictions(path: Option<&Path>) -> Result<HashMap<String, String>, String> {
    let Some(path) = path else {
        return Ok(HashMap::new());
    };
    Ok(crate::authority::credentials::read(path)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|c| (c.id, c.jurisdiction))
        .collect())
}
