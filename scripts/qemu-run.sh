#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot a kernel and an initramfs under QEMU (TCG), keep the console log, judge it.
#
#   qemu-run.sh [options] KERNEL INITRAMFS
#     --name NAME      the guest's name in messages and results (default: KERNEL's file name)
#     --log FILE       console log (default: build/logs/NAME.log)
#     --timeout SECS   hard limit for the whole run (default: $KSALLOC_TIMEOUT, else 300)
#     --append ARGS    more kernel command line
#     --interactive    console on this terminal (stdin included); no verdict
# Env: KSALLOC_SMP (2), KSALLOC_MEM (2048, MiB), KSALLOC_MACHINE (pc; q35 for
#      -device intel-iommu), KSALLOC_VERBOSE=1 to watch the console,
#      KSALLOC_QEMU_ARGS more QEMU arguments, split at blanks (e.g. "-device edu"),
#      and those of check-log.sh, which judges the log: its exit status is ours.
#
# A panic must end the run at once: panic=-1 reboots, which -no-reboot turns into
# QEMU's exit; oops=panic makes every oops a panic, as a task that died holding a
# lock would otherwise hang the guest until the timeout.
# tsc=unstable: with multi-threaded TCG, the kernel's live patching of the
# sched_clock static key ("sched_clock: Marking stable") sometimes leaves the
# other vCPU on a stale int3: "Oops: int3" in sched_clock_cpu, 1 boot in 40 here.
# An unstable TSC is never marked stable (and guests switch to hpet anyway when
# they find the vCPUs' TSCs unsynchronized): 0 in 100 boots.
# log_buf_len=16M: the guests write their output through /dev/kmsg
# (printk.devkmsg=on lets them, unthrottled), and on PREEMPT_RT a thread
# prints the console, behind a test's burst of messages: a record overwritten
# before it was printed is lost ("printk messages dropped", a failure).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
name='' log='' append='' interactive=''
timeout=${KSALLOC_TIMEOUT:-300}
while [ $# -gt 2 ]; do
	case $1 in
	--name) name=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--interactive) interactive=1; shift ;;
	*) break ;;
	esac
done
[ $# -eq 2 ] || { echo "usage: $0 [--name N] [--log F] [--timeout S] [--append ARGS] [--interactive] KERNEL INITRAMFS" >&2; exit 2; }
kernel=$1 initrd=$2
name=${name:-$(basename "$kernel")}
log=$(realpath -m "${log:-$here/../build/logs/$name.log}")
mkdir -p "$(dirname "$log")"

qemu=(qemu-system-x86_64 -accel tcg -M "${KSALLOC_MACHINE:-pc}" -bios qboot.rom -nodefaults -display none -no-reboot
	-smp "${KSALLOC_SMP:-2}" -m "${KSALLOC_MEM:-2048}"
	-kernel "$kernel" -initrd "$initrd"
	-append "console=ttyS0 panic=-1 oops=panic tsc=unstable printk.devkmsg=on log_buf_len=16M $append"
	-chardev "stdio,id=con,logfile=$log,signal=off" -serial chardev:con)
# shellcheck disable=SC2206 # a list of arguments
qemu+=(${KSALLOC_QEMU_ARGS:-})

if [ -n "$interactive" ]; then
	exec "${qemu[@]}"
fi

# A log left by an earlier run must never be judged as this one's.
rm -f "$log"
echo "qemu-run: booting $name (timeout ${timeout} s, log $log)"
start=$SECONDS
rc=0
if [ "${KSALLOC_VERBOSE:-}" = 1 ]; then
	timeout -k 5 "$timeout" "${qemu[@]}" < /dev/null || rc=$?
else
	timeout -k 5 "$timeout" "${qemu[@]}" < /dev/null > /dev/null || rc=$?
fi
# The CPU time QEMU took: bash's times, its children's user and system time,
# written from this shell (a pipe or $() would run it in a child, which has
# none).
times=$(mktemp)
times > "$times"
cpu=$(awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); n += t[1] * 60 + t[2] }
	printf "%d", n }' "$times")
rm -f "$times"
echo "qemu-run: $name ran $((SECONDS - start)) s, $cpu s of CPU"

opts=(--name "$name")
case $rc in
0) ;;
124 | 137) opts+=(--timed-out "$timeout") ;;
*) echo "qemu-run: qemu-system-x86_64 exited with status $rc" ;;
esac
exec "$here/check-log.sh" "${opts[@]}" "$log"
