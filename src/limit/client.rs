//! Who the client is: the accounting key of an address, and the real client address behind a
//! trusted load balancer (`X-Forwarded-For` for RDAP, the PROXY protocol v1/v2 for port 43).
//! Pure functions over bytes and addresses, unit-tested without sockets.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// The accounting key: a client network (by default an IPv4 /32 or an IPv6 /64), as one integer.
/// IPv4 networks are stored in their IPv4-mapped IPv6 form, so the two families never collide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NetKey(u128);

impl NetKey {
    /// The network of `ip` with the given prefix lengths. IPv4-mapped IPv6 addresses are folded
    /// to IPv4 first.
    pub fn of(ip: IpAddr, v4_prefix: u8, v6_prefix: u8) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => {
                let bits = u32::from(v4);
                let masked = if v4_prefix == 0 {
                    0
                } else {
                    bits & (u32::MAX << (32 - u32::from(v4_prefix.min(32))))
                };
                Self(u128::from(Ipv4Addr::from(masked).to_ipv6_mapped()))
            }
            IpAddr::V6(v6) => {
                let bits = u128::from(v6);
                let masked = if v6_prefix == 0 {
                    0
                } else {
                    bits & (u128::MAX << (128 - u32::from(v6_prefix.min(128))))
                };
                Self(masked)
            }
        }
    }

    /// The key of a network as [`Self::network`] gives it (the cluster's shared budget stores
    /// keys that way): the inverse of [`Self::network`].
    pub fn from_network(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self(u128::from(v4.to_ipv6_mapped())),
            IpAddr::V6(v6) => Self(u128::from(v6)),
        }
    }

    /// Human-readable form for logs of the limiter itself (the network, never a host).
    pub fn network(self) -> IpAddr {
        let v6 = Ipv6Addr::from(self.0);
        v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)
    }
}

/// Whether `ip` lies in any of `nets` (IPv4-mapped addresses are folded first).
pub fn in_any(nets: &[IpNet], ip: IpAddr) -> bool {
    let ip = ip.to_canonical();
    nets.iter().any(|n| n.contains(&ip))
}

/// The client address for an HTTP request: the peer, unless the peer is a trusted proxy, in
/// which case the right-most `X-Forwarded-For` address that is not itself a trusted proxy.
/// Addresses a client wrote further left are never trusted: any client can forge them.
pub fn from_forwarded_for<'a>(
    peer: IpAddr,
    headers: impl Iterator<Item = &'a [u8]>,
    trusted: &[IpNet],
) -> IpAddr {
    if !in_any(trusted, peer) {
        return peer;
    }
    let mut hops: Vec<IpAddr> = Vec::new();
    for value in headers {
        let Ok(text) = std::str::from_utf8(value) else {
            return peer;
        };
        for part in text.split(',') {
            match part.trim().parse::<IpAddr>() {
                Ok(ip) => hops.push(ip.to_canonical()),
                // A malformed list cannot be trusted from that point on.
                Err(_) => {
                    return hops
                        .iter()
                        .rev()
                        .find(|ip| !in_any(trusted, **ip))
                        .copied()
                        .unwrap_or(peer)
                }
            }
        }
    }
    hops.iter()
        .rev()
        .find(|ip| !in_any(trusted, **ip))
        .copied()
        .unwrap_or(peer)
}

/// The outcome of looking for a PROXY protocol header at the start of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proxy {
    /// More bytes are needed to decide.
    Incomplete,
    /// No PROXY header: the bytes are the request itself.
    Absent,
    /// A header of `len` bytes; `source` is the client (None for `UNKNOWN`/`LOCAL`).
    Header {
        /// The original client address, if the proxy gave one.
        source: Option<IpAddr>,
        /// Header length to skip.
        len: usize,
    },
    /// A header that is malformed.
    Invalid,
}

const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
/// The longest v1 header (spec: 107 bytes including CR LF).
const V1_MAX: usize = 107;

/// Parse a PROXY protocol v1 or v2 header at the start of `buf` (haproxy's proxy-protocol.txt).
pub fn parse_proxy(buf: &[u8]) -> Proxy {
    if buf.is_empty() {
        return Proxy::Incomplete;
    }
    let sig_len = buf.len().min(V2_SIGNATURE.len());
    if buf[..sig_len] == V2_SIGNATURE[..sig_len] && !buf.is_empty() {
        return parse_v2(buf);
    }
    let v1_len = buf.len().min(6);
    if buf[..v1_len] == b"PROXY "[..v1_len] && !buf.is_empty() {
        return parse_v1(buf);
    }
    Proxy::Absent
}

fn parse_v1(buf: &[u8]) -> Proxy {
    let Some(end) = buf.iter().take(V1_MAX).position(|b| *b == b'\n') else {
        return if buf.len() >= V1_MAX {
            Proxy::Invalid
        } else {
            Proxy::Incomplete
        };
    };
    if end == 0 || buf[end - 1] != b'\r' {
        return Proxy::Invalid;
    }
    let Ok(line) = std::str::from_utf8(&buf[..end - 1]) else {
        return Proxy::Invalid;
    };
    let parts: Vec<&str> = line.split(' ').collect();
    match parts.as_slice() {
        ["PROXY", "UNKNOWN", ..] => Proxy::Header {
            source: None,
            len: end + 1,
        },
        ["PROXY", fam @ ("TCP4" | "TCP6"), src, dst, sport, dport] => {
            let (Ok(src), Ok(_dst)) = (src.parse::<IpAddr>(), dst.parse::<IpAddr>()) else {
                return Proxy::Invalid;
            };
            if (*fam == "TCP4") != src.is_ipv4()
                || sport.parse::<u16>().is_err()
                || dport.parse::<u16>().is_err()
            {
                return Proxy::Invalid;
            }
            Proxy::Header {
                source: Some(src),
                len: end + 1,
            }
        }
        _ => Proxy::Invalid,
    }
}

fn parse_v2(buf: &[u8]) -> Proxy {
    if buf.len() < 16 {
        return Proxy::Incomplete;
    }
    let ver_cmd = buf[12];
    if ver_cmd >> 4 != 2 {
        return Proxy::Invalid;
    }
    let len = 16 + usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    if buf.len() < len {
        return Proxy::Incomplete;
    }
    let body = &buf[16..len];
    match (ver_cmd & 0x0f, buf[13] >> 4) {
        // LOCAL: health checks from the proxy itself; keep the peer address.
        (0x0, _) => Proxy::Header { source: None, len },
        (0x1, 0x1) if body.len() >= 12 => {
            let ip = Ipv4Addr::new(body[0], body[1], body[2], body[3]);
            Proxy::Header {
                source: Some(IpAddr::V4(ip)),
                len,
            }
        }
        (0x1, 0x2) if body.len() >= 36 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&body[..16]);
            Proxy::Header {
                source: Some(IpAddr::V6(Ipv6Addr::from(octets))),
                len,
            }
        }
        // PROXY with AF_UNSPEC or AF_UNIX: no usable address.
        (0x1, 0x0 | 0x3) => Proxy::Header { source: None, len },
        _ => Proxy::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn keys_group_by_network() {
        assert_eq!(
            NetKey::of(ip("2001:db8:1:2::1"), 32, 64),
            NetKey::of(ip("2001:db8:1:2:ffff::9"), 32, 64)
        );
        assert_ne!(
            NetKey::of(ip("2001:db8:1:2::1"), 32, 64),
            NetKey::of(ip("2001:db8:1:3::1"), 32, 64)
        );
        assert_ne!(
            NetKey::of(ip("192.0.2.1"), 32, 64),
            NetKey::of(ip("192.0.2.2"), 32, 64)
        );
        assert_eq!(
            NetKey::of(ip("192.0.2.1"), 24, 64),
            NetKey::of(ip("192.0.2.200"), 24, 64)
        );
        assert_eq!(
            NetKey::of(ip("::ffff:192.0.2.1"), 32, 64),
            NetKey::of(ip("192.0.2.1"), 32, 64)
        );
        assert_eq!(
            NetKey::of(ip("192.0.2.1"), 32, 64).network(),
            ip("192.0.2.1")
        );
        assert_eq!(
            NetKey::of(ip("2001:db8::5"), 32, 0),
            NetKey::of(ip("::1"), 32, 0)
        );
    }

    #[test]
    fn forwarded_for_only_from_trusted_peers() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        let xff = |v: &'static str| std::iter::once(v.as_bytes());
        assert_eq!(
            from_forwarded_for(ip("198.51.100.1"), xff("203.0.113.9"), &trusted),
            ip("198.51.100.1")
        );
        assert_eq!(
            from_forwarded_for(ip("10.1.1.1"), xff("203.0.113.9"), &trusted),
            ip("203.0.113.9")
        );
        // A client-forged left part is ignored: the right-most untrusted hop wins.
        assert_eq!(
            from_forwarded_for(
                ip("10.1.1.1"),
                xff("1.2.3.4, 203.0.113.9, 10.2.2.2"),
                &trusted
            ),
            ip("203.0.113.9")
        );
        assert_eq!(
            from_forwarded_for(ip("10.1.1.1"), xff("garbage"), &trusted),
            ip("10.1.1.1")
        );
        assert_eq!(
            from_forwarded_for(ip("10.1.1.1"), std::iter::empty(), &trusted),
            ip("10.1.1.1")
        );
    }

    #[test]
    fn proxy_v1() {
        let h = b"PROXY TCP4 203.0.113.7 192.0.2.1 51000 43\r\nnic.example\r\n";
        assert_eq!(
            parse_proxy(h),
            Proxy::Header {
                source: Some(ip("203.0.113.7")),
                len: 43
            }
        );
        assert_eq!(
            parse_proxy(b"PROXY TCP6 2001:db8::7 2001:db8::1 1 43\r\n"),
            Proxy::Header {
                source: Some(ip("2001:db8::7")),
                len: 41
            }
        );
        assert_eq!(
            parse_proxy(b"PROXY UNKNOWN\r\n"),
            Proxy::Header {
                source: None,
                len: 15
            }
        );
        assert_eq!(parse_proxy(b"PROXY TCP4 203.0.113.7"), Proxy::Incomplete);
        assert_eq!(parse_proxy(b"PRO"), Proxy::Incomplete);
        assert_eq!(parse_proxy(b""), Proxy::Incomplete);
        assert_eq!(
            parse_proxy(b"PROXY TCP4 2001:db8::7 192.0.2.1 1 43\r\n"),
            Proxy::Invalid
        );
        assert_eq!(parse_proxy(b"PROXY TCP4 x y 1 2\r\n"), Proxy::Invalid);
        assert_eq!(parse_proxy(&[b'P'; 200][..]), Proxy::Absent);
        assert_eq!(parse_proxy(b"nic.example\r\n"), Proxy::Absent);
    }

    #[test]
    fn proxy_v2() {
        let mut h = V2_SIGNATURE.to_vec();
        h.extend_from_slice(&[
            0x21, 0x11, 0, 12, 203, 0, 113, 7, 192, 0, 2, 1, 0xc7, 0x38, 0, 43,
        ]);
        h.extend_from_slice(b"nic.example\r\n");
        assert_eq!(
            parse_proxy(&h),
            Proxy::Header {
                source: Some(ip("203.0.113.7")),
                len: 28
            }
        );
        assert_eq!(parse_proxy(&h[..20]), Proxy::Incomplete);
        assert_eq!(parse_proxy(&h[..5]), Proxy::Incomplete);
        let mut local = V2_SIGNATURE.to_vec();
        local.extend_from_slice(&[0x20, 0x00, 0, 0]);
        assert_eq!(
            parse_proxy(&local),
            Proxy::Header {
                source: None,
                len: 16
            }
        );
        let mut bad = V2_SIGNATURE.to_vec();
        bad.extend_from_slice(&[0x31, 0x11, 0, 0]);
        assert_eq!(parse_proxy(&bad), Proxy::Invalid);
    }
}
