#!/usr/bin/env bash
# Builds the Debian package of objcache and prints its path:
#
#   bash scripts/build-deb.sh            # target/deb/objcache_VERSION_ARCH.deb
#   sudo dpkg -i target/deb/objcache_*.deb
#
# It holds /usr/bin/objcache (the static release build of
# scripts/build-release.sh), the man page, the bash, zsh and fish
# completions, the docs and a Debian copyright file. The masquerade links
# in /usr/lib/objcache are made when the package is configured, by
# `objcache --install-symlinks /usr/lib/objcache`, so that they name the
# compilers installed on that machine (as Debian's ccache package does for
# /usr/lib/ccache); they are made again when gcc's directories change (the
# triggers file) and removed with the package.
#
# Built with dpkg-deb from a staged tree rather than cargo-deb: dpkg-deb is
# on every Debian system, while `cargo install cargo-deb` compiles 69 crates,
# two minutes of CPU (over a minute of wall time on two cores, six on a busy
# machine), which the test suite, which builds this package, cannot afford.
#
# OBJCACHE=PATH packages a binary already built instead (the test of this
# script packages the debug build); OBJCACHE_DEB_DIR=DIR writes the package
# and its staging tree there instead of target/deb.
set -euo pipefail
cd "$(dirname "$0")/.."
objcache=${OBJCACHE:-$(bash scripts/build-release.sh)}
out=${OBJCACHE_DEB_DIR:-$PWD/target/deb}
version=$("$objcache" --print-version)
arch=$(dpkg --print-architecture)
stage="$out/objcache_${version}_$arch"
rm -rf "$stage"
mkdir -p "$stage/DEBIAN"

install -D -m 755 "$objcache" "$stage/usr/bin/objcache"
# As Debian's packages are: without symbols (or debug information, which
# is most of a debug build).
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$stage/usr/bin/objcache"
install -d -m 755 "$stage/usr/lib/objcache"
man="$stage/usr/share/man/man1"
install -d -m 755 "$man"
"$objcache" --generate man | gzip -9n > "$man/objcache.1.gz"
install -d -m 755 "$stage/usr/share/bash-completion/completions" \
    "$stage/usr/share/zsh/vendor-completions" "$stage/usr/share/fish/vendor_completions.d"
"$objcache" --generate bash > "$stage/usr/share/bash-completion/completions/objcache"
"$objcache" --generate zsh > "$stage/usr/share/zsh/vendor-completions/_objcache"
"$objcache" --generate fish > "$stage/usr/share/fish/vendor_completions.d/objcache.fish"

doc="$stage/usr/share/doc/objcache"
install -d -m 755 "$doc/docs"
install -m 644 README.md "$doc/"
install -m 644 docs/*.md "$doc/docs/"
{
    cat <<'EOF'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: objcache

Files: *
Copyright: the objcache developers
License: MIT or Apache-2.0
Comment: The binary is linked statically with these Rust crates, each
 under the licence given:
EOF
    cargo tree --offline --quiet -e normal,no-proc-macro --prefix none --format '{p}: {l}' |
        sed 's/ (\*)$//' | grep -v '^objcache ' | sort -u | sed 's/^/  /'
    printf '\nLicense: MIT\n'
    sed 's/^$/./; s/^/ /' LICENSE-MIT
    cat <<'EOF'

License: Apache-2.0
 On Debian systems, the full text of the Apache License, Version 2.0 can be
 found in /usr/share/common-licenses/Apache-2.0.
EOF
} > "$doc/copyright"
chmod 644 "$doc/copyright"

cat > "$stage/DEBIAN/control" <<EOF
Package: objcache
Version: $version
Architecture: $arch
Maintainer: the objcache developers <objcache@invalid>
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Section: devel
Priority: optional
Suggests: gcc | clang
Description: fast compiler cache for gcc and clang, compatible with ccache
 objcache stores the object files of C, C++ and assembler compiles and
 gives them back when the same compile runs again. It takes ccache's
 options, ccache.conf and CCACHE_* variables.
 .
 Put /usr/lib/objcache first in PATH to cache every compile of a build, or
 run the compiler as "objcache gcc" (CMake: CMAKE_C_COMPILER_LAUNCHER).
EOF

# Made again when a gcc is installed or removed (cross compilers too).
cat > "$stage/DEBIAN/triggers" <<'EOF'
interest-noawait /usr/lib/gcc
interest-noawait /usr/lib/gcc-cross
interest-noawait /usr/libexec/gcc
EOF

cat > "$stage/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
case "$1" in
    configure|triggered)
        # A package that cannot link its compilers still caches through
        # "objcache gcc": say so, but do not fail the install.
        /usr/bin/objcache --install-symlinks /usr/lib/objcache >/dev/null ||
            echo "objcache: run 'objcache --install-symlinks /usr/lib/objcache' to make the links" >&2
        ;;
esac
EOF

# The links are not the package's files: remove the ones to objcache
# before dpkg removes the directory, and again after, whatever was left.
remove_links='
remove_links() {
    for link in /usr/lib/objcache/*; do
        [ -L "$link" ] || continue
        case "$(readlink "$link")" in
            */objcache) rm -f "$link" ;;
        esac
    done
}'
cat > "$stage/DEBIAN/prerm" <<EOF
#!/bin/sh
set -e
$remove_links
case "\$1" in
    remove|deconfigure) remove_links ;;
esac
EOF
cat > "$stage/DEBIAN/postrm" <<EOF
#!/bin/sh
set -e
$remove_links
case "\$1" in
    remove|purge)
        remove_links
        rmdir /usr/lib/objcache 2>/dev/null || true
        ;;
esac
EOF
chmod 755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm" "$stage/DEBIAN/postrm"

deb="$out/objcache_${version}_$arch.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
