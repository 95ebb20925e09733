// SPDX-License-Identifier: GPL-2.0
/*
 * ksalloc_edu_test - capture by DMA from QEMU's edu device, end to end
 *
 * ksalloc_capture binds to QEMU's edu PCI device (1234:11e8) and, for a
 * stream whose source is KSALLOC_CAPTURE_SOURCE_EDU, has the device's DMA
 * engine write every frame into the stream's allocator: the driver loads the
 * frame (header and per-sequence payload) into the device's buffer by DMA,
 * then the device writes it into the frame at the frame's DMA address. These
 * tests read every delivered frame, each byte, through the zero-copy path
 * (DEQUEUE_FRAME, a mapping of the allocator, RETURN_FRAME) and through
 * read(); check SET_SOURCE's and STREAMON's refusals; and unbind the device
 * through sysfs while it streams and the application holds frames: the
 * stream then fails with -ENODEV, the held frames stay intact, the
 * allocator usable, and after binding again the device streams again.
 *
 * A guest without an edu device skips every test; an edu device that
 * ksalloc_capture did not bind is a failure. The device completes a DMA 100
 * ms after it is started: a frame takes two, so about five frames a second.
 *
 * Build, as a 64-bit and as a 32-bit (-m32) program:
 *
 *	cd tools/testing && gcc [-m32] -static -O2 -Wall -Wextra -Werror \
 *		-D_GNU_SOURCE -I../../include/uapi -I../include \
 *		-I<linux>/tools/testing/selftests -o ksalloc_edu_test \
 *		ksalloc_edu_test.c -lpthread
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
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
#define PCI_DEVICES		"/sys/bus/pci/devices"
#define EDU_DRIVER		"/sys/bus/pci/drivers/ksalloc_capture"
/* A frame is two DMAs of 100 ms: allow for a slow guest. */
#define EDU_WAIT_MS		5000
/* Frames the allocator has. */
#define EDU_FRAMES		4U
/* Frames to check per stream. */
#define EDU_ENOUGH		(3 * EDU_FRAMES)
/* The largest frame the device writes: 24 + 4071 bytes, a tail not whole words. */
#define EDU_WIDTH		4071U
#define EDU_HEIGHT		1U
#define EDU_BPP			1U
#define EDU_PAYLOAD		(EDU_WIDTH * EDU_HEIGHT * EDU_BPP)

static_assert(HDR_SIZE + EDU_PAYLOAD == KSALLOC_CAPTURE_EDU_MAX_FRAME, "the largest frame");
static_assert(sizeof(struct ksalloc_capture_source) == 8, "source size");
static_assert(offsetof(struct ksalloc_capture_source, source) == 0, "source");
static_assert(offsetof(struct ksalloc_capture_source, flags) == 4, "source flags");
static_assert(KSALLOC_CAPTURE_IOC_SET_SOURCE == 0x4008d807, "SET_SOURCE");

/*
 * The PCI address of the first edu device into @bdf; false if the machine
 * has none.
 */
static bool find_edu(char *bdf, size_t size)
{
	char path[PATH_MAX], vendor[16], device[16];
	struct dirent *d;
	bool found = false;
	DIR *dir;

	dir = opendir(PCI_DEVICES);
	if (!dir)
		return false;
	while (!found && (d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), PCI_DEVICES "/%s/vendor", d->d_name);
		if (read_line(path, vendor, sizeof(vendor)))
			continue;
		snprintf(path, sizeof(path), PCI_DEVICES "/%s/device", d->d_name);
		if (read_line(path, device, sizeof(device)))
			continue;
		if (!strcmp(vendor, "0x1234") && !strcmp(device, "0x11e8")) {
			snprintf(bdf, size, "%s", d->d_name);
			found = true;
		}
	}
	closedir(dir);
	return found;
}

/* Whether ksalloc_capture drives device @bdf. */
static bool edu_bound(const char *bdf)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), EDU_DRIVER "/%s", bdf);
	return !access(path, F_OK);
}

static int edu_unbind(const char *bdf)
{
	return write_file(EDU_DRIVER "/unbind", bdf);
}

static int edu_bind(const char *bdf)
{
	return write_file(EDU_DRIVER "/bind", bdf);
}

static int set_source_flags(int cap, __u32 source, __u32 flags)
{
	struct ksalloc_capture_source arg = { .source = source, .flags = flags };

	return ks_ioctl(cap, KSALLOC_CAPTURE_IOC_SET_SOURCE, &arg);
}

static int set_source(int cap, __u32 source)
{
	return set_source_flags(cap, source, 0);
}

/* A stream from edu into an allocator, and the frames seen so far. */
struct edu {
	char bdf[NAME_MAX + 1];
	int cap;
	int alloc;
	unsigned char *map;
	size_t map_size;
	size_t stride;
	/* What the frames seen so far said. */
	__u64 frames, last_sequence, last_timestamp;
	unsigned long long since;
};

FIXTURE(edu) {
	struct edu e;
};

FIXTURE_VARIANT(edu) {
	/* A mappable pool (DEQUEUE_FRAME), or slab-backed frames (read()). */
	bool mappable;
	/* Frame size beyond header and payload: a frame larger than a page. */
	__u32 extra;
};

/* One page a frame. */
FIXTURE_VARIANT_ADD(edu, mappable_page) {
	.mappable = true,
};

/* Two pages a frame: mapped as a list, the device writes the first page. */
FIXTURE_VARIANT_ADD(edu, mappable_two_pages) {
	.mappable = true, .extra = 4096,
};

/* Slab-backed frames (dma_map_single()), read by read(). */
FIXTURE_VARIANT_ADD(edu, slab) {
	.mappable = false,
};

FIXTURE_SETUP(edu)
{
	struct ksalloc_framing framing = {
		.options = variant->mappable ? KSALLOC_OPTIONF_MAPPABLE : 0,
		.pool_type = KSALLOC_POOL_ATOMIC,
		.frames = EDU_FRAMES,
		.frame_size = HDR_SIZE + EDU_PAYLOAD + variant->extra,
		.alignment = 63,
	};
	size_t page = sysconf(_SC_PAGESIZE);

	self->e.cap = -1;
	self->e.alloc = -1;
	self->e.map = MAP_FAILED;
	if (!find_edu(self->e.bdf, sizeof(self->e.bdf)))
		SKIP(return, "no edu device (QEMU without -device edu)");
	ASSERT_TRUE(edu_bound(self->e.bdf))
		TH_LOG("edu device %s not bound to ksalloc_capture", self->e.bdf);
	self->e.cap = capture_dev_open(0);
	ASSERT_LE(0, self->e.cap)
		TH_LOG("open %s: %s (is ksalloc_capture loaded?)", KSALLOC_CAPTURE_DEV,
		       strerror(errno));
	self->e.alloc = ksalloc_open_framed(&framing, 0);
	ASSERT_LE(0, self->e.alloc)
		TH_LOG("allocator: %s", strerror(-self->e.alloc));
	if (variant->mappable) {
		self->e.stride = (framing.frame_size + page - 1) / page * page;
		self->e.map_size = framing.frames * self->e.stride;
		self->e.map = mmap(NULL, self->e.map_size, PROT_READ, MAP_SHARED, self->e.alloc, 0);
		ASSERT_NE(MAP_FAILED, self->e.map)
			TH_LOG("mmap of the allocator: %s", strerror(errno));
	}
	ASSERT_EQ(0, set_allocator(self->e.cap, self->e.alloc));
	/* The device sets the pace: the rate is not used. */
	ASSERT_EQ(0, set_format(self->e.cap, EDU_WIDTH, EDU_HEIGHT, EDU_BPP, 1));
	ASSERT_EQ(0, set_source(self->e.cap, KSALLOC_CAPTURE_SOURCE_EDU));
}

FIXTURE_TEARDOWN(edu)
{
	if (self->e.map != MAP_FAILED)
		munmap(self->e.map, self->e.map_size);
	if (self->e.cap >= 0)
		close(self->e.cap);
	if (self->e.alloc >= 0)
		close(self->e.alloc);
	/* A test that failed half-way leaves the device bound for the next. */
	if (self->e.bdf[0] && !edu_bound(self->e.bdf))
		edu_bind(self->e.bdf);
}

static void edu_start(struct __test_metadata *_metadata, struct edu *self)
{
	self->since = now_ns();
	self->frames = 0;
	ASSERT_EQ(0, streamon(self->cap));
}

/*
 * Checks a frame the device wrote: header, every payload byte against the
 * pattern of its sequence, order and timestamps.
 */
static void edu_check(struct __test_metadata *_metadata, struct edu *self,
		      const unsigned char *frame, __u64 sequence, __u64 timestamp)
{
	const struct ksalloc_capture_header *h = (const void *)frame;
	long long at;

	EXPECT_EQ(sequence, h->sequence);
	EXPECT_EQ(timestamp, h->timestamp_ns);
	EXPECT_EQ(EDU_PAYLOAD, h->payload_size);
	EXPECT_EQ(0U, h->reserved);
	if (self->frames) {
		ASSERT_LT(self->last_sequence, sequence);
		ASSERT_LE(self->last_timestamp, timestamp);
	}
	ASSERT_LE(self->since, timestamp);
	ASSERT_GE(now_ns(), timestamp);
	at = ksalloc_capture_mismatch(frame + HDR_SIZE, EDU_PAYLOAD, sequence);
	ASSERT_EQ(-1, at)
		TH_LOG("frame %llu: payload byte %lld is 0x%02x", (unsigned long long)sequence,
		       at, frame[HDR_SIZE + at]);
	self->frames++;
	self->last_sequence = sequence;
	self->last_timestamp = timestamp;
}

/* Dequeues (waiting for it) one frame and checks it through the mapping. */
static void edu_one(struct __test_metadata *_metadata, struct edu *self,
		    struct ksalloc_capture_frame *f)
{
	ASSERT_EQ(POLLIN, poll_in(self->cap, EDU_WAIT_MS) & POLLIN);
	ASSERT_EQ(0, dequeue(self->cap, f));
	ASSERT_NE(0ULL, f->handle);
	ASSERT_EQ(0ULL, f->offset % self->stride);
	ASSERT_GT(self->map_size, f->offset);
	ASSERT_EQ(EDU_PAYLOAD, f->payload_size);
	edu_check(_metadata, self, self->map + f->offset, f->sequence, f->timestamp_ns);
}

/* Streams EDU_ENOUGH frames, each checked and returned; then STREAMOFF. */
static void edu_stream(struct __test_metadata *_metadata, struct edu *self,
		       bool mappable)
{
	struct ksalloc_capture_counters c;
	const struct ksalloc_capture_header *h;
	struct ksalloc_capture_frame f;
	unsigned char *buf;
	ssize_t len;

	buf = malloc(HDR_SIZE + EDU_PAYLOAD);
	ASSERT_TRUE(!!buf);
	edu_start(_metadata, self);
	while (self->frames < EDU_ENOUGH) {
		if (mappable) {
			edu_one(_metadata, self, &f);
			ASSERT_EQ(0, return_frame(self->cap, f.handle));
		} else {
			len = read_capture_frame(self->cap, buf, HDR_SIZE + EDU_PAYLOAD,
						 EDU_WAIT_MS);
			ASSERT_EQ((ssize_t)(HDR_SIZE + EDU_PAYLOAD), len);
			h = (const void *)buf;
			edu_check(_metadata, self, buf, h->sequence, h->timestamp_ns);
		}
	}
	free(buf);
	EXPECT_EQ(0, streamoff(self->cap));
	c = counters(_metadata, self->cap);
	EXPECT_EQ(0U, c.in_flight);
	EXPECT_EQ(self->frames, c.delivered);
	EXPECT_EQ(0U, allocated_frames(self->alloc));
}

/*
 * The harness's 30 s per case is a hang guard; on the debug kernel, behind a
 * strict IOMMU (an IOTLB flush per frame unmapped) and beside other guests
 * on two host CPUs, unbind_while_streaming took more (cold make check at
 * 51cd2f8), and streamon_unbound_enodev, which unbinds and binds, too (warm
 * make check at 0015a71). Every case opens the device and sets an allocator
 * up, on that same machine: 120 s for each, well below a stock guest's 600 s
 * in all, so that a case that hangs fails alone.
 */
#define EDU_CASE_TIMEOUT	120

TEST_F_TIMEOUT(edu, stream_verify, EDU_CASE_TIMEOUT)
{
	edu_stream(_metadata, &self->e, variant->mappable);
	/* Once more: a second STREAMON attaches the device again. */
	edu_stream(_metadata, &self->e, variant->mappable);
}

TEST_F_TIMEOUT(edu, set_source_einval, EDU_CASE_TIMEOUT)
{
	EXPECT_EQ(-EINVAL, set_source_flags(self->e.cap, KSALLOC_CAPTURE_SOURCE_EDU, 1));
	EXPECT_EQ(-EINVAL, set_source_flags(self->e.cap, KSALLOC_CAPTURE_SOURCE_EDU, 1U << 31));
	EXPECT_EQ(-EINVAL, set_source(self->e.cap, KSALLOC_CAPTURE_SOURCE_EDU + 1));
	EXPECT_EQ(-EINVAL, set_source(self->e.cap, UINT32_MAX));
	/* The timer source still works, and edu after it. */
	EXPECT_EQ(0, set_source(self->e.cap, KSALLOC_CAPTURE_SOURCE_TIMER));
	EXPECT_EQ(0, set_source(self->e.cap, KSALLOC_CAPTURE_SOURCE_EDU));
}

TEST_F_TIMEOUT(edu, set_source_streaming_ebusy, EDU_CASE_TIMEOUT)
{
	ASSERT_EQ(0, streamon(self->e.cap));
	EXPECT_EQ(-EBUSY, set_source(self->e.cap, KSALLOC_CAPTURE_SOURCE_TIMER));
	EXPECT_EQ(-EBUSY, set_source(self->e.cap, KSALLOC_CAPTURE_SOURCE_EDU));
	EXPECT_EQ(0, streamoff(self->e.cap));
}

/* One edu device, one stream: a second stream finds it busy. */
TEST_F_TIMEOUT(edu, streamon_device_busy_ebusy, EDU_CASE_TIMEOUT)
{
	int cap2;

	cap2 = capture_dev_open(0);
	ASSERT_LE(0, cap2);
	ASSERT_EQ(0, set_allocator(cap2, self->e.alloc));
	ASSERT_EQ(0, set_format(cap2, EDU_WIDTH, EDU_HEIGHT, EDU_BPP, 1));
	ASSERT_EQ(0, set_source(cap2, KSALLOC_CAPTURE_SOURCE_EDU));
	ASSERT_EQ(0, streamon(self->e.cap));
	EXPECT_EQ(-EBUSY, streamon(cap2));
	EXPECT_EQ(0, streamoff(self->e.cap));
	/* Free again. */
	EXPECT_EQ(0, streamon(cap2));
	EXPECT_EQ(0, streamoff(cap2));
	close(cap2);
	EXPECT_EQ(0U, allocated_frames(self->e.alloc));
}

/*
 * A frame larger than the device's buffer. A fixture of its own, for the
 * timeout: TEST() has only the harness's 30 s.
 */
FIXTURE(edu_framing) {
	int unused;
};

FIXTURE_SETUP(edu_framing)
{
}

FIXTURE_TEARDOWN(edu_framing)
{
}

TEST_F_TIMEOUT(edu_framing, streamon_frame_too_big_emsgsize, EDU_CASE_TIMEOUT)
{
	char bdf[NAME_MAX + 1];
	int cap, alloc;

	if (!find_edu(bdf, sizeof(bdf)))
		SKIP(return, "no edu device (QEMU without -device edu)");
	cap = capture_dev_open(0);
	ASSERT_LE(0, cap);
	alloc = ksalloc_open_pool(KSALLOC_POOL_ATOMIC, 2, 2 * KSALLOC_CAPTURE_EDU_MAX_FRAME, 63, 0);
	ASSERT_LE(0, alloc);
	ASSERT_EQ(0, set_allocator(cap, alloc));
	/* One byte of payload too many. */
	ASSERT_EQ(0, set_format(cap, KSALLOC_CAPTURE_EDU_MAX_FRAME - HDR_SIZE + 1, 1, 1, 1));
	ASSERT_EQ(0, set_source(cap, KSALLOC_CAPTURE_SOURCE_EDU));
	EXPECT_EQ(-EMSGSIZE, streamon(cap));
	/* Exactly the buffer: fine. */
	ASSERT_EQ(0, set_format(cap, KSALLOC_CAPTURE_EDU_MAX_FRAME - HDR_SIZE, 1, 1, 1));
	EXPECT_EQ(0, streamon(cap));
	EXPECT_EQ(0, streamoff(cap));
	close(cap);
	close(alloc);
}

/*
 * The driver unbound while the device streams and the application holds
 * frames: the stream fails with -ENODEV, the frames held keep what the
 * device wrote, they go back, the allocator works; bound again, the device
 * streams again.
 */
TEST_F_TIMEOUT(edu, unbind_while_streaming, EDU_CASE_TIMEOUT)
{
	struct ksalloc_capture_frame held[2], f;
	struct ksalloc_capture_counters c;
	__u64 handles[EDU_FRAMES];
	unsigned char *buf;
	unsigned int i, n = variant->mappable ? 2 : 0;
	int ret;

	buf = malloc(HDR_SIZE + EDU_PAYLOAD);
	ASSERT_TRUE(!!buf);
	edu_start(_metadata, &self->e);
	/* Zero copy: hold two frames; read(): take two. */
	for (i = 0; i < 2; i++) {
		if (variant->mappable) {
			edu_one(_metadata, &self->e, &held[i]);
		} else {
			ASSERT_EQ((ssize_t)(HDR_SIZE + EDU_PAYLOAD),
				  read_capture_frame(self->e.cap, buf, HDR_SIZE + EDU_PAYLOAD,
						     EDU_WAIT_MS));
		}
	}
	/* The device is busy with the next frame now: unbind under it. */
	ASSERT_EQ(0, edu_unbind(self->e.bdf));
	ASSERT_FALSE(edu_bound(self->e.bdf));

	if (variant->mappable)
		ret = dequeue(self->e.cap, &f);
	else
		ret = read(self->e.cap, buf, HDR_SIZE + EDU_PAYLOAD) < 0 ? -errno : 0;
	EXPECT_EQ(-ENODEV, ret);
	EXPECT_NE(0, poll_in(self->e.cap, 0) & (POLLERR | POLLHUP));
	free(buf);
	/* What the device wrote before it went is still there, unchanged. */
	self->e.frames = 0;
	for (i = 0; i < n; i++) {
		edu_check(_metadata, &self->e, self->e.map + held[i].offset, held[i].sequence,
			  held[i].timestamp_ns);
		EXPECT_EQ(0, return_frame(self->e.cap, held[i].handle));
	}
	EXPECT_EQ(0, streamoff(self->e.cap));
	c = counters(_metadata, self->e.cap);
	EXPECT_EQ(0U, c.in_flight);
	EXPECT_EQ(0U, allocated_frames(self->e.alloc));
	/* The allocator works: every frame can be taken. */
	for (i = 0; i < EDU_FRAMES; i++)
		EXPECT_EQ(0, alloc_frame(self->e.alloc, &handles[i]));
	EXPECT_EQ(EDU_FRAMES, allocated_frames(self->e.alloc));
	for (i = 0; i < EDU_FRAMES; i++)
		EXPECT_EQ(0, free_frame(self->e.alloc, handles[i]));
	EXPECT_EQ(0U, allocated_frames(self->e.alloc));
	/* No device: STREAMON says so. */
	EXPECT_EQ(-ENODEV, streamon(self->e.cap));

	ASSERT_EQ(0, edu_bind(self->e.bdf));
	ASSERT_TRUE(edu_bound(self->e.bdf));
	edu_stream(_metadata, &self->e, variant->mappable);
}

/* STREAMON without a device bound; the timer source does not need one. */
TEST_F_TIMEOUT(edu, streamon_unbound_enodev, EDU_CASE_TIMEOUT)
{
	ASSERT_EQ(0, edu_unbind(self->e.bdf));
	EXPECT_EQ(-ENODEV, streamon(self->e.cap));
	EXPECT_EQ(0, set_source(self->e.cap, KSALLOC_CAPTURE_SOURCE_TIMER));
	EXPECT_EQ(0, streamon(self->e.cap));
	EXPECT_EQ(0, streamoff(self->e.cap));
	ASSERT_EQ(0, edu_bind(self->e.bdf));
}

TEST_HARNESS_MAIN
