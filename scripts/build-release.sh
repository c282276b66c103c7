#!/usr/bin/env bash
# Builds the release binary the way objcache is meant to ship and prints its
# path. On Linux with glibc it is linked statically: a cache hit takes a few
# milliseconds, and loading shared libraries is a large part of that (about
# 0.3 ms of a 1 ms hit; docs/benchmarks.md). It is also not position-
# independent: a static PIE relocates itself at every start, about 3% of a
# header-heavy hit (the cost is an executable without address randomisation
# of its own code, as distributions' non-PIE builds have). The target is
# named explicitly so that these flags apply to objcache only, not to
# build-time helpers.
set -euo pipefail
cd "$(dirname "$0")/.."
host=$(rustc -vV | sed -n 's/^host: //p')
# Where cargo builds: target/, or CARGO_TARGET_DIR or build.target-dir.
target=$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
case "$host" in
  *-linux-gnu)
    RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static -C relocation-model=static" \
      cargo build --release --quiet --target "$host" >&2
    echo "$target/$host/release/objcache"
    ;;
  *)
    cargo build --release --quiet >&2
    echo "$target/release/objcache"
    ;;
esac
