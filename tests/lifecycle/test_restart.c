/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What VMs do to a long-running vfsd, played by the test front-end against
 * the real daemon over its real socket, with a NOTIFY_SOCKET listener in
 * place of systemd:
 *   - a guest reboot inside one hypervisor connection (rings stopped, reset,
 *     a new FUSE_INIT): the old session's state is released (fd count back
 *     to the post-INIT level), STATUS says "guest reset";
 *   - the hypervisor killed with WRITEs in flight, many times over: vfsd
 *     keeps serving and its fd count returns to the idle baseline;
 *   - SIGTERM while the queue is kept full: STOPPING=1, exit 0 within the
 *     shutdown bound.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "../frontend/fe_test.h"

#define LOOPS 20
#define IO_SIZE (128u * 1024)
#define IO_DEPTH 32

static int notify_fd = -1;
static char notify_dir[64];
static char notify_path[96];	/* fits sun_path */

/* systemd's side of sd_notify: a datagram socket named by NOTIFY_SOCKET. */
static void setup(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(notify_dir, sizeof(notify_dir), "/tmp/vfsd-notify.XXXXXX");
	cr_assert_not_null(mkdtemp(notify_dir));
	snprintf(notify_path, sizeof(notify_path), "%s/notify", notify_dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", notify_path);
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(notify_fd, 0);
	cr_assert_eq(bind(notify_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setenv("NOTIFY_SOCKET", notify_path, 1);
	fe_test_start(FE_BACKEND_VFSD, NULL);
}

static void teardown(void)
{
	fe_test_fini();
	if (notify_fd >= 0)
		close(notify_fd);
	unlink(notify_path);
	rmdir(notify_dir);
}

TestSuite(lifecycle, .init = setup, .fini = teardown, .timeout = 120);

/* Wait (bounded) for a notification containing `what`; 0 or -ETIMEDOUT. */
static int wait_notify(const char *what, int timeout_ms)
{
	int64_t end = fe_now_ms() + timeout_ms;
	char buf[1024];
	ssize_t n;

	for (;;) {
		struct pollfd p = { .fd = notify_fd, .events = POLLIN };
		int64_t left = end - fe_now_ms();

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -ETIMEDOUT;
		n = recv(notify_fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if (strstr(buf, what))
			return 0;
	}
}

/* Poll (bounded) until the daemon holds exactly `want` fds. */
static int wait_fds(int want)
{
	int n = fe_count_fds(fe_t.be.pid);

	for (int i = 0; i < 500 && n != want; i++) {
		usleep(10000);
		n = fe_count_fds(fe_t.be.pid);
	}
	return n;
}

/* Create `count` files and leave them open (the guest holds them). */
static void hold_files(struct fe_dev *d, const char *prefix, int count)
{
	for (int i = 0; i < count; i++) {
		struct fuse_entry_out e;
		struct fuse_open_out o;
		char name[64];

		snprintf(name, sizeof(name), "%s-%d", prefix, i);
		cr_assert_eq(fe_create(d, FUSE_ROOT_ID, name, S_IFREG | 0644,
				       O_RDWR, &e, &o), 0, "create %s", name);
	}
}

/* Queue `depth` WRITEs of IO_SIZE to an open file and kick; no reaping. */
static void submit_writes(struct fe_dev *d, uint64_t nodeid, uint64_t fh,
			  struct fe_req **reqs, unsigned int depth)
{
	for (unsigned int i = 0; i < depth; i++) {
		struct fuse_write_in wi = { .fh = fh, .offset = (uint64_t)i * IO_SIZE,
					    .size = IO_SIZE };

		if (!reqs[i]) {
			reqs[i] = fe_req_new(d, 128, 128, IO_SIZE);
			cr_assert_not_null(reqs[i], "guest memory full");
		}
		reqs[i]->data_len = IO_SIZE;
		memset(reqs[i]->data, 'a' + (int)(i % 26), IO_SIZE);
		cr_assert_eq(fe_req_prepare(d, reqs[i], FUSE_WRITE, nodeid,
					    &wi, sizeof(wi)), 0);
		cr_assert_eq(fe_submit(d, 1, reqs[i]), 0);
	}
	cr_assert_eq(fe_kick(d, 1), 0);
}

Test(lifecycle, ready_then_status_through_reboot_and_disconnect)
{
	struct fuse_entry_out e;
	struct fe_dev *d;
	int after_init, n;

	cr_assert_eq(wait_notify("READY=1", 10000), 0, "no READY=1");
	fe_t.dev = d = fe_test_open_init(NULL);
	cr_assert_eq(wait_notify("STATUS=Serving the guest", 10000), 0);
	after_init = fe_count_fds(fe_t.be.pid);

	/* The guest opens files, then reboots without closing them. */
	hold_files(d, "held", 16);
	cr_assert_geq(fe_count_fds(fe_t.be.pid), after_init + 16);
	cr_assert_eq(fe_dev_restart(d), 0);
	cr_assert_eq(wait_notify("Guest stopped or resetting", 10000), 0);
	cr_assert_eq(fe_fuse_init(d, 0, FE_INIT_FLAGS_DEFAULT, NULL), 0);
	cr_assert_eq(wait_notify("guest reset", 10000), 0,
		     "no STATUS for the guest reset");
	/* The old session's 16 open files are gone, the files are not. */
	n = wait_fds(after_init);
	cr_assert_eq(n, after_init, "%d fds after the reboot, %d before the "
		     "guest opened files", n, after_init);
	cr_assert_eq(fe_lookup(d, FUSE_ROOT_ID, "held-15", &e), 0);

	fe_dev_close(d);
	fe_t.dev = NULL;
	cr_assert_eq(wait_notify("Hypervisor disconnected", 10000), 0);
	cr_assert_eq(wait_notify("Waiting for the hypervisor", 10000), 0);
	fe_test_end();
}

Test(lifecycle, hypervisor_killed_mid_io_many_times_fds_back_to_baseline)
{
	struct fe_req *reqs[IO_DEPTH];
	int64_t t0;
	int base, n;

	cr_assert_eq(wait_notify("READY=1", 10000), 0);
	base = fe_count_fds(fe_t.be.pid);
	cr_assert_gt(base, 0);
	t0 = fe_now_ms();
	for (int i = 0; i < LOOPS; i++) {
		struct fuse_entry_out e;
		struct fuse_open_out o;
		struct fe_dev *d;
		char name[32];

		fe_t.dev = d = fe_test_open_init(NULL);
		snprintf(name, sizeof(name), "io-%d", i);
		cr_assert_eq(fe_create(d, FUSE_ROOT_ID, name, S_IFREG | 0644,
				       O_RDWR, &e, &o), 0);
		hold_files(d, name, 4);
		memset(reqs, 0, sizeof(reqs));
		submit_writes(d, e.nodeid, o.fh, reqs, IO_DEPTH);
		/* Every other time a guest reboot first, with I/O in flight. */
		if (i % 2) {
			cr_assert_eq(fe_dev_restart(d), 0);
			cr_assert_eq(fe_fuse_init(d, 0, FE_INIT_FLAGS_DEFAULT,
						  NULL), 0);
			submit_writes(d, e.nodeid, o.fh, reqs, IO_DEPTH);
		}
		/* QEMU killed: no GET_VRING_BASE, its memory goes away. */
		fe_dev_abort(d);
		fe_t.dev = NULL;
		for (int j = 0; j < IO_DEPTH; j++)
			fe_req_free(reqs[j]);
		cr_assert(fe_backend_alive(&fe_t.be), "vfsd died in loop %d", i);
	}
	n = wait_fds(base);
	cr_assert_eq(n, base, "vfsd holds %d fds after %d killed hypervisors, "
		     "%d before", n, LOOPS, base);
	cr_log_info("fd count: %d before, %d after %d hypervisor kills (%.1f s)",
		    base, n, LOOPS, (double)(fe_now_ms() - t0) / 1000);
	/* And the share still works. */
	fe_t.dev = fe_test_open(NULL);
	fe_scenario_smoke(fe_t.dev, fe_t.be.shared);
	fe_test_end();
}

Test(lifecycle, sigterm_under_load_exits_within_bound)
{
	struct fe_req *reqs[IO_DEPTH] = { 0 };
	struct fuse_entry_out e;
	struct fuse_open_out o;
	struct fe_dev *d;
	int64_t t0, took;
	int status;

	fe_t.dev = d = fe_test_open_init(NULL);
	cr_assert_eq(fe_create(d, FUSE_ROOT_ID, "load", S_IFREG | 0644,
			       O_RDWR, &e, &o), 0);
	submit_writes(d, e.nodeid, o.fh, reqs, IO_DEPTH);
	/* Keep the queue full for a while, then SIGTERM with it full. */
	for (int round = 0; round < 8; round++) {
		for (int i = 0; i < IO_DEPTH; i++) {
			struct fe_req *done;

			cr_assert_eq(fe_reap(d, 1, &done, 10000), 1);
			cr_assert_eq(fe_submit(d, 1, done), 0);
		}
		cr_assert_eq(fe_kick(d, 1), 0);
	}
	t0 = fe_now_ms();
	kill(fe_t.be.pid, SIGTERM);
	cr_assert_eq(wait_notify("STOPPING=1", 10000), 0, "no STOPPING=1");
	/* The default bound is 5 s; allow scheduling slack on top. */
	cr_assert_eq(fe_backend_wait(&fe_t.be, 8000), 0,
		     "vfsd still running 8 s after SIGTERM under load");
	took = fe_now_ms() - t0;
	status = fe_t.be.status;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "exit status 0x%x", status);
	cr_log_info("SIGTERM with %d x %u KiB WRITEs in flight: exited in %lld ms",
		    IO_DEPTH, IO_SIZE / 1024, (long long)took);
	fprintf(stderr, "lifecycle: shutdown under load took %lld ms\n",
		(long long)took);
	fe_dev_abort(d);
	fe_t.dev = NULL;
	for (int i = 0; i < IO_DEPTH; i++)
		fe_req_free(reqs[i]);
	fe_test_end();
}
