/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhost-user message framing: the wire layout, reading one message with its
 * file descriptors, per-request size and fd-count checks, and replies.
 * Everything a front-end sends passes vu_msg_recv() before any handler sees
 * it: a message that comes out of it has a known-good size and fd count.
 */
#ifndef VU_MSG_H
#define VU_MSG_H

#include <stdbool.h>
#include <stdint.h>

enum vu_request {
	VU_REQ_NONE = 0,
	VU_REQ_GET_FEATURES = 1,
	VU_REQ_SET_FEATURES = 2,
	VU_REQ_SET_OWNER = 3,
	VU_REQ_RESET_OWNER = 4,
	VU_REQ_SET_MEM_TABLE = 5,
	VU_REQ_SET_LOG_BASE = 6,
	VU_REQ_SET_LOG_FD = 7,
	VU_REQ_SET_VRING_NUM = 8,
	VU_REQ_SET_VRING_ADDR = 9,
	VU_REQ_SET_VRING_BASE = 10,
	VU_REQ_GET_VRING_BASE = 11,
	VU_REQ_SET_VRING_KICK = 12,
	VU_REQ_SET_VRING_CALL = 13,
	VU_REQ_SET_VRING_ERR = 14,
	VU_REQ_GET_PROTOCOL_FEATURES = 15,
	VU_REQ_SET_PROTOCOL_FEATURES = 16,
	VU_REQ_GET_QUEUE_NUM = 17,
	VU_REQ_SET_VRING_ENABLE = 18,
	VU_REQ_SET_BACKEND_REQ_FD = 21,
	VU_REQ_IOTLB_MSG = 22,
	VU_REQ_RESET_DEVICE = 34,
	VU_REQ_GET_MAX_MEM_SLOTS = 36,
	VU_REQ_ADD_MEM_REG = 37,
	VU_REQ_REM_MEM_REG = 38,
	VU_REQ_MAX = 64,
};

/* Header flags. */
#define VU_FLAG_VERSION_MASK 0x3u
#define VU_FLAG_VERSION 0x1u
#define VU_FLAG_REPLY (1u << 2)
#define VU_FLAG_NEED_REPLY (1u << 3)
#define VU_FLAG_KNOWN (VU_FLAG_VERSION_MASK | VU_FLAG_REPLY | VU_FLAG_NEED_REPLY)

/* Protocol feature bits. */
#define VU_PROTOCOL_F_MQ 0
#define VU_PROTOCOL_F_REPLY_ACK 3
#define VU_PROTOCOL_F_BACKEND_REQ 5
#define VU_PROTOCOL_F_RESET_DEVICE 13
#define VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS 15

/* Virtio feature bit that enables the protocol feature negotiation. */
#define VU_F_PROTOCOL_FEATURES 30

/* SET_VRING_KICK/CALL/ERR payload: queue index and "no fd" flag. */
#define VU_VRING_IDX_MASK 0xffull
#define VU_VRING_NOFD_MASK (1ull << 8)

/* SET_MEM_TABLE carries at most this many regions (and fds). */
#define VU_MSG_MAX_FDS 8
/* Largest payload we accept, even for requests we do not know. */
#define VU_MSG_MAX_PAYLOAD 4096

struct vu_msg_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
} __attribute__((packed));

struct vu_msg_vring_state {
	uint32_t index;
	uint32_t num;
};

struct vu_msg_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc_user_addr;
	uint64_t used_user_addr;
	uint64_t avail_user_addr;
	uint64_t log_guest_addr;
};

struct vu_msg_region {
	uint64_t guest_addr;
	uint64_t size;
	uint64_t user_addr;
	uint64_t mmap_offset;
};

struct vu_msg_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vu_msg_region regions[VU_MSG_MAX_FDS];
};

struct vu_msg_mem_reg {
	uint64_t padding;
	struct vu_msg_region region;
};

/* IOTLB_MSG payload: struct vhost_iotlb_msg of <linux/vhost_types.h>. */
struct vu_msg_iotlb {
	uint64_t iova;
	uint64_t size;
	uint64_t uaddr;
	uint8_t perm;             /* VU_ACCESS_* of vhost-user/iotlb.h */
	uint8_t type;
	uint8_t padding[6];
};

#define VU_IOTLB_MISS 1
#define VU_IOTLB_UPDATE 2
#define VU_IOTLB_INVALIDATE 3
#define VU_IOTLB_ACCESS_FAIL 4

union vu_msg_payload {
	uint64_t u64;
	struct vu_msg_vring_state state;
	struct vu_msg_vring_addr addr;
	struct vu_msg_mem_table mem;
	struct vu_msg_mem_reg mem_reg;
	struct vu_msg_iotlb iotlb;
	uint8_t raw[VU_MSG_MAX_PAYLOAD];
};

struct vu_msg {
	struct vu_msg_hdr hdr;
	union vu_msg_payload p;
	int fds[VU_MSG_MAX_FDS];
	unsigned int nfds;
};

#define VU_MEM_TABLE_HDR_SIZE 8u

/* Name of a request for logs ("UNKNOWN" when not known). */
const char *vu_msg_request_name(uint32_t request);

/* Whether the request is one we implement (its sizes are then known). */
bool vu_msg_request_known(uint32_t request);

/* Whether the request has a reply of its own (GET_*), so need_reply adds no
 * separate ack. */
bool vu_msg_request_has_reply(uint32_t request);

/*
 * Read one whole message (header, payload and fds) from sock.  Returns 0,
 * -ECONNRESET on a clean hang-up before the first byte, -EPROTO for a framing
 * violation (fds are closed then), or another -errno.  On success the size and
 * fd count are those the request requires (see vu_msg_check); fds received
 * beyond them were closed.
 */
int vu_msg_recv(int sock, struct vu_msg *msg);

/* Check header version bits, payload size and fd count of a received
 * message against what its request requires.  Returns 0 or -EPROTO. */
int vu_msg_check(const struct vu_msg *msg);

/* Close every fd the message still holds. */
void vu_msg_close_fds(struct vu_msg *msg);

/* Take fd i out of the message (the caller now owns it). */
int vu_msg_take_fd(struct vu_msg *msg, unsigned int i);

/* Send a reply for msg with the given payload (size bytes of msg->p). */
int vu_msg_reply(int sock, struct vu_msg *msg, uint32_t size);

/* Send an ack (u64: 0 success, 1 failure) for a need_reply message. */
int vu_msg_reply_ack(int sock, struct vu_msg *msg, int result);

/* Low-level: send a message with optional fds (used by tests, too). */
int vu_msg_send(int sock, const struct vu_msg_hdr *hdr, const void *payload,
		const int *fds, unsigned int nfds);

#endif
