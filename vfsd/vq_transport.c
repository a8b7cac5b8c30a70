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
 *
 * Stopping (GET_VRING_BASE, memory table change, disconnect) waits for every
 * in-flight request to complete: the kernel may still be writing into guest
 * memory until then, and the memory must not be unmapped before.
 */
#include "vq_transport.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "activation.h"
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

struct worker;

struct slot {
	struct server_req req;      /* first: done() gets &slot->req */
	struct worker *worker;
	struct vu_elem elem;
	struct slot *next_free;
	struct iovec *iov;          /* chain iovecs, max_iov entries */
	struct iovec *scratch;      /* engine scratch, max_iov entries */
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
};

struct vq_transport {
	struct server *srv;
	struct worker workers[VU_MAX_QUEUES];
};

static void request_done(struct server_req *req, size_t len)
{
	struct slot *s = (struct slot *)req;
	struct worker *w = s->worker;

	vu_queue_push(w->q, &s->elem, (uint32_t)len);
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
	fd = vu_queue_notify_fd(w->q);
	if (fd >= 0)
		uring_write_eventfd(w->ring, fd);
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

/* Pop and dispatch until the ring is empty or every slot is busy. */
static void drain_queue(struct worker *w)
{
	struct server *srv = w->t->srv;

	for (;;) {
		unsigned int n;

		/* No kicks while we are popping anyway (EVENT_IDX: avail_event
		 * is left behind; otherwise VRING_USED_F_NO_NOTIFY). */
		vu_queue_disable_notification(w->q);
		n = pop_batch(w);
		uring_set_inline(w->ring, n <= INLINE_MAX_BATCH);
		for (unsigned int i = 0; i < n; i++)
			server_handle(srv, w->ring, &w->batch[i]->req);
		if (w->need_notify)
			notify_guest(w);
		/* Out of slots or stopping: completions will call us again. */
		if (!w->free_slots || w->stopping || vu_queue_broken(w->q))
			return;
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

	w->stopping = true;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int r;

	w->kick_op.complete = kick_complete;
	w->stop_op.complete = stop_complete;
	uring_poll_in(w->ring, &w->stop_op, w->stop_fd);
	arm_kick(w);
	/* The guest may have queued buffers before we were started. */
	drain_queue(w);
	while (!(w->stopping && w->busy == 0)) {
		r = uring_run(w->ring, true);
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
	if (w->need_notify)
		vu_queue_notify(w->q);
	/* A call write still queued in the ring goes out now. */
	uring_run(w->ring, false);
	return NULL;
}

static void worker_free_slots(struct worker *w)
{
	if (w->slots) {
		for (unsigned int i = 0; i < SLOTS_PER_QUEUE; i++) {
			free(w->slots[i].iov);
			free(w->slots[i].scratch);
		}
	}
	free(w->slots);
	w->slots = NULL;
	w->free_slots = NULL;
}

static int worker_alloc_slots(struct worker *w)
{
	w->slots = calloc(SLOTS_PER_QUEUE, sizeof(*w->slots));
	if (!w->slots)
		return -ENOMEM;
	for (unsigned int i = 0; i < SLOTS_PER_QUEUE; i++) {
		struct slot *s = &w->slots[i];

		s->worker = w;
		s->iov = calloc(w->max_iov, sizeof(*s->iov));
		s->scratch = calloc(w->max_iov, sizeof(*s->scratch));
		if (!s->iov || !s->scratch)
			return -ENOMEM;
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
	*w = (struct worker){ .t = t, .qidx = qidx, .stop_fd = -1 };
	w->q = vu_dev_queue(dev, qidx);
	size = vu_queue_size(w->q);
	w->max_iov = size < VU_MAX_CHAIN_IOV ? size : VU_MAX_CHAIN_IOV;
	w->stop_fd = eventfd(0, EFD_CLOEXEC);
	r = w->stop_fd < 0 ? -errno : worker_alloc_slots(w);
	if (r == 0)
		r = uring_new(&w->ring, RING_ENTRIES);
	if (r == 0)
		r = -pthread_create(&w->thread, NULL, worker_main, w);
	if (r < 0) {
		log_error_errno(r, "queue %u: cannot start a worker", qidx);
		uring_free(w->ring);
		worker_free_slots(w);
		if (w->stop_fd >= 0)
			close(w->stop_fd);
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
	uring_free(w->ring);
	worker_free_slots(w);
	close(w->stop_fd);
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
		       unsigned int request_queues)
{
	struct vq_transport t = { .srv = srv };
	struct vu_config cfg = { .num_queues = 1 + request_queues };
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
