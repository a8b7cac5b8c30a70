// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vhost-user framing.  The front-end is hostile: a message is read whole,
 * its fds are collected from every control message (closing what does not
 * fit), and its size and fd count are checked against a per-request table
 * before any handler sees it.
 */
#include "vhost-user/msg.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>


enum size_kind {
	SIZE_EXACT,     /* payload is exactly .size bytes */
	SIZE_MEM_TABLE, /* 8 + 32 * nregions, fds == nregions */
	SIZE_VRING_FD,  /* u64 index; one fd unless the NOFD bit is set */
};

struct req_spec {
	const char *name;
	enum size_kind kind;
	uint32_t size;
	uint8_t min_fds;
	uint8_t max_fds;
	bool has_reply;
};

#define REQ(n, k, s, mn, mx, r) [VU_REQ_##n] = { #n, k, s, mn, mx, r }

static const struct req_spec req_specs[VU_REQ_MAX] = {
	REQ(GET_FEATURES, SIZE_EXACT, 0, 0, 0, true),
	REQ(SET_FEATURES, SIZE_EXACT, 8, 0, 0, false),
	REQ(SET_OWNER, SIZE_EXACT, 0, 0, 0, false),
	REQ(RESET_OWNER, SIZE_EXACT, 0, 0, 0, false),
	REQ(SET_MEM_TABLE, SIZE_MEM_TABLE, 0, 0, VU_MSG_MAX_FDS, false),
	REQ(SET_VRING_NUM, SIZE_EXACT, sizeof(struct vu_msg_vring_state), 0, 0, false),
	REQ(SET_VRING_ADDR, SIZE_EXACT, sizeof(struct vu_msg_vring_addr), 0, 0, false),
	REQ(SET_VRING_BASE, SIZE_EXACT, sizeof(struct vu_msg_vring_state), 0, 0, false),
	REQ(GET_VRING_BASE, SIZE_EXACT, sizeof(struct vu_msg_vring_state), 0, 0, true),
	REQ(SET_VRING_KICK, SIZE_VRING_FD, 8, 0, 1, false),
	REQ(SET_VRING_CALL, SIZE_VRING_FD, 8, 0, 1, false),
	REQ(SET_VRING_ERR, SIZE_VRING_FD, 8, 0, 1, false),
	REQ(GET_PROTOCOL_FEATURES, SIZE_EXACT, 0, 0, 0, true),
	REQ(SET_PROTOCOL_FEATURES, SIZE_EXACT, 8, 0, 0, false),
	REQ(GET_QUEUE_NUM, SIZE_EXACT, 0, 0, 0, true),
	REQ(SET_VRING_ENABLE, SIZE_EXACT, sizeof(struct vu_msg_vring_state), 0, 0, false),
	REQ(SET_BACKEND_REQ_FD, SIZE_EXACT, 0, 1, 1, false),
	REQ(IOTLB_MSG, SIZE_EXACT, sizeof(struct vu_msg_iotlb), 0, 0, false),
	REQ(RESET_DEVICE, SIZE_EXACT, 0, 0, 0, false),
	REQ(GET_MAX_MEM_SLOTS, SIZE_EXACT, 0, 0, 0, true),
	REQ(ADD_MEM_REG, SIZE_EXACT, sizeof(struct vu_msg_mem_reg), 1, 1, false),
	/* QEMU up to 7.2 sends the region's fd along; later versions do not. */
	REQ(REM_MEM_REG, SIZE_EXACT, sizeof(struct vu_msg_mem_reg), 0, 1, false),
};

static const struct req_spec *spec_of(uint32_t request)
{
	if (request >= VU_REQ_MAX || !req_specs[request].name)
		return NULL;
	return &req_specs[request];
}

const char *vu_msg_request_name(uint32_t request)
{
	const struct req_spec *s = spec_of(request);

	return s ? s->name : "UNKNOWN";
}

bool vu_msg_request_known(uint32_t request)
{
	return spec_of(request) != NULL;
}

bool vu_msg_request_has_reply(uint32_t request)
{
	const struct req_spec *s = spec_of(request);

	return s && s->has_reply;
}

void vu_msg_close_fds(struct vu_msg *msg)
{
	for (unsigned int i = 0; i < msg->nfds; i++)
		if (msg->fds[i] >= 0)
			close(msg->fds[i]);
	msg->nfds = 0;
}

int vu_msg_take_fd(struct vu_msg *msg, unsigned int i)
{
	int fd;

	if (i >= msg->nfds)
		return -1;
	fd = msg->fds[i];
	msg->fds[i] = -1;
	return fd;
}

/* Collect the fds of every SCM_RIGHTS control message.  Returns false when
 * more arrived than a message may carry (the extras are closed). */
static bool collect_fds(struct msghdr *mh, struct vu_msg *msg)
{
	bool ok = true;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (msg->nfds < VU_MSG_MAX_FDS) {
				msg->fds[msg->nfds++] = fd;
			} else {
				close(fd);
				ok = false;
			}
		}
	}
	return ok;
}

/*
 * Read exactly len bytes, collecting any fds that come along.  *got tells
 * how many bytes were read before an error, so that a hang-up before the
 * first byte of a message can be told from one in the middle.
 */
static int recv_full(int sock, void *buf, size_t len, struct vu_msg *msg,
		     size_t *got)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VU_MSG_MAX_FDS)];
		struct cmsghdr align;
	} control;
	size_t done = 0;
	int r = 0;

	while (done < len) {
		struct iovec iov = { (char *)buf + done, len - done };
		struct msghdr mh = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = control.buf,
			.msg_controllen = sizeof(control.buf),
		};
		ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = errno == ECONNRESET ? -ECONNRESET : -errno;
			break;
		}
		/* Keep what arrived even when we are about to fail: the fds
		 * must be closed, not leaked. */
		if (!collect_fds(&mh, msg) || (mh.msg_flags & MSG_CTRUNC)) {
			r = -EPROTO;
			break;
		}
		if (n == 0) {
			r = -ECONNRESET;
			break;
		}
		done += (size_t)n;
	}
	*got = done;
	return r;
}

int vu_msg_check(const struct vu_msg *msg)
{
	const struct req_spec *s = spec_of(msg->hdr.request);
	uint32_t size = msg->hdr.size;

	if ((msg->hdr.flags & VU_FLAG_VERSION_MASK) != VU_FLAG_VERSION)
		return -EPROTO;
	if (msg->hdr.flags & VU_FLAG_REPLY)
		return -EPROTO;
	if (size > VU_MSG_MAX_PAYLOAD)
		return -EPROTO;
	if (!s)
		return 0; /* unknown: the dispatcher refuses it */

	switch (s->kind) {
	case SIZE_EXACT:
		if (size != s->size)
			return -EPROTO;
		if (msg->nfds < s->min_fds || msg->nfds > s->max_fds)
			return -EPROTO;
		return 0;
	case SIZE_MEM_TABLE:
		if (size < VU_MEM_TABLE_HDR_SIZE)
			return -EPROTO;
		if (msg->p.mem.nregions > VU_MSG_MAX_FDS)
			return -EPROTO;
		if (size != VU_MEM_TABLE_HDR_SIZE +
			    msg->p.mem.nregions * sizeof(struct vu_msg_region))
			return -EPROTO;
		if (msg->nfds != msg->p.mem.nregions)
			return -EPROTO;
		return 0;
	case SIZE_VRING_FD:
		if (size != s->size)
			return -EPROTO;
		if (msg->nfds != ((msg->p.u64 & VU_VRING_NOFD_MASK) ? 0u : 1u))
			return -EPROTO;
		return 0;
	}
	return -EPROTO;
}

int vu_msg_recv(int sock, struct vu_msg *msg)
{
	size_t got;
	int r;

	msg->nfds = 0;
	memset(&msg->hdr, 0, sizeof(msg->hdr));
	r = recv_full(sock, &msg->hdr, sizeof(msg->hdr), msg, &got);
	if (r < 0) {
		if (r == -ECONNRESET && got > 0)
			r = -EPROTO;
		goto fail;
	}
	if (msg->hdr.size > VU_MSG_MAX_PAYLOAD) {
		r = -EPROTO;
		goto fail;
	}
	memset(&msg->p, 0, sizeof(msg->p));
	if (msg->hdr.size > 0) {
		r = recv_full(sock, &msg->p, msg->hdr.size, msg, &got);
		if (r == -ECONNRESET)
			r = -EPROTO;
		if (r < 0)
			goto fail;
	}
	r = vu_msg_check(msg);
	if (r < 0)
		goto fail;
	return 0;
fail:
	vu_msg_close_fds(msg);
	return r;
}

int vu_msg_send(int sock, const struct vu_msg_hdr *hdr, const void *payload,
		const int *fds, unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VU_MSG_MAX_FDS)];
		struct cmsghdr align;
	} control;
	struct iovec iov[2] = {
		{ (void *)hdr, sizeof(*hdr) },
		{ (void *)payload, payload ? hdr->size : 0 },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	size_t total = iov[0].iov_len + iov[1].iov_len;

	if (nfds > VU_MSG_MAX_FDS)
		return -EINVAL;
	if (nfds > 0) {
		struct cmsghdr *c;

		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}

	while (total > 0) {
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		/* The fds went with the first byte. */
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		total -= (size_t)n;
		while (n > 0 && mh.msg_iovlen > 0) {
			size_t take = (size_t)n < mh.msg_iov->iov_len ?
				(size_t)n : mh.msg_iov->iov_len;

			mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + take;
			mh.msg_iov->iov_len -= take;
			n -= (ssize_t)take;
			if (mh.msg_iov->iov_len == 0) {
				mh.msg_iov++;
				mh.msg_iovlen--;
			}
		}
	}
	return 0;
}

int vu_msg_reply(int sock, struct vu_msg *msg, uint32_t size)
{
	struct vu_msg_hdr hdr = {
		.request = msg->hdr.request,
		.flags = VU_FLAG_VERSION | VU_FLAG_REPLY,
		.size = size,
	};

	return vu_msg_send(sock, &hdr, &msg->p, NULL, 0);
}

int vu_msg_reply_ack(int sock, struct vu_msg *msg, int result)
{
	msg->p.u64 = result < 0 ? 1 : 0;
	return vu_msg_reply(sock, msg, sizeof(msg->p.u64));
}
