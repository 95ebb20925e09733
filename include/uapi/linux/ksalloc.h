/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * ksalloc - Kernel Streaming style frame allocators: the ioctl ABI of /dev/ksalloc.
 *
 * Every open() of /dev/ksalloc is one allocator. KSALLOC_IOC_SET_FRAMING fixes
 * its framing once and preallocates its frames; user space then takes and
 * returns frames by handle, and kernel clients use the same allocator through
 * the function table of <linux/ksalloc.h>.
 *
 * ABI rules: fixed-width types only, no implicit padding, every structure a
 * multiple of 8 bytes, every reserved field and unknown flag rejected. The
 * structure size is part of each command number (_IOC_SIZE); a structure never
 * changes, a new layout comes with a new command.
 */
#ifndef _UAPI_LINUX_KSALLOC_H
#define _UAPI_LINUX_KSALLOC_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Frame memory may be used from any context: KS NonPagedPool. */
#define KSALLOC_POOL_ATOMIC		0
/* Only the sleeping interfaces (ioctls, requests): KS PagedPool. */
#define KSALLOC_POOL_SLEEPABLE		1

/*
 * Frames are ordinary system memory: KSALLOCATOR_OPTIONF_SYSTEM_MEMORY. It is
 * what every ksalloc frame is; the bit is accepted for KS compatibility.
 */
#define KSALLOC_OPTIONF_SYSTEM_MEMORY	(1U << 0)
/*
 * The pool can be mapped with mmap() (see KSALLOC_IOC_ALLOC_FRAME2). Frames
 * larger than KSALLOC_SLAB_FRAME_SIZE bytes (once aligned) always can; this
 * bit asks it for smaller ones, each of which then takes whole pages.
 */
#define KSALLOC_OPTIONF_MAPPABLE	(1U << 1)
#define KSALLOC_OPTIONF_VALID		(KSALLOC_OPTIONF_SYSTEM_MEMORY | \
					 KSALLOC_OPTIONF_MAPPABLE)

/*
 * Frames of at most this many bytes (the frame size rounded up to the
 * alignment) come from slab caches, and are packed; larger frames, and
 * every frame of a KSALLOC_OPTIONF_MAPPABLE pool, are page-backed: each
 * starts on a page and takes the frame size rounded up to whole pages.
 */
#define KSALLOC_SLAB_FRAME_SIZE		8192U

/* Upper bounds of a framing; the module parameter max_pool_bytes caps the total. */
#define KSALLOC_MAX_FRAMES		65536U
#define KSALLOC_MAX_FRAME_SIZE		(4U << 20)

/**
 * struct ksalloc_framing - KSALLOCATOR_FRAMING
 * @options: KSALLOC_OPTIONF_* bits.
 * @pool_type: KSALLOC_POOL_ATOMIC or KSALLOC_POOL_SLEEPABLE.
 * @frames: number of frames, 1 to KSALLOC_MAX_FRAMES.
 * @frame_size: bytes per frame, 1 to KSALLOC_MAX_FRAME_SIZE.
 * @alignment: KS FileAlignment: a mask 2^n - 1 (0: byte aligned), at most
 *	PAGE_SIZE - 1. Every frame address has these bits clear.
 * @reserved: must be 0.
 */
struct ksalloc_framing {
	__u32 options;
	__u32 pool_type;
	__u32 frames;
	__u32 frame_size;
	__u32 alignment;
	__u32 reserved;
};

/**
 * struct ksalloc_status - KSSTREAMALLOCATOR_STATUS plus counters
 * @framing: the framing; all zero before KSALLOC_IOC_SET_FRAMING.
 * @allocated_frames: frames currently allocated (by anyone); exact when no
 *	allocation or free runs meanwhile, else summed from per-CPU counts.
 * @peak_allocated_frames: the most frames allocated at once, exact.
 * @waiters: requests pending for a frame (blocked ALLOC_FRAME calls and
 *	kernel requests).
 * @misuse_events: invalid frees by kernel clients (detected and refused)
 *	and, in debug builds (KASAN or SLUB_DEBUG_ON), free frames found
 *	written after free_frame when they are taken again.
 * @total_allocations: frames taken since the framing was set.
 * @failed_allocations: allocations refused at once because no frame was free
 *	(allocate_frame and O_NONBLOCK KSALLOC_IOC_ALLOC_FRAME); waits that a
 *	signal ends are not counted.
 */
struct ksalloc_status {
	struct ksalloc_framing framing;
	__u32 allocated_frames;
	__u32 peak_allocated_frames;
	__u32 waiters;
	__u32 misuse_events;
	__u64 total_allocations;
	__u64 failed_allocations;
};

/**
 * struct ksalloc_frame_handle - a frame as user space sees it
 * @handle: out of KSALLOC_IOC_ALLOC_FRAME (its input value is ignored),
 *	into KSALLOC_IOC_FREE_FRAME. Opaque: 1 to the allocator's frame count,
 *	dealt to the frames in a random order when the framing is set, so it
 *	says nothing about addresses; it means something only to the file that
 *	issued it. FREE_FRAME fails with EINVAL for 0 or above the frame count,
 *	with ENOENT for a frame user space does not hold (or whose ALLOC_FRAME
 *	has not returned yet). A new pool hands out its frames in a random
 *	order: neither the order of the handles nor that of the offsets
 *	ALLOC_FRAME2 gives follows the addresses.
 * @flags: must be 0.
 * @reserved: must be 0.
 */
struct ksalloc_frame_handle {
	__u64 handle;
	__u32 flags;
	__u32 reserved;
};

/**
 * struct ksalloc_mapped_frame - a frame, and where it is in the mapping
 * @handle: as in struct ksalloc_frame_handle: return it with
 *	KSALLOC_IOC_FREE_FRAME (EBUSY while it is exported as a dma-buf).
 * @offset: where the frame starts in an mmap() of the allocator's file at
 *	offset 0: a multiple of the page size.
 * @flags: must be 0.
 * @reserved: must be 0.
 *
 * The mapping of a mappable pool is its frames, each frame_size rounded up
 * to whole pages, frames times that in all; mmap() it MAP_SHARED, without
 * PROT_EXEC, at offsets (multiples of the page size) within it. Frames read
 * all zero until first written. mmap() fails with EINVAL for a private
 * mapping, EPERM for an executable one, EBADFD before the framing is set,
 * ENODEV for a pool that is not mappable (see KSALLOC_OPTIONF_MAPPABLE) and
 * ENXIO for a range beyond the pool. A mapping keeps the pool's memory, and
 * the allocator, until it is unmapped, whatever is closed first.
 */
struct ksalloc_mapped_frame {
	__u64 handle;
	__u64 offset;
	__u32 flags;
	__u32 reserved;
};

/**
 * struct ksalloc_export_frame - a frame exported as a dma-buf
 * @handle: in: a frame user space holds (from KSALLOC_IOC_ALLOC_FRAME or
 *	KSALLOC_IOC_ALLOC_FRAME2) in a page-backed pool.
 * @flags: in: O_CLOEXEC for the new descriptor, O_RDWR for a dma-buf that
 *	can be mapped writable (else read-only); no other bit.
 * @fd: out: the dma-buf's file descriptor; its input value is ignored.
 *
 * The dma-buf is the frame's pages, frame_size rounded up to whole pages;
 * other drivers import it (V4L2_MEMORY_DMABUF, ...), user space can mmap()
 * it MAP_SHARED, without PROT_EXEC, and bracket its accesses with
 * DMA_BUF_IOCTL_SYNC. The frame stays held by user space: FREE_FRAME
 * refuses it with EBUSY until every export of it is gone (the last
 * reference to each dma-buf: descriptors, mappings, importers). A dma-buf
 * keeps the allocator, and so the frame and the pool, until then, even if
 * every descriptor of the allocator is closed. A frame may be exported more
 * than once. Errors, the first that applies in this order: EOPNOTSUPP on a
 * kernel without dma-buf, EINVAL for an unknown flag, EBADF for O_RDWR on a
 * file not open for writing, EBADFD before the framing is set, ENODEV for a
 * pool that is not page-backed (see KSALLOC_OPTIONF_MAPPABLE), EINVAL for a
 * handle out of range, ENOENT for a frame user space does not hold (or
 * whose ALLOC_FRAME has not returned), ENOMEM, ENFILE, EMFILE when no
 * descriptor is free.
 */
struct ksalloc_export_frame {
	__u64 handle;
	__u32 flags;
	__s32 fd;
};

#define KSALLOC_IOC_MAGIC	0xD7

/*
 * Fix the framing and preallocate the frames. Once per allocator: -EBUSY
 * after, mapped or not.
 */
#define KSALLOC_IOC_SET_FRAMING	_IOW(KSALLOC_IOC_MAGIC, 0x00, struct ksalloc_framing)
/* Read the framing and the counters. */
#define KSALLOC_IOC_GET_STATUS	_IOR(KSALLOC_IOC_MAGIC, 0x01, struct ksalloc_status)
/*
 * Take a frame, waiting (interruptibly, in FIFO order with kernel requests)
 * until one is free; -EAGAIN at once on an O_NONBLOCK file.
 */
#define KSALLOC_IOC_ALLOC_FRAME	_IOWR(KSALLOC_IOC_MAGIC, 0x02, struct ksalloc_frame_handle)
/* Return a frame taken with KSALLOC_IOC_ALLOC_FRAME on this file. */
#define KSALLOC_IOC_FREE_FRAME	_IOW(KSALLOC_IOC_MAGIC, 0x03, struct ksalloc_frame_handle)
/*
 * KSALLOC_IOC_ALLOC_FRAME that also says where the frame is in the mapping;
 * ENODEV, taking no frame, if the pool is not mappable.
 */
#define KSALLOC_IOC_ALLOC_FRAME2 _IOWR(KSALLOC_IOC_MAGIC, 0x04, struct ksalloc_mapped_frame)
/* Export a frame user space holds as a dma-buf (struct ksalloc_export_frame). */
#define KSALLOC_IOC_EXPORT_FRAME _IOWR(KSALLOC_IOC_MAGIC, 0x05, struct ksalloc_export_frame)

#endif /* _UAPI_LINUX_KSALLOC_H */
