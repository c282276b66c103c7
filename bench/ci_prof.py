"""Where a hit's time goes in the CI case and in the warm rebuild in place
(part of bench/ci.py, PROFILE=1): for ccache and objcache,

  - `strace -c -f` of one hit of zstd_compress.c (the TU with the most
    headers), in checkout A with its warm cache (object removed first) and
    as the first compile in a fresh copy with the cache restored from the
    tar;
  - `strace -c -f` of a whole build of the C tree, both ways (system calls
    per compile = total / TUs);
  - `perf record -e cpu-clock` of a whole build, both ways, objcache's and
    ccache's processes only (`perf report --comm`): objcache's functions by
    inclusive share (DWARF call graphs), ccache's top symbols.

The figures are not timed: tracing slows every call.
"""

import shutil
import subprocess

TU = "zstd/lib/compress/zstd_compress.c"
TOP = 14


def tu_cmd(ci, tool, tree):
    tool_path = {"ccache": ci.B.CCACHE, "objcache": ci.B.OBJCACHE}[tool]
    return [tool_path, ci.B.CC, "-O2", f"-I{tree}/zstd/lib", f"-I{tree}/zstd/lib/common",
            f"-I{tree}/zstd/lib/legacy", "-MD", "-c", f"{tree}/{TU}",
            "-o", "obj/" + TU[:-2] + ".o"]


def strace(ci, cmd, env, cwd, name):
    out = ci.WORK / f"strace-{name}.txt"
    subprocess.run(["strace", "-c", "-f", "-o", str(out)] + cmd, env=env, cwd=cwd,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return out.read_text()


def strace_summary(text, divide=1):
    """The total and the top system calls by count, per `divide` compiles."""
    rows = []
    total = None
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 5 and f[-1] == "total":
            total = int(f[3])
        elif len(f) >= 5 and f[0][0].isdigit() and not line.startswith("-"):
            calls = int(f[3])
            rows.append((calls, f[-1]))
    rows.sort(reverse=True)
    per = divide or 1
    top = ", ".join(f"{name} {calls / per:.0f}" for calls, name in rows[:TOP])
    return f"{(total or 0) / per:.0f} calls: {top}"


def perf(ci, cmd, env, cwd, name, comm):
    """objcache: the inclusive share of its own functions (DWARF call
    graphs: the release binary has symbols, no frame pointers); ccache
    (no symbols of its own): the flat profile."""
    data = ci.WORK / f"perf-{name}.data"
    graph = ["--call-graph", "dwarf,16384"] if comm == "objcache" else []
    subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", "4000", "-o", str(data)]
                   + graph + ["--"] + cmd, env=env, cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    view = ["--children", "-g", "none"] if graph else ["--no-children"]
    rep = subprocess.run(["perf", "report", "-i", str(data), "--comm", comm, "--stdio",
                          "--percentage", "relative", "--sort", "sym", "--percent-limit", "1.5"]
                         + view, capture_output=True, text=True).stdout
    lines = [line.rstrip() for line in rep.splitlines()
             if line.strip() and not line.startswith("#")]
    if graph:
        outer = ("main_with_args", "run_with_settings", "compile_guarded")
        lines = [line for line in lines
                 if "objcache::" in line and not any(o in line for o in outer)]
    samples = next((line for line in rep.splitlines() if line.startswith("# Samples")), "")
    return [samples.strip("# ")] + lines[:TOP]


def fresh(ci, tool, tars, name):
    """A fresh copy of the tree and the restored cache: (tree, env)."""
    tree = ci.BASE / name / "src"
    ci.copy_tree(tree)
    ci.clean_objs(tree)
    cache = ci.restore_seed(tars[tool], name)
    return tree, ci.env_of(tool, cache)


def drop(ci, name):
    for d in (ci.BASE / name, ci.RESTORED / name):
        if d.exists():
            shutil.rmtree(d)


def make_cmd(ci, tool):
    return ["make", "-s", "-f", ci.CI_MK, f"-j{ci.B.JOBS}",
            f"CC={ {'ccache': ci.B.CCACHE, 'objcache': ci.B.OBJCACHE}[tool]} {ci.B.CC}"]


def one_hits(ci, tars, out):
    n = 0
    for tool in ci.B.CACHED:
        env = ci.env_of(tool, ci.SEEDS / tool)
        ci.clean_objs(ci.A)
        out[f"strace one hit, warm in place, {tool}"] = strace_summary(
            strace(ci, tu_cmd(ci, tool, ci.A), env, ci.A, f"tu-warm-{tool}"))
        name = f"prof-tu-{tool}"
        tree, env = fresh(ci, tool, tars, name)
        out[f"strace one hit, CI case (first compile in the copy), {tool}"] = strace_summary(
            strace(ci, tu_cmd(ci, tool, tree), env, tree, f"tu-ci-{tool}"))
        drop(ci, name)
        n += 1
    return n


def builds(ci, tars, out, n_tus):
    have_perf = shutil.which("perf") is not None
    for tool in ci.B.CACHED:
        comm = "ccache" if tool == "ccache" else "objcache"
        env = ci.env_of(tool, ci.SEEDS / tool)
        ci.clean_objs(ci.A)
        out[f"strace whole build per compile, warm in place, {tool}"] = strace_summary(
            strace(ci, make_cmd(ci, tool), env, ci.A, f"build-warm-{tool}"), n_tus)
        if have_perf:
            ci.clean_objs(ci.A)
            out[f"perf whole build, warm in place, {tool}"] = perf(
                ci, make_cmd(ci, tool), env, ci.A, f"warm-{tool}", comm)
        for how in ("strace", "perf") if have_perf else ("strace",):
            name = f"prof-{how}-{tool}"
            tree, env = fresh(ci, tool, tars, name)
            if how == "strace":
                out[f"strace whole build per compile, CI case, {tool}"] = strace_summary(
                    strace(ci, make_cmd(ci, tool), env, tree, f"build-ci-{tool}"), n_tus)
            else:
                out[f"perf whole build, CI case, {tool}"] = perf(
                    ci, make_cmd(ci, tool), env, tree, f"ci-{tool}", comm)
            drop(ci, name)


def run(R, ci, tars):
    if not shutil.which("strace"):
        ci.log("\n(no strace: no profile)")
        return {}
    ci.log("\n== profile (strace -c -f, perf record): one hit and whole builds, "
           "warm in place and the CI case")
    out = {}
    one_hits(ci, tars, out)
    builds(ci, tars, out, R["tus"])
    for k, v in out.items():
        ci.log(f"--- {k}")
        ci.log(v if isinstance(v, str) else "\n".join(v))
    return out
