// SPDX-License-Identifier: GPL-2.0
/*
 * ksalloc_poll_test - poll() of /dev/ksalloc for waiters that do not ask again
 *
 * poll() of an allocator reports EPOLLIN while a frame is free. poll(2),
 * select(2) and level-triggered epoll call the driver's ->poll() again before
 * every sleep, so they learn that the pool ran dry there. Two kinds of waiter
 * never do: edge-triggered epoll (EPOLLET) and io_uring's multishot
 * IORING_OP_POLL_ADD (edge-triggered, and completed from the wake-up's mask).
 * They rely on the rule every edge-triggered file keeps: once a waiter was
 * told "no frame" (->poll() found none, or an allocation failed with
 * -EAGAIN, its own or a kernel client's), the next frame freed wakes it.
 * Each test checks that rule, with a bounded wait that fails if no wake-up
 * comes, for both kinds of waiter (the fixture's variants) and for frees by
 * user space (FREE_FRAME from another thread) and by a kernel client (the
 * capture companion, whose STREAMOFF frees the frames its timer took through
 * the function table).
 *
 * io_uring is used through its system calls and <linux/io_uring.h> alone:
 * liburing would be a dependency, and its 32-bit static library is not
 * installable next to the 64-bit one on Debian 12, while these tests are
 * also built -m32. Both modules are supposed to be loaded.
 *
 * Build, as a 64-bit and as a 32-bit (-m32) program:
 *
 *	cd tools/testing && gcc [-m32] -static -O2 -Wall -Wextra -Werror \
 *		-D_GNU_SOURCE -I../../include/uapi -I../include \
 *		-I<linux>/tools/testing/selftests -o ksalloc_poll_test \
 *		ksalloc_poll_test.c -lpthread
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/io_uring.h>
#include <linux/ksalloc.h>
#include <linux/ksalloc_capture.h>

#include "ksalloc_test_util.h"

/* See ksalloc_test.c: these warnings are about the 6.12 harness. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wclobbered"
#include "kselftest_harness.h"

/* How long a wake-up may take, even on a slow KASAN guest. */
#define POLL_TEST_WAIT_MS	5000
#define POLL_TEST_TICK_WAIT_MS	30000
/* How long the freeing thread waits before it frees: the waiter sleeps first. */
#define POLL_TEST_DELAY_MS	200
#define POLL_TEST_FRAMES	2U
/* Rounds of "take every frame, see -EAGAIN, a free wakes the waiter". */
#define POLL_TEST_ROUNDS	3

/* An io_uring with one multishot poll request, set up by hand. */
struct uring {
	int fd;
	void *sq_ring, *cq_ring;
	size_t sq_ring_size, cq_ring_size;
	struct io_uring_sqe *sqes;
	size_t sqes_size;
	unsigned int *sq_tail, *sq_mask, *sq_array;
	unsigned int *cq_head, *cq_tail, *cq_mask;
	struct io_uring_cqe *cqes;
};

static void *uring_map(int fd, size_t size, __u64 offset)
{
	return mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
		    offset);
}

/* 0 or -errno. */
static int uring_setup(struct uring *u, unsigned int entries)
{
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	u->fd = syscall(__NR_io_uring_setup, entries, &p);
	if (u->fd < 0)
		return -errno;
	u->sq_ring_size = p.sq_off.array + p.sq_entries * sizeof(__u32);
	u->cq_ring_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	u->sqes_size = p.sq_entries * sizeof(struct io_uring_sqe);
	u->sq_ring = uring_map(u->fd, u->sq_ring_size, IORING_OFF_SQ_RING);
	u->cq_ring = uring_map(u->fd, u->cq_ring_size, IORING_OFF_CQ_RING);
	u->sqes = uring_map(u->fd, u->sqes_size, IORING_OFF_SQES);
	if (u->sq_ring == MAP_FAILED || u->cq_ring == MAP_FAILED || u->sqes == MAP_FAILED)
		return -ENOMEM;
	u->sq_tail = (unsigned int *)((char *)u->sq_ring + p.sq_off.tail);
	u->sq_mask = (unsigned int *)((char *)u->sq_ring + p.sq_off.ring_mask);
	u->sq_array = (unsigned int *)((char *)u->sq_ring + p.sq_off.array);
	u->cq_head = (unsigned int *)((char *)u->cq_ring + p.cq_off.head);
	u->cq_tail = (unsigned int *)((char *)u->cq_ring + p.cq_off.tail);
	u->cq_mask = (unsigned int *)((char *)u->cq_ring + p.cq_off.ring_mask);
	u->cqes = (struct io_uring_cqe *)((char *)u->cq_ring + p.cq_off.cqes);
	return 0;
}

static void uring_exit(struct uring *u)
{
	if (u->sqes && u->sqes != MAP_FAILED)
		munmap(u->sqes, u->sqes_size);
	if (u->cq_ring && u->cq_ring != MAP_FAILED)
		munmap(u->cq_ring, u->cq_ring_size);
	if (u->sq_ring && u->sq_ring != MAP_FAILED)
		munmap(u->sq_ring, u->sq_ring_size);
	if (u->fd >= 0)
		close(u->fd);
}

/* Submits a multishot IORING_OP_POLL_ADD of POLLIN on @fd; 0 or -errno. */
static int uring_poll_multishot(struct uring *u, int fd)
{
	unsigned int tail = *u->sq_tail, i = tail & *u->sq_mask;
	struct io_uring_sqe *sqe = &u->sqes[i];
	int ret;

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_POLL_ADD;
	sqe->fd = fd;
	sqe->poll32_events = POLLIN;
	sqe->len = IORING_POLL_ADD_MULTI;
	sqe->user_data = 1;
	u->sq_array[i] = i;
	/* The kernel reads the entry after it sees the tail. */
	__atomic_store_n(u->sq_tail, tail + 1, __ATOMIC_RELEASE);
	ret = syscall(__NR_io_uring_enter, u->fd, 1, 0, 0, NULL, 0);
	if (ret < 0)
		return -errno;
	return ret == 1 ? 0 : -EIO;
}

/*
 * One completion, if there is one: 1 with its result and flags, else 0.
 */
static int uring_reap(struct uring *u, __s32 *res, __u32 *flags)
{
	unsigned int head = *u->cq_head;
	struct io_uring_cqe *cqe;

	if (head == __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE))
		return 0;
	cqe = &u->cqes[head & *u->cq_mask];
	*res = cqe->res;
	*flags = cqe->flags;
	__atomic_store_n(u->cq_head, head + 1, __ATOMIC_RELEASE);
	return 1;
}

/* How a waiter of the fixture waits. */
enum waiter_kind {
	WAITER_EPOLL_ET,
	WAITER_URING_MULTISHOT,
};

struct waiter {
	enum waiter_kind kind;
	int epfd;
	struct uring ring;
};

/* Starts watching allocator @fd for POLLIN; 0 or -errno. */
static int waiter_start(struct waiter *w, enum waiter_kind kind, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	int ret;

	w->kind = kind;
	w->epfd = -1;
	memset(&w->ring, 0, sizeof(w->ring));
	w->ring.fd = -1;
	if (kind == WAITER_EPOLL_ET) {
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (w->epfd < 0)
			return -errno;
		return epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
	}
	ret = uring_setup(&w->ring, 8);
	return ret ? ret : uring_poll_multishot(&w->ring, fd);
}

static void waiter_stop(struct waiter *w)
{
	if (w->epfd >= 0)
		close(w->epfd);
	uring_exit(&w->ring);
}

/*
 * Waits up to @timeout_ms for the allocator's POLLIN: 1 if it came, 0 if
 * not, -errno; -EPROTO for an event other than POLLIN or a multishot poll
 * that ended.
 */
static int waiter_wait(struct waiter *w, int timeout_ms)
{
	struct pollfd pfd = { .fd = w->ring.fd, .events = POLLIN };
	struct epoll_event ev;
	int ret, got = 0;
	__u32 flags;
	__s32 res;

	if (w->kind == WAITER_EPOLL_ET) {
		ret = epoll_wait(w->epfd, &ev, 1, timeout_ms);
		if (ret < 0)
			return -errno;
		return ret && ev.events != EPOLLIN ? -EPROTO : ret;
	}
	/* The ring's file is readable once a completion is posted. */
	ret = poll(&pfd, 1, timeout_ms);
	if (ret < 0)
		return -errno;
	while (uring_reap(&w->ring, &res, &flags)) {
		if (res < 0)
			return res;
		if (!(res & POLLIN) || !(flags & IORING_CQE_F_MORE))
			return -EPROTO;
		got = 1;
	}
	return got;
}

/* Takes every event already reported; 0 or -errno. */
static int waiter_drain(struct waiter *w)
{
	int ret;

	do
		ret = waiter_wait(w, 0);
	while (ret > 0);
	return ret;
}

/*
 * Waits for the wake-up that a helper thread started at @start causes after
 * POLL_TEST_DELAY_MS, and checks that it came after that delay: the waiter
 * slept and was woken, rather than finding an event left over from before.
 * @what says which, in the log.
 */
static void expect_woken(struct __test_metadata *_metadata, struct waiter *w,
			 long start, const char *what)
{
	long elapsed;

	ASSERT_EQ(1, waiter_wait(w, POLL_TEST_WAIT_MS))
		TH_LOG("%s: not woken within %d ms of the free", what, POLL_TEST_WAIT_MS);
	elapsed = now_ms() - start;
	EXPECT_LE(POLL_TEST_DELAY_MS * 3 / 4, elapsed)
		TH_LOG("%s: woken after %ld ms, before the free", what, elapsed);
}

/* A thread that runs @fn(@fd, @arg) after POLL_TEST_DELAY_MS. */
struct delayed {
	pthread_t thread;
	int (*fn)(int fd, __u64 arg);
	int fd;
	__u64 arg;
	int ret;
};

static void *delayed_fn(void *p)
{
	struct delayed *d = p;

	sleep_ms(POLL_TEST_DELAY_MS);
	d->ret = d->fn(d->fd, d->arg);
	return NULL;
}

static int start_delayed(struct delayed *d, int (*fn)(int, __u64), int fd, __u64 arg)
{
	*d = (struct delayed){ .fn = fn, .fd = fd, .arg = arg, .ret = INT32_MIN };
	return pthread_create(&d->thread, NULL, delayed_fn, d);
}

static int do_free_frame(int fd, __u64 handle)
{
	return free_frame(fd, handle);
}

static int do_streamoff(int cap, __u64 unused)
{
	(void)unused;
	return streamoff(cap);
}

/* An atomic allocator of POLL_TEST_FRAMES frames, and a waiter watching it. */
FIXTURE(poll_waiter) {
	int fd;
	struct waiter w;
	__u64 handles[POLL_TEST_FRAMES];
};

FIXTURE_VARIANT(poll_waiter) {
	enum waiter_kind kind;
};

FIXTURE_VARIANT_ADD(poll_waiter, epoll_et) {
	.kind = WAITER_EPOLL_ET,
};

FIXTURE_VARIANT_ADD(poll_waiter, io_uring_multishot) {
	.kind = WAITER_URING_MULTISHOT,
};

FIXTURE_SETUP(poll_waiter)
{
	self->w.epfd = -1;
	self->w.ring.fd = -1;
	self->fd = ksalloc_open_pool(KSALLOC_POOL_ATOMIC, POLL_TEST_FRAMES, 64, 0,
				     O_NONBLOCK);
	ASSERT_LE(0, self->fd)
		TH_LOG("allocator: %s (is the ksalloc module loaded?)",
		       strerror(self->fd < 0 ? -self->fd : 0));
	ASSERT_EQ(0, waiter_start(&self->w, variant->kind, self->fd));
	/* Frames are free: the waiter learns it at once, and only once. */
	ASSERT_EQ(1, waiter_wait(&self->w, POLL_TEST_WAIT_MS));
	ASSERT_EQ(0, waiter_wait(&self->w, 0));
}

FIXTURE_TEARDOWN(poll_waiter)
{
	waiter_stop(&self->w);
	if (self->fd >= 0)
		close(self->fd);
}

/*
 * Told that frames are free, the waiter takes them until ALLOC_FRAME says
 * -EAGAIN and waits: FREE_FRAME from another thread must wake it, every
 * round. Before, ALLOC_FRAME's -EAGAIN left nothing armed, and the free,
 * seeing no poll() waiting, woke nobody.
 */
TEST_F(poll_waiter, woken_by_user_free_after_eagain)
{
	struct delayed d;
	__u64 handle;
	unsigned int i, round, held = 0;
	char what[32];
	long start;

	for (round = 0; round < POLL_TEST_ROUNDS; round++) {
		for (i = held; i < POLL_TEST_FRAMES; i++)
			ASSERT_EQ(0, alloc_frame(self->fd, &self->handles[i]))
				TH_LOG("round %u: frame %u", round, i);
		ASSERT_EQ(-EAGAIN, alloc_frame(self->fd, &handle));
		held = POLL_TEST_FRAMES;
		ASSERT_EQ(0, waiter_drain(&self->w));

		ASSERT_EQ(0, start_delayed(&d, do_free_frame, self->fd, self->handles[0]));
		start = now_ms();
		snprintf(what, sizeof(what), "round %u", round);
		expect_woken(_metadata, &self->w, start, what);
		pthread_join(d.thread, NULL);
		ASSERT_EQ(0, d.ret);
		held--;
		/* The freed frame is the one to take next round. */
		self->handles[0] = self->handles[held];
	}
}

/*
 * A kernel client takes every frame through the function table (the capture
 * companion's timer, in hard IRQ) and is refused more (dropped frames); the
 * waiter, told before that frames were free, waits. The client's frees
 * (STREAMOFF, through free_frame, in another thread) must wake it. Before,
 * the refusal left the per-CPU caches open: the frees went to them without
 * the lock, and nothing woke the waiter.
 */
TEST_F(poll_waiter, woken_by_kernel_client_free)
{
	struct ksalloc_capture_counters c;
	struct ksalloc_status st;
	struct delayed d;
	long start, end;
	int cap;

	cap = capture_dev_open(0);
	ASSERT_LE(0, cap)
		TH_LOG("open %s: %s (is ksalloc_capture loaded?)", KSALLOC_CAPTURE_DEV,
		       strerror(errno));
	ASSERT_EQ(0, set_allocator(cap, self->fd));
	ASSERT_EQ(0, set_format(cap, 4, 1, 1, 500));
	ASSERT_EQ(0, streamon(cap));

	/*
	 * Every frame taken, and a tick refused one. Not "dropped" alone: the
	 * ticks a loaded guest misses count as dropped too, refused or not.
	 * A deadline, not a rate: a warm make check (8ab3d5e) once saw no
	 * tick after the first two in 5 s on the debug kernel, beside the
	 * gates on two CPUs (produced not logged then; it is now).
	 */
	end = now_ms() + POLL_TEST_TICK_WAIT_MS;
	do {
		ASSERT_EQ(0, get_counters(cap, &c));
		ASSERT_EQ(0, get_status(self->fd, &st));
		if (c.in_flight == POLL_TEST_FRAMES && st.failed_allocations)
			break;
		sleep_ms(1);
	} while (now_ms() < end);
	ASSERT_EQ(POLL_TEST_FRAMES, c.in_flight);
	ASSERT_LT(0ULL, c.dropped)
		TH_LOG("produced %llu, failed allocations %llu", (unsigned long long)c.produced,
		       (unsigned long long)st.failed_allocations);
	ASSERT_EQ(POLL_TEST_FRAMES, st.allocated_frames);
	ASSERT_LT(0ULL, st.failed_allocations);
	ASSERT_EQ(0, waiter_drain(&self->w));

	ASSERT_EQ(0, start_delayed(&d, do_streamoff, cap, 0));
	start = now_ms();
	expect_woken(_metadata, &self->w, start, "STREAMOFF");
	pthread_join(d.thread, NULL);
	ASSERT_EQ(0, d.ret);
	/* The frames the waiter was told of came back from the kernel client. */
	ASSERT_EQ(0, get_status(self->fd, &st));
	EXPECT_EQ(0U, st.allocated_frames);
	EXPECT_EQ(0, close(cap));
}

KSALLOC_TOTALS_TEARDOWN_TEST()

TEST_HARNESS_MAIN
