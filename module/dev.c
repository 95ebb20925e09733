// SPDX-License-Identifier: GPL-2.0
/*
 * The allocator as a file: every open() of /dev/ksalloc, and every
 * ksalloc_create(), makes one struct ksalloc, the file's private data.
 * User space sets the framing, reads the status, and takes and returns
 * frames by handle through ioctls (include/uapi/linux/ksalloc.h); poll()
 * reports EPOLLIN while a frame is free. ksalloc_fget() gives kernel
 * clients the allocator behind a user's file descriptor.
 *
 * Lifetime: the file's reference count is the allocator's. Releasing it
 * completes pending requests with -ENODEV, disables the event, returns frames
 * held by user space and frees the pool. Frames a kernel client still holds
 * then are a client bug: they are logged and retained (never returned to the
 * slab, so late writes cannot corrupt other memory), as dma_pool_destroy()
 * does with busy blocks.
 *
 * User space holds frames by handle (slot + 1) and never maps them: a frame
 * it holds is marked with KSALLOC_ENTRY_USER in its table entry, which no
 * kernel free can match.
 *
 * Context: process context, but for poll(), whose wake-ups come from
 * request.c.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/completion.h>
#include <linux/compat.h>
#include <linux/file.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "ksalloc_priv.h"
#include "ksalloc_trace.h"

static atomic_t ksalloc_last_id = ATOMIC_INIT(0);

static struct ksalloc *ksalloc_allocator_new(void)
{
	struct ksalloc *a;

	a = kzalloc(sizeof(*a), GFP_KERNEL_ACCOUNT);
	if (!a)
		return NULL;
	a->id = atomic_inc_return(&ksalloc_last_id);
	ksalloc_pool_init(&a->pool);
	raw_spin_lock_init(&a->lock);
	INIT_LIST_HEAD(&a->requests);
	INIT_LIST_HEAD(&a->done);
	init_waitqueue_head(&a->wait);
	init_irq_work(&a->wake_work, ksalloc_wake_work);
	INIT_WORK(&a->complete_work, ksalloc_complete_work);
	ksalloc_debugfs_add(a);
	return a;
}

/*
 * Frees @a, which nothing uses any more, and its pool. Returns how many of
 * its frames were retained (see ksalloc_pool_destroy()).
 */
static unsigned int ksalloc_allocator_free(struct ksalloc *a)
{
	unsigned int retained = 0;

	/* Waits for readers of the status file, which reads the pool. */
	ksalloc_debugfs_remove(a);
	if (a->ready) {
		retained = ksalloc_pool_destroy(&a->pool);
		ksalloc_uncharge_user(a->uid, a->charged);
	}
	kfree(a);
	return retained;
}

static int ksalloc_open(struct inode *inode, struct file *file)
{
	struct ksalloc *a = ksalloc_allocator_new();

	if (!a)
		return -ENOMEM;
	a->file = file;
	file->private_data = a;
	return 0;
}

static int ksalloc_release(struct inode *inode, struct file *file)
{
	struct ksalloc *a = file->private_data;
	struct ksalloc_request *req, *next;
	unsigned int id = a->id, retained;
	unsigned long flags;

	/*
	 * Nobody holds a reference any more: only stragglers of our own
	 * remain. Nothing is left to wake, so the completions run below may
	 * free frames without queueing @wake_work again.
	 */
	raw_spin_lock_irqsave(&a->lock, flags);
	a->event_fn = NULL;
	a->poll_armed = false;
	list_for_each_entry_safe(req, next, &a->requests, node)
		ksalloc_grant_locked(a, req, NULL, -ENODEV);
	a->waiters = 0;
	raw_spin_unlock_irqrestore(&a->lock, flags);

	irq_work_sync(&a->wake_work);
	flush_work(&a->complete_work);

	ksalloc_check_released(a);
	retained = ksalloc_allocator_free(a);
	if (retained)
		ksalloc_count_retained(id, retained);
	trace_ksalloc_release(id, retained);
	return 0;
}

static int ksalloc_free_handle(struct ksalloc *a, u64 handle)
{
	bool wake = false;
	struct ksalloc_table *t = a->pool.table;
	unsigned int allocated = 0;
	unsigned long flags, entry;
	int err = 0;

	raw_spin_lock_irqsave(&a->lock, flags);
	if (!a->ready) {
		err = -EBADFD;
	} else if (!handle || handle > t->size || !t->entry[handle - 1]) {
		err = -EINVAL;
	} else if ((t->entry[handle - 1] & KSALLOC_ENTRY_FLAGS) !=
		   (KSALLOC_ENTRY_ALLOCATED | KSALLOC_ENTRY_USER)) {
		err = -ENOENT;
	} else {
		/*
		 * Kernel frees cannot match a user-held entry: no cmpxchg.
		 * Nor poisoning: user space never maps a frame, which kept
		 * its poison all along.
		 */
		entry = t->entry[handle - 1];
		WRITE_ONCE(t->entry[handle - 1], entry & ~KSALLOC_ENTRY_FLAGS);
		a->pool.free[a->nr_free++] = handle - 1;
		a->room++;
		allocated = ksalloc_allocated(a);
		ksalloc_settle_locked(a, &wake);
	}
	raw_spin_unlock_irqrestore(&a->lock, flags);

	if (!err)
		trace_ksalloc_free(a->id, handle - 1, allocated);
	ksalloc_kick(a, wake);
	return err;
}

struct ksalloc_waiter {
	struct ksalloc_request req;
	struct completion done;
};

static void ksalloc_waiter_complete(struct ksalloc_request *req, void *frame,
				    int error)
{
	complete(&container_of(req, struct ksalloc_waiter, req)->done);
}

/*
 * Waits in FIFO order for a frame, taken as a kernel client's and checked;
 * returns its slot or -errno.
 */
static long ksalloc_wait_frame(struct ksalloc *a)
{
	struct ksalloc_waiter w = { .req.complete = ksalloc_waiter_complete };
	long slot;

	init_completion(&w.done);
	slot = ksalloc_take_or_queue(a, KSALLOC_ENTRY_ALLOCATED, &w.req);
	if (slot != -EAGAIN) {
		/* Taken at once; one granted later was checked as a request. */
		ksalloc_check_slot(a, slot);
		return slot;
	}

	if (wait_for_completion_interruptible(&w.done)) {
		if (ksalloc_dequeue(a, &w.req))
			return -ERESTARTSYS;
		/* Granted just before the signal: wait until @w is ours again. */
		wait_for_completion(&w.done);
	}
	if (w.req.error)
		return w.req.error;
	slot = ksalloc_lookup(a->pool.table, w.req.frame);
	return WARN_ON_ONCE(slot < 0) ? -EAGAIN : slot;
}

/*
 * Makes the frame of @slot, a kernel client's, user space's. False if a
 * kernel client freed it meanwhile: a bug of its own.
 */
static bool ksalloc_give_to_user(struct ksalloc *a, u32 slot)
{
	unsigned long *p = &a->pool.table->entry[slot];
	unsigned long flags, entry;
	bool given;

	raw_spin_lock_irqsave(&a->lock, flags);
	entry = (READ_ONCE(*p) & ~KSALLOC_ENTRY_FLAGS) | KSALLOC_ENTRY_ALLOCATED;
	given = try_cmpxchg(p, &entry, entry | KSALLOC_ENTRY_USER);
	raw_spin_unlock_irqrestore(&a->lock, flags);
	return given;
}

/*
 * Takes a frame for user space, waiting for one unless @nonblock; returns
 * its slot or -errno. The frame is taken as a kernel client's and checked
 * (misuse.c) before it is made user space's: no handle names it, and no
 * FREE_FRAME can race with the check, before the check is done.
 */
static long ksalloc_take_for_user(struct ksalloc *a, bool nonblock)
{
	long slot;

	do {
		if (nonblock) {
			slot = ksalloc_take_or_queue(a, KSALLOC_ENTRY_ALLOCATED,
						     NULL);
			ksalloc_check_slot(a, slot);
		} else {
			slot = ksalloc_wait_frame(a);
		}
	} while (slot >= 0 && !ksalloc_give_to_user(a, slot));
	return slot;
}

static long ksalloc_ioctl_alloc(struct ksalloc *a, struct file *file,
				struct ksalloc_frame_handle __user *uarg)
{
	struct ksalloc_frame_handle h;
	long slot;

	if (copy_from_user(&h, uarg, sizeof(h)))
		return -EFAULT;
	if (h.flags || h.reserved)
		return -EINVAL;

	slot = ksalloc_take_for_user(a, file->f_flags & O_NONBLOCK);
	if (slot < 0)
		return slot;

	h.handle = slot + 1;
	if (copy_to_user(uarg, &h, sizeof(h))) {
		ksalloc_free_handle(a, h.handle);
		return -EFAULT;
	}
	return 0;
}

static long ksalloc_ioctl_free(struct ksalloc *a,
			       struct ksalloc_frame_handle __user *uarg)
{
	struct ksalloc_frame_handle h;

	if (copy_from_user(&h, uarg, sizeof(h)))
		return -EFAULT;
	if (h.flags || h.reserved)
		return -EINVAL;
	return ksalloc_free_handle(a, h.handle);
}

static long ksalloc_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	struct ksalloc *a = file->private_data;
	void __user *uarg = (void __user *)arg;
	struct ksalloc_framing framing;
	struct ksalloc_status status;

	switch (cmd) {
	case KSALLOC_IOC_SET_FRAMING:
		if (copy_from_user(&framing, uarg, sizeof(framing)))
			return -EFAULT;
		return ksalloc_set_framing(a, &framing);
	case KSALLOC_IOC_GET_STATUS:
		ksalloc_get_status(file, &status);
		return copy_to_user(uarg, &status, sizeof(status)) ? -EFAULT : 0;
	case KSALLOC_IOC_ALLOC_FRAME:
		return ksalloc_ioctl_alloc(a, file, uarg);
	case KSALLOC_IOC_FREE_FRAME:
		return ksalloc_ioctl_free(a, uarg);
	default:
		return -ENOTTY;
	}
}

static __poll_t ksalloc_poll(struct file *file, struct poll_table_struct *pt)
{
	struct ksalloc *a = file->private_data;
	unsigned long flags;
	bool ready;

	poll_wait(file, &a->wait, pt);
	raw_spin_lock_irqsave(&a->lock, flags);
	if (!a->nr_free && a->ready) {
		/*
		 * Close the caches: the next free wakes us; or find their
		 * frames. An allocation refused later, while we stay queued,
		 * arms again (ksalloc_refuse_locked()): edge-triggered
		 * waiters do not come back here before they sleep.
		 */
		a->poll_armed = true;
		ksalloc_update_caches(a);
		if (a->nr_free) {
			a->poll_armed = false;
			ksalloc_update_caches(a);
		}
	}
	ready = a->nr_free;
	raw_spin_unlock_irqrestore(&a->lock, flags);
	return ready ? EPOLLIN | EPOLLRDNORM : 0;
}

const struct file_operations ksalloc_fops = {
	.owner		= THIS_MODULE,
	.open		= ksalloc_open,
	.release	= ksalloc_release,
	.unlocked_ioctl	= ksalloc_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.poll		= ksalloc_poll,
	.llseek		= noop_llseek,
};

/**
 * ksalloc_create() - make an allocator for a kernel client
 * @framing: its framing, validated as KSALLOC_IOC_SET_FRAMING does.
 *
 * The allocator is an anonymous file with the framing set and its frames
 * preallocated, charged to the caller's memory cgroup. Release it with
 * fput().
 *
 * Context: Process context. May sleep.
 * Return: the allocator's file, or an ERR_PTR(): the framing errors of
 * KSALLOC_IOC_SET_FRAMING (-EINVAL, -EOPNOTSUPP, -E2BIG, -EOVERFLOW, -EDQUOT)
 * or -ENOMEM.
 */
struct file *ksalloc_create(const struct ksalloc_framing *framing)
{
	struct ksalloc *a;
	struct file *file;
	int err;

	might_sleep();
	a = ksalloc_allocator_new();
	if (!a)
		return ERR_PTR(-ENOMEM);
	err = ksalloc_set_framing(a, framing);
	if (err)
		goto err_free;

	file = anon_inode_getfile("[ksalloc]", &ksalloc_fops, a, O_RDWR);
	if (IS_ERR(file)) {
		err = PTR_ERR(file);
		goto err_free;
	}
	a->file = file;
	return file;

err_free:
	ksalloc_allocator_free(a);
	return ERR_PTR(err);
}
EXPORT_SYMBOL_NS_GPL(ksalloc_create, KSALLOC);

/**
 * ksalloc_fget() - get the allocator behind a user's file descriptor
 * @fd: a file descriptor of the current task.
 *
 * Release the reference with fput().
 *
 * Context: Process context.
 * Return: the allocator's file; ERR_PTR(-EBADF) if @fd is not an open file,
 * ERR_PTR(-EINVAL) if it is not a ksalloc allocator.
 */
struct file *ksalloc_fget(int fd)
{
	struct file *file = fget(fd);

	if (!file)
		return ERR_PTR(-EBADF);
	if (!ksalloc_from_file(file)) {
		fput(file);
		return ERR_PTR(-EINVAL);
	}
	return file;
}
EXPORT_SYMBOL_NS_GPL(ksalloc_fget, KSALLOC);
