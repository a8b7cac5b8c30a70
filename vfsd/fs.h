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

/* A security label for a node being created (FUSE_SECURITY_CTX): an
 * extended attribute name (NUL-terminated, "security." prefixed, already
 * through --xattrmap) and value, checked by the engine.  The filesystem
 * sets it on the new node before replying; if it cannot, it removes the
 * node again and fails the request. */
struct fs_secctx {
	const char *name;
	const void *value;
	size_t size;
};

/* The guest caller, from the FUSE in-header (ids already translated to
 * host ids; (uid_t)-1 / (gid_t)-1: an id --translate-* forbids). */
struct fs_ctx {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	/* Only on mknod, mkdir, symlink, create, tmpfile; NULL: none. */
	const struct fs_secctx *secctx;
	/* FUSE_CREATE_SUPP_GROUP, on the same requests: the caller's
	 * supplementary group that equals the parent directory's group (the
	 * guest kernel sends it when only that group lets the caller create
	 * there); act as a member of it too. */
	bool has_supp_gid;
	gid_t supp_gid;
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

/* setxattr of system.posix_acl_access by a caller outside the file's group
 * without CAP_FSETID (FUSE_SETXATTR_ACL_KILL_SGID): clear S_ISGID, as the
 * guest's own filesystem would. */
#define FS_XATTR_KILL_SGID (1 << 16)

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

/* A byte range lock (POSIX record lock or, for flock, the whole file).
 * type: F_RDLCK, F_WRLCK or F_UNLCK; start..end inclusive, both at most
 * INT64_MAX (end INT64_MAX: to end of file), start <= end. */
struct fs_lock {
	int type;
	uint64_t start;
	uint64_t end;
	pid_t pid;              /* getlk reply: the holder's pid (0: unknown) */
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
	/* flags: XATTR_CREATE/XATTR_REPLACE, and FS_XATTR_KILL_SGID. */
	int (*setxattr)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			const char *name, const void *value, size_t size,
			int flags);
	int (*removexattr)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			   const char *name);

	/*
	 * Locks (only called when the engine was told to offer them).  owner
	 * is the guest's lock owner (one per guest process / open file table);
	 * POSIX locks of different owners conflict, those of one owner merge,
	 * like fcntl(2) locks of different processes.  fh names the guest's
	 * open file the request came through.
	 *
	 * getlk: *lk in: the lock the guest would take; out: the first
	 * conflicting lock, or type F_UNLCK when none.
	 * setlk: take or release lk; -EAGAIN on a conflict without wait.
	 * With wait it blocks until granted, but returns -EINTR as soon as the
	 * calling thread gets a signal: the engine runs waits on threads of
	 * its own and cancels them that way.
	 * flock: flock(2) semantics on the open file fh (type F_RDLCK shared,
	 * F_WRLCK exclusive, F_UNLCK unlock), wait as for setlk.
	 * unlock_owner: drop every POSIX lock owner holds on nodeid (the
	 * owner closed a file on it: FLUSH).
	 */
	int (*getlk)(void *fs, uint64_t nodeid, uint64_t fh, uint64_t owner,
		     struct fs_lock *lk);
	int (*setlk)(void *fs, uint64_t nodeid, uint64_t fh, uint64_t owner,
		     const struct fs_lock *lk, bool wait);
	int (*flock)(void *fs, uint64_t nodeid, uint64_t fh, int type,
		     bool wait);
	int (*unlock_owner)(void *fs, uint64_t nodeid, uint64_t owner);
};

#endif
