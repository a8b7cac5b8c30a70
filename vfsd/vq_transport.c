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
#include <unistd.h>

#include "activation.h"
#include "log.h"
#include "vhost-user/vu.h"

/* Requests one queue keeps in flight at most. */
#define SLOTS_PER_QUEUE 64
/* Ring entries: one per slot, plus the two polls. */
#define RING_ENTRIES 128

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
	uint64_t kick_buf;
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

/* Pop and dispatch until the ring is empty or every slot is busy. */
static void drain_queue(struct worker *w)
{
	struct server *srv = w->t->srv;
	int r;

	for (;;) {
		while (w->free_slots && !w->stopping) {
			struct slot *s = w->free_slots;

			r = vu_queue_pop(w->q, &s->elem, s->iov, w->max_iov);
			if (r <= 0)
				break;
			w->free_slots = s->next_free;
			w->busy++;
			s->req = (struct server_req){
				.in = s->elem.in_iov, .in_cnt = s->elem.in_num,
				.out = s->elem.out_iov, .out_cnt = s->elem.out_num,
				.done = request_done,
				.scratch = s->scratch, .scratch_cnt = w->max_iov,
			};
			server_handle(srv, w->ring, &s->req);
		}
		if (w->need_notify) {
			w->need_notify = false;
			vu_queue_notify(w->q);
		}
		/* Out of slots or stopping: completions will call us again. */
		if (!w->free_slots || w->stopping || vu_queue_broken(w->q))
			return;
		/* Empty: ask for a kick, unless buffers arrived meanwhile. */
		if (!vu_queue_enable_notification(w->q))
			return;
	}
}

static void kick_complete(struct uring_op *op, int res);

static void arm_kick(struct worker *w)
{
	int r = uring_poll_in(w->ring, &w->kick_op, vu_queue_kick_fd(w->q));

	if (r < 0)
		log_error_errno(r, "queue %u: cannot wait for kicks", w->qidx);
}

static void kick_complete(struct uring_op *op, int res)
{
	struct worker *w = (struct worker *)((char *)op - offsetof(struct worker, kick_op));
	ssize_t n;

	if (res < 0 && res != -ECANCELED)
		log_debug("queue %u: kick poll: %s", w->qidx, strerror(-res));
	/* Reset the eventfd counter; the ring is then drained by the loop. */
	n = read(vu_queue_kick_fd(w->q), &w->kick_buf, sizeof(w->kick_buf));
	(void)n;
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
			log_error_errno(r, "queue %u: waiting for work", w->qidx);
			break;
		}
		drain_queue(w);
	}
	if (w->need_notify)
		vu_queue_notify(w->q);
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

/* Wait until the control socket has a message or stop_fd fired. */
static int wait_control(int conn_fd, int stop_fd)
{
	struct pollfd pfd[2] = {
		{ .fd = conn_fd, .events = POLLIN },
		{ .fd = stop_fd, .events = POLLIN },
	};
	int r;

	do
		r = poll(pfd, 2, -1);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (pfd[1].revents)
		return 1;
	return 0;
}

int vq_transport_serve(struct server *srv, int conn_fd, int stop_fd,
		       unsigned int request_queues)
{
	struct vq_transport t = { .srv = srv };
	struct vu_config cfg = { .num_queues = 1 + request_queues };
	struct vu_dev *dev;
	int r;

	r = vu_dev_new(&dev, conn_fd, &cfg, &transport_ops, &t);
	if (r < 0)
		return log_error_errno(r, "cannot set up the vhost-user device");
	if (vu_dev_peer_pid(dev) > 0)
		notify_status("Serving the hypervisor (pid %d)", vu_dev_peer_pid(dev));
	else
		notify_status("Serving the hypervisor");
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
	}
	/* Stops every worker (draining in-flight I/O) before unmapping. */
	vu_dev_free(dev);
	server_reset(srv);
	return r;
}
