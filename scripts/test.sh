#!/usr/bin/env bash
# The whole test suite: installs the compilers and tools the tests drive,
# checks formatting and lints (the same gates a commit must pass), runs unit
# and integration tests against the built binary, then a short fuzzing run
# of every parser and decoder (scripts/fuzz.sh, 12 s per target here so
# that CI stays within its 15 minutes; set FUZZ_SECONDS to fuzz longer, or
# 0 to skip it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
for component in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
        rustup component add "$component"
    fi
done
cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo test --all-targets "$@"
FUZZ_SECONDS=${FUZZ_SECONDS:-12} bash scripts/fuzz.sh
