// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Lock requests: GETLK, SETLK, SETLKW (POSIX record locks and, with
 * FUSE_LK_FLOCK, flock), and the lock side of FLUSH, RELEASE and INTERRUPT.
 *
 * Offered only when configured (--posix-lock, --flock); without them the
 * guest kernel keeps locks to itself and these opcodes answer -ENOSYS.
 *
 * SETLKW must not hold a queue while it waits: it first tries without
 * waiting on the calling (queue) thread; only on a conflict is it parked on
 * a thread of its own, which blocks in the filesystem's setlk/flock and
 * completes the request from there (the transports accept done() from any
 * thread).  Parked waits are bounded (cfg.max_lock_waiters; past it
 * -ENOLCK, logged once) because every one holds a request slot and a
 * thread.
 *
 * A parked wait is cancelled -- answered -EINTR -- on FUSE_INTERRUPT naming
 * it, on DESTROY / a new INIT / server_reset, and when the transport stops
 * the queue (server_cancel) -- always before guest memory goes away, since
 * the transport waits for done().  Cancelling means: set the waiter's flag
 * and signal its thread (SRV_LOCK_SIGNAL, a handler that does nothing and
 * no SA_RESTART), so that the blocking fcntl/flock returns EINTR.  A signal
 * that lands just before the thread enters the syscall is lost, so the
 * canceller repeats it until the waiter has left the list (bounded).
 *
 * An INTERRUPT can overtake the request it names (another queue, another
 * /dev/fuse worker): unmatched INTERRUPT uniques are remembered (a few), and
 * a SETLKW whose unique is among them is answered -EINTR instead of parked.
 * (The virtio-fs guest driver sends no INTERRUPTs at all: there a process
 * killed while waiting waits for the lock; /dev/fuse sends them.)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "server_internal.h"

#define DEFAULT_MAX_WAITERS 32u
/* Remembered unmatched INTERRUPT uniques. */
#define RECENT_INTR 16
/* Cancelling: re-signal every CANCEL_STEP_NS, give up after CANCEL_TRIES
 * (the transport still waits for done(); this only bounds the signalling). */
#define CANCEL_STEP_NS 2000000L
#define CANCEL_TRIES 1000
#define WAITER_STACK (128u * 1024u)

struct lock_waiter {
	struct server *srv;
	struct server_req *req;
	uint64_t unique;
	uint64_t nodeid, fh, owner;
	struct fs_lock lk;
	bool flock;
	pthread_t thread;
	_Atomic bool cancelled;
	struct lock_waiter *next;   /* srv_locks.waiters, under lock */
};

struct srv_locks {
	pthread_mutex_t lock;
	pthread_cond_t cond;        /* a waiter left the list or exited */
	struct lock_waiter *waiters;
	unsigned int threads;       /* waiter threads alive */
	unsigned int max;
	bool cap_logged;
	uint64_t recent[RECENT_INTR];
	unsigned int recent_next;
};

static int lock_signal(void)
{
	return SIGRTMIN + 3;
}

static void on_lock_signal(int sig)
{
	(void)sig;	/* only there to make a blocking lock call return EINTR */
}

int srv_lock_init(struct server *srv)
{
	struct srv_locks *l;
	struct sigaction sa = { .sa_handler = on_lock_signal };

	if (!srv->cfg.posix_lock && !srv->cfg.flock)
		return 0;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	l->max = srv->cfg.max_lock_waiters ? srv->cfg.max_lock_waiters :
		 DEFAULT_MAX_WAITERS;
	/* No SA_RESTART: the kernel must give up the wait with EINTR. */
	sigemptyset(&sa.sa_mask);
	if (sigaction(lock_signal(), &sa, NULL) < 0) {
		int r = -errno;

		free(l);
		return r;
	}
	srv->locks = l;
	return 0;
}

static bool waiter_listed(const struct srv_locks *l,
			  const struct lock_waiter *w)
{
	for (const struct lock_waiter *p = l->waiters; p; p = p->next)
		if (p == w)
			return true;
	return false;
}

static void wait_step(struct srv_locks *l)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += CANCEL_STEP_NS;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&l->cond, &l->lock, &ts);
}

/* Caller holds l->lock.  Returns once w left the list (its answer is on its
 * way) or the bound passed.  w may be freed on return: only compared. */
static void cancel_locked(struct srv_locks *l, struct lock_waiter *w)
{
	atomic_store(&w->cancelled, true);
	for (int i = 0; i < CANCEL_TRIES && waiter_listed(l, w); i++) {
		pthread_kill(w->thread, lock_signal());
		wait_step(l);
	}
}

static void cancel_all(struct srv_locks *l)
{
	pthread_mutex_lock(&l->lock);
	for (struct lock_waiter *w = l->waiters; w; w = w->next)
		atomic_store(&w->cancelled, true);
	for (int i = 0; i < CANCEL_TRIES && l->waiters; i++) {
		for (struct lock_waiter *w = l->waiters; w; w = w->next)
			pthread_kill(w->thread, lock_signal());
		wait_step(l);
	}
	pthread_mutex_unlock(&l->lock);
}

void srv_lock_cancel_all(struct server *srv)
{
	if (srv->locks)
		cancel_all(srv->locks);
}

void srv_lock_fini(struct server *srv)
{
	struct srv_locks *l = srv->locks;

	if (!l)
		return;
	cancel_all(l);
	/* A waiter thread may still be between its answer and its exit. */
	pthread_mutex_lock(&l->lock);
	for (int i = 0; i < CANCEL_TRIES && l->threads > 0; i++)
		wait_step(l);
	if (l->threads > 0) {
		/* Stuck in the kernel: leave it its memory, we are exiting. */
		pthread_mutex_unlock(&l->lock);
		log_warn("%u lock wait threads did not end", l->threads);
		srv->locks = NULL;
		return;
	}
	pthread_mutex_unlock(&l->lock);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
	free(l);
	srv->locks = NULL;
}

void server_cancel(struct server *srv, struct server_req *req)
{
	struct srv_locks *l = srv->locks;

	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	for (struct lock_waiter *w = l->waiters; w; w = w->next) {
		if (w->req == req) {
			cancel_locked(l, w);
			break;
		}
	}
	pthread_mutex_unlock(&l->lock);
}

/* INTERRUPT: true when it named a parked request (now being cancelled). */
bool srv_lock_interrupt(struct server *srv, uint64_t unique)
{
	struct srv_locks *l = srv->locks;

	if (!l)
		return false;
	pthread_mutex_lock(&l->lock);
	for (struct lock_waiter *w = l->waiters; w; w = w->next) {
		if (w->unique == unique) {
			cancel_locked(l, w);
			pthread_mutex_unlock(&l->lock);
			return true;
		}
	}
	/* Maybe it overtook its request: remember it for park(). */
	l->recent[l->recent_next] = unique;
	l->recent_next = (l->recent_next + 1) % RECENT_INTR;
	pthread_mutex_unlock(&l->lock);
	return false;
}

static bool recently_interrupted(struct srv_locks *l, uint64_t unique)
{
	for (unsigned int i = 0; i < RECENT_INTR; i++) {
		if (l->recent[i] == unique && unique != 0) {
			l->recent[i] = 0;
			return true;
		}
	}
	return false;
}

/* ---- requests --------------------------------------------------------- */

/* The kernel's OFFSET_MAX: the largest file offset, "to end of file". */
#define LK_OFFSET_MAX ((uint64_t)INT64_MAX)

struct lk_req {
	struct fuse_lk_in in;
	struct fs_lock lk;
	bool flock;
};

static bool agreed(const struct rq *r, uint32_t flag)
{
	return SRV_STATE_FLAGS(r->state) & flag;
}

/* Decode and check a lock request; -ENOSYS when that kind of lock was not
 * negotiated (the guest then locks locally). */
static int parse_lk(const struct rq *r, struct lk_req *out)
{
	struct fuse_lk_in in;

	memcpy(&in, r->arg, sizeof(in));
	if (in.lk_flags & ~(uint32_t)FUSE_LK_FLOCK)
		return -EINVAL;
	out->flock = in.lk_flags & FUSE_LK_FLOCK;
	if (!agreed(r, out->flock ? FUSE_FLOCK_LOCKS : FUSE_POSIX_LOCKS))
		return -ENOSYS;
	if (in.lk.type != F_RDLCK && in.lk.type != F_WRLCK &&
	    in.lk.type != F_UNLCK)
		return -EINVAL;
	if (in.lk.start > LK_OFFSET_MAX || in.lk.end > LK_OFFSET_MAX ||
	    in.lk.end < in.lk.start)
		return -EINVAL;
	out->in = in;
	out->lk = (struct fs_lock){
		.type = (int)in.lk.type,
		.start = in.lk.start,
		.end = in.lk.end,
	};
	return 0;
}

static int call_setlk(struct server *srv, uint64_t nodeid,
		      const struct lk_req *q, bool wait)
{
	const struct fs_ops *ops = srv->cfg.ops;

	if (q->flock)
		return ops->flock ? ops->flock(srv->cfg.fs, nodeid, q->in.fh,
					       q->lk.type, wait) : -ENOSYS;
	return ops->setlk ? ops->setlk(srv->cfg.fs, nodeid, q->in.fh,
				       q->in.owner, &q->lk, wait) : -ENOSYS;
}

static void reply_status(struct server_req *req, int ret)
{
	if (ret < 0)
		srv_reply_err(req, ret);
	else
		srv_reply(req, NULL, 0, NULL, 0);
}

int srv_do_getlk(struct rq *r)
{
	struct fuse_lk_out out = { 0 };
	struct lk_req q;
	int ret;

	ret = parse_lk(r, &q);
	if (ret < 0)
		return ret;
	/* The kernel asks about flock conflicts never. */
	if (q.flock)
		return -EINVAL;
	if (!SRV_OPS(r)->getlk)
		return -ENOSYS;
	ret = SRV_OPS(r)->getlk(SRV_FS(r), r->in.nodeid, q.in.fh, q.in.owner,
				&q.lk);
	if (ret < 0)
		return ret;
	out.lk.type = (uint32_t)q.lk.type;
	if (q.lk.type != F_UNLCK) {
		out.lk.start = q.lk.start;
		out.lk.end = q.lk.end;
		/* The holder's pid as the guest knows it (0: not known, e.g.
		 * a host process or another guest; see docs). */
		out.lk.pid = (uint32_t)q.lk.pid;
	}
	return srv_reply(r->req, &out, sizeof(out), NULL, 0);
}

int srv_do_setlk(struct rq *r)
{
	struct lk_req q;
	int ret;

	ret = parse_lk(r, &q);
	if (ret < 0)
		return ret;
	ret = call_setlk(r->srv, r->in.nodeid, &q, false);
	if (ret < 0)
		return ret;
	return srv_reply(r->req, NULL, 0, NULL, 0);
}

static void *waiter_main(void *arg)
{
	struct lock_waiter *w = arg;
	struct srv_locks *l = w->srv->locks;
	struct lk_req q = { .lk = w->lk, .flock = w->flock };
	sigset_t set;
	int ret;

	q.in.fh = w->fh;
	q.in.owner = w->owner;
	sigemptyset(&set);
	sigaddset(&set, lock_signal());
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	do {
		if (atomic_load(&w->cancelled)) {
			ret = -EINTR;
			break;
		}
		ret = call_setlk(w->srv, w->nodeid, &q, true);
	} while (ret == -EINTR);

	pthread_mutex_lock(&l->lock);
	for (struct lock_waiter **p = &l->waiters; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			break;
		}
	}
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);

	/* The transport keeps guest memory mapped until this done(). */
	reply_status(w->req, ret);

	pthread_mutex_lock(&l->lock);
	l->threads--;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	free(w);
	return NULL;
}

/* Park a SETLKW that conflicts.  0: a thread owns the request now. */
static int park(struct rq *r, const struct lk_req *q)
{
	struct srv_locks *l = r->srv->locks;
	struct lock_waiter *w;
	pthread_attr_t attr;
	int ret;

	if (!l)
		return -ENOLCK;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOLCK;
	*w = (struct lock_waiter){
		.srv = r->srv, .req = r->req, .unique = r->in.unique,
		.nodeid = r->in.nodeid, .fh = q->in.fh, .owner = q->in.owner,
		.lk = q->lk, .flock = q->flock,
	};

	pthread_mutex_lock(&l->lock);
	if (recently_interrupted(l, r->in.unique)) {
		pthread_mutex_unlock(&l->lock);
		free(w);
		return -EINTR;
	}
	if (l->threads >= l->max) {
		bool first = !l->cap_logged;

		l->cap_logged = true;
		pthread_mutex_unlock(&l->lock);
		free(w);
		if (first)
			log_warn("%u blocking lock requests already wait: answering ENOLCK to more (logged once)",
				 l->max);
		return -ENOLCK;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, WAITER_STACK);
	/* Listed before it runs: a cancel finds it from the start (the
	 * thread unlists itself under this lock, so not before we let go). */
	ret = -pthread_create(&w->thread, &attr, waiter_main, w);
	pthread_attr_destroy(&attr);
	if (ret < 0) {
		pthread_mutex_unlock(&l->lock);
		free(w);
		log_ratelimited(LOG_LEVEL_DEBUG,
				"SETLKW: cannot start a wait thread: %s",
				strerror(-ret));
		return -ENOLCK;
	}
	w->next = l->waiters;
	l->waiters = w;
	l->threads++;
	pthread_mutex_unlock(&l->lock);
	return 0;
}

int srv_do_setlkw(struct rq *r)
{
	struct lk_req q;
	int ret;

	ret = parse_lk(r, &q);
	if (ret < 0)
		return ret;
	/* Most requests are granted at once: no thread for those. */
	ret = call_setlk(r->srv, r->in.nodeid, &q, false);
	if (ret != -EAGAIN) {
		reply_status(r->req, ret);
		return 0;
	}
	return park(r, &q);
}

/* ---- FLUSH, RELEASE, INTERRUPT ------------------------------------------ */

void srv_lock_flush(struct rq *r, uint64_t owner)
{
	/* close() by one guest process drops all its POSIX locks on the file
	 * (the kernel leaves that to FLUSH when it sent us the locks). */
	if (agreed(r, FUSE_POSIX_LOCKS) && SRV_OPS(r)->unlock_owner)
		SRV_OPS(r)->unlock_owner(SRV_FS(r), r->in.nodeid, owner);
}

void srv_lock_release(struct rq *r, uint64_t fh, uint32_t release_flags)
{
	/* The fd closes later, when no operation uses it; unlock now. */
	if ((release_flags & FUSE_RELEASE_FLOCK_UNLOCK) &&
	    agreed(r, FUSE_FLOCK_LOCKS) && SRV_OPS(r)->flock)
		SRV_OPS(r)->flock(SRV_FS(r), r->in.nodeid, fh, F_UNLCK, false);
}
