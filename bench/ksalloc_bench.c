// SPDX-License-Identifier: GPL-2.0
/*
 * ksalloc_bench - the cost of a frame from ksalloc, next to the kernel's
 * other object pools. A benchmark, not a test: it prints figures and judges
 * nothing. scripts/bench.sh builds it, boots it in QEMU and makes the table.
 *
 * Contenders (bench_contenders[]): ksalloc through its function table and
 * through its exported calls, kmem_cache, mempool, objpool, a free list
 * under a spinlock, and the floor: a bare per-CPU array, called directly and
 * through a function table (local patterns only); and ksalloc_pages,
 * ksalloc through its table on a page-backed pool (KSALLOC_OPTIONF_MAPPABLE:
 * frames of any size on whole pages, as mmap() and dma-buf need), where
 * ksalloc_table's pool is slab-backed; ksalloc_dma, ksalloc_table's pool
 * with a device attached (see "The device" below), a frame and its DMA
 * address taken by ksalloc_dma_allocate_frame() and freed through the table,
 * what a capture driver's completion interrupt does; and ksalloc_dma_direct,
 * the same freed by ksalloc_free_frame(), next to ksalloc_direct: the two
 * differ only in the address. All are behind the same
 * {alloc, free} pair, called through a function pointer. "empty" is a
 * contender whose alloc and free do nothing: the cost of the loop and of
 * those two calls, subtracted from the others.
 *
 * Patterns (bench_patterns[]): an allocate+free pair; bursts of 16, 64 and
 * 256 frames freed LIFO or in a fixed shuffled order; "cross": a producer in
 * hard IRQ context on one CPU allocates frames into a ring, a consumer on
 * another CPU frees them.
 *
 * Contexts: each timed call runs with interrupts disabled in a task, in a
 * softirq (a soft hrtimer) or in hard IRQ context (a hard hrtimer). For
 * "cross" that is the consumer's context; the producer's is always hard IRQ.
 *
 * Modes:
 * - icount: under QEMU's -icount shift=0,sleep=off the TSC advances by one
 *   per guest instruction, so get_cycles() differences count instructions
 *   exactly (ktime_get_ns() would, to the TSC calibration's 1 ppm). A figure
 *   is the fastest of @runs timed calls of @pairs pairs each, after one
 *   untimed warm-up call, minus the same for "empty", per pair. Interrupts
 *   that hit a softirq call lengthen it; the fastest call is one they missed.
 *   Local patterns run on the first CPU. "cross" alternates rounds between
 *   the two CPUs, each timed while the other one is idle; it needs 2 CPUs.
 * - wall: every online CPU runs the pattern at once on the shared pool for
 *   a window of @duration_ms, after one warm-up call each; a figure is the
 *   fastest of @runs windows. A window's rate is the sum over the CPUs of
 *   pairs per second of time inside the timed calls (the hrtimer round
 *   trips between calls are left out). With more than one CPU, each window
 *   of all CPUs follows one of the first CPU alone, reported as a figure
 *   with "solo=1": the scaling compares windows of the same guest taken
 *   turn about, so that the host's load changing between guests or over
 *   a run counts for little. "cross" runs its producer and
 *   consumer concurrently, each in one call as long as the window (timed
 *   by the TSC: x86 only), and counts frames freed per second of it.
 *
 * Extras (@extras): what each pool costs in memory (its frames' pages, and
 * the rest, per frame and fixed), and the cost of creating and releasing an
 * allocator of 1024 frames of 4 KiB next to 1024 kmem_cache_alloc()+free,
 * with and without creating and destroying the cache; and the memory of
 * pools of 16 frames of 256 B, 4 KiB, 614,424 B and 4 MiB, taken and left
 * after the release; and the cost of attaching a device to an allocator of
 * 1024 frames and detaching it, next to 1024 dma_map_single() and
 * dma_unmap_single() calls of buffers of the frame size on that device.
 *
 * The device: a platform device with a 64-bit DMA mask, as
 * mm/dmapool_test.c makes one, bound to no driver. On x86 without an IOMMU
 * (the bench guests) it maps through dma-direct, coherent: a mapping is an
 * address computed, and these figures are the cost of the DMA API's calls
 * and of ksalloc's bookkeeping around them.
 *
 * Output: one "result" line of key=value pairs per figure, "memory",
 * "framing", "create" and "attach" lines for the extras, and a closing
 * "done errors=N".
 *
 * Limits: one pool of each contender serves all the figures of that
 * contender. icount counts instructions, not cycles: cache misses, atomics
 * and contention cost nothing there. A ksalloc lookup's probes depend on the
 * frames' addresses, so its figures move with the memory layout: the same
 * binaries in the same guest repeat exactly, other ones may not. "wall"
 * figures are only as good as the host: under TCG each vCPU needs a host
 * CPU of its own, and a contended lock costs far more than on hardware
 * (each PAUSE leaves the translated code for QEMU's big lock).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/hrtimer.h>
#include <linux/ksalloc.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/math64.h>
#include <linux/mempool.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/module.h>
#include <linux/objpool.h>
#include <linux/platform_device.h>
#include <linux/prandom.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/spinlock.h>
#include <linux/timex.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>

#include <asm/tsc.h>

MODULE_IMPORT_NS(KSALLOC);

#define BENCH_MAX_BURST		256U
/* Frames in flight between the producer and the consumer of "cross". */
#define BENCH_RING_SIZE		256U
/* The memory extra also measures a pool this many times larger. */
#define BENCH_MEMORY_SCALE	16U
#define BENCH_CREATE_FRAMES	1024U
#define BENCH_CREATE_SIZE	4096U

#ifdef MODULE
static char *mode = "icount";
#else
/* Built in (CONFIG_KSALLOC_BENCH=y), it runs at boot only when told to. */
static char *mode = "off";
#endif
module_param(mode, charp, 0444);
MODULE_PARM_DESC(mode,
		 "icount: instructions per pair (boot under QEMU -icount shift=0,sleep=off); wall: Mops/s on all online CPUs; off: nothing (default when built in)");

static ulong contenders = ~0UL;
module_param(contenders, ulong, 0444);
MODULE_PARM_DESC(contenders,
		 "Mask: 0x2 ksalloc_table, 0x4 ksalloc_direct, 0x8 kmem_cache, 0x10 mempool, 0x20 objpool, 0x40 spinlock_list, 0x80 array_direct, 0x100 array_table, 0x200 ksalloc_pages, 0x400 ksalloc_dma, 0x800 ksalloc_dma_direct (0x1 empty always runs in icount mode)");

static ulong patterns = ~0UL;
module_param(patterns, ulong, 0444);
MODULE_PARM_DESC(patterns,
		 "Mask: 0x1 pair, 0x2/0x4 burst16 lifo/shuffled, 0x8/0x10 burst64, 0x20/0x40 burst256, 0x80 cross");

static ulong contexts = ~0UL;
module_param(contexts, ulong, 0444);
MODULE_PARM_DESC(contexts, "Mask: 0x1 irqsoff, 0x2 softirq, 0x4 hardirq");

static uint pairs = 4096;
module_param(pairs, uint, 0444);
MODULE_PARM_DESC(pairs, "Pairs per timed call, rounded up to a multiple of 256 (default 4096)");

static uint runs = 5;
module_param(runs, uint, 0444);
MODULE_PARM_DESC(runs, "Timed calls (icount) or windows (wall) per figure; the fastest counts (default 5)");

static uint duration_ms = 20;
module_param(duration_ms, uint, 0444);
MODULE_PARM_DESC(duration_ms, "wall: length of a window (default 20 ms)");

static uint frames = 1024;
module_param(frames, uint, 0444);
MODULE_PARM_DESC(frames, "Frames per pool (default 1024)");

static uint frame_size = 256;
module_param(frame_size, uint, 0444);
MODULE_PARM_DESC(frame_size, "Bytes per frame (default 256)");

static uint alignment;
module_param(alignment, uint, 0444);
MODULE_PARM_DESC(alignment, "Frame alignment mask 2^n - 1 (default 0)");

static bool extras;
module_param(extras, bool, 0444);
MODULE_PARM_DESC(extras, "Also measure memory, the cost of creating an allocator and of attaching a device");

/* mode=icount: get_cycles() counts instructions. */
static bool bench_icount;
static unsigned int bench_errors;
/* The device of the DMA figures (see "The device" at the top). */
static struct platform_device *bench_pdev;

/**
 * struct bench_array - a CPU's free frames, for the array_* contenders
 * @nr: frames in @frame.
 * @frame: the frames; room for the CPU's share of the pool's.
 */
struct bench_array {
	unsigned int nr;
	void *frame[];
};

struct bench_pool;

/**
 * struct bench_array_table - array_table's function table
 * @take: takes a frame.
 * @put: returns one.
 */
struct bench_array_table {
	int (*take)(struct bench_pool *pool, void **frame);
	void (*put)(struct bench_pool *pool, void *frame);
};

/**
 * struct bench_pool - the pool of one contender
 * @contender: the contender.
 * @frames: number of frames.
 * @file: ksalloc: the allocator.
 * @table: ksalloc: its function table.
 * @dma: ksalloc_dma*: bench_pdev attached to @file.
 * @dma_addr: ksalloc_dma*: the address of the frame last taken, where a
 *	driver would store it for its device (written, never read).
 * @cache: kmem_cache, mempool: the slab cache.
 * @mempool: mempool: the pool.
 * @objpool: objpool: the pool.
 * @lock: spinlock_list: protects @free_list.
 * @free_list: spinlock_list: the free frames, linked through their first bytes.
 * @mem: spinlock_list, array_*: the frames.
 * @array: array_*: each CPU's free frames.
 * @array_table: array_table: the function table its calls go through.
 */
struct bench_pool {
	const struct bench_contender *contender;
	unsigned int frames;
	struct file *file;
	struct ksalloc_functiontable table;
	struct ksalloc_dma *dma;
	dma_addr_t dma_addr;
	struct kmem_cache *cache;
	mempool_t *mempool;
	struct objpool_head objpool;
	spinlock_t lock;		/* protects @free_list */
	struct list_head free_list;
	void *mem;
	struct bench_array __percpu *array;
	struct bench_array_table array_table;
};

/**
 * struct bench_contender - a frame allocator under test
 * @name: its name in the results.
 * @pooled: alloc hands out the frames that @init preallocated, and fails
 *	when they are all out; the memory extra measures such pools.
 * @local: frames never move between CPUs: it has no figure for "cross".
 * @init: makes a pool of @pool->frames frames (optional).
 * @exit: frees it; every frame is back (optional).
 * @alloc: takes a frame; 0 or -errno. Any context.
 * @free: returns a frame. Any context.
 */
struct bench_contender {
	const char *name;
	bool pooled;
	bool local;
	int (*init)(struct bench_pool *pool);
	void (*exit)(struct bench_pool *pool);
	int (*alloc)(struct bench_pool *pool, void **frame);
	void (*free)(struct bench_pool *pool, void *frame);
};

enum bench_context {
	BENCH_IRQSOFF,
	BENCH_SOFTIRQ,
	BENCH_HARDIRQ,
	BENCH_NR_CONTEXTS
};

static const char * const bench_context_names[BENCH_NR_CONTEXTS] = {
	[BENCH_IRQSOFF] = "irqsoff",
	[BENCH_SOFTIRQ] = "softirq",
	[BENCH_HARDIRQ] = "hardirq",
};

/* Pinned: the callback runs on the CPU of the task that starts the timer. */
static const enum hrtimer_mode bench_timer_modes[BENCH_NR_CONTEXTS] = {
	[BENCH_SOFTIRQ] = HRTIMER_MODE_REL_PINNED_SOFT,
	[BENCH_HARDIRQ] = HRTIMER_MODE_REL_PINNED_HARD,
};

/**
 * struct bench_ring - the frames in flight of "cross"
 * @head: where the producer puts its next frame; written by it only.
 * @tail: where the consumer takes its next frame; written by it only.
 * @frame: the frames, at index modulo BENCH_RING_SIZE.
 */
struct bench_ring {
	unsigned int head ____cacheline_aligned_in_smp;
	unsigned int tail ____cacheline_aligned_in_smp;
	void *frame[BENCH_RING_SIZE] ____cacheline_aligned_in_smp;
};

/**
 * struct bench_sync - the start and the end of a wall-clock figure
 * @ready: workers still warming up.
 * @all_ready: completed when @ready reaches 0.
 * @go: the timed part starts.
 * @deadline: ktime_get_ns() at which the workers stop, set before @go.
 * @until: the TSC at about @deadline, for "cross" (see bench_cross_again()).
 */
struct bench_sync {
	atomic_t ready;
	struct completion all_ready;
	struct completion go;
	u64 deadline;
	u64 until;
};

/**
 * struct bench_job - the part of a figure that runs on one CPU
 * @pool: the pool.
 * @step: the pattern: does @quota pairs (cross: fills or empties the ring).
 * @order: bursts: the order in which the frames of a burst are freed.
 * @burst: bursts: frames held at once.
 * @quota: pairs per call.
 * @ctx: the context of each call.
 * @cpu: the CPU it runs on.
 * @ring: cross: the ring.
 * @sync: wall: start and end.
 * @until: wall, cross: a call keeps going until the TSC reaches this; 0:
 *	it makes one pass.
 * @ns: duration of the last call (icount: instructions).
 * @busy_ns: wall: total of @ns over the timed calls.
 * @done: pairs done (cross: frames moved) since it was last reset.
 * @err: the first error, or 0.
 * @exited: wall: completed when the worker thread exits.
 * @frame: bursts: the frames held.
 */
struct bench_job {
	struct bench_pool *pool;
	int (*step)(struct bench_job *job);
	const u16 *order;
	unsigned int burst;
	unsigned int quota;
	enum bench_context ctx;
	unsigned int cpu;
	struct bench_ring *ring;
	struct bench_sync *sync;
	u64 until;
	u64 ns;
	u64 busy_ns;
	u64 done;
	int err;
	struct completion exited;
	void *frame[BENCH_MAX_BURST];
};

/**
 * struct bench_pattern - how frames are taken and returned
 * @name: its name in the results.
 * @burst: frames held at once (cross: the ring's size).
 * @shuffled: a burst is freed in a shuffled order, not LIFO.
 * @cross: producer and consumer on two CPUs; @step is unused.
 * @step: the loop, one call's worth.
 */
struct bench_pattern {
	const char *name;
	unsigned int burst;
	bool shuffled;
	bool cross;
	int (*step)(struct bench_job *job);
};

/* ---- The contenders ---------------------------------------------------- */

static size_t bench_aligned_size(void)
{
	return ALIGN(frame_size, alignment + 1);
}

static int bench_empty_alloc(struct bench_pool *pool, void **frame)
{
	*frame = pool;
	return 0;
}

static void bench_empty_free(struct bench_pool *pool, void *frame)
{
}

/*
 * __fput_sync(), not fput(): the bench holds the only reference and wants
 * the release done now, to time it and count its memory. fput() from
 * insmod's task would put it off until insmod returns to user space.
 */
static void bench_ksalloc_exit(struct bench_pool *pool)
{
	__fput_sync(pool->file);
}

static int bench_ksalloc_make(struct bench_pool *pool, u32 options)
{
	struct ksalloc_framing framing = {
		.options = options,
		.pool_type = KSALLOC_POOL_ATOMIC,
		.frames = pool->frames,
		.frame_size = frame_size,
		.alignment = alignment,
	};
	int err;

	pool->file = ksalloc_create(&framing);
	if (IS_ERR(pool->file))
		return PTR_ERR(pool->file);
	err = ksalloc_get_functiontable(pool->file, &pool->table);
	if (err)
		bench_ksalloc_exit(pool);
	return err;
}

static int bench_ksalloc_init(struct bench_pool *pool)
{
	return bench_ksalloc_make(pool, 0);
}

/* Page-backed frames whatever their size: each takes whole pages. */
static int bench_ksalloc_pages_init(struct bench_pool *pool)
{
	return bench_ksalloc_make(pool, KSALLOC_OPTIONF_MAPPABLE);
}

static int bench_ksalloc_table_alloc(struct bench_pool *pool, void **frame)
{
	return pool->table.allocate_frame(pool->file, frame);
}

static void bench_ksalloc_table_free(struct bench_pool *pool, void *frame)
{
	pool->table.free_frame(pool->file, frame);
}

static int bench_ksalloc_direct_alloc(struct bench_pool *pool, void **frame)
{
	return ksalloc_allocate_frame(pool->file, frame);
}

static void bench_ksalloc_direct_free(struct bench_pool *pool, void *frame)
{
	ksalloc_free_frame(pool->file, frame);
}

/* ksalloc_table's pool, the bench's device attached to it. */
static int bench_ksalloc_dma_init(struct bench_pool *pool)
{
	int err = bench_ksalloc_init(pool);

	if (err)
		return err;
	pool->dma = ksalloc_dma_attach(pool->file, &bench_pdev->dev,
				       DMA_FROM_DEVICE);
	if (IS_ERR(pool->dma)) {
		err = PTR_ERR(pool->dma);
		bench_ksalloc_exit(pool);
	}
	return err;
}

/* The attachment's reference to the file goes first: the release is ours. */
static void bench_ksalloc_dma_exit(struct bench_pool *pool)
{
	ksalloc_dma_detach(pool->dma);
	bench_ksalloc_exit(pool);
}

static int bench_ksalloc_dma_alloc(struct bench_pool *pool, void **frame)
{
	return ksalloc_dma_allocate_frame(pool->dma, frame, &pool->dma_addr);
}

static int bench_cache_init(struct bench_pool *pool)
{
	pool->cache = kmem_cache_create("ksalloc_bench", frame_size,
					alignment + 1, 0, NULL);
	return pool->cache ? 0 : -ENOMEM;
}

static void bench_cache_exit(struct bench_pool *pool)
{
	kmem_cache_destroy(pool->cache);
}

static int bench_cache_alloc(struct bench_pool *pool, void **frame)
{
	*frame = kmem_cache_alloc(pool->cache, GFP_ATOMIC);
	return *frame ? 0 : -ENOMEM;
}

static void bench_cache_free(struct bench_pool *pool, void *frame)
{
	kmem_cache_free(pool->cache, frame);
}

/* A reserve of @frames elements, as a driver would keep for its frames. */
static int bench_mempool_init(struct bench_pool *pool)
{
	int err = bench_cache_init(pool);

	if (err)
		return err;
	pool->mempool = mempool_create_slab_pool(pool->frames, pool->cache);
	if (!pool->mempool) {
		bench_cache_exit(pool);
		return -ENOMEM;
	}
	return 0;
}

static void bench_mempool_exit(struct bench_pool *pool)
{
	mempool_destroy(pool->mempool);
	bench_cache_exit(pool);
}

static int bench_mempool_alloc(struct bench_pool *pool, void **frame)
{
	*frame = mempool_alloc(pool->mempool, GFP_ATOMIC);
	return *frame ? 0 : -ENOMEM;
}

static void bench_mempool_free(struct bench_pool *pool, void *frame)
{
	mempool_free(frame, pool->mempool);
}

static int bench_objpool_init(struct bench_pool *pool)
{
	return objpool_init(&pool->objpool, pool->frames, bench_aligned_size(),
			    GFP_KERNEL, NULL, NULL, NULL);
}

static void bench_objpool_exit(struct bench_pool *pool)
{
	objpool_fini(&pool->objpool);
}

static int bench_objpool_alloc(struct bench_pool *pool, void **frame)
{
	*frame = objpool_pop(&pool->objpool);
	return *frame ? 0 : -EAGAIN;
}

static void bench_objpool_free(struct bench_pool *pool, void *frame)
{
	objpool_push(frame, &pool->objpool);
}

static int bench_list_init(struct bench_pool *pool)
{
	size_t size = bench_aligned_size();
	unsigned int i;

	pool->mem = kvmalloc_array(pool->frames, size, GFP_KERNEL);
	if (!pool->mem)
		return -ENOMEM;
	spin_lock_init(&pool->lock);
	INIT_LIST_HEAD(&pool->free_list);
	for (i = 0; i < pool->frames; i++)
		list_add_tail(pool->mem + i * size, &pool->free_list);
	return 0;
}

static void bench_list_exit(struct bench_pool *pool)
{
	kvfree(pool->mem);
}

static int bench_list_alloc(struct bench_pool *pool, void **frame)
{
	unsigned long flags;
	int err = 0;

	spin_lock_irqsave(&pool->lock, flags);
	if (list_empty(&pool->free_list)) {
		*frame = NULL;
		err = -EAGAIN;
	} else {
		*frame = pool->free_list.next;
		list_del(*frame);
	}
	spin_unlock_irqrestore(&pool->lock, flags);
	return err;
}

static void bench_list_free(struct bench_pool *pool, void *frame)
{
	unsigned long flags;

	spin_lock_irqsave(&pool->lock, flags);
	list_add(frame, &pool->free_list);
	spin_unlock_irqrestore(&pool->lock, flags);
}

/*
 * The floor of the table: a bare per-CPU array under
 * local_irq_save(), with no checks, no counters and no way for a frame to
 * reach another CPU. Each possible CPU holds an equal share of the frames:
 * the local patterns return a frame to the CPU that took it, and a share
 * smaller than a burst makes that burst fail. Its calls are out of
 * line, as exported ones are, and called directly (array_direct) or through
 * a function table (array_table), as ksalloc's are.
 */
static noinline int bench_array_take(struct bench_pool *pool, void **frame)
{
	struct bench_array *c;
	unsigned long flags;
	int err = 0;

	local_irq_save(flags);
	c = this_cpu_ptr(pool->array);
	if (likely(c->nr)) {
		*frame = c->frame[--c->nr];
	} else {
		*frame = NULL;
		err = -EAGAIN;
	}
	local_irq_restore(flags);
	return err;
}

static noinline void bench_array_put(struct bench_pool *pool, void *frame)
{
	struct bench_array *c;
	unsigned long flags;

	local_irq_save(flags);
	c = this_cpu_ptr(pool->array);
	c->frame[c->nr++] = frame;
	local_irq_restore(flags);
}

static int bench_array_init(struct bench_pool *pool)
{
	size_t size = bench_aligned_size();
	unsigned int share = pool->frames / num_possible_cpus();
	unsigned int i = 0;
	int cpu;

	pool->mem = kvmalloc_array(pool->frames, size, GFP_KERNEL);
	pool->array = __alloc_percpu(struct_size_t(struct bench_array, frame,
						   share),
				     __alignof__(struct bench_array));
	if (!pool->mem || !pool->array || !share) {
		free_percpu(pool->array);
		kvfree(pool->mem);
		return share ? -ENOMEM : -EINVAL;
	}
	for_each_possible_cpu(cpu) {
		struct bench_array *c = per_cpu_ptr(pool->array, cpu);

		while (c->nr < share)
			c->frame[c->nr++] = pool->mem + i++ * size;
	}
	pool->array_table = (struct bench_array_table){
		.take = bench_array_take,
		.put = bench_array_put,
	};
	return 0;
}

static void bench_array_exit(struct bench_pool *pool)
{
	free_percpu(pool->array);
	kvfree(pool->mem);
}

static int bench_array_direct_alloc(struct bench_pool *pool, void **frame)
{
	return bench_array_take(pool, frame);
}

static void bench_array_direct_free(struct bench_pool *pool, void *frame)
{
	bench_array_put(pool, frame);
}

static int bench_array_table_alloc(struct bench_pool *pool, void **frame)
{
	return pool->array_table.take(pool, frame);
}

static void bench_array_table_free(struct bench_pool *pool, void *frame)
{
	pool->array_table.put(pool, frame);
}

/* Bit n of the contenders parameter selects entry n. "empty" comes first. */
static const struct bench_contender bench_contenders[] = {
	{
		.name = "empty",
		.alloc = bench_empty_alloc,
		.free = bench_empty_free,
	}, {
		.name = "ksalloc_table",
		.pooled = true,
		.init = bench_ksalloc_init,
		.exit = bench_ksalloc_exit,
		.alloc = bench_ksalloc_table_alloc,
		.free = bench_ksalloc_table_free,
	}, {
		.name = "ksalloc_direct",
		.init = bench_ksalloc_init,
		.exit = bench_ksalloc_exit,
		.alloc = bench_ksalloc_direct_alloc,
		.free = bench_ksalloc_direct_free,
	}, {
		.name = "kmem_cache",
		.init = bench_cache_init,
		.exit = bench_cache_exit,
		.alloc = bench_cache_alloc,
		.free = bench_cache_free,
	}, {
		.name = "mempool",
		.init = bench_mempool_init,
		.exit = bench_mempool_exit,
		.alloc = bench_mempool_alloc,
		.free = bench_mempool_free,
	}, {
		.name = "objpool",
		.pooled = true,
		.init = bench_objpool_init,
		.exit = bench_objpool_exit,
		.alloc = bench_objpool_alloc,
		.free = bench_objpool_free,
	}, {
		.name = "spinlock_list",
		.pooled = true,
		.init = bench_list_init,
		.exit = bench_list_exit,
		.alloc = bench_list_alloc,
		.free = bench_list_free,
	}, {
		.name = "array_direct",
		.local = true,
		.init = bench_array_init,
		.exit = bench_array_exit,
		.alloc = bench_array_direct_alloc,
		.free = bench_array_direct_free,
	}, {
		.name = "array_table",
		.local = true,
		.init = bench_array_init,
		.exit = bench_array_exit,
		.alloc = bench_array_table_alloc,
		.free = bench_array_table_free,
	}, {
		/*
		 * ksalloc_table on a page-backed pool. Not "pooled": its
		 * memory is that of the framings of page-backed frames.
		 */
		.name = "ksalloc_pages",
		.init = bench_ksalloc_pages_init,
		.exit = bench_ksalloc_exit,
		.alloc = bench_ksalloc_table_alloc,
		.free = bench_ksalloc_table_free,
	}, {
		/*
		 * ksalloc_dma_allocate_frame() has no entry in the function
		 * table: a driver calls it directly, and frees through the
		 * table as it would any frame.
		 */
		.name = "ksalloc_dma",
		.init = bench_ksalloc_dma_init,
		.exit = bench_ksalloc_dma_exit,
		.alloc = bench_ksalloc_dma_alloc,
		.free = bench_ksalloc_table_free,
	}, {
		/* ksalloc_direct with the address: the cost of it alone. */
		.name = "ksalloc_dma_direct",
		.init = bench_ksalloc_dma_init,
		.exit = bench_ksalloc_dma_exit,
		.alloc = bench_ksalloc_dma_alloc,
		.free = bench_ksalloc_direct_free,
	},
};

static int bench_pool_init(struct bench_pool *pool,
			   const struct bench_contender *c,
			   unsigned int nr_frames)
{
	*pool = (struct bench_pool){ .contender = c, .frames = nr_frames };
	return c->init ? c->init(pool) : 0;
}

static void bench_pool_exit(struct bench_pool *pool)
{
	if (pool->contender->exit)
		pool->contender->exit(pool);
}

/* ---- The patterns ------------------------------------------------------ */

/*
 * The loops keep alloc and free in locals: the calls they make could change
 * the contender as far as the compiler knows, and reloading them would cost
 * instructions that are not the allocator's.
 */
static int bench_pair(struct bench_job *job)
{
	int (*alloc)(struct bench_pool *, void **) = job->pool->contender->alloc;
	void (*free)(struct bench_pool *, void *) = job->pool->contender->free;
	struct bench_pool *pool = job->pool;
	unsigned int i;
	void *frame;
	int err;

	for (i = 0; i < job->quota; i++) {
		err = alloc(pool, &frame);
		if (err)
			return err;
		free(pool, frame);
	}
	job->done += job->quota;
	return 0;
}

/* LIFO and shuffled bursts run the same code: only @job->order differs. */
static int bench_burst(struct bench_job *job)
{
	int (*alloc)(struct bench_pool *, void **) = job->pool->contender->alloc;
	void (*free)(struct bench_pool *, void *) = job->pool->contender->free;
	struct bench_pool *pool = job->pool;
	unsigned int n, i;
	int err;

	for (n = 0; n < job->quota; n += job->burst) {
		for (i = 0; i < job->burst; i++) {
			err = alloc(pool, &job->frame[i]);
			if (err)
				goto err_free;
		}
		for (i = 0; i < job->burst; i++)
			free(pool, job->frame[job->order[i]]);
	}
	job->done += job->quota;
	return 0;

err_free:
	while (i--)
		free(pool, job->frame[i]);
	return err;
}

/*
 * wall: a call of "cross" on either side runs the whole window, so that the
 * producer and the consumer overlap but for the start; in icount mode, and
 * to warm up, it makes one pass. It spins on the TSC without cpu_relax():
 * under TCG both ktime_get_ns() (the guests' clocksource is the HPET) and
 * PAUSE take QEMU's big lock, and two vCPUs doing that in a loop starve
 * each other for milliseconds.
 */
static bool bench_cross_again(const struct bench_job *job)
{
	return job->until && get_cycles() < job->until;
}

/* cross, producer side: fills the ring, as often as the consumer empties it. */
static int bench_cross_produce(struct bench_job *job)
{
	int (*alloc)(struct bench_pool *, void **) = job->pool->contender->alloc;
	struct bench_ring *ring = job->ring;
	unsigned int head = ring->head;
	unsigned int start = head;
	unsigned int tail;
	int err = 0;

	do {
		/* Pairs with the release in bench_cross_consume(): free slots. */
		tail = smp_load_acquire(&ring->tail);
		while (head - tail < BENCH_RING_SIZE) {
			err = alloc(job->pool,
				    &ring->frame[head % BENCH_RING_SIZE]);
			if (err)
				break;
			head++;
		}
		/* Pairs with the acquire in bench_cross_consume(): frames in. */
		smp_store_release(&ring->head, head);
	} while (!err && bench_cross_again(job));
	job->done += head - start;
	return err;
}

/* cross, consumer side: empties the ring. Also drains it at the end. */
static int bench_cross_consume(struct bench_job *job)
{
	void (*free)(struct bench_pool *, void *) = job->pool->contender->free;
	struct bench_ring *ring = job->ring;
	unsigned int tail = ring->tail;
	unsigned int start = tail;
	unsigned int head;

	do {
		/* Pairs with the release in bench_cross_produce(). */
		head = smp_load_acquire(&ring->head);
		for (; tail != head; tail++)
			free(job->pool, ring->frame[tail % BENCH_RING_SIZE]);
		/* Pairs with the acquire in bench_cross_produce(): reuse them. */
		smp_store_release(&ring->tail, tail);
	} while (bench_cross_again(job));
	job->done += tail - start;
	return 0;
}

/* Bit n of the patterns parameter selects entry n. */
static const struct bench_pattern bench_patterns[] = {
	{ "pair", 1, false, false, bench_pair },
	{ "burst16-lifo", 16, false, false, bench_burst },
	{ "burst16-shuffled", 16, true, false, bench_burst },
	{ "burst64-lifo", 64, false, false, bench_burst },
	{ "burst64-shuffled", 64, true, false, bench_burst },
	{ "burst256-lifo", 256, false, false, bench_burst },
	{ "burst256-shuffled", 256, true, false, bench_burst },
	{ "cross", BENCH_RING_SIZE, false, true, NULL },
};

#define BENCH_NR_PATTERNS ARRAY_SIZE(bench_patterns)

/* The order in which each pattern frees a burst; the same in every run. */
static u16 bench_order[BENCH_NR_PATTERNS][BENCH_MAX_BURST];

/* icount: the empty loop's instructions, by pattern and context. */
static u64 bench_empty_ns[BENCH_NR_PATTERNS][BENCH_NR_CONTEXTS];

static void bench_make_orders(void)
{
	struct rnd_state rnd;
	unsigned int p, i, j, burst;
	u16 *order;

	prandom_seed_state(&rnd, 5);
	for (p = 0; p < BENCH_NR_PATTERNS; p++) {
		order = bench_order[p];
		burst = bench_patterns[p].burst;
		for (i = 0; i < burst; i++)
			order[i] = burst - 1 - i;
		if (!bench_patterns[p].shuffled)
			continue;
		for (i = burst - 1; i > 0; i--) {
			j = prandom_u32_state(&rnd) % (i + 1);
			swap(order[i], order[j]);
		}
	}
}

/* ---- Running in a context ---------------------------------------------- */

static u64 bench_clock(void)
{
	return bench_icount ? get_cycles() : ktime_get_ns();
}

/* One call of the job's step, timed; in the job's context already. */
static void bench_job_step(struct bench_job *job)
{
	u64 start = bench_clock();
	int err;

	err = job->step(job);

	job->ns = bench_clock() - start;
	if (err && !job->err)
		job->err = err;
}

struct bench_timer {
	struct hrtimer timer;
	struct bench_job *job;
	struct completion done;
};

static enum hrtimer_restart bench_timer_fn(struct hrtimer *timer)
{
	struct bench_timer *t = container_of(timer, struct bench_timer, timer);

	bench_job_step(t->job);
	complete(&t->done);
	return HRTIMER_NORESTART;
}

/*
 * Runs one timed call of the job's step in its context, on this CPU, which
 * must be the job's: the caller is a task bound to it.
 */
static int bench_job_call(struct bench_job *job)
{
	enum hrtimer_mode timer_mode = bench_timer_modes[job->ctx];
	struct bench_timer t = { .job = job };
	unsigned long flags;

	if (job->ctx == BENCH_IRQSOFF) {
		local_irq_save(flags);
		bench_job_step(job);
		local_irq_restore(flags);
		return job->err;
	}
	init_completion(&t.done);
	hrtimer_init_on_stack(&t.timer, CLOCK_MONOTONIC, timer_mode);
	t.timer.function = bench_timer_fn;
	hrtimer_start(&t.timer, 0, timer_mode);
	wait_for_completion(&t.done);
	/* The callback may still be on its way out of complete(). */
	hrtimer_cancel(&t.timer);
	destroy_hrtimer_on_stack(&t.timer);
	return job->err;
}

static long bench_job_call_fn(void *job)
{
	return bench_job_call(job);
}

/* For work_on_cpu(): a warm-up call, then the fastest of @runs calls. */
static long bench_fastest_fn(void *arg)
{
	struct bench_job *job = arg;
	u64 best = U64_MAX;
	unsigned int i;

	for (i = 0; i <= runs; i++) {
		if (bench_job_call(job))
			return job->err;
		if (i)
			best = min(best, job->ns);
	}
	job->ns = best;
	return 0;
}

/* A kthread of a wall-clock figure: calls the step until the deadline. */
static int bench_wall_worker(void *arg)
{
	struct bench_job *job = arg;
	struct bench_sync *sync = job->sync;

	job->until = 0;
	bench_job_call(job);
	job->done = 0;
	if (atomic_dec_and_test(&sync->ready))
		complete(&sync->all_ready);
	wait_for_completion(&sync->go);
	job->until = sync->until;

	while (!job->err && ktime_get_ns() < sync->deadline) {
		bench_job_call(job);
		job->busy_ns += job->ns;
		cond_resched();
	}
	kthread_complete_and_exit(&job->exited, 0);
}

/*
 * Runs @n jobs at once, each on its CPU, for duration_ms after their
 * warm-up. Returns the wall time of the timed part, in ns.
 */
static u64 bench_wall_run(struct bench_job *jobs, unsigned int n)
{
	struct bench_sync sync;
	struct task_struct *task;
	unsigned int i, started;
	u64 start;

	atomic_set(&sync.ready, n);
	init_completion(&sync.all_ready);
	init_completion(&sync.go);
	for (started = 0; started < n; started++) {
		jobs[started].sync = &sync;
		init_completion(&jobs[started].exited);
		task = kthread_run_on_cpu(bench_wall_worker, &jobs[started],
					  jobs[started].cpu, "ksalloc_bench/%u");
		if (IS_ERR(task)) {
			jobs[started].err = PTR_ERR(task);
			break;
		}
	}
	if (started < n && atomic_sub_and_test(n - started, &sync.ready))
		complete(&sync.all_ready);
	wait_for_completion(&sync.all_ready);

	start = ktime_get_ns();
	sync.deadline = started < n ? 0 : start + duration_ms * NSEC_PER_MSEC;
	sync.until = started < n ? 0 : get_cycles() + (u64)tsc_khz * duration_ms;
	complete_all(&sync.go);
	for (i = 0; i < started; i++)
		wait_for_completion(&jobs[i].exited);
	return ktime_get_ns() - start;
}

/**
 * struct bench_window - a wall-clock window of a figure
 * @pairs: pairs done (cross: frames freed).
 * @ns: its wall time.
 * @mops_x1000: its rate: for local patterns the sum over the CPUs of pairs
 *	per time inside their timed calls; for cross, @pairs per @ns.
 */
struct bench_window {
	u64 pairs;
	u64 ns;
	u64 mops_x1000;
};

/* wall: one window of @n jobs, after their warm-up; kept if the fastest. */
static int bench_wall_window(struct bench_job *jobs, unsigned int n,
			     bool cross, struct bench_window *best)
{
	struct bench_window w;
	unsigned int i;

	for (i = 0; i < n; i++)
		jobs[i].busy_ns = 0;
	w = (struct bench_window){ .ns = bench_wall_run(jobs, n) };
	for (i = 0; i < n; i++) {
		if (jobs[i].err)
			return jobs[i].err;
		if (cross || !jobs[i].busy_ns)
			continue;
		w.pairs += jobs[i].done;
		w.mops_x1000 += div64_u64(jobs[i].done * 1000000,
					  jobs[i].busy_ns);
	}
	if (cross) {
		/* jobs[1] is the consumer. */
		w.pairs = jobs[1].done;
		w.mops_x1000 = div64_u64(w.pairs * 1000000, w.ns);
	}
	if (w.mops_x1000 >= best->mops_x1000)
		*best = w;
	return 0;
}

/*
 * wall: @runs windows of @n jobs, the fastest in @best; with @solo, each
 * after a window of the first job alone, the fastest of those in @solo.
 */
static int bench_wall_best(struct bench_job *jobs, unsigned int n, bool cross,
			   struct bench_window *best, struct bench_window *solo)
{
	unsigned int run;
	int err;

	*best = (struct bench_window){};
	if (solo)
		*solo = (struct bench_window){};
	for (run = 0; run < runs; run++) {
		err = solo ? bench_wall_window(jobs, 1, false, solo) : 0;
		if (!err)
			err = bench_wall_window(jobs, n, cross, best);
		if (err)
			return err;
	}
	return 0;
}

/* ---- Figures ----------------------------------------------------------- */

static void bench_job_init(struct bench_job *job, struct bench_pool *pool,
			   unsigned int p, enum bench_context ctx,
			   unsigned int cpu)
{
	*job = (struct bench_job){
		.pool = pool,
		.step = bench_patterns[p].step,
		.order = bench_order[p],
		.burst = bench_patterns[p].burst,
		.quota = pairs,
		.ctx = ctx,
		.cpu = cpu,
	};
}

/* @value / @div, with two decimals. */
static void bench_fixed2(char *buf, size_t len, s64 value, u64 div)
{
	s64 x100 = div64_s64(value * 100, div);

	snprintf(buf, len, "%s%lld.%02lld", x100 < 0 ? "-" : "",
		 abs(x100) / 100, abs(x100) % 100);
}

static void bench_report_error(const struct bench_pool *pool, unsigned int p,
			       enum bench_context ctx, int err)
{
	bench_errors++;
	pr_err("error mode=%s name=%s pattern=%s context=%s err=%d\n", mode,
	       pool->contender->name, bench_patterns[p].name,
	       bench_context_names[ctx], err);
}

/* @ns: the fastest run of @nr_pairs pairs. The empty loop's is subtracted. */
static void bench_report_icount(const struct bench_pool *pool, unsigned int p,
				enum bench_context ctx, unsigned int cpus,
				u64 nr_pairs, u64 ns)
{
	u64 empty = bench_empty_ns[p][ctx];
	char per_pair[24];

	if (pool->contender == &bench_contenders[0]) {
		bench_empty_ns[p][ctx] = ns;
		empty = 0;
	}
	bench_fixed2(per_pair, sizeof(per_pair), (s64)(ns - empty), nr_pairs);
	pr_info("result mode=icount cpus=%u name=%s pattern=%s context=%s pairs=%llu ns=%llu empty_ns=%llu instr_per_pair=%s\n",
		cpus, pool->contender->name, bench_patterns[p].name,
		bench_context_names[ctx], nr_pairs, ns, empty, per_pair);
}

static void bench_report_wall(const struct bench_pool *pool, unsigned int p,
			      enum bench_context ctx, unsigned int cpus,
			      bool solo, const struct bench_window *best)
{
	pr_info("result mode=wall cpus=%u solo=%d name=%s pattern=%s context=%s pairs=%llu ns=%llu mops=%llu.%03llu\n",
		cpus, solo, pool->contender->name, bench_patterns[p].name,
		bench_context_names[ctx], best->pairs, best->ns,
		best->mops_x1000 / 1000, best->mops_x1000 % 1000);
}

static void bench_local(struct bench_pool *pool, unsigned int p,
			enum bench_context ctx)
{
	unsigned int n = bench_icount ? 1 : num_online_cpus();
	struct bench_window best, solo;
	unsigned int i = 0, cpu;
	struct bench_job *jobs;
	int err = 0;

	jobs = kcalloc(n, sizeof(*jobs), GFP_KERNEL);
	if (!jobs) {
		bench_report_error(pool, p, ctx, -ENOMEM);
		return;
	}
	for_each_online_cpu(cpu) {
		if (i == n)
			break;
		bench_job_init(&jobs[i++], pool, p, ctx, cpu);
	}

	if (bench_icount) {
		err = work_on_cpu(jobs[0].cpu, bench_fastest_fn, &jobs[0]);
		if (err)
			bench_report_error(pool, p, ctx, err);
		else
			bench_report_icount(pool, p, ctx, n, pairs, jobs[0].ns);
		goto out;
	}

	err = bench_wall_best(jobs, n, false, &best, n > 1 ? &solo : NULL);
	if (err) {
		bench_report_error(pool, p, ctx, err);
		goto out;
	}
	if (n > 1)
		bench_report_wall(pool, p, ctx, n, true, &solo);
	bench_report_wall(pool, p, ctx, n, false, &best);
out:
	kfree(jobs);
}

/*
 * icount: a round is the producer filling the ring, then the consumer
 * emptying it; work_on_cpu() waits, so one CPU is idle while the other is
 * timed. Returns the instructions of the fastest run of @pairs frames.
 */
static int bench_cross_icount(struct bench_job *prod, struct bench_job *cons,
			      u64 *best)
{
	unsigned int rounds = pairs / BENCH_RING_SIZE, run, r;
	long err;
	u64 ns;

	*best = U64_MAX;
	for (run = 0; run <= runs; run++) {
		ns = 0;
		for (r = 0; r < (run ? rounds : 1); r++) {
			err = work_on_cpu(prod->cpu, bench_job_call_fn, prod) ?:
			      work_on_cpu(cons->cpu, bench_job_call_fn, cons);
			if (err)
				return err;
			ns += prod->ns + cons->ns;
		}
		if (run)
			*best = min(*best, ns);
	}
	return 0;
}

static void bench_cross(struct bench_pool *pool, unsigned int p,
			enum bench_context ctx)
{
	unsigned int first = cpumask_first(cpu_online_mask);
	struct bench_job *jobs, *prod, *cons;
	struct bench_window best;
	struct bench_ring *ring;
	u64 ns;
	int err;

	if (num_online_cpus() < 2) {
		pr_info("skip mode=%s name=%s pattern=%s context=%s: needs 2 CPUs\n",
			mode, pool->contender->name, bench_patterns[p].name,
			bench_context_names[ctx]);
		return;
	}
	jobs = kcalloc(2, sizeof(*jobs), GFP_KERNEL);
	ring = kzalloc(sizeof(*ring), GFP_KERNEL);
	if (!jobs || !ring) {
		bench_report_error(pool, p, ctx, -ENOMEM);
		goto out;
	}
	prod = &jobs[0];
	cons = &jobs[1];
	bench_job_init(prod, pool, p, BENCH_HARDIRQ, first);
	bench_job_init(cons, pool, p, ctx, cpumask_next(first, cpu_online_mask));
	prod->step = bench_cross_produce;
	cons->step = bench_cross_consume;
	prod->ring = ring;
	cons->ring = ring;

	if (bench_icount) {
		err = bench_cross_icount(prod, cons, &ns);
		if (!err)
			bench_report_icount(pool, p, ctx, 2, pairs, ns);
	} else {
		err = bench_wall_best(jobs, 2, true, &best, NULL);
		if (!err)
			bench_report_wall(pool, p, ctx, 2, false, &best);
	}
	if (err)
		bench_report_error(pool, p, ctx, err);
	/* Frames the consumer did not get to. */
	cons->until = 0;
	bench_cross_consume(cons);
out:
	kfree(ring);
	kfree(jobs);
}

static void bench_run_contender(const struct bench_contender *c)
{
	struct bench_pool pool;
	enum bench_context ctx;
	unsigned int p;
	int err;

	err = bench_pool_init(&pool, c, frames);
	if (err) {
		bench_errors++;
		pr_err("error mode=%s name=%s: init failed: %d\n", mode, c->name,
		       err);
		return;
	}
	for (p = 0; p < BENCH_NR_PATTERNS; p++) {
		if (!(patterns & BIT(p)))
			continue;
		for (ctx = 0; ctx < BENCH_NR_CONTEXTS; ctx++) {
			if (!(contexts & BIT(ctx)))
				continue;
			if (!bench_patterns[p].cross)
				bench_local(&pool, p, ctx);
			else if (!c->local)
				bench_cross(&pool, p, ctx);
		}
	}
	bench_pool_exit(&pool);
}

/* ---- Extras: memory ---------------------------------------------------- */

/*
 * Pages taken from the page allocator: neither free nor on a per-CPU free
 * list. The per-CPU counter deltas not yet folded are added in, so this is
 * exact to the page on a quiet machine, whatever kind of memory a pool uses
 * (slab, large kmalloc, vmalloc, per-CPU).
 */
static long bench_used_pages(void)
{
	struct per_cpu_zonestat *stats;
	struct per_cpu_pages *pcp;
	unsigned long flags;
	struct zone *zone;
	long used = 0;
	int nid, cpu;

	local_irq_save(flags);
	for_each_online_node(nid) {
		struct zone *zones = NODE_DATA(nid)->node_zones;

		for (zone = zones; zone < zones + MAX_NR_ZONES; zone++) {
			if (!populated_zone(zone))
				continue;
			used += zone_managed_pages(zone) -
				atomic_long_read(&zone->vm_stat[NR_FREE_PAGES]);
			for_each_online_cpu(cpu) {
				stats = per_cpu_ptr(zone->per_cpu_zonestats, cpu);
				pcp = per_cpu_ptr(zone->per_cpu_pageset, cpu);
				used -= stats->vm_stat_diff[NR_FREE_PAGES];
				used -= READ_ONCE(pcp->count);
			}
		}
	}
	local_irq_restore(flags);
	return used;
}

struct bench_extent {
	unsigned long pfn;
	unsigned long nr;
};

static int bench_extent_cmp(const void *a, const void *b)
{
	const struct bench_extent *x = a, *y = b;

	return x->pfn < y->pfn ? -1 : x->pfn > y->pfn;
}

/*
 * Bytes of the pages that hold @n frames: the whole slab (or large kmalloc)
 * of a frame from the direct map, each page of a vmalloc'ed frame. @ext has
 * room for n * (DIV_ROUND_UP(size, PAGE_SIZE) + 1) extents.
 */
static u64 bench_frame_bytes(void **frame, unsigned int n, size_t size,
			     struct bench_extent *ext)
{
	unsigned int i, nr = 0;
	unsigned long addr;
	u64 bytes = 0;

	for (i = 0; i < n; i++) {
		if (is_vmalloc_addr(frame[i])) {
			addr = (unsigned long)frame[i] & PAGE_MASK;
			for (; addr < (unsigned long)frame[i] + size; addr += PAGE_SIZE)
				ext[nr++] = (struct bench_extent){
					vmalloc_to_pfn((void *)addr), 1 };
		} else {
			struct folio *folio = virt_to_folio(frame[i]);

			ext[nr++] = (struct bench_extent){
				folio_pfn(folio), folio_nr_pages(folio) };
		}
	}
	sort(ext, nr, sizeof(*ext), bench_extent_cmp, NULL);
	for (i = 0; i < nr; i++)
		if (!i || ext[i].pfn != ext[i - 1].pfn)
			bytes += (u64)ext[i].nr * PAGE_SIZE;
	return bytes;
}

/*
 * Makes a pool of @n frames, takes all its frames and gives them back.
 * @used: set to the bytes the pool took; @pool_bytes: those of its frames.
 */
static int bench_memory_of(const struct bench_contender *c, unsigned int n,
			   long *used, u64 *pool_bytes)
{
	size_t per_frame = DIV_ROUND_UP(bench_aligned_size(), PAGE_SIZE) + 1;
	struct bench_extent *ext;
	struct bench_pool pool;
	unsigned int i = 0;
	void **frame;
	long before;
	int err;

	frame = kvcalloc(n, sizeof(*frame), GFP_KERNEL);
	ext = kvcalloc(n, per_frame * sizeof(*ext), GFP_KERNEL);
	if (!frame || !ext) {
		err = -ENOMEM;
		goto out;
	}
	before = bench_used_pages();
	err = bench_pool_init(&pool, c, n);
	if (err)
		goto out;
	*used = (bench_used_pages() - before) * PAGE_SIZE;

	for (i = 0; i < n; i++) {
		err = c->alloc(&pool, &frame[i]);
		if (err)
			break;
	}
	if (!err)
		*pool_bytes = bench_frame_bytes(frame, n, bench_aligned_size(),
						ext);
	while (i--)
		c->free(&pool, frame[i]);
	bench_pool_exit(&pool);
out:
	kvfree(ext);
	kvfree(frame);
	return err;
}

/*
 * The memory of a pool: its frames' pages against frames x aligned size,
 * and the rest (metadata) as bytes per frame plus a fixed part, from pools
 * of @frames and of BENCH_MEMORY_SCALE times as many frames.
 */
static void bench_memory(const struct bench_contender *c)
{
	unsigned int n[2] = { frames, frames * BENCH_MEMORY_SCALE };
	long used[2], meta[2];
	u64 pool_bytes[2];
	char per_frame[24];
	s64 fixed;
	int i, err;

	for (i = 0; i < 2; i++) {
		err = bench_memory_of(c, n[i], &used[i], &pool_bytes[i]);
		if (err) {
			bench_errors++;
			pr_err("error name=%s memory of %u frames: %d\n",
			       c->name, n[i], err);
			return;
		}
		meta[i] = used[i] - pool_bytes[i];
		pr_info("memory name=%s frames=%u frame_size=%u aligned_size=%zu used_bytes=%ld pool_bytes=%llu ideal_bytes=%llu\n",
			c->name, n[i], frame_size, bench_aligned_size(),
			used[i], pool_bytes[i],
			(u64)n[i] * bench_aligned_size());
	}
	bench_fixed2(per_frame, sizeof(per_frame), meta[1] - meta[0],
		     n[1] - n[0]);
	fixed = meta[0] - div64_s64((s64)(meta[1] - meta[0]) * n[0],
				    n[1] - n[0]);
	pr_info("metadata name=%s bytes_per_frame=%s fixed_bytes=%lld\n",
		c->name, per_frame, fixed);
}

/*
 * The memory of the framings, 16 frames each: what the pool took
 * from the page allocator (the kernel's free-page counters, metadata
 * included), the pages that hold its frames, the ideal (frames x aligned
 * size, page-rounded where frames are page-backed), and what is still taken
 * after the release. Twice: the first round also pays what the kernel
 * keeps for later (a new slab cache's own structures, kept idle for reuse;
 * the page tables of the vmalloc space, one page per 2 MiB, which the
 * kernel never frees), the second is the steady state. vm_unmap_aliases()
 * purges the lazily unmapped vmalloc areas, so that the second round may
 * reuse the first one's addresses.
 */
static const u32 bench_framing_sizes[] = { 256, 4096, 614424, 4U << 20 };
#define BENCH_FRAMING_FRAMES	16U

struct bench_framing_round {
	long used, left;
	u64 frame_bytes;
	bool pages;
};

static int bench_framing_round(u32 size, struct bench_framing_round *r,
			       struct bench_extent *ext)
{
	struct ksalloc_framing framing = {
		.pool_type = KSALLOC_POOL_ATOMIC,
		.frames = BENCH_FRAMING_FRAMES,
		.frame_size = size,
	};
	void *frame[BENCH_FRAMING_FRAMES];
	struct file *file;
	unsigned int i;
	long before;
	int err = 0;

	before = bench_used_pages();
	file = ksalloc_create(&framing);
	if (IS_ERR(file))
		return PTR_ERR(file);
	r->used = (bench_used_pages() - before) * PAGE_SIZE;
	for (i = 0; i < BENCH_FRAMING_FRAMES && !err; i++)
		err = ksalloc_allocate_frame(file, &frame[i]);
	if (!err) {
		r->pages = is_vmalloc_addr(frame[0]);
		r->frame_bytes = bench_frame_bytes(frame, BENCH_FRAMING_FRAMES,
						   size, ext);
	} else {
		i--;
	}
	while (i--)
		ksalloc_free_frame(file, frame[i]);
	__fput_sync(file);
	vm_unmap_aliases();
	r->left = (bench_used_pages() - before) * PAGE_SIZE;
	return err;
}

static void bench_framing_memory(u32 size)
{
	size_t per_frame = DIV_ROUND_UP(size, PAGE_SIZE) + 1;
	struct bench_framing_round r[2];
	struct bench_extent *ext;
	int i, err = -ENOMEM;
	u64 ideal;

	ext = kvcalloc(BENCH_FRAMING_FRAMES, per_frame * sizeof(*ext), GFP_KERNEL);
	for (i = 0; ext && i < 2; i++) {
		err = bench_framing_round(size, &r[i], ext);
		if (err)
			break;
	}
	kvfree(ext);
	if (err) {
		bench_errors++;
		pr_err("error framing memory of %u x %u B: %d\n",
		       BENCH_FRAMING_FRAMES, size, err);
		return;
	}
	ideal = (u64)BENCH_FRAMING_FRAMES * (r[1].pages ? PAGE_ALIGN(size) : size);
	pr_info("framing frame_size=%u frames=%u kind=%s used_bytes=%ld frame_bytes=%llu ideal_bytes=%llu left_bytes=%ld first_left_bytes=%ld\n",
		size, BENCH_FRAMING_FRAMES, r[1].pages ? "pages" : "slab",
		r[1].used, r[1].frame_bytes, ideal, r[1].left, r[0].left);
}

/* ---- Extras: creating an allocator ------------------------------------ */

enum bench_create_kind {
	BENCH_CREATE_KSALLOC,
	BENCH_CREATE_CACHE_COLD,
	BENCH_CREATE_CACHE_WARM,
	BENCH_NR_CREATE_KINDS
};

/* What each kind sets up, then tears down. */
static const char * const bench_create_names[BENCH_NR_CREATE_KINDS] = {
	/* ksalloc_create(), then fput(). */
	[BENCH_CREATE_KSALLOC] = "ksalloc_create_release",
	/* kmem_cache_create() and 1024 allocs, then the frees and destroy. */
	[BENCH_CREATE_CACHE_COLD] = "kmem_cache_create_alloc_free_destroy",
	/* 1024 kmem_cache_alloc(GFP_KERNEL), then the frees: a warm cache. */
	[BENCH_CREATE_CACHE_WARM] = "kmem_cache_alloc_free",
};

/**
 * struct bench_create - one measurement of a kind
 * @kind: what is made.
 * @warm: the cache of BENCH_CREATE_CACHE_WARM.
 * @cache: the cache of BENCH_CREATE_CACHE_COLD.
 * @file: the allocator of BENCH_CREATE_KSALLOC.
 * @frame: the objects of the kmem_cache kinds.
 */
struct bench_create {
	enum bench_create_kind kind;
	struct kmem_cache *warm;
	struct kmem_cache *cache;
	struct file *file;
	void *frame[BENCH_CREATE_FRAMES];
};

static int bench_create_setup(struct bench_create *m)
{
	struct ksalloc_framing framing = {
		.pool_type = KSALLOC_POOL_ATOMIC,
		.frames = BENCH_CREATE_FRAMES,
		.frame_size = BENCH_CREATE_SIZE,
	};
	unsigned int i;

	switch (m->kind) {
	case BENCH_CREATE_KSALLOC:
		m->file = ksalloc_create(&framing);
		return PTR_ERR_OR_ZERO(m->file);
	case BENCH_CREATE_CACHE_COLD:
		m->cache = kmem_cache_create("ksalloc_bench_4k",
					     BENCH_CREATE_SIZE, 0, 0, NULL);
		if (!m->cache)
			return -ENOMEM;
		break;
	default:
		m->cache = m->warm;
		break;
	}
	for (i = 0; i < BENCH_CREATE_FRAMES; i++) {
		m->frame[i] = kmem_cache_alloc(m->cache, GFP_KERNEL);
		if (!m->frame[i])
			return -ENOMEM;
	}
	return 0;
}

/* Undoes bench_create_setup(), also after it failed. */
static void bench_create_teardown(struct bench_create *m)
{
	unsigned int i;

	if (m->kind == BENCH_CREATE_KSALLOC) {
		if (!IS_ERR(m->file))
			__fput_sync(m->file);	/* see bench_ksalloc_exit() */
		return;
	}
	for (i = 0; i < BENCH_CREATE_FRAMES && m->frame[i]; i++)
		kmem_cache_free(m->cache, m->frame[i]);
	memset(m->frame, 0, sizeof(m->frame));
	if (m->kind == BENCH_CREATE_CACHE_COLD)
		kmem_cache_destroy(m->cache);
}

/*
 * Each kind once untimed, then the fastest of @runs. Setting up and tearing
 * down may wait (for an RCU grace period, say): in icount mode the TSC then
 * jumps to the next timer instead of counting instructions, so these
 * figures are instructions plus such waits.
 */
static void bench_create(void)
{
	u64 start, mid, setup, teardown, best_setup, best_teardown;
	struct bench_create *m;
	unsigned int i;
	int err = 0;

	m = kzalloc(sizeof(*m), GFP_KERNEL);
	if (m)
		m->warm = kmem_cache_create("ksalloc_bench_warm",
					    BENCH_CREATE_SIZE, 0, 0, NULL);
	if (!m || !m->warm) {
		err = -ENOMEM;
		goto out;
	}
	for (m->kind = 0; m->kind < BENCH_NR_CREATE_KINDS; m->kind++) {
		best_setup = U64_MAX;
		best_teardown = U64_MAX;
		for (i = 0; i <= runs; i++) {
			start = bench_clock();
			err = bench_create_setup(m);
			mid = bench_clock();
			bench_create_teardown(m);
			if (err)
				goto out;
			setup = mid - start;
			teardown = bench_clock() - mid;
			if (i && setup + teardown < best_setup + best_teardown) {
				best_setup = setup;
				best_teardown = teardown;
			}
		}
		pr_info("create mode=%s name=%s frames=%u frame_size=%u setup=%llu teardown=%llu total=%llu unit=%s\n",
			mode, bench_create_names[m->kind], BENCH_CREATE_FRAMES,
			BENCH_CREATE_SIZE, best_setup, best_teardown,
			best_setup + best_teardown,
			bench_icount ? "instr" : "ns");
	}
out:
	if (err) {
		bench_errors++;
		pr_err("error mode=%s create: %d\n", mode, err);
	}
	if (m)
		kmem_cache_destroy(m->warm);
	kfree(m);
}

/* ---- Extras: attaching a device ---------------------------------------- */

#define BENCH_ATTACH_FRAMES	1024U

/**
 * struct bench_attach_kind - a framing whose frames are attached
 * @kind: its name in the results: how its frames are mapped.
 * @options: the framing's options.
 * @frame_size: the framing's frame size.
 */
struct bench_attach_kind {
	const char *kind;
	u32 options;
	u32 frame_size;
};

/*
 * Page-backed frames of a page (a mappable pool), each mapped with
 * dma_map_page(); slab-backed ones of the same size, dma_map_single(); and
 * page-backed frames of 64 KiB, each a list of 16 pages for
 * dma_map_sgtable(), against one dma_map_single() of 64 contiguous KiB.
 */
static const struct bench_attach_kind bench_attach_kinds[] = {
	{ "page", KSALLOC_OPTIONF_MAPPABLE, 4096 },
	{ "slab", 0, 4096 },
	{ "sg", 0, 65536 },
};

/* The fastest of @runs attach+detach of @file, after one untimed. */
static int bench_attach_ksalloc(struct file *file, u64 *attach, u64 *detach)
{
	struct ksalloc_dma *dma;
	u64 start, mid, end;
	unsigned int i;

	*attach = U64_MAX;
	*detach = U64_MAX;
	for (i = 0; i <= runs; i++) {
		start = bench_clock();
		dma = ksalloc_dma_attach(file, &bench_pdev->dev, DMA_FROM_DEVICE);
		mid = bench_clock();
		if (IS_ERR(dma))
			return PTR_ERR(dma);
		ksalloc_dma_detach(dma);
		end = bench_clock();
		if (i && mid - start + end - mid < *attach + *detach) {
			*attach = mid - start;
			*detach = end - mid;
		}
	}
	return 0;
}

/*
 * The baseline: what a driver without ksalloc does for the same frames,
 * dma_map_single() of each of @n buffers, then dma_unmap_single() of each.
 * The fastest of @runs, after one untimed.
 */
static int bench_attach_single(void **buf, dma_addr_t *addr, unsigned int n,
			       size_t size, u64 *map, u64 *unmap)
{
	struct device *dev = &bench_pdev->dev;
	u64 start, mid, end;
	unsigned int i, r;
	int err = 0;

	*map = U64_MAX;
	*unmap = U64_MAX;
	for (r = 0; r <= runs && !err; r++) {
		start = bench_clock();
		for (i = 0; i < n; i++) {
			addr[i] = dma_map_single(dev, buf[i], size, DMA_FROM_DEVICE);
			if (dma_mapping_error(dev, addr[i])) {
				err = -EIO;
				break;
			}
		}
		mid = bench_clock();
		n = i;
		for (i = 0; i < n; i++)
			dma_unmap_single(dev, addr[i], size, DMA_FROM_DEVICE);
		end = bench_clock();
		if (r && mid - start + end - mid < *map + *unmap) {
			*map = mid - start;
			*unmap = end - mid;
		}
	}
	return err;
}

static void bench_attach_one(const struct bench_attach_kind *k)
{
	struct ksalloc_framing framing = {
		.options = k->options,
		.pool_type = KSALLOC_POOL_ATOMIC,
		.frames = BENCH_ATTACH_FRAMES,
		.frame_size = k->frame_size,
	};
	u64 attach, detach, map, unmap;
	struct file *file;
	dma_addr_t *addr;
	unsigned int i = 0;
	void **buf;
	int err;

	buf = kvcalloc(BENCH_ATTACH_FRAMES, sizeof(*buf), GFP_KERNEL);
	addr = kvcalloc(BENCH_ATTACH_FRAMES, sizeof(*addr), GFP_KERNEL);
	if (!buf || !addr) {
		err = -ENOMEM;
		goto out;
	}
	file = ksalloc_create(&framing);
	if (IS_ERR(file)) {
		err = PTR_ERR(file);
		goto out;
	}
	err = bench_attach_ksalloc(file, &attach, &detach);
	__fput_sync(file);	/* see bench_ksalloc_exit() */
	if (err)
		goto out;

	for (i = 0; i < BENCH_ATTACH_FRAMES; i++) {
		buf[i] = kmalloc(k->frame_size, GFP_KERNEL);
		if (!buf[i]) {
			err = -ENOMEM;
			goto out;
		}
	}
	err = bench_attach_single(buf, addr, BENCH_ATTACH_FRAMES,
				  k->frame_size, &map, &unmap);
	if (err)
		goto out;
	pr_info("attach mode=%s kind=%s frames=%u frame_size=%u attach=%llu detach=%llu map_single=%llu unmap_single=%llu unit=%s\n",
		mode, k->kind, BENCH_ATTACH_FRAMES, k->frame_size, attach,
		detach, map, unmap, bench_icount ? "instr" : "ns");
out:
	while (i--)
		kfree(buf[i]);
	kvfree(addr);
	kvfree(buf);
	if (err) {
		bench_errors++;
		pr_err("error mode=%s attach kind=%s: %d\n", mode, k->kind, err);
	}
}

static int bench_dma_device_add(void)
{
	int err;

	bench_pdev = platform_device_register_simple(KBUILD_MODNAME,
						     PLATFORM_DEVID_NONE,
						     NULL, 0);
	if (IS_ERR(bench_pdev))
		return PTR_ERR(bench_pdev);
	err = dma_set_mask_and_coherent(&bench_pdev->dev, DMA_BIT_MASK(64));
	if (err)
		platform_device_unregister(bench_pdev);
	return err;
}

/* ---- The module -------------------------------------------------------- */

static int bench_check_params(void)
{
	if (!strcmp(mode, "icount"))
		bench_icount = true;
	else if (strcmp(mode, "wall"))
		return -EINVAL;
	pairs = roundup(max(pairs, BENCH_MAX_BURST), BENCH_MAX_BURST);
	if (!runs || !duration_ms)
		return -EINVAL;
	if (frame_size < sizeof(struct list_head) ||
	    alignment & (alignment + 1) || alignment >= PAGE_SIZE)
		return -EINVAL;
	/* A burst of 256 on every CPU at once, or the ring of "cross". */
	if (frames < num_online_cpus() * BENCH_MAX_BURST ||
	    frames < BENCH_RING_SIZE)
		return -EINVAL;
	return 0;
}

static int __init bench_init(void)
{
	unsigned int i;
	int err;

	if (!strcmp(mode, "off"))
		return 0;
	err = bench_check_params();
	if (err) {
		pr_err("invalid parameters\n");
		return err;
	}
	err = bench_dma_device_add();
	if (err) {
		pr_err("no DMA device: %d\n", err);
		return err;
	}
	bench_make_orders();
	pr_info("start mode=%s cpus=%u pairs=%u runs=%u duration_ms=%u frames=%u frame_size=%u alignment=%u\n",
		mode, num_online_cpus(), pairs, runs, duration_ms, frames,
		frame_size, alignment);

	for (i = 0; i < ARRAY_SIZE(bench_contenders); i++) {
		/* icount needs the empty loop first; wall has no use for it. */
		if (i == 0 ? !bench_icount : !(contenders & BIT(i)))
			continue;
		bench_run_contender(&bench_contenders[i]);
	}
	if (extras) {
		for (i = 0; i < ARRAY_SIZE(bench_contenders); i++)
			if (bench_contenders[i].pooled &&
			    contenders & BIT(i))
				bench_memory(&bench_contenders[i]);
		for (i = 0; i < ARRAY_SIZE(bench_framing_sizes); i++)
			bench_framing_memory(bench_framing_sizes[i]);
		bench_create();
		for (i = 0; i < ARRAY_SIZE(bench_attach_kinds); i++)
			bench_attach_one(&bench_attach_kinds[i]);
	}
	platform_device_unregister(bench_pdev);
	pr_info("done mode=%s errors=%u\n", mode, bench_errors);
	return 0;
}

static void __exit bench_exit(void)
{
}

module_init(bench_init);
module_exit(bench_exit);

MODULE_DESCRIPTION("Benchmark of ksalloc against kmem_cache, mempool and objpool");
MODULE_LICENSE("GPL");
