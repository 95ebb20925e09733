#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest script for the debug test kernel (boot it with kmemleak=on):
# KUnit suites, the user-space tests, then a kmemleak scan after unloading.
. /lib/ksalloc/lib.sh

leaks=/sys/kernel/debug/kmemleak
stage kmemleak-clear
if [ -w $leaks ]; then
	# Forget what boot left behind: report it once, then grey it.
	echo scan > $leaks
	echo clear > $leaks
else
	error "no $leaks: boot with kmemleak=on"
fi

stage load
load ksalloc
if [ -f /lib/ksalloc/ksalloc_kunit.ko ]; then
	stage kunit
	load ksalloc_kunit
	stage kunit-unload
	unload ksalloc_kunit
fi
run_tests
stage unload
unload ksalloc

stage kmemleak
if [ -w $leaks ]; then
	# kmemleak reports only objects older than 5 s, seen unreferenced twice.
	echo scan > $leaks
	sleep 6
	echo scan > $leaks
	cat $leaks
fi
finish
