#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The ksalloc test bench: `make check`, and `make kunit` (check.sh --kunit).
#
# install deps -> debug test kernel -> Debian stock kernels -> modules (W=1) for
# each kernel -> static user-space tests -> one QEMU guest per kernel -> count.
#   test-6.12   the debug kernel (KASAN, lockdep, kmemleak, ...): KUnit suites,
#               user-space tests, kmemleak scan after rmmod
#   stock-6.12, stock-6.1   Debian's kernels: user-space tests
# Guests load every module built (ksalloc first) and run every test program:
# tools/testing/NAME.c is built as NAME and NAME_32 (-m32), and each
# tools/testing/NAME.sh runs under busybox sh; all must print TAP.
# --kunit: the test kernel and its KUnit suites only.
#
# Each kernel's modules are built in its own copy of the tree, build/<kernel>/src;
# build output and console logs are kept in build/logs/, results in build/results.txt.
# Checks counted: each KUnit leaf result, each TAP case, "build <kernel> W=1 clean",
# the style gates of check-style.sh (checkpatch, kernel-doc, sparse, clang),
# the in-tree kunit.py run (check-intree.sh) and the install checks (check-dkms.sh),
# "build tools -Werror clean", "guest <kernel> clean log". The last line is
# "N passed, N failed"; the exit status is 1 when anything failed.
# Env: KSALLOC_TEST_TIMEOUT (900 s), KSALLOC_STOCK_TIMEOUT (180 s), and qemu-run.sh's.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
scripts=$top/scripts
build=$top/build
kunit_only=
[ "${1:-}" = --kunit ] && kunit_only=1
export KSALLOC_RESULTS=$build/results.txt
mkdir -p "$build/logs"
: > "$KSALLOC_RESULTS"
start=$SECONDS
tools=() demos=() stock_kernels=

header() { printf '\n==== %s [%d s] ====\n' "$*" $((SECONDS - start)); }
record() { echo "$1 $2" >> "$KSALLOC_RESULTS"; }
count() { grep -c "^$1 " "$KSALLOC_RESULTS" || true; }
summary() {
	header summary
	sed -n 's/^SKIP /skipped: /p; s/^FAIL /FAILED: /p' "$KSALLOC_RESULTS"
	echo "$(count SKIP) skipped"
	echo "$(count PASS) passed, $(count FAIL) failed"
}
fatal() { echo "check: $*" >&2; record FAIL "$*"; summary; exit 1; }

# build_modules NAME KDIR: build the modules with W=1 in build/NAME/src.
build_modules() {
	local name=$1 kdir=$2 src=$build/$1/src log=$build/logs/build-$1.log
	header "modules for $name ($kdir)"
	rm -rf "$src"
	mkdir -p "$src"
	rsync -a --exclude='.*' --exclude='*.o' --exclude='*.ko' --exclude='*.mod' \
		--exclude='*.mod.c' --exclude=modules.order --exclude=Module.symvers \
		"$top"/{Kbuild,include,module,kunit,samples} "$src/"
	if make -C "$kdir" M="$src" W=1 modules > "$log" 2>&1 &&
	   ! grep -qiE 'warning:|error:' "$log"; then
		record PASS "build $name W=1 clean"
		ls "$src"/*/*.ko
		return 0
	fi
	grep -iE -A 3 'warning:|error:' "$log" | head -n 40 || tail -n 20 "$log"
	echo "check: build for $name failed or warned (log: $log)"
	record FAIL "build $name W=1 clean"
	return 1
}

# run_guest NAME KERNEL TIMEOUT GUEST_SCRIPT APPEND FILE...
run_guest() {
	local name=$1 kernel=$2 timeout=$3 guest=$4 append=$5 files=() f
	shift 5
	header "guest $name"
	for f; do [ -e "$f" ] && files+=("$f"); done
	"$scripts/mkinitramfs.sh" "$build/$name/initramfs.cpio.gz" "$scripts/guest/$guest" \
		"$scripts/guest/lib.sh" "${files[@]}" ||
		{ record FAIL "guest $name clean log (mkinitramfs.sh failed)"; return; }
	"$scripts/qemu-run.sh" --name "$name" --timeout "$timeout" --append "$append" \
		--log "$build/logs/$name.log" "$kernel" "$build/$name/initramfs.cpio.gz" || true
}

header "dependencies"
"$scripts/install-deps.sh" || fatal "install-deps.sh failed"

header "test kernel"
test_kdir=$("$scripts/build-test-kernel.sh" | tail -n 1) || fatal "build-test-kernel.sh failed"
[ -f "$test_kdir/arch/x86/boot/bzImage" ] || fatal "no bzImage in $test_kdir"
echo "$test_kdir"

suites=$(sed -n '/struct kunit_suite [A-Za-z0-9_]* *= *{/,/^}/ s/.*\.name *= *"\([^"]*\)".*/\1/p' \
	"$top"/kunit/*.c 2>/dev/null | tr '\n' ' ')
[ -n "$suites" ] || fatal "no KUnit suite found in kunit/*.c"
echo "KUnit suites expected: $suites"

if [ -z "$kunit_only" ]; then
	header "stock kernels"
	stock=$("$scripts/stock-kernels.sh" --env) || fatal "stock-kernels.sh failed"
	eval "$stock"
	echo "$stock"
fi

test_ok=
build_modules test-6.12 "$test_kdir" && test_ok=1
if [ -z "$kunit_only" ]; then
	stock_ok=
	for k in $stock_kernels; do
		kvar=${k//[-.]/_}_kdir
		build_modules "$k" "${!kvar}" && stock_ok+=" $k"
	done

	header "style gates"
	"$scripts/check-style.sh" "$test_kdir" || true

	header "in-tree: kunit.py run, built in"
	"$scripts/check-intree.sh" || true

	header "install: DKMS, make install, companion modules"
	"$scripts/check-dkms.sh" || true

	header "user-space tests"
	rm -rf "$build/tools"
	if make -k -C "$top/tools" O="$build/tools" > "$build/logs/build-tools.log" 2>&1; then
		record PASS "build tools -Werror clean"
	else
		cat "$build/logs/build-tools.log"
		record FAIL "build tools -Werror clean"
	fi
	# Every tools/testing/NAME.c is a test, NAME and NAME_32 (-m32); one that
	# did not build is a FAIL "did not run" in each guest.
	m32=$(gcc -m32 -print-file-name=libc.a | grep / || true)
	for c in "$top"/tools/testing/*.c; do
		t=$build/tools/$(basename "$c" .c)
		tools+=("$t")
		if [ -n "$m32" ]; then
			tools+=("${t}_32")
		else
			record SKIP "$(basename "$t")_32: no -m32 compiler (gcc-multilib)"
		fi
	done
	# TAP shell tests run in the guests too (see run_tests in guest/lib.sh);
	# the demos (tools/NAME.c) go along in /bin, for tests that use them.
	for t in "$top"/tools/testing/*.sh; do [ -e "$t" ] && tools+=("$t"); done
	for c in "$top"/tools/*.c; do demos+=("$build/tools/$(basename "$c" .c)"); done
	ls -l "$build/tools" || true
fi

# What the test kernel runs: KUnit, and the user-space tests it can execute.
if [ -n "$test_ok" ]; then
	test_tools=() tap=
	for t in "${tools[@]}"; do
		if [[ $t = *_32 ]] && ! grep -q '^CONFIG_IA32_EMULATION=y' "$test_kdir/.config"; then
			record SKIP "test-6.12 $(basename "$t"): the test kernel has no CONFIG_IA32_EMULATION"
			continue
		fi
		test_tools+=("$t") tap+=" $(basename "$t" .sh)"
	done
	KSALLOC_KUNIT_SUITES=$suites KSALLOC_TAP_EXPECT=$tap \
		run_guest test-6.12 "$test_kdir/arch/x86/boot/bzImage" "${KSALLOC_TEST_TIMEOUT:-900}" \
		test-kernel.sh kmemleak=on "$build"/test-6.12/src/*/*.ko "${test_tools[@]}" "${demos[@]}"
else
	record FAIL "guest test-6.12 clean log (not run: the module build failed)"
fi

if [ -z "$kunit_only" ]; then
	tap=
	for t in "${tools[@]}"; do tap+=" $(basename "$t" .sh)"; done
	for k in $stock_kernels; do
		if [[ " $stock_ok " != *" $k "* ]]; then
			record FAIL "guest $k clean log (not run: the module build failed)"
			continue
		fi
		kvar=${k//[-.]/_}_vmlinuz
		KSALLOC_TAP_EXPECT=$tap run_guest "$k" "${!kvar}" "${KSALLOC_STOCK_TIMEOUT:-180}" \
			stock.sh "" "$build/$k/src/"*/*.ko "${tools[@]}" "${demos[@]}"
	done
fi

summary
[ "$(count FAIL)" -eq 0 ]
