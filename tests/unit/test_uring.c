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

/*
 * Small buffered writes (URING_WRITE_BUFFERED, at most
 * URING_INLINE_WRITE_MAX bytes) on a filesystem that cannot write without
 * blocking in the ring (ext4, tmpfs: /tmp here): the first of a batch to a
 * file goes through the ring, the ones after it to the same file are done
 * before uring_writev() returns; the flag never reaches the kernel (it
 * would fail the write).
 */
static bool nowait_write_unsupported(int fd)
{
	char c = 0;
	struct iovec iov = { &c, 1 };

	return pwritev2(fd, &iov, 1, 0, RWF_NOWAIT) < 0 && errno == EOPNOTSUPP;
}

static void check_data(int fd, const char *want, size_t len, off_t off)
{
	static char in[4 * URING_INLINE_WRITE_MAX];

	cr_assert_leq(len, sizeof(in));
	cr_assert_eq(pread(fd, in, len, off), (ssize_t)len);
	cr_assert_eq(memcmp(in, want, len), 0, "data at %lld", (long long)off);
}

Test(uring, second_small_write_to_a_file_in_a_batch_is_done_inline)
{
	struct uring *ring = make_ring(false);
	int fd = temp_file(), other = temp_file();
	static char out[3][4096];
	struct iovec wiov[3];
	struct result w[4] = { { .op.complete = record }, { .op.complete = record },
			       { .op.complete = record }, { .op.complete = record } };

	if (!nowait_write_unsupported(fd))
		cr_skip_test("this filesystem writes without blocking (RWF_NOWAIT)");
	for (int i = 0; i < 3; i++)
		memset(out[i], 'a' + i, sizeof(out[i]));
	uring_batch_start(ring);
	for (int i = 0; i < 3; i++) {
		/* Valid until the ring has run the write. */
		wiov[i] = (struct iovec){ out[i], sizeof(out[i]) };
		cr_assert_eq(uring_writev(ring, &w[i].op, fd, &wiov[i], 1,
					  4096 * i, URING_WRITE_BUFFERED), 0);
	}
	cr_assert_eq(w[0].calls, 0, "the batch's first write goes to the ring");
	cr_assert_eq(w[1].calls, 1, "the second is done inline");
	cr_assert_eq(w[2].calls, 1);
	cr_assert_eq(w[1].res, 4096);
	check_data(fd, out[1], 4096, 4096);
	/* Another file: the ring again. */
	struct iovec iov = { out[0], 4096 };
	cr_assert_eq(uring_writev(ring, &w[3].op, other, &iov, 1, 0,
				  URING_WRITE_BUFFERED), 0);
	cr_assert_eq(w[3].calls, 0);
	finish(ring, &w[0]);
	finish(ring, &w[3]);
	cr_assert_eq(w[0].res, 4096);
	cr_assert_eq(w[3].res, 4096);
	for (int i = 0; i < 3; i++)
		check_data(fd, out[i], 4096, 4096 * i);
	check_data(other, out[0], 4096, 0);
	cr_assert_eq(uring_inflight(ring), 0);
	close(fd);
	close(other);
	uring_free(ring);
}

Test(uring, buffered_flag_is_a_hint_only)
{
	struct uring *ring = make_ring(false);
	int fd = temp_file();
	static char out[4 * URING_INLINE_WRITE_MAX];
	struct iovec big = { out, sizeof(out) };
	struct result w = { .op.complete = record };

	memset(out, 'q', sizeof(out));
	/* Too big to be done inline: the ring (twice: the second write to
	 * the file is not small either), without the flag. */
	uring_batch_start(ring);
	for (int i = 0; i < 2; i++) {
		w.calls = 0;
		cr_assert_eq(uring_writev(ring, &w.op, fd, &big, 1,
					  (off_t)sizeof(out) * i,
					  URING_WRITE_BUFFERED), 0);
		finish(ring, &w);
		cr_assert_eq(w.res, (int)sizeof(out));
		check_data(fd, out, sizeof(out), (off_t)sizeof(out) * i);
	}
	close(fd);
	uring_free(ring);
}

Test(uring, small_buffered_write_errors_come_back_as_negative_errno)
{
	struct uring *ring = make_ring(false);
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	char buf[16] = { 0 };
	struct iovec iov = { buf, sizeof(buf) };
	struct result w = { .op.complete = record };

	/* Twice: the second is the one done inline. */
	for (int i = 0; i < 2; i++) {
		w.calls = 0;
		cr_assert_eq(uring_writev(ring, &w.op, fd, &iov, 1, 0,
					  URING_WRITE_BUFFERED), 0);
		finish(ring, &w);
		cr_assert_eq(w.res, -EBADF);
	}
	close(fd);
	uring_free(ring);
}
