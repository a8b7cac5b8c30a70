// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The /dev/fuse transport.
 *
 * libfuse3 only mounts (fuse_session_mount, with fusermount3 when we are not
 * root) and unmounts; requests are read from its /dev/fuse fd directly and
 * handed to the engine, whose replies are written back with writev().
 *
 * A few worker threads share the fd (set O_NONBLOCK).  Each owns an io_uring
 * ring and a handful of request slots with their own buffers, waits for the
 * fd through its ring, and keeps reading while READ/WRITE requests complete
 * asynchronously, like a virtqueue worker.  The main thread waits for a
 * termination signal or for the mount to disappear (read() gives ENODEV once
 * the kernel aborted the connection: someone ran umount), then stops the
 * workers after their in-flight requests and unmounts.
 */
#include "fusedev.h"

#define FUSE_USE_VERSION 35
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "activation.h"
#include "handoff.h"
#include "log.h"

#define DEFAULT_THREADS 2
#define MAX_THREADS 16
#define SLOTS_PER_WORKER 4
#define RING_ENTRIES 32
/* Room for the request header and WRITE's fixed arguments next to the
 * data: the kernel refuses a read() buffer smaller than max_write + those. */
#define HEADER_ROOM 4096
/*
 * With --allow-direct-io the host file is O_DIRECT, which wants aligned
 * memory: the buffers are placed so that WRITE data (after the in-header and
 * fuse_write_in) and READ data (after the out-header) start on a page.
 */
#define DATA_ALIGN 4096
#define WRITE_DATA_OFFSET 80	/* fuse_in_header 40 + fuse_write_in 40 */
#define READ_DATA_OFFSET 16	/* fuse_out_header */

struct fd_worker;

struct fd_slot {
	struct server_req req;      /* first: done() gets &slot->req */
	struct fd_worker *w;
	struct fd_slot *next_free;
	struct iovec in_iov, out_iov;
	void *in_mem, *out_mem;     /* allocations behind in_iov, out_iov */
	struct iovec scratch[4];
	struct handoff_node handoff;  /* completed on another thread */
};

struct fusedev {
	struct server *srv;
	const char *mountpoint;
	int fd;                     /* /dev/fuse, O_NONBLOCK */
	int stop_fd;                /* eventfd: set once, never cleared */
	int gone_fd;                /* eventfd: a worker saw the mount go */
	size_t bufsize;
};

struct fd_worker {
	struct fusedev *d;
	pthread_t thread;
	bool started;
	struct uring *ring;
	struct fd_slot slots[SLOTS_PER_WORKER];
	struct fd_slot *free_slots;
	unsigned int busy;
	struct uring_op fd_op, stop_op;
	bool fd_armed, stop_armed, stopping;
	int err;
	/* Requests completed on another thread (a blocking lock wait in the
	 * engine): finished here, where the slots live. */
	struct handoff handoff;
	struct uring_op xop;
	uint64_t xbuf;
};

static __thread struct fd_worker *this_worker;

static void defer_done(struct fd_worker *w, struct fd_slot *s, size_t len)
{
	int r = handoff_push(&w->handoff, &s->handoff, len);

	if (r < 0)
		log_ratelimited(LOG_LEVEL_ERROR, "/dev/fuse: cannot wake a worker: %s",
				strerror(-r));
}

static void slot_done(struct server_req *req, size_t len)
{
	struct fd_slot *s = (struct fd_slot *)req;
	struct fd_worker *w = s->w;

	if (this_worker != w) {
		defer_done(w, s, len);
		return;
	}
	if (len > 0) {
		struct iovec v = { .iov_base = s->out_iov.iov_base, .iov_len = len };

		/* ENOENT: the request was interrupted, the kernel no longer
		 * waits for it.  Anything else is logged, not fatal. */
		if (writev(w->d->fd, &v, 1) < 0 && errno != ENOENT)
			log_ratelimited(LOG_LEVEL_DEBUG,
					"/dev/fuse: writing a reply: %s",
					strerror(errno));
	}
	s->next_free = w->free_slots;
	w->free_slots = s;
	w->busy--;
}

static void fd_ready(struct uring_op *op, int res)
{
	struct fd_worker *w = (struct fd_worker *)((char *)op -
				offsetof(struct fd_worker, fd_op));

	(void)res;	/* the read() that follows tells what happened */
	w->fd_armed = false;
}

static void stop_ready(struct uring_op *op, int res)
{
	struct fd_worker *w = (struct fd_worker *)((char *)op -
				offsetof(struct fd_worker, stop_op));

	(void)res;
	w->stop_armed = false;
	w->stopping = true;
	/* A request parked in the engine (a lock wait) is answered now. */
	for (unsigned int i = 0; i < SLOTS_PER_WORKER; i++)
		server_cancel(w->d->srv, &w->slots[i].req);
}

static void xdone_ready(struct uring_op *op, int res)
{
	struct fd_worker *w = (struct fd_worker *)((char *)op -
				offsetof(struct fd_worker, xop));
	struct handoff_node *n = handoff_take(&w->handoff);
	int r;

	(void)res;
	while (n) {
		struct handoff_node *next = n->next;
		struct fd_slot *s = handoff_entry(n, struct fd_slot, handoff);

		slot_done(&s->req, n->len);
		n = next;
	}
	r = uring_read_eventfd(w->ring, &w->xop, w->handoff.fd, &w->xbuf);
	if (r < 0)
		log_error_errno(r, "/dev/fuse worker: cannot wait for completions");
}

static void signal_gone(struct fusedev *d)
{
	uint64_t one = 1;

	if (write(d->gone_fd, &one, sizeof(one)) < 0)
		log_debug("cannot signal the end of the mount: %s", strerror(errno));
}

/* Read and dispatch requests while there are some and a slot is free.
 * Returns false when this worker must stop. */
static bool read_requests(struct fd_worker *w)
{
	struct fusedev *d = w->d;

	while (w->free_slots && !w->stopping) {
		struct fd_slot *s = w->free_slots;
		ssize_t n = read(d->fd, s->in_iov.iov_base, d->bufsize);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return true;
			if (errno == ENODEV) {
				/* Unmounted from outside: a normal end. */
				log_info("'%s' was unmounted", d->mountpoint);
			} else {
				w->err = -errno;
				log_error_errno(w->err, "reading /dev/fuse");
			}
			signal_gone(d);
			w->stopping = true;
			return false;
		}
		w->free_slots = s->next_free;
		w->busy++;
		s->req = (struct server_req){
			.in = &s->in_iov, .in_cnt = 1,
			.out = &s->out_iov, .out_cnt = 1,
			.done = slot_done,
			.scratch = s->scratch,
			.scratch_cnt = sizeof(s->scratch) / sizeof(s->scratch[0]),
		};
		s->in_iov.iov_len = (size_t)n;
		server_handle(d->srv, w->ring, &s->req);
	}
	return !w->stopping;
}

static void *worker_main(void *arg)
{
	struct fd_worker *w = arg;
	int r;

	this_worker = w;
	r = uring_read_eventfd(w->ring, &w->xop, w->handoff.fd, &w->xbuf);
	if (r < 0)
		goto fail;
	while (read_requests(w)) {
		if (!w->stop_armed) {
			r = uring_poll_in(w->ring, &w->stop_op, w->d->stop_fd);
			if (r < 0)
				goto fail;
			w->stop_armed = true;
		}
		if (w->free_slots && !w->fd_armed) {
			r = uring_poll_in(w->ring, &w->fd_op, w->d->fd);
			if (r < 0)
				goto fail;
			w->fd_armed = true;
		}
		r = uring_run(w->ring, true);
		if (r < 0 && r != -EINTR)
			goto fail;
	}
	/* Replies in flight still target our buffers: finish them. */
	while (w->busy > 0) {
		r = uring_run(w->ring, true);
		if (r < 0 && r != -EINTR)
			break;
	}
	return NULL;
fail:
	w->err = r;
	log_error_errno(r, "/dev/fuse worker");
	signal_gone(w->d);
	for (unsigned int i = 0; i < SLOTS_PER_WORKER; i++)
		server_cancel(w->d->srv, &w->slots[i].req);
	while (w->busy > 0)
		if (uring_run(w->ring, true) < 0)
			break;
	return NULL;
}

static int worker_init(struct fd_worker *w, struct fusedev *d)
{
	int r;

	memset(w, 0, sizeof(*w));
	w->d = d;
	w->fd_op.complete = fd_ready;
	w->stop_op.complete = stop_ready;
	w->xop.complete = xdone_ready;
	r = handoff_init(&w->handoff);
	if (r < 0)
		return r;
	r = uring_new(&w->ring, RING_ENTRIES);
	if (r < 0)
		return r;
	for (unsigned int i = 0; i < SLOTS_PER_WORKER; i++) {
		struct fd_slot *s = &w->slots[i];

		s->w = w;
		s->in_mem = aligned_alloc(DATA_ALIGN, d->bufsize + DATA_ALIGN);
		s->out_mem = aligned_alloc(DATA_ALIGN, d->bufsize + DATA_ALIGN);
		if (!s->in_mem || !s->out_mem)
			return -ENOMEM;
		s->in_iov.iov_base = (char *)s->in_mem + DATA_ALIGN -
				     WRITE_DATA_OFFSET;
		s->out_iov.iov_base = (char *)s->out_mem + DATA_ALIGN -
				      READ_DATA_OFFSET;
		s->out_iov.iov_len = d->bufsize;
		s->next_free = w->free_slots;
		w->free_slots = s;
	}
	return 0;
}

static void worker_fini(struct fd_worker *w)
{
	if (!w->d)
		return;         /* never set up (an earlier worker failed) */
	uring_free(w->ring);
	handoff_fini(&w->handoff);
	for (unsigned int i = 0; i < SLOTS_PER_WORKER; i++) {
		free(w->slots[i].in_mem);
		free(w->slots[i].out_mem);
	}
}

/* Mount options: those the virtio-fs guest driver uses (the kernel checks
 * permissions from the attributes; every user may enter the mount). */
static struct fuse_session *mount_session(const char *mountpoint)
{
	static const struct fuse_lowlevel_ops no_ops;
	char opts[] = "fsname=vfsd,subtype=vfsd,default_permissions,allow_other";
	char *argv[] = { (char *)"vfsd", (char *)"-o", opts, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	struct fuse_session *se;

	/* allow_other needs user_allow_other in /etc/fuse.conf otherwise. */
	if (geteuid() != 0)
		*strstr(opts, ",allow_other") = '\0';
	se = fuse_session_new(&args, &no_ops, sizeof(no_ops), NULL);
	/* It may have copied argv into memory of its own. */
	fuse_opt_free_args(&args);
	if (!se)
		return NULL;
	if (fuse_session_mount(se, mountpoint) != 0) {
		fuse_session_destroy(se);
		return NULL;
	}
	return se;
}

static int block_signals(void)
{
	sigset_t mask;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	/* Before the workers start: they inherit the mask. */
	if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0)
		return -EINVAL;
	fd = signalfd(-1, &mask, SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Returns true when the mount went away by itself. */
static bool wait_for_end(int signal_fd, int gone_fd)
{
	struct pollfd pfd[2] = {
		{ .fd = signal_fd, .events = POLLIN },
		{ .fd = gone_fd, .events = POLLIN },
	};

	while (poll(pfd, 2, -1) < 0)
		if (errno != EINTR)
			return false;
	return pfd[1].revents != 0;
}

static int serve_mounted(struct fusedev *d, unsigned int nthreads,
			 int signal_fd, const char *mountpoint)
{
	struct fd_worker *workers;
	uint64_t one = 1;
	int err = 0;

	workers = calloc(nthreads, sizeof(*workers));
	if (!workers)
		return -ENOMEM;
	for (unsigned int i = 0; i < nthreads && !err; i++) {
		err = worker_init(&workers[i], d);
		if (err < 0) {
			log_error_errno(err, "cannot set up a /dev/fuse worker");
			break;
		}
		err = -pthread_create(&workers[i].thread, NULL, worker_main,
				      &workers[i]);
		if (err < 0)
			log_error_errno(err, "cannot start a /dev/fuse worker");
		else
			workers[i].started = true;
	}
	if (!err) {
		log_info("serving on '%s'", mountpoint);
		notify_ready();
		wait_for_end(signal_fd, d->gone_fd);
		notify_stopping();
	}
	if (write(d->stop_fd, &one, sizeof(one)) < 0)
		log_debug("waking the workers: %s", strerror(errno));
	for (unsigned int i = 0; i < nthreads; i++) {
		if (workers[i].started) {
			pthread_join(workers[i].thread, NULL);
			if (workers[i].err && !err)
				err = workers[i].err;
		}
		worker_fini(&workers[i]);
	}
	free(workers);
	return err;
}

int fusedev_serve(struct server *srv, const struct fusedev_config *cfg,
		  bool *mounted)
{
	struct fusedev d = { .srv = srv, .mountpoint = cfg->mountpoint, .fd = -1, .stop_fd = -1, .gone_fd = -1 };
	unsigned int nthreads = cfg->threads ? cfg->threads : DEFAULT_THREADS;
	struct fuse_session *se;
	int signal_fd, flags, r;

	*mounted = false;
	if (nthreads > MAX_THREADS)
		nthreads = MAX_THREADS;
	d.bufsize = (size_t)(cfg->max_write ? cfg->max_write : 1u << 20) +
		    HEADER_ROOM;

	signal_fd = block_signals();
	if (signal_fd < 0)
		return log_error_errno(signal_fd, "cannot set up signal handling");
	se = mount_session(cfg->mountpoint);
	if (!se) {
		close(signal_fd);
		/* libfuse printed why. */
		log_error("cannot mount on '%s'", cfg->mountpoint);
		return -EIO;
	}
	*mounted = true;
	d.fd = fuse_session_fd(se);
	flags = fcntl(d.fd, F_GETFL);
	d.stop_fd = eventfd(0, EFD_CLOEXEC);
	d.gone_fd = eventfd(0, EFD_CLOEXEC);
	if (flags < 0 || fcntl(d.fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
	    d.stop_fd < 0 || d.gone_fd < 0) {
		r = log_error_errno(-errno, "cannot set up '%s'", cfg->mountpoint);
	} else {
		r = serve_mounted(&d, nthreads, signal_fd, cfg->mountpoint);
	}
	/* Lazy unmount (MNT_DETACH): works even while something on the host
	 * still has a file open in the mount; a no-op when already gone. */
	fuse_session_unmount(se);
	fuse_session_destroy(se);
	if (d.stop_fd >= 0)
		close(d.stop_fd);
	if (d.gone_fd >= 0)
		close(d.gone_fd);
	close(signal_fd);
	return r;
}
