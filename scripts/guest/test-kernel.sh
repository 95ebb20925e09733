#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest script for the debug test kernel (boot it with kmemleak=on):
# KUnit suites, the user-space tests, then a kmemleak scan after unloading.
. /lib/ksalloc/lib.sh

leaks=/sys/kernel/debug/kmemleak kmemleak=
stage kmemleak-clear
# Forget what boot left behind: report it once, then grey it.
# Writing "scan" fails (EPERM) when kmemleak is off.
if echo scan > $leaks; then
	echo clear > $leaks
	kmemleak=1
else
	error "kmemleak is off: boot the test kernel with kmemleak=on"
fi

# failslab for the suite ksalloc_fault, which fails each allocation of
# ksalloc_create() in turn (current->fail_nth): allocations that may sleep
# must not be skipped (ignore-gfp-wait N); no stack dump per injection
# (verbose 0); and, through the stack trace filter, none under
# sysfs_slab_add(), which leaks the kobject name when it fails in 6.12
# (CVE-2024-25740, fixed upstream by 2420baa8e046): not ksalloc's leak.
# tools/testing/ksalloc_failnth_test.c sets the same itself.
failslab=/sys/kernel/debug/failslab failslab_saved=
failslab_set() {
	[ -d $failslab ] || return 0
	failslab_saved=
	for f in ignore-gfp-wait verbose reject-start reject-end; do
		[ -f $failslab/$f ] && failslab_saved="$failslab_saved $f=$(cat $failslab/$f)"
	done
	echo N > $failslab/ignore-gfp-wait
	echo 0 > $failslab/verbose
	# [sysfs_slab_add, the next text symbol) from the sorted text symbols.
	range=$(grep -i '^[0-9a-f]* t ' /proc/kallsyms | sort |
		awk '$3 == "sysfs_slab_add" { s = $1; next } s && $1 != s { print "0x" s, "0x" $1; exit }')
	if [ -n "$range" ] && [ -f $failslab/reject-start ]; then
		echo "${range% *}" > $failslab/reject-start
		echo "${range#* }" > $failslab/reject-end
	fi
}
failslab_restore() {
	for s in $failslab_saved; do echo "${s#*=}" > "$failslab/${s%%=*}"; done
}

stage load
load_all
if [ -f /lib/ksalloc/ksalloc_kunit.ko ]; then
	failslab_set
	stage kunit
	load ksalloc_kunit
	stage kunit-unload
	unload ksalloc_kunit
	failslab_restore
fi
run_tests
stage unload
unload_all

stage kmemleak
if [ -n "$kmemleak" ]; then
	# kmemleak reports only objects older than 5 s: scan, wait, scan again.
	echo scan > $leaks
	sleep 6
	echo scan > $leaks
	cat $leaks
fi
finish
