#!/usr/bin/env bash
# Run every fuzz target for a bounded time (default 12 s each), starting from the seeds in
# fuzz/seeds/. A crash fails the script and leaves its input in fuzz/artifacts/<target>/.
# cargo fuzz needs nightly features; RUSTC_BOOTSTRAP=1 unlocks them on the stable toolchain.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${1:-12}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(whois_query rdap_route client_headers jsonl_records config)
fi
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  echo "== fuzz $t for ${secs}s"
  cargo fuzz run -O "$t" "corpus/$t" "seeds/$t" -- -max_total_time="$secs" -max_len=4096 -rss_limit_mb=2048 2>&1 | tail -3
done
