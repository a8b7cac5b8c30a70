// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * FUSE engine tests: requests built as a guest would, split across many
 * iovecs at odd places with guard bytes between the pieces, served by a
 * recording fake filesystem (fake_fs.c).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fake_fs.h"
#include "vfsd/server.h"

#define MSG_MAX (16384 + 256)
#define OUT_MAX (80 * 1024)
#define MAX_IOV 4096
#define GUARD 3
#define GUARD_BYTE 0xaa
#define FILL_BYTE 0x55

static struct fake_fs fk;
static struct server *srv;
static struct server_config cfg;

enum split { SPLIT_ONE, SPLIT_ODD, SPLIT_BYTES };

static const size_t pat_one[] = { SIZE_MAX };
static const size_t pat_odd[] = { 1, 7, 3, 16, 2, 40, 5, 13 };
static const size_t pat_bytes[] = { 1 };

/* One request in flight. */
static struct {
	struct server_req req;
	struct iovec in[MAX_IOV], out[MAX_IOV], scratch[2 * MAX_IOV];
	unsigned int in_cnt, out_cnt;
	uint8_t msg[MSG_MAX];
	size_t msg_len;
	bool keep_len;                 /* do not fix up in.len */
	uint64_t unique;
	uint8_t in_back[2 * MSG_MAX + MAX_IOV * GUARD];
	uint8_t out_back[2 * OUT_MAX + MAX_IOV * GUARD];
	size_t out_back_used;
	uint8_t reply[OUT_MAX];
	unsigned int done_calls;
	size_t done_len;
} T;

static void t_done(struct server_req *req, size_t len)
{
	size_t pos = 0;

	cr_assert_eq(req, &T.req);
	T.done_calls++;
	T.done_len = len;
	memset(T.reply, 0, sizeof(T.reply));
	for (unsigned int i = 0; i < T.out_cnt && pos < len; i++) {
		size_t n = T.out[i].iov_len;

		if (n > len - pos)
			n = len - pos;
		memcpy(T.reply + pos, T.out[i].iov_base, n);
		pos += n;
	}
	cr_assert_eq(pos, len, "done(len) larger than the reply buffers");
}

static unsigned int split_into(struct iovec *iov, uint8_t *back,
			       size_t back_len, size_t len, enum split how,
			       uint8_t fill)
{
	const size_t *pat = how == SPLIT_ONE ? pat_one :
			    how == SPLIT_ODD ? pat_odd : pat_bytes;
	size_t npat = how == SPLIT_ONE ? 1 : how == SPLIT_ODD ?
		      sizeof(pat_odd) / sizeof(pat_odd[0]) : 1;
	size_t off = 0;
	unsigned int i = 0;

	memset(back, GUARD_BYTE, back_len);
	while (len > 0) {
		size_t n = pat[i % npat];

		if (n > len || i == MAX_IOV - 1)
			n = len;
		cr_assert_leq(off + n + GUARD, back_len);
		iov[i].iov_base = back + off;
		iov[i].iov_len = n;
		memset(back + off, fill, n);
		off += n + GUARD;
		len -= n;
		i++;
	}
	return i;
}

static void msg_begin(uint32_t opcode, uint64_t nodeid)
{
	struct fuse_in_header h = {
		.opcode = opcode,
		.unique = ++T.unique * 2 + 0x10000,
		.nodeid = nodeid,
		.uid = 1234,
		.gid = 5678,
		.pid = 4321,
	};

	T.keep_len = false;
	memcpy(T.msg, &h, sizeof(h));
	T.msg_len = sizeof(h);
}

static void msg_add(const void *p, size_t n)
{
	cr_assert_leq(T.msg_len + n, sizeof(T.msg));
	memcpy(T.msg + T.msg_len, p, n);
	T.msg_len += n;
}

static void msg_str(const char *s)
{
	msg_add(s, strlen(s) + 1);
}

static void msg_set_len(uint32_t len)
{
	memcpy(T.msg, &len, sizeof(len));
	T.keep_len = true;
}

/* Guard bytes around and between the reply pieces must be untouched. */
static void check_out_guards(void)
{
	const uint8_t *p = T.out_back;
	size_t pos = 0;

	for (unsigned int i = 0; i < T.out_cnt; i++) {
		const uint8_t *b = T.out[i].iov_base;

		for (; p + pos < b; pos++)
			cr_assert_eq(p[pos], GUARD_BYTE,
				     "write outside the reply iovecs");
		pos += T.out[i].iov_len;
	}
	for (size_t k = 0; k < GUARD && pos + k < sizeof(T.out_back); k++)
		cr_assert_eq(p[pos + k], GUARD_BYTE);
}

static void send_split(size_t out_len, enum split in_how, enum split out_how)
{
	size_t left = T.msg_len, pos = 0;

	if (!T.keep_len) {
		uint32_t len = (uint32_t)T.msg_len;

		memcpy(T.msg, &len, sizeof(len));
	}
	T.in_cnt = split_into(T.in, T.in_back, sizeof(T.in_back), T.msg_len,
			      in_how, 0);
	for (unsigned int i = 0; i < T.in_cnt; i++) {
		memcpy(T.in[i].iov_base, T.msg + pos, T.in[i].iov_len);
		pos += T.in[i].iov_len;
		left -= T.in[i].iov_len;
	}
	cr_assert_eq(left, 0);
	T.out_cnt = split_into(T.out, T.out_back, sizeof(T.out_back), out_len,
			       out_how, FILL_BYTE);
	memset(&T.req, 0, sizeof(T.req));
	T.req.in = T.in;
	T.req.in_cnt = T.in_cnt;
	T.req.out = T.out;
	T.req.out_cnt = T.out_cnt;
	T.req.done = t_done;
	T.req.scratch = T.scratch;
	T.req.scratch_cnt = T.in_cnt + T.out_cnt;
	T.done_calls = 0;
	T.done_len = 0;
	server_handle(srv, NULL, &T.req);
}

static void send_out(size_t out_len)
{
	send_split(out_len, SPLIT_ODD, SPLIT_ODD);
}

static void send(void)
{
	send_out(OUT_MAX);
}

static struct fuse_out_header rhdr(void)
{
	struct fuse_out_header h;

	memcpy(&h, T.reply, sizeof(h));
	return h;
}

/* The request was answered once, with a well-formed header. */
static void check_reply(void)
{
	struct fuse_out_header h = rhdr();
	uint64_t unique;

	memcpy(&unique, T.msg + 8, sizeof(unique));
	cr_assert_eq(T.done_calls, 1, "done called %u times", T.done_calls);
	cr_assert_geq(T.done_len, sizeof(h));
	cr_assert_eq(h.len, T.done_len);
	cr_assert_eq(h.unique, unique);
	cr_assert(h.error <= 0 && h.error > -512);
	check_out_guards();
}

static int rerr(void)
{
	check_reply();
	return rhdr().error;
}

static void expect_err(int err)
{
	cr_assert_eq(rerr(), err, "got error %d, expected %d", rhdr().error,
		     err);
	cr_assert_eq(T.done_len, sizeof(struct fuse_out_header));
}

static void expect_ok(size_t payload)
{
	cr_assert_eq(rerr(), 0, "got error %d", rhdr().error);
	cr_assert_eq(T.done_len, sizeof(struct fuse_out_header) + payload);
}

static void expect_noreply(void)
{
	cr_assert_eq(T.done_calls, 1);
	cr_assert_eq(T.done_len, 0);
}

static void *payload(void)
{
	return T.reply + sizeof(struct fuse_out_header);
}

/* ---- fixtures --------------------------------------------------------- */

static void send_init(uint32_t major, uint32_t minor, uint32_t flags,
		      uint32_t flags2)
{
	struct fuse_init_in in = {
		.major = major,
		.minor = minor,
		.max_readahead = 131072,
		.flags = flags,
		.flags2 = flags2,
	};

	msg_begin(FUSE_INIT, 0);
	msg_add(&in, sizeof(in));
	send();
}

static struct fuse_init_out init_out(void)
{
	struct fuse_init_out out;

	memcpy(&out, payload(), sizeof(out));
	return out;
}

static void start_server(void)
{
	cr_assert_eq(server_new(&srv, &cfg), 0);
}

static void setup_raw(void)
{
	memset(&T, 0, sizeof(T));
	fake_fs_init(&fk);
	memset(&cfg, 0, sizeof(cfg));
	cfg.ops = &fake_fs_ops;
	cfg.fs = &fk;
	cfg.entry_timeout = 1.5;
	cfg.attr_timeout = 2.25;
	start_server();
}

static void setup(void)
{
	setup_raw();
	send_init(7, 38, 0xffffffffu, 0xffffffffu);
	expect_ok(sizeof(struct fuse_init_out));
}

static void teardown(void)
{
	server_free(srv);
	srv = NULL;
}

/* Restart with a changed configuration, initialised. */
static void restart(void)
{
	server_free(srv);
	start_server();
	send_init(7, 38, 0xffffffffu, 0xffffffffu);
	expect_ok(sizeof(struct fuse_init_out));
}

TestSuite(init, .init = setup_raw, .fini = teardown);
TestSuite(proto, .init = setup, .fini = teardown);
TestSuite(ops, .init = setup, .fini = teardown);
TestSuite(data, .init = setup, .fini = teardown);
TestSuite(dir, .init = setup, .fini = teardown);
TestSuite(xattr, .init = setup, .fini = teardown);
TestSuite(readonly, .init = setup, .fini = teardown);

/* ---- INIT ------------------------------------------------------------- */

Test(init, accepts_minor_27_to_38)
{
	for (uint32_t minor = 27; minor <= 38; minor++) {
		send_init(7, minor, FUSE_ASYNC_READ, 0);
		expect_ok(sizeof(struct fuse_init_out));
		cr_assert_eq(init_out().major, 7);
		cr_assert_eq(init_out().minor, FUSE_KERNEL_MINOR_VERSION);
		cr_assert_eq(fk.init_info.proto_minor, minor);
	}
}

Test(init, refuses_minor_26)
{
	send_init(7, 26, FUSE_ASYNC_READ, 0);
	expect_err(-EPROTO);
	cr_assert_eq(fk.calls[F_INIT], 0);
	msg_begin(FUSE_GETATTR, 1);
	msg_add(&(struct fuse_getattr_in){ 0 }, sizeof(struct fuse_getattr_in));
	send();
	expect_err(-EIO);
}

Test(init, refuses_major_6)
{
	send_init(6, 38, 0, 0);
	expect_err(-EPROTO);
	cr_assert_eq(fk.calls[F_INIT], 0);
}

Test(init, newer_major_gets_our_version_only)
{
	send_init(8, 1, 0xffffffffu, 0);
	expect_ok(sizeof(struct fuse_init_out));
	cr_assert_eq(init_out().major, 7);
	cr_assert_eq(init_out().minor, 38);
	cr_assert_eq(init_out().flags, 0);
	cr_assert_eq(init_out().max_write, 0);
	cr_assert_eq(fk.calls[F_INIT], 0);
	/* Still waiting for a 7.x INIT. */
	msg_begin(FUSE_STATFS, 1);
	send();
	expect_err(-EIO);
	send_init(7, 38, 0, 0);
	expect_ok(sizeof(struct fuse_init_out));
}

Test(init, negotiates_flags_default_config)
{
	struct fuse_init_out o;
	long page = sysconf(_SC_PAGESIZE);

	send_init(7, 38, 0xffffffffu, 0xffffffffu);
	expect_ok(sizeof(struct fuse_init_out));
	o = init_out();
	cr_assert(o.flags & FUSE_ASYNC_READ);
	cr_assert(o.flags & FUSE_PARALLEL_DIROPS);
	cr_assert(o.flags & FUSE_BIG_WRITES);
	cr_assert(o.flags & FUSE_MAX_PAGES);
	cr_assert(o.flags & FUSE_ATOMIC_O_TRUNC);
	cr_assert(o.flags & FUSE_INIT_EXT);
	cr_assert_not(o.flags & FUSE_DO_READDIRPLUS);
	cr_assert_not(o.flags & FUSE_READDIRPLUS_AUTO);
	cr_assert_not(o.flags & FUSE_WRITEBACK_CACHE);
	cr_assert_not(o.flags & FUSE_POSIX_LOCKS);
	cr_assert_not(o.flags & FUSE_DONT_MASK);
	cr_assert_not(o.flags & FUSE_SETXATTR_EXT);
	cr_assert_not(o.flags & FUSE_POSIX_ACL);
	cr_assert_not(o.flags & FUSE_EXPORT_SUPPORT);
	cr_assert_eq(o.flags2, 0, "no flags2 feature is offered");
	cr_assert_eq(o.max_write, 1u << 20);
	cr_assert_eq(o.max_pages, (1u << 20) / page);
	cr_assert_eq(o.max_readahead, 131072);
	cr_assert_eq(o.time_gran, 1);
	cr_assert_eq(o.map_alignment, 0);
	cr_assert_not(fk.init_info.writeback_cache);
}

Test(init, offers_only_what_the_guest_has)
{
	send_init(7, 38, FUSE_ASYNC_READ, 0);
	expect_ok(sizeof(struct fuse_init_out));
	cr_assert_eq(init_out().flags, FUSE_ASYNC_READ);
	cr_assert_eq(init_out().flags2, 0);
}

Test(init, readdirplus_and_writeback_when_configured)
{
	cfg.readdirplus = true;
	cfg.writeback = true;
	cfg.max_write = 128 * 1024;
	server_free(srv);
	start_server();
	send_init(7, 31, 0xffffffffu, 0);
	expect_ok(sizeof(struct fuse_init_out));
	cr_assert(init_out().flags & FUSE_DO_READDIRPLUS);
	cr_assert(init_out().flags & FUSE_READDIRPLUS_AUTO);
	cr_assert(init_out().flags & FUSE_WRITEBACK_CACHE);
	cr_assert_eq(init_out().max_write, 128 * 1024);
	cr_assert(fk.init_info.writeback_cache);
	cr_assert_eq(fk.init_info.proto_minor, 31);
}

Test(init, killpriv_v2_offered_only_when_configured)
{
	send_init(7, 38, 0xffffffffu, 0);
	expect_ok(sizeof(struct fuse_init_out));
	cr_assert_eq(init_out().flags & FUSE_HANDLE_KILLPRIV_V2, 0);
	cr_assert(!fk.init_info.killpriv_v2);
	cfg.killpriv_v2 = true;
	server_free(srv);
	start_server();
	send_init(7, 38, 0xffffffffu, 0);
	expect_ok(sizeof(struct fuse_init_out));
	cr_assert(init_out().flags & FUSE_HANDLE_KILLPRIV_V2);
	cr_assert(fk.init_info.killpriv_v2);
}

Test(init, submounts_offered_only_when_configured)
{
	send_init(7, 38, 0xffffffffu, 0);
	expect_ok(sizeof(struct fuse_init_out));
	cr_assert_eq(init_out().flags & FUSE_SUBMOUNTS, 0);
	cfg.announce_submounts = true;
	server_free(srv);
	start_server();
	send_init(7, 38, 0xffffffffu, 0);
	expect_ok(sizeof(struct fuse_init_out));
	cr_assert(init_out().flags & FUSE_SUBMOUNTS);
}

Test(init, flags2_ignored_without_init_ext)
{
	send_init(7, 38, FUSE_ASYNC_READ, 0xffffffffu);
	expect_ok(sizeof(struct fuse_init_out));
	cr_assert_not(init_out().flags & FUSE_INIT_EXT);
	cr_assert_eq(init_out().flags2, 0);
}

Test(init, accepts_the_old_16_byte_init_in)
{
	struct fuse_init_in in = { .major = 7, .minor = 31,
				   .flags = FUSE_ASYNC_READ };

	msg_begin(FUSE_INIT, 0);
	msg_add(&in, 16);
	send();
	expect_ok(sizeof(struct fuse_init_out));
	cr_assert_eq(init_out().flags, FUSE_ASYNC_READ);
}

Test(init, short_init_in_is_refused)
{
	msg_begin(FUSE_INIT, 0);
	msg_add(&(uint32_t[3]){ 7, 38, 0 }, 12);
	send();
	expect_err(-EINVAL);
	cr_assert_eq(fk.calls[F_INIT], 0);
}

Test(init, second_init_destroys_first)
{
	send_init(7, 38, 0, 0);
	expect_ok(sizeof(struct fuse_init_out));
	cr_assert_eq(fk.calls[F_DESTROY], 0);
	send_init(7, 38, 0, 0);
	expect_ok(sizeof(struct fuse_init_out));
	cr_assert_eq(fk.calls[F_DESTROY], 1);
	cr_assert_eq(fk.calls[F_INIT], 2);
}

Test(init, fs_init_failure_leaves_server_uninitialised)
{
	fk.err[F_INIT] = -ENOMEM;
	send_init(7, 38, 0, 0);
	expect_err(-ENOMEM);
	msg_begin(FUSE_STATFS, 1);
	send();
	expect_err(-EIO);
	cr_assert_eq(fk.calls[F_STATFS], 0);
}

Test(init, requests_before_init_get_eio)
{
	msg_begin(FUSE_LOOKUP, 1);
	msg_str("a");
	send();
	expect_err(-EIO);
	cr_assert_eq(fk.calls[F_LOOKUP], 0);
}

Test(init, forget_before_init_is_dropped)
{
	msg_begin(FUSE_FORGET, 5);
	msg_add(&(struct fuse_forget_in){ .nlookup = 1 },
		sizeof(struct fuse_forget_in));
	send();
	expect_noreply();
	cr_assert_eq(fk.calls[F_FORGET], 0);
}

Test(init, destroy_returns_to_need_init)
{
	send_init(7, 38, 0, 0);
	expect_ok(sizeof(struct fuse_init_out));
	msg_begin(FUSE_DESTROY, 0);
	send();
	expect_ok(0);
	cr_assert_eq(fk.calls[F_DESTROY], 1);
	msg_begin(FUSE_STATFS, 1);
	send();
	expect_err(-EIO);
	/* A new INIT after DESTROY does not destroy again. */
	send_init(7, 38, 0, 0);
	expect_ok(sizeof(struct fuse_init_out));
	cr_assert_eq(fk.calls[F_DESTROY], 1);
}

Test(init, reset_forgets_the_guest)
{
	server_reset(srv);
	cr_assert_eq(fk.calls[F_DESTROY], 0, "nothing to destroy yet");
	send_init(7, 38, 0, 0);
	expect_ok(sizeof(struct fuse_init_out));
	server_reset(srv);
	cr_assert_eq(fk.calls[F_DESTROY], 1);
	msg_begin(FUSE_STATFS, 1);
	send();
	expect_err(-EIO);
}

Test(init, server_new_validates_config)
{
	struct server *s = NULL;
	struct server_config c = cfg;

	cr_assert_eq(server_new(&s, NULL), -EINVAL);
	c.ops = NULL;
	cr_assert_eq(server_new(&s, &c), -EINVAL);
	c = cfg;
	c.max_write = 100;
	cr_assert_eq(server_new(&s, &c), -EINVAL);
	c.max_write = 64u << 20;
	cr_assert_eq(server_new(&s, &c), -EINVAL);
	server_free(NULL);
}

/* ---- malformed requests ----------------------------------------------- */

Test(proto, short_header)
{
	msg_begin(FUSE_GETATTR, 1);
	T.msg_len = 20;
	msg_set_len(20);
	send();
	cr_assert_eq(T.done_calls, 1);
	cr_assert_eq(rhdr().error, -EINVAL);
	cr_assert_eq(rhdr().unique, 0, "the unique was never read");
}

Test(proto, len_larger_than_buffers)
{
	msg_begin(FUSE_GETATTR, 1);
	msg_add(&(struct fuse_getattr_in){ 0 }, sizeof(struct fuse_getattr_in));
	msg_set_len((uint32_t)T.msg_len + 1);
	send();
	expect_err(-EINVAL);
	cr_assert_eq(fk.calls[F_GETATTR], 0);
}

Test(proto, len_smaller_than_header)
{
	msg_begin(FUSE_STATFS, 1);
	msg_set_len(39);
	send();
	expect_err(-EINVAL);
	cr_assert_eq(fk.calls[F_STATFS], 0);
}

Test(proto, len_bounds_the_arguments)
{
	/* The name's NUL lies beyond in.len: unterminated. */
	msg_begin(FUSE_LOOKUP, 1);
	msg_str("abc");
	msg_set_len((uint32_t)T.msg_len - 1);
	send();
	expect_err(-EINVAL);
	cr_assert_eq(fk.calls[F_LOOKUP], 0);
}

Test(proto, extension_length_beyond_request)
{
	struct fuse_in_header h;

	msg_begin(FUSE_STATFS, 1);
	memcpy(&h, T.msg, sizeof(h));
	h.total_extlen = 1;
	memcpy(T.msg, &h, sizeof(h));
	send();
	expect_err(-EINVAL);
}

Test(proto, extension_is_not_part_of_the_arguments)
{
	struct fuse_in_header h;
	uint8_t ext[8];

	/* GETATTR args cut short, padded by an 8-byte extension. */
	msg_begin(FUSE_GETATTR, 1);
	memcpy(&h, T.msg, sizeof(h));
	h.total_extlen = 1;
	memcpy(T.msg, &h, sizeof(h));
	msg_add(&(struct fuse_getattr_in){ 0 }, 8);
	memset(ext, 0, sizeof(ext));
	msg_add(ext, sizeof(ext));
	send();
	expect_err(-EINVAL);
	cr_assert_eq(fk.calls[F_GETATTR], 0);
}

Test(proto, short_arguments)
{
	msg_begin(FUSE_GETATTR, 1);
	msg_add(&(struct fuse_getattr_in){ 0 }, 8);
	send();
	expect_err(-EINVAL);
	cr_assert_eq(fk.calls[F_GETATTR], 0);
}

Test(proto, unknown_opcodes_get_enosys)
{
	const uint32_t codes[] = { 0, 7, 19, FUSE_GETLK, FUSE_SETLK,
				   FUSE_SETLKW, FUSE_BMAP, FUSE_IOCTL,
				   FUSE_POLL, FUSE_NOTIFY_REPLY,
				   FUSE_SETUPMAPPING, FUSE_REMOVEMAPPING,
				   52, 4096, 0xffffffffu };

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		msg_begin(codes[i], 1);
		msg_add(&(uint8_t[64]){ 0 }, 64);
		send();
		expect_err(-ENOSYS);
	}
}

Test(proto, no_room_for_a_header_means_no_reply)
{
	msg_begin(FUSE_STATFS, 1);
	send_out(15);
	expect_noreply();
}

Test(proto, no_room_for_the_reply)
{
	msg_begin(FUSE_LOOKUP, 1);
	msg_str("a");
	send_out(sizeof(struct fuse_out_header) +
		 sizeof(struct fuse_entry_out) - 1);
	expect_err(-ERANGE);
	cr_assert_eq(fk.calls[F_LOOKUP], 0, "checked before the lookup");
}

Test(proto, bogus_errno_from_fs_becomes_eio)
{
	fk.err[F_STATFS] = -600;
	msg_begin(FUSE_STATFS, 1);
	send();
	expect_err(-EIO);
}

Test(proto, null_ops_answer_enosys)
{
	static const struct fs_ops empty;
	const uint32_t codes[] = { FUSE_STATFS, FUSE_READLINK, FUSE_SYNCFS };

	cfg.ops = &empty;
	restart();
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		msg_begin(codes[i], 1);
		send();
		expect_err(-ENOSYS);
	}
	msg_begin(FUSE_LOOKUP, 1);
	msg_str("x");
	send();
	expect_err(-ENOSYS);
	msg_begin(FUSE_GETXATTR, 1);
	msg_add(&(struct fuse_getxattr_in){ .size = 0 },
		sizeof(struct fuse_getxattr_in));
	msg_str("user.x");
	send();
	expect_err(-ENOSYS);
	msg_begin(FUSE_READ, 1);
	msg_add(&(struct fuse_read_in){ .size = 10 },
		sizeof(struct fuse_read_in));
	send();
	expect_err(-ENOSYS);
}

Test(proto, single_iovecs_work_too)
{
	msg_begin(FUSE_STATFS, 1);
	send_split(OUT_MAX, SPLIT_ONE, SPLIT_ONE);
	expect_ok(sizeof(struct fuse_statfs_out));
}

Test(proto, byte_sized_iovecs_work_too)
{
	msg_begin(FUSE_LOOKUP, 1);
	msg_str("some-name");
	send_split(4096, SPLIT_BYTES, SPLIT_BYTES);
	expect_ok(sizeof(struct fuse_entry_out));
	cr_assert_str_eq(fk.name, "some-name");
}

Test(proto, interrupt_has_no_reply)
{
	msg_begin(FUSE_INTERRUPT, 0);
	msg_add(&(struct fuse_interrupt_in){ .unique = 99 },
		sizeof(struct fuse_interrupt_in));
	send();
	expect_noreply();
}

/* ---- names ------------------------------------------------------------ */

static void lookup_raw(const void *name, size_t len)
{
	msg_begin(FUSE_LOOKUP, 1);
	msg_add(name, len);
	send();
}

Test(proto, name_validation)
{
	char longname[NAME_MAX + 2];

	lookup_raw("abc", 3);                 /* unterminated */
	expect_err(-EINVAL);
	lookup_raw("", 1);                    /* empty */
	expect_err(-EINVAL);
	lookup_raw("a/b", 4);
	expect_err(-EINVAL);
	lookup_raw(".", 2);
	expect_err(-EINVAL);
	lookup_raw("..", 3);
	expect_err(-EINVAL);
	lookup_raw("", 0);                    /* no name at all */
	expect_err(-EINVAL);
	memset(longname, 'x', sizeof(longname));
	longname[NAME_MAX + 1] = '\0';
	lookup_raw(longname, NAME_MAX + 2);
	expect_err(-ENAMETOOLONG);
	cr_assert_eq(fk.calls[F_LOOKUP], 0);

	longname[NAME_MAX] = '\0';
	lookup_raw(longname, NAME_MAX + 1);
	expect_ok(sizeof(struct fuse_entry_out));
	lookup_raw("...", 4);
	expect_ok(sizeof(struct fuse_entry_out));
	lookup_raw(".hidden", 8);
	expect_ok(sizeof(struct fuse_entry_out));
	cr_assert_eq(fk.calls[F_LOOKUP], 3);
}

Test(proto, dot_names_refused_by_creating_ops)
{
	msg_begin(FUSE_MKDIR, 1);
	msg_add(&(struct fuse_mkdir_in){ .mode = 0755 },
		sizeof(struct fuse_mkdir_in));
	msg_str("..");
	send();
	expect_err(-EINVAL);
	msg_begin(FUSE_RENAME, 1);
	msg_add(&(struct fuse_rename_in){ .newdir = 1 },
		sizeof(struct fuse_rename_in));
	msg_str("a");
	msg_str(".");
	send();
	expect_err(-EINVAL);
	msg_begin(FUSE_UNLINK, 1);
	msg_str("..");
	send();
	expect_err(-EINVAL);
	cr_assert_eq(fk.calls[F_MKDIR] + fk.calls[F_RENAME] +
		     fk.calls[F_UNLINK], 0);
}

/* ---- names and attributes --------------------------------------------- */

static void check_attr(const struct fuse_attr *a, uint64_t ino)
{
	cr_assert_eq(a->ino, ino);
	cr_assert_eq(a->size, 123456);
	cr_assert_eq(a->blocks, 248);
	cr_assert_eq(a->atime, 1000);
	cr_assert_eq(a->atimensec, 1);
	cr_assert_eq(a->mtime, 2000);
	cr_assert_eq(a->mtimensec, 2);
	cr_assert_eq(a->ctime, 3000);
	cr_assert_eq(a->ctimensec, 3);
	cr_assert_eq(a->mode, S_IFREG | 0644);
	cr_assert_eq(a->nlink, 3);
	cr_assert_eq(a->uid, 1000);
	cr_assert_eq(a->gid, 1001);
	cr_assert_eq(a->rdev, (8u << 8) | 17u);
	cr_assert_eq(a->blksize, 4096);
	cr_assert_eq(a->flags, 0);
}

static struct fuse_entry_out entry_out(void)
{
	struct fuse_entry_out e;

	memcpy(&e, payload(), sizeof(e));
	return e;
}

static void check_entry(uint64_t nodeid)
{
	struct fuse_entry_out e = entry_out();

	expect_ok(sizeof(e));
	cr_assert_eq(e.nodeid, nodeid);
	cr_assert_eq(e.generation, 7);
	cr_assert_eq(e.entry_valid, 1);
	cr_assert_eq(e.entry_valid_nsec, 500000000);
	cr_assert_eq(e.attr_valid, 2);
	cr_assert_eq(e.attr_valid_nsec, 250000000);
	check_attr(&e.attr, nodeid + 1000);
}

Test(ops, lookup_encodes_the_entry)
{
	msg_begin(FUSE_LOOKUP, 42);
	msg_str("file");
	send();
	check_entry(100);
	cr_assert_eq(fk.nodeid, 42);
	cr_assert_str_eq(fk.name, "file");
	cr_assert_eq(fk.ctx.uid, 1234);
	cr_assert_eq(fk.ctx.gid, 5678);
	cr_assert_eq(fk.ctx.pid, 4321);
}

static uint32_t lookup_attr_flags(const char *name)
{
	msg_begin(FUSE_LOOKUP, 1);
	msg_str(name);
	send();
	expect_ok(sizeof(struct fuse_entry_out));
	return entry_out().attr.flags;
}

/* FUSE_ATTR_SUBMOUNT only on the directory the filesystem marks, and only
 * with --announce-submounts and a guest that agreed to FUSE_SUBMOUNTS. */
Test(ops, submount_flag_needs_config_and_guest)
{
	fk.submount_name = "mnt";
	cr_assert_eq(lookup_attr_flags("mnt"), 0);

	cfg.announce_submounts = true;
	restart();
	cr_assert_eq(lookup_attr_flags("mnt"), FUSE_ATTR_SUBMOUNT);
	cr_assert_eq(lookup_attr_flags("file"), 0);

	server_free(srv);
	start_server();
	send_init(7, 38, 0xffffffffu & ~FUSE_SUBMOUNTS, 0);
	expect_ok(sizeof(struct fuse_init_out));
	cr_assert_eq(lookup_attr_flags("mnt"), 0);
}

Test(ops, lookup_enoent_gives_negative_entry)
{
	fk.missing_name = "gone";
	msg_begin(FUSE_LOOKUP, 1);
	msg_str("gone");
	send();
	expect_ok(sizeof(struct fuse_entry_out));
	cr_assert_eq(entry_out().nodeid, 0);
	cr_assert_eq(entry_out().entry_valid, 1);
	cr_assert_eq(entry_out().entry_valid_nsec, 500000000);
}

Test(ops, lookup_enoent_without_entry_timeout)
{
	cfg.entry_timeout = 0;
	restart();
	fk.missing_name = "gone";
	msg_begin(FUSE_LOOKUP, 1);
	msg_str("gone");
	send();
	expect_err(-ENOENT);
}

Test(ops, lookup_error_passes_through)
{
	fk.err[F_LOOKUP] = -EACCES;
	msg_begin(FUSE_LOOKUP, 1);
	msg_str("x");
	send();
	expect_err(-EACCES);
}

Test(ops, forget_passes_count_without_reply)
{
	msg_begin(FUSE_FORGET, 77);
	msg_add(&(struct fuse_forget_in){ .nlookup = 5 },
		sizeof(struct fuse_forget_in));
	send();
	expect_noreply();
	cr_assert_eq(fk.nforget, 1);
	cr_assert_eq(fk.forget_id[0], 77);
	cr_assert_eq(fk.forget_n[0], 5);
}

Test(ops, short_forget_has_no_reply_either)
{
	msg_begin(FUSE_FORGET, 77);
	msg_add(&(uint32_t){ 1 }, 4);
	send();
	expect_noreply();
	cr_assert_eq(fk.nforget, 0);
}

static void batch_forget(uint32_t count, unsigned int present)
{
	struct fuse_batch_forget_in in = { .count = count };

	msg_begin(FUSE_BATCH_FORGET, 0);
	msg_add(&in, sizeof(in));
	for (unsigned int i = 0; i < present; i++) {
		struct fuse_forget_one one = { .nodeid = 10 + i,
					       .nlookup = 1 + i };

		msg_add(&one, sizeof(one));
	}
	send();
}

Test(ops, batch_forget_passes_every_entry)
{
	batch_forget(100, 100);
	expect_noreply();
	cr_assert_eq(fk.nforget, 100);
	for (unsigned int i = 0; i < 100; i++) {
		cr_assert_eq(fk.forget_id[i], 10 + i);
		cr_assert_eq(fk.forget_n[i], 1 + i);
	}
}

Test(ops, batch_forget_count_bounded_by_request)
{
	batch_forget(0xffffffffu, 2);
	expect_noreply();
	cr_assert_eq(fk.nforget, 2);
	batch_forget(1, 3);
	expect_noreply();
	cr_assert_eq(fk.nforget, 3);
}

Test(ops, getattr_with_and_without_fh)
{
	struct fuse_attr_out out;

	msg_begin(FUSE_GETATTR, 9);
	msg_add(&(struct fuse_getattr_in){ .fh = 55 },
		sizeof(struct fuse_getattr_in));
	send();
	expect_ok(sizeof(out));
	cr_assert_not(fk.has_getattr_fh);
	memcpy(&out, payload(), sizeof(out));
	cr_assert_eq(out.attr_valid, 2);
	cr_assert_eq(out.attr_valid_nsec, 250000000);
	check_attr(&out.attr, 9);

	msg_begin(FUSE_GETATTR, 9);
	msg_add(&(struct fuse_getattr_in){ .getattr_flags = FUSE_GETATTR_FH,
					   .fh = 55 },
		sizeof(struct fuse_getattr_in));
	send();
	expect_ok(sizeof(out));
	cr_assert(fk.has_getattr_fh);
	cr_assert_eq(fk.fh, 55);
}

static void send_setattr(const struct fuse_setattr_in *in)
{
	msg_begin(FUSE_SETATTR, 8);
	msg_add(in, sizeof(*in));
	send();
}

Test(ops, setattr_translates_fields)
{
	struct fuse_setattr_in in = {
		.valid = FATTR_MODE | FATTR_UID | FATTR_GID | FATTR_SIZE |
			 FATTR_ATIME | FATTR_MTIME | FATTR_MTIME_NOW |
			 FATTR_FH | FATTR_CTIME | FATTR_KILL_SUIDGID |
			 FATTR_LOCKOWNER,
		.mode = 0600, .uid = 11, .gid = 12, .size = 4096,
		.atime = 100, .atimensec = 5, .mtime = 200,
		.ctime = (uint64_t)-3, .ctimensec = 7, .fh = 31,
	};
	const struct fs_setattr *s = &fk.setattr;

	send_setattr(&in);
	expect_ok(sizeof(struct fuse_attr_out));
	cr_assert_eq(s->valid, FS_SET_MODE | FS_SET_UID | FS_SET_GID |
		     FS_SET_SIZE | FS_SET_ATIME | FS_SET_MTIME |
		     FS_SET_MTIME_NOW | FS_SET_CTIME | FS_SET_KILL_SUIDGID);
	cr_assert_eq(s->mode, 0600);
	cr_assert_eq(s->uid, 11);
	cr_assert_eq(s->gid, 12);
	cr_assert_eq(s->size, 4096);
	cr_assert_eq(s->atime.tv_sec, 100);
	cr_assert_eq(s->atime.tv_nsec, 5);
	cr_assert_eq(s->ctime.tv_sec, -3, "times before 1970 stay negative");
	cr_assert_eq(s->ctime.tv_nsec, 7);
	cr_assert(s->has_fh);
	cr_assert_eq(s->fh, 31);
	cr_assert_eq(fk.nodeid, 8);
}

Test(ops, setattr_nothing_set)
{
	struct fuse_setattr_in in = { .valid = 0, .mode = 0777 };

	send_setattr(&in);
	expect_ok(sizeof(struct fuse_attr_out));
	cr_assert_eq(fk.setattr.valid, 0);
	cr_assert_not(fk.setattr.has_fh);
}

Test(ops, setattr_rejects_bad_values)
{
	struct fuse_setattr_in in = { .valid = FATTR_SIZE,
				      .size = (uint64_t)INT64_MAX + 1 };

	send_setattr(&in);
	expect_err(-EINVAL);
	in = (struct fuse_setattr_in){ .valid = FATTR_MTIME,
				       .mtimensec = 1000000000 };
	send_setattr(&in);
	expect_err(-EINVAL);
	cr_assert_eq(fk.calls[F_SETATTR], 0);
}

Test(ops, readlink_returns_target)
{
	msg_begin(FUSE_READLINK, 3);
	send();
	expect_ok(strlen(fk.link_target));
	cr_assert_eq(memcmp(payload(), fk.link_target,
			    strlen(fk.link_target)), 0);
}

Test(ops, symlink_passes_name_and_target)
{
	msg_begin(FUSE_SYMLINK, 4);
	msg_str("lnk");
	msg_str("../some/where");
	send();
	check_entry(100);
	cr_assert_str_eq(fk.name, "lnk");
	cr_assert_str_eq(fk.target, "../some/where");
	cr_assert_eq(fk.nodeid, 4);
}

Test(ops, symlink_target_checked)
{
	static char target[PATH_MAX + 1];

	msg_begin(FUSE_SYMLINK, 4);
	msg_str("lnk");
	msg_add("abc", 3);
	send();
	expect_err(-EINVAL);

	memset(target, 'a', PATH_MAX);
	target[PATH_MAX] = '\0';
	msg_begin(FUSE_SYMLINK, 4);
	msg_str("lnk");
	msg_str(target);
	send();
	expect_err(-ENAMETOOLONG);

	target[PATH_MAX - 1] = '\0';
	msg_begin(FUSE_SYMLINK, 4);
	msg_str("lnk");
	msg_str(target);
	send();
	expect_ok(sizeof(struct fuse_entry_out));
	cr_assert_eq(strlen(fk.target), PATH_MAX - 1);
}

Test(ops, mknod_passes_mode_rdev_umask)
{
	struct fuse_mknod_in in = { .mode = S_IFCHR | 0600,
				    .rdev = (1u << 8) | 3u, .umask = 022 };

	msg_begin(FUSE_MKNOD, 2);
	msg_add(&in, sizeof(in));
	msg_str("null");
	send();
	check_entry(100);
	cr_assert_eq(fk.mode, S_IFCHR | 0600);
	cr_assert_eq(fk.rdev, makedev(1, 3));
	cr_assert_eq(fk.umask, 022);
	cr_assert_str_eq(fk.name, "null");
}

Test(ops, mkdir_passes_mode_umask_and_creds)
{
	msg_begin(FUSE_MKDIR, 2);
	msg_add(&(struct fuse_mkdir_in){ .mode = 0755, .umask = 027 },
		sizeof(struct fuse_mkdir_in));
	msg_str("d");
	send();
	check_entry(100);
	cr_assert_eq(fk.mode, 0755);
	cr_assert_eq(fk.umask, 027);
	cr_assert_eq(fk.ctx.uid, 1234);
	cr_assert_eq(fk.ctx.gid, 5678);
}

Test(ops, unlink_and_rmdir)
{
	msg_begin(FUSE_UNLINK, 6);
	msg_str("f");
	send();
	expect_ok(0);
	cr_assert_eq(fk.calls[F_UNLINK], 1);
	cr_assert_str_eq(fk.name, "f");
	msg_begin(FUSE_RMDIR, 6);
	msg_str("d");
	send();
	expect_ok(0);
	cr_assert_eq(fk.calls[F_RMDIR], 1);
	cr_assert_str_eq(fk.name, "d");
	fk.err[F_RMDIR] = -ENOTEMPTY;
	send();
	expect_err(-ENOTEMPTY);
}

Test(ops, rename_passes_both_names)
{
	msg_begin(FUSE_RENAME, 5);
	msg_add(&(struct fuse_rename_in){ .newdir = 6 },
		sizeof(struct fuse_rename_in));
	msg_str("old");
	msg_str("new");
	send();
	expect_ok(0);
	cr_assert_eq(fk.nodeid, 5);
	cr_assert_eq(fk.nodeid2, 6);
	cr_assert_str_eq(fk.name, "old");
	cr_assert_str_eq(fk.name2, "new");
	cr_assert_eq(fk.rename_flags, 0);
}

Test(ops, rename_needs_two_terminated_names)
{
	msg_begin(FUSE_RENAME, 5);
	msg_add(&(struct fuse_rename_in){ .newdir = 6 },
		sizeof(struct fuse_rename_in));
	msg_str("old");
	msg_add("new", 3);
	send();
	expect_err(-EINVAL);
	cr_assert_eq(fk.calls[F_RENAME], 0);
}

Test(ops, rename2_flags)
{
	const uint32_t ok[] = { 0, RENAME_NOREPLACE, RENAME_EXCHANGE,
				RENAME_WHITEOUT };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		msg_begin(FUSE_RENAME2, 5);
		msg_add(&(struct fuse_rename2_in){ .newdir = 7,
						   .flags = ok[i] },
			sizeof(struct fuse_rename2_in));
		msg_str("a");
		msg_str("b");
		send();
		expect_ok(0);
		cr_assert_eq(fk.rename_flags, ok[i]);
		cr_assert_eq(fk.nodeid2, 7);
	}
	msg_begin(FUSE_RENAME2, 5);
	msg_add(&(struct fuse_rename2_in){ .newdir = 7, .flags = 1u << 5 },
		sizeof(struct fuse_rename2_in));
	msg_str("a");
	msg_str("b");
	send();
	expect_err(-EINVAL);
}

Test(ops, link_names_node_and_new_parent)
{
	msg_begin(FUSE_LINK, 20);
	msg_add(&(struct fuse_link_in){ .oldnodeid = 30 },
		sizeof(struct fuse_link_in));
	msg_str("hard");
	send();
	expect_ok(sizeof(struct fuse_entry_out));
	cr_assert_eq(fk.nodeid, 30);
	cr_assert_eq(fk.nodeid2, 20);
	cr_assert_str_eq(fk.name, "hard");
	cr_assert_eq(entry_out().nodeid, 30);
}

Test(ops, statfs_encoding)
{
	struct fuse_statfs_out out;

	msg_begin(FUSE_STATFS, 1);
	send();
	expect_ok(sizeof(out));
	memcpy(&out, payload(), sizeof(out));
	cr_assert_eq(out.st.blocks, 1000);
	cr_assert_eq(out.st.bfree, 500);
	cr_assert_eq(out.st.bavail, 400);
	cr_assert_eq(out.st.files, 100);
	cr_assert_eq(out.st.ffree, 50);
	cr_assert_eq(out.st.bsize, 4096);
	cr_assert_eq(out.st.frsize, 512);
	cr_assert_eq(out.st.namelen, 255);
}

Test(ops, access_mask)
{
	msg_begin(FUSE_ACCESS, 3);
	msg_add(&(struct fuse_access_in){ .mask = R_OK | X_OK },
		sizeof(struct fuse_access_in));
	send();
	expect_ok(0);
	cr_assert_eq(fk.mask, R_OK | X_OK);
	fk.err[F_ACCESS] = -EACCES;
	send();
	expect_err(-EACCES);
}

Test(ops, open_reply_and_flags)
{
	struct fuse_open_out out;

	fk.open_fh = 0x1122334455667788ull;
	fk.open_flags = FOPEN_KEEP_CACHE;
	msg_begin(FUSE_OPEN, 3);
	msg_add(&(struct fuse_open_in){ .flags = O_RDWR | O_APPEND },
		sizeof(struct fuse_open_in));
	send();
	expect_ok(sizeof(out));
	memcpy(&out, payload(), sizeof(out));
	cr_assert_eq(out.fh, 0x1122334455667788ull);
	cr_assert_eq(out.open_flags, FOPEN_KEEP_CACHE);
	cr_assert_eq(fk.flags, O_RDWR | O_APPEND);
}

Test(ops, open_with_direct_io_config)
{
	struct fuse_open_out out;

	cfg.direct_io = true;
	restart();
	msg_begin(FUSE_OPEN, 3);
	msg_add(&(struct fuse_open_in){ .flags = O_RDONLY },
		sizeof(struct fuse_open_in));
	send();
	expect_ok(sizeof(out));
	memcpy(&out, payload(), sizeof(out));
	cr_assert(out.open_flags & FOPEN_DIRECT_IO);
}

Test(ops, create_replies_entry_and_open)
{
	struct fuse_open_out oout;
	struct fuse_create_in in = { .flags = O_WRONLY | O_CREAT | O_EXCL,
				     .mode = S_IFREG | 0640, .umask = 022 };

	msg_begin(FUSE_CREATE, 2);
	msg_add(&in, sizeof(in));
	msg_str("new");
	send();
	expect_ok(sizeof(struct fuse_entry_out) + sizeof(oout));
	cr_assert_eq(entry_out().nodeid, 100);
	memcpy(&oout, (uint8_t *)payload() + sizeof(struct fuse_entry_out),
	       sizeof(oout));
	cr_assert_eq(oout.fh, 0xf00d);
	cr_assert_eq(fk.flags, O_WRONLY | O_CREAT | O_EXCL);
	cr_assert_eq(fk.mode, S_IFREG | 0640);
	cr_assert_eq(fk.umask, 022);
	cr_assert_str_eq(fk.name, "new");
}

Test(ops, tmpfile_replies_entry_and_open_ignoring_the_name)
{
	struct fuse_open_out oout;
	struct fuse_create_in in = { .flags = O_RDWR | O_TMPFILE,
				     .mode = S_IFREG | 0600, .umask = 022 };

	/* The kernel's placeholder name for the unnamed dentry is "/". */
	msg_begin(FUSE_TMPFILE, 2);
	msg_add(&in, sizeof(in));
	msg_str("/");
	send();
	expect_ok(sizeof(struct fuse_entry_out) + sizeof(oout));
	cr_assert_eq(fk.calls[F_TMPFILE], 1);
	cr_assert_eq(fk.nodeid, 2);
	cr_assert_eq(entry_out().nodeid, 100);
	memcpy(&oout, (uint8_t *)payload() + sizeof(struct fuse_entry_out),
	       sizeof(oout));
	cr_assert_eq(oout.fh, 0xf00d);
	cr_assert_eq(fk.flags, O_RDWR | O_TMPFILE);
	cr_assert_eq(fk.umask, 022);

	/* Read-only O_TMPFILE is invalid (open(2) says so too). */
	in.flags = O_RDONLY | O_TMPFILE;
	msg_begin(FUSE_TMPFILE, 2);
	msg_add(&in, sizeof(in));
	msg_str("/");
	send();
	expect_err(-EINVAL);
	cr_assert_eq(fk.calls[F_TMPFILE], 1);
}

static void send_open(uint32_t flags, uint32_t open_flags)
{
	msg_begin(FUSE_OPEN, 3);
	msg_add(&(struct fuse_open_in){ .flags = flags,
					.open_flags = open_flags },
		sizeof(struct fuse_open_in));
	send();
	expect_ok(sizeof(struct fuse_open_out));
}

Test(ops, killpriv_v2_open_trunc_kills_through_setattr)
{
	/* Not negotiated: the flag is ignored. */
	send_open(O_WRONLY | O_TRUNC, FUSE_OPEN_KILL_SUIDGID);
	cr_assert_eq(fk.calls[F_SETATTR], 0);

	cfg.killpriv_v2 = true;
	restart();
	cr_assert(fk.init_info.killpriv_v2);
	send_open(O_WRONLY, FUSE_OPEN_KILL_SUIDGID);    /* no O_TRUNC */
	send_open(O_WRONLY | O_TRUNC, 0);               /* caller has FSETID */
	cr_assert_eq(fk.calls[F_SETATTR], 0);
	fk.open_fh = 77;
	send_open(O_WRONLY | O_TRUNC, FUSE_OPEN_KILL_SUIDGID);
	cr_assert_eq(fk.calls[F_SETATTR], 1);
	cr_assert_eq(fk.setattr.valid, FS_SET_KILL_SUIDGID);
	cr_assert(fk.setattr.has_fh);
	cr_assert_eq(fk.setattr.fh, 77);
	cr_assert_eq(fk.nodeid, 3);

	/* A failed kill undoes the open. */
	fk.err[F_SETATTR] = -EPERM;
	msg_begin(FUSE_OPEN, 3);
	msg_add(&(struct fuse_open_in){ .flags = O_RDWR | O_TRUNC,
					.open_flags = FUSE_OPEN_KILL_SUIDGID },
		sizeof(struct fuse_open_in));
	send();
	expect_err(-EPERM);
	cr_assert_eq(fk.calls[F_RELEASE], 1);
	cr_assert_eq(fk.fh, 77);
}

Test(ops, release_flush_fsync)
{
	msg_begin(FUSE_RELEASE, 3);
	msg_add(&(struct fuse_release_in){ .fh = 9 },
		sizeof(struct fuse_release_in));
	send();
	expect_ok(0);
	cr_assert_eq(fk.calls[F_RELEASE], 1);
	cr_assert_eq(fk.fh, 9);

	msg_begin(FUSE_FLUSH, 3);
	msg_add(&(struct fuse_flush_in){ .fh = 10 },
		sizeof(struct fuse_flush_in));
	send();
	expect_ok(0);
	cr_assert_eq(fk.fh, 10);

	msg_begin(FUSE_FSYNC, 3);
	msg_add(&(struct fuse_fsync_in){ .fh = 11,
					 .fsync_flags = FUSE_FSYNC_FDATASYNC },
		sizeof(struct fuse_fsync_in));
	send();
	expect_ok(0);
	cr_assert_eq(fk.fh, 11);
	cr_assert(fk.datasync);

	msg_begin(FUSE_FSYNC, 3);
	msg_add(&(struct fuse_fsync_in){ .fh = 11 },
		sizeof(struct fuse_fsync_in));
	send();
	expect_ok(0);
	cr_assert_not(fk.datasync);
}

Test(ops, fallocate_checks_ranges)
{
	struct fuse_fallocate_in in = { .fh = 4, .offset = 4096,
					.length = 8192, .mode = 1 };

	msg_begin(FUSE_FALLOCATE, 3);
	msg_add(&in, sizeof(in));
	send();
	expect_ok(0);
	cr_assert_eq(fk.offset, 4096);
	cr_assert_eq(fk.length, 8192);
	cr_assert_eq(fk.fallocate_mode, 1);

	in.offset = (uint64_t)INT64_MAX;
	msg_begin(FUSE_FALLOCATE, 3);
	msg_add(&in, sizeof(in));
	send();
	expect_err(-EINVAL);
	in.offset = (uint64_t)-4096;
	msg_begin(FUSE_FALLOCATE, 3);
	msg_add(&in, sizeof(in));
	send();
	expect_err(-EINVAL);
	cr_assert_eq(fk.calls[F_FALLOCATE], 1);
}

Test(ops, lseek_whence_and_reply)
{
	struct fuse_lseek_out out;
	const uint32_t good[] = { SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA,
				  SEEK_HOLE };

	fk.lseek_result = 8192;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		msg_begin(FUSE_LSEEK, 3);
		msg_add(&(struct fuse_lseek_in){ .fh = 1, .offset = 100,
						 .whence = good[i] },
			sizeof(struct fuse_lseek_in));
		send();
		expect_ok(sizeof(out));
		memcpy(&out, payload(), sizeof(out));
		cr_assert_eq(out.offset, 8192);
		cr_assert_eq(fk.whence, (int)good[i]);
	}
	msg_begin(FUSE_LSEEK, 3);
	msg_add(&(struct fuse_lseek_in){ .whence = 5 },
		sizeof(struct fuse_lseek_in));
	send();
	expect_err(-EINVAL);
	msg_begin(FUSE_LSEEK, 3);
	msg_add(&(struct fuse_lseek_in){ .offset = (uint64_t)-1,
					 .whence = SEEK_DATA },
		sizeof(struct fuse_lseek_in));
	send();
	expect_err(-EINVAL);
	cr_assert_eq(fk.calls[F_LSEEK], 5);
}

static void send_cfr(const struct fuse_copy_file_range_in *in)
{
	msg_begin(FUSE_COPY_FILE_RANGE, 3);
	msg_add(in, sizeof(*in));
	send();
}

Test(ops, copy_file_range_args_and_reply)
{
	struct fuse_copy_file_range_in in = {
		.fh_in = 1, .off_in = 10, .nodeid_out = 4, .fh_out = 2,
		.off_out = 20, .len = 1000,
	};
	struct fuse_write_out out;

	send_cfr(&in);
	expect_ok(sizeof(out));
	memcpy(&out, payload(), sizeof(out));
	cr_assert_eq(out.size, 1000);
	cr_assert_eq(fk.nodeid, 3);
	cr_assert_eq(fk.nodeid2, 4);
	cr_assert_eq(fk.fh, 1);
	cr_assert_eq(fk.fh2, 2);
	cr_assert_eq(fk.offset, 10);
	cr_assert_eq(fk.offset2, 20);
}

Test(ops, copy_file_range_len_is_bounded)
{
	struct fuse_copy_file_range_in in = { .len = UINT64_MAX };
	struct fuse_write_out out;

	send_cfr(&in);
	expect_ok(sizeof(out));
	memcpy(&out, payload(), sizeof(out));
	cr_assert_leq(fk.size, UINT32_MAX);
	cr_assert_eq(out.size, fk.size);

	in = (struct fuse_copy_file_range_in){ .len = 10, .flags = 1 };
	send_cfr(&in);
	expect_err(-EINVAL);
	in = (struct fuse_copy_file_range_in){ .len = 10,
					       .off_out = (uint64_t)INT64_MAX };
	send_cfr(&in);
	expect_err(-EINVAL);
	in = (struct fuse_copy_file_range_in){ .len = 10,
					       .off_in = (uint64_t)-1 };
	send_cfr(&in);
	expect_err(-EINVAL);
	cr_assert_eq(fk.calls[F_COPY_FILE_RANGE], 1);
}

Test(ops, syncfs)
{
	msg_begin(FUSE_SYNCFS, 1);
	msg_add(&(struct fuse_syncfs_in){ 0 }, sizeof(struct fuse_syncfs_in));
	send();
	expect_ok(0);
	cr_assert_eq(fk.calls[F_SYNCFS], 1);
}

Test(ops, dir_handles)
{
	struct fuse_open_out out;

	fk.open_fh = 77;
	msg_begin(FUSE_OPENDIR, 5);
	msg_add(&(struct fuse_open_in){ .flags = O_RDONLY | O_DIRECTORY },
		sizeof(struct fuse_open_in));
	send();
	expect_ok(sizeof(out));
	memcpy(&out, payload(), sizeof(out));
	cr_assert_eq(out.fh, 77);
	cr_assert_eq(fk.flags, O_RDONLY | O_DIRECTORY);

	msg_begin(FUSE_FSYNCDIR, 5);
	msg_add(&(struct fuse_fsync_in){ .fh = 77,
					 .fsync_flags = FUSE_FSYNC_FDATASYNC },
		sizeof(struct fuse_fsync_in));
	send();
	expect_ok(0);
	cr_assert(fk.datasync);

	msg_begin(FUSE_RELEASEDIR, 5);
	msg_add(&(struct fuse_release_in){ .fh = 77 },
		sizeof(struct fuse_release_in));
	send();
	expect_ok(0);
	cr_assert_eq(fk.calls[F_RELEASEDIR], 1);
	cr_assert_eq(fk.fh, 77);
}

/* ---- READ / WRITE ----------------------------------------------------- */

static void send_read(uint64_t off, uint32_t size, size_t out_len)
{
	msg_begin(FUSE_READ, 3);
	msg_add(&(struct fuse_read_in){ .fh = 12, .offset = off,
					.size = size },
		sizeof(struct fuse_read_in));
	send_out(out_len);
}

static void check_read_data(uint64_t off, size_t n)
{
	const uint8_t *p = payload();

	for (size_t i = 0; i < n; i++)
		cr_assert_eq(p[i], (uint8_t)(off + i), "byte %zu", i);
}

Test(data, read_into_split_buffers)
{
	send_read(1000, 5000, sizeof(struct fuse_out_header) + 5000);
	expect_ok(5000);
	check_read_data(1000, 5000);
	cr_assert_eq(fk.size, 5000, "the fs got exactly size bytes");
	cr_assert_eq(fk.offset, 1000);
	cr_assert_eq(fk.fh, 12);
	cr_assert_eq(fk.nodeid, 3);
}

Test(data, read_iovecs_trimmed_to_size)
{
	send_read(0, 100, OUT_MAX);
	expect_ok(100);
	cr_assert_eq(fk.size, 100);
	check_read_data(0, 100);
}

Test(data, short_read)
{
	fk.read_max = 10;
	send_read(7, 4096, OUT_MAX);
	expect_ok(10);
	check_read_data(7, 10);
}

Test(data, read_zero_bytes)
{
	send_read(0, 0, OUT_MAX);
	expect_ok(0);
}

Test(data, read_buffer_too_small_is_refused)
{
	send_read(0, 4096, sizeof(struct fuse_out_header) + 4095);
	expect_err(-EINVAL);
	cr_assert_eq(fk.calls[F_READ], 0);
}

Test(data, read_size_bounded_by_max_write)
{
	send_read(0, (1u << 20) + 1, OUT_MAX);
	expect_err(-EINVAL);
	cr_assert_eq(fk.calls[F_READ], 0);
}

Test(data, read_offset_checked)
{
	send_read((uint64_t)INT64_MAX + 1, 10, OUT_MAX);
	expect_err(-EINVAL);
	send_read((uint64_t)INT64_MAX - 5, 10, OUT_MAX);
	expect_err(-EINVAL);
	cr_assert_eq(fk.calls[F_READ], 0);
}

Test(data, read_completes_asynchronously)
{
	fk.defer = true;
	send_read(50, 300, OUT_MAX);
	cr_assert_eq(T.done_calls, 0, "no reply before the I/O completes");
	cr_assert_not_null(fk.pending_op);
	fake_fs_complete(&fk, 300);
	expect_ok(300);
	check_read_data(50, 300);
}

Test(data, read_error_completion)
{
	fk.defer = true;
	send_read(0, 300, OUT_MAX);
	fake_fs_complete(&fk, -EIO);
	expect_err(-EIO);
}

Test(data, read_fs_refusal)
{
	fk.err[F_READ] = -EBADF;
	send_read(0, 300, OUT_MAX);
	expect_err(-EBADF);
}

Test(data, read_completion_larger_than_buffer)
{
	fk.defer = true;
	send_read(0, 300, sizeof(struct fuse_out_header) + 300);
	fake_fs_complete(&fk, 301);
	expect_err(-EIO);
}

static void send_write(uint64_t off, uint32_t size, size_t present,
		       uint32_t flags)
{
	uint8_t data[8192];

	cr_assert_leq(present, sizeof(data));
	for (size_t i = 0; i < present; i++)
		data[i] = (uint8_t)(i * 7 + 1);
	msg_begin(FUSE_WRITE, 3);
	msg_add(&(struct fuse_write_in){ .fh = 13, .offset = off,
					 .size = size, .write_flags = flags },
		sizeof(struct fuse_write_in));
	msg_add(data, present);
	send();
}

Test(data, write_from_split_buffers)
{
	struct fuse_write_out out;

	send_write(4096, 8000, 8000, 0);
	expect_ok(sizeof(out));
	memcpy(&out, payload(), sizeof(out));
	cr_assert_eq(out.size, 8000);
	cr_assert_eq(fk.wlen, 8000);
	for (size_t i = 0; i < 8000; i++)
		cr_assert_eq(fk.wbuf[i], (uint8_t)(i * 7 + 1), "byte %zu", i);
	cr_assert_eq(fk.offset, 4096);
	cr_assert_eq(fk.fh, 13);
	cr_assert_not(fk.kill_priv);
	cr_assert_eq(fk.ctx.uid, 1234);
}

Test(data, write_kill_priv)
{
	send_write(0, 10, 10, FUSE_WRITE_KILL_SUIDGID);
	expect_ok(sizeof(struct fuse_write_out));
	cr_assert(fk.kill_priv);
}

Test(data, write_size_beyond_data_refused)
{
	send_write(0, 101, 100, 0);
	expect_err(-EINVAL);
	cr_assert_eq(fk.calls[F_WRITE], 0);
}

Test(data, write_size_bounded_by_max_write)
{
	cfg.max_write = 4096;
	restart();
	send_write(0, 4097, 4097, 0);
	expect_err(-EINVAL);
	send_write(0, 4096, 4096, 0);
	expect_ok(sizeof(struct fuse_write_out));
}

Test(data, write_offset_checked)
{
	send_write((uint64_t)-1, 10, 10, 0);
	expect_err(-EINVAL);
	send_write((uint64_t)INT64_MAX, 10, 10, 0);
	expect_err(-EINVAL);
	cr_assert_eq(fk.calls[F_WRITE], 0);
}

Test(data, write_completes_asynchronously)
{
	struct fuse_write_out out;

	fk.defer = true;
	send_write(0, 500, 500, 0);
	cr_assert_eq(T.done_calls, 0);
	fake_fs_complete(&fk, 200);
	expect_ok(sizeof(out));
	memcpy(&out, payload(), sizeof(out));
	cr_assert_eq(out.size, 200);
}

Test(data, write_error_completion)
{
	fk.defer = true;
	send_write(0, 500, 500, 0);
	fake_fs_complete(&fk, -ENOSPC);
	expect_err(-ENOSPC);
}

Test(data, write_out_header_only_room)
{
	msg_begin(FUSE_WRITE, 3);
	msg_add(&(struct fuse_write_in){ .size = 1 },
		sizeof(struct fuse_write_in));
	msg_add("x", 1);
	send_out(sizeof(struct fuse_out_header));
	expect_err(-ERANGE);
	cr_assert_eq(fk.calls[F_WRITE], 0);
}

/* ---- READDIR / READDIRPLUS -------------------------------------------- */

static const struct fake_dirent dir_entries[] = {
	{ ".", 1, DT_DIR },
	{ "..", 1, DT_DIR },
	{ "a", 10, DT_REG },
	{ "eight-ch", 11, DT_REG },
	{ "a-rather-longer-name-here", 12, DT_DIR },
	{ "gone", 13, DT_REG },
	{ "z", 14, DT_LNK },
};

#define NDIR (sizeof(dir_entries) / sizeof(dir_entries[0]))

static void send_readdir(uint32_t op, uint64_t off, uint32_t size,
			 size_t out_len)
{
	fk.dir = dir_entries;
	fk.ndir = NDIR;
	msg_begin(op, 5);
	msg_add(&(struct fuse_read_in){ .fh = 21, .offset = off,
					.size = size },
		sizeof(struct fuse_read_in));
	send_out(out_len);
}

/* Walk a READDIR(PLUS) reply: every record aligned, names right, padding
 * zeroed.  Returns the number of entries. */
static unsigned int walk_dirents(bool plus, uint64_t first,
				 const char **skip)
{
	const uint8_t *p = payload();
	size_t len = T.done_len - sizeof(struct fuse_out_header);
	size_t pos = 0;
	unsigned int n = 0;
	uint64_t idx = first;

	while (pos < len) {
		struct fuse_direntplus dp;
		struct fuse_dirent d;
		size_t hdr = plus ? FUSE_NAME_OFFSET_DIRENTPLUS :
				    FUSE_NAME_OFFSET;
		size_t rec;

		cr_assert_leq(pos + hdr, len);
		if (plus) {
			memcpy(&dp, p + pos, sizeof(dp));
			d = dp.dirent;
		} else {
			memcpy(&d, p + pos, sizeof(d));
		}
		while (skip && *skip && idx < NDIR &&
		       strcmp(dir_entries[idx].name, *skip) == 0) {
			idx++;
			skip++;
		}
		cr_assert_lt(idx, NDIR);
		rec = FUSE_DIRENT_ALIGN(hdr + d.namelen);
		cr_assert_leq(pos + rec, len);
		cr_assert_eq(d.namelen, strlen(dir_entries[idx].name));
		cr_assert_eq(memcmp(p + pos + hdr, dir_entries[idx].name,
				    d.namelen), 0);
		cr_assert_eq(d.ino, dir_entries[idx].ino);
		cr_assert_eq(d.type, dir_entries[idx].type);
		cr_assert_eq(d.off, idx + 1);
		for (size_t k = hdr + d.namelen; k < rec; k++)
			cr_assert_eq(p[pos + k], 0, "padding not zeroed");
		if (plus) {
			const char *nm = dir_entries[idx].name;

			if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0) {
				struct fuse_entry_out zero;

				memset(&zero, 0, sizeof(zero));
				cr_assert_eq(memcmp(&dp.entry_out, &zero,
						    sizeof(zero)), 0);
			} else {
				cr_assert_neq(dp.entry_out.nodeid, 0);
				cr_assert_eq(dp.entry_out.attr.ino,
					     dp.entry_out.nodeid + 1000);
				cr_assert_eq(dp.entry_out.entry_valid, 1);
			}
		}
		pos += rec;
		idx++;
		n++;
	}
	cr_assert_eq(pos, len);
	return n;
}

Test(dir, readdir_lists_everything)
{
	send_readdir(FUSE_READDIR, 0, 4096, OUT_MAX);
	cr_assert_eq(rerr(), 0);
	cr_assert_eq(walk_dirents(false, 0, NULL), NDIR);
	cr_assert_eq(fk.fh, 21);
	cr_assert_eq(fk.nodeid, 5);
}

Test(dir, readdir_from_offset)
{
	send_readdir(FUSE_READDIR, 3, 4096, OUT_MAX);
	cr_assert_eq(rerr(), 0);
	cr_assert_eq(walk_dirents(false, 3, NULL), NDIR - 3);
	cr_assert_eq(fk.readdir_offset, 3);
}

Test(dir, readdir_capped_by_request_size)
{
	/* ".", "..", "a" take 32 bytes each; "eight-ch" 32 too. */
	send_readdir(FUSE_READDIR, 0, 32 * 3 + 31, OUT_MAX);
	cr_assert_eq(rerr(), 0);
	cr_assert_eq(T.done_len, sizeof(struct fuse_out_header) + 96);
	cr_assert_eq(walk_dirents(false, 0, NULL), 3);
}

Test(dir, readdir_capped_by_out_buffer)
{
	send_readdir(FUSE_READDIR, 0, 4096,
		     sizeof(struct fuse_out_header) + 64 + 7);
	cr_assert_eq(rerr(), 0);
	cr_assert_eq(walk_dirents(false, 0, NULL), 2);
}

Test(dir, readdir_first_entry_too_big)
{
	send_readdir(FUSE_READDIR, 0, 31, OUT_MAX);
	expect_err(-EINVAL);
}

Test(dir, readdir_at_end_is_empty)
{
	send_readdir(FUSE_READDIR, NDIR, 4096, OUT_MAX);
	expect_ok(0);
}

Test(dir, readdir_error_without_entries)
{
	fk.err[F_READDIR] = -EBADF;
	send_readdir(FUSE_READDIR, 0, 4096, OUT_MAX);
	expect_err(-EBADF);
}

Test(dir, readdirplus_entries_and_counts)
{
	send_readdir(FUSE_READDIRPLUS, 0, 4096, OUT_MAX);
	cr_assert_eq(rerr(), 0);
	cr_assert_eq(walk_dirents(true, 0, NULL), NDIR);
	/* Everything but "." and "..": one lookup each. */
	cr_assert_eq(fk.calls[F_LOOKUP], NDIR - 2);
	cr_assert_eq(fk.lookups_ok, NDIR - 2);
	cr_assert_eq(fk.ctx.uid, 1234);
}

Test(dir, readdirplus_skips_raced_unlink)
{
	static const char *skip[] = { "gone", NULL };

	fk.missing_name = "gone";
	send_readdir(FUSE_READDIRPLUS, 0, 4096, OUT_MAX);
	cr_assert_eq(rerr(), 0);
	cr_assert_eq(walk_dirents(true, 0, skip), NDIR - 1);
}

Test(dir, readdirplus_lookup_error_gives_nodeid_zero)
{
	const uint8_t *p;
	struct fuse_direntplus dp;
	size_t pos = 0;

	fk.broken_name = "a";
	send_readdir(FUSE_READDIRPLUS, 2, 4096, OUT_MAX);
	cr_assert_eq(rerr(), 0);
	p = payload();
	memcpy(&dp, p + pos, sizeof(dp));
	cr_assert_eq(dp.dirent.namelen, 1);
	cr_assert_eq(dp.entry_out.nodeid, 0);
	cr_assert_eq(dp.dirent.ino, 10);
}

Test(dir, readdirplus_checks_room_before_lookup)
{
	size_t one = FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET_DIRENTPLUS + 1);

	/* Room for "." and ".." and "a", not for "eight-ch". */
	send_readdir(FUSE_READDIRPLUS, 0, (uint32_t)(3 * one + 10), OUT_MAX);
	cr_assert_eq(rerr(), 0);
	cr_assert_eq(walk_dirents(true, 0, NULL), 3);
	cr_assert_eq(fk.calls[F_LOOKUP], 1, "no lookup for what did not fit");
	cr_assert_eq(fk.emitted, 3);
}

Test(dir, readdirplus_first_entry_too_big)
{
	send_readdir(FUSE_READDIRPLUS, 2, 100, OUT_MAX);
	expect_err(-EINVAL);
	cr_assert_eq(fk.calls[F_LOOKUP], 0);
}

/* ---- extended attributes ---------------------------------------------- */

static void send_getxattr(uint32_t size, const char *name, size_t out_len)
{
	msg_begin(FUSE_GETXATTR, 3);
	msg_add(&(struct fuse_getxattr_in){ .size = size },
		sizeof(struct fuse_getxattr_in));
	msg_str(name);
	send_out(out_len);
}

Test(xattr, getxattr_size_query)
{
	struct fuse_getxattr_out out;

	send_getxattr(0, "user.test", OUT_MAX);
	expect_ok(sizeof(out));
	memcpy(&out, payload(), sizeof(out));
	cr_assert_eq(out.size, 5);
	cr_assert_eq(fk.size, 0);
	cr_assert_str_eq(fk.name, "user.test");
}

Test(xattr, getxattr_value)
{
	send_getxattr(100, "user.test", OUT_MAX);
	expect_ok(5);
	cr_assert_eq(memcmp(payload(), "value", 5), 0);
	cr_assert_eq(fk.size, 100);
}

Test(xattr, getxattr_small_buffer_erange)
{
	send_getxattr(3, "user.test", OUT_MAX);
	expect_err(-ERANGE);
}

Test(xattr, getxattr_size_capped_by_reply_room)
{
	send_getxattr(65536, "user.test", sizeof(struct fuse_out_header) + 8);
	expect_ok(5);
	cr_assert_eq(fk.size, 8);
	send_getxattr(1u << 30, "user.test", OUT_MAX);
	expect_ok(5);
	cr_assert_eq(fk.size, 65536);
}

Test(xattr, xattr_names_checked)
{
	char name[300];

	msg_begin(FUSE_GETXATTR, 3);
	msg_add(&(struct fuse_getxattr_in){ .size = 0 },
		sizeof(struct fuse_getxattr_in));
	msg_add("user.x", 6);
	send();
	expect_err(-EINVAL);
	memset(name, 'n', sizeof(name));
	name[256] = '\0';
	send_getxattr(0, name, OUT_MAX);
	expect_err(-ENAMETOOLONG);
	name[255] = '\0';
	send_getxattr(0, name, OUT_MAX);
	expect_ok(sizeof(struct fuse_getxattr_out));
}

Test(xattr, listxattr)
{
	struct fuse_getxattr_out out;

	fk.xattr_value = "user.a\0user.b";
	fk.xattr_len = 14;
	msg_begin(FUSE_LISTXATTR, 3);
	msg_add(&(struct fuse_getxattr_in){ .size = 0 },
		sizeof(struct fuse_getxattr_in));
	send();
	expect_ok(sizeof(out));
	memcpy(&out, payload(), sizeof(out));
	cr_assert_eq(out.size, 14);
	msg_begin(FUSE_LISTXATTR, 3);
	msg_add(&(struct fuse_getxattr_in){ .size = 14 },
		sizeof(struct fuse_getxattr_in));
	send();
	expect_ok(14);
	cr_assert_eq(memcmp(payload(), "user.a\0user.b", 14), 0);
}

static void send_setxattr(uint32_t size, const char *name, const void *val,
			  size_t vlen, uint32_t flags)
{
	msg_begin(FUSE_SETXATTR, 3);
	msg_add(&(struct fuse_setxattr_in){ .size = size, .flags = flags },
		FUSE_COMPAT_SETXATTR_IN_SIZE);
	msg_str(name);
	msg_add(val, vlen);
	send();
}

Test(xattr, setxattr_passes_name_value_flags)
{
	send_setxattr(4, "user.k", "v\0lu", 4, 1);
	expect_ok(0);
	cr_assert_str_eq(fk.name, "user.k");
	cr_assert_eq(fk.size, 4);
	cr_assert_eq(memcmp(fk.xval, "v\0lu", 4), 0);
	cr_assert_eq(fk.flags, 1);
}

Test(xattr, setxattr_empty_value)
{
	send_setxattr(0, "user.k", "", 0, 0);
	expect_ok(0);
	cr_assert_eq(fk.size, 0);
}

Test(xattr, setxattr_sizes_checked)
{
	send_setxattr(5, "user.k", "abcd", 4, 0);   /* value short */
	expect_err(-EINVAL);
	send_setxattr(3, "user.k", "abcd", 4, 0);   /* extra byte */
	expect_err(-EINVAL);
	send_setxattr(65537, "user.k", "abcd", 4, 0);
	expect_err(-E2BIG);
	/* No NUL in the name part. */
	msg_begin(FUSE_SETXATTR, 3);
	msg_add(&(struct fuse_setxattr_in){ .size = 2 },
		FUSE_COMPAT_SETXATTR_IN_SIZE);
	msg_add("user.kab", 8);
	send();
	expect_err(-EINVAL);
	cr_assert_eq(fk.calls[F_SETXATTR], 0);
}

Test(xattr, removexattr)
{
	msg_begin(FUSE_REMOVEXATTR, 3);
	msg_str("user.gone");
	send();
	expect_ok(0);
	cr_assert_str_eq(fk.name, "user.gone");
	fk.err[F_REMOVEXATTR] = -ENODATA;
	send();
	expect_err(-ENODATA);
}

/* ---- read-only mode --------------------------------------------------- */

static void readonly_restart(void)
{
	cfg.readonly = true;
	restart();
}

Test(readonly, modifying_opcodes_get_erofs)
{
	const uint32_t codes[] = {
		FUSE_SETATTR, FUSE_SYMLINK, FUSE_MKNOD, FUSE_MKDIR,
		FUSE_UNLINK, FUSE_RMDIR, FUSE_RENAME, FUSE_LINK, FUSE_WRITE,
		FUSE_SETXATTR, FUSE_REMOVEXATTR, FUSE_CREATE,
		FUSE_FALLOCATE, FUSE_RENAME2, FUSE_COPY_FILE_RANGE,
		FUSE_TMPFILE,
	};
	uint8_t args[128];

	readonly_restart();
	memset(args, 0, sizeof(args));
	memcpy(args + 64, "name\0name2", 11);
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		msg_begin(codes[i], 1);
		msg_add(args, sizeof(args));
		send();
		expect_err(-EROFS);
	}
	for (int op = 0; op < F_COUNT; op++)
		if (op != F_INIT)
			cr_assert_eq(fk.calls[op], 0, "fs op %d called", op);
}

static int open_ro(uint32_t opcode, uint32_t flags)
{
	msg_begin(opcode, 3);
	msg_add(&(struct fuse_open_in){ .flags = flags },
		sizeof(struct fuse_open_in));
	send();
	return rerr();
}

Test(readonly, open_for_writing_refused)
{
	readonly_restart();
	cr_assert_eq(open_ro(FUSE_OPEN, O_WRONLY), -EROFS);
	cr_assert_eq(open_ro(FUSE_OPEN, O_RDWR), -EROFS);
	cr_assert_eq(open_ro(FUSE_OPEN, O_RDONLY | O_TRUNC), -EROFS);
	cr_assert_eq(open_ro(FUSE_OPEN, O_ACCMODE), -EROFS);
	cr_assert_eq(fk.calls[F_OPEN], 0);
	cr_assert_eq(open_ro(FUSE_OPEN, O_RDONLY), 0);
	cr_assert_eq(open_ro(FUSE_OPENDIR, O_RDONLY), 0);
	cr_assert_eq(fk.calls[F_OPEN], 1);
}

Test(readonly, reading_still_works)
{
	readonly_restart();
	send_read(0, 10, OUT_MAX);
	expect_ok(10);
	msg_begin(FUSE_LOOKUP, 1);
	msg_str("x");
	send();
	expect_ok(sizeof(struct fuse_entry_out));
	msg_begin(FUSE_GETXATTR, 3);
	msg_add(&(struct fuse_getxattr_in){ .size = 0 },
		sizeof(struct fuse_getxattr_in));
	msg_str("user.x");
	send();
	expect_ok(sizeof(struct fuse_getxattr_out));
}

/* ---- request extensions ----------------------------------------------- */

static void set_extlen(uint16_t units)
{
	struct fuse_in_header h;

	memcpy(&h, T.msg, sizeof(h));
	h.total_extlen = units;
	memcpy(T.msg, &h, sizeof(h));
}

Test(proto, extension_after_the_name_is_ignored)
{
	static const uint8_t ext[8] = { 8, 0, 0, 0, 1, 0, 0, 0 };

	msg_begin(FUSE_LOOKUP, 1);
	set_extlen(1);
	msg_str("abc");
	msg_add(ext, sizeof(ext));
	send();
	expect_ok(sizeof(struct fuse_entry_out));
	cr_assert_str_eq(fk.name, "abc");
}

Test(proto, extension_does_not_terminate_a_name)
{
	static const uint8_t ext[8] = { 0 };

	msg_begin(FUSE_LOOKUP, 1);
	set_extlen(1);
	msg_add("abc", 3);
	msg_add(ext, sizeof(ext));
	send();
	expect_err(-EINVAL);
	cr_assert_eq(fk.calls[F_LOOKUP], 0);
}

/* ---- concurrency -------------------------------------------------------- */


#define MT_THREADS 4
#define MT_REQUESTS 3000

static atomic_uint mt_inits, mt_destroys, mt_statfs;

static int mt_init(void *fs, const struct fs_init_info *info)
{
	atomic_fetch_add(&mt_inits, 1);
	return 0;
}

static void mt_destroy(void *fs)
{
	atomic_fetch_add(&mt_destroys, 1);
}

static int mt_statfs_op(void *fs, uint64_t nodeid, struct statvfs *out)
{
	atomic_fetch_add(&mt_statfs, 1);
	out->f_bsize = 4096;
	return 0;
}

static const struct fs_ops mt_ops = {
	.init = mt_init,
	.destroy = mt_destroy,
	.statfs = mt_statfs_op,
};

struct mt_req {
	struct server_req req;
	struct fuse_in_header in;
	uint8_t out[256];
	struct iovec iv_in[2], iv_out, scratch[3];
	unsigned int done_calls;
	size_t done_len;
};

static void mt_done(struct server_req *req, size_t len)
{
	struct mt_req *m = (struct mt_req *)req;

	m->done_calls++;
	m->done_len = len;
}

/* Header and argument in two iovecs, single reply iovec. */
static void mt_send(struct mt_req *m, uint32_t opcode, const void *arg,
		    size_t arglen)
{
	memset(m, 0, sizeof(*m));
	m->in.opcode = opcode;
	m->in.unique = 1;
	m->in.len = (uint32_t)(sizeof(m->in) + arglen);
	m->iv_in[0].iov_base = &m->in;
	m->iv_in[0].iov_len = sizeof(m->in);
	m->iv_in[1].iov_base = (void *)arg;
	m->iv_in[1].iov_len = arglen;
	m->iv_out.iov_base = m->out;
	m->iv_out.iov_len = sizeof(m->out);
	m->req.in = m->iv_in;
	m->req.in_cnt = arglen ? 2 : 1;
	m->req.out = &m->iv_out;
	m->req.out_cnt = 1;
	m->req.done = mt_done;
	m->req.scratch = m->scratch;
	m->req.scratch_cnt = 3;
	server_handle(srv, NULL, &m->req);
}

static void *mt_worker(void *arg)
{
	struct mt_req m;
	unsigned long *bad = arg;

	for (int i = 0; i < MT_REQUESTS; i++) {
		struct fuse_out_header oh;

		mt_send(&m, FUSE_STATFS, NULL, 0);
		memcpy(&oh, m.out, sizeof(oh));
		if (m.done_calls != 1 || m.done_len != oh.len ||
		    !((oh.error == 0 && oh.len == sizeof(oh) +
		       sizeof(struct fuse_statfs_out)) ||
		      (oh.error == -EIO && oh.len == sizeof(oh))))
			(*bad)++;
	}
	return NULL;
}

Test(init, concurrent_requests_and_reinit)
{
	struct fuse_init_in in = { .major = 7, .minor = 38 };
	pthread_t th[MT_THREADS];
	unsigned long bad[MT_THREADS] = { 0 };
	struct mt_req m;

	server_free(srv);
	cfg.ops = &mt_ops;
	start_server();
	for (int i = 0; i < MT_THREADS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, mt_worker, &bad[i]),
			     0);
	for (int i = 0; i < 300; i++) {
		mt_send(&m, FUSE_INIT, &in, sizeof(in));
		cr_assert_eq(m.done_calls, 1);
		if (i % 3 == 0)
			mt_send(&m, FUSE_DESTROY, NULL, 0);
		else if (i % 3 == 1)
			server_reset(srv);
	}
	for (int i = 0; i < MT_THREADS; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(bad[i], 0, "thread %d saw %lu bad replies", i,
			     bad[i]);
	}
	cr_assert_eq(atomic_load(&mt_inits), 300);
	/* Each session but the last ended by DESTROY, reset or a new INIT:
	 * exactly one destroy each. */
	cr_assert_eq(atomic_load(&mt_destroys), 299);
}

/* ---- odd buffers and garbage ------------------------------------------ */

Test(data, read_scratch_too_small_is_refused)
{
	msg_begin(FUSE_READ, 3);
	msg_add(&(struct fuse_read_in){ .size = 4096 },
		sizeof(struct fuse_read_in));
	/* send_split gives scratch_cnt = in + out iovecs: build by hand
	 * with a scratch array too small for the reply's pieces. */
	{
		uint32_t len = (uint32_t)T.msg_len;

		memcpy(T.msg, &len, sizeof(len));
	}
	T.in[0].iov_base = T.msg;
	T.in[0].iov_len = T.msg_len;
	T.out_cnt = split_into(T.out, T.out_back, sizeof(T.out_back),
			       16 + 4096, SPLIT_ODD, FILL_BYTE);
	memset(&T.req, 0, sizeof(T.req));
	T.req.in = T.in;
	T.req.in_cnt = 1;
	T.req.out = T.out;
	T.req.out_cnt = T.out_cnt;
	T.req.done = t_done;
	T.req.scratch = T.scratch;
	T.req.scratch_cnt = 3;
	T.done_calls = 0;
	server_handle(srv, NULL, &T.req);
	expect_err(-EINVAL);
	cr_assert_eq(fk.calls[F_READ], 0);
}

Test(data, zero_length_iovecs_are_skipped)
{
	static uint8_t hdr_part[20], rest[256], out1[10], out2[400];
	struct iovec in[5], out[5];
	struct fuse_read_in ri = { .offset = 5, .size = 300 };

	msg_begin(FUSE_READ, 3);
	msg_add(&ri, sizeof(ri));
	{
		uint32_t len = (uint32_t)T.msg_len;

		memcpy(T.msg, &len, sizeof(len));
	}
	memcpy(hdr_part, T.msg, 20);
	memcpy(rest, T.msg + 20, T.msg_len - 20);
	in[0] = (struct iovec){ hdr_part, 0 };
	in[1] = (struct iovec){ hdr_part, 20 };
	in[2] = (struct iovec){ rest, 0 };
	in[3] = (struct iovec){ rest, T.msg_len - 20 };
	in[4] = (struct iovec){ NULL, 0 };
	out[0] = (struct iovec){ out1, 0 };
	out[1] = (struct iovec){ out1, sizeof(out1) };
	out[2] = (struct iovec){ out2, 0 };
	out[3] = (struct iovec){ out2, sizeof(out2) };
	out[4] = (struct iovec){ NULL, 0 };
	memset(&T.req, 0, sizeof(T.req));
	T.req.in = in;
	T.req.in_cnt = 5;
	T.req.out = out;
	T.req.out_cnt = 5;
	T.req.done = t_done;
	T.req.scratch = T.scratch;
	T.req.scratch_cnt = 10;
	memcpy(T.out, out, sizeof(out));
	T.out_cnt = 5;
	T.done_calls = 0;
	server_handle(srv, NULL, &T.req);
	cr_assert_eq(T.done_calls, 1);
	cr_assert_eq(T.done_len, 16 + 300);
	cr_assert_eq(rhdr().error, 0);
	check_read_data(5, 300);
	cr_assert_eq(fk.size, 300);
}

/* A small deterministic PRNG: the garbage is the same on every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

Test(proto, garbage_requests_always_get_one_answer)
{
	static const struct fake_dirent few[] = {
		{ ".", 1, DT_DIR }, { "x", 2, DT_REG },
	};

	fk.dir = few;
	fk.ndir = 2;
	for (int i = 0; i < 20000; i++) {
		struct fuse_in_header h;
		size_t args = rng() % 600, out_len;
		enum split how = (enum split)(rng() % 3);

		msg_begin(rng() % 56, rng() % 4);
		for (size_t k = 0; k < args; k++) {
			/* Mostly small numbers and NULs, like real args. */
			uint8_t b = (rng() % 4) ? (uint8_t)(rng() % 3) :
						  (uint8_t)rng();

			msg_add(&b, 1);
		}
		if (rng() % 8 == 0)
			msg_set_len(rng() % 700);
		memcpy(&h, T.msg, sizeof(h));
		if (rng() % 16 == 0) {
			h.total_extlen = (uint16_t)(rng() % 80);
			memcpy(T.msg, &h, sizeof(h));
		}
		out_len = (rng() % 4) ? rng() % 8192 : rng() % 40;
		if (rng() % 64 == 0)
			T.msg_len = rng() % 40;   /* truncated header */
		send_split(out_len, how, how == SPLIT_BYTES ? SPLIT_ODD : how);
		cr_assert_eq(T.done_calls, 1, "iteration %d", i);
		cr_assert_leq(T.done_len, out_len);
		if (T.done_len) {
			struct fuse_out_header oh = rhdr();

			cr_assert_eq(oh.len, T.done_len);
			cr_assert(oh.error <= 0 && oh.error > -512);
		}
		check_out_guards();
		/* Keep the session: a garbage INIT or DESTROY may end it. */
		if (i % 50 == 0) {
			send_init(7, 38, 0xffffffffu, 0xffffffffu);
			cr_assert_eq(T.done_calls, 1);
		}
	}
}

Test(xattr, getxattr_without_room_for_a_value)
{
	send_getxattr(100, "user.test", sizeof(struct fuse_out_header));
	expect_err(-ERANGE);
	cr_assert_eq(fk.calls[F_GETXATTR], 0);
}
