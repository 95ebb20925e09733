// SPDX-License-Identifier: GPL-2.0
/*
 * ksalloc - Kernel Streaming style frame allocators.
 *
 * Design
 * ------
 * An allocator is a file (an open of /dev/ksalloc, or ksalloc_create()) whose
 * private data is a struct ksalloc. The framing is set once; it creates a slab
 * cache for the allocator (sized and aligned as the framing says, charged to
 * the caller's memory cgroup, whitelisted for user copies) and preallocates
 * every frame from it. From then on no path allocates memory.
 *
 * Frames are found by address in an open-addressing hash table (slots[]),
 * at most half full, whose entries are the frame address with two flag bits
 * in the low bits that slab alignment leaves clear. A frame's slot index is
 * also its user-space handle (plus one), so no address reaches user space.
 * Free frames are a stack of slot indices.
 *
 * One raw spinlock per allocator protects the pool state, the counters and
 * the request lists; it is taken with interrupts disabled, so every path works
 * from any context, hard interrupts on PREEMPT_RT included. Work that must
 * not run under it or in the caller's context is deferred: poll wake-ups and
 * the free-frame event to an irq_work, request completions to a work item.
 *
 * Invariants (under the lock): while a request is pending no frame is free,
 * and a returned frame goes to the oldest pending request before it becomes
 * free. A frame is in exactly one of: the free stack (flags clear), allocated
 * to a kernel client (KSALLOC_SLOT_ALLOCATED), or allocated to the file's
 * user space (KSALLOC_SLOT_ALLOCATED | KSALLOC_SLOT_USER).
 *
 * Lifetime: the file's reference count is the allocator's. Releasing it
 * completes pending requests with -ENODEV, disables the event, returns frames
 * held by user space and frees the pool. Frames a kernel client still holds
 * then are a client bug: they are logged and retained (never returned to the
 * slab, so late writes cannot corrupt other memory), as dma_pool_destroy()
 * does with busy blocks.
 *
 * Limits: KSALLOC_MAX_FRAMES frames of at most KSALLOC_MAX_FRAME_SIZE bytes,
 * and at most max_pool_bytes per allocator. The single lock serialises CPUs.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/atomic.h>
#include <linux/compat.h>
#include <linux/completion.h>
#include <linux/debugfs.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hash.h>
#include <linux/irq_work.h>
#include <linux/kmemleak.h>
#include <linux/ksalloc.h>
#include <linux/log2.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/poll.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#define CREATE_TRACE_POINTS
#include "ksalloc_trace.h"

#define KSALLOC_SLOT_ALLOCATED	1UL
#define KSALLOC_SLOT_USER	2UL
#define KSALLOC_SLOT_FLAGS	(KSALLOC_SLOT_ALLOCATED | KSALLOC_SLOT_USER)

static unsigned long ksalloc_max_pool_bytes = 64UL << 20;
module_param_named(max_pool_bytes, ksalloc_max_pool_bytes, ulong, 0644);
MODULE_PARM_DESC(max_pool_bytes,
		 "Largest pool one allocator may preallocate, in bytes (default 64 MiB)");

static atomic_t ksalloc_last_id = ATOMIC_INIT(0);
static struct dentry *ksalloc_debugfs;

/**
 * struct ksalloc_pool - the frames of an allocator
 * @cache: the slab cache the frames come from.
 * @slots: hash table of frame addresses, KSALLOC_SLOT_* flags in the low bits.
 * @slot_bits: log2 of the number of @slots.
 * @free: stack of the slot indices of free frames.
 */
struct ksalloc_pool {
	struct kmem_cache *cache;
	unsigned long *slots;
	unsigned int slot_bits;
	u32 *free;
};

/**
 * struct ksalloc - an allocator
 * @file: the file this allocator is the private data of.
 * @id: number in log messages, trace events, debugfs and the slab cache name.
 * @debugfs: this allocator's status file in debugfs.
 * @lock: protects the fields below it and the flags in @pool.slots.
 * @ready: the framing is set and @framing and @pool are valid.
 * @framing: the framing.
 * @pool: the frames.
 * @nr_free: number of entries on @pool.free.
 * @requests: pending requests, oldest first.
 * @done: requests granted or failed, waiting for @complete_work.
 * @event_fn: the free-frame event callback, or NULL.
 * @event_context: its argument.
 * @allocated: frames currently allocated.
 * @peak: largest @allocated.
 * @waiters: number of @requests.
 * @misuse: invalid kernel frees refused.
 * @total: frames handed out.
 * @failed: allocations refused for want of a free frame.
 * @wait: poll() waiters.
 * @wake_work: wakes @wait and runs the free-frame event.
 * @complete_work: completes the requests on @done.
 */
struct ksalloc {
	struct file *file;
	unsigned int id;
	struct dentry *debugfs;

	raw_spinlock_t lock;
	bool ready;
	struct ksalloc_framing framing;
	struct ksalloc_pool pool;
	unsigned int nr_free;
	struct list_head requests;
	struct list_head done;
	ksalloc_event_fn event_fn;
	void *event_context;
	u32 allocated;
	u32 peak;
	u32 waiters;
	u32 misuse;
	u64 total;
	u64 failed;

	wait_queue_head_t wait;
	struct irq_work wake_work;
	struct work_struct complete_work;
};

static const struct file_operations ksalloc_fops;

static struct ksalloc *ksalloc_from_file(struct file *file)
{
	return file->f_op == &ksalloc_fops ? file->private_data : NULL;
}

static void *ksalloc_slot_frame(unsigned long entry)
{
	return (void *)(entry & ~KSALLOC_SLOT_FLAGS);
}

/* Returns the slot of @frame, or -1 if it is not a frame of @pool. */
static long ksalloc_lookup(const struct ksalloc_pool *pool, const void *frame)
{
	unsigned long mask = BIT(pool->slot_bits) - 1;
	unsigned long i = hash_ptr(frame, pool->slot_bits);

	/* The table is at most half full, so an empty slot ends every probe. */
	for (; pool->slots[i]; i = (i + 1) & mask)
		if (ksalloc_slot_frame(pool->slots[i]) == frame)
			return i;
	return -1;
}

static void ksalloc_pool_insert(struct ksalloc_pool *pool, void *frame,
				unsigned int index)
{
	unsigned long mask = BIT(pool->slot_bits) - 1;
	unsigned long i = hash_ptr(frame, pool->slot_bits);

	while (pool->slots[i])
		i = (i + 1) & mask;
	pool->slots[i] = (unsigned long)frame;
	pool->free[index] = i;
}

/*
 * Frees the pool, except frames still allocated to kernel clients: those are
 * retained with their cache. Returns how many were retained.
 */
static unsigned int ksalloc_pool_destroy(struct ksalloc_pool *pool)
{
	unsigned int i, retained = 0;

	for (i = 0; pool->slots && i < BIT(pool->slot_bits); i++) {
		unsigned long entry = pool->slots[i];

		if (!entry)
			continue;
		if ((entry & KSALLOC_SLOT_FLAGS) == KSALLOC_SLOT_ALLOCATED) {
			/* Deliberately kept: not a leak for kmemleak to report. */
			kmemleak_ignore(ksalloc_slot_frame(entry));
			retained++;
		} else {
			kmem_cache_free(pool->cache, ksalloc_slot_frame(entry));
		}
	}
	if (!retained)
		kmem_cache_destroy(pool->cache);
	kvfree(pool->slots);
	kvfree(pool->free);
	return retained;
}

static int ksalloc_pool_create(struct ksalloc_pool *pool, unsigned int id,
			       const struct ksalloc_framing *framing)
{
	unsigned int i, align = framing->alignment + 1;
	char name[32];

	*pool = (struct ksalloc_pool){};
	snprintf(name, sizeof(name), "ksalloc-%u", id);
	/* A usercopy cache is never merged, so the cache is ours alone. */
	pool->cache = kmem_cache_create_usercopy(name, framing->frame_size,
						 align, SLAB_ACCOUNT, 0,
						 framing->frame_size, NULL);
	if (!pool->cache)
		return -ENOMEM;

	pool->slot_bits = ilog2(roundup_pow_of_two(framing->frames)) + 1;
	pool->slots = kvcalloc(BIT(pool->slot_bits), sizeof(*pool->slots),
			       GFP_KERNEL_ACCOUNT);
	pool->free = kvcalloc(framing->frames, sizeof(*pool->free),
			      GFP_KERNEL_ACCOUNT);
	if (!pool->slots || !pool->free)
		goto err_destroy;

	for (i = 0; i < framing->frames; i++) {
		void *frame = kmem_cache_alloc(pool->cache, GFP_KERNEL);

		if (!frame)
			goto err_destroy;
		if (WARN_ON_ONCE((unsigned long)frame & KSALLOC_SLOT_FLAGS)) {
			kmem_cache_free(pool->cache, frame);
			goto err_destroy;
		}
		ksalloc_pool_insert(pool, frame, i);
	}
	return 0;

err_destroy:
	ksalloc_pool_destroy(pool);
	return -ENOMEM;
}

static int ksalloc_check_framing(const struct ksalloc_framing *f)
{
	size_t total;

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
	if (check_mul_overflow((size_t)f->frames,
			       (size_t)ALIGN(f->frame_size, f->alignment + 1),
			       &total))
		return -EOVERFLOW;
	if (total > READ_ONCE(ksalloc_max_pool_bytes))
		return -EDQUOT;
	return 0;
}

static int ksalloc_set_framing(struct ksalloc *a,
			       const struct ksalloc_framing *framing)
{
	struct ksalloc_pool pool;
	unsigned long flags;
	bool busy;
	int err;

	err = ksalloc_check_framing(framing);
	if (err)
		return err;
	if (READ_ONCE(a->ready))
		return -EBUSY;

	/* Built unlocked (it sleeps); two racing callers: the first one wins. */
	err = ksalloc_pool_create(&pool, a->id, framing);
	if (err)
		return err;

	raw_spin_lock_irqsave(&a->lock, flags);
	busy = a->ready;
	if (!busy) {
		a->framing = *framing;
		a->pool = pool;
		a->nr_free = framing->frames;
		a->ready = true;
	}
	raw_spin_unlock_irqrestore(&a->lock, flags);

	if (busy) {
		ksalloc_pool_destroy(&pool);
		return -EBUSY;
	}
	return 0;
}

/* Takes a free frame and returns its slot; the caller checked there is one. */
static u32 ksalloc_take_locked(struct ksalloc *a, unsigned long user_flag)
{
	u32 slot = a->pool.free[--a->nr_free];

	lockdep_assert_held(&a->lock);
	a->pool.slots[slot] |= KSALLOC_SLOT_ALLOCATED | user_flag;
	a->allocated++;
	a->peak = max(a->peak, a->allocated);
	a->total++;
	return slot;
}

static void ksalloc_grant_locked(struct ksalloc *a, struct ksalloc_request *req,
				 void *frame, int error)
{
	lockdep_assert_held(&a->lock);
	req->frame = frame;
	req->error = error;
	req->pending = false;
	list_move_tail(&req->node, &a->done);
}

/*
 * Returns the frame in @slot to the oldest pending request or to the free
 * stack. Returns true if @complete_work must run.
 */
static bool ksalloc_put_locked(struct ksalloc *a, long slot, bool *wake)
{
	struct ksalloc_request *req;

	lockdep_assert_held(&a->lock);
	req = list_first_entry_or_null(&a->requests, struct ksalloc_request,
				       node);
	if (req) {
		a->pool.slots[slot] &= ~KSALLOC_SLOT_USER;
		a->waiters--;
		a->total++;
		ksalloc_grant_locked(a, req, ksalloc_slot_frame(a->pool.slots[slot]), 0);
		return true;
	}
	a->pool.slots[slot] &= ~KSALLOC_SLOT_FLAGS;
	a->pool.free[a->nr_free++] = slot;
	a->allocated--;
	/* Ordered against poll_wait() by the lock poll takes after it. */
	*wake = waitqueue_active(&a->wait) || a->event_fn;
	return false;
}

static void ksalloc_kick(struct ksalloc *a, bool complete, bool wake)
{
	if (complete)
		queue_work(system_wq, &a->complete_work);
	if (wake)
		irq_work_queue(&a->wake_work);
}

/**
 * ksalloc_allocate_frame() - take a free frame (KS AllocateFrame)
 * @file: the allocator.
 * @frame: set to the frame, or to NULL on failure.
 *
 * The function table's allocate_frame. The frame is aligned as the framing
 * says; its contents are whatever its last user left.
 *
 * Context: Any context. Never sleeps.
 * Return: 0; -EAGAIN if no frame is free; -EOPNOTSUPP for a sleepable pool;
 * -EBADFD before the framing is set.
 */
int ksalloc_allocate_frame(struct file *file, void **frame)
{
	struct ksalloc *a = file->private_data;
	unsigned int allocated;
	unsigned long flags;
	long slot = -1;
	int err = 0;

	*frame = NULL;
	raw_spin_lock_irqsave(&a->lock, flags);
	if (unlikely(!a->ready)) {
		err = -EBADFD;
	} else if (unlikely(a->framing.pool_type != KSALLOC_POOL_ATOMIC)) {
		err = -EOPNOTSUPP;
	} else if (unlikely(!a->nr_free)) {
		err = -EAGAIN;
		a->failed++;
	} else {
		slot = ksalloc_take_locked(a, 0);
		*frame = ksalloc_slot_frame(a->pool.slots[slot]);
	}
	allocated = a->allocated;
	raw_spin_unlock_irqrestore(&a->lock, flags);
	trace_ksalloc_allocate(a->id, slot, allocated);
	return err;
}
EXPORT_SYMBOL_NS_GPL(ksalloc_allocate_frame, KSALLOC);

/**
 * ksalloc_free_frame() - return a frame (KS FreeFrame)
 * @file: the allocator the frame came from.
 * @frame: the frame.
 *
 * The function table's free_frame; also returns frames granted to requests.
 * The frame goes to the oldest pending request, or becomes free. An invalid
 * @frame (NULL, not a frame of this allocator, not allocated to a kernel
 * client) leaves the pool unchanged; it is counted and the first one logged.
 *
 * Context: Any context. Never sleeps.
 */
void ksalloc_free_frame(struct file *file, void *frame)
{
	struct ksalloc *a = file->private_data;
	bool complete = false, wake = false, misuse = false;
	unsigned int allocated, misused;
	unsigned long flags;
	long slot = -1;

	raw_spin_lock_irqsave(&a->lock, flags);
	if (likely(a->ready))
		slot = ksalloc_lookup(&a->pool, frame);
	if (likely(slot >= 0 && (a->pool.slots[slot] & KSALLOC_SLOT_FLAGS) ==
				KSALLOC_SLOT_ALLOCATED)) {
		complete = ksalloc_put_locked(a, slot, &wake);
	} else {
		misuse = true;
		a->misuse++;
	}
	allocated = a->allocated;
	misused = a->misuse;
	raw_spin_unlock_irqrestore(&a->lock, flags);

	if (unlikely(misuse)) {
		trace_ksalloc_misuse(a->id, misused);
		if (misused == 1)
			pr_warn("ksalloc-%u: refused free of %p: not a frame allocated from this allocator\n",
				a->id, frame);
		return;
	}
	trace_ksalloc_free(a->id, slot, allocated);
	ksalloc_kick(a, complete, wake);
}
EXPORT_SYMBOL_NS_GPL(ksalloc_free_frame, KSALLOC);

/*
 * Takes a free frame, flagged @user_flag. If none is free, queues @req if
 * there is one, else counts a failure. Returns the frame's slot, -EAGAIN if
 * none was free, or -EBADFD before the framing is set.
 */
static long ksalloc_take(struct ksalloc *a, unsigned long user_flag,
			 struct ksalloc_request *req)
{
	unsigned int allocated, waiters;
	unsigned long flags;
	long slot;

	raw_spin_lock_irqsave(&a->lock, flags);
	if (!a->ready) {
		slot = -EBADFD;
	} else if (a->nr_free) {
		slot = ksalloc_take_locked(a, user_flag);
	} else if (req) {
		req->pending = true;
		list_add_tail(&req->node, &a->requests);
		a->waiters++;
		slot = -EAGAIN;
	} else {
		a->failed++;
		slot = -EAGAIN;
	}
	allocated = a->allocated;
	waiters = a->waiters;
	raw_spin_unlock_irqrestore(&a->lock, flags);

	if (slot == -EAGAIN && req)
		trace_ksalloc_wait(a->id, waiters);
	else if (slot != -EBADFD)
		trace_ksalloc_allocate(a->id, max(slot, -1L), allocated);
	return slot;
}

/* Returns true if @req was still pending and is now withdrawn. */
static bool ksalloc_dequeue(struct ksalloc *a, struct ksalloc_request *req)
{
	unsigned long flags;
	bool pending;

	raw_spin_lock_irqsave(&a->lock, flags);
	pending = req->pending;
	if (pending) {
		list_del_init(&req->node);
		req->pending = false;
		a->waiters--;
	}
	raw_spin_unlock_irqrestore(&a->lock, flags);
	return pending;
}

/**
 * ksalloc_submit_request() - ask for a frame, waiting for one if none is free
 * @file: the allocator.
 * @req: the request, with @req->complete set; it must stay valid until it is
 *	completed or cancelled.
 *
 * KSMETHOD_STREAMALLOCATOR_ALLOC: @req->complete is called with a frame as
 * soon as one is free to this request: at once if one is free now, else when
 * a frame returns and every older request has been served. Works for both
 * pool types. The frame is returned with ksalloc_free_frame().
 *
 * Context: Any context. Never sleeps.
 * Return: 0 if @req was submitted; -EINVAL if @file is not an allocator or
 * @req has no completion; -EBADFD before the framing is set.
 */
int ksalloc_submit_request(struct file *file, struct ksalloc_request *req)
{
	struct ksalloc *a = ksalloc_from_file(file);
	unsigned long flags;
	long slot;

	if (!a || !req->complete)
		return -EINVAL;
	slot = ksalloc_take(a, 0, req);
	if (slot == -EAGAIN)
		return 0;
	if (slot < 0)
		return slot;

	raw_spin_lock_irqsave(&a->lock, flags);
	INIT_LIST_HEAD(&req->node);
	ksalloc_grant_locked(a, req, ksalloc_slot_frame(a->pool.slots[slot]), 0);
	raw_spin_unlock_irqrestore(&a->lock, flags);
	ksalloc_kick(a, true, false);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(ksalloc_submit_request, KSALLOC);

/**
 * ksalloc_cancel_request() - withdraw a request
 * @file: the allocator @req was submitted to.
 * @req: the request.
 *
 * Either @req was still pending and is withdrawn (its completion will not be
 * called), or it was already granted or failed, and its completion has run
 * by the time this returns. Either way ksalloc is done with @req.
 *
 * Context: Process context, not from a request completion. May sleep.
 * Return: true if @req was withdrawn, false if it had completed.
 */
bool ksalloc_cancel_request(struct file *file, struct ksalloc_request *req)
{
	struct ksalloc *a = file->private_data;

	might_sleep();
	if (ksalloc_dequeue(a, req))
		return true;
	flush_work(&a->complete_work);
	return false;
}
EXPORT_SYMBOL_NS_GPL(ksalloc_cancel_request, KSALLOC);

static void ksalloc_complete_work(struct work_struct *work)
{
	struct ksalloc *a = container_of(work, struct ksalloc, complete_work);
	struct ksalloc_request *req, *next;
	unsigned long flags;
	LIST_HEAD(done);

	raw_spin_lock_irqsave(&a->lock, flags);
	list_splice_init(&a->done, &done);
	raw_spin_unlock_irqrestore(&a->lock, flags);

	/* A completion may free its request: nothing touches it afterwards. */
	list_for_each_entry_safe(req, next, &done, node) {
		list_del_init(&req->node);
		req->complete(req, req->frame, req->error);
	}
}

static void ksalloc_wake_work(struct irq_work *work)
{
	struct ksalloc *a = container_of(work, struct ksalloc, wake_work);
	ksalloc_event_fn fn;
	unsigned long flags;
	void *context;

	wake_up_interruptible_poll(&a->wait, EPOLLIN | EPOLLRDNORM);

	raw_spin_lock_irqsave(&a->lock, flags);
	fn = a->event_fn;
	context = a->event_context;
	raw_spin_unlock_irqrestore(&a->lock, flags);
	/* Disabling waits for this work with irq_work_sync(): @fn stays valid. */
	if (fn)
		fn(a->file, context);
}

/**
 * ksalloc_enable_free_frame_event() - be told when frames become free
 * @file: the allocator.
 * @fn: the callback, see ksalloc_event_fn.
 * @context: its argument.
 *
 * KSEVENT_STREAMALLOCATOR_FREEFRAME. One event per allocator. Frames handed
 * straight to a pending request do not signal it. It stays enabled until
 * ksalloc_disable_free_frame_event() or the release of the allocator.
 *
 * Context: Any context.
 * Return: 0; -EINVAL if @file is not an allocator or @fn is NULL; -EBUSY if
 * an event is already enabled.
 */
int ksalloc_enable_free_frame_event(struct file *file, ksalloc_event_fn fn,
				    void *context)
{
	struct ksalloc *a = ksalloc_from_file(file);
	unsigned long flags;
	int err = 0;

	if (!a || !fn)
		return -EINVAL;
	raw_spin_lock_irqsave(&a->lock, flags);
	if (a->event_fn) {
		err = -EBUSY;
	} else {
		a->event_fn = fn;
		a->event_context = context;
	}
	raw_spin_unlock_irqrestore(&a->lock, flags);
	return err;
}
EXPORT_SYMBOL_NS_GPL(ksalloc_enable_free_frame_event, KSALLOC);

/**
 * ksalloc_disable_free_frame_event() - stop the free-frame event
 * @file: the allocator.
 *
 * When this returns the callback is not running and will not be called
 * again. Disabling an event that is not enabled does nothing.
 *
 * Context: Process context, not from the event callback. May sleep.
 */
void ksalloc_disable_free_frame_event(struct file *file)
{
	struct ksalloc *a = file->private_data;
	unsigned long flags;

	might_sleep();
	raw_spin_lock_irqsave(&a->lock, flags);
	a->event_fn = NULL;
	a->event_context = NULL;
	raw_spin_unlock_irqrestore(&a->lock, flags);
	irq_work_sync(&a->wake_work);
}
EXPORT_SYMBOL_NS_GPL(ksalloc_disable_free_frame_event, KSALLOC);

/**
 * ksalloc_get_functiontable() - get {allocate_frame, free_frame}
 * @file: the allocator.
 * @table: filled in on success.
 *
 * KSPROPERTY_STREAMALLOCATOR_FUNCTIONTABLE. The table is valid for as long
 * as the caller holds its reference to @file.
 *
 * Context: Any context.
 * Return: 0; -EINVAL if @file is not an allocator; -EBADFD before the
 * framing is set; -EOPNOTSUPP for a sleepable pool.
 */
int ksalloc_get_functiontable(struct file *file,
			      struct ksalloc_functiontable *table)
{
	struct ksalloc *a = ksalloc_from_file(file);
	unsigned long flags;
	int err = 0;

	if (!a)
		return -EINVAL;
	raw_spin_lock_irqsave(&a->lock, flags);
	if (!a->ready)
		err = -EBADFD;
	else if (a->framing.pool_type != KSALLOC_POOL_ATOMIC)
		err = -EOPNOTSUPP;
	raw_spin_unlock_irqrestore(&a->lock, flags);
	if (err)
		return err;

	table->allocate_frame = ksalloc_allocate_frame;
	table->free_frame = ksalloc_free_frame;
	return 0;
}
EXPORT_SYMBOL_NS_GPL(ksalloc_get_functiontable, KSALLOC);

static void ksalloc_read_status(struct ksalloc *a, struct ksalloc_status *status)
{
	unsigned long flags;

	memset(status, 0, sizeof(*status));
	raw_spin_lock_irqsave(&a->lock, flags);
	status->framing = a->framing;
	status->allocated_frames = a->allocated;
	status->peak_allocated_frames = a->peak;
	status->waiters = a->waiters;
	status->misuse_events = a->misuse;
	status->total_allocations = a->total;
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

static int ksalloc_debugfs_show(struct seq_file *m, void *unused)
{
	struct ksalloc *a = m->private;
	struct ksalloc_status st;

	ksalloc_read_status(a, &st);
	seq_printf(m, "id: %u\n", a->id);
	seq_printf(m, "pool_type: %s\n", !st.framing.frames ? "unset" :
		   st.framing.pool_type == KSALLOC_POOL_ATOMIC ? "atomic" :
		   "sleepable");
	seq_printf(m, "options: %#x\n", st.framing.options);
	seq_printf(m, "frames: %u\n", st.framing.frames);
	seq_printf(m, "frame_size: %u\n", st.framing.frame_size);
	seq_printf(m, "alignment: %u\n", st.framing.alignment);
	seq_printf(m, "allocated_frames: %u\n", st.allocated_frames);
	seq_printf(m, "peak_allocated_frames: %u\n", st.peak_allocated_frames);
	seq_printf(m, "waiters: %u\n", st.waiters);
	seq_printf(m, "misuse_events: %u\n", st.misuse_events);
	seq_printf(m, "total_allocations: %llu\n", st.total_allocations);
	seq_printf(m, "failed_allocations: %llu\n", st.failed_allocations);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ksalloc_debugfs);

static struct ksalloc *ksalloc_alloc(void)
{
	struct ksalloc *a;
	char name[16];

	a = kzalloc(sizeof(*a), GFP_KERNEL_ACCOUNT);
	if (!a)
		return NULL;
	a->id = atomic_inc_return(&ksalloc_last_id);
	raw_spin_lock_init(&a->lock);
	INIT_LIST_HEAD(&a->requests);
	INIT_LIST_HEAD(&a->done);
	init_waitqueue_head(&a->wait);
	init_irq_work(&a->wake_work, ksalloc_wake_work);
	INIT_WORK(&a->complete_work, ksalloc_complete_work);
	snprintf(name, sizeof(name), "%u", a->id);
	a->debugfs = debugfs_create_file(name, 0400, ksalloc_debugfs, a,
					 &ksalloc_debugfs_fops);
	return a;
}

static void ksalloc_free(struct ksalloc *a)
{
	/* Waits for readers of the status file. */
	debugfs_remove(a->debugfs);
	kfree(a);
}

static int ksalloc_open(struct inode *inode, struct file *file)
{
	struct ksalloc *a = ksalloc_alloc();

	if (!a)
		return -ENOMEM;
	a->file = file;
	file->private_data = a;
	return 0;
}

static int ksalloc_release(struct inode *inode, struct file *file)
{
	struct ksalloc *a = file->private_data;
	struct ksalloc_request *req, *next;
	unsigned int retained = 0;
	unsigned long flags;

	/* Nobody holds a reference any more: only stragglers of our own remain. */
	raw_spin_lock_irqsave(&a->lock, flags);
	a->event_fn = NULL;
	list_for_each_entry_safe(req, next, &a->requests, node)
		ksalloc_grant_locked(a, req, NULL, -ENODEV);
	a->waiters = 0;
	raw_spin_unlock_irqrestore(&a->lock, flags);

	irq_work_sync(&a->wake_work);
	queue_work(system_wq, &a->complete_work);
	flush_work(&a->complete_work);

	if (a->ready)
		retained = ksalloc_pool_destroy(&a->pool);
	if (retained)
		pr_warn("ksalloc-%u released with %u frames still allocated: retaining them\n",
			a->id, retained);
	trace_ksalloc_release(a->id, retained);
	ksalloc_free(a);
	return 0;
}

/* Returns a frame held by user space. */
static int ksalloc_put_user(struct ksalloc *a, u64 handle)
{
	bool complete = false, wake = false;
	unsigned int allocated;
	unsigned long flags;
	int err = 0;

	raw_spin_lock_irqsave(&a->lock, flags);
	if (!a->ready)
		err = -EBADFD;
	else if (!handle || handle > BIT(a->pool.slot_bits) ||
		 !a->pool.slots[handle - 1])
		err = -EINVAL;
	else if ((a->pool.slots[handle - 1] & KSALLOC_SLOT_FLAGS) !=
		 (KSALLOC_SLOT_ALLOCATED | KSALLOC_SLOT_USER))
		err = -ENOENT;
	else
		complete = ksalloc_put_locked(a, handle - 1, &wake);
	allocated = a->allocated;
	raw_spin_unlock_irqrestore(&a->lock, flags);

	if (!err)
		trace_ksalloc_free(a->id, handle - 1, allocated);
	ksalloc_kick(a, complete, wake);
	return err;
}

struct ksalloc_waiter {
	struct ksalloc_request req;
	struct completion done;
};

static void ksalloc_waiter_complete(struct ksalloc_request *req, void *frame,
				    int error)
{
	complete(&container_of(req, struct ksalloc_waiter, req)->done);
}

/* Waits in FIFO order for a frame; returns its slot or -errno. */
static long ksalloc_wait_frame(struct ksalloc *a)
{
	struct ksalloc_waiter w = { .req.complete = ksalloc_waiter_complete };
	unsigned long flags;
	long slot;

	init_completion(&w.done);
	slot = ksalloc_take(a, KSALLOC_SLOT_USER, &w.req);
	if (slot != -EAGAIN)
		return slot;

	if (wait_for_completion_interruptible(&w.done)) {
		if (ksalloc_dequeue(a, &w.req))
			return -ERESTARTSYS;
		/* Granted just before the signal: wait until @w is ours again. */
		wait_for_completion(&w.done);
	}
	if (w.req.error)
		return w.req.error;

	raw_spin_lock_irqsave(&a->lock, flags);
	slot = ksalloc_lookup(&a->pool, w.req.frame);
	a->pool.slots[slot] |= KSALLOC_SLOT_USER;
	raw_spin_unlock_irqrestore(&a->lock, flags);
	return slot;
}

static long ksalloc_ioctl_alloc(struct ksalloc *a, struct file *file,
				struct ksalloc_frame_handle __user *uarg)
{
	struct ksalloc_frame_handle h;
	long slot;

	if (copy_from_user(&h, uarg, sizeof(h)))
		return -EFAULT;
	if (h.flags || h.reserved)
		return -EINVAL;

	if (file->f_flags & O_NONBLOCK)
		slot = ksalloc_take(a, KSALLOC_SLOT_USER, NULL);
	else
		slot = ksalloc_wait_frame(a);
	if (slot < 0)
		return slot;

	h.handle = slot + 1;
	if (copy_to_user(uarg, &h, sizeof(h))) {
		ksalloc_put_user(a, h.handle);
		return -EFAULT;
	}
	return 0;
}

static long ksalloc_ioctl_free(struct ksalloc *a,
			       struct ksalloc_frame_handle __user *uarg)
{
	struct ksalloc_frame_handle h;

	if (copy_from_user(&h, uarg, sizeof(h)))
		return -EFAULT;
	if (h.flags || h.reserved)
		return -EINVAL;
	return ksalloc_put_user(a, h.handle);
}

static long ksalloc_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	struct ksalloc *a = file->private_data;
	void __user *uarg = (void __user *)arg;
	struct ksalloc_framing framing;
	struct ksalloc_status status;

	switch (cmd) {
	case KSALLOC_IOC_SET_FRAMING:
		if (copy_from_user(&framing, uarg, sizeof(framing)))
			return -EFAULT;
		return ksalloc_set_framing(a, &framing);
	case KSALLOC_IOC_GET_STATUS:
		ksalloc_get_status(file, &status);
		return copy_to_user(uarg, &status, sizeof(status)) ? -EFAULT : 0;
	case KSALLOC_IOC_ALLOC_FRAME:
		return ksalloc_ioctl_alloc(a, file, uarg);
	case KSALLOC_IOC_FREE_FRAME:
		return ksalloc_ioctl_free(a, uarg);
	default:
		return -ENOTTY;
	}
}

static __poll_t ksalloc_poll(struct file *file, struct poll_table_struct *pt)
{
	struct ksalloc *a = file->private_data;
	unsigned long flags;
	__poll_t mask;

	poll_wait(file, &a->wait, pt);
	raw_spin_lock_irqsave(&a->lock, flags);
	mask = a->nr_free ? EPOLLIN | EPOLLRDNORM : 0;
	raw_spin_unlock_irqrestore(&a->lock, flags);
	return mask;
}

static const struct file_operations ksalloc_fops = {
	.owner		= THIS_MODULE,
	.open		= ksalloc_open,
	.release	= ksalloc_release,
	.unlocked_ioctl	= ksalloc_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.poll		= ksalloc_poll,
	.llseek		= noop_llseek,
};

/**
 * ksalloc_create() - make an allocator for a kernel client
 * @framing: its framing, validated as KSALLOC_IOC_SET_FRAMING does.
 *
 * The allocator is an anonymous file with the framing set and its frames
 * preallocated, charged to the caller's memory cgroup. Release it with
 * fput().
 *
 * Context: Process context. May sleep.
 * Return: the allocator's file, or an ERR_PTR(): the framing errors of
 * KSALLOC_IOC_SET_FRAMING (-EINVAL, -EOPNOTSUPP, -E2BIG, -EOVERFLOW, -EDQUOT)
 * or -ENOMEM.
 */
struct file *ksalloc_create(const struct ksalloc_framing *framing)
{
	struct ksalloc *a;
	struct file *file;
	int err;

	might_sleep();
	a = ksalloc_alloc();
	if (!a)
		return ERR_PTR(-ENOMEM);
	err = ksalloc_set_framing(a, framing);
	if (err)
		goto err_free;

	file = anon_inode_getfile("[ksalloc]", &ksalloc_fops, a, O_RDWR);
	if (IS_ERR(file)) {
		err = PTR_ERR(file);
		goto err_destroy_pool;
	}
	a->file = file;
	return file;

err_destroy_pool:
	ksalloc_pool_destroy(&a->pool);
err_free:
	ksalloc_free(a);
	return ERR_PTR(err);
}
EXPORT_SYMBOL_NS_GPL(ksalloc_create, KSALLOC);

/**
 * ksalloc_fget() - get the allocator behind a user's file descriptor
 * @fd: a file descriptor of the current task.
 *
 * Release the reference with fput().
 *
 * Context: Process context.
 * Return: the allocator's file; ERR_PTR(-EBADF) if @fd is not an open file,
 * ERR_PTR(-EINVAL) if it is not a ksalloc allocator.
 */
struct file *ksalloc_fget(int fd)
{
	struct file *file = fget(fd);

	if (!file)
		return ERR_PTR(-EBADF);
	if (!ksalloc_from_file(file)) {
		fput(file);
		return ERR_PTR(-EINVAL);
	}
	return file;
}
EXPORT_SYMBOL_NS_GPL(ksalloc_fget, KSALLOC);

static struct miscdevice ksalloc_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "ksalloc",
	.fops	= &ksalloc_fops,
};

static int __init ksalloc_init(void)
{
	int err;

	BUILD_BUG_ON(sizeof(struct ksalloc_framing) != 24);
	BUILD_BUG_ON(sizeof(struct ksalloc_status) != 56);
	BUILD_BUG_ON(sizeof(struct ksalloc_frame_handle) != 16);
	/* Slab objects leave the flag bits of slots[] clear. */
	BUILD_BUG_ON(ARCH_SLAB_MINALIGN <= KSALLOC_SLOT_FLAGS);

	ksalloc_debugfs = debugfs_create_dir(KBUILD_MODNAME, NULL);
	err = misc_register(&ksalloc_misc);
	if (err)
		debugfs_remove(ksalloc_debugfs);
	return err;
}

/* Every allocator holds a module reference: none is left here. */
static void __exit ksalloc_exit(void)
{
	misc_deregister(&ksalloc_misc);
	debugfs_remove(ksalloc_debugfs);
}

module_init(ksalloc_init);
module_exit(ksalloc_exit);

MODULE_DESCRIPTION("Kernel Streaming style frame allocators");
MODULE_LICENSE("GPL");
