//! Logging setup and privacy-safe log fields.
//!
//! Access events carry the client's *network* (IPv4 /24, IPv6 /48), never the full address,
//! and never any registration data beyond the kind of object asked for.

use std::fmt;
use std::net::IpAddr;

/// Install the global subscriber: human-readable lines on stderr, level from `filter`
/// (e.g. `info`, `rddsd=debug`).
pub fn init(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

/// A client address reduced to its network for logging.
pub struct ClientNet(pub IpAddr);

impl fmt::Display for ClientNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.to_canonical() {
            IpAddr::V4(v4) => {
                let o = v4.octets();
                write!(f, "{}.{}.{}.0/24", o[0], o[1], o[2])
            }
            IpAddr::V6(v6) => {
                let s = v6.segments();
                write!(f, "{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
            }
        }
    }
}

/// Request-derived text made safe for a log line: at most 16 printable ASCII characters.
pub struct Printable<'a>(pub &'a str);

impl fmt::Display for Printable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars().take(16) {
            if c.is_ascii_graphic() {
                write!(f, "{c}")?;
            } else {
                f.write_str("?")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_not_addresses() {
        let v4: IpAddr = "198.51.100.77".parse().expect("ip");
        assert_eq!(ClientNet(v4).to_string(), "198.51.100.0/24");
        let v6: IpAddr = "2001:db8:1:2:3::4".parse().expect("ip");
        assert_eq!(ClientNet(v6).to_string(), "2001:db8:1::/48");
        let mapped: IpAddr = "::ffff:192.0.2.9".parse().expect("ip");
        assert_eq!(ClientNet(mapped).to_string(), "192.0.2.0/24");
        assert_eq!(
            Printable("GE\nT\u{7f}xxxxxxxxxxxxxxxxxxxx").to_string(),
            "GE?T?xxxxxxxxxxx"
        );
    }
}
