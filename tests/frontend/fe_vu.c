/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control plane of the test front-end: vhost-user framing over the UNIX
 * socket (any message, any fds, for hostile tests too), the QEMU-like
 * handshake and teardown.
 */
#include <errno.h>
#include <stddef.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <linux/virtio_config.h>

#include "fe_internal.h"

int64_t fe_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(int64_t deadline)
{
	int64_t left = deadline - fe_now_ms();

	return left < 0 ? 0 : (int)left;
}

static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	do {
		r = poll(&p, 1, remaining_ms(deadline));
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	return 0;
}

/* ---- framing ---- */

bool fe_vu_request_has_reply(uint32_t request)
{
	switch (request) {
	case FE_VU_GET_FEATURES:
	case FE_VU_GET_PROTOCOL_FEATURES:
	case FE_VU_GET_VRING_BASE:
	case FE_VU_GET_QUEUE_NUM:
	case FE_VU_GET_CONFIG:
	case FE_VU_GET_INFLIGHT_FD:
	case FE_VU_GET_MAX_MEM_SLOTS:
	case FE_VU_GET_STATUS:
	case FE_VU_SET_LOG_BASE:
		return true;
	default:
		return false;
	}
}

static int send_iov(int sock, struct iovec *iov, int iovcnt, const int *fds,
		    unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * FE_VU_MAX_FDS)];
		struct cmsghdr align;
	} cbuf;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = iovcnt };
	size_t total = 0, done;
	ssize_t n;
	int i;

	if (nfds > FE_VU_MAX_FDS)
		return -EINVAL;
	for (i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if (nfds) {
		struct cmsghdr *c;

		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* A stream socket may take less; send the rest without fds. */
	done = (size_t)n;
	while (done < total) {
		size_t skip = done;
		struct iovec rest[4];
		int k = 0;

		for (i = 0; i < iovcnt && k < 4; i++) {
			if (skip >= iov[i].iov_len) {
				skip -= iov[i].iov_len;
				continue;
			}
			rest[k].iov_base = (char *)iov[i].iov_base + skip;
			rest[k].iov_len = iov[i].iov_len - skip;
			skip = 0;
			k++;
		}
		mh = (struct msghdr){ .msg_iov = rest, .msg_iovlen = k };
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return 0;
}

int fe_vu_send(struct fe_dev *d, uint32_t request, uint32_t flags,
	       uint32_t size, const void *payload, size_t payload_len,
	       const int *fds, unsigned int nfds)
{
	struct fe_vu_hdr hdr = { .request = request, .flags = flags,
				 .size = size };
	struct iovec iov[2] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = payload_len },
	};

	return send_iov(d->sock, iov, payload_len ? 2 : 1, fds, nfds);
}

int fe_vu_send_raw(struct fe_dev *d, const void *buf, size_t len,
		   const int *fds, unsigned int nfds)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	return send_iov(d->sock, &iov, 1, fds, nfds);
}

void fe_vu_msg_close_fds(struct fe_vu_msg *m)
{
	unsigned int i;

	for (i = 0; i < m->nfds; i++)
		close(m->fds[i]);
	m->nfds = 0;
}

static void take_fds(struct fe_vu_msg *m, struct msghdr *mh)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n, i;
		int fd;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (m->nfds < FE_VU_MAX_FDS)
				m->fds[m->nfds++] = fd;
			else
				close(fd);
		}
	}
}

static int recv_full(struct fe_dev *d, struct fe_vu_msg *m, void *buf,
		     size_t len, int64_t deadline)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * FE_VU_MAX_FDS)];
		struct cmsghdr align;
	} cbuf;
	size_t got = 0;

	while (got < len) {
		struct iovec iov = { .iov_base = (char *)buf + got,
				     .iov_len = len - got };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cbuf.buf,
				     .msg_controllen = sizeof(cbuf.buf) };
		ssize_t n;
		int r;

		r = wait_fd(d->sock, POLLIN, deadline);
		if (r < 0)
			return r;
		n = recvmsg(d->sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return errno == ECONNRESET ? -ECONNRESET : -errno;
		if (n == 0)
			return -ECONNRESET;
		take_fds(m, &mh);
		got += (size_t)n;
	}
	return 0;
}

int fe_vu_recv(struct fe_dev *d, struct fe_vu_msg *m, int timeout_ms)
{
	int64_t deadline = fe_now_ms() +
		(timeout_ms < 0 ? d->opts.timeout_ms : timeout_ms);
	int r;

	memset(&m->hdr, 0, sizeof(m->hdr));
	memset(&m->payload, 0, sizeof(m->payload));
	m->nfds = 0;
	r = recv_full(d, m, &m->hdr, sizeof(m->hdr), deadline);
	if (r < 0)
		goto fail;
	if (m->hdr.size > FE_VU_MAX_PAYLOAD) {
		r = -EMSGSIZE;
		goto fail;
	}
	r = recv_full(d, m, &m->payload, m->hdr.size, deadline);
	if (r < 0)
		goto fail;
	return 0;
fail:
	fe_vu_msg_close_fds(m);
	return r;
}

static bool reply_ack_on(const struct fe_dev *d)
{
	return d->proto & (1ull << FE_VU_PROTO_REPLY_ACK);
}

int fe_vu_call(struct fe_dev *d, uint32_t request, const void *payload,
	       uint32_t size, const int *fds, unsigned int nfds,
	       struct fe_vu_msg *reply)
{
	struct fe_vu_msg *m = reply, local;
	bool has_reply = fe_vu_request_has_reply(request);
	uint32_t flags = FE_VU_VERSION;
	int r;

	if (!has_reply && reply_ack_on(d))
		flags |= FE_VU_FLAG_NEED_REPLY;
	r = fe_vu_send(d, request, flags, size, payload, size, fds, nfds);
	if (r < 0)
		return r;
	if (!has_reply && !(flags & FE_VU_FLAG_NEED_REPLY))
		return 0;
	if (!m)
		m = &local;
	r = fe_vu_recv(d, m, -1);
	if (r < 0)
		return r;
	if (m != reply)
		fe_vu_msg_close_fds(m);
	if (m->hdr.request != request ||
	    (m->hdr.flags & FE_VU_VERSION_MASK) != FE_VU_VERSION ||
	    !(m->hdr.flags & FE_VU_FLAG_REPLY))
		return -EPROTO;
	if (!has_reply) {
		if (m->hdr.size != sizeof(uint64_t))
			return -EPROTO;
		if (m->payload.u64 != 0)
			return -EREMOTEIO;
	}
	return 0;
}

int fe_vu_get_u64(struct fe_dev *d, uint32_t request, uint64_t *val)
{
	struct fe_vu_msg m;
	int r;

	r = fe_vu_call(d, request, NULL, 0, NULL, 0, &m);
	if (r < 0)
		return r;
	fe_vu_msg_close_fds(&m);
	if (m.hdr.size != sizeof(uint64_t))
		return -EPROTO;
	*val = m.payload.u64;
	return 0;
}

int fe_vu_set_u64(struct fe_dev *d, uint32_t request, uint64_t val)
{
	return fe_vu_call(d, request, &val, sizeof(val), NULL, 0, NULL);
}

/* ---- device ---- */

static void apply_defaults(struct fe_opts *o)
{
	const char *t;

	if (!o->mem_size)
		o->mem_size = FE_DEFAULT_MEM_SIZE;
	if (!o->mem_regions)
		o->mem_regions = 1;
	if (!o->gpa_base)
		o->gpa_base = FE_GPA_BASE;
	if (!o->num_queues)
		o->num_queues = 2;
	if (!o->queue_size)
		o->queue_size = FE_DEFAULT_QUEUE_SIZE;
	if (!o->timeout_ms) {
		t = getenv("FE_TIMEOUT_MS");
		o->timeout_ms = t ? atoi(t) : 0;
		if (o->timeout_ms <= 0)
			o->timeout_ms = FE_DEFAULT_TIMEOUT_MS;
	}
}

int fe_dev_from_fd(struct fe_dev **out, int fd, const struct fe_opts *opts)
{
	struct fe_dev *d;
	unsigned int i;
	int r;

	d = calloc(1, sizeof(*d));
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	if (opts)
		d->opts = *opts;
	apply_defaults(&d->opts);
	d->sock = fd;
	d->memfd = -1;
	d->fuse_q = 1;
	d->unique = 1;
	for (i = 0; i < FE_MAX_QUEUES; i++) {
		d->vqs[i].kick_fd = -1;
		d->vqs[i].call_fd = -1;
	}
	if (d->opts.num_queues > FE_MAX_QUEUES ||
	    d->opts.mem_regions > 2 ||
	    (d->opts.queue_size & (d->opts.queue_size - 1)) ||
	    d->opts.queue_size > 32768) {
		r = -EINVAL;
		goto fail;
	}
	r = fe_mem_create(d);
	if (r < 0)
		goto fail;
	*out = d;
	return 0;
fail:
	fe_dev_abort(d);
	return r;
}

static int connect_retry(const char *path, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t deadline = fe_now_ms() + timeout_ms;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		r = -errno;
		close(fd);
		if (r != -ECONNREFUSED && r != -ENOENT && r != -EAGAIN)
			return r;
		if (fe_now_ms() >= deadline)
			return -ETIMEDOUT;
		usleep(10000);
	}
}

int fe_dev_connect(struct fe_dev **out, const char *sock_path,
		   const struct fe_opts *opts)
{
	struct fe_opts o = {0};
	int fd;

	if (opts)
		o = *opts;
	apply_defaults(&o);
	fd = connect_retry(sock_path, o.timeout_ms);
	if (fd < 0)
		return fd;
	return fe_dev_from_fd(out, fd, &o);
}

int fe_dev_negotiate(struct fe_dev *d)
{
	uint64_t want_proto, want;
	int r;

	r = fe_vu_get_u64(d, FE_VU_GET_FEATURES, &d->features_offered);
	if (r < 0)
		return r;
	if (!(d->features_offered & (1ull << FE_VU_F_PROTOCOL_FEATURES)) ||
	    !(d->features_offered & (1ull << VIRTIO_F_VERSION_1)))
		return -EPROTONOSUPPORT;
	r = fe_vu_get_u64(d, FE_VU_GET_PROTOCOL_FEATURES, &d->proto_offered);
	if (r < 0)
		return r;
	want_proto = (1ull << FE_VU_PROTO_MQ) |
		     (1ull << FE_VU_PROTO_CONFIGURE_MEM_SLOTS);
	if (!d->opts.no_reply_ack)
		want_proto |= 1ull << FE_VU_PROTO_REPLY_ACK;
	want_proto &= d->proto_offered;
	r = fe_vu_set_u64(d, FE_VU_SET_PROTOCOL_FEATURES, want_proto);
	if (r < 0)
		return r;
	d->proto = want_proto;
	if (d->proto & (1ull << FE_VU_PROTO_MQ)) {
		uint64_t n;

		r = fe_vu_get_u64(d, FE_VU_GET_QUEUE_NUM, &n);
		if (r < 0)
			return r;
		if (n < d->opts.num_queues)
			return -EPROTONOSUPPORT;
		d->queue_num = n > FE_MAX_QUEUES ? FE_MAX_QUEUES : n;
	}
	if (d->proto & (1ull << FE_VU_PROTO_CONFIGURE_MEM_SLOTS)) {
		r = fe_vu_get_u64(d, FE_VU_GET_MAX_MEM_SLOTS,
				  &d->max_mem_slots);
		if (r < 0)
			return r;
	}
	r = fe_vu_call(d, FE_VU_SET_OWNER, NULL, 0, NULL, 0, NULL);
	if (r < 0)
		return r;
	want = (1ull << VIRTIO_F_VERSION_1) |
	       (1ull << FE_VU_F_PROTOCOL_FEATURES);
	if (d->opts.event_idx)
		want |= 1ull << VIRTIO_RING_F_EVENT_IDX;
	if (d->opts.indirect)
		want |= 1ull << VIRTIO_RING_F_INDIRECT_DESC;
	if ((want & d->features_offered) != want)
		return -EPROTONOSUPPORT;
	r = fe_vu_set_u64(d, FE_VU_SET_FEATURES, want);
	if (r < 0)
		return r;
	d->features = want;
	return 0;
}

int fe_dev_set_mem_table(struct fe_dev *d)
{
	struct fe_vu_mem mem = { .nregions = d->nregions };
	int fds[2] = { d->memfd, d->memfd };
	unsigned int i;

	uint32_t size;

	for (i = 0; i < d->nregions; i++)
		mem.regions[i] = d->regions[i];
	/* Like QEMU: the fixed part plus exactly nregions entries. */
	int r;

	size = offsetof(struct fe_vu_mem, regions) +
	       d->nregions * sizeof(struct fe_vu_region);
	r = fe_vu_call(d, FE_VU_SET_MEM_TABLE, &mem, size, fds, d->nregions,
		       NULL);
	return r < 0 ? r : fe_dev_sync(d);
}

static int set_vring_fd(struct fe_dev *d, uint32_t request,
			unsigned int qidx, int fd)
{
	uint64_t v = qidx & FE_VU_VRING_IDX_MASK;

	if (fd < 0)
		v |= FE_VU_VRING_NOFD;
	return fe_vu_call(d, request, &v, sizeof(v), fd < 0 ? NULL : &fd,
			  fd < 0 ? 0 : 1, NULL);
}

int fe_dev_sync(struct fe_dev *d)
{
	uint64_t v;

	/* With REPLY_ACK every message was already acknowledged. */
	if (reply_ack_on(d))
		return 0;
	/* Like QEMU's enforce_reply(): the back-end handles messages in
	 * order, so once GET_FEATURES is answered, all before it are done;
	 * without this a kick can race the queue's enabling. */
	return fe_vu_get_u64(d, FE_VU_GET_FEATURES, &v);
}

int fe_dev_setup_queue(struct fe_dev *d, unsigned int qidx)
{
	struct fe_vq *q;
	struct fe_vu_state st;
	struct fe_vu_addr addr;
	int r;

	if (qidx >= d->opts.num_queues)
		return -EINVAL;
	q = &d->vqs[qidx];
	if (!q->desc) {
		r = fe_vq_init(d, qidx);
		if (r < 0)
			return r;
	}
	st = (struct fe_vu_state){ .index = qidx, .num = q->size };
	r = fe_vu_call(d, FE_VU_SET_VRING_NUM, &st, sizeof(st), NULL, 0, NULL);
	if (r < 0)
		return r;
	st = (struct fe_vu_state){ .index = qidx, .num = q->avail_idx };
	r = fe_vu_call(d, FE_VU_SET_VRING_BASE, &st, sizeof(st), NULL, 0,
		       NULL);
	if (r < 0)
		return r;
	addr = (struct fe_vu_addr){
		.index = qidx,
		.desc = fe_mem_uaddr(d, q->desc),
		.used = fe_mem_uaddr(d, q->used),
		.avail = fe_mem_uaddr(d, q->avail),
	};
	r = fe_vu_call(d, FE_VU_SET_VRING_ADDR, &addr, sizeof(addr), NULL, 0,
		       NULL);
	if (r < 0)
		return r;
	r = set_vring_fd(d, FE_VU_SET_VRING_KICK, qidx, q->kick_fd);
	if (r < 0)
		return r;
	r = set_vring_fd(d, FE_VU_SET_VRING_CALL, qidx, q->call_fd);
	if (r < 0)
		return r;
	st = (struct fe_vu_state){ .index = qidx, .num = 1 };
	r = fe_vu_call(d, FE_VU_SET_VRING_ENABLE, &st, sizeof(st), NULL, 0,
		       NULL);
	if (r < 0)
		return r;
	r = fe_dev_sync(d);
	if (r < 0)
		return r;
	q->setup = true;
	d->running = true;
	return 0;
}

int fe_dev_handshake(struct fe_dev *d)
{
	unsigned int i;
	int r;

	r = fe_dev_negotiate(d);
	if (r < 0)
		return r;
	r = fe_dev_set_mem_table(d);
	if (r < 0)
		return r;
	for (i = 0; i < d->opts.num_queues; i++) {
		r = fe_dev_setup_queue(d, i);
		if (r < 0)
			return r;
	}
	/* With two regions, put request buffers in the second one so that
	 * every FUSE request exercises multi-region translation. */
	if (d->nregions > 1)
		fe_mem_use_region(d, 1);
	return 0;
}

int fe_dev_open(struct fe_dev **out, const char *sock_path,
		const struct fe_opts *opts)
{
	struct fe_dev *d;
	int r;

	r = fe_dev_connect(&d, sock_path, opts);
	if (r < 0)
		return r;
	r = fe_dev_handshake(d);
	if (r < 0) {
		fe_dev_abort(d);
		return r;
	}
	*out = d;
	return 0;
}

int fe_dev_stop(struct fe_dev *d)
{
	unsigned int i;
	int r, ret = 0;

	if (!d->running)
		return 0;
	d->running = false;
	for (i = 0; i < d->opts.num_queues; i++) {
		struct fe_vu_state st = { .index = i, .num = 0 };

		if (!d->vqs[i].setup)
			continue;
		r = fe_vu_call(d, FE_VU_SET_VRING_ENABLE, &st, sizeof(st),
			       NULL, 0, NULL);
		if (r < 0 && !ret)
			ret = r;
	}
	for (i = 0; i < d->opts.num_queues; i++) {
		struct fe_vu_state st = { .index = i };
		struct fe_vu_msg m;

		if (!d->vqs[i].setup)
			continue;
		d->vqs[i].setup = false;
		r = fe_vu_call(d, FE_VU_GET_VRING_BASE, &st, sizeof(st), NULL,
			       0, &m);
		if (r < 0) {
			if (!ret)
				ret = r;
			continue;
		}
		fe_vu_msg_close_fds(&m);
		if (m.hdr.size != sizeof(st) || m.payload.state.index != i) {
			if (!ret)
				ret = -EPROTO;
			continue;
		}
		d->vqs[i].base = (uint16_t)m.payload.state.num;
	}
	return ret;
}

int fe_dev_restart(struct fe_dev *d)
{
	unsigned int i;
	int r;

	r = fe_dev_stop(d);
	if (r < 0)
		return r;
	for (i = 0; i < d->opts.num_queues; i++)
		fe_vq_reset(&d->vqs[i]);
	d->inited = false;
	r = fe_vu_set_u64(d, FE_VU_SET_FEATURES, d->features);
	if (r < 0)
		return r;
	r = fe_dev_set_mem_table(d);
	if (r < 0)
		return r;
	for (i = 0; i < d->opts.num_queues; i++) {
		r = fe_dev_setup_queue(d, i);
		if (r < 0)
			return r;
	}
	return 0;
}

void fe_dev_abort(struct fe_dev *d)
{
	unsigned int i;

	if (!d)
		return;
	if (d->sock >= 0)
		close(d->sock);
	for (i = 0; i < FE_MAX_QUEUES; i++)
		fe_vq_destroy(&d->vqs[i]);
	fe_mem_destroy(d);
	free(d);
}

void fe_dev_close(struct fe_dev *d)
{
	if (!d)
		return;
	if (d->running && fe_dev_connected(d))
		fe_dev_stop(d);
	fe_dev_abort(d);
}

bool fe_dev_connected(struct fe_dev *d)
{
	struct pollfd p = { .fd = d->sock, .events = POLLIN };
	char c;

	if (poll(&p, 1, 0) <= 0)
		return true;
	if (p.revents & (POLLHUP | POLLERR))
		return false;
	/* Readable: EOF, or an unsolicited message (still connected). */
	return recv(d->sock, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

int fe_dev_sock(const struct fe_dev *d) { return d->sock; }
int fe_dev_timeout(const struct fe_dev *d) { return d->opts.timeout_ms; }
const struct fe_opts *fe_dev_opts(const struct fe_dev *d) { return &d->opts; }
uint64_t fe_dev_features(const struct fe_dev *d) { return d->features; }
uint64_t fe_dev_features_offered(const struct fe_dev *d)
{
	return d->features_offered;
}
uint64_t fe_dev_protocol_features(const struct fe_dev *d) { return d->proto; }
uint64_t fe_dev_protocol_offered(const struct fe_dev *d)
{
	return d->proto_offered;
}
unsigned int fe_dev_queue_num_offered(const struct fe_dev *d)
{
	return d->queue_num;
}
unsigned int fe_dev_num_queues(const struct fe_dev *d)
{
	return d->opts.num_queues;
}

struct fe_vq *fe_dev_vq(struct fe_dev *d, unsigned int qidx)
{
	if (qidx >= d->opts.num_queues)
		return NULL;
	return &d->vqs[qidx];
}
