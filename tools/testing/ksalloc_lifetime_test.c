// SPDX-License-Identifier: GPL-2.0
/*
 * ksalloc_lifetime_test - a user's close() of an allocator against the
 * capture companion using it, in loops.
 *
 * A capture stream takes its own reference to its allocator, so the user may
 * close the allocator's fd at any moment: while SET_ALLOCATOR takes it, while
 * the stream's hard-IRQ timer takes frames from it, while a reader returns
 * frames to it or a STREAMOFF returns the queued ones; and the last reference
 * may then be the stream's, dropped by a close() with frames in flight. Each
 * test repeats its race for LIFETIME_TEST_MS (at least LIFETIME_MIN_ROUNDS
 * times) with the close moved a little each round, and checks that every
 * frame read verifies, the counters add up, and every frame comes back to the
 * allocator when someone can still ask it. A race whose outcome varies goes on
 * until each outcome has been seen, for LIFETIME_RACE_MS at most: one never
 * seen fails the test, as the race was not run. Last, the module's totals in
 * debugfs must show no misuse event and no allocator released with frames
 * retained since the start. What must not happen in the kernel (KASAN,
 * lockdep, warnings) is for the guest's log check to see.
 *
 * Both modules are supposed to be loaded; tools/testing/ksalloc_lifetime.sh
 * also runs this while it tries to unload them.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
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

#define HDR_SIZE		sizeof(struct ksalloc_capture_header)
/* How long anything expected may take, even on a slow KASAN guest. */
#define LIFETIME_WAIT_MS	5000
/* How long each test repeats its race, and its fewest rounds. */
#define LIFETIME_TEST_MS	1500
#define LIFETIME_MIN_ROUNDS	8
/* How long a race may go on until each of its outcomes has been seen. */
#define LIFETIME_RACE_MS	15000
/* Each stream: 4 frames of 64x4 YUYV, at a rate that keeps the timer busy. */
#define LIFETIME_FRAMES		4U
#define LIFETIME_WIDTH		64U
#define LIFETIME_HEIGHT		4U
#define LIFETIME_PAYLOAD	(LIFETIME_WIDTH * LIFETIME_HEIGHT * 2)
#define LIFETIME_FPS		1000U

/* Busy for @us: a delay shorter and steadier than a sleep. */
static void spin_us(unsigned int us)
{
	unsigned long long end = now_ns() + us * NSEC_PER_USEC;

	while (now_ns() < end)
		;
}

/* Rounds go on until both the time and the fewest rounds are done. */
struct rounds {
	unsigned long long end;
	unsigned int n;
};

static void rounds_init(struct rounds *r)
{
	r->end = now_ns() + LIFETIME_TEST_MS * NSEC_PER_MSEC;
	r->n = 0;
}

static bool rounds_next(struct rounds *r)
{
	if (r->n >= LIFETIME_MIN_ROUNDS && now_ns() >= r->end)
		return false;
	r->n++;
	return true;
}

/*
 * rounds_next() for a race of two outcomes, seen @a and @b times so far: it
 * also goes on while either is 0, until LIFETIME_RACE_MS in all.
 */
static bool race_rounds_next(struct rounds *r, unsigned int a, unsigned int b)
{
	unsigned long long limit = r->end + (LIFETIME_RACE_MS - LIFETIME_TEST_MS) * NSEC_PER_MSEC;

	if ((!a || !b) && now_ns() < limit) {
		r->n++;
		return true;
	}
	return rounds_next(r);
}

/* A framed atomic allocator whose frames fit the stream's, or -errno. */
static int allocator_open(void)
{
	return ksalloc_open_pool(KSALLOC_POOL_ATOMIC, LIFETIME_FRAMES,
				 HDR_SIZE + LIFETIME_PAYLOAD, 63, 0);
}

/* The test format: YUYV, LIFETIME_WIDTH x LIFETIME_HEIGHT at LIFETIME_FPS. */
static int set_stream_format(int cap)
{
	return set_format(cap, LIFETIME_WIDTH, LIFETIME_HEIGHT, 2, LIFETIME_FPS);
}

/* A stream of the test format on allocator @alloc, not started; or -errno. */
static int stream_open(int alloc, int flags)
{
	int cap, ret;

	cap = capture_dev_open(flags);
	if (cap < 0)
		return -errno;
	ret = set_allocator(cap, alloc);
	if (!ret)
		ret = set_stream_format(cap);
	if (ret) {
		close(cap);
		return ret;
	}
	return cap;
}

/* What a reader of one stream has seen. */
struct reader {
	int cap;
	__u64 frames;
	__u64 last_sequence;
	unsigned char buf[HDR_SIZE + LIFETIME_PAYLOAD];
};

/*
 * Reads one frame, waiting for it with poll(): 1 and the frame checked, 0 at
 * the end of the stream, or -errno (-ETIME: none came).
 */
static int read_frame(struct __test_metadata *_metadata, struct reader *r)
{
	const struct ksalloc_capture_header *h = (const void *)r->buf;
	long long at;
	ssize_t len;

	len = read_capture_frame(r->cap, r->buf, sizeof(r->buf), LIFETIME_WAIT_MS);
	if (len <= 0)
		return len;
	EXPECT_EQ((ssize_t)sizeof(r->buf), len);
	EXPECT_EQ(LIFETIME_PAYLOAD, h->payload_size);
	if (r->frames)
		EXPECT_LT(r->last_sequence, h->sequence);
	at = ksalloc_capture_mismatch(r->buf + HDR_SIZE, LIFETIME_PAYLOAD, h->sequence);
	EXPECT_EQ(-1, at)
		TH_LOG("frame %llu: payload byte %lld is 0x%02x", (unsigned long long)h->sequence,
		       at, r->buf[HDR_SIZE + at]);
	r->frames++;
	r->last_sequence = h->sequence;
	return 1;
}

/* Reads @n frames, each of which must come. */
static void read_frames(struct __test_metadata *_metadata, struct reader *r, unsigned int n)
{
	int ret;

	while (n--) {
		ret = read_frame(_metadata, r);
		ASSERT_EQ(1, ret)
			TH_LOG("after %llu frames: %s", (unsigned long long)r->frames,
			       ret ? strerror(-ret) : "end of stream");
	}
}

/* The counters add up; stopped, nothing is in flight and all was read. */
static void check_counters(struct __test_metadata *_metadata, const struct reader *r,
			   bool stopped)
{
	struct ksalloc_capture_counters c;

	ASSERT_EQ(0, get_counters(r->cap, &c));
	EXPECT_EQ(c.produced, c.delivered + c.dropped + c.in_flight);
	EXPECT_EQ(r->frames, c.delivered);
	if (stopped) {
		EXPECT_EQ(0U, c.streaming);
		EXPECT_EQ(0U, c.in_flight);
	}
}

/* Closes *fd after a delay, from another thread. */
struct closer {
	pthread_t thread;
	int *fd;
	unsigned int delay_us;
	bool spin;
	int cap;		/* if >= 0: a stream, its counters read around the close */
	__u64 produced_before;	/* its frames produced before the close */
	__u64 produced_after;	/* and after it */
	int ret;
	bool held;	/* wait for closer_go() before the delay */
	bool go;	/* set with release semantics by closer_go() */
	bool running;	/* set with release semantics before the delay */
	bool done;	/* set with release semantics once closed */
};

static void *closer_fn(void *arg)
{
	struct ksalloc_capture_counters cnt;
	struct closer *c = arg;

	while (c->held && !__atomic_load_n(&c->go, __ATOMIC_ACQUIRE))
		sched_yield();
	__atomic_store_n(&c->running, true, __ATOMIC_RELEASE);
	if (c->spin)
		spin_us(c->delay_us);
	else
		sleep_us(c->delay_us);
	if (c->cap >= 0)
		c->produced_before = get_counters(c->cap, &cnt) ? UINT64_MAX : cnt.produced;
	c->ret = close(*c->fd) ? -errno : 0;
	if (c->cap >= 0)
		c->produced_after = get_counters(c->cap, &cnt) ? UINT64_MAX : cnt.produced;
	__atomic_store_n(&c->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * @cap: a stream whose counters to read around the close, or -1. @held: the
 * delay starts at closer_go(), not as soon as the thread runs.
 */
static int closer_start(struct closer *c, int *fd, unsigned int delay_us, bool spin, int cap,
			bool held)
{
	*c = (struct closer){
		.fd = fd, .delay_us = delay_us, .spin = spin, .cap = cap, .held = held,
	};
	return pthread_create(&c->thread, NULL, closer_fn, c);
}

static void closer_go(struct closer *c)
{
	__atomic_store_n(&c->go, true, __ATOMIC_RELEASE);
}

/*
 * The user closes the allocator while the stream runs, the reader reads on,
 * then the stream goes: STREAMOFF and close(), or a close() while streaming,
 * which drops the allocator's last reference with frames in flight (unless a
 * second fd, the witness, still holds it: then every frame must be back).
 * The close must have come before the stream's first frame in some rounds,
 * and after it had produced frames in others. (The closer's thread is
 * started before STREAMON: a thread's start takes longer than the first
 * frame period on a slow guest.)
 */
TEST(close_allocator_while_streaming)
{
	unsigned int before_first = 0, after_some = 0;
	struct rounds rounds;
	struct closer closer;
	struct reader r;
	int alloc, witness;

	rounds_init(&rounds);
	while (race_rounds_next(&rounds, before_first, after_some)) {
		alloc = allocator_open();
		ASSERT_LE(0, alloc) TH_LOG("allocator: %s", strerror(-alloc));
		witness = rounds.n % 2 ? dup(alloc) : -1;
		r = (struct reader){ .cap = stream_open(alloc, O_NONBLOCK) };
		ASSERT_LE(0, r.cap) TH_LOG("stream: %s", strerror(-r.cap));
		/* From before the first tick to a few frames in. */
		ASSERT_EQ(0, closer_start(&closer, &alloc, rounds.n % 8 * 500, false, r.cap,
					  true));
		ASSERT_EQ(0, streamon(r.cap));
		closer_go(&closer);
		while (!__atomic_load_n(&closer.done, __ATOMIC_ACQUIRE))
			ASSERT_EQ(1, read_frame(_metadata, &r));
		ASSERT_EQ(0, pthread_join(closer.thread, NULL));
		ASSERT_EQ(0, closer.ret);
		ASSERT_NE(UINT64_MAX, closer.produced_before);
		ASSERT_NE(UINT64_MAX, closer.produced_after);
		/* A frame produced during the close counts for neither. */
		before_first += closer.produced_after == 0;
		after_some += closer.produced_before > 0;
		/* The stream runs on its own reference: frames are recycled. */
		read_frames(_metadata, &r, 2 * LIFETIME_FRAMES);
		check_counters(_metadata, &r, false);

		if (rounds.n % 4 < 2) {
			ASSERT_EQ(0, streamoff(r.cap));
			check_counters(_metadata, &r, true);
		}
		ASSERT_EQ(0, close(r.cap));
		if (witness >= 0) {
			EXPECT_EQ(0U, allocated_frames(witness));
			ASSERT_EQ(0, close(witness));
		}
	}
	TH_LOG("%u rounds: closed before the stream's first frame in %u, after frames in %u",
	       rounds.n, before_first, after_some);
	EXPECT_LT(0U, before_first) TH_LOG("no close came before the stream's first frame");
	EXPECT_LT(0U, after_some) TH_LOG("no close came after the stream had produced frames");
}

/*
 * The allocator's fd closed while SET_ALLOCATOR takes it: the stream either
 * has it, and works, or got -EBADF and has no allocator; each must have
 * happened. Both sides spin from the moment the closer's thread runs (its
 * start alone takes longer than a close): the closer 0 to 150 us as the
 * rounds go, SET_ALLOCATOR's caller 75 us.
 */
TEST(close_allocator_during_set_allocator)
{
	unsigned int taken = 0, missed = 0;
	struct rounds rounds;
	struct closer closer;
	struct reader r;
	int alloc, ret;

	rounds_init(&rounds);
	while (race_rounds_next(&rounds, taken, missed)) {
		alloc = allocator_open();
		ASSERT_LE(0, alloc) TH_LOG("allocator: %s", strerror(-alloc));
		r = (struct reader){ .cap = capture_dev_open(O_NONBLOCK) };
		ASSERT_LE(0, r.cap);
		ASSERT_EQ(0, set_stream_format(r.cap));

		ASSERT_EQ(0, closer_start(&closer, &alloc, rounds.n % 16 * 10, true, -1, false));
		while (!__atomic_load_n(&closer.running, __ATOMIC_ACQUIRE))
			;
		spin_us(75);
		ret = set_allocator(r.cap, alloc);
		ASSERT_EQ(0, pthread_join(closer.thread, NULL));
		ASSERT_EQ(0, closer.ret);
		if (!ret) {
			taken++;
			ASSERT_EQ(0, streamon(r.cap));
			read_frames(_metadata, &r, 2);
		} else {
			/* Nothing else opens files meanwhile: the fd number is free. */
			ASSERT_EQ(-EBADF, ret);
			missed++;
			EXPECT_EQ(-EBADFD, streamon(r.cap));
		}
		ASSERT_EQ(0, close(r.cap));
	}
	TH_LOG("%u rounds: the stream took the allocator in %u, the close came first in %u",
	       rounds.n, taken, missed);
	EXPECT_LT(0U, taken) TH_LOG("SET_ALLOCATOR never came before the close");
	EXPECT_LT(0U, missed) TH_LOG("the close never came before SET_ALLOCATOR");
}

/* Reads until the end of the stream, from its own thread. */
struct reader_thread {
	pthread_t thread;
	struct __test_metadata *metadata;
	struct reader r;
	int end;	/* 0 at the end of the stream, else -errno */
};

static void *reader_fn(void *arg)
{
	struct reader_thread *t = arg;
	struct __test_metadata *_metadata = t->metadata;

	while ((t->end = read_frame(_metadata, &t->r)) == 1)
		;
	return NULL;
}

/*
 * STREAMOFF from one thread while another reads, the allocator's fd closed
 * just before or not at all: the reader sees the end of the stream, after
 * checked frames only, and the counters add up with nothing in flight.
 */
TEST(streamoff_races_reader)
{
	struct reader_thread t = { .metadata = _metadata };
	__u64 frames = 0;
	struct rounds rounds;
	int alloc;

	rounds_init(&rounds);
	while (rounds_next(&rounds)) {
		alloc = allocator_open();
		ASSERT_LE(0, alloc) TH_LOG("allocator: %s", strerror(-alloc));
		t.r = (struct reader){ .cap = stream_open(alloc, O_NONBLOCK) };
		ASSERT_LE(0, t.r.cap) TH_LOG("stream: %s", strerror(-t.r.cap));
		ASSERT_EQ(0, streamon(t.r.cap));
		ASSERT_EQ(0, pthread_create(&t.thread, NULL, reader_fn, &t));

		sleep_us(rounds.n % 8 * 500);
		if (rounds.n % 2) {
			ASSERT_EQ(0, close(alloc));
			alloc = -1;
		}
		ASSERT_EQ(0, streamoff(t.r.cap));
		ASSERT_EQ(0, pthread_join(t.thread, NULL));
		EXPECT_EQ(0, t.end) TH_LOG("reader: %s", strerror(-t.end));
		check_counters(_metadata, &t.r, true);
		frames += t.r.frames;
		if (alloc >= 0) {
			EXPECT_EQ(0U, allocated_frames(alloc));
			ASSERT_EQ(0, close(alloc));
		}
		ASSERT_EQ(0, close(t.r.cap));
	}
	TH_LOG("%u rounds, %llu frames read", rounds.n, (unsigned long long)frames);
}

/*
 * Reads whichever of two streams has a frame until each has delivered @n
 * more: an unread stream may hold every frame of a shared allocator, so
 * waiting for one stream alone could starve it.
 */
static void read_both(struct __test_metadata *_metadata, struct reader *a, struct reader *b,
		      unsigned int n)
{
	__u64 want_a = a->frames + n, want_b = b->frames + n;
	struct pollfd pfd[2] = {
		{ .fd = a->cap, .events = POLLIN },
		{ .fd = b->cap, .events = POLLIN },
	};
	int ret;

	while (a->frames < want_a || b->frames < want_b) {
		ret = poll(pfd, 2, LIFETIME_WAIT_MS);
		ASSERT_LT(0, ret) TH_LOG("no frame from either stream: %s",
					 ret ? strerror(errno) : "timeout");
		if (pfd[0].revents & POLLIN)
			ASSERT_EQ(1, read_frame(_metadata, a));
		if (pfd[1].revents & POLLIN)
			ASSERT_EQ(1, read_frame(_metadata, b));
	}
}

/*
 * Two streams on one allocator, its fd closed under them: closing one stream
 * while streaming leaves the other running on the shared allocator, whose
 * last reference goes with the last stream.
 */
TEST(two_streams_outlive_allocator_fd)
{
	struct reader a, b, *first, *last;
	struct rounds rounds;
	int alloc;

	rounds_init(&rounds);
	while (rounds_next(&rounds)) {
		alloc = allocator_open();
		ASSERT_LE(0, alloc) TH_LOG("allocator: %s", strerror(-alloc));
		a = (struct reader){ .cap = stream_open(alloc, O_NONBLOCK) };
		b = (struct reader){ .cap = stream_open(alloc, O_NONBLOCK) };
		ASSERT_LE(0, a.cap);
		ASSERT_LE(0, b.cap);
		ASSERT_EQ(0, streamon(a.cap));
		ASSERT_EQ(0, streamon(b.cap));
		read_both(_metadata, &a, &b, 1);
		ASSERT_EQ(0, close(alloc));
		read_both(_metadata, &a, &b, 1);
		first = rounds.n % 2 ? &a : &b;
		last = rounds.n % 2 ? &b : &a;
		/* Its frames go back to the shared allocator as it goes. */
		ASSERT_EQ(0, close(first->cap));
		read_frames(_metadata, last, 2 * LIFETIME_FRAMES);
		check_counters(_metadata, last, false);
		ASSERT_EQ(0, close(last->cap));
	}
	TH_LOG("%u rounds", rounds.n);
}

static void on_signal(int sig)
{
}

/* Waits in KSALLOC_IOC_ALLOC_FRAME on a blocking allocator fd. */
struct waiter {
	pthread_t thread;
	int fd;
	int ret;
};

static void *waiter_fn(void *arg)
{
	struct waiter *w = arg;
	__u64 handle;

	w->ret = alloc_frame(w->fd, &handle);
	return NULL;
}

/*
 * A thread waits in KSALLOC_IOC_ALLOC_FRAME for the one frame, which this
 * process holds. Either the fd is closed under the wait (which keeps the
 * file) and a signal then ends the wait, and with it the last reference,
 * whose release takes the held frame back; or the frame is freed to the
 * waiter first, and the close leaves the waiter's frame to the release.
 */
TEST(close_under_blocked_alloc_frame)
{
	struct sigaction sa = { .sa_handler = on_signal };	/* no SA_RESTART */
	struct ksalloc_framing framing = { .frames = 1, .frame_size = 64 };
	unsigned int interrupted = 0, granted = 0;
	struct rounds rounds;
	struct waiter w;
	__u64 handle;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	rounds_init(&rounds);
	while (rounds_next(&rounds)) {
		w = (struct waiter){ .fd = ksalloc_dev_open(0) };
		ASSERT_LE(0, w.fd);
		framing.pool_type = rounds.n % 4 < 2 ? KSALLOC_POOL_ATOMIC : KSALLOC_POOL_SLEEPABLE;
		ASSERT_EQ(0, set_framing(w.fd, &framing));
		ASSERT_EQ(0, alloc_frame(w.fd, &handle));
		ASSERT_EQ(0, pthread_create(&w.thread, NULL, waiter_fn, &w));
		ASSERT_EQ(1U, wait_for_waiters(w.fd, 1, LIFETIME_WAIT_MS));

		if (rounds.n % 2) {
			ASSERT_EQ(0, close(w.fd));
			ASSERT_EQ(0, pthread_kill(w.thread, SIGUSR1));
			ASSERT_EQ(0, pthread_join(w.thread, NULL));
			EXPECT_EQ(-EINTR, w.ret);
			interrupted++;
		} else {
			ASSERT_EQ(0, free_frame(w.fd, handle));
			ASSERT_EQ(0, pthread_join(w.thread, NULL));
			EXPECT_EQ(0, w.ret);
			EXPECT_EQ(1U, allocated_frames(w.fd));
			ASSERT_EQ(0, close(w.fd));
			granted++;
		}
	}
	TH_LOG("%u rounds: %u waits interrupted after the close, %u granted before it",
	       rounds.n, interrupted, granted);
}

KSALLOC_TOTALS_TEARDOWN_TEST()

TEST_HARNESS_MAIN
