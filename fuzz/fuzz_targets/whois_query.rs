//! The port 43 query parser on arbitrary bytes: never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rddsd::whois::parse::parse(data);
});
