//! The JSON Lines loader on arbitrary text: refuses or accepts, never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = rddsd::registry::load::load_texts(&[("fuzz.jsonl", text)]);
});
