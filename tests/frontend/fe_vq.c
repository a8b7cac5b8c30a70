/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Split virtqueues, driver side: the rings live in guest memory; which
 * descriptors are free and which chains are in flight is tracked privately,
 * never read back from memory the back-end can write.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <linux/virtio_config.h>

#include "fe_internal.h"

static bool has_feature(const struct fe_dev *d, unsigned int bit)
{
	return d->features & (1ull << bit);
}

int fe_vq_init(struct fe_dev *d, unsigned int qidx)
{
	struct fe_vq *q = &d->vqs[qidx];
	unsigned int n = d->opts.queue_size, i;

	q->dev = d;
	q->idx = qidx;
	q->size = n;
	q->desc = fe_mem_alloc(d, sizeof(struct vring_desc) * n, 4096);
	q->avail = fe_mem_alloc(d, sizeof(struct vring_avail) +
				sizeof(uint16_t) * (n + 1), 64);
	q->used = fe_mem_alloc(d, sizeof(struct vring_used) +
			       sizeof(struct vring_used_elem) * n +
			       sizeof(uint16_t), 4096);
	if (!q->desc || !q->avail || !q->used)
		return -ENOMEM;
	if (d->opts.indirect) {
		q->indirect = fe_mem_alloc(d, sizeof(struct vring_desc) *
					   FE_MAX_SEGS * n, 16);
		if (!q->indirect)
			return -ENOMEM;
	}
	q->next = calloc(n, sizeof(*q->next));
	q->chain_n = calloc(n, sizeof(*q->chain_n));
	q->token = calloc(n, sizeof(*q->token));
	q->in_flight = calloc(n, sizeof(*q->in_flight));
	if (!q->next || !q->chain_n || !q->token || !q->in_flight)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		q->next[i] = (uint16_t)((i + 1) % n);
	q->free_head = 0;
	q->num_free = n;
	q->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	q->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->kick_fd < 0 || q->call_fd < 0)
		return -errno;
	return 0;
}

void fe_vq_reset(struct fe_vq *q)
{
	unsigned int n = q->size, i;
	uint64_t v;

	if (!q->desc)
		return;
	memset(q->desc, 0, sizeof(struct vring_desc) * n);
	memset(q->avail, 0, sizeof(struct vring_avail) +
	       sizeof(uint16_t) * (n + 1));
	memset(q->used, 0, sizeof(struct vring_used) +
	       sizeof(struct vring_used_elem) * n + sizeof(uint16_t));
	for (i = 0; i < n; i++) {
		q->next[i] = (uint16_t)((i + 1) % n);
		q->in_flight[i] = false;
		q->token[i] = NULL;
	}
	q->free_head = 0;
	q->num_free = n;
	q->inflight = 0;
	q->avail_idx = q->kicked_idx = q->last_used = 0;
	while (read(q->call_fd, &v, sizeof(v)) == sizeof(v))
		;
}

void fe_vq_destroy(struct fe_vq *q)
{
	if (q->kick_fd >= 0)
		close(q->kick_fd);
	if (q->call_fd >= 0)
		close(q->call_fd);
	q->kick_fd = q->call_fd = -1;
	free(q->next);
	free(q->chain_n);
	free(q->token);
	free(q->in_flight);
	q->next = q->chain_n = NULL;
	q->token = NULL;
	q->in_flight = NULL;
}

static void publish(struct fe_vq *q, uint16_t head)
{
	q->avail->ring[q->avail_idx % q->size] = head;
	q->avail_idx++;
	__atomic_store_n(&q->avail->idx, q->avail_idx, __ATOMIC_RELEASE);
}

static void fill(struct vring_desc *desc, uint64_t gpa, const struct fe_seg *s)
{
	desc->addr = gpa;
	desc->len = s->len;
	desc->flags = s->writable ? VRING_DESC_F_WRITE : 0;
	desc->next = 0;
}

int fe_vq_add(struct fe_vq *q, const struct fe_seg *seg, unsigned int nseg,
	      void *token)
{
	struct fe_dev *d = q->dev;
	uint64_t gpa[FE_MAX_SEGS];
	unsigned int i;
	uint16_t head, cur = 0;
	bool indirect;

	if (!q->desc || !nseg || nseg > FE_MAX_SEGS)
		return -EINVAL;
	/* A driver must not build a chain longer than the queue size, even
	 * through an indirect table; hostile tests write raw descriptors. */
	if (nseg > q->size)
		return -E2BIG;
	for (i = 0; i < nseg; i++) {
		gpa[i] = fe_mem_gpa(d, seg[i].addr);
		if (gpa[i] == UINT64_MAX ||
		    !fe_mem_host(d, gpa[i], seg[i].len))
			return -EINVAL;
	}
	indirect = q->indirect && nseg > 1;
	if (q->num_free < (indirect ? 1 : nseg))
		return -ENOSPC;
	head = q->free_head;
	if (indirect) {
		struct vring_desc *t = q->indirect + (size_t)head * FE_MAX_SEGS;

		for (i = 0; i < nseg; i++) {
			fill(&t[i], gpa[i], &seg[i]);
			if (i + 1 < nseg) {
				t[i].flags |= VRING_DESC_F_NEXT;
				t[i].next = (uint16_t)(i + 1);
			}
		}
		q->desc[head].addr = fe_mem_gpa(d, t);
		q->desc[head].len = nseg * sizeof(*t);
		q->desc[head].flags = VRING_DESC_F_INDIRECT;
		q->desc[head].next = 0;
		q->free_head = q->next[head];
		q->chain_n[head] = 1;
		q->num_free--;
	} else {
		cur = head;
		for (i = 0; i < nseg; i++) {
			fill(&q->desc[cur], gpa[i], &seg[i]);
			if (i + 1 < nseg) {
				q->desc[cur].flags |= VRING_DESC_F_NEXT;
				q->desc[cur].next = q->next[cur];
				cur = q->next[cur];
			}
		}
		q->free_head = q->next[cur];
		q->chain_n[head] = (uint16_t)nseg;
		q->num_free -= nseg;
	}
	q->token[head] = token;
	q->in_flight[head] = true;
	q->inflight++;
	publish(q, head);
	return head;
}

static int write_eventfd(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		return -errno;
	return 0;
}

int fe_vq_kick_force(struct fe_vq *q)
{
	q->kicked_idx = q->avail_idx;
	return write_eventfd(q->kick_fd);
}

int fe_vq_kick(struct fe_vq *q)
{
	bool need;

	/* Order the avail->idx store before reading the device's wish. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (has_feature(q->dev, VIRTIO_RING_F_EVENT_IDX)) {
		uint16_t ev = __atomic_load_n(
			(uint16_t *)&q->used->ring[q->size], __ATOMIC_ACQUIRE);

		need = vring_need_event(ev, q->avail_idx, q->kicked_idx);
	} else {
		need = !(__atomic_load_n(&q->used->flags, __ATOMIC_ACQUIRE) &
			 VRING_USED_F_NO_NOTIFY);
	}
	q->kicked_idx = q->avail_idx;
	return need ? write_eventfd(q->kick_fd) : 0;
}

uint16_t fe_vq_used_idx(const struct fe_vq *q)
{
	return __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
}

static void set_used_event(struct fe_vq *q)
{
	if (has_feature(q->dev, VIRTIO_RING_F_EVENT_IDX))
		__atomic_store_n(&q->avail->ring[q->size], q->last_used,
				 __ATOMIC_RELEASE);
}

int fe_vq_get(struct fe_vq *q, void **token, uint32_t *len)
{
	struct vring_used_elem e;
	uint16_t tail;
	unsigned int i;

	if (!q->used || fe_vq_used_idx(q) == q->last_used)
		return 0;
	e = q->used->ring[q->last_used % q->size];
	if (e.id >= q->size || !q->in_flight[e.id])
		return -EPROTO;
	tail = (uint16_t)e.id;
	for (i = 1; i < q->chain_n[e.id]; i++)
		tail = q->next[tail];
	q->next[tail] = q->free_head;
	q->free_head = (uint16_t)e.id;
	q->num_free += q->chain_n[e.id];
	q->in_flight[e.id] = false;
	q->inflight--;
	q->last_used++;
	set_used_event(q);
	if (token)
		*token = q->token[e.id];
	if (len)
		*len = e.len;
	return 1;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

static void drain_eventfd(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) == sizeof(v))
		;
}

int fe_vq_wait(struct fe_vq *q, int timeout_ms)
{
	int64_t deadline = fe_now_ms() +
		(timeout_ms < 0 ? q->dev->opts.timeout_ms : timeout_ms);
	unsigned int spins = 0;

	if (!q->used)
		return -EINVAL;
	for (;;) {
		struct pollfd p = { .fd = q->call_fd, .events = POLLIN };
		int64_t left;

		set_used_event(q);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (fe_vq_used_idx(q) != q->last_used)
			return 0;
		left = deadline - fe_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		if (q->dev->opts.busy_poll) {
			if (++spins % 1024 == 0)
				drain_eventfd(q->call_fd);
			cpu_relax();
			continue;
		}
		if (poll(&p, 1, (int)left) > 0)
			drain_eventfd(q->call_fd);
	}
}

unsigned int fe_vq_inflight(const struct fe_vq *q) { return q->inflight; }
unsigned int fe_vq_size(const struct fe_vq *q) { return q->size; }
unsigned int fe_vq_index(const struct fe_vq *q) { return q->idx; }
int fe_vq_kick_fd(const struct fe_vq *q) { return q->kick_fd; }
int fe_vq_call_fd(const struct fe_vq *q) { return q->call_fd; }
uint16_t fe_vq_base(const struct fe_vq *q) { return q->base; }
struct vring_desc *fe_vq_desc(struct fe_vq *q) { return q->desc; }
struct vring_avail *fe_vq_avail(struct fe_vq *q) { return q->avail; }
struct vring_used *fe_vq_used(struct fe_vq *q) { return q->used; }

void fe_vq_publish_raw(struct fe_vq *q, uint16_t head)
{
	publish(q, head);
}

void fe_vq_set_avail_idx(struct fe_vq *q, uint16_t idx)
{
	q->avail_idx = idx;
	__atomic_store_n(&q->avail->idx, idx, __ATOMIC_RELEASE);
}
