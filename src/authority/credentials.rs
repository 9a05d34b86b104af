//! Authority credentials: issued by `rddsd authority add`, stored as JSON Lines with only a
//! SHA-256 of the secret, read by the server at start and on SIGHUP.
//!
//! A token is `rdds_<id>_<secret>`: the id finds the credential without scanning, the 256-bit
//! secret is compared in constant time. It travels as `Authorization: Bearer <token>`, the
//! token style of RFC 6750 that RFC 9560 clients use.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::policy::Purpose;
use crate::registry::Timestamp;

use super::log::sha256_hex;

/// One credential as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Credential {
    /// Public identifier (16 hex digits).
    pub id: String,
    /// The authority's name.
    pub authority: String,
    /// Its jurisdiction.
    pub jurisdiction: String,
    /// How to reach the person responsible.
    pub contact: String,
    /// Purposes it may state.
    pub purposes: Vec<Purpose>,
    /// When it was issued (RFC 3339).
    pub created: String,
    /// When it stops working (RFC 3339).
    pub expires: String,
    /// When it was revoked, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<String>,
    /// SHA-256 of the secret, hex.
    pub secret_sha256: String,
}

/// Why a presented token is not accepted. The HTTP answer is the same 401 for all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `Authorization: Bearer` header.
    Missing,
    /// Unknown, malformed or wrong secret.
    Invalid,
    /// Past its expiry.
    Expired,
    /// Revoked.
    Revoked,
}

/// The credentials the server accepts.
#[derive(Debug, Default)]
pub struct Credentials {
    by_id: HashMap<String, Credential>,
}

/// Why the credentials file or a credential command failed.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The file (or its lock) cannot be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A line of the file does not validate.
    #[error("{}:{line}: {message}", path.display())]
    Line {
        /// The file.
        path: std::path::PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong (names the field).
        message: String,
    },
    /// A command's input is refused (names the flag), or the change cannot be made.
    #[error("{0}")]
    Input(String),
    /// The federated issuers cannot be set up (an unreadable JWKS file, say).
    #[error(transparent)]
    Federation(#[from] super::federation::FederationError),
    /// No secure randomness for an id or a secret.
    #[error("no secure randomness available: {0}")]
    NoRandomness(String),
}

impl CredentialsError {
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

fn random_hex(bytes: usize) -> Result<String, CredentialsError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| CredentialsError::NoRandomness(e.to_string()))?;
    Ok(hex::encode(buf))
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// One stored credential (a line of the file, or a row of the database's table), checked.
///
/// # Errors
/// What is wrong, naming the field.
pub fn parse(line: &str) -> Result<Credential, BadCredential> {
    let c: Credential = serde_json::from_str(line).map_err(BadCredential::Json)?;
    let check = |field: &'static str, v: &str| {
        crate::registry::validate::datetime(v)
            .map(|_| ())
            .map_err(|source| BadCredential::Date { field, source })
    };
    check("created", &c.created)?;
    check("expires", &c.expires)?;
    if let Some(r) = &c.revoked {
        check("revoked", r)?;
    }
    if c.secret_sha256.len() != 64 || decode_hex(&c.secret_sha256).is_none() {
        return Err(BadCredential::SecretHash);
    }
    Ok(c)
}

/// What is wrong with a stored credential (names the field, never the secret's hash).
#[derive(Debug, thiserror::Error)]
pub enum BadCredential {
    /// Not a credential object.
    #[error("{0}")]
    Json(serde_json::Error),
    /// A date field that is not RFC 3339.
    #[error("field `{field}`: {source}")]
    Date {
        /// The field.
        field: &'static str,
        /// Why.
        source: crate::registry::validate::Invalid,
    },
    /// `secretSha256` is not 64 hex digits.
    #[error("field `secretSha256`: not a SHA-256 hex digest")]
    SecretHash,
}

/// Read a credentials file (missing file: none).
///
/// # Errors
/// Unreadable file or a bad line, with file and line.
pub fn read(path: &Path) -> Result<Vec<Credential>, CredentialsError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(CredentialsError::io(path)(e)),
    };
    let bad = |line: usize, message: String| CredentialsError::Line {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut out: Vec<Credential> = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let c = parse(line).map_err(|m| bad(i + 1, m.to_string()))?;
        if out.iter().any(|o| o.id == c.id) {
            return Err(bad(i + 1, format!("field `id`: {} is listed twice", c.id)));
        }
        out.push(c);
    }
    Ok(out)
}

/// Rewrite the file atomically (temporary file, fsync, rename), under an exclusive lock so two
/// administrators cannot lose each other's changes.
fn update(
    path: &Path,
    change: impl FnOnce(&mut Vec<Credential>) -> Result<(), CredentialsError>,
) -> Result<(), CredentialsError> {
    use std::os::unix::fs::OpenOptionsExt;
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map_err(CredentialsError::io(path))?;
    lock.lock().map_err(CredentialsError::io(path))?;
    let mut all = read(path)?;
    change(&mut all)?;
    let mut bytes = Vec::new();
    for c in &all {
        bytes.extend_from_slice(&serde_json::to_vec(c).unwrap_or_default());
        bytes.push(b'\n');
    }
    crate::files::atomic_replace(
        path,
        &path.with_extension("tmp"),
        &bytes,
        crate::files::PRIVATE,
    )
    .map_err(CredentialsError::io(path))
}

/// What `authority add` needs.
#[derive(Debug, Clone)]
pub struct NewCredential {
    /// Authority name.
    pub authority: String,
    /// Jurisdiction.
    pub jurisdiction: String,
    /// Contact.
    pub contact: String,
    /// Allowed purposes.
    pub purposes: Vec<Purpose>,
    /// Expiry.
    pub expires: Timestamp,
}

/// Issue a credential: store its hash, return it with the token (shown once, never stored).
///
/// # Errors
/// Bad input or I/O failure.
pub fn add(path: &Path, new: NewCredential) -> Result<(Credential, String), CredentialsError> {
    let (cred, token) = issue(new)?;
    let stored = cred.clone();
    update(path, move |all| {
        all.push(stored);
        Ok(())
    })?;
    Ok((cred, token))
}

/// Check the input and make a credential with a fresh id and secret, not stored yet: the
/// credential (with the secret's hash) and the token.
///
/// # Errors
/// Bad input (naming the flag), or no randomness.
pub fn issue(new: NewCredential) -> Result<(Credential, String), CredentialsError> {
    for (field, v) in [
        ("authority", &new.authority),
        ("jurisdiction", &new.jurisdiction),
        ("contact", &new.contact),
    ] {
        crate::registry::validate::text(v, 200)
            .map_err(|m| CredentialsError::Input(format!("--{field}: {m}")))?;
    }
    if new.purposes.is_empty() {
        return Err(CredentialsError::Input(
            "--purposes: name at least one purpose".into(),
        ));
    }
    let now = Timestamp::now();
    if new.expires <= now {
        return Err(CredentialsError::Input(
            "--expires: the expiry must be in the future".into(),
        ));
    }
    let id = random_hex(8)?;
    let secret = random_hex(32)?;
    let cred = Credential {
        id: id.clone(),
        authority: new.authority,
        jurisdiction: new.jurisdiction,
        contact: new.contact,
        purposes: new.purposes,
        created: now.text().to_string(),
        expires: new.expires.text().to_string(),
        revoked: None,
        secret_sha256: sha256_hex(secret.as_bytes()),
    };
    Ok((cred, format!("rdds_{id}_{secret}")))
}

/// Revoke a credential by id.
///
/// # Errors
/// Unknown id, already revoked, or I/O failure.
pub fn revoke(path: &Path, id: &str) -> Result<(), CredentialsError> {
    update(path, |all| {
        let c = all
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or_else(|| CredentialsError::Input(format!("no credential with id {id}")))?;
        if c.revoked.is_some() {
            return Err(CredentialsError::Input(format!(
                "credential {id} is already revoked"
            )));
        }
        c.revoked = Some(Timestamp::now().text().to_string());
        Ok(())
    })
}

impl Credentials {
    /// The set made of these credentials (the database's, [`crate::db::credentials`]).
    pub fn from_list(list: Vec<Credential>) -> Self {
        Self {
            by_id: list.into_iter().map(|c| (c.id.clone(), c)).collect(),
        }
    }

    /// Load the file the server uses.
    ///
    /// # Errors
    /// As [`read`].
    pub fn load(path: &Path) -> Result<Self, CredentialsError> {
        Ok(Self {
            by_id: read(path)?.into_iter().map(|c| (c.id.clone(), c)).collect(),
        })
    }

    /// Check a bearer token. The secret comparison is constant-time, and an unknown id costs the
    /// same hashing and comparison as a known one.
    pub fn authenticate(
        &self,
        authorization: Option<&[u8]>,
        now: &Timestamp,
    ) -> Result<&Credential, AuthFailure> {
        let value = authorization.ok_or(AuthFailure::Missing)?;
        let text = std::str::from_utf8(value).map_err(|_| AuthFailure::Invalid)?;
        let (scheme, token) = text.trim().split_once(' ').ok_or(AuthFailure::Missing)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthFailure::Missing);
        }
        let token = token.trim();
        let (id, secret) = token
            .strip_prefix("rdds_")
            .and_then(|t| t.split_once('_'))
            .unwrap_or(("", token));
        let presented = sha256_hex(secret.as_bytes());
        let cred = self.by_id.get(id);
        let stored = cred.map_or("0".repeat(64), |c| c.secret_sha256.clone());
        let equal: bool = presented.as_bytes().ct_eq(stored.as_bytes()).into();
        let cred = match (cred, equal) {
            (Some(c), true) => c,
            _ => return Err(AuthFailure::Invalid),
        };
        if cred.revoked.is_some() {
            return Err(AuthFailure::Revoked);
        }
        match crate::registry::validate::datetime(&cred.expires) {
            Ok(exp) if exp > *now => Ok(cred),
            _ => Err(AuthFailure::Expired),
        }
    }

    /// Number of credentials.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(expires: &str) -> NewCredential {
        NewCredential {
            authority: "Test Police".into(),
            jurisdiction: "XX".into(),
            contact: "desk@police.example".into(),
            purposes: vec![Purpose::CriminalInvestigation],
            expires: crate::registry::validate::datetime(expires).expect("date"),
        }
    }

    #[test]
    fn issue_authenticate_revoke() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("creds.jsonl");
        let (cred, token) = add(&path, new("2999-01-01T00:00:00Z")).expect("add");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(
            !text.contains(token.rsplit('_').next().expect("secret")),
            "the secret is never stored"
        );
        let now = Timestamp::now();
        let creds = Credentials::load(&path).expect("load");
        let header = format!("Bearer {token}");
        assert_eq!(
            creds
                .authenticate(Some(header.as_bytes()), &now)
                .map(|c| c.id.clone()),
            Ok(cred.id.clone())
        );
        assert_eq!(
            creds.authenticate(None, &now).err(),
            Some(AuthFailure::Missing)
        );
        assert_eq!(
            creds.authenticate(Some(b"Basic abc"), &now).err(),
            Some(AuthFailure::Missing)
        );
        let wrong = format!("Bearer rdds_{}_{}", cred.id, "0".repeat(64));
        assert_eq!(
            creds.authenticate(Some(wrong.as_bytes()), &now).err(),
            Some(AuthFailure::Invalid)
        );
        assert_eq!(
            creds.authenticate(Some(b"Bearer nonsense"), &now).err(),
            Some(AuthFailure::Invalid)
        );
        assert_eq!(
            creds.authenticate(Some(b"Bearer \xff"), &now).err(),
            Some(AuthFailure::Invalid)
        );
        let later = crate::registry::validate::datetime("3000-01-01T00:00:00Z").expect("date");
        assert_eq!(
            creds.authenticate(Some(header.as_bytes()), &later).err(),
            Some(AuthFailure::Expired)
        );
        revoke(&path, &cred.id).expect("revoke");
        assert!(revoke(&path, &cred.id).is_err());
        let creds = Credentials::load(&path).expect("load");
        assert_eq!(
            creds.authenticate(Some(header.as_bytes()), &now).err(),
            Some(AuthFailure::Revoked)
        );
        assert!(
            add(&path, new("2000-01-01T00:00:00Z")).is_err(),
            "expiry in the past"
        );
    }

    #[test]
    fn bad_files_name_line_and_field() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("creds.jsonl");
        std::fs::write(&path, "\n{\"id\":\"a\"}\n").expect("write");
        assert!(read(&path)
            .expect_err("bad")
            .to_string()
            .contains("creds.jsonl:2"));
    }
}
