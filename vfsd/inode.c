/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Node id table: two chained hash tables over the same nodes, one by id and
 * one by (dev, ino, mnt_id), grown by doubling.  See inode.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"
#include "inode.h"

#define INODE_MIN_BUCKETS 64u

struct inode_table {
	pthread_mutex_t lock;
	struct inode **by_id;
	struct inode **by_key;
	size_t nbuckets;        /* power of two, both arrays */
	uint64_t count;         /* hashed nodes, the root included */
	uint64_t max_nodes;     /* besides the root */
	uint64_t next_id;
	struct inode *root;
	inode_open_fn open;     /* for nodes kept by handle */
	void *open_arg;
};

static uint64_t mix64(uint64_t x)
{
	/* splitmix64 finalizer: ids are sequential, keys are clustered. */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static size_t hash_id(const struct inode_table *t, uint64_t id)
{
	return mix64(id) & (t->nbuckets - 1);
}

static size_t hash_key(const struct inode_table *t, const struct inode_key *k)
{
	uint64_t h = mix64(k->ino) ^ mix64(k->dev + 0x9e3779b97f4a7c15ULL) ^
		     mix64(k->mnt_id * 31 + 7);

	return mix64(h) & (t->nbuckets - 1);
}

static bool key_eq(const struct inode_key *a, const struct inode_key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->mnt_id == b->mnt_id;
}

int inode_table_new(struct inode_table **out, uint64_t max_nodes)
{
	struct inode_table *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->nbuckets = INODE_MIN_BUCKETS;
	t->by_id = calloc(t->nbuckets, sizeof(*t->by_id));
	t->by_key = calloc(t->nbuckets, sizeof(*t->by_key));
	if (!t->by_id || !t->by_key) {
		free(t->by_id);
		free(t->by_key);
		free(t);
		return -ENOMEM;
	}
	pthread_mutex_init(&t->lock, NULL);
	t->max_nodes = max_nodes;
	t->next_id = FS_ROOT_ID + 1;
	*out = t;
	return 0;
}

static void link_node(struct inode_table *t, struct inode *n)
{
	size_t i = hash_id(t, n->id), k = hash_key(t, &n->key);

	n->id_next = t->by_id[i];
	t->by_id[i] = n;
	n->key_next = t->by_key[k];
	t->by_key[k] = n;
}

/* Doubling keeps chains short; failure to grow only costs speed. */
static void maybe_grow(struct inode_table *t)
{
	size_t old = t->nbuckets, n = old * 2;
	struct inode **by_id, **by_key;

	if (t->count < old)
		return;
	by_id = calloc(n, sizeof(*by_id));
	by_key = calloc(n, sizeof(*by_key));
	if (!by_id || !by_key) {
		free(by_id);
		free(by_key);
		return;
	}
	struct inode **old_id = t->by_id;

	free(t->by_key);
	t->by_id = by_id;
	t->by_key = by_key;
	t->nbuckets = n;
	for (size_t i = 0; i < old; i++) {
		struct inode *node = old_id[i], *next;

		for (; node; node = next) {
			next = node->id_next;
			link_node(t, node);
		}
	}
	free(old_id);
}

static struct inode *find_id(struct inode_table *t, uint64_t id)
{
	struct inode *n = t->by_id[hash_id(t, id)];

	while (n && n->id != id)
		n = n->id_next;
	return n;
}

static bool same_handle(const struct file_handle *a,
			const struct file_handle *b)
{
	return a->handle_type == b->handle_type &&
	       a->handle_bytes == b->handle_bytes &&
	       memcmp(a->f_handle, b->f_handle, a->handle_bytes) == 0;
}

static struct inode *find_key(struct inode_table *t, const struct inode_key *k)
{
	struct inode *n = t->by_key[hash_key(t, k)];

	while (n && !key_eq(&n->key, k))
		n = n->key_next;
	return n;
}

/* Remove from both chains; the table's reference is the caller's to drop. */
static void unlink_node(struct inode_table *t, struct inode *n)
{
	struct inode **pp;

	for (pp = &t->by_id[hash_id(t, n->id)]; *pp != n; pp = &(*pp)->id_next)
		;
	*pp = n->id_next;
	for (pp = &t->by_key[hash_key(t, &n->key)]; *pp != n;
	     pp = &(*pp)->key_next)
		;
	*pp = n->key_next;
	n->id_next = n->key_next = NULL;
	t->count--;
}

/* Drop one reference under the lock; returns the node when it must be
 * destroyed (after unlocking). */
static struct inode *unref_locked(struct inode *n)
{
	return --n->refs == 0 ? n : NULL;
}

static void destroy_node(struct inode *n)
{
	if (!n)
		return;
	if (n->fd >= 0)
		close(n->fd);
	free(n->handle);
	free(n);
}

/* A node kept by handle whose last operation just ended gives its fd back
 * (the table's own reference never needs one).  Under the lock; returns the
 * fd to close after unlocking, or -1. */
static int idle_fd_locked(struct inode *n)
{
	int fd = -1;

	if (n->handle && n->refs == 1 && n->nlookup > 0 && n->fd >= 0) {
		fd = n->fd;
		n->fd = -1;
	}
	return fd;
}

void inode_table_set_opener(struct inode_table *t, inode_open_fn open,
			    void *arg)
{
	pthread_mutex_lock(&t->lock);
	t->open = open;
	t->open_arg = arg;
	pthread_mutex_unlock(&t->lock);
}

void inode_table_free(struct inode_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct inode *n = t->by_id[i], *next;

		for (; n; n = next) {
			next = n->id_next;
			destroy_node(n);
		}
	}
	free(t->by_id);
	free(t->by_key);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

int inode_table_set_root(struct inode_table *t, int fd,
			 const struct inode_key *key, mode_t type)
{
	struct inode *n;

	pthread_mutex_lock(&t->lock);
	if (t->root) {
		pthread_mutex_unlock(&t->lock);
		return -EEXIST;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		pthread_mutex_unlock(&t->lock);
		return -ENOMEM;
	}
	n->id = FS_ROOT_ID;
	n->key = *key;
	n->fd = fd;
	n->type = type & S_IFMT;
	n->nlookup = 1;
	n->refs = 1;
	link_node(t, n);
	t->count++;
	t->root = n;
	pthread_mutex_unlock(&t->lock);
	return 0;
}

int inode_lookup_or_add(struct inode_table *t, const struct inode_key *key,
			mode_t type, int fd, struct inode **out)
{
	return inode_lookup_or_add_handle(t, key, type, fd, NULL, out);
}

int inode_lookup_or_add_handle(struct inode_table *t,
			       const struct inode_key *key, mode_t type, int fd,
			       const struct file_handle *handle,
			       struct inode **out)
{
	struct inode *n, *fresh;

	/* Allocate outside the lock; most lookups of a new file need it. */
	fresh = calloc(1, sizeof(*fresh));
	if (!fresh)
		return -ENOMEM;
	if (handle) {
		size_t len = sizeof(*handle) + handle->handle_bytes;

		fresh->handle = malloc(len);
		if (!fresh->handle) {
			free(fresh);
			return -ENOMEM;
		}
		memcpy(fresh->handle, handle, len);
	}

	pthread_mutex_lock(&t->lock);
	n = find_key(t, key);
	if (n && handle && n->handle && !same_handle(n->handle, handle)) {
		/* The inode number was reused by a new file while the guest
		 * still holds the old node: never let the new file's fd stand
		 * in for the old node.  The name is stale until the guest
		 * forgets the old node. */
		pthread_mutex_unlock(&t->lock);
		free(fresh->handle);
		free(fresh);
		return -ESTALE;	/* like every error: the caller keeps fd */
	}
	if (n) {
		/* The root's count is not tracked: it is never forgotten. */
		if (n != t->root && n->nlookup < UINT64_MAX)
			n->nlookup++;
		n->refs++;
		/* An idle node kept by handle takes ours: the caller's
		 * reference may use the fd. */
		if (n->fd < 0) {
			n->fd = fd;
			fd = -1;
		}
		pthread_mutex_unlock(&t->lock);
		free(fresh->handle);
		free(fresh);
		if (fd >= 0)
			close(fd);
		*out = n;
		return 0;
	}
	if (t->count - (t->root ? 1 : 0) >= t->max_nodes) {
		pthread_mutex_unlock(&t->lock);
		free(fresh->handle);
		free(fresh);
		return -ENFILE;
	}
	fresh->id = t->next_id++;
	fresh->key = *key;
	fresh->fd = fd;
	fresh->type = type & S_IFMT;
	fresh->nlookup = 1;
	fresh->refs = 2;        /* the table's and the caller's */
	t->count++;
	maybe_grow(t);
	link_node(t, fresh);
	pthread_mutex_unlock(&t->lock);
	*out = fresh;
	return 0;
}

int inode_acquire(struct inode_table *t, uint64_t id, struct inode **out)
{
	struct inode *n;
	int fd;

	pthread_mutex_lock(&t->lock);
	n = find_id(t, id);
	if (!n) {
		pthread_mutex_unlock(&t->lock);
		return -EBADF;
	}
	n->refs++;
	if (n->fd >= 0 || !n->handle) {
		pthread_mutex_unlock(&t->lock);
		*out = n;
		return 0;
	}
	pthread_mutex_unlock(&t->lock);

	/* The syscall runs outside the lock; two operations opening the same
	 * node at once keep the first fd installed. */
	fd = t->open ? t->open(t->open_arg, n->handle) : -EBADF;
	if (fd < 0) {
		inode_put(t, n);
		return fd;
	}
	pthread_mutex_lock(&t->lock);
	if (n->fd < 0) {
		n->fd = fd;
		fd = -1;
	}
	pthread_mutex_unlock(&t->lock);
	if (fd >= 0)
		close(fd);
	*out = n;
	return 0;
}

struct inode *inode_get(struct inode_table *t, uint64_t id)
{
	struct inode *n;

	return inode_acquire(t, id, &n) == 0 ? n : NULL;
}

void inode_put(struct inode_table *t, struct inode *node)
{
	struct inode *dead;
	int idle;

	if (!node)
		return;
	pthread_mutex_lock(&t->lock);
	dead = unref_locked(node);
	idle = dead ? -1 : idle_fd_locked(node);
	pthread_mutex_unlock(&t->lock);
	destroy_node(dead);
	if (idle >= 0)
		close(idle);
}

void inode_forget(struct inode_table *t, uint64_t id, uint64_t n)
{
	struct inode *node, *dead = NULL;

	if (id == FS_ROOT_ID)
		return;
	pthread_mutex_lock(&t->lock);
	node = find_id(t, id);
	if (node) {
		node->nlookup -= n < node->nlookup ? n : node->nlookup;
		if (node->nlookup == 0) {
			unlink_node(t, node);
			dead = unref_locked(node);
		}
	}
	pthread_mutex_unlock(&t->lock);
	destroy_node(dead);
}

void inode_table_clear(struct inode_table *t)
{
	struct inode *dead = NULL;

	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct inode *n = t->by_id[i], *next;

		for (; n; n = next) {
			next = n->id_next;
			if (n == t->root)
				continue;
			n->nlookup = 0;
			unlink_node(t, n);
			/* Nodes still in use by an operation die at its put;
			 * the others are chained for closing outside the lock. */
			if (unref_locked(n)) {
				n->id_next = dead;
				dead = n;
			}
		}
	}
	pthread_mutex_unlock(&t->lock);
	while (dead) {
		struct inode *next = dead->id_next;

		destroy_node(dead);
		dead = next;
	}
}

uint64_t inode_table_count(struct inode_table *t)
{
	uint64_t c;

	pthread_mutex_lock(&t->lock);
	c = t->count;
	pthread_mutex_unlock(&t->lock);
	return c;
}

uint64_t inode_table_open_fds(struct inode_table *t)
{
	uint64_t c = 0;

	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->nbuckets; i++)
		for (struct inode *n = t->by_id[i]; n; n = n->id_next)
			c += n->fd >= 0;
	pthread_mutex_unlock(&t->lock);
	return c;
}

uint64_t inode_table_nlookup(struct inode_table *t, uint64_t id)
{
	struct inode *n;
	uint64_t c = 0;

	pthread_mutex_lock(&t->lock);
	n = find_id(t, id);
	if (n)
		c = n->nlookup;
	pthread_mutex_unlock(&t->lock);
	return c;
}
