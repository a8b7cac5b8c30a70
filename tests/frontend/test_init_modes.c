/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What each cache mode and INIT-related option tells the guest, read off the
 * wire of the real daemon over its real socket: the INIT reply flags, the
 * entry and attribute timeouts of LOOKUP and GETATTR replies, negative
 * entries, and the open flags of OPEN, CREATE and OPENDIR.
 *
 * The expected values are virtiofsd's (src/main.rs, passthrough/mod.rs):
 *   never     timeouts 0, FOPEN_DIRECT_IO on files, no READDIRPLUS
 *   metadata  timeouts 86400 s, FOPEN_DIRECT_IO on files,
 *             FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE on directories
 *   auto      timeouts 1 s, no open flags
 *   always    timeouts 86400 s, FOPEN_KEEP_CACHE on files,
 *             FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE on directories
 * --allow-mmap: FUSE_DIRECT_IO_ALLOW_MMAP (7.39, flags2 bit 4) to a guest
 * that speaks 7.39 and asks for it, only where files are FOPEN_DIRECT_IO.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fe_test.h"

/* Our own copy of the 7.39 bit (the installed header is 7.38). */
#define FE_DIRECT_IO_ALLOW_MMAP (1ULL << 36)
#define FE_FLAGS2_MASK 0xffffffffu

TestSuite(init_modes, .fini = fe_test_fini, .timeout = 60);

static void start(const char *a, const char *b, const char *c)
{
	const char *extra[4] = { a, b, c, NULL };

	fe_test_start(FE_BACKEND_VFSD, extra);
	fe_t.dev = fe_test_open(NULL);
}

static void host_file(const char *name)
{
	char path[512];
	int fd;

	fe_path(path, sizeof(path), fe_t.be.shared, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "data", 4), 4);
	close(fd);
}

/* FUSE_INIT with a chosen minor and 64 bits of flags (flags2 included, the
 * library's fe_fuse_init has 32). */
static struct fuse_init_out init64(uint32_t minor, uint64_t flags)
{
	struct fuse_init_in in = {
		.major = FUSE_KERNEL_VERSION,
		.minor = minor,
		.max_readahead = 128 * 1024,
		.flags = (uint32_t)flags | FUSE_INIT_EXT,
		.flags2 = (uint32_t)(flags >> 32),
	};
	struct fuse_init_out out;
	struct iovec iv = { &in, sizeof(in) }, ov = { &out, sizeof(out) };
	struct fe_reply rep;

	memset(&out, 0, sizeof(out));
	cr_assert_eq(fe_fuse_call(fe_t.dev, 1, FUSE_INIT, 0, &iv, 1, &ov, 1,
				  &rep), 0);
	cr_assert_eq(rep.error, 0, "FUSE_INIT: %s", strerror(-rep.error));
	cr_assert_eq(out.major, FUSE_KERNEL_VERSION);
	return out;
}

static uint64_t flags64(const struct fuse_init_out *o)
{
	return (uint64_t)o->flags | (uint64_t)o->flags2 << 32;
}

/* What a 7.39 guest asking for everything would get. */
static uint64_t init_all(void)
{
	struct fuse_init_out o = init64(39, ~0ULL);

	return flags64(&o);
}

struct mode_expect {
	const char *opt;
	uint64_t timeout;             /* entry and attr, seconds */
	uint32_t file_flags;          /* OPEN / CREATE */
	uint32_t dir_flags;           /* OPENDIR */
	bool readdirplus;
};

static const struct mode_expect modes[] = {
	{ "--cache=never", 0, FOPEN_DIRECT_IO, 0, false },
	{ "--cache=metadata", 86400, FOPEN_DIRECT_IO,
	  FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE, true },
	{ "--cache=auto", 1, 0, 0, true },
	{ "--cache=always", 86400, FOPEN_KEEP_CACHE,
	  FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE, true },
};

static void check_mode(const struct mode_expect *m)
{
	struct fe_dev *d;
	struct fuse_entry_out e, ce;
	struct fuse_attr_out ao;
	struct fuse_open_out oo;
	struct fuse_entry_out neg;
	struct iovec iv, ov;
	struct fe_reply rep;
	uint64_t f;

	start(m->opt, NULL, NULL);
	d = fe_t.dev;
	host_file("f");
	f = init_all();
	cr_assert_eq(!!(f & FUSE_DO_READDIRPLUS), m->readdirplus,
		     "%s: READDIRPLUS %s", m->opt,
		     f & FUSE_DO_READDIRPLUS ? "offered" : "not offered");
	cr_assert_not(f & FE_DIRECT_IO_ALLOW_MMAP, "%s: ALLOW_MMAP without "
		      "--allow-mmap", m->opt);

	cr_assert_eq(fe_lookup(d, FUSE_ROOT_ID, "f", &e), 0);
	cr_assert_eq(e.entry_valid, m->timeout, "%s: entry_valid %llu",
		     m->opt, (unsigned long long)e.entry_valid);
	cr_assert_eq(e.attr_valid, m->timeout, "%s: attr_valid %llu",
		     m->opt, (unsigned long long)e.attr_valid);
	cr_assert_eq(e.entry_valid_nsec, 0u);
	cr_assert_eq(e.attr_valid_nsec, 0u);
	cr_assert_eq(e.attr.size, 4u);

	cr_assert_eq(fe_getattr(d, e.nodeid, &ao), 0);
	cr_assert_eq(ao.attr_valid, m->timeout, "%s: GETATTR attr_valid",
		     m->opt);
	cr_assert_eq(ao.attr_valid_nsec, 0u);

	cr_assert_eq(fe_open(d, e.nodeid, O_RDONLY, &oo), 0);
	cr_assert_eq(oo.open_flags, m->file_flags, "%s: OPEN flags 0x%x",
		     m->opt, oo.open_flags);
	cr_assert_eq(fe_release(d, e.nodeid, oo.fh, O_RDONLY), 0);

	cr_assert_eq(fe_create(d, FUSE_ROOT_ID, "new", 0644, O_RDWR, &ce, &oo),
		     0);
	cr_assert_eq(oo.open_flags, m->file_flags, "%s: CREATE flags 0x%x",
		     m->opt, oo.open_flags);
	cr_assert_eq(ce.entry_valid, m->timeout);
	cr_assert_eq(fe_release(d, ce.nodeid, oo.fh, O_RDWR), 0);

	cr_assert_eq(fe_opendir(d, FUSE_ROOT_ID, O_RDONLY, &oo), 0);
	cr_assert_eq(oo.open_flags, m->dir_flags, "%s: OPENDIR flags 0x%x",
		     m->opt, oo.open_flags);
	cr_assert_eq(fe_releasedir(d, FUSE_ROOT_ID, oo.fh), 0);

	/* A missing name: a negative entry cached as long as entries are;
	 * with nothing cached, a plain ENOENT. */
	iv = (struct iovec){ (void *)"missing", sizeof("missing") };
	ov = (struct iovec){ &neg, sizeof(neg) };
	memset(&neg, 0xff, sizeof(neg));
	cr_assert_eq(fe_fuse_call(d, 1, FUSE_LOOKUP, FUSE_ROOT_ID, &iv, 1,
				  &ov, 1, &rep), 0);
	if (m->timeout == 0) {
		cr_assert_eq(rep.error, -ENOENT);
	} else {
		cr_assert_eq(rep.error, 0);
		cr_assert_eq(neg.nodeid, 0u);
		cr_assert_eq(neg.entry_valid, m->timeout);
	}
	fe_test_end();
}

Test(init_modes, cache_never) { check_mode(&modes[0]); }
Test(init_modes, cache_metadata) { check_mode(&modes[1]); }
Test(init_modes, cache_auto) { check_mode(&modes[2]); }
Test(init_modes, cache_always) { check_mode(&modes[3]); }

Test(init_modes, default_is_auto)
{
	struct fuse_entry_out e;

	start(NULL, NULL, NULL);
	host_file("f");
	cr_assert(init_all() & FUSE_DO_READDIRPLUS);
	cr_assert_eq(fe_lookup(fe_t.dev, FUSE_ROOT_ID, "f", &e), 0);
	cr_assert_eq(e.entry_valid, 1u);
	cr_assert_eq(e.attr_valid, 1u);
	fe_test_end();
}

Test(init_modes, no_readdirplus)
{
	uint64_t f;

	start("--cache=always", "--no-readdirplus", NULL);
	f = init_all();
	cr_assert_not(f & FUSE_DO_READDIRPLUS);
	cr_assert_not(f & FUSE_READDIRPLUS_AUTO);
	cr_assert(f & FUSE_ASYNC_READ, "the rest is still negotiated");
	fe_test_end();
}

Test(init_modes, writeback_only_when_asked)
{
	start("--cache=auto", NULL, NULL);
	cr_assert_not(init_all() & FUSE_WRITEBACK_CACHE);
	fe_test_fini();
	start("--cache=auto", "--writeback", NULL);
	cr_assert(init_all() & FUSE_WRITEBACK_CACHE);
	/* Only when the guest asks. */
	{
		struct fuse_init_out o = init64(38, FUSE_ASYNC_READ);

		cr_assert_not(flags64(&o) & FUSE_WRITEBACK_CACHE);
	}
	fe_test_end();
}

/* A guest of this minor asking for flags is granted exactly want in flags2. */
static void expect_flags2(uint32_t minor, uint64_t flags, uint32_t want)
{
	struct fuse_init_out o = init64(minor, flags);

	cr_assert_eq(o.flags2, want, "7.%u: flags2 0x%x, want 0x%x", minor,
		     o.flags2, want);
}

Test(init_modes, allow_mmap_to_a_7_39_guest_that_asks)
{
	struct fuse_init_out o;

	start("--cache=never", "--allow-mmap", NULL);
	o = init64(39, FUSE_ASYNC_READ | FE_DIRECT_IO_ALLOW_MMAP);
	cr_assert_eq(o.flags2 & FE_FLAGS2_MASK, 1u << 4,
		     "flags2 0x%x: want DIRECT_IO_ALLOW_MMAP (bit 36)",
		     o.flags2);
	cr_assert(o.flags & FUSE_INIT_EXT);
	/* Our protocol stays 7.38; the kernel honours the bit anyway. */
	cr_assert_eq(o.minor, FUSE_KERNEL_MINOR_VERSION);
	/* A newer guest also gets it. */
	expect_flags2(41, FE_DIRECT_IO_ALLOW_MMAP, 1u << 4);
	/* Not asked for: not given. */
	expect_flags2(39, FUSE_ASYNC_READ, 0);
	fe_test_end();
}

Test(init_modes, allow_mmap_not_to_a_7_38_guest)
{
	start("--cache=never", "--allow-mmap", NULL);
	/* A 7.38 guest (Linux 6.1) cannot mean bit 36. */
	expect_flags2(38, FUSE_ASYNC_READ | FE_DIRECT_IO_ALLOW_MMAP, 0);
	fe_test_end();
}

Test(init_modes, allow_mmap_only_where_files_are_direct_io)
{
	/* metadata: files are FOPEN_DIRECT_IO too. */
	start("--cache=metadata", "--allow-mmap", NULL);
	expect_flags2(39, FE_DIRECT_IO_ALLOW_MMAP, 1u << 4);
	fe_test_fini();
	/* auto: the page cache serves mmap already; nothing to allow. */
	start("--cache=auto", "--allow-mmap", NULL);
	expect_flags2(39, FE_DIRECT_IO_ALLOW_MMAP, 0);
	fe_test_end();
}

Test(init_modes, allow_mmap_is_not_refused)
{
	struct fuse_entry_out e;

	/* It used to be refused as unimplemented: the daemon must start and
	 * serve. */
	start("--cache=never", "--allow-mmap", NULL);
	host_file("f");
	init64(39, FE_DIRECT_IO_ALLOW_MMAP);
	cr_assert_eq(fe_lookup(fe_t.dev, FUSE_ROOT_ID, "f", &e), 0);
	cr_assert(fe_backend_alive(&fe_t.be));
	fe_test_end();
}

/* ---- FUSE_CREATE_SUPP_GROUP ------------------------------------------- */

#define FE_CREATE_SUPP_GROUP (1ULL << 34)
#define FE_EXT_GROUPS 32u

/* A CREATE of `name` in `parent` as uid/gid 1000, with a groups extension
 * of nr groups (group first) when nr >= 0; returns the FUSE error. */
static int create_with_group(uint64_t parent, const char *name, int nr,
			     uint32_t group)
{
	uint8_t req[256], reply[512];
	struct fuse_in_header ih = { 0 };
	struct fuse_create_in ci = {
		.flags = O_WRONLY | O_CREAT, .mode = S_IFREG | 0640,
	};
	uint32_t ext[6] = { 0 };
	size_t nlen = strlen(name) + 1, ext_len = 0, len;
	struct fe_reply rep;

	if (nr >= 0) {
		ext_len = nr <= 1 ? 16 : 24;
		ext[0] = (uint32_t)ext_len;
		ext[1] = FE_EXT_GROUPS;
		ext[2] = (uint32_t)nr;
		ext[3] = group;
		ext[4] = group + 1;
	}
	len = sizeof(ih) + sizeof(ci) + nlen + ext_len;
	cr_assert_leq(len, sizeof(req));
	ih.len = (uint32_t)len;
	ih.opcode = FUSE_CREATE;
	ih.unique = fe_fuse_next_unique(fe_t.dev);
	ih.nodeid = parent;
	ih.uid = 1000;
	ih.gid = 1000;
	ih.pid = (uint32_t)getpid();
	ih.total_extlen = (uint16_t)(ext_len / 8);
	memcpy(req, &ih, sizeof(ih));
	memcpy(req + sizeof(ih), &ci, sizeof(ci));
	memcpy(req + sizeof(ih) + sizeof(ci), name, nlen);
	memcpy(req + sizeof(ih) + sizeof(ci) + nlen, ext, ext_len);
	cr_assert_eq(fe_fuse_call_raw(fe_t.dev, 1, req, len, reply,
				      sizeof(reply), &rep), 0);
	cr_assert_geq(rep.used_len, sizeof(struct fuse_out_header));
	return rep.error;
}

Test(init_modes, create_supp_group)
{
	struct fuse_entry_out e;
	struct fuse_init_out o;
	char path[512];
	struct stat st;

	start(NULL, NULL, NULL);
	fe_path(path, sizeof(path), fe_t.be.shared, "grp");
	cr_assert_eq(mkdir(path, 0770), 0);
	cr_assert_eq(chown(path, 0, 3000), 0);
	cr_assert_eq(chmod(path, 0770), 0);
	o = init64(38, FUSE_ASYNC_READ | FE_CREATE_SUPP_GROUP);
	cr_assert_eq(o.flags2, 1u << 2, "flags2 0x%x: want CREATE_SUPP_GROUP",
		     o.flags2);
	cr_assert_eq(fe_lookup(fe_t.dev, FUSE_ROOT_ID, "grp", &e), 0);

	/* Without the group: the host refuses, as it would the caller. */
	cr_assert_eq(create_with_group(e.nodeid, "none", -1, 0), -EACCES);
	cr_assert_eq(create_with_group(e.nodeid, "wrong", 1, 4000), -EACCES);
	/* With it: created, owned by the caller's uid and gid. */
	cr_assert_eq(create_with_group(e.nodeid, "mine", 1, 3000), 0);
	fe_path(path, sizeof(path), fe_t.be.shared, "grp/mine");
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_uid, 1000u);
	cr_assert_eq(st.st_gid, 1000u);
	/* Malformed: more than the one group Linux sends. */
	cr_assert_eq(create_with_group(e.nodeid, "two", 2, 3000), -EINVAL);
	/* The daemon's own groups came back: a plain request is refused. */
	cr_assert_eq(create_with_group(e.nodeid, "after", -1, 0), -EACCES);
	fe_test_end();
}

Test(init_modes, group_extension_refused_when_not_agreed)
{
	struct fuse_entry_out e;
	char path[512];

	start(NULL, NULL, NULL);
	fe_path(path, sizeof(path), fe_t.be.shared, "grp");
	cr_assert_eq(mkdir(path, 0777), 0);
	cr_assert_eq(chmod(path, 0777), 0);
	init64(38, FUSE_ASYNC_READ);
	cr_assert_eq(fe_lookup(fe_t.dev, FUSE_ROOT_ID, "grp", &e), 0);
	cr_assert_eq(create_with_group(e.nodeid, "x", 1, 3000), -EINVAL);
	cr_assert_eq(create_with_group(e.nodeid, "y", -1, 0), 0);
	fe_test_end();
}
