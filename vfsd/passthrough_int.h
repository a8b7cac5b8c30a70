/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private to passthrough*.c: the filesystem state and the helpers the
 * per-concern files share.
 */
#ifndef VFSD_PASSTHROUGH_INT_H
#define VFSD_PASSTHROUGH_INT_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "fs.h"
#include "handle.h"
#include "inode.h"
#include "passthrough.h"

struct pt_locks;

struct pt_fs {
	struct inode_table *inodes;
	struct handle_table *handles;
	struct pt_locks *locks;    /* passthrough_lock.c */
	int proc_self_fd;       /* /proc/self/fd, O_PATH|O_DIRECTORY */
	/* File handles (PT_FH_PREFER/MANDATORY in use, else NEVER): handles
	 * are opened against mount_fd (the root opened for reading: an
	 * O_PATH fd will not do), and only for nodes on the root's mount. */
	enum pt_file_handles fh_mode;
	int root_fd;            /* the root node's O_PATH fd, not owned */
	int mount_fd;           /* -1 without handles */
	int root_mnt_id;
	bool allow_direct_io;
	bool preserve_noatime;
	bool xattr;             /* else the xattr ops answer -ENOSYS */
	bool is_root;           /* euid 0: switch to the caller's ids */
	uid_t euid;             /* what to switch back to */
	gid_t egid;
	/* Set by init(), read by every op. */
	bool writeback;
	bool killpriv_v2;
	bool posix_acl;         /* FUSE_POSIX_ACL (and DONT_MASK) agreed */
};

/* Saved state of a per-thread credential switch. */
#define PT_CREDS_GROUPS 32

struct pt_creds {
	bool uid_switched;
	bool gid_switched;
	/* The thread's own supplementary groups while the caller's one is
	 * set (FUSE_CREATE_SUPP_GROUP). */
	bool groups_switched;
	int ngroups;
	gid_t groups[PT_CREDS_GROUPS];
};

/* Switch the calling thread's effective uid/gid to the caller's (only when
 * the daemon is root).  0 or -errno; nothing to undo on error. */
int pt_creds_enter(struct pt_fs *fs, const struct fs_ctx *ctx,
		   struct pt_creds *saved);
void pt_creds_leave(struct pt_fs *fs, const struct pt_creds *saved);

/* -EINVAL unless name is one non-empty component other than "." and "..".
 * The engine checks already; this keeps *at() calls beneath the parent
 * whatever the caller. */
int pt_check_name(const char *name);

/* The node for nodeid with a reference, or -EBADF. */
int pt_get_node(struct pt_fs *fs, uint64_t nodeid, struct inode **out);
static inline void pt_put_node(struct pt_fs *fs, struct inode *node)
{
	inode_put(fs->inodes, node);
}

/* "/proc/self/fd/N" relative to fs->proc_self_fd: buf holds N. */
#define PT_FD_NAME_MAX 16
void pt_fd_name(int fd, char buf[PT_FD_NAME_MAX]);

/* Open node for I/O with flags (already sanitized) via /proc/self/fd.
 * Refuses anything but regular files and directories. */
int pt_reopen(struct pt_fs *fs, const struct inode *node, int flags);

/* stat an O_PATH fd (no symlink following). */
int pt_stat_fd(int fd, struct stat *st, struct inode_key *key);

/* Look name up under parent: one more lookup on its node, entry in out. */
int pt_do_lookup(struct pt_fs *fs, struct inode *parent, const char *name,
		 struct fs_entry *out);
/* Entry for an O_PATH fd (taken, also on error). */
int pt_entry_from_opath(struct pt_fs *fs, int opath, struct fs_entry *out);
/* Same for an fd already open on the file (any flags): the node takes an
 * O_PATH reopen of it; fd stays the caller's. */
int pt_entry_from_fd(struct pt_fs *fs, int fd, struct fs_entry *out);

/* Clear S_ISUID, and S_ISGID when group-executable, as a write or
 * truncate by an unprivileged user would.  fd: any fd on the file. */
int pt_kill_suidgid(struct pt_fs *fs, int fd);

/* passthrough_acl.c: the guest's umask for one creating syscall: either
 * applied to *mode here, or (ACLs agreed) made the calling thread's umask
 * until pt_umask_leave(), so the host kernel applies it only where the
 * parent has no default ACL.  0 or -errno (nothing to undo). */
struct pt_umask {
	bool set;
	mode_t old;
};
int pt_umask_enter(struct pt_fs *fs, mode_t *mode, mode_t umask,
		   struct pt_umask *saved);
void pt_umask_leave(const struct pt_umask *saved);
/* A security label (FUSE_SECURITY_CTX) on a new node: by an fd open on it,
 * or (passthrough_xattr.c) by its O_PATH fd.  0 or -errno. */
int pt_label_fd(int fd, const struct fs_secctx *sc);
int pt_label_opath(struct pt_fs *fs, int opath, const struct fs_secctx *sc);

/* The failed syscall's error as -errno (never 0, whatever errno holds). */
static inline int pt_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

/* The operations, by file (the table is in passthrough.c). */
/* passthrough_dir.c */
int pt_mknod(void *fs, const struct fs_ctx *ctx, uint64_t parent,
	     const char *name, mode_t mode, dev_t rdev, mode_t umask,
	     struct fs_entry *out);
int pt_mkdir(void *fs, const struct fs_ctx *ctx, uint64_t parent,
	     const char *name, mode_t mode, mode_t umask, struct fs_entry *out);
int pt_symlink(void *fs, const struct fs_ctx *ctx, uint64_t parent,
	       const char *name, const char *target, struct fs_entry *out);
int pt_link(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
	    uint64_t newparent, const char *newname, struct fs_entry *out);
int pt_unlink(void *fs, const struct fs_ctx *ctx, uint64_t parent,
	      const char *name);
int pt_rmdir(void *fs, const struct fs_ctx *ctx, uint64_t parent,
	     const char *name);
int pt_rename(void *fs, const struct fs_ctx *ctx, uint64_t olddir,
	      const char *oldname, uint64_t newdir, const char *newname,
	      unsigned int flags);
int pt_opendir(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
	       int flags, uint64_t *fh);
int pt_readdir(void *fs, uint64_t nodeid, uint64_t fh, uint64_t offset,
	       fs_dirent_emit emit, void *buf);
int pt_releasedir(void *fs, uint64_t nodeid, uint64_t fh);
int pt_fsyncdir(void *fs, uint64_t nodeid, uint64_t fh, bool datasync);

/* passthrough_io.c */
int pt_open(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, int flags,
	    uint64_t *fh, uint32_t *open_flags);
int pt_create(void *fs, const struct fs_ctx *ctx, uint64_t parent,
	      const char *name, mode_t mode, int flags, mode_t umask,
	      struct fs_entry *out, uint64_t *fh, uint32_t *open_flags);
int pt_tmpfile(void *fs, const struct fs_ctx *ctx, uint64_t parent,
	       mode_t mode, int flags, mode_t umask, struct fs_entry *out,
	       uint64_t *fh, uint32_t *open_flags);
int pt_release(void *fs, uint64_t nodeid, uint64_t fh);
int pt_flush(void *fs, uint64_t nodeid, uint64_t fh);
int pt_fsync(void *fs, uint64_t nodeid, uint64_t fh, bool datasync);
int pt_read(void *fs, uint64_t nodeid, uint64_t fh, off_t offset,
	    const struct iovec *iov, unsigned int iovcnt, struct uring *ring,
	    struct uring_op *op);
int pt_write(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
	     uint64_t fh, off_t offset, const struct iovec *iov,
	     unsigned int iovcnt, bool kill_priv, struct uring *ring,
	     struct uring_op *op);
int pt_fallocate(void *fs, uint64_t nodeid, uint64_t fh, int mode,
		 off_t offset, off_t length);
int pt_lseek(void *fs, uint64_t nodeid, uint64_t fh, off_t offset,
	     int whence, off_t *out);
ssize_t pt_copy_file_range(void *fs, uint64_t nodein, uint64_t fhin,
			   off_t offin, uint64_t nodeout, uint64_t fhout,
			   off_t offout, size_t len, unsigned int flags);

/* passthrough_lock.c */
/* Lock owners with a host open of their own: at most max (past it ENOLCK);
 * never more than PT_PLOCK_MAX. */
#define PT_PLOCK_MAX 65536u
int pt_locks_new(struct pt_locks **out, unsigned int max);
void pt_locks_free(struct pt_locks *l);
/* After a forget: drop the node's locks if the guest let go of it. */
void pt_locks_forget_node(struct pt_fs *fs, uint64_t nodeid);
/* After RELEASE of fh: drop the locks of owners that last locked through
 * it (the guest's OFD locks die with their open file). */
void pt_locks_release_fh(struct pt_fs *fs, uint64_t nodeid, uint64_t fh);
void pt_locks_clear(struct pt_fs *fs);
int pt_getlk(void *fs, uint64_t nodeid, uint64_t fh, uint64_t owner,
	     struct fs_lock *lk);
int pt_setlk(void *fs, uint64_t nodeid, uint64_t fh, uint64_t owner,
	     const struct fs_lock *lk, bool wait);
int pt_flock(void *fs, uint64_t nodeid, uint64_t fh, int type, bool wait);
int pt_unlock_owner(void *fs, uint64_t nodeid, uint64_t owner);

/* passthrough_xattr.c */
ssize_t pt_getxattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		    const char *name, void *buf, size_t size);
ssize_t pt_listxattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		     void *buf, size_t size);
int pt_setxattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		const char *name, const void *value, size_t size, int flags);
int pt_removexattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		   const char *name);

#endif
