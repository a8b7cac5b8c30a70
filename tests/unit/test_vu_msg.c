// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vhost-user control plane over a real socketpair: feature negotiation,
 * REPLY_ACK, framing checks (sizes, version, fd counts), queue index and
 * ring checks, the memory table, and when queue_start/queue_stop run.
 */
#include "test_vu_helpers.h"

#define BASE_FEATURES (T_F_VERSION_1 | T_F_INDIRECT | T_F_EVENT_IDX | T_F_PROTOCOL | \
		       (1ull << VU_F_ACCESS_PLATFORM))
#define DEV_FEATURE (1ull << 5)

static struct t_fe fe;

static void msetup(void)
{
	t_fe_open(&fe, 3, DEV_FEATURE);
}

static void mteardown(void)
{
	t_fe_close(&fe);
}

TestSuite(vu_msg, .init = msetup, .fini = mteardown);

/* Whether the read end of a pipe sees EOF, i.e. every write end is closed. */
static bool pipe_closed(int rd)
{
	char c;

	return read(rd, &c, 1) == 0;
}

/* A pipe whose write end we send; our copy is closed right away. */
static void pipe_to_send(int p[2])
{
	cr_assert_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
}

/* ---- negotiation ---- */

Test(vu_msg, get_features_offers_ring_features_and_device_features)
{
	cr_assert_eq(t_get_u64(&fe, VU_REQ_GET_FEATURES),
		     BASE_FEATURES | DEV_FEATURE);
}

Test(vu_msg, get_protocol_features)
{
	uint64_t v = t_get_u64(&fe, VU_REQ_GET_PROTOCOL_FEATURES);

	cr_assert(v & (1ull << VU_PROTOCOL_F_MQ));
	cr_assert(v & (1ull << VU_PROTOCOL_F_REPLY_ACK));
	cr_assert(v & (1ull << VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS));
}

Test(vu_msg, get_queue_num_and_max_mem_slots)
{
	cr_assert_eq(t_get_u64(&fe, VU_REQ_GET_QUEUE_NUM), 3);
	cr_assert_eq(t_get_u64(&fe, VU_REQ_GET_MAX_MEM_SLOTS), VU_MAX_MEM_REGIONS);
}

Test(vu_msg, get_with_need_reply_sends_one_reply)
{
	uint64_t v = 0;

	cr_assert_eq(t_call(&fe, VU_REQ_GET_FEATURES, VU_FLAG_NEED_REPLY, NULL,
			    0, NULL, 0), 0);
	cr_assert_eq(t_reply(&fe, VU_REQ_GET_FEATURES, &v, sizeof(v)), 8);
	cr_assert_eq(v, BASE_FEATURES | DEV_FEATURE);
	cr_assert(t_no_reply(&fe));
}

Test(vu_msg, set_features_acked)
{
	cr_assert_eq(t_set_u64(&fe, VU_REQ_SET_FEATURES, T_F_VERSION_1), 0);
	cr_assert_eq(fe.dev->features, T_F_VERSION_1);
}

Test(vu_msg, set_features_unoffered_refused)
{
	cr_assert_neq(t_set_u64(&fe, VU_REQ_SET_FEATURES, 1ull << 40), 0);
	cr_assert_eq(fe.dev->features, 0);
}

Test(vu_msg, set_protocol_features_unoffered_refused)
{
	cr_assert_neq(t_set_u64(&fe, VU_REQ_SET_PROTOCOL_FEATURES, 1ull << 1), 0);
	cr_assert_eq(t_set_u64(&fe, VU_REQ_SET_PROTOCOL_FEATURES,
			       1ull << VU_PROTOCOL_F_REPLY_ACK), 0);
}

Test(vu_msg, no_reply_without_need_reply)
{
	uint64_t v = T_F_VERSION_1;

	cr_assert_eq(t_call(&fe, VU_REQ_SET_FEATURES, 0, &v, 8, NULL, 0), 0);
	cr_assert(t_no_reply(&fe));
	cr_assert_eq(t_call(&fe, VU_REQ_SET_OWNER, 0, NULL, 0, NULL, 0), 0);
	cr_assert(t_no_reply(&fe));
}

Test(vu_msg, reply_ack_on_set_owner)
{
	cr_assert_eq(t_ack(&fe, VU_REQ_SET_OWNER, NULL, 0, NULL, 0), 0);
	cr_assert(fe.dev->owner);
}

Test(vu_msg, refused_request_without_need_reply_keeps_connection)
{
	struct vu_msg_vring_state s = { 0, 3 };

	cr_assert_eq(t_call(&fe, VU_REQ_SET_VRING_NUM, 0, &s, sizeof(s), NULL, 0), 0);
	cr_assert(t_no_reply(&fe));
	cr_assert_eq(t_get_u64(&fe, VU_REQ_GET_QUEUE_NUM), 3);
}

/* ---- unknown requests ---- */

Test(vu_msg, unknown_request_acked_as_failure_and_connection_lives)
{
	uint8_t payload[16] = { 0 };

	cr_assert_eq(t_ack(&fe, 33 /* GPU_SET_SOCKET */, payload, 16, NULL, 0), 1);
	cr_assert_eq(t_ack(&fe, 1000, NULL, 0, NULL, 0), 1);
	cr_assert_eq(t_call(&fe, VU_REQ_SET_LOG_BASE, 0, payload, 16, NULL, 0), 0);
	cr_assert(t_no_reply(&fe));
	cr_assert_eq(t_get_u64(&fe, VU_REQ_GET_QUEUE_NUM), 3);
}

Test(vu_msg, unknown_request_fds_closed)
{
	int p[2];

	pipe_to_send(p);
	cr_assert_eq(t_call(&fe, 200, 0, NULL, 0, &p[1], 1), 0);
	close(p[1]);
	cr_assert(pipe_closed(p[0]));
	close(p[0]);
}

/* ---- framing ---- */

Test(vu_msg, wrong_payload_size_rejected)
{
	uint64_t v = 0;

	cr_assert_eq(t_call(&fe, VU_REQ_GET_FEATURES, 0, &v, 8, NULL, 0), -EPROTO);
}

Test(vu_msg, short_payload_rejected)
{
	uint32_t v = 0;

	cr_assert_eq(t_call(&fe, VU_REQ_SET_FEATURES, 0, &v, 4, NULL, 0), -EPROTO);
}

Test(vu_msg, short_vring_addr_rejected)
{
	struct vu_msg_vring_addr a = { 0 };

	cr_assert_eq(t_call(&fe, VU_REQ_SET_VRING_ADDR, 0, &a, sizeof(a) - 8,
			    NULL, 0), -EPROTO);
}

Test(vu_msg, bad_version_rejected)
{
	t_send(&fe, VU_REQ_GET_FEATURES, 0x2, NULL, 0, NULL, 0);
	cr_assert_eq(vu_dev_dispatch(fe.dev), -EPROTO);
	t_send(&fe, VU_REQ_GET_FEATURES, 0x0, NULL, 0, NULL, 0);
	cr_assert_eq(vu_dev_dispatch(fe.dev), -EPROTO);
}

Test(vu_msg, reply_flag_on_request_rejected)
{
	cr_assert_eq(t_call(&fe, VU_REQ_GET_FEATURES, VU_FLAG_REPLY, NULL, 0,
			    NULL, 0), -EPROTO);
}

Test(vu_msg, oversized_payload_rejected_before_reading)
{
	struct vu_msg_hdr hdr = { 200, VU_FLAG_VERSION, VU_MSG_MAX_PAYLOAD + 1 };

	cr_assert_eq(write(fe.fd, &hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	cr_assert_eq(vu_dev_dispatch(fe.dev), -EPROTO);
}

Test(vu_msg, hangup_reported_as_connreset)
{
	shutdown(fe.fd, SHUT_WR);
	cr_assert_eq(vu_dev_dispatch(fe.dev), -ECONNRESET);
}

Test(vu_msg, hangup_mid_header_is_protocol_error)
{
	cr_assert_eq(write(fe.fd, "\x01\x00", 2), 2);
	shutdown(fe.fd, SHUT_WR);
	cr_assert_eq(vu_dev_dispatch(fe.dev), -EPROTO);
}

Test(vu_msg, hangup_mid_payload_is_protocol_error)
{
	struct vu_msg_hdr hdr = { VU_REQ_SET_FEATURES, VU_FLAG_VERSION, 8 };

	cr_assert_eq(write(fe.fd, &hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	cr_assert_eq(write(fe.fd, "abc", 3), 3);
	shutdown(fe.fd, SHUT_WR);
	cr_assert_eq(vu_dev_dispatch(fe.dev), -EPROTO);
}

Test(vu_msg, header_split_across_writes_accepted)
{
	struct vu_msg_hdr hdr = { VU_REQ_GET_QUEUE_NUM, VU_FLAG_VERSION, 0 };
	uint64_t v = 0;

	cr_assert_eq(write(fe.fd, &hdr, 5), 5);
	cr_assert_eq(write(fe.fd, (char *)&hdr + 5, sizeof(hdr) - 5),
		     (ssize_t)sizeof(hdr) - 5);
	cr_assert_eq(vu_dev_dispatch(fe.dev), 0);
	cr_assert_eq(t_reply(&fe, VU_REQ_GET_QUEUE_NUM, &v, 8), 8);
	cr_assert_eq(v, 3);
}

/* ---- fd counts ---- */

Test(vu_msg, kick_without_fd_rejected)
{
	uint64_t v = 0;

	cr_assert_eq(t_call(&fe, VU_REQ_SET_VRING_KICK, 0, &v, 8, NULL, 0), -EPROTO);
}

Test(vu_msg, kick_with_two_fds_rejected_and_fds_closed)
{
	uint64_t v = 0;
	int a[2], b[2], fds[2];

	pipe_to_send(a);
	pipe_to_send(b);
	fds[0] = a[1];
	fds[1] = b[1];
	cr_assert_eq(t_call(&fe, VU_REQ_SET_VRING_KICK, 0, &v, 8, fds, 2), -EPROTO);
	close(a[1]);
	close(b[1]);
	cr_assert(pipe_closed(a[0]));
	cr_assert(pipe_closed(b[0]));
	close(a[0]);
	close(b[0]);
}

Test(vu_msg, fd_on_request_without_fds_rejected_and_closed)
{
	uint64_t v = T_F_VERSION_1;
	int p[2];

	pipe_to_send(p);
	cr_assert_eq(t_call(&fe, VU_REQ_SET_FEATURES, 0, &v, 8, &p[1], 1), -EPROTO);
	close(p[1]);
	cr_assert(pipe_closed(p[0]));
	close(p[0]);
}

Test(vu_msg, nofd_kick_with_fd_rejected)
{
	uint64_t v = VU_VRING_NOFD_MASK;
	int p[2];

	pipe_to_send(p);
	cr_assert_eq(t_call(&fe, VU_REQ_SET_VRING_KICK, 0, &v, 8, &p[1], 1), -EPROTO);
	close(p[1]);
	cr_assert(pipe_closed(p[0]));
	close(p[0]);
}

Test(vu_msg, too_many_fds_truncated_rejected)
{
	int fds[12], p[2];
	union {
		char buf[CMSG_SPACE(sizeof(fds))];
		struct cmsghdr align;
	} control;
	struct vu_msg_hdr hdr = { VU_REQ_GET_FEATURES, VU_FLAG_VERSION, 0 };
	struct iovec iov = { &hdr, sizeof(hdr) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.buf, .msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	pipe_to_send(p);
	for (int i = 0; i < 12; i++)
		fds[i] = p[1];
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	cr_assert_eq(sendmsg(fe.fd, &mh, 0), (ssize_t)sizeof(hdr));
	cr_assert_eq(vu_dev_dispatch(fe.dev), -EPROTO);
	close(p[1]);
	cr_assert(pipe_closed(p[0]));
	close(p[0]);
}

Test(vu_msg, mem_table_fd_count_mismatch_rejected)
{
	struct vu_msg_mem_table mt = { .nregions = 2 };
	int p[2];

	pipe_to_send(p);
	cr_assert_eq(t_call(&fe, VU_REQ_SET_MEM_TABLE, 0, &mt,
			    VU_MEM_TABLE_HDR_SIZE + 2 * sizeof(struct vu_msg_region),
			    &p[1], 1), -EPROTO);
	close(p[1]);
	cr_assert(pipe_closed(p[0]));
	close(p[0]);
}

Test(vu_msg, mem_table_size_mismatch_rejected)
{
	struct vu_msg_mem_table mt = { .nregions = 1 };
	int p[2];

	pipe_to_send(p);
	cr_assert_eq(t_call(&fe, VU_REQ_SET_MEM_TABLE, 0, &mt,
			    VU_MEM_TABLE_HDR_SIZE + 2 * sizeof(struct vu_msg_region),
			    &p[1], 1), -EPROTO);
	close(p[1]);
	close(p[0]);
}

Test(vu_msg, mem_table_too_many_regions_rejected)
{
	uint8_t buf[VU_MEM_TABLE_HDR_SIZE + 9 * sizeof(struct vu_msg_region)] = { 0 };
	uint32_t n = 9;

	memcpy(buf, &n, 4);
	cr_assert_eq(t_call(&fe, VU_REQ_SET_MEM_TABLE, 0, buf, sizeof(buf),
			    NULL, 0), -EPROTO);
}

/* ---- queue index and ring checks ---- */

Test(vu_msg, queue_index_out_of_range_refused)
{
	struct vu_msg_vring_addr a = { .index = 3 };
	uint64_t v;
	int e = eventfd(0, EFD_CLOEXEC);

	cr_assert_eq(t_state(&fe, VU_REQ_SET_VRING_NUM, 3, 8), 1);
	cr_assert_eq(t_state(&fe, VU_REQ_SET_VRING_BASE, 1000, 0), 1);
	cr_assert_eq(t_state(&fe, VU_REQ_SET_VRING_ENABLE, 0xffffffff, 1), 1);
	cr_assert_eq(t_ack(&fe, VU_REQ_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 1);
	v = 3;
	cr_assert_eq(t_ack(&fe, VU_REQ_SET_VRING_KICK, &v, 8, &e, 1), 1);
	cr_assert_eq(t_ack(&fe, VU_REQ_SET_VRING_CALL, &v, 8, &e, 1), 1);
	cr_assert_eq(t_ack(&fe, VU_REQ_SET_VRING_ERR, &v, 8, &e, 1), 1);
	v = 0x10000; /* reserved bits */
	cr_assert_eq(t_ack(&fe, VU_REQ_SET_VRING_CALL, &v, 8, &e, 1), 1);
	close(e);
}

Test(vu_msg, get_vring_base_bad_index_ends_connection)
{
	struct vu_msg_vring_state s = { 3, 0 };

	cr_assert_lt(t_call(&fe, VU_REQ_GET_VRING_BASE, 0, &s, sizeof(s), NULL, 0), 0);
}

Test(vu_msg, ring_size_checked)
{
	cr_assert_eq(t_state(&fe, VU_REQ_SET_VRING_NUM, 0, 0), 1);
	cr_assert_eq(t_state(&fe, VU_REQ_SET_VRING_NUM, 0, 3), 1);
	cr_assert_eq(t_state(&fe, VU_REQ_SET_VRING_NUM, 0, 65536), 1);
	cr_assert_eq(t_state(&fe, VU_REQ_SET_VRING_NUM, 0, 1), 0);
	cr_assert_eq(t_state(&fe, VU_REQ_SET_VRING_NUM, 0, 32768), 0);
}

Test(vu_msg, vring_base_over_16_bits_refused)
{
	cr_assert_eq(t_state(&fe, VU_REQ_SET_VRING_BASE, 0, 0x10000), 1);
	cr_assert_eq(t_state(&fe, VU_REQ_SET_VRING_BASE, 0, 0xffff), 0);
}

Test(vu_msg, vring_enable_value_checked)
{
	cr_assert_eq(t_state(&fe, VU_REQ_SET_VRING_ENABLE, 0, 2), 1);
}

/* Memory at gpa 0x100000 (1 MiB) for ring address checks. */
static void ring_mem(struct t_region *r, const char *name)
{
	t_region_new(r, name, 0x100000, 0x100000);
	cr_assert_eq(t_set_mem(&fe, r, 1), 0);
	cr_assert_eq(t_state(&fe, VU_REQ_SET_VRING_NUM, 0, 256), 0);
}

Test(vu_msg, ring_outside_memory_refused)
{
	struct t_region r;
	struct t_ring ring;
	struct vu_msg_vring_addr a;

	ring_mem(&r, "vum-ring1");
	t_ring_layout(&ring, &r, 0, 256);
	a = t_ring_addr(&ring, 0);
	cr_assert_eq(t_ack(&fe, VU_REQ_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 0);
	a.desc_user_addr = T_QVA_BASE + 0x100000 + 0x100000 - 16 * 255;
	cr_assert_eq(t_ack(&fe, VU_REQ_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 1,
		     "desc table crosses the end of the region");
	a = t_ring_addr(&ring, 0);
	a.used_user_addr = 0x1234000;
	cr_assert_eq(t_ack(&fe, VU_REQ_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 1);
	a = t_ring_addr(&ring, 0);
	a.avail_user_addr = UINT64_MAX - 1;
	cr_assert_eq(t_ack(&fe, VU_REQ_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 1);
	t_region_free(&r);
}

Test(vu_msg, ring_misaligned_refused)
{
	struct t_region r;
	struct t_ring ring;
	struct vu_msg_vring_addr a;

	ring_mem(&r, "vum-ring2");
	t_ring_layout(&ring, &r, 0, 256);
	a = t_ring_addr(&ring, 0);
	a.desc_user_addr += 8;
	cr_assert_eq(t_ack(&fe, VU_REQ_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 1);
	a = t_ring_addr(&ring, 0);
	a.used_user_addr += 2;
	cr_assert_eq(t_ack(&fe, VU_REQ_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 1);
	a = t_ring_addr(&ring, 0);
	a.avail_user_addr += 1;
	cr_assert_eq(t_ack(&fe, VU_REQ_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 1);
	t_region_free(&r);
}

/* ---- memory table ---- */

Test(vu_msg, set_mem_table_maps_and_replacing_unmaps_old)
{
	struct t_region a, b;

	t_region_new(&a, "vum-old", 0x100000, 0x10000);
	t_region_new(&b, "vum-new", 0x100000, 0x10000);
	cr_assert_eq(t_map_count("vum-old"), 1, "only the test's own mapping");
	cr_assert_eq(t_set_mem(&fe, &a, 1), 0);
	cr_assert_eq(t_map_count("vum-old"), 2);
	cr_assert_eq(t_set_mem(&fe, &b, 1), 0);
	cr_assert_eq(t_map_count("vum-old"), 1, "old region must be unmapped");
	cr_assert_eq(t_map_count("vum-new"), 2);
	cr_assert_eq(fe.dev->mem.nregions, 1);
	t_fe_close(&fe);
	cr_assert_eq(t_map_count("vum-new"), 1, "free unmaps");
	t_region_free(&a);
	t_region_free(&b);
	msetup();
}

Test(vu_msg, set_mem_table_writes_reach_guest)
{
	struct t_region a;
	uint8_t *p;

	t_region_new(&a, "vum-rw", 0x100000, 0x10000);
	cr_assert_eq(t_set_mem(&fe, &a, 1), 0);
	p = vu_mem_gpa_to_va(&fe.dev->mem, 0x100010, 4);
	cr_assert_not_null(p);
	memcpy(p, "abcd", 4);
	cr_assert_eq(memcmp(a.map + 0x10, "abcd", 4), 0);
	cr_assert_null(vu_mem_gpa_to_va(&fe.dev->mem, 0x10fffe, 4));
	cr_assert_null(vu_mem_gpa_to_va(&fe.dev->mem, 0xfffff, 1));
	t_region_free(&a);
}

Test(vu_msg, bad_mem_table_leaves_old_table)
{
	struct t_region a, b[2];

	t_region_new(&a, "vum-keep", 0x100000, 0x10000);
	t_region_new(&b[0], "vum-bad0", 0x200000, 0x10000);
	t_region_new(&b[1], "vum-bad1", 0x208000, 0x10000); /* overlaps b[0] */
	cr_assert_eq(t_set_mem(&fe, &a, 1), 0);
	cr_assert_eq(t_set_mem(&fe, b, 2), 1);
	cr_assert_eq(fe.dev->mem.nregions, 1);
	cr_assert_eq(fe.dev->mem.regions[0].gpa, 0x100000);
	cr_assert_eq(t_map_count("vum-bad0"), 1, "rejected table not left mapped");
	t_region_free(&a);
	t_region_free(&b[0]);
	t_region_free(&b[1]);
}

static uint64_t add_region(struct vu_msg_region reg, int fd)
{
	struct vu_msg_mem_reg m = { .region = reg };

	return t_ack(&fe, VU_REQ_ADD_MEM_REG, &m, sizeof(m), &fd, 1);
}

static uint64_t rem_region(struct vu_msg_region reg)
{
	struct vu_msg_mem_reg m = { .region = reg };

	return t_ack(&fe, VU_REQ_REM_MEM_REG, &m, sizeof(m), NULL, 0);
}

Test(vu_msg, region_checks)
{
	struct t_region a;
	struct vu_msg_region r;

	t_region_new(&a, "vum-chk", 0x100000, 0x10000);
	r = t_msg_region(&a);
	r.size = 0;
	cr_assert_eq(add_region(r, a.fd), 1, "zero size");
	r = t_msg_region(&a);
	r.guest_addr = UINT64_MAX - 0x1000;
	cr_assert_eq(add_region(r, a.fd), 1, "gpa + size wraps");
	r = t_msg_region(&a);
	r.user_addr = UINT64_MAX - 0x1000;
	cr_assert_eq(add_region(r, a.fd), 1, "uaddr + size wraps");
	r = t_msg_region(&a);
	r.mmap_offset = UINT64_MAX - 0x1000;
	cr_assert_eq(add_region(r, a.fd), 1, "offset + size wraps");
	r = t_msg_region(&a);
	r.size = 0x20000;
	cr_assert_eq(add_region(r, a.fd), 1, "larger than the file");
	r = t_msg_region(&a);
	r.mmap_offset = 0x1000;
	cr_assert_eq(add_region(r, a.fd), 1, "offset + size beyond the file");
	cr_assert_eq(fe.dev->mem.nregions, 0);
	cr_assert_eq(t_map_count("vum-chk"), 1);
	t_region_free(&a);
}

Test(vu_msg, region_with_mmap_offset)
{
	struct t_region a;
	struct vu_msg_region r;
	uint8_t *p;

	t_region_new(&a, "vum-off", 0x100000, 0x10000);
	memcpy(a.map + 0x3010, "xyz", 3);
	r = (struct vu_msg_region) { 0x500000, 0x8000, T_QVA_BASE, 0x3000 };
	cr_assert_eq(add_region(r, a.fd), 0);
	p = vu_mem_gpa_to_va(&fe.dev->mem, 0x500010, 3);
	cr_assert_not_null(p);
	cr_assert_eq(memcmp(p, "xyz", 3), 0);
	cr_assert_null(vu_mem_gpa_to_va(&fe.dev->mem, 0x508000, 1));
	t_region_free(&a);
}

Test(vu_msg, add_and_remove_regions)
{
	struct t_region a, b;
	int p[2];

	t_region_new(&a, "vum-add-a", 0x100000, 0x10000);
	t_region_new(&b, "vum-add-b", 0x200000, 0x10000);
	cr_assert_eq(add_region(t_msg_region(&a), a.fd), 0);
	cr_assert_eq(add_region(t_msg_region(&b), b.fd), 0);
	cr_assert_eq(add_region(t_msg_region(&b), b.fd), 1, "overlap");
	cr_assert_eq(fe.dev->mem.nregions, 2);
	cr_assert_eq(t_map_count("vum-add-a"), 2);

	cr_assert_eq(rem_region(t_msg_region(&a)), 0);
	cr_assert_eq(t_map_count("vum-add-a"), 1);
	cr_assert_eq(fe.dev->mem.nregions, 1);
	cr_assert_eq(rem_region(t_msg_region(&a)), 1, "already removed");

	/* QEMU 7.2 sends the fd along with REM_MEM_REG: accepted, closed. */
	pipe_to_send(p);
	struct vu_msg_mem_reg m = { .region = t_msg_region(&b) };
	cr_assert_eq(t_ack(&fe, VU_REQ_REM_MEM_REG, &m, sizeof(m), &p[1], 1), 0);
	close(p[1]);
	cr_assert(pipe_closed(p[0]));
	close(p[0]);
	cr_assert_eq(fe.dev->mem.nregions, 0);
	cr_assert_eq(t_map_count("vum-add-b"), 1);
	t_region_free(&a);
	t_region_free(&b);
}

Test(vu_msg, region_count_bounded)
{
	struct t_region a;
	struct vu_msg_region r;

	t_region_new(&a, "vum-many", 0, 0x1000);
	for (unsigned int i = 0; i < VU_MAX_MEM_REGIONS; i++) {
		r = (struct vu_msg_region) { 0x1000ull * i, 0x1000,
					     T_QVA_BASE + 0x1000ull * i, 0 };
		cr_assert_eq(add_region(r, a.fd), 0);
	}
	r = (struct vu_msg_region) { 0x100000, 0x1000, T_QVA_BASE + 0x100000, 0 };
	cr_assert_eq(add_region(r, a.fd), 1);
	cr_assert_eq(fe.dev->mem.nregions, VU_MAX_MEM_REGIONS);
	t_region_free(&a);
}

Test(vu_msg, add_mem_reg_without_fd_rejected)
{
	struct vu_msg_mem_reg m = { 0 };

	cr_assert_eq(t_call(&fe, VU_REQ_ADD_MEM_REG, 0, &m, sizeof(m), NULL, 0),
		     -EPROTO);
}

/* ---- ring state machine and callbacks ---- */

struct sm {
	struct t_region r;
	struct t_ring ring;
};

static void sm_setup(struct sm *s, const char *name, uint64_t features)
{
	cr_assert_eq(t_set_u64(&fe, VU_REQ_SET_FEATURES, features), 0);
	t_region_new(&s->r, name, 0x100000, 0x100000);
	cr_assert_eq(t_set_mem(&fe, &s->r, 1), 0);
	t_ring_layout(&s->ring, &s->r, 0, 64);
}

static void sm_free(struct sm *s)
{
	t_ring_close(&s->ring);
	t_region_free(&s->r);
}

Test(vu_msg, ring_starts_on_kick_without_protocol_features)
{
	struct sm s;

	sm_setup(&s, "vum-sm1", T_F_VERSION_1);
	t_ring_setup(&fe, &s.ring, 2, 0);
	cr_assert_eq(fe.ev.starts[2], 1);
	cr_assert_eq(fe.ev.starts[0] + fe.ev.starts[1], 0);
	cr_assert_not_null(vu_dev_queue(fe.dev, 2));
	cr_assert_null(vu_dev_queue(fe.dev, 3));
	sm_free(&s);
}

Test(vu_msg, ring_waits_for_enable_with_protocol_features)
{
	struct sm s;

	sm_setup(&s, "vum-sm2", T_F_VERSION_1 | T_F_PROTOCOL);
	t_ring_setup(&fe, &s.ring, 0, 0);
	cr_assert_eq(fe.ev.starts[0], 0, "disabled until SET_VRING_ENABLE");
	cr_assert_eq(t_state(&fe, VU_REQ_SET_VRING_ENABLE, 0, 1), 0);
	cr_assert_eq(fe.ev.starts[0], 1);
	cr_assert_eq(t_state(&fe, VU_REQ_SET_VRING_ENABLE, 0, 0), 0);
	cr_assert_eq(fe.ev.stops[0], 1);
	cr_assert_str_eq(fe.ev.log, "S0 s0");
	sm_free(&s);
}

Test(vu_msg, enable_before_kick_starts_on_kick)
{
	struct sm s;

	sm_setup(&s, "vum-sm3", T_F_VERSION_1 | T_F_PROTOCOL);
	cr_assert_eq(t_state(&fe, VU_REQ_SET_VRING_ENABLE, 1, 1), 0);
	cr_assert_eq(fe.ev.starts[1], 0);
	t_ring_setup(&fe, &s.ring, 1, 0);
	cr_assert_eq(fe.ev.starts[1], 1);
	sm_free(&s);
}

Test(vu_msg, get_vring_base_stops_ring)
{
	struct sm s;
	struct vu_msg_vring_state st = { 0, 0 };

	sm_setup(&s, "vum-sm4", T_F_VERSION_1);
	t_ring_setup(&fe, &s.ring, 0, 42);
	cr_assert_eq(t_call(&fe, VU_REQ_GET_VRING_BASE, 0, &st, sizeof(st), NULL, 0), 0);
	cr_assert_eq(t_reply(&fe, VU_REQ_GET_VRING_BASE, &st, sizeof(st)), 8);
	cr_assert_eq(st.num, 42);
	cr_assert_str_eq(fe.ev.log, "S0 s0");
	cr_assert_lt(vu_queue_kick_fd(vu_dev_queue(fe.dev, 0)), 0);
	sm_free(&s);
}

Test(vu_msg, set_vring_call_while_running_restarts)
{
	struct sm s;
	uint64_t v = 0;
	int e = eventfd(0, EFD_CLOEXEC);

	sm_setup(&s, "vum-sm5", T_F_VERSION_1);
	t_ring_setup(&fe, &s.ring, 0, 0);
	cr_assert_eq(t_ack(&fe, VU_REQ_SET_VRING_CALL, &v, 8, &e, 1), 0);
	cr_assert_str_eq(fe.ev.log, "S0 s0 S0");
	close(e);
	sm_free(&s);
}

Test(vu_msg, nofd_call_accepted_nofd_kick_refused)
{
	struct sm s;
	uint64_t v = VU_VRING_NOFD_MASK;

	sm_setup(&s, "vum-sm6", T_F_VERSION_1);
	t_ring_setup(&fe, &s.ring, 0, 0);
	cr_assert_eq(t_ack(&fe, VU_REQ_SET_VRING_CALL, &v, 8, NULL, 0), 0);
	cr_assert_str_eq(fe.ev.log, "S0 s0 S0");
	cr_assert_eq(t_ack(&fe, VU_REQ_SET_VRING_KICK, &v, 8, NULL, 0), 1);
	cr_assert_str_eq(fe.ev.log, "S0 s0 S0 s0", "no kick fd: ring stopped");
	sm_free(&s);
}

Test(vu_msg, mem_table_change_stops_and_restarts_running_rings)
{
	struct sm s;
	struct t_region r2;

	sm_setup(&s, "vum-sm7", T_F_VERSION_1);
	t_ring_setup(&fe, &s.ring, 0, 0);
	t_ring_setup(&fe, &s.ring, 1, 0); /* same ring memory, fine for this */
	cr_assert_str_eq(fe.ev.log, "S0 S1");
	/* Same layout plus one more region: both rings restart. */
	t_region_new(&r2, "vum-sm7b", 0x300000, 0x1000);
	struct t_region regs[2] = { s.r, r2 };
	cr_assert_eq(t_set_mem(&fe, regs, 2), 0);
	cr_assert_str_eq(fe.ev.log, "S0 S1 s0 s1 S0 S1");
	/* Without the ring's region the rings cannot restart. */
	cr_assert_eq(t_set_mem(&fe, &r2, 1), 0);
	cr_assert_str_eq(fe.ev.log, "S0 S1 s0 s1 S0 S1 s0 s1");
	t_region_free(&r2);
	sm_free(&s);
}

Test(vu_msg, rem_mem_reg_stops_rings_first)
{
	struct sm s;

	sm_setup(&s, "vum-sm8", T_F_VERSION_1);
	t_ring_setup(&fe, &s.ring, 0, 0);
	cr_assert_eq(rem_region(t_msg_region(&s.r)), 0);
	cr_assert_str_eq(fe.ev.log, "S0 s0");
	sm_free(&s);
}

Test(vu_msg, set_features_while_running_restarts)
{
	struct sm s;

	sm_setup(&s, "vum-sm9", T_F_VERSION_1);
	t_ring_setup(&fe, &s.ring, 0, 0);
	cr_assert_eq(t_set_u64(&fe, VU_REQ_SET_FEATURES,
			       T_F_VERSION_1 | T_F_EVENT_IDX), 0);
	cr_assert_str_eq(fe.ev.log, "S0 s0 S0");
	cr_assert(vu_dev_queue(fe.dev, 0)->event_idx);
	sm_free(&s);
}

Test(vu_msg, reset_device_stops_rings)
{
	struct sm s;

	sm_setup(&s, "vum-sm10", T_F_VERSION_1);
	t_ring_setup(&fe, &s.ring, 0, 0);
	cr_assert_eq(t_ack(&fe, VU_REQ_RESET_DEVICE, NULL, 0, NULL, 0), 0);
	cr_assert_str_eq(fe.ev.log, "S0 s0");
	cr_assert_eq(vu_queue_size(vu_dev_queue(fe.dev, 0)), 0);
	cr_assert_lt(vu_queue_kick_fd(vu_dev_queue(fe.dev, 0)), 0);
	sm_free(&s);
}

Test(vu_msg, free_stops_running_rings)
{
	struct sm s;

	sm_setup(&s, "vum-sm11", T_F_VERSION_1);
	t_ring_setup(&fe, &s.ring, 0, 0);
	t_fe_close(&fe);
	cr_assert_str_eq(fe.ev.log, "S0 s0");
	sm_free(&s);
	msetup();
}

Test(vu_msg, ring_not_started_without_memory)
{
	struct t_region r;
	struct t_ring ring;

	cr_assert_eq(t_set_u64(&fe, VU_REQ_SET_FEATURES, T_F_VERSION_1), 0);
	t_region_new(&r, "vum-nomem", 0x100000, 0x100000);
	t_ring_layout(&ring, &r, 0, 64);
	t_ring_setup(&fe, &ring, 0, 0); /* addresses unchecked: no table yet */
	cr_assert_eq(fe.ev.starts[0], 0);
	cr_assert_eq(t_set_mem(&fe, &r, 1), 0);
	cr_assert_eq(fe.ev.starts[0], 1, "starts once its rings translate");
	t_ring_close(&ring);
	t_region_free(&r);
}

Test(vu_msg, peer_pid_and_accessors)
{
	cr_assert_eq(vu_dev_peer_pid(fe.dev), getpid());
	cr_assert_eq(vu_dev_fd(fe.dev), fe.dev_fd);
	cr_assert_eq(vu_dev_num_queues(fe.dev), 3);
}

Test(vu_msg, dev_new_checks_config)
{
	struct vu_config cfg = { .num_queues = 0 };
	struct vu_dev *d;

	cr_assert_eq(vu_dev_new(&d, fe.dev_fd, &cfg, &t_ops, NULL), -EINVAL);
	cfg.num_queues = VU_MAX_QUEUES + 1;
	cr_assert_eq(vu_dev_new(&d, fe.dev_fd, &cfg, &t_ops, NULL), -EINVAL);
	vu_dev_free(NULL);
}

static uint64_t rnd_state = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Random requests, sizes, flags, payloads and fds: dispatch answers, refuses
 * or ends the connection, never crashes, and leaks no fd. */
Test(vu_msg, random_messages_never_crash, .timeout = 60)
{
	struct t_region r;
	int p[2], fds_before = 0, fds_after = 0;
	unsigned int errors = 0;

	t_region_new(&r, "vum-fuzz", 0x100000, 0x10000);
	pipe_to_send(p);
	/* Count our fds after setup: what the device holds is freed below. */
	for (int fd = 0; fd < 1024; fd++)
		fds_before += fcntl(fd, F_GETFD) >= 0;

	for (int i = 0; i < 3000; i++) {
		uint8_t payload[300];
		uint32_t req = rnd() % 8 ? 1 + rnd() % 40 : (uint32_t)rnd();
		uint32_t size = rnd() % 4 ? (uint32_t)(rnd() % 48) : (uint32_t)(rnd() % 300);
		uint32_t flags = rnd() % 8 ? VU_FLAG_VERSION | (rnd() % 2 ? VU_FLAG_NEED_REPLY : 0)
					   : (uint32_t)rnd();
		int fds[3] = { r.fd, p[1], r.fd };
		unsigned int nfds = rnd() % 3 ? 0 : 1 + rnd() % 3;
		int ret;

		for (size_t j = 0; j < sizeof(payload); j++)
			payload[j] = (uint8_t)rnd();
		if (rnd() % 2) {
			/* Plausible indexes and region numbers. */
			payload[0] = (uint8_t)(rnd() % 5);
			memset(payload + 1, 0, 3);
		}
		t_send(&fe, req, flags, payload, size, fds, nfds);
		ret = vu_dev_dispatch(fe.dev);
		/* Drain whatever was answered. */
		while (recv(fe.fd, payload, sizeof(payload), MSG_DONTWAIT) > 0)
			;
		if (ret < 0) {
			errors++;
			t_fe_close(&fe);
			msetup();
		}
	}
	t_fe_close(&fe);
	msetup();
	for (int fd = 0; fd < 1024; fd++)
		fds_after += fcntl(fd, F_GETFD) >= 0;
	cr_assert_eq(fds_after, fds_before, "fds leaked");
	cr_assert_gt(errors, 0);
	close(p[0]);
	close(p[1]);
	t_region_free(&r);
}
