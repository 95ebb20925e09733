// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite ksalloc_fault: ksalloc_create() under injected allocation
 * failures.
 *
 * The framing's allocations (the charge, the slab cache, the tables, the
 * per-CPU caches, the frames) are reached from user space too, by
 * KSALLOC_IOC_SET_FRAMING: tools/testing/ksalloc_failnth_test.c sweeps them
 * there, over a matrix of framings (pool types, many and large frames,
 * vmalloc'd tables), with open() and the capture driver's paths. What only
 * the kernel API has is swept here, once: ksalloc_create() builds the
 * allocator, frames it and makes its anonymous file in one call, and must
 * unwind all of it when any of them fails; and a sleepable pool's frames are
 * then taken through requests, the kernel clients' way.
 *
 * The case fails the n-th allocation made by ksalloc_create(), slab
 * (failslab) or page (fail_page_alloc), for n = 1, 2, ..., until a create
 * succeeds without reaching its n-th allocation: by then every allocation on
 * the path, ksalloc's own and those of the kernel services it calls (slab
 * cache creation, debugfs, the anonymous file, memcg,
 * kmemleak, KASAN), has been failed once. Every attempt must either return
 * ERR_PTR(-ENOMEM), after which a create without injection works, or return
 * a complete allocator: its framing echoed, every frame there and nothing
 * more. Leaks are for the kmemleak scan at the end of the test-kernel guest;
 * each allocator is released before the next attempt.
 *
 * So that the sweep reaches every allocation, nothing is found ready made:
 *   - the attempts run as a user that has no other allocator (the creds of
 *     the test thread overridden), so ksalloc_charge_user() allocates the
 *     user's entry each time; and ksalloc's max_user_bytes is the size of the
 *     pool, so that an attempt that did not give its charge back makes every
 *     later one fail with -EDQUOT;
 *   - ksalloc's idle_caches is 0: no idle cache of the geometry is kept, and
 *     each attempt creates its slab cache anew.
 * Both parameters are set through their sysfs files, and restored.
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
 * kunit.py run) the case is skipped; probes decide: a kmalloc(GFP_KERNEL)
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
#include <linux/ksalloc.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uidgid.h>

#include "ksalloc_kunit.h"

/* Far more than ksalloc_create() allocates: a sweep that gets here never ends. */
#define KSALLOC_FAULT_MAX_NTH	5000U
/* The user the case runs as: 0x6b73 'ks'. */
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
 * The creds a case saved when it overrode its own, and put back: by
 * ksalloc_fault_unbecome() in the test thread, which reverts to them; or, if
 * an assertion ended the test thread first, by KUnit's cleanup, which runs in
 * another thread: the test thread's exit has put the overriding creds then,
 * and only the reference to the saved ones is left to put.
 */
static void ksalloc_fault_put_creds(void *old)
{
	put_cred(old);
}

/*
 * Makes the test thread act as user @uid (ksalloc charges a pool to
 * current_uid()) until ksalloc_fault_unbecome(); returns the saved creds.
 */
static const struct cred *ksalloc_fault_become(struct kunit *test, kuid_t uid)
{
	const struct cred *old;
	struct cred *cred;

	cred = prepare_creds();
	KUNIT_ASSERT_NOT_NULL(test, cred);
	cred->uid = uid;
	cred->euid = uid;
	cred->suid = uid;
	cred->fsuid = uid;
	old = override_creds(cred);
	/* override_creds() took a reference of its own, for revert_creds(). */
	put_cred(cred);
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, ksalloc_fault_put_creds,
						  (void *)old));
	return old;
}

static void ksalloc_fault_unbecome(struct kunit *test, const struct cred *old)
{
	kunit_remove_action(test, ksalloc_fault_put_creds, (void *)old);
	revert_creds(old);
}

/*
 * Takes a frame of a sleepable pool: through a request, the only way. 0 or
 * -errno.
 */
static int ksalloc_fault_take(struct file *file, void **frame)
{
	struct ksalloc_test_req r;
	atomic_t order = ATOMIC_INIT(0);
	int err;

	ksalloc_test_req_init(&r, &order);
	err = ksalloc_submit_request(file, &r.req);
	if (err)
		return err;
	if (!ksalloc_test_waited(&r.done)) {
		/* Once this returns, ksalloc is done with @r either way. */
		if (ksalloc_cancel_request(file, &r.req))
			return -ETIMEDOUT;
		wait_for_completion(&r.done);
	}
	*frame = r.frame;
	return r.error;
}

/* No frame beyond the framing: a request pends, and is withdrawn. */
static void ksalloc_fault_expect_empty(struct kunit *test, struct file *file,
				       unsigned int nth)
{
	struct ksalloc_test_req r;
	atomic_t order = ATOMIC_INIT(0);

	ksalloc_test_req_init(&r, &order);
	KUNIT_ASSERT_EQ(test, 0, ksalloc_submit_request(file, &r.req));
	KUNIT_EXPECT_EQ_MSG(test, ksalloc_test_status(test, file).waiters, 1,
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
	status = ksalloc_test_status(test, file);
	KUNIT_ASSERT_MEMEQ_MSG(test, &status.framing, framing, sizeof(*framing),
			       "nth %u: the framing is not echoed", nth);
	KUNIT_ASSERT_EQ_MSG(test, status.allocated_frames, 0, "nth %u", nth);

	for (i = 0; i < framing->frames; i++) {
		KUNIT_ASSERT_EQ_MSG(test, 0, ksalloc_fault_take(file, &frames[i]),
				    "nth %u: frame %u of %u", nth, i, framing->frames);
		KUNIT_ASSERT_NOT_NULL(test, frames[i]);
		memset(frames[i], 0xa5, framing->frame_size);
	}
	ksalloc_fault_expect_empty(test, file, nth);
	status = ksalloc_test_status(test, file);
	KUNIT_EXPECT_EQ_MSG(test, status.allocated_frames, framing->frames, "nth %u", nth);

	for (i = 0; i < framing->frames; i++)
		ksalloc_free_frame(file, frames[i]);
	status = ksalloc_test_status(test, file);
	KUNIT_EXPECT_EQ_MSG(test, status.allocated_frames, 0, "nth %u", nth);
	KUNIT_EXPECT_EQ_MSG(test, status.total_allocations, framing->frames, "nth %u", nth);
	KUNIT_EXPECT_EQ_MSG(test, status.misuse_events, 0, "nth %u", nth);
	kunit_kfree(test, frames);
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
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, ksalloc_test_fput, file));
	ksalloc_fault_expect_whole(test, file, framing, nth);
	kunit_release_action(test, ksalloc_test_fput, file);
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
	static const struct ksalloc_framing framing = {
		.pool_type = KSALLOC_POOL_SLEEPABLE,
		.frames = 4,
		.frame_size = 200,
		.alignment = 63,
	};
	const kuid_t uid = KUIDT_INIT(KSALLOC_FAULT_UID);
	unsigned int nth, left, failed = 0, absorbed = 0;
	const struct cred *creds;
	struct file *file;
	char bytes[24];

	ksalloc_fault_require(test);
	/* Each attempt creates the cache, and is its user's only charge. */
	ksalloc_fault_param_set(test, "idle_caches", "0");
	snprintf(bytes, sizeof(bytes), "%zu",
		 (size_t)framing.frames * ALIGN(framing.frame_size, framing.alignment + 1));
	ksalloc_fault_param_set(test, "max_user_bytes", bytes);
	creds = ksalloc_fault_become(test, uid);

	/* A fresh user may have the pool. */
	file = ksalloc_create(&framing);
	KUNIT_ASSERT_NOT_ERR_OR_NULL_MSG(test, file, "user %u, max_user_bytes %s: %ld",
					 __kuid_val(uid), bytes, PTR_ERR(file));
	ksalloc_fault_check_release(test, file, &framing, 0);

	for (nth = 1; nth < KSALLOC_FAULT_MAX_NTH; nth++) {
		file = ksalloc_fault_create(&framing, nth, &left);
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
			file = ksalloc_create(&framing);
			KUNIT_ASSERT_NOT_ERR_OR_NULL_MSG(test, file,
							 "the create after allocation %u failed: %ld",
							 nth, PTR_ERR(file));
		} else if (!left) {
			absorbed++;
		}
		KUNIT_ASSERT_NOT_NULL(test, file);
		ksalloc_fault_check_release(test, file, &framing, nth);
		if (left)
			break;
	}

	/* Every charge came back: the user may have the pool once more. */
	file = ksalloc_create(&framing);
	KUNIT_ASSERT_NOT_ERR_OR_NULL_MSG(test, file, "the create after the sweep: %ld",
					 PTR_ERR(file));
	ksalloc_fault_check_release(test, file, &framing, 0);
	ksalloc_fault_unbecome(test, creds);

	kunit_info(test, "%u injection points: %u failed with -ENOMEM, %u absorbed\n",
		   nth - 1, failed, absorbed);
	KUNIT_EXPECT_LT_MSG(test, nth, KSALLOC_FAULT_MAX_NTH, "the sweep did not end");
	/* No injection point at all: the injection does not work. */
	KUNIT_EXPECT_GT(test, nth, 1);
	/* ksalloc_create() needs some allocation that it cannot do without. */
	KUNIT_EXPECT_GT(test, failed, 0);
}

static struct kunit_case ksalloc_fault_test_cases[] = {
	KUNIT_CASE_SLOW(ksalloc_create_fail_nth),
	{}
};

static struct kunit_suite ksalloc_fault_suite = {
	.name = "ksalloc_fault",
	.test_cases = ksalloc_fault_test_cases,
};

kunit_test_suites(&ksalloc_fault_suite);
