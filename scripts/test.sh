#!/usr/bin/env bash
# The whole test suite: installs the compilers and tools the tests drive,
# then runs unit and integration tests against the built binary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
cargo test --all-targets "$@"
