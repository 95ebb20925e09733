// SPDX-License-Identifier: GPL-2.0
/*
 * ksalloc_vivid_test - an importer no one here wrote: vivid captures into
 * ksalloc frames exported as dma-bufs (V4L2_MEMORY_DMABUF).
 *
 * The kernel's virtual video driver vivid (Documentation/admin-guide/media/
 * vivid.rst) is loaded with one video capture node, once per memory
 * back-end (module parameter allocators): 0, vmalloc, imports a dma-buf by
 * vmap (dma_buf_vmap()); 1, dma-contig, by attach and map_dma_buf, and
 * needs the buffer in one DMA-contiguous range, which a page-backed frame
 * (order-0 pages) is only by chance. The frames are ALLOC_FRAME2'd from a
 * ksalloc pool, prefilled through ksalloc's mapping, exported with
 * KSALLOC_IOC_EXPORT_FRAME and queued; vivid draws its test pattern, a
 * solid colour (the "100% Red" pattern, then "100% Green", without OSD
 * text), into them. Each dequeued frame is read through ksalloc's own
 * mapping: every YUYV macro-pixel the same, of the colour asked, and the
 * bytes past sizeimage untouched. Then the allocator's and the dma-bufs'
 * descriptors are closed and vivid goes on capturing into the frames it
 * still holds.
 *
 * With dma-contig the outcome depends on the frame's pages, which the test
 * reads from /proc/self/pagemap (it runs as root): a physically contiguous
 * frame must be queued, and captured into as with vmalloc (vivid streams
 * with those alone), any other must be refused at VIDIOC_QBUF with EFAULT
 * (videobuf2-dma-contig's "contiguous chunk is too small"), and nothing is
 * kept of it: FREE_FRAME takes it back once its dma-buf is closed.
 *
 * The guest puts vivid and its dependencies in /lib/media, one name a line
 * in /lib/media/order in load order (scripts/media-modules.sh); the test
 * loads them, and vivid, itself. Without them (a kernel without vivid) it
 * skips.
 *
 * Build, as a 64-bit and as a 32-bit (-m32) program: see tools/Makefile.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/ksalloc.h>
#include <linux/videodev2.h>

#include "ksalloc_test_util.h"

/* See ksalloc_test.c: these warnings are about the 6.12 harness. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wclobbered"
#include "kselftest_harness.h"

#define MEDIA_DIR	"/lib/media"
#define NBUF		4U
/* vivid's own controls (drivers/media/test-drivers/vivid/vivid-ctrls.c). */
#define VIVID_CID_VIVID_BASE		(0x00f00000 | 0xf000)
#define VIVID_CID_TEST_PATTERN		(VIVID_CID_VIVID_BASE + 0)
#define VIVID_CID_OSD_TEXT_MODE		(VIVID_CID_VIVID_BASE + 1)
#define VIVID_CID_SHOW_BORDER		(VIVID_CID_VIVID_BASE + 4)
#define VIVID_CID_SHOW_SQUARE		(VIVID_CID_VIVID_BASE + 5)
/* The filler of the frames before capture, and of their tails. */
#define FILL		0xa5

static int xioctl(int fd, unsigned long cmd, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, cmd, arg);
	} while (ret && errno == EINTR);
	return ret ? -errno : 0;
}

/* Runs a shell command; its exit status, or -1. */
static int run(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

static bool module_loaded(const char *name)
{
	char path[128], *c;
	struct stat s;

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	for (c = path; *c; c++)
		if (*c == '-')
			*c = '_';
	return !stat(path, &s);
}

/*
 * Loads vivid's dependencies (those not loaded yet) and vivid with
 * @params; 0, or -1 with what failed in @why.
 */
static int load_vivid(const char *params, char *why, size_t len)
{
	char name[64];
	FILE *f = fopen(MEDIA_DIR "/order", "r");
	int ret = 0;

	if (!f) {
		snprintf(why, len, "cannot open %s/order: %s", MEDIA_DIR, strerror(errno));
		return -1;
	}
	while (!ret && fscanf(f, "%63s", name) == 1) {
		bool vivid = !strcmp(name, "vivid");

		if (!vivid && module_loaded(name))
			continue;
		if (run("insmod %s/%s.ko %s", MEDIA_DIR, name, vivid ? params : "")) {
			snprintf(why, len, "insmod %s.ko %s failed", name, vivid ? params : "");
			ret = -1;
		}
	}
	fclose(f);
	return ret;
}

/* The capture node of vivid, opened; or -1. */
static int open_vivid_capture(void)
{
	struct v4l2_capability cap;
	char path[300];
	struct dirent *d;
	DIR *dir = opendir("/dev");
	int fd = -1;

	while (dir && fd < 0 && (d = readdir(dir))) {
		if (strncmp(d->d_name, "video", 5))
			continue;
		snprintf(path, sizeof(path), "/dev/%s", d->d_name);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(&cap, 0, sizeof(cap));
		if (xioctl(fd, VIDIOC_QUERYCAP, &cap) || strcmp((char *)cap.driver, "vivid") ||
		    !(cap.device_caps & V4L2_CAP_VIDEO_CAPTURE) ||
		    !(cap.device_caps & V4L2_CAP_STREAMING)) {
			close(fd);
			fd = -1;
		}
	}
	if (dir)
		closedir(dir);
	return fd;
}

/* The index of the item called @name of menu control @id; or -1. */
static int menu_index(int fd, __u32 id, const char *name)
{
	struct v4l2_queryctrl qc = { .id = id };
	struct v4l2_querymenu qm;
	int i;

	if (xioctl(fd, VIDIOC_QUERYCTRL, &qc))
		return -1;
	for (i = qc.minimum; i <= qc.maximum; i++) {
		memset(&qm, 0, sizeof(qm));
		qm.id = id;
		qm.index = i;
		if (!xioctl(fd, VIDIOC_QUERYMENU, &qm) && !strcmp((char *)qm.name, name))
			return i;
	}
	return -1;
}

static int set_ctrl(int fd, __u32 id, __s32 value)
{
	struct v4l2_control c = { .id = id, .value = value };

	return xioctl(fd, VIDIOC_S_CTRL, &c);
}

/* Are the pages of [@p, @p + @len) one physically contiguous range? */
static int phys_contiguous(const void *p, size_t len, bool *contig)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), i;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint64_t e, first = 0;
	int ret = 0;

	if (fd < 0)
		return -errno;
	*contig = true;
	for (i = 0; i < len / page; i++) {
		off_t off = (off_t)((uintptr_t)p / page + i) * 8;

		if (pread(fd, &e, 8, off) != 8) {
			ret = -EIO;
			break;
		}
		/* Present, and a PFN shown (root): bits 0-54. */
		if (!(e >> 63) || !(e & ((1ULL << 55) - 1))) {
			ret = -EPERM;
			break;
		}
		e &= (1ULL << 55) - 1;
		if (!i)
			first = e;
		else if (e != first + i)
			*contig = false;
	}
	close(fd);
	return ret;
}

/* The fixture's state, which the helpers take. */
struct vivid_state {
	int vfd;
	int kfd;
	int dfd[NBUF];
	unsigned char *map;
	size_t size, stride;
	__u32 sizeimage;
	struct ksalloc_mapped_frame m[NBUF];
	bool contig[NBUF];
	bool loaded;
};

FIXTURE(vivid) {
	struct vivid_state s;
};

FIXTURE_VARIANT(vivid) {
	unsigned int allocators;
};

FIXTURE_VARIANT_ADD(vivid, vmalloc) {
	.allocators = 0,
};

FIXTURE_VARIANT_ADD(vivid, dma_contig) {
	.allocators = 1,
};

FIXTURE_SETUP(vivid)
{
	struct vivid_state *st = &self->s;
	struct v4l2_format fmt = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	struct ksalloc_framing f = { .pool_type = KSALLOC_POOL_ATOMIC, .frames = NBUF };
	struct v4l2_requestbuffers rb = {
		.count = NBUF,
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_DMABUF,
	};
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	char params[64], why[256];
	struct stat s;
	unsigned int i;
	void *p;

	st->vfd = -1;
	st->kfd = -1;
	st->map = NULL;
	for (i = 0; i < NBUF; i++)
		st->dfd[i] = -1;
	if (stat(MEDIA_DIR "/order", &s))
		SKIP(return, "no vivid: %s/order missing (a kernel without vivid)", MEDIA_DIR);
	/* A leftover of a failed case: load with our parameters. */
	if (module_loaded("vivid"))
		ASSERT_EQ(0, run("rmmod vivid"));
	/* One instance with one node, video capture (node_types bit 0). */
	snprintf(params, sizeof(params), "n_devs=1 node_types=0x1 allocators=%u",
		 variant->allocators);
	ASSERT_EQ(0, load_vivid(params, why, sizeof(why))) TH_LOG("%s", why);
	st->loaded = true;
	st->vfd = open_vivid_capture();
	ASSERT_LE(0, st->vfd) TH_LOG("no vivid video capture node in /dev");

	fmt.fmt.pix.width = 640;
	fmt.fmt.pix.height = 480;
	fmt.fmt.pix.pixelformat = V4L2_PIX_FMT_YUYV;
	fmt.fmt.pix.field = V4L2_FIELD_NONE;
	ASSERT_EQ(0, xioctl(st->vfd, VIDIOC_S_FMT, &fmt));
	ASSERT_EQ(V4L2_PIX_FMT_YUYV, fmt.fmt.pix.pixelformat);
	ASSERT_EQ(fmt.fmt.pix.width * 2, fmt.fmt.pix.bytesperline);
	st->sizeimage = fmt.fmt.pix.sizeimage;
	TH_LOG("vivid allocators=%u: %ux%u YUYV, sizeimage %u", variant->allocators,
	       fmt.fmt.pix.width, fmt.fmt.pix.height, st->sizeimage);
	ASSERT_EQ(0, set_ctrl(st->vfd, VIVID_CID_OSD_TEXT_MODE,
			      menu_index(st->vfd, VIVID_CID_OSD_TEXT_MODE, "None")));
	ASSERT_EQ(0, set_ctrl(st->vfd, VIVID_CID_SHOW_BORDER, 0));
	ASSERT_EQ(0, set_ctrl(st->vfd, VIVID_CID_SHOW_SQUARE, 0));

	/* Frames larger than the image: a tail vivid must not write. */
	f.frame_size = st->sizeimage + 1000;
	st->stride = (f.frame_size + page - 1) / page * page;
	st->size = NBUF * st->stride;
	st->kfd = ksalloc_open_framed(&f, 0);
	ASSERT_LE(0, st->kfd);
	p = mmap(NULL, st->size, PROT_READ | PROT_WRITE, MAP_SHARED, st->kfd, 0);
	ASSERT_NE(MAP_FAILED, p);
	st->map = p;
	memset(st->map, FILL, st->size);
	for (i = 0; i < NBUF; i++) {
		struct ksalloc_export_frame x = { .flags = O_RDWR | O_CLOEXEC };

		ASSERT_EQ(0, ks_ioctl(st->kfd, KSALLOC_IOC_ALLOC_FRAME2, &st->m[i]));
		ASSERT_EQ(0, phys_contiguous(st->map + st->m[i].offset, st->stride,
					     &st->contig[i]));
		x.handle = st->m[i].handle;
		ASSERT_EQ(0, ks_ioctl(st->kfd, KSALLOC_IOC_EXPORT_FRAME, &x));
		st->dfd[i] = x.fd;
	}
	ASSERT_EQ(0, xioctl(st->vfd, VIDIOC_REQBUFS, &rb));
	ASSERT_EQ(NBUF, rb.count);
}

FIXTURE_TEARDOWN(vivid)
{
	struct vivid_state *st = &self->s;
	struct v4l2_requestbuffers rb = {
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_DMABUF,
	};
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	unsigned int i;

	if (st->vfd >= 0) {
		xioctl(st->vfd, VIDIOC_STREAMOFF, &type);
		xioctl(st->vfd, VIDIOC_REQBUFS, &rb);
		close(st->vfd);
	}
	for (i = 0; i < NBUF; i++)
		if (st->dfd[i] >= 0)
			close(st->dfd[i]);
	if (st->map)
		munmap(st->map, st->size);
	if (st->kfd >= 0)
		close(st->kfd);
	if (st->loaded && run("rmmod vivid"))
		TH_LOG("rmmod vivid failed");
}

static int qbuf(struct vivid_state *self, unsigned int i)
{
	struct v4l2_buffer b = {
		.index = i,
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_DMABUF,
		.length = self->stride,
	};

	b.m.fd = self->dfd[i];
	return xioctl(self->vfd, VIDIOC_QBUF, &b);
}

/* Dequeues a buffer within 10 s; 0 or -errno. */
static int dqbuf(struct vivid_state *self, struct v4l2_buffer *b)
{
	struct pollfd pfd = { .fd = self->vfd, .events = POLLIN };

	memset(b, 0, sizeof(*b));
	b->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	b->memory = V4L2_MEMORY_DMABUF;
	if (poll(&pfd, 1, 10000) != 1)
		return -ETIMEDOUT;
	return xioctl(self->vfd, VIDIOC_DQBUF, b);
}

/*
 * The frame holds one YUYV macro-pixel repeated over @sizeimage bytes,
 * with Y0 == Y1, and FILL after it; the macro-pixel is put in @px.
 */
static bool solid_frame(const unsigned char *fr, size_t sizeimage, size_t stride,
			__u32 *px, char *why, size_t len)
{
	size_t i;

	memcpy(px, fr, 4);
	if (fr[0] != fr[2]) {
		snprintf(why, len, "Y0 %u != Y1 %u", fr[0], fr[2]);
		return false;
	}
	for (i = 4; i + 4 <= sizeimage; i += 4)
		if (memcmp(fr + i, px, 4)) {
			snprintf(why, len, "byte %zu: %02x%02x%02x%02x, first %08x", i,
				 fr[i], fr[i + 1], fr[i + 2], fr[i + 3], *px);
			return false;
		}
	for (i = sizeimage; i < stride; i++)
		if (fr[i] != FILL) {
			snprintf(why, len, "tail byte %zu written: %02x", i, fr[i]);
			return false;
		}
	return true;
}

/*
 * Dequeues @n frames, checks each is one solid colour (its macro-pixel in
 * @px), refills it with FILL and queues it again.
 */
static void capture(struct __test_metadata *_metadata, struct vivid_state *self,
		    unsigned int n, __u32 *px)
{
	unsigned int k;

	for (k = 0; k < n; k++) {
		struct v4l2_buffer b;
		const unsigned char *fr;
		char why[128] = "";

		ASSERT_EQ(0, dqbuf(self, &b));
		ASSERT_GT(NBUF, b.index);
		EXPECT_EQ(0, b.flags & V4L2_BUF_FLAG_ERROR);
		EXPECT_EQ(self->sizeimage, b.bytesused);
		fr = self->map + self->m[b.index].offset;
		EXPECT_TRUE(solid_frame(fr, self->sizeimage, self->stride, px, why, sizeof(why)))
			TH_LOG("frame %u (buffer %u, sequence %u): %s", k, b.index,
			       b.sequence, why);
		/* Ready for the next colour's check to see it rewritten. */
		memset((void *)fr, FILL, self->sizeimage);
		ASSERT_EQ(0, qbuf(self, b.index));
	}
}

TEST_F(vivid, capture_into_exported_frames)
{
	struct vivid_state *st = &self->s;
	int red = menu_index(st->vfd, VIVID_CID_TEST_PATTERN, "100% Red");
	int green = menu_index(st->vfd, VIVID_CID_TEST_PATTERN, "100% Green");
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	__u32 px_red = 0, px_green = 0;
	unsigned int i, contig = 0, queued;
	int err;

	ASSERT_LE(0, red);
	ASSERT_LE(0, green);
	ASSERT_EQ(0, set_ctrl(st->vfd, VIVID_CID_TEST_PATTERN, red));
	for (i = 0; i < NBUF; i++)
		contig += st->contig[i];
	TH_LOG("%u of %u frames physically contiguous", contig, NBUF);

	for (i = 0; i < NBUF; i++) {
		err = qbuf(st, i);
		if (variant->allocators == 1 && !st->contig[i]) {
			/* videobuf2-dma-contig: "contiguous chunk is too small". */
			EXPECT_EQ(-EFAULT, err);
		} else {
			ASSERT_EQ(0, err) TH_LOG("QBUF of frame %u", i);
		}
	}
	if (variant->allocators == 1 && contig < NBUF) {
		struct ksalloc_frame_handle h;

		/* Nothing kept: the refused frames go back at once. */
		for (i = 0; i < NBUF; i++) {
			if (st->contig[i])
				continue;
			close(st->dfd[i]);
			st->dfd[i] = -1;
			h = (struct ksalloc_frame_handle){ .handle = st->m[i].handle };
			EXPECT_EQ(0, ks_ioctl(st->kfd, KSALLOC_IOC_FREE_FRAME, &h));
		}
		/* vivid streams with any number queued: the contiguous ones. */
		if (!contig)
			return;
	}
	queued = variant->allocators == 1 ? contig : NBUF;

	ASSERT_EQ(0, xioctl(st->vfd, VIDIOC_STREAMON, &type));
	capture(_metadata, st, 6, &px_red);
	/* Red in BT.601: Cr (V) well above Cb (U). */
	EXPECT_LT(((unsigned char *)&px_red)[1] + 64, ((unsigned char *)&px_red)[3])
		TH_LOG("red YUYV %08x", px_red);

	ASSERT_EQ(0, set_ctrl(st->vfd, VIVID_CID_TEST_PATTERN, green));
	/* Frames in flight may still be red: skip them. */
	capture(_metadata, st, NBUF, &px_green);
	capture(_metadata, st, 4, &px_green);
	EXPECT_NE(px_red, px_green);
	/* Green: both chroma below the middle. */
	EXPECT_GT(128, ((unsigned char *)&px_green)[1]) TH_LOG("green YUYV %08x", px_green);
	EXPECT_GT(128, ((unsigned char *)&px_green)[3]) TH_LOG("green YUYV %08x", px_green);

	/*
	 * vivid holds the dma-bufs, the dma-bufs the allocator: close every
	 * descriptor but the mapping, and capture on.
	 */
	for (i = 0; i < NBUF; i++) {
		close(st->dfd[i]);
		st->dfd[i] = -1;
	}
	close(st->kfd);
	st->kfd = -1;
	/* The buffers still queued: no requeue, their descriptors are gone. */
	for (i = 0; i < queued; i++) {
		struct v4l2_buffer b;
		char why[128] = "";
		__u32 px = 0;

		ASSERT_EQ(0, dqbuf(st, &b));
		EXPECT_TRUE(solid_frame(st->map + st->m[b.index].offset, st->sizeimage,
					st->stride, &px, why, sizeof(why))) TH_LOG("%s", why);
		EXPECT_EQ(px_green, px);
	}
	ASSERT_EQ(0, xioctl(st->vfd, VIDIOC_STREAMOFF, &type));
}

KSALLOC_TOTALS_TEARDOWN_TEST()

TEST_HARNESS_MAIN
