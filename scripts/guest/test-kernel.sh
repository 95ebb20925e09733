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

stage load
load_all
if [ -f /lib/ksalloc/ksalloc_kunit.ko ]; then
	stage kunit
	load ksalloc_kunit
	stage kunit-unload
	unload ksalloc_kunit
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
