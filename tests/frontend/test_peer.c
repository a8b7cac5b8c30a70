/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The front-end library against a known-good peer, QEMU's C virtiofsd: if
 * these fail, the library is wrong, not vfsd.  virtiofsd serves one
 * connection and exits, so every test starts its own.
 */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "fe_test.h"

static void setup(void)
{
	fe_test_start(FE_BACKEND_VIRTIOFSD, NULL);
}

TestSuite(peer, .init = setup, .fini = fe_test_fini, .timeout = 60);

Test(peer, handshake_negotiates_protocol)
{
	fe_t.dev = fe_test_open(NULL);
	cr_assert(fe_dev_features(fe_t.dev) & (1ull << FE_VU_F_PROTOCOL_FEATURES));
	cr_assert(fe_dev_connected(fe_t.dev));
	cr_assert_eq(fe_dev_stop(fe_t.dev), 0);
	fe_test_end();
}

Test(peer, lifecycle)
{
	fe_t.dev = fe_test_open_init(NULL);
	fe_scenario_lifecycle(fe_t.dev, fe_t.be.shared);
	fe_test_end();
}

Test(peer, lifecycle_kernel_like_chains)
{
	/* Two regions (buffers in the second), EVENT_IDX, indirect tables,
	 * data split into 4 KiB descriptors like the guest's pages. */
	struct fe_opts o = { .mem_regions = 2, .event_idx = true,
			     .indirect = true, .seg_max = 4096 };

	fe_t.dev = fe_test_open_init(&o);
	fe_scenario_lifecycle(fe_t.dev, fe_t.be.shared);
	fe_test_end();
}

Test(peer, depth_32)
{
	fe_t.dev = fe_test_open_init(NULL);
	fe_scenario_depth(fe_t.dev, fe_t.be.shared, 32);
	fe_test_end();
}

Test(peer, depth_32_busy_poll_event_idx)
{
	struct fe_opts o = { .event_idx = true, .busy_poll = true };

	fe_t.dev = fe_test_open_init(&o);
	fe_scenario_depth(fe_t.dev, fe_t.be.shared, 32);
	fe_test_end();
}

Test(peer, forget_on_hiprio)
{
	fe_t.dev = fe_test_open_init(NULL);
	fe_scenario_forget(fe_t.dev, fe_t.be.shared);
	fe_test_end();
}

Test(peer, errors_are_fuse_errors)
{
	struct fuse_entry_out e;

	fe_t.dev = fe_test_open_init(NULL);
	cr_assert_eq(fe_lookup(fe_t.dev, FUSE_ROOT_ID, "missing", &e), -ENOENT);
	cr_assert_eq(fe_fuse_transport_error(fe_t.dev), 0);
	fe_test_end();
}

Test(peer, stop_returns_the_ring_positions)
{
	struct fe_dev *d;
	uint16_t req_idx, hip_idx;

	fe_t.dev = d = fe_test_open_init(NULL);
	fe_scenario_forget(d, fe_t.be.shared);
	req_idx = fe_vq_avail(fe_dev_vq(d, 1))->idx;
	hip_idx = fe_vq_avail(fe_dev_vq(d, 0))->idx;
	cr_assert_eq(fe_dev_stop(d), 0);
	cr_assert_eq(fe_vq_base(fe_dev_vq(d, 1)), req_idx);
	cr_assert_eq(fe_vq_base(fe_dev_vq(d, 0)), hip_idx);
	fe_test_end();
}

Test(peer, guest_reboot_restarts_rings)
{
	struct fe_dev *d;
	int r;

	fe_t.dev = d = fe_test_open_init(NULL);
	r = fe_dev_restart(d);
	cr_assert_eq(r, 0, "ring restart: %s", strerror(-r));
	cr_assert_eq(fe_fuse_init(d, 0, FE_INIT_FLAGS_DEFAULT, NULL), 0);
	fe_scenario_depth(d, fe_t.be.shared, 32);
	fe_test_end();
}
