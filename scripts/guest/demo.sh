#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest script of `make run`: load ksalloc.ko and run the demo.
. /lib/ksalloc/lib.sh

stage load
load ksalloc
capture OUTPUT ksalloc_demo /bin/ksalloc_demo
stage unload
unload ksalloc
finish
