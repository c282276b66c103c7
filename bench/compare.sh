#!/usr/bin/env bash
# Side-by-side benchmark: plain gcc/g++ vs ccache (inode_cache, direct mode)
# vs objcache, on third-party C and C++ sources fetched from crates.io at run
# time (zstd from zstd-sys, rocksdb from librocksdb-sys, libgit2 from
# libgit2-sys); nothing fetched is committed. Sources and -I directories are
# named by absolute path with CCACHE_BASEDIR set, as CMake and CI do; the TU
# hits and the relocated rebuild keep the earlier relative-source form as a
# second row.
#
#   bash bench/compare.sh            # full: 5x20 TU hits, 3 cold, 10 warm, 3 relocated, 5 CMake warm
#   QUICK=1 bash bench/compare.sh    # quick: 2x5 TU hits, 1 cold, 2 warm, 1 relocated, 2 CMake warm
#   PARTS=pchcov bash bench/compare.sh  # PCH and coverage warm rebuilds only (3 rounds; QUICK=1: 1)
#   PARTS=explain bash bench/compare.sh # miss explanations in three CI set-ups only
#   PARTS=ci bash bench/compare.sh      # the CI case against the warm rebuild (issue 26)
#
# PARTS=main,remote,cmake (the default; any comma-separated subset):
#   main    bench/bench.py: C++ TU hits, zstd cold, warm and relocated builds
#   remote  bench/remote.py: warm Redis / HTTP server, empty local cache
#           (REMOTE=0 also leaves it out)
#   cmake   bench/cmake.py: libgit2 built by its CMake files with Ninja in
#           root A, then in root B under the same base_dir with the same
#           cache (PARTS=cmake runs only this)
#   pchcov  bench/pchcov.py: libgit2 with precompiled headers added by a
#           wrapper CMakeLists.txt, and with --coverage: cold build, then
#           warm rebuilds (ninja -t clean; ninja), plain gcc too
#           (not in the default set; PARTS=pchcov runs only this)
#   fleet   bench/fleet.py: 8 and 32 builders at once, each its own
#           checkout and empty local cache, one warm Redis / HTTP server
#           (FLEET_SIZES, FLEET_ROUNDS, FLEET_JOBS, FLEET_BACKENDS; s3 with
#           MOTO_SERVER=path of moto_server) (not in the default set)
#   explain bench/explain.py: libgit2 Debug built in checkout A, then in a
#           copy B, without base_dir, with base_dir and hash_dir, with
#           base_dir and CCACHE_NOHASHDIR=1 (fresh caches): B's hits and
#           misses, objcache's miss_reason_* counters, --check-hit-rate 90
#           and --explain (not in the default set; PARTS=explain)
#   ci      bench/ci.py: the CI case, the first build in a fresh copy at a
#           new path (cp -r, fresh stamps) with the cache restored from a
#           tar, against the warm rebuild in place; zstd + Lua (69 C files,
#           bench/ci.mk, make -j2) and libgit2 (CMake + Ninja,
#           bench/ci_cmake.py); a no-op compiler (bench/noop_cc.c) measures
#           the build system's own time, subtracted from each cache's;
#           strace/perf of objcache's hits (bench/ci_prof.py); prints a
#           markdown table (not in the default set; PARTS=ci)
# TU=path: the C++ translation unit for hit latency, relative to rocksdb/
#   (default table/block_based/block.cc; db/db_impl/db_impl.cc for a 23 MB object)
# Counts: HIT_ROUNDS HITS_PER_ROUND COLD_ROUNDS WARM_ROUNDS RELOC_ROUNDS JOBS
#         CMAKE_WARM_ROUNDS; CMAKE_CONFIGS=RelWithDebInfo,Debug (build types)
#         PCHCOV_WARM_ROUNDS (default 3); PCHCOV_CONFIG=RelWithDebInfo
#         CI_WARM_ROUNDS CI_ROUNDS (default 11; QUICK=1: 3) CI_CMAKE_ROUNDS
#         (5; QUICK=1: 2) CI_CMAKE_CONFIG (RelWithDebInfo; QUICK=1: Debug)
# Other:  BENCH_WORK=DIR (scratch dir, default a new /tmp/objcache-bench.*),
#         KEEP=1 (keep the scratch dir), PROFILE=0 (skip strace/perf of one hit)
# Exit status 1 when objcache produced an object or .d that differs from the
# plain compiler's (main part), or when objcache's warm PCH or coverage build
# fails its checks (pchcov part), or when an objcache miss explanation is
# not the expected one (explain part), or when a CI-case object differs
# from the plain build's or a CI-case compile misses (ci part); the other
# parts still run first.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_COMMAND="$(env | grep -E '^(TU|QUICK|HIT_ROUNDS|HITS_PER_ROUND|COLD_ROUNDS|WARM_ROUNDS|RELOC_ROUNDS|JOBS|PROFILE|PARTS|REMOTE|CMAKE_CONFIGS|CMAKE_WARM_ROUNDS|PCHCOV_WARM_ROUNDS|PCHCOV_CONFIG|CI_WARM_ROUNDS|CI_ROUNDS|CI_CMAKE_ROUNDS|CI_CMAKE_CONFIG|FLEET_SIZES|FLEET_ROUNDS|FLEET_JOBS|FLEET_BACKENDS)=' | tr '\n' ' ' || true)bash bench/compare.sh"
export BENCH_COMMAND

if [[ "${QUICK:-0}" == 1 ]]; then
  : "${HIT_ROUNDS:=2}" "${HITS_PER_ROUND:=5}" "${COLD_ROUNDS:=1}" "${WARM_ROUNDS:=2}" "${RELOC_ROUNDS:=1}"
  : "${CMAKE_WARM_ROUNDS:=2}" "${PCHCOV_WARM_ROUNDS:=1}"
else
  : "${HIT_ROUNDS:=5}" "${HITS_PER_ROUND:=20}" "${COLD_ROUNDS:=3}" "${WARM_ROUNDS:=10}" "${RELOC_ROUNDS:=3}"
  : "${CMAKE_WARM_ROUNDS:=5}" "${PCHCOV_WARM_ROUNDS:=3}"
fi
: "${JOBS:=2}" "${PROFILE:=1}" "${CMAKE_CONFIGS:=RelWithDebInfo,Debug}"
export HIT_ROUNDS HITS_PER_ROUND COLD_ROUNDS WARM_ROUNDS RELOC_ROUNDS JOBS PROFILE
export CMAKE_CONFIGS CMAKE_WARM_ROUNDS PCHCOV_WARM_ROUNDS

: "${PARTS:=main,remote,cmake}"
for p in ${PARTS//,/ }; do
  case "$p" in
    main | remote | cmake | pchcov | explain | fleet | ci) ;;
    *) echo "PARTS: unknown part '$p' (main, remote, cmake, pchcov, explain, fleet, ci)" >&2; exit 2 ;;
  esac
done
part() {
  [[ ",$PARTS," == *",$1,"* ]] || return 1
  [[ "$1" != remote || "${REMOTE:-1}" != 0 ]]
}

need() { command -v "$1" >/dev/null 2>&1; }
missing=()
need ccache || missing+=(ccache)
need gcc || missing+=(gcc)
need python3 || missing+=(python3)
if part main || part remote || part fleet || part ci; then
  need make || missing+=(make)
  need g++ || missing+=(g++)
fi
if part remote || part fleet; then
  need redis-server || missing+=(redis-server)
  need nginx || missing+=(nginx)
fi
if part cmake || part pchcov || part explain || part ci; then
  need cmake || missing+=(cmake)
  need ninja || missing+=(ninja-build)
fi
if part ci; then
  need tar || missing+=(tar)
  need strace || missing+=(strace)
fi
if part pchcov; then
  need gcov || missing+=(gcc)
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

crates=()
if part main || part remote || part fleet || part ci; then
  crates+=('zstd-sys = { version = "=2.1.3", default-features = false }')
fi
if part main || part remote || part fleet; then
  crates+=('librocksdb-sys = { version = "=0.17.3", default-features = false }')
fi
if part ci; then
  # Lua 5.4.9 (the crate also holds 5.1 to 5.5).
  crates+=('lua-src = "=551.1.0"')
fi
if part cmake || part pchcov || part explain || part ci; then
  # libgit2 1.9.7 with its complete CMake build (CMakeLists.txt, cmake/, deps/).
  crates+=('libgit2-sys = { version = "=0.18.8", default-features = false }')
fi
echo "== fetching third-party sources with cargo (${crates[*]%% =*})"
FETCH="$BENCH_WORK/fetch"
mkdir -p "$FETCH/src"
{
  printf '[package]\nname = "objcache-bench-sources"\nversion = "0.0.0"\n'
  printf 'edition = "2021"\npublish = false\n\n[dependencies]\n'
  printf '%s\n' "${crates[@]}"
} >"$FETCH/Cargo.toml"
echo 'fn main() {}' >"$FETCH/src/main.rs"
(cd "$FETCH" && cargo fetch --quiet)
srcs=$(cd "$FETCH" && cargo metadata --format-version 1 --quiet | python3 -c '
import json, os, shlex, sys
m = json.load(sys.stdin)
d = {p["name"]: os.path.dirname(p["manifest_path"]) for p in m["packages"]}
for var, (crate, sub) in {"ZSTD_SRC": ("zstd-sys", "zstd"),
                          "ROCKSDB_SRC": ("librocksdb-sys", "rocksdb"),
                          "LIBGIT2_SRC": ("libgit2-sys", "libgit2"),
                          "LUA_SRC": ("lua-src", "lua-5.4.9")}.items():
    if crate in d:
        print(f"export {var}={shlex.quote(os.path.join(d[crate], sub))}")')
eval "$srcs"
for v in ZSTD_SRC ROCKSDB_SRC LIBGIT2_SRC LUA_SRC; do
  if [[ -n "${!v:-}" ]]; then echo "   $v: ${!v}"; fi
done

status=0
if part main; then
  python3 "$REPO/bench/bench.py" || status=$?
fi
if part remote; then
  echo
  echo "== remote storage (REMOTE=0 skips)"
  python3 "$REPO/bench/remote.py" || status=$?
fi
if part cmake; then
  echo
  echo "== CMake project relocated (PARTS=cmake runs only this)"
  python3 "$REPO/bench/cmake.py" || status=$?
fi
if part pchcov; then
  echo
  echo "== precompiled headers and coverage, warm rebuilds (PARTS=pchcov runs only this)"
  python3 "$REPO/bench/pchcov.py" || status=$?
fi
if part fleet; then
  echo
  echo "== a fleet of builders sharing one remote (PARTS=fleet runs only this)"
  python3 "$REPO/bench/fleet.py" || status=$?
fi
if part ci; then
  echo
  echo "== the CI case: a fresh copy with a restored cache (PARTS=ci runs only this)"
  python3 "$REPO/bench/ci.py" || status=$?
fi
if part explain; then
  echo
  echo "== miss explanations in three CI set-ups (PARTS=explain runs only this)"
  python3 "$REPO/bench/explain.py" || status=$?
fi
exit "$status"
