// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Split ring data path: popping good chains (direct, indirect, spanning two
 * regions), every malformed chain the guest can build, the broken latch,
 * used ring updates and notification suppression.
 */
#include "test_vu_helpers.h"

#define RA_GPA 0x100000ull
#define RB_GPA 0x200000ull /* right after region A: buffers may span */
#define R_SIZE 0x100000ull
#define DATA (RA_GPA + 0x10000) /* buffers start here */
#define NUM 8

static struct t_fe fe;
static struct t_region ra, rb;
static struct t_ring ring;
static struct vu_queue *q;
static struct iovec iov[VU_MAX_CHAIN_IOV];
static struct vu_elem el;

static void qsetup(uint64_t features)
{
	t_fe_open(&fe, 2, 0);
	t_region_new(&ra, "vuq-a", RA_GPA, R_SIZE);
	t_region_new(&rb, "vuq-b", RB_GPA, R_SIZE);
	cr_assert_eq(t_set_u64(&fe, VU_REQ_SET_FEATURES, features), 0);
	struct t_region regs[2] = { ra, rb };
	cr_assert_eq(t_set_mem(&fe, regs, 2), 0);
	t_ring_layout(&ring, &ra, 0, NUM);
	t_ring_setup(&fe, &ring, 1, 0);
	cr_assert_eq(fe.ev.starts[1], 1, "queue 1 should run after its kick");
	q = vu_dev_queue(fe.dev, 1);
	cr_assert_not_null(q);
}

static void qsetup_plain(void)
{
	qsetup(T_F_VERSION_1 | T_F_INDIRECT);
}

static void qsetup_event(void)
{
	qsetup(T_F_VERSION_1 | T_F_INDIRECT | T_F_EVENT_IDX);
}

static void qsetup_noind(void)
{
	qsetup(T_F_VERSION_1);
}

static void qteardown(void)
{
	t_fe_close(&fe);
	t_ring_close(&ring);
	t_region_free(&ra);
	t_region_free(&rb);
}

static uint8_t *hva(uint64_t gpa)
{
	if (gpa >= RB_GPA)
		return rb.map + (gpa - RB_GPA);
	return ra.map + (gpa - RA_GPA);
}

/* Where the library mapped a guest address (its own mapping of the memfd). */
static void *dva(uint64_t gpa)
{
	return vu_mem_gpa_to_va(&fe.dev->mem, gpa, 1);
}

static int pop(void)
{
	return vu_queue_pop(q, &el, iov, VU_MAX_CHAIN_IOV);
}

static void assert_broken(void)
{
	cr_assert_lt(pop(), 0);
	cr_assert(vu_queue_broken(q));
	cr_assert_eq(pop(), -EIO, "broken latch must hold");
}

TestSuite(vu_queue, .init = qsetup_plain, .fini = qteardown);
TestSuite(vu_queue_evidx, .init = qsetup_event, .fini = qteardown);
TestSuite(vu_queue_noind, .init = qsetup_noind, .fini = qteardown);

Test(vu_queue, empty_ring_pops_nothing)
{
	cr_assert_eq(pop(), 0);
	cr_assert_not(vu_queue_broken(q));
	cr_assert_eq(vu_queue_size(q), NUM);
	cr_assert_eq(vu_queue_index(q), 1);
	cr_assert_eq(vu_queue_kick_fd(q) >= 0, true);
}

Test(vu_queue, simple_chain_translated)
{
	t_desc(&ring, 3, DATA, 40, VRING_DESC_F_NEXT, 5);
	t_desc(&ring, 5, DATA + 0x100, 100, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 6);
	t_desc(&ring, 6, DATA + 0x200, 50, VRING_DESC_F_WRITE, 0);
	t_avail_push(&ring, 3);
	memcpy(hva(DATA), "hello", 5);

	cr_assert_eq(pop(), 1);
	cr_assert_eq(el.head, 3);
	cr_assert_eq(el.in_num, 1);
	cr_assert_eq(el.out_num, 2);
	cr_assert_eq(el.in_len, 40);
	cr_assert_eq(el.out_len, 150);
	cr_assert_eq(el.in_iov, iov);
	cr_assert_eq(el.out_iov, iov + 1);
	cr_assert_eq(el.in_iov[0].iov_base, dva(DATA));
	cr_assert_eq(memcmp(el.in_iov[0].iov_base, "hello", 5), 0);
	cr_assert_eq(el.out_iov[0].iov_base, dva(DATA + 0x100));
	cr_assert_eq(el.out_iov[0].iov_len, 100);
	cr_assert_eq(el.out_iov[1].iov_len, 50);
	cr_assert_eq(pop(), 0, "only one chain was made available");
}

Test(vu_queue, push_writes_used_ring)
{
	t_desc(&ring, 2, DATA, 64, VRING_DESC_F_WRITE, 0);
	t_avail_push(&ring, 2);
	cr_assert_eq(pop(), 1);
	vu_queue_push(q, &el, 10);
	cr_assert_eq(ring.used->idx, 1);
	cr_assert_eq(ring.used->ring[0].id, 2);
	cr_assert_eq(ring.used->ring[0].len, 10);
}

Test(vu_queue, push_len_clamped_to_writable)
{
	t_desc(&ring, 0, DATA, 64, VRING_DESC_F_WRITE, 0);
	t_avail_push(&ring, 0);
	cr_assert_eq(pop(), 1);
	vu_queue_push(q, &el, 1000);
	cr_assert_eq(ring.used->ring[0].len, 64);
}

Test(vu_queue, index_wraps_around_65535)
{
	/* Restart the ring with a base just below the 16-bit wrap. */
	struct vu_msg_vring_state s = { 1, 0 };
	uint64_t v = 1;
	int kick = eventfd(0, EFD_CLOEXEC);

	cr_assert_eq(t_call(&fe, VU_REQ_GET_VRING_BASE, 0, &s, sizeof(s), NULL, 0), 0);
	cr_assert_eq(t_reply(&fe, VU_REQ_GET_VRING_BASE, &s, sizeof(s)), 8);
	cr_assert_eq(t_state(&fe, VU_REQ_SET_VRING_BASE, 1, 65534), 0);
	ring.avail_idx = 65534;
	ring.avail->idx = 65534;
	ring.used->idx = 65534;
	cr_assert_eq(t_ack(&fe, VU_REQ_SET_VRING_KICK, &v, 8, &kick, 1), 0);
	close(kick);

	for (int i = 0; i < 4; i++) {
		t_desc(&ring, (unsigned)i, DATA + 0x100 * i, 16, VRING_DESC_F_WRITE, 0);
		t_avail_push(&ring, (uint16_t)i);
	}
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(pop(), 1);
		cr_assert_eq(el.head, i);
		vu_queue_push(q, &el, 1);
	}
	cr_assert_eq(pop(), 0);
	cr_assert_eq(ring.used->idx, 2);
	cr_assert_eq(ring.used->ring[65534 % NUM].id, 0);
	cr_assert_eq(ring.used->ring[1].id, 3);
}

Test(vu_queue, notify_signals_call_fd)
{
	t_desc(&ring, 0, DATA, 64, VRING_DESC_F_WRITE, 0);
	t_avail_push(&ring, 0);
	cr_assert_eq(pop(), 1);
	vu_queue_push(q, &el, 1);
	vu_queue_notify(q);
	cr_assert(t_called(&ring));
}

Test(vu_queue, notify_honours_no_interrupt)
{
	ring.avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	t_desc(&ring, 0, DATA, 64, VRING_DESC_F_WRITE, 0);
	t_avail_push(&ring, 0);
	cr_assert_eq(pop(), 1);
	vu_queue_push(q, &el, 1);
	vu_queue_notify(q);
	cr_assert_not(t_called(&ring));
}

Test(vu_queue, notification_flags_without_event_idx)
{
	vu_queue_disable_notification(q);
	cr_assert(ring.used->flags & VRING_USED_F_NO_NOTIFY);
	cr_assert_not(vu_queue_enable_notification(q), "nothing is pending");
	cr_assert_not(ring.used->flags & VRING_USED_F_NO_NOTIFY);

	t_desc(&ring, 0, DATA, 64, VRING_DESC_F_WRITE, 0);
	t_avail_push(&ring, 0);
	cr_assert(vu_queue_enable_notification(q), "a buffer is pending");
}

Test(vu_queue_evidx, pop_publishes_avail_event)
{
	uint16_t *avail_event = (uint16_t *)&ring.used->ring[NUM];

	t_desc(&ring, 0, DATA, 64, VRING_DESC_F_WRITE, 0);
	t_avail_push(&ring, 0);
	cr_assert_eq(pop(), 1);
	cr_assert_eq(*avail_event, 1);
	cr_assert_eq(ring.used->flags, 0, "EVENT_IDX does not use the flag");
}

Test(vu_queue_evidx, notify_follows_used_event)
{
	uint16_t *used_event = &ring.avail->ring[NUM];

	for (int i = 0; i < 3; i++) {
		t_desc(&ring, (unsigned)i, DATA + 0x100 * i, 64, VRING_DESC_F_WRITE, 0);
		t_avail_push(&ring, (uint16_t)i);
	}
	/* The guest wants a signal once used idx passes 1 (i.e. reaches 2). */
	*used_event = 1;
	cr_assert_eq(pop(), 1);
	vu_queue_push(q, &el, 1);
	vu_queue_notify(q);
	cr_assert(t_called(&ring), "first notify always signals");

	cr_assert_eq(pop(), 1);
	vu_queue_push(q, &el, 1); /* used idx 2: crosses used_event 1 */
	vu_queue_notify(q);
	cr_assert(t_called(&ring));

	*used_event = 10;
	cr_assert_eq(pop(), 1);
	vu_queue_push(q, &el, 1); /* used idx 3: event 10 not reached */
	vu_queue_notify(q);
	cr_assert_not(t_called(&ring));
}

Test(vu_queue_evidx, notify_without_new_used_is_silent)
{
	t_desc(&ring, 0, DATA, 64, VRING_DESC_F_WRITE, 0);
	t_avail_push(&ring, 0);
	ring.avail->ring[NUM] = 0;
	cr_assert_eq(pop(), 1);
	vu_queue_push(q, &el, 1);
	vu_queue_notify(q);
	cr_assert(t_called(&ring));
	vu_queue_notify(q);
	cr_assert_not(t_called(&ring));
}

Test(vu_queue_evidx, enable_notification_sets_avail_event)
{
	uint16_t *avail_event = (uint16_t *)&ring.used->ring[NUM];

	*avail_event = 77;
	vu_queue_disable_notification(q);
	/* Just behind the next index: no number of new buffers asks for a
	 * kick (0xffff: nothing popped yet). */
	cr_assert_eq(*avail_event, 0xffff, "disabled: avail_event %u", *avail_event);
	t_desc(&ring, 0, DATA, 64, VRING_DESC_F_WRITE, 0);
	t_avail_push(&ring, 0);
	cr_assert_eq(pop(), 1);
	cr_assert_eq(*avail_event, 0xffff, "disabled: pop leaves avail_event");
	cr_assert_not(vu_queue_enable_notification(q));
	cr_assert_eq(*avail_event, 1);
}

Test(vu_queue_evidx, avail_pending_sees_new_buffers_only)
{
	cr_assert_not(vu_queue_avail_pending(q));
	t_desc(&ring, 0, DATA, 64, VRING_DESC_F_WRITE, 0);
	t_avail_push(&ring, 0);
	cr_assert(vu_queue_avail_pending(q));
	cr_assert_eq(pop(), 1);
	cr_assert_not(vu_queue_avail_pending(q), "popped: nothing pending");
}

/* ---- indirect ---- */

Test(vu_queue, indirect_chain)
{
	struct vring_desc *tbl = (void *)hva(DATA + 0x8000);

	tbl[0] = (struct vring_desc) { DATA, 32, VRING_DESC_F_NEXT, 1 };
	tbl[1] = (struct vring_desc) { DATA + 0x100, 16, VRING_DESC_F_NEXT, 2 };
	tbl[2] = (struct vring_desc) { DATA + 0x200, 200, VRING_DESC_F_WRITE, 0 };
	t_desc(&ring, 4, DATA + 0x8000, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	t_avail_push(&ring, 4);

	cr_assert_eq(pop(), 1);
	cr_assert_eq(el.head, 4);
	cr_assert_eq(el.in_num, 2);
	cr_assert_eq(el.out_num, 1);
	cr_assert_eq(el.in_len, 48);
	cr_assert_eq(el.out_len, 200);
	cr_assert_eq(el.out_iov[0].iov_base, dva(DATA + 0x200));
}

Test(vu_queue, indirect_table_spanning_regions)
{
	/* Table of 2 descriptors straddling the A/B boundary. */
	uint64_t tgpa = RB_GPA - 16;
	struct vring_desc d0 = { DATA, 8, VRING_DESC_F_NEXT, 1 };
	struct vring_desc d1 = { DATA + 0x100, 8, VRING_DESC_F_WRITE, 0 };

	memcpy(hva(tgpa), &d0, 16);
	memcpy(hva(RB_GPA), &d1, 16);
	t_desc(&ring, 0, tgpa, 32, VRING_DESC_F_INDIRECT, 0);
	t_avail_push(&ring, 0);
	cr_assert_eq(pop(), 1);
	cr_assert_eq(el.in_num, 1);
	cr_assert_eq(el.out_num, 1);
}

Test(vu_queue_noind, indirect_not_negotiated_breaks)
{
	struct vring_desc *tbl = (void *)hva(DATA + 0x8000);

	tbl[0] = (struct vring_desc) { DATA, 32, 0, 0 };
	t_desc(&ring, 0, DATA + 0x8000, 16, VRING_DESC_F_INDIRECT, 0);
	t_avail_push(&ring, 0);
	assert_broken();
}

Test(vu_queue, indirect_len_not_multiple_of_16_breaks)
{
	t_desc(&ring, 0, DATA + 0x8000, 24, VRING_DESC_F_INDIRECT, 0);
	t_avail_push(&ring, 0);
	assert_broken();
}

Test(vu_queue, indirect_len_zero_breaks)
{
	t_desc(&ring, 0, DATA + 0x8000, 0, VRING_DESC_F_INDIRECT, 0);
	t_avail_push(&ring, 0);
	assert_broken();
}

Test(vu_queue, indirect_table_too_large_breaks)
{
	t_desc(&ring, 0, DATA, (VU_MAX_RING_SIZE + 1) * 16,
	       VRING_DESC_F_INDIRECT, 0);
	t_avail_push(&ring, 0);
	assert_broken();
}

Test(vu_queue, indirect_table_outside_memory_breaks)
{
	t_desc(&ring, 0, 0x900000, 32, VRING_DESC_F_INDIRECT, 0);
	t_avail_push(&ring, 0);
	assert_broken();
}

Test(vu_queue, nested_indirect_breaks)
{
	struct vring_desc *tbl = (void *)hva(DATA + 0x8000);

	tbl[0] = (struct vring_desc) { DATA + 0x9000, 16, VRING_DESC_F_INDIRECT, 0 };
	t_desc(&ring, 0, DATA + 0x8000, 16, VRING_DESC_F_INDIRECT, 0);
	t_avail_push(&ring, 0);
	assert_broken();
}

Test(vu_queue, indirect_with_next_breaks)
{
	struct vring_desc *tbl = (void *)hva(DATA + 0x8000);

	tbl[0] = (struct vring_desc) { DATA, 16, 0, 0 };
	t_desc(&ring, 0, DATA + 0x8000, 16,
	       VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	t_desc(&ring, 1, DATA, 16, 0, 0);
	t_avail_push(&ring, 0);
	assert_broken();
}

Test(vu_queue, indirect_in_middle_of_chain_breaks)
{
	struct vring_desc *tbl = (void *)hva(DATA + 0x8000);

	tbl[0] = (struct vring_desc) { DATA, 16, 0, 0 };
	t_desc(&ring, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
	t_desc(&ring, 1, DATA + 0x8000, 16, VRING_DESC_F_INDIRECT, 0);
	t_avail_push(&ring, 0);
	assert_broken();
}

Test(vu_queue, indirect_loop_breaks)
{
	struct vring_desc *tbl = (void *)hva(DATA + 0x8000);

	tbl[0] = (struct vring_desc) { DATA, 16, VRING_DESC_F_NEXT, 1 };
	tbl[1] = (struct vring_desc) { DATA, 16, VRING_DESC_F_NEXT, 0 };
	t_desc(&ring, 0, DATA + 0x8000, 32, VRING_DESC_F_INDIRECT, 0);
	t_avail_push(&ring, 0);
	assert_broken();
}

Test(vu_queue, indirect_next_out_of_table_breaks)
{
	struct vring_desc *tbl = (void *)hva(DATA + 0x8000);

	tbl[0] = (struct vring_desc) { DATA, 16, VRING_DESC_F_NEXT, 2 };
	tbl[1] = (struct vring_desc) { DATA, 16, 0, 0 };
	t_desc(&ring, 0, DATA + 0x8000, 32, VRING_DESC_F_INDIRECT, 0);
	t_avail_push(&ring, 0);
	assert_broken();
}

/* ---- memory ---- */

Test(vu_queue, buffer_spanning_two_regions_split)
{
	t_desc(&ring, 0, RB_GPA - 100, 300, VRING_DESC_F_WRITE, 0);
	t_avail_push(&ring, 0);
	cr_assert_eq(pop(), 1);
	cr_assert_eq(el.out_num, 2);
	cr_assert_eq(el.out_len, 300);
	cr_assert_eq(el.out_iov[0].iov_base, dva(RB_GPA - 100));
	cr_assert_eq(el.out_iov[0].iov_len, 100);
	cr_assert_eq(el.out_iov[1].iov_base, dva(RB_GPA));
	cr_assert_eq(el.out_iov[1].iov_len, 200);
}

Test(vu_queue, buffer_past_end_of_memory_breaks)
{
	t_desc(&ring, 0, RB_GPA + R_SIZE - 10, 20, VRING_DESC_F_WRITE, 0);
	t_avail_push(&ring, 0);
	assert_broken();
}

Test(vu_queue, buffer_outside_memory_breaks)
{
	t_desc(&ring, 0, 0x1000, 20, 0, 0);
	t_avail_push(&ring, 0);
	assert_broken();
}

Test(vu_queue, buffer_address_wrapping_breaks)
{
	t_desc(&ring, 0, UINT64_MAX - 4, 20, 0, 0);
	t_avail_push(&ring, 0);
	assert_broken();
}

/* ---- malformed chains ---- */

Test(vu_queue, avail_idx_jump_breaks)
{
	ring.avail->idx = NUM + 1;
	assert_broken();
}

Test(vu_queue, avail_idx_jump_of_exactly_size_is_fine)
{
	for (unsigned int i = 0; i < NUM; i++) {
		t_desc(&ring, i, DATA + 0x100 * i, 16, 0, 0);
		t_avail_push(&ring, (uint16_t)i);
	}
	for (unsigned int i = 0; i < NUM; i++)
		cr_assert_eq(pop(), 1);
	cr_assert_eq(pop(), 0);
}

Test(vu_queue, head_out_of_range_breaks)
{
	t_avail_push(&ring, NUM);
	assert_broken();
}

Test(vu_queue, next_out_of_range_breaks)
{
	t_desc(&ring, 0, DATA, 16, VRING_DESC_F_NEXT, NUM);
	t_avail_push(&ring, 0);
	assert_broken();
}

Test(vu_queue, descriptor_loop_breaks)
{
	t_desc(&ring, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
	t_desc(&ring, 1, DATA, 16, VRING_DESC_F_NEXT, 0);
	t_avail_push(&ring, 0);
	assert_broken();
}

Test(vu_queue, self_loop_breaks)
{
	t_desc(&ring, 0, DATA, 16, VRING_DESC_F_NEXT, 0);
	t_avail_push(&ring, 0);
	assert_broken();
}

Test(vu_queue, chain_of_full_ring_length_is_fine)
{
	for (unsigned int i = 0; i < NUM; i++)
		t_desc(&ring, i, DATA + 0x100 * i, 16,
		       i + 1 < NUM ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	t_avail_push(&ring, 0);
	cr_assert_eq(pop(), 1);
	cr_assert_eq(el.in_num, NUM);
}

Test(vu_queue, zero_length_descriptor_breaks)
{
	t_desc(&ring, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
	t_desc(&ring, 1, DATA, 0, VRING_DESC_F_WRITE, 0);
	t_avail_push(&ring, 0);
	assert_broken();
}

Test(vu_queue, readable_after_writable_breaks)
{
	t_desc(&ring, 0, DATA, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	t_desc(&ring, 1, DATA, 16, 0, 0);
	t_avail_push(&ring, 0);
	assert_broken();
}

Test(vu_queue, too_many_iovecs_breaks)
{
	t_desc(&ring, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
	t_desc(&ring, 1, DATA, 16, VRING_DESC_F_NEXT, 2);
	t_desc(&ring, 2, DATA, 16, 0, 0);
	t_avail_push(&ring, 0);
	cr_assert_lt(vu_queue_pop(q, &el, iov, 2), 0);
	cr_assert(vu_queue_broken(q));
}

Test(vu_queue, region_split_counts_against_max_iov)
{
	t_desc(&ring, 0, RB_GPA - 8, 16, 0, 0);
	t_avail_push(&ring, 0);
	cr_assert_lt(vu_queue_pop(q, &el, iov, 1), 0);
}

Test(vu_queue, broken_queue_ignores_push_and_notify)
{
	t_desc(&ring, 0, DATA, 16, 0, 0);
	t_avail_push(&ring, 0);
	cr_assert_eq(pop(), 1);
	ring.avail->idx = 100;
	assert_broken();
	vu_queue_push(q, &el, 0);
	vu_queue_notify(q);
	cr_assert_eq(ring.used->idx, 0);
	cr_assert_not(t_called(&ring));
	cr_assert_not(vu_queue_enable_notification(q));
}

Test(vu_queue, broken_latch_cleared_by_ring_restart)
{
	struct vu_msg_vring_state s = { 1, 0 };
	uint64_t v = 1;
	int kick = eventfd(0, EFD_CLOEXEC);

	ring.avail->idx = 100;
	assert_broken();
	cr_assert_eq(t_call(&fe, VU_REQ_GET_VRING_BASE, 0, &s, sizeof(s), NULL, 0), 0);
	cr_assert_eq(t_reply(&fe, VU_REQ_GET_VRING_BASE, &s, sizeof(s)), 8);
	cr_assert_eq(s.num, 0);
	ring.avail->idx = 0;
	cr_assert_eq(t_ack(&fe, VU_REQ_SET_VRING_KICK, &v, 8, &kick, 1), 0);
	close(kick);
	cr_assert_not(vu_queue_broken(q));
	cr_assert_eq(pop(), 0);
}

Test(vu_queue, get_vring_base_returns_last_avail)
{
	struct vu_msg_vring_state s = { 1, 0 };

	t_desc(&ring, 0, DATA, 16, 0, 0);
	t_avail_push(&ring, 0);
	t_avail_push(&ring, 0);
	cr_assert_eq(pop(), 1);
	cr_assert_eq(pop(), 1);
	cr_assert_eq(t_call(&fe, VU_REQ_GET_VRING_BASE, 0, &s, sizeof(s), NULL, 0), 0);
	cr_assert_eq(t_reply(&fe, VU_REQ_GET_VRING_BASE, &s, sizeof(s)), 8);
	cr_assert_eq(s.index, 1);
	cr_assert_eq(s.num, 2);
	cr_assert_eq(fe.ev.stops[1], 1);
}

Test(vu_queue, guest_changes_descriptor_after_pop_do_not_matter)
{
	t_desc(&ring, 0, DATA, 16, VRING_DESC_F_WRITE, 0);
	t_avail_push(&ring, 0);
	cr_assert_eq(pop(), 1);
	t_desc(&ring, 0, 0xdead0000, 1 << 30, VRING_DESC_F_WRITE, 0);
	cr_assert_eq(el.out_iov[0].iov_base, dva(DATA));
	cr_assert_eq(el.out_iov[0].iov_len, 16);
}

Test(vu_queue, zero_max_iov_is_caller_error_not_broken)
{
	t_desc(&ring, 0, DATA, 16, 0, 0);
	t_avail_push(&ring, 0);
	cr_assert_eq(vu_queue_pop(q, &el, iov, 0), -EINVAL);
	cr_assert_not(vu_queue_broken(q));
	cr_assert_eq(pop(), 1);
}

/* Restart the ring (GET_VRING_BASE, SET_VRING_BASE 0, new kick). */
static void restart_ring(void)
{
	struct vu_msg_vring_state s = { 1, 0 };
	uint64_t v = 1;
	int kick = eventfd(0, EFD_CLOEXEC);

	cr_assert_eq(t_call(&fe, VU_REQ_GET_VRING_BASE, 0, &s, sizeof(s), NULL, 0), 0);
	cr_assert_eq(t_reply(&fe, VU_REQ_GET_VRING_BASE, &s, sizeof(s)), 8);
	cr_assert_eq(t_state(&fe, VU_REQ_SET_VRING_BASE, 1, 0), 0);
	ring.avail->idx = 0;
	ring.used->idx = 0;
	ring.avail_idx = 0;
	cr_assert_eq(t_ack(&fe, VU_REQ_SET_VRING_KICK, &v, 8, &kick, 1), 0);
	close(kick);
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	/* xorshift64: deterministic, so a failure reproduces. */
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static uint64_t rnd_addr(void)
{
	switch (rnd() % 4) {
	case 0: return rnd();                              /* anywhere */
	case 1: return RB_GPA - 64 + rnd() % 128;          /* boundary */
	default: return DATA + rnd() % 0x10000;            /* valid */
	}
}

/* Random descriptor tables, indirect tables and avail rings: whatever the
 * guest writes, pop returns 1, 0 or an error and never touches memory
 * outside the regions (ASan would tell). */
Test(vu_queue, random_rings_never_crash, .timeout = 60)
{
	struct vring_desc *tbl = (void *)hva(DATA + 0x8000);
	unsigned int popped = 0, broken = 0;

	for (int round = 0; round < 2000; round++) {
		for (unsigned int i = 0; i < NUM; i++) {
			uint16_t fl = rnd() % 8;

			t_desc(&ring, i, rnd_addr(), (uint32_t)(rnd() % 4 ? rnd() % 512 : rnd()),
			       fl, (uint16_t)(rnd() % (NUM + 2)));
			if (fl & VRING_DESC_F_INDIRECT && rnd() % 2)
				ring.desc[i].addr = DATA + 0x8000;
			if (fl & VRING_DESC_F_INDIRECT && rnd() % 2)
				ring.desc[i].len = 16 * (1 + rnd() % 8);
		}
		for (unsigned int i = 0; i < 8; i++)
			tbl[i] = (struct vring_desc) { rnd_addr(), (uint32_t)(rnd() % 512),
				(uint16_t)(rnd() % 8), (uint16_t)(rnd() % 9) };
		for (unsigned int i = 0; i < NUM; i++)
			ring.avail->ring[i] = (uint16_t)(rnd() % (NUM + 1));
		ring.avail->idx = (uint16_t)(rnd() % (NUM + 2));

		for (int k = 0; k < NUM + 1; k++) {
			int r = vu_queue_pop(q, &el, iov, 1 + rnd() % 16);

			if (r == 1) {
				popped++;
				cr_assert_leq(el.in_num + el.out_num, 16);
				for (unsigned int j = 0; j < el.in_num + el.out_num; j++)
					cr_assert_gt(iov[j].iov_len, 0);
				vu_queue_push(q, &el, (uint32_t)rnd());
				cr_assert_leq(ring.used->ring[(uint16_t)(ring.used->idx - 1) % NUM].len,
					      el.out_len);
				continue;
			}
			if (r < 0)
				broken++;
			break;
		}
		restart_ring();
	}
	cr_assert_gt(popped, 0, "some random chains should be valid");
	cr_assert_gt(broken, 0);
}
