/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vfsd over its real vhost-user socket, driven by the test front-end: the
 * QEMU handshake, FUSE file lifecycle checked on the host, many requests in
 * flight, FORGET on hiprio, guest reboot, reconnection.
 *
 * Difference to QEMU's C virtiofsd, on purpose: virtiofsd serves one
 * connection and exits when the front-end disconnects; vfsd keeps listening
 * and serves the next connection (QEMU reconnect, VM restart).  The
 * reconnection tests below therefore run on vfsd only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <criterion/criterion.h>

#include "fe_test.h"

static void setup(void)
{
	fe_test_start(FE_BACKEND_VFSD, NULL);
}

TestSuite(vfsd, .init = setup, .fini = fe_test_fini, .timeout = 60);

static void touch(const char *name, const char *content)
{
	char path[512];
	int fd;

	fe_path(path, sizeof(path), fe_t.be.shared, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, content, strlen(content)),
		     (ssize_t)strlen(content));
	close(fd);
}

/* Poll (bounded) until the daemon's fd count is back to `want` or less:
 * it releases a connection's fds asynchronously after EOF. */
static int wait_fds_at_most(int want)
{
	int64_t i;
	int n = fe_count_fds(fe_t.be.pid);

	for (i = 0; i < 500 && n > want; i++) {
		usleep(10000);
		n = fe_count_fds(fe_t.be.pid);
	}
	return n;
}

Test(vfsd, handshake_negotiates_what_qemu_needs)
{
	struct fe_dev *d;

	fe_t.dev = d = fe_test_open(NULL);
	cr_assert(fe_dev_features_offered(d) &
		  (1ull << FE_VU_F_PROTOCOL_FEATURES));
	cr_assert(fe_dev_protocol_offered(d) &
		  (1ull << FE_VU_PROTO_REPLY_ACK),
		  "REPLY_ACK not offered");
	cr_assert(fe_dev_protocol_offered(d) & (1ull << FE_VU_PROTO_MQ),
		  "MQ not offered");
	cr_assert_geq(fe_dev_queue_num_offered(d), 2u);
	cr_assert_eq(fe_dev_stop(d), 0);
	cr_assert(fe_backend_alive(&fe_t.be));
	fe_test_end();
}

Test(vfsd, lifecycle)
{
	fe_t.dev = fe_test_open_init(NULL);
	fe_scenario_lifecycle(fe_t.dev, fe_t.be.shared);
	fe_test_end();
}

Test(vfsd, lifecycle_kernel_like_chains)
{
	struct fe_opts o = { .mem_regions = 2, .event_idx = true,
			     .indirect = true, .seg_max = 4096 };

	fe_t.dev = fe_test_open_init(&o);
	fe_scenario_lifecycle(fe_t.dev, fe_t.be.shared);
	fe_test_end();
}

Test(vfsd, lifecycle_without_reply_ack)
{
	struct fe_opts o = { .no_reply_ack = true };

	fe_t.dev = fe_test_open_init(&o);
	fe_scenario_lifecycle(fe_t.dev, fe_t.be.shared);
	fe_test_end();
}

Test(vfsd, depth_32)
{
	fe_t.dev = fe_test_open_init(NULL);
	fe_scenario_depth(fe_t.dev, fe_t.be.shared, 32);
	fe_test_end();
}

Test(vfsd, depth_32_event_idx_busy_poll)
{
	struct fe_opts o = { .event_idx = true, .busy_poll = true };

	fe_t.dev = fe_test_open_init(&o);
	fe_scenario_depth(fe_t.dev, fe_t.be.shared, 32);
	fe_test_end();
}

Test(vfsd, depth_32_indirect_two_regions)
{
	struct fe_opts o = { .mem_regions = 2, .indirect = true };

	fe_t.dev = fe_test_open_init(&o);
	fe_scenario_depth(fe_t.dev, fe_t.be.shared, 32);
	fe_test_end();
}

/*
 * Writes in flight together land, whether a batch holds only WRITEs (the
 * daemon does small buffered ones on its worker) or WRITEs mixed with
 * GETATTRs (they go through its io_uring): every reply says 4096 bytes and
 * the host file holds each request's own data at its own offset.
 */
static void submit_batch(struct fe_dev *d, struct fe_req **reqs, unsigned int n)
{
	unsigned int q = fe_dev_num_queues(d) - 1, got = 0;

	for (unsigned int i = 0; i < n; i++)
		cr_assert_eq(fe_submit(d, q, reqs[i]), 0);
	cr_assert_eq(fe_kick(d, q), 0);
	while (got < n) {
		struct fe_req *done = NULL;
		struct fe_reply rep;

		cr_assert_eq(fe_reap(d, q, &done, fe_dev_timeout(d)), 1,
			     "reap %u of %u", got, n);
		cr_assert_eq(fe_req_reply(done, &rep), 0);
		cr_assert_eq(rep.error, 0, "request %u: %d", got, rep.error);
		if ((uintptr_t)done->opaque) {  /* a WRITE */
			struct fuse_write_out wo;

			cr_assert_eq(rep.len, sizeof(wo));
			memcpy(&wo, done->out + sizeof(struct fuse_out_header),
			       sizeof(wo));
			cr_assert_eq(wo.size, 4096);
		}
		got++;
	}
}

Test(vfsd, depth_32_writes_land_alone_and_mixed_with_metadata)
{
	const size_t chunk = 4096;
	const unsigned int n = 32;
	struct fe_req *reqs[32];
	struct fuse_entry_out e;
	struct fuse_open_out fo;
	static uint8_t want[2 * 32 * 4096], got[sizeof(want)];
	char path[512];
	size_t mark;
	int fd;

	fe_t.dev = fe_test_open_init(NULL);
	mark = fe_mem_mark(fe_t.dev);
	touch("wdepth", "");
	fe_fill_pattern(want, sizeof(want), 11);
	cr_assert_eq(fe_lookup(fe_t.dev, FUSE_ROOT_ID, "wdepth", &e), 0);
	cr_assert_eq(fe_open(fe_t.dev, e.nodeid, O_RDWR, &fo), 0);
	for (unsigned int batch = 0; batch < 2; batch++) {
		for (unsigned int i = 0; i < n; i++) {
			/* Batch 1: every other request a GETATTR. */
			bool write = batch == 0 || i % 2 == 0;
			/* Reverse order: replies matched by content. */
			unsigned int k = batch * n + (n - 1 - i);
			struct fuse_write_in wi = { .fh = fo.fh,
						    .offset = k * chunk,
						    .size = chunk };
			struct fuse_getattr_in gi = { 0 };

			reqs[i] = fe_req_new(fe_t.dev, 128, 128,
					     write ? chunk : 0);
			cr_assert_not_null(reqs[i], "guest memory full");
			reqs[i]->opaque = (void *)(uintptr_t)write;
			if (write) {
				memcpy(reqs[i]->data, want + k * chunk, chunk);
				cr_assert_eq(fe_req_prepare(fe_t.dev, reqs[i],
							    FUSE_WRITE, e.nodeid,
							    &wi, sizeof(wi)), 0);
			} else {
				cr_assert_eq(fe_req_prepare(fe_t.dev, reqs[i],
							    FUSE_GETATTR, e.nodeid,
							    &gi, sizeof(gi)), 0);
			}
		}
		submit_batch(fe_t.dev, reqs, n);
		for (unsigned int i = 0; i < n; i++)
			fe_req_free(reqs[i]);
	}
	cr_assert_eq(fe_release(fe_t.dev, e.nodeid, fo.fh, O_RDWR), 0);
	fe_forget(fe_t.dev, e.nodeid, 1);

	fe_path(path, sizeof(path), fe_t.be.shared, "wdepth");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, got, sizeof(got), 0), (ssize_t)sizeof(got));
	close(fd);
	for (unsigned int k = 0; k < 2 * n; k++) {
		/* The GETATTR slots of batch 1 were never written: zeros. */
		bool written = k < n || (2 * n - 1 - k) % 2 == 0;

		if (written)
			cr_assert(!memcmp(got + k * chunk, want + k * chunk, chunk),
				  "chunk %u differs", k);
		else
			for (size_t b = 0; b < chunk; b++)
				cr_assert_eq(got[k * chunk + b], 0,
					     "hole %u byte %zu", k, b);
	}
	fe_mem_release(fe_t.dev, mark);
	fe_test_end();
}

Test(vfsd, forget_on_hiprio)
{
	fe_t.dev = fe_test_open_init(NULL);
	fe_scenario_forget(fe_t.dev, fe_t.be.shared);
	fe_test_end();
}

/* vfsd --request-queues=2: hiprio + two request queues. */
static void setup_mq(void)
{
	static const char *const extra[] = { "--request-queues=2", NULL };

	fe_test_start(FE_BACKEND_VFSD, extra);
}

TestSuite(vfsd_mq, .init = setup_mq, .fini = fe_test_fini, .timeout = 60);

Test(vfsd_mq, every_request_queue_serves)
{
	struct fe_opts o = { .num_queues = 3 };
	struct fuse_attr_out ao;
	struct fe_dev *d;
	unsigned int q;

	fe_t.dev = d = fe_test_open(&o);
	cr_assert_eq(fe_dev_queue_num_offered(d), 3u);
	cr_assert_eq(fe_fuse_init(d, 0, FE_INIT_FLAGS_DEFAULT, NULL), 0);
	for (q = 1; q < 3; q++) {
		fe_fuse_set_queue(d, q);
		cr_assert_eq(fe_getattr(d, FUSE_ROOT_ID, &ao), 0,
			     "GETATTR on queue %u", q);
	}
	fe_fuse_set_queue(d, 1);
	fe_scenario_depth(d, fe_t.be.shared, 32);   /* on the last queue */
	fe_scenario_lifecycle(d, fe_t.be.shared);   /* on queue 1 */
	fe_test_end();
}

Test(vfsd, stop_returns_the_ring_positions)
{
	struct fe_dev *d;
	uint16_t req_idx, hip_idx;

	fe_t.dev = d = fe_test_open_init(NULL);
	fe_scenario_forget(d, fe_t.be.shared);
	fe_scenario_depth(d, fe_t.be.shared, 32);
	req_idx = fe_vq_avail(fe_dev_vq(d, 1))->idx;
	hip_idx = fe_vq_avail(fe_dev_vq(d, 0))->idx;
	cr_assert_gt(hip_idx, 0);
	/* GET_VRING_BASE answers the next avail index the back-end would
	 * have read: everything we published was consumed. */
	cr_assert_eq(fe_dev_stop(d), 0);
	cr_assert_eq(fe_vq_base(fe_dev_vq(d, 1)), req_idx);
	cr_assert_eq(fe_vq_base(fe_dev_vq(d, 0)), hip_idx);
	fe_test_end();
}

Test(vfsd, second_init_on_the_same_rings)
{
	struct fuse_entry_out e;
	struct fuse_init_out io;
	struct fe_dev *d;

	fe_t.dev = d = fe_test_open_init(NULL);
	touch("before", "1");
	cr_assert_eq(fe_lookup(d, FUSE_ROOT_ID, "before", &e), 0);
	cr_assert_eq(fe_fuse_init(d, 0, FE_INIT_FLAGS_DEFAULT, &io), 0,
		     "second FUSE_INIT rejected");
	cr_assert_eq(io.major, FUSE_KERNEL_VERSION);
	cr_assert_eq(fe_lookup(d, FUSE_ROOT_ID, "before", &e), 0);
	cr_assert_eq(e.attr.size, 1u);
	fe_test_end();
}

Test(vfsd, guest_reboot_restarts_rings_and_inits_again)
{
	struct fuse_entry_out e;
	struct fe_dev *d;
	int r;

	fe_t.dev = d = fe_test_open_init(NULL);
	touch("persist", "abc");
	cr_assert_eq(fe_lookup(d, FUSE_ROOT_ID, "persist", &e), 0);
	r = fe_dev_restart(d);
	cr_assert_eq(r, 0, "ring restart: %s", strerror(-r));
	/* Before INIT a fresh guest can do nothing else; then all works. */
	cr_assert_eq(fe_fuse_init(d, 0, FE_INIT_FLAGS_DEFAULT, NULL), 0);
	cr_assert_eq(fe_lookup(d, FUSE_ROOT_ID, "persist", &e), 0);
	cr_assert_eq(e.attr.size, 3u);
	fe_scenario_depth(d, fe_t.be.shared, 32);
	fe_test_end();
}

Test(vfsd, init_with_older_minor)
{
	struct fuse_init_out io;
	struct fe_dev *d;

	fe_t.dev = d = fe_test_open(NULL);
	cr_assert_eq(fe_fuse_init(d, 31, FUSE_ASYNC_READ | FUSE_BIG_WRITES,
				  &io), 0);
	cr_assert_eq(io.major, FUSE_KERNEL_VERSION);
	cr_assert_leq(io.minor, FUSE_KERNEL_MINOR_VERSION);
	fe_scenario_forget(d, fe_t.be.shared);
	fe_test_end();
}

Test(vfsd, reconnect_after_clean_close)
{
	struct fuse_entry_out e;
	struct fuse_entry_out fe;
	struct fuse_open_out fo;
	struct fe_dev *d;

	fe_t.dev = d = fe_test_open_init(NULL);
	cr_assert_eq(fe_create(d, FUSE_ROOT_ID, "kept", S_IFREG | 0644,
			       O_RDWR, &fe, &fo), 0);
	cr_assert_eq(fe_write(d, fe.nodeid, fo.fh, 0, "data", 4), 4);
	/* Close with the file still open: the daemon must drop it. */
	fe_dev_close(d);
	fe_t.dev = NULL;
	cr_assert(fe_backend_alive(&fe_t.be), "vfsd exited on disconnect");

	fe_t.dev = d = fe_test_open_init(NULL);
	cr_assert_eq(fe_lookup(d, FUSE_ROOT_ID, "kept", &e), 0);
	cr_assert_eq(e.attr.size, 4u);
	fe_scenario_lifecycle(d, fe_t.be.shared);
	fe_test_end();
}

Test(vfsd, reconnect_after_abrupt_disconnect_with_requests_in_flight)
{
	struct fuse_entry_out e;
	struct fe_dev *d;
	struct fe_req *r[16];
	unsigned int i;

	fe_t.dev = d = fe_test_open_init(NULL);
	touch("busy", "0123456789");
	cr_assert_eq(fe_lookup(d, FUSE_ROOT_ID, "busy", &e), 0);
	for (i = 0; i < 16; i++) {
		struct fuse_getattr_in gi = {0};

		r[i] = fe_req_new(d, 128, 256, 0);
		cr_assert_not_null(r[i]);
		cr_assert_eq(fe_req_prepare(d, r[i], FUSE_GETATTR, e.nodeid,
					    &gi, sizeof(gi)), 0);
		cr_assert_eq(fe_submit(d, 1, r[i]), 0);
	}
	cr_assert_eq(fe_kick(d, 1), 0);
	fe_dev_abort(d);        /* no GET_VRING_BASE, memory unmapped */
	fe_t.dev = NULL;
	for (i = 0; i < 16; i++)
		fe_req_free(r[i]);

	fe_t.dev = d = fe_test_open(NULL);
	fe_scenario_smoke(d, fe_t.be.shared);
	cr_assert(fe_backend_alive(&fe_t.be));
	fe_test_end();
}

Test(vfsd, connections_do_not_leak_fds)
{
	struct fe_dev *d;
	int base, n, i;

	/* Count in one well-defined state: a connection that has done INIT,
	 * LOOKUP, GETATTR and a FORGET on hiprio (every queue worker up). */
	d = fe_test_open(NULL);
	fe_scenario_smoke(d, fe_t.be.shared);
	base = fe_count_fds(fe_t.be.pid);
	cr_assert_gt(base, 0);
	fe_dev_close(d);
	for (i = 0; i < 10; i++) {
		struct fuse_entry_out fe;
		struct fuse_open_out fo;
		char name[32];

		d = fe_test_open_init(NULL);
		snprintf(name, sizeof(name), "f%d", i);
		/* Leave a file open, and an abrupt close every other time. */
		cr_assert_eq(fe_create(d, FUSE_ROOT_ID, name, S_IFREG | 0644,
				       O_RDWR, &fe, &fo), 0);
		if (i % 2)
			fe_dev_abort(d);
		else
			fe_dev_close(d);
	}
	/* Same state again; earlier connections may still be closing. */
	fe_t.dev = d = fe_test_open(NULL);
	fe_scenario_smoke(d, fe_t.be.shared);
	n = wait_fds_at_most(base);
	cr_assert_leq(n, base, "vfsd holds %d fds after 10 connections, %d "
		      "before", n, base);
	cr_assert(fe_backend_alive(&fe_t.be));
	fe_test_end();
}

Test(vfsd, sigterm_exits_cleanly)
{
	int status;

	fe_t.dev = fe_test_open_init(NULL);
	status = fe_backend_stop(&fe_t.be, 5000);
	cr_assert_geq(status, 0, "vfsd did not exit on SIGTERM");
	cr_assert(!fe_backend_crashed(&fe_t.be),
		  "vfsd exit status 0x%x after SIGTERM", status);
	fe_test_end();
}

/*
 * --announce-submounts: a tmpfs mounted inside the share is announced to a
 * guest that agreed to FUSE_SUBMOUNTS (FUSE_ATTR_SUBMOUNT on its LOOKUP),
 * and never without the option.  --sandbox=none: the daemon must see the
 * mount made after it started (the sandbox's mount namespace is private).
 */
static void submount_fini(void)
{
	char path[512];

	if (fe_t.started) {
		fe_path(path, sizeof(path), fe_t.be.shared, "mnt");
		umount2(path, MNT_DETACH);
	}
	fe_test_fini();
}

TestSuite(vfsd_submounts, .fini = submount_fini, .timeout = 60);

/* Start vfsd with extra, mount a tmpfs at mnt; the INIT reply's flags and
 * the attr flags of LOOKUP "mnt" and LOOKUP "plain". */
static void lookup_submount(const char *const *extra, uint32_t *init_flags,
			    uint32_t *mnt_flags, uint32_t *plain_flags)
{
	struct fuse_entry_out eo;
	struct fuse_init_out io;
	char mnt[512], plain[512];

	fe_test_start(FE_BACKEND_VFSD, extra);
	fe_path(mnt, sizeof(mnt), fe_t.be.shared, "mnt");
	fe_path(plain, sizeof(plain), fe_t.be.shared, "plain");
	cr_assert_eq(mkdir(mnt, 0755), 0);
	cr_assert_eq(mkdir(plain, 0755), 0);
	if (mount("vfsd-test", mnt, "tmpfs", 0, "size=64k") < 0) {
		int e = errno;

		/* criterion skips .fini after a skip: clean up first. */
		fe_test_fini();
		cr_skip_test("cannot mount a tmpfs (not root?): %s",
			     strerror(e));
	}
	fe_t.dev = fe_test_open(NULL);
	cr_assert_eq(fe_fuse_init(fe_t.dev, 0,
				  FE_INIT_FLAGS_DEFAULT | FUSE_SUBMOUNTS, &io),
		     0);
	*init_flags = io.flags;
	cr_assert_eq(fe_lookup(fe_t.dev, FUSE_ROOT_ID, "mnt", &eo), 0);
	cr_assert(S_ISDIR(eo.attr.mode));
	*mnt_flags = eo.attr.flags;
	cr_assert_eq(fe_lookup(fe_t.dev, FUSE_ROOT_ID, "plain", &eo), 0);
	*plain_flags = eo.attr.flags;
}

Test(vfsd_submounts, announced_with_the_option)
{
	static const char *const extra[] = {
		"--sandbox=none", "--announce-submounts", NULL,
	};
	uint32_t init, mnt, plain;

	lookup_submount(extra, &init, &mnt, &plain);
	cr_expect(init & FUSE_SUBMOUNTS, "FUSE_SUBMOUNTS not agreed");
	cr_expect_eq(mnt, FUSE_ATTR_SUBMOUNT);
	cr_expect_eq(plain, 0);
	fe_test_end();
}

Test(vfsd_submounts, not_announced_without_it)
{
	static const char *const extra[] = { "--sandbox=none", NULL };
	uint32_t init, mnt, plain;

	lookup_submount(extra, &init, &mnt, &plain);
	cr_expect_eq(init & FUSE_SUBMOUNTS, 0);
	cr_expect_eq(mnt, 0);
	cr_expect_eq(plain, 0);
	fe_test_end();
}
