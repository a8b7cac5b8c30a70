/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest memory: the regions the front-end shares with us, mapped MAP_SHARED,
 * and address translation with bounds.  Two address spaces are translated:
 * guest physical addresses (descriptor buffers) and the front-end's own
 * virtual addresses (ring addresses of SET_VRING_ADDR).
 */
#ifndef VU_MEM_H
#define VU_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "vhost-user/guard.h"
#include "vhost-user/msg.h"
#include "vhost-user/vu.h"

struct vu_mem_region {
	uint64_t gpa;        /* guest physical start */
	uint64_t size;
	uint64_t qva;        /* front-end virtual start */
	uint8_t *host;       /* host address of gpa */
	void *map_base;      /* what mmap returned */
	size_t map_len;
	int guard_slot;      /* in the SIGBUS guard's registry (guard.h) */
};

struct vu_mem {
	/* Told when the front-end truncates a region's file (guard.h); NULL:
	 * nobody (the fault is still survived). */
	struct vu_guard_owner *owner;
	unsigned int nregions;
	struct vu_mem_region regions[VU_MAX_MEM_REGIONS];
};

void vu_mem_init(struct vu_mem *mem);

/*
 * Validate a region (sizes, overflow, overlap with existing regions, the
 * backing file is large enough), map it and add it.  fd stays owned by the
 * caller (the mapping keeps its own reference).  Returns 0 or -errno.
 */
int vu_mem_add(struct vu_mem *mem, const struct vu_msg_region *r, int fd);

/* Unmap and remove the region matching gpa, size and qva.  -ENOENT if none. */
int vu_mem_remove(struct vu_mem *mem, const struct vu_msg_region *r);

/* Unmap everything. */
void vu_mem_clear(struct vu_mem *mem);

/*
 * Host address of guest physical [gpa, gpa + len) when it lies wholly inside
 * one region; NULL otherwise.  len 0 is treated as 1.
 */
void *vu_mem_gpa_to_va(const struct vu_mem *mem, uint64_t gpa, uint64_t len);

/*
 * Host address of gpa and how many bytes from there are contiguous in the
 * same region (at most len), for splitting a buffer that spans regions.
 */
void *vu_mem_gpa_to_va_partial(const struct vu_mem *mem, uint64_t gpa,
			       uint64_t len, uint64_t *contig);

/* Host address of front-end virtual [qva, qva + len), wholly in one region. */
void *vu_mem_qva_to_va(const struct vu_mem *mem, uint64_t qva, uint64_t len);

/* Host address of front-end virtual qva and how many bytes from there are
 * contiguous in the same region (at most len): IOTLB entries are in this
 * address space and may span regions. */
void *vu_mem_qva_to_va_partial(const struct vu_mem *mem, uint64_t qva,
			       uint64_t len, uint64_t *contig);

/* Copy len bytes from guest physical gpa (may span regions).  0 or -EFAULT. */
int vu_mem_read(const struct vu_mem *mem, uint64_t gpa, void *dst, size_t len);

#endif
