// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs: ksalloc/<id>, the status of each allocator, and ksalloc/totals,
 * the module-wide counters. Built only with CONFIG_DEBUG_FS.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "ksalloc_priv.h"

static struct dentry *ksalloc_debugfs;

static int ksalloc_debugfs_show(struct seq_file *m, void *unused)
{
	struct ksalloc *a = m->private;
	struct ksalloc_status st;

	ksalloc_read_status(a, &st);
	seq_printf(m, "id: %u\n", a->id);
	seq_printf(m, "pool_type: %s\n", !st.framing.frames ? "unset" :
		   st.framing.pool_type == KSALLOC_POOL_ATOMIC ? "atomic" :
		   "sleepable");
	seq_printf(m, "options: %#x\n", st.framing.options);
	seq_printf(m, "frames: %u\n", st.framing.frames);
	seq_printf(m, "frame_size: %u\n", st.framing.frame_size);
	seq_printf(m, "alignment: %u\n", st.framing.alignment);
	seq_printf(m, "allocated_frames: %u\n", st.allocated_frames);
	seq_printf(m, "peak_allocated_frames: %u\n", st.peak_allocated_frames);
	seq_printf(m, "waiters: %u\n", st.waiters);
	seq_printf(m, "misuse_events: %u\n", st.misuse_events);
	seq_printf(m, "total_allocations: %llu\n", st.total_allocations);
	seq_printf(m, "failed_allocations: %llu\n", st.failed_allocations);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ksalloc_debugfs);

static int ksalloc_totals_show(struct seq_file *m, void *unused)
{
	struct ksalloc_totals t;

	ksalloc_get_totals(&t);
	seq_printf(m, "misuse_events: %llu\n", t.misuse_events);
	seq_printf(m, "retaining_releases: %llu\n", t.retaining_releases);
	seq_printf(m, "retained_frames: %llu\n", t.retained_frames);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ksalloc_totals);

void ksalloc_debugfs_add(struct ksalloc *a)
{
	char name[16];

	snprintf(name, sizeof(name), "%u", a->id);
	a->debugfs = debugfs_create_file(name, 0400, ksalloc_debugfs, a,
					 &ksalloc_debugfs_fops);
}

void ksalloc_debugfs_remove(struct ksalloc *a)
{
	debugfs_remove(a->debugfs);
}

void ksalloc_debugfs_init(void)
{
	ksalloc_debugfs = debugfs_create_dir(KBUILD_MODNAME, NULL);
	/* Beside the allocators' files, named by number: no name clash. */
	debugfs_create_file("totals", 0400, ksalloc_debugfs, NULL,
			    &ksalloc_totals_fops);
}

void ksalloc_debugfs_exit(void)
{
	debugfs_remove(ksalloc_debugfs);
}
