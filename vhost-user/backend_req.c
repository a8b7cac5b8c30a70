// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Back-end request channel: IOTLB miss messages.
 */
#include "vhost-user/backend_req.h"

#include <errno.h>
#include <unistd.h>

#include "vhost-user/msg.h"

void vu_backend_init(struct vu_backend *b)
{
	pthread_mutex_init(&b->lock, NULL);
	b->fd = -1;
}

void vu_backend_destroy(struct vu_backend *b)
{
	vu_backend_set_fd(b, -1);
	pthread_mutex_destroy(&b->lock);
}

void vu_backend_set_fd(struct vu_backend *b, int fd)
{
	pthread_mutex_lock(&b->lock);
	if (b->fd >= 0)
		close(b->fd);
	b->fd = fd;
	pthread_mutex_unlock(&b->lock);
}

bool vu_backend_ready(struct vu_backend *b)
{
	bool ready;

	pthread_mutex_lock(&b->lock);
	ready = b->fd >= 0;
	pthread_mutex_unlock(&b->lock);
	return ready;
}

int vu_backend_iotlb_miss(struct vu_backend *b, uint64_t iova, uint8_t perm)
{
	struct vu_msg_iotlb m = {
		.iova = iova,
		.perm = perm,
		.type = VU_IOTLB_MISS,
	};
	struct vu_msg_hdr hdr = {
		.request = VU_BACKEND_IOTLB_MSG,
		.flags = VU_FLAG_VERSION,
		.size = sizeof(m),
	};
	int r = -ENOTCONN;

	pthread_mutex_lock(&b->lock);
	if (b->fd >= 0)
		r = vu_msg_send(b->fd, &hdr, &m, NULL, 0);
	pthread_mutex_unlock(&b->lock);
	return r;
}
