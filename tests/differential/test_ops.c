// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Every FUSE opcode a host program can reach, done natively and through
 * vfsd --mount (--cache=never: the kernel asks the daemon every time), with
 * identical results required.  See diff.h for BOTH/OPEN.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "diff.h"

TestSuite(ops, .init = diff_setup, .fini = diff_teardown, .timeout = 60);

Test(ops, seed_tree_is_identical)
{
	diff_tree();
}

Test(ops, lookup_and_getattr)
{
	static const char *const names[] = {
		"a", "sparse", "d", "d/x", "d/e", "lnk", "dangle", "ro", "suid",
		"other", "pub", "sticky", "missing", "d/missing", "a/x",
		"lnk/x", "dangle/x", "d/e/../x", "d/./x",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		diff_stat(names[i], AT_SYMLINK_NOFOLLOW);
		diff_stat(names[i], 0);
		BOTH(faccessat(S->dir, names[i], F_OK, 0));
		BOTH(faccessat(S->dir, names[i], X_OK, 0));
		BOTH(faccessat(S->dir, names[i], W_OK, AT_SYMLINK_NOFOLLOW));
	}
}

Test(ops, readlink_and_symlink)
{
	char t[256];

	BOTH(readlinkat(S->dir, "lnk", t, sizeof(t)));
	BOTH(readlinkat(S->dir, "dangle", t, sizeof(t)));
	BOTH(readlinkat(S->dir, "a", t, sizeof(t)));
	BOTH(readlinkat(S->dir, "missing", t, sizeof(t)));
	BOTH(readlinkat(S->dir, "lnk", t, 1));
	BOTH(symlinkat("d/x", S->dir, "s1"));
	BOTH(symlinkat("d/x", S->dir, "s1"));
	BOTH(symlinkat("x", S->dir, "d/s2"));
	BOTH(symlinkat("x", S->dir, "missing/s3"));
	BOTH(symlinkat("../../../../../etc/passwd", S->dir, "escape"));
	BOTH(readlinkat(S->dir, "escape", t, sizeof(t)));
	diff_read_file("s1");
	diff_tree();
}

Test(ops, mkdir_rmdir)
{
	BOTH(mkdirat(S->dir, "n", 0750));
	BOTH(mkdirat(S->dir, "n", 0750));
	BOTH(mkdirat(S->dir, "n/m", 0700));
	BOTH(mkdirat(S->dir, "missing/m", 0700));
	BOTH(mkdirat(S->dir, "a/m", 0700));
	BOTH(mkdirat(S->dir, "g", 02775));
	BOTH(unlinkat(S->dir, "n", AT_REMOVEDIR));
	BOTH(unlinkat(S->dir, "n/m", AT_REMOVEDIR));
	BOTH(unlinkat(S->dir, "n", AT_REMOVEDIR));
	BOTH(unlinkat(S->dir, "a", AT_REMOVEDIR));
	BOTH(unlinkat(S->dir, "missing", AT_REMOVEDIR));
	BOTH(unlinkat(S->dir, "d", 0));
	diff_tree();
}

Test(ops, create_open_flags)
{
	OPEN(0, openat(S->dir, "c", O_RDWR | O_CREAT | O_EXCL, 0640));
	OPEN(1, openat(S->dir, "c", O_RDWR | O_CREAT | O_EXCL, 0640));
	OPEN(1, openat(S->dir, "a", O_WRONLY | O_TRUNC));
	diff_fstat(1);
	OPEN(2, openat(S->dir, "d", O_WRONLY));
	OPEN(2, openat(S->dir, "d", O_RDONLY | O_DIRECTORY));
	OPEN(2, openat(S->dir, "a", O_RDONLY | O_DIRECTORY));
	OPEN(2, openat(S->dir, "lnk", O_RDONLY | O_NOFOLLOW));
	OPEN(2, openat(S->dir, "lnk", O_RDONLY));
	diff_pread(2, 0, 100);
	OPEN(2, openat(S->dir, "missing", O_RDONLY));
	OPEN(2, openat(S->dir, "missing/x", O_RDONLY | O_CREAT, 0600));
	OPEN(2, openat(S->dir, "d/new", O_WRONLY | O_CREAT, 0777));
	OPEN(2, openat(S->dir, "dangle", O_WRONLY | O_CREAT, 0600));
	OPEN(3, openat(S->dir, "d/x", O_RDONLY | O_CREAT, 0600));
	diff_pread(3, 0, 100);
	diff_tree();
}

Test(ops, read_write_append_trunc)
{
	char buf[70000];

	diff_pattern(buf, sizeof(buf), 7);
	OPEN(0, openat(S->dir, "a", O_RDWR));
	BOTH(pwrite(S->fd[0], buf, 5000, 3000));
	BOTH(pwrite(S->fd[0], buf, sizeof(buf), 20000));
	BOTH(write(S->fd[0], buf, 100));
	BOTH(lseek(S->fd[0], 0, SEEK_CUR));
	diff_pread(0, 0, 100000);
	diff_pread(0, 89000, 2000);
	diff_pread(0, 1 << 30, 10);
	diff_fstat(0);
	OPEN(1, openat(S->dir, "a", O_WRONLY | O_APPEND));
	BOTH(write(S->fd[1], "tail", 4));
	BOTH(pwrite(S->fd[1], "more", 4, 0));
	BOTH(lseek(S->fd[1], 0, SEEK_CUR));
	diff_fstat(1);
	OPEN(2, openat(S->dir, "a", O_RDONLY));
	BOTH(write(S->fd[2], "x", 1));
	BOTH(read(S->fd[1], buf, 10));
	OPEN(3, openat(S->dir, "a", O_RDWR | O_TRUNC));
	diff_fstat(3);
	diff_pread(2, 0, 100);
	OPEN(4, openat(S->dir, "d", O_RDONLY));
	BOTH(read(S->fd[4], buf, 10));
	diff_tree();
}

Test(ops, setattr)
{
	struct timespec ts[2] = { { 1000000000, 123456789 }, { 1200000000, 5 } };
	struct stat st[2];

	BOTH(fchmodat(S->dir, "a", 0600, 0));
	BOTH(fchmodat(S->dir, "a", 07777, 0));
	BOTH(fchownat(S->dir, "a", 123, 456, 0));
	BOTH(fchownat(S->dir, "lnk", 7, 8, AT_SYMLINK_NOFOLLOW));
	BOTH(fchownat(S->dir, "missing", 7, 8, 0));
	OPEN(0, openat(S->dir, "sparse", O_RDWR));
	BOTH(ftruncate(S->fd[0], 100));
	BOTH(ftruncate(S->fd[0], 3 << 20));
	BOTH(ftruncate(S->fd[0], -1));
	diff_fstat(0);
	OPEN(1, openat(S->dir, "ro", O_RDONLY));
	BOTH(ftruncate(S->fd[1], 0));
	BOTH(utimensat(S->dir, "d/x", ts, 0));
	for (int i = 0; i < 2; i++)
		cr_assert_eq(fstatat(D.s[i].dir, "d/x", &st[i], 0), 0);
	cr_assert_eq(st[0].st_mtim.tv_sec, st[1].st_mtim.tv_sec);
	cr_assert_eq(st[0].st_mtim.tv_nsec, st[1].st_mtim.tv_nsec);
	cr_assert_eq(st[0].st_atim.tv_sec, st[1].st_atim.tv_sec);
	cr_assert_eq(st[0].st_atim.tv_nsec, st[1].st_atim.tv_nsec);
	BOTH(utimensat(S->dir, "lnk", ts, AT_SYMLINK_NOFOLLOW));
	BOTH(utimensat(S->dir, "d/x", NULL, 0));
	diff_tree();
}

Test(ops, mknod_fifo_socket_device)
{
	BOTH(mknodat(S->dir, "fifo", S_IFIFO | 0640, 0));
	BOTH(mknodat(S->dir, "fifo", S_IFIFO | 0640, 0));
	BOTH(mknodat(S->dir, "sock", S_IFSOCK | 0600, 0));
	BOTH(mknodat(S->dir, "reg", S_IFREG | 0600, 0));
	BOTH(mknodat(S->dir, "chr", S_IFCHR | 0600, makedev(1, 3)));
	BOTH(mkfifoat(S->dir, "d/fifo2", 0600));
	diff_tree();
}

Test(ops, bind_unix_socket)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	for (int i = 0; i < 2; i++) {
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sk",
			 D.s[i].root);
		cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0,
			     "%s: bind: %s", D.s[i].name, strerror(errno));
		close(s);
	}
	diff_stat("sk", AT_SYMLINK_NOFOLLOW);
	diff_tree();
}

Test(ops, unlink_and_link)
{
	BOTH(unlinkat(S->dir, "a", 0));
	BOTH(unlinkat(S->dir, "a", 0));
	BOTH(unlinkat(S->dir, "d", 0));
	BOTH(unlinkat(S->dir, "lnk", 0));
	BOTH(linkat(S->dir, "sparse", S->dir, "d/hard", 0));
	BOTH(linkat(S->dir, "sparse", S->dir, "d/hard", 0));
	BOTH(linkat(S->dir, "d", S->dir, "dirlink", 0));
	BOTH(linkat(S->dir, "missing", S->dir, "x", 0));
	/* A hard link to a symlink (the link itself, not its target). */
	BOTH(linkat(S->dir, "dangle", S->dir, "dangle2", 0));
	diff_stat("sparse", 0);
	diff_stat("dangle", AT_SYMLINK_NOFOLLOW);
	BOTH(unlinkat(S->dir, "sparse", 0));
	diff_stat("d/hard", 0);
	diff_tree();
}

Test(ops, unlinked_but_open)
{
	OPEN(0, openat(S->dir, "a", O_RDWR));
	BOTH(unlinkat(S->dir, "a", 0));
	BOTH(pwrite(S->fd[0], "zz", 2, 5));
	diff_pread(0, 0, 20000);
	diff_fstat(0);
	diff_tree();
}

Test(ops, rename_and_rename2)
{
	BOTH(renameat(S->dir, "a", S->dir, "b"));
	BOTH(renameat(S->dir, "a", S->dir, "b"));
	BOTH(renameat(S->dir, "b", S->dir, "d/x"));
	BOTH(renameat(S->dir, "d", S->dir, "pub"));
	BOTH(renameat(S->dir, "d", S->dir, "d/e/f"));
	BOTH(renameat(S->dir, "d/e", S->dir, "e"));
	BOTH(renameat(S->dir, "sparse", S->dir, "e"));
	BOTH(renameat2(S->dir, "ro", S->dir, "other", RENAME_NOREPLACE));
	BOTH(renameat2(S->dir, "ro", S->dir, "ro2", RENAME_NOREPLACE));
	BOTH(renameat2(S->dir, "ro2", S->dir, "other", RENAME_EXCHANGE));
	BOTH(renameat2(S->dir, "ro2", S->dir, "nothere", RENAME_EXCHANGE));
	BOTH(renameat2(S->dir, "e", S->dir, "d", RENAME_EXCHANGE));
	BOTH(renameat2(S->dir, "lnk", S->dir, "dangle",
		       RENAME_EXCHANGE | RENAME_NOREPLACE));
	BOTH(renameat2(S->dir, "lnk", S->dir, "lnk3", 0x100));
	diff_tree();
}

Test(ops, readdir)
{
	char name[64];

	diff_listdir(".");
	diff_listdir("d");
	diff_listdir("a");
	diff_listdir("missing");
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "pub/entry-with-a-long-name-%04d", i);
		BOTH(mknodat(S->dir, name, S_IFREG | 0644, 0));
	}
	diff_listdir("pub");
	diff_tree();
}

Test(ops, fsync_flush_syncfs_statfs)
{
	struct statvfs sv[2];

	OPEN(0, openat(S->dir, "a", O_RDWR));
	BOTH(fsync(S->fd[0]));
	BOTH(fdatasync(S->fd[0]));
	BOTH(syncfs(S->fd[0]));
	OPEN(1, openat(S->dir, "d", O_RDONLY | O_DIRECTORY));
	BOTH(fsync(S->fd[1]));
	BOTH(fdatasync(S->fd[1]));
	OPEN(2, dup(S->fd[0]));
	diff_close(2);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(fstatvfs(D.s[i].fd[0], &sv[i]), 0);
	/* Same filesystem underneath: the same geometry. */
	cr_assert_eq(sv[0].f_blocks, sv[1].f_blocks);
	cr_assert_eq(sv[0].f_files, sv[1].f_files);
	cr_assert_eq(sv[0].f_namemax, sv[1].f_namemax);
}

Test(ops, fallocate_and_punch_hole)
{
	OPEN(0, openat(S->dir, "sparse", O_RDWR));
	BOTH(fallocate(S->fd[0], 0, 0, 8192));
	BOTH(fallocate(S->fd[0], FALLOC_FL_KEEP_SIZE, 1 << 20, 1 << 20));
	diff_fstat(0);
	BOTH(fallocate(S->fd[0], 0, 2 << 20, 4096));
	diff_fstat(0);
	BOTH(fallocate(S->fd[0], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		       4096, 8192));
	BOTH(fallocate(S->fd[0], FALLOC_FL_PUNCH_HOLE, 0, 4096));
	BOTH(fallocate(S->fd[0], FALLOC_FL_ZERO_RANGE, 100, 200));
	BOTH(fallocate(S->fd[0], 0, 0, 0));
	BOTH(fallocate(S->fd[0], 0, -1, 10));
	diff_fstat(0);
	diff_pread(0, 0, 1 << 20);
	OPEN(1, openat(S->dir, "a", O_RDONLY));
	BOTH(fallocate(S->fd[1], 0, 0, 4096));
	diff_tree();
}

Test(ops, lseek_data_hole)
{
	OPEN(0, openat(S->dir, "sparse", O_RDWR));
	for (off_t off = 0; off < (2 << 20); off += 100 << 10) {
		BOTH(lseek(S->fd[0], off, SEEK_DATA));
		BOTH(lseek(S->fd[0], off, SEEK_HOLE));
	}
	BOTH(lseek(S->fd[0], 0, SEEK_END));
	BOTH(lseek(S->fd[0], -5, SEEK_END));
	BOTH(lseek(S->fd[0], -5, SEEK_SET));
	BOTH(lseek(S->fd[0], 1 << 20, SEEK_DATA));
	BOTH(lseek(S->fd[0], 10, 99));
	BOTH(fallocate(S->fd[0], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		       0, 4096));
	BOTH(lseek(S->fd[0], 0, SEEK_DATA));
	BOTH(lseek(S->fd[0], 0, SEEK_HOLE));
}

/* Offsets by value: copy_file_range advances them, and each side must
 * start from the same ones (-1: use and advance the file position). */
static ssize_t cfr(int fdin, loff_t in, int fdout, loff_t out, size_t len,
		   unsigned int flags)
{
	return copy_file_range(fdin, in < 0 ? NULL : &in, fdout,
			       out < 0 ? NULL : &out, len, flags);
}

Test(ops, copy_file_range)
{
	OPEN(0, openat(S->dir, "a", O_RDONLY));
	OPEN(1, openat(S->dir, "n", O_RDWR | O_CREAT, 0644));
	BOTH(cfr(S->fd[0], -1, S->fd[1], -1, 4000, 0));
	BOTH(cfr(S->fd[0], 100, S->fd[1], 50, 6000, 0));
	BOTH(cfr(S->fd[0], 9000, S->fd[1], 0, 6000, 0));
	BOTH(cfr(S->fd[0], 20000, S->fd[1], 0, 10, 0));
	BOTH(cfr(S->fd[0], 0, S->fd[1], 1 << 20, 5000, 0));
	BOTH(cfr(S->fd[1], -1, S->fd[0], -1, 10, 0));
	BOTH(cfr(S->fd[0], -1, S->fd[1], -1, 10, 1));
	BOTH(lseek(S->fd[0], 0, SEEK_CUR));
	BOTH(lseek(S->fd[1], 0, SEEK_CUR));
	diff_fstat(1);
	diff_pread(1, 0, 20000);
	diff_tree();
}

Test(ops, many_open_files)
{
	char name[32];

	for (int k = 0; k < DIFF_FDS; k++) {
		snprintf(name, sizeof(name), "pub/f%d", k);
		OPEN(k, openat(S->dir, name, O_RDWR | O_CREAT, 0600));
		BOTH(pwrite(S->fd[k], name, strlen(name), k * 1000));
	}
	for (int k = 0; k < DIFF_FDS; k++)
		diff_pread(k, 0, 100000);
	diff_tree();
}
