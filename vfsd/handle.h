/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The open-file table: the fh values the guest holds.
 *
 * An fh is a counter key into this table, never an fd number, so a guest
 * cannot name a daemon fd.  Each handle records the node it was opened on;
 * a request naming an fh with another node id gets nothing.  Handles are
 * reference counted like nodes (see inode.h): release unhashes at once, the
 * fd is closed when the last operation using it drops its reference, so an
 * I/O in flight never sees its fd closed or reused.
 *
 * Thread-safe: one mutex guards the table; close() runs outside it.
 */
#ifndef VFSD_HANDLE_H
#define VFSD_HANDLE_H

#include <pthread.h>
#include <stdint.h>

struct handle_table;

struct handle {
	uint64_t fh;            /* immutable */
	uint64_t nodeid;        /* immutable */
	int fd;                 /* immutable while referenced */
	/* Serializes users that move the file position (readdir). */
	pthread_mutex_t lock;

	/* Private to handle.c, under the table lock. */
	unsigned int refs;
	struct handle *next;
};

/* max_handles: past it handle_add() fails with -EMFILE. */
int handle_table_new(struct handle_table **out, uint64_t max_handles);
void handle_table_free(struct handle_table *t);      /* closes all; NULL ok */

/* Takes fd on success and stores the new key in *fh.  On error (-ENOMEM,
 * -EMFILE) the caller still owns fd. */
int handle_add(struct handle_table *t, uint64_t nodeid, int fd, uint64_t *fh);

/* The handle with a reference, or NULL when fh is unknown or was opened on
 * another node. */
struct handle *handle_get(struct handle_table *t, uint64_t fh, uint64_t nodeid);
void handle_put(struct handle_table *t, struct handle *h);

/* Release: -EBADF when fh is unknown or belongs to another node. */
int handle_remove(struct handle_table *t, uint64_t fh, uint64_t nodeid);

/* Release every handle. */
void handle_table_clear(struct handle_table *t);
uint64_t handle_table_count(struct handle_table *t);

#endif
