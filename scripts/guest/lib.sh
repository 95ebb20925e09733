# SPDX-License-Identifier: GPL-2.0
# Helpers for the guest scripts (busybox sh), sourced from /lib/ksalloc/lib.sh.
# The host reads the console log by these markers (see scripts/check-log.sh).

# The kernel prints straight to the UART, cutting into any line that user space
# has queued in the tty: wait until the console has sent it. (stty sets the
# mode with TCSADRAIN, which waits for the output to drain.)
drain() { stty -F /dev/console "$(stty -F /dev/console -g)" 2> /dev/null || sleep 1; }

# Stage markers go through /dev/kmsg, so they sit in order among kernel messages.
stage() {
	drain
	echo "KSALLOC-STAGE: $1" > /dev/kmsg
}

# An error the host must count as a failed run.
error() { echo "KSALLOC-ERROR: $*"; }

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

load() { insmod "/lib/ksalloc/$1.ko" || error "insmod $1.ko failed"; }
unload() { rmmod "$1" || error "rmmod $1 failed"; }

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

# capture KIND NAME CMD...: run CMD with its output in a file, then print that
# output between markers with kernel messages kept off the console meanwhile
# (those are printed right after). KIND is TAP (counted by the host) or OUTPUT.
capture() {
	kind=$1 name=$2
	shift 2
	stage "$name"
	"$@" > "/tmp/$name.out" 2>&1
	rc=$?
	level=$(cut -f1 /proc/sys/kernel/printk)
	dmesg -c > /dev/null
	dmesg -n 1
	echo "KSALLOC-$kind-BEGIN: $name"
	cat "/tmp/$name.out"
	echo "KSALLOC-$kind-END: $name exit=$rc"
	drain
	dmesg -n "$level"
	dmesg -c
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

# The last words of every guest: taint, then the success marker, with the
# kernel kept quiet so that nothing cuts into them.
finish() {
	stage "done"
	dmesg -n 1
	echo "KSALLOC-TAINT: $(cat /proc/sys/kernel/tainted)"
	echo "KSALLOC-GUEST-DONE"
	drain
}
