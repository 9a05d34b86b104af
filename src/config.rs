//! Configuration: a strict TOML file plus command-line overrides, resolved into [`Settings`].
//!
//! Two stages: [`ConfigFile`] only mirrors the file (unknown keys are refused, so a typo never
//! silently falls back to a default); [`Settings::resolve`] applies flags and defaults and checks
//! values. The library never reads the environment.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use std::num::NonZeroU32;

use ipnet::IpNet;
use serde::Deserialize;

use crate::authority::AuthoritySettings;
use crate::limit::LimitSettings;

pub use crate::db::DatabaseSettings;
pub use crate::server::settings::{RdapConnLimits, Settings};
pub use crate::state::{ShrinkGuard, DEFAULT_MAX_SHRINK_PERCENT};
pub use crate::tls::TlsFiles as TlsSection;

/// Default RDAP listen address for the demo run: loopback, unprivileged.
pub const DEFAULT_RDAP_LISTEN: &str = "127.0.0.1:8080";
/// Default WHOIS listen address for the demo run: loopback, unprivileged (production: port 43).
pub const DEFAULT_WHOIS_LISTEN: &str = "127.0.0.1:4343";
/// Default admin (metrics) listen address.
pub const DEFAULT_ADMIN_LISTEN: &str = "127.0.0.1:9090";
/// Default terms-of-service URL of the demo registry.
pub const DEFAULT_TERMS_URL: &str = "https://nic.example/terms";

/// The config file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `[rdap]`
    #[serde(default)]
    pub rdap: RdapSection,
    /// `[whois]`
    #[serde(default)]
    pub whois: WhoisSection,
    /// `[data]`
    #[serde(default)]
    pub data: DataSection,
    /// `[limits]`
    #[serde(default)]
    pub limits: LimitsSection,
    /// `[admin]`
    #[serde(default)]
    pub admin: AdminSection,
    /// `[authority]`
    #[serde(default)]
    pub authority: AuthoritySection,
    /// `[service]`
    #[serde(default)]
    pub service: ServiceSection,
    /// `[log]`
    #[serde(default)]
    pub log: LogSection,
    /// `[database]`
    #[serde(default)]
    pub database: DatabaseSection,
}

/// `[log]`: the server log on stderr.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    /// `text` (default) or `json`.
    pub format: Option<crate::telemetry::LogFormat>,
    /// Filter, e.g. `info` or `rddsd=debug` (the `--log` flag wins).
    pub filter: Option<String>,
}

/// `[rdap]`: the HTTP listener.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RdapSection {
    /// Listen addresses, e.g. `["127.0.0.1:8443", "[::1]:8443"]`; port 0 picks a free port.
    pub listen: Option<Vec<SocketAddr>>,
    /// Public base URL of the service, used in every link (e.g. `https://rdap.nic.example/`).
    pub base_url: Option<String>,
    /// `[rdap.tls]`: serve HTTPS (the gTLD profile requires it) instead of plain HTTP.
    pub tls: Option<TlsSection>,
    /// Seconds a client has to send a complete request head (and to finish a TLS handshake).
    pub header_timeout_secs: Option<u64>,
    /// Seconds a write may make no progress before the connection is closed.
    pub write_timeout_secs: Option<u64>,
    /// Seconds an idle keep-alive connection (or any read) may wait for bytes.
    pub keepalive_timeout_secs: Option<u64>,
    /// Requests served on one connection before it is closed.
    pub max_requests_per_connection: Option<u32>,
    /// Concurrent connections from one client network (keyed like the limiter).
    pub max_per_client: Option<u32>,
}

/// `[whois]`: the port 43 listener.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhoisSection {
    /// Listen addresses; an empty list disables WHOIS.
    pub listen: Option<Vec<SocketAddr>>,
    /// Seconds a client has to send its query line.
    pub read_timeout_secs: Option<u64>,
    /// Concurrent connections in total.
    pub max_connections: Option<usize>,
    /// Concurrent connections from one client address.
    pub max_per_client: Option<u32>,
}

/// `[limits]`: the harvesting defence. Defaults in [`LimitSettings::default`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    /// Apply budgets at all.
    pub enabled: Option<bool>,
    /// IPv4 prefix length of one client.
    pub ipv4_prefix: Option<u8>,
    /// IPv6 prefix length of one client.
    pub ipv6_prefix: Option<u8>,
    /// Sustained queries per second.
    pub rate_per_second: Option<u32>,
    /// Sustained queries per minute (instead of `rate_per_second`).
    pub rate_per_minute: Option<u32>,
    /// Burst above the rate.
    pub burst: Option<u32>,
    /// Queries per UTC day.
    pub daily_quota: Option<u32>,
    /// Blocked days within the window that escalate.
    pub escalate_after_blocks: Option<u32>,
    /// Escalation window in days.
    pub escalation_window_days: Option<u32>,
    /// Escalated block length in days.
    pub escalated_block_days: Option<u32>,
    /// Memory bound: client networks tracked at once.
    pub max_tracked_clients: Option<usize>,
    /// Networks that bypass budgets.
    pub allow: Option<Vec<String>>,
    /// Networks refused outright.
    pub deny: Option<Vec<String>>,
    /// Load balancers trusted for X-Forwarded-For and the PROXY protocol.
    pub trusted_proxies: Option<Vec<String>>,
}

/// `[authority]`: the authenticated disclosure route. Off unless both files are set.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthoritySection {
    /// Credentials file (`rddsd authority add` writes it).
    pub credentials: Option<PathBuf>,
    /// Disclosure log (append-only, hash-chained).
    pub log: Option<PathBuf>,
    /// Keep the authority credentials in the `[data]` PostgreSQL database instead of
    /// `credentials`, re-read by every node every 5 s (needs `[data] backend = "postgres"`).
    pub credentials_database: Option<bool>,
    /// Keep the disclosure log in the `[data]` PostgreSQL database instead of `log`: one hash
    /// chain for every node of the cluster (needs `[data] backend = "postgres"`).
    pub log_database: Option<bool>,
    /// Requests per minute per credential.
    pub rate_per_minute: Option<u32>,
    /// Burst per credential.
    pub burst: Option<u32>,
    /// Searches: objects per page.
    pub search_page_size: Option<u32>,
    /// Searches: objects one search returns over all its pages at most.
    pub search_max_results: Option<u32>,
    /// Searches: requests of the credential's rate limit one search page costs.
    pub search_cost: Option<u32>,
    /// Transparency: the checkpoint signer key file (`rddsd audit keygen`); off when unset.
    pub signing_key: Option<PathBuf>,
    /// Transparency: checkpoint once this many entries are uncovered ...
    pub checkpoint_every: Option<u64>,
    /// ... or this many seconds after the first uncovered entry.
    pub checkpoint_interval_secs: Option<u64>,
    /// Transparency: where checkpoints are pushed.
    pub witnesses: Option<Vec<WitnessSection>>,
    /// Transparency: credential ids that may fetch any receipt.
    pub auditors: Option<Vec<String>>,
    /// Federated credentials (RFC 9560): the trusted identity providers, `[[authority.issuer]]`.
    pub issuer: Option<Vec<IssuerSection>>,
    /// Clock skew allowed on a JWT's `exp` and `nbf`, in seconds.
    pub clock_skew_secs: Option<u64>,
    /// Least seconds between two JWKS refreshes of one issuer.
    pub jwks_refresh_secs: Option<u64>,
    /// `rdap_allowed_purposes` value → rddsd purposes; replaces the built-in table.
    pub claim_purposes: Option<std::collections::BTreeMap<String, Vec<String>>>,
}

/// One `[[authority.issuer]]`: an identity provider whose JWTs are authority credentials.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerSection {
    /// The authority name recorded with each disclosure.
    pub name: Option<String>,
    /// The `iss` value, exactly as in the tokens.
    pub issuer: Option<String>,
    /// The `aud` value tokens must carry.
    pub audience: Option<String>,
    /// A JWKS file ...
    pub jwks_file: Option<PathBuf>,
    /// ... or an `http://` or `https://` URL serving it.
    pub jwks_url: Option<String>,
    /// For an `https://` `jwks_url`: PEM CA certificates that replace the system's roots.
    pub jwks_ca_file: Option<PathBuf>,
    /// Algorithms its tokens may use (`RS256`, `ES256`, `EdDSA`, …).
    pub algorithms: Option<Vec<String>>,
    /// Purposes its officers may state at most.
    pub purposes: Option<Vec<String>>,
    /// Jurisdiction label.
    pub jurisdiction: Option<String>,
}

/// One `[[authority.witnesses]]` entry: `dir` (a file drop), or `url` and `key` (C2SP
/// tlog-witness over HTTP).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessSection {
    /// Directory to drop `checkpoint` into.
    pub dir: Option<PathBuf>,
    /// Witness base URL (`http://` or `https://`).
    pub url: Option<String>,
    /// The witness's verifier key (note format).
    pub key: Option<String>,
    /// For an `https://` `url`: PEM CA certificates that replace the system's roots.
    pub ca_file: Option<PathBuf>,
}

/// `[admin]`: the operator listener (Prometheus `/metrics`, `/healthz`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSection {
    /// Listen addresses; an empty list disables it.
    pub listen: Option<Vec<SocketAddr>>,
    /// Concurrent admin connections in total.
    pub max_connections: Option<usize>,
}

/// `[data]`: where registration data and the policy come from.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    /// Directory of `*.jsonl` files. Without it, the demo registry compiled into the binary.
    pub dir: Option<PathBuf>,
    /// Policy file. Without it, the default policy compiled into the binary.
    pub policy: Option<PathBuf>,
    /// Largest drop, in percent of the domains or of all objects, that a SIGHUP reload accepts
    /// (0..=100; 100 turns the guard off). Re-read on every SIGHUP.
    pub max_shrink_percent: Option<u8>,
    /// Accept a reload that shrinks more than `max_shrink_percent`. Re-read on every SIGHUP: set
    /// it, send SIGHUP, then remove it again.
    pub allow_shrink: Option<bool>,
    /// Directory watched for delta files (`*.jsonl`, see `schema/registry-delta.schema.json`).
    /// Applied files move to `applied/` below it (and are replayed over the data on start and
    /// reload), refused ones to `refused/` with their errors beside them.
    pub delta_dir: Option<PathBuf>,
    /// Where registration data lives: `jsonl` (the default: `dir` or the demo registry, held in
    /// memory) or `postgres` (looked up in the database at `database_url` per query).
    pub backend: Option<Backend>,
    /// The PostgreSQL database of `backend = "postgres"`.
    pub database_url: Option<String>,
}

/// `[data] backend`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// JSON Lines files (or the demo registry), held in memory.
    #[default]
    Jsonl,
    /// A PostgreSQL database, read per query.
    Postgres,
}

/// `[database]`: how the PostgreSQL backend uses its database.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSection {
    /// Connections per node.
    pub pool_size: Option<usize>,
    /// Longest a lookup statement may run (milliseconds); the server cancels it after that.
    pub statement_timeout_ms: Option<u64>,
    /// Longest a request waits for a free connection (milliseconds) before it is answered 503:
    /// the bound of the queue in front of the pool.
    pub queue_timeout_ms: Option<u64>,
    /// While the database is unreachable, cached answers are served for at most this many
    /// seconds after the node lost it; then 503.
    pub max_stale_secs: Option<u64>,
    /// Share the harvesting budget (daily quotas, blocks, escalation) with the other nodes
    /// through the database ([`crate::db::harvest`]).
    pub shared_budget: Option<bool>,
}

/// `[service]`: values printed in responses and operational limits.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSection {
    /// Host name of the registry's WHOIS server, for the RDAP `port43` member.
    pub port43: Option<String>,
    /// Terms of service URL (RDAP notice link).
    pub terms_url: Option<String>,
    /// How long SIGTERM waits for in-flight requests, in seconds.
    pub shutdown_grace_secs: Option<u64>,
    /// Maximum concurrent connections per listener.
    pub max_connections: Option<usize>,
}

/// Command-line values that override the file.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--rdap-listen` (repeatable)
    pub rdap_listen: Vec<SocketAddr>,
    /// `--whois-listen` (repeatable)
    pub whois_listen: Vec<SocketAddr>,
    /// `--admin-listen` (repeatable)
    pub admin_listen: Vec<SocketAddr>,
    /// `--config`: kept so SIGHUP can re-read `[limits]`.
    pub config_path: Option<PathBuf>,
    /// `--tls-cert` and `--tls-key`
    pub tls: Option<TlsSection>,
    /// `--base-url`
    pub base_url: Option<String>,
    /// `--data`
    pub data_dir: Option<PathBuf>,
    /// `--policy`
    pub policy: Option<PathBuf>,
    /// `--log-format`
    pub log_format: Option<crate::telemetry::LogFormat>,
    /// `--log`
    pub log_filter: Option<String>,
    /// `--database`: serve from this PostgreSQL database (the postgres backend).
    pub database_url: Option<String>,
    /// `RDDSD_DATABASE_URL`, read by the binary: the URL when the config chooses the postgres
    /// backend without one. It never chooses the backend by itself.
    pub database_url_env: Option<String>,
}

/// A number from the config, defaulted and checked against its bounds. Every duration and
/// size has bounds: an absurd value is refused at start, never met later as an overflow.
fn bounded<T>(key: &str, value: Option<T>, default: T, min: T, max: T) -> Result<T, ConfigError>
where
    T: PartialOrd + Copy + std::fmt::Display,
{
    let v = value.unwrap_or(default);
    if v < min || v > max {
        return Err(ConfigError::Invalid(format!(
            "{key} = {v} is out of range: it must be between {min} and {max}"
        )));
    }
    Ok(v)
}

fn seconds(
    key: &str,
    value: Option<u64>,
    default: u64,
    min: u64,
    max: u64,
) -> Result<Duration, ConfigError> {
    bounded(key, value, default, min, max).map(Duration::from_secs)
}

/// A config problem, with the file and line where known.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{}: cannot read config file: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// TOML syntax, an unknown key or a wrong type.
    #[error("{file}:{line}: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// 1-based line (0 when unknown).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A value out of its bounds, or keys that do not go together; names the key.
    #[error("{0}")]
    Invalid(String),
}

/// The config file as a reload reads it again: only `[limits]` and the `[data]` shrink guard
/// take effect without a restart.
#[derive(Debug)]
pub struct ConfigReload(pub PathBuf);

impl crate::state::Reconfigure for ConfigReload {
    fn reread(
        &self,
    ) -> Result<crate::state::Reconfigured, Box<dyn std::error::Error + Send + Sync>> {
        let file = ConfigFile::load(&self.0)?;
        let s = Settings::resolve(file, Overrides::default())?;
        Ok(crate::state::Reconfigured {
            limits: s.limits,
            shrink: s.shrink,
        })
    }
}

impl ConfigFile {
    /// Read and parse a config file.
    ///
    /// # Errors
    /// Unreadable file, TOML syntax, unknown keys or wrong types, with file and line.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// Parse config text.
    ///
    /// # Errors
    /// TOML syntax, unknown keys or wrong types, with file and line.
    pub fn parse(file: &str, text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(0, |s| {
                text[..s.start.min(text.len())].matches('\n').count() + 1
            });
            ConfigError::Syntax {
                file: file.to_string(),
                line,
                message: e.message().to_string(),
            }
        })
    }
}

impl Settings {
    /// Apply overrides and defaults, and check values.
    ///
    /// # Errors
    /// A base URL that is not http(s), a zero connection cap.
    pub fn resolve(file: ConfigFile, flags: Overrides) -> Result<Self, ConfigError> {
        // Destructure without `..`: a new config key fails to compile until it is used here.
        let ConfigFile {
            rdap,
            whois,
            data,
            limits,
            admin,
            authority,
            service,
            log,
            database,
        } = file;
        let LogSection {
            format: log_format,
            filter: log_filter,
        } = log;
        let limits = resolve_limits(limits)?;
        let AdminSection {
            listen: admin_listen,
            max_connections: admin_max,
        } = admin;
        let admin_max_connections = bounded("admin.max_connections", admin_max, 16, 1, 1024)?;
        let default_admin: SocketAddr = DEFAULT_ADMIN_LISTEN
            .parse()
            .map_err(|_| ConfigError::Invalid("internal: bad default admin address".into()))?;
        let WhoisSection {
            listen: whois_listen,
            read_timeout_secs,
            max_connections: whois_max,
            max_per_client,
        } = whois;
        let RdapSection {
            listen,
            base_url,
            tls,
            header_timeout_secs,
            write_timeout_secs,
            keepalive_timeout_secs,
            max_requests_per_connection,
            max_per_client: rdap_per_client,
        } = rdap;
        let d = RdapConnLimits::default();
        let rdap_conn = RdapConnLimits {
            header_timeout: seconds(
                "rdap.header_timeout_secs",
                header_timeout_secs,
                d.header_timeout.as_secs(),
                1,
                300,
            )?,
            write_timeout: seconds(
                "rdap.write_timeout_secs",
                write_timeout_secs,
                d.write_timeout.as_secs(),
                1,
                300,
            )?,
            keepalive_timeout: seconds(
                "rdap.keepalive_timeout_secs",
                keepalive_timeout_secs,
                d.keepalive_timeout.as_secs(),
                1,
                300,
            )?,
            max_requests_per_connection: bounded(
                "rdap.max_requests_per_connection",
                max_requests_per_connection,
                d.max_requests_per_connection,
                1,
                1_000_000,
            )?,
            max_per_client: bounded(
                "rdap.max_per_client",
                rdap_per_client,
                d.max_per_client,
                1,
                1_000_000,
            )?,
        };
        let DataSection {
            dir,
            policy,
            max_shrink_percent,
            allow_shrink,
            delta_dir,
            backend,
            database_url,
        } = data;
        let database = resolve_database(
            backend,
            database_url,
            database,
            &flags,
            dir.is_some() || flags.data_dir.is_some() || delta_dir.is_some(),
        )?;
        let authority = resolve_authority(authority, database.as_ref().map(|d| d.url.as_str()))?;
        let max_shrink_percent = max_shrink_percent.unwrap_or(DEFAULT_MAX_SHRINK_PERCENT);
        if max_shrink_percent > 100 {
            return Err(ConfigError::Invalid(
                "data.max_shrink_percent is a percentage from 0 to 100".into(),
            ));
        }
        let shrink = ShrinkGuard {
            max_shrink_percent,
            allow_shrink: allow_shrink.unwrap_or(false),
        };
        let ServiceSection {
            port43,
            terms_url,
            shutdown_grace_secs,
            max_connections,
        } = service;

        let default_listen: SocketAddr = DEFAULT_RDAP_LISTEN
            .parse()
            .map_err(|_| ConfigError::Invalid("internal: bad default listen address".into()))?;
        let base_url =
            flags
                .base_url
                .or(base_url)
                .map(|u| if u.ends_with('/') { u } else { format!("{u}/") });
        if let Some(u) = &base_url {
            crate::registry::validate::http_url(u)
                .map_err(|m| ConfigError::Invalid(format!("base_url {u:?}: {m}")))?;
        }
        let terms_url = terms_url.unwrap_or_else(|| DEFAULT_TERMS_URL.to_string());
        crate::registry::validate::http_url(&terms_url)
            .map_err(|m| ConfigError::Invalid(format!("service.terms_url: {m}")))?;
        let max_connections = bounded(
            "service.max_connections",
            max_connections,
            1024,
            1,
            1_000_000,
        )?;
        let whois_max_connections = bounded("whois.max_connections", whois_max, 256, 1, 1_000_000)?;
        let whois_max_per_client =
            bounded("whois.max_per_client", max_per_client, 3, 1, 1_000_000)?;
        let whois_read_timeout = seconds("whois.read_timeout_secs", read_timeout_secs, 10, 1, 300)?;
        let shutdown_grace = seconds(
            "service.shutdown_grace_secs",
            shutdown_grace_secs,
            10,
            0,
            600,
        )?;
        let default_whois: SocketAddr = DEFAULT_WHOIS_LISTEN
            .parse()
            .map_err(|_| ConfigError::Invalid("internal: bad default whois address".into()))?;
        Ok(Self {
            rdap_listen: if flags.rdap_listen.is_empty() {
                listen
                    .filter(|l| !l.is_empty())
                    .unwrap_or_else(|| vec![default_listen])
            } else {
                flags.rdap_listen
            },
            tls: flags.tls.or(tls),
            whois_listen: if flags.whois_listen.is_empty() {
                whois_listen.unwrap_or_else(|| vec![default_whois])
            } else {
                flags.whois_listen
            },
            limits,
            authority,
            reconfigure: flags.config_path.clone().map(|p| {
                std::sync::Arc::new(ConfigReload(p))
                    as std::sync::Arc<dyn crate::state::Reconfigure>
            }),
            config_path: flags.config_path,
            admin_listen: if flags.admin_listen.is_empty() {
                admin_listen.unwrap_or_else(|| vec![default_admin])
            } else {
                flags.admin_listen
            },
            whois_read_timeout,
            whois_max_connections,
            whois_max_per_client,
            base_url,
            data_dir: flags.data_dir.or(dir),
            policy: flags.policy.or(policy),
            shrink,
            delta_dir,
            database,
            port43,
            terms_url,
            shutdown_grace,
            max_connections,
            rdap_conn,
            admin_max_connections,
            log_format: flags.log_format.or(log_format).unwrap_or_default(),
            log_filter: flags
                .log_filter
                .or(log_filter)
                .unwrap_or_else(|| "info".to_string()),
        })
    }
}

/// The backend: JSON Lines unless `[data] backend = "postgres"` or `--database` asks for the
/// database, whose URL comes from `--database`, `[data] database_url` or `RDDSD_DATABASE_URL`,
/// in that order.
fn resolve_database(
    backend: Option<Backend>,
    url: Option<String>,
    section: DatabaseSection,
    flags: &Overrides,
    has_files: bool,
) -> Result<Option<DatabaseSettings>, ConfigError> {
    let DatabaseSection {
        pool_size,
        statement_timeout_ms,
        queue_timeout_ms,
        max_stale_secs,
        shared_budget,
    } = section;
    let postgres = flags.database_url.is_some() || backend == Some(Backend::Postgres);
    if !postgres {
        if shared_budget == Some(true) {
            return Err(ConfigError::Invalid(
                "database.shared_budget = true needs [data] backend = \"postgres\"".into(),
            ));
        }
        return Ok(None);
    }
    if has_files {
        return Err(ConfigError::Invalid(
            "the postgres backend reads its records from the database: remove data.dir, --data and data.delta_dir (or use backend = \"jsonl\")".into(),
        ));
    }
    let Some(url) = flags
        .database_url
        .clone()
        .or(url)
        .or_else(|| flags.database_url_env.clone())
    else {
        return Err(ConfigError::Invalid(
            "data.backend = \"postgres\" needs a database: set data.database_url, --database or RDDSD_DATABASE_URL".into(),
        ));
    };
    crate::db::parse_url(&url)
        .map_err(|e| ConfigError::Invalid(format!("data.database_url: {e}")))?;
    let d = DatabaseSettings::with_url(url);
    Ok(Some(DatabaseSettings {
        pool_size: bounded("database.pool_size", pool_size, d.pool_size, 1, 1024)?,
        statement_timeout: Duration::from_millis(bounded(
            "database.statement_timeout_ms",
            statement_timeout_ms,
            DatabaseSettings::STATEMENT_TIMEOUT_MS,
            10,
            600_000,
        )?),
        queue_timeout: Duration::from_millis(bounded(
            "database.queue_timeout_ms",
            queue_timeout_ms,
            DatabaseSettings::QUEUE_TIMEOUT_MS,
            1,
            60_000,
        )?),
        max_stale: seconds(
            "database.max_stale_secs",
            max_stale_secs,
            DatabaseSettings::MAX_STALE_SECS,
            0,
            86_400,
        )?,
        shared_budget: shared_budget.unwrap_or(false),
        ..d
    }))
}

fn nets(key: &str, list: Option<Vec<String>>) -> Result<Vec<IpNet>, ConfigError> {
    list.unwrap_or_default()
        .iter()
        .map(|n| {
            n.parse::<IpNet>()
                .or_else(|_| n.parse::<std::net::IpAddr>().map(IpNet::from))
                .map(|net| net.trunc())
                .map_err(|_| ConfigError::Invalid(format!("limits.{key}: {n:?} is not an IP network such as 192.0.2.0/24 or 2001:db8::/32")))
        })
        .collect()
}

fn resolve_authority(
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

fn resolve_limits(l: LimitsSection) -> Result<LimitSettings, ConfigError> {
    let LimitsSection {
        enabled,
        ipv4_prefix,
        ipv6_prefix,
        rate_per_second,
        rate_per_minute,
        burst,
        daily_quota,
        escalate_after_blocks,
        escalation_window_days,
        escalated_block_days,
        max_tracked_clients,
        allow,
        deny,
        trusted_proxies,
    } = l;
    let d = LimitSettings::default();
    let nonzero = |key: &str, v: Option<u32>, default: NonZeroU32| {
        let v = bounded(&format!("limits.{key}"), v, default.get(), 1, 1_000_000)?;
        NonZeroU32::new(v)
            .ok_or_else(|| ConfigError::Invalid(format!("limits.{key} must be at least 1")))
    };
    let days = |key: &str, v: Option<u32>, default: u32| {
        bounded(&format!("limits.{key}"), v, default, 1, 3650)
    };
    let ipv4_prefix = ipv4_prefix.unwrap_or(d.ipv4_prefix);
    let ipv6_prefix = ipv6_prefix.unwrap_or(d.ipv6_prefix);
    if ipv4_prefix > 32 || ipv6_prefix > 128 {
        return Err(ConfigError::Invalid(
            "limits.ipv4_prefix is at most 32 and limits.ipv6_prefix at most 128".into(),
        ));
    }
    let max_tracked_clients = bounded(
        "limits.max_tracked_clients",
        max_tracked_clients,
        d.max_tracked_clients,
        64,
        100_000_000,
    )?;
    Ok(LimitSettings {
        enabled: enabled.unwrap_or(d.enabled),
        ipv4_prefix,
        ipv6_prefix,
        rate_per_second: nonzero("rate_per_second", rate_per_second, d.rate_per_second)?,
        rate_per_minute: match (rate_per_second, rate_per_minute) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Invalid(
                    "limits.rate_per_second and limits.rate_per_minute exclude each other".into(),
                ))
            }
            (_, None) => None,
            (None, Some(m)) => Some(nonzero("rate_per_minute", Some(m), NonZeroU32::MIN)?),
        },
        burst: nonzero("burst", burst, d.burst)?,
        daily_quota: daily_quota.unwrap_or(d.daily_quota),
        escalate_after_blocks: days(
            "escalate_after_blocks",
            escalate_after_blocks,
            d.escalate_after_blocks,
        )?,
        escalation_window_days: days(
            "escalation_window_days",
            escalation_window_days,
            d.escalation_window_days,
        )?,
        escalated_block_days: days(
            "escalated_block_days",
            escalated_block_days,
            d.escalated_block_days,
        )?,
        max_tracked_clients,
        allow: nets("allow", allow)?,
        deny: nets("deny", deny)?,
        trusted_proxies: nets("trusted_proxies", trusted_proxies)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
[rdap]
listen = ["127.0.0.1:0", "[::1]:0"]
base_url = "https://rdap.nic.example"

[rdap.tls]
cert = "/etc/rddsd/cert.pem"
key = "/etc/rddsd/key.pem"

[whois]
listen = ["127.0.0.1:0"]
read_timeout_secs = 5
max_connections = 64
max_per_client = 2

[limits]
enabled = true
ipv4_prefix = 32
ipv6_prefix = 56
rate_per_second = 5
burst = 20
daily_quota = 1000
escalate_after_blocks = 2
escalation_window_days = 30
escalated_block_days = 14
max_tracked_clients = 100000
allow = ["192.0.2.0/24", "2001:db8:1::/48"]
deny = ["198.51.100.7"]
trusted_proxies = ["10.0.0.0/8"]

[admin]
listen = ["127.0.0.1:0"]

[authority]
credentials = "/etc/rddsd/credentials.jsonl"
log = "/var/lib/rddsd/disclosures.jsonl"
rate_per_minute = 30
burst = 5
clock_skew_secs = 30

[[authority.issuer]]
name = "Federal Police Portal"
issuer = "https://idp.police.example"
audience = "rdap.nic.example"
jwks_file = "/etc/rddsd/police.jwks.json"
algorithms = ["ES256", "EdDSA"]
purposes = ["criminal-investigation"]
jurisdiction = "DE"

[data]
dir = "/var/lib/rddsd"
policy = "/etc/rddsd/policy.toml"
max_shrink_percent = 25
allow_shrink = false

[database]
pool_size = 4

[service]
port43 = "whois.nic.example"
terms_url = "https://nic.example/terms"
shutdown_grace_secs = 5
max_connections = 100
"#;

    #[test]
    fn full_example_parses_and_flags_win() {
        let file = ConfigFile::parse("c.toml", FULL).expect("parses");
        let flags = Overrides {
            data_dir: Some("/tmp/x".into()),
            ..Overrides::default()
        };
        let s = Settings::resolve(file, flags).expect("resolves");
        assert_eq!(s.base_url.as_deref(), Some("https://rdap.nic.example/"));
        assert_eq!(s.data_dir.as_deref(), Some(Path::new("/tmp/x")));
        assert_eq!(s.shutdown_grace, Duration::from_secs(5));
        assert_eq!(s.rdap_listen.len(), 2);
        assert_eq!(s.limits.ipv6_prefix, 56);
        assert_eq!(
            s.limits.deny,
            vec!["198.51.100.7/32".parse::<IpNet>().expect("net")]
        );
        assert_eq!(s.limits.burst.get(), 20);
        assert!(s.tls.is_some());
        assert_eq!(
            s.shrink,
            ShrinkGuard {
                max_shrink_percent: 25,
                allow_shrink: false
            }
        );
    }

    #[test]
    fn unknown_keys_in_every_table_are_refused() {
        for table in [
            "[authority]",
            "[[authority.issuer]]",
            "[limits]",
            "[admin]",
            "[rdap]",
            "[rdap.tls]",
            "[whois]",
            "[data]",
            "[service]",
            "[database]",
        ] {
            let text = FULL.replace(table, &format!("{table}\nbogus_key = 1"));
            let err = ConfigFile::parse("c.toml", &text).expect_err("must refuse");
            assert!(
                err.to_string().contains("c.toml:") && err.to_string().contains("bogus_key"),
                "{err}"
            );
        }
        assert!(ConfigFile::parse("c.toml", "[nope]\n").is_err());
    }

    #[test]
    fn the_postgres_backend_takes_its_url_from_flag_file_or_environment() {
        let parse = |text: &str, flags: Overrides| {
            Settings::resolve(ConfigFile::parse("c.toml", text).expect("parses"), flags)
        };
        // JSON Lines unless asked otherwise; the environment alone never switches.
        let env = Overrides {
            database_url_env: Some("postgres://env@h/db".into()),
            ..Overrides::default()
        };
        assert!(parse("", env.clone()).expect("ok").database.is_none());
        let s = parse("[data]\nbackend = \"postgres\"\n", env.clone()).expect("ok");
        assert_eq!(s.database.expect("postgres").url, "postgres://env@h/db");
        let file = "[data]\nbackend = \"postgres\"\ndatabase_url = \"postgres://file@h/db\"\n[database]\npool_size = 3\nstatement_timeout_ms = 500\nqueue_timeout_ms = 50\nmax_stale_secs = 60\n";
        let d = parse(file, env.clone())
            .expect("ok")
            .database
            .expect("postgres");
        assert_eq!(d.url, "postgres://file@h/db");
        assert_eq!(d.pool_size, 3);
        assert_eq!(d.statement_timeout, Duration::from_millis(500));
        assert_eq!(d.queue_timeout, Duration::from_millis(50));
        assert_eq!(d.max_stale, Duration::from_secs(60));
        let flag = Overrides {
            database_url: Some("postgres://flag:pw@h/db".into()),
            ..env
        };
        let d = parse(file, flag.clone())
            .expect("ok")
            .database
            .expect("postgres");
        assert_eq!(d.url, "postgres://flag:pw@h/db");
        assert!(!format!("{d:?}").contains("pw"), "Debug hides the URL");
        // Defaults, and refusals.
        let d = parse("", flag.clone())
            .expect("ok")
            .database
            .expect("postgres");
        assert_eq!(d.pool_size, DatabaseSettings::POOL_SIZE);
        assert!(parse("[data]\nbackend = \"postgres\"\n", Overrides::default()).is_err());
        assert!(parse("[data]\ndir = \"/x\"\n", flag.clone()).is_err());
        assert!(parse("[database]\npool_size = 0\n", flag).is_err());
        assert!(ConfigFile::parse("c.toml", "[data]\nbackend = \"mysql\"\n").is_err());
    }

    #[test]
    fn bad_values_are_refused() {
        let file = ConfigFile::parse("c.toml", "[rdap]\nbase_url = \"ftp://x\"\n").expect("parses");
        assert!(Settings::resolve(file, Overrides::default()).is_err());
        assert!(ConfigFile::parse("c.toml", "[rdap]\nlisten = \"not an address\"\n").is_err());
        let file =
            ConfigFile::parse("c.toml", "[data]\nmax_shrink_percent = 101\n").expect("parses");
        assert!(Settings::resolve(file, Overrides::default()).is_err());
        assert!(ConfigFile::parse("c.toml", "[data]\nmax_shrink_percent = -1\n").is_err());
        let file = ConfigFile::parse("c.toml", "").expect("parses");
        let s = Settings::resolve(file, Overrides::default()).expect("resolves");
        assert_eq!(s.shrink, ShrinkGuard::default());
    }

    #[test]
    fn search_settings_default_and_fit_the_burst() {
        let resolve = |extra: &str| {
            ConfigFile::parse(
                "c.toml",
                &format!("[authority]\ncredentials = \"/c\"\nlog = \"/l\"\n{extra}"),
            )
            .map_err(|e| e.to_string())
            .and_then(|f| Settings::resolve(f, Overrides::default()).map_err(|e| e.to_string()))
            .map(|s| s.authority.expect("authority").search)
        };
        let d = resolve("").expect("defaults");
        assert_eq!(
            (d.limits.page_size, d.limits.max_results, d.cost.get()),
            (25, 500, 5)
        );
        // A burst below the default cost lowers the default to the burst.
        assert_eq!(resolve("burst = 3\n").expect("small burst").cost.get(), 3);
        let s = resolve("search_page_size = 10\nsearch_max_results = 10\nsearch_cost = 10\n")
            .expect("all at their limits");
        assert_eq!((s.limits.page_size, s.cost.get()), (10, 10));
        for (extra, needle) in [
            ("search_cost = 11\n", "at most authority.burst = 10"),
            (
                "search_page_size = 50\nsearch_max_results = 40\n",
                "at least authority.search_page_size",
            ),
            (
                "search_page_size = 0\n",
                "search_page_size = 0 is out of range",
            ),
            ("search_page_size = 101\n", "out of range"),
            ("search_max_results = 10001\n", "out of range"),
            ("search_cost = 0\n", "out of range"),
        ] {
            let e = resolve(extra).expect_err(extra);
            assert!(e.contains(needle), "{extra}: {e}");
        }
    }

    #[test]
    fn a_log_in_the_database_needs_the_postgres_backend_and_no_file() {
        let resolve = |text: &str| {
            ConfigFile::parse("c.toml", text)
                .map_err(|e| e.to_string())
                .and_then(|f| Settings::resolve(f, Overrides::default()).map_err(|e| e.to_string()))
        };
        let pg = "[data]\nbackend = \"postgres\"\ndatabase_url = \"postgres://u@h/db\"\n";
        let s = resolve(&format!(
            "{pg}[authority]\ncredentials = \"/c\"\nlog_database = true\n"
        ))
        .expect("resolves");
        let a = s.authority.expect("authority");
        assert_eq!(a.log_database.as_deref(), Some("postgres://u@h/db"));
        assert!(a.log.as_os_str().is_empty());
        assert_eq!(a.credentials_database, None);
        let s = resolve(&format!(
            "{pg}[authority]\ncredentials_database = true\nlog = \"/l\"\n"
        ))
        .expect("resolves");
        let a = s.authority.expect("authority");
        assert_eq!(a.credentials_database.as_deref(), Some("postgres://u@h/db"));
        assert!(a.credentials.as_os_str().is_empty());
        for (text, needle) in [
            (
                "[authority]\ncredentials = \"/c\"\nlog_database = true\n".to_string(),
                "needs [data] backend",
            ),
            (
                format!("{pg}[authority]\ncredentials = \"/c\"\nlog = \"/l\"\nlog_database = true\n"),
                "exclude each other",
            ),
            (
                format!("{pg}[authority]\ncredentials = \"/c\"\nlog_database = true\nsigning_key = \"/k\"\n"),
                "needs a file log",
            ),
            (
                format!("{pg}[authority]\ncredentials = \"/c\"\nlog_database = false\n"),
                "must be set together",
            ),
            (
                "[authority]\ncredentials_database = true\nlog = \"/l\"\n".to_string(),
                "needs [data] backend",
            ),
            (
                format!("{pg}[authority]\ncredentials = \"/c\"\ncredentials_database = true\nlog = \"/l\"\n"),
                "exclude each other",
            ),
        ] {
            let e = resolve(&text).expect_err(needle);
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn issuers_are_checked_strictly() {
        let s = Settings::resolve(
            ConfigFile::parse("c.toml", FULL).expect("parses"),
            Overrides::default(),
        )
        .expect("resolves");
        let f = s.authority.and_then(|a| a.federation).expect("federation");
        assert_eq!(f.issuers.len(), 1);
        assert_eq!(f.clock_skew, Duration::from_secs(30));
        assert_eq!(f.jwks_refresh, Duration::from_secs(60));
        assert!(f
            .claim_purposes
            .iter()
            .any(|(k, _)| k == "criminalInvestigationAndDNSAbuseMitigation"));
        let issuer = "[[authority.issuer]]\nname = \"P\"\nissuer = \"https://idp.example\"\naudience = \"a\"\njwks_file = \"/j\"\nalgorithms = [\"ES256\"]\npurposes = [\"court-order\"]\njurisdiction = \"XX\"\n";
        let resolve = |extra: &str, issuer: &str| {
            let text =
                format!("[authority]\ncredentials = \"/c\"\nlog = \"/l\"\n{extra}\n{issuer}");
            ConfigFile::parse("c.toml", &text)
                .map_err(|e| e.to_string())
                .and_then(|f| Settings::resolve(f, Overrides::default()).map_err(|e| e.to_string()))
        };
        assert!(resolve("", issuer).is_ok());
        let table = resolve(
            "[authority.claim_purposes]\nlawEnforcement = [\"court-order\"]\n",
            issuer,
        )
        .expect("claim table")
        .authority
        .and_then(|a| a.federation)
        .expect("federation")
        .claim_purposes;
        assert_eq!(
            table,
            vec![(
                "lawEnforcement".to_string(),
                vec![crate::authority::Purpose::CourtOrder]
            )]
        );
        for (extra, change, needle) in [
            ("", ("[\"ES256\"]", "[\"HS256\"]"), "HMAC"),
            ("", ("[\"ES256\"]", "[\"none\"]"), "never accepted"),
            (
                "",
                ("[\"ES256\"]", "[]"),
                "issuer[0].algorithms is required",
            ),
            (
                "",
                ("audience = \"a\"\n", ""),
                "issuer[0].audience is required",
            ),
            (
                "",
                (
                    "jwks_file = \"/j\"",
                    "jwks_url = \"ftp://idp.example/jwks\"",
                ),
                "issuer[0].jwks_url: \"ftp://idp.example/jwks\" is not an http:// or https:// URL",
            ),
            (
                "",
                (
                    "jwks_file = \"/j\"",
                    "jwks_url = \"https:///jwks\"",
                ),
                "issuer[0].jwks_url: \"https:///jwks\"",
            ),
            (
                "",
                (
                    "jwks_file = \"/j\"",
                    "jwks_url = \"https://idp.example/jwks\"\njwks_ca_file = \"/nonexistent/ca.pem\"",
                ),
                "authority.issuer[0].jwks_ca_file: /nonexistent/ca.pem: I/O error: No such file",
            ),
            (
                "",
                (
                    "jwks_file = \"/j\"",
                    "jwks_url = \"http://idp.example/jwks\"\njwks_ca_file = \"/ca.pem\"",
                ),
                "authority.issuer[0].jwks_ca_file: only for an https:// URL",
            ),
            (
                "",
                ("jwks_file = \"/j\"", "jwks_file = \"/j\"\njwks_ca_file = \"/ca.pem\""),
                "authority.issuer[0].jwks_ca_file: only with an https:// jwks_url",
            ),
            (
                "",
                (
                    "jwks_file = \"/j\"",
                    "jwks_file = \"/j\"\njwks_url = \"http://i/\"",
                ),
                "exactly one",
            ),
            (
                "",
                ("[\"court-order\"]", "[\"curiosity\"]"),
                "unknown purpose",
            ),
            (
                "",
                ("https://idp.example", "idp.example"),
                "not an issuer URL",
            ),
            ("clock_skew_secs = 301", ("", ""), "clock_skew_secs"),
            ("jwks_refresh_secs = 0", ("", ""), "jwks_refresh_secs"),
        ] {
            let e = resolve(extra, &issuer.replace(change.0, change.1)).expect_err(needle);
            assert!(e.contains(needle), "{needle}: {e}");
        }
        let twice = format!("{issuer}{issuer}");
        assert!(resolve("", &twice)
            .expect_err("twice")
            .contains("listed twice"));
        assert!(resolve("clock_skew_secs = 5", "")
            .expect_err("no issuer")
            .contains("[[authority.issuer]]"));
    }

    #[test]
    fn a_jwks_ca_file_is_read_with_the_config_and_must_hold_a_certificate() {
        let dir = tempfile::tempdir().expect("tmp");
        let resolve = |url: &str, ca: Option<&Path>| {
            let ca = ca.map(|p| format!("jwks_ca_file = {:?}\n", p.display().to_string()));
            let text = format!(
                "[authority]\ncredentials = \"/c\"\nlog = \"/l\"\n[[authority.issuer]]\nname = \"P\"\nissuer = \"https://idp.example\"\naudience = \"a\"\njwks_url = {url:?}\n{}algorithms = [\"ES256\"]\npurposes = [\"court-order\"]\njurisdiction = \"XX\"\n",
                ca.unwrap_or_default()
            );
            ConfigFile::parse("c.toml", &text)
                .map_err(|e| e.to_string())
                .and_then(|f| Settings::resolve(f, Overrides::default()).map_err(|e| e.to_string()))
        };
        // Without a CA file an https:// JWKS is verified against the system's roots.
        let s = resolve("https://idp.example/jwks", None).expect("system roots");
        let f = s.authority.and_then(|a| a.federation).expect("federation");
        assert_eq!(
            f.issuers[0].jwks,
            crate::authority::federation::JwksSource::Url {
                url: "https://idp.example/jwks".into(),
                roots: crate::authority::TrustRoots::System
            }
        );
        // A file that is there but holds no certificate is refused with the key and the file.
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "# no certificate here\n").expect("write");
        let e = resolve("https://idp.example/jwks", Some(&empty)).expect_err("empty");
        assert!(
            e.contains("authority.issuer[0].jwks_ca_file")
                && e.contains(&empty.display().to_string())
                && e.contains("no certificate"),
            "{e}"
        );
        let missing = dir.path().join("missing.pem");
        let e = resolve("https://idp.example/jwks", Some(&missing)).expect_err("missing");
        assert!(
            e.contains("authority.issuer[0].jwks_ca_file") && e.contains("No such file"),
            "{e}"
        );
    }

    #[test]
    fn transparency_settings_are_bounded_and_need_a_key() {
        let base = "[authority]\ncredentials = \"/c\"\nlog = \"/l\"\n";
        let resolve = |extra: &str| {
            ConfigFile::parse("c.toml", &format!("{base}{extra}"))
                .map_err(|e| e.to_string())
                .and_then(|f| Settings::resolve(f, Overrides::default()).map_err(|e| e.to_string()))
        };
        let s = resolve("signing_key = \"/k\"\n").expect("defaults");
        let t = s.authority.and_then(|a| a.transparency).expect("on");
        let (_, wvk) =
            crate::authority::transparency::note::generate_witness("w.example").expect("key");
        // An https:// witness without a ca_file is verified against the system's roots.
        let s = resolve(&format!(
            "signing_key = \"/k\"\nwitnesses = [{{ url = \"https://w.example/\", key = {wvk:?} }}]\n"
        ))
        .expect("https witness");
        let w = s
            .authority
            .and_then(|a| a.transparency)
            .expect("on")
            .witnesses;
        assert!(
            matches!(
                &w[..],
                [crate::authority::transparency::WitnessTarget::Http {
                    roots: crate::authority::TrustRoots::System,
                    ..
                }]
            ),
            "{w:?}"
        );
        assert_eq!(
            (t.checkpoint_every, t.checkpoint_interval),
            (256, Duration::from_secs(60))
        );
        for (extra, needle) in [
            (
                "signing_key = \"/k\"\ncheckpoint_every = 0\n",
                "checkpoint_every",
            ),
            (
                "signing_key = \"/k\"\ncheckpoint_every = 1000001\n",
                "checkpoint_every",
            ),
            (
                "signing_key = \"/k\"\ncheckpoint_interval_secs = 86401\n",
                "checkpoint_interval_secs",
            ),
            ("checkpoint_every = 5\n", "signing_key"),
            (
                "signing_key = \"/k\"\nwitnesses = [{ url = \"http://w/\" }]\n",
                "witnesses[0]",
            ),
            (
                "signing_key = \"/k\"\nwitnesses = [{ url = \"http://w/\", key = \"nope\" }]\n",
                "witnesses[0].key",
            ),
            (
                "signing_key = \"/k\"\nwitnesses = [{ dir = \"/d\", url = \"http://w/\" }]\n",
                "witnesses[0]",
            ),
            (
                "signing_key = \"/k\"\nwitnesses = [{ dir = \"/d\", ca_file = \"/ca.pem\" }]\n",
                "witnesses[0]",
            ),
            (
                &format!("signing_key = \"/k\"\nwitnesses = [{{ url = \"ftp://w/\", key = {wvk:?} }}]\n"),
                "witnesses[0].url: \"ftp://w/\" is not an http:// or https:// URL",
            ),
            (
                &format!("signing_key = \"/k\"\nwitnesses = [{{ url = \"http://w/\", key = {wvk:?}, ca_file = \"/ca.pem\" }}]\n"),
                "witnesses[0].ca_file: only for an https:// URL",
            ),
            (
                &format!("signing_key = \"/k\"\nwitnesses = [{{ url = \"https://w/\", key = {wvk:?}, ca_file = \"/nonexistent/ca.pem\" }}]\n"),
                "witnesses[0].ca_file: /nonexistent/ca.pem: I/O error: No such file",
            ),
        ] {
            let e = resolve(extra).expect_err(extra);
            assert!(e.contains(needle), "{extra}: {e}");
        }
    }

    #[test]
    fn every_duration_and_size_is_bounded() {
        for (table, key) in [
            ("whois", "read_timeout_secs"),
            ("whois", "max_connections"),
            ("whois", "max_per_client"),
            ("rdap", "header_timeout_secs"),
            ("rdap", "write_timeout_secs"),
            ("rdap", "keepalive_timeout_secs"),
            ("rdap", "max_requests_per_connection"),
            ("rdap", "max_per_client"),
            ("admin", "max_connections"),
            ("service", "shutdown_grace_secs"),
            ("service", "max_connections"),
            ("limits", "rate_per_second"),
            ("limits", "burst"),
            ("limits", "escalated_block_days"),
            ("limits", "escalation_window_days"),
            ("limits", "max_tracked_clients"),
            ("authority", "rate_per_minute"),
            ("authority", "search_page_size"),
            ("authority", "search_max_results"),
            ("authority", "search_cost"),
        ] {
            let mut text = format!("[{table}]\n{key} = 9223372036854775807\n");
            if table == "authority" {
                text.push_str("credentials = \"/c\"\nlog = \"/l\"\n");
            }
            let err = ConfigFile::parse("c.toml", &text)
                .map_err(|e| e.to_string())
                .and_then(|f| Settings::resolve(f, Overrides::default()).map_err(|e| e.to_string()))
                .expect_err(&format!("{table}.{key} must be bounded"));
            assert!(err.contains(key) || err.contains("c.toml:2"), "{err}");
        }
    }
}
