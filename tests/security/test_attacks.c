// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Regression tests for known attack classes on virtio-fs back-ends, against
 * the real daemon (sandboxed as by default) over its real socket.  Each
 * fails on an implementation with the hole it names: the guest must get an
 * error, the host outside the share must stay untouched, and the daemon
 * must keep serving.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fe_test.h"

static const char *const xattr_args[] = { "--xattr", NULL };

static void setup(void)
{
	fe_test_start(FE_BACKEND_VFSD, xattr_args);
	fe_t.dev = fe_test_open_init(NULL);
}

TestSuite(attack, .init = setup, .fini = fe_test_fini, .timeout = 60);

static void host_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

/* The daemon is alive and answers a fresh request on the same device. */
static void still_serving(const char *what)
{
	struct fuse_attr_out ao;

	cr_assert(fe_backend_alive(&fe_t.be), "%s: vfsd died", what);
	cr_assert_eq(fe_getattr(fe_t.dev, FUSE_ROOT_ID, &ao), 0,
		     "%s: vfsd stopped answering", what);
}

static uint64_t lookup_ok(uint64_t parent, const char *name)
{
	struct fuse_entry_out e;
	int r = fe_lookup(fe_t.dev, parent, name, &e);

	cr_assert_eq(r, 0, "lookup %s: %s", name, strerror(-r));
	return e.nodeid;
}

/* A symlink in the share pointing at the host's /etc: the daemon must not
 * follow it (the guest kernel resolves symlinks, inside the guest). */
Test(attack, symlink_to_host_is_not_followed)
{
	char path[512];
	struct fuse_entry_out e;
	struct fuse_open_out o;

	snprintf(path, sizeof(path), "%s/esc", fe_t.be.shared);
	cr_assert_eq(symlink("/etc", path), 0);
	uint64_t esc = lookup_ok(FUSE_ROOT_ID, "esc");
	cr_assert_neq(fe_lookup(fe_t.dev, esc, "passwd", &e), 0,
		      "lookup through a symlink reached the host's /etc/passwd");
	cr_assert_neq(fe_open(fe_t.dev, esc, O_RDONLY, &o), 0,
		      "opened a symlink (followed it)");
	cr_assert_neq(fe_opendir(fe_t.dev, esc, O_RDONLY, &o), 0,
		      "opendir through a symlink");
	still_serving("symlink");
}

/* ".." from the root, and names with '/', never leave the share. */
Test(attack, dotdot_and_slash_names_stay_inside)
{
	struct fuse_entry_out e;
	char outside[256];

	snprintf(outside, sizeof(outside), "%s", fe_t.be.tmpdir);
	host_file(outside, "secret", "host secret");
	if (fe_lookup(fe_t.dev, FUSE_ROOT_ID, "..", &e) == 0)
		cr_assert_neq(fe_lookup(fe_t.dev, e.nodeid, "secret", &e), 0,
			      "'..' of the root reached the parent directory");
	cr_assert_neq(fe_lookup(fe_t.dev, FUSE_ROOT_ID, "../secret", &e), 0,
		      "a name with '/' escaped");
	cr_assert_neq(fe_mkdir(fe_t.dev, FUSE_ROOT_ID, "../made", 0755, &e), 0);
	cr_assert_neq(access(outside, F_OK), -1);
	char made[300];
	snprintf(made, sizeof(made), "%s/made", outside);
	cr_assert_eq(access(made, F_OK), -1, "mkdir '../made' created a host directory");
	still_serving("dotdot");
}

/* CVE-2020-35517: a device node in the share (made by the guest with
 * mknod, or by anyone on the host) must never be opened by the daemon. */
Test(attack, device_nodes_are_not_opened)
{
	char path[512];
	struct fuse_open_out o;

	snprintf(path, sizeof(path), "%s/mem", fe_t.be.shared);
	if (mknod(path, S_IFCHR | 0666, makedev(1, 1)) < 0)   /* /dev/mem */
		cr_skip_test("mknod: %s", strerror(errno));
	uint64_t node = lookup_ok(FUSE_ROOT_ID, "mem");
	int r = fe_open(fe_t.dev, node, O_RDONLY, &o);
	cr_assert_neq(r, 0, "opened a character device through the share");
	still_serving("device node");
}

/* A fifo must neither be opened (it would block a queue thread forever on
 * a blocking open) nor hang the daemon. */
Test(attack, fifos_are_not_opened)
{
	char path[512];
	struct fuse_open_out o;

	snprintf(path, sizeof(path), "%s/fifo", fe_t.be.shared);
	cr_assert_eq(mkfifo(path, 0666), 0);
	uint64_t node = lookup_ok(FUSE_ROOT_ID, "fifo");
	cr_assert_neq(fe_open(fe_t.dev, node, O_RDONLY, &o), 0);
	cr_assert_neq(fe_open(fe_t.dev, node, O_WRONLY, &o), 0);
	still_serving("fifo");
}

static uint64_t open_file(const char *name, uint64_t *fh)
{
	struct fuse_open_out o;
	uint64_t node;
	int r;

	host_file(fe_t.be.shared, name, "0123456789");
	node = lookup_ok(FUSE_ROOT_ID, name);
	r = fe_open(fe_t.dev, node, O_RDWR, &o);
	cr_assert_eq(r, 0, "open: %s", strerror(-r));
	*fh = o.fh;
	return node;
}

/* Offsets that are negative as off_t, or overflow offset + size. */
Test(attack, huge_and_negative_offsets_in_read_and_write)
{
	static const uint64_t offs[] = {
		UINT64_MAX, 1ull << 63, (1ull << 63) - 1, (1ull << 63) - 2,
	};
	char buf[16] = "x";
	uint64_t fh, node = open_file("f", &fh);

	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		ssize_t r = fe_read(fe_t.dev, node, fh, offs[i], buf, sizeof(buf));

		cr_assert_leq(r, 0, "read at %#llx returned data",
			      (unsigned long long)offs[i]);
		r = fe_write(fe_t.dev, node, fh, offs[i], buf, sizeof(buf));
		cr_assert_lt(r, 0, "write at %#llx succeeded",
			     (unsigned long long)offs[i]);
		cr_assert_eq(fe_fuse_transport_error(fe_t.dev), 0);
	}
	still_serving("offsets");
}

/* A READ asking for more than max_write, and a WRITE whose size field
 * claims more than the chain holds. */
Test(attack, huge_lengths_in_read_and_write)
{
	struct fuse_read_in rin = { 0 };
	struct fuse_write_in win = { 0 };
	struct fe_reply rep;
	char data[8] = "abcdefg";
	uint64_t fh, node = open_file("g", &fh);

	rin.fh = fh;
	rin.size = UINT32_MAX;
	struct iovec in[] = { { &rin, sizeof(rin) } };
	char out[64];
	struct iovec ov[] = { { out, sizeof(out) } };
	cr_assert_eq(fe_fuse_call(fe_t.dev, 1, FUSE_READ, node, in, 1, ov, 1, &rep), 0);
	cr_assert_lt(rep.error, 0, "READ of 4 GiB accepted");

	win.fh = fh;
	win.size = UINT32_MAX;      /* 8 bytes follow */
	struct iovec win_iov[] = { { &win, sizeof(win) }, { data, sizeof(data) } };
	struct fuse_write_out wo;
	struct iovec wout[] = { { &wo, sizeof(wo) } };
	cr_assert_eq(fe_fuse_call(fe_t.dev, 1, FUSE_WRITE, node, win_iov, 2, wout, 1, &rep), 0);
	cr_assert_lt(rep.error, 0, "WRITE claiming 4 GiB with 8 bytes accepted");
	still_serving("lengths");
}

/* SETXATTR whose size field exceeds the value sent, or is absurd. */
Test(attack, setxattr_size_beyond_the_request)
{
	struct { uint32_t size, flags; } sin = { UINT32_MAX, 0 };
	static const char name[] = "user.attack";
	char value[4] = "abc";
	struct fe_reply rep;
	uint64_t fh, node = open_file("x", &fh);

	struct iovec in[] = { { &sin, sizeof(sin) }, { (void *)name, sizeof(name) },
			      { value, sizeof(value) } };
	cr_assert_eq(fe_fuse_call(fe_t.dev, 1, FUSE_SETXATTR, node, in, 3, NULL, 0, &rep), 0);
	cr_assert_lt(rep.error, 0, "SETXATTR size 4 GiB accepted");
	sin.size = 64 * 1024 + 1;   /* over XATTR_SIZE_MAX */
	cr_assert_eq(fe_fuse_call(fe_t.dev, 1, FUSE_SETXATTR, node, in, 3, NULL, 0, &rep), 0);
	cr_assert_lt(rep.error, 0, "SETXATTR over XATTR_SIZE_MAX accepted");
	still_serving("setxattr");
}

/* COPY_FILE_RANGE with negative offsets and a length of 2^64-1. */
Test(attack, copy_file_range_huge_and_negative)
{
	struct fuse_copy_file_range_in c = { 0 };
	struct fuse_write_out wo;
	struct fe_reply rep;
	uint64_t fha, fhb, a = open_file("a", &fha), b = open_file("b", &fhb);

	c.fh_in = fha;
	c.nodeid_out = b;
	c.fh_out = fhb;
	c.len = UINT64_MAX;
	struct iovec in[] = { { &c, sizeof(c) } };
	struct iovec out[] = { { &wo, sizeof(wo) } };
	c.off_in = 1ull << 63;
	cr_assert_eq(fe_fuse_call(fe_t.dev, 1, FUSE_COPY_FILE_RANGE, a, in, 1, out, 1, &rep), 0);
	cr_assert_lt(rep.error, 0, "negative off_in accepted");
	c.off_in = 0;
	c.off_out = UINT64_MAX;
	cr_assert_eq(fe_fuse_call(fe_t.dev, 1, FUSE_COPY_FILE_RANGE, a, in, 1, out, 1, &rep), 0);
	cr_assert_lt(rep.error, 0, "negative off_out accepted");
	c.off_out = 0;
	cr_assert_eq(fe_fuse_call(fe_t.dev, 1, FUSE_COPY_FILE_RANGE, a, in, 1, out, 1, &rep), 0);
	if (rep.error == 0)
		cr_assert_leq(wo.size, 10u, "copied more than the file holds");
	still_serving("copy_file_range");
}

/* A READDIR buffer far larger than anything the daemon should fill. */
Test(attack, oversize_readdir_buffer)
{
	struct fuse_open_out o;
	struct fuse_read_in rin = { 0 };
	struct fe_reply rep;
	static char out[4096];

	cr_assert_eq(fe_opendir(fe_t.dev, FUSE_ROOT_ID, O_RDONLY, &o), 0);
	rin.fh = o.fh;
	rin.size = UINT32_MAX;
	struct iovec in[] = { { &rin, sizeof(rin) } };
	struct iovec ov[] = { { out, sizeof(out) } };
	cr_assert_eq(fe_fuse_call(fe_t.dev, 1, FUSE_READDIR, FUSE_ROOT_ID, in, 1, ov, 1, &rep), 0);
	cr_assert_leq(rep.len, sizeof(out), "reply larger than the buffer posted");
	still_serving("readdir");
}

/* CVE-2020-10717: a guest that opens without releasing must hit a limit
 * (EMFILE/ENFILE), not take the daemon's last fd; the daemon keeps
 * serving, and releasing makes room again. */
TestSuite(attack_fds, .fini = fe_test_fini, .timeout = 120);

Test(attack_fds, open_without_release_hits_a_limit)
{
	static const char *const extra[] = { "--rlimit-nofile=256", NULL };
	struct fuse_open_out o;
	uint64_t fhs[4096], node;
	unsigned int n = 0;
	int r = 0;

	fe_test_start(FE_BACKEND_VFSD, extra);
	fe_t.dev = fe_test_open_init(NULL);
	host_file(fe_t.be.shared, "f", "x");
	node = lookup_ok(FUSE_ROOT_ID, "f");
	while (n < 4096) {
		r = fe_open(fe_t.dev, node, O_RDONLY, &o);
		if (r != 0)
			break;
		fhs[n++] = o.fh;
	}
	cr_assert(r == -EMFILE || r == -ENFILE,
		  "after %u opens: %d (%s), expected EMFILE/ENFILE", n, r,
		  strerror(-r));
	cr_assert_lt(fe_count_fds(fe_t.be.pid), 257);
	still_serving("fd exhaustion");
	for (unsigned int i = 0; i < n; i++)
		fe_release(fe_t.dev, node, fhs[i], 0);
	cr_assert_eq(fe_open(fe_t.dev, node, O_RDONLY, &o), 0,
		     "no room after releasing");
	/* A new connection still works: accept() found an fd. */
	fe_dev_close(fe_t.dev);
	fe_t.dev = fe_test_open_init(NULL);
	still_serving("fd exhaustion, new connection");
}
