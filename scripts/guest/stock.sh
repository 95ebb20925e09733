#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest script for Debian's stock kernels: the user-space tests against ksalloc.ko.
. /lib/ksalloc/lib.sh

stage load
load ksalloc
run_tests
stage unload
unload ksalloc
finish
