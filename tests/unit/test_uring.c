// SPDX-License-Identifier: GPL-2.0-or-later
/* Async I/O: the same contract with io_uring and with the fallback. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vfsd/uring.h"

struct result {
	struct uring_op op;
	int res;
	int calls;
};

static void record(struct uring_op *op, int res)
{
	struct result *r = (struct result *)op;

	r->res = res;
	r->calls++;
}

static struct uring *make_ring(bool fallback)
{
	struct uring *ring;

	uring_force_fallback(fallback);
	cr_assert_eq(uring_new(&ring, 8), 0);
	uring_force_fallback(false);
	cr_assert_eq(uring_is_async(ring), !fallback);
	return ring;
}

/* Run completions until r has been called (bounded). */
static void finish(struct uring *ring, struct result *r)
{
	for (int i = 0; i < 100 && r->calls == 0; i++)
		cr_assert_geq(uring_run(ring, true), 0);
	cr_assert_eq(r->calls, 1);
}

static int temp_file(void)
{
	char path[] = "/tmp/vfsd-uring-XXXXXX";
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	unlink(path);
	return fd;
}

ParameterizedTestParameters(uring, write_then_read_roundtrip)
{
	static bool modes[] = { false, true };
	return cr_make_param_array(bool, modes, 2);
}

ParameterizedTest(bool *fallback, uring, write_then_read_roundtrip)
{
	struct uring *ring = make_ring(*fallback);
	int fd = temp_file();
	char a[100], b[50], in1[120], in2[30];
	struct iovec wiov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	struct iovec riov[2] = { { in1, sizeof(in1) }, { in2, sizeof(in2) } };
	struct result w = { .op.complete = record }, r = { .op.complete = record };

	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	cr_assert_eq(uring_writev(ring, &w.op, fd, wiov, 2, 10, 0), 0);
	finish(ring, &w);
	cr_assert_eq(w.res, 150);

	cr_assert_eq(uring_readv(ring, &r.op, fd, riov, 2, 10), 0);
	finish(ring, &r);
	cr_assert_eq(r.res, 150, "short read at EOF returns what exists");
	cr_assert_eq(memcmp(in1, a, 100), 0);
	cr_assert_eq(in1[100], 'b');
	cr_assert_eq(in2[29], 'b');
	cr_assert_eq(uring_inflight(ring), 0);
	close(fd);
	uring_free(ring);
}

ParameterizedTestParameters(uring, errors_come_back_as_negative_errno)
{
	static bool modes[] = { false, true };
	return cr_make_param_array(bool, modes, 2);
}

ParameterizedTest(bool *fallback, uring, errors_come_back_as_negative_errno)
{
	struct uring *ring = make_ring(*fallback);
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	char buf[8];
	struct iovec iov = { buf, sizeof(buf) };
	struct result r = { .op.complete = record };

	cr_assert_eq(uring_readv(ring, &r.op, fd, &iov, 1, 0), 0);
	finish(ring, &r);
	cr_assert_eq(r.res, -EBADF);
	close(fd);
	uring_free(ring);
}

ParameterizedTestParameters(uring, poll_fires_only_when_readable)
{
	static bool modes[] = { false, true };
	return cr_make_param_array(bool, modes, 2);
}

ParameterizedTest(bool *fallback, uring, poll_fires_only_when_readable)
{
	struct uring *ring = make_ring(*fallback);
	int efd = eventfd(0, EFD_CLOEXEC);
	uint64_t one = 1;
	struct result p = { .op.complete = record };

	cr_assert_eq(uring_poll_in(ring, &p.op, efd), 0);
	cr_assert_eq(uring_run(ring, false), 0);
	cr_assert_eq(p.calls, 0, "nothing to read yet");
	cr_assert_eq(write(efd, &one, sizeof(one)), sizeof(one));
	finish(ring, &p);
	cr_assert(p.res & POLLIN);
	close(efd);
	uring_free(ring);
}

Test(uring, many_operations_beyond_the_submission_queue_size)
{
	struct uring *ring = make_ring(false);
	int fd = temp_file();
	enum { N = 50 };	/* ring has 8 entries */
	static char bufs[N][16];
	static struct iovec iov[N];
	static struct result res[N];
	int done = 0;

	for (int i = 0; i < N; i++) {
		memset(bufs[i], 'A' + i % 26, 16);
		iov[i] = (struct iovec){ bufs[i], 16 };
		res[i].op.complete = record;
		cr_assert_eq(uring_writev(ring, &res[i].op, fd, &iov[i], 1, i * 16, 0), 0);
	}
	for (int loops = 0; loops < 1000 && uring_inflight(ring); loops++)
		uring_run(ring, true);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(res[i].calls, 1);
		cr_assert_eq(res[i].res, 16);
		done++;
	}
	cr_assert_eq(done, N);
	char c;
	cr_assert_eq(pread(fd, &c, 1, 49 * 16), 1);
	cr_assert_eq(c, 'A' + 49 % 26);
	close(fd);
	uring_free(ring);
}
