// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite ksalloc_fault: ksalloc_create() under injected allocation
 * failures.
 *
 * ksalloc_create() is reachable from kernel code only, so its error paths are
 * swept here; the user-space paths (open, KSALLOC_IOC_SET_FRAMING, the capture
 * driver's) are swept by tools/testing/ksalloc_failnth_test.c.
 *
 * Each case fails the n-th slab allocation made by ksalloc_create(), for
 * n = 1, 2, ..., until a create succeeds without reaching its n-th
 * allocation: by then every allocation on the path, ksalloc's own and those
 * of the kernel services it calls (slab cache creation, debugfs, the
 * anonymous file, memcg, kmemleak), has been failed once. Every attempt must
 * either return ERR_PTR(-ENOMEM), after which a create without injection
 * works, or return a complete allocator: its framing echoed, every frame
 * there and nothing more. Leaks are for the kmemleak scan at the end of the
 * test-kernel guest; each allocator is released before the next attempt.
 *
 * The injection is current->fail_nth (CONFIG_FAULT_INJECTION): the per-task
 * counter that /proc/<pid>/task/<tid>/fail-nth writes. While it is n, the
 * n-th should_fail() of the task fails, and the counter is 0 afterwards if
 * that call came, what was left otherwise. Setting the field of current
 * directly does what the proc file does, without a file or a pid, and lets
 * the test arm it right before ksalloc_create() and disarm it right after:
 * no allocation of KUnit's, or of another task, is ever failed. It works in
 * task context only, which a KUnit case is.
 *
 * failslab (CONFIG_FAILSLAB) skips allocations that may sleep unless
 * /sys/kernel/debug/failslab/ignore-gfp-wait is N, and every allocation here
 * may sleep: scripts/guest/test-kernel.sh sets it to N around loading this
 * module. It also keeps failslab out of sysfs_slab_add() (reject-start/end),
 * which in 6.12 leaks a kobject name when it fails (CVE-2024-25740, fixed
 * upstream by 2420baa8e046): a kernel leak that kmemleak would otherwise
 * report after this suite. Where injection cannot work (no CONFIG_FAULT_INJECTION or
 * CONFIG_FAILSLAB, ignore-gfp-wait still Y, as in the in-tree kunit.py run)
 * the cases are skipped; a probe decides, a kmalloc(GFP_KERNEL) under
 * fail_nth = 1 that does not fail.
 *
 * This file is linked into ksalloc_kunit.ko with ksalloc_api_kunit.c, whose
 * MODULE_IMPORT_NS(KSALLOC) and MODULE_LICENSE() cover the module.
 */

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/jiffies.h>
#include <linux/ksalloc.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>

/* Far more than ksalloc_create() allocates: a sweep that gets here never ends. */
#define KSALLOC_FAULT_MAX_NTH	1000U
#define KSALLOC_FAULT_WAIT	(10 * HZ)

#ifdef CONFIG_FAULT_INJECTION
/* From now on, fail this task's @nth slab allocation. */
static void ksalloc_fault_arm(unsigned int nth)
{
	current->fail_nth = nth;
}

/* Stops injecting; returns the allocations still to go, 0 if the n-th came. */
static unsigned int ksalloc_fault_disarm(void)
{
	unsigned int left = current->fail_nth;

	current->fail_nth = 0;
	return left;
}
#else
static void ksalloc_fault_arm(unsigned int nth)
{
}

static unsigned int ksalloc_fault_disarm(void)
{
	return 1;
}
#endif

/* Whether the first slab allocation after arming fails, as the sweep needs. */
static bool ksalloc_fault_works(void)
{
	unsigned int left;
	void *p;

	ksalloc_fault_arm(1);
	p = kmalloc(32, GFP_KERNEL);
	left = ksalloc_fault_disarm();
	/* The allocation must happen, even though nothing uses it. */
	OPTIMIZER_HIDE_VAR(p);
	kfree(p);
	return !p && !left;
}

static void ksalloc_fault_fput(void *file)
{
	fput(file);
	/* Release it now, not from a workqueue: the next attempt starts clean. */
	flush_delayed_fput();
}

struct ksalloc_fault_req {
	struct ksalloc_request req;
	struct completion done;
	void *frame;
	int error;
};

static void ksalloc_fault_req_complete(struct ksalloc_request *req,
				       void *frame, int error)
{
	struct ksalloc_fault_req *r =
		container_of(req, struct ksalloc_fault_req, req);

	r->frame = frame;
	r->error = error;
	complete(&r->done);
}

/*
 * Takes a frame: through the function table from an atomic pool, through a
 * request (the only way) from a sleepable one. 0 or -errno.
 */
static int ksalloc_fault_take(struct file *file, u32 pool_type, void **frame)
{
	struct ksalloc_fault_req r = { .req.complete = ksalloc_fault_req_complete };
	int err;

	if (pool_type == KSALLOC_POOL_ATOMIC)
		return ksalloc_allocate_frame(file, frame);
	init_completion(&r.done);
	err = ksalloc_submit_request(file, &r.req);
	if (err)
		return err;
	if (!wait_for_completion_timeout(&r.done, KSALLOC_FAULT_WAIT)) {
		/* Once this returns, ksalloc is done with @r either way. */
		if (ksalloc_cancel_request(file, &r.req))
			return -ETIMEDOUT;
		wait_for_completion(&r.done);
	}
	*frame = r.frame;
	return r.error;
}

/* No frame beyond the framing: allocate_frame refuses, a request pends. */
static void ksalloc_fault_expect_empty(struct kunit *test, struct file *file,
				       u32 pool_type, unsigned int nth)
{
	struct ksalloc_fault_req r = { .req.complete = ksalloc_fault_req_complete };
	struct ksalloc_status status;
	void *frame;

	if (pool_type == KSALLOC_POOL_ATOMIC) {
		KUNIT_EXPECT_EQ_MSG(test, -EAGAIN, ksalloc_allocate_frame(file, &frame),
				    "nth %u: a frame beyond the framing", nth);
		return;
	}
	init_completion(&r.done);
	KUNIT_ASSERT_EQ(test, 0, ksalloc_submit_request(file, &r.req));
	KUNIT_EXPECT_EQ(test, 0, ksalloc_get_status(file, &status));
	KUNIT_EXPECT_EQ_MSG(test, status.waiters, 1,
			    "nth %u: a request beyond the framing did not wait", nth);
	KUNIT_EXPECT_TRUE_MSG(test, ksalloc_cancel_request(file, &r.req),
			      "nth %u: a request beyond the framing was granted", nth);
}

/*
 * @file is a whole allocator with @framing: the framing is echoed, and every
 * frame (writable over its full size; KASAN watches) can be taken once and
 * given back, the counters agreeing.
 */
static void ksalloc_fault_expect_whole(struct kunit *test, struct file *file,
				       const struct ksalloc_framing *framing,
				       unsigned int nth)
{
	struct ksalloc_status status;
	void **frames;
	u32 i;

	frames = kunit_kcalloc(test, framing->frames, sizeof(*frames), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, frames);
	KUNIT_ASSERT_EQ(test, 0, ksalloc_get_status(file, &status));
	KUNIT_ASSERT_MEMEQ_MSG(test, &status.framing, framing, sizeof(*framing),
			       "nth %u: the framing is not echoed", nth);
	KUNIT_ASSERT_EQ_MSG(test, status.allocated_frames, 0, "nth %u", nth);

	for (i = 0; i < framing->frames; i++) {
		KUNIT_ASSERT_EQ_MSG(test, 0,
				    ksalloc_fault_take(file, framing->pool_type, &frames[i]),
				    "nth %u: frame %u of %u", nth, i, framing->frames);
		KUNIT_ASSERT_NOT_NULL(test, frames[i]);
		memset(frames[i], 0xa5, framing->frame_size);
	}
	ksalloc_fault_expect_empty(test, file, framing->pool_type, nth);
	KUNIT_ASSERT_EQ(test, 0, ksalloc_get_status(file, &status));
	KUNIT_EXPECT_EQ_MSG(test, status.allocated_frames, framing->frames, "nth %u", nth);

	for (i = 0; i < framing->frames; i++)
		ksalloc_free_frame(file, frames[i]);
	KUNIT_ASSERT_EQ(test, 0, ksalloc_get_status(file, &status));
	KUNIT_EXPECT_EQ_MSG(test, status.allocated_frames, 0, "nth %u", nth);
	KUNIT_EXPECT_EQ_MSG(test, status.total_allocations, framing->frames, "nth %u", nth);
	KUNIT_EXPECT_EQ_MSG(test, status.misuse_events, 0, "nth %u", nth);
	kunit_kfree(test, frames);
}

struct ksalloc_fault_case {
	const char *name;
	struct ksalloc_framing framing;
};

static const struct ksalloc_fault_case ksalloc_fault_cases[] = {
	{ "atomic_small",
	  { .pool_type = KSALLOC_POOL_ATOMIC, .frames = 1, .frame_size = 64 } },
	{ "sleepable_small",
	  { .pool_type = KSALLOC_POOL_SLEEPABLE, .frames = 4, .frame_size = 200,
	    .alignment = 63 } },
	/* Each frame an injection point, the sweep costs O(frames^2): 32, not more. */
	{ "atomic_many_frames",
	  { .options = KSALLOC_OPTIONF_SYSTEM_MEMORY, .pool_type = KSALLOC_POOL_ATOMIC,
	    .frames = 32, .frame_size = 48, .alignment = 7 } },
	{ "atomic_large_frames",
	  { .pool_type = KSALLOC_POOL_ATOMIC, .frames = 4, .frame_size = 640 * 480 * 2,
	    .alignment = PAGE_SIZE - 1 } },
	{ "sleepable_large_frames",
	  { .pool_type = KSALLOC_POOL_SLEEPABLE, .frames = 2, .frame_size = SZ_1M } },
};

static void ksalloc_fault_case_desc(const struct ksalloc_fault_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(ksalloc_fault, ksalloc_fault_cases, ksalloc_fault_case_desc);

static void ksalloc_create_fail_nth(struct kunit *test)
{
	const struct ksalloc_fault_case *c = test->param_value;
	unsigned int nth, left, failed = 0, absorbed = 0;
	struct file *file;

	if (!IS_ENABLED(CONFIG_FAULT_INJECTION) || !IS_ENABLED(CONFIG_FAILSLAB))
		kunit_skip(test, "needs CONFIG_FAULT_INJECTION and CONFIG_FAILSLAB");
	if (!ksalloc_fault_works())
		kunit_skip(test, "failslab skips GFP_KERNEL: set failslab/ignore-gfp-wait to N");

	for (nth = 1; nth < KSALLOC_FAULT_MAX_NTH; nth++) {
		ksalloc_fault_arm(nth);
		file = ksalloc_create(&c->framing);
		left = ksalloc_fault_disarm();

		if (IS_ERR(file)) {
			/* An allocation path may fail only where it was made to. */
			KUNIT_ASSERT_EQ_MSG(test, left, 0,
					    "failed (%ld) before allocation %u",
					    PTR_ERR(file), nth);
			KUNIT_ASSERT_EQ_MSG(test, PTR_ERR(file), -ENOMEM,
					    "allocation %u failed: %ld", nth, PTR_ERR(file));
			failed++;
			file = ksalloc_create(&c->framing);
			KUNIT_ASSERT_NOT_ERR_OR_NULL_MSG(test, file,
							 "the create after allocation %u failed",
							 nth);
		} else if (!left) {
			absorbed++;
		}
		KUNIT_ASSERT_NOT_NULL(test, file);
		KUNIT_ASSERT_EQ(test, 0,
				kunit_add_action_or_reset(test, ksalloc_fault_fput, file));
		ksalloc_fault_expect_whole(test, file, &c->framing, nth);
		kunit_release_action(test, ksalloc_fault_fput, file);
		if (left)
			break;
	}
	kunit_info(test, "%s: %u injection points: %u failed with -ENOMEM, %u absorbed\n",
		   c->name, nth - 1, failed, absorbed);
	KUNIT_EXPECT_LT_MSG(test, nth, KSALLOC_FAULT_MAX_NTH, "the sweep did not end");
	/* No injection point at all: the injection does not work. */
	KUNIT_EXPECT_GT(test, nth, 1);
	/* ksalloc_create() needs some allocation that it cannot do without. */
	KUNIT_EXPECT_GT(test, failed, 0);
}

static struct kunit_case ksalloc_fault_test_cases[] = {
	KUNIT_CASE_PARAM_ATTR(ksalloc_create_fail_nth, ksalloc_fault_gen_params,
			      { .speed = KUNIT_SPEED_SLOW }),
	{}
};

static struct kunit_suite ksalloc_fault_suite = {
	.name = "ksalloc_fault",
	.test_cases = ksalloc_fault_test_cases,
};

kunit_test_suites(&ksalloc_fault_suite);
