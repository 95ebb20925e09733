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
 * @delivered: frames returned by read().
 * @dropped: ticks without a free frame, plus frames discarded at STREAMOFF.
 * @in_flight: frames taken from the allocator and not yet delivered.
 * @streaming: 1 between STREAMON and STREAMOFF.
 */
struct ksalloc_capture_counters {
	__u64 produced;
	__u64 delivered;
	__u64 dropped;
	__u32 in_flight;
	__u32 streaming;
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

#endif /* _UAPI_LINUX_KSALLOC_CAPTURE_H */
