// SPDX-License-Identifier: GPL-2.0
/* The smallest ksalloc client: an allocator, its table, frames from hard IRQ. */
#include <linux/err.h>
#include <linux/file.h>
#include <linux/hrtimer.h>
#include <linux/ksalloc.h>
#include <linux/module.h>

MODULE_IMPORT_NS(KSALLOC);

static struct file *sample_alloc;	/* our reference: the allocator's lifetime */
static struct ksalloc_functiontable sample_table;
static struct hrtimer sample_timer;

static enum hrtimer_restart sample_tick(struct hrtimer *timer)
{
	void *frame;

	/* Hard IRQ: allocate_frame never waits; -EAGAIN means drop this frame. */
	if (!sample_table.allocate_frame(sample_alloc, &frame)) {
		memset(frame, 0, 64);
		sample_table.free_frame(sample_alloc, frame);
	}
	hrtimer_forward_now(timer, ms_to_ktime(10));
	return HRTIMER_RESTART;
}

static int __init sample_init(void)
{
	struct ksalloc_framing framing = {
		.pool_type = KSALLOC_POOL_ATOMIC,
		.frames = 4,
		.frame_size = 64,
		.alignment = 63,
	};
	int err;

	sample_alloc = ksalloc_create(&framing);	/* or ksalloc_fget(fd) */
	if (IS_ERR(sample_alloc))
		return PTR_ERR(sample_alloc);
	err = ksalloc_get_functiontable(sample_alloc, &sample_table);
	if (err) {
		fput(sample_alloc);
		return err;
	}
	hrtimer_init(&sample_timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	sample_timer.function = sample_tick;
	hrtimer_start(&sample_timer, ms_to_ktime(10), HRTIMER_MODE_REL_HARD);
	return 0;
}

static void __exit sample_exit(void)
{
	hrtimer_cancel(&sample_timer);	/* after this, no frame is held */
	fput(sample_alloc);
}

module_init(sample_init);
module_exit(sample_exit);
MODULE_DESCRIPTION("Minimal ksalloc client");
MODULE_LICENSE("GPL");
