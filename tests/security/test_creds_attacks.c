// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A guest caller's credentials on the host, against the real, sandboxed
 * daemon over its real socket.
 *
 * Creating requests run with the guest caller's uid and gid (and, with
 * FUSE_CREATE_SUPP_GROUP, the one group the guest names).  The daemon's
 * own supplementary groups -- whatever the user who started it has, e.g.
 * root's group under sudo -- must never come along (CVE-2022-0358 in
 * QEMU's virtiofsd): a guest user would create files where only those
 * host groups may write, and inherit setgid directories' groups.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fe_test.h"

#define GUEST_UID 1000u
#define GUEST_GID 1000u
/* A host group the daemon's starter belongs to, the guest caller not. */
#define HOST_GID 4242u

TestSuite(creds_attacks, .fini = fe_test_fini, .timeout = 120);

static void host_dir(const char *name, gid_t gid, mode_t mode)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", fe_t.be.shared, name);
	cr_assert_eq(mkdir(p, 0700), 0, "%s: %s", p, strerror(errno));
	cr_assert_eq(chown(p, 0, gid), 0, "%s: %s", p, strerror(errno));
	cr_assert_eq(chmod(p, mode), 0, "%s: %s", p, strerror(errno));
}

Test(creds_attacks, daemons_supplementary_groups_grant_the_guest_nothing)
{
	const gid_t mine = HOST_GID;
	struct fuse_entry_out e, made;
	struct fuse_open_out o;
	uint64_t grp, open_dir;
	int r;

	if (geteuid() != 0)
		cr_skip_test("needs root (the daemon switches credentials)");
	/* The daemon inherits this group from us, as from a login shell. */
	cr_assert_eq(setgroups(1, &mine), 0, "setgroups: %s", strerror(errno));
	fe_test_start(FE_BACKEND_VFSD, NULL);
	cr_assert_eq(setgroups(0, NULL), 0);
	fe_t.dev = fe_test_open_init(NULL);
	host_dir("grp", HOST_GID, 0770);
	host_dir("open", 0, 0777);
	cr_assert_eq(fe_lookup(fe_t.dev, FUSE_ROOT_ID, "grp", &e), 0);
	grp = e.nodeid;
	cr_assert_eq(fe_lookup(fe_t.dev, FUSE_ROOT_ID, "open", &e), 0);
	open_dir = e.nodeid;

	fe_fuse_set_caller(fe_t.dev, GUEST_UID, GUEST_GID);
	/* Control: the guest caller creates where anyone may. */
	r = fe_mkdir(fe_t.dev, open_dir, "d", 0755, &made);
	cr_assert_eq(r, 0, "mkdir in a 0777 dir as %u: %s", GUEST_UID,
		     strerror(-r));
	cr_assert_eq(made.attr.uid, GUEST_UID);
	/* Only host group HOST_GID may write in grp. */
	r = fe_mkdir(fe_t.dev, grp, "d", 0755, &made);
	cr_assert_eq(r, -EACCES,
		     "mkdir as guest %u:%u where only host group %u may write: %d (%s)",
		     GUEST_UID, GUEST_GID, HOST_GID, r, strerror(-r));
	r = fe_create(fe_t.dev, grp, "f", 0644, O_RDWR, &made, &o);
	cr_assert_eq(r, -EACCES, "create there: %d (%s)", r, strerror(-r));
	fe_fuse_reset_caller(fe_t.dev);
	fe_test_end();
}
