//! The server's resolved settings: every value typed and checked. `crate::config` builds them
//! from the file and the flags; the server, below it, only reads them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::authority::AuthoritySettings;
use crate::db::DatabaseSettings;
use crate::limit::LimitSettings;
use crate::state::ShrinkGuard;
use crate::tls::TlsFiles;

/// Resolved settings: every value typed and checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// RDAP listen addresses.
    pub rdap_listen: Vec<SocketAddr>,
    /// WHOIS listen addresses (empty: no WHOIS).
    pub whois_listen: Vec<SocketAddr>,
    /// WHOIS read timeout.
    pub whois_read_timeout: Duration,
    /// WHOIS connection cap.
    pub whois_max_connections: usize,
    /// WHOIS per-client connection cap.
    pub whois_max_per_client: u32,
    /// Harvesting defence.
    pub limits: LimitSettings,
    /// Admin listen addresses (empty: none).
    pub admin_listen: Vec<SocketAddr>,
    /// The authority route, if configured.
    pub authority: Option<AuthoritySettings>,
    /// The disclosure-request workflow (`[requests]`, issue #25), if configured.
    pub requests: Option<crate::requests::RequestsSettings>,
    /// The config file, if any.
    pub config_path: Option<PathBuf>,
    /// What a reload reads again of the config file (its `[limits]` and `[data]` guard).
    pub reconfigure: Option<std::sync::Arc<dyn crate::state::Reconfigure>>,
    /// HTTPS certificate and key; plain HTTP without.
    pub tls: Option<TlsFiles>,
    /// Configured base URL; `None` means "derive from the bound address".
    pub base_url: Option<String>,
    /// Data directory, or the embedded demo registry.
    pub data_dir: Option<PathBuf>,
    /// Policy file, or the embedded default.
    pub policy: Option<PathBuf>,
    /// How far a reload may shrink the data set.
    pub shrink: ShrinkGuard,
    /// How a load treats defective records (`[data] max_bad_percent`).
    pub load_options: crate::registry::load::LoadOptions,
    /// Directory watched for delta files.
    pub delta_dir: Option<PathBuf>,
    /// The PostgreSQL backend, when chosen; `None`: JSON Lines.
    pub database: Option<DatabaseSettings>,
    /// `port43` host name.
    pub port43: Option<String>,
    /// Terms of service URL.
    pub terms_url: String,
    /// Drain deadline on shutdown.
    pub shutdown_grace: Duration,
    /// RDAP connection cap (all RDAP listeners together).
    pub max_connections: usize,
    /// RDAP connection timeouts and per-client bounds.
    pub rdap_conn: RdapConnLimits,
    /// Admin connection cap.
    pub admin_max_connections: usize,
    /// Log line format.
    pub log_format: crate::telemetry::LogFormat,
    /// Log filter.
    pub log_filter: String,
}

/// How long and how much one RDAP connection may hold the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RdapConnLimits {
    /// Time to send a complete request head, and to finish a TLS handshake.
    pub header_timeout: Duration,
    /// Time a write may make no progress (a client that never reads).
    pub write_timeout: Duration,
    /// Time a read may wait for bytes: bounds idle keep-alive connections.
    pub keepalive_timeout: Duration,
    /// Requests on one connection before it is closed.
    pub max_requests_per_connection: u32,
    /// Concurrent connections per client network.
    pub max_per_client: u32,
}

impl Default for RdapConnLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            keepalive_timeout: Duration::from_secs(5),
            max_requests_per_connection: 100,
            max_per_client: 32,
        }
    }
}
