#!/usr/bin/env python3
"""The CI case (issue 26): the first build in a fresh copy of the tree at a
new path, with the cache restored from a tar, against the warm rebuild in
place; ccache 4.7.5 (inode cache on) and objcache in the same run, with the
build system's own time measured by a no-op compiler and subtracted.

Driven by bench/compare.sh (PARTS=ci). Standard library only.

C code base: zstd's library (with its legacy decoders) and Lua 5.4's core
and libraries, 69 .c files, built by bench/ci.mk with `make -j$JOBS`,
sources and -I directories by absolute path, CCACHE_BASEDIR=<base> and
CCACHE_NOHASHDIR=1 for both caches, as a CI would run them.

Tools: plain gcc (the reference objects, a cold build), the no-op compiler
(bench/noop_cc.c: make's own time, process starts included), ccache
(CCACHE_INODECACHE=1, direct mode) and objcache (scripts/build-release.sh).

  1. plain gcc builds checkout A (and, unless QUICK=1, a fresh copy: the CI
     row's plain figure); each cache fills its own empty cache in A, and
     the filled cache directory is saved as a tar (what a CI saves);
  2. warm rebuild in place: CI_WARM_ROUNDS rounds of `rm -rf obj; make` in
     A, the no-op compiler, ccache and objcache interleaved;
  3. the CI case: CI_ROUNDS rounds; per round and tool the source tree is
     copied to a new path (`cp -r`: fresh stamps) and the cache restored
     from the tar to a new directory, then the build there is timed (used
     trees and caches are moved aside and deleted at the end: see discard);
  4. libgit2 with CMake + Ninja, the CI case (bench/ci_cmake.py);
  5. PROFILE=1: strace -c -f and perf of objcache's builds (bench/ci_prof.py).

A cache's own time = the build's wall (CPU) less the no-op build's of the
same round; medians over rounds; ratio = median own time of objcache over
ccache's. Every object of a cached build must equal the plain build's (and
every objcache .d gcc's with the tree's path), and every compile of a CI
build must be a hit: otherwise the script exits 1.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import bench as B  # noqa: E402

QUICK = os.environ.get("QUICK", "0") == "1"
LUA_SRC = Path(os.environ.get("LUA_SRC", "/nonexistent"))
CI_MK = str(Path(__file__).with_name("ci.mk"))
NOOP_C = Path(__file__).with_name("noop_cc.c")
WARM_ROUNDS = int(os.environ.get("CI_WARM_ROUNDS", 3 if QUICK else 11))
CI_ROUNDS = int(os.environ.get("CI_ROUNDS", 3 if QUICK else 11))
WORK = B.WORK / "ci"
BASE = WORK / "base"  # CCACHE_BASEDIR of every build
A = BASE / "a" / "src"
SEEDS = WORK / "seeds"  # the caches filled in A, and their tars
RESTORED = WORK / "restored"
NOOP = WORK / "noop-cc"
TRASH = WORK / "trash"  # used trees and caches, deleted at the end
TOOLS = ["noop", "ccache", "objcache"]  # interleaved in every round
ZSTD_DIRS = ["common", "compress", "decompress", "dictBuilder", "legacy"]

errors = []
log = B.log


# ---------------------------------------------------------------- running

def run_timed(cmd, env, cwd):
    """Wall seconds, CPU seconds (user+sys of the whole process tree, from
    wait4) and the output of cmd; exits on failure."""
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out,
                             stderr=subprocess.STDOUT)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
    if p.returncode != 0:
        sys.stderr.write(text)
        raise SystemExit(f"FAILED ({p.returncode}) in {cwd}: {' '.join(map(str, cmd))}")
    return wall, ru.ru_utime + ru.ru_stime, text


def discard(path):
    """Moves a used tree or cache aside, deleted at the end of the run:
    deleting thousands of files just before a timed build makes ext4 look
    past the freshly freed inodes each time the build creates a file
    (`recently_deleted` high in perf), which a CI's fresh machine does not."""
    TRASH.mkdir(exist_ok=True)
    discard.count = getattr(discard, "count", 0) + 1
    path.rename(TRASH / str(discard.count))


def sh(*cmd, cwd=None):
    subprocess.run([str(c) for c in cmd], cwd=cwd, check=True)


def build_noop():
    sh("gcc", "-O2", "-static", "-o", NOOP, NOOP_C)


def env_of(tool, cache_dir=None):
    if tool in ("plain", "noop"):
        return B.tool_env("plain")
    return B.tool_env(tool, cache_dir, basedir=BASE)


def hits(tool, env, before):
    """(direct, preprocessed, miss) since the stats `before`."""
    after = B.stats(tool, env)
    return tuple(a - b for a, b in zip(B.hit_summary(after), B.hit_summary(before)))


def save_seed(cache_dir):
    """The filled cache as a CI saves it: a tar of the directory, named
    after it."""
    tar = SEEDS / f"{cache_dir.name}.tar"
    sh("tar", "-C", cache_dir.parent, "-cf", tar, cache_dir.name)
    return tar


def restore_seed(tar, name):
    """The seed cache unpacked into a new directory; its path."""
    parent = RESTORED / name
    parent.mkdir(parents=True)
    sh("tar", "-C", parent, "-xf", tar)
    return parent / tar.stem


# ---------------------------------------------------------------- the C tree

def copy_tree(dest):
    """zstd/ and lua/ of checkout A (or the crates' sources, for A itself)
    into dest with `cp -r`: fresh stamps, as a checkout gives."""
    dest.mkdir(parents=True)
    if dest == A:
        zlib = dest / "zstd" / "lib"
        zlib.mkdir(parents=True)
        zsrc = B.ZSTD_SRC / "lib"
        sh("cp", "-r", *[zsrc / d for d in ZSTD_DIRS], zlib)
        sh("cp", *sorted(zsrc.glob("*.h")), zlib)
        (dest / "lua").mkdir()
        sh("cp", *sorted(LUA_SRC.glob("*.[ch]")), dest / "lua")
    else:
        sh("cp", "-r", A / "zstd", A / "lua", dest)


def sources(tree):
    zs = [p for d in ZSTD_DIRS for p in (tree / "zstd" / "lib" / d).glob("*.c")]
    return sorted(zs + list((tree / "lua").glob("*.c")))


def clean_objs(tree):
    obj = tree / "obj"
    if obj.exists():
        shutil.rmtree(obj)
    for s in sources(tree):
        (obj / s.parent.relative_to(tree)).mkdir(parents=True, exist_ok=True)


def make(tool, tree, env):
    cc = {"noop": [str(NOOP)], "plain": [], "ccache": [B.CCACHE],
          "objcache": [B.OBJCACHE]}[tool]
    if tool != "noop":
        cc.append(B.CC)
    clean_objs(tree)
    w, c, _ = run_timed(["make", "-s", "-f", CI_MK, f"-j{B.JOBS}", f"CC={' '.join(cc)}"],
                        env, tree)
    return w, c


def depfile_words(path):
    """A .d file's names: gcc wraps its lines at a width, so a path of
    another length moves the line breaks."""
    return path.read_text().replace("\\\n", " ").split() if path.is_file() else None


def rel_reference(names):
    """The plain compiler's objects for the base_dir-relative command
    (bench/ci.mk REL=1), built for the given objects only: those that name
    their source's path. Kept in <work>/ref-rel."""
    ref = WORK / "ref-rel"
    todo = [n for n in names if not (ref / n).exists()]
    if todo:
        tree = BASE / "ref-rel" / "src"
        if not tree.exists():
            copy_tree(tree)
        clean_objs(tree)
        sh("make", "-s", "-f", CI_MK, f"-j{B.JOBS}", f"CC={B.CC}", "REL=1",
           *[f"obj/{n}" for n in todo], cwd=tree)
        for n in todo:
            (ref / n).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(tree / "obj" / n, ref / n)
    return ref


def check(what, tool, tree):
    """Every object equals the plain build's, for the user's command or for
    the base_dir-relative one; every objcache .d names what gcc's names in
    this tree (ccache's name relative paths under base_dir: not checked)."""
    ref, obj = WORK / "ref", tree / "obj"
    bad_o, _ = B.cmp_any({"plain": ref}, obj, "*.o")
    if bad_o:
        bad_o, _ = B.cmp_any({"rel": rel_reference(bad_o)}, obj, "*.o")
    if bad_o:
        errors.append(f"{what}: {tool} objects differ from the plain build's: {bad_o[:5]}")
    if tool != "objcache":
        return
    bad_d = []
    for d in sorted(ref.rglob("*.d")):
        rel = d.relative_to(ref)
        want = [w.replace(str(A), str(tree)) for w in depfile_words(d)]
        if depfile_words(obj / rel) != want:
            bad_d.append(str(rel))
    if bad_d:
        errors.append(f"{what}: objcache .d files differ from gcc's: {bad_d[:5]}")


def all_hits(what, tool, got, n):
    d, p, m = got
    if d + p != n or m:
        errors.append(f"{what}: {tool} hits {d}+{p} of {n} compiles, {m} misses")


# ---------------------------------------------------------------- the make part

def fill(R):
    """Plain reference builds and the caches' fills in A; the seed tars."""
    copy_tree(A)
    n = R["tus"] = len(sources(A))
    log(f"  checkout A {A}: {n} .c files (zstd {B.ZSTD_SRC}, lua {LUA_SRC})")
    R["plain"] = {"A": make("plain", A, env_of("plain"))}
    shutil.copytree(A / "obj", WORK / "ref")
    log(f"  plain gcc, A (cold): wall {R['plain']['A'][0]:.2f}s cpu {R['plain']['A'][1]:.2f}s")
    if not QUICK:
        tree = BASE / "ci-plain" / "src"
        copy_tree(tree)
        # Not checked: a TU that expands __FILE__ names this copy's path.
        R["plain"]["copy"] = make("plain", tree, env_of("plain"))
        shutil.rmtree(tree.parent)
        log(f"  plain gcc, fresh copy (cold): wall {R['plain']['copy'][0]:.2f}s")
    tars = {}
    for tool in B.CACHED:
        cache = B.fresh_dir(SEEDS / tool)
        env = env_of(tool, cache)
        w, c = make(tool, A, env)
        got = B.hit_summary(B.stats(tool, env))
        R.setdefault("fill", {})[tool] = {"wall": w, "cpu": c, "hits": got}
        log(f"  {tool} fills its cache in A: wall {w:.2f}s cpu {c:.2f}s  d/p/miss {got}")
        check("fill in A", tool, A)
        tars[tool] = save_seed(cache)
        R["fill"][tool]["tar_bytes"] = tars[tool].stat().st_size
    return tars


def warm_in_place(R):
    log(f"\n== warm rebuild in place (rm -rf obj; make -j{B.JOBS}): "
        f"{WARM_ROUNDS} rounds, tools interleaved")
    runs = {t: [] for t in TOOLS}
    envs = {t: env_of(t, SEEDS / t) for t in TOOLS}
    for rnd in range(WARM_ROUNDS):
        for tool in B.rotate(TOOLS, rnd):
            before = B.stats(tool, envs[tool]) if tool in B.CACHED else None
            w, c = make(tool, A, envs[tool])
            got = hits(tool, envs[tool], before) if before is not None else None
            runs[tool].append({"wall": w, "cpu": c, "hits": got})
            if got is not None:
                all_hits("warm rebuild in place", tool, got, R["tus"])
                check("warm rebuild in place", tool, A)
            log(f"  round {rnd + 1} {tool:8s}: wall {w:6.3f}s cpu {c:6.3f}s"
                + (f"  d/p/miss {got}" if got else ""))
    R["warm"] = runs


def ci_case(R, tars):
    log(f"\n== the CI case (fresh copy at a new path, cache restored from a tar, "
        f"make -j{B.JOBS}): {CI_ROUNDS} rounds, tools interleaved")
    runs = {t: [] for t in TOOLS}
    for rnd in range(CI_ROUNDS):
        for tool in B.rotate(TOOLS, rnd):
            name = f"ci-{rnd:02d}-{TOOLS.index(tool)}"
            tree = BASE / name / "src"
            copy_tree(tree)
            cache = restore_seed(tars[tool], name) if tool in tars else None
            env = env_of(tool, cache)
            before = B.stats(tool, env) if cache else None
            w, c = make(tool, tree, env)
            got = hits(tool, env, before) if cache else None
            runs[tool].append({"wall": w, "cpu": c, "hits": got})
            if cache:
                all_hits("CI case", tool, got, R["tus"])
                check("CI case", tool, tree)
                discard(cache.parent)
            discard(tree.parent)
            log(f"  round {rnd + 1} {tool:8s}: wall {w:6.3f}s cpu {c:6.3f}s"
                + (f"  d/p/miss {got}" if got else ""))
    R["ci"] = runs


# ---------------------------------------------------------------- summary

def summarize(runs, tools=B.CACHED):
    """Per tool: medians of wall, CPU, and own wall/CPU (less the no-op
    build's of the same round); hits summed over the rounds."""
    noop = runs["noop"]
    out = {"noop": {"wall": B.med([r["wall"] for r in noop]),
                    "cpu": B.med([r["cpu"] for r in noop]), "n": len(noop)}}
    for t in tools:
        rs = runs[t]
        out[t] = {
            "wall": B.med([r["wall"] for r in rs]), "cpu": B.med([r["cpu"] for r in rs]),
            "own_wall": B.med([r["wall"] - n["wall"] for r, n in zip(rs, noop)]),
            "own_cpu": B.med([r["cpu"] - n["cpu"] for r, n in zip(rs, noop)]),
            "hits": [sum(r["hits"][i] for r in rs) for i in range(3)], "n": len(rs)}
    o, c = out["objcache"], out["ccache"]
    out["ratio_own_wall"] = o["own_wall"] / c["own_wall"]
    out["ratio_own_cpu"] = o["own_cpu"] / c["own_cpu"]
    out["ratio_wall"] = o["wall"] / c["wall"]
    return out


def table_rows(label, s, target, noop_name):
    """Markdown rows for one case: the no-op build, both caches, the ratio."""
    n = s["noop"]
    rows = [f"| {label} | {noop_name} | {n['wall']:.3f} | | {n['cpu']:.3f} | | |"]
    for t in B.CACHED:
        x = s[t]
        d, p, m = x["hits"]
        rows.append(f"| {label} | {t} | {x['wall']:.3f} | {x['own_wall']:.3f} | "
                    f"{x['cpu']:.3f} | {x['own_cpu']:.3f} | {d}/{p}/{m} ({x['n']} builds) |")
    met = "met" if s["ratio_own_wall"] <= target else "missed"
    rows.append(f"| {label} | **objcache / ccache** | {s['ratio_wall']:.2f} | "
                f"**{s['ratio_own_wall']:.2f}** (target ≤ {target}: {met}) | | "
                f"{s['ratio_own_cpu']:.2f} | |")
    return rows


def report(R):
    F = R["facts"]
    log("\n" + "=" * 78)
    log("RESULTS: the CI case (issue 26). Own = the build's wall (CPU) less the "
        "no-op\ncompiler's build of the same round (the build system's own share, "
        "shown\nin its own row); medians; CPU = user+sys of the whole build.")
    log("=" * 78)
    log(f"\ncommand: {F['command']}")
    log(f"date {F['date']}; objcache {F['objcache_commit']} (its source, src/ and "
        f"Cargo.*, last changed in {R['src_commit']}); {F['nproc']} cores "
        f"({F['cpu']}); load average before the run {R['load_before']}, "
        f"after {R['load_after']}")
    log(f"versions: {F['gcc']}; {F['ccache']}; {F['objcache']}; "
        f"{R.get('cmake_facts', {}).get('cmake', '')}")
    head = ["| case | tool | wall s | own wall s | CPU s | own CPU s | hits d/p/miss |",
            "| --- | --- | ---: | ---: | ---: | ---: | --- |"]
    rows = []
    n = R["tus"]
    pl = R["plain"]
    rows.append(f"| C, {n} TUs, cold build in A (1 sample) | plain gcc | {pl['A'][0]:.2f} | | "
                f"{pl['A'][1]:.2f} | | |")
    if "copy" in pl:
        rows.append(f"| C, cold build in a fresh copy (1 sample) | plain gcc | "
                    f"{pl['copy'][0]:.2f} | | {pl['copy'][1]:.2f} | | |")
    rows += table_rows(f"C, {n} TUs, warm rebuild in place", R["warm_s"], 0.33,
                       "make alone (no-op compiler)")
    rows += table_rows(f"C, {n} TUs, CI case", R["ci_s"], 0.5,
                       "make alone (no-op compiler)")
    if "cmake_s" in R:
        k = R["cmake_facts"]
        rows += table_rows(f"libgit2 {k['config']}, {k['objects']} TUs, CI case",
                           R["cmake_s"], 0.5, "ninja alone (no-op launcher)")
    log("\n" + "\n".join(head + rows))
    R["markdown"] = head + rows


def main():
    R = {"facts": B.facts(), "load_before": B.sh("cut -d' ' -f1-3 /proc/loadavg"),
         "src_commit": B.sh(f"git -C {Path(__file__).resolve().parent.parent} log -1 "
                            "--format=%h -- src Cargo.toml Cargo.lock")}
    R["facts"]["settings"] = dict(CI_WARM_ROUNDS=WARM_ROUNDS, CI_ROUNDS=CI_ROUNDS,
                                  JOBS=B.JOBS, QUICK=QUICK)
    if WORK.exists():
        shutil.rmtree(WORK)
    for d in (BASE, SEEDS, RESTORED):
        d.mkdir(parents=True)
    build_noop()
    log(f"== the C tree: fills in checkout A (base_dir {BASE})")
    tars = fill(R)
    warm_in_place(R)
    ci_case(R, tars)
    R["warm_s"] = summarize(R["warm"])
    R["ci_s"] = summarize(R["ci"])
    if os.environ.get("LIBGIT2_SRC"):
        import ci_cmake
        ci_cmake.run(R, sys.modules[__name__])
    if B.PROFILE:
        import ci_prof
        R["profile"] = ci_prof.run(R, sys.modules[__name__], tars)
    R["load_after"] = B.sh("cut -d' ' -f1-3 /proc/loadavg")
    if TRASH.exists():
        shutil.rmtree(TRASH)
    report(R)
    out = B.WORK / "results-ci.json"
    out.write_text(json.dumps(R, indent=1, default=str))
    log(f"\nraw results: {out}")
    if errors:
        log("\n!! FAILURES:")
        for e in errors:
            log(f"!!   {e}")
        sys.exit(1)
    log("\nchecks: every cached object equals the plain build's, objcache's .d "
        "files gcc's,\nand every compile of the CI builds was a hit")


if __name__ == "__main__":
    main()
