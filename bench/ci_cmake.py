"""The CI case on a CMake project (issue 26), part of bench/ci.py: libgit2
(the libgit2-sys crate's copy, fetched by bench/compare.sh) built by its own
CMake files with Ninja and CMAKE_C_COMPILER_LAUNCHER, under
CCACHE_BASEDIR=<base> with CCACHE_NOHASHDIR=1.

  1. checkout A = <base>/a/libgit2: each cache configures and builds it with
     an empty cache (one tool after the other in the same build directory,
     so that their objects can be compared), and the filled cache is saved
     as a tar;
  2. root B = <base>/b/libgit2 is configured once per tool (the no-op
     compiler, ccache, objcache as the launcher), and the configured build
     directory kept aside;
  3. CI_CMAKE_ROUNDS rounds, tools interleaved: B is moved aside, the sources
     copied to it again (`cp -r`: fresh stamps), the tool's configured build
     directory put back (its files stamped one instant after the sources',
     so that Ninja does not re-run CMake), the cache restored from the tar
     to a new directory; only then is `ninja -j$JOBS <every object>` timed.

The configure step is not timed, and is done once per tool rather than per
round (about 20 s each on the 2-core machine): B's path is the same in
every round, but nothing of an earlier round's build survives in the caches,
which come from the tar each time. Only the compile steps are built: the
link steps are no cache's business, and with the no-op compiler's empty
objects they could not run. The no-op compiler as the launcher gives
Ninja's own share; CMake does not use the launcher for its compiler checks,
so the configuration is the same as with the caches (checked: the
generated git2_features.h is identical).

Every objcache object of a B build must equal objcache's from A (what the
compiler wrote when the entry was stored), and every compile must be a hit;
ccache's objects are compared with its own from A, reported in the same way.
"""

import os
import subprocess
import time
from pathlib import Path

from cmake import CMAKE_OPTIONS  # bench/cmake.py: the libgit2 options

CONFIG = os.environ.get("CI_CMAKE_CONFIG") or (
    "Debug" if os.environ.get("QUICK", "0") == "1" else "RelWithDebInfo")
ROUNDS = int(os.environ.get("CI_CMAKE_ROUNDS", 2 if os.environ.get("QUICK", "0") == "1" else 5))


class Part:
    def __init__(self, R, ci):
        self.R, self.ci, self.B = R, ci, ci.B
        self.src = Path(os.environ["LIBGIT2_SRC"])
        self.a = ci.BASE / "a" / "libgit2"
        self.b = ci.BASE / "b" / "libgit2"
        self.work = ci.WORK / "cmake"
        self.work.mkdir()
        self.targets = None

    def configure(self, root, tool, env):
        launcher = {"noop": self.ci.NOOP, "ccache": self.B.CCACHE,
                    "objcache": self.B.OBJCACHE}[tool]
        cmd = ["cmake", "-S", str(root), "-B", str(root / "build"), "-G", "Ninja",
               f"-DCMAKE_BUILD_TYPE={CONFIG}", f"-DCMAKE_C_COMPILER={self.B.CC}",
               f"-DCMAKE_C_COMPILER_LAUNCHER={launcher}"] + CMAKE_OPTIONS
        w, _, _ = self.ci.run_timed(cmd, env, root)
        return w

    def object_targets(self, build):
        out = subprocess.run(["ninja", "-t", "targets", "all"], cwd=build,
                             capture_output=True, text=True, check=True).stdout
        return [line.split(": ")[0] for line in out.splitlines()
                if ": C_COMPILER__" in line]

    def ninja(self, tool, env, build):
        """The timed build of every object; (wall, cpu, d/p/miss or None)."""
        cache = tool != "noop"
        before = self.B.stats(tool, env) if cache else None
        w, c, out = self.ci.run_timed(["ninja", f"-j{self.B.JOBS}"] + self.targets, env, build)
        if "Re-running CMake" in out:
            self.ci.errors.append(f"libgit2: ninja re-ran CMake in {build} (stamps)")
        return w, c, self.ci.hits(tool, env, before) if cache else None

    def fill(self):
        ci = self.ci
        self.a.parent.mkdir(parents=True, exist_ok=True)
        ci.sh("cp", "-r", self.src, self.a)
        tars, fills = {}, {}
        for tool in self.B.CACHED:
            cache = self.B.fresh_dir(ci.SEEDS / f"cmake-{tool}")
            env = ci.env_of(tool, cache)
            cfg = self.configure(self.a, tool, env)
            if self.targets is None:
                self.targets = self.object_targets(self.a / "build")
            w, c, got = self.ninja(tool, env, self.a / "build")
            fills[tool] = {"configure": cfg, "wall": w, "cpu": c, "hits": got}
            ci.log(f"  {tool} fills its cache in A: configure {cfg:.1f}s, "
                   f"build wall {w:.2f}s cpu {c:.2f}s  d/p/miss {got}")
            (self.a / "build").rename(self.work / f"A-{tool}")
            tars[tool] = ci.save_seed(cache)
        return tars, fills

    def snapshots(self):
        """B configured once per tool; the build directories kept aside."""
        ci = self.ci
        for tool in ci.TOOLS:
            self.copy_b()
            env = ci.env_of(tool, self.work / "configure-cache")
            cfg = self.configure(self.b, tool, env)
            (self.b / "build").rename(self.work / f"B-{tool}")
            ci.log(f"  B configured for {tool}: {cfg:.1f}s (not timed in the figures)")

    def copy_b(self):
        """B's sources, copied anew (`cp -r`: fresh stamps)."""
        if self.b.exists():
            self.ci.discard(self.b)
        self.b.parent.mkdir(parents=True, exist_ok=True)
        self.ci.sh("cp", "-r", self.src, self.b)

    def fresh_b(self, tool):
        """B's sources copied anew, then the tool's configured build
        directory, all its files stamped at one instant after the sources."""
        self.copy_b()
        build = self.b / "build"
        self.ci.sh("cp", "-r", self.work / f"B-{tool}", build)
        newest = max(p.lstat().st_mtime_ns for p in self.b.rglob("*") if build not in p.parents)
        now = max(time.time_ns(), newest + 1)
        for p in [build, *build.rglob("*")]:
            os.utime(p, ns=(now, now), follow_symlinks=False)
        return build

    def check(self, tool, build):
        ref = self.work / f"A-{tool}"
        bad = [str(p.relative_to(ref)) for p in ref.rglob("*.o")
               if not (build / p.relative_to(ref)).is_file()
               or (build / p.relative_to(ref)).read_bytes() != p.read_bytes()]
        if bad and tool == "objcache":
            self.ci.errors.append(f"libgit2 CI case: objcache objects differ from "
                                  f"those it stored in A: {bad[:5]}")
        return len(bad)

    def rounds(self, tars):
        ci, n = self.ci, len(self.targets)
        runs = {t: [] for t in ci.TOOLS}
        for rnd in range(ROUNDS):
            for tool in self.B.rotate(ci.TOOLS, rnd):
                build = self.fresh_b(tool)
                name = f"cmake-{rnd:02d}-{ci.TOOLS.index(tool)}"
                cache = ci.restore_seed(tars[tool], name) if tool in tars else None
                env = ci.env_of(tool, cache)
                w, c, got = self.ninja(tool, env, build)
                r = {"wall": w, "cpu": c, "hits": got}
                if cache:
                    ci.all_hits("libgit2 CI case", tool, got, n)
                    r["differ"] = self.check(tool, build)
                    ci.discard(cache.parent)
                runs[tool].append(r)
                ci.log(f"  round {rnd + 1} {tool:8s}: wall {w:6.3f}s cpu {c:6.3f}s"
                       + (f"  d/p/miss {got}, objects differing from A's {r['differ']}"
                          if got else ""))
        ci.discard(self.b)
        return runs


def run(R, ci):
    B = ci.B
    p = Part(R, ci)
    ci.log(f"\n== libgit2 ({p.src}), CMake {CONFIG} + Ninja -j{B.JOBS}, the CI case: "
           f"fills in A, then {ROUNDS} rounds in a fresh B")
    tars, fills = p.fill()
    p.snapshots()
    runs = p.rounds(tars)
    R["cmake"] = {"fill": fills, "runs": runs}
    R["cmake_s"] = ci.summarize(runs)
    R["cmake_facts"] = {"config": CONFIG, "objects": len(p.targets), "rounds": ROUNDS,
                        "cmake": B.sh("cmake --version | head -1"),
                        "ninja": B.sh("ninja --version")}
