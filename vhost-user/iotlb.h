/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * IOTLB cache: the guest IOMMU's translations I/O virtual address (IOVA) →
 * front-end virtual address (the "uaddr" of VHOST_IOTLB_UPDATE, the same
 * address space as the regions' user_addr) with device access permissions,
 * as the front-end told us through VHOST_USER_IOTLB_MSG.
 *
 * Entries are kept sorted by IOVA and never overlap: an update replaces what
 * it covers, an invalidation trims or splits what it covers.  The functions
 * here do no locking; the owner (dev.c, queue.c) holds iotlb->lock: read side
 * while translating, write side while changing entries.
 */
#ifndef VU_IOTLB_H
#define VU_IOTLB_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Device access rights, as in <linux/vhost_types.h> VHOST_ACCESS_*. */
#define VU_ACCESS_RO 0x1u    /* the device may read */
#define VU_ACCESS_WO 0x2u    /* the device may write */
#define VU_ACCESS_RW 0x3u

/* Entries kept at most; past it, updates evict (a later miss refetches). */
#define VU_IOTLB_MAX_ENTRIES 2048

struct vu_iotlb_entry {
	uint64_t iova;
	uint64_t last;       /* last IOVA covered (inclusive: no overflow) */
	uint64_t uaddr;      /* front-end virtual address of iova */
	uint8_t perm;
};

struct vu_iotlb {
	pthread_rwlock_t lock;
	unsigned int n;
	unsigned int max;
	unsigned int evict_next;  /* round-robin eviction cursor */
	/* An entry was evicted since the last flush: a translation handed out
	 * earlier may no longer be visible in the table. */
	bool evicted;
	struct vu_iotlb_entry *e;
};

/* max 0 means VU_IOTLB_MAX_ENTRIES.  Returns 0 or -ENOMEM. */
int vu_iotlb_init(struct vu_iotlb *t, unsigned int max);
void vu_iotlb_destroy(struct vu_iotlb *t);

/*
 * Map [iova, iova + size) to uaddr with perm (VU_ACCESS_RO/WO/RW), replacing
 * whatever the range covered before.  -EINVAL for size 0, ranges that wrap,
 * or perm outside RO/WO/RW (a "no access" translation is not an entry).
 */
int vu_iotlb_update(struct vu_iotlb *t, uint64_t iova, uint64_t size,
		    uint64_t uaddr, uint8_t perm);

/*
 * Forget [iova, iova + size); size 0, or a range past the end of the address
 * space, means "up to the end".  Returns how many entries were removed,
 * trimmed or split (0: the range covered nothing).
 */
unsigned int vu_iotlb_invalidate(struct vu_iotlb *t, uint64_t iova,
				 uint64_t size);

/* Forget everything (and the eviction mark). */
void vu_iotlb_flush(struct vu_iotlb *t);

/*
 * Translate iova for an access needing perm.  Returns 0 with *uaddr and
 * *contig (bytes from iova translated contiguously by one entry, 1..len;
 * len 0 is treated as 1), -ENOENT when no entry covers iova (a miss), or
 * -EACCES when the entry lacks perm.
 */
int vu_iotlb_lookup(const struct vu_iotlb *t, uint64_t iova, uint64_t len,
		    uint8_t perm, uint64_t *uaddr, uint64_t *contig);

#endif
