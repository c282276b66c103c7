#!/usr/bin/env bash
# Builds the release binary the way objcache is meant to ship and prints its
# path. On Linux with glibc it is linked statically: a cache hit takes a few
# milliseconds, and loading shared libraries is a large part of that (about
# 0.3 ms of a 1 ms hit; docs/benchmarks.md). The target is named explicitly so
# that the static flag applies to objcache only, not to build-time helpers.
set -euo pipefail
cd "$(dirname "$0")/.."
host=$(rustc -vV | sed -n 's/^host: //p')
case "$host" in
  *-linux-gnu)
    RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
      cargo build --release --quiet --target "$host" >&2
    echo "$PWD/target/$host/release/objcache"
    ;;
  *)
    cargo build --release --quiet >&2
    echo "$PWD/target/release/objcache"
    ;;
esac
