#!/usr/bin/env bash
# The whole test suite: installs the compilers and tools the tests drive,
# then runs unit and integration tests against the built binary, then a
# short fuzzing run of every parser and decoder (scripts/fuzz.sh; set
# FUZZ_SECONDS to fuzz longer, or 0 to skip it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
cargo test --all-targets "$@"
bash scripts/fuzz.sh
