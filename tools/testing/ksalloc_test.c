// SPDX-License-Identifier: GPL-2.0
/*
 * ksalloc_test - kselftest of the /dev/ksalloc ioctl ABI
 *
 * Every open() of /dev/ksalloc is one frame allocator. These tests drive it
 * through its four ioctls and poll(): every errno of the contract, each
 * invalid field alone, the counters of KSALLOC_IOC_GET_STATUS exactly, and
 * that a refused request changes nothing.
 *
 * The module is supposed to be loaded, with its default parameters, by root
 * (as in the guests): a missing /dev/ksalloc, a max_pool_bytes the quota
 * tests do not fit, a parameter that cannot be written are failures, not
 * skips. Handles are opaque: nothing is assumed about their values but
 * "nonzero, and distinct among the frames held at one time".
 *
 * Signals: helper threads are created with SIGALRM blocked, so the timers of
 * the signal tests always interrupt the main thread. The harness runs every
 * test in its own process, so the timers never reach the harness.
 *
 * Build, as a 64-bit and as a 32-bit (-m32) program; the layouts of the UAPI
 * structures are checked at compile time, so both builds agree with the ABI:
 *
 *	cd tools/testing && gcc [-m32] -static -O2 -Wall -Wextra -Werror \
 *		-D_GNU_SOURCE -I../../include/uapi -I../include \
 *		-I<linux>/tools/testing/selftests -o ksalloc_test \
 *		ksalloc_test.c -lpthread
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/ksalloc.h>
#include <linux/userfaultfd.h>

#include "ksalloc_test_util.h"

/*
 * The 6.12 harness is not -Wextra clean: its timeout handler and TEST() wrapper
 * leave parameters unused, and its TEST_F() wrapper keeps a local across
 * setjmp(). Those warnings are about the harness, not this file.
 */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wclobbered"
#include "kselftest_harness.h"

#define KSALLOC_PARAM_MAX_USER	"/sys/module/ksalloc/parameters/max_user_bytes"
/* Largest framing of the ksalloc fixture's variants. */
#define KSALLOC_TEST_MAX_FRAMES	8U
/* How long a helper thread may take to block or wake, even on a slow KASAN guest. */
#define KSALLOC_TEST_WAIT_MS	10000
#define KSALLOC_NR_ALLOCATORS	64

/* The UAPI structures are ABI: identical for 32-bit and 64-bit user space. */
static_assert(sizeof(struct ksalloc_framing) == 24, "ksalloc_framing size");
static_assert(offsetof(struct ksalloc_framing, options) == 0, "options");
static_assert(offsetof(struct ksalloc_framing, pool_type) == 4, "pool_type");
static_assert(offsetof(struct ksalloc_framing, frames) == 8, "frames");
static_assert(offsetof(struct ksalloc_framing, frame_size) == 12, "frame_size");
static_assert(offsetof(struct ksalloc_framing, alignment) == 16, "alignment");
static_assert(offsetof(struct ksalloc_framing, reserved) == 20, "framing reserved");

static_assert(sizeof(struct ksalloc_status) == 56, "ksalloc_status size");
static_assert(offsetof(struct ksalloc_status, framing) == 0, "framing");
static_assert(offsetof(struct ksalloc_status, allocated_frames) == 24, "allocated_frames");
static_assert(offsetof(struct ksalloc_status, peak_allocated_frames) == 28, "peak");
static_assert(offsetof(struct ksalloc_status, waiters) == 32, "waiters");
static_assert(offsetof(struct ksalloc_status, misuse_events) == 36, "misuse_events");
static_assert(offsetof(struct ksalloc_status, total_allocations) == 40, "total");
static_assert(offsetof(struct ksalloc_status, failed_allocations) == 48, "failed");

static_assert(sizeof(struct ksalloc_frame_handle) == 16, "ksalloc_frame_handle size");
static_assert(offsetof(struct ksalloc_frame_handle, handle) == 0, "handle");
static_assert(offsetof(struct ksalloc_frame_handle, flags) == 8, "flags");
static_assert(offsetof(struct ksalloc_frame_handle, reserved) == 12, "handle reserved");

/* The command numbers, size and direction included, are ABI too. */
static_assert(KSALLOC_IOC_SET_FRAMING == 0x4018d700, "KSALLOC_IOC_SET_FRAMING");
static_assert(KSALLOC_IOC_GET_STATUS == 0x8038d701, "KSALLOC_IOC_GET_STATUS");
static_assert(KSALLOC_IOC_ALLOC_FRAME == 0xc010d702, "KSALLOC_IOC_ALLOC_FRAME");
static_assert(KSALLOC_IOC_FREE_FRAME == 0x4010d703, "KSALLOC_IOC_FREE_FRAME");

/* Incremented by ksalloc_waiter_fn() in the order the waiters return. */
static int ksalloc_completions;
/* Signals caught by ksalloc_on_signal(); atomics are async-signal-safe. */
static int ksalloc_signals;

/* Reads or writes a module parameter; returns 0 or -errno. */
static int param_io(const char *path, unsigned long long *value, bool write)
{
	FILE *f = fopen(path, write ? "w" : "r");
	int err = 0;

	if (!f)
		return -errno;
	if (write ? fprintf(f, "%llu\n", *value) < 0 : fscanf(f, "%llu", value) != 1)
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

static void expect_field(struct __test_metadata *_metadata, int line,
			 const char *field, __u64 want, __u64 seen)
{
	EXPECT_EQ(want, seen)
		TH_LOG("status field %s, checked at line %d", field, line);
}

/* Every field of @want, checked; @line is the caller's, for the log. */
static void expect_status(struct __test_metadata *_metadata, int line, int fd,
			  struct ksalloc_status want)
{
	struct ksalloc_status st;

	ASSERT_EQ(0, get_status(fd, &st))
		TH_LOG("GET_STATUS for line %d", line);
	expect_field(_metadata, line, "framing.options",
		     want.framing.options, st.framing.options);
	expect_field(_metadata, line, "framing.pool_type",
		     want.framing.pool_type, st.framing.pool_type);
	expect_field(_metadata, line, "framing.frames",
		     want.framing.frames, st.framing.frames);
	expect_field(_metadata, line, "framing.frame_size",
		     want.framing.frame_size, st.framing.frame_size);
	expect_field(_metadata, line, "framing.alignment",
		     want.framing.alignment, st.framing.alignment);
	expect_field(_metadata, line, "framing.reserved",
		     want.framing.reserved, st.framing.reserved);
	expect_field(_metadata, line, "allocated_frames",
		     want.allocated_frames, st.allocated_frames);
	expect_field(_metadata, line, "peak_allocated_frames",
		     want.peak_allocated_frames, st.peak_allocated_frames);
	expect_field(_metadata, line, "waiters",
		     want.waiters, st.waiters);
	expect_field(_metadata, line, "misuse_events",
		     want.misuse_events, st.misuse_events);
	expect_field(_metadata, line, "total_allocations",
		     want.total_allocations, st.total_allocations);
	expect_field(_metadata, line, "failed_allocations",
		     want.failed_allocations, st.failed_allocations);
}

/* EXPECT_STATUS(fd, .field = value, ...): fields not named must be 0. */
#define EXPECT_STATUS(fd, ...) \
	expect_status(_metadata, __LINE__, fd, (struct ksalloc_status){ __VA_ARGS__ })

/* Takes all @n frames; every handle nonzero and distinct. */
static void alloc_all(struct __test_metadata *_metadata, int fd, __u32 n,
		      __u64 *handles)
{
	__u32 i, j;

	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, alloc_frame(fd, &handles[i]))
			TH_LOG("frame %u of %u", i, n);
		ASSERT_NE(0ULL, handles[i]);
		for (j = 0; j < i; j++)
			ASSERT_NE(handles[j], handles[i])
				TH_LOG("frames %u and %u share a handle", j, i);
	}
}

/* The state of an allocator whose framing is not set (yet). */
static void expect_unframed(struct __test_metadata *_metadata, int fd)
{
	__u64 handle = 0;

	EXPECT_STATUS(fd);
	EXPECT_EQ(-EBADFD, alloc_frame(fd, &handle));
	EXPECT_EQ(-EBADFD, free_frame(fd, 1));
	EXPECT_EQ(0, poll_in(fd, 0));
	EXPECT_STATUS(fd);
}

/* Each must be -ENOTTY, and change nothing (the caller checks the status). */
static void expect_unknown_ioctls(struct __test_metadata *_metadata, int fd)
{
	static const struct {
		const char *what;
		unsigned long cmd;
	} cmds[] = {
		{ "wrong magic", _IOW(KSALLOC_IOC_MAGIC + 1, 0x00, struct ksalloc_framing) },
		{ "wrong magic", _IOR(KSALLOC_IOC_MAGIC - 1, 0x01, struct ksalloc_status) },
		{ "magic 0", _IOWR(0, 0x02, struct ksalloc_frame_handle) },
		{ "next nr", _IOWR(KSALLOC_IOC_MAGIC, 0x04, struct ksalloc_frame_handle) },
		{ "next nr", _IOW(KSALLOC_IOC_MAGIC, 0x04, struct ksalloc_framing) },
		{ "nr 0xff", _IO(KSALLOC_IOC_MAGIC, 0xff) },
		{ "SET_FRAMING _IO", _IO(KSALLOC_IOC_MAGIC, 0x00) },
		{ "SET_FRAMING _IOR", _IOR(KSALLOC_IOC_MAGIC, 0x00, struct ksalloc_framing) },
		{ "SET_FRAMING _IOWR", _IOWR(KSALLOC_IOC_MAGIC, 0x00, struct ksalloc_framing) },
		{ "SET_FRAMING size", _IOW(KSALLOC_IOC_MAGIC, 0x00, struct ksalloc_status) },
		{ "SET_FRAMING size", _IOW(KSALLOC_IOC_MAGIC, 0x00, __u64[2]) },
		{ "GET_STATUS _IO", _IO(KSALLOC_IOC_MAGIC, 0x01) },
		{ "GET_STATUS _IOW", _IOW(KSALLOC_IOC_MAGIC, 0x01, struct ksalloc_status) },
		{ "GET_STATUS _IOWR", _IOWR(KSALLOC_IOC_MAGIC, 0x01, struct ksalloc_status) },
		{ "GET_STATUS size", _IOR(KSALLOC_IOC_MAGIC, 0x01, struct ksalloc_framing) },
		{ "GET_STATUS size", _IOR(KSALLOC_IOC_MAGIC, 0x01, __u64[8]) },
		{ "ALLOC_FRAME _IO", _IO(KSALLOC_IOC_MAGIC, 0x02) },
		{ "ALLOC_FRAME _IOR", _IOR(KSALLOC_IOC_MAGIC, 0x02, struct ksalloc_frame_handle) },
		{ "ALLOC_FRAME _IOW", _IOW(KSALLOC_IOC_MAGIC, 0x02, struct ksalloc_frame_handle) },
		{ "ALLOC_FRAME size", _IOWR(KSALLOC_IOC_MAGIC, 0x02, __u64) },
		{ "FREE_FRAME _IO", _IO(KSALLOC_IOC_MAGIC, 0x03) },
		{ "FREE_FRAME _IOWR", _IOWR(KSALLOC_IOC_MAGIC, 0x03, struct ksalloc_frame_handle) },
		{ "FREE_FRAME size", _IOW(KSALLOC_IOC_MAGIC, 0x03, __u64) },
		{ "TCGETS", TCGETS },
	};
	/* Room for any size above, should a command be misread as ours. */
	__u64 buf[512];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		memset(buf, 0, sizeof(buf));
		EXPECT_EQ(-ENOTTY, ks_ioctl(fd, cmds[i].cmd, buf))
			TH_LOG("%s: cmd 0x%lx", cmds[i].what, cmds[i].cmd);
	}
}

/* Threads of the blocking tests. */
struct ksalloc_waiter {
	pthread_t thread;
	int fd;
	int ret;
	__u64 handle;
	int done;	/* 0 while blocked, then its place in ksalloc_completions */
};

static void *ksalloc_waiter_fn(void *arg)
{
	struct ksalloc_waiter *w = arg;

	w->ret = alloc_frame(w->fd, &w->handle);
	__atomic_store_n(&w->done,
			 __atomic_add_fetch(&ksalloc_completions, 1, __ATOMIC_SEQ_CST),
			 __ATOMIC_RELEASE);
	return NULL;
}

struct ksalloc_freer {
	pthread_t thread;
	int fd;
	__u64 handle;
	unsigned int delay_ms;
	int ret;
};

static void *ksalloc_freer_fn(void *arg)
{
	struct ksalloc_freer *f = arg;

	sleep_ms(f->delay_ms);
	f->ret = free_frame(f->fd, f->handle);
	return NULL;
}

/* Helper threads never take SIGALRM: it is meant for the main thread. */
static int start_thread(pthread_t *thread, void *(*fn)(void *), void *arg)
{
	sigset_t set, old;
	int ret;

	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	ret = pthread_create(thread, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

static int start_waiter(struct ksalloc_waiter *w, int fd)
{
	w->fd = fd;
	w->ret = INT32_MIN;
	w->handle = 0;
	w->done = 0;
	return start_thread(&w->thread, ksalloc_waiter_fn, w);
}

static bool wait_done(struct ksalloc_waiter *w)
{
	long deadline = now_ms() + KSALLOC_TEST_WAIT_MS;

	while (!__atomic_load_n(&w->done, __ATOMIC_ACQUIRE)) {
		if (now_ms() > deadline)
			return false;
		sleep_ms(1);
	}
	return true;
}

static void ksalloc_on_signal(int sig)
{
	(void)sig;
	__atomic_add_fetch(&ksalloc_signals, 1, __ATOMIC_SEQ_CST);
}

/* SIGALRM to this process in @ms, caught by a handler with @sa_flags. */
static int arm_alarm(int sa_flags, unsigned int ms)
{
	struct sigaction sa = {
		.sa_handler = ksalloc_on_signal,
		.sa_flags = sa_flags,
	};
	struct itimerval it = {
		.it_value = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 },
	};

	sigemptyset(&sa.sa_mask);
	__atomic_store_n(&ksalloc_signals, 0, __ATOMIC_SEQ_CST);
	if (sigaction(SIGALRM, &sa, NULL))
		return -errno;
	return setitimer(ITIMER_REAL, &it, NULL) ? -errno : 0;
}

TEST(device_node)
{
	struct stat st;
	int fd;

	ASSERT_EQ(0, stat(KSALLOC_DEV, &st))
		TH_LOG("%s: %s (is the ksalloc module loaded?)", KSALLOC_DEV, strerror(errno));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	fd = ksalloc_dev_open(0);
	ASSERT_LE(0, fd)
		TH_LOG("open %s: %s", KSALLOC_DEV, strerror(errno));
	EXPECT_EQ(0, close(fd));
}

/* An allocator before SET_FRAMING. */
FIXTURE(ksalloc_unframed) {
	int fd;
};

FIXTURE_SETUP(ksalloc_unframed)
{
	self->fd = ksalloc_dev_open(0);
	ASSERT_LE(0, self->fd)
		TH_LOG("open %s: %s (is the ksalloc module loaded?)", KSALLOC_DEV,
		       strerror(errno));
}

FIXTURE_TEARDOWN(ksalloc_unframed)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(ksalloc_unframed, status_zero_and_ebadfd)
{
	expect_unframed(_metadata, self->fd);
}

TEST_F(ksalloc_unframed, nonblock_ebadfd)
{
	__u64 handle;

	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, O_NONBLOCK));
	EXPECT_EQ(-EBADFD, alloc_frame(self->fd, &handle));
	EXPECT_STATUS(self->fd);
}

/*
 * Unknown commands, before the framing and after it with a frame out. The
 * dispatch does not look at the pool: one framing stands for all.
 */
TEST_F(ksalloc_unframed, unknown_ioctls)
{
	const struct ksalloc_framing framing = {
		.pool_type = KSALLOC_POOL_ATOMIC,
		.frames = 2,
		.frame_size = 64,
	};
	__u64 handle;

	expect_unknown_ioctls(_metadata, self->fd);
	expect_unframed(_metadata, self->fd);

	ASSERT_EQ(0, set_framing(self->fd, &framing));
	ASSERT_EQ(0, alloc_frame(self->fd, &handle));
	expect_unknown_ioctls(_metadata, self->fd);
	EXPECT_STATUS(self->fd, .framing = framing, .allocated_frames = 1,
		      .peak_allocated_frames = 1, .total_allocations = 1);
}

/*
 * An epoll set watching the allocator before its framing is set learns that
 * frames are free once it is: level-triggered, epoll reports only what a
 * wake-up of the file's wait queue told it.
 */
TEST_F(ksalloc_unframed, epoll_before_framing)
{
	struct ksalloc_framing framing = {
		.pool_type = KSALLOC_POOL_ATOMIC,
		.frames = 2,
		.frame_size = 64,
	};
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->fd, &ev));
	EXPECT_EQ(0, epoll_wait(ep, &ev, 1, 0));
	ASSERT_EQ(0, set_framing(self->fd, &framing));
	EXPECT_EQ(1, epoll_wait(ep, &ev, 1, 0));
	EXPECT_EQ(EPOLLIN, ev.events);
	EXPECT_EQ(0, close(ep));
}

TEST_F(ksalloc_unframed, bad_user_pointers)
{
	struct ksalloc_framing framing = {
		.pool_type = KSALLOC_POOL_ATOMIC,
		.frames = 2,
		.frame_size = 64,
	};

	EXPECT_EQ(-EFAULT, ks_ioctl(self->fd, KSALLOC_IOC_SET_FRAMING, NULL));
	EXPECT_EQ(-EFAULT, ks_ioctl(self->fd, KSALLOC_IOC_GET_STATUS, NULL));
	expect_unframed(_metadata, self->fd);
	ASSERT_EQ(0, set_framing(self->fd, &framing));
	EXPECT_STATUS(self->fd, .framing = framing);
}

/* Each invalid framing alone, or two at once to check the order of the checks. */
FIXTURE(ksalloc_reject) {
	int fd;
};

FIXTURE_VARIANT(ksalloc_reject) {
	struct ksalloc_framing framing;
	int error;
};

FIXTURE_SETUP(ksalloc_reject)
{
	self->fd = ksalloc_dev_open(0);
	ASSERT_LE(0, self->fd)
		TH_LOG("open %s: %s (is the ksalloc module loaded?)", KSALLOC_DEV,
		       strerror(errno));
}

FIXTURE_TEARDOWN(ksalloc_reject)
{
	if (self->fd >= 0)
		close(self->fd);
}

FIXTURE_VARIANT_ADD(ksalloc_reject, reserved_1) {
	.framing = { .pool_type = KSALLOC_POOL_ATOMIC, .frames = 4, .frame_size = 4096,
		     .alignment = 63, .reserved = 1 },
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(ksalloc_reject, reserved_msb) {
	.framing = { .options = KSALLOC_OPTIONF_SYSTEM_MEMORY,
		     .pool_type = KSALLOC_POOL_SLEEPABLE, .frames = 4, .frame_size = 4096,
		     .alignment = 63, .reserved = 1U << 31 },
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(ksalloc_reject, options_bit2) {
	.framing = { .options = 1U << 2, .pool_type = KSALLOC_POOL_ATOMIC, .frames = 4,
		     .frame_size = 4096, .alignment = 63 },
	.error = EOPNOTSUPP,
};

FIXTURE_VARIANT_ADD(ksalloc_reject, options_msb) {
	.framing = { .options = 1U << 31, .pool_type = KSALLOC_POOL_SLEEPABLE, .frames = 4,
		     .frame_size = 4096, .alignment = 63 },
	.error = EOPNOTSUPP,
};

FIXTURE_VARIANT_ADD(ksalloc_reject, options_all) {
	.framing = { .options = ~0U, .pool_type = KSALLOC_POOL_ATOMIC, .frames = 4,
		     .frame_size = 4096, .alignment = 63 },
	.error = EOPNOTSUPP,
};

FIXTURE_VARIANT_ADD(ksalloc_reject, pool_type_2) {
	.framing = { .pool_type = 2, .frames = 4, .frame_size = 4096, .alignment = 63 },
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(ksalloc_reject, pool_type_max) {
	.framing = { .options = KSALLOC_OPTIONF_SYSTEM_MEMORY, .pool_type = ~0U, .frames = 4,
		     .frame_size = 4096, .alignment = 63 },
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(ksalloc_reject, frames_0) {
	.framing = { .pool_type = KSALLOC_POOL_ATOMIC, .frames = 0, .frame_size = 4096,
		     .alignment = 63 },
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(ksalloc_reject, frame_size_0) {
	.framing = { .pool_type = KSALLOC_POOL_SLEEPABLE, .frames = 4, .frame_size = 0,
		     .alignment = 63 },
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(ksalloc_reject, alignment_2) {
	.framing = { .pool_type = KSALLOC_POOL_ATOMIC, .frames = 4, .frame_size = 4096,
		     .alignment = 2 },
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(ksalloc_reject, alignment_5) {
	.framing = { .pool_type = KSALLOC_POOL_SLEEPABLE, .frames = 4, .frame_size = 4096,
		     .alignment = 5 },
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(ksalloc_reject, alignment_4096) {
	.framing = { .pool_type = KSALLOC_POOL_ATOMIC, .frames = 4, .frame_size = 4096,
		     .alignment = 4096 },
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(ksalloc_reject, alignment_8191) {
	.framing = { .pool_type = KSALLOC_POOL_SLEEPABLE, .frames = 4, .frame_size = 4096,
		     .alignment = 8191 },
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(ksalloc_reject, alignment_u32_max) {
	.framing = { .pool_type = KSALLOC_POOL_ATOMIC, .frames = 4, .frame_size = 4096,
		     .alignment = ~0U },
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(ksalloc_reject, frames_max_plus_1) {
	.framing = { .pool_type = KSALLOC_POOL_ATOMIC, .frames = KSALLOC_MAX_FRAMES + 1,
		     .frame_size = 1 },
	.error = E2BIG,
};

FIXTURE_VARIANT_ADD(ksalloc_reject, frames_u32_max) {
	.framing = { .pool_type = KSALLOC_POOL_SLEEPABLE, .frames = ~0U, .frame_size = 1 },
	.error = E2BIG,
};

FIXTURE_VARIANT_ADD(ksalloc_reject, frame_size_max_plus_1) {
	.framing = { .pool_type = KSALLOC_POOL_SLEEPABLE, .frames = 1,
		     .frame_size = KSALLOC_MAX_FRAME_SIZE + 1 },
	.error = E2BIG,
};

FIXTURE_VARIANT_ADD(ksalloc_reject, frame_size_u32_max) {
	.framing = { .pool_type = KSALLOC_POOL_ATOMIC, .frames = 1, .frame_size = ~0U },
	.error = E2BIG,
};

FIXTURE_VARIANT_ADD(ksalloc_reject, quota_256m) {
	.framing = { .pool_type = KSALLOC_POOL_ATOMIC, .frames = 65536, .frame_size = 4096 },
	.error = EDQUOT,
};

FIXTURE_VARIANT_ADD(ksalloc_reject, quota_max_frames_max_size) {
	.framing = { .pool_type = KSALLOC_POOL_SLEEPABLE, .frames = KSALLOC_MAX_FRAMES,
		     .frame_size = KSALLOC_MAX_FRAME_SIZE, .alignment = 4095 },
	.error = EDQUOT,
};

/* 1025 * 61441 bytes fit in 64 MiB; 1025 frames aligned to 4096 (65536 each) do not. */
FIXTURE_VARIANT_ADD(ksalloc_reject, quota_counts_alignment) {
	.framing = { .pool_type = KSALLOC_POOL_SLEEPABLE, .frames = 1025, .frame_size = 61441,
		     .alignment = 4095 },
	.error = EDQUOT,
};

/* Two invalid fields: the first check in the documented order decides. */
FIXTURE_VARIANT_ADD(ksalloc_reject, order_reserved_options) {
	.framing = { .options = 1U << 1, .pool_type = KSALLOC_POOL_ATOMIC, .frames = 4,
		     .frame_size = 4096, .alignment = 63, .reserved = 1 },
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(ksalloc_reject, order_options_pool_type) {
	.framing = { .options = 1U << 2, .pool_type = 2, .frames = 0, .frame_size = 0,
		     .alignment = 2 },
	.error = EOPNOTSUPP,
};

FIXTURE_VARIANT_ADD(ksalloc_reject, order_frames_0_size_limit) {
	.framing = { .pool_type = KSALLOC_POOL_ATOMIC, .frames = 0,
		     .frame_size = KSALLOC_MAX_FRAME_SIZE + 1 },
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(ksalloc_reject, order_size_0_frames_limit) {
	.framing = { .pool_type = KSALLOC_POOL_SLEEPABLE, .frames = KSALLOC_MAX_FRAMES + 1,
		     .frame_size = 0 },
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(ksalloc_reject, order_alignment_frames_limit) {
	.framing = { .pool_type = KSALLOC_POOL_ATOMIC, .frames = KSALLOC_MAX_FRAMES + 1,
		     .frame_size = 4096, .alignment = 2 },
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(ksalloc_reject, order_align_limit_size_limit) {
	.framing = { .pool_type = KSALLOC_POOL_SLEEPABLE, .frames = 1,
		     .frame_size = KSALLOC_MAX_FRAME_SIZE + 1, .alignment = 8191 },
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(ksalloc_reject, order_frames_limit_quota) {
	.framing = { .pool_type = KSALLOC_POOL_ATOMIC, .frames = KSALLOC_MAX_FRAMES + 1,
		     .frame_size = 4096 },
	.error = E2BIG,
};

FIXTURE_VARIANT_ADD(ksalloc_reject, order_size_limit_quota) {
	.framing = { .pool_type = KSALLOC_POOL_SLEEPABLE, .frames = 64,
		     .frame_size = KSALLOC_MAX_FRAME_SIZE + 1 },
	.error = E2BIG,
};

TEST_F(ksalloc_reject, set_framing)
{
	struct ksalloc_framing good = {
		.options = KSALLOC_OPTIONF_SYSTEM_MEMORY,
		.pool_type = KSALLOC_POOL_SLEEPABLE,
		.frames = 3,
		.frame_size = 1000,
		.alignment = 63,
	};
	unsigned long long max;
	__u64 handle;

	if (variant->error == EDQUOT) {
		ASSERT_EQ(0, param_io(KSALLOC_PARAM_MAX_POOL, &max, false));
		ASSERT_LT(max, framing_bytes(&variant->framing))
			TH_LOG("max_pool_bytes is %llu, not the default %llu: the framing fits",
			       max, KSALLOC_DEFAULT_MAX_POOL);
	}

	ASSERT_EQ(-variant->error, set_framing(self->fd, &variant->framing));
	/* Nothing changed, and the same framing is refused the same way. */
	expect_unframed(_metadata, self->fd);
	ASSERT_EQ(-variant->error, set_framing(self->fd, &variant->framing));
	expect_unframed(_metadata, self->fd);

	/* The allocator is still usable. */
	ASSERT_EQ(0, set_framing(self->fd, &good));
	EXPECT_STATUS(self->fd, .framing = good);
	ASSERT_EQ(0, alloc_frame(self->fd, &handle));
	ASSERT_EQ(0, free_frame(self->fd, handle));
	EXPECT_STATUS(self->fd, .framing = good, .peak_allocated_frames = 1,
		      .total_allocations = 1);
}

/* An allocator with its framing set, one variant per pool type and shape. */
FIXTURE(ksalloc) {
	int fd;
	struct ksalloc_framing framing;
	__u32 n;
	__u64 handles[KSALLOC_TEST_MAX_FRAMES];
	struct ksalloc_waiter waiters[2];
	struct ksalloc_freer freer;
};

FIXTURE_VARIANT(ksalloc) {
	__u32 options;
	__u32 pool_type;
	__u32 frames;
	__u32 frame_size;
	__u32 alignment;
};

FIXTURE_VARIANT_ADD(ksalloc, atomic) {
	.pool_type = KSALLOC_POOL_ATOMIC,
	.frames = 4,
	.frame_size = 4096,
	.alignment = 0,
};

FIXTURE_VARIANT_ADD(ksalloc, sleepable) {
	.pool_type = KSALLOC_POOL_SLEEPABLE,
	.frames = 4,
	.frame_size = 4096,
	.alignment = 0,
};

FIXTURE_VARIANT_ADD(ksalloc, atomic_yuyv) {
	.options = KSALLOC_OPTIONF_SYSTEM_MEMORY,
	.pool_type = KSALLOC_POOL_ATOMIC,
	.frames = KSALLOC_TEST_MAX_FRAMES,
	.frame_size = 640 * 480 * 2,
	.alignment = 63,
};

FIXTURE_VARIANT_ADD(ksalloc, sleepable_tiny_page_aligned) {
	.options = KSALLOC_OPTIONF_SYSTEM_MEMORY,
	.pool_type = KSALLOC_POOL_SLEEPABLE,
	.frames = 3,
	.frame_size = 1,
	.alignment = 4095,
};

FIXTURE_SETUP(ksalloc)
{
	self->framing = (struct ksalloc_framing){
		.options = variant->options,
		.pool_type = variant->pool_type,
		.frames = variant->frames,
		.frame_size = variant->frame_size,
		.alignment = variant->alignment,
	};
	self->n = variant->frames;
	ASSERT_LE(self->n, KSALLOC_TEST_MAX_FRAMES);
	ASSERT_LE(3U, self->n);

	self->fd = ksalloc_dev_open(0);
	ASSERT_LE(0, self->fd)
		TH_LOG("open %s: %s (is the ksalloc module loaded?)", KSALLOC_DEV,
		       strerror(errno));
	ASSERT_EQ(0, set_framing(self->fd, &self->framing));
}

FIXTURE_TEARDOWN(ksalloc)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(ksalloc, status_echo)
{
	EXPECT_STATUS(self->fd, .framing = self->framing);
	EXPECT_EQ(POLLIN | POLLRDNORM, poll_in(self->fd, 0));
}

TEST_F(ksalloc, set_framing_twice_ebusy)
{
	struct ksalloc_framing other = self->framing;

	EXPECT_EQ(-EBUSY, set_framing(self->fd, &self->framing));
	other.frames = 1;
	other.pool_type ^= KSALLOC_POOL_SLEEPABLE;
	EXPECT_EQ(-EBUSY, set_framing(self->fd, &other));
	EXPECT_STATUS(self->fd, .framing = self->framing);

	/* Also with frames out. */
	ASSERT_EQ(0, alloc_frame(self->fd, &self->handles[0]));
	EXPECT_EQ(-EBUSY, set_framing(self->fd, &other));
	EXPECT_STATUS(self->fd, .framing = self->framing, .allocated_frames = 1,
		      .peak_allocated_frames = 1, .total_allocations = 1);
}

TEST_F(ksalloc, alloc_free_counters)
{
	__u64 *h = self->handles;

	ASSERT_EQ(0, alloc_frame(self->fd, &h[0]));
	EXPECT_NE(0ULL, h[0]);
	EXPECT_STATUS(self->fd, .framing = self->framing, .allocated_frames = 1,
		      .peak_allocated_frames = 1, .total_allocations = 1);

	ASSERT_EQ(0, free_frame(self->fd, h[0]));
	EXPECT_STATUS(self->fd, .framing = self->framing, .peak_allocated_frames = 1,
		      .total_allocations = 1);

	/* Three out, two back, one more out: the peak stays at three. */
	alloc_all(_metadata, self->fd, 3, h);
	EXPECT_STATUS(self->fd, .framing = self->framing, .allocated_frames = 3,
		      .peak_allocated_frames = 3, .total_allocations = 4);
	ASSERT_EQ(0, free_frame(self->fd, h[0]));
	ASSERT_EQ(0, free_frame(self->fd, h[2]));
	ASSERT_EQ(0, alloc_frame(self->fd, &h[0]));
	EXPECT_NE(h[1], h[0]);
	EXPECT_STATUS(self->fd, .framing = self->framing, .allocated_frames = 2,
		      .peak_allocated_frames = 3, .total_allocations = 5);
	ASSERT_EQ(0, free_frame(self->fd, h[0]));
	ASSERT_EQ(0, free_frame(self->fd, h[1]));
	EXPECT_STATUS(self->fd, .framing = self->framing, .peak_allocated_frames = 3,
		      .total_allocations = 5);
}

TEST_F(ksalloc, exhaust_nonblock)
{
	__u64 handle = 0;
	__u32 i;

	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, O_NONBLOCK));
	alloc_all(_metadata, self->fd, self->n, self->handles);
	EXPECT_EQ(0, poll_in(self->fd, 0));
	EXPECT_EQ(-EAGAIN, alloc_frame(self->fd, &handle));
	EXPECT_EQ(-EAGAIN, alloc_frame(self->fd, &handle));
	EXPECT_STATUS(self->fd, .framing = self->framing, .allocated_frames = self->n,
		      .peak_allocated_frames = self->n, .total_allocations = self->n,
		      .failed_allocations = 2);

	for (i = 0; i < self->n; i++)
		ASSERT_EQ(0, free_frame(self->fd, self->handles[i]));
	EXPECT_EQ(POLLIN | POLLRDNORM, poll_in(self->fd, 0));
	EXPECT_STATUS(self->fd, .framing = self->framing, .peak_allocated_frames = self->n,
		      .total_allocations = self->n, .failed_allocations = 2);

	/* Every frame came back: all can be taken again. */
	alloc_all(_metadata, self->fd, self->n, self->handles);
	EXPECT_EQ(-EAGAIN, alloc_frame(self->fd, &handle));
	EXPECT_STATUS(self->fd, .framing = self->framing, .allocated_frames = self->n,
		      .peak_allocated_frames = self->n, .total_allocations = 2 * self->n,
		      .failed_allocations = 3);
}

TEST_F(ksalloc, nonblock_open)
{
	__u64 handles[KSALLOC_TEST_MAX_FRAMES], handle;
	int fd;

	fd = ksalloc_dev_open(O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_framing(fd, &self->framing));
	alloc_all(_metadata, fd, self->n, handles);
	EXPECT_EQ(-EAGAIN, alloc_frame(fd, &handle));
	EXPECT_STATUS(fd, .framing = self->framing, .allocated_frames = self->n,
		      .peak_allocated_frames = self->n, .total_allocations = self->n,
		      .failed_allocations = 1);
	/* The fixture's allocator is another one. */
	EXPECT_STATUS(self->fd, .framing = self->framing);
	EXPECT_EQ(0, close(fd));
}

TEST_F(ksalloc, alloc_bad_args)
{
	static const struct ksalloc_frame_handle bad[] = {
		{ .flags = 1 },
		{ .flags = 1U << 31 },
		{ .reserved = 1 },
		{ .reserved = 1U << 31 },
	};
	struct ksalloc_frame_handle fh;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		fh = bad[i];
		EXPECT_EQ(-EINVAL, ks_ioctl(self->fd, KSALLOC_IOC_ALLOC_FRAME, &fh))
			TH_LOG("flags 0x%x reserved 0x%x", bad[i].flags, bad[i].reserved);
	}
	/* Also when no frame is free: the arguments are checked first. */
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, O_NONBLOCK));
	alloc_all(_metadata, self->fd, self->n, self->handles);
	fh = bad[0];
	EXPECT_EQ(-EINVAL, ks_ioctl(self->fd, KSALLOC_IOC_ALLOC_FRAME, &fh));
	EXPECT_STATUS(self->fd, .framing = self->framing, .allocated_frames = self->n,
		      .peak_allocated_frames = self->n, .total_allocations = self->n);
}

TEST_F(ksalloc, free_bad_handles)
{
	struct ksalloc_frame_handle fh;
	__u64 h;

	ASSERT_EQ(0, alloc_frame(self->fd, &h));

	EXPECT_EQ(-EINVAL, free_frame(self->fd, 0));
	EXPECT_EQ(-EINVAL, free_frame(self->fd, UINT64_MAX));

	/* A held frame, but flags or reserved set: refused, still held. */
	fh = (struct ksalloc_frame_handle){ .handle = h, .flags = 1 };
	EXPECT_EQ(-EINVAL, ks_ioctl(self->fd, KSALLOC_IOC_FREE_FRAME, &fh));
	fh = (struct ksalloc_frame_handle){ .handle = h, .flags = 1U << 31 };
	EXPECT_EQ(-EINVAL, ks_ioctl(self->fd, KSALLOC_IOC_FREE_FRAME, &fh));
	fh = (struct ksalloc_frame_handle){ .handle = h, .reserved = 1 };
	EXPECT_EQ(-EINVAL, ks_ioctl(self->fd, KSALLOC_IOC_FREE_FRAME, &fh));
	fh = (struct ksalloc_frame_handle){ .handle = h, .reserved = 1U << 31 };
	EXPECT_EQ(-EINVAL, ks_ioctl(self->fd, KSALLOC_IOC_FREE_FRAME, &fh));
	EXPECT_STATUS(self->fd, .framing = self->framing, .allocated_frames = 1,
		      .peak_allocated_frames = 1, .total_allocations = 1);

	ASSERT_EQ(0, free_frame(self->fd, h));
	/* Freed twice, and a frame that was never out. */
	EXPECT_EQ(-ENOENT, free_frame(self->fd, h));
	EXPECT_EQ(-ENOENT, free_frame(self->fd, h));
	/*
	 * Handles are 1 to frames: every one names a frame, held by nobody
	 * now; just past them, none.
	 */
	for (h = 1; h <= self->n; h++)
		EXPECT_EQ(-ENOENT, free_frame(self->fd, h));
	EXPECT_EQ(-EINVAL, free_frame(self->fd, self->n + 1));
	EXPECT_STATUS(self->fd, .framing = self->framing, .peak_allocated_frames = 1,
		      .total_allocations = 1);
}

TEST_F(ksalloc, free_foreign_handle)
{
	__u64 h;
	int fd, ret;

	fd = ksalloc_dev_open(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_framing(fd, &self->framing));
	ASSERT_EQ(0, alloc_frame(self->fd, &h));

	/* The other allocator holds nothing: whatever @h means there, it is not out. */
	ret = free_frame(fd, h);
	EXPECT_TRUE(ret == -EINVAL || ret == -ENOENT)
		TH_LOG("FREE_FRAME of another allocator's handle: %d", ret);
	EXPECT_STATUS(fd, .framing = self->framing);
	EXPECT_STATUS(self->fd, .framing = self->framing, .allocated_frames = 1,
		      .peak_allocated_frames = 1, .total_allocations = 1);
	EXPECT_EQ(0, free_frame(self->fd, h));
	EXPECT_EQ(0, close(fd));
}

TEST_F(ksalloc, bad_user_pointers)
{
	struct ksalloc_frame_handle *ro;

	EXPECT_EQ(-EFAULT, ks_ioctl(self->fd, KSALLOC_IOC_GET_STATUS, NULL));
	EXPECT_EQ(-EFAULT, ks_ioctl(self->fd, KSALLOC_IOC_ALLOC_FRAME, NULL));
	EXPECT_EQ(-EFAULT, ks_ioctl(self->fd, KSALLOC_IOC_FREE_FRAME, NULL));

	/* A valid request the handle cannot be written back to: no frame may leak. */
	ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(ro != MAP_FAILED);
	EXPECT_EQ(-EFAULT, ks_ioctl(self->fd, KSALLOC_IOC_ALLOC_FRAME, ro));
	EXPECT_EQ(-EFAULT, ks_ioctl(self->fd, KSALLOC_IOC_GET_STATUS, ro));
	munmap(ro, 4096);

	/* Every frame can still be taken. */
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, O_NONBLOCK));
	alloc_all(_metadata, self->fd, self->n, self->handles);
	EXPECT_EQ(-EAGAIN, alloc_frame(self->fd, &self->handles[0]));
}

/* An ALLOC_FRAME or ALLOC_FRAME2 whose result is written to a page held by userfaultfd. */
struct ksalloc_stalled {
	pthread_t thread;
	int fd;
	unsigned long cmd;
	void *arg;
	int ret;
};

static void *ksalloc_stalled_fn(void *arg)
{
	struct ksalloc_stalled *c = arg;

	c->ret = ks_ioctl(c->fd, c->cmd, c->arg);
	return NULL;
}

/*
 * The result of ALLOC_FRAME (or ALLOC_FRAME2) cannot be written back while
 * another thread of the process works the allocator: userfaultfd stalls the
 * write (the result's page is write-protected, so reading the arguments
 * goes through), and the page is then unmapped, so the call fails with
 * EFAULT. Meanwhile the frame, taken, is no frame user space holds: its
 * handle (guessed: the pool has one frame, handle 1) can be neither
 * returned nor exported (ENOENT), and nothing is free (EAGAIN). Afterwards
 * the frame is free again and the counters are exact: the call counts as
 * an allocation and a free. A module that made the handle user space's
 * before writing it back would let the other thread return the frame and
 * take it again, and the EFAULT path then free the frame that thread holds.
 * Both sides: the stall is seen from the userfaultfd, with the frame taken
 * (allocated_frames 1), before the other thread acts.
 */
TEST(alloc_frame_efault_while_racing)
{
	static const unsigned long cmds[] = { KSALLOC_IOC_ALLOC_FRAME, KSALLOC_IOC_ALLOC_FRAME2 };
	struct ksalloc_framing f = {
		.options = KSALLOC_OPTIONF_MAPPABLE,
		.pool_type = KSALLOC_POOL_ATOMIC,
		.frames = 1,
		.frame_size = 256,
	};
	struct uffdio_api api = { .api = UFFD_API };
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct ksalloc_stalled c;
	struct uffd_msg msg;
	struct pollfd pfd;
	__u64 handle = 0;
	unsigned int i;
	int uffd, fd;

	/* The sysctl comes with the system call. */
	if (access("/proc/sys/vm/unprivileged_userfaultfd", F_OK))
		SKIP(return, "no userfaultfd: kernel without CONFIG_USERFAULTFD");
	uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	ASSERT_LE(0, uffd)
		TH_LOG("userfaultfd: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	fd = ksalloc_open_framed(&f, O_NONBLOCK);
	ASSERT_LE(0, fd);

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_WP };
		struct uffdio_writeprotect wp = { .mode = UFFDIO_WRITEPROTECT_MODE_WP };
		struct uffdio_range range;
		struct ksalloc_status st;
		void *p;

		p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, p);
		/* Present, all zero: valid arguments for either command. */
		memset(p, 0, page);
		range = (struct uffdio_range){ .start = (unsigned long)p, .len = page };
		reg.range = range;
		wp.range = range;
		ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg))
			TH_LOG("UFFDIO_REGISTER_MODE_WP: %s", strerror(errno));
		ASSERT_EQ(0, ioctl(uffd, UFFDIO_WRITEPROTECT, &wp));

		c = (struct ksalloc_stalled){
			.fd = fd, .cmd = cmds[i], .arg = p, .ret = INT32_MIN,
		};
		ASSERT_EQ(0, start_thread(&c.thread, ksalloc_stalled_fn, &c));
		pfd = (struct pollfd){ .fd = uffd, .events = POLLIN };
		EXPECT_EQ(1, poll(&pfd, 1, KSALLOC_TEST_WAIT_MS));
		EXPECT_EQ((ssize_t)sizeof(msg), read(uffd, &msg, sizeof(msg)));
		EXPECT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
		EXPECT_TRUE(msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP);
		EXPECT_EQ((unsigned long)p, (unsigned long)msg.arg.pagefault.address & ~(page - 1));
		/* Stalled writing the result back, the frame taken. */
		ASSERT_EQ(0, get_status(fd, &st));
		EXPECT_EQ(1U, st.allocated_frames);

		EXPECT_EQ(-ENOENT, free_frame(fd, 1));
		{
			struct ksalloc_export_frame x = { .handle = 1, .fd = -1 };
			int ret = ks_ioctl(fd, KSALLOC_IOC_EXPORT_FRAME, &x);

			/* A kernel without dma-buf refuses before it looks. */
			EXPECT_TRUE(ret == -ENOENT || ret == -EOPNOTSUPP)
				TH_LOG("EXPORT_FRAME of a frame not handed out: %d", ret);
			if (!ret)
				close(x.fd);
		}
		EXPECT_EQ(-EAGAIN, alloc_frame(fd, &handle));

		/* Unmapped: the stalled write, woken, fails. */
		EXPECT_EQ(0, munmap(p, page));
		EXPECT_EQ(0, ioctl(uffd, UFFDIO_WAKE, &range));
		EXPECT_EQ(0, pthread_join(c.thread, NULL));
		EXPECT_EQ(-EFAULT, c.ret);

		EXPECT_STATUS(fd, .framing = f, .peak_allocated_frames = 1,
			      .total_allocations = 2 * i + 1, .failed_allocations = i + 1);
		/* The frame is free, and ours to take and return. */
		ASSERT_EQ(0, alloc_frame(fd, &handle));
		EXPECT_EQ(1ULL, handle);
		EXPECT_EQ(0, free_frame(fd, handle));
		EXPECT_STATUS(fd, .framing = f, .peak_allocated_frames = 1,
			      .total_allocations = 2 * i + 2, .failed_allocations = i + 1);
	}
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, close(uffd));
}

TEST_F(ksalloc, blocked_alloc_woken_by_free)
{
	struct ksalloc_waiter *w = &self->waiters[0];

	alloc_all(_metadata, self->fd, self->n, self->handles);
	ASSERT_EQ(0, start_waiter(w, self->fd));
	ASSERT_EQ(1U, wait_for_waiters(self->fd, 1, KSALLOC_TEST_WAIT_MS));
	/* It really blocks. */
	sleep_ms(100);
	EXPECT_EQ(0, __atomic_load_n(&w->done, __ATOMIC_ACQUIRE));
	EXPECT_STATUS(self->fd, .framing = self->framing, .allocated_frames = self->n,
		      .peak_allocated_frames = self->n, .waiters = 1,
		      .total_allocations = self->n);

	ASSERT_EQ(0, free_frame(self->fd, self->handles[0]));
	ASSERT_TRUE(wait_done(w))
		TH_LOG("the blocked ALLOC_FRAME was not woken by the free");
	pthread_join(w->thread, NULL);
	EXPECT_EQ(0, w->ret);
	EXPECT_NE(0ULL, w->handle);

	/* The woken waiter got the frame: still none free. */
	EXPECT_EQ(0, poll_in(self->fd, 0));
	EXPECT_STATUS(self->fd, .framing = self->framing, .allocated_frames = self->n,
		      .peak_allocated_frames = self->n, .total_allocations = self->n + 1);
	EXPECT_EQ(0, free_frame(self->fd, w->handle));
}

TEST_F(ksalloc, waiters_fifo)
{
	struct ksalloc_waiter *a = &self->waiters[0], *b = &self->waiters[1];

	alloc_all(_metadata, self->fd, self->n, self->handles);
	ASSERT_EQ(0, start_waiter(a, self->fd));
	ASSERT_EQ(1U, wait_for_waiters(self->fd, 1, KSALLOC_TEST_WAIT_MS));
	ASSERT_EQ(0, start_waiter(b, self->fd));
	ASSERT_EQ(2U, wait_for_waiters(self->fd, 2, KSALLOC_TEST_WAIT_MS));

	ASSERT_EQ(0, free_frame(self->fd, self->handles[0]));
	ASSERT_TRUE(wait_done(a))
		TH_LOG("the first waiter was not woken first");
	EXPECT_EQ(1, __atomic_load_n(&a->done, __ATOMIC_ACQUIRE));
	EXPECT_EQ(0, __atomic_load_n(&b->done, __ATOMIC_ACQUIRE));
	EXPECT_EQ(1U, wait_for_waiters(self->fd, 1, KSALLOC_TEST_WAIT_MS));

	ASSERT_EQ(0, free_frame(self->fd, self->handles[1]));
	ASSERT_TRUE(wait_done(b));
	pthread_join(a->thread, NULL);
	pthread_join(b->thread, NULL);
	EXPECT_EQ(0, a->ret);
	EXPECT_EQ(0, b->ret);
	EXPECT_NE(0ULL, a->handle);
	EXPECT_NE(0ULL, b->handle);
	EXPECT_NE(a->handle, b->handle);
	EXPECT_STATUS(self->fd, .framing = self->framing, .allocated_frames = self->n,
		      .peak_allocated_frames = self->n, .total_allocations = self->n + 2);
}

TEST_F(ksalloc, poll_states)
{
	struct ksalloc_freer *f = &self->freer;
	long start;

	EXPECT_EQ(POLLIN | POLLRDNORM, poll_in(self->fd, 0));
	alloc_all(_metadata, self->fd, self->n, self->handles);
	EXPECT_EQ(0, poll_in(self->fd, 0));
	EXPECT_EQ(0, poll_in(self->fd, 50));

	ASSERT_EQ(0, free_frame(self->fd, self->handles[0]));
	EXPECT_EQ(POLLIN | POLLRDNORM, poll_in(self->fd, 0));
	ASSERT_EQ(0, alloc_frame(self->fd, &self->handles[0]));
	EXPECT_EQ(0, poll_in(self->fd, 0));

	/* A poller sleeping on an exhausted allocator is woken by a free. */
	*f = (struct ksalloc_freer){
		.fd = self->fd,
		.handle = self->handles[1],
		.delay_ms = 200,
		.ret = INT32_MIN,
	};
	ASSERT_EQ(0, start_thread(&f->thread, ksalloc_freer_fn, f));
	start = now_ms();
	EXPECT_EQ(POLLIN | POLLRDNORM, poll_in(self->fd, KSALLOC_TEST_WAIT_MS));
	EXPECT_LE(150L, now_ms() - start);
	pthread_join(f->thread, NULL);
	EXPECT_EQ(0, f->ret);
	EXPECT_STATUS(self->fd, .framing = self->framing, .allocated_frames = self->n - 1,
		      .peak_allocated_frames = self->n, .total_allocations = self->n + 1);
}

TEST_F(ksalloc, signal_interrupts_wait)
{
	struct ksalloc_status st;
	__u64 handle = 0;
	long start;

	alloc_all(_metadata, self->fd, self->n, self->handles);
	ASSERT_EQ(0, arm_alarm(0, 200));
	start = now_ms();
	EXPECT_EQ(-EINTR, alloc_frame(self->fd, &handle));
	EXPECT_LE(150L, now_ms() - start);
	EXPECT_EQ(1, __atomic_load_n(&ksalloc_signals, __ATOMIC_SEQ_CST));

	ASSERT_EQ(0, get_status(self->fd, &st));
	EXPECT_EQ(0U, st.waiters);
	EXPECT_EQ(self->n, st.allocated_frames);
	EXPECT_EQ((__u64)self->n, st.total_allocations);

	/* The interrupted request is gone: it does not take the next free frame. */
	ASSERT_EQ(0, free_frame(self->fd, self->handles[0]));
	EXPECT_EQ(POLLIN | POLLRDNORM, poll_in(self->fd, 0));
	ASSERT_EQ(0, get_status(self->fd, &st));
	EXPECT_EQ(self->n - 1, st.allocated_frames);
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, O_NONBLOCK));
	EXPECT_EQ(0, alloc_frame(self->fd, &self->handles[0]));
}

/* With SA_RESTART the wait is restarted after the handler (-ERESTARTSYS). */
TEST_F(ksalloc, signal_restarts_wait)
{
	struct ksalloc_freer *f = &self->freer;
	__u64 handle = 0;
	long start;

	alloc_all(_metadata, self->fd, self->n, self->handles);
	*f = (struct ksalloc_freer){
		.fd = self->fd,
		.handle = self->handles[0],
		.delay_ms = 500,
		.ret = INT32_MIN,
	};
	ASSERT_EQ(0, arm_alarm(SA_RESTART, 100));
	ASSERT_EQ(0, start_thread(&f->thread, ksalloc_freer_fn, f));
	start = now_ms();
	EXPECT_EQ(0, alloc_frame(self->fd, &handle))
		TH_LOG("a wait interrupted by an SA_RESTART handler must restart");
	EXPECT_LE(400L, now_ms() - start);
	EXPECT_EQ(1, __atomic_load_n(&ksalloc_signals, __ATOMIC_SEQ_CST));
	pthread_join(f->thread, NULL);
	EXPECT_EQ(0, f->ret);
	EXPECT_NE(0ULL, handle);
	EXPECT_STATUS(self->fd, .framing = self->framing, .allocated_frames = self->n,
		      .peak_allocated_frames = self->n, .total_allocations = self->n + 1);
}

TEST_F(ksalloc, killed_waiter)
{
	int status;
	pid_t pid;

	alloc_all(_metadata, self->fd, self->n, self->handles);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		__u64 handle;

		/* Shares the file: blocks on the same allocator. */
		_exit(alloc_frame(self->fd, &handle) ? 2 : 3);
	}
	EXPECT_EQ(1U, wait_for_waiters(self->fd, 1, KSALLOC_TEST_WAIT_MS));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("the waiter ended with status 0x%x", status);
	EXPECT_STATUS(self->fd, .framing = self->framing, .allocated_frames = self->n,
		      .peak_allocated_frames = self->n, .total_allocations = self->n);

	/* The dead request is gone: it does not take the next free frame. */
	ASSERT_EQ(0, free_frame(self->fd, self->handles[0]));
	EXPECT_EQ(POLLIN | POLLRDNORM, poll_in(self->fd, 0));
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, O_NONBLOCK));
	EXPECT_EQ(0, alloc_frame(self->fd, &self->handles[0]));
}

TEST_F(ksalloc, close_with_frames_held)
{
	__u64 handles[KSALLOC_TEST_MAX_FRAMES];
	int fd, round;

	for (round = 0; round < 3; round++) {
		fd = ksalloc_dev_open(O_NONBLOCK);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, set_framing(fd, &self->framing));
		/* Some frames held in the first rounds, all in the last. */
		alloc_all(_metadata, fd, round == 2 ? self->n : 1U + round, handles);
		ASSERT_EQ(0, close(fd));
	}

	/* A fresh allocator starts from zero and has all its frames. */
	fd = ksalloc_dev_open(O_NONBLOCK);
	ASSERT_LE(0, fd);
	EXPECT_STATUS(fd);
	ASSERT_EQ(0, set_framing(fd, &self->framing));
	alloc_all(_metadata, fd, self->n, handles);
	EXPECT_STATUS(fd, .framing = self->framing, .allocated_frames = self->n,
		      .peak_allocated_frames = self->n, .total_allocations = self->n);
	EXPECT_EQ(0, close(fd));
}

TEST(many_allocators)
{
	int fds[KSALLOC_NR_ALLOCATORS];
	__u64 handles[KSALLOC_TEST_MAX_FRAMES], handle;
	struct ksalloc_framing framing[KSALLOC_NR_ALLOCATORS];
	__u32 i, n;

	for (i = 0; i < KSALLOC_NR_ALLOCATORS; i++) {
		fds[i] = ksalloc_dev_open(O_NONBLOCK);
		ASSERT_LE(0, fds[i])
			TH_LOG("allocator %u: open: %s", i, strerror(errno));
	}
	for (i = 0; i < KSALLOC_NR_ALLOCATORS; i++) {
		framing[i] = (struct ksalloc_framing){
			.pool_type = i % 2 ? KSALLOC_POOL_SLEEPABLE : KSALLOC_POOL_ATOMIC,
			.frames = 1 + i % KSALLOC_TEST_MAX_FRAMES,
			.frame_size = 512 + i,
			.alignment = (1U << (i % 13)) - 1,
		};
		ASSERT_EQ(0, set_framing(fds[i], &framing[i]))
			TH_LOG("allocator %u", i);
	}
	/* Each pool is its own: each allocator has exactly its frames. */
	for (i = 0; i < KSALLOC_NR_ALLOCATORS; i++) {
		n = framing[i].frames;
		alloc_all(_metadata, fds[i], n, handles);
		EXPECT_EQ(-EAGAIN, alloc_frame(fds[i], &handle))
			TH_LOG("allocator %u", i);
		if (i % 3 == 0)
			ASSERT_EQ(0, free_frame(fds[i], handles[0]));
	}
	for (i = 0; i < KSALLOC_NR_ALLOCATORS; i++) {
		n = framing[i].frames;
		EXPECT_STATUS(fds[i], .framing = framing[i],
			      .allocated_frames = i % 3 ? n : n - 1,
			      .peak_allocated_frames = n, .total_allocations = n,
			      .failed_allocations = 1);
	}
	for (i = 0; i < KSALLOC_NR_ALLOCATORS; i++)
		EXPECT_EQ(0, close(fds[i]));
}

/* A framing of exactly max_pool_bytes is accepted; one frame more is not. */
TEST(framing_quota_boundary)
{
	/* 61441 bytes aligned to 4096: 65536 bytes a frame. */
	struct ksalloc_framing framing = {
		.frame_size = 61441,
		.alignment = 4095,
	};
	unsigned long long max;
	__u32 pool;
	int fd;

	ASSERT_EQ(0, param_io(KSALLOC_PARAM_MAX_POOL, &max, false));
	ASSERT_TRUE(max % 65536 == 0 && max / 65536 >= 1 && max / 65536 < KSALLOC_MAX_FRAMES)
		TH_LOG("max_pool_bytes %llu (default %llu): not a multiple of 64 KiB in range",
		       max, KSALLOC_DEFAULT_MAX_POOL);

	for (pool = KSALLOC_POOL_ATOMIC; pool <= KSALLOC_POOL_SLEEPABLE; pool++) {
		framing.pool_type = pool;
		framing.frames = max / 65536 + 1;
		fd = ksalloc_dev_open(0);
		ASSERT_LE(0, fd);
		EXPECT_EQ(-EDQUOT, set_framing(fd, &framing))
			TH_LOG("pool %u: %u frames of 64 KiB", pool, framing.frames);
		framing.frames--;
		EXPECT_EQ(0, set_framing(fd, &framing))
			TH_LOG("pool %u: %u frames of 64 KiB", pool, framing.frames);
		EXPECT_STATUS(fd, .framing = framing);
		EXPECT_EQ(0, close(fd));
	}
}

/*
 * Sets the framing of @fd as user @uid (a child process; the parent holds
 * @fd too). Returns set_framing()'s result, or -ECHILD if that did not run.
 */
static int set_framing_as(uid_t uid, int fd, const struct ksalloc_framing *f)
{
	int status, err;
	pid_t pid;

	pid = fork();
	if (!pid) {
		if (setresuid(uid, uid, uid))
			_exit(255);
		err = set_framing(fd, f);
		_exit(err < 0 ? -err : 0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) == 255)
		return -ECHILD;
	return -WEXITSTATUS(status);
}

/*
 * max_user_bytes bounds the pools of one user's allocators together; a pool
 * is charged to the user who sets the framing, and uncharged at release.
 * Users 4243 and 4244 own nothing else here (root's allocators, such as the
 * sample module's, would count against root's budget).
 */
TEST(framing_user_quota)
{
	/* 16 frames of 64 KiB: 1 MiB, the limit set here. */
	struct ksalloc_framing big = {
		.pool_type = KSALLOC_POOL_ATOMIC,
		.frames = 16,
		.frame_size = 65536,
	};
	struct ksalloc_framing small = {
		.pool_type = KSALLOC_POOL_ATOMIC,
		.frames = 1,
		.frame_size = 4096,
	};
	unsigned long long saved, limit = 1 << 20;
	const uid_t user = 4243, other = 4244;
	int fd[4], i, err;

	ASSERT_EQ(0, param_io(KSALLOC_PARAM_MAX_USER, &saved, false));
	err = param_io(KSALLOC_PARAM_MAX_USER, &limit, true);
	ASSERT_EQ(0, err)
		TH_LOG("cannot write %s: %s (the test needs root)", KSALLOC_PARAM_MAX_USER,
		       strerror(-err));
	for (i = 0; i < 4; i++)
		fd[i] = ksalloc_dev_open(0);

	EXPECT_EQ(0, set_framing_as(user, fd[0], &big));
	/* The user's allocators hold the limit: one page more is refused. */
	EXPECT_EQ(-EDQUOT, set_framing_as(user, fd[1], &small));
	EXPECT_STATUS(fd[1], .framing = { 0 });
	/* Another user has a budget of its own. */
	EXPECT_EQ(0, set_framing_as(other, fd[2], &small));

	/* Released: uncharged, so the framing fits now. */
	EXPECT_EQ(0, close(fd[0]));
	EXPECT_EQ(0, set_framing_as(user, fd[1], &small));
	EXPECT_EQ(-EDQUOT, set_framing_as(user, fd[3], &big));
	/* 0 is no limit. */
	limit = 0;
	EXPECT_EQ(0, param_io(KSALLOC_PARAM_MAX_USER, &limit, true));
	EXPECT_EQ(0, set_framing_as(user, fd[3], &big));

	for (i = 1; i < 4; i++)
		EXPECT_EQ(0, close(fd[i]));
	EXPECT_EQ(0, param_io(KSALLOC_PARAM_MAX_USER, &saved, true));
}

TEST_HARNESS_MAIN
