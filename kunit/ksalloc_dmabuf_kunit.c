// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite ksalloc_dmabuf: a frame exported as a dma-buf (module/dmabuf.c)
 * and imported in the kernel as a driver imports one: dma_buf_get(),
 * dma_buf_attach() for a device of the test's (a KUnit device with a 64-bit
 * DMA mask, and a maximum segment size where the case sets one, as
 * mm/dmapool_test.c sets up its device), map, vmap, begin/end_cpu_access,
 * then each reference released, in every order.
 *
 * The frame comes through /dev/ksalloc's ioctls, their arguments in user
 * memory of the test's (kunit_vm_mmap()): KSALLOC_IOC_EXPORT_FRAME exports
 * only a frame user space holds. The importer sees the frame's device
 * addresses, never its pages: CONFIG_DMABUF_DEBUG scrambles the page
 * pointers of the table it is given. With neither an IOMMU nor a DMA offset
 * for the test's device, a device address is the page's physical address.
 *
 * Under CONFIG_DMA_API_DEBUG, a case also fails on a DMA-API report made
 * while it ran: dma-debug prints only its first report, but counts them
 * all in debugfs, in dma-api/error_count, which the case reads before and
 * after.
 *
 * Every case skips on a kernel without dma-buf (CONFIG_DMA_SHARED_BUFFER),
 * or without a /dev/ksalloc node.
 */

#include <kunit/device.h>
#include <kunit/test.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/iosys-map.h>
#include <linux/kernel.h>
#include <linux/ksalloc.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "ksalloc_kunit.h"

MODULE_IMPORT_NS(DMA_BUF);
MODULE_IMPORT_NS(KSALLOC);

/* Two frames of a VGA YUYV image: 151 pages each, page-backed. */
#define KSALLOC_DMABUF_FRAMES	2U
#define KSALLOC_DMABUF_SIZE	614424U
#define KSALLOC_DMABUF_STRIDE	PAGE_ALIGN(KSALLOC_DMABUF_SIZE)
#define KSALLOC_DMABUF_PAGES	((unsigned int)(KSALLOC_DMABUF_STRIDE >> PAGE_SHIFT))

#define KSALLOC_DMA_API_ERRORS	"/sys/kernel/debug/dma-api/error_count"

/**
 * struct ksalloc_dmabuf_test - one frame, exported
 * @file: the allocator, an open of /dev/ksalloc.
 * @uarg: a page of user memory for the ioctls' arguments.
 * @user: the pool, mapped.
 * @offset: the frame's place in @user.
 * @handle: the frame's handle; user space holds it.
 * @dmabuf: the frame's dma-buf; the test holds one reference.
 * @dma_api_errors: dma-debug's error count when the case began, or -1.
 */
struct ksalloc_dmabuf_test {
	struct file *file;
	unsigned long uarg;
	unsigned long user;
	u64 offset;
	u64 handle;
	struct dma_buf *dmabuf;
	long dma_api_errors;
};

/* Page @k of the frame as user space first writes it. */
static u8 ksalloc_dmabuf_pattern(unsigned int k)
{
	return k + 1;
}

/* dma-debug's count of the reports it made, or -1 without dma-debug. */
static long ksalloc_test_dma_api_errors(struct kunit *test)
{
	char buf[24] = {};
	unsigned long ubuf;
	struct file *f;
	loff_t pos = 0;
	ssize_t n;
	long count;

	if (!IS_ENABLED(CONFIG_DMA_API_DEBUG))
		return -1;
	f = filp_open(KSALLOC_DMA_API_ERRORS, O_RDONLY, 0);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(f), "open %s: %ld",
			       KSALLOC_DMA_API_ERRORS, PTR_ERR(f));
	/* A debugfs attribute has no read_iter (no kernel_read()): read it to user memory. */
	ubuf = kunit_vm_mmap(test, NULL, 0, PAGE_SIZE, PROT_READ | PROT_WRITE,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_NE(test, ubuf, 0);
	KUNIT_ASSERT_NOT_NULL(test, f->f_op->read);
	n = f->f_op->read(f, (char __user *)ubuf, sizeof(buf) - 1, &pos);
	ksalloc_test_fput(f);
	KUNIT_ASSERT_GT_MSG(test, n, 0, "read %s: %zd", KSALLOC_DMA_API_ERRORS, n);
	KUNIT_ASSERT_EQ(test, 0, copy_from_user(buf, (void __user *)ubuf, n));
	KUNIT_ASSERT_EQ(test, 0, kstrtol(strim(buf), 10, &count));
	return count;
}

/* The DMA-API reports since the case began: none. */
static void ksalloc_test_expect_no_dma_api_report(struct kunit *test,
						  struct ksalloc_dmabuf_test *t)
{
	if (t->dma_api_errors < 0)
		return;
	KUNIT_EXPECT_EQ_MSG(test, ksalloc_test_dma_api_errors(test),
			    t->dma_api_errors,
			    "DMA-API reports during the case: see the kernel log");
}

/*
 * A device of the test's for DMA, @name (unique in the case), unregistered
 * when the case ends: a 64-bit
 * DMA mask and, if @max_seg is not 0, that maximum segment size (else the
 * DMA API's default, 64 KiB).
 */
static struct device *ksalloc_test_dma_dev(struct kunit *test, const char *name,
					   unsigned int max_seg)
{
	struct device_dma_parameters *parms;
	struct device *dev;

	/* Before the device: freed after it is unregistered. */
	parms = kunit_kzalloc(test, sizeof(*parms), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, parms);
	dev = kunit_device_register(test, name);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	KUNIT_ASSERT_EQ(test, 0, dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64)));
	/* No IOMMU, no offset: device addresses are physical addresses. */
	KUNIT_ASSERT_NULL(test, dev->dma_range_map);
	if (max_seg) {
		dev->dma_parms = parms;
		dma_set_max_seg_size(dev, max_seg);
	}
	KUNIT_ASSERT_EQ(test, dma_get_max_seg_size(dev), max_seg ?: SZ_64K);
	return dev;
}

static void ksalloc_test_dma_buf_put(void *dmabuf)
{
	/* The test's reference is the last one: release it synchronously. */
	ksalloc_test_fput(((struct dma_buf *)dmabuf)->file);
}

/*
 * Fills @t: an open of /dev/ksalloc framed for two VGA frames, its pool
 * mapped, a frame user space holds, written through the mapping (page k all
 * ksalloc_dmabuf_pattern(k)), and exported: the test holds the dma-buf,
 * released when the case ends (or earlier, by kunit_release_action()).
 */
static void ksalloc_dmabuf_test_export(struct kunit *test,
				       struct ksalloc_dmabuf_test *t)
{
	struct ksalloc_framing framing =
		ksalloc_test_framing(KSALLOC_DMABUF_FRAMES, KSALLOC_DMABUF_SIZE, 0);
	struct ksalloc_export_frame x = {};
	struct ksalloc_mapped_frame m = {};
	struct file *fd_file;
	unsigned int k;
	u8 *page;

	if (!IS_ENABLED(CONFIG_DMA_SHARED_BUFFER))
		kunit_skip(test, "no dma-buf: kernel without CONFIG_DMA_SHARED_BUFFER");
	memset(t, 0, sizeof(*t));
	t->dma_api_errors = ksalloc_test_dma_api_errors(test);
	t->file = ksalloc_test_open_dev(test, &framing, &t->uarg);
	t->user = kunit_vm_mmap(test, t->file, 0,
				KSALLOC_DMABUF_FRAMES * KSALLOC_DMABUF_STRIDE,
				PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	KUNIT_ASSERT_NE_MSG(test, t->user, 0, "mmap of the pool failed");

	KUNIT_ASSERT_EQ(test, 0, copy_to_user((void __user *)t->uarg, &m, sizeof(m)));
	KUNIT_ASSERT_EQ(test, 0, t->file->f_op->unlocked_ioctl(t->file,
							       KSALLOC_IOC_ALLOC_FRAME2,
							       t->uarg));
	KUNIT_ASSERT_EQ(test, 0, copy_from_user(&m, (void __user *)t->uarg, sizeof(m)));
	t->handle = m.handle;
	t->offset = m.offset;
	KUNIT_ASSERT_LT(test, t->offset, (u64)KSALLOC_DMABUF_FRAMES * KSALLOC_DMABUF_STRIDE);

	page = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, page);
	for (k = 0; k < KSALLOC_DMABUF_PAGES; k++) {
		memset(page, ksalloc_dmabuf_pattern(k), PAGE_SIZE);
		KUNIT_ASSERT_EQ(test, 0,
				copy_to_user((void __user *)(t->user + t->offset +
							     k * PAGE_SIZE),
					     page, PAGE_SIZE));
	}
	kunit_kfree(test, page);

	x.handle = t->handle;
	x.flags = O_RDWR | O_CLOEXEC;
	KUNIT_ASSERT_EQ(test, 0, copy_to_user((void __user *)t->uarg, &x, sizeof(x)));
	KUNIT_ASSERT_EQ(test, 0, t->file->f_op->unlocked_ioctl(t->file,
							       KSALLOC_IOC_EXPORT_FRAME,
							       t->uarg));
	KUNIT_ASSERT_EQ(test, 0, copy_from_user(&x, (void __user *)t->uarg, sizeof(x)));

	/*
	 * The descriptor is in the table of the kernel threads: take the
	 * importer's reference, then close it, leaving that reference alone.
	 */
	t->dmabuf = dma_buf_get(x.fd);
	fd_file = file_close_fd(x.fd);
	KUNIT_ASSERT_NOT_NULL(test, fd_file);
	ksalloc_test_fput(fd_file);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, t->dmabuf);
	KUNIT_EXPECT_EQ(test, t->dmabuf->size, KSALLOC_DMABUF_STRIDE);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, ksalloc_test_dma_buf_put,
							   t->dmabuf));
}

/* FREE_FRAME of the test's frame: its error. */
static long ksalloc_dmabuf_test_free(struct ksalloc_dmabuf_test *t)
{
	u64 h = t->handle;

	return ksalloc_test_handle_ioctl(t->file, KSALLOC_IOC_FREE_FRAME, t->uarg, &h);
}

/* Every byte of the frame's mapping by user space is @c. */
static void ksalloc_dmabuf_expect_user(struct kunit *test,
				       struct ksalloc_dmabuf_test *t, u8 c)
{
	u8 *buf = kunit_kmalloc(test, KSALLOC_DMABUF_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_EQ(test, 0, copy_from_user(buf, (void __user *)(t->user + t->offset),
						KSALLOC_DMABUF_SIZE));
	KUNIT_EXPECT_NULL(test, memchr_inv(buf, c, KSALLOC_DMABUF_SIZE));
	kunit_kfree(test, buf);
}

/* Every byte of the dma-buf's vmap is @c. */
static void ksalloc_dmabuf_expect_vmap(struct kunit *test,
				       struct ksalloc_dmabuf_test *t, u8 c)
{
	struct iosys_map map;

	KUNIT_ASSERT_EQ(test, 0, dma_buf_vmap_unlocked(t->dmabuf, &map));
	KUNIT_EXPECT_FALSE(test, map.is_iomem);
	KUNIT_EXPECT_NULL(test, memchr_inv(map.vaddr, c, KSALLOC_DMABUF_SIZE));
	dma_buf_vunmap_unlocked(t->dmabuf, &map);
}

/* What the import case releases, in an order of the parameter's. */
enum ksalloc_dmabuf_ref {
	KSALLOC_REF_FILE,	/* the allocator's descriptor */
	KSALLOC_REF_MAPPING,	/* user space's mapping of the pool */
	KSALLOC_REF_DMABUF,	/* the importer's dma-buf */
	KSALLOC_REFS
};

static const char * const ksalloc_dmabuf_ref_names[] = {
	"file", "mapping", "dmabuf",
};

static const u8 ksalloc_dmabuf_orders[][KSALLOC_REFS] = {
	{ KSALLOC_REF_FILE, KSALLOC_REF_MAPPING, KSALLOC_REF_DMABUF },
	{ KSALLOC_REF_MAPPING, KSALLOC_REF_FILE, KSALLOC_REF_DMABUF },
	{ KSALLOC_REF_FILE, KSALLOC_REF_DMABUF, KSALLOC_REF_MAPPING },
	{ KSALLOC_REF_DMABUF, KSALLOC_REF_FILE, KSALLOC_REF_MAPPING },
	{ KSALLOC_REF_MAPPING, KSALLOC_REF_DMABUF, KSALLOC_REF_FILE },
	{ KSALLOC_REF_DMABUF, KSALLOC_REF_MAPPING, KSALLOC_REF_FILE },
};

static void ksalloc_dmabuf_order_desc(const u8 (*order)[KSALLOC_REFS], char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s_%s_%s",
		 ksalloc_dmabuf_ref_names[(*order)[0]],
		 ksalloc_dmabuf_ref_names[(*order)[1]],
		 ksalloc_dmabuf_ref_names[(*order)[2]]);
}

KUNIT_ARRAY_PARAM(ksalloc_dmabuf_order, ksalloc_dmabuf_orders, ksalloc_dmabuf_order_desc);

/*
 * An importer maps the frame, page by page the frame's own pages, reads
 * through vmap what user space wrote through its mapping, writes between
 * begin and end_cpu_access what user space then reads; FREE_FRAME refuses
 * the frame while it is exported. Then the allocator's descriptor, user
 * space's mapping and the dma-buf go, in the parameter's order: whatever
 * is left works until it goes (KASAN, kmemleak and the guest's rmmod of
 * ksalloc judge the rest).
 */
static void ksalloc_dmabuf_import(struct kunit *test)
{
	const u8 *order = *(const u8 (*)[KSALLOC_REFS])test->param_value;
	struct ksalloc_dmabuf_test t;
	struct dma_buf_attachment *at;
	struct sg_dma_page_iter dit;
	bool file = true, mapping = true, dmabuf = true, freed = false;
	struct iosys_map map;
	struct sg_table *sgt;
	unsigned int k, i;
	u64 off = 0;
	u8 *vaddr;
	struct device *dev;

	ksalloc_dmabuf_test_export(test, &t);
	dev = ksalloc_test_dma_dev(test, "importer", 0);
	at = dma_buf_attach(t.dmabuf, dev);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, at);
	sgt = dma_buf_map_attachment_unlocked(at, DMA_BIDIRECTIONAL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_ASSERT_EQ(test, 0, dma_buf_vmap_unlocked(t.dmabuf, &map));
	vaddr = map.vaddr;

	/* The vmap is the frame user space holds, at its place in the mapping. */
	KUNIT_EXPECT_EQ(test, 0, ksalloc_frame_offset(t.file, vaddr, &off));
	KUNIT_EXPECT_EQ(test, off, t.offset);
	/* The table is the frame's pages, in order, and nothing else. */
	k = 0;
	for_each_sgtable_dma_page(sgt, &dit, 0) {
		if (k < KSALLOC_DMABUF_PAGES)
			KUNIT_EXPECT_EQ_MSG(test, (u64)sg_page_iter_dma_address(&dit),
					    (u64)page_to_phys(vmalloc_to_page(vaddr +
									      k * PAGE_SIZE)),
					    "page %u", k);
		k++;
	}
	KUNIT_EXPECT_EQ(test, k, KSALLOC_DMABUF_PAGES);
	/* vmap reads what user space wrote. */
	for (k = 0; k < KSALLOC_DMABUF_PAGES; k++)
		KUNIT_EXPECT_NULL_MSG(test, memchr_inv(vaddr + k * PAGE_SIZE,
						       ksalloc_dmabuf_pattern(k),
						       PAGE_SIZE),
				      "page %u", k);
	/* User space reads what the importer wrote. */
	KUNIT_ASSERT_EQ(test, 0, dma_buf_begin_cpu_access(t.dmabuf, DMA_BIDIRECTIONAL));
	memset(vaddr, 0xa5, KSALLOC_DMABUF_SIZE);
	KUNIT_ASSERT_EQ(test, 0, dma_buf_end_cpu_access(t.dmabuf, DMA_BIDIRECTIONAL));
	ksalloc_dmabuf_expect_user(test, &t, 0xa5);
	KUNIT_EXPECT_EQ(test, -EBUSY, ksalloc_dmabuf_test_free(&t));

	/* The importer is done with the frame; the dma-buf stays. */
	dma_buf_vunmap_unlocked(t.dmabuf, &map);
	dma_buf_unmap_attachment_unlocked(at, sgt, DMA_BIDIRECTIONAL);
	dma_buf_detach(t.dmabuf, at);

	for (i = 0; i < KSALLOC_REFS; i++) {
		switch (order[i]) {
		case KSALLOC_REF_FILE:
			kunit_release_action(test, ksalloc_test_fput, t.file);
			file = false;
			break;
		case KSALLOC_REF_MAPPING:
			KUNIT_ASSERT_EQ(test, 0, vm_munmap(t.user, KSALLOC_DMABUF_FRAMES *
							   KSALLOC_DMABUF_STRIDE));
			mapping = false;
			break;
		case KSALLOC_REF_DMABUF:
			kunit_release_action(test, ksalloc_test_dma_buf_put, t.dmabuf);
			dmabuf = false;
			/* The export is gone: user space may free the frame. */
			if (file) {
				KUNIT_EXPECT_EQ(test, 0, ksalloc_dmabuf_test_free(&t));
				KUNIT_EXPECT_EQ(test, -ENOENT, ksalloc_dmabuf_test_free(&t));
				freed = true;
			}
			break;
		}
		/* What is left still works: the memory lives (a free frame may be poisoned). */
		if (mapping && !freed)
			ksalloc_dmabuf_expect_user(test, &t, 0xa5);
		if (dmabuf)
			ksalloc_dmabuf_expect_vmap(test, &t, 0xa5);
		if (file && dmabuf)
			KUNIT_EXPECT_EQ(test, -EBUSY, ksalloc_dmabuf_test_free(&t));
	}
	ksalloc_test_expect_no_dma_api_report(test, &t);
}

/* Maximum segment sizes of an importer: 0 for the DMA API's default, 64 KiB. */
static const unsigned int ksalloc_dmabuf_max_segs[] = {
	PAGE_SIZE / 2, PAGE_SIZE, 2 * PAGE_SIZE, 0, SZ_1M,
};

static void ksalloc_dmabuf_max_seg_desc(const unsigned int *max_seg, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "max_seg_%u", *max_seg ?: SZ_64K);
}

KUNIT_ARRAY_PARAM(ksalloc_dmabuf_max_seg, ksalloc_dmabuf_max_segs, ksalloc_dmabuf_max_seg_desc);

/*
 * An importer's table has no segment longer than its device's maximum
 * segment size (dma_get_max_seg_size()), and no more segments than that
 * needs: physically contiguous pages of the frame share a segment up to
 * that size. A device that cannot take a page in one segment cannot
 * attach (-EINVAL). The case knows where the pages are (the frame's vmalloc
 * pages) and counts the segments to expect; the vmalloc area's pages are
 * contiguous in runs of a few pages to many, so a table that ignores the
 * limit has longer segments (and dma-debug reports them).
 */
static void ksalloc_dmabuf_attach_max_segment(struct kunit *test)
{
	unsigned int max_seg = *(const unsigned int *)test->param_value;
	unsigned int limit = max_seg ?: SZ_64K, segs = 0, expected = 0;
	unsigned int contiguous = 0, longest = 0, k, i;
	struct ksalloc_dmabuf_test t;
	struct dma_buf_attachment *at;
	phys_addr_t prev = 0, phys;
	struct scatterlist *sg;
	struct iosys_map map;
	struct sg_table *sgt;
	size_t seg_len = 0, total = 0;
	struct device *dev;

	ksalloc_dmabuf_test_export(test, &t);
	dev = ksalloc_test_dma_dev(test, "importer", max_seg);
	at = dma_buf_attach(t.dmabuf, dev);
	if (limit < PAGE_SIZE) {
		KUNIT_EXPECT_EQ(test, PTR_ERR(at), -EINVAL);
		if (!IS_ERR(at))
			dma_buf_detach(t.dmabuf, at);
		return;
	}
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, at);
	sgt = dma_buf_map_attachment_unlocked(at, DMA_TO_DEVICE);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_ASSERT_EQ(test, 0, dma_buf_vmap_unlocked(t.dmabuf, &map));

	/* The segments a table of greedy merges up to the limit has. */
	for (k = 0; k < KSALLOC_DMABUF_PAGES; k++) {
		phys = page_to_phys(vmalloc_to_page(map.vaddr + k * PAGE_SIZE));
		if (k && phys == prev + PAGE_SIZE) {
			contiguous++;
			if (seg_len + PAGE_SIZE <= limit) {
				seg_len += PAGE_SIZE;
				prev = phys;
				continue;
			}
		}
		expected++;
		seg_len = PAGE_SIZE;
		prev = phys;
	}
	dma_buf_vunmap_unlocked(t.dmabuf, &map);

	for_each_sgtable_dma_sg(sgt, sg, i) {
		KUNIT_EXPECT_LE_MSG(test, sg_dma_len(sg), limit, "segment %u", i);
		longest = max(longest, sg_dma_len(sg));
		total += sg_dma_len(sg);
		segs++;
	}
	kunit_info(test, "%u pages, %u of them contiguous with the one before: %u segments, the longest %u bytes\n",
		   KSALLOC_DMABUF_PAGES, contiguous, segs, longest);
	KUNIT_EXPECT_EQ(test, total, KSALLOC_DMABUF_STRIDE);
	KUNIT_EXPECT_EQ(test, segs, expected);

	dma_buf_unmap_attachment_unlocked(at, sgt, DMA_TO_DEVICE);
	dma_buf_detach(t.dmabuf, at);
	ksalloc_test_expect_no_dma_api_report(test, &t);
}

static const enum dma_data_direction ksalloc_dmabuf_dirs[] = {
	DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_BIDIRECTIONAL,
};

static const char * const ksalloc_dmabuf_dir_names[] = {
	[DMA_BIDIRECTIONAL] = "bidirectional",
	[DMA_TO_DEVICE] = "to_device",
	[DMA_FROM_DEVICE] = "from_device",
};

static void ksalloc_dmabuf_dir_desc(const enum dma_data_direction *dir, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "mapped_%s", ksalloc_dmabuf_dir_names[*dir]);
}

KUNIT_ARRAY_PARAM(ksalloc_dmabuf_dir, ksalloc_dmabuf_dirs, ksalloc_dmabuf_dir_desc);

/*
 * begin/end_cpu_access sync each mapped attachment in the direction it was
 * mapped with, whatever the direction of the CPU's access: the DMA API
 * wants a mapping synced in its own direction (dma-debug reports any
 * other). Two importers: one mapped in the parameter's direction, one
 * DMA_TO_DEVICE; the CPU accesses the frame in each direction.
 */
static void ksalloc_dmabuf_cpu_access_mapped_direction(struct kunit *test)
{
	enum dma_data_direction dir = *(const enum dma_data_direction *)test->param_value;
	struct dma_buf_attachment *at[2];
	struct ksalloc_dmabuf_test t;
	struct sg_table *sgt[2];
	struct device *dev[2];
	unsigned int i;

	ksalloc_dmabuf_test_export(test, &t);
	if (t.dma_api_errors < 0)
		kunit_skip(test, "no CONFIG_DMA_API_DEBUG: no report of a wrong sync");
	for (i = 0; i < 2; i++) {
		dev[i] = ksalloc_test_dma_dev(test, i ? "importer1" : "importer0", 0);
		at[i] = dma_buf_attach(t.dmabuf, dev[i]);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, at[i]);
		sgt[i] = dma_buf_map_attachment_unlocked(at[i], i ? DMA_TO_DEVICE : dir);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt[i]);
	}
	for (i = 0; i < ARRAY_SIZE(ksalloc_dmabuf_dirs); i++) {
		KUNIT_EXPECT_EQ(test, 0, dma_buf_begin_cpu_access(t.dmabuf,
								  ksalloc_dmabuf_dirs[i]));
		KUNIT_EXPECT_EQ(test, 0, dma_buf_end_cpu_access(t.dmabuf,
								ksalloc_dmabuf_dirs[i]));
	}
	for (i = 0; i < 2; i++) {
		dma_buf_unmap_attachment_unlocked(at[i], sgt[i], i ? DMA_TO_DEVICE : dir);
		dma_buf_detach(t.dmabuf, at[i]);
	}
	ksalloc_test_expect_no_dma_api_report(test, &t);
}

static void ksalloc_dmabuf_test_detach(void *dma)
{
	ksalloc_dma_detach(dma);
}

/*
 * A frame mapped for a device attached to the allocator (dma.c) and, through
 * its export, for an importer: both may write it. DMA-API debugging refuses
 * overlapping mappings a device may write that sync themselves; neither
 * does (the export syncs after mapping and before unmapping): no report.
 */
static void ksalloc_dmabuf_import_attached_frame(struct kunit *test)
{
	struct ksalloc_dmabuf_test t;
	struct dma_buf_attachment *at;
	struct ksalloc_dma *dma;
	struct sg_table *sgt;
	struct device *dev;

	ksalloc_dmabuf_test_export(test, &t);
	if (t.dma_api_errors < 0)
		kunit_skip(test, "no CONFIG_DMA_API_DEBUG: no report of overlapping mappings");
	dev = ksalloc_test_dma_dev(test, "capture", 0);
	dma = ksalloc_dma_attach(t.file, dev, DMA_FROM_DEVICE);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dma);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, ksalloc_dmabuf_test_detach,
							   dma));

	dev = ksalloc_test_dma_dev(test, "importer", 0);
	at = dma_buf_attach(t.dmabuf, dev);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, at);
	sgt = dma_buf_map_attachment_unlocked(at, DMA_BIDIRECTIONAL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, 0, dma_buf_begin_cpu_access(t.dmabuf, DMA_FROM_DEVICE));
	KUNIT_EXPECT_EQ(test, 0, dma_buf_end_cpu_access(t.dmabuf, DMA_FROM_DEVICE));
	dma_buf_unmap_attachment_unlocked(at, sgt, DMA_BIDIRECTIONAL);
	dma_buf_detach(t.dmabuf, at);
	ksalloc_test_expect_no_dma_api_report(test, &t);
}

static struct kunit_case ksalloc_dmabuf_test_cases[] = {
	KUNIT_CASE_PARAM(ksalloc_dmabuf_import, ksalloc_dmabuf_order_gen_params),
	KUNIT_CASE_PARAM(ksalloc_dmabuf_attach_max_segment, ksalloc_dmabuf_max_seg_gen_params),
	KUNIT_CASE_PARAM(ksalloc_dmabuf_cpu_access_mapped_direction,
			 ksalloc_dmabuf_dir_gen_params),
	KUNIT_CASE(ksalloc_dmabuf_import_attached_frame),
	{}
};

static struct kunit_suite ksalloc_dmabuf_test_suite = {
	.name = "ksalloc_dmabuf",
	.test_cases = ksalloc_dmabuf_test_cases,
};

kunit_test_suite(ksalloc_dmabuf_test_suite);
