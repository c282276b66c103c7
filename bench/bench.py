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
ZSTD_SRC = Path(os.environ["ZSTD_SRC"])
ROCKSDB_SRC = Path(os.environ["ROCKSDB_SRC"])
# The header-heavy C++ translation unit for the hit-latency measurement
# (rocksdb-relative). The default reads ~410 headers and makes a ~2 MB object,
# like the TU the hit-latency target was set on; db/db_impl/db_impl.cc (about
# 1,000 headers, 23 MB object) is the large-object case.
TU = os.environ.get("TU", "table/block_based/block.cc")
ZSTD_MK = os.environ["ZSTD_MK"]
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
        env["CCACHE_BASEDIR"] = str(BASE)
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
    bad = []
    for f in sorted(Path(ref).rglob(pattern)):
        rel = f.relative_to(ref)
        o = Path(other) / rel
        want = f.read_bytes()
        if subst:
            want = want.replace(subst[0].encode(), subst[1].encode())
        if not o.exists() or o.read_bytes() != want:
            bad.append(str(rel))
    return bad


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

def make_cmd(tool):
    cc = " ".join(prefix(tool) + [CC])
    return ["make", "-s", "-f", ZSTD_MK, f"-j{JOBS}", f"CC={cc}"]


def clean_objs(tree, sources):
    obj = Path(tree) / "obj"
    if obj.exists():
        shutil.rmtree(obj)
    for s in sources:
        (obj / s.parent.name).mkdir(parents=True, exist_ok=True)


def c_build(tool, tree, env, sources):
    clean_objs(tree, sources)
    return timed(make_cmd(tool), env, tree)


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
    tu_flags = ["-O2", "-g", "-std=c++17", "-DNDEBUG=1", "-DOS_LINUX",
                "-DROCKSDB_PLATFORM_POSIX", "-DROCKSDB_LIB_IO_POSIX",
                "-DROCKSDB_SUPPORT_THREAD_LOCAL",
                f"-I{rocks}/include", f"-I{rocks}", "-MD", "-c",
                f"rocksdb/{TU}"]
    R["tu_command"] = " ".join([CXX] + tu_flags + ["-o", "out/<tool>/tu.o"])
    # fresh_output: the default configuration, with the previous object and
    # .d removed before each hit (by this script, outside the timed process),
    # as after `make clean`; the other variants overwrite the last output,
    # as an edit-compile loop does.
    variants = {"default": False, "system_headers": True, "fresh_output": False}

    def tu_cmd(tool, variant):
        out = f"out/{tool}-{variant}/tu.o"
        return prefix(tool) + [CXX] + tu_flags + ["-o", out]

    log("\n== C++ TU: first compiles (plain, then a miss per cache and variant)")
    tu_env = {}
    miss = {}
    (tu_dir / "out" / "plain-ref").mkdir(parents=True)
    w, c = timed([CXX] + tu_flags + ["-o", "out/plain-ref/tu.o"],
                 tool_env("plain"), tu_dir)
    miss["plain"] = (w, c)
    log(f"  plain g++: wall {w:.2f}s cpu {c:.2f}s")
    for variant, sloppy in variants.items():
        for tool in CACHED:
            env = tool_env(tool, fresh_dir(caches / f"tu-{tool}-{variant}"),
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
        for variant in variants:
            for tool in rotate(CACHED, rnd):
                env = tu_env[(tool, variant)]
                for _ in range(HITS_PER_ROUND):
                    if variant == "fresh_output":
                        for suffix in ("o", "d"):
                            (tu_dir / f"out/{tool}-{variant}/tu.{suffix}").unlink()
                    hits[(tool, variant)].append(
                        timed(tu_cmd(tool, variant), env, tu_dir))
        log(f"  round {rnd + 1}/{HIT_ROUNDS} done")
    R["tu_hits"] = {}
    ref_obj = (tu_dir / "out/plain-ref/tu.o").read_bytes()
    for (tool, variant), xs in hits.items():
        s = stats(tool, tu_env[(tool, variant)])
        d, p, m = hit_summary(s)
        R["tu_hits"][f"{tool}-{variant}"] = {
            "wall": med([x[0] for x in xs]), "cpu": med([x[1] for x in xs]),
            "n": len(xs), "direct": d, "preprocessed": p, "miss": m}
        if (tu_dir / f"out/{tool}-{variant}/tu.o").read_bytes() != ref_obj:
            errors.append(f"C++ TU: {tool} ({variant}) object differs from g++'s")

    # ------------------------------------------------ C cold builds
    log(f"\n== C cold full builds: {COLD_ROUNDS} rounds, fresh cache each round, "
        f"make -j{JOBS}")
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

    # ------------------------------------------------ C warm rebuilds
    # The caches of the last cold round are warm; every object is a hit.
    log(f"\n== C warm full rebuilds (all hits): {WARM_ROUNDS} rounds")
    warm = {t: [] for t in CACHED}
    for t in CACHED:
        zero(t, c_env[t])
    for rnd in range(WARM_ROUNDS):
        for tool in rotate(CACHED, rnd):
            w, c = c_build(tool, zstd, c_env[tool], sources)
            warm[tool].append((w, c))
            log(f"  round {rnd + 1} {tool:8s}: wall {w:6.2f}s cpu {c:6.2f}s")
            bad_o = cmp_trees(WORK / "ref-plain", zstd / "obj", "*.o")
            bad_d = cmp_trees(WORK / "ref-plain", zstd / "obj", "*.d")
            if bad_o and tool == "objcache":
                errors.append(f"warm rebuild: objcache objects differ from the "
                              f"plain build: {bad_o[:5]}")
            if bad_d and tool == "objcache":
                errors.append(f"warm rebuild: objcache .d files differ from the "
                              f"plain build: {bad_d[:5]}")
            if (bad_o or bad_d) and tool == "ccache":
                log(f"  note: ccache outputs differ from plain: "
                    f"{len(bad_o)} .o, {len(bad_d)} .d")
    R["warm"] = {}
    for t, v in warm.items():
        d, p, m = hit_summary(stats(t, c_env[t]))
        R["warm"][t] = {"wall": med([x[0] for x in v]), "cpu": med([x[1] for x in v]),
                        "runs": v, "direct": d, "preprocessed": p, "miss": m}

    # ------------------------------------------------ C relocated rebuilds
    log(f"\n== C rebuild from a relocated copy: {RELOC_ROUNDS} rounds, "
        f"each a fresh copy under {BASE}")
    reloc = {t: [] for t in CACHED}
    reloc_hits = {t: [0, 0, 0] for t in CACHED}
    a_path = str(zstd)
    for rnd in range(RELOC_ROUNDS):
        for tool in rotate(CACHED, rnd):
            tree = BASE / f"r{rnd}-{tool}" / "zstd"
            shutil.copytree(zstd / "lib", tree / "lib")
            zero(tool, c_env[tool])
            w, c = c_build(tool, tree, c_env[tool], sources=c_sources(tree))
            reloc[tool].append((w, c))
            d, p, m = hit_summary(stats(tool, c_env[tool]))
            for i, x in enumerate((d, p, m)):
                reloc_hits[tool][i] += x
            log(f"  round {rnd + 1} {tool:8s}: wall {w:6.2f}s cpu {c:6.2f}s  "
                f"direct {d} preprocessed {p} miss {m}")
            bad_o = cmp_trees(WORK / "ref-plain", tree / "obj", "*.o")
            bad_d = cmp_trees(WORK / "ref-plain", tree / "obj", "*.d",
                              subst=(a_path, str(tree)))
            if tool == "objcache" and bad_o:
                errors.append(f"relocated: objcache objects differ from the "
                              f"plain build: {bad_o[:5]}")
            if tool == "objcache" and bad_d:
                errors.append(f"relocated: objcache .d files differ from what "
                              f"gcc writes there: {bad_d[:5]}")
            if tool == "ccache" and (bad_o or bad_d):
                log(f"  note: ccache outputs differ from plain: "
                    f"{len(bad_o)} .o, {len(bad_d)} .d")
            shutil.rmtree(tree.parent)
    R["reloc"] = {}
    for t in CACHED:
        d, p, m = reloc_hits[t]
        v = reloc[t]
        R["reloc"][t] = {"wall": med([x[0] for x in v]), "cpu": med([x[1] for x in v]),
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
    log("=" * 78)
    log(f"\n{'measurement':40s} {'tool':24s} {'wall s':>9s} {'CPU s':>9s}  hits d/p/miss")
    for variant, label in (("default", "C++ TU hit, default config"),
                           ("system_headers", "C++ TU hit, sloppiness=system_headers"),
                           ("fresh_output", "C++ TU hit, output removed first")):
        for t in CACHED:
            x = h[f"{t}-{variant}"]
            log(f"{label:40s} {t:24s} {x['wall']:9.4f} {x['cpu']:9.4f}  "
                f"{x['direct']}/{x['preprocessed']}/{x['miss']}")
    m = R["tu_miss"]
    for k, (w, c) in m.items():
        log(f"{'C++ TU first compile (1 sample)':40s} {k:24s} {w:9.2f} {c:9.2f}")
    for t in TOOLS:
        x = R["cold"][t]
        log(f"{'C cold full build':40s} {t:24s} {x['wall']:9.2f} {x['cpu']:9.2f}")
    for t in CACHED:
        x = R["warm"][t]
        log(f"{'C warm full rebuild':40s} {t:24s} {x['wall']:9.3f} {x['cpu']:9.3f}  "
            f"{x['direct']}/{x['preprocessed']}/{x['miss']}")
    for t in CACHED:
        x = R["reloc"][t]
        log(f"{'C relocated rebuild':40s} {t:24s} {x['wall']:9.3f} {x['cpu']:9.3f}  "
            f"{x['direct']}/{x['preprocessed']}/{x['miss']}  "
            f"hit rate {100 * x['hit_rate']:.1f}%")

    hd = h["objcache-default"]["cpu"] / h["ccache-default"]["cpu"]
    hs = h["objcache-system_headers"]["cpu"] / h["ccache-system_headers"]["cpu"]
    hf = h["objcache-fresh_output"]["cpu"] / h["ccache-fresh_output"]["cpu"]
    hfw = h["objcache-fresh_output"]["wall"] / h["ccache-fresh_output"]["wall"]
    hdw = h["objcache-default"]["wall"] / h["ccache-default"]["wall"]
    hsw = h["objcache-system_headers"]["wall"] / h["ccache-system_headers"]["wall"]
    wc = R["warm"]["objcache"]["cpu"] / R["warm"]["ccache"]["cpu"]
    ww = R["warm"]["objcache"]["wall"] / R["warm"]["ccache"]["wall"]
    cp = R["cold"]["objcache"]["wall"] / R["cold"]["plain"]["wall"]
    cpc = R["cold"]["objcache"]["cpu"] / R["cold"]["plain"]["cpu"]
    cc = R["cold"]["objcache"]["wall"] / R["cold"]["ccache"]["wall"]
    ccc = R["cold"]["objcache"]["cpu"] / R["cold"]["ccache"]["cpu"]
    ro = R["reloc"]["objcache"]["hit_rate"]
    rc = R["reloc"]["ccache"]["hit_rate"]
    R["ratios"] = dict(hit_cpu_default=hd, hit_cpu_system_headers=hs,
                       hit_wall_default=hdw, hit_wall_system_headers=hsw,
                       hit_cpu_fresh_output=hf, hit_wall_fresh_output=hfw,
                       warm_cpu=wc, warm_wall=ww, cold_vs_plain_wall=cp,
                       cold_vs_plain_cpu=cpc, cold_vs_ccache_wall=cc,
                       cold_vs_ccache_cpu=ccc, reloc_objcache=ro, reloc_ccache=rc)
    log("\nRATIOS objcache / other")
    log(f"  hit latency, CPU, default config       : {fmt_ratio(hd, 0.5)}  (wall {hdw:.2f})")
    log(f"  hit latency, CPU, system_headers       : {fmt_ratio(hs, 0.5)}  (wall {hsw:.2f})")
    log(f"  hit latency, CPU, output removed first : {fmt_ratio(hf, 0.5)}  (wall {hfw:.2f})")
    log(f"  warm rebuild vs ccache, CPU            : {fmt_ratio(wc, 0.7)}")
    log(f"  warm rebuild vs ccache, wall           : {fmt_ratio(ww, 0.7)}")
    log(f"  cold build vs plain, wall              : {fmt_ratio(cp, 1.05)}")
    log(f"  cold build vs plain, CPU               : {fmt_ratio(cpc, 1.05)}")
    log(f"  cold build vs ccache, wall             : {fmt_ratio(cc, 1.0)}")
    log(f"  cold build vs ccache, CPU              : {fmt_ratio(ccc, 1.0)}")
    log(f"  relocated hit rate objcache            : {100 * ro:.1f}% (target 100%: "
        f"{'MET' if ro >= 1.0 else 'MISSED'}); ccache {100 * rc:.1f}%")
    if "profile" in R:
        log("\nPROFILE of one C++ TU hit (strace -c -f; perf stat -r 10)")
        for k, v in R["profile"].items():
            log(f"--- {k}")
            lines = [l for l in v.strip().splitlines() if l.strip()]
            if k.startswith("strace") and len(lines) > 20:
                lines = lines[:17] + ["  ..."] + lines[-2:]
            log("\n".join(lines))

if __name__ == "__main__":
    main()
