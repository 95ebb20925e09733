#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The `make run` demo as a test, in a guest (busybox sh), as TAP: a short run
# of both phases (30 fps, then 1000 fps with a slow reader) must verify every
# frame, drop in the fast phase and account for every frame; through the
# zero-copy path (every frame line says copied=0), then through read().

echo "TAP version 13"
echo "1..2"
fail=0
if ksalloc_capture_demo -t 2 > /tmp/capture_demo.out 2>&1 &&
	grep -q '^frame .* copied=0$' /tmp/capture_demo.out &&
	! grep '^frame ' /tmp/capture_demo.out | grep -qv ' copied=0$'; then
	echo "ok 1 ksalloc_capture_demo -t 2 (zero copy) verified every frame, copied none"
else
	sed 's/^/# /' /tmp/capture_demo.out | grep -v '^# frame ' | tail -40
	echo "not ok 1 ksalloc_capture_demo -t 2 (zero copy)"
	fail=1
fi
if ksalloc_capture_demo -r -t 2 > /tmp/capture_demo.out 2>&1; then
	echo "ok 2 ksalloc_capture_demo -r -t 2 (read) verified every frame"
else
	sed 's/^/# /' /tmp/capture_demo.out | grep -v '^# frame ' | tail -40
	echo "not ok 2 ksalloc_capture_demo -r -t 2 (read)"
	fail=1
fi
exit $fail
