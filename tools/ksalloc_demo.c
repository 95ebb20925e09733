// SPDX-License-Identifier: GPL-2.0
/*
 * ksalloc_demo - one walk through a /dev/ksalloc frame allocator
 *
 * Opens an allocator, sets its framing (by default 8 VGA YUYV frames of
 * 640 * 480 * 2 bytes, 64-byte aligned, from the atomic pool), takes every
 * frame, shows that one more is refused with EAGAIN, returns them all, and
 * prints the allocator's status after each step.
 *
 * Exit status: 0 on success, 1 on any failure, with a message on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/ksalloc.h>

#define KSALLOC_DEV	"/dev/ksalloc"

static noreturn void die(const char *what)
{
	fprintf(stderr, "ksalloc_demo: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: ksalloc_demo [-n frames] [-s frame_size] [-a alignment] [-p pool]\n"
		"Walk once through a %s frame allocator.\n"
		"\n"
		"  -n frames      number of frames (default 8)\n"
		"  -s frame_size  bytes per frame (default 614400: 640x480 YUYV)\n"
		"  -a alignment   alignment mask 2^n - 1 (default 63)\n"
		"  -p pool        atomic or sleepable (default atomic)\n"
		"  -h             show this help\n",
		KSALLOC_DEV);
}

static __u32 parse_u32(const char *what, const char *arg)
{
	unsigned long long val;
	char *end;

	errno = 0;
	val = strtoull(arg, &end, 0);
	if (!errno && val > UINT32_MAX)
		errno = ERANGE;
	if (errno || end == arg || *end || arg[0] == '-') {
		errno = errno ?: EINVAL;
		fprintf(stderr, "ksalloc_demo: %s '%s': %s\n", what, arg, strerror(errno));
		exit(1);
	}
	return val;
}

static const char *pool_name(__u32 pool_type)
{
	switch (pool_type) {
	case KSALLOC_POOL_ATOMIC:
		return "atomic";
	case KSALLOC_POOL_SLEEPABLE:
		return "sleepable";
	default:
		return "unknown";
	}
}

static void print_status(int fd, const char *step)
{
	struct ksalloc_status st;

	if (ioctl(fd, KSALLOC_IOC_GET_STATUS, &st))
		die("KSALLOC_IOC_GET_STATUS");

	printf("status after %s:\n", step);
	printf("  framing.options        0x%x\n", st.framing.options);
	printf("  framing.pool_type      %u (%s)\n", st.framing.pool_type,
	       st.framing.frames ? pool_name(st.framing.pool_type) : "no framing yet");
	printf("  framing.frames         %u\n", st.framing.frames);
	printf("  framing.frame_size     %u\n", st.framing.frame_size);
	printf("  framing.alignment      %u\n", st.framing.alignment);
	printf("  framing.reserved       %u\n", st.framing.reserved);
	printf("  allocated_frames       %u\n", st.allocated_frames);
	printf("  peak_allocated_frames  %u\n", st.peak_allocated_frames);
	printf("  waiters                %u\n", st.waiters);
	printf("  misuse_events          %u\n", st.misuse_events);
	printf("  total_allocations      %llu\n", (unsigned long long)st.total_allocations);
	printf("  failed_allocations     %llu\n", (unsigned long long)st.failed_allocations);
	printf("\n");
}

int main(int argc, char **argv)
{
	struct ksalloc_framing framing = {
		.pool_type = KSALLOC_POOL_ATOMIC,
		.frames = 8,
		.frame_size = 640 * 480 * 2,
		.alignment = 63,
	};
	struct ksalloc_frame_handle fh;
	__u64 *handles;
	__u32 i;
	int fd, opt;

	while ((opt = getopt(argc, argv, "n:s:a:p:h")) != -1) {
		switch (opt) {
		case 'n':
			framing.frames = parse_u32("frame count", optarg);
			break;
		case 's':
			framing.frame_size = parse_u32("frame size", optarg);
			break;
		case 'a':
			framing.alignment = parse_u32("alignment", optarg);
			break;
		case 'p':
			if (!strcmp(optarg, "atomic")) {
				framing.pool_type = KSALLOC_POOL_ATOMIC;
			} else if (!strcmp(optarg, "sleepable")) {
				framing.pool_type = KSALLOC_POOL_SLEEPABLE;
			} else {
				fprintf(stderr, "ksalloc_demo: pool '%s': %s\n", optarg,
					strerror(EINVAL));
				usage(stderr);
				return 1;
			}
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
		fprintf(stderr, "ksalloc_demo: argument '%s': %s\n", argv[optind],
			strerror(EINVAL));
		usage(stderr);
		return 1;
	}

	/* Nonblocking, so that an exhausted allocator answers EAGAIN instead of waiting. */
	fd = open(KSALLOC_DEV, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		die("open " KSALLOC_DEV);
	print_status(fd, "open");

	printf("setting the framing: %u frames of %u bytes, alignment %u, %s pool\n",
	       framing.frames, framing.frame_size, framing.alignment,
	       pool_name(framing.pool_type));
	if (ioctl(fd, KSALLOC_IOC_SET_FRAMING, &framing))
		die("KSALLOC_IOC_SET_FRAMING");
	print_status(fd, "KSALLOC_IOC_SET_FRAMING");

	handles = calloc(framing.frames, sizeof(*handles));
	if (!handles)
		die("allocating the handle table");
	for (i = 0; i < framing.frames; i++) {
		fh = (struct ksalloc_frame_handle){ 0 };
		if (ioctl(fd, KSALLOC_IOC_ALLOC_FRAME, &fh))
			die("KSALLOC_IOC_ALLOC_FRAME");
		handles[i] = fh.handle;
		printf("allocated frame %u of %u: handle 0x%llx\n", i + 1, framing.frames,
		       (unsigned long long)fh.handle);
	}
	print_status(fd, "allocating every frame");

	fh = (struct ksalloc_frame_handle){ 0 };
	if (!ioctl(fd, KSALLOC_IOC_ALLOC_FRAME, &fh)) {
		fprintf(stderr, "ksalloc_demo: KSALLOC_IOC_ALLOC_FRAME: %s\n",
			"succeeded with every frame already taken");
		return 1;
	}
	if (errno != EAGAIN)
		die("KSALLOC_IOC_ALLOC_FRAME on an exhausted allocator");
	printf("one more frame: %s (EAGAIN), as expected\n", strerror(errno));
	print_status(fd, "the refused allocation");

	for (i = 0; i < framing.frames; i++) {
		fh = (struct ksalloc_frame_handle){ .handle = handles[i] };
		if (ioctl(fd, KSALLOC_IOC_FREE_FRAME, &fh))
			die("KSALLOC_IOC_FREE_FRAME");
	}
	printf("freed %u frames\n", framing.frames);
	print_status(fd, "freeing every frame");

	free(handles);
	if (close(fd))
		die("close " KSALLOC_DEV);
	printf("ksalloc_demo: done\n");
	return 0;
}
