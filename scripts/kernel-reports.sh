# SPDX-License-Identifier: GPL-2.0
# Sourced by scripts/check-log.sh (the guests' logs) and scripts/check-intree.sh
# (kunit.py's log): the kernel reports that fail a run.
# shellcheck shell=bash disable=SC2034

# Kernel reports, one ERE. From syzkaller's list of Linux reports
# (pkg/report/linux.go in google/syzkaller, linuxOopses), what an x86_64
# guest of ours can print: its oops headers "BUG:" (KASAN, KFENCE, KCSAN,
# KMSAN, soft lockup, sleeping function called from invalid context,
# scheduling while atomic, spinlock and lock-held bugs, bad page state,
# workqueue lockup, unable to handle page fault, Invalid wait context...),
# "WARNING:" (WARN*, and lockdep's possible circular / recursive locking,
# inconsistent lock state, irq lock inversion, suspicious RCU usage, bad
# unlock balance...), "INFO:" (hung tasks, RCU stalls of every kind including
# "self-detected stall" and "detected expedited stalls", "trying to register
# non-static key", and lockdep's older INFO: titles), "general protection
# fault", "Unable to handle kernel", "stack segment: ", "Kernel panic",
# "PANIC: double fault", "kernel BUG at", "divide error: ", "invalid opcode: ",
# "int3: ", "UBSAN:", and SLUB's "BUG kmalloc-" (taken for every cache: SLUB
# prints "BUG <cache> (<taint>): <what>", no colon after BUG: "Poison
# overwritten", "Redzone overwritten", "Object already free", "Wrong object
# count"...). Left out: its "BUG:" with no title and its suppressions (we
# suppress nothing under those headers: "INFO: lockdep is turned off" means
# lockdep is lost for the rest of the run); formats of other architectures
# ("Kernel BUG", "Internal error:", "Unhandled fault:", "Alignment trap:");
# "Booting the kernel" (a reboot: every guest ends with one); Rust, Go runtime,
# trusty, SYZFAIL, and the net/VFS titles (unregister_netdevice, busy inodes):
# nothing here runs them. Its commonOopses' bare "panic:" is Go's, not ours.
# Added, the kernel's checkers that report without such a header (or
# whose header is at a level the console may not show): "Oops", hard
# lockups, DEBUG_LIST's list_add/list_del corruption, refcount_t, lockdep
# turning itself off, a page allocation failure (memory ran out or
# fragmented: tests that then pass or fail by luck), the OOM killer, sysfs/kobject/debugfs name clashes, DMA-API debugging
# (but its boot lines) and the Intel IOMMU's DMAR faults, kmemleak's leaks,
# warnings and its disabling itself, debugobjects running out of memory,
# a non-responsive CSD lock, "Slab cache still has objects", and messages the
# console dropped ("** N printk messages dropped **"): a lost message is a
# failure. Not failed: "callbacks suppressed" (ratelimited repeats of a
# message whose first one is judged), "hrtimer: interrupt took", "sched: RT
# throttling activated" (slow TCG), and what the fault sweeps (failslab,
# fail_page_alloc, fail-nth) make the kernel print on purpose: "FAULT_INJECTION:
# forcing a failure", "vmalloc error: size N, vm_struct allocation failed",
# "SLUB: Unable to allocate memory", "__kmem_cache_create_args(...) failed"
# (an injected fail_page_alloc failure prints no "page allocation failure"),
# "kmemleak: Cannot allocate a scan area, scanning the full object" (kmemleak
# losing its own allocations disables it: "disabled" is caught).
bad='(^|[^A-Za-z_])BUG:|WARNING:|INFO:|Oops|(KASAN|KFENCE|KCSAN|KMSAN|UBSAN):'
bad+='|BUG [^ ]+ \([^)]*\): |kernel BUG at|general protection fault|Unable to handle kernel'
bad+='|stack segment: |PANIC: double fault|Kernel panic|divide error: |invalid opcode: |int3: '
bad+='|sleeping function called from invalid context|possible circular locking'
bad+='|possible recursive locking|inconsistent lock state|hard LOCKUP'
bad+='|list_[a-z_]+ corruption|refcount_t: |turning off the locking correctness validator'
bad+='|page allocation failure: order:|invoked oom-killer|cannot create duplicate filename'
bad+='|kobject_add_internal failed'
bad+="|debugfs: (File|Directory) '.*' .* already present|DMA-API: "
bad+='|DMAR: DRHD: handling fault|DMAR: \[(DMA (Read|Write)|INTR-REMAP)|dmar_fault'
bad+='|unreferenced object|kmemleak: (.*disabled|Failed |.*[Uu]nknown object'
bad+='|Found object by alias|Scan area larger|[0-9]+ new suspected memory leaks)'
bad+='|ODEBUG: Out of memory|csd: Detected non-responsive CSD lock'
bad+='|Slab cache still has objects|messages dropped'
# Lines of $bad that are no report: DMA-API debugging saying it is on.
benign='DMA-API: (preallocated [0-9]+ debug entries|debugging enabled by kernel config)'
