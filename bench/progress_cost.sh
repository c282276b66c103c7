#!/usr/bin/env bash
# What the progress bar costs a large cleanup: `objcache -c` over the limit
# (evicting about 10%) of an N-entry cache, once with stderr on a terminal
# (the bar drawn) and once with stderr to /dev/null (no bar), both under
# `script` so that stdout is the same pseudo-terminal in either case. Each
# round cleans two fresh copies of one cache (hard links for the entries,
# real copies of the stats files a cleanup rewrites), in alternating order.
#
#   bash bench/progress_cost.sh                 # N=200000, 5 rounds
#   N=50000 ROUNDS=3 bash bench/progress_cost.sh
#
# Needs the release build (cargo build --release) and python3 and script(1).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OBJCACHE=${OBJCACHE:-$ROOT/target/release/objcache}
N=${N:-200000}
ROUNDS=${ROUNDS:-5}
WORK=${BENCH_DIR:-$(mktemp -d /tmp/objcache-progress.XXXXXX)}
trap 'rm -rf "$WORK"' EXIT
export OBJCACHE_SYSTEM_CONFIG=/nonexistent
# indicatif draws nothing on a dumb terminal.
export TERM=xterm

base=$WORK/base
export CCACHE_DIR=$base
mkdir -p "$WORK/src"
printf 'int tiny(int x) { return x * 3; }\n' >"$WORK/src/t.c"
(cd "$WORK/src" && "$OBJCACHE" gcc -c t.c -o t.o)
python3 "$ROOT/bench/mkcache.py" --dir "$base" --count "$N" --layout objcache >&2
"$OBJCACHE" -c >/dev/null
kib=$("$OBJCACHE" --print-stats | awk '$1 == "cache_size_kibibyte" { print $2 }')
"$OBJCACHE" -M "$((kib * 999 / 1000))Ki" >/dev/null

fresh_copy() { # DEST
    rm -rf "$1"
    cp -al "$base" "$1"
    rm -rf "$1/objcache-stats" "$1/ccache.conf"
    cp -a "$base/objcache-stats" "$base/ccache.conf" "$1/"
}

run_one() { # MODE DIR -> prints ms
    local mode=$1 dir=$2 cmd t0 t1
    case "$mode" in
        bar) cmd="CCACHE_DIR=$dir $OBJCACHE -c" ;;
        nobar) cmd="CCACHE_DIR=$dir $OBJCACHE -c 2>/dev/null" ;;
    esac
    sync
    t0=$(date +%s%N)
    script -qefc "$cmd" "$WORK/typescript.$mode" >/dev/null
    t1=$(date +%s%N)
    if [ "$mode" = bar ] && ! grep -q 'objcache -c:' "$WORK/typescript.$mode"; then
        # indicatif draws at most 20 times a second: a cleanup that ends
        # within its first interval draws nothing.
        echo "note: no bar was drawn (the cleanup took $(((t1 - t0) / 1000000)) ms)" >&2
    fi
    echo $(((t1 - t0) / 1000000))
}

bar=() nobar=()
for ((r = 0; r < ROUNDS; r++)); do
    fresh_copy "$WORK/a"
    fresh_copy "$WORK/b"
    if ((r % 2 == 0)); then order="bar nobar"; else order="nobar bar"; fi
    for mode in $order; do
        dir=$WORK/a
        [ "$mode" = nobar ] && dir=$WORK/b
        ms=$(run_one "$mode" "$dir")
        if [ "$mode" = bar ]; then bar+=("$ms"); else nobar+=("$ms"); fi
        echo "round $r $mode: $ms ms" >&2
    done
done
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
mb=$(median "${bar[@]}")
mn=$(median "${nobar[@]}")
echo "| entries | rounds | \`-c\` with the bar, ms (median) | without, ms (median) | ratio |"
echo "|---:|---:|---:|---:|---:|"
echo "| $N | $ROUNDS | $mb (${bar[*]}) | $mn (${nobar[*]}) | $(awk -v a="$mb" -v b="$mn" 'BEGIN { printf "%.2f", a / b }') |"
