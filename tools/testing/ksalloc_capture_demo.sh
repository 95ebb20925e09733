#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The `make run` demo as a test, in a guest (busybox sh), as TAP: a short run
# of both phases (30 fps, then 1000 fps with a slow reader) must verify every
# frame, drop in the fast phase and account for every frame.

echo "TAP version 13"
echo "1..1"
if ksalloc_capture_demo -t 2 > /tmp/capture_demo.out 2>&1; then
	echo "ok 1 ksalloc_capture_demo -t 2 verified every frame"
else
	sed 's/^/# /' /tmp/capture_demo.out
	echo "not ok 1 ksalloc_capture_demo -t 2"
	exit 1
fi
