#!/usr/bin/env bash
# Builds the release binary the way objcache is meant to ship and prints its
# path. On Linux with glibc it is linked statically: a cache hit takes a few
# milliseconds, and loading shared libraries is a large part of that (about
# 0.3 ms of a 1 ms hit; docs/benchmarks.md). It is also not position-
# independent: a static PIE relocates itself at every start, about 3% of a
# header-heavy hit (the cost is an executable without address randomisation
# of its own code, as distributions' non-PIE builds have). When the linker
# is lld (Rust's default on this target), the functions a hit runs are laid
# out together (scripts/hit-path.sh): the first build of a checkout links
# once more for that, about half a minute. The target is named explicitly
# so that these flags apply to objcache only, not to build-time helpers.
set -euo pipefail
cd "$(dirname "$0")/.."
host=$(rustc -vV | sed -n 's/^host: //p')
# Where cargo builds: target/, or CARGO_TARGET_DIR or build.target-dir.
target=$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
case "$host" in
  *-linux-gnu)
    export RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static -C relocation-model=static"
    bin="$target/$host/release/objcache"
    orders="$target/$host/release/hit-path"
    # The ordering file of the last link, if it is still there: linking
    # with the same arguments again is no work for cargo.
    used=$(cat "$orders/used" 2>/dev/null || true)
    [ -n "$used" ] && [ -f "$used" ] || used=
    link() {
        cargo rustc --release --quiet --target "$host" --bin objcache \
            ${1:+-- -C "link-arg=-Wl,--symbol-ordering-file=$1" -C link-arg=-Wl,--no-warn-symbol-ordering} >&2
    }
    # A linker other than lld (configured since) does not take the file.
    link "$used" || { [ -n "$used" ] && link ""; }
    if grep -qa 'Linker: LLD' "$bin" && order=$(bash scripts/hit-path.sh resolve "$bin" "$orders") &&
        [ "$order" != "$used" ]; then
        link "$order"
        echo "$order" >"$orders/used"
    fi
    echo "$bin"
    ;;
  *)
    cargo build --release --quiet >&2
    echo "$target/release/objcache"
    ;;
esac
