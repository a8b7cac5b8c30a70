// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Per-thread asynchronous I/O through io_uring, with a synchronous fallback.
 *
 * Each submitted operation carries a struct uring_op whose address is the
 * sqe's user_data; the completion loop hands the result back to it.  In
 * fallback mode data operations run as plain syscalls and complete before
 * the submit call returns, and poll operations are kept in a small table
 * that uring_run() serves with poll(2).
 */
#include "uring.h"

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

/* Poll waits a thread can have pending at once in fallback mode: the kick
 * fd and the stop fd of one queue worker. */
#define FALLBACK_MAX_POLLS 8

struct fallback_poll {
	int fd;
	struct uring_op *op;
	uint64_t *rbuf;         /* uring_read_eventfd: read it when it fires */
};

struct uring {
	bool async;
	bool no_skip;           /* the kernel refused IOSQE_CQE_SKIP_SUCCESS */
	bool inline_io;         /* uring_set_inline */
	/* Small buffered writes would go to a kernel worker thread (see
	 * write_inline()): learned from a RWF_NOWAIT attempt, made again
	 * every WRITE_PROBE_EVERY small writes (the share may span
	 * filesystems). */
	bool write_punts;
	int small_write_fd;     /* of the batch's last small write, or -1 */
	unsigned int write_probe;
	unsigned int inflight;
	struct io_uring ring;
	struct fallback_poll polls[FALLBACK_MAX_POLLS];
	unsigned int npolls;
};

static atomic_bool force_fallback;
static atomic_flag fallback_logged = ATOMIC_FLAG_INIT;

void uring_force_fallback(bool force)
{
	atomic_store(&force_fallback, force);
}

/*
 * The only operations a vfsd ring may run.  seccomp cannot see what is
 * submitted through io_uring (an IORING_OP_OPENAT or CONNECT would bypass
 * the syscall filter), so the ring itself refuses everything else: the cqe
 * of any other opcode is -EACCES.  sqe flags (IOSQE_*) are refused too.
 * Add an opcode here when a submit function below starts using it.
 */
static const uint8_t allowed_ops[] = {
	IORING_OP_READV,        /* uring_readv */
	IORING_OP_WRITEV,       /* uring_writev */
	IORING_OP_FSYNC,        /* uring_fsync */
	IORING_OP_POLL_ADD,     /* uring_poll_in */
	IORING_OP_READ,         /* uring_read_eventfd */
	IORING_OP_WRITE,        /* uring_write_eventfd */
};

int uring_ring_init(struct io_uring *ring, unsigned int entries)
{
	/* One more entry: the sqe flags allowed (see uring_write_eventfd). */
	struct io_uring_restriction res[sizeof(allowed_ops) + 1] = { 0 };
	int ret;

	/* Created disabled: nothing can be submitted before the restrictions
	 * are in place. */
	ret = io_uring_queue_init(entries, ring, IORING_SETUP_R_DISABLED);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < sizeof(allowed_ops); i++) {
		res[i].opcode = IORING_RESTRICTION_SQE_OP;
		res[i].sqe_op = allowed_ops[i];
	}
	res[sizeof(allowed_ops)].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
	res[sizeof(allowed_ops)].sqe_flags = IOSQE_CQE_SKIP_SUCCESS;
	/* The raw syscall: Debian's liburing 2.3 declares
	 * io_uring_register_restrictions() but its .so does not export it. */
	if (syscall(SYS_io_uring_register, ring->ring_fd,
		    IORING_REGISTER_RESTRICTIONS, res, sizeof(allowed_ops) + 1) < 0 ||
	    syscall(SYS_io_uring_register, ring->ring_fd,
		    IORING_REGISTER_ENABLE_RINGS, NULL, 0) < 0) {
		ret = -errno;
		io_uring_queue_exit(ring);
		return ret;
	}
	return 0;
}

int uring_new(struct uring **out, unsigned int entries)
{
	struct uring *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return -ENOMEM;
	r->small_write_fd = -1;
	if (!atomic_load(&force_fallback)) {
		ret = uring_ring_init(&r->ring, entries);
		if (ret == 0) {
			r->async = true;
			*out = r;
			return 0;
		}
		if (!atomic_flag_test_and_set(&fallback_logged))
			log_warn_errno(ret, "io_uring unavailable, using plain syscalls");
	}
	*out = r;
	return 0;
}

int uring_new_sync(struct uring **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

bool uring_is_async(const struct uring *ring)
{
	return ring->async;
}

void uring_submit(struct uring *r)
{
	if (r->async && io_uring_sq_ready(&r->ring))
		io_uring_submit(&r->ring);
}

bool uring_ready(const struct uring *r)
{
	return r->async && io_uring_cq_ready(&r->ring) > 0;
}

unsigned int uring_inflight(const struct uring *ring)
{
	return ring->inflight;
}

/* A free sqe, submitting what is queued when the SQ is full. */
static struct io_uring_sqe *get_sqe(struct uring *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

	if (!sqe) {
		io_uring_submit(&r->ring);
		sqe = io_uring_get_sqe(&r->ring);
	}
	return sqe;
}

static void queued(struct uring *r, struct io_uring_sqe *sqe,
		   struct uring_op *op)
{
	io_uring_sqe_set_data(sqe, op);
	r->inflight++;
}

static int complete_inline(struct uring_op *op, ssize_t res)
{
	op->complete(op, res < 0 ? -errno : (int)res);
	return 0;
}

void uring_set_inline(struct uring *r, bool on)
{
	r->inline_io = on;
}

void uring_batch_start(struct uring *r)
{
	r->small_write_fd = -1;
}

/* io-wq runs buffered writes to one file one after the other on one kernel
 * thread: a second small write to the file the batch's previous one went
 * to gains nothing from the ring but a wake-up; writes to different files
 * (a guest creating many small files) run beside each other and beside the
 * worker's own syscalls, so they keep going through the ring. */
static bool same_file_again(struct uring *r, int fd)
{
	bool again = fd == r->small_write_fd;

	r->small_write_fd = fd;
	return again;
}

static size_t iov_total(const struct iovec *iov, unsigned int iovcnt)
{
	size_t n = 0;

	for (unsigned int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

int uring_readv(struct uring *r, struct uring_op *op, int fd,
		const struct iovec *iov, unsigned int iovcnt, off_t offset)
{
	struct io_uring_sqe *sqe;

	if (!r->async)
		return complete_inline(op, preadv(fd, iov, (int)iovcnt, offset));
	if (r->inline_io) {
		/* Only what the page cache holds: a read that would block
		 * (or comes back short: maybe partly cached, maybe EOF) goes
		 * through the ring, so that it cannot stall the queue. */
		ssize_t n = preadv2(fd, iov, (int)iovcnt, offset, RWF_NOWAIT);

		if (n >= 0 && (size_t)n == iov_total(iov, iovcnt))
			return complete_inline(op, n);
		if (n < 0 && errno != EAGAIN && errno != EOPNOTSUPP)
			return complete_inline(op, n);
	}
	sqe = get_sqe(r);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_readv(sqe, fd, iov, iovcnt, (uint64_t)offset);
	queued(r, sqe, op);
	return 0;
}

#define WRITE_PROBE_EVERY 4096

/* After a short RWF_NOWAIT write of done bytes: the rest, blocking, so that
 * the guest sees a short write only where a plain pwritev2 would give one.
 * Returns the bytes written in all (an error after progress is dropped,
 * as a short write). */
static ssize_t write_rest(int fd, const struct iovec *iov, unsigned int iovcnt,
			  off_t offset, int rwf_flags, size_t done)
{
	size_t skip = done;

	for (unsigned int i = 0; i < iovcnt; i++) {
		struct iovec part;
		ssize_t n;

		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		part.iov_base = (char *)iov[i].iov_base + skip;
		part.iov_len = iov[i].iov_len - skip;
		skip = 0;
		n = pwritev2(fd, &part, 1, offset + (off_t)done, rwf_flags);
		if (n <= 0)
			break;
		done += (size_t)n;
		if ((size_t)n < part.iov_len)
			break;
	}
	return (ssize_t)done;
}

/*
 * A small buffered write, in a batch that goes through the ring: whether to
 * do it here instead.  io_uring cannot finish a buffered write without
 * blocking on a filesystem that lacks async buffered writes (ext4, tmpfs):
 * it hands it to an io-wq kernel thread, one thread wake-up per write,
 * which costs more than the copy (bench/RESULTS.md, 2026-12-02).  Where the
 * filesystem can (xfs, btrfs), the ring finishes it inside the
 * io_uring_enter the worker makes anyway, cheaper than a pwritev2 each.  A
 * RWF_NOWAIT attempt tells them apart: -EOPNOTSUPP means "never without
 * blocking", and such writes are done here, blocking.
 * Returns true when the write was done (op completed), false: use the ring.
 */
static bool write_inline(struct uring *r, struct uring_op *op, int fd,
			 const struct iovec *iov, unsigned int iovcnt,
			 off_t offset, int rwf_flags)
{
	ssize_t n;

	if (r->write_probe++ % WRITE_PROBE_EVERY == 0) {
		n = pwritev2(fd, iov, (int)iovcnt, offset, rwf_flags | RWF_NOWAIT);
		if (n < 0 && errno == EOPNOTSUPP) {
			r->write_punts = true;
		} else if (n < 0 && errno == EAGAIN) {
			r->write_punts = false;
			return false;   /* would block now: the ring's worker */
		} else {
			/* Done (the filesystem can, or an error that a plain
			 * write would give as well). */
			if (n >= 0)
				r->write_punts = false;
			if (n > 0)
				n = write_rest(fd, iov, iovcnt, offset,
					       rwf_flags, (size_t)n);
			complete_inline(op, n);
			return true;
		}
	}
	if (!r->write_punts)
		return false;
	complete_inline(op, pwritev2(fd, iov, (int)iovcnt, offset, rwf_flags));
	return true;
}

int uring_writev(struct uring *r, struct uring_op *op, int fd,
		 const struct iovec *iov, unsigned int iovcnt, off_t offset,
		 int rwf_flags)
{
	bool small = (rwf_flags & URING_WRITE_BUFFERED) &&
		     iov_total(iov, iovcnt) <= URING_INLINE_WRITE_MAX;
	struct io_uring_sqe *sqe;

	rwf_flags &= ~URING_WRITE_BUFFERED;
	if (!r->async || r->inline_io)
		return complete_inline(op, pwritev2(fd, iov, (int)iovcnt,
						    offset, rwf_flags));
	if (small && same_file_again(r, fd) &&
	    write_inline(r, op, fd, iov, iovcnt, offset, rwf_flags))
		return 0;
	sqe = get_sqe(r);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_writev(sqe, fd, iov, iovcnt, (uint64_t)offset);
	sqe->rw_flags = rwf_flags;
	queued(r, sqe, op);
	return 0;
}

int uring_fsync(struct uring *r, struct uring_op *op, int fd, bool datasync)
{
	struct io_uring_sqe *sqe;

	if (!r->async)
		return complete_inline(op, datasync ? fdatasync(fd) : fsync(fd));
	sqe = get_sqe(r);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_fsync(sqe, fd, datasync ? IORING_FSYNC_DATASYNC : 0);
	queued(r, sqe, op);
	return 0;
}

int uring_poll_in(struct uring *r, struct uring_op *op, int fd)
{
	struct io_uring_sqe *sqe;

	if (!r->async) {
		if (r->npolls == FALLBACK_MAX_POLLS)
			return -EBUSY;
		r->polls[r->npolls++] = (struct fallback_poll){ fd, op, NULL };
		r->inflight++;
		return 0;
	}
	sqe = get_sqe(r);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_poll_add(sqe, fd, POLLIN);
	queued(r, sqe, op);
	return 0;
}

int uring_read_eventfd(struct uring *r, struct uring_op *op, int fd,
		       uint64_t *buf)
{
	struct io_uring_sqe *sqe;

	if (!r->async) {
		if (r->npolls == FALLBACK_MAX_POLLS)
			return -EBUSY;
		r->polls[r->npolls++] = (struct fallback_poll){ fd, op, buf };
		r->inflight++;
		return 0;
	}
	sqe = get_sqe(r);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_read(sqe, fd, buf, sizeof(*buf), 0);
	queued(r, sqe, op);
	return 0;
}

static const uint64_t eventfd_one = 1;

static void write_eventfd_now(int fd)
{
	/* EAGAIN: the counter is saturated, its reader will wake anyway. */
	while (write(fd, &eventfd_one, sizeof(eventfd_one)) < 0 && errno == EINTR)
		;
}

/*
 * Fire and forget: IOSQE_CQE_SKIP_SUCCESS posts no completion on success,
 * so the write neither wakes the next wait nor needs a uring_op.  A failed
 * one comes back tagged (EVENTFD_TAG | fd in user_data) and is redone with
 * write(2); a kernel without the flag (< 5.17) gets write(2) from then on.
 */
#define EVENTFD_TAG (1ull << 63)

void uring_write_eventfd(struct uring *r, int fd)
{
	struct io_uring_sqe *sqe;

	if (!r->async || r->no_skip || fd < 0) {
		write_eventfd_now(fd);
		return;
	}
	sqe = get_sqe(r);
	if (!sqe) {
		write_eventfd_now(fd);
		return;
	}
	io_uring_prep_write(sqe, fd, &eventfd_one, sizeof(eventfd_one), 0);
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	sqe->user_data = EVENTFD_TAG | (uint32_t)fd;
}

static void eventfd_failed(struct uring *r, uint64_t data, int res)
{
	if (res == -EINVAL || res == -EACCES)
		r->no_skip = true;
	if (res != -EAGAIN)
		write_eventfd_now((int)(uint32_t)data);
}

static int run_fallback(struct uring *r, bool wait)
{
	struct pollfd pfd[FALLBACK_MAX_POLLS];
	unsigned int n = r->npolls, i, done = 0;
	int ret;

	for (i = 0; i < n; i++)
		pfd[i] = (struct pollfd){ .fd = r->polls[i].fd, .events = POLLIN };
	do
		ret = poll(pfd, n, wait ? -1 : 0);
	while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return -errno;
	/* Completions may queue new polls: take the fired ones out first. */
	struct fallback_poll fired[FALLBACK_MAX_POLLS];
	unsigned int nfired = 0, kept = 0;
	for (i = 0; i < n; i++) {
		if (pfd[i].revents)
			fired[nfired++] = r->polls[i];
		else
			r->polls[kept++] = r->polls[i];
	}
	/* Polls added after the snapshot (none: we did not run callbacks). */
	r->npolls = kept;
	for (i = 0; i < nfired; i++) {
		int res = POLLIN;

		r->inflight--;
		if (fired[i].rbuf) {
			ssize_t got = read(fired[i].fd, fired[i].rbuf,
					   sizeof(*fired[i].rbuf));

			res = got < 0 ? -errno : (int)got;
		}
		fired[i].op->complete(fired[i].op, res);
		done++;
	}
	return (int)done;
}

int uring_run(struct uring *r, bool wait)
{
	struct io_uring_cqe *cqe;
	int ret, done = 0;

	if (!r->async)
		return run_fallback(r, wait);
	do
		ret = io_uring_submit_and_wait(&r->ring, wait ? 1 : 0);
	while (ret == -EINTR);
	if (ret < 0)
		return ret;
	/* Run every completion available now; callbacks may submit more,
	 * which the next call sends. */
	while (io_uring_peek_cqe(&r->ring, &cqe) == 0) {
		struct uring_op *op = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		if (cqe->user_data & EVENTFD_TAG) {
			uint64_t data = cqe->user_data;

			io_uring_cqe_seen(&r->ring, cqe);
			eventfd_failed(r, data, res);
			continue;
		}

		io_uring_cqe_seen(&r->ring, cqe);
		r->inflight--;
		op->complete(op, res);
		done++;
	}
	return done;
}

void uring_free(struct uring *r)
{
	if (!r)
		return;
	if (r->async)
		io_uring_queue_exit(&r->ring);
	free(r);
}
