"""Remote-storage benchmark: a warm build of the zstd C code base with an
EMPTY local cache served from a warm Redis or HTTP (nginx WebDAV) server,
against the same build from a warm local cache; objcache and ccache 4.x (its
own redis/http backends) side by side against the same servers, interleaved.

Sources and -I directories are named by absolute path with CCACHE_BASEDIR
set (bench/zstd.mk ABS_SRC=1), as in bench.py.

Run by bench/compare.sh after the main benchmark (REMOTE=0 skips it); the
servers are started here on 127.0.0.1 and stopped at the end.
"""

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import bench as B  # noqa: E402
from ports import free_port, wait_port  # noqa: E402

ROUNDS = int(os.environ.get("REMOTE_ROUNDS", 3))


def start_servers(work):
    work.mkdir(parents=True, exist_ok=True)
    rport, hport = free_port(), free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(work)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    www = work / "www"
    www.mkdir(exist_ok=True)
    conf = work / "nginx.conf"
    conf.write_text(f"""daemon off;
user root;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {work}/body;
  client_max_body_size 512m;
  server {{
    listen 127.0.0.1:{hport};
    location / {{
      root {www};
      dav_methods PUT DELETE;
      create_full_put_path on;
    }}
  }}
}}
""")
    nginx = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(work)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(rport)
    wait_port(hport)
    return (redis, nginx), {"redis": f"redis://127.0.0.1:{rport}",
                           "http": f"http://127.0.0.1:{hport}/cache"}


def main():
    work = B.WORK / "remote"
    zstd = B.BASE / "a" / "zstd"
    if not zstd.exists():
        zstd, _ = B.prepare_sources()
    tree = zstd
    sources = B.c_sources(zstd)
    procs, urls = start_servers(work)
    try:
        results = {}
        caches = work / "caches"
        # Warm each server once per tool (the servers are shared by both tools,
        # but each tool has its own key space), and a local cache per tool.
        for backend, url in urls.items():
            for tool in B.CACHED:
                env = B.tool_env(tool, B.fresh_dir(caches / f"warmup-{tool}-{backend}"),
                                 basedir=True)
                env["CCACHE_REMOTE_STORAGE"] = url
                B.c_build(tool, tree, env, sources)
        local_env = {}
        for tool in B.CACHED:
            local_env[tool] = B.tool_env(tool, B.fresh_dir(caches / f"local-{tool}"),
                                         basedir=True)
            B.c_build(tool, tree, local_env[tool], sources)
        runs = {}
        for rnd in range(ROUNDS):
            for tool in B.rotate(B.CACHED, rnd):
                w, c = B.c_build(tool, tree, local_env[tool], sources)
                runs.setdefault((tool, "warm local"), []).append((w, c))
                for backend, url in urls.items():
                    env = B.tool_env(tool, B.fresh_dir(caches / f"empty-{tool}-{backend}"),
                                     basedir=True)
                    env["CCACHE_REMOTE_STORAGE"] = url
                    w, c = B.c_build(tool, tree, env, sources)
                    s = B.stats(tool, env)
                    d, p, m = B.hit_summary(s)
                    runs.setdefault((tool, f"empty local + warm {backend}"), []).append(
                        (w, c, d + p, m))
            B.log(f"  remote round {rnd + 1}/{ROUNDS} done")
        B.log("\n== Remote storage: warm build of zstd (30 .c files, make -j%d), "
              "empty local cache" % B.JOBS)
        B.log(f"{'setup':34s} {'tool':9s} {'wall s':>8s} {'cpu s':>8s} {'hits':>6s} {'misses':>7s}")
        for (tool, setup), xs in sorted(runs.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            wall = B.med([x[0] for x in xs])
            cpu = B.med([x[1] for x in xs])
            hits = xs[-1][2] if len(xs[-1]) > 2 else len(sources)
            miss = xs[-1][3] if len(xs[-1]) > 3 else 0
            results[(tool, setup)] = (wall, cpu)
            B.log(f"{setup:34s} {tool:9s} {wall:8.3f} {cpu:8.3f} {hits:6d} {miss:7d}")
        B.log("\nRatios (median CPU; wall in parentheses):")
        for backend in urls:
            key = f"empty local + warm {backend}"
            o = results[("objcache", key)]
            c = results[("ccache", key)]
            ol = results[("objcache", "warm local")]
            B.log(f"  {backend:5s}: objcache remote / objcache local = {o[1] / ol[1]:.2f} "
                  f"({o[0] / ol[0]:.2f});  objcache / ccache = {o[1] / c[1]:.2f} ({o[0] / c[0]:.2f})")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    main()
