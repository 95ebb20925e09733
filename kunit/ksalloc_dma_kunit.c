// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite ksalloc_dma: devices attached to an allocator (module/dma.c).
 *
 * The device is a platform device with a DMA mask, as mm/dmapool_test.c
 * makes one: on x86 it maps straight to memory (dma-direct), coherent, so an
 * address can be checked against the frame's physical address. Every frame
 * is mapped at attach and unmapped at detach, and each lookup, list and sync
 * is checked against the frame; every refusal has its errno and leaves
 * nothing mapped. What is mapped is counted twice: by the test hooks at
 * ksalloc's own map and unmap calls (struct ksalloc_test_hooks), which also
 * inject a failure at the nth mapping and stand in for a non-coherent
 * device; and, where the kernel has DMA-API debugging and debugfs, by the
 * live mappings DMA-API debugging lists for the device
 * (/sys/kernel/debug/dma-api/dump), which ksalloc does not write.
 *
 * Hard IRQ: an hrtimer in hard mode takes a frame with its address, looks
 * up its list and syncs it both ways; the test thread asserts.
 */

#include <kunit/platform_device.h>
#include <kunit/test.h>
#include <linux/anon_inodes.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/platform_device.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "ksalloc_kunit.h"

/* A test's device and what ksalloc mapped for it, seen by the hooks. */
struct ksalloc_dma_test {
	struct device *dev;
	struct device *other;	/* a second device, for the cases that need one */
	unsigned int maps;	/* mapping attempts for @dev */
	unsigned int unmaps;
	unsigned int fail_at;	/* fail the mapping attempt of this number, 0: none */
	unsigned int align;	/* what @dev needs, if not 0 */
	unsigned long ubuf;	/* a page of user memory, for ksalloc_dma_live() */
};

/* The hooks are global: the test that set them is the one running. */
static struct ksalloc_dma_test *ksalloc_dma_current;

static bool ksalloc_dma_test_map(struct device *dev)
{
	struct ksalloc_dma_test *t = ksalloc_dma_current;

	if (dev != t->dev)
		return false;
	return ++t->maps == t->fail_at;
}

static void ksalloc_dma_test_unmap(struct device *dev)
{
	struct ksalloc_dma_test *t = ksalloc_dma_current;

	if (dev == t->dev)
		t->unmaps++;
}

static unsigned int ksalloc_dma_test_align(struct device *dev)
{
	struct ksalloc_dma_test *t = ksalloc_dma_current;

	return dev == t->dev && t->align ? t->align : 1;
}

static void ksalloc_dma_test_unhook(void *unused)
{
	WRITE_ONCE(ksalloc_test_hooks.dma_map, NULL);
	WRITE_ONCE(ksalloc_test_hooks.dma_unmap, NULL);
	WRITE_ONCE(ksalloc_test_hooks.dma_align, NULL);
	ksalloc_dma_current = NULL;
}

static struct device *ksalloc_dma_test_device(struct kunit *test, u64 mask)
{
	struct platform_device *pdev;

	pdev = kunit_platform_device_alloc(test, "ksalloc-dma-test",
					   PLATFORM_DEVID_AUTO);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, pdev);
	KUNIT_ASSERT_EQ(test, 0, kunit_platform_device_add(test, pdev));
	if (mask)
		KUNIT_ASSERT_EQ(test, 0, dma_set_mask_and_coherent(&pdev->dev, mask));
	return &pdev->dev;
}

static int ksalloc_dma_test_init(struct kunit *test)
{
	struct ksalloc_dma_test *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, t);
	t->dev = ksalloc_dma_test_device(test, DMA_BIT_MASK(64));
	t->other = ksalloc_dma_test_device(test, DMA_BIT_MASK(64));
	t->ubuf = kunit_vm_mmap(test, NULL, 0, PAGE_SIZE, PROT_READ | PROT_WRITE,
				MAP_ANONYMOUS | MAP_PRIVATE, 0);
	test->priv = t;
	ksalloc_dma_current = t;
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, ksalloc_dma_test_unhook, NULL));
	WRITE_ONCE(ksalloc_test_hooks.dma_map, ksalloc_dma_test_map);
	WRITE_ONCE(ksalloc_test_hooks.dma_unmap, ksalloc_dma_test_unmap);
	WRITE_ONCE(ksalloc_test_hooks.dma_align, ksalloc_dma_test_align);
	return 0;
}

/*
 * The mappings DMA-API debugging holds for @dev, from its debugfs dump; -1
 * without DMA-API debugging or debugfs mounted. The dump is a seq_file with
 * ->read only, which kernel_read() refuses: it is read into user memory.
 */
static long ksalloc_dma_live(struct ksalloc_dma_test *t, struct device *dev)
{
	char *buf, *line, *nl, *name;
	size_t have = 0;
	struct file *f;
	loff_t pos = 0;
	long count = 0;
	ssize_t n;

	if (!t->ubuf)
		return -1;
	f = filp_open("/sys/kernel/debug/dma-api/dump", O_RDONLY, 0);
	if (IS_ERR(f))
		return -1;
	buf = kmalloc(PAGE_SIZE + 1, GFP_KERNEL);
	name = kasprintf(GFP_KERNEL, " %s ", dev_name(dev));
	if (!buf || !name || !f->f_op->read) {
		count = -1;
		goto out;
	}
	while ((n = f->f_op->read(f, (char __user *)t->ubuf, PAGE_SIZE - have,
				  &pos)) > 0) {
		if (copy_from_user(buf + have, (void __user *)t->ubuf, n)) {
			n = -EFAULT;
			break;
		}
		have += n;
		buf[have] = '\0';
		for (line = buf; (nl = strchr(line, '\n')); line = nl + 1) {
			*nl = '\0';
			count += !!strstr(line, name);
		}
		/* The start of a line: kept for the next read. */
		have = buf + have - line;
		memmove(buf, line, have);
		if (have == PAGE_SIZE)
			have = 0;
	}
	if (n < 0)
		count = -1;
out:
	kfree(name);
	kfree(buf);
	fput(f);
	return count;
}

/* @dev has @expect mappings, if DMA-API debugging can tell. */
#define KSALLOC_EXPECT_LIVE(test, dev, expect) do {				\
	struct kunit *__test = (test);						\
	struct device *__dev = (dev);						\
	long __live = ksalloc_dma_live(__test->priv, __dev);			\
										\
	if (__live < 0 && IS_ENABLED(CONFIG_DMA_API_DEBUG))			\
		kunit_info(__test, "DMA-API debugging's dump unreadable\n");	\
	if (__live >= 0)							\
		KUNIT_EXPECT_EQ_MSG(__test, __live, (long)(expect),		\
				    "DMA-API debugging's mappings of %s",	\
				    dev_name(__dev));				\
} while (0)

/* Maps straight to memory: a frame's address is its physical address. */
static bool ksalloc_dma_direct(struct device *dev)
{
	return !device_iommu_mapped(dev) && dma_max_mapping_size(dev) == SIZE_MAX;
}

static phys_addr_t ksalloc_dma_phys(void *p)
{
	if (is_vmalloc_addr(p))
		return page_to_phys(vmalloc_to_page(p)) + offset_in_page(p);
	return virt_to_phys(p);
}

struct ksalloc_dma_case {
	const char *name;
	u32 frames, size, alignment, options;
	bool list;	/* page-backed and larger than a page: mapped as a list */
};

static const struct ksalloc_dma_case ksalloc_dma_cases[] = {
	{ "256 B, slab", 16, 256, 0, 0, false },
	{ "100 B, 64-aligned, slab", 16, 100, 63, 0, false },
	{ "4 KiB, page-aligned, slab", 8, 4096, 4095, 0, false },
	{ "256 B, mappable: a page each", 8, 256, 0, KSALLOC_OPTIONF_MAPPABLE, false },
	{ "4 KiB, mappable", 8, 4096, 0, KSALLOC_OPTIONF_MAPPABLE, false },
	{ "8 KiB + 1: three pages", 8, 8193, 0, 0, true },
	{ "614,424 B", 4, 614424, 0, 0, true },
};

static void ksalloc_dma_case_desc(const struct ksalloc_dma_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(ksalloc_dma, ksalloc_dma_cases, ksalloc_dma_case_desc);

static struct ksalloc_framing ksalloc_dma_framing(const struct ksalloc_dma_case *c)
{
	struct ksalloc_framing framing = ksalloc_test_framing(c->frames, c->size,
							       c->alignment);

	framing.options = c->options;
	return framing;
}

/* An attachment detached when the test ends, unless the test does first. */
static void ksalloc_dma_test_detach(void *dma)
{
	ksalloc_dma_detach(dma);
}

static struct ksalloc_dma *ksalloc_dma_test_attach(struct kunit *test,
						   struct file *file,
						   struct device *dev,
						   enum dma_data_direction dir)
{
	struct ksalloc_dma *dma = ksalloc_dma_attach(file, dev, dir);

	KUNIT_ASSERT_NOT_ERR_OR_NULL_MSG(test, dma, "attach: %ld", PTR_ERR(dma));
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, ksalloc_dma_test_detach, dma));
	return dma;
}

static void ksalloc_dma_test_detach_now(struct kunit *test, struct ksalloc_dma *dma)
{
	kunit_release_action(test, ksalloc_dma_test_detach, dma);
}

/*
 * The list of a frame mapped as one: its pages are the frame's, in order,
 * its length the frame's; the device's segments cover the same bytes, and
 * straight to memory each is where its pages are. Returns the segments.
 */
static unsigned int ksalloc_dma_check_list(struct kunit *test, struct device *dev,
					   const struct sg_table *sgt, u8 *frame,
					   u32 size)
{
	struct scatterlist *sg;
	size_t cpu = 0, dev_bytes = 0;
	unsigned int i;

	for_each_sgtable_sg(sgt, sg, i) {
		KUNIT_EXPECT_EQ(test, sg->offset, 0);
		KUNIT_EXPECT_PTR_EQ(test, sg_page(sg), vmalloc_to_page(frame + cpu));
		/* A segment of several pages is physically contiguous. */
		KUNIT_EXPECT_EQ(test, page_to_phys(sg_page(sg)) + sg->length - 1,
				ksalloc_dma_phys(frame + cpu + sg->length - 1));
		cpu += sg->length;
	}
	KUNIT_EXPECT_EQ(test, cpu, size);
	for_each_sgtable_dma_sg(sgt, sg, i) {
		if (ksalloc_dma_direct(dev))
			KUNIT_EXPECT_EQ(test, sg_dma_address(sg),
					(dma_addr_t)ksalloc_dma_phys(frame + dev_bytes));
		dev_bytes += sg_dma_len(sg);
	}
	KUNIT_EXPECT_EQ(test, dev_bytes, size);
	return sgt->nents;
}

/*
 * Every frame is mapped at attach, once, and unmapped at detach; each
 * frame's address or list covers exactly the frame; syncs take any length
 * up to the frame's and more (clamped); what is not a frame is refused.
 */
static void ksalloc_dma_attach_maps_every_frame(struct kunit *test)
{
	const struct ksalloc_dma_case *c = test->param_value;
	struct ksalloc_framing framing = ksalloc_dma_framing(c);
	struct ksalloc_dma_test *t = test->priv;
	const struct sg_table *sgt;
	unsigned int segments = 0;
	struct ksalloc_dma *dma;
	struct file *file;
	void **frame, *none;
	dma_addr_t addr;
	u32 i;

	file = ksalloc_test_create(test, &framing);
	frame = kunit_kcalloc(test, c->frames, sizeof(*frame), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, frame);
	dma = ksalloc_dma_test_attach(test, file, t->dev, DMA_FROM_DEVICE);
	KUNIT_EXPECT_EQ(test, t->maps, c->frames);
	KUNIT_EXPECT_EQ(test, t->unmaps, 0);

	for (i = 0; i < c->frames; i++) {
		KUNIT_ASSERT_EQ(test, 0, ksalloc_dma_allocate_frame(dma, &frame[i], &addr));
		KUNIT_EXPECT_EQ(test, addr, ksalloc_dma_addr(dma, frame[i]));
		sgt = ksalloc_dma_sgt(dma, frame[i]);
		if (c->list) {
			KUNIT_ASSERT_NOT_NULL(test, sgt);
			segments += ksalloc_dma_check_list(test, t->dev, sgt,
							   frame[i], c->size);
			/* One range for the device: its address is the list's. */
			KUNIT_EXPECT_EQ(test, addr, sgt->nents == 1 ?
					sg_dma_address(sgt->sgl) : DMA_MAPPING_ERROR);
		} else {
			KUNIT_EXPECT_NULL(test, sgt);
			KUNIT_EXPECT_NE(test, addr, DMA_MAPPING_ERROR);
			if (ksalloc_dma_direct(t->dev))
				KUNIT_EXPECT_EQ(test, addr,
						(dma_addr_t)ksalloc_dma_phys(frame[i]));
			segments++;
		}
		memset(frame[i], 0x5a, c->size);
		KUNIT_EXPECT_EQ(test, 0, ksalloc_dma_sync_for_device(dma, frame[i], c->size));
		KUNIT_EXPECT_EQ(test, 0, ksalloc_dma_sync_for_cpu(dma, frame[i], c->size));
		KUNIT_EXPECT_EQ(test, 0, ksalloc_dma_sync_for_device(dma, frame[i], 1));
		KUNIT_EXPECT_EQ(test, 0, ksalloc_dma_sync_for_cpu(dma, frame[i], SIZE_MAX));
		KUNIT_EXPECT_EQ(test, 0, ksalloc_dma_sync_for_cpu(dma, frame[i], 0));
		KUNIT_EXPECT_NULL(test, memchr_inv(frame[i], 0x5a, c->size));
		/* Inside a frame is not a frame. */
		KUNIT_EXPECT_EQ(test, DMA_MAPPING_ERROR,
				ksalloc_dma_addr(dma, (u8 *)frame[i] + 1));
		KUNIT_EXPECT_NULL(test, ksalloc_dma_sgt(dma, (u8 *)frame[i] + 1));
		KUNIT_EXPECT_EQ(test, -EINVAL,
				ksalloc_dma_sync_for_device(dma, (u8 *)frame[i] + 1, 1));
		KUNIT_EXPECT_EQ(test, -EINVAL,
				ksalloc_dma_sync_for_cpu(dma, (u8 *)frame[i] + 1, 1));
	}
	/* Every frame once: no two share an address. */
	for (i = 1; !c->list && i < c->frames; i++)
		KUNIT_EXPECT_NE(test, ksalloc_dma_addr(dma, frame[i]),
				ksalloc_dma_addr(dma, frame[i - 1]));
	/* All frames out: the next allocation fails, with no address. */
	KUNIT_EXPECT_EQ(test, -EAGAIN, ksalloc_dma_allocate_frame(dma, &none, &addr));
	KUNIT_EXPECT_EQ(test, addr, DMA_MAPPING_ERROR);
	KUNIT_EXPECT_NULL(test, none);
	KUNIT_EXPECT_EQ(test, DMA_MAPPING_ERROR, ksalloc_dma_addr(dma, NULL));
	KSALLOC_EXPECT_LIVE(test, t->dev, segments);

	ksalloc_dma_test_detach_now(test, dma);
	KUNIT_EXPECT_EQ(test, t->unmaps, c->frames);
	KSALLOC_EXPECT_LIVE(test, t->dev, 0);
	for (i = 0; i < c->frames; i++)
		ksalloc_free_frame(file, frame[i]);
	KUNIT_EXPECT_EQ(test, ksalloc_test_status(test, file).misuse_events, 0);
}

static const struct file_operations ksalloc_dma_dummy_fops = {};

/*
 * Each refusal has its own errno and maps nothing: no allocator, no device
 * or no DMA mask, no direction, no framing yet, a second attach of the same
 * device (the first stays mapped, and after its detach the device attaches
 * again).
 */
static void ksalloc_dma_attach_refusals(struct kunit *test)
{
	struct ksalloc_framing framing = ksalloc_test_framing(8, 256, 0);
	struct ksalloc_dma_test *t = test->priv;
	struct platform_device *pdev;
	struct ksalloc_dma *dma;
	struct file *file, *other;

	file = ksalloc_test_create(test, &framing);
	other = anon_inode_getfile("[test]", &ksalloc_dma_dummy_fops, NULL, O_RDWR);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, other);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, ksalloc_test_fput, other));

	KUNIT_EXPECT_EQ(test, -EINVAL,
			PTR_ERR(ksalloc_dma_attach(other, t->dev, DMA_FROM_DEVICE)));
	KUNIT_EXPECT_EQ(test, -EINVAL,
			PTR_ERR(ksalloc_dma_attach(file, NULL, DMA_FROM_DEVICE)));
	KUNIT_EXPECT_EQ(test, -EINVAL, PTR_ERR(ksalloc_dma_attach(file, t->dev, DMA_NONE)));
	KUNIT_EXPECT_EQ(test, -EINVAL,
			PTR_ERR(ksalloc_dma_attach(file, t->dev,
						   (enum dma_data_direction)7)));
	/* A device that cannot DMA at all: no mask. */
	pdev = kunit_platform_device_alloc(test, "ksalloc-dma-nomask", PLATFORM_DEVID_AUTO);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, pdev);
	pdev->dev.dma_mask = NULL;
	KUNIT_ASSERT_EQ(test, 0, kunit_platform_device_add(test, pdev));
	KUNIT_EXPECT_EQ(test, -EINVAL,
			PTR_ERR(ksalloc_dma_attach(file, &pdev->dev, DMA_FROM_DEVICE)));
	KUNIT_EXPECT_EQ(test, t->maps, 0);

	/* Each device once. */
	dma = ksalloc_dma_test_attach(test, file, t->dev, DMA_BIDIRECTIONAL);
	KUNIT_EXPECT_EQ(test, -EEXIST,
			PTR_ERR(ksalloc_dma_attach(file, t->dev, DMA_BIDIRECTIONAL)));
	KUNIT_EXPECT_EQ(test, -EEXIST,
			PTR_ERR(ksalloc_dma_attach(file, t->dev, DMA_TO_DEVICE)));
	KUNIT_EXPECT_EQ(test, t->maps, 8);
	KSALLOC_EXPECT_LIVE(test, t->dev, 8);
	ksalloc_dma_test_detach_now(test, dma);
	KUNIT_EXPECT_EQ(test, t->unmaps, 8);
	dma = ksalloc_dma_test_attach(test, file, t->dev, DMA_TO_DEVICE);
	KUNIT_EXPECT_EQ(test, t->maps, 16);
	ksalloc_dma_test_detach_now(test, dma);
	KUNIT_EXPECT_EQ(test, t->unmaps, 16);
	KSALLOC_EXPECT_LIVE(test, t->dev, 0);
}

/* Before the framing is set there are no frames to map. */
static void ksalloc_dma_attach_before_framing(struct kunit *test)
{
	struct ksalloc_dma_test *t = test->priv;
	struct file *file = filp_open("/dev/ksalloc", O_RDWR, 0);

	if (PTR_ERR_OR_ZERO(file) == -ENOENT)
		kunit_skip(test, "no /dev/ksalloc node: devtmpfs not mounted");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, file);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, ksalloc_test_fput, file));
	KUNIT_EXPECT_EQ(test, -EBADFD,
			PTR_ERR(ksalloc_dma_attach(file, t->dev, DMA_FROM_DEVICE)));
	KUNIT_EXPECT_EQ(test, t->maps, 0);
}

/*
 * A device that cannot address all memory, straight to memory with no
 * IOMMU or bounce buffers, is refused before anything is mapped: mapping a
 * frame beyond its reach would be a dma-direct warning. 24 bits is what
 * ZONE_DMA serves, so the mask itself is accepted.
 */
static void ksalloc_dma_attach_small_mask(struct kunit *test)
{
	struct ksalloc_framing framing = ksalloc_test_framing(8, 256, 0);
	struct ksalloc_dma_test *t = test->priv;
	struct file *file = ksalloc_test_create(test, &framing);
	struct ksalloc_dma *dma;

	KUNIT_ASSERT_EQ(test, 0, dma_set_mask_and_coherent(t->dev, DMA_BIT_MASK(24)));
	if (!dma_addressing_limited(t->dev))
		kunit_skip(test, "all memory is below 16 MiB");
	if (!ksalloc_dma_direct(t->dev))
		kunit_skip(test, "an IOMMU or bounce buffers serve small masks");
	KUNIT_EXPECT_EQ(test, -ERANGE,
			PTR_ERR(ksalloc_dma_attach(file, t->dev, DMA_FROM_DEVICE)));
	KUNIT_EXPECT_EQ(test, t->maps, 0);
	KSALLOC_EXPECT_LIVE(test, t->dev, 0);
	/* The other device, with a full mask, is served. */
	dma = ksalloc_dma_test_attach(test, file, t->other, DMA_FROM_DEVICE);
	ksalloc_dma_test_detach_now(test, dma);
}

/*
 * A non-coherent device that needs 128-byte alignment: frames aligned to 64
 * are refused (a sync would clean or drop the neighbour's half line), to
 * 128 served; page-backed frames, alone on their pages, always.
 */
static void ksalloc_dma_attach_noncoherent_alignment(struct kunit *test)
{
	struct ksalloc_framing f64 = ksalloc_test_framing(8, 100, 63);
	struct ksalloc_framing f128 = ksalloc_test_framing(8, 100, 127);
	struct ksalloc_framing pages = ksalloc_test_framing(4, 100, 0);
	struct ksalloc_dma_test *t = test->priv;
	struct ksalloc_dma *dma;
	struct file *file;

	pages.options = KSALLOC_OPTIONF_MAPPABLE;
	t->align = 128;
	file = ksalloc_test_create(test, &f64);
	KUNIT_EXPECT_EQ(test, -EOPNOTSUPP,
			PTR_ERR(ksalloc_dma_attach(file, t->dev, DMA_FROM_DEVICE)));
	KUNIT_EXPECT_EQ(test, t->maps, 0);
	/* The coherent device does not care. */
	dma = ksalloc_dma_test_attach(test, file, t->other, DMA_FROM_DEVICE);
	ksalloc_dma_test_detach_now(test, dma);

	file = ksalloc_test_create(test, &f128);
	dma = ksalloc_dma_test_attach(test, file, t->dev, DMA_FROM_DEVICE);
	KUNIT_EXPECT_EQ(test, t->maps, 8);
	ksalloc_dma_test_detach_now(test, dma);

	t->align = PAGE_SIZE;
	file = ksalloc_test_create(test, &pages);
	dma = ksalloc_dma_test_attach(test, file, t->dev, DMA_FROM_DEVICE);
	KUNIT_EXPECT_EQ(test, t->maps, 12);
	ksalloc_dma_test_detach_now(test, dma);
	KUNIT_EXPECT_EQ(test, t->unmaps, 12);
}

struct ksalloc_dma_fail_case {
	const char *name;
	u32 frames, size;
	unsigned int fail_at;
};

static const struct ksalloc_dma_fail_case ksalloc_dma_fail_cases[] = {
	{ "slab, the first frame", 8, 256, 1 },
	{ "slab, the fifth frame", 8, 256, 5 },
	{ "slab, the last frame", 8, 256, 8 },
	{ "one page each, the third frame", 8, 4000, 3 },
	{ "lists, the first frame", 4, 614424, 1 },
	{ "lists, the last frame", 4, 614424, 4 },
};

static void ksalloc_dma_fail_case_desc(const struct ksalloc_dma_fail_case *c,
				       char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(ksalloc_dma_fail, ksalloc_dma_fail_cases, ksalloc_dma_fail_case_desc);

/*
 * A mapping that fails half way, as when an IOMMU or the bounce buffers run
 * out: -EIO, every frame mapped before is unmapped, none twice; the
 * allocator is untouched, and the device attaches on the next try.
 */
static void ksalloc_dma_attach_fails_half_way(struct kunit *test)
{
	const struct ksalloc_dma_fail_case *c = test->param_value;
	struct ksalloc_framing framing = ksalloc_test_framing(c->frames, c->size, 0);
	struct ksalloc_dma_test *t = test->priv;
	struct ksalloc_dma *dma;
	struct file *file;
	dma_addr_t addr;
	void *frame;

	if (c->size == 4000)
		framing.options = KSALLOC_OPTIONF_MAPPABLE;
	file = ksalloc_test_create(test, &framing);
	t->fail_at = c->fail_at;
	KUNIT_EXPECT_EQ(test, -EIO, PTR_ERR(ksalloc_dma_attach(file, t->dev, DMA_FROM_DEVICE)));
	KUNIT_EXPECT_EQ(test, t->maps, c->fail_at);
	KUNIT_EXPECT_EQ(test, t->unmaps, c->fail_at - 1);
	KSALLOC_EXPECT_LIVE(test, t->dev, 0);

	t->fail_at = 0;
	dma = ksalloc_dma_test_attach(test, file, t->dev, DMA_FROM_DEVICE);
	KUNIT_EXPECT_EQ(test, t->maps, c->fail_at + c->frames);
	KUNIT_EXPECT_EQ(test, 0, ksalloc_dma_allocate_frame(dma, &frame, &addr));
	KUNIT_EXPECT_EQ(test, 0, ksalloc_dma_sync_for_cpu(dma, frame, c->size));
	ksalloc_free_frame(file, frame);
	ksalloc_dma_test_detach_now(test, dma);
	KUNIT_EXPECT_EQ(test, t->unmaps, c->fail_at - 1 + c->frames);
	KSALLOC_EXPECT_LIVE(test, t->dev, 0);
}

/* Whether [@addr, @addr + @len) crosses a multiple of @span, a power of two. */
static bool ksalloc_dma_test_crosses(dma_addr_t addr, size_t len, u64 span)
{
	return div64_u64(addr, span) != div64_u64(addr + len - 1, span);
}

/*
 * A device whose DMA segments must not cross a boundary
 * (dma_get_seg_boundary()): a frame of one range is refused before anything
 * is mapped unless it lies within one wherever the pool puts it (no longer
 * than the span, aligned to its size rounded up to a power of two or to the
 * span); a list gets a segment per page, which crosses none, and a boundary
 * below a page, or a largest segment below a page, serves no list.
 */
static void ksalloc_dma_segment_boundary(struct kunit *test)
{
	static const struct {
		u32 frames, size, alignment;
		int err;
	} one_range[] = {
		{ 4, 8192, 4095, -EOPNOTSUPP },	/* longer than the span */
		{ 16, 3000, 63, -EOPNOTSUPP },	/* may lie across a page */
		{ 16, 3000, 4095, 0 },
		{ 16, 2048, 2047, 0 },
		{ 16, 100, 127, 0 },		/* 128-aligned: within 128 bytes */
		{ 16, 100, 63, -EOPNOTSUPP },
	};
	struct ksalloc_framing list = ksalloc_test_framing(8, 3 * PAGE_SIZE, 0);
	struct ksalloc_framing small = ksalloc_test_framing(16, 256, 255);
	struct ksalloc_dma_test *t = test->priv;
	unsigned int i, j, maps, segments = 0;
	struct ksalloc_framing framing;
	const struct sg_table *sgt;
	struct ksalloc_dma *dma;
	struct scatterlist *sg;
	struct file *file;
	dma_addr_t addr;
	void *frame[16];

	/* Closer than a page: a list of whole pages cannot be cut to fit. */
	dma_set_seg_boundary(t->dev, SZ_2K - 1);
	file = ksalloc_test_create(test, &list);
	KUNIT_EXPECT_EQ(test, -EOPNOTSUPP,
			PTR_ERR(ksalloc_dma_attach(file, t->dev, DMA_FROM_DEVICE)));
	/* 256 bytes at 256 lie within 2 KiB. */
	file = ksalloc_test_create(test, &small);
	dma = ksalloc_dma_test_attach(test, file, t->dev, DMA_FROM_DEVICE);
	for (i = 0; i < small.frames; i++) {
		KUNIT_ASSERT_EQ(test, 0, ksalloc_dma_allocate_frame(dma, &frame[i], &addr));
		KUNIT_EXPECT_FALSE(test, ksalloc_dma_test_crosses(addr, small.frame_size, SZ_2K));
	}
	for (i = 0; i < small.frames; i++)
		ksalloc_free_frame(file, frame[i]);
	ksalloc_dma_test_detach_now(test, dma);
	KUNIT_EXPECT_EQ(test, t->maps, 16);

	dma_set_seg_boundary(t->dev, PAGE_SIZE - 1);
	for (i = 0; i < ARRAY_SIZE(one_range); i++) {
		framing = ksalloc_test_framing(one_range[i].frames, one_range[i].size,
					       one_range[i].alignment);
		maps = t->maps;
		file = ksalloc_test_create(test, &framing);
		dma = ksalloc_dma_attach(file, t->dev, DMA_FROM_DEVICE);
		KUNIT_EXPECT_EQ_MSG(test, PTR_ERR_OR_ZERO(dma), one_range[i].err,
				    "%u bytes, alignment mask %u", framing.frame_size,
				    framing.alignment);
		if (IS_ERR(dma)) {
			KUNIT_EXPECT_EQ(test, t->maps, maps);
			continue;
		}
		for (j = 0; j < framing.frames; j++) {
			KUNIT_ASSERT_EQ(test, 0,
					ksalloc_dma_allocate_frame(dma, &frame[j], &addr));
			KUNIT_EXPECT_FALSE(test, ksalloc_dma_test_crosses(addr, framing.frame_size,
									  PAGE_SIZE));
		}
		for (j = 0; j < framing.frames; j++)
			ksalloc_free_frame(file, frame[j]);
		ksalloc_dma_detach(dma);
	}
	KUNIT_EXPECT_EQ(test, t->unmaps, t->maps);

	file = ksalloc_test_create(test, &list);
	dma = ksalloc_dma_test_attach(test, file, t->dev, DMA_FROM_DEVICE);
	for (i = 0; i < list.frames; i++) {
		KUNIT_ASSERT_EQ(test, 0, ksalloc_dma_allocate_frame(dma, &frame[i], &addr));
		sgt = ksalloc_dma_sgt(dma, frame[i]);
		KUNIT_ASSERT_NOT_NULL(test, sgt);
		/* A CPU entry per page, contiguous or not. */
		KUNIT_EXPECT_EQ(test, sgt->orig_nents, 3);
		segments += sgt->nents;
		for_each_sgtable_dma_sg(sgt, sg, j)
			KUNIT_EXPECT_FALSE_MSG(test,
					       ksalloc_dma_test_crosses(sg_dma_address(sg),
									sg_dma_len(sg), PAGE_SIZE),
					       "frame %u, segment %u: %pad, %u bytes",
					       i, j, &sg_dma_address(sg), sg_dma_len(sg));
	}
	KSALLOC_EXPECT_LIVE(test, t->dev, segments);
	for (i = 0; i < list.frames; i++)
		ksalloc_free_frame(file, frame[i]);
	ksalloc_dma_test_detach_now(test, dma);
	KUNIT_EXPECT_EQ(test, t->unmaps, t->maps);

	/* Boundaries of a page, segments of at most 2 KiB: no list fits. */
	dma_set_max_seg_size(t->dev, SZ_2K);
	KUNIT_EXPECT_EQ(test, -EOPNOTSUPP,
			PTR_ERR(ksalloc_dma_attach(file, t->dev, DMA_FROM_DEVICE)));
	KSALLOC_EXPECT_LIVE(test, t->dev, 0);
}

/*
 * Two devices on one allocator, each with its own mappings: detaching one
 * leaves the other's, which still serves lookups and syncs. A sleepable pool
 * attaches too; it has no function table, so no allocation with an address.
 */
static void ksalloc_dma_two_devices(struct kunit *test)
{
	struct ksalloc_framing framing = ksalloc_test_framing(4, 614424, 0);
	struct ksalloc_dma_test *t = test->priv;
	unsigned int segments[2] = {};
	struct ksalloc_dma *one, *two;
	void *frame, *more[3];
	dma_addr_t addr;
	struct file *file;
	int i;

	file = ksalloc_test_create(test, &framing);
	one = ksalloc_dma_test_attach(test, file, t->dev, DMA_FROM_DEVICE);
	/* Both write: overlapping mappings, which sync through ksalloc only. */
	two = ksalloc_dma_test_attach(test, file, t->other, DMA_BIDIRECTIONAL);
	KUNIT_ASSERT_EQ(test, 0, ksalloc_dma_allocate_frame(one, &frame, &addr));
	KUNIT_ASSERT_NOT_NULL(test, ksalloc_dma_sgt(one, frame));
	KUNIT_ASSERT_NOT_NULL(test, ksalloc_dma_sgt(two, frame));
	KUNIT_EXPECT_PTR_NE(test, ksalloc_dma_sgt(one, frame), ksalloc_dma_sgt(two, frame));
	KUNIT_EXPECT_EQ(test, addr, ksalloc_dma_addr(one, frame));
	/* Each device's mappings of the four frames. */
	for (i = 0; i < 3; i++)
		KUNIT_ASSERT_EQ(test, 0, ksalloc_allocate_frame(file, &more[i]));
	for (i = 0; i < 4; i++) {
		void *f = i ? more[i - 1] : frame;

		segments[0] += ksalloc_dma_sgt(one, f)->nents;
		segments[1] += ksalloc_dma_sgt(two, f)->nents;
	}
	for (i = 0; i < 3; i++)
		ksalloc_free_frame(file, more[i]);
	KSALLOC_EXPECT_LIVE(test, t->dev, segments[0]);
	KSALLOC_EXPECT_LIVE(test, t->other, segments[1]);

	ksalloc_dma_test_detach_now(test, one);
	KUNIT_EXPECT_EQ(test, t->unmaps, 4);
	KSALLOC_EXPECT_LIVE(test, t->dev, 0);
	KUNIT_EXPECT_NOT_NULL(test, ksalloc_dma_sgt(two, frame));
	KUNIT_EXPECT_EQ(test, 0, ksalloc_dma_sync_for_device(two, frame, 614424));
	ksalloc_free_frame(file, frame);
	ksalloc_dma_test_detach_now(test, two);
	KSALLOC_EXPECT_LIVE(test, t->other, 0);

	framing = ksalloc_test_framing(4, 256, 0);
	framing.pool_type = KSALLOC_POOL_SLEEPABLE;
	file = ksalloc_test_create(test, &framing);
	one = ksalloc_dma_test_attach(test, file, t->dev, DMA_FROM_DEVICE);
	KUNIT_EXPECT_EQ(test, -EOPNOTSUPP, ksalloc_dma_allocate_frame(one, &frame, &addr));
	KUNIT_EXPECT_EQ(test, addr, DMA_MAPPING_ERROR);
	ksalloc_dma_test_detach_now(test, one);
}

/*
 * The driver goes (remove(): detach) while frames are held, by it or by
 * anyone: every frame is unmapped, held ones included, and the frames stay
 * the holders' memory; the allocator keeps working, and the device attaches
 * again (the driver bound again).
 */
static void ksalloc_dma_detach_while_held(struct kunit *test)
{
	struct ksalloc_framing framing = ksalloc_test_framing(8, 8193, 0);
	struct ksalloc_dma_test *t = test->priv;
	struct ksalloc_dma *dma;
	struct file *file;
	void *frame[5];
	dma_addr_t addr;
	int i;

	file = ksalloc_test_create(test, &framing);
	dma = ksalloc_dma_test_attach(test, file, t->dev, DMA_FROM_DEVICE);
	for (i = 0; i < 5; i++)
		KUNIT_ASSERT_EQ(test, 0, ksalloc_dma_allocate_frame(dma, &frame[i], &addr));
	ksalloc_dma_test_detach_now(test, dma);
	KUNIT_EXPECT_EQ(test, t->unmaps, 8);
	KSALLOC_EXPECT_LIVE(test, t->dev, 0);

	for (i = 0; i < 5; i++)
		memset(frame[i], i, 8193);
	for (i = 0; i < 5; i++) {
		KUNIT_EXPECT_NULL(test, memchr_inv(frame[i], i, 8193));
		ksalloc_free_frame(file, frame[i]);
	}
	KUNIT_EXPECT_EQ(test, ksalloc_test_status(test, file).allocated_frames, 0);
	KUNIT_EXPECT_EQ(test, ksalloc_test_status(test, file).misuse_events, 0);

	dma = ksalloc_dma_test_attach(test, file, t->dev, DMA_FROM_DEVICE);
	KUNIT_EXPECT_EQ(test, 0, ksalloc_dma_allocate_frame(dma, &frame[0], &addr));
	KUNIT_EXPECT_NOT_NULL(test, ksalloc_dma_sgt(dma, frame[0]));
	ksalloc_free_frame(file, frame[0]);
}

/*
 * The attachment holds the allocator: its creator lets go, and the
 * allocator still serves the attachment until the detach releases it.
 */
static void ksalloc_dma_attachment_holds_allocator(struct kunit *test)
{
	struct ksalloc_framing framing = ksalloc_test_framing(4, 256, 0);
	struct ksalloc_dma_test *t = test->priv;
	struct ksalloc_dma *dma;
	struct file *file;
	dma_addr_t addr;
	void *frame;

	file = ksalloc_create(&framing);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, file);
	dma = ksalloc_dma_attach(file, t->dev, DMA_FROM_DEVICE);
	if (IS_ERR(dma))
		__fput_sync(file);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dma);
	KUNIT_EXPECT_EQ(test, file_count(file), 2);
	__fput_sync(file);

	KUNIT_EXPECT_EQ(test, 0, ksalloc_dma_allocate_frame(dma, &frame, &addr));
	KUNIT_EXPECT_EQ(test, addr, ksalloc_dma_addr(dma, frame));
	memset(frame, 1, 256);
	ksalloc_free_frame(file, frame);
	KUNIT_EXPECT_EQ(test, t->unmaps, 0);
	ksalloc_dma_detach(dma);
	KUNIT_EXPECT_EQ(test, t->unmaps, 4);
	KSALLOC_EXPECT_LIVE(test, t->dev, 0);
}

/* What the hard-IRQ timer did, read by the test thread after @done. */
struct ksalloc_dma_irq {
	struct hrtimer timer;
	struct completion done;
	const struct ksalloc_dma *dma;
	u32 size;
	bool in_hardirq;
	int err, sync_dev, sync_cpu;
	void *frame;
	dma_addr_t addr, looked_up;
	const struct sg_table *sgt;
};

/*
 * DMA-API debugging takes a spinlock_t to check a sync, which sleeps on
 * PREEMPT_RT: there the syncs are documented not for hard IRQ, and run in
 * the test thread.
 */
#define KSALLOC_DMA_SYNC_IN_HARDIRQ \
	(!IS_ENABLED(CONFIG_PREEMPT_RT) || !IS_ENABLED(CONFIG_DMA_API_DEBUG))

static enum hrtimer_restart ksalloc_dma_irq_fn(struct hrtimer *timer)
{
	struct ksalloc_dma_irq *r = container_of(timer, struct ksalloc_dma_irq, timer);

	r->in_hardirq = in_hardirq();
	r->err = ksalloc_dma_allocate_frame(r->dma, &r->frame, &r->addr);
	if (!r->err) {
		r->looked_up = ksalloc_dma_addr(r->dma, r->frame);
		r->sgt = ksalloc_dma_sgt(r->dma, r->frame);
	}
	if (!r->err && KSALLOC_DMA_SYNC_IN_HARDIRQ) {
		r->sync_dev = ksalloc_dma_sync_for_device(r->dma, r->frame, r->size);
		r->sync_cpu = ksalloc_dma_sync_for_cpu(r->dma, r->frame, r->size);
	}
	complete(&r->done);
	return HRTIMER_NORESTART;
}

/* Addresses, lists and syncs in hard IRQ, as a completion interrupt takes them. */
static void ksalloc_dma_hardirq(struct kunit *test)
{
	const struct ksalloc_dma_case *c = test->param_value;
	struct ksalloc_framing framing = ksalloc_dma_framing(c);
	struct ksalloc_dma_test *t = test->priv;
	struct ksalloc_dma_irq *r;
	struct file *file;

	r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r);
	file = ksalloc_test_create(test, &framing);
	r->dma = ksalloc_dma_test_attach(test, file, t->dev, DMA_FROM_DEVICE);
	r->size = c->size;
	r->err = -1;
	r->sync_dev = -1;
	r->sync_cpu = -1;
	init_completion(&r->done);
	hrtimer_init(&r->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	r->timer.function = ksalloc_dma_irq_fn;
	hrtimer_start(&r->timer, ns_to_ktime(100 * NSEC_PER_USEC), HRTIMER_MODE_REL_HARD);
	KUNIT_EXPECT_TRUE(test, ksalloc_test_waited(&r->done));
	hrtimer_cancel(&r->timer);

	KUNIT_EXPECT_TRUE(test, r->in_hardirq);
	KUNIT_ASSERT_EQ(test, r->err, 0);
	KUNIT_EXPECT_EQ(test, r->addr, r->looked_up);
	KUNIT_EXPECT_EQ(test, r->addr, ksalloc_dma_addr(r->dma, r->frame));
	KUNIT_EXPECT_PTR_EQ(test, r->sgt, ksalloc_dma_sgt(r->dma, r->frame));
	KUNIT_EXPECT_EQ(test, c->list, !!r->sgt);
	if (!c->list)
		KUNIT_EXPECT_NE(test, r->addr, DMA_MAPPING_ERROR);
	if (!KSALLOC_DMA_SYNC_IN_HARDIRQ) {
		r->sync_dev = ksalloc_dma_sync_for_device(r->dma, r->frame, r->size);
		r->sync_cpu = ksalloc_dma_sync_for_cpu(r->dma, r->frame, r->size);
	}
	KUNIT_EXPECT_EQ(test, r->sync_dev, 0);
	KUNIT_EXPECT_EQ(test, r->sync_cpu, 0);
	ksalloc_free_frame(file, r->frame);
}

static struct kunit_case ksalloc_dma_test_cases[] = {
	KUNIT_CASE_PARAM(ksalloc_dma_attach_maps_every_frame, ksalloc_dma_gen_params),
	KUNIT_CASE(ksalloc_dma_attach_refusals),
	KUNIT_CASE(ksalloc_dma_attach_before_framing),
	KUNIT_CASE(ksalloc_dma_attach_small_mask),
	KUNIT_CASE(ksalloc_dma_attach_noncoherent_alignment),
	KUNIT_CASE_PARAM(ksalloc_dma_attach_fails_half_way, ksalloc_dma_fail_gen_params),
	KUNIT_CASE(ksalloc_dma_segment_boundary),
	KUNIT_CASE(ksalloc_dma_two_devices),
	KUNIT_CASE(ksalloc_dma_detach_while_held),
	KUNIT_CASE(ksalloc_dma_attachment_holds_allocator),
	KUNIT_CASE_PARAM(ksalloc_dma_hardirq, ksalloc_dma_gen_params),
	{}
};

static struct kunit_suite ksalloc_dma_test_suite = {
	.name = "ksalloc_dma",
	.init = ksalloc_dma_test_init,
	.test_cases = ksalloc_dma_test_cases,
};

kunit_test_suite(ksalloc_dma_test_suite);
