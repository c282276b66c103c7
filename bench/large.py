#!/usr/bin/env python3
"""Large-object hits (issue 26): hit CPU and disk cost per way of storing the
object, against a floor and ccache.

    python3 bench/large.py OBJCACHE [OBJCACHE_NEW]

One rocksdb TU (TU=, default table/block_based/block.cc, a 2 MB object;
db/db_impl/db_impl.cc makes 23 MB) with the flags of bench/ab.py. Each
variant gets its own fresh cache, a miss and a warm-up hit; then the
variants take turns (the starting one rotates every round) doing HITS hits.
Prints the median CPU time (user+sys of the process tree) per hit, its ratio
to ccache's and to objcache's default, and the cache's disk use after the
miss: apparent bytes and allocated blocks of the files in its buckets (the
entries, `du --apparent-size` and `du`).

Variants: ccache 4.x with inode_cache; OBJCACHE with its default
configuration, with compression_level -1 and -5, with compression = false
(the object stored uncompressed in the entry, read, BLAKE3-checked and
written in one pass), with file_clone (the object a raw `<key>W` file,
checked and copied where the file system cannot clone) and hard_link;
OBJCACHE_NEW with its default; and the floor: bench/hit_floor.rs, a
program that only reads the object, checks its BLAKE3 digest and writes it
(`cargo build --release --example hit_floor`).

Environment: ROUNDS (default 7), HITS (per round, default 10), ROCKSDB, TU,
ONLY (comma-separated variant names to run).
"""
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from ab import clean_env, find_rocksdb, hit_flags  # noqa: E402

ROUNDS = int(os.environ.get("ROUNDS", 7))
HITS = int(os.environ.get("HITS", 10))
TU = os.environ.get("TU", "table/block_based/block.cc")
ROOT = Path(__file__).resolve().parent.parent


def disk_use(cache):
    """Apparent bytes and allocated bytes of the files in the buckets."""
    apparent = blocks = 0
    for top in Path(cache).iterdir():
        if not (top.is_dir() and len(top.name) == 1):
            continue
        for path in top.rglob("*"):
            if path.is_file() and not path.is_symlink():
                st = path.lstat()
                apparent += st.st_size
                blocks += st.st_blocks * 512
    return apparent, blocks


def main():
    binaries = [os.path.abspath(b) for b in sys.argv[1:]]
    if not binaries:
        sys.exit(__doc__)
    ccache = shutil.which("ccache") or sys.exit("ccache is not installed")
    floor_bin = ROOT / "target/release/examples/hit_floor"
    if not floor_bin.exists():
        sys.exit(f"{floor_bin} missing: cargo build --release --example hit_floor")
    rocks = find_rocksdb()
    work = Path(tempfile.mkdtemp(prefix="objcache-large."))
    flags = hit_flags(rocks, TU)
    base = clean_env()
    variants = [("ccache", ccache, {"CCACHE_INODECACHE": "1",
                                    "CCACHE_TEMPDIR": str(work / "ccache/tmp")})]
    objcache = [("default", {}), ("level -1", {"CCACHE_COMPRESSLEVEL": "-1"}),
                ("level -5", {"CCACHE_COMPRESSLEVEL": "-5"}),
                ("uncompressed", {"CCACHE_NOCOMPRESS": "1"}),
                ("file_clone", {"CCACHE_FILECLONE": "1"}),
                ("hard_link", {"CCACHE_HARDLINK": "1"})]
    for name, env in objcache:
        variants.append((name, binaries[0], dict(env, OBJCACHE_SYSTEM_CONFIG="/nonexistent")))
    if len(binaries) > 1:
        variants.append(("new default", binaries[1],
                         {"OBJCACHE_SYSTEM_CONFIG": "/nonexistent"}))
    only = os.environ.get("ONLY")
    if only:
        keep = set(only.split(",")) | {"ccache", "default"}
        variants = [v for v in variants if v[0] in keep]
    tools = []
    for i, (name, prog, env) in enumerate(variants):
        cache = work / f"c{i}"
        tools.append((name, prog, dict(base, CCACHE_DIR=str(cache), **env), cache))

    def timed(cmd, env):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(cmd, env=env, check=True, cwd=work)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)

    def run(k, n):
        _, prog, env, _ = tools[k]
        cmd = [prog, "/usr/bin/g++"] + flags + ["-o", str(work / f"out{k}.o")]
        return sum(timed(cmd, env) for _ in range(n)) / n * 1000

    try:
        for k in range(len(tools)):
            run(k, 2)  # a miss and a warm-up hit
        reference = (work / "out1.o").read_bytes()
        for k in range(len(tools)):
            if (work / f"out{k}.o").read_bytes() != reference:
                sys.exit(f"{tools[k][0]}: the hit's object differs")
        floor_dir = work / "floor"
        floor_dir.mkdir()
        shutil.copy(work / "out1.o", floor_dir / "cached.o")
        digest = subprocess.run([floor_bin, "--digest", floor_dir / "cached.o"],
                                capture_output=True, text=True, check=True).stdout.strip()
        floor_cmd = [floor_bin, floor_dir / "cached.o", floor_dir / "out.o", digest]
        timings = {k: [] for k in range(len(tools) + 1)}
        for rnd in range(ROUNDS):
            order = list(range(len(tools) + 1))
            order = order[rnd % len(order):] + order[:rnd % len(order)]
            for k in order:
                if k == len(tools):
                    t = sum(timed(floor_cmd, base) for _ in range(HITS)) / HITS * 1000
                else:
                    t = run(k, HITS)
                timings[k].append(t)
        ccache_ms = statistics.median(timings[0])
        default_ms = statistics.median(timings[1])
        print(f"{TU}: object {len(reference):,} bytes; {ROUNDS} rounds x {HITS} hits, "
              "median CPU ms per hit (user+sys), disk bytes of the cache's entries")
        print("| variant | hit CPU ms | / ccache | / objcache default | disk (apparent) | disk (blocks) |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        rows = [(name, statistics.median(timings[k]), disk_use(cache))
                for k, (name, _, _, cache) in enumerate(tools)]
        floor_size = len(reference)
        floor_blocks = (floor_dir / "cached.o").stat().st_blocks * 512
        rows.append(("floor (read, BLAKE3, write)", statistics.median(timings[len(tools)]),
                     (floor_size, floor_blocks)))
        for name, ms, (apparent, blocks) in rows:
            print(f"| {name} | {ms:.2f} | {ms / ccache_ms:.3f} | {ms / default_ms:.3f} "
                  f"| {apparent:,} | {blocks:,} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
