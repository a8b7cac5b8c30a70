/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fixtures and scenarios shared by the integration tests.  A scenario checks
 * results twice: through the FUSE replies and on the host's shared dir.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <criterion/criterion.h>

#include "fe_test.h"

struct fe_test fe_t;

const char *fe_test_vfsd(void)
{
	const char *p = getenv("VFSD");

	if (!p || !*p || access(p, X_OK) < 0)
		cr_skip_test("vfsd binary not built yet ($VFSD=%s): skipped",
			     p ? p : "(unset)");
	return p;
}

const char *fe_test_virtiofsd(void)
{
	const char *p = getenv("FE_VIRTIOFSD");

	if (!p || !*p)
		p = FE_VIRTIOFSD_PATH;
	if (access(p, X_OK) < 0)
		cr_skip_test("%s not installed: peer test skipped", p);
	return p;
}

void fe_test_start(enum fe_backend_kind kind, const char *const *extra)
{
	const char *exe = kind == FE_BACKEND_VFSD ? fe_test_vfsd() :
						    fe_test_virtiofsd();
	int r;

	r = fe_backend_start(&fe_t.be, exe, kind, extra, 10000);
	fe_t.started = true;
	if (r < 0)
		fe_backend_dump_log(&fe_t.be);
	cr_assert_eq(r, 0, "starting %s: %s", exe, strerror(-r));
}

struct fe_dev *fe_test_open(const struct fe_opts *opts)
{
	struct fe_dev *d = NULL;
	int r;

	r = fe_dev_open(&d, fe_t.be.sock, opts);
	if (r < 0)
		fe_backend_dump_log(&fe_t.be);
	cr_assert_eq(r, 0, "handshake: %s", strerror(-r));
	return d;
}

struct fe_dev *fe_test_open_init(const struct fe_opts *opts)
{
	struct fe_dev *d = fe_test_open(opts);
	struct fuse_init_out io;
	int r;

	r = fe_fuse_init(d, 0, FE_INIT_FLAGS_DEFAULT, &io);
	cr_assert_eq(r, 0, "FUSE_INIT: %s", strerror(-r));
	cr_assert_eq(io.major, FUSE_KERNEL_VERSION);
	cr_assert_gt(io.max_write, 0u);
	return d;
}

void fe_test_end(void)
{
	char line[256];

	/* UBSan reports and goes on: the daemon survived, but the test
	 * provoked a bug (in a -Db_sanitize=address,undefined build). */
	if (fe_t.started &&
	    fe_backend_sanitizer_report(&fe_t.be, line, sizeof(line))) {
		fe_backend_dump_log(&fe_t.be);
		cr_assert_fail("back-end sanitizer report: %s", line);
	}
}

void fe_test_fini(void)
{
	fe_dev_close(fe_t.dev);
	fe_t.dev = NULL;
	if (fe_t.started)
		fe_backend_cleanup(&fe_t.be);
	fe_t.started = false;
}

void fe_fill_pattern(void *buf, size_t len, uint32_t seed)
{
	uint8_t *p = buf;
	uint32_t x = seed * 2654435761u + 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (uint8_t)(x >> 16);
	}
}

static void *host_read(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	ssize_t n;
	size_t got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "open %s on the host: %s", path, strerror(errno));
	cr_assert_eq(fstat(fd, &st), 0);
	buf = malloc(st.st_size + 1);
	cr_assert_not_null(buf);
	while (got < (size_t)st.st_size &&
	       (n = read(fd, buf + got, st.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	*len = got;
	return buf;
}

static void host_write(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	cr_assert_geq(fd, 0, "create %s on the host: %s", path,
		      strerror(errno));
	cr_assert_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static bool host_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

#define MIB (1024 * 1024)

void fe_scenario_lifecycle(struct fe_dev *d, const char *shared)
{
	struct fuse_entry_out dir, file, e2, ln;
	struct fuse_open_out fo;
	struct fuse_attr_out ao;
	struct fuse_statfs_out so;
	char path[512], target[64];
	uint8_t *data, *back, *host;
	size_t hlen;
	ssize_t n;
	int r;

	/* mkdir */
	r = fe_mkdir(d, FUSE_ROOT_ID, "dir", 0755, &dir);
	cr_assert_eq(r, 0, "mkdir: %s", strerror(-r));
	cr_assert(S_ISDIR(dir.attr.mode));
	cr_assert_neq(dir.nodeid, 0u);
	cr_assert_neq(dir.nodeid, (uint64_t)FUSE_ROOT_ID);
	snprintf(path, sizeof(path), "%s/dir", shared);
	cr_assert(host_exists(path), "mkdir did not reach the host");
	r = fe_mkdir(d, FUSE_ROOT_ID, "dir", 0755, &e2);
	cr_assert_eq(r, -EEXIST, "second mkdir: %d", r);

	/* create + write 1 MiB + read back */
	r = fe_create(d, dir.nodeid, "file", 0644 | S_IFREG, O_RDWR, &file,
		      &fo);
	cr_assert_eq(r, 0, "create: %s", strerror(-r));
	cr_assert(S_ISREG(file.attr.mode));
	data = malloc(MIB);
	back = malloc(MIB);
	cr_assert(data && back);
	fe_fill_pattern(data, MIB, 42);
	n = fe_write_all(d, file.nodeid, fo.fh, 0, data, MIB);
	cr_assert_eq(n, MIB, "write: %zd", n);
	r = fe_fsync(d, file.nodeid, fo.fh, false);
	cr_assert_eq(r, 0, "fsync: %s", strerror(-r));
	memset(back, 0, MIB);
	n = fe_read_all(d, file.nodeid, fo.fh, 0, back, MIB);
	cr_assert_eq(n, MIB, "read: %zd", n);
	cr_assert(!memcmp(data, back, MIB), "read back differs");
	n = fe_read(d, file.nodeid, fo.fh, MIB, back, 4096);
	cr_assert_eq(n, 0, "read at EOF: %zd", n);
	snprintf(path, sizeof(path), "%s/dir/file", shared);
	host = host_read(path, &hlen);
	cr_assert_eq(hlen, MIB, "host file size %zu", hlen);
	cr_assert(!memcmp(host, data, MIB), "host content differs");
	free(host);
	r = fe_getattr(d, file.nodeid, &ao);
	cr_assert_eq(r, 0);
	cr_assert_eq(ao.attr.size, MIB);
	r = fe_flush(d, file.nodeid, fo.fh);
	cr_assert_eq(r, 0, "flush: %s", strerror(-r));
	r = fe_release(d, file.nodeid, fo.fh, O_RDWR);
	cr_assert_eq(r, 0, "release: %s", strerror(-r));

	/* readdir and readdirplus see the name */
	cr_assert_eq(fe_dir_has(d, dir.nodeid, "file", false), 1);
	cr_assert_eq(fe_dir_has(d, dir.nodeid, "file", true), 1);
	cr_assert_eq(fe_dir_has(d, dir.nodeid, "nothere", false), 0);

	/* rename */
	r = fe_rename(d, dir.nodeid, "file", dir.nodeid, "file2");
	cr_assert_eq(r, 0, "rename: %s", strerror(-r));
	cr_assert(!host_exists(path));
	snprintf(path, sizeof(path), "%s/dir/file2", shared);
	cr_assert(host_exists(path));
	r = fe_lookup(d, dir.nodeid, "file", &e2);
	cr_assert_eq(r, -ENOENT, "lookup of the old name: %d", r);
	r = fe_lookup(d, dir.nodeid, "file2", &e2);
	cr_assert_eq(r, 0);
	cr_assert_eq(e2.attr.size, MIB);
	fe_forget(d, e2.nodeid, 1);

	/* symlink, readlink, statfs */
	r = fe_symlink(d, dir.nodeid, "link", "file2", &ln);
	cr_assert_eq(r, 0, "symlink: %s", strerror(-r));
	cr_assert(S_ISLNK(ln.attr.mode));
	n = fe_readlink(d, ln.nodeid, target, sizeof(target));
	cr_assert_eq(n, 5, "readlink: %zd", n);
	cr_assert(!memcmp(target, "file2", 5));
	r = fe_statfs(d, FUSE_ROOT_ID, &so);
	cr_assert_eq(r, 0, "statfs: %s", strerror(-r));
	cr_assert_gt(so.st.bsize, 0u);

	/* unlink, rmdir */
	r = fe_rmdir(d, FUSE_ROOT_ID, "dir");
	cr_assert_eq(r, -ENOTEMPTY, "rmdir of a non-empty dir: %d", r);
	cr_assert_eq(fe_unlink(d, dir.nodeid, "link"), 0);
	cr_assert_eq(fe_unlink(d, dir.nodeid, "file2"), 0);
	cr_assert(!host_exists(path));
	fe_forget(d, ln.nodeid, 1);
	fe_forget(d, file.nodeid, 1);
	r = fe_rmdir(d, FUSE_ROOT_ID, "dir");
	cr_assert_eq(r, 0, "rmdir: %s", strerror(-r));
	fe_forget(d, dir.nodeid, 1);
	snprintf(path, sizeof(path), "%s/dir", shared);
	cr_assert(!host_exists(path));
	cr_assert_eq(fe_fuse_transport_error(d), 0);
	free(data);
	free(back);
}

void fe_scenario_depth(struct fe_dev *d, const char *shared,
		       unsigned int depth)
{
	const size_t chunk = 4096;
	unsigned int qidx = fe_dev_num_queues(d) - 1, i, got = 0;
	struct fuse_entry_out e;
	struct fuse_open_out fo;
	struct fe_req **reqs;
	uint8_t *data;
	char path[512];
	size_t mark = fe_mem_mark(d);
	int r;

	data = malloc(chunk * depth);
	cr_assert_not_null(data);
	fe_fill_pattern(data, chunk * depth, 7);
	snprintf(path, sizeof(path), "%s/depth", shared);
	host_write(path, data, chunk * depth);
	cr_assert_eq(fe_lookup(d, FUSE_ROOT_ID, "depth", &e), 0);
	cr_assert_eq(fe_open(d, e.nodeid, O_RDONLY, &fo), 0);

	reqs = calloc(depth, sizeof(*reqs));
	cr_assert_not_null(reqs);
	for (i = 0; i < depth; i++) {
		/* Reverse order: a back-end that mixes up replies shows it. */
		struct fuse_read_in ri = { .fh = fo.fh,
					   .offset = (depth - 1 - i) * chunk,
					   .size = chunk };

		reqs[i] = fe_req_new(d, 128, sizeof(struct fuse_out_header),
				     chunk);
		cr_assert_not_null(reqs[i], "guest memory full");
		reqs[i]->data_out = true;
		reqs[i]->opaque = (void *)(uintptr_t)(depth - 1 - i);
		cr_assert_eq(fe_req_prepare(d, reqs[i], FUSE_READ, e.nodeid,
					    &ri, sizeof(ri)), 0);
		r = fe_submit(d, qidx, reqs[i]);
		cr_assert_eq(r, 0, "submit %u: %s", i, strerror(-r));
	}
	/* All of them are in the ring before the back-end hears of any. */
	cr_assert_eq(fe_vq_inflight(fe_dev_vq(d, qidx)), depth);
	cr_assert_eq(fe_kick(d, qidx), 0);
	while (got < depth) {
		struct fe_req *done = NULL;
		struct fe_reply rep;
		size_t slot;

		r = fe_reap(d, qidx, &done, fe_dev_timeout(d));
		cr_assert_eq(r, 1, "reap %u of %u: %d", got, depth, r);
		r = fe_req_reply(done, &rep);
		cr_assert_eq(r, 0, "malformed reply (used %u, error %d)",
			     rep.used_len, rep.error);
		cr_assert_eq(rep.error, 0);
		cr_assert_eq(rep.len, chunk);
		slot = (uintptr_t)done->opaque;
		cr_assert(!memcmp(done->data, data + slot * chunk, chunk),
			  "data of request %zu differs", slot);
		got++;
	}
	cr_assert_eq(fe_release(d, e.nodeid, fo.fh, O_RDONLY), 0);
	fe_forget(d, e.nodeid, 1);
	for (i = 0; i < depth; i++)
		fe_req_free(reqs[i]);
	free(reqs);
	free(data);
	fe_mem_release(d, mark);
}

void fe_scenario_forget(struct fe_dev *d, const char *shared)
{
	struct fuse_entry_out e, e2;
	struct fuse_attr_out ao;
	char path[512];
	int i, r;

	snprintf(path, sizeof(path), "%s/forgetme", shared);
	host_write(path, "x", 1);
	for (i = 0; i < 5; i++) {
		r = fe_lookup(d, FUSE_ROOT_ID, "forgetme", &e);
		cr_assert_eq(r, 0, "lookup %d: %s", i, strerror(-r));
	}
	/* Give back all five references through the hiprio queue. */
	r = fe_forget(d, e.nodeid, 5);
	cr_assert_eq(r, 0, "FORGET on hiprio: %s", strerror(-r));
	/* A forget of a node that does not exist is ignored, not fatal. */
	r = fe_forget(d, 0x7fffffffdeadbeefull, 1);
	cr_assert_eq(r, 0, "FORGET of an unknown node: %s", strerror(-r));
	/* Still serving, and the name resolves again. */
	cr_assert_eq(fe_getattr(d, FUSE_ROOT_ID, &ao), 0);
	r = fe_lookup(d, FUSE_ROOT_ID, "forgetme", &e2);
	cr_assert_eq(r, 0);
	cr_assert_eq(e2.attr.ino, e.attr.ino);
	cr_assert_eq(fe_forget(d, e2.nodeid, 1), 0);
}

void fe_scenario_smoke(struct fe_dev *d, const char *shared)
{
	struct fuse_entry_out e;
	struct fuse_attr_out ao;
	char path[512];
	int r;

	r = fe_fuse_init(d, 0, FE_INIT_FLAGS_DEFAULT, NULL);
	cr_assert_eq(r, 0, "FUSE_INIT: %s", strerror(-r));
	snprintf(path, sizeof(path), "%s/smoke", shared);
	host_write(path, "hello", 5);
	r = fe_lookup(d, FUSE_ROOT_ID, "smoke", &e);
	cr_assert_eq(r, 0, "lookup: %s", strerror(-r));
	cr_assert_eq(e.attr.size, 5u);
	r = fe_getattr(d, FUSE_ROOT_ID, &ao);
	cr_assert_eq(r, 0, "getattr: %s", strerror(-r));
	cr_assert(S_ISDIR(ao.attr.mode));
	fe_forget(d, e.nodeid, 1);
}

/* LeakSanitizer hook (sanitizer builds): criterion's runner leaks 48 bytes
 * of its own at exit, which would fail the whole executable. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libcriterion.so\n";
}
