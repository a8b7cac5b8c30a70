/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Passthrough filesystem: extended attributes.
 *
 * Regular files and directories are reopened read-only (through
 * /proc/self/fd, like any open) and served with the f*xattr calls.  Other
 * nodes must never be opened (see pt_reopen), so they go through the path
 * /proc/self/fd/N with the following (non-l) calls: the magic link resolves
 * to the node's own inode, a symlink included, without following it
 * further.  That path needs /proc mounted inside the sandbox.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "passthrough_int.h"

struct xattr_target {
	int fd;                 /* >= 0: use f*xattr */
	char path[32];          /* else this path */
};

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
		snprintf(t->path, sizeof(t->path), "/proc/self/fd/%d",
			 (*node)->fd);
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
	if (t.fd >= 0)
		r = ret(fgetxattr(t.fd, name, size ? buf : NULL, size));
	else
		r = ret(getxattr(t.path, name, size ? buf : NULL, size));
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
	if (t.fd >= 0)
		r = ret(flistxattr(t.fd, size ? buf : NULL, size));
	else
		r = ret(listxattr(t.path, size ? buf : NULL, size));
	target_close(fsp, node, &t);
	return r;
}

int pt_setxattr(void *fsp, const struct fs_ctx *ctx, uint64_t nodeid,
		const char *name, const void *value, size_t size, int flags)
{
	struct xattr_target t;
	struct inode *node;
	int r;

	if (flags & ~(XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	r = target_open(fsp, nodeid, &node, &t);
	if (r < 0)
		return r;
	if (t.fd >= 0)
		r = fsetxattr(t.fd, name, value, size, flags);
	else
		r = setxattr(t.path, name, value, size, flags);
	r = r < 0 ? pt_errno() : 0;
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
	if (t.fd >= 0)
		r = fremovexattr(t.fd, name);
	else
		r = removexattr(t.path, name);
	r = r < 0 ? pt_errno() : 0;
	target_close(fsp, node, &t);
	return r;
}
