// SPDX-License-Identifier: GPL-2.0
/*
 * ksalloc_capture_bench - what it costs an application to get a captured
 * frame from /dev/ksalloc_capture, by read() and by the zero-copy path.
 * A benchmark, not a test: it prints figures; scripts/bench.sh boots it in
 * QEMU on Debian's stock 6.12 kernel and makes the table.
 *
 * For each frame size (640x480 and 1920x1080 YUYV, a capture header
 * before each) and each path, a stream at @fps fills the frames of an
 * allocator of FRAMES page-backed frames, the same for both paths. Before
 * each frame the bench waits, untimed, with poll() until a filled frame is
 * ready; then it times
 * - read(): the read() call, which copies the frame into the application's
 *   buffer and gives the frame back to the allocator;
 * - zero copy: KSALLOC_CAPTURE_IOC_DEQUEUE_FRAME, which says where the frame
 *   is in the application's mmap() of the allocator, and
 *   KSALLOC_CAPTURE_IOC_RETURN_FRAME, which gives it back;
 * that is "deliver": what the application must do to have the frame's bytes
 * where it can read them, and to let the frame be reused. "with_sum" adds
 * what the application then does with the bytes, the same work on both
 * paths: one pass that sums the payload's 64-bit words, from its buffer or
 * from the mapping. The sum is checked against the capture pattern, so
 * every delivered frame is known to hold what the stream wrote.
 *
 * What is not counted: the producer. The capture companion's timer and
 * its fill work run in the kernel whichever path reads the frames, and the
 * bench waits for a frame to be filled before it starts the clock.
 *
 * Clocks: -m icount reads the TSC, which under QEMU's -icount shift=0
 * counts guest instructions, user space and kernel alike (a rep-prefixed
 * string instruction counts once per iteration, as QEMU runs it); -m wall
 * reads CLOCK_MONOTONIC, in ns. The cost of reading the clock is measured
 * and subtracted. A figure is the smallest over the timed frames (a timer
 * tick, or the fill of the next frame, that lands inside one makes it
 * longer, never shorter); the median is printed beside it.
 *
 * Output: a "start" line, one "capture" line per size and path, "done
 * mode=M errors=N". Exit status 1 if a step failed or a check did not hold.
 */
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
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include <linux/ksalloc.h>
#include <linux/ksalloc_capture.h>

#define PROG		"ksalloc_capture_bench"
/* Frames in the allocator: the stream keeps this many filled, ahead of the reader. */
#define FRAMES		4U
/* Frames delivered before the timed ones: first touches, warm caches. */
#define WARMUP		4U
#define MAX_TIMED	1024U

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static int icount;
static unsigned int errors;

struct size {
	__u32 width, height;
};

static const struct size sizes[] = { { 640, 480 }, { 1920, 1080 } };

static void bench_error(const char *fmt, ...)
{
	va_list ap;

	errors++;
	printf("error ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(": %s\n", strerror(errno));
}

static __u64 clock_now(void)
{
	struct timespec ts;

	if (icount)
		return __rdtsc();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	const __u64 *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

/* Sorts @v and returns its smallest value; @median gets the median. */
static __u64 smallest(__u64 *v, unsigned int n, __u64 *median)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	*median = v[n / 2];
	return v[0];
}

/* The cost of one clock reading: the smallest of back-to-back pairs. */
static __u64 clock_cost(void)
{
	__u64 t0, t1, best = UINT64_MAX;
	unsigned int i;

	for (i = 0; i < 256; i++) {
		t0 = clock_now();
		t1 = clock_now();
		if (t1 - t0 < best)
			best = t1 - t0;
	}
	return best;
}

/*
 * The application's work on a frame: the sum of the payload's words. Not
 * inlined, so that both paths run the very same code.
 */
static __attribute__((noipa)) __u64 sum_words(const __u64 *word, __u32 n)
{
	__u64 sum = 0;
	__u32 i;

	for (i = 0; i < n; i++)
		sum += word[i];
	return sum;
}

/* What sum_words() gives for frame @seq: the pattern's words added up. */
static __u64 pattern_sum(__u64 seq, __u32 n)
{
	return (__u64)n * (seq << 32) + (__u64)n * (n - 1) / 2;
}

struct run {
	const struct size *size;
	int zero_copy;
	unsigned int timed;
	__u32 fps;
	__u32 frame_bytes;
	__u32 payload;
	int alloc_fd, cap_fd;
	unsigned char *map;
	size_t map_size;
	unsigned char *buf;
	__u64 deliver[MAX_TIMED], with_sum[MAX_TIMED];
	/* Zero copy: each ioctl of deliver[] alone. */
	__u64 dequeue[MAX_TIMED], ret[MAX_TIMED];
};

/* Sets up the allocator and the stream; 0 or -1. */
static int run_setup(struct run *r)
{
	long page = sysconf(_SC_PAGESIZE);
	struct ksalloc_framing framing = {
		.options = KSALLOC_OPTIONF_MAPPABLE,
		.pool_type = KSALLOC_POOL_ATOMIC,
		.frames = FRAMES,
		.frame_size = r->frame_bytes,
	};
	struct ksalloc_capture_format format = {
		.width = r->size->width,
		.height = r->size->height,
		.bytes_per_pixel = 2,
		.fps = r->fps,
	};
	struct ksalloc_capture_allocator alloc = { 0 };

	r->alloc_fd = open("/dev/ksalloc", O_RDWR | O_CLOEXEC);
	r->cap_fd = open("/dev/ksalloc_capture", O_RDWR | O_CLOEXEC);
	if (r->alloc_fd < 0 || r->cap_fd < 0) {
		bench_error("open");
		return -1;
	}
	if (ioctl(r->alloc_fd, KSALLOC_IOC_SET_FRAMING, &framing)) {
		bench_error("KSALLOC_IOC_SET_FRAMING");
		return -1;
	}
	alloc.fd = r->alloc_fd;
	if (ioctl(r->cap_fd, KSALLOC_CAPTURE_IOC_SET_ALLOCATOR, &alloc) ||
	    ioctl(r->cap_fd, KSALLOC_CAPTURE_IOC_SET_FORMAT, &format)) {
		bench_error("KSALLOC_CAPTURE_IOC_SET_ALLOCATOR/SET_FORMAT");
		return -1;
	}
	if (r->zero_copy) {
		r->map_size = (r->frame_bytes + page - 1) / page * page * FRAMES;
		r->map = mmap(NULL, r->map_size, PROT_READ, MAP_SHARED,
			      r->alloc_fd, 0);
		if (r->map == MAP_FAILED) {
			r->map = NULL;
			bench_error("mmap /dev/ksalloc");
			return -1;
		}
	} else {
		/* Touched before the first timed read(): no page faults in it. */
		r->buf = aligned_alloc(page, (r->frame_bytes + page - 1) / page * page);
		if (!r->buf) {
			bench_error("aligned_alloc");
			return -1;
		}
		memset(r->buf, 0, r->frame_bytes);
	}
	return 0;
}

static void run_teardown(struct run *r)
{
	if (r->map)
		munmap(r->map, r->map_size);
	free(r->buf);
	if (r->cap_fd >= 0)
		close(r->cap_fd);
	if (r->alloc_fd >= 0)
		close(r->alloc_fd);
}

/*
 * Delivers one frame, timed; stores its figures (raw clock differences) in
 * slot @i of @r's arrays. 0, or -1 after an error.
 */
static int deliver_one(struct run *r, unsigned int i)
{
	struct ksalloc_capture_frame f;
	struct ksalloc_capture_frame_handle h;
	const struct ksalloc_capture_header *hdr;
	__u32 words = r->payload / 8;
	__u64 t0, t1, t2, t3, seq, sum;
	ssize_t n;

	if (!r->zero_copy) {
		t0 = clock_now();
		n = read(r->cap_fd, r->buf, r->frame_bytes);
		t1 = clock_now();
		if (n != (ssize_t)r->frame_bytes) {
			bench_error("read returned %zd, not %u", n, r->frame_bytes);
			return -1;
		}
		sum = sum_words((const __u64 *)(r->buf + sizeof(*hdr)), words);
		t2 = clock_now();
		hdr = (const void *)r->buf;
		seq = hdr->sequence;
		r->deliver[i] = t1 - t0;
		r->with_sum[i] = t2 - t0;
	} else {
		memset(&f, 0, sizeof(f));
		memset(&h, 0, sizeof(h));
		t0 = clock_now();
		if (ioctl(r->cap_fd, KSALLOC_CAPTURE_IOC_DEQUEUE_FRAME, &f)) {
			bench_error("KSALLOC_CAPTURE_IOC_DEQUEUE_FRAME");
			return -1;
		}
		t1 = clock_now();
		if (f.offset > r->map_size - r->frame_bytes) {
			errno = ERANGE;
			bench_error("DEQUEUE_FRAME: offset %llu", (unsigned long long)f.offset);
			return -1;
		}
		sum = sum_words((const __u64 *)(r->map + f.offset + sizeof(*hdr)),
				words);
		h.handle = f.handle;
		t2 = clock_now();
		if (ioctl(r->cap_fd, KSALLOC_CAPTURE_IOC_RETURN_FRAME, &h)) {
			bench_error("KSALLOC_CAPTURE_IOC_RETURN_FRAME");
			return -1;
		}
		t3 = clock_now();
		seq = f.sequence;
		r->dequeue[i] = t1 - t0;
		r->ret[i] = t3 - t2;
		r->deliver[i] = (t1 - t0) + (t3 - t2);
		r->with_sum[i] = t3 - t0;
	}
	if (sum != pattern_sum(seq, words)) {
		errno = EBADMSG;
		bench_error("frame %llu of %ux%u: its payload is not the pattern",
			    (unsigned long long)seq, r->size->width, r->size->height);
		return -1;
	}
	return 0;
}

static void run_one(struct run *r)
{
	struct pollfd pfd = { .events = POLLIN };
	struct ksalloc_capture_counters c;
	__u64 cost = clock_cost(), d, d_med, s, s_med, dq, rt, med;
	unsigned int i, total = WARMUP + r->timed;
	int ret;

	r->payload = r->size->width * r->size->height * 2;
	r->frame_bytes = sizeof(struct ksalloc_capture_header) + r->payload;
	r->alloc_fd = -1;
	r->cap_fd = -1;
	if (run_setup(r))
		goto out;
	if (ioctl(r->cap_fd, KSALLOC_CAPTURE_IOC_STREAMON)) {
		bench_error("KSALLOC_CAPTURE_IOC_STREAMON");
		goto out;
	}
	pfd.fd = r->cap_fd;
	for (i = 0; i < total; i++) {
		do
			ret = poll(&pfd, 1, 10000);
		while (ret < 0 && errno == EINTR);
		if (ret != 1) {
			errno = ret ? errno : ETIMEDOUT;
			bench_error("poll");
			break;
		}
		/* The warm-up frames' figures are overwritten. */
		if (deliver_one(r, i < WARMUP ? 0 : i - WARMUP))
			break;
	}
	if (ioctl(r->cap_fd, KSALLOC_CAPTURE_IOC_STREAMOFF) ||
	    ioctl(r->cap_fd, KSALLOC_CAPTURE_IOC_GET_COUNTERS, &c)) {
		bench_error("KSALLOC_CAPTURE_IOC_STREAMOFF/GET_COUNTERS");
		goto out;
	}
	if (i < total)
		goto out;
	if (c.delivered != total || c.in_flight ||
	    c.produced != c.delivered + c.dropped) {
		errno = EPROTO;
		bench_error("counters: produced %llu delivered %llu dropped %llu in_flight %u",
			    (unsigned long long)c.produced,
			    (unsigned long long)c.delivered,
			    (unsigned long long)c.dropped, c.in_flight);
		goto out;
	}
	/* Clock readings inside each figure: one per boundary between them. */
	for (i = 0; i < r->timed; i++) {
		r->deliver[i] -= (r->zero_copy ? 2 : 1) * cost;
		r->with_sum[i] -= (r->zero_copy ? 3 : 2) * cost;
		r->dequeue[i] -= cost;
		r->ret[i] -= cost;
	}
	d = smallest(r->deliver, r->timed, &d_med);
	s = smallest(r->with_sum, r->timed, &s_med);
	dq = smallest(r->dequeue, r->timed, &med);
	rt = smallest(r->ret, r->timed, &med);
	printf("capture path=%s frame=%ux%u frame_bytes=%u copied_bytes=%u frames=%u fps=%u",
	       r->zero_copy ? "zerocopy" : "read", r->size->width,
	       r->size->height, r->frame_bytes,
	       r->zero_copy ? 0 : r->frame_bytes, r->timed, r->fps);
	printf(" deliver=%llu deliver_median=%llu with_sum=%llu with_sum_median=%llu",
	       (unsigned long long)d, (unsigned long long)d_med,
	       (unsigned long long)s, (unsigned long long)s_med);
	if (r->zero_copy)
		printf(" dequeue=%llu return=%llu", (unsigned long long)dq,
		       (unsigned long long)rt);
	printf(" clock_cost=%llu unit=%s\n", (unsigned long long)cost,
	       icount ? "instr" : "ns");
out:
	run_teardown(r);
}

static void usage(void)
{
	fprintf(stderr,
		"Usage: " PROG " -m icount|wall [-n frames] [-f fps]\n"
		"  -m   icount: the TSC counts instructions (QEMU -icount shift=0); wall: ns\n"
		"  -n   timed frames per size and path (default 32, at most %u)\n"
		"  -f   the stream's frame rate (default 100)\n", MAX_TIMED);
	exit(2);
}

int main(int argc, char **argv)
{
	static struct run r;
	unsigned int timed = 32, fps = 100, s, z;
	const char *mode = NULL;
	int opt;

	while ((opt = getopt(argc, argv, "m:n:f:")) != -1) {
		switch (opt) {
		case 'm':
			mode = optarg;
			break;
		case 'n':
			timed = strtoul(optarg, NULL, 0);
			break;
		case 'f':
			fps = strtoul(optarg, NULL, 0);
			break;
		default:
			usage();
		}
	}
	if (!mode || (strcmp(mode, "icount") && strcmp(mode, "wall")) ||
	    !timed || timed > MAX_TIMED || !fps || fps > KSALLOC_CAPTURE_MAX_FPS)
		usage();
	icount = !strcmp(mode, "icount");
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("start mode=%s frames=%u warmup=%u timed=%u fps=%u\n", mode,
	       FRAMES, WARMUP, timed, fps);
	for (s = 0; s < ARRAY_SIZE(sizes); s++) {
		for (z = 0; z < 2; z++) {
			memset(&r, 0, sizeof(r));
			r.size = &sizes[s];
			r.zero_copy = z;
			r.timed = timed;
			r.fps = fps;
			run_one(&r);
		}
	}
	printf("done mode=%s errors=%u\n", mode, errors);
	return errors ? 1 : 0;
}
