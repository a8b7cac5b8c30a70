/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared fixture for the passthrough tests: a fresh mkdtemp directory served
 * by a fresh struct pt_fs, removed afterwards.  Criterion runs each test in
 * its own process, so the globals are per test.
 */
#ifndef TEST_PASSTHROUGH_H
#define TEST_PASSTHROUGH_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vfsd/fs.h"
#include "vfsd/passthrough.h"

static char pt_dir[64];
static struct pt_fs *pt;
static const struct fs_ctx root_ctx = { .uid = 0, .gid = 0, .pid = 1 };

static int pt_rm_cb(const char *p, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	remove(p);
	return 0;
}

static inline void pt_setup_cfg(struct pt_config *cfg)
{
	strcpy(pt_dir, "/tmp/vfsd-pt-XXXXXX");
	cr_assert_not_null(mkdtemp(pt_dir));
	cfg->shared_dir = pt_dir;
	cr_assert_eq(pt_new(&pt, cfg), 0);
}

static inline void pt_setup(void)
{
	struct pt_config cfg = { 0 };

	pt_setup_cfg(&cfg);
}

static inline void pt_teardown(void)
{
	pt_free(pt);
	pt = NULL;
	if (pt_dir[0])
		nftw(pt_dir, pt_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Host path of a name in the shared directory (static buffer). */
static inline const char *hpath(const char *name)
{
	static char buf[2][PATH_MAX];
	static int which;

	which ^= 1;
	snprintf(buf[which], sizeof(buf[which]), "%s/%s", pt_dir, name);
	return buf[which];
}

static inline void host_write(const char *name, const char *data)
{
	int fd = open(hpath(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	cr_assert_geq(fd, 0, "create %s: %s", name, strerror(errno));
	cr_assert_eq(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

static inline size_t host_read(const char *name, char *buf, size_t size)
{
	int fd = open(hpath(name), O_RDONLY);
	ssize_t n;

	cr_assert_geq(fd, 0, "open %s: %s", name, strerror(errno));
	n = read(fd, buf, size - 1);
	cr_assert_geq(n, 0);
	buf[n] = 0;
	close(fd);
	return (size_t)n;
}

static inline struct stat host_lstat(const char *name)
{
	struct stat st;

	cr_assert_eq(lstat(hpath(name), &st), 0, "lstat %s: %s", name,
		     strerror(errno));
	return st;
}

/* Lookup that must succeed; returns the node id. */
static inline uint64_t lookup_ok(uint64_t parent, const char *name)
{
	struct fs_entry e;
	int r = pt_ops.lookup(pt, &root_ctx, parent, name, &e);

	cr_assert_eq(r, 0, "lookup %s: %d", name, r);
	cr_assert_neq(e.nodeid, 0);
	return e.nodeid;
}

static inline struct pt_stats pt_stats(void)
{
	struct pt_stats s;

	pt_get_stats(pt, &s);
	return s;
}

#endif
