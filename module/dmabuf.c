// SPDX-License-Identifier: GPL-2.0
/*
 * A frame as a dma-buf: KSALLOC_IOC_EXPORT_FRAME makes one of a frame of a
 * page-backed pool that user space holds, for other drivers to import
 * (V4L2_MEMORY_DMABUF, DRM PRIME, ...) and for user space to mmap().
 *
 * The frame stays user space's: it is still held by its handle, and
 * FREE_FRAME refuses it (-EBUSY) while any export of it lives (the count is
 * @pool.exports, under the allocator's lock). The dma-buf holds the
 * allocator's file, so the allocator (and the frame, still held) lives until
 * the last dma-buf reference goes, whatever closes first; it also holds the
 * pool's memory (struct ksalloc_mem), as a mapping does.
 *
 * The operations are those of videobuf2-vmalloc's and the system heap's
 * exporters: an sg_table of the frame's pages per attachment, its segments
 * no longer than the device's dma_get_max_seg_size() and a page each for a
 * device with segment boundaries (ksalloc_dma_max_segment()), mapped for
 * its device by map_dma_buf and synced for the CPU and back by
 * begin/end_cpu_access in the direction it was mapped in, whatever the
 * CPU's access (the DMA API syncs a mapping in its own direction, as
 * videobuf2-dma-sg does); vmap
 * gives the frame's address in the pool's vmalloc area, which is
 * permanent; mmap maps the frame's pages with vm_map_pages(), MAP_SHARED
 * only and never executable, as mmap() of the allocator does. The pages are
 * order-0: an importer that needs contiguous DMA memory
 * (videobuf2-dma-contig) refuses a frame its device cannot map as one
 * range.
 *
 * Context: every entry point runs in process context.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/iosys-map.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "ksalloc_priv.h"

MODULE_IMPORT_NS(DMA_BUF);

/**
 * struct ksalloc_export - a frame exported as a dma-buf
 * @file: the allocator's file, held.
 * @mem: the pool's memory, held.
 * @handle: the frame's user-space handle.
 * @vaddr: the frame, in @mem's vmalloc area.
 * @pages: the frame's pages, in @mem.
 * @nr_pages: the number of @pages.
 * @lock: protects @attachments.
 * @attachments: the attachments (struct ksalloc_attachment).
 */
struct ksalloc_export {
	struct file *file;
	struct ksalloc_mem *mem;
	u32 handle;
	void *vaddr;
	struct page **pages;
	unsigned int nr_pages;
	struct mutex lock;	/* protects @attachments */
	struct list_head attachments;
};

/**
 * struct ksalloc_attachment - an importing device's view of the frame
 * @node: in &ksalloc_export.attachments.
 * @dev: the device.
 * @sgt: the frame's pages.
 * @mapped: @sgt is mapped for @dev (between map_dma_buf and unmap_dma_buf).
 * @dir: the direction @sgt is mapped in, while @mapped.
 *
 * @mapped and @dir are protected by &ksalloc_export.lock.
 */
struct ksalloc_attachment {
	struct list_head node;
	struct device *dev;
	struct sg_table sgt;
	bool mapped;
	enum dma_data_direction dir;
};

static int ksalloc_dmabuf_attach(struct dma_buf *dmabuf,
				 struct dma_buf_attachment *attachment)
{
	struct ksalloc_export *e = dmabuf->priv;
	unsigned int max_segment = ksalloc_dma_max_segment(attachment->dev);
	struct ksalloc_attachment *at;
	int err;

	/* A segment is whole pages: no page is split between two. */
	if (!max_segment)
		return -EINVAL;
	at = kzalloc(sizeof(*at), GFP_KERNEL);
	if (!at)
		return -ENOMEM;
	err = sg_alloc_table_from_pages_segment(&at->sgt, e->pages, e->nr_pages, 0,
						(size_t)e->nr_pages << PAGE_SHIFT,
						max_segment, GFP_KERNEL);
	if (err) {
		kfree(at);
		return err;
	}
	at->dev = attachment->dev;
	attachment->priv = at;
	mutex_lock(&e->lock);
	list_add(&at->node, &e->attachments);
	mutex_unlock(&e->lock);
	return 0;
}

static void ksalloc_dmabuf_detach(struct dma_buf *dmabuf,
				  struct dma_buf_attachment *attachment)
{
	struct ksalloc_export *e = dmabuf->priv;
	struct ksalloc_attachment *at = attachment->priv;

	mutex_lock(&e->lock);
	list_del(&at->node);
	mutex_unlock(&e->lock);
	sg_free_table(&at->sgt);
	kfree(at);
}

static struct sg_table *
ksalloc_dmabuf_map(struct dma_buf_attachment *attachment,
		   enum dma_data_direction dir)
{
	struct ksalloc_export *e = attachment->dmabuf->priv;
	struct ksalloc_attachment *at = attachment->priv;
	int err;

	/*
	 * Synced here rather than by the mapping: DMA-API debugging refuses
	 * overlapping mappings the device may write only when they sync
	 * themselves, and a frame may also be mapped for a device attached
	 * to the allocator (dma.c), which maps without syncing.
	 */
	err = dma_map_sgtable(at->dev, &at->sgt, dir, DMA_ATTR_SKIP_CPU_SYNC);
	if (err)
		return ERR_PTR(err);
	dma_sync_sgtable_for_device(at->dev, &at->sgt, dir);
	/* begin/end_cpu_access sync it from now on, in @dir. */
	mutex_lock(&e->lock);
	at->mapped = true;
	at->dir = dir;
	mutex_unlock(&e->lock);
	return &at->sgt;
}

static void ksalloc_dmabuf_unmap(struct dma_buf_attachment *attachment,
				 struct sg_table *sgt,
				 enum dma_data_direction dir)
{
	struct ksalloc_export *e = attachment->dmabuf->priv;
	struct ksalloc_attachment *at = attachment->priv;

	mutex_lock(&e->lock);
	at->mapped = false;
	mutex_unlock(&e->lock);
	/* As ksalloc_dmabuf_map(): the sync the unmapping skips. */
	dma_sync_sgtable_for_cpu(at->dev, sgt, dir);
	dma_unmap_sgtable(at->dev, sgt, dir, DMA_ATTR_SKIP_CPU_SYNC);
}

/*
 * Each mapping is synced in the direction it was mapped in, whatever @dir,
 * the CPU's: the DMA API wants a mapping synced in its own direction
 * (DMA-API debugging reports any other).
 */
static int ksalloc_dmabuf_begin_cpu(struct dma_buf *dmabuf,
				    enum dma_data_direction dir)
{
	struct ksalloc_export *e = dmabuf->priv;
	struct ksalloc_attachment *at;

	mutex_lock(&e->lock);
	/* The vmalloc alias is always there: vmap hands it out. */
	invalidate_kernel_vmap_range(e->vaddr, (int)e->nr_pages << PAGE_SHIFT);
	list_for_each_entry(at, &e->attachments, node)
		if (at->mapped)
			dma_sync_sgtable_for_cpu(at->dev, &at->sgt, at->dir);
	mutex_unlock(&e->lock);
	return 0;
}

/* As ksalloc_dmabuf_begin_cpu(): each mapping in its own direction. */
static int ksalloc_dmabuf_end_cpu(struct dma_buf *dmabuf,
				  enum dma_data_direction dir)
{
	struct ksalloc_export *e = dmabuf->priv;
	struct ksalloc_attachment *at;

	mutex_lock(&e->lock);
	flush_kernel_vmap_range(e->vaddr, (int)e->nr_pages << PAGE_SHIFT);
	list_for_each_entry(at, &e->attachments, node)
		if (at->mapped)
			dma_sync_sgtable_for_device(at->dev, &at->sgt, at->dir);
	mutex_unlock(&e->lock);
	return 0;
}

/* The dma-buf core checked that the range is within the frame. */
static int ksalloc_dmabuf_mmap(struct dma_buf *dmabuf,
			       struct vm_area_struct *vma)
{
	struct ksalloc_export *e = dmabuf->priv;

	/* MAP_SHARED of a read-only dma-buf: VM_MAYSHARE without VM_SHARED. */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	ksalloc_vm_flags_mod(vma, VM_DONTEXPAND | VM_DONTDUMP, VM_MAYEXEC);
	/* The vma holds the dma-buf's file, which holds the memory. */
	return vm_map_pages(vma, e->pages, e->nr_pages);
}

/* The frame has a kernel address for as long as the dma-buf lives. */
static int ksalloc_dmabuf_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct ksalloc_export *e = dmabuf->priv;

	iosys_map_set_vaddr(map, e->vaddr);
	return 0;
}

static void ksalloc_dmabuf_vunmap(struct dma_buf *dmabuf,
				  struct iosys_map *map)
{
	iosys_map_clear(map);
}

/* Ends an export of the frame of @handle: FREE_FRAME may take it back. */
static void ksalloc_unexport(struct ksalloc *a, u32 handle)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&a->lock, flags);
	WARN_ON_ONCE(!a->pool.exports[handle - 1]--);
	raw_spin_unlock_irqrestore(&a->lock, flags);
}

static void ksalloc_dmabuf_release(struct dma_buf *dmabuf)
{
	struct ksalloc_export *e = dmabuf->priv;

	WARN_ON_ONCE(!list_empty(&e->attachments));
	ksalloc_unexport(e->file->private_data, e->handle);
	ksalloc_mem_put(e->mem);
	/* Last: it may release the allocator. */
	fput(e->file);
	mutex_destroy(&e->lock);
	kfree(e);
}

static const struct dma_buf_ops ksalloc_dmabuf_ops = {
	.attach			= ksalloc_dmabuf_attach,
	.detach			= ksalloc_dmabuf_detach,
	.map_dma_buf		= ksalloc_dmabuf_map,
	.unmap_dma_buf		= ksalloc_dmabuf_unmap,
	.begin_cpu_access	= ksalloc_dmabuf_begin_cpu,
	.end_cpu_access		= ksalloc_dmabuf_end_cpu,
	.mmap			= ksalloc_dmabuf_mmap,
	.vmap			= ksalloc_dmabuf_vmap,
	.vunmap			= ksalloc_dmabuf_vunmap,
	.release		= ksalloc_dmabuf_release,
};

/*
 * Counts an export of the frame of @handle, which user space must hold;
 * sets @slot to its slot. Returns 0 or -errno, as KSALLOC_IOC_EXPORT_FRAME.
 */
static int ksalloc_export_hold(struct ksalloc *a, u64 handle, long *slot)
{
	unsigned long flags, entry;
	int err = 0;

	raw_spin_lock_irqsave(&a->lock, flags);
	if (!a->ready) {
		err = -EBADFD;
	} else if (!a->pool.mem) {
		err = -ENODEV;
	} else if (!handle || handle > a->framing.frames) {
		err = -EINVAL;
	} else {
		*slot = a->pool.slot_of_handle[handle - 1];
		entry = a->pool.table->entry[*slot];
		if ((entry & KSALLOC_ENTRY_FLAGS) !=
		    (KSALLOC_ENTRY_ALLOCATED | KSALLOC_ENTRY_USER))
			err = -ENOENT;
		else if (a->pool.exports[handle - 1] == U32_MAX)
			err = -EMFILE;
		else
			a->pool.exports[handle - 1]++;
	}
	raw_spin_unlock_irqrestore(&a->lock, flags);
	return err;
}

/*
 * Exports the frame of @handle, which user space holds: see
 * ksalloc_ioctl_export_frame(). Returns the dma-buf or an ERR_PTR().
 */
static struct dma_buf *ksalloc_export_frame(struct file *file, u64 handle,
					    u32 flags)
{
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct ksalloc *a = file->private_data;
	struct ksalloc_export *e;
	struct dma_buf *dmabuf;
	pgoff_t first;
	long slot;
	int err;

	/* The arguments first: a bad handle is refused as such, memory or not. */
	err = ksalloc_export_hold(a, handle, &slot);
	if (err)
		return ERR_PTR(err);
	e = kzalloc(sizeof(*e), GFP_KERNEL_ACCOUNT);
	if (!e) {
		err = -ENOMEM;
		goto err_unexport;
	}

	/* Held and exported: the pool is set, and constant. */
	e->handle = handle;
	e->mem = a->pool.mem;
	e->vaddr = ksalloc_entry_frame(READ_ONCE(a->pool.table->entry[slot]));
	first = (e->vaddr - e->mem->base) >> PAGE_SHIFT;
	e->pages = &e->mem->pages[first];
	e->nr_pages = a->pool.stride >> PAGE_SHIFT;
	mutex_init(&e->lock);
	INIT_LIST_HEAD(&e->attachments);

	info.exp_name = KBUILD_MODNAME;
	info.owner = THIS_MODULE;
	info.ops = &ksalloc_dmabuf_ops;
	info.size = a->pool.stride;
	info.flags = flags & O_RDWR;
	info.priv = e;
	dmabuf = dma_buf_export(&info);
	if (IS_ERR(dmabuf)) {
		err = PTR_ERR(dmabuf);
		goto err_free;
	}
	/* Dropped by ksalloc_dmabuf_release() from now on. */
	kref_get(&e->mem->ref);
	e->file = get_file(file);
	return dmabuf;

err_free:
	mutex_destroy(&e->lock);
	kfree(e);
err_unexport:
	ksalloc_unexport(a, handle);
	return ERR_PTR(err);
}

/**
 * ksalloc_ioctl_export_frame() - KSALLOC_IOC_EXPORT_FRAME
 * @file: the allocator's file.
 * @uarg: a struct ksalloc_export_frame: the handle of a frame user space
 *	holds and the flags in, the dma-buf's file descriptor out.
 *
 * Context: Process context. May sleep.
 * Return: 0, or the first of these that applies, in this order (as
 * Documentation/userspace-api/ksalloc.rst lists them): -EFAULT; -EINVAL for
 * an unknown flag; -EBADF for O_RDWR on a file not open for writing;
 * -EBADFD before the framing is set; -ENODEV if the pool is not
 * page-backed; -EINVAL for a handle out of range; -ENOENT if user space
 * does not hold the frame; -EMFILE if it has U32_MAX live exports; -ENOMEM;
 * -ENFILE (or -ENOMEM) from the dma-buf's file; -EMFILE if no descriptor
 * is free; -EFAULT if its number cannot be written back. Nothing is
 * exported unless it returns 0.
 */
long ksalloc_ioctl_export_frame(struct file *file,
				struct ksalloc_export_frame __user *uarg)
{
	struct ksalloc_export_frame x;
	struct dma_buf *dmabuf;
	int fd;

	if (copy_from_user(&x, uarg, sizeof(x)))
		return -EFAULT;
	if (x.flags & ~(O_CLOEXEC | O_RDWR))
		return -EINVAL;
	/* Writable only from a writable file, as its own mmap() is. */
	if ((x.flags & O_RDWR) && !(file->f_mode & FMODE_WRITE))
		return -EBADF;
	dmabuf = ksalloc_export_frame(file, x.handle, x.flags);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	/* The descriptor is installed only once the caller has its number. */
	fd = get_unused_fd_flags(x.flags & O_CLOEXEC);
	if (fd < 0) {
		dma_buf_put(dmabuf);
		return fd;
	}
	x.fd = fd;
	if (copy_to_user(uarg, &x, sizeof(x))) {
		put_unused_fd(fd);
		dma_buf_put(dmabuf);
		return -EFAULT;
	}
	fd_install(fd, dmabuf->file);
	return 0;
}
