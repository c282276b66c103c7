#!/usr/bin/env bash
# Fuzzes objcache's parsers and decoders with cargo-fuzz (libFuzzer): each
# target in tests/fuzz/fuzz_targets/ for FUZZ_SECONDS seconds (default 20;
# 0 skips the run), starting from the seeds in tests/fuzz/seeds/. Prints
# the executions per target and exits non-zero if any target crashed,
# leaked a secret, allocated absurdly (over 512 MiB at once) or hung (one
# input over 10 s); the input that did it is kept in tests/fuzz/artifacts/.
#
#   bash scripts/fuzz.sh                      # every target, 20 s each
#   FUZZ_SECONDS=600 bash scripts/fuzz.sh     # longer
#   bash scripts/fuzz.sh entry_decode         # one target
#   FUZZ_CORPUS=~/objcache-corpus bash scripts/fuzz.sh   # keep the corpus
#
# The corpus grows in a scratch directory removed at the end, unless
# FUZZ_CORPUS names one to keep between runs. Reproduce a crash with
#   cargo +nightly fuzz run --fuzz-dir tests/fuzz --codegen-units 16 TARGET ARTIFACT
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-20}
if [ "$seconds" = 0 ]; then
    echo "fuzz: FUZZ_SECONDS=0, skipped"
    exit 0
fi
fuzz_dir=tests/fuzz
if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=()
    for f in "$fuzz_dir"/fuzz_targets/*.rs; do
        targets+=("$(basename "$f" .rs)")
    done
fi

# libFuzzer needs nightly compiler flags (sanitizers, coverage passes).
# The nightly toolchain when it is there or can be installed; otherwise
# (a machine that can reach crates.io but no toolchain server) the stable
# one, allowed the same flags by RUSTC_BOOTSTRAP.
if rustup toolchain list | grep -q '^nightly'; then
    toolchain=(+nightly)
elif timeout 300 rustup toolchain install nightly --profile minimal; then
    toolchain=(+nightly)
else
    echo "fuzz: no nightly toolchain to be had: the default one with RUSTC_BOOTSTRAP=1"
    toolchain=()
    export RUSTC_BOOTSTRAP=1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

# The same flags for build and run, or `run` builds again.
flags=(--fuzz-dir "$fuzz_dir" --codegen-units 16)
cargo "${toolchain[@]}" fuzz build "${flags[@]}"

if [ -n "${FUZZ_CORPUS:-}" ]; then
    corpus_root=$FUZZ_CORPUS
    mkdir -p "$corpus_root"
else
    corpus_root=$(mktemp -d)
    trap 'rm -rf "$corpus_root"' EXIT
fi
artifacts=$fuzz_dir/artifacts
logs=$fuzz_dir/logs
mkdir -p "$artifacts" "$logs"

rm -f "$logs"/*.result
# One target: its summary line goes to $logs/$t.result.
fuzz_one() {
    local t=$1 corpus=$corpus_root/$1 log=$logs/$1.log start=$SECONDS result execs
    mkdir -p "$corpus" "$artifacts/$t"
    if [ -d "$fuzz_dir/seeds/$t" ]; then
        cp -n "$fuzz_dir/seeds/$t"/* "$corpus"/ 2>/dev/null || true
    fi
    echo "fuzz: $t for ${seconds}s"
    # A 4 KiB input can decompress to 128 MiB of real data (zstd RLE
    # blocks), so 512 MiB at once is the line for an absurd allocation.
    if cargo "${toolchain[@]}" fuzz run "${flags[@]}" "$t" "$corpus" -- \
        -max_total_time="$seconds" -print_final_stats=1 \
        -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 \
        -artifact_prefix="$artifacts/$t/" >"$log" 2>&1; then
        result=ok
    else
        result=CRASHED
        grep -a -m1 -A8 -E "panicked at|ERROR: libFuzzer|ERROR: AddressSanitizer" "$log" || tail -20 "$log"
        echo "fuzz: $t: the input is in $artifacts/$t/, the log in $log"
    fi
    execs=$(grep -a -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    printf '%-18s %10s executions %4ss  %s\n' "$t" "$execs" $((SECONDS - start)) "$result" >"$logs/$t.result"
}

# As many targets at once as there are cores (each fuzzer is one process),
# so the run takes the time of a few targets, not of all of them.
jobs=$(nproc 2>/dev/null || echo 1)
running=0
for t in "${targets[@]}"; do
    fuzz_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait || true

failed=()
summary=()
for t in "${targets[@]}"; do
    line=$(cat "$logs/$t.result" 2>/dev/null || printf '%-18s did not report  CRASHED' "$t")
    summary+=("$line")
    case "$line" in *CRASHED) failed+=("$t") ;; esac
done

echo "fuzz results (${seconds}s per target):"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: crashed: ${failed[*]}"
    exit 1
fi
