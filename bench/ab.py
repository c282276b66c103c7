#!/usr/bin/env python3
"""A/B of objcache builds on the C++ TU hit, with ccache as the yardstick.

    python3 bench/ab.py OBJCACHE_A [OBJCACHE_B ...]

Each binary gets its own fresh cache; after a miss and a warm-up hit, the
tools take turns (the starting tool rotates every round) doing HITS hits of
rocksdb's table/block_based/block.cc with the flags of bench/compare.sh.
Prints the median CPU time (user+sys of the process tree) per hit and its
ratio to ccache's. Made for judging one change to the hit path: on a noisy
machine only an interleaved comparison in one run says anything.

Environment: ROUNDS (default 10), HITS (per round, default 20), ROCKSDB
(the rocksdb source dir; default: librocksdb-sys 0.17.3 in the cargo
registry, which `bash bench/compare.sh` fetches), TU (default
table/block_based/block.cc), FRESH_OUTPUT=1 (remove the output before
each hit).
"""
import glob
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROUNDS = int(os.environ.get("ROUNDS", 10))
HITS = int(os.environ.get("HITS", 20))
TU = os.environ.get("TU", "table/block_based/block.cc")
FRESH = os.environ.get("FRESH_OUTPUT") == "1"


def find_rocksdb():
    if os.environ.get("ROCKSDB"):
        return Path(os.environ["ROCKSDB"])
    home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
    found = sorted(glob.glob(str(home / "registry/src/*/librocksdb-sys-0.17.3*/rocksdb")))
    if not found:
        sys.exit("rocksdb sources not found: run `bash bench/compare.sh` once, or set ROCKSDB")
    return Path(found[-1])


def hit_flags(rocks, tu):
    """The compile of rocksdb's `tu` whose hit is measured, as its build
    system would run it (optimised, with debug information and a .d)."""
    return ["-O2", "-g", "-std=c++17", "-DNDEBUG=1", "-DOS_LINUX",
            "-DROCKSDB_PLATFORM_POSIX", "-DROCKSDB_LIB_IO_POSIX",
            "-DROCKSDB_SUPPORT_THREAD_LOCAL", f"-I{rocks}/include", f"-I{rocks}",
            "-MD", "-c", str(rocks / tu)]


def clean_env():
    """This environment without any cache setting, in the C locale."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CCACHE_", "OBJCACHE_"))}
    env["LC_ALL"] = "C"
    return env


def main():
    binaries = [os.path.abspath(b) for b in sys.argv[1:]]
    if not binaries:
        sys.exit(__doc__)
    ccache = shutil.which("ccache") or sys.exit("ccache is not installed")
    rocks = find_rocksdb()
    work = Path(tempfile.mkdtemp(prefix="objcache-ab."))
    flags = hit_flags(rocks, TU)
    base = clean_env()
    tools = [("ccache", ccache, dict(base, CCACHE_DIR=str(work / "c0"),
                                     CCACHE_INODECACHE="1",
                                     CCACHE_TEMPDIR=str(work / "c0/tmp")))]
    for i, b in enumerate(binaries, 1):
        tools.append((f"{i}: {b}", b, dict(base, CCACHE_DIR=str(work / f"c{i}"),
                                          OBJCACHE_SYSTEM_CONFIG="/nonexistent")))

    def run(k, n):
        _, prog, env = tools[k]
        out = work / f"out{k}.o"
        cmd = [prog, "/usr/bin/g++"] + flags + ["-o", str(out)]
        total = 0.0
        for _ in range(n):
            if FRESH:
                for o in (out, out.with_suffix(".d")):
                    o.unlink(missing_ok=True)
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run(cmd, env=env, check=True, cwd=work)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            total += (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        return total / n * 1000

    try:
        for k in range(len(tools)):
            run(k, 2)  # a miss and a warm-up hit
        results = {k: [] for k in range(len(tools))}
        for rnd in range(ROUNDS):
            order = list(range(len(tools)))
            order = order[rnd % len(order):] + order[:rnd % len(order)]
            for k in order:
                results[k].append(run(k, HITS))
        ref = statistics.median(results[0])
        print(f"{ROUNDS} rounds x {HITS} hits of {TU}"
              f"{' (output removed before each hit)' if FRESH else ''}; "
              "median CPU ms per hit, ratio to ccache")
        for k, (name, _, _) in enumerate(tools):
            m = statistics.median(results[k])
            print(f"  {m:7.3f} ms  {m / ref:5.3f}  {name}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
