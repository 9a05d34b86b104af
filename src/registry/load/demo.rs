//! The demo registry compiled into the binary, so `rddsd serve` works anywhere.

use super::{LoadErrors, Loader, Snapshot};

/// The demo registry compiled into the binary, so `rddsd serve` works anywhere.
pub const DEMO_REGISTRY: &[(&str, &str)] = &[
    (
        "fixtures/registry/registry.jsonl",
        include_str!("../../../fixtures/registry/registry.jsonl"),
    ),
    (
        "fixtures/registry/registrars.jsonl",
        include_str!("../../../fixtures/registry/registrars.jsonl"),
    ),
    (
        "fixtures/registry/contacts.jsonl",
        include_str!("../../../fixtures/registry/contacts.jsonl"),
    ),
    (
        "fixtures/registry/hosts.jsonl",
        include_str!("../../../fixtures/registry/hosts.jsonl"),
    ),
    (
        "fixtures/registry/domains.jsonl",
        include_str!("../../../fixtures/registry/domains.jsonl"),
    ),
];

/// Load the embedded demo registry.
///
/// # Errors
/// Only if the shipped fixtures are broken, which the test suite rules out.
pub fn load_demo() -> Result<Snapshot, LoadErrors> {
    let mut loader = Loader::full_load(None, super::LoadOptions::STRICT);
    for (file, text) in DEMO_REGISTRY {
        loader.add_reader(file, text.as_bytes());
    }
    loader.finish()
}
