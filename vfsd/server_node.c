// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * FUSE opcodes on names and attributes: LOOKUP, FORGET, GETATTR, SETATTR,
 * the creating and removing operations, RENAME, LINK, STATFS, ACCESS.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "idmap.h"
#include "server_internal.h"

#define NSEC_PER_SEC 1000000000u

bool srv_offset_ok(uint64_t off, uint64_t len)
{
	return off <= INT64_MAX && len <= (uint64_t)INT64_MAX - off;
}

void srv_fill_attr(const struct server *srv, struct fuse_attr *out,
		   const struct stat *st)
{
	memset(out, 0, sizeof(*out));
	out->ino = st->st_ino;
	out->size = (uint64_t)st->st_size;
	out->blocks = (uint64_t)st->st_blocks;
	out->atime = (uint64_t)st->st_atim.tv_sec;
	out->mtime = (uint64_t)st->st_mtim.tv_sec;
	out->ctime = (uint64_t)st->st_ctim.tv_sec;
	out->atimensec = (uint32_t)st->st_atim.tv_nsec;
	out->mtimensec = (uint32_t)st->st_mtim.tv_nsec;
	out->ctimensec = (uint32_t)st->st_ctim.tv_nsec;
	out->mode = st->st_mode;
	out->nlink = (uint32_t)st->st_nlink;
	/* The one place host ids become guest ids. */
	out->uid = idmap_to_guest(srv->cfg.uid_map, st->st_uid);
	out->gid = idmap_to_guest(srv->cfg.gid_map, st->st_gid);
	/* The 32-bit Linux encoding (new_encode_dev) equals glibc's for the
	 * low 32 bits. */
	out->rdev = (uint32_t)st->st_rdev;
	out->blksize = (uint32_t)st->st_blksize;
}

void srv_fill_entry(const struct server *srv, struct fuse_entry_out *out,
		    const struct fs_entry *e)
{
	memset(out, 0, sizeof(*out));
	out->nodeid = e->nodeid;
	out->generation = e->generation;
	out->entry_valid = srv->entry_sec;
	out->entry_valid_nsec = srv->entry_nsec;
	out->attr_valid = srv->attr_sec;
	out->attr_valid_nsec = srv->attr_nsec;
	if (!e->nodeid)
		return;
	srv_fill_attr(srv, &out->attr, &e->attr);
	/* Only a kernel that agreed to FUSE_SUBMOUNTS knows the flag; it
	 * then mounts the directory apart (own st_dev, no cross-mount
	 * inode clashes). */
	if (e->submount && S_ISDIR(e->attr.st_mode) &&
	    (SRV_STATE_FLAGS(atomic_load(&srv->state)) & FUSE_SUBMOUNTS))
		out->attr.flags |= FUSE_ATTR_SUBMOUNT;
}

/* Reply with an entry the filesystem just counted a lookup for; if the
 * reply cannot be sent, give the count back. */
static int reply_entry(struct rq *r, const struct fs_entry *e)
{
	struct fuse_entry_out out;
	int ret;

	srv_fill_entry(r->srv, &out, e);
	ret = srv_reply(r->req, &out, sizeof(out), NULL, 0);
	if (ret < 0 && e->nodeid && SRV_OPS(r)->forget)
		SRV_OPS(r)->forget(SRV_FS(r), e->nodeid, 1);
	return ret;
}

int srv_do_lookup(struct rq *r)
{
	struct argp a = srv_argp(r, 0);
	struct fs_entry e = { 0 };
	const char *name;
	int ret;

	ret = srv_arg_name(&a, &name);
	if (ret < 0)
		return ret;
	if (!SRV_OPS(r)->lookup)
		return -ENOSYS;
	ret = SRV_OPS(r)->lookup(SRV_FS(r), &r->ctx, r->in.nodeid, name, &e);
	if (ret == -ENOENT && (r->srv->entry_sec || r->srv->entry_nsec)) {
		/* A negative entry: the guest caches the absence. */
		struct fuse_entry_out out = {
			.entry_valid = r->srv->entry_sec,
			.entry_valid_nsec = r->srv->entry_nsec,
		};

		return srv_reply(r->req, &out, sizeof(out), NULL, 0);
	}
	if (ret < 0)
		return ret;
	return reply_entry(r, &e);
}

int srv_do_forget(struct rq *r)
{
	struct fuse_forget_in in;

	memcpy(&in, r->arg, sizeof(in));
	if (r->in.nodeid && SRV_OPS(r)->forget)
		SRV_OPS(r)->forget(SRV_FS(r), r->in.nodeid, in.nlookup);
	r->req->done(r->req, 0);
	return 0;
}

int srv_do_batch_forget(struct rq *r)
{
	struct fuse_forget_one chunk[64];
	struct fuse_batch_forget_in in;
	size_t pos = sizeof(struct fuse_in_header) + sizeof(in);
	size_t present, n;

	memcpy(&in, r->arg, sizeof(in));
	/* Trust the count only as far as the request holds entries. */
	present = (r->arg_len - sizeof(in)) / sizeof(chunk[0]);
	n = in.count < present ? in.count : present;
	while (n > 0 && SRV_OPS(r)->forget) {
		size_t k = n < 64 ? n : 64;

		if (srv_iov_read(r->req->in, r->req->in_cnt, pos, chunk,
				 k * sizeof(chunk[0])) < 0)
			break;
		for (size_t i = 0; i < k; i++)
			if (chunk[i].nodeid)
				SRV_OPS(r)->forget(SRV_FS(r), chunk[i].nodeid,
						   chunk[i].nlookup);
		pos += k * sizeof(chunk[0]);
		n -= k;
	}
	r->req->done(r->req, 0);
	return 0;
}

static int reply_attr(struct rq *r, const struct stat *st)
{
	struct fuse_attr_out out = {
		.attr_valid = r->srv->attr_sec,
		.attr_valid_nsec = r->srv->attr_nsec,
	};

	srv_fill_attr(r->srv, &out.attr, st);
	return srv_reply(r->req, &out, sizeof(out), NULL, 0);
}

int srv_do_getattr(struct rq *r)
{
	struct fuse_getattr_in in;
	struct stat st;
	int ret;

	memcpy(&in, r->arg, sizeof(in));
	if (!SRV_OPS(r)->getattr)
		return -ENOSYS;
	memset(&st, 0, sizeof(st));
	ret = SRV_OPS(r)->getattr(SRV_FS(r), &r->ctx, r->in.nodeid,
				  (in.getattr_flags & FUSE_GETATTR_FH) ?
				  &in.fh : NULL, &st);
	if (ret < 0)
		return ret;
	return reply_attr(r, &st);
}

static int set_time(struct timespec *ts, uint64_t sec, uint32_t nsec)
{
	if (nsec >= NSEC_PER_SEC)
		return -EINVAL;
	/* The guest sends a signed time as u64: keep its sign. */
	ts->tv_sec = (time_t)(int64_t)sec;
	ts->tv_nsec = nsec;
	return 0;
}

/* FATTR_* (wire) to FS_SET_* (fs.h).  FS_SET_ATIME_NOW always comes with
 * FS_SET_ATIME, as FATTR_ATIME_NOW with FATTR_ATIME from the kernel. */
static int setattr_translate(const struct server *srv,
			     const struct fuse_setattr_in *in,
			     struct fs_setattr *out)
{
	memset(out, 0, sizeof(*out));
	/* chown to a guest id --translate-* forbids: refused. */
	if ((in->valid & FATTR_UID) &&
	    idmap_to_host(srv->cfg.uid_map, in->uid, &out->uid) < 0)
		return -EPERM;
	if ((in->valid & FATTR_GID) &&
	    idmap_to_host(srv->cfg.gid_map, in->gid, &out->gid) < 0)
		return -EPERM;
	if (in->valid & FATTR_MODE) {
		out->valid |= FS_SET_MODE;
		out->mode = in->mode;
	}
	if (in->valid & FATTR_UID)
		out->valid |= FS_SET_UID;
	if (in->valid & FATTR_GID)
		out->valid |= FS_SET_GID;
	if (in->valid & FATTR_SIZE) {
		if (in->size > INT64_MAX)
			return -EINVAL;
		out->valid |= FS_SET_SIZE;
		out->size = (off_t)in->size;
	}
	if (in->valid & FATTR_ATIME_NOW) {
		out->valid |= FS_SET_ATIME | FS_SET_ATIME_NOW;
	} else if (in->valid & FATTR_ATIME) {
		if (set_time(&out->atime, in->atime, in->atimensec) < 0)
			return -EINVAL;
		out->valid |= FS_SET_ATIME;
	}
	if (in->valid & FATTR_MTIME_NOW) {
		out->valid |= FS_SET_MTIME | FS_SET_MTIME_NOW;
	} else if (in->valid & FATTR_MTIME) {
		if (set_time(&out->mtime, in->mtime, in->mtimensec) < 0)
			return -EINVAL;
		out->valid |= FS_SET_MTIME;
	}
	if (in->valid & FATTR_CTIME) {
		if (set_time(&out->ctime, in->ctime, in->ctimensec) < 0)
			return -EINVAL;
		out->valid |= FS_SET_CTIME;
	}
	if (in->valid & FATTR_KILL_SUIDGID)
		out->valid |= FS_SET_KILL_SUIDGID;
	if (in->valid & FATTR_FH) {
		out->has_fh = true;
		out->fh = in->fh;
	}
	return 0;
}

int srv_do_setattr(struct rq *r)
{
	struct fuse_setattr_in in;
	struct fs_setattr set;
	struct stat st;
	int ret;

	memcpy(&in, r->arg, sizeof(in));
	ret = setattr_translate(r->srv, &in, &set);
	if (ret < 0)
		return ret;
	if (!SRV_OPS(r)->setattr)
		return -ENOSYS;
	memset(&st, 0, sizeof(st));
	ret = SRV_OPS(r)->setattr(SRV_FS(r), &r->ctx, r->in.nodeid, &set, &st);
	if (ret < 0)
		return ret;
	return reply_attr(r, &st);
}

int srv_do_readlink(struct rq *r)
{
	char buf[PATH_MAX];
	int ret;

	if (!SRV_OPS(r)->readlink)
		return -ENOSYS;
	ret = SRV_OPS(r)->readlink(SRV_FS(r), &r->ctx, r->in.nodeid, buf,
				   sizeof(buf));
	if (ret < 0)
		return ret;
	if ((size_t)ret > sizeof(buf))
		return -EIO;
	return srv_reply(r->req, buf, (size_t)ret, NULL, 0);
}

int srv_do_symlink(struct rq *r)
{
	uint8_t scbuf[SRV_SECCTX_MAX];
	struct fs_secctx sc;
	struct argp a = srv_argp(r, 0);
	struct fs_entry e = { 0 };
	const char *name, *target;
	int ret;

	ret = srv_arg_name(&a, &name);
	if (ret < 0)
		return ret;
	/* symlink(2): the target with its NUL fits in PATH_MAX. */
	ret = srv_arg_string(&a, &target, PATH_MAX - 1);
	if (ret < 0)
		return ret;
	ret = srv_secctx_parse(r, &a, &sc, scbuf, sizeof(scbuf));
	if (ret < 0)
		return ret;
	if (!SRV_OPS(r)->symlink)
		return -ENOSYS;
	ret = SRV_OPS(r)->symlink(SRV_FS(r), &r->ctx, r->in.nodeid, name,
				  target, &e);
	if (ret < 0)
		return ret;
	return reply_entry(r, &e);
}

int srv_do_mknod(struct rq *r)
{
	uint8_t scbuf[SRV_SECCTX_MAX];
	struct fs_secctx sc;
	struct argp a = srv_argp(r, sizeof(struct fuse_mknod_in));
	struct fuse_mknod_in in;
	struct fs_entry e = { 0 };
	const char *name;
	int ret;

	memcpy(&in, r->arg, sizeof(in));
	ret = srv_arg_name(&a, &name);
	if (ret < 0)
		return ret;
	ret = srv_secctx_parse(r, &a, &sc, scbuf, sizeof(scbuf));
	if (ret < 0)
		return ret;
	if (!SRV_OPS(r)->mknod)
		return -ENOSYS;
	ret = SRV_OPS(r)->mknod(SRV_FS(r), &r->ctx, r->in.nodeid, name,
				in.mode, in.rdev, in.umask, &e);
	if (ret < 0)
		return ret;
	return reply_entry(r, &e);
}

int srv_do_mkdir(struct rq *r)
{
	uint8_t scbuf[SRV_SECCTX_MAX];
	struct fs_secctx sc;
	struct argp a = srv_argp(r, sizeof(struct fuse_mkdir_in));
	struct fuse_mkdir_in in;
	struct fs_entry e = { 0 };
	const char *name;
	int ret;

	memcpy(&in, r->arg, sizeof(in));
	ret = srv_arg_name(&a, &name);
	if (ret < 0)
		return ret;
	ret = srv_secctx_parse(r, &a, &sc, scbuf, sizeof(scbuf));
	if (ret < 0)
		return ret;
	if (!SRV_OPS(r)->mkdir)
		return -ENOSYS;
	ret = SRV_OPS(r)->mkdir(SRV_FS(r), &r->ctx, r->in.nodeid, name,
				in.mode, in.umask, &e);
	if (ret < 0)
		return ret;
	return reply_entry(r, &e);
}

static int remove_name(struct rq *r, bool dir)
{
	struct argp a = srv_argp(r, 0);
	const char *name;
	int ret;

	ret = srv_arg_name(&a, &name);
	if (ret < 0)
		return ret;
	if (dir ? !SRV_OPS(r)->rmdir : !SRV_OPS(r)->unlink)
		return -ENOSYS;
	ret = dir ? SRV_OPS(r)->rmdir(SRV_FS(r), &r->ctx, r->in.nodeid, name)
		  : SRV_OPS(r)->unlink(SRV_FS(r), &r->ctx, r->in.nodeid, name);
	if (ret < 0)
		return ret;
	return srv_reply(r->req, NULL, 0, NULL, 0);
}

int srv_do_unlink(struct rq *r)
{
	return remove_name(r, false);
}

int srv_do_rmdir(struct rq *r)
{
	return remove_name(r, true);
}

static int do_rename_common(struct rq *r, size_t skip, uint64_t newdir,
			    unsigned int flags)
{
	struct argp a = srv_argp(r, skip);
	const char *oldname, *newname;
	int ret;

	ret = srv_arg_name(&a, &oldname);
	if (ret < 0)
		return ret;
	ret = srv_arg_name(&a, &newname);
	if (ret < 0)
		return ret;
	if (!SRV_OPS(r)->rename)
		return -ENOSYS;
	ret = SRV_OPS(r)->rename(SRV_FS(r), &r->ctx, r->in.nodeid, oldname,
				 newdir, newname, flags);
	if (ret < 0)
		return ret;
	return srv_reply(r->req, NULL, 0, NULL, 0);
}

int srv_do_rename(struct rq *r)
{
	struct fuse_rename_in in;

	memcpy(&in, r->arg, sizeof(in));
	return do_rename_common(r, sizeof(in), in.newdir, 0);
}

int srv_do_rename2(struct rq *r)
{
	const uint32_t known = RENAME_NOREPLACE | RENAME_EXCHANGE |
			       RENAME_WHITEOUT;
	struct fuse_rename2_in in;

	memcpy(&in, r->arg, sizeof(in));
	if (in.flags & ~known)
		return -EINVAL;
	return do_rename_common(r, sizeof(in), in.newdir, in.flags);
}

int srv_do_link(struct rq *r)
{
	struct argp a = srv_argp(r, sizeof(struct fuse_link_in));
	struct fuse_link_in in;
	struct fs_entry e = { 0 };
	const char *name;
	int ret;

	memcpy(&in, r->arg, sizeof(in));
	ret = srv_arg_name(&a, &name);
	if (ret < 0)
		return ret;
	if (!SRV_OPS(r)->link)
		return -ENOSYS;
	/* The header names the new parent; the argument the linked node. */
	ret = SRV_OPS(r)->link(SRV_FS(r), &r->ctx, in.oldnodeid, r->in.nodeid,
			       name, &e);
	if (ret < 0)
		return ret;
	return reply_entry(r, &e);
}

int srv_do_statfs(struct rq *r)
{
	struct fuse_statfs_out out;
	struct statvfs sv;
	int ret;

	if (!SRV_OPS(r)->statfs)
		return -ENOSYS;
	memset(&sv, 0, sizeof(sv));
	ret = SRV_OPS(r)->statfs(SRV_FS(r), r->in.nodeid, &sv);
	if (ret < 0)
		return ret;
	memset(&out, 0, sizeof(out));
	out.st.blocks = sv.f_blocks;
	out.st.bfree = sv.f_bfree;
	out.st.bavail = sv.f_bavail;
	out.st.files = sv.f_files;
	out.st.ffree = sv.f_ffree;
	out.st.bsize = (uint32_t)sv.f_bsize;
	out.st.namelen = (uint32_t)sv.f_namemax;
	out.st.frsize = (uint32_t)sv.f_frsize;
	return srv_reply(r->req, &out, sizeof(out), NULL, 0);
}

int srv_do_access(struct rq *r)
{
	struct fuse_access_in in;
	int ret;

	memcpy(&in, r->arg, sizeof(in));
	if (!SRV_OPS(r)->access)
		return -ENOSYS;
	ret = SRV_OPS(r)->access(SRV_FS(r), &r->ctx, r->in.nodeid,
				 (int)in.mask);
	if (ret < 0)
		return ret;
	return srv_reply(r->req, NULL, 0, NULL, 0);
}
