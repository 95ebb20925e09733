#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest script for Debian's stock kernels: the user-space tests against our modules.
. /lib/ksalloc/lib.sh

stage load
load_all
run_tests
stage unload
unload_all
finish
