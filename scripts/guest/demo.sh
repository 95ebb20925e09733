#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest script of `make run`: load our modules and run the capture demo.
. /lib/ksalloc/lib.sh
demo_args=
[ -f /lib/ksalloc/demo_args.sh ] && . /lib/ksalloc/demo_args.sh

stage load
load_all
# shellcheck disable=SC2086 # the options are words
capture OUTPUT ksalloc_capture_demo /bin/ksalloc_capture_demo $demo_args
stage unload
unload_all
finish
