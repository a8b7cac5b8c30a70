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
	bool killpriv_v2;          /* offer FUSE_HANDLE_KILLPRIV_V2 */
	/* Offer FUSE_SUBMOUNTS; once agreed, entries the filesystem marks
	 * submount get FUSE_ATTR_SUBMOUNT (--announce-submounts). */
	bool announce_submounts;
	/* --xattrmap (xattrmap.h), NULL: names pass unchanged.  Applied here,
	 * so every filesystem and transport gets it; owned by the caller. */
	const struct xattrmap *xattrmap;
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
	 * so broken that no header could be written). */
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

/* The guest is gone (disconnect, device reset): forget all its state as if
 * it had sent DESTROY.  The next request must be FUSE_INIT. */
void server_reset(struct server *srv);

#endif
