"""A fleet on one machine: N builders (processes) start together, each in
its own checkout of the zstd C code base under one base_dir and with its
own EMPTY local cache, all sharing one warm remote (Redis, HTTP via nginx
WebDAV, and S3 when an S3-compatible server is available), as CI runners
sharing a cache server do. The remote is filled by one first builder in
another checkout; then the counters of the server are reset and the fleet
builds.

Reported per backend, fleet size and tool (objcache and ccache 4.x with its
own Redis and HTTP backends, against the same servers, interleaved): the
fleet's wall time (first start to last end), the CPU of every process, the
share of compiles that hit, and the requests per compile as the server
counted them (Redis: INFO commandstats; nginx: its access log; S3: the
server's request log). Every builder's objects are compared with the
first builder's (zstd is built without debug information, so a relocated
object is byte for byte the same).

Run by bench/compare.sh (PARTS=fleet). Settings:
  FLEET_SIZES=8,32   fleet sizes
  FLEET_ROUNDS=3     rounds (tools alternate which goes first)
  FLEET_JOBS=1       make -j of each builder
  FLEET_BACKENDS=redis,http[,s3]   (s3 needs MOTO_SERVER: a moto_server path)
"""

import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import bench as B  # noqa: E402
import remote as R  # noqa: E402
from ports import free_port, wait_port  # noqa: E402

SIZES = [int(x) for x in os.environ.get("FLEET_SIZES", "8,32").split(",")]
ROUNDS = int(os.environ.get("FLEET_ROUNDS", 3))
JOBS = int(os.environ.get("FLEET_JOBS", 1))
BACKENDS = os.environ.get("FLEET_BACKENDS", "redis,http").split(",")
S3_BUCKET = "fleet"


def copy_zstd(dest):
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "lib").mkdir(parents=True)
    for sub in ["common", "compress", "decompress", "dictBuilder"]:
        shutil.copytree(B.ZSTD_SRC / "lib" / sub, dest / "lib" / sub)
    for h in ["zstd.h", "zdict.h", "zstd_errors.h"]:
        shutil.copy(B.ZSTD_SRC / "lib" / h, dest / "lib" / h)
    return dest


class Servers:
    """Redis and nginx from bench/remote.py (nginx with an access log), and
    moto's S3 server when asked for."""

    def __init__(self, work):
        self.work = work
        self.procs, self.urls = R.start_servers(work)
        self.log = work / "access.log"
        self.enable_access_log()
        self.redis_port = int(self.urls["redis"].rsplit(":", 1)[1])
        if "s3" in BACKENDS:
            self.start_s3()

    def enable_access_log(self):
        conf = self.work / "nginx.conf"
        text = conf.read_text().replace("access_log off;", f"access_log {self.log};")
        conf.write_text(text)
        self.log.touch()
        subprocess.run(["nginx", "-c", str(conf), "-p", str(self.work), "-s", "reload"],
                       check=True, stderr=subprocess.DEVNULL)
        # The workers reopen their logs after a reload; give them a moment.
        time.sleep(1)

    def start_s3(self):
        moto = os.environ.get("MOTO_SERVER")
        if not moto:
            raise SystemExit("FLEET_BACKENDS has s3: set MOTO_SERVER to a moto_server")
        port = free_port()
        self.s3_log = self.work / "moto.log"
        self.procs += (subprocess.Popen(
            [moto, "-H", "127.0.0.1", "-p", str(port)],
            stdout=open(self.s3_log, "w"), stderr=subprocess.STDOUT),)
        wait_port(port)
        self.s3_endpoint = f"http://127.0.0.1:{port}"
        subprocess.run(["curl", "-s", "-X", "PUT", f"{self.s3_endpoint}/{S3_BUCKET}"],
                       check=True, stdout=subprocess.DEVNULL)
        self.urls["s3"] = f"s3://{S3_BUCKET}/fleet endpoint={self.s3_endpoint}"

    def redis(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.redis_port), *args],
                              capture_output=True, text=True, check=True).stdout

    def clear(self, backend):
        """Empties the backend, so each tool's warm-up starts from nothing."""
        if backend == "redis":
            self.redis("FLUSHALL")
        elif backend == "http":
            www = self.work / "www"
            shutil.rmtree(www)
            www.mkdir()

    def reset_counts(self, backend):
        if backend == "redis":
            self.redis("CONFIG", "RESETSTAT")
        self.mark = {"http": self.lines(self.log),
                     "s3": self.lines(getattr(self, "s3_log", None))}.get(backend, 0)

    @staticmethod
    def lines(path):
        if path is None or not path.exists():
            return 0
        return sum(1 for _ in open(path, errors="replace"))

    def requests(self, backend):
        """Requests the server answered since reset_counts."""
        if backend == "redis":
            total = 0
            for line in self.redis("INFO", "commandstats").splitlines():
                if line.startswith("cmdstat_") and not line.startswith(
                        ("cmdstat_info", "cmdstat_config")):
                    total += int(line.split("calls=", 1)[1].split(",", 1)[0])
            return total
        if backend == "http":
            return self.lines(self.log) - self.mark
        # moto's server logs one line per request (werkzeug).
        return sum(1 for line in open(self.s3_log, errors="replace")
                   if '" 2' in line or '" 4' in line or '" 5' in line) - self.mark

    def stop(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


def tool_env(tool, cache, url, base):
    env = B.tool_env(tool, B.fresh_dir(cache), basedir=base)
    env["CCACHE_REMOTE_STORAGE"] = url
    if url.startswith("s3://"):
        # moto takes any key pair but refuses anonymous requests.
        env["AWS_ACCESS_KEY_ID"] = "fleet"
        env["AWS_SECRET_ACCESS_KEY"] = "fleet"
    return env


def fleet_build(tool, trees, envs, sources):
    """Starts one make per tree at once; wall from first start to last end
    and CPU of all of them."""
    cc = " ".join(B.prefix(tool) + [B.CC])
    cmd = ["make", "-s", "-f", B.ZSTD_MK, f"-j{JOBS}", f"CC={cc}", "ABS_SRC=1"]
    for tree in trees:
        B.clean_objs(tree, sources)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    procs = [subprocess.Popen(cmd, env=env, cwd=tree, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
             for tree, env in zip(trees, envs)]
    outs = [p.communicate()[0] for p in procs]
    t1 = time.perf_counter()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    for p, out in zip(procs, outs):
        if p.returncode != 0:
            sys.stderr.write(out.decode(errors="replace"))
            raise SystemExit(f"FAILED ({p.returncode}): {' '.join(cmd)}")
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return t1 - t0, cpu


def run_one(servers, backend, tool, n, base, trees, sources, warm_tree):
    url = servers.urls[backend]
    caches = base.parent / "caches"
    servers.clear(backend)
    env = tool_env(tool, caches / "warm", url, base)
    B.c_build(tool, warm_tree, env, sources)
    servers.reset_counts(backend)
    envs = [tool_env(tool, caches / f"b{i}", url, base) for i in range(n)]
    wall, cpu = fleet_build(tool, trees[:n], envs, sources)
    requests = servers.requests(backend)
    hits = misses = 0
    for e in envs:
        d, p, m = B.hit_summary(B.stats(tool, e))
        hits += d + p
        misses += m
    bad = []
    for tree in trees[:n]:
        bad += B.cmp_trees(warm_tree / "obj", tree / "obj", "*.o")
    return dict(wall=wall, cpu=cpu, hits=hits, misses=misses,
                requests=requests, compiles=n * len(sources), bad=len(bad))


def main():
    work = B.WORK / "fleet"
    base = B.fresh_dir(work / "base")
    warm_tree = copy_zstd(base / "warm" / "zstd")
    sources = B.c_sources(warm_tree)
    trees = [copy_zstd(base / f"b{i}" / "zstd") for i in range(max(SIZES))]
    servers = Servers(work / "servers")
    runs = {}
    try:
        for rnd in range(ROUNDS):
            for backend in BACKENDS:
                tools = ["objcache"] if backend == "s3" else B.CACHED
                for n in SIZES:
                    for tool in B.rotate(tools, rnd):
                        r = run_one(servers, backend, tool, n, base, trees, sources, warm_tree)
                        runs.setdefault((backend, n, tool), []).append(r)
            B.log(f"  fleet round {rnd + 1}/{ROUNDS} done")
    finally:
        servers.stop()
    report(runs, len(sources))


def report(runs, per_builder):
    B.log(f"\n== Fleet: N builders start together, each its own checkout and empty "
          f"local cache, one warm remote; zstd ({per_builder} .c files each, "
          f"make -j{JOBS}); medians of {ROUNDS} rounds")
    B.log(f"{'backend':8s} {'N':>3s} {'tool':9s} {'wall s':>7s} {'cpu s':>7s} "
          f"{'hit %':>6s} {'req/compile':>11s} {'wrong obj':>9s}")
    status = 0
    for (backend, n, tool), xs in sorted(runs.items()):
        wall = B.med([x["wall"] for x in xs])
        cpu = B.med([x["cpu"] for x in xs])
        hit = 100.0 * B.med([x["hits"] / x["compiles"] for x in xs])
        req = B.med([x["requests"] / x["compiles"] for x in xs])
        bad = max(x["bad"] for x in xs)
        status |= bad > 0
        B.log(f"{backend:8s} {n:3d} {tool:9s} {wall:7.2f} {cpu:7.2f} {hit:6.1f} "
              f"{req:11.2f} {bad:9d}")
    B.log("\nRatios objcache / ccache (median wall; CPU in parentheses):")
    for (backend, n, tool), xs in sorted(runs.items()):
        if tool != "objcache" or (backend, n, "ccache") not in runs:
            continue
        o, c = xs, runs[(backend, n, "ccache")]
        ow, cw = B.med([x["wall"] for x in o]), B.med([x["wall"] for x in c])
        oc, cc = B.med([x["cpu"] for x in o]), B.med([x["cpu"] for x in c])
        B.log(f"  {backend:6s} N={n:<3d} {ow / cw:.2f} ({oc / cc:.2f})")
    if status:
        raise SystemExit("a builder's object differs from the first builder's")


if __name__ == "__main__":
    main()
