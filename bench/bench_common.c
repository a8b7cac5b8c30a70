// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Statistics, the report line and the data files, shared by the front-end
 * mode and the native baseline.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>

static const char *const names[WL_COUNT] = {
	[WL_GETATTR] = "getattr",
	[WL_LOOKUP] = "lookup",
	[WL_READ4K] = "randread4k",
	[WL_WRITE4K] = "randwrite4k",
	[WL_SEQREAD] = "seqread1m",
	[WL_SEQWRITE] = "seqwrite1m",
	[WL_META] = "meta",
};

const char *bench_workload_name(enum bench_workload wl)
{
	return names[wl];
}

int bench_workload_parse(const char *name)
{
	for (int i = 0; i < WL_COUNT; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -EINVAL;
}

bool bench_is_write(enum bench_workload wl)
{
	return wl == WL_WRITE4K || wl == WL_SEQWRITE;
}

bool bench_is_data(enum bench_workload wl)
{
	return wl == WL_READ4K || wl == WL_WRITE4K || wl == WL_SEQREAD ||
	       wl == WL_SEQWRITE;
}

uint32_t bench_io_size(enum bench_workload wl)
{
	return (wl == WL_SEQREAD || wl == WL_SEQWRITE) ? BENCH_BIG_IO :
							 BENCH_SMALL_IO;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Two timestamps per operation must cost next to nothing: in a VM without a
 * vDSO clock (kvm-clock marked unstable) clock_gettime is a real syscall of
 * several microseconds, which would dominate the figures.  On x86 the TSC
 * (constant and nonstop on every CPU this runs on) is read instead and
 * scaled by a calibration against CLOCK_MONOTONIC.
 */
#if defined(__x86_64__)
#include <x86intrin.h>

static double ns_per_tick;
static uint64_t tsc0, mono0;

void bench_clock_init(void)
{
	uint64_t t1, m1;
	struct timespec d = { 0, 50 * 1000 * 1000 };

	tsc0 = __rdtsc();
	mono0 = mono_ns();
	nanosleep(&d, NULL);
	t1 = __rdtsc();
	m1 = mono_ns();
	ns_per_tick = (double)(m1 - mono0) / (double)(t1 - tsc0);
}

uint64_t bench_now_ns(void)
{
	return mono0 + (uint64_t)((double)(__rdtsc() - tsc0) * ns_per_tick);
}
#else
void bench_clock_init(void)
{
}

uint64_t bench_now_ns(void)
{
	return mono_ns();
}
#endif

void bench_stats_reset(struct bench_stats *s, uint64_t now)
{
	memset(s, 0, sizeof(*s));
	s->t_start_ns = now;
}

static unsigned int bucket_of(uint64_t v)
{
	unsigned int msb, shift;

	if (v < 64)
		return (unsigned int)v;
	msb = 63u - (unsigned int)__builtin_clzll(v);
	shift = msb - 5;
	v = 64 + (uint64_t)(shift - 1) * 32 + ((v >> shift) - 32);
	return v < HIST_BUCKETS ? (unsigned int)v : HIST_BUCKETS - 1;
}

/* Lower bound of a bucket, plus half its width: the value reported. */
static double bucket_value(unsigned int b)
{
	unsigned int shift;

	if (b < 64)
		return b;
	shift = (b - 64) / 32 + 1;
	return (double)((uint64_t)(32 + (b - 64) % 32) << shift) +
	       (double)(1ull << shift) / 2;
}

void bench_record(struct bench_stats *s, uint64_t lat_ns)
{
	s->hist[bucket_of(lat_ns)]++;
}

static double percentile(const struct bench_stats *s, double p)
{
	uint64_t total = 0, want, seen = 0;

	for (unsigned int b = 0; b < HIST_BUCKETS; b++)
		total += s->hist[b];
	if (!total)
		return 0;
	want = (uint64_t)(p * (double)total);
	if (want >= total)
		want = total - 1;
	for (unsigned int b = 0; b < HIST_BUCKETS; b++) {
		seen += s->hist[b];
		if (seen > want)
			return bucket_value(b);
	}
	return 0;
}

void bench_report(const struct bench_opts *o, const struct bench_run *run,
		  const struct bench_stats *s, const char *extra)
{
	double secs = (double)(s->t_end_ns - s->t_start_ns) / 1e9;

	if (secs <= 0)
		secs = 1e-9;
	printf("bench=vfsd-bench label=%s workload=%s depth=%u queues=%u "
	       "io_size=%u secs=%.3f ops=%llu errors=%llu ops_s=%.0f "
	       "mb_s=%.1f p50_us=%.2f p99_us=%.2f mode=%s%s%s\n",
	       o->label, bench_workload_name(run->wl), run->depth, run->queues,
	       run->io_size, secs, (unsigned long long)s->ops,
	       (unsigned long long)s->errors, (double)s->ops / secs,
	       (double)s->bytes / secs / 1e6,
	       percentile(s, 0.50) / 1e3, percentile(s, 0.99) / 1e3,
	       run->mode ? run->mode : "-", extra ? " " : "",
	       extra ? extra : "");
	fflush(stdout);
}

static int make_file(const char *dir, const char *name, uint64_t size)
{
	char path[4096];
	struct stat st;
	char *buf;
	int fd, r = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size == size)
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = -errno;
		fprintf(stderr, "vfsd-bench: create %s: %s\n", path, strerror(errno));
		return r;
	}
	buf = malloc(BENCH_BIG_IO);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (uint64_t off = 0; off < size && r == 0; off += BENCH_BIG_IO) {
		for (size_t i = 0; i < BENCH_BIG_IO; i += 8)
			memcpy(buf + i, &off, 8);
		if (pwrite(fd, buf, BENCH_BIG_IO, (off_t)off) != BENCH_BIG_IO) {
			r = -EIO;
			fprintf(stderr, "vfsd-bench: write %s failed\n", path);
		}
	}
	free(buf);
	close(fd);
	return r;
}

/* Empty files for the per-inode memory figure. */
static int make_inode_files(const struct bench_opts *o)
{
	char path[4096];
	int dfd, fd;

	snprintf(path, sizeof(path), "%s/%s", o->dir, BENCH_INODE_DIR);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	for (unsigned int i = 0; i < o->inodes; i++) {
		snprintf(path, sizeof(path), "f%u", i);
		fd = openat(dfd, path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0) {
			int r = -errno;

			close(dfd);
			return r;
		}
		close(fd);
	}
	close(dfd);
	return 0;
}

int bench_prepare_files(const struct bench_opts *o)
{
	uint64_t size = (uint64_t)o->file_mib << 20;
	int r;

	r = make_file(o->dir, BENCH_READ_FILE, size);
	if (r == 0)
		r = make_file(o->dir, BENCH_WRITE_FILE, size);
	if (r == 0 && o->backend_pid > 0)
		r = make_inode_files(o);
	return r;
}

void bench_cleanup_files(const struct bench_opts *o)
{
	DIR *d = opendir(o->dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strncmp(e->d_name, "meta-", 5) == 0)
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

int bench_pid(void)
{
	static int pid;

	if (!pid)
		pid = (int)getpid();
	return pid;
}
