/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The filesystem interface the FUSE engine (server.c) calls.
 *
 * The engine has already copied every argument out of guest memory and
 * validated it: names are NUL-terminated, at most NAME_MAX bytes, never
 * empty, never containing '/', and never "." or ".." (except where noted);
 * sizes are bounded by the negotiated limits.  An implementation never sees
 * raw guest bytes, except the data buffers of read/write, which it passes to
 * the kernel untouched.
 *
 * Every operation returns 0 (or a non-negative count where stated) or a
 * negative errno, which the engine sends to the guest as is.  Operations an
 * implementation leaves NULL answer -ENOSYS (one place: the engine).
 *
 * Node ids and lookup counts (the FUSE contract):
 *   - FS_ROOT_ID is the shared directory; it is never forgotten.
 *   - Every operation that returns a struct fs_entry with a non-zero nodeid
 *     (lookup, mknod, mkdir, symlink, link, create, tmpfile) adds one to that
 *     node's lookup count.  forget(nodeid, n) subtracts n; at zero the node
 *     and its host fd are released.  A node id is never reused while the
 *     guest may still name it (ids are counters, not pointers).
 *   - A lookup of a missing name returns -ENOENT (the engine may turn that
 *     into a negative entry).
 *
 * All operations may be called concurrently from several threads (one per
 * virtqueue) and must be thread-safe.
 */
#ifndef VFSD_FS_H
#define VFSD_FS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/uio.h>

struct uring;
struct uring_op;

#define FS_ROOT_ID 1ULL

/* The guest caller, from the FUSE in-header. */
struct fs_ctx {
	uid_t uid;
	gid_t gid;
	pid_t pid;
};

struct fs_entry {
	uint64_t nodeid;        /* 0: no node (negative entry / nothing held) */
	uint64_t generation;
	struct stat attr;
	/* A directory on another mount than its parent's, i.e. the root of a
	 * mount inside the share (the engine announces it when FUSE_SUBMOUNTS
	 * was agreed, so the guest gives it its own mount). */
	bool submount;
};

/* What the guest asked to change in SETATTR (FATTR_* bits of <linux/fuse.h>
 * are translated to these by the engine). */
#define FS_SET_MODE       (1u << 0)
#define FS_SET_UID        (1u << 1)
#define FS_SET_GID        (1u << 2)
#define FS_SET_SIZE       (1u << 3)
#define FS_SET_ATIME      (1u << 4)
#define FS_SET_MTIME      (1u << 5)
#define FS_SET_ATIME_NOW  (1u << 6)
#define FS_SET_MTIME_NOW  (1u << 7)
#define FS_SET_CTIME      (1u << 8)
/* Clear setuid, and setgid when group-executable, as an unprivileged
 * truncate (with FS_SET_SIZE), chown (with FS_SET_UID/GID) or, alone, an
 * O_TRUNC open would (HANDLE_KILLPRIV_V2).  Ignored with FS_SET_MODE. */
#define FS_SET_KILL_SUIDGID (1u << 9)

struct fs_setattr {
	uint32_t valid;         /* FS_SET_* */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	off_t size;
	struct timespec atime, mtime, ctime;
	bool has_fh;            /* fh below is an open handle to use */
	uint64_t fh;
};

/* Negotiated at FUSE_INIT, passed to init(). */
struct fs_init_info {
	uint32_t proto_minor;   /* guest's FUSE minor version */
	bool writeback_cache;   /* FUSE_WRITEBACK_CACHE agreed */
	bool posix_acl;
	bool killpriv_v2;
};

/*
 * READDIR: the implementation calls emit() for each entry from offset on,
 * until emit returns non-zero (the reply buffer is full: that entry was NOT
 * taken and must be offered again at the next call with the same offset).
 * off_next is the offset at which a later readdir continues after this
 * entry.  "." and ".." are emitted like other names.
 */
typedef int (*fs_dirent_emit)(void *buf, const char *name, size_t namelen,
			      uint64_t ino, unsigned int d_type,
			      uint64_t off_next);

struct fs_ops {
	/* Called at FUSE_INIT (also after a guest reboot: destroy came first,
	 * or the engine calls destroy itself before a second init). */
	int (*init)(void *fs, const struct fs_init_info *info);
	/* Drop every node except the root, every open handle: the guest is
	 * gone or starting over. */
	void (*destroy)(void *fs);

	int (*lookup)(void *fs, const struct fs_ctx *ctx, uint64_t parent,
		      const char *name, struct fs_entry *out);
	void (*forget)(void *fs, uint64_t nodeid, uint64_t nlookup);
	int (*getattr)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		       const uint64_t *fh, struct stat *out);
	int (*setattr)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		       const struct fs_setattr *in, struct stat *out);
	/* Returns the target length (not NUL-terminated) or -errno. */
	int (*readlink)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			char *buf, size_t size);
	int (*symlink)(void *fs, const struct fs_ctx *ctx, uint64_t parent,
		       const char *name, const char *target,
		       struct fs_entry *out);
	int (*mknod)(void *fs, const struct fs_ctx *ctx, uint64_t parent,
		     const char *name, mode_t mode, dev_t rdev, mode_t umask,
		     struct fs_entry *out);
	int (*mkdir)(void *fs, const struct fs_ctx *ctx, uint64_t parent,
		     const char *name, mode_t mode, mode_t umask,
		     struct fs_entry *out);
	int (*unlink)(void *fs, const struct fs_ctx *ctx, uint64_t parent,
		      const char *name);
	int (*rmdir)(void *fs, const struct fs_ctx *ctx, uint64_t parent,
		     const char *name);
	/* flags: RENAME_NOREPLACE / RENAME_EXCHANGE / RENAME_WHITEOUT or 0. */
	int (*rename)(void *fs, const struct fs_ctx *ctx, uint64_t olddir,
		      const char *oldname, uint64_t newdir,
		      const char *newname, unsigned int flags);
	int (*link)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		    uint64_t newparent, const char *newname,
		    struct fs_entry *out);

	/* flags: open(2) flags from the guest.  *fh: the handle the guest will
	 * pass back; *open_flags: FOPEN_* bits for the reply. */
	int (*open)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		    int flags, uint64_t *fh, uint32_t *open_flags);
	int (*create)(void *fs, const struct fs_ctx *ctx, uint64_t parent,
		      const char *name, mode_t mode, int flags, mode_t umask,
		      struct fs_entry *out, uint64_t *fh,
		      uint32_t *open_flags);
	/* O_TMPFILE: an unnamed regular file in directory parent, open with
	 * flags (O_EXCL: never linkable), its node in out (lookup count 1,
	 * nlink 0); LINK later gives it a name.  Like create otherwise. */
	int (*tmpfile)(void *fs, const struct fs_ctx *ctx, uint64_t parent,
		       mode_t mode, int flags, mode_t umask,
		       struct fs_entry *out, uint64_t *fh,
		       uint32_t *open_flags);
	int (*release)(void *fs, uint64_t nodeid, uint64_t fh);
	int (*flush)(void *fs, uint64_t nodeid, uint64_t fh);
	int (*fsync)(void *fs, uint64_t nodeid, uint64_t fh, bool datasync);

	/*
	 * Data I/O straight between the file and guest memory.  iov/iovcnt
	 * describe exactly `size` bytes of guest memory (already trimmed by the
	 * engine).  Return 0 when started: op->complete(op, bytes-or--errno)
	 * will run exactly once (possibly before read returns, in fallback
	 * mode).  Return -errno when nothing was started (no completion).
	 */
	int (*read)(void *fs, uint64_t nodeid, uint64_t fh, off_t offset,
		    const struct iovec *iov, unsigned int iovcnt,
		    struct uring *ring, struct uring_op *op);
	/* kill_priv: clear setuid/setgid like a local write would. */
	int (*write)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		     uint64_t fh, off_t offset, const struct iovec *iov,
		     unsigned int iovcnt, bool kill_priv,
		     struct uring *ring, struct uring_op *op);

	int (*statfs)(void *fs, uint64_t nodeid, struct statvfs *out);

	int (*opendir)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		       int flags, uint64_t *fh);
	int (*readdir)(void *fs, uint64_t nodeid, uint64_t fh, uint64_t offset,
		       fs_dirent_emit emit, void *buf);
	int (*releasedir)(void *fs, uint64_t nodeid, uint64_t fh);
	int (*fsyncdir)(void *fs, uint64_t nodeid, uint64_t fh, bool datasync);

	int (*access)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		      int mask);
	int (*fallocate)(void *fs, uint64_t nodeid, uint64_t fh, int mode,
			 off_t offset, off_t length);
	/* Returns the resulting offset in *out. */
	int (*lseek)(void *fs, uint64_t nodeid, uint64_t fh, off_t offset,
		     int whence, off_t *out);
	/* Returns bytes copied or -errno. */
	ssize_t (*copy_file_range)(void *fs, uint64_t nodein, uint64_t fhin,
				   off_t offin, uint64_t nodeout,
				   uint64_t fhout, off_t offout, size_t len,
				   unsigned int flags);
	int (*syncfs)(void *fs, uint64_t nodeid);

	/* Extended attributes.  getxattr/listxattr with size 0 return the size
	 * needed; otherwise the bytes written into buf, or -ERANGE. */
	ssize_t (*getxattr)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			    const char *name, void *buf, size_t size);
	ssize_t (*listxattr)(void *fs, const struct fs_ctx *ctx,
			     uint64_t nodeid, void *buf, size_t size);
	int (*setxattr)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			const char *name, const void *value, size_t size,
			int flags);
	int (*removexattr)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			   const char *name);
};

#endif
