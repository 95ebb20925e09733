// SPDX-License-Identifier: GPL-2.0
/*
 * DMA attachments: a device attached to an allocator, every frame mapped
 * for it once, so that a driver's interrupt handler only looks up a frame's
 * DMA address and syncs it (include/linux/ksalloc.h, "DMA attachments").
 *
 * Mapping, through the public DMA API only, with DMA_ATTR_NO_WARN (a
 * failure is ours to report) and, as page_pool maps, DMA_ATTR_SKIP_CPU_SYNC:
 * the driver syncs each transfer (ksalloc_dma_sync_for_device() before,
 * _for_cpu() after), so mapping and unmapping need not, and several
 * devices may map the same frames for writing (DMA-API debugging refuses
 * overlapping mappings that sync themselves):
 * - a slab-backed frame: dma_map_single() of its bytes;
 * - a page-backed frame of at most a page: dma_map_page() of its bytes;
 * - a larger page-backed frame: an sg_table of its pages, segments no larger
 *   than the device and its bounce buffers take, and a page each for a
 *   device with segment boundaries (ksalloc_dma_max_segment()), and
 *   dma_map_sgtable(). An IOMMU may make it one range for the device;
 *   without one, physically contiguous pages are one segment where they
 *   may be, and each other one its own.
 * The frame's frame_size bytes are mapped, no more: the device can reach
 * nothing else. Page-backed frames start on a page and share it with
 * nothing, so they meet any device's cache alignment; slab-backed frames do
 * when the framing's alignment does (see ksalloc_dma_check_align()).
 *
 * Lookup: by the frame's slot in the allocator's address table (pool.c),
 * found by ksalloc_lookup() as free_frame finds it: O(1), no lock, nothing
 * written. The attachment keeps, by slot, the frame's address for the
 * device (DMA_MAPPING_ERROR if it is several ranges) and, for frames mapped
 * as a list, the list. ksalloc_dma_allocate_frame() (frame.c) needs no
 * lookup: the fast path has the frame's table entry, and the address array
 * is a constant distance from the table (struct ksalloc_dma).
 *
 * Syncs: a frame mapped as one range is synced with dma_sync_single_for_*()
 * up to the length asked, as page_pool syncs up to max_len. A frame mapped
 * as a list is synced whole, with dma_sync_sgtable_for_*(): the DMA API
 * syncs a list by its CPU entries, and an IOMMU may have merged them into
 * device ranges that no CPU entry matches, where a dma_sync_single_*() of a
 * device range would sync the wrong pages.
 *
 * Reach: dma-direct maps what the device cannot reach, with neither an IOMMU
 * nor bounce buffers to help, only after a warning (and then fails it): so a
 * device that cannot address all memory (dma_addressing_limited()) is
 * refused before anything is mapped unless an IOMMU translates for it
 * (device_iommu_mapped()) or bounce buffers serve it (its largest mapping
 * is then bounded: dma_max_mapping_size()). Any mapping failure after that
 * (IOVA space, bounce buffers exhausted) unmaps what was mapped.
 *
 * Lifetime: the attachment holds the allocator's file and the device;
 * ksalloc_dma_list, under ksalloc_dma_lock, holds every attachment, so that
 * a device attaches to an allocator once. Detach unmaps every frame, held
 * or free: a frame still held afterwards is plain memory again, valid for
 * its holder. The caller stops the device, and its calls on the
 * attachment, first.
 *
 * Context: attach and detach sleep; lookups and syncs run in any context.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/visibility.h>
#include <linux/device.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/file.h>
#include <linux/limits.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include "ksalloc_priv.h"

/* Serialises attach and detach; protects ksalloc_dma_list. */
static DEFINE_MUTEX(ksalloc_dma_lock);
static LIST_HEAD(ksalloc_dma_list);

/* The KUnit tests' hooks (struct ksalloc_test_hooks); nothing elsewhere. */
static bool ksalloc_dma_fail_hook(struct device *dev)
{
#if IS_ENABLED(CONFIG_KUNIT)
	bool (*hook)(struct device *dev) = READ_ONCE(ksalloc_test_hooks.dma_map);

	if (hook)
		return hook(dev);
#endif
	return false;
}

static void ksalloc_dma_unmap_hook(struct device *dev)
{
#if IS_ENABLED(CONFIG_KUNIT)
	void (*hook)(struct device *dev) = READ_ONCE(ksalloc_test_hooks.dma_unmap);

	if (hook)
		hook(dev);
#endif
}

/* The alignment @dev needs of a frame it shares cache lines with nothing in. */
static unsigned int ksalloc_dma_dev_align(struct device *dev)
{
#if IS_ENABLED(CONFIG_KUNIT)
	unsigned int (*hook)(struct device *dev) = READ_ONCE(ksalloc_test_hooks.dma_align);

	if (hook)
		return hook(dev);
#endif
	/* A sync of a non-coherent device's buffer cleans or drops whole lines. */
	return dev_is_dma_coherent(dev) ? 1 : dma_get_cache_alignment();
}

/*
 * A frame must not share a cache line with other memory for a non-coherent
 * device: page-backed frames share their pages with nothing; slab-backed
 * ones sit at the framing's alignment, their size rounded up to it.
 */
static bool ksalloc_dma_check_align(const struct ksalloc *a,
				    struct device *dev)
{
	u32 align = a->pool.slab ? a->pool.slab->align : PAGE_SIZE;

	return align >= ksalloc_dma_dev_align(dev);
}

/* See "Reach" at the top of this file. */
static bool ksalloc_dma_reaches_all(struct device *dev)
{
	return !dma_addressing_limited(dev) || device_iommu_mapped(dev) ||
	       dma_max_mapping_size(dev) != SIZE_MAX;
}

/* The longest range @dev and its bounce buffers take in one mapping. */
static size_t ksalloc_dma_max_range(struct device *dev)
{
	return min_t(size_t, dma_max_mapping_size(dev), dma_get_max_seg_size(dev));
}

/*
 * The span of @dev's DMA segments, from dma_get_seg_boundary(): a segment
 * must not cross a multiple of it. 0 if there is no boundary: a mask of all
 * ones as wide as a DMA address (on a 32-bit kernel with 64-bit DMA
 * addresses, ULONG_MAX is a boundary at 4 GiB, as the DMA layer reads it).
 */
static u64 ksalloc_dma_seg_span(struct device *dev)
{
	dma_addr_t boundary = dma_get_seg_boundary(dev);

	return boundary == (dma_addr_t)~0ULL ? 0 : (u64)boundary + 1;
}

/**
 * ksalloc_dma_max_segment() - the largest segment of a list of whole pages
 * @dev: the device the list is for.
 *
 * Nothing but an IOMMU keeps a list's segments within a device's segment
 * boundaries: dma-direct maps each as it is, and physically contiguous pages
 * merged into one segment may cross one. A page crosses none of a page or
 * more: a device with boundaries (every PCI device on a 64-bit kernel, at
 * 4 GiB) gets a segment per page, which an IOMMU merges again within them.
 *
 * Context: Any context.
 * Return: the largest multiple of PAGE_SIZE that @dev and its bounce
 * buffers take as one segment, at most UINT_MAX, and PAGE_SIZE if @dev has
 * segment boundaries; 0 if @dev takes less than a page or its boundaries
 * are closer than a page (no list of whole pages serves @dev).
 */
unsigned int ksalloc_dma_max_segment(struct device *dev)
{
	unsigned int seg = rounddown(min_t(size_t, ksalloc_dma_max_range(dev),
					   UINT_MAX), PAGE_SIZE);
	u64 span = ksalloc_dma_seg_span(dev);

	if (!span)
		return seg;
	return seg && span >= PAGE_SIZE ? PAGE_SIZE : 0;
}

/*
 * The largest block the page allocator hands out, naturally aligned: no
 * slab crosses one (MAX_ORDER was the number of orders before 6.4, and
 * became MAX_PAGE_ORDER in 6.8; one order more than needed is harmless).
 */
#ifdef MAX_PAGE_ORDER
#define KSALLOC_DMA_MAX_BLOCK	((u64)PAGE_SIZE << MAX_PAGE_ORDER)
#else
#define KSALLOC_DMA_MAX_BLOCK	((u64)PAGE_SIZE << MAX_ORDER)
#endif

/*
 * A frame is one range of frame_size bytes, or a list of whole pages for a
 * page-backed frame larger than a page: either must fit what @dev takes.
 * One range must besides lie within a segment boundary of @dev wherever the
 * pool put it: boundaries a largest page block apart or more (PCI's 4 GiB)
 * no slab crosses; closer ones, a range at most their span long, aligned to
 * its size rounded up to a power of two or to the span, does not
 * (page-backed frames start on a page; slab-backed ones at the framing's
 * alignment). An IOMMU keeps the offset in a page and aligns a range of
 * pages to their count rounded up to a power of two; bounce buffers keep
 * boundaries.
 */
static bool ksalloc_dma_check_segment(const struct ksalloc *a,
				      struct device *dev)
{
	u32 size = a->framing.frame_size;
	u32 align = a->pool.slab ? a->pool.slab->align : PAGE_SIZE;
	u64 span = ksalloc_dma_seg_span(dev);

	if (a->pool.mem && size > PAGE_SIZE)
		return ksalloc_dma_max_segment(dev) != 0;
	if (ksalloc_dma_max_range(dev) < size)
		return false;
	return !span || span >= KSALLOC_DMA_MAX_BLOCK ||
	       (size <= span &&
		align >= min_t(u64, roundup_pow_of_two(size), span));
}

/*
 * Whether the device range [@addr, @addr + @len) crosses a segment boundary
 * of @dev: never, for a frame that ksalloc_dma_check_segment() let through;
 * checked once mapped all the same, as a DMA layer may place it otherwise.
 */
static bool ksalloc_dma_crosses(struct device *dev, dma_addr_t addr, size_t len)
{
	return (addr ^ (addr + len - 1)) & ~(dma_addr_t)dma_get_seg_boundary(dev);
}

/* Mappings are synced by the driver, transfer by transfer (see the top). */
#define KSALLOC_DMA_ATTRS	(DMA_ATTR_SKIP_CPU_SYNC | DMA_ATTR_NO_WARN)

static void ksalloc_dma_unmap_slot(struct ksalloc_dma *dma, u32 slot)
{
	if (dma->sgt) {
		dma_unmap_sgtable(dma->dev, &dma->sgt[slot], dma->dir,
				  DMA_ATTR_SKIP_CPU_SYNC);
		sg_free_table(&dma->sgt[slot]);
	} else if (dma->a->pool.mem) {
		dma_unmap_page_attrs(dma->dev, dma->addr[slot], dma->size,
				     dma->dir, DMA_ATTR_SKIP_CPU_SYNC);
	} else {
		dma_unmap_single_attrs(dma->dev, dma->addr[slot], dma->size,
				       dma->dir, DMA_ATTR_SKIP_CPU_SYNC);
	}
	ksalloc_dma_unmap_hook(dma->dev);
}

/*
 * The pages of a page-backed frame, from the pool's array: with a
 * page-table walk per frame (vmalloc_to_page()), attaching 1024 frames of a
 * page cost 1.9 times 1024 dma_map_single() + unmap calls (make bench).
 */
static struct page **ksalloc_dma_frame_pages(const struct ksalloc_mem *mem,
					     const void *frame)
{
	return &mem->pages[(frame - mem->base) >> PAGE_SHIFT];
}

/*
 * Maps the frame of @slot, which has one. Returns 0, -EIO, -ENOMEM or
 * -EOPNOTSUPP (one range, across a segment boundary of the device).
 */
static int ksalloc_dma_map_slot(struct ksalloc_dma *dma, u32 slot,
				unsigned int max_segment)
{
	const struct ksalloc_pool *pool = &dma->a->pool;
	/* Other CPUs may flip the entry's flag bits: its frame stays. */
	void *frame = ksalloc_entry_frame(READ_ONCE(dma->table->entry[slot]));
	struct sg_table *sgt;
	dma_addr_t addr;
	int err;

	if (!dma->sgt) {
		if (ksalloc_dma_fail_hook(dma->dev))
			return -EIO;
		if (pool->mem)
			addr = dma_map_page_attrs(dma->dev,
						  *ksalloc_dma_frame_pages(pool->mem, frame),
						  0, dma->size, dma->dir,
						  KSALLOC_DMA_ATTRS);
		else
			addr = dma_map_single_attrs(dma->dev, frame, dma->size,
						    dma->dir, KSALLOC_DMA_ATTRS);
		if (dma_mapping_error(dma->dev, addr))
			return -EIO;
		dma->addr[slot] = addr;
		if (ksalloc_dma_crosses(dma->dev, addr, dma->size)) {
			ksalloc_dma_unmap_slot(dma, slot);
			return -EOPNOTSUPP;
		}
		return 0;
	}

	sgt = &dma->sgt[slot];
	err = sg_alloc_table_from_pages_segment(sgt,
						ksalloc_dma_frame_pages(pool->mem, frame),
						DIV_ROUND_UP(dma->size, PAGE_SIZE), 0,
						dma->size, max_segment, GFP_KERNEL);
	if (err)
		return -ENOMEM;
	if (ksalloc_dma_fail_hook(dma->dev))
		err = -EIO;
	else if (dma_map_sgtable(dma->dev, sgt, dma->dir, KSALLOC_DMA_ATTRS))
		err = -EIO;
	if (err) {
		sg_free_table(sgt);
		return err;
	}
	dma->addr[slot] = sgt->nents == 1 ? sg_dma_address(sgt->sgl) :
					    DMA_MAPPING_ERROR;
	return 0;
}

/* Maps every frame; on failure, unmaps those mapped and returns the error. */
static int ksalloc_dma_map_all(struct ksalloc_dma *dma)
{
	unsigned int max_segment = ksalloc_dma_max_segment(dma->dev);
	u32 slot;
	int err;

	for (slot = 0; slot < dma->table->size; slot++) {
		if (!READ_ONCE(dma->table->entry[slot]))
			continue;
		err = ksalloc_dma_map_slot(dma, slot, max_segment);
		if (err)
			goto err_unmap;
		cond_resched();
	}
	return 0;

err_unmap:
	while (slot--)
		if (READ_ONCE(dma->table->entry[slot]))
			ksalloc_dma_unmap_slot(dma, slot);
	return err;
}

static void ksalloc_dma_free(struct ksalloc_dma *dma)
{
	kvfree(dma->sgt);
	kvfree(dma->addr);
	kfree(dma);
}

/**
 * ksalloc_dma_attach() - map every frame of an allocator for a device
 * @file: the allocator.
 * @dev: the device, its DMA mask set.
 * @dir: the direction of its transfers: DMA_FROM_DEVICE for a capture
 *	device, DMA_TO_DEVICE, or DMA_BIDIRECTIONAL.
 *
 * Maps every frame, held or free, for @dev, for as long as the attachment
 * lives; atomic and sleepable pools alike. Mapping does not sync (as
 * page_pool maps): sync each frame for the device before its transfer.
 * Several devices may attach to one allocator, each once. The attachment
 * holds a reference to @file and to @dev: the allocator lives until
 * ksalloc_dma_detach(), whoever else lets go of it. On failure nothing is
 * left mapped.
 *
 * Context: Process context. May sleep.
 * Return: the attachment, or an ERR_PTR(): -EINVAL if @file is not an
 * allocator, @dev has no DMA mask or @dir is not one of the three;
 * -EBADFD before the framing is set; -EEXIST if @dev is attached to it
 * already; -EOPNOTSUPP if @dev is not DMA-coherent and the framing's
 * alignment is below dma_get_cache_alignment() (a sync would touch memory
 * next to a frame), or @dev takes shorter ranges than a frame is mapped as
 * (its frame_size bytes; a page for a page-backed frame larger than a
 * page, mapped as a list of its pages), or a frame mapped as one range may
 * lie across one of its segment boundaries (dma_get_seg_boundary()
 * closer than the largest page block: longer than their span, or aligned
 * to less than both its size rounded up to a power of two and the span; a
 * list gets a segment per page, which crosses none) or does once mapped;
 * -ERANGE if @dev cannot address
 * all memory and neither an IOMMU nor bounce buffers serve it; -EIO if
 * mapping a frame failed (IOMMU or bounce buffer space exhausted); -ENOMEM.
 */
struct ksalloc_dma *ksalloc_dma_attach(struct file *file, struct device *dev,
				       enum dma_data_direction dir)
{
	struct ksalloc *a = ksalloc_from_file(file);
	struct ksalloc_dma *dma, *other;
	unsigned long flags;
	bool ready;
	u32 size;
	int err;

	might_sleep();
	if (!a || !dev || !dev->dma_mask || !valid_dma_direction(dir))
		return ERR_PTR(-EINVAL);
	raw_spin_lock_irqsave(&a->lock, flags);
	/* Once set, the framing and the pool are constant. */
	ready = a->ready;
	raw_spin_unlock_irqrestore(&a->lock, flags);
	if (!ready)
		return ERR_PTR(-EBADFD);
	if (!ksalloc_dma_check_align(a, dev) || !ksalloc_dma_check_segment(a, dev))
		return ERR_PTR(-EOPNOTSUPP);
	if (!ksalloc_dma_reaches_all(dev))
		return ERR_PTR(-ERANGE);

	dma = kzalloc(sizeof(*dma), GFP_KERNEL);
	if (!dma)
		return ERR_PTR(-ENOMEM);
	dma->file = file;
	dma->a = a;
	dma->dev = dev;
	dma->dir = dir;
	dma->size = a->framing.frame_size;
	dma->table = a->pool.table;
	size = dma->table->size;
	dma->addr = kvmalloc_array(size, sizeof(*dma->addr), GFP_KERNEL);
	if (!dma->addr) {
		err = -ENOMEM;
		goto err_free;
	}
	/* By slot both: one array's element is the other's, a constant away. */
	BUILD_BUG_ON(sizeof(*dma->addr) != sizeof(*dma->table->entry));
	dma->addr_offset = (unsigned long)dma->addr -
			   (unsigned long)dma->table->entry;
	if (a->pool.mem && dma->size > PAGE_SIZE) {
		dma->sgt = kvcalloc(size, sizeof(*dma->sgt), GFP_KERNEL);
		if (!dma->sgt) {
			err = -ENOMEM;
			goto err_free;
		}
	}

	mutex_lock(&ksalloc_dma_lock);
	list_for_each_entry(other, &ksalloc_dma_list, node) {
		if (other->a == a && other->dev == dev) {
			err = -EEXIST;
			goto err_unlock;
		}
	}
	/* Under the lock: a racing attach of @dev finds it mapped, or ours fails. */
	err = ksalloc_dma_map_all(dma);
	if (err)
		goto err_unlock;
	list_add(&dma->node, &ksalloc_dma_list);
	mutex_unlock(&ksalloc_dma_lock);

	get_file(file);
	get_device(dev);
	return dma;

err_unlock:
	mutex_unlock(&ksalloc_dma_lock);
err_free:
	ksalloc_dma_free(dma);
	return ERR_PTR(err);
}
EXPORT_SYMBOL_NS_GPL(ksalloc_dma_attach, KSALLOC);

/**
 * ksalloc_dma_detach() - unmap every frame and drop the attachment
 * @dma: the attachment; NULL or an ERR_PTR() is ignored.
 *
 * Unmaps every frame, without syncing (sync for the CPU what it is to
 * read first), those still held included (by user space, another
 * driver, or this one): they stay valid memory for their holders, and the
 * allocator usable; only the device's view of them goes. Call it in the
 * driver's remove(), once the device has stopped and no call on @dma can
 * run or start (free_irq(), hrtimer_cancel(), ...). Drops the references to
 * the device and the allocator: the last one releases it, so a driver that
 * frees frames after detaching (through the function table) keeps a
 * reference of its own to the allocator's file until it has.
 *
 * Context: Process context. May sleep.
 */
void ksalloc_dma_detach(struct ksalloc_dma *dma)
{
	u32 slot;

	if (IS_ERR_OR_NULL(dma))
		return;
	might_sleep();
	mutex_lock(&ksalloc_dma_lock);
	list_del(&dma->node);
	mutex_unlock(&ksalloc_dma_lock);
	for (slot = 0; slot < dma->table->size; slot++) {
		if (!READ_ONCE(dma->table->entry[slot]))
			continue;
		ksalloc_dma_unmap_slot(dma, slot);
		cond_resched();
	}
	put_device(dma->dev);
	fput(dma->file);
	ksalloc_dma_free(dma);
}
EXPORT_SYMBOL_NS_GPL(ksalloc_dma_detach, KSALLOC);

/**
 * ksalloc_dma_addr() - a frame's address for an attached device
 * @dma: the attachment.
 * @frame: a frame of its allocator, held or free.
 *
 * A frame is one range for the device if it is slab-backed, no larger than
 * a page, or mapped as a list the device sees as one range (an IOMMU, up
 * to dma_get_max_seg_size(); or physically contiguous pages, for a device
 * without segment boundaries). Otherwise its scatter/gather list is
 * ksalloc_dma_sgt(). O(1): no lock is taken and nothing written.
 *
 * Context: Any context.
 * Return: the device address of the frame's first byte, the frame's
 * frame_size bytes contiguous from there for the device; DMA_MAPPING_ERROR
 * if the frame is several ranges for the device, or @frame is not (the
 * start of) a frame of the allocator.
 */
dma_addr_t ksalloc_dma_addr(const struct ksalloc_dma *dma, const void *frame)
{
	long slot = ksalloc_lookup(dma->table, frame);

	return slot < 0 ? DMA_MAPPING_ERROR : dma->addr[slot];
}
EXPORT_SYMBOL_NS_GPL(ksalloc_dma_addr, KSALLOC);

/**
 * ksalloc_dma_sgt() - a frame's scatter/gather list for an attached device
 * @dma: the attachment.
 * @frame: a frame of its allocator, held or free.
 *
 * Page-backed frames larger than a page are mapped as a list of their
 * pages; walk its segments for the device with for_each_sgtable_dma_sg(),
 * sg_dma_address() and sg_dma_len(). The list is the attachment's: valid
 * until ksalloc_dma_detach(), and not to be mapped, synced or changed by the
 * caller (see ksalloc_dma_sync_for_device()). O(1), as ksalloc_dma_addr().
 *
 * Context: Any context.
 * Return: the frame's list; NULL if the frame is mapped as one range (see
 * ksalloc_dma_addr()) or @frame is not (the start of) a frame of the
 * allocator.
 */
const struct sg_table *ksalloc_dma_sgt(const struct ksalloc_dma *dma,
				       const void *frame)
{
	long slot;

	if (!dma->sgt)
		return NULL;
	slot = ksalloc_lookup(dma->table, frame);
	return slot < 0 ? NULL : &dma->sgt[slot];
}
EXPORT_SYMBOL_NS_GPL(ksalloc_dma_sgt, KSALLOC);

/*
 * Syncs the first @len bytes of the frame of @slot if it is one range, the
 * whole frame if it is a list (see "Syncs" at the top of this file).
 */
static void ksalloc_dma_sync(const struct ksalloc_dma *dma, long slot,
			     size_t len, bool for_cpu)
{
	struct sg_table *sgt;

	if (!len)
		return;
	if (dma->sgt) {
		sgt = &dma->sgt[slot];
		if (for_cpu)
			dma_sync_sgtable_for_cpu(dma->dev, sgt, dma->dir);
		else
			dma_sync_sgtable_for_device(dma->dev, sgt, dma->dir);
		return;
	}
	len = min_t(size_t, len, dma->size);
	if (for_cpu)
		dma_sync_single_for_cpu(dma->dev, dma->addr[slot], len, dma->dir);
	else
		dma_sync_single_for_device(dma->dev, dma->addr[slot], len,
					   dma->dir);
}

/**
 * ksalloc_dma_sync_for_device() - give a frame's first bytes to the device
 * @dma: the attachment.
 * @frame: a frame of its allocator, held by the caller.
 * @len: how many bytes from the frame's start, at most the frame size
 *	(more is the frame size): as page_pool_dma_sync_for_device() takes
 *	max_len, what the device will access. A frame mapped as a list (see
 *	ksalloc_dma_sgt()) is synced whole if @len is not 0.
 *
 * Before the device reads or writes the frame: writes back what the CPU
 * wrote (DMA_TO_DEVICE, DMA_BIDIRECTIONAL) and, with bounce buffers, copies
 * it to them. Costs nothing on a coherent device without bounce buffers.
 *
 * Context: Any context; on PREEMPT_RT with CONFIG_DMA_API_DEBUG, not hard
 * IRQ (DMA-API debugging's locks sleep there; threaded interrupt handlers
 * are fine).
 * Return: 0, or -EINVAL if @frame is not (the start of) a frame of the
 * allocator.
 */
int ksalloc_dma_sync_for_device(const struct ksalloc_dma *dma,
				const void *frame, size_t len)
{
	long slot = ksalloc_lookup(dma->table, frame);

	if (slot < 0)
		return -EINVAL;
	ksalloc_dma_sync(dma, slot, len, false);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(ksalloc_dma_sync_for_device, KSALLOC);

/**
 * ksalloc_dma_sync_for_cpu() - take a frame's first bytes back from the device
 * @dma: the attachment.
 * @frame: a frame of its allocator, held by the caller.
 * @len: how many bytes from the frame's start the device wrote, at most the
 *	frame size (more is the frame size). A frame mapped as a list (see
 *	ksalloc_dma_sgt()) is synced whole if @len is not 0.
 *
 * After the device wrote the frame and before the CPU reads it: drops
 * stale cache lines and, with bounce buffers, copies the data from them.
 *
 * Context: Any context; on PREEMPT_RT with CONFIG_DMA_API_DEBUG, not hard
 * IRQ (DMA-API debugging's locks sleep there; threaded interrupt handlers
 * are fine).
 * Return: 0, or -EINVAL if @frame is not (the start of) a frame of the
 * allocator.
 */
int ksalloc_dma_sync_for_cpu(const struct ksalloc_dma *dma, const void *frame,
			     size_t len)
{
	long slot = ksalloc_lookup(dma->table, frame);

	if (slot < 0)
		return -EINVAL;
	ksalloc_dma_sync(dma, slot, len, true);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(ksalloc_dma_sync_for_cpu, KSALLOC);
