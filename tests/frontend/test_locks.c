// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Lock requests over the real socket of the real daemon: what INIT offers
 * with and without --posix-lock/--flock, GETLK/SETLK between owners, a
 * SETLKW parked while the same queue keeps serving and completed from the
 * engine's wait thread, FUSE_INTERRUPT of a parked wait, the bound on
 * parked waits (a hostile guest), and SIGTERM with waits parked: the daemon
 * answers them and exits 0 by itself (--shutdown-timeout is set far away so
 * that its forced exit cannot pass for a clean one).
 *
 * Requests here are asynchronous on queue 1 (fe_req_*): a parked SETLKW
 * completes whenever it does, which the synchronous helpers would take for
 * a protocol error.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fe_test.h"

#define Q 1
#define WAIT_MS 20000
/* The engine's default bound on parked waits (server.h). */
#define MAX_WAITERS 32

TestSuite(locks, .fini = fe_test_fini, .timeout = 120);

static struct fe_dev *start(bool locks)
{
	static const char *const on[] = { "--posix-lock", "--flock",
					  "--shutdown-timeout=600", NULL };
	static const char *const off[] = { "--shutdown-timeout=600", NULL };
	struct fuse_init_out init;

	fe_test_start(FE_BACKEND_VFSD, locks ? on : off);
	fe_t.dev = fe_test_open(NULL);
	cr_assert_eq(fe_fuse_init(fe_t.dev, 0, FE_INIT_FLAGS_DEFAULT |
				  FUSE_POSIX_LOCKS | FUSE_FLOCK_LOCKS, &init), 0);
	cr_assert_eq(!!(init.flags & FUSE_POSIX_LOCKS), locks);
	cr_assert_eq(!!(init.flags & FUSE_FLOCK_LOCKS), locks);
	return fe_t.dev;
}

static void create_file(struct fe_dev *d, uint64_t *node, uint64_t *fh)
{
	struct fuse_entry_out e;
	struct fuse_open_out o;

	cr_assert_eq(fe_create(d, FUSE_ROOT_ID, "f", 0644, O_RDWR, &e, &o), 0);
	*node = e.nodeid;
	*fh = o.fh;
}

static struct fe_req *submit(struct fe_dev *d, uint32_t opcode,
			     uint64_t node, const void *arg, size_t len)
{
	struct fe_req *r = fe_req_new(d, 256, 256, 0);

	cr_assert(r);
	r->opaque = NULL;
	cr_assert_eq(fe_req_prepare(d, r, opcode, node, arg, len), 0);
	cr_assert_eq(fe_submit(d, Q, r), 0);
	cr_assert_geq(fe_kick(d, Q), 0);
	return r;
}

/* Take every completion there is (waiting up to timeout_ms for the first);
 * each finished request is marked through its opaque pointer. */
static void pump(struct fe_dev *d, int timeout_ms)
{
	struct fe_req *done;

	while (fe_reap(d, Q, &done, timeout_ms) == 1) {
		done->opaque = done;
		timeout_ms = 0;
	}
}

/* Wait until a request without a reply (INTERRUPT) was given back. */
static void wait_used(struct fe_dev *d, struct fe_req *r)
{
	int64_t deadline = fe_now_ms() + WAIT_MS;

	pump(d, 0);
	while (!r->opaque && fe_now_ms() < deadline)
		pump(d, 100);
	cr_assert(r->opaque, "INTERRUPT not given back");
}

/* The request's FUSE error once it completed, -ETIMEDOUT if it did not
 * within timeout_ms (0: only what has already arrived). */
static int result(struct fe_dev *d, struct fe_req *r, int timeout_ms)
{
	int64_t deadline = fe_now_ms() + timeout_ms;
	struct fe_reply rep;

	pump(d, 0);
	while (!r->opaque && fe_now_ms() < deadline)
		pump(d, 100);
	if (!r->opaque)
		return -ETIMEDOUT;
	cr_assert_eq(fe_req_reply(r, &rep), 0, "malformed reply");
	return rep.error;
}

static struct fuse_lk_in lk_in(uint64_t fh, uint64_t owner, uint32_t type,
			       bool flock)
{
	return (struct fuse_lk_in){
		.fh = fh, .owner = owner,
		.lk = { .start = 0, .end = INT64_MAX, .type = type },
		.lk_flags = flock ? FUSE_LK_FLOCK : 0,
	};
}

static int sync_lk(struct fe_dev *d, uint32_t opcode, uint64_t node,
		   struct fuse_lk_in in, struct fuse_file_lock *out)
{
	struct fe_req *r = submit(d, opcode, node, &in, sizeof(in));
	int e = result(d, r, WAIT_MS);

	if (out && e == 0) {
		struct fuse_lk_out o;

		memcpy(&o, r->out + sizeof(struct fuse_out_header), sizeof(o));
		*out = o.lk;
	}
	fe_req_free(r);
	return e;
}

Test(locks, off_by_default_and_lock_opcodes_answer_enosys)
{
	struct fe_dev *d = start(false);
	uint64_t node, fh;

	create_file(d, &node, &fh);
	cr_assert_eq(sync_lk(d, FUSE_SETLK, node, lk_in(fh, 1, F_WRLCK, false),
			     NULL), -ENOSYS);
	cr_assert_eq(sync_lk(d, FUSE_GETLK, node, lk_in(fh, 1, F_WRLCK, false),
			     NULL), -ENOSYS);
	cr_assert_eq(sync_lk(d, FUSE_SETLKW, node, lk_in(fh, 1, F_WRLCK, true),
			     NULL), -ENOSYS);
	fe_test_end();
}

Test(locks, owners_conflict_and_bad_requests_are_refused)
{
	struct fe_dev *d = start(true);
	struct fuse_file_lock got;
	struct fuse_lk_in bad;
	uint64_t node, fh;

	create_file(d, &node, &fh);
	cr_assert_eq(sync_lk(d, FUSE_SETLK, node, lk_in(fh, 1, F_WRLCK, false),
			     NULL), 0);
	cr_assert_eq(sync_lk(d, FUSE_GETLK, node, lk_in(fh, 2, F_RDLCK, false),
			     &got), 0);
	cr_assert_eq(got.type, F_WRLCK);
	cr_assert_eq(got.start, 0);
	cr_assert_eq(got.end, INT64_MAX);
	cr_assert_eq(got.pid, 0);
	/* The holder itself sees no conflict with its own lock. */
	cr_assert_eq(sync_lk(d, FUSE_GETLK, node, lk_in(fh, 1, F_WRLCK, false),
			     &got), 0);
	cr_assert_eq(got.type, F_UNLCK);
	cr_assert_eq(sync_lk(d, FUSE_SETLK, node, lk_in(fh, 2, F_RDLCK, false),
			     NULL), -EAGAIN);
	/* flock is another lock space: its own open. */
	cr_assert_eq(sync_lk(d, FUSE_SETLK, node, lk_in(fh, 2, F_WRLCK, true),
			     NULL), 0);

	bad = lk_in(fh, 2, 7, false);
	cr_assert_eq(sync_lk(d, FUSE_SETLK, node, bad, NULL), -EINVAL);
	bad = lk_in(fh, 2, F_RDLCK, false);
	bad.lk.start = 10;
	bad.lk.end = 5;
	cr_assert_eq(sync_lk(d, FUSE_SETLK, node, bad, NULL), -EINVAL);
	bad.lk.start = 0;
	bad.lk.end = (uint64_t)INT64_MAX + 1;
	cr_assert_eq(sync_lk(d, FUSE_SETLK, node, bad, NULL), -EINVAL);
	bad = lk_in(fh, 2, F_RDLCK, false);
	bad.lk_flags = 2;
	cr_assert_eq(sync_lk(d, FUSE_SETLK, node, bad, NULL), -EINVAL);
	cr_assert_eq(sync_lk(d, FUSE_GETLK, node, lk_in(fh, 2, F_RDLCK, true),
			     NULL), -EINVAL);
	/* A handle of no file: flock needs the guest's open. */
	cr_assert_eq(sync_lk(d, FUSE_SETLK, node,
			     lk_in(fh + 1000, 3, F_WRLCK, true), NULL), -EBADF);
	fe_test_end();
}

Test(locks, parked_setlkw_leaves_its_queue_serving_then_completes)
{
	struct fe_dev *d = start(true);
	struct fuse_lk_in in;
	struct fuse_getattr_in ga = { 0 };
	struct fe_req *w, *g;
	uint64_t node, fh;

	create_file(d, &node, &fh);
	cr_assert_eq(sync_lk(d, FUSE_SETLK, node, lk_in(fh, 1, F_WRLCK, false),
			     NULL), 0);
	in = lk_in(fh, 2, F_WRLCK, false);
	w = submit(d, FUSE_SETLKW, node, &in, sizeof(in));
	/* Same queue, behind the wait: answered while it waits. */
	g = submit(d, FUSE_GETATTR, node, &ga, sizeof(ga));
	cr_assert_eq(result(d, g, WAIT_MS), 0, "GETATTR behind a SETLKW");
	cr_assert_eq(result(d, w, 0), -ETIMEDOUT, "SETLKW granted while held");
	/* The holder lets go: the wait completes, from the engine's thread. */
	cr_assert_eq(sync_lk(d, FUSE_SETLK, node, lk_in(fh, 1, F_UNLCK, false),
			     NULL), 0);
	cr_assert_eq(result(d, w, WAIT_MS), 0);
	cr_assert_eq(sync_lk(d, FUSE_SETLK, node, lk_in(fh, 1, F_RDLCK, false),
			     NULL), -EAGAIN);
	fe_req_free(g);
	fe_req_free(w);
	fe_test_end();
}

Test(locks, interrupt_cancels_a_parked_wait)
{
	struct fe_dev *d = start(true);
	struct fuse_interrupt_in intr;
	struct fuse_open_out o;
	struct fuse_lk_in in;
	struct fe_req *w, *i, *w2;
	uint64_t node, fh;

	create_file(d, &node, &fh);
	/* A second open, for a flock wait: the other kind of wait. */
	cr_assert_eq(fe_open(d, node, O_RDWR, &o), 0);
	cr_assert_eq(sync_lk(d, FUSE_SETLK, node, lk_in(fh, 1, F_WRLCK, false),
			     NULL), 0);
	in = lk_in(fh, 2, F_WRLCK, false);
	w = submit(d, FUSE_SETLKW, node, &in, sizeof(in));
	in = lk_in(fh, 3, F_WRLCK, true);
	cr_assert_eq(sync_lk(d, FUSE_SETLK, node, in, NULL), 0);
	in = lk_in(o.fh, 4, F_WRLCK, true);
	w2 = submit(d, FUSE_SETLKW, node, &in, sizeof(in));
	cr_assert_eq(result(d, w, 200), -ETIMEDOUT);
	cr_assert_eq(result(d, w2, 0), -ETIMEDOUT);

	intr.unique = w->unique;
	i = submit(d, FUSE_INTERRUPT, 0, &intr, sizeof(intr));
	cr_assert_eq(result(d, w, WAIT_MS), -EINTR);
	wait_used(d, i);
	fe_req_free(i);
	intr.unique = w2->unique;
	i = submit(d, FUSE_INTERRUPT, 0, &intr, sizeof(intr));
	cr_assert_eq(result(d, w2, WAIT_MS), -EINTR);
	wait_used(d, i);
	/* The cancelled wait took nothing: owner 1 still holds it. */
	cr_assert_eq(sync_lk(d, FUSE_SETLK, node, lk_in(fh, 2, F_RDLCK, false),
			     NULL), -EAGAIN);
	fe_req_free(i);
	fe_req_free(w);
	fe_req_free(w2);
	fe_test_end();
}

Test(locks, sigterm_with_waits_parked_answers_them_and_exits_0)
{
	struct fe_dev *d = start(true);
	struct fe_req *w[MAX_WAITERS + 1];
	uint64_t node, fh;
	int64_t t0;
	unsigned int enolck = 0, eintr = 0;
	char line[256];
	int status;

	create_file(d, &node, &fh);
	cr_assert_eq(sync_lk(d, FUSE_SETLK, node, lk_in(fh, 1, F_WRLCK, false),
			     NULL), 0);
	/* One more than the bound: a hostile guest cannot park without
	 * limit; the extra one is refused, not parked. */
	for (unsigned int i = 0; i <= MAX_WAITERS; i++) {
		struct fuse_lk_in in = lk_in(fh, 100 + i, F_WRLCK, false);

		w[i] = submit(d, FUSE_SETLKW, node, &in, sizeof(in));
	}
	/* Which one is refused depends on the order the queue's threads
	 * take them in: wait for the first answer, whichever it is. */
	for (int64_t end = fe_now_ms() + WAIT_MS; fe_now_ms() < end;) {
		unsigned int answered = 0;

		pump(d, 100);
		for (unsigned int i = 0; i <= MAX_WAITERS; i++)
			answered += w[i]->opaque != NULL;
		if (answered)
			break;
	}
	for (unsigned int i = 0; i <= MAX_WAITERS; i++)
		enolck += result(d, w[i], 0) == -ENOLCK;
	if (enolck != 1)
		fe_backend_dump_log(&fe_t.be);
	cr_assert_eq(enolck, 1, "%u waits refused", enolck);

	t0 = fe_now_ms();
	status = fe_backend_stop(&fe_t.be, 30000);
	cr_assert(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "vfsd did not exit 0 on SIGTERM with waits parked (0x%x)",
		  status);
	fprintf(stderr, "exit with %u waits parked: %lld ms\n", MAX_WAITERS,
		(long long)(fe_now_ms() - t0));
	/* Every wait was answered before guest memory went away. */
	for (unsigned int i = 0; i <= MAX_WAITERS; i++)
		eintr += result(d, w[i], 0) == -EINTR;
	cr_assert_eq(eintr, MAX_WAITERS);
	cr_assert_not(fe_backend_sanitizer_report(&fe_t.be, line, sizeof(line)),
		      "%s", line);
	for (unsigned int i = 0; i <= MAX_WAITERS; i++)
		fe_req_free(w[i]);
}
