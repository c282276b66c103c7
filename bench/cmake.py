#!/usr/bin/env python3
"""Relocation benchmark on a real CMake project: libgit2 (from the
libgit2-sys crate, fetched by bench/compare.sh), built by its own CMake files
with Ninja and CMAKE_C_COMPILER_LAUNCHER set to the cache. CMake names every
source and -I directory by absolute path, and libgit2's headers expand
__FILE__ (src/util/alloc.h's allocation wrappers; assert is live in Debug),
so a cache that hashes or compiles the absolute paths cannot serve a copy of
the tree in another directory.

For each build type (CMAKE_CONFIGS, default RelWithDebInfo and Debug) the
tree is copied to two roots under one base_dir, A = <base>/a/libgit2 and
B = <base>/b-relocated/libgit2 (CCACHE_BASEDIR=<base>, CCACHE_NOHASHDIR=1):

  1. ccache and objcache each build in A with an empty cache (cold);
  2. plain gcc, ccache and objcache build in B, the caches warm from A:
     hits and misses from --print-stats, and the wall time;
  3. warm rebuilds in B (`ninja clean`, then `ninja` timed), CMAKE_WARM_ROUNDS
     rounds, tools interleaved.

Every tool builds in the same build directory <root>/build (one tool at a
time, each tool's directory moved aside between its builds), so that the
objects can be compared byte for byte: objcache's in B against ccache's and
plain gcc's (reported only; with -g the objects name the working directory,
so a hit from A is expected to differ from plain gcc's in B).

Environment: as bench.py, plus LIBGIT2_SRC (the crate's libgit2/, read only),
CMAKE_CONFIGS, CMAKE_WARM_ROUNDS.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import bench as B  # noqa: E402

LIBGIT2_SRC = Path(os.environ["LIBGIT2_SRC"])
CONFIGS = [c for c in os.environ.get("CMAKE_CONFIGS", "RelWithDebInfo,Debug").split(",") if c]
WARM_ROUNDS = int(os.environ.get("CMAKE_WARM_ROUNDS", 3))
WORK = B.WORK / "cmake"
BASE = WORK / "base"
ROOTS = {"A": BASE / "a" / "libgit2", "B": BASE / "b-relocated" / "libgit2"}
STASH = WORK / "stash"
# Everything that would need the network or a library that may be missing is
# off; zlib, the regex engine and the HTTP parser are libgit2's bundled ones.
CMAKE_OPTIONS = [
    "-DBUILD_TESTS=OFF", "-DBUILD_EXAMPLES=OFF", "-DBUILD_FUZZERS=OFF",
    "-DUSE_SSH=OFF", "-DUSE_HTTPS=OFF", "-DUSE_GSSAPI=OFF", "-DUSE_NTLMCLIENT=OFF",
    "-DUSE_BUNDLED_ZLIB=ON", "-DREGEX_BACKEND=builtin", "-DUSE_HTTP_PARSER=builtin",
    "-DUSE_SHA1=CollisionDetection", "-DUSE_SHA256=Builtin",
]

log = B.log


def launcher(tool):
    return {"plain": [], "ccache": [B.CCACHE], "objcache": [B.OBJCACHE]}[tool]


class Build:
    """One tool's build directory for one build type in one root; it lives
    at <root>/build only while in use."""

    def __init__(self, cfg, tool, root, env, roots=None, stash=None):
        """roots, stash: another benchmark's roots ({name: path}) and stash
        directory (bench/explain.py); this one's by default."""
        self.cfg, self.tool, self.env = cfg, tool, env
        self.root = (roots or ROOTS)[root]
        self.stash = (stash or STASH) / f"{cfg}-{tool}-{root}"
        self.dir = self.root / "build"

    def __enter__(self):
        if self.dir.exists():
            raise SystemExit(f"{self.dir} is in use")
        if self.stash.exists():
            self.stash.rename(self.dir)
        return self

    def __exit__(self, *exc):
        if self.dir.exists():
            self.dir.rename(self.stash)

    def configure(self):
        cmd = ["cmake", "-S", str(self.root), "-B", str(self.dir), "-G", "Ninja",
               f"-DCMAKE_BUILD_TYPE={self.cfg}", f"-DCMAKE_C_COMPILER={B.CC}"]
        if self.tool != "plain":
            cmd.append(f"-DCMAKE_C_COMPILER_LAUNCHER={launcher(self.tool)[0]}")
        return B.timed(cmd + CMAKE_OPTIONS, self.env, self.root)

    def build(self):
        B.zero(self.tool, self.env)
        w, c = B.timed(["ninja", f"-j{B.JOBS}"], self.env, self.dir)
        return w, c, B.hit_summary(B.stats(self.tool, self.env))

    def clean(self):
        B.timed(["ninja", "clean"], self.env, self.dir)

    def compiles(self):
        out = subprocess.run(["ninja", "-t", "commands"], cwd=self.dir, env=self.env,
                             capture_output=True, text=True, check=True).stdout
        return [l for l in out.splitlines() if " -c " in l]


def objects(d):
    return {str(p.relative_to(d)): p.read_bytes() for p in Path(d).rglob("*.o")}


def same(a, b):
    return sum(1 for k, v in a.items() if b.get(k) == v), len(a)


def main():
    log("\n== CMake project relocated: libgit2 "
        f"({LIBGIT2_SRC}), CMake + Ninja -j{B.JOBS}, {', '.join(CONFIGS)}")
    log(f"  base_dir {BASE}; root A {ROOTS['A']}; root B {ROOTS['B']}")
    if WORK.exists():
        shutil.rmtree(WORK)
    for r in ROOTS.values():
        shutil.copytree(LIBGIT2_SRC, r, symlinks=True)
    STASH.mkdir(parents=True)
    caches = WORK / "caches"
    R = {"facts": {"libgit2": str(LIBGIT2_SRC), "base_dir": str(BASE),
                   "roots": {k: str(v) for k, v in ROOTS.items()},
                   "cmake_options": CMAKE_OPTIONS, "warm_rounds": WARM_ROUNDS,
                   "cmake": B.sh("cmake --version | head -1"),
                   "ninja": B.sh("ninja --version")}}
    for ci, cfg in enumerate(CONFIGS):
        env = {"plain": B.tool_env("plain")}
        for t in B.CACHED:
            env[t] = B.tool_env(t, B.fresh_dir(caches / f"{cfg}-{t}"), basedir=BASE)
        res = R[cfg] = {}
        log(f"\n-- {cfg}: cold builds in root A (empty caches)")
        for tool in B.rotate(B.CACHED, ci):
            with Build(cfg, tool, "A", env[tool]) as b:
                b.configure()
                if tool == B.CACHED[0] and ci == 0:
                    cmds = b.compiles()
                    R["facts"]["compiles"] = len(cmds)
                    R["facts"]["example_command"] = next(
                        (c for c in cmds if "util/alloc.c" in c), cmds[0])
                    log(f"  {len(cmds)} compiles, e.g.: {R['facts']['example_command']}")
                w, c, (d, p, m) = b.build()
            res[f"A-{tool}"] = {"wall": w, "cpu": c, "direct": d, "preprocessed": p, "miss": m}
            log(f"  A {tool:8s}: wall {w:7.2f}s cpu {c:7.2f}s  direct {d} preprocessed {p} miss {m}")

        log(f"-- {cfg}: builds in root B (caches warm from A)")
        for tool in B.rotate(B.TOOLS, ci):
            with Build(cfg, tool, "B", env[tool]) as b:
                b.configure()
                w, c, (d, p, m) = b.build()
            n = d + p + m
            res[f"B-{tool}"] = {"wall": w, "cpu": c, "direct": d, "preprocessed": p,
                                "miss": m, "hit_rate": (d + p) / n if n else None}
            log(f"  B {tool:8s}: wall {w:7.2f}s cpu {c:7.2f}s"
                + (f"  direct {d} preprocessed {p} miss {m}" if tool != "plain" else ""))

        # Objects of B's first build, before the warm rebuilds replace them.
        objs = {t: objects(STASH / f"{cfg}-{t}-B") for t in B.TOOLS}
        eq = res["B-objects"] = {
            "objcache=plain": same(objs["objcache"], objs["plain"]),
            "objcache=ccache": same(objs["objcache"], objs["ccache"]),
            "ccache=plain": same(objs["ccache"], objs["plain"])}
        log("  B objects equal: " + ", ".join(f"{k} {a}/{n}" for k, (a, n) in eq.items()))
        del objs

        log(f"-- {cfg}: warm rebuilds in root B (ninja clean; ninja): {WARM_ROUNDS} rounds")
        runs = {t: [] for t in B.CACHED}
        tot = {t: [0, 0, 0] for t in B.CACHED}
        for rnd in range(WARM_ROUNDS):
            for tool in B.rotate(B.CACHED, rnd + ci):
                with Build(cfg, tool, "B", env[tool]) as b:
                    b.clean()
                    w, c, hm = b.build()
                runs[tool].append((w, c))
                for i, x in enumerate(hm):
                    tot[tool][i] += x
                log(f"  round {rnd + 1} {tool:8s}: wall {w:6.2f}s cpu {c:6.2f}s  "
                    f"direct {hm[0]} preprocessed {hm[1]} miss {hm[2]}")
        for t in B.CACHED:
            d, p, m = tot[t]
            res[f"warm-{t}"] = {"wall": B.med([x[0] for x in runs[t]]),
                                "cpu": B.med([x[1] for x in runs[t]]), "runs": runs[t],
                                "direct": d, "preprocessed": p, "miss": m}
        shutil.rmtree(STASH)
        STASH.mkdir()

    report(R)
    out = B.WORK / "results-cmake.json"
    out.write_text(json.dumps(R, indent=1, default=str))
    log(f"\nraw results: {out}")


def report(R):
    log("\n" + "=" * 78)
    log(f"RESULTS: CMake project relocated (libgit2, {R['facts'].get('compiles', '?')} "
        "compiles), build in root A, then root B, same cache")
    log("=" * 78)
    W = 38
    log(f"\n{'measurement':{W}s} {'tool':9s} {'wall s':>8s} {'CPU s':>8s}  "
        f"{'hits d/p/miss':>14s}  hit rate")
    for cfg in CONFIGS:
        x = R[cfg]
        for tool in B.CACHED:
            y = x[f"A-{tool}"]
            log(f"{cfg + ', root A cold build':{W}s} {tool:9s} {y['wall']:8.2f} "
                f"{y['cpu']:8.2f}  {y['direct']:>4d}/{y['preprocessed']}/{y['miss']:<5d}")
        for tool in B.TOOLS:
            y = x[f"B-{tool}"]
            hits = (f"{y['direct']:>4d}/{y['preprocessed']}/{y['miss']:<5d}  "
                    f"{100 * y['hit_rate']:5.1f}%" if tool != "plain" else "")
            log(f"{cfg + ', root B build':{W}s} {tool:9s} {y['wall']:8.2f} "
                f"{y['cpu']:8.2f}  {hits}")
        for tool in B.CACHED:
            y = x[f"warm-{tool}"]
            log(f"{cfg + ', root B warm rebuild':{W}s} {tool:9s} {y['wall']:8.3f} "
                f"{y['cpu']:8.3f}  {y['direct']:>4d}/{y['preprocessed']}/{y['miss']:<5d}")
    log("\nRATIOS objcache / ccache (root B)")
    for cfg in CONFIGS:
        x = R[cfg]
        bo, bc = x["B-objcache"], x["B-ccache"]
        wo, wc = x["warm-objcache"], x["warm-ccache"]
        ratios = R[cfg]["ratios"] = {
            "b_build_wall": bo["wall"] / bc["wall"], "b_build_cpu": bo["cpu"] / bc["cpu"],
            "warm_wall": wo["wall"] / wc["wall"], "warm_cpu": wo["cpu"] / wc["cpu"]}
        log(f"  {cfg:15s} B build wall {ratios['b_build_wall']:.2f} "
            f"(CPU {ratios['b_build_cpu']:.2f}); warm rebuild wall "
            f"{ratios['warm_wall']:.2f} (CPU {ratios['warm_cpu']:.2f}); "
            f"hit rate in B objcache {100 * bo['hit_rate']:.1f}%, "
            f"ccache {100 * bc['hit_rate']:.1f}%")
    log("\nOBJECTS of root B's first build, byte-equal (report only)")
    for cfg in CONFIGS:
        eq = R[cfg]["B-objects"]
        log(f"  {cfg:15s} " + ", ".join(f"{k} {a}/{n}" for k, (a, n) in eq.items()))


if __name__ == "__main__":
    main()
