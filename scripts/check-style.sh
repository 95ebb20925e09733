#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The style gates of `make check`, each a check recorded in $KSALLOC_RESULTS:
#   checkpatch --strict   every C source, header and Kconfig (from the 6.12 source tree)
#   kernel-doc -Wall      every C source and header
#   sparse (C=2)          the modules, against the test kernel
#   clang (LLVM=1, W=1)   the modules, against a clang-configured 6.12 tree
#   coccicheck            the kernel's own semantic patches (scripts/coccinelle
#                         of the 6.12 source, MODE=report): zero findings
# The copies built here include the bench module (KSALLOC_BENCH=m).
#   README                its driver example is samples/ksalloc_sample.c
# (W=1 with gcc is a check of scripts/check.sh's module builds.)
#
#   check-style.sh KDIR   KDIR: the test kernel's build directory
# Exit status 1 if a gate failed.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kdir=$1
cache=${KSALLOC_CACHE:-$HOME/.cache/ksalloc}
src=$(ls -d "$cache"/src/linux-source-6.12-* | tail -n 1)
build=$top/build/style
results=${KSALLOC_RESULTS:-/dev/null}
failed=0
mkdir -p "$build"

# gate NAME LOG: record NAME as passed if LOG has no finding, else show them.
gate() {
	if [ -s "$2" ]; then
		echo "FAIL $1" >> "$results"
		echo "check-style: FAIL $1:"
		head -n 40 "$2"
		failed=1
	else
		echo "PASS $1" >> "$results"
		echo "check-style: PASS $1"
	fi
}

cd "$top"
mapfile -t cfiles < <(git ls-files '*.c' '*.h')
mapfile -t kconfigs < <(git ls-files 'Kconfig' '*/Kconfig')

perl "$src/scripts/checkpatch.pl" --no-tree --strict --terse --show-types \
	-f "${cfiles[@]}" "${kconfigs[@]}" 2>&1 | grep -E ': (ERROR|WARNING|CHECK):' \
	> "$build/checkpatch.log" || true
rm -f .checkpatch-camelcase.*
gate "style checkpatch --strict (${#cfiles[@]} C files)" "$build/checkpatch.log"

"$src/scripts/kernel-doc" -none -Wall "${cfiles[@]}" > "$build/kernel-doc.log" 2>&1 || true
gate "style kernel-doc -Wall" "$build/kernel-doc.log"

# The README's driver example is samples/ksalloc_sample.c, to the letter.
sed -n '/^<!-- samples\/ksalloc_sample.c -->$/,/^```$/p' README.md | sed '1,2d;$d' |
	diff -u samples/ksalloc_sample.c - > "$build/readme-sample.log" 2>&1 || true
[ -s samples/ksalloc_sample.c ] || echo "no samples/ksalloc_sample.c" >> "$build/readme-sample.log"
gate "style README example is samples/ksalloc_sample.c" "$build/readme-sample.log"

# build_copy DIR: a fresh copy of the kernel-side tree to build in.
build_copy() {
	rm -rf "$1"
	mkdir -p "$1"
	rsync -a --exclude='.*' "$top"/{Kbuild,include,module,kunit,samples,bench} "$1/"
}

build_copy "$build/sparse"
make -C "$kdir" M="$build/sparse" KSALLOC_BENCH=m C=2 modules > "$build/sparse-build.log" 2>&1 ||
	echo "sparse build failed" >> "$build/sparse-build.log"
grep -E 'warning:|error:|failed$' "$build/sparse-build.log" > "$build/sparse.log" || true
gate "style sparse C=2" "$build/sparse.log"

# A clang-configured tree: defconfig plus KUnit, prepared for modules only.
clang_dir=$cache/clang-$(basename "$src")-$(clang --version | sha256sum | cut -c1-8)
if [ ! -f "$clang_dir/.ksalloc-prepared" ]; then
	echo "check-style: preparing a clang kernel tree in $clang_dir (once, ~2 min)"
	mkdir -p "$clang_dir"
	make -C "$src" O="$clang_dir" LLVM=1 -s defconfig
	"$src/scripts/config" --file "$clang_dir/.config" -e KUNIT -e HIGH_RES_TIMERS
	make -C "$src" O="$clang_dir" LLVM=1 -s olddefconfig
	make -C "$src" O="$clang_dir" LLVM=1 -s -j"$(nproc)" modules_prepare
	touch "$clang_dir/.ksalloc-prepared"
fi
build_copy "$build/clang"
# The tree has no vmlinux symbols: modpost's unresolved symbols are not findings.
make -C "$clang_dir" M="$build/clang" LLVM=1 W=1 KSALLOC_BENCH=m KBUILD_MODPOST_WARN=1 modules \
	> "$build/clang-build.log" 2>&1 || echo "clang build failed" >> "$build/clang-build.log"
grep -E '(warning|error):' "$build/clang-build.log" | grep -v '^WARNING: modpost:' \
	> "$build/clang.log" || true
gate "style clang LLVM=1 W=1" "$build/clang.log"

# Every semantic patch of the kernel's (a few need OCaml: ocaml-nox, installed
# by install-deps.sh). A finding is a "FILE:LINE:..." line about our files;
# spatch's own warnings about the .cocci files are not findings. There are
# none today; a false positive would be answered in a comment at the code and
# filtered out here by its file and rule, with the reason.
build_copy "$build/cocci"
make -C "$src" coccicheck MODE=report M="$build/cocci" J="$(nproc)" \
	> "$build/cocci-run.log" 2>&1 || echo "coccicheck failed" >> "$build/cocci-run.log"
{ grep -E "^$build/cocci/[^:]+:[0-9]+|coccicheck failed|No OCaml" "$build/cocci-run.log" || true; } |
	sed "s|^$build/cocci/||" > "$build/cocci.log"
gate "style coccicheck MODE=report" "$build/cocci.log"

exit $failed
