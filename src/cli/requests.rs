//! `rddsd requests …`: the privacy officer's review of disclosure requests (issue #25), against
//! the same record the servers use (the file store, or PostgreSQL for a cluster). Every change
//! is made under the store's lock on the record as it is then, so a server sees it at its next
//! read and two officers never fork the chain.
//!
//! `show` prints the requester's details and justification (personal data, for the officer);
//! `list` and `report` never do.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand};

use crate::registry::Timestamp;
use crate::requests::model::{self, Action, DenyReason, Record, RequesterKind, Status};
use crate::requests::{report, retention, Book, FileStore, RequestsSettings, Store, StoreError};

/// What every command takes.
#[derive(Debug, Args)]
pub struct Common {
    /// The server's config file (its `[requests]` section names the store).
    #[arg(long, short = 'c')]
    pub config: PathBuf,
    /// The officer recorded for a change (default: the operating-system user).
    #[arg(long, env = "USER", hide_env_values = true)]
    pub officer: Option<String>,
}

/// `rddsd requests …`
#[derive(Debug, Subcommand)]
pub enum RequestsCommand {
    /// The requests, newest first: id, status, kind, purpose, urgency, deadlines. No personal data.
    List {
        /// --config and --officer.
        #[command(flatten)]
        common: Common,
        /// Only requests in this state (received, acknowledged, identity-confirmed, approved,
        /// denied, answered, expired).
        #[arg(long)]
        state: Option<String>,
        /// Only urgent requests.
        #[arg(long)]
        urgent: bool,
        /// Only requests past a deadline (acknowledgement or decision).
        #[arg(long)]
        overdue: bool,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// One request with its history, the requester's details and the justification. THE
    /// OUTPUT CONTAINS PERSONAL DATA.
    Show {
        /// --config and --officer.
        #[command(flatten)]
        common: Common,
        /// The request id.
        id: String,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge receipt.
    Acknowledge {
        /// --config and --officer.
        #[command(flatten)]
        common: Common,
        /// The request id.
        id: String,
    },
    /// Record that the requester's identity is confirmed (acknowledging too if needed). For a
    /// data subject, their data is matched by the confirmed e-mail address and the ROIDs given
    /// with --roid; when nothing matches, the request is answered at once ("no such data is
    /// held").
    ConfirmIdentity {
        /// --config and --officer.
        #[command(flatten)]
        common: Common,
        /// The request id.
        id: String,
        /// How the identity was confirmed.
        #[arg(long)]
        method: String,
        /// A data subject: a contact ROID accepted as theirs (repeatable).
        #[arg(long)]
        roid: Vec<String>,
    },
    /// Approve the disclosure of these fields until a date.
    Approve {
        /// --config and --officer.
        #[command(flatten)]
        common: Common,
        /// The request id.
        id: String,
        /// Fields by the policy's names (name, org, street, city, sp, pc, cc, voice, fax, email).
        #[arg(long, value_delimiter = ',')]
        fields: Vec<String>,
        /// The last moment of the disclosure: YYYY-MM-DD (00:00 UTC) or RFC 3339.
        #[arg(long)]
        valid_until: String,
        /// Why (shown to the requester and recorded in the disclosure log).
        #[arg(long)]
        rationale: String,
    },
    /// Deny, with a reason code and a rationale.
    Deny {
        /// --config and --officer.
        #[command(flatten)]
        common: Common,
        /// The request id.
        id: String,
        /// insufficient-basis, not-proportionate, identity-not-confirmed, no-data or other.
        #[arg(long)]
        reason: String,
        /// Why (shown to the requester).
        #[arg(long)]
        rationale: String,
    },
    /// Answer a data subject: prints what `rddsd subject report` produces for each ROID
    /// (THE PERSON'S DATA, to send them) and records the answer with its hash.
    Answer {
        /// --config and --officer.
        #[command(flatten)]
        common: Common,
        /// The request id.
        id: String,
        /// Their contact ROIDs (repeatable).
        #[arg(long)]
        roid: Vec<String>,
    },
    /// Erase the requester's details and the justification from beside the chain (the person's
    /// erasure request, a court order), and record the erasure in the chain (who, when, why;
    /// no personal data). The chain still verifies.
    Erase {
        /// --config and --officer.
        #[command(flatten)]
        common: Common,
        /// The request id.
        id: String,
        /// Why (recorded in the chain: write no personal data in it).
        #[arg(long)]
        reason: String,
    },
    /// Retention: remove the details of requests closed (denied, answered, expired) before a
    /// date, and cut the chain's entries before it behind a checkpoint, keeping every entry of
    /// a request not closed before it.
    Prune {
        /// --config and --officer.
        #[command(flatten)]
        common: Common,
        /// YYYY-MM-DD (00:00 UTC) or RFC 3339; not in the future.
        #[arg(long)]
        before: String,
    },
    /// Verify the chain, and that each request's details kept beside it match their hash: a
    /// one-line verdict; exit 1 when broken.
    Verify {
        /// --config and --officer.
        #[command(flatten)]
        common: Common,
    },
    /// Per month: received, acknowledged in time, approved, denied by reason, median and 95th
    /// percentile times, urgent ones decided within 24 hours. No personal data.
    Report {
        /// --config and --officer.
        #[command(flatten)]
        common: Common,
        /// From this date (received on or after).
        #[arg(long)]
        since: Option<String>,
        /// Until this date (received before).
        #[arg(long)]
        until: Option<String>,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum RequestsCliError {
    /// The config.
    #[error("{0}")]
    Config(String),
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An argument.
    #[error("{0}")]
    Argument(String),
    /// Writing the output.
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
    /// `verify` found the record broken: the verdict.
    #[error("{0}")]
    Broken(String),
}

fn settings(
    config: &std::path::Path,
) -> Result<(RequestsSettings, crate::config::Settings), RequestsCliError> {
    let s = crate::config::ConfigFile::load(config)
        .and_then(|f| crate::config::Settings::resolve(f, crate::config::Overrides::default()))
        .map_err(|e| RequestsCliError::Config(e.to_string()))?;
    let r = s.requests.clone().ok_or_else(|| {
        RequestsCliError::Config(format!("{}: no [requests] section", config.display()))
    })?;
    Ok((r, s))
}

fn store(r: &RequestsSettings) -> Arc<dyn Store> {
    match &r.log_database {
        Some(url) => crate::db::requests::open(url),
        None => Arc::new(FileStore::new(r.log.clone())),
    }
}

fn block_on<T>(
    f: impl std::future::Future<Output = Result<T, RequestsCliError>>,
) -> Result<T, RequestsCliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| RequestsCliError::Config(format!("cannot start the async runtime: {e}")))?
        .block_on(f)
}

fn officer(common: &Common) -> Result<String, RequestsCliError> {
    common
        .officer
        .clone()
        .filter(|o| !o.trim().is_empty())
        .ok_or_else(|| RequestsCliError::Argument("give --officer NAME".into()))
}

/// Run one `rddsd requests` command, writing to `out`.
///
/// # Errors
/// A message for the officer.
pub fn run(cmd: RequestsCommand, out: &mut impl Write) -> Result<(), RequestsCliError> {
    let now = Timestamp::now();
    match cmd {
        RequestsCommand::List {
            common,
            state,
            urgent,
            overdue,
            json,
        } => {
            let (r, _) = settings(&common.config)?;
            let state = state
                .map(|s| {
                    Status::parse(&s).ok_or_else(|| {
                        RequestsCliError::Argument(format!("--state: unknown state {s:?}"))
                    })
                })
                .transpose()?;
            let book = block_on(async { Ok(store(&r).read().await?) })?;
            list(&book, state, urgent, overdue, json, now, out)
        }
        RequestsCommand::Show { common, id, json } => {
            let (r, _) = settings(&common.config)?;
            let st = store(&r);
            let (book, details) = block_on(async {
                let book = st.read().await?;
                let details = st.details(id.clone()).await?;
                Ok((book, details))
            })?;
            let rec = book
                .records
                .get(&id)
                .ok_or_else(|| RequestsCliError::Argument(format!("no request {id}")))?;
            show(rec, details.as_ref(), json, now, out)
        }
        RequestsCommand::Acknowledge { common, id } => {
            let who = officer(&common)?;
            change(&common, &id, &who, Action::Acknowledge, now, out)
        }
        RequestsCommand::ConfirmIdentity {
            common,
            id,
            method,
            roid,
        } => {
            let who = officer(&common)?;
            let (r, s) = settings(&common.config)?;
            let st = store(&r);
            // A data subject is matched by the confirmed identity now, never before.
            let (book, details) =
                block_on(async { Ok((st.read().await?, st.details(id.clone()).await?)) })?;
            let rec = book
                .records
                .get(&id)
                .ok_or_else(|| RequestsCliError::Argument(format!("no request {id}")))?;
            let subject_matches = if rec.filed.kind == RequesterKind::DataSubject {
                let email = details.map(|d| d.email).unwrap_or_default();
                Some(subject_matches(&s, &email, &roid)?)
            } else {
                None
            };
            change(
                &common,
                &id,
                &who,
                Action::ConfirmIdentity {
                    method,
                    subject_matches,
                },
                now,
                out,
            )
        }
        RequestsCommand::Approve {
            common,
            id,
            fields,
            valid_until,
            rationale,
        } => {
            let who = officer(&common)?;
            for f in &fields {
                if crate::requests::intake::field(f).is_none_or(|f| !f.is_personal()) {
                    return Err(RequestsCliError::Argument(format!(
                        "--fields: {f:?} is not a personal field of the policy (name, org, street, city, sp, pc, cc, voice, fax, email)"
                    )));
                }
            }
            let valid_until =
                super::cli_date("valid-until", &valid_until).map_err(RequestsCliError::Argument)?;
            change(
                &common,
                &id,
                &who,
                Action::Approve {
                    fields,
                    valid_until,
                    rationale,
                },
                now,
                out,
            )
        }
        RequestsCommand::Deny {
            common,
            id,
            reason,
            rationale,
        } => {
            let who = officer(&common)?;
            let reason = DenyReason::parse(&reason).ok_or_else(|| {
                RequestsCliError::Argument(
                    "--reason: one of insufficient-basis, not-proportionate, identity-not-confirmed, no-data, other".into(),
                )
            })?;
            change(
                &common,
                &id,
                &who,
                Action::Deny { reason, rationale },
                now,
                out,
            )
        }
        RequestsCommand::Answer { common, id, roid } => {
            let who = officer(&common)?;
            let mut text = Vec::new();
            for r in &roid {
                crate::cli::subject::run(
                    crate::cli::subject::SubjectCommand::Report {
                        roid: r.clone(),
                        config: Some(common.config.clone()),
                        data: None,
                        policy: None,
                        log: None,
                        credentials: None,
                        json: false,
                    },
                    &mut text,
                )
                .map_err(RequestsCliError::Argument)?;
            }
            if roid.is_empty() {
                text.extend_from_slice(model::NO_SUCH_DATA.as_bytes());
                text.push(b'\n');
            }
            let report_sha256 = crate::requests::sha256_hex(&text);
            change(
                &common,
                &id,
                &who,
                Action::Answer { report_sha256 },
                now,
                out,
            )?;
            out.write_all(&text)?;
            Ok(())
        }
        RequestsCommand::Erase { common, id, reason } => {
            let who = officer(&common)?;
            let (r, _) = settings(&common.config)?;
            let st = store(&r);
            let book = block_on(async { Ok(st.read().await?) })?;
            let rec = book
                .records
                .get(&id)
                .ok_or_else(|| RequestsCliError::Argument(format!("no request {id}")))?;
            if let Some(e) = &rec.erased {
                // Recorded before: finish a removal that failed then.
                let removed = block_on(async { Ok(st.erase_details(id.clone()).await?) })?;
                writeln!(
                    out,
                    "{id}: already erased at {}{}",
                    e.at.text(),
                    if removed {
                        "; removed what was left"
                    } else {
                        ""
                    }
                )?;
                return Ok(());
            }
            change(&common, &id, &who, Action::Erase { reason }, now, out)
        }
        RequestsCommand::Prune { common, before } => {
            let who = officer(&common)?;
            let before = super::cli_date("before", &before).map_err(RequestsCliError::Argument)?;
            let (r, _) = settings(&common.config)?;
            let st = store(&r);
            let p = block_on(async { Ok(st.prune(before, now, who).await?) })?;
            match p.through_seq {
                Some(seq) => writeln!(
                    out,
                    "pruned {} entries of {} requests (checkpoint at seq {seq}); details of {} requests removed",
                    p.entries, p.requests, p.details
                )?,
                None => writeln!(
                    out,
                    "no entries pruned (none before {} that belong only to requests closed by then); details of {} requests removed",
                    before.text(),
                    p.details
                )?,
            }
            Ok(())
        }
        RequestsCommand::Verify { common } => {
            let (r, _) = settings(&common.config)?;
            let st = store(&r);
            let verdict = block_on(verify(st.as_ref(), now))?;
            writeln!(out, "{verdict}")?;
            Ok(())
        }
        RequestsCommand::Report {
            common,
            since,
            until,
            json,
        } => {
            let (r, _) = settings(&common.config)?;
            let date = |flag: &str, v: Option<String>| {
                v.map(|v| super::cli_date(flag, &v).map_err(RequestsCliError::Argument))
                    .transpose()
            };
            let (since, until) = (date("since", since)?, date("until", until)?);
            let book = block_on(async { Ok(store(&r).read().await?) })?;
            let rep = report::report(book.records.values(), since, until, now);
            if json {
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&rep).unwrap_or_default()
                )?;
            } else {
                write!(out, "{}", report::text(&rep))?;
            }
            Ok(())
        }
    }
}

/// Whether anything in the data matches a data subject: a contact with the confirmed e-mail
/// address, or one of the ROIDs the officer accepts.
fn subject_matches(
    s: &crate::config::Settings,
    email: &str,
    roids: &[String],
) -> Result<bool, RequestsCliError> {
    if let Some(db) = &s.database {
        let url = db.url.clone();
        return block_on(async move {
            Ok(crate::db::requests::subject_matches(&url, email, roids).await?)
        });
    }
    let sources = crate::state::Sources {
        data_dir: s.data_dir.clone(),
        policy: s.policy.clone(),
        config: None,
        delta_dir: s.delta_dir.clone(),
        backend: Arc::new(crate::backend::InMemory),
        load_options: s.load_options,
    };
    let generation = sources
        .load(0, None)
        .map_err(|e| RequestsCliError::Config(e.to_string()))?;
    let snap = &generation.snapshot;
    if roids.iter().any(|r| snap.contact(r.trim()).is_some()) {
        return Ok(true);
    }
    let email = email.trim();
    Ok(!email.is_empty()
        && snap
            .contacts()
            .iter()
            .any(|c| c.email().eq_ignore_ascii_case(email)))
}

fn change(
    common: &Common,
    id: &str,
    who: &str,
    action: Action,
    now: Timestamp,
    out: &mut impl Write,
) -> Result<(), RequestsCliError> {
    let (r, _) = settings(&common.config)?;
    let st = store(&r);
    let (id_owned, who_owned) = (id.to_string(), who.to_string());
    let entries = block_on(async move {
        Ok(st
            .change(
                now,
                Box::new(move |book: &Book| {
                    let rec = book.records.get(&id_owned).ok_or_else(|| {
                        model::Refused::Argument(format!("no request {id_owned}"))
                    })?;
                    Ok(model::transition(rec, &action, now)?
                        .into_iter()
                        .map(|event| crate::requests::store::Pending {
                            request: id_owned.clone(),
                            officer: Some(who_owned.clone()),
                            erase_details: matches!(event, model::Event::Erased { .. }),
                            event,
                            details: None,
                        })
                        .collect())
                }),
            )
            .await?)
    })?;
    for e in entries {
        let what = serde_json::to_value(&e.event)
            .ok()
            .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_string))
            .unwrap_or_default();
        writeln!(out, "{id}: {what} (seq {}, by {who})", e.seq)?;
    }
    Ok(())
}

/// `requests verify`: the verdict, [`RequestsCliError::Broken`] when broken.
async fn verify(st: &dyn Store, now: Timestamp) -> Result<String, RequestsCliError> {
    let book = st.read().await.map_err(|e| match e {
        StoreError::Chain(_) => RequestsCliError::Broken(format!("BROKEN: {}: {e}", st.describe())),
        e => RequestsCliError::Store(e),
    })?;
    let mut counts = std::collections::BTreeMap::<&'static str, usize>::new();
    let mut faults = Vec::new();
    for rec in book.records.values() {
        let state = match st.details(rec.id.clone()).await {
            Ok(d) => retention::details_state(rec, d.as_ref()),
            Err(e) => {
                faults.push(format!("{}: details unreadable ({e})", rec.id));
                continue;
            }
        };
        if state.is_fault() {
            faults.push(format!("{}: details {}", rec.id, state.key()));
        } else {
            *counts.entry(state.key()).or_default() += 1;
        }
    }
    if !faults.is_empty() {
        return Err(RequestsCliError::Broken(format!(
            "BROKEN: {}: the chain verifies, but {} request(s) fail: {}",
            st.describe(),
            faults.len(),
            faults.join("; ")
        )));
    }
    let open = book
        .records
        .values()
        .filter(|r| r.status_at(now).is_open())
        .count();
    let pruned = book
        .checkpoint
        .as_ref()
        .map_or(String::new(), |c| match &c.event {
            model::Event::Checkpoint(cp) => format!(
                ", pruned through seq {} (before {}, {} requests)",
                c.seq, cp.pruned_before, cp.pruned_requests
            ),
            _ => String::new(),
        });
    let details = counts
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(format!(
        "ok: {} verifies: {} entries through seq {}{pruned}; {} requests ({open} open); details: {}",
        st.describe(),
        book.entries,
        book.next_seq.saturating_sub(1),
        book.records.len(),
        if details.is_empty() { "none" } else { &details },
    ))
}

fn open_overdue(rec: &Record, now: Timestamp) -> bool {
    rec.ack_overdue(now) || rec.decision_overdue(now)
}

fn list(
    book: &Book,
    state: Option<Status>,
    urgent: bool,
    overdue: bool,
    json: bool,
    now: Timestamp,
    out: &mut impl Write,
) -> Result<(), RequestsCliError> {
    let mut rows: Vec<&Record> = book
        .records
        .values()
        .filter(|r| state.is_none_or(|s| r.status_at(now) == s))
        .filter(|r| !urgent || r.filed.urgent.is_some())
        .filter(|r| !overdue || open_overdue(r, now))
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.received_at));
    if json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.id,
                    "status": r.status_at(now).key(),
                    "kind": r.filed.kind.key(),
                    "purpose": r.filed.purpose,
                    "urgent": r.filed.urgent.map(|u| u.key()),
                    "receivedAt": r.received_at.text().to_string(),
                    "acknowledgeBy": r.filed.acknowledge_by,
                    "respondBy": r.filed.respond_by,
                    "overdue": open_overdue(r, now),
                })
            })
            .collect();
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&v).unwrap_or_default()
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<28} {:<18} {:<16} {:<22} {:<8} {:<20} {:<20}",
        "id", "status", "kind", "purpose", "urgent", "acknowledge-by", "respond-by"
    )?;
    for r in rows {
        writeln!(
            out,
            "{:<28} {:<18} {:<16} {:<22} {:<8} {:<20} {:<20}{}",
            r.id,
            r.status_at(now).key(),
            r.filed.kind.key(),
            r.filed.purpose,
            if r.filed.urgent.is_some() {
                "yes"
            } else {
                "no"
            },
            r.filed.acknowledge_by,
            r.filed.respond_by,
            if open_overdue(r, now) {
                "  OVERDUE"
            } else {
                ""
            },
        )?;
    }
    Ok(())
}

fn show(
    r: &Record,
    details: Option<&crate::requests::Details>,
    json: bool,
    now: Timestamp,
    out: &mut impl Write,
) -> Result<(), RequestsCliError> {
    let intact = details.map(|d| d.sha256() == r.filed.details_sha256);
    if json {
        let v = serde_json::json!({
            "id": r.id,
            "status": r.status_at(now).key(),
            "filed": r.filed,
            "receivedAt": r.received_at.text().to_string(),
            "requester": details.map(|d| serde_json::json!({
                "name": d.name, "email": d.email, "organization": d.organization,
            })),
            "justification": details.map(|d| d.justification.clone()),
            "detailsIntact": intact,
            "details": retention::details_state(r, details).key(),
            "erased": r.erased.as_ref().map(|e| serde_json::json!({
                "at": e.at.text().to_string(), "officer": e.officer, "reason": e.reason,
            })),
            "identityMethod": r.identity_method,
            "approval": r.approval.as_ref().map(|a| serde_json::json!({
                "fields": a.fields, "validUntil": a.valid_until.text().to_string(),
                "rationale": a.rationale,
            })),
            "denial": r.denial.as_ref().map(|(reason, why)| serde_json::json!({
                "reason": reason.key(), "rationale": why,
            })),
            "answer": r.answer,
            "officers": r.officers,
        });
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&v).unwrap_or_default()
        )?;
        return Ok(());
    }
    let shown = |s: &str| crate::registry::shown::escaped(s).to_string();
    writeln!(out, "request      {}", r.id)?;
    writeln!(out, "status       {}", r.status_at(now).key())?;
    writeln!(out, "kind         {}", r.filed.kind.key())?;
    writeln!(out, "purpose      {}", r.filed.purpose)?;
    writeln!(out, "jurisdiction {}", shown(&r.filed.jurisdiction))?;
    writeln!(out, "legal basis  {}", shown(&r.filed.legal_basis))?;
    writeln!(out, "case ref     {}", shown(&r.filed.case_reference))?;
    if let Some(u) = r.filed.urgent {
        writeln!(out, "urgent       {}", u.key())?;
    }
    writeln!(out, "objects      {}", r.filed.objects.join(", "))?;
    if let Some(f) = &r.filed.fields {
        writeln!(out, "fields asked {}", f.join(", "))?;
    }
    writeln!(out, "received     {}", r.received_at.text())?;
    writeln!(out, "ack by       {}", r.filed.acknowledge_by)?;
    writeln!(out, "respond by   {}", r.filed.respond_by)?;
    match r.filed.credential.as_deref() {
        Some(c) => writeln!(out, "identity     confirmed at intake by credential {c}")?,
        None => writeln!(
            out,
            "identity     {}",
            r.identity_method
                .as_deref()
                .map_or("not confirmed".to_string(), |m| format!(
                    "confirmed: {}",
                    shown(m)
                ))
        )?,
    }
    match details {
        Some(d) => {
            writeln!(out, "requester    {} <{}>", shown(&d.name), shown(&d.email))?;
            if let Some(o) = &d.organization {
                writeln!(out, "organization {}", shown(o))?;
            }
            writeln!(out, "justification:\n{}", shown(&d.justification))?;
            if intact == Some(false) {
                writeln!(
                    out,
                    "WARNING: the details do not match the hash in the record"
                )?;
            }
        }
        None => match &r.erased {
            Some(e) => writeln!(
                out,
                "requester    (details erased at {} by {}: {})",
                e.at.text(),
                shown(e.officer.as_deref().unwrap_or("?")),
                shown(&e.reason)
            )?,
            None if r.status.is_open() => writeln!(
                out,
                "requester    (details MISSING: see `rddsd requests verify`)"
            )?,
            None => writeln!(out, "requester    (details removed by retention)")?,
        },
    }
    if let Some(a) = &r.approval {
        writeln!(
            out,
            "approved     fields {} until {}: {}",
            a.fields.join(","),
            a.valid_until.text(),
            shown(&a.rationale)
        )?;
    }
    if let Some((reason, why)) = &r.denial {
        writeln!(out, "denied       {}: {}", reason.key(), shown(why))?;
    }
    if let Some(a) = &r.answer {
        writeln!(out, "answered     {a}")?;
    }
    Ok(())
}
