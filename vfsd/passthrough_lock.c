// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Passthrough locks.
 *
 * POSIX record locks become open file description (OFD) locks on the host
 * (F_OFD_GETLK / F_OFD_SETLK / F_OFD_SETLKW), as QEMU's C virtiofsd does
 * (lo_inode_plock): a classic fcntl lock belongs to a host process, and all
 * of vfsd is one process, so guest processes would never conflict with each
 * other.  An OFD lock belongs to an open file description, so each (node,
 * guest lock owner) pair gets a host open of its own here -- its "plock" --
 * and locks of different guest owners conflict like those of different
 * processes, and with host processes' locks.
 *
 * A plock is dropped (and with it the owner's locks) on FLUSH with that
 * owner (a guest close()), on RELEASE of the handle the owner last locked
 * through, when the node is forgotten, and on destroy.  RELEASE matters for
 * the guest's own OFD locks: their owner is the guest's open file, and the
 * guest kernel sends no unlock when that file is closed -- only RELEASE of
 * its handle.  It is safe for classic POSIX owners: each process that
 * closed the handle sent FLUSH first, which already dropped its locks.  A
 * plock is reference counted: a blocking wait on another thread keeps its
 * fd open and never sees it reused.
 *
 * flock locks go on the guest handle's own fd: one host open per guest open
 * is exactly flock's ownership (the open file description).
 *
 * The pid of a conflicting lock (GETLK) is reported as 0: the host kernel
 * gives -1 for OFD locks, and no host pid means anything inside the guest.
 *
 * Bounded: a guest can invent owners, so plocks are capped (from the fd
 * budget, passthrough.c, at most PT_PLOCK_MAX; then
 * -ENOLCK, logged once).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "log.h"
#include "passthrough_int.h"

#define PLOCK_BUCKETS 256

struct plock {
	uint64_t nodeid;
	uint64_t owner;
	uint64_t fh;                /* the handle it last locked through */
	int fd;
	unsigned int refs;          /* one for the table while hashed */
	bool hashed;
	struct plock *next;
};

struct pt_locks {
	pthread_mutex_t lock;
	struct plock *buckets[PLOCK_BUCKETS];
	unsigned int count;
	unsigned int max;
	bool cap_logged;
};

int pt_locks_new(struct pt_locks **out, unsigned int max)
{
	struct pt_locks *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->max = max && max < PT_PLOCK_MAX ? max : PT_PLOCK_MAX;
	pthread_mutex_init(&l->lock, NULL);
	*out = l;
	return 0;
}

static unsigned int bucket(uint64_t nodeid, uint64_t owner)
{
	uint64_t h = nodeid * 0x9e3779b97f4a7c15ull ^ owner;

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return (unsigned int)(h >> 40) % PLOCK_BUCKETS;
}

/* Caller holds the lock.  Returns the plock to close (refs at zero). */
static struct plock *unhash_locked(struct pt_locks *l, struct plock **pp)
{
	struct plock *p = *pp;

	*pp = p->next;
	p->hashed = false;
	l->count--;
	return --p->refs == 0 ? p : NULL;
}

static void plock_free(struct plock *p)
{
	if (!p)
		return;
	close(p->fd);
	free(p);
}

static void plock_put(struct pt_locks *l, struct plock *p)
{
	bool last;

	pthread_mutex_lock(&l->lock);
	last = --p->refs == 0;
	pthread_mutex_unlock(&l->lock);
	if (last)
		plock_free(p);
}

static struct plock *find_locked(struct pt_locks *l, uint64_t nodeid,
				 uint64_t owner)
{
	for (struct plock *p = l->buckets[bucket(nodeid, owner)]; p; p = p->next)
		if (p->nodeid == nodeid && p->owner == owner)
			return p;
	return NULL;
}

/* A host open of node that can carry read and write locks if the file
 * lets us open it so; else whatever it allows (a read-only file takes read
 * locks). */
static int plock_open(struct pt_fs *fs, struct inode *node)
{
	static const int modes[] = { O_RDWR, O_RDONLY, O_WRONLY };
	int fd = -EACCES;

	for (unsigned int i = 0; i < 3; i++) {
		fd = pt_reopen(fs, node, modes[i] | O_NONBLOCK | O_NOCTTY);
		if (fd >= 0 || (fd != -EACCES && fd != -EROFS &&
				fd != -EISDIR && fd != -ETXTBSY &&
				fd != -EPERM))
			return fd;
	}
	return fd;
}

/* The owner's plock on nodeid with a reference.  create false: -ENOENT
 * when there is none. */
static int plock_get(struct pt_fs *fs, uint64_t nodeid, uint64_t owner,
		     uint64_t fh, bool create, struct plock **out)
{
	struct pt_locks *l = fs->locks;
	struct inode *node;
	struct plock *p, *q;
	int fd, r;

	pthread_mutex_lock(&l->lock);
	p = find_locked(l, nodeid, owner);
	if (p) {
		p->refs++;
		if (create)
			p->fh = fh;
	}
	pthread_mutex_unlock(&l->lock);
	if (p) {
		*out = p;
		return 0;
	}
	if (!create)
		return -ENOENT;

	r = pt_get_node(fs, nodeid, &node);
	if (r < 0)
		return r;
	fd = plock_open(fs, node);
	pt_put_node(fs, node);
	if (fd < 0)
		return fd;
	p = calloc(1, sizeof(*p));
	if (!p) {
		close(fd);
		return -ENOLCK;
	}
	*p = (struct plock){ .nodeid = nodeid, .owner = owner, .fh = fh,
			     .fd = fd,
			     .refs = 2, .hashed = true };

	pthread_mutex_lock(&l->lock);
	q = find_locked(l, nodeid, owner);
	if (q) {
		/* Another thread of the same owner won the race. */
		q->refs++;
		q->fh = fh;
		pthread_mutex_unlock(&l->lock);
		plock_free(p);
		*out = q;
		return 0;
	}
	if (l->count >= l->max) {
		bool first = !l->cap_logged;

		l->cap_logged = true;
		pthread_mutex_unlock(&l->lock);
		plock_free(p);
		if (first)
			log_warn("%u lock owners hold host opens: refusing more locks with ENOLCK (logged once)",
				 l->max);
		return -ENOLCK;
	}
	p->next = l->buckets[bucket(nodeid, owner)];
	l->buckets[bucket(nodeid, owner)] = p;
	l->count++;
	pthread_mutex_unlock(&l->lock);
	*out = p;
	return 0;
}

static void to_flock(const struct fs_lock *lk, struct flock *fl)
{
	*fl = (struct flock){
		.l_type = (short)lk->type,
		.l_whence = SEEK_SET,
		.l_start = (off_t)lk->start,
		/* 0: to end of file, whatever it grows to. */
		.l_len = lk->end >= (uint64_t)INT64_MAX ? 0 :
			 (off_t)(lk->end - lk->start + 1),
		.l_pid = 0,             /* OFD locks insist on 0 */
	};
}

int pt_getlk(void *fsp, uint64_t nodeid, uint64_t fh, uint64_t owner,
	     struct fs_lock *lk)
{
	struct pt_fs *fs = fsp;
	struct plock *p;
	struct flock fl;
	int r;

	r = plock_get(fs, nodeid, owner, fh, true, &p);
	if (r < 0)
		return r;
	to_flock(lk, &fl);
	r = fcntl(p->fd, F_OFD_GETLK, &fl) < 0 ? pt_errno() : 0;
	plock_put(fs->locks, p);
	if (r < 0)
		return r;
	lk->type = fl.l_type;
	lk->pid = 0;
	if (fl.l_type != F_UNLCK) {
		lk->start = (uint64_t)fl.l_start;
		lk->end = fl.l_len == 0 ? (uint64_t)INT64_MAX :
			  (uint64_t)(fl.l_start + fl.l_len - 1);
	}
	return 0;
}

int pt_setlk(void *fsp, uint64_t nodeid, uint64_t fh, uint64_t owner,
	     const struct fs_lock *lk, bool wait)
{
	struct pt_fs *fs = fsp;
	struct plock *p;
	struct flock fl;
	int r;

	/* Unlocking what was never locked: nothing to open for. */
	r = plock_get(fs, nodeid, owner, fh, lk->type != F_UNLCK, &p);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	to_flock(lk, &fl);
	r = fcntl(p->fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl);
	r = r < 0 ? pt_errno() : 0;
	plock_put(fs->locks, p);
	/* Some filesystems say EACCES for a conflict. */
	return r == -EACCES ? -EAGAIN : r;
}

int pt_flock(void *fsp, uint64_t nodeid, uint64_t fh, int type, bool wait)
{
	struct pt_fs *fs = fsp;
	struct handle *h;
	int op, r;

	switch (type) {
	case F_RDLCK: op = LOCK_SH; break;
	case F_WRLCK: op = LOCK_EX; break;
	case F_UNLCK: op = LOCK_UN; break;
	default: return -EINVAL;
	}
	h = handle_get(fs->handles, fh, nodeid);
	if (!h)
		return -EBADF;
	r = flock(h->fd, op | (wait ? 0 : LOCK_NB)) < 0 ? pt_errno() : 0;
	handle_put(fs->handles, h);
	return r == -EWOULDBLOCK ? -EAGAIN : r;
}

int pt_unlock_owner(void *fsp, uint64_t nodeid, uint64_t owner)
{
	struct pt_fs *fs = fsp;
	struct pt_locks *l = fs->locks;
	struct plock **pp, *dead = NULL;
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };
	int fd = -1;

	pthread_mutex_lock(&l->lock);
	for (pp = &l->buckets[bucket(nodeid, owner)]; *pp; pp = &(*pp)->next) {
		if ((*pp)->nodeid == nodeid && (*pp)->owner == owner) {
			/* A wait elsewhere may still hold it: unlock now
			 * rather than at the last close. */
			fd = (*pp)->fd;
			(*pp)->refs++;
			dead = *pp;
			unhash_locked(l, pp);
			break;
		}
	}
	pthread_mutex_unlock(&l->lock);
	if (!dead)
		return 0;
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0)
		log_ratelimited(LOG_LEVEL_DEBUG, "unlocking node %llu: %s",
				(unsigned long long)nodeid, strerror(errno));
	plock_put(l, dead);
	return 0;
}

/* Drop the plocks of nodeid (all: every plock; by_fh: only those that
 * last locked through handle fh). */
static void drop_matching(struct pt_locks *l, uint64_t nodeid, bool all,
			  bool by_fh, uint64_t fh)
{
	struct plock *dead = NULL, *p;

	pthread_mutex_lock(&l->lock);
	for (unsigned int i = 0; i < PLOCK_BUCKETS && l->count; i++) {
		struct plock **pp = &l->buckets[i];

		while (*pp) {
			if (all || ((*pp)->nodeid == nodeid &&
				    (!by_fh || (*pp)->fh == fh))) {
				p = unhash_locked(l, pp);
				if (p) {
					p->next = dead;
					dead = p;
				}
			} else {
				pp = &(*pp)->next;
			}
		}
	}
	pthread_mutex_unlock(&l->lock);
	while (dead) {
		p = dead->next;
		plock_free(dead);
		dead = p;
	}
}

void pt_locks_forget_node(struct pt_fs *fs, uint64_t nodeid)
{
	bool any;

	pthread_mutex_lock(&fs->locks->lock);
	any = fs->locks->count > 0;
	pthread_mutex_unlock(&fs->locks->lock);
	/* Forgotten for good: no guest request can name it any more. */
	if (any && inode_table_nlookup(fs->inodes, nodeid) == 0)
		drop_matching(fs->locks, nodeid, false, false, 0);
}

void pt_locks_release_fh(struct pt_fs *fs, uint64_t nodeid, uint64_t fh)
{
	bool any;

	pthread_mutex_lock(&fs->locks->lock);
	any = fs->locks->count > 0;
	pthread_mutex_unlock(&fs->locks->lock);
	if (any)
		drop_matching(fs->locks, nodeid, false, true, fh);
}

void pt_locks_clear(struct pt_fs *fs)
{
	drop_matching(fs->locks, 0, true, false, 0);
}

void pt_locks_free(struct pt_locks *l)
{
	if (!l)
		return;
	for (unsigned int i = 0; i < PLOCK_BUCKETS; i++) {
		while (l->buckets[i]) {
			struct plock *p = l->buckets[i];

			l->buckets[i] = p->next;
			plock_free(p);
		}
	}
	pthread_mutex_destroy(&l->lock);
	free(l);
}
