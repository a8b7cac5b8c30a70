// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vhost-user device: request dispatch, feature negotiation, the memory table
 * and the ring state machine.
 *
 * A ring runs (ops->queue_start) when it has a size, addresses that translate
 * into mapped memory, a kick fd, and is enabled (always, when
 * VHOST_USER_F_PROTOCOL_FEATURES was not negotiated).  Any message that
 * changes what a running worker reads first stops the affected queues
 * (ops->queue_stop, which waits for the worker), applies the change, then
 * restarts the queues that are still runnable.
 */
#include "vhost-user/dev.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vfsd/log.h"


/* ---- queue state machine ---- */

static bool queue_runnable(const struct vu_dev *dev, const struct vu_queue *q)
{
	bool enabled = q->enabled ||
		       !(dev->features & (1ull << VU_F_PROTOCOL_FEATURES));

	return q->started && enabled && q->num && q->addr_set &&
	       q->kick_fd >= 0;
}

static void queue_stop(struct vu_dev *dev, struct vu_queue *q)
{
	if (!q->running)
		return;
	if (dev->ops && dev->ops->queue_stop)
		dev->ops->queue_stop(dev, q->idx, dev->opaque);
	q->running = false;
}

static void queue_try_start(struct vu_dev *dev, struct vu_queue *q)
{
	int r;

	if (q->running || !queue_runnable(dev, q))
		return;
	r = vu_queue_map(q, dev->features);
	if (r == -EAGAIN) {
		/* Behind an IOMMU: a ring address awaits its translation (a
		 * miss was sent); the IOTLB update retries the start. */
		q->ring_miss = true;
		log_debug("vhost-user: queue %u: waiting for ring translation "
			  "of 0x%llx", q->idx, (unsigned long long)q->miss_iova);
		return;
	}
	q->ring_miss = false;
	if (r < 0) {
		log_error_errno(r, "vhost-user: queue %u: rings not in guest memory",
				q->idx);
		return;
	}
	q->running = true;
	if (dev->ops && dev->ops->queue_start)
		dev->ops->queue_start(dev, q->idx, dev->opaque);
}

static void stop_all(struct vu_dev *dev)
{
	for (unsigned int i = 0; i < dev->num_queues; i++)
		queue_stop(dev, &dev->queues[i]);
}

static void start_all(struct vu_dev *dev)
{
	for (unsigned int i = 0; i < dev->num_queues; i++)
		queue_try_start(dev, &dev->queues[i]);
}

static void reset_queues(struct vu_dev *dev)
{
	stop_all(dev);
	for (unsigned int i = 0; i < dev->num_queues; i++)
		vu_queue_reset(&dev->queues[i]);
}

/* The queue a vring message names, or NULL (logged). */
static struct vu_queue *msg_queue(struct vu_dev *dev, uint64_t index)
{
	if (index >= dev->num_queues) {
		log_error("vhost-user: queue index %llu out of range (%u queues)",
			  (unsigned long long)index, dev->num_queues);
		return NULL;
	}
	return &dev->queues[index];
}

/* ---- handlers: return 0 or -errno; those with a reply send it ---- */

static int reply_u64(struct vu_dev *dev, struct vu_msg *m, uint64_t v)
{
	m->p.u64 = v;
	return vu_msg_reply(dev->sock, m, sizeof(m->p.u64));
}

/* Whether addresses behind an IOMMU can be translated: misses need the
 * back-end channel (QEMU also insists on REPLY_ACK for IOTLB messages). */
static bool iommu_possible(struct vu_dev *dev)
{
	uint64_t need = (1ull << VU_PROTOCOL_F_BACKEND_REQ) |
			(1ull << VU_PROTOCOL_F_REPLY_ACK);

	return (dev->protocol_features & need) == need &&
	       vu_backend_ready(&dev->backend);
}

static int h_get_features(struct vu_dev *dev, struct vu_msg *m)
{
	return reply_u64(dev, m, dev->features_offered);
}

static int h_set_features(struct vu_dev *dev, struct vu_msg *m)
{
	uint64_t f = m->p.u64;

	if (f & ~dev->features_offered)
		return log_error_errno(-EINVAL,
			"vhost-user: front-end acked unoffered features 0x%llx",
			(unsigned long long)(f & ~dev->features_offered));
	if ((f & (1ull << VU_F_ACCESS_PLATFORM)) && !iommu_possible(dev)) {
		/* Addresses would be IOVAs we could never translate: every
		 * request would hang.  Refuse the connection instead. */
		dev->fatal = true;
		return log_error_errno(-EPROTO,
			"vhost-user: front-end enabled VIRTIO_F_ACCESS_PLATFORM "
			"(iommu_platform=on) without the back-end request channel "
			"needed for IOTLB misses (protocol features BACKEND_REQ and "
			"REPLY_ACK, then SET_BACKEND_REQ_FD); dropping the connection");
	}
	stop_all(dev);
	dev->features = f;
	start_all(dev);
	return 0;
}

static int h_get_protocol_features(struct vu_dev *dev, struct vu_msg *m)
{
	return reply_u64(dev, m, dev->protocol_offered);
}

static int h_set_protocol_features(struct vu_dev *dev, struct vu_msg *m)
{
	uint64_t f = m->p.u64;

	if (f & ~dev->protocol_offered)
		return log_error_errno(-EINVAL,
			"vhost-user: front-end acked unoffered protocol features 0x%llx",
			(unsigned long long)(f & ~dev->protocol_offered));
	dev->protocol_features = f;
	return 0;
}

static int h_set_owner(struct vu_dev *dev, struct vu_msg *m)
{
	dev->owner = true;
	return 0;
}

static int h_reset(struct vu_dev *dev, struct vu_msg *m)
{
	/* Rings and features start over; the memory table and the protocol
	 * features belong to the connection and stay. */
	reset_queues(dev);
	dev->features = 0;
	/* The guest starts over with its IOMMU too; misses refill this. */
	pthread_rwlock_wrlock(&dev->iotlb.lock);
	vu_iotlb_flush(&dev->iotlb);
	pthread_rwlock_unlock(&dev->iotlb.lock);
	return 0;
}

static int h_get_queue_num(struct vu_dev *dev, struct vu_msg *m)
{
	return reply_u64(dev, m, dev->num_queues);
}

static int h_get_max_mem_slots(struct vu_dev *dev, struct vu_msg *m)
{
	return reply_u64(dev, m, VU_MAX_MEM_REGIONS);
}

static int h_set_mem_table(struct vu_dev *dev, struct vu_msg *m)
{
	struct vu_mem *next;
	int r = 0;

	/* Build the new table beside the old one, so that a bad table leaves
	 * the running device untouched. */
	next = calloc(1, sizeof(*next));
	if (!next)
		return -ENOMEM;
	vu_mem_init(next);
	next->owner = &dev->guard;
	for (unsigned int i = 0; i < m->p.mem.nregions; i++) {
		r = vu_mem_add(next, &m->p.mem.regions[i], m->fds[i]);
		if (r < 0)
			break;
	}
	if (r < 0) {
		vu_mem_clear(next);
		free(next);
		return r;
	}
	stop_all(dev);
	vu_mem_clear(&dev->mem);
	dev->mem = *next;
	free(next);
	start_all(dev);
	return 0;
}

static int h_add_mem_reg(struct vu_dev *dev, struct vu_msg *m)
{
	int r;

	stop_all(dev);
	r = vu_mem_add(&dev->mem, &m->p.mem_reg.region, m->fds[0]);
	start_all(dev);
	return r;
}

static int h_rem_mem_reg(struct vu_dev *dev, struct vu_msg *m)
{
	int r;

	stop_all(dev);
	r = vu_mem_remove(&dev->mem, &m->p.mem_reg.region);
	start_all(dev);
	if (r < 0)
		log_error_errno(r, "vhost-user: REM_MEM_REG of unknown region");
	return r;
}

static int h_set_vring_num(struct vu_dev *dev, struct vu_msg *m)
{
	struct vu_queue *q = msg_queue(dev, m->p.state.index);

	if (!q)
		return -EINVAL;
	if (!vu_queue_size_valid(m->p.state.num))
		return log_error_errno(-EINVAL, "vhost-user: queue %u: bad size %u",
				       q->idx, m->p.state.num);
	queue_stop(dev, q);
	q->num = m->p.state.num;
	queue_try_start(dev, q);
	return 0;
}

static int h_set_vring_addr(struct vu_dev *dev, struct vu_msg *m)
{
	struct vu_queue *q = msg_queue(dev, m->p.addr.index);
	struct vring_desc *d;
	struct vring_avail *a;
	struct vring_used *u;
	int r;

	if (!q)
		return -EINVAL;
	/* With a size and a memory table known, refuse bad rings now; they are
	 * checked again whenever the queue starts. */
	if (q->num && dev->mem.nregions &&
	    !(dev->features & (1ull << VU_F_ACCESS_PLATFORM))) {
		r = vu_queue_translate(&dev->mem, q->num, &m->p.addr, &d, &a, &u);
		if (r < 0)
			return log_error_errno(r,
				"vhost-user: queue %u: rings not in guest memory",
				q->idx);
	}
	queue_stop(dev, q);
	q->addr = m->p.addr;
	q->addr_set = true;
	queue_try_start(dev, q);
	return 0;
}

static int h_set_vring_base(struct vu_dev *dev, struct vu_msg *m)
{
	struct vu_queue *q = msg_queue(dev, m->p.state.index);

	if (!q)
		return -EINVAL;
	if (m->p.state.num > UINT16_MAX)
		return log_error_errno(-EINVAL, "vhost-user: queue %u: bad base %u",
				       q->idx, m->p.state.num);
	queue_stop(dev, q);
	q->last_avail_idx = (uint16_t)m->p.state.num;
	q->shadow_avail_idx = q->last_avail_idx;
	queue_try_start(dev, q);
	return 0;
}

static int h_get_vring_base(struct vu_dev *dev, struct vu_msg *m)
{
	struct vu_queue *q = msg_queue(dev, m->p.state.index);

	if (!q)
		return -EINVAL;
	queue_stop(dev, q);
	q->started = false;
	q->broken = false;
	if (q->kick_fd >= 0)
		close(q->kick_fd);
	q->kick_fd = -1;
	m->p.state.num = q->last_avail_idx;
	return vu_msg_reply(dev->sock, m, sizeof(m->p.state));
}

/* Common part of SET_VRING_KICK/CALL/ERR: the queue and the fd (or -1). */
static struct vu_queue *vring_fd_msg(struct vu_dev *dev, struct vu_msg *m,
				     int *fd)
{
	struct vu_queue *q;

	if (m->p.u64 & ~(VU_VRING_IDX_MASK | VU_VRING_NOFD_MASK)) {
		log_error("vhost-user: %s: reserved bits set",
			  vu_msg_request_name(m->hdr.request));
		return NULL;
	}
	q = msg_queue(dev, m->p.u64 & VU_VRING_IDX_MASK);
	if (!q)
		return NULL;
	*fd = (m->p.u64 & VU_VRING_NOFD_MASK) ? -1 : vu_msg_take_fd(m, 0);
	return q;
}

static int h_set_vring_kick(struct vu_dev *dev, struct vu_msg *m)
{
	int fd;
	struct vu_queue *q = vring_fd_msg(dev, m, &fd);

	if (!q)
		return -EINVAL;
	queue_stop(dev, q);
	if (q->kick_fd >= 0)
		close(q->kick_fd);
	q->kick_fd = fd;
	if (fd < 0) {
		q->started = false;
		return log_error_errno(-ENOTSUP,
			"vhost-user: queue %u: polling mode not supported", q->idx);
	}
	q->started = true;
	q->broken = false;
	queue_try_start(dev, q);
	return 0;
}

static int h_set_vring_call(struct vu_dev *dev, struct vu_msg *m)
{
	int fd;
	struct vu_queue *q = vring_fd_msg(dev, m, &fd);

	if (!q)
		return -EINVAL;
	/* The worker may be writing to the old fd: stop it first. */
	queue_stop(dev, q);
	if (q->call_fd >= 0)
		close(q->call_fd);
	q->call_fd = fd;
	if (fd < 0)
		log_warn("vhost-user: queue %u: no call fd, guest not notified",
			 q->idx);
	queue_try_start(dev, q);
	return 0;
}

static int h_set_vring_err(struct vu_dev *dev, struct vu_msg *m)
{
	int fd;
	struct vu_queue *q = vring_fd_msg(dev, m, &fd);

	if (!q)
		return -EINVAL;
	/* Workers never use the error fd: no need to stop them. */
	if (q->err_fd >= 0)
		close(q->err_fd);
	q->err_fd = fd;
	return 0;
}

static int h_set_vring_enable(struct vu_dev *dev, struct vu_msg *m)
{
	struct vu_queue *q = msg_queue(dev, m->p.state.index);

	if (!q)
		return -EINVAL;
	if (m->p.state.num > 1)
		return log_error_errno(-EINVAL,
			"vhost-user: queue %u: bad enable value %u",
			q->idx, m->p.state.num);
	if (m->p.state.num) {
		q->enabled = true;
		queue_try_start(dev, q);
	} else {
		queue_stop(dev, q);
		q->enabled = false;
		/* Without protocol features the ring cannot be disabled. */
		queue_try_start(dev, q);
	}
	return 0;
}

static int h_set_backend_req_fd(struct vu_dev *dev, struct vu_msg *m)
{
	vu_backend_set_fd(&dev->backend, vu_msg_take_fd(m, 0));
	return 0;
}

/* Last address of [iova, iova + size): size 0 or past the end = the end. */
static uint64_t iotlb_last(uint64_t iova, uint64_t size)
{
	if (size == 0 || size - 1 > UINT64_MAX - iova)
		return UINT64_MAX;
	return iova + (size - 1);
}

static int iotlb_update(struct vu_dev *dev, const struct vu_msg_iotlb *im)
{
	uint64_t last = iotlb_last(im->iova, im->size);
	int r;

	/* QEMU answers a miss for an address the guest did not map with a
	 * "no access" update: nothing to add, and nobody to wake (the queue
	 * retries when the guest kicks again, so this cannot loop). */
	if (im->perm == 0) {
		log_debug("vhost-user: IOTLB: no mapping for 0x%llx",
			  (unsigned long long)im->iova);
		return 0;
	}
	pthread_rwlock_wrlock(&dev->iotlb.lock);
	r = vu_iotlb_update(&dev->iotlb, im->iova, im->size, im->uaddr,
			    im->perm);
	pthread_rwlock_unlock(&dev->iotlb.lock);
	if (r < 0)
		return log_error_errno(r,
			"vhost-user: bad IOTLB update iova 0x%llx size 0x%llx "
			"uaddr 0x%llx perm %u",
			(unsigned long long)im->iova,
			(unsigned long long)im->size,
			(unsigned long long)im->uaddr, im->perm);
	for (unsigned int i = 0; i < dev->num_queues; i++) {
		struct vu_queue *q = &dev->queues[i];

		vu_queue_iotlb_wake(q, im->iova, last);
		if (vu_queue_ring_waits_for(q, im->iova, last))
			queue_try_start(dev, q);
	}
	return 0;
}

/*
 * After this returns (and is acked) the guest may reuse the memory: no
 * worker and no in-flight I/O may still use a translation of the range.
 * Queues that may (rings there, or chains in flight) are stopped, which
 * waits for their I/O, and restarted, which translates the rings afresh.
 */
static int iotlb_invalidate(struct vu_dev *dev, const struct vu_msg_iotlb *im)
{
	uint64_t last = iotlb_last(im->iova, im->size);
	bool affected[VU_MAX_QUEUES] = { false };
	unsigned int touched;

	pthread_rwlock_wrlock(&dev->iotlb.lock);
	touched = vu_iotlb_invalidate(&dev->iotlb, im->iova, im->size);
	/* Nothing there, and nothing ever evicted: no translation of the
	 * range was handed out. */
	if (touched > 0 || dev->iotlb.evicted)
		for (unsigned int i = 0; i < dev->num_queues; i++)
			affected[i] = vu_queue_iotlb_affected(&dev->queues[i],
							      im->iova, last);
	pthread_rwlock_unlock(&dev->iotlb.lock);
	for (unsigned int i = 0; i < dev->num_queues; i++) {
		if (!affected[i])
			continue;
		queue_stop(dev, &dev->queues[i]);
		queue_try_start(dev, &dev->queues[i]);
	}
	return 0;
}

static int h_iotlb_msg(struct vu_dev *dev, struct vu_msg *m)
{
	struct vu_msg_iotlb im = m->p.iotlb;

	log_debug("vhost-user: IOTLB type %u iova 0x%llx size 0x%llx uaddr "
		  "0x%llx perm %u", im.type, (unsigned long long)im.iova,
		  (unsigned long long)im.size, (unsigned long long)im.uaddr,
		  im.perm);

	switch (im.type) {
	case VU_IOTLB_UPDATE:
		return iotlb_update(dev, &im);
	case VU_IOTLB_INVALIDATE:
		return iotlb_invalidate(dev, &im);
	default:
		return log_error_errno(-EINVAL,
			"vhost-user: IOTLB message of unexpected type %u",
			im.type);
	}
}

typedef int (*handler_fn)(struct vu_dev *dev, struct vu_msg *m);

static const handler_fn handlers[VU_REQ_MAX] = {
	[VU_REQ_GET_FEATURES] = h_get_features,
	[VU_REQ_SET_FEATURES] = h_set_features,
	[VU_REQ_SET_OWNER] = h_set_owner,
	[VU_REQ_RESET_OWNER] = h_reset,
	[VU_REQ_SET_MEM_TABLE] = h_set_mem_table,
	[VU_REQ_SET_VRING_NUM] = h_set_vring_num,
	[VU_REQ_SET_VRING_ADDR] = h_set_vring_addr,
	[VU_REQ_SET_VRING_BASE] = h_set_vring_base,
	[VU_REQ_GET_VRING_BASE] = h_get_vring_base,
	[VU_REQ_SET_VRING_KICK] = h_set_vring_kick,
	[VU_REQ_SET_VRING_CALL] = h_set_vring_call,
	[VU_REQ_SET_VRING_ERR] = h_set_vring_err,
	[VU_REQ_GET_PROTOCOL_FEATURES] = h_get_protocol_features,
	[VU_REQ_SET_PROTOCOL_FEATURES] = h_set_protocol_features,
	[VU_REQ_GET_QUEUE_NUM] = h_get_queue_num,
	[VU_REQ_SET_VRING_ENABLE] = h_set_vring_enable,
	[VU_REQ_SET_BACKEND_REQ_FD] = h_set_backend_req_fd,
	[VU_REQ_IOTLB_MSG] = h_iotlb_msg,
	[VU_REQ_RESET_DEVICE] = h_reset,
	[VU_REQ_GET_MAX_MEM_SLOTS] = h_get_max_mem_slots,
	[VU_REQ_ADD_MEM_REG] = h_add_mem_reg,
	[VU_REQ_REM_MEM_REG] = h_rem_mem_reg,
};

static void log_unknown_once(struct vu_dev *dev, uint32_t request)
{
	if (request < 64) {
		if (dev->logged_unknown & (1ull << request))
			return;
		dev->logged_unknown |= 1ull << request;
	} else {
		if (dev->logged_unknown_high)
			return;
		dev->logged_unknown_high = true;
	}
	log_warn("vhost-user: unsupported request %u refused", request);
}

/* The SIGBUS guard caught an access past the end of a memory file the
 * front-end shrank under us (guard.h): it already shut our socket down; the
 * device is over. */
static int memory_truncated(struct vu_dev *dev)
{
	if (!atomic_load(&dev->guard.truncated))
		return 0;
	return log_error_errno(-EFAULT,
		"vhost-user: front-end truncated guest memory (a memory file shrank under its mapping, pid %d): device stopped",
		dev->peer_pid);
}

int vu_dev_dispatch(struct vu_dev *dev)
{
	struct vu_msg *m = &dev->msg;
	handler_fn h = NULL;
	bool has_reply;
	int r;

	r = memory_truncated(dev);
	if (r < 0)
		return r;
	r = vu_msg_recv(dev->sock, m);
	if (r < 0 && memory_truncated(dev) < 0)
		return -EFAULT;
	if (r == -ECONNRESET)
		return r;
	if (r < 0)
		return log_error_errno(r, "vhost-user: bad message (request %u)",
				       m->hdr.request);

	if (m->hdr.request < VU_REQ_MAX)
		h = handlers[m->hdr.request];
	has_reply = vu_msg_request_has_reply(m->hdr.request);
	log_debug("vhost-user: %s (%u) flags 0x%x size %u fds %u",
		  vu_msg_request_name(m->hdr.request), m->hdr.request,
		  m->hdr.flags, m->hdr.size, m->nfds);

	if (h) {
		r = h(dev, m);
	} else {
		log_unknown_once(dev, m->hdr.request);
		r = -EOPNOTSUPP;
	}
	vu_msg_close_fds(m);

	if (has_reply) {
		/* A request that expects an answer we could not give leaves
		 * the front-end waiting: the connection is over. */
		if (r < 0)
			return log_error_errno(r, "vhost-user: %s failed",
					       vu_msg_request_name(m->hdr.request));
		return 0;
	}
	if (m->hdr.flags & VU_FLAG_NEED_REPLY) {
		int s = vu_msg_reply_ack(dev->sock, m, r);

		if (s < 0)
			return log_error_errno(s, "vhost-user: sending ack");
	}
	if (dev->fatal)
		return r < 0 ? r : -EPROTO;
	/* A refused request without need_reply was logged by its handler;
	 * the front-end cannot learn of it, the device keeps going. */
	return 0;
}

/* ---- lifetime and accessors ---- */

int vu_dev_new(struct vu_dev **out, int sock_fd, const struct vu_config *cfg,
	       const struct vu_ops *ops, void *opaque)
{
	struct vu_dev *dev;
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (sock_fd < 0 || !cfg || cfg->num_queues < 1 ||
	    cfg->num_queues > VU_MAX_QUEUES)
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	if (vu_iotlb_init(&dev->iotlb, 0) < 0) {
		free(dev);
		return -ENOMEM;
	}
	vu_backend_init(&dev->backend);
	dev->sock = sock_fd;
	dev->num_queues = cfg->num_queues;
	dev->ops = ops;
	dev->opaque = opaque;
	dev->features_offered = VU_FEATURES_BASE | cfg->features;
	dev->protocol_offered = VU_PROTOCOL_OFFERED;
	if (cfg->peer_pid > 0)
		dev->peer_pid = cfg->peer_pid;
	else if (getsockopt(sock_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
		 len == sizeof(cred))
		dev->peer_pid = cred.pid;
	vu_mem_init(&dev->mem);
	atomic_init(&dev->guard.truncated, 0);
	atomic_init(&dev->guard.sock, sock_fd);
	dev->mem.owner = &dev->guard;
	for (unsigned int i = 0; i < VU_MAX_QUEUES; i++) {
		vu_queue_init(&dev->queues[i], dev, &dev->mem, i);
		dev->queues[i].iotlb = &dev->iotlb;
		dev->queues[i].backend = &dev->backend;
	}
	dev->msg.nfds = 0;
	*out = dev;
	return 0;
}

void vu_dev_free(struct vu_dev *dev)
{
	if (!dev)
		return;
	reset_queues(dev);
	vu_mem_clear(&dev->mem);
	vu_backend_destroy(&dev->backend);
	vu_iotlb_destroy(&dev->iotlb);
	free(dev);
}

int vu_dev_fd(const struct vu_dev *dev)
{
	return dev->sock;
}

unsigned int vu_dev_num_queues(const struct vu_dev *dev)
{
	return dev->num_queues;
}

struct vu_queue *vu_dev_queue(struct vu_dev *dev, unsigned int qidx)
{
	if (qidx >= dev->num_queues)
		return NULL;
	return &dev->queues[qidx];
}

int vu_dev_peer_pid(const struct vu_dev *dev)
{
	return dev->peer_pid;
}
