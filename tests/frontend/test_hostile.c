/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A hostile front-end and a hostile guest against vfsd.  Whatever arrives,
 * the daemon must survive: reject the message (nonzero REPLY_ACK) or drop
 * the connection, latch a broken ring or skip the chain, answer a malformed
 * FUSE request with an error - and then serve a NEW connection normally.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include <criterion/criterion.h>

#include "fe_test.h"

static void setup(void)
{
	fe_test_start(FE_BACKEND_VFSD, NULL);
}

TestSuite(hostile_control, .init = setup, .fini = fe_test_fini,
	  .timeout = 120);
TestSuite(hostile_guest, .init = setup, .fini = fe_test_fini,
	  .timeout = 120);
TestSuite(hostile_fuse, .init = setup, .fini = fe_test_fini,
	  .timeout = 60);

#define ACK (FE_VU_VERSION | FE_VU_FLAG_NEED_REPLY)

/* Drop whatever connection the test used; the daemon must still be there
 * and a new connection must work end to end. */
static void expect_survives(const char *what)
{
	fe_dev_abort(fe_t.dev);
	fe_t.dev = NULL;
	cr_assert(fe_backend_alive(&fe_t.be), "%s: vfsd died", what);
	fe_t.dev = fe_test_open(NULL);
	fe_scenario_smoke(fe_t.dev, fe_t.be.shared);
	fe_dev_close(fe_t.dev);
	fe_t.dev = NULL;
	cr_assert(fe_backend_alive(&fe_t.be), "%s: vfsd died later", what);
}

/* After a bad message sent with NEED_REPLY: a nonzero ack or a dropped
 * connection.  Returns true if the connection is gone. */
static bool expect_rejected(struct fe_dev *d, uint32_t req, const char *what)
{
	struct fe_vu_msg m;
	int r;

	r = fe_vu_recv(d, &m, -1);
	if (r == -ECONNRESET)
		return true;
	cr_assert_eq(r, 0, "%s: neither a reply nor a disconnect (%s)", what,
		     strerror(-r));
	fe_vu_msg_close_fds(&m);
	cr_assert(m.hdr.flags & FE_VU_FLAG_REPLY, "%s: reply flag", what);
	cr_assert_eq(m.hdr.request, req, "%s: reply to another request",
		     what);
	/* Requests that always reply can only refuse by disconnecting. */
	if (!fe_vu_request_has_reply(req)) {
		cr_assert_eq(m.hdr.size, sizeof(uint64_t), "%s: ack size", what);
		cr_assert_neq(m.payload.u64, 0u, "%s: accepted", what);
	}
	return false;
}

/* A connection that negotiated features (REPLY_ACK on), no memory yet. */
static struct fe_dev *negotiated(const struct fe_opts *o)
{
	struct fe_dev *d = NULL;
	int r;

	r = fe_dev_connect(&d, fe_t.be.sock, o);
	cr_assert_eq(r, 0, "connect: %s", strerror(-r));
	fe_t.dev = d;
	r = fe_dev_negotiate(d);
	cr_assert_eq(r, 0, "negotiate: %s", strerror(-r));
	cr_assert(fe_dev_protocol_features(d) &
		  (1ull << FE_VU_PROTO_REPLY_ACK));
	return d;
}

static struct fe_dev *with_memory(const struct fe_opts *o)
{
	struct fe_dev *d = negotiated(o);

	cr_assert_eq(fe_dev_set_mem_table(d), 0);
	return d;
}

struct bad_msg {
	const char *what;
	uint32_t req;
	uint32_t size;          /* header size == bytes sent */
	uint8_t payload[64];
	unsigned int nfds;      /* eventfds to attach */
	bool with_memory;
};

static void run_bad_msgs(const struct bad_msg *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct bad_msg *c = &cases[i];
		int fds[FE_VU_MAX_FDS];
		struct fe_dev *d;
		unsigned int k;

		d = c->with_memory ? with_memory(NULL) : negotiated(NULL);
		for (k = 0; k < c->nfds; k++) {
			fds[k] = eventfd(0, EFD_CLOEXEC);
			cr_assert_geq(fds[k], 0);
		}
		cr_assert_eq(fe_vu_send(d, c->req, ACK, c->size, c->payload,
					c->size, fds, c->nfds), 0, "%s",
			     c->what);
		for (k = 0; k < c->nfds; k++)
			close(fds[k]);
		expect_rejected(d, c->req, c->what);
		expect_survives(c->what);
	}
}

#define U64(v) { (uint8_t)(v), (uint8_t)((v) >> 8), (uint8_t)((v) >> 16), \
		 (uint8_t)((v) >> 24), (uint8_t)((uint64_t)(v) >> 32), \
		 (uint8_t)((uint64_t)(v) >> 40), (uint8_t)((uint64_t)(v) >> 48), \
		 (uint8_t)((uint64_t)(v) >> 56) }
#define STATE(i, n) { (uint8_t)(i), (uint8_t)((i) >> 8), (uint8_t)((i) >> 16),\
		      (uint8_t)((i) >> 24), (uint8_t)(n), (uint8_t)((n) >> 8), \
		      (uint8_t)((n) >> 16), (uint8_t)((n) >> 24) }

Test(hostile_control, wrong_payload_size_is_rejected)
{
	static const struct bad_msg cases[] = {
		{ .what = "SET_FEATURES with 4 bytes",
		  .req = FE_VU_SET_FEATURES, .size = 4, .nfds = 0,
		  .with_memory = false,
		  .payload = { 0 } },
		{ .what = "SET_FEATURES with 16 bytes",
		  .req = FE_VU_SET_FEATURES, .size = 16, .nfds = 0,
		  .with_memory = false,
		  .payload = { 0 } },
		{ .what = "SET_PROTOCOL_FEATURES with 0 bytes",
		  .req = FE_VU_SET_PROTOCOL_FEATURES, .size = 0, .nfds = 0,
		  .with_memory = false,
		  .payload = { 0 } },
		{ .what = "SET_VRING_NUM with 4 bytes",
		  .req = FE_VU_SET_VRING_NUM, .size = 4, .nfds = 0,
		  .with_memory = false,
		  .payload = { 0 } },
		{ .what = "SET_VRING_ADDR with 8 bytes",
		  .req = FE_VU_SET_VRING_ADDR, .size = 8, .nfds = 0,
		  .with_memory = false,
		  .payload = STATE(1, 0) },
		{ .what = "SET_VRING_KICK with 4 bytes",
		  .req = FE_VU_SET_VRING_KICK, .size = 4, .nfds = 1,
		  .with_memory = false,
		  .payload = { 1 } },
		{ .what = "SET_MEM_TABLE with 4 bytes",
		  .req = FE_VU_SET_MEM_TABLE, .size = 4, .nfds = 1,
		  .with_memory = false,
		  .payload = { 1 } },
		/* nregions 2, but room for one region only */
		{ .what = "SET_MEM_TABLE size disagrees with nregions",
		  .req = FE_VU_SET_MEM_TABLE, .size = 8 + 32, .nfds = 2,
		  .with_memory = false,
		  .payload = { 2 } },
		{ .what = "SET_VRING_ENABLE with 12 bytes",
		  .req = FE_VU_SET_VRING_ENABLE, .size = 12, .nfds = 0,
		  .with_memory = false,
		  .payload = STATE(1, 1) },
	};

	run_bad_msgs(cases, sizeof(cases) / sizeof(cases[0]));
	fe_test_end();
}

Test(hostile_control, wrong_fd_count_is_rejected)
{
	static const struct bad_msg cases[] = {
		{ .what = "SET_VRING_KICK without fd nor NOFD flag",
		  .req = FE_VU_SET_VRING_KICK, .size = 8, .nfds = 0,
		  .with_memory = true,
		  .payload = U64(1) },
		{ .what = "SET_VRING_CALL with 3 fds",
		  .req = FE_VU_SET_VRING_CALL, .size = 8, .nfds = 3,
		  .with_memory = true,
		  .payload = U64(1) },
		{ .what = "SET_VRING_KICK with NOFD flag and an fd",
		  .req = FE_VU_SET_VRING_KICK, .size = 8, .nfds = 1,
		  .with_memory = true,
		  .payload = U64(1 | FE_VU_VRING_NOFD) },
		{ .what = "SET_MEM_TABLE with no fd for its region",
		  .req = FE_VU_SET_MEM_TABLE, .size = 8 + 32, .nfds = 0,
		  .with_memory = false,
		  .payload = { 1 } },
		{ .what = "SET_FEATURES carrying 8 fds",
		  .req = FE_VU_SET_FEATURES, .size = 8, .nfds = 8,
		  .with_memory = false,
		  .payload = U64(1ull << 32) },
	};

	run_bad_msgs(cases, sizeof(cases) / sizeof(cases[0]));
	fe_test_end();
}

Test(hostile_control, queue_index_out_of_range_is_rejected)
{
	static const struct bad_msg cases[] = {
		{ .what = "SET_VRING_NUM index 16",
		  .req = FE_VU_SET_VRING_NUM, .size = 8, .nfds = 0,
		  .with_memory = true,
		  .payload = STATE(16, 128) },
		{ .what = "SET_VRING_NUM index 0xffffffff",
		  .req = FE_VU_SET_VRING_NUM, .size = 8, .nfds = 0,
		  .with_memory = true,
		  .payload = STATE(0xffffffffu, 128) },
		{ .what = "SET_VRING_BASE index 255",
		  .req = FE_VU_SET_VRING_BASE, .size = 8, .nfds = 0,
		  .with_memory = true,
		  .payload = STATE(255, 0) },
		{ .what = "SET_VRING_ENABLE index 99",
		  .req = FE_VU_SET_VRING_ENABLE, .size = 8, .nfds = 0,
		  .with_memory = true,
		  .payload = STATE(99, 1) },
		{ .what = "SET_VRING_KICK index 200",
		  .req = FE_VU_SET_VRING_KICK, .size = 8, .nfds = 1,
		  .with_memory = true,
		  .payload = U64(200) },
		{ .what = "SET_VRING_CALL index 255 no fd",
		  .req = FE_VU_SET_VRING_CALL, .size = 8, .nfds = 0,
		  .with_memory = true,
		  .payload = U64(255 | FE_VU_VRING_NOFD) },
		{ .what = "SET_VRING_ERR index 64",
		  .req = FE_VU_SET_VRING_ERR, .size = 8, .nfds = 1,
		  .with_memory = true,
		  .payload = U64(64) },
		{ .what = "SET_VRING_ADDR index 1000",
		  .req = FE_VU_SET_VRING_ADDR, .size = 40, .nfds = 0,
		  .with_memory = true,
		  .payload = { 0xe8, 0x03 } },
		{ .what = "GET_VRING_BASE index 17",
		  .req = FE_VU_GET_VRING_BASE, .size = 8, .nfds = 0,
		  .with_memory = true,
		  .payload = STATE(17, 0) },
	};

	run_bad_msgs(cases, sizeof(cases) / sizeof(cases[0]));
	fe_test_end();
}

Test(hostile_control, ring_size_not_power_of_two_is_rejected)
{
	static const struct bad_msg cases[] = {
		{ .what = "ring size 100",
		  .req = FE_VU_SET_VRING_NUM, .size = 8, .nfds = 0,
		  .with_memory = true,
		  .payload = STATE(1, 100) },
		{ .what = "ring size 0",
		  .req = FE_VU_SET_VRING_NUM, .size = 8, .nfds = 0,
		  .with_memory = true,
		  .payload = STATE(1, 0) },
		{ .what = "ring size 3",
		  .req = FE_VU_SET_VRING_NUM, .size = 8, .nfds = 0,
		  .with_memory = true,
		  .payload = STATE(0, 3) },
		{ .what = "ring size 65536",
		  .req = FE_VU_SET_VRING_NUM, .size = 8, .nfds = 0,
		  .with_memory = true,
		  .payload = STATE(1, 65536) },
		{ .what = "ring size 0xffffffff",
		  .req = FE_VU_SET_VRING_NUM, .size = 8, .nfds = 0,
		  .with_memory = true,
		  .payload = STATE(1, 0xffffffffu) },
	};

	run_bad_msgs(cases, sizeof(cases) / sizeof(cases[0]));
	fe_test_end();
}

Test(hostile_control, unknown_requests_are_rejected)
{
	static const struct bad_msg cases[] = {
		{ .what = "request 0",
		  .req = 0, .size = 0, .nfds = 0,
		  .with_memory = false,
		  .payload = { 0 } },
		{ .what = "request 1000",
		  .req = 1000, .size = 8, .nfds = 0,
		  .with_memory = false,
		  .payload = U64(0) },
		{ .what = "request 0xffffffff",
		  .req = 0xffffffffu, .size = 0, .nfds = 0,
		  .with_memory = false,
		  .payload = { 0 } },
	};

	run_bad_msgs(cases, sizeof(cases) / sizeof(cases[0]));
	fe_test_end();
}

enum addr_case {
	DESC_AFTER_END,         /* wholly outside guest memory */
	DESC_STRADDLES_END,     /* starts inside, 128 * 16 bytes do not fit */
	USED_STRADDLES_END,
	AVAIL_BEFORE_START,
	DESC_IN_HOLE,           /* between two regions */
	DESC_WRAPS,             /* address + size overflows */
	ADDR_ZERO,
};

/* Run a queue setup whose SET_VRING_ADDR carries a bad address: some step
 * must be refused (or the connection dropped), and nothing may crash. */
static void ring_setup_must_fail(enum addr_case c, const char *what)
{
	struct fe_opts o = { .mem_regions = 2 };
	struct fe_dev *d = with_memory(&o);
	const struct fe_vu_region *r0 = fe_mem_region(d, 0);
	uint64_t b = r0->uaddr, e = r0->uaddr + r0->size;
	struct fe_vu_state st = { .index = 1, .num = 128 };
	struct fe_vu_addr a = { .index = 1, .desc = b, .avail = b + 8192,
				.used = b + 16384 };
	uint64_t v = 1;
	int kick = eventfd(0, EFD_CLOEXEC), call = eventfd(0, EFD_CLOEXEC), r;

	switch (c) {
	case DESC_AFTER_END:
		a.desc = fe_mem_region(d, 1)->uaddr + r0->size + 4096;
		break;
	case DESC_STRADDLES_END:
		a.desc = e - 16;
		break;
	case USED_STRADDLES_END:
		a.used = e - 64;
		break;
	case AVAIL_BEFORE_START:
		a.avail = b - 4096;
		break;
	case DESC_IN_HOLE:
		/* uaddrs of our two regions are contiguous in our mapping,
		 * so there is no hole in uaddr space: use one far below. */
		a.desc = 0x1000;
		break;
	case DESC_WRAPS:
		a.desc = UINT64_MAX - 1024;
		break;
	case ADDR_ZERO:
		a.desc = a.avail = a.used = 0;
		break;
	}
	r = fe_vu_call(d, FE_VU_SET_VRING_NUM, &st, sizeof(st), NULL, 0, NULL);
	cr_assert_eq(r, 0, "%s: SET_VRING_NUM", what);
	st.num = 0;
	r = fe_vu_call(d, FE_VU_SET_VRING_BASE, &st, sizeof(st), NULL, 0, NULL);
	cr_assert_eq(r, 0, "%s: SET_VRING_BASE", what);
	r = fe_vu_call(d, FE_VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0, NULL);
	if (r == 0)
		r = fe_vu_call(d, FE_VU_SET_VRING_CALL, &v, sizeof(v), &call, 1,
			       NULL);
	if (r == 0)
		r = fe_vu_call(d, FE_VU_SET_VRING_KICK, &v, sizeof(v), &kick, 1,
			       NULL);
	if (r == 0) {
		st.num = 1;
		r = fe_vu_call(d, FE_VU_SET_VRING_ENABLE, &st, sizeof(st),
			       NULL, 0, NULL);
	}
	if (r == 0)     /* make it touch the ring, if it will */
		(void)!write(kick, &v, sizeof(v));
	close(kick);
	close(call);
	cr_assert(r == -EREMOTEIO || r == -ECONNRESET || r == -EPIPE,
		  "%s: ring setup accepted (%d)", what, r);
	expect_survives(what);
}

Test(hostile_control, ring_address_outside_memory_is_rejected)
{
	ring_setup_must_fail(DESC_AFTER_END, "desc after the end of memory");
	ring_setup_must_fail(DESC_STRADDLES_END, "desc straddles region end");
	ring_setup_must_fail(USED_STRADDLES_END, "used straddles region end");
	ring_setup_must_fail(AVAIL_BEFORE_START, "avail before memory");
	ring_setup_must_fail(DESC_IN_HOLE, "desc at an unmapped low address");
	ring_setup_must_fail(DESC_WRAPS, "desc address wraps");
	ring_setup_must_fail(ADDR_ZERO, "all ring addresses zero");
	fe_test_end();
}

/* SET_MEM_TABLE with one hostile region (the memfd is real). */
/* uaddr 0: the real one. */
static void mem_table_must_fail(const char *what, uint64_t gpa,
				uint64_t size, uint64_t uaddr,
				uint64_t mmap_offset, uint32_t nregions)
{
	struct fe_dev *d = negotiated(NULL);
	const struct fe_vu_region *r0 = fe_mem_region(d, 0);
	struct fe_vu_mem m = { .nregions = nregions };
	int fds[FE_VU_MEM_REGIONS];
	uint32_t i, n = nregions > FE_VU_MEM_REGIONS ? FE_VU_MEM_REGIONS :
						       nregions;
	uint32_t bytes;

	for (i = 0; i < FE_VU_MEM_REGIONS; i++) {
		fds[i] = fe_mem_fd(d);
		m.regions[i] = (struct fe_vu_region){
			.gpa = gpa + i * (size + 0x100000000ull),
			.size = size,
			.uaddr = uaddr ? uaddr : r0->uaddr,
			.mmap_offset = mmap_offset,
		};
	}
	bytes = 8 + n * sizeof(struct fe_vu_region);
	cr_assert_eq(fe_vu_send(d, FE_VU_SET_MEM_TABLE, ACK, bytes, &m, bytes,
				fds, n), 0);
	expect_rejected(d, FE_VU_SET_MEM_TABLE, what);
	expect_survives(what);
}

Test(hostile_control, bad_memory_table_is_rejected)
{
	const uint64_t sz = FE_DEFAULT_MEM_SIZE;

	mem_table_must_fail("gpa + size overflows", UINT64_MAX - 4095, sz, 0,
			    0, 1);
	mem_table_must_fail("uaddr + size overflows", FE_GPA_BASE, sz,
			    UINT64_MAX - 4095, 0, 1);
	mem_table_must_fail("mmap_offset past the memfd", FE_GPA_BASE, sz, 0,
			    1ull << 40, 1);
	mem_table_must_fail("mmap_offset + size overflows", FE_GPA_BASE, sz,
			    0, UINT64_MAX - 4095, 1);
	mem_table_must_fail("nregions 9 (more than 8)", FE_GPA_BASE, 4096, 0,
			    0, 9);
	fe_test_end();
}

Test(hostile_control, broken_framing_drops_the_connection)
{
	uint64_t v = 1ull << 32;
	struct fe_vu_hdr h;
	struct fe_vu_msg m;
	struct fe_dev *d;
	int r;

	/* A header promising 4 GiB: the daemon must not wait for it (or
	 * allocate it); dropping the connection is the only sane answer. */
	d = negotiated(NULL);
	h = (struct fe_vu_hdr){ FE_VU_SET_FEATURES, ACK, 0xffffffffu };
	cr_assert_eq(fe_vu_send_raw(d, &h, sizeof(h), NULL, 0), 0);
	r = fe_vu_recv(d, &m, -1);
	cr_assert_eq(r, -ECONNRESET, "huge size: connection kept (%d)", r);
	expect_survives("huge size");

	/* Wrong protocol version in the flags: refusing it is best, but a
	 * GET_FEATURES cannot carry a refusal, so only survival is required. */
	d = negotiated(NULL);
	h = (struct fe_vu_hdr){ FE_VU_SET_FEATURES, 0x2 | FE_VU_FLAG_NEED_REPLY,
				8 };
	cr_assert_eq(fe_vu_send(d, h.request, h.flags, 8, &v, 8, NULL, 0), 0);
	r = fe_vu_recv(d, &m, -1);
	if (r == 0) {
		fe_vu_msg_close_fds(&m);
		cr_assert_neq(m.payload.u64, 0u, "bad version: accepted");
	}
	expect_survives("bad version");

	/* A truncated message, then hang up. */
	d = negotiated(NULL);
	h = (struct fe_vu_hdr){ FE_VU_SET_FEATURES, ACK, 8 };
	cr_assert_eq(fe_vu_send_raw(d, &h, sizeof(h) - 2, NULL, 0), 0);
	expect_survives("truncated header");
	d = negotiated(NULL);
	cr_assert_eq(fe_vu_send(d, FE_VU_SET_FEATURES, ACK, 8, "abcd", 4,
				NULL, 0), 0);
	expect_survives("truncated payload");
	fe_test_end();
}

Test(hostile_control, fds_of_rejected_messages_are_not_leaked)
{
	struct fe_dev *d;
	int base, n, i, k;

	d = fe_test_open(NULL);
	fe_scenario_smoke(d, fe_t.be.shared);
	base = fe_count_fds(fe_t.be.pid);
	fe_dev_close(d);
	for (i = 0; i < 10; i++) {
		int fds[FE_VU_MAX_FDS];
		uint64_t v = 1ull << 32;
		struct fe_vu_msg m;

		d = negotiated(NULL);
		for (k = 0; k < FE_VU_MAX_FDS; k++)
			fds[k] = eventfd(0, EFD_CLOEXEC);
		/* Requests that take no fd, each carrying eight. */
		fe_vu_send(d, i % 2 ? FE_VU_SET_FEATURES : FE_VU_SET_OWNER,
			   ACK, i % 2 ? 8 : 0, &v, i % 2 ? 8 : 0, fds,
			   FE_VU_MAX_FDS);
		for (k = 0; k < FE_VU_MAX_FDS; k++)
			close(fds[k]);
		if (fe_vu_recv(d, &m, -1) == 0)
			fe_vu_msg_close_fds(&m);
		fe_dev_abort(d);
		fe_t.dev = NULL;
	}
	fe_t.dev = d = fe_test_open(NULL);
	fe_scenario_smoke(d, fe_t.be.shared);
	for (k = 0, n = fe_count_fds(fe_t.be.pid); k < 500 && n > base; k++) {
		usleep(10000);
		n = fe_count_fds(fe_t.be.pid);
	}
	cr_assert_leq(n, base, "vfsd holds %d fds, %d before", n, base);
	fe_test_end();
}

/* ---- hostile guest: descriptor chains on a running request queue ---- */

/* Raw descriptors use the top of the table; the library's free list hands
 * out the bottom first, so the probe request below does not collide. */
#define RAW 100

struct chain_env {
	struct fe_dev *d;
	struct fe_vq *q;
	struct vring_desc *desc;
	uint64_t in_gpa;        /* a valid GETATTR(root) request */
	uint32_t in_len;
	uint64_t out_gpa;       /* a valid 256-byte reply buffer */
	void *table;            /* 64 KiB for indirect tables */
	uint64_t table_gpa;
};

static void chain_env_open(struct chain_env *c, const struct fe_opts *o)
{
	struct {
		struct fuse_in_header h;
		struct fuse_getattr_in g;
	} *req;
	void *out;

	c->d = fe_test_open_init(o);
	fe_t.dev = c->d;
	c->q = fe_dev_vq(c->d, 1);
	c->desc = fe_vq_desc(c->q);
	req = fe_mem_alloc(c->d, sizeof(*req), 64);
	out = fe_mem_alloc(c->d, 256, 64);
	c->table = fe_mem_alloc(c->d, 65536, 16);
	cr_assert(req && out && c->table);
	req->h = (struct fuse_in_header){ .len = sizeof(*req),
		.opcode = FUSE_GETATTR, .unique = 0x1000,
		.nodeid = FUSE_ROOT_ID };
	c->in_gpa = fe_mem_gpa(c->d, req);
	c->in_len = sizeof(*req);
	c->out_gpa = fe_mem_gpa(c->d, out);
	c->table_gpa = fe_mem_gpa(c->d, c->table);
}

static void set_desc(struct vring_desc *d, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

/* After the bad chain, queue a good request in the same kick.  If the
 * daemon skips or fails the bad chain it answers the probe; if it latches
 * the ring broken it does not.  Either is allowed; crashing is not. */
static void probe_and_survive(struct chain_env *c, const char *what)
{
	struct {
		struct fuse_in_header h;
		struct fuse_getattr_in g;
	} *req;
	struct fe_seg seg[2];
	uint16_t seen = fe_vq_used_idx(c->q);
	int64_t deadline;
	bool answered = false;
	void *out;
	int head;

	req = fe_mem_alloc(c->d, sizeof(*req), 64);
	out = fe_mem_alloc(c->d, 256, 64);
	cr_assert(req && out);
	req->h = (struct fuse_in_header){ .len = sizeof(*req),
		.opcode = FUSE_GETATTR, .unique = 0x2000,
		.nodeid = FUSE_ROOT_ID };
	seg[0] = (struct fe_seg){ req, sizeof(*req), false };
	seg[1] = (struct fe_seg){ out, 256, true };
	head = fe_vq_add(c->q, seg, 2, req);
	cr_assert_geq(head, 0);
	cr_assert_lt(head, RAW);
	fe_vq_kick_force(c->q);
	/* Bounded: a broken ring never answers. */
	deadline = fe_now_ms() + 1000;
	while (!answered && fe_now_ms() < deadline) {
		struct pollfd p = { .fd = fe_vq_call_fd(c->q), .events = POLLIN };
		uint16_t idx = fe_vq_used_idx(c->q);
		uint64_t v;

		for (; seen != idx; seen++) {
			struct vring_used_elem e =
				fe_vq_used(c->q)->ring[seen % fe_vq_size(c->q)];

			if (e.id == (uint32_t)head)
				answered = true;
			else
				cr_assert_leq(e.len, 256u, "%s: used len %u "
					      "larger than any writable part",
					      what, e.len);
		}
		if (!answered && poll(&p, 1, 50) > 0)
			(void)!read(p.fd, &v, sizeof(v));
	}
	if (getenv("FE_VERBOSE"))
		fprintf(stderr, "%s: ring %s\n", what,
			answered ? "kept serving" : "stopped (broken latch)");
	expect_survives(what);
}

static void publish_and_probe(struct chain_env *c, uint16_t head,
			      const char *what)
{
	fe_vq_publish_raw(c->q, head);
	probe_and_survive(c, what);
}

Test(hostile_guest, descriptor_loop)
{
	struct chain_env c;

	chain_env_open(&c, NULL);
	set_desc(&c.desc[RAW], c.in_gpa, c.in_len, VRING_DESC_F_NEXT, RAW + 1);
	set_desc(&c.desc[RAW + 1], c.out_gpa, 256,
		 VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, RAW);
	publish_and_probe(&c, RAW, "descriptor loop");
	fe_test_end();
}

Test(hostile_guest, next_out_of_range)
{
	struct chain_env c;

	chain_env_open(&c, NULL);
	set_desc(&c.desc[RAW], c.in_gpa, c.in_len, VRING_DESC_F_NEXT,
		 (uint16_t)(fe_vq_size(c.q) + 7));
	publish_and_probe(&c, RAW, "next out of range");
	fe_test_end();
}

Test(hostile_guest, head_out_of_range)
{
	struct chain_env c;

	chain_env_open(&c, NULL);
	publish_and_probe(&c, 5000, "head out of range");
	fe_test_end();
}

Test(hostile_guest, avail_idx_jump)
{
	struct chain_env c;
	struct fe_vq *q;

	chain_env_open(&c, NULL);
	q = c.q;
	/* Claim more new entries than the ring holds. */
	fe_vq_set_avail_idx(q, (uint16_t)(fe_vq_avail(q)->idx +
					  fe_vq_size(q) + 10));
	probe_and_survive(&c, "avail idx jump");
	fe_test_end();
}

Test(hostile_guest, zero_length_descriptor)
{
	struct chain_env c;

	chain_env_open(&c, NULL);
	set_desc(&c.desc[RAW], c.in_gpa, 0, VRING_DESC_F_NEXT, RAW + 1);
	set_desc(&c.desc[RAW + 1], c.out_gpa, 256, VRING_DESC_F_WRITE, 0);
	publish_and_probe(&c, RAW, "zero-length descriptor");
	fe_test_end();
}

Test(hostile_guest, readable_after_writable)
{
	struct chain_env c;

	chain_env_open(&c, NULL);
	set_desc(&c.desc[RAW], c.out_gpa, 256,
		 VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, RAW + 1);
	set_desc(&c.desc[RAW + 1], c.in_gpa, c.in_len, 0, 0);
	publish_and_probe(&c, RAW, "readable after writable");
	fe_test_end();
}

Test(hostile_guest, buffer_outside_memory)
{
	struct chain_env c;

	chain_env_open(&c, NULL);
	set_desc(&c.desc[RAW], 0x1000, c.in_len, VRING_DESC_F_NEXT, RAW + 1);
	set_desc(&c.desc[RAW + 1], c.out_gpa, 256, VRING_DESC_F_WRITE, 0);
	publish_and_probe(&c, RAW, "buffer outside memory");
	fe_test_end();
}

Test(hostile_guest, buffer_straddles_region_end)
{
	struct fe_opts o = { .mem_regions = 2 };
	const struct fe_vu_region *r0;
	struct chain_env c;

	chain_env_open(&c, &o);
	r0 = fe_mem_region(c.d, 0);
	/* Writable buffer running from region 0 into the hole after it. */
	set_desc(&c.desc[RAW], c.in_gpa, c.in_len, VRING_DESC_F_NEXT, RAW + 1);
	set_desc(&c.desc[RAW + 1], r0->gpa + r0->size - 8, 256,
		 VRING_DESC_F_WRITE, 0);
	publish_and_probe(&c, RAW, "buffer straddles region end");
	fe_test_end();
}

Test(hostile_guest, huge_lengths)
{
	struct chain_env c;

	chain_env_open(&c, NULL);
	set_desc(&c.desc[RAW], c.in_gpa, c.in_len, VRING_DESC_F_NEXT, RAW + 1);
	set_desc(&c.desc[RAW + 1], c.out_gpa, 0xffffffffu,
		 VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, RAW + 2);
	set_desc(&c.desc[RAW + 2], c.out_gpa, 0xffffffffu,
		 VRING_DESC_F_WRITE, 0);
	publish_and_probe(&c, RAW, "huge lengths");
	fe_test_end();
}

static void indirect_case(uint32_t table_len, uint16_t head_flags,
			  void (*fill)(struct chain_env *, struct vring_desc *),
			  const char *what)
{
	struct fe_opts o = { .indirect = true };
	struct chain_env c;

	chain_env_open(&c, &o);
	fill(&c, c.table);
	set_desc(&c.desc[RAW], c.table_gpa, table_len,
		 VRING_DESC_F_INDIRECT | head_flags, RAW + 1);
	set_desc(&c.desc[RAW + 1], c.out_gpa, 256, VRING_DESC_F_WRITE, 0);
	publish_and_probe(&c, RAW, what);
}

static void fill_valid(struct chain_env *c, struct vring_desc *t)
{
	set_desc(&t[0], c->in_gpa, c->in_len, VRING_DESC_F_NEXT, 1);
	set_desc(&t[1], c->out_gpa, 256, VRING_DESC_F_WRITE, 0);
}

static void fill_nested(struct chain_env *c, struct vring_desc *t)
{
	set_desc(&t[0], c->in_gpa, c->in_len, VRING_DESC_F_NEXT, 1);
	set_desc(&t[1], c->table_gpa, 32, VRING_DESC_F_INDIRECT, 0);
}

static void fill_loop(struct chain_env *c, struct vring_desc *t)
{
	set_desc(&t[0], c->in_gpa, c->in_len, VRING_DESC_F_NEXT, 1);
	set_desc(&t[1], c->out_gpa, 256,
		 VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0);
}

static void fill_next_out(struct chain_env *c, struct vring_desc *t)
{
	set_desc(&t[0], c->in_gpa, c->in_len, VRING_DESC_F_NEXT, 2);
}

static void fill_many(struct chain_env *c, struct vring_desc *t)
{
	unsigned int i;

	/* 4095 one-byte readable pieces, then the reply buffer. */
	for (i = 0; i < 4095; i++)
		set_desc(&t[i], c->in_gpa + (i % c->in_len), 1,
			 VRING_DESC_F_NEXT, (uint16_t)(i + 1));
	set_desc(&t[4095], c->out_gpa, 256, VRING_DESC_F_WRITE, 0);
}

Test(hostile_guest, indirect_table_of_bad_size)
{
	indirect_case(17, 0, fill_valid, "indirect table len 17");
	indirect_case(0, 0, fill_valid, "indirect table len 0");
	indirect_case(0xfffffff0u, 0, fill_valid, "indirect table 4 GiB");
	fe_test_end();
}

Test(hostile_guest, indirect_table_abuse)
{
	indirect_case(32, 0, fill_nested, "nested indirect table");
	indirect_case(32, VRING_DESC_F_NEXT, fill_valid,
		      "indirect with NEXT");
	indirect_case(32, VRING_DESC_F_WRITE, fill_valid,
		      "indirect with WRITE");
	indirect_case(32, 0, fill_loop, "loop inside an indirect table");
	indirect_case(16, 0, fill_next_out, "next beyond the indirect table");
	indirect_case(4096 * 16, 0, fill_many,
		      "indirect table with 4096 entries");
	fe_test_end();
}

/* ---- malformed FUSE requests on a healthy ring ---- */

struct getattr_req {
	struct fuse_in_header h;
	struct fuse_getattr_in g;
};

static struct getattr_req getattr_root(struct fe_dev *d)
{
	return (struct getattr_req){
		.h = { .len = sizeof(struct getattr_req),
		       .opcode = FUSE_GETATTR,
		       .unique = fe_fuse_next_unique(d),
		       .nodeid = FUSE_ROOT_ID },
	};
}

/* Send raw bytes; expect a well-formed error reply to our unique. */
static void expect_error_reply(struct fe_dev *d, const void *req, size_t len,
			       const char *what)
{
	const struct fuse_in_header *h = req;
	struct fe_reply rep;
	uint8_t reply[512];
	int r;

	r = fe_fuse_call_raw(d, 1, req, len, reply, sizeof(reply), &rep);
	cr_assert_eq(r, 0, "%s: no used entry (%s)", what, strerror(-r));
	cr_assert_geq(rep.used_len, sizeof(struct fuse_out_header),
		      "%s: no reply header (used %u)", what, rep.used_len);
	cr_assert_eq(rep.unique, h->unique, "%s: reply unique", what);
	cr_assert_lt(rep.error, 0, "%s: not an error (%d)", what, rep.error);
	cr_assert_gt(rep.error, -4096, "%s: error %d", what, rep.error);
	cr_assert_eq(rep.len, 0u, "%s: payload with an error", what);
}

static void still_serving(struct fe_dev *d)
{
	struct fuse_attr_out ao;

	cr_assert_eq(fe_getattr(d, FUSE_ROOT_ID, &ao), 0,
		     "the ring stopped serving after an error reply");
	cr_assert(fe_backend_alive(&fe_t.be));
}

Test(hostile_fuse, header_len_larger_than_the_chain)
{
	struct fe_dev *d = fe_t.dev = fe_test_open_init(NULL);
	struct getattr_req q = getattr_root(d);

	q.h.len = sizeof(q) + 100;
	expect_error_reply(d, &q, sizeof(q), "len > chain");
	q = getattr_root(d);
	q.h.len = 0xffffffffu;
	expect_error_reply(d, &q, sizeof(q), "len 0xffffffff");
	still_serving(d);
	fe_test_end();
}

Test(hostile_fuse, header_len_too_small_for_the_arguments)
{
	struct fe_dev *d = fe_t.dev = fe_test_open_init(NULL);
	struct getattr_req q = getattr_root(d);
	struct {
		struct fuse_in_header h;
		struct fuse_write_in w;
	} wr = {
		.h = { .len = sizeof(wr), .opcode = FUSE_WRITE,
		       .unique = fe_fuse_next_unique(d),
		       .nodeid = FUSE_ROOT_ID },
		.w = { .size = 4096 },  /* data claimed, none present */
	};

	q.h.len = sizeof(q.h) + 4;      /* GETATTR arg cut short */
	expect_error_reply(d, &q, sizeof(q.h) + 4, "short GETATTR arg");
	expect_error_reply(d, &wr, sizeof(wr), "WRITE size > data");
	still_serving(d);
	fe_test_end();
}

Test(hostile_fuse, unterminated_name)
{
	struct fe_dev *d = fe_t.dev = fe_test_open_init(NULL);
	struct {
		struct fuse_in_header h;
		char name[8];
	} q = {
		.h = { .len = sizeof(q), .opcode = FUSE_LOOKUP,
		       .unique = fe_fuse_next_unique(d),
		       .nodeid = FUSE_ROOT_ID },
	};

	memcpy(q.name, "abcdefgh", 8);          /* no NUL */
	expect_error_reply(d, &q, sizeof(q), "LOOKUP name without NUL");
	still_serving(d);
	fe_test_end();
}

Test(hostile_fuse, names_that_escape_are_refused)
{
	struct fe_dev *d = fe_t.dev = fe_test_open_init(NULL);
	struct fuse_entry_out e;

	cr_assert_lt(fe_lookup(d, FUSE_ROOT_ID, "a/b", &e), 0);
	cr_assert_lt(fe_lookup(d, FUSE_ROOT_ID, "../../../etc", &e), 0);
	cr_assert_lt(fe_mkdir(d, FUSE_ROOT_ID, "x/y", 0755, &e), 0);
	cr_assert_eq(fe_fuse_transport_error(d), 0);
	still_serving(d);
	fe_test_end();
}

Test(hostile_fuse, unknown_opcode_gets_enosys)
{
	struct fe_dev *d = fe_t.dev = fe_test_open_init(NULL);
	struct getattr_req q = getattr_root(d);
	struct fe_reply rep;
	uint8_t reply[64];

	q.h.opcode = 9999;
	cr_assert_eq(fe_fuse_call_raw(d, 1, &q, sizeof(q), reply,
				      sizeof(reply), &rep), 0);
	cr_assert_eq(rep.error, -ENOSYS);
	cr_assert_eq(rep.unique, q.h.unique);
	still_serving(d);
	fe_test_end();
}

Test(hostile_fuse, request_shorter_than_a_header)
{
	struct fe_dev *d = fe_t.dev = fe_test_open_init(NULL);
	struct getattr_req q = getattr_root(d);
	struct fe_reply rep;
	uint8_t reply[64];

	/* 20 bytes: no complete header.  The chain must come back (the
	 * guest would otherwise wait forever) without a bogus reply. */
	cr_assert_eq(fe_fuse_call_raw(d, 1, &q, 20, reply, sizeof(reply),
				      &rep), 0, "chain never returned");
	cr_assert_leq(rep.used_len, sizeof(reply));
	still_serving(d);
	fe_test_end();
}

Test(hostile_fuse, reply_buffer_too_small)
{
	struct fe_dev *d = fe_t.dev = fe_test_open_init(NULL);
	struct getattr_req q = getattr_root(d);
	struct fe_reply rep;
	uint8_t reply[8];

	cr_assert_eq(fe_fuse_call_raw(d, 1, &q, sizeof(q), reply,
				      sizeof(reply), &rep), 0);
	cr_assert_leq(rep.used_len, sizeof(reply),
		      "wrote %u bytes into an 8-byte buffer", rep.used_len);
	q = getattr_root(d);
	cr_assert_eq(fe_fuse_call_raw(d, 1, &q, sizeof(q), NULL, 0, &rep), 0);
	cr_assert_eq(rep.used_len, 0u);
	still_serving(d);
	fe_test_end();
}

Test(hostile_fuse, requests_before_init_get_an_error)
{
	struct fe_dev *d = fe_t.dev = fe_test_open(NULL);
	struct getattr_req q = getattr_root(d);

	expect_error_reply(d, &q, sizeof(q), "GETATTR before INIT");
	cr_assert_eq(fe_fuse_init(d, 0, FE_INIT_FLAGS_DEFAULT, NULL), 0);
	still_serving(d);
	fe_test_end();
}

Test(hostile_fuse, init_with_bad_major_is_refused)
{
	struct fe_dev *d = fe_t.dev = fe_test_open(NULL);
	struct {
		struct fuse_in_header h;
		struct fuse_init_in i;
	} q = {
		.h = { .len = sizeof(q), .opcode = FUSE_INIT,
		       .unique = fe_fuse_next_unique(d) },
		.i = { .major = 6, .minor = 0 },
	};
	struct fe_reply rep;
	uint8_t reply[256];

	/* Major 6: the server answers with its own version (so a newer
	 * kernel can retry) or an error; never accepts 6. */
	cr_assert_eq(fe_fuse_call_raw(d, 1, &q, sizeof(q), reply,
				      sizeof(reply), &rep), 0);
	cr_assert_geq(rep.used_len, sizeof(struct fuse_out_header));
	if (rep.error == 0) {
		struct fuse_init_out *io =
			(void *)(reply + sizeof(struct fuse_out_header));

		cr_assert_eq(io->major, FUSE_KERNEL_VERSION);
	}
	cr_assert_eq(fe_fuse_init(d, 0, FE_INIT_FLAGS_DEFAULT, NULL), 0);
	still_serving(d);
	fe_test_end();
}

/* Does the back-end's log contain `text`?  Waits up to ~10 s for it. */
static bool log_shows(const char *text)
{
	char buf[65536];

	for (int i = 0; i < 100; i++) {
		FILE *f = fopen(fe_t.be.log, "r");
		size_t n = 0;

		if (f) {
			n = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
		}
		buf[n] = '\0';
		if (strstr(buf, text))
			return true;
		usleep(100 * 1000);
	}
	return false;
}

/* A kick "eventfd" that is really a file reads 0 bytes at once, forever:
 * the worker must notice and stall that queue instead of spinning. */
Test(hostile_control, kick_fd_that_is_not_an_eventfd_stalls_the_queue)
{
	struct fe_dev *d = fe_test_open(NULL);
	uint64_t qidx = 1;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0);
	cr_assert_eq(fe_vu_send(d, FE_VU_SET_VRING_KICK, ACK, sizeof(qidx),
				&qidx, sizeof(qidx), &fd, 1), 0);
	close(fd);
	fe_t.dev = d;
	cr_assert(log_shows("kick fd is not an eventfd"),
		  "the daemon did not notice the bad kick fd");
	expect_survives("kick fd not an eventfd");
}
