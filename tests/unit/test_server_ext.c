// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * FUSE engine: what --security-label, --posix-acl and --translate-uid/gid
 * change at the validation boundary (server_secctx.c, server.c INIT, the
 * id mapping in and out), with a small recording filesystem.  Security
 * contexts come in both layouts Linux uses (last argument before 7.38, a
 * request extension from 7.38) and in hostile shapes.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/fuse.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "vfsd/idmap.h"
#include "vfsd/server.h"

static struct {
	unsigned int creates, setxattrs, setattrs, inits;
	struct fs_ctx ctx;
	bool has_label;
	char label_name[256];
	uint8_t label_value[512];
	size_t label_size;
	int xattr_flags;
	struct fs_setattr set;
	struct fs_init_info info;
	uid_t st_uid;
	gid_t st_gid;
} R;

static void record(const struct fs_ctx *ctx)
{
	R.creates++;
	R.ctx = *ctx;
	R.has_label = ctx->secctx != NULL;
	if (ctx->secctx) {
		snprintf(R.label_name, sizeof(R.label_name), "%s",
			 ctx->secctx->name);
		cr_assert_leq(ctx->secctx->size, sizeof(R.label_value));
		memcpy(R.label_value, ctx->secctx->value, ctx->secctx->size);
		R.label_size = ctx->secctx->size;
	}
}

static void fill_entry(struct fs_entry *out)
{
	memset(out, 0, sizeof(*out));
	out->nodeid = 2;
	out->attr.st_mode = S_IFREG | 0644;
	out->attr.st_uid = R.st_uid;
	out->attr.st_gid = R.st_gid;
}

static int f_init(void *fs, const struct fs_init_info *info)
{
	R.inits++;
	R.info = *info;
	return 0;
}

static int f_mkdir(void *fs, const struct fs_ctx *ctx, uint64_t parent,
		   const char *name, mode_t mode, mode_t umask,
		   struct fs_entry *out)
{
	record(ctx);
	fill_entry(out);
	return 0;
}

static int f_symlink(void *fs, const struct fs_ctx *ctx, uint64_t parent,
		     const char *name, const char *target,
		     struct fs_entry *out)
{
	record(ctx);
	fill_entry(out);
	return 0;
}

static int f_create(void *fs, const struct fs_ctx *ctx, uint64_t parent,
		    const char *name, mode_t mode, int flags, mode_t umask,
		    struct fs_entry *out, uint64_t *fh, uint32_t *open_flags)
{
	record(ctx);
	fill_entry(out);
	*fh = 7;
	return 0;
}

static int f_getattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		     const uint64_t *fh, struct stat *out)
{
	memset(out, 0, sizeof(*out));
	out->st_mode = S_IFREG | 0644;
	out->st_uid = R.st_uid;
	out->st_gid = R.st_gid;
	return 0;
}

static int f_setattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		     const struct fs_setattr *in, struct stat *out)
{
	R.setattrs++;
	R.set = *in;
	return f_getattr(fs, ctx, nodeid, NULL, out);
}

static int f_setxattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		      const char *name, const void *value, size_t size,
		      int flags)
{
	R.setxattrs++;
	R.xattr_flags = flags;
	return 0;
}

static const struct fs_ops ops = {
	.init = f_init, .mkdir = f_mkdir, .symlink = f_symlink,
	.create = f_create, .getattr = f_getattr, .setattr = f_setattr,
	.setxattr = f_setxattr,
};

/* ---- one request at a time, one iovec each way ---- */

static struct server *srv;
static struct server_config cfg;
static uint8_t msg[16384], reply[4096];
static size_t msg_len, reply_len;
static int done_calls;

static void done(struct server_req *req, size_t len)
{
	done_calls++;
	reply_len = len;
}

static void begin(uint32_t opcode, uint32_t uid, uint32_t gid)
{
	struct fuse_in_header h = {
		.opcode = opcode, .unique = 2, .nodeid = 1,
		.uid = uid, .gid = gid, .pid = 1,
	};

	memcpy(msg, &h, sizeof(h));
	msg_len = sizeof(h);
}

static void add(const void *p, size_t n)
{
	cr_assert_leq(msg_len + n, sizeof(msg));
	memcpy(msg + msg_len, p, n);
	msg_len += n;
}

static void pad8(void)
{
	static const uint8_t zero[8];

	add(zero, (8 - msg_len % 8) % 8);
}

/* Send; extlen: 8-byte units at the end that are extensions. */
static int send_ext(uint16_t extlen)
{
	struct fuse_in_header h;
	struct iovec in = { msg, msg_len }, out = { reply, sizeof(reply) };
	struct iovec scratch[4];
	struct server_req req = {
		.in = &in, .in_cnt = 1, .out = &out, .out_cnt = 1,
		.done = done, .scratch = scratch, .scratch_cnt = 4,
	};
	struct fuse_out_header oh;

	memcpy(&h, msg, sizeof(h));
	h.len = (uint32_t)msg_len;
	h.total_extlen = extlen;
	memcpy(msg, &h, sizeof(h));
	done_calls = 0;
	server_handle(srv, NULL, &req);
	cr_assert_eq(done_calls, 1);
	cr_assert_geq(reply_len, sizeof(oh));
	memcpy(&oh, reply, sizeof(oh));
	return oh.error;
}

static int init_guest(uint32_t minor, uint64_t flags)
{
	struct fuse_init_in in = {
		.major = 7, .minor = minor, .max_readahead = 65536,
		.flags = (uint32_t)flags | FUSE_INIT_EXT,
		.flags2 = (uint32_t)(flags >> 32),
	};

	begin(FUSE_INIT, 0, 0);
	add(&in, sizeof(in));
	return send_ext(0);
}

static uint64_t agreed(void)
{
	struct fuse_init_out o;

	memcpy(&o, reply + sizeof(struct fuse_out_header), sizeof(o));
	return o.flags | (uint64_t)o.flags2 << 32;
}

static void start(void)
{
	cr_assert_eq(server_new(&srv, &cfg), 0);
}

static void setup(void)
{
	memset(&R, 0, sizeof(R));
	memset(&cfg, 0, sizeof(cfg));
	cfg.ops = &ops;
	cfg.security_label = SRV_NEGOTIATE_AUTO;
	start();
	cr_assert_eq(init_guest(38, FUSE_SECURITY_CTX), 0);
	cr_assert(agreed() & FUSE_SECURITY_CTX);
}

static void teardown(void)
{
	server_free(srv);
	srv = NULL;
}

TestSuite(secctx, .init = setup, .fini = teardown);

/* A secctx block: header, fuse_secctx, name, value, padded to 8. */
static size_t add_secctx(const char *name, const void *value, uint32_t size,
			 uint32_t nr)
{
	size_t start = msg_len, namelen = strlen(name) + 1;
	size_t rec = (sizeof(struct fuse_secctx) + namelen + size + 7) & ~7ul;
	struct fuse_secctx_header h = {
		.size = (uint32_t)(sizeof(h) + rec), .nr_secctx = nr,
	};
	struct fuse_secctx c = { .size = size };

	add(&h, sizeof(h));
	add(&c, sizeof(c));
	add(name, namelen);
	add(value, size);
	while (msg_len - start < h.size)
		add("", 1);
	return msg_len - start;
}

static void mkdir_args(void)
{
	struct fuse_mkdir_in in = { .mode = 0755, .umask = 022 };

	begin(FUSE_MKDIR, 1000, 1000);
	add(&in, sizeof(in));
	add("d", 2);
	pad8();
}

Test(secctx, extension_label_reaches_the_filesystem)
{
	size_t n;

	mkdir_args();
	n = add_secctx("security.selinux", "system_u:object_r:x_t:s0", 25, 1);
	cr_assert_eq(send_ext((uint16_t)(n / 8)), 0);
	cr_assert_eq(R.creates, 1);
	cr_assert(R.has_label);
	cr_expect_str_eq(R.label_name, "security.selinux");
	cr_expect_eq(R.label_size, 25);
	cr_expect_str_eq((char *)R.label_value, "system_u:object_r:x_t:s0");
}

Test(secctx, empty_context_header_means_no_label)
{
	struct fuse_secctx_header h = { .size = 8, .nr_secctx = 0 };

	mkdir_args();
	add(&h, sizeof(h));
	cr_assert_eq(send_ext(1), 0);
	cr_assert_eq(R.creates, 1);
	cr_expect(!R.has_label);
}

Test(secctx, label_on_create_and_symlink)
{
	struct fuse_create_in in = { .flags = O_WRONLY, .mode = 0644 };
	size_t n;

	begin(FUSE_CREATE, 0, 0);
	add(&in, sizeof(in));
	add("f", 2);
	pad8();
	n = add_secctx("security.vfsdtest", "abc", 3, 1);
	cr_assert_eq(send_ext((uint16_t)(n / 8)), 0);
	cr_expect_str_eq(R.label_name, "security.vfsdtest");

	begin(FUSE_SYMLINK, 0, 0);
	add("l", 2);
	add("target", 7);
	pad8();
	n = add_secctx("security.vfsdtest", "xyz", 3, 1);
	cr_assert_eq(send_ext((uint16_t)(n / 8)), 0);
	cr_expect_eq(R.creates, 2);
	cr_expect(R.has_label);
}

Test(secctx, pre_7_38_layout_is_the_last_argument)
{
	teardown();
	start();
	cr_assert_eq(init_guest(36, FUSE_SECURITY_CTX), 0);
	/* Right after the name: a separate argument, no padding. */
	begin(FUSE_MKDIR, 0, 0);
	add(&(struct fuse_mkdir_in){ .mode = 0755 }, sizeof(struct fuse_mkdir_in));
	add("d", 2);
	add_secctx("security.selinux", "lbl", 4, 1);
	cr_assert_eq(send_ext(0), 0);
	cr_assert(R.has_label);
	cr_expect_str_eq((char *)R.label_value, "lbl");
}

/* Every hostile shape is refused before the filesystem is called. */
static void expect_refused(uint16_t extlen)
{
	cr_expect_eq(send_ext(extlen), -EINVAL);
	cr_expect_eq(R.creates, 0);
}

Test(secctx, header_size_not_matching_is_refused)
{
	struct fuse_secctx_header h;
	size_t at, n;

	mkdir_args();
	at = msg_len;
	n = add_secctx("security.selinux", "a", 1, 1);
	memcpy(&h, msg + at, sizeof(h));
	h.size += 8;
	memcpy(msg + at, &h, sizeof(h));
	expect_refused((uint16_t)(n / 8));
}

Test(secctx, value_size_beyond_the_request_is_refused)
{
	struct fuse_secctx c;
	size_t at, n;

	mkdir_args();
	at = msg_len;
	n = add_secctx("security.selinux", "abcd", 4, 1);
	memcpy(&c, msg + at + 8, sizeof(c));
	c.size = 0xfffffff0u;
	memcpy(msg + at + 8, &c, sizeof(c));
	expect_refused((uint16_t)(n / 8));
}

Test(secctx, more_than_one_context_is_refused)
{
	size_t n;

	mkdir_args();
	n = add_secctx("security.selinux", "a", 1, 2);
	expect_refused((uint16_t)(n / 8));
}

Test(secctx, unterminated_name_is_refused)
{
	struct fuse_secctx_header h = { .size = 8 + 8 + 264, .nr_secctx = 1 };
	struct fuse_secctx c = { .size = 0 };
	char name[264];

	memset(name, 'a', sizeof(name));
	memcpy(name, "security.", 9);
	mkdir_args();
	add(&h, sizeof(h));
	add(&c, sizeof(c));
	add(name, sizeof(name));
	expect_refused((uint16_t)(h.size / 8));
}

Test(secctx, name_outside_security_is_refused)
{
	size_t n;

	mkdir_args();
	n = add_secctx("trusted.overlay.opaque", "y", 1, 1);
	expect_refused((uint16_t)(n / 8));
	mkdir_args();
	n = add_secctx("security.", "y", 1, 1);
	expect_refused((uint16_t)(n / 8));
	mkdir_args();
	n = add_secctx("security.capability", "\x01\0\0\x02", 4, 1);
	expect_refused((uint16_t)(n / 8));
}

Test(secctx, extension_longer_than_the_request_is_refused)
{
	size_t n;

	mkdir_args();
	n = add_secctx("security.selinux", "a", 1, 1);
	/* total_extlen past the arguments: the engine's length check. */
	expect_refused((uint16_t)(n / 8 + 64));
}

Test(secctx, truncated_and_misaligned_extension_headers_are_refused)
{
	struct fuse_ext_header e = { .size = 12, .type = 0 };
	uint8_t pad[8] = { 0 };

	mkdir_args();
	add(&e, sizeof(e));
	add(pad, sizeof(pad));
	expect_refused(2);
	mkdir_args();
	e.size = 0;
	add(&e, sizeof(e));
	expect_refused(1);
}

Test(secctx, unknown_extension_type_is_refused)
{
	struct fuse_ext_header e = { .size = 8, .type = 32 };

	mkdir_args();
	add(&e, sizeof(e));
	expect_refused(1);
}

Test(secctx, extension_bytes_without_agreement_are_refused)
{
	size_t n;

	teardown();
	cfg.security_label = SRV_NEGOTIATE_NEVER;
	start();
	cr_assert_eq(init_guest(38, FUSE_SECURITY_CTX), 0);
	cr_assert(!(agreed() & FUSE_SECURITY_CTX));
	mkdir_args();
	n = add_secctx("security.selinux", "a", 1, 1);
	expect_refused((uint16_t)(n / 8));
	/* Without extension bytes, creating works as always. */
	mkdir_args();
	cr_expect_eq(send_ext(0), 0);
	cr_expect(!R.has_label);
}

/* ---- INIT negotiation ---- */

static void fresh(enum server_negotiate acl, enum server_negotiate label)
{
	memset(&R, 0, sizeof(R));
	memset(&cfg, 0, sizeof(cfg));
	cfg.ops = &ops;
	cfg.posix_acl = acl;
	cfg.security_label = label;
	start();
}

#define ACL_FLAGS ((uint64_t)(FUSE_POSIX_ACL | FUSE_DONT_MASK | \
			      FUSE_SETXATTR_EXT))

Test(init, posix_acl_agrees_with_dont_mask_and_setxattr_ext)
{
	fresh(SRV_NEGOTIATE_AUTO, SRV_NEGOTIATE_NEVER);
	cr_assert_eq(init_guest(38, ACL_FLAGS), 0);
	cr_expect_eq(agreed() & ACL_FLAGS, ACL_FLAGS);
	cr_expect(R.info.posix_acl);
	teardown();
}

Test(init, posix_acl_auto_goes_without_when_the_guest_cannot)
{
	fresh(SRV_NEGOTIATE_AUTO, SRV_NEGOTIATE_AUTO);
	cr_assert_eq(init_guest(38, FUSE_POSIX_ACL), 0);
	cr_expect_eq(agreed() & (ACL_FLAGS | FUSE_SECURITY_CTX), 0);
	cr_expect(!R.info.posix_acl);
	teardown();
}

Test(init, always_fails_init_when_the_guest_cannot)
{
	fresh(SRV_NEGOTIATE_ALWAYS, SRV_NEGOTIATE_NEVER);
	cr_expect_eq(init_guest(38, FUSE_POSIX_ACL | FUSE_DONT_MASK), -EPROTO);
	cr_expect_eq(R.inits, 0);
	teardown();
	fresh(SRV_NEGOTIATE_NEVER, SRV_NEGOTIATE_ALWAYS);
	cr_expect_eq(init_guest(38, ACL_FLAGS), -EPROTO);
	teardown();
}

Test(init, never_offers_nothing)
{
	fresh(SRV_NEGOTIATE_NEVER, SRV_NEGOTIATE_NEVER);
	cr_assert_eq(init_guest(38, ACL_FLAGS | FUSE_SECURITY_CTX), 0);
	cr_expect_eq(agreed() & (ACL_FLAGS | FUSE_SECURITY_CTX), 0);
	teardown();
}

/* ---- setxattr with ACLs ---- */

static int setxattr_ext(const char *name, uint32_t xflags)
{
	struct fuse_setxattr_in in = {
		.size = 4, .flags = 0, .setxattr_flags = xflags,
	};

	begin(FUSE_SETXATTR, 1000, 1000);
	add(&in, sizeof(in));
	add(name, strlen(name) + 1);
	add("\x02\0\0\0", 4);
	return send_ext(0);
}

Test(acl, kill_sgid_reaches_the_filesystem_for_the_access_acl_only)
{
	fresh(SRV_NEGOTIATE_AUTO, SRV_NEGOTIATE_NEVER);
	cr_assert_eq(init_guest(38, ACL_FLAGS), 0);
	cr_assert_eq(setxattr_ext("system.posix_acl_access",
				  FUSE_SETXATTR_ACL_KILL_SGID), 0);
	cr_expect_eq(R.xattr_flags, FS_XATTR_KILL_SGID);
	cr_assert_eq(setxattr_ext("user.x", FUSE_SETXATTR_ACL_KILL_SGID), 0);
	cr_expect_eq(R.xattr_flags, 0);
	teardown();
}

Test(acl, acl_xattrs_are_refused_without_acls)
{
	struct fuse_setxattr_in in = { .size = 4 };

	fresh(SRV_NEGOTIATE_NEVER, SRV_NEGOTIATE_NEVER);
	cr_assert_eq(init_guest(38, ACL_FLAGS), 0);
	begin(FUSE_SETXATTR, 0, 0);
	add(&in, FUSE_COMPAT_SETXATTR_IN_SIZE);
	add("system.posix_acl_default", 25);
	add("\x02\0\0\0", 4);
	cr_expect_eq(send_ext(0), -EOPNOTSUPP);
	cr_expect_eq(R.setxattrs, 0);
	teardown();
}

/* ---- --translate-uid/gid in the engine ---- */

static struct idmap *umap, *gmap;

static void translate_setup(void)
{
	const char *u[] = { "map:0:1000:1", "forbid-guest:5:1" };
	const char *g[] = { "squash-guest:0:2000:100", "host:2000:7:1" };
	char why[128];

	memset(&R, 0, sizeof(R));
	memset(&cfg, 0, sizeof(cfg));
	cr_assert_eq(idmap_new(&umap, u, 2, why, sizeof(why)), 0);
	cr_assert_eq(idmap_new(&gmap, g, 2, why, sizeof(why)), 0);
	cfg.ops = &ops;
	cfg.uid_map = umap;
	cfg.gid_map = gmap;
	start();
	cr_assert_eq(init_guest(38, 0), 0);
}

static void translate_teardown(void)
{
	teardown();
	idmap_free(umap);
	idmap_free(gmap);
}

TestSuite(translate, .init = translate_setup, .fini = translate_teardown);

Test(translate, caller_ids_become_host_ids)
{
	mkdir_args();
	memcpy(msg + offsetof(struct fuse_in_header, uid), &(uint32_t){ 0 }, 4);
	memcpy(msg + offsetof(struct fuse_in_header, gid), &(uint32_t){ 50 }, 4);
	cr_assert_eq(send_ext(0), 0);
	cr_expect_eq(R.ctx.uid, 1000);
	cr_expect_eq(R.ctx.gid, 2000);
}

Test(translate, forbidden_caller_id_reaches_the_fs_as_minus_one)
{
	mkdir_args();
	memcpy(msg + offsetof(struct fuse_in_header, uid), &(uint32_t){ 5 }, 4);
	cr_assert_eq(send_ext(0), 0);
	cr_expect_eq(R.ctx.uid, (uid_t)-1);
}

Test(translate, attributes_replied_carry_guest_ids)
{
	struct fuse_getattr_in in = { 0 };
	struct fuse_attr_out out;

	R.st_uid = 1000;
	R.st_gid = 2000;
	begin(FUSE_GETATTR, 0, 0);
	add(&in, sizeof(in));
	cr_assert_eq(send_ext(0), 0);
	memcpy(&out, reply + sizeof(struct fuse_out_header), sizeof(out));
	cr_expect_eq(out.attr.uid, 0);
	cr_expect_eq(out.attr.gid, 7);
}

Test(translate, chown_maps_and_refuses_forbidden_ids)
{
	struct fuse_setattr_in in = {
		.valid = FATTR_UID | FATTR_GID, .uid = 0, .gid = 3,
	};

	begin(FUSE_SETATTR, 0, 0);
	add(&in, sizeof(in));
	cr_assert_eq(send_ext(0), 0);
	cr_expect_eq(R.set.uid, 1000);
	cr_expect_eq(R.set.gid, 2000);
	in.uid = 5;
	begin(FUSE_SETATTR, 0, 0);
	add(&in, sizeof(in));
	cr_expect_eq(send_ext(0), -EPERM);
	cr_expect_eq(R.setattrs, 1);
}
