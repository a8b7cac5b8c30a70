/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The device: negotiated features, the memory table, the queues and the
 * request handlers.  Internal to the library (tests may look inside).
 */
#ifndef VU_DEV_H
#define VU_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "vhost-user/backend_req.h"
#include "vhost-user/iotlb.h"
#include "vhost-user/mem.h"
#include "vhost-user/msg.h"
#include "vhost-user/queue.h"
#include "vhost-user/vu.h"

struct vu_dev {
	int sock;
	unsigned int num_queues;
	const struct vu_ops *ops;
	void *opaque;
	int peer_pid;

	uint64_t features_offered;
	uint64_t features;            /* acked by SET_FEATURES */
	uint64_t protocol_offered;
	uint64_t protocol_features;   /* acked by SET_PROTOCOL_FEATURES */
	bool owner;

	struct vu_mem mem;
	struct vu_queue queues[VU_MAX_QUEUES];
	/* Set from the SIGBUS handler when the front-end shrinks a memory
	 * file under its mapping (guard.h). */
	struct vu_guard_owner guard;

	/* IOMMU support: translations from the front-end and the channel to
	 * ask for missing ones. */
	struct vu_iotlb iotlb;
	struct vu_backend backend;
	/* A handler found the connection unusable (even without need_reply):
	 * vu_dev_dispatch fails so that the caller drops it. */
	bool fatal;

	/* Unknown requests already logged, so a front-end cannot flood us. */
	uint64_t logged_unknown;
	bool logged_unknown_high;

	struct vu_msg msg;            /* the message being handled */
};

/* Protocol features this library offers. */
#define VU_PROTOCOL_OFFERED                               \
	((1ull << VU_PROTOCOL_F_MQ) |                     \
	 (1ull << VU_PROTOCOL_F_REPLY_ACK) |              \
	 (1ull << VU_PROTOCOL_F_BACKEND_REQ) |            \
	 (1ull << VU_PROTOCOL_F_RESET_DEVICE) |           \
	 (1ull << VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS))

/* VIRTIO_F_ACCESS_PLATFORM: the device goes through the guest's IOMMU.
 * Offered always: QEMU acks it only with iommu_platform=on. */
#define VU_F_ACCESS_PLATFORM 33

/* Virtio features offered besides the user's. */
#define VU_FEATURES_BASE                                  \
	((1ull << 32 /* VIRTIO_F_VERSION_1 */) |          \
	 (1ull << 28 /* VIRTIO_RING_F_INDIRECT_DESC */) | \
	 (1ull << 29 /* VIRTIO_RING_F_EVENT_IDX */) |     \
	 (1ull << VU_F_ACCESS_PLATFORM) |                 \
	 (1ull << VU_F_PROTOCOL_FEATURES))

#endif
