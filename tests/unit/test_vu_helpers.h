/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A minimal vhost-user front-end and fake guest for the vhost-user library's
 * unit tests: a socketpair with the device on one end, guest memory in
 * memfds that the test maps too, and helpers to lay out split rings.
 * Everything runs on the test's thread: send a message, then dispatch it.
 */
#ifndef TEST_VU_HELPERS_H
#define TEST_VU_HELPERS_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vhost-user/dev.h"
#include "vhost-user/msg.h"
#include "vhost-user/vu.h"

#define T_F_VERSION_1 (1ull << 32)
#define T_F_INDIRECT (1ull << VIRTIO_RING_F_INDIRECT_DESC)
#define T_F_EVENT_IDX (1ull << VIRTIO_RING_F_EVENT_IDX)
#define T_F_PROTOCOL (1ull << VU_F_PROTOCOL_FEATURES)

/* Front-end virtual addresses are arbitrary numbers to the back-end. */
#define T_QVA_BASE 0x7f0000000000ull

struct t_events {
	int starts[VU_MAX_QUEUES];
	int stops[VU_MAX_QUEUES];
	char log[256]; /* "S0 s0 ..." in call order */
};

static inline void t_ev_add(struct t_events *ev, char c, unsigned int q)
{
	size_t l = strlen(ev->log);

	snprintf(ev->log + l, sizeof(ev->log) - l, "%s%c%u", l ? " " : "", c, q);
}

static inline void t_queue_start(struct vu_dev *dev, unsigned int q, void *o)
{
	struct t_events *ev = o;

	ev->starts[q]++;
	t_ev_add(ev, 'S', q);
}

static inline void t_queue_stop(struct vu_dev *dev, unsigned int q, void *o)
{
	struct t_events *ev = o;

	ev->stops[q]++;
	t_ev_add(ev, 's', q);
}

static const struct vu_ops t_ops = {
	.queue_start = t_queue_start,
	.queue_stop = t_queue_stop,
};

struct t_fe {
	int fd;             /* front-end end of the socketpair */
	int dev_fd;
	struct vu_dev *dev;
	struct t_events ev;
};

static inline void t_fe_open(struct t_fe *fe, unsigned int nq, uint64_t feat)
{
	struct vu_config cfg = { .num_queues = nq, .features = feat };
	int sv[2];

	memset(fe, 0, sizeof(*fe));
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fe->fd = sv[0];
	fe->dev_fd = sv[1];
	cr_assert_eq(vu_dev_new(&fe->dev, sv[1], &cfg, &t_ops, &fe->ev), 0);
}

static inline void t_fe_close(struct t_fe *fe)
{
	vu_dev_free(fe->dev);
	fe->dev = NULL;
	close(fe->fd);
	close(fe->dev_fd);
}

static inline void t_send(struct t_fe *fe, uint32_t req, uint32_t flags,
			  const void *payload, uint32_t size, const int *fds,
			  unsigned int nfds)
{
	struct vu_msg_hdr hdr = { req, flags, size };

	cr_assert_eq(vu_msg_send(fe->fd, &hdr, payload, fds, nfds), 0);
}

/* Send and dispatch; returns what vu_dev_dispatch returned. */
static inline int t_call(struct t_fe *fe, uint32_t req, uint32_t flags,
			 const void *payload, uint32_t size, const int *fds,
			 unsigned int nfds)
{
	t_send(fe, req, VU_FLAG_VERSION | flags, payload, size, fds, nfds);
	return vu_dev_dispatch(fe->dev);
}

/* Read one reply without blocking; returns payload size or -errno. */
static inline int t_reply(struct t_fe *fe, uint32_t req, void *payload,
			  size_t max)
{
	struct vu_msg_hdr hdr;
	ssize_t n = recv(fe->fd, &hdr, sizeof(hdr), MSG_DONTWAIT);

	if (n < 0)
		return -errno;
	cr_assert_eq(n, (ssize_t)sizeof(hdr));
	cr_assert_eq(hdr.request, req);
	cr_assert_eq(hdr.flags, VU_FLAG_VERSION | VU_FLAG_REPLY);
	cr_assert_leq(hdr.size, max);
	if (hdr.size) {
		n = recv(fe->fd, payload, hdr.size, MSG_DONTWAIT);
		cr_assert_eq(n, (ssize_t)hdr.size);
	}
	return (int)hdr.size;
}

static inline bool t_no_reply(struct t_fe *fe)
{
	char c;

	return recv(fe->fd, &c, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

static inline uint64_t t_get_u64(struct t_fe *fe, uint32_t req)
{
	uint64_t v = 0;

	cr_assert_eq(t_call(fe, req, 0, NULL, 0, NULL, 0), 0);
	cr_assert_eq(t_reply(fe, req, &v, sizeof(v)), 8);
	return v;
}

/* Send with need_reply and return the ack value (0 = success). */
static inline uint64_t t_ack(struct t_fe *fe, uint32_t req, const void *p,
			     uint32_t size, const int *fds, unsigned int nfds)
{
	uint64_t v = 99;

	cr_assert_eq(t_call(fe, req, VU_FLAG_NEED_REPLY, p, size, fds, nfds), 0);
	cr_assert_eq(t_reply(fe, req, &v, sizeof(v)), 8);
	return v;
}

static inline uint64_t t_set_u64(struct t_fe *fe, uint32_t req, uint64_t v)
{
	return t_ack(fe, req, &v, sizeof(v), NULL, 0);
}

static inline uint64_t t_state(struct t_fe *fe, uint32_t req, uint32_t idx,
			       uint32_t num)
{
	struct vu_msg_vring_state s = { idx, num };

	return t_ack(fe, req, &s, sizeof(s), NULL, 0);
}

/* ---- guest memory ---- */

struct t_region {
	int fd;
	uint8_t *map;
	uint64_t size;
	uint64_t gpa;
	uint64_t qva;
};

static inline void t_region_new(struct t_region *r, const char *name,
				uint64_t gpa, uint64_t size)
{
	r->fd = memfd_create(name, MFD_CLOEXEC);
	cr_assert_geq(r->fd, 0);
	cr_assert_eq(ftruncate(r->fd, (off_t)size), 0);
	r->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	cr_assert_neq(r->map, MAP_FAILED);
	r->size = size;
	r->gpa = gpa;
	r->qva = T_QVA_BASE + gpa;
}

static inline void t_region_free(struct t_region *r)
{
	munmap(r->map, r->size);
	close(r->fd);
}

static inline struct vu_msg_region t_msg_region(const struct t_region *r)
{
	return (struct vu_msg_region) { r->gpa, r->size, r->qva, 0 };
}

/* SET_MEM_TABLE with the given regions; returns the ack. */
static inline uint64_t t_set_mem(struct t_fe *fe, struct t_region *regs,
				 unsigned int n)
{
	struct vu_msg_mem_table mt = { .nregions = n };
	int fds[VU_MSG_MAX_FDS];

	for (unsigned int i = 0; i < n; i++) {
		mt.regions[i] = t_msg_region(&regs[i]);
		fds[i] = regs[i].fd;
	}
	return t_ack(fe, VU_REQ_SET_MEM_TABLE, &mt,
		     VU_MEM_TABLE_HDR_SIZE + n * sizeof(struct vu_msg_region),
		     fds, n);
}

/* Whether a memfd of this name is mapped in this process. */
static inline bool t_mapped(const char *name)
{
	char line[512], pat[128];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "re");

	cr_assert_not_null(f);
	snprintf(pat, sizeof(pat), "/memfd:%s ", name);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, pat))
			found = true;
	fclose(f);
	return found;
}

/* Count mappings of a memfd of this name (the test's own counts too). */
static inline int t_map_count(const char *name)
{
	char line[512], pat[128];
	int n = 0;
	FILE *f = fopen("/proc/self/maps", "re");

	cr_assert_not_null(f);
	snprintf(pat, sizeof(pat), "/memfd:%s ", name);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, pat))
			n++;
	fclose(f);
	return n;
}

/* ---- a split ring laid out at the start of a region ---- */

struct t_ring {
	struct t_region *reg;
	unsigned int num;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx;   /* guest's next avail index */
	uint16_t used_seen;
	int kick, call;
};

static inline void t_ring_layout(struct t_ring *r, struct t_region *reg,
				 uint64_t off, unsigned int num)
{
	memset(r, 0, sizeof(*r));
	r->reg = reg;
	r->num = num;
	r->desc_gpa = reg->gpa + off;
	r->avail_gpa = r->desc_gpa + 16ull * num;
	r->used_gpa = (r->avail_gpa + 6 + 2ull * num + 3) & ~3ull;
	r->desc = (void *)(reg->map + off);
	r->avail = (void *)(reg->map + (r->avail_gpa - reg->gpa));
	r->used = (void *)(reg->map + (r->used_gpa - reg->gpa));
	r->kick = r->call = -1;
}

static inline uint64_t t_qva(const struct t_ring *r, uint64_t gpa)
{
	return gpa - r->reg->gpa + r->reg->qva;
}

static inline struct vu_msg_vring_addr t_ring_addr(const struct t_ring *r,
						   unsigned int q)
{
	return (struct vu_msg_vring_addr) {
		.index = q,
		.desc_user_addr = t_qva(r, r->desc_gpa),
		.used_user_addr = t_qva(r, r->used_gpa),
		.avail_user_addr = t_qva(r, r->avail_gpa),
	};
}

/* NUM, BASE, ADDR, KICK, CALL for queue q; the ring then runs when enabled. */
static inline void t_ring_setup(struct t_fe *fe, struct t_ring *r,
				unsigned int q, uint16_t base)
{
	struct vu_msg_vring_addr a = t_ring_addr(r, q);
	uint64_t v;

	cr_assert_eq(t_state(fe, VU_REQ_SET_VRING_NUM, q, r->num), 0);
	cr_assert_eq(t_state(fe, VU_REQ_SET_VRING_BASE, q, base), 0);
	r->avail_idx = base;
	r->avail->idx = base;
	r->used->idx = base;
	r->used_seen = base;
	cr_assert_eq(t_ack(fe, VU_REQ_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 0);
	r->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	v = q;
	cr_assert_eq(t_ack(fe, VU_REQ_SET_VRING_CALL, &v, 8, &r->call, 1), 0);
	cr_assert_eq(t_ack(fe, VU_REQ_SET_VRING_KICK, &v, 8, &r->kick, 1), 0);
}

static inline void t_ring_close(struct t_ring *r)
{
	if (r->kick >= 0)
		close(r->kick);
	if (r->call >= 0)
		close(r->call);
}

static inline void t_desc(struct t_ring *r, unsigned int i, uint64_t gpa,
			  uint32_t len, uint16_t flags, uint16_t next)
{
	r->desc[i] = (struct vring_desc) { gpa, len, flags, next };
}

static inline void t_avail_push(struct t_ring *r, uint16_t head)
{
	r->avail->ring[r->avail_idx % r->num] = head;
	r->avail_idx++;
	__atomic_store_n(&r->avail->idx, r->avail_idx, __ATOMIC_RELEASE);
}

/* Whether the call eventfd was signalled (and reset it). */
static inline bool t_called(struct t_ring *r)
{
	uint64_t v;

	return read(r->call, &v, sizeof(v)) == (ssize_t)sizeof(v);
}

#endif
