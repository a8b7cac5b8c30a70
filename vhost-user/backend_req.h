/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The back-end request channel (VHOST_USER_PROTOCOL_F_BACKEND_REQ, called
 * SLAVE_REQ in older documents): a socket the front-end hands us with
 * SET_BACKEND_REQ_FD, on which the back-end sends requests of its own.  vfsd
 * sends only IOTLB misses, and without need_reply, so nothing is ever read
 * back and no thread ever waits for the front-end here.
 *
 * Queue workers and the control thread both send: a mutex keeps messages
 * whole and the fd stable while in use.
 */
#ifndef VU_BACKEND_REQ_H
#define VU_BACKEND_REQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Back-end → front-end request numbers. */
#define VU_BACKEND_IOTLB_MSG 1

struct vu_backend {
	pthread_mutex_t lock;
	int fd;                 /* -1 until SET_BACKEND_REQ_FD */
};

void vu_backend_init(struct vu_backend *b);
/* Close the channel and destroy the lock. */
void vu_backend_destroy(struct vu_backend *b);

/* Use fd (now owned) as the channel, closing a previous one. */
void vu_backend_set_fd(struct vu_backend *b, int fd);
bool vu_backend_ready(struct vu_backend *b);

/*
 * Ask the front-end for the translation of iova with access perm
 * (VU_ACCESS_*): a VHOST_IOTLB_MISS.  The answer, if the guest has a
 * mapping, comes later as VHOST_IOTLB_UPDATE on the main channel.
 * Returns 0, -ENOTCONN without a channel, or the send error.
 */
int vu_backend_iotlb_miss(struct vu_backend *b, uint64_t iova, uint8_t perm);

#endif
