// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Semantics beyond plain opcodes: per-request credentials (a non-root
 * caller through the mount), --readonly, --xattr, setuid/setgid clearing,
 * O_TMPFILE, --killpriv-v2, --xattrmap, files the host changes under open
 * handles, and the daemon's end when the mount is unmounted from outside.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "diff.h"

TestSuite(semantics, .init = diff_setup, .fini = diff_teardown, .timeout = 60);

/* ---- per-request credentials ----------------------------------------- */

/* Returns the new file's uid/gid packed, so that both are compared. */
static long create_as_caller(struct side *s, void *arg)
{
	struct stat st;
	int fd = openat(s->dir, arg, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			0640);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		return -1;
	close(fd);
	return (long)st.st_uid << 20 | st.st_gid;
}

static long mkdir_as_caller(struct side *s, void *arg)
{
	return mkdirat(s->dir, arg, 0755);
}

static long symlink_as_caller(struct side *s, void *arg)
{
	return symlinkat("target", s->dir, arg);
}

static long chmod_as_caller(struct side *s, void *arg)
{
	return fchmodat(s->dir, arg, 0600, 0);
}

static long unlink_as_caller(struct side *s, void *arg)
{
	return unlinkat(s->dir, arg, 0);
}

static long access_as_caller(struct side *s, void *arg)
{
	return faccessat(s->dir, arg, W_OK, AT_EACCESS);
}

Test(semantics, non_root_caller_owns_what_it_creates)
{
	diff_as_user(1000, 1000, create_as_caller, "pub/mine", "create in pub");
	diff_as_user(1000, 1000, create_as_caller, "d/theirs", "create in d");
	diff_as_user(1000, 1000, mkdir_as_caller, "pub/dir", "mkdir in pub");
	diff_as_user(1000, 1000, symlink_as_caller, "pub/sl", "symlink in pub");
	diff_as_user(1000, 1000, mkdir_as_caller, "d/dir", "mkdir in d");
	diff_as_user(2000, 3000, create_as_caller, "sticky/f", "create in sticky");
	diff_tree();
}

Test(semantics, non_root_caller_permissions)
{
	diff_as_user(1000, 1000, diff_write_byte, "a", "write root's file");
	diff_as_user(1000, 1000, diff_write_byte, "other", "write own file");
	diff_as_user(1000, 1000, chmod_as_caller, "a", "chmod root's file");
	diff_as_user(1000, 1000, chmod_as_caller, "other", "chmod own file");
	diff_as_user(1000, 1000, access_as_caller, "ro", "access W_OK");
	diff_as_user(2000, 3000, create_as_caller, "sticky/f", "create in sticky");
	diff_as_user(1000, 1000, unlink_as_caller, "sticky/f", "unlink another's file in sticky");
	diff_as_user(1000, 1000, unlink_as_caller, "d/x", "unlink in d");
	diff_tree();
}

/* ---- setuid/setgid clearing ------------------------------------------ */

Test(semantics, write_and_chown_clear_setuid)
{
	diff_stat("suid", 0);
	diff_as_user(1000, 1000, diff_write_byte, "suid", "write setuid file");
	diff_stat("suid", 0);
	BOTH(fchmodat(S->dir, "suid", 06775, 0));
	OPEN(0, openat(S->dir, "suid", O_WRONLY));
	BOTH(pwrite(S->fd[0], "y", 1, 3));
	diff_stat("suid", 0);
	BOTH(fchownat(S->dir, "suid", 1000, 1000, 0));
	diff_stat("suid", 0);
	BOTH(fchmodat(S->dir, "suid", 06775, 0));
	BOTH(ftruncate(S->fd[0], 1));
	diff_stat("suid", 0);
	diff_tree();
}

/* ---- --killpriv-v2: the daemon clears setuid/setgid ------------------- */

static void diff_setup_killpriv(void)
{
	static const char *const opts[] = { "--cache=never", "--killpriv-v2",
					    NULL };

	diff_setup_opts(opts);
}

TestSuite(killpriv, .init = diff_setup_killpriv, .fini = diff_teardown,
	  .timeout = 60);

static long truncate_as_caller(struct side *s, void *arg)
{
	int fd = openat(s->dir, arg, O_WRONLY | O_CLOEXEC);
	long r;

	if (fd < 0)
		return -1;
	r = ftruncate(fd, 2);
	close(fd);
	return r;
}

static long open_trunc_as_caller(struct side *s, void *arg)
{
	int fd = openat(s->dir, arg, O_WRONLY | O_TRUNC | O_CLOEXEC);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static long creat_trunc_as_caller(struct side *s, void *arg)
{
	int fd = openat(s->dir, arg, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			0600);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static long chown_as_caller(struct side *s, void *arg)
{
	/* The owner may give the file to a group it is in. */
	return fchownat(s->dir, arg, (uid_t)-1, 1000, 0);
}

/* "suid" is 0:1000 06775: group 1000 may write it.  Each step sets the
 * bits again (as root) and lets uid 1000 (no CAP_FSETID) touch it. */
Test(killpriv, unprivileged_write_truncate_open_chown)
{
	long (*const steps[])(struct side *, void *) = {
		diff_write_byte, truncate_as_caller, open_trunc_as_caller,
		creat_trunc_as_caller,
	};

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		BOTH(fchmodat(S->dir, "suid", 06775, 0));
		diff_stat("suid", 0);
		diff_as_user(1000, 1000, steps[i], "suid", "kill step");
		diff_stat("suid", 0);
	}
	/* setgid without group-exec is not an "executable" setgid: kept. */
	BOTH(fchmodat(S->dir, "suid", 02664, 0));
	diff_as_user(1000, 1000, diff_write_byte, "suid", "write 02664");
	diff_stat("suid", 0);
	/* chown by the owner: uid 1000 owns "other". */
	BOTH(fchmodat(S->dir, "other", 06755, 0));
	diff_as_user(1000, 1000, chown_as_caller, "other", "chgrp by owner");
	diff_stat("other", 0);
	diff_tree();
}

Test(killpriv, root_keeps_the_bits_except_on_chown)
{
	BOTH(fchmodat(S->dir, "suid", 06775, 0));
	OPEN(0, openat(S->dir, "suid", O_WRONLY));
	BOTH(pwrite(S->fd[0], "y", 1, 3));
	diff_stat("suid", 0);
	BOTH(ftruncate(S->fd[0], 1));
	diff_stat("suid", 0);
	OPEN(1, openat(S->dir, "suid", O_WRONLY | O_TRUNC));
	diff_stat("suid", 0);
	BOTH(fchownat(S->dir, "suid", 1000, 1000, 0));
	diff_stat("suid", 0);
	BOTH(fchmodat(S->dir, "d", 02775, 0));
	BOTH(fchownat(S->dir, "d", 0, 1000, 0));
	diff_stat("d", 0);      /* directories keep setgid */
	diff_tree();
}

/* ---- O_TMPFILE -------------------------------------------------------- */

/* linkat() of an open fd the way unprivileged programs do it (no
 * CAP_DAC_READ_SEARCH needed): through its /proc/self/fd magic link. */
static long link_fd(struct side *s, int k, const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", s->fd[k]);
	return linkat(AT_FDCWD, path, s->dir, name, AT_SYMLINK_FOLLOW);
}

Test(semantics, tmpfile_then_linkat)
{
	char buf[8192];

	diff_pattern(buf, sizeof(buf), 7);
	OPEN(0, openat(S->dir, "d", O_TMPFILE | O_RDWR | O_CLOEXEC, 0640));
	BOTH(pwrite(S->fd[0], buf, sizeof(buf), 0));
	diff_fstat(0);          /* nlink 0, mode 0640 & ~umask, size */
	diff_pread(0, 100, 5000);
	diff_listdir("d");      /* unnamed: not listed */
	BOTH(link_fd(S, 0, "d/named"));
	diff_fstat(0);          /* nlink 1 now */
	BOTH(link_fd(S, 0, "d/named"));         /* EEXIST */
	BOTH(linkat(S->fd[0], "", S->dir, "d/again", AT_EMPTY_PATH));
	diff_fstat(0);
	diff_close(0);
	diff_read_file("d/named");
	diff_tree();
}

Test(semantics, tmpfile_errors)
{
	/* O_EXCL: never linkable. */
	OPEN(0, openat(S->dir, "pub", O_TMPFILE | O_WRONLY | O_EXCL | O_CLOEXEC,
		       0600));
	BOTH(write(S->fd[0], "x", 1));
	BOTH(link_fd(S, 0, "pub/never"));
	diff_fstat(0);
	diff_close(0);
	OPEN(1, openat(S->dir, "a", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
	OPEN(1, openat(S->dir, "missing", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
	OPEN(1, openat(S->dir, "d", O_TMPFILE | O_RDONLY | O_CLOEXEC, 0600));
	OPEN(1, openat(S->dir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 04755));
	diff_fstat(1);
	diff_tree();
}

/* Owner of an O_TMPFILE made by a non-root caller, after it is linked. */
static long tmpfile_as_caller(struct side *s, void *arg)
{
	char path[64];
	struct stat st;
	int fd = openat(s->dir, arg, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);

	if (fd < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, path, s->dir, "pub/linked", AT_SYMLINK_FOLLOW) < 0 ||
	    fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return (long)st.st_uid << 20 | st.st_gid << 4 | st.st_nlink;
}

Test(semantics, tmpfile_as_non_root)
{
	diff_as_user(1000, 1000, tmpfile_as_caller, "pub", "tmpfile in pub");
	diff_as_user(1000, 1000, tmpfile_as_caller, "d", "tmpfile in root's d");
	diff_tree();
}

/* ---- unmount from outside --------------------------------------------- */

Test(semantics, umount_from_outside_ends_the_daemon)
{
	struct timespec ts = { 0, 2000000 };
	int status = 0;

	close(D.s[1].dir);
	D.s[1].dir = -1;
	cr_assert_eq(umount2(D.mnt, 0), 0, "umount: %s", strerror(errno));
	for (int i = 0; i < 5000; i++) {
		if (waitpid(D.vfsd, &status, WNOHANG) == D.vfsd) {
			D.vfsd = 0;
			cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
				  "status 0x%x", status);
			return;
		}
		nanosleep(&ts, NULL);
	}
	cr_assert_fail("vfsd still runs 10 s after its mount went away");
}

/* ---- --readonly ------------------------------------------------------- */

TestSuite(readonly, .init = diff_setup_readonly, .fini = diff_teardown,
	  .timeout = 60);

#define EROFS_ON_VFSD(expr) do {					\
	struct side *S = &D.s[1];					\
	errno = 0;							\
	cr_assert_eq((long)(expr), -1, "%s succeeded", #expr);		\
	cr_assert_eq(errno, EROFS, "%s: %s", #expr, strerror(errno));	\
} while (0)

Test(readonly, every_modification_is_erofs)
{
	struct timespec ts[2] = { { 1, 0 }, { 2, 0 } };
	int fd;

	EROFS_ON_VFSD(openat(S->dir, "new", O_WRONLY | O_CREAT, 0644));
	EROFS_ON_VFSD(openat(S->dir, "a", O_WRONLY));
	EROFS_ON_VFSD(openat(S->dir, "a", O_RDWR));
	EROFS_ON_VFSD(openat(S->dir, "a", O_RDONLY | O_TRUNC));
	EROFS_ON_VFSD(mkdirat(S->dir, "n", 0755));
	EROFS_ON_VFSD(mknodat(S->dir, "fifo", S_IFIFO | 0644, 0));
	EROFS_ON_VFSD(symlinkat("x", S->dir, "s"));
	EROFS_ON_VFSD(linkat(S->dir, "a", S->dir, "h", 0));
	EROFS_ON_VFSD(unlinkat(S->dir, "a", 0));
	EROFS_ON_VFSD(unlinkat(S->dir, "d/e", AT_REMOVEDIR));
	EROFS_ON_VFSD(renameat(S->dir, "a", S->dir, "b"));
	EROFS_ON_VFSD(renameat2(S->dir, "a", S->dir, "ro", RENAME_EXCHANGE));
	EROFS_ON_VFSD(fchmodat(S->dir, "a", 0600, 0));
	EROFS_ON_VFSD(fchownat(S->dir, "a", 1, 1, 0));
	EROFS_ON_VFSD(utimensat(S->dir, "a", ts, 0));
	fd = openat(D.s[1].dir, "a", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "reading stays possible: %s", strerror(errno));
	EROFS_ON_VFSD(fsetxattr(fd, "user.x", "1", 1, 0));
	close(fd);
	/* Reads are untouched, and nothing changed. */
	diff_tree();
}

/* ---- --xattr ---------------------------------------------------------- */

TestSuite(xattr, .init = diff_setup_xattr, .fini = diff_teardown,
	  .timeout = 60);

static const char *at(struct side *s, const char *name)
{
	static char path[2][4200];
	int i = s == &D.s[0] ? 0 : 1;

	snprintf(path[i], sizeof(path[i]), "%s/%s", s->root, name);
	return path[i];
}

Test(xattr, set_get_list_remove)
{
	char v[64];

	BOTH(lsetxattr(at(S, "a"), "user.one", "1", 1, 0));
	BOTH(lsetxattr(at(S, "a"), "user.one", "11", 2, XATTR_CREATE));
	BOTH(lsetxattr(at(S, "a"), "user.two", "22", 2, XATTR_REPLACE));
	BOTH(lsetxattr(at(S, "a"), "user.two", "", 0, 0));
	BOTH(lsetxattr(at(S, "d"), "user.dir", "dd", 2, 0));
	BOTH(lsetxattr(at(S, "missing"), "user.x", "1", 1, 0));
	BOTH(lsetxattr(at(S, "a"), "bogus.x", "1", 1, 0));
	BOTH(lsetxattr(at(S, "a"), "trusted.t", "t", 1, 0));
	BOTH(lgetxattr(at(S, "a"), "user.one", v, sizeof(v)));
	BOTH(lgetxattr(at(S, "a"), "user.one", NULL, 0));
	BOTH(lgetxattr(at(S, "a"), "user.one", v, 0));
	BOTH(lgetxattr(at(S, "a"), "user.nope", v, sizeof(v)));
	BOTH(llistxattr(at(S, "a"), v, sizeof(v)));
	BOTH(llistxattr(at(S, "a"), NULL, 0));
	BOTH(llistxattr(at(S, "a"), v, 1));
	diff_xattrs("a");
	diff_xattrs("d");
	BOTH(lremovexattr(at(S, "a"), "user.one"));
	BOTH(lremovexattr(at(S, "a"), "user.one"));
	diff_xattrs("a");
	/* user.* xattrs are not allowed on symlinks and fifos. */
	BOTH(lsetxattr(at(S, "lnk"), "user.l", "1", 1, 0));
	BOTH(lgetxattr(at(S, "lnk"), "user.l", v, sizeof(v)));
	BOTH(lsetxattr(at(S, "lnk"), "trusted.l", "1", 1, 0));
	diff_xattrs("lnk");
	diff_tree();
}

/* ---- --xattrmap --------------------------------------------------------- */

/* The overlayfs-in-guest case: the guest's trusted.* live as
 * user.virtiofs.trusted.* on the host, invisible as trusted.* there. */
static void diff_setup_xattrmap(void)
{
	static const char *const opts[] = {
		"--cache=never", "--xattrmap=:map:trusted.:user.virtiofs.:", NULL
	};

	diff_setup_opts(opts);
}

TestSuite(xattrmap, .init = diff_setup_xattrmap, .fini = diff_teardown,
	  .timeout = 60);

Test(xattrmap, guest_sees_what_a_local_fs_shows)
{
	char v[64];

	BOTH(lsetxattr(at(S, "a"), "trusted.overlay.opaque", "y", 1, 0));
	BOTH(lsetxattr(at(S, "a"), "trusted.overlay.opaque", "y", 1,
		       XATTR_CREATE));
	BOTH(lsetxattr(at(S, "a"), "user.plain", "p", 1, 0));
	BOTH(lsetxattr(at(S, "d"), "trusted.overlay.redirect", "/x", 2, 0));
	BOTH(lgetxattr(at(S, "a"), "trusted.overlay.opaque", v, sizeof(v)));
	BOTH(lgetxattr(at(S, "a"), "trusted.overlay.opaque", NULL, 0));
	BOTH(lgetxattr(at(S, "a"), "trusted.nope", v, sizeof(v)));
	BOTH(llistxattr(at(S, "a"), NULL, 0));
	BOTH(llistxattr(at(S, "a"), v, sizeof(v)));
	BOTH(llistxattr(at(S, "a"), v, 3));
	diff_xattrs("a");
	diff_xattrs("d");
	BOTH(lremovexattr(at(S, "a"), "trusted.overlay.opaque"));
	BOTH(lremovexattr(at(S, "a"), "trusted.overlay.opaque"));
	diff_xattrs("a");
	diff_tree();
}

Test(xattrmap, host_side_names_and_refusals)
{
	char path[4200], v[64];
	ssize_t n;

	cr_assert_eq(lsetxattr(at(&D.s[1], "a"), "trusted.t", "1", 1, 0), 0,
		     "%s", strerror(errno));
	/* On the host: stored under the prefix, not as trusted.t. */
	snprintf(path, sizeof(path), "%s/a", D.shared);
	n = lgetxattr(path, "user.virtiofs.trusted.t", v, sizeof(v));
	cr_assert_eq(n, 1, "host copy: %s", strerror(errno));
	cr_assert_eq(lgetxattr(path, "trusted.t", v, sizeof(v)), -1);
	/* The guest cannot reach the prefixed names directly... */
	errno = 0;
	cr_assert_eq(lsetxattr(at(&D.s[1], "a"), "user.virtiofs.x", "1", 1, 0),
		     -1);
	cr_assert_eq(errno, EPERM, "%s", strerror(errno));
	/* ...and a host trusted.* is not shown to it. */
	cr_assert_eq(lsetxattr(path, "trusted.host", "h", 1, 0), 0);
	errno = 0;
	cr_assert_eq(lgetxattr(at(&D.s[1], "a"), "trusted.host", v, sizeof(v)),
		     -1);
	cr_assert_eq(errno, ENODATA, "%s", strerror(errno));
	n = llistxattr(at(&D.s[1], "a"), v, sizeof(v));
	cr_assert_eq(n, (ssize_t)sizeof("trusted.t"));
	cr_assert_str_eq(v, "trusted.t");
}

/* ---- stale handles: the host changes files the guest holds -------------- */

/* Host-side changes (diff_on_host); cache=never: no stale guest cache. */

static int host_rmdir(int dir, const char *a, const char *b)
{
	(void)b;
	return unlinkat(dir, a, AT_REMOVEDIR);
}

static int host_rename(int dir, const char *a, const char *b)
{
	return renameat(dir, a, dir, b);
}

Test(semantics, host_unlinks_an_open_file)
{
	OPEN(0, openat(S->dir, "d/x", O_RDWR | O_CLOEXEC));
	diff_on_host(diff_host_unlink, "d/x", NULL);
	diff_pread(0, 0, 100);          /* still readable, like a local fs */
	BOTH(pwrite(S->fd[0], "bye", 3, 0));
	diff_fstat(0);                  /* nlink 0 */
	diff_stat("d/x", 0);            /* ENOENT */
	BOTH(faccessat(S->dir, "d/x", F_OK, 0));
	OPEN(1, openat(S->dir, "d/x", O_RDONLY | O_CLOEXEC));
	diff_close(0);
	diff_tree();
}

Test(semantics, host_replaces_an_open_file)
{
	OPEN(0, openat(S->dir, "a", O_RDONLY | O_CLOEXEC));
	diff_on_host(diff_host_replace, "a", NULL);
	diff_pread(0, 0, 10000);        /* the old contents */
	diff_read_file("a");            /* the name: the new file */
	diff_stat("a", 0);
	diff_fstat(0);
	diff_on_host(host_rename, "a", "moved");
	diff_pread(0, 0, 64);
	diff_stat("a", 0);
	diff_read_file("moved");
	diff_tree();
}

Test(semantics, host_removes_an_open_directory)
{
	OPEN(0, openat(S->dir, "d/e", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	diff_on_host(host_rmdir, "d/e", NULL);
	BOTH(openat(S->fd[0], "child", O_RDWR | O_CREAT | O_CLOEXEC, 0644));
	BOTH(mkdirat(S->fd[0], "sub", 0755));
	BOTH(faccessat(S->fd[0], "child", F_OK, 0));
	diff_fstat(0);
	{
		char buf[4096];

		BOTH(syscall(SYS_getdents64, S->fd[0], buf, sizeof(buf)));
	}
	diff_stat("d/e", 0);
	diff_tree();
}
