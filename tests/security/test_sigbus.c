// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A hostile front-end shrinks its guest memory file (ftruncate of the memfd)
 * after SET_MEM_TABLE.  Any access of the daemon to the pages past the new
 * end raises SIGBUS; without the guard (vhost-user/guard.h) that kills the
 * daemon.  It must instead survive, stop that device (close the
 * connection, one log line) and serve the next front-end.  Real daemon,
 * sandboxed and under seccomp as by default, over its real socket.
 *
 * Layout of the 64 MiB guest memory: rings and the harmless requests in the
 * first pages, a filler, then the "doomed" buffers past 40 MiB; the file is
 * cut to 32 MiB.  The test itself must never touch a doomed buffer after the
 * cut (it would get the SIGBUS): requests living there are prepared before.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fe_test.h"

#define MEM_SIZE (64u << 20)
#define CUT_SIZE (32u << 20)
#define FILLER (40u << 20)
#define LOG_LINE "front-end truncated guest memory"

static void setup(void)
{
	/* The SIGBUS test below ends the daemon by a signal: no core file. */
	struct rlimit no_core = { 0, 0 };

	setrlimit(RLIMIT_CORE, &no_core);
	fe_test_start(FE_BACKEND_VFSD, NULL);
}

TestSuite(sigbus, .init = setup, .fini = fe_test_fini, .timeout = 60);

static const struct fe_opts opts = { .mem_size = MEM_SIZE };

/* A file on the host for READ. */
static void host_file(const char *name, size_t len)
{
	char path[512];
	char *buf = malloc(len);
	int fd;

	cr_assert_not_null(buf);
	fe_fill_pattern(buf, len, 7);
	snprintf(path, sizeof(path), "%s/%s", fe_t.be.shared, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
	free(buf);
}

/* Push the allocator past the cut: what is allocated next is doomed. */
static void skip_to_doomed(struct fe_dev *d)
{
	uint8_t *filler = fe_mem_alloc(d, FILLER, 4096);

	cr_assert_not_null(filler, "guest memory too small for the layout");
	cr_assert_geq(fe_mem_gpa(d, filler) + FILLER,
		      fe_mem_region(d, 0)->gpa + CUT_SIZE);
}

static void cut_memory(struct fe_dev *d)
{
	cr_assert_eq(ftruncate(fe_mem_fd(d), CUT_SIZE), 0, "ftruncate: %s",
		     strerror(errno));
}

static void submit(struct fe_dev *d, struct fe_req *r)
{
	cr_assert_eq(fe_submit(d, 1, r), 0);
	cr_assert_eq(fe_kick(d, 1), 0);
}

/* req's data lies in truncated pages, which the kernel touches for the
 * daemon: the request is answered with an error and the device serves on. */
static void expect_efault_answered(struct fe_req *req, uint32_t opcode,
				   uint64_t nodeid, const void *in,
				   size_t inlen, const char *what)
{
	struct fe_req *done = NULL;
	struct fuse_attr_out ao;
	struct fe_reply rep;

	cr_assert_eq(fe_req_prepare(fe_t.dev, req, opcode, nodeid, in, inlen),
		     0);
	submit(fe_t.dev, req);
	cr_assert_eq(fe_reap(fe_t.dev, 1, &done, -1), 1, "no reply to a %s",
		     what);
	cr_assert_eq(done, req);
	cr_assert_eq(fe_req_reply(req, &rep), 0, "malformed reply");
	cr_assert_lt(rep.error, 0, "%s succeeded (%u bytes)", what, rep.len);
	cr_assert_eq(fe_getattr(fe_t.dev, FUSE_ROOT_ID, &ao), 0,
		     "the device stopped after a kernel-side EFAULT");
}

/* The daemon closes the connection: bounded wait (the timeout only decides
 * how long a broken daemon gets, not the result). */
static void assert_disconnected(struct fe_dev *d)
{
	int64_t end = fe_now_ms() + fe_dev_timeout(d);

	while (fe_dev_connected(d)) {
		struct pollfd p = { .fd = fe_dev_sock(d), .events = POLLIN };

		cr_assert_lt(fe_now_ms(), end,
			     "the device of a front-end that truncated its memory was not stopped");
		poll(&p, 1, 100);
	}
}

static bool log_has(const char *needle)
{
	char line[1024];
	bool found = false;
	FILE *f = fopen(fe_t.be.log, "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

/* The daemon survived, serves a new front-end, and said why it dropped the
 * old one (the line is written before the old connection is let go, hence
 * before the new one is accepted). */
static void assert_survived(void)
{
	struct fe_dev *d;

	cr_assert(fe_backend_alive(&fe_t.be), "vfsd died (wait status 0x%x)",
		  fe_t.be.status);
	d = fe_test_open(NULL);
	fe_scenario_smoke(d, fe_t.be.shared);
	fe_dev_close(d);
	cr_assert(log_has(LOG_LINE), "no '%s' line in the log", LOG_LINE);
	cr_assert(fe_backend_alive(&fe_t.be));
	fe_test_end();
}

/*
 * READ into and WRITE from a truncated page are the kernel's accesses
 * (preadv/pwritev or io_uring): they fail with EFAULT, a clean error reply,
 * and the device goes on.  Then
 * a reply the daemon writes into a truncated page (its own access): SIGBUS,
 * survived, the device is stopped.
 */
Test(sigbus, reply_into_truncated_memory)
{
	struct fe_req *read_req, *write_req, *getattr_req;
	struct fuse_entry_out e;
	struct fuse_open_out o;
	struct fuse_read_in ri = { .size = 65536 };
	struct fuse_write_in wi = { .size = 65536 };
	struct fuse_open_out wo;
	uint8_t *doomed_data, *doomed_out;
	size_t mark;

	host_file("data", 65536);
	fe_t.dev = fe_test_open(&opts);
	cr_assert_eq(fe_fuse_init(fe_t.dev, 0, FE_INIT_FLAGS_DEFAULT, NULL), 0);
	cr_assert_eq(fe_lookup(fe_t.dev, FUSE_ROOT_ID, "data", &e), 0);
	cr_assert_eq(fe_open(fe_t.dev, e.nodeid, O_RDONLY, &o), 0);
	cr_assert_eq(fe_open(fe_t.dev, e.nodeid, O_RDWR, &wo), 0);
	read_req = fe_req_new(fe_t.dev, 256, 256, 0);
	write_req = fe_req_new(fe_t.dev, 256, 256, 0);
	getattr_req = fe_req_new(fe_t.dev, 256, 0, 0);
	cr_assert(read_req && write_req && getattr_req);
	/* Given back at once: the synchronous calls below allocate their
	 * buffers from here, below the cut. */
	mark = fe_mem_mark(fe_t.dev);
	skip_to_doomed(fe_t.dev);
	doomed_data = fe_mem_alloc(fe_t.dev, 65536, 4096);
	doomed_out = fe_mem_alloc(fe_t.dev, 4096, 4096);
	cr_assert(doomed_data && doomed_out);
	fe_mem_release(fe_t.dev, mark);

	cut_memory(fe_t.dev);

	/* Kernel side: EFAULT, answered.  The out buffer holds just the
	 * header, so that all the data goes into the truncated pages. */
	read_req->out_len = sizeof(struct fuse_out_header);
	read_req->data = doomed_data;
	read_req->data_len = 65536;
	read_req->data_out = true;
	ri.fh = o.fh;
	expect_efault_answered(read_req, FUSE_READ, e.nodeid, &ri, sizeof(ri),
			       "READ into truncated memory");

	/* WRITE from truncated pages: the kernel reads them, EFAULT too. */
	write_req->data = doomed_data;
	write_req->data_len = 65536;
	wi.fh = wo.fh;
	expect_efault_answered(write_req, FUSE_WRITE, e.nodeid, &wi, sizeof(wi),
			       "WRITE from truncated memory");

	/* Daemon side: the reply header goes into a truncated page. */
	getattr_req->out = doomed_out;
	getattr_req->out_cap = 4096;
	cr_assert_eq(fe_req_prepare(fe_t.dev, getattr_req, FUSE_GETATTR,
				    FUSE_ROOT_ID, &(struct fuse_getattr_in){ 0 },
				    sizeof(struct fuse_getattr_in)), 0);
	submit(fe_t.dev, getattr_req);
	assert_disconnected(fe_t.dev);
	assert_survived();
	fe_req_free(read_req);
	fe_req_free(write_req);
	fe_req_free(getattr_req);
}

/* A request the daemon reads (header and name of a LOOKUP) from truncated
 * pages, on a queue that was already busy. */
Test(sigbus, request_from_truncated_memory)
{
	struct fe_req *lookup_req;
	struct fuse_attr_out ao;
	const char name[] = "data";

	host_file("data", 4096);
	fe_t.dev = fe_test_open(&opts);
	cr_assert_eq(fe_fuse_init(fe_t.dev, 0, FE_INIT_FLAGS_DEFAULT, NULL), 0);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(fe_getattr(fe_t.dev, FUSE_ROOT_ID, &ao), 0);
	skip_to_doomed(fe_t.dev);
	lookup_req = fe_req_new(fe_t.dev, 256, 256, 0);
	cr_assert_not_null(lookup_req);
	cr_assert_eq(fe_req_prepare(fe_t.dev, lookup_req, FUSE_LOOKUP,
				    FUSE_ROOT_ID, name, sizeof(name)), 0);

	cut_memory(fe_t.dev);
	submit(fe_t.dev, lookup_req);
	assert_disconnected(fe_t.dev);
	assert_survived();
	fe_req_free(lookup_req);
}

/* The guard handles faults in guest memory only: a SIGBUS from anywhere
 * else (here: sent by somebody) still ends the daemon by that signal. */
Test(sigbus, other_sigbus_keeps_the_default)
{
	fe_t.dev = fe_test_open_init(NULL);
	cr_assert_eq(kill(fe_t.be.pid, SIGBUS), 0);
	cr_assert_eq(fe_backend_wait(&fe_t.be, 5000), 0, "vfsd ignored a SIGBUS sent to it");
	cr_assert(WIFSIGNALED(fe_t.be.status) && WTERMSIG(fe_t.be.status) == SIGBUS,
		  "vfsd ended with wait status 0x%x, not by SIGBUS", fe_t.be.status);
}
