// SPDX-License-Identifier: GPL-2.0
/*
 * ksalloc_failnth_test - every slab allocation of the setup paths, failed in turn
 *
 * For each path (open() of /dev/ksalloc, KSALLOC_IOC_SET_FRAMING for several
 * framings, open() of /dev/ksalloc_capture and its SET_ALLOCATOR), the call
 * is repeated with its n-th allocation, slab or page, failed, n = 1, 2, ...,
 * until a call succeeds without having reached its n-th allocation: then
 * every allocation on the path, the kernel's own (VFS, slab cache creation,
 * vmalloc, per-CPU memory, debugfs, memcg, kmemleak, KASAN) included, has
 * been failed once. Each time:
 *   - the call either succeeds or fails with ENOMEM, the only errno an
 *     allocation failure may give here;
 *   - a call that failed left nothing behind (no file descriptor, no
 *     allocator: the count of ksalloc's debugfs entries and of slab caches is
 *     back where it was) and changed nothing (an allocator stays unframed and
 *     a stream keeps its previous allocator);
 *   - the object is usable afterwards: a retry without injection succeeds and
 *     every frame can be taken and returned, GET_STATUS agreeing.
 * A path with no injection point at all is a failure: it would mean that the
 * injection does not work. Leaks are the kmemleak scan's to find, at the end
 * of the test-kernel guest; KASAN, lockdep and WARN reports fail the guest.
 *
 * So that SET_FRAMING reaches every allocation, nothing is found ready made:
 *   - it runs as a user that has no other allocator (a real uid of its own;
 *     ksalloc charges a pool to the caller's real uid), so the user's entry
 *     in ksalloc's table of charges is allocated each time; and
 *     max_user_bytes is the size of the pool, so that a call that did not
 *     give its charge back makes every later one fail (EDQUOT): the retry
 *     after a failure, and a last SET_FRAMING after the sweep, show that
 *     every charge came back;
 *   - ksalloc's idle_caches is 0, so each call creates its slab cache;
 *   - one framing has enough frames that its tables (hash table and free
 *     stack) are vmalloc'd.
 * The framings' allocations are swept here only: the KUnit suite
 * ksalloc_fault sweeps ksalloc_create() for one framing, for what only the
 * kernel API has (the allocator, its framing and its anonymous file made in
 * one call, and unwound together).
 * A pool of F frames makes about 2F alike allocations in a row (each frame
 * and its kmemleak object), and a sweep of them costs O(F^2): above
 * FAILNTH_DENSE_FRAMES, a first call counts the injection points, T; the
 * first FAILNTH_PREFIX are swept, which take in every allocation before the
 * fill and its first frames, then one in the middle, and the last ones.
 *
 * The injection is the per-task fail-nth of CONFIG_FAULT_INJECTION
 * (Documentation/fault-injection/fault-injection.rst), as in the kernel's
 * tools/testing/selftests/iommu/iommufd_fail_nth.c: writing n to
 * /proc/self/task/<tid>/fail-nth fails the n-th should_fail() of this thread,
 * failslab's (CONFIG_FAILSLAB) and fail_page_alloc's (CONFIG_FAIL_PAGE_ALLOC)
 * alike. Reading it back after the call gives 0 when the n-th allocation
 * happened (and failed), and what was left otherwise. Both skip allocations
 * that may sleep unless their ignore-gfp-wait is N, and every allocation here
 * may sleep; fail_page_alloc besides skips orders below its min-order (1 by
 * default) and highmem. So each test sets ignore-gfp-wait N, min-order 0,
 * ignore-gfp-highmem N and verbose 0 (no stack dump per injection), and
 * restores them; probability stays 0 (fail-nth does without it, and times).
 * The user memory a call touches is written before arming: a page fault that
 * allocates could otherwise take the n-th allocation, and give EFAULT.
 *
 * One kernel path is left out: sysfs_slab_add(), inside kmem_cache_create().
 * In 6.12 a failure there after kobject_init_and_add() has named the kobject
 * leaks the name (CVE-2024-25740; fixed upstream by commit 2420baa8e046
 * "mm/slab: Allow cache creation to proceed even if sysfs registration
 * fails"), which the guest's kmemleak scan would report against ksalloc. So
 * failslab's stack trace filter (CONFIG_FAULT_INJECTION_STACKTRACE_FILTER)
 * and fail_page_alloc's reject allocations made under sysfs_slab_add(), whose
 * text range comes from /proc/kallsyms; without the filter or the symbol,
 * nothing is left out.
 *
 * Kernels without fail-nth, failslab or fail_page_alloc (Debian's stock
 * kernels): every test is a SKIP, with the reason. The modules are supposed to be loaded: a
 * missing device is a failure.
 *
 * Build, as a 64-bit and as a 32-bit (-m32) program:
 *
 *	cd tools/testing && gcc [-m32] -static -O2 -Wall -Wextra -Werror \
 *		-D_GNU_SOURCE -I../../include/uapi -I../include \
 *		-I<linux>/tools/testing/selftests -o ksalloc_failnth_test \
 *		ksalloc_failnth_test.c
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/ksalloc.h>
#include <linux/ksalloc_capture.h>

#include "ksalloc_test_util.h"

/* See ksalloc_test.c: these warnings are about the 6.12 harness. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wclobbered"
#include "kselftest_harness.h"

#define FAILSLAB_DIR		"/sys/kernel/debug/failslab"
#define FAIL_PAGE_DIR		"/sys/kernel/debug/fail_page_alloc"
#define IDLE_CACHES		"/sys/module/ksalloc/parameters/idle_caches"
#define MAX_USER_BYTES		"/sys/module/ksalloc/parameters/max_user_bytes"
#define KSALLOC_DEBUGFS		"/sys/kernel/debug/ksalloc"
/*
 * Far more allocations than any path here makes (the largest, SET_FRAMING of
 * FAILNTH_MAX_FRAMES frames, about 2 per frame and 50 more): a sweep that
 * gets there is a failure, one that would not end.
 */
#define FAILNTH_MAX		5000U
/* The fail-nth of the call that counts the injection points. */
#define FAILNTH_COUNT		1000000000U
/*
 * Seconds per test: a sweep of 80 calls takes 10 s on the KASAN + kmemleak
 * guest, where each release of an allocator waits for RCU.
 */
#define FAILNTH_TIMEOUT		300
/*
 * Pools of up to this many frames are swept in full: enough to fail the
 * first, middle and last frame; the sweep costs O(frames^2) (256 frames
 * took 100 s). Larger ones are sampled (see the top of this file).
 */
#define FAILNTH_DENSE_FRAMES	32U
/*
 * The points swept in full then: SET_FRAMING makes about 40 before the fill
 * (the charge, the cache, the vmalloc, the per-CPU caches).
 */
#define FAILNTH_PREFIX		64U
/*
 * The most frames of any framing below: that of the vmalloc'd tables. A
 * table above a page is vmalloc'd: the hash table (11.5 bytes a frame) from
 * 357 frames, the free stack (4 bytes a frame) from 1025.
 */
#define FAILNTH_MAX_FRAMES	1040U
/* The users SET_FRAMING runs as: this plus the test's pid. */
#define FAILNTH_UID_BASE	1000000U
/* How long a capture frame may take to arrive, even on a slow guest. */
#define CAPTURE_WAIT_MS		5000
/* Capture streams: 16x8 YUYV at 1000 fps into 4 frames of 4 KiB. */
#define CAPTURE_FRAMES		4U
#define CAPTURE_FRAME_SIZE	4096U

/* The lowest free file descriptor: what the next open() would return. */
static int lowest_free_fd(void)
{
	int fd = dup(0);

	if (fd >= 0)
		close(fd);
	return fd;
}

/* Entries in directory @path but "." and "..", or -1 if it cannot be read. */
static int count_entries(const char *path)
{
	struct dirent *d;
	int n = 0;
	DIR *dir;

	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		n += strcmp(d->d_name, ".") && strcmp(d->d_name, "..");
	closedir(dir);
	return n;
}

/*
 * The number of slab caches: lines of /proc/slabinfo (or entries of
 * /sys/kernel/slab), -1 if neither can be read. With idle_caches 0 (see
 * nth_setup()), a frame cache lives only while a pool uses it, so this is
 * back to its old value when nothing was left behind.
 */
static int count_slab_caches(void)
{
	char line[512];
	FILE *f;
	int n = 0;

	f = fopen("/proc/slabinfo", "re");
	if (!f)
		return count_entries("/sys/kernel/slab");
	while (fgets(line, sizeof(line), f))
		n += !!strchr(line, '\n');
	fclose(f);
	return n;
}

/*
 * What nth_setup() writes to make every allocation here injectable, and
 * nth_teardown() gives back.
 */
static const struct {
	const char *path;
	const char *value;
} nth_knobs[] = {
	/* Every allocation on these paths may sleep. */
	{ FAILSLAB_DIR "/ignore-gfp-wait", "N" },
	{ FAIL_PAGE_DIR "/ignore-gfp-wait", "N" },
	/* Pages of every order and zone. */
	{ FAIL_PAGE_DIR "/min-order", "0" },
	{ FAIL_PAGE_DIR "/ignore-gfp-highmem", "N" },
	/* No stack dump per injection. */
	{ FAILSLAB_DIR "/verbose", "0" },
	{ FAIL_PAGE_DIR "/verbose", "0" },
};

#define NR_KNOBS	ARRAY_SIZE(nth_knobs)

/* The fault-injection directories whose stack trace filter is set. */
static const char *const nth_filtered[] = { FAILSLAB_DIR, FAIL_PAGE_DIR };

#define NR_FILTERED	ARRAY_SIZE(nth_filtered)

/*
 * Fault injection for the calling thread. Between nth_arm() and nth_disarm()
 * the thread makes only the call under test: any other system call (or page
 * fault on a new page) could take the n-th allocation in its place, so the
 * call's arguments are written before arming.
 */
struct failnth {
	int fd;			/* /proc/self/task/<tid>/fail-nth */
	unsigned int nr_set;	/* nth_knobs[] written so far */
	char saved[NR_KNOBS][16];	/* their values as found */
	/* reject-start and reject-end of nth_filtered[] as found, "" if none */
	char reject[NR_FILTERED][2][32];
	char idle_caches[16];	/* ksalloc's idle_caches as found, "" if none */
	char max_user[24];	/* max_user_bytes as found, "" if not changed */
	uid_t uid;		/* the real uid as found */
	bool fresh_user;	/* the real uid changed (nth_fresh_user()) */
};

/*
 * The text range [@start, @end) of function @name, from /proc/kallsyms: its
 * address and the next text symbol's. 0, or -1 if not found or hidden.
 */
static int kallsyms_range(const char *name, unsigned long long *start,
			  unsigned long long *end)
{
	unsigned long long addr, found = 0, next = ~0ULL;
	char line[256], sym[128], type;
	FILE *f;

	f = fopen("/proc/kallsyms", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %c %127s", &addr, &type, sym) == 3 &&
		    (type == 't' || type == 'T') && !strcmp(sym, name))
			found = addr;
	rewind(f);
	while (found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %c", &addr, &type) == 2 &&
		    (type == 't' || type == 'T') && addr > found && addr < next)
			next = addr;
	fclose(f);
	if (!found || next == ~0ULL)
		return -1;
	*start = found;
	*end = next;
	return 0;
}

/* Keeps failslab and fail_page_alloc out of sysfs_slab_add() (see the top). */
static void nth_reject_sysfs_slab_add(struct failnth *nth)
{
	unsigned long long start, end;
	char path[2][64], buf[32];
	unsigned int i;

	if (kallsyms_range("sysfs_slab_add", &start, &end)) {
		fprintf(stderr, "# no sysfs_slab_add in /proc/kallsyms: not left out\n");
		return;
	}
	for (i = 0; i < NR_FILTERED; i++) {
		snprintf(path[0], sizeof(path[0]), "%s/reject-start", nth_filtered[i]);
		snprintf(path[1], sizeof(path[1]), "%s/reject-end", nth_filtered[i]);
		if (read_line(path[0], nth->reject[i][0], sizeof(nth->reject[i][0])) ||
		    read_line(path[1], nth->reject[i][1], sizeof(nth->reject[i][1]))) {
			nth->reject[i][0][0] = '\0';
			fprintf(stderr, "# no stack filter in %s: sysfs_slab_add() not left out\n",
				nth_filtered[i]);
			continue;
		}
		snprintf(buf, sizeof(buf), "0x%llx", start);
		write_file(path[0], buf);
		snprintf(buf, sizeof(buf), "0x%llx", end);
		write_file(path[1], buf);
	}
}

static void nth_teardown(struct failnth *nth);

/* Why fault injection cannot be used here, or NULL after setting it up. */
static const char *nth_setup(struct failnth *nth)
{
	static char reason[256];
	char path[64];
	unsigned int i;
	int err;

	*nth = (struct failnth){ .fd = -1, .uid = getuid() };
	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth", (long)syscall(SYS_gettid));
	if (access(path, F_OK))
		return "no /proc/self/task/<tid>/fail-nth: kernel without CONFIG_FAULT_INJECTION";
	if (access(FAILSLAB_DIR, F_OK))
		return "no " FAILSLAB_DIR ": kernel without CONFIG_FAILSLAB or debugfs";
	if (access(FAIL_PAGE_DIR, F_OK))
		return "no " FAIL_PAGE_DIR ": kernel without CONFIG_FAIL_PAGE_ALLOC";
	for (i = 0; i < NR_KNOBS; i++) {
		if (read_line(nth_knobs[i].path, nth->saved[i], sizeof(nth->saved[i]))) {
			snprintf(reason, sizeof(reason), "cannot read %s (not root?)",
				 nth_knobs[i].path);
			return reason;
		}
	}
	nth->fd = open(path, O_RDWR | O_CLOEXEC);
	if (nth->fd < 0) {
		snprintf(reason, sizeof(reason), "open %s: %s", path, strerror(errno));
		return reason;
	}
	for (; nth->nr_set < NR_KNOBS; nth->nr_set++) {
		err = write_file(nth_knobs[nth->nr_set].path, nth_knobs[nth->nr_set].value);
		if (err) {
			snprintf(reason, sizeof(reason), "cannot write %s: %s",
				 nth_knobs[nth->nr_set].path, strerror(-err));
			nth_teardown(nth);
			return reason;
		}
	}
	nth_reject_sysfs_slab_add(nth);
	/*
	 * A cache nobody uses is kept for reuse: with none kept, each call
	 * creates its cache, and the count of caches shows what a failed call
	 * left behind.
	 */
	if (read_line(IDLE_CACHES, nth->idle_caches, sizeof(nth->idle_caches)) ||
	    write_file(IDLE_CACHES, "0"))
		nth->idle_caches[0] = '\0';
	return NULL;
}

static void nth_teardown(struct failnth *nth)
{
	unsigned int i;

	if (nth->fd < 0)
		return;
	pwrite(nth->fd, "0", 1, 0);
	close(nth->fd);
	nth->fd = -1;
	if (nth->fresh_user && setresuid(nth->uid, -1, -1))
		fprintf(stderr, "# setresuid(%u): %s\n", (unsigned int)nth->uid, strerror(errno));
	if (nth->max_user[0])
		write_file(MAX_USER_BYTES, nth->max_user);
	while (nth->nr_set) {
		i = --nth->nr_set;
		write_file(nth_knobs[i].path, nth->saved[i]);
	}
	for (i = 0; i < NR_FILTERED; i++) {
		char path[64];

		if (!nth->reject[i][0][0])
			continue;
		snprintf(path, sizeof(path), "%s/reject-start", nth_filtered[i]);
		write_file(path, nth->reject[i][0]);
		snprintf(path, sizeof(path), "%s/reject-end", nth_filtered[i]);
		write_file(path, nth->reject[i][1]);
	}
	if (nth->idle_caches[0])
		write_file(IDLE_CACHES, nth->idle_caches);
}

/*
 * From now on, this process is a user that has no allocator, and that may
 * have @bytes of pools: its real uid (which ksalloc charges a pool to) is
 * FAILNTH_UID_BASE + its pid, and max_user_bytes is @bytes. The effective uid
 * stays root, for the files of fault injection. 0 or -errno.
 */
static int nth_fresh_user(struct failnth *nth, unsigned long long bytes)
{
	char buf[24];
	int err;

	err = read_line(MAX_USER_BYTES, nth->max_user, sizeof(nth->max_user));
	if (err)
		return err;
	snprintf(buf, sizeof(buf), "%llu", bytes);
	err = write_file(MAX_USER_BYTES, buf);
	if (err) {
		nth->max_user[0] = '\0';
		return err;
	}
	if (setresuid(FAILNTH_UID_BASE + getpid(), -1, -1))
		return -errno;
	nth->fresh_user = true;
	return 0;
}

/* From now on, fail this thread's @n-th slab or page allocation. */
static int nth_arm(struct failnth *nth, unsigned int n)
{
	char buf[16];
	int len;

	len = snprintf(buf, sizeof(buf), "%u", n);
	return pwrite(nth->fd, buf, len, 0) == len ? 0 : -errno;
}

/*
 * Stop injecting. Returns how many allocations were still to go: 0 if the
 * n-th one happened (and was failed); or -errno.
 */
static long nth_disarm(struct failnth *nth)
{
	char buf[16] = "";
	ssize_t len;

	len = pread(nth->fd, buf, sizeof(buf) - 1, 0);
	if (pwrite(nth->fd, "0", 1, 0) != 1)
		return -errno;
	if (len <= 0)
		return len < 0 ? -errno : -EIO;
	return strtol(buf, NULL, 10);
}

/* What one sweep saw, for the TAP comment; and which n it injects at. */
struct sweep {
	const char *path;
	unsigned int points;	/* allocations the call makes */
	unsigned int tried;	/* of them, those failed */
	unsigned int failed;	/* injections the call reported (ENOMEM) */
	unsigned int survived;	/* injections the call absorbed and succeeded */
	int caches;		/* slab caches before the sweep */
	int fd;			/* the lowest free fd before the sweep */
	struct timespec start;
	/* n = 1, 2, ... up to @sparse_from, @middle, then from @dense_from on. */
	unsigned int sparse_from;
	unsigned int middle;
	unsigned int dense_from;
};

static void sweep_begin(struct sweep *s, const char *path)
{
	*s = (struct sweep){ .path = path, .sparse_from = ~0U };
	s->caches = count_slab_caches();
	s->fd = lowest_free_fd();
	clock_gettime(CLOCK_MONOTONIC, &s->start);
}

/*
 * For a pool of @frames frames whose call makes @points allocations: sample
 * its fill if it is large (see the top of this file).
 */
static void sweep_plan(struct sweep *s, unsigned int points, unsigned int frames)
{
	if (frames <= FAILNTH_DENSE_FRAMES || points < FAILNTH_PREFIX + 32)
		return;
	s->sparse_from = FAILNTH_PREFIX;
	s->middle = (FAILNTH_PREFIX + points) / 2;
	s->dense_from = points - 8;
}

/* The n to inject at after @n. */
static unsigned int sweep_next(const struct sweep *s, unsigned int n)
{
	if (n < s->sparse_from)
		return n + 1;
	if (n < s->middle)
		return s->middle;
	return n + 1 > s->dense_from ? n + 1 : s->dense_from;
}

/*
 * Records the outcome of the call with its @n-th allocation failed: @err (0
 * or -errno) and @left (from nth_disarm()). Returns true when the sweep is
 * complete: the call succeeded before reaching its n-th allocation.
 */
static bool sweep_step(struct __test_metadata *_metadata, struct sweep *s,
		       unsigned int n, int err, long left)
{
	ASSERT_LE(0, left)
		TH_LOG("%s: reading fail-nth: %s", s->path, strerror(-left));
	s->tried++;
	if (err) {
		ASSERT_NE(-EDQUOT, err)
			TH_LOG("%s: n=%u: EDQUOT, %s", s->path, n,
			       "the charge of an earlier call was not given back");
		/* The only failure on an allocation path may be the injected one. */
		ASSERT_EQ(0, left)
			TH_LOG("%s: failed with %s without reaching allocation %u",
			       s->path, strerror(-err), n);
		ASSERT_EQ(-ENOMEM, err)
			TH_LOG("%s: allocation %u failed: %s, not ENOMEM",
			       s->path, n, strerror(-err));
		s->failed++;
		return false;
	}
	if (left)
		return true;
	s->survived++;
	return false;
}

static void sweep_end(struct __test_metadata *_metadata, struct sweep *s,
		      unsigned int n)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	s->points = n - 1;
	ASSERT_GT(FAILNTH_MAX, n)
		TH_LOG("%s: still allocating after %u injections", s->path, n);
	fprintf(stderr, "# %s: %u injection points (%u tried): %u ENOMEM, %u absorbed (%.1f s)\n",
		s->path, s->points, s->tried, s->failed, s->survived,
		(now.tv_sec - s->start.tv_sec) + (now.tv_nsec - s->start.tv_nsec) / 1e9);
	EXPECT_LT(0U, s->points)
		TH_LOG("%s: no allocation was failed: is fault injection working?", s->path);
	/* Every path here needs some allocation that it cannot do without. */
	EXPECT_LT(0U, s->failed)
		TH_LOG("%s: no injected failure made the call fail", s->path);
	EXPECT_EQ(s->fd, lowest_free_fd())
		TH_LOG("%s: a file descriptor was left open", s->path);
	EXPECT_EQ(s->caches, count_slab_caches())
		TH_LOG("%s: slab caches before the sweep %d, after %d",
		       s->path, s->caches, count_slab_caches());
}

/*
 * An allocator with @framing set: GET_STATUS echoes it, every frame can be
 * taken (one more cannot) and returned, and the counters agree. @fd is
 * O_NONBLOCK, so a missing frame is an error, not a wait.
 */
static void expect_usable(struct __test_metadata *_metadata, int fd,
			  const struct ksalloc_framing *framing, unsigned int n)
{
	__u64 handles[FAILNTH_MAX_FRAMES], extra;
	struct ksalloc_status st;
	__u32 i;

	ASSERT_GE(FAILNTH_MAX_FRAMES, framing->frames);
	ASSERT_EQ(0, get_status(fd, &st));
	ASSERT_EQ(0, memcmp(&st.framing, framing, sizeof(*framing)))
		TH_LOG("n=%u: GET_STATUS framing: %u frames of %u", n,
		       st.framing.frames, st.framing.frame_size);
	ASSERT_EQ(0U, st.allocated_frames) TH_LOG("n=%u", n);
	ASSERT_EQ(0ULL, st.total_allocations) TH_LOG("n=%u", n);

	for (i = 0; i < framing->frames; i++) {
		ASSERT_EQ(0, alloc_frame(fd, &handles[i]))
			TH_LOG("n=%u: frame %u of %u", n, i, framing->frames);
		ASSERT_NE(0ULL, handles[i]);
	}
	ASSERT_EQ(-EAGAIN, alloc_frame(fd, &extra))
		TH_LOG("n=%u: a frame beyond the %u of the framing", n, framing->frames);
	ASSERT_EQ(0, get_status(fd, &st));
	EXPECT_EQ(framing->frames, st.allocated_frames) TH_LOG("n=%u", n);
	for (i = 0; i < framing->frames; i++)
		ASSERT_EQ(0, free_frame(fd, handles[i]))
			TH_LOG("n=%u: frame %u of %u", n, i, framing->frames);

	ASSERT_EQ(0, get_status(fd, &st));
	EXPECT_EQ(0U, st.allocated_frames) TH_LOG("n=%u", n);
	EXPECT_EQ(framing->frames, st.peak_allocated_frames) TH_LOG("n=%u", n);
	EXPECT_EQ(framing->frames, st.total_allocations) TH_LOG("n=%u", n);
	EXPECT_EQ(1ULL, st.failed_allocations) TH_LOG("n=%u", n);
	EXPECT_EQ(0U, st.waiters) TH_LOG("n=%u", n);
	EXPECT_EQ(0U, st.misuse_events) TH_LOG("n=%u", n);
}

/* An allocator after a failed SET_FRAMING: as it was, unframed. */
static void expect_unframed(struct __test_metadata *_metadata, int fd, unsigned int n)
{
	struct ksalloc_status st, zero = { 0 };
	__u64 handle;

	ASSERT_EQ(0, get_status(fd, &st));
	EXPECT_EQ(0, memcmp(&st, &zero, sizeof(st)))
		TH_LOG("n=%u: GET_STATUS after a failed SET_FRAMING: %u frames, %u allocated",
		       n, st.framing.frames, st.allocated_frames);
	EXPECT_EQ(-EBADFD, alloc_frame(fd, &handle)) TH_LOG("n=%u", n);
}

/* ---- /dev/ksalloc: open() and SET_FRAMING ---- */

FIXTURE(ksalloc) {
	struct failnth nth;
};

FIXTURE_SETUP(ksalloc)
{
	const char *why = nth_setup(&self->nth);

	if (why)
		SKIP(return, "%s", why);
}

FIXTURE_TEARDOWN(ksalloc)
{
	nth_teardown(&self->nth);
}

TEST_F_TIMEOUT(ksalloc, open, FAILNTH_TIMEOUT)
{
	const struct ksalloc_framing framing = {
		.pool_type = KSALLOC_POOL_ATOMIC,
		.frames = 2,
		.frame_size = 64,
	};
	int entries = count_entries(KSALLOC_DEBUGFS);
	struct sweep s;
	unsigned int n;
	int fd, err;
	long left;

	sweep_begin(&s, "open " KSALLOC_DEV);
	for (n = 1; n < FAILNTH_MAX; n++) {
		struct ksalloc_framing arg = framing;

		ASSERT_EQ(0, nth_arm(&self->nth, n));
		fd = ksalloc_dev_open(O_NONBLOCK);
		err = fd < 0 ? -errno : 0;
		left = nth_disarm(&self->nth);
		if (fd < 0) {
			ASSERT_NE(-ENOENT, err) TH_LOG("is the ksalloc module loaded?");
			/* Nothing is left: no descriptor, no allocator. */
			ASSERT_EQ(s.fd, lowest_free_fd()) TH_LOG("n=%u", n);
			ASSERT_EQ(entries, count_entries(KSALLOC_DEBUGFS))
				TH_LOG("n=%u: a failed open left an allocator", n);
		} else {
			ASSERT_EQ(0, ks_ioctl(fd, KSALLOC_IOC_SET_FRAMING, &arg))
				TH_LOG("n=%u", n);
			expect_usable(_metadata, fd, &framing, n);
			ASSERT_EQ(0, close(fd));
		}
		if (sweep_step(_metadata, &s, n, err, left))
			break;
	}
	sweep_end(_metadata, &s, n);
	EXPECT_EQ(entries, count_entries(KSALLOC_DEBUGFS));
}

FIXTURE(ksalloc_framing) {
	struct failnth nth;
};

FIXTURE_VARIANT(ksalloc_framing) {
	struct ksalloc_framing framing;
};

FIXTURE_VARIANT_ADD(ksalloc_framing, atomic_small) {
	.framing = { .pool_type = KSALLOC_POOL_ATOMIC, .frames = 1, .frame_size = 64 },
};

FIXTURE_VARIANT_ADD(ksalloc_framing, sleepable_small) {
	.framing = { .pool_type = KSALLOC_POOL_SLEEPABLE, .frames = 4, .frame_size = 200,
		     .alignment = 63 },
};

FIXTURE_VARIANT_ADD(ksalloc_framing, atomic_many_frames) {
	.framing = { .options = KSALLOC_OPTIONF_SYSTEM_MEMORY,
		     .pool_type = KSALLOC_POOL_ATOMIC, .frames = FAILNTH_DENSE_FRAMES,
		     .frame_size = 48, .alignment = 7 },
};

FIXTURE_VARIANT_ADD(ksalloc_framing, atomic_large_frames) {
	.framing = { .pool_type = KSALLOC_POOL_ATOMIC, .frames = 4,
		     .frame_size = 640 * 480 * 2, .alignment = 4095 },
};

FIXTURE_VARIANT_ADD(ksalloc_framing, sleepable_large_frames) {
	.framing = { .pool_type = KSALLOC_POOL_SLEEPABLE, .frames = 2,
		     .frame_size = KSALLOC_MAX_FRAME_SIZE },
};

/* Both tables vmalloc'd. */
FIXTURE_VARIANT_ADD(ksalloc_framing, atomic_vmalloc_tables) {
	.framing = { .pool_type = KSALLOC_POOL_ATOMIC, .frames = FAILNTH_MAX_FRAMES,
		     .frame_size = 24, .alignment = 7 },
};

FIXTURE_SETUP(ksalloc_framing)
{
	const char *why = nth_setup(&self->nth);
	int err;

	if (why)
		SKIP(return, "%s", why);
	err = nth_fresh_user(&self->nth, framing_bytes(&variant->framing));
	ASSERT_EQ(0, err) TH_LOG("a fresh user: %s", strerror(-err));
}

FIXTURE_TEARDOWN(ksalloc_framing)
{
	nth_teardown(&self->nth);
}

/*
 * SET_FRAMING of @framing on a new allocator, as the fresh user, which must
 * work: with max_user_bytes the pool, no charge of the user's is left.
 * Checks the allocator and closes it; returns the allocations the call made.
 */
static unsigned int expect_framing_works(struct __test_metadata *_metadata,
					 struct failnth *nth,
					 const struct ksalloc_framing *framing,
					 const char *when)
{
	struct ksalloc_framing arg = *framing;
	long left;
	int fd, err;

	fd = ksalloc_dev_open(O_NONBLOCK);
	ASSERT_LE(0, fd) TH_LOG("open %s: %s", KSALLOC_DEV, strerror(errno));
	ASSERT_EQ(0, nth_arm(nth, FAILNTH_COUNT));
	err = ks_ioctl(fd, KSALLOC_IOC_SET_FRAMING, &arg);
	left = nth_disarm(nth);
	ASSERT_EQ(0, err)
		TH_LOG("%s: SET_FRAMING as a fresh user, max_user_bytes %llu: %s",
		       when, framing_bytes(framing), strerror(-err));
	ASSERT_LT(0, left);
	expect_usable(_metadata, fd, framing, 0);
	ASSERT_EQ(0, close(fd));
	return FAILNTH_COUNT - left;
}

TEST_F_TIMEOUT(ksalloc_framing, set_framing, FAILNTH_TIMEOUT)
{
	const struct ksalloc_framing *framing = &variant->framing;
	struct sweep s;
	unsigned int n;
	int fd, err, retry;
	long left;

	sweep_begin(&s, "KSALLOC_IOC_SET_FRAMING");
	sweep_plan(&s, expect_framing_works(_metadata, &self->nth, framing, "before the sweep"),
		   framing->frames);
	for (n = 1; n < FAILNTH_MAX; n = sweep_next(&s, n)) {
		struct ksalloc_framing arg = *framing;

		fd = ksalloc_dev_open(O_NONBLOCK);
		ASSERT_LE(0, fd) TH_LOG("open %s: %s", KSALLOC_DEV, strerror(errno));
		ASSERT_EQ(0, nth_arm(&self->nth, n));
		err = ks_ioctl(fd, KSALLOC_IOC_SET_FRAMING, &arg);
		left = nth_disarm(&self->nth);
		if (err) {
			/* Nothing changed, and the same fd takes the framing. */
			expect_unframed(_metadata, fd, n);
			/* The charge came back: the user may have the pool again. */
			arg = *framing;
			retry = ks_ioctl(fd, KSALLOC_IOC_SET_FRAMING, &arg);
			ASSERT_EQ(0, retry)
				TH_LOG("n=%u: the retry after a failed SET_FRAMING: %s",
				       n, strerror(-retry));
		}
		expect_usable(_metadata, fd, framing, n);
		ASSERT_EQ(0, close(fd));
		if (sweep_step(_metadata, &s, n, err, left))
			break;
	}
	sweep_end(_metadata, &s, n);
	expect_framing_works(_metadata, &self->nth, framing, "after the sweep");
}

/* ---- /dev/ksalloc_capture: open() and SET_ALLOCATOR ---- */

FIXTURE(capture) {
	struct failnth nth;
	int alloc[2];		/* two framed allocators */
	unsigned char buf[CAPTURE_FRAME_SIZE];
};

FIXTURE_SETUP(capture)
{
	const char *why = nth_setup(&self->nth);
	int i;

	self->alloc[0] = -1;
	self->alloc[1] = -1;
	if (why)
		SKIP(return, "%s", why);
	for (i = 0; i < 2; i++) {
		/* O_NONBLOCK: ALLOC_FRAME never waits. */
		self->alloc[i] = ksalloc_open_pool(KSALLOC_POOL_ATOMIC, CAPTURE_FRAMES,
						   CAPTURE_FRAME_SIZE, 0, O_NONBLOCK);
		ASSERT_LE(0, self->alloc[i])
			TH_LOG("allocator: %s", strerror(-self->alloc[i]));
	}
}

FIXTURE_TEARDOWN(capture)
{
	int i;

	for (i = 0; i < 2; i++)
		if (self->alloc[i] >= 0)
			close(self->alloc[i]);
	nth_teardown(&self->nth);
}

/* 16x8 YUYV at 1000 fps. */
static int set_stream_format(int cap)
{
	return set_format(cap, 16, 8, 2, 1000);
}

/*
 * The stream, format set, delivers a frame from allocator @fd: STREAMON,
 * one read(), STREAMOFF; the frames come back to the allocator.
 */
static void expect_streams(struct __test_metadata *_metadata, int cap, int fd,
			   unsigned char *buf, unsigned int n)
{
	struct pollfd pfd = { .fd = cap, .events = POLLIN };
	const struct ksalloc_capture_header *h = (const void *)buf;
	__u64 before = total_allocations(fd);
	ssize_t len;

	ASSERT_EQ(0, streamon(cap)) TH_LOG("n=%u", n);
	ASSERT_EQ(1, poll(&pfd, 1, CAPTURE_WAIT_MS)) TH_LOG("n=%u: no frame", n);
	len = read(cap, buf, CAPTURE_FRAME_SIZE);
	ASSERT_EQ((ssize_t)(sizeof(*h) + 16 * 8 * 2), len)
		TH_LOG("n=%u: read: %s", n, len < 0 ? strerror(errno) : "short");
	EXPECT_EQ(16U * 8 * 2, h->payload_size);
	ASSERT_EQ(0, streamoff(cap));
	EXPECT_LT(before, total_allocations(fd))
		TH_LOG("n=%u: the frame did not come from this allocator", n);
	EXPECT_EQ(0U, allocated_frames(fd)) TH_LOG("n=%u: frames not returned", n);
}

TEST_F_TIMEOUT(capture, open, FAILNTH_TIMEOUT)
{
	struct sweep s;
	unsigned int n;
	int cap, err;
	long left;

	sweep_begin(&s, "open " KSALLOC_CAPTURE_DEV);
	for (n = 1; n < FAILNTH_MAX; n++) {
		ASSERT_EQ(0, nth_arm(&self->nth, n));
		cap = capture_dev_open(0);
		err = cap < 0 ? -errno : 0;
		left = nth_disarm(&self->nth);
		if (cap < 0) {
			ASSERT_NE(-ENOENT, err) TH_LOG("is ksalloc_capture loaded?");
			ASSERT_EQ(s.fd, lowest_free_fd()) TH_LOG("n=%u", n);
		} else {
			ASSERT_EQ(0, set_allocator(cap, self->alloc[0])) TH_LOG("n=%u", n);
			ASSERT_EQ(0, set_stream_format(cap));
			expect_streams(_metadata, cap, self->alloc[0], self->buf, n);
			ASSERT_EQ(0, close(cap));
		}
		if (sweep_step(_metadata, &s, n, err, left))
			break;
	}
	sweep_end(_metadata, &s, n);
}

/* A stream without an allocator gets its first one. */
TEST_F_TIMEOUT(capture, set_allocator, FAILNTH_TIMEOUT)
{
	struct sweep s;
	unsigned int n;
	int cap, err;
	long left;

	sweep_begin(&s, "KSALLOC_CAPTURE_IOC_SET_ALLOCATOR");
	for (n = 1; n < FAILNTH_MAX; n++) {
		struct ksalloc_capture_allocator arg = { .fd = self->alloc[0] };

		cap = capture_dev_open(0);
		ASSERT_LE(0, cap) TH_LOG("open %s: %s", KSALLOC_CAPTURE_DEV, strerror(errno));
		ASSERT_EQ(0, set_stream_format(cap));
		ASSERT_EQ(0, nth_arm(&self->nth, n));
		err = ks_ioctl(cap, KSALLOC_CAPTURE_IOC_SET_ALLOCATOR, &arg);
		left = nth_disarm(&self->nth);
		if (err) {
			/* Still no allocator; and it takes one now. */
			ASSERT_EQ(-EBADFD, streamon(cap))
				TH_LOG("n=%u: a stream without an allocator", n);
			ASSERT_EQ(0, set_allocator(cap, self->alloc[0]))
				TH_LOG("n=%u: the retry after a failed SET_ALLOCATOR", n);
		}
		expect_streams(_metadata, cap, self->alloc[0], self->buf, n);
		ASSERT_EQ(0, close(cap));
		ASSERT_EQ(0U, allocated_frames(self->alloc[0]));
		if (sweep_step(_metadata, &s, n, err, left))
			break;
	}
	sweep_end(_metadata, &s, n);
}

/* A stream with an allocator switches to another; failing, it keeps the first. */
TEST_F_TIMEOUT(capture, set_allocator_switch, FAILNTH_TIMEOUT)
{
	struct sweep s;
	unsigned int n;
	int cap, err;
	long left;

	sweep_begin(&s, "KSALLOC_CAPTURE_IOC_SET_ALLOCATOR (switch)");
	for (n = 1; n < FAILNTH_MAX; n++) {
		struct ksalloc_capture_allocator arg = { .fd = self->alloc[1] };
		__u64 unused;

		cap = capture_dev_open(0);
		ASSERT_LE(0, cap) TH_LOG("open %s: %s", KSALLOC_CAPTURE_DEV, strerror(errno));
		ASSERT_EQ(0, set_allocator(cap, self->alloc[0]));
		ASSERT_EQ(0, set_stream_format(cap));
		ASSERT_EQ(0, nth_arm(&self->nth, n));
		err = ks_ioctl(cap, KSALLOC_CAPTURE_IOC_SET_ALLOCATOR, &arg);
		left = nth_disarm(&self->nth);
		/* The stream uses the one it has: the first, or the new one. */
		unused = total_allocations(self->alloc[err ? 1 : 0]);
		expect_streams(_metadata, cap, self->alloc[err ? 0 : 1], self->buf, n);
		EXPECT_EQ(unused, total_allocations(self->alloc[err ? 1 : 0]))
			TH_LOG("n=%u: the stream used the allocator it %s", n,
			       err ? "failed to switch to" : "switched from");
		ASSERT_EQ(0, close(cap));
		if (sweep_step(_metadata, &s, n, err, left))
			break;
	}
	sweep_end(_metadata, &s, n);
}

TEST_HARNESS_MAIN
