// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Attacks on the passthrough filesystem through the real daemon over its
 * real socket: paths the daemon resolves inside a sandbox whose root the
 * guest controls, set-id bits the guest must not get (CVE-2022-0358 and
 * killpriv), a host rename racing a guest walk, and the bound of every
 * table the guest can grow.  Each test fails on an implementation with the
 * hole it names.  Root only (the daemon switches to the caller's ids, and
 * the sandbox needs root): skipped otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fe_test.h"

static void need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
}

static void start(const char *const *extra)
{
	need_root();
	fe_test_start(FE_BACKEND_VFSD, extra);
	fe_t.dev = fe_test_open_init(NULL);
}

static void fini(void)
{
	fe_test_fini();
}

static char *shared(char *buf, size_t len, const char *name)
{
	return fe_path(buf, len, fe_t.be.shared, name);
}

static uint64_t lookup_ok(uint64_t parent, const char *name)
{
	struct fuse_entry_out e;
	int r = fe_lookup(fe_t.dev, parent, name, &e);

	cr_assert_eq(r, 0, "lookup %s: %s", name, strerror(-r));
	return e.nodeid;
}

static void still_serving(const char *what)
{
	struct fuse_attr_out ao;

	cr_assert(fe_backend_alive(&fe_t.be), "%s: vfsd died", what);
	cr_assert_eq(fe_getattr(fe_t.dev, FUSE_ROOT_ID, &ao), 0,
		     "%s: vfsd stopped answering", what);
}

/* ---- xattrs of special files under --sandbox=chroot ---- */

/* GETXATTR: value length (>= 0) with the value in buf, or -errno. */
static int fuse_getxattr(uint64_t node, const char *name, char *buf,
			 size_t size)
{
	struct fuse_getxattr_in in = { .size = (uint32_t)size };
	struct iovec iv[] = { { &in, sizeof(in) },
			      { (void *)name, strlen(name) + 1 } };
	struct iovec ov[] = { { buf, size } };
	struct fe_reply rep;

	cr_assert_eq(fe_fuse_call(fe_t.dev, 1, FUSE_GETXATTR, node, iv, 2,
				  ov, 1, &rep), 0);
	return rep.error ? rep.error : (int)rep.len;
}

static int fuse_setxattr(uint64_t node, const char *name, const char *value)
{
	/* Without FUSE_SETXATTR_EXT: the 8-byte compat layout. */
	struct { uint32_t size, flags; } in = { (uint32_t)strlen(value), 0 };
	struct iovec iv[] = { { &in, sizeof(in) },
			      { (void *)name, strlen(name) + 1 },
			      { (void *)value, strlen(value) } };
	struct fe_reply rep;

	cr_assert_eq(fe_fuse_call(fe_t.dev, 1, FUSE_SETXATTR, node, iv, 3,
				  NULL, 0, &rep), 0);
	return rep.error;
}

/* Plant shared/proc/self/fd/0..1023, all hard links of one file carrying
 * xattr `name` = "planted": what the absolute path "/proc/self/fd/N" names
 * inside a chroot into the share. */
static void plant_proc(const char *name, char *decoy, size_t len)
{
	char dir[512], p[600];

	shared(dir, sizeof(dir), "proc");
	cr_assert_eq(mkdir(dir, 0755), 0);
	strcat(dir, "/self");
	cr_assert_eq(mkdir(dir, 0755), 0);
	strcat(dir, "/fd");
	cr_assert_eq(mkdir(dir, 0755), 0);
	shared(decoy, len, "decoy");
	int fd = open(decoy, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(setxattr(decoy, name, "planted", 7, 0), 0, "setxattr: %s",
		     strerror(errno));
	for (int i = 0; i < 1024; i++) {
		snprintf(p, sizeof(p), "%s/%d", dir, i);
		cr_assert_eq(link(decoy, p), 0, "link %s: %s", p, strerror(errno));
	}
}

TestSuite(xattr_chroot, .fini = fini, .timeout = 60);

/* Under --sandbox=chroot "/" is the shared directory: the xattrs of a fifo
 * or a symlink must be the node's own, never those of a file the guest
 * planted at proc/self/fd/N in the share. */
Test(xattr_chroot, special_files_never_resolve_a_planted_proc)
{
	static const char *const extra[] = { "--sandbox=chroot", "--xattr",
					     "--modcaps=+sys_admin", NULL };
	char fifo[512], lnk[512], decoy[512], buf[64];
	int n;

	start(extra);
	plant_proc("trusted.vfsd", decoy, sizeof(decoy));
	cr_assert_eq(mkfifo(shared(fifo, sizeof(fifo), "fifo"), 0644), 0);
	cr_assert_eq(setxattr(fifo, "trusted.vfsd", "fifo", 4, 0), 0);
	cr_assert_eq(symlink("fifo", shared(lnk, sizeof(lnk), "lnk")), 0);
	cr_assert_eq(lsetxattr(lnk, "trusted.vfsd", "link", 4, 0), 0);

	uint64_t nf = lookup_ok(FUSE_ROOT_ID, "fifo");
	uint64_t nl = lookup_ok(FUSE_ROOT_ID, "lnk");

	n = fuse_getxattr(nf, "trusted.vfsd", buf, sizeof(buf));
	cr_assert_eq(n, 4, "getxattr of the fifo: %d (%s)", n,
		     n < 0 ? strerror(-n) : "wrong length");
	cr_assert_eq(memcmp(buf, "fifo", 4), 0, "fifo xattr is '%.*s'", n, buf);
	n = fuse_getxattr(nl, "trusted.vfsd", buf, sizeof(buf));
	cr_assert_eq(n, 4, "getxattr of the symlink: %d", n);
	cr_assert_eq(memcmp(buf, "link", 4), 0, "symlink xattr is '%.*s'", n, buf);

	cr_assert_eq(fuse_setxattr(nf, "trusted.set", "yes"), 0);
	cr_assert_eq(getxattr(fifo, "trusted.set", buf, sizeof(buf)), 3,
		     "SETXATTR did not reach the fifo");
	cr_assert_eq(getxattr(decoy, "trusted.set", buf, sizeof(buf)), -1,
		     "SETXATTR of the fifo wrote the planted file");
	still_serving("xattr chroot");
	fe_test_end();
}

/* ---- set-id bits: CVE-2022-0358 and killpriv ---- */

#define GUEST_UID 1000u
#define GUEST_GID 1000u
#define OTHER_UID 2000u
#define OTHER_GID 2000u
#define DIR_GID 4242u           /* a group neither caller is in */

/* What the host kernel itself does for the same caller: run op in a child
 * with exactly the caller's ids (no supplementary groups), relative to
 * dirfd (opened before dropping root, so no path needs searching). */
typedef int (*native_fn)(int dirfd, const char *name, mode_t mode);

static void native_as(uid_t uid, gid_t gid, int dirfd, native_fn op,
		      const char *name, mode_t mode)
{
	pid_t pid = fork();
	int st;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		umask(0);
		if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			_exit(100);
		_exit(op(dirfd, name, mode) < 0 ? 101 : 0);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "native %s as %u:%u failed (%#x)", name, (unsigned)uid,
		  (unsigned)gid, st);
}

static int native_create(int dirfd, const char *name, mode_t mode)
{
	int fd = openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC,
			mode);

	if (fd >= 0)
		close(fd);
	return fd < 0 ? -1 : 0;
}

static int native_mkdir(int dirfd, const char *name, mode_t mode)
{
	return mkdirat(dirfd, name, mode);
}

static int native_mknod(int dirfd, const char *name, mode_t mode)
{
	return mknodat(dirfd, name, S_IFREG | mode, 0);
}

static int native_write(int dirfd, const char *name, mode_t mode)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : write(fd, "x", 1);

	if (fd >= 0)
		close(fd);
	return n == 1 ? 0 : -1;
}

static int native_truncate(int dirfd, const char *name, mode_t mode)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC);
	int r = fd < 0 ? -1 : ftruncate(fd, 0);

	if (fd >= 0)
		close(fd);
	return r;
}

static void host_stat(const char *dir, const char *name, struct stat *st)
{
	char p[600];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	cr_assert_eq(lstat(p, st), 0, "%s: %s", p, strerror(errno));
}

/* dir/native and dir/guest: both root:DIR_GID, mode 02777 (setgid, anyone
 * may create).  Returns an O_PATH fd of the native one. */
static int setgid_dirs(const char *sub)
{
	char p[600];
	int fd;

	for (int i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/%s-%s", fe_t.be.shared, sub,
			 i ? "guest" : "native");
		cr_assert_eq(mkdir(p, 0777), 0);
		cr_assert_eq(chown(p, 0, DIR_GID), 0);
		cr_assert_eq(chmod(p, 02777), 0);
	}
	snprintf(p, sizeof(p), "%s/%s-native", fe_t.be.shared, sub);
	fd = open(p, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	return fd;
}

static void compare(const char *sub, const char *name, bool expect_sgid)
{
	char nd[600], gd[600];
	struct stat n, g;

	snprintf(nd, sizeof(nd), "%s/%s-native", fe_t.be.shared, sub);
	snprintf(gd, sizeof(gd), "%s/%s-guest", fe_t.be.shared, sub);
	host_stat(nd, name, &n);
	host_stat(gd, name, &g);
	cr_assert_eq(g.st_gid, n.st_gid, "%s/%s: group %u, the kernel gives %u",
		     sub, name, (unsigned)g.st_gid, (unsigned)n.st_gid);
	cr_assert_eq(g.st_gid, DIR_GID, "%s/%s: did not inherit the directory's group",
		     sub, name);
	cr_assert_eq(g.st_mode, n.st_mode, "%s/%s: mode %o, the kernel gives %o",
		     sub, name, (unsigned)g.st_mode, (unsigned)n.st_mode);
	cr_assert_eq(!!(g.st_mode & S_ISGID), expect_sgid,
		     "%s/%s: S_ISGID %s", sub, name,
		     expect_sgid ? "lost" : "kept by a caller outside the group");
}

TestSuite(setid, .fini = fini, .timeout = 60);

/* CVE-2022-0358: a caller outside the directory's group creates a
 * group-executable setgid file in a setgid directory: the file gets the
 * directory's group but not S_ISGID (inode_init_owner), as natively. */
Test(setid, cve_2022_0358_setgid_dir_does_not_leak_sgid)
{
	struct fuse_entry_out e;
	struct fuse_open_out o;
	int r, nfd;

	start(NULL);
	nfd = setgid_dirs("sgid");
	uint64_t gdir = lookup_ok(FUSE_ROOT_ID, "sgid-guest");

	fe_fuse_set_caller(fe_t.dev, GUEST_UID, GUEST_GID);
	r = fe_create(fe_t.dev, gdir, "file", S_IFREG | 02755, O_WRONLY, &e, &o);
	cr_assert_eq(r, 0, "CREATE as %u: %s", GUEST_UID, strerror(-r));
	native_as(GUEST_UID, GUEST_GID, nfd, native_create, "file", 02755);
	compare("sgid", "file", false);

	struct fuse_mknod_in mi = { .mode = S_IFREG | 02755, .umask = 0 };
	struct iovec iv[] = { { &mi, sizeof(mi) }, { (void *)"node", 5 } };
	struct iovec ov[] = { { &e, sizeof(e) } };
	struct fe_reply rep;
	cr_assert_eq(fe_fuse_call(fe_t.dev, 1, FUSE_MKNOD, gdir, iv, 2, ov, 1, &rep), 0);
	cr_assert_eq(rep.error, 0, "MKNOD: %s", strerror(-rep.error));
	native_as(GUEST_UID, GUEST_GID, nfd, native_mknod, "node", 02755);
	compare("sgid", "node", false);

	/* Directories always inherit S_ISGID from a setgid parent. */
	cr_assert_eq(fe_mkdir(fe_t.dev, gdir, "sub", 0755, &e), 0);
	native_as(GUEST_UID, GUEST_GID, nfd, native_mkdir, "sub", 0755);
	compare("sgid", "sub", true);

	/* A caller in the group keeps the bit. */
	fe_fuse_set_caller(fe_t.dev, GUEST_UID, DIR_GID);
	cr_assert_eq(fe_create(fe_t.dev, gdir, "mine", S_IFREG | 02755, O_WRONLY,
			       &e, &o), 0);
	native_as(GUEST_UID, DIR_GID, nfd, native_create, "mine", 02755);
	compare("sgid", "mine", true);
	close(nfd);
	fe_fuse_reset_caller(fe_t.dev);
	still_serving("setgid");
	fe_test_end();
}

/* name in kp-native and kp-guest: GUEST_UID:DIR_GID, mode 06777. */
static void setid_file(const char *name)
{
	char p[600];

	for (int i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/kp-%s/%s", fe_t.be.shared,
			 i ? "guest" : "native", name);
		int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		cr_assert_geq(fd, 0);
		cr_assert_eq(write(fd, "data", 4), 4);
		close(fd);
		cr_assert_eq(chown(p, GUEST_UID, DIR_GID), 0);
		cr_assert_eq(chmod(p, 06777), 0);
	}
}

static void compare_mode(const char *name)
{
	char nd[600], gd[600];
	struct stat n, g;

	snprintf(nd, sizeof(nd), "%s/kp-native", fe_t.be.shared);
	snprintf(gd, sizeof(gd), "%s/kp-guest", fe_t.be.shared);
	host_stat(nd, name, &n);
	host_stat(gd, name, &g);
	cr_assert_eq(n.st_mode & 06000, 0, "the kernel kept set-id bits?");
	cr_assert_eq(g.st_mode, n.st_mode, "%s: mode %o after a non-owner's change, the kernel gives %o",
		     name, (unsigned)g.st_mode, (unsigned)n.st_mode);
}

/* killpriv: the daemon writes as root (CAP_FSETID), so the host kernel
 * never clears setuid/setgid on its writes; when the guest flags a WRITE
 * (FUSE_WRITE_KILL_SUIDGID) or a truncate (FATTR_KILL_SUIDGID) by a caller
 * who is not the owner, the daemon must clear them itself, leaving the file
 * as the kernel leaves it after the same change made natively. */
Test(setid, killpriv_write_and_truncate_by_non_owner)
{
	struct fuse_open_out o;
	int nfd;

	start(NULL);
	nfd = setgid_dirs("kp");
	setid_file("w");
	setid_file("t");
	uint64_t gdir = lookup_ok(FUSE_ROOT_ID, "kp-guest");
	uint64_t w = lookup_ok(gdir, "w"), t = lookup_ok(gdir, "t");

	/* WRITE with FUSE_WRITE_KILL_SUIDGID, as the guest kernel sends it
	 * for a writer without CAP_FSETID. */
	fe_fuse_set_caller(fe_t.dev, OTHER_UID, OTHER_GID);
	cr_assert_eq(fe_open(fe_t.dev, w, O_WRONLY, &o), 0);
	struct fuse_write_in win = { .fh = o.fh, .size = 1,
				     .write_flags = FUSE_WRITE_KILL_SUIDGID };
	struct fuse_write_out wo;
	struct fe_reply rep;
	struct iovec iv[] = { { &win, sizeof(win) }, { (void *)"x", 1 } };
	struct iovec ov[] = { { &wo, sizeof(wo) } };
	cr_assert_eq(fe_fuse_call(fe_t.dev, 1, FUSE_WRITE, w, iv, 2, ov, 1, &rep), 0);
	cr_assert_eq(rep.error, 0, "WRITE: %s", strerror(-rep.error));
	native_as(OTHER_UID, OTHER_GID, nfd, native_write, "w", 0);
	compare_mode("w");

	/* Truncate through SETATTR with FATTR_KILL_SUIDGID. */
	struct fuse_setattr_in sa = { .valid = FATTR_SIZE | FATTR_KILL_SUIDGID,
				      .size = 0 };
	struct fuse_attr_out ao;
	cr_assert_eq(fe_setattr(fe_t.dev, t, &sa, &ao), 0);
	native_as(OTHER_UID, OTHER_GID, nfd, native_truncate, "t", 0);
	compare_mode("t");
	close(nfd);
	fe_fuse_reset_caller(fe_t.dev);
	still_serving("killpriv");
	fe_test_end();
}

/* ---- a host rename racing a guest walk ---- */

struct mover {
	char in[600], out[600];
	volatile bool stop;
	unsigned long renames;
};

/* Move shared/a out of the share and back, as fast as it goes. */
static void *mover_main(void *p)
{
	struct mover *m = p;

	while (!m->stop) {
		if (rename(m->in, m->out) == 0)
			m->renames++;
		if (rename(m->out, m->in) == 0)
			m->renames++;
	}
	return NULL;
}

static bool reaches(uint64_t node, const char *name, ino_t secret)
{
	struct fuse_entry_out e;

	return fe_lookup(fe_t.dev, node, name, &e) == 0 &&
	       (ino_t)e.attr.ino == secret;
}

TestSuite(rename_race, .fini = fini, .timeout = 120);

/* The guest walks a/b/c while the host moves a/ out of the share, next to
 * a secret file, and back.  Whatever the interleaving, nothing the guest
 * can name -- by lookup, "..", a name with '/', or a directory listing --
 * is the secret. */
Test(rename_race, walk_while_host_moves_dir_out_of_share)
{
	char outside[600], p[700];
	struct mover m = { .stop = false };
	struct stat st;
	pthread_t th;
	unsigned int walks = 0, deep = 0;

	start(NULL);
	snprintf(outside, sizeof(outside), "%s/outside", fe_t.be.tmpdir);
	cr_assert_eq(mkdir(outside, 0755), 0);
	snprintf(p, sizeof(p), "%s/secret", outside);
	int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "host secret", 11), 11);
	close(fd);
	cr_assert_eq(stat(p, &st), 0);
	snprintf(p, sizeof(p), "%s/a/b/c", fe_t.be.shared);
	cr_assert_eq(mkdir(fe_path((char[700]){ 0 }, 700, fe_t.be.shared, "a"), 0755), 0);
	snprintf(p, sizeof(p), "%s/a/b", fe_t.be.shared);
	cr_assert_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/a/b/c", fe_t.be.shared);
	cr_assert_eq(mkdir(p, 0755), 0);
	fe_path(m.in, sizeof(m.in), fe_t.be.shared, "a");
	fe_path(m.out, sizeof(m.out), outside, "a");
	cr_assert_eq(pthread_create(&th, NULL, mover_main, &m), 0);

	/* Bounded by walks, not by time: the assertion does not depend on
	 * how the two threads interleave, only the coverage does. */
	while (walks < 3000 || (m.renames < 100 && walks < 20000)) {
		struct fuse_entry_out e;
		uint64_t node[3];
		static const char *const names[] = { "a", "b", "c" };
		int depth = 0;

		walks++;
		uint64_t parent = FUSE_ROOT_ID;
		for (int i = 0; i < 3; i++) {
			if (fe_lookup(fe_t.dev, parent, names[i], &e) != 0)
				break;
			node[depth++] = parent = e.nodeid;
		}
		cr_assert(!reaches(FUSE_ROOT_ID, "secret", st.st_ino));
		cr_assert(!reaches(FUSE_ROOT_ID, "../outside/secret", st.st_ino));
		for (int i = 0; i < depth; i++) {
			cr_assert(!reaches(node[i], "..", st.st_ino));
			cr_assert(!reaches(node[i], "secret", st.st_ino),
				  "looked up the secret outside the share");
			cr_assert(!reaches(node[i], "../secret", st.st_ino));
			cr_assert(!reaches(node[i], "../../secret", st.st_ino));
			if (i == 0 && (walks % 50) == 0)
				cr_assert_eq(fe_dir_has(fe_t.dev, node[0], "secret",
							true), 0,
					     "listing shows the secret");
		}
		if (depth == 3)
			deep++;
		for (int i = 0; i < depth; i++)
			fe_forget(fe_t.dev, node[i], 1);
	}
	m.stop = true;
	pthread_join(th, NULL);
	cr_log_info("%u walks (%u reached a/b/c), %lu host renames", walks,
		    deep, m.renames);
	cr_assert_gt(m.renames, 0);
	still_serving("rename race");
	fe_test_end();
}

/* ---- bounds of every table the guest can grow ---- */

TestSuite(bounds, .fini = fini, .timeout = 120);

static void many_files(unsigned int n)
{
	char p[600];

	for (unsigned int i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/f%u", fe_t.be.shared, i);
		int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		cr_assert_geq(fd, 0);
		close(fd);
	}
}

/* Nodes: LOOKUP without FORGET stops at the node bound with ENFILE (the
 * bound follows the fd limit: 1024 at least); the daemon keeps serving
 * and FORGET makes room again. */
Test(bounds, inode_table_bound_gives_enfile)
{
	static const char *const extra[] = { "--rlimit-nofile=1024", NULL };
	struct fuse_entry_out e;
	uint64_t first = 0;
	unsigned int n = 0;
	char name[32];
	int r = 0;

	start(extra);
	many_files(1500);
	for (n = 0; n < 1500; n++) {
		snprintf(name, sizeof(name), "f%u", n);
		r = fe_lookup(fe_t.dev, FUSE_ROOT_ID, name, &e);
		if (r != 0)
			break;
		if (!first)
			first = e.nodeid;
	}
	cr_assert_eq(r, -ENFILE, "after %u nodes: %d (%s), expected ENFILE", n,
		     r, strerror(-r));
	cr_assert_leq(n, 1024u);
	cr_assert_lt(fe_count_fds(fe_t.be.pid), 1024);
	still_serving("node bound");
	cr_assert_eq(fe_forget(fe_t.dev, first, 1), 0);
	snprintf(name, sizeof(name), "f%u", n);
	cr_assert_eq(fe_lookup(fe_t.dev, FUSE_ROOT_ID, name, &e), 0,
		     "no room after FORGET");
	fe_test_end();
}

/* Handles: OPENDIR without RELEASEDIR stops at the handle bound with
 * EMFILE; RELEASEDIR makes room again. */
Test(bounds, handle_table_bound_gives_emfile)
{
	static const char *const extra[] = { "--rlimit-nofile=1024", NULL };
	static uint64_t fhs[4096];
	struct fuse_open_out o;
	unsigned int n;
	int r = 0;

	start(extra);
	for (n = 0; n < 4096; n++) {
		r = fe_opendir(fe_t.dev, FUSE_ROOT_ID, O_RDONLY, &o);
		if (r != 0)
			break;
		fhs[n] = o.fh;
	}
	cr_assert(r == -EMFILE || r == -ENFILE, "after %u opendirs: %d (%s)",
		  n, r, strerror(-r));
	cr_assert_lt(n, 4096u);
	cr_assert_lt(fe_count_fds(fe_t.be.pid), 1024);
	still_serving("handle bound");
	cr_assert_eq(fe_releasedir(fe_t.dev, FUSE_ROOT_ID, fhs[0]), 0);
	cr_assert_eq(fe_opendir(fe_t.dev, FUSE_ROOT_ID, O_RDONLY, &o), 0,
		     "no room after RELEASEDIR");
	fe_test_end();
}

/* The daemon's own memory (guest memory it touches is shared, not anon). */
static long rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* Pending requests: a full ring (1024 chains posted at once) is taken a
 * bounded number of slots at a time -- the rest waits in guest memory, not
 * in the daemon's -- and every request is answered. */
Test(bounds, full_ring_is_served_through_bounded_slots)
{
	struct fe_opts opts = { .queue_size = 1024, .indirect = true };
	enum { N = 1024 };
	static struct fe_req *reqs[N];
	struct fe_reply rep;
	long before, after;

	need_root();
	fe_test_start(FE_BACKEND_VFSD, NULL);
	fe_t.dev = fe_test_open(&opts);
	cr_assert_eq(fe_fuse_init(fe_t.dev, 0, FE_INIT_FLAGS_DEFAULT, NULL), 0);
	still_serving("warm-up");
	before = rss_kb(fe_server_pid(fe_t.be.pid));
	for (int i = 0; i < N; i++) {
		char name[16];

		reqs[i] = fe_req_new(fe_t.dev, 128, 256, 0);
		cr_assert_not_null(reqs[i]);
		snprintf(name, sizeof(name), "none%d", i);
		cr_assert_eq(fe_req_prepare(fe_t.dev, reqs[i], FUSE_LOOKUP,
					    FUSE_ROOT_ID, name,
					    strlen(name) + 1), 0);
		cr_assert_eq(fe_submit(fe_t.dev, 1, reqs[i]), 0, "submit %d", i);
	}
	cr_assert_eq(fe_kick(fe_t.dev, 1), 0);
	for (int i = 0; i < N; i++) {
		struct fe_req *done;

		cr_assert_eq(fe_reap(fe_t.dev, 1, &done, 10000), 1,
			     "only %d of %d requests answered", i, N);
		cr_assert_eq(fe_req_reply(done, &rep), 0);
		/* ENOENT, or a negative entry (success, nodeid 0). */
		cr_assert(rep.error == 0 || rep.error == -ENOENT,
			  "request %d: %d", i, rep.error);
	}
	after = rss_kb(fe_server_pid(fe_t.be.pid));
	for (int i = 0; i < N; i++)
		fe_req_free(reqs[i]);
	cr_assert_lt(after - before, 8 * 1024, "anonymous memory grew by %ld KiB for %d queued requests",
		     after - before, N);
	still_serving("full ring");
	fe_test_end();
}
