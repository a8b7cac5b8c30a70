// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The FUSE engine: request decoding, the opcode table, INIT negotiation and
 * reply encoding.  The opcode handlers live in server_node.c (names and
 * attributes), server_file.c (open files, data, xattrs) and server_dir.c
 * (directories).
 *
 * Every request ends with exactly one req->done() call: either from a
 * handler's reply, from the error path here, or from an asynchronous
 * completion (READ/WRITE).
 *
 * Choices where the protocol leaves room (each has a test):
 *   - A malformed request gets -EINVAL (-ENOSYS for an unknown opcode, -EIO
 *     before FUSE_INIT); with no room for even a reply header, done(req, 0).
 *   - A reply that cannot fit in the guest's buffers gets -ERANGE; for
 *     fixed-size replies this is checked before the filesystem is called,
 *     so no state changes (no lookup count, no open handle) are lost.
 *   - READ into a buffer smaller than the requested size is refused with
 *     -EINVAL rather than trimmed (a short read means EOF to the guest).
 *   - Names "." and ".." are refused with -EINVAL by every opcode (the
 *     kernel never sends them; we do not offer FUSE_EXPORT_SUPPORT).
 *   - LOOKUP of a missing name is a negative entry (nodeid 0) cached for
 *     entry_timeout when that is non-zero, else -ENOENT.
 *   - A READDIR(PLUS) buffer too small for the first entry is -EINVAL:
 *     an empty reply would mean end of directory.
 *   - Request extensions (total_extlen) are skipped, except on the creating
 *     opcodes, which take a security context there (FUSE_SECURITY_CTX)
 *     and the caller's group (FUSE_CREATE_SUPP_GROUP, the last record),
 *     and refuse extension bytes that were not agreed.
 *   - --translate-uid/gid: a guest id the map forbids becomes (uid_t)-1
 *     for the filesystem, which refuses to act as it (EPERM).
 *   - With HANDLE_KILLPRIV_V2, OPEN/CREATE with O_TRUNC and
 *     FUSE_OPEN_KILL_SUIDGID become open + SETATTR(FS_SET_KILL_SUIDGID
 *     alone) on the new handle: fs.h's open stays as it is.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "idmap.h"
#include "log.h"
#include "server_internal.h"

#define DEFAULT_MAX_WRITE (1u << 20)
#define MIN_MAX_WRITE 4096u
#define MAX_MAX_WRITE (16u << 20)

/* Table flags. */
#define OP_MODIFY   (1u << 0)   /* refused with -EROFS in read-only mode */
#define OP_NOREPLY  (1u << 1)   /* the guest expects no reply */
#define OP_RAW      (1u << 2)   /* copy only in_min bytes: data follows */

struct srv_op {
	srv_handler fn;
	uint32_t in_min;        /* argument bytes required */
	uint32_t out_min;       /* reply payload that must fit before we act */
	uint32_t flags;
};

static int do_init(struct rq *r);
static int do_destroy(struct rq *r);
static int do_interrupt(struct rq *r);

#define OP(code, f, in, out, fl) \
	[code] = { .fn = (f), .in_min = (in), .out_min = (out), .flags = (fl) }

static const struct srv_op op_table[] = {
	OP(FUSE_LOOKUP, srv_do_lookup, 0, sizeof(struct fuse_entry_out), 0),
	OP(FUSE_FORGET, srv_do_forget, sizeof(struct fuse_forget_in), 0,
	   OP_NOREPLY),
	OP(FUSE_GETATTR, srv_do_getattr, sizeof(struct fuse_getattr_in),
	   sizeof(struct fuse_attr_out), 0),
	OP(FUSE_SETATTR, srv_do_setattr, sizeof(struct fuse_setattr_in),
	   sizeof(struct fuse_attr_out), OP_MODIFY),
	OP(FUSE_READLINK, srv_do_readlink, 0, 0, 0),
	OP(FUSE_SYMLINK, srv_do_symlink, 0, sizeof(struct fuse_entry_out),
	   OP_MODIFY),
	OP(FUSE_MKNOD, srv_do_mknod, sizeof(struct fuse_mknod_in),
	   sizeof(struct fuse_entry_out), OP_MODIFY),
	OP(FUSE_MKDIR, srv_do_mkdir, sizeof(struct fuse_mkdir_in),
	   sizeof(struct fuse_entry_out), OP_MODIFY),
	OP(FUSE_UNLINK, srv_do_unlink, 0, 0, OP_MODIFY),
	OP(FUSE_RMDIR, srv_do_rmdir, 0, 0, OP_MODIFY),
	OP(FUSE_RENAME, srv_do_rename, sizeof(struct fuse_rename_in), 0,
	   OP_MODIFY),
	OP(FUSE_LINK, srv_do_link, sizeof(struct fuse_link_in),
	   sizeof(struct fuse_entry_out), OP_MODIFY),
	OP(FUSE_OPEN, srv_do_open, sizeof(struct fuse_open_in),
	   sizeof(struct fuse_open_out), 0),
	OP(FUSE_READ, srv_do_read, sizeof(struct fuse_read_in), 0, 0),
	OP(FUSE_WRITE, srv_do_write, sizeof(struct fuse_write_in),
	   sizeof(struct fuse_write_out), OP_MODIFY | OP_RAW),
	OP(FUSE_STATFS, srv_do_statfs, 0, sizeof(struct fuse_statfs_out), 0),
	OP(FUSE_RELEASE, srv_do_release, sizeof(struct fuse_release_in), 0, 0),
	OP(FUSE_FSYNC, srv_do_fsync, sizeof(struct fuse_fsync_in), 0, 0),
	OP(FUSE_SETXATTR, srv_do_setxattr, FUSE_COMPAT_SETXATTR_IN_SIZE, 0,
	   OP_MODIFY | OP_RAW),
	OP(FUSE_GETXATTR, srv_do_getxattr, sizeof(struct fuse_getxattr_in),
	   0, 0),
	OP(FUSE_LISTXATTR, srv_do_listxattr, sizeof(struct fuse_getxattr_in),
	   0, 0),
	OP(FUSE_REMOVEXATTR, srv_do_removexattr, 0, 0, OP_MODIFY),
	OP(FUSE_FLUSH, srv_do_flush, sizeof(struct fuse_flush_in), 0, 0),
	/* The kernel sends the 16-byte init_in before 7.36. */
	OP(FUSE_INIT, do_init, 16, sizeof(struct fuse_init_out), 0),
	OP(FUSE_OPENDIR, srv_do_opendir, sizeof(struct fuse_open_in),
	   sizeof(struct fuse_open_out), 0),
	OP(FUSE_READDIR, srv_do_readdir, sizeof(struct fuse_read_in), 0, 0),
	OP(FUSE_RELEASEDIR, srv_do_releasedir, sizeof(struct fuse_release_in),
	   0, 0),
	OP(FUSE_FSYNCDIR, srv_do_fsyncdir, sizeof(struct fuse_fsync_in), 0, 0),
	OP(FUSE_ACCESS, srv_do_access, sizeof(struct fuse_access_in), 0, 0),
	OP(FUSE_CREATE, srv_do_create, sizeof(struct fuse_create_in),
	   sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out),
	   OP_MODIFY),
	OP(FUSE_INTERRUPT, do_interrupt, sizeof(struct fuse_interrupt_in), 0,
	   OP_NOREPLY),
	OP(FUSE_GETLK, srv_do_getlk, sizeof(struct fuse_lk_in),
	   sizeof(struct fuse_lk_out), 0),
	OP(FUSE_SETLK, srv_do_setlk, sizeof(struct fuse_lk_in), 0, 0),
	OP(FUSE_SETLKW, srv_do_setlkw, sizeof(struct fuse_lk_in), 0, 0),
	OP(FUSE_DESTROY, do_destroy, 0, 0, 0),
	OP(FUSE_BATCH_FORGET, srv_do_batch_forget,
	   sizeof(struct fuse_batch_forget_in), 0, OP_NOREPLY | OP_RAW),
	OP(FUSE_FALLOCATE, srv_do_fallocate, sizeof(struct fuse_fallocate_in),
	   0, OP_MODIFY),
	OP(FUSE_READDIRPLUS, srv_do_readdirplus, sizeof(struct fuse_read_in),
	   0, 0),
	OP(FUSE_RENAME2, srv_do_rename2, sizeof(struct fuse_rename2_in), 0,
	   OP_MODIFY),
	OP(FUSE_LSEEK, srv_do_lseek, sizeof(struct fuse_lseek_in),
	   sizeof(struct fuse_lseek_out), 0),
	OP(FUSE_COPY_FILE_RANGE, srv_do_copy_file_range,
	   sizeof(struct fuse_copy_file_range_in),
	   sizeof(struct fuse_write_out), OP_MODIFY),
	OP(FUSE_SYNCFS, srv_do_syncfs, 0, 0, 0),
	OP(FUSE_TMPFILE, srv_do_tmpfile, sizeof(struct fuse_create_in),
	   sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out),
	   OP_MODIFY),
};

#define OP_TABLE_SIZE (sizeof(op_table) / sizeof(op_table[0]))

/* ---- replies ---------------------------------------------------------- */

int32_t srv_wire_errno(int err)
{
	/* The kernel refuses errors outside (-512, 0): a filesystem bug must
	 * not turn into a protocol violation. */
	if (err >= 0 || err <= -512)
		return -EIO;
	return err;
}

void srv_reply_err(struct server_req *req, int err)
{
	struct fuse_out_header oh = {
		.len = sizeof(oh),
		.error = srv_wire_errno(err),
		.unique = req->unique,
	};

	if (srv_iov_write(req->out, req->out_cnt, 0, &oh, sizeof(oh)) < 0) {
		req->done(req, 0);
		return;
	}
	req->done(req, sizeof(oh));
}

int srv_reply(struct server_req *req, const void *a, size_t alen,
	      const void *b, size_t blen)
{
	size_t room = srv_iov_length(req->out, req->out_cnt);
	struct fuse_out_header oh = { .unique = req->unique };

	if (room < sizeof(oh) || alen > room - sizeof(oh) ||
	    blen > room - sizeof(oh) - alen)
		return -ERANGE;
	oh.len = (uint32_t)(sizeof(oh) + alen + blen);
	/* Cannot fail: the total was checked above. */
	srv_iov_write(req->out, req->out_cnt, 0, &oh, sizeof(oh));
	srv_iov_write(req->out, req->out_cnt, sizeof(oh), a, alen);
	srv_iov_write(req->out, req->out_cnt, sizeof(oh) + alen, b, blen);
	req->done(req, oh.len);
	return 0;
}

/* ---- INIT / DESTROY --------------------------------------------------- */

/* FUSE 7.39 (Linux 6.6): mmap of files opened with FOPEN_DIRECT_IO.  This
 * build's <linux/fuse.h> is 7.38, so the bit is defined here; a 7.38 guest
 * (Linux 6.1) never asks for it. */
#ifndef FUSE_DIRECT_IO_ALLOW_MMAP
#define FUSE_DIRECT_IO_ALLOW_MMAP (1ULL << 36)
#endif
#define SRV_ALLOW_MMAP_MINOR 39u

/* FUSE 7.38 as Linux 6.3 defines it; Debian's 7.38 header predates it. */
#ifndef FUSE_CREATE_SUPP_GROUP
#define FUSE_CREATE_SUPP_GROUP (1ULL << 34)
#endif
#define SRV_EXT_GROUPS 32u          /* enum fuse_ext_type FUSE_EXT_GROUPS */
#define SRV_EXT_GROUPS_MAX 64u      /* bytes; Linux sends 16 */

static uint64_t offered_flags(const struct server *srv)
{
	uint64_t f = FUSE_ASYNC_READ | FUSE_PARALLEL_DIROPS | FUSE_BIG_WRITES |
		     FUSE_MAX_PAGES | FUSE_ATOMIC_O_TRUNC |
		     FUSE_AUTO_INVAL_DATA | FUSE_ASYNC_DIO | FUSE_INIT_EXT;

	if (srv->cfg.readdirplus)
		f |= FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO;
	if (srv->cfg.writeback)
		f |= FUSE_WRITEBACK_CACHE;
	/* The guest kernel then leaves setuid/setgid clearing on write,
	 * truncate and chown to us (its own attempt would race ours). */
	if (srv->cfg.killpriv_v2)
		f |= FUSE_HANDLE_KILLPRIV_V2;
	if (srv->cfg.announce_submounts)
		f |= FUSE_SUBMOUNTS;
	if (srv->cfg.posix_lock)
		f |= FUSE_POSIX_LOCKS;
	if (srv->cfg.flock)
		f |= FUSE_FLOCK_LOCKS;
	/* --allow-mmap only matters where opens are FOPEN_DIRECT_IO
	 * (--cache=never|metadata): elsewhere mmap works anyway. */
	if (srv->cfg.allow_mmap && srv->cfg.direct_io)
		f |= FUSE_DIRECT_IO_ALLOW_MMAP;
	/* Creating where only a supplementary group of the caller grants
	 * write access: the guest then tells us that group. */
	if (srv->cfg.create_supp_group)
		f |= FUSE_CREATE_SUPP_GROUP;
	return f;
}

/*
 * --posix-acl, --security-label: add what the guest can and we are asked
 * for.  ACLs need the guest to leave umask to us (DONT_MASK: only the host
 * knows whether the parent has a default ACL) and to say when setting an
 * ACL must clear setgid (SETXATTR_EXT), as virtiofsd requires.
 */
#define SRV_ACL_FLAGS ((uint64_t)(FUSE_POSIX_ACL | FUSE_DONT_MASK | \
				  FUSE_SETXATTR_EXT))

static int negotiate_one(enum server_negotiate mode, uint64_t guest,
			 uint64_t want, const char *what, uint64_t *agreed)
{
	if (mode == SRV_NEGOTIATE_NEVER)
		return 0;
	if ((guest & want) == want) {
		*agreed |= want;
		return 0;
	}
	if (mode == SRV_NEGOTIATE_ALWAYS) {
		log_error("FUSE_INIT refused: %s=always, but the guest's FUSE "
			  "client does not support it", what);
		return -EPROTO;
	}
	log_ratelimited(LOG_LEVEL_INFO, "%s=auto: the guest's FUSE client does "
			"not support it; off for this session", what);
	return 0;
}

static int negotiate_acl_label(const struct server *srv, uint64_t guest,
			       uint64_t *agreed)
{
	int ret = negotiate_one(srv->cfg.posix_acl, guest, SRV_ACL_FLAGS,
				"--posix-acl", agreed);

	if (ret == 0)
		ret = negotiate_one(srv->cfg.security_label, guest,
				    FUSE_SECURITY_CTX, "--security-label",
				    agreed);
	return ret;
}

/* Forget the guest: back to "FUSE_INIT expected".  Caller holds the lock. */
static void srv_teardown_locked(struct server *srv)
{
	if (!(atomic_load(&srv->state) & SRV_STATE_READY))
		return;
	atomic_store(&srv->state, 0);
	/* Parked lock waits belong to the old session: answer them now. */
	srv_lock_cancel_all(srv);
	if (srv->cfg.ops->destroy)
		srv->cfg.ops->destroy(srv->cfg.fs);
}

static int do_init(struct rq *r)
{
	struct server *srv = r->srv;
	struct fuse_init_in in = { 0 };
	struct fuse_init_out out = {
		.major = FUSE_KERNEL_VERSION,
		.minor = FUSE_KERNEL_MINOR_VERSION,
	};
	struct fs_init_info info = { 0 };
	uint64_t guest, agreed;
	long page = sysconf(_SC_PAGESIZE);
	uint32_t pages;
	int ret;

	memcpy(&in, r->arg, r->arg_len < sizeof(in) ? r->arg_len : sizeof(in));

	if (in.major > FUSE_KERNEL_VERSION) {
		/* Newer protocol: answer with ours; the kernel retries with
		 * a 7.x INIT.  Nothing is negotiated yet. */
		return srv_reply(r->req, &out, sizeof(out), NULL, 0);
	}
	if (in.major < FUSE_KERNEL_VERSION || in.minor < SRV_MIN_MINOR) {
		log_ratelimited(LOG_LEVEL_DEBUG,
				"FUSE_INIT: unsupported protocol %u.%u",
				in.major, in.minor);
		return -EPROTO;
	}

	guest = in.flags;
	if ((in.flags & FUSE_INIT_EXT) && r->arg_len >= 20)
		guest |= (uint64_t)in.flags2 << 32;
	agreed = guest & offered_flags(srv);
	ret = negotiate_acl_label(srv, guest, &agreed);
	if (ret < 0)
		return ret;
	/* Before 7.39 the bit means nothing: never echo it. */
	if (in.minor < SRV_ALLOW_MMAP_MINOR)
		agreed &= ~FUSE_DIRECT_IO_ALLOW_MMAP;

	if (page <= 0)
		page = 4096;
	pages = srv->cfg.max_write / (uint32_t)page;
	if (pages == 0)
		pages = 1;
	if (pages > UINT16_MAX)
		pages = UINT16_MAX;

	out.max_readahead = in.max_readahead;
	out.flags = (uint32_t)agreed;
	out.flags2 = (uint32_t)(agreed >> 32);
	/* Let the guest keep many requests in flight: the queues are ours
	 * to pace, not the kernel's background limit. */
	out.max_background = UINT16_MAX;
	out.congestion_threshold = UINT16_MAX / 4 * 3;
	out.max_write = srv->cfg.max_write;
	out.time_gran = 1;
	out.max_pages = (uint16_t)pages;
	out.map_alignment = 0;

	info.proto_minor = in.minor;
	info.writeback_cache = !!(agreed & FUSE_WRITEBACK_CACHE);
	info.killpriv_v2 = !!(agreed & FUSE_HANDLE_KILLPRIV_V2);
	info.posix_acl = !!(agreed & FUSE_POSIX_ACL);

	pthread_mutex_lock(&srv->lock);
	/* A second INIT is a rebooted guest: drop everything it held. */
	srv_teardown_locked(srv);
	ret = srv->cfg.ops->init ? srv->cfg.ops->init(srv->cfg.fs, &info) : 0;
	if (ret >= 0) {
		uint32_t minor = in.minor < FUSE_KERNEL_MINOR_VERSION ?
				 in.minor : FUSE_KERNEL_MINOR_VERSION;

		atomic_store(&srv->state, SRV_STATE_READY |
			     ((agreed & FUSE_SECURITY_CTX) ?
			      SRV_STATE_SECCTX : 0) |
			     ((agreed & FUSE_CREATE_SUPP_GROUP) ?
			      SRV_STATE_SUPP_GROUP : 0) |
			     ((uint64_t)minor << 8) |
			     ((uint64_t)(uint32_t)agreed << 32));
	}
	pthread_mutex_unlock(&srv->lock);
	if (ret < 0)
		return ret;
	if (srv->cfg.on_init)
		srv->cfg.on_init(srv->cfg.on_init_arg);

	ret = srv_reply(r->req, &out, sizeof(out), NULL, 0);
	if (ret < 0)
		return ret;
	log_ratelimited(LOG_LEVEL_DEBUG,
			"FUSE session started: guest protocol 7.%u, flags 0x%llx",
			in.minor, (unsigned long long)agreed);
	return 0;
}

static int do_destroy(struct rq *r)
{
	pthread_mutex_lock(&r->srv->lock);
	srv_teardown_locked(r->srv);
	pthread_mutex_unlock(&r->srv->lock);
	return srv_reply(r->req, NULL, 0, NULL, 0);
}

static int do_interrupt(struct rq *r)
{
	struct fuse_interrupt_in in;

	/* Only a parked SETLKW waits unboundedly (server_lock.c); every other
	 * request completes on its own.  No reply to an INTERRUPT. */
	memcpy(&in, r->arg, sizeof(in));
	srv_lock_interrupt(r->srv, in.unique);
	r->req->done(r->req, 0);
	return 0;
}

/* ---- the request path ------------------------------------------------- */

static bool op_creates(uint32_t opcode)
{
	return opcode == FUSE_CREATE || opcode == FUSE_MKNOD ||
	       opcode == FUSE_MKDIR || opcode == FUSE_SYMLINK ||
	       opcode == FUSE_TMPFILE;
}

/*
 * FUSE_CREATE_SUPP_GROUP: Linux puts the group record last in the
 * extensions (after a security context).  Take it into r->ctx and leave the
 * rest to the security context parser; a group record anywhere else stays
 * where it is and is refused there.  Read from our own copies: the guest
 * can change shared memory under us.
 */
static int take_supp_group(struct server *srv, struct rq *r)
{
	const size_t at = sizeof(struct fuse_in_header) + r->arg_len;
	struct fuse_ext_header e = { 0 };
	uint32_t g[SRV_EXT_GROUPS_MAX / 4];
	size_t pos = 0, last = 0;
	uint32_t host;

	while (pos < r->ext_len) {
		if (r->ext_len - pos < sizeof(e) ||
		    srv_iov_read(r->req->in, r->req->in_cnt, at + pos, &e,
				 sizeof(e)) < 0)
			return -EINVAL;
		if (e.size < sizeof(e) || e.size % 8 || e.size > r->ext_len - pos)
			return -EINVAL;
		last = pos;
		pos += e.size;
	}
	if (e.type != SRV_EXT_GROUPS)
		return 0;
	/* fuse_ext_header, then struct fuse_supp_groups { nr_groups,
	 * groups[] }: exactly one group is what Linux sends. */
	if (e.size > SRV_EXT_GROUPS_MAX || e.size < sizeof(e) + 8 ||
	    srv_iov_read(r->req->in, r->req->in_cnt, at + last, g, e.size) < 0)
		return -EINVAL;
	if (g[2] != 1)
		return -EINVAL;
	r->ext_len -= e.size;
	/* A group --translate-gid forbids grants nothing. */
	if (idmap_to_host(srv->cfg.gid_map, g[3], &host) < 0)
		return 0;
	r->ctx.has_supp_gid = true;
	r->ctx.supp_gid = host;
	return 0;
}

static bool op_refused_readonly(const struct srv_op *op)
{
	return op->flags & OP_MODIFY;
}

/* The answer for a request that cannot be handled: an error for those that
 * expect a reply, nothing for the others. */
static void finish_err(struct server_req *req, const struct srv_op *op,
		       int err)
{
	if (op && (op->flags & OP_NOREPLY)) {
		req->done(req, 0);
		return;
	}
	srv_reply_err(req, err);
}

void server_handle(struct server *srv, struct uring *ring,
		   struct server_req *req)
{
	uint8_t argbuf[SRV_ARG_MAX] __attribute__((aligned(8)));
	const struct srv_op *op = NULL;
	struct rq r = { .srv = srv, .req = req, .ring = ring };
	size_t in_total, ext, copy;
	int ret;

	req->unique = 0;
	req->opcode = 0;

	in_total = srv_iov_length(req->in, req->in_cnt);
	r.out_size = srv_iov_length(req->out, req->out_cnt);
	if (srv_iov_read(req->in, req->in_cnt, 0, &r.in, sizeof(r.in)) < 0) {
		log_ratelimited(LOG_LEVEL_DEBUG, "FUSE request too short (%zu)",
				in_total);
		srv_reply_err(req, -EINVAL);
		return;
	}
	req->unique = r.in.unique;
	req->opcode = r.in.opcode;
	if (r.in.opcode < OP_TABLE_SIZE && op_table[r.in.opcode].fn)
		op = &op_table[r.in.opcode];

	ext = (size_t)r.in.total_extlen * 8;
	if (r.in.len < sizeof(r.in) || r.in.len > in_total ||
	    ext > r.in.len - sizeof(r.in)) {
		log_ratelimited(LOG_LEVEL_DEBUG,
				"FUSE request %u: bad length %u (have %zu)",
				r.in.opcode, r.in.len, in_total);
		finish_err(req, op, -EINVAL);
		return;
	}
	r.in_size = r.in.len;
	/* Request extensions (security context, groups) follow the
	 * arguments and are parsed on their own (take_supp_group(),
	 * server_secctx.c), only where negotiated: leave them out of the
	 * argument area. */
	r.arg_len = r.in.len - sizeof(r.in) - ext;
	r.ext_len = ext;

	if (!op) {
		finish_err(req, NULL, -ENOSYS);
		return;
	}

	r.state = atomic_load(&srv->state);
	if (!(r.state & SRV_STATE_READY) && r.in.opcode != FUSE_INIT) {
		finish_err(req, op, -EIO);
		return;
	}
	if (r.arg_len < op->in_min) {
		finish_err(req, op, -EINVAL);
		return;
	}
	if (srv->cfg.readonly && op_refused_readonly(op)) {
		finish_err(req, op, -EROFS);
		return;
	}
	/* Fixed-size replies must fit before anything changes state: an entry
	 * the guest never hears of would leak a lookup count. */
	if (!(op->flags & OP_NOREPLY) &&
	    r.out_size < sizeof(struct fuse_out_header) + op->out_min) {
		finish_err(req, op, -ERANGE);
		return;
	}

	copy = (op->flags & OP_RAW) ? op->in_min : r.arg_len;
	if (copy > sizeof(argbuf)) {
		finish_err(req, op, -EINVAL);
		return;
	}
	/* The guest can change shared memory under us: decode only from our
	 * own copy. */
	ret = srv_iov_read(req->in, req->in_cnt, sizeof(r.in), argbuf, copy);
	if (ret < 0) {
		finish_err(req, op, -EINVAL);
		return;
	}
	r.arg = argbuf;
	/* The one place guest caller ids become host ids. */
	if (idmap_to_host(srv->cfg.uid_map, r.in.uid, &r.ctx.uid) < 0)
		r.ctx.uid = (uid_t)-1;
	if (idmap_to_host(srv->cfg.gid_map, r.in.gid, &r.ctx.gid) < 0)
		r.ctx.gid = (gid_t)-1;
	r.ctx.pid = (pid_t)r.in.pid;
	if (r.ext_len && (r.state & SRV_STATE_SUPP_GROUP) &&
	    op_creates(r.in.opcode)) {
		ret = take_supp_group(srv, &r);
		if (ret < 0) {
			log_ratelimited(LOG_LEVEL_DEBUG,
					"FUSE request %u: bad group extension",
					r.in.opcode);
			finish_err(req, op, ret);
			return;
		}
	}

	ret = op->fn(&r);
	if (ret < 0)
		finish_err(req, op, ret);
}

void server_reset(struct server *srv)
{
	pthread_mutex_lock(&srv->lock);
	srv_teardown_locked(srv);
	pthread_mutex_unlock(&srv->lock);
}

/* ---- lifetime --------------------------------------------------------- */

static void split_timeout(double t, uint64_t *sec, uint32_t *nsec)
{
	/* NaN and negative values mean "do not cache". */
	if (!(t > 0)) {
		*sec = 0;
		*nsec = 0;
		return;
	}
	if (t > 1e12)
		t = 1e12;
	*sec = (uint64_t)t;
	*nsec = (uint32_t)((t - (double)*sec) * 1e9);
	if (*nsec >= 1000000000u)
		*nsec = 999999999u;
}

int server_new(struct server **out, const struct server_config *cfg)
{
	struct server *srv;

	if (!cfg || !cfg->ops)
		return -EINVAL;
	if (cfg->max_write != 0 &&
	    (cfg->max_write < MIN_MAX_WRITE || cfg->max_write > MAX_MAX_WRITE))
		return -EINVAL;

	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->cfg = *cfg;
	if (srv->cfg.max_write == 0)
		srv->cfg.max_write = DEFAULT_MAX_WRITE;
	split_timeout(cfg->entry_timeout, &srv->entry_sec, &srv->entry_nsec);
	split_timeout(cfg->attr_timeout, &srv->attr_sec, &srv->attr_nsec);
	pthread_mutex_init(&srv->lock, NULL);
	atomic_init(&srv->state, 0);
	if (srv_lock_init(srv) < 0) {
		pthread_mutex_destroy(&srv->lock);
		free(srv);
		return -ENOMEM;
	}
	*out = srv;
	return 0;
}

void server_free(struct server *srv)
{
	if (!srv)
		return;
	srv_lock_fini(srv);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}
