/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksalloc - Kernel Streaming style frame allocators: the in-kernel API.
 *
 * Documentation/driver-api/ksalloc.rst explains it: allocators, the function
 * table and its contexts, requests, the free-frame event, lifetime. The
 * kernel-doc below is the reference that page includes.
 */
#ifndef _LINUX_KSALLOC_H
#define _LINUX_KSALLOC_H

#include <linux/dma-direction.h>
#include <linux/list.h>
#include <linux/types.h>
#include <uapi/linux/ksalloc.h>

struct device;
struct file;
struct sg_table;

/**
 * typedef ksalloc_allocate_frame_fn - take a free frame (KS AllocateFrame)
 * @file: the allocator.
 * @frame: set to the frame, or to NULL on failure.
 *
 * Context: Any context. Never sleeps.
 * Return: 0, -EAGAIN if no frame is free, -EOPNOTSUPP for a sleepable pool,
 * -EBADFD before the framing is set.
 */
typedef int (*ksalloc_allocate_frame_fn)(struct file *file, void **frame);

/**
 * typedef ksalloc_free_frame_fn - return a frame (KS FreeFrame)
 * @file: the allocator the frame came from.
 * @frame: the frame.
 *
 * An invalid @frame (NULL, not a frame of this allocator, already free) is
 * refused: the pool is left unchanged, the allocator's misuse counter is
 * incremented and the first such event is logged. The frame is not the
 * caller's any more: with KSALLOC_POISON_FRAMES, a write into it before it
 * is taken again is found then, counted and logged the same way.
 *
 * Context: Any context. Never sleeps.
 */
typedef void (*ksalloc_free_frame_fn)(struct file *file, void *frame);

/**
 * struct ksalloc_functiontable - KSSTREAMALLOCATOR_FUNCTIONTABLE
 * @allocate_frame: takes a frame, see ksalloc_allocate_frame_fn.
 * @free_frame: returns a frame, see ksalloc_free_frame_fn.
 */
struct ksalloc_functiontable {
	ksalloc_allocate_frame_fn allocate_frame;
	ksalloc_free_frame_fn free_frame;
};

/**
 * typedef ksalloc_event_fn - free-frame event callback
 * @file: the allocator.
 * @context: the pointer given to ksalloc_enable_free_frame_event().
 *
 * Called after one or more frames became free for allocate_frame; several
 * returns may be signalled by one call. Runs from an irq_work: in hard
 * interrupt context, or in the preemptible irq_work thread on PREEMPT_RT;
 * it must not sleep, nor rely on interrupts or preemption being disabled.
 * Never concurrently with itself for one allocator. It may call the
 * function table.
 */
typedef void (*ksalloc_event_fn)(struct file *file, void *context);

struct ksalloc_request;

/**
 * typedef ksalloc_request_fn - completion of a pending request
 * @req: the request; the allocator no longer touches it once this is called.
 * @frame: the frame granted, or NULL if @error is set.
 * @error: 0, or -ENODEV if the allocator was released first.
 *
 * The completion may return @frame with ksalloc_free_frame() at once, even
 * while the allocator is being released: its release runs every completion
 * before it frees the pool.
 *
 * Context: Process context (a workqueue); may sleep.
 */
typedef void (*ksalloc_request_fn)(struct ksalloc_request *req, void *frame,
				   int error);

/**
 * struct ksalloc_request - a request that pends until a frame is free
 * @complete: called once with the result; set by the caller before
 *	ksalloc_submit_request().
 *
 * KSMETHOD_STREAMALLOCATOR_ALLOC. Embed it in your own structure and get back
 * to that with container_of() in @complete.
 */
struct ksalloc_request {
	ksalloc_request_fn complete;
	/* private: owned by ksalloc between submit and completion */
	struct list_head node;
	void *frame;
	int error;
	bool pending;
};

/*
 * KSALLOC_POISON_FRAMES - free frames are poisoned: debug kernels, those
 * built with KASAN or with SLUB debugging on for every cache. A free frame
 * holds POISON_FREE bytes, and a frame taken that does not was written
 * after free_frame: a misuse event. Elsewhere none of this is compiled.
 */
#define KSALLOC_POISON_FRAMES \
	(IS_ENABLED(CONFIG_KASAN) || IS_ENABLED(CONFIG_SLUB_DEBUG_ON))

/**
 * struct ksalloc_totals - module-wide counters since the module was loaded
 * @misuse_events: misuse events of every allocator, released ones included.
 * @retaining_releases: allocators released while a kernel client still held
 *	frames.
 * @retained_frames: the frames those releases retained.
 *
 * What debugfs ksalloc/totals shows; read by the KUnit tests with
 * ksalloc_get_totals().
 */
struct ksalloc_totals {
	u64 misuse_events;
	u64 retaining_releases;
	u64 retained_frames;
};

struct file *ksalloc_create(const struct ksalloc_framing *framing);
struct file *ksalloc_fget(int fd);
int ksalloc_get_functiontable(struct file *file,
			      struct ksalloc_functiontable *table);
int ksalloc_get_status(struct file *file, struct ksalloc_status *status);
int ksalloc_frame_offset(struct file *file, const void *frame, u64 *offset);
int ksalloc_allocate_frame(struct file *file, void **frame);
void ksalloc_free_frame(struct file *file, void *frame);
int ksalloc_enable_free_frame_event(struct file *file, ksalloc_event_fn fn,
				    void *context);
void ksalloc_disable_free_frame_event(struct file *file);
int ksalloc_submit_request(struct file *file, struct ksalloc_request *req);
bool ksalloc_cancel_request(struct file *file, struct ksalloc_request *req);

/**
 * DOC: DMA attachments
 *
 * A driver whose device DMAs into frames attaches the device to the
 * allocator once, in process context: ksalloc_dma_attach() maps every
 * frame for it, and from then on the driver only looks addresses up and
 * syncs, in any context, hard IRQ included (as page_pool maps its pages
 * once with PP_FLAG_DMA_MAP, then syncs up to max_len). Detach unmaps every
 * frame, those still held included: the mappings belong to the device's
 * binding, not to the frames, so nothing stays mapped after the driver's
 * remove(), whoever holds frames then (page_pool learnt this the hard way:
 * pages in flight at destroy were unmapped only when they came back, after
 * the device was gone).
 *
 * A frame is mapped as one range (a slab-backed frame, or a page-backed
 * frame of at most a page) or, a page-backed frame larger than a page, as
 * a scatter/gather list of its pages that the device may see as one range
 * or several: an IOMMU merges the list up to the device's largest segment,
 * dma_get_max_seg_size() (64 KiB unless its driver raised it with
 * dma_set_max_seg_size() before attaching) and within its segment
 * boundaries (dma_get_seg_boundary()); without an IOMMU, physically
 * contiguous pages are one segment, but for a device with boundaries
 * (every PCI device on a 64-bit kernel) each page is its own, which crosses
 * none. ksalloc_dma_addr() gives the
 * address of a frame that is one range for the device, ksalloc_dma_sgt()
 * the list of every frame mapped as one.
 *
 * The attachment holds a reference to the allocator's file and to the
 * device: the allocator lives until it is detached, whoever else lets go.
 */

/* A device attached to an allocator: made by ksalloc_dma_attach(), opaque. */
struct ksalloc_dma;

struct ksalloc_dma *ksalloc_dma_attach(struct file *file, struct device *dev,
				       enum dma_data_direction dir);
void ksalloc_dma_detach(struct ksalloc_dma *dma);
dma_addr_t ksalloc_dma_addr(const struct ksalloc_dma *dma, const void *frame);
const struct sg_table *ksalloc_dma_sgt(const struct ksalloc_dma *dma,
				       const void *frame);
int ksalloc_dma_sync_for_device(const struct ksalloc_dma *dma,
				const void *frame, size_t len);
int ksalloc_dma_sync_for_cpu(const struct ksalloc_dma *dma, const void *frame,
			     size_t len);
int ksalloc_dma_allocate_frame(const struct ksalloc_dma *dma, void **frame,
			       dma_addr_t *addr);

#if IS_ENABLED(CONFIG_KUNIT)
/* Exported only to the KUnit tests (namespace EXPORTED_FOR_KUNIT_TESTING). */
void ksalloc_get_totals(struct ksalloc_totals *totals);
/**
 * struct ksalloc_test_hooks - where the KUnit tests step into the allocator
 * @scan: called, if set, by a scan of every CPU's cache after each one
 *	(frame.c), with the allocator's lock held and interrupts disabled.
 * @dma_map: called, if set, before each frame is mapped for @dev (dma.c):
 *	true fails that mapping as if the DMA API had.
 * @dma_unmap: called, if set, after each frame is unmapped for @dev.
 * @dma_align: if set, the frame alignment @dev needs, in bytes, in place of
 *	what its coherence says (x86 devices are all coherent).
 */
struct ksalloc_test_hooks {
	void (*scan)(unsigned int cpu);
	bool (*dma_map)(struct device *dev);
	void (*dma_unmap)(struct device *dev);
	unsigned int (*dma_align)(struct device *dev);
};

extern struct ksalloc_test_hooks ksalloc_test_hooks;
#endif

#endif /* _LINUX_KSALLOC_H */
