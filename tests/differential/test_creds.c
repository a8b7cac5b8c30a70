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
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
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

Test(creds, supplementary_group_grants_reading_and_writing)
{
	static const gid_t groups[] = { 3000 };

	group_dir("grp", 0770);
	BOTH(close(openat(S->dir, "grp/f", O_WRONLY | O_CREAT | O_CLOEXEC,
			  0660)));
	BOTH(fchownat(S->dir, "grp/f", 0, 3000, 0));
	diff_as_user_groups(1000, 1000, groups, 1, diff_write_byte, "grp/f",
			    "write through a supplementary group");
	diff_as_user_groups(1000, 1000, NULL, 0, diff_write_byte, "grp/f",
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

	/* In order: the group is lent for the request only, so the last
	 * one, without it, is refused again. */
	static const struct {
		const gid_t *groups;
		size_t ngroups;
		long (*fn)(struct side *s, void *arg);
		const char *path, *what;
	} steps[] = {
		{ groups, 1, create_0640, "grp/new",
		  "create through a supplementary group" },
		{ groups, 1, mkdir_stat, "grp/dir",
		  "mkdir through a supplementary group" },
		{ groups, 1, mknod_fifo, "grp/fifo",
		  "mkfifo through a supplementary group" },
		{ groups, 1, symlink_stat, "grp/sl",
		  "symlink through a supplementary group" },
		{ several, 3, create_0640, "grp/new2",
		  "create with several supplementary groups" },
		{ NULL, 0, create_0640, "grp/denied",
		  "create without the group" },
		{ several + 2, 1, create_0640, "grp/other",
		  "create with another group" },
		{ NULL, 0, mkdir_stat, "grp/denied2",
		  "mkdir without the group, after" },
	};

	group_dir("grp", 0770);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		diff_as_user_groups(1000, 1000, steps[i].groups,
				    steps[i].ngroups, steps[i].fn,
				    (void *)steps[i].path, steps[i].what);
	diff_tree();
}
