//! `rddsd authority add|revoke|list`: issue, revoke and list authority credentials. Secrets
//! are printed once and stored only as hashes ([`crate::authority::credentials`]).

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;

/// `rddsd authority …`
#[derive(Debug, Subcommand)]
pub enum AuthorityCommand {
    /// Issue a credential and print its secret once.
    Add {
        /// Credentials file (created if missing).
        #[arg(long)]
        credentials: PathBuf,
        /// Authority name, e.g. "National Police, Cybercrime Unit".
        #[arg(long)]
        authority: String,
        /// Jurisdiction, e.g. "CH".
        #[arg(long)]
        jurisdiction: String,
        /// Contact of the person responsible.
        #[arg(long)]
        contact: String,
        /// Allowed purposes, comma-separated: criminal-investigation, urgent-threat-to-life,
        /// cybersecurity-incident, consumer-protection, court-order.
        #[arg(long, value_delimiter = ',', required = true)]
        purposes: Vec<String>,
        /// Expiry: YYYY-MM-DD or an RFC 3339 time.
        #[arg(long)]
        expires: String,
    },
    /// Revoke a credential (takes effect on the server's next SIGHUP).
    Revoke {
        /// Credentials file.
        #[arg(long)]
        credentials: PathBuf,
        /// Credential id.
        id: String,
    },
    /// List credentials (never secrets).
    List {
        /// Credentials file.
        #[arg(long)]
        credentials: PathBuf,
    },
}

/// Run one `rddsd authority` command, writing its report to `out`.
///
/// # Errors
/// A message for the operator, naming the file or flag at fault.
pub fn run(cmd: AuthorityCommand, out: &mut impl Write) -> Result<(), String> {
    use crate::authority::credentials;
    match cmd {
        AuthorityCommand::Add {
            credentials: path,
            authority,
            jurisdiction,
            contact,
            purposes,
            expires,
        } => {
            let purposes = purposes
                .iter()
                .map(|p| {
                    crate::policy::Purpose::parse(p.trim())
                        .ok_or_else(|| format!("--purposes: unknown purpose {p:?}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let expires = super::cli_date("expires", &expires)?;
            let new = credentials::NewCredential {
                authority,
                jurisdiction,
                contact,
                purposes,
                expires,
            };
            let (cred, token) = credentials::add(&path, new).map_err(|e| e.to_string())?;
            writeln!(
                out,
                "credential {} issued to {} (expires {})",
                cred.id, cred.authority, cred.expires
            )
            .map_err(super::io)?;
            writeln!(out, "secret (shown once, store it safely): {token}").map_err(super::io)?;
            writeln!(out, "send it as: Authorization: Bearer {token}").map_err(super::io)?;
            Ok(())
        }
        AuthorityCommand::Revoke {
            credentials: path,
            id,
        } => {
            credentials::revoke(&path, &id).map_err(|e| e.to_string())?;
            writeln!(
                out,
                "credential {id} revoked; send SIGHUP to running servers"
            )
            .map_err(super::io)?;
            Ok(())
        }
        AuthorityCommand::List { credentials: path } => {
            writeln!(out, "ID	AUTHORITY	JURISDICTION	PURPOSES	EXPIRES	STATUS")
                .map_err(super::io)?;
            let now = crate::registry::Timestamp::now();
            for c in credentials::read(&path).map_err(|e| e.to_string())? {
                let expired = crate::registry::validate::datetime(&c.expires)
                    .map(|e| e <= now)
                    .unwrap_or(true);
                let status = match (&c.revoked, expired) {
                    (Some(r), _) => format!("revoked {r}"),
                    (None, true) => "expired".to_string(),
                    (None, false) => "active".to_string(),
                };
                let purposes: Vec<&str> = c.purposes.iter().map(|p| p.key()).collect();
                writeln!(
                    out,
                    "{}	{}	{}	{}	{}	{}",
                    c.id,
                    c.authority,
                    c.jurisdiction,
                    purposes.join(","),
                    c.expires,
                    status
                )
                .map_err(super::io)?;
            }
            Ok(())
        }
    }
}
