#!/usr/bin/env bash
# Installs what the test suite drives: real compilers, build tools (CMake,
# make, Ninja) and the servers the remote-storage tests start on 127.0.0.1
# (redis-server, nginx; openssl makes their TLS certificates), the profile tools (gcov, llvm-profdata) and
# prometheus-node-exporter, which reads --print-stats --format openmetrics.
# Does nothing when everything is already there.
set -euo pipefail
need=()
for tool in openssl:openssl gcc:gcc g++:g++ clang:clang cmake:cmake make:make ninja:ninja-build redis-server:redis-server nginx:nginx llvm-profdata:llvm gcov:gcc prometheus-node-exporter:prometheus-node-exporter; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
