// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit stress and lifetime tests for ksalloc, through its exported API only.
 *
 * Suite ksalloc_stress: every online CPU takes and returns frames of one
 * allocator at once from three contexts, each an "actor": a kthread bound to
 * the CPU, a soft hrtimer (softirq) and a hard hrtimer (hard IRQ) pinned to
 * it. Every other frame an actor takes goes to another actor (round robin
 * over all the others, so across CPUs and contexts) through that actor's
 * lockless inbox, and is freed there; the rest (and those for an inbox that
 * is full) are freed by the taker, the kthread's after it has offered the
 * CPU to others, so that frames are held across preemption and interrupts.
 * The pool is half again what the inboxes can hold; it runs dry when a
 * kthread, every 64th step, takes all it can get and holds it for a step
 * (-EAGAIN is counted, not an error). The run lasts until the actors have
 * done stress_ops operations (allocations plus frees, 10 million by
 * default), or fails when stress_seconds pass first.
 *
 * Every frame is accounted for. The test first takes every frame once, to
 * learn the pool's addresses; beside them it keeps the stamp of each frame's
 * current holder (actor and sequence number, never 0; 0 while free), set with
 * xchg when the frame is taken, so a frame handed out twice finds a stamp
 * already there, and cleared with cmpxchg against the stamp written in the
 * frame when it is freed, so a frame freed twice, or one whose stamp a second
 * holder overwrote, is caught. At the end every stamp is clear, the frees
 * equal the allocations, the allocator's counters equal the test's own, and
 * every frame can be taken once more, then none.
 *
 * Suite ksalloc_smp: the promises that a CPU holding the lock must keep while
 * it looks at every other CPU's cache. A worker kthread per online CPU takes
 * frames, each reserved first in a counter that never exceeds the free
 * frames, so allocate_frame must never fail; a bound of the frames held at
 * once (raised before allocate_frame, lowered after free_frame) must never
 * be below the peak; a rendezvous where each worker holds its share gives a
 * peak known exactly. Variants: frames scarce or ample; the caches closed
 * and reopened meanwhile by a toggler (the free-frame event; requests
 * submitted and cancelled); the workers' scans stalled after each cache
 * (ksalloc_test_hooks.scan), as a vCPU's would be by its host. Then a CPU taken
 * offline with frames in its cache.
 *
 * Suite ksalloc_lifetime: the races of a release, in loops, each iteration
 * waiting until the allocator is gone (the module reference it holds is
 * dropped) before the next: the last fput() in hard IRQ against the owner's,
 * the release of an allocator with requests pending against frees from hard
 * IRQ, ksalloc_cancel_request() against the grant a hard-IRQ free makes and
 * against one made on another CPU, the free-frame event signalled on one CPU
 * while its callback runs on the other, and allocate_frame on one CPU while
 * the framing is set on the other. A race whose sides can each win must have
 * seen each win: the loop goes on past its iterations until it has, for
 * KSALLOC_LIFE_RACE_MS at most, and fails if one never did.
 * Only legal clients: a frame is freed only while its freer's reference is
 * held, or from a request completion, which ksalloc runs before the release
 * of the allocator finishes.
 *
 * KUnit fails a case only for reports in its own thread, so every case also
 * checks that the kernel was not tainted by a warning (W) or a KASAN or slab
 * report (B) meanwhile, and that lockdep is still on: reports from the
 * actors' kthreads and interrupts fail the case too.
 */

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/debug_locks.h>
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/kthread.h>
#include <linux/ksalloc.h>
#include <linux/llist.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/panic.h>
#include <linux/prandom.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>

#include "ksalloc_kunit.h"

MODULE_IMPORT_NS(KSALLOC);

static unsigned long ksalloc_stress_ops = 10000000;
module_param_named(stress_ops, ksalloc_stress_ops, ulong, 0644);
MODULE_PARM_DESC(stress_ops,
		 "Operations (allocations + frees) the ksalloc_stress run must reach (default 10000000)");

static unsigned int ksalloc_stress_seconds = 240;
module_param_named(stress_seconds, ksalloc_stress_seconds, uint, 0644);
MODULE_PARM_DESC(stress_seconds,
		 "Time limit of the ksalloc_stress run: it fails if stress_ops are not reached (default 240; KUnit stops a case at 300)");

/* Reports from any context, as taints and lockdep's state. */
struct ksalloc_watch {
	bool warned;
	bool bad_page;
	bool locks;
};

static void ksalloc_watch_start(struct ksalloc_watch *w)
{
	w->warned = test_taint(TAINT_WARN);
	w->bad_page = test_taint(TAINT_BAD_PAGE);
	w->locks = debug_locks;
}

static void ksalloc_watch_check(struct kunit *test, const struct ksalloc_watch *w)
{
	KUNIT_EXPECT_FALSE_MSG(test, !w->warned && test_taint(TAINT_WARN),
			       "the kernel warned (taint W) during the test: see its log");
	KUNIT_EXPECT_FALSE_MSG(test, !w->bad_page && test_taint(TAINT_BAD_PAGE),
			       "a KASAN or slab report (taint B) during the test: see the log");
	KUNIT_EXPECT_FALSE_MSG(test, w->locks && !debug_locks,
			       "lockdep turned itself off during the test: see its report");
}

/* ---- suite ksalloc_stress ---- */

enum ksalloc_stress_ctx {
	KSALLOC_STRESS_THREAD,
	KSALLOC_STRESS_SOFTIRQ,
	KSALLOC_STRESS_HARDIRQ,
	KSALLOC_STRESS_CONTEXTS
};

static const char * const ksalloc_stress_ctx_names[] = {
	"thread", "softirq", "hardirq",
};

/* Frames taken per step: the timers' steps are short, interrupts are off. */
static const unsigned int ksalloc_stress_batch[] = { 8, 4, 2 };
#define KSALLOC_STRESS_BATCH_MAX	8
#define KSALLOC_STRESS_FRAMES_PER_ACTOR	12
#define KSALLOC_STRESS_INBOX_MAX	8
#define KSALLOC_STRESS_HOARD_STEPS	64
#define KSALLOC_STRESS_PERIOD_NS	(100 * NSEC_PER_USEC)

enum ksalloc_stress_error {
	KSALLOC_STRESS_ERR_DUPLICATE,	/* taken while another holder has it */
	KSALLOC_STRESS_ERR_STAMP,	/* freed by a holder whose stamp is gone */
	KSALLOC_STRESS_ERR_FOREIGN,	/* not one of the pool's frames */
	KSALLOC_STRESS_ERR_ALLOCATE,	/* allocate_frame failed otherwise */
	KSALLOC_STRESS_ERR_CONTEXT,	/* an actor ran in the wrong context */
	KSALLOC_STRESS_ERRORS
};

static const char * const ksalloc_stress_error_names[] = {
	"frames handed out twice", "frees without the holder's stamp",
	"frames not of the pool", "allocate_frame errors other than -EAGAIN",
	"actors in the wrong context or CPU",
};

/* What the test writes in each frame it holds. */
struct ksalloc_stress_frame {
	struct llist_node node;	/* in the inbox of the actor it was sent to */
	u64 stamp;		/* the holder's: actor id + 1 << 40 | sequence */
};

struct ksalloc_stress_run;

/*
 * One context on one CPU. The counters are written by the actor only and
 * read by the test thread while it runs, hence WRITE_ONCE()/READ_ONCE().
 */
struct ksalloc_stress_actor {
	struct ksalloc_stress_run *run;
	unsigned int id;
	unsigned int cpu;
	enum ksalloc_stress_ctx ctx;
	enum hrtimer_mode mode;
	struct llist_head inbox;
	atomic_t queued;	/* frames sent to @inbox and not yet taken */
	struct hrtimer timer;
	struct task_struct *task;
	u64 seq;
	unsigned int next;
	void *kept[KSALLOC_STRESS_BATCH_MAX];
	unsigned int nr_kept;
	struct ksalloc_stress_frame **hoard;	/* a kthread's: room for every frame */
	unsigned int nr_hoard;
	u64 allocs;
	u64 frees;
	u64 again;
	u64 sent;
	u64 sent_remote;
	u64 inbox_full;
	u64 received;
	u64 steps;
};

struct ksalloc_stress_run {
	struct file *file;
	struct ksalloc_functiontable table;
	u32 frames;
	void **addrs;		/* the pool's frames, sorted */
	atomic64_t *held;	/* by index in @addrs: the holder's stamp, or 0 */
	unsigned int nr_actors;
	struct ksalloc_stress_actor *actors;
	bool stop;		/* tells the timers to stop */
	bool stopped;
	u64 drained;		/* frames freed from the inboxes at the end */
	atomic_t errors[KSALLOC_STRESS_ERRORS];
	atomic_t first_error_taken;
	char first_error[128];
};

static void ksalloc_stress_inc(u64 *counter)
{
	WRITE_ONCE(*counter, *counter + 1);
}

static int ksalloc_stress_cmp(const void *a, const void *b)
{
	unsigned long x = (unsigned long)*(void * const *)a;
	unsigned long y = (unsigned long)*(void * const *)b;

	return x < y ? -1 : x > y;
}

/*
 * The index of @frame among the pool's frames, or -1. A binary search of our
 * own, without bsearch()'s indirect calls: it runs at every allocation and free.
 */
static long ksalloc_stress_index(const struct ksalloc_stress_run *run,
				 const void *frame)
{
	unsigned long lo = 0, hi = run->frames, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (run->addrs[mid] == frame)
			return mid;
		if ((unsigned long)run->addrs[mid] < (unsigned long)frame)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static void ksalloc_stress_error(struct ksalloc_stress_run *run,
				 enum ksalloc_stress_error e,
				 const struct ksalloc_stress_actor *me,
				 const void *frame, u64 a, u64 b)
{
	atomic_inc(&run->errors[e]);
	/* The first one is described; snprintf() works in any context. */
	if (!atomic_xchg(&run->first_error_taken, 1))
		snprintf(run->first_error, sizeof(run->first_error),
			 "%s: actor %u (%s, CPU %u), frame %p, %#llx %#llx",
			 ksalloc_stress_error_names[e], me->id,
			 ksalloc_stress_ctx_names[me->ctx], me->cpu, frame, a, b);
}

static bool ksalloc_stress_right_context(const struct ksalloc_stress_actor *me)
{
	if (raw_smp_processor_id() != me->cpu)
		return false;
	switch (me->ctx) {
	case KSALLOC_STRESS_THREAD:
		return !in_interrupt() && !irqs_disabled();
	case KSALLOC_STRESS_SOFTIRQ:
		return in_serving_softirq() && !in_hardirq();
	case KSALLOC_STRESS_HARDIRQ:
		return in_hardirq();
	default:
		return false;
	}
}

/* Stamps a frame just taken; returns it, or NULL if it is not ours to use. */
static struct ksalloc_stress_frame *
ksalloc_stress_claim(struct ksalloc_stress_actor *me, void *frame)
{
	struct ksalloc_stress_run *run = me->run;
	struct ksalloc_stress_frame *f = frame;
	long i = ksalloc_stress_index(run, frame);
	u64 stamp, old;

	if (i < 0) {
		/* Not written to: it is not ours. Given back, it counts as freed. */
		ksalloc_stress_error(run, KSALLOC_STRESS_ERR_FOREIGN, me, frame, 0, 0);
		run->table.free_frame(run->file, frame);
		ksalloc_stress_inc(&me->frees);
		return NULL;
	}
	stamp = (u64)(me->id + 1) << 40 | ++me->seq;
	old = atomic64_xchg(&run->held[i], stamp);
	if (old)
		ksalloc_stress_error(run, KSALLOC_STRESS_ERR_DUPLICATE, me, frame,
				     old, stamp);
	f->stamp = stamp;
	return f;
}

static void ksalloc_stress_free(struct ksalloc_stress_actor *me,
				struct ksalloc_stress_frame *f)
{
	struct ksalloc_stress_run *run = me->run;
	long i = ksalloc_stress_index(run, f);
	u64 stamp = f->stamp, old;

	if (i < 0) {
		ksalloc_stress_error(run, KSALLOC_STRESS_ERR_FOREIGN, me, f, stamp, 0);
	} else {
		old = atomic64_cmpxchg(&run->held[i], stamp, 0);
		if (old != stamp)
			ksalloc_stress_error(run, KSALLOC_STRESS_ERR_STAMP, me, f,
					     stamp, old);
	}
	/* Freed even then: ksalloc's own misuse check gets to see it too. */
	run->table.free_frame(run->file, f);
	ksalloc_stress_inc(&me->frees);
}

/*
 * Hands @f to the next actor in turn, which frees it, unless that actor's
 * inbox is full: returns false then. The bound keeps frames from piling up
 * behind a softirq actor that ksoftirqd runs late.
 */
static bool ksalloc_stress_send(struct ksalloc_stress_actor *me,
				struct ksalloc_stress_frame *f)
{
	struct ksalloc_stress_run *run = me->run;
	struct ksalloc_stress_actor *to;

	to = &run->actors[(me->id + 1 + me->next++ % (run->nr_actors - 1)) %
			  run->nr_actors];
	if (atomic_read(&to->queued) >= KSALLOC_STRESS_INBOX_MAX) {
		ksalloc_stress_inc(&me->inbox_full);
		return false;
	}
	/* Counted first, so the receiver never subtracts more than was added. */
	atomic_inc(&to->queued);
	/* llist_add() is a full barrier: the stamp is visible to @to first. */
	llist_add(&f->node, &to->inbox);
	ksalloc_stress_inc(&me->sent);
	if (to->cpu != me->cpu)
		ksalloc_stress_inc(&me->sent_remote);
	return true;
}

static void ksalloc_stress_free_kept(struct ksalloc_stress_actor *me)
{
	while (me->nr_kept)
		ksalloc_stress_free(me, me->kept[--me->nr_kept]);
}

/*
 * One step of an actor, in its context: free what others sent it and what it
 * kept, take up to a batch of frames, send every other one away, keep the
 * rest.
 */
static void ksalloc_stress_step(struct ksalloc_stress_actor *me)
{
	struct ksalloc_stress_run *run = me->run;
	struct llist_node *in = llist_del_all(&me->inbox);
	struct ksalloc_stress_frame *f, *next;
	unsigned int i, n = 0;
	void *frame;
	int err;

	if (!ksalloc_stress_right_context(me))
		ksalloc_stress_error(run, KSALLOC_STRESS_ERR_CONTEXT, me, NULL,
				     raw_smp_processor_id(), preempt_count());
	llist_for_each_entry_safe(f, next, in, node) {
		ksalloc_stress_inc(&me->received);
		ksalloc_stress_free(me, f);
		n++;
	}
	atomic_sub(n, &me->queued);
	ksalloc_stress_free_kept(me);

	for (i = 0; i < ksalloc_stress_batch[me->ctx]; i++) {
		err = run->table.allocate_frame(run->file, &frame);
		if (err) {
			if (err == -EAGAIN && !frame)
				ksalloc_stress_inc(&me->again);
			else
				ksalloc_stress_error(run, KSALLOC_STRESS_ERR_ALLOCATE,
						     me, frame, -err, 0);
			break;
		}
		ksalloc_stress_inc(&me->allocs);
		f = ksalloc_stress_claim(me, frame);
		if (!f)
			continue;
		if (!(me->seq & 1) || !ksalloc_stress_send(me, f))
			me->kept[me->nr_kept++] = f;
	}
	ksalloc_stress_inc(&me->steps);
}

static enum hrtimer_restart ksalloc_stress_tick(struct hrtimer *timer)
{
	struct ksalloc_stress_actor *me =
		container_of(timer, struct ksalloc_stress_actor, timer);

	if (READ_ONCE(me->run->stop))
		return HRTIMER_NORESTART;
	ksalloc_stress_step(me);
	/* A timer keeps nothing from one tick to the next. */
	ksalloc_stress_free_kept(me);
	hrtimer_forward_now(timer, ns_to_ktime(KSALLOC_STRESS_PERIOD_NS));
	return HRTIMER_RESTART;
}

/*
 * Every KSALLOC_STRESS_HOARD_STEPS steps a kthread takes every frame it can
 * get, until -EAGAIN, and gives them back a step later: the pool runs dry
 * while the other actors go on, and fills again from one CPU.
 */
static void ksalloc_stress_hoard(struct ksalloc_stress_actor *me)
{
	struct ksalloc_stress_run *run = me->run;
	struct ksalloc_stress_frame *f;
	void *frame;

	if (me->nr_hoard) {
		while (me->nr_hoard)
			ksalloc_stress_free(me, me->hoard[--me->nr_hoard]);
		return;
	}
	if (me->steps % KSALLOC_STRESS_HOARD_STEPS)
		return;
	while (me->nr_hoard < run->frames) {
		if (run->table.allocate_frame(run->file, &frame)) {
			ksalloc_stress_inc(&me->again);
			break;
		}
		ksalloc_stress_inc(&me->allocs);
		f = ksalloc_stress_claim(me, frame);
		if (f)
			me->hoard[me->nr_hoard++] = f;
	}
}

static int ksalloc_stress_thread(void *data)
{
	struct ksalloc_stress_actor *me = data;
	unsigned int i;

	/* This CPU's timers follow this actor: started here, they are pinned here. */
	for (i = 1; i < KSALLOC_STRESS_CONTEXTS; i++)
		hrtimer_start(&me[i].timer, ns_to_ktime(KSALLOC_STRESS_PERIOD_NS),
			      me[i].mode);
	while (!kthread_should_stop()) {
		ksalloc_stress_step(me);
		ksalloc_stress_hoard(me);
		/* Frames kept across this are freed next step: others run meanwhile. */
		cond_resched();
	}
	ksalloc_stress_free_kept(me);
	while (me->nr_hoard)
		ksalloc_stress_free(me, me->hoard[--me->nr_hoard]);
	return 0;
}

/* Stops every actor and frees what the inboxes hold. Runs once. */
static void ksalloc_stress_stop(struct ksalloc_stress_run *run)
{
	struct ksalloc_stress_frame *f, *next;
	struct llist_node *in;
	unsigned int i;

	if (run->stopped)
		return;
	run->stopped = true;
	WRITE_ONCE(run->stop, true);
	/* The threads first: they start the timers. */
	for (i = 0; i < run->nr_actors; i++) {
		if (run->actors[i].task)
			kthread_stop(run->actors[i].task);
		run->actors[i].task = NULL;
	}
	for (i = 0; i < run->nr_actors; i++)
		if (run->actors[i].ctx != KSALLOC_STRESS_THREAD)
			hrtimer_cancel(&run->actors[i].timer);
	/* Nobody sends any more: what is left in the inboxes is freed here. */
	for (i = 0; i < run->nr_actors; i++) {
		in = llist_del_all(&run->actors[i].inbox);
		llist_for_each_entry_safe(f, next, in, node) {
			ksalloc_stress_free(&run->actors[i], f);
			run->drained++;
		}
	}
}

static void ksalloc_stress_cleanup(void *data)
{
	struct ksalloc_stress_run *run = data;

	ksalloc_stress_stop(run);
	fput(run->file);
}

/*
 * Takes every frame: they must be run->frames distinct frames (learnt into
 * run->addrs when @learn, else found there), and one more must fail with
 * -EAGAIN. Then returns them. Returns the frames taken.
 */
static u32 ksalloc_stress_take_all(struct kunit *test,
				   struct ksalloc_stress_run *run, bool learn)
{
	void **got = kunit_kcalloc(test, run->frames, sizeof(*got), GFP_KERNEL);
	u32 n, i, missing = 0, twice = 0;
	void *frame;
	long k;

	KUNIT_ASSERT_NOT_NULL(test, got);
	for (n = 0; n < run->frames; n++)
		if (run->table.allocate_frame(run->file, &got[n]))
			break;
	KUNIT_EXPECT_EQ_MSG(test, n, run->frames, "frames lost: only %u of %u could be taken",
			    n, run->frames);
	KUNIT_EXPECT_EQ(test, -EAGAIN, run->table.allocate_frame(run->file, &frame));
	if (frame)	/* one too many: it goes back */
		run->table.free_frame(run->file, frame);

	if (learn) {
		memcpy(run->addrs, got, n * sizeof(*got));
		sort(run->addrs, n, sizeof(*run->addrs), ksalloc_stress_cmp, NULL);
		for (i = 1; i < n; i++)
			twice += run->addrs[i] == run->addrs[i - 1];
	} else {
		for (i = 0; i < n; i++) {
			k = ksalloc_stress_index(run, got[i]);
			if (k < 0)
				missing++;
			else if (atomic64_xchg(&run->held[k], 1))
				twice++;
		}
		for (i = 0; i < run->frames; i++)
			atomic64_set(&run->held[i], 0);
	}
	KUNIT_EXPECT_EQ_MSG(test, twice, 0, "frames handed out twice");
	KUNIT_EXPECT_EQ_MSG(test, missing, 0, "frames that are not the pool's");
	for (i = 0; i < n; i++)
		run->table.free_frame(run->file, got[i]);
	return n;
}

static struct ksalloc_stress_run *ksalloc_stress_setup(struct kunit *test)
{
	unsigned int cpu, c, nr_cpus = num_online_cpus(), n = 0;
	struct ksalloc_stress_run *run;
	struct ksalloc_framing framing;

	run = kunit_kzalloc(test, sizeof(*run), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, run);
	run->nr_actors = nr_cpus * KSALLOC_STRESS_CONTEXTS;
	run->frames = run->nr_actors * KSALLOC_STRESS_FRAMES_PER_ACTOR;
	run->actors = kunit_kcalloc(test, run->nr_actors, sizeof(*run->actors),
				    GFP_KERNEL);
	run->addrs = kunit_kcalloc(test, run->frames, sizeof(*run->addrs),
				   GFP_KERNEL);
	run->held = kunit_kcalloc(test, run->frames, sizeof(*run->held),
				  GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, run->actors);
	KUNIT_ASSERT_NOT_NULL(test, run->addrs);
	KUNIT_ASSERT_NOT_NULL(test, run->held);

	for_each_online_cpu(cpu) {
		if (n == run->nr_actors)
			break;
		for (c = 0; c < KSALLOC_STRESS_CONTEXTS; c++, n++) {
			struct ksalloc_stress_actor *a = &run->actors[n];

			a->run = run;
			a->id = n;
			a->cpu = cpu;
			a->ctx = c;
			init_llist_head(&a->inbox);
			if (c == KSALLOC_STRESS_THREAD) {
				a->hoard = kunit_kcalloc(test, run->frames,
							 sizeof(*a->hoard), GFP_KERNEL);
				KUNIT_ASSERT_NOT_NULL(test, a->hoard);
				continue;
			}
			a->mode = c == KSALLOC_STRESS_HARDIRQ ?
				  HRTIMER_MODE_REL_PINNED_HARD :
				  HRTIMER_MODE_REL_PINNED_SOFT;
			hrtimer_init(&a->timer, CLOCK_MONOTONIC, a->mode);
			a->timer.function = ksalloc_stress_tick;
		}
	}
	/* CPUs that went offline meanwhile leave no actor unset. */
	run->nr_actors = n;

	framing = ksalloc_test_framing(run->frames,
				       sizeof(struct ksalloc_stress_frame), 63);
	run->file = ksalloc_create(&framing);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, run->file);
	/* From here on the actors are stopped and the allocator released at the end. */
	run->stopped = false;
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, ksalloc_stress_cleanup,
							   run));
	KUNIT_ASSERT_EQ(test, 0, ksalloc_get_functiontable(run->file, &run->table));
	KUNIT_ASSERT_EQ(test, ksalloc_stress_take_all(test, run, true), run->frames);
	return run;
}

struct ksalloc_stress_sum {
	u64 allocs, frees, again, sent, sent_remote, inbox_full, received, steps;
};

static void ksalloc_stress_add(struct ksalloc_stress_sum *s,
			       const struct ksalloc_stress_actor *a)
{
	s->allocs += READ_ONCE(a->allocs);
	s->frees += READ_ONCE(a->frees);
	s->again += READ_ONCE(a->again);
	s->sent += READ_ONCE(a->sent);
	s->sent_remote += READ_ONCE(a->sent_remote);
	s->inbox_full += READ_ONCE(a->inbox_full);
	s->received += READ_ONCE(a->received);
	s->steps += READ_ONCE(a->steps);
}

static u64 ksalloc_stress_ops_done(const struct ksalloc_stress_run *run)
{
	u64 ops = 0;
	unsigned int i;

	for (i = 0; i < run->nr_actors; i++)
		ops += READ_ONCE(run->actors[i].allocs) +
		       READ_ONCE(run->actors[i].frees);
	return ops;
}

static u64 ksalloc_stress_rate(u64 ops, u64 ns)
{
	return ns ? div64_u64(ops * NSEC_PER_SEC, ns) : 0;
}

static void ksalloc_table_all_contexts_all_cpus(struct kunit *test)
{
	struct ksalloc_stress_sum ctx[KSALLOC_STRESS_CONTEXTS] = {}, all = {};
	u64 target = ksalloc_stress_ops, ops, ns;
	struct ksalloc_stress_run *run;
	struct ksalloc_status status;
	struct ksalloc_watch watch;
	ktime_t start, deadline;
	unsigned int i, e;

	ksalloc_watch_start(&watch);
	run = ksalloc_stress_setup(test);

	for (i = 0; i < run->nr_actors; i += KSALLOC_STRESS_CONTEXTS) {
		struct ksalloc_stress_actor *a = &run->actors[i];
		struct task_struct *t;

		t = kthread_create_on_cpu(ksalloc_stress_thread, a, a->cpu,
					  "ksalloc_stress/%u");
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, t);
		a->task = t;
		wake_up_process(t);
	}
	start = ktime_get();
	deadline = ktime_add(start, ktime_set(ksalloc_stress_seconds, 0));
	do {
		msleep(100);
		ops = ksalloc_stress_ops_done(run);
	} while (ops < target && ktime_before(ktime_get(), deadline));
	ns = ktime_to_ns(ktime_sub(ktime_get(), start));
	ksalloc_stress_stop(run);

	for (i = 0; i < run->nr_actors; i++) {
		ksalloc_stress_add(&ctx[run->actors[i].ctx], &run->actors[i]);
		ksalloc_stress_add(&all, &run->actors[i]);
	}
	ops = all.allocs + all.frees;
	kunit_info(test, "%u CPUs, %u frames: %llu operations in %llu ms, %llu/s (target %llu)\n",
		   run->nr_actors / KSALLOC_STRESS_CONTEXTS, run->frames, ops,
		   div_u64(ns, NSEC_PER_MSEC), ksalloc_stress_rate(ops, ns), target);
	for (i = 0; i < KSALLOC_STRESS_CONTEXTS; i++)
		kunit_info(test, "%s: %llu allocs %llu frees (%llu/s) in %llu steps, %llu -EAGAIN, sent %llu (%llu to other CPUs, %llu kept: inbox full), received %llu\n",
			   ksalloc_stress_ctx_names[i], ctx[i].allocs, ctx[i].frees,
			   ksalloc_stress_rate(ctx[i].allocs + ctx[i].frees, ns),
			   ctx[i].steps, ctx[i].again, ctx[i].sent,
			   ctx[i].sent_remote, ctx[i].inbox_full, ctx[i].received);
	kunit_info(test, "freed from the inboxes at the end: %llu\n", run->drained);

	KUNIT_EXPECT_GE_MSG(test, ops, target,
			    "%llu operations in the %u s limit (%llu/s): raise stress_seconds or lower stress_ops",
			    ops, ksalloc_stress_seconds, ksalloc_stress_rate(ops, ns));
	for (e = 0; e < KSALLOC_STRESS_ERRORS; e++)
		KUNIT_EXPECT_EQ_MSG(test, atomic_read(&run->errors[e]), 0, "%s",
				    ksalloc_stress_error_names[e]);
	if (atomic_read(&run->first_error_taken))
		kunit_err(test, "first error: %s\n", run->first_error);

	/* Every frame accounted for: none held, each taken frame freed once. */
	for (e = 0, i = 0; i < run->frames; i++)
		e += atomic64_read(&run->held[i]) != 0;
	KUNIT_EXPECT_EQ_MSG(test, e, 0, "frames still marked held after the run");
	KUNIT_EXPECT_EQ(test, all.allocs, all.frees);
	KUNIT_EXPECT_EQ(test, all.sent, all.received + run->drained);
	for (i = 0; i < KSALLOC_STRESS_CONTEXTS; i++) {
		KUNIT_EXPECT_GT_MSG(test, ctx[i].allocs, 0, "no allocation in %s context",
				    ksalloc_stress_ctx_names[i]);
		KUNIT_EXPECT_GT_MSG(test, ctx[i].received, 0, "%s context received no frame",
				    ksalloc_stress_ctx_names[i]);
	}
	if (run->nr_actors > KSALLOC_STRESS_CONTEXTS)
		KUNIT_EXPECT_GT(test, all.sent_remote, 0);
	KUNIT_EXPECT_GT_MSG(test, all.again, 0, "the pool never ran dry");

	status = ksalloc_test_status(test, run->file);
	KUNIT_EXPECT_EQ(test, status.allocated_frames, 0);
	KUNIT_EXPECT_EQ(test, status.total_allocations, run->frames + all.allocs);
	KUNIT_EXPECT_EQ(test, status.failed_allocations, 1 + all.again);
	KUNIT_EXPECT_EQ(test, status.misuse_events, 0);
	KUNIT_EXPECT_EQ(test, status.waiters, 0);
	KUNIT_EXPECT_LE(test, status.peak_allocated_frames, run->frames);

	/* None lost: every frame can be taken once more, then none. */
	KUNIT_EXPECT_EQ(test, ksalloc_stress_take_all(test, run, false), run->frames);
	KUNIT_EXPECT_EQ(test, ksalloc_test_status(test, run->file).allocated_frames, 0);
	ksalloc_watch_check(test, &watch);
}

static struct kunit_case ksalloc_stress_cases[] = {
	KUNIT_CASE_SLOW(ksalloc_table_all_contexts_all_cpus),
	{}
};

static struct kunit_suite ksalloc_stress_suite = {
	.name = "ksalloc_stress",
	.test_cases = ksalloc_stress_cases,
};

/* ---- suite ksalloc_smp ---- */

/*
 * One worker kthread per online CPU takes and returns frames of one allocator
 * through the table, as many as it likes up to @hold, but each only after it
 * has reserved it in @avail, which never exceeds the free frames: so
 * allocate_frame must never fail. @held, raised before allocate_frame and
 * lowered after free_frame, bounds the frames held at any moment from above:
 * the peak must never exceed its maximum.
 */
struct ksalloc_smp_param {
	const char *name;
	u32 frames_per_cpu;	/* the pool: this many frames per online CPU */
	u32 hold;		/* the most frames a worker holds at once */
	bool toggle;		/* the caches close and reopen under load */
	bool stall;		/* the workers' scans of the caches are slow */
};

#define KSALLOC_SMP_HOLD_MAX	8U

static const struct ksalloc_smp_param ksalloc_smp_params[] = {
	/* The workers want twice the pool: caches and stack run dry. */
	{ "scarce", 4, 8, false, false },
	/* Frames to spare, few held: the headroom runs out, not the frames. */
	{ "ample", 16, 2, false, false },
	{ "scarce_toggled", 4, 8, true, false },
	{ "ample_toggled", 16, 2, true, false },
	/*
	 * A guest's vCPUs seldom stop in the few instructions of a scan: the
	 * workers' scans stall after each cache, as a CPU's would that an
	 * NMI, an SMI or its hypervisor took meanwhile.
	 */
	{ "scarce_stalled", 4, 8, false, true },
	{ "ample_stalled", 16, 2, false, true },
};

static void ksalloc_smp_desc(const struct ksalloc_smp_param *p, char *desc)
{
	strscpy(desc, p->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(ksalloc_smp, ksalloc_smp_params, ksalloc_smp_desc);

static unsigned int ksalloc_smp_ms = 3000;
module_param_named(smp_ms, ksalloc_smp_ms, uint, 0644);
MODULE_PARM_DESC(smp_ms,
		 "How long each load of the ksalloc_smp suite runs, in ms (default 3000)");

/* How long a worker's scan stops after each cache. */
#define KSALLOC_SMP_STALL_US	100

static int ksalloc_smp_thread(void *data);

/* ksalloc_test_hooks.scan: called with the allocator's lock held, interrupts off. */
static void ksalloc_smp_stall(unsigned int cpu)
{
	if (kthread_func(current) == ksalloc_smp_thread)
		udelay(KSALLOC_SMP_STALL_US);
}

static void ksalloc_smp_unstall(void *data)
{
	WRITE_ONCE(ksalloc_test_hooks.scan, NULL);
}

struct ksalloc_smp_run;

struct ksalloc_smp_worker {
	struct ksalloc_smp_run *run;
	struct task_struct *task;
	struct rnd_state rnd;
	void *held[KSALLOC_SMP_HOLD_MAX];
	unsigned int nr_held;
	u64 allocs;		/* read by the test once the worker is stopped */
};

/* The toggler's request, and what its completion saw. */
struct ksalloc_smp_req {
	struct ksalloc_request req;
	void *frame;
	int error;
};

struct ksalloc_smp_run {
	struct file *file;
	struct ksalloc_functiontable table;
	u32 frames;
	u32 hold;
	/*
	 * Frames that may be taken: at most the free ones, always. A worker
	 * takes one here (atomic_dec_if_positive()) before allocate_frame and
	 * puts it back after free_frame; so does the toggler around a
	 * request. (A request submitted without one could pend, but could
	 * also take at once a frame a worker had reserved.)
	 */
	atomic_t avail;
	atomic_t held;		/* frames held, and about to be */
	atomic_t held_max;	/* the most @held ever was */
	atomic_t failures;	/* allocate_frame failed after a reservation */
	bool rendezvous;	/* each worker holds @share frames, and waits */
	u32 share;
	atomic_t ready;		/* workers at the rendezvous */
	unsigned int nr_workers;
	struct ksalloc_smp_worker *workers;
	struct task_struct *toggler;
	/* The toggler's, read once it is stopped. */
	struct ksalloc_smp_req req;
	u64 closings;		/* the free-frame event enabled, then disabled */
	u64 requests;		/* submitted */
	u64 withdrawn;		/* cancelled while pending */
	u64 granted;		/* completed with a frame */
	u64 request_errors;	/* submit or completion errors */
	atomic_t events;	/* free-frame event calls */
};

static void ksalloc_smp_hold(struct ksalloc_smp_run *run)
{
	int held = atomic_inc_return(&run->held);
	int max = atomic_read(&run->held_max);

	while (held > max && !atomic_try_cmpxchg(&run->held_max, &max, held))
		;
}

/* After free_frame (or a cancelled request): the frame is free again. */
static void ksalloc_smp_unhold(struct ksalloc_smp_run *run)
{
	atomic_dec(&run->held);
	atomic_inc(&run->avail);
}

/* Reserves a frame and takes it; false if none may be taken, or it failed. */
static bool ksalloc_smp_take(struct ksalloc_smp_worker *w)
{
	struct ksalloc_smp_run *run = w->run;
	void *frame;

	if (atomic_dec_if_positive(&run->avail) < 0)
		return false;
	ksalloc_smp_hold(run);
	if (run->table.allocate_frame(run->file, &frame)) {
		atomic_inc(&run->failures);
		ksalloc_smp_unhold(run);
		return false;
	}
	w->held[w->nr_held++] = frame;
	w->allocs++;
	return true;
}

static void ksalloc_smp_give(struct ksalloc_smp_worker *w)
{
	w->run->table.free_frame(w->run->file, w->held[--w->nr_held]);
	ksalloc_smp_unhold(w->run);
}

/* Holds exactly @share frames, then waits to be stopped. */
static void ksalloc_smp_rendezvous(struct ksalloc_smp_worker *w)
{
	struct ksalloc_smp_run *run = w->run;

	while (w->nr_held > run->share)
		ksalloc_smp_give(w);
	/* Others may still hold more than their share: they give it back. */
	while (w->nr_held < run->share && !kthread_should_stop())
		if (!ksalloc_smp_take(w))
			cond_resched();
	atomic_inc(&run->ready);
	while (!kthread_should_stop())
		schedule_timeout_idle(1);
}

static int ksalloc_smp_thread(void *data)
{
	struct ksalloc_smp_worker *w = data;
	struct ksalloc_smp_run *run = w->run;
	u32 want, n;

	while (!kthread_should_stop()) {
		if (READ_ONCE(run->rendezvous)) {
			ksalloc_smp_rendezvous(w);
			break;
		}
		want = 1 + prandom_u32_state(&w->rnd) % run->hold;
		while (w->nr_held < want && ksalloc_smp_take(w))
			;
		for (n = prandom_u32_state(&w->rnd) % (w->nr_held + 1); n; n--)
			ksalloc_smp_give(w);
		cond_resched();
	}
	while (w->nr_held)
		ksalloc_smp_give(w);
	return 0;
}

static void ksalloc_smp_event(struct file *file, void *context)
{
	struct ksalloc_smp_run *run = context;

	atomic_inc(&run->events);
}

static void ksalloc_smp_req_complete(struct ksalloc_request *req, void *frame,
				     int error)
{
	struct ksalloc_smp_req *r = container_of(req, struct ksalloc_smp_req, req);

	r->frame = frame;
	r->error = error;
}

/*
 * A request for a frame reserved first, cancelled soon after: if it was
 * granted by then, its frame is freed.
 */
static void ksalloc_smp_request(struct ksalloc_smp_run *run)
{
	struct ksalloc_smp_req *r = &run->req;

	memset(r, 0, sizeof(*r));
	r->req.complete = ksalloc_smp_req_complete;
	if (atomic_dec_if_positive(&run->avail) < 0)
		return;
	ksalloc_smp_hold(run);
	if (ksalloc_submit_request(run->file, &r->req)) {
		run->request_errors++;
		ksalloc_smp_unhold(run);
		return;
	}
	run->requests++;
	usleep_range(100, 500);
	if (ksalloc_cancel_request(run->file, &r->req)) {
		run->withdrawn++;
	} else if (r->frame && !r->error) {
		/* Completed: its completion has run. */
		run->granted++;
		run->table.free_frame(run->file, r->frame);
	} else {
		run->request_errors++;
	}
	ksalloc_smp_unhold(run);
}

/*
 * Every millisecond or two the caches close and reopen: the free-frame event
 * is enabled and disabled; and a request is submitted and cancelled.
 */
static int ksalloc_smp_toggler(void *data)
{
	struct ksalloc_smp_run *run = data;

	while (!kthread_should_stop()) {
		if (!ksalloc_enable_free_frame_event(run->file, ksalloc_smp_event,
						     run)) {
			usleep_range(200, 1000);
			ksalloc_disable_free_frame_event(run->file);
			run->closings++;
		}
		usleep_range(200, 1000);
		ksalloc_smp_request(run);
		usleep_range(200, 1000);
	}
	return 0;
}

/* Stops the toggler, then the workers, which free what they hold. */
static void ksalloc_smp_stop(void *data)
{
	struct ksalloc_smp_run *run = data;
	unsigned int i;

	if (run->toggler)
		kthread_stop(run->toggler);
	run->toggler = NULL;
	for (i = 0; i < run->nr_workers; i++) {
		if (run->workers[i].task)
			kthread_stop(run->workers[i].task);
		run->workers[i].task = NULL;
	}
}

/*
 * Every online CPU allocates and frees through one table, each frame
 * reserved first, for smp_ms: allocate_frame never fails, and the peak never
 * exceeds the most frames that were held, or about to be, at once. A CPU
 * that holds the lock and looks at the other CPUs' caches one at a time was
 * overtaken, from three CPUs on: a cache it had looked at received a free
 * while one it had not yet looked at served an allocation, and it failed an
 * allocation, or raised the peak, though a frame, or headroom, was there all
 * along. With the toggler, the caches also close and reopen under the load.
 * Then every worker holds its share of the pool at once: the peak is that,
 * exactly, if no more was ever held.
 */
static void ksalloc_table_reserved_all_cpus(struct kunit *test)
{
	const struct ksalloc_smp_param *p = test->param_value;
	unsigned int nr_cpus = num_online_cpus(), cpu, i = 0;
	struct ksalloc_framing framing;
	struct ksalloc_status status;
	struct ksalloc_smp_run *run;
	struct ksalloc_watch watch;
	u64 allocs = 0;
	u32 peak, bound;
	ktime_t end;

	ksalloc_watch_start(&watch);
	run = kunit_kzalloc(test, sizeof(*run), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, run);
	run->workers = kunit_kcalloc(test, nr_cpus, sizeof(*run->workers), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, run->workers);
	run->frames = p->frames_per_cpu * nr_cpus;
	run->hold = min(p->hold, KSALLOC_SMP_HOLD_MAX);
	run->share = min(run->hold, p->frames_per_cpu);
	atomic_set(&run->avail, run->frames);
	framing = ksalloc_test_framing(run->frames, 64, 63);
	run->file = ksalloc_test_create(test, &framing);
	KUNIT_ASSERT_EQ(test, 0, ksalloc_get_functiontable(run->file, &run->table));
	/* Stopped before the allocator goes: cleanup runs in reverse. */
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, ksalloc_smp_stop, run));

	for_each_online_cpu(cpu) {
		struct ksalloc_smp_worker *w = &run->workers[i];
		struct task_struct *t;

		if (i == nr_cpus)
			break;
		w->run = run;
		prandom_seed_state(&w->rnd, 2026 + cpu);
		t = kthread_create_on_cpu(ksalloc_smp_thread, w, cpu, "ksalloc_smp/%u");
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, t);
		w->task = t;
		run->nr_workers = ++i;
	}
	for (i = 0; i < run->nr_workers; i++)
		wake_up_process(run->workers[i].task);
	if (p->stall) {
		/* Unset at the end, whatever happens. */
		KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, ksalloc_smp_unstall,
								   NULL));
		WRITE_ONCE(ksalloc_test_hooks.scan, ksalloc_smp_stall);
	}
	if (p->toggle) {
		run->toggler = kthread_run(ksalloc_smp_toggler, run, "ksalloc_smp_toggle");
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, run->toggler);
	}
	end = ktime_add_ms(ktime_get(), ksalloc_smp_ms);
	while (ktime_before(ktime_get(), end) && !atomic_read(&run->failures))
		msleep(20);
	if (run->toggler)
		kthread_stop(run->toggler);
	run->toggler = NULL;

	/* The peak first: the bound only grows. */
	peak = ksalloc_test_status(test, run->file).peak_allocated_frames;
	bound = atomic_read(&run->held_max);
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&run->failures), 0,
			    "allocate_frame failed though a frame was free all along");
	KUNIT_EXPECT_LE_MSG(test, peak, bound,
			    "the peak exceeds the most frames ever held at once");

	/* Each worker holds its share; nobody else holds any. */
	WRITE_ONCE(run->rendezvous, true);
	end = ktime_add_ms(ktime_get(), 10 * MSEC_PER_SEC);
	while (atomic_read(&run->ready) < run->nr_workers && ktime_before(ktime_get(), end))
		usleep_range(1000, 2000);
	KUNIT_ASSERT_EQ_MSG(test, (u32)atomic_read(&run->ready), run->nr_workers,
			    "workers missing at the rendezvous");
	status = ksalloc_test_status(test, run->file);
	bound = atomic_read(&run->held_max);
	KUNIT_EXPECT_EQ(test, status.allocated_frames, run->nr_workers * run->share);
	KUNIT_EXPECT_GE(test, status.peak_allocated_frames, run->nr_workers * run->share);
	KUNIT_EXPECT_LE(test, status.peak_allocated_frames, bound);
	KUNIT_EXPECT_LE(test, status.peak_allocated_frames, run->frames);
	ksalloc_smp_stop(run);

	for (i = 0; i < run->nr_workers; i++)
		allocs += run->workers[i].allocs;
	kunit_info(test, "%u CPUs, %u frames: %llu allocations, peak %u, at most %u held; %llu closings (%d events), %llu requests (%llu withdrawn, %llu granted)\n",
		   run->nr_workers, run->frames, allocs, status.peak_allocated_frames,
		   bound, run->closings, atomic_read(&run->events), run->requests,
		   run->withdrawn, run->granted);
	KUNIT_EXPECT_EQ(test, run->request_errors, 0);
	if (p->toggle) {
		KUNIT_EXPECT_GT(test, run->closings, 0);
		KUNIT_EXPECT_GT(test, run->requests, 0);
	}
	status = ksalloc_test_status(test, run->file);
	KUNIT_EXPECT_EQ(test, (u32)atomic_read(&run->avail), run->frames);
	KUNIT_EXPECT_EQ(test, status.allocated_frames, 0);
	KUNIT_EXPECT_EQ(test, status.failed_allocations, 0);
	KUNIT_EXPECT_EQ(test, status.total_allocations, allocs + run->granted);
	KUNIT_EXPECT_EQ(test, status.waiters, 0);
	KUNIT_EXPECT_EQ(test, status.misuse_events, 0);
	ksalloc_watch_check(test, &watch);
}

/* Brings @data, a CPU taken offline, back online if it is not. */
static void ksalloc_smp_online(void *data)
{
	unsigned int cpu = (unsigned long)data;

	if (!cpu_online(cpu))
		add_cpu(cpu);
}

/*
 * Frames freed on a CPU sit in its cache (and headroom with them): taken
 * offline, that CPU holds them still, and every one must be obtainable from
 * the others, with the counts exact; online again, its cache works.
 */
static void ksalloc_table_cpu_offline(struct kunit *test)
{
	struct ksalloc_framing framing = ksalloc_test_framing(64, 64, 63);
	struct file *file = ksalloc_test_create(test, &framing);
	unsigned int n = framing.frames, this, cpu, victim = nr_cpu_ids;
	struct ksalloc_status status;
	struct ksalloc_watch watch;
	void **frame, *extra;
	int err;

	ksalloc_watch_start(&watch);
	frame = kunit_kcalloc(test, n, sizeof(*frame), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, frame);
	this = raw_smp_processor_id();
	for_each_online_cpu(cpu)
		if (cpu != this && cpu_is_hotpluggable(cpu))
			victim = cpu;
	if (victim >= nr_cpu_ids)
		kunit_skip(test, "needs a second online CPU that can go offline");

	/* All taken here, all freed there: its cache is full, or half. */
	KUNIT_ASSERT_EQ(test, ksalloc_cpus_do(file, this, frame, n, true), n);
	KUNIT_ASSERT_EQ(test, ksalloc_cpus_do(file, victim, frame, n, false), n);
	err = remove_cpu(victim);
	if (err)
		kunit_skip(test, "CPU %u did not go offline: %d", victim, err);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, ksalloc_smp_online,
							   (void *)(unsigned long)victim));
	status = ksalloc_test_status(test, file);
	KUNIT_EXPECT_EQ(test, status.allocated_frames, 0);
	KUNIT_EXPECT_EQ(test, status.peak_allocated_frames, n);

	/* This CPU may not be @this any more, but it is not @victim. */
	KUNIT_EXPECT_EQ_MSG(test, ksalloc_cpus_do(file, this, frame, n, true), n,
			    "frames stuck in the cache of an offline CPU");
	KUNIT_EXPECT_EQ(test, ksalloc_cpus_do(file, this, &extra, 1, true), 0);
	status = ksalloc_test_status(test, file);
	KUNIT_EXPECT_EQ(test, status.allocated_frames, n);
	KUNIT_EXPECT_EQ(test, status.peak_allocated_frames, n);
	KUNIT_EXPECT_EQ(test, status.failed_allocations, 1);
	KUNIT_ASSERT_EQ(test, ksalloc_cpus_do(file, this, frame, n, false), n);

	KUNIT_ASSERT_EQ(test, add_cpu(victim), 0);
	/* Its cache works again: every frame through it, twice. */
	KUNIT_EXPECT_EQ(test, ksalloc_cpus_do(file, victim, frame, n, true), n);
	KUNIT_EXPECT_EQ(test, ksalloc_cpus_do(file, victim, &extra, 1, true), 0);
	KUNIT_EXPECT_EQ(test, ksalloc_cpus_do(file, victim, frame, n, false), n);
	KUNIT_EXPECT_EQ(test, ksalloc_cpus_do(file, victim, frame, n, true), n);
	KUNIT_EXPECT_EQ(test, ksalloc_cpus_do(file, victim, frame, n, false), n);
	status = ksalloc_test_status(test, file);
	KUNIT_EXPECT_EQ(test, status.allocated_frames, 0);
	KUNIT_EXPECT_EQ(test, status.peak_allocated_frames, n);
	KUNIT_EXPECT_EQ(test, status.total_allocations, 4 * n);
	KUNIT_EXPECT_EQ(test, status.failed_allocations, 2);
	KUNIT_EXPECT_EQ(test, status.misuse_events, 0);
	ksalloc_watch_check(test, &watch);
}

/*
 * A CPU whose part in a scan is scripted: it waits for @go, then frees
 * @frame, or allocates one into it (@alloc), and sets @done.
 */
struct ksalloc_smp_actor {
	struct file *file;
	struct task_struct *task;
	void *frame;
	bool alloc;
	int err;
	atomic_t go;
	atomic_t done;
};

static int ksalloc_smp_actor_thread(void *data)
{
	struct ksalloc_smp_actor *x = data;

	while (!atomic_read_acquire(&x->go))
		if (kthread_should_stop())
			return 0;
	if (x->alloc)
		x->err = ksalloc_allocate_frame(x->file, &x->frame);
	else
		ksalloc_free_frame(x->file, x->frame);
	atomic_set_release(&x->done, 1);
	while (!kthread_should_stop())
		schedule_timeout_idle(1);
	return 0;
}

/* The scan to overtake: @scanner's, right after the cache of CPU @after. */
struct ksalloc_smp_overtake {
	struct task_struct *scanner;
	unsigned int after;
	struct ksalloc_smp_actor *free, *alloc;
	bool tried;
	bool free_waited;	/* the free waited for the scan to end */
	int err;		/* the scanner's allocate_frame */
	void *frame;		/* and its frame */
};

static struct ksalloc_smp_overtake *ksalloc_smp_ot;

/* Up to 20 ms, interrupts off: an actor's fast path takes microseconds. */
static bool ksalloc_smp_wait_done(atomic_t *done)
{
	u64 end = ktime_get_ns() + 20 * NSEC_PER_MSEC;

	while (!atomic_read_acquire(done)) {
		if (ktime_get_ns() > end)
			return false;
		cpu_relax();
	}
	return true;
}

/* ksalloc_test_hooks.scan: a free behind the scan, then an allocation ahead of it. */
static void ksalloc_smp_overtake(unsigned int cpu)
{
	struct ksalloc_smp_overtake *ot = READ_ONCE(ksalloc_smp_ot);

	if (!ot || current != ot->scanner || cpu != ot->after || ot->tried)
		return;
	ot->tried = true;
	atomic_set_release(&ot->free->go, 1);
	if (!ksalloc_smp_wait_done(&ot->free->done)) {
		ot->free_waited = true;
		return;
	}
	atomic_set_release(&ot->alloc->go, 1);
	ksalloc_smp_wait_done(&ot->alloc->done);
}

static long ksalloc_smp_scanner(void *data)
{
	struct ksalloc_smp_overtake *ot = data;

	WRITE_ONCE(ot->scanner, current);
	ot->err = ksalloc_allocate_frame(ot->free->file, &ot->frame);
	WRITE_ONCE(ot->scanner, NULL);
	return 0;
}

/* Waits, sleeping, up to KSALLOC_TEST_WAIT for @done. */
static bool ksalloc_smp_waited(atomic_t *done)
{
	unsigned long end = jiffies + KSALLOC_TEST_WAIT;

	while (!atomic_read_acquire(done)) {
		if (time_after(jiffies, end))
			return false;
		usleep_range(100, 1000);
	}
	return true;
}

static void ksalloc_smp_unhook(void *data)
{
	WRITE_ONCE(ksalloc_test_hooks.scan, NULL);
	WRITE_ONCE(ksalloc_smp_ot, NULL);
}

static void ksalloc_smp_actor_stop(void *data)
{
	struct ksalloc_smp_actor *x = data;

	if (x->task)
		kthread_stop(x->task);
	x->task = NULL;
}

static void ksalloc_smp_actor_start(struct kunit *test, struct ksalloc_smp_actor *x,
				    struct file *file, unsigned int cpu, bool alloc)
{
	memset(x, 0, sizeof(*x));
	x->file = file;
	x->alloc = alloc;
	x->task = kthread_create_on_cpu(ksalloc_smp_actor_thread, x, cpu,
					"ksalloc_smp_actor/%u");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, x->task);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, ksalloc_smp_actor_stop, x));
	wake_up_process(x->task);
}

#define KSALLOC_SMP_OVERTAKES	10

/*
 * The overtaking, scripted. Three CPUs s < i < j in scan order; a pool of
 * two frames, one held on CPU i, the other free in CPU j's cache. CPU s
 * allocates: its cache and the shared stack are empty, so it scans every
 * cache. Right after it has looked at CPU i's, CPU i frees its frame and
 * then CPU j allocates the one in its cache: a frame was free at every
 * instant, so CPU s must get one. Scans that left each cache open behind
 * them failed here every time; a cache closed until the scan ends makes
 * CPU i's free wait for it instead.
 */
static void ksalloc_allocate_frame_overtaken_scan(struct kunit *test)
{
	struct ksalloc_framing framing = ksalloc_test_framing(2, 64, 63);
	struct ksalloc_smp_actor *freer, *taker;
	struct ksalloc_smp_overtake *ot;
	unsigned int s, i, j, it, waited = 0;
	struct ksalloc_status status;
	struct file *file;
	void *frame[2];

	s = cpumask_first(cpu_online_mask);
	i = cpumask_next(s, cpu_online_mask);
	j = cpumask_next(i, cpu_online_mask);
	if (j >= nr_cpu_ids)
		kunit_skip(test, "needs three online CPUs");
	ot = kunit_kzalloc(test, sizeof(*ot), GFP_KERNEL);
	freer = kunit_kzalloc(test, sizeof(*freer), GFP_KERNEL);
	taker = kunit_kzalloc(test, sizeof(*taker), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ot);
	KUNIT_ASSERT_NOT_NULL(test, freer);
	KUNIT_ASSERT_NOT_NULL(test, taker);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, ksalloc_smp_unhook, NULL));
	WRITE_ONCE(ksalloc_test_hooks.scan, ksalloc_smp_overtake);

	for (it = 0; it < KSALLOC_SMP_OVERTAKES; it++) {
		file = ksalloc_test_create(test, &framing);
		KUNIT_ASSERT_EQ(test, ksalloc_cpus_do(file, i, frame, 2, true), 2);
		KUNIT_ASSERT_EQ(test, ksalloc_cpus_do(file, j, &frame[1], 1, false), 1);
		ksalloc_smp_actor_start(test, freer, file, i, false);
		freer->frame = frame[0];
		ksalloc_smp_actor_start(test, taker, file, j, true);
		*ot = (struct ksalloc_smp_overtake){
			.after = i, .free = freer, .alloc = taker,
		};
		WRITE_ONCE(ksalloc_smp_ot, ot);
		work_on_cpu(s, ksalloc_smp_scanner, ot);
		WRITE_ONCE(ksalloc_smp_ot, NULL);

		KUNIT_EXPECT_TRUE(test, ot->tried);
		KUNIT_EXPECT_EQ_MSG(test, ot->err, 0,
				    "allocate_frame failed: CPU %u's free landed behind the scan, CPU %u's allocation ahead of it",
				    i, j);
		/* The free is done once the scan is. */
		KUNIT_ASSERT_TRUE(test, ksalloc_smp_waited(&freer->done));
		waited += ot->free_waited;
		ksalloc_smp_actor_stop(freer);
		ksalloc_smp_actor_stop(taker);
		status = ksalloc_test_status(test, file);
		KUNIT_EXPECT_EQ(test, status.allocated_frames,
				!ot->err + (atomic_read(&taker->done) && !taker->err));
		KUNIT_EXPECT_EQ(test, status.peak_allocated_frames, 2);
		if (!ot->err)
			ksalloc_free_frame(file, ot->frame);
		if (atomic_read(&taker->done) && !taker->err)
			ksalloc_free_frame(file, taker->frame);
		if (test->status == KUNIT_FAILURE)
			break;
	}
	kunit_info(test, "%u of %u frees behind the scan waited for it\n", waited, it);
}

static struct kunit_case ksalloc_smp_cases[] = {
	KUNIT_CASE_PARAM_ATTR(ksalloc_table_reserved_all_cpus, ksalloc_smp_gen_params,
			      { .speed = KUNIT_SPEED_SLOW }),
	KUNIT_CASE(ksalloc_allocate_frame_overtaken_scan),
	KUNIT_CASE(ksalloc_table_cpu_offline),
	{}
};

static struct kunit_suite ksalloc_smp_suite = {
	.name = "ksalloc_smp",
	.test_cases = ksalloc_smp_cases,
};

/* ---- suite ksalloc_lifetime ---- */

#define KSALLOC_LIFE_FRAMES	4
#define KSALLOC_LIFE_TICK_NS	(50 * NSEC_PER_USEC)
#define KSALLOC_LIFE_ITERATIONS	200
/* How long a race may go on past its iterations for an outcome not yet seen. */
#define KSALLOC_LIFE_RACE_MS	60000

/*
 * Waiting for a release: every allocator holds a reference to the module that
 * provides it (rmmod fails while one exists), so the release is over when
 * that count is back where it was. Built in, or without module unloading,
 * there is no count to read: the release is then only flushed.
 */
struct ksalloc_life_module {
	struct module *owner;
	int base;
};

static int ksalloc_life_refs(struct module *owner)
{
#ifdef CONFIG_MODULE_UNLOAD
	return module_refcount(owner);
#else
	return 0;
#endif
}

static bool ksalloc_life_refs_below(struct module *owner, int refs)
{
	unsigned long end = jiffies + KSALLOC_TEST_WAIT;

	flush_delayed_fput();
	while (ksalloc_life_refs(owner) >= refs) {
		if (time_after(jiffies, end))
			return false;
		usleep_range(200, 1000);
	}
	return true;
}

static void ksalloc_life_module_init(struct kunit *test,
				     struct ksalloc_life_module *m)
{
	struct ksalloc_framing framing = ksalloc_test_framing(1, 64, 63);
	struct file *probe = ksalloc_create(&framing);
	int refs;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, probe);
	m->owner = IS_ENABLED(CONFIG_MODULE_UNLOAD) ? probe->f_op->owner : NULL;
	refs = m->owner ? ksalloc_life_refs(m->owner) : 0;
	fput(probe);
	if (!m->owner) {
		flush_delayed_fput();
		return;
	}
	KUNIT_ASSERT_TRUE_MSG(test, ksalloc_life_refs_below(m->owner, refs),
			      "an allocator still holds its module after its release");
	m->base = ksalloc_life_refs(m->owner);
}

/* Waits until every allocator released since the last call is gone. */
static void ksalloc_life_wait_released(struct kunit *test,
				       const struct ksalloc_life_module *m)
{
	if (!m->owner) {
		flush_delayed_fput();
		return;
	}
	KUNIT_ASSERT_TRUE_MSG(test, ksalloc_life_refs_below(m->owner, m->base + 1),
			      "released allocators still hold the module (%d references, %d before)",
			      ksalloc_life_refs(m->owner), m->base);
}

/* The free-frame event: static, so it outlives any allocator that calls it. */
static atomic_t ksalloc_life_events = ATOMIC_INIT(0);

static void ksalloc_life_event(struct file *file, void *context)
{
	atomic_inc(&ksalloc_life_events);
}

/* The hard-IRQ side of a race: a timer that holds frames and maybe a reference. */
struct ksalloc_life_irq {
	struct hrtimer timer;
	struct file *file;
	struct ksalloc_functiontable table;
	void *held[KSALLOC_LIFE_FRAMES];
	unsigned int nr_held;
	/* In the timer: drop @file once every frame is freed, and stop. */
	bool own_reference;
	/* Results, read after @done or hrtimer_cancel(). */
	struct ksalloc_status seen;
	ktime_t started;	/* when the timer was started */
	ktime_t looked;		/* when it read @seen */
	u64 allocs;
	unsigned int ticks;
	bool wrong_context;
	struct completion done;
};

/* One frame taken and given back: the table in use in the same tick. */
static void ksalloc_life_irq_churn(struct ksalloc_life_irq *irq)
{
	void *frame;

	if (!irq->table.allocate_frame(irq->file, &frame)) {
		irq->allocs++;
		irq->table.free_frame(irq->file, frame);
	}
}

static enum hrtimer_restart ksalloc_life_irq_tick(struct hrtimer *timer)
{
	struct ksalloc_life_irq *irq = container_of(timer, struct ksalloc_life_irq,
						    timer);
	void *frame;

	irq->wrong_context |= !in_hardirq();
	irq->ticks++;
	ksalloc_life_irq_churn(irq);
	if (!irq->own_reference) {
		/* On the owner's reference, until cancelled: keep up to two frames. */
		if (irq->nr_held == 2) {
			irq->table.free_frame(irq->file, irq->held[0]);
			irq->held[0] = irq->held[1];
			irq->nr_held--;
		}
		if (!irq->table.allocate_frame(irq->file, &frame)) {
			irq->allocs++;
			irq->held[irq->nr_held++] = frame;
		}
	} else if (irq->nr_held) {
		irq->table.free_frame(irq->file, irq->held[--irq->nr_held]);
	} else {
		/* Nothing held: the last use, then the last reference maybe. */
		ksalloc_get_status(irq->file, &irq->seen);
		irq->looked = ktime_get();
		fput(irq->file);
		complete(&irq->done);
		return HRTIMER_NORESTART;
	}
	hrtimer_forward_now(timer, ns_to_ktime(KSALLOC_LIFE_TICK_NS));
	return HRTIMER_RESTART;
}

static void ksalloc_life_irq_init(struct ksalloc_life_irq *irq, struct file *file,
				  const struct ksalloc_functiontable *table,
				  bool own_reference)
{
	memset(irq, 0, sizeof(*irq));
	hrtimer_init(&irq->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	irq->timer.function = ksalloc_life_irq_tick;
	irq->file = file;
	irq->table = *table;
	irq->own_reference = own_reference;
	init_completion(&irq->done);
	if (own_reference)
		get_file(file);
}

static void ksalloc_life_irq_start(struct ksalloc_life_irq *irq)
{
	irq->started = ktime_get();
	hrtimer_start(&irq->timer, ns_to_ktime(KSALLOC_LIFE_TICK_NS),
		      HRTIMER_MODE_REL_HARD);
}

static void ksalloc_life_irq_cancel(void *data)
{
	struct ksalloc_life_irq *irq = data;

	hrtimer_cancel(&irq->timer);
}

/* The owner's share of the race: taking and returning frames for @ns. */
static u64 ksalloc_life_churn(struct file *file,
			      const struct ksalloc_functiontable *table, u64 ns)
{
	ktime_t end = ktime_add_ns(ktime_get(), ns);
	void *frame[2];
	u64 allocs = 0;
	int i, n;

	while (ktime_before(ktime_get(), end)) {
		for (n = 0; n < ARRAY_SIZE(frame); n++) {
			if (table->allocate_frame(file, &frame[n]))
				break;
			allocs++;
		}
		for (i = 0; i < n; i++)
			table->free_frame(file, frame[i]);
		cpu_relax();
	}
	return allocs;
}

enum ksalloc_life_fput {
	/* A correct client: its timer uses its reference until cancelled. */
	KSALLOC_LIFE_TIMER_CANCELLED_FIRST,
	/* The timer has a reference of its own and drops it in hard IRQ. */
	KSALLOC_LIFE_LAST_FPUT_IN_IRQ,
};

static const enum ksalloc_life_fput ksalloc_life_fputs[] = {
	KSALLOC_LIFE_TIMER_CANCELLED_FIRST, KSALLOC_LIFE_LAST_FPUT_IN_IRQ,
};

static void ksalloc_life_fput_desc(const enum ksalloc_life_fput *v, char *desc)
{
	strscpy(desc, *v == KSALLOC_LIFE_TIMER_CANCELLED_FIRST ?
		"timer_cancelled_first" : "last_fput_in_irq", KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(ksalloc_life_fput, ksalloc_life_fputs, ksalloc_life_fput_desc);

/*
 * The last reference dropped while a hard-IRQ timer frees frames: either the
 * owner cancels its timer, returns the frames it held and drops its
 * reference; or the timer holds a reference of its own (get_file()), frees
 * its frames and drops that reference in hard IRQ while the owner, using the
 * table, drops its own at a different moment each iteration. The free-frame
 * event is on, so the frees queue work that the release must wait for.
 *
 * The owner uses the table for 0 to 2 times as long as the timer took to
 * drop its reference lately (it depends on the kernel's speed), so that
 * each side drops the last reference in some iterations: each must have.
 */
static void ksalloc_fput_races_irq_free(struct kunit *test)
{
	enum ksalloc_life_fput v = *(const enum ksalloc_life_fput *)test->param_value;
	struct ksalloc_framing framing = ksalloc_test_framing(KSALLOC_LIFE_FRAMES, 64, 63);
	unsigned int it, irq_last = 0, owner_last = 0, events;
	/* The timer's life, start to last look: a guess, then a running mean. */
	u64 life_ns = 4 * KSALLOC_LIFE_TICK_NS;
	bool last_fput_in_irq = v == KSALLOC_LIFE_LAST_FPUT_IN_IRQ;
	struct ksalloc_status mine = {}, theirs;
	struct ksalloc_functiontable table;
	struct ksalloc_life_module m;
	struct ksalloc_life_irq *irq;
	struct ksalloc_watch watch;
	unsigned long left;
	struct file *file;
	ktime_t deadline;
	u64 allocs;
	int err;

	ksalloc_watch_start(&watch);
	ksalloc_life_module_init(test, &m);
	irq = kunit_kzalloc(test, sizeof(*irq), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, irq);
	hrtimer_init(&irq->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, ksalloc_life_irq_cancel,
							   irq));
	events = atomic_read(&ksalloc_life_events);
	deadline = ktime_add_ms(ktime_get(), KSALLOC_LIFE_RACE_MS);

	for (it = 0; it < KSALLOC_LIFE_ITERATIONS ||
	     (last_fput_in_irq && (!irq_last || !owner_last) &&
	      ktime_before(ktime_get(), deadline)); it++) {
		file = ksalloc_create(&framing);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, file);
		KUNIT_ASSERT_EQ(test, 0, ksalloc_get_functiontable(file, &table));
		err = ksalloc_enable_free_frame_event(file, ksalloc_life_event, NULL);
		KUNIT_ASSERT_EQ(test, err, 0);
		ksalloc_life_irq_init(irq, file, &table, last_fput_in_irq);
		if (last_fput_in_irq) {
			/* Handed over: the timer frees them. */
			while (irq->nr_held < 2) {
				err = table.allocate_frame(file, &irq->held[irq->nr_held]);
				KUNIT_ASSERT_EQ(test, err, 0);
				irq->nr_held++;
			}
		}
		allocs = irq->nr_held;
		ksalloc_life_irq_start(irq);
		/* From no overlap at all to twice the timer's life. */
		allocs += ksalloc_life_churn(file, &table,
					     div_u64((it % 20) * 2 * life_ns, 19));

		if (v == KSALLOC_LIFE_TIMER_CANCELLED_FIRST) {
			hrtimer_cancel(&irq->timer);
			while (irq->nr_held)
				table.free_frame(file, irq->held[--irq->nr_held]);
			mine = ksalloc_test_status(test, file);
			KUNIT_EXPECT_EQ(test, mine.allocated_frames, 0);
			KUNIT_EXPECT_EQ(test, mine.total_allocations, allocs + irq->allocs);
			KUNIT_EXPECT_EQ(test, mine.misuse_events, 0);
			fput(file);
		} else {
			ksalloc_get_status(file, &mine);
			fput(file);
			left = wait_for_completion_timeout(&irq->done, KSALLOC_TEST_WAIT);
			KUNIT_ASSERT_GT(test, left, 0);
			hrtimer_cancel(&irq->timer);
			life_ns = div_u64(3 * life_ns +
					  ktime_to_ns(ktime_sub(irq->looked, irq->started)), 4);
			theirs = irq->seen;
			/*
			 * Each side looked last thing before its fput(), after its
			 * own last use: the later look (more allocations counted;
			 * on a tie, fewer frames out) saw every frame back and
			 * every allocation counted.
			 */
			if (theirs.total_allocations > mine.total_allocations ||
			    (theirs.total_allocations == mine.total_allocations &&
			     theirs.allocated_frames <= mine.allocated_frames)) {
				irq_last++;
			} else {
				owner_last++;
				swap(mine, theirs);
			}
			KUNIT_EXPECT_EQ(test, theirs.allocated_frames, 0);
			KUNIT_EXPECT_EQ(test, theirs.total_allocations, allocs + irq->allocs);
			KUNIT_EXPECT_EQ(test, theirs.misuse_events, 0);
		}
		KUNIT_EXPECT_FALSE(test, irq->wrong_context);
		ksalloc_life_wait_released(test, &m);
		if (test->status == KUNIT_FAILURE)
			break;
	}
	if (last_fput_in_irq) {
		kunit_info(test, "%u iterations: the timer looked last in %u, the owner in %u; %u events; the timer's life %llu us\n",
			   it, irq_last, owner_last,
			   atomic_read(&ksalloc_life_events) - events,
			   div_u64(life_ns, NSEC_PER_USEC));
		KUNIT_EXPECT_GT_MSG(test, irq_last, 0, "the timer's fput() never came last");
		KUNIT_EXPECT_GT_MSG(test, owner_last, 0, "the owner's fput() never came last");
	} else {
		kunit_info(test, "%u iterations; %u events\n", it,
			   atomic_read(&ksalloc_life_events) - events);
	}
	ksalloc_watch_check(test, &watch);
}

#define KSALLOC_LIFE_REQUESTS	6

struct ksalloc_life_req {
	struct ksalloc_request req;
	struct file *file;
	unsigned int work_us;	/* a slow client: time spent before freeing */
	atomic_t *all_calls;	/* if set, counts the calls of every request */
	void *frame;
	int error;
	u32 misuse;		/* the allocator's misuse_events after our free */
	atomic_t calls;
	struct completion done;
};

static void ksalloc_life_req_complete(struct ksalloc_request *req, void *frame,
				      int error)
{
	struct ksalloc_life_req *r = container_of(req, struct ksalloc_life_req, req);

	r->frame = frame;
	r->error = error;
	/*
	 * The frame goes back at once, even when the allocator is being
	 * released: ksalloc runs every completion before its release ends.
	 */
	if (frame) {
		struct ksalloc_status status;

		udelay(r->work_us);
		ksalloc_free_frame(r->file, frame);
		/* A frame freed twice shows when its next holder frees it. */
		if (!ksalloc_get_status(r->file, &status))
			r->misuse = status.misuse_events;
	}
	atomic_inc(&r->calls);
	if (r->all_calls)
		atomic_inc(r->all_calls);
	complete(&r->done);
}

static void ksalloc_life_req_init(struct ksalloc_life_req *r, struct file *file,
				  unsigned int work_us)
{
	memset(r, 0, sizeof(*r));
	r->req.complete = ksalloc_life_req_complete;
	r->file = file;
	r->work_us = work_us;
	init_completion(&r->done);
}

/*
 * The release of an allocator with requests pending, against a hard-IRQ
 * timer that holds every frame and a reference of its own, frees a frame a
 * tick (each goes to the oldest request, whose completion returns it, after a
 * while, to the next) and then drops its reference. The owner drops its
 * reference at a different moment each iteration and then runs the release
 * as soon as the last reference is gone, while completions still pass frames
 * along. Each request completes exactly once, with a frame or -ENODEV, and
 * the granted ones are the oldest.
 */
static void ksalloc_submit_request_release_races_irq_free(struct kunit *test)
{
	struct ksalloc_framing framing = ksalloc_test_framing(KSALLOC_LIFE_FRAMES, 64, 63);
	unsigned int it, i, granted, all_granted = 0, none_granted = 0, mixed = 0;
	struct ksalloc_functiontable table;
	struct ksalloc_life_module m;
	struct ksalloc_life_irq *irq;
	struct ksalloc_life_req *r;
	struct ksalloc_watch watch;
	unsigned long left;
	struct file *file;
	int err;

	ksalloc_watch_start(&watch);
	ksalloc_life_module_init(test, &m);
	irq = kunit_kzalloc(test, sizeof(*irq), GFP_KERNEL);
	r = kunit_kcalloc(test, KSALLOC_LIFE_REQUESTS, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, irq);
	KUNIT_ASSERT_NOT_NULL(test, r);
	hrtimer_init(&irq->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, ksalloc_life_irq_cancel,
							   irq));

	for (it = 0; it < KSALLOC_LIFE_ITERATIONS; it++) {
		file = ksalloc_create(&framing);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, file);
		KUNIT_ASSERT_EQ(test, 0, ksalloc_get_functiontable(file, &table));
		ksalloc_life_irq_init(irq, file, &table, true);
		for (; irq->nr_held < KSALLOC_LIFE_FRAMES; irq->nr_held++) {
			err = table.allocate_frame(file, &irq->held[irq->nr_held]);
			KUNIT_ASSERT_EQ(test, err, 0);
		}
		for (i = 0; i < KSALLOC_LIFE_REQUESTS; i++) {
			ksalloc_life_req_init(&r[i], file, it % 4 * 50);
			KUNIT_ASSERT_EQ(test, 0, ksalloc_submit_request(file, &r[i].req));
		}
		KUNIT_EXPECT_EQ(test, ksalloc_test_status(test, file).waiters,
				KSALLOC_LIFE_REQUESTS);

		ksalloc_life_irq_start(irq);
		/* Before the first free, between frees, after the timer's fput(). */
		udelay((it % 10) * KSALLOC_LIFE_TICK_NS / NSEC_PER_USEC);
		fput(file);
		/*
		 * Whichever fput() was the last, its release waits on the
		 * delayed-fput list for a jiffy: run it here at once instead.
		 */
		while (!completion_done(&irq->done)) {
			flush_delayed_fput();
			cpu_relax();
		}
		flush_delayed_fput();

		for (i = 0; i < KSALLOC_LIFE_REQUESTS; i++) {
			left = wait_for_completion_timeout(&r[i].done, KSALLOC_TEST_WAIT);
			KUNIT_ASSERT_GT_MSG(test, left, 0, "request %u never completed", i);
		}
		hrtimer_cancel(&irq->timer);
		ksalloc_life_wait_released(test, &m);

		for (granted = 0, i = 0; i < KSALLOC_LIFE_REQUESTS; i++) {
			KUNIT_EXPECT_EQ(test, atomic_read(&r[i].calls), 1);
			if (r[i].error) {
				KUNIT_EXPECT_EQ(test, r[i].error, -ENODEV);
				KUNIT_EXPECT_NULL(test, r[i].frame);
				continue;
			}
			KUNIT_EXPECT_NOT_NULL(test, r[i].frame);
			KUNIT_EXPECT_EQ(test, r[i].misuse, 0);
			/* FIFO: a request is granted only after every older one. */
			KUNIT_EXPECT_EQ_MSG(test, granted, i, "request %u granted", i);
			granted++;
		}
		KUNIT_EXPECT_FALSE(test, irq->wrong_context);
		/* What the timer saw before its fput(): no free refused. */
		KUNIT_EXPECT_EQ(test, irq->seen.misuse_events, 0);
		all_granted += granted == KSALLOC_LIFE_REQUESTS;
		none_granted += !granted;
		mixed += granted && granted < KSALLOC_LIFE_REQUESTS;
		if (test->status == KUNIT_FAILURE)
			break;
	}
	kunit_info(test, "%u iterations: all %u requests granted in %u, none in %u, some in %u\n",
		   it, KSALLOC_LIFE_REQUESTS, all_granted, none_granted, mixed);
	/* Some releases came while requests were pending. */
	KUNIT_EXPECT_GT(test, none_granted + mixed, 0);
	ksalloc_watch_check(test, &watch);
}

/* Frees one frame from hard IRQ: the grant a pending request gets. */
struct ksalloc_life_grant {
	struct hrtimer timer;
	struct file *file;
	void *frame;
	bool wrong_context;
};

static enum hrtimer_restart ksalloc_life_grant_tick(struct hrtimer *timer)
{
	struct ksalloc_life_grant *g = container_of(timer, struct ksalloc_life_grant,
						    timer);

	g->wrong_context |= !in_hardirq();
	ksalloc_free_frame(g->file, g->frame);
	return HRTIMER_NORESTART;
}

static void ksalloc_life_grant_cancel(void *data)
{
	struct ksalloc_life_grant *g = data;

	hrtimer_cancel(&g->timer);
}

static void ksalloc_life_fput(void *file)
{
	fput(file);
}

#define KSALLOC_LIFE_CANCELS	5000

/*
 * ksalloc_cancel_request() against the grant made by a hard-IRQ free: the
 * request either is withdrawn (its completion never runs, and the frame
 * becomes free) or was granted (its completion has run by the time cancel
 * returns). The delay before cancelling sweeps across the timer's expiry.
 */
static void ksalloc_cancel_request_races_irq_grant(struct kunit *test)
{
	struct ksalloc_framing framing = ksalloc_test_framing(1, 64, 63);
	unsigned int it, withdrawn = 0, completed = 0, before_timer = 0;
	atomic_t calls = ATOMIC_INIT(0);
	struct ksalloc_status status;
	struct ksalloc_life_grant *g;
	struct ksalloc_watch watch;
	struct ksalloc_life_req *r;
	struct file *file;

	ksalloc_watch_start(&watch);
	file = ksalloc_create(&framing);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, file);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, ksalloc_life_fput, file));
	g = kunit_kzalloc(test, sizeof(*g), GFP_KERNEL);
	r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, g);
	KUNIT_ASSERT_NOT_NULL(test, r);
	g->file = file;
	hrtimer_init(&g->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	g->timer.function = ksalloc_life_grant_tick;
	/* Cleanup runs in reverse: the timer stops before the allocator goes. */
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, ksalloc_life_grant_cancel,
							   g));

	for (it = 0; it < KSALLOC_LIFE_CANCELS; it++) {
		KUNIT_ASSERT_EQ(test, 0, ksalloc_allocate_frame(file, &g->frame));
		ksalloc_life_req_init(r, file, 0);
		r->all_calls = &calls;
		KUNIT_ASSERT_EQ(test, 0, ksalloc_submit_request(file, &r->req));

		hrtimer_start(&g->timer, ns_to_ktime(KSALLOC_LIFE_TICK_NS),
			      HRTIMER_MODE_REL_HARD);
		if (it % 16 == 1)
			usleep_range(1000, 2000);	/* all but surely granted first */
		else if (it % 16)
			udelay(it % 16 * KSALLOC_LIFE_TICK_NS / NSEC_PER_USEC / 4);
		if (ksalloc_cancel_request(file, &r->req)) {
			withdrawn++;
			KUNIT_EXPECT_EQ(test, atomic_read(&r->calls), 0);
		} else {
			completed++;
			/* Its completion has run by now, once, with the frame. */
			KUNIT_EXPECT_EQ(test, atomic_read(&r->calls), 1);
			KUNIT_EXPECT_TRUE(test, completion_done(&r->done));
			KUNIT_EXPECT_PTR_EQ(test, r->frame, g->frame);
			KUNIT_EXPECT_EQ(test, r->error, 0);
		}
		/* Withdrawn before the timer fired: the frame is still ours. */
		if (hrtimer_cancel(&g->timer)) {
			before_timer++;
			ksalloc_free_frame(file, g->frame);
		}
		status = ksalloc_test_status(test, file);
		KUNIT_EXPECT_EQ(test, status.allocated_frames, 0);
		KUNIT_EXPECT_EQ(test, status.waiters, 0);
		KUNIT_EXPECT_EQ(test, status.misuse_events, 0);
		KUNIT_EXPECT_FALSE(test, g->wrong_context);
		/* A withdrawn request's completion never comes, not even late. */
		KUNIT_EXPECT_EQ(test, atomic_read(&calls), completed);
		if (test->status == KUNIT_FAILURE)
			break;
	}
	msleep(20);
	KUNIT_EXPECT_EQ(test, atomic_read(&calls), completed);
	kunit_info(test, "%u iterations: %u withdrawn (%u before the timer fired), %u completed first\n",
		   it, withdrawn, before_timer, completed);
	KUNIT_EXPECT_GT(test, withdrawn, 0);
	KUNIT_EXPECT_GT(test, completed, 0);
	ksalloc_watch_check(test, &watch);
}

/**
 * struct ksalloc_life_free - a frame freed by a work item
 * @work: frees @frame of @file.
 * @file: the allocator.
 * @frame: the frame.
 */
struct ksalloc_life_free {
	struct work_struct work;
	struct file *file;
	void *frame;
};

static void ksalloc_life_free_work(struct work_struct *work)
{
	struct ksalloc_life_free *f = container_of(work, struct ksalloc_life_free,
						   work);

	ksalloc_free_frame(f->file, f->frame);
}

static void ksalloc_life_free_flush(void *data)
{
	struct ksalloc_life_free *f = data;

	flush_work(&f->work);
}

/* Two online CPUs, the current one first; false if there are fewer. */
static bool ksalloc_life_two_cpus(int *this, int *other)
{
	*this = raw_smp_processor_id();
	*other = cpumask_any_but(cpu_online_mask, *this);
	return *other < nr_cpu_ids;
}

/* Waits up to a second for @file's waiters to number @waiters. */
static bool ksalloc_life_wait_waiters(struct kunit *test, struct file *file,
				      u32 waiters)
{
	ktime_t end = ktime_add_ms(ktime_get(), MSEC_PER_SEC);

	while (ksalloc_test_status(test, file).waiters != waiters)
		if (ktime_after(ktime_get(), end))
			return false;
	return true;
}

#define KSALLOC_LIFE_CROSS_CANCELS	200

/*
 * ksalloc_cancel_request() the moment a free on another CPU, in process
 * context, has granted the request: cancel must not return before the
 * completion has run. The grant and the queueing of the completions are one
 * step under the allocator's lock; when the work was queued after the lock
 * was dropped, nearly every cancel here returned first.
 */
static void ksalloc_cancel_request_races_cross_cpu_grant(struct kunit *test)
{
	struct ksalloc_framing framing = ksalloc_test_framing(1, 64, 63);
	struct ksalloc_status status;
	struct ksalloc_watch watch;
	struct ksalloc_life_free *f;
	struct ksalloc_life_req *r;
	struct file *file;
	int this, other;
	unsigned int it;

	ksalloc_watch_start(&watch);
	file = ksalloc_create(&framing);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, file);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, ksalloc_life_fput, file));
	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f);
	KUNIT_ASSERT_NOT_NULL(test, r);
	INIT_WORK(&f->work, ksalloc_life_free_work);
	f->file = file;
	/* Cleanup runs in reverse: the work is done before the allocator goes. */
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, ksalloc_life_free_flush, f));

	for (it = 0; it < KSALLOC_LIFE_CROSS_CANCELS; it++) {
		if (!ksalloc_life_two_cpus(&this, &other))
			kunit_skip(test, "needs two online CPUs");
		KUNIT_ASSERT_EQ(test, 0, ksalloc_allocate_frame(file, &f->frame));
		ksalloc_life_req_init(r, file, 0);
		KUNIT_ASSERT_EQ(test, 0, ksalloc_submit_request(file, &r->req));
		KUNIT_ASSERT_TRUE(test, ksalloc_life_wait_waiters(test, file, 1));

		queue_work_on(other, system_highpri_wq, &f->work);
		/* Granted: no longer waiting. Cancel at once. */
		KUNIT_ASSERT_TRUE(test, ksalloc_life_wait_waiters(test, file, 0));
		KUNIT_EXPECT_FALSE(test, ksalloc_cancel_request(file, &r->req));
		KUNIT_EXPECT_EQ(test, atomic_read(&r->calls), 1);
		KUNIT_EXPECT_PTR_EQ(test, r->frame, f->frame);

		flush_work(&f->work);
		wait_for_completion(&r->done);
		status = ksalloc_test_status(test, file);
		KUNIT_EXPECT_EQ(test, status.allocated_frames, 0);
		KUNIT_EXPECT_EQ(test, status.misuse_events, 0);
		if (test->status == KUNIT_FAILURE)
			break;
	}
	kunit_info(test, "%u cancels after a grant on another CPU\n", it);
	ksalloc_watch_check(test, &watch);
}

/**
 * struct ksalloc_life_event - the free-frame event, watched
 * @running: callbacks running now.
 * @overlaps: callbacks that started while another ran.
 * @calls: callbacks.
 * @waited: a callback of this round waited for @freed.
 * @freed: the second free of this round is done.
 */
struct ksalloc_life_event {
	atomic_t running;
	atomic_t overlaps;
	atomic_t calls;
	atomic_t waited;
	atomic_t freed;
};

static void ksalloc_life_event_serial(struct file *file, void *context)
{
	struct ksalloc_life_event *e = context;
	ktime_t end = ktime_add_ms(ktime_get(), 100);

	if (atomic_inc_return(&e->running) > 1)
		atomic_inc(&e->overlaps);
	atomic_inc(&e->calls);
	/* The round's first call runs on while the other CPU frees. */
	if (!atomic_xchg(&e->waited, 1))
		while (!atomic_read(&e->freed) && ktime_before(ktime_get(), end))
			cpu_relax();
	atomic_dec(&e->running);
}

#define KSALLOC_LIFE_EVENT_ROUNDS	20

/*
 * The free-frame event never runs on two CPUs at once, and misses no free:
 * a free on one CPU signals the event, whose callback runs on while a free
 * on another CPU signals it again. That second call comes after the first
 * returns. With an irq_work queued for each free it came at once, on the
 * other CPU, beside the first.
 */
static void ksalloc_free_frame_event_serialized(struct kunit *test)
{
	struct ksalloc_framing framing = ksalloc_test_framing(4, 64, 63);
	struct ksalloc_life_event *e;
	struct ksalloc_life_free *f;
	struct ksalloc_watch watch;
	unsigned int round, i;
	struct file *file;
	int this, other;
	ktime_t end;

	ksalloc_watch_start(&watch);
	file = ksalloc_create(&framing);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, file);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, ksalloc_life_fput, file));
	e = kunit_kzalloc(test, sizeof(*e), GFP_KERNEL);
	f = kunit_kcalloc(test, 2, sizeof(*f), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, e);
	KUNIT_ASSERT_NOT_NULL(test, f);
	for (i = 0; i < 2; i++) {
		INIT_WORK(&f[i].work, ksalloc_life_free_work);
		f[i].file = file;
		KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, ksalloc_life_free_flush,
								   &f[i]));
	}
	KUNIT_ASSERT_EQ(test, 0, ksalloc_enable_free_frame_event(file, ksalloc_life_event_serial,
								 e));

	for (round = 0; round < KSALLOC_LIFE_EVENT_ROUNDS; round++) {
		if (!ksalloc_life_two_cpus(&this, &other))
			kunit_skip(test, "needs two online CPUs");
		for (i = 0; i < 2; i++)
			KUNIT_ASSERT_EQ(test, 0, ksalloc_allocate_frame(file, &f[i].frame));
		atomic_set(&e->calls, 0);
		atomic_set(&e->waited, 0);
		atomic_set(&e->freed, 0);

		/* The first callback spins on the other CPU, not under us. */
		queue_work_on(other, system_highpri_wq, &f[0].work);
		end = ktime_add_ms(ktime_get(), MSEC_PER_SEC);
		while (!atomic_read(&e->waited) && ktime_before(ktime_get(), end))
			cpu_relax();
		KUNIT_ASSERT_EQ(test, atomic_read(&e->waited), 1);
		queue_work_on(this, system_highpri_wq, &f[1].work);
		flush_work(&f[1].work);
		atomic_set(&e->freed, 1);
		flush_work(&f[0].work);

		/* One call per free; the second may still be on its way. */
		end = ktime_add_ms(ktime_get(), MSEC_PER_SEC);
		while (atomic_read(&e->calls) < 2 && ktime_before(ktime_get(), end))
			usleep_range(1000, 2000);
		KUNIT_EXPECT_EQ(test, atomic_read(&e->calls), 2);
		KUNIT_EXPECT_EQ(test, atomic_read(&e->overlaps), 0);
		if (test->status == KUNIT_FAILURE)
			break;
	}
	ksalloc_disable_free_frame_event(file);
	/* Disabled: no callback runs, and none comes. */
	KUNIT_EXPECT_EQ(test, atomic_read(&e->running), 0);
	i = atomic_read(&e->calls);
	KUNIT_ASSERT_EQ(test, 0, ksalloc_allocate_frame(file, &f[0].frame));
	ksalloc_free_frame(file, f[0].frame);
	msleep(20);
	KUNIT_EXPECT_EQ(test, atomic_read(&e->calls), i);
	kunit_info(test, "%u rounds of two frees on two CPUs\n", round);
	ksalloc_watch_check(test, &watch);
}

/**
 * struct ksalloc_life_unframed - allocate_frame on an allocator being framed
 * @file: an open of /dev/ksalloc, as a driver gets it with ksalloc_fget().
 * @started: the thread runs.
 * @done: it has a result other than -EBADFD, or was told to @stop.
 * @stop: give up: the framing failed.
 * @framing_at: when SET_FRAMING began (ktime_get_ns()), 0 before.
 * @delay_ns: if not 0, the thread's first call waits until this long after
 *	@framing_at.
 * @calls: its allocate_frame calls.
 * @ret: the first result other than -EBADFD.
 * @frame: the frame it returned.
 */
struct ksalloc_life_unframed {
	struct file *file;
	struct completion started;
	struct completion done;
	bool stop;
	u64 framing_at;
	u64 delay_ns;
	unsigned long calls;
	int ret;
	void *frame;
};

static int ksalloc_life_unframed_thread(void *data)
{
	struct ksalloc_life_unframed *u = data;
	u64 at;

	complete(&u->started);
	if (u->delay_ns) {
		while (!(at = READ_ONCE(u->framing_at)) && !READ_ONCE(u->stop))
			cpu_relax();
		while (ktime_get_ns() - at < u->delay_ns && !READ_ONCE(u->stop))
			cpu_relax();
	}
	do {
		u->ret = ksalloc_allocate_frame(u->file, &u->frame);
		u->calls++;
	} while (u->ret == -EBADFD && !READ_ONCE(u->stop));
	complete(&u->done);
	while (!kthread_should_stop())
		schedule_timeout_interruptible(1);
	return 0;
}

#define KSALLOC_LIFE_FRAMINGS	500

/*
 * allocate_frame called by a driver on another CPU while user space sets
 * the framing: -EBADFD until it is set, then a frame of the pool. The slow
 * path once looked up its CPU's cache before taking the lock, and used the
 * placeholder of an unframed allocator as a cache once it had the lock:
 * an out-of-bounds read and a wild write.
 *
 * In even iterations the driver calls from before the framing begins; in odd
 * ones its first call comes 0 to 2 times as long as a framing lately took
 * after the framing began, so that it lands before, during and after the
 * framing. Both must have happened: a first call that got -EBADFD, and one
 * that got a frame.
 */
static void ksalloc_allocate_frame_races_set_framing(struct kunit *test)
{
	struct ksalloc_framing framing = ksalloc_test_framing(8, 64, 0);
	struct ksalloc_life_unframed *u;
	unsigned int it, unframed_first = 0, framed_first = 0;
	/* How long SET_FRAMING takes: a guess, then a running mean. */
	u64 framing_ns = 100 * NSEC_PER_USEC, start;
	struct ksalloc_status status;
	struct ksalloc_watch watch;
	struct task_struct *thread;
	unsigned long uframing;
	ktime_t deadline;
	int this, other;
	long err;

	u = kunit_kzalloc(test, sizeof(*u), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, u);
	/* SET_FRAMING reads its argument from user memory: give us some. */
	uframing = kunit_vm_mmap(test, NULL, 0, PAGE_SIZE, PROT_READ | PROT_WRITE,
				 MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_NE(test, uframing, 0);
	KUNIT_ASSERT_EQ(test, 0, copy_to_user((void __user *)uframing, &framing,
					      sizeof(framing)));
	ksalloc_watch_start(&watch);
	deadline = ktime_add_ms(ktime_get(), KSALLOC_LIFE_RACE_MS);

	for (it = 0; it < KSALLOC_LIFE_FRAMINGS ||
	     ((!unframed_first || !framed_first) && ktime_before(ktime_get(), deadline));
	     it++) {
		if (!ksalloc_life_two_cpus(&this, &other))
			kunit_skip(test, "needs two online CPUs");
		u->file = filp_open("/dev/ksalloc", O_RDWR, 0);
		/*
		 * ksalloc, which this module needs, has registered the device:
		 * only the node can be missing (no devtmpfs mounted, as in a
		 * kunit.py run). Any other error is one.
		 */
		if (PTR_ERR_OR_ZERO(u->file) == -ENOENT)
			kunit_skip(test, "no /dev/ksalloc node: devtmpfs not mounted");
		KUNIT_ASSERT_NOT_ERR_OR_NULL_MSG(test, u->file, "open /dev/ksalloc: %ld",
						 PTR_ERR(u->file));
		u->calls = 0;
		u->stop = false;
		u->framing_at = 0;
		u->delay_ns = it % 2 ? div_u64((it / 2 % 20) * 2 * framing_ns, 19) : 0;
		init_completion(&u->started);
		init_completion(&u->done);
		thread = kthread_create(ksalloc_life_unframed_thread, u, "ksalloc_unframed");
		if (IS_ERR(thread))
			fput(u->file);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, thread);
		kthread_bind(thread, other);
		wake_up_process(thread);
		wait_for_completion(&u->started);
		udelay(it % 50);

		start = ktime_get_ns();
		WRITE_ONCE(u->framing_at, start);
		err = u->file->f_op->unlocked_ioctl(u->file, KSALLOC_IOC_SET_FRAMING,
						    uframing);
		framing_ns = div_u64(3 * framing_ns + ktime_get_ns() - start, 4);
		WRITE_ONCE(u->stop, err);
		wait_for_completion(&u->done);
		kthread_stop(thread);
		KUNIT_EXPECT_EQ(test, err, 0);
		KUNIT_EXPECT_EQ(test, u->ret, 0);
		unframed_first += u->calls > 1;
		framed_first += u->calls == 1;
		if (!u->ret)
			ksalloc_free_frame(u->file, u->frame);
		/* Freed as a frame of the pool: it was one. */
		status = ksalloc_test_status(test, u->file);
		KUNIT_EXPECT_EQ(test, status.misuse_events, 0);
		KUNIT_EXPECT_EQ(test, status.allocated_frames, 0);
		KUNIT_EXPECT_EQ(test, status.peak_allocated_frames, 1);
		fput(u->file);
		if (test->status == KUNIT_FAILURE)
			break;
	}
	kunit_info(test, "%u framings raced by allocate_frame on another CPU: its first call got -EBADFD in %u, a frame in %u; a framing takes %llu us\n",
		   it, unframed_first, framed_first, div_u64(framing_ns, NSEC_PER_USEC));
	KUNIT_EXPECT_GT_MSG(test, unframed_first, 0, "no allocate_frame came before the framing");
	KUNIT_EXPECT_GT_MSG(test, framed_first, 0, "every allocate_frame came before the framing");
	ksalloc_watch_check(test, &watch);
}

static struct kunit_case ksalloc_lifetime_cases[] = {
	KUNIT_CASE_PARAM_ATTR(ksalloc_fput_races_irq_free, ksalloc_life_fput_gen_params,
			      { .speed = KUNIT_SPEED_SLOW }),
	KUNIT_CASE_SLOW(ksalloc_submit_request_release_races_irq_free),
	KUNIT_CASE_SLOW(ksalloc_cancel_request_races_irq_grant),
	KUNIT_CASE(ksalloc_cancel_request_races_cross_cpu_grant),
	KUNIT_CASE(ksalloc_free_frame_event_serialized),
	KUNIT_CASE_SLOW(ksalloc_allocate_frame_races_set_framing),
	{}
};

static struct kunit_suite ksalloc_lifetime_suite = {
	.name = "ksalloc_lifetime",
	.test_cases = ksalloc_lifetime_cases,
};

kunit_test_suites(&ksalloc_stress_suite, &ksalloc_smp_suite, &ksalloc_lifetime_suite);
