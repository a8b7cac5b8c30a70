/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Per-thread asynchronous I/O: an io_uring ring, or plain syscalls when
 * io_uring cannot be set up (old kernel, io_uring_disabled, a container
 * profile).  Callers do not care which: an operation always finishes by
 * calling op->complete exactly once, either later from uring_run() on the
 * same thread, or (fallback) before the submit function returns.
 *
 * A ring belongs to one thread; nothing here is thread-safe.
 */
#ifndef VFSD_URING_H
#define VFSD_URING_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct uring;

struct uring_op {
	/* res: bytes transferred / 0 on success, or -errno. */
	void (*complete)(struct uring_op *op, int res);
};

/* entries: submission queue size.  When io_uring is unavailable, returns a
 * synchronous ring (logged once per process); uring_is_async() tells which. */
int uring_new(struct uring **out, unsigned int entries);
/* The caller must have run every data operation's completion first (the
 * kernel may still be writing into guest memory otherwise); pending polls
 * are cancelled.  NULL is fine. */
void uring_free(struct uring *ring);
bool uring_is_async(const struct uring *ring);
/* A ring that never goes to the kernel: every operation runs as a plain
 * syscall before the submit function returns.  For threads that only serve
 * synchronous requests (a queue's helper threads, --thread-pool-size): a
 * request routed there by mistake still completes, on that thread. */
int uring_new_sync(struct uring **out);

/* Data operations.  The iovecs (array and buffers) and fd must stay valid
 * until complete() runs.  Return 0 when submitted (or completed inline), or
 * -errno when nothing was started (complete() is then NOT called). */
int uring_readv(struct uring *ring, struct uring_op *op, int fd,
		const struct iovec *iov, unsigned int iovcnt, off_t offset);
int uring_writev(struct uring *ring, struct uring_op *op, int fd,
		 const struct iovec *iov, unsigned int iovcnt, off_t offset,
		 int rwf_flags);
/* Not an RWF_ flag, for rwf_flags above: fd is not O_DIRECT.  A buffered
 * write of at most URING_INLINE_WRITE_MAX bytes to the same file as the
 * batch's previous small write then runs as pwritev2 on the calling thread,
 * where the filesystem cannot write without blocking (ext4, tmpfs): the
 * ring would queue it behind that write on a kernel worker thread, a
 * wake-up that costs more than the copy (bench/RESULTS.md, 2026-12-02). */
#define URING_WRITE_BUFFERED    0x40000000
#define URING_INLINE_WRITE_MAX  16384
/* A new batch of requests: its first small write to a file goes through
 * the ring again. */
void uring_batch_start(struct uring *ring);
int uring_fsync(struct uring *ring, struct uring_op *op, int fd, bool datasync);

/* Wait for readability of fd (a kick eventfd, a stop eventfd): one-shot.
 * In fallback mode this is recorded and served by uring_run's poll(). */
int uring_poll_in(struct uring *ring, struct uring_op *op, int fd);

/* Read 8 bytes from an eventfd (a kick) through the ring: one wait point
 * and no read(2) per wake-up.  *buf must stay valid until complete() runs;
 * res is 8 or -errno.  Fallback: poll(2), then read(2). */
int uring_read_eventfd(struct uring *ring, struct uring_op *op, int fd,
		       uint64_t *buf);
/* Signal an eventfd (the guest's call fd) with the next submission batch
 * instead of a write(2) now; no completion callback (a failed write is
 * redone with write(2)).  fd must stay open until the next uring_run.
 * Fallback: write(2) before returning. */
void uring_write_eventfd(struct uring *ring, int fd);

/* While on, readv/writev are served by syscalls on the calling thread and
 * complete before returning: cheaper than a ring round trip when only a
 * few requests are waiting (chosen by measurement, bench/RESULTS.md).
 * Reads use RWF_NOWAIT and still go through the ring when the data is not
 * in the page cache. */
void uring_set_inline(struct uring *ring, bool on);

/* Submit what is queued, wait until at least one completion is available
 * (when wait is true), and run every available completion callback.
 * Returns the number of callbacks run, or -errno. */
int uring_run(struct uring *ring, bool wait);

/* Send what is queued (e.g. the guest's signal) now, without waiting;
 * a no-op when nothing is queued. */
void uring_submit(struct uring *ring);
/* Whether completions are waiting to be run (no syscall). */
bool uring_ready(const struct uring *ring);

/* Number of submitted operations whose completion has not run yet. */
unsigned int uring_inflight(const struct uring *ring);

/* Set up a bare liburing ring the way uring_new() does: created disabled,
 * restricted to the opcodes vfsd submits (others complete with -EACCES),
 * then enabled.  0 or -errno.  For tests of the restriction. */
struct io_uring;
int uring_ring_init(struct io_uring *ring, unsigned int entries);

/* Force the synchronous fallback for rings created after this call (tests,
 * and the --no-io-uring option). */
void uring_force_fallback(bool force);

#endif
