// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: descriptor chains over fake guest memory.
 *
 * One device is set up once, the way QEMU does it, over a socketpair: a
 * 64 KiB memfd region and two queues (4 and 256 entries, INDIRECT and
 * EVENT_IDX negotiated) whose rings sit at the start of the region.  Each
 * input is the whole guest memory: byte 0 picks the queue, the rest is
 * copied over the region (descriptor table, avail ring, buffers, indirect
 * tables: everything the guest controls).  The queue's own state is reset,
 * then chains are popped until the ring is empty or broken; every iovec is
 * checked to lie inside guest memory and is read and written in full (so a
 * wrong length shows up as a crash), and each chain is pushed back.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vhost-user/dev.h"
#include "vhost-user/msg.h"
#include "vhost-user/queue.h"
#include "vhost-user/vu.h"
#include "vfsd/log.h"

#define MEM_SIZE (64u * 1024)
#define GPA_BASE 0x100000000ull
#define QVA_BASE 0x7f0000000000ull
#define F_VERSION_1 (1ull << 32)

static const unsigned int ring_num[2] = { 4, 256 };

struct fuzz_dev {
	int fe, be;
	struct vu_dev *dev;
	int memfd;
	uint8_t *mem;           /* the test's own mapping of guest memory */
};

static struct fuzz_dev fd_;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_vu_chain: setup: %s\n", what);
	abort();
}

static void nop(struct vu_dev *d, unsigned int q, void *o)
{
}

static const struct vu_ops ops = { .queue_start = nop, .queue_stop = nop };

static void send_msg(uint32_t req, const void *p, uint32_t size,
		     const int *fds, unsigned int nfds)
{
	struct vu_msg_hdr h = { req, VU_FLAG_VERSION, size };

	if (vu_msg_send(fd_.fe, &h, p, fds, nfds) < 0 ||
	    vu_dev_dispatch(fd_.dev) < 0)
		die(vu_msg_request_name(req));
}

static void drain(void)
{
	char buf[4096];

	while (recv(fd_.fe, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

static void setup(void)
{
	struct vu_config cfg = { .num_queues = 2 };
	struct vu_msg_mem_table mt = { .nregions = 1 };
	uint64_t feat = F_VERSION_1 | (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
			(1ull << VIRTIO_RING_F_EVENT_IDX);
	int sv[2];

	log_set_level(LOG_LEVEL_OFF);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair");
	fd_.fe = sv[0];
	fd_.be = sv[1];
	if (vu_dev_new(&fd_.dev, fd_.be, &cfg, &ops, NULL) < 0)
		die("vu_dev_new");
	fd_.memfd = memfd_create("fuzz-guest", MFD_CLOEXEC);
	if (fd_.memfd < 0 || ftruncate(fd_.memfd, MEM_SIZE) < 0)
		die("memfd");
	fd_.mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fd_.memfd, 0);
	if (fd_.mem == MAP_FAILED)
		die("mmap");

	send_msg(VU_REQ_GET_FEATURES, NULL, 0, NULL, 0);
	send_msg(VU_REQ_SET_FEATURES, &feat, 8, NULL, 0);
	mt.regions[0] = (struct vu_msg_region){ GPA_BASE, MEM_SIZE,
						QVA_BASE, 0 };
	send_msg(VU_REQ_SET_MEM_TABLE, &mt,
		 VU_MEM_TABLE_HDR_SIZE + sizeof(mt.regions[0]), &fd_.memfd, 1);
	for (unsigned int q = 0; q < 2; q++) {
		unsigned int num = ring_num[q];
		uint64_t desc = 0, avail = 16ull * num,
			 used = (avail + 6 + 2ull * num + 3) & ~3ull;
		struct vu_msg_vring_state st = { q, num }, base = { q, 0 };
		struct vu_msg_vring_addr a = {
			.index = q,
			.desc_user_addr = QVA_BASE + desc,
			.avail_user_addr = QVA_BASE + avail,
			.used_user_addr = QVA_BASE + used,
		};
		uint64_t idx = q;
		int kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		int call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

		send_msg(VU_REQ_SET_VRING_NUM, &st, sizeof(st), NULL, 0);
		send_msg(VU_REQ_SET_VRING_BASE, &base, sizeof(base), NULL, 0);
		send_msg(VU_REQ_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
		send_msg(VU_REQ_SET_VRING_CALL, &idx, 8, &call, 1);
		send_msg(VU_REQ_SET_VRING_KICK, &idx, 8, &kick, 1);
		close(kick);
		close(call);
		if (!vu_dev_queue(fd_.dev, q)->avail)
			die("queue not mapped");
	}
	drain();
}

/* Every byte of every iovec must be guest memory as the device mapped it;
 * touch it all (reads of readable, writes of writable buffers). */
static void check_elem(const struct vu_elem *e, const uint8_t *base)
{
	volatile uint8_t sink = 0;
	size_t in = 0, out = 0;

	for (unsigned int i = 0; i < e->in_num + e->out_num; i++) {
		const struct iovec *v = &e->in_iov[i];
		const uint8_t *p = v->iov_base;

		if (v->iov_len == 0 || p < base || v->iov_len > MEM_SIZE ||
		    p + v->iov_len > base + MEM_SIZE)
			abort();
		if (i < e->in_num) {
			for (size_t k = 0; k < v->iov_len; k++)
				sink ^= p[k];
			in += v->iov_len;
		} else {
			memset(v->iov_base, 0xa5, v->iov_len);
			out += v->iov_len;
		}
	}
	if (in != e->in_len || out != e->out_len)
		abort();
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct iovec iov[VU_MAX_CHAIN_IOV];
	struct vu_queue *q;
	struct vu_elem e;
	const uint8_t *dev_base;
	unsigned int n = 0;

	if (!fd_.dev)
		setup();
	if (size < 1)
		return 0;
	q = vu_dev_queue(fd_.dev, data[0] & 1);
	memset(fd_.mem, 0, MEM_SIZE);
	size--;
	memcpy(fd_.mem, data + 1, size > MEM_SIZE ? MEM_SIZE : size);
	/* Where the device sees guest memory: its own mapping of the memfd
	 * (the desc table is at the start of the region). */
	dev_base = (const uint8_t *)q->desc;

	q->last_avail_idx = q->shadow_avail_idx = q->used_idx = 0;
	q->signalled_used = 0;
	q->signalled_used_valid = false;
	q->broken = false;
	q->notification = data[0] & 2;
	for (;;) {
		unsigned int max = (data[0] & 4) ? 8 : VU_MAX_CHAIN_IOV;
		int r = vu_queue_pop(q, &e, iov, max);

		if (r <= 0)
			break;
		check_elem(&e, dev_base);
		vu_queue_push(q, &e, (uint32_t)e.out_len);
		/* A ring of num entries cannot yield more than num chains
		 * before the guest (the input) publishes more. */
		if (++n > q->num)
			abort();
	}
	vu_queue_notify(q);
	return 0;
}
