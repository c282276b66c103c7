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
# once more for that, about half a minute; with another linker (GNU ld,
# gold) or a stripped binary (profile.release.strip: no names to resolve)
# it is linked in the compiler's order. The target is named explicitly
# so that these flags apply to objcache only, not to build-time helpers.
#
# Runs from any directory; two at once in one target directory take turns
# (flock), so that neither prints a binary the other is relinking.
set -euo pipefail
# A relative CARGO_TARGET_DIR names a directory where the script is run,
# as for cargo, not in the checkout the script moves to.
case ${CARGO_TARGET_DIR:-/} in
  /*) ;;
  *) export CARGO_TARGET_DIR="$PWD/$CARGO_TARGET_DIR" ;;
esac
# Quiet: with CDPATH set, cd would print the directory before the path.
cd -- "$(dirname -- "$0")/.." >/dev/null
host=$(rustc -vV | sed -n 's/^host: //p')
# Where cargo builds: target/, or CARGO_TARGET_DIR or build.target-dir
# (a JSON string: a quote or backslash in it comes escaped).
target=$(cargo metadata --format-version 1 --no-deps |
    sed -nE 's/.*"target_directory":"(([^"\\]|\\.)*)".*/\1/p' | sed -E 's/\\(.)/\1/g')
case "$host" in
  *-linux-gnu)
    export RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static -C relocation-model=static"
    bin="$target/$host/release/objcache"
    orders="$target/$host/release/hit-path"
    mkdir -p "$orders"
    if command -v flock >/dev/null; then
        exec 9>>"$orders/lock"
        flock 9 || true # a file system without locks: one at a time is up to the user
    fi
    # The ordering file of the last link, if it is still there: linking
    # with the same arguments again is no work for cargo.
    used=$(cat "$orders/used" 2>/dev/null || true)
    [ -n "$used" ] && [ -f "$used" ] || used=
    # -Xlinker passes the path whole: -Wl, would split it at its commas.
    link() {
        local args=()
        [ -z "$1" ] || args=(-- -C link-arg=-Xlinker -C "link-arg=--symbol-ordering-file=$1"
            -C link-arg=-Xlinker -C link-arg=--no-warn-symbol-ordering)
        cargo rustc --release --quiet --target "$host" --bin objcache "${args[@]}" >&2
    }
    # A linker other than lld (configured since) does not take the file:
    # forgotten, so that the next run does not try it again.
    if ! link "$used"; then
        [ -n "$used" ] || exit 1
        rm -f "$orders/used"
        echo "build-release: the link with $used failed (a linker other than lld?): linking without it" >&2
        link ""
    fi
    if grep -qa 'Linker: LLD' "$bin" && order=$(bash scripts/hit-path.sh resolve "$bin" "$orders") &&
        [ "$order" != "$used" ]; then
        link "$order"
        echo "$order" >"$orders/used.new"
        mv "$orders/used.new" "$orders/used"
    fi
    # Only the file of the last link is kept: others are earlier lists'.
    used=$(cat "$orders/used" 2>/dev/null || true)
    for f in "$orders"/*.order; do
        [ "$f" = "$used" ] || rm -f -- "$f"
    done
    echo "$bin"
    ;;
  *)
    cargo build --release --quiet >&2
    echo "$target/release/objcache"
    ;;
esac
