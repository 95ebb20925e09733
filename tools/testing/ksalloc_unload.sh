#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Module lifetime, in a guest (busybox sh), as TAP: an allocator pins ksalloc,
# a stream pins both modules, and unloading ksalloc_capture then ksalloc
# works once nothing is open. Expects both modules loaded from $1 (a
# directory of .ko files) and leaves them loaded, with any other module that
# uses ksalloc (the sample, say) unloaded for the test and loaded again.
# The caller's log checks catch what a wrong unload would print (KASAN,
# "Slab cache still has objects", "retaining").

ko=${1:-/lib/ksalloc}
n=0 failed=0
# ok STATUS DESCRIPTION: a TAP line, counted in $n and $failed.
. /lib/ksalloc/lib.sh

loaded() { grep -q "^$1 " /proc/modules; }

# refused MODULE: rmmod fails and the module stays.
refused() {
	! rmmod "$1" 2> /dev/null && loaded "$1"
}

echo "TAP version 13"
echo "1..10"

# Modules other than ksalloc_capture that use ksalloc: the 4th field of its line.
others=$(awk '$1 == "ksalloc" && $4 != "-" { gsub(",", " ", $4); print $4 }' /proc/modules |
	 tr ' ' '\n' | grep -v '^ksalloc_capture$' | tr '\n' ' ')
rc=0
for m in $others; do rmmod "$m" || rc=1; done
ok $rc "the other users of ksalloc unload first:${others:- none}"

rmmod ksalloc_capture
ok $? "ksalloc_capture unloads when no stream is open"

exec 3<> /dev/ksalloc
refused ksalloc
ok $? "ksalloc cannot be unloaded while an allocator is open"
exec 3>&-
rmmod ksalloc
ok $? "ksalloc unloads once the allocator is closed"

insmod "$ko/ksalloc.ko" && insmod "$ko/ksalloc_capture.ko"
ok $? "both modules load again"

# The capture demo, streaming: its stream holds a reference to its allocator.
ksalloc_capture_demo -F 30 -t 20 -s 0 > /dev/null 2>&1 &
demo=$!
sleep 2
refused ksalloc && refused ksalloc_capture
ok $? "neither module unloads while a stream holds an allocator"

kill "$demo"
wait "$demo" 2> /dev/null
rmmod ksalloc_capture && rmmod ksalloc
ok $? "ksalloc_capture then ksalloc unload once the stream is closed"
! grep -q "^ksalloc" /proc/modules
ok $? "no ksalloc module is left"

insmod "$ko/ksalloc.ko" && insmod "$ko/ksalloc_capture.ko"
ok $? "both modules load again afterwards"

rc=0
for m in $others; do insmod "$ko/$m.ko" || rc=1; done
ok $rc "the other users of ksalloc load again"

[ "$failed" = 0 ]
