// SPDX-License-Identifier: GPL-2.0
/*
 * The pool: an allocator's frames, made once when the framing is set and
 * constant until the allocator is released. Setting the framing checks it,
 * charges its bytes to the user (quota.c), preallocates every frame, and
 * publishes the pool under the allocator's lock: from then on no path
 * allocates memory.
 *
 * Two kinds of memory, chosen by the framing (see KSALLOC_SLAB_FRAME_SIZE):
 * - slab-backed: frames of at most 8 KiB once aligned, as kmalloc() keeps
 *   slabs for what is small, come packed from a slab cache (slab.c);
 * - page-backed: larger frames, and those of a KSALLOC_OPTIONF_MAPPABLE
 *   pool, are one zeroed vmalloc area of order-0 pages (struct ksalloc_mem),
 *   so a framing needs no contiguous memory beyond a page and a fragmented
 *   machine can still make it. Frames sit at a stride of the frame size
 *   rounded up to whole pages: each starts on a page, which meets any
 *   alignment a framing may ask (at most PAGE_SIZE), and no page holds two
 *   frames, nor anything but this pool's frames. Only these pools can be
 *   mapped into user space (dev.c): the memory is refcounted, the pool
 *   holding one reference and every mapping one, and the last one frees it.
 * Both are charged to the memory cgroup, and counted against the limits
 * below at their real size: frames times the slab object size or times the
 * stride.
 *
 * Frames are found by address in an open-addressing hash table (struct
 * ksalloc_table), at most 16/23 (70%) full, whose entries are the frame
 * address with two state bits in the low bits that slab alignment leaves
 * clear. A frame's slot in the table names it inside the module: the shared
 * stack of free frames holds slot numbers. The per-CPU caches (frame.c) hold
 * pointers to the entries, which a fast allocation marks directly.
 *
 * A slot depends on the address (its hash, and the probes of the frames
 * before it), so user space never sees one: a frame's user-space handle
 * (and its name in trace events) is its index in a random order of the
 * frames, dealt when the pool is made, from 1 to the number of frames.
 * Every handle in that range names a frame, so neither a handle nor the
 * errno of a FREE_FRAME says anything about addresses or slots. Nor does
 * the order in which a new pool hands its frames out: the free stack starts
 * in a random order of the frames, not by slot (see ksalloc_pool_fill()),
 * and from then on follows the frees.
 *
 * Limits: KSALLOC_MAX_FRAMES frames of at most KSALLOC_MAX_FRAME_SIZE bytes,
 * at most max_pool_bytes per allocator and max_user_bytes for the allocators
 * of one user together; besides, every allocation is charged to the memory
 * cgroup of the task that sets the framing.
 *
 * Context: making and freeing a pool sleeps; the fast paths read the pool
 * without a lock, which is why it is published one field at a time.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/kmemleak.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/poison.h>
#include <linux/poll.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "ksalloc_priv.h"

static unsigned long ksalloc_max_pool_bytes = 64UL << 20;
module_param_named(max_pool_bytes, ksalloc_max_pool_bytes, ulong, 0644);
MODULE_PARM_DESC(max_pool_bytes,
		 "Largest pool one allocator may preallocate, in bytes (default 64 MiB)");

/* The cache of an allocator that has none: closed for good. */
static DEFINE_PER_CPU(struct ksalloc_cpu, ksalloc_no_cache) = {
	.state = KSALLOC_CPU_CLOSED,
};

/* The table of an allocator without frames: every lookup misses. */
static union {
	struct ksalloc_table table;
	u8 bytes[struct_size_t(struct ksalloc_table, entry, 1)];
} ksalloc_empty = { .table.size = 1 };

/* The pool of an allocator before its framing is set: no frames. */
void ksalloc_pool_init(struct ksalloc_pool *pool)
{
	*pool = (struct ksalloc_pool){
		.table = &ksalloc_empty.table,
		.cpu = &ksalloc_no_cache,
	};
}

/* Returns the slot of @frame, or -1 if it is not a frame of @t. */
long ksalloc_lookup(const struct ksalloc_table *t, const void *frame)
{
	unsigned long entry;
	u32 i = ksalloc_hash(t, frame);

	/* At most 16/23 full (see ksalloc_pool_create()): an empty entry ends a probe. */
	while ((entry = READ_ONCE(t->entry[i]))) {
		if (ksalloc_entry_frame(entry) == frame)
			return i;
		if (++i == t->size)
			i = 0;
	}
	return -1;
}

/* Page-backed frames: see struct ksalloc_framing and KSALLOC_SLAB_FRAME_SIZE. */
static bool ksalloc_page_backed(const struct ksalloc_framing *f)
{
	return f->options & KSALLOC_OPTIONF_MAPPABLE ||
	       ALIGN(f->frame_size, f->alignment + 1) > KSALLOC_SLAB_FRAME_SIZE;
}

/* The memory a frame of @f takes: its size in the slab cache, or the stride. */
static size_t ksalloc_frame_bytes(const struct ksalloc_framing *f)
{
	if (ksalloc_page_backed(f))
		return PAGE_ALIGN(f->frame_size);
	return ALIGN(f->frame_size, f->alignment + 1);
}

static void *ksalloc_vzalloc(size_t n, size_t size)
{
	size_t bytes;

	if (check_mul_overflow(n, size, &bytes))
		return NULL;
	/*
	 * kmalloc() would round a large table up to a power of two. A failure
	 * is the caller's -ENOMEM, not a report: no warn_alloc() dump.
	 */
	if (bytes > PAGE_SIZE)
		return __vmalloc(bytes, GFP_KERNEL_ACCOUNT | __GFP_ZERO | __GFP_NOWARN);
	return kzalloc(bytes, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
}

static void ksalloc_mem_release(struct kref *ref)
{
	struct ksalloc_mem *mem = container_of(ref, struct ksalloc_mem, ref);

	vfree(mem->base);
	kvfree(mem->pages);
	kfree(mem);
}

/* Drops a reference to @mem: the last one frees it. Process context. */
void ksalloc_mem_put(struct ksalloc_mem *mem)
{
	kref_put(&mem->ref, ksalloc_mem_release);
}

/*
 * Makes @bytes (a multiple of PAGE_SIZE) of zeroed page-backed memory,
 * charged to the memory cgroup; NULL if there is not enough memory.
 */
static struct ksalloc_mem *ksalloc_mem_create(size_t bytes)
{
	struct ksalloc_mem *mem;
	unsigned long i;

	mem = kzalloc(sizeof(*mem), GFP_KERNEL_ACCOUNT);
	if (!mem)
		return NULL;
	kref_init(&mem->ref);
	mem->nr_pages = bytes >> PAGE_SHIFT;
	mem->pages = ksalloc_vzalloc(mem->nr_pages, sizeof(*mem->pages));
	/*
	 * Order-0 pages (no VM_ALLOW_HUGE_VMAP), zeroed: what user space
	 * first reads through a mapping.
	 */
	mem->base = __vmalloc(bytes, GFP_KERNEL_ACCOUNT | __GFP_ZERO | __GFP_NOWARN);
	if (!mem->pages || !mem->base) {
		ksalloc_mem_release(&mem->ref);
		return NULL;
	}
	for (i = 0; i < mem->nr_pages; i++)
		mem->pages[i] = vmalloc_to_page(mem->base + i * PAGE_SIZE);
	return mem;
}

/*
 * Frees @pool, except frames still allocated to kernel clients: those are
 * retained, and with them their cache and the module, which then cannot be
 * unloaded (a reloaded module's cache of the same name would collide with
 * the one kept). Returns how many were retained.
 */
unsigned int ksalloc_pool_destroy(struct ksalloc_pool *pool)
{
	struct ksalloc_table *t = pool->table;
	unsigned int i, retained = 0;

	for (i = 0; t != &ksalloc_empty.table && i < t->size; i++) {
		unsigned long entry = t->entry[i];

		if (!entry)
			continue;
		if ((entry & KSALLOC_ENTRY_FLAGS) == KSALLOC_ENTRY_ALLOCATED) {
			/* Deliberately kept: not a leak for kmemleak to report. */
			if (pool->slab)
				kmemleak_ignore(ksalloc_entry_frame(entry));
			retained++;
		} else if (pool->slab) {
			kmem_cache_free(pool->slab->cache,
					ksalloc_entry_frame(entry));
		}
	}
	if (retained) {
		__module_get(THIS_MODULE);
		/* The whole area is kept, and scanned: its pages are referenced. */
		if (pool->mem)
			kmemleak_not_leak(pool->mem);
	} else if (pool->slab) {
		ksalloc_put_slab(pool->slab);
	} else if (pool->mem) {
		/* Mappings may keep it a while longer. */
		ksalloc_mem_put(pool->mem);
	}
	if (t != &ksalloc_empty.table)
		kvfree(t);
	if (pool->cpu_frames)
		free_percpu(pool->cpu);
	kvfree(pool->free);
	kvfree(pool->slot_of_handle);
	kvfree(pool->handle_of_slot);
	kvfree(pool->exports);
	return retained;
}

/*
 * Fills @pool's table with @frames frames, from its cache or its memory, and
 * its free stack with their slots in a random order: the order in which the
 * frames are handed out (in a page-backed pool, the order of the offsets
 * KSALLOC_IOC_ALLOC_FRAME2 tells) says nothing about their addresses, as a
 * stack by slot would (a slot is a function of the address, see below).
 * The frames go into the table in the stack's order, from its top: those
 * taken first are the likeliest to sit at their first probe (the very first
 * one always does), so a client that reuses a few frames finds them fastest.
 */
static int ksalloc_pool_fill(struct ksalloc_pool *pool, unsigned int frames)
{
	struct ksalloc_table *t = pool->table;
	unsigned int i, j;
	void **frame;
	u32 slot;

	/* Only while the pool is made: no need to charge it. */
	frame = kvmalloc_array(frames, sizeof(*frame), GFP_KERNEL | __GFP_NOWARN);
	if (!frame)
		return -ENOMEM;
	for (i = 0; i < frames; i++) {
		if (pool->mem)
			frame[i] = pool->mem->base + (size_t)i * pool->stride;
		else
			frame[i] = kmem_cache_alloc(pool->slab->cache, GFP_KERNEL);
		if (!frame[i])
			goto err_free_frames;
		if (WARN_ON_ONCE((unsigned long)frame[i] & KSALLOC_ENTRY_FLAGS)) {
			i++;
			goto err_free_frames;
		}
	}
	/* Fisher-Yates; j apart: swap() evaluates its arguments twice. */
	for (i = frames - 1; i > 0; i--) {
		j = get_random_u32_below(i + 1);
		swap(frame[i], frame[j]);
	}
	for (i = 0; i < frames; i++) {
		/* Free from now on: see misuse.c. */
		if (ksalloc_poisons(pool)) {
			memset(frame[i], POISON_FREE, pool->slab->size);
			cond_resched();
		}
		for (slot = ksalloc_hash(t, frame[i]); t->entry[slot];)
			if (++slot == t->size)
				slot = 0;
		t->entry[slot] = (unsigned long)frame[i];
		pool->free[frames - 1 - i] = slot;
	}
	kvfree(frame);
	return 0;

err_free_frames:
	/* Not in the table yet: ksalloc_pool_destroy() would not find them. */
	while (!pool->mem && i--)
		kmem_cache_free(pool->slab->cache, frame[i]);
	kvfree(frame);
	return -ENOMEM;
}

/*
 * Deals the handles of @pool's @frames frames: their slots in a random
 * order (Fisher-Yates), so that a handle says nothing about the address.
 */
static void ksalloc_pool_deal_handles(struct ksalloc_pool *pool,
				      unsigned int frames)
{
	struct ksalloc_table *t = pool->table;
	u32 *slot = pool->slot_of_handle;
	unsigned int i, j, n = 0;

	for (i = 0; i < t->size; i++)
		if (t->entry[i])
			slot[n++] = i;
	for (i = frames - 1; i > 0; i--) {
		/* Not in swap()'s arguments: it evaluates them twice. */
		j = get_random_u32_below(i + 1);
		swap(slot[i], slot[j]);
	}
	for (i = 0; i < frames; i++)
		pool->handle_of_slot[slot[i]] = i + 1;
}

/*
 * Makes a pool for @framing, all of its frames free. On failure, what was
 * made is in @pool for ksalloc_pool_destroy().
 */
static int ksalloc_pool_create(struct ksalloc_pool *pool,
			       const struct ksalloc_framing *framing)
{
	unsigned int frames = framing->frames;
	/* At most 16/23 full: 11.5 bytes of table per frame. */
	u32 size = frames + frames * 7 / 16 + 1;
	struct ksalloc_table *t;
	int i, err;

	ksalloc_pool_init(pool);
	if (ksalloc_page_backed(framing)) {
		pool->stride = ksalloc_frame_bytes(framing);
		pool->mem = ksalloc_mem_create((size_t)frames * pool->stride);
		pool->exports = ksalloc_vzalloc(frames, sizeof(*pool->exports));
		if (!pool->mem || !pool->exports)
			return -ENOMEM;
	} else {
		pool->slab = ksalloc_get_slab(framing->frame_size,
					      framing->alignment + 1);
		if (!pool->slab)
			return -ENOMEM;
	}
	pool->free = ksalloc_vzalloc(frames, sizeof(*pool->free));
	pool->slot_of_handle = ksalloc_vzalloc(frames,
					       sizeof(*pool->slot_of_handle));
	pool->handle_of_slot = ksalloc_vzalloc(size,
					       sizeof(*pool->handle_of_slot));
	t = ksalloc_vzalloc(struct_size(t, entry, size), 1);
	if (t) {
		t->size = size;
		pool->table = t;
	}
	if (!pool->free || !pool->slot_of_handle || !pool->handle_of_slot || !t)
		return -ENOMEM;

	/* Only atomic pools have a fast path. */
	if (framing->pool_type == KSALLOC_POOL_ATOMIC) {
		u32 cpu_frames = clamp(frames / (2 * nr_cpu_ids), 1U,
				       KSALLOC_CPU_FRAMES);
		struct ksalloc_cpu __percpu *cpu;

		cpu = __alloc_percpu_gfp(struct_size_t(struct ksalloc_cpu, entry,
						       cpu_frames),
					 __alignof__(struct ksalloc_cpu),
					 GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
		if (!cpu)
			return -ENOMEM;
		pool->cpu = cpu;
		pool->cpu_frames = cpu_frames;
		/* Closed until ksalloc_update_caches() opens them. */
		for_each_possible_cpu(i)
			per_cpu_ptr(cpu, i)->state = KSALLOC_CPU_CLOSED;
	}
	err = ksalloc_pool_fill(pool, frames);
	if (!err)
		ksalloc_pool_deal_handles(pool, frames);
	return err;
}

/* Checks @f; on success, sets @total to the bytes of its frames. */
static int ksalloc_check_framing(const struct ksalloc_framing *f,
				 size_t *total)
{
	if (f->reserved)
		return -EINVAL;
	if (f->options & ~KSALLOC_OPTIONF_VALID)
		return -EOPNOTSUPP;
	if (f->pool_type != KSALLOC_POOL_ATOMIC &&
	    f->pool_type != KSALLOC_POOL_SLEEPABLE)
		return -EINVAL;
	if (!f->frames || !f->frame_size)
		return -EINVAL;
	/* A mask 2^n - 1 has no bit in common with its successor. */
	if (f->alignment & (f->alignment + 1) || f->alignment > PAGE_SIZE - 1)
		return -EINVAL;
	if (f->frames > KSALLOC_MAX_FRAMES ||
	    f->frame_size > KSALLOC_MAX_FRAME_SIZE)
		return -E2BIG;
	if (check_mul_overflow((size_t)f->frames, ksalloc_frame_bytes(f), total))
		return -EOVERFLOW;
	if (*total > READ_ONCE(ksalloc_max_pool_bytes))
		return -EDQUOT;
	return 0;
}

int ksalloc_set_framing(struct ksalloc *a,
			const struct ksalloc_framing *framing)
{
	kuid_t uid = current_uid();
	struct ksalloc_pool pool;
	unsigned long flags;
	size_t bytes;
	bool busy;
	int err;

	err = ksalloc_check_framing(framing, &bytes);
	if (err)
		return err;
	if (READ_ONCE(a->ready))
		return -EBUSY;
	err = ksalloc_charge_user(uid, bytes);
	if (err)
		return err;

	/* Built unlocked (it sleeps); two racing callers: the first one wins. */
	err = ksalloc_pool_create(&pool, framing);
	if (err)
		goto err_destroy;

	raw_spin_lock_irqsave(&a->lock, flags);
	busy = a->ready;
	if (!busy) {
		a->framing = *framing;
		a->uid = uid;
		a->charged = bytes;
		a->nr_free = framing->frames;
		/* The fast paths read the pool unlocked: one field at a time. */
		WRITE_ONCE(a->pool.slab, pool.slab);
		WRITE_ONCE(a->pool.mem, pool.mem);
		WRITE_ONCE(a->pool.exports, pool.exports);
		WRITE_ONCE(a->pool.stride, pool.stride);
		WRITE_ONCE(a->pool.free, pool.free);
		WRITE_ONCE(a->pool.slot_of_handle, pool.slot_of_handle);
		WRITE_ONCE(a->pool.handle_of_slot, pool.handle_of_slot);
		WRITE_ONCE(a->pool.cpu_frames, pool.cpu_frames);
		/* Release: the caches' states (closed) before the pointer. */
		smp_store_release(&a->pool.cpu, pool.cpu);
		/* Release: the table's entries before the pointer. */
		smp_store_release(&a->pool.table, pool.table);
		a->ready = true;
		ksalloc_update_caches(a);
	}
	raw_spin_unlock_irqrestore(&a->lock, flags);
	if (!busy) {
		/* A poll() before the framing waits: every frame is free now. */
		wake_up_interruptible_poll(&a->wait, EPOLLIN | EPOLLRDNORM);
		return 0;
	}
	err = -EBUSY;
err_destroy:
	ksalloc_pool_destroy(&pool);
	ksalloc_uncharge_user(uid, bytes);
	return err;
}

/*
 * Where the frame of @slot is in a mapping of page-backed @pool: the caller
 * holds the frame, so the pool is set, and constant.
 */
u64 ksalloc_slot_offset(const struct ksalloc_pool *pool, long slot)
{
	return ksalloc_entry_frame(READ_ONCE(pool->table->entry[slot])) -
	       pool->mem->base;
}

/**
 * ksalloc_frame_offset() - where a frame is in a mapping of its allocator
 * @file: the allocator.
 * @frame: a frame of it, held or free; or NULL, to ask whether the pool
 *	can be mapped at all (-ENODEV) or not (-EINVAL).
 * @offset: set on success to where @frame starts in an mmap() of @file at
 *	offset 0, as KSALLOC_IOC_ALLOC_FRAME2 tells user space: a multiple
 *	of PAGE_SIZE.
 *
 * A driver that hands frames to user space (the capture companion's
 * zero-copy path) tells the application where to find each one in its own
 * mapping of the allocator. Only page-backed pools can be mapped (see
 * KSALLOC_OPTIONF_MAPPABLE): every pool of frames larger than
 * KSALLOC_SLAB_FRAME_SIZE, and those that ask. No lock is taken and
 * nothing is written: the pool is constant once set.
 *
 * Context: Any context.
 * Return: 0; -EINVAL if @file is not an allocator or @frame is not (the
 * start of) one of its frames; -EBADFD before the framing is set; -ENODEV
 * for a pool that cannot be mapped.
 */
int ksalloc_frame_offset(struct file *file, const void *frame, u64 *offset)
{
	struct ksalloc *a = ksalloc_from_file(file);
	const struct ksalloc_mem *mem;
	unsigned long at;
	u32 stride;

	if (!a)
		return -EINVAL;
	/* Acquire: pairs with the release in ksalloc_set_framing(). */
	if (smp_load_acquire(&a->pool.table) == &ksalloc_empty.table)
		return -EBADFD;
	mem = READ_ONCE(a->pool.mem);
	if (!mem)
		return -ENODEV;
	stride = READ_ONCE(a->pool.stride);
	at = (unsigned long)frame - (unsigned long)mem->base;
	/* Below the base, @at wraps: beyond the area too. */
	if (at >= mem->nr_pages << PAGE_SHIFT || at % stride)
		return -EINVAL;
	*offset = at;
	return 0;
}
EXPORT_SYMBOL_NS_GPL(ksalloc_frame_offset, KSALLOC);

void ksalloc_read_status(struct ksalloc *a, struct ksalloc_status *status)
{
	struct ksalloc_cpu *c;
	unsigned long flags;
	int cpu;

	memset(status, 0, sizeof(*status));
	raw_spin_lock_irqsave(&a->lock, flags);
	status->framing = a->framing;
	status->allocated_frames = ksalloc_allocated(a);
	status->peak_allocated_frames = a->peak;
	status->waiters = a->waiters;
	status->misuse_events = a->misuse;
	status->total_allocations = a->total;
	for_each_possible_cpu(cpu) {
		if (!a->pool.cpu_frames)
			break;
		c = per_cpu_ptr(a->pool.cpu, cpu);
		/* Counted by its CPU without the lock: a statistic. */
		status->total_allocations += data_race(c->total);
	}
	status->failed_allocations = a->failed;
	raw_spin_unlock_irqrestore(&a->lock, flags);
}

/**
 * ksalloc_get_status() - read the framing and the counters
 * @file: the allocator.
 * @status: filled in on success; the framing is all zero before it is set.
 *
 * KSPROPERTY_STREAMALLOCATOR_STATUS, plus counters.
 *
 * Context: Any context.
 * Return: 0, or -EINVAL if @file is not an allocator.
 */
int ksalloc_get_status(struct file *file, struct ksalloc_status *status)
{
	struct ksalloc *a = ksalloc_from_file(file);

	if (!a)
		return -EINVAL;
	ksalloc_read_status(a, status);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(ksalloc_get_status, KSALLOC);
