/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Passthrough filesystem: names in directories (mknod, mkdir, symlink,
 * link, unlink, rmdir, rename) and directory handles (opendir, readdir).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "passthrough_int.h"

/* getdents64 buffer: a few FUSE reply pages' worth of entries. */
#define PT_DIRENT_BUF 8192

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Both nodes with a reference and name checked, or -errno (none held). */
static int get_dir(struct pt_fs *fs, uint64_t parent, const char *name,
		   struct inode **out)
{
	int r = pt_check_name(name);

	if (r < 0)
		return r;
	return pt_get_node(fs, parent, out);
}

/* Run a creating syscall as the caller, then look its result up. */
typedef int (*make_fn)(int dirfd, const char *name, const void *arg);

/* The guest's security label on what make_node just created; the node
 * goes again if it cannot have it. */
static int label_new_node(struct pt_fs *fs, struct inode *dir,
			  const char *name, const struct fs_secctx *sc)
{
	int fd, r;
	struct stat st;

	fd = openat(dir->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return pt_errno();
	r = pt_label_opath(fs, fd, sc);
	if (r < 0) {
		bool isdir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);

		unlinkat(dir->fd, name, isdir ? AT_REMOVEDIR : 0);
	}
	close(fd);
	return r;
}

/* mode: where the mode sits in arg (NULL: symlink), for the umask. */
static int make_node(struct pt_fs *fs, const struct fs_ctx *ctx,
		     uint64_t parent, const char *name, make_fn make,
		     const void *arg, mode_t *mode, mode_t umask,
		     struct fs_entry *out)
{
	struct pt_umask um = { 0 };
	struct pt_creds creds;
	struct inode *dir;
	int r;

	r = get_dir(fs, parent, name, &dir);
	if (r < 0)
		return r;
	r = pt_creds_enter(fs, ctx, &creds);
	if (r == 0) {
		if (mode)
			r = pt_umask_enter(fs, mode, umask, &um);
		if (r == 0) {
			r = make(dir->fd, name, arg);
			pt_umask_leave(&um);
		}
		pt_creds_leave(fs, &creds);
	}
	if (r == 0 && ctx->secctx)
		r = label_new_node(fs, dir, name, ctx->secctx);
	if (r == 0)
		r = pt_do_lookup(fs, dir, name, out);
	pt_put_node(fs, dir);
	return r;
}

struct mknod_arg {
	mode_t mode;
	dev_t rdev;
};

static int do_mknod(int dirfd, const char *name, const void *p)
{
	const struct mknod_arg *a = p;

	return mknodat(dirfd, name, a->mode, a->rdev) < 0 ? pt_errno() : 0;
}

static int do_mkdir(int dirfd, const char *name, const void *p)
{
	const mode_t *mode = p;

	return mkdirat(dirfd, name, *mode) < 0 ? pt_errno() : 0;
}

static int do_symlink(int dirfd, const char *name, const void *target)
{
	return symlinkat(target, dirfd, name) < 0 ? pt_errno() : 0;
}

int pt_mknod(void *fsp, const struct fs_ctx *ctx, uint64_t parent,
	     const char *name, mode_t mode, dev_t rdev, mode_t umask,
	     struct fs_entry *out)
{
	struct mknod_arg a = { mode, rdev };

	/* Directories and symlinks have their own operations. */
	if (S_ISDIR(mode) || S_ISLNK(mode))
		return -EINVAL;
	return make_node(fsp, ctx, parent, name, do_mknod, &a, &a.mode, umask,
			 out);
}

int pt_mkdir(void *fsp, const struct fs_ctx *ctx, uint64_t parent,
	     const char *name, mode_t mode, mode_t umask, struct fs_entry *out)
{
	mode_t m = mode & 07777;

	return make_node(fsp, ctx, parent, name, do_mkdir, &m, &m, umask, out);
}

int pt_symlink(void *fsp, const struct fs_ctx *ctx, uint64_t parent,
	       const char *name, const char *target, struct fs_entry *out)
{
	/* The target is data, never resolved here: any bytes will do. */
	if (!target || !target[0])
		return -ENOENT;
	return make_node(fsp, ctx, parent, name, do_symlink, target, NULL, 0,
			 out);
}

int pt_link(void *fsp, const struct fs_ctx *ctx, uint64_t nodeid,
	    uint64_t newparent, const char *newname, struct fs_entry *out)
{
	char name[PT_FD_NAME_MAX];
	struct pt_fs *fs = fsp;
	struct inode *node, *dir;
	int r, opath;

	r = get_dir(fs, newparent, newname, &dir);
	if (r < 0)
		return r;
	r = pt_get_node(fs, nodeid, &node);
	if (r < 0) {
		pt_put_node(fs, dir);
		return r;
	}
	/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; without it the kernel
	 * answers ENOENT and the /proc magic link does the same job. */
	if (linkat(node->fd, "", dir->fd, newname, AT_EMPTY_PATH) < 0) {
		r = pt_errno();
		if (r == -ENOENT) {
			pt_fd_name(node->fd, name);
			r = linkat(fs->proc_self_fd, name, dir->fd, newname,
				   AT_SYMLINK_FOLLOW) < 0 ? pt_errno() : 0;
		}
	}
	if (r == 0) {
		/* The same inode, whatever now sits at newname. */
		opath = fcntl(node->fd, F_DUPFD_CLOEXEC, 0);
		r = opath < 0 ? pt_errno() : pt_entry_from_opath(fs, opath, out);
	}
	pt_put_node(fs, node);
	pt_put_node(fs, dir);
	return r;
}

static int remove_name(struct pt_fs *fs, uint64_t parent, const char *name,
		       int flags)
{
	struct inode *dir;
	int r;

	r = get_dir(fs, parent, name, &dir);
	if (r < 0)
		return r;
	r = unlinkat(dir->fd, name, flags) < 0 ? pt_errno() : 0;
	pt_put_node(fs, dir);
	return r;
}

int pt_unlink(void *fsp, const struct fs_ctx *ctx, uint64_t parent,
	      const char *name)
{
	return remove_name(fsp, parent, name, 0);
}

int pt_rmdir(void *fsp, const struct fs_ctx *ctx, uint64_t parent,
	     const char *name)
{
	return remove_name(fsp, parent, name, AT_REMOVEDIR);
}

int pt_rename(void *fsp, const struct fs_ctx *ctx, uint64_t olddir,
	      const char *oldname, uint64_t newdir, const char *newname,
	      unsigned int flags)
{
	struct pt_fs *fs = fsp;
	struct inode *od, *nd;
	int r;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
		return -EINVAL;
	r = pt_check_name(newname);
	if (r < 0)
		return r;
	r = get_dir(fs, olddir, oldname, &od);
	if (r < 0)
		return r;
	r = pt_get_node(fs, newdir, &nd);
	if (r < 0) {
		pt_put_node(fs, od);
		return r;
	}
	if (renameat2(od->fd, oldname, nd->fd, newname, flags) < 0)
		r = pt_errno();
	pt_put_node(fs, nd);
	pt_put_node(fs, od);
	return r;
}

int pt_opendir(void *fsp, const struct fs_ctx *ctx, uint64_t nodeid,
	       int flags, uint64_t *fh)
{
	struct pt_fs *fs = fsp;
	struct inode *node;
	int fd, r;

	r = pt_get_node(fs, nodeid, &node);
	if (r < 0)
		return r;
	if (node->type != S_IFDIR) {
		pt_put_node(fs, node);
		return -ENOTDIR;
	}
	/* The guest's flags do not matter: a directory is read only. */
	fd = pt_reopen(fs, node, O_RDONLY | O_DIRECTORY);
	pt_put_node(fs, node);
	if (fd < 0)
		return fd;
	r = handle_add(fs->handles, nodeid, fd, fh);
	if (r < 0)
		close(fd);
	return r;
}

/*
 * Each call seeks to the guest's offset (a d_off cookie from an earlier
 * entry, or 0) and reads from there, so an entry the reply had no room for
 * is read again next time; the handle lock keeps two readers of one handle
 * from moving the position under each other.
 */
int pt_readdir(void *fsp, uint64_t nodeid, uint64_t fh, uint64_t offset,
	       fs_dirent_emit emit, void *buf)
{
	char dents[PT_DIRENT_BUF] __attribute__((aligned(8)));
	struct pt_fs *fs = fsp;
	unsigned int emitted = 0;
	struct handle *h;
	int r = 0;

	h = handle_get(fs->handles, fh, nodeid);
	if (!h)
		return -EBADF;
	pthread_mutex_lock(&h->lock);
	if (offset > INT64_MAX || lseek(h->fd, (off_t)offset, SEEK_SET) < 0) {
		r = offset > INT64_MAX ? -EINVAL : pt_errno();
		goto out;
	}
	for (;;) {
		long n = syscall(SYS_getdents64, h->fd, dents, sizeof(dents));

		if (n < 0) {
			/* What was emitted is good; the guest retries. */
			r = emitted ? 0 : pt_errno();
			break;
		}
		if (n == 0)
			break;
		for (long pos = 0; pos < n;) {
			struct linux_dirent64 *d = (void *)(dents + pos);

			if (emit(buf, d->d_name, strlen(d->d_name), d->d_ino,
				 d->d_type, (uint64_t)d->d_off))
				goto out;
			emitted++;
			pos += d->d_reclen;
		}
	}
out:
	pthread_mutex_unlock(&h->lock);
	handle_put(fs->handles, h);
	return r;
}

int pt_releasedir(void *fsp, uint64_t nodeid, uint64_t fh)
{
	struct pt_fs *fs = fsp;

	return handle_remove(fs->handles, fh, nodeid);
}

int pt_fsyncdir(void *fsp, uint64_t nodeid, uint64_t fh, bool datasync)
{
	struct pt_fs *fs = fsp;
	struct handle *h;
	int r;

	h = handle_get(fs->handles, fh, nodeid);
	if (!h)
		return -EBADF;
	r = (datasync ? fdatasync(h->fd) : fsync(h->fd)) < 0 ? pt_errno() : 0;
	handle_put(fs->handles, h);
	return r;
}
