// SPDX-License-Identifier: GPL-2.0-or-later
/* A recording fake filesystem for the FUSE engine tests. */
#include "fake_fs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

/* Count the call; return the injected error, if any. */
#define REC(f, op)                                                       \
	do {                                                             \
		(f)->calls[op]++;                                        \
		if ((f)->err[op])                                        \
			return (f)->err[op];                             \
	} while (0)

void fake_fs_init(struct fake_fs *f)
{
	memset(f, 0, sizeof(*f));
	f->next_nodeid = 100;
	f->read_max = SIZE_MAX;
	f->open_fh = 0xf00d;
	f->link_target = "target/of/link";
	f->xattr_value = "value";
	f->xattr_len = 5;
}

void fake_fs_stat(struct stat *st, uint64_t ino)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = S_IFREG | 0644;
	st->st_nlink = 3;
	st->st_uid = 1000;
	st->st_gid = 1001;
	st->st_rdev = makedev(8, 17);
	st->st_size = 123456;
	st->st_blksize = 4096;
	st->st_blocks = 248;
	st->st_atim.tv_sec = 1000;
	st->st_atim.tv_nsec = 1;
	st->st_mtim.tv_sec = 2000;
	st->st_mtim.tv_nsec = 2;
	st->st_ctim.tv_sec = 3000;
	st->st_ctim.tv_nsec = 3;
}

static void copy_name(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src);
}

static void new_entry(struct fake_fs *f, struct fs_entry *out)
{
	out->nodeid = f->next_nodeid++;
	out->generation = 7;
	fake_fs_stat(&out->attr, out->nodeid + 1000);
}

static int f_init(void *fs, const struct fs_init_info *info)
{
	struct fake_fs *f = fs;

	REC(f, F_INIT);
	f->init_info = *info;
	return 0;
}

static void f_destroy(void *fs)
{
	struct fake_fs *f = fs;

	f->calls[F_DESTROY]++;
}

static int f_lookup(void *fs, const struct fs_ctx *ctx, uint64_t parent,
		    const char *name, struct fs_entry *out)
{
	struct fake_fs *f = fs;

	REC(f, F_LOOKUP);
	f->ctx = *ctx;
	f->nodeid = parent;
	copy_name(f->name, sizeof(f->name), name);
	if (f->missing_name && strcmp(name, f->missing_name) == 0)
		return -ENOENT;
	if (f->broken_name && strcmp(name, f->broken_name) == 0)
		return -EIO;
	new_entry(f, out);
	if (f->submount_name && strcmp(name, f->submount_name) == 0) {
		out->attr.st_mode = S_IFDIR | 0755;
		out->submount = true;
	}
	f->lookups_ok++;
	return 0;
}

static void f_forget(void *fs, uint64_t nodeid, uint64_t nlookup)
{
	struct fake_fs *f = fs;

	f->calls[F_FORGET]++;
	if (f->nforget < FAKE_MAX_FORGETS) {
		f->forget_id[f->nforget] = nodeid;
		f->forget_n[f->nforget] = nlookup;
		f->nforget++;
	}
}

static int f_getattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		     const uint64_t *fh, struct stat *out)
{
	struct fake_fs *f = fs;

	REC(f, F_GETATTR);
	f->ctx = *ctx;
	f->nodeid = nodeid;
	f->has_getattr_fh = fh != NULL;
	f->fh = fh ? *fh : 0;
	fake_fs_stat(out, nodeid);
	return 0;
}

static int f_setattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		     const struct fs_setattr *in, struct stat *out)
{
	struct fake_fs *f = fs;

	REC(f, F_SETATTR);
	f->nodeid = nodeid;
	f->setattr = *in;
	fake_fs_stat(out, nodeid);
	return 0;
}

static int f_readlink(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		      char *buf, size_t size)
{
	struct fake_fs *f = fs;
	size_t len = strlen(f->link_target);

	REC(f, F_READLINK);
	f->nodeid = nodeid;
	if (len > size)
		len = size;
	memcpy(buf, f->link_target, len);
	return (int)len;
}

static int f_symlink(void *fs, const struct fs_ctx *ctx, uint64_t parent,
		     const char *name, const char *target,
		     struct fs_entry *out)
{
	struct fake_fs *f = fs;

	REC(f, F_SYMLINK);
	f->nodeid = parent;
	copy_name(f->name, sizeof(f->name), name);
	copy_name(f->target, sizeof(f->target), target);
	new_entry(f, out);
	return 0;
}

static int f_mknod(void *fs, const struct fs_ctx *ctx, uint64_t parent,
		   const char *name, mode_t mode, dev_t rdev, mode_t umask,
		   struct fs_entry *out)
{
	struct fake_fs *f = fs;

	REC(f, F_MKNOD);
	f->nodeid = parent;
	copy_name(f->name, sizeof(f->name), name);
	f->mode = mode;
	f->rdev = rdev;
	f->umask = umask;
	new_entry(f, out);
	return 0;
}

static int f_mkdir(void *fs, const struct fs_ctx *ctx, uint64_t parent,
		   const char *name, mode_t mode, mode_t umask,
		   struct fs_entry *out)
{
	struct fake_fs *f = fs;

	REC(f, F_MKDIR);
	f->ctx = *ctx;
	f->nodeid = parent;
	copy_name(f->name, sizeof(f->name), name);
	f->mode = mode;
	f->umask = umask;
	new_entry(f, out);
	return 0;
}

static int f_unlink(void *fs, const struct fs_ctx *ctx, uint64_t parent,
		    const char *name)
{
	struct fake_fs *f = fs;

	REC(f, F_UNLINK);
	f->nodeid = parent;
	copy_name(f->name, sizeof(f->name), name);
	return 0;
}

static int f_rmdir(void *fs, const struct fs_ctx *ctx, uint64_t parent,
		   const char *name)
{
	struct fake_fs *f = fs;

	REC(f, F_RMDIR);
	f->nodeid = parent;
	copy_name(f->name, sizeof(f->name), name);
	return 0;
}

static int f_rename(void *fs, const struct fs_ctx *ctx, uint64_t olddir,
		    const char *oldname, uint64_t newdir, const char *newname,
		    unsigned int flags)
{
	struct fake_fs *f = fs;

	REC(f, F_RENAME);
	f->nodeid = olddir;
	f->nodeid2 = newdir;
	copy_name(f->name, sizeof(f->name), oldname);
	copy_name(f->name2, sizeof(f->name2), newname);
	f->rename_flags = flags;
	return 0;
}

static int f_link(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		  uint64_t newparent, const char *newname,
		  struct fs_entry *out)
{
	struct fake_fs *f = fs;

	REC(f, F_LINK);
	f->nodeid = nodeid;
	f->nodeid2 = newparent;
	copy_name(f->name, sizeof(f->name), newname);
	out->nodeid = nodeid;
	fake_fs_stat(&out->attr, nodeid);
	return 0;
}

static int f_open(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		  int flags, uint64_t *fh, uint32_t *open_flags)
{
	struct fake_fs *f = fs;

	REC(f, F_OPEN);
	f->nodeid = nodeid;
	f->flags = flags;
	*fh = f->open_fh;
	*open_flags = f->open_flags;
	return 0;
}

static int f_create(void *fs, const struct fs_ctx *ctx, uint64_t parent,
		    const char *name, mode_t mode, int flags, mode_t umask,
		    struct fs_entry *out, uint64_t *fh, uint32_t *open_flags)
{
	struct fake_fs *f = fs;

	REC(f, F_CREATE);
	f->nodeid = parent;
	copy_name(f->name, sizeof(f->name), name);
	f->mode = mode;
	f->flags = flags;
	f->umask = umask;
	new_entry(f, out);
	*fh = f->open_fh;
	*open_flags = f->open_flags;
	return 0;
}

static int f_tmpfile(void *fs, const struct fs_ctx *ctx, uint64_t parent,
		     mode_t mode, int flags, mode_t umask,
		     struct fs_entry *out, uint64_t *fh, uint32_t *open_flags)
{
	struct fake_fs *f = fs;

	REC(f, F_TMPFILE);
	f->nodeid = parent;
	f->mode = mode;
	f->flags = flags;
	f->umask = umask;
	new_entry(f, out);
	*fh = f->open_fh;
	*open_flags = f->open_flags;
	return 0;
}

static int f_release(void *fs, uint64_t nodeid, uint64_t fh)
{
	struct fake_fs *f = fs;

	REC(f, F_RELEASE);
	f->nodeid = nodeid;
	f->fh = fh;
	return 0;
}

static int f_flush(void *fs, uint64_t nodeid, uint64_t fh)
{
	struct fake_fs *f = fs;

	REC(f, F_FLUSH);
	f->nodeid = nodeid;
	f->fh = fh;
	return 0;
}

static int f_fsync(void *fs, uint64_t nodeid, uint64_t fh, bool datasync)
{
	struct fake_fs *f = fs;

	REC(f, F_FSYNC);
	f->nodeid = nodeid;
	f->fh = fh;
	f->datasync = datasync;
	return 0;
}

static size_t iov_total(const struct iovec *iov, unsigned int cnt)
{
	size_t n = 0;

	for (unsigned int i = 0; i < cnt; i++)
		n += iov[i].iov_len;
	return n;
}

static size_t fill_read(struct fake_fs *f, const struct iovec *iov,
			unsigned int cnt)
{
	size_t done = 0, want = iov_total(iov, cnt);

	if (want > f->read_max)
		want = f->read_max;
	for (unsigned int i = 0; i < cnt && done < want; i++) {
		uint8_t *p = iov[i].iov_base;

		for (size_t j = 0; j < iov[i].iov_len && done < want; j++)
			p[j] = (uint8_t)((size_t)f->offset + done++);
	}
	return done;
}

static int f_read(void *fs, uint64_t nodeid, uint64_t fh, off_t offset,
		  const struct iovec *iov, unsigned int iovcnt,
		  struct uring *ring, struct uring_op *op)
{
	struct fake_fs *f = fs;

	REC(f, F_READ);
	f->nodeid = nodeid;
	f->fh = fh;
	f->offset = offset;
	f->size = iov_total(iov, iovcnt);
	if (f->defer) {
		f->pending_op = op;
		f->pending_iov = iov;
		f->pending_iovcnt = iovcnt;
		f->pending_read = true;
		return 0;
	}
	op->complete(op, (int)fill_read(f, iov, iovcnt));
	return 0;
}

static size_t take_write(struct fake_fs *f, const struct iovec *iov,
			 unsigned int cnt)
{
	f->wlen = 0;
	for (unsigned int i = 0; i < cnt; i++) {
		size_t n = iov[i].iov_len;

		if (n > FAKE_WBUF - f->wlen)
			n = FAKE_WBUF - f->wlen;
		memcpy(f->wbuf + f->wlen, iov[i].iov_base, n);
		f->wlen += n;
	}
	return f->wlen;
}

static int f_write(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		   uint64_t fh, off_t offset, const struct iovec *iov,
		   unsigned int iovcnt, bool kill_priv, struct uring *ring,
		   struct uring_op *op)
{
	struct fake_fs *f = fs;

	REC(f, F_WRITE);
	f->ctx = *ctx;
	f->nodeid = nodeid;
	f->fh = fh;
	f->offset = offset;
	f->kill_priv = kill_priv;
	f->size = iov_total(iov, iovcnt);
	if (f->defer) {
		f->pending_op = op;
		f->pending_iov = iov;
		f->pending_iovcnt = iovcnt;
		f->pending_read = false;
		return 0;
	}
	op->complete(op, (int)take_write(f, iov, iovcnt));
	return 0;
}

void fake_fs_complete(struct fake_fs *f, int res)
{
	struct uring_op *op = f->pending_op;

	f->pending_op = NULL;
	if (res > 0 && f->pending_read)
		fill_read(f, f->pending_iov, f->pending_iovcnt);
	op->complete(op, res);
}

static int f_statfs(void *fs, uint64_t nodeid, struct statvfs *out)
{
	struct fake_fs *f = fs;

	REC(f, F_STATFS);
	f->nodeid = nodeid;
	out->f_blocks = 1000;
	out->f_bfree = 500;
	out->f_bavail = 400;
	out->f_files = 100;
	out->f_ffree = 50;
	out->f_bsize = 4096;
	out->f_frsize = 512;
	out->f_namemax = 255;
	return 0;
}

static int f_opendir(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		     int flags, uint64_t *fh)
{
	struct fake_fs *f = fs;

	REC(f, F_OPENDIR);
	f->nodeid = nodeid;
	f->flags = flags;
	*fh = f->open_fh;
	return 0;
}

static int f_readdir(void *fs, uint64_t nodeid, uint64_t fh, uint64_t offset,
		     fs_dirent_emit emit, void *buf)
{
	struct fake_fs *f = fs;

	REC(f, F_READDIR);
	f->nodeid = nodeid;
	f->fh = fh;
	f->readdir_offset = offset;
	f->emitted = 0;
	for (uint64_t i = offset; i < f->ndir; i++) {
		const struct fake_dirent *d = &f->dir[i];

		if (emit(buf, d->name, strlen(d->name), d->ino, d->type, i + 1))
			break;
		f->emitted++;
	}
	return 0;
}

static int f_releasedir(void *fs, uint64_t nodeid, uint64_t fh)
{
	struct fake_fs *f = fs;

	REC(f, F_RELEASEDIR);
	f->nodeid = nodeid;
	f->fh = fh;
	return 0;
}

static int f_fsyncdir(void *fs, uint64_t nodeid, uint64_t fh, bool datasync)
{
	struct fake_fs *f = fs;

	REC(f, F_FSYNCDIR);
	f->nodeid = nodeid;
	f->fh = fh;
	f->datasync = datasync;
	return 0;
}

static int f_access(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		    int mask)
{
	struct fake_fs *f = fs;

	REC(f, F_ACCESS);
	f->nodeid = nodeid;
	f->mask = mask;
	return 0;
}

static int f_fallocate(void *fs, uint64_t nodeid, uint64_t fh, int mode,
		       off_t offset, off_t length)
{
	struct fake_fs *f = fs;

	REC(f, F_FALLOCATE);
	f->nodeid = nodeid;
	f->fh = fh;
	f->fallocate_mode = mode;
	f->offset = offset;
	f->length = length;
	return 0;
}

static int f_lseek(void *fs, uint64_t nodeid, uint64_t fh, off_t offset,
		   int whence, off_t *out)
{
	struct fake_fs *f = fs;

	REC(f, F_LSEEK);
	f->nodeid = nodeid;
	f->fh = fh;
	f->offset = offset;
	f->whence = whence;
	*out = f->lseek_result;
	return 0;
}

static ssize_t f_copy_file_range(void *fs, uint64_t nodein, uint64_t fhin,
				 off_t offin, uint64_t nodeout, uint64_t fhout,
				 off_t offout, size_t len, unsigned int flags)
{
	struct fake_fs *f = fs;

	REC(f, F_COPY_FILE_RANGE);
	f->nodeid = nodein;
	f->fh = fhin;
	f->offset = offin;
	f->nodeid2 = nodeout;
	f->fh2 = fhout;
	f->offset2 = offout;
	f->size = len;
	f->flags = (int)flags;
	return f->copy_result >= 0 ? (ssize_t)len : f->copy_result;
}

static int f_syncfs(void *fs, uint64_t nodeid)
{
	struct fake_fs *f = fs;

	REC(f, F_SYNCFS);
	f->nodeid = nodeid;
	return 0;
}

static ssize_t xattr_out(struct fake_fs *f, void *buf, size_t size)
{
	if (size == 0)
		return (ssize_t)f->xattr_len;
	if (size < f->xattr_len)
		return -ERANGE;
	memcpy(buf, f->xattr_value, f->xattr_len);
	return (ssize_t)f->xattr_len;
}

static ssize_t f_getxattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			  const char *name, void *buf, size_t size)
{
	struct fake_fs *f = fs;

	REC(f, F_GETXATTR);
	f->nodeid = nodeid;
	f->size = size;
	copy_name(f->name, sizeof(f->name), name);
	return xattr_out(f, buf, size);
}

static ssize_t f_listxattr(void *fs, const struct fs_ctx *ctx,
			   uint64_t nodeid, void *buf, size_t size)
{
	struct fake_fs *f = fs;

	REC(f, F_LISTXATTR);
	f->nodeid = nodeid;
	f->size = size;
	return xattr_out(f, buf, size);
}

static int f_setxattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		      const char *name, const void *value, size_t size,
		      int flags)
{
	struct fake_fs *f = fs;

	REC(f, F_SETXATTR);
	f->nodeid = nodeid;
	copy_name(f->name, sizeof(f->name), name);
	f->xval_len = size < sizeof(f->xval) ? size : sizeof(f->xval);
	memcpy(f->xval, value, f->xval_len);
	f->size = size;
	f->flags = flags;
	return 0;
}

static int f_removexattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			 const char *name)
{
	struct fake_fs *f = fs;

	REC(f, F_REMOVEXATTR);
	f->nodeid = nodeid;
	copy_name(f->name, sizeof(f->name), name);
	return 0;
}

const struct fs_ops fake_fs_ops = {
	.init = f_init,
	.destroy = f_destroy,
	.lookup = f_lookup,
	.forget = f_forget,
	.getattr = f_getattr,
	.setattr = f_setattr,
	.readlink = f_readlink,
	.symlink = f_symlink,
	.mknod = f_mknod,
	.mkdir = f_mkdir,
	.unlink = f_unlink,
	.rmdir = f_rmdir,
	.rename = f_rename,
	.link = f_link,
	.open = f_open,
	.create = f_create,
	.tmpfile = f_tmpfile,
	.release = f_release,
	.flush = f_flush,
	.fsync = f_fsync,
	.read = f_read,
	.write = f_write,
	.statfs = f_statfs,
	.opendir = f_opendir,
	.readdir = f_readdir,
	.releasedir = f_releasedir,
	.fsyncdir = f_fsyncdir,
	.access = f_access,
	.fallocate = f_fallocate,
	.lseek = f_lseek,
	.copy_file_range = f_copy_file_range,
	.syncfs = f_syncfs,
	.getxattr = f_getxattr,
	.listxattr = f_listxattr,
	.setxattr = f_setxattr,
	.removexattr = f_removexattr,
};
