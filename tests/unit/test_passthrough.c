// SPDX-License-Identifier: GPL-2.0-or-later
/* Passthrough filesystem: setup, lookup counts, attributes, names and
 * directories, driven through pt_ops on a fresh temporary directory. */
#include <pthread.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "test_passthrough.h"

TestSuite(pt, .init = pt_setup, .fini = pt_teardown);

/* ---- setup ---- */

Test(pt_new, refuses_bad_shared_dirs)
{
	char file[] = "/tmp/vfsd-pt-file-XXXXXX";
	struct pt_config cfg = { 0 };
	struct pt_fs *fs = NULL;
	int fd = mkstemp(file);

	cr_assert_geq(fd, 0);
	close(fd);
	cfg.shared_dir = file;
	cr_expect_eq(pt_new(&fs, &cfg), -ENOTDIR);
	cfg.shared_dir = "/nonexistent/vfsd/dir";
	cr_expect_eq(pt_new(&fs, &cfg), -ENOENT);
	cfg.shared_dir = "";
	cr_expect_eq(pt_new(&fs, &cfg), -EINVAL);
	cfg.shared_dir = NULL;
	cr_expect_eq(pt_new(&fs, &cfg), -EINVAL);
	cr_expect_null(fs);
	unlink(file);
	pt_free(NULL);
}

Test(pt, root_is_the_shared_dir)
{
	struct stat st, host;

	cr_assert_eq(pt_ops.getattr(pt, &root_ctx, FS_ROOT_ID, NULL, &st), 0);
	cr_assert_eq(stat(pt_dir, &host), 0);
	cr_expect_eq(st.st_ino, host.st_ino);
	cr_expect_eq(st.st_dev, host.st_dev);
	cr_expect(S_ISDIR(st.st_mode));
	cr_expect_eq(pt_stats().nodes, 1);
}

/* ---- lookup counts ---- */

Test(pt, repeated_lookup_same_nodeid_counts_up)
{
	uint64_t a, b;

	host_write("f", "x");
	a = lookup_ok(FS_ROOT_ID, "f");
	b = lookup_ok(FS_ROOT_ID, "f");
	cr_expect_eq(a, b);
	cr_expect_neq(a, FS_ROOT_ID);
	cr_expect_eq(pt_nlookup(pt, a), 2);
	cr_expect_eq(pt_stats().nodes, 2);
}

Test(pt, hard_links_share_one_node)
{
	host_write("f", "x");
	cr_assert_eq(link(hpath("f"), hpath("g")), 0);
	uint64_t a = lookup_ok(FS_ROOT_ID, "f");
	uint64_t b = lookup_ok(FS_ROOT_ID, "g");

	cr_expect_eq(a, b);
	cr_expect_eq(pt_nlookup(pt, a), 2);
}

Test(pt, lookup_entry_has_host_attributes)
{
	struct fs_entry e;
	struct stat host;

	host_write("f", "hello");
	cr_assert_eq(pt_ops.lookup(pt, &root_ctx, FS_ROOT_ID, "f", &e), 0);
	host = host_lstat("f");
	cr_expect_eq(e.attr.st_ino, host.st_ino);
	cr_expect_eq(e.attr.st_size, 5);
	cr_expect_eq(e.attr.st_mode, host.st_mode);
	cr_expect_eq(e.attr.st_mtim.tv_sec, host.st_mtim.tv_sec);
	cr_expect_eq(e.attr.st_mtim.tv_nsec, host.st_mtim.tv_nsec);
}

/* ---- submounts (--announce-submounts) ---- */

/* The tmpfs mounted at "mnt" goes even when an assertion ends the test. */
static void submount_teardown(void)
{
	if (pt_dir[0])
		umount2(hpath("mnt"), MNT_DETACH);
	pt_teardown();
}

Test(pt_submount, mount_root_is_marked_and_nothing_else,
     .init = pt_setup, .fini = submount_teardown)
{
	struct fs_entry e;
	uint64_t mnt;

	cr_assert_eq(mkdir(hpath("mnt"), 0755), 0);
	cr_assert_eq(mkdir(hpath("plain"), 0755), 0);
	host_write("file", "x");
	if (mount("vfsd-test", hpath("mnt"), "tmpfs", 0, "size=64k") < 0)
		cr_skip_test("cannot mount a tmpfs (not root?): %s",
			     strerror(errno));
	cr_assert_eq(mkdir(hpath("mnt/inner"), 0755), 0);

	cr_assert_eq(pt_ops.lookup(pt, &root_ctx, FS_ROOT_ID, "mnt", &e), 0);
	cr_expect(e.submount, "the tmpfs root is a submount");
	mnt = e.nodeid;
	cr_assert_eq(pt_ops.lookup(pt, &root_ctx, FS_ROOT_ID, "plain", &e), 0);
	cr_expect_not(e.submount);
	cr_assert_eq(pt_ops.lookup(pt, &root_ctx, FS_ROOT_ID, "file", &e), 0);
	cr_expect_not(e.submount);
	/* Inside the submount everything shares its mount. */
	cr_assert_eq(pt_ops.lookup(pt, &root_ctx, mnt, "inner", &e), 0);
	cr_expect_not(e.submount);
}

Test(pt, lookup_missing_is_enoent)
{
	struct fs_entry e;

	cr_expect_eq(pt_ops.lookup(pt, &root_ctx, FS_ROOT_ID, "nope", &e),
		     -ENOENT);
	cr_expect_eq(pt_stats().nodes, 1);
}

Test(pt, lookup_refuses_dot_dotdot_slash_empty)
{
	const char *bad[] = { "..", ".", "a/b", "/etc", "" };
	struct fs_entry e;

	cr_assert_eq(mkdir(hpath("a"), 0755), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(pt_ops.lookup(pt, &root_ctx, FS_ROOT_ID, bad[i],
					   &e), -EINVAL, "%s", bad[i]);
	cr_expect_eq(pt_stats().nodes, 1);
}

Test(pt, lookup_unknown_parent_is_ebadf)
{
	struct fs_entry e;

	cr_expect_eq(pt_ops.lookup(pt, &root_ctx, 12345, "f", &e), -EBADF);
	cr_expect_eq(pt_ops.lookup(pt, &root_ctx, 0, "f", &e), -EBADF);
}

Test(pt, lookup_in_a_file_is_enotdir)
{
	struct fs_entry e;
	uint64_t f;

	host_write("f", "x");
	f = lookup_ok(FS_ROOT_ID, "f");
	cr_expect_eq(pt_ops.lookup(pt, &root_ctx, f, "x", &e), -ENOTDIR);
}

Test(pt, forget_frees_at_zero_and_ids_are_not_reused)
{
	struct stat st;
	uint64_t a, b;

	host_write("f", "x");
	a = lookup_ok(FS_ROOT_ID, "f");
	lookup_ok(FS_ROOT_ID, "f");
	lookup_ok(FS_ROOT_ID, "f");
	pt_ops.forget(pt, a, 2);
	cr_expect_eq(pt_nlookup(pt, a), 1);
	cr_expect_eq(pt_ops.getattr(pt, &root_ctx, a, NULL, &st), 0);
	pt_ops.forget(pt, a, 1);
	cr_expect_eq(pt_stats().nodes, 1);
	cr_expect_eq(pt_ops.getattr(pt, &root_ctx, a, NULL, &st), -EBADF);
	b = lookup_ok(FS_ROOT_ID, "f");
	cr_expect_neq(a, b);
}

Test(pt, forget_more_than_held_saturates)
{
	uint64_t a;

	host_write("f", "x");
	a = lookup_ok(FS_ROOT_ID, "f");
	pt_ops.forget(pt, a, UINT64_MAX);
	cr_expect_eq(pt_stats().nodes, 1);
	pt_ops.forget(pt, a, 1);          /* unknown now: ignored */
	pt_ops.forget(pt, 987654, 1);
	cr_expect_eq(pt_stats().nodes, 1);
}

Test(pt, forget_root_is_ignored)
{
	struct stat st;

	pt_ops.forget(pt, FS_ROOT_ID, 1000);
	cr_expect_eq(pt_ops.getattr(pt, &root_ctx, FS_ROOT_ID, NULL, &st), 0);
	cr_expect_eq(pt_stats().nodes, 1);
}

Test(pt, destroy_drops_all_but_root)
{
	uint64_t fh, d, f;
	uint32_t of;

	host_write("f", "x");
	cr_assert_eq(mkdir(hpath("d"), 0755), 0);
	f = lookup_ok(FS_ROOT_ID, "f");
	d = lookup_ok(FS_ROOT_ID, "d");
	cr_assert_eq(pt_ops.open(pt, &root_ctx, f, O_RDONLY, &fh, &of), 0);
	cr_assert_eq(pt_ops.opendir(pt, &root_ctx, d, 0, &fh), 0);
	cr_assert_eq(pt_stats().nodes, 3);
	cr_assert_eq(pt_stats().handles, 2);

	pt_ops.destroy(pt);
	cr_expect_eq(pt_stats().nodes, 1);
	cr_expect_eq(pt_stats().handles, 0);
	/* The root still serves a new session. */
	cr_expect_neq(lookup_ok(FS_ROOT_ID, "f"), f);
}

Test(pt, node_limit_is_enfile)
{
	struct pt_config cfg = { .max_nodes = 2 };
	struct fs_entry e;

	pt_teardown();
	pt_setup_cfg(&cfg);
	host_write("a", "");
	host_write("b", "");
	host_write("c", "");
	lookup_ok(FS_ROOT_ID, "a");
	lookup_ok(FS_ROOT_ID, "b");
	cr_expect_eq(pt_ops.lookup(pt, &root_ctx, FS_ROOT_ID, "c", &e),
		     -ENFILE);
	/* Known nodes are still found at the limit. */
	lookup_ok(FS_ROOT_ID, "a");
}

/* ---- symlinks are never followed ---- */

Test(pt, lookup_of_symlink_is_the_link_itself)
{
	struct fs_entry e;
	char buf[64];
	int n;

	cr_assert_eq(symlink("/etc/passwd", hpath("l")), 0);
	cr_assert_eq(pt_ops.lookup(pt, &root_ctx, FS_ROOT_ID, "l", &e), 0);
	cr_expect(S_ISLNK(e.attr.st_mode));
	cr_expect_eq(e.attr.st_ino, host_lstat("l").st_ino);
	n = pt_ops.readlink(pt, &root_ctx, e.nodeid, buf, sizeof(buf));
	cr_assert_eq(n, (int)strlen("/etc/passwd"));
	cr_expect_eq(memcmp(buf, "/etc/passwd", n), 0);
}

Test(pt, lookup_through_symlink_to_dir_does_not_escape)
{
	struct fs_entry e;
	uint64_t l;

	cr_assert_eq(symlink("/", hpath("esc")), 0);
	l = lookup_ok(FS_ROOT_ID, "esc");
	cr_expect_eq(pt_ops.lookup(pt, &root_ctx, l, "etc", &e), -ENOTDIR);
}

Test(pt, readlink_of_regular_file_is_einval)
{
	char buf[16];

	host_write("f", "x");
	cr_expect_eq(pt_ops.readlink(pt, &root_ctx, lookup_ok(FS_ROOT_ID, "f"),
				     buf, sizeof(buf)), -EINVAL);
}

/* ---- attributes ---- */

Test(pt, getattr_follows_host_changes)
{
	struct stat st;
	uint64_t f;

	host_write("f", "x");
	f = lookup_ok(FS_ROOT_ID, "f");
	host_write("f", "longer");
	cr_assert_eq(pt_ops.getattr(pt, &root_ctx, f, NULL, &st), 0);
	cr_expect_eq(st.st_size, 6);
}

Test(pt, setattr_mode)
{
	struct fs_setattr in = { .valid = FS_SET_MODE, .mode = S_IFREG | 0604 };
	struct stat st;
	uint64_t f;

	host_write("f", "x");
	f = lookup_ok(FS_ROOT_ID, "f");
	cr_assert_eq(pt_ops.setattr(pt, &root_ctx, f, &in, &st), 0);
	cr_expect_eq(st.st_mode, S_IFREG | 0604);
	cr_expect_eq(host_lstat("f").st_mode, S_IFREG | 0604);
}

Test(pt, setattr_mode_on_symlink_leaves_target_alone)
{
	struct fs_setattr in = { .valid = FS_SET_MODE, .mode = 0600 };
	struct stat st;
	uint64_t l;

	host_write("t", "x");
	cr_assert_eq(chmod(hpath("t"), 0644), 0);
	cr_assert_eq(symlink("t", hpath("l")), 0);
	l = lookup_ok(FS_ROOT_ID, "l");
	/* Linux cannot chmod a symlink: an error, never the target. */
	pt_ops.setattr(pt, &root_ctx, l, &in, &st);
	cr_expect_eq(host_lstat("t").st_mode & 07777, 0644);
}

Test(pt, setattr_size_shrinks_and_grows)
{
	struct fs_setattr in = { .valid = FS_SET_SIZE, .size = 2 };
	struct stat st;
	char buf[16];
	uint64_t f;

	host_write("f", "hello");
	f = lookup_ok(FS_ROOT_ID, "f");
	cr_assert_eq(pt_ops.setattr(pt, &root_ctx, f, &in, &st), 0);
	cr_expect_eq(st.st_size, 2);
	cr_expect_eq(host_read("f", buf, sizeof(buf)), 2);
	cr_expect_str_eq(buf, "he");
	in.size = 4096;
	cr_assert_eq(pt_ops.setattr(pt, &root_ctx, f, &in, &st), 0);
	cr_expect_eq(host_lstat("f").st_size, 4096);
}

Test(pt, setattr_size_on_dir_and_negative_fail)
{
	struct fs_setattr in = { .valid = FS_SET_SIZE, .size = 0 };
	struct stat st;
	uint64_t f;

	cr_expect_eq(pt_ops.setattr(pt, &root_ctx, FS_ROOT_ID, &in, &st),
		     -EISDIR);
	host_write("f", "x");
	f = lookup_ok(FS_ROOT_ID, "f");
	in.size = -1;
	cr_expect_eq(pt_ops.setattr(pt, &root_ctx, f, &in, &st), -EINVAL);
}

Test(pt, setattr_size_kill_suidgid)
{
	struct fs_setattr in = { .valid = FS_SET_SIZE | FS_SET_KILL_SUIDGID };
	struct stat st;
	uint64_t f;

	host_write("f", "hello");
	cr_assert_eq(chmod(hpath("f"), 06755), 0);
	f = lookup_ok(FS_ROOT_ID, "f");
	cr_assert_eq(pt_ops.setattr(pt, &root_ctx, f, &in, &st), 0);
	cr_expect_eq(host_lstat("f").st_mode & 07777, 0755);
	cr_expect_eq(st.st_mode & 07777, 0755);
}

Test(pt, setattr_times_explicit_and_now)
{
	struct fs_setattr in = {
		.valid = FS_SET_ATIME | FS_SET_MTIME,
		.atime = { 1000, 5 }, .mtime = { 2000, 7 },
	};
	struct stat st;
	uint64_t f;
	time_t now;

	host_write("f", "x");
	f = lookup_ok(FS_ROOT_ID, "f");
	cr_assert_eq(pt_ops.setattr(pt, &root_ctx, f, &in, &st), 0);
	st = host_lstat("f");
	cr_expect_eq(st.st_atim.tv_sec, 1000);
	cr_expect_eq(st.st_atim.tv_nsec, 5);
	cr_expect_eq(st.st_mtim.tv_sec, 2000);
	cr_expect_eq(st.st_mtim.tv_nsec, 7);

	/* mtime to now, atime untouched. */
	in.valid = FS_SET_MTIME | FS_SET_MTIME_NOW;
	now = time(NULL);
	cr_assert_eq(pt_ops.setattr(pt, &root_ctx, f, &in, &st), 0);
	st = host_lstat("f");
	cr_expect_eq(st.st_atim.tv_sec, 1000);
	cr_expect_geq(st.st_mtim.tv_sec, now - 1);
}

Test(pt, setattr_times_bad_nsec_is_einval)
{
	struct fs_setattr in = { .valid = FS_SET_MTIME,
				 .mtime = { 1, 1000000000L } };
	struct stat st;

	host_write("f", "x");
	cr_expect_eq(pt_ops.setattr(pt, &root_ctx, lookup_ok(FS_ROOT_ID, "f"),
				    &in, &st), -EINVAL);
}

Test(pt, setattr_owner_as_root)
{
	struct fs_setattr in = { .valid = FS_SET_UID | FS_SET_GID,
				 .uid = 1234, .gid = 5678 };
	struct stat st;
	uint64_t f;

	if (geteuid() != 0)
		cr_skip_test("needs root");
	host_write("f", "x");
	f = lookup_ok(FS_ROOT_ID, "f");
	cr_assert_eq(pt_ops.setattr(pt, &root_ctx, f, &in, &st), 0);
	cr_expect_eq(st.st_uid, 1234);
	cr_expect_eq(st.st_gid, 5678);
	in.valid = FS_SET_GID;
	in.gid = 42;
	cr_assert_eq(pt_ops.setattr(pt, &root_ctx, f, &in, &st), 0);
	cr_expect_eq(host_lstat("f").st_uid, 1234);
	cr_expect_eq(host_lstat("f").st_gid, 42);
}

Test(pt, setattr_unknown_fh_is_ebadf)
{
	struct fs_setattr in = { .valid = FS_SET_SIZE, .has_fh = true,
				 .fh = 77 };
	struct stat st;

	host_write("f", "x");
	cr_expect_eq(pt_ops.setattr(pt, &root_ctx, lookup_ok(FS_ROOT_ID, "f"),
				    &in, &st), -EBADF);
}

Test(pt, statfs_and_syncfs)
{
	struct statvfs sv, host;

	cr_assert_eq(pt_ops.statfs(pt, FS_ROOT_ID, &sv), 0);
	cr_assert_eq(statvfs(pt_dir, &host), 0);
	cr_expect_eq(sv.f_bsize, host.f_bsize);
	cr_expect_eq(sv.f_blocks, host.f_blocks);
	cr_expect_eq(pt_ops.syncfs(pt, FS_ROOT_ID), 0);
	cr_assert_eq(mkfifo(hpath("p"), 0600), 0);
	/* A fifo cannot be opened: its filesystem is synced anyway. */
	cr_expect_eq(pt_ops.syncfs(pt, lookup_ok(FS_ROOT_ID, "p")), 0);
}

/* ---- access, as the caller ---- */

Test(pt, access_root_caller)
{
	uint64_t f;

	host_write("f", "x");
	cr_assert_eq(chmod(hpath("f"), 0644), 0);
	f = lookup_ok(FS_ROOT_ID, "f");
	cr_expect_eq(pt_ops.access(pt, &root_ctx, f, R_OK | W_OK), 0);
	cr_expect_eq(pt_ops.access(pt, &root_ctx, f, X_OK), -EACCES);
	cr_expect_eq(pt_ops.access(pt, &root_ctx, f, 0x40), -EINVAL);
}

Test(pt, access_checks_as_the_guest_user)
{
	const struct fs_ctx user = { .uid = 1000, .gid = 1000, .pid = 2 };
	uint64_t f;

	if (geteuid() != 0)
		cr_skip_test("needs root");
	host_write("f", "x");
	cr_assert_eq(chmod(hpath("f"), 0644), 0);
	f = lookup_ok(FS_ROOT_ID, "f");
	cr_expect_eq(pt_ops.access(pt, &user, f, R_OK), 0);
	cr_expect_eq(pt_ops.access(pt, &user, f, W_OK), -EACCES);
	cr_assert_eq(chown(hpath("f"), 1000, 1000), 0);
	cr_expect_eq(pt_ops.access(pt, &user, f, W_OK), 0);
	/* And the daemon is root again afterwards. */
	cr_expect_eq(geteuid(), 0);
	cr_expect_eq(getegid(), 0);
}

/* ---- creating names ---- */

Test(pt, mkdir_applies_umask_and_counts_lookup)
{
	struct fs_entry e;

	cr_assert_eq(pt_ops.mkdir(pt, &root_ctx, FS_ROOT_ID, "d", 0777, 022,
				  &e), 0);
	cr_expect(S_ISDIR(e.attr.st_mode));
	cr_expect_eq(e.attr.st_mode & 07777, 0755);
	cr_expect_eq(host_lstat("d").st_mode & 07777, 0755);
	cr_expect_eq(pt_nlookup(pt, e.nodeid), 1);
	cr_expect_eq(lookup_ok(FS_ROOT_ID, "d"), e.nodeid);
	cr_expect_eq(pt_ops.mkdir(pt, &root_ctx, FS_ROOT_ID, "d", 0777, 0, &e),
		     -EEXIST);
}

Test(pt, mknod_fifo_and_socket)
{
	struct fs_entry e;

	cr_assert_eq(pt_ops.mknod(pt, &root_ctx, FS_ROOT_ID, "p", S_IFIFO | 0666,
				  0, 022, &e), 0);
	cr_expect(S_ISFIFO(host_lstat("p").st_mode));
	cr_expect_eq(host_lstat("p").st_mode & 0777, 0644);
	cr_assert_eq(pt_ops.mknod(pt, &root_ctx, FS_ROOT_ID, "s", S_IFSOCK | 0600,
				  0, 0, &e), 0);
	cr_expect(S_ISSOCK(e.attr.st_mode));
	cr_expect_eq(pt_ops.mknod(pt, &root_ctx, FS_ROOT_ID, "d", S_IFDIR | 0600,
				  0, 0, &e), -EINVAL);
}

Test(pt, symlink_and_readlink_roundtrip)
{
	struct fs_entry e;
	char buf[PATH_MAX];
	int n;

	cr_assert_eq(pt_ops.symlink(pt, &root_ctx, FS_ROOT_ID, "l",
				    "../../outside/target", &e), 0);
	cr_expect(S_ISLNK(e.attr.st_mode));
	n = pt_ops.readlink(pt, &root_ctx, e.nodeid, buf, sizeof(buf));
	cr_assert_eq(n, (int)strlen("../../outside/target"));
	buf[n] = 0;
	cr_expect_str_eq(buf, "../../outside/target");
	n = readlink(hpath("l"), buf, sizeof(buf));
	cr_expect_eq(n, (int)strlen("../../outside/target"));
}

Test(pt, link_makes_same_node_with_more_links)
{
	struct fs_entry e;
	uint64_t f;

	host_write("f", "x");
	f = lookup_ok(FS_ROOT_ID, "f");
	cr_assert_eq(mkdir(hpath("d"), 0755), 0);
	uint64_t d = lookup_ok(FS_ROOT_ID, "d");

	cr_assert_eq(pt_ops.link(pt, &root_ctx, f, d, "g", &e), 0);
	cr_expect_eq(e.nodeid, f);
	cr_expect_eq(e.attr.st_nlink, 2);
	cr_expect_eq(pt_nlookup(pt, f), 2);
	cr_expect_eq(host_lstat("d/g").st_ino, host_lstat("f").st_ino);
	cr_expect_eq(pt_ops.link(pt, &root_ctx, f, d, "g", &e), -EEXIST);
	cr_expect_eq(pt_ops.link(pt, &root_ctx, d, FS_ROOT_ID, "d2", &e),
		     -EPERM);
}

Test(pt, created_files_belong_to_the_caller)
{
	const struct fs_ctx user = { .uid = 1000, .gid = 1001, .pid = 2 };
	struct fs_entry e;
	uint64_t fh;
	uint32_t of;

	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_eq(chmod(pt_dir, 0777), 0);
	cr_assert_eq(pt_ops.mkdir(pt, &user, FS_ROOT_ID, "d", 0755, 0, &e), 0);
	cr_assert_eq(pt_ops.create(pt, &user, FS_ROOT_ID, "f", 0644,
				   O_RDWR, 0, &e, &fh, &of), 0);
	cr_assert_eq(pt_ops.symlink(pt, &user, FS_ROOT_ID, "l", "f", &e), 0);
	cr_assert_eq(pt_ops.mknod(pt, &user, FS_ROOT_ID, "p", S_IFIFO | 0644, 0,
				  0, &e), 0);
	const char *names[] = { "d", "f", "l", "p" };

	for (int i = 0; i < 4; i++) {
		cr_expect_eq(host_lstat(names[i]).st_uid, 1000, "%s", names[i]);
		cr_expect_eq(host_lstat(names[i]).st_gid, 1001, "%s", names[i]);
	}
	cr_expect_eq(geteuid(), 0);
	cr_expect_eq(getegid(), 0);
	/* Root callers make root files. */
	cr_assert_eq(pt_ops.mkdir(pt, &root_ctx, FS_ROOT_ID, "r", 0755, 0, &e),
		     0);
	cr_expect_eq(host_lstat("r").st_uid, 0);
}

Test(pt, caller_without_permission_cannot_create)
{
	const struct fs_ctx user = { .uid = 1000, .gid = 1000, .pid = 2 };
	struct fs_entry e;

	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_eq(chmod(pt_dir, 0755), 0);
	cr_expect_eq(pt_ops.mkdir(pt, &user, FS_ROOT_ID, "d", 0755, 0, &e),
		     -EACCES);
	cr_expect_eq(geteuid(), 0);
}

/* ---- removing and renaming ---- */

Test(pt, unlink_and_rmdir_errors)
{
	cr_assert_eq(mkdir(hpath("d"), 0755), 0);
	host_write("d/f", "x");
	cr_expect_eq(pt_ops.rmdir(pt, &root_ctx, FS_ROOT_ID, "d"), -ENOTEMPTY);
	cr_expect_eq(pt_ops.unlink(pt, &root_ctx, FS_ROOT_ID, "nope"), -ENOENT);
	cr_expect_eq(pt_ops.rmdir(pt, &root_ctx, FS_ROOT_ID, "nope"), -ENOENT);
	cr_expect_eq(pt_ops.unlink(pt, &root_ctx, FS_ROOT_ID, "d"), -EISDIR);
	cr_expect_eq(pt_ops.unlink(pt, &root_ctx, FS_ROOT_ID, ".."), -EINVAL);

	uint64_t d = lookup_ok(FS_ROOT_ID, "d");

	cr_expect_eq(pt_ops.rmdir(pt, &root_ctx, d, "f"), -ENOTDIR);
	cr_expect_eq(pt_ops.unlink(pt, &root_ctx, d, "f"), 0);
	cr_expect_eq(pt_ops.rmdir(pt, &root_ctx, FS_ROOT_ID, "d"), 0);
	cr_expect_eq(access(hpath("d"), F_OK), -1);
}

Test(pt, unlinked_node_still_answers_getattr)
{
	struct stat st;
	uint64_t f;

	host_write("f", "abc");
	f = lookup_ok(FS_ROOT_ID, "f");
	cr_assert_eq(pt_ops.unlink(pt, &root_ctx, FS_ROOT_ID, "f"), 0);
	cr_assert_eq(pt_ops.getattr(pt, &root_ctx, f, NULL, &st), 0);
	cr_expect_eq(st.st_nlink, 0);
	cr_expect_eq(st.st_size, 3);
}

Test(pt, rename_plain_and_across_dirs)
{
	uint64_t d;

	host_write("a", "A");
	cr_assert_eq(mkdir(hpath("d"), 0755), 0);
	d = lookup_ok(FS_ROOT_ID, "d");
	cr_assert_eq(pt_ops.rename(pt, &root_ctx, FS_ROOT_ID, "a", d, "b", 0),
		     0);
	cr_expect_eq(access(hpath("a"), F_OK), -1);
	cr_expect_eq(access(hpath("d/b"), F_OK), 0);
	cr_expect_eq(pt_ops.rename(pt, &root_ctx, FS_ROOT_ID, "a", d, "b", 0),
		     -ENOENT);
	cr_expect_eq(pt_ops.rename(pt, &root_ctx, d, "b", FS_ROOT_ID, "..", 0),
		     -EINVAL);
}

Test(pt, rename_noreplace_and_exchange)
{
	char buf[8];

	host_write("a", "A");
	host_write("b", "B");
	cr_expect_eq(pt_ops.rename(pt, &root_ctx, FS_ROOT_ID, "a", FS_ROOT_ID,
				   "b", RENAME_NOREPLACE), -EEXIST);
	cr_assert_eq(pt_ops.rename(pt, &root_ctx, FS_ROOT_ID, "a", FS_ROOT_ID,
				   "b", RENAME_EXCHANGE), 0);
	host_read("a", buf, sizeof(buf));
	cr_expect_str_eq(buf, "B");
	host_read("b", buf, sizeof(buf));
	cr_expect_str_eq(buf, "A");
	cr_expect_eq(pt_ops.rename(pt, &root_ctx, FS_ROOT_ID, "a", FS_ROOT_ID,
				   "c", 0x80), -EINVAL);
	cr_expect_eq(pt_ops.rename(pt, &root_ctx, FS_ROOT_ID, "a", FS_ROOT_ID,
				   "b", 0), 0);
	host_read("b", buf, sizeof(buf));
	cr_expect_str_eq(buf, "B");
}

/* ---- readdir ---- */

#define NFILES 300

struct collect {
	char seen[NFILES + 2][16];
	int n;
	int room;               /* entries accepted per readdir call */
	int taken;
	uint64_t last_off;
	bool overflow;
};

static int collect_emit(void *buf, const char *name, size_t namelen,
			uint64_t ino, unsigned int d_type, uint64_t off_next)
{
	struct collect *c = buf;

	if (c->taken == c->room)
		return 1;
	if (c->n == NFILES + 2 || namelen >= 16) {
		c->overflow = true;
		return 1;
	}
	memcpy(c->seen[c->n], name, namelen);
	c->seen[c->n][namelen] = 0;
	c->n++;
	c->taken++;
	c->last_off = off_next;
	return 0;
}

static void read_all(uint64_t dir, uint64_t fh, struct collect *c)
{
	uint64_t off = 0;

	for (int calls = 0; calls < 10 * NFILES; calls++) {
		c->taken = 0;
		cr_assert_eq(pt_ops.readdir(pt, dir, fh, off, collect_emit, c),
			     0);
		if (c->taken == 0)
			return;
		off = c->last_off;
	}
	cr_assert_fail("readdir never ended");
}

Test(pt, readdir_small_buffer_lists_each_name_once)
{
	struct collect *c = calloc(1, sizeof(*c));
	char name[16];
	uint64_t fh;
	int count[NFILES] = { 0 }, dots = 0;

	for (int i = 0; i < NFILES; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		host_write(name, "");
	}
	cr_assert_eq(pt_ops.opendir(pt, &root_ctx, FS_ROOT_ID, 0, &fh), 0);
	c->room = 7;
	read_all(FS_ROOT_ID, fh, c);
	cr_assert_not(c->overflow);
	cr_assert_eq(c->n, NFILES + 2);
	for (int i = 0; i < c->n; i++) {
		if (!strcmp(c->seen[i], ".") || !strcmp(c->seen[i], "..")) {
			dots++;
			continue;
		}
		int k = atoi(c->seen[i] + 1);

		cr_assert(k >= 0 && k < NFILES);
		count[k]++;
	}
	cr_expect_eq(dots, 2);
	for (int i = 0; i < NFILES; i++)
		cr_expect_eq(count[i], 1, "n%d seen %d times", i, count[i]);
	cr_expect_eq(pt_ops.releasedir(pt, FS_ROOT_ID, fh), 0);
	free(c);
}

Test(pt, readdir_refused_entry_is_offered_again)
{
	struct collect c = { .room = 1 };
	uint64_t fh, off;
	char first[16];

	host_write("a", "");
	host_write("b", "");
	cr_assert_eq(pt_ops.opendir(pt, &root_ctx, FS_ROOT_ID, 0, &fh), 0);
	cr_assert_eq(pt_ops.readdir(pt, FS_ROOT_ID, fh, 0, collect_emit, &c),
		     0);
	cr_assert_eq(c.n, 1);
	off = c.last_off;
	/* Nothing accepted: the same entry must come next time. */
	c.taken = 0;
	c.room = 0;
	cr_assert_eq(pt_ops.readdir(pt, FS_ROOT_ID, fh, off, collect_emit, &c),
		     0);
	c.room = 1;
	cr_assert_eq(pt_ops.readdir(pt, FS_ROOT_ID, fh, off, collect_emit, &c),
		     0);
	cr_assert_eq(c.n, 2);
	strcpy(first, c.seen[1]);
	/* Re-reading from the same offset repeats it (rewind semantics). */
	c.taken = 0;
	cr_assert_eq(pt_ops.readdir(pt, FS_ROOT_ID, fh, off, collect_emit, &c),
		     0);
	cr_expect_str_eq(c.seen[2], first);
	/* Restart from 0 gives the first entry again. */
	c.taken = 0;
	cr_assert_eq(pt_ops.readdir(pt, FS_ROOT_ID, fh, 0, collect_emit, &c),
		     0);
	cr_expect_str_eq(c.seen[3], c.seen[0]);
}

Test(pt, opendir_errors)
{
	uint64_t fh;

	host_write("f", "");
	cr_expect_eq(pt_ops.opendir(pt, &root_ctx, lookup_ok(FS_ROOT_ID, "f"),
				    0, &fh), -ENOTDIR);
	cr_expect_eq(pt_ops.opendir(pt, &root_ctx, 999, 0, &fh), -EBADF);
	cr_expect_eq(pt_ops.readdir(pt, FS_ROOT_ID, 999, 0, collect_emit,
				    NULL), -EBADF);
	cr_expect_eq(pt_ops.releasedir(pt, FS_ROOT_ID, 999), -EBADF);
	cr_assert_eq(pt_ops.opendir(pt, &root_ctx, FS_ROOT_ID, 0, &fh), 0);
	/* A handle only answers for the node it was opened on. */
	cr_expect_eq(pt_ops.releasedir(pt, 42, fh), -EBADF);
	cr_expect_eq(pt_ops.fsyncdir(pt, FS_ROOT_ID, fh, false), 0);
	cr_expect_eq(pt_ops.releasedir(pt, FS_ROOT_ID, fh), 0);
	cr_expect_eq(pt_ops.releasedir(pt, FS_ROOT_ID, fh), -EBADF);
}

/* ---- concurrency ---- */

#define NTHREADS 4
#define ROUNDS 2000

static void *lookup_forget_loop(void *arg)
{
	long id = (long)arg;
	char name[8];

	for (int i = 0; i < ROUNDS; i++) {
		struct fs_entry e;
		struct stat st;

		snprintf(name, sizeof(name), "f%d", (int)((i + id) % 8));
		if (pt_ops.lookup(pt, &root_ctx, FS_ROOT_ID, name, &e) != 0)
			return (void *)1;
		/* Our own lookup holds the node: it must answer. */
		if (pt_ops.getattr(pt, &root_ctx, e.nodeid, NULL, &st) != 0)
			return (void *)2;
		pt_ops.forget(pt, e.nodeid, 1);
	}
	return NULL;
}

Test(pt, concurrent_lookup_forget_balances)
{
	pthread_t t[NTHREADS];
	char name[8];

	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		host_write(name, "");
	}
	for (long i = 0; i < NTHREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, lookup_forget_loop,
					    (void *)i), 0);
	for (int i = 0; i < NTHREADS; i++) {
		void *res;

		pthread_join(t[i], &res);
		cr_expect_null(res);
	}
	cr_expect_eq(pt_stats().nodes, 1);
}

/* ---- uid -1 is not "stay root" ---- */

Test(pt, caller_uid_minus_one_cannot_create_as_root)
{
	const struct fs_ctx bad = { .uid = (uid_t)-1, .gid = 0, .pid = 2 };
	struct fs_entry e;

	if (geteuid() != 0)
		cr_skip_test("needs root");
	/* (uid_t)-1 is also the engine's "--translate-uid forbids it". */
	cr_expect_eq(pt_ops.mkdir(pt, &bad, FS_ROOT_ID, "d", 0755, 0, &e),
		     -EPERM);
	cr_expect_eq(access(hpath("d"), F_OK), -1);
}

/* ---- extended attributes ---- */

static void xattr_setup(void)
{
	struct pt_config cfg = { .xattr = true };

	pt_setup_cfg(&cfg);
}

TestSuite(ptx, .init = xattr_setup, .fini = pt_teardown);

Test(pt, xattr_off_is_enosys)
{
	char buf[16];

	cr_expect_eq(pt_ops.getxattr(pt, &root_ctx, FS_ROOT_ID, "user.a", buf,
				     sizeof(buf)), -ENOSYS);
	cr_expect_eq(pt_ops.listxattr(pt, &root_ctx, FS_ROOT_ID, buf,
				      sizeof(buf)), -ENOSYS);
	cr_expect_eq(pt_ops.setxattr(pt, &root_ctx, FS_ROOT_ID, "user.a", "1",
				     1, 0), -ENOSYS);
	cr_expect_eq(pt_ops.removexattr(pt, &root_ctx, FS_ROOT_ID, "user.a"),
		     -ENOSYS);
}

Test(ptx, set_get_list_remove_on_file_and_dir)
{
	uint64_t nodes[2];
	char buf[64];

	host_write("f", "x");
	cr_assert_eq(mkdir(hpath("d"), 0755), 0);
	nodes[0] = lookup_ok(FS_ROOT_ID, "f");
	nodes[1] = lookup_ok(FS_ROOT_ID, "d");
	for (int i = 0; i < 2; i++) {
		uint64_t n = nodes[i];

		cr_assert_eq(pt_ops.setxattr(pt, &root_ctx, n, "user.k", "val",
					     3, 0), 0);
		cr_expect_eq(pt_ops.setxattr(pt, &root_ctx, n, "user.k", "v",
					     1, XATTR_CREATE), -EEXIST);
		cr_expect_eq(pt_ops.getxattr(pt, &root_ctx, n, "user.k", NULL,
					     0), 3);
		cr_expect_eq(pt_ops.getxattr(pt, &root_ctx, n, "user.k", buf,
					     2), -ERANGE);
		cr_assert_eq(pt_ops.getxattr(pt, &root_ctx, n, "user.k", buf,
					     sizeof(buf)), 3);
		cr_expect_eq(memcmp(buf, "val", 3), 0);
		ssize_t len = pt_ops.listxattr(pt, &root_ctx, n, buf,
					       sizeof(buf));

		cr_assert_gt(len, 0);
		cr_expect_eq(pt_ops.listxattr(pt, &root_ctx, n, NULL, 0), len);
		cr_expect_not_null(memmem(buf, len, "user.k", 7));
		cr_assert_eq(pt_ops.removexattr(pt, &root_ctx, n, "user.k"), 0);
		cr_expect_eq(pt_ops.getxattr(pt, &root_ctx, n, "user.k", buf,
					     sizeof(buf)), -ENODATA);
	}
	cr_expect_eq(lgetxattr(hpath("f"), "user.k", buf, sizeof(buf)), -1);
	cr_expect_eq(pt_stats().handles, 0);
}

Test(ptx, fifo_and_symlink_are_not_opened)
{
	char buf[64];
	uint64_t p, l;

	cr_assert_eq(mkfifo(hpath("p"), 0644), 0);
	host_write("t", "x");
	cr_assert_eq(setxattr(hpath("t"), "user.t", "target", 6, 0), 0);
	cr_assert_eq(symlink("t", hpath("l")), 0);
	p = lookup_ok(FS_ROOT_ID, "p");
	l = lookup_ok(FS_ROOT_ID, "l");
	/* A fifo would block an open: served by path, returns at once. */
	cr_expect_eq(pt_ops.getxattr(pt, &root_ctx, p, "user.none", buf,
				     sizeof(buf)), -ENODATA);
	/* The symlink's own attributes, never the target's. */
	cr_expect_eq(pt_ops.getxattr(pt, &root_ctx, l, "user.t", buf,
				     sizeof(buf)), -ENODATA);
	cr_expect_eq(pt_ops.setxattr(pt, &root_ctx, l, "user.t", "x", 1, 0),
		     -EPERM);
	cr_expect_eq(pt_ops.setxattr(pt, &root_ctx, p, "user.t", "x", 1, 0x99),
		     -EINVAL);
}

Test(pt, setattr_times_on_symlink_leaves_target_alone)
{
	struct fs_setattr in = { .valid = FS_SET_MTIME, .mtime = { 1234, 0 } };
	struct stat st;
	uint64_t l;

	host_write("t", "x");
	cr_assert_eq(symlink("t", hpath("l")), 0);
	l = lookup_ok(FS_ROOT_ID, "l");
	cr_assert_eq(pt_ops.setattr(pt, &root_ctx, l, &in, &st), 0);
	cr_expect_eq(host_lstat("l").st_mtim.tv_sec, 1234);
	cr_expect_neq(host_lstat("t").st_mtim.tv_sec, 1234);
}
