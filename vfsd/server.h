/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The FUSE engine: takes one FUSE request as scatter-gather buffers (the
 * transport's business where they live: guest memory or a /dev/fuse read
 * buffer), validates it, calls the filesystem (fs.h) and writes the reply.
 *
 * It knows nothing of virtqueues or /dev/fuse.  It is the one validation
 * boundary for FUSE payloads: every header and argument struct is copied out
 * of the request buffers before it is looked at, because the guest can
 * change shared memory under us.
 */
#ifndef VFSD_SERVER_H
#define VFSD_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "fs.h"
#include "uring.h"

struct server;
struct xattrmap;
struct idmap;

/* --posix-acl, --security-label: whether to agree to the feature. */
enum server_negotiate {
	SRV_NEGOTIATE_NEVER,
	SRV_NEGOTIATE_AUTO,    /* when the guest can */
	SRV_NEGOTIATE_ALWAYS,  /* FUSE_INIT fails when the guest cannot */
};

struct server_config {
	const struct fs_ops *ops;
	void *fs;                  /* passed to every op */
	uint32_t max_write;        /* bytes; also max_read; default 1 MiB */
	double entry_timeout;      /* seconds, for LOOKUP & co replies */
	double attr_timeout;       /* seconds, for attribute replies */
	bool writeback;            /* offer FUSE_WRITEBACK_CACHE */
	bool readdirplus;          /* offer FUSE_DO_READDIRPLUS */
	bool readonly;             /* refuse every modifying opcode: -EROFS */
	bool direct_io;            /* FOPEN_DIRECT_IO on every open (cache=never) */
	bool keep_cache;           /* FOPEN_KEEP_CACHE on open (cache=always) */
	/* FOPEN_CACHE_DIR on OPENDIR: the guest may keep listings
	 * (cache=metadata|always, as virtiofsd). */
	bool cache_dir;
	/* Offer FUSE_DIRECT_IO_ALLOW_MMAP (7.39) when direct_io is set:
	 * --allow-mmap. */
	bool allow_mmap;
	/* Offer FUSE_CREATE_SUPP_GROUP: the filesystem honours
	 * fs_ctx.supp_gid on creating requests. */
	bool create_supp_group;
	bool killpriv_v2;          /* offer FUSE_HANDLE_KILLPRIV_V2 */
	/* Offer FUSE_POSIX_LOCKS / FUSE_FLOCK_LOCKS (--posix-lock, --flock);
	 * otherwise the guest kernel keeps such locks to itself and the lock
	 * opcodes answer -ENOSYS. */
	bool posix_lock;
	bool flock;
	/* Blocking lock requests (SETLKW) parked at once, each on a thread
	 * of its own; past it they get -ENOLCK.  0: a default (32).  A
	 * transport keeps it below its request slots, so that parked waits
	 * never take every slot. */
	unsigned int max_lock_waiters;
	/* Offer FUSE_SUBMOUNTS; once agreed, entries the filesystem marks
	 * submount get FUSE_ATTR_SUBMOUNT (--announce-submounts). */
	bool announce_submounts;
	/* --xattrmap (xattrmap.h), NULL: names pass unchanged.  Applied here,
	 * so every filesystem and transport gets it; owned by the caller. */
	const struct xattrmap *xattrmap;
	/* --translate-uid/--translate-gid (idmap.h), NULL: identity.  Applied
	 * here: to the caller's ids and SETATTR's on the way in, to every
	 * attribute replied on the way out.  Owned by the caller. */
	const struct idmap *uid_map, *gid_map;
	/* FUSE_POSIX_ACL (with FUSE_DONT_MASK and FUSE_SETXATTR_EXT, as
	 * virtiofsd), FUSE_SECURITY_CTX. */
	enum server_negotiate posix_acl;
	enum server_negotiate security_label;
	/* Optional: called after each successful FUSE_INIT (on the thread that
	 * handled it, before the reply is sent), so that the transport can
	 * tell a new guest session (e.g. a rebooted guest) apart. */
	void (*on_init)(void *arg);
	void *on_init_arg;
};

/*
 * One request from a transport.  The transport owns this memory until done()
 * is called; it must stay valid across asynchronous completion.
 */
struct server_req {
	const struct iovec *in;    /* request bytes: in-header + arguments */
	unsigned int in_cnt;
	const struct iovec *out;   /* reply space: out-header + payload */
	unsigned int out_cnt;
	/* Called exactly once per server_handle call: len is the number of
	 * reply bytes written into out (0: no reply, e.g. FORGET, or a request
	 * so broken that no header could be written).  Usually on the thread
	 * that called server_handle or runs its ring, but a blocking lock
	 * request (SETLKW) completes on a thread of the engine's: the
	 * transport must accept done() from any thread. */
	void (*done)(struct server_req *req, size_t len);

	/* Scratch iovec array the engine may use while the request lives
	 * (READ/WRITE data slices): at least in_cnt + out_cnt entries. */
	struct iovec *scratch;
	unsigned int scratch_cnt;

	/* Engine-private state for asynchronous completion; transports leave
	 * it alone. */
	struct uring_op io;
	uint64_t unique;
	uint32_t opcode;
};

int server_new(struct server **out, const struct server_config *cfg);
void server_free(struct server *srv);

/* Handle one request.  ring: the calling thread's ring for async I/O.
 * Thread-safe: one call per request, concurrently from several threads. */
void server_handle(struct server *srv, struct uring *ring,
		   struct server_req *req);

/* Make req complete soon if the engine parked it (a blocking lock wait):
 * it is answered -EINTR through done(), from another thread, unless the
 * lock was granted meanwhile.  A no-op for any other request.  A transport
 * calls it for every request it still has in flight before it stops (guest
 * memory must stay mapped until done() was called). */
void server_cancel(struct server *srv, struct server_req *req);

/* The guest is gone (disconnect, device reset): forget all its state as if
 * it had sent DESTROY.  The next request must be FUSE_INIT. */
void server_reset(struct server *srv);

#endif
