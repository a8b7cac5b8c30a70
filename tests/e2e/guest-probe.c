// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * guest-probe: the system calls busybox cannot make, for the e2e guest
 * (extended attributes, POSIX ACLs, POSIX/OFD/flock locks, O_TMPFILE, a
 * read-only share).  Linked statically: the guest is a bare busybox
 * initramfs.  The host runs it too (hold-locks, getxattr, acl-dump).
 *
 * Each subcommand prints one line per step ("ok ...", "FAIL ...", or
 * "DIFF ..." for a documented difference of a back-end, e.g. QEMU's C
 * virtiofsd not supporting O_TMPFILE) and exits 0 (all ok), 1 (a FAIL),
 * 3 (no FAIL but a DIFF) or 2 (usage).  Every wait is bounded by alarm():
 * a hung lock or reply fails the step instead of hanging the guest.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define STEP_TIMEOUT 60		/* seconds for a whole subcommand */
#define ACL_UID 1000		/* named user granted access by the ACLs */
#define OTHER_UID 1001		/* a user the ACLs do not name */

static int failed;
static int differs;

static void ok(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("ok ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
}

static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("FAIL ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	failed = 1;
	return -1;
}

static void diff(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("DIFF ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	differs = 1;
}

/* expect_errno(RET, ERRNO_WANT, WHAT): RET of a call that must fail. */
static int expect_errno(long ret, int want, const char *what)
{
	if (ret >= 0)
		return fail("%s: succeeded, want %s", what, strerror(want));
	if (errno != want)
		return fail("%s: %s, want %s", what, strerror(errno), strerror(want));
	ok("%s: %s", what, strerror(want));
	return 0;
}

static int expect_ok(long ret, const char *what)
{
	if (ret < 0)
		return fail("%s: %s", what, strerror(errno));
	ok("%s", what);
	return 0;
}

static int finish(void)
{
	fflush(stdout);
	if (failed)
		return 1;
	return differs ? 3 : 0;
}

/* Children report through their exit status: 0 = as expected. */
static int wait_child(pid_t pid, const char *what)
{
	int st;

	if (waitpid(pid, &st, 0) < 0)
		return fail("%s: waitpid: %s", what, strerror(errno));
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFSIGNALED(st))
		return fail("%s: child killed by signal %d%s", what, WTERMSIG(st),
			    WTERMSIG(st) == SIGALRM ? " (timed out)" : "");
	return fail("%s: child exit status %d", what, WEXITSTATUS(st));
}

/* The byte read (a protocol step), or -1 after a FAIL line. */
static int read_byte(int fd, const char *what)
{
	unsigned char c;

	errno = 0;
	if (read(fd, &c, 1) != 1)
		return fail("%s: pipe read: %s", what, errno ? strerror(errno) : "EOF");
	return c;
}

static void write_byte(int fd, char c)
{
	if (write(fd, &c, 1) != 1)
		_exit(99);
}

/* ---- xattr ------------------------------------------------------------ */

static int list_has(const char *list, ssize_t len, const char *name)
{
	const char *p;

	for (p = list; p < list + len; p += strlen(p) + 1)
		if (!strcmp(p, name))
			return 1;
	return 0;
}

/* Nearly a page: about the largest value the host's ext4 takes (all of a
 * file's xattrs share one 4 KiB block unless it has ea_inode). */
#define BIG_XATTR 3900

static int cmd_xattr(const char *file)
{
	static char big[BIG_XATTR], buf[8192];
	char list[4096];
	ssize_t n;
	size_t i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	if (expect_ok(setxattr(file, "user.e2e.small", "v1", 2, 0), "setxattr user.e2e.small"))
		return finish();
	expect_ok(setxattr(file, "user.e2e.big", big, sizeof(big), 0), "setxattr a 3900-byte value");

	n = getxattr(file, "user.e2e.small", buf, sizeof(buf));
	if (n != 2 || memcmp(buf, "v1", 2))
		fail("getxattr user.e2e.small: %zd '%.*s', want 2 'v1'", n, n > 0 ? (int)n : 0, buf);
	else
		ok("getxattr user.e2e.small");
	n = getxattr(file, "user.e2e.big", NULL, 0);
	if (n != (ssize_t)sizeof(big))
		fail("getxattr size query: %zd (%s), want %zu", n, n < 0 ? strerror(errno) : "", sizeof(big));
	else
		ok("getxattr size query: 3900");
	n = getxattr(file, "user.e2e.big", buf, sizeof(buf));
	if (n != (ssize_t)sizeof(big) || memcmp(buf, big, sizeof(big)))
		fail("getxattr 3900-byte value: %zd bytes, content %s", n,
		     n == (ssize_t)sizeof(big) ? "differs" : "-");
	else
		ok("getxattr 3900-byte value");
	expect_errno(getxattr(file, "user.e2e.big", buf, 100), ERANGE, "getxattr into a short buffer");
	expect_errno(getxattr(file, "user.e2e.missing", buf, sizeof(buf)), ENODATA,
		     "getxattr missing name");

	n = listxattr(file, list, sizeof(list));
	if (n < 0)
		fail("listxattr: %s", strerror(errno));
	else if (!list_has(list, n, "user.e2e.small") || !list_has(list, n, "user.e2e.big"))
		fail("listxattr: names missing");
	else
		ok("listxattr lists both names");

	expect_errno(setxattr(file, "user.e2e.small", "v2", 2, XATTR_CREATE), EEXIST,
		     "setxattr XATTR_CREATE on an existing name");
	expect_errno(setxattr(file, "user.e2e.nope", "v", 1, XATTR_REPLACE), ENODATA,
		     "setxattr XATTR_REPLACE on a missing name");
	expect_ok(setxattr(file, "user.e2e.small", "v22", 3, XATTR_REPLACE), "setxattr XATTR_REPLACE");
	n = getxattr(file, "user.e2e.small", buf, sizeof(buf));
	if (n != 3 || memcmp(buf, "v22", 3))
		fail("getxattr after replace: %zd", n);
	else
		ok("getxattr after replace");

	expect_ok(removexattr(file, "user.e2e.big"), "removexattr user.e2e.big");
	expect_errno(getxattr(file, "user.e2e.big", buf, sizeof(buf)), ENODATA,
		     "getxattr after removexattr");
	expect_errno(removexattr(file, "user.e2e.big"), ENODATA, "removexattr a missing name");
	n = listxattr(file, list, sizeof(list));
	if (n < 0 || list_has(list, n, "user.e2e.big") || !list_has(list, n, "user.e2e.small"))
		fail("listxattr after removexattr: %zd", n);
	else
		ok("listxattr after removexattr");
	/* The host checks this one is on its file. */
	expect_ok(setxattr(file, "user.e2e.keep", "kept-value", 10, 0), "setxattr user.e2e.keep");
	return finish();
}

/* getxattr FILE NAME: print the value (for the host and the guest script). */
static int cmd_getxattr(const char *file, const char *name)
{
	char buf[65536];
	ssize_t n = getxattr(file, name, buf, sizeof(buf));

	if (n < 0) {
		printf("getxattr %s %s: %s\n", file, name, strerror(errno));
		return 1;
	}
	fwrite(buf, 1, n, stdout);
	putchar('\n');
	return 0;
}

static int cmd_setxattr(const char *file, const char *name, const char *value)
{
	if (setxattr(file, name, value, strlen(value), 0) < 0) {
		printf("setxattr %s %s: %s\n", file, name, strerror(errno));
		return 1;
	}
	return 0;
}

/* ---- POSIX ACLs (the kernel's xattr format, no libacl in the guest) ---- */

struct acl_entry {
	uint16_t tag;
	uint16_t perm;
	uint32_t id;
};

struct acl_blob {
	uint32_t version;
	struct acl_entry e[8];
};

static size_t acl_build(struct acl_blob *b, unsigned int user_obj, unsigned int user,
			unsigned int group_obj, unsigned int mask, unsigned int other)
{
	struct acl_entry e[] = {
		{ ACL_USER_OBJ, user_obj, ACL_UNDEFINED_ID },
		{ ACL_USER, user, ACL_UID },
		{ ACL_GROUP_OBJ, group_obj, ACL_UNDEFINED_ID },
		{ ACL_MASK, mask, ACL_UNDEFINED_ID },
		{ ACL_OTHER, other, ACL_UNDEFINED_ID },
	};

	b->version = POSIX_ACL_XATTR_VERSION;
	memcpy(b->e, e, sizeof(e));
	return sizeof(b->version) + sizeof(e);
}

/* Text like getfacl's short form: "user::rw- user:1000:rw- ... other::---". */
static int acl_text(const char *buf, ssize_t n, char *out, size_t outsz)
{
	const struct acl_blob *b = (const void *)buf;
	size_t count, i, len = 0;

	if (n < 4 || (n - 4) % 8 || b->version != POSIX_ACL_XATTR_VERSION)
		return -1;
	count = (n - 4) / 8;
	out[0] = '\0';
	for (i = 0; i < count && len + 32 < outsz; i++) {
		const struct acl_entry *e = &b->e[i];
		const char *tag = e->tag == ACL_USER_OBJ || e->tag == ACL_USER ? "user" :
				  e->tag == ACL_GROUP_OBJ || e->tag == ACL_GROUP ? "group" :
				  e->tag == ACL_MASK ? "mask" : e->tag == ACL_OTHER ? "other" : "?";
		char id[16] = "";

		if (e->tag == ACL_USER || e->tag == ACL_GROUP)
			snprintf(id, sizeof(id), "%u", e->id);
		len += snprintf(out + len, outsz - len, "%s%s:%s:%c%c%c", i ? " " : "", tag, id,
				e->perm & 4 ? 'r' : '-', e->perm & 2 ? 'w' : '-',
				e->perm & 1 ? 'x' : '-');
	}
	return 0;
}

static int acl_get_text(const char *path, const char *name, char *out, size_t outsz)
{
	char buf[512];
	ssize_t n = getxattr(path, name, buf, sizeof(buf));

	if (n < 0) {
		snprintf(out, outsz, "(%s)", strerror(errno));
		return -1;
	}
	if (acl_text(buf, n, out, outsz) < 0) {
		snprintf(out, outsz, "(malformed, %zd bytes)", n);
		return -1;
	}
	return 0;
}

static int cmd_acl_dump(const char *path, const char *name)
{
	char text[512];
	int r = acl_get_text(path, name, text, sizeof(text));

	puts(text);
	return r ? 1 : 0;
}

/* In a child with uid (and gid) UID: open PATH for writing, expect errno
 * WANT (0 = success). */
static int open_as(const char *path, uid_t uid, int want, const char *what)
{
	pid_t pid = fork();

	if (pid < 0)
		return fail("%s: fork: %s", what, strerror(errno));
	if (!pid) {
		failed = differs = 0;	/* the child's own verdict */
		int fd;

		if (setgroups(0, NULL) || setresgid(uid, uid, uid) || setresuid(uid, uid, uid)) {
			fail("%s: setresuid %u: %s", what, (unsigned int)uid, strerror(errno));
			_exit(1);
		}
		fd = open(path, O_WRONLY);
		if (fd >= 0)
			close(fd);
		if (fd >= 0 && want)
			fail("%s: open for write succeeded, want %s", what, strerror(want));
		else if (fd < 0 && errno != want)
			fail("%s: open for write: %s", what, strerror(errno));
		fflush(stdout);
		_exit(failed);
	}
	if (wait_child(pid, what))
		return -1;
	ok("%s", what);
	return 0;
}

static int check_mode(const char *path, mode_t want, const char *what)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return fail("%s: stat: %s", what, strerror(errno));
	if ((st.st_mode & 07777) != want)
		return fail("%s: mode %04o, want %04o", what, st.st_mode & 07777, want);
	ok("%s: mode %04o", what, want);
	return 0;
}

static int cmd_acl(const char *dir)
{
	char file[4096], adir[4096], newf[4096], subdir[4096], text[512];
	struct acl_blob b;
	char back[512];
	size_t len;
	ssize_t n;
	int fd;

	snprintf(file, sizeof(file), "%s/acl-file", dir);
	snprintf(adir, sizeof(adir), "%s/acl-dir", dir);
	snprintf(newf, sizeof(newf), "%s/acl-dir/inherited", dir);
	snprintf(subdir, sizeof(subdir), "%s/acl-dir/subdir", dir);
	umask(022);

	/* Access ACL: owner root, mode 0600, user 1000 named with rw-. */
	fd = open(file, O_CREAT | O_EXCL | O_WRONLY, 0600);
	if (fd < 0)
		return fail("create %s: %s", file, strerror(errno)), finish();
	close(fd);
	open_as(file, ACL_UID, EACCES, "uid 1000 cannot write a 0600 root file (no ACL yet)");
	len = acl_build(&b, 6, 6, 4, 6, 0);
	if (expect_ok(setxattr(file, "system.posix_acl_access", &b, len, 0),
		      "setxattr system.posix_acl_access (user:1000:rw-)"))
		return finish();
	n = getxattr(file, "system.posix_acl_access", back, sizeof(back));
	if (n != (ssize_t)len || memcmp(back, &b, len))
		fail("getxattr system.posix_acl_access: %zd bytes, want %zu identical", n, len);
	else
		ok("access ACL reads back identical");
	/* The ACL's mask becomes the group bits of the mode. */
	check_mode(file, 0660, "mode follows the ACL mask");
	open_as(file, ACL_UID, 0, "uid 1000 may write (named in the ACL)");
	open_as(file, OTHER_UID, EACCES, "uid 1001 may not write (not in the ACL)");

	/* Narrowing the mask with chmod narrows the named user too. */
	expect_ok(chmod(file, 0640), "chmod 0640 (mask r--)");
	open_as(file, ACL_UID, EACCES, "uid 1000 may not write once the mask is r--");
	acl_get_text(file, "system.posix_acl_access", text, sizeof(text));
	if (strcmp(text, "user::rw- user:1000:rw- group::r-- mask::r-- other::---"))
		fail("ACL after chmod: %s", text);
	else
		ok("ACL after chmod: %s", text);
	expect_ok(chmod(file, 0660), "chmod 0660 (mask rw- again)");

	/* Default ACL on a directory: inherited by new files and dirs, and the
	 * umask is not applied on top of it. */
	if (expect_ok(mkdir(adir, 0755), "mkdir acl-dir"))
		return finish();
	len = acl_build(&b, 7, 7, 5, 7, 0);
	if (expect_ok(setxattr(adir, "system.posix_acl_default", &b, len, 0),
		      "setxattr system.posix_acl_default (user:1000:rwx)"))
		return finish();
	fd = open(newf, O_CREAT | O_EXCL | O_WRONLY, 0666);
	if (fd < 0)
		return fail("create %s: %s", newf, strerror(errno)), finish();
	close(fd);
	if (acl_get_text(newf, "system.posix_acl_access", text, sizeof(text)) ||
	    strcmp(text, "user::rw- user:1000:rwx group::r-x mask::rw- other::---"))
		fail("inherited access ACL: %s", text);
	else
		ok("new file inherited the default ACL: %s", text);
	check_mode(newf, 0660, "inherited file mode (umask 022 not applied)");
	open_as(newf, ACL_UID, 0, "uid 1000 may write the inherited file");
	open_as(newf, OTHER_UID, EACCES, "uid 1001 may not write the inherited file");
	if (expect_ok(mkdir(subdir, 0777), "mkdir in acl-dir"))
		return finish();
	if (acl_get_text(subdir, "system.posix_acl_default", text, sizeof(text)) ||
	    strcmp(text, "user::rwx user:1000:rwx group::r-x mask::rwx other::---"))
		fail("subdirectory's default ACL: %s", text);
	else
		ok("new subdirectory inherited the default ACL");

	expect_ok(removexattr(file, "system.posix_acl_access"), "remove the access ACL");
	open_as(file, ACL_UID, EACCES, "uid 1000 may not write once the ACL is gone");
	return finish();
}

/* ---- O_TMPFILE ---------------------------------------------------------- */

static int cmd_tmpfile(const char *dir)
{
	static const char data[] = "written through an O_TMPFILE fd\n";
	char proc[64], dst[4096], buf[128];
	struct stat st;
	ssize_t n;
	int fd, fd2;

	fd = open(dir, O_TMPFILE | O_RDWR, 0640);
	if (fd < 0) {
		if (errno == EOPNOTSUPP) {
			diff("open O_TMPFILE: %s (the back-end has no FUSE_TMPFILE)", strerror(errno));
			return finish();
		}
		return fail("open O_TMPFILE in %s: %s", dir, strerror(errno)), finish();
	}
	ok("open O_TMPFILE");
	if (write(fd, data, sizeof(data) - 1) != (ssize_t)sizeof(data) - 1)
		fail("write: %s", strerror(errno));
	if (fstat(fd, &st) < 0 || st.st_nlink != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size != (off_t)sizeof(data) - 1)
		fail("fstat: nlink %lu size %lld, want 0 and %zu", (unsigned long)st.st_nlink,
		     (long long)st.st_size, sizeof(data) - 1);
	else
		ok("fstat: unnamed regular file, nlink 0");

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	snprintf(dst, sizeof(dst), "%s/tmpfile.txt", dir);
	if (expect_ok(linkat(AT_FDCWD, proc, AT_FDCWD, dst, AT_SYMLINK_FOLLOW),
		      "linkat /proc/self/fd/N to tmpfile.txt"))
		return close(fd), finish();
	if (fstat(fd, &st) < 0 || st.st_nlink != 1)
		fail("nlink after linkat: %lu, want 1", (unsigned long)st.st_nlink);
	else
		ok("nlink 1 after linkat");
	close(fd);
	fd = open(dst, O_RDONLY);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
	if (n != (ssize_t)sizeof(data) - 1 || memcmp(buf, data, n))
		fail("read back %s: %zd bytes", dst, n);
	else
		ok("content read back by name");
	if (fd >= 0)
		close(fd);

	/* O_EXCL: the file can never be given a name. */
	fd2 = open(dir, O_TMPFILE | O_EXCL | O_WRONLY, 0600);
	if (fd2 < 0) {
		fail("open O_TMPFILE|O_EXCL: %s", strerror(errno));
	} else {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd2);
		snprintf(dst, sizeof(dst), "%s/tmpfile-excl", dir);
		expect_errno(linkat(AT_FDCWD, proc, AT_FDCWD, dst, AT_SYMLINK_FOLLOW), ENOENT,
			     "linkat of an O_EXCL tmpfile");
		close(fd2);
	}
	return finish();
}

/* ---- locks ---------------------------------------------------------------- */

static int setlk(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };

	return fcntl(fd, cmd, &fl);
}

/* F_GETLK-style query for a write lock on [start, start+len): 0 and *out. */
static int getlk(int fd, int cmd, off_t start, off_t len, struct flock *out)
{
	memset(out, 0, sizeof(*out));
	out->l_type = F_WRLCK;
	out->l_whence = SEEK_SET;
	out->l_start = start;
	out->l_len = len;
	return fcntl(fd, cmd, out);
}

static int expect_conflict(int fd, int cmd, off_t start, off_t len, short type,
			   off_t cstart, off_t clen, const char *what)
{
	struct flock fl;

	if (getlk(fd, cmd, start, len, &fl) < 0)
		return fail("%s: %s", what, strerror(errno));
	if (fl.l_type != type || fl.l_start != cstart || fl.l_len != clen)
		return fail("%s: type %d range %lld+%lld, want type %d range %lld+%lld", what,
			    fl.l_type, (long long)fl.l_start, (long long)fl.l_len, type,
			    (long long)cstart, (long long)clen);
	ok("%s", what);
	return 0;
}

static int expect_unlocked(int fd, int cmd, off_t start, off_t len, const char *what)
{
	struct flock fl;

	if (getlk(fd, cmd, start, len, &fl) < 0)
		return fail("%s: %s", what, strerror(errno));
	if (fl.l_type != F_UNLCK)
		return fail("%s: type %d range %lld+%lld, want unlocked", what, fl.l_type,
			    (long long)fl.l_start, (long long)fl.l_len);
	ok("%s", what);
	return 0;
}

static int expect_busy(long ret, const char *what)
{
	/* fcntl(2) allows either for a conflicting F_SETLK. */
	if (ret < 0 && errno == EACCES)
		errno = EAGAIN;
	return expect_errno(ret, EAGAIN, what);
}

/* 1 when FD becomes readable within MS milliseconds. */
static int readable_within(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) > 0;
}

/*
 * The blocking-lock protocol between a parent holding a lock and a child
 * asking for a conflicting one: the child writes 'b' just before it blocks,
 * then 'L' once it has the lock (and waits for the parent's go), or 'D' and
 * exit 3 when the back-end refuses blocking locks (a difference, not a bug).
 */

/* Pipes both ways and the child: 0 in the child (its verdict reset), its
 * pid in the parent, -1 after a FAIL line.  The child keeps to_parent[1]
 * and to_child[0], the parent the other ends. */
static pid_t fork_lock_child(int to_parent[2], int to_child[2])
{
	pid_t pid;

	if (pipe(to_parent) || pipe(to_child))
		return fail("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		return fail("fork: %s", strerror(errno));
	if (!pid) {
		failed = differs = 0;	/* the child's own verdict */
		close(to_parent[0]);
		close(to_child[1]);
		return 0;
	}
	close(to_parent[1]);
	close(to_child[0]);
	return pid;
}

/* In the child, its blocking lock call returned r: report, tell the
 * parent, and exit with the child's verdict. */
static _Noreturn void child_lock_returned(int r, int to_parent, int from_parent,
					  const char *what, const char *refused,
					  const char *granted)
{
	if (r < 0 && errno == EOPNOTSUPP) {
		diff("%s: %s (%s)", what, strerror(errno), refused);
		fflush(stdout);
		write_byte(to_parent, 'D');
		_exit(3);
	}
	expect_ok(r, granted);
	fflush(stdout);
	write_byte(to_parent, 'L');	/* have the lock */
	read_byte(from_parent, "child");	/* parent checked it */
	_exit(failed);
}

/* In the parent: 0 when the child is (about to be) blocked and does not
 * get the lock while ours is held.  Only a bug (or 'D') makes it return
 * early; a slow child just passes. */
static int child_stays_blocked(int from_child, const char *early)
{
	if (read_byte(from_child, "parent (child ready)") != 'b')
		return -1;
	if (readable_within(from_child, 300)) {
		if (read_byte(from_child, "parent (early)") != 'D')
			fail("%s", early);
		return -1;
	}
	return 0;
}

/* Reap the child: 0 when it exited 0; exit 3 ('D') counts as a difference,
 * anything else as a failure. */
static int lock_child_done(pid_t pid)
{
	int st, r;

	if (waitpid(pid, &st, 0) < 0)
		r = -1;
	else
		r = WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
	if (r == 3)
		differs = 1;
	else if (r != 0)
		fail("child: status %d%s", r, r == 100 + SIGALRM ? " (timed out)" : "");
	return r;
}

static int cmd_posix_lock(const char *file)
{
	int to_child[2], to_parent[2], fd, r;
	pid_t pid;

	fd = open(file, O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		return fail("open %s: %s", file, strerror(errno)), finish();
	if (ftruncate(fd, 4096) < 0)
		fail("ftruncate: %s", strerror(errno));
	if (expect_ok(setlk(fd, F_SETLK, F_WRLCK, 100, 100), "parent F_SETLK write 100+100"))
		return finish();
	/* Our own lock never conflicts with us. */
	expect_unlocked(fd, F_GETLK, 0, 0, "parent F_GETLK sees no conflict with its own lock");

	pid = fork_lock_child(to_parent, to_child);
	if (pid < 0)
		return finish();
	if (!pid) {
		int cfd = open(file, O_RDWR);

		if (cfd < 0) {
			fail("child open: %s", strerror(errno));
			_exit(1);
		}
		expect_conflict(cfd, F_GETLK, 0, 0, F_WRLCK, 100, 100,
				"child F_GETLK reports the parent's write lock");
		expect_unlocked(cfd, F_GETLK, 200, 50, "child F_GETLK beyond the range: unlocked");
		expect_busy(setlk(cfd, F_SETLK, F_RDLCK, 150, 1), "child F_SETLK read inside: busy");
		expect_ok(setlk(cfd, F_SETLK, F_WRLCK, 200, 10), "child F_SETLK write 200+10 (adjacent)");
		fflush(stdout);
		write_byte(to_parent[1], 'b');	/* about to block */
		r = setlk(cfd, F_SETLKW, F_WRLCK, 0, 0);
		/* exit = close: the lock must go away with the process. */
		child_lock_returned(r, to_parent[1], to_child[0], "child F_SETLKW",
				    "blocking locks not supported",
				    "child F_SETLKW whole file: granted after the parent unlocked");
	}
	if (child_stays_blocked(to_parent[0], "child's F_SETLKW returned while the "
				"parent held a conflicting lock"))
		goto out;
	expect_ok(setlk(fd, F_SETLK, F_UNLCK, 100, 100), "parent unlocks");
	if (read_byte(to_parent[0], "parent (child locked)") != 'L')
		goto out;
	expect_conflict(fd, F_GETLK, 0, 10, F_WRLCK, 0, 0,
			"parent F_GETLK reports the child's whole-file lock");
	expect_busy(setlk(fd, F_SETLK, F_RDLCK, 4000, 1), "parent F_SETLK: busy while the child holds it");
	write_byte(to_child[1], 'x');
out:
	close(to_child[1]);
	if (lock_child_done(pid) == 0)
		expect_ok(setlk(fd, F_SETLK, F_WRLCK, 0, 0),
			  "parent F_SETLK whole file after the child exited (its locks released)");
	close(fd);

	/* Open file description locks: owned by the open file, not the process. */
	{
		int a = open(file, O_RDWR), b = open(file, O_RDWR);

		if (a < 0 || b < 0)
			return fail("open for OFD locks: %s", strerror(errno)), finish();
		expect_ok(setlk(a, F_OFD_SETLK, F_WRLCK, 0, 10), "OFD F_OFD_SETLK write 0+10 on fd a");
		expect_conflict(b, F_OFD_GETLK, 0, 100, F_WRLCK, 0, 10,
				"F_OFD_GETLK on fd b reports fd a's lock");
		expect_busy(setlk(b, F_OFD_SETLK, F_WRLCK, 5, 1), "F_OFD_SETLK on fd b: busy");
		expect_ok(setlk(b, F_OFD_SETLK, F_RDLCK, 10, 10), "F_OFD_SETLK read 10+10 on fd b");
		expect_busy(setlk(a, F_OFD_SETLK, F_WRLCK, 15, 1), "F_OFD_SETLK on fd a over b's lock: busy");
		close(a);
		/* Over FUSE the guest kernel sends no unlock for an OFD lock on
		 * close: the back-end must drop a handle's locks at RELEASE. */
		r = setlk(b, F_OFD_SETLK, F_WRLCK, 0, 10);
		if (r < 0 && (errno == EAGAIN || errno == EACCES))
			diff("fd a's OFD lock outlived its close (not released at FUSE_RELEASE)");
		else
			expect_ok(r, "fd b gets 0+10 once fd a is closed");
		close(b);
	}
	return finish();
}

static int cmd_flock(const char *file)
{
	int to_parent[2], to_child[2], fd, fd2, r, c;
	pid_t pid;

	fd = open(file, O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		return fail("open %s: %s", file, strerror(errno)), finish();
	if (expect_ok(flock(fd, LOCK_EX | LOCK_NB), "parent LOCK_EX"))
		return finish();
	/* Another open file description in the same process conflicts too. */
	fd2 = open(file, O_RDWR);
	expect_errno(flock(fd2, LOCK_SH | LOCK_NB), EWOULDBLOCK,
		     "LOCK_SH|LOCK_NB on a second open file: would block");
	close(fd2);
	pid = fork_lock_child(to_parent, to_child);
	if (pid < 0)
		return finish();
	if (!pid) {
		int cfd = open(file, O_RDWR);

		expect_errno(flock(cfd, LOCK_EX | LOCK_NB), EWOULDBLOCK,
			     "child LOCK_EX|LOCK_NB: would block");
		fflush(stdout);
		write_byte(to_parent[1], 'b');	/* about to block */
		r = flock(cfd, LOCK_EX);
		/* exit = last close: the lock goes with it. */
		child_lock_returned(r, to_parent[1], to_child[0], "child blocking LOCK_EX",
				    "blocking flock not supported",
				    "child blocking LOCK_EX: granted after the parent's LOCK_UN");
	}
	if (child_stays_blocked(to_parent[0], "child's blocking LOCK_EX returned while "
				"the parent held LOCK_EX"))
		goto out;
	r = flock(fd, LOCK_UN);
	if (r < 0 && errno == EOPNOTSUPP) {
		/* A back-end may refuse LOCK_UN like any blocking request. */
		diff("parent LOCK_UN: %s", strerror(errno));
		close(fd);	/* the release must unlock */
		fd = -1;
	} else {
		expect_ok(r, "parent LOCK_UN");
	}
	c = read_byte(to_parent[0], "parent (child locked)");
	if (c != 'L')
		goto out;
	if (fd >= 0)
		expect_errno(flock(fd, LOCK_SH | LOCK_NB), EWOULDBLOCK,
			     "parent LOCK_SH|LOCK_NB while the child holds LOCK_EX: would block");
	write_byte(to_child[1], 'x');
out:
	close(to_child[1]);
	if (lock_child_done(pid) == 0 && fd >= 0)
		expect_ok(flock(fd, LOCK_EX | LOCK_NB), "parent LOCK_EX after the child exited");
	if (fd >= 0)
		close(fd);

	/* Shared locks share; an upgrade waits for the other sharer. */
	fd = open(file, O_RDWR);
	fd2 = open(file, O_RDWR);
	if (fd < 0 || fd2 < 0)
		return fail("open: %s", strerror(errno)), finish();
	expect_ok(flock(fd, LOCK_SH | LOCK_NB), "LOCK_SH on fd a");
	expect_ok(flock(fd2, LOCK_SH | LOCK_NB), "LOCK_SH on fd b: shared");
	expect_errno(flock(fd, LOCK_EX | LOCK_NB), EWOULDBLOCK,
		     "upgrade fd a to LOCK_EX while fd b shares: would block");
	close(fd2);
	expect_ok(flock(fd, LOCK_EX | LOCK_NB), "upgrade fd a to LOCK_EX once fd b is closed");
	close(fd);
	return finish();
}

/* hold-locks PFILE FFILE (host side): a POSIX write lock on PFILE bytes
 * 100..199 and flock LOCK_EX on FFILE, then wait to be killed. */
static int cmd_hold_locks(const char *pfile, const char *ffile)
{
	int pfd = open(pfile, O_RDWR | O_CREAT, 0644);
	int ffd = open(ffile, O_RDWR | O_CREAT, 0644);

	if (pfd < 0 || ffd < 0 || setlk(pfd, F_SETLK, F_WRLCK, 100, 100) < 0 ||
	    flock(ffd, LOCK_EX | LOCK_NB) < 0) {
		printf("hold-locks: %s\n", strerror(errno));
		return 1;
	}
	printf("held\n");
	fflush(stdout);
	alarm(0);
	for (;;)
		pause();
}

/* remote-locks PFILE FFILE (guest): the host's locks from hold-locks must
 * be seen, i.e. the back-end forwards locks instead of the guest keeping
 * them to itself. */
static int cmd_remote_locks(const char *pfile, const char *ffile)
{
	int pfd = open(pfile, O_RDWR), ffd = open(ffile, O_RDWR);

	if (pfd < 0 || ffd < 0)
		return fail("open: %s", strerror(errno)), finish();
	expect_conflict(pfd, F_GETLK, 0, 0, F_WRLCK, 100, 100, "F_GETLK reports the host's write lock");
	expect_busy(setlk(pfd, F_SETLK, F_RDLCK, 150, 10), "F_SETLK inside the host's lock: busy");
	expect_busy(setlk(pfd, F_OFD_SETLK, F_WRLCK, 199, 1), "F_OFD_SETLK inside the host's lock: busy");
	expect_ok(setlk(pfd, F_SETLK, F_WRLCK, 300, 10), "F_SETLK outside the host's lock");
	expect_errno(flock(ffd, LOCK_EX | LOCK_NB), EWOULDBLOCK,
		     "flock LOCK_EX|LOCK_NB against the host's LOCK_EX: would block");
	expect_errno(flock(ffd, LOCK_SH | LOCK_NB), EWOULDBLOCK,
		     "flock LOCK_SH|LOCK_NB against the host's LOCK_EX: would block");
	close(pfd);
	close(ffd);
	return finish();
}

/* ---- read-only share ------------------------------------------------------ */

/* DIR holds file.txt ("read-only content\n") and sub/ made by the host. */
static int cmd_readonly(const char *dir)
{
	char f[4096], sub[4096], p[4096], buf[64];
	struct timespec ts[2] = { { 0, 0 }, { 0, 0 } };
	ssize_t n;
	int fd;

	snprintf(f, sizeof(f), "%s/file.txt", dir);
	snprintf(sub, sizeof(sub), "%s/sub", dir);

	fd = open(f, O_RDONLY);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
	if (n != 18 || memcmp(buf, "read-only content\n", 18))
		fail("read %s: %zd (%s)", f, n, n < 0 ? strerror(errno) : "wrong content");
	else
		ok("read file.txt");
	if (fd >= 0)
		close(fd);
	n = getxattr(f, "user.e2e.ro", buf, sizeof(buf));
	if (n != 2 || memcmp(buf, "ro", 2))
		fail("getxattr user.e2e.ro: %zd (%s)", n, n < 0 ? strerror(errno) : "wrong value");
	else
		ok("getxattr user.e2e.ro");

	snprintf(p, sizeof(p), "%s/new", dir);
	expect_errno(open(p, O_CREAT | O_WRONLY, 0644), EROFS, "create");
	expect_errno(open(dir, O_TMPFILE | O_WRONLY, 0600), EROFS, "O_TMPFILE");
	expect_errno(mkdir(p, 0755), EROFS, "mkdir");
	expect_errno(mknod(p, S_IFIFO | 0644, 0), EROFS, "mknod fifo");
	expect_errno(symlink("file.txt", p), EROFS, "symlink");
	expect_errno(link(f, p), EROFS, "link");
	expect_errno(open(f, O_WRONLY), EROFS, "open for write");
	expect_errno(open(f, O_RDWR), EROFS, "open read-write");
	expect_errno(open(f, O_RDONLY | O_TRUNC), EROFS, "open O_TRUNC");
	expect_errno(open(f, O_WRONLY | O_APPEND), EROFS, "open O_APPEND");
	expect_errno(truncate(f, 0), EROFS, "truncate");
	expect_errno(unlink(f), EROFS, "unlink");
	expect_errno(rmdir(sub), EROFS, "rmdir");
	expect_errno(rename(f, p), EROFS, "rename");
	expect_errno(chmod(f, 0600), EROFS, "chmod");
	expect_errno(chown(f, 1, 1), EROFS, "chown");
	expect_errno(utimensat(AT_FDCWD, f, ts, 0), EROFS, "utimensat");
	expect_errno(setxattr(f, "user.e2e.new", "x", 1, 0), EROFS, "setxattr");
	expect_errno(removexattr(f, "user.e2e.ro"), EROFS, "removexattr");

	/* Still readable afterwards, and nothing changed. */
	fd = open(f, O_RDONLY);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
	if (n != 18)
		fail("read after the refused writes: %zd", n);
	else
		ok("file.txt unchanged");
	if (fd >= 0)
		close(fd);
	if (access(p, F_OK) == 0)
		fail("%s exists", p);
	return finish();
}

static void usage(void)
{
	fputs("usage: guest-probe xattr FILE | getxattr FILE NAME | setxattr FILE NAME VALUE |\n"
	      "       acl DIR | acl-dump PATH NAME | tmpfile DIR | posix-lock FILE |\n"
	      "       flock FILE | hold-locks PFILE FFILE | remote-locks PFILE FFILE |\n"
	      "       readonly DIR\n", stderr);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(STEP_TIMEOUT);	/* inherited by forked children */
	if (argc == 3 && !strcmp(cmd, "xattr"))
		return cmd_xattr(argv[2]);
	if (argc == 4 && !strcmp(cmd, "getxattr"))
		return cmd_getxattr(argv[2], argv[3]);
	if (argc == 5 && !strcmp(cmd, "setxattr"))
		return cmd_setxattr(argv[2], argv[3], argv[4]);
	if (argc == 3 && !strcmp(cmd, "acl"))
		return cmd_acl(argv[2]);
	if (argc == 4 && !strcmp(cmd, "acl-dump"))
		return cmd_acl_dump(argv[2], argv[3]);
	if (argc == 3 && !strcmp(cmd, "tmpfile"))
		return cmd_tmpfile(argv[2]);
	if (argc == 3 && !strcmp(cmd, "posix-lock"))
		return cmd_posix_lock(argv[2]);
	if (argc == 3 && !strcmp(cmd, "flock"))
		return cmd_flock(argv[2]);
	if (argc == 4 && !strcmp(cmd, "hold-locks"))
		return cmd_hold_locks(argv[2], argv[3]);
	if (argc == 4 && !strcmp(cmd, "remote-locks"))
		return cmd_remote_locks(argv[2], argv[3]);
	if (argc == 3 && !strcmp(cmd, "readonly"))
		return cmd_readonly(argv[2]);
	usage();
	return 2;
}
