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
 *
 * A DMA source: the module is also the PCI driver of QEMU's edu device
 * (docs/specs/edu.rst in QEMU), the shape of an AVStream DMA capture
 * driver. A stream whose source is KSALLOC_CAPTURE_SOURCE_EDU takes a bound
 * edu device at STREAMON and attaches it to its allocator
 * (ksalloc_dma_attach(): every frame mapped once, DMA_FROM_DEVICE); edu's
 * DMA engine then replaces the timer. edu moves at most its 4 KiB buffer
 * per transfer (QEMU 7.2: a byte less, KSALLOC_CAPTURE_EDU_MAX_FRAME), 100 ms
 * after it is started, between its buffer and a DMA address below 2^28.
 * A frame is two transfers: the driver writes the frame's header and
 * payload for its sequence into a coherent buffer and has the device load
 * it into its buffer; at that transfer's completion
 * interrupt it takes a frame with ksalloc_dma_allocate_frame(), syncs it for
 * the device and has the device write its buffer into the frame; at that
 * one's, it puts the frame in the ring, as the timer does, and loads the
 * next sequence. No free frame: the sequence is dropped and counted.
 * Every byte of a delivered frame was written by the device. The fill work
 * syncs each completed frame for the CPU (ksalloc_dma_sync_for_cpu()) before
 * it becomes ready: in process context, as DMA-API debugging on PREEMPT_RT
 * asks. The interrupt handler's sync for the device runs in hard IRQ
 * except on PREEMPT_RT, where request_irq() handlers run in threads.
 *
 * The stream machinery (ring, held frames, DEQUEUE_FRAME, read(), the
 * counters) is the timer source's, unchanged: only the producer differs,
 * which is why edu is a source of this module and not a module of its own.
 *
 * Unbinding edu (remove()) while it streams does what page_pool learnt it
 * must (its 2024 fix "page_pool: fix IOMMU crash when driver has already
 * unbound"): no mapping outlives the device's binding. remove() stops the
 * device from starting transfers, waits for the one in flight to complete
 * and for the interrupt handler, cancels the fill work, and detaches: every
 * frame unmapped, held ones included, which stay valid memory for their
 * holders (the application's, returned later, as page_pool's pages in
 * flight return after its destroy). The stream then fails DEQUEUE_FRAME and
 * read() with -ENODEV until STREAMOFF; the allocator is untouched.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-mapping.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/io-64-nonatomic-lo-hi.h>
#include <linux/iopoll.h>
#include <linux/ksalloc.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/poll.h>
#include <linux/scatterlist.h>
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

struct ksalloc_capture_edu;

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
 * @source: where frames come from, KSALLOC_CAPTURE_SOURCE_*; set under
 *	@lock, not while streaming.
 * @edu: the edu device streaming for us. Set at STREAMON, cleared by
 *	STREAMOFF or the device's remove(), under ksalloc_capture_edu_lock
 *	and @qlock.
 * @dma: its attachment, as @edu; the fill work uses it, and it stays while
 *	the work can run.
 * @error: why the stream stopped producing (-ENODEV: the device went away),
 *	0 while it works; under @qlock, reset by STREAMON.
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

	u32 source;
	struct ksalloc_capture_edu *edu;
	struct ksalloc_dma *dma;
	int error;
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

		/*
		 * Constant while the work can run (see ksalloc_capture_stop()
		 * and ksalloc_capture_edu_stop()). The device wrote the frame:
		 * make it the CPU's; the timer only stamped it: fill it.
		 */
		if (c->dma)
			ksalloc_dma_sync_for_cpu(c->dma, frame, c->frame_bytes);
		else
			ksalloc_capture_fill(frame, c->frame_bytes -
					     sizeof(struct ksalloc_capture_header));

		raw_spin_lock_irq(&c->qlock);
		c->filled++;
		raw_spin_unlock_irq(&c->qlock);
		wake_up_interruptible(&c->wait);
		cond_resched();
	}
}

/* QEMU's edu device: the registers of BAR 0 used here, and its buffer. */
#define KSALLOC_EDU_IRQ_STATUS	0x24
#define KSALLOC_EDU_IRQ_ACK	0x64
#define KSALLOC_EDU_DMA_SRC	0x80
#define KSALLOC_EDU_DMA_DST	0x88
#define KSALLOC_EDU_DMA_COUNT	0x90
#define KSALLOC_EDU_DMA_CMD	0x98
#define KSALLOC_EDU_CMD_RUN	0x1
#define KSALLOC_EDU_CMD_TO_RAM	0x2	/* else from memory to its buffer */
#define KSALLOC_EDU_CMD_IRQ	0x4	/* raise KSALLOC_EDU_IRQ_DMA when done */
#define KSALLOC_EDU_IRQ_DMA	0x100
#define KSALLOC_EDU_BUF		0x40000	/* its buffer, in its own addresses */
/* Its DMA addresses keep 28 bits (edu.rst: "dma_mask"). */
#define KSALLOC_EDU_DMA_BITS	28
/* A transfer completes 100 ms after it starts: wait that, with room to spare. */
#define KSALLOC_EDU_TIMEOUT_US	(2 * USEC_PER_SEC)

/**
 * struct ksalloc_capture_edu - an edu device bound to the driver
 * @pdev: the device.
 * @regs: its registers (BAR 0).
 * @irq: its interrupt, an MSI.
 * @node: in ksalloc_capture_edus.
 * @buf: what the device loads a frame from, coherent,
 *	KSALLOC_CAPTURE_EDU_MAX_FRAME bytes.
 * @buf_dma: @buf's DMA address.
 * @stream: the stream it produces for, NULL when idle; under
 *	ksalloc_capture_edu_lock.
 * @dma: @stream's attachment of the device; constant while @running.
 * @lock: orders the start of a transfer against the clearing of @running.
 * @running: transfers may start; under @lock.
 * @busy: a transfer is in flight: set when one starts, under @lock;
 *	cleared by the interrupt handler when it completes.
 * @frame: the frame the device writes, NULL while it loads one.
 * @sequence: the sequence of the frame it loads or writes.
 * @broken: a transfer never completed (ksalloc_capture_edu_stop()): bus
 *	mastering is off and no stream takes the device until it is bound
 *	again (STREAMON: -EBUSY); under ksalloc_capture_edu_lock.
 *
 * @frame and @sequence are the interrupt handler's while @running (a
 * handler never runs concurrently with itself); STREAMON sets them before,
 * ksalloc_capture_edu_stop() takes them after.
 */
struct ksalloc_capture_edu {
	struct pci_dev *pdev;
	void __iomem *regs;
	int irq;
	struct list_head node;
	void *buf;
	dma_addr_t buf_dma;
	struct ksalloc_capture *stream;
	struct ksalloc_dma *dma;
	raw_spinlock_t lock; /* orders transfers against stopping, see above */
	bool running;
	bool busy;
	void *frame;
	u64 sequence;
	bool broken;
};

/* Protects ksalloc_capture_edus and each device's @stream; nests in a stream's @lock. */
static DEFINE_MUTEX(ksalloc_capture_edu_lock);
static LIST_HEAD(ksalloc_capture_edus);

/* Starts a transfer of @count bytes, unless the device is being stopped. */
static void ksalloc_capture_edu_dma(struct ksalloc_capture_edu *edu,
				    dma_addr_t src, dma_addr_t dst, u32 count,
				    u32 cmd)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&edu->lock, flags);
	if (edu->running) {
		edu->busy = true;
		/* writel()/writeq() order the CPU's writes to @buf before. */
		writeq(src, edu->regs + KSALLOC_EDU_DMA_SRC);
		writeq(dst, edu->regs + KSALLOC_EDU_DMA_DST);
		writeq(count, edu->regs + KSALLOC_EDU_DMA_COUNT);
		writeq(cmd | KSALLOC_EDU_CMD_RUN | KSALLOC_EDU_CMD_IRQ,
		       edu->regs + KSALLOC_EDU_DMA_CMD);
	}
	raw_spin_unlock_irqrestore(&edu->lock, flags);
}

/* Loads frame @sequence, header and payload, into the device's buffer. */
static void ksalloc_capture_edu_load(struct ksalloc_capture_edu *edu)
{
	struct ksalloc_capture *c = edu->stream;
	struct ksalloc_capture_header *h = edu->buf;

	h->sequence = edu->sequence;
	h->timestamp_ns = ktime_get_ns();
	h->payload_size = c->frame_bytes - sizeof(*h);
	h->reserved = 0;
	ksalloc_capture_fill(h, h->payload_size);
	ksalloc_capture_edu_dma(edu, edu->buf_dma, KSALLOC_EDU_BUF,
				c->frame_bytes, 0);
}

#if IS_ENABLED(CONFIG_PCI)
/*
 * The device address of @frame's first @len bytes, given its address from
 * ksalloc_dma_allocate_frame(); DMA_MAPPING_ERROR if they are not one range.
 */
static dma_addr_t ksalloc_capture_edu_addr(const struct ksalloc_capture_edu *edu,
					   const void *frame, dma_addr_t addr,
					   u32 len)
{
	const struct sg_table *sgt;

	if (addr != DMA_MAPPING_ERROR)
		return addr;
	/* Frames of several pages are lists: the device writes at most a page. */
	sgt = ksalloc_dma_sgt(edu->dma, frame);
	if (!sgt || sg_dma_len(sgt->sgl) < len)
		return DMA_MAPPING_ERROR;
	return sg_dma_address(sgt->sgl);
}

/*
 * A transfer completed: the device loaded a frame into its buffer, and the
 * next free frame takes it; or it wrote a frame, which goes to the ring, as
 * the timer's do, and the next sequence is loaded.
 */
static irqreturn_t ksalloc_capture_edu_irq(int irq, void *data)
{
	struct ksalloc_capture_edu *edu = data;
	struct ksalloc_capture *c;
	unsigned long flags;
	dma_addr_t addr;
	void *frame;
	u32 status;

	status = readl(edu->regs + KSALLOC_EDU_IRQ_STATUS);
	if (!(status & KSALLOC_EDU_IRQ_DMA))
		return IRQ_NONE;
	writel(status, edu->regs + KSALLOC_EDU_IRQ_ACK);
	/* Seen by ksalloc_capture_edu_stop() once the handler returns. */
	WRITE_ONCE(edu->busy, false);
	if (!READ_ONCE(edu->running))
		return IRQ_HANDLED;

	c = edu->stream;
	frame = edu->frame;
	if (frame) {
		/* Synced for the CPU by the fill work. */
		edu->frame = NULL;
		raw_spin_lock_irqsave(&c->qlock, flags);
		c->counters.produced++;
		c->ring[c->tail++ % c->ring_size] = frame;
		c->counters.in_flight++;
		raw_spin_unlock_irqrestore(&c->qlock, flags);
		queue_work(system_highpri_wq, &c->fill_work);
		edu->sequence++;
		ksalloc_capture_edu_load(edu);
		return IRQ_HANDLED;
	}

	if (!ksalloc_dma_allocate_frame(edu->dma, &frame, &addr)) {
		addr = ksalloc_capture_edu_addr(edu, frame, addr, c->frame_bytes);
		if (!WARN_ON_ONCE(addr == DMA_MAPPING_ERROR)) {
			ksalloc_dma_sync_for_device(edu->dma, frame, c->frame_bytes);
			edu->frame = frame;
			ksalloc_capture_edu_dma(edu, KSALLOC_EDU_BUF, addr,
						c->frame_bytes,
						KSALLOC_EDU_CMD_TO_RAM);
			return IRQ_HANDLED;
		}
		c->table.free_frame(c->alloc, frame);
	}
	/* No free frame: dropped, as hardware drops a frame no buffer awaits. */
	raw_spin_lock_irqsave(&c->qlock, flags);
	c->counters.produced++;
	c->counters.dropped++;
	raw_spin_unlock_irqrestore(&c->qlock, flags);
	edu->sequence++;
	ksalloc_capture_edu_load(edu);
	return IRQ_HANDLED;
}

#endif /* CONFIG_PCI */

/*
 * Takes an idle edu device for @c and attaches it to @c's allocator;
 * ksalloc_capture_edu_run() starts it.
 */
static int ksalloc_capture_edu_attach(struct ksalloc_capture *c)
{
	struct ksalloc_capture_edu *edu, *found = NULL;
	struct ksalloc_dma *dma;
	int err = -ENODEV;

	lockdep_assert_held(&c->lock);
	lockdep_assert_held(&ksalloc_capture_edu_lock);
	if (c->frame_bytes > KSALLOC_CAPTURE_EDU_MAX_FRAME)
		return -EMSGSIZE;
	list_for_each_entry(edu, &ksalloc_capture_edus, node) {
		if (!edu->stream && !edu->broken) {
			found = edu;
			break;
		}
		err = -EBUSY;
	}
	if (!found)
		return err;
	dma = ksalloc_dma_attach(c->alloc, &found->pdev->dev, DMA_FROM_DEVICE);
	if (IS_ERR(dma))
		return PTR_ERR(dma);
	found->stream = c;
	found->dma = dma;
	found->frame = NULL;
	found->sequence = 0;
	raw_spin_lock_irq(&c->qlock);
	c->edu = found;
	c->dma = dma;
	raw_spin_unlock_irq(&c->qlock);
	return 0;
}

/* Starts @c's device: it loads frame 0. */
static void ksalloc_capture_edu_run(struct ksalloc_capture *c)
{
	struct ksalloc_capture_edu *edu = c->edu;

	lockdep_assert_held(&ksalloc_capture_edu_lock);
	raw_spin_lock_irq(&edu->lock);
	edu->running = true;
	raw_spin_unlock_irq(&edu->lock);
	/* Nothing in flight: the interrupt handler cannot run for it. */
	ksalloc_capture_edu_load(edu);
}

/*
 * Stops @c's device and detaches it, leaving @err for the stream (0 at
 * STREAMOFF, -ENODEV when the device goes away). Afterwards no transfer
 * runs or starts, the interrupt handler and the fill work are done with the
 * stream, and no frame is mapped for the device. A frame the device wrote
 * and the fill work has not synced is left in the ring: the stream is
 * stopped (@err) or stopping, and it never becomes ready.
 */
static void ksalloc_capture_edu_stop(struct ksalloc_capture *c, int err)
{
	struct ksalloc_capture_edu *edu = c->edu;
	bool busy;

	lockdep_assert_held(&ksalloc_capture_edu_lock);
	raw_spin_lock_irq(&edu->lock);
	edu->running = false;
	raw_spin_unlock_irq(&edu->lock);
	/*
	 * No transfer starts now; edu cannot abort one in flight: wait for
	 * it to complete (its handler clears @busy), then for the handler.
	 */
	if (read_poll_timeout(READ_ONCE, busy, !busy, USEC_PER_MSEC,
			      KSALLOC_EDU_TIMEOUT_US, false, edu->busy)) {
		/*
		 * Before anything is unmapped: no late write may reach memory
		 * that is not the frame's any more. The device stays unusable
		 * until it is bound again.
		 */
		pci_clear_master(edu->pdev);
		edu->broken = true;
		dev_err(&edu->pdev->dev,
			"DMA still running after %lu ms: bus mastering off, its frame leaked\n",
			KSALLOC_EDU_TIMEOUT_US / USEC_PER_MSEC);
	}
	synchronize_irq(edu->irq);
	if (!busy && edu->frame)
		c->table.free_frame(c->alloc, edu->frame);
	edu->frame = NULL;
	/* It syncs frames for the CPU through the attachment. */
	cancel_work_sync(&c->fill_work);
	ksalloc_dma_detach(edu->dma);
	edu->dma = NULL;
	edu->stream = NULL;
	raw_spin_lock_irq(&c->qlock);
	c->edu = NULL;
	c->dma = NULL;
	c->error = err;
	raw_spin_unlock_irq(&c->qlock);
	wake_up_interruptible(&c->wait);
}

#if IS_ENABLED(CONFIG_PCI)
static int ksalloc_capture_edu_probe(struct pci_dev *pdev,
				     const struct pci_device_id *id)
{
	struct ksalloc_capture_edu *edu;
	int err;

	edu = kzalloc(sizeof(*edu), GFP_KERNEL);
	if (!edu)
		return -ENOMEM;
	edu->pdev = pdev;
	raw_spin_lock_init(&edu->lock);
	err = pci_enable_device(pdev);
	if (err)
		goto err_free;
	err = pci_request_regions(pdev, KBUILD_MODNAME);
	if (err)
		goto err_disable;
	edu->regs = pci_iomap(pdev, 0, 0);
	if (!edu->regs) {
		err = -ENOMEM;
		goto err_release;
	}
	/* Before ksalloc_dma_attach(), which maps for this mask. */
	err = dma_set_mask_and_coherent(&pdev->dev,
					DMA_BIT_MASK(KSALLOC_EDU_DMA_BITS));
	if (err)
		goto err_iounmap;
	pci_set_master(pdev);
	edu->buf = dma_alloc_coherent(&pdev->dev, KSALLOC_CAPTURE_EDU_MAX_FRAME,
				      &edu->buf_dma, GFP_KERNEL);
	if (!edu->buf) {
		err = -ENOMEM;
		goto err_clear_master;
	}
	err = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_MSI);
	if (err < 0)
		goto err_free_buf;
	edu->irq = pci_irq_vector(pdev, 0);
	/* Not IRQF_NO_THREAD: on PREEMPT_RT a thread, where syncs may run. */
	err = request_irq(edu->irq, ksalloc_capture_edu_irq, 0, KBUILD_MODNAME,
			  edu);
	if (err)
		goto err_free_vectors;
	pci_set_drvdata(pdev, edu);
	mutex_lock(&ksalloc_capture_edu_lock);
	list_add_tail(&edu->node, &ksalloc_capture_edus);
	mutex_unlock(&ksalloc_capture_edu_lock);
	return 0;

err_free_vectors:
	pci_free_irq_vectors(pdev);
err_free_buf:
	dma_free_coherent(&pdev->dev, KSALLOC_CAPTURE_EDU_MAX_FRAME, edu->buf,
			  edu->buf_dma);
err_clear_master:
	pci_clear_master(pdev);
err_iounmap:
	pci_iounmap(pdev, edu->regs);
err_release:
	pci_release_regions(pdev);
err_disable:
	pci_disable_device(pdev);
err_free:
	kfree(edu);
	return err;
}

/* Unbinding: a stream that uses the device stops with -ENODEV first. */
static void ksalloc_capture_edu_remove(struct pci_dev *pdev)
{
	struct ksalloc_capture_edu *edu = pci_get_drvdata(pdev);

	mutex_lock(&ksalloc_capture_edu_lock);
	list_del(&edu->node);
	if (edu->stream)
		ksalloc_capture_edu_stop(edu->stream, -ENODEV);
	mutex_unlock(&ksalloc_capture_edu_lock);
	free_irq(edu->irq, edu);
	pci_free_irq_vectors(pdev);
	/* No DMA from the device once its buffer is freed. */
	pci_clear_master(pdev);
	dma_free_coherent(&pdev->dev, KSALLOC_CAPTURE_EDU_MAX_FRAME, edu->buf,
			  edu->buf_dma);
	pci_iounmap(pdev, edu->regs);
	pci_release_regions(pdev);
	pci_disable_device(pdev);
	kfree(edu);
}

static const struct pci_device_id ksalloc_capture_edu_ids[] = {
	{ PCI_DEVICE(0x1234, 0x11e8) },	/* QEMU's edu */
	{ }
};
MODULE_DEVICE_TABLE(pci, ksalloc_capture_edu_ids);

static struct pci_driver ksalloc_capture_edu_driver = {
	.name		= KBUILD_MODNAME,
	.id_table	= ksalloc_capture_edu_ids,
	.probe		= ksalloc_capture_edu_probe,
	.remove		= ksalloc_capture_edu_remove,
};

static int ksalloc_capture_edu_register(void)
{
	return pci_register_driver(&ksalloc_capture_edu_driver);
}

static void ksalloc_capture_edu_unregister(void)
{
	pci_unregister_driver(&ksalloc_capture_edu_driver);
}
#else
/* No PCI: no edu device; STREAMON of an edu stream fails with -ENODEV. */
static int ksalloc_capture_edu_register(void)
{
	return 0;
}

static void ksalloc_capture_edu_unregister(void)
{
}
#endif /* CONFIG_PCI */

/*
 * Stops the stream and returns every frame in the ring, and every frame the
 * application holds, to the allocator.
 */
static void ksalloc_capture_stop(struct ksalloc_capture *c)
{
	u64 head, tail;
	u32 i;

	lockdep_assert_held(&c->lock);
	if (c->source == KSALLOC_CAPTURE_SOURCE_EDU) {
		mutex_lock(&ksalloc_capture_edu_lock);
		/* Unless the device went away. */
		if (c->edu)
			ksalloc_capture_edu_stop(c, 0);
		mutex_unlock(&ksalloc_capture_edu_lock);
	}
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
		/* Held until the device runs: remove() waits for it. */
		if (c->source == KSALLOC_CAPTURE_SOURCE_EDU) {
			mutex_lock(&ksalloc_capture_edu_lock);
			err = ksalloc_capture_edu_attach(c);
		}
		if (!err) {
			raw_spin_lock_irq(&c->qlock);
			memset(&c->counters, 0, sizeof(c->counters));
			c->counters.streaming = 1;
			c->epoch++;
			c->mode = KSALLOC_CAPTURE_UNCHOSEN;
			c->error = 0;
			c->streaming = true;
			raw_spin_unlock_irq(&c->qlock);
			if (c->source == KSALLOC_CAPTURE_SOURCE_EDU)
				ksalloc_capture_edu_run(c);
			else
				hrtimer_start(&c->timer, c->period,
					      HRTIMER_MODE_REL_HARD);
		}
		if (c->source == KSALLOC_CAPTURE_SOURCE_EDU)
			mutex_unlock(&ksalloc_capture_edu_lock);
	}
	mutex_unlock(&c->lock);
	return err;
}

static long ksalloc_capture_set_source(struct ksalloc_capture *c,
				       const struct ksalloc_capture_source *s)
{
	long err = 0;

	if (s->flags || s->source > KSALLOC_CAPTURE_SOURCE_EDU)
		return -EINVAL;
	mutex_lock(&c->lock);
	if (c->streaming)
		err = -EBUSY;
	else
		c->source = s->source;
	mutex_unlock(&c->lock);
	return err;
}

static bool ksalloc_capture_readable(struct ksalloc_capture *c)
{
	bool readable;

	raw_spin_lock_irq(&c->qlock);
	readable = c->head != c->filled || !c->streaming || c->error;
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
	if (c->streaming && c->error) {
		/* As read(): a failed stream chooses no mode. */
		err = c->error;
	} else if (c->mode == KSALLOC_CAPTURE_READ) {
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
	struct ksalloc_capture_source source;

	switch (cmd) {
	case KSALLOC_CAPTURE_IOC_SET_ALLOCATOR:
		if (copy_from_user(&alloc, uarg, sizeof(alloc)))
			return -EFAULT;
		return ksalloc_capture_set_allocator(c, &alloc);
	case KSALLOC_CAPTURE_IOC_SET_FORMAT:
		if (copy_from_user(&format, uarg, sizeof(format)))
			return -EFAULT;
		return ksalloc_capture_set_format(c, &format);
	case KSALLOC_CAPTURE_IOC_SET_SOURCE:
		if (copy_from_user(&source, uarg, sizeof(source)))
			return -EFAULT;
		return ksalloc_capture_set_source(c, &source);
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
		/* A stream that failed chooses no mode: both calls see why. */
		if (c->streaming && c->error) {
			ret = c->error;
			raw_spin_unlock_irq(&c->qlock);
			return ret;
		}
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
	/* A stopped stream reads as end of file; one whose device went, as an error. */
	if (!c->streaming)
		mask |= EPOLLIN | EPOLLRDNORM | EPOLLHUP;
	else if (c->error)
		mask = EPOLLERR | EPOLLHUP;
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
	int err;

	BUILD_BUG_ON(sizeof(struct ksalloc_capture_header) != 24);
	BUILD_BUG_ON(sizeof(struct ksalloc_capture_counters) != 32);
	BUILD_BUG_ON(sizeof(struct ksalloc_capture_frame) != 48);
	BUILD_BUG_ON(sizeof(struct ksalloc_capture_frame_handle) != 16);
	BUILD_BUG_ON(sizeof(struct ksalloc_capture_source) != 8);
	err = misc_register(&ksalloc_capture_misc);
	if (err)
		return err;
	err = ksalloc_capture_edu_register();
	if (err)
		misc_deregister(&ksalloc_capture_misc);
	return err;
}

static void __exit ksalloc_capture_exit(void)
{
	ksalloc_capture_edu_unregister();
	misc_deregister(&ksalloc_capture_misc);
}

module_init(ksalloc_capture_init);
module_exit(ksalloc_capture_exit);

MODULE_DESCRIPTION("Capture streams fed from ksalloc frame allocators");
MODULE_LICENSE("GPL");
