#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build (or reuse) the ksalloc debug test kernel from Debian's linux-source-6.12.
#
# The configuration starts from what tools/testing/kunit/kunit.py makes for
# --arch=x86_64 (kunit.py config does the merge and checks that every option of
# the fragment survived olddefconfig), plus scripts/test-kernel.config.
# The result lives in $KSALLOC_CACHE/kernel-<version>-<fragment hash>/ and is
# built through ccache; a second call with the same inputs does nothing.
# Prints the build directory (usable as KDIR) on its last line.
# With --print, only prints it if it is built, and builds nothing.
# With --variant NAME, builds the variant: scripts/test-kernel-NAME.config
# overrides the base fragment option by option (a line there, "=..." or
# "is not set", replaces the base line of the same option), e.g. rt
# (PREEMPT_RT) or kcsan (KCSAN instead of KASAN).
#   build-test-kernel.sh [--variant NAME] [--print]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${KSALLOC_CACHE:-$HOME/.cache/ksalloc}
tarball=${KSALLOC_KERNEL_TARBALL:-$(ls /usr/src/linux-source-6.12.tar.* 2>/dev/null | head -n 1)}
variant= print=
while [ $# -gt 0 ]; do
	case $1 in
	--variant) variant=$2; shift 2 ;;
	--print) print=1; shift ;;
	*) echo "build-test-kernel: unknown argument $1" >&2; exit 2 ;;
	esac
done
frag=$here/test-kernel.config
if [ -n "$variant" ]; then
	over=$here/test-kernel-$variant.config
	[ -f "$over" ] || { echo "build-test-kernel: no $over" >&2; exit 2; }
	# The option a fragment line sets: CONFIG_X=... or # CONFIG_X is not set.
	opt='match($0, /CONFIG_[A-Za-z0-9_]+/) && ($0 ~ /^CONFIG_/ || $0 ~ / is not set$/)'
	composed=$(awk "FNR == NR { if ($opt) set[substr(\$0, RSTART, RLENGTH)] = 1; next }
		!($opt) || !(substr(\$0, RSTART, RLENGTH) in set)" "$over" "$frag"; cat "$over")
fi

[ -f "$tarball" ] || { echo "build-test-kernel: no linux-source-6.12 tarball in /usr/src (run scripts/install-deps.sh)" >&2; exit 1; }

srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || stat -c %Y "$tarball")
srcver=${srcver//[^A-Za-z0-9.+-]/_}
if [ -n "$variant" ]; then
	key=$(printf '%s\n' "$composed" | sha256sum | cut -c1-12)
else
	key=$(sha256sum < "$frag" | cut -c1-12)
fi
src=$cache/src/linux-source-6.12-$srcver
build=$cache/kernel-$srcver-$key

if [ -n "$print" ]; then
	[ -f "$build/.ksalloc-built" ] && echo "$build"
	exit 0
fi

# Built already (the mark is written last): no need to wait for a builder.
if [ -f "$build/.ksalloc-built" ]; then
	echo "build-test-kernel: reusing $build" >&2
	echo "$build"
	exit 0
fi

# One builder at a time; a second caller waits and then reuses the result.
mkdir -p "$cache"
exec 9> "$cache/.build-test-kernel.lock"
flock 9

if [ -f "$build/.ksalloc-built" ]; then
	echo "build-test-kernel: reusing $build" >&2
	echo "$build"
	exit 0
fi

if [ ! -f "$src/.ksalloc-extracted" ]; then
	echo "build-test-kernel: extracting $tarball" >&2
	rm -rf "$src" "$src.tmp"
	mkdir -p "$src.tmp"
	tar -xf "$tarball" -C "$src.tmp" --strip-components=1
	touch "$src.tmp/.ksalloc-extracted"
	mv "$src.tmp" "$src"
fi

mkdir -p "$build"
export CCACHE_DIR=${CCACHE_DIR:-$cache/ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
# ccache hashes the compiler by mtime by default; content is stable across machines.
export CCACHE_COMPILERCHECK=content
# The kernel embeds build time and user in the image; pin them so ccache hits.
export KBUILD_BUILD_TIMESTAMP='Thu Jan  1 00:00:00 UTC 2026'
export KBUILD_BUILD_USER=ksalloc KBUILD_BUILD_HOST=ksalloc

echo "build-test-kernel: configuring $build" >&2
if [ -n "$variant" ]; then
	printf '%s\n' "$composed" > "$build/test-kernel-$variant.config"
	frag=$build/test-kernel-$variant.config
fi
(cd "$src" && python3 tools/testing/kunit/kunit.py config --arch=x86_64 \
	--build_dir="$build" --kunitconfig="$frag" >&2)

echo "build-test-kernel: building (cold: ~10 min on 2 cores)" >&2
jobs=$(nproc)
make -C "$src" O="$build" ARCH=x86_64 CC="ccache gcc" -j"$jobs" -s bzImage modules >&2
touch "$build/.ksalloc-built"
echo "$build"
