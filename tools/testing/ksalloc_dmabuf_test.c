// SPDX-License-Identifier: GPL-2.0
/*
 * ksalloc_dmabuf_test - KSALLOC_IOC_EXPORT_FRAME: a frame as a dma-buf
 *
 * A frame user space holds in a page-backed pool is exported as a dma-buf:
 * the dma-buf is the frame's pages (written through one mapping, read
 * through the other, bracketed by DMA_BUF_IOCTL_SYNC), FREE_FRAME refuses
 * the frame with EBUSY while any export lives (a descriptor, a mapping),
 * the dma-buf outlives the allocator's descriptor, and every refusal has
 * its errno and exports nothing. The importer side (attach, map_dma_buf,
 * vmap) is ksalloc_vivid_test's. On a kernel without dma-buf
 * (CONFIG_DMA_SHARED_BUFFER) the export is EOPNOTSUPP and every case skips.
 * The module is supposed to be loaded.
 *
 * Build, as a 64-bit and as a 32-bit (-m32) program: see tools/Makefile.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <linux/dma-buf.h>
#include <linux/ksalloc.h>

#include "ksalloc_test_util.h"

/* See ksalloc_test.c: these warnings are about the 6.12 harness. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wclobbered"
#include "kselftest_harness.h"

/* A VGA YUYV frame plus the capture header: page-backed without asking. */
#define VGA_FRAME	614424U
#define FRAMES		4U

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static size_t stride_of(__u32 frame_size)
{
	return (frame_size + page_size() - 1) / page_size() * page_size();
}

/* An atomic pool, framed; or -errno. */
static int open_pool(__u32 frames, __u32 frame_size, __u32 options)
{
	struct ksalloc_framing f = {
		.options = options,
		.pool_type = KSALLOC_POOL_ATOMIC,
		.frames = frames,
		.frame_size = frame_size,
	};

	return ksalloc_open_framed(&f, 0);
}

/* The dma-buf's descriptor, or -errno. */
static int export_frame(int fd, __u64 handle, __u32 flags)
{
	struct ksalloc_export_frame x = { .handle = handle, .flags = flags, .fd = -1 };
	int ret = ks_ioctl(fd, KSALLOC_IOC_EXPORT_FRAME, &x);

	return ret ? ret : x.fd;
}

static int sync_buf(int dfd, __u64 flags)
{
	struct dma_buf_sync s = { .flags = flags };

	return ks_ioctl(dfd, DMA_BUF_IOCTL_SYNC, &s);
}

/* mmap(), 0 or -errno; *@p the mapping on success. */
static int map(int fd, size_t len, int prot, int flags, void **p)
{
	void *m = mmap(NULL, len, prot, flags, fd, 0);

	if (m == MAP_FAILED)
		return -errno;
	*p = m;
	return 0;
}

/* A byte pattern that differs from frame to frame and from @seed to @seed. */
static void fill(void *p, size_t len, unsigned int seed)
{
	__u32 *w = p;
	size_t i;

	for (i = 0; i < len / 4; i++)
		w[i] = (__u32)i * 2654435761u + seed;
}

static bool filled(const void *p, size_t len, unsigned int seed)
{
	const __u32 *w = p;
	size_t i;

	for (i = 0; i < len / 4; i++)
		if (w[i] != (__u32)i * 2654435761u + seed)
			return false;
	return true;
}

/* Does this kernel export at all? Probed once, on a pool of its own. */
static int dmabuf_support(void)
{
	static int support = -1;
	struct ksalloc_mapped_frame m = { 0 };
	int fd, dfd;

	if (support >= 0)
		return support;
	fd = open_pool(1, VGA_FRAME, 0);
	if (fd < 0)
		return 1;	/* let the case fail on its own */
	dfd = ks_ioctl(fd, KSALLOC_IOC_ALLOC_FRAME2, &m) ? -errno :
	      export_frame(fd, m.handle, O_CLOEXEC);
	support = dfd != -EOPNOTSUPP;
	if (dfd >= 0)
		close(dfd);
	close(fd);
	return support;
}

#define NO_DMABUF	"no dma-buf: kernel without CONFIG_DMA_SHARED_BUFFER"

/* A page-backed pool mapped whole, and one frame of it held. */
FIXTURE(pool) {
	int fd;
	void *p;
	size_t size, stride;
	struct ksalloc_mapped_frame m;
};

FIXTURE_SETUP(pool)
{
	self->fd = -1;
	self->p = NULL;
	if (!dmabuf_support())
		SKIP(return, NO_DMABUF);
	self->stride = stride_of(VGA_FRAME);
	self->size = FRAMES * self->stride;
	self->fd = open_pool(FRAMES, VGA_FRAME, 0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, map(self->fd, self->size, PROT_READ | PROT_WRITE, MAP_SHARED, &self->p));
	ASSERT_EQ(0, ks_ioctl(self->fd, KSALLOC_IOC_ALLOC_FRAME2, &self->m));
}

FIXTURE_TEARDOWN(pool)
{
	if (self->p)
		munmap(self->p, self->size);
	if (self->fd >= 0)
		close(self->fd);
}

/* The bytes at @offset in the allocator's own mapping @p. */
static unsigned char *frame_at(void *p, __u64 offset)
{
	return (unsigned char *)p + offset;
}

/* Written through the dma-buf, read through ksalloc's mapping, and back. */
TEST_F(pool, mmap_shares_the_frame_both_ways)
{
	int dfd = export_frame(self->fd, self->m.handle, O_RDWR | O_CLOEXEC);
	void *d = NULL;

	ASSERT_LE(0, dfd);
	/* The frame in whole pages, close-on-exec as asked. */
	EXPECT_EQ((off_t)self->stride, lseek(dfd, 0, SEEK_END));
	EXPECT_EQ(FD_CLOEXEC, fcntl(dfd, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(0, map(dfd, self->stride, PROT_READ | PROT_WRITE, MAP_SHARED, &d));

	ASSERT_EQ(0, sync_buf(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
	fill(d, self->stride, 1);
	ASSERT_EQ(0, sync_buf(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE));
	EXPECT_TRUE(filled(frame_at(self->p, self->m.offset), self->stride, 1));

	fill(frame_at(self->p, self->m.offset), self->stride, 2);
	ASSERT_EQ(0, sync_buf(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_TRUE(filled(d, self->stride, 2));
	ASSERT_EQ(0, sync_buf(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	/* The dma-buf's own check of the flags. */
	EXPECT_EQ(-EINVAL, sync_buf(dfd, 1 << 7));

	/* Only this frame: the next one in the mapping is untouched. */
	if (self->m.offset + 2 * self->stride <= self->size) {
		unsigned char *next = frame_at(self->p, self->m.offset) + self->stride;
		size_t i;

		for (i = 0; i < self->stride && !next[i]; i++)
			;
		EXPECT_EQ(self->stride, i);
	}
	EXPECT_EQ(0, munmap(d, self->stride));
	EXPECT_EQ(0, close(dfd));
	EXPECT_EQ(0, free_frame(self->fd, self->m.handle));
}

/* FREE_FRAME waits for every export: descriptors and mappings. */
TEST_F(pool, free_refused_while_exported_ebusy)
{
	int d1 = export_frame(self->fd, self->m.handle, O_RDWR);
	int d2 = export_frame(self->fd, self->m.handle, O_RDWR);
	void *d = NULL;

	ASSERT_LE(0, d1);
	ASSERT_LE(0, d2);
	EXPECT_EQ(-EBUSY, free_frame(self->fd, self->m.handle));
	EXPECT_EQ(1, allocated_frames(self->fd));
	EXPECT_EQ(0, close(d1));
	EXPECT_EQ(-EBUSY, free_frame(self->fd, self->m.handle));
	ASSERT_EQ(0, map(d2, self->stride, PROT_READ, MAP_SHARED, &d));
	EXPECT_EQ(0, close(d2));
	/* The mapping holds the dma-buf. */
	EXPECT_EQ(-EBUSY, free_frame(self->fd, self->m.handle));
	EXPECT_EQ(0, munmap(d, self->stride));
	EXPECT_EQ(0, free_frame(self->fd, self->m.handle));
	EXPECT_EQ(0, allocated_frames(self->fd));
	/* Returned: no longer held, so no longer exportable. */
	EXPECT_EQ(-ENOENT, export_frame(self->fd, self->m.handle, O_RDWR));
}

/* Each refusal has its errno, and exports nothing. */
TEST_F(pool, refusals)
{
	struct ksalloc_status st;
	__u64 other = self->m.handle % FRAMES + 1;

	EXPECT_EQ(-EINVAL, export_frame(self->fd, 0, O_RDWR));
	EXPECT_EQ(-EINVAL, export_frame(self->fd, FRAMES + 1, O_RDWR));
	EXPECT_EQ(-EINVAL, export_frame(self->fd, 1ULL << 32 | self->m.handle, O_RDWR));
	EXPECT_EQ(-ENOENT, export_frame(self->fd, other, O_RDWR));
	EXPECT_EQ(-EINVAL, export_frame(self->fd, self->m.handle, O_WRONLY));
	EXPECT_EQ(-EINVAL, export_frame(self->fd, self->m.handle, O_NONBLOCK));
	EXPECT_EQ(-EINVAL, export_frame(self->fd, self->m.handle, 1U << 31));
	EXPECT_EQ(0, get_status(self->fd, &st));
	EXPECT_EQ(1, st.allocated_frames);
	/* Nothing was exported: the frame goes back at once. */
	EXPECT_EQ(0, free_frame(self->fd, self->m.handle));
}

/*
 * No descriptor free (RLIMIT_NOFILE lowered to the lowest free one): EMFILE,
 * the last check, after the arguments'; and nothing is exported, the frame
 * goes back at once.
 */
TEST_F(pool, no_free_descriptor_emfile)
{
	__u64 other = self->m.handle % FRAMES + 1;
	struct rlimit saved, rl;
	int next;

	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &saved));
	/* dup() gives the lowest free descriptor: every one below is in use. */
	next = dup(self->fd);
	ASSERT_LE(0, next);
	ASSERT_EQ(0, close(next));
	rl = saved;
	rl.rlim_cur = next;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	EXPECT_EQ(-1, dup(self->fd));
	EXPECT_EQ(EMFILE, errno);

	EXPECT_EQ(-EMFILE, export_frame(self->fd, self->m.handle, O_RDWR | O_CLOEXEC));
	EXPECT_EQ(-EMFILE, export_frame(self->fd, self->m.handle, 0));
	EXPECT_EQ(-EINVAL, export_frame(self->fd, self->m.handle, O_NONBLOCK));
	EXPECT_EQ(-EINVAL, export_frame(self->fd, 0, O_RDWR));
	EXPECT_EQ(-ENOENT, export_frame(self->fd, other, O_RDWR));
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &saved));

	EXPECT_EQ(1, allocated_frames(self->fd));
	EXPECT_EQ(0, free_frame(self->fd, self->m.handle));
	EXPECT_EQ(0, allocated_frames(self->fd));
}

/* Without O_RDWR, the dma-buf maps read-only; never private nor executable. */
TEST_F(pool, mmap_refusals)
{
	int ro = export_frame(self->fd, self->m.handle, 0);
	int rw = export_frame(self->fd, self->m.handle, O_RDWR);
	void *d = NULL;

	ASSERT_LE(0, ro);
	ASSERT_LE(0, rw);
	EXPECT_EQ(0, fcntl(ro, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(-EACCES, map(ro, self->stride, PROT_READ | PROT_WRITE, MAP_SHARED, &d));
	ASSERT_EQ(0, map(ro, self->stride, PROT_READ, MAP_SHARED, &d));
	EXPECT_EQ(0, munmap(d, self->stride));
	EXPECT_EQ(-EINVAL, map(rw, self->stride, PROT_READ | PROT_WRITE, MAP_PRIVATE, &d));
	EXPECT_EQ(-EPERM, map(rw, self->stride, PROT_READ | PROT_EXEC, MAP_SHARED, &d));
	/* Beyond the frame: the dma-buf core's check. */
	EXPECT_EQ(-EINVAL, map(rw, 2 * self->stride, PROT_READ, MAP_SHARED, &d));
	EXPECT_EQ(0, close(ro));
	EXPECT_EQ(0, close(rw));
	EXPECT_EQ(0, free_frame(self->fd, self->m.handle));
}

/* The dma-buf keeps the frame, and the allocator, after the fd is closed. */
TEST_F(pool, outlives_allocator_close)
{
	int dfd = export_frame(self->fd, self->m.handle, O_RDWR);
	void *d = NULL;

	ASSERT_LE(0, dfd);
	fill(frame_at(self->p, self->m.offset), self->stride, 3);
	EXPECT_EQ(0, munmap(self->p, self->size));
	self->p = NULL;
	EXPECT_EQ(0, close(self->fd));
	self->fd = -1;

	ASSERT_EQ(0, map(dfd, self->stride, PROT_READ | PROT_WRITE, MAP_SHARED, &d));
	ASSERT_EQ(0, sync_buf(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	EXPECT_TRUE(filled(d, self->stride, 3));
	fill(d, self->stride, 4);
	ASSERT_EQ(0, sync_buf(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	/* Another allocator now cannot have been given these pages. */
	{
		int fd2 = open_pool(FRAMES, VGA_FRAME, 0);
		void *p2 = NULL;
		size_t i;

		ASSERT_LE(0, fd2);
		ASSERT_EQ(0, map(fd2, self->size, PROT_READ | PROT_WRITE, MAP_SHARED, &p2));
		for (i = 0; i < self->size; i += self->stride)
			memset((char *)p2 + i, 0x5a, self->stride);
		EXPECT_EQ(0, munmap(p2, self->size));
		EXPECT_EQ(0, close(fd2));
	}
	EXPECT_TRUE(filled(d, self->stride, 4));
	/* The descriptor closed, the mapping alone keeps it. */
	EXPECT_EQ(0, close(dfd));
	EXPECT_TRUE(filled(d, self->stride, 4));
	EXPECT_EQ(0, munmap(d, self->stride));
}

TEST(refused_before_framing_ebadfd)
{
	int fd;

	if (!dmabuf_support())
		SKIP(return, NO_DMABUF);
	fd = ksalloc_dev_open(0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EBADFD, export_frame(fd, 1, O_RDWR));
	/* After the flags, before the handle. */
	EXPECT_EQ(-EINVAL, export_frame(fd, 0, 1U << 31));
	EXPECT_EQ(-EBADFD, export_frame(fd, 0, O_RDWR));
	EXPECT_EQ(0, close(fd));
	/* EBADF, for O_RDWR on a read-only file, comes first. */
	fd = open(KSALLOC_DEV, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EBADF, export_frame(fd, 0, O_RDWR));
	EXPECT_EQ(-EBADFD, export_frame(fd, 0, 0));
	EXPECT_EQ(0, close(fd));
}

TEST(refused_slab_backed_enodev)
{
	struct ksalloc_frame_handle h = { 0 };
	int fd;

	if (!dmabuf_support())
		SKIP(return, NO_DMABUF);
	/* 256-byte frames come from a slab cache unless they ask otherwise. */
	fd = open_pool(16, 256, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ks_ioctl(fd, KSALLOC_IOC_ALLOC_FRAME, &h));
	EXPECT_EQ(-ENODEV, export_frame(fd, h.handle, O_RDWR));
	/* Before the handle's checks. */
	EXPECT_EQ(-ENODEV, export_frame(fd, 0, O_RDWR));
	EXPECT_EQ(-ENODEV, export_frame(fd, h.handle % 16 + 1, O_RDWR));
	EXPECT_EQ(-EINVAL, export_frame(fd, 0, O_WRONLY));
	EXPECT_EQ(0, free_frame(fd, h.handle));
	EXPECT_EQ(0, close(fd));
}

/*
 * A file open read-only maps its pool read-only: it exports no writable
 * dma-buf either (EBADF), a read-only one all the same.
 */
TEST(read_only_file_exports_read_only)
{
	struct ksalloc_framing f = {
		.pool_type = KSALLOC_POOL_ATOMIC,
		.frames = 2,
		.frame_size = VGA_FRAME,
	};
	struct ksalloc_mapped_frame m = { 0 };
	int fd, dfd;

	if (!dmabuf_support())
		SKIP(return, NO_DMABUF);
	fd = open(KSALLOC_DEV, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_framing(fd, &f));
	ASSERT_EQ(0, ks_ioctl(fd, KSALLOC_IOC_ALLOC_FRAME2, &m));
	EXPECT_EQ(-EBADF, export_frame(fd, m.handle, O_RDWR));
	dfd = export_frame(fd, m.handle, O_CLOEXEC);
	ASSERT_LE(0, dfd);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, page_size(), PROT_READ | PROT_WRITE,
				   MAP_SHARED, dfd, 0));
	EXPECT_EQ(0, close(dfd));
	EXPECT_EQ(0, free_frame(fd, m.handle));
	EXPECT_EQ(0, close(fd));
}

/* Small frames that ask to be mappable are page-backed: exportable. */
TEST(mappable_small_frames_export)
{
	struct ksalloc_mapped_frame m = { 0 };
	int fd, dfd;

	if (!dmabuf_support())
		SKIP(return, NO_DMABUF);
	fd = open_pool(16, 256, KSALLOC_OPTIONF_MAPPABLE);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ks_ioctl(fd, KSALLOC_IOC_ALLOC_FRAME2, &m));
	dfd = export_frame(fd, m.handle, O_RDWR);
	ASSERT_LE(0, dfd);
	EXPECT_EQ((off_t)page_size(), lseek(dfd, 0, SEEK_END));
	EXPECT_EQ(0, close(dfd));
	EXPECT_EQ(0, free_frame(fd, m.handle));
	EXPECT_EQ(0, close(fd));
}

KSALLOC_TOTALS_TEARDOWN_TEST()

TEST_HARNESS_MAIN
