// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The engine's lock requests (server_lock.c) against a small fake
 * filesystem: negotiation, decoding and validation of GETLK/SETLK/SETLKW,
 * the reply encoding, FLUSH/RELEASE unlocking, and SETLKW parked on a wait
 * thread: completed from there, cancelled by server_cancel and INTERRUPT
 * (also one that overtook its request), bounded.
 *
 * The fake's blocking wait is a read() of a pipe: a byte written grants the
 * lock, the engine's cancel signal makes it return EINTR -- what fcntl
 * F_OFD_SETLKW and flock do.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vfsd/server.h"

struct treq {
	struct server_req req;      /* first */
	uint8_t in[512], out[512];
	struct iovec iv, ov, scratch[4];
	atomic_int done;
	size_t len;
};

static struct {
	int grant[2];               /* pipe: a byte grants one wait */
	atomic_int setlk_calls, waits;
	int setlk_ret;              /* for wait == false */
	struct fs_lock last_lk;
	uint64_t last_owner, last_fh, unlock_owner_arg, flock_fh;
	int flock_type;
	int unlock_owner_calls, flock_calls;
	struct fs_lock getlk_answer;
} F;

static struct server *srv;

static int f_wait(void)
{
	char c;

	atomic_fetch_add(&F.waits, 1);
	for (;;) {
		ssize_t n = read(F.grant[0], &c, 1);

		if (n == 1)
			return 0;
		if (n < 0 && errno == EINTR)
			return -EINTR;
		if (n <= 0)
			return -EIO;
	}
}

static int f_getlk(void *fs, uint64_t nodeid, uint64_t fh, uint64_t owner,
		   struct fs_lock *lk)
{
	F.last_lk = *lk;
	F.last_owner = owner;
	F.last_fh = fh;
	*lk = F.getlk_answer;
	return 0;
}

static int f_setlk(void *fs, uint64_t nodeid, uint64_t fh, uint64_t owner,
		   const struct fs_lock *lk, bool wait)
{
	atomic_fetch_add(&F.setlk_calls, 1);
	F.last_lk = *lk;
	F.last_owner = owner;
	F.last_fh = fh;
	return wait ? f_wait() : F.setlk_ret;
}

static int f_flock(void *fs, uint64_t nodeid, uint64_t fh, int type,
		   bool wait)
{
	F.flock_calls++;
	F.flock_fh = fh;
	F.flock_type = type;
	return wait ? f_wait() : F.setlk_ret;
}

static int f_unlock_owner(void *fs, uint64_t nodeid, uint64_t owner)
{
	F.unlock_owner_calls++;
	F.unlock_owner_arg = owner;
	return 0;
}

static int f_ok(void *fs, uint64_t nodeid, uint64_t fh)
{
	return 0;
}

static const struct fs_ops ops = {
	.getlk = f_getlk,
	.setlk = f_setlk,
	.flock = f_flock,
	.unlock_owner = f_unlock_owner,
	.flush = f_ok,
	.release = f_ok,
};

static uint64_t unique_ctr;

static void t_done(struct server_req *req, size_t len)
{
	struct treq *t = (struct treq *)req;

	t->len = len;
	atomic_store(&t->done, 1);
}

static struct treq *send(uint32_t opcode, uint64_t nodeid, const void *arg,
			 size_t len)
{
	struct treq *t = calloc(1, sizeof(*t));
	struct fuse_in_header h = {
		.len = (uint32_t)(sizeof(h) + len), .opcode = opcode,
		.unique = (unique_ctr += 2), .nodeid = nodeid,
	};

	cr_assert(t && len + sizeof(h) <= sizeof(t->in));
	memcpy(t->in, &h, sizeof(h));
	memcpy(t->in + sizeof(h), arg, len);
	t->iv = (struct iovec){ t->in, h.len };
	t->ov = (struct iovec){ t->out, sizeof(t->out) };
	t->req = (struct server_req){
		.in = &t->iv, .in_cnt = 1, .out = &t->ov, .out_cnt = 1,
		.done = t_done, .scratch = t->scratch, .scratch_cnt = 4,
	};
	server_handle(srv, NULL, &t->req);
	return t;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The reply's error once done (bounded wait); 1 when not done. */
static int wait_reply(struct treq *t, int timeout_ms)
{
	long end = now_ms() + timeout_ms;
	struct fuse_out_header oh;

	while (!atomic_load(&t->done) && now_ms() < end)
		usleep(1000);
	if (!atomic_load(&t->done))
		return 1;
	cr_assert_geq(t->len, sizeof(oh));
	memcpy(&oh, t->out, sizeof(oh));
	cr_assert_eq(oh.len, t->len);
	return oh.error;
}

static int call(uint32_t opcode, uint64_t nodeid, const void *arg,
		size_t len)
{
	struct treq *t = send(opcode, nodeid, arg, len);
	int e = wait_reply(t, 0);

	cr_assert_neq(e, 1, "synchronous request %u not answered", opcode);
	free(t);
	return e;
}

/* A request the guest expects no reply to: given back at once, empty. */
static void noreply(uint32_t opcode, const void *arg, size_t len)
{
	struct treq *t = send(opcode, 0, arg, len);

	cr_assert(atomic_load(&t->done));
	cr_assert_eq(t->len, 0);
	free(t);
}

/* Wait until n waits sit in the fake (bounded). */
static void wait_parked(int n)
{
	long end = now_ms() + 5000;

	while (atomic_load(&F.waits) < n && now_ms() < end)
		usleep(1000);
	cr_assert_eq(atomic_load(&F.waits), n);
}

static void start(bool posix, bool flock, unsigned int max_waiters,
		  uint32_t init_flags)
{
	struct server_config cfg = {
		.ops = &ops, .posix_lock = posix, .flock = flock,
		.max_lock_waiters = max_waiters,
	};
	struct fuse_init_in in = {
		.major = FUSE_KERNEL_VERSION, .minor = FUSE_KERNEL_MINOR_VERSION,
		.flags = init_flags,
	};
	struct fuse_init_out out;
	struct treq *t;

	memset(&F, 0, sizeof(F));
	cr_assert_eq(pipe(F.grant), 0);
	cr_assert_eq(server_new(&srv, &cfg), 0);
	t = send(FUSE_INIT, 0, &in, sizeof(in));
	cr_assert_eq(wait_reply(t, 0), 0);
	memcpy(&out, t->out + sizeof(struct fuse_out_header), sizeof(out));
	cr_assert_eq(!!(out.flags & FUSE_POSIX_LOCKS),
		     posix && (init_flags & FUSE_POSIX_LOCKS));
	cr_assert_eq(!!(out.flags & FUSE_FLOCK_LOCKS),
		     flock && (init_flags & FUSE_FLOCK_LOCKS));
	free(t);
}

static void stop(void)
{
	server_free(srv);
	srv = NULL;
	close(F.grant[0]);
	close(F.grant[1]);
}

static struct fuse_lk_in lk(uint64_t owner, uint32_t type, uint64_t start,
			    uint64_t end, bool flock)
{
	return (struct fuse_lk_in){
		.fh = 7, .owner = owner,
		.lk = { .start = start, .end = end, .type = type, .pid = 99 },
		.lk_flags = flock ? FUSE_LK_FLOCK : 0,
	};
}

#define BOTH_LOCKS (FUSE_POSIX_LOCKS | FUSE_FLOCK_LOCKS)
#define ALL INT64_MAX

TestSuite(server_lock, .fini = stop, .timeout = 30);

Test(server_lock, off_means_not_offered_and_enosys)
{
	struct fuse_lk_in in = lk(1, F_WRLCK, 0, ALL, false);

	start(false, false, 0, BOTH_LOCKS);
	cr_assert_eq(call(FUSE_SETLK, 2, &in, sizeof(in)), -ENOSYS);
	cr_assert_eq(call(FUSE_GETLK, 2, &in, sizeof(in)), -ENOSYS);
	cr_assert_eq(call(FUSE_SETLKW, 2, &in, sizeof(in)), -ENOSYS);
	in.lk_flags = FUSE_LK_FLOCK;
	cr_assert_eq(call(FUSE_SETLK, 2, &in, sizeof(in)), -ENOSYS);
	cr_assert_eq(F.setlk_calls + F.flock_calls, 0);
}

Test(server_lock, each_kind_needs_its_own_agreement)
{
	struct fuse_lk_in in = lk(1, F_WRLCK, 0, ALL, false);

	/* Offered both, the guest took POSIX locks only. */
	start(true, true, 0, FUSE_POSIX_LOCKS);
	cr_assert_eq(call(FUSE_SETLK, 2, &in, sizeof(in)), 0);
	in.lk_flags = FUSE_LK_FLOCK;
	cr_assert_eq(call(FUSE_SETLK, 2, &in, sizeof(in)), -ENOSYS);
	cr_assert_eq(F.flock_calls, 0);
}

Test(server_lock, requests_are_decoded_and_checked)
{
	struct fuse_lk_in in = lk(0x1234, F_RDLCK, 10, 19, false);

	start(true, true, 0, BOTH_LOCKS);
	cr_assert_eq(call(FUSE_SETLK, 2, &in, sizeof(in)), 0);
	cr_assert_eq(F.last_owner, 0x1234);
	cr_assert_eq(F.last_fh, 7);
	cr_assert_eq(F.last_lk.type, F_RDLCK);
	cr_assert_eq(F.last_lk.start, 10);
	cr_assert_eq(F.last_lk.end, 19);

	in = lk(1, 3, 0, ALL, false);               /* no such type */
	cr_assert_eq(call(FUSE_SETLK, 2, &in, sizeof(in)), -EINVAL);
	in = lk(1, F_WRLCK, 20, 19, false);          /* end before start */
	cr_assert_eq(call(FUSE_SETLK, 2, &in, sizeof(in)), -EINVAL);
	in = lk(1, F_WRLCK, 0, (uint64_t)ALL + 1, false);
	cr_assert_eq(call(FUSE_SETLK, 2, &in, sizeof(in)), -EINVAL);
	in = lk(1, F_WRLCK, UINT64_MAX, UINT64_MAX, false);
	cr_assert_eq(call(FUSE_SETLKW, 2, &in, sizeof(in)), -EINVAL);
	in = lk(1, F_WRLCK, 0, ALL, false);
	in.lk_flags = 0x80;                          /* unknown flag */
	cr_assert_eq(call(FUSE_SETLK, 2, &in, sizeof(in)), -EINVAL);
	/* Too short for fuse_lk_in. */
	cr_assert_eq(call(FUSE_SETLK, 2, &in, sizeof(in) - 1), -EINVAL);
	/* flock has no GETLK. */
	in = lk(1, F_WRLCK, 0, ALL, true);
	cr_assert_eq(call(FUSE_GETLK, 2, &in, sizeof(in)), -EINVAL);
	cr_assert_eq(F.setlk_calls, 1);
}

Test(server_lock, getlk_reply_carries_the_conflict)
{
	struct fuse_lk_in in = lk(5, F_WRLCK, 0, 99, false);
	struct fuse_lk_out out;
	struct treq *t;

	start(true, true, 0, BOTH_LOCKS);
	F.getlk_answer = (struct fs_lock){ .type = F_RDLCK, .start = 50,
					   .end = ALL, .pid = 0 };
	t = send(FUSE_GETLK, 2, &in, sizeof(in));
	cr_assert_eq(wait_reply(t, 0), 0);
	cr_assert_eq(t->len, sizeof(struct fuse_out_header) + sizeof(out));
	memcpy(&out, t->out + sizeof(struct fuse_out_header), sizeof(out));
	cr_assert_eq(out.lk.type, F_RDLCK);
	cr_assert_eq(out.lk.start, 50);
	cr_assert_eq(out.lk.end, ALL);
	cr_assert_eq(out.lk.pid, 0);
	free(t);
	F.getlk_answer = (struct fs_lock){ .type = F_UNLCK };
	t = send(FUSE_GETLK, 2, &in, sizeof(in));
	cr_assert_eq(wait_reply(t, 0), 0);
	memcpy(&out, t->out + sizeof(struct fuse_out_header), sizeof(out));
	cr_assert_eq(out.lk.type, F_UNLCK);
	free(t);
}

Test(server_lock, flush_and_release_unlock)
{
	struct fuse_flush_in fl = { .fh = 7, .lock_owner = 0xabc };
	struct fuse_release_in rel = { .fh = 7,
				       .release_flags = FUSE_RELEASE_FLOCK_UNLOCK };

	start(true, true, 0, BOTH_LOCKS);
	cr_assert_eq(call(FUSE_FLUSH, 2, &fl, sizeof(fl)), 0);
	cr_assert_eq(F.unlock_owner_calls, 1);
	cr_assert_eq(F.unlock_owner_arg, 0xabc);
	cr_assert_eq(call(FUSE_RELEASE, 2, &rel, sizeof(rel)), 0);
	cr_assert_eq(F.flock_calls, 1);
	cr_assert_eq(F.flock_type, F_UNLCK);
	cr_assert_eq(F.flock_fh, 7);
	rel.release_flags = 0;
	cr_assert_eq(call(FUSE_RELEASE, 2, &rel, sizeof(rel)), 0);
	cr_assert_eq(F.flock_calls, 1);
}

Test(server_lock, flush_without_locks_leaves_them_alone)
{
	struct fuse_flush_in fl = { .fh = 7, .lock_owner = 0xabc };

	start(true, true, 0, 0);
	cr_assert_eq(call(FUSE_FLUSH, 2, &fl, sizeof(fl)), 0);
	cr_assert_eq(F.unlock_owner_calls, 0);
}

Test(server_lock, setlkw_granted_at_once_needs_no_thread)
{
	struct fuse_lk_in in = lk(1, F_WRLCK, 0, ALL, false);

	start(true, true, 0, BOTH_LOCKS);
	cr_assert_eq(call(FUSE_SETLKW, 2, &in, sizeof(in)), 0);
	cr_assert_eq(F.waits, 0);
	F.setlk_ret = -EBADF;
	cr_assert_eq(call(FUSE_SETLKW, 2, &in, sizeof(in)), -EBADF);
	cr_assert_eq(F.waits, 0);
}

Test(server_lock, parked_setlkw_completes_from_its_thread)
{
	struct fuse_lk_in in = lk(1, F_WRLCK, 0, ALL, false);
	struct treq *t;

	start(true, true, 0, BOTH_LOCKS);
	F.setlk_ret = -EAGAIN;
	t = send(FUSE_SETLKW, 2, &in, sizeof(in));
	/* server_handle returned, the request is not answered: parked. */
	cr_assert_eq(atomic_load(&t->done), 0);
	wait_parked(1);
	cr_assert_eq(write(F.grant[1], "g", 1), 1);
	cr_assert_eq(wait_reply(t, 5000), 0);
	free(t);
}

Test(server_lock, cancel_and_interrupt_answer_eintr)
{
	struct fuse_lk_in in = lk(1, F_WRLCK, 0, ALL, true);
	struct fuse_interrupt_in intr;
	struct treq *a, *b, *c;

	start(true, true, 0, BOTH_LOCKS);
	F.setlk_ret = -EAGAIN;
	a = send(FUSE_SETLKW, 2, &in, sizeof(in));
	b = send(FUSE_SETLKW, 2, &in, sizeof(in));
	wait_parked(2);
	server_cancel(srv, &a->req);
	cr_assert_eq(wait_reply(a, 5000), -EINTR);
	cr_assert_eq(atomic_load(&b->done), 0);
	intr.unique = b->req.unique;
	noreply(FUSE_INTERRUPT, &intr, sizeof(intr));
	cr_assert_eq(wait_reply(b, 5000), -EINTR);

	/* An INTERRUPT that overtook its request is kept for it: the next
	 * send() after this INTERRUPT's own gets unique_ctr + 4. */
	intr.unique = unique_ctr + 4;
	noreply(FUSE_INTERRUPT, &intr, sizeof(intr));
	c = send(FUSE_SETLKW, 2, &in, sizeof(in));
	cr_assert_eq(c->req.unique, intr.unique);
	cr_assert_eq(wait_reply(c, 0), -EINTR);
	cr_assert_eq(atomic_load(&F.waits), 2);
	free(a);
	free(b);
	free(c);
}

Test(server_lock, parked_waits_are_bounded_and_freed_at_the_end)
{
	struct fuse_lk_in in = lk(1, F_WRLCK, 0, ALL, false);
	struct treq *t[3];

	start(true, true, 2, BOTH_LOCKS);
	F.setlk_ret = -EAGAIN;
	t[0] = send(FUSE_SETLKW, 2, &in, sizeof(in));
	t[1] = send(FUSE_SETLKW, 2, &in, sizeof(in));
	t[2] = send(FUSE_SETLKW, 2, &in, sizeof(in));
	cr_assert_eq(wait_reply(t[2], 0), -ENOLCK);
	wait_parked(2);
	/* A guest reset (and server_free) answers what still waits. */
	server_reset(srv);
	cr_assert_eq(wait_reply(t[0], 5000), -EINTR);
	cr_assert_eq(wait_reply(t[1], 5000), -EINTR);
	for (int i = 0; i < 3; i++)
		free(t[i]);
}
