//! The PROXY protocol v1/v2 parser and the X-Forwarded-For reader on arbitrary bytes: never
//! panic, and a parsed header never claims more bytes than it was given.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rddsd::limit::client::{from_forwarded_for, parse_proxy, Proxy};

fuzz_target!(|data: &[u8]| {
    if let Proxy::Header { len, .. } = parse_proxy(data) {
        assert!(len <= data.len());
    }
    let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
    let peer = std::net::IpAddr::from([10, 0, 0, 1]);
    let _ = from_forwarded_for(peer, data.split(|b| *b == b'\n'), &trusted);
});
