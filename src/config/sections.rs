//! The file's sections, as written: [`ConfigFile`] only mirrors the file, and unknown keys are
//! refused (`deny_unknown_fields`), so a typo never silently falls back to a default.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use super::TlsSection;

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
    /// `[requests]`: the tracked disclosure-request workflow (issue #25); off without it.
    pub requests: Option<RequestsSection>,
}

/// `[requests]`: the tracked disclosure-request workflow. Durations are written with a unit
/// (`"2 business days"`, `"30 days"`, `"24h"`, `"90s"`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestsSection {
    /// The file store of the request record.
    pub log: Option<PathBuf>,
    /// Keep the record in PostgreSQL (`[data] backend = "postgres"`): one for the cluster.
    pub log_database: Option<bool>,
    /// Time to acknowledge (default 2 business days).
    pub acknowledge: Option<String>,
    /// Time to decide (default 30 days).
    pub respond: Option<String>,
    /// Time to decide an urgent request (default 24h).
    pub urgent: Option<String>,
    /// IANA time zone of the business-day calendar (default UTC).
    pub time_zone: Option<String>,
    /// Holidays (`YYYY-MM-DD`), besides Saturdays and Sundays.
    pub holidays: Option<Vec<String>>,
    /// Requests filed per minute per client network (default 5).
    pub intake_per_minute: Option<u32>,
    /// Burst of the same (default 5).
    pub intake_burst: Option<u32>,
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

/// `[limits]`: the harvesting defence. Defaults in [`crate::limit::LimitSettings::default`].
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
    /// Largest share of records, in percent of the records in the input, that a load may leave
    /// out (records that cannot be represented) and still be served (0..=100, a float; default
    /// 0.1; 0 refuses a load with any record left out). Read at start.
    pub max_bad_percent: Option<f64>,
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
    /// `direct` (the default: lookups read the database) or `replica` (the node reads every
    /// table at start and follows the change log in memory).
    pub mode: Option<crate::db::DatabaseMode>,
    /// Connections per node (direct mode).
    pub pool_size: Option<usize>,
    /// Longest a lookup statement may run (milliseconds); the server cancels it after that.
    pub statement_timeout_ms: Option<u64>,
    /// Longest a request waits for a free connection (milliseconds) before it is answered 503:
    /// the bound of the queue in front of the pool.
    pub queue_timeout_ms: Option<u64>,
    /// While the database is unreachable, cached answers are served for at most this many
    /// seconds after the node lost it; then 503. Direct mode only: a replica serves its whole
    /// snapshot through an outage.
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
