//! Pure parsing of one port 43 request (RFC 3912): bytes in, a protocol-neutral
//! [`Query`] or a refusal out.
//!
//! No sockets, so it is unit-tested and property-tested with arbitrary bytes.

use std::net::IpAddr;

use crate::query::{EntityHandle, Query};
use crate::registry::DomainName;

/// The longest query line accepted, without its line ending.
pub const MAX_QUERY_BYTES: usize = 1024;

/// Why a request line is not a query. Each maps to one `%ERROR` line
/// ([`crate::whois::render::error_line`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhoisRefusal {
    /// The line was empty.
    Empty,
    /// The line exceeded [`MAX_QUERY_BYTES`].
    TooLong,
    /// Not UTF-8, or control characters.
    Garbage,
    /// No complete line within the read timeout.
    Timeout,
    /// A keyword without an argument, or extra words.
    Malformed,
    /// The name is not a valid domain or host name.
    InvalidName,
}

/// Parse the bytes of one request line (without its line ending).
pub fn parse(line: &[u8]) -> Result<Query, WhoisRefusal> {
    if line.len() > MAX_QUERY_BYTES {
        return Err(WhoisRefusal::TooLong);
    }
    let text = std::str::from_utf8(line).map_err(|_| WhoisRefusal::Garbage)?;
    if text.chars().any(|c| c.is_control() && c != '\t') {
        return Err(WhoisRefusal::Garbage);
    }
    let text = text.trim();
    if text.is_empty() {
        return Err(WhoisRefusal::Empty);
    }
    let (first, rest) = match text.split_once(char::is_whitespace) {
        Some((f, r)) => (f, r.trim()),
        None => (text, ""),
    };
    let keyword = first.to_ascii_lowercase();
    match (keyword.as_str(), rest) {
        ("help", "") => Ok(Query::Help),
        ("domain" | "nameserver" | "registrar", "") => Err(WhoisRefusal::Malformed),
        ("domain", name) => single(name).and_then(domain).map(Query::Domain),
        ("nameserver", arg) => {
            let arg = single(arg)?;
            match arg.parse::<IpAddr>() {
                Ok(ip) => Ok(Query::NameserversByIp(ip)),
                Err(_) => domain(arg).map(Query::Nameserver),
            }
        }
        ("registrar", arg) if arg.bytes().all(|b| b.is_ascii_digit()) => arg
            .parse()
            .map(|id| Query::Entity(EntityHandle::Registrar(id)))
            .map_err(|_| WhoisRefusal::Malformed),
        ("registrar", name) => Ok(Query::RegistrarByName(
            name.split_whitespace().collect::<Vec<_>>().join(" "),
        )),
        (_, "") => domain(first).map(Query::Domain),
        _ => Err(WhoisRefusal::Malformed),
    }
}

fn single(arg: &str) -> Result<&str, WhoisRefusal> {
    if arg.contains(char::is_whitespace) {
        Err(WhoisRefusal::Malformed)
    } else {
        Ok(arg)
    }
}

fn domain(s: &str) -> Result<DomainName, WhoisRefusal> {
    DomainName::parse(s).map_err(|_| WhoisRefusal::InvalidName)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> DomainName {
        DomainName::parse(s).expect("valid")
    }

    #[test]
    fn query_forms() {
        assert_eq!(
            parse(b"nic.example"),
            Ok(Query::Domain(name("nic.example")))
        );
        assert_eq!(
            parse(b"DOMAIN Caf\xc3\xa9.Example."),
            Ok(Query::Domain(name("xn--caf-dma.example")))
        );
        assert_eq!(
            parse(b"  domain   xn--caf-dma.example  "),
            Ok(Query::Domain(name("café.example")))
        );
        assert_eq!(
            parse(b"nameserver NS1.nic.example"),
            Ok(Query::Nameserver(name("ns1.nic.example")))
        );
        assert_eq!(
            parse(b"Nameserver 2001:DB8:53::1"),
            Ok(Query::NameserversByIp(
                "2001:db8:53::1".parse().expect("ip")
            ))
        );
        assert_eq!(
            parse(b"registrar 1001"),
            Ok(Query::Entity(EntityHandle::Registrar(1001)))
        );
        assert_eq!(
            parse(b"REGISTRAR  Lantern   Names Ltd"),
            Ok(Query::RegistrarByName("Lantern Names Ltd".into()))
        );
        assert_eq!(parse(b"help"), Ok(Query::Help));
        assert_eq!(parse(b"HELP"), Ok(Query::Help));
    }

    #[test]
    fn refusals() {
        assert_eq!(parse(b""), Err(WhoisRefusal::Empty));
        assert_eq!(parse(b"   "), Err(WhoisRefusal::Empty));
        assert_eq!(parse(&[b'a'; 1025]), Err(WhoisRefusal::TooLong));
        assert_eq!(parse(b"\xff\xfe"), Err(WhoisRefusal::Garbage));
        assert_eq!(parse(b"nic\x00.example"), Err(WhoisRefusal::Garbage));
        assert_eq!(parse(b"domain"), Err(WhoisRefusal::Malformed));
        assert_eq!(
            parse(b"domain a.example b.example"),
            Err(WhoisRefusal::Malformed)
        );
        assert_eq!(parse(b"two words"), Err(WhoisRefusal::Malformed));
        assert_eq!(
            parse(b"registrar 99999999999"),
            Err(WhoisRefusal::Malformed)
        );
        assert_eq!(parse(b"-bad-.example"), Err(WhoisRefusal::InvalidName));
        assert_eq!(parse(b"example"), Err(WhoisRefusal::InvalidName));
    }

    proptest::proptest! {
        /// Arbitrary bytes never panic, and whatever parses is normalised and well-formed.
        #[test]
        fn arbitrary_bytes_are_safe(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..1500)) {
            match parse(&bytes) {
                Ok(Query::Domain(n) | Query::Nameserver(n)) => {
                    proptest::prop_assert!(n.ascii().is_ascii());
                    proptest::prop_assert_eq!(n.ascii(), n.ascii().to_ascii_lowercase());
                    proptest::prop_assert!(!n.ascii().ends_with('.'));
                }
                Ok(Query::RegistrarByName(name)) => {
                    proptest::prop_assert!(!name.is_empty() && !name.chars().any(char::is_control));
                }
                Ok(_) => {}
                Err(WhoisRefusal::TooLong) => proptest::prop_assert!(bytes.len() > MAX_QUERY_BYTES),
                Err(_) => {}
            }
        }

        /// Text shaped like real queries: keywords in any case around name-like tokens.
        #[test]
        fn query_shaped_text_is_safe(kw in "(?i)(domain|nameserver|registrar|help|)", arg in "[a-zA-Z0-9.:\\-é ]{0,80}") {
            let line = format!("{kw} {arg}");
            let _ = parse(line.as_bytes());
        }
    }
}
