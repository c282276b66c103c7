#!/usr/bin/env python3
"""Create a synthetic compiler cache of N entry files directly on disk.

Layouts:
  objcache: <dir>/<x>/<y>/<64 hex>R  (and ...M for a share of manifests)
  ccache:   <dir>/<x>/<y>/<30 base32hex chars>R  (ccache 4.x: the first two
            digits of the key are the directories, the rest the file name)

Entries get small random contents (sizes drawn from --min-bytes..--max-bytes)
and mtimes spread uniformly over the last --days days. Neither tool's
-s / -c / --evict-older-than / --show-usage reads entry contents beyond an
optional header peek, so the contents need not be valid entries.
"""

import argparse
import os
import random
import time

B32HEX = "0123456789abcdefghijklmnopqrstuv"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--layout", choices=["objcache", "ccache"], default="objcache")
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--manifest-share", type=float, default=0.3)
    ap.add_argument("--min-bytes", type=int, default=200)
    ap.add_argument("--max-bytes", type=int, default=6000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    rnd = random.Random(a.seed)
    now = time.time()
    made_dirs = set()
    total = 0
    for _ in range(a.count):
        if a.layout == "objcache":
            name = "%064x" % rnd.getrandbits(256)
            d = os.path.join(a.dir, name[0], name[1])
        else:
            key = "".join(rnd.choice("0123456789abcdef") for _ in range(2)) + "".join(
                rnd.choice(B32HEX) for _ in range(30)
            )
            d = os.path.join(a.dir, key[0], key[1])
            name = key[2:]
        kind = "M" if rnd.random() < a.manifest_share else "R"
        if d not in made_dirs:
            os.makedirs(d, exist_ok=True)
            made_dirs.add(d)
        p = os.path.join(d, name + kind)
        n = rnd.randint(a.min_bytes, a.max_bytes)
        with open(p, "wb") as f:
            f.write(rnd.randbytes(n))
        t = now - rnd.random() * a.days * 86400
        os.utime(p, (t, t))
        total += n
    print(f"created {a.count} {a.layout} entries ({total / 1e6:.1f} MB of contents) in {a.dir}")


if __name__ == "__main__":
    main()
