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
#include <linux/virtio_config.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
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

static void unmap_aliases(struct vu_queue *q)
{
	for (unsigned int i = 0; i < 3; i++) {
		if (q->alias[i].base)
			munmap(q->alias[i].base, q->alias[i].len);
		q->alias[i].base = NULL;
		q->alias[i].len = 0;
	}
}

void vu_queue_reset(struct vu_queue *q)
{
	struct vu_iotlb *iotlb = q->iotlb;
	struct vu_backend *backend = q->backend;

	if (q->kick_fd >= 0)
		close(q->kick_fd);
	if (q->call_fd >= 0)
		close(q->call_fd);
	if (q->err_fd >= 0)
		close(q->err_fd);
	unmap_aliases(q);
	vu_queue_init(q, q->dev, q->mem, q->idx);
	q->iotlb = iotlb;
	q->backend = backend;
}

bool vu_queue_size_valid(uint64_t num)
{
	return num >= 1 && num <= VU_MAX_RING_SIZE && (num & (num - 1)) == 0;
}

static void *translate_table(const struct vu_mem *mem, uint64_t qva,
			     uint64_t len, uint64_t align)
{
	void *p;

	if (qva & (align - 1))
		return NULL;
	p = vu_mem_qva_to_va(mem, qva, len);
	/* The front-end's addresses and ours need not agree on alignment (a
	 * region whose user_addr is not aligned like its mmap offset); the
	 * rings are used as aligned structs here. */
	if (p && ((uintptr_t)p & (align - 1)))
		return NULL;
	return p;
}

/* Sizes include the EVENT_IDX fields: a driver allocates them always. */
static uint64_t desc_bytes(unsigned int num)
{
	return (uint64_t)sizeof(struct vring_desc) * num;
}

static uint64_t avail_bytes(unsigned int num)
{
	return sizeof(uint16_t) * (3 + (uint64_t)num);
}

static uint64_t used_bytes(unsigned int num)
{
	return sizeof(uint16_t) * 3 +
	       (uint64_t)sizeof(struct vring_used_elem) * num;
}

int vu_queue_translate(const struct vu_mem *mem, unsigned int num,
		       const struct vu_msg_vring_addr *addr,
		       struct vring_desc **desc, struct vring_avail **avail,
		       struct vring_used **used)
{
	uint64_t desc_len = desc_bytes(num);
	uint64_t avail_len = avail_bytes(num);
	uint64_t used_len = used_bytes(num);
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

/* ---- guest I/O addresses: GPAs, or IOVAs behind an IOMMU ---- */

/*
 * Host address of iova through the IOTLB and how many bytes from there are
 * contiguous (at most len).  0, -EAGAIN on a miss (recorded in the queue for
 * the caller to send), -EACCES without perm, -EFAULT outside guest memory.
 */
static int iova_to_va(struct vu_queue *q, uint64_t iova, uint64_t len,
		      uint8_t perm, void **p, uint64_t *contig)
{
	uint64_t uaddr, c;
	int r;

	r = vu_iotlb_lookup(q->iotlb, iova, len, perm, &uaddr, &c);
	if (r < 0) {
		/* Where it failed: what to ask for, or to wait for. */
		__atomic_store_n(&q->miss_iova, iova, __ATOMIC_RELAXED);
		q->miss_perm = perm;
		return r == -ENOENT ? -EAGAIN : r;
	}
	*p = vu_mem_qva_to_va_partial(q->mem, uaddr, c, contig);
	if (!*p)
		log_debug("vhost-user: queue %u: IOVA 0x%llx translates to 0x%llx, "
			  "outside guest memory", q->idx,
			  (unsigned long long)iova, (unsigned long long)uaddr);
	return *p ? 0 : -EFAULT;
}

/* The same for a descriptor address of either kind. */
static int addr_to_va(struct vu_queue *q, uint64_t addr, uint64_t len,
		      uint8_t perm, void **p, uint64_t *contig)
{
	if (q->iommu)
		return iova_to_va(q, addr, len, perm, p, contig);
	*p = vu_mem_gpa_to_va_partial(q->mem, addr, len, contig);
	return *p ? 0 : -EFAULT;
}

/* Copy len bytes from a guest I/O address (may span entries/regions). */
static int queue_read(struct vu_queue *q, uint64_t addr, void *dst, size_t len)
{
	uint8_t *out = dst;

	while (len > 0) {
		uint64_t contig;
		void *src;
		int r = addr_to_va(q, addr, len, VU_ACCESS_RO, &src, &contig);

		if (r < 0)
			return r;
		memcpy(out, src, (size_t)contig);
		out += contig;
		len -= (size_t)contig;
		if (len > 0 && contig > UINT64_MAX - addr)
			return -EFAULT;
		addr += contig;
	}
	return 0;
}

/*
 * A ring table at an IOVA: it may span IOTLB entries, but we use it through
 * one pointer, so the pieces must also be contiguous in our mapping.
 */
static int iova_table(struct vu_queue *q, uint64_t iova, uint64_t len,
		      uint64_t align, uint8_t perm, void **out)
{
	uint8_t *start = NULL;
	uint64_t done = 0;

	if (iova & (align - 1))
		return -EFAULT;
	while (done < len) {
		uint64_t contig;
		void *p;
		int r;

		if (done > UINT64_MAX - iova)
			return -EFAULT;
		r = iova_to_va(q, iova + done, len - done, perm, &p, &contig);
		if (r < 0)
			return r;
		/* Scattered pages: the caller aliases them. */
		if (start && (uint8_t *)p != start + done)
			return -EXDEV;
		if (!start)
			start = p;
		done += contig;
	}
	/* As for translate_table(): rings are used as aligned structs. */
	if ((uintptr_t)start & (align - 1))
		return -EFAULT;
	*out = start;
	return 0;
}

/*
 * A ring table whose IOVA pages are scattered in guest memory (a driver
 * behind an IOMMU needs only IOVA-contiguous rings, and Linux allocates
 * them page by page then): map those pages again, in order, into one
 * reserved area.  mremap() with old_size 0 makes a second mapping of the
 * same shared pages.  Each IOVA page must map a whole host page.
 */
static int alias_table(struct vu_queue *q, unsigned int which, uint64_t iova,
		       uint64_t len, uint8_t perm, void **out)
{
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t first = iova & ~(pg - 1), npages;
	uint8_t *area;
	int r = 0;

	if (len - 1 > UINT64_MAX - iova)
		return -EFAULT;
	npages = ((iova + len - 1) - first) / pg + 1;
	area = mmap(NULL, (size_t)(npages * pg), PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		return -errno;
	for (uint64_t k = 0; k < npages && r == 0; k++) {
		uint64_t contig;
		void *p;

		r = iova_to_va(q, first + k * pg, pg, perm, &p, &contig);
		if (r == 0 && (contig < pg || ((uintptr_t)p & (pg - 1))))
			r = -EFAULT;
		if (r == 0 && mremap(p, 0, (size_t)pg, MREMAP_MAYMOVE | MREMAP_FIXED,
				     area + k * pg) == MAP_FAILED)
			r = -errno;
	}
	if (r < 0) {
		munmap(area, (size_t)(npages * pg));
		return r;
	}
	q->alias[which].base = area;
	q->alias[which].len = (size_t)(npages * pg);
	*out = area + (iova - first);
	return 0;
}

static int ring_table(struct vu_queue *q, unsigned int which, uint64_t iova,
		      uint64_t len, uint64_t align, uint8_t perm, void **out)
{
	int r = iova_table(q, iova, len, align, perm, out);

	if (r == -EXDEV)
		r = alias_table(q, which, iova, len, perm, out);
	return r;
}

#define RING_MISSES_MAX 64

/*
 * Ask for every missing page of the three rings at once, so that the
 * answers come back in one burst instead of one round trip per page (a
 * 1024-entry queue spans 9 pages; a guest that flushes its whole IOTLB
 * makes us fetch them again).  The start is retried when the update for
 * the last page asked for arrives: the front-end answers in order.
 */
static int send_ring_misses(struct vu_queue *q)
{
	const uint64_t start[3] = { q->addr.desc_user_addr,
				    q->addr.avail_user_addr,
				    q->addr.used_user_addr };
	const uint64_t len[3] = { desc_bytes(q->num), avail_bytes(q->num),
				  used_bytes(q->num) };
	const uint8_t perm[3] = { VU_ACCESS_RO, VU_ACCESS_RO, VU_ACCESS_RW };
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE), want[RING_MISSES_MAX];
	uint8_t want_perm[RING_MISSES_MAX];
	unsigned int n = 0;

	pthread_rwlock_rdlock(&q->iotlb->lock);
	for (unsigned int i = 0; i < 3; i++) {
		uint64_t last;

		if (len[i] - 1 > UINT64_MAX - start[i])
			continue;
		last = start[i] + len[i] - 1;
		for (uint64_t p = start[i] & ~(pg - 1); n < RING_MISSES_MAX; p += pg) {
			uint64_t at = p < start[i] ? start[i] : p, ua, c;

			/* One miss per page, for the address itself: an
			 * entry may cover the page only in part. */
			if (vu_iotlb_lookup(q->iotlb, at, 1, perm[i], &ua, &c) ==
			    -ENOENT &&
			    (n == 0 || (want[n - 1] & ~(pg - 1)) != p)) {
				want[n] = at;
				want_perm[n++] = perm[i];
			}
			if (last - p < pg || p > UINT64_MAX - pg)
				break;
		}
	}
	pthread_rwlock_unlock(&q->iotlb->lock);
	if (n == 0) {
		want[0] = q->miss_iova;
		want_perm[0] = q->miss_perm;
		n = 1;
	}
	__atomic_store_n(&q->miss_iova, want[n - 1], __ATOMIC_RELAXED);
	q->miss_perm = want_perm[n - 1];
	for (unsigned int k = 0; k < n; k++) {
		int r = vu_backend_iotlb_miss(q->backend, want[k], want_perm[k]);

		if (r < 0)
			return log_error_errno(r,
				"vhost-user: queue %u: sending IOTLB miss", q->idx);
	}
	return -EAGAIN;
}

static int iommu_translate_rings(struct vu_queue *q)
{
	void *d, *a, *u;
	int r;

	if (!vu_queue_size_valid(q->num))
		return -EINVAL;
	pthread_rwlock_rdlock(&q->iotlb->lock);
	r = ring_table(q, 0, q->addr.desc_user_addr, desc_bytes(q->num),
		       VRING_DESC_ALIGN_SIZE, VU_ACCESS_RO, &d);
	if (r == 0)
		r = ring_table(q, 1, q->addr.avail_user_addr, avail_bytes(q->num),
			       VRING_AVAIL_ALIGN_SIZE, VU_ACCESS_RO, &a);
	/* We read used->flags and used->idx back, too. */
	if (r == 0)
		r = ring_table(q, 2, q->addr.used_user_addr, used_bytes(q->num),
			       VRING_USED_ALIGN_SIZE, VU_ACCESS_RW, &u);
	pthread_rwlock_unlock(&q->iotlb->lock);
	if (r < 0)
		unmap_aliases(q);
	if (r == -EAGAIN)
		return send_ring_misses(q);
	if (r == -EACCES) {
		/* Asking again would bring the same answer: wait for the
		 * guest to map the ring with the rights it needs. */
		log_warn("vhost-user: queue %u: ring at IOVA 0x%llx mapped without "
			 "%s access; waiting for a new mapping", q->idx,
			 (unsigned long long)q->miss_iova,
			 q->miss_perm == VU_ACCESS_RO ? "read" : "read-write");
		return -EAGAIN;
	}
	if (r < 0)
		return r;
	q->desc = d;
	q->avail = a;
	q->used = u;
	return 0;
}

int vu_queue_map(struct vu_queue *q, uint64_t features)
{
	int r;

	/* Not running: nobody uses the old ring pointers any more. */
	unmap_aliases(q);
	q->iommu = q->iotlb && (features & (1ull << VIRTIO_F_ACCESS_PLATFORM));
	q->miss_pending = false;
	q->inflight = 0;
	if (q->iommu)
		r = iommu_translate_rings(q);
	else
		r = vu_queue_translate(q->mem, q->num, &q->addr, &q->desc,
				       &q->avail, &q->used);
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

/* 0, -EFAULT, or (IOMMU) -EACCES / -EAGAIN for a miss. */
static int read_desc(struct vu_queue *q, const struct desc_table *t,
		     unsigned int i, struct vring_desc *out)
{
	if (t->ptr) {
		memcpy(out, &t->ptr[i], sizeof(*out));
	} else {
		int r = queue_read(q, t->gpa + (uint64_t)i * sizeof(*out), out,
				   sizeof(*out));

		if (r < 0)
			return r == -EAGAIN || r == -EACCES ? r : -EFAULT;
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
		void *p;
		int r = addr_to_va(q, gpa, left,
				   write ? VU_ACCESS_WO : VU_ACCESS_RO, &p, &contig);

		if (r == -EAGAIN)
			return r;
		if (r == -EACCES)
			return queue_fail(q, r, write ?
				"device write into a read-only IOMMU mapping" :
				"device read from a write-only IOMMU mapping");
		if (r < 0)
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
	if (r == -EAGAIN)
		return r;
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
		t.ptr = NULL;
		if (!(gpa & 7)) {
			uint64_t contig;
			void *p;

			r = addr_to_va(q, gpa, len, VU_ACCESS_RO, &p, &contig);
			if (r == -EAGAIN)
				return r;
			if (r == 0 && contig == len)
				t.ptr = p;
		}
		i = 0;
		r = read_desc(q, &t, i, &d);
		if (r == -EAGAIN)
			return r;
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
		if (r == -EAGAIN)
			return r;
		if (r < 0)
			return queue_fail(q, r, "indirect table outside memory");
	}
	/* out_num so far counted descriptors; make it count iovecs. */
	elem->out_num = cs->n - elem->in_num;
	return 0;
}

/*
 * map_chain behind an IOMMU.  The read lock spans the translation and the
 * in-flight count, so that an invalidation either sees this chain in flight
 * or happens before it is translated.  A miss is not an error: the chain
 * stays in the ring, the front-end is asked for the translation, and the
 * worker sleeps until vu_queue_iotlb_wake() (or a guest kick) wakes it.
 */
static int map_chain_iommu(struct vu_queue *q, uint16_t head,
			   struct chain_state *cs)
{
	int r;

	pthread_rwlock_rdlock(&q->iotlb->lock);
	r = map_chain(q, head, cs);
	if (r == 0) {
		__atomic_add_fetch(&q->inflight, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&q->miss_pending, false, __ATOMIC_RELAXED);
	} else if (r == -EAGAIN) {
		__atomic_store_n(&q->miss_pending, true, __ATOMIC_RELEASE);
	}
	pthread_rwlock_unlock(&q->iotlb->lock);
	if (r == -EAGAIN) {
		int s = vu_backend_iotlb_miss(q->backend, q->miss_iova,
					      q->miss_perm);

		if (s < 0)
			log_ratelimited(LOG_LEVEL_ERROR,
				"vhost-user: queue %u: sending IOTLB miss: %s",
				q->idx, strerror(-s));
		else
			log_debug("vhost-user: queue %u: IOTLB miss 0x%llx",
				  q->idx, (unsigned long long)q->miss_iova);
	}
	return r;
}

bool vu_queue_iotlb_affected(const struct vu_queue *q, uint64_t first,
			     uint64_t last)
{
	const uint64_t start[3] = { q->addr.desc_user_addr,
				    q->addr.avail_user_addr,
				    q->addr.used_user_addr };
	const uint64_t len[3] = { desc_bytes(q->num), avail_bytes(q->num),
				  used_bytes(q->num) };

	if (!q->running || !q->iommu)
		return false;
	if (__atomic_load_n(&q->inflight, __ATOMIC_RELAXED) > 0)
		return true;
	for (unsigned int i = 0; i < 3; i++) {
		uint64_t end = len[i] - 1 > UINT64_MAX - start[i] ?
			       UINT64_MAX : start[i] + len[i] - 1;

		if (start[i] <= last && first <= end)
			return true;
	}
	return false;
}

bool vu_queue_ring_waits_for(const struct vu_queue *q, uint64_t first,
			     uint64_t last)
{
	uint64_t iova = __atomic_load_n(&q->miss_iova, __ATOMIC_RELAXED);

	return !q->running && q->ring_miss && iova >= first && iova <= last;
}

void vu_queue_iotlb_wake(struct vu_queue *q, uint64_t first, uint64_t last)
{
	uint64_t one = 1, iova;

	if (!q->running || !q->iommu || q->kick_fd < 0)
		return;
	if (!__atomic_load_n(&q->miss_pending, __ATOMIC_ACQUIRE))
		return;
	iova = __atomic_load_n(&q->miss_iova, __ATOMIC_RELAXED);
	if (iova < first || iova > last)
		return;
	/* The kick eventfd is what the worker sleeps on; an extra count only
	 * makes it look at the ring once more. */
	while (write(q->kick_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
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
	r = q->iommu ? map_chain_iommu(q, head, &cs) : map_chain(q, head, &cs);
	if (r == -EAGAIN)
		return 0;
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

	/* The chain is done with guest memory, even on a broken ring. */
	if (q->iommu)
		__atomic_sub_fetch(&q->inflight, 1, __ATOMIC_RELEASE);
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

int vu_queue_notify_fd(struct vu_queue *q)
{
	if (q->broken || !q->avail || q->call_fd < 0)
		return -1;
	return need_notify(q) ? q->call_fd : -1;
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
	/* A chain waiting for an IOTLB translation is not new work: the
	 * control thread kicks us when the translation arrives. */
	if (q->iommu && __atomic_load_n(&q->miss_pending, __ATOMIC_ACQUIRE))
		return false;
	avail_idx = load16_acquire(&q->avail->idx);
	return avail_idx != q->last_avail_idx;
}

void vu_queue_disable_notification(struct vu_queue *q)
{
	if (q->broken || !q->avail)
		return;
	q->notification = false;
	if (q->event_idx) {
		/* An avail_event just behind what we popped: no number of new
		 * buffers crosses it (short of 65536), so the guest does not
		 * kick at all, not even once for the first buffer after the
		 * last enable. */
		store16(&q->used->ring[q->num], (uint16_t)(q->last_avail_idx - 1));
	} else {
		uint16_t f = load16(&q->used->flags);

		store16(&q->used->flags, f | VRING_USED_F_NO_NOTIFY);
	}
}

bool vu_queue_avail_pending(struct vu_queue *q)
{
	if (q->broken || !q->avail)
		return false;
	/* As in vu_queue_enable_notification(): a chain waiting for an IOTLB
	 * translation is not new work.  Polling it would pop it again and
	 * send the front-end one IOTLB miss per poll, until the back-end
	 * channel's socket buffer is full and the worker blocks. */
	if (q->iommu && __atomic_load_n(&q->miss_pending, __ATOMIC_ACQUIRE))
		return false;
	return q->shadow_avail_idx != q->last_avail_idx ||
	       load16_acquire(&q->avail->idx) != q->last_avail_idx;
}
