// SPDX-License-Identifier: GPL-2.0
/*
 * ksalloc_capture - a capture stream fed from a ksalloc allocator.
 *
 * The reference companion driver: it uses only the public ksalloc API, the
 * way a capture driver would. Every open of /dev/ksalloc_capture is a stream.
 * It holds a reference to an allocator (KSALLOC_CAPTURE_IOC_SET_ALLOCATOR)
 * and its function table; while streaming, an hrtimer in hard IRQ mode ticks
 * at the frame rate and, like a DMA completion interrupt, takes a frame with
 * allocate_frame and stamps its header (sequence, timestamp, size). No free
 * frame: the frame is dropped and counted, as hardware drops frames when no
 * buffer is queued.
 *
 * The payload fill runs in a work item, not in the timer: a 640x480 YUYV
 * frame is 600 KiB, far too much to write with interrupts off. The work
 * fills frames in order and wakes readers; read() hands out the oldest
 * filled frame and frees it back to the allocator.
 *
 * Frames in flight sit in a ring of pointers as large as the allocator has
 * frames, so the ring can never overflow and a slow reader costs drops, not
 * memory: head <= filled <= tail, with [head, filled) ready for read() and
 * [filled, tail) waiting for the fill work.
 *
 * Zero copy: when the allocator's pool is mappable (page-backed), DEQUEUE_FRAME
 * hands the oldest ready frame to the application instead: its place in the
 * allocator's mapping (ksalloc_frame_offset()), its header and a handle. The
 * frame leaves the ring for the held table, as many slots as the ring: the
 * stream never has more frames than the allocator, so a free slot always
 * exists. A handle is a per-stream serial number, never reused, kept in the
 * slot of that number modulo the table size (numbers whose slot is taken are
 * skipped): RETURN_FRAME finds a frame in one look, and tells a handle never
 * handed out (above the last serial) from one no longer held. The held table
 * is only touched in process context, under @lock; STREAMOFF and close give
 * its frames back to the allocator.
 *
 * A stream is read one way at a time (@mode): the first read() or
 * DEQUEUE_FRAME after STREAMON chooses, and the other fails with -EBUSY until
 * the next STREAMON.
 *
 * User space can write a mappable pool's frames at any time, headers
 * included: the fill work and DEQUEUE_FRAME never take a size from a frame.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/ksalloc.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <uapi/linux/ksalloc_capture.h>

MODULE_IMPORT_NS(KSALLOC);

enum ksalloc_capture_mode {
	KSALLOC_CAPTURE_UNCHOSEN,
	KSALLOC_CAPTURE_READ,
	KSALLOC_CAPTURE_DEQUEUE,
};

/**
 * struct ksalloc_capture_held - a frame the application holds
 * @handle: the handle it was dequeued with; the last one, once returned.
 * @frame: the frame; NULL for a free slot.
 */
struct ksalloc_capture_held {
	u64 handle;
	void *frame;
};

/**
 * struct ksalloc_capture - a stream
 * @lock: serialises configuration: the fields up to @qlock change only
 *	under it (and under @qlock where the timer, the fill work or read()
 *	look at them).
 * @alloc: the allocator, a file reference we own; NULL until set.
 * @table: its function table.
 * @frame_size: its frame size.
 * @format: the format; @format.fps is 0 until set.
 * @frame_bytes: header plus payload.
 * @mappable: the allocator's pool can be mapped: DEQUEUE_FRAME works.
 * @held: the frames the application holds, @ring_size slots; see above.
 * @nr_held: the frames in @held.
 * @next_handle: the next handle to hand out; from 1, never reset.
 * @period: timer period.
 * @streaming: between STREAMON and STREAMOFF.
 * @timer: the hard-IRQ frame timer.
 * @fill_work: fills the payload of produced frames.
 * @wait: readers waiting for a filled frame.
 * @qlock: protects the ring, its indices and the counters; taken in hard IRQ.
 * @ring: frames in flight, @ring_size (the allocator's frame count) slots.
 * @ring_size: see @ring.
 * @head: next frame for read().
 * @filled: next frame for the fill work.
 * @tail: next free ring slot.
 * @counters: the counters; @counters.streaming mirrors @streaming.
 * @epoch: counts STREAMONs, which reset @counters: a reader that took a
 *	frame before one must not correct the new counters.
 * @mode: how the stream is read since STREAMON, enum ksalloc_capture_mode.
 */
struct ksalloc_capture {
	struct mutex lock; /* serialises configuration, see above */
	struct file *alloc;
	struct ksalloc_functiontable table;
	u32 frame_size;
	struct ksalloc_capture_format format;
	u32 frame_bytes;
	bool mappable;
	struct ksalloc_capture_held *held;
	u32 nr_held;
	u64 next_handle;
	ktime_t period;
	bool streaming;
	struct hrtimer timer;
	struct work_struct fill_work;
	wait_queue_head_t wait;

	raw_spinlock_t qlock;
	void **ring;
	u32 ring_size;
	u64 head;
	u64 filled;
	u64 tail;
	struct ksalloc_capture_counters counters;
	u32 epoch;
	u8 mode;
};

static enum hrtimer_restart ksalloc_capture_tick(struct hrtimer *timer)
{
	struct ksalloc_capture *c = container_of(timer, struct ksalloc_capture,
						 timer);
	struct ksalloc_capture_header *h;
	u64 ticks, now = ktime_get_ns();
	void *frame;

	/* Ticks missed (an overloaded machine) are frames dropped too. */
	ticks = hrtimer_forward_now(timer, c->period);
	if (c->table.allocate_frame(c->alloc, &frame))
		frame = NULL;

	raw_spin_lock(&c->qlock);
	c->counters.produced += ticks;
	if (frame) {
		h = frame;
		h->sequence = c->counters.produced - 1;
		h->timestamp_ns = now;
		h->payload_size = c->frame_bytes - sizeof(*h);
		h->reserved = 0;
		c->ring[c->tail++ % c->ring_size] = frame;
		c->counters.in_flight++;
		ticks--;
	}
	c->counters.dropped += ticks;
	raw_spin_unlock(&c->qlock);

	if (frame)
		queue_work(system_highpri_wq, &c->fill_work);
	return HRTIMER_RESTART;
}

/*
 * The payload follows a 24-byte header in a slab object or on a page:
 * 8-byte aligned. Its size is the stream's, not the header's: user space may
 * have written the header through a mapping.
 */
static void ksalloc_capture_fill(struct ksalloc_capture_header *h, u32 size)
{
	__le64 *word = (__le64 *)(h + 1), tail;
	u64 seq = READ_ONCE(h->sequence);
	u32 i, n = size / 8;

	for (i = 0; i < n; i++)
		word[i] = cpu_to_le64(ksalloc_capture_pattern(seq, i));
	if (size % 8) {
		tail = cpu_to_le64(ksalloc_capture_pattern(seq, n));
		memcpy(&word[n], &tail, size % 8);
	}
}

/* A work item never runs concurrently with itself: @filled has one writer. */
static void ksalloc_capture_fill_work(struct work_struct *work)
{
	struct ksalloc_capture *c = container_of(work, struct ksalloc_capture,
						 fill_work);
	void *frame;
	u64 end;

	/*
	 * The frames produced before this run only: each later one queues
	 * the work again. A producer faster than the fill cannot keep it
	 * here for good, and it yields the CPU between frames.
	 */
	raw_spin_lock_irq(&c->qlock);
	end = c->tail;
	raw_spin_unlock_irq(&c->qlock);

	for (;;) {
		raw_spin_lock_irq(&c->qlock);
		frame = c->filled != end ? c->ring[c->filled % c->ring_size] : NULL;
		raw_spin_unlock_irq(&c->qlock);
		if (!frame)
			return;

		/* Constant while the work can run (see ksalloc_capture_stop()). */
		ksalloc_capture_fill(frame, c->frame_bytes - sizeof(struct ksalloc_capture_header));

		raw_spin_lock_irq(&c->qlock);
		c->filled++;
		raw_spin_unlock_irq(&c->qlock);
		wake_up_interruptible(&c->wait);
		cond_resched();
	}
}

/*
 * Stops the stream and returns every frame in the ring, and every frame the
 * application holds, to the allocator.
 */
static void ksalloc_capture_stop(struct ksalloc_capture *c)
{
	u64 head, tail;
	u32 i;

	lockdep_assert_held(&c->lock);
	hrtimer_cancel(&c->timer);
	cancel_work_sync(&c->fill_work);

	raw_spin_lock_irq(&c->qlock);
	c->streaming = false;
	c->counters.streaming = 0;
	head = c->head;
	tail = c->tail;
	c->counters.in_flight -= tail - head;
	c->counters.dropped += tail - head;
	c->head = 0;
	c->filled = 0;
	c->tail = 0;
	raw_spin_unlock_irq(&c->qlock);

	/*
	 * The ring's frames are ours alone now, freed with interrupts on:
	 * the timer and the fill work are stopped, read() finds the ring
	 * empty, and @lock keeps STREAMON and SET_ALLOCATOR out.
	 */
	for (; head != tail; head++)
		c->table.free_frame(c->alloc, c->ring[head % c->ring_size]);
	/* Delivered already: the counters do not change. */
	for (i = 0; c->nr_held && i < c->ring_size; i++) {
		if (!c->held[i].frame)
			continue;
		c->table.free_frame(c->alloc, c->held[i].frame);
		c->held[i].frame = NULL;
		c->nr_held--;
	}
	WARN_ON_ONCE(c->nr_held);
	wake_up_interruptible(&c->wait);
}

static int ksalloc_capture_open(struct inode *inode, struct file *file)
{
	struct ksalloc_capture *c;

	c = kzalloc(sizeof(*c), GFP_KERNEL_ACCOUNT);
	if (!c)
		return -ENOMEM;
	mutex_init(&c->lock);
	raw_spin_lock_init(&c->qlock);
	init_waitqueue_head(&c->wait);
	INIT_WORK(&c->fill_work, ksalloc_capture_fill_work);
	hrtimer_init(&c->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	c->timer.function = ksalloc_capture_tick;
	c->next_handle = 1;
	file->private_data = c;
	return 0;
}

static int ksalloc_capture_release(struct inode *inode, struct file *file)
{
	struct ksalloc_capture *c = file->private_data;

	mutex_lock(&c->lock);
	if (c->streaming)
		ksalloc_capture_stop(c);
	mutex_unlock(&c->lock);
	if (c->alloc)
		fput(c->alloc);
	kvfree(c->ring);
	kvfree(c->held);
	mutex_destroy(&c->lock);
	kfree(c);
	return 0;
}

static long ksalloc_capture_set_allocator(struct ksalloc_capture *c,
					  const struct ksalloc_capture_allocator *arg)
{
	struct ksalloc_capture_held *held = NULL;
	struct ksalloc_functiontable table;
	struct ksalloc_status status;
	struct file *alloc;
	void **ring = NULL;
	bool mappable;
	u64 offset;
	long err;

	if (arg->flags)
		return -EINVAL;
	alloc = ksalloc_fget(arg->fd);
	if (IS_ERR(alloc))
		return PTR_ERR(alloc);
	err = ksalloc_get_functiontable(alloc, &table);
	if (err)
		goto out;
	ksalloc_get_status(alloc, &status);
	/* NULL is no frame: -EINVAL if the pool is mappable, else -ENODEV. */
	mappable = ksalloc_frame_offset(alloc, NULL, &offset) != -ENODEV;
	/* Up to 512 KiB and 1 MiB: no need for physically contiguous pages. */
	ring = kvcalloc(status.framing.frames, sizeof(*ring), GFP_KERNEL_ACCOUNT);
	held = kvcalloc(status.framing.frames, sizeof(*held), GFP_KERNEL_ACCOUNT);
	err = -ENOMEM;
	if (!ring || !held)
		goto out;

	mutex_lock(&c->lock);
	if (c->streaming) {
		err = -EBUSY;
	} else if (c->format.fps && c->frame_bytes > status.framing.frame_size) {
		err = -EMSGSIZE;
	} else {
		raw_spin_lock_irq(&c->qlock);
		swap(c->alloc, alloc);
		swap(c->ring, ring);
		/* Not streaming: the application holds no frame. */
		swap(c->held, held);
		c->mappable = mappable;
		c->table = table;
		c->ring_size = status.framing.frames;
		c->frame_size = status.framing.frame_size;
		raw_spin_unlock_irq(&c->qlock);
		err = 0;
	}
	mutex_unlock(&c->lock);
out:
	/* The previous allocator and ring, or the new ones if refused. */
	if (alloc)
		fput(alloc);
	kvfree(ring);
	kvfree(held);
	return err;
}

static long ksalloc_capture_set_format(struct ksalloc_capture *c,
				       const struct ksalloc_capture_format *f)
{
	u32 bytes;
	long err = 0;

	if (!f->width || f->width > KSALLOC_CAPTURE_MAX_DIM ||
	    !f->height || f->height > KSALLOC_CAPTURE_MAX_DIM ||
	    !f->bytes_per_pixel || f->bytes_per_pixel > KSALLOC_CAPTURE_MAX_BPP ||
	    !f->fps || f->fps > KSALLOC_CAPTURE_MAX_FPS)
		return -EINVAL;
	/* At most 2^30 bytes of payload: no overflow. */
	bytes = sizeof(struct ksalloc_capture_header) +
		f->width * f->height * f->bytes_per_pixel;

	mutex_lock(&c->lock);
	if (c->streaming) {
		err = -EBUSY;
	} else if (c->alloc && bytes > c->frame_size) {
		err = -EMSGSIZE;
	} else {
		c->format = *f;
		c->frame_bytes = bytes;
		c->period = ns_to_ktime(div_u64(NSEC_PER_SEC, f->fps));
	}
	mutex_unlock(&c->lock);
	return err;
}

static long ksalloc_capture_streamon(struct ksalloc_capture *c)
{
	long err = 0;

	mutex_lock(&c->lock);
	if (c->streaming) {
		err = -EBUSY;
	} else if (!c->alloc || !c->format.fps) {
		err = -EBADFD;
	} else {
		raw_spin_lock_irq(&c->qlock);
		memset(&c->counters, 0, sizeof(c->counters));
		c->counters.streaming = 1;
		c->epoch++;
		c->mode = KSALLOC_CAPTURE_UNCHOSEN;
		c->streaming = true;
		raw_spin_unlock_irq(&c->qlock);
		hrtimer_start(&c->timer, c->period, HRTIMER_MODE_REL_HARD);
	}
	mutex_unlock(&c->lock);
	return err;
}

static bool ksalloc_capture_readable(struct ksalloc_capture *c)
{
	bool readable;

	raw_spin_lock_irq(&c->qlock);
	readable = c->head != c->filled || !c->streaming;
	raw_spin_unlock_irq(&c->qlock);
	return readable;
}

/*
 * Takes the oldest ready frame off the ring for DEQUEUE_FRAME, counted as
 * delivered; -EAGAIN if none is ready.
 */
static int ksalloc_capture_take(struct ksalloc_capture *c, void **frame)
{
	int err = 0;

	lockdep_assert_held(&c->lock);
	if (!c->alloc)
		return -EBADFD;
	if (!c->mappable)
		return -ENODEV;
	raw_spin_lock_irq(&c->qlock);
	if (c->mode == KSALLOC_CAPTURE_READ) {
		err = -EBUSY;
	} else if (!c->streaming) {
		err = -ENODATA;
	} else {
		c->mode = KSALLOC_CAPTURE_DEQUEUE;
		if (c->head == c->filled) {
			err = -EAGAIN;
		} else {
			*frame = c->ring[c->head++ % c->ring_size];
			c->counters.in_flight--;
			c->counters.delivered++;
		}
	}
	raw_spin_unlock_irq(&c->qlock);
	return err;
}

/* Gives back a frame dequeued but not handed out: dropped after all. */
static void ksalloc_capture_undo_take(struct ksalloc_capture *c, void *frame)
{
	lockdep_assert_held(&c->lock);
	c->table.free_frame(c->alloc, frame);
	raw_spin_lock_irq(&c->qlock);
	c->counters.delivered--;
	c->counters.dropped++;
	raw_spin_unlock_irq(&c->qlock);
}

static long ksalloc_capture_dequeue(struct ksalloc_capture *c, struct file *file,
				    struct ksalloc_capture_frame __user *uarg)
{
	const struct ksalloc_capture_header *h;
	struct ksalloc_capture_held *slot;
	struct ksalloc_capture_frame f;
	void *frame;
	u64 handle;
	long err;

	if (copy_from_user(&f, uarg, sizeof(f)))
		return -EFAULT;
	if (f.flags || f.reserved)
		return -EINVAL;

	/* @lock keeps STREAMOFF and SET_ALLOCATOR out until the frame is held. */
	for (;;) {
		err = mutex_lock_interruptible(&c->lock);
		if (err)
			return err;
		err = ksalloc_capture_take(c, &frame);
		if (err != -EAGAIN || (file->f_flags & O_NONBLOCK))
			break;
		mutex_unlock(&c->lock);
		err = wait_event_interruptible(c->wait,
					       ksalloc_capture_readable(c));
		if (err)
			return err;
	}
	if (err)
		goto out_unlock;

	memset(&f, 0, sizeof(f));
	err = ksalloc_frame_offset(c->alloc, frame, &f.offset);
	if (WARN_ON_ONCE(err)) {
		ksalloc_capture_undo_take(c, frame);
		goto out_unlock;
	}
	/* Fewer held than the allocator's frames, this one not yet: one is free. */
	for (handle = c->next_handle; c->held[handle % c->ring_size].frame;)
		handle++;
	f.handle = handle;
	h = frame;
	f.sequence = READ_ONCE(h->sequence);
	f.timestamp_ns = READ_ONCE(h->timestamp_ns);
	f.payload_size = c->frame_bytes - sizeof(*h);
	if (copy_to_user(uarg, &f, sizeof(f))) {
		ksalloc_capture_undo_take(c, frame);
		err = -EFAULT;
		goto out_unlock;
	}
	/* Handed out: every handle below the next one was, or was skipped. */
	c->next_handle = handle + 1;
	slot = &c->held[handle % c->ring_size];
	slot->handle = handle;
	slot->frame = frame;
	c->nr_held++;
out_unlock:
	mutex_unlock(&c->lock);
	return err;
}

static long ksalloc_capture_return(struct ksalloc_capture *c,
				   const struct ksalloc_capture_frame_handle *h)
{
	struct ksalloc_capture_held *slot;
	long err = 0;

	if (h->flags || h->reserved)
		return -EINVAL;
	mutex_lock(&c->lock);
	if (!h->handle || h->handle >= c->next_handle) {
		err = -EINVAL;
	} else if (!c->nr_held) {
		err = -ENOENT;
	} else {
		/* @nr_held: streaming, so @ring_size is that of @held. */
		slot = &c->held[h->handle % c->ring_size];
		if (slot->handle != h->handle || !slot->frame) {
			err = -ENOENT;
		} else {
			c->table.free_frame(c->alloc, slot->frame);
			slot->frame = NULL;
			c->nr_held--;
		}
	}
	mutex_unlock(&c->lock);
	return err;
}

static long ksalloc_capture_ioctl(struct file *file, unsigned int cmd,
				  unsigned long arg)
{
	struct ksalloc_capture *c = file->private_data;
	void __user *uarg = (void __user *)arg;
	struct ksalloc_capture_counters counters;
	struct ksalloc_capture_frame_handle handle;
	struct ksalloc_capture_allocator alloc;
	struct ksalloc_capture_format format;

	switch (cmd) {
	case KSALLOC_CAPTURE_IOC_SET_ALLOCATOR:
		if (copy_from_user(&alloc, uarg, sizeof(alloc)))
			return -EFAULT;
		return ksalloc_capture_set_allocator(c, &alloc);
	case KSALLOC_CAPTURE_IOC_SET_FORMAT:
		if (copy_from_user(&format, uarg, sizeof(format)))
			return -EFAULT;
		return ksalloc_capture_set_format(c, &format);
	case KSALLOC_CAPTURE_IOC_STREAMON:
		return ksalloc_capture_streamon(c);
	case KSALLOC_CAPTURE_IOC_STREAMOFF:
		mutex_lock(&c->lock);
		if (c->streaming)
			ksalloc_capture_stop(c);
		mutex_unlock(&c->lock);
		return 0;
	case KSALLOC_CAPTURE_IOC_GET_COUNTERS:
		raw_spin_lock_irq(&c->qlock);
		counters = c->counters;
		raw_spin_unlock_irq(&c->qlock);
		return copy_to_user(uarg, &counters, sizeof(counters)) ?
		       -EFAULT : 0;
	case KSALLOC_CAPTURE_IOC_DEQUEUE_FRAME:
		return ksalloc_capture_dequeue(c, file, uarg);
	case KSALLOC_CAPTURE_IOC_RETURN_FRAME:
		if (copy_from_user(&handle, uarg, sizeof(handle)))
			return -EFAULT;
		return ksalloc_capture_return(c, &handle);
	default:
		return -ENOTTY;
	}
}

static ssize_t ksalloc_capture_read(struct file *file, char __user *buf,
				    size_t count, loff_t *ppos)
{
	struct ksalloc_capture *c = file->private_data;
	ksalloc_free_frame_fn free_frame;
	struct file *alloc;
	ssize_t ret;
	void *frame;
	u32 bytes, epoch;

	for (;;) {
		raw_spin_lock_irq(&c->qlock);
		if (c->mode == KSALLOC_CAPTURE_DEQUEUE) {
			raw_spin_unlock_irq(&c->qlock);
			return -EBUSY;
		}
		if (c->streaming)
			c->mode = KSALLOC_CAPTURE_READ;
		if (c->head != c->filled)
			break;
		ret = c->streaming ? -EAGAIN : 0;
		raw_spin_unlock_irq(&c->qlock);
		if (!ret || (file->f_flags & O_NONBLOCK))
			return ret;
		ret = wait_event_interruptible(c->wait,
					       ksalloc_capture_readable(c));
		if (ret)
			return ret;
	}
	bytes = c->frame_bytes;
	if (count < bytes) {
		raw_spin_unlock_irq(&c->qlock);
		return -EINVAL;
	}
	frame = c->ring[c->head++ % c->ring_size];
	/* Counted now, so that every snapshot of the counters adds up. */
	c->counters.in_flight--;
	c->counters.delivered++;
	epoch = c->epoch;
	/* The stream may switch allocators once stopped: pin this one. */
	alloc = get_file(c->alloc);
	free_frame = c->table.free_frame;
	raw_spin_unlock_irq(&c->qlock);

	ret = copy_to_user(buf, frame, bytes) ? -EFAULT : (ssize_t)bytes;
	free_frame(alloc, frame);
	fput(alloc);

	if (ret < 0) {
		raw_spin_lock_irq(&c->qlock);
		if (epoch == c->epoch) {
			c->counters.delivered--;
			c->counters.dropped++;
		}
		raw_spin_unlock_irq(&c->qlock);
	}
	return ret;
}

static __poll_t ksalloc_capture_poll(struct file *file,
				     struct poll_table_struct *pt)
{
	struct ksalloc_capture *c = file->private_data;
	__poll_t mask;

	poll_wait(file, &c->wait, pt);
	raw_spin_lock_irq(&c->qlock);
	mask = c->head != c->filled ? EPOLLIN | EPOLLRDNORM : 0;
	/* A stopped stream reads as end of file. */
	if (!c->streaming)
		mask |= EPOLLIN | EPOLLRDNORM | EPOLLHUP;
	raw_spin_unlock_irq(&c->qlock);
	return mask;
}

static const struct file_operations ksalloc_capture_fops = {
	.owner		= THIS_MODULE,
	.open		= ksalloc_capture_open,
	.release	= ksalloc_capture_release,
	.read		= ksalloc_capture_read,
	.poll		= ksalloc_capture_poll,
	.unlocked_ioctl	= ksalloc_capture_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice ksalloc_capture_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "ksalloc_capture",
	.fops	= &ksalloc_capture_fops,
};

static int __init ksalloc_capture_init(void)
{
	BUILD_BUG_ON(sizeof(struct ksalloc_capture_header) != 24);
	BUILD_BUG_ON(sizeof(struct ksalloc_capture_counters) != 32);
	BUILD_BUG_ON(sizeof(struct ksalloc_capture_frame) != 48);
	BUILD_BUG_ON(sizeof(struct ksalloc_capture_frame_handle) != 16);
	return misc_register(&ksalloc_capture_misc);
}

static void __exit ksalloc_capture_exit(void)
{
	misc_deregister(&ksalloc_capture_misc);
}

module_init(ksalloc_capture_init);
module_exit(ksalloc_capture_exit);

MODULE_DESCRIPTION("Capture streams fed from ksalloc frame allocators");
MODULE_LICENSE("GPL");
