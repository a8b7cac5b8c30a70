// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * FUSE opcodes on open files: OPEN, CREATE, READ, WRITE, RELEASE, FLUSH,
 * FSYNC, FALLOCATE, LSEEK, COPY_FILE_RANGE, SYNCFS, and the xattr family.
 *
 * READ and WRITE never copy file data: the filesystem gets iovecs over the
 * request's own buffers (req->scratch) and completes asynchronously; the
 * completion writes the reply header and ends the request.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "server_internal.h"
#include "xattrmap.h"

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* Largest count one copy_file_range reply can carry (the kernel's own
 * MAX_RW_COUNT): the reply field is 32 bits. */
#define COPY_RANGE_MAX 0x7ffff000u

/* ---- OPEN / CREATE ---------------------------------------------------- */

static bool open_writes(uint32_t flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

/*
 * HANDLE_KILLPRIV_V2: an O_TRUNC open by a caller without CAP_FSETID must
 * clear setuid/setgid, which the kernel leaves to us.  Done as a SETATTR
 * carrying only FS_SET_KILL_SUIDGID on the new handle; on failure the open
 * is undone (the file stays truncated, as a failed chmod after a local
 * truncate would leave it).
 */
static int open_kill_suidgid(struct rq *r, uint64_t nodeid, uint64_t fh,
			     uint32_t flags, uint32_t kill_flags)
{
	struct fs_setattr sa = {
		.valid = FS_SET_KILL_SUIDGID, .has_fh = true, .fh = fh,
	};
	struct stat st;

	if (!(SRV_STATE_FLAGS(r->state) & FUSE_HANDLE_KILLPRIV_V2) ||
	    !(kill_flags & FUSE_OPEN_KILL_SUIDGID) || !(flags & O_TRUNC))
		return 0;
	if (!SRV_OPS(r)->setattr)
		return 0;
	return SRV_OPS(r)->setattr(SRV_FS(r), &r->ctx, nodeid, &sa, &st);
}

static uint32_t open_reply_flags(const struct rq *r, uint32_t fs_flags)
{
	if (r->srv->cfg.direct_io)
		fs_flags |= FOPEN_DIRECT_IO;
	if (r->srv->cfg.keep_cache)
		fs_flags |= FOPEN_KEEP_CACHE;
	return fs_flags;
}

int srv_do_open(struct rq *r)
{
	struct fuse_open_in in;
	struct fuse_open_out out = { 0 };
	uint32_t open_flags = 0;
	uint64_t fh = 0;
	int ret;

	memcpy(&in, r->arg, sizeof(in));
	if (r->srv->cfg.readonly && open_writes(in.flags))
		return -EROFS;
	if (!SRV_OPS(r)->open)
		return -ENOSYS;
	ret = SRV_OPS(r)->open(SRV_FS(r), &r->ctx, r->in.nodeid, (int)in.flags,
			       &fh, &open_flags);
	if (ret < 0)
		return ret;
	ret = open_kill_suidgid(r, r->in.nodeid, fh, in.flags, in.open_flags);
	if (ret < 0) {
		if (SRV_OPS(r)->release)
			SRV_OPS(r)->release(SRV_FS(r), r->in.nodeid, fh);
		return ret;
	}
	out.fh = fh;
	out.open_flags = open_reply_flags(r, open_flags);
	ret = srv_reply(r->req, &out, sizeof(out), NULL, 0);
	if (ret < 0 && SRV_OPS(r)->release)
		SRV_OPS(r)->release(SRV_FS(r), r->in.nodeid, fh);
	return ret;
}

/* A created file the guest will never hear of: give its handle and its
 * node back, so nothing leaks. */
static void undo_created(struct rq *r, const struct fs_entry *e, uint64_t fh)
{
	if (SRV_OPS(r)->release)
		SRV_OPS(r)->release(SRV_FS(r), e->nodeid, fh);
	if (e->nodeid && SRV_OPS(r)->forget)
		SRV_OPS(r)->forget(SRV_FS(r), e->nodeid, 1);
}

/* The CREATE/TMPFILE reply; a reply that cannot be sent gives the node and
 * the handle back, so nothing leaks. */
static int reply_created(struct rq *r, const struct fs_entry *e, uint64_t fh,
			 uint32_t open_flags)
{
	struct fuse_entry_out eout;
	struct fuse_open_out oout = { 0 };
	int ret;

	srv_fill_entry(r->srv, &eout, e);
	oout.fh = fh;
	oout.open_flags = open_reply_flags(r, open_flags);
	ret = srv_reply(r->req, &eout, sizeof(eout), &oout, sizeof(oout));
	if (ret < 0)
		undo_created(r, e, fh);
	return ret;
}

int srv_do_create(struct rq *r)
{
	uint8_t scbuf[SRV_SECCTX_MAX];
	struct fs_secctx sc;
	struct argp a = srv_argp(r, sizeof(struct fuse_create_in));
	struct fuse_create_in in;
	struct fs_entry e = { 0 };
	uint32_t open_flags = 0;
	uint64_t fh = 0;
	const char *name;
	int ret;

	memcpy(&in, r->arg, sizeof(in));
	ret = srv_arg_name(&a, &name);
	if (ret < 0)
		return ret;
	ret = srv_secctx_parse(r, &a, &sc, scbuf, sizeof(scbuf));
	if (ret < 0)
		return ret;
	if (!SRV_OPS(r)->create)
		return -ENOSYS;
	ret = SRV_OPS(r)->create(SRV_FS(r), &r->ctx, r->in.nodeid, name,
				 in.mode, (int)in.flags, in.umask, &e, &fh,
				 &open_flags);
	if (ret < 0)
		return ret;
	ret = open_kill_suidgid(r, e.nodeid, fh, in.flags, in.open_flags);
	if (ret < 0) {
		undo_created(r, &e, fh);
		return ret;
	}
	return reply_created(r, &e, fh, open_flags);
}

/*
 * FUSE_TMPFILE (7.37): arguments like CREATE, but the name the kernel sends
 * is its placeholder for an unnamed dentry ("/"): ignored, never used.
 */
int srv_do_tmpfile(struct rq *r)
{
	uint8_t scbuf[SRV_SECCTX_MAX];
	struct fs_secctx sc;
	struct argp a = srv_argp(r, sizeof(struct fuse_create_in));
	struct fuse_create_in in;
	struct fs_entry e = { 0 };
	uint32_t open_flags = 0;
	uint64_t fh = 0;
	const char *placeholder;
	int ret;

	memcpy(&in, r->arg, sizeof(in));
	/* A security context follows the placeholder name, if any. */
	if (srv_arg_string(&a, &placeholder, PATH_MAX) < 0)
		a.left = 0;
	ret = srv_secctx_parse(r, &a, &sc, scbuf, sizeof(scbuf));
	if (ret < 0)
		return ret;
	if (!SRV_OPS(r)->tmpfile)
		return -ENOSYS;
	/* O_TMPFILE without write access is refused by open(2) itself. */
	if ((in.flags & O_ACCMODE) == O_RDONLY)
		return -EINVAL;
	ret = SRV_OPS(r)->tmpfile(SRV_FS(r), &r->ctx, r->in.nodeid, in.mode,
				  (int)in.flags, in.umask, &e, &fh,
				  &open_flags);
	if (ret < 0)
		return ret;
	return reply_created(r, &e, fh, open_flags);
}

/* ---- READ / WRITE ----------------------------------------------------- */

static void read_complete(struct uring_op *op, int res)
{
	struct server_req *req = container_of(op, struct server_req, io);
	size_t room = srv_iov_length(req->out, req->out_cnt);
	struct fuse_out_header oh = { .unique = req->unique };

	if (res < 0) {
		srv_reply_err(req, res);
		return;
	}
	/* More than the buffers we handed out is a filesystem bug. */
	if ((size_t)res > room - sizeof(oh)) {
		srv_reply_err(req, -EIO);
		return;
	}
	oh.len = (uint32_t)(sizeof(oh) + (size_t)res);
	srv_iov_write(req->out, req->out_cnt, 0, &oh, sizeof(oh));
	req->done(req, oh.len);
}

int srv_do_read(struct rq *r)
{
	struct server_req *req = r->req;
	struct fuse_read_in in;
	int n, ret;

	memcpy(&in, r->arg, sizeof(in));
	if (in.size > r->srv->cfg.max_write)
		return -EINVAL;
	if (!srv_offset_ok(in.offset, in.size))
		return -EINVAL;
	/* A buffer smaller than asked for is refused rather than trimmed:
	 * a short read means end-of-file to the guest's page cache. */
	if (r->out_size < sizeof(struct fuse_out_header) ||
	    in.size > r->out_size - sizeof(struct fuse_out_header))
		return -EINVAL;
	if (!SRV_OPS(r)->read)
		return -ENOSYS;
	if (in.size == 0)
		return srv_reply(req, NULL, 0, NULL, 0);

	n = srv_iov_slice(req->out, req->out_cnt,
			  sizeof(struct fuse_out_header), in.size,
			  req->scratch, req->scratch_cnt);
	if (n < 0)
		return n;
	req->io.complete = read_complete;
	/* On success the request may already be finished: do not touch it. */
	ret = SRV_OPS(r)->read(SRV_FS(r), r->in.nodeid, in.fh,
			       (off_t)in.offset, req->scratch, (unsigned int)n,
			       r->ring, &req->io);
	return ret < 0 ? ret : 0;
}

static void write_complete(struct uring_op *op, int res)
{
	struct server_req *req = container_of(op, struct server_req, io);
	struct fuse_write_out out = { 0 };

	if (res < 0) {
		srv_reply_err(req, res);
		return;
	}
	if ((size_t)res > srv_iov_length(req->in, req->in_cnt)) {
		srv_reply_err(req, -EIO);
		return;
	}
	out.size = (uint32_t)res;
	if (srv_reply(req, &out, sizeof(out), NULL, 0) < 0)
		srv_reply_err(req, -ERANGE);
}

int srv_do_write(struct rq *r)
{
	struct server_req *req = r->req;
	struct fuse_write_in in;
	struct fuse_write_out out = { 0 };
	size_t data_pos = sizeof(struct fuse_in_header) + sizeof(in);
	int n, ret;

	memcpy(&in, r->arg, sizeof(in));
	if (in.size > r->srv->cfg.max_write ||
	    in.size > r->arg_len - sizeof(in))
		return -EINVAL;
	if (!srv_offset_ok(in.offset, in.size))
		return -EINVAL;
	if (!SRV_OPS(r)->write)
		return -ENOSYS;
	if (in.size == 0)
		return srv_reply(req, &out, sizeof(out), NULL, 0);

	n = srv_iov_slice(req->in, req->in_cnt, data_pos, in.size,
			  req->scratch, req->scratch_cnt);
	if (n < 0)
		return n;
	req->io.complete = write_complete;
	ret = SRV_OPS(r)->write(SRV_FS(r), &r->ctx, r->in.nodeid, in.fh,
				(off_t)in.offset, req->scratch,
				(unsigned int)n,
				!!(in.write_flags & FUSE_WRITE_KILL_SUIDGID),
				r->ring, &req->io);
	return ret < 0 ? ret : 0;
}

/* ---- handle operations ------------------------------------------------ */

int srv_do_release(struct rq *r)
{
	struct fuse_release_in in;
	int ret;

	memcpy(&in, r->arg, sizeof(in));
	if (!SRV_OPS(r)->release)
		return -ENOSYS;
	srv_lock_release(r, in.fh, in.release_flags);
	ret = SRV_OPS(r)->release(SRV_FS(r), r->in.nodeid, in.fh);
	if (ret < 0)
		return ret;
	return srv_reply(r->req, NULL, 0, NULL, 0);
}

int srv_do_flush(struct rq *r)
{
	struct fuse_flush_in in;
	int ret;

	memcpy(&in, r->arg, sizeof(in));
	srv_lock_flush(r, in.lock_owner);
	if (!SRV_OPS(r)->flush)
		return -ENOSYS;
	ret = SRV_OPS(r)->flush(SRV_FS(r), r->in.nodeid, in.fh);
	if (ret < 0)
		return ret;
	return srv_reply(r->req, NULL, 0, NULL, 0);
}

int srv_do_fsync(struct rq *r)
{
	struct fuse_fsync_in in;
	int ret;

	memcpy(&in, r->arg, sizeof(in));
	if (!SRV_OPS(r)->fsync)
		return -ENOSYS;
	ret = SRV_OPS(r)->fsync(SRV_FS(r), r->in.nodeid, in.fh,
				!!(in.fsync_flags & FUSE_FSYNC_FDATASYNC));
	if (ret < 0)
		return ret;
	return srv_reply(r->req, NULL, 0, NULL, 0);
}

int srv_do_fallocate(struct rq *r)
{
	struct fuse_fallocate_in in;
	int ret;

	memcpy(&in, r->arg, sizeof(in));
	if (in.length == 0 || !srv_offset_ok(in.offset, in.length))
		return -EINVAL;
	if (!SRV_OPS(r)->fallocate)
		return -ENOSYS;
	ret = SRV_OPS(r)->fallocate(SRV_FS(r), r->in.nodeid, in.fh,
				    (int)in.mode, (off_t)in.offset,
				    (off_t)in.length);
	if (ret < 0)
		return ret;
	return srv_reply(r->req, NULL, 0, NULL, 0);
}

int srv_do_lseek(struct rq *r)
{
	struct fuse_lseek_in in;
	struct fuse_lseek_out out = { 0 };
	off_t res = 0;
	int ret;

	memcpy(&in, r->arg, sizeof(in));
	if (in.offset > INT64_MAX)
		return -EINVAL;
	switch (in.whence) {
	case SEEK_SET:
	case SEEK_CUR:
	case SEEK_END:
	case SEEK_DATA:
	case SEEK_HOLE:
		break;
	default:
		return -EINVAL;
	}
	if (!SRV_OPS(r)->lseek)
		return -ENOSYS;
	ret = SRV_OPS(r)->lseek(SRV_FS(r), r->in.nodeid, in.fh,
				(off_t)in.offset, (int)in.whence, &res);
	if (ret < 0)
		return ret;
	if (res < 0)
		return -EIO;
	out.offset = (uint64_t)res;
	return srv_reply(r->req, &out, sizeof(out), NULL, 0);
}

int srv_do_copy_file_range(struct rq *r)
{
	struct fuse_copy_file_range_in in;
	struct fuse_write_out out = { 0 };
	uint64_t len;
	ssize_t ret;

	memcpy(&in, r->arg, sizeof(in));
	/* copy_file_range(2) defines no flags yet. */
	if (in.flags != 0)
		return -EINVAL;
	len = in.len < COPY_RANGE_MAX ? in.len : COPY_RANGE_MAX;
	if (!srv_offset_ok(in.off_in, len) || !srv_offset_ok(in.off_out, len))
		return -EINVAL;
	if (!SRV_OPS(r)->copy_file_range)
		return -ENOSYS;
	ret = SRV_OPS(r)->copy_file_range(SRV_FS(r), r->in.nodeid, in.fh_in,
					  (off_t)in.off_in, in.nodeid_out,
					  in.fh_out, (off_t)in.off_out,
					  (size_t)len, 0);
	if (ret < 0)
		return ret < -4095 ? -EIO : (int)ret;
	if ((uint64_t)ret > len)
		return -EIO;
	out.size = (uint32_t)ret;
	return srv_reply(r->req, &out, sizeof(out), NULL, 0);
}

int srv_do_syncfs(struct rq *r)
{
	int ret;

	if (!SRV_OPS(r)->syncfs)
		return -ENOSYS;
	ret = SRV_OPS(r)->syncfs(SRV_FS(r), r->in.nodeid);
	if (ret < 0)
		return ret;
	return srv_reply(r->req, NULL, 0, NULL, 0);
}

/* ---- extended attributes ---------------------------------------------- */

/* Reply to GETXATTR/LISTXATTR: the size when asked for it (size 0), else
 * the bytes. */
static int reply_xattr(struct rq *r, uint32_t size, ssize_t ret,
		       const void *buf, size_t cap)
{
	struct fuse_getxattr_out out = { 0 };

	if (ret < 0)
		return ret < -4095 ? -EIO : (int)ret;
	if (size == 0) {
		if ((uint64_t)ret > UINT32_MAX)
			return -E2BIG;
		out.size = (uint32_t)ret;
		return srv_reply(r->req, &out, sizeof(out), NULL, 0);
	}
	if ((size_t)ret > cap)
		return -EIO;
	return srv_reply(r->req, buf, (size_t)ret, NULL, 0);
}

/* A guest xattr name to the host's under --xattrmap (into buf), or as is. */
static int map_name(const struct rq *r, const char **name,
		    char buf[XATTRMAP_NAME_MAX + 1])
{
	int ret;

	/* Without FUSE_POSIX_ACL the guest does not enforce ACLs: it must
	 * not set or read host ACLs it would ignore (as virtiofsd). */
	if (!(SRV_STATE_FLAGS(r->state) & FUSE_POSIX_ACL) &&
	    strncmp(*name, "system.posix_acl_", 17) == 0)
		return -EOPNOTSUPP;
	if (!r->srv->cfg.xattrmap)
		return 0;
	ret = xattrmap_to_host(r->srv->cfg.xattrmap, *name, buf,
			       XATTRMAP_NAME_MAX + 1);
	if (ret < 0)
		return ret;
	*name = buf;
	return 0;
}

/* Room for a value: what the guest asked for, no more than Linux allows
 * and than the reply buffer holds. */
static size_t xattr_cap(const struct rq *r, uint32_t size)
{
	size_t cap = size < SRV_XATTR_SIZE_MAX ? size : SRV_XATTR_SIZE_MAX;
	size_t room = r->out_size - sizeof(struct fuse_out_header);

	return cap < room ? cap : room;
}

int srv_do_getxattr(struct rq *r)
{
	struct argp a = srv_argp(r, sizeof(struct fuse_getxattr_in));
	struct fuse_getxattr_in in;
	char mapped[XATTRMAP_NAME_MAX + 1];
	const char *name;
	void *buf = NULL;
	size_t cap = 0;
	ssize_t ret;
	int rc;

	memcpy(&in, r->arg, sizeof(in));
	rc = srv_arg_string(&a, &name, SRV_XATTR_NAME_MAX);
	if (rc < 0)
		return rc;
	if (!SRV_OPS(r)->getxattr)
		return -ENOSYS;
	rc = map_name(r, &name, mapped);
	if (rc < 0)
		return rc;
	if (in.size) {
		/* Size 0 would ask the filesystem for the size instead. */
		cap = xattr_cap(r, in.size);
		if (cap == 0)
			return -ERANGE;
		buf = malloc(cap);
		if (!buf)
			return -ENOMEM;
	}
	ret = SRV_OPS(r)->getxattr(SRV_FS(r), &r->ctx, r->in.nodeid, name, buf,
				   cap);
	rc = reply_xattr(r, in.size, ret, buf, cap);
	free(buf);
	return rc;
}

/* LISTXATTR under --xattrmap: the host's whole list, translated (names
 * hidden, prefixes stripped), so even the size query needs the list.  A list
 * that grows between the two calls is asked for again, a few times. */
static ssize_t list_mapped(struct rq *r, char *out, size_t cap)
{
	ssize_t size, n;
	char *host;

	for (int tries = 0; tries < 3; tries++) {
		size = SRV_OPS(r)->listxattr(SRV_FS(r), &r->ctx, r->in.nodeid,
					     NULL, 0);
		if (size <= 0)
			return size;
		if (size > (ssize_t)SRV_XATTR_SIZE_MAX)
			size = SRV_XATTR_SIZE_MAX;
		host = malloc((size_t)size);
		if (!host)
			return -ENOMEM;
		n = SRV_OPS(r)->listxattr(SRV_FS(r), &r->ctx, r->in.nodeid,
					  host, (size_t)size);
		if (n >= 0) {
			/* -ERANGE here: the guest's buffer is short. */
			n = xattrmap_list_to_guest(r->srv->cfg.xattrmap, host,
						   (size_t)n, out, cap);
			free(host);
			return n;
		}
		free(host);
		if (n != -ERANGE)
			return n;
		if (size == (ssize_t)SRV_XATTR_SIZE_MAX)
			return -E2BIG;  /* larger than Linux allows */
	}
	return -ERANGE;
}

int srv_do_listxattr(struct rq *r)
{
	struct fuse_getxattr_in in;
	void *buf = NULL;
	size_t cap = 0;
	ssize_t ret;
	int rc;

	memcpy(&in, r->arg, sizeof(in));
	if (!SRV_OPS(r)->listxattr)
		return -ENOSYS;
	if (in.size) {
		/* Size 0 would ask the filesystem for the size instead. */
		cap = xattr_cap(r, in.size);
		if (cap == 0)
			return -ERANGE;
		buf = malloc(cap);
		if (!buf)
			return -ENOMEM;
	}
	if (r->srv->cfg.xattrmap)
		ret = list_mapped(r, buf, cap);
	else
		ret = SRV_OPS(r)->listxattr(SRV_FS(r), &r->ctx, r->in.nodeid,
					    buf, cap);
	rc = reply_xattr(r, in.size, ret, buf, cap);
	free(buf);
	return rc;
}

int srv_do_setxattr(struct rq *r)
{
	bool ext = SRV_STATE_FLAGS(r->state) & FUSE_SETXATTR_EXT;
	size_t hdr = ext ? sizeof(struct fuse_setxattr_in) :
		     FUSE_COMPAT_SETXATTR_IN_SIZE;
	struct fuse_setxattr_in in = { 0 };
	char mapped[XATTRMAP_NAME_MAX + 1];
	struct argp a;
	const char *name;
	uint8_t *buf;
	size_t rest;
	int ret;

	if (r->arg_len < hdr)
		return -EINVAL;
	/* Only the compat part is in our copy (OP_RAW): the rest too. */
	if (srv_iov_read(r->req->in, r->req->in_cnt,
			 sizeof(struct fuse_in_header), &in, hdr) < 0)
		return -EINVAL;
	if (in.size > SRV_XATTR_SIZE_MAX)
		return -E2BIG;
	rest = r->arg_len - hdr;
	/* Name (with NUL) and value, nothing more. */
	if (rest > SRV_XATTR_NAME_MAX + 1 + (size_t)in.size || rest < in.size)
		return -EINVAL;
	if (!SRV_OPS(r)->setxattr)
		return -ENOSYS;

	buf = malloc(rest ? rest : 1);
	if (!buf)
		return -ENOMEM;
	ret = srv_iov_read(r->req->in, r->req->in_cnt,
			   sizeof(struct fuse_in_header) + hdr, buf, rest);
	if (ret < 0)
		goto out;
	/* The name is what precedes the value. */
	a.p = buf;
	a.left = rest - in.size;
	ret = srv_arg_string(&a, &name, SRV_XATTR_NAME_MAX);
	if (ret < 0)
		goto out;
	if (a.left != 0) {
		ret = -EINVAL;
		goto out;
	}
	ret = map_name(r, &name, mapped);
	if (ret < 0)
		goto out;
	/* XATTR_CREATE/REPLACE only: FS_XATTR_KILL_SGID is ours to set. */
	if (in.flags & ~(uint32_t)(XATTR_CREATE | XATTR_REPLACE)) {
		ret = -EINVAL;
		goto out;
	}
	if ((in.setxattr_flags & FUSE_SETXATTR_ACL_KILL_SGID) &&
	    strcmp(name, "system.posix_acl_access") == 0)
		in.flags |= FS_XATTR_KILL_SGID;
	ret = SRV_OPS(r)->setxattr(SRV_FS(r), &r->ctx, r->in.nodeid, name,
				   buf + (rest - in.size), in.size,
				   (int)in.flags);
	if (ret >= 0)
		ret = srv_reply(r->req, NULL, 0, NULL, 0);
out:
	free(buf);
	return ret;
}

int srv_do_removexattr(struct rq *r)
{
	struct argp a = srv_argp(r, 0);
	char mapped[XATTRMAP_NAME_MAX + 1];
	const char *name;
	int ret;

	ret = srv_arg_string(&a, &name, SRV_XATTR_NAME_MAX);
	if (ret < 0)
		return ret;
	if (!SRV_OPS(r)->removexattr)
		return -ENOSYS;
	ret = map_name(r, &name, mapped);
	if (ret < 0)
		return ret;
	ret = SRV_OPS(r)->removexattr(SRV_FS(r), &r->ctx, r->in.nodeid, name);
	if (ret < 0)
		return ret;
	return srv_reply(r->req, NULL, 0, NULL, 0);
}
