// SPDX-License-Identifier: GPL-2.0
/*
 * Waiting for a frame: pending requests (KSMETHOD_STREAMALLOCATOR_ALLOC),
 * the free-frame event (KSEVENT_STREAMALLOCATOR_FREEFRAME) and the wake-ups
 * of poll().
 *
 * While a request is pending no frame is free, and a returned frame goes to
 * the oldest pending request before it becomes free. So does every free
 * while poll() or the free-frame event waits for one: the per-CPU caches are
 * closed meanwhile (frame.c). ksalloc_settle_locked() restores this after
 * every change, under the allocator's lock.
 *
 * poll() waits (@poll_armed) from the moment a waiter on @wait may have been
 * told that no frame is free until the next free wakes it: when ->poll()
 * finds none, and when an allocation is refused for want of one while the
 * queue has a waiter (ksalloc_refuse_locked()). The second is for waiters
 * that never call ->poll() again before they sleep: edge-triggered epoll
 * and io_uring's multishot poll, told once that a frame is free, allocate
 * until they get -EAGAIN, then wait for a wake-up; or a kernel client
 * emptied the pool meanwhile and was refused. An allocation that empties
 * the pool without a refusal arms nothing: nobody was told "none", and the
 * per-CPU caches stay open, so that a pool with an idle epoll watcher keeps
 * its fast paths until it runs dry.
 *
 * Completions run from a work item (@complete_work), never in the caller's
 * context: a free in hard IRQ may grant a frame to a request whose
 * completion sleeps. Poll wake-ups and the event run from an irq_work
 * (@wake_work), one at a time, so that the event never runs on two CPUs.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/poll.h>

#include "ksalloc_priv.h"
#include "ksalloc_trace.h"

void ksalloc_grant_locked(struct ksalloc *a, struct ksalloc_request *req,
			  void *frame, int error)
{
	lockdep_assert_held(&a->lock);
	req->frame = frame;
	req->error = error;
	req->pending = false;
	list_move_tail(&req->node, &a->done);
	/*
	 * Queued before the lock is dropped: ksalloc_cancel_request(), once
	 * it finds @req no longer pending, flushes a work that completes it.
	 */
	queue_work(system_wq, &a->complete_work);
}

/*
 * Restores the invariants after frames were returned, requests queued or
 * poll() armed: pending requests are served from the shared stack, oldest
 * first; the caches are open or closed as ksalloc_want_caches() says; if a
 * frame is free, poll() waiters and the free-frame event are woken, and
 * poll() disarmed. Says whether @wake_work must be queued.
 */
void ksalloc_settle_locked(struct ksalloc *a, bool *wake)
{
	struct ksalloc_request *req;

	lockdep_assert_held(&a->lock);
	do {
		while (a->nr_free && !list_empty(&a->requests)) {
			u32 slot = ksalloc_take_locked(a, KSALLOC_ENTRY_ALLOCATED);

			req = list_first_entry(&a->requests,
					       struct ksalloc_request, node);
			a->waiters--;
			ksalloc_grant_locked(a, req,
					     ksalloc_entry_frame(a->pool.table->entry[slot]),
					     0);
		}
	} while (ksalloc_update_caches(a));

	if (a->nr_free && (a->poll_armed || a->event_fn)) {
		a->poll_armed = false;
		/*
		 * One @wake_work at a time, so that the event never runs on
		 * two CPUs: a running one is told to run again.
		 */
		if (a->wake_queued)
			a->wake_again = true;
		else
			*wake = a->wake_queued = true;
		ksalloc_update_caches(a);
	}
}

/*
 * An allocation found no free frame, here under the lock: counts it, and
 * arms poll() if a waiter is queued, for it may have been told before that
 * a frame was free and sleep without calling ->poll() again. Arming closes
 * the caches, so the next free is seen; if closing them found frames freed
 * meanwhile, @wake says the waiters must be woken at once.
 */
void ksalloc_refuse_locked(struct ksalloc *a, bool *wake)
{
	lockdep_assert_held(&a->lock);
	a->failed++;
	/*
	 * No barrier: a waiter queues itself in ksalloc_poll() before it
	 * takes our lock. If it took it before us, we see it queued; if
	 * after, its ->poll() looks at the frames then, and arms if none
	 * is free.
	 */
	if (!a->poll_armed && waitqueue_active(&a->wait)) {
		a->poll_armed = true;
		ksalloc_settle_locked(a, wake);
	}
}

/*
 * Takes a free frame for a holder of @flags. If none is free, queues @req if
 * there is one, else refuses (ksalloc_refuse_locked()). Returns the frame's
 * slot, -EAGAIN if none was free, -EBADFD before the framing is set, or
 * -ENODEV for @req once the release has begun.
 */
long ksalloc_take_or_queue(struct ksalloc *a, unsigned long flags,
			   struct ksalloc_request *req)
{
	bool wake = false;
	unsigned int allocated, waiters;
	unsigned long irqflags;
	long slot;

	raw_spin_lock_irqsave(&a->lock, irqflags);
	if (!a->ready) {
		slot = -EBADFD;
	} else if (req && a->releasing) {
		slot = -ENODEV;
	} else if (ksalloc_gather(a)) {
		slot = ksalloc_take_locked(a, flags);
	} else if (req) {
		req->pending = true;
		list_add_tail(&req->node, &a->requests);
		a->waiters++;
		slot = -EAGAIN;
		/* Closes the caches: a frame freed meanwhile goes to @req. */
		ksalloc_settle_locked(a, &wake);
	} else {
		ksalloc_refuse_locked(a, &wake);
		slot = -EAGAIN;
	}
	allocated = ksalloc_allocated(a);
	waiters = a->waiters;
	raw_spin_unlock_irqrestore(&a->lock, irqflags);

	ksalloc_kick(a, wake);
	if (slot == -EAGAIN && req)
		trace_ksalloc_wait(a->id, waiters);
	else if (slot >= 0 || slot == -EAGAIN)
		trace_ksalloc_allocate(a->id, ksalloc_slot_handle(&a->pool, slot),
				       allocated);
	return slot;
}

/* Returns true if @req was still pending and is now withdrawn. */
bool ksalloc_dequeue(struct ksalloc *a, struct ksalloc_request *req)
{
	bool wake = false;
	unsigned long flags;
	bool pending;

	raw_spin_lock_irqsave(&a->lock, flags);
	pending = req->pending;
	if (pending) {
		list_del_init(&req->node);
		req->pending = false;
		a->waiters--;
		ksalloc_settle_locked(a, &wake);
	}
	raw_spin_unlock_irqrestore(&a->lock, flags);
	ksalloc_kick(a, wake);
	return pending;
}

/**
 * ksalloc_submit_request() - ask for a frame, waiting for one if none is free
 * @file: the allocator.
 * @req: the request, with @req->complete set; it must stay valid until it is
 *	completed or cancelled.
 *
 * KSMETHOD_STREAMALLOCATOR_ALLOC: @req->complete is called with a frame as
 * soon as one is free to this request: at once if one is free now, else when
 * a frame returns and every older request has been served. Works for both
 * pool types. The frame is returned with ksalloc_free_frame().
 *
 * Context: Any context. Never sleeps.
 * Return: 0 if @req was submitted; -EINVAL if @file is not an allocator or
 * @req has no completion; -EBADFD before the framing is set; -ENODEV once
 * the allocator's release has begun (from a request completion that the
 * release runs).
 */
int ksalloc_submit_request(struct file *file, struct ksalloc_request *req)
{
	struct ksalloc *a = ksalloc_from_file(file);
	unsigned long flags;
	long slot;

	if (!a || !req->complete)
		return -EINVAL;
	slot = ksalloc_take_or_queue(a, KSALLOC_ENTRY_ALLOCATED, req);
	if (slot == -EAGAIN)
		return 0;
	if (slot < 0)
		return slot;

	raw_spin_lock_irqsave(&a->lock, flags);
	INIT_LIST_HEAD(&req->node);
	ksalloc_grant_locked(a, req,
			     ksalloc_entry_frame(a->pool.table->entry[slot]), 0);
	raw_spin_unlock_irqrestore(&a->lock, flags);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(ksalloc_submit_request, KSALLOC);

/**
 * ksalloc_cancel_request() - withdraw a request
 * @file: the allocator @req was submitted to.
 * @req: the request.
 *
 * Either @req was still pending and is withdrawn (its completion will not be
 * called), or it was already granted or failed, and its completion has run
 * by the time this returns. Either way ksalloc is done with @req.
 *
 * Context: Process context, not from a request completion. May sleep.
 * Return: true if @req was withdrawn, false if it had completed, or if
 * @file is not an allocator (which never had @req).
 */
bool ksalloc_cancel_request(struct file *file, struct ksalloc_request *req)
{
	struct ksalloc *a = ksalloc_from_file(file);

	might_sleep();
	if (!a)
		return false;
	if (ksalloc_dequeue(a, req))
		return true;
	flush_work(&a->complete_work);
	return false;
}
EXPORT_SYMBOL_NS_GPL(ksalloc_cancel_request, KSALLOC);

void ksalloc_complete_work(struct work_struct *work)
{
	struct ksalloc *a = container_of(work, struct ksalloc, complete_work);
	struct ksalloc_request *req, *next;
	unsigned long flags;
	LIST_HEAD(done);

	raw_spin_lock_irqsave(&a->lock, flags);
	list_splice_init(&a->done, &done);
	raw_spin_unlock_irqrestore(&a->lock, flags);

	/* A completion may free its request: nothing touches it afterwards. */
	list_for_each_entry_safe(req, next, &done, node) {
		list_del_init(&req->node);
		/* Every grant comes here: immediate, on a free, or a waiter's. */
		if (req->frame)
			ksalloc_check(a, req->frame);
		req->complete(req, req->frame, req->error);
	}
}

void ksalloc_wake_work(struct irq_work *work)
{
	struct ksalloc *a = container_of(work, struct ksalloc, wake_work);
	ksalloc_event_fn fn;
	unsigned long flags;
	void *context;
	bool again;

	raw_spin_lock_irqsave(&a->lock, flags);
	a->wake_again = false;
	fn = a->event_fn;
	context = a->event_context;
	raw_spin_unlock_irqrestore(&a->lock, flags);

	wake_up_interruptible_poll(&a->wait, EPOLLIN | EPOLLRDNORM);
	/* Disabling waits for this work with irq_work_sync(): @fn stays valid. */
	if (fn)
		fn(a->file, context);

	raw_spin_lock_irqsave(&a->lock, flags);
	again = a->wake_again;
	a->wake_queued = again;
	raw_spin_unlock_irqrestore(&a->lock, flags);
	/*
	 * Still ours: on this CPU, after this one. Queued from here, it keeps
	 * the work busy, so irq_work_sync() waits for it too.
	 */
	if (again)
		irq_work_queue(&a->wake_work);
}

/**
 * ksalloc_enable_free_frame_event() - be told when frames become free
 * @file: the allocator.
 * @fn: the callback, see ksalloc_event_fn.
 * @context: its argument.
 *
 * KSEVENT_STREAMALLOCATOR_FREEFRAME. One event per allocator. Frames handed
 * straight to a pending request do not signal it. It stays enabled until
 * ksalloc_disable_free_frame_event() or the release of the allocator; while
 * it is, every allocation and free takes the allocator's lock, for every
 * free must be seen.
 *
 * Context: Any context.
 * Return: 0; -EINVAL if @file is not an allocator or @fn is NULL; -EBUSY if
 * an event is already enabled; -ENODEV once the allocator's release has
 * begun (from a request completion that the release runs).
 */
int ksalloc_enable_free_frame_event(struct file *file, ksalloc_event_fn fn,
				    void *context)
{
	struct ksalloc *a = ksalloc_from_file(file);
	unsigned long flags;
	int err = 0;

	if (!a || !fn)
		return -EINVAL;
	raw_spin_lock_irqsave(&a->lock, flags);
	if (a->releasing) {
		err = -ENODEV;
	} else if (a->event_fn) {
		err = -EBUSY;
	} else {
		a->event_fn = fn;
		a->event_context = context;
		/* Every free must be seen: no caches, no frames in them. */
		ksalloc_update_caches(a);
	}
	raw_spin_unlock_irqrestore(&a->lock, flags);
	return err;
}
EXPORT_SYMBOL_NS_GPL(ksalloc_enable_free_frame_event, KSALLOC);

/**
 * ksalloc_disable_free_frame_event() - stop the free-frame event
 * @file: the allocator.
 *
 * When this returns the callback is not running and will not be called
 * again. Disabling an event that is not enabled does nothing, nor does
 * disabling one of a file that is not an allocator.
 *
 * Context: Process context, not from the event callback. May sleep.
 */
void ksalloc_disable_free_frame_event(struct file *file)
{
	struct ksalloc *a = ksalloc_from_file(file);
	unsigned long flags;

	might_sleep();
	if (!a)
		return;
	raw_spin_lock_irqsave(&a->lock, flags);
	a->event_fn = NULL;
	a->event_context = NULL;
	if (a->ready)
		ksalloc_update_caches(a);
	raw_spin_unlock_irqrestore(&a->lock, flags);
	irq_work_sync(&a->wake_work);
}
EXPORT_SYMBOL_NS_GPL(ksalloc_disable_free_frame_event, KSALLOC);
