#!/usr/bin/env python3
"""Side-by-side benchmark: plain compiler vs ccache vs objcache.

Driven by bench/compare.sh, which builds objcache, fetches the sources and
exports the settings below. Standard library only.

Environment (set by compare.sh):
  OBJCACHE      path of the objcache binary
  CCACHE        path of ccache
  BENCH_WORK    scratch directory (sources, caches, outputs)
  ZSTD_SRC      zstd-sys's zstd/ directory (read only)
  ROCKSDB_SRC   librocksdb-sys's rocksdb/ directory (read only)
  ZSTD_MK       the make file bench/zstd.mk
  (bench/cmake.py imports this module without the last three.)

Paths: every measurement names its sources and -I directories by absolute
path with CCACHE_BASEDIR (and CCACHE_NOHASHDIR) set, as CMake builds and CI
do. The TU hits and the relocated rebuild also keep the earlier
relative-source form as a second row. Outputs are checked against the plain
compiler run with the same command, or with the command ccache runs under
base_dir (paths below it made relative to the working directory): either
is accepted, and the report says which one objcache's outputs matched.
  HIT_ROUNDS, HITS_PER_ROUND, COLD_ROUNDS, WARM_ROUNDS, RELOC_ROUNDS, JOBS
  PROFILE=1     also run strace -c -f and perf stat on one hit of each tool
"""

import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

OBJCACHE = os.environ["OBJCACHE"]
CCACHE = os.environ["CCACHE"]
WORK = Path(os.environ["BENCH_WORK"])
ZSTD_SRC = Path(os.environ.get("ZSTD_SRC", "/nonexistent"))
ROCKSDB_SRC = Path(os.environ.get("ROCKSDB_SRC", "/nonexistent"))
# The header-heavy C++ translation unit for the hit-latency measurement
# (rocksdb-relative). The default reads ~410 headers and makes a ~2 MB object,
# like the TU the hit-latency target was set on; db/db_impl/db_impl.cc (about
# 1,000 headers, 23 MB object) is the large-object case.
TU = os.environ.get("TU", "table/block_based/block.cc")
ZSTD_MK = os.environ.get("ZSTD_MK", str(Path(__file__).with_name("zstd.mk")))
HIT_ROUNDS = int(os.environ.get("HIT_ROUNDS", 5))
HITS_PER_ROUND = int(os.environ.get("HITS_PER_ROUND", 20))
COLD_ROUNDS = int(os.environ.get("COLD_ROUNDS", 3))
WARM_ROUNDS = int(os.environ.get("WARM_ROUNDS", 10))
RELOC_ROUNDS = int(os.environ.get("RELOC_ROUNDS", 3))
JOBS = int(os.environ.get("JOBS", 2))
PROFILE = os.environ.get("PROFILE", "1") == "1"

CC = "/usr/bin/gcc"
CXX = "/usr/bin/g++"
BASE = WORK / "base"  # CCACHE_BASEDIR for the C builds
TOOLS = ["plain", "ccache", "objcache"]
CACHED = ["ccache", "objcache"]

errors = []


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------- environment

def clean_env():
    """The caller's environment without any cache setting."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CCACHE_", "OBJCACHE_"))
        and k not in ("OBJCACHE", "CCACHE", "ZSTD_MK")
    }


def tool_env(tool, cache_dir=None, basedir=False, sloppy=False):
    """basedir: False, True (BASE) or a directory."""
    env = clean_env()
    env["LC_ALL"] = "C"
    if tool == "plain":
        return env
    env["CCACHE_DIR"] = str(cache_dir)
    if tool == "ccache":
        env["CCACHE_INODECACHE"] = "1"
        env["CCACHE_TEMPDIR"] = str(Path(cache_dir) / "tmp")
    else:
        env["OBJCACHE_SYSTEM_CONFIG"] = "/nonexistent"
    if basedir:
        env["CCACHE_BASEDIR"] = str(BASE if basedir is True else basedir)
        env["CCACHE_NOHASHDIR"] = "1"
    if sloppy:
        env["CCACHE_SLOPPINESS"] = "system_headers"
    return env


def prefix(tool):
    return {"plain": [], "ccache": [CCACHE], "objcache": [OBJCACHE]}[tool]


def fresh_dir(path):
    path = Path(path)
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


# ---------------------------------------------------------------- measuring

def timed(cmd, env, cwd):
    """Run cmd; wall seconds and CPU seconds (user+sys of the whole waited-for
    process tree, from RUSAGE_CHILDREN deltas)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    t1 = time.perf_counter()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.stderr.write(p.stdout.decode(errors="replace"))
        sys.stderr.write(p.stderr.decode(errors="replace"))
        raise SystemExit(f"FAILED ({p.returncode}): {' '.join(map(str, cmd))}")
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return t1 - t0, cpu


def stats(tool, env):
    if tool == "plain":
        return {}
    out = subprocess.run(prefix(tool) + ["--print-stats"], env=env,
                         capture_output=True, text=True, check=True).stdout
    d = {}
    for line in out.splitlines():
        k, _, v = line.partition("\t")
        try:
            d[k] = int(v)
        except ValueError:
            pass
    return d


def zero(tool, env):
    if tool != "plain":
        subprocess.run(prefix(tool) + ["-z"], env=env, check=True,
                       stdout=subprocess.DEVNULL)


def hit_summary(s):
    d = s.get("direct_cache_hit", 0)
    p = s.get("preprocessed_cache_hit", 0)
    m = s.get("cache_miss", 0)
    return d, p, m


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def rotate(seq, i):
    i %= len(seq)
    return seq[i:] + seq[:i]


def cmp_trees(ref, other, pattern, subst=None):
    """Names of files matching pattern whose bytes differ (or are missing)."""
    return cmp_any({"ref": ref}, other, pattern, subst)[0]


def cmp_any(refs, other, pattern, subst=None):
    """Compare every file matching pattern in the first reference tree with
    the same file under other; a file passes if it equals that file of any
    reference tree in refs ({name: dir}, tried in order; subst=(old, new)
    applied to the reference bytes first). Returns (names that match none,
    {reference name: files matched})."""
    bad, matched = [], {k: 0 for k in refs}
    first = Path(next(iter(refs.values())))
    for f in sorted(first.rglob(pattern)):
        rel = f.relative_to(first)
        o = Path(other) / rel
        got = o.read_bytes() if o.exists() else None
        for name, ref in refs.items():
            r = Path(ref) / rel
            if not r.exists():
                continue
            want = r.read_bytes()
            if subst:
                want = want.replace(subst[0].encode(), subst[1].encode())
            if got == want:
                matched[name] += 1
                break
        else:
            bad.append(str(rel))
    return bad, matched


def fmt_matched(matched):
    return ", ".join(f"{n} {k}" for k, n in matched.items() if n) or "none"


# ---------------------------------------------------------------- facts

def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True,
                              text=True).stdout.strip()
    except Exception as e:  # noqa: BLE001
        return f"? ({e})"


def facts():
    cpu = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "kernel": platform.release(),
        "os": sh(". /etc/os-release && echo $PRETTY_NAME"),
        "gcc": sh(f"{CC} --version | head -1"),
        "g++": sh(f"{CXX} --version | head -1"),
        "ccache": sh(f"{CCACHE} --version | head -1"),
        "objcache": sh(f"{OBJCACHE} --version | head -1"),
        "objcache_commit": sh(f"git -C {Path(__file__).resolve().parent.parent} "
                              "rev-parse --short HEAD"),
        "filesystem": sh(f"df -T {WORK} | tail -1 | awk '{{print $2}}'"),
        "command": os.environ.get("BENCH_COMMAND", "bash bench/compare.sh"),
        "settings": dict(HIT_ROUNDS=HIT_ROUNDS, HITS_PER_ROUND=HITS_PER_ROUND,
                         COLD_ROUNDS=COLD_ROUNDS, WARM_ROUNDS=WARM_ROUNDS,
                         RELOC_ROUNDS=RELOC_ROUNDS, JOBS=JOBS),
    }


# ---------------------------------------------------------------- sources

def prepare_sources():
    fresh_dir(BASE)
    a = BASE / "a"
    a.mkdir()
    zstd = a / "zstd"
    (zstd / "lib").mkdir(parents=True)
    for sub in ["common", "compress", "decompress", "dictBuilder"]:
        shutil.copytree(ZSTD_SRC / "lib" / sub, zstd / "lib" / sub)
    for h in ["zstd.h", "zdict.h", "zstd_errors.h"]:
        shutil.copy(ZSTD_SRC / "lib" / h, zstd / "lib" / h)
    rocks = WORK / "tu" / "rocksdb"
    if rocks.parent.exists():
        shutil.rmtree(rocks.parent)
    rocks.parent.mkdir()
    shutil.copytree(ROCKSDB_SRC, rocks, symlinks=True)
    return zstd, rocks


def c_sources(zstd):
    return sorted(p for sub in ["common", "compress", "decompress", "dictBuilder"]
                  for p in (zstd / "lib" / sub).glob("*.c"))


# ---------------------------------------------------------------- C builds

# Path forms of the zstd build (bench/zstd.mk): "abs" names sources and -I
# directories by absolute path (as CMake does); "rel" names sources
# relative to the tree with absolute -I (the form used before); "rewritten"
# is the command ccache runs for either under base_dir (everything relative),
# built with the plain compiler only, as a reference for the outputs.
MAKE_PATHS = {"abs": ["ABS_SRC=1"], "rel": [], "rewritten": ["REL_INC=1"]}


def make_cmd(tool, paths="abs"):
    cc = " ".join(prefix(tool) + [CC])
    return ["make", "-s", "-f", ZSTD_MK, f"-j{JOBS}", f"CC={cc}"] + MAKE_PATHS[paths]


def clean_objs(tree, sources):
    obj = Path(tree) / "obj"
    if obj.exists():
        shutil.rmtree(obj)
    for s in sources:
        (obj / s.parent.name).mkdir(parents=True, exist_ok=True)


def c_build(tool, tree, env, sources, paths="abs"):
    clean_objs(tree, sources)
    return timed(make_cmd(tool, paths), env, tree)


# ---------------------------------------------------------------- main

def main():
    F = facts()
    log("== machine and versions")
    for k, v in F.items():
        log(f"  {k}: {v}")

    zstd, rocks = prepare_sources()
    sources = c_sources(zstd)
    log(f"  C code base: zstd {ZSTD_SRC} -> {zstd}, {len(sources)} .c files")
    log(f"  C++ TU: {ROCKSDB_SRC}/{TU} -> {rocks}")
    R = {"facts": F}
    caches = WORK / "caches"
    fresh_dir(caches)

    # ------------------------------------------------ C++ single-TU hits
    tu_dir = rocks.parent
    tu_common = ["-O2", "-g", "-std=c++17", "-DNDEBUG=1", "-DOS_LINUX",
                 "-DROCKSDB_PLATFORM_POSIX", "-DROCKSDB_LIB_IO_POSIX",
                 "-DROCKSDB_SUPPORT_THREAD_LOCAL"]
    # Path forms: "abs" (absolute -I and source, base_dir = the TU's
    # directory, as CMake and CI run it), "rel" (the earlier form: absolute
    # -I, source relative to the working directory, no base_dir) and
    # "rewritten" (everything relative: what ccache runs for "abs" under
    # base_dir; plain g++ only, as a reference object).
    tu_paths = {
        "abs": [f"-I{rocks}/include", f"-I{rocks}", "-MD", "-c", f"{rocks}/{TU}"],
        "rel": [f"-I{rocks}/include", f"-I{rocks}", "-MD", "-c", f"rocksdb/{TU}"],
        "rewritten": ["-Irocksdb/include", "-Irocksdb", "-MD", "-c", f"rocksdb/{TU}"],
    }
    R["tu_command"] = {
        k: " ".join([CXX] + tu_common + v + ["-o", "out/<tool>/tu.o"])
        for k, v in tu_paths.items()}
    R["tu_base_dir"] = {"abs": str(tu_dir), "rel": None}
    # fresh_output: the default configuration, with the previous object and
    # .d removed before each hit (by this script, outside the timed process),
    # as after `make clean`; the other variants overwrite the last output,
    # as an edit-compile loop does. Each in both path forms.
    # name: (sloppiness=system_headers, output removed first, path form)
    variants = {}
    for paths in ("abs", "rel"):
        sfx = "" if paths == "abs" else "-rel"
        variants[f"default{sfx}"] = (False, False, paths)
        variants[f"system_headers{sfx}"] = (True, False, paths)
        variants[f"fresh_output{sfx}"] = (False, True, paths)

    def tu_cmd(tool, variant):
        out = f"out/{tool}-{variant}/tu.o"
        return prefix(tool) + [CXX] + tu_common + tu_paths[variants[variant][2]] + ["-o", out]

    log("\n== C++ TU: first compiles (plain, then a miss per cache and variant)")
    for k, v in R["tu_command"].items():
        log(f"  command ({k}): {v}")
    tu_env = {}
    miss = {}
    for paths in ("abs", "rel", "rewritten"):
        (tu_dir / "out" / f"plain-ref-{paths}").mkdir(parents=True)
        w, c = timed([CXX] + tu_common + tu_paths[paths]
                     + ["-o", f"out/plain-ref-{paths}/tu.o"], tool_env("plain"), tu_dir)
        if paths == "abs":
            miss["plain"] = (w, c)
        log(f"  plain g++ ({paths} paths): wall {w:.2f}s cpu {c:.2f}s")
    for variant, (sloppy, _, paths) in variants.items():
        for tool in CACHED:
            env = tool_env(tool, fresh_dir(caches / f"tu-{tool}-{variant}"),
                           basedir=tu_dir if paths == "abs" else False,
                           sloppy=sloppy)
            tu_env[(tool, variant)] = env
            (tu_dir / "out" / f"{tool}-{variant}").mkdir(parents=True)
            w, c = timed(tu_cmd(tool, variant), env, tu_dir)
            miss[f"{tool}-{variant}"] = (w, c)
            log(f"  {tool} miss ({variant}): wall {w:.2f}s cpu {c:.2f}s")
            timed(tu_cmd(tool, variant), env, tu_dir)  # warm-up hit
            if tool == "objcache":
                # One logged hit: why (or whether) direct mode is used.
                logf = WORK / f"objcache-{variant}.log"
                timed(tu_cmd(tool, variant), dict(env, CCACHE_LOGFILE=str(logf)),
                      tu_dir)
                lines = [l.split("] ", 1)[-1] for l in logf.read_text().splitlines()
                         if "hit" in l or "direct mode" in l]
                R.setdefault("objcache_log", {})[variant] = lines
                for l in lines:
                    log(f"    objcache log: {l}")
            zero(tool, env)
    R["tu_miss"] = miss

    log(f"\n== C++ TU hit latency: {HIT_ROUNDS} rounds x {HITS_PER_ROUND} hits, "
        "tools interleaved")
    hits = {(t, v): [] for t in CACHED for v in variants}
    for rnd in range(HIT_ROUNDS):
        for variant, (_, fresh, _) in variants.items():
            for tool in rotate(CACHED, rnd):
                env = tu_env[(tool, variant)]
                for _ in range(HITS_PER_ROUND):
                    if fresh:
                        for suffix in ("o", "d"):
                            (tu_dir / f"out/{tool}-{variant}/tu.{suffix}").unlink()
                    hits[(tool, variant)].append(
                        timed(tu_cmd(tool, variant), env, tu_dir))
        log(f"  round {rnd + 1}/{HIT_ROUNDS} done")
    R["tu_hits"] = {}
    for (tool, variant), xs in hits.items():
        s = stats(tool, tu_env[(tool, variant)])
        d, p, m = hit_summary(s)
        paths = variants[variant][2]
        got = (tu_dir / f"out/{tool}-{variant}/tu.o").read_bytes()
        refs = [paths] + (["rewritten"] if paths == "abs" else [])
        same = [r for r in refs
                if (tu_dir / f"out/plain-ref-{r}/tu.o").read_bytes() == got]
        R["tu_hits"][f"{tool}-{variant}"] = {
            "wall": med([x[0] for x in xs]), "cpu": med([x[1] for x in xs]),
            "n": len(xs), "direct": d, "preprocessed": p, "miss": m,
            "object_equals_plain": same[0] if same else None}
        if not same:
            msg = (f"C++ TU: {tool} ({variant}) object differs from g++'s "
                   f"(run with {' or '.join(refs)} paths)")
            if tool == "objcache":
                errors.append(msg)
            else:
                log(f"  note: {msg}")

    # ------------------------------------------------ C cold builds
    log(f"\n== C cold full builds (absolute paths): {COLD_ROUNDS} rounds, "
        f"fresh cache each round, make -j{JOBS}")
    cold = {t: [] for t in TOOLS}
    c_env = {}
    for rnd in range(COLD_ROUNDS):
        for tool in rotate(TOOLS, rnd):
            cache_dir = fresh_dir(caches / f"c-{tool}") if tool != "plain" else None
            env = tool_env(tool, cache_dir, basedir=True)
            c_env[tool] = env
            w, c = c_build(tool, zstd, env, sources)
            cold[tool].append((w, c))
            s = stats(tool, env)
            log(f"  round {rnd + 1} {tool:8s}: wall {w:6.2f}s cpu {c:6.2f}s"
                + (f"  misses {s.get('cache_miss', 0)}" if s else ""))
            if tool == "plain":
                ref = WORK / "ref-plain"
                if ref.exists():
                    shutil.rmtree(ref)
                shutil.copytree(zstd / "obj", ref)
    R["cold"] = {t: {"wall": med([x[0] for x in v]), "cpu": med([x[1] for x in v]),
                     "runs": v} for t, v in cold.items()}

    # The relative-source form (for the relocated rebuild's second row) has
    # caches of its own, filled by one cold build each; the plain compiler
    # also builds it and the rewritten form, as references.
    log("\n== C cold full builds, other path forms (1 sample; fill the "
        "relative-source caches, reference outputs)")
    c_env_rel = {}
    cold_rel = {}
    refs_c = {"abs": WORK / "ref-plain"}
    for tool, paths in (("plain", "rel"), ("plain", "rewritten"),
                        ("ccache", "rel"), ("objcache", "rel")):
        cache_dir = fresh_dir(caches / f"c-{tool}-rel") if tool != "plain" else None
        env = tool_env(tool, cache_dir, basedir=True)
        w, c = c_build(tool, zstd, env, sources, paths=paths)
        log(f"  {tool:8s} ({paths} paths): wall {w:6.2f}s cpu {c:6.2f}s")
        if tool == "plain":
            ref = WORK / f"ref-plain-{paths}"
            if ref.exists():
                shutil.rmtree(ref)
            shutil.copytree(zstd / "obj", ref)
            refs_c[paths] = ref
        else:
            c_env_rel[tool] = env
            cold_rel[tool] = (w, c)
    R["cold_rel"] = cold_rel
    # Which reference an output may equal, per path form of the build.
    ref_sets = {"abs": {k: refs_c[k] for k in ("abs", "rewritten")},
                "rel": {k: refs_c[k] for k in ("rel", "rewritten")}}
    R["output_matches"] = {}

    def check(what, tool, tree, paths, subst=None):
        """Compare tree's outputs with the plain references; objcache's
        mismatches are failures, ccache's are notes."""
        bad_o, m_o = cmp_any(ref_sets[paths], tree / "obj", "*.o")
        bad_d, m_d = cmp_any(ref_sets[paths], tree / "obj", "*.d", subst=subst)
        key = f"{what}: {tool}"
        prev = R["output_matches"].setdefault(key, {"o": {}, "d": {}})
        for kind, m in (("o", m_o), ("d", m_d)):
            for k, n in m.items():
                prev[kind][k] = prev[kind].get(k, 0) + n
        if tool == "objcache":
            if bad_o:
                errors.append(f"{what}: objcache objects differ from the plain "
                              f"build's: {bad_o[:5]}")
            if bad_d:
                errors.append(f"{what}: objcache .d files differ from what gcc "
                              f"writes there: {bad_d[:5]}")
        elif bad_o or bad_d:
            log(f"  note: ccache outputs differ from plain: "
                f"{len(bad_o)} .o, {len(bad_d)} .d")

    # ------------------------------------------------ C warm rebuilds
    # The caches of the last cold round are warm; every object is a hit.
    log(f"\n== C warm full rebuilds (all hits, absolute paths): {WARM_ROUNDS} rounds")
    warm = {t: [] for t in CACHED}
    for t in CACHED:
        zero(t, c_env[t])
    for rnd in range(WARM_ROUNDS):
        for tool in rotate(CACHED, rnd):
            w, c = c_build(tool, zstd, c_env[tool], sources)
            warm[tool].append((w, c))
            log(f"  round {rnd + 1} {tool:8s}: wall {w:6.2f}s cpu {c:6.2f}s")
            check("warm rebuild", tool, zstd, "abs")
    R["warm"] = {}
    for t, v in warm.items():
        d, p, m = hit_summary(stats(t, c_env[t]))
        R["warm"][t] = {"wall": med([x[0] for x in v]), "cpu": med([x[1] for x in v]),
                        "runs": v, "direct": d, "preprocessed": p, "miss": m}

    # ------------------------------------------------ C relocated rebuilds
    log(f"\n== C rebuild from a relocated copy: {RELOC_ROUNDS} rounds, "
        f"each a fresh copy under {BASE}, absolute and relative-source paths")
    envs = {"abs": c_env, "rel": c_env_rel}
    reloc = {(t, p): [] for p in envs for t in CACHED}
    reloc_hits = {k: [0, 0, 0] for k in reloc}
    a_path = str(zstd)
    for rnd in range(RELOC_ROUNDS):
        for paths in envs:
            for tool in rotate(CACHED, rnd):
                env = envs[paths][tool]
                tree = BASE / f"r{rnd}-{tool}-{paths}" / "zstd"
                shutil.copytree(zstd / "lib", tree / "lib")
                zero(tool, env)
                w, c = c_build(tool, tree, env, sources=c_sources(tree), paths=paths)
                reloc[(tool, paths)].append((w, c))
                d, p, m = hit_summary(stats(tool, env))
                for i, x in enumerate((d, p, m)):
                    reloc_hits[(tool, paths)][i] += x
                log(f"  round {rnd + 1} {paths} {tool:8s}: wall {w:6.2f}s "
                    f"cpu {c:6.2f}s  direct {d} preprocessed {p} miss {m}")
                check(f"relocated ({paths} paths)", tool, tree, paths,
                      subst=(a_path, str(tree)))
                shutil.rmtree(tree.parent)
    R["reloc"] = {}
    for (t, paths), v in reloc.items():
        d, p, m = reloc_hits[(t, paths)]
        R["reloc"][f"{t}-{paths}"] = {
            "wall": med([x[0] for x in v]), "cpu": med([x[1] for x in v]),
            "direct": d, "preprocessed": p, "miss": m,
            "hit_rate": (d + p) / (d + p + m) if d + p + m else 0.0}

    # ------------------------------------------------ profile one hit
    if PROFILE:
        R["profile"] = profile(tu_env, tu_cmd, tu_dir)

    report(R)
    (WORK / "results.json").write_text(json.dumps(R, indent=1, default=str))
    log(f"\nraw results: {WORK / 'results.json'}")
    if errors:
        log("\n!! CORRECTNESS FAILURES:")
        for e in errors:
            log(f"!!   {e}")
        sys.exit(1)
    log("\ncorrectness: objcache objects and .d files equal the plain build's "
        "(warm and relocated rebuilds, C++ TU hits)")


def profile(tu_env, tu_cmd, tu_dir):
    out = {}
    for variant in ("default", "system_headers"):
        for tool in CACHED:
            env = tu_env[(tool, variant)]
            key = f"{tool}-{variant}"
            if shutil.which("strace"):
                f = WORK / f"strace-{key}.txt"
                subprocess.run(["strace", "-c", "-f", "-o", str(f)]
                               + tu_cmd(tool, variant), env=env, cwd=tu_dir,
                               check=True, capture_output=True)
                out[f"strace {key}"] = f.read_text()
            if shutil.which("perf"):
                p = subprocess.run(
                    ["perf", "stat", "-r", "10", "-e",
                     "task-clock,context-switches,page-faults,instructions,cycles"]
                    + tu_cmd(tool, variant), env=env, cwd=tu_dir,
                    capture_output=True, text=True)
                out[f"perf {key}"] = p.stderr
    return out


def fmt_ratio(x, target, le=True):
    ok = x <= target if le else x >= target
    return f"{x:.2f} (target {'≤' if le else '≥'} {target}: {'MET' if ok else 'MISSED'})"


def report(R):
    h = R["tu_hits"]
    log("\n" + "=" * 78)
    log("RESULTS (medians; CPU = user+sys of the whole process tree)")
    log("abs = sources and -I by absolute path, CCACHE_BASEDIR set; rel = the "
        "earlier\nrelative-source form (TU: no base_dir; C: base_dir set)")
    log("=" * 78)
    W = 46
    log(f"\n{'measurement':{W}s} {'tool':20s} {'wall s':>9s} {'CPU s':>9s}  hits d/p/miss")
    labels = (("default", "C++ TU hit, default config"),
              ("system_headers", "C++ TU hit, sloppiness=system_headers"),
              ("fresh_output", "C++ TU hit, output removed first"))
    for sfx, form in (("", "abs"), ("-rel", "rel")):
        for variant, label in labels:
            for t in CACHED:
                x = h[f"{t}-{variant}{sfx}"]
                log(f"{label + ', ' + form:{W}s} {t:20s} {x['wall']:9.4f} "
                    f"{x['cpu']:9.4f}  {x['direct']}/{x['preprocessed']}/{x['miss']}")
    m = R["tu_miss"]
    for k, (w, c) in m.items():
        if k == "plain" or k.endswith(("-default", "-default-rel")):
            log(f"{'C++ TU first compile (1 sample)':{W}s} {k:20s} {w:9.2f} {c:9.2f}")
    for t in TOOLS:
        x = R["cold"][t]
        log(f"{'C cold full build, abs':{W}s} {t:20s} {x['wall']:9.2f} {x['cpu']:9.2f}")
    for t, (w, c) in R["cold_rel"].items():
        log(f"{'C cold full build, rel (1 sample)':{W}s} {t:20s} {w:9.2f} {c:9.2f}")
    for t in CACHED:
        x = R["warm"][t]
        log(f"{'C warm full rebuild, abs':{W}s} {t:20s} {x['wall']:9.3f} {x['cpu']:9.3f}  "
            f"{x['direct']}/{x['preprocessed']}/{x['miss']}")
    for form in ("abs", "rel"):
        for t in CACHED:
            x = R["reloc"][f"{t}-{form}"]
            log(f"{'C relocated rebuild, ' + form:{W}s} {t:20s} {x['wall']:9.3f} "
                f"{x['cpu']:9.3f}  {x['direct']}/{x['preprocessed']}/{x['miss']}  "
                f"hit rate {100 * x['hit_rate']:.1f}%")

    log("\nOUTPUTS: which plain-compiler output each cached tool's equals "
        "(same command / 'rewritten' = the base_dir-relative command ccache runs)")
    for k, v in h.items():
        log(f"  C++ TU {k:30s}: object = {v['object_equals_plain'] or 'NONE'}")
    for k, v in R["output_matches"].items():
        log(f"  C {k:34s}: .o {fmt_matched(v['o'])}; .d {fmt_matched(v['d'])}")

    def r(a, b, key):
        return a[key] / b[key]

    ratios = {}
    for sfx, form in (("", "abs"), ("-rel", "rel")):
        for v in ("default", "system_headers", "fresh_output"):
            o, c = h[f"objcache-{v}{sfx}"], h[f"ccache-{v}{sfx}"]
            ratios[f"hit_cpu_{v}_{form}"] = r(o, c, "cpu")
            ratios[f"hit_wall_{v}_{form}"] = r(o, c, "wall")
    wo, wc_ = R["warm"]["objcache"], R["warm"]["ccache"]
    co, cp_, cc_ = R["cold"]["objcache"], R["cold"]["plain"], R["cold"]["ccache"]
    ratios.update(
        warm_cpu=r(wo, wc_, "cpu"), warm_wall=r(wo, wc_, "wall"),
        cold_vs_plain_wall=r(co, cp_, "wall"), cold_vs_plain_cpu=r(co, cp_, "cpu"),
        cold_vs_ccache_wall=r(co, cc_, "wall"), cold_vs_ccache_cpu=r(co, cc_, "cpu"))
    for form in ("abs", "rel"):
        ratios[f"reloc_objcache_{form}"] = R["reloc"][f"objcache-{form}"]["hit_rate"]
        ratios[f"reloc_ccache_{form}"] = R["reloc"][f"ccache-{form}"]["hit_rate"]
    R["ratios"] = ratios
    log("\nRATIOS objcache / other")
    for form in ("abs", "rel"):
        for v, label in (("default", "default config"),
                         ("system_headers", "system_headers"),
                         ("fresh_output", "output removed first")):
            log(f"  hit latency, CPU, {label + ', ' + form:27s}: "
                f"{fmt_ratio(ratios[f'hit_cpu_{v}_{form}'], 0.5)}  "
                f"(wall {ratios[f'hit_wall_{v}_{form}']:.2f})")
    for label, key, target in (
            ("warm rebuild vs ccache, CPU, abs", "warm_cpu", 0.7),
            ("warm rebuild vs ccache, wall, abs", "warm_wall", 0.7),
            ("cold build vs plain, wall, abs", "cold_vs_plain_wall", 1.05),
            ("cold build vs plain, CPU, abs", "cold_vs_plain_cpu", 1.05),
            ("cold build vs ccache, wall, abs", "cold_vs_ccache_wall", 1.0),
            ("cold build vs ccache, CPU, abs", "cold_vs_ccache_cpu", 1.0)):
        log(f"  {label:45s}: {fmt_ratio(ratios[key], target)}")
    for form in ("abs", "rel"):
        ro, rc = ratios[f"reloc_objcache_{form}"], ratios[f"reloc_ccache_{form}"]
        log(f"  {'relocated hit rate objcache, ' + form:45s}: {100 * ro:.1f}% (target 100%: "
            f"{'MET' if ro >= 1.0 else 'MISSED'}); ccache {100 * rc:.1f}%")
    if "profile" in R:
        log("\nPROFILE of one C++ TU hit, abs paths (strace -c -f; perf stat -r 10)")
        for k, v in R["profile"].items():
            log(f"--- {k}")
            lines = [l for l in v.strip().splitlines() if l.strip()]
            if k.startswith("strace") and len(lines) > 20:
                lines = lines[:17] + ["  ..."] + lines[-2:]
            log("\n".join(lines))


if __name__ == "__main__":
    main()
