// SPDX-License-Identifier: GPL-2.0
/*
 * The slab caches frames come from. Allocators with the same frame size and
 * alignment share a cache (struct ksalloc_slab), and a few caches nobody
 * uses are kept for the next allocator (idle_caches): creating a slab cache
 * costs more than filling a pool of a thousand frames. Every cache is a
 * usercopy cache of SLAB_ACCOUNT objects: frames are charged to the memory
 * cgroup of the task that sets the framing. A cache going idle is shrunk
 * (kmem_cache_shrink()): its empty slabs go back to the page allocator, so
 * an idle cache keeps no frame memory, only its own structures.
 *
 * Context: process context; ksalloc_slabs_lock is a mutex.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/list.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/slab.h>

#include "ksalloc_priv.h"

static int ksalloc_set_idle_caches(const char *val,
				   const struct kernel_param *kp);

static const struct kernel_param_ops ksalloc_idle_caches_ops = {
	.set = ksalloc_set_idle_caches,
	.get = param_get_uint,
};

static unsigned int ksalloc_idle_caches = 4;
module_param_cb(idle_caches, &ksalloc_idle_caches_ops, &ksalloc_idle_caches,
		0644);
MODULE_PARM_DESC(idle_caches,
		 "Slab caches of frames kept for reuse while no allocator uses them (default 4)");

static LIST_HEAD(ksalloc_slabs);
/* Protects ksalloc_slabs, the slabs' @users and ksalloc_nr_idle. */
static DEFINE_MUTEX(ksalloc_slabs_lock);
static unsigned int ksalloc_nr_idle;

/* Destroys the least recently used idle caches beyond idle_caches. */
static void ksalloc_trim_slabs(void)
{
	struct ksalloc_slab *slab, *prev;

	lockdep_assert_held(&ksalloc_slabs_lock);
	list_for_each_entry_safe_reverse(slab, prev, &ksalloc_slabs, node) {
		if (ksalloc_nr_idle <= READ_ONCE(ksalloc_idle_caches))
			break;
		if (slab->users)
			continue;
		list_del(&slab->node);
		ksalloc_nr_idle--;
		kmem_cache_destroy(slab->cache);
		kfree(slab);
	}
}

static int ksalloc_set_idle_caches(const char *val,
				   const struct kernel_param *kp)
{
	int err;

	mutex_lock(&ksalloc_slabs_lock);
	err = param_set_uint(val, kp);
	if (!err)
		ksalloc_trim_slabs();
	mutex_unlock(&ksalloc_slabs_lock);
	return err;
}

/* The cache for frames of @size bytes aligned to @align; NULL: no memory. */
struct ksalloc_slab *ksalloc_get_slab(u32 size, u32 align)
{
	struct ksalloc_slab *slab;
	char name[32];

	mutex_lock(&ksalloc_slabs_lock);
	list_for_each_entry(slab, &ksalloc_slabs, node) {
		if (slab->size == size && slab->align == align) {
			if (!slab->users++)
				ksalloc_nr_idle--;
			list_move(&slab->node, &ksalloc_slabs);
			goto out;
		}
	}
	slab = kzalloc(sizeof(*slab), GFP_KERNEL);
	if (!slab)
		goto out;
	snprintf(name, sizeof(name), "ksalloc-%u-%u", size, align);
	/* A usercopy cache is never merged with another one. */
	slab->cache = kmem_cache_create_usercopy(name, size, align,
						 SLAB_ACCOUNT, 0, size, NULL);
	if (!slab->cache) {
		kfree(slab);
		slab = NULL;
		goto out;
	}
	slab->size = size;
	slab->align = align;
	slab->users = 1;
	list_add(&slab->node, &ksalloc_slabs);
out:
	mutex_unlock(&ksalloc_slabs_lock);
	return slab;
}

/* Ends a pool's use of @slab, whose objects it has all freed. */
void ksalloc_put_slab(struct ksalloc_slab *slab)
{
	mutex_lock(&ksalloc_slabs_lock);
	if (!--slab->users) {
		/* Under the lock: a new user cannot allocate meanwhile. */
		kmem_cache_shrink(slab->cache);
		ksalloc_nr_idle++;
		ksalloc_trim_slabs();
	}
	mutex_unlock(&ksalloc_slabs_lock);
}

/*
 * At unload: destroys the idle caches, which by then are all of them (a pool
 * that uses a cache pins the module: through its file, or, once it retained
 * frames, for good).
 *
 * Under the lock, and leaving the list empty: the parameter files go only
 * after the module's exit, so root may still write idle_caches meanwhile,
 * and ksalloc_set_idle_caches() then finds nothing to trim.
 */
void ksalloc_destroy_slabs(void)
{
	struct ksalloc_slab *slab, *next;

	mutex_lock(&ksalloc_slabs_lock);
	list_for_each_entry_safe(slab, next, &ksalloc_slabs, node) {
		list_del(&slab->node);
		if (!WARN_ON_ONCE(slab->users))
			kmem_cache_destroy(slab->cache);
		kfree(slab);
	}
	ksalloc_nr_idle = 0;
	mutex_unlock(&ksalloc_slabs_lock);
}
