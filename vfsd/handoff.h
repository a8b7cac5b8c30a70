/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Replies finished on a thread that does not own the request (a blocking
 * lock wait in the engine), handed back to the worker thread that does.
 * Both transports need it: only the owning worker touches its ring, its
 * slots and (vhost-user) its used ring.
 *
 * The owner waits on `fd` (an eventfd, read through its io_uring ring) and
 * then takes the whole list.  A push writes the eventfd under the lock:
 * once the owner can see the node it may finish, stop and close the fd.
 */
#ifndef VFSD_HANDOFF_H
#define VFSD_HANDOFF_H

#include <pthread.h>
#include <stddef.h>

/* Embedded in a transport's request slot. */
struct handoff_node {
	struct handoff_node *next;
	size_t len;                 /* the reply length done() was given */
};

struct handoff {
	pthread_mutex_t lock;
	struct handoff_node *head;
	int fd;                     /* eventfd; -1 when not set up */
};

/* The slot a node is embedded in. */
#define handoff_entry(node, type, member) \
	((type *)((char *)(node) - offsetof(type, member)))

/* 0 or -errno (the eventfd). */
int handoff_init(struct handoff *h);
void handoff_fini(struct handoff *h);
/* Any thread: queue n with len and wake the owner.  0 or -errno (the
 * wake-up could not be written; the node is queued all the same). */
int handoff_push(struct handoff *h, struct handoff_node *n, size_t len);
/* The owner: every node pushed so far (newest first), NULL if none. */
struct handoff_node *handoff_take(struct handoff *h);

#endif
