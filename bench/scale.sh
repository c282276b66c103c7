#!/usr/bin/env bash
# Scale benchmark for the cache-size features: a synthetic cache of N entries
# (default 50,000 and 200,000) for objcache and for ccache, then wall time and
# peak RSS of -s, --print-stats, --show-usage, a cleanup removing ~10% and a
# cleanup with nothing to remove. Results go to stdout and $WORK/results.md.
#
#   bench/scale.sh                 # 50000 and 200000 entries
#   bench/scale.sh 200000          # only 200000
#   REPS=9 BENCH_DIR=/var/tmp/x bench/scale.sh
#   SKIP_CCACHE=1 bench/scale.sh
#
# Needs: gcc, python3, /usr/bin/time (apt-get install -y time), optionally
# ccache. All data are warm in the page cache (the generator just wrote them).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${BENCH_DIR:-/tmp/objcache-scale}
REPS=${REPS:-5}
SIZES=${*:-50000 200000}
OBJCACHE=${OBJCACHE:-}
CCACHE=${CCACHE:-$(command -v ccache || true)}
[ -n "${SKIP_CCACHE:-}" ] && CCACHE=

[ -x /usr/bin/time ] || { echo "need /usr/bin/time: apt-get install -y time" >&2; exit 1; }
if [ -z "$OBJCACHE" ]; then
    OBJCACHE=$(bash "$ROOT/scripts/build-release.sh")
fi

mkdir -p "$WORK"
RESULTS=$WORK/results.md
: >"$RESULTS"

row() { echo "$*" | tee -a "$RESULTS"; }

# measure TOOL N LABEL REPS CMD... : median wall ms (min..max), max peak RSS.
measure() {
    local tool=$1 n=$2 label=$3 reps=$4
    shift 4
    local times=() rss=0 t0 t1 r i
    for ((i = 0; i < reps; i++)); do
        t0=$(date +%s%N)
        /usr/bin/time -f '%M' -o "$WORK/time.out" "$@" >"$WORK/cmd.out" 2>&1 || {
            echo "FAILED: $*" >&2
            cat "$WORK/cmd.out" >&2
            exit 1
        }
        t1=$(date +%s%N)
        times+=($(((t1 - t0) / 1000000)))
        r=$(tail -1 "$WORK/time.out")
        ((r > rss)) && rss=$r
    done
    local sorted
    sorted=($(printf '%s\n' "${times[@]}" | sort -n))
    local med=${sorted[$((reps / 2))]} lo=${sorted[0]} hi=${sorted[$((reps - 1))]}
    local spread=""
    ((reps > 1)) && spread=" ($lo..$hi)"
    row "| $tool | $n | $label | $reps | $med$spread | $rss |"
}

# Real compiles of 50 tiny distinct sources (learns the format, and the cache
# holds some real entries next to the synthetic ones).
real_compiles() {
    local wrapper=$1 dir=$WORK/src
    mkdir -p "$dir"
    for i in $(seq 1 50); do
        printf 'int tiny_%d(int x) { return x * %d + %d; }\n' "$i" "$i" "$((i * 7))" >"$dir/t$i.c"
    done
    sleep 0.1
    for i in $(seq 1 50); do
        (cd "$dir" && "$wrapper" gcc -c "t$i.c" -o "t$i.o")
    done
}

stat_of() { # TOOL-BINARY COUNTER
    "$1" --print-stats | awk -v k="$2" '$1 == k { print $2 }'
}

row "| tool | entries | command | runs | wall ms, median (min..max) | peak RSS KB |"
row "|---|---:|---|---:|---|---:|"

for N in $SIZES; do
    # ------------------------------------------------------------ objcache
    export CCACHE_DIR=$WORK/objcache-$N OBJCACHE_SYSTEM_CONFIG=/nonexistent
    rm -rf "$CCACHE_DIR"
    real_compiles "$OBJCACHE"
    real=$(find "$CCACHE_DIR" -name '*[RM]' -path '*/?/?/*' | wc -l)
    python3 "$ROOT/bench/mkcache.py" --dir "$CCACHE_DIR" --count $((N - real)) --layout objcache >&2
    measure objcache "$N" '`-c` (first: counts from disk)' 1 "$OBJCACHE" -c
    files=$(stat_of "$OBJCACHE" files_in_cache)
    kib=$(stat_of "$OBJCACHE" cache_size_kibibyte)
    echo "objcache: $files files, $kib KiB" >&2
    measure objcache "$N" '`-s`' "$REPS" "$OBJCACHE" -s
    measure objcache "$N" '`--print-stats`' "$REPS" "$OBJCACHE" --print-stats
    measure objcache "$N" '`--show-usage`' 3 "$OBJCACHE" --show-usage
    measure objcache "$N" '`--evict-older-than 27d --dry-run`' 3 "$OBJCACHE" --evict-older-than 27d --dry-run
    # Limit just below the current size: eviction goes to 0.9 × limit, ~10%.
    limit=$((kib * 999 / 1000))
    "$OBJCACHE" -M "${limit}Ki" >/dev/null
    measure objcache "$N" "\`-c\` over the limit (evicts ~10%)" 1 "$OBJCACHE" -c
    after=$(stat_of "$OBJCACHE" files_in_cache)
    echo "objcache: 10% cleanup removed $((files - after)) of $files files: $(cat "$WORK/cmd.out")" >&2
    row "|  | $N | (removed $((files - after)) of $files entries) | | | |"
    measure objcache "$N" '`-c`, nothing to remove' 3 "$OBJCACHE" -c
    before=$after
    measure objcache "$N" '`--evict-older-than 24d`' 1 "$OBJCACHE" --evict-older-than 24d
    after=$(stat_of "$OBJCACHE" files_in_cache)
    row "|  | $N | (removed $((before - after)) of $before entries) | | | |"
    unset OBJCACHE_SYSTEM_CONFIG

    # ------------------------------------------------------------ ccache
    if [ -n "$CCACHE" ]; then
        export CCACHE_DIR=$WORK/ccache-$N
        rm -rf "$CCACHE_DIR"
        mkdir -p "$CCACHE_DIR"
        "$CCACHE" -o limit_multiple=0.9 >/dev/null
        real_compiles "$CCACHE"
        real=$(find "$CCACHE_DIR" -name '*[RM]' -path '*/?/?/*' | wc -l)
        python3 "$ROOT/bench/mkcache.py" --dir "$CCACHE_DIR" --count $((N - real)) --layout ccache >&2
        measure ccache "$N" '`-c` (first: counts from disk)' 1 "$CCACHE" -c
        files=$(stat_of "$CCACHE" files_in_cache)
        kib=$(stat_of "$CCACHE" cache_size_kibibyte)
        echo "ccache: $files files, $kib KiB" >&2
        measure ccache "$N" '`-s`' "$REPS" "$CCACHE" -s
        measure ccache "$N" '`--print-stats`' "$REPS" "$CCACHE" --print-stats
        limit=$((kib * 999 / 1000))
        "$CCACHE" -M "${limit}Ki" >/dev/null
        measure ccache "$N" "\`-c\` over the limit (evicts ~10%)" 1 "$CCACHE" -c
        after=$(stat_of "$CCACHE" files_in_cache)
        echo "ccache: 10% cleanup removed $((files - after)) of $files files" >&2
        row "|  | $N | (removed $((files - after)) of $files entries) | | | |"
        measure ccache "$N" '`-c`, nothing to remove' 3 "$CCACHE" -c
        before=$after
        measure ccache "$N" '`--evict-older-than 24d`' 1 "$CCACHE" --evict-older-than 24d
        after=$(stat_of "$CCACHE" files_in_cache)
        row "|  | $N | (removed $((before - after)) of $before entries) | | | |"
    fi
done
echo "results: $RESULTS" >&2
