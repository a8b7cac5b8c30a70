// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * POSIX ACLs (--posix-acl), security labels (--security-label) and id
 * translation (--translate-uid/--translate-gid) through `vfsd --mount`,
 * i.e. the host kernel's own FUSE client, compared with the same
 * operations on a native directory (ext4 or tmpfs: both keep ACLs).
 *
 * ACLs are set as raw system.posix_acl_* blobs (what setfacl writes), so
 * no acl tools are needed.  Checking access as another user forks a child
 * that drops to that uid (diff_as_user).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "diff.h"

/* <linux/posix_acl_xattr.h>: version 2, then {tag, perm, id} entries
 * sorted by tag, then id; little endian. */
#define NOID 0xffffffffu

struct acl_ent {
	uint16_t tag, perm;
	uint32_t id;
};

struct acl_blob {
	uint32_t version;
	struct acl_ent e[8];
};

#define UID_A 1001u   /* named in the ACLs */
#define UID_B 1002u   /* named nowhere */

/* u::rw-, u:UID_A:r--, g::---, m::r--, o::--- */
static const struct acl_ent reader_a[] = {
	{ ACL_USER_OBJ, 6, NOID }, { ACL_USER, 4, UID_A },
	{ ACL_GROUP_OBJ, 0, NOID }, { ACL_MASK, 4, NOID },
	{ ACL_OTHER, 0, NOID },
};

/* Default: u::rwx, u:UID_A:rwx, g::r-x, m::rwx, o::--- */
static const struct acl_ent default_a[] = {
	{ ACL_USER_OBJ, 7, NOID }, { ACL_USER, 7, UID_A },
	{ ACL_GROUP_OBJ, 5, NOID }, { ACL_MASK, 7, NOID },
	{ ACL_OTHER, 0, NOID },
};

/* The xattr value of n entries e in b; returns its length. */
static size_t acl_make(struct acl_blob *b, const struct acl_ent *e,
		       unsigned int n)
{
	b->version = POSIX_ACL_XATTR_VERSION;
	memcpy(b->e, e, n * sizeof(*e));
	return sizeof(b->version) + n * sizeof(*e);
}

static size_t acl_reader_a(struct acl_blob *b)
{
	return acl_make(b, reader_a, sizeof(reader_a) / sizeof(reader_a[0]));
}

static size_t acl_default_a(struct acl_blob *b)
{
	return acl_make(b, default_a, sizeof(default_a) / sizeof(default_a[0]));
}

static void setup_acl(void)
{
	static const char *const opts[] = {
		"--cache=never", "--xattr", "--posix-acl", NULL,
	};

	diff_setup_opts(opts);
}

TestSuite(acl, .init = setup_acl, .fini = diff_teardown, .timeout = 60);

static void make_file(const char *name, mode_t mode)
{
	OPEN(0, openat(S->dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		       mode));
	diff_close(0);
	BOTH(fchmodat(S->dir, name, mode, 0));
}

/* setxattr on a path relative to the side's root. */
static long set_acl(struct side *s, const char *path, const char *name,
		    const void *v, size_t len)
{
	char p[8192];

	snprintf(p, sizeof(p), "%s/%s", s->root, path);
	return setxattr(p, name, v, len, 0);
}

Test(acl, access_acl_set_and_read_back)
{
	struct acl_blob b;
	size_t len = acl_reader_a(&b);

	make_file("f", 0640);
	BOTH(set_acl(S, "f", "system.posix_acl_access", &b, len));
	/* The mode follows the ACL (group bits = the mask). */
	diff_stat("f", AT_SYMLINK_NOFOLLOW);
	diff_xattrs("f");
}

static long read_one(struct side *s, void *arg)
{
	char c;
	int fd = openat(s->dir, arg, O_RDONLY | O_CLOEXEC);
	long r;

	if (fd < 0)
		return -1;
	r = read(fd, &c, 1);
	close(fd);
	return r;
}

Test(acl, named_user_entry_is_enforced_through_the_mount)
{
	struct acl_blob b;
	size_t len = acl_reader_a(&b);

	/* 0600 root's: only the ACL lets UID_A read. */
	OPEN(0, openat(S->dir, "secret", O_WRONLY | O_CREAT | O_EXCL |
		       O_CLOEXEC, 0600));
	BOTH(write(S->fd[0], "x", 1));
	diff_close(0);
	BOTH(set_acl(S, "secret", "system.posix_acl_access", &b, len));
	diff_as_user(UID_A, UID_A, read_one, "secret", "UID_A reads");
	diff_as_user(UID_A, UID_A, diff_write_byte, "secret", "UID_A writes");
	diff_as_user(UID_B, UID_B, read_one, "secret", "UID_B reads");
}

Test(acl, named_user_entry_is_enforced_where_mode_bits_would_allow_none)
{
	struct acl_blob b;
	size_t len = acl_reader_a(&b);
	char p[8192];
	char c;
	int fd;

	make_file("g", 0600);
	BOTH(set_acl(S, "g", "system.posix_acl_access", &b, len));
	/* Not a comparison only: the kernel must really let UID_A in
	 * through the mount (a daemon without ACLs fails here). */
	snprintf(p, sizeof(p), "%s/g", D.s[1].root);
	if (fork() == 0) {
		if (setresgid(UID_A, UID_A, UID_A) < 0 ||
		    setresuid(UID_A, UID_A, UID_A) < 0)
			_exit(2);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		_exit(fd >= 0 && read(fd, &c, 1) == 0 ? 0 : 1);
	}
	int status = -1;

	wait(&status);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "UID_A could not read through the mount");
}

static long create_in(struct side *s, void *arg)
{
	int fd = openat(s->dir, arg, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			0666);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/* Under umask mask, create a file (0666), a directory (0777) and a fifo
 * (0666) on both sides; compare their stat. */
static void create_three(mode_t mask, const char *file, const char *dir,
			 const char *fifo)
{
	mode_t old = umask(mask);

	OPEN(0, openat(S->dir, file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		       0666));
	diff_close(0);
	BOTH(mkdirat(S->dir, dir, 0777));
	BOTH(mknodat(S->dir, fifo, S_IFIFO | 0666, 0));
	umask(old);
	diff_stat(file, AT_SYMLINK_NOFOLLOW);
	diff_stat(dir, AT_SYMLINK_NOFOLLOW);
	diff_stat(fifo, AT_SYMLINK_NOFOLLOW);
}

Test(acl, default_acl_is_inherited_and_umask_not_applied)
{
	struct acl_blob b;
	size_t len = acl_default_a(&b);

	BOTH(mkdirat(S->dir, "d", 0755));
	BOTH(set_acl(S, "d", "system.posix_acl_default", &b, len));
	/* umask 077 would leave 0600 without the default ACL. */
	create_three(077, "d/f", "d/sub", "d/fifo");
	diff_xattrs("d/f");
	diff_xattrs("d/sub");
	/* The inherited entry works for UID_A in the new directory. */
	diff_as_user(UID_A, UID_A, create_in, "d/sub/byA", "UID_A creates");
	diff_stat("d/sub/byA", AT_SYMLINK_NOFOLLOW);
}

Test(acl, umask_is_applied_without_a_default_acl)
{
	create_three(027, "plain", "pdir", "pfifo");
	/* Not only equal: what umask 027 gives. */
	struct stat st;

	cr_assert_eq(fstatat(D.s[1].dir, "plain", &st, 0), 0);
	cr_expect_eq(st.st_mode & 07777, 0640);
	cr_assert_eq(fstatat(D.s[1].dir, "pdir", &st, 0), 0);
	cr_expect_eq(st.st_mode & 07777, 0750);
}

static long set_acl_as_owner(struct side *s, void *arg)
{
	struct acl_blob b;
	size_t len = acl_reader_a(&b);

	return set_acl(s, arg, "system.posix_acl_access", &b, len);
}

Test(acl, setting_an_acl_clears_setgid_for_a_caller_outside_the_group)
{
	make_file("sg", 0660);
	/* UID_A owns it, group 0: UID_A is not in it. */
	BOTH(fchownat(S->dir, "sg", UID_A, 0, 0));
	BOTH(fchmodat(S->dir, "sg", 02770, 0));
	diff_as_user(UID_A, UID_A, set_acl_as_owner, "sg", "UID_A sets ACL");
	diff_stat("sg", AT_SYMLINK_NOFOLLOW);

	struct stat st;

	cr_assert_eq(fstatat(D.s[1].dir, "sg", &st, 0), 0);
	cr_expect_eq(st.st_mode & S_ISGID, 0, "setgid kept: 0%o",
		     st.st_mode & 07777);
}

static long remove_acl(struct side *s, const char *path)
{
	char p[8192];

	snprintf(p, sizeof(p), "%s/%s", s->root, path);
	return removexattr(p, "system.posix_acl_access");
}

Test(acl, removing_the_acl_goes_back_to_mode_bits)
{
	struct acl_blob b;
	size_t len = acl_reader_a(&b);

	make_file("r", 0600);
	BOTH(set_acl(S, "r", "system.posix_acl_access", &b, len));
	BOTH(remove_acl(S, "r"));
	diff_as_user(UID_A, UID_A, read_one, "r", "UID_A reads");
}

/* ---- without --posix-acl: ACL attributes are not the guest's ---------- */

TestSuite(noacl, .init = diff_setup_xattr, .fini = diff_teardown,
	  .timeout = 60);

Test(noacl, acl_attributes_are_refused_without_posix_acl)
{
	struct acl_blob b;
	size_t len = acl_reader_a(&b);
	char p[8192];

	make_file("n", 0600);
	snprintf(p, sizeof(p), "%s/n", D.s[1].root);
	/* The host kernel passes them to a FUSE server that did not agree
	 * to ACLs; vfsd refuses, as virtiofsd does. */
	cr_expect_eq(setxattr(p, "system.posix_acl_access", &b, len, 0), -1);
	cr_expect_eq(errno, EOPNOTSUPP, "errno %d", errno);
}

/* ---- --security-label with the host kernel's own requests ------------ */

static void setup_label(void)
{
	static const char *const opts[] = {
		"--cache=never", "--security-label", NULL,
	};

	diff_setup_opts(opts);
}

TestSuite(label, .init = setup_label, .fini = diff_teardown, .timeout = 60);

/* Without an LSM that labels files the kernel still sends its (empty)
 * security context on every create: all of them must keep working. */
Test(label, every_creating_operation_works_with_the_kernels_contexts)
{
	OPEN(0, openat(S->dir, "f", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		       0644));
	diff_close(0);
	BOTH(mkdirat(S->dir, "d", 0755));
	BOTH(symlinkat("f", S->dir, "l"));
	BOTH(mknodat(S->dir, "p", S_IFIFO | 0644, 0));
	OPEN(1, openat(S->dir, "d", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
	diff_close(1);
	diff_tree();
}

/* ---- --translate-uid / --translate-gid -------------------------------- */

#define HOST_ID 4242u

static void setup_translate(void)
{
	static const char *const opts[] = {
		"--cache=never",
		"--translate-uid=map:0:4242:1",
		"--translate-gid=map:0:4242:1",
		NULL,
	};

	diff_setup_opts(opts);
}

TestSuite(translate, .init = setup_translate, .fini = diff_teardown,
	  .timeout = 60);

static void host_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", D.shared, name);
}

Test(translate, guest_root_creates_files_owned_by_the_mapped_host_id)
{
	char hp[8192];
	struct stat st;
	int fd;

	/* The host directory belongs to the id guest root maps to. */
	host_path(hp, sizeof(hp), "t");
	cr_assert_eq(mkdir(hp, 0755), 0);
	cr_assert_eq(chown(hp, HOST_ID, HOST_ID), 0);

	fd = openat(D.s[1].dir, "t/new", O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0, "create through the mount: %s", strerror(errno));
	close(fd);
	cr_assert_eq(mkdirat(D.s[1].dir, "t/dir", 0755), 0);

	host_path(hp, sizeof(hp), "t/new");
	cr_assert_eq(lstat(hp, &st), 0);
	cr_expect_eq(st.st_uid, HOST_ID);
	cr_expect_eq(st.st_gid, HOST_ID);
	host_path(hp, sizeof(hp), "t/dir");
	cr_assert_eq(lstat(hp, &st), 0);
	cr_expect_eq(st.st_uid, HOST_ID);

	/* ... and the guest sees them as its own. */
	cr_assert_eq(fstatat(D.s[1].dir, "t/new", &st, AT_SYMLINK_NOFOLLOW), 0);
	cr_expect_eq(st.st_uid, 0);
	cr_expect_eq(st.st_gid, 0);
	cr_assert_eq(fstatat(D.s[1].dir, "t", &st, AT_SYMLINK_NOFOLLOW), 0);
	cr_expect_eq(st.st_uid, 0);
}

Test(translate, chown_maps_guest_ids_and_unmapped_ids_pass_unchanged)
{
	char hp[8192];
	struct stat st;

	host_path(hp, sizeof(hp), "owned");
	cr_assert_eq(mknod(hp, S_IFREG | 0644, 0), 0);
	cr_assert_eq(chown(hp, 777, 778), 0);
	/* Host ids no entry maps show as they are. */
	cr_assert_eq(fstatat(D.s[1].dir, "owned", &st, 0), 0);
	cr_expect_eq(st.st_uid, 777);
	cr_expect_eq(st.st_gid, 778);

	cr_assert_eq(fchownat(D.s[1].dir, "owned", 0, 0, 0), 0);
	cr_assert_eq(lstat(hp, &st), 0);
	cr_expect_eq(st.st_uid, HOST_ID);
	cr_expect_eq(st.st_gid, HOST_ID);
	cr_assert_eq(fstatat(D.s[1].dir, "owned", &st, 0), 0);
	cr_expect_eq(st.st_uid, 0);
}
