// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * FUSE directory opcodes: OPENDIR, READDIR, READDIRPLUS, RELEASEDIR,
 * FSYNCDIR.
 *
 * READDIR(PLUS) replies are encoded straight into the reply buffers from the
 * filesystem's emit callback.  An entry is taken only when it fits whole;
 * for READDIRPLUS the fit is checked before the lookup, because a lookup
 * adds to the node's lookup count and the guest must hear of every count.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "server_internal.h"

struct dirbuf {
	struct rq *r;
	size_t pos;             /* payload bytes written */
	size_t limit;           /* payload bytes allowed */
	bool plus;
	bool full;              /* an entry was refused for lack of room */
};

static bool is_dot_or_dotdot(const char *name, size_t len)
{
	return (len == 1 && name[0] == '.') ||
	       (len == 2 && name[0] == '.' && name[1] == '.');
}

/* READDIRPLUS: the entry_out part.  "." and ".." get a zeroed entry (node
 * id 0: the kernel then only lists the name); so do entries whose lookup
 * failed for another reason than a raced unlink.  Returns 1 to skip the
 * entry. */
static int plus_lookup(struct dirbuf *b, const char *name, size_t namelen,
		       struct fuse_entry_out *out)
{
	struct rq *r = b->r;
	struct fs_entry e = { 0 };
	char cname[NAME_MAX + 1];
	int ret;

	if (is_dot_or_dotdot(name, namelen) || !SRV_OPS(r)->lookup)
		return 0;
	memcpy(cname, name, namelen);
	cname[namelen] = '\0';
	ret = SRV_OPS(r)->lookup(SRV_FS(r), &r->ctx, r->in.nodeid, cname, &e);
	if (ret == -ENOENT)
		return 1;
	if (ret >= 0)
		srv_fill_entry(r->srv, out, &e);
	return 0;
}

static int dir_emit(void *opaque, const char *name, size_t namelen,
		    uint64_t ino, unsigned int d_type, uint64_t off_next)
{
	uint8_t rec[FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET_DIRENTPLUS + NAME_MAX)]
		__attribute__((aligned(8)));
	struct dirbuf *b = opaque;
	struct fuse_dirent *d;
	size_t hdr = b->plus ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;
	size_t len;

	/* A name the guest could not use: drop it, keep listing. */
	if (namelen == 0 || namelen > NAME_MAX || memchr(name, '/', namelen))
		return 0;
	len = FUSE_DIRENT_ALIGN(hdr + namelen);
	if (len > b->limit - b->pos) {
		b->full = true;
		return 1;
	}
	/* Zeroes the padding and, for "." / "..", the entry_out. */
	memset(rec, 0, len);
	if (b->plus) {
		struct fuse_direntplus *dp = (struct fuse_direntplus *)rec;

		if (plus_lookup(b, name, namelen, &dp->entry_out))
			return 0;
		d = &dp->dirent;
	} else {
		d = (struct fuse_dirent *)rec;
	}
	d->ino = ino;
	d->off = off_next;
	d->namelen = (uint32_t)namelen;
	d->type = d_type;
	memcpy(rec + hdr, name, namelen);
	/* Fits: checked against limit, which is within the buffers. */
	srv_iov_write(b->r->req->out, b->r->req->out_cnt,
		      sizeof(struct fuse_out_header) + b->pos, rec, len);
	b->pos += len;
	return 0;
}

static int do_readdir_common(struct rq *r, bool plus)
{
	struct fuse_out_header oh = { .unique = r->req->unique };
	struct dirbuf b = { .r = r, .plus = plus };
	struct fuse_read_in in;
	size_t room = r->out_size - sizeof(oh);
	int ret;

	memcpy(&in, r->arg, sizeof(in));
	if (!SRV_OPS(r)->readdir)
		return -ENOSYS;
	b.limit = in.size < room ? in.size : room;
	if (b.limit > r->srv->cfg.max_write)
		b.limit = r->srv->cfg.max_write;

	ret = SRV_OPS(r)->readdir(SRV_FS(r), r->in.nodeid, in.fh, in.offset,
				  dir_emit, &b);
	/* An error after some entries: send those; the next READDIR from
	 * the following offset reports the error. */
	if (ret < 0 && b.pos == 0)
		return ret;
	/* Nothing fits: an empty reply would read as end of directory. */
	if (b.pos == 0 && b.full)
		return -EINVAL;
	oh.len = (uint32_t)(sizeof(oh) + b.pos);
	srv_iov_write(r->req->out, r->req->out_cnt, 0, &oh, sizeof(oh));
	r->req->done(r->req, oh.len);
	return 0;
}

int srv_do_readdir(struct rq *r)
{
	return do_readdir_common(r, false);
}

int srv_do_readdirplus(struct rq *r)
{
	return do_readdir_common(r, true);
}

int srv_do_opendir(struct rq *r)
{
	struct fuse_open_in in;
	struct fuse_open_out out = { 0 };
	uint64_t fh = 0;
	int ret;

	memcpy(&in, r->arg, sizeof(in));
	if (!SRV_OPS(r)->opendir)
		return -ENOSYS;
	ret = SRV_OPS(r)->opendir(SRV_FS(r), &r->ctx, r->in.nodeid,
				  (int)in.flags, &fh);
	if (ret < 0)
		return ret;
	out.fh = fh;
	/* Keep listings across opens, as virtiofsd does for metadata and
	 * always: without KEEP_CACHE each opendir would drop them. */
	if (r->srv->cfg.cache_dir)
		out.open_flags = FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE;
	ret = srv_reply(r->req, &out, sizeof(out), NULL, 0);
	if (ret < 0 && SRV_OPS(r)->releasedir)
		SRV_OPS(r)->releasedir(SRV_FS(r), r->in.nodeid, fh);
	return ret;
}

int srv_do_releasedir(struct rq *r)
{
	struct fuse_release_in in;
	int ret;

	memcpy(&in, r->arg, sizeof(in));
	if (!SRV_OPS(r)->releasedir)
		return -ENOSYS;
	ret = SRV_OPS(r)->releasedir(SRV_FS(r), r->in.nodeid, in.fh);
	if (ret < 0)
		return ret;
	return srv_reply(r->req, NULL, 0, NULL, 0);
}

int srv_do_fsyncdir(struct rq *r)
{
	struct fuse_fsync_in in;
	int ret;

	memcpy(&in, r->arg, sizeof(in));
	if (!SRV_OPS(r)->fsyncdir)
		return -ENOSYS;
	ret = SRV_OPS(r)->fsyncdir(SRV_FS(r), r->in.nodeid, in.fh,
				   !!(in.fsync_flags & FUSE_FSYNC_FDATASYNC));
	if (ret < 0)
		return ret;
	return srv_reply(r->req, NULL, 0, NULL, 0);
}
