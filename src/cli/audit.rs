//! `rddsd audit verify|report|affected|stats|prune`: check, report on and prune the disclosure log
//! ([`crate::authority::log`]).

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::authority::log;
use crate::authority::reports::report;

/// `rddsd audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the whole hash chain; name the first bad entry and exit 1 if any.
    Verify(VerifyArgs),
    /// Transparency: generate the checkpoint signing key (or rotate it with --rotate).
    Keygen {
        /// Signer key file to write (mode 0600); its public keys go to KEY.pub.
        #[arg(long)]
        key: PathBuf,
        /// The log's origin, which is the key's name, e.g. rdap.nic.example/disclosures.
        #[arg(long)]
        origin: String,
        /// Replace an existing key, keeping it as KEY.retired-<id> and its public key in KEY.pub.
        #[arg(long)]
        rotate: bool,
    },
    /// Transparency: prove that the log extends an older signed checkpoint.
    Consistency {
        /// Disclosure log.
        log: PathBuf,
        /// The older checkpoint (a signed note kept by an auditor or witness).
        old_checkpoint: PathBuf,
        /// The log's public keys (`KEY.pub`).
        #[arg(long)]
        key: PathBuf,
        /// Stored tree hashes (default LOG.tree).
        #[arg(long)]
        tree: Option<PathBuf>,
    },
    /// Transparency: verify a receipt (from GET /authority/receipt/<index>) offline.
    VerifyReceipt {
        /// The receipt (JSON).
        receipt: PathBuf,
        /// The log's public keys (`KEY.pub`).
        #[arg(long)]
        key: PathBuf,
    },
    /// List disclosures, filtered.
    Report(ReportArgs),
    /// After a credential leaked: every contact whose non-public data left through it, with
    /// the fields and when (the people the registry must tell). Contains contact ROIDs.
    Affected(AffectedArgs),
    /// Disclosure counts for a transparency report, grouped; no personal data (no ROIDs,
    /// names, case references).
    Stats(StatsArgs),
    /// Remove the oldest entries, up to the first one not older than a date, leaving a
    /// checkpoint so the rest still verifies. Safe while a server runs.
    Prune(PruneArgs),
    /// Write the cluster's disclosure log from PostgreSQL as a JSON Lines file, the file log's
    /// format (`rddsd audit verify FILE` checks it), after verifying it.
    Export(ExportArgs),
}

/// `rddsd audit verify` flags.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Disclosure log.
    #[arg(required_unless_present = "database")]
    log: Option<PathBuf>,
    /// The cluster's disclosure log in PostgreSQL (`[authority] log_database`), instead of
    /// a file.
    #[arg(long, conflicts_with = "log", hide_env_values = true)]
    database: Option<String>,
    /// The head hash recorded elsewhere (e.g. the server log); detects a cut-off tail.
    #[arg(long)]
    head: Option<String>,
    /// Transparency: the log's public keys (`KEY.pub`); checks every checkpoint's signature.
    #[arg(long)]
    key: Option<PathBuf>,
    /// Transparency: stored checkpoints (default LOG.checkpoints), e.g. from an export.
    #[arg(long)]
    checkpoints: Option<PathBuf>,
    /// Transparency: stored tree hashes (default LOG.tree), e.g. from an export.
    #[arg(long)]
    tree: Option<PathBuf>,
}

/// `rddsd audit report` flags.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Disclosure log.
    #[arg(required_unless_present = "database")]
    log: Option<PathBuf>,
    /// The cluster's disclosure log in PostgreSQL (`[authority] log_database`), instead of
    /// a file.
    #[arg(long, conflicts_with = "log", hide_env_values = true)]
    database: Option<String>,
    /// Authority name (substring, case-insensitive) or credential id.
    #[arg(long)]
    authority: Option<String>,
    /// From this time (YYYY-MM-DD or RFC 3339), inclusive.
    #[arg(long)]
    since: Option<String>,
    /// Until this time, exclusive.
    #[arg(long)]
    until: Option<String>,
    /// Case reference.
    #[arg(long = "case")]
    case_reference: Option<String>,
    /// Contact ROID: who has received this person's data?
    #[arg(long)]
    contact: Option<String>,
    /// JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// `rddsd audit affected` flags.
#[derive(Debug, Args)]
pub struct AffectedArgs {
    /// Disclosure log.
    #[arg(required_unless_present = "database")]
    log: Option<PathBuf>,
    /// The cluster's disclosure log in PostgreSQL (`[authority] log_database`), instead of
    /// a file.
    #[arg(long, conflicts_with = "log", hide_env_values = true)]
    database: Option<String>,
    /// The credential id.
    #[arg(long)]
    credential: String,
    /// From this time (YYYY-MM-DD or RFC 3339), inclusive.
    #[arg(long)]
    since: Option<String>,
    /// Until this time, exclusive.
    #[arg(long)]
    until: Option<String>,
    /// JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// `rddsd audit stats` flags.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Disclosure log.
    #[arg(required_unless_present = "database")]
    log: Option<PathBuf>,
    /// The cluster's disclosure log in PostgreSQL (`[authority] log_database`), instead of
    /// a file.
    #[arg(long, conflicts_with = "log", hide_env_values = true)]
    database: Option<String>,
    /// Group by these keys, in this order: any of month, purpose, authority, jurisdiction,
    /// comma-separated.
    #[arg(long)]
    by: String,
    /// From this time (YYYY-MM-DD or RFC 3339), inclusive.
    #[arg(long)]
    since: Option<String>,
    /// Until this time, exclusive.
    #[arg(long)]
    until: Option<String>,
    /// Credentials file, for the jurisdiction of entries written before the log recorded it.
    #[arg(long)]
    credentials: Option<PathBuf>,
    /// JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// `rddsd audit prune` flags.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Disclosure log.
    #[arg(required_unless_present = "database")]
    log: Option<PathBuf>,
    /// The cluster's disclosure log in PostgreSQL (`[authority] log_database`), instead of
    /// a file.
    #[arg(long, conflicts_with = "log", hide_env_values = true)]
    database: Option<String>,
    /// Remove entries before this time (YYYY-MM-DD or RFC 3339); not in the future.
    #[arg(long)]
    before: String,
}

/// `rddsd audit export` flags.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// PostgreSQL URL of the database holding the log.
    #[arg(long, hide_env_values = true)]
    database: String,
    /// File to write (replaced atomically, mode 0600).
    file: PathBuf,
}

/// Where a log is read from: a file, or the database.
enum Source {
    File(PathBuf),
    Database(String),
}

impl Source {
    fn new(log: Option<PathBuf>, database: Option<String>) -> Result<Self, String> {
        match (log, database) {
            (Some(p), None) => Ok(Self::File(p)),
            (None, Some(url)) => Ok(Self::Database(url)),
            _ => Err("give either a log file or --database URL".into()),
        }
    }

    /// For messages: the file, or "the database" (never the URL, which may hold a password).
    fn name(&self) -> String {
        match self {
            Self::File(p) => p.display().to_string(),
            Self::Database(_) => "the database".into(),
        }
    }

    fn verify(&self) -> Result<log::Verified, String> {
        match self {
            Self::File(p) => log::verify_file(p).map_err(|e| e.to_string()),
            Self::Database(url) => super::db::block_on(async {
                let mut client = super::db::connect_current(url).await?;
                crate::db::disclosures::read(&mut client)
                    .await
                    .map(|(_, v)| v)
            }),
        }
    }
}

/// Run one `rddsd audit` command, writing its report to `out`.
///
/// # Errors
/// A message for the operator: a log that does not verify names the first bad line.
pub fn run(cmd: AuditCommand, out: &mut impl Write) -> Result<(), String> {
    match cmd {
        AuditCommand::Verify(args) => verify(out, args),
        AuditCommand::Keygen {
            key,
            origin,
            rotate,
        } => lines(
            out,
            crate::authority::transparency::audit::keygen(&key, &origin, rotate)
                .map_err(|e| e.to_string())?,
        ),
        AuditCommand::Consistency {
            log: path,
            old_checkpoint,
            key,
            tree,
        } => {
            let src = crate::authority::transparency::audit::Sources {
                keys: Some(key),
                checkpoints: None,
                tree,
            };
            lines(
                out,
                crate::authority::transparency::audit::consistency(&path, &old_checkpoint, &src)
                    .map_err(|e| e.to_string())?,
            )
        }
        AuditCommand::VerifyReceipt { receipt, key } => lines(
            out,
            crate::authority::transparency::audit::verify_receipt(&receipt, &key)
                .map_err(|e| e.to_string())?,
        ),
        AuditCommand::Report(args) => report_disclosures(out, args),
        AuditCommand::Affected(args) => affected(out, args),
        AuditCommand::Stats(args) => stats(out, args),
        AuditCommand::Prune(args) => prune(out, args),
        AuditCommand::Export(args) => export(out, args),
    }
}

/// `rddsd audit verify`.
fn verify(out: &mut impl Write, args: VerifyArgs) -> Result<(), String> {
    let VerifyArgs {
        log: path,
        database,
        head,
        key,
        checkpoints,
        tree,
    } = args;
    let src = Source::new(path, database)?;
    let v = src.verify()?;
    let n = v.disclosures();
    if v.entries.is_empty() {
        writeln!(out, "empty: {} holds no entries yet", src.name()).map_err(super::io)?;
    } else {
        writeln!(out, "ok: {n} disclosure(s), chain intact, head {}", v.head).map_err(super::io)?;
    }
    if let Some(cp) = v.checkpoint() {
        writeln!(
            out,
            "pruned: {} entr{} before {} (through seq {} of {}), anchored by the checkpoint on line 1",
            cp.pruned_entries,
            if cp.pruned_entries == 1 { "y" } else { "ies" },
            cp.pruned_before,
            cp.pruned_through_seq,
            cp.pruned_through_time
        ).map_err(super::io)?;
    }
    if let Some(expected) = head {
        let found = v.find_head(expected.trim()).ok_or_else(|| {
            format!(
                "{}: the recorded head {expected} is not in the log: neither a kept entry nor the prune checkpoint's anchor (entries after it were cut off, or it was pruned)",
                src.name()
            )
        })?;
        match found {
            log::HeadFound::Head { seq } => {
                writeln!(out, "head: the recorded head is the log's head (seq {seq})").map_err(super::io)?;
            }
            log::HeadFound::Entry { seq, line } => writeln!(
            out,
                "head: the recorded head is seq {seq} on line {line}; the log continues past it"
            ).map_err(super::io)?,
            log::HeadFound::Anchor { seq, is_head } => writeln!(
            out,
                "head: the recorded head is seq {seq}, pruned, anchored by the checkpoint on line 1{}",
                if is_head { "; nothing was appended since" } else { "; the log continues past it" }
            ).map_err(super::io)?,
        }
    }
    // Transparency (issue #14): the tree and the stored checkpoints, kept beside a file
    // log only.
    let Source::File(path) = src else {
        return Ok(());
    };
    let src = crate::authority::transparency::audit::Sources {
        keys: key,
        checkpoints,
        tree,
    };
    lines(
        out,
        crate::authority::transparency::audit::verify_if_present(&path, &src)
            .map_err(|e| e.to_string())?,
    )?;
    Ok(())
}

/// `rddsd audit report`.
fn report_disclosures(out: &mut impl Write, args: ReportArgs) -> Result<(), String> {
    let ReportArgs {
        log: path,
        database,
        authority,
        since,
        until,
        case_reference,
        contact,
        json,
    } = args;
    let filter = report::Filter {
        authority,
        since: since.map(|s| super::cli_date("since", &s)).transpose()?,
        until: until.map(|s| super::cli_date("until", &s)).transpose()?,
        case_reference,
        contact,
    };
    let entries = match Source::new(path, database)? {
        Source::File(path) => log::read_entries(&path).map_err(|e| e.to_string())?,
        src @ Source::Database(_) => src.verify()?.entries,
    };
    let selected = report::select(&entries, &filter);
    if json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&selected).map_err(|e| e.to_string())?
        )
        .map_err(super::io)?;
    } else {
        write!(out, "{}", report::table(&selected)).map_err(super::io)?;
    }
    Ok(())
}

/// `rddsd audit affected`.
fn affected(out: &mut impl Write, args: AffectedArgs) -> Result<(), String> {
    let AffectedArgs {
        log: path,
        database,
        credential,
        since,
        until,
        json,
    } = args;
    let src = Source::new(path, database)?;
    let since = since.map(|s| super::cli_date("since", &s)).transpose()?;
    let until = until.map(|s| super::cli_date("until", &s)).transpose()?;
    let credential = credential.trim().to_string();
    if credential.is_empty() {
        return Err("--credential: give the credential id".into());
    }
    let v = src.verify()?;
    // A mistyped id must not read as "nobody is affected" in the middle of a leak.
    let known = v.entries.iter().any(|e| {
        e.disclosure
            .as_ref()
            .is_some_and(|d| d.credential_id == credential)
    });
    if !known {
        return Err(format!(
            "--credential {credential}: no disclosure in {} was made with this credential id (ids are exact; see `rddsd authority list`)",
            src.name()
        ));
    }
    let list = report::affected(&v.entries, &credential, since.as_ref(), until.as_ref());
    if json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&list).map_err(|e| e.to_string())?
        )
        .map_err(super::io)
    } else {
        write!(out, "{}", report::affected_table(&credential, &list)).map_err(super::io)
    }
}

/// `rddsd audit stats`.
fn stats(out: &mut impl Write, args: StatsArgs) -> Result<(), String> {
    let StatsArgs {
        log: path,
        database,
        by,
        since,
        until,
        credentials,
        json,
    } = args;
    let by = crate::authority::reports::stats::parse_by(&by).map_err(|e| e.to_string())?;
    let filter = report::Filter {
        since: since.map(|s| super::cli_date("since", &s)).transpose()?,
        until: until.map(|s| super::cli_date("until", &s)).transpose()?,
        ..report::Filter::default()
    };
    let juris = super::subject::jurisdictions(credentials.as_deref())?;
    let v = Source::new(path, database)?.verify()?;
    let stats = crate::authority::reports::stats::stats(&v.entries, &filter, &by, &juris);
    if json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&stats).map_err(|e| e.to_string())?
        )
        .map_err(super::io)
    } else {
        write!(out, "{}", crate::authority::reports::stats::table(&stats)).map_err(super::io)
    }
}

/// `rddsd audit prune`.
fn prune(out: &mut impl Write, args: PruneArgs) -> Result<(), String> {
    let PruneArgs {
        log: path,
        database,
        before,
    } = args;
    let before = super::cli_date("before", &before)?;
    let now = crate::registry::Timestamp::now();
    let log::Pruned { removed, kept } = match Source::new(path, database)? {
        Source::File(path) => log::prune(&path, &before, &now, &|log, data, v| {
            Ok(crate::authority::transparency::store::before_prune(
                log, data, v,
            )?)
        })
        .map_err(|e| e.to_string())?,
        Source::Database(url) => super::db::block_on(async {
            let mut client = super::db::connect_current(&url).await?;
            crate::db::disclosures::prune(&mut client, &before, &now).await
        })?,
    };
    writeln!(
        out,
        "pruned {removed} entr{} before {}; {kept} kept",
        if removed == 1 { "y" } else { "ies" },
        before.text()
    )
    .map_err(super::io)?;
    Ok(())
}

/// `rddsd audit export`.
fn export(out: &mut impl Write, args: ExportArgs) -> Result<(), String> {
    let ExportArgs { database, file } = args;
    let (data, v) = super::db::block_on(async {
        let mut client = super::db::connect_current(&database).await?;
        crate::db::disclosures::read(&mut client).await
    })?;
    let mut tmp = file.as_os_str().to_owned();
    tmp.push(".export-tmp");
    crate::files::atomic_replace(
        &file,
        std::path::Path::new(&tmp),
        &data,
        crate::files::PRIVATE,
    )
    .map_err(|e| format!("{}: {e}", file.display()))?;
    writeln!(
        out,
        "exported {} entr{} to {}, chain intact, head {}",
        v.entries.len(),
        if v.entries.len() == 1 { "y" } else { "ies" },
        file.display(),
        v.head
    )
    .map_err(super::io)
}

/// Write report lines.
fn lines(out: &mut impl Write, lines: Vec<String>) -> Result<(), String> {
    for l in lines {
        writeln!(out, "{l}").map_err(super::io)?;
    }
    Ok(())
}
