/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The helpers that the user-space tests of tools/testing share: the device
 * nodes, wrappers of the /dev/ksalloc and /dev/ksalloc_capture ioctls, a
 * monotonic clock, and the files of module parameters and debugfs. They are
 * static inline: each test takes what it calls. (ksalloc_capture_verify.h,
 * the capture payload's check, is apart: the capture demo shares it.)
 *
 * Return convention: a helper that makes an ioctl, or opens and sets up a
 * file, returns 0 (or the file descriptor) or -errno, because the errno is
 * the contract the tests compare. ksalloc_dev_open() and capture_dev_open()
 * return what open() does (-1 with errno set), as their callers log errno.
 *
 * Names: TEST_F(fixture, name) defines a function fixture_name(), so no
 * helper here may be named like a test (ksalloc_open, capture_open).
 */
#ifndef KSALLOC_TEST_UTIL_H
#define KSALLOC_TEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/ksalloc.h>
#include <linux/ksalloc_capture.h>

#define KSALLOC_DEV			"/dev/ksalloc"
#define KSALLOC_CAPTURE_DEV		"/dev/ksalloc_capture"
#define KSALLOC_PARAM_MAX_POOL		"/sys/module/ksalloc/parameters/max_pool_bytes"
#define KSALLOC_TOTALS			"/sys/kernel/debug/ksalloc/totals"
/* max_pool_bytes when the module was loaded without it. */
#define KSALLOC_DEFAULT_MAX_POOL	(64ULL << 20)

#define NSEC_PER_USEC			1000ULL
#define NSEC_PER_MSEC			1000000ULL
#define NSEC_PER_SEC			1000000000ULL

/* 0 or -errno. */
static inline int ks_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

/* /dev/ksalloc, a new allocator; as open(). */
static inline int ksalloc_dev_open(int flags)
{
	return open(KSALLOC_DEV, O_RDWR | O_CLOEXEC | flags);
}

static inline int set_framing(int fd, const struct ksalloc_framing *framing)
{
	struct ksalloc_framing arg = *framing;

	return ks_ioctl(fd, KSALLOC_IOC_SET_FRAMING, &arg);
}

/* A new allocator, opened with @flags and framed with @framing; or -errno. */
static inline int ksalloc_open_framed(const struct ksalloc_framing *framing, int flags)
{
	int fd, ret;

	fd = ksalloc_dev_open(flags);
	if (fd < 0)
		return -errno;
	ret = set_framing(fd, framing);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

static inline int get_status(int fd, struct ksalloc_status *st)
{
	/* Garbage in, so that a field the module forgets to fill shows. */
	memset(st, 0xa5, sizeof(*st));
	return ks_ioctl(fd, KSALLOC_IOC_GET_STATUS, st);
}

/* Frames the allocator has out, UINT32_MAX if it cannot say. */
static inline __u32 allocated_frames(int fd)
{
	struct ksalloc_status st;

	return get_status(fd, &st) ? UINT32_MAX : st.allocated_frames;
}

/* Frames it has handed out since its framing, UINT64_MAX if it cannot say. */
static inline __u64 total_allocations(int fd)
{
	struct ksalloc_status st;

	return get_status(fd, &st) ? UINT64_MAX : st.total_allocations;
}

/* A new allocator of that pool, opened with @flags; or -errno. */
static inline int ksalloc_open_pool(__u32 pool_type, __u32 frames, __u32 frame_size,
				    __u32 alignment, int flags)
{
	const struct ksalloc_framing framing = {
		.pool_type = pool_type,
		.frames = frames,
		.frame_size = frame_size,
		.alignment = alignment,
	};

	return ksalloc_open_framed(&framing, flags);
}

/*
 * The bytes a pool of @f is charged: what ksalloc_check_framing() counts,
 * frames times the aligned size, or, for page-backed frames (larger than
 * KSALLOC_SLAB_FRAME_SIZE, or a mappable pool), the size in whole pages.
 */
static inline unsigned long long framing_bytes(const struct ksalloc_framing *f)
{
	unsigned long long align = f->alignment + 1ULL, page = sysconf(_SC_PAGESIZE);
	unsigned long long size = (f->frame_size + align - 1) / align * align;

	if (size > KSALLOC_SLAB_FRAME_SIZE || f->options & KSALLOC_OPTIONF_MAPPABLE)
		size = (f->frame_size + page - 1) / page * page;
	return f->frames * size;
}

/* *@handle is written only on success. */
static inline int alloc_frame(int fd, __u64 *handle)
{
	struct ksalloc_frame_handle fh = { 0 };
	int ret;

	ret = ks_ioctl(fd, KSALLOC_IOC_ALLOC_FRAME, &fh);
	if (!ret)
		*handle = fh.handle;
	return ret;
}

static inline int free_frame(int fd, __u64 handle)
{
	struct ksalloc_frame_handle fh = { .handle = handle };

	return ks_ioctl(fd, KSALLOC_IOC_FREE_FRAME, &fh);
}

/* /dev/ksalloc_capture, a new stream; as open(). */
static inline int capture_dev_open(int flags)
{
	return open(KSALLOC_CAPTURE_DEV, O_RDWR | O_CLOEXEC | flags);
}

static inline int set_allocator_flags(int cap, int fd, __u32 flags)
{
	struct ksalloc_capture_allocator arg = { .fd = fd, .flags = flags };

	return ks_ioctl(cap, KSALLOC_CAPTURE_IOC_SET_ALLOCATOR, &arg);
}

static inline int set_allocator(int cap, int fd)
{
	return set_allocator_flags(cap, fd, 0);
}

static inline int set_format(int cap, __u32 width, __u32 height, __u32 bpp, __u32 fps)
{
	struct ksalloc_capture_format fmt = {
		.width = width,
		.height = height,
		.bytes_per_pixel = bpp,
		.fps = fps,
	};

	return ks_ioctl(cap, KSALLOC_CAPTURE_IOC_SET_FORMAT, &fmt);
}

static inline int streamon(int cap)
{
	return ks_ioctl(cap, KSALLOC_CAPTURE_IOC_STREAMON, NULL);
}

static inline int streamoff(int cap)
{
	return ks_ioctl(cap, KSALLOC_CAPTURE_IOC_STREAMOFF, NULL);
}

static inline int get_counters(int cap, struct ksalloc_capture_counters *c)
{
	/* Garbage in, as for get_status(). */
	memset(c, 0xa5, sizeof(*c));
	return ks_ioctl(cap, KSALLOC_CAPTURE_IOC_GET_COUNTERS, c);
}

static inline int dequeue(int cap, struct ksalloc_capture_frame *f)
{
	/* Garbage in the outputs: the module must fill each one. */
	memset(f, 0xa5, sizeof(*f));
	f->flags = 0;
	f->reserved = 0;
	return ks_ioctl(cap, KSALLOC_CAPTURE_IOC_DEQUEUE_FRAME, f);
}

static inline int return_frame_flags(int cap, __u64 handle, __u32 flags, __u32 reserved)
{
	struct ksalloc_capture_frame_handle h = {
		.handle = handle, .flags = flags, .reserved = reserved,
	};

	return ks_ioctl(cap, KSALLOC_CAPTURE_IOC_RETURN_FRAME, &h);
}

static inline int return_frame(int cap, __u64 handle)
{
	return return_frame_flags(cap, handle, 0, 0);
}

/* The revents of a POLLIN poll(), 0 on a timeout, or -errno. */
static inline int poll_in(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLRDNORM };
	int ret;

	ret = poll(&pfd, 1, timeout_ms);
	if (ret < 0)
		return -errno;
	return ret ? pfd.revents : 0;
}

/*
 * One read() of capture stream @cap once poll() says a frame is there:
 * bytes, 0 at the end of the stream, -errno, or -ETIME if none came.
 */
static inline ssize_t read_capture_frame(int cap, void *buf, size_t size, int timeout_ms)
{
	ssize_t ret;

	ret = poll_in(cap, timeout_ms);
	if (ret < 0)
		return ret;
	if (!ret)
		return -ETIME;
	ret = read(cap, buf, size);
	return ret < 0 ? -errno : ret;
}

/* CLOCK_MONOTONIC. */
static inline unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static inline long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Sleeps @ns in all, through signals that interrupt the sleep. */
static inline void sleep_ns(unsigned long long ns)
{
	struct timespec ts = {
		.tv_sec = ns / NSEC_PER_SEC,
		.tv_nsec = ns % NSEC_PER_SEC,
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static inline void sleep_us(unsigned int us)
{
	sleep_ns(us * NSEC_PER_USEC);
}

static inline void sleep_ms(unsigned int ms)
{
	sleep_ns(ms * NSEC_PER_MSEC);
}

/*
 * Polls GET_STATUS until @n requests wait, for @timeout_ms at most; returns
 * the last count seen, UINT32_MAX if GET_STATUS failed.
 */
static inline __u32 wait_for_waiters(int fd, __u32 n, unsigned int timeout_ms)
{
	unsigned long long end = now_ns() + timeout_ms * NSEC_PER_MSEC;
	struct ksalloc_status st;

	for (;;) {
		if (get_status(fd, &st))
			return UINT32_MAX;
		if (st.waiters == n || now_ns() > end)
			return st.waiters;
		sleep_us(100);
	}
}

/* The first line of file @path into @buf, newline dropped; 0 or -errno. */
static inline int read_line(const char *path, char *buf, size_t size)
{
	ssize_t len;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, size - 1);
	close(fd);
	if (len < 0)
		return -errno;
	buf[len] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* Writes @s to file @path (a sysfs or debugfs knob) in one write(); 0 or -errno. */
static inline int write_file(const char *path, const char *s)
{
	ssize_t len;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = write(fd, s, strlen(s));
	close(fd);
	return len == (ssize_t)strlen(s) ? 0 : len < 0 ? -errno : -EIO;
}

/* The number in file @path (a module parameter, say), or @dflt. */
static inline unsigned long long read_ull(const char *path, unsigned long long dflt)
{
	unsigned long long v = dflt;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return dflt;
	if (fscanf(f, "%llu", &v) != 1)
		v = dflt;
	fclose(f);
	return v;
}

/* The pool limit of the loaded module; the default if it cannot be read. */
static inline unsigned long long max_pool_bytes(void)
{
	return read_ull(KSALLOC_PARAM_MAX_POOL, KSALLOC_DEFAULT_MAX_POOL);
}

/*
 * The module's counters since it was loaded, from debugfs: frees of kernel
 * clients refused (misuse), and releases that found frames still held by a
 * kernel client, which are then retained (never freed), with those frames.
 */
struct ksalloc_totals {
	unsigned long long misuse_events;
	unsigned long long retaining_releases;
	unsigned long long retained_frames;
};

/*
 * Reads KSALLOC_TOTALS into @t: 0, or -errno with what went wrong in @why
 * (the file missing, a counter missing or unreadable), to be logged as is.
 */
static inline int ksalloc_read_totals(struct ksalloc_totals *t, char *why, size_t len)
{
	static const char * const names[] = {
		"misuse_events", "retaining_releases", "retained_frames",
	};
	unsigned long long *value[] = {
		&t->misuse_events, &t->retaining_releases, &t->retained_frames,
	};
	bool found[3] = { false };
	unsigned long long v;
	char line[128], name[64];
	unsigned int i;
	FILE *f;

	f = fopen(KSALLOC_TOTALS, "re");
	if (!f) {
		int err = errno;

		snprintf(why, len, "cannot open %s: %s (no debugfs, or no ksalloc loaded?)",
			 KSALLOC_TOTALS, strerror(err));
		return -err;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63[a-z_]: %llu", name, &v) != 2)
			continue;
		for (i = 0; i < 3; i++) {
			if (!strcmp(name, names[i])) {
				*value[i] = v;
				found[i] = true;
			}
		}
	}
	fclose(f);
	for (i = 0; i < 3; i++) {
		if (!found[i]) {
			snprintf(why, len, "%s has no line \"%s: <n>\"", KSALLOC_TOTALS,
				 names[i]);
			return -EPROTO;
		}
	}
	return 0;
}

/*
 * Whether the totals moved from @before to @after; if so, @why says how, to
 * be logged as is.
 */
static inline bool ksalloc_totals_moved(const struct ksalloc_totals *before,
					const struct ksalloc_totals *after, char *why, size_t len)
{
	if (before->misuse_events == after->misuse_events &&
	    before->retaining_releases == after->retaining_releases &&
	    before->retained_frames == after->retained_frames)
		return false;
	snprintf(why, len,
		 "misuse_events %llu -> %llu, retaining_releases %llu -> %llu, retained_frames %llu -> %llu (see the kernel log)",
		 before->misuse_events, after->misuse_events, before->retaining_releases,
		 after->retaining_releases, before->retained_frames, after->retained_frames);
	return true;
}

/* The description of the teardown check of the tests that use it. */
#define KSALLOC_TOTALS_CHECK \
	"no misuse event, no allocator released with frames retained"

/*
 * For a kselftest_harness test program: the totals are read before main()
 * and compared by a test of a fixture of its own, defined after every other
 * (the harness runs fixtures in the order they are defined), so that it runs
 * last: put this at the end of the file, before TEST_HARNESS_MAIN.
 * Its TAP line: "ok N teardown.no_misuse_no_retained_frames".
 */
#define KSALLOC_TOTALS_TEARDOWN_TEST() \
	static struct ksalloc_totals ksalloc_totals_start; \
	static int ksalloc_totals_start_err; \
	static char ksalloc_totals_start_why[256]; \
	static void __attribute__((constructor)) ksalloc_totals_read_start(void) \
	{ \
		ksalloc_totals_start_err = ksalloc_read_totals(&ksalloc_totals_start, \
			ksalloc_totals_start_why, sizeof(ksalloc_totals_start_why)); \
	} \
	FIXTURE(teardown) { int unused; }; \
	FIXTURE_SETUP(teardown) {} \
	FIXTURE_TEARDOWN(teardown) {} \
	/* KSALLOC_TOTALS_CHECK, since the program started. */ \
	TEST_F(teardown, no_misuse_no_retained_frames) \
	{ \
		struct ksalloc_totals end; \
		char why[256]; \
	\
		ASSERT_EQ(0, ksalloc_totals_start_err) \
			TH_LOG("at the start: %s", ksalloc_totals_start_why); \
		ASSERT_EQ(0, ksalloc_read_totals(&end, why, sizeof(why))) \
			TH_LOG("at the end: %s", why); \
		EXPECT_FALSE(ksalloc_totals_moved(&ksalloc_totals_start, &end, why, \
						  sizeof(why))) \
			TH_LOG("%s: %s", KSALLOC_TOTALS_CHECK, why); \
	}

#endif /* KSALLOC_TEST_UTIL_H */
