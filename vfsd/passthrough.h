/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The passthrough filesystem: fs.h served from one host directory.
 *
 * Never escapes the shared directory: every name is one component resolved
 * with *at() relative to its parent's O_PATH fd, symlinks are never followed
 * by the daemon (the guest kernel resolves them), and only regular files and
 * directories are ever opened for I/O: opening a symlink answers -ELOOP, a
 * device node, fifo or socket -ENXIO, so the guest cannot reach host devices
 * through nodes it made with mknod.
 *
 * When the daemon runs as root, create, mknod, mkdir and symlink run under
 * the caller's uid/gid (switched per thread with the raw setresuid/setresgid
 * syscalls), so new files belong to the guest caller.
 *
 * Extended attributes of symlinks and special files go through the path
 * /proc/self/fd/N, so /proc must be mounted in the sandbox for those.
 *
 * Process-wide side effects of pt_new(): the umask is set to 0 (the guest's
 * umask arrives with each request and is applied here).  Switching
 * credentials clears the process's dumpable flag (a kernel rule).
 */
#ifndef VFSD_PASSTHROUGH_H
#define VFSD_PASSTHROUGH_H

#include <stdbool.h>
#include <stdint.h>

#include "fs.h"

struct pt_fs;

/* How nodes pin their host inode (--inode-file-handles). */
enum pt_file_handles {
	PT_FH_NEVER,            /* an O_PATH fd per node */
	PT_FH_PREFER,           /* a file handle where the fs supports it */
	PT_FH_MANDATORY,        /* a file handle, or the lookup fails */
};

struct pt_config {
	const char *shared_dir;
	/* With handles a node holds no fd while no operation uses it (needs
	 * CAP_DAC_READ_SEARCH for open_by_handle_at).  prefer falls back to
	 * fds, logging why once, where handles cannot be used; mandatory
	 * fails pt_new() then (-EOPNOTSUPP, -EPERM). */
	enum pt_file_handles file_handles;
	/* Node limit (one O_PATH fd each) and open-handle limit: past them
	 * -ENFILE / -EMFILE.  0: derived from RLIMIT_NOFILE at pt_new() time
	 * (raise the limit first), each a share of it, at least 1024. */
	uint64_t max_nodes;
	uint64_t max_handles;
	/* Honour O_DIRECT in guest open flags (default: stripped). */
	bool allow_direct_io;
	/* Honour O_NOATIME in guest open flags (default: stripped, as
	 * virtiofsd does: opened under the caller's ids it fails with EPERM
	 * on a file the caller does not own). */
	bool preserve_noatime;
	/* Serve extended attributes; when false the xattr ops answer
	 * -ENOSYS (the guest kernel then stops asking). */
	bool xattr;
};

/*
 * Opens the shared directory (O_PATH|O_DIRECTORY) and /proc/self/fd.
 * -ENOTDIR when shared_dir is not a directory, -ENOENT etc. as open gives,
 * -EINVAL for a NULL/empty path.  Does not log: the caller does.
 */
int pt_new(struct pt_fs **out, const struct pt_config *cfg);
/* NULL ok.  Call after every ring that ran reads/writes has been drained
 * (uring_free): an I/O in flight holds a handle reference. */
void pt_free(struct pt_fs *fs);

/*
 * After a fork (the pid namespace's server, vfsd/supervisor.c): the
 * "/proc/self/fd" pt_new() opened names the parent's fds.  Open our own,
 * through the /proc now mounted.  0 or -errno.
 */
int pt_reopen_proc_self(struct pt_fs *fs);

/* Pass the struct pt_fs * as the fs argument of every op. */
extern const struct fs_ops pt_ops;

/* Diagnostics and tests. */
struct pt_stats {
	uint64_t nodes;         /* the root included */
	uint64_t handles;       /* open files and directories */
	uint64_t node_fds;      /* fds held by nodes */
};
void pt_get_stats(struct pt_fs *fs, struct pt_stats *out);
/* Lookup count of a node (0 when the guest cannot name it). */
uint64_t pt_nlookup(struct pt_fs *fs, uint64_t nodeid);

#endif
