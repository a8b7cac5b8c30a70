// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * FUSE_SECURITY_CTX (7.36): the security label a creating request (MKNOD,
 * MKDIR, SYMLINK, CREATE, TMPFILE) carries after its names, so that the
 * new node is labelled as the guest's LSM wants.  Layout:
 *
 *   struct fuse_secctx_header { size (all of it), nr_secctx }
 *   nr_secctx times, each padded to 8 bytes:
 *     struct fuse_secctx { size (of the value), padding }
 *     name, NUL-terminated   ("security.selinux")
 *     value, size bytes
 *
 * Guests before 7.38 send it as the last argument; from 7.38 it is a
 * request extension (fuse_in_header.total_extlen, 8-byte units), and the
 * header doubles as struct fuse_ext_header { size, type }: types 0..31
 * are security contexts (type = nr_secctx), others are other extensions
 * (none of which we agree to).
 *
 * Everything comes from the guest: every length is checked against what
 * the request holds, the name is NUL-terminated and bounded, and only one
 * context (what Linux sends) is accepted.
 */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "server_internal.h"
#include "xattrmap.h"

/* Room kept at the end of the caller's buffer for the mapped name. */
#define NAME_ROOM (XATTRMAP_NAME_MAX + 1)

static int bad(const char *why)
{
	log_ratelimited(LOG_LEVEL_DEBUG, "security context refused: %s", why);
	return -EINVAL;
}

/* One fuse_secctx_header block of len bytes at p (len >= 8 checked). */
static int parse_block(struct rq *r, const uint8_t *p, size_t len,
		       struct fs_secctx *out, char *mapped)
{
	struct fuse_secctx_header h;
	struct fuse_secctx c;
	const uint8_t *nul;
	const char *name;
	size_t namelen, left;
	int ret;

	memcpy(&h, p, sizeof(h));
	if (h.size != len)
		return bad("header size does not match the request");
	if (h.nr_secctx == 0)
		return len == sizeof(h) ? 0 : bad("bytes after an empty header");
	if (h.nr_secctx > 1)
		return bad("more than one context");
	p += sizeof(h);
	left = len - sizeof(h);
	if (left < sizeof(c))
		return bad("truncated context");
	memcpy(&c, p, sizeof(c));
	p += sizeof(c);
	left -= sizeof(c);
	nul = memchr(p, '\0', left < NAME_ROOM ? left : NAME_ROOM);
	if (!nul)
		return bad("name not NUL-terminated within 255 bytes");
	namelen = (size_t)(nul - p);
	name = (const char *)p;
	/* A label, nothing else: not a way around --xattr's own checks for
	 * trusted.* or user.* attributes. */
	if (namelen <= 9 || strncmp(name, "security.", 9) != 0)
		return bad("name is not security.*");
	/* File capabilities are not a label: a guest must not make a host
	 * binary privileged in passing. */
	if (strcmp(name, "security.capability") == 0)
		return bad("security.capability is not a label");
	p += namelen + 1;
	left -= namelen + 1;
	if (c.size > SRV_XATTR_SIZE_MAX || c.size > left)
		return bad("value longer than the request");
	/* The record is padded to 8 bytes: at most 7 bytes follow. */
	if (left - c.size >= 8)
		return bad("bytes after the context");
	if (r->srv->cfg.xattrmap) {
		ret = xattrmap_to_host(r->srv->cfg.xattrmap, name, mapped,
				       NAME_ROOM);
		if (ret < 0)
			return ret;
		name = mapped;
	}
	out->name = name;
	out->value = p;
	out->size = c.size;
	r->ctx.secctx = out;
	return 0;
}

/* From 7.38: a chain of extensions; exactly the context is expected. */
static int parse_extensions(struct rq *r, uint8_t *buf, size_t buf_len,
			    struct fs_secctx *out)
{
	const size_t at = sizeof(struct fuse_in_header) + r->arg_len;
	struct fuse_ext_header e;
	size_t pos = 0;
	bool seen = false;
	int ret;

	if (r->ext_len > buf_len - NAME_ROOM)
		return bad("extensions too long");
	/* Our own copy: the guest can change shared memory under us. */
	ret = srv_iov_read(r->req->in, r->req->in_cnt, at, buf, r->ext_len);
	if (ret < 0)
		return bad("extensions beyond the request");
	while (pos < r->ext_len) {
		if (r->ext_len - pos < sizeof(e))
			return bad("truncated extension header");
		memcpy(&e, buf + pos, sizeof(e));
		if (e.size < sizeof(e) || e.size % 8 || e.size > r->ext_len - pos)
			return bad("extension size");
		if (e.type > FUSE_MAX_NR_SECCTX)
			return bad("extension not agreed");
		if (seen)
			return bad("two security context extensions");
		seen = true;
		ret = parse_block(r, buf + pos, e.size, out,
				  (char *)buf + buf_len - NAME_ROOM);
		if (ret < 0)
			return ret;
		pos += e.size;
	}
	return 0;
}

int srv_secctx_parse(struct rq *r, const struct argp *a,
		     struct fs_secctx *out, uint8_t *buf, size_t buf_len)
{
	r->ctx.secctx = NULL;
	memset(out, 0, sizeof(*out));
	if (!(r->state & SRV_STATE_SECCTX)) {
		/* Extensions nobody agreed to: a confused or hostile guest. */
		return r->ext_len ? bad("no extension was agreed") : 0;
	}
	if (buf_len <= NAME_ROOM)
		return -EINVAL;
	if (r->ext_len)
		return parse_extensions(r, buf, buf_len, out);
	/* Before 7.38: the last argument, in our private copy already. */
	if (a->left == 0)
		return 0;
	if (a->left < sizeof(struct fuse_secctx_header))
		return bad("truncated header");
	return parse_block(r, a->p, a->left, out,
			   (char *)buf + buf_len - NAME_ROOM);
}
