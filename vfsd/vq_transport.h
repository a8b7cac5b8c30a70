/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The glue between a vhost-user device and the FUSE engine: one worker
 * thread per started virtqueue pops descriptor chains, hands them to the
 * engine as requests, and pushes the replies back.  vhost-user/ and server
 * know nothing of each other; this file is the only place that knows both.
 */
#ifndef VFSD_VQ_TRANSPORT_H
#define VFSD_VQ_TRANSPORT_H

#include "server.h"

struct vq_transport;

/* Serve one connected front-end until it disconnects or stop_fd becomes
 * readable.  Returns 0 when the front-end went away (normal: a VM shut
 * down), 1 when stop_fd fired, or -errno on a protocol error that ended the
 * connection (already logged).  stop_fd is polled, never read: it stays
 * readable for the caller.  Every guest resource is released before it
 * returns; the engine is reset.  peer_pid: the front-end's pid as the
 * host sees it (supervisor_peer_pid()), for the status and the log. */
int vq_transport_serve(struct server *srv, int conn_fd, int stop_fd,
		       unsigned int request_queues, int peer_pid);

/* --thread-pool-size: helper threads per request queue that share its
 * synchronous requests with the queue's worker (0: the worker alone).
 * Call before vq_transport_serve. */
void vq_transport_set_helpers(unsigned int n);

/* For server_config.on_init (arg unused): tells the service manager and the
 * log that the guest started a FUSE session on the current connection, and
 * whether it is a guest reset (a second session on one connection). */
void vq_transport_on_init(void *arg);

#endif
