// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite ksalloc_fault: ksalloc_create() under injected allocation
 * failures.
 *
 * ksalloc_create() is reachable from kernel code only, so its error paths are
 * swept here; the user-space paths (open, KSALLOC_IOC_SET_FRAMING, the capture
 * driver's) are swept by tools/testing/ksalloc_failnth_test.c.
 *
 * Each case fails the n-th allocation made by ksalloc_create(), slab
 * (failslab) or page (fail_page_alloc), for n = 1, 2, ..., until a create
 * succeeds without reaching its n-th allocation: by then every allocation on
 * the path, ksalloc's own and those of the kernel services it calls (slab
 * cache creation, vmalloc, per-CPU memory, debugfs, the anonymous file,
 * memcg, kmemleak, KASAN), has been failed once. Every attempt must either
 * return ERR_PTR(-ENOMEM), after which a create without injection works, or
 * return a complete allocator: its framing echoed, every frame there and
 * nothing more. Leaks are for the kmemleak scan at the end of the
 * test-kernel guest; each allocator is released before the next attempt.
 *
 * So that the sweep reaches every allocation, nothing is found ready made:
 *   - the attempts run as a user that has no other allocator (the creds of
 *     the test thread overridden), so ksalloc_charge_user() allocates the
 *     user's entry each time; and ksalloc's max_user_bytes is the size of the
 *     pool, so that an attempt that did not give its charge back makes every
 *     later one fail with -EDQUOT;
 *   - ksalloc's idle_caches is 0: no idle cache of the geometry is kept, and
 *     each attempt creates its slab cache anew;
 *   - one case has enough frames that its two tables are vmalloc'd.
 * Both parameters are set through their sysfs files, and restored.
 *
 * A pool of F frames makes about 2F alike allocations in a row (each frame
 * and its kmemleak object), and a sweep of them costs O(F^2). Above
 * KSALLOC_FAULT_DENSE_FRAMES, a first create counts the injection points, T;
 * the first KSALLOC_FAULT_PREFIX are swept, which take in every allocation
 * before the fill and its first frames, then one in the middle, and the last
 * ones: the last frames and all that follows.
 *
 * The injection is current->fail_nth (CONFIG_FAULT_INJECTION): the per-task
 * counter that /proc/<pid>/task/<tid>/fail-nth writes, which failslab and
 * fail_page_alloc share. While it is n, the n-th should_fail() of the task
 * fails, and the counter is 0 afterwards if that call came, what was left
 * otherwise. Setting the field of current directly does what the proc file
 * does, without a file or a pid, and lets the test arm it right before
 * ksalloc_create() and disarm it right after: no allocation of KUnit's, or
 * of another task, is ever failed. It works in task context only, which a
 * KUnit case is.
 *
 * failslab (CONFIG_FAILSLAB) skips allocations that may sleep unless
 * /sys/kernel/debug/failslab/ignore-gfp-wait is N, and every allocation here
 * may sleep; fail_page_alloc (CONFIG_FAIL_PAGE_ALLOC) besides skips orders
 * below min-order (1 by default) and highmem: scripts/guest/test-kernel.sh
 * sets them around loading this module. It also keeps both out of
 * sysfs_slab_add() (reject-start/end), which in 6.12 leaks a kobject name
 * when it fails (CVE-2024-25740, fixed upstream by 2420baa8e046): a kernel
 * leak that kmemleak would otherwise report after this suite. Where
 * injection cannot work (no CONFIG_FAULT_INJECTION, CONFIG_FAILSLAB or
 * CONFIG_FAIL_PAGE_ALLOC, or the defaults still set, as in the in-tree
 * kunit.py run) the cases are skipped; probes decide: a kmalloc(GFP_KERNEL)
 * and an alloc_page(GFP_KERNEL) under fail_nth = 1 that do not fail.
 *
 * This file is linked into ksalloc_kunit.ko with ksalloc_api_kunit.c, whose
 * MODULE_IMPORT_NS(KSALLOC) and MODULE_LICENSE() cover the module.
 */

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/cred.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/jiffies.h>
#include <linux/ksalloc.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uidgid.h>

/* Far more than ksalloc_create() allocates: a sweep that gets here never ends. */
#define KSALLOC_FAULT_MAX_NTH	5000U
/* The fail_nth of the first create, which counts the injection points. */
#define KSALLOC_FAULT_COUNT_NTH	1000000000U
/* Above this many frames, the fill is sampled (see the top of this file). */
#define KSALLOC_FAULT_DENSE_FRAMES	64U
/*
 * The points swept in full then: ksalloc_create() of the vmalloc'd tables
 * makes about 50 before the fill (ksalloc_alloc(), the charge, the cache,
 * two vmallocs, the per-CPU caches).
 */
#define KSALLOC_FAULT_PREFIX	64U
#define KSALLOC_FAULT_WAIT	(10 * HZ)
/* The users the cases run as: 0x6b73 'ks', then the case's index. */
#define KSALLOC_FAULT_UID	0x6b730000U
#define KSALLOC_FAULT_PARAMS	"/sys/module/ksalloc/parameters/"

#ifdef CONFIG_FAULT_INJECTION
/* From now on, fail this task's @nth slab or page allocation. */
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
static bool ksalloc_fault_slab_works(void)
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

/* Whether the first page allocation (order 0, may sleep) after arming fails. */
static bool ksalloc_fault_page_works(void)
{
	struct page *page;
	unsigned int left;

	ksalloc_fault_arm(1);
	page = alloc_page(GFP_KERNEL);
	left = ksalloc_fault_disarm();
	if (page)
		__free_page(page);
	return !page && !left;
}

/*
 * ksalloc's module parameter @name, through its sysfs file (the parameters
 * are not exported): read into @buf, newline dropped, or written. 0 or -errno.
 */
static int ksalloc_fault_param_read(const char *name, char *buf, size_t size)
{
	char path[64];
	struct file *f;
	loff_t pos = 0;
	ssize_t len;

	snprintf(path, sizeof(path), KSALLOC_FAULT_PARAMS "%s", name);
	f = filp_open(path, O_RDONLY, 0);
	if (IS_ERR(f))
		return PTR_ERR(f);
	len = kernel_read(f, buf, size - 1, &pos);
	fput(f);
	if (len < 0)
		return len;
	buf[len] = '\0';
	strim(buf);
	return 0;
}

static int ksalloc_fault_param_write(const char *name, const char *val)
{
	size_t n = strlen(val);
	char path[64];
	struct file *f;
	loff_t pos = 0;
	ssize_t len;

	snprintf(path, sizeof(path), KSALLOC_FAULT_PARAMS "%s", name);
	f = filp_open(path, O_WRONLY, 0);
	if (IS_ERR(f))
		return PTR_ERR(f);
	len = kernel_write(f, val, n, &pos);
	fput(f);
	if (len < 0)
		return len;
	return len == n ? 0 : -EIO;
}

struct ksalloc_fault_param {
	const char *name;
	char saved[24];
};

static void ksalloc_fault_param_restore(void *data)
{
	struct ksalloc_fault_param *p = data;

	ksalloc_fault_param_write(p->name, p->saved);
}

/* Sets ksalloc's parameter @name to @val until the test ends. */
static void ksalloc_fault_param_set(struct kunit *test, const char *name,
				    const char *val)
{
	struct ksalloc_fault_param *p;
	int err;

	p = kunit_kzalloc(test, sizeof(*p), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	p->name = name;
	err = ksalloc_fault_param_read(name, p->saved, sizeof(p->saved));
	KUNIT_ASSERT_EQ_MSG(test, err, 0, "reading parameter %s", name);
	err = ksalloc_fault_param_write(name, val);
	KUNIT_ASSERT_EQ_MSG(test, err, 0, "setting parameter %s to %s", name, val);
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, ksalloc_fault_param_restore, p));
}

/*
 * Makes the current task act as user @uid (ksalloc charges a pool to
 * current_uid()). Returns the creds for revert_creds(), or NULL. A test that
 * ends in between leaves with them, which its thread's exit puts.
 */
static const struct cred *ksalloc_fault_become(kuid_t uid)
{
	const struct cred *old;
	struct cred *cred;

	cred = prepare_creds();
	if (!cred)
		return NULL;
	cred->uid = uid;
	cred->euid = uid;
	cred->suid = uid;
	cred->fsuid = uid;
	old = override_creds(cred);
	/* override_creds() took a reference of its own, for revert_creds(). */
	put_cred(cred);
	return old;
}

static void ksalloc_fault_fput(void *file)
{
	/*
	 * Release it now, not from a workqueue: the next attempt starts clean,
	 * the allocator's charge given back. (fput() and flush_delayed_fput()
	 * do not ensure that: the delayed work, queued by an earlier fput(),
	 * may take the file and release it meanwhile.)
	 */
	__fput_sync(file);
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
	/* Each frame an injection point: 32 are swept in full. */
	{ "atomic_many_frames",
	  { .options = KSALLOC_OPTIONF_SYSTEM_MEMORY, .pool_type = KSALLOC_POOL_ATOMIC,
	    .frames = 32, .frame_size = 48, .alignment = 7 } },
	{ "atomic_large_frames",
	  { .pool_type = KSALLOC_POOL_ATOMIC, .frames = 4, .frame_size = 640 * 480 * 2,
	    .alignment = PAGE_SIZE - 1 } },
	{ "sleepable_large_frames",
	  { .pool_type = KSALLOC_POOL_SLEEPABLE, .frames = 2, .frame_size = SZ_1M } },
	/*
	 * Tables above a page are vmalloc'd: the free stack (4 bytes a frame)
	 * from 1025 frames, the hash table (11.5 bytes a frame) from 357.
	 */
	{ "atomic_vmalloc_tables",
	  { .pool_type = KSALLOC_POOL_ATOMIC, .frames = 1040, .frame_size = 24,
	    .alignment = 7 } },
};

static void ksalloc_fault_case_desc(const struct ksalloc_fault_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(ksalloc_fault, ksalloc_fault_cases, ksalloc_fault_case_desc);

/*
 * Which n a sweep injects at: 1, 2, ... up to @sparse_from, then @middle,
 * then @dense_from, @dense_from + 1, ... until a create gets through.
 * See the top of this file.
 */
struct ksalloc_fault_plan {
	unsigned int points;	/* of a create without failure */
	unsigned int sparse_from;
	unsigned int middle;
	unsigned int dense_from;
};

static void ksalloc_fault_plan(struct ksalloc_fault_plan *p, unsigned int points,
			       u32 frames)
{
	*p = (struct ksalloc_fault_plan){
		.points = points,
		.sparse_from = UINT_MAX,
	};
	if (frames <= KSALLOC_FAULT_DENSE_FRAMES || points < KSALLOC_FAULT_PREFIX + 32)
		return;
	p->sparse_from = KSALLOC_FAULT_PREFIX;
	p->middle = (KSALLOC_FAULT_PREFIX + points) / 2;
	p->dense_from = points - 8;
}

static unsigned int ksalloc_fault_next(const struct ksalloc_fault_plan *p,
				       unsigned int nth)
{
	if (nth < p->sparse_from)
		return nth + 1;
	if (nth < p->middle)
		return p->middle;
	return max(nth + 1, p->dense_from);
}

/* ksalloc_create() with its @nth allocation failed; @left as disarm returns. */
static struct file *ksalloc_fault_create(const struct ksalloc_framing *framing,
					 unsigned int nth, unsigned int *left)
{
	struct file *file;

	ksalloc_fault_arm(nth);
	file = ksalloc_create(framing);
	*left = ksalloc_fault_disarm();
	return file;
}

/* @file was made with @framing: checks it whole, then releases it. */
static void ksalloc_fault_check_release(struct kunit *test, struct file *file,
					const struct ksalloc_framing *framing,
					unsigned int nth)
{
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, ksalloc_fault_fput, file));
	ksalloc_fault_expect_whole(test, file, framing, nth);
	kunit_release_action(test, ksalloc_fault_fput, file);
}

/* The checks that need the fault-injection setup of test-kernel.sh. */
static void ksalloc_fault_require(struct kunit *test)
{
	if (!IS_ENABLED(CONFIG_FAULT_INJECTION) || !IS_ENABLED(CONFIG_FAILSLAB) ||
	    !IS_ENABLED(CONFIG_FAIL_PAGE_ALLOC))
		kunit_skip(test, "needs CONFIG_FAULT_INJECTION, FAILSLAB and FAIL_PAGE_ALLOC");
	if (!ksalloc_fault_slab_works())
		kunit_skip(test, "failslab skips GFP_KERNEL: set failslab/ignore-gfp-wait to N");
	if (!ksalloc_fault_page_works())
		kunit_skip(test, "fail_page_alloc skips order 0 GFP_KERNEL: %s",
			   "set its ignore-gfp-wait to N, min-order to 0");
}

static void ksalloc_create_fail_nth(struct kunit *test)
{
	const struct ksalloc_fault_case *c = test->param_value;
	const struct ksalloc_framing *framing = &c->framing;
	kuid_t uid = KUIDT_INIT(KSALLOC_FAULT_UID + (c - ksalloc_fault_cases));
	unsigned int nth, left, tried = 0, failed = 0, absorbed = 0;
	struct ksalloc_fault_plan plan;
	const struct cred *creds;
	struct file *file;
	char bytes[24];

	ksalloc_fault_require(test);
	/* Each attempt creates the cache, and is its user's only charge. */
	ksalloc_fault_param_set(test, "idle_caches", "0");
	snprintf(bytes, sizeof(bytes), "%zu",
		 (size_t)framing->frames * ALIGN(framing->frame_size, framing->alignment + 1));
	ksalloc_fault_param_set(test, "max_user_bytes", bytes);
	creds = ksalloc_fault_become(uid);
	KUNIT_ASSERT_NOT_NULL(test, creds);

	/* A fresh user may have the pool; the injection points, counted. */
	file = ksalloc_fault_create(framing, KSALLOC_FAULT_COUNT_NTH, &left);
	KUNIT_ASSERT_NOT_ERR_OR_NULL_MSG(test, file, "user %u, max_user_bytes %s: %ld",
					 __kuid_val(uid), bytes, PTR_ERR(file));
	ksalloc_fault_check_release(test, file, framing, 0);
	ksalloc_fault_plan(&plan, KSALLOC_FAULT_COUNT_NTH - left, framing->frames);

	for (nth = 1; nth < KSALLOC_FAULT_MAX_NTH; nth = ksalloc_fault_next(&plan, nth)) {
		file = ksalloc_fault_create(framing, nth, &left);
		tried++;
		if (IS_ERR(file)) {
			KUNIT_ASSERT_NE_MSG(test, PTR_ERR(file), -EDQUOT,
					    "attempt %u: -EDQUOT, an earlier attempt's charge was not given back",
					    nth);
			/* An allocation path may fail only where it was made to. */
			KUNIT_ASSERT_EQ_MSG(test, left, 0,
					    "failed (%ld) before allocation %u",
					    PTR_ERR(file), nth);
			KUNIT_ASSERT_EQ_MSG(test, PTR_ERR(file), -ENOMEM,
					    "allocation %u failed: %ld", nth, PTR_ERR(file));
			failed++;
			/* The charge came back: the user may have the pool again. */
			file = ksalloc_create(framing);
			KUNIT_ASSERT_NOT_ERR_OR_NULL_MSG(test, file,
							 "the create after allocation %u failed: %ld",
							 nth, PTR_ERR(file));
		} else if (!left) {
			absorbed++;
		}
		KUNIT_ASSERT_NOT_NULL(test, file);
		ksalloc_fault_check_release(test, file, framing, nth);
		if (left)
			break;
	}

	/* Every charge came back: the user may have the pool once more. */
	file = ksalloc_create(framing);
	KUNIT_ASSERT_NOT_ERR_OR_NULL_MSG(test, file, "the create after the sweep: %ld",
					 PTR_ERR(file));
	ksalloc_fault_check_release(test, file, framing, 0);
	revert_creds(creds);

	kunit_info(test, "%s: %u injection points (%u tried): %u failed with -ENOMEM, %u absorbed\n",
		   c->name, nth - 1, tried, failed, absorbed);
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
