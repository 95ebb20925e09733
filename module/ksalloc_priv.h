/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the files of ksalloc.ko share: the allocator's structures and the
 * functions that cross files. Nothing else.
 *
 *   frame.c    allocate_frame and free_frame, the per-CPU caches and their
 *              protocol, the headroom that keeps the peak exact;
 *              ksalloc_dma_allocate_frame(), the same fast path
 *   request.c  pending requests, the free-frame event, poll wake-ups
 *   pool.c     the frames' memory, the table that finds them, the framing,
 *              where a frame is in a mapping (ksalloc_frame_offset())
 *   slab.c     the slab caches pools share, and the idle ones kept
 *   quota.c    the per-user limit, max_user_bytes
 *   misuse.c   client bugs: refused frees, poisoning, retained frames
 *   dev.c      the allocator as a file: /dev/ksalloc, its ioctls, poll,
 *              mmap, ksalloc_create() and ksalloc_fget()
 *   dmabuf.c   a frame as a dma-buf: KSALLOC_IOC_EXPORT_FRAME and the
 *              dma_buf_ops (CONFIG_DMA_SHARED_BUFFER only)
 *   dma.c      devices attached to an allocator: every frame mapped for
 *              each, DMA addresses and syncs in any context
 *   debugfs.c  ksalloc/<id> and ksalloc/totals (CONFIG_DEBUG_FS only)
 *   main.c     module init and exit
 *
 * The allocator core (frame.c, request.c, pool.c, slab.c, quota.c,
 * misuse.c) never calls dma.c, dev.c, debugfs.c or main.c; it only recognises its
 * files by dev.c's ksalloc_fops (ksalloc_from_file()).
 */
#ifndef _KSALLOC_PRIV_H
#define _KSALLOC_PRIV_H

#include <linux/cache.h>
#include <linux/fs.h>
#include <linux/hash.h>
#include <linux/irq_work.h>
#include <linux/kref.h>
#include <linux/ksalloc.h>
#include <linux/list.h>
#include <linux/math.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

/* The state of a frame, in the low bits of its table entry. */
#define KSALLOC_ENTRY_ALLOCATED	1UL	/* held by a kernel client... */
#define KSALLOC_ENTRY_USER	2UL	/* ...or, with this bit, by user space */
#define KSALLOC_ENTRY_FLAGS	(KSALLOC_ENTRY_ALLOCATED | KSALLOC_ENTRY_USER)

/* Most free frames a CPU keeps; half of that moves at a time. */
#define KSALLOC_CPU_FRAMES	64U
/* The state of a cache that is closed, or being drained: full, no headroom. */
#define KSALLOC_CPU_CLOSED	0xffffU

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

/**
 * struct ksalloc_mem - the memory of a page-backed pool
 * @ref: one for the pool, one per mapping (vma) of it.
 * @base: the frames, zeroed order-0 pages in vmalloc space.
 * @pages: the pages of @base, in order, for vm_map_pages().
 * @nr_pages: the number of @pages.
 *
 * Constant once made; the last reference frees it (ksalloc_mem_put()).
 */
struct ksalloc_mem {
	struct kref ref;
	void *base;
	struct page **pages;
	unsigned long nr_pages;
};

/**
 * struct ksalloc_cpu - a CPU's cache of free frames
 * @state: the number of frames in @entry in the low 16 bits, the cache's
 *	headroom, never more than that, in the high ones; or KSALLOC_CPU_CLOSED.
 * @kept: while it is closed for a scan, the frames it keeps (the allocator's
 *	lock protects it).
 * @total: frames this CPU's allocate_frame took.
 * @entry: the frames' table entries: a fast allocation needs no slot number.
 *
 * Only its CPU adds and takes frames, with interrupts disabled, changing
 * @state by cmpxchg; any CPU that holds the allocator's lock may close it
 * and take its frames or its headroom (see ksalloc_close_cpu()), and its CPU
 * may change it under that lock.
 */
struct ksalloc_cpu {
	u32 state;
	u32 kept;
	u64 total;
	unsigned long *entry[];
};

/**
 * struct ksalloc_table - the frames of an allocator by address
 * @size: number of entries in @entry.
 * @pad: keeps @entry off the cache line of @size, wherever the table starts:
 *	every free reads @size, and CPUs write the entries of their frames.
 * @entry: a frame address and KSALLOC_ENTRY_* bits, or 0. A frame's slot
 *	is the index of its entry.
 */
struct ksalloc_table {
	u32 size;
	unsigned long pad[SMP_CACHE_BYTES / sizeof(long) - 1];
	unsigned long entry[];
};

/**
 * struct ksalloc_pool - the frames of an allocator
 * @table: the frames by address; &ksalloc_empty.table until the framing is set.
 * @cpu: the per-CPU caches; &ksalloc_no_cache for a pool without.
 * @cpu_frames: the capacity of each of @cpu, 0 without caches.
 * @stride: in a page-backed pool, the bytes from a frame to the next.
 * @slab: the slab cache the frames come from; NULL for a page-backed pool.
 * @free: the shared stack of free frames' slots.
 * @slot_of_handle: by user-space handle less one, the frame's slot.
 * @handle_of_slot: by slot, the frame's user-space handle, 0 for no frame.
 * @mem: the memory of a page-backed pool; NULL for a slab-backed one.
 * @exports: in a page-backed pool, by user-space handle less one, the
 *	frame's live dma-buf exports (dmabuf.c); the allocator's lock
 *	protects the counts.
 *
 * Set up before it is published, constant while the allocator lives (but
 * for the counts of @exports).
 * Handles are 1 to the number of frames, dealt in random order when the
 * pool is made: they say nothing about addresses (see pool.c).
 */
struct ksalloc_pool {
	struct ksalloc_table *table;
	struct ksalloc_cpu __percpu *cpu;
	u32 cpu_frames;
	u32 stride;
	struct ksalloc_slab *slab;
	u32 *free;
	u32 *slot_of_handle;
	u32 *handle_of_slot;
	struct ksalloc_mem *mem;
	u32 *exports;
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
 * @releasing: the last reference is gone: no new request or event.
 * @caches_open: the per-CPU caches are in use (see ksalloc_update_caches()).
 * @poll_armed: a poll() waiter may have been told that no frame is free: the
 *	next free wakes @wait (see request.c).
 * @wake_queued: @wake_work is queued or running; no other may be queued.
 * @wake_again: frames became free while @wake_work ran: it runs again.
 * @misuse_logged: the KSALLOC_MISUSE_* kinds of @misuse already logged.
 * @framing: the framing.
 * @uid: the user the pool is charged to (see max_user_bytes).
 * @charged: the bytes charged.
 * @nr_free: number of entries on @pool.free.
 * @peak: the most frames ever allocated at once.
 * @room: headroom not in a cache (see frame.c).
 * @requests: pending requests, oldest first.
 * @done: requests granted or failed, waiting for @complete_work.
 * @event_fn: the free-frame event callback, or NULL.
 * @event_context: its argument.
 * @waiters: number of @requests.
 * @misuse: invalid kernel frees refused, and free frames found written.
 * @total: frames taken, but for those of the per-CPU caches.
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
	bool releasing;
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

/**
 * struct ksalloc_dma - a device attached to an allocator (dma.c)
 * @a: the allocator.
 * @addr_offset: (unsigned long)@addr - (unsigned long)@table->entry: a
 *	frame's address sits this far from its table entry, both arrays
 *	being by slot with elements of one size; the fast path of
 *	ksalloc_dma_allocate_frame() (frame.c) has the entry, and adds it.
 * @node: in dma.c's list of attachments.
 * @file: the allocator's file, held.
 * @dev: the device, held.
 * @dir: the direction every frame is mapped with.
 * @size: the bytes of each frame mapped: the frame size.
 * @table: the allocator's address table: a frame's slot indexes the arrays.
 * @addr: by slot, the frame's address for @dev if it is one range for it,
 *	else DMA_MAPPING_ERROR.
 * @sgt: by slot, the frame's mapped list, if the pool's frames are mapped
 *	as lists (page-backed, larger than a page); else NULL.
 *
 * Constant once made.
 */
struct ksalloc_dma {
	struct ksalloc *a;
	unsigned long addr_offset;
	struct list_head node;
	struct file *file;
	struct device *dev;
	enum dma_data_direction dir;
	u32 size;
	const struct ksalloc_table *table;
	dma_addr_t *addr;
	struct sg_table *sgt;
};

extern const struct file_operations ksalloc_fops;

static inline struct ksalloc *ksalloc_from_file(struct file *file)
{
	return file->f_op == &ksalloc_fops ? file->private_data : NULL;
}

static inline void *ksalloc_entry_frame(unsigned long entry)
{
	return (void *)(entry & ~KSALLOC_ENTRY_FLAGS);
}

/*
 * Hashes the low 32 bits of the address, which x86 multiplies by a 32-bit
 * constant in one instruction; frames that share them only probe further.
 */
static inline u32 ksalloc_hash(const struct ksalloc_table *t, const void *frame)
{
	return reciprocal_scale(hash_32((unsigned long)frame, 32), t->size);
}

/*
 * The user-space handle of the frame of @slot, also its name in trace
 * events; 0 for a slot below 0 (no frame: a refused allocation).
 */
static inline u32 ksalloc_slot_handle(const struct ksalloc_pool *pool,
				      long slot)
{
	return slot < 0 ? 0 : pool->handle_of_slot[slot];
}

/*
 * Poisoning (misuse.c): its callers compile it out unless
 * KSALLOC_POISON_FRAMES. Slab-backed pools only: page-backed ones may be
 * mapped, and user space reads their frames zeroed and writes them at will.
 */
void ksalloc_check_poison(struct ksalloc *a, void *frame);

static __always_inline bool ksalloc_poisons(const struct ksalloc_pool *pool)
{
	return KSALLOC_POISON_FRAMES && !READ_ONCE(pool->mem);
}

/* @frame was just taken: it must be as ksalloc_poison() left it. */
static __always_inline void ksalloc_check(struct ksalloc *a, void *frame)
{
	if (ksalloc_poisons(&a->pool))
		ksalloc_check_poison(a, frame);
}

static inline void ksalloc_kick(struct ksalloc *a, bool wake)
{
	if (wake)
		irq_work_queue(&a->wake_work);
}

/* quota.c */
int ksalloc_charge_user(kuid_t uid, unsigned long bytes);
void ksalloc_uncharge_user(kuid_t uid, unsigned long bytes);

/* slab.c */
struct ksalloc_slab *ksalloc_get_slab(u32 size, u32 align);
void ksalloc_put_slab(struct ksalloc_slab *slab);
void ksalloc_destroy_slabs(void);

/* pool.c */
void ksalloc_pool_init(struct ksalloc_pool *pool);
unsigned int ksalloc_pool_destroy(struct ksalloc_pool *pool);
long ksalloc_lookup(const struct ksalloc_table *t, const void *frame);
int ksalloc_set_framing(struct ksalloc *a,
			const struct ksalloc_framing *framing);
void ksalloc_mem_put(struct ksalloc_mem *mem);
u64 ksalloc_slot_offset(const struct ksalloc_pool *pool, long slot);
void ksalloc_read_status(struct ksalloc *a, struct ksalloc_status *status);

/*
 * For dev.c's and dmabuf.c's mmap: vm_flags_mod() came with 6.3 (see
 * Kbuild); on Debian's 6.1 the flags are written.
 */
static inline void ksalloc_vm_flags_mod(struct vm_area_struct *vma,
					vm_flags_t set, vm_flags_t clear)
{
#ifdef KSALLOC_HAVE_VM_FLAGS_MOD
	vm_flags_mod(vma, set, clear);
#else
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
#endif
}

/* frame.c */
u32 ksalloc_allocated(struct ksalloc *a);
bool ksalloc_update_caches(struct ksalloc *a);
bool ksalloc_gather(struct ksalloc *a);
u32 ksalloc_take_locked(struct ksalloc *a, unsigned long flags);

/* request.c */
void ksalloc_grant_locked(struct ksalloc *a, struct ksalloc_request *req,
			  void *frame, int error);
void ksalloc_settle_locked(struct ksalloc *a, bool *wake);
void ksalloc_refuse_locked(struct ksalloc *a, bool *wake);
long ksalloc_take_or_queue(struct ksalloc *a, unsigned long flags,
			   struct ksalloc_request *req);
bool ksalloc_dequeue(struct ksalloc *a, struct ksalloc_request *req);
void ksalloc_complete_work(struct work_struct *work);
void ksalloc_wake_work(struct irq_work *work);

/* misuse.c */
void ksalloc_misuse(struct ksalloc *a, void *frame);
void ksalloc_check_released(struct ksalloc *a);
void ksalloc_count_retained(unsigned int id, unsigned int retained);
#if !IS_ENABLED(CONFIG_KUNIT)
void ksalloc_get_totals(struct ksalloc_totals *totals);
#endif

/* dma.c */
unsigned int ksalloc_dma_max_segment(struct device *dev);

/* dmabuf.c */
struct ksalloc_export_frame;
#if IS_ENABLED(CONFIG_DMA_SHARED_BUFFER)
long ksalloc_ioctl_export_frame(struct file *file,
				struct ksalloc_export_frame __user *uarg);
#else
static inline long
ksalloc_ioctl_export_frame(struct file *file,
			   struct ksalloc_export_frame __user *uarg)
{
	return -EOPNOTSUPP;
}
#endif

/* debugfs.c */
#ifdef CONFIG_DEBUG_FS
void ksalloc_debugfs_init(void);
void ksalloc_debugfs_exit(void);
void ksalloc_debugfs_add(struct ksalloc *a);
void ksalloc_debugfs_remove(struct ksalloc *a);
#else
static inline void ksalloc_debugfs_init(void) {}
static inline void ksalloc_debugfs_exit(void) {}
static inline void ksalloc_debugfs_add(struct ksalloc *a) {}
static inline void ksalloc_debugfs_remove(struct ksalloc *a) {}
#endif

#endif /* _KSALLOC_PRIV_H */
