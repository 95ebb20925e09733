/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * ksalloc_capture - a capture stream that takes its frames from a ksalloc
 * allocator: the ioctl ABI of /dev/ksalloc_capture.
 *
 * Every open() is one stream. Give it an allocator (the fd of a /dev/ksalloc
 * file with an atomic pool: the analogue of setting KSPROPERTY_STREAM_ALLOCATOR
 * on a pin) and a format, then STREAMON: a hard-IRQ timer produces frames at
 * the frame rate into the allocator's frames, and read() returns the oldest
 * completed frame, header first, then gives the frame back to the allocator.
 * When the allocator has no free frame the frame is dropped and counted.
 *
 * Counters: produced = delivered + dropped + in_flight in every snapshot.
 * Timer ticks the machine missed count as produced and dropped. Frames
 * discarded at STREAMOFF or close, or lost to a faulting read(), count as
 * dropped. The counters keep their values after STREAMOFF; STREAMON resets
 * them.
 *
 * read() returns one whole frame, or 0 when the stream is stopped (poll()
 * then reports EPOLLIN | EPOLLHUP); a buffer too small for the frame gets
 * -EINVAL and leaves the frame queued. When several errors apply, the
 * argument checks come first, then -EBUSY (streaming), then -EMSGSIZE.
 *
 * Zero copy: KSALLOC_CAPTURE_IOC_DEQUEUE_FRAME hands out the oldest complete
 * frame without copying it: where it is in an mmap() of the allocator's
 * file (see struct ksalloc_mapped_frame), its header, and a handle; the
 * application reads the frame through its own mapping and gives it back
 * with KSALLOC_CAPTURE_IOC_RETURN_FRAME. The allocator's pool must be
 * mappable (page-backed). A stream is read one way at a time: the first
 * read() or DEQUEUE_FRAME after STREAMON chooses, and until the next
 * STREAMON the other fails with -EBUSY. A dequeued frame counts as
 * delivered; the frames an application still holds go back to the allocator
 * at STREAMOFF and at close.
 *
 * Sources: by default a timer produces the frames (KSALLOC_CAPTURE_SOURCE_TIMER).
 * KSALLOC_CAPTURE_IOC_SET_SOURCE can choose a device instead: QEMU's edu PCI
 * device (KSALLOC_CAPTURE_SOURCE_EDU), whose DMA engine writes every frame,
 * header and payload, into the allocator's frames at its own pace (the
 * format's fps is not used): the same frames, checked the same way. If the
 * device goes away while streaming (its driver unbound), DEQUEUE_FRAME and
 * read() fail with -ENODEV; the frames the application holds stay readable
 * through its mapping until it returns them, and STREAMOFF ends the stream
 * as usual.
 */
#ifndef _UAPI_LINUX_KSALLOC_CAPTURE_H
#define _UAPI_LINUX_KSALLOC_CAPTURE_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define KSALLOC_CAPTURE_MAX_FPS		10000U
#define KSALLOC_CAPTURE_MAX_DIM		16384U
#define KSALLOC_CAPTURE_MAX_BPP		4U

/**
 * struct ksalloc_capture_allocator - KSALLOC_CAPTURE_IOC_SET_ALLOCATOR
 * @fd: a /dev/ksalloc file descriptor with its framing set.
 * @flags: must be 0.
 */
struct ksalloc_capture_allocator {
	__s32 fd;
	__u32 flags;
};

/**
 * struct ksalloc_capture_format - KSALLOC_CAPTURE_IOC_SET_FORMAT
 * @width: pixels per line, 1 to KSALLOC_CAPTURE_MAX_DIM.
 * @height: lines, 1 to KSALLOC_CAPTURE_MAX_DIM.
 * @bytes_per_pixel: 1 to KSALLOC_CAPTURE_MAX_BPP (YUYV: 2).
 * @fps: frames per second, 1 to KSALLOC_CAPTURE_MAX_FPS.
 *
 * The payload is width * height * bytes_per_pixel bytes; a frame holds a
 * struct ksalloc_capture_header and the payload.
 */
struct ksalloc_capture_format {
	__u32 width;
	__u32 height;
	__u32 bytes_per_pixel;
	__u32 fps;
};

/**
 * struct ksalloc_capture_header - what each frame starts with
 * @sequence: 0 for the first frame after STREAMON, then one per timer tick;
 *	dropped frames leave gaps.
 * @timestamp_ns: CLOCK_MONOTONIC time of the tick, in nanoseconds.
 * @payload_size: bytes of payload that follow the header.
 * @reserved: 0.
 *
 * Payload byte i is byte (i % 8) of the little-endian 64-bit value
 * (sequence << 32) | (i / 8): see ksalloc_capture_pattern().
 */
struct ksalloc_capture_header {
	__u64 sequence;
	__u64 timestamp_ns;
	__u32 payload_size;
	__u32 reserved;
};

/* The 64-bit word at payload offset 8 * @word of frame @sequence. */
static inline __u64 ksalloc_capture_pattern(__u64 sequence, __u64 word)
{
	return (sequence << 32) | (__u32)word;
}

/**
 * struct ksalloc_capture_counters - KSALLOC_CAPTURE_IOC_GET_COUNTERS
 * @produced: timer ticks since STREAMON: frames captured or dropped.
 * @delivered: frames returned by read() or DEQUEUE_FRAME (held or given
 *	back since).
 * @dropped: ticks without a free frame, plus frames discarded at STREAMOFF.
 * @in_flight: frames taken from the allocator and not yet delivered; the
 *	frames an application holds are not counted here.
 * @streaming: 1 between STREAMON and STREAMOFF.
 */
struct ksalloc_capture_counters {
	__u64 produced;
	__u64 delivered;
	__u64 dropped;
	__u32 in_flight;
	__u32 streaming;
};

/**
 * struct ksalloc_capture_frame - KSALLOC_CAPTURE_IOC_DEQUEUE_FRAME
 * @handle: out: the frame's handle, for KSALLOC_CAPTURE_IOC_RETURN_FRAME;
 *	never 0, never reused by the stream.
 * @offset: out: where the frame (its header) starts in an mmap() of the
 *	allocator's file at offset 0; a multiple of the page size.
 * @sequence: out: the frame's header, as struct ksalloc_capture_header.
 * @timestamp_ns: out: see @sequence.
 * @payload_size: out: see @sequence; the payload follows the header.
 * @flags: in: must be 0; out: 0.
 * @reserved: in: must be 0; out: 0.
 *
 * The other fields' input values are ignored.
 */
struct ksalloc_capture_frame {
	__u64 handle;
	__u64 offset;
	__u64 sequence;
	__u64 timestamp_ns;
	__u32 payload_size;
	__u32 flags;
	__u64 reserved;
};

/**
 * struct ksalloc_capture_frame_handle - KSALLOC_CAPTURE_IOC_RETURN_FRAME
 * @handle: a handle from KSALLOC_CAPTURE_IOC_DEQUEUE_FRAME on this stream.
 *	-EINVAL for one the stream never handed out (0, or above the last one
 *	handed out); -ENOENT for one it handed out that the application no
 *	longer holds (returned already, or taken back by STREAMOFF).
 * @flags: must be 0.
 * @reserved: must be 0.
 */
struct ksalloc_capture_frame_handle {
	__u64 handle;
	__u32 flags;
	__u32 reserved;
};

/* Frames from a timer: the default. */
#define KSALLOC_CAPTURE_SOURCE_TIMER	0U
/* Frames from QEMU's edu device (PCI 1234:11e8), by DMA. */
#define KSALLOC_CAPTURE_SOURCE_EDU	1U
/*
 * The largest frame (header and payload) edu writes: its 4096-byte buffer
 * but one byte, as QEMU up to 8.0 refuses (aborts on) a transfer that ends
 * at the buffer's end.
 */
#define KSALLOC_CAPTURE_EDU_MAX_FRAME	4095U

/**
 * struct ksalloc_capture_source - KSALLOC_CAPTURE_IOC_SET_SOURCE
 * @source: KSALLOC_CAPTURE_SOURCE_TIMER or KSALLOC_CAPTURE_SOURCE_EDU.
 * @flags: must be 0.
 *
 * With KSALLOC_CAPTURE_SOURCE_EDU, STREAMON takes an edu device no other
 * stream uses and maps the allocator's frames for it; it fails with -ENODEV
 * if no edu device is bound to ksalloc_capture, -EBUSY if every one streams
 * for another stream (or stopped answering, until it is bound again),
 * -EMSGSIZE if header and payload exceed KSALLOC_CAPTURE_EDU_MAX_FRAME, and
 * with ksalloc_dma_attach()'s errors if the frames cannot be mapped for it
 * (-EOPNOTSUPP, -ERANGE, -EIO, -ENOMEM).
 */
struct ksalloc_capture_source {
	__u32 source;
	__u32 flags;
};

#define KSALLOC_CAPTURE_IOC_MAGIC	0xD8

/* Take a reference to an allocator; drop the previous one. Not while streaming. */
#define KSALLOC_CAPTURE_IOC_SET_ALLOCATOR \
	_IOW(KSALLOC_CAPTURE_IOC_MAGIC, 0x00, struct ksalloc_capture_allocator)
#define KSALLOC_CAPTURE_IOC_SET_FORMAT \
	_IOW(KSALLOC_CAPTURE_IOC_MAGIC, 0x01, struct ksalloc_capture_format)
/* Start producing frames; resets the counters and the sequence. */
#define KSALLOC_CAPTURE_IOC_STREAMON	_IO(KSALLOC_CAPTURE_IOC_MAGIC, 0x02)
/* Stop, and return every queued frame to the allocator. */
#define KSALLOC_CAPTURE_IOC_STREAMOFF	_IO(KSALLOC_CAPTURE_IOC_MAGIC, 0x03)
#define KSALLOC_CAPTURE_IOC_GET_COUNTERS \
	_IOR(KSALLOC_CAPTURE_IOC_MAGIC, 0x04, struct ksalloc_capture_counters)
/*
 * Hand out the oldest complete frame without copying it, waiting
 * (interruptibly) for one; -EAGAIN at once on an O_NONBLOCK file. -ENODEV if
 * the allocator's pool is not mappable, -EBADFD without an allocator, -EBUSY
 * if read() was chosen, -ENODATA when the stream is stopped.
 */
#define KSALLOC_CAPTURE_IOC_DEQUEUE_FRAME \
	_IOWR(KSALLOC_CAPTURE_IOC_MAGIC, 0x05, struct ksalloc_capture_frame)
/* Give a dequeued frame back; it returns to the allocator. */
#define KSALLOC_CAPTURE_IOC_RETURN_FRAME \
	_IOW(KSALLOC_CAPTURE_IOC_MAGIC, 0x06, struct ksalloc_capture_frame_handle)

/* Choose where frames come from; -EINVAL for an unknown source, -EBUSY while streaming. */
#define KSALLOC_CAPTURE_IOC_SET_SOURCE \
	_IOW(KSALLOC_CAPTURE_IOC_MAGIC, 0x07, struct ksalloc_capture_source)

#endif /* _UAPI_LINUX_KSALLOC_CAPTURE_H */
