// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * IOMMU support: the IOTLB cache (overlapping updates, partial
 * invalidation, permissions, misses, eviction) and the vhost-user side over
 * a socketpair: negotiation, IOTLB messages, misses on the back-end channel,
 * rings and buffers at I/O virtual addresses, and invalidation stopping the
 * queues that may still use a translation.
 */
#include "test_vu_helpers.h"

#include "vhost-user/iotlb.h"

/* ---- the cache ---- */

static struct vu_iotlb t;

static void cache_setup(void)
{
	cr_assert_eq(vu_iotlb_init(&t, 0), 0);
}

static void cache_teardown(void)
{
	vu_iotlb_destroy(&t);
}

/* Translation of iova (asserting a hit); *contig gets the run length. */
static uint64_t hit(uint64_t iova, uint64_t len, uint8_t perm, uint64_t *contig)
{
	uint64_t ua = 0, c = 0;

	cr_assert_eq(vu_iotlb_lookup(&t, iova, len, perm, &ua, &c), 0,
		     "lookup 0x%llx should hit", (unsigned long long)iova);
	if (contig)
		*contig = c;
	return ua;
}

static int lookup(uint64_t iova, uint8_t perm)
{
	uint64_t ua, c;

	return vu_iotlb_lookup(&t, iova, 1, perm, &ua, &c);
}

TestSuite(iotlb_cache, .init = cache_setup, .fini = cache_teardown);

Test(iotlb_cache, empty_table_misses)
{
	cr_assert_eq(lookup(0, VU_ACCESS_RO), -ENOENT);
	cr_assert_eq(lookup(UINT64_MAX, VU_ACCESS_RO), -ENOENT);
}

Test(iotlb_cache, hit_inside_and_miss_around)
{
	uint64_t c;

	cr_assert_eq(vu_iotlb_update(&t, 0x10000, 0x1000, 0x7f0000, VU_ACCESS_RW), 0);
	cr_assert_eq(hit(0x10000, 16, VU_ACCESS_RO, &c), 0x7f0000);
	cr_assert_eq(c, 16);
	cr_assert_eq(hit(0x10ff0, 0x100, VU_ACCESS_WO, &c), 0x7f0ff0);
	cr_assert_eq(c, 0x10, "a run stops at the end of its entry");
	cr_assert_eq(lookup(0xffff, VU_ACCESS_RO), -ENOENT);
	cr_assert_eq(lookup(0x11000, VU_ACCESS_RO), -ENOENT);
}

Test(iotlb_cache, permissions_are_checked)
{
	cr_assert_eq(vu_iotlb_update(&t, 0x1000, 0x1000, 0xa000, VU_ACCESS_RO), 0);
	cr_assert_eq(vu_iotlb_update(&t, 0x2000, 0x1000, 0xb000, VU_ACCESS_WO), 0);
	cr_assert_eq(vu_iotlb_update(&t, 0x3000, 0x1000, 0xc000, VU_ACCESS_RW), 0);
	cr_assert_eq(lookup(0x1000, VU_ACCESS_RO), 0);
	cr_assert_eq(lookup(0x1000, VU_ACCESS_WO), -EACCES,
		     "a device write into a read-only mapping is refused");
	cr_assert_eq(lookup(0x1000, VU_ACCESS_RW), -EACCES);
	cr_assert_eq(lookup(0x2000, VU_ACCESS_RO), -EACCES);
	cr_assert_eq(lookup(0x2000, VU_ACCESS_WO), 0);
	cr_assert_eq(lookup(0x3fff, VU_ACCESS_RW), 0);
}

Test(iotlb_cache, bad_updates_refused)
{
	cr_assert_eq(vu_iotlb_update(&t, 0x1000, 0, 0x1000, VU_ACCESS_RW), -EINVAL);
	cr_assert_eq(vu_iotlb_update(&t, UINT64_MAX, 2, 0x1000, VU_ACCESS_RW), -EINVAL);
	cr_assert_eq(vu_iotlb_update(&t, 0x1000, 0x1000, UINT64_MAX - 10,
				     VU_ACCESS_RW), -EINVAL);
	cr_assert_eq(vu_iotlb_update(&t, 0x1000, 0x1000, 0x1000, 0), -EINVAL,
		     "a no-access translation is not an entry");
	cr_assert_eq(vu_iotlb_update(&t, 0x1000, 0x1000, 0x1000, 4), -EINVAL);
	cr_assert_eq(t.n, 0);
}

Test(iotlb_cache, top_of_address_space)
{
	uint64_t c;

	cr_assert_eq(vu_iotlb_update(&t, UINT64_MAX - 0xfff, 0x1000, 0x5000,
				     VU_ACCESS_RW), 0);
	cr_assert_eq(hit(UINT64_MAX, 0x100, VU_ACCESS_RO, &c), 0x5fff);
	cr_assert_eq(c, 1);
	cr_assert_eq(vu_iotlb_update(&t, 0, UINT64_MAX, 0, VU_ACCESS_RO), 0);
	cr_assert_eq(hit(0x1234, UINT64_MAX, VU_ACCESS_RO, &c), 0x1234);
	cr_assert_eq(c, UINT64_MAX - 0x1234, "up to the last byte it maps");
	cr_assert_eq(hit(UINT64_MAX, 1, VU_ACCESS_RW, NULL), 0x5fff);
}

Test(iotlb_cache, overlapping_update_replaces_what_it_covers)
{
	uint64_t c;

	cr_assert_eq(vu_iotlb_update(&t, 0x10000, 0x4000, 0xa0000, VU_ACCESS_RO), 0);
	/* A remap of the middle page, with other rights. */
	cr_assert_eq(vu_iotlb_update(&t, 0x11000, 0x1000, 0xf0000, VU_ACCESS_RW), 0);
	cr_assert_eq(t.n, 3);
	cr_assert_eq(hit(0x10000, 0x4000, VU_ACCESS_RO, &c), 0xa0000);
	cr_assert_eq(c, 0x1000);
	cr_assert_eq(hit(0x11800, 1, VU_ACCESS_WO, NULL), 0xf0800);
	cr_assert_eq(hit(0x12000, 0x2000, VU_ACCESS_RO, &c), 0xa2000,
		     "the tail keeps its own translation");
	cr_assert_eq(c, 0x2000);
	cr_assert_eq(lookup(0x12000, VU_ACCESS_WO), -EACCES);
	/* One update over all of them. */
	cr_assert_eq(vu_iotlb_update(&t, 0xf000, 0x10000, 0x300000, VU_ACCESS_WO), 0);
	cr_assert_eq(t.n, 1);
	cr_assert_eq(hit(0x13fff, 1, VU_ACCESS_WO, NULL), 0x304fff);
}

Test(iotlb_cache, partial_invalidation)
{
	uint64_t c;

	cr_assert_eq(vu_iotlb_update(&t, 0x10000, 0x4000, 0xa0000, VU_ACCESS_RW), 0);
	cr_assert_eq(vu_iotlb_update(&t, 0x20000, 0x1000, 0xb0000, VU_ACCESS_RW), 0);

	cr_assert_eq(vu_iotlb_invalidate(&t, 0x8000, 0x1000), 0,
		     "nothing there: nothing touched");
	/* Middle of the first entry: it splits. */
	cr_assert_eq(vu_iotlb_invalidate(&t, 0x11000, 0x1000), 1);
	cr_assert_eq(t.n, 3);
	cr_assert_eq(hit(0x10fff, 0x10, VU_ACCESS_RO, &c), 0xa0fff);
	cr_assert_eq(c, 1);
	cr_assert_eq(lookup(0x11000, VU_ACCESS_RO), -ENOENT);
	cr_assert_eq(lookup(0x11fff, VU_ACCESS_RO), -ENOENT);
	cr_assert_eq(hit(0x12000, 1, VU_ACCESS_RO, NULL), 0xa2000);
	/* Head of one, tail of another, across the gap. */
	cr_assert_eq(vu_iotlb_invalidate(&t, 0x13800, 0xc900), 2);
	cr_assert_eq(hit(0x137ff, 1, VU_ACCESS_RO, NULL), 0xa37ff);
	cr_assert_eq(lookup(0x13800, VU_ACCESS_RO), -ENOENT);
	cr_assert_eq(lookup(0x200ff, VU_ACCESS_RO), -ENOENT);
	cr_assert_eq(hit(0x20100, 1, VU_ACCESS_RO, NULL), 0xb0100);
	/* Size 0 (QEMU's addr_mask + 1 wrapping): everything from iova on. */
	cr_assert_eq(vu_iotlb_invalidate(&t, 0x12000, 0), 2);
	cr_assert_eq(t.n, 1);
	cr_assert_eq(lookup(0x20100, VU_ACCESS_RO), -ENOENT);
	cr_assert_eq(lookup(0x10000, VU_ACCESS_RO), 0);
	/* A range running past the end of the address space. */
	cr_assert_eq(vu_iotlb_invalidate(&t, 0x10000, UINT64_MAX), 1);
	cr_assert_eq(t.n, 0);
}

Test(iotlb_cache, full_table_evicts_and_says_so)
{
	vu_iotlb_destroy(&t);
	cr_assert_eq(vu_iotlb_init(&t, 4), 0);
	for (uint64_t i = 0; i < 4; i++)
		cr_assert_eq(vu_iotlb_update(&t, i * 0x2000, 0x1000, i << 20,
					     VU_ACCESS_RW), 0);
	cr_assert_not(t.evicted);
	/* A fifth entry pushes one out. */
	cr_assert_eq(vu_iotlb_update(&t, 0x10000, 0x3000, 0x900000, VU_ACCESS_RW), 0);
	cr_assert(t.evicted);
	cr_assert_eq(t.n, 4);
	cr_assert_eq(hit(0x11000, 1, VU_ACCESS_RW, NULL), 0x901000);
	vu_iotlb_flush(&t);
	cr_assert_eq(t.n, 0);
	cr_assert_not(t.evicted);
	for (uint64_t i = 0; i < 4; i++)
		cr_assert_eq(vu_iotlb_update(&t, i * 0x2000, 0x1000, i << 20,
					     VU_ACCESS_RW), 0);
	cr_assert_eq(vu_iotlb_invalidate(&t, 0x2800, 0x100), 1);
	cr_assert(t.evicted, "no room to split: the entry went whole");
	cr_assert_eq(lookup(0x2000, VU_ACCESS_RO), -ENOENT);
}

/* ---- the device: messages, misses, translated rings and buffers ---- */

#define F_ACCESS_PLATFORM (1ull << VU_F_ACCESS_PLATFORM)
#define IOMMU_FEATURES (T_F_VERSION_1 | T_F_INDIRECT | F_ACCESS_PLATFORM)
#define RA_GPA 0x100000ull
#define R_SIZE 0x100000ull
/* The guest's I/O addresses for region A: nothing like its GPAs. */
#define IOVA_BASE 0x80000000ull
#define NUM 8
#define DATA_OFF 0x10000ull

static struct t_fe fe;
static struct t_region ra;
static struct t_ring ring;
static int backend[2] = { -1, -1 };  /* [0] ours (front-end), [1] given */
static struct iovec iov[VU_MAX_CHAIN_IOV];
static struct vu_elem el;

static uint64_t iova_of(uint64_t off)
{
	return IOVA_BASE + off;
}

static uint64_t iotlb_msg(uint8_t type, uint64_t iova, uint64_t size,
			  uint64_t uaddr, uint8_t perm)
{
	struct vu_msg_iotlb im = {
		.iova = iova, .size = size, .uaddr = uaddr, .perm = perm,
		.type = type,
	};

	return t_ack(&fe, VU_REQ_IOTLB_MSG, &im, sizeof(im), NULL, 0);
}

/* Map region offset [off, off + size) at its IOVA. */
static void map_off(uint64_t off, uint64_t size, uint8_t perm)
{
	cr_assert_eq(iotlb_msg(VU_IOTLB_UPDATE, iova_of(off), size,
			       ra.qva + off, perm), 0);
}

static void unmap_off(uint64_t off, uint64_t size)
{
	cr_assert_eq(iotlb_msg(VU_IOTLB_INVALIDATE, iova_of(off), size, 0, 0), 0);
}

/* Read one IOTLB miss from the back-end channel; false when there is none. */
static bool miss(uint64_t *iova, uint8_t *perm)
{
	struct vu_msg_hdr hdr;
	struct vu_msg_iotlb im;
	ssize_t n = recv(backend[0], &hdr, sizeof(hdr), MSG_DONTWAIT);

	if (n < 0 && errno == EAGAIN)
		return false;
	cr_assert_eq(n, (ssize_t)sizeof(hdr));
	cr_assert_eq(hdr.request, 1, "VHOST_USER_BACKEND_IOTLB_MSG");
	cr_assert_eq(hdr.flags, VU_FLAG_VERSION, "no reply wanted");
	cr_assert_eq(hdr.size, sizeof(im));
	cr_assert_eq(recv(backend[0], &im, sizeof(im), MSG_DONTWAIT),
		     (ssize_t)sizeof(im));
	cr_assert_eq(im.type, VU_IOTLB_MISS);
	*iova = im.iova;
	*perm = im.perm;
	return true;
}

static void negotiate(uint64_t proto, bool channel)
{
	memset(&ring, 0, sizeof(ring));
	ring.kick = ring.call = -1;
	t_fe_open(&fe, 2, 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, backend), 0);
	cr_assert_eq(t_set_u64(&fe, VU_REQ_SET_PROTOCOL_FEATURES, proto), 0);
	if (channel) {
		cr_assert_eq(t_ack(&fe, VU_REQ_SET_BACKEND_REQ_FD, NULL, 0,
				   &backend[1], 1), 0);
		close(backend[1]); /* the device holds its own copy */
		backend[1] = -1;
	}
}

#define PROTO_IOMMU ((1ull << VU_PROTOCOL_F_REPLY_ACK) | \
		     (1ull << VU_PROTOCOL_F_BACKEND_REQ))

/* A negotiated IOMMU device with memory, queue 1's ring at IOVAs; the ring
 * is not mapped yet. */
static void dev_setup(void)
{
	struct vu_msg_vring_addr a;
	uint64_t v = 1;

	negotiate(PROTO_IOMMU, true);
	cr_assert_eq(t_set_u64(&fe, VU_REQ_SET_FEATURES, IOMMU_FEATURES), 0);
	t_region_new(&ra, "vui-a", RA_GPA, R_SIZE);
	cr_assert_eq(t_set_mem(&fe, &ra, 1), 0);
	t_ring_layout(&ring, &ra, 0, NUM);
	a = (struct vu_msg_vring_addr) {
		.index = 1,
		.desc_user_addr = iova_of(ring.desc_gpa - RA_GPA),
		.avail_user_addr = iova_of(ring.avail_gpa - RA_GPA),
		.used_user_addr = iova_of(ring.used_gpa - RA_GPA),
	};
	cr_assert_eq(t_state(&fe, VU_REQ_SET_VRING_NUM, 1, NUM), 0);
	cr_assert_eq(t_state(&fe, VU_REQ_SET_VRING_BASE, 1, 0), 0);
	cr_assert_eq(t_ack(&fe, VU_REQ_SET_VRING_ADDR, &a, sizeof(a), NULL, 0),
		     0, "ring IOVAs are not checked against the memory table");
	ring.kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ring.call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cr_assert_eq(t_ack(&fe, VU_REQ_SET_VRING_CALL, &v, 8, &ring.call, 1), 0);
	cr_assert_eq(t_ack(&fe, VU_REQ_SET_VRING_KICK, &v, 8, &ring.kick, 1), 0);
}

static void dev_teardown(void)
{
	t_fe_close(&fe);
	t_ring_close(&ring);
	if (ra.map)
		t_region_free(&ra);
	memset(&ra, 0, sizeof(ra));
	for (int i = 0; i < 2; i++)
		if (backend[i] >= 0)
			close(backend[i]);
	backend[0] = backend[1] = -1;
}

/* dev_setup, then the ring page mapped: queue 1 runs. */
static void run_setup(void)
{
	dev_setup();
	map_off(0, 0x1000, VU_ACCESS_RW);
	cr_assert_eq(fe.ev.starts[1], 1);
}

static struct vu_queue *q1(void)
{
	return vu_dev_queue(fe.dev, 1);
}

static int pop(void)
{
	return vu_queue_pop(q1(), &el, iov, VU_MAX_CHAIN_IOV);
}

static bool kicked(void)
{
	uint64_t v;

	return read(ring.kick, &v, sizeof(v)) == (ssize_t)sizeof(v);
}

/* A request: 16 readable bytes at DATA_OFF, 32 writable at DATA_OFF+0x1000. */
static void post_request(void)
{
	t_desc(&ring, 0, iova_of(DATA_OFF), 16, VRING_DESC_F_NEXT, 1);
	t_desc(&ring, 1, iova_of(DATA_OFF + 0x1000), 32, VRING_DESC_F_WRITE, 0);
	t_avail_push(&ring, 0);
}

Test(vu_iotlb, access_platform_offered, .fini = dev_teardown)
{
	negotiate(0, false);
	cr_assert(t_get_u64(&fe, VU_REQ_GET_FEATURES) & F_ACCESS_PLATFORM);
	cr_assert(t_get_u64(&fe, VU_REQ_GET_PROTOCOL_FEATURES) &
		  (1ull << VU_PROTOCOL_F_BACKEND_REQ));
}

Test(vu_iotlb, access_platform_without_channel_drops_connection,
     .fini = dev_teardown)
{
	uint64_t f = IOMMU_FEATURES, v = 99;

	negotiate(PROTO_IOMMU, false);
	cr_assert_lt(t_call(&fe, VU_REQ_SET_FEATURES, VU_FLAG_NEED_REPLY, &f,
			    sizeof(f), NULL, 0), 0,
		     "an IOMMU we cannot serve must not be a silent hang");
	cr_assert_eq(t_reply(&fe, VU_REQ_SET_FEATURES, &v, sizeof(v)), 8);
	cr_assert_eq(v, 1);
}

Test(vu_iotlb, access_platform_without_reply_ack_drops_connection,
     .fini = dev_teardown)
{
	uint64_t f = IOMMU_FEATURES;

	negotiate(1ull << VU_PROTOCOL_F_BACKEND_REQ, true);
	cr_assert_lt(t_call(&fe, VU_REQ_SET_FEATURES, 0, &f, sizeof(f), NULL, 0), 0);
}

Test(vu_iotlb, without_access_platform_addresses_stay_physical,
     .fini = dev_teardown)
{
	negotiate(PROTO_IOMMU, true);
	cr_assert_eq(t_set_u64(&fe, VU_REQ_SET_FEATURES, T_F_VERSION_1), 0);
	t_region_new(&ra, "vui-plain", RA_GPA, R_SIZE);
	cr_assert_eq(t_set_mem(&fe, &ra, 1), 0);
	t_ring_layout(&ring, &ra, 0, NUM);
	t_ring_setup(&fe, &ring, 1, 0);
	cr_assert_eq(fe.ev.starts[1], 1);
	t_desc(&ring, 0, RA_GPA + DATA_OFF, 16, 0, 0);
	t_avail_push(&ring, 0);
	cr_assert_eq(pop(), 1);
	cr_assert_eq(iov[0].iov_base, vu_mem_gpa_to_va(&fe.dev->mem,
						       RA_GPA + DATA_OFF, 1));
}

Test(vu_iotlb, bad_iotlb_messages, .fini = dev_teardown)
{
	struct vu_msg_iotlb im = { .type = VU_IOTLB_UPDATE };

	dev_setup();
	cr_assert_eq(iotlb_msg(9, 0x1000, 0x1000, ra.qva, VU_ACCESS_RW), 1,
		     "unknown type refused");
	cr_assert_eq(iotlb_msg(VU_IOTLB_UPDATE, 0x1000, 0, ra.qva, VU_ACCESS_RW), 1);
	cr_assert_eq(iotlb_msg(VU_IOTLB_UPDATE, UINT64_MAX, 0x1000, ra.qva,
			       VU_ACCESS_RW), 1);
	cr_assert_eq(iotlb_msg(VU_IOTLB_UPDATE, 0x1000, 0x1000, ra.qva, 7), 1);
	cr_assert_eq(fe.dev->iotlb.n, 0);
	/* The payload must be exactly struct vhost_iotlb_msg. */
	cr_assert_lt(t_call(&fe, VU_REQ_IOTLB_MSG, 0, &im, sizeof(im) - 8,
			    NULL, 0), 0);
}

Test(vu_iotlb, ring_start_waits_for_translation, .fini = dev_teardown)
{
	uint64_t iova;
	uint8_t perm;

	dev_setup();
	cr_assert_eq(fe.ev.starts[1], 0, "rings at unmapped IOVAs cannot run");
	cr_assert(miss(&iova, &perm));
	cr_assert_eq(iova, iova_of(ring.desc_gpa - RA_GPA));
	cr_assert_eq(perm, VU_ACCESS_RO);
	/* A no-access answer (the guest has no mapping) adds nothing. */
	cr_assert_eq(iotlb_msg(VU_IOTLB_UPDATE, iova, 0x1000, ra.qva, 0), 0);
	cr_assert_eq(fe.ev.starts[1], 0);
	cr_assert_not(miss(&iova, &perm), "and does not loop on misses");
	/* The used ring needs write access: read-only is not enough, and
	 * asking again would only get the same answer. */
	map_off(0, 0x1000, VU_ACCESS_RO);
	cr_assert_eq(fe.ev.starts[1], 0);
	cr_assert_not(miss(&iova, &perm));
	map_off(0, 0x1000, VU_ACCESS_RW);
	cr_assert_eq(fe.ev.starts[1], 1);
	cr_assert_eq(q1()->desc, (void *)vu_mem_gpa_to_va(&fe.dev->mem,
							  ring.desc_gpa, 1));
}

Test(vu_iotlb, ring_split_over_entries_must_be_contiguous,
     .fini = dev_teardown)
{
	uint64_t iova;
	uint8_t perm;

	dev_setup();
	/* Page by page, as a guest IOMMU with 4 KiB pages answers: fine. */
	map_off(0, 0x80, VU_ACCESS_RW);
	cr_assert(miss(&iova, &perm));
	cr_assert(miss(&iova, &perm), "the next piece of the table is asked");
	cr_assert_eq(iova, iova_of(0x80));
	map_off(0x80, 0xf80, VU_ACCESS_RW);
	cr_assert_eq(fe.ev.starts[1], 1);
}

Test(vu_iotlb, ring_in_sub_page_pieces_elsewhere_refused,
     .fini = dev_teardown)
{
	dev_setup();
	/* The second half of the descriptor table maps somewhere else, not
	 * at a page boundary: it cannot be made contiguous. */
	cr_assert_eq(iotlb_msg(VU_IOTLB_UPDATE, iova_of(0x40), 0x1000 - 0x40,
			       ra.qva + 0x8000, VU_ACCESS_RW), 0);
	map_off(0, 0x40, VU_ACCESS_RW);
	cr_assert_eq(fe.ev.starts[1], 0);
}

Test(vu_iotlb, ring_on_scattered_pages_is_aliased, .fini = dev_teardown)
{
	struct vu_msg_vring_addr a;
	struct vu_queue *q;
	uint64_t v = 1;
	const unsigned int num = 512; /* 8 KiB of descriptors: two pages */

	negotiate(PROTO_IOMMU, true);
	cr_assert_eq(t_set_u64(&fe, VU_REQ_SET_FEATURES, IOMMU_FEATURES), 0);
	t_region_new(&ra, "vui-scatter", RA_GPA, R_SIZE);
	cr_assert_eq(t_set_mem(&fe, &ra, 1), 0);
	/* Descriptor table at IOVA +0..+0x1fff: its first page is guest page
	 * +0x30000, its second +0x10000 (out of order, as Linux allocates
	 * rings behind an IOMMU). */
	cr_assert_eq(iotlb_msg(VU_IOTLB_UPDATE, iova_of(0), 0x1000,
			       ra.qva + 0x30000, VU_ACCESS_RW), 0);
	cr_assert_eq(iotlb_msg(VU_IOTLB_UPDATE, iova_of(0x1000), 0x1000,
			       ra.qva + 0x10000, VU_ACCESS_RW), 0);
	map_off(0x2000, 0x3000, VU_ACCESS_RW);
	a = (struct vu_msg_vring_addr) {
		.index = 1,
		.desc_user_addr = iova_of(0),
		.avail_user_addr = iova_of(0x2000),
		.used_user_addr = iova_of(0x3000),
	};
	cr_assert_eq(t_state(&fe, VU_REQ_SET_VRING_NUM, 1, num), 0);
	cr_assert_eq(t_ack(&fe, VU_REQ_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 0);
	ring.kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cr_assert_eq(t_ack(&fe, VU_REQ_SET_VRING_KICK, &v, 8, &ring.kick, 1), 0);
	cr_assert_eq(fe.ev.starts[1], 1);
	q = q1();
	/* Descriptor 300 lives in the second IOVA page: guest page +0x10000. */
	((struct vring_desc *)(ra.map + 0x10000))[300 - 256].len = 0x1234;
	((struct vring_desc *)(ra.map + 0x30000))[3].len = 0x5678;
	cr_assert_eq(q->desc[300].len, 0x1234);
	cr_assert_eq(q->desc[3].len, 0x5678);
	q->desc[4].len = 0x9abc; /* the same memory, both ways */
	cr_assert_eq(((struct vring_desc *)(ra.map + 0x30000))[4].len, 0x9abc);
}

static void drain_misses(void)
{
	uint64_t iova;
	uint8_t perm;

	while (miss(&iova, &perm))
		;
}

TestSuite(vu_iotlb_queue, .init = run_setup, .fini = dev_teardown);

Test(vu_iotlb_queue, buffer_miss_waits_then_pops)
{
	uint64_t iova;
	uint8_t perm;

	drain_misses();
	post_request();
	cr_assert_eq(pop(), 0, "a miss is 'not yet', not an error");
	cr_assert(miss(&iova, &perm));
	cr_assert_eq(iova, iova_of(DATA_OFF));
	cr_assert_eq(perm, VU_ACCESS_RO);
	cr_assert_not(vu_queue_enable_notification(q1()),
		      "the worker sleeps instead of spinning on the miss");
	cr_assert_not(vu_queue_avail_pending(q1()),
		      "busy-polling does not pop it again (one miss per poll "
		      "filled the back-end channel and hung the worker)");
	cr_assert_not(kicked());

	map_off(DATA_OFF, 0x1000, VU_ACCESS_RO);
	cr_assert(kicked(), "the update wakes the waiting worker");
	cr_assert_eq(pop(), 0);
	cr_assert(miss(&iova, &perm));
	cr_assert_eq(iova, iova_of(DATA_OFF + 0x1000));
	cr_assert_eq(perm, VU_ACCESS_WO, "the reply buffer is written");

	map_off(DATA_OFF + 0x1000, 0x1000, VU_ACCESS_RW);
	cr_assert(kicked());
	cr_assert_eq(pop(), 1);
	cr_assert_eq(el.in_num, 1);
	cr_assert_eq(el.out_num, 1);
	cr_assert_eq(iov[0].iov_base,
		     vu_mem_gpa_to_va(&fe.dev->mem, RA_GPA + DATA_OFF, 1));
	cr_assert_eq(iov[1].iov_base,
		     vu_mem_gpa_to_va(&fe.dev->mem, RA_GPA + DATA_OFF + 0x1000, 1));
	cr_assert_not(vu_queue_broken(q1()));
	cr_assert_not(miss(&iova, &perm));
}

Test(vu_iotlb_queue, update_elsewhere_does_not_wake)
{
	drain_misses();
	post_request();
	cr_assert_eq(pop(), 0);
	map_off(0x50000, 0x1000, VU_ACCESS_RW);
	cr_assert_not(kicked());
}

Test(vu_iotlb_queue, buffer_split_over_entries)
{
	t_desc(&ring, 0, iova_of(DATA_OFF + 0x800), 0x1000, 0, 0);
	t_avail_push(&ring, 0);
	map_off(DATA_OFF, 0x1000, VU_ACCESS_RO);
	/* The next IOVA page maps to memory elsewhere: two iovecs. */
	cr_assert_eq(iotlb_msg(VU_IOTLB_UPDATE, iova_of(DATA_OFF + 0x1000),
			       0x1000, ra.qva + 0x40000, VU_ACCESS_RO), 0);
	cr_assert_eq(pop(), 1);
	cr_assert_eq(el.in_num, 2);
	cr_assert_eq(iov[0].iov_len, 0x800);
	cr_assert_eq(iov[1].iov_base,
		     vu_mem_gpa_to_va(&fe.dev->mem, RA_GPA + 0x40000, 1));
	cr_assert_eq(iov[1].iov_len, 0x800);
}

Test(vu_iotlb_queue, write_into_read_only_mapping_refused)
{
	map_off(DATA_OFF, 0x2000, VU_ACCESS_RO);
	post_request();
	cr_assert_eq(pop(), -EACCES);
	cr_assert(vu_queue_broken(q1()));
}

Test(vu_iotlb_queue, read_from_write_only_mapping_refused)
{
	map_off(DATA_OFF, 0x1000, VU_ACCESS_WO);
	map_off(DATA_OFF + 0x1000, 0x1000, VU_ACCESS_RW);
	post_request();
	cr_assert_eq(pop(), -EACCES);
	cr_assert(vu_queue_broken(q1()));
}

Test(vu_iotlb_queue, indirect_table_at_an_iova)
{
	struct vring_desc *tbl = (void *)(ra.map + 0x3000);

	tbl[0] = (struct vring_desc) { iova_of(DATA_OFF), 16,
				       VRING_DESC_F_NEXT, 1 };
	tbl[1] = (struct vring_desc) { iova_of(DATA_OFF + 0x1000), 32,
				       VRING_DESC_F_WRITE, 0 };
	t_desc(&ring, 0, iova_of(0x3000), 32, VRING_DESC_F_INDIRECT, 0);
	t_avail_push(&ring, 0);
	map_off(DATA_OFF, 0x2000, VU_ACCESS_RW);
	cr_assert_eq(pop(), 0, "the table itself misses first");
	map_off(0x3000, 0x1000, VU_ACCESS_RO);
	cr_assert_eq(pop(), 1);
	cr_assert_eq(el.in_len, 16);
	cr_assert_eq(el.out_len, 32);
}

Test(vu_iotlb_queue, invalidate_with_chain_in_flight_stops_queue)
{
	uint64_t ua, c;

	map_off(DATA_OFF, 0x2000, VU_ACCESS_RW);
	post_request();
	cr_assert_eq(pop(), 1);
	/* The ack of the invalidation comes after the queue stopped (its
	 * in-flight I/O finished) and restarted. */
	unmap_off(DATA_OFF, 0x1000);
	cr_assert_eq(fe.ev.stops[1], 1);
	cr_assert_eq(fe.ev.starts[1], 2);
	cr_assert_eq(vu_iotlb_lookup(&fe.dev->iotlb, iova_of(DATA_OFF), 1,
				     VU_ACCESS_RO, &ua, &c), -ENOENT);
}

Test(vu_iotlb_queue, invalidate_of_idle_buffers_keeps_queue_running)
{
	map_off(DATA_OFF, 0x2000, VU_ACCESS_RW);
	post_request();
	cr_assert_eq(pop(), 1);
	vu_queue_push(q1(), &el, 0);
	unmap_off(DATA_OFF, 0x2000);
	unmap_off(0x90000, 0x1000);
	cr_assert_eq(fe.ev.stops[1], 0, "nothing in flight, rings elsewhere");
}

Test(vu_iotlb_queue, invalidate_of_ring_retranslates_on_restart)
{
	uint64_t iova;
	uint8_t perm;

	drain_misses();
	unmap_off(0, 0x1000);
	cr_assert_eq(fe.ev.stops[1], 1);
	cr_assert_eq(fe.ev.starts[1], 1, "no restart without the ring mapped");
	cr_assert(miss(&iova, &perm));
	cr_assert_eq(iova, iova_of(0));
	/* The guest maps the ring again, somewhere else in its memory. */
	memcpy(ra.map + 0x20000, ra.map, 0x1000);
	cr_assert_eq(iotlb_msg(VU_IOTLB_UPDATE, iova_of(0), 0x1000,
			       ra.qva + 0x20000, VU_ACCESS_RW), 0);
	cr_assert_eq(fe.ev.starts[1], 2);
	cr_assert_eq(q1()->desc,
		     (void *)vu_mem_gpa_to_va(&fe.dev->mem, RA_GPA + 0x20000, 1));
}

Test(vu_iotlb_queue, reset_forgets_translations)
{
	cr_assert_gt(fe.dev->iotlb.n, 0);
	cr_assert_eq(t_ack(&fe, VU_REQ_RESET_DEVICE, NULL, 0, NULL, 0), 0);
	cr_assert_eq(fe.dev->iotlb.n, 0);
}

Test(vu_iotlb, ring_pages_asked_for_in_one_burst, .fini = dev_teardown)
{
	struct vu_msg_vring_addr a;
	uint64_t v = 1, iova, got[8];
	uint8_t perm;
	unsigned int n = 0;

	negotiate(PROTO_IOMMU, true);
	cr_assert_eq(t_set_u64(&fe, VU_REQ_SET_FEATURES, IOMMU_FEATURES), 0);
	t_region_new(&ra, "vui-burst", RA_GPA, R_SIZE);
	cr_assert_eq(t_set_mem(&fe, &ra, 1), 0);
	/* 512 entries: descriptors in pages 0-1, avail and used from page 2,
	 * used ending in page 3. */
	t_ring_layout(&ring, &ra, 0, 512);
	a = (struct vu_msg_vring_addr) {
		.index = 1,
		.desc_user_addr = iova_of(ring.desc_gpa - RA_GPA),
		.avail_user_addr = iova_of(ring.avail_gpa - RA_GPA),
		.used_user_addr = iova_of(ring.used_gpa - RA_GPA),
	};
	cr_assert_eq(t_state(&fe, VU_REQ_SET_VRING_NUM, 1, 512), 0);
	cr_assert_eq(t_ack(&fe, VU_REQ_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 0);
	ring.kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cr_assert_eq(t_ack(&fe, VU_REQ_SET_VRING_KICK, &v, 8, &ring.kick, 1), 0);
	while (n < 8 && miss(&iova, &perm))
		got[n++] = iova;
	cr_assert_eq(n, 4, "one miss per missing ring page, all at once");
	cr_assert_eq(got[0], iova_of(0));
	cr_assert_eq(got[3], iova_of(0x3000));
	map_off(0, 0x3000, VU_ACCESS_RW);
	cr_assert_eq(fe.ev.starts[1], 0);
	cr_assert_not(miss(&iova, &perm), "no retry before the last answer");
	map_off(0x3000, 0x1000, VU_ACCESS_RW);
	cr_assert_eq(fe.ev.starts[1], 1);
}
