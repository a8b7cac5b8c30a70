// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What each --cache mode means to a user of the mount, shown through the
 * host kernel's FUSE client: a change made on the host (in the shared
 * directory, bypassing the mount) is seen at once with cache=never, seen on
 * re-open with auto, not seen with always while the guest's caches hold it
 * (until they are dropped), and with metadata the attributes are cached but
 * the data is not.  Also --writeback (data lands on the host by fsync and
 * close), O_DIRECT with and without --allow-direct-io, O_APPEND from two
 * processes at once, and shared mmap of direct-I/O files (--allow-mmap; the
 * host kernel must speak FUSE 7.39, Linux 6.6+).
 *
 * No test depends on timing for pass/fail: "not seen" is asserted only
 * where the timeout is a day (always, metadata); "seen after the 1 s
 * timeout" (auto) polls with a bounded wait.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "diff.h"

#define POLL_LIMIT_MS 5000

static char *mnt(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", D.mnt, name);
	return buf;
}

static char *host(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", D.shared, name);
	return buf;
}

/* Change a file on the host, behind the mount's back. */
static void host_pwrite(const char *name, const void *buf, size_t len,
			off_t off)
{
	char p[4200];
	int fd = open(host(p, sizeof(p), name), O_WRONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0, "%s: %s", p, strerror(errno));
	cr_assert_eq(pwrite(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

static void host_create(const char *name)
{
	char p[4200];
	int fd = open(host(p, sizeof(p), name),
		      O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	cr_assert_geq(fd, 0, "%s: %s", p, strerror(errno));
	close(fd);
}

static void host_unlink(const char *name)
{
	char p[4200];

	cr_assert_eq(unlink(host(p, sizeof(p), name)), 0, "%s: %s", p,
		     strerror(errno));
}

static int mnt_stat(const char *name, struct stat *st)
{
	char p[4200];
	struct stat dummy;

	return stat(mnt(p, sizeof(p), name), st ? st : &dummy) == 0 ? 0 : -errno;
}

static int mnt_open(const char *name, int flags)
{
	char p[4200];
	int fd = open(mnt(p, sizeof(p), name), flags | O_CLOEXEC);

	cr_assert_geq(fd, 0, "%s: %s", p, strerror(errno));
	return fd;
}

static void read_at(int fd, off_t off, char *buf, size_t len)
{
	cr_assert_eq(pread(fd, buf, len, off), (ssize_t)len, "pread: %s",
		     strerror(errno));
}

static bool dir_lists(const char *name, const char *entry)
{
	char p[4200];
	DIR *d = opendir(mnt(p, sizeof(p), name));
	struct dirent *de;
	bool found = false;

	cr_assert(d, "%s: %s", p, strerror(errno));
	while ((de = readdir(d)))
		found |= strcmp(de->d_name, entry) == 0;
	closedir(d);
	return found;
}

/* Drop the host kernel's unused dentries and inodes (the "guest" caches of
 * a --mount: names, attributes, and the pages of evicted inodes), as a user
 * would with drop_caches.  "2", not "3": the machine's page cache is left
 * alone. */
static void drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0, "drop_caches: %s", strerror(errno));
	cr_assert_eq(write(fd, "2", 1), 1);
	close(fd);
}

static long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- cache=never: the host's changes are visible at once --------------- */

TestSuite(cache_never, .init = diff_setup, .fini = diff_teardown,
	  .timeout = 60);

Test(cache_never, host_changes_are_seen_at_once)
{
	char buf[8];
	struct stat st;
	int fd = mnt_open("a", O_RDONLY);

	read_at(fd, 0, buf, 4);                  /* would fill a page cache */
	host_pwrite("a", "HOST", 4, 0);
	read_at(fd, 0, buf, 4);
	cr_assert(memcmp(buf, "HOST", 4) == 0, "stale data through an open fd");

	host_pwrite("a", "tail", 4, 10000);      /* grows to 10004 */
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(st.st_size, 10004, "fstat size %lld", (long long)st.st_size);
	cr_assert_eq(mnt_stat("a", &st), 0);
	cr_assert_eq(st.st_size, 10004);
	read_at(fd, 10000, buf, 4);
	cr_assert(memcmp(buf, "tail", 4) == 0);
	close(fd);

	/* Names: no negative entry is kept, a removed name goes at once. */
	cr_assert_eq(mnt_stat("late", NULL), -ENOENT);
	host_create("late");
	cr_assert_eq(mnt_stat("late", NULL), 0);
	cr_assert(dir_lists(".", "late"));
	cr_assert_eq(mnt_stat("d/x", NULL), 0);
	host_unlink("d/x");
	cr_assert_eq(mnt_stat("d/x", NULL), -ENOENT);
	cr_assert_not(dir_lists("d", "x"));
}

/* ---- cache=always: cached data and entries outlive host changes -------- */

static void setup_always(void)
{
	static const char *const opts[] = { "--cache=always", NULL };

	diff_setup_opts(opts);
}

TestSuite(cache_always, .init = setup_always, .fini = diff_teardown,
	  .timeout = 60);

Test(cache_always, cached_pages_hide_host_writes_until_dropped)
{
	char buf[8];
	int fd = mnt_open("a", O_RDONLY);

	read_at(fd, 0, buf, 4);                  /* page now cached */
	host_pwrite("a", "HOST", 4, 0);          /* same size */
	read_at(fd, 0, buf, 4);
	cr_assert(memcmp(buf, "HOST", 4) != 0,
		  "cache=always: a cached page was not used (read the host)");
	close(fd);
	/* FOPEN_KEEP_CACHE: re-opening keeps the pages too. */
	fd = mnt_open("a", O_RDONLY);
	read_at(fd, 0, buf, 4);
	cr_assert(memcmp(buf, "HOST", 4) != 0,
		  "cache=always: re-open dropped the page cache");
	/* Once the guest's cache is dropped, the host's data shows. */
	cr_assert_eq(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	read_at(fd, 0, buf, 4);
	cr_assert(memcmp(buf, "HOST", 4) == 0, "still stale after DONTNEED");
	close(fd);
}

Test(cache_always, cached_entries_and_attrs_until_dropped)
{
	struct stat st;

	cr_assert_eq(mnt_stat("late", NULL), -ENOENT);  /* negative entry */
	cr_assert_eq(mnt_stat("d/x", &st), 0);
	cr_assert_eq(st.st_size, 6);
	cr_assert_eq(mnt_stat("a", &st), 0);
	host_create("late");
	host_unlink("d/x");
	host_pwrite("a", "grow", 4, 20000);
	cr_assert_eq(mnt_stat("a", &st), 0);
	cr_assert_eq(st.st_size, 10000, "attributes not cached: size %lld",
		     (long long)st.st_size);
	cr_assert_eq(mnt_stat("late", NULL), -ENOENT,
		     "negative entry not cached");
	cr_assert_eq(mnt_stat("d/x", &st), 0, "entry not cached");

	drop_caches();
	cr_assert_eq(mnt_stat("late", NULL), 0);
	cr_assert_eq(mnt_stat("d/x", NULL), -ENOENT);
	cr_assert_eq(mnt_stat("a", &st), 0);
	cr_assert_eq(st.st_size, 20004);
}

Test(cache_always, own_changes_are_seen_at_once)
{
	char p[4200], buf[8];
	struct stat st;
	int fd;

	/* What goes through the mount updates the caches: no staleness. */
	fd = mnt_open("a", O_RDWR);
	read_at(fd, 0, buf, 4);
	cr_assert_eq(pwrite(fd, "MINE", 4, 0), 4);
	read_at(fd, 0, buf, 4);
	cr_assert(memcmp(buf, "MINE", 4) == 0);
	close(fd);
	cr_assert_eq(mnt_stat("late", NULL), -ENOENT);
	fd = open(mnt(p, sizeof(p), "late"), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(mnt_stat("late", &st), 0);
	cr_assert_eq(unlink(p), 0);
	cr_assert_eq(mnt_stat("late", NULL), -ENOENT);
	/* and the host has the data. */
	fd = open(host(p, sizeof(p), "a"), O_RDONLY | O_CLOEXEC);
	read_at(fd, 0, buf, 4);
	cr_assert(memcmp(buf, "MINE", 4) == 0);
	close(fd);
}

/* ---- cache=auto: close-to-open, 1 s for names and attributes ----------- */

static void setup_auto(void)
{
	static const char *const opts[] = { "--cache=auto", NULL };

	diff_setup_opts(opts);
}

TestSuite(cache_auto, .init = setup_auto, .fini = diff_teardown,
	  .timeout = 60);

Test(cache_auto, reopen_sees_host_writes)
{
	char buf[8];
	int fd = mnt_open("a", O_RDONLY);

	read_at(fd, 0, buf, 4);
	close(fd);
	host_pwrite("a", "HOST", 4, 0);
	/* No FOPEN_KEEP_CACHE: an open drops the cached pages. */
	fd = mnt_open("a", O_RDONLY);
	read_at(fd, 0, buf, 4);
	cr_assert(memcmp(buf, "HOST", 4) == 0, "re-open kept stale pages");
	close(fd);
}

Test(cache_auto, names_and_sizes_show_after_the_timeout)
{
	struct stat st;
	long deadline;

	cr_assert_eq(mnt_stat("late", NULL), -ENOENT);
	cr_assert_eq(mnt_stat("a", &st), 0);
	host_create("late");
	host_pwrite("a", "grow", 4, 20000);
	deadline = ms_now() + POLL_LIMIT_MS;
	while (mnt_stat("late", NULL) != 0 && ms_now() < deadline)
		usleep(50000);
	cr_assert_eq(mnt_stat("late", NULL), 0,
		     "a host-created name did not show within %d ms",
		     POLL_LIMIT_MS);
	while (mnt_stat("a", &st) == 0 && st.st_size != 20004 &&
	       ms_now() < deadline)
		usleep(50000);
	cr_assert_eq(st.st_size, 20004);
}

/* ---- cache=metadata: attributes cached, data never --------------------- */

static void setup_metadata(void)
{
	static const char *const opts[] = { "--cache=metadata", NULL };

	diff_setup_opts(opts);
}

TestSuite(cache_metadata, .init = setup_metadata, .fini = diff_teardown,
	  .timeout = 60);

Test(cache_metadata, data_fresh_attributes_cached)
{
	char buf[8];
	struct stat st;
	int fd = mnt_open("a", O_RDONLY);

	read_at(fd, 0, buf, 4);
	cr_assert_eq(mnt_stat("a", &st), 0);
	host_pwrite("a", "HOST", 4, 0);
	host_pwrite("a", "grow", 4, 20000);
	cr_assert_eq(mnt_stat("a", &st), 0);
	cr_assert_eq(st.st_size, 10000, "metadata: attributes not cached");
	/* (A read marks atime stale, so stat is asked before it.) */
	read_at(fd, 0, buf, 4);
	cr_assert(memcmp(buf, "HOST", 4) == 0, "metadata: data was cached");
	close(fd);
	drop_caches();
	cr_assert_eq(mnt_stat("a", &st), 0);
	cr_assert_eq(st.st_size, 20004);
}

/* ---- --writeback: the guest's dirty pages reach the host --------------- */

static void setup_writeback(void)
{
	static const char *const opts[] = { "--cache=auto", "--writeback",
					    NULL };

	diff_setup_opts(opts);
}

TestSuite(writeback, .init = setup_writeback, .fini = diff_teardown,
	  .timeout = 60);

/* The file on the host (the shared directory, not the mount) equals the
 * native one. */
static void host_file_matches_native(const char *name)
{
	static char a[1 << 17], b[1 << 17];
	char p[4200];
	ssize_t na, nb;
	int fa, fb;

	fa = openat(D.s[0].dir, name, O_RDONLY | O_CLOEXEC);
	fb = open(host(p, sizeof(p), name), O_RDONLY | O_CLOEXEC);
	cr_assert(fa >= 0 && fb >= 0);
	na = pread(fa, a, sizeof(a), 0);
	nb = pread(fb, b, sizeof(b), 0);
	close(fa);
	close(fb);
	D.ops++;
	cr_assert_eq(na, nb, "%s on the host: %zd bytes, native %zd", name,
		     nb, na);
	cr_assert(memcmp(a, b, (size_t)na) == 0, "%s: host data differs", name);
}

Test(writeback, writes_land_on_the_host_by_fsync_and_close)
{
	char buf[9000];

	diff_pattern(buf, sizeof(buf), 3);
	/* O_WRONLY: the daemon must still read around partial pages. */
	OPEN(0, openat(S->dir, "a", O_WRONLY));
	BOTH(pwrite(S->fd[0], buf, 100, 5));
	BOTH(pwrite(S->fd[0], buf, 9000, 9999));
	BOTH(fsync(S->fd[0]));
	host_file_matches_native("a");
	BOTH(pwrite(S->fd[0], "end", 3, 30000));
	diff_close(0);
	host_file_matches_native("a");
	/* O_APPEND: the guest supplies the offsets under writeback. */
	OPEN(1, openat(S->dir, "d/x", O_WRONLY | O_APPEND));
	BOTH(write(S->fd[1], buf, 5000));
	BOTH(write(S->fd[1], "!", 1));
	diff_close(1);
	host_file_matches_native("d/x");
	OPEN(2, openat(S->dir, "new", O_RDWR | O_CREAT | O_TRUNC, 0644));
	BOTH(write(S->fd[2], buf, 4097));
	BOTH(ftruncate(S->fd[2], 100));
	BOTH(write(S->fd[2], buf, 10));
	/* O_TRUNC by another open while dirty pages wait: they must not
	 * come back after the truncation. */
	BOTH(pwrite(S->fd[2], buf, 3000, 5000));
	OPEN(3, openat(S->dir, "new", O_WRONLY | O_TRUNC));
	BOTH(write(S->fd[3], "short", 5));
	diff_close(3);
	diff_fstat(2);
	diff_close(2);
	host_file_matches_native("new");
	diff_tree();
}

/* ---- O_DIRECT ---------------------------------------------------------- */

/* Does the daemon hold `name` open with O_DIRECT?  1, 0, or -1 when it
 * does not hold it open at all. */
static int daemon_fd_direct(const char *name)
{
	char dirp[64], linkp[400], target[4200], infop[400], line[256];
	struct dirent *de;
	DIR *dir;
	size_t nl = strlen(name);
	int found = -1;

	snprintf(dirp, sizeof(dirp), "/proc/%d/fd", (int)D.vfsd);
	dir = opendir(dirp);
	cr_assert(dir, "%s: %s", dirp, strerror(errno));
	while ((de = readdir(dir)) && found < 1) {
		ssize_t n;
		FILE *f;

		snprintf(linkp, sizeof(linkp), "%s/%s", dirp, de->d_name);
		n = readlink(linkp, target, sizeof(target) - 1);
		if (n <= (ssize_t)nl)
			continue;
		target[n] = '\0';
		if (strcmp(target + n - nl, name) != 0 || target[n - nl - 1] != '/')
			continue;
		snprintf(infop, sizeof(infop), "/proc/%d/fdinfo/%s",
			 (int)D.vfsd, de->d_name);
		f = fopen(infop, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			unsigned long fl;

			/* O_PATH node fds do not count: data fds only. */
			if (sscanf(line, "flags: %lo", &fl) == 1 &&
			    !(fl & O_PATH))
				found = (fl & O_DIRECT) ? 1 : (found < 0 ? 0 : found);
		}
		fclose(f);
	}
	closedir(dir);
	return found;
}

static void *aligned_buf(size_t len)
{
	void *p = NULL;

	cr_assert_eq(posix_memalign(&p, 4096, len), 0);
	memset(p, 'z', len);
	return p;
}

Test(cache_never, o_direct_stripped_without_allow_direct_io)
{
	char *buf = aligned_buf(8192);
	int fd = mnt_open("a", O_RDWR | O_DIRECT);

	cr_assert_eq(daemon_fd_direct("a"), 0,
		     "O_DIRECT reached the host without --allow-direct-io");
	cr_assert_eq(pwrite(fd, buf, 4096, 0), 4096);
	cr_assert_eq(pread(fd, buf, 4096, 4096), 4096);
	/* virtiofsd semantics: the host file is buffered, so even an
	 * unaligned O_DIRECT write works (a local ext4 says EINVAL). */
	cr_assert_eq(pwrite(fd, buf + 1, 100, 3), 100);
	close(fd);
	free(buf);
}

static void setup_direct(void)
{
	static const char *const opts[] = { "--cache=never",
					    "--allow-direct-io", NULL };

	diff_setup_opts(opts);
}

TestSuite(direct_io, .init = setup_direct, .fini = diff_teardown,
	  .timeout = 60);

Test(direct_io, o_direct_reaches_the_host)
{
	char *buf = aligned_buf(8192);

	OPEN(0, openat(S->dir, "a", O_RDWR | O_DIRECT));
	cr_assert_eq(daemon_fd_direct("a"), 1,
		     "--allow-direct-io: the daemon's fd lacks O_DIRECT");
	/* Misaligned offset or length: the host file system refuses, like
	 * the native one. */
	BOTH(pwrite(S->fd[0], buf, 100, 3));
	BOTH(pread(S->fd[0], buf, 100, 3));
	diff_close(0);
	/* A buffered open of the same file stays buffered. */
	OPEN(1, openat(S->dir, "a", O_RDONLY));
	cr_assert_eq(daemon_fd_direct("a"), 0);
	diff_close(1);
	diff_tree();
	free(buf);
}

Test(direct_io, aligned_o_direct_io_works)
{
	char *buf = aligned_buf(8192);

	OPEN(0, openat(S->dir, "a", O_RDWR | O_DIRECT));
	BOTH(pwrite(S->fd[0], buf, 4096, 0));
	BOTH(pwrite(S->fd[0], buf, 8192, 8192));
	BOTH(pread(S->fd[0], buf, 4096, 4096));
	diff_close(0);
	diff_read_file("a");
	diff_tree();
	free(buf);
}

/* ---- O_APPEND from two processes at once ------------------------------- */

#define APPENDERS 2
#define RECORDS 300
#define RECLEN 64

/* Each child appends RECORDS records "<child><seq>...\n" of RECLEN bytes. */
static void append_concurrently(const char *path)
{
	pid_t pid[APPENDERS];
	int status;

	for (int c = 0; c < APPENDERS; c++) {
		pid[c] = fork();
		cr_assert_geq(pid[c], 0);
		if (pid[c] == 0) {
			char rec[RECLEN];
			int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);

			if (fd < 0)
				_exit(2);
			for (int i = 0; i < RECORDS; i++) {
				memset(rec, 'a' + c, sizeof(rec));
				snprintf(rec, sizeof(rec), "%c%05d", 'A' + c, i);
				rec[6] = 'a' + c;
				rec[RECLEN - 1] = '\n';
				if (write(fd, rec, sizeof(rec)) != RECLEN)
					_exit(3);
			}
			close(fd);
			_exit(0);
		}
	}
	for (int c = 0; c < APPENDERS; c++) {
		cr_assert_eq(waitpid(pid[c], &status, 0), pid[c]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "appender %d: status 0x%x", c, status);
	}
}

/* Every record whole, each child's records in order, none lost. */
static void check_records(const char *path)
{
	static char data[APPENDERS * RECORDS * RECLEN + 1];
	int next[APPENDERS] = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	cr_assert_geq(fd, 0);
	n = read(fd, data, sizeof(data));
	close(fd);
	cr_assert_eq(n, APPENDERS * RECORDS * RECLEN, "%s: %zd bytes", path, n);
	for (ssize_t off = 0; off < n; off += RECLEN) {
		const char *r = data + off;
		int c = r[0] - 'A', seq;

		cr_assert(c >= 0 && c < APPENDERS, "%s: torn record at %zd",
			  path, off);
		cr_assert_eq(sscanf(r + 1, "%05d", &seq), 1);
		cr_assert_eq(seq, next[c], "%s: child %d record %d at %zd, want %d",
			     path, c, seq, off, next[c]);
		next[c]++;
		for (int i = 6; i < RECLEN - 1; i++)
			cr_assert_eq(r[i], 'a' + c, "%s: torn record at %zd",
				     path, off);
		cr_assert_eq(r[RECLEN - 1], '\n');
	}
}

static void append_test(void)
{
	char native[4200], mounted[4200];

	BOTH(close(openat(S->dir, "log", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			  0644)));
	snprintf(native, sizeof(native), "%s/log", D.s[0].root);
	mnt(mounted, sizeof(mounted), "log");
	append_concurrently(native);
	append_concurrently(mounted);
	check_records(native);
	check_records(mounted);
	diff_stat("log", 0);
}

Test(cache_never, o_append_from_two_processes)
{
	append_test();
}

Test(writeback, o_append_from_two_processes)
{
	char p[4200];

	append_test();
	/* After close, the host holds every record too. */
	check_records(host(p, sizeof(p), "log"));
}

/* ---- --allow-mmap: shared mappings of direct-I/O files ----------------- */


/* Map `name` shared and writable through side s, write through the mapping,
 * msync: 0, or -1 with errno. */
static long mmap_shared_write(struct side *s, const char *name)
{
	int fd = openat(s->dir, name, O_RDWR | O_CLOEXEC);
	char *p;
	long r = 0;

	if (fd < 0)
		return -1;
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	memcpy(p + 100, "mapped", 6);
	if (msync(p, 8192, MS_SYNC) < 0)
		r = -1;
	munmap(p, 8192);
	close(fd);
	return r;
}

Test(cache_never, no_shared_mmap_without_allow_mmap)
{
	/* The kernel cannot keep a shared mapping coherent with direct I/O
	 * unless the server allows it. */
	errno = 0;
	cr_assert_eq(mmap_shared_write(&D.s[1], "a"), -1);
	cr_assert_eq(errno, ENODEV, "%s", strerror(errno));
}

static void setup_mmap(void)
{
	static const char *const opts[] = { "--cache=never", "--allow-mmap",
					    NULL };

	diff_setup_opts(opts);
}

TestSuite(allow_mmap, .init = setup_mmap, .fini = diff_teardown,
	  .timeout = 60);

Test(allow_mmap, shared_writable_mapping_reaches_the_host)
{
	char p[4200], buf[8];
	int fd;

	/* Needs a host kernel that speaks FUSE 7.39 (Linux 6.6+). */
	BOTH(mmap_shared_write(S, "a"));
	diff_read_file("a");
	fd = open(host(p, sizeof(p), "a"), O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	read_at(fd, 100, buf, 6);
	close(fd);
	cr_assert(memcmp(buf, "mapped", 6) == 0);
	diff_tree();
}
