/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private state of the front-end library, shared by its files only.
 */
#ifndef VFSD_FE_INTERNAL_H
#define VFSD_FE_INTERNAL_H

#include "frontend.h"

struct fe_vq {
	struct fe_dev *dev;
	unsigned int idx;
	unsigned int size;
	bool setup;                 /* fe_dev_setup_queue succeeded */
	struct vring_desc *desc;    /* all three in guest memory */
	struct vring_avail *avail;
	struct vring_used *used;
	struct vring_desc *indirect; /* size tables of FE_MAX_SEGS, or NULL */
	int kick_fd;
	int call_fd;
	/* Private bookkeeping: never read back from shared memory. */
	uint16_t *next;             /* free list / chain links */
	uint16_t *chain_n;          /* descriptors per in-flight head */
	void **token;
	bool *in_flight;
	uint16_t free_head;
	unsigned int num_free;
	unsigned int inflight;
	uint16_t avail_idx;         /* shadow of avail->idx */
	uint16_t kicked_idx;        /* avail_idx at the last kick */
	uint16_t last_used;
	uint16_t base;              /* from GET_VRING_BASE */
};

struct fe_dev {
	int sock;
	struct fe_opts opts;
	uint64_t features_offered;
	uint64_t features;
	uint64_t proto_offered;
	uint64_t proto;
	unsigned int queue_num;     /* GET_QUEUE_NUM answer, 0 without MQ */
	uint64_t max_mem_slots;
	int memfd;
	uint8_t *mem;
	size_t mem_size;
	unsigned int nregions;
	struct fe_vu_region regions[2];
	size_t cursor;              /* bump allocator: memfd offset */
	struct fe_vq vqs[FE_MAX_QUEUES];
	bool running;               /* queues set up and not stopped */
	/* FUSE */
	uint64_t unique;
	unsigned int fuse_q;
	int transport_err;
	bool inited;
	struct fuse_init_out init;
	/* Caller ids put in every fuse_in_header (fe_fuse_set_caller). */
	bool caller_set;
	uint32_t caller_uid, caller_gid, caller_pid;
};

int fe_mem_create(struct fe_dev *d);
void fe_mem_destroy(struct fe_dev *d);
int fe_vq_init(struct fe_dev *d, unsigned int qidx);
void fe_vq_destroy(struct fe_vq *q);
void fe_vq_reset(struct fe_vq *q);

#endif
