/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A recording fake behind fs.h for the FUSE engine tests: every operation
 * counts its calls, records its arguments and returns either a canned
 * success or the error injected in err[].
 */
#ifndef VFSD_TEST_FAKE_FS_H
#define VFSD_TEST_FAKE_FS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "vfsd/fs.h"
#include "vfsd/uring.h"

enum fake_op {
	F_INIT, F_DESTROY, F_LOOKUP, F_FORGET, F_GETATTR, F_SETATTR,
	F_READLINK, F_SYMLINK, F_MKNOD, F_MKDIR, F_UNLINK, F_RMDIR, F_RENAME,
	F_LINK, F_OPEN, F_CREATE, F_RELEASE, F_FLUSH, F_FSYNC, F_READ,
	F_WRITE, F_STATFS, F_OPENDIR, F_READDIR, F_RELEASEDIR, F_FSYNCDIR,
	F_ACCESS, F_FALLOCATE, F_LSEEK, F_COPY_FILE_RANGE, F_SYNCFS,
	F_GETXATTR, F_LISTXATTR, F_SETXATTR, F_REMOVEXATTR, F_TMPFILE,
	F_COUNT
};

struct fake_dirent {
	const char *name;
	uint64_t ino;
	unsigned int type;
};

#define FAKE_MAX_FORGETS 256
#define FAKE_WBUF 8192

struct fake_fs {
	int err[F_COUNT];              /* injected result, 0: succeed */
	unsigned int calls[F_COUNT];

	/* Last arguments seen. */
	struct fs_ctx ctx;
	struct fs_init_info init_info;
	uint64_t nodeid, nodeid2, fh, fh2;
	char name[NAME_MAX + 1], name2[NAME_MAX + 1];
	char target[PATH_MAX];
	int flags;
	mode_t mode, umask;
	dev_t rdev;
	unsigned int rename_flags;
	bool datasync;
	bool has_getattr_fh;
	int mask, whence, fallocate_mode;
	off_t offset, offset2, length;
	size_t size;
	bool kill_priv;
	struct fs_setattr setattr;
	uint64_t readdir_offset;

	/* forget log */
	unsigned int nforget;
	uint64_t forget_id[FAKE_MAX_FORGETS];
	uint64_t forget_n[FAKE_MAX_FORGETS];

	/* lookup results: node ids handed out from next_nodeid on */
	uint64_t next_nodeid;
	unsigned int lookups_ok;
	const char *missing_name;      /* lookup -> -ENOENT */
	const char *broken_name;       /* lookup -> -EIO */
	const char *submount_name;     /* lookup -> a directory, submount */

	/* directory listing */
	const struct fake_dirent *dir;
	unsigned int ndir;
	unsigned int emitted;

	/* data: reads return bytes (offset + i) & 0xff, at most read_max */
	size_t read_max;
	bool defer;                    /* keep I/O pending in pending_op */
	struct uring_op *pending_op;
	const struct iovec *pending_iov;
	unsigned int pending_iovcnt;
	bool pending_read;
	uint8_t wbuf[FAKE_WBUF];
	size_t wlen;

	/* canned open result */
	uint64_t open_fh;
	uint32_t open_flags;
	off_t lseek_result;
	ssize_t copy_result;
	const char *link_target;
	const char *xattr_value;       /* getxattr / listxattr content */
	size_t xattr_len;
	uint8_t xval[256];
	size_t xval_len;
};

extern const struct fs_ops fake_fs_ops;

void fake_fs_init(struct fake_fs *f);
/* Fill st as the fake does for node ino. */
void fake_fs_stat(struct stat *st, uint64_t ino);
/* Finish the deferred read/write with res (bytes or -errno); a read fills
 * the data first. */
void fake_fs_complete(struct fake_fs *f, int res);

#endif
