// SPDX-License-Identifier: GPL-2.0
/*
 * ksalloc - Kernel Streaming style frame allocators.
 *
 * Design
 * ------
 * An allocator is a file (an open of /dev/ksalloc, or ksalloc_create()) whose
 * private data is a struct ksalloc. The framing is set once; it preallocates
 * every frame from a slab cache sized and aligned as the framing says,
 * charged to the caller's memory cgroup and whitelisted for user copies.
 * From then on no path allocates memory. Allocators with the same frame size
 * and alignment share the cache (struct ksalloc_slab), and a few caches
 * nobody uses are kept for the next allocator (idle_caches): creating a
 * slab cache costs more than filling a pool of a thousand frames.
 *
 * Frames are found by address in an open-addressing hash table (struct
 * ksalloc_table), at most two thirds full, whose entries are the frame
 * address with two state bits in the low bits that slab alignment leaves
 * clear. A frame's slot in the table names it everywhere else: the shared
 * stack of free frames holds slot numbers, and slot + 1 is the frame's
 * user-space handle, so no address reaches user space. The per-CPU caches
 * hold pointers to the entries, which a fast allocation marks directly.
 *
 * Free frames sit in per-CPU caches (struct ksalloc_cpu) or on a shared
 * stack. allocate_frame and free_frame use their CPU's cache with interrupts
 * disabled and no lock; only when it is empty, full or closed do they take
 * the allocator's raw spinlock, which protects the shared stack and the rest.
 * A free is checked before anything else: a cmpxchg of the frame's table
 * entry from "allocated to a kernel client" to "free" fails for anything that
 * is not such a frame, double frees racing on two CPUs included.
 *
 * Draining: any CPU that holds the lock may empty a cache into the shared
 * stack, when that runs dry. It sets the cache's count to KSALLOC_CPU_CLOSED
 * with an xchg; the owner changes the count only by cmpxchg, so it sees the
 * drain and goes to the slow path, where the lock waits for the drainer.
 *
 * Waiting: while a request is pending no frame is free, and a returned frame
 * goes to the oldest pending request before it becomes free. So does every
 * free while poll() or the free-frame event waits for one. The caches are
 * closed meanwhile: drained, and left KSALLOC_CPU_CLOSED, which sends every
 * allocate_frame and free_frame to the slow path until they reopen. The fast
 * paths read nothing else to know it. Poll wake-ups and the event go through
 * an irq_work, request completions through a work item.
 *
 * Counters: nothing on the fast paths is shared between CPUs. The peak is
 * kept exact by headroom: a unit of it is a frame that may be allocated
 * without making a new peak, and peak = allocated + the headroom of the
 * allocator and of every cache, always. A fast allocation spends a unit of
 * its cache's headroom with its frame, a fast free adds one with its frame;
 * a cache with frames but no headroom takes the slow path. A cache never
 * has more headroom than frames, so that one sign test of its state finds
 * both an empty cache and one without headroom. Under the lock,
 * headroom moves with frames between the caches and the allocator, and an
 * allocation that finds none anywhere (every frame below the peak is out)
 * raises the peak, at most once per frame in the allocator's life. So
 * allocated_frames is the peak minus the headroom, exact whenever no
 * allocation or free runs as it is read. Allocations are counted per CPU and
 * summed when read.
 *
 * Poisoning, in debug kernels only (KSALLOC_POISON_FRAMES: KASAN, or SLUB
 * debugging on for every cache): a free frame is a live slab object, which
 * neither KASAN nor SLUB watch, and KASAN's mempool hooks are not exported
 * to modules (6.12 exports no poisoning of a range meant for drivers). So,
 * as dma_pool does under SLUB debugging, a frame that becomes free (made by
 * the fill, or returned by free_frame) is filled with POISON_FREE, and every
 * hand-out (allocate_frame, requests, ALLOC_FRAME) and the release check
 * that it still is. A write after free_frame is then counted as misuse and
 * logged once per allocator; the frame is poisoned again and handed out all
 * the same. User space never maps a frame: one it holds keeps its poison,
 * and FREE_FRAME has nothing to write. Reads of a free frame go unseen.
 * The cost is a memset on free and a scan on hand-out of the whole frame,
 * in the caller's context, hard IRQ included: debug kernels only.
 * Elsewhere the fast paths compile as if none of this existed.
 *
 * Lifetime: the file's reference count is the allocator's. Releasing it
 * completes pending requests with -ENODEV, disables the event, returns frames
 * held by user space and frees the pool. Frames a kernel client still holds
 * then are a client bug: they are logged and retained (never returned to the
 * slab, so late writes cannot corrupt other memory), as dma_pool_destroy()
 * does with busy blocks.
 *
 * Limits: KSALLOC_MAX_FRAMES frames of at most KSALLOC_MAX_FRAME_SIZE bytes,
 * at most max_pool_bytes per allocator and max_user_bytes for the allocators
 * of one user (who set their framing) together; besides, every allocation
 * is charged to the memory cgroup of the task that sets the framing.
 * A CPU caches at most KSALLOC_CPU_FRAMES frames; an allocation that finds
 * its cache and the shared stack empty drains every CPU's cache, so it fails
 * only when no frame is free anywhere, at a cost proportional to the number
 * of CPUs. While the free-frame event is enabled there are no caches.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/visibility.h>
#include <linux/anon_inodes.h>
#include <linux/atomic.h>
#include <linux/cache.h>
#include <linux/compat.h>
#include <linux/cred.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hash.h>
#include <linux/hashtable.h>
#include <linux/irq_work.h>
#include <linux/kmemleak.h>
#include <linux/ksalloc.h>
#include <linux/math.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/percpu.h>
#include <linux/poison.h>
#include <linux/poll.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#define CREATE_TRACE_POINTS
#include "ksalloc_trace.h"

/* The state of a frame, in the low bits of its table entry. */
#define KSALLOC_SLOT_ALLOCATED	1UL	/* held by a kernel client... */
#define KSALLOC_SLOT_USER	2UL	/* ...or, with this bit, by user space */
#define KSALLOC_SLOT_FLAGS	(KSALLOC_SLOT_ALLOCATED | KSALLOC_SLOT_USER)

/* The kinds of client bug, each logged once per allocator. */
#define KSALLOC_MISUSE_FREE	BIT(0)	/* a refused free_frame */
#define KSALLOC_MISUSE_WRITE	BIT(1)	/* a free frame written */

/* Most free frames a CPU keeps; half of that moves at a time. */
#define KSALLOC_CPU_FRAMES	64U
/* A cache's headroom sits above its count of frames in its state. */
#define KSALLOC_CPU_ROOM_SHIFT	16
/* A frame and its unit of headroom, in a cache's state. */
#define KSALLOC_CPU_ONE		(BIT(KSALLOC_CPU_ROOM_SHIFT) | 1)
/* The state of a cache that is closed, or being drained: full, no headroom. */
#define KSALLOC_CPU_CLOSED	0xffffU

static unsigned long ksalloc_max_pool_bytes = 64UL << 20;
module_param_named(max_pool_bytes, ksalloc_max_pool_bytes, ulong, 0644);
MODULE_PARM_DESC(max_pool_bytes,
		 "Largest pool one allocator may preallocate, in bytes (default 64 MiB)");

static unsigned long ksalloc_max_user_bytes = 256UL << 20;
module_param_named(max_user_bytes, ksalloc_max_user_bytes, ulong, 0644);
MODULE_PARM_DESC(max_user_bytes,
		 "Largest total of the pools of one user's allocators, in bytes (default 256 MiB, 0: no limit)");

static int ksalloc_set_idle_caches(const char *val,
				   const struct kernel_param *kp);

static const struct kernel_param_ops ksalloc_idle_caches_ops = {
	.set = ksalloc_set_idle_caches,
	.get = param_get_uint,
};

static unsigned int ksalloc_idle_caches = 4;
module_param_cb(idle_caches, &ksalloc_idle_caches_ops, &ksalloc_idle_caches,
		0644);
MODULE_PARM_DESC(idle_caches,
		 "Slab caches of frames kept for reuse while no allocator uses them (default 4)");

static atomic_t ksalloc_last_id = ATOMIC_INIT(0);
static struct dentry *ksalloc_debugfs;

/*
 * Since the module was loaded (see struct ksalloc_totals): misuse is
 * counted in any context, hence atomics.
 */
static atomic_long_t ksalloc_total_misuse = ATOMIC_LONG_INIT(0);
static atomic_long_t ksalloc_total_retaining = ATOMIC_LONG_INIT(0);
static atomic_long_t ksalloc_total_retained = ATOMIC_LONG_INIT(0);

/**
 * struct ksalloc_user - the pool bytes of one user's allocators
 * @node: in ksalloc_users.
 * @uid: the user.
 * @bytes: the sum of the pools charged to @uid; never 0 in the table.
 */
struct ksalloc_user {
	struct hlist_node node;
	kuid_t uid;
	unsigned long bytes;
};

static DEFINE_HASHTABLE(ksalloc_users, 6);
/* Protects ksalloc_users and the entries in it. */
static DEFINE_MUTEX(ksalloc_users_lock);

static struct ksalloc_user *ksalloc_find_user(kuid_t uid)
{
	struct ksalloc_user *u;

	lockdep_assert_held(&ksalloc_users_lock);
	hash_for_each_possible(ksalloc_users, u, node, __kuid_val(uid))
		if (uid_eq(u->uid, uid))
			return u;
	return NULL;
}

/* Charges @bytes to @uid: 0, -EDQUOT over max_user_bytes, or -ENOMEM. */
static int ksalloc_charge_user(kuid_t uid, unsigned long bytes)
{
	unsigned long max = READ_ONCE(ksalloc_max_user_bytes);
	struct ksalloc_user *u;
	int err = 0;

	mutex_lock(&ksalloc_users_lock);
	u = ksalloc_find_user(uid);
	if (max && (bytes > max || (u && u->bytes > max - bytes))) {
		err = -EDQUOT;
	} else if (u) {
		u->bytes += bytes;
	} else {
		u = kmalloc(sizeof(*u), GFP_KERNEL_ACCOUNT);
		if (u) {
			u->uid = uid;
			u->bytes = bytes;
			hash_add(ksalloc_users, &u->node, __kuid_val(uid));
		} else {
			err = -ENOMEM;
		}
	}
	mutex_unlock(&ksalloc_users_lock);
	return err;
}

static void ksalloc_uncharge_user(kuid_t uid, unsigned long bytes)
{
	struct ksalloc_user *u;

	mutex_lock(&ksalloc_users_lock);
	u = ksalloc_find_user(uid);
	if (!WARN_ON_ONCE(!u || u->bytes < bytes)) {
		u->bytes -= bytes;
		if (!u->bytes) {
			hash_del(&u->node);
			kfree(u);
		}
	}
	mutex_unlock(&ksalloc_users_lock);
}

/**
 * struct ksalloc_slab - a slab cache of frames
 * @node: in ksalloc_slabs, the most recently used first.
 * @cache: the cache.
 * @size: its object size, a frame size.
 * @align: its alignment, in bytes.
 * @users: the pools that use it; 0: idle, kept for reuse.
 */
struct ksalloc_slab {
	struct list_head node;
	struct kmem_cache *cache;
	u32 size;
	u32 align;
	unsigned int users;
};

static LIST_HEAD(ksalloc_slabs);
/* Protects ksalloc_slabs, the slabs' @users and ksalloc_nr_idle. */
static DEFINE_MUTEX(ksalloc_slabs_lock);
static unsigned int ksalloc_nr_idle;

/* Destroys the least recently used idle caches beyond idle_caches. */
static void ksalloc_trim_slabs(void)
{
	struct ksalloc_slab *slab, *prev;

	lockdep_assert_held(&ksalloc_slabs_lock);
	list_for_each_entry_safe_reverse(slab, prev, &ksalloc_slabs, node) {
		if (ksalloc_nr_idle <= READ_ONCE(ksalloc_idle_caches))
			break;
		if (slab->users)
			continue;
		list_del(&slab->node);
		ksalloc_nr_idle--;
		kmem_cache_destroy(slab->cache);
		kfree(slab);
	}
}

static int ksalloc_set_idle_caches(const char *val,
				   const struct kernel_param *kp)
{
	int err;

	mutex_lock(&ksalloc_slabs_lock);
	err = param_set_uint(val, kp);
	if (!err)
		ksalloc_trim_slabs();
	mutex_unlock(&ksalloc_slabs_lock);
	return err;
}

/* The cache for frames of @size bytes aligned to @align; NULL: no memory. */
static struct ksalloc_slab *ksalloc_get_slab(u32 size, u32 align)
{
	struct ksalloc_slab *slab;
	char name[32];

	mutex_lock(&ksalloc_slabs_lock);
	list_for_each_entry(slab, &ksalloc_slabs, node) {
		if (slab->size == size && slab->align == align) {
			if (!slab->users++)
				ksalloc_nr_idle--;
			list_move(&slab->node, &ksalloc_slabs);
			goto out;
		}
	}
	slab = kzalloc(sizeof(*slab), GFP_KERNEL);
	if (!slab)
		goto out;
	snprintf(name, sizeof(name), "ksalloc-%u-%u", size, align);
	/* A usercopy cache is never merged with another one. */
	slab->cache = kmem_cache_create_usercopy(name, size, align,
						 SLAB_ACCOUNT, 0, size, NULL);
	if (!slab->cache) {
		kfree(slab);
		slab = NULL;
		goto out;
	}
	slab->size = size;
	slab->align = align;
	slab->users = 1;
	list_add(&slab->node, &ksalloc_slabs);
out:
	mutex_unlock(&ksalloc_slabs_lock);
	return slab;
}

/* Ends a pool's use of @slab, whose objects it has all freed. */
static void ksalloc_put_slab(struct ksalloc_slab *slab)
{
	mutex_lock(&ksalloc_slabs_lock);
	if (!--slab->users) {
		ksalloc_nr_idle++;
		ksalloc_trim_slabs();
	}
	mutex_unlock(&ksalloc_slabs_lock);
}

/*
 * At unload: destroys the idle caches. One that holds retained frames (see
 * ksalloc_pool_destroy()) stays, as their memory must.
 */
static void ksalloc_destroy_slabs(void)
{
	struct ksalloc_slab *slab, *next;

	list_for_each_entry_safe(slab, next, &ksalloc_slabs, node) {
		if (!slab->users)
			kmem_cache_destroy(slab->cache);
		kfree(slab);
	}
}

/**
 * struct ksalloc_cpu - a CPU's cache of free frames
 * @state: the number of frames in @entry in the low 16 bits, the cache's
 *	headroom, never more than that, in the high ones; or KSALLOC_CPU_CLOSED.
 * @total: frames this CPU's allocate_frame handed out.
 * @entry: the frames' table entries: a fast allocation needs no slot number.
 *
 * Only its CPU adds and takes frames, with interrupts disabled, changing
 * @state by cmpxchg; any CPU that holds the allocator's lock may empty or
 * close it (see ksalloc_drain_cpu()) or take its headroom, and its CPU may
 * change it under that lock.
 */
struct ksalloc_cpu {
	u32 state;
	u64 total;
	unsigned long *entry[];
};

static u32 ksalloc_cpu_nr(u32 state)
{
	return lower_16_bits(state);
}

static u32 ksalloc_cpu_room(u32 state)
{
	return state >> KSALLOC_CPU_ROOM_SHIFT;
}

static u32 ksalloc_cpu_state(u32 nr, u32 room)
{
	return room << KSALLOC_CPU_ROOM_SHIFT | nr;
}

/* The cache of an allocator that has none: closed for good. */
static DEFINE_PER_CPU(struct ksalloc_cpu, ksalloc_no_cache) = {
	.state = KSALLOC_CPU_CLOSED,
};

/**
 * struct ksalloc_table - the frames of an allocator by address
 * @size: number of entries in @slot.
 * @pad: keeps @slot off the cache line of @size, wherever the table starts:
 *	every free reads @size, and CPUs write the entries of their frames.
 * @slot: a frame address and KSALLOC_SLOT_* bits, or 0.
 */
struct ksalloc_table {
	u32 size;
	unsigned long pad[SMP_CACHE_BYTES / sizeof(long) - 1];
	unsigned long slot[];
};

/* The table of an allocator without frames: every lookup misses. */
static union {
	struct ksalloc_table table;
	u8 bytes[struct_size_t(struct ksalloc_table, slot, 1)];
} ksalloc_empty = { .table.size = 1 };

/**
 * struct ksalloc_pool - the frames of an allocator
 * @table: the frames by address; &ksalloc_empty.table until the framing is set.
 * @cpu: the per-CPU caches; &ksalloc_no_cache for a pool without.
 * @cpu_frames: the capacity of each of @cpu, 0 without caches.
 * @slab: the slab cache the frames come from.
 * @free: the shared stack of free frames' slots.
 *
 * Set up before it is published, constant while the allocator lives.
 */
struct ksalloc_pool {
	struct ksalloc_table *table;
	struct ksalloc_cpu __percpu *cpu;
	u32 cpu_frames;
	struct ksalloc_slab *slab;
	u32 *free;
};

/**
 * struct ksalloc - an allocator
 * @pool: the frames.
 * @file: the file this allocator is the private data of.
 * @id: number in log messages, trace events and debugfs.
 * @debugfs: this allocator's status file in debugfs.
 * @lock: protects the fields below it, the caches of other CPUs (see
 *	ksalloc_drain_cpu()) and the USER bit of the table entries.
 * @ready: the framing is set, and @framing and @pool are valid.
 * @caches_open: the per-CPU caches are in use (see ksalloc_update_caches()).
 * @poll_armed: poll() found no free frame and waits for one.
 * @wake_queued: @wake_work is queued or running; no other may be queued.
 * @wake_again: frames became free while @wake_work ran: it runs again.
 * @misuse_logged: the KSALLOC_MISUSE_* kinds of @misuse already logged.
 * @framing: the framing.
 * @uid: the user the pool is charged to (see max_user_bytes).
 * @charged: the bytes charged.
 * @nr_free: number of entries on @pool.free.
 * @peak: the most frames ever allocated at once.
 * @room: headroom not in a cache (see "Counters" above).
 * @requests: pending requests, oldest first.
 * @done: requests granted or failed, waiting for @complete_work.
 * @event_fn: the free-frame event callback, or NULL.
 * @event_context: its argument.
 * @waiters: number of @requests.
 * @misuse: invalid kernel frees refused, and free frames found written.
 * @total: frames handed out, but for those of the per-CPU caches.
 * @failed: allocations refused for want of a free frame.
 * @wait: poll() waiters.
 * @wake_work: wakes @wait and runs the free-frame event.
 * @complete_work: completes the requests on @done.
 */
struct ksalloc {
	/* Read by the fast paths on every CPU: kept apart from what they write. */
	struct ksalloc_pool pool;

	struct file *file ____cacheline_aligned_in_smp;
	unsigned int id;
	struct dentry *debugfs;

	raw_spinlock_t lock;
	bool ready;
	bool caches_open;
	bool poll_armed;
	bool wake_queued;
	bool wake_again;
	u8 misuse_logged;
	struct ksalloc_framing framing;
	kuid_t uid;
	size_t charged;
	u32 nr_free;
	u32 peak;
	u32 room;
	struct list_head requests;
	struct list_head done;
	ksalloc_event_fn event_fn;
	void *event_context;
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

/*
 * Hashes the low 32 bits of the address, which x86 multiplies by a 32-bit
 * constant in one instruction; frames that share them only probe further.
 */
static u32 ksalloc_hash(const struct ksalloc_table *t, const void *frame)
{
	return reciprocal_scale(hash_32((unsigned long)frame, 32), t->size);
}

/* Returns the slot of @frame, or -1 if it is not a frame of @t. */
static long ksalloc_lookup(const struct ksalloc_table *t, const void *frame)
{
	unsigned long entry;
	u32 i = ksalloc_hash(t, frame);

	/* The table is at most two thirds full: an empty entry ends a probe. */
	while ((entry = READ_ONCE(t->slot[i]))) {
		if (ksalloc_slot_frame(entry) == frame)
			return i;
		if (++i == t->size)
			i = 0;
	}
	return -1;
}

/*
 * Frames allocated now: the peak minus the headroom. Exact under the lock
 * while no fast path runs; otherwise a sum of counts read one after another.
 */
static u32 ksalloc_allocated(struct ksalloc *a)
{
	u32 room = READ_ONCE(a->room), peak = READ_ONCE(a->peak);
	int cpu;

	if (READ_ONCE(a->pool.cpu_frames))
		for_each_possible_cpu(cpu)
			room += ksalloc_cpu_room(READ_ONCE(per_cpu_ptr(a->pool.cpu, cpu)->state));
	return peak - min(room, peak);
}

/* ---- The pool ---------------------------------------------------------- */

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

/*
 * Frees @pool, except frames still allocated to kernel clients: those are
 * retained, and with them their cache. Returns how many were retained.
 */
static unsigned int ksalloc_pool_destroy(struct ksalloc_pool *pool)
{
	struct ksalloc_table *t = pool->table;
	unsigned int i, retained = 0;

	for (i = 0; t != &ksalloc_empty.table && i < t->size; i++) {
		unsigned long entry = t->slot[i];

		if (!entry)
			continue;
		if ((entry & KSALLOC_SLOT_FLAGS) == KSALLOC_SLOT_ALLOCATED) {
			/* Deliberately kept: not a leak for kmemleak to report. */
			kmemleak_ignore(ksalloc_slot_frame(entry));
			retained++;
		} else {
			kmem_cache_free(pool->slab->cache,
					ksalloc_slot_frame(entry));
		}
	}
	if (pool->slab && !retained)
		ksalloc_put_slab(pool->slab);
	if (t != &ksalloc_empty.table)
		kvfree(t);
	if (pool->cpu_frames)
		free_percpu(pool->cpu);
	kvfree(pool->free);
	return retained;
}

/*
 * Fills @pool's table with @frames frames from its cache, and its free stack
 * with their slots, those found at the first probe on top: a pool hands them
 * out first, and a client that reuses a few frames finds them fastest.
 */
static int ksalloc_pool_fill(struct ksalloc_pool *pool, unsigned int frames)
{
	struct ksalloc_table *t = pool->table;
	unsigned int i, n = 0, top = frames;

	for (i = 0; i < frames; i++) {
		void *frame = kmem_cache_alloc(pool->slab->cache, GFP_KERNEL);
		u32 slot;

		if (!frame)
			return -ENOMEM;
		if (WARN_ON_ONCE((unsigned long)frame & KSALLOC_SLOT_FLAGS)) {
			kmem_cache_free(pool->slab->cache, frame);
			return -ENOMEM;
		}
		/* Free from now on: see "Poisoning" above. */
		if (KSALLOC_POISON_FRAMES) {
			memset(frame, POISON_FREE, pool->slab->size);
			cond_resched();
		}
		for (slot = ksalloc_hash(t, frame); t->slot[slot];)
			if (++slot == t->size)
				slot = 0;
		t->slot[slot] = (unsigned long)frame;
	}
	for (i = 0; i < t->size; i++) {
		if (!t->slot[i])
			continue;
		if (ksalloc_hash(t, ksalloc_slot_frame(t->slot[i])) == i)
			pool->free[--top] = i;
		else
			pool->free[n++] = i;
	}
	return 0;
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
	int i;

	*pool = (struct ksalloc_pool){
		.table = &ksalloc_empty.table,
		.cpu = &ksalloc_no_cache,
	};
	pool->slab = ksalloc_get_slab(framing->frame_size,
				      framing->alignment + 1);
	pool->free = ksalloc_vzalloc(frames, sizeof(*pool->free));
	t = ksalloc_vzalloc(struct_size(t, slot, size), 1);
	if (t) {
		t->size = size;
		pool->table = t;
	}
	if (!pool->slab || !pool->free || !t)
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
	return ksalloc_pool_fill(pool, frames);
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
	if (check_mul_overflow((size_t)f->frames,
			       (size_t)ALIGN(f->frame_size, f->alignment + 1),
			       total))
		return -EOVERFLOW;
	if (*total > READ_ONCE(ksalloc_max_pool_bytes))
		return -EDQUOT;
	return 0;
}

/* Puts the frames of @n cache entries on the shared stack. */
static void ksalloc_push_locked(struct ksalloc *a, unsigned long * const *entry,
				u32 n)
{
	const unsigned long *slot = a->pool.table->slot;

	lockdep_assert_held(&a->lock);
	while (n--)
		a->pool.free[a->nr_free++] = *entry++ - slot;
}

/* Opens or closes the per-CPU caches; see ksalloc_update_caches(). */
static bool ksalloc_want_caches(struct ksalloc *a)
{
	lockdep_assert_held(&a->lock);
	return a->pool.cpu_frames && list_empty(&a->requests) &&
	       !a->poll_armed && !a->event_fn;
}

/*
 * Moves the frames and the headroom of @cpu's cache to the allocator, and
 * leaves the cache closed if @close, else empty. The owner changes the state
 * only by cmpxchg, so after the xchg here it cannot take or add a frame: it
 * goes to the slow path and waits for our lock.
 */
static u32 ksalloc_drain_cpu(struct ksalloc *a, int cpu, bool close)
{
	struct ksalloc_cpu *c = per_cpu_ptr(a->pool.cpu, cpu);
	u32 state;
	u32 n;

	lockdep_assert_held(&a->lock);
	/* Fully ordered: pairs with the cmpxchg of @state in the fast paths. */
	state = xchg(&c->state, KSALLOC_CPU_CLOSED);
	n = ksalloc_cpu_nr(state);
	if (state == KSALLOC_CPU_CLOSED ||
	    WARN_ON_ONCE(n > a->pool.cpu_frames || ksalloc_cpu_room(state) > n))
		return 0;
	ksalloc_push_locked(a, c->entry, n);
	a->room += ksalloc_cpu_room(state);
	if (close)
		return n;
	/* Our reads of @entry are done before the owner may write it again. */
	smp_store_release(&c->state, 0);
	return n;
}

/*
 * Accounts a frame taken from the shared stack to be handed out: it spends
 * a unit of headroom, the allocator's or one taken back from the caches;
 * with none anywhere, every frame below the peak is out, and this one makes
 * a new peak.
 */
static void ksalloc_spend_room_locked(struct ksalloc *a)
{
	struct ksalloc_cpu *c;
	u32 state;
	int cpu;

	lockdep_assert_held(&a->lock);
	if (!a->room && a->caches_open) {
		for_each_possible_cpu(cpu) {
			c = per_cpu_ptr(a->pool.cpu, cpu);
			state = READ_ONCE(c->state);
			/* The owner's cmpxchg fails, and it waits for us. */
			while (ksalloc_cpu_room(state) &&
			       !try_cmpxchg(&c->state, &state,
					    ksalloc_cpu_nr(state)))
				;
			a->room += ksalloc_cpu_room(state);
		}
	}
	if (a->room)
		a->room--;
	else
		a->peak++;
}

/*
 * The caches are open only while nobody must see a free: no request pending,
 * no poll() or free-frame event waiting for one. Closing them drains them,
 * and every fast path then goes through the lock. Returns true if closing
 * drained frames.
 */
static bool ksalloc_update_caches(struct ksalloc *a)
{
	bool open = ksalloc_want_caches(a);
	u32 drained = 0;
	int cpu;

	if (open == a->caches_open)
		return false;
	for_each_possible_cpu(cpu) {
		if (open) {
			/*
			 * Drained under the lock: empty. Release: our reads
			 * of its entries, if we closed it just now, come
			 * before the owner's next writes of them.
			 */
			smp_store_release(&per_cpu_ptr(a->pool.cpu, cpu)->state, 0);
		} else {
			drained += ksalloc_drain_cpu(a, cpu, true);
		}
	}
	a->caches_open = open;
	return drained;
}

static int ksalloc_set_framing(struct ksalloc *a,
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
		WRITE_ONCE(a->pool.free, pool.free);
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
 * Gathers the frames of every CPU's cache on the shared stack if it is
 * empty. Returns true if a frame is free.
 */
static bool ksalloc_gather(struct ksalloc *a)
{
	int cpu;

	lockdep_assert_held(&a->lock);
	if (!a->nr_free && a->caches_open)
		for_each_possible_cpu(cpu)
			ksalloc_drain_cpu(a, cpu, false);
	return a->nr_free;
}

/* Takes a free frame off the shared stack, which has one; returns its slot. */
static u32 ksalloc_pop_locked(struct ksalloc *a)
{
	lockdep_assert_held(&a->lock);
	a->total++;
	return a->pool.free[--a->nr_free];
}

/* Takes a free frame, which there is, for a holder of @flags. */
static u32 ksalloc_take_locked(struct ksalloc *a, unsigned long flags)
{
	struct ksalloc_table *t = a->pool.table;
	u32 slot = ksalloc_pop_locked(a);

	ksalloc_spend_room_locked(a);
	WRITE_ONCE(t->slot[slot], t->slot[slot] | flags);
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
	/*
	 * Queued before the lock is dropped: ksalloc_cancel_request(), once
	 * it finds @req no longer pending, flushes a work that completes it.
	 */
	queue_work(system_wq, &a->complete_work);
}

/*
 * Restores the invariants after frames were returned or requests queued:
 * pending requests are served from the shared stack, oldest first; the
 * caches are open or closed as ksalloc_want_caches() says; if a frame is
 * free, poll() sleepers and the free-frame event are woken. Says whether
 * @wake_work must be queued.
 */
static void ksalloc_settle_locked(struct ksalloc *a, bool *wake)
{
	struct ksalloc_request *req;

	lockdep_assert_held(&a->lock);
	do {
		while (a->nr_free && !list_empty(&a->requests)) {
			u32 slot = ksalloc_take_locked(a, KSALLOC_SLOT_ALLOCATED);

			req = list_first_entry(&a->requests,
					       struct ksalloc_request, node);
			a->waiters--;
			ksalloc_grant_locked(a, req,
					     ksalloc_slot_frame(a->pool.table->slot[slot]),
					     0);
		}
	} while (ksalloc_update_caches(a));

	if (a->nr_free && (a->poll_armed || a->event_fn)) {
		a->poll_armed = false;
		/*
		 * One @wake_work at a time, so that the event never runs on
		 * two CPUs: a running one is told to run again.
		 */
		if (a->wake_queued)
			a->wake_again = true;
		else
			*wake = a->wake_queued = true;
		ksalloc_update_caches(a);
	}
}

static void ksalloc_kick(struct ksalloc *a, bool wake)
{
	if (wake)
		irq_work_queue(&a->wake_work);
}

/* Marks the frame of a table entry allocated to a kernel client. */
static __always_inline void *ksalloc_hand_out(unsigned long *entry)
{
	void *frame = (void *)READ_ONCE(*entry);

	/*
	 * Free, so ours alone: a racing misuse cmpxchg cannot match it, and a
	 * non-atomic bit set will do.
	 */
	__set_bit(ilog2(KSALLOC_SLOT_ALLOCATED), entry);
	return frame;
}

/* The fast paths' trace events, out of line: they only test for tracing. */
static noinline void ksalloc_trace_allocate(struct ksalloc *a, long slot)
{
	trace_ksalloc_allocate(a->id, slot, ksalloc_allocated(a));
}

static noinline void ksalloc_trace_free(struct ksalloc *a, long slot)
{
	trace_ksalloc_free(a->id, slot, ksalloc_allocated(a));
}

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

/* @frame became free: see "Poisoning" above. */
static __always_inline void ksalloc_poison(struct ksalloc *a, void *frame)
{
	if (KSALLOC_POISON_FRAMES)
		memset(frame, POISON_FREE, a->framing.frame_size);
}

static noinline void ksalloc_check_poison(struct ksalloc *a, void *frame)
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

/* @frame is being handed out: it must be as ksalloc_poison() left it. */
static __always_inline void ksalloc_check(struct ksalloc *a, void *frame)
{
	if (KSALLOC_POISON_FRAMES)
		ksalloc_check_poison(a, frame);
}

/* The same, for a slot ksalloc_take() returned, or an error it did. */
static void ksalloc_check_slot(struct ksalloc *a, long slot)
{
	unsigned long entry;

	if (KSALLOC_POISON_FRAMES && slot >= 0) {
		entry = READ_ONCE(a->pool.table->slot[slot]);
		ksalloc_check_poison(a, ksalloc_slot_frame(entry));
	}
}

/*
 * Gives this CPU's cache, open and drained of neither by our lock, frames if
 * it has none and headroom if it has little: half of what it holds, each,
 * and never more headroom than frames.
 */
static void ksalloc_refill_locked(struct ksalloc *a)
{
	struct ksalloc_cpu *c = this_cpu_ptr(a->pool.cpu);
	u32 half = DIV_ROUND_UP(a->pool.cpu_frames, 2);
	u32 nr = ksalloc_cpu_nr(c->state), room = ksalloc_cpu_room(c->state);
	unsigned long *slot = a->pool.table->slot;
	u32 want, n, i;

	lockdep_assert_held(&a->lock);
	if (!nr) {
		nr = min(a->nr_free, half);
		a->nr_free -= nr;
		/* In the stack's order: its top is the cache's. */
		for (i = 0; i < nr; i++)
			c->entry[i] = &slot[a->pool.free[a->nr_free + i]];
	}
	want = min(nr, half);
	if (room < want) {
		n = min(a->room, want - room);
		a->room -= n;
		room += n;
	}
	WRITE_ONCE(c->state, ksalloc_cpu_state(nr, room));
}

/*
 * Takes the top frame of this CPU's cache, open and not empty, which lacked
 * headroom (or met the lock's holder): the frame it would have given, hot
 * in the cache and next to its others in the table, rather than one off the
 * shared stack, which would sit next to the frames of other CPUs.
 */
static u32 ksalloc_take_cached_locked(struct ksalloc *a, struct ksalloc_cpu *c)
{
	u32 state = c->state;
	u32 slot;

	lockdep_assert_held(&a->lock);
	if (ksalloc_cpu_room(state)) {
		state -= KSALLOC_CPU_ONE;
	} else {
		ksalloc_spend_room_locked(a);
		state--;
	}
	slot = c->entry[ksalloc_cpu_nr(state)] - a->pool.table->slot;
	c->total++;
	WRITE_ONCE(c->state, state);
	/* Headroom for the next ones, and frames if that was the last. */
	ksalloc_refill_locked(a);
	return slot;
}

/*
 * allocate_frame when this CPU's cache has no frame or no headroom, or is
 * closed: called with interrupts disabled, restores @irqflags.
 */
static noinline int ksalloc_allocate_slow(struct ksalloc *a, void **frame,
					  unsigned long irqflags)
{
	struct ksalloc_cpu *c;
	long slot = -EAGAIN;

	raw_spin_lock(&a->lock);
	/* The framing may have been set since the fast path looked. */
	c = this_cpu_ptr(a->pool.cpu);
	if (unlikely(!a->ready)) {
		slot = -EBADFD;
	} else if (unlikely(a->framing.pool_type != KSALLOC_POOL_ATOMIC)) {
		slot = -EOPNOTSUPP;
	} else if (a->caches_open && ksalloc_cpu_nr(c->state)) {
		slot = ksalloc_take_cached_locked(a, c);
	} else if (ksalloc_gather(a)) {
		slot = ksalloc_pop_locked(a);
		ksalloc_spend_room_locked(a);
		if (a->caches_open)
			ksalloc_refill_locked(a);
	} else {
		a->failed++;
	}
	raw_spin_unlock(&a->lock);
	*frame = slot < 0 ? NULL : ksalloc_hand_out(&a->pool.table->slot[slot]);
	local_irq_restore(irqflags);

	if (slot >= 0)
		ksalloc_check(a, *frame);
	if (trace_ksalloc_allocate_enabled())
		ksalloc_trace_allocate(a, max(slot, -1L));
	return min(slot, 0L);
}

/**
 * ksalloc_allocate_frame() - take a free frame (KS AllocateFrame)
 * @file: the allocator.
 * @frame: set to the frame, or to NULL on failure.
 *
 * The function table's allocate_frame. The frame is aligned as the framing
 * says; its contents are whatever its last user left, or POISON_FREE bytes
 * with KSALLOC_POISON_FRAMES, which also checks that nobody wrote the frame
 * while it was free (see "Poisoning" above).
 *
 * Context: Any context. Never sleeps.
 * Return: 0; -EAGAIN if no frame is free; -EOPNOTSUPP for a sleepable pool;
 * -EBADFD before the framing is set.
 */
int ksalloc_allocate_frame(struct file *file, void **frame)
{
	struct ksalloc *a = file->private_data;
	struct ksalloc_cpu *c;
	unsigned long flags, *entry;
	u32 state, new;

	local_irq_save(flags);
	c = this_cpu_ptr(READ_ONCE(a->pool.cpu));
	state = READ_ONCE(c->state);
	new = state - KSALLOC_CPU_ONE;
	/*
	 * Negative if the cache has no headroom: it may have frames, or none
	 * (no headroom either), or be closed. A failed cmpxchg met the lock's
	 * holder.
	 */
	if (unlikely((s32)new < 0) ||
	    unlikely(!try_cmpxchg(&c->state, &state, new)))
		return ksalloc_allocate_slow(a, frame, flags);
	entry = c->entry[ksalloc_cpu_nr(new)];
	c->total++;
	*frame = ksalloc_hand_out(entry);
	local_irq_restore(flags);

	ksalloc_check(a, *frame);
	if (trace_ksalloc_allocate_enabled())
		ksalloc_trace_allocate(a, entry - a->pool.table->slot);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(ksalloc_allocate_frame, KSALLOC);

static noinline void ksalloc_misuse(struct ksalloc *a, void *frame)
{
	if (ksalloc_count_misuse(a, KSALLOC_MISUSE_FREE))
		pr_warn("ksalloc-%u: refused free of %p: not a frame allocated from this allocator\n",
			a->id, frame);
}

/*
 * free_frame when the frame could not go to this CPU's cache, full or
 * closed: called with interrupts disabled, restores @irqflags.
 */
static noinline void ksalloc_free_slow(struct ksalloc *a, unsigned long *entry,
				       unsigned long irqflags)
{
	bool wake = false;
	u32 half = DIV_ROUND_UP(a->pool.cpu_frames, 2);
	struct ksalloc_cpu *c;
	u32 nr, room, n;

	raw_spin_lock(&a->lock);
	if (a->caches_open) {
		c = this_cpu_ptr(a->pool.cpu);
		nr = ksalloc_cpu_nr(c->state);
		room = ksalloc_cpu_room(c->state);
		/*
		 * Full: half of it moves to the shared stack, with the
		 * headroom the frames left cannot keep.
		 */
		if (nr == a->pool.cpu_frames) {
			nr -= half;
			ksalloc_push_locked(a, &c->entry[nr], half);
			n = room - min(room, nr);
			room -= n;
			a->room += n;
		}
		c->entry[nr] = entry;
		WRITE_ONCE(c->state, ksalloc_cpu_state(nr + 1, room + 1));
	} else {
		ksalloc_push_locked(a, &entry, 1);
		a->room++;
	}
	ksalloc_settle_locked(a, &wake);
	raw_spin_unlock(&a->lock);
	local_irq_restore(irqflags);

	if (trace_ksalloc_free_enabled())
		ksalloc_trace_free(a, entry - a->pool.table->slot);
	ksalloc_kick(a, wake);
}

/**
 * ksalloc_free_frame() - return a frame (KS FreeFrame)
 * @file: the allocator the frame came from.
 * @frame: the frame.
 *
 * The function table's free_frame; also returns frames granted to requests.
 * The frame goes to the oldest pending request, or becomes free. An invalid
 * @frame (NULL, not a frame of this allocator, not allocated to a kernel
 * client) leaves the pool unchanged; it is counted and the first one logged.
 * With KSALLOC_POISON_FRAMES the frame is poisoned here, in the caller's
 * context (hard IRQ included): debug kernels pay a memset of the frame.
 *
 * Context: Any context. Never sleeps.
 */
void ksalloc_free_frame(struct file *file, void *frame)
{
	struct ksalloc *a = file->private_data;
	struct ksalloc_table *t = READ_ONCE(a->pool.table);
	unsigned long *p = &t->slot[ksalloc_hash(t, frame)];
	/* Once its low bits are found clear, | is +: one lea. */
	unsigned long want = (unsigned long)frame + KSALLOC_SLOT_ALLOCATED;
	unsigned long entry, flags;
	struct ksalloc_cpu *c;
	u32 state, n;

	/* Its low bits would pass for a state: frame + 1 matches "allocated". */
	if (unlikely((unsigned long)frame & KSALLOC_SLOT_FLAGS))
		return ksalloc_misuse(a, frame);
	for (;;) {
		entry = READ_ONCE(*p);
		if (likely(entry == want))
			break;
		if (unlikely(!entry || ksalloc_slot_frame(entry) == frame))
			return ksalloc_misuse(a, frame);
		if (++p == &t->slot[t->size])
			p = t->slot;
	}
	/* The only way out of "allocated": a double free loses here. */
	if (unlikely(!try_cmpxchg(p, &entry, (unsigned long)frame)))
		return ksalloc_misuse(a, frame);
	/* Ours until it is pushed below: nobody else can reach it. */
	ksalloc_poison(a, frame);

	local_irq_save(flags);
	c = this_cpu_ptr(READ_ONCE(a->pool.cpu));
	state = READ_ONCE(c->state);
	n = ksalloc_cpu_nr(state);
	/*
	 * Full or closed; a failed cmpxchg met the lock's holder. A frame of
	 * ours was allocated, so the framing was set and @cpu_frames is.
	 */
	if (unlikely(n >= data_race(a->pool.cpu_frames)))
		return ksalloc_free_slow(a, p, flags);
	c->entry[n] = p;
	if (unlikely(!try_cmpxchg(&c->state, &state, state + KSALLOC_CPU_ONE)))
		return ksalloc_free_slow(a, p, flags);
	local_irq_restore(flags);

	if (trace_ksalloc_free_enabled())
		ksalloc_trace_free(a, p - t->slot);
}
EXPORT_SYMBOL_NS_GPL(ksalloc_free_frame, KSALLOC);

/*
 * Takes a free frame for a holder of @flags. If none is free, queues @req if
 * there is one, else counts a failure. Returns the frame's slot, -EAGAIN if
 * none was free, or -EBADFD before the framing is set.
 */
static long ksalloc_take(struct ksalloc *a, unsigned long flags,
			 struct ksalloc_request *req)
{
	bool wake = false;
	unsigned int allocated, waiters;
	unsigned long irqflags;
	long slot;

	raw_spin_lock_irqsave(&a->lock, irqflags);
	if (!a->ready) {
		slot = -EBADFD;
	} else if (ksalloc_gather(a)) {
		slot = ksalloc_take_locked(a, flags);
	} else if (req) {
		req->pending = true;
		list_add_tail(&req->node, &a->requests);
		a->waiters++;
		slot = -EAGAIN;
		/* Closes the caches: a frame freed meanwhile goes to @req. */
		ksalloc_settle_locked(a, &wake);
	} else {
		a->failed++;
		slot = -EAGAIN;
	}
	allocated = ksalloc_allocated(a);
	waiters = a->waiters;
	raw_spin_unlock_irqrestore(&a->lock, irqflags);

	ksalloc_kick(a, wake);
	if (slot == -EAGAIN && req)
		trace_ksalloc_wait(a->id, waiters);
	else if (slot != -EBADFD)
		trace_ksalloc_allocate(a->id, max(slot, -1L), allocated);
	return slot;
}

/* Returns true if @req was still pending and is now withdrawn. */
static bool ksalloc_dequeue(struct ksalloc *a, struct ksalloc_request *req)
{
	bool wake = false;
	unsigned long flags;
	bool pending;

	raw_spin_lock_irqsave(&a->lock, flags);
	pending = req->pending;
	if (pending) {
		list_del_init(&req->node);
		req->pending = false;
		a->waiters--;
		ksalloc_settle_locked(a, &wake);
	}
	raw_spin_unlock_irqrestore(&a->lock, flags);
	ksalloc_kick(a, wake);
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
	slot = ksalloc_take(a, KSALLOC_SLOT_ALLOCATED, req);
	if (slot == -EAGAIN)
		return 0;
	if (slot < 0)
		return slot;

	raw_spin_lock_irqsave(&a->lock, flags);
	INIT_LIST_HEAD(&req->node);
	ksalloc_grant_locked(a, req,
			     ksalloc_slot_frame(a->pool.table->slot[slot]), 0);
	raw_spin_unlock_irqrestore(&a->lock, flags);
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
		/* Every grant comes here: immediate, on a free, or a waiter's. */
		if (req->frame)
			ksalloc_check(a, req->frame);
		req->complete(req, req->frame, req->error);
	}
}

static void ksalloc_wake_work(struct irq_work *work)
{
	struct ksalloc *a = container_of(work, struct ksalloc, wake_work);
	ksalloc_event_fn fn;
	unsigned long flags;
	void *context;
	bool again;

	raw_spin_lock_irqsave(&a->lock, flags);
	a->wake_again = false;
	fn = a->event_fn;
	context = a->event_context;
	raw_spin_unlock_irqrestore(&a->lock, flags);

	wake_up_interruptible_poll(&a->wait, EPOLLIN | EPOLLRDNORM);
	/* Disabling waits for this work with irq_work_sync(): @fn stays valid. */
	if (fn)
		fn(a->file, context);

	raw_spin_lock_irqsave(&a->lock, flags);
	again = a->wake_again;
	a->wake_queued = again;
	raw_spin_unlock_irqrestore(&a->lock, flags);
	/*
	 * Still ours: on this CPU, after this one. Queued from here, it keeps
	 * the work busy, so irq_work_sync() waits for it too.
	 */
	if (again)
		irq_work_queue(&a->wake_work);
}

/**
 * ksalloc_enable_free_frame_event() - be told when frames become free
 * @file: the allocator.
 * @fn: the callback, see ksalloc_event_fn.
 * @context: its argument.
 *
 * KSEVENT_STREAMALLOCATOR_FREEFRAME. One event per allocator. Frames handed
 * straight to a pending request do not signal it. It stays enabled until
 * ksalloc_disable_free_frame_event() or the release of the allocator; while
 * it is, every allocation and free takes the allocator's lock, for every
 * free must be seen.
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
		/* Every free must be seen: no caches, no frames in them. */
		ksalloc_update_caches(a);
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
	if (a->ready)
		ksalloc_update_caches(a);
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
	int cpu;

	memset(status, 0, sizeof(*status));
	raw_spin_lock_irqsave(&a->lock, flags);
	status->framing = a->framing;
	status->allocated_frames = ksalloc_allocated(a);
	status->peak_allocated_frames = a->peak;
	status->waiters = a->waiters;
	status->misuse_events = a->misuse;
	status->total_allocations = a->total;
	if (a->pool.cpu_frames)
		for_each_possible_cpu(cpu)
			status->total_allocations +=
				READ_ONCE(per_cpu_ptr(a->pool.cpu, cpu)->total);
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

/**
 * ksalloc_get_totals() - read the module-wide counters
 * @totals: filled in.
 *
 * What debugfs ksalloc/totals shows, for the KUnit tests. Each counter is
 * read on its own: exact while no allocator misuses or is released.
 *
 * Context: Any context.
 */
VISIBLE_IF_KUNIT void ksalloc_get_totals(struct ksalloc_totals *totals)
{
	totals->misuse_events = atomic_long_read(&ksalloc_total_misuse);
	totals->retaining_releases = atomic_long_read(&ksalloc_total_retaining);
	totals->retained_frames = atomic_long_read(&ksalloc_total_retained);
}
EXPORT_SYMBOL_IF_KUNIT(ksalloc_get_totals);

static int ksalloc_totals_show(struct seq_file *m, void *unused)
{
	struct ksalloc_totals t;

	ksalloc_get_totals(&t);
	seq_printf(m, "misuse_events: %llu\n", t.misuse_events);
	seq_printf(m, "retaining_releases: %llu\n", t.retaining_releases);
	seq_printf(m, "retained_frames: %llu\n", t.retained_frames);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ksalloc_totals);

static struct ksalloc *ksalloc_alloc(void)
{
	struct ksalloc *a;
	char name[16];

	a = kzalloc(sizeof(*a), GFP_KERNEL_ACCOUNT);
	if (!a)
		return NULL;
	a->id = atomic_inc_return(&ksalloc_last_id);
	a->pool.table = &ksalloc_empty.table;
	a->pool.cpu = &ksalloc_no_cache;
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

/*
 * Frees @a, which nothing uses any more, and its pool. Returns how many of
 * its frames were retained (see ksalloc_pool_destroy()).
 */
static unsigned int ksalloc_free(struct ksalloc *a)
{
	unsigned int retained = 0;

	/* Waits for readers of the status file, which reads the pool. */
	debugfs_remove(a->debugfs);
	if (a->ready) {
		retained = ksalloc_pool_destroy(&a->pool);
		ksalloc_uncharge_user(a->uid, a->charged);
	}
	kfree(a);
	return retained;
}

/*
 * Before the release frees the pool: the free frames, and those user space
 * holds, must still be poisoned. A write after free_frame that no hand-out
 * came to find is found here.
 */
static void ksalloc_check_released(struct ksalloc *a)
{
	struct ksalloc_table *t = a->pool.table;
	unsigned long entry;
	u32 i;

	if (!KSALLOC_POISON_FRAMES)
		return;
	for (i = 0; i < t->size; i++) {
		entry = t->slot[i];
		if (entry &&
		    (entry & KSALLOC_SLOT_FLAGS) != KSALLOC_SLOT_ALLOCATED) {
			ksalloc_check_poison(a, ksalloc_slot_frame(entry));
			cond_resched();
		}
	}
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
	unsigned int id = a->id, retained;
	unsigned long flags;

	/*
	 * Nobody holds a reference any more: only stragglers of our own
	 * remain. Nothing is left to wake, so the completions run below may
	 * free frames without queueing @wake_work again.
	 */
	raw_spin_lock_irqsave(&a->lock, flags);
	a->event_fn = NULL;
	a->poll_armed = false;
	list_for_each_entry_safe(req, next, &a->requests, node)
		ksalloc_grant_locked(a, req, NULL, -ENODEV);
	a->waiters = 0;
	raw_spin_unlock_irqrestore(&a->lock, flags);

	irq_work_sync(&a->wake_work);
	flush_work(&a->complete_work);

	ksalloc_check_released(a);
	retained = ksalloc_free(a);
	if (retained) {
		atomic_long_inc(&ksalloc_total_retaining);
		atomic_long_add(retained, &ksalloc_total_retained);
		pr_warn("ksalloc-%u released with %u frames still allocated: retaining them\n",
			id, retained);
	}
	trace_ksalloc_release(id, retained);
	return 0;
}

/* Returns a frame held by user space. */
static int ksalloc_put_user(struct ksalloc *a, u64 handle)
{
	bool wake = false;
	struct ksalloc_table *t = a->pool.table;
	unsigned int allocated = 0;
	unsigned long flags, entry;
	int err = 0;

	raw_spin_lock_irqsave(&a->lock, flags);
	if (!a->ready) {
		err = -EBADFD;
	} else if (!handle || handle > t->size || !t->slot[handle - 1]) {
		err = -EINVAL;
	} else if ((t->slot[handle - 1] & KSALLOC_SLOT_FLAGS) !=
		   (KSALLOC_SLOT_ALLOCATED | KSALLOC_SLOT_USER)) {
		err = -ENOENT;
	} else {
		/*
		 * Kernel frees cannot match a user-held entry: no cmpxchg.
		 * Nor poisoning: user space never maps a frame, which kept
		 * its poison all along.
		 */
		entry = t->slot[handle - 1];
		WRITE_ONCE(t->slot[handle - 1], entry & ~KSALLOC_SLOT_FLAGS);
		a->pool.free[a->nr_free++] = handle - 1;
		a->room++;
		allocated = ksalloc_allocated(a);
		ksalloc_settle_locked(a, &wake);
	}
	raw_spin_unlock_irqrestore(&a->lock, flags);

	if (!err)
		trace_ksalloc_free(a->id, handle - 1, allocated);
	ksalloc_kick(a, wake);
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
	unsigned long flags, entry;
	long slot;

again:
	init_completion(&w.done);
	slot = ksalloc_take(a, KSALLOC_SLOT_FLAGS, &w.req);
	if (slot != -EAGAIN) {
		/* Taken at once; one granted later was checked as a request. */
		ksalloc_check_slot(a, slot);
		return slot;
	}

	if (wait_for_completion_interruptible(&w.done)) {
		if (ksalloc_dequeue(a, &w.req))
			return -ERESTARTSYS;
		/* Granted just before the signal: wait until @w is ours again. */
		wait_for_completion(&w.done);
	}
	if (w.req.error)
		return w.req.error;

	/* Granted as to a kernel client: make it user space's. */
	raw_spin_lock_irqsave(&a->lock, flags);
	slot = ksalloc_lookup(a->pool.table, w.req.frame);
	entry = (unsigned long)w.req.frame | KSALLOC_SLOT_ALLOCATED;
	if (WARN_ON_ONCE(slot < 0) ||
	    !try_cmpxchg(&a->pool.table->slot[slot], &entry,
			 entry | KSALLOC_SLOT_USER))
		slot = -EAGAIN;
	raw_spin_unlock_irqrestore(&a->lock, flags);
	/* A kernel client freed it in between: a bug of its own; wait again. */
	if (slot == -EAGAIN)
		goto again;
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

	if (file->f_flags & O_NONBLOCK) {
		slot = ksalloc_take(a, KSALLOC_SLOT_FLAGS, NULL);
		ksalloc_check_slot(a, slot);
	} else {
		slot = ksalloc_wait_frame(a);
	}
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
	bool ready;

	poll_wait(file, &a->wait, pt);
	raw_spin_lock_irqsave(&a->lock, flags);
	if (!a->nr_free && a->ready) {
		/* Close the caches: the next free wakes us; or find their frames. */
		a->poll_armed = true;
		ksalloc_update_caches(a);
		if (a->nr_free) {
			a->poll_armed = false;
			ksalloc_update_caches(a);
		}
	}
	ready = a->nr_free;
	raw_spin_unlock_irqrestore(&a->lock, flags);
	return ready ? EPOLLIN | EPOLLRDNORM : 0;
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
		goto err_free;
	}
	a->file = file;
	return file;

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
	/* Beside the allocators' files, named by number: no name clash. */
	debugfs_create_file("totals", 0400, ksalloc_debugfs, NULL,
			    &ksalloc_totals_fops);
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
	ksalloc_destroy_slabs();
}

module_init(ksalloc_init);
module_exit(ksalloc_exit);

MODULE_DESCRIPTION("Kernel Streaming style frame allocators");
MODULE_LICENSE("GPL");
