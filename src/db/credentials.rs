//! Authority credentials in PostgreSQL (`[authority] credentials_database = true`): the table
//! `authority_credentials`, written by `rddsd authority add|revoke|list --database`, and the
//! node's copy of it, read again every [`REFRESH`].
//!
//! A node refreshes its copy every [`REFRESH`], so a revocation reaches every node within that
//! time, without a SIGHUP. A refresh that fails (database unreachable, a bad row) empties the
//! copy: every token then gets 401 until a refresh succeeds again. A revoked credential thus
//! never works for longer than [`REFRESH`] on any node, whatever happens to the database.

use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::Client;
use tokio_util::sync::CancellationToken;

use super::DbError;
use crate::authority::credentials::{self, Credential, Credentials};
use crate::registry::Timestamp;

/// How often a node reads the credentials again: the longest a revocation takes to reach it.
pub const REFRESH: Duration = Duration::from_secs(5);

/// Every credential in the table, checked as a file's lines are; a bad row names its id.
///
/// # Errors
/// A database error, or a row that does not validate.
pub async fn read(client: &Client) -> Result<Vec<Credential>, CredentialRowError> {
    let sql = |e| DbError::sql("cannot read authority_credentials", &e);
    let rows = client
        .query(
            "SELECT id, credential::text FROM authority_credentials ORDER BY id",
            &[],
        )
        .await
        .map_err(sql)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: &str = r.try_get(0).map_err(sql)?;
        let text: &str = r.try_get(1).map_err(sql)?;
        out.push(
            credentials::parse(text).map_err(|reason| CredentialRowError::Row {
                id: id.to_string(),
                reason,
            })?,
        );
    }
    Ok(out)
}

/// Why the credentials table could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum CredentialRowError {
    /// A database error.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A row that does not validate (named by its id).
    #[error("authority_credentials[{id}]: {reason}")]
    Row {
        /// The credential id.
        id: String,
        /// What is wrong.
        reason: credentials::BadCredential,
    },
    /// No credential has the id.
    #[error("no credential with id {0}")]
    Unknown(String),
    /// The credential is revoked already.
    #[error("credential {0} is already revoked")]
    AlreadyRevoked(String),
    /// A credential that does not serialise (cannot happen for plain strings).
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// The read did not finish within [`REFRESH`].
    #[error("reading the credentials timed out")]
    Timeout,
}

/// Store a new credential.
///
/// # Errors
/// A database error.
pub async fn insert(client: &Client, cred: &Credential) -> Result<(), CredentialRowError> {
    let json = serde_json::to_string(cred)?;
    client
        .execute(
            "INSERT INTO authority_credentials (id, credential) VALUES ($1, $2::text::jsonb)",
            &[&cred.id, &json],
        )
        .await
        .map_err(|e| DbError::sql("cannot store the credential", &e))?;
    Ok(())
}

/// Revoke a credential by id, now.
///
/// # Errors
/// Unknown id, already revoked, or a database error.
pub async fn revoke(client: &mut Client, id: &str) -> Result<(), CredentialRowError> {
    let sql = |what: &'static str| move |e: tokio_postgres::Error| DbError::sql(what, &e);
    let tx = client
        .transaction()
        .await
        .map_err(sql("cannot start a transaction"))?;
    let row = tx
        .query_opt(
            "SELECT credential::text FROM authority_credentials WHERE id = $1 FOR UPDATE",
            &[&id],
        )
        .await
        .map_err(sql("cannot read the credential"))?
        .ok_or_else(|| CredentialRowError::Unknown(id.to_string()))?;
    let text: &str = row.try_get(0).map_err(sql("cannot read the credential"))?;
    let mut cred = credentials::parse(text).map_err(|reason| CredentialRowError::Row {
        id: id.to_string(),
        reason,
    })?;
    if cred.revoked.is_some() {
        return Err(CredentialRowError::AlreadyRevoked(id.to_string()));
    }
    cred.revoked = Some(Timestamp::now().text().to_string());
    let json = serde_json::to_string(&cred)?;
    tx.execute(
        "UPDATE authority_credentials SET credential = $2::text::jsonb WHERE id = $1",
        &[&id, &json],
    )
    .await
    .map_err(sql("cannot revoke the credential"))?;
    tx.commit().await.map_err(sql("cannot commit"))?;
    Ok(())
}

/// One read of the table on the kept connection (made if there is none); a connection that
/// failed is dropped.
async fn fetch(
    client: &mut Option<Client>,
    url: &str,
) -> Result<Vec<Credential>, CredentialRowError> {
    let c = match client.take() {
        Some(c) if !c.is_closed() => c,
        _ => super::connect(url).await?,
    };
    let c = client.insert(c);
    // Bounded: a hanging database must not keep an old set in place.
    let r = tokio::time::timeout(REFRESH, read(c))
        .await
        .unwrap_or(Err(CredentialRowError::Timeout));
    if r.is_err() {
        *client = None;
    }
    r
}

/// Keep the node's credentials in step with the table until shutdown: read them at once, then
/// every [`REFRESH`]. A failed refresh installs an empty set (see the module documentation).
pub async fn follow(
    authority: Arc<crate::authority::Authority>,
    url: String,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(REFRESH);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut client: Option<Client> = None;
    let mut failing = false;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        // A kept connection the server ended since (a restart, `pg_terminate_backend`) is
        // found out only when used: then the read is tried at once on a new one.
        let reused = client.as_ref().is_some_and(|c| !c.is_closed());
        let mut result = fetch(&mut client, &url).await;
        if result.is_err() && reused {
            client = None;
            result = fetch(&mut client, &url).await;
        }
        match result {
            Ok(list) => {
                if failing {
                    tracing::info!(
                        credentials = list.len(),
                        "authority credentials read from the database again"
                    );
                    failing = false;
                }
                authority.install(Arc::new(Credentials::from_list(list)));
            }
            Err(e) => {
                client = None;
                if !failing {
                    tracing::error!(error = %e, "cannot read the authority credentials from the database; every token is refused until it can");
                    failing = true;
                }
                authority.install(Arc::new(Credentials::default()));
            }
        }
    }
}
