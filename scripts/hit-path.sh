#!/usr/bin/env bash
# The functions a cache hit runs, laid out together in the release binary.
#
# A hit is a short process: in a VM, a good part of its own time is page
# faults, and each first touch of a 64 KiB window of the binary's code is
# one. Linked in the compiler's order, the hit's 650 functions lie in about
# 45 such windows of a 6 MB text; listed first for the linker (lld's
# --symbol-ordering-file), they lie in about a dozen. docs/benchmarks.md
# has the measurements.
#
# scripts/hit-path.txt lists them by names without the parts that change
# from build to build (the hashes of Rust's symbol names, LLVM's `.llvm.N`
# suffixes, v0 crate disambiguators; `NAME*` and `*NAME` name a family,
# such as glibc's variants of memcpy for each CPU; `#` comments, blank
# lines and CRLF line ends are allowed). A name that no longer exists
# costs nothing; a function new to the hit path is only laid out
# elsewhere, so the list is remade now and then:
#
#   bash scripts/hit-path.sh profile "$(bash scripts/build-release.sh)" >/tmp/hit-path.txt &&
#       mv /tmp/hit-path.txt scripts/hit-path.txt
#
# (runs a set of hits under valgrind's callgrind, in the default
# configuration whatever CCACHE_* variables are set: needs valgrind, gcc,
# g++ and clang; through a file elsewhere, as a failed run would leave an
# empty list) and used by scripts/build-release.sh through
#
#   bash scripts/hit-path.sh resolve BINARY DIR
#
# which prints the path of an ordering file in DIR with the exact names of
# BINARY's symbols (a file named by its content, so that cargo relinks
# when it changes), or fails when nm is missing or nothing resolves.
set -euo pipefail
# Quiet: with CDPATH set, cd would print the directory into the path.
list=$(cd -- "$(dirname -- "$0")" >/dev/null && pwd)/hit-path.txt

# A symbol's name without LLVM's `.llvm.N` suffix, which changes whenever
# its module does: stdin to stdout, one per line.
unsuffixed() {
    sed -E 's/\.llvm\.[0-9]+$//'
}

# Also without the hashes of Rust's names, which change with the crate's
# version or the compiler's: the last resort, as the generic functions'
# instances share it.
normalise() {
    unsuffixed | sed -E -e 's/17h[0-9a-f]{16}E/E/g' -e 's/Cs[0-9A-Za-z]*_/C/g'
}

# Lines without blanks (and CR) around them: stdin to stdout.
trimmed() {
    sed -E 's/^[[:space:]]+//; s/[[:space:]]+$//'
}

# The text symbols of binary $1: address and name, one per line.
text_symbols() {
    nm --defined-only "$1" | awk '$2 ~ /^[tTwWi]$/ { print $1, $3 }'
}

resolve() {
    local bin=$1 dir=$2 syms
    command -v nm >/dev/null || { echo "hit-path: nm not found" >&2; return 1; }
    syms=$(text_symbols "$bin" | awk '{ print $2 }')
    if [ -z "$syms" ]; then
        echo "hit-path: $bin has no symbols (stripped: profile.release.strip or -C strip)" >&2
        return 1
    fi
    mkdir -p "$dir"
    tmp=$(mktemp "$dir/.order.XXXXXX")
    trap 'rm -f "$tmp"' EXIT
    # Each listed name, in the list's order, gives the symbols of that name
    # (without its `.llvm.N`); failing that, those whose name is the same
    # without hashes, or begins so, for `NAME*`. A list edited elsewhere
    # may have CRLF line ends, blanks around names, indented comments.
    # The paths go through the environment: awk -v would take backslashes
    # in them for escapes.
    paste -d ' ' <(printf '%s\n' "$syms" | unsuffixed) <(printf '%s\n' "$syms" | normalise) \
        <(printf '%s\n' "$syms") |
        LIST=$list NORM=<(trimmed <"$list" | normalise) awk '
            BEGIN {
                list = ENVIRON["LIST"]
                norm = ENVIRON["NORM"]
                while ((getline line < list) > 0 && (getline line_stable < norm) > 0) {
                    gsub(/^[ \t]+|[ \t\r]+$/, "", line)
                    if (line ~ /^#/ || line == "") continue
                    ++n
                    if (line ~ /\*$/) { prefix[++np] = substr(line, 1, length(line) - 1); prank[np] = n; continue }
                    if (line ~ /^\*/) { suffix[++ns] = substr(line, 2); srank[ns] = n; continue }
                    if (!(line in exact)) exact[line] = n
                    if (!(line_stable in loose)) loose[line_stable] = n
                }
            }
            { name[NR] = $3; key[NR] = $1; loosekey[NR] = $2; present[$1] = 1 }
            END {
                for (k in exact) if (k in present) found[exact[k]] = 1
                for (i = 1; i <= NR; i++) {
                    r = (key[i] in exact) ? exact[key[i]] : 0
                    if (!r && loosekey[i] in loose) {
                        # The list names this symbol only loosely: used
                        # only when no listed exact name is in the binary.
                        r = loose[loosekey[i]]
                        if (r in found) r = 0
                    }
                    for (j = 1; !r && j <= np; j++)
                        if (index(loosekey[i], prefix[j]) == 1) r = prank[j]
                    for (j = 1; !r && j <= ns; j++) {
                        k = length(loosekey[i]) - length(suffix[j]) + 1
                        if (k > 0 && substr(loosekey[i], k) == suffix[j]) r = srank[j]
                    }
                    if (r && !seen[name[i]]++) print r, name[i]
                }
            }' | sort -n -s -k1,1 | cut -d ' ' -f 2 >"$tmp"
    if [ ! -s "$tmp" ]; then
        rm -f "$tmp"
        echo "hit-path: no name of $list is a symbol of $bin" >&2
        return 1
    fi
    local sum
    sum=$(cksum <"$tmp" | cut -d ' ' -f 1)
    mv "$tmp" "$dir/$sum.order"
    echo "$dir/$sum.order"
}

# One profiled run: callgrind's list of the functions objcache ran.
profiled() {
    local out=$1
    shift
    valgrind -q --tool=callgrind --demangle=no --callgrind-out-file="$out" "$@"
}

# The functions a callgrind profile names, in the order it names them;
# an address without a name (a function of an assembly file, to callgrind)
# is named from the binary's symbols.
profile_functions() {
    local bin=$1 prof=$2
    sed -nE 's/^c?fn=\([0-9]+\) //p' "$prof" | awk '!seen[$0]++' |
        awk -v syms=<(text_symbols "$bin") '
            BEGIN { while ((getline l < syms) > 0) { split(l, f, " "); name["0x" f[1]] = f[2] } }
            /^0x/ { if ($0 in name) print name[$0]; next }
            { print }'
}

profile() {
    local bin; bin=$(realpath "$1")
    local tool
    for tool in valgrind gcc g++ clang nm; do
        command -v "$tool" >/dev/null || { echo "hit-path: $tool not found: profile needs valgrind, gcc, g++, clang and nm" >&2; return 1; }
    done
    d=$(mktemp -d)
    trap 'rm -rf "$d"' EXIT
    mkdir -p "$d/a/src" "$d/a/include" "$d/a/obj" "$d/bin"
    cp "$bin" "$d/bin/objcache"
    local oc=$d/bin/objcache
    cat >"$d/a/include/local.h" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static inline int twice(int x) { return 2 * x; }
EOF
    # A preamble as C code bases write them: a licence, macros, headers of
    # the project and of the system, a conditional.
    cat >"$d/a/src/one.c" <<'EOF'
/*
** one.c: profiled by scripts/hit-path.sh.
** Licence: as the project's.
*/
#define one_c
#define PROJECT_CORE

#include "local.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#if defined(PROJECT_USE_STDINT)
#include <stdint.h>
#endif

static volatile sig_atomic_t seen;
int main(int argc, char **argv) {
    seen = argc;
    printf("%d %zu %g %d\n", twice(argc), strlen(argv[0]), floor(DBL_MAX), INT_MAX);
    return 0;
}
EOF
    # Over 16 KiB, as most sources: the inode memo's path.
    for i in $(seq 400); do echo "int f$i(int x) { return x + $i; } /* padding */"; done >>"$d/a/src/one.c"
    cat >"$d/a/src/two.cpp" <<'EOF'
#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>
int count(const std::vector<std::string> &v) {
    std::map<std::string, int> m;
    for (auto &s : v) m[s]++;
    return std::count_if(v.begin(), v.end(), [](const std::string &s) { return s.size() > 2; }) + m.size();
}
EOF
    # An object of 2 MiB, which objcache keeps uncompressed.
    printf 'char big[2 << 20] = {1};\n' >"$d/a/src/big.c"
    # The hits of the default configuration, whatever the caller's is.
    local var
    for var in $(compgen -e); do
        case $var in CCACHE_* | OBJCACHE_*) unset "$var" ;; esac
    done
    export CCACHE_DIR=$d/cache CCACHE_BASEDIR=$d CCACHE_NOHASHDIR=1 \
        CCACHE_CONFIGPATH=$d/none.conf OBJCACHE_SYSTEM_CONFIG=$d/none.conf
    local n=0
    # Each call once to fill the cache, then once profiled: a hit.
    hit() {
        (cd "$d/$1" && shift && "$oc" "$@" >/dev/null)
        n=$((n + 1))
        (cd "$d/$1" && shift && profiled "$d/cg.$n" "$oc" "$@" >/dev/null)
    }
    hit a gcc -O2 -Iinclude -I"$d/a/src" -MD -c "$d/a/src/one.c" -o obj/one.o
    hit a g++ -O2 -MMD -c "$d/a/src/two.cpp" -o obj/two.o
    hit a clang -O2 -I"$d/a/include" -c "$d/a/src/one.c" -o obj/one-clang.o
    hit a gcc -c src/big.c -o obj/big.o
    CCACHE_NODIRECT=1 hit a gcc -O2 -Iinclude -c src/one.c -o obj/one-cpp.o
    # The CI case: a copy at another path, every stamp new.
    cp -r "$d/a" "$d/b"
    n=$((n + 1))
    (cd "$d/b" && profiled "$d/cg.$n" "$oc" gcc -O2 -Iinclude -I"$d/b/src" -MD -c "$d/b/src/one.c" -o obj/one.o >/dev/null)
    # Every profiled call was a hit, or the list would hold a miss's path.
    local hits
    hits=$("$oc" --print-stats | awk '$1 == "direct_cache_hit" || $1 == "preprocessed_cache_hit" { s += $2 } END { print s + 0 }')
    if [ "$hits" != "$n" ]; then
        echo "hit-path: $hits of the $n profiled calls were hits" >&2
        return 1
    fi
    echo "# The functions objcache's hits run (scripts/hit-path.sh profile)."
    # What a static glibc runs before main and at exit that callgrind
    # does not show: the resolvers of its CPU-specific functions.
    printf '%s\n' '*_ifunc' _dl_new_object free_mem
    for f in "$d"/cg.*; do profile_functions "$bin" "$f"; done | unsuffixed |
        # glibc picks a variant of its string functions for each CPU.
        sed -E 's/^(__(mem|str|stp|wmem|wcs)[a-z]*_)(sse|ssse|avx|evex|erms).*/\1*/' |
        awk '!seen[$0]++'
}

case "${1:-}" in
resolve) resolve "$2" "$3" ;;
profile) profile "$2" ;;
*)
    echo "usage: $0 resolve BINARY DIR | profile BINARY" >&2
    exit 2
    ;;
esac
