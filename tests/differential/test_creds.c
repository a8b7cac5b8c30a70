// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Per-request credentials beyond test_semantics.c's basics: what a non-root
 * caller creates in a setgid directory (group and setgid inherited, an
 * explicit setgid dropped for a non-member), and a caller whose access to
 * the parent directory comes from a supplementary group (reading, writing,
 * and creating: FUSE_CREATE_SUPP_GROUP, which the host kernel must speak,
 * Linux 6.3+).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "diff.h"

TestSuite(creds, .init = diff_setup, .fini = diff_teardown, .timeout = 60);

/* The new file's uid, gid and mode packed, so that all are compared. */
static long packed(const struct stat *st)
{
	return (long)st->st_uid << 40 | (long)st->st_gid << 20 |
	       (st->st_mode & 07777);
}

static long create_mode(struct side *s, const char *name, mode_t mode)
{
	struct stat st;
	int fd = openat(s->dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			mode);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return packed(&st);
}

static long create_0640(struct side *s, void *arg)
{
	return create_mode(s, arg, 0640);
}

static long create_setgid(struct side *s, void *arg)
{
	return create_mode(s, arg, 02755);
}

static long mkdir_stat(struct side *s, void *arg)
{
	struct stat st;

	if (mkdirat(s->dir, arg, 0755) < 0 ||
	    fstatat(s->dir, arg, &st, 0) < 0)
		return -1;
	return packed(&st);
}

static long mknod_fifo(struct side *s, void *arg)
{
	struct stat st;

	if (mknodat(s->dir, arg, S_IFIFO | 0640, 0) < 0 ||
	    fstatat(s->dir, arg, &st, 0) < 0)
		return -1;
	return packed(&st);
}

static long symlink_stat(struct side *s, void *arg)
{
	struct stat st;

	if (symlinkat("t", s->dir, arg) < 0 ||
	    fstatat(s->dir, arg, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	return (long)st.st_uid << 40 | (long)st.st_gid << 20;
}

/* A directory owned by root:3000, made through the mount by root. */
static void group_dir(const char *name, mode_t mode)
{
	BOTH(mkdirat(S->dir, name, 0700));
	BOTH(fchownat(S->dir, name, 0, 3000, 0));
	BOTH(fchmodat(S->dir, name, mode, 0));
	diff_stat(name, 0);
}

Test(creds, setgid_directory_passes_its_group_on)
{
	group_dir("sg", 02777);
	diff_as_user(1000, 1000, create_0640, "sg/f", "create in setgid dir");
	diff_as_user(1000, 1000, mkdir_stat, "sg/sub", "mkdir in setgid dir");
	diff_as_user(1000, 1000, mknod_fifo, "sg/fifo", "mkfifo in setgid dir");
	diff_as_user(1000, 1000, symlink_stat, "sg/sl", "symlink in setgid dir");
	/* Not a member of 3000: an explicit setgid bit is dropped. */
	diff_as_user(1000, 1000, create_setgid, "sg/g", "create 02755 as non-member");
	/* The subdirectory inherited setgid: its children too. */
	diff_as_user(2000, 2000, create_0640, "sg/sub/f", "create in inherited setgid dir");
	diff_stat("sg/sub", 0);
	diff_tree();
}

Test(creds, root_creates_for_itself_in_a_setgid_dir)
{
	group_dir("sg", 02755);
	BOTH(close(openat(S->dir, "sg/rootfile", O_WRONLY | O_CREAT | O_CLOEXEC,
			  02755)));
	diff_stat("sg/rootfile", 0);
	diff_tree();
}

/* Like diff_as_user, with supplementary groups. */
static void run_as(uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups,
		   long (*fn)(struct side *s, void *arg), void *arg,
		   const char *what, long res[4])
{
	int pipefd[2], status;
	pid_t pid;

	cr_assert_eq(pipe(pipefd), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(pipefd[0]);
		if (setgroups(ngroups, groups) < 0 ||
		    setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
			_exit(1);
		for (int i = 0; i < 2; i++) {
			errno = 0;
			res[2 * i] = fn(&D.s[i], arg);
			res[2 * i + 1] = res[2 * i] < 0 ? errno : 0;
		}
		if (write(pipefd[1], res, 4 * sizeof(long)) != 4 * sizeof(long))
			_exit(1);
		_exit(0);
	}
	close(pipefd[1]);
	cr_assert_eq(read(pipefd[0], res, 4 * sizeof(long)),
		     (ssize_t)(4 * sizeof(long)),
		     "%s: the child failed", what);
	close(pipefd[0]);
	waitpid(pid, &status, 0);
}

static void as_user_groups(uid_t uid, gid_t gid, const gid_t *groups,
			   size_t ngroups,
			   long (*fn)(struct side *s, void *arg), void *arg,
			   const char *what)
{
	long res[4];

	run_as(uid, gid, groups, ngroups, fn, arg, what, res);

	long r[2] = { res[0], res[2] };
	int e[2] = { (int)res[1], (int)res[3] };

	diff_cmp(what, __FILE__, __LINE__, r, e, false);
}

static long write_file(struct side *s, void *arg)
{
	int fd = openat(s->dir, arg, O_WRONLY | O_CLOEXEC);
	long r;

	if (fd < 0)
		return -1;
	r = write(fd, "x", 1);
	close(fd);
	return r;
}

Test(creds, supplementary_group_grants_reading_and_writing)
{
	static const gid_t groups[] = { 3000 };

	group_dir("grp", 0770);
	BOTH(close(openat(S->dir, "grp/f", O_WRONLY | O_CREAT | O_CLOEXEC,
			  0660)));
	BOTH(fchownat(S->dir, "grp/f", 0, 3000, 0));
	as_user_groups(1000, 1000, groups, 1, write_file, "grp/f",
		       "write through a supplementary group");
	as_user_groups(1000, 1000, NULL, 0, write_file, "grp/f",
		       "write without the group");
	diff_tree();
}

/*
 * Creating in a directory that only a supplementary group of the caller
 * makes writable: the guest kernel sends that group with the request
 * (FUSE_CREATE_SUPP_GROUP, Linux 6.3+) and the daemon acts as a member of
 * it.  The new node's group is still the caller's, as on the host.
 */
Test(creds, supplementary_group_grants_creating)
{
	static const gid_t groups[] = { 3000 };
	static const gid_t several[] = { 2000, 3000, 4000 };

	group_dir("grp", 0770);
	as_user_groups(1000, 1000, groups, 1, create_0640, "grp/new",
		       "create through a supplementary group");
	as_user_groups(1000, 1000, groups, 1, mkdir_stat, "grp/dir",
		       "mkdir through a supplementary group");
	as_user_groups(1000, 1000, groups, 1, mknod_fifo, "grp/fifo",
		       "mkfifo through a supplementary group");
	as_user_groups(1000, 1000, groups, 1, symlink_stat, "grp/sl",
		       "symlink through a supplementary group");
	as_user_groups(1000, 1000, several, 3, create_0640, "grp/new2",
		       "create with several supplementary groups");
	as_user_groups(1000, 1000, NULL, 0, create_0640, "grp/denied",
		       "create without the group");
	as_user_groups(1000, 1000, several + 2, 1, create_0640, "grp/other",
		       "create with another group");
	/* The group is lent for the request only: the next one, without
	 * it, is refused again. */
	as_user_groups(1000, 1000, NULL, 0, mkdir_stat, "grp/denied2",
		       "mkdir without the group, after");
	diff_tree();
}
