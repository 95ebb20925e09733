// SPDX-License-Identifier: GPL-2.0
/*
 * ksalloc_mmap_test - mmap() of /dev/ksalloc and KSALLOC_IOC_ALLOC_FRAME2
 *
 * A page-backed pool (frames above KSALLOC_SLAB_FRAME_SIZE, or any with
 * KSALLOC_OPTIONF_MAPPABLE) maps into its user: each refusal has its own
 * errno (private, executable, before the framing, a slab-backed pool, beyond
 * the pool), ALLOC_FRAME2 says where each frame is, a fresh pool reads all
 * zero after the guest's memory was dirtied, and a mapping keeps the memory
 * after the fd is closed, across fork() and after a partial munmap(). What
 * must not happen in the kernel (KASAN, kmemleak, warnings) is for the
 * guest's log check to see. The module is supposed to be loaded.
 *
 * Build, as a 64-bit and as a 32-bit (-m32) program: see tools/Makefile.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/ksalloc.h>

#include "ksalloc_test_util.h"

/* See ksalloc_test.c: these warnings are about the 6.12 harness. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wclobbered"
#include "kselftest_harness.h"

/* A VGA YUYV frame plus the capture header: page-backed without asking. */
#define VGA_FRAME	614424U
#define VGA_FRAMES	4U

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

/* mmap(), 0 or -errno; *@p the mapping on success. */
static int map(int fd, size_t len, int prot, int flags, off_t off, void **p)
{
	void *m = mmap(NULL, len, prot, flags, fd, off);

	if (m == MAP_FAILED)
		return -errno;
	*p = m;
	return 0;
}

static int alloc_frame2(int fd, struct ksalloc_mapped_frame *m)
{
	return ks_ioctl(fd, KSALLOC_IOC_ALLOC_FRAME2, m);
}

/* Every byte of @p[0, @len) is @c. */
static bool all_bytes(const void *p, size_t len, unsigned char c)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != c)
			return false;
	return true;
}

TEST(refused_before_framing_ebadfd)
{
	int fd = ksalloc_dev_open(0);
	struct ksalloc_mapped_frame m = { 0 };
	void *p = NULL;

	ASSERT_LE(0, fd);
	EXPECT_EQ(-EBADFD, map(fd, page_size(), PROT_READ | PROT_WRITE, MAP_SHARED, 0, &p));
	EXPECT_EQ(-EBADFD, alloc_frame2(fd, &m));
	EXPECT_EQ(0, close(fd));
}

TEST(refused_private_einval)
{
	int fd = open_pool(VGA_FRAMES, VGA_FRAME, 0);
	void *p = NULL;

	ASSERT_LE(0, fd);
	EXPECT_EQ(-EINVAL, map(fd, page_size(), PROT_READ, MAP_PRIVATE, 0, &p));
	EXPECT_EQ(-EINVAL, map(fd, page_size(), PROT_READ | PROT_WRITE, MAP_PRIVATE, 0, &p));
	EXPECT_EQ(0, close(fd));
}

TEST(refused_exec_eperm)
{
	int fd = open_pool(VGA_FRAMES, VGA_FRAME, 0);
	void *p = NULL;

	ASSERT_LE(0, fd);
	EXPECT_EQ(-EPERM, map(fd, page_size(), PROT_READ | PROT_EXEC, MAP_SHARED, 0, &p));
	/* Nor made executable later: VM_MAYEXEC is cleared. */
	ASSERT_EQ(0, map(fd, page_size(), PROT_READ, MAP_SHARED, 0, &p));
	EXPECT_EQ(-1, mprotect(p, page_size(), PROT_READ | PROT_EXEC));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(0, munmap(p, page_size()));
	EXPECT_EQ(0, close(fd));
}

TEST(refused_slab_backed_enodev)
{
	/* 256-byte frames come from a slab cache unless they ask otherwise. */
	int fd = open_pool(16, 256, 0);
	struct ksalloc_mapped_frame m = { 0 };
	void *p = NULL;

	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENODEV, map(fd, page_size(), PROT_READ | PROT_WRITE, MAP_SHARED, 0, &p));
	EXPECT_EQ(-ENODEV, alloc_frame2(fd, &m));
	/* Refused before taking a frame. */
	EXPECT_EQ(0, allocated_frames(fd));
	EXPECT_EQ(0, close(fd));
}

TEST(refused_beyond_pool_enxio)
{
	size_t size = VGA_FRAMES * stride_of(VGA_FRAME);
	int fd = open_pool(VGA_FRAMES, VGA_FRAME, 0);
	void *p = NULL;

	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENXIO, map(fd, size + page_size(), PROT_READ, MAP_SHARED, 0, &p));
	EXPECT_EQ(-ENXIO, map(fd, page_size(), PROT_READ, MAP_SHARED, size, &p));
	EXPECT_EQ(-ENXIO, map(fd, 2 * page_size(), PROT_READ, MAP_SHARED,
			      size - page_size(), &p));
	/* The whole pool, and its last page alone, are fine. */
	ASSERT_EQ(0, map(fd, size, PROT_READ, MAP_SHARED, 0, &p));
	EXPECT_EQ(0, munmap(p, size));
	ASSERT_EQ(0, map(fd, page_size(), PROT_READ, MAP_SHARED, size - page_size(), &p));
	EXPECT_EQ(0, munmap(p, page_size()));
	EXPECT_EQ(0, close(fd));
}

/* MAP_SHARED of a read-only file: readable, not writable. */
TEST(read_only_file_maps_shared)
{
	struct ksalloc_framing f = {
		.pool_type = KSALLOC_POOL_ATOMIC, .frames = VGA_FRAMES, .frame_size = VGA_FRAME,
	};
	int fd = open(KSALLOC_DEV, O_RDONLY | O_CLOEXEC);
	unsigned char *p = NULL;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_framing(fd, &f));
	ASSERT_EQ(0, map(fd, page_size(), PROT_READ, MAP_SHARED, 0, (void **)&p));
	EXPECT_EQ(0, p[0]);
	EXPECT_EQ(0, munmap(p, page_size()));
	EXPECT_EQ(-EACCES, map(fd, page_size(), PROT_READ | PROT_WRITE, MAP_SHARED, 0,
			       (void **)&p));
	EXPECT_EQ(0, close(fd));
}

TEST(alloc_frame2_reserved_einval)
{
	int fd = open_pool(VGA_FRAMES, VGA_FRAME, 0);
	struct ksalloc_mapped_frame m = { .flags = 1 };

	ASSERT_LE(0, fd);
	EXPECT_EQ(-EINVAL, alloc_frame2(fd, &m));
	m = (struct ksalloc_mapped_frame){ .reserved = 1 };
	EXPECT_EQ(-EINVAL, alloc_frame2(fd, &m));
	EXPECT_EQ(0, allocated_frames(fd));
	EXPECT_EQ(0, close(fd));
}

FIXTURE(mapped) {
	int fd;
	unsigned char *p;
	size_t stride, size;
};

FIXTURE_VARIANT(mapped) {
	__u32 frames, frame_size, options;
};

/* Small frames that ask to be mappable: one page each. */
FIXTURE_VARIANT_ADD(mapped, small_mappable) {
	.frames = 16, .frame_size = 256, .options = KSALLOC_OPTIONF_MAPPABLE,
};

FIXTURE_VARIANT_ADD(mapped, vga) {
	.frames = VGA_FRAMES, .frame_size = VGA_FRAME,
};

FIXTURE_SETUP(mapped)
{
	self->stride = stride_of(variant->frame_size);
	self->size = variant->frames * self->stride;
	self->fd = open_pool(variant->frames, variant->frame_size, variant->options);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, map(self->fd, self->size, PROT_READ | PROT_WRITE, MAP_SHARED, 0,
			 (void **)&self->p));
}

FIXTURE_TEARDOWN(mapped)
{
	if (self->p)
		munmap(self->p, self->size);
	if (self->fd >= 0)
		close(self->fd);
}

/* Every frame at a distinct page-aligned offset, zeroed, written through the map. */
TEST_F(mapped, frames_at_their_offsets)
{
	struct ksalloc_mapped_frame m[16];
	bool seen[16] = { false };
	__u32 i, n = variant->frames;

	ASSERT_TRUE(all_bytes(self->p, self->size, 0));
	for (i = 0; i < n; i++) {
		m[i] = (struct ksalloc_mapped_frame){ 0 };
		ASSERT_EQ(0, alloc_frame2(self->fd, &m[i]));
		ASSERT_EQ(0, m[i].offset % self->stride)
			TH_LOG("frame %u at %llu", i, (unsigned long long)m[i].offset);
		ASSERT_LT(m[i].offset, self->size);
		ASSERT_FALSE(seen[m[i].offset / self->stride]);
		seen[m[i].offset / self->stride] = true;
		ASSERT_TRUE(all_bytes(self->p + m[i].offset, variant->frame_size, 0));
		memset(self->p + m[i].offset, 0x40 + i, variant->frame_size);
	}
	EXPECT_EQ(n, allocated_frames(self->fd));
	/* No frame is free, so none is refused: the pool is exhausted, as before. */
	{
		struct ksalloc_mapped_frame extra = { 0 };
		int fd2 = dup(self->fd);

		ASSERT_LE(0, fd2);
		ASSERT_EQ(0, fcntl(fd2, F_SETFL, O_NONBLOCK));
		EXPECT_EQ(-EAGAIN, alloc_frame2(fd2, &extra));
		close(fd2);
	}
	for (i = 0; i < n; i++)
		EXPECT_TRUE(all_bytes(self->p + m[i].offset, variant->frame_size, 0x40 + i));
	for (i = 0; i < n; i++)
		EXPECT_EQ(0, free_frame(self->fd, m[i].handle));
	/* The old ALLOC_FRAME still works, and hands out the same frames. */
	{
		__u64 h = 0;

		EXPECT_EQ(0, alloc_frame(self->fd, &h));
		EXPECT_EQ(0, free_frame(self->fd, h));
	}
	EXPECT_EQ(0, allocated_frames(self->fd));
}

/* Set once: a second framing is refused while mapped, and the map stays. */
TEST_F(mapped, second_framing_ebusy)
{
	struct ksalloc_framing f = {
		.pool_type = KSALLOC_POOL_ATOMIC, .frames = 1, .frame_size = 65536,
	};
	struct ksalloc_status st;

	self->p[0] = 0x5a;
	EXPECT_EQ(-EBUSY, set_framing(self->fd, &f));
	EXPECT_EQ(0x5a, self->p[0]);
	ASSERT_EQ(0, get_status(self->fd, &st));
	EXPECT_EQ(variant->frame_size, st.framing.frame_size);
}

/* The mapping outlives the fd: the memory lives until munmap(). */
TEST_F(mapped, outlives_close)
{
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	memset(self->p, 0x77, self->size);
	EXPECT_TRUE(all_bytes(self->p, self->size, 0x77));
	/* Split by a partial munmap(): each part holds the memory. */
	if (self->size > page_size()) {
		EXPECT_EQ(0, munmap(self->p, page_size()));
		EXPECT_TRUE(all_bytes(self->p + page_size(), self->size - page_size(), 0x77));
		EXPECT_EQ(0, munmap(self->p + page_size(), self->size - page_size()));
		self->p = NULL;
	}
}

/* A child shares the mapping, and keeps it after the parent let go. */
TEST_F(mapped, fork_shares_and_outlives_parent)
{
	int pipefd[2], status, i;
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(pipefd[1]);
		close(self->fd);
		self->p[0] = 0x11;
		/* Wait until the parent has unmapped and closed everything. */
		if (read(pipefd[0], &c, 1) != 1)
			_exit(2);
		memset(self->p + 1, 0x22, self->size - 1);
		_exit(self->p[0] == 0x11 && all_bytes(self->p + 1, self->size - 1, 0x22) ?
		      0 : 1);
	}
	close(pipefd[0]);
	/* The child's write is seen here: one memory. */
	for (i = 0; i < 10000 && !__atomic_load_n(self->p, __ATOMIC_RELAXED); i++)
		usleep(1000);
	EXPECT_EQ(0x11, self->p[0]);
	EXPECT_EQ(0, munmap(self->p, self->size));
	self->p = NULL;
	EXPECT_EQ(0, close(self->fd));
	self->fd = -1;
	ASSERT_EQ(1, write(pipefd[1], "x", 1));
	close(pipefd[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/*
 * Filling 3 x 256 MiB takes seconds under KASAN, and more than the harness's
 * default 30 s when the host is busy (a cold make check): a timeout of its
 * own, through a fixture with nothing in it.
 */
FIXTURE(dirty) {
	int unused;
};

FIXTURE_SETUP(dirty)
{
}

FIXTURE_TEARDOWN(dirty)
{
}

/*
 * A fresh pool reads all zero, though its pages were just someone else's:
 * a big anonymous mapping is filled and freed first, several times, so that
 * the page allocator hands its pages out again.
 */
TEST_F_TIMEOUT(dirty, fresh_pool_zeroed_after_dirty_memory, 300)
{
	size_t dirty = 256UL << 20, size = 16 * stride_of(1U << 20);
	int round, fd;

	for (round = 0; round < 3; round++) {
		unsigned char *d = mmap(NULL, dirty, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		unsigned char *p = NULL;

		ASSERT_NE(MAP_FAILED, d);
		memset(d, 0xa5, dirty);
		ASSERT_EQ(0, munmap(d, dirty));

		fd = open_pool(16, 1U << 20, 0);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, map(fd, size, PROT_READ, MAP_SHARED, 0, (void **)&p));
		EXPECT_TRUE(all_bytes(p, size, 0));
		EXPECT_EQ(0, munmap(p, size));
		EXPECT_EQ(0, close(fd));
	}
}

KSALLOC_TOTALS_TEARDOWN_TEST()

TEST_HARNESS_MAIN
