/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Passthrough filesystem: setup, init/destroy, lookup and attributes, and
 * the helpers the other passthrough_*.c files share.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "log.h"
#include "passthrough_int.h"

/* fds kept out of the guest's reach for the daemon itself. */
#define PT_FD_RESERVE 256
#define PT_MIN_LIMIT 1024
/* Smallest table, for absurdly low fd limits. */
#define PT_MIN_TABLE 16
/* Default node bound with file handles (memory, not fds). */
#define PT_HANDLE_NODES (4ull << 20)

/* ---- helpers shared by the passthrough files ---- */

int pt_check_name(const char *name)
{
	if (!name || !name[0] || strchr(name, '/') ||
	    !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	return 0;
}

int pt_get_node(struct pt_fs *fs, uint64_t nodeid, struct inode **out)
{
	return inode_acquire(fs->inodes, nodeid, out);
}

/* ---- file handles ---- */

struct pt_handle {
	struct file_handle fh;
	unsigned char bytes[MAX_HANDLE_SZ];
};

/* The handle of an O_PATH fd, and its mount id: 0 or -errno. */
static int make_handle(int fd, struct pt_handle *h, int *mnt_id)
{
	h->fh.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(fd, "", &h->fh, mnt_id, AT_EMPTY_PATH) < 0)
		return pt_errno();
	return 0;
}

static int open_handle(void *arg, const struct file_handle *handle)
{
	struct pt_fs *fs = arg;
	int fd;

	/* The handle was made by us from a node inside the share, never
	 * taken from the guest: open_by_handle_at cannot be pointed
	 * elsewhere. */
	fd = open_by_handle_at(fs->mount_fd, (struct file_handle *)handle,
			       O_PATH | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	/* ESTALE: the inode was deleted on the host.  A local file system
	 * says ENOENT then (e.g. creating in a removed working directory);
	 * ESTALE is an NFS-ism most programs do not expect. */
	return errno == ESTALE ? -ENOENT : pt_errno();
}

/* Can handles be used on this share (filesystem support and
 * CAP_DAC_READ_SEARCH)?  0, or -errno saying why not. */
static int probe_handles(struct pt_fs *fs)
{
	char name[PT_FD_NAME_MAX];
	struct pt_handle h;
	int r, fd;

	r = make_handle(fs->root_fd, &h, &fs->root_mnt_id);
	if (r < 0)
		return r;
	pt_fd_name(fs->root_fd, name);
	fs->mount_fd = openat(fs->proc_self_fd, name,
			      O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fs->mount_fd < 0)
		return pt_errno();
	fd = open_handle(fs, &h.fh);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

static int setup_handles(struct pt_fs *fs, enum pt_file_handles mode)
{
	int r;

	fs->fh_mode = PT_FH_NEVER;
	if (mode == PT_FH_NEVER)
		return 0;
	r = probe_handles(fs);
	if (r < 0 && mode == PT_FH_MANDATORY)
		return log_error_errno(r, "--inode-file-handles=mandatory: file handles cannot be used on the shared directory%s",
				       r == -EPERM ? " (needs CAP_DAC_READ_SEARCH)" : "");
	if (r < 0) {
		log_warn_errno(r, "--inode-file-handles=prefer: file handles cannot be used on the shared directory%s; holding an fd per inode",
			       r == -EPERM ? " (needs CAP_DAC_READ_SEARCH)" : "");
		if (fs->mount_fd >= 0)
			close(fs->mount_fd);
		fs->mount_fd = -1;
		return 0;
	}
	fs->fh_mode = mode;
	return 0;
}

void pt_fd_name(int fd, char buf[PT_FD_NAME_MAX])
{
	snprintf(buf, PT_FD_NAME_MAX, "%d", fd);
}

int pt_reopen(struct pt_fs *fs, const struct inode *node, int flags)
{
	char name[PT_FD_NAME_MAX];
	int fd;

	/* CVE-2020-35517: a device node or fifo the guest made must never be
	 * opened by the daemon; symlinks are the guest kernel's to follow. */
	if (node->type == S_IFLNK)
		return -ELOOP;
	if (node->type != S_IFREG && node->type != S_IFDIR)
		return -ENXIO;
	/* A node kept by file handle gets its fd anew; make sure that fd
	 * still is what the node says (a reused inode number must never turn
	 * a regular file's node into a device). */
	if (node->handle) {
		struct statx x;

		if (statx(node->fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW,
			  STATX_TYPE, &x) < 0)
			return pt_errno();
		if ((x.stx_mode & S_IFMT) != node->type)
			return -ESTALE;
	}

	/* O_NOFOLLOW would refuse the /proc magic link itself. */
	flags &= ~(O_NOFOLLOW | O_CREAT | O_EXCL | O_NOCTTY | O_PATH |
		   (O_TMPFILE & ~O_DIRECTORY));
	pt_fd_name(node->fd, name);
	fd = openat(fs->proc_self_fd, name, flags | O_CLOEXEC);
	return fd < 0 ? pt_errno() : fd;
}

static void statx_to_stat(const struct statx *x, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(x->stx_dev_major, x->stx_dev_minor);
	st->st_ino = x->stx_ino;
	st->st_mode = x->stx_mode;
	st->st_nlink = x->stx_nlink;
	st->st_uid = x->stx_uid;
	st->st_gid = x->stx_gid;
	st->st_rdev = makedev(x->stx_rdev_major, x->stx_rdev_minor);
	st->st_size = x->stx_size;
	st->st_blksize = x->stx_blksize;
	st->st_blocks = x->stx_blocks;
	st->st_atim.tv_sec = x->stx_atime.tv_sec;
	st->st_atim.tv_nsec = x->stx_atime.tv_nsec;
	st->st_mtim.tv_sec = x->stx_mtime.tv_sec;
	st->st_mtim.tv_nsec = x->stx_mtime.tv_nsec;
	st->st_ctim.tv_sec = x->stx_ctime.tv_sec;
	st->st_ctim.tv_nsec = x->stx_ctime.tv_nsec;
}

int pt_stat_fd(int fd, struct stat *st, struct inode_key *key)
{
	struct statx x;

	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW |
		  AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS | STATX_MNT_ID,
		  &x) < 0)
		return pt_errno();
	statx_to_stat(&x, st);
	if (key) {
		key->dev = st->st_dev;
		key->ino = st->st_ino;
		key->mnt_id = (x.stx_mask & STATX_MNT_ID) ? x.stx_mnt_id : 0;
	}
	return 0;
}

/* pt_entry_from_opath(), also giving the node's key (mount id included). */
static int entry_from_opath(struct pt_fs *fs, int opath, struct fs_entry *out,
			    struct inode_key *keyp)
{
	struct inode_key key;
	struct inode *node;
	struct stat st;
	int r;

	struct pt_handle h;
	bool by_handle = false;
	int mnt_id;

	r = pt_stat_fd(opath, &st, &key);
	if (r < 0)
		goto fail;
	if (fs->fh_mode != PT_FH_NEVER) {
		r = make_handle(opath, &h, &mnt_id);
		/* Handles are opened against the root's mount only: a node on
		 * another mount (a submount of the share) keeps its fd. */
		if (r == 0 && mnt_id != fs->root_mnt_id)
			r = -EXDEV;
		if (r < 0 && fs->fh_mode == PT_FH_MANDATORY) {
			log_ratelimited(LOG_LEVEL_WARN,
					"--inode-file-handles=mandatory: no file handle for an inode: %s",
					strerror(-r));
			goto fail;
		}
		by_handle = r == 0;
	}
	r = inode_lookup_or_add_handle(fs->inodes, &key, st.st_mode, opath,
				       by_handle ? &h.fh : NULL, &node);
	if (r < 0)
		goto fail;
	out->nodeid = node->id;
	out->generation = 0;
	out->attr = st;
	out->submount = false;
	*keyp = key;
	/* The lookup count holds the node from here. */
	inode_put(fs->inodes, node);
	return 0;
fail:
	close(opath);
	return r;
}

int pt_entry_from_opath(struct pt_fs *fs, int opath, struct fs_entry *out)
{
	struct inode_key key;

	return entry_from_opath(fs, opath, out, &key);
}

int pt_do_lookup(struct pt_fs *fs, struct inode *parent, const char *name,
		 struct fs_entry *out)
{
	struct inode_key key;
	int fd, r;

	r = pt_check_name(name);
	if (r < 0)
		return r;
	fd = openat(parent->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return pt_errno();
	r = entry_from_opath(fs, fd, out, &key);
	if (r < 0)
		return r;
	/* openat() crossed into a mount on name: its root (mount ids are
	 * unique per boot; 0 means the kernel gave none). */
	out->submount = S_ISDIR(out->attr.st_mode) && key.mnt_id &&
			parent->key.mnt_id && key.mnt_id != parent->key.mnt_id;
	return 0;
}

int pt_entry_from_fd(struct pt_fs *fs, int fd, struct fs_entry *out)
{
	char name[PT_FD_NAME_MAX];
	int opath;

	pt_fd_name(fd, name);
	opath = openat(fs->proc_self_fd, name, O_PATH | O_CLOEXEC);
	if (opath < 0)
		return pt_errno();
	return pt_entry_from_opath(fs, opath, out);
}

int pt_kill_suidgid(struct pt_fs *fs, int fd)
{
	char name[PT_FD_NAME_MAX];
	struct stat st;
	mode_t kill = S_ISUID;

	if (fstat(fd, &st) < 0)
		return pt_errno();
	if (!S_ISREG(st.st_mode))
		return 0;
	/* Without group exec, S_ISGID means mandatory locking: keep it. */
	if (st.st_mode & S_IXGRP)
		kill |= S_ISGID;
	if (!(st.st_mode & kill))
		return 0;
	pt_fd_name(fd, name);
	if (fchmodat(fs->proc_self_fd, name, st.st_mode & 07777 & ~kill, 0) < 0)
		return pt_errno();
	return 0;
}

/* ---- per-thread credentials ---- */

/*
 * The raw syscalls change only the calling thread; glibc's wrappers would
 * change every thread of the process.  Effective ids (not just fs ids) so
 * faccessat(AT_EACCESS) sees them too.  gid first: once the euid is not 0,
 * CAP_SETGID is gone until it is restored.
 */
/* The caller's supplementary group for this request (CREATE_SUPP_GROUP),
 * saving the thread's own.  When that cannot be done (more groups than we
 * save, setgroups denied): go without it, the host then refuses what the
 * group alone would have allowed. */
static void creds_enter_group(const struct fs_ctx *ctx, struct pt_creds *saved)
{
	long n;

	if (!ctx->has_supp_gid || ctx->supp_gid == (gid_t)-1)
		return;
	n = syscall(SYS_getgroups, PT_CREDS_GROUPS, saved->groups);
	if (n < 0)
		return;
	/* Not permitted (a user namespace with setgroups denied): without
	 * it, as before. */
	if (syscall(SYS_setgroups, 1, &ctx->supp_gid) < 0)
		return;
	saved->ngroups = (int)n;
	saved->groups_switched = true;
}

int pt_creds_enter(struct pt_fs *fs, const struct fs_ctx *ctx,
		   struct pt_creds *saved)
{
	int r;

	saved->uid_switched = saved->gid_switched = false;
	saved->groups_switched = false;
	if (!fs->is_root)
		return 0;
	/* -1 means "leave unchanged" to setres*id: the file would be root's. */
	/* Also what the engine makes of a guest id --translate-* forbids. */
	if (ctx->uid == (uid_t)-1 || ctx->gid == (gid_t)-1)
		return -EPERM;
	creds_enter_group(ctx, saved);
	if (ctx->gid != fs->egid) {
		if (syscall(SYS_setresgid, -1, ctx->gid, -1) < 0) {
			r = pt_errno();
			pt_creds_leave(fs, saved);
			return r;
		}
		saved->gid_switched = true;
	}
	if (ctx->uid != fs->euid) {
		if (syscall(SYS_setresuid, -1, ctx->uid, -1) < 0) {
			r = pt_errno();
			pt_creds_leave(fs, saved);
			return r;
		}
		saved->uid_switched = true;
	}
	return 0;
}

void pt_creds_leave(struct pt_fs *fs, const struct pt_creds *saved)
{
	/* Going on with a guest's ids would be worse than stopping. */
	if (saved->uid_switched &&
	    syscall(SYS_setresuid, -1, fs->euid, -1) < 0) {
		log_error("cannot restore euid %u: %m", (unsigned)fs->euid);
		abort();
	}
	if (saved->gid_switched &&
	    syscall(SYS_setresgid, -1, fs->egid, -1) < 0) {
		log_error("cannot restore egid %u: %m", (unsigned)fs->egid);
		abort();
	}
	if (saved->groups_switched &&
	    syscall(SYS_setgroups, saved->ngroups, saved->groups) < 0) {
		log_error("cannot restore the supplementary groups: %m");
		abort();
	}
}

/* ---- setup ---- */

static void default_limits(uint64_t *nodes, uint64_t *handles,
			   uint64_t *plocks)
{
	struct rlimit rl;
	uint64_t budget = PT_MIN_LIMIT * 2, lim, reserve;

	/* What the guest may make us hold must leave the daemon its own
	 * fds (sockets, eventfds, a new connection's) whatever the limit:
	 * never more than the limit minus a reserve (CVE-2020-10717). */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		lim = rl.rlim_cur;
		reserve = lim < 4 * PT_FD_RESERVE ? lim / 4 : PT_FD_RESERVE;
		budget = lim - reserve;
	}
	/* Lock owners' host opens (passthrough_lock.c) stand for guest
	 * opens: they come out of the handles' half, an eighth of it, so
	 * that invented owners cannot take the reserve either. */
	*plocks = budget / 16;
	if (*plocks > PT_PLOCK_MAX)
		*plocks = PT_PLOCK_MAX;
	if (*plocks < PT_MIN_TABLE)
		*plocks = PT_MIN_TABLE;
	if (!*nodes)
		*nodes = budget / 2 > PT_MIN_TABLE ? budget / 2 : PT_MIN_TABLE;
	if (!*handles)
		*handles = budget / 2 > *plocks + PT_MIN_TABLE ?
			   budget / 2 - *plocks : PT_MIN_TABLE;
}

/* The directory of our own fds: "/proc/self/fd/N" reopens fd N. */
static int open_proc_self_fd(void)
{
	return open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
}

int pt_reopen_proc_self(struct pt_fs *fs)
{
	int fd = open_proc_self_fd();

	if (fd < 0)
		return -errno;
	close(fs->proc_self_fd);
	fs->proc_self_fd = fd;
	return 0;
}

int pt_new(struct pt_fs **out, const struct pt_config *cfg)
{
	uint64_t max_nodes = cfg->max_nodes, max_handles = cfg->max_handles;
	uint64_t max_plocks;
	struct inode_key key;
	struct stat st;
	struct pt_fs *fs;
	int root_fd, r;

	if (!cfg->shared_dir || !cfg->shared_dir[0])
		return -EINVAL;
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fs->proc_self_fd = -1;
	fs->mount_fd = -1;

	root_fd = open(cfg->shared_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0) {
		r = pt_errno();
		goto fail;
	}
	r = pt_stat_fd(root_fd, &st, &key);
	if (r < 0 || !S_ISDIR(st.st_mode)) {
		r = r < 0 ? r : -ENOTDIR;
		close(root_fd);
		goto fail;
	}
	fs->proc_self_fd = open_proc_self_fd();
	if (fs->proc_self_fd < 0) {
		r = pt_errno();
		close(root_fd);
		goto fail;
	}

	fs->root_fd = root_fd;
	r = setup_handles(fs, cfg->file_handles);
	if (r < 0) {
		close(root_fd);
		goto fail;
	}
	default_limits(&max_nodes, &max_handles, &max_plocks);
	/* Nodes kept by handle hold no fd: their bound is memory (a few
	 * hundred bytes each), not the fd limit. */
	if (fs->fh_mode != PT_FH_NEVER && !cfg->max_nodes &&
	    max_nodes < PT_HANDLE_NODES)
		max_nodes = PT_HANDLE_NODES;
	r = inode_table_new(&fs->inodes, max_nodes);
	if (r == 0)
		r = handle_table_new(&fs->handles, max_handles);
	if (r == 0)
		r = pt_locks_new(&fs->locks, (unsigned int)max_plocks);
	if (r == 0)
		r = inode_table_set_root(fs->inodes, root_fd, &key, st.st_mode);
	if (r < 0) {
		close(root_fd);
		goto fail;
	}
	/* The root node owns root_fd from here. */
	if (fs->fh_mode != PT_FH_NEVER)
		inode_table_set_opener(fs->inodes, open_handle, fs);

	fs->allow_direct_io = cfg->allow_direct_io;
	fs->preserve_noatime = cfg->preserve_noatime;
	fs->xattr = cfg->xattr;
	fs->euid = geteuid();
	fs->egid = getegid();
	fs->is_root = fs->euid == 0;
	/* The guest's umask comes with each request. */
	umask(0);
	*out = fs;
	return 0;
fail:
	pt_free(fs);
	return r;
}

void pt_free(struct pt_fs *fs)
{
	if (!fs)
		return;
	pt_locks_free(fs->locks);
	handle_table_free(fs->handles);
	inode_table_free(fs->inodes);
	if (fs->proc_self_fd >= 0)
		close(fs->proc_self_fd);
	if (fs->mount_fd >= 0)
		close(fs->mount_fd);
	free(fs);
}

void pt_get_stats(struct pt_fs *fs, struct pt_stats *out)
{
	out->nodes = inode_table_count(fs->inodes);
	out->handles = handle_table_count(fs->handles);
	out->node_fds = inode_table_open_fds(fs->inodes);
}

uint64_t pt_nlookup(struct pt_fs *fs, uint64_t nodeid)
{
	return inode_table_nlookup(fs->inodes, nodeid);
}

/* ---- operations: session, lookup, attributes ---- */

static int pt_init(void *fsp, const struct fs_init_info *info)
{
	struct pt_fs *fs = fsp;

	__atomic_store_n(&fs->writeback, info->writeback_cache,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&fs->killpriv_v2, info->killpriv_v2,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&fs->posix_acl, info->posix_acl, __ATOMIC_RELAXED);
	return 0;
}

static void pt_destroy(void *fsp)
{
	struct pt_fs *fs = fsp;

	pt_locks_clear(fs);
	handle_table_clear(fs->handles);
	inode_table_clear(fs->inodes);
}

static int pt_lookup(void *fsp, const struct fs_ctx *ctx, uint64_t parent,
		     const char *name, struct fs_entry *out)
{
	struct pt_fs *fs = fsp;
	struct inode *dir;
	int r;

	r = pt_get_node(fs, parent, &dir);
	if (r < 0)
		return r;
	r = pt_do_lookup(fs, dir, name, out);
	pt_put_node(fs, dir);
	return r;
}

static void pt_forget(void *fsp, uint64_t nodeid, uint64_t nlookup)
{
	struct pt_fs *fs = fsp;

	inode_forget(fs->inodes, nodeid, nlookup);
	pt_locks_forget_node(fs, nodeid);
}

static int pt_getattr(void *fsp, const struct fs_ctx *ctx, uint64_t nodeid,
		      const uint64_t *fh, struct stat *out)
{
	struct pt_fs *fs = fsp;
	struct inode *node;
	int r;

	r = pt_get_node(fs, nodeid, &node);
	if (r < 0)
		return r;
	r = pt_stat_fd(node->fd, out, NULL);
	pt_put_node(fs, node);
	return r;
}

static int set_mode(struct pt_fs *fs, struct inode *node, struct handle *h,
		    mode_t mode)
{
	char name[PT_FD_NAME_MAX];

	mode &= 07777;
	if (h)
		return fchmod(h->fd, mode) < 0 ? pt_errno() : 0;
	/* The magic link resolves to the node's inode itself, even a symlink
	 * (which the kernel then refuses with EOPNOTSUPP). */
	pt_fd_name(node->fd, name);
	return fchmodat(fs->proc_self_fd, name, mode, 0) < 0 ? pt_errno() : 0;
}

static int set_owner(struct inode *node, const struct fs_setattr *in)
{
	uid_t uid = (in->valid & FS_SET_UID) ? in->uid : (uid_t)-1;
	gid_t gid = (in->valid & FS_SET_GID) ? in->gid : (gid_t)-1;

	if (fchownat(node->fd, "", uid, gid,
		     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return pt_errno();
	return 0;
}

static int set_size(struct pt_fs *fs, struct inode *node, struct handle *h,
		    off_t size, bool kill)
{
	int fd, r = 0;

	if (size < 0)
		return -EINVAL;
	if (h) {
		fd = h->fd;
	} else {
		if (node->type == S_IFDIR)
			return -EISDIR;
		if (node->type != S_IFREG)
			return -EINVAL;
		fd = pt_reopen(fs, node, O_WRONLY | O_NONBLOCK);
		if (fd < 0)
			return fd;
	}
	if (ftruncate(fd, size) < 0)
		r = pt_errno();
	else if (kill)
		r = pt_kill_suidgid(fs, fd);
	if (!h)
		close(fd);
	return r;
}

static int set_times(struct pt_fs *fs, struct inode *node, struct handle *h,
		     const struct fs_setattr *in)
{
	char name[PT_FD_NAME_MAX];
	struct timespec ts[2];

	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1] = ts[0];
	if (in->valid & FS_SET_ATIME_NOW)
		ts[0].tv_nsec = UTIME_NOW;
	else if (in->valid & FS_SET_ATIME)
		ts[0] = in->atime;
	if (in->valid & FS_SET_MTIME_NOW)
		ts[1].tv_nsec = UTIME_NOW;
	else if (in->valid & FS_SET_MTIME)
		ts[1] = in->mtime;
	/* The guest must not smuggle UTIME_* through a plain time. */
	for (int i = 0; i < 2; i++)
		if (ts[i].tv_nsec != UTIME_OMIT && ts[i].tv_nsec != UTIME_NOW &&
		    (ts[i].tv_nsec < 0 || ts[i].tv_nsec >= 1000000000L))
			return -EINVAL;
	if (h)
		return futimens(h->fd, ts) < 0 ? pt_errno() : 0;
	pt_fd_name(node->fd, name);
	if (utimensat(fs->proc_self_fd, name, ts, 0) < 0)
		return pt_errno();
	return 0;
}

static int pt_setattr(void *fsp, const struct fs_ctx *ctx, uint64_t nodeid,
		      const struct fs_setattr *in, struct stat *out)
{
	const uint32_t time_bits = FS_SET_ATIME | FS_SET_MTIME |
				   FS_SET_ATIME_NOW | FS_SET_MTIME_NOW;
	struct pt_fs *fs = fsp;
	struct handle *h = NULL;
	struct inode *node;
	bool kill;
	int r;

	r = pt_get_node(fs, nodeid, &node);
	if (r < 0)
		return r;
	if (in->has_fh) {
		h = handle_get(fs->handles, in->fh, nodeid);
		if (!h) {
			r = -EBADF;
			goto out;
		}
	}
	kill = (in->valid & FS_SET_KILL_SUIDGID) &&
	       !(in->valid & FS_SET_MODE);

	if (in->valid & FS_SET_MODE) {
		r = set_mode(fs, node, h, in->mode);
		if (r < 0)
			goto out;
	}
	if (in->valid & (FS_SET_UID | FS_SET_GID)) {
		r = set_owner(node, in);
		if (r < 0)
			goto out;
	}
	if (in->valid & FS_SET_SIZE) {
		r = set_size(fs, node, h, in->size, kill);
		if (r < 0)
			goto out;
	} else if (kill) {
		/* After a chown (the host's own clearing does not apply to
		 * us: we are privileged) or alone, after an O_TRUNC open. */
		r = pt_kill_suidgid(fs, h ? h->fd : node->fd);
		if (r < 0)
			goto out;
	}
	if (in->valid & time_bits) {
		r = set_times(fs, node, h, in);
		if (r < 0)
			goto out;
	}
	r = pt_stat_fd(node->fd, out, NULL);
out:
	handle_put(fs->handles, h);
	pt_put_node(fs, node);
	return r;
}

static int pt_readlink(void *fsp, const struct fs_ctx *ctx, uint64_t nodeid,
		       char *buf, size_t size)
{
	struct pt_fs *fs = fsp;
	struct inode *node;
	ssize_t n;
	int r;

	r = pt_get_node(fs, nodeid, &node);
	if (r < 0)
		return r;
	if (node->type != S_IFLNK) {
		pt_put_node(fs, node);
		return -EINVAL;
	}
	n = readlinkat(node->fd, "", buf, size);
	r = n < 0 ? pt_errno() : (int)n;
	pt_put_node(fs, node);
	return r;
}

static int pt_access(void *fsp, const struct fs_ctx *ctx, uint64_t nodeid,
		     int mask)
{
	char name[PT_FD_NAME_MAX];
	struct pt_fs *fs = fsp;
	struct pt_creds creds;
	struct inode *node;
	int r;

	if (mask & ~(R_OK | W_OK | X_OK))
		return -EINVAL;
	r = pt_get_node(fs, nodeid, &node);
	if (r < 0)
		return r;
	/* Checked as the caller: effective ids, hence AT_EACCESS. */
	pt_fd_name(node->fd, name);
	r = pt_creds_enter(fs, ctx, &creds);
	if (r == 0) {
		if (faccessat(fs->proc_self_fd, name, mask, AT_EACCESS) < 0)
			r = pt_errno();
		pt_creds_leave(fs, &creds);
	}
	pt_put_node(fs, node);
	return r;
}

static int pt_statfs(void *fsp, uint64_t nodeid, struct statvfs *out)
{
	struct pt_fs *fs = fsp;
	struct inode *node;
	int r;

	r = pt_get_node(fs, nodeid, &node);
	if (r < 0)
		return r;
	r = fstatvfs(node->fd, out) < 0 ? pt_errno() : 0;
	pt_put_node(fs, node);
	return r;
}

static int pt_syncfs(void *fsp, uint64_t nodeid)
{
	struct pt_fs *fs = fsp;
	struct inode *node;
	int fd, r;

	r = pt_get_node(fs, nodeid, &node);
	if (r < 0)
		return r;
	/* syncfs wants a real fd; an O_PATH one answers EBADF.  A special
	 * file cannot be opened: sync the root's filesystem instead. */
	fd = pt_reopen(fs, node, O_RDONLY | O_NONBLOCK);
	pt_put_node(fs, node);
	if (fd < 0) {
		r = pt_get_node(fs, FS_ROOT_ID, &node);
		if (r < 0)
			return r;
		fd = pt_reopen(fs, node, O_RDONLY | O_DIRECTORY);
		pt_put_node(fs, node);
		if (fd < 0)
			return fd;
	}
	r = syncfs(fd) < 0 ? pt_errno() : 0;
	close(fd);
	return r;
}

const struct fs_ops pt_ops = {
	.init = pt_init,
	.destroy = pt_destroy,
	.lookup = pt_lookup,
	.forget = pt_forget,
	.getattr = pt_getattr,
	.setattr = pt_setattr,
	.readlink = pt_readlink,
	.symlink = pt_symlink,
	.mknod = pt_mknod,
	.mkdir = pt_mkdir,
	.unlink = pt_unlink,
	.rmdir = pt_rmdir,
	.rename = pt_rename,
	.link = pt_link,
	.open = pt_open,
	.create = pt_create,
	.tmpfile = pt_tmpfile,
	.release = pt_release,
	.flush = pt_flush,
	.fsync = pt_fsync,
	.read = pt_read,
	.write = pt_write,
	.statfs = pt_statfs,
	.opendir = pt_opendir,
	.readdir = pt_readdir,
	.releasedir = pt_releasedir,
	.fsyncdir = pt_fsyncdir,
	.access = pt_access,
	.fallocate = pt_fallocate,
	.lseek = pt_lseek,
	.copy_file_range = pt_copy_file_range,
	.syncfs = pt_syncfs,
	.getxattr = pt_getxattr,
	.listxattr = pt_listxattr,
	.setxattr = pt_setxattr,
	.removexattr = pt_removexattr,
	.getlk = pt_getlk,
	.setlk = pt_setlk,
	.flock = pt_flock,
	.unlock_owner = pt_unlock_owner,
};
