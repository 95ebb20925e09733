// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite ksalloc_mem: the memory of a pool. Frames of at most
 * KSALLOC_SLAB_FRAME_SIZE bytes come packed from a slab cache; larger ones,
 * and those of a KSALLOC_OPTIONF_MAPPABLE pool, are page-backed: one vmalloc
 * area, a frame per page-rounded stride. The cases check the kind chosen by
 * size, the alignment kept, every byte of every frame usable, the memory
 * given back at release (the kernel's own counters: free pages, slab bytes),
 * a pool of 16 frames of 4 MiB made on a machine whose free memory is all
 * single pages, and writes through a user mapping of the pool seen by a
 * kernel client at the frame's address, and the other way round; and
 * ksalloc_frame_offset(), which tells a driver where a frame is in a user's
 * mapping of the pool.
 */

#include <kunit/test.h>
#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mmzone.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/vmstat.h>

#include "ksalloc_kunit.h"

struct ksalloc_mem_case {
	const char *name;
	u32 frames, size, alignment, options;
	bool page_backed;
};

static const struct ksalloc_mem_case ksalloc_mem_cases[] = {
	{ "256 B", 16, 256, 0, 0, false },
	{ "100 B, 64-aligned", 16, 100, 63, 0, false },
	{ "4 KiB, page-aligned", 16, 4096, 4095, 0, false },
	{ "8 KiB", 8, 8192, 0, 0, false },
	{ "8 KiB + 1", 8, 8193, 0, 0, true },
	{ "8000 B, 4096-aligned", 8, 8000, 4095, 0, false },
	{ "8100 B, 4096-aligned (8 KiB + 4 KiB aligned)", 8, 8100 + 4096, 4095, 0, true },
	{ "614,424 B", 8, 614424, 0, 0, true },
	{ "4 MiB", 4, 4U << 20, 15, 0, true },
	{ "256 B, mappable", 16, 256, 0, KSALLOC_OPTIONF_MAPPABLE, true },
	{ "100 B, 64-aligned, mappable", 16, 100, 63, KSALLOC_OPTIONF_MAPPABLE, true },
};

static void ksalloc_mem_case_desc(const struct ksalloc_mem_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(ksalloc_mem, ksalloc_mem_cases, ksalloc_mem_case_desc);

static int ksalloc_mem_cmp(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

/* The kind of memory chosen by size (or asked), the alignment, every byte. */
static void pool_memory_kind_by_size(struct kunit *test)
{
	const struct ksalloc_mem_case *c = test->param_value;
	struct ksalloc_framing framing = ksalloc_test_framing(c->frames, c->size,
							       c->alignment);
	unsigned long *addr;
	struct file *file;
	void **frame;
	u32 i;

	framing.options = c->options;
	file = ksalloc_test_create(test, &framing);
	frame = kunit_kcalloc(test, c->frames, sizeof(*frame), GFP_KERNEL);
	addr = kunit_kcalloc(test, c->frames, sizeof(*addr), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, frame);
	KUNIT_ASSERT_NOT_NULL(test, addr);

	for (i = 0; i < c->frames; i++) {
		KUNIT_ASSERT_EQ(test, 0, ksalloc_allocate_frame(file, &frame[i]));
		addr[i] = (unsigned long)frame[i];
		KUNIT_EXPECT_EQ_MSG(test, is_vmalloc_addr(frame[i]), c->page_backed,
				    "frame %u at %p", i, frame[i]);
		if (!c->page_backed)
			KUNIT_EXPECT_TRUE(test, folio_test_slab(virt_to_folio(frame[i])));
		KUNIT_EXPECT_EQ(test, addr[i] & c->alignment, 0);
		/* Every byte is the frame's: KASAN would see an overflow. */
		memset(frame[i], i, c->size);
	}
	sort(addr, c->frames, sizeof(*addr), ksalloc_mem_cmp, NULL);
	for (i = 0; i + 1 < c->frames; i++) {
		if (c->page_backed) {
			/* One area, a page-rounded stride: no page holds two. */
			KUNIT_EXPECT_EQ(test, addr[i] & ~PAGE_MASK, 0);
			KUNIT_EXPECT_EQ(test, addr[i + 1] - addr[i], PAGE_ALIGN(c->size));
		} else {
			KUNIT_EXPECT_GE(test, addr[i + 1] - addr[i], c->size);
		}
	}
	for (i = 0; i < c->frames; i++) {
		KUNIT_EXPECT_NULL(test, memchr_inv(frame[i], i, c->size));
		ksalloc_free_frame(file, frame[i]);
	}
	KUNIT_EXPECT_EQ(test, ksalloc_test_status(test, file).allocated_frames, 0);
}

/*
 * Free memory now, from the kernel's counters: free pages, and those on the
 * page allocator's per-CPU lists, where freed pages wait (as many as a few
 * thousand per CPU), counted as taken by NR_FREE_PAGES. The per-CPU counter
 * deltas not yet folded are added in. As bench/ksalloc_bench.c does.
 */
static unsigned long ksalloc_free_kib(void)
{
	struct per_cpu_zonestat *stats;
	struct per_cpu_pages *pcp;
	struct zone *zone;
	long free = 0;
	int nid, cpu;

	for_each_online_node(nid) {
		struct zone *zones = NODE_DATA(nid)->node_zones;

		for (zone = zones; zone < zones + MAX_NR_ZONES; zone++) {
			if (!populated_zone(zone))
				continue;
			free += atomic_long_read(&zone->vm_stat[NR_FREE_PAGES]);
			for_each_online_cpu(cpu) {
				stats = per_cpu_ptr(zone->per_cpu_zonestats, cpu);
				pcp = per_cpu_ptr(zone->per_cpu_pageset, cpu);
				free += READ_ONCE(stats->vm_stat_diff[NR_FREE_PAGES]);
				free += READ_ONCE(pcp->count);
			}
		}
	}
	return max(free, 0L) << (PAGE_SHIFT - 10);
}

static unsigned long ksalloc_slab_kib(void)
{
	return global_node_page_state_pages(NR_SLAB_UNRECLAIMABLE_B) << (PAGE_SHIFT - 10);
}

struct ksalloc_release_case {
	const char *name;
	u32 frames, size;
};

static const struct ksalloc_release_case ksalloc_release_cases[] = {
	/* 32 MiB of slab-backed frames: the idle cache must give them back. */
	{ "4096 x 8 KiB, slab", 4096, 8192 },
	{ "8 x 4 MiB, pages", 8, 4U << 20 },
};

static void ksalloc_release_case_desc(const struct ksalloc_release_case *c,
				      char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(ksalloc_release, ksalloc_release_cases,
		  ksalloc_release_case_desc);

/*
 * The memory a pool takes is given back at release, slab-backed pools
 * included: their cache, kept idle for reuse, is shrunk. Measured by free
 * pages, with a margin for what else the guest does: a sixth of the pool.
 */
static void pool_release_gives_memory_back(struct kunit *test)
{
	const struct ksalloc_release_case *c = test->param_value;
	struct ksalloc_framing framing = ksalloc_test_framing(c->frames, c->size, 0);
	unsigned long kib = (unsigned long)c->frames * c->size >> 10;
	unsigned long before, held, after, slab_before, slab_after;
	struct file *file;

	slab_before = ksalloc_slab_kib();
	before = ksalloc_free_kib();
	file = ksalloc_create(&framing);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, file);
	held = ksalloc_free_kib();
	__fput_sync(file);
	after = ksalloc_free_kib();
	slab_after = ksalloc_slab_kib();
	kunit_info(test, "pool %lu KiB: free %lu -> %lu -> %lu KiB, slab %lu -> %lu KiB\n",
		   kib, before, held, after, slab_before, slab_after);

	/* The measure sees the pool... */
	KUNIT_EXPECT_LE(test, held + kib - kib / 6, before);
	/* ...and its going. */
	KUNIT_EXPECT_GE(test, after + kib / 6, before);
	KUNIT_EXPECT_LE(test, slab_after, slab_before + kib / 6);
}

/*
 * Free memory all in single pages: every page the allocator can give is
 * taken, but a margin, and those of odd frame number are freed, so no two
 * free pages are buddies. A pool of 16 frames of 4 MiB needs 64 MiB, more
 * than the margin: it can be made only of single pages. Slab-backed 4 MiB
 * frames (order-10 slabs) could not.
 */
#define KSALLOC_FRAG_MARGIN_KIB	(32UL << 10)

static void ksalloc_free_page_list(void *data)
{
	struct list_head *list = data;
	struct page *page, *next;

	list_for_each_entry_safe(page, next, list, lru) {
		list_del(&page->lru);
		__free_page(page);
	}
}

static void pool_fragmented_memory_16x4mib(struct kunit *test)
{
	struct ksalloc_framing framing = ksalloc_test_framing(16, 4U << 20, 0);
	unsigned long taken = 0, freed = 0;
	struct list_head *held;
	struct page *page, *next;
	struct file *file;
	void *frame;

	held = kunit_kzalloc(test, sizeof(*held), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, held);
	INIT_LIST_HEAD(held);
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, ksalloc_free_page_list, held));
	while (ksalloc_free_kib() > KSALLOC_FRAG_MARGIN_KIB) {
		page = alloc_page(GFP_KERNEL | __GFP_NORETRY | __GFP_NOWARN);
		if (!page)
			break;
		list_add(&page->lru, held);
		if (!(++taken % 4096))
			cond_resched();
	}
	list_for_each_entry_safe(page, next, held, lru) {
		if (page_to_pfn(page) & 1) {
			list_del(&page->lru);
			__free_page(page);
			freed++;
		}
	}
	kunit_info(test, "took %lu pages, freed %lu alternate ones; %lu KiB free\n",
		   taken, freed, ksalloc_free_kib());
	/* The pool does not fit in what may still be contiguous. */
	KUNIT_ASSERT_GT(test, freed << (PAGE_SHIFT - 10), 64UL << 10);

	file = ksalloc_create(&framing);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, file);
	KUNIT_EXPECT_EQ(test, 0, ksalloc_allocate_frame(file, &frame));
	memset(frame, 0xa5, 4U << 20);
	ksalloc_free_frame(file, frame);
	__fput_sync(file);
}

/*
 * A user mapping of the pool is the frames: what user space writes at a
 * frame's place, the kernel client reads at its address, and the other way
 * round. The kernel client does not know the frame's offset: it finds it in
 * the bytes user space wrote, a different value in each frame.
 */
#define KSALLOC_MAP_FRAMES	4U
#define KSALLOC_MAP_SIZE	614424U

static void pool_mapping_is_the_frames(struct kunit *test)
{
	struct ksalloc_framing framing =
		ksalloc_test_framing(KSALLOC_MAP_FRAMES, KSALLOC_MAP_SIZE, 0);
	size_t stride = PAGE_ALIGN(KSALLOC_MAP_SIZE);
	unsigned long user;
	struct file *file;
	u8 *frame, *buf;
	size_t k;
	u32 i;

	file = ksalloc_test_create(test, &framing);
	buf = kunit_kmalloc(test, KSALLOC_MAP_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	user = kunit_vm_mmap(test, file, 0, KSALLOC_MAP_FRAMES * stride,
			     PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	KUNIT_ASSERT_NE_MSG(test, user, 0, "mmap of the pool failed");
	/* A private, an executable, or a too large one is refused. */
	KUNIT_EXPECT_EQ(test, (long)kunit_vm_mmap(test, file, 0, stride, PROT_READ,
						  MAP_PRIVATE, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, (long)kunit_vm_mmap(test, file, 0, stride,
						  PROT_READ | PROT_EXEC, MAP_SHARED, 0),
			-EPERM);
	KUNIT_EXPECT_EQ(test, (long)kunit_vm_mmap(test, file, 0, stride, PROT_READ,
						  MAP_SHARED,
						  KSALLOC_MAP_FRAMES * stride), -ENXIO);

	for (i = 0; i < KSALLOC_MAP_FRAMES; i++) {
		memset(buf, 0x10 + i, KSALLOC_MAP_SIZE);
		KUNIT_ASSERT_EQ(test, 0, copy_to_user((void __user *)(user + i * stride),
						      buf, KSALLOC_MAP_SIZE));
	}
	KUNIT_ASSERT_EQ(test, 0, ksalloc_allocate_frame(file, (void **)&frame));
	k = frame[0] - 0x10;
	KUNIT_ASSERT_LT(test, k, KSALLOC_MAP_FRAMES);
	KUNIT_EXPECT_NULL(test, memchr_inv(frame, 0x10 + k, KSALLOC_MAP_SIZE));

	memset(frame, 0xee, KSALLOC_MAP_SIZE);
	KUNIT_ASSERT_EQ(test, 0, copy_from_user(buf, (void __user *)(user + k * stride),
						KSALLOC_MAP_SIZE));
	KUNIT_EXPECT_NULL(test, memchr_inv(buf, 0xee, KSALLOC_MAP_SIZE));
	ksalloc_free_frame(file, frame);
}

/*
 * ksalloc_frame_offset() gives each frame's place in a user mapping: what
 * user space writes there, the kernel client reads at the frame. Pointers
 * that are not the start of a frame are refused, and a slab-backed pool has
 * no mapping.
 */
static void ksalloc_frame_offset_mapping(struct kunit *test)
{
	struct ksalloc_framing framing =
		ksalloc_test_framing(KSALLOC_MAP_FRAMES, KSALLOC_MAP_SIZE, 0);
	size_t stride = PAGE_ALIGN(KSALLOC_MAP_SIZE), end = KSALLOC_MAP_FRAMES * stride;
	u8 *frame[KSALLOC_MAP_FRAMES], *lowest = NULL;
	u64 offset[KSALLOC_MAP_FRAMES], off;
	struct file *file, *slab;
	unsigned long user;
	void *small;
	u32 i, j;

	file = ksalloc_test_create(test, &framing);
	user = kunit_vm_mmap(test, file, 0, end, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	KUNIT_ASSERT_NE_MSG(test, user, 0, "mmap of the pool failed");
	for (i = 0; i < KSALLOC_MAP_FRAMES; i++) {
		KUNIT_ASSERT_EQ(test, 0, ksalloc_allocate_frame(file, (void **)&frame[i]));
		KUNIT_ASSERT_EQ(test, 0, ksalloc_frame_offset(file, frame[i], &offset[i]));
		KUNIT_EXPECT_EQ(test, 0, offset[i] % stride);
		KUNIT_EXPECT_LT(test, offset[i], (u64)end);
		for (j = 0; j < i; j++)
			KUNIT_EXPECT_NE(test, offset[i], offset[j]);
		if (!lowest || frame[i] < lowest)
			lowest = frame[i];
		/* Its first and last bytes, written at its place in the mapping. */
		KUNIT_ASSERT_EQ(test, 0, put_user((u8)(0x40 + i), (u8 __user *)(user + offset[i])));
		KUNIT_ASSERT_EQ(test, 0, put_user((u8)(0x80 + i),
						  (u8 __user *)(user + offset[i] +
								KSALLOC_MAP_SIZE - 1)));
	}
	for (i = 0; i < KSALLOC_MAP_FRAMES; i++) {
		KUNIT_EXPECT_EQ(test, frame[i][0], 0x40 + i);
		KUNIT_EXPECT_EQ(test, frame[i][KSALLOC_MAP_SIZE - 1], 0x80 + i);
	}

	/* Inside a frame, before the first, past the last, NULL: not a frame. */
	off = 0xdead;
	KUNIT_EXPECT_EQ(test, -EINVAL, ksalloc_frame_offset(file, frame[0] + 1, &off));
	KUNIT_EXPECT_EQ(test, -EINVAL, ksalloc_frame_offset(file, frame[0] + PAGE_SIZE, &off));
	KUNIT_EXPECT_EQ(test, -EINVAL, ksalloc_frame_offset(file, lowest - stride, &off));
	KUNIT_EXPECT_EQ(test, -EINVAL, ksalloc_frame_offset(file, lowest - 1, &off));
	KUNIT_EXPECT_EQ(test, -EINVAL, ksalloc_frame_offset(file, lowest + end, &off));
	KUNIT_EXPECT_EQ(test, -EINVAL, ksalloc_frame_offset(file, NULL, &off));
	KUNIT_EXPECT_EQ(test, 0xdead, off);
	/* A free frame keeps its place. */
	ksalloc_free_frame(file, frame[1]);
	KUNIT_EXPECT_EQ(test, 0, ksalloc_frame_offset(file, frame[1], &off));
	KUNIT_EXPECT_EQ(test, offset[1], off);
	for (i = 0; i < KSALLOC_MAP_FRAMES; i++)
		if (i != 1)
			ksalloc_free_frame(file, frame[i]);

	/* A slab-backed pool cannot be mapped. */
	framing = ksalloc_test_framing(4, 256, 0);
	slab = ksalloc_test_create(test, &framing);
	KUNIT_ASSERT_EQ(test, 0, ksalloc_allocate_frame(slab, &small));
	KUNIT_EXPECT_EQ(test, -ENODEV, ksalloc_frame_offset(slab, small, &off));
	KUNIT_EXPECT_EQ(test, -ENODEV, ksalloc_frame_offset(slab, NULL, &off));
	ksalloc_free_frame(slab, small);
	/* A frame of one pool is not one of another. */
	KUNIT_EXPECT_EQ(test, -EINVAL, ksalloc_frame_offset(file, small, &off));
}

static struct kunit_case ksalloc_mem_test_cases[] = {
	KUNIT_CASE_PARAM(pool_memory_kind_by_size, ksalloc_mem_gen_params),
	KUNIT_CASE_PARAM(pool_release_gives_memory_back, ksalloc_release_gen_params),
	KUNIT_CASE_SLOW(pool_fragmented_memory_16x4mib),
	KUNIT_CASE(pool_mapping_is_the_frames),
	KUNIT_CASE(ksalloc_frame_offset_mapping),
	{}
};

static struct kunit_suite ksalloc_mem_test_suite = {
	.name = "ksalloc_mem",
	.test_cases = ksalloc_mem_test_cases,
};

kunit_test_suite(ksalloc_mem_test_suite);
