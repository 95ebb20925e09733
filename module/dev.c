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
 * does with busy blocks, and they pin the module (see ksalloc_pool_destroy()).
 *
 * User space holds frames by handle: a frame it holds is marked with
 * KSALLOC_ENTRY_USER and KSALLOC_ENTRY_ALLOCATED in its table entry, which no
 * kernel free can match. An ALLOC_FRAME takes its frame with USER alone,
 * which no handle matches either, and sets ALLOCATED only once the handle
 * is written back (ksalloc_hand_out()): a frame whose handle could not be
 * written back is free again, and nobody else can have touched it.
 *
 * mmap() maps a page-backed pool (see pool.c), MAP_SHARED and never
 * executable, with vm_map_pages(); KSALLOC_IOC_ALLOC_FRAME2 says where a
 * frame is in it. Each mapping (vma) holds a reference to the pool's memory
 * (struct ksalloc_mem), taken at mmap() and in vm_ops->open (fork, split)
 * and dropped in ->close, as videobuf2-vmalloc does: the memory outlives
 * the pool if a mapping does. The vma's file reference keeps the allocator
 * too until then, and the framing is set once: a mapping always shows the
 * pool of its allocator. Handles are 1 to the number of frames in a random order (see
 * pool.c): FREE_FRAME says -EINVAL only outside that range, and -ENOENT
 * for every frame user space does not hold, -EBUSY for one exported as a
 * dma-buf (dmabuf.c) until the export is gone.
 *
 * Context: every entry point runs in process context; the wake-ups poll()
 * waits for come from request.c's irq_work.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/completion.h>
#include <linux/compat.h>
#include <linux/file.h>
#include <linux/mm.h>
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
	/* A completion run below may ask again: refused from now on. */
	a->releasing = true;
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

/*
 * Makes the frame of @slot, which user space holds or which was taken for it
 * (see ksalloc_hand_out()), free again, or the oldest request's.
 */
static void ksalloc_free_user_locked(struct ksalloc *a, u32 slot, bool *wake)
{
	unsigned long *p = &a->pool.table->entry[slot];

	lockdep_assert_held(&a->lock);
	/*
	 * Kernel frees cannot match a user-held entry: no cmpxchg.
	 * Nor poisoning: a frame of a slab-backed pool, which user
	 * space cannot map, kept its poison all along; page-backed
	 * pools are not poisoned.
	 */
	WRITE_ONCE(*p, *p & ~KSALLOC_ENTRY_FLAGS);
	a->pool.free[a->nr_free++] = slot;
	a->room++;
	ksalloc_settle_locked(a, wake);
}

static int ksalloc_free_handle(struct ksalloc *a, u64 handle)
{
	bool wake = false;
	unsigned long flags, entry;
	unsigned int allocated = 0;
	int err = 0;
	u32 slot = 0;

	raw_spin_lock_irqsave(&a->lock, flags);
	if (!a->ready) {
		err = -EBADFD;
	} else if (!handle || handle > a->framing.frames) {
		/* The frame count is public: this says nothing more. */
		err = -EINVAL;
	} else {
		/* Under the lock: ready, so the pool is published. */
		slot = a->pool.slot_of_handle[handle - 1];
		entry = a->pool.table->entry[slot];
		if ((entry & KSALLOC_ENTRY_FLAGS) !=
		    (KSALLOC_ENTRY_ALLOCATED | KSALLOC_ENTRY_USER))
			err = -ENOENT;
		/* Importers may still use it: see dmabuf.c. */
		else if (a->pool.exports && a->pool.exports[handle - 1])
			err = -EBUSY;
	}
	if (!err) {
		ksalloc_free_user_locked(a, slot, &wake);
		allocated = ksalloc_allocated(a);
	}
	raw_spin_unlock_irqrestore(&a->lock, flags);

	if (!err)
		trace_ksalloc_free(a->id, handle, allocated);
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
 * Takes a free frame for user space if one is free, else queues @req if
 * there is one; returns its slot or -errno, as ksalloc_take_or_queue().
 * The frame is taken with USER alone, a state that nothing can free or take:
 * it matches neither free_frame nor FREE_FRAME, nor EXPORT_FRAME, until
 * ksalloc_hand_out(). Debug builds check the frame (misuse.c) meanwhile.
 */
static long ksalloc_take_now_for_user(struct ksalloc *a,
				      struct ksalloc_request *req)
{
	long slot = ksalloc_take_or_queue(a, KSALLOC_ENTRY_USER, req);
	unsigned long entry;

	if (slot >= 0) {
		entry = READ_ONCE(a->pool.table->entry[slot]);
		ksalloc_check(a, ksalloc_entry_frame(entry));
	}
	return slot;
}

/*
 * Ends an ALLOC_FRAME or ALLOC_FRAME2 that took the frame of @slot: if
 * @copied, the caller has its handle and the frame becomes user space's;
 * else (EFAULT) it is free again, as if the call had taken nothing. Until
 * now no handle named the frame, so no other thread sharing the file, one
 * that guessed the handle, could return or export it meanwhile, nor (had it
 * returned it, and then taken it again) lose it to this free.
 */
static void ksalloc_hand_out(struct ksalloc *a, u32 slot, bool copied)
{
	unsigned long *p = &a->pool.table->entry[slot], flags;
	unsigned int allocated = 0;
	bool wake = false;

	raw_spin_lock_irqsave(&a->lock, flags);
	if (copied) {
		WRITE_ONCE(*p, *p | KSALLOC_ENTRY_ALLOCATED);
	} else {
		ksalloc_free_user_locked(a, slot, &wake);
		allocated = ksalloc_allocated(a);
	}
	raw_spin_unlock_irqrestore(&a->lock, flags);
	if (copied)
		return;
	trace_ksalloc_free(a->id, ksalloc_slot_handle(&a->pool, slot), allocated);
	ksalloc_kick(a, wake);
}

/* Waits in FIFO order for a frame; returns its slot or -errno. */
static long ksalloc_wait_frame(struct ksalloc *a)
{
	struct ksalloc_waiter w = { .req.complete = ksalloc_waiter_complete };
	unsigned long flags, entry;
	long slot;

again:
	init_completion(&w.done);
	slot = ksalloc_take_now_for_user(a, &w.req);
	if (slot != -EAGAIN)
		return slot;

	if (wait_for_completion_interruptible(&w.done)) {
		if (ksalloc_dequeue(a, &w.req))
			return -ERESTARTSYS;
		/* Granted just before the signal: wait until @w is ours again. */
		wait_for_completion(&w.done);
	}
	if (w.req.error)
		return w.req.error;

	/*
	 * Granted as to a kernel client, and checked as a request's frame
	 * before the grant completed: make it taken for user space.
	 */
	raw_spin_lock_irqsave(&a->lock, flags);
	slot = ksalloc_lookup(a->pool.table, w.req.frame);
	entry = (unsigned long)w.req.frame | KSALLOC_ENTRY_ALLOCATED;
	if (WARN_ON_ONCE(slot < 0) ||
	    !try_cmpxchg(&a->pool.table->entry[slot], &entry,
			 (unsigned long)w.req.frame | KSALLOC_ENTRY_USER))
		slot = -EAGAIN;
	raw_spin_unlock_irqrestore(&a->lock, flags);
	/* A kernel client freed it in between: a bug of its own; wait again. */
	if (slot == -EAGAIN)
		goto again;
	return slot;
}

/*
 * Takes a frame for user space, waiting unless @file is O_NONBLOCK; the
 * caller ends the call with ksalloc_hand_out().
 */
static long ksalloc_take_for_user(struct ksalloc *a, struct file *file)
{
	if (file->f_flags & O_NONBLOCK)
		return ksalloc_take_now_for_user(a, NULL);
	return ksalloc_wait_frame(a);
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

	slot = ksalloc_take_for_user(a, file);
	if (slot < 0)
		return slot;

	h.handle = ksalloc_slot_handle(&a->pool, slot);
	if (copy_to_user(uarg, &h, sizeof(h))) {
		ksalloc_hand_out(a, slot, false);
		return -EFAULT;
	}
	ksalloc_hand_out(a, slot, true);
	return 0;
}

/* True if the framing is set and the pool can be mapped. */
static bool ksalloc_mappable(struct ksalloc *a, bool *ready)
{
	unsigned long flags;
	bool mappable;

	raw_spin_lock_irqsave(&a->lock, flags);
	*ready = a->ready;
	mappable = a->ready && a->pool.mem;
	raw_spin_unlock_irqrestore(&a->lock, flags);
	return mappable;
}

static long ksalloc_ioctl_alloc2(struct ksalloc *a, struct file *file,
				 struct ksalloc_mapped_frame __user *uarg)
{
	struct ksalloc_mapped_frame m;
	bool ready;
	long slot;

	if (copy_from_user(&m, uarg, sizeof(m)))
		return -EFAULT;
	if (m.flags || m.reserved)
		return -EINVAL;
	/* Set once: the pool the take finds is the one checked here. */
	if (!ksalloc_mappable(a, &ready))
		return ready ? -ENODEV : -EBADFD;

	slot = ksalloc_take_for_user(a, file);
	if (slot < 0)
		return slot;

	m.handle = ksalloc_slot_handle(&a->pool, slot);
	m.offset = ksalloc_slot_offset(&a->pool, slot);
	if (copy_to_user(uarg, &m, sizeof(m))) {
		ksalloc_hand_out(a, slot, false);
		return -EFAULT;
	}
	ksalloc_hand_out(a, slot, true);
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
	case KSALLOC_IOC_ALLOC_FRAME2:
		return ksalloc_ioctl_alloc2(a, file, uarg);
	case KSALLOC_IOC_EXPORT_FRAME:
		return ksalloc_ioctl_export_frame(file, uarg);
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

/* A new vma for a mapping's memory: fork(), or a split by munmap(). */
static void ksalloc_vm_open(struct vm_area_struct *vma)
{
	struct ksalloc_mem *mem = vma->vm_private_data;

	kref_get(&mem->ref);
}

static void ksalloc_vm_close(struct vm_area_struct *vma)
{
	ksalloc_mem_put(vma->vm_private_data);
}

static const struct vm_operations_struct ksalloc_vm_ops = {
	.open	= ksalloc_vm_open,
	.close	= ksalloc_vm_close,
};

/*
 * Maps the frames of a page-backed pool; each refusal has its own errno
 * (see struct ksalloc_mapped_frame).
 */
static int ksalloc_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct ksalloc *a = file->private_data;
	struct ksalloc_mem *mem;
	unsigned long pages = vma_pages(vma);
	bool ready;
	int err;

	/* MAP_SHARED of a read-only file: VM_MAYSHARE without VM_SHARED. */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	if (!ksalloc_mappable(a, &ready))
		return ready ? -ENODEV : -EBADFD;
	/* Set, so constant: no lock needed to read it any more. */
	mem = a->pool.mem;
	if (vma->vm_pgoff >= mem->nr_pages ||
	    pages > mem->nr_pages - vma->vm_pgoff)
		return -ENXIO;

	/* Nor made executable later, nor grown by mremap(), nor dumped. */
	ksalloc_vm_flags_mod(vma, VM_DONTEXPAND | VM_DONTDUMP, VM_MAYEXEC);
	err = vm_map_pages(vma, mem->pages, mem->nr_pages);
	if (err)
		return err;
	kref_get(&mem->ref);
	vma->vm_private_data = mem;
	vma->vm_ops = &ksalloc_vm_ops;
	return 0;
}

const struct file_operations ksalloc_fops = {
	.owner		= THIS_MODULE,
	.open		= ksalloc_open,
	.release	= ksalloc_release,
	.unlocked_ioctl	= ksalloc_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.poll		= ksalloc_poll,
	.mmap		= ksalloc_mmap,
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
 * KSALLOC_IOC_SET_FRAMING (-EINVAL, -EOPNOTSUPP, -E2BIG, -EOVERFLOW, -EDQUOT),
 * -ENOMEM, or an error of anon_inode_getfile() (-ENFILE).
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
