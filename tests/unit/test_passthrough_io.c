// SPDX-License-Identifier: GPL-2.0-or-later
/* Passthrough filesystem: open files and data through the real uring API
 * (io_uring and the synchronous fallback), and the refusal to open anything
 * but regular files and directories. */
#include <pthread.h>
#include <sys/sysmacros.h>

#include "test_passthrough.h"
#include "vfsd/uring.h"

static struct uring *ring;

static void io_setup(void)
{
	pt_setup();
	cr_assert_eq(uring_new(&ring, 16), 0);
}

static void io_teardown(void)
{
	uring_free(ring);
	pt_teardown();
}

TestSuite(ptio, .init = io_setup, .fini = io_teardown);

struct result {
	struct uring_op op;
	int res;
	int calls;
};

static void record(struct uring_op *op, int res)
{
	struct result *r = (struct result *)op;

	r->res = res;
	r->calls++;
}

static void wait_done(struct result *r)
{
	for (int i = 0; i < 100 && r->calls == 0; i++)
		cr_assert_geq(uring_run(ring, true), 0);
	cr_assert_eq(r->calls, 1);
}

/* Synchronous read/write through pt_ops; returns res. */
static int do_read(uint64_t node, uint64_t fh, off_t off, void *buf,
		   size_t len)
{
	struct iovec iov = { buf, len };
	struct result r = { .op.complete = record };
	int s = pt_ops.read(pt, node, fh, off, &iov, 1, ring, &r.op);

	if (s < 0) {
		cr_assert_eq(r.calls, 0, "failed start must not complete");
		return s;
	}
	wait_done(&r);
	return r.res;
}

static int do_write(uint64_t node, uint64_t fh, off_t off, const char *data,
		    bool kill_priv)
{
	struct iovec iov = { (void *)data, strlen(data) };
	struct result r = { .op.complete = record };
	int s = pt_ops.write(pt, &root_ctx, node, fh, off, &iov, 1, kill_priv,
			     ring, &r.op);

	if (s < 0) {
		cr_assert_eq(r.calls, 0);
		return s;
	}
	wait_done(&r);
	return r.res;
}

static uint64_t open_ok(uint64_t node, int flags)
{
	uint64_t fh;
	uint32_t of;
	int r = pt_ops.open(pt, &root_ctx, node, flags, &fh, &of);

	cr_assert_eq(r, 0, "open: %d", r);
	return fh;
}

static uint64_t create_ok(const char *name, int flags, struct fs_entry *e)
{
	uint64_t fh;
	uint32_t of;
	int r = pt_ops.create(pt, &root_ctx, FS_ROOT_ID, name, 0644, flags, 0,
			      e, &fh, &of);

	cr_assert_eq(r, 0, "create %s: %d", name, r);
	return fh;
}

/* ---- data ---- */

static void roundtrip(void)
{
	struct fs_entry e;
	char buf[32] = { 0 }, host[32];
	uint64_t fh;

	fh = create_ok("f", O_RDWR, &e);
	cr_expect(S_ISREG(e.attr.st_mode));
	cr_expect_eq(pt_nlookup(pt, e.nodeid), 1);
	cr_assert_eq(do_write(e.nodeid, fh, 0, "hello world", false), 11);
	cr_assert_eq(do_write(e.nodeid, fh, 6, "WORLD", false), 5);
	cr_expect_eq(host_read("f", host, sizeof(host)), 11);
	cr_expect_str_eq(host, "hello WORLD");
	cr_assert_eq(do_read(e.nodeid, fh, 6, buf, sizeof(buf)), 5);
	cr_expect_str_eq(buf, "WORLD");
	/* Past the end: 0 bytes. */
	cr_expect_eq(do_read(e.nodeid, fh, 100, buf, sizeof(buf)), 0);
	cr_expect_eq(pt_ops.flush(pt, e.nodeid, fh), 0);
	cr_expect_eq(pt_ops.fsync(pt, e.nodeid, fh, true), 0);
	cr_expect_eq(pt_ops.fsync(pt, e.nodeid, fh, false), 0);
	cr_expect_eq(pt_ops.release(pt, e.nodeid, fh), 0);
	cr_expect_eq(pt_stats().handles, 0);
}

Test(ptio, create_write_read_roundtrip)
{
	roundtrip();
}

Test(ptio, create_write_read_roundtrip_fallback)
{
	uring_free(ring);
	uring_force_fallback(true);
	cr_assert_eq(uring_new(&ring, 16), 0);
	uring_force_fallback(false);
	roundtrip();
}

Test(ptio, read_scatters_into_several_iovecs)
{
	char a[3] = { 0 }, b[8] = { 0 };
	struct iovec iov[2] = { { a, 2 }, { b, 7 } };
	struct result r = { .op.complete = record };
	uint64_t f, fh;

	host_write("f", "abcdefgh");
	f = lookup_ok(FS_ROOT_ID, "f");
	fh = open_ok(f, O_RDONLY);
	cr_assert_eq(pt_ops.read(pt, f, fh, 1, iov, 2, ring, &r.op), 0);
	wait_done(&r);
	cr_expect_eq(r.res, 7);
	cr_expect_str_eq(a, "bc");
	cr_expect_str_eq(b, "defgh");
}

Test(ptio, read_bad_handle_or_offset_fails_without_completion)
{
	char buf[4];
	uint64_t f, g, fh;

	host_write("f", "abc");
	host_write("g", "xyz");
	f = lookup_ok(FS_ROOT_ID, "f");
	g = lookup_ok(FS_ROOT_ID, "g");
	fh = open_ok(f, O_RDONLY);
	cr_expect_eq(do_read(f, 999, 0, buf, 4), -EBADF);
	cr_expect_eq(do_read(g, fh, 0, buf, 4), -EBADF);  /* another node */
	cr_expect_eq(do_read(f, fh, -1, buf, 4), -EINVAL);
	cr_expect_eq(do_write(f, fh, -5, "x", false), -EINVAL);
	cr_expect_eq(pt_ops.release(pt, g, fh), -EBADF);
	cr_expect_eq(pt_ops.release(pt, f, fh), 0);
	cr_expect_eq(do_read(f, fh, 0, buf, 4), -EBADF);
	cr_expect_eq(pt_ops.release(pt, f, fh), -EBADF);
}

Test(ptio, write_on_read_only_handle_fails)
{
	uint64_t f, fh;

	host_write("f", "abc");
	f = lookup_ok(FS_ROOT_ID, "f");
	fh = open_ok(f, O_RDONLY);
	cr_expect_eq(do_write(f, fh, 0, "x", false), -EBADF);
}

Test(ptio, release_during_read_keeps_the_fd)
{
	struct iovec iov;
	struct result r = { .op.complete = record };
	char buf[16] = { 0 };
	uint64_t f, g, fh, fh2;

	if (!uring_is_async(ring))
		cr_skip_test("needs io_uring: the fallback completes inline");
	host_write("f", "first");
	host_write("g", "second");
	f = lookup_ok(FS_ROOT_ID, "f");
	g = lookup_ok(FS_ROOT_ID, "g");
	fh = open_ok(f, O_RDONLY);
	iov.iov_base = buf;
	iov.iov_len = sizeof(buf) - 1;
	cr_assert_eq(pt_ops.read(pt, f, fh, 0, &iov, 1, ring, &r.op), 0);
	/* A hostile release while the read may not even be submitted, then
	 * an open that would reuse the fd number if it had been closed. */
	cr_assert_eq(pt_ops.release(pt, f, fh), 0);
	fh2 = open_ok(g, O_RDONLY);
	wait_done(&r);
	cr_expect_eq(r.res, 5);
	cr_expect_str_eq(buf, "first");
	cr_expect_eq(pt_stats().handles, 1);
	cr_expect_eq(pt_ops.release(pt, g, fh2), 0);
}

Test(ptio, append_without_writeback_appends)
{
	uint64_t f, fh;
	char host[32];

	host_write("f", "abc");
	f = lookup_ok(FS_ROOT_ID, "f");
	fh = open_ok(f, O_WRONLY | O_APPEND);
	cr_assert_eq(do_write(f, fh, 0, "def", false), 3);
	host_read("f", host, sizeof(host));
	cr_expect_str_eq(host, "abcdef");
}

Test(ptio, writeback_drops_append_and_allows_reading_wronly)
{
	struct fs_init_info info = { .writeback_cache = true };
	char buf[8] = { 0 }, host[32];
	uint64_t f, fh;

	cr_assert_eq(pt_ops.init(pt, &info), 0);
	host_write("f", "abc");
	f = lookup_ok(FS_ROOT_ID, "f");
	fh = open_ok(f, O_WRONLY | O_APPEND);
	/* The guest page cache gives the offsets, and may read. */
	cr_assert_eq(do_write(f, fh, 1, "X", false), 1);
	host_read("f", host, sizeof(host));
	cr_expect_str_eq(host, "aXc");
	cr_expect_eq(do_read(f, fh, 0, buf, 3), 3);
	cr_expect_str_eq(buf, "aXc");
}

Test(ptio, without_writeback_wronly_cannot_read)
{
	char buf[8];
	uint64_t f, fh;

	host_write("f", "abc");
	f = lookup_ok(FS_ROOT_ID, "f");
	fh = open_ok(f, O_WRONLY);
	cr_expect_eq(do_read(f, fh, 0, buf, 3), -EBADF);
}

Test(ptio, open_ignores_creat_excl_and_nofollow)
{
	uint64_t f;
	char buf[8] = { 0 };

	host_write("f", "abc");
	f = lookup_ok(FS_ROOT_ID, "f");
	uint64_t fh = open_ok(f, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				 O_NOCTTY);

	cr_expect_eq(do_read(f, fh, 0, buf, 3), 3);
}

Test(ptio, open_trunc_truncates)
{
	uint64_t f;

	host_write("f", "abc");
	f = lookup_ok(FS_ROOT_ID, "f");
	open_ok(f, O_WRONLY | O_TRUNC);
	cr_expect_eq(host_lstat("f").st_size, 0);
}

Test(ptio, kill_priv_clears_setuid_and_group_exec_setgid)
{
	uint64_t f, g, fh;

	host_write("f", "abc");
	host_write("g", "abc");
	cr_assert_eq(chmod(hpath("f"), 06755), 0);
	cr_assert_eq(chmod(hpath("g"), 06644), 0);
	f = lookup_ok(FS_ROOT_ID, "f");
	g = lookup_ok(FS_ROOT_ID, "g");
	fh = open_ok(f, O_RDWR);
	cr_assert_eq(do_write(f, fh, 0, "x", false), 1);
	/* Root keeps the bits (CAP_FSETID) unless the guest asks. */
	if (geteuid() == 0)
		cr_expect_eq(host_lstat("f").st_mode & 07777, 06755);
	cr_assert_eq(do_write(f, fh, 0, "x", true), 1);
	cr_expect_eq(host_lstat("f").st_mode & 07777, 0755);
	/* Without group exec, setgid is mandatory locking: kept. */
	fh = open_ok(g, O_RDWR);
	cr_assert_eq(do_write(g, fh, 0, "x", true), 1);
	cr_expect_eq(host_lstat("g").st_mode & 07777, 02644);
}

/* ---- create ---- */

Test(ptio, create_existing_opens_unless_excl)
{
	struct fs_entry e, e2;
	uint64_t fh, f;
	uint32_t of;
	char buf[8] = { 0 };

	host_write("f", "abc");
	f = lookup_ok(FS_ROOT_ID, "f");
	fh = create_ok("f", O_RDWR, &e);
	cr_expect_eq(e.nodeid, f);
	cr_expect_eq(pt_nlookup(pt, f), 2);
	cr_expect_eq(do_read(f, fh, 0, buf, 3), 3);
	cr_expect_str_eq(buf, "abc");
	cr_expect_eq(pt_ops.create(pt, &root_ctx, FS_ROOT_ID, "f", 0644,
				   O_RDWR | O_EXCL, 0, &e2, &fh, &of), -EEXIST);
	cr_expect_eq(pt_nlookup(pt, f), 2);
}

Test(ptio, create_applies_umask)
{
	struct fs_entry e;
	uint64_t fh;
	uint32_t of;

	cr_assert_eq(pt_ops.create(pt, &root_ctx, FS_ROOT_ID, "f", 0666,
				   O_RDWR, 027, &e, &fh, &of), 0);
	cr_expect_eq(host_lstat("f").st_mode & 07777, 0640);
	cr_expect_eq(e.attr.st_mode & 07777, 0640);
}

Test(ptio, create_over_fifo_is_refused_without_blocking)
{
	struct fs_entry e;
	uint64_t fh;
	uint32_t of;

	cr_assert_eq(mkfifo(hpath("p"), 0666), 0);
	/* A plain O_CREAT open of a fifo would block forever here. */
	cr_expect_eq(pt_ops.create(pt, &root_ctx, FS_ROOT_ID, "p", 0644,
				   O_RDONLY, 0, &e, &fh, &of), -ENXIO);
	cr_expect_eq(pt_stats().nodes, 1);
	cr_expect_eq(pt_stats().handles, 0);
}

Test(ptio, create_through_dangling_symlink_creates_nothing_outside)
{
	char outside[PATH_MAX], target[PATH_MAX + 8];
	struct fs_entry e;
	uint64_t fh;
	uint32_t of;

	snprintf(outside, sizeof(outside), "%s-outside", pt_dir);
	unlink(outside);
	snprintf(target, sizeof(target), "%s", outside);
	cr_assert_eq(symlink(target, hpath("s")), 0);
	cr_expect_eq(pt_ops.create(pt, &root_ctx, FS_ROOT_ID, "s", 0644,
				   O_RDWR, 0, &e, &fh, &of), -ELOOP);
	cr_expect_eq(access(outside, F_OK), -1);
	unlink(outside);
	cr_expect_eq(pt_stats().nodes, 1);
}

Test(ptio, create_bad_names)
{
	struct fs_entry e;
	uint64_t fh;
	uint32_t of;

	cr_expect_eq(pt_ops.create(pt, &root_ctx, FS_ROOT_ID, "..", 0644,
				   O_RDWR, 0, &e, &fh, &of), -EINVAL);
	cr_expect_eq(pt_ops.create(pt, &root_ctx, FS_ROOT_ID, "a/b", 0644,
				   O_RDWR, 0, &e, &fh, &of), -EINVAL);
	cr_expect_eq(pt_ops.create(pt, &root_ctx, 5555, "a", 0644,
				   O_RDWR, 0, &e, &fh, &of), -EBADF);
}

/* ---- refusal to open special files (CVE-2020-35517) ---- */

Test(ptio, open_symlink_is_eloop_and_never_reads_target)
{
	uint64_t fh;
	uint32_t of;

	cr_assert_eq(symlink("/etc/passwd", hpath("l")), 0);
	cr_expect_eq(pt_ops.open(pt, &root_ctx, lookup_ok(FS_ROOT_ID, "l"),
				 O_RDONLY, &fh, &of), -ELOOP);
	cr_expect_eq(pt_stats().handles, 0);
}

Test(ptio, open_fifo_and_socket_refused)
{
	struct fs_entry e;
	uint64_t fh;
	uint32_t of;

	cr_assert_eq(pt_ops.mknod(pt, &root_ctx, FS_ROOT_ID, "p", S_IFIFO | 0666,
				  0, 0, &e), 0);
	cr_expect_eq(pt_ops.open(pt, &root_ctx, e.nodeid, O_RDONLY, &fh, &of),
		     -ENXIO);
	cr_expect_eq(pt_ops.open(pt, &root_ctx, e.nodeid, O_RDWR | O_NONBLOCK,
				 &fh, &of), -ENXIO);
	cr_assert_eq(pt_ops.mknod(pt, &root_ctx, FS_ROOT_ID, "s",
				  S_IFSOCK | 0666, 0, 0, &e), 0);
	cr_expect_eq(pt_ops.open(pt, &root_ctx, e.nodeid, O_RDONLY, &fh, &of),
		     -ENXIO);
	cr_expect_eq(pt_stats().handles, 0);
}

Test(ptio, open_device_node_refused)
{
	struct fs_entry e;
	struct fs_setattr in = { .valid = FS_SET_SIZE, .size = 0 };
	struct stat st;
	uint64_t fh;
	uint32_t of;

	if (geteuid() != 0)
		cr_skip_test("mknod of a device needs root");
	cr_assert_eq(pt_ops.mknod(pt, &root_ctx, FS_ROOT_ID, "null",
				  S_IFCHR | 0666, makedev(1, 3), 0, &e), 0);
	cr_expect(S_ISCHR(e.attr.st_mode));
	cr_expect_eq(pt_ops.open(pt, &root_ctx, e.nodeid, O_RDWR, &fh, &of),
		     -ENXIO);
	/* Nor through truncate, or create over it. */
	cr_expect_eq(pt_ops.setattr(pt, &root_ctx, e.nodeid, &in, &st), -EINVAL);
	cr_expect_eq(pt_ops.create(pt, &root_ctx, FS_ROOT_ID, "null", 0644,
				   O_RDWR, 0, &e, &fh, &of), -ENXIO);
	cr_expect_eq(pt_stats().handles, 0);
}

/* ---- limits ---- */

Test(ptio, handle_limit_is_emfile)
{
	struct pt_config cfg = { .max_handles = 2 };
	uint64_t f, fh;
	uint32_t of;

	pt_teardown();
	pt_setup_cfg(&cfg);
	host_write("f", "");
	f = lookup_ok(FS_ROOT_ID, "f");
	uint64_t a = open_ok(f, O_RDONLY);

	open_ok(f, O_RDONLY);
	cr_expect_eq(pt_ops.open(pt, &root_ctx, f, O_RDONLY, &fh, &of),
		     -EMFILE);
	cr_expect_eq(pt_ops.opendir(pt, &root_ctx, FS_ROOT_ID, 0, &fh),
		     -EMFILE);
	cr_assert_eq(pt_ops.release(pt, f, a), 0);
	open_ok(f, O_RDONLY);
}

Test(ptio, fh_values_are_not_fd_numbers_and_not_reused)
{
	uint64_t f, a, b;

	host_write("f", "");
	f = lookup_ok(FS_ROOT_ID, "f");
	a = open_ok(f, O_RDONLY);
	cr_assert_eq(pt_ops.release(pt, f, a), 0);
	b = open_ok(f, O_RDONLY);
	cr_expect_neq(a, b);
}

/* ---- other data operations ---- */

Test(ptio, fallocate_grows_file)
{
	uint64_t f, fh;

	host_write("f", "");
	f = lookup_ok(FS_ROOT_ID, "f");
	fh = open_ok(f, O_RDWR);
	cr_assert_eq(pt_ops.fallocate(pt, f, fh, 0, 0, 8192), 0);
	cr_expect_eq(host_lstat("f").st_size, 8192);
	cr_expect_eq(pt_ops.fallocate(pt, f, 777, 0, 0, 1), -EBADF);
}

Test(ptio, lseek_data_and_hole)
{
	struct fs_setattr in = { .valid = FS_SET_SIZE, .size = 1 << 20 };
	struct stat st;
	uint64_t f, fh;
	off_t out;

	host_write("f", "data");
	f = lookup_ok(FS_ROOT_ID, "f");
	fh = open_ok(f, O_RDWR);
	in.has_fh = true;
	in.fh = fh;
	cr_assert_eq(pt_ops.setattr(pt, &root_ctx, f, &in, &st), 0);
	cr_expect_eq(st.st_size, 1 << 20);
	cr_assert_eq(pt_ops.lseek(pt, f, fh, 0, SEEK_DATA, &out), 0);
	cr_expect_eq(out, 0);
	cr_assert_eq(pt_ops.lseek(pt, f, fh, 0, SEEK_HOLE, &out), 0);
	cr_expect_gt(out, 0);
	cr_expect_leq(out, 1 << 20);
	cr_assert_eq(pt_ops.lseek(pt, f, fh, 0, SEEK_END, &out), 0);
	cr_expect_eq(out, 1 << 20);
	cr_expect_eq(pt_ops.lseek(pt, f, fh, 0, SEEK_CUR, &out), -EINVAL);
	cr_expect_eq(pt_ops.lseek(pt, f, fh, 0, 99, &out), -EINVAL);
}

Test(ptio, copy_file_range_between_handles)
{
	uint64_t f, g, fa, fb;
	char host[32];

	host_write("f", "0123456789");
	host_write("g", "");
	f = lookup_ok(FS_ROOT_ID, "f");
	g = lookup_ok(FS_ROOT_ID, "g");
	fa = open_ok(f, O_RDONLY);
	fb = open_ok(g, O_WRONLY);
	cr_assert_eq(pt_ops.copy_file_range(pt, f, fa, 2, g, fb, 0, 5, 0), 5);
	host_read("g", host, sizeof(host));
	cr_expect_str_eq(host, "23456");
	cr_expect_eq(pt_ops.copy_file_range(pt, f, fa, 0, g, 999, 0, 5, 0),
		     -EBADF);
	cr_expect_eq(pt_ops.copy_file_range(pt, f, fa, -1, g, fb, 0, 5, 0),
		     -EINVAL);
}

Test(ptio, setattr_truncate_through_handle)
{
	struct fs_setattr in = { .valid = FS_SET_SIZE, .size = 1 };
	struct stat st;
	uint64_t f, fh;

	host_write("f", "abc");
	f = lookup_ok(FS_ROOT_ID, "f");
	fh = open_ok(f, O_RDWR);
	/* The open handle still truncates after the mode forbids writing. */
	cr_assert_eq(chmod(hpath("f"), 0444), 0);
	in.has_fh = true;
	in.fh = fh;
	cr_assert_eq(pt_ops.setattr(pt, &root_ctx, f, &in, &st), 0);
	cr_expect_eq(host_lstat("f").st_size, 1);
}

Test(ptio, destroy_closes_handles_and_io_still_completes)
{
	struct iovec iov;
	struct result r = { .op.complete = record };
	char buf[8] = { 0 };
	uint64_t f, fh;

	host_write("f", "abc");
	f = lookup_ok(FS_ROOT_ID, "f");
	fh = open_ok(f, O_RDONLY);
	iov.iov_base = buf;
	iov.iov_len = 3;
	cr_assert_eq(pt_ops.read(pt, f, fh, 0, &iov, 1, ring, &r.op), 0);
	pt_ops.destroy(pt);
	cr_expect_eq(pt_stats().handles, 0);
	wait_done(&r);
	cr_expect_eq(r.res, 3);
	cr_expect_str_eq(buf, "abc");
	cr_expect_eq(do_read(f, fh, 0, buf, 3), -EBADF);
}

/* ---- concurrency ---- */

#define IO_THREADS 4
#define IO_ROUNDS 300

static void *open_read_release_loop(void *arg)
{
	long id = (long)arg;
	struct uring *r;
	char name[8];

	if (uring_new(&r, 8) != 0)
		return (void *)1;
	for (int i = 0; i < IO_ROUNDS; i++) {
		struct result res = { .op.complete = record };
		char buf[8] = { 0 };
		struct iovec iov = { buf, 4 };
		struct fs_entry e;
		uint64_t fh;
		uint32_t of;

		snprintf(name, sizeof(name), "f%d", (int)((i + id) % 4));
		if (pt_ops.lookup(pt, &root_ctx, FS_ROOT_ID, name, &e) ||
		    pt_ops.open(pt, &root_ctx, e.nodeid, O_RDONLY, &fh, &of) ||
		    pt_ops.read(pt, e.nodeid, fh, 0, &iov, 1, r, &res.op))
			return (void *)2;
		while (res.calls == 0)
			if (uring_run(r, true) < 0)
				return (void *)3;
		if (res.res != 2 || memcmp(buf, name, 2))
			return (void *)4;
		if (pt_ops.release(pt, e.nodeid, fh))
			return (void *)5;
		pt_ops.forget(pt, e.nodeid, 1);
	}
	uring_free(r);
	return NULL;
}

Test(ptio, concurrent_open_read_release_balances)
{
	pthread_t t[IO_THREADS];
	char name[8];

	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		host_write(name, name);
	}
	for (long i = 0; i < IO_THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, open_read_release_loop,
					    (void *)i), 0);
	for (int i = 0; i < IO_THREADS; i++) {
		void *res;

		pthread_join(t[i], &res);
		cr_expect_null(res, "thread %d: %p", i, res);
	}
	cr_expect_eq(pt_stats().nodes, 1);
	cr_expect_eq(pt_stats().handles, 0);
}

/* ---- --preserve-noatime ---- */

/* "f" with an atime long ago; false when this host file system would not
 * update it on a read anyway (noatime mount): nothing to tell apart. */
static bool old_atime_file(const char *name)
{
	const struct timespec t[2] = { { 1000000000, 0 }, { 0, UTIME_OMIT } };
	char buf[8];

	host_write(name, "data");
	cr_assert_eq(utimensat(AT_FDCWD, hpath(name), t, 0), 0);
	host_read(name, buf, sizeof(buf));
	if (host_lstat(name).st_atim.tv_sec == t[0].tv_sec)
		return false;
	cr_assert_eq(utimensat(AT_FDCWD, hpath(name), t, 0), 0);
	return true;
}

/* Read "f" through a handle opened with O_NOATIME; its atime after. */
static time_t atime_after_noatime_read(void)
{
	char buf[8];
	uint64_t f, fh;

	f = lookup_ok(FS_ROOT_ID, "f");
	fh = open_ok(f, O_RDONLY | O_NOATIME);
	cr_assert_eq(do_read(f, fh, 0, buf, sizeof(buf)), 4);
	cr_assert_eq(pt_ops.release(pt, f, fh), 0);
	return host_lstat("f").st_atim.tv_sec;
}

Test(ptio, noatime_dropped_by_default)
{
	if (!old_atime_file("f"))
		cr_skip_test("host file system does not update atime");
	cr_expect_neq(atime_after_noatime_read(), 1000000000,
		      "O_NOATIME must be dropped without --preserve-noatime");
}

Test(ptio, preserve_noatime_keeps_atime)
{
	struct pt_config cfg = { .preserve_noatime = true };

	pt_teardown();
	pt_setup_cfg(&cfg);
	if (!old_atime_file("f"))
		cr_skip_test("host file system does not update atime");
	cr_expect_eq(atime_after_noatime_read(), 1000000000);
}
