// SPDX-License-Identifier: GPL-2.0
/*
 * ksalloc - Kernel Streaming style frame allocators: module init and exit.
 * ksalloc_priv.h says which file holds what.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/miscdevice.h>
#include <linux/module.h>

#include "ksalloc_priv.h"

#define CREATE_TRACE_POINTS
#include "ksalloc_trace.h"

static struct miscdevice ksalloc_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "ksalloc",
	.fops	= &ksalloc_fops,
};

static int __init ksalloc_init(void)
{
	int err;

	BUILD_BUG_ON(sizeof(struct ksalloc_framing) != 24);
	BUILD_BUG_ON(sizeof(struct ksalloc_status) != 56);
	BUILD_BUG_ON(sizeof(struct ksalloc_frame_handle) != 16);
	/* Slab objects leave the flag bits of entry[] clear. */
	BUILD_BUG_ON(ARCH_SLAB_MINALIGN <= KSALLOC_ENTRY_FLAGS);

	ksalloc_debugfs_init();
	err = misc_register(&ksalloc_misc);
	if (err)
		ksalloc_debugfs_exit();
	return err;
}

/* Every allocator holds a module reference: none is left here. */
static void __exit ksalloc_exit(void)
{
	misc_deregister(&ksalloc_misc);
	ksalloc_debugfs_exit();
	ksalloc_destroy_slabs();
}

module_init(ksalloc_init);
module_exit(ksalloc_exit);

MODULE_DESCRIPTION("Kernel Streaming style frame allocators");
MODULE_LICENSE("GPL");
