/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private to the FUSE engine (server*.c): the server object, the per-request
 * decoding context, scatter-gather helpers and the opcode handlers.
 */
#ifndef VFSD_SERVER_INTERNAL_H
#define VFSD_SERVER_INTERNAL_H

#include <linux/fuse.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "server.h"

/* Largest argument area copied to the stack for one request: SYMLINK
 * (name + target) is the biggest non-data request. */
#define SRV_ARG_MAX 8192

/* Linux's xattr limits (<linux/limits.h> XATTR_SIZE_MAX, XATTR_LIST_MAX). */
#define SRV_XATTR_SIZE_MAX 65536u
#define SRV_XATTR_NAME_MAX 255u

/* Oldest guest protocol accepted: 7.27 (Linux 4.20, the first virtio-fs
 * capable base has 7.31; /dev/fuse users of old kernels get -EPROTO). */
#define SRV_MIN_MINOR 27u

/* srv->state: one atomic word so that a request sees either "not
 * initialised" or the complete negotiated state, never half of it. */
#define SRV_STATE_READY      (1ull << 0)
/* FUSE_SECURITY_CTX agreed (a flags2 bit: not in SRV_STATE_FLAGS). */
#define SRV_STATE_SECCTX     (1ull << 1)
/* FUSE_CREATE_SUPP_GROUP agreed (flags2 too). */
#define SRV_STATE_SUPP_GROUP (1ull << 2)
#define SRV_STATE_MINOR(s)   ((uint32_t)(((s) >> 8) & 0xffu))
#define SRV_STATE_FLAGS(s)   ((uint32_t)((s) >> 32))

struct server {
	struct server_config cfg;
	pthread_mutex_t lock;        /* serialises INIT, DESTROY, reset */
	_Atomic uint64_t state;      /* SRV_STATE_* */
	uint64_t entry_sec, attr_sec;
	uint32_t entry_nsec, attr_nsec;
	struct srv_locks *locks;     /* server_lock.c; NULL: locks off */
};

/* Decoding context of one request; lives on the stack of server_handle. */
struct rq {
	struct server *srv;
	struct server_req *req;
	struct uring *ring;
	struct fuse_in_header in;
	struct fs_ctx ctx;
	uint64_t state;              /* snapshot of srv->state */
	const uint8_t *arg;          /* private copy of the argument bytes */
	size_t arg_len;              /* argument bytes in the request */
	size_t ext_len;              /* extension bytes after them */
	size_t in_size;              /* readable bytes (in.len, checked) */
	size_t out_size;             /* writable bytes */
};

/* Scatter-gather access (server_iov.c).  All bounds-checked. */
size_t srv_iov_length(const struct iovec *iov, unsigned int cnt);
int srv_iov_read(const struct iovec *iov, unsigned int cnt, size_t pos,
		 void *dst, size_t len);
int srv_iov_write(const struct iovec *iov, unsigned int cnt, size_t pos,
		  const void *src, size_t len);
int srv_iov_slice(const struct iovec *iov, unsigned int cnt, size_t pos,
		  size_t len, struct iovec *dst, unsigned int dst_max);

/* Argument cursor over the private copy. */
struct argp {
	const uint8_t *p;
	size_t left;
};

static inline struct argp srv_argp(const struct rq *r, size_t skip)
{
	struct argp a = { r->arg + skip, r->arg_len - skip };

	return a;
}

/* A file name: NUL-terminated inside the request, 1..NAME_MAX bytes, no
 * '/', not "." or "..". */
int srv_arg_name(struct argp *a, const char **name);
/* Any NUL-terminated string of 1..max bytes (excluding the NUL). */
int srv_arg_string(struct argp *a, const char **s, size_t max);

/* Replies.  srv_reply writes header + a + b and calls done; it returns
 * -ERANGE without replying when the reply does not fit. */
int srv_reply(struct server_req *req, const void *a, size_t alen,
	      const void *b, size_t blen);
void srv_reply_err(struct server_req *req, int err);
int32_t srv_wire_errno(int err);

/* Encoding helpers (server_node.c). */
void srv_fill_attr(const struct server *srv, struct fuse_attr *out,
		   const struct stat *st);
void srv_fill_entry(const struct server *srv, struct fuse_entry_out *out,
		    const struct fs_entry *e);
bool srv_offset_ok(uint64_t off, uint64_t len);

/* The security context a creating request carries (server_secctx.c):
 * a points after the names; on success *out is filled and r->ctx.secctx
 * points to it when there is a label.  -EINVAL for anything malformed,
 * or extension bytes FUSE_SECURITY_CTX was not agreed for. */
int srv_secctx_parse(struct rq *r, const struct argp *a,
		     struct fs_secctx *out, uint8_t *buf, size_t buf_len);
#define SRV_SECCTX_MAX 8192u

#define SRV_OPS(r) ((r)->srv->cfg.ops)
#define SRV_FS(r)  ((r)->srv->cfg.fs)

/* Handlers: return <0 for an error reply sent by the caller, 0 when the
 * request was answered (or handed to an asynchronous completion). */
typedef int (*srv_handler)(struct rq *r);

int srv_do_lookup(struct rq *r);
int srv_do_forget(struct rq *r);
int srv_do_batch_forget(struct rq *r);
int srv_do_getattr(struct rq *r);
int srv_do_setattr(struct rq *r);
int srv_do_readlink(struct rq *r);
int srv_do_symlink(struct rq *r);
int srv_do_mknod(struct rq *r);
int srv_do_mkdir(struct rq *r);
int srv_do_unlink(struct rq *r);
int srv_do_rmdir(struct rq *r);
int srv_do_rename(struct rq *r);
int srv_do_rename2(struct rq *r);
int srv_do_link(struct rq *r);
int srv_do_statfs(struct rq *r);
int srv_do_access(struct rq *r);

int srv_do_open(struct rq *r);
int srv_do_create(struct rq *r);
int srv_do_tmpfile(struct rq *r);
int srv_do_read(struct rq *r);
int srv_do_write(struct rq *r);
int srv_do_release(struct rq *r);
int srv_do_flush(struct rq *r);
int srv_do_fsync(struct rq *r);
int srv_do_fallocate(struct rq *r);
int srv_do_lseek(struct rq *r);
int srv_do_copy_file_range(struct rq *r);
int srv_do_syncfs(struct rq *r);

int srv_do_opendir(struct rq *r);
int srv_do_readdir(struct rq *r);
int srv_do_readdirplus(struct rq *r);
int srv_do_releasedir(struct rq *r);
int srv_do_fsyncdir(struct rq *r);

/* Locks (server_lock.c). */
int srv_do_getlk(struct rq *r);
int srv_do_setlk(struct rq *r);
int srv_do_setlkw(struct rq *r);
int srv_lock_init(struct server *srv);
void srv_lock_fini(struct server *srv);
void srv_lock_cancel_all(struct server *srv);
bool srv_lock_interrupt(struct server *srv, uint64_t unique);
void srv_lock_flush(struct rq *r, uint64_t owner);
void srv_lock_release(struct rq *r, uint64_t fh, uint32_t release_flags);

int srv_do_getxattr(struct rq *r);
int srv_do_listxattr(struct rq *r);
int srv_do_setxattr(struct rq *r);
int srv_do_removexattr(struct rq *r);

#endif
