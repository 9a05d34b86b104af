#!/usr/bin/env bash
# Build the Debian package: the release binary, the systemd unit, the default config under
# /etc/rddsd/, the default policy, the schemas, the man page and shell completions (both
# generated from the CLI definition). Installs cargo-deb if missing.
# Output: target/debian/rddsd_<version>-1_<arch>.deb
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-deb >/dev/null 2>&1 || cargo install cargo-deb --locked
cargo build --release
mkdir -p target/pkg
./target/release/rddsd man | gzip -9n > target/pkg/rddsd.1.gz
./target/release/rddsd completions bash > target/pkg/rddsd.bash
./target/release/rddsd completions zsh > target/pkg/_rddsd
./target/release/rddsd completions fish > target/pkg/rddsd.fish
cargo deb --no-build
ls target/debian/*.deb
