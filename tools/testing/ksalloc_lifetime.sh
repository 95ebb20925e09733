#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Module lifetime and unloading under activity, in a guest (busybox sh), as
# TAP. rmmod of ksalloc_capture and ksalloc is tried again and again, for a
# few seconds each time, while: the capture demo streams; ksalloc_lifetime_test
# races allocator closes against the companion (a stream held open pins it);
# an unframed allocator is open; processes hold allocators and frames;
# processes open and close allocators, with and without frames. Every
# attempt must be refused while anything is in use, and may succeed only in
# a moment when nothing is (the openers then find no device, and nothing
# breaks); once idle both modules unload, none is left, and they load again.
# Expects both modules loaded from $1 (a directory of .ko files) and leaves
# them loaded, with any other module that uses ksalloc (the sample, say)
# unloaded for the test and loaded again.
# The caller's log checks catch what a wrong unload would print (KASAN,
# lockdep, "Slab cache still has objects", warnings).

ko=${1:-/lib/ksalloc}
# Seconds each rmmod loop goes on.
secs=${KSALLOC_LIFETIME_SECS:-3}
n=0 failed=0
# ok STATUS DESCRIPTION: a TAP line, counted in $n and $failed.
. /lib/ksalloc/lib.sh

note() { echo "# $*"; }
loaded() { grep -q "^$1 " /proc/modules; }
now() { date +%s; }

# reload: both modules back, whatever happened (a failure must not cascade).
reload() {
	loaded ksalloc || insmod "$ko/ksalloc.ko"
	loaded ksalloc_capture || insmod "$ko/ksalloc_capture.ko"
}

# refuse_for SECS MODULE...: rmmod each MODULE over and over, for SECS
# seconds and as long as process $busy lives if set. Status 0 if every
# attempt was refused and every MODULE is still loaded; $tries says how many
# there were.
refuse_for() {
	end=$(($(now) + $1)) rc=0 tries=0
	shift
	while :; do
		for m; do
			tries=$((tries + 1))
			if rmmod "$m" 2> /dev/null; then
				note "rmmod $m worked while it was in use"
				rc=1
				reload
			fi
		done
		[ "$(now)" -lt "$end" ] || { [ -n "$busy" ] && kill -0 "$busy" 2> /dev/null; } ||
			break
	done
	for m; do loaded "$m" || rc=1; done
	return $rc
}

# unload_within SECS MODULE: rmmod MODULE until it works, for up to SECS
# seconds; $tries says how many attempts it took.
unload_within() {
	end=$(($(now) + $1)) tries=0
	while [ "$(now)" -lt "$end" ]; do
		tries=$((tries + 1))
		rmmod "$2" 2> /dev/null && return 0
	done
	return 1
}

# wait_for PATTERN FILE...: until a FILE has a line matching PATTERN (5 s at most).
wait_for() {
	i=0
	while ! grep -q "$@" 2> /dev/null; do
		i=$((i + 1))
		[ $i -le 50 ] || return 1
		sleep 0.1
	done
}

show() { sed 's/^/# /' "$@"; }

echo "TAP version 13"
busy=

# Modules other than ksalloc_capture that use ksalloc: the 4th field of its line.
others=$(awk '$1 == "ksalloc" && $4 != "-" { gsub(",", " ", $4); print $4 }' /proc/modules |
	 tr ' ' '\n' | grep -v '^ksalloc_capture$' | tr '\n' ' ')
rc=0
for m in $others; do rmmod "$m" || rc=1; done
ok $rc "the other users of ksalloc unload first:${others:- none}"

# 1. A stream: the capture demo, 200 fps then 1000 fps with drops.
# (rmmod ksalloc is refused anyway while ksalloc_capture, which uses it, is
# loaded; it is tried alone in 3 and 4.)
ksalloc_capture_demo -F 200 -t 3 -s 2 > /tmp/lifetime_demo.out 2>&1 &
demo=$!
wait_for '^phase' /tmp/lifetime_demo.out
refuse_for "$secs" ksalloc_capture ksalloc
ok $? "rmmod ksalloc_capture, ksalloc refused while the capture demo streams"
note "$tries attempts"
wait "$demo"
rc=$?
[ $rc = 0 ] || show /tmp/lifetime_demo.out
ok $rc "the capture demo verified every frame meanwhile"

# 2. Allocator fds closed under running streams, for as long as that takes;
# this shell's stream keeps the companion pinned throughout.
exec 4< /dev/ksalloc_capture
ksalloc_lifetime_test > /tmp/lifetime_test.out 2>&1 &
busy=$!
refuse_for 1 ksalloc_capture ksalloc
ok $? "rmmod ksalloc_capture, ksalloc refused while ksalloc_lifetime_test runs"
note "$tries attempts"
wait "$busy"
rc=$?
busy=
exec 4>&-
[ $rc = 0 ] || show /tmp/lifetime_test.out
ok $rc "ksalloc_lifetime_test passed meanwhile"

rmmod ksalloc_capture
ok $? "ksalloc_capture unloads once no stream is open"

# 3. An allocator pins ksalloc from open() on, before its framing; then
# allocators and frames held by processes: atomic and sleepable pools,
# frames taken.
exec 3<> /dev/ksalloc
refuse_for 1 ksalloc
ok $? "rmmod ksalloc refused while an unframed allocator is open"
note "$tries attempts"
exec 3>&-
ksallocctl create -n 4 -s 4096 --take 2 > /tmp/lifetime_hold.out 2>&1 &
holder=$!
ksallocctl create -n 2 -s 64 -p sleepable --take 2 > /tmp/lifetime_hold2.out 2>&1 &
holder2=$!
wait_for '^holding' /tmp/lifetime_hold.out && wait_for '^holding' /tmp/lifetime_hold2.out
ok $? "two processes hold allocators with frames taken"
refuse_for "$secs" ksalloc
ok $? "rmmod ksalloc refused while processes hold allocators and frames"
note "$tries attempts"
kill -TERM "$holder" "$holder2"
wait "$holder" && wait "$holder2"
rc=$?
[ $rc = 0 ] || show /tmp/lifetime_hold.out /tmp/lifetime_hold2.out
ok $rc "the holders released their allocators and frames and exited 0"
rmmod ksalloc
ok $? "ksalloc unloads once they are gone"
! grep -q "^ksalloc" /proc/modules
ok $? "no ksalloc module is left"
insmod "$ko/ksalloc.ko"
ok $? "ksalloc loads again"

# 4. Processes opening and closing allocators, bare or framed with a frame
# taken, with short pauses; rmmod tried until it works, in a moment when no
# allocator exists, or for a few seconds. Either way the module must end up
# whole: still loaded with its device, or gone with it (the openers then
# fail cleanly, and it loads again). Both outcomes of an attempt, refused
# while in use and done in an idle moment, must have happened: the rounds go
# on until they have, up to 10 * secs seconds. (The churn leaves the module
# idle most of the time, so in odd rounds a process holds an allocator for
# the first 0.5 s of the attempts.)
rounds=0 unloaded=0 attempts=0 broken=0
end=$(($(now) + 2 * secs)) limit=$(($(now) + 10 * secs))
more_rounds() {
	[ $rounds -lt 3 ] && return 0
	[ $rounds -lt 20 ] && [ "$(now)" -lt "$end" ] && return 0
	{ [ $unloaded = 0 ] || [ $attempts = $unloaded ]; } && [ "$(now)" -lt "$limit" ]
}
while more_rounds; do
	rounds=$((rounds + 1))
	rm -f /tmp/lifetime_stop
	# Read-only: <> would create a plain /dev/ksalloc while the module is out.
	(while [ ! -e /tmp/lifetime_stop ]; do
		: < /dev/ksalloc
		usleep 1000
	done) > /dev/null 2>&1 &
	bare=$!
	(while [ ! -e /tmp/lifetime_stop ]; do
		ksallocctl create -n 2 -s 256 --take 1 &
		p=$!
		usleep 10000
		kill -TERM $p
		wait $p
		usleep 10000
	done) > /dev/null 2>&1 &
	framed=$!
	sleep 0.2
	held=
	if [ $((rounds % 2)) = 1 ]; then
		rm -f /tmp/lifetime_held
		(exec 6< /dev/ksalloc && touch /tmp/lifetime_held && usleep 500000) &
		held=$!
		i=0
		while [ ! -e /tmp/lifetime_held ] && [ $i -lt 500 ]; do
			usleep 10000
			i=$((i + 1))
		done
	fi
	if unload_within "$secs" ksalloc; then
		unloaded=$((unloaded + 1))
		[ ! -e /dev/ksalloc ] || { note "round $rounds: /dev/ksalloc left behind"; broken=1; }
	else
		loaded ksalloc && [ -c /dev/ksalloc ] ||
			{ note "round $rounds: rmmod failed, but ksalloc is not whole"; broken=1; }
	fi
	attempts=$((attempts + tries))
	touch /tmp/lifetime_stop
	wait $bare
	wait $framed
	[ -z "$held" ] || wait $held
	loaded ksalloc || insmod "$ko/ksalloc.ko" || { broken=1; break; }
done
ok $broken "rmmod ksalloc under open/close churn leaves ksalloc whole, loaded or gone"
note "unloaded in $unloaded of $rounds rounds, refused otherwise ($attempts attempts)"
[ $unloaded -gt 0 ]
ok $? "rmmod ksalloc under open/close churn found an idle moment"
[ $attempts -gt $unloaded ]
ok $? "rmmod ksalloc under open/close churn was refused while in use"
note "refused $((attempts - unloaded)) times"
[ -c /dev/ksalloc ]
ok $? "ksalloc is loaded again with its device"
ksallocctl create -n 2 -s 64 --take 1 > /tmp/lifetime_after.out 2>&1 &
p=$!
wait_for '^holding' /tmp/lifetime_after.out
kill -TERM $p
wait $p
rc=$?
[ $rc = 0 ] || show /tmp/lifetime_after.out
ok $rc "an allocator with a frame taken works afterwards"

# 5. rmmod while root writes idle_caches: the parameter file outlives the
# module's exit, so a write can trim the idle caches while the exit destroys
# them. Each cycle leaves eight idle caches, then starts a writer of 0 and
# 16 in turn (which ends when the file is gone) and rmmod at once, one
# before the other in turn; then loads ksalloc again. The caller's log
# checks see what a race would print (list corruption, KASAN,
# kmem_cache_destroy() warnings).
param=/sys/module/ksalloc/parameters/idle_caches
sizes="136 264 392 520 648 776 904 1032"
cycles=0 broken=0
while [ $cycles -lt 10 ]; do
	cycles=$((cycles + 1))
	echo 16 > $param || { broken=1; break; }
	pids=
	for s in $sizes; do
		ksallocctl create -n 2 -s "$s" > "/tmp/lifetime_idle_$s.out" 2>&1 &
		pids="$pids $!"
	done
	for s in $sizes; do
		wait_for '^holding' "/tmp/lifetime_idle_$s.out" ||
			{ note "cycle $cycles: no allocator of $s-byte frames"; broken=1; }
	done
	kill -TERM $pids
	for p in $pids; do wait "$p" || broken=1; done
	idle=$(grep -c '^ksalloc-' /proc/slabinfo)
	[ "$idle" -ge 8 ] || { note "cycle $cycles: $idle idle caches, not 8"; broken=1; }
	writer() {
		while echo 0 > $param && echo 16 > $param; do :; done 2> /dev/null
	}
	if [ $((cycles % 2)) = 1 ]; then
		writer &
		w=$!
		rmmod ksalloc || { note "cycle $cycles: rmmod failed"; broken=1; }
	else
		rmmod ksalloc &
		r=$!
		writer &
		w=$!
		wait $r || { note "cycle $cycles: rmmod failed"; broken=1; }
	fi
	wait $w
	loaded ksalloc || insmod "$ko/ksalloc.ko" || { broken=1; break; }
done
ok $broken "rmmod ksalloc while idle_caches is written, $cycles times"
[ -c /dev/ksalloc ] && [ "$(cat $param)" = 4 ]
ok $? "ksalloc is loaded again with its device and default idle_caches"

insmod "$ko/ksalloc_capture.ko"
ok $? "ksalloc_capture loads again"
rc=0
for m in $others; do insmod "$ko/$m.ko" || rc=1; done
ok $rc "the other users of ksalloc load again"
reload
loaded ksalloc && loaded ksalloc_capture
ok $? "both modules are loaded, as they were"

echo "1..$n"
[ "$failed" = 0 ]
