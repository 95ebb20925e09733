# SPDX-License-Identifier: GPL-2.0
# Helpers for the guest scripts (busybox sh), sourced from /lib/ksalloc/lib.sh
# (also by the TAP shell tests: sourcing it only defines functions and the
# two settings kmsg_level and totals_file).
# The host reads the console log by these markers (see scripts/check-log.sh).
#
# Everything the host judges goes through /dev/kmsg (printk.devkmsg=on): the
# markers, the tests' output, errors. It then sits in the kernel log in order
# with the kernel's own messages, is never cut into by them, and is printed
# on the console by the same printer: a record reaches the console only after
# every earlier one, so a KSALLOC-GUEST-DONE on the console proves that every
# message before it got there too (or that the console says what it dropped:
# "** N printk messages dropped **", which fails the run). Nothing here lowers
# the console log level or clears the kernel log: on PREEMPT_RT, and with
# 6.12's deferred console printing, both lost messages still queued for the
# console. The host strips the console's "[   12.345678] " prefix.

# The level of our records: notice (5), shown at the default console level (7).
kmsg_level=5

# kmsg_lines: each line of stdin, as one kernel log record. A record holds at
# most 1024 bytes: longer lines are split (fold -b) at 900.
kmsg_lines() {
	fold -b -w 900 | {
		lost=0
		while IFS= read -r line || [ -n "$line" ]; do
			echo "<$kmsg_level>$line" || lost=$((lost + 1))
		done > /dev/kmsg || lost=$((lost + 1))
		# Said on the console itself, as the kernel log just failed us.
		[ $lost = 0 ] || echo "KSALLOC-ERROR: $lost lines lost writing to /dev/kmsg"
	}
}

# say TEXT: one line into the kernel log.
say() { printf "%s\n" "$*" | kmsg_lines; }

# The kernel prints straight to the UART, cutting into any line that user space
# has queued in the tty: wait until the console has sent it. (stty sets the
# mode with TCSADRAIN, which waits for the output to drain.) Only output that
# does not go through say (a shell, a command's own complaint) needs it.
drain() { stty -F /dev/console "$(stty -F /dev/console -g)" 2> /dev/null || sleep 1; }

# Stage markers, in order among kernel messages. Each also checks that our
# records are shown on the console (its level is the first field of
# /proc/sys/kernel/printk): if someone lowered it, the host hears of it.
stage() {
	drain
	console_level=$(cut -f1 /proc/sys/kernel/printk)
	[ "$console_level" -gt $kmsg_level ] ||
		echo "KSALLOC-ERROR: console log level $console_level hides our level $kmsg_level records"
	say "KSALLOC-STAGE: $1"
}

# An error the host must count as a failed run.
error() { say "KSALLOC-ERROR: $*"; }

# For the TAP shell tests (tools/testing/*.sh): ok STATUS DESCRIPTION prints
# one TAP line, counts it in $n and a failure in $failed, and returns STATUS
# (0 or not) for a caller that shows what failed.
ok() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n $2"
		return 0
	fi
	echo "not ok $n $2"
	failed=$((failed + 1))
	return 1
}

# load/unload MODULE: what insmod or rmmod says goes into the kernel log too.
# load NAME [PARAM=VALUE...]
load() {
	mod=$1
	shift
	out=$(insmod "/lib/ksalloc/$mod.ko" "$@" 2>&1) || error "insmod $mod.ko failed: $out"
	[ -z "$out" ] || printf "%s\n" "$out" | kmsg_lines
}
unload() {
	out=$(rmmod "$1" 2>&1) || error "rmmod $1 failed: $out"
	[ -z "$out" ] || printf "%s\n" "$out" | kmsg_lines
}

# The modules in /lib/ksalloc but the KUnit ones: ksalloc first, as the
# others (companion drivers) use its exports; unloaded in reverse.
modules() {
	echo ksalloc
	for m in /lib/ksalloc/*.ko; do
		m=${m##*/} && m=${m%.ko}
		case $m in ksalloc | *_kunit) ;; *) echo "$m" ;; esac
	done
}
load_all() { for m in $(modules); do load "$m"; done; }
unload_all() { for m in $(modules | sed -n '1!G;h;$p'); do unload "$m"; done; }

# ksalloc's lifetime counters (debugfs, since the module was loaded), as
# "misuse_events=N retaining_releases=N retained_frames=N"; or, failing
# that, what is wrong, with status 1. The file must be there: every guest
# mounts debugfs, and ksalloc is loaded while tests run.
totals_file=/sys/kernel/debug/ksalloc/totals
totals() {
	tot_out=
	tot_text=$(cat "$totals_file" 2>&1) ||
		{ echo "cannot read $totals_file: $tot_text"; return 1; }
	for tot_key in misuse_events retaining_releases retained_frames; do
		tot_n=$(echo "$tot_text" | sed -n "s/^$tot_key: \([0-9][0-9]*\)\$/\1/p")
		[ -n "$tot_n" ] || { echo "no \"$tot_key: N\" line in $totals_file"; return 1; }
		tot_out="$tot_out$tot_key=$tot_n "
	done
	echo "$tot_out"
}

# totals_changed BEFORE AFTER: status 0 if a counter rose. A test that
# reloads ksalloc (ksalloc_lifetime.sh) restarts them from
# 0: one that fell must be 0 now (a reload with exactly as many events as
# before goes unseen).
totals_changed() {
	for tot_a in $2; do
		tot_key=${tot_a%%=*} tot_n=${tot_a#*=} tot_was=
		for tot_b in $1; do [ "${tot_b%%=*}" = "$tot_key" ] && tot_was=${tot_b#*=}; done
		[ "$tot_n" = "$tot_was" ] && continue
		[ -n "$tot_was" ] && [ "$tot_n" -lt "$tot_was" ] && [ "$tot_n" = 0 ] && continue
		return 0
	done
	return 1
}

# capture KIND NAME CMD...: run CMD with its output in a file, then put that
# output into the kernel log between markers. KIND is TAP (counted by the host)
# or OUTPUT. ksalloc's lifetime counters must not move meanwhile: no test run
# here provokes a misuse or releases an allocator with frames still out (the
# KUnit cases that do run after them).
capture() {
	kind=$1 name=$2
	shift 2
	stage "$name"
	before=$(totals) || { error "$name: before the test: $before"; before=; }
	"$@" > "/tmp/$name.out" 2>&1
	rc=$?
	after=$(totals) || { error "$name: after the test: $after"; after=; }
	if [ -n "$before" ] && [ -n "$after" ] && totals_changed "$before" "$after"; then
		error "$name: ksalloc's lifetime counters changed: $before-> $after"
	fi
	say "KSALLOC-$kind-BEGIN: $name"
	kmsg_lines < "/tmp/$name.out"
	say "KSALLOC-$kind-END: $name exit=$rc"
	return $rc
}

# Run each user-space test program in /bin (*_test and their -m32 builds
# *_test_32), then each TAP shell test NAME.sh in /lib/ksalloc, given that
# directory of modules as $1.
run_tests() {
	for t in /bin/*_test /bin/*_test_32; do
		[ -x "$t" ] && capture TAP "${t##*/}" "$t"
	done
	for t in /lib/ksalloc/*.sh; do
		n=${t##*/} && n=${n%.sh}
		[ "$n" = lib ] || capture TAP "$n" sh "$t" /lib/ksalloc
	done
	return 0
}

# After the KUnit case ksalloc_async.ksalloc_release_outstanding, whose
# release retains the two 512-byte frames a kernel client still holds (a
# client bug), as TAP: the frames pin ksalloc for good, so that no reload
# creates a second slab cache of their name; the cache still serves new
# allocators of that geometry.
pinned_test() {
	n=0 failed=0
	echo "TAP version 13"
	echo "1..3"
	t=$(totals)
	case " $t" in *" retaining_releases=0 "* | " ") false ;; esac
	ok $? "KUnit retained frames (totals: $t)"
	out=$(rmmod ksalloc 2>&1)
	rc=$?
	[ $rc != 0 ] && [ -d /sys/module/ksalloc ]
	ok $? "rmmod ksalloc refused while frames are retained ($out)"
	[ $rc = 0 ] && load ksalloc
	ksallocctl create -n 2 -s 512 > /tmp/pinned.out 2>&1 &
	pid=$!
	i=0
	while ! grep -q '^holding' /tmp/pinned.out && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	grep -q '^holding' /tmp/pinned.out
	ok $? "a new allocator of 512-byte frames: $(head -n 1 /tmp/pinned.out)"
	kill $pid
	wait $pid
	[ $failed = 0 ]
}
capture_pinned() { capture TAP ksalloc_pinned pinned_test; }

# unload_all_but_pinned: unload_all, but ksalloc itself only when no frames
# were retained (pinned_test shows that rmmod refuses it then).
unload_all_but_pinned() {
	for m in $(modules | sed -n '1!G;h;$p'); do
		if [ "$m" = ksalloc ]; then
			case " $(totals)" in *" retaining_releases=0 "*) ;; *) continue ;; esac
		fi
		unload "$m"
	done
}

# The last words of every guest: lockdep still on (it turns itself off after
# a report, or silently, at KERN_DEBUG, when it runs out of room), the taint,
# then the success marker.
finish() {
	stage "done"
	if [ -r /proc/lockdep_stats ]; then
		dl=$(sed -n 's/^ *debug_locks: *//p' /proc/lockdep_stats)
		[ "$dl" = 1 ] || error "lockdep turned itself off (debug_locks ${dl:-unknown})"
	fi
	say "KSALLOC-TAINT: $(cat /proc/sys/kernel/tainted)"
	say "KSALLOC-GUEST-DONE"
	# On PREEMPT_RT a thread prints the console: let it catch up before init
	# reboots (were it cut short, the missing marker fails the run).
	sleep 1
}
