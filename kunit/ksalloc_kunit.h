/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers the KUnit suites of ksalloc_kunit.ko share: framings, allocators
 * released when the case ends, status, waits and requests that record their
 * completion. Static inline: each file takes what it calls.
 */
#ifndef _KSALLOC_KUNIT_H
#define _KSALLOC_KUNIT_H

#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/ksalloc.h>
#include <linux/mman.h>
#include <linux/preempt.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

/* How long a case waits for a completion, a timer or a thread, even on a slow guest. */
#define KSALLOC_TEST_WAIT	(10 * HZ)

static inline bool ksalloc_test_waited(struct completion *done)
{
	return wait_for_completion_timeout(done, KSALLOC_TEST_WAIT);
}

/* An atomic pool of @frames frames of @size bytes, @alignment a mask. */
static inline struct ksalloc_framing ksalloc_test_framing(u32 frames, u32 size,
							  u32 alignment)
{
	return (struct ksalloc_framing){
		.pool_type = KSALLOC_POOL_ATOMIC,
		.frames = frames,
		.frame_size = size,
		.alignment = alignment,
	};
}

/*
 * The test's own reference, put synchronously: a file put with fput() from a
 * kthread is released later by a workqueue, which flush_delayed_fput() does
 * not wait for, and ksalloc's messages and counters of that release would
 * then land in a later case (or, in a fault sweep, the charge of the
 * allocator would not be back for the next attempt).
 */
static inline void ksalloc_test_fput(void *file)
{
	__fput_sync(file);
}

/* An allocator released (ksalloc_test_fput()) when the test ends. */
static inline struct file *ksalloc_test_create(struct kunit *test,
					       const struct ksalloc_framing *framing)
{
	struct file *file = ksalloc_create(framing);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, file);
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, ksalloc_test_fput, file));
	return file;
}

/*
 * An open of /dev/ksalloc with @framing set, released when the case ends, and
 * a page of user memory for the ioctls' arguments in *@uarg. Skips if the
 * node is missing (no devtmpfs, as in a kunit.py run).
 */
static inline struct file *ksalloc_test_open_dev(struct kunit *test,
						 const struct ksalloc_framing *framing,
						 unsigned long *uarg)
{
	struct file *file = filp_open("/dev/ksalloc", O_RDWR, 0);

	if (PTR_ERR_OR_ZERO(file) == -ENOENT)
		kunit_skip(test, "no /dev/ksalloc node: devtmpfs not mounted");
	KUNIT_ASSERT_NOT_ERR_OR_NULL_MSG(test, file, "open /dev/ksalloc: %ld",
					 PTR_ERR(file));
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, ksalloc_test_fput, file));
	*uarg = kunit_vm_mmap(test, NULL, 0, PAGE_SIZE, PROT_READ | PROT_WRITE,
			      MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_NE(test, *uarg, 0);
	KUNIT_ASSERT_EQ(test, 0, copy_to_user((void __user *)*uarg, framing,
					      sizeof(*framing)));
	KUNIT_ASSERT_EQ(test, 0, file->f_op->unlocked_ioctl(file,
							    KSALLOC_IOC_SET_FRAMING,
							    *uarg));
	return file;
}

/* KSALLOC_IOC_ALLOC_FRAME or _FREE_FRAME of *@handle, through user memory. */
static inline long ksalloc_test_handle_ioctl(struct file *file,
					     unsigned int cmd,
					     unsigned long uarg, u64 *handle)
{
	struct ksalloc_frame_handle h = { .handle = *handle };
	long err;

	if (copy_to_user((void __user *)uarg, &h, sizeof(h)))
		return -EFAULT;
	err = file->f_op->unlocked_ioctl(file, cmd, uarg);
	if (copy_from_user(&h, (void __user *)uarg, sizeof(h)))
		return -EFAULT;
	*handle = h.handle;
	return err;
}

static inline struct ksalloc_status ksalloc_test_status(struct kunit *test,
							struct file *file)
{
	struct ksalloc_status status;

	KUNIT_ASSERT_EQ(test, 0, ksalloc_get_status(file, &status));
	return status;
}

/* A request that records how and when it completed; the test waits on @done. */
struct ksalloc_test_req {
	struct ksalloc_request req;
	struct completion done;
	atomic_t *order;
	int seq;		/* completion order among those sharing @order, from 1 */
	void *frame;
	int error;
	bool process_context;
};

static inline void ksalloc_test_req_complete(struct ksalloc_request *req,
					     void *frame, int error)
{
	struct ksalloc_test_req *r = container_of(req, struct ksalloc_test_req,
						  req);

	r->frame = frame;
	r->error = error;
	r->process_context = preemptible() && !in_interrupt();
	r->seq = atomic_inc_return(r->order);
	complete(&r->done);
}

/* @order counts the completions of the requests that share it. */
static inline void ksalloc_test_req_init(struct ksalloc_test_req *r,
					 atomic_t *order)
{
	memset(r, 0, sizeof(*r));
	r->req.complete = ksalloc_test_req_complete;
	r->order = order;
	init_completion(&r->done);
}

/* What ksalloc_cpus_run() does on a CPU: @op with @n frames from @frame. */
struct ksalloc_cpus_job {
	struct file *file;
	void **frame;
	unsigned int n;
	bool alloc;
	unsigned int done;
};

static inline long ksalloc_cpus_run(void *data)
{
	struct ksalloc_cpus_job *job = data;
	unsigned int i;

	for (i = 0; i < job->n; i++) {
		if (!job->alloc)
			ksalloc_free_frame(job->file, job->frame[i]);
		else if (ksalloc_allocate_frame(job->file, &job->frame[i]))
			break;
	}
	job->done = i;
	return 0;
}

/* Runs @n allocations (@alloc) or frees of @frame on @cpu; returns how many. */
static inline unsigned int ksalloc_cpus_do(struct file *file, int cpu,
					   void **frame, unsigned int n,
					   bool alloc)
{
	struct ksalloc_cpus_job job = {
		.file = file, .frame = frame, .n = n, .alloc = alloc,
	};

	work_on_cpu(cpu, ksalloc_cpus_run, &job);
	return job.done;
}

#endif /* _KSALLOC_KUNIT_H */
