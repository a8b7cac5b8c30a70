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
#include <unistd.h>

#include "log.h"

/* Poll waits a thread can have pending at once in fallback mode: the kick
 * fd and the stop fd of one queue worker. */
#define FALLBACK_MAX_POLLS 8

struct fallback_poll {
	int fd;
	struct uring_op *op;
};

struct uring {
	bool async;
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

int uring_new(struct uring **out, unsigned int entries)
{
	struct uring *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return -ENOMEM;
	if (!atomic_load(&force_fallback)) {
		ret = io_uring_queue_init(entries, &r->ring, 0);
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

bool uring_is_async(const struct uring *ring)
{
	return ring->async;
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

int uring_readv(struct uring *r, struct uring_op *op, int fd,
		const struct iovec *iov, unsigned int iovcnt, off_t offset)
{
	struct io_uring_sqe *sqe;

	if (!r->async)
		return complete_inline(op, preadv(fd, iov, (int)iovcnt, offset));
	sqe = get_sqe(r);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_readv(sqe, fd, iov, iovcnt, (uint64_t)offset);
	queued(r, sqe, op);
	return 0;
}

int uring_writev(struct uring *r, struct uring_op *op, int fd,
		 const struct iovec *iov, unsigned int iovcnt, off_t offset,
		 int rwf_flags)
{
	struct io_uring_sqe *sqe;

	if (!r->async)
		return complete_inline(op, pwritev2(fd, iov, (int)iovcnt,
						    offset, rwf_flags));
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
		r->polls[r->npolls++] = (struct fallback_poll){ fd, op };
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
		r->inflight--;
		fired[i].op->complete(fired[i].op, POLLIN);
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
