// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Virtqueue workers.
 *
 * Each started queue gets a thread with its own io_uring ring.  The thread
 * has one wait point, uring_run(): the kick eventfd and a stop eventfd are
 * polled through the ring, next to the data I/O in flight.  Requests live in
 * slots allocated when the queue starts, so the request path never
 * allocates.  A request's reply may come later (READ/WRITE complete through
 * the ring), so the worker keeps popping while slow requests are in flight.
 * A request queue may also have helper threads (--thread-pool-size) that
 * take a share of a batch of synchronous requests; see "Helper threads".
 *
 * Stopping (GET_VRING_BASE, memory table change, disconnect) waits for every
 * in-flight request to complete: the kernel may still be writing into guest
 * memory until then, and the memory must not be unmapped before.
 */
#include "vq_transport.h"

#include <endian.h>
#include <errno.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "activation.h"
#include "handoff.h"
#include "log.h"
#include "vhost-user/vu.h"

/* Requests one queue keeps in flight at most. */
#define SLOTS_PER_QUEUE 64
/* Ring entries: one per slot, plus the kick read, the stop poll and the
 * call write. */
#define RING_ENTRIES 128
/* A batch of at most this many requests is served inline (plain syscalls
 * on the worker), a larger one through the ring, where one io_uring_enter
 * carries the whole batch.  Measured (bench/RESULTS.md): a lone 4 KiB
 * READ/WRITE costs the worker ~9 us of CPU inline against 11-15 us through
 * the ring (same syscall count: the ring's submit rides on the wait); at
 * depth 32 the ring needs 0.07 syscalls and 1.7 us per request, inline 1
 * syscall and 3.6 us.  Two inline syscalls already cost more than one
 * shared ring submission, hence 1. */
#define INLINE_MAX_BATCH 1
/* Helper threads per request queue at most (--thread-pool-size). */
#define MAX_HELPERS 8
/* A batch holding at least this many synchronous requests is shared with
 * the queue's helper threads; fewer are served by the worker alone (inline:
 * waking a helper costs the worker a futex syscall, more than one GETATTR).
 * Measured, bench/RESULTS.md. */
#define HANDOFF_MIN_SYNC 2
/* Busy-polling of the avail ring before a request queue's worker sleeps,
 * and how many idle moments a fruitless poll skips at most (doubling from
 * 1).  See poll_for_work(). */
#ifndef POLL_NS
#define POLL_NS 30000           /* -DPOLL_NS=0: no polling (measurements) */
#endif
#define POLL_BACKOFF_MAX 64

struct worker;

struct slot {
	struct server_req req;      /* first: done() gets &slot->req */
	struct worker *worker;
	struct vu_elem elem;
	struct slot *next_free;
	struct iovec *iov;          /* chain iovecs, max_iov entries */
	struct iovec *scratch;      /* engine scratch, max_iov entries */
	struct handoff_node handoff;  /* completed on another thread */
};

/* A queue's helper threads and the requests shared with them. */
struct helper_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct slot *fifo[SLOTS_PER_QUEUE];
	unsigned int head, count;
	unsigned int sleeping;      /* helpers waiting on cond */
	bool stop;
	unsigned int nthreads;      /* set before the worker starts */
	pthread_t threads[MAX_HELPERS];
};

struct worker {
	struct vq_transport *t;
	unsigned int qidx;
	struct vu_queue *q;
	pthread_t thread;
	bool running;
	int stop_fd;
	bool stopping;
	bool need_notify;
	unsigned int max_iov;
	struct slot *slots;
	struct slot *free_slots;
	unsigned int busy;
	struct uring *ring;
	struct uring_op kick_op;
	struct uring_op stop_op;
	bool kick_by_poll;          /* the ring cannot read the kick fd */
	uint64_t kick_buf;
	struct slot *batch[SLOTS_PER_QUEUE];
	/* Requests completed on another thread (a blocking lock wait in the
	 * engine): handed back and finished by the worker itself, the only
	 * thread that touches the ring.  Its eventfd also wakes the worker
	 * for slots the helpers give back. */
	struct handoff handoff;
	struct uring_op xop;
	uint64_t xbuf;
	/* Helper threads (--thread-pool-size) push replies to the used ring
	 * themselves: every push and the notification decision that follows
	 * it are serialised by push_lock.  Their slots come back through
	 * `returned` (lock-free); want_wake asks them to write handoff.fd
	 * then. */
	pthread_mutex_t push_lock;
	void *iov_area;             /* every slot's iov and scratch */
	size_t iov_area_size;
	struct slot *returned;
	bool want_wake;
	struct helper_pool pool;
	unsigned int poll_skip;     /* idle moments left without polling */
	unsigned int poll_backoff;
};

struct vq_transport {
	struct server *srv;
	struct worker workers[VU_MAX_QUEUES];
};

/* The worker running on this thread, NULL on any other thread. */
static __thread struct worker *this_worker;

static void defer_done(struct worker *w, struct slot *s, size_t len)
{
	int r = handoff_push(&w->handoff, &s->handoff, len);

	if (r < 0)
		log_ratelimited(LOG_LEVEL_ERROR, "queue %u: cannot wake the worker: %s",
				w->qidx, strerror(-r));
}

static void helper_done(struct worker *w, struct slot *s, size_t len);
static __thread struct worker *this_helper;

static void request_done(struct server_req *req, size_t len)
{
	struct slot *s = (struct slot *)req;
	struct worker *w = s->worker;

	if (this_helper == w) {
		helper_done(w, s, len);
		return;
	}
	if (this_worker != w) {
		defer_done(w, s, len);
		return;
	}
	pthread_mutex_lock(&w->push_lock);
	vu_queue_push(w->q, &s->elem, (uint32_t)len);
	pthread_mutex_unlock(&w->push_lock);
	w->need_notify = true;
	s->next_free = w->free_slots;
	w->free_slots = s;
	w->busy--;
}

/* Signal the guest if it wants it: through the ring, so that the write
 * rides on the io_uring_enter the worker makes next anyway. */
static void notify_guest(struct worker *w)
{
	int fd;

	w->need_notify = false;
	pthread_mutex_lock(&w->push_lock);
	fd = vu_queue_notify_fd(w->q);
	pthread_mutex_unlock(&w->push_lock);
	if (fd >= 0)
		uring_write_eventfd(w->ring, fd);
}

/* ---- Helper threads (--thread-pool-size) ----
 *
 * A worker that pops a batch with several synchronous requests (GETATTR,
 * LOOKUP, CREATE...) puts them in its pool and serves the pool itself too,
 * so that a helper on another CPU takes a share of the batch while data
 * I/O stays asynchronous on the worker's ring.  A helper pushes its replies
 * to the used ring itself (under push_lock), signals the guest once its run
 * of work is over, and hands the slot back through a lock-free list; the
 * worker is woken for that only when it waits for slots (all busy, or
 * stopping).  No allocation per request: the pool is a fixed FIFO of slots.
 */
static unsigned int helpers_wanted;
static __thread bool helper_notify;     /* pushed, guest not signalled yet */

void vq_transport_set_helpers(unsigned int n)
{
	helpers_wanted = n < MAX_HELPERS ? n : MAX_HELPERS;
}

static void signal_guest_now(struct worker *w)
{
	uint64_t one = 1;
	int fd;

	pthread_mutex_lock(&w->push_lock);
	fd = vu_queue_notify_fd(w->q);
	pthread_mutex_unlock(&w->push_lock);
	/* EAGAIN: the counter is saturated, the guest will be woken. */
	if (fd >= 0)
		while (write(fd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
}

/* Give a slot back to the worker.  handoff.fd stays open until the helpers are
 * joined (queue_stop), so the write cannot hit a closed fd. */
static void give_back(struct worker *w, struct slot *s)
{
	struct slot *head = __atomic_load_n(&w->returned, __ATOMIC_RELAXED);
	uint64_t one = 1;

	do
		s->next_free = head;
	while (!__atomic_compare_exchange_n(&w->returned, &head, s, true,
					    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
	if (__atomic_exchange_n(&w->want_wake, false, __ATOMIC_SEQ_CST) &&
	    write(w->handoff.fd, &one, sizeof(one)) != sizeof(one))
		log_ratelimited(LOG_LEVEL_ERROR, "queue %u: cannot wake the worker: %s",
				w->qidx, strerror(errno));
}

static void helper_done(struct worker *w, struct slot *s, size_t len)
{
	pthread_mutex_lock(&w->push_lock);
	vu_queue_push(w->q, &s->elem, (uint32_t)len);
	pthread_mutex_unlock(&w->push_lock);
	helper_notify = true;
	give_back(w, s);
}

/* Worker: take back the slots helpers finished. */
static void reclaim_slots(struct worker *w)
{
	struct slot *s = __atomic_exchange_n(&w->returned, NULL, __ATOMIC_SEQ_CST);

	while (s) {
		struct slot *next = s->next_free;

		s->next_free = w->free_slots;
		w->free_slots = s;
		w->busy--;
		s = next;
	}
}

/* Worker, before it sleeps: when it cannot go on without slots helpers
 * hold, have the next one given back wake it.  False: one came back
 * meanwhile, do not sleep. */
static bool prepare_sleep(struct worker *w)
{
	if (!w->pool.nthreads || (w->free_slots && !w->stopping))
		return true;
	__atomic_store_n(&w->want_wake, true, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&w->returned, __ATOMIC_SEQ_CST))
		return true;
	__atomic_store_n(&w->want_wake, false, __ATOMIC_SEQ_CST);
	reclaim_slots(w);
	return false;
}

static struct slot *pool_take_locked(struct helper_pool *p)
{
	struct slot *s;

	if (!p->count)
		return NULL;
	s = p->fifo[p->head];
	p->head = (p->head + 1) % SLOTS_PER_QUEUE;
	p->count--;
	return s;
}

static struct slot *pool_take(struct helper_pool *p)
{
	struct slot *s;

	pthread_mutex_lock(&p->lock);
	s = pool_take_locked(p);
	pthread_mutex_unlock(&p->lock);
	return s;
}

/* Never overflows: the FIFO has room for every slot of the queue. */
static void pool_share(struct helper_pool *p, struct slot **v, unsigned int n)
{
	pthread_mutex_lock(&p->lock);
	for (unsigned int i = 0; i < n; i++)
		p->fifo[(p->head + p->count++) % SLOTS_PER_QUEUE] = v[i];
	if (p->sleeping)
		pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

static void *helper_main(void *arg)
{
	struct worker *w = arg;
	struct helper_pool *p = &w->pool;
	struct uring *ring;
	struct slot *s;

	/* Requests routed here are synchronous; a ring that never goes to
	 * the kernel completes anything else on this thread all the same. */
	if (uring_new_sync(&ring) < 0) {
		log_error("queue %u: helper thread: out of memory", w->qidx);
		return NULL;
	}
	this_helper = w;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		s = pool_take_locked(p);
		if (s) {
			pthread_mutex_unlock(&p->lock);
			server_handle(w->t->srv, ring, &s->req);
			/* A SETLKW parked here just after the worker's stop
			 * cancelled the parked waits would hold the stop
			 * forever: cancel it too (a no-op for any other
			 * request; s is only compared, never read). */
			if (__atomic_load_n(&w->stopping, __ATOMIC_SEQ_CST))
				server_cancel(w->t->srv, &s->req);
			pthread_mutex_lock(&p->lock);
			continue;
		}
		if (helper_notify) {
			/* The run is over: one signal for all its replies. */
			helper_notify = false;
			pthread_mutex_unlock(&p->lock);
			signal_guest_now(w);
			pthread_mutex_lock(&p->lock);
			continue;
		}
		if (p->stop)
			break;
		p->sleeping++;
		pthread_cond_wait(&p->cond, &p->lock);
		p->sleeping--;
	}
	pthread_mutex_unlock(&p->lock);
	uring_free(ring);
	return NULL;
}

static void pool_start(struct worker *w, unsigned int n)
{
	struct helper_pool *p = &w->pool;
	int r;

	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	for (unsigned int i = 0; i < n; i++) {
		r = -pthread_create(&p->threads[i], NULL, helper_main, w);
		if (r < 0) {
			log_warn_errno(r, "queue %u: cannot start a helper thread",
				       w->qidx);
			break;
		}
		p->nthreads++;
	}
}

static void pool_stop(struct worker *w)
{
	struct helper_pool *p = &w->pool;

	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (unsigned int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	p->nthreads = 0;
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
}

/* A routing hint only (the engine validates the request): the opcode in
 * the request header, 0 when the first buffer is too short.  The guest may
 * change it under us; a READ that lands on a helper still completes there. */
static uint32_t peek_opcode(const struct slot *s)
{
	uint32_t op;

	if (s->elem.in_num == 0 || s->elem.in_iov[0].iov_len < 8)
		return 0;
	memcpy(&op, (const char *)s->elem.in_iov[0].iov_base + 4, sizeof(op));
	return le32toh(op);
}

static bool is_ring_io(uint32_t op)
{
	return op == FUSE_READ || op == FUSE_WRITE || op == FUSE_FSYNC;
}

/* Requests the guest sends without waiting for the reply (close() does not
 * wait for RELEASE): what it sends next may rely on their effect (a lock
 * of the closed file gone).  They run on the worker, in ring order: nothing
 * popped after one starts before it is done. */
static bool is_barrier(uint32_t op)
{
	return op == FUSE_RELEASE || op == FUSE_RELEASEDIR;
}

/* Share a run of synchronous requests, or serve it inline when short. */
static void share_run(struct worker *w, struct slot **run, unsigned int n)
{
	if (n < HANDOFF_MIN_SYNC) {
		for (unsigned int i = 0; i < n; i++)
			server_handle(w->t->srv, w->ring, &run[i]->req);
		return;
	}
	pool_share(&w->pool, run, n);
}

/* Serve a popped batch: data I/O on the ring, synchronous requests inline
 * or shared with the helpers when there are enough of them. */
static void dispatch_batch(struct worker *w, unsigned int n)
{
	struct server *srv = w->t->srv;
	unsigned int nsync = 0;
	struct slot *s;

	uring_set_inline(w->ring, n <= INLINE_MAX_BATCH);
	uring_batch_start(w->ring);
	if (!w->pool.nthreads || n < HANDOFF_MIN_SYNC) {
		for (unsigned int i = 0; i < n; i++)
			server_handle(srv, w->ring, &w->batch[i]->req);
		return;
	}
	for (unsigned int i = 0; i < n; i++) {
		uint32_t op = peek_opcode(w->batch[i]);

		if (is_ring_io(op)) {
			server_handle(srv, w->ring, &w->batch[i]->req);
		} else if (is_barrier(op)) {
			/* What came before may still run on a helper (the
			 * guest sent it concurrently); what comes after waits. */
			share_run(w, w->batch, nsync);
			nsync = 0;
			server_handle(srv, w->ring, &w->batch[i]->req);
		} else {
			w->batch[nsync++] = w->batch[i];
		}
	}
	share_run(w, w->batch, nsync);
	while ((s = pool_take(&w->pool)))
		server_handle(srv, w->ring, &s->req);
}

/* Pop every available chain (up to the free slots) before serving any:
 * the batch size tells how busy the guest is. */
static unsigned int pop_batch(struct worker *w)
{
	unsigned int n = 0;

	while (w->free_slots && !w->stopping) {
		struct slot *s = w->free_slots;

		if (vu_queue_pop(w->q, &s->elem, s->iov, w->max_iov) <= 0)
			break;
		w->free_slots = s->next_free;
		w->busy++;
		s->req = (struct server_req){
			.in = s->elem.in_iov, .in_cnt = s->elem.in_num,
			.out = s->elem.out_iov, .out_cnt = s->elem.out_num,
			.done = request_done,
			.scratch = s->scratch, .scratch_cnt = w->max_iov,
		};
		w->batch[n++] = s;
	}
	return n;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

static int64_t elapsed_ns(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);     /* vDSO: no syscall */
	return (int64_t)(t.tv_sec - t0->tv_sec) * 1000000000 +
	       (t.tv_nsec - t0->tv_nsec);
}

/*
 * The queue just ran dry: poll the avail ring for up to POLL_NS before
 * sleeping, with the guest's kicks still off.  A guest that sends its next
 * request within that time (depth 1: the next one follows the reply after
 * ~10-15 us here) then costs neither its kick (a syscall on its side) nor
 * our sleep and wake-up.  The guest's signal is sent first, or it would
 * not send anything.  Adaptive: a poll that found nothing turns polling
 * off for the next 1, 2, 4... POLL_BACKOFF_MAX idle moments, so an idle or
 * slow guest costs next to no CPU.  True: the guest published buffers.
 */
static bool poll_for_work(struct worker *w)
{
	struct timespec t0;

	if (POLL_NS == 0 || w->qidx == 0 || w->stopping)
		return false;
	if (w->poll_skip) {
		w->poll_skip--;
		return false;
	}
	uring_submit(w->ring);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		for (unsigned int i = 0; i < 16; i++) {
			if (vu_queue_avail_pending(w->q)) {
				w->poll_backoff = 0;
				return true;
			}
			/* Data I/O completed: go and run it. */
			if (uring_ready(w->ring))
				return false;
			cpu_relax();
		}
	} while (elapsed_ns(&t0) < POLL_NS);
	w->poll_backoff = w->poll_backoff ? 2 * w->poll_backoff : 1;
	if (w->poll_backoff > POLL_BACKOFF_MAX)
		w->poll_backoff = POLL_BACKOFF_MAX;
	w->poll_skip = w->poll_backoff;
	return false;
}

/* Pop and dispatch until the ring is empty or every slot is busy. */
static void drain_queue(struct worker *w)
{
	for (;;) {
		unsigned int n;

		/* No kicks while we are popping anyway (EVENT_IDX: avail_event
		 * is left behind; otherwise VRING_USED_F_NO_NOTIFY). */
		vu_queue_disable_notification(w->q);
		n = pop_batch(w);
		dispatch_batch(w, n);
		if (w->need_notify)
			notify_guest(w);
		/* Out of slots or stopping: completions will call us again. */
		if (!w->free_slots || w->stopping || vu_queue_broken(w->q))
			return;
		if (poll_for_work(w))
			continue;
		/* Empty: ask for a kick, unless buffers arrived meanwhile. */
		if (!vu_queue_enable_notification(w->q))
			return;
	}
}

static void kick_complete(struct uring_op *op, int res);

/* The kick eventfd is read through the ring: the read both waits and
 * resets the counter, so a wake-up costs no syscall of its own. */
static void arm_kick(struct worker *w)
{
	int fd = vu_queue_kick_fd(w->q);
	int r;

	if (w->kick_by_poll)
		r = uring_poll_in(w->ring, &w->kick_op, fd);
	else
		r = uring_read_eventfd(w->ring, &w->kick_op, fd, &w->kick_buf);
	if (r < 0)
		log_error_errno(r, "queue %u: cannot wait for kicks", w->qidx);
}

static void kick_complete(struct uring_op *op, int res)
{
	struct worker *w = (struct worker *)((char *)op - offsetof(struct worker, kick_op));
	ssize_t n;

	if (w->kick_by_poll) {
		/* Reset the eventfd counter; the loop then drains the ring. */
		n = read(vu_queue_kick_fd(w->q), &w->kick_buf, sizeof(w->kick_buf));
		if (n < 0 && errno == EAGAIN)
			n = sizeof(w->kick_buf);	/* spurious wake-up */
		res = n < 0 ? -errno : (int)n;
	} else if (res < 0 && res != -ECANCELED) {
		/* A kernel that cannot wait in a read of this eventfd (a
		 * non-blocking fd on an old kernel): poll it instead. */
		log_debug("queue %u: kick read: %s, polling instead", w->qidx,
			  strerror(-res));
		w->kick_by_poll = true;
		res = sizeof(w->kick_buf);
	}
	/* An eventfd read gives exactly 8 bytes.  Anything else means the
	 * front-end passed some other file (EOF or data at once, forever):
	 * re-arming would spin, so the queue waits for a new kick fd. */
	if (res >= 0 && res != sizeof(w->kick_buf)) {
		log_ratelimited(LOG_LEVEL_ERROR,
				"queue %u: the kick fd is not an eventfd: queue stalled",
				w->qidx);
		return;
	}
	if (!w->stopping)
		arm_kick(w);
}

static void stop_complete(struct uring_op *op, int res)
{
	struct worker *w = (struct worker *)((char *)op - offsetof(struct worker, stop_op));

	/* Seen by helpers too (helper_main): a wait they park after this
	 * store is theirs to cancel; one before it is listed for ours. */
	__atomic_store_n(&w->stopping, true, __ATOMIC_SEQ_CST);
	/* A request parked in the engine (lock wait) would keep us waiting
	 * forever: have it answered now, while guest memory is mapped. */
	for (unsigned int i = 0; i < SLOTS_PER_QUEUE; i++)
		server_cancel(w->t->srv, &w->slots[i].req);
}

static void xdone_complete(struct uring_op *op, int res)
{
	struct worker *w = (struct worker *)((char *)op - offsetof(struct worker, xop));
	struct handoff_node *n = handoff_take(&w->handoff);
	int r;

	while (n) {
		struct handoff_node *next = n->next;
		struct slot *s = handoff_entry(n, struct slot, handoff);

		request_done(&s->req, n->len);
		n = next;
	}
	if (res < 0 && res != -ECANCELED)
		log_ratelimited(LOG_LEVEL_ERROR, "queue %u: completion wake-up: %s",
				w->qidx, strerror(-res));
	r = uring_read_eventfd(w->ring, &w->xop, w->handoff.fd, &w->xbuf);
	if (r < 0)
		log_error_errno(r, "queue %u: cannot wait for completions", w->qidx);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int r;

	this_worker = w;
	w->kick_op.complete = kick_complete;
	w->stop_op.complete = stop_complete;
	w->xop.complete = xdone_complete;
	uring_poll_in(w->ring, &w->stop_op, w->stop_fd);
	uring_read_eventfd(w->ring, &w->xop, w->handoff.fd, &w->xbuf);
	arm_kick(w);
	/* The guest may have queued buffers before we were started. */
	drain_queue(w);
	while (!(w->stopping && w->busy == 0)) {
		if (!prepare_sleep(w)) {
			drain_queue(w);
			continue;
		}
		r = uring_run(w->ring, true);
		reclaim_slots(w);
		if (r < 0) {
			log_ratelimited(LOG_LEVEL_ERROR, "queue %u: waiting for work: %s",
					w->qidx, strerror(-r));
			/* I/O still in flight may write guest memory: never
			 * leave (and let it be unmapped) before it completed. */
			if (w->busy == 0)
				break;
			usleep(1000);
			continue;
		}
		drain_queue(w);
	}
	if (w->need_notify) {
		pthread_mutex_lock(&w->push_lock);
		vu_queue_notify(w->q);
		pthread_mutex_unlock(&w->push_lock);
	}
	/* A call write still queued in the ring goes out now. */
	uring_run(w->ring, false);
	return NULL;
}

static void worker_free_slots(struct worker *w)
{
	if (w->iov_area)
		munmap(w->iov_area, w->iov_area_size);
	w->iov_area = NULL;
	free(w->slots);
	w->slots = NULL;
	w->free_slots = NULL;
}

/*
 * The slots' iovec arrays (2 x max_iov each: 8 KiB a slot with 256-entry
 * queues, 1 MiB for two queues) come from one anonymous mapping, not
 * calloc: its pages stay unbacked until a request uses them, and the free
 * list is LIFO, so an idle or lightly used queue keeps only the first few
 * slots' pages resident (bench/RESULTS.md, idle memory).
 */
static int worker_alloc_slots(struct worker *w)
{
	size_t per_slot = 2 * (size_t)w->max_iov * sizeof(struct iovec);
	void *area;

	w->slots = calloc(SLOTS_PER_QUEUE, sizeof(*w->slots));
	if (!w->slots)
		return -ENOMEM;
	area = mmap(NULL, per_slot * SLOTS_PER_QUEUE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (area == MAP_FAILED)
		return -errno;
	w->iov_area = area;
	w->iov_area_size = per_slot * SLOTS_PER_QUEUE;
	/* Pushed in reverse: slot 0 (the lowest pages) is handed out first. */
	for (unsigned int i = SLOTS_PER_QUEUE; i-- > 0;) {
		struct slot *s = &w->slots[i];

		s->worker = w;
		s->iov = (struct iovec *)((char *)area + per_slot * i);
		s->scratch = s->iov + w->max_iov;
		s->next_free = w->free_slots;
		w->free_slots = s;
	}
	return 0;
}

static void queue_start(struct vu_dev *dev, unsigned int qidx, void *opaque)
{
	struct vq_transport *t = opaque;
	struct worker *w = &t->workers[qidx];
	unsigned int size;
	int r;

	if (w->running)
		return;
	*w = (struct worker){ .t = t, .qidx = qidx, .stop_fd = -1,
			      .handoff.fd = -1 };
	w->q = vu_dev_queue(dev, qidx);
	size = vu_queue_size(w->q);
	w->max_iov = size < VU_MAX_CHAIN_IOV ? size : VU_MAX_CHAIN_IOV;
	pthread_mutex_init(&w->push_lock, NULL);
	w->stop_fd = eventfd(0, EFD_CLOEXEC);
	r = w->stop_fd < 0 ? -errno : handoff_init(&w->handoff);
	if (r == 0)
		r = worker_alloc_slots(w);
	if (r == 0)
		r = uring_new(&w->ring, RING_ENTRIES);
	if (r == 0) {
		/* Helpers first: the worker reads pool.nthreads unlocked.
		 * The hiprio queue (FORGETs) needs none. */
		pool_start(w, qidx ? helpers_wanted : 0);
		r = -pthread_create(&w->thread, NULL, worker_main, w);
		if (r < 0)
			pool_stop(w);
	}
	if (r < 0) {
		log_error_errno(r, "queue %u: cannot start a worker", qidx);
		pthread_mutex_destroy(&w->push_lock);
		uring_free(w->ring);
		worker_free_slots(w);
		if (w->stop_fd >= 0)
			close(w->stop_fd);
		handoff_fini(&w->handoff);
		return;
	}
	w->running = true;
	log_debug("queue %u started (size %u)", qidx, size);
}

static void queue_stop(struct vu_dev *dev, unsigned int qidx, void *opaque)
{
	struct vq_transport *t = opaque;
	struct worker *w = &t->workers[qidx];
	uint64_t one = 1;

	if (!w->running)
		return;
	if (write(w->stop_fd, &one, sizeof(one)) != sizeof(one))
		log_error_errno(-errno, "queue %u: cannot signal the worker", qidx);
	pthread_join(w->thread, NULL);
	/* After the worker: it waited until helpers gave every slot back;
	 * before handoff.fd is closed: a helper may still be writing it. */
	pool_stop(w);
	pthread_mutex_destroy(&w->push_lock);
	uring_free(w->ring);
	worker_free_slots(w);
	close(w->stop_fd);
	handoff_fini(&w->handoff);
	w->running = false;
	log_debug("queue %u stopped", qidx);
}

static const struct vu_ops transport_ops = {
	.queue_start = queue_start,
	.queue_stop = queue_stop,
};

/*
 * What the service manager is told about the current connection.  One
 * connection is served at a time; the engine's on_init hook runs on a worker
 * thread, hence the lock.
 */
static struct {
	pthread_mutex_t lock;
	int peer_pid;
	unsigned int sessions;        /* FUSE_INITs on this connection */
	struct timespec connected;
	bool active;
} conn_state = { .lock = PTHREAD_MUTEX_INITIALIZER };

static double ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) * 1e3 +
	       (double)(now.tv_nsec - t->tv_nsec) / 1e6;
}

void vq_transport_on_init(void *arg)
{
	unsigned int n;

	pthread_mutex_lock(&conn_state.lock);
	if (!conn_state.active) {
		pthread_mutex_unlock(&conn_state.lock);
		return;
	}
	n = ++conn_state.sessions;
	if (n == 1) {
		log_info("guest session started (FUSE_INIT) %.1f ms after the hypervisor connected",
			 ms_since(&conn_state.connected));
		notify_status("Serving the guest (hypervisor pid %d)",
			      conn_state.peer_pid);
	} else {
		/* The old session's state was released by the engine. */
		log_info("guest reset: new FUSE session %u, earlier guest state released",
			 n);
		notify_status("Serving the guest after a guest reset (hypervisor pid %d, session %u)",
			      conn_state.peer_pid, n);
	}
	pthread_mutex_unlock(&conn_state.lock);
}

static void conn_state_set(bool active, int pid)
{
	pthread_mutex_lock(&conn_state.lock);
	conn_state.active = active;
	conn_state.peer_pid = pid;
	conn_state.sessions = 0;
	clock_gettime(CLOCK_MONOTONIC, &conn_state.connected);
	pthread_mutex_unlock(&conn_state.lock);
}

static unsigned int running_workers(const struct vq_transport *t)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < VU_MAX_QUEUES; i++)
		n += t->workers[i].running;
	return n;
}

/* Wait until the control socket has a message (0) or stop_fd fired (1),
 * pinging the service watchdog meanwhile. */
static int wait_control(int conn_fd, int stop_fd)
{
	struct pollfd pfd[2] = {
		{ .fd = conn_fd, .events = POLLIN },
		{ .fd = stop_fd, .events = POLLIN },
	};
	int r;

	for (;;) {
		notify_watchdog();
		r = poll(pfd, 2, notify_watchdog_ms());
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		/* Stop first: a busy front-end must not delay shutdown. */
		if (pfd[1].revents)
			return 1;
		if (pfd[0].revents)
			return 0;
	}
}

int vq_transport_serve(struct server *srv, int conn_fd, int stop_fd,
		       unsigned int request_queues, int peer_pid)
{
	struct vq_transport t = { .srv = srv };
	struct vu_config cfg = {
		.num_queues = 1 + request_queues,
		.peer_pid = peer_pid,
	};
	struct vu_dev *dev;
	unsigned int running = 0, now;
	int pid, r;

	r = vu_dev_new(&dev, conn_fd, &cfg, &transport_ops, &t);
	if (r < 0)
		return log_error_errno(r, "cannot set up the vhost-user device");
	pid = vu_dev_peer_pid(dev);
	conn_state_set(true, pid);
	notify_status("Hypervisor connected (pid %d), waiting for the guest", pid);
	for (;;) {
		r = wait_control(conn_fd, stop_fd);
		if (r != 0)
			break;
		r = vu_dev_dispatch(dev);
		if (r == -ECONNRESET) {
			r = 0;
			break;
		}
		if (r < 0)
			break;
		/* Every ring stopped (GET_VRING_BASE): the guest reset its
		 * device (reboot), or the VM was paused.  A memory table
		 * change stops and restarts within one message. */
		now = running_workers(&t);
		if (running && !now)
			notify_status("Guest stopped or resetting (hypervisor pid %d)",
				      pid);
		running = now;
	}
	conn_state_set(false, 0);
	if (r != 1)
		notify_status("Hypervisor disconnected (pid %d)%s", pid,
			      r < 0 ? " after an error" : "");
	/* Stops every worker (draining in-flight I/O) before unmapping. */
	vu_dev_free(dev);
	server_reset(srv);
	return r;
}
