#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Self-test of scripts/check-log.sh, with no guest: made-up console logs.
#
#   check-log-selftest.sh
#
# Each report the log check must catch, as one realistic console line in an
# otherwise clean log, must fail it; the clean log must pass; ksalloc's
# client-bug messages must pass inside the KUnit cases that provoke them and
# fail anywhere else; TAP and markers must still be read through the console's
# timestamps. One line "PASS|FAIL <what>" per check, printed and appended to
# $KSALLOC_RESULTS if set. Exit: 0 when every check passed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
record() {
	echo "$1 check-log self-test: $2"
	[ -z "${KSALLOC_RESULTS:-}" ] || echo "$1 check-log self-test: $2" >> "$KSALLOC_RESULTS"
	[ "$1" = PASS ] || failed=$((failed + 1))
}

# One sample line per pattern of check-log.sh, as a 6.12 guest prints it.
samples=(
	'[   12.345678] BUG: KASAN: slab-use-after-free in ksalloc_free_frame+0x1a/0x60 [ksalloc]'
	'[   12.345678] BUG: KFENCE: out-of-bounds write in ksalloc_stress_free+0x45/0x90 [ksalloc_kunit]'
	'[   12.345678] BUG: KCSAN: data-race in ksalloc_allocate_frame / ksalloc_free_frame'
	'[   12.345678] BUG: sleeping function called from invalid context at mm/slab.h:332'
	'[   12.345678] BUG: scheduling while atomic: insmod/123/0x00000002'
	'[   12.345678] BUG: Invalid wait context'
	'[   12.345678] BUG: unable to handle page fault for address: ffffffffc0a01000'
	'[   12.345678] BUG: kernel NULL pointer dereference, address: 0000000000000008'
	'[   12.345678] BUG: Bad page state in process ksalloc_test  pfn:10a3c'
	'[   12.345678] BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 31s!'
	'[   12.345678] BUG: spinlock recursion on CPU#1, ksalloc_test/211'
	'[   12.345678] watchdog: BUG: soft lockup - CPU#1 stuck for 26s! [ksalloc_kunit:97]'
	'[   12.345678] BUG kmalloc-64 (Not tainted): Poison overwritten'
	'[   12.345678] BUG ksalloc-4096 (Tainted: G           O     ): Redzone overwritten'
	'[   12.345678] BUG kmalloc-128 (Tainted: G    B      ): Object already free'
	'[   12.345678] kernel BUG at mm/slub.c:465!'
	'[   12.345678] WARNING: CPU: 1 PID: 211 at module/ksalloc.c:241 ksalloc_uncharge+0x9c/0xb0 [ksalloc]'
	'[   12.345678] WARNING: possible circular locking dependency detected'
	'[   12.345678] WARNING: possible recursive locking detected'
	'[   12.345678] WARNING: inconsistent lock state'
	'[   12.345678] WARNING: suspicious RCU usage'
	'[   12.345678] WARNING: bad unlock balance detected!'
	'[   12.345678] possible circular locking dependency detected'
	'[   12.345678] possible recursive locking detected'
	'[   12.345678] inconsistent lock state'
	'[   12.345678] INFO: trying to register non-static key.'
	'[   12.345678] INFO: lockdep is turned off.'
	'[   12.345678] turning off the locking correctness validator.'
	'[   12.345678] INFO: task ksalloc_test:211 blocked for more than 122 seconds.'
	'[   12.345678] rcu: INFO: rcu_preempt self-detected stall on CPU'
	'[   12.345678] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:'
	'[   12.345678] rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks: { 1-... } 21 jiffies s: 317 root: 0x2/.'
	'[   12.345678] INFO: rcu_tasks detected stalls on tasks:'
	'[   12.345678] watchdog: Watchdog detected hard LOCKUP on cpu 1'
	'[   12.345678] Oops: general protection fault, probably for non-canonical address 0xdffffc0000000001: 0000 [#1] PREEMPT SMP KASAN NOPTI'
	'[   12.345678] general protection fault, probably for non-canonical address 0xdffffc0000000001'
	'[   12.345678] Oops: invalid opcode: 0000 [#1] PREEMPT SMP KASAN NOPTI'
	'[   12.345678] invalid opcode: 0000 [#1] SMP NOPTI'
	'[   12.345678] divide error: 0000 [#1] SMP NOPTI'
	'[   12.345678] int3: 0000 [#1] PREEMPT SMP NOPTI'
	'[   12.345678] stack segment: 0000 [#1] SMP NOPTI'
	'[   12.345678] PANIC: double fault, error_code: 0x0'
	'[   12.345678] Unable to handle kernel paging request at virtual address ffff800080000000'
	'[   12.345678] Kernel panic - not syncing: Fatal exception'
	'[   12.345678] UBSAN: array-index-out-of-bounds in module/ksalloc.c:622:13'
	'[   12.345678] KASAN: maybe wild-memory-access in range [0x0003088000000000-0x0003088000000007]'
	'[   12.345678] list_add corruption. prev->next should be next (ffff888005a0e2a8), but was 0000000000000000. (prev=ffff888005a0e2a8).'
	'[   12.345678] list_del corruption, ffff888005a0e2a8->next is LIST_POISON1 (dead000000000100)'
	'[   12.345678] refcount_t: underflow; use-after-free.'
	'[   12.345678] ksalloc_test: page allocation failure: order:8, mode:0x40cc0(GFP_KERNEL|__GFP_COMP), nodemask=(null),cpuset=/,mems_allowed=0'
	'[   12.345678] ksalloc_fuzz_te invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0'
	"[   12.345678] sysfs: cannot create duplicate filename '/kernel/slab/ksalloc-256'"
	"[   12.345678] kobject: kobject_add_internal failed for ksalloc-256 with -EEXIST, don't try to register things with the same name in the same directory."
	"[   12.345678] debugfs: Directory 'ksalloc' with parent '/' already present!"
	"[   12.345678] debugfs: File 'totals' in directory 'ksalloc' already present!"
	'[   12.345678] DMA-API: edu 0000:00:04.0: device driver frees DMA memory with wrong function [device address=0x0000000001230000] [size=4096 bytes] [mapped as single] [unmapped as page]'
	'[   12.345678] DMAR: DRHD: handling fault status reg 2'
	'[   12.345678] DMAR: [DMA Read NO_PASID] Request device [00:04.0] fault addr 0x1230000 [fault reason 0x06] PTE Read access is not set'
	'[   12.345678] dmar_fault: 21 callbacks suppressed'
	'[   12.345678] unreferenced object 0xffff888005a0e2a8 (size 64):'
	'[   12.345678] kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)'
	'[   12.345678] kmemleak: Kernel memory leak detector disabled'
	'[   12.345678] kmemleak: Kmemleak disabled without freeing internal data. Reclaim the memory with "echo clear > /sys/kernel/debug/kmemleak".'
	'[   12.345678] kmemleak: Freeing unknown object at 0xffff888005a0e2a8'
	'[   12.345678] kmemleak: Found object by alias at 0xffff888005a0e2a8'
	'[   12.345678] kmemleak: Scan area larger than object 0xffff888005a0e2a8'
	'[   12.345678] ODEBUG: Out of memory. ODEBUG disabled'
	'[   12.345678] smp: csd: Detected non-responsive CSD lock (#1) on CPU#0, waiting 5000000000 ns for CPU#01 do_flush_tlb_all+0x0/0x60(0x0).'
	'[   12.345678] kmem_cache_destroy ksalloc-256: Slab cache still has objects when called from ksalloc_free+0x1b2/0x2d0 [ksalloc]'
	'[   12.345678] ** 25 printk messages dropped **'
	'** 3 printk messages dropped **'
	'[   12.345678][    T1] BUG: KASAN: use-after-free in ksalloc_release+0x3f/0x110 [ksalloc]'
	'[   12.345678][    C0] WARNING: CPU: 0 PID: 0 at kernel/time/timer.c:1700 __run_timers+0x1b2/0x2d0'
)

# A clean log: the markers check-log.sh requires, kernel lines that are no
# report (boot noise of the debug kernels, DMA-API and kmemleak saying they
# are on), and a TAP block read through the timestamps.
clean_head='[    0.000000] Linux version 6.12.118 (gcc (Debian 12.2.0-14+deb12u1) 12.2.0) #1 SMP PREEMPT_DYNAMIC
[    0.512345] DMA-API: preallocated 65536 debug entries
[    0.512346] DMA-API: debugging enabled by kernel config
[    1.100000] kmemleak: Kernel memory leak detector initialized (mem pool available: 15864)
[    1.100001] kmemleak: Automatic memory scanning thread started
[    1.200000] hrtimer: interrupt took 4503210 ns
[    1.300000] ksalloc: loading out-of-tree module taints kernel.
[    2.000000] KSALLOC-STAGE: load
[    3.000000] KSALLOC-STAGE: prog_test
[    3.500000] KSALLOC-TAP-BEGIN: prog_test
[    3.500001] TAP version 13
[    3.500002] 1..2
[    3.500003] ok 1 first case
[    3.500004] ok 2 second case # SKIP no failslab
[    3.500005] KSALLOC-TAP-END: prog_test exit=0'
clean_tail='[    9.000000] KSALLOC-STAGE: done
[    9.100000] KSALLOC-TAINT: 4096
[    9.200000] KSALLOC-GUEST-DONE
KSALLOC-GUEST-EXIT: 0'

# check NAME WANT LOG: run check-log.sh on LOG (text); WANT is pass or fail.
# Its results go to a file of our own; it must print WHY (an ERE) when it fails.
check() {
	local what=$1 want=$2 why=${4:-} rc=0
	printf '%s\n' "$3" > "$tmp/guest.log"
	: > "$tmp/results"
	KSALLOC_RESULTS=$tmp/results KSALLOC_KUNIT_SUITES='' KSALLOC_TAP_EXPECT='' \
		"$here/check-log.sh" --name selftest "$tmp/guest.log" > "$tmp/out" 2>&1 || rc=$?
	if [ "$want" = pass ] && [ $rc -eq 0 ]; then
		record PASS "$what"
	elif [ "$want" = fail ] && [ $rc -ne 0 ] && grep -qE "$why" "$tmp/out"; then
		record PASS "$what"
	else
		record FAIL "$what"
		sed 's/^/    /' "$tmp/out"
	fi
}

check "a clean log passes" pass "$clean_head
$clean_tail"
if grep -qx 'PASS selftest prog_test: first case' "$tmp/results" &&
   grep -qx 'SKIP selftest prog_test: second case # no failslab' "$tmp/results"; then
	record PASS "TAP is read through the console timestamps"
else
	record FAIL "TAP is read through the console timestamps"
	sed 's/^/    /' "$tmp/results"
fi
# A test program that skipped itself whole (kselftest exit 4, no result) is a
# SKIP to judge; one that printed no result and exited 0 is a FAIL.
whole='[    4.000000] KSALLOC-TAP-BEGIN: whole_test
[    4.000001] TAP version 13
[    4.000002] 1..0 # SKIP no /proc/self/task/1/fail-nth
[    4.000003] KSALLOC-TAP-END: whole_test exit=4'
check "a program that skipped itself whole leaves the log clean" pass "$clean_head
$whole
$clean_tail"
if grep -qx 'SKIP selftest whole_test: (the whole program)' "$tmp/results"; then
	record PASS "a program that skipped itself whole is a SKIP"
else
	record FAIL "a program that skipped itself whole is a SKIP"
	sed 's/^/    /' "$tmp/results"
fi
check "a program with no result and exit 0 fails" fail "$clean_head
${whole//exit=4/exit=0}
$clean_tail" 'no TAP result'
check "a log without KSALLOC-GUEST-DONE fails" fail "$clean_head" 'no KSALLOC-GUEST-DONE'
check "a KSALLOC-ERROR fails the log" fail "$clean_head
[    5.000000] KSALLOC-ERROR: kmemleak: writing \"scan\" failed (off or disabled?): sh: write error: Operation not permitted
$clean_tail" 'guest errors'
check "taint W (512) fails the log" fail "$clean_head
${clean_tail/TAINT: 4096/TAINT: 4608}" 'kernel tainted'

for line in "${samples[@]}"; do
	text=${line#\[*\] }
	text=${text#\[*\] }
	check "\"$text\" fails the log" fail "$clean_head
$line
$clean_tail" 'the kernel log has reports'
done

# ksalloc's client bugs in and out of the KUnit cases that provoke them.
refused='[    4.100000] ksalloc: ksalloc-3: refused free of 00000000c0ffee00: not a frame allocated from this allocator'
retained='[    4.400000] ksalloc: ksalloc-9 released with 2 frames still allocated: retaining them'
written='[    4.500000] ksalloc: ksalloc-11: frame 00000000c0ffee00 written after free_frame (offset 8)'
# kunit LINES...: a kunit stage, each placeholder line (@NAME) replaced by a message.
kunit() {
	local ktap='[    3.900000] KSALLOC-STAGE: kunit
[    4.000000] KTAP version 1
[    4.000001] 1..1
[    4.000002]     KTAP version 1
[    4.000003]     # Subtest: ksalloc
[    4.000004]     # module: ksalloc_kunit
[    4.000005]     1..5
@before_first
[    4.000006]     ok 1 ksalloc_get_status_counts
@before_subtest
[    4.000007]         KTAP version 1
[    4.000008]         # Subtest: ksalloc_free_frame_misuse
@param1
[    4.200000]         ok 1 foreign
@param2
[    4.300000]         ok 2 interior # SKIP not on this kernel
[    4.300001]     # ksalloc_free_frame_misuse: pass:1 fail:0 skip:1 total:2
[    4.300002]     ok 2 ksalloc_free_frame_misuse
@outstanding
[    4.400001]     ok 3 ksalloc_release_outstanding
@write
[    4.500001]     not ok 4 ksalloc_free_frame_write_after_free
@unaligned
[    4.600001]     ok 5 ksalloc_free_frame_unaligned
@after_last
[    4.700000] # ksalloc: pass:4 fail:1 skip:0 total:5
[    4.700001] # Totals: pass:5 fail:1 skip:1 total:7
[    4.700002] ok 1 ksalloc
@suite_end
[    4.800000] KSALLOC-STAGE: kunit-unload
@unload' at msg
	for at in "$@"; do
		msg=${at#*=}
		ktap=${ktap/@${at%%=*}/$msg}
	done
	printf '%s\n%s\n%s\n' "$clean_head" "$(printf '%s\n' "$ktap" | grep -v '^@')" "$clean_tail"
}
check "ksalloc's client bugs pass inside the KUnit cases that provoke them" pass \
	"$(kunit "param1=$refused" "param2=$refused" "outstanding=$retained" "write=$written" \
		"unaligned=$refused")"
for at in before_first:"before the first KUnit result" \
	  before_subtest:"between a KUnit result and the next # Subtest:" \
	  after_last:"after the last KUnit case" suite_end:"after the suite's result" \
	  unload:"in the stage after KUnit's"; do
	check "\"refused free of\" fails the log ${at#*:}" fail "$(kunit "${at%%:*}=$refused")" \
		'client bugs'
done
check "\"refused free of\" fails the log in another KUnit case" fail \
	"$(kunit "outstanding=$refused")" 'client bugs'
check "\"retaining them\" fails the log in another KUnit case" fail \
	"$(kunit "param1=$retained")" 'client bugs'
check "\"written after free_frame\" fails the log in another KUnit case" fail \
	"$(kunit "outstanding=$written")" 'client bugs'
for msg in "$refused" "$retained" "$written"; do
	text=${msg#*: ksalloc-}
	check "\"ksalloc-$text\" fails the log in a user-space test" fail "$clean_head
$msg
$clean_tail" 'client bugs'
done

[ $failed -eq 0 ]
