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
 */
struct ksalloc_capture {
	struct mutex lock; /* serialises configuration, see above */
	struct file *alloc;
	struct ksalloc_functiontable table;
	u32 frame_size;
	struct ksalloc_capture_format format;
	u32 frame_bytes;
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

/* The payload follows a 24-byte header in a slab object: 8-byte aligned. */
static void ksalloc_capture_fill(struct ksalloc_capture_header *h)
{
	__le64 *word = (__le64 *)(h + 1), tail;
	u32 i, n = h->payload_size / 8;

	for (i = 0; i < n; i++)
		word[i] = cpu_to_le64(ksalloc_capture_pattern(h->sequence, i));
	if (h->payload_size % 8) {
		tail = cpu_to_le64(ksalloc_capture_pattern(h->sequence, n));
		memcpy(&word[n], &tail, h->payload_size % 8);
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

		ksalloc_capture_fill(frame);

		raw_spin_lock_irq(&c->qlock);
		c->filled++;
		raw_spin_unlock_irq(&c->qlock);
		wake_up_interruptible(&c->wait);
		cond_resched();
	}
}

/* Stops the stream and returns every frame in the ring to the allocator. */
static void ksalloc_capture_stop(struct ksalloc_capture *c)
{
	u64 head, tail;

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
	mutex_destroy(&c->lock);
	kfree(c);
	return 0;
}

static long ksalloc_capture_set_allocator(struct ksalloc_capture *c,
					  const struct ksalloc_capture_allocator *arg)
{
	struct ksalloc_functiontable table;
	struct ksalloc_status status;
	struct file *alloc;
	void **ring = NULL;
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
	/* Up to 512 KiB: no need for physically contiguous pages. */
	ring = kvcalloc(status.framing.frames, sizeof(*ring), GFP_KERNEL_ACCOUNT);
	err = -ENOMEM;
	if (!ring)
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
		c->streaming = true;
		raw_spin_unlock_irq(&c->qlock);
		hrtimer_start(&c->timer, c->period, HRTIMER_MODE_REL_HARD);
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
	default:
		return -ENOTTY;
	}
}

static bool ksalloc_capture_readable(struct ksalloc_capture *c)
{
	bool readable;

	raw_spin_lock_irq(&c->qlock);
	readable = c->head != c->filled || !c->streaming;
	raw_spin_unlock_irq(&c->qlock);
	return readable;
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
