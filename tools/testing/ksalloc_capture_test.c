// SPDX-License-Identifier: GPL-2.0
/*
 * ksalloc_capture_test - kselftest of /dev/ksalloc_capture
 *
 * Every open() of /dev/ksalloc_capture is a capture stream that fills the
 * frames of a /dev/ksalloc allocator from a timer. These tests check every
 * errno of SET_ALLOCATOR, SET_FORMAT and STREAMON, each invalid argument
 * alone; read() and poll(); that delivered frames verify (whole size, header,
 * strictly increasing sequence, timestamps between STREAMON and the read,
 * every payload byte against ksalloc_capture_pattern()); the counters
 * invariant produced == delivered + dropped + in_flight; and that frames
 * always find their way back to the allocator: at STREAMOFF, at close, when
 * the allocator's fd is closed under a running stream, when two streams share
 * an allocator, and when a stream switches allocators. The zero-copy path
 * (DEQUEUE_FRAME, RETURN_FRAME) is checked the same way, every payload byte
 * read through a mapping of the allocator; with its refusals, that read()
 * and it exclude each other, and that frames the application holds go back
 * at STREAMOFF and at close.
 *
 * Both modules are supposed to be loaded: a missing /dev/ksalloc_capture is a
 * failure, not a skip. The last test checks the module's totals in debugfs:
 * no misuse event and no allocator released with frames retained since the
 * program started. Time: a stream's timer runs in a slow (TCG, KASAN)
 * guest, so the tests wait for what they need (frames, in_flight) under a
 * deadline instead of assuming a rate; only upper bounds are taken from the
 * frame rate.
 *
 * Build, as a 64-bit and as a 32-bit (-m32) program:
 *
 *	cd tools/testing && gcc [-m32] -static -O2 -Wall -Wextra -Werror \
 *		-D_GNU_SOURCE -I../../include/uapi -I../include \
 *		-I<linux>/tools/testing/selftests -o ksalloc_capture_test \
 *		ksalloc_capture_test.c -lpthread
 */
#include <assert.h>
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <linux/ksalloc.h>
#include <linux/ksalloc_capture.h>

#include "ksalloc_capture_verify.h"
#include "ksalloc_test_util.h"

/* See ksalloc_test.c: these warnings are about the 6.12 harness. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wclobbered"
#include "kselftest_harness.h"
#include "ksalloc_capture_harness.h"

#define HDR_SIZE		sizeof(struct ksalloc_capture_header)
/* How long anything expected may take, even on a slow KASAN guest. */
#define CAPTURE_TEST_WAIT_MS	5000
/* The capture fixture: 4 frames of 64x48 YUYV. */
#define CAPTURE_FRAMES		4U
#define CAPTURE_PAYLOAD		(64 * 48 * 2)
/* Frames to see delivered before a stream is judged to work. */
#define CAPTURE_ENOUGH		(3 * CAPTURE_FRAMES)

/* The UAPI structures are ABI: identical for 32-bit and 64-bit user space. */
static_assert(sizeof(struct ksalloc_capture_allocator) == 8, "allocator size");
static_assert(offsetof(struct ksalloc_capture_allocator, fd) == 0, "fd");
static_assert(offsetof(struct ksalloc_capture_allocator, flags) == 4, "flags");

static_assert(sizeof(struct ksalloc_capture_format) == 16, "format size");
static_assert(offsetof(struct ksalloc_capture_format, width) == 0, "width");
static_assert(offsetof(struct ksalloc_capture_format, height) == 4, "height");
static_assert(offsetof(struct ksalloc_capture_format, bytes_per_pixel) == 8, "bpp");
static_assert(offsetof(struct ksalloc_capture_format, fps) == 12, "fps");

static_assert(sizeof(struct ksalloc_capture_header) == 24, "header size");
static_assert(offsetof(struct ksalloc_capture_header, sequence) == 0, "sequence");
static_assert(offsetof(struct ksalloc_capture_header, timestamp_ns) == 8, "timestamp");
static_assert(offsetof(struct ksalloc_capture_header, payload_size) == 16, "payload_size");
static_assert(offsetof(struct ksalloc_capture_header, reserved) == 20, "header reserved");

static_assert(sizeof(struct ksalloc_capture_counters) == 32, "counters size");
static_assert(offsetof(struct ksalloc_capture_counters, produced) == 0, "produced");
static_assert(offsetof(struct ksalloc_capture_counters, delivered) == 8, "delivered");
static_assert(offsetof(struct ksalloc_capture_counters, dropped) == 16, "dropped");
static_assert(offsetof(struct ksalloc_capture_counters, in_flight) == 24, "in_flight");
static_assert(offsetof(struct ksalloc_capture_counters, streaming) == 28, "streaming");

static_assert(KSALLOC_CAPTURE_IOC_SET_ALLOCATOR == 0x4008d800, "SET_ALLOCATOR");
static_assert(KSALLOC_CAPTURE_IOC_SET_FORMAT == 0x4010d801, "SET_FORMAT");
static_assert(KSALLOC_CAPTURE_IOC_STREAMON == 0xd802, "STREAMON");
static_assert(KSALLOC_CAPTURE_IOC_STREAMOFF == 0xd803, "STREAMOFF");
static_assert(KSALLOC_CAPTURE_IOC_GET_COUNTERS == 0x8020d804, "GET_COUNTERS");
static_assert(KSALLOC_CAPTURE_IOC_DEQUEUE_FRAME == 0xc030d805, "DEQUEUE_FRAME");
static_assert(KSALLOC_CAPTURE_IOC_RETURN_FRAME == 0x4010d806, "RETURN_FRAME");

static_assert(sizeof(struct ksalloc_capture_frame) == 48, "frame size");
static_assert(offsetof(struct ksalloc_capture_frame, handle) == 0, "handle");
static_assert(offsetof(struct ksalloc_capture_frame, offset) == 8, "offset");
static_assert(offsetof(struct ksalloc_capture_frame, sequence) == 16, "frame sequence");
static_assert(offsetof(struct ksalloc_capture_frame, timestamp_ns) == 24, "frame timestamp");
static_assert(offsetof(struct ksalloc_capture_frame, payload_size) == 32, "frame payload");
static_assert(offsetof(struct ksalloc_capture_frame, flags) == 36, "frame flags");
static_assert(offsetof(struct ksalloc_capture_frame, reserved) == 40, "frame reserved");
static_assert(sizeof(struct ksalloc_capture_frame_handle) == 16, "frame handle size");
static_assert(offsetof(struct ksalloc_capture_frame_handle, handle) == 0, "fh handle");
static_assert(offsetof(struct ksalloc_capture_frame_handle, flags) == 8, "fh flags");
static_assert(offsetof(struct ksalloc_capture_frame_handle, reserved) == 12, "fh reserved");

/*
 * read() on a stream that is not streaming: 0, also on an O_NONBLOCK file, so
 * one is used for a module that would wrongly block (read_not_streaming_eof
 * checks a blocking file).
 */
static ssize_t read_eof(int cap, void *buf, size_t size)
{
	int flags = fcntl(cap, F_GETFL);
	ssize_t ret;

	if (flags < 0 || fcntl(cap, F_SETFL, flags | O_NONBLOCK))
		return -errno;
	ret = read(cap, buf, size);
	if (ret < 0)
		ret = -errno;
	fcntl(cap, F_SETFL, flags);
	return ret;
}

/* Polls GET_COUNTERS until @n frames are in flight; returns the last counters. */
static struct ksalloc_capture_counters wait_in_flight(struct __test_metadata *_metadata,
						      int cap, __u32 n)
{
	unsigned long long deadline = now_ns() + CAPTURE_TEST_WAIT_MS * NSEC_PER_MSEC;
	struct ksalloc_capture_counters c;

	do {
		c = counters(_metadata, cap);
		if (c.in_flight >= n)
			break;
		sleep_ms(1);
	} while (now_ns() < deadline);
	EXPECT_EQ(n, c.in_flight);
	return c;
}

/* What a reader of one stream has seen, to check each new frame against. */
struct reader {
	int cap;
	__u32 payload_size;
	bool first_is_zero;	/* only ticks can be dropped before frame 0 */
	unsigned long long since;	/* CLOCK_MONOTONIC before STREAMON */
	__u64 frames;
	__u64 last_sequence;
	__u64 last_timestamp;
	unsigned char *buf;
	size_t size;
};

static void reader_init(struct __test_metadata *_metadata, struct reader *r, int cap,
			__u32 payload_size)
{
	*r = (struct reader){
		.cap = cap,
		.payload_size = payload_size,
		.first_is_zero = true,
		.size = HDR_SIZE + payload_size,
	};
	r->buf = malloc(r->size);
	ASSERT_TRUE(!!r->buf);
}

/* STREAMON, remembering when, for the timestamps. */
static void reader_start(struct __test_metadata *_metadata, struct reader *r)
{
	r->since = now_ns();
	r->frames = 0;
	ASSERT_EQ(0, streamon(r->cap));
}

/* Checks the frame just read into r->buf (@len bytes). */
static void check_frame(struct __test_metadata *_metadata, struct reader *r, ssize_t len)
{
	const struct ksalloc_capture_header *h = (const void *)r->buf;
	unsigned long long now = now_ns();
	long long at;

	ASSERT_EQ((ssize_t)r->size, len)
		TH_LOG("frame %llu", (unsigned long long)r->frames);
	ASSERT_EQ(r->payload_size, h->payload_size);
	EXPECT_EQ(0U, h->reserved);
	if (r->frames == 0 && r->first_is_zero && h->sequence) {
		struct ksalloc_capture_counters c;

		/*
		 * Frames are delivered in order, so every earlier tick was
		 * dropped: a late first timer tick (a loaded TCG host) counts
		 * as a dropped frame.
		 */
		ASSERT_EQ(0, get_counters(r->cap, &c));
		ASSERT_GE(c.dropped, h->sequence);
	}
	if (r->frames > 0) {
		ASSERT_LT(r->last_sequence, h->sequence);
		ASSERT_LE(r->last_timestamp, h->timestamp_ns);
	}
	ASSERT_LE(r->since, h->timestamp_ns)
		TH_LOG("frame %llu: timestamp before STREAMON", (unsigned long long)h->sequence);
	ASSERT_GE(now, h->timestamp_ns)
		TH_LOG("frame %llu: timestamp after the read", (unsigned long long)h->sequence);
	at = ksalloc_capture_mismatch(r->buf + HDR_SIZE, r->payload_size, h->sequence);
	ASSERT_EQ(-1, at)
		TH_LOG("frame %llu: payload byte %lld is 0x%02x", (unsigned long long)h->sequence,
		       at, r->buf[HDR_SIZE + at]);
	r->frames++;
	r->last_sequence = h->sequence;
	r->last_timestamp = h->timestamp_ns;
}

/* Reads and checks one frame, waiting for it. */
static void read_one(struct __test_metadata *_metadata, struct reader *r)
{
	ssize_t len = read_capture_frame(r->cap, r->buf, r->size, CAPTURE_TEST_WAIT_MS);

	ASSERT_LT(0, len)
		TH_LOG("read after %llu frames: %s", (unsigned long long)r->frames,
		       len ? strerror(-len) : "end of stream");
	check_frame(_metadata, r, len);
}

/* Reads and checks frames for @ms, and until at least @min have come. */
static void read_for(struct __test_metadata *_metadata, struct reader *r, unsigned int ms,
		     __u64 min)
{
	unsigned long long end = now_ns() + ms * NSEC_PER_MSEC;
	__u64 start = r->frames;

	while (now_ns() < end || r->frames - start < min)
		read_one(_metadata, r);
}

/* STREAMOFF, then the final counters must add up with nothing in flight. */
static struct ksalloc_capture_counters reader_stop(struct __test_metadata *_metadata,
						   struct reader *r)
{
	struct ksalloc_capture_counters c;

	EXPECT_EQ(0, streamoff(r->cap));
	c = counters(_metadata, r->cap);
	EXPECT_EQ(0U, c.streaming);
	EXPECT_EQ(0U, c.in_flight);
	EXPECT_EQ(r->frames, c.delivered);
	if (r->frames)
		EXPECT_LT(r->last_sequence, c.produced);
	/* Nothing is left to read: end of stream. */
	EXPECT_EQ(0, read_eof(r->cap, r->buf, r->size));
	return c;
}

TEST(device_node)
{
	struct ksalloc_capture_counters c;
	struct stat st;
	int fd;

	ASSERT_EQ(0, stat(KSALLOC_CAPTURE_DEV, &st))
		TH_LOG("%s: %s (is ksalloc_capture loaded?)", KSALLOC_CAPTURE_DEV, strerror(errno));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	fd = capture_dev_open(0);
	ASSERT_LE(0, fd)
		TH_LOG("open %s: %s", KSALLOC_CAPTURE_DEV, strerror(errno));
	/* A new stream: nothing produced, not streaming. */
	ASSERT_EQ(0, get_counters(fd, &c));
	EXPECT_EQ(0ULL, c.produced);
	EXPECT_EQ(0ULL, c.delivered);
	EXPECT_EQ(0ULL, c.dropped);
	EXPECT_EQ(0U, c.in_flight);
	EXPECT_EQ(0U, c.streaming);
	EXPECT_EQ(0, close(fd));
}

/*
 * A stream and an atomic allocator of CAPTURE_FRAMES frames that hold a
 * header and a 64x48 YUYV payload exactly; neither is attached nor set.
 */
FIXTURE(capture) {
	int cap;
	int alloc;
	struct reader r;
};

FIXTURE_SETUP(capture)
{
	self->cap = capture_dev_open(0);
	ASSERT_LE(0, self->cap)
		TH_LOG("open %s: %s (is ksalloc_capture loaded?)", KSALLOC_CAPTURE_DEV,
		       strerror(errno));
	self->alloc = ksalloc_open_pool(KSALLOC_POOL_ATOMIC, CAPTURE_FRAMES,
					HDR_SIZE + CAPTURE_PAYLOAD, 63, 0);
	ASSERT_LE(0, self->alloc)
		TH_LOG("allocator: %s", strerror(-self->alloc));
	reader_init(_metadata, &self->r, self->cap, CAPTURE_PAYLOAD);
}

FIXTURE_TEARDOWN(capture)
{
	if (self->cap >= 0)
		close(self->cap);
	if (self->alloc >= 0)
		close(self->alloc);
	free(self->r.buf);
}

/* Allocator and format of the capture fixture set, at @fps. */
static void attach(struct __test_metadata *_metadata, int cap, int alloc, __u32 fps)
{
	ASSERT_EQ(0, set_allocator(cap, alloc));
	ASSERT_EQ(0, set_format(cap, 64, 48, 2, fps));
}

/* The stream has no allocator: STREAMON with a format set says so. */
static void expect_no_allocator(struct __test_metadata *_metadata, int cap)
{
	ASSERT_EQ(0, set_format(cap, 1, 1, 1, 1));
	EXPECT_EQ(-EBADFD, streamon(cap));
}

TEST_F(capture, set_allocator_flags_einval)
{
	EXPECT_EQ(-EINVAL, set_allocator_flags(self->cap, self->alloc, 1));
	EXPECT_EQ(-EINVAL, set_allocator_flags(self->cap, self->alloc, 1U << 31));
	EXPECT_EQ(-EINVAL, set_allocator_flags(self->cap, self->alloc, ~0U));
	expect_no_allocator(_metadata, self->cap);
}

TEST_F(capture, set_allocator_bad_fd_ebadf)
{
	int closed = dup(self->alloc);

	ASSERT_LE(0, closed);
	ASSERT_EQ(0, close(closed));
	EXPECT_EQ(-EBADF, set_allocator(self->cap, -1));
	EXPECT_EQ(-EBADF, set_allocator(self->cap, INT_MIN));
	EXPECT_EQ(-EBADF, set_allocator(self->cap, INT_MAX));
	EXPECT_EQ(-EBADF, set_allocator(self->cap, closed));
	expect_no_allocator(_metadata, self->cap);
}

TEST_F(capture, set_allocator_not_ksalloc_einval)
{
	int null, other, pipefd[2];

	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, null);
	other = capture_dev_open(0);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, pipe(pipefd));

	EXPECT_EQ(-EINVAL, set_allocator(self->cap, null));
	EXPECT_EQ(-EINVAL, set_allocator(self->cap, pipefd[0]));
	EXPECT_EQ(-EINVAL, set_allocator(self->cap, other));
	EXPECT_EQ(-EINVAL, set_allocator(self->cap, self->cap));
	expect_no_allocator(_metadata, self->cap);
	close(null);
	close(other);
	close(pipefd[0]);
	close(pipefd[1]);
}

TEST_F(capture, set_allocator_unframed_ebadfd)
{
	int fd = ksalloc_dev_open(0);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-EBADFD, set_allocator(self->cap, fd));
	expect_no_allocator(_metadata, self->cap);
	close(fd);
}

TEST_F(capture, set_allocator_sleepable_eopnotsupp)
{
	int fd = ksalloc_open_pool(KSALLOC_POOL_SLEEPABLE, CAPTURE_FRAMES,
				   HDR_SIZE + CAPTURE_PAYLOAD, 63, 0);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-EOPNOTSUPP, set_allocator(self->cap, fd));
	expect_no_allocator(_metadata, self->cap);
	close(fd);
}

TEST_F(capture, set_allocator_frame_too_small_emsgsize)
{
	int small, exact;

	small = ksalloc_open_pool(KSALLOC_POOL_ATOMIC, CAPTURE_FRAMES,
				  HDR_SIZE + CAPTURE_PAYLOAD - 1, 63, 0);
	ASSERT_LE(0, small);
	exact = ksalloc_open_pool(KSALLOC_POOL_ATOMIC, 1, HDR_SIZE + CAPTURE_PAYLOAD, 0, 0);
	ASSERT_LE(0, exact);

	ASSERT_EQ(0, set_format(self->cap, 64, 48, 2, 100));
	EXPECT_EQ(-EMSGSIZE, set_allocator(self->cap, small));
	EXPECT_EQ(-EBADFD, streamon(self->cap));
	/* Exactly a header and the payload fits. */
	EXPECT_EQ(0, set_allocator(self->cap, exact));
	/* A refused allocator does not drop the one set. */
	EXPECT_EQ(-EMSGSIZE, set_allocator(self->cap, small));
	reader_start(_metadata, &self->r);
	read_one(_metadata, &self->r);
	reader_stop(_metadata, &self->r);
	EXPECT_EQ(0U, allocated_frames(exact));
	EXPECT_EQ(0ULL, total_allocations(small));
	EXPECT_LT(0ULL, total_allocations(exact));
	close(small);
	close(exact);
}

TEST_F(capture, set_allocator_streaming_ebusy)
{
	int other = ksalloc_open_pool(KSALLOC_POOL_ATOMIC, CAPTURE_FRAMES,
				      HDR_SIZE + CAPTURE_PAYLOAD, 63, 0);

	ASSERT_LE(0, other);
	attach(_metadata, self->cap, self->alloc, 100);
	reader_start(_metadata, &self->r);
	EXPECT_EQ(-EBUSY, set_allocator(self->cap, other));
	EXPECT_EQ(-EBUSY, set_allocator(self->cap, self->alloc));
	read_one(_metadata, &self->r);
	reader_stop(_metadata, &self->r);
	EXPECT_EQ(0ULL, total_allocations(other));
	/* Stopped, it may change. */
	EXPECT_EQ(0, set_allocator(self->cap, other));
	close(other);
}

/* Each invalid format alone, with no allocator set. */
FIXTURE(capture_bad_format) {
	int cap;
};

FIXTURE_VARIANT(capture_bad_format) {
	struct ksalloc_capture_format format;
};

FIXTURE_SETUP(capture_bad_format)
{
	self->cap = capture_dev_open(0);
	ASSERT_LE(0, self->cap)
		TH_LOG("open %s: %s (is ksalloc_capture loaded?)", KSALLOC_CAPTURE_DEV,
		       strerror(errno));
}

FIXTURE_TEARDOWN(capture_bad_format)
{
	if (self->cap >= 0)
		close(self->cap);
}

FIXTURE_VARIANT_ADD(capture_bad_format, width_0) {
	.format = { .width = 0, .height = 48, .bytes_per_pixel = 2, .fps = 30 },
};

FIXTURE_VARIANT_ADD(capture_bad_format, width_max_plus_1) {
	.format = { .width = KSALLOC_CAPTURE_MAX_DIM + 1, .height = 1, .bytes_per_pixel = 1,
		    .fps = 30 },
};

FIXTURE_VARIANT_ADD(capture_bad_format, width_u32_max) {
	.format = { .width = ~0U, .height = 1, .bytes_per_pixel = 1, .fps = 30 },
};

FIXTURE_VARIANT_ADD(capture_bad_format, height_0) {
	.format = { .width = 64, .height = 0, .bytes_per_pixel = 2, .fps = 30 },
};

FIXTURE_VARIANT_ADD(capture_bad_format, height_max_plus_1) {
	.format = { .width = 1, .height = KSALLOC_CAPTURE_MAX_DIM + 1, .bytes_per_pixel = 1,
		    .fps = 30 },
};

FIXTURE_VARIANT_ADD(capture_bad_format, bpp_0) {
	.format = { .width = 64, .height = 48, .bytes_per_pixel = 0, .fps = 30 },
};

FIXTURE_VARIANT_ADD(capture_bad_format, bpp_max_plus_1) {
	.format = { .width = 64, .height = 48, .bytes_per_pixel = KSALLOC_CAPTURE_MAX_BPP + 1,
		    .fps = 30 },
};

FIXTURE_VARIANT_ADD(capture_bad_format, fps_0) {
	.format = { .width = 64, .height = 48, .bytes_per_pixel = 2, .fps = 0 },
};

FIXTURE_VARIANT_ADD(capture_bad_format, fps_max_plus_1) {
	.format = { .width = 64, .height = 48, .bytes_per_pixel = 2,
		    .fps = KSALLOC_CAPTURE_MAX_FPS + 1 },
};

FIXTURE_VARIANT_ADD(capture_bad_format, fps_u32_max) {
	.format = { .width = 64, .height = 48, .bytes_per_pixel = 2, .fps = ~0U },
};

FIXTURE_VARIANT_ADD(capture_bad_format, all_zero) {
	.format = { 0 },
};

TEST_F(capture_bad_format, set_format_einval)
{
	struct ksalloc_capture_format fmt = variant->format;
	struct reader r;
	int alloc;

	/* Without a format set, then with one: refused alike. */
	EXPECT_EQ(-EINVAL, ks_ioctl(self->cap, KSALLOC_CAPTURE_IOC_SET_FORMAT, &fmt));
	ASSERT_EQ(0, set_format(self->cap, 1, 1, 1, 100));
	fmt = variant->format;
	EXPECT_EQ(-EINVAL, ks_ioctl(self->cap, KSALLOC_CAPTURE_IOC_SET_FORMAT, &fmt));

	/* The 1x1 format stays: a frame of one payload byte fits, and comes. */
	alloc = ksalloc_open_pool(KSALLOC_POOL_ATOMIC, 2, HDR_SIZE + 1, 0, 0);
	ASSERT_LE(0, alloc);
	ASSERT_EQ(0, set_allocator(self->cap, alloc));
	reader_init(_metadata, &r, self->cap, 1);
	reader_start(_metadata, &r);
	read_one(_metadata, &r);
	reader_stop(_metadata, &r);
	free(r.buf);
	close(alloc);
}

/* With no allocator nothing limits the size: the largest formats are valid. */
TEST(set_format_limits)
{
	static const struct ksalloc_capture_format good[] = {
		{ KSALLOC_CAPTURE_MAX_DIM, 1, 1, 1 },
		{ 1, KSALLOC_CAPTURE_MAX_DIM, 1, 1 },
		{ 1, 1, KSALLOC_CAPTURE_MAX_BPP, 1 },
		{ 1, 1, 1, KSALLOC_CAPTURE_MAX_FPS },
		{ KSALLOC_CAPTURE_MAX_DIM, KSALLOC_CAPTURE_MAX_DIM, KSALLOC_CAPTURE_MAX_BPP,
		  KSALLOC_CAPTURE_MAX_FPS },
		{ 1, 1, 1, 1 },
	};
	struct ksalloc_capture_format fmt;
	size_t i;
	int cap;

	cap = capture_dev_open(0);
	ASSERT_LE(0, cap)
		TH_LOG("open %s: %s (is ksalloc_capture loaded?)", KSALLOC_CAPTURE_DEV,
		       strerror(errno));
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		fmt = good[i];
		EXPECT_EQ(0, ks_ioctl(cap, KSALLOC_CAPTURE_IOC_SET_FORMAT, &fmt))
			TH_LOG("%ux%u, %u bytes per pixel, %u fps", fmt.width, fmt.height,
			       fmt.bytes_per_pixel, fmt.fps);
	}
	EXPECT_EQ(0, close(cap));
}

TEST_F(capture, set_format_too_big_emsgsize)
{
	ASSERT_EQ(0, set_allocator(self->cap, self->alloc));
	ASSERT_EQ(0, set_format(self->cap, 64, 48, 2, 100));
	EXPECT_EQ(-EMSGSIZE, set_format(self->cap, 64, 49, 2, 100));
	EXPECT_EQ(-EMSGSIZE, set_format(self->cap, 65, 48, 2, 100));
	EXPECT_EQ(-EMSGSIZE, set_format(self->cap, 64, 48, 3, 100));
	EXPECT_EQ(-EMSGSIZE, set_format(self->cap, KSALLOC_CAPTURE_MAX_DIM,
					KSALLOC_CAPTURE_MAX_DIM, KSALLOC_CAPTURE_MAX_BPP, 100));
	/* The 64x48 format stays. */
	reader_start(_metadata, &self->r);
	read_one(_metadata, &self->r);
	reader_stop(_metadata, &self->r);
}

/* A payload smaller than the frame: read() returns the payload, not the frame. */
TEST_F(capture, set_format_smaller_than_frame)
{
	struct reader r;

	ASSERT_EQ(0, set_allocator(self->cap, self->alloc));
	ASSERT_EQ(0, set_format(self->cap, 32, 48, 2, 200));
	reader_init(_metadata, &r, self->cap, 32 * 48 * 2);
	reader_start(_metadata, &r);
	read_for(_metadata, &r, 0, CAPTURE_ENOUGH);
	reader_stop(_metadata, &r);
	free(r.buf);
}

TEST_F(capture, set_format_streaming_ebusy)
{
	attach(_metadata, self->cap, self->alloc, 100);
	reader_start(_metadata, &self->r);
	EXPECT_EQ(-EBUSY, set_format(self->cap, 64, 48, 2, 100));
	EXPECT_EQ(-EBUSY, set_format(self->cap, 64, 48, 2, 200));
	EXPECT_EQ(-EBUSY, set_format(self->cap, 32, 48, 2, 100));
	read_one(_metadata, &self->r);
	reader_stop(_metadata, &self->r);
	EXPECT_EQ(0, set_format(self->cap, 32, 48, 2, 200));
}

TEST_F(capture, streamon_unset_ebadfd)
{
	struct ksalloc_capture_counters c;

	EXPECT_EQ(-EBADFD, streamon(self->cap));
	c = counters(_metadata, self->cap);
	EXPECT_EQ(0U, c.streaming);
}

TEST_F(capture, streamon_no_allocator_ebadfd)
{
	struct ksalloc_capture_counters c;

	ASSERT_EQ(0, set_format(self->cap, 64, 48, 2, 100));
	EXPECT_EQ(-EBADFD, streamon(self->cap));
	c = counters(_metadata, self->cap);
	EXPECT_EQ(0U, c.streaming);
}

TEST_F(capture, streamon_no_format_ebadfd)
{
	struct ksalloc_capture_counters c;

	ASSERT_EQ(0, set_allocator(self->cap, self->alloc));
	EXPECT_EQ(-EBADFD, streamon(self->cap));
	c = counters(_metadata, self->cap);
	EXPECT_EQ(0U, c.streaming);
	EXPECT_EQ(0U, allocated_frames(self->alloc));
}

TEST_F(capture, streamon_twice_ebusy)
{
	struct ksalloc_capture_counters c;

	attach(_metadata, self->cap, self->alloc, 100);
	reader_start(_metadata, &self->r);
	EXPECT_EQ(-EBUSY, streamon(self->cap));
	c = counters(_metadata, self->cap);
	EXPECT_EQ(1U, c.streaming);
	/* Still streaming. */
	read_one(_metadata, &self->r);
	read_one(_metadata, &self->r);
	reader_stop(_metadata, &self->r);
}

TEST_F(capture, streamoff_not_streaming)
{
	EXPECT_EQ(0, streamoff(self->cap));
	attach(_metadata, self->cap, self->alloc, 100);
	EXPECT_EQ(0, streamoff(self->cap));
	reader_start(_metadata, &self->r);
	reader_stop(_metadata, &self->r);
	EXPECT_EQ(0, streamoff(self->cap));
	EXPECT_EQ(0U, allocated_frames(self->alloc));
}

/*
 * SET_SOURCE: each bad argument alone; and the edu source without an edu
 * device (no guest but the edu ones has one: ksalloc_edu_test streams from
 * it there).
 */
TEST_F(capture, set_source_einval)
{
	struct ksalloc_capture_source src = { .source = KSALLOC_CAPTURE_SOURCE_EDU + 1 };

	EXPECT_EQ(-EINVAL, ks_ioctl(self->cap, KSALLOC_CAPTURE_IOC_SET_SOURCE, &src));
	src.source = UINT32_MAX;
	EXPECT_EQ(-EINVAL, ks_ioctl(self->cap, KSALLOC_CAPTURE_IOC_SET_SOURCE, &src));
	src.source = KSALLOC_CAPTURE_SOURCE_TIMER;
	src.flags = 1;
	EXPECT_EQ(-EINVAL, ks_ioctl(self->cap, KSALLOC_CAPTURE_IOC_SET_SOURCE, &src));
	src.flags = 1U << 31;
	EXPECT_EQ(-EINVAL, ks_ioctl(self->cap, KSALLOC_CAPTURE_IOC_SET_SOURCE, &src));
	src.flags = 0;
	EXPECT_EQ(0, ks_ioctl(self->cap, KSALLOC_CAPTURE_IOC_SET_SOURCE, &src));
}

TEST_F(capture, streamon_edu_without_device_enodev)
{
	struct ksalloc_capture_source src = { .source = KSALLOC_CAPTURE_SOURCE_EDU };
	struct ksalloc_capture_counters c;
	struct dirent *d;
	DIR *dir;

	/* The driver's directory (PCI kernels) lists the devices it drives. */
	dir = opendir("/sys/bus/pci/drivers/ksalloc_capture");
	while (dir && (d = readdir(dir))) {
		if (!strncmp(d->d_name, "0000:", 5)) {
			closedir(dir);
			SKIP(return, "an edu device is bound (%s): ksalloc_edu_test", d->d_name);
		}
	}
	if (dir)
		closedir(dir);
	attach(_metadata, self->cap, self->alloc, 100);
	ASSERT_EQ(0, ks_ioctl(self->cap, KSALLOC_CAPTURE_IOC_SET_SOURCE, &src));
	/* 64x48 is too big for edu (-EMSGSIZE, checked first): a frame that fits. */
	EXPECT_EQ(-EMSGSIZE, streamon(self->cap));
	ASSERT_EQ(0, set_format(self->cap, 32, 32, 2, 100));
	EXPECT_EQ(-ENODEV, streamon(self->cap));
	c = counters(_metadata, self->cap);
	EXPECT_EQ(0U, c.streaming);
	/* Refused: nothing changed, and the timer still streams. */
	ASSERT_EQ(0, set_format(self->cap, 64, 48, 2, 100));
	src.source = KSALLOC_CAPTURE_SOURCE_TIMER;
	ASSERT_EQ(0, ks_ioctl(self->cap, KSALLOC_CAPTURE_IOC_SET_SOURCE, &src));
	reader_start(_metadata, &self->r);
	src.source = KSALLOC_CAPTURE_SOURCE_EDU;
	EXPECT_EQ(-EBUSY, ks_ioctl(self->cap, KSALLOC_CAPTURE_IOC_SET_SOURCE, &src));
	read_one(_metadata, &self->r);
	reader_stop(_metadata, &self->r);
	EXPECT_EQ(0U, allocated_frames(self->alloc));
}

/* STREAMON starts over: counters zero, and sequence 0 first. */
TEST_F(capture, streamon_resets_counters)
{
	struct ksalloc_capture_counters c;

	attach(_metadata, self->cap, self->alloc, 200);
	reader_start(_metadata, &self->r);
	read_for(_metadata, &self->r, 0, CAPTURE_ENOUGH);
	c = reader_stop(_metadata, &self->r);
	EXPECT_LE(CAPTURE_ENOUGH, c.produced);

	/* At 1 fps, at most one tick can come before GET_COUNTERS. */
	ASSERT_EQ(0, set_format(self->cap, 64, 48, 2, 1));
	reader_start(_metadata, &self->r);
	c = counters(_metadata, self->cap);
	EXPECT_GE(1ULL, c.produced);
	EXPECT_EQ(0ULL, c.delivered);
	EXPECT_EQ(0ULL, c.dropped);
	EXPECT_EQ(1U, c.streaming);
	read_one(_metadata, &self->r);
	reader_stop(_metadata, &self->r);
}

TEST_F(capture, read_not_streaming_eof)
{
	/* Never started, then started and stopped: 0, at once, even blocking. */
	EXPECT_EQ(0, read(self->cap, self->r.buf, self->r.size));
	attach(_metadata, self->cap, self->alloc, 100);
	EXPECT_EQ(0, read(self->cap, self->r.buf, self->r.size));
	reader_start(_metadata, &self->r);
	read_one(_metadata, &self->r);
	reader_stop(_metadata, &self->r);
	EXPECT_EQ(0, read(self->cap, self->r.buf, self->r.size));
}

TEST_F(capture, read_nonblock_eagain)
{
	int fd, i;

	fd = capture_dev_open(O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_allocator(fd, self->alloc));
	ASSERT_EQ(0, set_format(fd, 64, 48, 2, 1));
	self->r.cap = fd;
	reader_start(_metadata, &self->r);
	/* At 1 fps, once a queued frame (if any) is read, nothing is there. */
	for (i = 0; i < 3; i++) {
		if (read(fd, self->r.buf, self->r.size) < 0)
			break;
	}
	EXPECT_EQ(-1, read(fd, self->r.buf, self->r.size));
	EXPECT_EQ(EAGAIN, errno);
	reader_stop(_metadata, &self->r);
	EXPECT_EQ(0, close(fd));
}

TEST_F(capture, read_count_too_small_einval)
{
	struct ksalloc_capture_counters c;

	attach(_metadata, self->cap, self->alloc, 100);
	reader_start(_metadata, &self->r);
	ASSERT_NE(0, poll_in(self->cap, CAPTURE_TEST_WAIT_MS) & POLLIN);
	EXPECT_EQ(-1, read(self->cap, self->r.buf, self->r.size - 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, read(self->cap, self->r.buf, HDR_SIZE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, read(self->cap, self->r.buf, 1));
	EXPECT_EQ(EINVAL, errno);
	c = counters(_metadata, self->cap);
	EXPECT_EQ(0ULL, c.delivered);
	/* A larger buffer than a frame is fine: one frame per read. */
	self->r.size += 4096;
	self->r.buf = realloc(self->r.buf, self->r.size);
	ASSERT_TRUE(!!self->r.buf);
	self->r.first_is_zero = false;
	ASSERT_EQ((ssize_t)(HDR_SIZE + CAPTURE_PAYLOAD),
		  read_capture_frame(self->cap, self->r.buf, self->r.size, CAPTURE_TEST_WAIT_MS));
	self->r.size -= 4096;
	check_frame(_metadata, &self->r, HDR_SIZE + CAPTURE_PAYLOAD);
	reader_stop(_metadata, &self->r);
}

TEST_F(capture, poll_states)
{
	int i;

	attach(_metadata, self->cap, self->alloc, 1);
	reader_start(_metadata, &self->r);
	EXPECT_EQ(POLLIN, poll_in(self->cap, CAPTURE_TEST_WAIT_MS) & POLLIN);
	ASSERT_EQ(0, fcntl(self->cap, F_SETFL, O_NONBLOCK));
	for (i = 0; i < 3; i++) {
		if (read(self->cap, self->r.buf, self->r.size) < 0)
			break;
	}
	/* Drained at 1 fps: nothing queued for the next second. */
	EXPECT_EQ(0, poll_in(self->cap, 0));
	/* A sleeping poller is woken by the next frame. */
	EXPECT_EQ(POLLIN, poll_in(self->cap, CAPTURE_TEST_WAIT_MS) & POLLIN);
	EXPECT_EQ(0, streamoff(self->cap));
}

struct blocked_reader {
	pthread_t thread;
	int cap;
	void *buf;
	size_t size;
	ssize_t ret;
	int done;
};

/* Reads until end of stream or an error. */
static void *blocked_reader_fn(void *arg)
{
	struct blocked_reader *b = arg;

	do {
		b->ret = read(b->cap, b->buf, b->size);
	} while (b->ret > 0);
	if (b->ret < 0)
		b->ret = -errno;
	__atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

TEST_F(capture, streamoff_wakes_blocked_reader)
{
	struct blocked_reader b = {
		.cap = self->cap,
		.buf = self->r.buf,
		.size = self->r.size,
	};
	unsigned long long deadline;

	attach(_metadata, self->cap, self->alloc, 1);
	reader_start(_metadata, &self->r);
	ASSERT_EQ(0, pthread_create(&b.thread, NULL, blocked_reader_fn, &b));
	sleep_ms(300);
	EXPECT_EQ(0, __atomic_load_n(&b.done, __ATOMIC_ACQUIRE));
	EXPECT_EQ(0, streamoff(self->cap));
	deadline = now_ns() + CAPTURE_TEST_WAIT_MS * NSEC_PER_MSEC;
	while (!__atomic_load_n(&b.done, __ATOMIC_ACQUIRE) && now_ns() < deadline)
		sleep_ms(1);
	ASSERT_TRUE(__atomic_load_n(&b.done, __ATOMIC_ACQUIRE))
		TH_LOG("a read blocked on the stream did not return after STREAMOFF");
	pthread_join(b.thread, NULL);
	EXPECT_EQ(0, b.ret);
	EXPECT_EQ(0U, allocated_frames(self->alloc));
}

/* Every frame verifies, for shapes of payload and frame alignments. */
FIXTURE(capture_stream) {
	int cap;
	int alloc;
	struct reader r;
};

FIXTURE_VARIANT(capture_stream) {
	__u32 width, height, bytes_per_pixel, fps;
	__u32 frames, alignment;
};

FIXTURE_VARIANT_ADD(capture_stream, yuyv_64x48) {
	.width = 64, .height = 48, .bytes_per_pixel = 2, .fps = 200,
	.frames = CAPTURE_FRAMES, .alignment = 63,
};

FIXTURE_VARIANT_ADD(capture_stream, yuyv_vga) {
	.width = 640, .height = 480, .bytes_per_pixel = 2, .fps = 50,
	.frames = 8, .alignment = 63,
};

FIXTURE_VARIANT_ADD(capture_stream, gray_3x3_byte_aligned) {
	.width = 3, .height = 3, .bytes_per_pixel = 1, .fps = 200,
	.frames = 2, .alignment = 0,
};

FIXTURE_VARIANT_ADD(capture_stream, rgb24_17x5_align_8) {
	.width = 17, .height = 5, .bytes_per_pixel = 3, .fps = 200,
	.frames = 3, .alignment = 7,
};

FIXTURE_VARIANT_ADD(capture_stream, xrgb_1x1_page_aligned) {
	.width = 1, .height = 1, .bytes_per_pixel = 4, .fps = 200,
	.frames = 1, .alignment = 4095,
};

FIXTURE_SETUP(capture_stream)
{
	__u32 payload = variant->width * variant->height * variant->bytes_per_pixel;

	self->cap = capture_dev_open(0);
	ASSERT_LE(0, self->cap)
		TH_LOG("open %s: %s (is ksalloc_capture loaded?)", KSALLOC_CAPTURE_DEV,
		       strerror(errno));
	self->alloc = ksalloc_open_pool(KSALLOC_POOL_ATOMIC, variant->frames, HDR_SIZE + payload,
					variant->alignment, 0);
	ASSERT_LE(0, self->alloc)
		TH_LOG("allocator: %s", strerror(-self->alloc));
	ASSERT_EQ(0, set_allocator(self->cap, self->alloc));
	ASSERT_EQ(0, set_format(self->cap, variant->width, variant->height,
				variant->bytes_per_pixel, variant->fps));
	reader_init(_metadata, &self->r, self->cap, payload);
}

FIXTURE_TEARDOWN(capture_stream)
{
	if (self->cap >= 0)
		close(self->cap);
	if (self->alloc >= 0)
		close(self->alloc);
	free(self->r.buf);
}

TEST_F(capture_stream, frames_verify)
{
	struct ksalloc_capture_counters c;
	unsigned long long ns;

	reader_start(_metadata, &self->r);
	read_for(_metadata, &self->r, 300, 1);
	c = reader_stop(_metadata, &self->r);
	ns = now_ns() - self->r.since;
	/* No more ticks than the frame rate allows (plus one for the edges). */
	EXPECT_GE(variant->fps * ns / 1000000000ULL + 1, c.produced);
	EXPECT_EQ(0U, allocated_frames(self->alloc));
	EXPECT_LE(self->r.frames, total_allocations(self->alloc));
	EXPECT_GE(c.produced, total_allocations(self->alloc));
	TH_LOG("%llu produced, %llu delivered, %llu dropped in %llu ms",
	       (unsigned long long)c.produced, (unsigned long long)c.delivered,
	       (unsigned long long)c.dropped, ns / NSEC_PER_MSEC);

	/* And once more: the sequence starts over. */
	reader_start(_metadata, &self->r);
	read_for(_metadata, &self->r, 100, 2);
	reader_stop(_metadata, &self->r);
	EXPECT_EQ(0U, allocated_frames(self->alloc));
}

/* The stream holds the allocator: its fd may be closed. */
TEST_F(capture, allocator_closed_before_streamon)
{
	attach(_metadata, self->cap, self->alloc, 200);
	ASSERT_EQ(0, close(self->alloc));
	self->alloc = -1;
	reader_start(_metadata, &self->r);
	read_for(_metadata, &self->r, 0, CAPTURE_ENOUGH);
	reader_stop(_metadata, &self->r);
}

TEST_F(capture, allocator_closed_while_streaming)
{
	struct reader r;
	int cap, alloc;

	attach(_metadata, self->cap, self->alloc, 200);
	reader_start(_metadata, &self->r);
	read_for(_metadata, &self->r, 0, 2);
	ASSERT_EQ(0, close(self->alloc));
	self->alloc = -1;
	/* Frames keep coming: more than the allocator has, so they are recycled. */
	read_for(_metadata, &self->r, 100, CAPTURE_ENOUGH);
	reader_stop(_metadata, &self->r);
	ASSERT_EQ(0, close(self->cap));
	self->cap = -1;

	/* The world is still fine: a new allocator and a new stream work. */
	alloc = ksalloc_open_pool(KSALLOC_POOL_ATOMIC, CAPTURE_FRAMES, HDR_SIZE + CAPTURE_PAYLOAD,
				  63, 0);
	ASSERT_LE(0, alloc);
	EXPECT_EQ(0U, allocated_frames(alloc));
	cap = capture_dev_open(0);
	ASSERT_LE(0, cap);
	ASSERT_EQ(0, set_allocator(cap, alloc));
	ASSERT_EQ(0, set_format(cap, 64, 48, 2, 200));
	reader_init(_metadata, &r, cap, CAPTURE_PAYLOAD);
	reader_start(_metadata, &r);
	read_for(_metadata, &r, 0, CAPTURE_ENOUGH);
	reader_stop(_metadata, &r);
	EXPECT_EQ(0U, allocated_frames(alloc));
	free(r.buf);
	EXPECT_EQ(0, close(cap));
	EXPECT_EQ(0, close(alloc));
}

TEST_F(capture, two_streams_one_allocator)
{
	struct ksalloc_capture_counters c[2];
	struct ksalloc_status st;
	struct pollfd pfd[2];
	struct reader r[2];
	unsigned long long end, deadline;
	__u64 total;
	ssize_t len;
	int i, ret;

	r[0] = self->r;
	self->r.buf = NULL;
	r[1].buf = NULL;
	r[1].cap = capture_dev_open(0);
	ASSERT_LE(0, r[1].cap);
	reader_init(_metadata, &r[1], r[1].cap, CAPTURE_PAYLOAD);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, set_allocator(r[i].cap, self->alloc));
		ASSERT_EQ(0, set_format(r[i].cap, 64, 48, 2, 200));
		/* The other stream may have taken every frame at the first tick. */
		r[i].first_is_zero = false;
		pfd[i] = (struct pollfd){ .fd = r[i].cap, .events = POLLIN };
	}
	reader_start(_metadata, &r[0]);
	reader_start(_metadata, &r[1]);

	/* 0.5 s, and longer (up to the deadline) until both delivered. */
	end = now_ns() + 500 * NSEC_PER_MSEC;
	deadline = now_ns() + CAPTURE_TEST_WAIT_MS * NSEC_PER_MSEC;
	while (now_ns() < end || ((!r[0].frames || !r[1].frames) && now_ns() < deadline)) {
		ASSERT_EQ(0, get_status(self->alloc, &st));
		ASSERT_GE(CAPTURE_FRAMES, st.allocated_frames);
		ASSERT_GE(CAPTURE_FRAMES, st.peak_allocated_frames);
		ret = poll(pfd, 2, CAPTURE_TEST_WAIT_MS);
		ASSERT_LT(0, ret);
		for (i = 0; i < 2; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			len = read(r[i].cap, r[i].buf, r[i].size);
			ASSERT_LT(0, len)
				TH_LOG("stream %d: %s", i, len ? strerror(errno) : "end of stream");
			check_frame(_metadata, &r[i], len);
		}
	}
	for (i = 0; i < 2; i++) {
		c[i] = reader_stop(_metadata, &r[i]);
		EXPECT_LT(0ULL, c[i].delivered);
	}
	EXPECT_EQ(0U, allocated_frames(self->alloc));
	total = total_allocations(self->alloc);
	EXPECT_LE(c[0].delivered + c[1].delivered, total);
	EXPECT_GE(c[0].produced + c[1].produced, total);

	close(r[1].cap);
	self->r = r[0];
	free(r[1].buf);
}

TEST_F(capture, switch_allocator_while_stopped)
{
	struct ksalloc_capture_counters c;
	__u64 old_total, new_total;
	int other;

	/* Six frames, not four: in_flight tells which allocator is in use. */
	other = ksalloc_open_pool(KSALLOC_POOL_ATOMIC, CAPTURE_FRAMES + 2,
				  HDR_SIZE + CAPTURE_PAYLOAD, 63, 0);
	ASSERT_LE(0, other);
	attach(_metadata, self->cap, self->alloc, 500);
	reader_start(_metadata, &self->r);
	read_for(_metadata, &self->r, 0, CAPTURE_ENOUGH);
	reader_stop(_metadata, &self->r);
	old_total = total_allocations(self->alloc);
	EXPECT_LE(CAPTURE_ENOUGH, old_total);
	EXPECT_EQ(0ULL, total_allocations(other));

	ASSERT_EQ(0, set_allocator(self->cap, other));
	reader_start(_metadata, &self->r);
	read_for(_metadata, &self->r, 0, CAPTURE_ENOUGH);
	/* Stop reading: the new allocator's frames fill up, not the old one's. */
	c = wait_in_flight(_metadata, self->cap, CAPTURE_FRAMES + 2);
	EXPECT_EQ(CAPTURE_FRAMES + 2, allocated_frames(other));
	EXPECT_EQ(0U, allocated_frames(self->alloc));
	reader_stop(_metadata, &self->r);
	EXPECT_EQ(old_total, total_allocations(self->alloc));
	new_total = total_allocations(other);
	EXPECT_LE(CAPTURE_ENOUGH + c.in_flight, new_total);
	EXPECT_EQ(0U, allocated_frames(other));

	/* And back. */
	ASSERT_EQ(0, set_allocator(self->cap, self->alloc));
	reader_start(_metadata, &self->r);
	read_for(_metadata, &self->r, 0, CAPTURE_ENOUGH);
	reader_stop(_metadata, &self->r);
	EXPECT_EQ(new_total, total_allocations(other));
	EXPECT_LT(old_total, total_allocations(self->alloc));
	close(other);
}

/* A reader that does not read: the allocator runs dry, the stream drops. */
TEST_F(capture, drops_when_not_read)
{
	struct ksalloc_capture_counters c1, c2;
	__u64 i;

	attach(_metadata, self->cap, self->alloc, 500);
	reader_start(_metadata, &self->r);
	c1 = wait_in_flight(_metadata, self->cap, CAPTURE_FRAMES);
	EXPECT_EQ(CAPTURE_FRAMES, allocated_frames(self->alloc));
	sleep_ms(100);
	c2 = counters(_metadata, self->cap);
	EXPECT_LT(c1.dropped, c2.dropped);
	EXPECT_LT(c1.produced, c2.produced);
	EXPECT_EQ(CAPTURE_FRAMES, c2.in_flight);
	EXPECT_EQ(0ULL, c2.delivered);
	EXPECT_EQ(CAPTURE_FRAMES, allocated_frames(self->alloc));

	/*
	 * The frames kept were captured before the ring filled (c1), and every
	 * tick from then until c2 was dropped. (Their sequences need not be
	 * 0..3: a late tick on a loaded host counts as dropped.)
	 */
	for (i = 0; i < CAPTURE_FRAMES; i++) {
		read_one(_metadata, &self->r);
		EXPECT_GT(c1.produced, self->r.last_sequence);
	}
	read_one(_metadata, &self->r);
	EXPECT_LE(c2.produced, self->r.last_sequence);
	reader_stop(_metadata, &self->r);
	EXPECT_EQ(0U, allocated_frames(self->alloc));
}

/* Frames held by another user of the allocator are not the stream's. */
TEST_F(capture, drops_when_allocator_held)
{
	struct ksalloc_capture_counters c;
	__u64 handles[CAPTURE_FRAMES];
	__u32 i;

	for (i = 0; i < CAPTURE_FRAMES; i++)
		ASSERT_EQ(0, alloc_frame(self->alloc, &handles[i]));
	attach(_metadata, self->cap, self->alloc, 500);
	reader_start(_metadata, &self->r);
	sleep_ms(100);
	c = counters(_metadata, self->cap);
	EXPECT_LT(0ULL, c.produced);
	EXPECT_EQ(c.produced, c.dropped);
	EXPECT_EQ(0U, c.in_flight);
	EXPECT_EQ(0, poll_in(self->cap, 0));

	/* One frame back: the stream gets it. */
	ASSERT_EQ(0, free_frame(self->alloc, handles[0]));
	self->r.first_is_zero = false;
	read_one(_metadata, &self->r);
	EXPECT_LT(0ULL, self->r.last_sequence);
	reader_stop(_metadata, &self->r);
	EXPECT_EQ(CAPTURE_FRAMES - 1, allocated_frames(self->alloc));
	for (i = 1; i < CAPTURE_FRAMES; i++)
		ASSERT_EQ(0, free_frame(self->alloc, handles[i]));
	EXPECT_EQ(0U, allocated_frames(self->alloc));
}

TEST_F(capture, streamoff_returns_queued_frames)
{
	struct ksalloc_capture_counters c1, c2;

	attach(_metadata, self->cap, self->alloc, 500);
	reader_start(_metadata, &self->r);
	c1 = wait_in_flight(_metadata, self->cap, CAPTURE_FRAMES);
	EXPECT_EQ(CAPTURE_FRAMES, allocated_frames(self->alloc));
	c2 = reader_stop(_metadata, &self->r);
	/* The queued frames were dropped, back in the allocator. */
	EXPECT_LE(c1.dropped + CAPTURE_FRAMES, c2.dropped);
	EXPECT_EQ(0ULL, c2.delivered);
	EXPECT_EQ(0U, allocated_frames(self->alloc));

	/* Every frame can be filled again. */
	reader_start(_metadata, &self->r);
	wait_in_flight(_metadata, self->cap, CAPTURE_FRAMES);
	EXPECT_EQ(CAPTURE_FRAMES, allocated_frames(self->alloc));
	reader_stop(_metadata, &self->r);
	EXPECT_EQ(0U, allocated_frames(self->alloc));
}

TEST_F(capture, close_while_streaming_returns_frames)
{
	attach(_metadata, self->cap, self->alloc, 500);
	reader_start(_metadata, &self->r);
	wait_in_flight(_metadata, self->cap, CAPTURE_FRAMES);
	EXPECT_EQ(CAPTURE_FRAMES, allocated_frames(self->alloc));
	ASSERT_EQ(0, close(self->cap));
	EXPECT_EQ(0U, allocated_frames(self->alloc));

	/* A fresh stream on the same allocator fd has every frame. */
	self->cap = capture_dev_open(0);
	ASSERT_LE(0, self->cap);
	self->r.cap = self->cap;
	attach(_metadata, self->cap, self->alloc, 500);
	EXPECT_EQ(0U, allocated_frames(self->alloc));
	reader_start(_metadata, &self->r);
	wait_in_flight(_metadata, self->cap, CAPTURE_FRAMES);
	EXPECT_EQ(CAPTURE_FRAMES, allocated_frames(self->alloc));
	read_for(_metadata, &self->r, 0, CAPTURE_ENOUGH);
	reader_stop(_metadata, &self->r);
	EXPECT_EQ(0U, allocated_frames(self->alloc));
}

#define OUTPACED_FRAME		(4U << 20)
#define OUTPACED_SECONDS	4
#define WATCHDOG_THRESH		"/proc/sys/kernel/watchdog_thresh"

/*
 * A stream whose fill work cannot keep up: frames of 4 MiB at the highest
 * rate, each read at once by a reader whose buffer cannot be written, so
 * that the copy faults and the frame is dropped, which costs next to nothing. The
 * fill work then never runs out of frames to fill, and must still give up
 * the CPU. The soft-lockup detector is made to report after 2 s rather than
 * 20 (watchdog_thresh 1), and a report fails the guest's log check.
 */
struct outpaced_reader {
	int cap;
	void *buf;		/* PROT_NONE: every read() into it faults */
	bool stop;		/* set with __atomic_store_n() */
	unsigned long faults;
	unsigned long others;
};

static void *outpaced_read(void *arg)
{
	struct outpaced_reader *r = arg;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		if (read(r->cap, r->buf, OUTPACED_FRAME) < 0 && errno == EFAULT)
			r->faults++;
		else
			r->others++;
	}
	return NULL;
}

FIXTURE(capture_outpaced) {
	int cap;
	int alloc;
	struct outpaced_reader r;
	char thresh[16];	/* watchdog_thresh before the test, or "" */
};

/*
 * Whether this kernel's config, as /boot/config-<release> has it, leaves
 * @option ("CONFIG_...") out. False when it cannot tell (no such file, as in
 * the guests): then the option is taken to be there.
 */
static bool config_lacks(const char *option)
{
	char path[128 + sizeof(((struct utsname *)0)->release)], line[256], unset[128];
	struct utsname u;
	bool lacks = false;
	FILE *f;

	if (uname(&u))
		return false;
	snprintf(path, sizeof(path), "/boot/config-%s", u.release);
	snprintf(unset, sizeof(unset), "# %s is not set\n", option);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!lacks && fgets(line, sizeof(line), f))
		lacks = !strcmp(line, unset);
	fclose(f);
	return lacks;
}

FIXTURE_SETUP(capture_outpaced)
{
	unsigned long long frames = max_pool_bytes() / OUTPACED_FRAME;
	FILE *f;
	int err;

	self->alloc = -1;
	self->r.buf = MAP_FAILED;
	self->thresh[0] = '\0';
	self->cap = capture_dev_open(0);
	ASSERT_LE(0, self->cap)
		TH_LOG("open %s: %s", KSALLOC_CAPTURE_DEV, strerror(errno));
	ASSERT_LE(2ULL, frames)
		TH_LOG("max_pool_bytes holds fewer than two 4 MiB frames");
	self->alloc = ksalloc_open_pool(KSALLOC_POOL_ATOMIC, frames < 16 ? frames : 16,
					OUTPACED_FRAME, 7, 0);
	ASSERT_LE(0, self->alloc)
		TH_LOG("allocator: %s", strerror(-self->alloc));
	self->r.cap = self->cap;
	self->r.buf = mmap(NULL, OUTPACED_FRAME, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->r.buf);

	f = fopen(WATCHDOG_THRESH, "r");
	err = errno;
	if (!f && config_lacks("CONFIG_SOFTLOCKUP_DETECTOR"))
		SKIP(return, "a kernel without CONFIG_SOFTLOCKUP_DETECTOR");
	/* Every kernel the guests run has the detector. */
	ASSERT_NE(NULL, f)
		TH_LOG("%s: %s: no soft-lockup detector to judge the fill work by", WATCHDOG_THRESH,
		       strerror(err));
	if (!fgets(self->thresh, sizeof(self->thresh), f))
		self->thresh[0] = '\0';
	fclose(f);
	ASSERT_NE('\0', self->thresh[0]);
	ASSERT_EQ(0, write_file(WATCHDOG_THRESH, "1"));
}

FIXTURE_TEARDOWN(capture_outpaced)
{
	if (self->thresh[0])
		EXPECT_EQ(0, write_file(WATCHDOG_THRESH, self->thresh));
	if (self->cap >= 0)
		close(self->cap);
	if (self->alloc >= 0)
		close(self->alloc);
	if (self->r.buf != MAP_FAILED)
		munmap(self->r.buf, OUTPACED_FRAME);
}

TEST_F(capture_outpaced, fill_work_yields)
{
	struct ksalloc_capture_counters c;
	pthread_t reader;

	ASSERT_EQ(0, set_allocator(self->cap, self->alloc));
	/* The largest frame that fits: a 4-byte pixel less than 4 MiB. */
	ASSERT_EQ(0, set_format(self->cap, 1024, 1023, 4, KSALLOC_CAPTURE_MAX_FPS));
	ASSERT_EQ(0, streamon(self->cap));
	ASSERT_EQ(0, pthread_create(&reader, NULL, outpaced_read, &self->r));
	sleep_ms(OUTPACED_SECONDS * 1000);
	__atomic_store_n(&self->r.stop, true, __ATOMIC_RELAXED);
	EXPECT_EQ(0, streamoff(self->cap));
	ASSERT_EQ(0, pthread_join(reader, NULL));

	c = counters(_metadata, self->cap);
	EXPECT_EQ(0U, c.in_flight);
	EXPECT_EQ(0ULL, c.delivered);
	EXPECT_LT(0UL, self->r.faults);
	/* Each fault dropped the frame it took. */
	EXPECT_LE(self->r.faults, c.dropped);
	/* Only the end of the stream, once per wake-up, reads otherwise. */
	EXPECT_GE(1UL, self->r.others);
	EXPECT_EQ(0U, allocated_frames(self->alloc));
	TH_LOG("%lu faulting reads; produced %llu, dropped %llu",
	       self->r.faults, (unsigned long long)c.produced, (unsigned long long)c.dropped);
}

TEST_F(capture, unknown_ioctls_enotty)
{
	static const unsigned long cmds[] = {
		_IO(KSALLOC_CAPTURE_IOC_MAGIC, 0x05),
		_IO(KSALLOC_CAPTURE_IOC_MAGIC, 0xff),
		_IOW(KSALLOC_CAPTURE_IOC_MAGIC, 0x00, __u32),
		_IOR(KSALLOC_CAPTURE_IOC_MAGIC, 0x01, struct ksalloc_capture_format),
		_IOW(KSALLOC_CAPTURE_IOC_MAGIC, 0x02, __u32),
		_IOR(KSALLOC_CAPTURE_IOC_MAGIC, 0x04, __u64),
		KSALLOC_IOC_GET_STATUS,
		KSALLOC_IOC_SET_FRAMING,
	};
	__u64 buf[64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		memset(buf, 0, sizeof(buf));
		EXPECT_EQ(-ENOTTY, ks_ioctl(self->cap, cmds[i], buf))
			TH_LOG("cmd 0x%lx", cmds[i]);
	}
	/* And the other way round. */
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(-ENOTTY, ks_ioctl(self->alloc, KSALLOC_CAPTURE_IOC_GET_COUNTERS, buf));
}

TEST_F(capture, bad_user_pointers_efault)
{
	EXPECT_EQ(-EFAULT, ks_ioctl(self->cap, KSALLOC_CAPTURE_IOC_SET_ALLOCATOR, NULL));
	EXPECT_EQ(-EFAULT, ks_ioctl(self->cap, KSALLOC_CAPTURE_IOC_SET_FORMAT, NULL));
	EXPECT_EQ(-EFAULT, ks_ioctl(self->cap, KSALLOC_CAPTURE_IOC_GET_COUNTERS, NULL));
	expect_no_allocator(_metadata, self->cap);

	/* A read into nowhere fails; no frame may leak. */
	attach(_metadata, self->cap, self->alloc, 200);
	reader_start(_metadata, &self->r);
	ASSERT_NE(0, poll_in(self->cap, CAPTURE_TEST_WAIT_MS) & POLLIN);
	EXPECT_EQ(-1, read(self->cap, NULL, self->r.size));
	EXPECT_EQ(EFAULT, errno);
	counters(_metadata, self->cap);
	self->r.first_is_zero = false;
	read_one(_metadata, &self->r);
	EXPECT_EQ(0, streamoff(self->cap));
	counters(_metadata, self->cap);
	EXPECT_EQ(0U, allocated_frames(self->alloc));
}

/*
 * The zero-copy path: DEQUEUE_FRAME hands out frames in place, the test reads
 * them through its own mapping of the allocator, RETURN_FRAME gives them back.
 */

/*
 * A stream, and a mappable allocator of @frames frames exactly a header and
 * the payload, the whole pool mapped read-only.
 */
struct zc {
	int cap;
	int alloc;
	unsigned char *map;
	size_t map_size;
	size_t stride;
	__u32 payload;
	/* What the frames seen so far said. */
	__u64 frames, last_sequence, last_timestamp;
	unsigned long long since;
};

FIXTURE(capture_zc) {
	struct zc z;
};

FIXTURE_VARIANT(capture_zc) {
	__u32 width, height, fps, frames, options;
};

/* Small frames, page-backed because the pool asks it. */
FIXTURE_VARIANT_ADD(capture_zc, yuyv_64x48_mappable) {
	.width = 64, .height = 48, .fps = 200, .frames = CAPTURE_FRAMES,
	.options = KSALLOC_OPTIONF_MAPPABLE,
};

/* The make run framing: page-backed by its size. */
FIXTURE_VARIANT_ADD(capture_zc, yuyv_vga) {
	.width = 640, .height = 480, .fps = 60, .frames = CAPTURE_FRAMES,
};

FIXTURE_SETUP(capture_zc)
{
	struct ksalloc_framing framing = {
		.options = variant->options,
		.pool_type = KSALLOC_POOL_ATOMIC,
		.frames = variant->frames,
		.alignment = 63,
	};
	size_t page = sysconf(_SC_PAGESIZE);

	self->z.map = MAP_FAILED;
	self->z.payload = variant->width * variant->height * 2;
	framing.frame_size = HDR_SIZE + self->z.payload;
	self->z.cap = capture_dev_open(0);
	ASSERT_LE(0, self->z.cap)
		TH_LOG("open %s: %s (is ksalloc_capture loaded?)", KSALLOC_CAPTURE_DEV,
		       strerror(errno));
	self->z.alloc = ksalloc_open_framed(&framing, 0);
	ASSERT_LE(0, self->z.alloc)
		TH_LOG("allocator: %s", strerror(-self->z.alloc));
	self->z.stride = (framing.frame_size + page - 1) / page * page;
	self->z.map_size = framing.frames * self->z.stride;
	self->z.map = mmap(NULL, self->z.map_size, PROT_READ, MAP_SHARED, self->z.alloc, 0);
	ASSERT_NE(MAP_FAILED, self->z.map)
		TH_LOG("mmap of the allocator: %s", strerror(errno));
	ASSERT_EQ(0, set_allocator(self->z.cap, self->z.alloc));
	ASSERT_EQ(0, set_format(self->z.cap, variant->width, variant->height, 2, variant->fps));
}

FIXTURE_TEARDOWN(capture_zc)
{
	if (self->z.map != MAP_FAILED)
		munmap(self->z.map, self->z.map_size);
	if (self->z.cap >= 0)
		close(self->z.cap);
	if (self->z.alloc >= 0)
		close(self->z.alloc);
}

static void zc_start(struct __test_metadata *_metadata, struct zc *self)
{
	self->since = now_ns();
	self->frames = 0;
	ASSERT_EQ(0, streamon(self->cap));
}

/*
 * Checks a dequeued frame: the outputs, the header in the mapping, every
 * payload byte read through the mapping, order and timestamps.
 */
static void zc_check(struct __test_metadata *_metadata, struct zc *self,
		     const struct ksalloc_capture_frame *f)
{
	const struct ksalloc_capture_header *h;
	long long at;

	ASSERT_NE(0ULL, f->handle);
	ASSERT_EQ(0ULL, f->offset % self->stride)
		TH_LOG("offset %llu", (unsigned long long)f->offset);
	ASSERT_GT(self->map_size, f->offset);
	EXPECT_EQ(0U, f->flags);
	EXPECT_EQ(0ULL, f->reserved);
	ASSERT_EQ(self->payload, f->payload_size);
	h = (const void *)(self->map + f->offset);
	EXPECT_EQ(f->sequence, h->sequence);
	EXPECT_EQ(f->timestamp_ns, h->timestamp_ns);
	EXPECT_EQ(self->payload, h->payload_size);
	EXPECT_EQ(0U, h->reserved);
	if (self->frames) {
		ASSERT_LT(self->last_sequence, f->sequence);
		ASSERT_LE(self->last_timestamp, f->timestamp_ns);
	}
	ASSERT_LE(self->since, f->timestamp_ns);
	ASSERT_GE(now_ns(), f->timestamp_ns);
	at = ksalloc_capture_mismatch((const unsigned char *)(h + 1), self->payload,
				      f->sequence);
	ASSERT_EQ(-1, at)
		TH_LOG("frame %llu: payload byte %lld is 0x%02x",
		       (unsigned long long)f->sequence, at, ((const unsigned char *)(h + 1))[at]);
	self->frames++;
	self->last_sequence = f->sequence;
	self->last_timestamp = f->timestamp_ns;
}

/* Dequeues (blocking) and checks one frame. */
static void zc_one(struct __test_metadata *_metadata, struct zc *self,
		   struct ksalloc_capture_frame *f)
{
	ASSERT_EQ(POLLIN, poll_in(self->cap, CAPTURE_TEST_WAIT_MS) & POLLIN);
	ASSERT_EQ(0, dequeue(self->cap, f));
	zc_check(_metadata, self, f);
}

/*
 * Frames in the allocator: those queued, and those held. The stream keeps
 * ticking: a snapshot counts only if no tick came between its reads. A tick
 * takes its frame before it counts it, so one caught in between (its CPU
 * preempted there: a vCPU the host descheduled) shows exactly one frame more
 * in the allocator until it goes on: such a snapshot is taken again, 10 ms
 * later, for up to CAPTURE_TEST_WAIT_MS. Any other difference fails at once.
 */
static void zc_expect_allocated(struct __test_metadata *_metadata,
				struct zc *self, __u32 held)
{
	unsigned long long deadline = now_ns() + CAPTURE_TEST_WAIT_MS * NSEC_PER_MSEC;
	struct ksalloc_capture_counters c1, c2;
	__u32 allocated;

	for (;;) {
		c1 = counters(_metadata, self->cap);
		allocated = allocated_frames(self->alloc);
		c2 = counters(_metadata, self->cap);
		if (c1.produced != c2.produced) {
			ASSERT_GT(deadline, now_ns())
				TH_LOG("no quiet moment between two ticks");
			continue;
		}
		if (allocated != c1.in_flight + held + 1 || now_ns() > deadline)
			break;
		sleep_ms(10);
	}
	EXPECT_EQ(c1.in_flight + held, allocated);
}

TEST_F(capture_zc, dequeue_return_verify)
{
	struct ksalloc_capture_counters c;
	struct ksalloc_capture_frame f;
	__u64 last = 0;

	zc_start(_metadata, &self->z);
	while (self->z.frames < CAPTURE_ENOUGH) {
		zc_one(_metadata, &self->z, &f);
		EXPECT_LT(last, f.handle);
		last = f.handle;
		zc_expect_allocated(_metadata, &self->z, 1);
		ASSERT_EQ(0, return_frame(self->z.cap, f.handle));
		zc_expect_allocated(_metadata, &self->z, 0);
	}
	EXPECT_EQ(0, streamoff(self->z.cap));
	c = counters(_metadata, self->z.cap);
	EXPECT_EQ(0U, c.in_flight);
	EXPECT_EQ(self->z.frames, c.delivered);
	EXPECT_EQ(0U, allocated_frames(self->z.alloc));
	/* Stopped: no more frames, at once. */
	EXPECT_EQ(-ENODATA, dequeue(self->z.cap, &f));

	/* Again: the sequence starts over, the handles do not. */
	zc_start(_metadata, &self->z);
	zc_one(_metadata, &self->z, &f);
	EXPECT_LT(last, f.handle);
	EXPECT_EQ(0, return_frame(self->z.cap, f.handle));
	EXPECT_EQ(0, streamoff(self->z.cap));
}

TEST_F(capture_zc, dequeue_blocks_until_frame)
{
	struct ksalloc_capture_frame f;

	ASSERT_EQ(0, set_format(self->z.cap, variant->width, variant->height, 2, 5));
	zc_start(_metadata, &self->z);
	/* Blocking, with no frame yet at 5 fps: it waits for the first one. */
	ASSERT_EQ(0, dequeue(self->z.cap, &f));
	zc_check(_metadata, &self->z, &f);
	EXPECT_LE(self->z.since + 100 * NSEC_PER_MSEC, now_ns());
	EXPECT_EQ(0, return_frame(self->z.cap, f.handle));
	EXPECT_EQ(0, streamoff(self->z.cap));
}

TEST_F(capture_zc, dequeue_nonblock_eagain_and_poll)
{
	struct ksalloc_capture_frame f;
	int i, err = 0;

	ASSERT_EQ(0, set_format(self->z.cap, variant->width, variant->height, 2, 1));
	ASSERT_EQ(0, fcntl(self->z.cap, F_SETFL, O_NONBLOCK));
	/* Not streaming: no frame will come, blocking or not. */
	EXPECT_EQ(-ENODATA, dequeue(self->z.cap, &f));
	zc_start(_metadata, &self->z);
	/* A frame at 1 fps: poll() says when. */
	EXPECT_EQ(POLLIN, poll_in(self->z.cap, CAPTURE_TEST_WAIT_MS) & POLLIN);
	ASSERT_EQ(0, dequeue(self->z.cap, &f));
	zc_check(_metadata, &self->z, &f);
	EXPECT_EQ(0, return_frame(self->z.cap, f.handle));
	for (i = 0; i < 4; i++) {
		err = dequeue(self->z.cap, &f);
		if (err)
			break;
		EXPECT_EQ(0, return_frame(self->z.cap, f.handle));
	}
	/* Drained: -EAGAIN, and poll() reports nothing, then the next frame. */
	EXPECT_EQ(-EAGAIN, err);
	/*
	 * Unless a frame came after the -EAGAIN (the test preempted for a
	 * second): then a frame must be there to take, and it starts over.
	 */
	for (i = 0; i < 3 && (poll_in(self->z.cap, 0) & POLLIN); i++) {
		ASSERT_EQ(0, dequeue(self->z.cap, &f));
		EXPECT_EQ(0, return_frame(self->z.cap, f.handle));
	}
	EXPECT_EQ(0, poll_in(self->z.cap, 0));
	EXPECT_EQ(POLLIN, poll_in(self->z.cap, CAPTURE_TEST_WAIT_MS) & POLLIN);
	ASSERT_EQ(0, dequeue(self->z.cap, &f));
	zc_check(_metadata, &self->z, &f);
	EXPECT_EQ(0, return_frame(self->z.cap, f.handle));
	EXPECT_EQ(0, streamoff(self->z.cap));
	counters(_metadata, self->z.cap);
}

TEST_F(capture_zc, return_refusals_change_nothing)
{
	struct ksalloc_capture_counters c1, c2;
	struct ksalloc_capture_frame f, g;

	zc_start(_metadata, &self->z);
	zc_one(_metadata, &self->z, &f);
	zc_one(_metadata, &self->z, &g);
	ASSERT_EQ(0, return_frame(self->z.cap, g.handle));
	ASSERT_EQ(0, streamoff(self->z.cap));
	/*
	 * Streaming again, from before STREAMON for the timestamps: only a
	 * dequeue moves delivered, so the refusals below must leave it be.
	 */
	zc_start(_metadata, &self->z);
	zc_one(_metadata, &self->z, &f);

	c1 = counters(_metadata, self->z.cap);
	/* Never handed out: 0, the next handle, far beyond. */
	EXPECT_EQ(-EINVAL, return_frame(self->z.cap, 0));
	EXPECT_EQ(-EINVAL, return_frame(self->z.cap, f.handle + 1));
	EXPECT_EQ(-EINVAL, return_frame(self->z.cap, f.handle + CAPTURE_FRAMES));
	EXPECT_EQ(-EINVAL, return_frame(self->z.cap, ~0ULL));
	EXPECT_EQ(-EINVAL, return_frame(self->z.cap, 1ULL << 32 | f.handle));
	/* Returned already; taken back by the STREAMOFF before. */
	EXPECT_EQ(-ENOENT, return_frame(self->z.cap, g.handle));
	EXPECT_EQ(-ENOENT, return_frame(self->z.cap, g.handle - 1));
	/* Flags and reserved, each alone, even with a held handle. */
	EXPECT_EQ(-EINVAL, return_frame_flags(self->z.cap, f.handle, 1, 0));
	EXPECT_EQ(-EINVAL, return_frame_flags(self->z.cap, f.handle, 1U << 31, 0));
	EXPECT_EQ(-EINVAL, return_frame_flags(self->z.cap, f.handle, 0, 1));
	EXPECT_EQ(-EINVAL, return_frame_flags(self->z.cap, f.handle, 0, 1U << 31));
	c2 = counters(_metadata, self->z.cap);
	EXPECT_EQ(c1.delivered, c2.delivered);
	EXPECT_EQ(c1.delivered, 1ULL);
	zc_expect_allocated(_metadata, &self->z, 1);
	/* The frame held is still the application's, and it verifies. */
	self->z.frames = 0;
	zc_check(_metadata, &self->z, &f);
	EXPECT_EQ(0, return_frame(self->z.cap, f.handle));
	zc_expect_allocated(_metadata, &self->z, 0);
	/* Returned twice. */
	EXPECT_EQ(-ENOENT, return_frame(self->z.cap, f.handle));
	EXPECT_EQ(0, streamoff(self->z.cap));
	EXPECT_EQ(0U, allocated_frames(self->z.alloc));
}

TEST_F(capture_zc, dequeue_flags_reserved_einval)
{
	struct ksalloc_capture_frame f;

	zc_start(_metadata, &self->z);
	ASSERT_EQ(POLLIN, poll_in(self->z.cap, CAPTURE_TEST_WAIT_MS) & POLLIN);
	memset(&f, 0, sizeof(f));
	f.flags = 1;
	EXPECT_EQ(-EINVAL, ks_ioctl(self->z.cap, KSALLOC_CAPTURE_IOC_DEQUEUE_FRAME, &f));
	f.flags = 1U << 31;
	EXPECT_EQ(-EINVAL, ks_ioctl(self->z.cap, KSALLOC_CAPTURE_IOC_DEQUEUE_FRAME, &f));
	f.flags = 0;
	f.reserved = 1;
	EXPECT_EQ(-EINVAL, ks_ioctl(self->z.cap, KSALLOC_CAPTURE_IOC_DEQUEUE_FRAME, &f));
	f.reserved = 1ULL << 63;
	EXPECT_EQ(-EINVAL, ks_ioctl(self->z.cap, KSALLOC_CAPTURE_IOC_DEQUEUE_FRAME, &f));
	/* Nothing was taken: the first frame is still the first. */
	EXPECT_EQ(0ULL, counters(_metadata, self->z.cap).delivered);
	ASSERT_EQ(0, dequeue(self->z.cap, &f));
	EXPECT_EQ(0, return_frame(self->z.cap, f.handle));
	EXPECT_EQ(0, streamoff(self->z.cap));
}

TEST_F(capture_zc, held_frames_return_at_streamoff)
{
	struct ksalloc_capture_frame f[CAPTURE_FRAMES], g;
	struct ksalloc_capture_counters c1, c2;
	__u32 i;

	zc_start(_metadata, &self->z);
	for (i = 0; i < CAPTURE_FRAMES; i++)
		zc_one(_metadata, &self->z, &f[i]);
	/* All held: the stream drops until one comes back. */
	EXPECT_EQ(CAPTURE_FRAMES, allocated_frames(self->z.alloc));
	c1 = counters(_metadata, self->z.cap);
	EXPECT_EQ(0U, c1.in_flight);
	sleep_ms(100);
	c2 = counters(_metadata, self->z.cap);
	EXPECT_LT(c1.dropped, c2.dropped);
	EXPECT_EQ(c1.delivered, c2.delivered);
	/* Every held frame is still intact: the stream wrote none of them. */
	self->z.frames = 0;
	for (i = 0; i < CAPTURE_FRAMES; i++)
		zc_check(_metadata, &self->z, &f[i]);
	/* One back: frames flow again. */
	ASSERT_EQ(0, return_frame(self->z.cap, f[0].handle));
	zc_one(_metadata, &self->z, &g);
	f[0] = g;
	EXPECT_EQ(CAPTURE_FRAMES, allocated_frames(self->z.alloc));
	EXPECT_EQ(0, streamoff(self->z.cap));
	c2 = counters(_metadata, self->z.cap);
	EXPECT_EQ(c1.delivered + 1, c2.delivered);
	EXPECT_EQ(0U, c2.in_flight);
	EXPECT_EQ(0U, allocated_frames(self->z.alloc));
	/* Taken back: the application holds nothing. */
	for (i = 0; i < CAPTURE_FRAMES; i++)
		EXPECT_EQ(-ENOENT, return_frame(self->z.cap, f[i].handle));
	EXPECT_EQ(0U, allocated_frames(self->z.alloc));
}

TEST_F(capture_zc, held_frames_return_at_close)
{
	struct ksalloc_capture_frame f;
	__u32 i;

	zc_start(_metadata, &self->z);
	for (i = 0; i < 2; i++)
		zc_one(_metadata, &self->z, &f);
	zc_expect_allocated(_metadata, &self->z, 2);
	ASSERT_EQ(0, close(self->z.cap));
	self->z.cap = -1;
	EXPECT_EQ(0U, allocated_frames(self->z.alloc));
}

TEST_F(capture_zc, one_held_while_others_cycle)
{
	struct ksalloc_capture_frame first, f;
	__u64 handles[3 * CAPTURE_ENOUGH];
	__u32 i, j;

	zc_start(_metadata, &self->z);
	zc_one(_metadata, &self->z, &first);
	for (i = 0; i < 3 * CAPTURE_ENOUGH; i++) {
		zc_one(_metadata, &self->z, &f);
		/* Unique handles, none that of the frame held. */
		for (j = 0; j < i; j++)
			ASSERT_NE(handles[j], f.handle);
		ASSERT_NE(first.handle, f.handle);
		handles[i] = f.handle;
		ASSERT_EQ(0, return_frame(self->z.cap, f.handle));
		EXPECT_EQ(-ENOENT, return_frame(self->z.cap, f.handle));
		zc_expect_allocated(_metadata, &self->z, 1);
	}
	/* The first frame is untouched, and comes back. */
	self->z.frames = 0;
	zc_check(_metadata, &self->z, &first);
	EXPECT_EQ(0, return_frame(self->z.cap, first.handle));
	EXPECT_EQ(0, streamoff(self->z.cap));
	EXPECT_EQ(0U, allocated_frames(self->z.alloc));
}

TEST_F(capture_zc, read_and_dequeue_exclusive)
{
	struct ksalloc_capture_frame f;
	size_t size = HDR_SIZE + self->z.payload;
	unsigned char *buf = malloc(size);

	ASSERT_TRUE(!!buf);
	/* read() first: DEQUEUE_FRAME is refused until the next STREAMON. */
	zc_start(_metadata, &self->z);
	ASSERT_EQ((ssize_t)size, read_capture_frame(self->z.cap, buf, size, CAPTURE_TEST_WAIT_MS));
	EXPECT_EQ(-EBUSY, dequeue(self->z.cap, &f));
	ASSERT_EQ((ssize_t)size, read_capture_frame(self->z.cap, buf, size, CAPTURE_TEST_WAIT_MS));
	EXPECT_EQ(0, streamoff(self->z.cap));
	EXPECT_EQ(-EBUSY, dequeue(self->z.cap, &f));

	/* DEQUEUE_FRAME first: read() is refused. */
	zc_start(_metadata, &self->z);
	zc_one(_metadata, &self->z, &f);
	EXPECT_EQ(-1, read(self->z.cap, buf, size));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(0, return_frame(self->z.cap, f.handle));
	EXPECT_EQ(0, streamoff(self->z.cap));
	EXPECT_EQ(-1, read(self->z.cap, buf, size));
	EXPECT_EQ(EBUSY, errno);

	/* A new STREAMON chooses again. */
	zc_start(_metadata, &self->z);
	ASSERT_EQ((ssize_t)size, read_capture_frame(self->z.cap, buf, size, CAPTURE_TEST_WAIT_MS));
	EXPECT_EQ(-EBUSY, dequeue(self->z.cap, &f));
	EXPECT_EQ(0, streamoff(self->z.cap));
	counters(_metadata, self->z.cap);
	EXPECT_EQ(0U, allocated_frames(self->z.alloc));
	free(buf);
}

TEST_F(capture_zc, dequeue_copy_fault_drops_frame)
{
	struct ksalloc_capture_counters c1, c2;
	struct ksalloc_capture_frame *ro;

	ro = mmap(NULL, sysconf(_SC_PAGESIZE), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(-EFAULT, ks_ioctl(self->z.cap, KSALLOC_CAPTURE_IOC_DEQUEUE_FRAME, NULL));
	EXPECT_EQ(-EFAULT, ks_ioctl(self->z.cap, KSALLOC_CAPTURE_IOC_RETURN_FRAME, NULL));
	zc_start(_metadata, &self->z);
	ASSERT_EQ(POLLIN, poll_in(self->z.cap, CAPTURE_TEST_WAIT_MS) & POLLIN);
	c1 = counters(_metadata, self->z.cap);
	/* Readable (zeros), not writable: the frame is taken, then dropped. */
	EXPECT_EQ(-EFAULT, ks_ioctl(self->z.cap, KSALLOC_CAPTURE_IOC_DEQUEUE_FRAME, ro));
	c2 = counters(_metadata, self->z.cap);
	EXPECT_EQ(c1.delivered, c2.delivered);
	EXPECT_LE(c1.dropped + 1, c2.dropped);
	zc_expect_allocated(_metadata, &self->z, 0);
	EXPECT_EQ(0, streamoff(self->z.cap));
	EXPECT_EQ(0U, allocated_frames(self->z.alloc));
	munmap(ro, sysconf(_SC_PAGESIZE));
}

/* A slab-backed pool cannot be mapped: no zero-copy path, read() works. */
TEST_F(capture, dequeue_unmappable_enodev)
{
	struct ksalloc_capture_frame f;

	EXPECT_EQ(-EBADFD, dequeue(self->cap, &f));
	attach(_metadata, self->cap, self->alloc, 100);
	EXPECT_EQ(-ENODEV, dequeue(self->cap, &f));
	reader_start(_metadata, &self->r);
	ASSERT_EQ(POLLIN, poll_in(self->cap, CAPTURE_TEST_WAIT_MS) & POLLIN);
	EXPECT_EQ(-ENODEV, dequeue(self->cap, &f));
	/* Refused, it chose nothing: read() works. */
	read_one(_metadata, &self->r);
	reader_stop(_metadata, &self->r);
	EXPECT_EQ(0U, allocated_frames(self->alloc));
}

KSALLOC_TOTALS_TEARDOWN_TEST()

TEST_HARNESS_MAIN
