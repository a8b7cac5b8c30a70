// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A hostile guest against the lock code (--posix-lock), over the real
 * socket of the real, sandboxed daemon.
 *
 * Every POSIX lock owner a guest names gets a host open of its own (an OFD
 * lock needs one, passthrough_lock.c), and owners are 64-bit numbers the
 * guest makes up.  Those opens must come out of the daemon's fd budget like
 * nodes and handles do (CVE-2020-10717): past their bound a lock request
 * answers ENOLCK, and the daemon still has fds for the guest's opens and
 * for a new connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "fe_test.h"

#define OWNERS 4096u

TestSuite(lock_attacks, .fini = fe_test_fini, .timeout = 120);

static int getlk(uint64_t node, uint64_t fh, uint64_t owner)
{
	struct fuse_lk_in in = {
		.fh = fh, .owner = owner,
		.lk = { .start = 0, .end = INT64_MAX, .type = F_WRLCK },
	};
	struct fuse_lk_out out;
	struct iovec iin = { &in, sizeof(in) }, iout = { &out, sizeof(out) };
	struct fe_reply rep;
	int r;

	r = fe_fuse_call(fe_t.dev, 1, FUSE_GETLK, node, &iin, 1, &iout, 1,
			 &rep);
	cr_assert_eq(r, 0, "GETLK: transport error %d", r);
	return rep.error;
}

Test(lock_attacks, invented_owners_cannot_take_the_daemons_fds)
{
	static const char *const extra[] = { "--posix-lock",
					     "--rlimit-nofile=256", NULL };
	struct fuse_entry_out e;
	struct fuse_open_out o;
	struct fuse_init_out init;
	struct fuse_attr_out ao;
	unsigned int n;
	int r = 0;

	fe_test_start(FE_BACKEND_VFSD, extra);
	fe_t.dev = fe_test_open(NULL);
	cr_assert_eq(fe_fuse_init(fe_t.dev, 0, FE_INIT_FLAGS_DEFAULT |
				  FUSE_POSIX_LOCKS, &init), 0);
	cr_assert(init.flags & FUSE_POSIX_LOCKS);
	cr_assert_eq(fe_create(fe_t.dev, FUSE_ROOT_ID, "f", 0644, O_RDWR, &e,
			       &o), 0);
	for (n = 0; n < OWNERS; n++) {
		r = getlk(e.nodeid, o.fh, 1000 + n);
		if (r != 0)
			break;
	}
	cr_assert_eq(r, -ENOLCK, "after %u lock owners: %d (%s), expected ENOLCK",
		     n, r, strerror(-r));
	cr_assert_lt(fe_count_fds(fe_t.be.pid), 257);
	/* The guest's own opens still get fds: the owners' opens did not
	 * eat into what nodes and handles were promised. */
	for (unsigned int i = 0; i < 8; i++)
		cr_assert_eq(fe_open(fe_t.dev, e.nodeid, O_RDONLY, &o), 0,
			     "open %u after %u lock owners: no fd left", i, n);
	cr_assert(fe_backend_alive(&fe_t.be), "vfsd died");
	cr_assert_eq(fe_getattr(fe_t.dev, FUSE_ROOT_ID, &ao), 0);
	/* A new connection still works: accept() found an fd. */
	fe_dev_close(fe_t.dev);
	fe_t.dev = fe_test_open(NULL);
	cr_assert_eq(fe_fuse_init(fe_t.dev, 0, FE_INIT_FLAGS_DEFAULT |
				  FUSE_POSIX_LOCKS, &init), 0);
	cr_assert_eq(fe_getattr(fe_t.dev, FUSE_ROOT_ID, &ao), 0);
	fe_test_end();
}
