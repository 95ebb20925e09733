// SPDX-License-Identifier: GPL-2.0
/*
 * allocate_frame and free_frame, the function table's calls: any context,
 * hard IRQ included, never sleeping, no memory allocated; and allocate_frame
 * with a device address, ksalloc_dma_allocate_frame() (see dma.c). Here too is
 * everything they depend on: the per-CPU caches and the headroom.
 *
 * Free frames sit in per-CPU caches (struct ksalloc_cpu) or on a shared
 * stack. allocate_frame and free_frame use their CPU's cache with interrupts
 * disabled and no lock; only when it is empty, full or closed do they take
 * the allocator's raw spinlock, which protects the shared stack and the rest.
 * A free is checked before anything else: a cmpxchg of the frame's table
 * entry from "allocated to a kernel client" to "free" fails for anything that
 * is not such a frame, double frees racing on two CPUs included.
 *
 * Scanning: a CPU that holds the lock may close a cache, setting its state
 * to KSALLOC_CPU_CLOSED with an xchg; the owner changes the state only by
 * cmpxchg, so it sees the close and goes to the slow path, where it waits
 * for the lock. The lock's holder looks at the caches to gather their frames
 * when the shared stack runs dry, and their headroom when it has none. The
 * scan rule: it closes every cache, one after another, taking what it came
 * for, and only then reopens them all. A cache it has closed takes no free
 * while it closes the next ones, so what it finds is what the caches held at
 * one instant (when the last one closed): from three CPUs on, a scan that
 * left each cache open behind it could be overtaken, a free landing behind
 * it while an allocation took a frame or headroom ahead of it, and fail an
 * allocation though a frame was free, or raise the peak though no more
 * frames were held. Only the slow path pays: an xchg and a store per CPU.
 *
 * Closing: while a request is pending, or poll() or the free-frame event
 * waits for a free frame (request.c: poll() waits once ->poll() found none,
 * or an allocation was refused one while a poll() waiter was queued), every
 * free must be seen. The caches are then closed: drained, and left
 * KSALLOC_CPU_CLOSED, which sends every allocate_frame and free_frame to the
 * slow path until they reopen (see ksalloc_update_caches()). The fast paths
 * read nothing else to know it.
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
 * allocated_frames is the peak minus the headroom, exact whenever no fast
 * path runs. Allocations are counted per CPU and summed when read.
 *
 * Limits: a CPU caches at most KSALLOC_CPU_FRAMES frames; an allocation that
 * finds its cache and the shared stack empty drains every CPU's cache, so it
 * fails only when no frame is free anywhere, at a cost proportional to the
 * number of CPUs. While the free-frame event is enabled there are no caches.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/visibility.h>
#include <linux/atomic.h>
#include <linux/cpumask.h>
#include <linux/dma-mapping.h>
#include <linux/percpu.h>
#include <linux/poison.h>
#include <linux/string.h>

#include "ksalloc_priv.h"
#include "ksalloc_trace.h"

/* A cache's headroom sits above its count of frames in its state. */
#define KSALLOC_CPU_ROOM_SHIFT	16
/* A frame and its unit of headroom, in a cache's state. */
#define KSALLOC_CPU_ONE		(BIT(KSALLOC_CPU_ROOM_SHIFT) | 1)

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

/* @frame became free: see misuse.c. */
static __always_inline void ksalloc_poison(struct ksalloc *a, void *frame)
{
	if (ksalloc_poisons(&a->pool))
		memset(frame, POISON_FREE, a->framing.frame_size);
}

#if IS_ENABLED(CONFIG_KUNIT)
/*
 * Set by a KUnit test to stall, after each cache, a scan of every CPU's
 * cache by the lock's holder: the other CPUs' fast paths run meanwhile.
 */
struct ksalloc_test_hooks ksalloc_test_hooks;
EXPORT_SYMBOL_IF_KUNIT(ksalloc_test_hooks);
#endif

static inline void ksalloc_scan_step(unsigned int cpu)
{
#if IS_ENABLED(CONFIG_KUNIT)
	void (*hook)(unsigned int cpu) = READ_ONCE(ksalloc_test_hooks.scan);

	if (unlikely(hook))
		hook(cpu);
#endif
}

/*
 * Frames allocated now: the peak minus the headroom. Exact under the lock
 * while no fast path runs; otherwise a sum of counts read one after another,
 * for trace events only.
 */
u32 ksalloc_allocated(struct ksalloc *a)
{
	/* Written under the lock; for trace events, a diagnostic read. */
	u32 room = data_race(a->room), peak = data_race(a->peak);
	int cpu;

	if (READ_ONCE(a->pool.cpu_frames))
		for_each_possible_cpu(cpu)
			room += ksalloc_cpu_room(READ_ONCE(per_cpu_ptr(a->pool.cpu, cpu)->state));
	return peak - min(room, peak);
}

/* Puts the frames of @n cache entries on the shared stack. */
static void ksalloc_push_locked(struct ksalloc *a, unsigned long * const *entry,
				u32 n)
{
	const unsigned long *first = a->pool.table->entry;

	lockdep_assert_held(&a->lock);
	while (n--)
		a->pool.free[a->nr_free++] = *entry++ - first;
}

/* Opens or closes the per-CPU caches; see ksalloc_update_caches(). */
static bool ksalloc_want_caches(struct ksalloc *a)
{
	lockdep_assert_held(&a->lock);
	return a->pool.cpu_frames && list_empty(&a->requests) &&
	       !a->poll_armed && !a->event_fn;
}

/*
 * Closes @cpu's cache and moves its headroom to the allocator, and its frames
 * too if @frames; what it keeps waits in @kept for ksalloc_open_caches().
 * Returns the frames moved.
 */
static u32 ksalloc_close_cpu(struct ksalloc *a, int cpu, bool frames)
{
	struct ksalloc_cpu *c = per_cpu_ptr(a->pool.cpu, cpu);
	u32 state;
	u32 n;

	lockdep_assert_held(&a->lock);
	/* Fully ordered: pairs with the cmpxchg of @state in the fast paths. */
	state = xchg(&c->state, KSALLOC_CPU_CLOSED);
	c->kept = 0;
	n = ksalloc_cpu_nr(state);
	if (state == KSALLOC_CPU_CLOSED ||
	    WARN_ON_ONCE(n > a->pool.cpu_frames || ksalloc_cpu_room(state) > n))
		return 0;
	a->room += ksalloc_cpu_room(state);
	if (!frames) {
		c->kept = n;
		return 0;
	}
	ksalloc_push_locked(a, c->entry, n);
	return n;
}

/*
 * Closes every cache (the scan rule, see the top of this file), with
 * ksalloc_close_cpu(). Returns the frames moved.
 */
static u32 ksalloc_close_caches(struct ksalloc *a, bool frames)
{
	u32 moved = 0;
	int cpu;

	for_each_possible_cpu(cpu) {
		moved += ksalloc_close_cpu(a, cpu, frames);
		ksalloc_scan_step(cpu);
	}
	return moved;
}

/* Reopens every cache, with the frames it kept and no headroom. */
static void ksalloc_open_caches(struct ksalloc *a)
{
	struct ksalloc_cpu *c;
	int cpu;

	lockdep_assert_held(&a->lock);
	for_each_possible_cpu(cpu) {
		c = per_cpu_ptr(a->pool.cpu, cpu);
		/*
		 * Release: our reads of its entries, if we took its frames,
		 * come before the owner's next writes of them.
		 */
		smp_store_release(&c->state, ksalloc_cpu_state(c->kept, 0));
	}
}

/*
 * Accounts a frame taken from the shared stack: it spends
 * a unit of headroom, the allocator's or one taken back from the caches;
 * with none anywhere, every frame below the peak is out, and this one makes
 * a new peak.
 */
static void ksalloc_spend_room_locked(struct ksalloc *a)
{
	lockdep_assert_held(&a->lock);
	if (!a->room && a->caches_open) {
		/* Their headroom, all of it at one instant. */
		ksalloc_close_caches(a, false);
		ksalloc_open_caches(a);
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
bool ksalloc_update_caches(struct ksalloc *a)
{
	bool open = ksalloc_want_caches(a);
	u32 drained = 0;

	lockdep_assert_held(&a->lock);
	if (open == a->caches_open)
		return false;
	/* Closed, they were drained: they reopen empty. */
	if (open)
		ksalloc_open_caches(a);
	else
		drained = ksalloc_close_caches(a, true);
	a->caches_open = open;
	return drained;
}

/*
 * Gathers the frames of every CPU's cache on the shared stack if it is
 * empty. Returns true if a frame is free.
 */
bool ksalloc_gather(struct ksalloc *a)
{
	lockdep_assert_held(&a->lock);
	if (!a->nr_free && a->caches_open) {
		ksalloc_close_caches(a, true);
		ksalloc_open_caches(a);
	}
	return a->nr_free;
}

/* Takes a free frame off the shared stack, which has one; returns its slot. */
static u32 ksalloc_take_shared_locked(struct ksalloc *a)
{
	lockdep_assert_held(&a->lock);
	a->total++;
	return a->pool.free[--a->nr_free];
}

/* Takes a free frame, which there is, for a holder of @flags. */
u32 ksalloc_take_locked(struct ksalloc *a, unsigned long flags)
{
	struct ksalloc_table *t = a->pool.table;
	u32 slot = ksalloc_take_shared_locked(a);

	ksalloc_spend_room_locked(a);
	WRITE_ONCE(t->entry[slot], t->entry[slot] | flags);
	return slot;
}

/* Marks the frame of an entry just taken as a kernel client's. */
static __always_inline void *ksalloc_mark_allocated(unsigned long *entry)
{
	void *frame = (void *)READ_ONCE(*entry);

	/*
	 * Free, so ours alone to write: a racing misuse cmpxchg cannot match
	 * it, and a non-atomic bit set will do. Frees on other CPUs may read
	 * the entry meanwhile (READ_ONCE(), looking for their own frames):
	 * the value before and the value after this one bit is set send them
	 * the same way, and no torn write can show them a third one. An
	 * intended race, hence data_race(); WRITE_ONCE() would cost the fast
	 * path an instruction.
	 */
	data_race(*entry |= KSALLOC_ENTRY_ALLOCATED);
	return frame;
}

/* The fast paths' trace events, out of line: they only test for tracing. */
static noinline void ksalloc_trace_allocate(struct ksalloc *a, long slot)
{
	trace_ksalloc_allocate(a->id, ksalloc_slot_handle(&a->pool, slot),
			       ksalloc_allocated(a));
}

static noinline void ksalloc_trace_free(struct ksalloc *a, long slot)
{
	trace_ksalloc_free(a->id, ksalloc_slot_handle(&a->pool, slot),
			   ksalloc_allocated(a));
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
	unsigned long *entries = a->pool.table->entry;
	u32 want, n, i;

	lockdep_assert_held(&a->lock);
	if (!nr) {
		nr = min(a->nr_free, half);
		a->nr_free -= nr;
		/* In the stack's order: its top is the cache's. */
		for (i = 0; i < nr; i++)
			c->entry[i] = &entries[a->pool.free[a->nr_free + i]];
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
	slot = c->entry[ksalloc_cpu_nr(state)] - a->pool.table->entry;
	c->total++;
	WRITE_ONCE(c->state, state);
	/* Headroom for the next ones, and frames if that was the last. */
	ksalloc_refill_locked(a);
	return slot;
}

/*
 * allocate_frame when this CPU's cache has no frame or no headroom, or is
 * closed: called with interrupts disabled, restores @irqflags. With @addr
 * (ksalloc_dma_allocate_frame()), sets it too: see ksalloc_allocate().
 */
static __always_inline int __ksalloc_allocate_slow(struct ksalloc *a,
						   void **frame,
						   unsigned long irqflags,
						   dma_addr_t *addr,
						   unsigned long addr_offset)
{
	struct ksalloc_cpu *c;
	long slot = -EAGAIN;
	bool wake = false;

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
		slot = ksalloc_take_shared_locked(a);
		ksalloc_spend_room_locked(a);
		if (a->caches_open)
			ksalloc_refill_locked(a);
	} else {
		ksalloc_refuse_locked(a, &wake);
	}
	raw_spin_unlock(&a->lock);
	*frame = slot < 0 ? NULL : ksalloc_mark_allocated(&a->pool.table->entry[slot]);
	local_irq_restore(irqflags);
	if (addr)
		*addr = slot < 0 ? DMA_MAPPING_ERROR :
			*(dma_addr_t *)((unsigned long)&a->pool.table->entry[slot] +
					addr_offset);
	ksalloc_kick(a, wake);

	if (slot >= 0)
		ksalloc_check(a, *frame);
	if (trace_ksalloc_allocate_enabled())
		ksalloc_trace_allocate(a, max(slot, -1L));
	return min(slot, 0L);
}

static noinline int ksalloc_allocate_slow(struct ksalloc *a, void **frame,
					  unsigned long irqflags)
{
	return __ksalloc_allocate_slow(a, frame, irqflags, NULL, 0);
}

static noinline int ksalloc_dma_allocate_slow(struct ksalloc *a, void **frame,
					      unsigned long irqflags,
					      dma_addr_t *addr,
					      unsigned long addr_offset)
{
	return __ksalloc_allocate_slow(a, frame, irqflags, addr, addr_offset);
}

/*
 * allocate_frame; if @dma (a constant in each caller), also sets *@addr to
 * the frame's device address, which sits @addr_offset bytes from its table
 * entry (struct ksalloc_dma), DMA_MAPPING_ERROR on failure. Set before
 * anything else is called, so that nothing is live across a call: the fast
 * path keeps to scratch registers and tail calls.
 */
static __always_inline int ksalloc_allocate(struct ksalloc *a, void **frame,
					    bool dma, dma_addr_t *addr,
					    unsigned long addr_offset)
{
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
	    unlikely(!try_cmpxchg(&c->state, &state, new))) {
		if (!dma)
			return ksalloc_allocate_slow(a, frame, flags);
		return ksalloc_dma_allocate_slow(a, frame, flags, addr,
						 addr_offset);
	}
	entry = c->entry[ksalloc_cpu_nr(new)];
	c->total++;
	*frame = ksalloc_mark_allocated(entry);
	local_irq_restore(flags);
	if (dma)
		*addr = *(dma_addr_t *)((unsigned long)entry + addr_offset);

	ksalloc_check(a, *frame);
	if (trace_ksalloc_allocate_enabled())
		ksalloc_trace_allocate(a, entry - a->pool.table->entry);
	return 0;
}

/**
 * ksalloc_allocate_frame() - take a free frame (KS AllocateFrame)
 * @file: the allocator.
 * @frame: set to the frame, or to NULL on failure.
 *
 * The function table's allocate_frame. The frame is aligned as the framing
 * says; its contents are whatever its last user left, or POISON_FREE bytes
 * with KSALLOC_POISON_FRAMES, which also checks that nobody wrote the frame
 * while it was free ("Misuse and debug builds" in the driver-api docs).
 *
 * Context: Any context. Never sleeps.
 * Return: 0; -EAGAIN if no frame is free; -EOPNOTSUPP for a sleepable pool;
 * -EBADFD before the framing is set.
 */
int ksalloc_allocate_frame(struct file *file, void **frame)
{
	return ksalloc_allocate(file->private_data, frame, false, NULL, 0);
}
EXPORT_SYMBOL_NS_GPL(ksalloc_allocate_frame, KSALLOC);

/**
 * ksalloc_dma_allocate_frame() - take a free frame and its device address
 * @dma: the attachment (ksalloc_dma_attach()).
 * @frame: set to the frame, or to NULL on failure.
 * @addr: set to ksalloc_dma_addr() of the frame (DMA_MAPPING_ERROR if it
 *	is several ranges for the device: see ksalloc_dma_sgt()), or to
 *	DMA_MAPPING_ERROR on failure.
 *
 * allocate_frame of the attachment's allocator and the frame's address at
 * once, what a capture driver's completion interrupt does for the next
 * transfer: the fast path, plus one add and two moves. Return the frame
 * with free_frame (ksalloc_free_frame()).
 *
 * Context: Any context. Never sleeps.
 * Return: as ksalloc_allocate_frame(): 0; -EAGAIN if no frame is free;
 * -EOPNOTSUPP for a sleepable pool.
 */
int ksalloc_dma_allocate_frame(const struct ksalloc_dma *dma, void **frame,
			       dma_addr_t *addr)
{
	return ksalloc_allocate(dma->a, frame, true, addr, dma->addr_offset);
}
EXPORT_SYMBOL_NS_GPL(ksalloc_dma_allocate_frame, KSALLOC);

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
		ksalloc_trace_free(a, entry - a->pool.table->entry);
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
	unsigned long *p = &t->entry[ksalloc_hash(t, frame)];
	/* Once its low bits are found clear, | is +: one lea. */
	unsigned long want = (unsigned long)frame + KSALLOC_ENTRY_ALLOCATED;
	unsigned long entry, flags;
	struct ksalloc_cpu *c;
	u32 state, n;

	/* Its low bits would pass for a state: frame + 1 matches "allocated". */
	if (unlikely((unsigned long)frame & KSALLOC_ENTRY_FLAGS))
		return ksalloc_misuse(a, frame);
	for (;;) {
		entry = READ_ONCE(*p);
		if (likely(entry == want))
			break;
		if (unlikely(!entry || ksalloc_entry_frame(entry) == frame))
			return ksalloc_misuse(a, frame);
		if (++p == &t->entry[t->size])
			p = t->entry;
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
		ksalloc_trace_free(a, p - t->entry);
}
EXPORT_SYMBOL_NS_GPL(ksalloc_free_frame, KSALLOC);

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
