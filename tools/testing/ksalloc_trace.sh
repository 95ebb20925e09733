#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Observability, in a guest (busybox sh), as TAP: the debugfs status file of
# each allocator and the ksalloc trace events in tracefs. Needs ksalloc loaded,
# debugfs at /sys/kernel/debug and the test programs in /bin.

n=0 failed=0
# ok STATUS DESCRIPTION: a TAP line, counted in $n and $failed.
. /lib/ksalloc/lib.sh
dbg=/sys/kernel/debug/ksalloc
tr=/sys/kernel/tracing

# field FILE KEY: the value of "KEY: value" in FILE.
field() { sed -n "s/^$2: //p" "$1"; }

echo "TAP version 13"
echo "1..9"

before=" $(ls $dbg | tr '\n' ' ') "
exec 3<> /dev/ksalloc
new=
for f in $(ls $dbg); do
	case $before in *" $f "*) ;; *) new=$new$f ;; esac
done
[ -n "$new" ] && [ -f "$dbg/$new" ] &&
	[ "$(field "$dbg/$new" pool_type)" = unset ] &&
	[ "$(field "$dbg/$new" id)" = "$new" ]
ok $? "an open allocator has a debugfs status file, framing unset"

exec 3>&-
[ ! -e "$dbg/$new" ]
ok $? "its status file goes when the allocator is released"

[ -f $tr/trace ] || mount -t tracefs tracefs $tr
missing=
for e in allocate free misuse wait release; do
	[ -f "$tr/events/ksalloc/ksalloc_$e/format" ] || missing="$missing $e"
done
[ -z "$missing" ]
ok $? "tracefs has the events allocate, free, misuse, wait, release${missing:+ (missing:$missing)}"

# Switching the events patches the static branches in allocate_frame and
# free_frame (text_poke_bp: an int3, then the new code, each followed by a
# sync IPI). QEMU 7.2's multi-threaded TCG has twice in some ten runs let the
# other vCPU, in ksalloc_sample's hard-IRQ timer, execute that int3 after the
# patch had ended: an "Oops: int3" in ksalloc_allocate_frame on 6.12, a hang
# on 6.1. CPUs do not, so the sample's timer is stopped meanwhile.
sample=
if grep -q '^ksalloc_sample ' /proc/modules; then
	rmmod ksalloc_sample && sample=$1/ksalloc_sample.ko
fi
echo 0 > $tr/tracing_on
echo > $tr/trace
echo 1 > $tr/events/ksalloc/enable
echo 1 > $tr/tracing_on
ksalloc_demo -n 3 -s 4096 > /dev/null
ksalloc_test -f ksalloc -v atomic -t blocked_alloc_woken_by_free > /dev/null
echo 0 > $tr/tracing_on
echo 0 > $tr/events/ksalloc/enable
[ -z "$sample" ] || insmod "$sample"
trace=/tmp/ksalloc.trace
cat $tr/trace > $trace

grep -q 'ksalloc_allocate: ksalloc-[0-9]* handle=[1-3] allocated=1$' $trace
ok $? "ksalloc_allocate fires with handle (1 to frames) and count"
grep -q 'ksalloc_allocate: ksalloc-[0-9]* handle=0 allocated=3$' $trace
ok $? "ksalloc_allocate reports a refused allocation as handle 0"
grep -q 'ksalloc_free: ksalloc-[0-9]* handle=[1-9][0-9]* allocated=0$' $trace
ok $? "ksalloc_free fires"
grep -q 'ksalloc_wait: ksalloc-[0-9]* count=1$' $trace
ok $? "ksalloc_wait fires for a blocked KSALLOC_IOC_ALLOC_FRAME"
grep -q 'ksalloc_release: ksalloc-[0-9]* count=0$' $trace
ok $? "ksalloc_release fires"
! grep -q 'ksalloc_misuse' $trace
ok $? "no ksalloc_misuse from well-behaved users"

[ "$failed" = 0 ]
