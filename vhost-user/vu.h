/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhost-user back-end library: the public interface.
 *
 * This library speaks the vhost-user protocol on one connected UNIX socket
 * and gives its user validated descriptor chains.  It knows nothing of FUSE,
 * io_uring or threads: the user (vfsd/vq_transport.c) decides who runs a
 * queue, and the library tells it when a queue may run and when it must stop.
 *
 * Threading contract
 *   - vu_dev_* functions are called from one control thread.
 *   - vu_queue_pop/push/notify/kick-related functions of one queue are called
 *     from exactly one thread at a time (the queue's worker), and only while
 *     the queue is started (between ops->queue_start and the return of
 *     ops->queue_stop).
 *   - Before the control thread changes anything a running worker reads
 *     (memory table, ring addresses, kick/call fds, features, reset,
 *     disconnect), it calls ops->queue_stop for every affected started queue;
 *     queue_stop must not return until that worker has stopped touching the
 *     queue and guest memory (including in-flight asynchronous I/O).  After
 *     the change, queues that are still runnable get ops->queue_start again.
 *
 * Errors are negative errno values everywhere.
 */
#ifndef VU_H
#define VU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Limits that bound what a front-end can make us allocate. */
#define VU_MAX_QUEUES 16        /* hiprio + up to 15 request queues */
#define VU_MAX_RING_SIZE 32768  /* virtio maximum queue size */
#define VU_MAX_MEM_REGIONS 32   /* answered to GET_MAX_MEM_SLOTS */
#define VU_MAX_CHAIN_IOV 1024   /* iovecs in one descriptor chain */

struct vu_dev;
struct vu_queue;

/*
 * One popped descriptor chain, translated into host iovecs pointing into
 * mapped guest memory.  Device-readable buffers (the request) come first in
 * the chain, device-writable ones (the reply) after; a chain with a readable
 * buffer after a writable one is rejected by pop.
 */
struct vu_elem {
	uint16_t head;            /* descriptor index, given back to push */
	unsigned int in_num;      /* device-readable iovecs: in_iov[0..in_num) */
	unsigned int out_num;     /* device-writable iovecs: out_iov[0..out_num) */
	size_t in_len;            /* sum of readable lengths (no overflow) */
	size_t out_len;           /* sum of writable lengths (no overflow) */
	struct iovec *in_iov;     /* points into the caller's iov storage */
	struct iovec *out_iov;    /* idem, right after the readable ones */
};

struct vu_ops {
	/* A queue became runnable (addresses, kick fd, enabled).  Called on the
	 * control thread; typically starts a worker. */
	void (*queue_start)(struct vu_dev *dev, unsigned int qidx, void *opaque);
	/* The queue must stop; return only when its worker no longer touches
	 * the queue or guest memory. */
	void (*queue_stop)(struct vu_dev *dev, unsigned int qidx, void *opaque);
};

struct vu_config {
	unsigned int num_queues;  /* total queues: 1 hiprio + request queues */
	uint64_t features;        /* extra virtio device features to offer */
	int peer_pid;             /* front-end pid when the caller knows it
				     better than SO_PEERCRED; 0: ask that */
};

/* Allocate a device for a connected socket; the fd stays owned by the caller
 * until vu_dev_free. */
int vu_dev_new(struct vu_dev **out, int sock_fd, const struct vu_config *cfg,
	       const struct vu_ops *ops, void *opaque);

/* Read and handle exactly one message from the socket (blocking).
 * Returns 0 when handled, -ECONNRESET when the front-end hung up, or another
 * -errno when the connection is unusable (protocol violation: logged once).
 * After an error the caller must call vu_dev_free. */
int vu_dev_dispatch(struct vu_dev *dev);

/* Stop every queue (ops->queue_stop), unmap guest memory, close the fds the
 * front-end gave us and free the device.  Accepts NULL. */
void vu_dev_free(struct vu_dev *dev);

int vu_dev_fd(const struct vu_dev *dev);
unsigned int vu_dev_num_queues(const struct vu_dev *dev);
struct vu_queue *vu_dev_queue(struct vu_dev *dev, unsigned int qidx);
/* Front-end pid if known (SO_PEERCRED), else 0. */
int vu_dev_peer_pid(const struct vu_dev *dev);

/* ---- data plane: worker thread of the queue only ---- */

/* The kick eventfd of a started queue (readable when the guest kicked). */
int vu_queue_kick_fd(const struct vu_queue *q);
unsigned int vu_queue_size(const struct vu_queue *q);
unsigned int vu_queue_index(const struct vu_queue *q);

/* Pop the next available chain.  iov must hold max_iov entries (at most
 * VU_MAX_CHAIN_IOV).  Returns 1 with *elem filled, 0 when the ring is empty,
 * or a -errno when the ring is broken: the queue is then latched broken
 * (logged once) and every later pop returns -EIO until the queue is reset. */
int vu_queue_pop(struct vu_queue *q, struct vu_elem *elem, struct iovec *iov,
		 unsigned int max_iov);

/* Return a chain to the guest with len bytes written into its writable part.
 * Does not signal the guest: call vu_queue_notify after a batch. */
void vu_queue_push(struct vu_queue *q, const struct vu_elem *elem, uint32_t len);

/* Signal the guest through the call eventfd if it wants to be signalled
 * (honours VRING_AVAIL_F_NO_INTERRUPT and EVENT_IDX used_event). */
void vu_queue_notify(struct vu_queue *q);
/* The same decision, for a caller that signals by itself (through its
 * io_uring ring, batched with its next wait): the call eventfd to write
 * now, or -1 when the guest does not want a signal.  The fd stays valid
 * while the queue is started. */
int vu_queue_notify_fd(struct vu_queue *q);

/* Before sleeping on the kick fd: ask the guest to kick us (clears
 * VRING_USED_F_NO_NOTIFY or publishes avail_event with EVENT_IDX) and tell
 * whether new buffers arrived meanwhile (true: pop again, do not sleep). */
bool vu_queue_enable_notification(struct vu_queue *q);
/* While busy popping: tell the guest not to kick. */
void vu_queue_disable_notification(struct vu_queue *q);
/* Whether the guest published buffers not popped yet: one load, no
 * side effect (busy-polling). */
bool vu_queue_avail_pending(struct vu_queue *q);

bool vu_queue_broken(const struct vu_queue *q);

#endif
