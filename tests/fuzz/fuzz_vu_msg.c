// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: vhost-user control messages.
 *
 * The input is a stream of records, each sent with one sendmsg() on the
 * front-end end of a socketpair whose other end is a fresh vu_dev:
 *
 *   u8 fds      low 3 bits: how many fds ride along (SCM_RIGHTS); bit 3
 *               picks which kind comes first (a 1 MiB memfd, or an
 *               eventfd), then they alternate
 *   u16 len     little endian, bytes that follow (clipped to the input)
 *   len bytes   whatever the front-end sends: headers, payloads, garbage
 *
 * The write side is then shut down and the device dispatches messages
 * until it gives up (EOF or a fatal error).  Replies are drained and
 * checked for framing.  Guest memory the front-end hands over is a real
 * memfd, so SET_MEM_TABLE, rings, kicks and resets run for real.
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
#include "vhost-user/vu.h"
#include "vfsd/log.h"

#define POOL_MEM_SIZE (1u << 20)

static int pool[2] = { -1, -1 };   /* memfd, eventfd */

static void nop(struct vu_dev *d, unsigned int q, void *o)
{
}

static const struct vu_ops ops = { .queue_start = nop, .queue_stop = nop };

static void setup(void)
{
	log_set_level(LOG_LEVEL_OFF);
	pool[0] = memfd_create("fuzz-guest", MFD_CLOEXEC);
	pool[1] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (pool[0] < 0 || pool[1] < 0 || ftruncate(pool[0], POOL_MEM_SIZE) < 0)
		abort();
}

static void send_record(int sock, const uint8_t *p, size_t len,
			unsigned int nfds, unsigned int first)
{
	union {
		char buf[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)p, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[8];

	if (len == 0)
		return;     /* a stream socket cannot carry fds without data */
	if (nfds) {
		struct cmsghdr *c;

		for (unsigned int i = 0; i < nfds; i++)
			fds[i] = pool[(first + i) & 1];
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	/* Non-blocking: the input is bounded (-max_len) far below the
	 * socket buffer; a full buffer just ends the stream early. */
	(void)sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Replies must be well-framed: a header with the REPLY flag and a size
 * that the bytes after it cover, within the protocol's limit. */
static void check_replies(int sock)
{
	static uint8_t buf[1 << 18];
	ssize_t n = recv(sock, buf, sizeof(buf), MSG_DONTWAIT);
	size_t at = 0;

	if (n <= 0)
		return;
	while (at + sizeof(struct vu_msg_hdr) <= (size_t)n) {
		struct vu_msg_hdr h;

		memcpy(&h, buf + at, sizeof(h));
		if (!(h.flags & VU_FLAG_REPLY) || h.size > VU_MSG_MAX_PAYLOAD)
			abort();
		at += sizeof(h) + h.size;
	}
	if (at != (size_t)n)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vu_config cfg = { .num_queues = 3 };
	struct vu_dev *dev;
	size_t at = 0;
	int sv[2];

	if (pool[0] < 0)
		setup();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	if (vu_dev_new(&dev, sv[1], &cfg, &ops, NULL) < 0)
		abort();
	while (at + 3 <= size) {
		unsigned int sel = data[at];
		size_t len = data[at + 1] | (size_t)data[at + 2] << 8;

		at += 3;
		if (len > size - at)
			len = size - at;
		send_record(sv[0], data + at, len, sel & 7, (sel >> 3) & 1);
		at += len;
	}
	shutdown(sv[0], SHUT_WR);
	/* Each dispatch consumes at least a header: bounded by the input. */
	for (unsigned int i = 0; i <= size / sizeof(struct vu_msg_hdr) + 1; i++)
		if (vu_dev_dispatch(dev) < 0)
			break;
	check_replies(sv[0]);
	vu_dev_free(dev);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
