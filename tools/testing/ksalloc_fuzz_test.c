// SPDX-License-Identifier: GPL-2.0
/*
 * ksalloc_fuzz_test - a seeded, bounded, multi-threaded hostile fuzzer of the
 * /dev/ksalloc ioctl ABI, and of /dev/ksalloc_capture's when it is loaded
 *
 * What it calls. Several threads (4 by default) share a table of FZ_SLOTS
 * /dev/ksalloc fds and FZ_CAPS /dev/ksalloc_capture fds and pick random
 * operations until enough calls are made or the time is up:
 *  - open() with random access modes and flags (O_NONBLOCK mostly), close(),
 *    and dup2() of /dev/null over an allocator's fd while other threads are
 *    calling into it, dup() and fcntl(F_GETFL/F_SETFL);
 *  - SET_FRAMING: small valid framings; each field alone at a boundary (0, 1,
 *    max, max + 1, ~0, over the pool quota, masks that are not 2^n - 1,
 *    reserved and unknown option bits, bad pool types); random framings; and,
 *    now and then on a temporary fd, big valid ones (65536 frames, 4 MiB
 *    frames, pools of exactly max_pool_bytes) and the quota plus one frame
 *    (on a kmemleak kernel, 65537 frames instead of 65536: 65536 slab
 *    objects take a minute there);
 *  - GET_STATUS; ALLOC_FRAME, on O_NONBLOCK fds or, when it could wait, under
 *    a per-thread timer signal (EINTR), so that nothing hangs; FREE_FRAME
 *    with held, stale, 0, small, random and bit-flipped handles; nonzero
 *    flags and reserved fields;
 *  - bad pointers: NULL, low addresses, kernel-half and non-canonical
 *    addresses, a PROT_NONE page, a structure straddling into that page, and
 *    a PROT_READ page for the ioctls that write back;
 *  - wrong sizes and directions (_IOC of the right type and number), unknown
 *    numbers on the ksalloc magic and on others (never the types the VFS
 *    handles before the driver: FIONBIO, FIFREEZE, FS_IOC_*...);
 *  - poll() (also with an invalid and a negative fd in the set), read(),
 *    write(), mmap(), lseek();
 *  - the same on fds that are no allocator: -1, INT_MIN, closed and huge
 *    numbers, O_PATH, /dev/null, a pipe, a directory; and side-effect-free
 *    calls on random low fd numbers that other threads are opening and
 *    closing meanwhile;
 *  - the capture stream: SET_ALLOCATOR (allocators of the table, its own,
 *    unframed, sleepable, bad fds), SET_FORMAT (boundaries), STREAMON/OFF,
 *    GET_COUNTERS, read() of every size, poll(); the zero-copy path:
 *    DEQUEUE_FRAME (each frame checked through a mapping of the allocator
 *    when the pool is page-backed) and RETURN_FRAME with held, returned,
 *    0, never handed out and random handles, bad flags, bad pointers; and
 *    that read() and DEQUEUE_FRAME exclude each other;
 *  - ALLOC_FRAME2, and mmap() of allocators at random offsets and lengths,
 *    executable or not.
 * A thread makes bursts of calls on one slot per lock taken, mostly on slots
 * of its own, and rarely ends an allocator: on the debug test kernel (2 vCPUs
 * under TCG, KASAN, lockdep, kmemleak) a plain ioctl costs 20-70 us, an
 * allocator's life (open, SET_FRAMING, release) ~90 ms. 4 threads made
 * 6000-50000 calls/s there, as the host's load decides (14000-17000 in a
 * make check run: 150000 calls in ~10 s), 45000-130000 on Debian's kernels.
 *
 * What it checks. Each call's result is checked against the set the
 * documented ABI allows for that input class: an unknown command is ENOTTY,
 * a bad pointer EFAULT, a reserved field EINVAL, a framing gets the errno of
 * the first failing check in the documented order, an invalid input never
 * succeeds. An independent bookkeeping follows every allocator: each table
 * slot has a read-write lock. Most allocators are used by one thread at a
 * time (the write lock): their results and GET_STATUS (handles held,
 * total/failed_allocations, framing, peak, waiters) are predicted exactly.
 * "Shared" allocators are hammered by several threads at once under the read
 * lock: the handles and counters still add up, while states are checked
 * loosely as the calls race. Allocators a capture stream may take frames from
 * are checked loosely too. At the end, for every open allocator,
 * allocated_frames equals the handles held, total_/failed_allocations equal
 * the fuzzer's counts (a range where a PROT_READ ALLOC_FRAME may have taken
 * and returned a frame), every held handle frees and allocated_frames is then
 * 0; the process has exactly its starting fds, the kernel taint did not
 * change, and the module's totals in debugfs show no misuse event and no
 * allocator released with frames retained since the start. The guests' log
 * checks (any BUG, WARNING, KASAN, UBSAN, lockdep report fails the run) and
 * the debug guest's kmemleak scan do the rest.
 *
 * Output: TAP; "#" lines give the seed, threads, time, calls per kind, the
 * errno histogram, each thread's operations, calls and hash (of its calls and
 * their successes, in order), and the first FZ_MAX_REPORTS violations with
 * their thread and operation number. A thread still in a call FZ_GRACE s
 * after the time bound is reported with that call, and the run fails.
 *
 * Reproducing. The first argument or these variables:
 *	KSALLOC_FUZZ_SEED	the seed (default FZ_DEFAULT_SEED)
 *	KSALLOC_FUZZ_THREADS	threads (default 4, 1 to FZ_MAX_THREADS)
 *	KSALLOC_FUZZ_CALLS	stop after this many calls (default FZ_DEFAULT_CALLS)
 *	KSALLOC_FUZZ_SECONDS	or after this many seconds (default FZ_DEFAULT_SECONDS)
 *	KSALLOC_FUZZ_CAPTURE	0: leave /dev/ksalloc_capture alone (its case is
 *				then skipped; without it, a missing device fails)
 *	KSALLOC_FUZZ_TIMING	1: print the mean time of each kind of call
 * Each thread's choices depend only on the seed, its number and the results
 * of its calls. With one thread, KSALLOC_FUZZ_CAPTURE=0 (streams run on
 * timers), the seed and KSALLOC_FUZZ_CALLS of a run make the same calls with
 * the same successes on every run: the hash printed is the same. With several
 * threads the interleaving, and so the results, differ; the seed still
 * decides what each thread tries. The case "made >= 100000 calls" fails when
 * the time bound stops the run first: the defaults leave a margin of 1.5 in
 * calls and of ~3 in time on the debug kernel.
 *
 * Build (make -C tools does), as a 64-bit and as a 32-bit (-m32) program:
 *
 *	cd tools/testing && gcc [-m32] -static -O2 -Wall -Wextra -Werror \
 *		-D_GNU_SOURCE -I../../include/uapi -I../include \
 *		-I<linux>/tools/testing/selftests -o ksalloc_fuzz_test \
 *		ksalloc_fuzz_test.c -lpthread
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <linux/ksalloc.h>
#include <linux/ksalloc_capture.h>

#include "ksalloc_capture_verify.h"
#include "ksalloc_test_util.h"
#include "kselftest.h"

#define FZ_TAINTED		"/proc/sys/kernel/tainted"

#define FZ_DEFAULT_SEED		0x6b73616c6c6f63ULL	/* "ksalloc" */
#define FZ_DEFAULT_THREADS	4
#define FZ_DEFAULT_CALLS	150000ULL
#define FZ_DEFAULT_SECONDS	60
#define FZ_MIN_CALLS		100000ULL
#define FZ_MAX_THREADS		16

#define FZ_SLOTS		16	/* /dev/ksalloc fds in the table */
#define FZ_BURST		6	/* calls per lock taken, at most */
#define FZ_CAPS			4	/* /dev/ksalloc_capture fds */
#define FZ_MAX_FRAMES		16	/* frames of a table allocator, at most */
#define FZ_STALE		8	/* freed handles remembered per allocator */
/* Fewer than 100 fds are ever open: numbers from 512 up are always closed. */
#define FZ_CLOSED_FD		512
/* Racy calls go to any of these numbers, which the table's fds live in. */
#define FZ_RACY_FD_MAX		64
#define FZ_MAX_REPORTS		20
#define FZ_CAP_BUF		(128 << 10)
#define FZ_CAP_HELD		4	/* frames a stream's application holds, at most */
/* One big framing per this many operations, in the whole process. */
#define FZ_BIG_OPS		12000
#define FZ_GRACE		60	/* s after the time bound: a thread is stuck */
#define FZ_CAP_HDR		((__u32)sizeof(struct ksalloc_capture_header))
#define FZ_BIT(n)		(1U << (n))

/* The results a call may have: 0 (or a count) and the errnos seen here. */
enum fz_res {
	FZ_R_OK, FZ_R_EFAULT, FZ_R_EINVAL, FZ_R_ENOTTY, FZ_R_EBADF, FZ_R_EBADFD,
	FZ_R_EAGAIN, FZ_R_ENOENT, FZ_R_EBUSY, FZ_R_EOPNOTSUPP, FZ_R_E2BIG,
	FZ_R_EOVERFLOW, FZ_R_EDQUOT, FZ_R_EINTR, FZ_R_ENOMEM, FZ_R_EMSGSIZE,
	FZ_R_ENODEV, FZ_R_EACCES, FZ_R_ENOTDIR, FZ_R_EEXIST, FZ_R_ENXIO,
	FZ_R_EPERM, FZ_R_ENODATA, FZ_R_OTHER,
};

static const int fz_res_errno[] = {
	[FZ_R_OK] = 0, [FZ_R_EFAULT] = EFAULT, [FZ_R_EINVAL] = EINVAL,
	[FZ_R_ENOTTY] = ENOTTY, [FZ_R_EBADF] = EBADF, [FZ_R_EBADFD] = EBADFD,
	[FZ_R_EAGAIN] = EAGAIN, [FZ_R_ENOENT] = ENOENT, [FZ_R_EBUSY] = EBUSY,
	[FZ_R_EOPNOTSUPP] = EOPNOTSUPP, [FZ_R_E2BIG] = E2BIG,
	[FZ_R_EOVERFLOW] = EOVERFLOW, [FZ_R_EDQUOT] = EDQUOT,
	[FZ_R_EINTR] = EINTR, [FZ_R_ENOMEM] = ENOMEM, [FZ_R_EMSGSIZE] = EMSGSIZE,
	[FZ_R_ENODEV] = ENODEV, [FZ_R_EACCES] = EACCES, [FZ_R_ENOTDIR] = ENOTDIR,
	[FZ_R_EEXIST] = EEXIST, [FZ_R_ENXIO] = ENXIO, [FZ_R_EPERM] = EPERM,
	[FZ_R_ENODATA] = ENODATA, [FZ_R_OTHER] = -1,
};

#define FZ_OK		FZ_BIT(FZ_R_OK)
#define FZ_EFAULT	FZ_BIT(FZ_R_EFAULT)
#define FZ_EINVAL	FZ_BIT(FZ_R_EINVAL)
#define FZ_ENOTTY	FZ_BIT(FZ_R_ENOTTY)
#define FZ_EBADF	FZ_BIT(FZ_R_EBADF)
#define FZ_EBADFD	FZ_BIT(FZ_R_EBADFD)
#define FZ_EAGAIN	FZ_BIT(FZ_R_EAGAIN)
#define FZ_ENOENT	FZ_BIT(FZ_R_ENOENT)
#define FZ_EBUSY	FZ_BIT(FZ_R_EBUSY)
#define FZ_EOPNOTSUPP	FZ_BIT(FZ_R_EOPNOTSUPP)
#define FZ_EINTR	FZ_BIT(FZ_R_EINTR)
#define FZ_ENOMEM	FZ_BIT(FZ_R_ENOMEM)
#define FZ_EMSGSIZE	FZ_BIT(FZ_R_EMSGSIZE)
#define FZ_ENODEV	FZ_BIT(FZ_R_ENODEV)
#define FZ_EACCES	FZ_BIT(FZ_R_EACCES)
#define FZ_ENOTDIR	FZ_BIT(FZ_R_ENOTDIR)
#define FZ_EEXIST	FZ_BIT(FZ_R_EEXIST)
#define FZ_ENXIO	FZ_BIT(FZ_R_ENXIO)
#define FZ_EPERM	FZ_BIT(FZ_R_EPERM)
#define FZ_ENODATA	FZ_BIT(FZ_R_ENODATA)

/* What kind of call, for the counts printed at the end. */
enum fz_kind {
	K_OPEN, K_CLOSE, K_DUP, K_FCNTL, K_SET_FRAMING, K_GET_STATUS, K_ALLOC,
	K_FREE, K_UNKNOWN, K_BADSIZE, K_POLL, K_RWMAP, K_BADFD, K_RACY,
	K_CAP_SET_ALLOC, K_CAP_SET_FORMAT, K_CAP_STREAM, K_CAP_COUNTERS,
	K_CAP_READ, K_CAP_POLL, K_CAP_OTHER, K_CAP_DEQUEUE, K_CAP_RETURN, K_NR,
};

static const char * const fz_kind_name[K_NR] = {
	[K_OPEN] = "open", [K_CLOSE] = "close", [K_DUP] = "dup/dup2",
	[K_FCNTL] = "fcntl", [K_SET_FRAMING] = "SET_FRAMING",
	[K_GET_STATUS] = "GET_STATUS", [K_ALLOC] = "ALLOC_FRAME",
	[K_FREE] = "FREE_FRAME", [K_UNKNOWN] = "unknown command",
	[K_BADSIZE] = "wrong size/direction", [K_POLL] = "poll",
	[K_RWMAP] = "read/write/mmap/lseek", [K_BADFD] = "on non-allocator fds",
	[K_RACY] = "racy, on random fd numbers",
	[K_CAP_SET_ALLOC] = "capture SET_ALLOCATOR",
	[K_CAP_SET_FORMAT] = "capture SET_FORMAT",
	[K_CAP_STREAM] = "capture STREAMON/OFF",
	[K_CAP_COUNTERS] = "capture GET_COUNTERS", [K_CAP_READ] = "capture read",
	[K_CAP_POLL] = "capture poll", [K_CAP_OTHER] = "capture unknown/wrong size",
	[K_CAP_DEQUEUE] = "capture DEQUEUE_FRAME", [K_CAP_RETURN] = "capture RETURN_FRAME",
};

/* What a violation is about: one TAP case each. */
enum fz_cat { V_IOCTL, V_STATUS, V_POLL, V_SYS, V_CAP, V_END_HELD, V_END_COUNT,
	      V_END_FREE, V_NR };

/* The TAP case of each. */
static const char * const fz_cat_case[V_NR] = {
	[V_IOCTL] = "every ksalloc ioctl result is allowed for its input",
	[V_STATUS] = "GET_STATUS during the run agrees with the bookkeeping",
	[V_POLL] = "every poll result is allowed",
	[V_SYS] = "open, close, dup, fcntl, read, write, mmap results are allowed",
	[V_CAP] = "every capture stream result is allowed",
	[V_END_HELD] = "at the end, allocated_frames equals the handles held",
	[V_END_COUNT] = "at the end, total and failed allocations match the counts",
	[V_END_FREE] = "at the end, every held frame frees, leaving none allocated",
};

static const char * const fz_cat_name[V_NR] = {
	[V_IOCTL] = "ioctl", [V_STATUS] = "status", [V_POLL] = "poll",
	[V_SYS] = "syscall", [V_CAP] = "capture", [V_END_HELD] = "end-held",
	[V_END_COUNT] = "end-counters", [V_END_FREE] = "end-free",
};

/* Where an ioctl's argument points. */
enum fz_ptr { P_GOOD, P_NULL, P_LOW, P_KERNEL, P_NONE, P_STRADDLE, P_RO, P_NR };

static const char * const fz_ptr_name[P_NR] = {
	"good", "NULL", "low", "kernel", "PROT_NONE", "straddling", "PROT_READ",
};

#if __SIZEOF_POINTER__ == 8
static const uintptr_t fz_kernel_ptrs[] = {
	0xffff888000000000UL, 0xffffffff81000000UL, 0xffffffffff600000UL,
	0x0000800000000000UL, 0x00007ffffffff000UL, 0xfffffffffffffff8UL,
	0x8000000000000000UL,
};
#else
/* Above a compat task's TASK_SIZE (0xffffe000): never mapped. */
static const uintptr_t fz_kernel_ptrs[] = {
	0xffffe000U, 0xfffff000U, 0xfffffff8U, 0xffffffffU,
};
#endif

/* Slot states: the fd number is closed, an allocator, or /dev/null (retired). */
enum fz_state { FZ_CLOSED, FZ_OPEN, FZ_NULL };

/*
 * A table slot. @rw: writers (open, close, exclusive calls) own the slot; a
 * shared slot's calls run under the read lock, concurrently, and then the
 * fields below @book are read and written under @book.
 */
struct fz_slot {
	pthread_rwlock_t rw;	/* the slot, see above */
	pthread_mutex_t book;	/* the fields below, while readers race */
	int fd;
	enum fz_state state;
	unsigned int gen;	/* bumped when a reader retires the allocator */
	bool shared;		/* calls under the read lock */
	bool nonblock;		/* O_NONBLOCK (never changed while shared) */
	int accmode;		/* O_RDONLY, O_WRONLY or O_RDWR */
	bool framed;
	bool captured;		/* a capture stream may hold and take frames */
	struct ksalloc_framing framing;
	unsigned int nheld;
	__u64 held[FZ_MAX_FRAMES];
	__u64 stale[FZ_STALE];
	unsigned int nstale;
	/* What total_ and failed_allocations must be, at least and at most. */
	__u64 total_min, total_max, failed_min, failed_max;
};

/* A capture slot; everything under @lock. */
struct fz_cap {
	pthread_mutex_t lock;	/* the slot */
	int fd;
	bool streaming;
	bool has_alloc;
	bool has_format;
	__u32 frame_size;	/* of the allocator */
	__u32 frames;
	__u32 frame_bytes;	/* of the format */
	bool mappable;		/* the allocator's pool is page-backed */
	int mode;		/* 0 unchosen since STREAMON, 1 read(), 2 DEQUEUE_FRAME */
	unsigned int nheld;
	__u64 held[FZ_CAP_HELD];	/* handles dequeued, not returned */
	__u64 last_handle;	/* the last handed out, 0 for none */
	__u64 returned;		/* one returned (or taken back), 0 for none */
	unsigned char *map;	/* the allocator's pool, mapped, or NULL */
	size_t map_size, stride;
};

struct fz_thread {
	pthread_t thread;
	unsigned int id;
	__u64 rng;
	__u64 ops;
	__u64 ncalls, flushed;
	__u64 hash;	/* of the kinds and results of its calls, in order */
	__u64 calls[K_NR];
	__u64 ns[K_NR];		/* time spent in the calls of each kind */
	__u64 hist[FZ_R_OTHER + 1];
	/* The call under way, for the watchdog: kind, fd, command. */
	int cur_kind;		/* -1: none */
	int cur_fd;
	unsigned long cur_cmd;
	__u64 t0;
	int done;
	timer_t timer;
	char *rw;	/* a read-write page, then a PROT_NONE one, then a PROT_READ one */
	char *none;
	char *ro;
	unsigned char *cbuf;	/* capture frames */
};

static struct {
	__u64 seed;
	unsigned int threads;
	__u64 target_calls;
	unsigned int seconds;
	unsigned long long max_pool;
	unsigned long page_size;
	bool have_capture;
	bool kmemleak;		/* a debug kernel: some big pools take a minute */
	/* Time each call: clock_gettime is a syscall in a guest on hpet. */
	bool timing;
	int null_fd, zero_fd, dir_fd, path_fd, pipe_fd[2];
	int huge_fd;	/* RLIMIT_NOFILE: never a valid number */
	struct timespec start;
} fz;

static struct fz_slot fz_slots[FZ_SLOTS];
static struct fz_cap fz_caps[FZ_CAPS];
static struct fz_thread fz_threads[FZ_MAX_THREADS];
static pthread_mutex_t fz_big_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t fz_print_lock = PTHREAD_MUTEX_INITIALIZER;
static __u64 fz_calls;	/* flushed by the threads now and then */
static int fz_stop;
static unsigned long fz_bad[V_NR];
static unsigned long fz_reports;

/* splitmix64: one 64-bit state per thread, seeded from the seed and its number. */
static __u64 fz_rand(struct fz_thread *t)
{
	__u64 z;

	t->rng += 0x9e3779b97f4a7c15ULL;
	z = t->rng;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static __u32 fz_below(struct fz_thread *t, __u32 n)
{
	return n ? fz_rand(t) % n : 0;
}

static bool fz_chance(struct fz_thread *t, __u32 num, __u32 den)
{
	return fz_below(t, den) < num;
}

/* An index into @w, each with its weight. */
static unsigned int fz_pick(struct fz_thread *t, const unsigned int *w, unsigned int n)
{
	unsigned int i, sum = 0, r;

	for (i = 0; i < n; i++)
		sum += w[i];
	r = fz_below(t, sum);
	for (i = 0; i < n; i++) {
		if (r < w[i])
			return i;
		r -= w[i];
	}
	return n - 1;
}

static double fz_elapsed(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - fz.start.tv_sec) + (now.tv_nsec - fz.start.tv_nsec) / 1e9;
}

static enum fz_res fz_res_of(long ret)
{
	unsigned int i;

	if (ret >= 0)
		return FZ_R_OK;
	for (i = 1; i < FZ_R_OTHER; i++)
		if (fz_res_errno[i] == -ret)
			return i;
	return FZ_R_OTHER;
}

/* The bit of a -errno. */
static unsigned int fz_errno_bit(int err)
{
	return FZ_BIT(fz_res_of(err));
}

static const char *fz_errname(int err)
{
	const char *name = err > 0 ? strerrorname_np(err) : NULL;

	return name ? name : "?";
}

static void fz_describe(char *buf, size_t size, long ret)
{
	if (ret >= 0)
		snprintf(buf, size, "%ld", ret);
	else
		snprintf(buf, size, "-%s", fz_errname(-ret));
}

static void fz_describe_set(char *buf, size_t size, unsigned int allowed)
{
	size_t len = 0;
	unsigned int i;

	buf[0] = 0;
	for (i = 0; i < FZ_R_OTHER && len < size; i++) {
		if (!(allowed & FZ_BIT(i)))
			continue;
		len += snprintf(buf + len, size - len, "%s%s", len ? "," : "",
				i == FZ_R_OK ? "ok" : fz_errname(fz_res_errno[i]));
	}
}

/* A violation: counted, and the first FZ_MAX_REPORTS printed. */
static __printf(3, 4) void fz_violation(struct fz_thread *t, enum fz_cat cat,
					const char *fmt, ...)
{
	unsigned long n;
	char msg[512];
	va_list ap;

	__atomic_add_fetch(&fz_bad[cat], 1, __ATOMIC_RELAXED);
	n = __atomic_fetch_add(&fz_reports, 1, __ATOMIC_RELAXED);
	if (n >= FZ_MAX_REPORTS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&fz_print_lock);
	if (t)
		printf("# VIOLATION [%s] thread %u op %llu: %s\n", fz_cat_name[cat], t->id,
		       (unsigned long long)t->ops, msg);
	else
		printf("# VIOLATION [%s] at the end: %s\n", fz_cat_name[cat], msg);
	pthread_mutex_unlock(&fz_print_lock);
}

/* Checks that @ret is in @allowed; @fmt says what was called, with what. */
static __printf(5, 6) bool fz_expect(struct fz_thread *t, enum fz_cat cat, long ret,
				     unsigned int allowed, const char *fmt, ...)
{
	char what[256], got[32], set[160];
	va_list ap;

	if (FZ_BIT(fz_res_of(ret)) & allowed)
		return true;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	fz_describe(got, sizeof(got), ret);
	fz_describe_set(set, sizeof(set), allowed);
	fz_violation(t, cat, "%s: returned %s, allowed {%s}", what, got, set);
	return false;
}

/* Before a call: what the watchdog prints if it never returns. */
static void fz_begin(struct fz_thread *t, enum fz_kind kind, int fd, unsigned long cmd)
{
	__atomic_store_n(&t->cur_fd, fd, __ATOMIC_RELAXED);
	__atomic_store_n(&t->cur_cmd, cmd, __ATOMIC_RELAXED);
	__atomic_store_n(&t->cur_kind, kind, __ATOMIC_RELAXED);
	if (fz.timing)
		t->t0 = now_ns();
}

/* Every call made goes through here: counted, and its result histogrammed. */
static long fz_count(struct fz_thread *t, enum fz_kind kind, long ret)
{
	if (fz.timing && __atomic_load_n(&t->cur_kind, __ATOMIC_RELAXED) == (int)kind)
		t->ns[kind] += now_ns() - t->t0;
	__atomic_store_n(&t->cur_kind, -1, __ATOMIC_RELAXED);
	t->calls[kind]++;
	t->ncalls++;
	t->hist[fz_res_of(ret)]++;
	/*
	 * Two runs made the same calls, with the same successes, if these
	 * agree (EINVAL or ENOENT for a handle depends on the kernel's values).
	 */
	t->hash = (t->hash ^ (kind << 1 | (ret >= 0))) * 0x100000001b3ULL;
	return ret;
}

static long fz_ioctl(struct fz_thread *t, enum fz_kind kind, int fd, unsigned long cmd,
		     void *arg)
{
	long ret;

	fz_begin(t, kind, fd, cmd);
	ret = ioctl(fd, cmd, arg);

	return fz_count(t, kind, ret < 0 ? -errno : ret);
}

static long fz_close(struct fz_thread *t, int fd)
{
	fz_begin(t, K_CLOSE, fd, 0);
	return fz_count(t, K_CLOSE, close(fd) ? -errno : 0);
}

static long fz_poll(struct fz_thread *t, enum fz_kind kind, struct pollfd *p,
		    unsigned int n, int timeout_ms)
{
	long ret;

	fz_begin(t, kind, p[0].fd, timeout_ms);
	ret = poll(p, n, timeout_ms);

	return fz_count(t, kind, ret < 0 ? -errno : ret);
}

/*
 * A blocking call that may wait: a timer signal ends it within a few ms. The
 * timer repeats: the first signal may come (and be handled) before the call
 * starts to wait, when this thread is preempted in between.
 */
static void fz_arm(struct fz_thread *t)
{
	struct itimerspec its = {
		.it_value.tv_nsec = (1 + fz_below(t, 3)) * 1000000L,
		.it_interval.tv_nsec = 2000000L,
	};

	timer_settime(t->timer, 0, &its, NULL);
}

static void fz_disarm(struct fz_thread *t)
{
	struct itimerspec its = { 0 };

	/* A signal already queued is delivered as this call returns: harmless. */
	timer_settime(t->timer, 0, &its, NULL);
}

static void fz_on_signal(int sig)
{
	(void)sig;
}

/* An argument pointer of class @cls for @size bytes. */
static void *fz_ptr(struct fz_thread *t, enum fz_ptr cls, size_t size)
{
	switch (cls) {
	case P_GOOD:
		return t->rw;
	case P_NULL:
		return NULL;
	case P_LOW:
		/* Below mmap_min_addr, and the static binary lies far above. */
		return (void *)(uintptr_t)(1 + fz_below(t, 0xfff));
	case P_KERNEL:
		return (void *)fz_kernel_ptrs[fz_below(t, ARRAY_SIZE(fz_kernel_ptrs))];
	case P_NONE:
		return t->none + fz_below(t, fz.page_size - size);
	case P_STRADDLE:
		return t->none - 1 - fz_below(t, size - 1);
	case P_RO:
		return t->ro;
	default:
		return NULL;
	}
}

/* P_GOOD with @good_pct percent, else any bad class (P_RO included if @ro). */
static enum fz_ptr fz_pick_ptr(struct fz_thread *t, unsigned int good_pct, bool ro)
{
	if (fz_below(t, 100) < good_pct)
		return P_GOOD;
	return 1 + fz_below(t, ro ? P_NR - 1 : P_NR - 2);
}

/* The -errno SET_FRAMING must give @f, by the documented order of checks; 0 if valid. */
static int fz_framing_errno(const struct ksalloc_framing *f)
{
	unsigned long long align = (unsigned long long)f->alignment + 1, bytes;

	if (f->reserved)
		return -EINVAL;
	if (f->options & ~KSALLOC_OPTIONF_VALID)
		return -EOPNOTSUPP;
	if (f->pool_type != KSALLOC_POOL_ATOMIC && f->pool_type != KSALLOC_POOL_SLEEPABLE)
		return -EINVAL;
	if (!f->frames || !f->frame_size)
		return -EINVAL;
	/* 2^n - 1: no bit in common with its successor. */
	if ((f->alignment & align) || align > fz.page_size)
		return -EINVAL;
	if (f->frames > KSALLOC_MAX_FRAMES || f->frame_size > KSALLOC_MAX_FRAME_SIZE)
		return -E2BIG;
	/* At most 2^16 frames of 2^22 + 2^12 bytes: no overflow in 64 bits. */
	bytes = (f->frame_size + align - 1) / align * align;
	/* Page-backed frames take whole pages. */
	if (bytes > KSALLOC_SLAB_FRAME_SIZE || f->options & KSALLOC_OPTIONF_MAPPABLE)
		bytes = (f->frame_size + fz.page_size - 1) / fz.page_size * fz.page_size;
	bytes *= f->frames;
	if (bytes > fz.max_pool)
		return -EDQUOT;
	return 0;
}

/* Frames of @f (valid) are page-backed: the pool can be mapped. */
static bool fz_page_backed(const struct ksalloc_framing *f)
{
	unsigned long long align = (unsigned long long)f->alignment + 1;

	return f->options & KSALLOC_OPTIONF_MAPPABLE ||
	       (f->frame_size + align - 1) / align * align > KSALLOC_SLAB_FRAME_SIZE;
}

/* Where a frame of page-backed @f may start in a mapping: the stride. */
static size_t fz_stride(const struct ksalloc_framing *f)
{
	return (f->frame_size + fz.page_size - 1) / fz.page_size * fz.page_size;
}

static const __u32 fz_boundary_u32[] = {
	0, 1, 2, 3, 7, 8, 63, 64, 4095, 4096, 4097, 8191, 65535, 65536, 65537,
	KSALLOC_MAX_FRAME_SIZE - 1, KSALLOC_MAX_FRAME_SIZE, KSALLOC_MAX_FRAME_SIZE + 1,
	0x7fffffffU, 0x80000000U, 0xfffffffeU, 0xffffffffU,
};

static __u32 fz_u32(struct fz_thread *t)
{
	if (fz_chance(t, 1, 2))
		return fz_boundary_u32[fz_below(t, ARRAY_SIZE(fz_boundary_u32))];
	return (__u32)fz_rand(t) >> fz_below(t, 32);
}

/* A framing small enough for the table: FZ_MAX_FRAMES frames, 256 KiB at most. */
static void fz_small_framing(struct fz_thread *t, struct ksalloc_framing *f)
{
	static const __u32 sizes[] = { 1, 7, 8, 24, 64, 100, 512, 4095, 4096, 4097, 16384 };

	memset(f, 0, sizeof(*f));
	f->options = fz_chance(t, 1, 2) ? KSALLOC_OPTIONF_SYSTEM_MEMORY : 0;
	if (fz_chance(t, 1, 4))
		f->options |= KSALLOC_OPTIONF_MAPPABLE;
	f->pool_type = fz_chance(t, 2, 3) ? KSALLOC_POOL_ATOMIC : KSALLOC_POOL_SLEEPABLE;
	f->frames = 1 + fz_below(t, FZ_MAX_FRAMES);
	f->frame_size = fz_chance(t, 1, 2) ? sizes[fz_below(t, ARRAY_SIZE(sizes))] :
			1 + fz_below(t, 16384);
	f->alignment = (1U << fz_below(t, 13)) - 1;
}

/*
 * A framing for a table slot: small and valid, one field at a boundary, or
 * random. Valid framings that are not small become invalid (reserved set):
 * big pools are for temporary fds (fz_big()).
 */
static void fz_gen_framing(struct fz_thread *t, struct ksalloc_framing *f)
{
	__u32 mode = fz_below(t, 100), v;

	fz_small_framing(t, f);
	if (mode < 45)
		return;
	if (mode < 85) {
		v = fz_u32(t);
		switch (fz_below(t, 8)) {
		case 0:
			f->reserved = v ? v : 1;
			break;
		case 1:
			f->options = v | FZ_BIT(1 + fz_below(t, 31));
			break;
		case 2:
			f->pool_type = v < 2 ? 2 + v : v;
			break;
		case 3:
			f->frames = v;
			break;
		case 4:
			f->frame_size = v;
			break;
		case 5:
			f->alignment = v;
			break;
		case 6:
			/* Over the quota, or just at it. */
			f->frames = KSALLOC_MAX_FRAMES - fz_below(t, 2);
			f->frame_size = 4096 << fz_below(t, 4);
			break;
		default:
			f->frames = v;
			f->frame_size = fz_u32(t);
			break;
		}
	} else {
		f->options = fz_chance(t, 1, 2) ? fz_u32(t) : f->options;
		f->pool_type = fz_chance(t, 1, 2) ? fz_u32(t) : f->pool_type;
		f->frames = fz_u32(t);
		f->frame_size = fz_u32(t);
		f->alignment = fz_chance(t, 1, 2) ? fz_u32(t) : f->alignment;
		f->reserved = fz_chance(t, 1, 4) ? fz_u32(t) : 0;
	}
	if (!fz_framing_errno(f) && (f->frames > FZ_MAX_FRAMES ||
				     (unsigned long long)f->frames * f->frame_size > (256 << 10)))
		f->reserved = 1;
}

/* An ioctl number nobody handles: ksalloc's magic, the capture's, or another. */
static unsigned long fz_unknown_cmd(struct fz_thread *t)
{
	/* Handled by the VFS itself, before the driver: FIO*, FI*, FS_IOC_*. */
	static const unsigned int vfs_types[] = { 0x00, 0x15, 'T', 'X', 'f', 0x94 };
	unsigned long cmd;
	unsigned int i, type;

	for (;;) {
		switch (fz_below(t, 4)) {
		case 0:
			type = KSALLOC_IOC_MAGIC;
			break;
		case 1:
			type = KSALLOC_CAPTURE_IOC_MAGIC;
			break;
		default:
			type = fz_below(t, 256);
			break;
		}
		if (fz_chance(t, 1, 8))
			cmd = (__u32)fz_rand(t);
		else
			cmd = _IOC(fz_below(t, 4), type, fz_chance(t, 1, 2) ? fz_below(t, 8) :
				   fz_below(t, 256), fz_chance(t, 1, 2) ? fz_below(t, 64) :
				   fz_below(t, _IOC_SIZEMASK + 1));
		type = _IOC_TYPE(cmd);
		for (i = 0; i < ARRAY_SIZE(vfs_types); i++)
			if (type == vfs_types[i])
				break;
		if (i < ARRAY_SIZE(vfs_types))
			continue;
		if (cmd == KSALLOC_IOC_SET_FRAMING || cmd == KSALLOC_IOC_GET_STATUS ||
		    cmd == KSALLOC_IOC_ALLOC_FRAME || cmd == KSALLOC_IOC_FREE_FRAME ||
		    cmd == KSALLOC_IOC_ALLOC_FRAME2 || cmd == KSALLOC_IOC_EXPORT_FRAME ||
		    cmd == KSALLOC_CAPTURE_IOC_SET_ALLOCATOR ||
		    cmd == KSALLOC_CAPTURE_IOC_SET_FORMAT ||
		    cmd == KSALLOC_CAPTURE_IOC_STREAMON ||
		    cmd == KSALLOC_CAPTURE_IOC_STREAMOFF ||
		    cmd == KSALLOC_CAPTURE_IOC_GET_COUNTERS ||
		    cmd == KSALLOC_CAPTURE_IOC_DEQUEUE_FRAME ||
		    cmd == KSALLOC_CAPTURE_IOC_RETURN_FRAME)
			continue;
		return cmd;
	}
}

/* A real command's type and number with another size or direction. */
static unsigned long fz_badsize_cmd(struct fz_thread *t, bool capture)
{
	static const unsigned long ks[] = {
		KSALLOC_IOC_SET_FRAMING, KSALLOC_IOC_GET_STATUS,
		KSALLOC_IOC_ALLOC_FRAME, KSALLOC_IOC_FREE_FRAME, KSALLOC_IOC_ALLOC_FRAME2,
	};
	static const unsigned long cap[] = {
		KSALLOC_CAPTURE_IOC_SET_ALLOCATOR, KSALLOC_CAPTURE_IOC_SET_FORMAT,
		KSALLOC_CAPTURE_IOC_STREAMON, KSALLOC_CAPTURE_IOC_STREAMOFF,
		KSALLOC_CAPTURE_IOC_GET_COUNTERS, KSALLOC_CAPTURE_IOC_DEQUEUE_FRAME,
		KSALLOC_CAPTURE_IOC_RETURN_FRAME,
	};
	unsigned long real, cmd;
	unsigned int dir, size;

	real = capture ? cap[fz_below(t, ARRAY_SIZE(cap))] : ks[fz_below(t, ARRAY_SIZE(ks))];
	do {
		dir = _IOC_DIR(real);
		size = _IOC_SIZE(real);
		switch (fz_below(t, 3)) {
		case 0:
			dir = fz_below(t, 4);
			break;
		case 1:
			size = fz_chance(t, 1, 2) ? size + 8 * fz_below(t, 5) - 16 :
				fz_below(t, _IOC_SIZEMASK + 1);
			break;
		default:
			dir = fz_below(t, 4);
			size = fz_below(t, 128);
			break;
		}
		cmd = _IOC(dir, _IOC_TYPE(real), _IOC_NR(real), size & _IOC_SIZEMASK);
	} while (cmd == real);
	return cmd;
}

/* Is @h among the handles the slot holds? Its index, or -1. */
static int fz_held_index(const struct fz_slot *s, __u64 h)
{
	unsigned int i;

	for (i = 0; i < s->nheld; i++)
		if (s->held[i] == h)
			return i;
	return -1;
}

static void fz_forget_handle(struct fz_slot *s, unsigned int i)
{
	s->stale[s->nstale++ % FZ_STALE] = s->held[i];
	s->held[i] = s->held[--s->nheld];
}

static void fz_slot_reset(struct fz_slot *s)
{
	s->framed = false;
	s->captured = false;
	memset(&s->framing, 0, sizeof(s->framing));
	s->nheld = 0;
	s->nstale = 0;
	s->total_min = 0;
	s->total_max = 0;
	s->failed_min = 0;
	s->failed_max = 0;
}

/*
 * GET_STATUS against the bookkeeping of a slot we own (@exact) or share;
 * @end: checked at the end of the run, with its own categories.
 */
static void fz_check_status(struct fz_thread *t, struct fz_slot *s,
			    const struct ksalloc_status *st, bool exact, bool end)
{
	static const struct ksalloc_framing zero;
	enum fz_cat cat = end ? V_END_HELD : V_STATUS;
	__u32 frames = s->framed ? s->framing.frames : 0;

	if (exact && s->framed && memcmp(&st->framing, &s->framing, sizeof(zero)))
		fz_violation(t, cat, "fd %d: status framing {%u %u %u %u %u %u} is not the one set",
			     s->fd, st->framing.options, st->framing.pool_type, st->framing.frames,
			     st->framing.frame_size, st->framing.alignment, st->framing.reserved);
	if (exact && !s->framed && (memcmp(&st->framing, &zero, sizeof(zero)) ||
				    st->allocated_frames || st->peak_allocated_frames ||
				    st->total_allocations || st->failed_allocations))
		fz_violation(t, cat, "fd %d: unframed allocator, status not zero", s->fd);
	if (!exact) {
		/*
		 * Racing readers: another thread's SET_FRAMING may succeed after
		 * the call and be recorded before we look, so the framing is 0
		 * or valid, and the one recorded if it shows (the caller checks
		 * that one recorded before the call shows).
		 */
		bool shown = memcmp(&st->framing, &zero, sizeof(zero));

		if (shown && fz_framing_errno(&st->framing))
			fz_violation(t, cat, "fd %d: status framing is invalid", s->fd);
		if (shown && s->framed && memcmp(&st->framing, &s->framing, sizeof(zero)))
			fz_violation(t, cat, "fd %d: status framing is not the one set", s->fd);
		frames = st->framing.frames;
	}
	if (st->allocated_frames > frames || st->peak_allocated_frames > frames ||
	    st->peak_allocated_frames < st->allocated_frames)
		fz_violation(t, cat, "fd %d: allocated %u, peak %u, frames %u", s->fd,
			     st->allocated_frames, st->peak_allocated_frames, frames);
	if (st->misuse_events)
		fz_violation(t, cat, "fd %d: misuse_events %u from user space calls", s->fd,
			     st->misuse_events);
	if (st->waiters > (exact ? 0 : fz.threads))
		fz_violation(t, cat, "fd %d: %u waiters", s->fd, st->waiters);
	if (!exact)
		return;
	/* At the end the streams are closed: their frames are back. */
	if (s->captured && !end ? st->allocated_frames < s->nheld :
	    st->allocated_frames != s->nheld)
		fz_violation(t, cat, "fd %d: allocated_frames %u, the fuzzer holds %u%s", s->fd,
			     st->allocated_frames, s->nheld, s->captured ? " (+ a stream's)" : "");
	cat = end ? V_END_COUNT : V_STATUS;
	if (st->total_allocations < s->total_min ||
	    (!s->captured && st->total_allocations > s->total_max))
		fz_violation(t, cat, "fd %d: total_allocations %llu, counted %llu..%llu%s", s->fd,
			     (unsigned long long)st->total_allocations,
			     (unsigned long long)s->total_min, (unsigned long long)s->total_max,
			     s->captured ? "+" : "");
	if (st->failed_allocations < s->failed_min ||
	    (!s->captured && st->failed_allocations > s->failed_max))
		fz_violation(t, cat, "fd %d: failed_allocations %llu, counted %llu..%llu%s", s->fd,
			     (unsigned long long)st->failed_allocations,
			     (unsigned long long)s->failed_min, (unsigned long long)s->failed_max,
			     s->captured ? "+" : "");
}

/* Exclusive calls: the caller holds the slot's write lock; @fd is its fd or a dup. */

static void fz_x_set_framing(struct fz_thread *t, struct fz_slot *s, int fd)
{
	enum fz_ptr p = fz_pick_ptr(t, 85, true);
	struct ksalloc_framing f, *arg;
	unsigned int allowed;
	long ret;
	int err;

	fz_gen_framing(t, &f);
	err = fz_framing_errno(&f);
	arg = fz_ptr(t, p, sizeof(f));
	if (p == P_GOOD)
		*arg = f;
	else if (p == P_RO)
		err = -EINVAL;	/* zeros: no frames */
	if (p != P_GOOD && p != P_RO)
		allowed = FZ_EFAULT;
	else if (err)
		allowed = fz_errno_bit(err);
	else
		allowed = s->framed ? 0 : FZ_OK;
	/* Whether a framing is checked before "already set" is not documented. */
	if (s->framed)
		allowed |= FZ_EBUSY;
	ret = fz_ioctl(t, K_SET_FRAMING, fd, KSALLOC_IOC_SET_FRAMING, arg);
	fz_expect(t, V_IOCTL, ret, allowed,
		  "SET_FRAMING (%s) {%#x %#x %u %u %#x %#x} framed %d", fz_ptr_name[p],
		  f.options, f.pool_type, f.frames, f.frame_size, f.alignment, f.reserved,
		  s->framed);
	if (!ret && p == P_GOOD && !err && !s->framed) {
		s->framed = true;
		s->framing = f;
	}
}

static void fz_x_get_status(struct fz_thread *t, struct fz_slot *s, int fd)
{
	enum fz_ptr p = fz_pick_ptr(t, 85, true);
	struct ksalloc_status *st = fz_ptr(t, p, sizeof(*st));
	long ret;

	if (p == P_GOOD)
		memset(st, 0xa5, sizeof(*st));
	ret = fz_ioctl(t, K_GET_STATUS, fd, KSALLOC_IOC_GET_STATUS, st);
	if (fz_expect(t, V_IOCTL, ret, p == P_GOOD ? FZ_OK : FZ_EFAULT, "GET_STATUS (%s)",
		      fz_ptr_name[p]) && p == P_GOOD)
		fz_check_status(t, s, st, true, false);
}

static void fz_x_free(struct fz_thread *t, struct fz_slot *s, int fd);

static void fz_x_alloc(struct fz_thread *t, struct fz_slot *s, int fd)
{
	unsigned int v = fz_below(t, 100), allowed;
	bool full, ro, bad, flags, timed = false;
	/* ALLOC_FRAME2: the same, and where the frame is in the mapping. */
	bool two = fz_chance(t, 1, 4);
	bool unmappable = two && s->framed && !fz_page_backed(&s->framing);
	struct ksalloc_mapped_frame *m;
	struct ksalloc_frame_handle *h;
	enum fz_ptr p = P_GOOD;
	long ret;
	int i;

	full = s->framed && s->nheld >= s->framing.frames;
	if (v >= 95)
		p = P_RO;
	else if (v >= 80)
		p = fz_pick_ptr(t, 0, false);
	ro = p == P_RO;
	bad = p != P_GOOD && !ro;
	flags = v >= 70 && v < 80;
	if (p == P_GOOD && !flags && s->nheld >= FZ_MAX_FRAMES)
		flags = true;	/* never more handles than we can hold */
	if (!s->nonblock && s->framed && !bad && !flags && !unmappable && (full || s->captured)) {
		/* It could wait for a frame nobody frees: rarely, under the timer. */
		if (!fz_chance(t, 1, 8)) {
			fz_x_free(t, s, fd);
			return;
		}
		timed = true;
	}
	h = fz_ptr(t, p, two ? sizeof(*m) : sizeof(*h));
	m = (void *)h;
	if (p == P_GOOD && two) {
		m->handle = fz_rand(t);		/* ignored on input */
		m->offset = fz_rand(t);		/* ignored on input */
		m->flags = 0;
		m->reserved = 0;
		if (flags && fz_chance(t, 1, 2))
			m->flags = fz_u32(t) | 1U << fz_below(t, 32);
		else if (flags)
			m->reserved = fz_u32(t) | 1U << fz_below(t, 32);
	} else if (p == P_GOOD) {
		h->handle = fz_rand(t);		/* ignored on input */
		h->flags = 0;
		h->reserved = 0;
		if (flags && fz_chance(t, 1, 2))
			h->flags = fz_u32(t) | 1U << fz_below(t, 32);
		else if (flags)
			h->reserved = fz_u32(t) | 1U << fz_below(t, 32);
	}
	if (bad)
		allowed = FZ_EFAULT;
	else if (flags)
		allowed = FZ_EINVAL | (s->framed ? 0 : FZ_EBADFD);
	else if (!s->framed)
		allowed = FZ_EBADFD;
	else if (unmappable)
		allowed = FZ_ENODEV;
	else if (s->captured)
		allowed = FZ_OK | (s->nonblock ? FZ_EAGAIN : FZ_EINTR);
	else if (full)
		allowed = s->nonblock ? FZ_EAGAIN : FZ_EINTR;
	else
		allowed = FZ_OK;
	/* A frame it cannot write the handle back for: taken and returned. */
	if (ro && s->framed && !unmappable) {
		allowed |= FZ_EFAULT;
		allowed &= ~FZ_OK;
	}
	if (timed)
		fz_arm(t);
	ret = fz_ioctl(t, K_ALLOC, fd, two ? KSALLOC_IOC_ALLOC_FRAME2 : KSALLOC_IOC_ALLOC_FRAME, h);
	if (timed)
		fz_disarm(t);
	fz_expect(t, V_IOCTL, ret, allowed,
		  "ALLOC_FRAME%s (%s%s) framed %d frames %u held %u nonblock %d captured %d",
		  two ? "2" : "", fz_ptr_name[p], flags ? ", flags/reserved" : "", s->framed,
		  s->framing.frames, s->nheld, s->nonblock, s->captured);
	if (ret == -EAGAIN) {
		s->failed_min++;
		s->failed_max++;
	} else if (ret == -EFAULT && ro) {
		s->total_max++;
		s->failed_max++;
	}
	if (ret || p != P_GOOD || flags)
		return;
	s->total_min++;
	s->total_max++;
	if (two && (m->offset % fz.page_size || m->flags || m->reserved ||
		    m->offset >= s->framing.frames * fz_stride(&s->framing)))
		fz_violation(t, V_IOCTL,
			     "ALLOC_FRAME2 offset %#llx flags %#x reserved %#x, %u frames of %u",
			     (unsigned long long)m->offset, m->flags, m->reserved,
			     s->framing.frames, s->framing.frame_size);
	i = fz_held_index(s, h->handle);
	if (!h->handle || i >= 0 || s->nheld >= FZ_MAX_FRAMES) {
		fz_violation(t, V_IOCTL, "ALLOC_FRAME handle %#llx: zero or held (%u held)",
			     (unsigned long long)h->handle, s->nheld);
		return;
	}
	s->held[s->nheld++] = h->handle;
}

/*
 * A handle to free: held, stale (freed, maybe taken again since), 0, small,
 * random, ~0, a held one bit-flipped. A number guessed that happens to be
 * held is moved off it: handle values are the kernel's, and which frees
 * succeed must not depend on them, or one thread would not make the same
 * calls on every run of a seed.
 */
static __u64 fz_pick_handle(struct fz_thread *t, const struct fz_slot *s)
{
	unsigned int r = fz_below(t, 100);
	__u64 h;

	if (r < 50 && s->nheld)
		return s->held[fz_below(t, s->nheld)];
	if (r < 60 && s->nstale)
		return s->stale[fz_below(t, s->nstale < FZ_STALE ? s->nstale : FZ_STALE)];
	if (r < 68)
		return 0;
	if (r < 80)
		h = 1 + fz_below(t, s->framing.frames + 2);
	else if (r < 88)
		h = fz_rand(t);
	else if (r < 92)
		h = ~0ULL;
	else if (s->nheld)
		h = s->held[fz_below(t, s->nheld)] ^ (1ULL << fz_below(t, 64));
	else
		h = 1ULL << fz_below(t, 64);
	while (h && fz_held_index(s, h) >= 0)
		h++;
	return h;
}

static void fz_x_free(struct fz_thread *t, struct fz_slot *s, int fd)
{
	unsigned int v = fz_below(t, 100), allowed;
	struct ksalloc_frame_handle *h;
	enum fz_ptr p = P_GOOD;
	__u64 handle = fz_pick_handle(t, s);
	bool flags = v >= 80 && v < 88;
	long ret;
	int i;

	if (v >= 96)
		p = P_RO;
	else if (v >= 88)
		p = fz_pick_ptr(t, 0, false);
	h = fz_ptr(t, p, sizeof(*h));
	if (p == P_GOOD) {
		h->handle = handle;
		h->flags = 0;
		h->reserved = 0;
		if (flags && fz_chance(t, 1, 2))
			h->flags = fz_u32(t) | 1U << fz_below(t, 32);
		else if (flags)
			h->reserved = fz_u32(t) | 1U << fz_below(t, 32);
	} else if (p == P_RO) {
		handle = 0;
	}
	i = fz_held_index(s, handle);
	if (p != P_GOOD && p != P_RO)
		allowed = FZ_EFAULT;
	else if (flags || !handle)
		allowed = FZ_EINVAL | (s->framed ? 0 : FZ_EBADFD);
	else if (!s->framed)
		allowed = FZ_EBADFD;
	else if (i >= 0)
		allowed = FZ_OK;
	else
		allowed = FZ_EINVAL | FZ_ENOENT;
	ret = fz_ioctl(t, K_FREE, fd, KSALLOC_IOC_FREE_FRAME, h);
	fz_expect(t, V_IOCTL, ret, allowed,
		  "FREE_FRAME (%s%s) handle %#llx, held %d, framed %d",
		  fz_ptr_name[p], flags ? ", flags/reserved" : "", (unsigned long long)handle,
		  i >= 0, s->framed);
	if (!ret && i >= 0 && p == P_GOOD && !flags)
		fz_forget_handle(s, i);
}

static void fz_x_unknown(struct fz_thread *t, int fd, bool badsize, enum fz_cat cat,
			 enum fz_kind kind, unsigned int also)
{
	enum fz_ptr p = fz_pick_ptr(t, 50, true);
	unsigned long cmd = badsize ? fz_badsize_cmd(t, cat == V_CAP) : fz_unknown_cmd(t);
	void *arg = fz_ptr(t, p, 64);
	long ret;

	if (p == P_GOOD)
		memset(arg, 0, fz.page_size);
	ret = fz_ioctl(t, kind, fd, cmd, arg);
	fz_expect(t, cat, ret, FZ_ENOTTY | also, "%s cmd %#lx (%s)",
		  badsize ? "wrong-size" : "unknown", cmd, fz_ptr_name[p]);
}

static short fz_poll_events(struct fz_thread *t)
{
	static const short ev[] = { POLLIN, POLLRDNORM, POLLOUT, POLLPRI, POLLWRNORM };
	short events = POLLIN | POLLRDNORM;
	unsigned int i;

	if (fz_chance(t, 1, 2))
		return events;
	events = 0;
	for (i = 0; i < ARRAY_SIZE(ev); i++)
		if (fz_chance(t, 1, 2))
			events |= ev[i];
	return events;
}

/* poll() of the allocator, a closed number and a negative fd. */
static void fz_x_poll(struct fz_thread *t, struct fz_slot *s, int fd)
{
	struct pollfd p[3];
	unsigned int n = 1 + fz_below(t, 3), i, ready = 0;
	bool free_frames = s->framed && s->nheld < s->framing.frames;
	int timeout = 0;
	short want;
	long ret;

	p[0] = (struct pollfd){ .fd = fd, .events = fz_poll_events(t) };
	p[1] = (struct pollfd){ .fd = FZ_CLOSED_FD + fz_below(t, FZ_CLOSED_FD),
				.events = fz_poll_events(t) };
	p[2] = (struct pollfd){ .fd = -1 - (int)fz_below(t, 100), .events = POLLIN };
	want = free_frames ? p[0].events & (POLLIN | POLLRDNORM) : 0;
	if (!want && !s->captured && fz_chance(t, 1, 50))
		timeout = 1;	/* a real wait, with nothing to wake it */
	ret = fz_poll(t, K_POLL, p, n, timeout);
	if (!fz_expect(t, V_POLL, ret, FZ_OK, "poll of %u fds", n))
		return;
	for (i = 0; i < n; i++)
		ready += !!p[i].revents;
	if (ret != (long)ready)
		fz_violation(t, V_POLL, "poll returned %ld, %u fds have revents", ret, ready);
	if (s->captured ? p[0].revents && p[0].revents != (p[0].events & (POLLIN | POLLRDNORM)) :
	    p[0].revents != want)
		fz_violation(t, V_POLL, "poll %#x: revents %#x, want %#x (framed %d held %u/%u)",
			     p[0].events, p[0].revents, want, s->framed, s->nheld,
			     s->framing.frames);
	if (n > 1 && p[1].revents != POLLNVAL)
		fz_violation(t, V_POLL, "poll of closed fd %d: revents %#x", p[1].fd,
			     p[1].revents);
	if (n > 2 && p[2].revents)
		fz_violation(t, V_POLL, "poll of fd %d: revents %#x", p[2].fd, p[2].revents);
}

/*
 * read, write, lseek: no such operations on an allocator. mmap: of a first
 * page, which every pool has; MAP_SHARED maps a page-backed pool, and the
 * framing (or none) may change meanwhile.
 */
static void fz_x_rwmap(struct fz_thread *t, struct fz_slot *s, int fd)
{
	size_t len = fz_below(t, 64);
	unsigned int allowed, pages, off, n;
	bool shared, exec;
	void *map;
	long ret;

	switch (fz_below(t, 4)) {
	case 0:
		fz_begin(t, K_RWMAP, fd, 0);
		ret = fz_count(t, K_RWMAP, read(fd, t->rw, len) < 0 ? -errno : 0);
		fz_expect(t, V_SYS, ret, s->accmode == O_WRONLY ? FZ_EBADF : FZ_EINVAL,
			  "read(%zu) of an allocator", len);
		break;
	case 1:
		fz_begin(t, K_RWMAP, fd, 1);
		ret = fz_count(t, K_RWMAP, write(fd, t->rw, len) < 0 ? -errno : 0);
		fz_expect(t, V_SYS, ret, s->accmode == O_RDONLY ? FZ_EBADF : FZ_EINVAL,
			  "write(%zu) to an allocator", len);
		break;
	case 2:
		fz_begin(t, K_RWMAP, fd, 2);
		shared = fz_chance(t, 3, 4);
		exec = fz_chance(t, 1, 8);
		pages = s->framed ? s->framing.frames * fz_stride(&s->framing) / fz.page_size : 1;
		/* Mostly within the pool, at times one page beyond. */
		off = fz_below(t, pages + 1);
		n = 1 + fz_below(t, fz_chance(t, 1, 2) ? 2 : pages + 1);
		if (n > 64)
			n = 64;
		map = mmap(NULL, n * fz.page_size, PROT_READ | (exec ? PROT_EXEC : 0),
			   shared ? MAP_SHARED : MAP_PRIVATE, fd, (off_t)off * fz.page_size);
		ret = fz_count(t, K_RWMAP, map == MAP_FAILED ? -errno : 0);
		if (s->accmode == O_WRONLY)
			allowed = FZ_EACCES;
		else if (!shared)
			allowed = FZ_EINVAL;
		else if (exec)
			allowed = FZ_EPERM;
		else if (!s->framed)
			allowed = FZ_EBADFD;
		else if (!fz_page_backed(&s->framing))
			allowed = FZ_ENODEV;
		else if (off + n > pages)
			allowed = FZ_ENXIO;
		else
			allowed = FZ_OK;
		fz_expect(t, V_SYS, ret, allowed,
			  "mmap of an allocator: %s%s, pages %u at %u of %u, framed %d",
			  shared ? "shared" : "private", exec ? ", exec" : "", n, off, pages,
			  s->framed);
		if (map != MAP_FAILED)
			munmap(map, n * fz.page_size);
		break;
	default:
		fz_begin(t, K_RWMAP, fd, 3);
		ret = fz_count(t, K_RWMAP, lseek(fd, fz_below(t, 1 << 20), SEEK_SET) < 0 ?
			       -errno : 0);
		fz_expect(t, V_SYS, ret, FZ_OK, "lseek of an allocator");
		break;
	}
}

static void fz_x_fcntl(struct fz_thread *t, struct fz_slot *s, int fd)
{
	long flags;

	fz_begin(t, K_FCNTL, fd, F_GETFL);
	flags = fcntl(fd, F_GETFL);
	flags = fz_count(t, K_FCNTL, flags < 0 ? -errno : flags);
	if (!fz_expect(t, V_SYS, flags, FZ_OK, "F_GETFL"))
		return;
	if (!!(flags & O_NONBLOCK) != s->nonblock || (flags & O_ACCMODE) != s->accmode)
		fz_violation(t, V_SYS, "F_GETFL %#lx: O_NONBLOCK %d, access mode %d expected",
			     flags, s->nonblock, s->accmode);
	/* A shared slot's readers decide on O_NONBLOCK without the write lock. */
	if (s->shared || fz_chance(t, 1, 2))
		return;
	flags ^= O_NONBLOCK;
	fz_begin(t, K_FCNTL, fd, F_SETFL);
	if (fz_expect(t, V_SYS, fz_count(t, K_FCNTL, fcntl(fd, F_SETFL, flags) ? -errno : 0),
		      FZ_OK, "F_SETFL"))
		s->nonblock = !!(flags & O_NONBLOCK);
}

static void fz_slot_open(struct fz_thread *t, struct fz_slot *s)
{
	static const int modes[] = { O_RDWR, O_RDWR, O_RDWR, O_RDONLY, O_WRONLY };
	int flags, fd, bad = fz_below(t, 20);
	struct ksalloc_framing f;
	long ret;

	flags = modes[fz_below(t, ARRAY_SIZE(modes))] | O_CLOEXEC;
	s->shared = fz_chance(t, 1, 3);
	s->nonblock = s->shared ? fz_chance(t, 1, 2) : fz_chance(t, 3, 4);
	if (s->nonblock)
		flags |= O_NONBLOCK;
	if (fz_chance(t, 1, 4))
		flags |= fz_chance(t, 1, 2) ? O_NOCTTY : O_APPEND;
	if (bad == 0) {
		/* An open that must fail: the slot stays closed. */
		fz_begin(t, K_OPEN, -1, 0);
		ret = fz_count(t, K_OPEN, open(KSALLOC_DEV, flags | O_DIRECTORY) < 0 ? -errno : 0);
		fz_expect(t, V_SYS, ret, FZ_ENOTDIR, "open(O_DIRECTORY)");
		return;
	}
	if (bad == 1) {
		fz_begin(t, K_OPEN, -1, 0);
		ret = fz_count(t, K_OPEN, open(KSALLOC_DEV, flags | O_CREAT | O_EXCL, 0600) < 0 ?
			       -errno : 0);
		fz_expect(t, V_SYS, ret, FZ_EEXIST, "open(O_CREAT | O_EXCL)");
		return;
	}
	fz_begin(t, K_OPEN, -1, 0);
	fd = open(KSALLOC_DEV, flags);
	fz_count(t, K_OPEN, fd < 0 ? -errno : 0);
	if (fd < 0) {
		fz_violation(t, V_SYS, "open %s: %s", KSALLOC_DEV, strerror(errno));
		return;
	}
	if (fd >= FZ_RACY_FD_MAX)
		fz_violation(t, V_SYS, "open gave fd %d: too many fds open", fd);
	fz_slot_reset(s);
	s->fd = fd;
	s->accmode = flags & O_ACCMODE;
	s->state = FZ_OPEN;
	if (fz_chance(t, 1, 2)) {
		/* Most allocators get a framing at once. */
		fz_small_framing(t, &f);
		*(struct ksalloc_framing *)t->rw = f;
		ret = fz_ioctl(t, K_SET_FRAMING, fd, KSALLOC_IOC_SET_FRAMING, t->rw);
		if (fz_expect(t, V_IOCTL, ret, FZ_OK, "SET_FRAMING {%#x %u %u %u %#x} after open",
			      f.options, f.pool_type, f.frames, f.frame_size, f.alignment)) {
			s->framed = true;
			s->framing = f;
		}
	}
}

/* Close the allocator, or put /dev/null in its place. */
static void fz_x_close(struct fz_thread *t, struct fz_slot *s)
{
	long ret;

	if (fz_chance(t, 2, 3)) {
		ret = fz_close(t, s->fd);
		fz_expect(t, V_SYS, ret, FZ_OK, "close of an allocator (%u frames held)", s->nheld);
		s->state = FZ_CLOSED;
		s->fd = -1;
	} else {
		fz_begin(t, K_DUP, s->fd, 0);
		ret = fz_count(t, K_DUP, dup2(fz.null_fd, s->fd) < 0 ? -errno : 0);
		fz_expect(t, V_SYS, ret, FZ_OK, "dup2 of /dev/null over an allocator");
		s->state = FZ_NULL;
	}
	fz_slot_reset(s);
}

/* A call through a dup() of the fd: the same file, the same allocator. */
static void fz_x_dup(struct fz_thread *t, struct fz_slot *s)
{
	int fd;

	fz_begin(t, K_DUP, s->fd, 0);
	fd = dup(s->fd);
	if (!fz_expect(t, V_SYS, fz_count(t, K_DUP, fd < 0 ? -errno : 0), FZ_OK, "dup"))
		return;
	switch (fz_below(t, 3)) {
	case 0:
		fz_x_get_status(t, s, fd);
		break;
	case 1:
		fz_x_alloc(t, s, fd);
		break;
	default:
		fz_x_free(t, s, fd);
		break;
	}
	fz_expect(t, V_SYS, fz_close(t, fd), FZ_OK, "close of a dup");
}

/* One call on a slot we own (write lock). */
static void fz_exclusive(struct fz_thread *t, struct fz_slot *s)
{
	enum { SET, STATUS, ALLOC, FREE, UNKNOWN, BADSIZE, POLL, CLOSE, FCNTL, DUP, RWMAP };
	/*
	 * An allocator's life (open, framing, release) costs ~90 ms on the
	 * debug kernel, where an ioctl costs 20-70 us: closes are rare. So are
	 * dup and fcntl, whose calls cost more than a plain ioctl there.
	 */
	unsigned int w[] = {
		[SET] = s->framed ? 600 : 3000, [STATUS] = 1200, [ALLOC] = 2400,
		[FREE] = 2200, [UNKNOWN] = 600, [BADSIZE] = 600, [POLL] = 600,
		[CLOSE] = 3, [FCNTL] = 50, [DUP] = 50, [RWMAP] = 150,
	};

	if (s->state == FZ_NULL) {
		fz_expect(t, V_SYS, fz_close(t, s->fd), FZ_OK, "close of /dev/null");
		s->state = FZ_CLOSED;
		s->fd = -1;
		return;
	}
	if (s->state == FZ_CLOSED) {
		fz_slot_open(t, s);
		return;
	}
	switch (fz_pick(t, w, ARRAY_SIZE(w))) {
	case SET:
		fz_x_set_framing(t, s, s->fd);
		break;
	case STATUS:
		fz_x_get_status(t, s, s->fd);
		break;
	case ALLOC:
		fz_x_alloc(t, s, s->fd);
		break;
	case FREE:
		fz_x_free(t, s, s->fd);
		break;
	case UNKNOWN:
		fz_x_unknown(t, s->fd, false, V_IOCTL, K_UNKNOWN, 0);
		break;
	case BADSIZE:
		fz_x_unknown(t, s->fd, true, V_IOCTL, K_BADSIZE, 0);
		break;
	case POLL:
		fz_x_poll(t, s, s->fd);
		break;
	case CLOSE:
		fz_x_close(t, s);
		break;
	case FCNTL:
		fz_x_fcntl(t, s, s->fd);
		break;
	case DUP:
		fz_x_dup(t, s);
		break;
	default:
		fz_x_rwmap(t, s, s->fd);
		break;
	}
}

/*
 * Shared calls: the caller holds the slot's read lock, other threads call
 * into the same allocator meanwhile, and one may retire it (dup2 of
 * /dev/null, under @book, bumping @gen first). A call that saw @gen change
 * may have reached either file: ENOTTY is then allowed too, and its result
 * does not enter the bookkeeping.
 */
struct fz_snap {
	bool null;
	bool framed;
	unsigned int gen;
	__u32 frames;
	struct ksalloc_framing framing;
};

static void fz_snap(struct fz_slot *s, struct fz_snap *sn)
{
	pthread_mutex_lock(&s->book);
	sn->null = s->state == FZ_NULL;
	sn->framed = s->framed;
	sn->gen = s->gen;
	sn->frames = s->framing.frames;
	sn->framing = s->framing;
	pthread_mutex_unlock(&s->book);
}

/* Locks @book if the allocator is still the one of @sn; false (unlocked) if not. */
static bool fz_book_lock(struct fz_slot *s, const struct fz_snap *sn)
{
	pthread_mutex_lock(&s->book);
	if (s->gen == sn->gen && !sn->null)
		return true;
	pthread_mutex_unlock(&s->book);
	return false;
}

static bool fz_raced(struct fz_slot *s, const struct fz_snap *sn)
{
	return __atomic_load_n(&s->gen, __ATOMIC_SEQ_CST) != sn->gen;
}

static unsigned int fz_s_allowed(struct fz_slot *s, const struct fz_snap *sn,
				 unsigned int allowed)
{
	if (sn->null)
		return FZ_ENOTTY;
	return allowed | (fz_raced(s, sn) ? FZ_ENOTTY : 0);
}

static void fz_s_set_framing(struct fz_thread *t, struct fz_slot *s, const struct fz_snap *sn)
{
	struct ksalloc_framing f;
	unsigned int allowed;
	long ret;
	int err;

	if (fz_chance(t, 1, 2))
		fz_small_framing(t, &f);
	else
		fz_gen_framing(t, &f);
	err = fz_framing_errno(&f);
	*(struct ksalloc_framing *)t->rw = f;
	allowed = err ? fz_errno_bit(err) : sn->framed ? 0 : FZ_OK;
	ret = fz_ioctl(t, K_SET_FRAMING, s->fd, KSALLOC_IOC_SET_FRAMING, t->rw);
	fz_expect(t, V_IOCTL, ret, fz_s_allowed(s, sn, allowed | FZ_EBUSY),
		  "shared SET_FRAMING {%#x %#x %u %u %#x %#x}", f.options, f.pool_type,
		  f.frames, f.frame_size, f.alignment, f.reserved);
	if (ret || err || !fz_book_lock(s, sn))
		return;
	if (s->framed)
		fz_violation(t, V_IOCTL, "shared SET_FRAMING: a second one succeeded");
	s->framed = true;
	s->framing = f;
	pthread_mutex_unlock(&s->book);
}

static void fz_s_get_status(struct fz_thread *t, struct fz_slot *s, const struct fz_snap *sn)
{
	enum fz_ptr p = fz_pick_ptr(t, 90, true);
	struct ksalloc_status *st = fz_ptr(t, p, sizeof(*st));
	long ret;

	ret = fz_ioctl(t, K_GET_STATUS, s->fd, KSALLOC_IOC_GET_STATUS, st);
	if (!fz_expect(t, V_IOCTL, ret, fz_s_allowed(s, sn, p == P_GOOD ? FZ_OK : FZ_EFAULT),
		       "shared GET_STATUS (%s)", fz_ptr_name[p]) ||
	    ret || p != P_GOOD || sn->null || fz_raced(s, sn))
		return;
	pthread_mutex_lock(&s->book);
	fz_check_status(t, s, st, false, false);
	pthread_mutex_unlock(&s->book);
	if (sn->framed && memcmp(&st->framing, &sn->framing, sizeof(sn->framing)))
		fz_violation(t, V_STATUS, "fd %d: framed before the call, status framing differs",
			     s->fd);
}

static void fz_s_free(struct fz_thread *t, struct fz_slot *s, const struct fz_snap *sn);

static void fz_s_alloc(struct fz_thread *t, struct fz_slot *s, const struct fz_snap *sn)
{
	unsigned int v = fz_below(t, 100), allowed;
	struct ksalloc_frame_handle *h;
	enum fz_ptr p = v < 90 ? P_GOOD : fz_pick_ptr(t, 0, false);
	bool flags = v >= 80 && v < 90;
	bool nonblock = s->nonblock;
	long ret;

	/* A blocking fd may wait until the timer: rarely. */
	if (!nonblock && p == P_GOOD && !flags && !fz_chance(t, 1, 4)) {
		fz_s_free(t, s, sn);
		return;
	}
	h = fz_ptr(t, p, sizeof(*h));
	if (p == P_GOOD)
		*h = (struct ksalloc_frame_handle){ .handle = fz_rand(t),
						    .flags = flags ? 1U << fz_below(t, 32) : 0 };
	if (p != P_GOOD)
		allowed = FZ_EFAULT;
	else if (flags)
		allowed = FZ_EINVAL | FZ_EBADFD;
	else
		allowed = FZ_OK | (nonblock ? FZ_EAGAIN : FZ_EINTR) |
			  (sn->framed ? 0 : FZ_EBADFD);
	if (!nonblock)
		fz_arm(t);
	ret = fz_ioctl(t, K_ALLOC, s->fd, KSALLOC_IOC_ALLOC_FRAME, h);
	if (!nonblock)
		fz_disarm(t);
	fz_expect(t, V_IOCTL, ret, fz_s_allowed(s, sn, allowed),
		  "shared ALLOC_FRAME (%s%s) nonblock %d", fz_ptr_name[p],
		  flags ? ", flags" : "", nonblock);
	if ((ret && ret != -EAGAIN) || p != P_GOOD || flags || !fz_book_lock(s, sn))
		return;
	if (ret) {
		s->failed_min++;
		s->failed_max++;
	} else if (!h->handle || fz_held_index(s, h->handle) >= 0 || s->nheld >= FZ_MAX_FRAMES) {
		fz_violation(t, V_IOCTL, "shared ALLOC_FRAME handle %#llx: zero or held twice",
			     (unsigned long long)h->handle);
	} else {
		s->total_min++;
		s->total_max++;
		s->held[s->nheld++] = h->handle;
	}
	pthread_mutex_unlock(&s->book);
}

static void fz_s_free(struct fz_thread *t, struct fz_slot *s, const struct fz_snap *sn)
{
	unsigned int v = fz_below(t, 100), allowed;
	struct ksalloc_frame_handle *h = (void *)t->rw;
	__u64 handle = 0;
	bool mine = false;
	long ret;

	/* Only our own handles: any other may be one another thread holds. */
	if (v < 80 && fz_book_lock(s, sn)) {
		if (s->nheld) {
			v = fz_below(t, s->nheld);
			handle = s->held[v];
			s->held[v] = s->held[--s->nheld];
			mine = true;
		}
		pthread_mutex_unlock(&s->book);
	}
	if (mine) {
		*h = (struct ksalloc_frame_handle){ .handle = handle };
		allowed = FZ_OK;
	} else if (fz_chance(t, 1, 2)) {
		*h = (struct ksalloc_frame_handle){ .handle = 0 };
		allowed = FZ_EINVAL | FZ_EBADFD;
	} else if (fz_chance(t, 1, 2)) {
		*h = (struct ksalloc_frame_handle){ .handle = fz_rand(t),
						    .reserved = 1U << fz_below(t, 32) };
		allowed = FZ_EINVAL | FZ_EBADFD;
	} else {
		h = fz_ptr(t, fz_pick_ptr(t, 0, false), sizeof(*h));
		allowed = FZ_EFAULT;
	}
	ret = fz_ioctl(t, K_FREE, s->fd, KSALLOC_IOC_FREE_FRAME, h);
	if (!fz_expect(t, V_IOCTL, ret, fz_s_allowed(s, sn, allowed),
		       "shared FREE_FRAME of %s handle %#llx", mine ? "a held" : "a bad",
		       (unsigned long long)handle) && mine && fz_book_lock(s, sn)) {
		/* Still ours, as far as we know: the end checks will tell. */
		s->held[s->nheld++] = handle;
		pthread_mutex_unlock(&s->book);
	}
}

static void fz_s_poll(struct fz_thread *t, struct fz_slot *s, const struct fz_snap *sn)
{
	struct pollfd p = { .fd = s->fd, .events = fz_poll_events(t) };
	long ret;

	ret = fz_poll(t, K_POLL, &p, 1, 0);
	if (!fz_expect(t, V_POLL, ret, FZ_OK, "shared poll") || sn->null || fz_raced(s, sn))
		return;
	if (p.revents & ~(p.events & (POLLIN | POLLRDNORM)) || ret != !!p.revents)
		fz_violation(t, V_POLL, "shared poll events %#x: revents %#x, returned %ld",
			     p.events, p.revents, ret);
}

/* Retire the allocator under the other threads' calls: /dev/null takes its number. */
static void fz_s_retire(struct fz_thread *t, struct fz_slot *s)
{
	long ret;

	pthread_mutex_lock(&s->book);
	if (s->state == FZ_OPEN) {
		__atomic_add_fetch(&s->gen, 1, __ATOMIC_SEQ_CST);
		fz_begin(t, K_DUP, s->fd, 0);
		ret = fz_count(t, K_DUP, dup2(fz.null_fd, s->fd) < 0 ? -errno : 0);
		fz_expect(t, V_SYS, ret, FZ_OK, "dup2 of /dev/null over a shared allocator");
		s->state = FZ_NULL;
		fz_slot_reset(s);
	}
	pthread_mutex_unlock(&s->book);
}

static void fz_shared(struct fz_thread *t, struct fz_slot *s)
{
	enum { SET, STATUS, ALLOC, FREE, UNKNOWN, BADSIZE, POLL, RETIRE };
	static const unsigned int w[] = {
		[SET] = 400, [STATUS] = 1000, [ALLOC] = 2600, [FREE] = 2600,
		[UNKNOWN] = 500, [BADSIZE] = 500, [POLL] = 500, [RETIRE] = 2,
	};
	struct fz_snap sn;

	fz_snap(s, &sn);
	switch (fz_pick(t, w, ARRAY_SIZE(w))) {
	case SET:
		fz_s_set_framing(t, s, &sn);
		break;
	case STATUS:
		fz_s_get_status(t, s, &sn);
		break;
	case ALLOC:
		fz_s_alloc(t, s, &sn);
		break;
	case FREE:
		fz_s_free(t, s, &sn);
		break;
	case UNKNOWN:
		fz_x_unknown(t, s->fd, false, V_IOCTL, K_UNKNOWN, 0);
		break;
	case BADSIZE:
		fz_x_unknown(t, s->fd, true, V_IOCTL, K_BADSIZE, 0);
		break;
	case POLL:
		fz_s_poll(t, s, &sn);
		break;
	default:
		fz_s_retire(t, s);
		break;
	}
}

/*
 * A burst of calls on one slot. Threads mostly pick slots of their own
 * (slot % threads == id), so that they wait less on each other's locks, but
 * any thread may take any slot.
 */
static void fz_slot_op(struct fz_thread *t)
{
	unsigned int i = fz_below(t, FZ_SLOTS), n = 1 + fz_below(t, FZ_BURST);
	struct fz_slot *s;
	bool shared;

	if (fz.threads > 1 && fz_chance(t, 3, 4))
		i = t->id + fz.threads * fz_below(t, (FZ_SLOTS - 1 - t->id) / fz.threads + 1);
	s = &fz_slots[i];
	pthread_rwlock_rdlock(&s->rw);
	pthread_mutex_lock(&s->book);
	shared = s->shared && s->state != FZ_CLOSED;
	pthread_mutex_unlock(&s->book);
	if (shared && !fz_chance(t, 1, 16)) {
		while (n--)
			fz_shared(t, s);
		pthread_rwlock_unlock(&s->rw);
		return;
	}
	pthread_rwlock_unlock(&s->rw);
	pthread_rwlock_wrlock(&s->rw);
	do
		fz_exclusive(t, s);
	while (--n && s->state == FZ_OPEN);
	pthread_rwlock_unlock(&s->rw);
}

/*
 * Side-effect-free calls on any low fd number, while other threads open,
 * close and dup2 over them: whatever file the number is at that moment, the
 * call may fail in its way, but never succeed where it must not.
 */
static void fz_racy_op(struct fz_thread *t)
{
	int fd = 3 + fz_below(t, FZ_RACY_FD_MAX - 3), err;
	struct pollfd p[4];
	struct ksalloc_framing *f = (void *)t->rw;
	enum fz_ptr ptr;
	unsigned int i;
	long ret;

	switch (fz_below(t, 6)) {
	case 0:
		ret = fz_ioctl(t, K_RACY, fd, KSALLOC_IOC_GET_STATUS, t->rw);
		fz_expect(t, V_IOCTL, ret, FZ_OK | FZ_ENOTTY | FZ_EBADF, "racy GET_STATUS fd %d",
			  fd);
		break;
	case 1:
		for (;;) {
			fz_gen_framing(t, f);
			err = fz_framing_errno(f);
			if (err)
				break;
		}
		ret = fz_ioctl(t, K_RACY, fd, KSALLOC_IOC_SET_FRAMING, f);
		fz_expect(t, V_IOCTL, ret, fz_errno_bit(err) | FZ_EBUSY | FZ_ENOTTY | FZ_EBADF,
			  "racy invalid SET_FRAMING fd %d {%#x %#x %u %u %#x %#x}", fd, f->options,
			  f->pool_type, f->frames, f->frame_size, f->alignment, f->reserved);
		break;
	case 2:
		ptr = fz_pick_ptr(t, 0, false);
		ret = fz_ioctl(t, K_RACY, fd, fz_chance(t, 1, 2) ? KSALLOC_IOC_ALLOC_FRAME :
			       KSALLOC_IOC_FREE_FRAME, fz_ptr(t, ptr, 16));
		fz_expect(t, V_IOCTL, ret, FZ_EFAULT | FZ_ENOTTY | FZ_EBADF,
			  "racy ALLOC/FREE_FRAME (%s) fd %d", fz_ptr_name[ptr], fd);
		break;
	case 3:
		*(struct ksalloc_frame_handle *)t->rw = (struct ksalloc_frame_handle){
			.handle = fz_rand(t), .flags = 1U << fz_below(t, 32) };
		ret = fz_ioctl(t, K_RACY, fd, fz_chance(t, 1, 2) ? KSALLOC_IOC_ALLOC_FRAME :
			       KSALLOC_IOC_FREE_FRAME, t->rw);
		fz_expect(t, V_IOCTL, ret, FZ_EINVAL | FZ_EBADFD | FZ_ENOTTY | FZ_EBADF,
			  "racy ALLOC/FREE_FRAME with flags, fd %d", fd);
		break;
	case 4:
		fz_x_unknown(t, fd, fz_chance(t, 1, 2), V_IOCTL, K_RACY, FZ_EBADF);
		break;
	default:
		for (i = 0; i < ARRAY_SIZE(p); i++)
			p[i] = (struct pollfd){ .fd = 3 + fz_below(t, FZ_RACY_FD_MAX - 3),
						.events = fz_poll_events(t) };
		ret = fz_poll(t, K_RACY, p, ARRAY_SIZE(p), 0);
		fz_expect(t, V_POLL, ret, FZ_OK, "racy poll");
		break;
	}
}

/* The calls of the table on fds that are no allocator. */
static void fz_badfd_op(struct fz_thread *t)
{
	static const unsigned long cmds[] = {
		KSALLOC_IOC_SET_FRAMING, KSALLOC_IOC_GET_STATUS, KSALLOC_IOC_ALLOC_FRAME,
		KSALLOC_IOC_FREE_FRAME, KSALLOC_CAPTURE_IOC_SET_ALLOCATOR,
		KSALLOC_CAPTURE_IOC_SET_FORMAT, KSALLOC_CAPTURE_IOC_STREAMON,
		KSALLOC_CAPTURE_IOC_GET_COUNTERS,
	};
	int fds[] = {
		-1, INT_MIN, -(int)fz_below(t, 1 << 20) - 1,
		FZ_CLOSED_FD + (int)fz_below(t, FZ_CLOSED_FD), fz.huge_fd, 1 << 20, INT_MAX,
		fz.path_fd, fz.null_fd, fz.zero_fd, fz.dir_fd, fz.pipe_fd[0], fz.pipe_fd[1],
	};
	unsigned int i = fz_below(t, ARRAY_SIZE(fds));
	int fd = fds[i];
	bool number = i < 7 || fd == fz.path_fd;	/* no file, or no ioctls: EBADF */
	enum fz_ptr p = fz_pick_ptr(t, 50, true);
	unsigned long cmd = cmds[fz_below(t, ARRAY_SIZE(cmds))];
	struct pollfd pfd;
	long ret;

	switch (fz_below(t, 4)) {
	case 0:
	case 1:
		if (p == P_GOOD)
			memset(t->rw, 0, 64);
		ret = fz_ioctl(t, K_BADFD, fd, cmd, fz_ptr(t, p, 64));
		fz_expect(t, V_IOCTL, ret, number ? FZ_EBADF : FZ_ENOTTY,
			  "ioctl %#lx (%s) on fd %d", cmd, fz_ptr_name[p], fd);
		break;
	case 2:
		pfd = (struct pollfd){ .fd = fd, .events = fz_poll_events(t) };
		ret = fz_poll(t, K_BADFD, &pfd, 1, 0);
		if (fz_expect(t, V_POLL, ret, FZ_OK, "poll of fd %d", fd) && number &&
		    pfd.revents != (fd < 0 ? 0 : POLLNVAL))
			fz_violation(t, V_POLL, "poll of fd %d: revents %#x", fd, pfd.revents);
		break;
	default:
		if (!number || fd == fz.path_fd)
			fd = FZ_CLOSED_FD + fz_below(t, FZ_CLOSED_FD);
		fz_expect(t, V_SYS, fz_close(t, fd), FZ_EBADF, "close of fd %d", fd);
		break;
	}
}

/*
 * Big valid framings, and the quota boundary, on a temporary fd: one at a
 * time in the whole process (their pools are up to max_pool_bytes).
 */
static void fz_big(struct fz_thread *t)
{
	struct ksalloc_framing f = { .pool_type = fz_below(t, 2) };
	struct ksalloc_frame_handle *h = (void *)t->rw;
	struct ksalloc_status *st = (void *)t->rw;
	unsigned int i, n, allowed;
	__u64 held = 0;
	long ret;
	int fd, err;

	if (pthread_mutex_trylock(&fz_big_lock))
		return;
	switch (fz_below(t, 5)) {
	case 0:
		f.frames = KSALLOC_MAX_FRAMES;
		f.frame_size = 1;
		/* 65536 slab objects: 60 s under kmemleak and KASAN. Just over, then. */
		if (fz.kmemleak)
			f.frames++;
		break;
	case 1:
		f.frames = 1;
		f.frame_size = KSALLOC_MAX_FRAME_SIZE;
		f.alignment = fz.page_size - 1;
		break;
	case 2:
		/* Exactly max_pool_bytes, or one frame more. */
		f.frame_size = KSALLOC_MAX_FRAME_SIZE;
		f.frames = fz.max_pool / KSALLOC_MAX_FRAME_SIZE + fz_below(t, 2);
		break;
	case 3:
		f.frames = KSALLOC_MAX_FRAMES;
		f.frame_size = KSALLOC_MAX_FRAME_SIZE;
		f.alignment = fz.page_size - 1;
		break;
	default:
		f.frames = fz.max_pool / 65536 + fz_below(t, 2);
		f.frame_size = 61441;
		f.alignment = 4095;
		break;
	}
	err = fz_framing_errno(&f);
	fz_begin(t, K_OPEN, -1, 0);
	fd = ksalloc_dev_open(O_NONBLOCK);
	if (!fz_expect(t, V_SYS, fz_count(t, K_OPEN, fd < 0 ? -errno : 0), FZ_OK, "open"))
		goto out;
	*(struct ksalloc_framing *)t->rw = f;
	/* A big pool may not find the memory: ENOMEM is an answer, not a bug. */
	allowed = err ? fz_errno_bit(err) : FZ_OK | FZ_ENOMEM;
	ret = fz_ioctl(t, K_SET_FRAMING, fd, KSALLOC_IOC_SET_FRAMING, t->rw);
	fz_expect(t, V_IOCTL, ret, allowed, "big SET_FRAMING {%u %u %u %#x}", f.pool_type,
		  f.frames, f.frame_size, f.alignment);
	if (ret)
		goto close;
	n = f.frames < 4 ? f.frames : 4;
	for (i = 0; i < n; i++) {
		*h = (struct ksalloc_frame_handle){ 0 };
		ret = fz_ioctl(t, K_ALLOC, fd, KSALLOC_IOC_ALLOC_FRAME, h);
		if (!fz_expect(t, V_IOCTL, ret, FZ_OK, "big ALLOC_FRAME %u of %u", i, f.frames))
			break;
		held = h->handle;
	}
	ret = fz_ioctl(t, K_GET_STATUS, fd, KSALLOC_IOC_GET_STATUS, st);
	if (fz_expect(t, V_IOCTL, ret, FZ_OK, "big GET_STATUS") &&
	    (st->allocated_frames != i || st->framing.frames != f.frames ||
	     st->framing.frame_size != f.frame_size || st->total_allocations != i))
		fz_violation(t, V_STATUS, "big allocator: %u allocated, %llu total, %u frames",
			     st->allocated_frames, (unsigned long long)st->total_allocations,
			     st->framing.frames);
	if (held) {
		*h = (struct ksalloc_frame_handle){ .handle = held };
		ret = fz_ioctl(t, K_FREE, fd, KSALLOC_IOC_FREE_FRAME, h);
		fz_expect(t, V_IOCTL, ret, FZ_OK, "big FREE_FRAME");
	}
close:
	/* With frames still held: the release returns them. */
	fz_expect(t, V_SYS, fz_close(t, fd), FZ_OK, "close of a big allocator");
out:
	pthread_mutex_unlock(&fz_big_lock);
}

/* Capture calls: the caller holds @c->lock. */

/* Give the stream an allocator: bad fds, wrong files, the table's, its own. */
static void fz_c_unmap(struct fz_cap *c)
{
	if (c->map)
		munmap(c->map, c->map_size);
	c->map = NULL;
	c->map_size = 0;
}

/* STREAMOFF or close: the frames the application held are taken back. */
static void fz_c_stopped(struct fz_cap *c)
{
	c->streaming = false;
	if (c->nheld)
		c->returned = c->held[0];
	c->nheld = 0;
}

static void fz_c_set_allocator(struct fz_thread *t, struct fz_cap *c)
{
	struct ksalloc_capture_allocator *arg = (void *)t->rw;
	struct fz_slot *s = NULL;
	struct ksalloc_framing f = { 0 };
	unsigned int src = fz_below(t, 100), allowed = 0;
	bool atomic = false;
	int tmp = -1;
	enum fz_ptr p = P_GOOD;
	long ret;

	*arg = (struct ksalloc_capture_allocator){ .fd = -1 };
	if (src < 8) {
		arg->fd = fz_chance(t, 1, 2) ? -1 : FZ_CLOSED_FD + (int)fz_below(t, FZ_CLOSED_FD);
		allowed = FZ_EBADF;
	} else if (src < 14) {
		arg->fd = fz.path_fd;
		allowed = FZ_EBADF;
	} else if (src < 22) {
		static const int *const others[] = { &fz.null_fd, &fz.dir_fd, &fz.pipe_fd[0] };

		arg->fd = fz_chance(t, 1, 4) ? c->fd : *others[fz_below(t, ARRAY_SIZE(others))];
		allowed = FZ_EINVAL;
	} else if (src < 28) {
		arg->fd = fz.null_fd;
		arg->flags = 1U << fz_below(t, 32);
		allowed = FZ_EINVAL;
	} else if (src < 33) {
		p = fz_pick_ptr(t, 0, false);
		allowed = FZ_EFAULT;
	} else if (src < 99) {
		/* A table allocator: its bookkeeping turns loose. */
		s = &fz_slots[fz_below(t, FZ_SLOTS)];
		pthread_rwlock_wrlock(&s->rw);
		arg->fd = s->fd;
		if (s->state == FZ_CLOSED) {
			allowed = FZ_EBADF;
		} else if (s->state == FZ_NULL) {
			allowed = FZ_EINVAL;
		} else {
			f = s->framing;
			atomic = s->framed && f.pool_type == KSALLOC_POOL_ATOMIC;
			allowed = !s->framed ? FZ_EBADFD : atomic ? 0 : FZ_EOPNOTSUPP;
		}
	} else {
		/* Its own (an allocator's life is slow): unframed, sleepable, any size. */
		fz_begin(t, K_OPEN, -1, 0);
		tmp = ksalloc_dev_open(0);
		if (!fz_expect(t, V_SYS, fz_count(t, K_OPEN, tmp < 0 ? -errno : 0), FZ_OK, "open"))
			return;
		arg->fd = tmp;
		allowed = FZ_EBADFD;
		if (fz_chance(t, 9, 10)) {
			f = (struct ksalloc_framing){
				.pool_type = fz_chance(t, 1, 10) ? KSALLOC_POOL_SLEEPABLE :
					     KSALLOC_POOL_ATOMIC,
				.frames = 1 + fz_below(t, 8),
				.frame_size = fz_chance(t, 1, 10) ? 1 + fz_below(t, FZ_CAP_HDR) :
					      FZ_CAP_HDR + fz_below(t, 64 << 10),
				.options = fz_chance(t, 1, 3) ? KSALLOC_OPTIONF_MAPPABLE : 0,
			};
		}
	}
	if (tmp >= 0 && f.frames) {
		struct ksalloc_framing *fa = (void *)(t->rw + 64);

		*fa = f;
		ret = fz_ioctl(t, K_SET_FRAMING, tmp, KSALLOC_IOC_SET_FRAMING, fa);
		if (fz_expect(t, V_IOCTL, ret, FZ_OK, "SET_FRAMING for a stream")) {
			atomic = f.pool_type == KSALLOC_POOL_ATOMIC;
			allowed = atomic ? 0 : FZ_EOPNOTSUPP;
		}
	}
	if (atomic) {
		if (c->streaming)
			allowed = FZ_EBUSY;
		else if (c->has_format && c->frame_bytes > f.frame_size)
			allowed = FZ_EMSGSIZE;
		else
			allowed = FZ_OK;
	}
	ret = fz_ioctl(t, K_CAP_SET_ALLOC, c->fd, KSALLOC_CAPTURE_IOC_SET_ALLOCATOR,
		       p == P_GOOD ? (void *)arg : fz_ptr(t, p, sizeof(*arg)));
	fz_expect(t, V_CAP, ret, allowed,
		  "SET_ALLOCATOR (%s) fd %d flags %#x: source %u, streaming %d format %d (%u bytes), framing {%u %u %u}",
		  fz_ptr_name[p], arg->fd, arg->flags, src, c->streaming, c->has_format,
		  c->frame_bytes, f.pool_type, f.frames, f.frame_size);
	if (!ret && atomic) {
		c->has_alloc = true;
		c->frame_size = f.frame_size;
		c->frames = f.frames;
		c->mappable = fz_page_backed(&f);
		fz_c_unmap(c);
		/* The frames DEQUEUE_FRAME hands out are checked there. */
		if (c->mappable && f.frames * fz_stride(&f) <= (4 << 20)) {
			c->stride = fz_stride(&f);
			c->map_size = f.frames * c->stride;
			c->map = mmap(NULL, c->map_size, PROT_READ, MAP_SHARED, arg->fd, 0);
			/* A write-only allocator fd cannot be mapped: EACCES. */
			if (c->map == MAP_FAILED && errno != EACCES)
				fz_violation(t, V_CAP, "mmap of a stream's allocator: %s",
					     strerror(errno));
			if (c->map == MAP_FAILED)
				c->map = NULL;
		}
		if (s)
			s->captured = true;
	}
	if (s)
		pthread_rwlock_unlock(&s->rw);
	if (tmp >= 0)
		fz_expect(t, V_SYS, fz_close(t, tmp), FZ_OK, "close of a stream's allocator");
}

static void fz_c_set_format(struct fz_thread *t, struct fz_cap *c)
{
	struct ksalloc_capture_format *f = (void *)t->rw;
	enum fz_ptr p = fz_pick_ptr(t, 92, true);
	unsigned long long bytes;
	unsigned int allowed, v;
	bool valid;
	long ret;

	*f = (struct ksalloc_capture_format){
		.width = 1 + fz_below(t, 64), .height = 1 + fz_below(t, 64),
		.bytes_per_pixel = 1 + fz_below(t, KSALLOC_CAPTURE_MAX_BPP),
		.fps = fz_chance(t, 1, 100) ? KSALLOC_CAPTURE_MAX_FPS : 1 + fz_below(t, 1000),
	};
	if (fz_chance(t, 1, 3)) {
		static const __u32 edge[] = { 0, 1, KSALLOC_CAPTURE_MAX_DIM,
					      KSALLOC_CAPTURE_MAX_DIM + 1, ~0U };

		v = fz_chance(t, 3, 4) ? edge[fz_below(t, ARRAY_SIZE(edge))] : fz_u32(t);
		switch (fz_below(t, 4)) {
		case 0:
			f->width = v;
			break;
		case 1:
			f->height = v;
			break;
		case 2:
			/* Its limit is not MAX_DIM: MAX_BPP, and one more. */
			f->bytes_per_pixel = v == KSALLOC_CAPTURE_MAX_DIM ?
					     KSALLOC_CAPTURE_MAX_BPP + fz_below(t, 2) : v;
			break;
		default:
			f->fps = v == KSALLOC_CAPTURE_MAX_DIM ?
				 KSALLOC_CAPTURE_MAX_FPS + fz_below(t, 2) : v;
			break;
		}
	}
	valid = f->width && f->width <= KSALLOC_CAPTURE_MAX_DIM && f->height &&
		f->height <= KSALLOC_CAPTURE_MAX_DIM && f->bytes_per_pixel &&
		f->bytes_per_pixel <= KSALLOC_CAPTURE_MAX_BPP && f->fps &&
		f->fps <= KSALLOC_CAPTURE_MAX_FPS;
	bytes = FZ_CAP_HDR + (unsigned long long)f->width * f->height * f->bytes_per_pixel;
	if (p != P_GOOD && p != P_RO)
		allowed = FZ_EFAULT;
	else if (p == P_RO)
		allowed = FZ_EINVAL;	/* zeros */
	else if (!valid)
		allowed = FZ_EINVAL;
	else if (c->streaming)
		allowed = FZ_EBUSY;
	else if (c->has_alloc && bytes > c->frame_size)
		allowed = FZ_EMSGSIZE;
	else
		allowed = FZ_OK;
	ret = fz_ioctl(t, K_CAP_SET_FORMAT, c->fd, KSALLOC_CAPTURE_IOC_SET_FORMAT,
		       fz_ptr(t, p, sizeof(*f)));
	fz_expect(t, V_CAP, ret, allowed, "SET_FORMAT (%s) %ux%ux%u@%u, streaming %d, frame %u",
		  fz_ptr_name[p], f->width, f->height, f->bytes_per_pixel, f->fps,
		  c->streaming, c->has_alloc ? c->frame_size : 0);
	if (!ret && p == P_GOOD && valid) {
		c->has_format = true;
		c->frame_bytes = bytes;
	}
}

static void fz_c_counters(struct fz_thread *t, struct fz_cap *c, bool end)
{
	struct ksalloc_capture_counters *k = (void *)t->rw;
	enum fz_ptr p = end ? P_GOOD : fz_pick_ptr(t, 90, true);
	enum fz_cat cat = end ? V_END_FREE : V_CAP;
	long ret;

	ret = fz_ioctl(t, K_CAP_COUNTERS, c->fd, KSALLOC_CAPTURE_IOC_GET_COUNTERS,
		       fz_ptr(t, p, sizeof(*k)));
	if (!fz_expect(t, cat, ret, p == P_GOOD ? FZ_OK : FZ_EFAULT, "GET_COUNTERS (%s)",
		       fz_ptr_name[p]) || p != P_GOOD)
		return;
	if (k->produced != k->delivered + k->dropped + k->in_flight ||
	    k->streaming != c->streaming || (c->has_alloc && k->in_flight > c->frames) ||
	    (!c->streaming && k->in_flight))
		fz_violation(t, cat, "counters %llu = %llu + %llu + %u? streaming %u, want %d",
			     (unsigned long long)k->produced, (unsigned long long)k->delivered,
			     (unsigned long long)k->dropped, k->in_flight, k->streaming,
			     c->streaming);
}

static void fz_c_read(struct fz_thread *t, struct fz_cap *c)
{
	struct ksalloc_capture_header *hdr = (void *)t->cbuf;
	__u32 fb = c->frame_bytes;
	size_t sizes[] = { 0, 1, fb - 1, fb, fb + 1 + fz_below(t, 4096), FZ_CAP_BUF };
	size_t count = sizes[fz_below(t, ARRAY_SIZE(sizes))];
	enum fz_ptr p = fz_pick_ptr(t, 85, true);
	/* A straddling buffer faults within the frame's bytes (more than a header). */
	size_t span = fb < FZ_CAP_HDR + 1 ? FZ_CAP_HDR + 1 : fb > 64 ? 64 : fb;
	void *buf = p == P_GOOD ? (void *)t->cbuf : fz_ptr(t, p, span);
	unsigned int allowed;
	long long bad;
	long ret;

	if (count > FZ_CAP_BUF)
		count = FZ_CAP_BUF;
	/*
	 * A kernel address fails access_ok() before the driver, but not in a
	 * 32-bit task: whether read() chose would be unknown.
	 */
	if (p == P_KERNEL && c->streaming && !c->mode) {
		p = P_NULL;
		buf = NULL;
	}
	fz_begin(t, K_CAP_READ, c->fd, count);
	ret = read(c->fd, buf, count);
	ret = fz_count(t, K_CAP_READ, ret < 0 ? -errno : ret);
	if (c->mode == 2)
		allowed = FZ_EBUSY;	/* DEQUEUE_FRAME chose */
	else if (!c->streaming)
		allowed = FZ_OK;	/* stopped: end of file */
	else if (count < fb)
		allowed = FZ_EAGAIN | FZ_EINVAL;
	else
		allowed = FZ_EAGAIN | (p == P_GOOD ? FZ_OK : FZ_EFAULT);
	/* read() checks access_ok() before the driver: no user address, EFAULT. */
	if (p == P_KERNEL)
		allowed |= FZ_EFAULT;
	/* Reaching the driver, read() chose. */
	if (c->streaming && !c->mode)
		c->mode = 1;
	if (!fz_expect(t, V_CAP, ret, allowed, "read(%zu) (%s), streaming %d, frame %u, mode %d",
		       count, fz_ptr_name[p], c->streaming, fb, c->mode) || ret < 0)
		return;
	if (!c->streaming || p != P_GOOD) {
		if (ret)
			fz_violation(t, V_CAP, "read of a stopped stream: %ld bytes", ret);
		return;
	}
	if (ret != (long)fb || hdr->payload_size != fb - FZ_CAP_HDR || hdr->reserved) {
		fz_violation(t, V_CAP, "read %ld bytes, frame %u, header payload %u reserved %u",
			     ret, fb, hdr->payload_size, hdr->reserved);
		return;
	}
	bad = ksalloc_capture_mismatch(t->cbuf + FZ_CAP_HDR, hdr->payload_size, hdr->sequence);
	if (bad >= 0)
		fz_violation(t, V_CAP, "frame %llu: payload byte %lld breaks the pattern",
			     (unsigned long long)hdr->sequence, bad);
}

static void fz_c_dequeue(struct fz_thread *t, struct fz_cap *c)
{
	struct ksalloc_capture_frame *f = (void *)t->rw;
	enum fz_ptr p = fz_pick_ptr(t, 85, true);
	bool flags = fz_chance(t, 1, 10);
	const struct ksalloc_framing fa = { .frame_size = c->frame_size };
	const struct ksalloc_capture_header *h;
	unsigned int allowed;
	long long bad;
	long ret;

	if (p == P_GOOD && !flags && c->nheld == FZ_CAP_HELD)
		flags = true;	/* never more than we can hold */
	if (p == P_GOOD) {
		memset(f, 0xa5, sizeof(*f));
		f->flags = 0;
		f->reserved = 0;
		if (flags && fz_chance(t, 1, 2))
			f->flags = 1U << fz_below(t, 32);
		else if (flags)
			f->reserved = 1ULL << fz_below(t, 64);
	}
	if (p != P_GOOD && p != P_RO)
		allowed = FZ_EFAULT;
	else if (flags && p == P_GOOD)
		allowed = FZ_EINVAL;
	else if (!c->has_alloc)
		allowed = FZ_EBADFD;
	else if (!c->mappable)
		allowed = FZ_ENODEV;
	else if (c->mode == 1)
		allowed = FZ_EBUSY;
	else if (!c->streaming)
		allowed = FZ_ENODATA;
	else	/* A frame it cannot write back for: dropped. */
		allowed = FZ_EAGAIN | (p == P_RO ? FZ_EFAULT : FZ_OK);
	ret = fz_ioctl(t, K_CAP_DEQUEUE, c->fd, KSALLOC_CAPTURE_IOC_DEQUEUE_FRAME,
		       p == P_GOOD ? (void *)f : fz_ptr(t, p, sizeof(*f)));
	if (c->streaming && c->has_alloc && c->mappable && c->mode == 0 &&
	    (p == P_RO || (p == P_GOOD && !flags)))
		c->mode = 2;
	fz_expect(t, V_CAP, ret, allowed,
		  "DEQUEUE_FRAME (%s%s), alloc %d mappable %d streaming %d mode %d",
		  fz_ptr_name[p], flags ? ", flags/reserved" : "", c->has_alloc,
		  c->mappable, c->streaming, c->mode);
	if (ret || p != P_GOOD)
		return;
	if (f->handle <= c->last_handle || f->offset % fz.page_size || f->flags ||
	    f->reserved || f->payload_size != c->frame_bytes - FZ_CAP_HDR ||
	    f->offset >= (__u64)c->frames * fz_stride(&fa))
		fz_violation(t, V_CAP,
			     "DEQUEUE_FRAME handle %llu (last %llu) offset %#llx flags %#x reserved %#llx payload %u",
			     (unsigned long long)f->handle, (unsigned long long)c->last_handle,
			     (unsigned long long)f->offset, f->flags,
			     (unsigned long long)f->reserved, f->payload_size);
	c->last_handle = f->handle;
	c->held[c->nheld++] = f->handle;
	if (!c->map || f->offset + c->frame_bytes > c->map_size)
		return;
	h = (const void *)(c->map + f->offset);
	if (h->sequence != f->sequence || h->timestamp_ns != f->timestamp_ns ||
	    h->payload_size != f->payload_size) {
		fz_violation(t, V_CAP, "DEQUEUE_FRAME header %llu/%llu/%u, mapped %llu/%llu/%u",
			     (unsigned long long)f->sequence, (unsigned long long)f->timestamp_ns,
			     f->payload_size, (unsigned long long)h->sequence,
			     (unsigned long long)h->timestamp_ns, h->payload_size);
		return;
	}
	bad = ksalloc_capture_mismatch((const unsigned char *)(h + 1), f->payload_size,
				       f->sequence);
	if (bad >= 0)
		fz_violation(t, V_CAP, "mapped frame %llu: payload byte %lld breaks the pattern",
			     (unsigned long long)f->sequence, bad);
}

static void fz_c_return(struct fz_thread *t, struct fz_cap *c)
{
	struct ksalloc_capture_frame_handle *h = (void *)t->rw;
	enum fz_ptr p = fz_pick_ptr(t, 85, true);
	unsigned int allowed, v = fz_below(t, 100), i = 0;
	bool flags = v < 10;
	long ret;

	if (p == P_GOOD) {
		*h = (struct ksalloc_capture_frame_handle){ 0 };
		if (v < 50 && c->nheld) {
			i = fz_below(t, c->nheld);
			h->handle = c->held[i];
		} else if (v < 65) {
			h->handle = c->returned;
		} else if (v < 75) {
			h->handle = c->last_handle + 1 + fz_below(t, 3);
		} else if (v < 85) {
			h->handle = c->last_handle ? 1 + fz_rand(t) % c->last_handle : 0;
		} else {
			h->handle = fz_chance(t, 1, 2) ? 0 : fz_rand(t);
		}
		if (flags && fz_chance(t, 1, 2))
			h->flags = 1U << fz_below(t, 32);
		else if (flags)
			h->reserved = 1U << fz_below(t, 32);
	}
	if (p != P_GOOD && p != P_RO) {
		allowed = FZ_EFAULT;
	} else if (p == P_RO || flags || !h->handle || h->handle > c->last_handle) {
		allowed = FZ_EINVAL;	/* P_RO: zeros, handle 0 */
	} else {
		for (i = 0; i < c->nheld && c->held[i] != h->handle; i++)
			;
		allowed = i < c->nheld ? FZ_OK : FZ_ENOENT;
	}
	ret = fz_ioctl(t, K_CAP_RETURN, c->fd, KSALLOC_CAPTURE_IOC_RETURN_FRAME,
		       p == P_GOOD ? (void *)h : fz_ptr(t, p, sizeof(*h)));
	if (!fz_expect(t, V_CAP, ret, allowed,
		       "RETURN_FRAME (%s) handle %llu flags %#x reserved %#x, last %llu, %u held",
		       fz_ptr_name[p], p == P_GOOD ? (unsigned long long)h->handle : 0ULL,
		       p == P_GOOD ? h->flags : 0, p == P_GOOD ? h->reserved : 0,
		       (unsigned long long)c->last_handle, c->nheld) || ret)
		return;
	c->returned = c->held[i];
	c->held[i] = c->held[--c->nheld];
}

static void fz_c_poll(struct fz_thread *t, struct fz_cap *c)
{
	struct pollfd p = { .fd = c->fd, .events = fz_poll_events(t) };
	short in = p.events & (POLLIN | POLLRDNORM);
	long ret;

	ret = fz_poll(t, K_CAP_POLL, &p, 1, 0);
	if (!fz_expect(t, V_CAP, ret, FZ_OK, "capture poll"))
		return;
	if (c->streaming ? p.revents && p.revents != in : p.revents != (in | POLLHUP))
		fz_violation(t, V_CAP, "capture poll events %#x: revents %#x, streaming %d",
			     p.events, p.revents, c->streaming);
}

static void fz_c_stop_close(struct fz_thread *t, struct fz_cap *c, enum fz_cat cat)
{
	fz_expect(t, cat, fz_close(t, c->fd), FZ_OK, "close of a stream");
	c->fd = -1;
	fz_c_stopped(c);
	fz_c_unmap(c);
	c->mappable = false;
	c->mode = 0;
	/* A new stream hands out handles from 1 again. */
	c->last_handle = 0;
	c->returned = 0;
	c->has_alloc = false;
	c->has_format = false;
	c->frame_size = 0;
	c->frames = 0;
	c->frame_bytes = 0;
}

static void fz_cap_op(struct fz_thread *t)
{
	enum { SETALLOC, SETFORMAT, STREAMON, STREAMOFF, COUNTERS, READ, POLL, UNKNOWN,
	       BADSIZE, CLOSE, DEQUEUE, RETURN };
	static const unsigned int w[] = {
		[SETALLOC] = 120, [SETFORMAT] = 120, [STREAMON] = 100, [STREAMOFF] = 50,
		[COUNTERS] = 120, [READ] = 150, [POLL] = 80, [UNKNOWN] = 40, [BADSIZE] = 40,
		[CLOSE] = 3, [DEQUEUE] = 150, [RETURN] = 120,
	};
	struct fz_cap *c = &fz_caps[fz_below(t, FZ_CAPS)];
	unsigned int allowed;
	long ret;

	pthread_mutex_lock(&c->lock);
	if (c->fd < 0) {
		fz_begin(t, K_OPEN, -1, 1);
		c->fd = capture_dev_open(O_NONBLOCK);
		fz_count(t, K_OPEN, c->fd < 0 ? -errno : 0);
		if (c->fd < 0)
			fz_violation(t, V_CAP, "open %s: %s", KSALLOC_CAPTURE_DEV, strerror(errno));
		goto out;
	}
	switch (fz_pick(t, w, ARRAY_SIZE(w))) {
	case SETALLOC:
		fz_c_set_allocator(t, c);
		break;
	case SETFORMAT:
		fz_c_set_format(t, c);
		break;
	case STREAMON:
		if (c->streaming)
			allowed = FZ_EBUSY;
		else
			allowed = c->has_alloc && c->has_format ? FZ_OK : FZ_EBADFD;
		ret = fz_ioctl(t, K_CAP_STREAM, c->fd, KSALLOC_CAPTURE_IOC_STREAMON, NULL);
		if (fz_expect(t, V_CAP, ret, allowed, "STREAMON, streaming %d alloc %d format %d",
			      c->streaming, c->has_alloc, c->has_format) && !ret) {
			c->streaming = true;
			c->mode = 0;
		}
		break;
	case STREAMOFF:
		ret = fz_ioctl(t, K_CAP_STREAM, c->fd, KSALLOC_CAPTURE_IOC_STREAMOFF,
			       fz_ptr(t, fz_pick_ptr(t, 50, true), 8));
		if (fz_expect(t, V_CAP, ret, FZ_OK, "STREAMOFF"))
			fz_c_stopped(c);
		break;
	case DEQUEUE:
		fz_c_dequeue(t, c);
		break;
	case RETURN:
		fz_c_return(t, c);
		break;
	case COUNTERS:
		fz_c_counters(t, c, false);
		break;
	case READ:
		fz_c_read(t, c);
		break;
	case POLL:
		fz_c_poll(t, c);
		break;
	case UNKNOWN:
		fz_x_unknown(t, c->fd, false, V_CAP, K_CAP_OTHER, 0);
		break;
	case BADSIZE:
		fz_x_unknown(t, c->fd, true, V_CAP, K_CAP_OTHER, 0);
		break;
	default:
		fz_c_stop_close(t, c, V_CAP);
		break;
	}
out:
	pthread_mutex_unlock(&c->lock);
}

/* Counts our calls in; stops every thread once there are enough, or time is up. */
static void fz_flush(struct fz_thread *t)
{
	__u64 total = __atomic_add_fetch(&fz_calls, t->ncalls - t->flushed, __ATOMIC_RELAXED);

	t->flushed = t->ncalls;
	if (total >= fz.target_calls || fz_elapsed() >= fz.seconds)
		__atomic_store_n(&fz_stop, 1, __ATOMIC_RELAXED);
}

static void *fz_thread_fn(void *arg)
{
	struct fz_thread *t = arg;
	struct sigevent sev = {
		.sigev_notify = SIGEV_THREAD_ID,
		.sigev_signo = SIGUSR1,
	};
	enum { SLOT, RACY, BADFD, CAP };
	unsigned int w[] = {
		[SLOT] = 760, [RACY] = 70, [BADFD] = 70, [CAP] = fz.have_capture ? 100 : 0,
	};

	sev._sigev_un._tid = gettid();
	if (timer_create(CLOCK_MONOTONIC, &sev, &t->timer)) {
		fz_violation(t, V_SYS, "timer_create: %s", strerror(errno));
		return NULL;
	}
	while (!__atomic_load_n(&fz_stop, __ATOMIC_RELAXED)) {
		t->ops++;
		switch (fz_pick(t, w, ARRAY_SIZE(w))) {
		case SLOT:
			fz_slot_op(t);
			break;
		case RACY:
			fz_racy_op(t);
			break;
		case BADFD:
			fz_badfd_op(t);
			break;
		default:
			fz_cap_op(t);
			break;
		}
		/* Chosen by the random stream, not by the clock: reproducible. */
		if (fz_chance(t, 1, FZ_BIG_OPS * fz.threads))
			fz_big(t);
		if (t->ops % 32 == 0)
			fz_flush(t);
	}
	fz_flush(t);
	timer_delete(t->timer);
	__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* The end: stop the streams, then every allocator must add up and drain. */
static void fz_end(struct fz_thread *t)
{
	struct ksalloc_frame_handle *h = (void *)t->rw;
	struct ksalloc_status *st = (void *)t->rw;
	unsigned int i, j;
	long ret;

	for (i = 0; i < FZ_CAPS; i++) {
		struct fz_cap *c = &fz_caps[i];

		if (c->fd < 0)
			continue;
		ret = fz_ioctl(t, K_CAP_STREAM, c->fd, KSALLOC_CAPTURE_IOC_STREAMOFF, NULL);
		fz_expect(t, V_END_FREE, ret, FZ_OK, "STREAMOFF at the end");
		fz_c_stopped(c);
		fz_c_counters(t, c, true);
		fz_c_stop_close(t, c, V_END_FREE);
	}
	for (i = 0; i < FZ_SLOTS; i++) {
		struct fz_slot *s = &fz_slots[i];

		if (s->state == FZ_OPEN) {
			ret = fz_ioctl(t, K_GET_STATUS, s->fd, KSALLOC_IOC_GET_STATUS, st);
			if (fz_expect(t, V_END_HELD, ret, FZ_OK, "GET_STATUS at the end"))
				fz_check_status(t, s, st, true, true);
			for (j = 0; j < s->nheld; j++) {
				*h = (struct ksalloc_frame_handle){ .handle = s->held[j] };
				ret = fz_ioctl(t, K_FREE, s->fd, KSALLOC_IOC_FREE_FRAME, h);
				fz_expect(t, V_END_FREE, ret, FZ_OK, "FREE_FRAME %#llx at the end",
					  (unsigned long long)s->held[j]);
			}
			ret = fz_ioctl(t, K_GET_STATUS, s->fd, KSALLOC_IOC_GET_STATUS, st);
			if (fz_expect(t, V_END_FREE, ret, FZ_OK, "GET_STATUS after the frees") &&
			    st->allocated_frames)
				fz_violation(NULL, V_END_FREE,
					     "fd %d: %u frames still allocated after freeing all %u",
					     s->fd, st->allocated_frames, s->nheld);
		}
		if (s->state != FZ_CLOSED)
			fz_expect(t, V_END_FREE, fz_close(t, s->fd), FZ_OK, "close at the end");
		s->state = FZ_CLOSED;
	}
}

static unsigned int fz_count_fds(void)
{
	unsigned int n = 0;
	struct dirent *d;
	DIR *dir;

	dir = opendir("/proc/self/fd");
	if (!dir)
		return 0;
	while ((d = readdir(dir)))
		n += d->d_name[0] != '.';
	closedir(dir);
	return n;
}

static unsigned long long fz_env(const char *name, unsigned long long dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : dflt;
}

/*
 * Waits for the threads; a thread that does not finish within FZ_GRACE s of
 * the time bound is stuck in a call: say which, and fail (the plan is not met).
 */
static void fz_watch(void)
{
	unsigned int i, done;
	int kind;

	for (;;) {
		for (i = 0, done = 0; i < fz.threads; i++)
			done += __atomic_load_n(&fz_threads[i].done, __ATOMIC_ACQUIRE);
		if (done == fz.threads)
			return;
		if (fz_elapsed() > fz.seconds + FZ_GRACE)
			break;
		usleep(100000);
	}
	for (i = 0; i < fz.threads; i++) {
		struct fz_thread *t = &fz_threads[i];

		if (__atomic_load_n(&t->done, __ATOMIC_ACQUIRE))
			continue;
		kind = __atomic_load_n(&t->cur_kind, __ATOMIC_RELAXED);
		ksft_print_msg("thread %u stuck at op %llu in %s (fd %d, cmd/arg %#lx)\n", i,
			       (unsigned long long)t->ops, kind >= 0 ? fz_kind_name[kind] :
			       "the fuzzer (a lock?)", t->cur_fd, t->cur_cmd);
	}
	ksft_exit_fail_msg("a thread still runs %d s after the time bound: a hang\n", FZ_GRACE);
}

static void fz_setup_thread(struct fz_thread *t, unsigned int id)
{
	char *p;

	t->id = id;
	t->cur_kind = -1;
	t->hash = 0xcbf29ce484222325ULL;
	t->rng = fz.seed ^ (0xd1b54a32d192ed03ULL * (id + 1));
	p = mmap(NULL, 3 * fz.page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	t->rw = p;
	t->none = p + fz.page_size;
	t->ro = p + 2 * fz.page_size;
	if (mprotect(t->none, fz.page_size, PROT_NONE) ||
	    mprotect(t->ro, fz.page_size, PROT_READ))
		ksft_exit_fail_msg("mprotect: %s\n", strerror(errno));
	t->cbuf = malloc(FZ_CAP_BUF);
	if (!t->cbuf)
		ksft_exit_fail_msg("malloc\n");
}

static void fz_print_stats(double secs)
{
	__u64 calls[K_NR] = { 0 }, ns[K_NR] = { 0 }, hist[FZ_R_OTHER + 1] = { 0 }, total = 0;
	unsigned int i, k;

	for (i = 0; i < fz.threads; i++) {
		for (k = 0; k < K_NR; k++) {
			calls[k] += fz_threads[i].calls[k];
			ns[k] += fz_threads[i].ns[k];
		}
		for (k = 0; k <= FZ_R_OTHER; k++)
			hist[k] += fz_threads[i].hist[k];
	}
	for (k = 0; k < K_NR; k++)
		total += calls[k];
	ksft_print_msg("%llu calls in %.1f s (%.0f/s), %u threads, seed %#llx\n",
		       (unsigned long long)total, secs, total / (secs > 0 ? secs : 1),
		       fz.threads, (unsigned long long)fz.seed);
	for (k = 0; k < K_NR; k++)
		if (fz.timing)
			ksft_print_msg("  calls %-28s %8llu  %8.1f us each\n", fz_kind_name[k],
				       (unsigned long long)calls[k],
				       calls[k] ? ns[k] / 1e3 / calls[k] : 0.0);
		else
			ksft_print_msg("  calls %-28s %8llu\n", fz_kind_name[k],
				       (unsigned long long)calls[k]);
	for (k = 0; k <= FZ_R_OTHER; k++)
		if (hist[k])
			ksft_print_msg("  result %-12s %llu\n", k == FZ_R_OK ? "ok" :
				       k == FZ_R_OTHER ? "other" : fz_errname(fz_res_errno[k]),
				       (unsigned long long)hist[k]);
	for (k = 0; k < fz.threads; k++)
		ksft_print_msg("  thread %u: %llu operations, %llu calls, hash %#llx\n", k,
			       (unsigned long long)fz_threads[k].ops,
			       (unsigned long long)fz_threads[k].ncalls,
			       (unsigned long long)fz_threads[k].hash);
}

int main(int argc, char **argv)
{
	pthread_rwlockattr_t attr;
	unsigned long long taint0, taint1;
	struct ksalloc_totals totals0, totals1;
	char why0[256], why1[256], moved[256] = "";
	int totals_err0, totals_err1;
	unsigned int i, fds0, fds1;
	bool want_capture;
	struct sigaction sa = { .sa_handler = fz_on_signal };
	struct rlimit rl;
	double secs;
	__u64 t0, calls;

	ksft_print_header();
	fz.seed = argc > 1 ? strtoull(argv[1], NULL, 0) :
		  fz_env("KSALLOC_FUZZ_SEED", FZ_DEFAULT_SEED);
	fz.threads = fz_env("KSALLOC_FUZZ_THREADS", FZ_DEFAULT_THREADS);
	fz.target_calls = fz_env("KSALLOC_FUZZ_CALLS", FZ_DEFAULT_CALLS);
	fz.seconds = fz_env("KSALLOC_FUZZ_SECONDS", FZ_DEFAULT_SECONDS);
	if (fz.threads < 1 || fz.threads > FZ_MAX_THREADS)
		fz.threads = FZ_DEFAULT_THREADS;
	fz.page_size = sysconf(_SC_PAGESIZE);
	fz.max_pool = max_pool_bytes();
	want_capture = fz_env("KSALLOC_FUZZ_CAPTURE", 1);
	fz.have_capture = want_capture && !access(KSALLOC_CAPTURE_DEV, F_OK);
	fz.kmemleak = !access("/sys/kernel/debug/kmemleak", F_OK);
	fz.timing = fz_env("KSALLOC_FUZZ_TIMING", 0);
	ksft_set_plan(12);
	ksft_print_msg("seed %#llx, %u threads, until %llu calls or %u s; max_pool_bytes %llu\n",
		       (unsigned long long)fz.seed, fz.threads,
		       (unsigned long long)fz.target_calls, fz.seconds, fz.max_pool);
	ksft_print_msg("reproduce: KSALLOC_FUZZ_SEED=%#llx KSALLOC_FUZZ_THREADS=%u %s\n",
		       (unsigned long long)fz.seed, fz.threads, argv[0]);
	if (access(KSALLOC_DEV, F_OK))
		ksft_exit_fail_msg("%s: %s (is the ksalloc module loaded?)\n", KSALLOC_DEV,
				   strerror(errno));

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);	/* no SA_RESTART: waits end with EINTR */
	getrlimit(RLIMIT_NOFILE, &rl);
	fz.huge_fd = rl.rlim_cur < INT_MAX ? (int)rl.rlim_cur : INT_MAX;
	/* What a syscall costs here, to read the rate by. */
	t0 = now_ns();
	for (i = 0; i < 200; i++)
		getppid();
	ksft_print_msg("a getppid() takes %.1f us here\n", (now_ns() - t0) / 200 / 1e3);
	taint0 = read_ull(FZ_TAINTED, 0);
	totals_err0 = ksalloc_read_totals(&totals0, why0, sizeof(why0));
	fds0 = fz_count_fds();
	fz.null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	fz.zero_fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	fz.dir_fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fz.path_fd = open(KSALLOC_DEV, O_PATH | O_CLOEXEC);
	if (fz.null_fd < 0 || fz.zero_fd < 0 || fz.dir_fd < 0 || fz.path_fd < 0 ||
	    pipe2(fz.pipe_fd, O_CLOEXEC))
		ksft_exit_fail_msg("opening the other fds: %s\n", strerror(errno));

	pthread_rwlockattr_init(&attr);
	/* Writers (open, close, exclusive calls) must not starve behind readers. */
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	for (i = 0; i < FZ_SLOTS; i++) {
		pthread_rwlock_init(&fz_slots[i].rw, &attr);
		pthread_mutex_init(&fz_slots[i].book, NULL);
		fz_slots[i].fd = -1;
	}
	for (i = 0; i < FZ_CAPS; i++) {
		pthread_mutex_init(&fz_caps[i].lock, NULL);
		fz_caps[i].fd = -1;
	}
	for (i = 0; i < fz.threads; i++)
		fz_setup_thread(&fz_threads[i], i);

	clock_gettime(CLOCK_MONOTONIC, &fz.start);
	for (i = 0; i < fz.threads; i++)
		if (pthread_create(&fz_threads[i].thread, NULL, fz_thread_fn, &fz_threads[i]))
			ksft_exit_fail_msg("pthread_create\n");
	fz_watch();
	for (i = 0; i < fz.threads; i++)
		pthread_join(fz_threads[i].thread, NULL);
	secs = fz_elapsed();

	/* The main thread's calls at the end are counted as thread 0's. */
	fz_end(&fz_threads[0]);
	close(fz.null_fd);
	close(fz.zero_fd);
	close(fz.dir_fd);
	close(fz.path_fd);
	close(fz.pipe_fd[0]);
	close(fz.pipe_fd[1]);
	fds1 = fz_count_fds();
	taint1 = read_ull(FZ_TAINTED, 0);
	totals_err1 = ksalloc_read_totals(&totals1, why1, sizeof(why1));
	fz_print_stats(secs);

	for (i = 0; i < V_NR; i++) {
		ksft_print_msg("%lu violations: %s\n", fz_bad[i], fz_cat_case[i]);
		if (i == V_CAP && !want_capture)
			ksft_test_result_skip("%s: KSALLOC_FUZZ_CAPTURE=0\n", fz_cat_case[i]);
		else if (i == V_CAP && !fz.have_capture)
			ksft_test_result_fail("%s: no %s (is ksalloc_capture loaded?)\n",
					      fz_cat_case[i], KSALLOC_CAPTURE_DEV);
		else
			ksft_test_result(!fz_bad[i], "%s\n", fz_cat_case[i]);
	}
	ksft_print_msg("fds: %u at the start, %u at the end\n", fds0, fds1);
	ksft_test_result(fds0 && fds1 == fds0, "the fd count is back to its start value\n");
	ksft_print_msg("taint: %#llx at the start, %#llx at the end\n", taint0, taint1);
	ksft_test_result(taint1 == taint0, "the kernel taint did not change\n");
	if (totals_err0 || totals_err1)
		ksft_print_msg("totals: %s\n", totals_err0 ? why0 : why1);
	else if (ksalloc_totals_moved(&totals0, &totals1, moved, sizeof(moved)))
		ksft_print_msg("totals: %s\n", moved);
	ksft_test_result(!totals_err0 && !totals_err1 && !moved[0], "teardown: %s\n",
			 KSALLOC_TOTALS_CHECK);
	calls = __atomic_load_n(&fz_calls, __ATOMIC_RELAXED);
	ksft_print_msg("%llu calls in %.1f s\n", (unsigned long long)calls, secs);
	ksft_test_result(calls >= FZ_MIN_CALLS, "made >= %llu calls\n", FZ_MIN_CALLS);
	ksft_finished();
}
