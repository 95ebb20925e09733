// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for ksalloc, through its exported kernel API only (and
 * ksalloc_get_totals(), exported for KUnit).
 *
 * Suites: ksalloc (framing, status, function table, alignment, misuse),
 * ksalloc_context (the function table from every context; all CPUs at once
 * is ksalloc_stress's) and
 * ksalloc_async (free-frame event, pending requests, poll() wake-ups,
 * per-CPU caches, release, free frames poisoned). ksalloc_stress_kunit.c (suites
 * ksalloc_stress, ksalloc_lifetime) and ksalloc_fault_kunit.c (suite
 * ksalloc_fault) make ksalloc_kunit.ko with this file, whose MODULE_* lines
 * cover them.
 *
 * Code that must run in hard IRQ or softirq context runs in an hrtimer
 * callback that records what it saw and completes; the test thread asserts.
 */

#include <kunit/test.h>
#include <linux/anon_inodes.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/hash.h>
#include <linux/hrtimer.h>
#include <linux/ksalloc.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/poison.h>
#include <linux/poll.h>
#include <linux/prandom.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "ksalloc_kunit.h"

MODULE_IMPORT_NS(KSALLOC);
/* ksalloc_get_totals() */
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);

struct ksalloc_test_event {
	struct file *file;
	atomic_t calls;
	struct completion called;
	bool right_context;
};

static void ksalloc_test_event_fn(struct file *file, void *context)
{
	struct ksalloc_test_event *e = context;

	e->file = file;
	/* The documented context: hard IRQ, or the irq_work thread on RT. */
	e->right_context = IS_ENABLED(CONFIG_PREEMPT_RT) ?
			   in_task() && (current->flags & PF_KTHREAD) :
			   in_hardirq();
	atomic_inc(&e->calls);
	complete(&e->called);
}

static int ksalloc_test_enable_event(struct file *file,
				     struct ksalloc_test_event *e)
{
	return ksalloc_enable_free_frame_event(file, ksalloc_test_event_fn, e);
}

/* ---- suite ksalloc: framing, status, table, alignment, misuse ---- */

/*
 * ksalloc_create() checks a framing as KSALLOC_IOC_SET_FRAMING does, with the
 * same function: tools/testing/ksalloc_test.c (ksalloc_reject) sweeps that
 * check, each field alone and the order of the checks. Here: a valid framing
 * is echoed, and each errno of the check reachable on 64-bit comes back as
 * ERR_PTR() unchanged.
 */
static void ksalloc_create_framing(struct kunit *test)
{
	static const struct {
		struct ksalloc_framing framing;
		int err;
	} refused[] = {
		{ { .frames = 4, .frame_size = 64, .reserved = 1 }, -EINVAL },
		{ { .options = 1U << 31, .frames = 4, .frame_size = 64 }, -EOPNOTSUPP },
		{ { .frames = KSALLOC_MAX_FRAMES + 1, .frame_size = 64 }, -E2BIG },
		{ { .frames = KSALLOC_MAX_FRAMES, .frame_size = PAGE_SIZE }, -EDQUOT },
	};
	struct ksalloc_framing framing = {
		.options = KSALLOC_OPTIONF_SYSTEM_MEMORY,
		.pool_type = KSALLOC_POOL_SLEEPABLE,
		.frames = 2,
		.frame_size = 1,
		.alignment = PAGE_SIZE - 1,
	};
	struct ksalloc_status status;
	struct file *file;
	int i;

	file = ksalloc_test_create(test, &framing);
	status = ksalloc_test_status(test, file);
	KUNIT_EXPECT_MEMEQ(test, &status.framing, &framing, sizeof(framing));

	for (i = 0; i < ARRAY_SIZE(refused); i++) {
		file = ksalloc_create(&refused[i].framing);
		KUNIT_EXPECT_EQ_MSG(test, PTR_ERR_OR_ZERO(file), refused[i].err,
				    "framing %d", i);
		if (!IS_ERR_OR_NULL(file))
			ksalloc_test_fput(file);
	}
}

static void ksalloc_get_status_counts(struct kunit *test)
{
	struct ksalloc_framing framing = ksalloc_test_framing(3, 100, 0);
	struct file *file = ksalloc_test_create(test, &framing);
	struct ksalloc_status status;
	void *frame[3], *none;
	int i;

	status = ksalloc_test_status(test, file);
	KUNIT_EXPECT_EQ(test, status.allocated_frames, 0);
	KUNIT_EXPECT_EQ(test, status.total_allocations, 0);

	for (i = 0; i < 3; i++)
		KUNIT_ASSERT_EQ(test, 0, ksalloc_allocate_frame(file, &frame[i]));
	ksalloc_free_frame(file, frame[0]);
	KUNIT_EXPECT_EQ(test, 0, ksalloc_allocate_frame(file, &frame[0]));
	KUNIT_EXPECT_EQ(test, -EAGAIN, ksalloc_allocate_frame(file, &none));
	KUNIT_EXPECT_NULL(test, none);

	status = ksalloc_test_status(test, file);
	KUNIT_EXPECT_EQ(test, status.allocated_frames, 3);
	KUNIT_EXPECT_EQ(test, status.peak_allocated_frames, 3);
	KUNIT_EXPECT_EQ(test, status.total_allocations, 4);
	KUNIT_EXPECT_EQ(test, status.failed_allocations, 1);
	KUNIT_EXPECT_EQ(test, status.waiters, 0);
	KUNIT_EXPECT_EQ(test, status.misuse_events, 0);
	for (i = 0; i < 3; i++)
		ksalloc_free_frame(file, frame[i]);
	KUNIT_EXPECT_EQ(test, ksalloc_test_status(test, file).allocated_frames, 0);
}

static void ksalloc_get_functiontable_pool_types(struct kunit *test)
{
	struct ksalloc_framing framing = ksalloc_test_framing(2, 64, 0);
	struct ksalloc_functiontable table = {};
	struct file *file;
	void *frame;

	file = ksalloc_test_create(test, &framing);
	KUNIT_EXPECT_EQ(test, 0, ksalloc_get_functiontable(file, &table));
	KUNIT_EXPECT_TRUE(test, table.allocate_frame == ksalloc_allocate_frame);
	KUNIT_EXPECT_TRUE(test, table.free_frame == ksalloc_free_frame);

	framing.pool_type = KSALLOC_POOL_SLEEPABLE;
	file = ksalloc_test_create(test, &framing);
	KUNIT_EXPECT_EQ(test, -EOPNOTSUPP,
			ksalloc_get_functiontable(file, &table));
	KUNIT_EXPECT_EQ(test, -EOPNOTSUPP, ksalloc_allocate_frame(file, &frame));
	KUNIT_EXPECT_NULL(test, frame);
}

static int ksalloc_test_dummy_release(struct inode *inode, struct file *file)
{
	return 0;
}

static const struct file_operations ksalloc_test_dummy_fops = {
	.release = ksalloc_test_dummy_release,
};

static void ksalloc_fget_fds(struct kunit *test)
{
	struct ksalloc_framing framing = ksalloc_test_framing(1, 64, 0);
	struct ksalloc_functiontable table;
	struct ksalloc_status status;
	atomic_t order = ATOMIC_INIT(0);
	struct ksalloc_test_req r;
	struct file *file, *got;
	int fd;

	KUNIT_EXPECT_EQ(test, -EBADF, PTR_ERR(ksalloc_fget(-1)));
	ksalloc_test_req_init(&r, &order);

	/* Files that are not allocators are refused by every entry point. */
	file = anon_inode_getfile("[test]", &ksalloc_test_dummy_fops, NULL,
				  O_RDWR);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, file);
	KUNIT_EXPECT_EQ(test, -EINVAL, ksalloc_get_functiontable(file, &table));
	KUNIT_EXPECT_EQ(test, -EINVAL, ksalloc_get_status(file, &status));
	KUNIT_EXPECT_EQ(test, ksalloc_test_enable_event(file, NULL), -EINVAL);
	/* Nothing to withdraw or disable: ksalloc never had them. */
	KUNIT_EXPECT_FALSE(test, ksalloc_cancel_request(file, &r.req));
	ksalloc_disable_free_frame_event(file);
	fput(file);

	fd = anon_inode_getfd("[test]", &ksalloc_test_dummy_fops, NULL, O_RDWR);
	KUNIT_ASSERT_GE(test, fd, 0);
	KUNIT_EXPECT_EQ(test, -EINVAL, PTR_ERR(ksalloc_fget(fd)));
	close_fd(fd);

	file = ksalloc_create(&framing);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, file);
	fd = get_unused_fd_flags(O_CLOEXEC);
	KUNIT_ASSERT_GE(test, fd, 0);
	fd_install(fd, file);
	got = ksalloc_fget(fd);
	KUNIT_EXPECT_PTR_EQ(test, got, file);
	close_fd(fd);
	/* Our reference keeps the allocator usable after the fd is gone. */
	if (!IS_ERR(got)) {
		KUNIT_EXPECT_EQ(test, 0, ksalloc_get_functiontable(got, &table));
		fput(got);
	}
}

static const u32 ksalloc_test_masks[] = {
	0, 1, 3, 7, 15, 31, 63, 127, 255, 511, 1023, 2047, 4095,
};

static void ksalloc_test_mask_desc(const u32 *mask, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "mask_%u", *mask);
}

KUNIT_ARRAY_PARAM(ksalloc_test_mask, ksalloc_test_masks,
		  ksalloc_test_mask_desc);

static void ksalloc_allocate_frame_alignment(struct kunit *test)
{
	static const u32 sizes[] = { 1, 61, 4096, 5000 };
	const u32 mask = *(const u32 *)test->param_value;
	struct ksalloc_framing framing;
	void *frame[16];
	int s, i;

	for (s = 0; s < ARRAY_SIZE(sizes); s++) {
		struct file *file;

		framing = ksalloc_test_framing(ARRAY_SIZE(frame), sizes[s], mask);
		file = ksalloc_create(&framing);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, file);
		for (i = 0; i < ARRAY_SIZE(frame); i++) {
			KUNIT_ASSERT_EQ(test, 0, ksalloc_allocate_frame(file, &frame[i]));
			KUNIT_EXPECT_EQ_MSG(test, (unsigned long)frame[i] & mask, 0,
					    "size %u", sizes[s]);
			/* The whole frame is ours: KASAN checks the bounds. */
			memset(frame[i], 0xa5, sizes[s]);
		}
		for (i = 0; i < ARRAY_SIZE(frame); i++)
			ksalloc_free_frame(file, frame[i]);
		fput(file);
	}
}

static void ksalloc_allocate_frame_exhaustion(struct kunit *test)
{
	struct ksalloc_framing framing = ksalloc_test_framing(8, 256, 15);
	struct file *file = ksalloc_test_create(test, &framing);
	void *first[8], *again[8], *frame;
	int i, j, found;

	for (i = 0; i < 8; i++) {
		KUNIT_ASSERT_EQ(test, 0, ksalloc_allocate_frame(file, &first[i]));
		for (j = 0; j < i; j++)
			KUNIT_EXPECT_PTR_NE(test, first[i], first[j]);
	}
	frame = first;	/* must come back NULL */
	KUNIT_EXPECT_EQ(test, -EAGAIN, ksalloc_allocate_frame(file, &frame));
	KUNIT_EXPECT_NULL(test, frame);

	for (i = 0; i < 8; i++)
		ksalloc_free_frame(file, first[i]);
	/* Refilled: the same eight frames again, then none. */
	for (i = 0; i < 8; i++) {
		KUNIT_ASSERT_EQ(test, 0, ksalloc_allocate_frame(file, &again[i]));
		for (found = 0, j = 0; j < 8; j++)
			found += again[i] == first[j];
		KUNIT_EXPECT_EQ(test, found, 1);
	}
	KUNIT_EXPECT_EQ(test, -EAGAIN, ksalloc_allocate_frame(file, &frame));
	for (i = 0; i < 8; i++)
		ksalloc_free_frame(file, again[i]);
	KUNIT_EXPECT_EQ(test, ksalloc_test_status(test, file).allocated_frames, 0);
}

enum ksalloc_misuse {
	KSALLOC_MISUSE_NULL,
	KSALLOC_MISUSE_INTERIOR,
	KSALLOC_MISUSE_FOREIGN,
	KSALLOC_MISUSE_OTHER_ALLOCATOR,
	KSALLOC_MISUSE_DOUBLE_FREE,
};

static const char * const ksalloc_misuse_names[] = {
	"null", "interior_pointer", "foreign_pointer", "other_allocator",
	"double_free",
};

static const enum ksalloc_misuse ksalloc_misuses[] = {
	KSALLOC_MISUSE_NULL, KSALLOC_MISUSE_INTERIOR, KSALLOC_MISUSE_FOREIGN,
	KSALLOC_MISUSE_OTHER_ALLOCATOR, KSALLOC_MISUSE_DOUBLE_FREE,
};

static void ksalloc_misuse_desc(const enum ksalloc_misuse *m, char *desc)
{
	strscpy(desc, ksalloc_misuse_names[*m], KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(ksalloc_misuse, ksalloc_misuses, ksalloc_misuse_desc);

static void ksalloc_free_frame_misuse(struct kunit *test)
{
	enum ksalloc_misuse m = *(const enum ksalloc_misuse *)test->param_value;
	struct ksalloc_framing framing = ksalloc_test_framing(4, 128, 0);
	struct file *file = ksalloc_test_create(test, &framing);
	struct file *other = ksalloc_test_create(test, &framing);
	struct ksalloc_status before, after;
	struct ksalloc_totals totals_before, totals_after;
	void *held, *bad = NULL, *frame[4];
	int i;

	KUNIT_ASSERT_EQ(test, 0, ksalloc_allocate_frame(file, &held));
	switch (m) {
	case KSALLOC_MISUSE_NULL:
		break;
	case KSALLOC_MISUSE_INTERIOR:
		bad = held + 8;
		break;
	case KSALLOC_MISUSE_FOREIGN:
		bad = kunit_kzalloc(test, 128, GFP_KERNEL);
		break;
	case KSALLOC_MISUSE_OTHER_ALLOCATOR:
		KUNIT_ASSERT_EQ(test, 0, ksalloc_allocate_frame(other, &bad));
		break;
	case KSALLOC_MISUSE_DOUBLE_FREE:
		KUNIT_ASSERT_EQ(test, 0, ksalloc_allocate_frame(file, &bad));
		ksalloc_free_frame(file, bad);
		break;
	}

	before = ksalloc_test_status(test, file);
	ksalloc_get_totals(&totals_before);
	ksalloc_free_frame(file, bad);
	ksalloc_free_frame(file, bad);
	after = ksalloc_test_status(test, file);
	ksalloc_get_totals(&totals_after);
	KUNIT_EXPECT_EQ(test, after.misuse_events, before.misuse_events + 2);
	/* Module-wide too, as debugfs ksalloc/totals shows them. */
	KUNIT_EXPECT_EQ(test, totals_after.misuse_events,
			totals_before.misuse_events + 2);
	KUNIT_EXPECT_EQ(test, after.allocated_frames, before.allocated_frames);

	/* The pool is unchanged: three more frames, then none. */
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, 0, ksalloc_allocate_frame(file, &frame[i]));
	KUNIT_EXPECT_EQ(test, -EAGAIN, ksalloc_allocate_frame(file, &frame[3]));
	for (i = 0; i < 3; i++)
		ksalloc_free_frame(file, frame[i]);
	ksalloc_free_frame(file, held);
	if (m == KSALLOC_MISUSE_OTHER_ALLOCATOR)
		ksalloc_free_frame(other, bad);
	KUNIT_EXPECT_EQ(test, ksalloc_test_status(test, file).allocated_frames, 0);
	KUNIT_EXPECT_EQ(test, ksalloc_test_status(test, other).misuse_events, 0);
}

/*
 * A pointer a few bytes into a frame has low bits set where the table keeps
 * the frames' states (frame + 1 reads as "allocated"): refused like any
 * other, wherever its probe goes. In a pool of one frame, about half of
 * these probes start at the frame's own entry; 64 pools make sure.
 */
static void ksalloc_free_frame_unaligned(struct kunit *test)
{
	struct ksalloc_framing framing = ksalloc_test_framing(1, 64, 0);
	struct ksalloc_status status;
	unsigned int i, off;
	struct file *file;
	void *frame, *extra;

	for (i = 0; i < 64; i++) {
		file = ksalloc_test_create(test, &framing);
		KUNIT_ASSERT_EQ(test, 0, ksalloc_allocate_frame(file, &frame));
		for (off = 1; off < sizeof(long); off++)
			ksalloc_free_frame(file, frame + off);
		status = ksalloc_test_status(test, file);
		KUNIT_EXPECT_EQ(test, status.misuse_events, sizeof(long) - 1);
		KUNIT_EXPECT_EQ(test, status.allocated_frames, 1);
		KUNIT_EXPECT_EQ(test, -EAGAIN, ksalloc_allocate_frame(file, &extra));

		ksalloc_free_frame(file, frame);
		status = ksalloc_test_status(test, file);
		KUNIT_EXPECT_EQ(test, status.allocated_frames, 0);
		KUNIT_EXPECT_EQ(test, status.misuse_events, sizeof(long) - 1);
	}
}

#define KSALLOC_HANDLE_TEST_FRAMES	1024

struct ksalloc_test_handle {
	unsigned long addr;
	u64 handle;
	u32 addr_rank;
};

static int ksalloc_test_by_addr(const void *l, const void *r)
{
	const struct ksalloc_test_handle *a = l, *b = r;

	return a->addr < b->addr ? -1 : a->addr > b->addr;
}

static int ksalloc_test_by_handle(const void *l, const void *r)
{
	const struct ksalloc_test_handle *a = l, *b = r;

	return a->handle < b->handle ? -1 : a->handle > b->handle;
}

/*
 * User-space handles say nothing about addresses: the handles of an
 * allocator of n frames are exactly 1 to n, in an order unrelated to the
 * order of the frames' addresses, and FREE_FRAME fails with EINVAL only out
 * of 1..n, with ENOENT for every frame user space does not hold. A handle's
 * address is learnt by returning that frame alone and taking it with
 * allocate_frame.
 *
 * The order: |Spearman's rho| between address rank and handle rank below
 * 1/4; for a random order its standard deviation is 1/sqrt(n - 1), 1/32
 * here, so a random order fails once in 10^15 runs, an order by address
 * (rho = 1) or its reverse (-1) always.
 */
static void ksalloc_ioctl_alloc_frame_handles(struct kunit *test)
{
	const u32 n = KSALLOC_HANDLE_TEST_FRAMES;
	struct ksalloc_framing framing = ksalloc_test_framing(n, 64, 0);
	struct ksalloc_test_handle *f;
	struct ksalloc_status status;
	u64 h, d2 = 0, rho_den;
	unsigned long *seen, uarg;
	u32 i, dense = 0, enoent = 0;
	struct file *file;
	void *frame;

	f = kunit_kcalloc(test, n, sizeof(*f), GFP_KERNEL);
	seen = kunit_kcalloc(test, BITS_TO_LONGS(n), sizeof(long), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f);
	KUNIT_ASSERT_NOT_NULL(test, seen);
	file = ksalloc_test_open_dev(test, &framing, &uarg);

	for (i = 0; i < n; i++)
		KUNIT_ASSERT_EQ(test, 0,
				ksalloc_test_handle_ioctl(file, KSALLOC_IOC_ALLOC_FRAME,
							  uarg, &f[i].handle));
	for (i = 0; i < n; i++) {
		h = f[i].handle;
		KUNIT_ASSERT_EQ(test, 0,
				ksalloc_test_handle_ioctl(file, KSALLOC_IOC_FREE_FRAME,
							  uarg, &h));
		KUNIT_ASSERT_EQ(test, 0, ksalloc_allocate_frame(file, &frame));
		f[i].addr = (unsigned long)frame;
	}
	for (i = 0; i < n; i++)
		ksalloc_free_frame(file, (void *)f[i].addr);
	status = ksalloc_test_status(test, file);
	KUNIT_EXPECT_EQ(test, status.allocated_frames, 0);
	KUNIT_EXPECT_EQ(test, status.misuse_events, 0);

	for (i = 0; i < n; i++)
		if (f[i].handle >= 1 && f[i].handle <= n &&
		    !__test_and_set_bit(f[i].handle - 1, seen))
			dense++;
	KUNIT_EXPECT_EQ_MSG(test, dense, n, "handles are not exactly 1..%u", n);

	/* Ranks by address, then by handle: their squared differences. */
	sort(f, n, sizeof(*f), ksalloc_test_by_addr, NULL);
	for (i = 0; i < n; i++)
		f[i].addr_rank = i;
	sort(f, n, sizeof(*f), ksalloc_test_by_handle, NULL);
	for (i = 0; i < n; i++) {
		s64 d = (s64)f[i].addr_rank - i;

		d2 += d * d;
	}
	/* rho = 1 - 6 d2 / (n (n^2 - 1)); |rho| < 1/4 <=> 3/4 < 6 d2 / den < 5/4. */
	rho_den = (u64)n * ((u64)n * n - 1);
	kunit_info(test, "Spearman's rho of handles and addresses: %lld/1000\n",
		   1000 - (s64)div64_u64(6000 * d2, rho_den));
	KUNIT_EXPECT_GT_MSG(test, 24 * d2, 3 * rho_den,
			    "handles follow the order of addresses");
	KUNIT_EXPECT_LT_MSG(test, 24 * d2, 5 * rho_den,
			    "handles follow the reverse order of addresses");

	/* No frame is user space's: every handle in range says ENOENT alike. */
	for (h = 1; h <= n; h++) {
		u64 arg = h;

		enoent += ksalloc_test_handle_ioctl(file, KSALLOC_IOC_FREE_FRAME,
						    uarg, &arg) == -ENOENT;
	}
	KUNIT_EXPECT_EQ_MSG(test, enoent, n,
			    "FREE_FRAME of a handle in 1..%u failed otherwise than ENOENT", n);
	for (h = 0; h < 3; h++) {
		u64 arg = h == 0 ? 0 : h == 1 ? n + 1 : U64_MAX;

		KUNIT_EXPECT_EQ_MSG(test, -EINVAL,
				    ksalloc_test_handle_ioctl(file, KSALLOC_IOC_FREE_FRAME,
							      uarg, &arg),
				    "handle %llu", arg);
	}
}

/* A key and the index of its holder in the order under test. */
struct ksalloc_test_key {
	u64 key;
	u32 index;
};

static int ksalloc_test_by_key(const void *l, const void *r)
{
	const struct ksalloc_test_key *a = l, *b = r;

	return a->key < b->key ? -1 : a->key > b->key;
}

/*
 * Spearman's rho between the order of @n keys and their indexes, in
 * thousandths; @k is sorted by key on return. See the bound below.
 */
static s64 ksalloc_test_rho(struct ksalloc_test_key *k, u32 n)
{
	u64 d2 = 0;
	u32 r;

	sort(k, n, sizeof(*k), ksalloc_test_by_key, NULL);
	for (r = 0; r < n; r++) {
		s64 d = (s64)r - k[r].index;

		d2 += d * d;
	}
	/* rho = 1 - 6 d2 / (n (n^2 - 1)) */
	return 1000 - (s64)div64_u64(6000 * d2, (u64)n * ((u64)n * n - 1));
}

/*
 * Nor does the order in which a new pool hands out its frames: for a
 * mappable pool, KSALLOC_IOC_ALLOC_FRAME2 tells user space each frame's
 * offset, so frames handed out in the order of their addresses, or of the
 * table's slots (a function of the address: its hash_32(), ksalloc_hash()),
 * would give away the kernel's addresses through the order of the offsets.
 * The test learns the pool's address (a frame returned, then taken by a
 * kernel client) and bounds |Spearman's rho| between the order of hand-out
 * and the order of the offsets, and of the frames' hashes, below 1/4, as
 * ksalloc_ioctl_alloc_frame_handles() does.
 */
static void ksalloc_ioctl_alloc_frame2_order(struct kunit *test)
{
	const u32 n = KSALLOC_HANDLE_TEST_FRAMES;
	struct ksalloc_framing framing = ksalloc_test_framing(n, 64, 0);
	struct ksalloc_test_key *by_offset, *by_hash;
	struct ksalloc_mapped_frame m;
	unsigned long uarg, base;
	u64 *offset, handle = 0, at;
	struct file *file;
	s64 rho;
	void *frame;
	u32 i;

	framing.options = KSALLOC_OPTIONF_MAPPABLE;
	offset = kunit_kcalloc(test, n, sizeof(*offset), GFP_KERNEL);
	by_offset = kunit_kcalloc(test, n, sizeof(*by_offset), GFP_KERNEL);
	by_hash = kunit_kcalloc(test, n, sizeof(*by_hash), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, offset);
	KUNIT_ASSERT_NOT_NULL(test, by_offset);
	KUNIT_ASSERT_NOT_NULL(test, by_hash);
	file = ksalloc_test_open_dev(test, &framing, &uarg);

	for (i = 0; i < n; i++) {
		m = (struct ksalloc_mapped_frame){};
		KUNIT_ASSERT_EQ(test, 0, copy_to_user((void __user *)uarg, &m, sizeof(m)));
		KUNIT_ASSERT_EQ(test, 0, file->f_op->unlocked_ioctl(file,
								    KSALLOC_IOC_ALLOC_FRAME2,
								    uarg));
		KUNIT_ASSERT_EQ(test, 0, copy_from_user(&m, (void __user *)uarg, sizeof(m)));
		offset[i] = m.offset;
		if (!i)
			handle = m.handle;
	}
	/* The first frame, returned: the only one a kernel client can take. */
	KUNIT_ASSERT_EQ(test, 0, ksalloc_test_handle_ioctl(file, KSALLOC_IOC_FREE_FRAME,
							   uarg, &handle));
	KUNIT_ASSERT_EQ(test, 0, ksalloc_allocate_frame(file, &frame));
	KUNIT_ASSERT_EQ(test, 0, ksalloc_frame_offset(file, frame, &at));
	KUNIT_ASSERT_EQ(test, at, offset[0]);
	base = (unsigned long)frame - at;
	ksalloc_free_frame(file, frame);

	for (i = 0; i < n; i++) {
		by_offset[i] = (struct ksalloc_test_key){ offset[i], i };
		by_hash[i] = (struct ksalloc_test_key){
			hash_32((u32)(base + offset[i]), 32), i
		};
	}
	rho = ksalloc_test_rho(by_offset, n);
	kunit_info(test, "Spearman's rho of hand-out and offsets: %lld/1000\n", rho);
	KUNIT_EXPECT_LT_MSG(test, abs(rho), 250,
			    "frames are handed out in the order of their offsets");
	rho = ksalloc_test_rho(by_hash, n);
	kunit_info(test, "Spearman's rho of hand-out and address hashes: %lld/1000\n",
		   rho);
	KUNIT_EXPECT_LT_MSG(test, abs(rho), 250,
			    "frames are handed out in the order of their addresses' hashes");
}

static struct kunit_case ksalloc_cases[] = {
	KUNIT_CASE(ksalloc_create_framing),
	KUNIT_CASE(ksalloc_get_status_counts),
	KUNIT_CASE(ksalloc_get_functiontable_pool_types),
	KUNIT_CASE(ksalloc_fget_fds),
	KUNIT_CASE_PARAM(ksalloc_allocate_frame_alignment,
			 ksalloc_test_mask_gen_params),
	KUNIT_CASE(ksalloc_allocate_frame_exhaustion),
	KUNIT_CASE_PARAM(ksalloc_free_frame_misuse, ksalloc_misuse_gen_params),
	KUNIT_CASE(ksalloc_free_frame_unaligned),
	KUNIT_CASE(ksalloc_ioctl_alloc_frame_handles),
	KUNIT_CASE(ksalloc_ioctl_alloc_frame2_order),
	{}
};

static struct kunit_suite ksalloc_suite = {
	.name = "ksalloc",
	.test_cases = ksalloc_cases,
};

/* ---- suite ksalloc_context: the table from every context ---- */

enum ksalloc_context {
	KSALLOC_CTX_TASK,
	KSALLOC_CTX_IRQS_OFF,
	KSALLOC_CTX_SPINLOCK,
	KSALLOC_CTX_SOFTIRQ,
	KSALLOC_CTX_HARDIRQ,
};

static const char * const ksalloc_context_names[] = {
	"task", "irqs_off", "spinlock", "softirq", "hardirq",
};

static const enum ksalloc_context ksalloc_contexts[] = {
	KSALLOC_CTX_TASK, KSALLOC_CTX_IRQS_OFF, KSALLOC_CTX_SPINLOCK,
	KSALLOC_CTX_SOFTIRQ, KSALLOC_CTX_HARDIRQ,
};

static void ksalloc_context_desc(const enum ksalloc_context *c, char *desc)
{
	strscpy(desc, ksalloc_context_names[*c], KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(ksalloc_context, ksalloc_contexts, ksalloc_context_desc);

#define KSALLOC_CTX_FRAMES 8

struct ksalloc_ctx_run {
	enum ksalloc_context ctx;
	struct file *file;
	struct ksalloc_functiontable table;
	struct hrtimer timer;
	struct completion done;
	/* Results, read by the test thread after @done. */
	bool right_context;
	int allocated;
	int again;
	int misaligned;
};

/* Takes every frame, one more (-EAGAIN), then returns them all. */
static void ksalloc_ctx_body(struct ksalloc_ctx_run *r)
{
	void *frame[KSALLOC_CTX_FRAMES + 1];
	int i, err;

	for (i = 0; i <= KSALLOC_CTX_FRAMES; i++) {
		err = r->table.allocate_frame(r->file, &frame[i]);
		if (err) {
			r->again += err == -EAGAIN && !frame[i];
			break;
		}
		r->allocated++;
		r->misaligned += (unsigned long)frame[i] & 63;
	}
	while (i--)
		r->table.free_frame(r->file, frame[i]);
}

static bool ksalloc_ctx_check(enum ksalloc_context ctx)
{
	switch (ctx) {
	case KSALLOC_CTX_TASK:
		return preemptible();
	case KSALLOC_CTX_IRQS_OFF:
		return irqs_disabled() && !in_interrupt();
	case KSALLOC_CTX_SPINLOCK:
		/* On PREEMPT_RT a spinlock_t sleeps: interrupts stay on. */
		return irqs_disabled() != IS_ENABLED(CONFIG_PREEMPT_RT) &&
		       !in_interrupt();
	case KSALLOC_CTX_SOFTIRQ:
		return in_serving_softirq();
	case KSALLOC_CTX_HARDIRQ:
		return in_hardirq();
	}
	return false;
}

static enum hrtimer_restart ksalloc_ctx_timer(struct hrtimer *timer)
{
	struct ksalloc_ctx_run *r = container_of(timer, struct ksalloc_ctx_run,
						 timer);

	r->right_context = ksalloc_ctx_check(r->ctx);
	ksalloc_ctx_body(r);
	complete(&r->done);
	return HRTIMER_NORESTART;
}

static DEFINE_SPINLOCK(ksalloc_test_lock);

static void ksalloc_table_contexts(struct kunit *test)
{
	struct ksalloc_framing framing = ksalloc_test_framing(KSALLOC_CTX_FRAMES,
							      300, 63);
	struct ksalloc_ctx_run *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	enum hrtimer_mode mode;
	unsigned long flags;

	KUNIT_ASSERT_NOT_NULL(test, r);
	r->ctx = *(const enum ksalloc_context *)test->param_value;
	r->file = ksalloc_test_create(test, &framing);
	KUNIT_ASSERT_EQ(test, 0, ksalloc_get_functiontable(r->file, &r->table));
	init_completion(&r->done);

	switch (r->ctx) {
	case KSALLOC_CTX_TASK:
		r->right_context = ksalloc_ctx_check(r->ctx);
		ksalloc_ctx_body(r);
		break;
	case KSALLOC_CTX_IRQS_OFF:
		local_irq_save(flags);
		r->right_context = ksalloc_ctx_check(r->ctx);
		ksalloc_ctx_body(r);
		local_irq_restore(flags);
		break;
	case KSALLOC_CTX_SPINLOCK:
		spin_lock_irqsave(&ksalloc_test_lock, flags);
		r->right_context = ksalloc_ctx_check(r->ctx);
		ksalloc_ctx_body(r);
		spin_unlock_irqrestore(&ksalloc_test_lock, flags);
		break;
	case KSALLOC_CTX_SOFTIRQ:
	case KSALLOC_CTX_HARDIRQ:
		mode = r->ctx == KSALLOC_CTX_HARDIRQ ? HRTIMER_MODE_REL_HARD :
						       HRTIMER_MODE_REL_SOFT;
		hrtimer_init(&r->timer, CLOCK_MONOTONIC, mode);
		r->timer.function = ksalloc_ctx_timer;
		hrtimer_start(&r->timer, ns_to_ktime(100 * NSEC_PER_USEC), mode);
		KUNIT_EXPECT_TRUE(test, ksalloc_test_waited(&r->done));
		hrtimer_cancel(&r->timer);
		break;
	}

	KUNIT_EXPECT_TRUE(test, r->right_context);
	KUNIT_EXPECT_EQ(test, r->allocated, KSALLOC_CTX_FRAMES);
	KUNIT_EXPECT_EQ(test, r->again, 1);
	KUNIT_EXPECT_EQ(test, r->misaligned, 0);
	KUNIT_EXPECT_EQ(test, ksalloc_test_status(test, r->file).allocated_frames, 0);
}

static struct kunit_case ksalloc_context_cases[] = {
	KUNIT_CASE_PARAM(ksalloc_table_contexts, ksalloc_context_gen_params),
	{}
};

static struct kunit_suite ksalloc_context_suite = {
	.name = "ksalloc_context",
	.test_cases = ksalloc_context_cases,
};

/* ---- suite ksalloc_async: events, pending requests, release ---- */

static void ksalloc_submit_request_fifo(struct kunit *test)
{
	struct ksalloc_framing framing = ksalloc_test_framing(2, 64, 0);
	struct file *file = ksalloc_test_create(test, &framing);
	struct ksalloc_test_req *r;
	atomic_t order = ATOMIC_INIT(0);
	void *held[2];
	int i;

	r = kunit_kcalloc(test, 4, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r);
	for (i = 0; i < 2; i++)
		KUNIT_ASSERT_EQ(test, 0, ksalloc_allocate_frame(file, &held[i]));
	for (i = 0; i < 4; i++) {
		ksalloc_test_req_init(&r[i], &order);
		KUNIT_ASSERT_EQ(test, 0, ksalloc_submit_request(file, &r[i].req));
	}
	KUNIT_EXPECT_EQ(test, ksalloc_test_status(test, file).waiters, 4);

	/* Each returned frame goes to the oldest request, never to the pool. */
	ksalloc_free_frame(file, held[0]);
	ksalloc_free_frame(file, held[1]);
	for (i = 0; i < 4; i++) {
		KUNIT_ASSERT_TRUE(test, ksalloc_test_waited(&r[i].done));
		KUNIT_EXPECT_EQ(test, r[i].seq, i + 1);
		KUNIT_EXPECT_EQ(test, r[i].error, 0);
		KUNIT_EXPECT_TRUE(test, r[i].process_context);
		/* Both frames are with requests until the last two return. */
		if (i < 3)
			KUNIT_EXPECT_EQ(test, -EAGAIN,
					ksalloc_allocate_frame(file, &held[0]));
		ksalloc_free_frame(file, r[i].frame);
	}
	KUNIT_EXPECT_PTR_EQ(test, r[0].frame, r[2].frame);
	KUNIT_EXPECT_PTR_EQ(test, r[1].frame, r[3].frame);
	KUNIT_EXPECT_EQ(test, ksalloc_test_status(test, file).waiters, 0);
	KUNIT_EXPECT_EQ(test, ksalloc_test_status(test, file).allocated_frames, 0);
}

static void ksalloc_submit_request_immediate(struct kunit *test)
{
	struct ksalloc_framing framing = ksalloc_test_framing(1, 64, 0);
	struct ksalloc_test_req r;
	atomic_t order = ATOMIC_INIT(0);
	struct file *file;

	/* Sleepable pools are served by requests too. */
	framing.pool_type = KSALLOC_POOL_SLEEPABLE;
	file = ksalloc_test_create(test, &framing);
	ksalloc_test_req_init(&r, &order);
	KUNIT_ASSERT_EQ(test, 0, ksalloc_submit_request(file, &r.req));
	KUNIT_ASSERT_TRUE(test, ksalloc_test_waited(&r.done));
	KUNIT_EXPECT_EQ(test, r.error, 0);
	KUNIT_EXPECT_NOT_NULL(test, r.frame);
	KUNIT_EXPECT_EQ(test, ksalloc_test_status(test, file).allocated_frames, 1);
	KUNIT_EXPECT_FALSE(test, ksalloc_cancel_request(file, &r.req));
	ksalloc_free_frame(file, r.frame);
	KUNIT_EXPECT_EQ(test, ksalloc_test_status(test, file).allocated_frames, 0);

	r.req.complete = NULL;
	KUNIT_EXPECT_EQ(test, -EINVAL, ksalloc_submit_request(file, &r.req));
}

static void ksalloc_cancel_request_pending(struct kunit *test)
{
	struct ksalloc_framing framing = ksalloc_test_framing(1, 64, 0);
	struct file *file = ksalloc_test_create(test, &framing);
	struct ksalloc_test_req r[2];
	atomic_t order = ATOMIC_INIT(0);
	void *held;

	KUNIT_ASSERT_EQ(test, 0, ksalloc_allocate_frame(file, &held));
	ksalloc_test_req_init(&r[0], &order);
	ksalloc_test_req_init(&r[1], &order);
	KUNIT_ASSERT_EQ(test, 0, ksalloc_submit_request(file, &r[0].req));
	KUNIT_ASSERT_EQ(test, 0, ksalloc_submit_request(file, &r[1].req));

	KUNIT_EXPECT_TRUE(test, ksalloc_cancel_request(file, &r[0].req));
	KUNIT_EXPECT_EQ(test, ksalloc_test_status(test, file).waiters, 1);
	ksalloc_free_frame(file, held);
	KUNIT_ASSERT_TRUE(test, ksalloc_test_waited(&r[1].done));
	KUNIT_EXPECT_PTR_EQ(test, r[1].frame, held);
	KUNIT_EXPECT_FALSE(test, ksalloc_cancel_request(file, &r[1].req));
	KUNIT_EXPECT_FALSE(test, completion_done(&r[0].done));
	KUNIT_EXPECT_EQ(test, atomic_read(&order), 1);
	ksalloc_free_frame(file, r[1].frame);
}

/* Pools of 1 frame per CPU cache (2) and of whole caches (64). */
static const u32 ksalloc_cpus_frames[] = { 2, 64 };

static void ksalloc_cpus_desc(const u32 *frames, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%u frames", *frames);
}

KUNIT_ARRAY_PARAM(ksalloc_cpus, ksalloc_cpus_frames, ksalloc_cpus_desc);

/*
 * Frames freed on one CPU sit in its cache: another CPU still gets every
 * one of them, and a request from another CPU is served from that cache
 * at once instead of waiting.
 */
static void ksalloc_allocate_frame_other_cpus(struct kunit *test)
{
	unsigned int n = *(const u32 *)test->param_value;
	struct ksalloc_framing framing = ksalloc_test_framing(n, 64, 0);
	struct file *file = ksalloc_test_create(test, &framing);
	struct ksalloc_status status;
	struct ksalloc_test_req r;
	atomic_t order = ATOMIC_INIT(0);
	int a = cpumask_first(cpu_online_mask);
	int b = cpumask_next(a, cpu_online_mask);
	void **frame, *extra;

	if (b >= nr_cpu_ids)
		kunit_skip(test, "needs two online CPUs");
	frame = kunit_kcalloc(test, n, sizeof(*frame), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, frame);

	KUNIT_ASSERT_EQ(test, ksalloc_cpus_do(file, a, frame, n, true), n);
	KUNIT_ASSERT_EQ(test, ksalloc_cpus_do(file, a, frame, n, false), n);
	KUNIT_ASSERT_EQ(test, ksalloc_cpus_do(file, b, frame, n, true), n);
	KUNIT_EXPECT_EQ(test, ksalloc_cpus_do(file, b, &extra, 1, true), 0);
	status = ksalloc_test_status(test, file);
	KUNIT_EXPECT_EQ(test, status.allocated_frames, n);
	KUNIT_EXPECT_EQ(test, status.peak_allocated_frames, n);
	KUNIT_EXPECT_EQ(test, status.total_allocations, 2 * n);
	KUNIT_EXPECT_EQ(test, status.failed_allocations, 1);

	/* One frame back on @a, in its cache; a request from @b gets it. */
	KUNIT_ASSERT_EQ(test, ksalloc_cpus_do(file, a, frame, 1, false), 1);
	ksalloc_test_req_init(&r, &order);
	KUNIT_ASSERT_EQ(test, 0, ksalloc_submit_request(file, &r.req));
	KUNIT_ASSERT_TRUE(test, ksalloc_test_waited(&r.done));
	KUNIT_EXPECT_EQ(test, r.error, 0);
	KUNIT_EXPECT_PTR_EQ(test, r.frame, frame[0]);
	frame[0] = r.frame;

	KUNIT_ASSERT_EQ(test, ksalloc_cpus_do(file, b, frame, n, false), n);
	status = ksalloc_test_status(test, file);
	KUNIT_EXPECT_EQ(test, status.allocated_frames, 0);
	KUNIT_EXPECT_EQ(test, status.peak_allocated_frames, n);
	KUNIT_EXPECT_EQ(test, status.total_allocations, 2 * n + 1);
	KUNIT_EXPECT_EQ(test, status.waiters, 0);
	KUNIT_EXPECT_EQ(test, status.misuse_events, 0);
}

/*
 * The counters stay exact as frames move between CPUs: a seeded walk of
 * allocations and frees, each batch on one of two CPUs, is checked against
 * a model after every batch (peak: the most frames held at once).
 */
static void ksalloc_get_status_other_cpus(struct kunit *test)
{
	unsigned int n = *(const u32 *)test->param_value;
	struct ksalloc_framing framing = ksalloc_test_framing(n, 64, 0);
	struct file *file = ksalloc_test_create(test, &framing);
	int cpu[2] = { cpumask_first(cpu_online_mask) };
	unsigned int i, k, done, held = 0, peak = 0;
	struct ksalloc_status status;
	struct rnd_state rnd;
	void **frame;
	int on;

	cpu[1] = cpumask_next(cpu[0], cpu_online_mask);
	if (cpu[1] >= nr_cpu_ids)
		kunit_skip(test, "needs two online CPUs");
	/* Room for a batch that finds the pool exhausted. */
	frame = kunit_kcalloc(test, n + 24, sizeof(*frame), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, frame);
	prandom_seed_state(&rnd, 2026);

	for (i = 0; i < 400; i++) {
		on = cpu[prandom_u32_state(&rnd) & 1];
		k = 1 + prandom_u32_state(&rnd) % min(n, 24U);
		/* Allocate more often than free: the peak keeps moving up. */
		if (prandom_u32_state(&rnd) % 5 < 3) {
			done = ksalloc_cpus_do(file, on, &frame[held], k, true);
			KUNIT_ASSERT_EQ(test, done, min(k, n - held));
			held += done;
		} else {
			k = min(k, held);
			held -= k;
			KUNIT_ASSERT_EQ(test, ksalloc_cpus_do(file, on,
							      &frame[held], k,
							      false), k);
		}
		peak = max(peak, held);
		status = ksalloc_test_status(test, file);
		KUNIT_ASSERT_EQ_MSG(test, status.allocated_frames, held,
				    "batch %u", i);
		KUNIT_ASSERT_EQ_MSG(test, status.peak_allocated_frames, peak,
				    "batch %u", i);
		/* Now and then a burst back to empty: the peak stays. */
		if (i % 50 == 49) {
			KUNIT_ASSERT_EQ(test, ksalloc_cpus_do(file, on, frame,
							      held, false),
					held);
			held = 0;
		}
	}
	status = ksalloc_test_status(test, file);
	KUNIT_EXPECT_EQ(test, status.allocated_frames, held);
	KUNIT_EXPECT_EQ(test, status.peak_allocated_frames, peak);
	KUNIT_EXPECT_EQ(test, status.peak_allocated_frames, n);
	KUNIT_EXPECT_EQ(test, status.misuse_events, 0);
	KUNIT_ASSERT_EQ(test, ksalloc_cpus_do(file, cpu[0], frame, held, false),
			held);
}

static void ksalloc_enable_free_frame_event_signals(struct kunit *test)
{
	struct ksalloc_framing framing = ksalloc_test_framing(2, 64, 0);
	struct file *file = ksalloc_test_create(test, &framing);
	struct ksalloc_test_event e = {};
	struct ksalloc_test_req r;
	atomic_t order = ATOMIC_INIT(0);
	void *held[2];

	init_completion(&e.called);
	KUNIT_ASSERT_EQ(test, ksalloc_test_enable_event(file, &e), 0);
	KUNIT_EXPECT_EQ(test, ksalloc_test_enable_event(file, &e), -EBUSY);
	KUNIT_EXPECT_EQ(test, ksalloc_enable_free_frame_event(file, NULL, &e),
			-EINVAL);

	KUNIT_ASSERT_EQ(test, 0, ksalloc_allocate_frame(file, &held[0]));
	KUNIT_ASSERT_EQ(test, 0, ksalloc_allocate_frame(file, &held[1]));
	ksalloc_test_req_init(&r, &order);
	KUNIT_ASSERT_EQ(test, 0, ksalloc_submit_request(file, &r.req));

	/* Handed straight to the pending request: no event. */
	ksalloc_free_frame(file, held[0]);
	KUNIT_ASSERT_TRUE(test, ksalloc_test_waited(&r.done));
	msleep(20);
	KUNIT_EXPECT_EQ(test, atomic_read(&e.calls), 0);

	/* Free for allocate_frame: the event runs, in its documented context. */
	ksalloc_free_frame(file, held[1]);
	KUNIT_ASSERT_TRUE(test, ksalloc_test_waited(&e.called));
	KUNIT_EXPECT_PTR_EQ(test, e.file, file);
	KUNIT_EXPECT_TRUE(test, e.right_context);

	/* Disabled: no more calls. */
	ksalloc_disable_free_frame_event(file);
	atomic_set(&e.calls, 0);
	ksalloc_free_frame(file, r.frame);
	msleep(20);
	KUNIT_EXPECT_EQ(test, atomic_read(&e.calls), 0);
	KUNIT_EXPECT_EQ(test, ksalloc_test_enable_event(file, &e), 0);
}

/*
 * A poll() waiter that calls ->poll() once and then only sleeps on its
 * wake-ups, as epoll with EPOLLET and io_uring's multishot poll do: its
 * poll_table queues an entry of its own, whose wake function counts.
 */
struct ksalloc_test_poller {
	poll_table pt;
	wait_queue_head_t *head;
	wait_queue_entry_t entry;
	struct completion woken;
	/* The kernel client: holds @held, frees @frame of @file in hard IRQ. */
	struct hrtimer timer;
	struct file *file;
	void *frame;
	void *held[2];
	unsigned int nr_held;
};

static int ksalloc_test_poller_wake(wait_queue_entry_t *entry,
				    unsigned int mode, int sync, void *key)
{
	struct ksalloc_test_poller *p =
		container_of(entry, struct ksalloc_test_poller, entry);

	if (key_to_poll(key) & EPOLLIN)
		complete(&p->woken);
	return 0;
}

static void ksalloc_test_poller_queue(struct file *file,
				      wait_queue_head_t *head, poll_table *pt)
{
	struct ksalloc_test_poller *p =
		container_of(pt, struct ksalloc_test_poller, pt);

	p->head = head;
	add_wait_queue(head, &p->entry);
}

static enum hrtimer_restart ksalloc_test_poller_free(struct hrtimer *timer)
{
	struct ksalloc_test_poller *p =
		container_of(timer, struct ksalloc_test_poller, timer);

	ksalloc_free_frame(p->file, p->frame);
	return HRTIMER_NORESTART;
}

/*
 * Before the allocator is released, its action being older: a failed case
 * leaves no frame out, and no entry on its wait queue.
 */
static void ksalloc_test_poller_stop(void *data)
{
	struct ksalloc_test_poller *p = data;

	if (hrtimer_cancel(&p->timer))
		ksalloc_free_frame(p->file, p->frame);
	if (p->head)
		remove_wait_queue(p->head, &p->entry);
	while (p->nr_held)
		ksalloc_free_frame(p->file, p->held[--p->nr_held]);
}

/*
 * Told once that frames are free, the waiter never asks again. A kernel
 * client takes every frame through the function table and is refused one
 * more; its free, in hard IRQ, must wake the waiter, every round. Before,
 * the refusal armed nothing: the free went to the CPU's cache, unseen.
 */
static void ksalloc_free_frame_wakes_edge_poller(struct kunit *test)
{
	struct ksalloc_framing framing = ksalloc_test_framing(2, 64, 0);
	struct file *file = ksalloc_test_create(test, &framing);
	struct ksalloc_test_poller *p;
	unsigned int round;
	void *extra;

	p = kunit_kzalloc(test, sizeof(*p), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	init_waitqueue_func_entry(&p->entry, ksalloc_test_poller_wake);
	init_poll_funcptr(&p->pt, ksalloc_test_poller_queue);
	init_completion(&p->woken);
	hrtimer_init(&p->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	p->timer.function = ksalloc_test_poller_free;
	p->file = file;
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, ksalloc_test_poller_stop, p));

	/* The waiter's only ->poll(): frames are free. */
	KUNIT_ASSERT_EQ(test, (__force u32)vfs_poll(file, &p->pt),
			(__force u32)(EPOLLIN | EPOLLRDNORM));
	KUNIT_ASSERT_NOT_NULL(test, p->head);

	for (round = 0; round < 3; round++) {
		while (p->nr_held < ARRAY_SIZE(p->held)) {
			KUNIT_ASSERT_EQ(test, 0,
					ksalloc_allocate_frame(file, &p->held[p->nr_held]));
			p->nr_held++;
		}
		KUNIT_ASSERT_EQ(test, -EAGAIN,
				ksalloc_allocate_frame(file, &extra));
		KUNIT_EXPECT_FALSE_MSG(test, completion_done(&p->woken),
				       "round %u: woken before the free", round);

		p->frame = p->held[--p->nr_held];
		hrtimer_start(&p->timer, ms_to_ktime(1), HRTIMER_MODE_REL_HARD);
		KUNIT_ASSERT_TRUE_MSG(test, ksalloc_test_waited(&p->woken),
				      "round %u: not woken by the free", round);
		reinit_completion(&p->woken);
	}
	KUNIT_EXPECT_EQ(test, ksalloc_test_status(test, file).allocated_frames, 1);
	KUNIT_EXPECT_EQ(test, ksalloc_test_status(test, file).misuse_events, 0);
}

static void ksalloc_release_outstanding(struct kunit *test)
{
	struct ksalloc_framing framing = ksalloc_test_framing(2, 512, 0);
	struct ksalloc_totals before, after;
	struct ksalloc_test_event e = {};
	struct ksalloc_test_req r;
	atomic_t order = ATOMIC_INIT(0);
	struct file *file;
	u8 *held[2];
	int i;

	file = ksalloc_create(&framing);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, file);
	init_completion(&e.called);
	KUNIT_ASSERT_EQ(test, ksalloc_test_enable_event(file, &e), 0);
	for (i = 0; i < 2; i++) {
		KUNIT_ASSERT_EQ(test, 0, ksalloc_allocate_frame(file, (void **)&held[i]));
		memset(held[i], i + 1, 512);
	}
	ksalloc_test_req_init(&r, &order);
	KUNIT_ASSERT_EQ(test, 0, ksalloc_submit_request(file, &r.req));

	/* A client bug: the last reference goes with frames still out. */
	ksalloc_get_totals(&before);
	__fput_sync(file);
	ksalloc_get_totals(&after);
	/* One retaining release of two frames, seen module-wide; no misuse. */
	KUNIT_EXPECT_EQ(test, after.retaining_releases,
			before.retaining_releases + 1);
	KUNIT_EXPECT_EQ(test, after.retained_frames, before.retained_frames + 2);
	KUNIT_EXPECT_EQ(test, after.misuse_events, before.misuse_events);

	KUNIT_ASSERT_TRUE(test, ksalloc_test_waited(&r.done));
	KUNIT_EXPECT_EQ(test, r.error, -ENODEV);
	KUNIT_EXPECT_NULL(test, r.frame);
	/* Retained, not freed: a late writer corrupts nothing (KASAN watches). */
	for (i = 0; i < 2; i++) {
		KUNIT_EXPECT_EQ(test, held[i][0], i + 1);
		KUNIT_EXPECT_EQ(test, held[i][511], i + 1);
		memset(held[i], 0x5a, 512);
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&e.calls), 0);
}

struct ksalloc_test_resubmit {
	struct ksalloc_test_req r;
	struct ksalloc_test_event e;
	struct file *file;
	atomic_t calls;
	int submit;
	int enable;
};

/* Completes the request, and at the first call asks again: both ways. */
static void ksalloc_test_resubmit_complete(struct ksalloc_request *req,
					   void *frame, int error)
{
	struct ksalloc_test_resubmit *t =
		container_of(req, struct ksalloc_test_resubmit, r.req);

	if (atomic_inc_return(&t->calls) == 1) {
		t->submit = ksalloc_submit_request(t->file, req);
		t->enable = ksalloc_test_enable_event(t->file, &t->e);
	}
	ksalloc_test_req_complete(req, frame, error);
}

/*
 * A request completion that runs because the allocator is being released
 * submits its request again and enables the free-frame event: both are
 * refused with -ENODEV, and the completion runs once. (Accepted, the request
 * would pend in an allocator about to be freed, never to complete.) The only
 * frame is held by user space, so that the release retains nothing.
 */
static void ksalloc_submit_request_during_release(struct kunit *test)
{
	struct ksalloc_framing framing = ksalloc_test_framing(1, 64, 0);
	struct ksalloc_totals before, after;
	struct ksalloc_test_resubmit *t;
	atomic_t order = ATOMIC_INIT(0);
	unsigned long uarg;
	u64 handle = 0;

	t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	t->file = ksalloc_test_open_dev(test, &framing, &uarg);
	KUNIT_ASSERT_EQ(test, 0,
			ksalloc_test_handle_ioctl(t->file, KSALLOC_IOC_ALLOC_FRAME,
						  uarg, &handle));
	ksalloc_test_req_init(&t->r, &order);
	t->r.req.complete = ksalloc_test_resubmit_complete;
	init_completion(&t->e.called);
	KUNIT_ASSERT_EQ(test, 0, ksalloc_submit_request(t->file, &t->r.req));
	KUNIT_ASSERT_EQ(test, ksalloc_test_status(test, t->file).waiters, 1);

	ksalloc_get_totals(&before);
	kunit_release_action(test, ksalloc_test_fput, t->file);
	ksalloc_get_totals(&after);
	KUNIT_ASSERT_TRUE(test, ksalloc_test_waited(&t->r.done));
	msleep(20);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->calls), 1);
	KUNIT_EXPECT_EQ(test, t->r.error, -ENODEV);
	KUNIT_EXPECT_EQ(test, t->submit, -ENODEV);
	KUNIT_EXPECT_EQ(test, t->enable, -ENODEV);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->e.calls), 0);
	KUNIT_EXPECT_EQ(test, after.retaining_releases, before.retaining_releases);
}

/*
 * Free frames poisoned (KSALLOC_POISON_FRAMES): the frames are taken by
 * allocate_frame (fast and slow paths: a pool of four frames has one-frame
 * caches), by requests (a sleepable pool: every grant), or not again at all
 * (the release checks the free ones).
 */
enum ksalloc_handout {
	KSALLOC_HANDOUT_TABLE,
	KSALLOC_HANDOUT_REQUEST,
	KSALLOC_HANDOUT_RELEASE,
};

static const char * const ksalloc_handout_names[] = {
	"allocate_frame", "request", "release",
};

static const enum ksalloc_handout ksalloc_handouts[] = {
	KSALLOC_HANDOUT_TABLE, KSALLOC_HANDOUT_REQUEST, KSALLOC_HANDOUT_RELEASE,
};

static void ksalloc_handout_desc(const enum ksalloc_handout *h, char *desc)
{
	strscpy(desc, ksalloc_handout_names[*h], KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(ksalloc_handout, ksalloc_handouts, ksalloc_handout_desc);

#define KSALLOC_POISON_TEST_FRAMES	4
#define KSALLOC_POISON_TEST_SIZE	256

/* The allocator of a poisoning case: released at the end, or by the case. */
static struct file *ksalloc_poison_test_create(struct kunit *test,
					       enum ksalloc_handout h)
{
	struct ksalloc_framing framing =
		ksalloc_test_framing(KSALLOC_POISON_TEST_FRAMES,
				     KSALLOC_POISON_TEST_SIZE, 0);

	if (!KSALLOC_POISON_FRAMES)
		kunit_skip(test, "free frames are poisoned only with KASAN or SLUB_DEBUG_ON");
	if (h == KSALLOC_HANDOUT_REQUEST)
		framing.pool_type = KSALLOC_POOL_SLEEPABLE;
	return ksalloc_test_create(test, &framing);
}

/* Takes a frame as @h says: allocate_frame, or a request waited for. */
static u8 *ksalloc_poison_test_take(struct kunit *test, struct file *file,
				    enum ksalloc_handout h)
{
	atomic_t order = ATOMIC_INIT(0);
	struct ksalloc_test_req r;
	bool waited;
	void *frame;

	if (h != KSALLOC_HANDOUT_REQUEST) {
		KUNIT_ASSERT_EQ(test, 0, ksalloc_allocate_frame(file, &frame));
		return frame;
	}
	ksalloc_test_req_init(&r, &order);
	KUNIT_ASSERT_EQ(test, 0, ksalloc_submit_request(file, &r.req));
	waited = ksalloc_test_waited(&r.done);
	/* Done with @r, on our stack, before any assertion returns. */
	if (!waited)
		ksalloc_cancel_request(file, &r.req);
	KUNIT_ASSERT_TRUE(test, waited);
	KUNIT_ASSERT_EQ(test, r.error, 0);
	return r.frame;
}

/* Releases a poisoning case's allocator now. */
static void ksalloc_poison_test_release(struct kunit *test, struct file *file)
{
	kunit_release_action(test, ksalloc_test_fput, file);
}

/*
 * A frame freed and then written by its former holder is reported when it
 * is handed out again, or at the release if it never is: one misuse event,
 * here and module-wide. It is handed out all the same, poisoned again.
 */
static void ksalloc_free_frame_write_after_free(struct kunit *test)
{
	enum ksalloc_handout h = *(const enum ksalloc_handout *)test->param_value;
	struct file *file = ksalloc_poison_test_create(test, h);
	u8 *stale, *frame[KSALLOC_POISON_TEST_FRAMES];
	struct ksalloc_totals before, after;
	int i, found = 0;

	stale = ksalloc_poison_test_take(test, file, h);
	ksalloc_free_frame(file, stale);
	ksalloc_get_totals(&before);
	/* The client bug: a write through the pointer it just gave back. */
	stale[100] = (u8)~POISON_FREE;

	if (h == KSALLOC_HANDOUT_RELEASE) {
		ksalloc_poison_test_release(test, file);
		ksalloc_get_totals(&after);
		KUNIT_EXPECT_EQ(test, after.misuse_events, before.misuse_events + 1);
		return;
	}
	/* Every frame: the written one comes back among them. */
	for (i = 0; i < KSALLOC_POISON_TEST_FRAMES; i++) {
		frame[i] = ksalloc_poison_test_take(test, file, h);
		found += frame[i] == stale;
	}
	ksalloc_get_totals(&after);
	KUNIT_ASSERT_EQ(test, found, 1);
	KUNIT_EXPECT_EQ(test, after.misuse_events, before.misuse_events + 1);
	KUNIT_EXPECT_EQ(test, ksalloc_test_status(test, file).misuse_events, 1);
	KUNIT_EXPECT_EQ(test, stale[100], POISON_FREE);

	/* Counted once: returned and taken again, no frame is reported. */
	for (i = 0; i < KSALLOC_POISON_TEST_FRAMES; i++)
		ksalloc_free_frame(file, frame[i]);
	for (i = 0; i < KSALLOC_POISON_TEST_FRAMES; i++)
		frame[i] = ksalloc_poison_test_take(test, file, h);
	for (i = 0; i < KSALLOC_POISON_TEST_FRAMES; i++)
		ksalloc_free_frame(file, frame[i]);
	KUNIT_EXPECT_EQ(test, ksalloc_test_status(test, file).misuse_events, 1);
}

/*
 * The other side: a frame is handed out all POISON_FREE, first from the
 * fill, then after its holder wrote it and freed it; nothing is reported,
 * at any hand-out or at the release.
 */
static void ksalloc_free_frame_poisons(struct kunit *test)
{
	enum ksalloc_handout h = *(const enum ksalloc_handout *)test->param_value;
	struct file *file = ksalloc_poison_test_create(test, h);
	u8 *frame[KSALLOC_POISON_TEST_FRAMES];
	struct ksalloc_totals before, after;
	int i, round;

	ksalloc_get_totals(&before);
	for (round = 0; round < 2; round++) {
		for (i = 0; i < KSALLOC_POISON_TEST_FRAMES; i++) {
			frame[i] = ksalloc_poison_test_take(test, file, h);
			KUNIT_EXPECT_PTR_EQ_MSG(test, NULL,
						memchr_inv(frame[i], POISON_FREE,
							   KSALLOC_POISON_TEST_SIZE),
						"round %d frame %d", round, i);
			/* The holder's to write, all of it. */
			memset(frame[i], i, KSALLOC_POISON_TEST_SIZE);
		}
		for (i = 0; i < KSALLOC_POISON_TEST_FRAMES; i++)
			ksalloc_free_frame(file, frame[i]);
	}
	KUNIT_EXPECT_EQ(test, ksalloc_test_status(test, file).misuse_events, 0);
	if (h == KSALLOC_HANDOUT_RELEASE)
		ksalloc_poison_test_release(test, file);
	ksalloc_get_totals(&after);
	KUNIT_EXPECT_EQ(test, after.misuse_events, before.misuse_events);
}

static struct kunit_case ksalloc_async_cases[] = {
	KUNIT_CASE(ksalloc_submit_request_fifo),
	KUNIT_CASE(ksalloc_submit_request_immediate),
	KUNIT_CASE(ksalloc_cancel_request_pending),
	KUNIT_CASE(ksalloc_enable_free_frame_event_signals),
	KUNIT_CASE(ksalloc_free_frame_wakes_edge_poller),
	KUNIT_CASE_PARAM(ksalloc_allocate_frame_other_cpus, ksalloc_cpus_gen_params),
	KUNIT_CASE_PARAM(ksalloc_get_status_other_cpus, ksalloc_cpus_gen_params),
	KUNIT_CASE(ksalloc_release_outstanding),
	KUNIT_CASE(ksalloc_submit_request_during_release),
	KUNIT_CASE_PARAM(ksalloc_free_frame_write_after_free,
			 ksalloc_handout_gen_params),
	KUNIT_CASE_PARAM(ksalloc_free_frame_poisons, ksalloc_handout_gen_params),
	{}
};

static struct kunit_suite ksalloc_async_suite = {
	.name = "ksalloc_async",
	.test_cases = ksalloc_async_cases,
};

kunit_test_suites(&ksalloc_suite, &ksalloc_context_suite, &ksalloc_async_suite);

MODULE_DESCRIPTION("KUnit tests for ksalloc");
MODULE_LICENSE("GPL");
