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
        #[arg(long, required_unless_present = "database")]
        credentials: Option<PathBuf>,
        /// Keep the credentials in this PostgreSQL database (`[authority]
        /// credentials_database`) instead of a file.
        #[arg(long, conflicts_with = "credentials", hide_env_values = true)]
        database: Option<String>,
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
    /// Revoke a credential (a file: on the server's next SIGHUP; the database: on every node
    /// within 5 s).
    Revoke {
        /// Credentials file.
        #[arg(long, required_unless_present = "database")]
        credentials: Option<PathBuf>,
        /// Keep the credentials in this PostgreSQL database (`[authority]
        /// credentials_database`) instead of a file.
        #[arg(long, conflicts_with = "credentials", hide_env_values = true)]
        database: Option<String>,
        /// Credential id.
        id: String,
    },
    /// List credentials (never secrets).
    List {
        /// Credentials file.
        #[arg(long, required_unless_present = "database")]
        credentials: Option<PathBuf>,
        /// Keep the credentials in this PostgreSQL database (`[authority]
        /// credentials_database`) instead of a file.
        #[arg(long, conflicts_with = "credentials", hide_env_values = true)]
        database: Option<String>,
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
            database,
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
            let (cred, token) = match store(path, database)? {
                Store::File(path) => credentials::add(&path, new).map_err(|e| e.to_string())?,
                Store::Database(url) => {
                    let (cred, token) = credentials::issue(new).map_err(|e| e.to_string())?;
                    super::db::block_on(async {
                        let client = super::db::connect_current(&url).await?;
                        crate::db::credentials::insert(&client, &cred).await
                    })?;
                    (cred, token)
                }
            };
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
            database,
            id,
        } => {
            match store(path, database)? {
                Store::File(path) => {
                    credentials::revoke(&path, &id).map_err(|e| e.to_string())?;
                    writeln!(
                        out,
                        "credential {id} revoked; send SIGHUP to running servers"
                    )
                }
                Store::Database(url) => {
                    super::db::block_on(async {
                        let mut client = super::db::connect_current(&url).await?;
                        crate::db::credentials::revoke(&mut client, &id).await
                    })?;
                    writeln!(
                        out,
                        "credential {id} revoked; every node refuses it within {} s",
                        crate::db::credentials::REFRESH.as_secs()
                    )
                }
            }
            .map_err(super::io)?;
            Ok(())
        }
        AuthorityCommand::List {
            credentials: path,
            database,
        } => {
            let list = match store(path, database)? {
                Store::File(path) => credentials::read(&path).map_err(|e| e.to_string())?,
                Store::Database(url) => super::db::block_on(async {
                    let client = super::db::connect_current(&url).await?;
                    crate::db::credentials::read(&client).await
                })?,
            };
            writeln!(out, "ID	AUTHORITY	JURISDICTION	PURPOSES	EXPIRES	STATUS")
                .map_err(super::io)?;
            let now = crate::registry::Timestamp::now();
            for c in list {
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

/// Where credentials are kept.
enum Store {
    File(PathBuf),
    Database(String),
}

fn store(path: Option<PathBuf>, database: Option<String>) -> Result<Store, String> {
    match (path, database) {
        (Some(p), None) => Ok(Store::File(p)),
        (None, Some(url)) => Ok(Store::Database(url)),
        _ => Err("give either --credentials FILE or --database URL".into()),
    }
}
