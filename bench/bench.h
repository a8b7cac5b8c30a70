/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vfsd-bench: shared definitions of the load generator (vhost-user front-end
 * mode, bench_fuse.c) and of the native baseline (plain syscalls in-process,
 * bench_native.c).  Both run the same workloads on the same files and print
 * the same machine-readable line per run (bench_report).
 */
#ifndef VFSD_BENCH_H
#define VFSD_BENCH_H

#include <stdbool.h>
#include <stdint.h>

enum bench_workload {
	WL_GETATTR,     /* GETATTR of one file            | fstatat */
	WL_LOOKUP,      /* LOOKUP + FORGET of one name     | fstatat */
	WL_READ4K,      /* 4 KiB READ, random offsets      | pread */
	WL_WRITE4K,     /* 4 KiB WRITE, random offsets     | pwrite */
	WL_SEQREAD,     /* 1 MiB READ, sequential          | pread */
	WL_SEQWRITE,    /* 1 MiB WRITE, sequential         | pwrite */
	WL_META,        /* CREATE, WRITE 4 KiB, RELEASE, UNLINK (+FORGET)
			 * | open(O_CREAT|O_EXCL), pwrite, close, unlink */
	WL_COUNT,
};

#define BENCH_READ_FILE "bench-r.dat"
#define BENCH_WRITE_FILE "bench-w.dat"
#define BENCH_INODE_DIR "bench-inodes"
#define BENCH_SMALL_IO 4096u
#define BENCH_BIG_IO (1u << 20)
#define BENCH_MAX_DEPTH 128
#define BENCH_MAX_FORGETS 128   /* FORGETs in flight at most */

struct bench_opts {
	const char *socket;         /* NULL: native mode */
	const char *dir;            /* the host directory the back-end shares */
	const char *label;          /* "vfsd", "virtiofsd", "native", ... */
	bool workloads[WL_COUNT];
	unsigned int depths[8];
	unsigned int ndepths;
	double seconds;             /* measured time per run */
	double warmup;              /* seconds before measuring */
	unsigned int queues;        /* request queues to use (front-end) */
	unsigned int file_mib;      /* size of the data files */
	bool busy_poll;             /* front-end spins instead of sleeping */
	int backend_pid;            /* > 0: measure its resident memory */
	unsigned int inodes;        /* LOOKUPs for the per-inode figure */
	unsigned int forget_window; /* FORGETs in flight on hiprio at most */
};

/* Latency histogram: log-linear buckets (1/32 of a power of two). */
#define HIST_BUCKETS 2048

struct bench_stats {
	uint64_t ops;               /* completed operations, checked good */
	uint64_t errors;            /* failed or malformed replies */
	uint64_t bytes;             /* data moved by good operations */
	uint64_t hist[HIST_BUCKETS];
	uint64_t t_start_ns;
	uint64_t t_end_ns;
};

struct bench_run {
	enum bench_workload wl;
	unsigned int depth;
	unsigned int queues;
	uint32_t io_size;           /* data bytes per READ/WRITE request */
	const char *mode;           /* how depth was achieved (native) */
};

void bench_clock_init(void);
uint64_t bench_now_ns(void);
void bench_stats_reset(struct bench_stats *s, uint64_t now);
void bench_record(struct bench_stats *s, uint64_t lat_ns);
void bench_report(const struct bench_opts *o, const struct bench_run *run,
		  const struct bench_stats *s, const char *extra);
const char *bench_workload_name(enum bench_workload wl);
int bench_workload_parse(const char *name);
bool bench_is_write(enum bench_workload wl);
bool bench_is_data(enum bench_workload wl);
uint32_t bench_io_size(enum bench_workload wl);
/* getpid(), asked once: the meta loop names files with it, and a syscall
 * per loop was 11% of the load generator's time. */
int bench_pid(void);

/* Create the data files in dir (idempotent; sized file_mib MiB). */
int bench_prepare_files(const struct bench_opts *o);
/* Remove leftovers of the metadata loop. */
void bench_cleanup_files(const struct bench_opts *o);

/* xorshift64*: offsets for random I/O. */
static inline uint64_t bench_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

/* Run every selected workload at every depth; 0 or -errno (setup failure).
 * Errors of individual requests are counted, not returned. */
int bench_fuse(const struct bench_opts *o);
int bench_native(const struct bench_opts *o);

#endif
