// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Regression test found by fuzz_vu_msg: a front-end whose memory region
 * user_addr is aligned differently from the region's start in the mmap
 * (here: off by 8) can hand over ring addresses that are aligned as
 * front-end addresses but misaligned in the back-end's mapping.  The rings
 * are used as aligned structs (UBSan: "misaligned address ... struct
 * vring_used"), so such rings must be refused, not started.
 */
#include "tests/unit/test_vu_helpers.h"

#define GPA 0x100000000ull
#define SIZE (1u << 20)
#define NUM 16

Test(vu_ring_align, ring_misaligned_in_host_memory_is_refused)
{
	struct t_fe fe;
	struct t_region r;
	struct t_ring ring;
	uint64_t v = 1;

	t_fe_open(&fe, 2, 0);
	t_region_new(&r, "vu-align", GPA, SIZE);
	r.qva += 8;             /* the front-end's view is 8 bytes off */
	cr_assert_eq(t_set_u64(&fe, VU_REQ_SET_FEATURES, T_F_VERSION_1), 0);
	cr_assert_eq(t_set_mem(&fe, &r, 1), 0);
	/* At front-end address qva+8 (16-aligned), host address map+8. */
	t_ring_layout(&ring, &r, 8, NUM);
	struct vu_msg_vring_addr a = t_ring_addr(&ring, 1);
	cr_assert_eq(a.desc_user_addr % 16, 0);
	cr_assert_eq(t_state(&fe, VU_REQ_SET_VRING_NUM, 1, NUM), 0);
	cr_assert_neq(t_ack(&fe, VU_REQ_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 0,
		      "rings misaligned in the back-end's mapping were accepted");
	ring.kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	t_ack(&fe, VU_REQ_SET_VRING_KICK, &v, 8, &ring.kick, 1);
	cr_assert_eq(fe.ev.starts[1], 0, "queue started on misaligned rings");
	t_fe_close(&fe);
	t_ring_close(&ring);
	t_region_free(&r);
}
