#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest script of `run.sh --shell`: our modules loaded, then a shell on the console.
. /lib/ksalloc/lib.sh

load_all
echo "ksalloc shell: the demo and the tests are in /bin; 'exit' powers off"
setsid cttyhack sh
finish
