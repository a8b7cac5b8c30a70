// SPDX-License-Identifier: GPL-2.0-or-later
#include "handoff.h"

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

int handoff_init(struct handoff *h)
{
	h->head = NULL;
	h->fd = eventfd(0, EFD_CLOEXEC);
	if (h->fd < 0)
		return -errno;
	pthread_mutex_init(&h->lock, NULL);
	return 0;
}

void handoff_fini(struct handoff *h)
{
	if (h->fd < 0)
		return;
	close(h->fd);
	h->fd = -1;
	pthread_mutex_destroy(&h->lock);
}

int handoff_push(struct handoff *h, struct handoff_node *n, size_t len)
{
	uint64_t one = 1;
	int r = 0;

	pthread_mutex_lock(&h->lock);
	n->len = len;
	n->next = h->head;
	h->head = n;
	if (write(h->fd, &one, sizeof(one)) != sizeof(one))
		r = -errno;
	pthread_mutex_unlock(&h->lock);
	return r;
}

struct handoff_node *handoff_take(struct handoff *h)
{
	struct handoff_node *n;

	pthread_mutex_lock(&h->lock);
	n = h->head;
	h->head = NULL;
	pthread_mutex_unlock(&h->lock);
	return n;
}
