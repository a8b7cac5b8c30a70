// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * --security-label against the real daemon over its real socket: the
 * front-end library plays a guest whose LSM labels new files.  CREATE,
 * MKDIR and SYMLINK carry a FUSE_SECURITY_CTX extension (the 7.38 layout:
 * fuse_in_header.total_extlen), and the label must be on the host node;
 * hostile extensions must be refused without creating anything and
 * without hurting the daemon.  The host needs no SELinux: a
 * "security.vfsdtest" attribute is stored by ext4/tmpfs, but without an
 * LSM that owns the name the kernel wants CAP_SYS_ADMIN for security.*
 * (cap_inode_setxattr), which the sandbox drops: the daemon keeps it
 * here through --modcaps.  (With SELinux, security.selinux needs none.)
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fe_test.h"

#define LABEL_NAME "security.vfsdtest"
#define LABEL "guest_u:object_r:vfsd_t:s0"

static void setup_label(void)
{
	static const char *const extra[] = {
		"--security-label", "--modcaps=+sys_admin", NULL,
	};

	fe_test_start(FE_BACKEND_VFSD, extra);
}

static void setup_plain(void)
{
	fe_test_start(FE_BACKEND_VFSD, NULL);
}

TestSuite(secctx, .init = setup_label, .fini = fe_test_fini, .timeout = 60);
TestSuite(secctx_off, .init = setup_plain, .fini = fe_test_fini,
	  .timeout = 60);

/* INIT as a 7.38 guest that asks for security contexts. */
static uint64_t init_with_secctx(struct fe_dev *d)
{
	struct fuse_init_in in = {
		.major = FUSE_KERNEL_VERSION, .minor = 38,
		.max_readahead = 65536,
		.flags = FE_INIT_FLAGS_DEFAULT,
		.flags2 = (uint32_t)(FUSE_SECURITY_CTX >> 32),
	};
	struct fuse_init_out out = { 0 };
	struct iovec iv = { &in, sizeof(in) }, ov = { &out, sizeof(out) };
	struct fe_reply rep;

	cr_assert_eq(fe_fuse_call(d, 1, FUSE_INIT, 0, &iv, 1, &ov, 1, &rep), 0);
	cr_assert_eq(rep.error, 0);
	return out.flags | (uint64_t)out.flags2 << 32;
}

/* A request being built: header, args, then the extension area. */
struct msg {
	uint8_t b[2048];
	size_t len;
	size_t ext_at;
};

static void m_begin(struct fe_dev *d, struct msg *m, uint32_t opcode)
{
	struct fuse_in_header h = {
		.opcode = opcode, .unique = fe_fuse_next_unique(d),
		.nodeid = FUSE_ROOT_ID, .uid = 0, .gid = 0, .pid = 1,
	};

	memcpy(m->b, &h, sizeof(h));
	m->len = sizeof(h);
	m->ext_at = 0;
}

static void m_add(struct msg *m, const void *p, size_t n)
{
	cr_assert_leq(m->len + n, sizeof(m->b));
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

static void m_ext_start(struct msg *m)
{
	static const uint8_t zero[8];

	m_add(m, zero, (8 - m->len % 8) % 8);
	m->ext_at = m->len;
}

/* One context: header, fuse_secctx, name, value, padded to 8. */
static void m_secctx(struct msg *m, const char *name, const void *value,
		     uint32_t size)
{
	size_t namelen = strlen(name) + 1;
	size_t rec = (sizeof(struct fuse_secctx) + namelen + size + 7) & ~7ul;
	struct fuse_secctx_header h = {
		.size = (uint32_t)(sizeof(h) + rec), .nr_secctx = 1,
	};
	struct fuse_secctx c = { .size = size };
	size_t start = m->len;

	m_add(m, &h, sizeof(h));
	m_add(m, &c, sizeof(c));
	m_add(m, name, namelen);
	m_add(m, value, size);
	while (m->len - start < h.size)
		m_add(m, "", 1);
}

/* Send with total_extlen covering [ext_at, len) (or extlen_override). */
static int m_send(struct fe_dev *d, struct msg *m, int extlen_override)
{
	struct fuse_in_header h;
	uint8_t reply[512];
	struct fe_reply rep;

	memcpy(&h, m->b, sizeof(h));
	h.len = (uint32_t)m->len;
	h.total_extlen = extlen_override >= 0 ? (uint16_t)extlen_override :
			 m->ext_at ? (uint16_t)((m->len - m->ext_at) / 8) : 0;
	memcpy(m->b, &h, sizeof(h));
	cr_assert_eq(fe_fuse_call_raw(d, 1, m->b, m->len, reply, sizeof(reply),
				      &rep), 0);
	cr_assert_geq(rep.used_len, sizeof(struct fuse_out_header));
	return rep.error;
}

static void create_req(struct fe_dev *d, struct msg *m, const char *name)
{
	struct fuse_create_in in = {
		.flags = O_WRONLY, .mode = S_IFREG | 0644, .umask = 022,
	};

	m_begin(d, m, FUSE_CREATE);
	m_add(m, &in, sizeof(in));
	m_add(m, name, strlen(name) + 1);
}

static ssize_t host_label(const char *name, char *buf, size_t len)
{
	char path[512];

	fe_path(path, sizeof(path), fe_t.be.shared, name);
	return lgetxattr(path, LABEL_NAME, buf, len);
}

static bool host_exists(const char *name)
{
	char path[512];
	struct stat st;

	fe_path(path, sizeof(path), fe_t.be.shared, name);
	return lstat(path, &st) == 0;
}

Test(secctx, created_nodes_carry_the_guests_label)
{
	struct fe_dev *d;
	struct msg m;
	char buf[128];
	ssize_t n;

	fe_t.dev = d = fe_test_open(NULL);
	cr_assert(init_with_secctx(d) & FUSE_SECURITY_CTX);

	create_req(d, &m, "file");
	m_ext_start(&m);
	m_secctx(&m, LABEL_NAME, LABEL, sizeof(LABEL));
	cr_assert_eq(n = m_send(d, &m, -1), 0, "error %zd", n);

	struct fuse_mkdir_in mk = { .mode = 0755, .umask = 022 };

	m_begin(d, &m, FUSE_MKDIR);
	m_add(&m, &mk, sizeof(mk));
	m_add(&m, "dir", 4);
	m_ext_start(&m);
	m_secctx(&m, LABEL_NAME, LABEL, sizeof(LABEL));
	cr_assert_eq(n = m_send(d, &m, -1), 0, "error %zd", n);

	m_begin(d, &m, FUSE_SYMLINK);
	m_add(&m, "link", 5);
	m_add(&m, "file", 5);
	m_ext_start(&m);
	m_secctx(&m, LABEL_NAME, LABEL, sizeof(LABEL));
	cr_assert_eq(n = m_send(d, &m, -1), 0, "error %zd", n);

	for (int i = 0; i < 3; i++) {
		const char *name = (const char *[]){ "file", "dir", "link" }[i];

		n = host_label(name, buf, sizeof(buf));
		cr_expect_eq(n, (ssize_t)sizeof(LABEL), "%s: %zd (%s)", name,
			     n, strerror(errno));
		if (n == (ssize_t)sizeof(LABEL))
			cr_expect_str_eq(buf, LABEL, "%s", name);
	}
	fe_test_end();
}

Test(secctx, hostile_contexts_create_nothing)
{
	struct fuse_secctx c;
	struct fe_dev *d;
	struct fuse_entry_out e;
	struct msg m;

	fe_t.dev = d = fe_test_open(NULL);
	cr_assert(init_with_secctx(d) & FUSE_SECURITY_CTX);

	/* A value length far past the request. */
	create_req(d, &m, "h1");
	m_ext_start(&m);
	m_secctx(&m, LABEL_NAME, "x", 1);
	memcpy(&c, m.b + m.ext_at + 8, sizeof(c));
	c.size = 0x7fffffff;
	memcpy(m.b + m.ext_at + 8, &c, sizeof(c));
	cr_expect_eq(m_send(d, &m, -1), -EINVAL);

	/* total_extlen larger than the whole request. */
	create_req(d, &m, "h2");
	m_ext_start(&m);
	m_secctx(&m, LABEL_NAME, "x", 1);
	cr_expect_eq(m_send(d, &m, 4000), -EINVAL);

	/* Not a security.* attribute. */
	create_req(d, &m, "h3");
	m_ext_start(&m);
	m_secctx(&m, "trusted.evil", "x", 1);
	cr_expect_eq(m_send(d, &m, -1), -EINVAL);

	/* An extension header of size 0 (would loop forever if trusted). */
	create_req(d, &m, "h4");
	m_ext_start(&m);
	m_add(&m, &(struct fuse_ext_header){ .size = 0, .type = 0 }, 8);
	cr_expect_eq(m_send(d, &m, -1), -EINVAL);

	cr_expect(!host_exists("h1") && !host_exists("h2") &&
		  !host_exists("h3") && !host_exists("h4"),
		  "a refused request created a file");
	/* The daemon still serves. */
	cr_expect_eq(fe_lookup(d, FUSE_ROOT_ID, "h1", &e), -ENOENT);
	fe_test_end();
}

Test(secctx_off, extensions_are_refused_when_not_agreed)
{
	struct fe_dev *d;
	struct msg m;

	fe_t.dev = d = fe_test_open(NULL);
	cr_assert_eq(init_with_secctx(d) & FUSE_SECURITY_CTX, 0);
	create_req(d, &m, "f");
	m_ext_start(&m);
	m_secctx(&m, LABEL_NAME, "x", 1);
	cr_expect_eq(m_send(d, &m, -1), -EINVAL);
	cr_expect(!host_exists("f"));
	/* The same create without the extension works. */
	create_req(d, &m, "f");
	cr_expect_eq(m_send(d, &m, 0), 0);
	cr_expect(host_exists("f"));
	fe_test_end();
}
