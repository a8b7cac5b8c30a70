/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The node id table: FUSE node ids of the passthrough filesystem.
 *
 * A node is one host inode, identified by (st_dev, st_ino, mount id), and
 * holds an O_PATH|O_NOFOLLOW fd that pins it -- or, with file handles
 * (--inode-file-handles), a file handle and an fd only while an operation
 * uses it: the table then opens the fd from the handle when the first
 * reference beyond the table's is taken (inode_acquire) and closes it when
 * that last one goes, so that a guest holding a million nodes does not make
 * vfsd hold a million fds.  Node ids are counters, never
 * pointers, never reused.  Two counts live in a node:
 *   - nlookup, the FUSE lookup count: the guest may name the node while it is
 *     non-zero; at zero the node leaves both hash tables at once, so a later
 *     lookup of the same file makes a new node with a new id;
 *   - refs, the in-memory reference count: one for the table while the node
 *     is hashed, one per operation using it (inode_get .. inode_put).  The fd
 *     is closed when the last reference goes, never under an operation.
 * The root (FS_ROOT_ID) ignores forget and is never dropped by clear.
 *
 * Thread-safe: one mutex guards the tables; no syscall runs under it except
 * the close() of a released fd, which happens after the lock is dropped.
 */
#ifndef VFSD_INODE_H
#define VFSD_INODE_H

#include <fcntl.h>
#include <stdint.h>
#include <sys/types.h>

struct inode_table;

struct inode_key {
	uint64_t dev;
	uint64_t ino;
	uint64_t mnt_id;        /* 0 when the kernel does not report it */
};

struct inode {
	uint64_t id;            /* immutable */
	struct inode_key key;   /* immutable */
	int fd;                 /* O_PATH|O_NOFOLLOW; immutable while referenced
				 * by an operation (with a handle: -1 when not) */
	mode_t type;            /* S_IFMT bits: a host inode never changes type */
	struct file_handle *handle; /* immutable; NULL: the fd pins the node */

	/* Private to inode.c, under the table lock. */
	uint64_t nlookup;
	unsigned int refs;
	struct inode *id_next, *key_next;
};

/* max_nodes: how many nodes besides the root may exist; past it
 * inode_lookup_or_add() fails with -ENFILE. */
int inode_table_new(struct inode_table **out, uint64_t max_nodes);
/* Closes every fd (references still held are a caller bug). NULL ok. */
void inode_table_free(struct inode_table *t);

/* Install the root node (id FS_ROOT_ID).  Takes fd on success. */
int inode_table_set_root(struct inode_table *t, int fd,
			 const struct inode_key *key, mode_t type);

/*
 * Add one lookup to the node for key, creating it when absent.  On success
 * the table owns fd (closed at once when the node already existed) and *out
 * is the node with a reference the caller drops with inode_put().  On error
 * (-ENOMEM, -ENFILE) the caller still owns fd.
 */
int inode_lookup_or_add(struct inode_table *t, const struct inode_key *key,
			mode_t type, int fd, struct inode **out);

/* Same, for a node kept by file handle: the table takes a copy of handle
 * and keeps fd only while references beyond its own exist (handle NULL:
 * exactly inode_lookup_or_add). */
int inode_lookup_or_add_handle(struct inode_table *t,
			       const struct inode_key *key, mode_t type, int fd,
			       const struct file_handle *handle,
			       struct inode **out);

/* Opens an O_PATH fd from a node's handle (open_by_handle_at); -errno. */
typedef int (*inode_open_fn)(void *arg, const struct file_handle *handle);
/* Set once, before any node with a handle exists. */
void inode_table_set_opener(struct inode_table *t, inode_open_fn open,
			    void *arg);

/* The node named id with a reference and a usable fd: 0, -EBADF when the
 * guest may not name it (never looked up, or forgotten), or the opener's
 * error (-ESTALE: the file is gone). */
int inode_acquire(struct inode_table *t, uint64_t id, struct inode **out);
/* inode_acquire, NULL on any error. */
struct inode *inode_get(struct inode_table *t, uint64_t id);
void inode_put(struct inode_table *t, struct inode *node);

/* Subtract n lookups (saturating); at zero the node is unhashed. */
void inode_forget(struct inode_table *t, uint64_t id, uint64_t n);

/* Forget every node but the root. */
void inode_table_clear(struct inode_table *t);

/* fds the table holds open (nodes by fd, and nodes by handle in use):
 * for tests. */
uint64_t inode_table_open_fds(struct inode_table *t);

/* Nodes the guest can name, the root included. */
uint64_t inode_table_count(struct inode_table *t);
/* Lookup count of a node (0 when unknown): for tests. */
uint64_t inode_table_nlookup(struct inode_table *t, uint64_t id);

#endif
