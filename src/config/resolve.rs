//! The resolution of the file and the flags into the server's [`Settings`]: defaults applied,
//! every value checked against its bounds.

use std::time::Duration;

use std::num::NonZeroU32;

use ipnet::IpNet;

use super::authority::resolve_authority;
use super::*;
use crate::limit::LimitSettings;

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
            requests,
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
            max_bad_percent,
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
        let requests = super::requests::resolve_requests(
            requests,
            database.as_ref().map(|d| d.url.as_str()),
            authority.is_some(),
        )?;
        let max_shrink_percent = max_shrink_percent.unwrap_or(DEFAULT_MAX_SHRINK_PERCENT);
        if max_shrink_percent > 100 {
            return Err(ConfigError::Invalid(
                "data.max_shrink_percent is a percentage from 0 to 100".into(),
            ));
        }
        let max_bad_percent =
            max_bad_percent.unwrap_or(crate::registry::load::LoadOptions::DEFAULT_MAX_BAD_PERCENT);
        if !(0.0..=100.0).contains(&max_bad_percent) {
            return Err(ConfigError::Invalid(
                "data.max_bad_percent is a percentage from 0 to 100".into(),
            ));
        }
        let load_options = crate::registry::load::LoadOptions { max_bad_percent };
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
            requests,
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
            load_options,
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
        mode,
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
        mode: mode.unwrap_or_default(),
        ..d
    }))
}

pub(super) fn nets(key: &str, list: Option<Vec<String>>) -> Result<Vec<IpNet>, ConfigError> {
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
