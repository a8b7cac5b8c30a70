/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Passthrough filesystem: open files and their data (open, create,
 * release, flush, fsync, read, write, fallocate, lseek, copy_file_range).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#include "passthrough_int.h"
#include "uring.h"

/* Guest open flags made safe: never create, follow or become a
 * controlling tty here; async signals and O_PATH make no sense. */
static int sanitize_open_flags(struct pt_fs *fs, int flags)
{
	flags &= ~(O_CREAT | O_EXCL | O_NOCTTY | O_NOFOLLOW | O_PATH |
		   (O_TMPFILE & ~O_DIRECTORY) | O_ASYNC);
	if (!fs->allow_direct_io)
		flags &= ~O_DIRECT;
	if (!fs->preserve_noatime)
		flags &= ~O_NOATIME;
	if (__atomic_load_n(&fs->writeback, __ATOMIC_RELAXED)) {
		/* The guest page cache reads around partial writes, and
		 * supplies append offsets itself. */
		if ((flags & O_ACCMODE) == O_WRONLY)
			flags = (flags & ~O_ACCMODE) | O_RDWR;
		flags &= ~O_APPEND;
	}
	return flags | O_CLOEXEC;
}

int pt_open(void *fsp, const struct fs_ctx *ctx, uint64_t nodeid, int flags,
	    uint64_t *fh, uint32_t *open_flags)
{
	struct pt_fs *fs = fsp;
	struct inode *node;
	int fd, r;

	r = pt_get_node(fs, nodeid, &node);
	if (r < 0)
		return r;
	fd = pt_reopen(fs, node, sanitize_open_flags(fs, flags));
	pt_put_node(fs, node);
	if (fd < 0)
		return fd;
	r = handle_add(fs->handles, nodeid, fd, fh);
	if (r < 0) {
		close(fd);
		return r;
	}
	*open_flags = 0;
	return 0;
}

/*
 * An existing name without O_EXCL: open it like OPEN would, through its
 * node, so a fifo or device node the guest placed there is refused rather
 * than opened (a plain O_CREAT open would open it, and could block).
 */
static int open_existing(struct pt_fs *fs, struct inode *dir, const char *name,
			 int flags, struct fs_entry *out)
{
	struct inode *node;
	int fd, r;

	r = pt_do_lookup(fs, dir, name, out);
	if (r < 0)
		return r;
	r = pt_get_node(fs, out->nodeid, &node);
	if (r < 0)
		return r;      /* forgotten meanwhile: the lookup is gone too */
	fd = pt_reopen(fs, node, flags);
	pt_put_node(fs, node);
	if (fd < 0)
		inode_forget(fs->inodes, out->nodeid, 1);
	return fd;
}

/*
 * Hand the guest an open file: a handle for fd on the node *out names (whose
 * lookup count the caller already took).  On failure fd is closed and that
 * lookup count given back, so the guest is left holding nothing.
 */
static int add_open_handle(struct pt_fs *fs, int fd, const struct fs_entry *out,
			   uint64_t *fh, uint32_t *open_flags)
{
	int r = handle_add(fs->handles, out->nodeid, fd, fh);

	if (r < 0) {
		close(fd);
		inode_forget(fs->inodes, out->nodeid, 1);
		return r;
	}
	*open_flags = 0;
	return 0;
}

/* A file just created as fd: its entry (counted) and a handle for it. */
static int publish_new_file(struct pt_fs *fs, int fd, struct fs_entry *out,
			    uint64_t *fh, uint32_t *open_flags)
{
	int r = pt_entry_from_fd(fs, fd, out);

	if (r < 0) {
		close(fd);
		return r;
	}
	return add_open_handle(fs, fd, out, fh, open_flags);
}

int pt_create(void *fsp, const struct fs_ctx *ctx, uint64_t parent,
	      const char *name, mode_t mode, int flags, mode_t umask,
	      struct fs_entry *out, uint64_t *fh, uint32_t *open_flags)
{
	struct pt_umask um = { 0 };
	struct pt_fs *fs = fsp;
	struct pt_creds creds;
	struct inode *dir;
	int fd, r, oflags;

	r = pt_check_name(name);
	if (r < 0)
		return r;
	r = pt_get_node(fs, parent, &dir);
	if (r < 0)
		return r;
	oflags = sanitize_open_flags(fs, flags);
	mode &= 07777;

	/* O_EXCL|O_NOFOLLOW: only ever a new regular file, never through a
	 * symlink planted at name. */
	r = pt_creds_enter(fs, ctx, &creds);
	if (r < 0)
		goto out;
	fd = pt_umask_enter(fs, &mode, umask, &um);
	if (fd == 0) {
		fd = openat(dir->fd, name,
			    oflags | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
		fd = fd < 0 ? pt_errno() : fd;
		pt_umask_leave(&um);
	}
	pt_creds_leave(fs, &creds);
	/* Labelled before anyone can see it through us. */
	if (fd >= 0 && ctx->secctx) {
		r = pt_label_fd(fd, ctx->secctx);
		if (r < 0) {
			unlinkat(dir->fd, name, 0);
			close(fd);
			fd = r;
		}
	}

	if (fd == -EEXIST && !(flags & O_EXCL)) {
		fd = open_existing(fs, dir, name, oflags, out);
		r = fd < 0 ? fd : add_open_handle(fs, fd, out, fh, open_flags);
	} else {
		r = fd < 0 ? fd : publish_new_file(fs, fd, out, fh, open_flags);
	}
out:
	pt_put_node(fs, dir);
	return r;
}

int pt_tmpfile(void *fsp, const struct fs_ctx *ctx, uint64_t parent,
	       mode_t mode, int flags, mode_t umask, struct fs_entry *out,
	       uint64_t *fh, uint32_t *open_flags)
{
	struct pt_umask um = { 0 };
	struct pt_fs *fs = fsp;
	struct pt_creds creds;
	struct inode *dir;
	int fd, r, oflags;

	r = pt_get_node(fs, parent, &dir);
	if (r < 0)
		return r;
	/* The guest's O_TMPFILE carries O_DIRECTORY; O_EXCL is kept: it
	 * makes the file unlinkable, which LINK must then refuse. */
	oflags = (sanitize_open_flags(fs, flags) & ~O_DIRECTORY) |
		 (flags & O_EXCL) | O_TMPFILE;
	mode &= 07777;
	r = pt_creds_enter(fs, ctx, &creds);
	if (r < 0)
		goto out;
	fd = pt_umask_enter(fs, &mode, umask, &um);
	if (fd == 0) {
		fd = openat(dir->fd, ".", oflags, mode);
		fd = fd < 0 ? pt_errno() : fd;
		pt_umask_leave(&um);
	}
	pt_creds_leave(fs, &creds);
	if (fd >= 0 && ctx->secctx) {
		r = pt_label_fd(fd, ctx->secctx);
		if (r < 0) {
			close(fd);
			fd = r;
		}
	}
	r = fd < 0 ? fd : publish_new_file(fs, fd, out, fh, open_flags);
out:
	pt_put_node(fs, dir);
	return r;
}

int pt_release(void *fsp, uint64_t nodeid, uint64_t fh)
{
	struct pt_fs *fs = fsp;

	pt_locks_release_fh(fs, nodeid, fh);
	return handle_remove(fs->handles, fh, nodeid);
}

int pt_flush(void *fsp, uint64_t nodeid, uint64_t fh)
{
	struct pt_fs *fs = fsp;
	struct handle *h;
	int fd, r = 0;

	h = handle_get(fs->handles, fh, nodeid);
	if (!h)
		return -EBADF;
	/* A close() of any fd on the file is what the guest's close means
	 * on the host: POSIX locks go, NFS writes back and reports. */
	fd = fcntl(h->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0 || close(fd) < 0)
		r = pt_errno();
	handle_put(fs->handles, h);
	return r;
}

int pt_fsync(void *fsp, uint64_t nodeid, uint64_t fh, bool datasync)
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

/*
 * The ring may still use the fd after read/write return: the handle
 * reference taken here is dropped in the completion, so a RELEASE racing
 * the I/O (a hostile guest can send one) cannot close the fd or let its
 * number be reused underneath.
 */
struct pt_io {
	struct uring_op op;
	struct uring_op *caller;
	struct pt_fs *fs;
	struct handle *h;
};

/*
 * No malloc per READ/WRITE: each thread keeps the pt_io records it used
 * before on a free list (a ring and its completions belong to one thread,
 * so an I/O is freed on the thread that started it).  Bounded, and given
 * back when the thread exits.
 */
#define IO_CACHE_MAX 128

static __thread struct pt_io *io_cache;
static __thread unsigned int io_cache_len;
static pthread_key_t io_cache_key;
static pthread_once_t io_cache_once = PTHREAD_ONCE_INIT;

static void io_cache_drop(void *unused)
{
	while (io_cache) {
		struct pt_io *io = io_cache;

		io_cache = *(struct pt_io **)io;
		free(io);
	}
	io_cache_len = 0;
}

static void io_cache_init(void)
{
	if (pthread_key_create(&io_cache_key, io_cache_drop) != 0)
		io_cache_key = (pthread_key_t)-1;
}

static struct pt_io *io_alloc(void)
{
	struct pt_io *io = io_cache;

	if (io) {
		io_cache = *(struct pt_io **)io;
		io_cache_len--;
		return io;
	}
	pthread_once(&io_cache_once, io_cache_init);
	return malloc(sizeof(*io));
}

static void io_free(struct pt_io *io)
{
	/* The key's destructor empties the list when the thread exits; it
	 * runs only if the value is non-NULL. */
	if (io_cache_len >= IO_CACHE_MAX || io_cache_key == (pthread_key_t)-1 ||
	    (!io_cache && pthread_setspecific(io_cache_key, io) != 0)) {
		free(io);
		return;
	}
	*(struct pt_io **)io = io_cache;
	io_cache = io;
	io_cache_len++;
}

static void pt_io_complete(struct uring_op *op, int res)
{
	struct pt_io *io = (struct pt_io *)((char *)op -
					    offsetof(struct pt_io, op));
	struct uring_op *caller = io->caller;

	handle_put(io->fs->handles, io->h);
	io_free(io);
	caller->complete(caller, res);
}

static int start_io(struct pt_fs *fs, uint64_t nodeid, uint64_t fh,
		    off_t offset, struct uring_op *caller, struct pt_io **out)
{
	struct pt_io *io;

	if (offset < 0)         /* -1 would mean "file position" to a ring */
		return -EINVAL;
	io = io_alloc();
	if (!io)
		return -ENOMEM;
	io->h = handle_get(fs->handles, fh, nodeid);
	if (!io->h) {
		io_free(io);
		return -EBADF;
	}
	io->op.complete = pt_io_complete;
	io->caller = caller;
	io->fs = fs;
	*out = io;
	return 0;
}

static void abort_io(struct pt_io *io)
{
	handle_put(io->fs->handles, io->h);
	io_free(io);
}

int pt_read(void *fsp, uint64_t nodeid, uint64_t fh, off_t offset,
	    const struct iovec *iov, unsigned int iovcnt, struct uring *ring,
	    struct uring_op *op)
{
	struct pt_io *io;
	int r;

	r = start_io(fsp, nodeid, fh, offset, op, &io);
	if (r < 0)
		return r;
	r = uring_readv(ring, &io->op, io->h->fd, iov, iovcnt, offset);
	if (r < 0)
		abort_io(io);
	return r;
}

int pt_write(void *fsp, const struct fs_ctx *ctx, uint64_t nodeid,
	     uint64_t fh, off_t offset, const struct iovec *iov,
	     unsigned int iovcnt, bool kill_priv, struct uring *ring,
	     struct uring_op *op)
{
	struct pt_fs *fs = fsp;
	struct pt_io *io;
	int r;

	r = start_io(fs, nodeid, fh, offset, op, &io);
	if (r < 0)
		return r;
	if (kill_priv) {
		r = pt_kill_suidgid(fsp, io->h->fd);
		if (r < 0) {
			abort_io(io);
			return r;
		}
	}
	/* Without allow_direct_io no handle is O_DIRECT (sanitize_open_flags
	 * strips it), so every write is buffered. */
	r = uring_writev(ring, &io->op, io->h->fd, iov, iovcnt, offset,
			 fs->allow_direct_io ? 0 : URING_WRITE_BUFFERED);
	if (r < 0)
		abort_io(io);
	return r;
}

int pt_fallocate(void *fsp, uint64_t nodeid, uint64_t fh, int mode,
		 off_t offset, off_t length)
{
	struct pt_fs *fs = fsp;
	struct handle *h;
	int r;

	h = handle_get(fs->handles, fh, nodeid);
	if (!h)
		return -EBADF;
	r = fallocate(h->fd, mode, offset, length) < 0 ? pt_errno() : 0;
	handle_put(fs->handles, h);
	return r;
}

int pt_lseek(void *fsp, uint64_t nodeid, uint64_t fh, off_t offset,
	     int whence, off_t *out)
{
	struct pt_fs *fs = fsp;
	struct handle *h;
	off_t res;

	/* Only the absolute forms: the handle's position is shared by every
	 * guest user of the fh and means nothing to pread/pwrite. */
	if (whence != SEEK_SET && whence != SEEK_END &&
	    whence != SEEK_DATA && whence != SEEK_HOLE)
		return -EINVAL;
	h = handle_get(fs->handles, fh, nodeid);
	if (!h)
		return -EBADF;
	res = lseek(h->fd, offset, whence);
	handle_put(fs->handles, h);
	if (res < 0)
		return pt_errno();
	*out = res;
	return 0;
}

ssize_t pt_copy_file_range(void *fsp, uint64_t nodein, uint64_t fhin,
			   off_t offin, uint64_t nodeout, uint64_t fhout,
			   off_t offout, size_t len, unsigned int flags)
{
	struct pt_fs *fs = fsp;
	struct handle *in, *out;
	loff_t oi = offin, oo = offout;
	ssize_t r;

	if (offin < 0 || offout < 0)
		return -EINVAL;
	in = handle_get(fs->handles, fhin, nodein);
	out = handle_get(fs->handles, fhout, nodeout);
	if (!in || !out) {
		r = -EBADF;
	} else {
		r = copy_file_range(in->fd, &oi, out->fd, &oo, len, flags);
		if (r < 0)
			r = pt_errno();
	}
	handle_put(fs->handles, in);
	handle_put(fs->handles, out);
	return r;
}
