// SPDX-License-Identifier: GPL-2.0
/*
 * The per-user limit: the pools of one user's allocators (the user who set
 * their framing) together stay under max_user_bytes. A pool is charged
 * before it is made and uncharged when it is freed.
 *
 * Context: process context; ksalloc_users_lock is a mutex.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/hashtable.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/slab.h>

#include "ksalloc_priv.h"

static unsigned long ksalloc_max_user_bytes = 256UL << 20;
module_param_named(max_user_bytes, ksalloc_max_user_bytes, ulong, 0644);
MODULE_PARM_DESC(max_user_bytes,
		 "Largest total of the pools of one user's allocators, in bytes (default 256 MiB, 0: no limit)");

/**
 * struct ksalloc_user - the pool bytes of one user's allocators
 * @node: in ksalloc_users.
 * @uid: the user.
 * @bytes: the sum of the pools charged to @uid; never 0 in the table.
 */
struct ksalloc_user {
	struct hlist_node node;
	kuid_t uid;
	unsigned long bytes;
};

static DEFINE_HASHTABLE(ksalloc_users, 6);
/* Protects ksalloc_users and the entries in it. */
static DEFINE_MUTEX(ksalloc_users_lock);

static struct ksalloc_user *ksalloc_find_user(kuid_t uid)
{
	struct ksalloc_user *u;

	lockdep_assert_held(&ksalloc_users_lock);
	hash_for_each_possible(ksalloc_users, u, node, __kuid_val(uid))
		if (uid_eq(u->uid, uid))
			return u;
	return NULL;
}

/* Charges @bytes to @uid: 0, -EDQUOT over max_user_bytes, or -ENOMEM. */
int ksalloc_charge_user(kuid_t uid, unsigned long bytes)
{
	unsigned long max = READ_ONCE(ksalloc_max_user_bytes);
	struct ksalloc_user *u;
	int err = 0;

	mutex_lock(&ksalloc_users_lock);
	u = ksalloc_find_user(uid);
	if (max && (bytes > max || (u && u->bytes > max - bytes))) {
		err = -EDQUOT;
	} else if (u) {
		u->bytes += bytes;
	} else {
		u = kmalloc(sizeof(*u), GFP_KERNEL_ACCOUNT);
		if (u) {
			u->uid = uid;
			u->bytes = bytes;
			hash_add(ksalloc_users, &u->node, __kuid_val(uid));
		} else {
			err = -ENOMEM;
		}
	}
	mutex_unlock(&ksalloc_users_lock);
	return err;
}

void ksalloc_uncharge_user(kuid_t uid, unsigned long bytes)
{
	struct ksalloc_user *u;

	mutex_lock(&ksalloc_users_lock);
	u = ksalloc_find_user(uid);
	if (!WARN_ON_ONCE(!u || u->bytes < bytes)) {
		u->bytes -= bytes;
		if (!u->bytes) {
			hash_del(&u->node);
			kfree(u);
		}
	}
	mutex_unlock(&ksalloc_users_lock);
}
