#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest script of `make run`: load our modules and run the demo.
. /lib/ksalloc/lib.sh

stage load
load_all
capture OUTPUT ksalloc_demo /bin/ksalloc_demo
stage unload
unload_all
finish
