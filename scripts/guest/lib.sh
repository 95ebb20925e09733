# SPDX-License-Identifier: GPL-2.0
# Helpers for the guest scripts (busybox sh), sourced from /lib/ksalloc/lib.sh.
# The host reads the console log by these markers (see scripts/check-log.sh).

# Stage markers go through /dev/kmsg, so they sit in order among kernel messages.
stage() { echo "KSALLOC-STAGE: $1" > /dev/kmsg; }

# An error the host must count as a failed run.
error() { echo "KSALLOC-ERROR: $*"; }

load() { insmod "/lib/ksalloc/$1.ko" || error "insmod $1.ko failed"; }
unload() { rmmod "$1" || error "rmmod $1 failed"; }

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
	dmesg -n "$level"
	dmesg -c
	return $rc
}

# Run each user-space test program present in /bin.
run_tests() {
	for t in ksalloc_test ksalloc_test_32; do
		[ -x "/bin/$t" ] && capture TAP "$t" "/bin/$t"
	done
	return 0
}

# The last words of every guest: taint, then the success marker.
finish() {
	stage done
	echo "KSALLOC-TAINT: $(cat /proc/sys/kernel/tainted)"
	echo "KSALLOC-GUEST-DONE"
}
