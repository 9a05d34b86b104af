//! Records the commit the binary was built from, for `rddsd --version`.
//!
//! Taken from `git` when the source is a checkout, else from `RDDSD_COMMIT` (set it when
//! building from a source tarball), else "unknown". Never fails the build.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=RDDSD_COMMIT");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    let commit = std::env::var("RDDSD_COMMIT").ok().or_else(|| {
        Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    });
    println!(
        "cargo:rustc-env=RDDSD_COMMIT={}",
        commit.as_deref().unwrap_or("unknown")
    );
}
