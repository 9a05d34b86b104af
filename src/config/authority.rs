//! The `[authority]` settings: credentials, the disclosure log, searches, federation (RFC 9560
//! issuers) and transparency (signing key, witnesses), resolved and bounded.

use std::path::PathBuf;
use std::time::Duration;

use std::num::NonZeroU32;

use super::*;
use crate::authority::AuthoritySettings;

pub(super) fn resolve_authority(
    a: AuthoritySection,
    database_url: Option<&str>,
) -> Result<Option<AuthoritySettings>, ConfigError> {
    let AuthoritySection {
        credentials,
        log,
        log_database,
        credentials_database,
        rate_per_minute,
        burst,
        search_page_size,
        search_max_results,
        search_cost,
        signing_key,
        checkpoint_every,
        checkpoint_interval_secs,
        witnesses,
        auditors,
        issuer,
        clock_skew_secs,
        jwks_refresh_secs,
        claim_purposes,
    } = a;
    let federation =
        resolve_federation(issuer, clock_skew_secs, jwks_refresh_secs, claim_purposes)?;
    let transparency = resolve_transparency(
        signing_key,
        checkpoint_every,
        checkpoint_interval_secs,
        witnesses,
        auditors,
    )?;
    let nonzero = |key: &str, v: Option<u32>, default: u32| {
        let v = bounded(&format!("authority.{key}"), v, default, 1, 1_000_000)?;
        NonZeroU32::new(v)
            .ok_or_else(|| ConfigError::Invalid(format!("authority.{key} must be at least 1")))
    };
    // The log in the database: the file setting has no meaning then, and the transparency
    // tree is kept beside a file log only.
    let log_database = if log_database.unwrap_or(false) {
        let Some(url) = database_url else {
            return Err(ConfigError::Invalid(
                "authority.log_database = true needs [data] backend = \"postgres\"".into(),
            ));
        };
        if log.is_some() {
            return Err(ConfigError::Invalid(
                "authority.log and authority.log_database = true exclude each other: the log is either a file or in the database".into(),
            ));
        }
        if transparency.is_some() {
            return Err(ConfigError::Invalid(
                "authority.signing_key (transparency) needs a file log: it is not available with authority.log_database = true".into(),
            ));
        }
        Some(url.to_string())
    } else {
        None
    };
    let credentials_database = if credentials_database.unwrap_or(false) {
        let Some(url) = database_url else {
            return Err(ConfigError::Invalid(
                "authority.credentials_database = true needs [data] backend = \"postgres\"".into(),
            ));
        };
        if credentials.is_some() {
            return Err(ConfigError::Invalid(
                "authority.credentials and authority.credentials_database = true exclude each other: the credentials are either a file or in the database".into(),
            ));
        }
        Some(url.to_string())
    } else {
        None
    };
    // An empty path stands for "no file": only with the log (credentials) in the database.
    let log = log.or_else(|| log_database.as_ref().map(|_| PathBuf::new()));
    let credentials = credentials.or_else(|| credentials_database.as_ref().map(|_| PathBuf::new()));
    let burst = nonzero("burst", burst, 10)?;
    let search = resolve_search(search_page_size, search_max_results, search_cost, burst)?;
    match (credentials, log) {
        (None, None) => Ok(None),
        (Some(credentials), Some(log)) => Ok(Some(AuthoritySettings {
            credentials,
            credentials_database,
            log,
            log_database,
            rate_per_minute: nonzero("rate_per_minute", rate_per_minute, 60)?,
            burst,
            search,
            transparency,
            federation,
        })),
        _ => Err(ConfigError::Invalid(
            "authority.credentials (or credentials_database) and authority.log (or log_database) must be set together".into(),
        )),
    }
}

/// Searches on the authority route: page size and cap, bounded so one answer stays a few
/// megabytes at most; the cost in requests of the credential's limit, which must fit in its
/// burst (a cost above the burst could never be paid).
fn resolve_search(
    page_size: Option<u32>,
    max_results: Option<u32>,
    cost: Option<u32>,
    burst: NonZeroU32,
) -> Result<crate::authority::service::SearchSettings, ConfigError> {
    let page_size = bounded("authority.search_page_size", page_size, 25, 1, 100)?;
    let max_results = bounded("authority.search_max_results", max_results, 500, 1, 10_000)?;
    if max_results < page_size {
        return Err(ConfigError::Invalid(format!(
            "authority.search_max_results = {max_results} must be at least authority.search_page_size = {page_size}"
        )));
    }
    let default_cost = 5.min(burst.get());
    let cost = bounded("authority.search_cost", cost, default_cost, 1, 1_000_000)?;
    let Some(cost) = NonZeroU32::new(cost).filter(|c| *c <= burst) else {
        return Err(ConfigError::Invalid(format!(
            "authority.search_cost = {cost} must be at most authority.burst = {burst}: a search costing more than the burst could never be made"
        )));
    };
    Ok(crate::authority::service::SearchSettings {
        limits: crate::search::Limits {
            // Both bounded above, so they fit any usize.
            page_size: usize::try_from(page_size).unwrap_or(25),
            max_results: usize::try_from(max_results).unwrap_or(500),
        },
        cost,
    })
}

/// The most trusted identity providers.
pub const MAX_ISSUERS: usize = 32;

/// Federation settings (RFC 9560): every issuer complete and unambiguous, every value bounded.
fn resolve_federation(
    issuers: Option<Vec<IssuerSection>>,
    skew: Option<u64>,
    refresh: Option<u64>,
    claims: Option<std::collections::BTreeMap<String, Vec<String>>>,
) -> Result<Option<crate::authority::federation::FederationSettings>, ConfigError> {
    use crate::authority::federation::{
        default_claim_purposes, Alg, FederationSettings, IssuerSettings, JwksSource,
    };
    use crate::authority::Purpose;
    let Some(issuers) = issuers.filter(|i| !i.is_empty()) else {
        if skew.is_some() || refresh.is_some() || claims.is_some() {
            return Err(ConfigError::Invalid(
                "authority.clock_skew_secs, jwks_refresh_secs and claim_purposes need at least one [[authority.issuer]]".into(),
            ));
        }
        return Ok(None);
    };
    if issuers.len() > MAX_ISSUERS {
        return Err(ConfigError::Invalid(format!(
            "authority.issuer: at most {MAX_ISSUERS}"
        )));
    }
    let bad = |msg: String| ConfigError::Invalid(msg);
    let purposes = |key: &str, list: Vec<String>| -> Result<Vec<Purpose>, ConfigError> {
        list.iter()
            .map(|p| {
                Purpose::parse(p).ok_or_else(|| {
                    let known: Vec<&str> = Purpose::ALL.iter().map(|p| p.key()).collect();
                    bad(format!(
                        "{key}: unknown purpose {p:?}; one of {}",
                        known.join(", ")
                    ))
                })
            })
            .collect()
    };
    let text = |key: String, v: Option<String>| -> Result<String, ConfigError> {
        let v = v.ok_or_else(|| bad(format!("{key} is required")))?;
        crate::registry::validate::text(&v, 200).map_err(|m| bad(format!("{key}: {m}")))?;
        Ok(v)
    };
    let mut out: Vec<IssuerSettings> = Vec::with_capacity(issuers.len());
    for (i, section) in issuers.into_iter().enumerate() {
        let at = |k: &str| format!("authority.issuer[{i}].{k}");
        let IssuerSection {
            name,
            issuer,
            audience,
            jwks_file,
            jwks_url,
            jwks_ca_file,
            algorithms,
            purposes: allowed,
            jurisdiction,
        } = section;
        let iss = text(at("issuer"), issuer)?;
        if !(iss.starts_with("https://") || iss.starts_with("http://")) {
            return Err(bad(format!(
                "{}: {iss:?} is not an issuer URL (https://…)",
                at("issuer")
            )));
        }
        if out.iter().any(|o| o.iss == iss) {
            return Err(bad(format!("{}: {iss:?} is listed twice", at("issuer"))));
        }
        let jwks = match (jwks_file, jwks_url) {
            (Some(f), None) => {
                if jwks_ca_file.is_some() {
                    return Err(bad(format!(
                        "{}: only with an https:// jwks_url",
                        at("jwks_ca_file")
                    )));
                }
                JwksSource::File(f)
            }
            (None, Some(url)) => {
                if url.len() > 2048 {
                    return Err(bad(format!("{}: longer than 2048 bytes", at("jwks_url"))));
                }
                crate::authority::https_client::check_url(&url)
                    .map_err(|m| bad(format!("{}: {m}", at("jwks_url"))))?;
                let roots = trust_roots(&at("jwks_ca_file"), jwks_ca_file, &url)?;
                JwksSource::Url { url, roots }
            }
            _ => {
                return Err(bad(format!(
                    "authority.issuer[{i}]: give exactly one of jwks_file and jwks_url"
                )))
            }
        };
        let algorithms = algorithms
            .filter(|a| !a.is_empty())
            .ok_or_else(|| {
                bad(format!(
                    "{} is required (e.g. [\"ES256\"])",
                    at("algorithms")
                ))
            })?
            .iter()
            .map(|a| Alg::parse(a).map_err(|m| bad(format!("{}: {m}", at("algorithms")))))
            .collect::<Result<Vec<_>, _>>()?;
        let allowed = allowed
            .filter(|p| !p.is_empty())
            .ok_or_else(|| bad(format!("{} is required", at("purposes"))))?;
        out.push(IssuerSettings {
            name: text(at("name"), name)?,
            audience: text(at("audience"), audience)?,
            jurisdiction: text(at("jurisdiction"), jurisdiction)?,
            purposes: purposes(&at("purposes"), allowed)?,
            iss,
            jwks,
            algorithms,
        });
    }
    let claim_purposes = match claims {
        None => default_claim_purposes(),
        Some(table) => {
            if table.len() > 256 {
                return Err(bad("authority.claim_purposes: at most 256 values".into()));
            }
            table
                .into_iter()
                .map(|(k, v)| {
                    let p = purposes(&format!("authority.claim_purposes.{k}"), v)?;
                    Ok((k, p))
                })
                .collect::<Result<Vec<_>, ConfigError>>()?
        }
    };
    Ok(Some(FederationSettings {
        issuers: out,
        clock_skew: Duration::from_secs(bounded("authority.clock_skew_secs", skew, 60, 0, 300)?),
        jwks_refresh: Duration::from_secs(bounded(
            "authority.jwks_refresh_secs",
            refresh,
            60,
            1,
            86_400,
        )?),
        claim_purposes,
    }))
}

/// The roots an outgoing `https://` URL is verified with: the CA file under `key` when given
/// (read now, so a bad one stops the start with the key named), else the system's. A CA file
/// for an `http://` URL would be ignored, so it is refused rather than trusted to do something.
fn trust_roots(
    key: &str,
    ca_file: Option<PathBuf>,
    url: &str,
) -> Result<crate::authority::TrustRoots, ConfigError> {
    let Some(path) = ca_file else {
        return Ok(crate::authority::TrustRoots::System);
    };
    if !url.starts_with("https://") {
        return Err(ConfigError::Invalid(format!(
            "{key}: only for an https:// URL"
        )));
    }
    crate::authority::TrustRoots::from_pem_file(&path)
        .map_err(|e| ConfigError::Invalid(format!("{key}: {}: {e}", path.display())))
}

/// Transparency settings (issue #14); every value bounded like the others.
fn resolve_transparency(
    key: Option<PathBuf>,
    every: Option<u64>,
    interval: Option<u64>,
    witnesses: Option<Vec<WitnessSection>>,
    auditors: Option<Vec<String>>,
) -> Result<Option<crate::authority::transparency::TlogSettings>, ConfigError> {
    let Some(key) = key else {
        if every.is_some() || interval.is_some() || witnesses.is_some() || auditors.is_some() {
            return Err(ConfigError::Invalid(
                "authority.signing_key is required for checkpoints, witnesses and auditors".into(),
            ));
        }
        return Ok(None);
    };
    let range = |k: &str, v: Option<u64>, default: u64, max: u64| {
        bounded(&format!("authority.{k}"), v, default, 1, max)
    };
    let witnesses = witnesses.unwrap_or_default();
    if witnesses.len() > 16 {
        return Err(ConfigError::Invalid(
            "authority.witnesses: at most 16".into(),
        ));
    }
    let witnesses = witnesses
        .into_iter()
        .enumerate()
        .map(|(i, w)| {
            let at = |k: &str| format!("authority.witnesses[{i}].{k}");
            match (w.dir, w.url, w.key, w.ca_file) {
                (Some(dir), None, None, None) => {
                    Ok(crate::authority::transparency::WitnessTarget::Dir(dir))
                }
                (None, Some(url), Some(key), ca_file) if url.len() <= 2048 => {
                    crate::authority::https_client::check_url(&url)
                        .map_err(|e| ConfigError::Invalid(format!("{}: {e}", at("url"))))?;
                    crate::authority::transparency::note::parse_witness_key(&key)
                        .map_err(|e| ConfigError::Invalid(format!("{}: {e}", at("key"))))?;
                    let roots = trust_roots(&at("ca_file"), ca_file, &url)?;
                    Ok(crate::authority::transparency::WitnessTarget::Http { url, key, roots })
                }
                _ => Err(ConfigError::Invalid(format!(
                    "authority.witnesses[{i}]: give either dir, or url (http:// or https://, \
                     at most 2048 bytes) and key, with ca_file only for https"
                ))),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let auditors = auditors.unwrap_or_default();
    if auditors.len() > 1000 {
        return Err(ConfigError::Invalid(
            "authority.auditors: at most 1000".into(),
        ));
    }
    Ok(Some(crate::authority::transparency::TlogSettings {
        key,
        checkpoint_every: range("checkpoint_every", every, 256, 1_000_000)?,
        checkpoint_interval: std::time::Duration::from_secs(range(
            "checkpoint_interval_secs",
            interval,
            60,
            86_400,
        )?),
        witnesses,
        auditors,
    }))
}
