//! The RDAP router on arbitrary methods, paths and base-URL prefixes: never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let method = parts.next().unwrap_or("GET");
    let path = parts.next().unwrap_or("/");
    let prefix = parts.next().unwrap_or("");
    let _ = rddsd::rdap::router::route(method, path, prefix);
    let _ = rddsd::rdap::router::route("GET", &text, "");
});
