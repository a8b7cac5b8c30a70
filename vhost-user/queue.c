// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Split virtqueue data path: pop a descriptor chain into validated iovecs,
 * push used elements, and guest notification (with or without EVENT_IDX).
 *
 * The guest writes the rings concurrently with us and may be malicious.  Each
 * value read from the rings is read once into a local before it is checked
 * and used.  Any violation latches the queue broken: pop then returns -EIO
 * until the control plane resets the ring; the daemon itself never aborts.
 */
#include "vhost-user/queue.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "vfsd/log.h"

/* Keep the compiler from re-reading guest memory it has copied into a
 * local: after this it cannot assume the shared bytes still match. */
#define compiler_barrier() __asm__ __volatile__("" ::: "memory")

void vu_queue_init(struct vu_queue *q, struct vu_dev *dev,
		   const struct vu_mem *mem, unsigned int idx)
{
	memset(q, 0, sizeof(*q));
	q->dev = dev;
	q->mem = mem;
	q->idx = idx;
	q->kick_fd = -1;
	q->call_fd = -1;
	q->err_fd = -1;
	q->notification = true;
}

void vu_queue_reset(struct vu_queue *q)
{
	if (q->kick_fd >= 0)
		close(q->kick_fd);
	if (q->call_fd >= 0)
		close(q->call_fd);
	if (q->err_fd >= 0)
		close(q->err_fd);
	vu_queue_init(q, q->dev, q->mem, q->idx);
}

bool vu_queue_size_valid(uint64_t num)
{
	return num >= 1 && num <= VU_MAX_RING_SIZE && (num & (num - 1)) == 0;
}

static void *translate_table(const struct vu_mem *mem, uint64_t qva,
			     uint64_t len, uint64_t align)
{
	if (qva & (align - 1))
		return NULL;
	return vu_mem_qva_to_va(mem, qva, len);
}

int vu_queue_translate(const struct vu_mem *mem, unsigned int num,
		       const struct vu_msg_vring_addr *addr,
		       struct vring_desc **desc, struct vring_avail **avail,
		       struct vring_used **used)
{
	/* Sizes include the EVENT_IDX fields: a driver allocates them always. */
	uint64_t desc_len = (uint64_t)sizeof(struct vring_desc) * num;
	uint64_t avail_len = sizeof(uint16_t) * (3 + (uint64_t)num);
	uint64_t used_len = sizeof(uint16_t) * 3 +
			    (uint64_t)sizeof(struct vring_used_elem) * num;
	void *d, *a, *u;

	if (!vu_queue_size_valid(num))
		return -EINVAL;
	d = translate_table(mem, addr->desc_user_addr, desc_len,
			    VRING_DESC_ALIGN_SIZE);
	a = translate_table(mem, addr->avail_user_addr, avail_len,
			    VRING_AVAIL_ALIGN_SIZE);
	u = translate_table(mem, addr->used_user_addr, used_len,
			    VRING_USED_ALIGN_SIZE);
	if (!d || !a || !u)
		return -EFAULT;
	*desc = d;
	*avail = a;
	*used = u;
	return 0;
}

static uint16_t load16(const void *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED));
}

static uint16_t load16_acquire(const void *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE));
}

static void store16(void *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, htole16(v), __ATOMIC_RELAXED);
}

int vu_queue_map(struct vu_queue *q, uint64_t features)
{
	int r;

	r = vu_queue_translate(q->mem, q->num, &q->addr, &q->desc, &q->avail,
			       &q->used);
	if (r < 0)
		return r;
	q->event_idx = features & (1ull << VIRTIO_RING_F_EVENT_IDX);
	q->indirect = features & (1ull << VIRTIO_RING_F_INDIRECT_DESC);
	q->used_idx = load16(&q->used->idx);
	q->shadow_avail_idx = q->last_avail_idx;
	q->signalled_used_valid = false;
	q->notification = true;
	return 0;
}

/* ---- public accessors ---- */

int vu_queue_kick_fd(const struct vu_queue *q)
{
	return q->kick_fd;
}

unsigned int vu_queue_size(const struct vu_queue *q)
{
	return q->num;
}

unsigned int vu_queue_index(const struct vu_queue *q)
{
	return q->idx;
}

bool vu_queue_broken(const struct vu_queue *q)
{
	return q->broken;
}

/* ---- pop ---- */

static int queue_fail(struct vu_queue *q, int err, const char *why)
{
	if (!q->broken)
		log_ratelimited(LOG_LEVEL_ERROR,
				"vhost-user: queue %u broken: %s", q->idx, why);
	q->broken = true;
	return err;
}

/* Where descriptors of the chain being walked come from. */
struct desc_table {
	const struct vring_desc *ptr; /* contiguous in host memory, or NULL */
	uint64_t gpa;                 /* else: read each through vu_mem_read */
	unsigned int size;
};

static int read_desc(const struct vu_queue *q, const struct desc_table *t,
		     unsigned int i, struct vring_desc *out)
{
	if (t->ptr) {
		memcpy(out, &t->ptr[i], sizeof(*out));
	} else if (vu_mem_read(q->mem, t->gpa + (uint64_t)i * sizeof(*out),
			       out, sizeof(*out)) < 0) {
		return -EFAULT;
	}
	compiler_barrier();
	return 0;
}

struct chain_state {
	struct vu_elem *elem;
	struct iovec *iov;
	unsigned int max_iov;
	unsigned int n;
};

/* Translate one buffer, split at region boundaries, into iovecs. */
static int add_buffer(struct vu_queue *q, struct chain_state *cs, uint64_t gpa,
		      uint32_t len, bool write)
{
	uint64_t left = len;

	while (left > 0) {
		uint64_t contig;
		void *p = vu_mem_gpa_to_va_partial(q->mem, gpa, left, &contig);

		if (!p)
			return queue_fail(q, -EFAULT, "buffer outside guest memory");
		if (cs->n >= cs->max_iov)
			return queue_fail(q, -ENOBUFS, "chain has too many buffers");
		cs->iov[cs->n].iov_base = p;
		cs->iov[cs->n].iov_len = (size_t)contig;
		cs->n++;
		left -= contig;
		if (left > 0 && contig > UINT64_MAX - gpa)
			return queue_fail(q, -EFAULT, "buffer wraps");
		gpa += contig;
	}
	if (write) {
		cs->elem->out_num++;
		cs->elem->out_len += len;
	} else {
		cs->elem->in_len += len;
	}
	return 0;
}

static int map_chain(struct vu_queue *q, uint16_t head, struct chain_state *cs)
{
	struct desc_table t = { .ptr = q->desc, .size = q->num };
	struct vu_elem *elem = cs->elem;
	struct vring_desc d;
	unsigned int i = head, count = 0;
	int r;

	r = read_desc(q, &t, i, &d);
	if (r < 0)
		return queue_fail(q, r, "descriptor table unreadable");

	if (le16toh(d.flags) & VRING_DESC_F_INDIRECT) {
		uint32_t len = le32toh(d.len);
		uint64_t gpa = le64toh(d.addr);

		if (!q->indirect)
			return queue_fail(q, -EINVAL, "indirect not negotiated");
		if (le16toh(d.flags) & VRING_DESC_F_NEXT)
			return queue_fail(q, -EINVAL, "indirect with NEXT");
		if (len == 0 || len % sizeof(struct vring_desc) ||
		    len / sizeof(struct vring_desc) > VU_MAX_RING_SIZE)
			return queue_fail(q, -EINVAL, "bad indirect table size");
		t.size = len / sizeof(struct vring_desc);
		t.gpa = gpa;
		/* A table in one region is read in place; one that spans
		 * regions (or is misaligned) descriptor by descriptor. */
		t.ptr = (gpa & 7) ? NULL : vu_mem_gpa_to_va(q->mem, gpa, len);
		i = 0;
		r = read_desc(q, &t, i, &d);
		if (r < 0)
			return queue_fail(q, r, "indirect table outside memory");
	}

	for (;;) {
		uint16_t flags = le16toh(d.flags);
		uint32_t len = le32toh(d.len);
		bool write = flags & VRING_DESC_F_WRITE;

		if (++count > t.size)
			return queue_fail(q, -ELOOP, "descriptor loop");
		if (flags & VRING_DESC_F_INDIRECT)
			return queue_fail(q, -EINVAL, "misplaced indirect descriptor");
		if (len == 0)
			return queue_fail(q, -EINVAL, "zero-length descriptor");
		if (!write && elem->out_num > 0)
			return queue_fail(q, -EINVAL, "readable after writable");
		r = add_buffer(q, cs, le64toh(d.addr), len, write);
		if (r < 0)
			return r;
		if (!write)
			elem->in_num = cs->n;
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		i = le16toh(d.next);
		if (i >= t.size)
			return queue_fail(q, -EINVAL, "next out of range");
		r = read_desc(q, &t, i, &d);
		if (r < 0)
			return queue_fail(q, r, "indirect table outside memory");
	}
	/* out_num so far counted descriptors; make it count iovecs. */
	elem->out_num = cs->n - elem->in_num;
	return 0;
}

int vu_queue_pop(struct vu_queue *q, struct vu_elem *elem, struct iovec *iov,
		 unsigned int max_iov)
{
	struct chain_state cs = { .elem = elem, .iov = iov, .max_iov = max_iov };
	uint16_t avail_idx, head;
	int r;

	if (q->broken)
		return -EIO;
	if (!q->avail)
		return -EIO;
	/* The caller's mistake, not the guest's: do not latch. */
	if (cs.max_iov == 0)
		return -EINVAL;
	if (cs.max_iov > VU_MAX_CHAIN_IOV)
		cs.max_iov = VU_MAX_CHAIN_IOV;

	if (q->shadow_avail_idx == q->last_avail_idx) {
		/* Acquire: the ring entries and descriptors the guest wrote
		 * before publishing this index are visible after it. */
		avail_idx = load16_acquire(&q->avail->idx);
		if ((uint16_t)(avail_idx - q->last_avail_idx) > q->num)
			return queue_fail(q, -EINVAL, "avail index jumped");
		q->shadow_avail_idx = avail_idx;
		if (avail_idx == q->last_avail_idx)
			return 0;
	}

	head = load16(&q->avail->ring[q->last_avail_idx & (q->num - 1)]);
	if (head >= q->num)
		return queue_fail(q, -EINVAL, "head out of range");

	memset(elem, 0, sizeof(*elem));
	elem->head = head;
	elem->in_iov = iov;
	r = map_chain(q, head, &cs);
	if (r < 0)
		return r;
	elem->out_iov = iov + elem->in_num;

	q->last_avail_idx++;
	if (q->event_idx && q->notification)
		store16(&q->used->ring[q->num], q->last_avail_idx);
	return 1;
}

/* ---- push and notify ---- */

void vu_queue_push(struct vu_queue *q, const struct vu_elem *elem, uint32_t len)
{
	struct vring_used_elem ue;
	uint16_t slot;

	if (q->broken || !q->used)
		return;
	/* Never claim more than the guest gave us room for. */
	if (len > elem->out_len)
		len = (uint32_t)elem->out_len;
	ue.id = htole32(elem->head);
	ue.len = htole32(len);
	slot = q->used_idx & (q->num - 1);
	memcpy(&q->used->ring[slot], &ue, sizeof(ue));
	q->used_idx++;
	/* Release: the element is visible before the index that covers it. */
	__atomic_store_n(&q->used->idx, htole16(q->used_idx), __ATOMIC_RELEASE);
}

static bool need_notify(struct vu_queue *q)
{
	uint16_t old, new, event;
	bool valid;

	/* Our used->idx store must be visible before we read the guest's
	 * suppression state, or both sides may decide not to signal. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	if (!q->event_idx)
		return !(load16(&q->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);

	old = q->signalled_used;
	valid = q->signalled_used_valid;
	new = q->signalled_used = q->used_idx;
	q->signalled_used_valid = true;
	event = load16(&q->avail->ring[q->num]);
	return !valid || vring_need_event(event, new, old);
}

void vu_queue_notify(struct vu_queue *q)
{
	uint64_t one = 1;

	if (q->broken || !q->avail || q->call_fd < 0)
		return;
	if (!need_notify(q))
		return;
	/* EAGAIN means the counter is saturated: the guest will be woken. */
	while (write(q->call_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

bool vu_queue_enable_notification(struct vu_queue *q)
{
	uint16_t avail_idx;

	if (q->broken || !q->avail)
		return false;
	q->notification = true;
	if (q->event_idx) {
		store16(&q->used->ring[q->num], q->last_avail_idx);
	} else {
		uint16_t f = load16(&q->used->flags);

		store16(&q->used->flags, f & ~VRING_USED_F_NO_NOTIFY);
	}
	/* Publish the request for kicks before looking for new buffers: a
	 * buffer added meanwhile is seen here or kicks us. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	avail_idx = load16_acquire(&q->avail->idx);
	return avail_idx != q->last_avail_idx;
}

void vu_queue_disable_notification(struct vu_queue *q)
{
	if (q->broken || !q->avail)
		return;
	q->notification = false;
	if (!q->event_idx) {
		uint16_t f = load16(&q->used->flags);

		store16(&q->used->flags, f | VRING_USED_F_NO_NOTIFY);
	}
}
