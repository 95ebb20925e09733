// SPDX-License-Identifier: GPL-2.0
/*
 * ksalloc_capture_demo - stream frames from /dev/ksalloc_capture
 *
 * Gives a capture stream an allocator (by default 8 frames, each a capture
 * header and a 640x480 YUYV payload, 64-byte aligned, atomic pool) and runs
 * two phases: 30 fps read promptly, then 1000 fps with a reader that sleeps
 * 20 ms between reads, so that the allocator runs dry and frames are dropped.
 * Every delivered frame is checked: size, header (payload size, sequence 0
 * first then strictly increasing, non-decreasing timestamps) and every payload
 * byte against ksalloc_capture_pattern(). A progress line comes every second.
 *
 * Frames come through the zero-copy path: KSALLOC_CAPTURE_IOC_DEQUEUE_FRAME
 * says where the frame is in the demo's own mmap() of the allocator, the demo
 * checks it there and gives it back with KSALLOC_CAPTURE_IOC_RETURN_FRAME.
 * Each frame's line says how many bytes were copied to get it: 0. With -r,
 * read() copies each frame into a buffer instead, for comparison.
 *
 * Exit status 0 only if every frame verified, each phase delivered frames,
 * the fast phase dropped some, and after each STREAMOFF the counters add up
 * (produced == delivered + dropped, none in flight, delivered as read) and
 * the allocator has every frame back; else 1, with a message on stderr.
 *
 * With -e the frames come from QEMU's edu device instead of the timer
 * (KSALLOC_CAPTURE_SOURCE_EDU): written by its DMA engine at its own pace,
 * about five a second, so the frame rates do not apply; by default the frames
 * are 64x31 YUYV (they must fit its 4 KiB buffer), and phase 2 sleeps 1500
 * ms between reads, slower than the device.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/ksalloc.h>
#include <linux/ksalloc_capture.h>

#include "ksalloc_capture_verify.h"

#define PROG			"ksalloc_capture_demo"
#define KSALLOC_DEV		"/dev/ksalloc"
#define KSALLOC_CAPTURE_DEV	"/dev/ksalloc_capture"
#define NSEC_PER_SEC		1000000000ULL
#define NSEC_PER_MSEC		1000000ULL
/* Bad frames described on stderr; the rest are only counted. */
#define MAX_REPORTED		10

struct demo {
	int alloc_fd;
	int cap_fd;
	struct ksalloc_framing framing;
	struct ksalloc_capture_format format;
	__u32 payload_size;
	unsigned char *buf;
	size_t buf_size;
	unsigned int reported;
	bool use_read;
	bool edu;
	/* The allocator's frames, mapped read-only: the zero-copy path. */
	unsigned char *map;
	size_t map_size;
	unsigned long long copied;
};

struct phase {
	__u32 fps;
	unsigned int seconds;
	unsigned int delay_ms;
	bool must_drop;
	char name[32];
	/* What the reader saw. */
	unsigned long long read, verified, bad, copied;
	unsigned long long last_sequence;
	unsigned long long last_timestamp;
	/* The stream's counters after STREAMOFF. */
	struct ksalloc_capture_counters counters;
};

static noreturn void die(const char *what)
{
	fprintf(stderr, PROG ": %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: " PROG " [-n frames] [-W width] [-H height] [-b bytes_per_pixel]\n"
		"       [-F fps] [-f fps] [-t seconds] [-s delay_ms] [-r] [-e]\n"
		"Stream frames from %s into a %s allocator, in two phases.\n"
		"\n"
		"  -n frames  frames in the allocator (default 8)\n"
		"  -W width   pixels per line (default 640)\n"
		"  -H height  lines (default 480)\n"
		"  -b bpp     bytes per pixel (default 2: YUYV)\n"
		"  -F fps     frame rate of phase 1, read promptly (default 30)\n"
		"  -f fps     frame rate of phase 2, read slowly (default 1000)\n"
		"  -t secs    seconds per phase (default 3)\n"
		"  -s ms      phase 2: sleep between reads (default 20)\n"
		"  -r         read() each frame (a copy) instead of the zero-copy path\n"
		"  -e         frames from QEMU's edu device by DMA (default 64x31, -s 1500)\n"
		"  -h         show this help\n",
		KSALLOC_CAPTURE_DEV, KSALLOC_DEV);
}

static __u32 parse_u32(const char *what, const char *arg, __u32 min, __u32 max)
{
	unsigned long long val;
	char *end;

	errno = 0;
	val = strtoull(arg, &end, 0);
	if (!errno && (val < min || val > max))
		errno = ERANGE;
	if (errno || end == arg || *end || arg[0] == '-') {
		errno = errno ?: EINVAL;
		fprintf(stderr, PROG ": %s '%s' (%u to %u): %s\n", what, arg, min, max,
			strerror(errno));
		exit(1);
	}
	return val;
}

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (ms % 1000) * NSEC_PER_MSEC,
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void xioctl(int fd, unsigned long cmd, void *arg, const char *what)
{
	if (ioctl(fd, cmd, arg))
		die(what);
}

static struct ksalloc_capture_counters get_counters(struct demo *d)
{
	struct ksalloc_capture_counters c;

	xioctl(d->cap_fd, KSALLOC_CAPTURE_IOC_GET_COUNTERS, &c,
	       "KSALLOC_CAPTURE_IOC_GET_COUNTERS");
	return c;
}

static __u32 frames_in_use(struct demo *d)
{
	struct ksalloc_status st;

	xioctl(d->alloc_fd, KSALLOC_IOC_GET_STATUS, &st, "KSALLOC_IOC_GET_STATUS");
	return st.allocated_frames;
}

/* Prints why the phase failed, unless @ok; returns @ok. */
static bool check(bool ok, const struct phase *p, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return true;
	fprintf(stderr, PROG ": phase %s: ", p->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return false;
}

/* Checks the frame at @frame, @len bytes, copied or mapped. */
static void check_frame(struct demo *d, struct phase *p, const unsigned char *frame,
			ssize_t len)
{
	const struct ksalloc_capture_header *h = (const void *)frame;
	unsigned long long seq = h->sequence, ts = h->timestamp_ns;
	bool first = p->read++ == 0;
	char why[96] = "";
	long long at;

	if ((size_t)len != d->buf_size)
		snprintf(why, sizeof(why), "read returned %zd bytes, not %zu", len, d->buf_size);
	else if (h->payload_size != d->payload_size)
		snprintf(why, sizeof(why), "payload_size %u, not %u", h->payload_size,
			 d->payload_size);
	/*
	 * Frames arrive in order, so ticks before the first one delivered were
	 * dropped (a late first tick on a loaded host is one).
	 */
	else if (first && seq && get_counters(d).dropped < seq)
		snprintf(why, sizeof(why), "first sequence %llu, but fewer drops", seq);
	else if (!first && seq <= p->last_sequence)
		snprintf(why, sizeof(why), "sequence %llu after %llu", seq, p->last_sequence);
	else if (!first && ts < p->last_timestamp)
		snprintf(why, sizeof(why), "timestamp %llu ns after %llu ns", ts,
			 p->last_timestamp);

	if (!why[0]) {
		at = ksalloc_capture_mismatch(frame + sizeof(*h), d->payload_size, seq);
		if (at >= 0)
			snprintf(why, sizeof(why), "sequence %llu: payload byte %lld is 0x%02x",
				 seq, at, frame[sizeof(*h) + at]);
	}
	if (why[0]) {
		p->bad++;
		if (d->reported++ < MAX_REPORTED)
			check(false, p, "frame %llu: %s", p->read, why);
	} else {
		p->verified++;
	}
	p->last_sequence = seq;
	p->last_timestamp = ts;
}

static void progress(struct demo *d, struct phase *p, unsigned int t,
		     unsigned long long frames, unsigned long long ns)
{
	struct ksalloc_capture_counters c = get_counters(d);

	printf("phase %s t=%us fps=%.1f delivered=%llu dropped=%llu in_use=%u/%u\n",
	       p->name, t, ns ? frames * 1e9 / ns : 0.0,
	       (unsigned long long)c.delivered, (unsigned long long)c.dropped,
	       frames_in_use(d), d->framing.frames);
}

static void print_summary(const struct ksalloc_capture_counters *c,
			  unsigned long long verified, unsigned long long bad,
			  unsigned long long copied)
{
	printf("produced=%llu delivered=%llu dropped=%llu in_flight=%u ",
	       (unsigned long long)c->produced, (unsigned long long)c->delivered,
	       (unsigned long long)c->dropped, c->in_flight);
	printf("verified=%llu bad=%llu copied=%llu\n", verified, bad, copied);
}

/*
 * Takes the next frame, by read() or in place; returns its length, 0 if
 * there was none after all, and points @frame at it. A frame taken in place
 * is given back by put_frame().
 */
static ssize_t get_frame(struct demo *d, struct phase *p, const unsigned char **frame,
			 struct ksalloc_capture_frame *f)
{
	const struct ksalloc_capture_header *h;
	ssize_t len;

	if (d->use_read) {
		len = read(d->cap_fd, d->buf, d->buf_size);
		if (len < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (len < 0)
			die("read " KSALLOC_CAPTURE_DEV);
		if (len == 0) {
			errno = ENODATA;
			die("read " KSALLOC_CAPTURE_DEV ": end of stream while streaming");
		}
		*frame = d->buf;
		p->copied += len;
		h = (const void *)d->buf;
		printf("frame sequence=%llu copied=%zd\n", (unsigned long long)h->sequence, len);
		return len;
	}
	memset(f, 0, sizeof(*f));
	if (ioctl(d->cap_fd, KSALLOC_CAPTURE_IOC_DEQUEUE_FRAME, f)) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		die("KSALLOC_CAPTURE_IOC_DEQUEUE_FRAME");
	}
	if (f->offset > d->map_size || d->map_size - f->offset < d->buf_size) {
		errno = ERANGE;
		die("KSALLOC_CAPTURE_IOC_DEQUEUE_FRAME: offset beyond the mapping");
	}
	*frame = d->map + f->offset;
	/* The header dequeued is the one in the frame. */
	h = (const void *)*frame;
	if (h->sequence != f->sequence || h->timestamp_ns != f->timestamp_ns ||
	    f->payload_size != d->payload_size) {
		check(false, p, "frame %llu: dequeued header differs from the mapped one",
		      (unsigned long long)f->sequence);
		p->bad++;
	}
	printf("frame sequence=%llu offset=%llu copied=0\n", (unsigned long long)f->sequence,
	       (unsigned long long)f->offset);
	return d->buf_size;
}

static void put_frame(struct demo *d, const struct ksalloc_capture_frame *f)
{
	struct ksalloc_capture_frame_handle h = { .handle = f->handle };

	if (!d->use_read)
		xioctl(d->cap_fd, KSALLOC_CAPTURE_IOC_RETURN_FRAME, &h,
		       "KSALLOC_CAPTURE_IOC_RETURN_FRAME");
}

/* Streams for p->seconds; returns whether the phase met every condition. */
static bool run_phase(struct demo *d, struct phase *p)
{
	struct pollfd pfd = { .fd = d->cap_fd, .events = POLLIN };
	unsigned long long start, now, last, last_read = 0;
	struct ksalloc_capture_counters *c = &p->counters;
	struct ksalloc_capture_frame f;
	const unsigned char *frame;
	unsigned int t = 0;
	long long unaccounted;
	__u32 in_use;
	bool ok = true;
	ssize_t len;
	int ret;

	d->format.fps = p->fps;
	xioctl(d->cap_fd, KSALLOC_CAPTURE_IOC_SET_FORMAT, &d->format,
	       "KSALLOC_CAPTURE_IOC_SET_FORMAT");
	xioctl(d->cap_fd, KSALLOC_CAPTURE_IOC_STREAMON, NULL, "KSALLOC_CAPTURE_IOC_STREAMON");
	start = now_ns();
	last = start;

	while (t < p->seconds) {
		now = now_ns();
		if (now >= start + (t + 1) * NSEC_PER_SEC) {
			progress(d, p, ++t, p->read - last_read, now - last);
			last = now;
			last_read = p->read;
			continue;
		}
		/* Wait for a frame, but not past the next progress line. */
		ret = poll(&pfd, 1, (start + (t + 1) * NSEC_PER_SEC - now) / NSEC_PER_MSEC + 1);
		if (ret < 0 && errno != EINTR)
			die("poll " KSALLOC_CAPTURE_DEV);
		if (ret <= 0)
			continue;
		len = get_frame(d, p, &frame, &f);
		if (!len)
			continue;
		check_frame(d, p, frame, len);
		put_frame(d, &f);
		if (p->delay_ms)
			sleep_ms(p->delay_ms);
	}

	xioctl(d->cap_fd, KSALLOC_CAPTURE_IOC_STREAMOFF, NULL, "KSALLOC_CAPTURE_IOC_STREAMOFF");
	*c = get_counters(d);
	in_use = frames_in_use(d);
	unaccounted = c->produced - c->delivered - c->dropped;
	printf("phase %s: ", p->name);
	print_summary(c, p->verified, p->bad, p->copied);

	ok &= check(!p->bad, p, "%llu bad frames", p->bad);
	ok &= check(p->read, p, "no frame delivered");
	ok &= check(!p->must_drop || c->dropped, p, "no frame dropped: the reader kept up");
	ok &= check(!c->streaming && !c->in_flight && !unaccounted, p,
		    "after STREAMOFF: streaming=%u in_flight=%u %s=%lld", c->streaming,
		    c->in_flight, "produced-delivered-dropped", unaccounted);
	ok &= check(c->delivered == p->read, p, "%llu frames read, the counters say %llu",
		    p->read, (unsigned long long)c->delivered);
	ok &= check(!in_use, p, "%u frames still allocated after STREAMOFF", in_use);
	return ok;
}

int main(int argc, char **argv)
{
	struct phase phases[2] = {
		{ .fps = 30, .seconds = 3 },
		{ .fps = 1000, .seconds = 3, .delay_ms = 20, .must_drop = true },
	};
	struct ksalloc_capture_allocator arg = { 0 };
	struct ksalloc_capture_counters total = { 0 };
	unsigned long long verified = 0, bad = 0, copied = 0;
	struct demo d = {
		.framing = {
			.pool_type = KSALLOC_POOL_ATOMIC,
			.frames = 8,
			.alignment = 63,
		},
		.format = { .width = 640, .height = 480, .bytes_per_pixel = 2 },
	};
	bool ok = true, size_set = false, delay_set = false;
	unsigned int i;
	int opt;

	while ((opt = getopt(argc, argv, "n:W:H:b:f:F:t:s:reh")) != -1) {
		switch (opt) {
		case 'n':
			d.framing.frames = parse_u32("frames", optarg, 1, KSALLOC_MAX_FRAMES);
			break;
		case 'W':
			d.format.width = parse_u32("width", optarg, 1, KSALLOC_CAPTURE_MAX_DIM);
			size_set = true;
			break;
		case 'H':
			d.format.height = parse_u32("height", optarg, 1, KSALLOC_CAPTURE_MAX_DIM);
			size_set = true;
			break;
		case 'b':
			d.format.bytes_per_pixel = parse_u32("bytes per pixel", optarg, 1,
							     KSALLOC_CAPTURE_MAX_BPP);
			size_set = true;
			break;
		case 'F':
			phases[0].fps = parse_u32("fps", optarg, 1, KSALLOC_CAPTURE_MAX_FPS);
			break;
		case 'f':
			phases[1].fps = parse_u32("fps", optarg, 1, KSALLOC_CAPTURE_MAX_FPS);
			break;
		case 't':
			phases[0].seconds = parse_u32("seconds", optarg, 1, 3600);
			phases[1].seconds = phases[0].seconds;
			break;
		case 's':
			phases[1].delay_ms = parse_u32("delay", optarg, 0, 10000);
			delay_set = true;
			break;
		case 'r':
			d.use_read = true;
			break;
		case 'e':
			d.edu = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, PROG ": argument '%s': %s\n", argv[optind], strerror(EINVAL));
		usage(stderr);
		return 1;
	}
	if (d.edu && !size_set)
		d.format = (struct ksalloc_capture_format){ 64, 31, 2, 0 };
	if (d.edu && !delay_set)
		phases[1].delay_ms = 1500;
	/* The output usually goes to a file: keep it in order with stderr. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* At most 16384 * 16384 * 4 bytes: no overflow in 32 bits. */
	d.payload_size = d.format.width * d.format.height * d.format.bytes_per_pixel;
	d.buf_size = sizeof(struct ksalloc_capture_header) + d.payload_size;
	if (d.buf_size > KSALLOC_MAX_FRAME_SIZE) {
		errno = E2BIG;
		die("frame size above KSALLOC_MAX_FRAME_SIZE");
	}
	d.framing.frame_size = d.buf_size;
	d.buf = aligned_alloc(64, (d.buf_size + 63) & ~(size_t)63);
	if (!d.buf)
		die("allocating the frame buffer");
	for (i = 0; i < 2; i++)
		snprintf(phases[i].name, sizeof(phases[i].name), "%ufps", phases[i].fps);
	if (d.edu) {
		snprintf(phases[0].name, sizeof(phases[0].name), "edu");
		snprintf(phases[1].name, sizeof(phases[1].name), "edu-slow-reader");
	}

	d.alloc_fd = open(KSALLOC_DEV, O_RDWR | O_CLOEXEC);
	if (d.alloc_fd < 0)
		die("open " KSALLOC_DEV);
	/* Small frames are page-backed, hence mappable, only if asked. */
	if (!d.use_read)
		d.framing.options = KSALLOC_OPTIONF_MAPPABLE;
	xioctl(d.alloc_fd, KSALLOC_IOC_SET_FRAMING, &d.framing, "KSALLOC_IOC_SET_FRAMING");
	if (!d.use_read) {
		size_t page = sysconf(_SC_PAGESIZE);

		d.map_size = (d.framing.frame_size + page - 1) / page * page * d.framing.frames;
		d.map = mmap(NULL, d.map_size, PROT_READ, MAP_SHARED, d.alloc_fd, 0);
		if (d.map == MAP_FAILED)
			die("mmap " KSALLOC_DEV);
	}
	/* Nonblocking: poll() bounds every wait, so a stalled stream cannot hang us. */
	d.cap_fd = open(KSALLOC_CAPTURE_DEV, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (d.cap_fd < 0)
		die("open " KSALLOC_CAPTURE_DEV);
	arg.fd = d.alloc_fd;
	xioctl(d.cap_fd, KSALLOC_CAPTURE_IOC_SET_ALLOCATOR, &arg,
	       "KSALLOC_CAPTURE_IOC_SET_ALLOCATOR");
	if (d.edu) {
		struct ksalloc_capture_source src = { .source = KSALLOC_CAPTURE_SOURCE_EDU };

		xioctl(d.cap_fd, KSALLOC_CAPTURE_IOC_SET_SOURCE, &src,
		       "KSALLOC_CAPTURE_IOC_SET_SOURCE (is there an edu device?)");
		printf("source: QEMU's edu device, by DMA\n");
	}
	printf("allocator: %u frames of %u bytes, alignment %u, atomic pool\n",
	       d.framing.frames, d.framing.frame_size, d.framing.alignment);
	printf("path: %s\n", d.use_read ? "read(): each frame copied" :
	       "zero copy: frames dequeued and read in place through mmap()");
	printf("format: %ux%u, %u bytes per pixel: %u bytes of payload\n", d.format.width,
	       d.format.height, d.format.bytes_per_pixel, d.payload_size);

	for (i = 0; i < 2; i++) {
		struct phase *p = &phases[i];

		printf("phase %s: %u s, sleeping %u ms after each read\n", p->name, p->seconds,
		       p->delay_ms);
		ok &= run_phase(&d, p);
		total.produced += p->counters.produced;
		total.delivered += p->counters.delivered;
		total.dropped += p->counters.dropped;
		total.in_flight += p->counters.in_flight;
		verified += p->verified;
		bad += p->bad;
		copied += p->copied;
	}
	printf("total: ");
	print_summary(&total, verified, bad, copied);
	ok &= d.use_read || !copied;

	close(d.cap_fd);
	if (d.map)
		munmap(d.map, d.map_size);
	close(d.alloc_fd);
	free(d.buf);
	printf(PROG ": %s\n", ok ? "PASS" : "FAIL");
	return ok ? 0 : 1;
}
