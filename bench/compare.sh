#!/usr/bin/env bash
# Side-by-side benchmark: plain gcc/g++ vs ccache (inode_cache, direct mode)
# vs objcache, on third-party C and C++ sources fetched from crates.io at run
# time (zstd from zstd-sys, rocksdb from librocksdb-sys); nothing fetched is
# committed.
#
#   bash bench/compare.sh            # full: 5x20 TU hits, 3 cold, 10 warm, 3 relocated
#   QUICK=1 bash bench/compare.sh    # quick: 2x5 TU hits, 1 cold, 2 warm, 1 relocated
#
# TU=path: the C++ translation unit for hit latency, relative to rocksdb/
#   (default table/block_based/block.cc; db/db_impl/db_impl.cc for a 23 MB object)
# REMOTE=0 skips the remote-storage part (warm Redis / HTTP server, empty local cache).
# Counts: HIT_ROUNDS HITS_PER_ROUND COLD_ROUNDS WARM_ROUNDS RELOC_ROUNDS JOBS
# Other:  BENCH_WORK=DIR (scratch dir, default a new /tmp/objcache-bench.*),
#         KEEP=1 (keep the scratch dir), PROFILE=0 (skip strace/perf of one hit)
# Exit status 1 when objcache produced an object or .d that differs from the
# plain compiler's.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_COMMAND="$(env | grep -E '^(TU|QUICK|HIT_ROUNDS|HITS_PER_ROUND|COLD_ROUNDS|WARM_ROUNDS|RELOC_ROUNDS|JOBS|PROFILE)=' | tr '\n' ' ' || true)bash bench/compare.sh"
export BENCH_COMMAND

if [[ "${QUICK:-0}" == 1 ]]; then
  : "${HIT_ROUNDS:=2}" "${HITS_PER_ROUND:=5}" "${COLD_ROUNDS:=1}" "${WARM_ROUNDS:=2}" "${RELOC_ROUNDS:=1}"
else
  : "${HIT_ROUNDS:=5}" "${HITS_PER_ROUND:=20}" "${COLD_ROUNDS:=3}" "${WARM_ROUNDS:=10}" "${RELOC_ROUNDS:=3}"
fi
: "${JOBS:=2}" "${PROFILE:=1}"
export HIT_ROUNDS HITS_PER_ROUND COLD_ROUNDS WARM_ROUNDS RELOC_ROUNDS JOBS PROFILE

need() { command -v "$1" >/dev/null 2>&1; }
missing=()
need ccache || missing+=(ccache)
need make || missing+=(make)
need gcc || missing+=(gcc)
need g++ || missing+=(g++)
need python3 || missing+=(python3)
if [[ "${REMOTE:-1}" != 0 ]]; then
  need redis-server || missing+=(redis-server)
  need nginx || missing+=(nginx)
fi
if ((${#missing[@]})); then
  echo "== installing ${missing[*]}"
  apt-get update -qq && apt-get install -y -qq "${missing[@]}"
fi

# Nothing of the caller's cache configuration may leak into the build of
# objcache or the fetch.
for v in $(env | sed -n 's/^\(CCACHE_[A-Za-z_]*\|OBJCACHE_[A-Za-z_]*\)=.*/\1/p'); do unset "$v"; done

echo "== building objcache (scripts/build-release.sh: release, statically linked on glibc)"
OBJCACHE=$(bash "$REPO/scripts/build-release.sh")
export OBJCACHE
export CCACHE="$(command -v ccache)"
export ZSTD_MK="$REPO/bench/zstd.mk"

if [[ -n "${BENCH_WORK:-}" ]]; then
  mkdir -p "$BENCH_WORK"
else
  BENCH_WORK=$(mktemp -d /tmp/objcache-bench.XXXXXX)
fi
export BENCH_WORK
if [[ "${KEEP:-0}" != 1 ]]; then
  trap 'rm -rf "$BENCH_WORK"' EXIT
fi
echo "== scratch directory $BENCH_WORK"

echo "== fetching third-party sources with cargo (zstd-sys, librocksdb-sys)"
FETCH="$BENCH_WORK/fetch"
mkdir -p "$FETCH/src"
cat >"$FETCH/Cargo.toml" <<'EOF'
[package]
name = "objcache-bench-sources"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
zstd-sys = { version = "=2.1.3", default-features = false }
librocksdb-sys = { version = "=0.17.3", default-features = false }
EOF
echo 'fn main() {}' >"$FETCH/src/main.rs"
(cd "$FETCH" && cargo fetch --quiet)
read -r ZSTD_SRC ROCKSDB_SRC < <(cd "$FETCH" && cargo metadata --format-version 1 --quiet |
  python3 -c '
import json, os, sys
m = json.load(sys.stdin)
d = {p["name"]: os.path.dirname(p["manifest_path"]) for p in m["packages"]}
print(d["zstd-sys"] + "/zstd", d["librocksdb-sys"] + "/rocksdb")')
export ZSTD_SRC ROCKSDB_SRC
echo "   zstd:    $ZSTD_SRC"
echo "   rocksdb: $ROCKSDB_SRC"

python3 "$REPO/bench/bench.py"
if [[ "${REMOTE:-1}" != 0 ]]; then
  echo
  echo "== remote storage (REMOTE=0 skips)"
  python3 "$REPO/bench/remote.py"
fi
