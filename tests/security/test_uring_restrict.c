// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * io_uring restrictions: a ring set up the way vfsd sets up its rings
 * (uring_ring_init) must refuse an opcode vfsd does not use -- an OPENAT
 * would bypass the seccomp filter -- and still run the ones it does.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "vfsd/uring.h"

static struct io_uring ring;

static void setup(void)
{
	int r = uring_ring_init(&ring, 8);

	if (r == -ENOSYS || r == -EPERM)
		cr_skip_test("io_uring not available here (%s)", strerror(-r));
	cr_assert_eq(r, 0, "uring_ring_init: %s", strerror(-r));
}

static void teardown(void)
{
	io_uring_queue_exit(&ring);
}

TestSuite(uring_restrict, .init = setup, .fini = teardown, .timeout = 30);

static int submit_and_wait(void)
{
	struct io_uring_cqe *cqe;
	int r = io_uring_submit_and_wait(&ring, 1), res;

	cr_assert_geq(r, 0, "submit: %s", strerror(-r));
	cr_assert_eq(io_uring_peek_cqe(&ring, &cqe), 0);
	res = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	return res;
}

Test(uring_restrict, openat_is_refused)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

	io_uring_prep_openat(sqe, AT_FDCWD, "/etc/passwd", O_RDONLY, 0);
	cr_assert_eq(submit_and_wait(), -EACCES,
		     "IORING_OP_OPENAT was not refused");
}

Test(uring_restrict, other_unused_opcodes_are_refused)
{
	static char buf[16];
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

	/* READ/WRITE are allowed (kick and call eventfds); SEND is not. */
	io_uring_prep_send(sqe, 0, buf, sizeof(buf), 0);
	cr_assert_eq(submit_and_wait(), -EACCES, "IORING_OP_SEND");
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_unlinkat(sqe, AT_FDCWD, "/nonexistent", 0);
	cr_assert_eq(submit_and_wait(), -EACCES, "IORING_OP_UNLINKAT");
}

Test(uring_restrict, sqe_flags_are_refused)
{
	char buf[4];
	struct iovec iov = { buf, sizeof(buf) };
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	int fds[2];

	cr_assert_eq(pipe(fds), 0);
	io_uring_prep_readv(sqe, fds[0], &iov, 1, 0);
	sqe->flags |= IOSQE_ASYNC;
	cr_assert_eq(submit_and_wait(), -EACCES, "IOSQE_ASYNC");
	close(fds[0]);
	close(fds[1]);
}

Test(uring_restrict, used_opcodes_still_work)
{
	char out[] = "data", in[8] = "";
	struct iovec wv = { out, 4 }, rv = { in, sizeof(in) };
	struct io_uring_sqe *sqe;
	int fds[2];

	cr_assert_eq(pipe(fds), 0);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_writev(sqe, fds[1], &wv, 1, 0);
	cr_assert_eq(submit_and_wait(), 4, "WRITEV");
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_poll_add(sqe, fds[0], POLLIN);
	cr_assert_gt(submit_and_wait(), 0, "POLL_ADD");
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_readv(sqe, fds[0], &rv, 1, 0);
	cr_assert_eq(submit_and_wait(), 4, "READV");
	cr_assert_eq(memcmp(in, "data", 4), 0);
	close(fds[0]);
	close(fds[1]);
}
