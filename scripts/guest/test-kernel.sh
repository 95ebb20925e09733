#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest script for the debug test kernel and its variants: the user-space
# tests given, the KUnit suites, pinned_test, then, if booted with
# kmemleak=on, a kmemleak scan after unloading.
. /lib/ksalloc/lib.sh

leaks=/sys/kernel/debug/kmemleak kmemleak=
# kmemleak_write WORD: write to kmemleak, or say why not as an error. A kmemleak
# that is off (not booted with kmemleak=on, or disabled since: out of memory
# for its metadata, an internal error) fails every write with EPERM, and
# would read as no leaks at all.
kmemleak_write() {
	out=$( (echo "$1" > $leaks) 2>&1) && return 0
	error "kmemleak: writing \"$1\" failed (off or disabled?): $out"
	return 1
}
# Booted with kmemleak=on (test-6.12; not its variants, where kmemleak's
# cost would leave the stress cases little time to race).
if grep -qw kmemleak=on /proc/cmdline; then
	stage kmemleak-clear
	# Forget what boot left behind: report it once, then grey it.
	kmemleak_write scan && kmemleak_write clear && kmemleak=1
fi

# failslab and fail_page_alloc for the suite ksalloc_fault, which fails each
# allocation of ksalloc_create() in turn (current->fail_nth, which both
# share): allocations that may sleep must not be skipped (ignore-gfp-wait N),
# nor, for pages, order 0 (min-order 0, 1 by default) or highmem
# (ignore-gfp-highmem N); no stack dump per injection (verbose 0);
# probability stays 0 (fail-nth does without it, and times). Through the
# stack trace filter, no allocation under sysfs_slab_add() is failed: it
# leaks the kobject name when one fails in 6.12 (CVE-2024-25740, fixed
# upstream by 2420baa8e046): not ksalloc's leak.
# tools/testing/ksalloc_failnth_test.c sets the same itself.
failslab=/sys/kernel/debug/failslab failpage=/sys/kernel/debug/fail_page_alloc
failslab_saved=
failslab_set() {
	[ -d $failslab ] || return 0
	failslab_saved=
	for f in $failslab/ignore-gfp-wait $failslab/verbose $failslab/reject-start \
		$failslab/reject-end $failpage/ignore-gfp-wait $failpage/ignore-gfp-highmem \
		$failpage/min-order $failpage/verbose $failpage/reject-start $failpage/reject-end; do
		[ -f $f ] && failslab_saved="$failslab_saved $f=$(cat $f)"
	done
	echo N > $failslab/ignore-gfp-wait
	echo 0 > $failslab/verbose
	if [ -d $failpage ]; then
		echo N > $failpage/ignore-gfp-wait
		echo N > $failpage/ignore-gfp-highmem
		echo 0 > $failpage/min-order
		echo 0 > $failpage/verbose
	fi
	# [sysfs_slab_add, the next text symbol) from the sorted text symbols.
	range=$(grep -i '^[0-9a-f]* t ' /proc/kallsyms | sort |
		awk '$3 == "sysfs_slab_add" { s = $1; next } s && $1 != s { print "0x" s, "0x" $1; exit }')
	for d in $failslab $failpage; do
		if [ -n "$range" ] && [ -f $d/reject-start ]; then
			echo "${range% *}" > $d/reject-start
			echo "${range#* }" > $d/reject-end
		fi
	done
}
failslab_restore() {
	for s in $failslab_saved; do echo "${s#*=}" > "${s%%=*}"; done
}

stage load
load_all
# KCSAN (test-6.12-kcsan) reports every unmarked racing access: the
# kernel's own races too, which upstream leaves unmarked by the dozen
# (timekeeping, hrtimers, ...). Only races between two functions of
# ksalloc are reported, every one of them: its functions make the
# report filter's allowlist ("whitelist"), taken from kallsyms once it is
# loaded; so this guest must not reload it. Until then KCSAN is off
# (kcsan.early_enable=0 on its command line): a kernel race met while
# booting or reading kallsyms (hrtimer_active(), 7ae4f7a's warm run) was a
# report before the filter was in place.
if [ -w /sys/kernel/debug/kcsan ]; then
	fns=$(awk '$2 ~ /^[tT]$/ && $4 == "[ksalloc]" && $3 !~ /^__pfx_/ { print $3 }' /proc/kallsyms)
	[ -n "$fns" ] || error "kcsan: no function of ksalloc in /proc/kallsyms"
	for fn in $fns; do
		echo "!$fn" > /sys/kernel/debug/kcsan || error "kcsan: cannot allow $fn"
	done
	echo whitelist > /sys/kernel/debug/kcsan
	echo on > /sys/kernel/debug/kcsan || error "kcsan: cannot turn it on"
	say "kcsan: on, reports only races within ksalloc's $(echo "$fns" | wc -l) functions"
fi
# The user-space tests first: some unload and reload ksalloc, which the
# frames a KUnit case retains forbid from then on (pinned_test).
run_tests
if [ -f /lib/ksalloc/ksalloc_kunit.ko ]; then
	failslab_set
	stage kunit
	# KSALLOC_KUNIT_ARGS: the module's parameters, from the kernel command
	# line (the kernel passes what it does not know to init's environment).
	# shellcheck disable=SC2086 # a list of parameters
	load ksalloc_kunit ${KSALLOC_KUNIT_ARGS:-}
	stage kunit-unload
	unload ksalloc_kunit
	failslab_restore
	# Only after every suite (ksalloc_async retains frames), not a few
	# of them (kunit.filter_glob, test-6.12-kcsan).
	grep -q kunit.filter_glob= /proc/cmdline || capture_pinned
fi
stage unload
unload_all_but_pinned

stage kmemleak
if [ -n "$kmemleak" ]; then
	# kmemleak reports only objects older than 5 s: scan, wait, scan again.
	# Each scan must work; the report goes into the kernel log.
	kmemleak_write scan
	sleep 6
	if kmemleak_write scan; then
		cat $leaks > /tmp/kmemleak.out 2>&1 ||
			error "kmemleak: reading $leaks failed: $(cat /tmp/kmemleak.out)"
		kmsg_lines < /tmp/kmemleak.out
	fi
fi
finish
