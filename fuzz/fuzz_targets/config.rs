//! The config file parser and resolver on arbitrary text: refuses or accepts, never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(file) = rddsd::config::ConfigFile::parse("fuzz.toml", text) {
        let _ = rddsd::config::Settings::resolve(file, rddsd::config::Overrides::default());
    }
});
