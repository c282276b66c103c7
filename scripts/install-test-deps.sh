#!/usr/bin/env bash
# Installs what the test suite drives: real compilers, build tools (CMake,
# make, Ninja; Meson, Autoconf and Automake for tests/build_systems.rs)
# and the servers the remote-storage tests start on 127.0.0.1
# (redis-server, nginx; openssl makes their TLS certificates; moto and
# s3s-fs for S3, below), the profile tools
# (gcov, llvm-profdata) and prometheus-node-exporter, which reads
# --print-stats --format openmetrics, and groff and man, which render the
# man page (tests/man_page.rs; `man -w` finds the one the Debian package
# installs, tests/package.rs), and strace, which holds a call between two
# reads of a source (tests/hostile_lazy_source.rs).
# Does nothing when everything is already there.
set -euo pipefail

# The S3-compatible servers the S3 tests start (tests/common/servers.rs
# finds them here): moto's server mode in a Python venv, and s3s-fs, which
# checks SigV4 signatures, presigned URLs included (moto, s3rver 3.7.1 and
# localbucket check none), built by cargo. Same place for every checkout.
deps="${OBJCACHE_TEST_DEPS:-${HOME:-/root}/.cache/objcache-test-deps}"
mkdir -p "$deps"
s3s_pid=
if [ ! -x "$deps/s3s/bin/s3s-fs" ]; then
    # Unoptimised and without debug info: 116 s of CPU instead of 283 s for
    # a release build, and the tests' few requests do not notice the speed.
    # Built while apt and pip download, and waited for at the end.
    echo "building s3s-fs into $deps/s3s (about two minutes, once)"
    CARGO_PROFILE_DEV_DEBUG=0 cargo install -q --locked --debug \
        s3s-fs@0.14.1 --features binary --root "$deps/s3s" \
        >"$deps/s3s-build.log" 2>&1 &
    s3s_pid=$!
fi

need=()
for tool in openssl:openssl gcc:gcc g++:g++ clang:clang cmake:cmake make:make ninja:ninja-build meson:meson autoreconf:autoconf automake:automake redis-server:redis-server nginx:nginx llvm-profdata:llvm gcov:gcc prometheus-node-exporter:prometheus-node-exporter python3:python3-venv groff:groff-base man:man-db strace:strace; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ ! -x "$deps/venv/bin/moto_server" ]; then
    echo "installing moto[server] into $deps/venv"
    if ! python3 -m venv "$deps/venv" >/dev/null 2>&1; then
        # Debian's python3 keeps venv in a package of its own.
        if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
        export DEBIAN_FRONTEND=noninteractive
        $SUDO apt-get update -qq
        $SUDO apt-get install -y -qq python3-venv >/dev/null
        rm -rf "$deps/venv"
        python3 -m venv "$deps/venv"
    fi
    "$deps/venv/bin/pip" install -q 'moto[server]==5.2.6'
fi
if [ -n "$s3s_pid" ]; then
    if ! wait "$s3s_pid"; then
        cat "$deps/s3s-build.log" >&2
        echo "building s3s-fs failed" >&2
        exit 1
    fi
fi
