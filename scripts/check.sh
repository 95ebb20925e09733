#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The ksalloc test bench: `make check`, and `make kunit` (check.sh --kunit).
#
# install deps -> debug test kernels -> Debian stock kernels -> static
# user-space tests -> modules (W=1): test-6.12's, and its guest boots; the
# variants', and theirs boot; the stock kernels', and test-6.12-edu boots ->
# gates -> the stock guests, edu ones included -> count.
#   test-6.12   the debug kernel (KASAN, lockdep, kmemleak, ...), 4 vCPUs:
#               user-space tests, KUnit suites, kmemleak scan after rmmod
#   test-6.12-rt    its PREEMPT_RT variant (raw lock nesting checked), 4 vCPUs
#               of which 3 online: the KUnit suites
#   test-6.12-kcsan its KCSAN variant (no KASAN), 4 vCPUs: the KUnit suites
#               and the lifetime tests (ksalloc_lifetime*)
#   stock-6.12, stock-6.12-rt, stock-6.1   Debian's kernels: user-space tests
#   test-6.12-edu   the debug kernel on a q35 machine with QEMU's edu device
#               behind its Intel IOMMU (strict invalidation), 2 vCPUs:
#               ksalloc_edu_test (unbind while streaming included), unload,
#               kmemleak scan
#   stock-6.12-edu, stock-6.12-edu-swiotlb, stock-6.12-edu-iommu  Debian's
#               6.12 with QEMU's edu device: 256 MiB and no IOMMU, the same
#               with swiotlb=force, and 2 GiB behind the Intel IOMMU as
#               test-6.12-edu: ksalloc_edu_test only, which no guest without
#               edu runs
# The guests run in the background, side by side: the test kernels' four
# from before the gates on, the stock ones once the gates are done. Each
# waits for timers, threads and rates as much as it computes, so together
# they keep the two CPUs busy where one after another they would not.
# Guests load every module built (ksalloc first) and run every test program:
# tools/testing/NAME.c is built as NAME and NAME_32 (-m32), and each
# tools/testing/NAME.sh runs under busybox sh; all must print TAP.
# --kunit: the test kernel and its KUnit suites only.
#
# Each kernel's modules are built in its own copy of the tree, build/<kernel>/src;
# build output and console logs are kept in build/logs/, results in build/results.txt.
# Checks counted: each KUnit leaf result, each TAP case, "build <kernel> W=1 clean",
# the style gates of check-style.sh (checkpatch, kernel-doc, sparse, clang),
# the documentation gates of check-docs.sh (kernel-doc, sphinx-build -W),
# the in-tree kunit.py run (check-intree.sh) and the install checks (check-dkms.sh),
# "build tools -Werror clean", "guest <kernel> clean log". The last line is
# "N passed, N failed"; the exit status is 1 when anything failed.
# Env: KSALLOC_TEST_TIMEOUT (2400 s; the variants' too: a hang guard; test-6.12
# takes ~9 min alone, ~18 min in a warm make check beside the other guests
# and the gates), KSALLOC_STOCK_TIMEOUT (600 s, a hang guard too: the stock
# guests boot together, beside test-6.12, and took up to 300 s so),
# KSALLOC_TEST_SMP (4: test-6.12's -smp; the stock guests boot -smp 2), and
# qemu-run.sh's.
# For development only (a run with any of them set is not `make check`, and
# says so in its summary):
#   KSALLOC_GUESTS  the guests to boot, e.g. "test-6.12 stock-6.12" (default: all)
#   KSALLOC_TESTS   the test programs to take along, e.g. "ksalloc_test ksalloc_slab"
#                   (names without _32 or .sh; default: all)
#   KSALLOC_GATES=0 skip the style, documentation, in-tree and install gates
#   KSALLOC_KUNIT_GLOB  test-6.12 runs only the KUnit suites matching this glob
#                   (kunit.filter_glob), e.g. "ksalloc_dma"
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
partial=${KSALLOC_GUESTS:+KSALLOC_GUESTS=$KSALLOC_GUESTS }${KSALLOC_TESTS:+KSALLOC_TESTS=$KSALLOC_TESTS }
[ "${KSALLOC_GATES:-1}" = 1 ] || partial+="KSALLOC_GATES=$KSALLOC_GATES "
partial+=${KSALLOC_KUNIT_GLOB:+KSALLOC_KUNIT_GLOB=$KSALLOC_KUNIT_GLOB}
[ -z "$kunit_only" ] || partial+=" --kunit"
# want_guest NAME / want_test NAME: the development filters above.
want_guest() { [ -z "${KSALLOC_GUESTS:-}" ] || [[ " $KSALLOC_GUESTS " = *" $1 "* ]]; }
want_test() { [ -z "${KSALLOC_TESTS:-}" ] || [[ " $KSALLOC_TESTS " = *" $1 "* ]]; }

header() { printf '\n==== %s [%d s] ====\n' "$*" $((SECONDS - start)); }
record() { echo "$1 $2" >> "$KSALLOC_RESULTS"; }
count() { grep -c "^$1 " "$KSALLOC_RESULTS" || true; }
# judge_skips: a SKIP is allowed only where scripts/expected-skips lists it for
# that guest (what a kernel genuinely lacks); any other one is also a FAIL. So
# is an expected skip that no longer happens (in a full run): the list is stale.
judge_skips() {
	local line text ok seen=()
	local -a globs=() whys=()
	while IFS= read -r line; do
		[[ $line = \#* || -z ${line// /} ]] && continue
		globs+=("${line%% -- *}") whys+=("${line#* -- }")
	done < "$scripts/expected-skips"
	while IFS= read -r text; do
		ok=
		for i in "${!globs[@]}"; do
			# shellcheck disable=SC2053 # the list holds globs
			if [[ $text == ${globs[$i]} ]]; then ok=1 seen[i]=1; break; fi
		done
		[ -n "$ok" ] || record FAIL "unexpected SKIP (not in scripts/expected-skips): $text"
	done < <(sed -n 's/^SKIP //p' "$KSALLOC_RESULTS")
	[ -z "$partial" ] || return 0
	for i in "${!globs[@]}"; do
		[ -n "${seen[i]:-}" ] ||
			record FAIL "expected SKIP did not happen (stale line in scripts/expected-skips): ${globs[$i]}"
	done
}
# summary: also kept in build/logs/check.txt, which scripts/figures.sh reads.
summary() { summary_lines | tee "$build/logs/check.txt"; }
summary_lines() {
	header summary
	[ -z "$partial" ] || echo "check: a partial run ($partial): not make check"
	echo "check: $(date -u '+%F'), $(git -C "$top" describe --always --dirty 2>/dev/null || echo '?')," \
		"$((SECONDS - start)) s ($(((SECONDS - start) / 60)) min $(((SECONDS - start) % 60)) s)"
	sed -n 's/^SKIP /skipped: /p; s/^FAIL /FAILED: /p' "$KSALLOC_RESULTS"
	# A check is counted once per run of it: per guest, 64- and 32-bit. The
	# distinct checks drop the guest and the _32 of the program.
	echo "$(sed -E 's/^[A-Z]+ //; s/^[^ ]+ //; s/^([A-Za-z0-9_]+)_32: /\1: /' "$KSALLOC_RESULTS" |
		sort -u | wc -l) distinct checks, $(wc -l < "$KSALLOC_RESULTS") runs of them"
	echo "$(count SKIP) skipped (any not in scripts/expected-skips is also a FAIL above)"
	echo "$(count PASS) passed, $(count FAIL) failed"
}
fatal() { echo "check: $*" >&2; record FAIL "$*"; judge_skips; summary; exit 1; }

# build_modules NAME KDIR: build the modules with W=1 in build/NAME/src.
build_modules() {
	local name=$1 kdir=$2 src=$build/$1/src log=$build/logs/build-$1.log
	header "modules for $name ($kdir)"
	rm -rf "$src"
	mkdir -p "$src"
	rsync -a --exclude='.*' --exclude='*.o' --exclude='*.ko' --exclude='*.mod' \
		--exclude='*.mod.c' --exclude=modules.order --exclude=Module.symvers \
		"$top"/{Kbuild,include,module,kunit,samples,bench} "$src/"
	# The bench module is built (and so checked) too, never loaded, where the
	# kernel has objpool (6.7 and later: not 6.1), which it measures.
	local bench=
	grep -q '[[:space:]]objpool_init[[:space:]]' "$kdir/Module.symvers" && bench=m
	if make -C "$kdir" M="$src" W=1 KSALLOC_BENCH=$bench modules > "$log" 2>&1 &&
	   ! grep -qiE 'warning:|error:' "$log"; then
		record PASS "build $name W=1 clean"
		ls "$src"/*/*.ko
		[ -z "$bench" ] || [ -f "$src/bench/ksalloc_bench.ko" ] ||
			{ record FAIL "build $name: no ksalloc_bench.ko"; return 1; }
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
	# A judge that died before it recorded the guest is a failure, not silence.
	grep -qE "^(PASS|FAIL) guest $name clean log" "$KSALLOC_RESULTS" ||
		record FAIL "guest $name clean log (check-log.sh recorded nothing)"
}

header "dependencies"
"$scripts/install-deps.sh" || fatal "install-deps.sh failed"

header "log check self-test"
# Every report pattern of check-log.sh, fed to it as a one-line log, must fail it.
"$scripts/check-log-selftest.sh" > "$build/logs/check-log-selftest.log" 2>&1 ||
	grep -E '^FAIL|selftest' "$build/logs/check-log-selftest.log" || true
tail -n 1 "$build/logs/check-log-selftest.log"

header "test kernel"
test_kdir=$("$scripts/build-test-kernel.sh" | tail -n 1) || fatal "build-test-kernel.sh failed"
[ -f "$test_kdir/arch/x86/boot/bzImage" ] || fatal "no bzImage in $test_kdir"
echo "$test_kdir"
# The variants of the test kernel, and the guests that boot them.
variants=
for v in rt kcsan; do
	want_guest "test-6.12-$v" || continue
	kdir=$("$scripts/build-test-kernel.sh" --variant $v | tail -n 1) ||
		fatal "build-test-kernel.sh --variant $v failed"
	[ -f "$kdir/arch/x86/boot/bzImage" ] || fatal "no bzImage in $kdir"
	echo "$kdir"
	declare "test_6_12_${v}_kdir=$kdir"
	variants+=" test-6.12-$v"
done

suites=$(sed -n '/struct kunit_suite [A-Za-z0-9_]* *= *{/,/^}/ s/.*\.name *= *"\([^"]*\)".*/\1/p' \
	"$top"/kunit/*.c 2>/dev/null | tr '\n' ' ')
[ -n "$suites" ] || fatal "no KUnit suite found in kunit/*.c"
echo "KUnit suites expected: $suites"
# suites_matching GLOB: the suites that kunit.filter_glob=GLOB runs.
suites_matching() {
	local x out=''
	for x in $suites; do
		# shellcheck disable=SC2053 # a glob, as kunit.py's filter
		[[ $x == $1 ]] && out+=" $x"
	done
	echo "$out"
}
# The suites of the KCSAN variant, and of a development run: settled before
# any guest boots (fatal exits without waiting for one).
kcsan_glob='ksalloc_[ls]*'
kcsan_suites=$(suites_matching "$kcsan_glob")
[ -n "$kcsan_suites" ] || fatal "no KUnit suite matches $kcsan_glob"
glob_suites=
if [ -n "${KSALLOC_KUNIT_GLOB:-}" ]; then
	glob_suites=$(suites_matching "$KSALLOC_KUNIT_GLOB")
	[ -n "$glob_suites" ] || fatal "no KUnit suite matches $KSALLOC_KUNIT_GLOB"
fi

if [ -z "$kunit_only" ]; then
	header "stock kernels"
	stock=$("$scripts/stock-kernels.sh" --env) || fatal "stock-kernels.sh failed"
	eval "$stock"
	echo "$stock"
	kernels='' stock_builds=''
	for k in $stock_kernels; do
		want_guest "$k" && kernels+=" $k"
		# The edu guests boot stock-6.12 with its modules.
		if want_guest "$k" || { [ "$k" = stock-6.12 ] &&
			{ want_guest stock-6.12-edu || want_guest stock-6.12-edu-swiotlb ||
			  want_guest stock-6.12-edu-iommu; }; }; then
			stock_builds+=" $k"
		fi
	done
	stock_kernels=${kernels# }
fi

# The tools: the tests, and the demos (tools/NAME.c), which go along in /bin
# for tests that use them (pinned_test too, after KUnit).
header "user-space tests"
rm -rf "$build/tools"
if make -k -C "$top/tools" O="$build/tools" > "$build/logs/build-tools.log" 2>&1; then
	record PASS "build tools -Werror clean"
else
	cat "$build/logs/build-tools.log"
	record FAIL "build tools -Werror clean"
fi
for c in "$top"/tools/*.c; do demos+=("$build/tools/$(basename "$c" .c)"); done
if [ -z "$kunit_only" ]; then
	# Every tools/testing/NAME.c is a test, NAME and NAME_32 (-m32); one that
	# did not build is a FAIL "did not run" in each guest.
	# The -m32 half is not optional: install-deps.sh installed gcc-multilib.
	m32=$(gcc -m32 -print-file-name=libc.a | grep / || true)
	[ -n "$m32" ] || fatal "gcc -m32 has no libc.a: gcc-multilib is missing"
	edu_tools=()
	for c in "$top"/tools/testing/*.c; do
		want_test "$(basename "$c" .c)" || continue
		t=$build/tools/$(basename "$c" .c)
		# Only the edu guests have the device it needs.
		if [ "$(basename "$c" .c)" = ksalloc_edu_test ]; then
			edu_tools+=("$t" "${t}_32")
			continue
		fi
		tools+=("$t" "${t}_32")
	done
	# TAP shell tests run in the guests too (see run_tests in guest/lib.sh).
	for t in "$top"/tools/testing/*.sh; do
		[ -e "$t" ] && want_test "$(basename "$t" .sh)" && tools+=("$t")
	done
fi
ls -l "$build/tools" || true

# test-6.12 is the longest guest (~9 min alone): it boots as soon as its
# modules are built, and the other kernels' modules are built beside it.
running=()
test_ok='' variants_ok=''
build_modules test-6.12 "$test_kdir" && test_ok=1

# test-6.12 boots first, in the background: KUnit, and the user-space tests
# it can execute.
if ! want_guest test-6.12; then
	:
elif [ -n "$test_ok" ]; then
	test_tools=() tap=" ksalloc_pinned"
	for t in "${tools[@]}"; do
		if [[ $t = *_32 ]] && ! grep -q '^CONFIG_IA32_EMULATION=y' "$test_kdir/.config"; then
			record FAIL "test-6.12 $(basename "$t"): the test kernel has no CONFIG_IA32_EMULATION"
			continue
		fi
		test_tools+=("$t") tap+=" $(basename "$t" .sh)"
	done
	# vivid and its dependencies, from the debug build, as for the stock
	# guests below: ksalloc_vivid_test runs under KASAN and DMA-API debugging.
	"$scripts/media-modules.sh" "$test_kdir" "$build/test-6.12/media" vivid ||
		rm -rf "${build:?}/test-6.12/media"
	test_suites=$suites append=kmemleak=on
	if [ -n "${KSALLOC_KUNIT_GLOB:-}" ]; then
		test_suites=$glob_suites
		append+=" kunit.filter_glob=$KSALLOC_KUNIT_GLOB"
		# pinned_test runs after every suite only (test-kernel.sh).
		tap=${tap/ ksalloc_pinned/}
	fi
	# Four vCPUs: a scan of the caches by the lock's holder meets the fast
	# paths of two CPUs or more (ksalloc_smp), as it never does with two.
	KSALLOC_SMP=${KSALLOC_TEST_SMP:-4} KSALLOC_KUNIT_SUITES=$test_suites KSALLOC_TAP_EXPECT=$tap \
		run_guest test-6.12 "$test_kdir/arch/x86/boot/bzImage" "${KSALLOC_TEST_TIMEOUT:-2400}" \
		test-kernel.sh "$append" "$build"/test-6.12/src/{module,kunit,samples}/*.ko \
		"$build/test-6.12/media" "${test_tools[@]}" "${demos[@]}" \
		> "$build/logs/guest-test-6.12.out" 2>&1 &
	running+=(test-6.12)
else
	record FAIL "guest test-6.12 clean log (not run: the module build failed)"
fi

for k in $variants; do
	kvar=${k//[-.]/_}_kdir
	build_modules "$k" "${!kvar}" && variants_ok+=" $k"
done

# The variants boot now, in the background, while the gates and the other
# guests run: their KUnit suites wait for timers and threads as much as they
# compute. test-6.12-rt: every suite, then pinned_test, with 3 of 4 possible
# CPUs online (as a VM with CPU hotplug slots has: caches of a CPU never
# online). test-6.12-kcsan: the stress, SMP and lifetime suites. Both run
# the stress case to 2 M operations (test-6.12: 10 M), which is what they
# need to meet every path, nested locks and racing accesses included: that
# case alone took 47 s on the RT kernel, 38 to 160 s under KCSAN.
for k in $variants; do
	if [[ " $variants_ok " != *" $k "* ]]; then
		record FAIL "guest $k clean log (not run: the module build failed)"
		continue
	fi
	kvar=${k//[-.]/_}_kdir
	if [ "$k" = test-6.12-kcsan ]; then
		var_suites=$kcsan_suites tap=''
		# KCSAN on once its filter is set (guest/test-kernel.sh).
		append="kunit.filter_glob=$kcsan_glob kcsan.early_enable=0"
	else
		var_suites=$suites tap=" ksalloc_pinned" append=maxcpus=3
	fi
	append+=" KSALLOC_KUNIT_ARGS=stress_ops=2000000"
	KSALLOC_SMP=4 KSALLOC_KUNIT_SUITES=$var_suites KSALLOC_TAP_EXPECT=$tap \
		run_guest "$k" "${!kvar}/arch/x86/boot/bzImage" "${KSALLOC_TEST_TIMEOUT:-2400}" \
		test-kernel.sh "$append" "$build/$k/src/"{module,kunit,samples}/*.ko \
		"$build/tools/ksallocctl" > "$build/logs/guest-$k.out" 2>&1 &
	running+=("$k")
done

if [ -z "$kunit_only" ]; then
	stock_ok=
	for k in $stock_builds; do
		kvar=${k//[-.]/_}_kdir
		build_modules "$k" "${!kvar}" && stock_ok+=" $k"
	done
fi

# QEMU's edu device behind QEMU's Intel IOMMU, strict invalidation (each
# unmap flushes the IOTLB at once: a device write after it is a DMAR fault),
# on the debug kernel: ksalloc_edu_test under KASAN, kmemleak and DMA-API
# debugging, unbinding edu while a stream runs included, then the unload
# (DMA-API debugging reports a mapping a driver left behind). 2 GiB: edu's
# 28-bit mask is served through the IOMMU, where without it most frames would
# be out of reach.
edu_iommu_qemu="-device intel-iommu,intremap=off -device edu"
edu_iommu_append="intel_iommu=on iommu.strict=1"
if [ -n "$kunit_only" ] || ! want_guest test-6.12-edu || [ ${#edu_tools[@]} -eq 0 ]; then
	:
elif [ -n "$test_ok" ]; then
	tap=
	for t in "${edu_tools[@]}"; do tap+=" $(basename "$t")"; done
	KSALLOC_MACHINE=q35 KSALLOC_QEMU_ARGS=$edu_iommu_qemu KSALLOC_KUNIT_SUITES='' \
	KSALLOC_TAP_EXPECT=$tap \
		run_guest test-6.12-edu "$test_kdir/arch/x86/boot/bzImage" \
		"${KSALLOC_TEST_TIMEOUT:-2400}" test-kernel.sh "$edu_iommu_append kmemleak=on" \
		"$build"/test-6.12/src/{module,samples}/*.ko "${edu_tools[@]}" \
		> "$build/logs/guest-test-6.12-edu.out" 2>&1 &
	running+=(test-6.12-edu)
else
	record FAIL "guest test-6.12-edu clean log (not run: the module build failed)"
fi

if [ -z "$kunit_only" ]; then
	if [ "${KSALLOC_GATES:-1}" = 1 ]; then
		header "style gates"
		"$scripts/check-style.sh" "$test_kdir" || true
		grep -q '^[A-Z]* style coccicheck' "$KSALLOC_RESULTS" ||
			record FAIL "style gates (check-style.sh ended before its last gate)"

		header "documentation"
		"$scripts/check-docs.sh" || true
		grep -q '^[A-Z]* docs cover' "$KSALLOC_RESULTS" ||
			record FAIL "docs (check-docs.sh ended before its last gate)"

		header "in-tree: kunit.py run, built in"
		"$scripts/check-intree.sh" || true
		grep -qE '^[A-Z]+ intree (clean log|kunit.py run)' "$KSALLOC_RESULTS" ||
			record FAIL "intree (check-intree.sh ended before it judged the log)"

		header "install: DKMS, make install, companion modules"
		"$scripts/check-dkms.sh" || true
	fi
fi



if [ -z "$kunit_only" ]; then
	tap=
	for t in "${tools[@]}"; do tap+=" $(basename "$t" .sh)"; done
	# The stock guests boot at once, each with its output in a file, shown
	# when all are done: a stock guest keeps about 0.6 of a host CPU busy
	# (its tests wait for timers and rates more than they compute).
	# (check-log.sh appends each guest's results in one write.)
	for k in $stock_kernels; do
		if [[ " $stock_ok " != *" $k "* ]]; then
			record FAIL "guest $k clean log (not run: the module build failed)"
			continue
		fi
		kvar=${k//[-.]/_}_vmlinuz
		# vivid and its dependencies, from the stock image's modules, for
		# ksalloc_vivid_test (in /lib/media; without it, the test skips).
		release=$(basename "${!kvar}") release=${release#vmlinuz-}
		"$scripts/media-modules.sh" "$(dirname "${!kvar}")/../lib/modules/$release" \
			"$build/$k/media" vivid || rm -rf "${build:?}/$k/media"
		KSALLOC_TAP_EXPECT=$tap run_guest "$k" "${!kvar}" "${KSALLOC_STOCK_TIMEOUT:-600}" \
			stock.sh "" "$build/$k/src/"{module,samples}/*.ko "$build/$k/media" \
			"${tools[@]}" "${demos[@]}" \
			> "$build/logs/guest-$k.out" 2>&1 &
		running+=("$k")
	done
	# QEMU's edu device, for ksalloc_edu_test: ksalloc_capture's DMA source,
	# on Debian's 6.12. Without an IOMMU, 256 MiB of memory: edu reaches 28
	# bits of address, and x86 sets up no bounce buffers below 4 GiB of
	# memory (nor, with swiotlb=force, any below 256 MiB in 2 GiB), so 2 GiB
	# would leave frames it cannot reach (STREAMON: -ERANGE). With
	# swiotlb=force (16 MiB of it) every mapping bounces: a sync missing or
	# in the wrong place shows as a wrong frame. stock-6.12-edu-iommu: as
	# test-6.12-edu, on Debian's kernel (2 GiB, the IOMMU serves the mask).
	for g in stock-6.12-edu stock-6.12-edu-swiotlb stock-6.12-edu-iommu; do
		if ! want_guest "$g" || [ ${#edu_tools[@]} -eq 0 ]; then
			continue
		fi
		if [[ " $stock_ok " != *" stock-6.12 "* ]]; then
			record FAIL "guest $g clean log (not run: the module build failed)"
			continue
		fi
		kvar=stock_6_12_vmlinuz append='' machine=pc mem=256 qemu="-device edu"
		case $g in
		stock-6.12-edu-swiotlb) append=swiotlb=8192,force ;;
		stock-6.12-edu-iommu)
			append=$edu_iommu_append machine=q35 mem=2048 qemu=$edu_iommu_qemu ;;
		esac
		tap=
		for t in "${edu_tools[@]}"; do tap+=" $(basename "$t")"; done
		KSALLOC_MACHINE=$machine KSALLOC_MEM=$mem KSALLOC_QEMU_ARGS=$qemu \
		KSALLOC_TAP_EXPECT=$tap \
			run_guest "$g" "${!kvar}" "${KSALLOC_STOCK_TIMEOUT:-600}" \
			stock.sh "$append" "$build/stock-6.12/src/"{module,samples}/*.ko \
			"${edu_tools[@]}" > "$build/logs/guest-$g.out" 2>&1 &
		running+=("$g")
	done
fi
wait
for k in "${running[@]}"; do cat "$build/logs/guest-$k.out"; done

judge_skips
summary
[ "$(count FAIL)" -eq 0 ]
