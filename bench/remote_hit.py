"""Per-hit latency of a remote hit, one backend next to the other: one
compile of a small C file through objcache with an EMPTY local cache
against a warm server (Redis, HTTP on nginx WebDAV, S3 on moto, S3 on
s3s-fs), and a warm local hit and a plain compile for scale. Runs are
interleaved (each round visits every setup, in a rotated order) and the
median of each setup is reported.

    python3 bench/remote_hit.py [ROUNDS]        # default 15

Needs target/release/objcache (or OBJCACHE=path), redis-server, nginx and
the test servers of scripts/install-test-deps.sh (OBJCACHE_TEST_DEPS).
Everything listens on 127.0.0.1 and is stopped at the end.
"""

import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from ports import free_port, wait_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OBJCACHE = os.environ.get("OBJCACHE", str(ROOT / "target/release/objcache"))
DEPS = Path(os.environ.get("OBJCACHE_TEST_DEPS")
            or Path.home() / ".cache/objcache-test-deps")
KEY = ("OBJCACHETESTKEY", "objcache/test+Secret")
SOURCE = """#include <stdio.h>
#include <string.h>
struct point { int x, y; };
int dist2(struct point a, struct point b) {
    int dx = a.x - b.x, dy = a.y - b.y;
    return dx * dx + dy * dy;
}
int main(int argc, char **argv) {
    printf("%d %zu\\n", dist2((struct point){argc, 2}, (struct point){3, 4}),
           strlen(argv[0]));
    return 0;
}
"""


def start(work):
    """The servers, and the `remote_storage` value for each."""
    procs, urls = [], {}
    rport, hport, mport, sport = (free_port() for _ in range(4))
    procs.append(subprocess.Popen(
        ["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(work)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    urls["Redis"] = f"redis://127.0.0.1:{rport}"
    for d in ("www", "body", "logs"):
        (work / d).mkdir(exist_ok=True)
    (work / "nginx.conf").write_text(f"""daemon off;
user root;
pid {work}/nginx.pid;
error_log {work}/logs/error.log;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {work}/body;
  server {{
    listen 127.0.0.1:{hport};
    location / {{ root {work}/www; dav_methods PUT DELETE; create_full_put_path on; }}
  }}
}}
""")
    procs.append(subprocess.Popen(["nginx", "-c", str(work / "nginx.conf"), "-p", str(work)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    urls["HTTP (nginx)"] = f"http://127.0.0.1:{hport}/cache"
    procs.append(subprocess.Popen(
        [str(DEPS / "venv/bin/moto_server"), "-H", "127.0.0.1", "-p", str(mport)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    urls["S3 (moto)"] = f"s3://cache/objcache endpoint=http://127.0.0.1:{mport}"
    (work / "s3s" / "cache").mkdir(parents=True, exist_ok=True)
    procs.append(subprocess.Popen(
        [str(DEPS / "s3s/bin/s3s-fs"), "--host", "127.0.0.1", "--port", str(sport),
         "--access-key", KEY[0], "--secret-key", KEY[1], str(work / "s3s")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    urls["S3 (s3s-fs)"] = f"s3://cache/objcache endpoint=http://127.0.0.1:{sport}"
    for port in (rport, hport, mport, sport):
        wait_port(port, timeout=20.0)
    conn = http.client.HTTPConnection("127.0.0.1", mport, timeout=10)
    conn.request("PUT", "/cache")
    assert conn.getresponse().status == 200, "moto: CreateBucket"
    return procs, urls


def env_for(cache, remote):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CCACHE_", "OBJCACHE_", "AWS_"))}
    env.update(CCACHE_DIR=str(cache), OBJCACHE_SYSTEM_CONFIG="/nonexistent",
               AWS_ACCESS_KEY_ID=KEY[0], AWS_SECRET_ACCESS_KEY=KEY[1], LC_ALL="C")
    if remote:
        env["CCACHE_REMOTE_STORAGE"] = remote
    return env


def compile_once(src_dir, cmd, env):
    obj = src_dir / "x.o"
    if obj.exists():
        obj.unlink()
    t = time.perf_counter()
    subprocess.run(cmd + ["-c", "x.c", "-o", "x.o"], cwd=src_dir, env=env, check=True)
    took = time.perf_counter() - t
    assert obj.exists()
    return took


def remote_hits(env):
    out = subprocess.run([OBJCACHE, "--print-stats"], env=env, check=True,
                         capture_output=True, text=True).stdout
    stats = dict(line.split("\t") for line in out.splitlines() if "\t" in line)
    return int(stats.get("remote_storage_hit", 0))


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    work = Path(tempfile.mkdtemp(prefix="objcache-remote-hit-"))
    src = work / "src"
    src.mkdir()
    (src / "x.c").write_text(SOURCE)
    procs, urls = start(work)
    try:
        for name, url in urls.items():
            compile_once(src, [OBJCACHE, "gcc"], env_for(work / f"warm-{len(name)}", url))
        local = env_for(work / "local", None)
        compile_once(src, [OBJCACHE, "gcc"], local)
        setups = ["plain gcc", "objcache, warm local cache"] + list(urls)
        times = {s: [] for s in setups}
        for rnd in range(rounds):
            order = setups[rnd % len(setups):] + setups[:rnd % len(setups)]
            for s in order:
                if s == "plain gcc":
                    times[s].append(compile_once(src, ["gcc"], env_for(work / "none", None)))
                elif s.startswith("objcache"):
                    times[s].append(compile_once(src, [OBJCACHE, "gcc"], local))
                else:
                    cache = work / "empty"
                    shutil.rmtree(cache, ignore_errors=True)
                    env = env_for(cache, urls[s])
                    times[s].append(compile_once(src, [OBJCACHE, "gcc"], env))
                    assert remote_hits(env) == 1, f"{s}: not a remote hit"
        print(f"Per-compile wall time, median of {rounds} interleaved runs "
              f"(empty local cache for the remote setups):")
        print("| setup | median ms | min ms | max ms |\n| --- | ---: | ---: | ---: |")
        for s in setups:
            xs = [x * 1000 for x in times[s]]
            print(f"| {s} | {statistics.median(xs):.1f} | {min(xs):.1f} | {max(xs):.1f} |")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
