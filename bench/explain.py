#!/usr/bin/env python3
"""Miss explanations on a real CMake project, as CI builds it: libgit2 (from
the libgit2-sys crate, fetched by bench/compare.sh) in Debug (assert live,
-g), built by its own CMake files with Ninja and CMAKE_C_COMPILER_LAUNCHER,
first in checkout A = <base>/a/libgit2, then in a copy at
B = <base>/b/libgit2, in three CI set-ups, each with a fresh cache:

  no-base-dir   no base_dir: CMake's absolute -I and source paths differ
  hash-dir      CCACHE_BASEDIR=<base>, hash_dir left on (ccache's default):
                with -g the working directory is hashed
  no-hash-dir   CCACHE_BASEDIR=<base>, CCACHE_NOHASHDIR=1

For each set-up and cache (ccache and objcache interleaved) the hits and
misses of B's build from --print-stats (zeroed before it); for objcache
also the miss_reason_* counters, `objcache --check-hit-rate 90` (exit code
and line), the first lines of `objcache --explain` (the latest misses),
`objcache --explain src/util/CMakeFiles/util.dir/alloc.c.o` and
every "miss explained:" line of the log of B's build, grouped with the
checkout paths written <A> and <B>. ccache has no explanations: its hits
and misses are the comparison.

The set-up fails (exit 1) when an objcache explanation of B's build is not
the expected one: for no-base-dir every miss must name an absolute path and
say that base_dir is not set, for hash-dir the working directory and
hash_dir = false, and no-hash-dir must hit at least 90% (--check-hit-rate).

Environment: as bench/cmake.py (LIBGIT2_SRC, OBJCACHE, CCACHE, BENCH_WORK,
JOBS).
"""

import collections
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import bench as B  # noqa: E402
import cmake as C  # noqa: E402

CFG = "Debug"
WORK = B.WORK / "explain"
BASE = WORK / "base"
ROOTS = {"A": BASE / "a" / "libgit2", "B": BASE / "b" / "libgit2"}
STASH = WORK / "stash"
MIN_RATE = 90
SAMPLES = 3
# An output of every set-up for `objcache --explain OUTPUT` (a tail of the
# recorded path, as from the build directory).
ONE_OUTPUT = "src/util/CMakeFiles/util.dir/alloc.c.o"

# name: (base_dir, hash_dir, what an objcache explanation of B must say)
SETUPS = {
    "no-base-dir": (False, True, [
        r"^(argument|the source path) \S*/\S* differs \(was \S*/\S*\)[^;]*"
        r"absolute path[^;]* and base_dir is not set"]),
    "hash-dir": (True, True, [
        r"^cwd differs \(\S+ vs \S+\) and the compile uses -g: set hash_dir = false"]),
    "no-hash-dir": (True, False, []),
}

log = B.log


def env_for(tool, setup, cache):
    basedir, hash_dir, _ = SETUPS[setup]
    env = B.tool_env(tool, cache, basedir=BASE if basedir else False)
    if basedir and hash_dir:
        del env["CCACHE_NOHASHDIR"]
    return env


def generic(text):
    """An explanation with the checkouts' paths written <A> and <B>."""
    for name, root in ROOTS.items():
        text = text.replace(str(root), f"<{name}>")
    return text.replace(str(BASE), "<base>")


def run(cmd, env):
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    return p.returncode, (p.stdout + p.stderr).strip()


def one_setup(setup, tool, turn):
    cache = B.fresh_dir(WORK / "caches" / f"{setup}-{tool}")
    env = env_for(tool, setup, cache)
    res = {}
    (STASH / setup).mkdir(parents=True, exist_ok=True)
    for root in ["A", "B"]:
        e = dict(env)
        logfile = WORK / f"{setup}-{tool}-{root}.log"
        if tool == "objcache" and root == "B":
            e["CCACHE_LOGFILE"] = str(logfile)
        with C.Build(CFG, tool, root, e, roots=ROOTS, stash=STASH / setup) as b:
            b.configure()
            if turn == 0 and root == "A":
                cmds = b.compiles()
                res["compiles"] = len(cmds)
                res["example_command"] = generic(next(
                    (c for c in cmds if "util/alloc.c" in c), cmds[0]))
            w, _, (d, p, m) = b.build()
        n = d + p + m
        res[root] = {"wall": w, "direct": d, "preprocessed": p, "miss": m,
                     "hit_rate": (d + p) / n if n else None}
    if tool == "objcache":
        s = B.stats(tool, env)
        res["reasons"] = {k[len("miss_reason_"):]: v for k, v in s.items()
                          if k.startswith("miss_reason_") and v}
        rc, out = run([B.OBJCACHE, "--check-hit-rate", str(MIN_RATE)], env)
        res["check_hit_rate"] = {"exit": rc, "output": generic(out)}
        _, out = run([B.OBJCACHE, "--explain"], env)
        res["explain_list"] = [generic(l) for l in out.splitlines()[:SAMPLES]]
        _, out = run([B.OBJCACHE, "--explain", ONE_OUTPUT], env)
        res["explain_one"] = [generic(l) for l in out.splitlines()]
        logfile = WORK / f"{setup}-objcache-B.log"
        texts = [generic(l.split("miss explained: ", 1)[1])
                 for l in logfile.read_text(errors="replace").splitlines()
                 if "miss explained: " in l]
        res["explained"] = len(texts)
        res["groups"] = collections.Counter(group(t) for t in texts).most_common()
        res["examples"] = {}
        for t in texts:
            res["examples"].setdefault(group(t), t)
        res["unexpected"] = unexpected(setup, texts, res)
    shutil.rmtree(STASH / setup, ignore_errors=True)
    return res


def group(text):
    """The explanation's first finding, its varying parts (paths, the
    argument) left out, so that explanations of one kind count together."""
    first = text.split("; ", 1)[0]
    first = re.sub(r"<[AB]>[^\s)]*", "<path>", first)
    first = re.sub(r"\d+ more", "N more", first)
    first = re.sub(r"\(was [^)]*\)", "(was …)", first)
    return re.sub(r"^(argument|the source path) \S+", r"\1 …", first)


def unexpected(setup, texts, res):
    want = SETUPS[setup][2]
    bad = [t for t in texts if not all(re.search(w, t) for w in want)]
    if setup == "no-hash-dir" and res["check_hit_rate"]["exit"] != 0:
        bad.append(f"--check-hit-rate {MIN_RATE}: {res['check_hit_rate']['output']}")
    return bad


def main():
    log(f"\n== miss explanations: libgit2 ({C.LIBGIT2_SRC}) {CFG}, CMake + Ninja "
        f"-j{B.JOBS}, checkout A then a copy B, three CI set-ups")
    log(f"  base {BASE}; A {ROOTS['A']}; B {ROOTS['B']}")
    if WORK.exists():
        shutil.rmtree(WORK)
    for r in ROOTS.values():
        shutil.copytree(C.LIBGIT2_SRC, r, symlinks=True)
    R = {"facts": {"libgit2": str(C.LIBGIT2_SRC), "base": str(BASE),
                   "roots": {k: str(v) for k, v in ROOTS.items()},
                   "config": CFG, "cmake_options": C.CMAKE_OPTIONS,
                   "command": os.environ.get("BENCH_COMMAND", ""),
                   "objcache": B.sh(f"{B.OBJCACHE} --version | head -1"),
                   "ccache": B.sh(f"{B.CCACHE} --version | head -1")}}
    turn = 0
    for si, setup in enumerate(SETUPS):
        R[setup] = {}
        log(f"\n-- {setup}: build A with an empty cache, then B")
        for tool in B.rotate(B.CACHED, si):
            x = R[setup][tool] = one_setup(setup, tool, turn)
            if "compiles" in x:
                R["facts"]["compiles"] = x["compiles"]
                R["facts"]["example_command"] = x["example_command"]
                log(f"  {x['compiles']} compiles, e.g.: {x['example_command']}")
            turn += 1
            b = x["B"]
            log(f"  {tool:8s} B: direct {b['direct']} preprocessed {b['preprocessed']} "
                f"miss {b['miss']}  ({100 * (b['hit_rate'] or 0):.1f}% hits; A: "
                f"miss {x['A']['miss']})")
            if tool == "objcache":
                log(f"    miss_reason_*: {x['reasons']}")
                log(f"    --check-hit-rate {MIN_RATE}: exit {x['check_hit_rate']['exit']}: "
                    f"{x['check_hit_rate']['output']}")
                log(f"    explained misses in B's log: {x['explained']}")
                for g, n in x["groups"]:
                    log(f"    {n:4d} × {g}")
    report(R)
    out = B.WORK / "results-explain.json"
    out.write_text(json.dumps(R, indent=1, default=str))
    log(f"\nraw results: {out}")
    return 1 if any(R[s]["objcache"]["unexpected"] for s in SETUPS) else 0


def report(R):
    log("\n" + "=" * 78)
    log(f"RESULTS: miss explanations, libgit2 {CFG} ({R['facts'].get('compiles', '?')} "
        "compiles), checkout A then copy B, fresh cache per set-up")
    log("=" * 78)
    log(f"\n{'set-up':13s} {'tool':9s} {'B d/p/miss':>14s} {'hit rate':>8s}  "
        f"check-hit-rate {MIN_RATE}  miss_reason_*")
    for setup in SETUPS:
        for tool in B.CACHED:
            x = R[setup][tool]
            b = x["B"]
            rate = f"{100 * b['hit_rate']:.1f}%" if b["hit_rate"] is not None else "-"
            extra = ""
            if tool == "objcache":
                extra = (f"  exit {x['check_hit_rate']['exit']:<14d}  "
                         + ", ".join(f"{k} {v}" for k, v in x["reasons"].items()))
            log(f"{setup:13s} {tool:9s} {b['direct']:>6d}/{b['preprocessed']}/"
                f"{b['miss']:<5d} {rate:>8s}{extra}")
    for setup in SETUPS:
        x = R[setup]["objcache"]
        log(f"\n{setup}: objcache --explain (first {SAMPLES} lines)")
        for l in x["explain_list"] or ["(none)"]:
            log(f"  {l}")
        log(f"  objcache --explain {ONE_OUTPUT}:")
        for l in x["explain_one"]:
            log(f"    {l}")
        log(f"  check: {x['check_hit_rate']['output']}")
        if x["unexpected"]:
            log(f"  UNEXPECTED explanations ({len(x['unexpected'])}), e.g.:")
            for t in x["unexpected"][:5]:
                log(f"    {t}")


if __name__ == "__main__":
    sys.exit(main())
