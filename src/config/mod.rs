//! Configuration: a strict TOML file plus command-line overrides, resolved into [`Settings`].
//!
//! Two stages: [`ConfigFile`] only mirrors the file (unknown keys are refused, so a typo never
//! silently falls back to a default); [`Settings::resolve`] applies flags and defaults and checks
//! values. The library never reads the environment.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod authority;
mod requests;
mod resolve;
mod sections;

pub use crate::db::DatabaseSettings;
pub use crate::server::settings::{RdapConnLimits, Settings};
pub use crate::state::{ShrinkGuard, DEFAULT_MAX_SHRINK_PERCENT};
pub use crate::tls::TlsFiles as TlsSection;
pub use authority::MAX_ISSUERS;
pub use sections::*;

/// Default RDAP listen address for the demo run: loopback, unprivileged.
pub const DEFAULT_RDAP_LISTEN: &str = "127.0.0.1:8080";
/// Default WHOIS listen address for the demo run: loopback, unprivileged (production: port 43).
pub const DEFAULT_WHOIS_LISTEN: &str = "127.0.0.1:4343";
/// Default admin (metrics) listen address.
pub const DEFAULT_ADMIN_LISTEN: &str = "127.0.0.1:9090";
/// Default terms-of-service URL of the demo registry.
pub const DEFAULT_TERMS_URL: &str = "https://nic.example/terms";

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

/// The line of the key a resolution error names (`section.key …`), for a message that can say
/// where it is: the first `key` line after the `[section]` header (or `[a.b]` for a nested
/// key), before the next header. `None` when the message names no key, or the key is not in
/// the file (its default was out of bounds, or a flag set it).
pub fn line_of_key(text: &str, message: &str) -> Option<usize> {
    let dotted: String = message
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
        .collect();
    let (section, key) = dotted.rsplit_once('.')?;
    let mut in_section = false;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('[') {
            let name = line
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim();
            in_section = name == section;
            continue;
        }
        let name = line.split('=').next().unwrap_or("").trim();
        if in_section && name == key && line.contains('=') {
            return Some(n + 1);
        }
    }
    None
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
            load_options: s.load_options,
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

#[cfg(test)]
mod tests;
