/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Open-file table: a chained hash table keyed by fh, grown by doubling.
 * See handle.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "handle.h"

#define HANDLE_MIN_BUCKETS 64u

struct handle_table {
	pthread_mutex_t lock;
	struct handle **buckets;
	size_t nbuckets;        /* power of two */
	uint64_t count;
	uint64_t max_handles;
	uint64_t next_fh;
};

static size_t hash_fh(const struct handle_table *t, uint64_t fh)
{
	fh ^= fh >> 33;
	fh *= 0xff51afd7ed558ccdULL;
	fh ^= fh >> 33;
	return fh & (t->nbuckets - 1);
}

int handle_table_new(struct handle_table **out, uint64_t max_handles)
{
	struct handle_table *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->nbuckets = HANDLE_MIN_BUCKETS;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return -ENOMEM;
	}
	pthread_mutex_init(&t->lock, NULL);
	t->max_handles = max_handles;
	t->next_fh = 1;
	*out = t;
	return 0;
}

static void destroy_handle(struct handle *h)
{
	if (!h)
		return;
	close(h->fd);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void handle_table_free(struct handle_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct handle *h = t->buckets[i], *next;

		for (; h; h = next) {
			next = h->next;
			destroy_handle(h);
		}
	}
	free(t->buckets);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static void link_handle(struct handle_table *t, struct handle *h)
{
	size_t i = hash_fh(t, h->fh);

	h->next = t->buckets[i];
	t->buckets[i] = h;
}

static void maybe_grow(struct handle_table *t)
{
	size_t old = t->nbuckets;
	struct handle **nb, **ob = t->buckets;

	if (t->count < old)
		return;
	nb = calloc(old * 2, sizeof(*nb));
	if (!nb)
		return;         /* only slower */
	t->buckets = nb;
	t->nbuckets = old * 2;
	for (size_t i = 0; i < old; i++) {
		struct handle *h = ob[i], *next;

		for (; h; h = next) {
			next = h->next;
			link_handle(t, h);
		}
	}
	free(ob);
}

int handle_add(struct handle_table *t, uint64_t nodeid, int fd, uint64_t *fh)
{
	struct handle *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	h->nodeid = nodeid;
	h->fd = fd;
	h->refs = 1;

	pthread_mutex_lock(&t->lock);
	if (t->count >= t->max_handles) {
		pthread_mutex_unlock(&t->lock);
		pthread_mutex_destroy(&h->lock);
		free(h);
		return -EMFILE;
	}
	h->fh = t->next_fh++;
	t->count++;
	maybe_grow(t);
	link_handle(t, h);
	*fh = h->fh;
	pthread_mutex_unlock(&t->lock);
	return 0;
}

static struct handle *find(struct handle_table *t, uint64_t fh)
{
	struct handle *h = t->buckets[hash_fh(t, fh)];

	while (h && h->fh != fh)
		h = h->next;
	return h;
}

struct handle *handle_get(struct handle_table *t, uint64_t fh, uint64_t nodeid)
{
	struct handle *h;

	pthread_mutex_lock(&t->lock);
	h = find(t, fh);
	if (h && h->nodeid == nodeid)
		h->refs++;
	else
		h = NULL;
	pthread_mutex_unlock(&t->lock);
	return h;
}

void handle_put(struct handle_table *t, struct handle *h)
{
	bool dead;

	if (!h)
		return;
	pthread_mutex_lock(&t->lock);
	dead = --h->refs == 0;
	pthread_mutex_unlock(&t->lock);
	if (dead)
		destroy_handle(h);
}

static void unlink_handle(struct handle_table *t, struct handle *h)
{
	struct handle **pp = &t->buckets[hash_fh(t, h->fh)];

	while (*pp != h)
		pp = &(*pp)->next;
	*pp = h->next;
	h->next = NULL;
	t->count--;
}

int handle_remove(struct handle_table *t, uint64_t fh, uint64_t nodeid)
{
	struct handle *h;
	bool dead;

	pthread_mutex_lock(&t->lock);
	h = find(t, fh);
	if (!h || h->nodeid != nodeid) {
		pthread_mutex_unlock(&t->lock);
		return -EBADF;
	}
	unlink_handle(t, h);
	dead = --h->refs == 0;
	pthread_mutex_unlock(&t->lock);
	if (dead)
		destroy_handle(h);
	return 0;
}

void handle_table_clear(struct handle_table *t)
{
	struct handle *dead = NULL;

	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct handle *h = t->buckets[i], *next;

		for (; h; h = next) {
			next = h->next;
			unlink_handle(t, h);
			if (--h->refs == 0) {
				h->next = dead;
				dead = h;
			}
		}
	}
	pthread_mutex_unlock(&t->lock);
	while (dead) {
		struct handle *next = dead->next;

		destroy_handle(dead);
		dead = next;
	}
}

uint64_t handle_table_count(struct handle_table *t)
{
	uint64_t c;

	pthread_mutex_lock(&t->lock);
	c = t->count;
	pthread_mutex_unlock(&t->lock);
	return c;
}
