/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Split virtqueue: the control-plane state of a ring (set by dev.c from
 * SET_VRING_* messages) and the data-plane state the queue's worker owns.
 */
#ifndef VU_QUEUE_H
#define VU_QUEUE_H

#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stdint.h>

#include "vhost-user/backend_req.h"
#include "vhost-user/iotlb.h"
#include "vhost-user/mem.h"
#include "vhost-user/msg.h"
#include "vhost-user/vu.h"

struct vu_queue {
	struct vu_dev *dev;
	const struct vu_mem *mem;
	unsigned int idx;

	/* Control plane (control thread only; stable while running). */
	unsigned int num;            /* ring size; 0 until SET_VRING_NUM */
	bool addr_set;
	struct vu_msg_vring_addr addr; /* front-end virtual addresses */
	int kick_fd;
	int call_fd;
	int err_fd;
	bool started;                /* got a kick fd: the ring runs */
	bool enabled;                /* SET_VRING_ENABLE */
	bool running;                /* between ops->queue_start and stop */

	/* Ring pointers into guest memory, set by vu_queue_map(). */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	bool event_idx;
	bool indirect;

	/* Data plane (worker while running). */
	uint16_t last_avail_idx;
	uint16_t shadow_avail_idx;
	uint16_t used_idx;
	uint16_t signalled_used;
	bool signalled_used_valid;
	bool notification;
	bool broken;

	/*
	 * IOMMU (VIRTIO_F_ACCESS_PLATFORM negotiated): ring and buffer
	 * addresses are I/O virtual addresses, translated through the device's
	 * IOTLB under iotlb->lock (read side).  iotlb and backend are set by
	 * dev.c once and survive resets.
	 */
	struct vu_iotlb *iotlb;
	struct vu_backend *backend;
	bool iommu;                  /* set by vu_queue_map */
	/* Rings whose IOVA pages are scattered in guest memory are used
	 * through a contiguous alias of those pages (desc, avail, used). */
	struct {
		void *base;
		size_t len;
	} alias[3];
	bool ring_miss;              /* control thread: start waits for a miss */
	/* Shared with the control thread through atomics: */
	bool miss_pending;           /* a chain waits for a translation... */
	uint64_t miss_iova;          /* ...of this address */
	uint8_t miss_perm;
	unsigned int inflight;       /* chains popped and not yet pushed */
};

void vu_queue_init(struct vu_queue *q, struct vu_dev *dev,
		   const struct vu_mem *mem, unsigned int idx);

/* Close the fds and forget all ring state (device reset / free). */
void vu_queue_reset(struct vu_queue *q);

/* Whether a ring size is acceptable: a power of two, 1..VU_MAX_RING_SIZE. */
bool vu_queue_size_valid(uint64_t num);

/*
 * Translate and check the ring addresses for ring size num: each table
 * wholly inside one region and aligned.  On success fills the pointers.
 */
int vu_queue_translate(const struct vu_mem *mem, unsigned int num,
		       const struct vu_msg_vring_addr *addr,
		       struct vring_desc **desc, struct vring_avail **avail,
		       struct vring_used **used);

/*
 * Prepare a queue to run: translate the rings with the current memory table,
 * pick up the negotiated ring features and read the used index.  Returns 0
 * or -errno (the queue must then not start).
 */
int vu_queue_map(struct vu_queue *q, uint64_t features);

/*
 * With an IOMMU, vu_queue_map returns -EAGAIN when a ring address has no
 * IOTLB entry: a miss was sent to the front-end, retry when an update comes.
 */

/*
 * Control thread, holding iotlb->lock for writing: whether a running queue
 * may be using a translation of [first, last]: its rings lie there, or it
 * has chains in flight (their buffers may).  Such a queue must be stopped
 * before the invalidation is acknowledged.
 */
bool vu_queue_iotlb_affected(const struct vu_queue *q, uint64_t first,
			     uint64_t last);

/*
 * Control thread, after an IOTLB update of [first, last]: wake the worker
 * (through its kick eventfd) if a chain of it waits for an address there.
 */
void vu_queue_iotlb_wake(struct vu_queue *q, uint64_t first, uint64_t last);

/* Control thread: whether a queue that could not start waits for a
 * translation in [first, last] (its start is worth retrying). */
bool vu_queue_ring_waits_for(const struct vu_queue *q, uint64_t first,
			     uint64_t last);

#endif
