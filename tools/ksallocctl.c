// SPDX-License-Identifier: GPL-2.0
/*
 * ksallocctl - create, list and watch /dev/ksalloc frame allocators
 *
 * create opens an allocator, sets its framing, optionally takes frames, and
 * holds it all until SIGINT or SIGTERM; status prints one row per allocator;
 * watch samples the counters at an interval and prints their rates.
 *
 * An allocator's fd is private to its opener, so status and watch read the
 * module's debugfs: one file per allocator, named by its id, of "key: value"
 * lines; unknown keys are ignored, missing ones shown as "-". The ioctl ABI
 * has no id: create takes as its own the one debugfs entry that was absent
 * before its open() and has its framing ("?" when there is none or several).
 *
 * Exit status: 0 success; 1 an error at run time (said on stderr); 2 a usage
 * error, or no ksalloc debugfs to read.
 */
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <linux/ksalloc.h>
#include <linux/magic.h>

#define KSALLOCCTL_VERSION	"1.0"
#define KSALLOC_DEV		"/dev/ksalloc"
#define DEBUGFS_ROOT		"/sys/kernel/debug"
#define KSALLOC_DEBUGFS		DEBUGFS_ROOT "/ksalloc"
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

static const char synopsis[] =
	"Usage: ksallocctl create [-n frames] [-s frame_size] [-a alignment] [-p pool]\n"
	"                         [-o options] [-t N]\n"
	"       ksallocctl status [ID...]\n"
	"       ksallocctl watch [-i interval_ms] [-c count] [ID...]\n"
	"       ksallocctl -h | --help | --version\n";
static const char help[] =
	"Create, list and watch ksalloc frame allocators (" KSALLOC_DEV ").\n"
	"\n"
	"create: make an allocator with this framing, print its id and status, hold it\n"
	"until SIGINT or SIGTERM (Ctrl-C), then release it and exit 0.\n"
	"  -n frames        number of frames (default 8)\n"
	"  -s frame_size    bytes per frame (default 4096)\n"
	"  -a alignment     alignment mask 2^n - 1, e.g. 63 (default 0: byte aligned)\n"
	"  -p pool          atomic or sleepable (default atomic)\n"
	"  -o options       KSALLOC_OPTIONF_* bits (default 0; 0x1: system memory)\n"
	"  -t, --take N     also take N frames and hold them (default 0)\n"
	"\n"
	"status: print one row per allocator: every one, or those given by id.\n"
	"\n"
	"watch: print the counters of each allocator (or those given) every interval,\n"
	"with allocations and failed allocations per second since the last sample.\n"
	"  -i interval_ms   time between samples (default 1000)\n"
	"  -c count         stop after count samples (default 0: at SIGINT or SIGTERM)\n"
	"\n"
	"status and watch read " KSALLOC_DEBUGFS " (debugfs, root only);\n"
	"for testing, KSALLOCCTL_DEBUGFS=DIR in the environment makes them read DIR.\n"
	"Exit status: 0 success, 1 error, 2 usage error or no ksalloc debugfs to read.\n";

/*
 * The keys of a debugfs file: status prints them all, in this order; watch
 * prints K_ID and K_ALLOCATED on.
 */
enum key { K_ID, K_POOL, K_OPTIONS, K_FRAMES, K_FRAME_SIZE, K_ALIGNMENT, K_ALLOCATED,
	   K_PEAK, K_WAITERS, K_MISUSE, K_TOTAL, K_FAILED, NR_KEYS };

static const struct {
	const char *key;
	const char *title;
	int width;			/* negative: left aligned */
} keys[NR_KEYS] = {
	[K_ID]		= { "id", "ID", 4 },
	[K_POOL]	= { "pool_type", "POOL", -9 },
	[K_OPTIONS]	= { "options", "OPTIONS", 7 },
	[K_FRAMES]	= { "frames", "FRAMES", 6 },
	[K_FRAME_SIZE]	= { "frame_size", "FRAME_SIZE", 10 },
	[K_ALIGNMENT]	= { "alignment", "ALIGN", 5 },
	[K_ALLOCATED]	= { "allocated_frames", "ALLOCATED", 9 },
	[K_PEAK]	= { "peak_allocated_frames", "PEAK", 6 },
	[K_WAITERS]	= { "waiters", "WAITERS", 7 },
	[K_MISUSE]	= { "misuse_events", "MISUSE", 6 },
	[K_TOTAL]	= { "total_allocations", "TOTAL", 12 },
	[K_FAILED]	= { "failed_allocations", "FAILED", 10 },
};

static const char *const pools[] = {
	[KSALLOC_POOL_ATOMIC] = "atomic",
	[KSALLOC_POOL_SLEEPABLE] = "sleepable",
};

struct allocator {
	unsigned long long val[NR_KEYS];
	unsigned int present;		/* bit k: key k was read */
	char pool[16];
};

static const struct option help_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ }
};

static const struct option create_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "take", required_argument, NULL, 't' },
	{ }
};

/* The allocator ids given to status or watch: none means every allocator. */
static unsigned long long *ids;
static int nr_ids;

static int usage(FILE *out, int status)
{
	fputs(synopsis, out);
	if (out == stdout)
		fputs(help, out);
	return status;
}

/* A usage error: the message, the synopsis, exit status 2. */
#define usage_error(...)	do { warnx(__VA_ARGS__); exit(usage(stderr, 2)); } while (0)

/* Messages go "ksallocctl: WHAT: STRERROR" (err(3) uses argv[0]'s base name). */
static noreturn void die(const char *what)
{
	err(1, "%s", what);
}

static unsigned long long parse_num(const char *what, const char *arg, unsigned long long max)
{
	unsigned long long val;
	char *end;

	errno = 0;
	val = strtoull(arg, &end, 0);
	if (errno || end == arg || *end || arg[0] == '-' || val > max)
		usage_error("%s '%s': not a number from 0 to %llu", what, arg, max);
	return val;
}

/* After getopt_long() returned '?' or ':' (with an optstring starting with ':'). */
static noreturn void bad_option(int opt, char **argv)
{
	if (opt == ':')
		usage_error("option '%s' needs an argument", argv[optind - 1]);
	if (optopt)
		usage_error("unknown option '-%c'", optopt);
	usage_error("unknown option '%s'", argv[optind - 1]);
}

static const char *pool_name(__u32 pool_type)
{
	return pool_type < ARRAY_SIZE(pools) ? pools[pool_type] : "unknown";
}

static void parse_ids(int argc, char **argv)
{
	int i;

	nr_ids = argc;
	ids = calloc(argc ?: 1, sizeof(*ids));
	if (!ids)
		die("calloc");
	for (i = 0; i < argc; i++)
		ids[i] = parse_num("allocator id", argv[i], UINT_MAX);
}

static bool wanted(const struct allocator *a)
{
	int i;

	for (i = 0; i < nr_ids; i++)
		if (a->val[K_ID] == ids[i])
			return true;
	return !nr_ids;
}

static const struct allocator *find_id(const struct allocator *list, int n,
				       unsigned long long id)
{
	int i;

	for (i = 0; i < n; i++)
		if (list[i].val[K_ID] == id)
			return &list[i];
	return NULL;
}

/* Returns 0, or -1 with errno set. */
static int read_allocator(const char *path, struct allocator *a)
{
	char *line = NULL, *val, *end;
	size_t size = 0;
	int k, saved;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return -1;
	while (getline(&line, &size, f) > 0) {
		val = strchr(line, ':');
		if (!val)
			continue;
		*val++ = '\0';
		val += strspn(val, " \t");
		val[strcspn(val, "\n")] = '\0';
		for (k = 0; k < NR_KEYS && strcmp(line, keys[k].key); k++)
			continue;
		if (k == NR_KEYS)
			continue;	/* a key of a newer module */
		if (k == K_POOL) {
			snprintf(a->pool, sizeof(a->pool), "%s", val);
		} else {
			errno = 0;
			a->val[k] = strtoull(val, &end, k == K_OPTIONS ? 16 : 10);
			if (errno || end == val || *end)
				continue;
		}
		a->present |= 1U << k;
	}
	saved = ferror(f) ? errno : 0;
	free(line);
	fclose(f);
	errno = saved;
	return saved ? -1 : 0;
}

static int by_id(const void *a, const void *b)
{
	const struct allocator *x = a, *y = b;

	return (x->val[K_ID] > y->val[K_ID]) - (x->val[K_ID] < y->val[K_ID]);
}

/*
 * Reads every allocator into *list, sorted by id. Returns their number, or,
 * said on stderr, -2 when there is no ksalloc debugfs to read, -1 for any
 * other error.
 */
static int read_allocators(struct allocator **list)
{
	const char *env = getenv("KSALLOCCTL_DEBUGFS"), *dir = env ?: KSALLOC_DEBUGFS;
	struct allocator *all = NULL, *more;
	char path[PATH_MAX], *end;
	struct statfs sfs;
	struct dirent *de;
	int n = 0, saved;
	DIR *d;

	if (!env && (statfs(DEBUGFS_ROOT, &sfs) || sfs.f_type != DEBUGFS_MAGIC)) {
		warnx("debugfs not mounted at %s (mount -t debugfs none %s)",
		      DEBUGFS_ROOT, DEBUGFS_ROOT);
		return -2;
	}
	d = opendir(dir);
	if (!d && errno == ENOENT) {
		if (!env && !access("/sys/module/ksalloc", F_OK))
			warnx("ksalloc module loaded, but no %s (built without debugfs?)", dir);
		else
			warnx("ksalloc module not loaded (no %s)", dir);
		return -2;
	}
	if (!d) {
		warn("%s", dir);
		return -1;
	}
	for (errno = 0; (de = readdir(d)); errno = 0) {
		unsigned long long id = strtoull(de->d_name, &end, 10);

		if (de->d_name[0] < '0' || de->d_name[0] > '9' || *end)
			continue;
		more = reallocarray(all, n + 1, sizeof(*all));
		if (!more)
			die("reallocarray");
		all = more;
		memset(&all[n], 0, sizeof(*all));
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (read_allocator(path, &all[n])) {
			/* Released since readdir(): debugfs says EIO once a file is removed. */
			if (errno == ENOENT || errno == EIO)
				continue;
			break;
		}
		all[n].val[K_ID] = id;
		all[n++].present |= 1U << K_ID;
	}
	saved = errno;
	closedir(d);
	if (saved) {
		free(all);
		warnx("%s: %s", de ? path : dir, strerror(saved));
		return -1;
	}
	qsort(all, n, sizeof(*all), by_id);
	*list = all;
	return n;
}

/* The titles (@a NULL) or values of K_ID and the keys from @from on. */
static void print_cells(const struct allocator *a, enum key from)
{
	char buf[32];
	int k;

	for (k = K_ID; k < NR_KEYS; k = k == K_ID ? (int)from : k + 1) {
		if (!a)
			snprintf(buf, sizeof(buf), "%s", keys[k].title);
		else if (!(a->present & (1U << k)))
			snprintf(buf, sizeof(buf), "-");
		else if (k == K_POOL)
			snprintf(buf, sizeof(buf), "%s", a->pool);
		else if (k == K_OPTIONS)
			snprintf(buf, sizeof(buf), "0x%llx", a->val[k]);
		else
			snprintf(buf, sizeof(buf), "%llu", a->val[k]);
		printf(" %*s", keys[k].width, buf);
	}
}

/* The id of the one allocator of @after, absent from @before, with framing @fr; else 0. */
static unsigned long long own_id(const struct allocator *before, int nr_before,
				 const struct allocator *after, int nr_after,
				 const struct ksalloc_framing *fr)
{
	const struct allocator *a, *mine = NULL;

	for (a = after; a < after + nr_after; a++) {
		if (find_id(before, nr_before, a->val[K_ID]) ||
		    a->val[K_FRAMES] != fr->frames || a->val[K_FRAME_SIZE] != fr->frame_size ||
		    a->val[K_ALIGNMENT] != fr->alignment || a->val[K_OPTIONS] != fr->options ||
		    strcmp(a->pool, pool_name(fr->pool_type)))
			continue;
		if (mine)
			return 0;
		mine = a;
	}
	return mine ? mine->val[K_ID] : 0;
}

/* Blocked, SIGINT and SIGTERM wait for sigwaitinfo() or sigtimedwait(). */
static void block_stop_signals(sigset_t *stop)
{
	sigemptyset(stop);
	sigaddset(stop, SIGINT);
	sigaddset(stop, SIGTERM);
	if (sigprocmask(SIG_BLOCK, stop, NULL))
		die("sigprocmask");
}

static int cmd_create(int argc, char **argv)
{
	struct ksalloc_framing fr = { .frames = 8, .frame_size = 4096 };
	struct allocator *before = NULL, *after = NULL;
	int fd, opt, nr_before, nr_after = -1;
	struct ksalloc_frame_handle fh;
	struct ksalloc_status st;
	unsigned long long id;
	__u32 take = 0, i;
	sigset_t stop;

	while ((opt = getopt_long(argc, argv, ":n:s:a:p:o:t:h", create_opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			fr.frames = parse_num("frame count", optarg, UINT32_MAX);
			break;
		case 's':
			fr.frame_size = parse_num("frame size", optarg, UINT32_MAX);
			break;
		case 'a':
			fr.alignment = parse_num("alignment", optarg, UINT32_MAX);
			break;
		case 'p':
			for (fr.pool_type = 0; fr.pool_type < ARRAY_SIZE(pools); fr.pool_type++)
				if (!strcmp(optarg, pools[fr.pool_type]))
					break;
			if (fr.pool_type == ARRAY_SIZE(pools))
				usage_error("pool '%s': not atomic or sleepable", optarg);
			break;
		case 'o':
			fr.options = parse_num("options", optarg, UINT32_MAX);
			break;
		case 't':
			take = parse_num("frames to take", optarg, UINT32_MAX);
			break;
		case 'h':
			return usage(stdout, 0);
		default:
			bad_option(opt, argv);
		}
	}
	if (optind != argc)
		usage_error("unexpected argument '%s'", argv[optind]);

	block_stop_signals(&stop);
	/* Without debugfs, the allocator is still made: its id is then "?". */
	nr_before = read_allocators(&before);
	/* Nonblocking: taking more frames than there are fails instead of waiting. */
	fd = open(KSALLOC_DEV, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		die("open " KSALLOC_DEV);
	if (ioctl(fd, KSALLOC_IOC_SET_FRAMING, &fr))
		die("setting the framing (KSALLOC_IOC_SET_FRAMING)");
	for (i = 0; i < take; i++) {
		fh = (struct ksalloc_frame_handle){ 0 };
		if (ioctl(fd, KSALLOC_IOC_ALLOC_FRAME, &fh))
			err(1, "taking frame %u of %u (KSALLOC_IOC_ALLOC_FRAME)", i + 1, take);
	}
	if (ioctl(fd, KSALLOC_IOC_GET_STATUS, &st))
		die("KSALLOC_IOC_GET_STATUS");

	if (nr_before >= 0)
		nr_after = read_allocators(&after);
	id = nr_after >= 0 ? own_id(before, nr_before, after, nr_after, &fr) : 0;
	if (id)
		printf("allocator %llu:", id);
	else
		printf("allocator ?:");
	printf(" %u frames of %u bytes, alignment %u, pool %s, options 0x%x\n",
	       st.framing.frames, st.framing.frame_size, st.framing.alignment,
	       pool_name(st.framing.pool_type), st.framing.options);
	printf("allocated %u of %u frames, total_allocations %llu, failed_allocations %llu\n",
	       st.allocated_frames, st.framing.frames,
	       (unsigned long long)st.total_allocations,
	       (unsigned long long)st.failed_allocations);
	printf("holding it until SIGINT or SIGTERM (pid %d)\n", (int)getpid());
	free(before);
	free(after);

	while (sigwaitinfo(&stop, NULL) < 0)
		if (errno != EINTR)
			die("sigwaitinfo");
	/* The last reference: the module takes the frames back and frees the allocator. */
	if (close(fd))
		die("close " KSALLOC_DEV);
	printf("released the allocator\n");
	return 0;
}

static int cmd_status(int argc, char **argv)
{
	struct allocator *list = NULL;
	int opt, n, i, missing = 0;

	opt = getopt_long(argc, argv, ":h", help_opts, NULL);
	if (opt == 'h')
		return usage(stdout, 0);
	if (opt != -1)
		bad_option(opt, argv);
	parse_ids(argc - optind, argv + optind);

	n = read_allocators(&list);
	if (n < 0)
		return -n;
	if (!n && !nr_ids) {
		printf("no allocators\n");
		return 0;
	}
	print_cells(NULL, K_POOL);
	printf("\n");
	for (i = 0; i < n; i++) {
		if (!wanted(&list[i]))
			continue;
		print_cells(&list[i], K_POOL);
		printf("\n");
	}
	for (i = 0; i < nr_ids; i++) {
		if (find_id(list, n, ids[i]))
			continue;
		warnx("allocator %llu: no such allocator", ids[i]);
		missing = 1;
	}
	free(list);
	return missing;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void print_rate(const struct allocator *a, const struct allocator *prev, int k,
		       double secs)
{
	if (!prev || !(a->present & prev->present & (1U << k)) || secs <= 0 ||
	    a->val[k] < prev->val[k])
		printf(" %9s", "-");
	else
		printf(" %9.1f", (a->val[k] - prev->val[k]) / secs);
}

static int cmd_watch(int argc, char **argv)
{
	unsigned int interval = 1000, count = 0, sample;
	struct allocator *list, *prev = NULL;
	struct timespec ts;
	double start, t, prev_t = 0;
	const struct allocator *p;
	int opt, n, i, nr_prev = 0;
	bool shown;
	sigset_t stop;

	while ((opt = getopt_long(argc, argv, ":i:c:h", help_opts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			interval = parse_num("interval", optarg, 3600000);
			if (!interval)
				usage_error("interval '%s': not above 0", optarg);
			break;
		case 'c':
			count = parse_num("count", optarg, UINT_MAX);
			break;
		case 'h':
			return usage(stdout, 0);
		default:
			bad_option(opt, argv);
		}
	}
	parse_ids(argc - optind, argv + optind);

	block_stop_signals(&stop);
	ts.tv_sec = interval / 1000;
	ts.tv_nsec = interval % 1000 * 1000000L;
	start = now();
	for (sample = 0; !count || sample < count; sample++) {
		/* The rates divide by the time measured: a late sample is no error. */
		if (sample && sigtimedwait(&stop, NULL, &ts) > 0)
			break;
		t = now();
		n = read_allocators(&list);
		if (n < 0)
			return -n;
		if (!sample) {
			printf("%8s", "TIME");
			print_cells(NULL, K_ALLOCATED);
			printf(" %9s %9s\n", "ALLOC/S", "FAILED/S");
		}
		shown = false;
		for (i = 0; i < n; i++) {
			if (!wanted(&list[i]))
				continue;
			p = find_id(prev, nr_prev, list[i].val[K_ID]);
			printf("%8.3f", t - start);
			print_cells(&list[i], K_ALLOCATED);
			print_rate(&list[i], p, K_TOTAL, t - prev_t);
			print_rate(&list[i], p, K_FAILED, t - prev_t);
			printf("\n");
			shown = true;
		}
		if (!shown)
			printf("%8.3f %*s no allocators\n", t - start, keys[K_ID].width, "-");
		free(prev);
		prev = list;
		nr_prev = n;
		prev_t = t;
	}
	free(prev);
	return 0;
}

int main(int argc, char **argv)
{
	/* Line by line, also into a pipe or a file: watch is read as it runs. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	opterr = 0;
	if (argc < 2)
		usage_error("no command given");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return usage(stdout, 0);
	if (!strcmp(argv[1], "--version")) {
		printf("ksallocctl " KSALLOCCTL_VERSION "\n");
		return 0;
	}
	if (!strcmp(argv[1], "create"))
		return cmd_create(argc - 1, argv + 1);
	if (!strcmp(argv[1], "status"))
		return cmd_status(argc - 1, argv + 1);
	if (!strcmp(argv[1], "watch"))
		return cmd_watch(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		usage_error("unknown option '%s'", argv[1]);
	usage_error("unknown command '%s'", argv[1]);
}
