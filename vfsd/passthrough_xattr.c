/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Passthrough filesystem: extended attributes.
 *
 * Regular files and directories are reopened read-only (through
 * /proc/self/fd, like any open) and served with the f*xattr calls.  Other
 * nodes must never be opened (see pt_reopen), and the path calls have no
 * *at() form on this kernel, so they go through the relative path "N" with
 * the working directory on fs->proc_self_fd (the /proc/self/fd opened before
 * the sandbox): the magic link resolves to the node's own inode, a symlink
 * included, without following it further.
 *
 * Never the absolute "/proc/self/fd/N": under --sandbox=chroot "/" is the
 * shared directory, so that path would name a file the guest can plant
 * (CVE-style confusion: the xattrs of a guest-chosen file instead of the
 * node's).  The working directory is per process, so the fchdir .. call ..
 * fchdir-back sequence runs under one lock (as in virtiofsd); it is the rare
 * path (xattrs of symlinks and special files, or files the daemon cannot
 * read).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "log.h"
#include "passthrough_int.h"

struct xattr_target {
	int fd;                 /* >= 0: use f*xattr */
	char path[PT_FD_NAME_MAX]; /* else "N" relative to proc_self_fd */
};

/* Serializes every use of the working directory (see the top). */
static pthread_mutex_t cwd_lock = PTHREAD_MUTEX_INITIALIZER;
/* The working directory to go back to, opened on first use (after the
 * sandbox has put it where it stays); under cwd_lock. */
static int saved_cwd = -1;

/* Enter /proc/self/fd with cwd_lock held: 0, or -errno with it released. */
static int cwd_enter(struct pt_fs *fs)
{
	int r;

	pthread_mutex_lock(&cwd_lock);
	if (saved_cwd < 0) {
		saved_cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (saved_cwd < 0) {
			r = pt_errno();
			pthread_mutex_unlock(&cwd_lock);
			return r;
		}
	}
	if (fchdir(fs->proc_self_fd) < 0) {
		r = pt_errno();
		pthread_mutex_unlock(&cwd_lock);
		return r;
	}
	return 0;
}

static void cwd_leave(void)
{
	/* Staying in /proc/self/fd would be harmless to the next caller (it
	 * enters again), but a cwd elsewhere than the sandbox put it would
	 * surprise anyone reading /proc/PID/cwd. */
	if (fchdir(saved_cwd) < 0)
		log_debug("xattr: cannot return to the working directory: %m");
	pthread_mutex_unlock(&cwd_lock);
}

static int target_open(struct pt_fs *fs, uint64_t nodeid, struct inode **node,
		       struct xattr_target *t)
{
	int r;

	if (!fs->xattr)
		return -ENOSYS;
	r = pt_get_node(fs, nodeid, node);
	if (r < 0)
		return r;
	t->fd = -1;
	if ((*node)->type == S_IFREG || (*node)->type == S_IFDIR)
		t->fd = pt_reopen(fs, *node, O_RDONLY | O_NONBLOCK);
	/* Unreadable to a non-root daemon, or special: by path. */
	if (t->fd < 0)
		pt_fd_name((*node)->fd, t->path);
	return 0;
}

static void target_close(struct pt_fs *fs, struct inode *node,
			 struct xattr_target *t)
{
	if (t->fd >= 0)
		close(t->fd);
	pt_put_node(fs, node);
}

static ssize_t ret(ssize_t n)
{
	return n < 0 ? pt_errno() : n;
}

ssize_t pt_getxattr(void *fsp, const struct fs_ctx *ctx, uint64_t nodeid,
		    const char *name, void *buf, size_t size)
{
	struct xattr_target t;
	struct inode *node;
	ssize_t r;

	r = target_open(fsp, nodeid, &node, &t);
	if (r < 0)
		return r;
	if (t.fd >= 0) {
		r = ret(fgetxattr(t.fd, name, size ? buf : NULL, size));
	} else if ((r = cwd_enter(fsp)) == 0) {
		r = ret(getxattr(t.path, name, size ? buf : NULL, size));
		cwd_leave();
	}
	target_close(fsp, node, &t);
	return r;
}

ssize_t pt_listxattr(void *fsp, const struct fs_ctx *ctx, uint64_t nodeid,
		     void *buf, size_t size)
{
	struct xattr_target t;
	struct inode *node;
	ssize_t r;

	r = target_open(fsp, nodeid, &node, &t);
	if (r < 0)
		return r;
	if (t.fd >= 0) {
		r = ret(flistxattr(t.fd, size ? buf : NULL, size));
	} else if ((r = cwd_enter(fsp)) == 0) {
		r = ret(listxattr(t.path, size ? buf : NULL, size));
		cwd_leave();
	}
	target_close(fsp, node, &t);
	return r;
}

/*
 * FS_XATTR_KILL_SGID: the guest's caller may not keep setgid when it sets
 * an access ACL (not in the group, no CAP_FSETID); we are root with
 * CAP_FSETID, so the host kernel would keep it: clear it first, as
 * virtiofsd does.
 */
static int acl_kill_sgid(struct pt_fs *fs, struct inode *node)
{
	char name[PT_FD_NAME_MAX];
	struct stat st;

	if (fstat(node->fd, &st) < 0)
		return pt_errno();
	if (!(st.st_mode & S_ISGID))
		return 0;
	pt_fd_name(node->fd, name);
	if (fchmodat(fs->proc_self_fd, name, st.st_mode & 07777 & ~S_ISGID,
		     0) < 0)
		return pt_errno();
	return 0;
}

int pt_label_opath(struct pt_fs *fs, int opath, const struct fs_secctx *sc)
{
	char name[PT_FD_NAME_MAX];
	int r;

	pt_fd_name(opath, name);
	r = cwd_enter(fs);
	if (r < 0)
		return r;
	/* The magic link resolves to the node itself, a symlink included. */
	r = setxattr(name, sc->name, sc->value, sc->size, 0) < 0 ?
	    pt_errno() : 0;
	cwd_leave();
	return r;
}

int pt_setxattr(void *fsp, const struct fs_ctx *ctx, uint64_t nodeid,
		const char *name, const void *value, size_t size, int flags)
{
	struct xattr_target t;
	struct inode *node;
	int r;

	if (flags & ~(XATTR_CREATE | XATTR_REPLACE | FS_XATTR_KILL_SGID))
		return -EINVAL;
	r = target_open(fsp, nodeid, &node, &t);
	if (r < 0)
		return r;
	if (flags & FS_XATTR_KILL_SGID) {
		flags &= ~FS_XATTR_KILL_SGID;
		r = acl_kill_sgid(fsp, node);
		if (r < 0) {
			target_close(fsp, node, &t);
			return r;
		}
	}
	if (t.fd >= 0) {
		r = fsetxattr(t.fd, name, value, size, flags) < 0 ? pt_errno() : 0;
	} else if ((r = cwd_enter(fsp)) == 0) {
		r = setxattr(t.path, name, value, size, flags) < 0 ? pt_errno() : 0;
		cwd_leave();
	}
	target_close(fsp, node, &t);
	return r;
}

int pt_removexattr(void *fsp, const struct fs_ctx *ctx, uint64_t nodeid,
		   const char *name)
{
	struct xattr_target t;
	struct inode *node;
	int r;

	r = target_open(fsp, nodeid, &node, &t);
	if (r < 0)
		return r;
	if (t.fd >= 0) {
		r = fremovexattr(t.fd, name) < 0 ? pt_errno() : 0;
	} else if ((r = cwd_enter(fsp)) == 0) {
		r = removexattr(t.path, name) < 0 ? pt_errno() : 0;
		cwd_leave();
	}
	target_close(fsp, node, &t);
	return r;
}
