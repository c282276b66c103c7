#!/usr/bin/env python3
"""Warm rebuilds of a real CMake project with precompiled headers and with
--coverage: libgit2 (from the libgit2-sys crate, fetched by bench/compare.sh)
built by its own CMake files with Ninja and CMAKE_C_COMPILER_LAUNCHER set to
the cache (none for plain gcc).

Two builds, each RelWithDebInfo (PCHCOV_CONFIG):

  pch       libgit2 does not use precompiled headers, so they are added the
            way a user would without editing it: a wrapper CMakeLists.txt
            (written here, beside the copy of libgit2) that does
            add_subdirectory(libgit2) and then target_precompile_headers on
            libgit2's own targets util, libgit2 and git2_cli (common C
            library headers). CMake then builds one cmake_pch.h.gch per
            target and compiles every source of the target with
            -include .../cmake_pch.h. The bundled dependencies (zlib, pcre2,
            xdiff, llhttp) are left alone: zlib defines _LARGEFILE64_SOURCE
            before its system includes, which a PCH of <stdio.h> would break.
            ccache gets CCACHE_SLOPPINESS=pch_defines,time_macros, which its
            manual requires for PCH builds; objcache runs without sloppiness.
  coverage  the same libgit2 configured directly, -DCMAKE_C_FLAGS=--coverage
            (compiles and links), no PCH, no sloppiness for either cache.

Both caches run with CCACHE_BASEDIR=<scratch>/pchcov/base and
CCACHE_NOHASHDIR=1, as in bench/cmake.py; each build and cache has its own
empty cache directory. Every tool builds in the same build directory (one at
a time; each tool's directory is moved aside between its builds), so the
paths the objects name are the same for every tool.

For each build: a cold build per tool (configure, ninja; empty cache), then
PCHCOV_WARM_ROUNDS rounds (default 3) of `ninja -t clean` followed by a timed
`ninja`, tools interleaved (plain, ccache, objcache, then rotated). Before
each warm coverage build the .gcno and .gcda files are removed too (outside
the timed command; ninja does not list them as outputs, so `ninja -t clean`
leaves them): the .gcno files that exist afterwards were written by that
build. Hits and misses come from --print-stats deltas around each build.

Checks after the last warm round, per tool: libgit2.so and the git2 CLI are
linked and `git2 --version` runs; pch: the three cmake_pch.h.gch exist, the
compiles name them with -include, and gcc run by hand with -H on
src/util/alloc.c's command reports the (cache-restored) .gch as used ("!");
coverage: every object has its .gcno, and after `git2 --version` has written
.gcda files, gcov reads every .gcda/.gcno pair without a stamp mismatch.
Also reported: objects of the last warm build byte-equal between objcache
and ccache, and the number of compiler warnings ninja printed (a hit replays
the compile's diagnostics).

Environment: as bench.py, plus LIBGIT2_SRC, PCHCOV_WARM_ROUNDS,
PCHCOV_CONFIG.
"""

import json
import os
import re
import resource
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import bench as B  # noqa: E402
import cmake as C  # noqa: E402  (CMAKE_OPTIONS, launcher, objects, same)

LIBGIT2_SRC = Path(os.environ["LIBGIT2_SRC"])
WARM_ROUNDS = int(os.environ.get("PCHCOV_WARM_ROUNDS", 3))
CONFIG = os.environ.get("PCHCOV_CONFIG", "RelWithDebInfo")
WORK = B.WORK / "pchcov"
BASE = WORK / "base"
PROJ = BASE / "proj"          # the wrapper project; libgit2 copied into it
LIBGIT2 = PROJ / "libgit2"
STASH = WORK / "stash"
PCH_TARGETS = ["util", "libgit2", "git2_cli"]
PCH_HEADERS = ["<stdio.h>", "<stdlib.h>", "<string.h>", "<errno.h>",
               "<sys/types.h>", "<sys/stat.h>", "<stdint.h>", "<stdarg.h>",
               "<time.h>", "<limits.h>", "<ctype.h>", "<unistd.h>"]
WRAPPER = f"""\
# Written by bench/pchcov.py: libgit2 with precompiled headers added from
# outside, without editing libgit2's own CMake files.
cmake_minimum_required(VERSION 3.16)
project(libgit2_pch LANGUAGES C)
add_subdirectory(libgit2)
foreach(t {' '.join(PCH_TARGETS)})
  target_precompile_headers(${{t}} PRIVATE {' '.join(PCH_HEADERS)})
endforeach()
"""
BUILDS = {
    # bin: where libgit2's build puts libgit2.so and git2 (its binary dir)
    "pch": {"src": PROJ, "bin": "libgit2", "options": []},
    "coverage": {"src": LIBGIT2, "bin": ".",
                 "options": ["-DCMAKE_C_FLAGS=--coverage"]},
}
# --print-stats lines that are not counters.
NOT_COUNTERS = ("timestamp", "kibibyte", "files_in_cache", "max_")

log = B.log


def run(cmd, env, cwd):
    """B.timed, but also returns the combined output."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    t1 = time.perf_counter()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = p.stdout.decode(errors="replace")
    if p.returncode != 0:
        sys.stderr.write(out)
        raise SystemExit(f"FAILED ({p.returncode}): {' '.join(map(str, cmd))}")
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return t1 - t0, cpu, out


def counters(tool, env):
    return {k: v for k, v in B.stats(tool, env).items()
            if not any(s in k for s in NOT_COUNTERS)}


def delta(before, after):
    return {k: after.get(k, 0) - before.get(k, 0)
            for k in sorted(set(before) | set(after))
            if after.get(k, 0) != before.get(k, 0)}


class Build:
    """One tool's build directory for one build; it lives at
    <proj>/build-<build> only while in use."""

    def __init__(self, build, tool, env):
        self.build, self.tool, self.env = build, tool, env
        self.spec = BUILDS[build]
        self.dir = PROJ / f"build-{build}"
        self.stash = STASH / f"{build}-{tool}"

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
        cmd = ["cmake", "-S", str(self.spec["src"]), "-B", str(self.dir),
               "-G", "Ninja", f"-DCMAKE_BUILD_TYPE={CONFIG}",
               f"-DCMAKE_C_COMPILER={B.CC}"]
        if self.tool != "plain":
            cmd.append(f"-DCMAKE_C_COMPILER_LAUNCHER={C.launcher(self.tool)[0]}")
        return run(cmd + C.CMAKE_OPTIONS + self.spec["options"], self.env, PROJ)

    def ninja(self):
        """Timed ninja; wall, CPU, stats delta, warning lines."""
        before = counters(self.tool, self.env)
        w, c, out = run(["ninja", f"-j{B.JOBS}"], self.env, self.dir)
        d = delta(before, counters(self.tool, self.env))
        warnings = sum(1 for l in out.splitlines() if "warning:" in l)
        return w, c, d, warnings

    def clean(self):
        run(["ninja", "-t", "clean"], self.env, self.dir)
        if self.build == "coverage":
            for p in list(self.dir.rglob("*.gcno")) + list(self.dir.rglob("*.gcda")):
                p.unlink()

    def compiles(self):
        out = subprocess.run(["ninja", "-t", "commands"], cwd=self.dir, env=self.env,
                             capture_output=True, text=True, check=True).stdout
        return [l for l in out.splitlines() if " -c " in l]


def hits(d):
    h = B.hit_summary(d)
    return {"direct": h[0], "preprocessed": h[1], "miss": h[2]}


def check(b):
    """Checks on a build directory after a warm build; returns a dict and
    appends failures to B.errors (objcache) or notes (others)."""
    res = {}
    lib = b.dir / b.spec["bin"] / "libgit2.so.1.9.7"
    cli = b.dir / b.spec["bin"] / "git2"
    res["libgit2.so"] = lib.is_file()
    res["git2"] = cli.is_file()
    if cli.is_file():
        p = subprocess.run([str(cli), "--version"], capture_output=True, text=True,
                           cwd=b.dir, env=B.tool_env("plain"))
        res["git2 --version"] = p.stdout.strip() if p.returncode == 0 else \
            f"FAILED ({p.returncode}) {p.stderr.strip()[:200]}"
    cmds = b.compiles()
    objs = sorted(b.dir.rglob("*.o"))
    res["compiles"], res["objects"] = len(cmds), len(objs)
    if b.build == "pch":
        gch = sorted(b.dir.rglob("cmake_pch.h.gch"))
        res["gch files"] = len(gch)
        res["compiles with -include cmake_pch.h"] = sum(
            1 for c in cmds if re.search(r"-include \S*/cmake_pch\.h(\s|$)", c)
            and "-x c-header" not in c)
        res["gch used (gcc -H on util/alloc.c)"] = pch_used(b, cmds)
        ok = (len(gch) == len(PCH_TARGETS) and res["gch used (gcc -H on util/alloc.c)"]
              and res["compiles with -include cmake_pch.h"] > 0)
    else:
        gcno = {p.with_suffix("") for p in b.dir.rglob("*.gcno")}
        res["objects with .gcno"] = sum(1 for o in objs if o.with_suffix("") in gcno)
        res["gcov"] = gcov_check(b)
        ok = (res["objects with .gcno"] == len(objs) and res["gcov"]["mismatch"] == 0
              and res["gcov"]["pairs"] > 0)
    ok = ok and res["libgit2.so"] and res["git2"] and \
        str(res.get("git2 --version", "")).startswith("git2 version")
    res["ok"] = bool(ok)
    if not ok:
        msg = f"{b.build}: {b.tool} warm build check failed: {res}"
        if b.tool == "objcache":
            B.errors.append(msg)
        else:
            log(f"  note: {msg}")
    return res


def pch_used(b, cmds):
    """Run util/alloc.c's compile by hand (plain gcc, -H, output elsewhere)
    and see whether gcc reports the .gch as used ('! path')."""
    cmd = next((c for c in cmds if "util/alloc.c" in c), None)
    if cmd is None:
        return False
    a = shlex.split(cmd)
    a = a[a.index(B.CC):]
    args, i = [], 0
    while i < len(a):
        if a[i] in ("-MT", "-MF", "-o"):
            i += 2
            continue
        if a[i] != "-MD":
            args.append(a[i])
        i += 1
    p = subprocess.run(args + ["-o", str(WORK / "h.o"), "-H"], cwd=b.dir,
                       env=B.tool_env("plain"), capture_output=True, text=True)
    return p.returncode == 0 and any(
        re.match(r"! \S*cmake_pch\.h\.gch$", l) for l in p.stderr.splitlines())


def gcov_check(b):
    """After `git2 --version` (run by check) wrote .gcda files: gcov on every
    .gcda; a .gcno from another compile than the object gives 'stamp
    mismatch'."""
    gcda = sorted(str(p.relative_to(b.dir)) for p in b.dir.rglob("*.gcda"))
    out = {"pairs": len(gcda), "mismatch": 0, "errors": 0}
    if gcda:
        tmp = B.fresh_dir(WORK / "gcov")
        p = subprocess.run(["gcov", "-n"] + [str(b.dir / g) for g in gcda], cwd=tmp,
                           env=B.tool_env("plain"), capture_output=True, text=True)
        out["mismatch"] = p.stderr.count("stamp mismatch")
        out["errors"] = sum(1 for l in p.stderr.splitlines() if l.strip())
        out["executed"] = len(re.findall(r"Lines executed:(?!0\.00%)", p.stdout))
        shutil.rmtree(tmp)
    for p in b.dir.rglob("*.gcda"):
        p.unlink()
    return out


def main():
    log(f"\n== PCH and coverage warm rebuilds: libgit2 ({LIBGIT2_SRC}), "
        f"CMake + Ninja -j{B.JOBS}, {CONFIG}, {WARM_ROUNDS} warm rounds")
    F = B.facts()
    facts = {k: F[k] for k in ("date", "nproc", "cpu", "kernel", "os", "gcc", "ccache",
                               "objcache", "objcache_commit", "filesystem")}
    facts.update(cmake=B.sh("cmake --version | head -1"), ninja=B.sh("ninja --version"),
                 command=os.environ.get("BENCH_COMMAND", "bash bench/compare.sh"),
                 libgit2=str(LIBGIT2_SRC), base_dir=str(BASE), project=str(PROJ),
                 config=CONFIG, warm_rounds=WARM_ROUNDS, jobs=B.JOBS,
                 cmake_options=C.CMAKE_OPTIONS, pch_targets=PCH_TARGETS,
                 pch_headers=PCH_HEADERS)
    for k, v in facts.items():
        log(f"  {k}: {v}")
    if WORK.exists():
        shutil.rmtree(WORK)
    PROJ.mkdir(parents=True)
    shutil.copytree(LIBGIT2_SRC, LIBGIT2, symlinks=True)
    (PROJ / "CMakeLists.txt").write_text(WRAPPER)
    STASH.mkdir(parents=True)
    caches = WORK / "caches"
    R = {"facts": facts}

    for bi, build in enumerate(BUILDS):
        env = {"plain": B.tool_env("plain")}
        for t in B.CACHED:
            env[t] = B.tool_env(t, B.fresh_dir(caches / f"{build}-{t}"), basedir=BASE)
        if build == "pch":
            env["ccache"]["CCACHE_SLOPPINESS"] = "pch_defines,time_macros"
        res = R[build] = {"cold": {}, "warm": {t: [] for t in B.TOOLS}}
        log(f"\n-- {build}: cold builds (configure, ninja; empty caches)")
        for tool in B.rotate(B.TOOLS, bi):
            with Build(build, tool, env[tool]) as b:
                b.configure()
                cmds = b.compiles()
                if tool == "plain":
                    pchc = [c for c in cmds if "-x c-header" in c]
                    R[build]["compiles"] = len(cmds)
                    R[build]["example_command"] = next(
                        (c for c in cmds if "util/alloc.c" in c), cmds[0])
                    R[build]["pch_command"] = pchc[0] if pchc else None
                    log(f"  {len(cmds)} compiles, e.g.: {R[build]['example_command']}")
                    if pchc:
                        log(f"  {len(pchc)} PCH compiles, e.g.: {pchc[0]}")
                w, c, d, nw = b.ninja()
            res["cold"][tool] = {"wall": w, "cpu": c, "stats": d, "warnings": nw, **hits(d)}
            log(f"  cold {tool:8s}: wall {w:7.2f}s cpu {c:7.2f}s  "
                + (f"direct {d.get('direct_cache_hit', 0)} preprocessed "
                   f"{d.get('preprocessed_cache_hit', 0)} miss {d.get('cache_miss', 0)}  "
                   if tool != "plain" else "") + f"warnings {nw}")

        log(f"-- {build}: warm rebuilds (ninja -t clean; ninja): {WARM_ROUNDS} rounds")
        for rnd in range(WARM_ROUNDS):
            for tool in B.rotate(B.TOOLS, rnd + bi):
                with Build(build, tool, env[tool]) as b:
                    b.clean()
                    w, c, d, nw = b.ninja()
                    last = rnd == WARM_ROUNDS - 1
                    if last:
                        res.setdefault("check", {})[tool] = check(b)
                res["warm"][tool].append({"wall": w, "cpu": c, "stats": d,
                                          "warnings": nw, **hits(d)})
                h = hits(d)
                other = {k: v for k, v in d.items() if k not in (
                    "direct_cache_hit", "preprocessed_cache_hit", "cache_miss")
                    and not k.startswith(("local_storage", "direct_cache_miss",
                                          "preprocessed_cache_miss"))}
                log(f"  round {rnd + 1} {tool:8s}: wall {w:6.2f}s cpu {c:6.2f}s  "
                    + (f"direct {h['direct']} preprocessed {h['preprocessed']} "
                       f"miss {h['miss']}  " if tool != "plain" else "")
                    + f"warnings {nw}" + (f"  other counters {other}" if other else ""))
                if last:
                    log(f"    check: {res['check'][tool]}")
        # Objects of the last warm build (report only).
        objs = {t: C.objects(STASH / f"{build}-{t}") for t in B.TOOLS}
        res["objects_equal"] = {
            "objcache=ccache": C.same(objs["objcache"], objs["ccache"]),
            "objcache=plain": C.same(objs["objcache"], objs["plain"]),
            "ccache=plain": C.same(objs["ccache"], objs["plain"])}
        log("  objects equal: " + ", ".join(
            f"{k} {a}/{n}" for k, (a, n) in res["objects_equal"].items()))
        del objs
        shutil.rmtree(STASH)
        STASH.mkdir()

    report(R)
    out = B.WORK / "results-pchcov.json"
    out.write_text(json.dumps(R, indent=1, default=str))
    log(f"\nraw results: {out}")
    if B.errors:
        log("\n!! FAILURES:")
        for e in B.errors:
            log(f"!!   {e}")
        sys.exit(1)


def summary(runs):
    d = sum(r["direct"] for r in runs)
    p = sum(r["preprocessed"] for r in runs)
    m = sum(r["miss"] for r in runs)
    n = d + p + m
    return {"wall": B.med([r["wall"] for r in runs]), "cpu": B.med([r["cpu"] for r in runs]),
            "direct": d, "preprocessed": p, "miss": m,
            "hit_rate": (d + p) / n if n else None}


def report(R):
    log("\n" + "=" * 78)
    log(f"RESULTS: PCH and coverage warm rebuilds (libgit2, {CONFIG}, -j{B.JOBS}); "
        f"warm = medians of {WARM_ROUNDS} rounds of ninja -t clean; ninja")
    log("=" * 78)
    W = 30
    log(f"\n{'measurement':{W}s} {'tool':9s} {'wall s':>8s} {'CPU s':>8s}  "
        f"{'hits d/p/miss':>15s}  hit rate")
    for build in BUILDS:
        x = R[build]
        for tool in B.TOOLS:
            y = x["cold"][tool]
            hm = (f"{y['direct']:>5d}/{y['preprocessed']}/{y['miss']:<5d}"
                  if tool != "plain" else "")
            log(f"{build + ' cold build':{W}s} {tool:9s} {y['wall']:8.2f} "
                f"{y['cpu']:8.2f}  {hm:>15s}")
        x["summary"] = {}
        for tool in B.TOOLS:
            s = x["summary"][tool] = summary(x["warm"][tool])
            hm = (f"{s['direct']:>5d}/{s['preprocessed']}/{s['miss']:<5d}  "
                  f"{100 * s['hit_rate']:5.1f}%" if tool != "plain" else "")
            log(f"{build + ' warm rebuild':{W}s} {tool:9s} {s['wall']:8.3f} "
                f"{s['cpu']:8.3f}  {hm}")
    log("\nRATIOS (warm rebuild medians)")
    for build in BUILDS:
        s = R[build]["summary"]
        r = R[build]["ratios"] = {
            "objcache/ccache wall": s["objcache"]["wall"] / s["ccache"]["wall"],
            "objcache/ccache cpu": s["objcache"]["cpu"] / s["ccache"]["cpu"],
            "objcache/plain wall": s["objcache"]["wall"] / s["plain"]["wall"],
            "ccache/plain wall": s["ccache"]["wall"] / s["plain"]["wall"]}
        log(f"  {build:9s} " + "; ".join(f"{k} {v:.3f}" for k, v in r.items()))
    log("\nCHECKS after the last warm rebuild")
    for build in BUILDS:
        for tool, c in R[build]["check"].items():
            log(f"  {build:9s} {tool:9s} {'ok' if c['ok'] else 'FAILED'}: "
                + ", ".join(f"{k} {v}" for k, v in c.items() if k != "ok"))
        eq = R[build]["objects_equal"]
        log(f"  {build:9s} objects byte-equal (last warm build): "
            + ", ".join(f"{k} {a}/{n}" for k, (a, n) in eq.items()))
        log(f"  {build:9s} warnings printed per warm build: " + ", ".join(
            f"{t} {sorted({r['warnings'] for r in R[build]['warm'][t]})}" for t in B.TOOLS))


if __name__ == "__main__":
    main()
