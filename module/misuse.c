// SPDX-License-Identifier: GPL-2.0
/*
 * Client bugs: a refused free_frame, a frame written after free_frame, and
 * frames a kernel client still holds when its allocator is released. The
 * first two are counted in the allocator and module-wide (struct
 * ksalloc_totals) and logged once per allocator; neither changes the pool.
 * Retained frames are counted module-wide and logged at the release; they
 * and their slab cache are kept for good.
 *
 * Poisoning, in debug kernels only (KSALLOC_POISON_FRAMES: KASAN, or SLUB
 * debugging on for every cache): a free frame is a live slab object, which
 * neither KASAN nor SLUB watch, and KASAN's mempool hooks are not exported
 * to modules (6.12 exports no poisoning of a range meant for drivers). So,
 * as dma_pool does under SLUB debugging, a frame that becomes free (made by
 * the fill, or returned by free_frame) is filled with POISON_FREE, and every
 * take (allocate_frame, requests, ALLOC_FRAME) and the release check
 * that it still is. A write after free_frame is then counted as misuse and
 * logged once per allocator; the frame is poisoned again and taken all
 * the same. Only slab-backed pools are poisoned: user space cannot map
 * them, so a frame it holds keeps its poison, and FREE_FRAME has nothing
 * to write. Page-backed pools are not (user space may map them, reads them
 * zeroed and writes them at will). Reads of a free frame go unseen.
 * The cost is a memset on free and a scan on take of the whole frame,
 * in the caller's context, hard IRQ included: debug kernels only.
 * Elsewhere the fast paths compile as if none of this existed.
 *
 * Context: any, hard IRQ included, but for ksalloc_check_released() and
 * ksalloc_count_retained(), called at release.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/visibility.h>
#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/poison.h>
#include <linux/sched.h>
#include <linux/string.h>

#include "ksalloc_priv.h"
#include "ksalloc_trace.h"

/* The kinds of client bug, each logged once per allocator. */
#define KSALLOC_MISUSE_FREE	BIT(0)	/* a refused free_frame */
#define KSALLOC_MISUSE_WRITE	BIT(1)	/* a free frame written */

/*
 * Since the module was loaded (see struct ksalloc_totals): misuse is
 * counted in any context, hence atomics.
 */
static atomic_long_t ksalloc_total_misuse = ATOMIC_LONG_INIT(0);
static atomic_long_t ksalloc_total_retaining = ATOMIC_LONG_INIT(0);
static atomic_long_t ksalloc_total_retained = ATOMIC_LONG_INIT(0);

/*
 * Counts a client bug of @kind (KSALLOC_MISUSE_*), in the allocator and
 * module-wide. Returns true for the allocator's first of its kind: the one
 * to log.
 */
static bool ksalloc_count_misuse(struct ksalloc *a, unsigned int kind)
{
	unsigned long flags;
	u32 misused;
	bool first;

	raw_spin_lock_irqsave(&a->lock, flags);
	misused = ++a->misuse;
	first = !(a->misuse_logged & kind);
	a->misuse_logged |= kind;
	raw_spin_unlock_irqrestore(&a->lock, flags);

	atomic_long_inc(&ksalloc_total_misuse);
	trace_ksalloc_misuse(a->id, misused);
	return first;
}

noinline void ksalloc_check_poison(struct ksalloc *a, void *frame)
{
	size_t size = a->framing.frame_size, off;
	u8 *bad = memchr_inv(frame, POISON_FREE, size);

	if (likely(!bad))
		return;
	off = bad - (u8 *)frame;
	if (ksalloc_count_misuse(a, KSALLOC_MISUSE_WRITE))
		pr_err("ksalloc-%u: frame %p written after free_frame (offset %zu)\n",
		       a->id, frame, off);
	/* Again: a frame user space holds stays poisoned; a write counts once. */
	memset(bad, POISON_FREE, size - off);
}

noinline void ksalloc_misuse(struct ksalloc *a, void *frame)
{
	if (ksalloc_count_misuse(a, KSALLOC_MISUSE_FREE))
		pr_warn("ksalloc-%u: refused free of %p: not a frame allocated from this allocator\n",
			a->id, frame);
}

/*
 * Before the release frees the pool: the free frames, and those user space
 * holds, must still be poisoned. A write after free_frame that no take
 * came to find is found here.
 */
void ksalloc_check_released(struct ksalloc *a)
{
	struct ksalloc_table *t = a->pool.table;
	unsigned long entry;
	u32 i;

	if (!ksalloc_poisons(&a->pool))
		return;
	for (i = 0; i < t->size; i++) {
		entry = t->entry[i];
		if (entry &&
		    (entry & KSALLOC_ENTRY_FLAGS) != KSALLOC_ENTRY_ALLOCATED) {
			ksalloc_check_poison(a, ksalloc_entry_frame(entry));
			cond_resched();
		}
	}
}

/* Counts the frames the release of allocator @id retained, and logs them. */
void ksalloc_count_retained(unsigned int id, unsigned int retained)
{
	atomic_long_inc(&ksalloc_total_retaining);
	atomic_long_add(retained, &ksalloc_total_retained);
	pr_warn("ksalloc-%u released with %u frames still allocated: retaining them\n",
		id, retained);
}

/**
 * ksalloc_get_totals() - read the module-wide counters
 * @totals: filled in.
 *
 * What debugfs ksalloc/totals shows, for the KUnit tests. Each counter is
 * read on its own: exact while no allocator misuses or is released.
 *
 * Context: Any context.
 */
void ksalloc_get_totals(struct ksalloc_totals *totals)
{
	totals->misuse_events = atomic_long_read(&ksalloc_total_misuse);
	totals->retaining_releases = atomic_long_read(&ksalloc_total_retaining);
	totals->retained_frames = atomic_long_read(&ksalloc_total_retained);
}
EXPORT_SYMBOL_IF_KUNIT(ksalloc_get_totals);
