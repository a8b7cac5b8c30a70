// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The native baseline: the same workloads as plain syscalls in this process,
 * on the same files, so that a back-end's rate can be put next to what the
 * host itself does.
 *
 * Depth 1: one thread, one syscall after the other.
 * Depth > 1: data workloads keep `depth` READ/WRITE operations in flight
 * through one io_uring ring (one thread; the page cache serves most of them
 * at submission).  The metadata workloads (getattr, lookup, meta) have no
 * useful asynchronous form on this kernel (io_uring's statx/openat/unlinkat
 * go through kernel worker threads), so at depth > 1 they run the same
 * one-thread syscall loop as at depth 1: mode= in the report line says so.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct nbench {
	const struct bench_opts *o;
	int dirfd;
	int fd_read, fd_write;
	uint64_t file_size;
	uint64_t seq_off;
	uint64_t rng;
	uint64_t meta_seq;
	char *buf;                  /* BENCH_MAX_DEPTH x 1 MiB */
};

static uint64_t next_offset(struct nbench *n, enum bench_workload wl,
			    uint32_t io)
{
	uint64_t off;

	if (wl == WL_SEQREAD || wl == WL_SEQWRITE) {
		off = n->seq_off;
		n->seq_off += io;
		if (n->seq_off + io > n->file_size)
			n->seq_off = 0;
		return off;
	}
	return (bench_rand(&n->rng) % (n->file_size / io)) * io;
}

/* One operation, synchronously: bytes moved, or -errno. */
static int64_t sync_op(struct nbench *n, enum bench_workload wl, uint32_t io)
{
	struct stat st;
	char name[64];
	ssize_t r;
	int fd;

	switch (wl) {
	case WL_GETATTR:
	case WL_LOOKUP:
		return fstatat(n->dirfd, BENCH_READ_FILE, &st,
			       AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
	case WL_READ4K:
	case WL_SEQREAD:
		r = pread(n->fd_read, n->buf, io,
			  (off_t)next_offset(n, wl, io));
		return r == (ssize_t)io ? r : r < 0 ? -errno : -EIO;
	case WL_WRITE4K:
	case WL_SEQWRITE:
		r = pwrite(n->fd_write, n->buf, io,
			   (off_t)next_offset(n, wl, io));
		return r == (ssize_t)io ? r : r < 0 ? -errno : -EIO;
	case WL_META:
		snprintf(name, sizeof(name), "meta-%d-%llu", bench_pid(),
			 (unsigned long long)n->meta_seq++);
		fd = openat(n->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
			    0644);
		if (fd < 0)
			return -errno;
		r = pwrite(fd, n->buf, BENCH_SMALL_IO, 0);
		close(fd);
		if (unlinkat(n->dirfd, name, 0) < 0)
			return -errno;
		return r == BENCH_SMALL_IO ? r : -EIO;
	default:
		return -EINVAL;
	}
}

static void run_sync(struct nbench *n, enum bench_workload wl,
		     struct bench_stats *st, uint64_t t_measure,
		     uint64_t t_stop)
{
	uint32_t io = bench_io_size(wl);
	bool measuring = false;

	for (;;) {
		uint64_t t0 = bench_now_ns(), t1;
		int64_t r = sync_op(n, wl, io);

		t1 = bench_now_ns();
		if (measuring) {
			if (r >= 0) {
				st->ops++;
				st->bytes += (uint64_t)r;
				bench_record(st, t1 - t0);
			} else {
				st->errors++;
			}
		} else if (t1 >= t_measure) {
			bench_stats_reset(st, t1);
			measuring = true;
		}
		if (t1 >= t_stop)
			break;
	}
	st->t_end_ns = bench_now_ns();
}

struct nio {
	uint64_t t0;
	char *buf;
};

static int run_uring(struct nbench *n, enum bench_workload wl,
		     unsigned int depth, struct bench_stats *st,
		     uint64_t t_measure, uint64_t t_stop)
{
	uint32_t io = bench_io_size(wl);
	bool write = bench_is_write(wl), measuring = false, stopping = false;
	struct nio ios[BENCH_MAX_DEPTH];
	struct io_uring ring;
	unsigned int inflight = 0;
	int r;

	r = io_uring_queue_init(depth * 2, &ring, 0);
	if (r < 0)
		return r;
	for (unsigned int i = 0; i < depth; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		ios[i].buf = n->buf + (size_t)i * BENCH_BIG_IO;
		ios[i].t0 = bench_now_ns();
		if (write)
			io_uring_prep_write(sqe, n->fd_write, ios[i].buf, io,
					    next_offset(n, wl, io));
		else
			io_uring_prep_read(sqe, n->fd_read, ios[i].buf, io,
					   next_offset(n, wl, io));
		io_uring_sqe_set_data(sqe, &ios[i]);
		inflight++;
	}
	while (inflight) {
		struct io_uring_cqe *cqe;
		unsigned int head, seen = 0;
		uint64_t now;

		r = io_uring_submit_and_wait(&ring, 1);
		if (r < 0 && r != -EINTR)
			break;
		now = bench_now_ns();
		if (!measuring && !stopping && now >= t_measure) {
			bench_stats_reset(st, now);
			measuring = true;
		}
		if (now >= t_stop)
			stopping = true;
		io_uring_for_each_cqe(&ring, head, cqe) {
			struct nio *x = io_uring_cqe_get_data(cqe);

			seen++;
			inflight--;
			if (measuring) {
				if (cqe->res == (int)io) {
					st->ops++;
					st->bytes += io;
					bench_record(st, now - x->t0);
				} else {
					st->errors++;
				}
			}
			if (!stopping) {
				struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

				x->t0 = now;
				if (write)
					io_uring_prep_write(sqe, n->fd_write, x->buf,
							    io, next_offset(n, wl, io));
				else
					io_uring_prep_read(sqe, n->fd_read, x->buf,
							   io, next_offset(n, wl, io));
				io_uring_sqe_set_data(sqe, x);
				inflight++;
			}
		}
		io_uring_cq_advance(&ring, seen);
	}
	st->t_end_ns = bench_now_ns();
	io_uring_queue_exit(&ring);
	return r < 0 && r != -EINTR ? r : 0;
}

int bench_native(const struct bench_opts *o)
{
	struct nbench n = { .o = o, .file_size = (uint64_t)o->file_mib << 20,
			    .rng = 0x9e3779b97f4a7c15ull };
	struct bench_stats *st = calloc(1, sizeof(*st));
	int r = 0;

	n.dirfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	n.fd_read = openat(n.dirfd, BENCH_READ_FILE, O_RDONLY | O_CLOEXEC);
	n.fd_write = openat(n.dirfd, BENCH_WRITE_FILE, O_RDWR | O_CLOEXEC);
	n.buf = aligned_alloc(4096, (size_t)BENCH_MAX_DEPTH * BENCH_BIG_IO);
	if (!st || n.dirfd < 0 || n.fd_read < 0 || n.fd_write < 0 || !n.buf) {
		fprintf(stderr, "vfsd-bench: native setup in %s: %s\n", o->dir,
			strerror(errno));
		r = -EIO;
	}
	if (n.buf)
		memset(n.buf, 0x5a, (size_t)BENCH_MAX_DEPTH * BENCH_BIG_IO);
	for (int wl = 0; wl < WL_COUNT && r == 0; wl++) {
		if (!o->workloads[wl])
			continue;
		for (unsigned int i = 0; i < o->ndepths && r == 0; i++) {
			unsigned int depth = o->depths[i];
			struct bench_run run = { .wl = wl, .depth = depth,
						 .queues = 1,
						 .io_size = bench_io_size(wl) };
			uint64_t now = bench_now_ns();
			uint64_t tm = now + (uint64_t)(o->warmup * 1e9);
			uint64_t ts = tm + (uint64_t)(o->seconds * 1e9);

			n.seq_off = 0;
			bench_stats_reset(st, now);
			if (depth > 1 && bench_is_data(wl)) {
				run.mode = "io_uring";
				r = run_uring(&n, wl, depth, st, tm, ts);
			} else {
				run.mode = "sync";
				run_sync(&n, wl, st, tm, ts);
			}
			if (r == 0)
				bench_report(o, &run, st, NULL);
		}
	}
	free(n.buf);
	free(st);
	if (n.fd_read >= 0)
		close(n.fd_read);
	if (n.fd_write >= 0)
		close(n.fd_write);
	if (n.dirfd >= 0)
		close(n.dirfd);
	return r;
}
