#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The slab caches of frames, in a guest (busybox sh), as TAP: allocators with
# the same frame size and alignment share one cache, named
# ksalloc-<size>-<alignment in bytes>; a cache nobody uses is kept for reuse,
# at most idle_caches of them, the least recently used destroyed first; and
# idle_caches=0 destroys the idle ones at once; and a cache going idle gives
# its slabs back, keeping at most one. Seen in /proc/slabinfo and
# /sys/kernel/slab, with `ksallocctl create` holding the allocators. Expects ksalloc loaded; $1, the
# module directory, is not used. Restores idle_caches.

n=0 failed=0 pids=
# ok STATUS DESCRIPTION: a TAP line, counted in $n and $failed.
. /lib/ksalloc/lib.sh
out=/tmp/ksalloc_slab
param=/sys/module/ksalloc/parameters/idle_caches
mkdir -p "$out"

# caches NAME: how many caches /proc/slabinfo lists by that name.
caches() { grep -c "^$1 " /proc/slabinfo; }

# slabs NAME: the slabs of a cache, from /sys/kernel/slab.
slabs() { cut -d' ' -f1 "/sys/kernel/slab/$1/slabs"; }

# hold NAME SIZE ALIGNMENT [FRAMES]: an allocator of 4 (or FRAMES) such frames,
# held in the background by ksallocctl create until release(); its output in
# $out/NAME.
hold() {
	ksallocctl create -n "${4:-4}" -s "$2" -a "$3" > "$out/$1" 2>&1 &
	pids="$pids $!"
	i=0
	while ! grep -q '^holding' "$out/$1" && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	grep -q '^holding' "$out/$1"
}

# release: ends every hold, and says whether all released theirs.
release() {
	rc=0
	for p in $pids; do
		kill "$p" 2> /dev/null
		wait "$p" || rc=1
	done
	pids=
	return $rc
}

saved=$(cat $param)
cleanup() {
	release
	echo "$saved" > $param
}
trap cleanup EXIT

echo "TAP version 13"
echo "1..8"

echo 1 > $param
hold a 1234 15 && hold b 1234 15
[ $? = 0 ] && [ "$(caches ksalloc-1234-16)" = 1 ]
ok $? "two allocators of 1234-byte frames, 16-aligned, share the cache ksalloc-1234-16"

release && [ "$(caches ksalloc-1234-16)" = 1 ]
ok $? "released, the cache is kept for reuse (idle_caches=1)"

hold c 1236 15 && release && [ "$(caches ksalloc-1236-16)" = 1 ] &&
	[ "$(caches ksalloc-1234-16)" = 0 ]
ok $? "a second idle cache (ksalloc-1236-16) replaces the least recently used one"

hold d 1236 15
[ $? = 0 ] && [ "$(caches ksalloc-1236-16)" = 1 ] && echo 0 > $param &&
	[ "$(caches ksalloc-1236-16)" = 1 ]
ok $? "idle_caches=0 keeps a cache in use"

release && [ "$(caches ksalloc-1236-16)" = 0 ]
ok $? "with idle_caches=0, a cache goes with its last allocator"

echo 1 > $param
hold e 2000 15 256
[ $? = 0 ] && [ "$(slabs ksalloc-2000-16)" -gt 1 ]
ok $? "256 frames of 2000 bytes take several slabs ($(slabs ksalloc-2000-16))"

release && [ "$(caches ksalloc-2000-16)" = 1 ] && [ "$(slabs ksalloc-2000-16)" -le 1 ]
ok $? "released, the idle cache keeps at most one slab ($(slabs ksalloc-2000-16))"
echo 0 > $param

! echo abc 2> /dev/null > $param && ! echo -1 2> /dev/null > $param &&
	[ "$(cat $param)" = 0 ]
ok $? "idle_caches refuses abc and -1 and keeps its value"

[ "$failed" = 0 ]
