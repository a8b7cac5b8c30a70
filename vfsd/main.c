// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfsd: serve a host directory to a virtual machine over virtio-fs.
 *
 * Start-up order matters for honest readiness: options, shared directory,
 * listening socket, signals, (sandbox) — and only then READY=1.  Every failure before
 * that prints one line and exits with a documented code (config.h), and
 * nothing is left behind.  This is the only file that calls exit.
 */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/eventfd.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <poll.h>
#include <unistd.h>

#include "vfsd/activation.h"
#include "vfsd/config.h"
#include "vfsd/fusedev.h"
#include "vfsd/log.h"
#include "vfsd/passthrough.h"
#include "vfsd/sandbox.h"
#include "vfsd/supervisor.h"
#include "vfsd/server.h"
#include "vfsd/uring.h"
#include "vfsd/idmap.h"
#include "vfsd/xattrmap.h"
#include "vfsd/vq_transport.h"
#include "vhost-user/guard.h"
#include "vhost-user/vu.h"

#define MAX_WRITE (1u << 20)
/* --xattrmap, parsed once; global so that it stays reachable until exit. */
static struct xattrmap *xmap;
/* --translate-uid/--translate-gid, likewise. */
static struct idmap *uid_map, *gid_map;

/* Checked by config_parse() already: only memory can fail here. */
static int translate_maps_new(const struct config *cfg,
			      struct server_config *sc)
{
	char why[256];
	int r;

	if (cfg->translate_uid.n) {
		r = idmap_new(&uid_map, cfg->translate_uid.map,
			      cfg->translate_uid.n, why, sizeof(why));
		if (r < 0)
			return log_error_errno(r, "--translate-uid: %s", why), r;
		sc->uid_map = uid_map;
	}
	if (cfg->translate_gid.n) {
		r = idmap_new(&gid_map, cfg->translate_gid.map,
			      cfg->translate_gid.n, why, sizeof(why));
		if (r < 0)
			return log_error_errno(r, "--translate-gid: %s", why), r;
		sc->gid_map = gid_map;
	}
	return 0;
}
/* Like virtiofsd's default --rlimit-nofile. */
#define FD_LIMIT_WANTED 1048576

static void set_cache_policy(struct server_config *sc, enum cache_mode mode)
{
	switch (mode) {
	case CACHE_NEVER:
		sc->entry_timeout = sc->attr_timeout = 0;
		sc->direct_io = true;
		/* Entries that expire at once are useless: virtiofsd turns
		 * READDIRPLUS off with cache=never too. */
		sc->readdirplus = false;
		break;
	case CACHE_METADATA:
		sc->entry_timeout = sc->attr_timeout = 86400;
		sc->direct_io = true;
		sc->cache_dir = true;
		break;
	case CACHE_AUTO:
		sc->entry_timeout = sc->attr_timeout = 1;
		break;
	case CACHE_ALWAYS:
		sc->entry_timeout = sc->attr_timeout = 86400;
		sc->keep_cache = true;
		sc->cache_dir = true;
		break;
	}
}

/*
 * Creating requests run with the guest caller's uid and gid, but the
 * thread keeps its supplementary groups: those of whoever started us (root
 * under sudo has group 0).  A guest user must not get their access
 * (CVE-2022-0358 in QEMU's virtiofsd): drop them all, once, before any
 * thread.  Not root: we switch no credentials, and could not drop them.
 */
static int drop_supplementary_groups(void)
{
	if (geteuid() != 0)
		return 0;
	/* EPERM: root of a user namespace where setgroups is denied; the
	 * groups cannot be changed there, by us or anyone. */
	if (setgroups(0, NULL) < 0 && errno != EPERM)
		return log_error_errno(-errno, "cannot drop the supplementary groups");
	return 0;
}

/* The guest may hold many files open: use all the fds we are allowed (the
 * passthrough layer sizes its tables from this limit).  --rlimit-nofile=N
 * sets exactly N (raising the hard limit needs CAP_SYS_RESOURCE). */
static void raise_fd_limit(unsigned long wanted)
{
	struct rlimit rl;

	if (wanted) {
		rl.rlim_cur = rl.rlim_max = wanted;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn_errno(-errno, "--rlimit-nofile=%lu: cannot set the open file limit",
				       wanted);
		return;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < FD_LIMIT_WANTED &&
	    rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max < FD_LIMIT_WANTED ? rl.rlim_max : FD_LIMIT_WANTED;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn_errno(-errno, "cannot raise the open file limit");
	}
}

/*
 * Termination signals.  They are blocked in every thread and taken by one
 * thread of their own (sigwaitinfo), which:
 *   - says STOPPING=1 at once;
 *   - makes stop_fd readable: the accept loop and the vhost-user loop poll
 *     it, stop taking requests and drain the in-flight ones;
 *   - enforces the shutdown bound: if the process is still there after
 *     --shutdown-timeout seconds (a worker stuck in a syscall, a front-end
 *     that does not let go), it exits anyway.  A second signal exits at once.
 * Doing this on its own thread keeps the bound honest even when the control
 * thread itself is the one that is stuck.
 */
struct stopper {
	sigset_t mask;
	int stop_fd;                 /* eventfd, written once */
	unsigned int timeout_s;
	pthread_t thread;
};

static void block_signals(sigset_t *mask)
{
	signal(SIGPIPE, SIG_IGN);
	/* No supervisor yet: SIGTERM, SIGINT and SIGHUP. */
	supervisor_stop_signals(mask);
	/* Before any thread exists, so that every thread inherits it. */
	pthread_sigmask(SIG_BLOCK, mask, NULL);
}

static void *stopper_main(void *arg)
{
	struct stopper *st = arg;
	struct timespec bound = { .tv_sec = st->timeout_s };
	uint64_t one = 1;
	siginfo_t si;
	int sig;

	do
		sig = sigwaitinfo(&st->mask, &si);
	while (sig < 0);
	sig = supervisor_stop_signal_of(&si);
	log_info("received SIG%s: stopping (at most %u s for requests in flight)",
		 sigabbrev_np(sig) ? sigabbrev_np(sig) : "?", st->timeout_s);
	notify_stopping();
	if (write(st->stop_fd, &one, sizeof(one)) != sizeof(one))
		log_error_errno(-errno, "cannot wake the main loop");
	/* EINTR: a sanitizer's exit-time leak check stops the world with
	 * ptrace, which interrupts the wait; it is not the timeout. */
	do
		sig = sigtimedwait(&st->mask, &si, &bound);
	while (sig < 0 && errno == EINTR);
	if (sig > 0)
		log_warn("second signal: exiting now");
	else
		log_warn("shutdown took longer than %u s: exiting anyway",
			 st->timeout_s);
	_exit(EXIT_OK);
	return NULL;
}

static int stopper_start(struct stopper *st, const sigset_t *mask,
			 unsigned int timeout_s)
{
	int r;

	st->mask = *mask;
	st->timeout_s = timeout_s;
	st->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (st->stop_fd < 0)
		return -errno;
	r = -pthread_create(&st->thread, NULL, stopper_main, st);
	if (r < 0) {
		close(st->stop_fd);
		return r;
	}
	pthread_detach(st->thread);
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* How long poll may sleep: until the next watchdog ping or the idle
 * deadline (deadline 0: none). */
static int poll_timeout(int64_t deadline)
{
	int wd = notify_watchdog_ms();
	int64_t left;

	if (!deadline)
		return wd;
	left = deadline - now_ms();
	if (left < 0)
		left = 0;
	if (wd >= 0 && wd < left)
		return wd;
	return left > INT32_MAX ? INT32_MAX : (int)left;
}

/* Wait for a front-end; returns its connection fd, -EINTR when we must stop
 * (signal), or -ETIMEDOUT when the idle deadline (0: none) passed. */
static int wait_for_frontend(int listen_fd, int stop_fd, int64_t deadline)
{
	struct pollfd pfd[2] = {
		{ .fd = listen_fd, .events = POLLIN },
		{ .fd = stop_fd, .events = POLLIN },
	};
	int fd, r;

	for (;;) {
		notify_watchdog();
		r = poll(pfd, 2, poll_timeout(deadline));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pfd[1].revents)
			return -EINTR;
		if (deadline && now_ms() >= deadline)
			return -ETIMEDOUT;
		if (!pfd[0].revents)
			continue;
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN)
			return -errno;
	}
}

/* Journal entries about a connection name its hypervisor (log_set_field);
 * pid 0: none (any more). */
static void log_frontend_pid(int frontend_pid)
{
	char pid[16];

	if (frontend_pid <= 0) {
		log_set_field("VFSD_FRONTEND_PID", NULL);
		return;
	}
	snprintf(pid, sizeof(pid), "%d", frontend_pid);
	log_set_field("VFSD_FRONTEND_PID", pid);
}

static int serve(struct server *srv, const struct config *cfg, int listen_fd,
		 int stop_fd)
{
	int64_t deadline;
	int conn, frontend_pid, r;

	for (;;) {
		notify_status("Waiting for the hypervisor to connect");
		deadline = cfg->idle_timeout ?
			   now_ms() + (int64_t)cfg->idle_timeout * 1000 : 0;
		conn = wait_for_frontend(listen_fd, stop_fd, deadline);
		if (conn == -EINTR)
			return 0;
		if (conn == -ETIMEDOUT) {
			log_info("no hypervisor connected for %u s (--idle-timeout): exiting",
				 cfg->idle_timeout);
			return 0;
		}
		if (conn < 0)
			return log_error_errno(conn, "accepting a connection");
		/* As the host sees it, also from a pid namespace of our own. */
		frontend_pid = supervisor_peer_pid(conn);
		log_frontend_pid(frontend_pid);
		log_info("hypervisor connected");
		vq_transport_set_helpers(cfg->thread_pool_size);
		r = vq_transport_serve(srv, conn, stop_fd, cfg->request_queues,
				       frontend_pid);
		close(conn);
		if (r == 1)
			return 0;	/* signal: stop */
		log_info("hypervisor disconnected%s", r < 0 ? " after an error" : "");
		log_frontend_pid(0);
		if (cfg->exit_on_disconnect)
			return 0;
	}
}

/* --mount: the /dev/fuse transport instead of the vhost-user socket (for
 * tests; no sandbox).  A mount that cannot be set up exits like a socket
 * that cannot (EXIT_SOCKET). */
static int serve_fusedev(struct server *srv, struct pt_fs *fs,
			 const struct config *cfg)
{
	struct fusedev_config fc = {
		.mountpoint = cfg->mount,
		.max_write = MAX_WRITE,
	};
	bool mounted;
	int r;

	r = fusedev_serve(srv, &fc, &mounted);
	server_free(srv);
	pt_free(fs);
	if (!mounted)
		return EXIT_SOCKET;
	return r < 0 ? EXIT_RUNTIME : EXIT_OK;
}

/* The passthrough layer opens the directory O_PATH, which needs no
 * permission on it: find out now, not at the guest's first LOOKUP. */
static int check_shared_dir(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (access(dir, R_OK | X_OK) < 0)
		return -errno;
	return 0;
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct listener listener;
	/* Static: its thread may still run while exit() runs. */
	static struct stopper stopper;
	struct pt_fs *fs = NULL;
	struct server *srv = NULL;
	sigset_t sigs;
	int r;

	if (config_parse(&cfg, argc, argv) < 0) {
		fprintf(stderr, "Try '%s --help' for more information.\n", argv[0]);
		return EXIT_USAGE;
	}
	if (cfg.help) {
		config_usage(stdout, argv[0]);
		return EXIT_OK;
	}
	if (cfg.version) {
		printf("vfsd %s\n", VFSD_VERSION);
		return EXIT_OK;
	}
	if (cfg.print_capabilities) {
		config_print_capabilities(stdout);
		return EXIT_OK;
	}
	log_set_level(cfg.log_level);
	log_use_syslog(cfg.syslog);
	log_set_field("VFSD_SHARE", cfg.shared_dir);
	uring_force_fallback(!cfg.io_uring);
	raise_fd_limit(cfg.rlimit_nofile);
	if (drop_supplementary_groups() < 0)
		return EXIT_SANDBOX;
	/* A SIGTERM during start-up stays pending until we can honour it. */
	block_signals(&sigs);
	/* A front-end that shrinks its guest memory file must not kill us
	 * (vhost-user/guard.h): process-wide, before any thread. */
	r = vu_guard_install();
	if (r < 0) {
		log_error_errno(r, "cannot install the SIGBUS handler");
		return EXIT_RUNTIME;
	}
	/* --uid-map/--gid-map: before the shared directory is opened, so
	 * that the passthrough layer sees the namespace's ids (sandbox.c,
	 * stage 0).  Not for --mount, which has no sandbox. */
	if (!cfg.mount) {
		r = sandbox_userns_enter(&cfg);
		if (r < 0)
			return r == -EINVAL ? EXIT_USAGE : EXIT_SANDBOX;
	}

	struct pt_config ptcfg = {
		.shared_dir = cfg.shared_dir,
		.file_handles = cfg.inode_file_handles == INODE_FH_MANDATORY ?
				PT_FH_MANDATORY :
				cfg.inode_file_handles == INODE_FH_PREFER ?
				PT_FH_PREFER : PT_FH_NEVER,
		.allow_direct_io = cfg.allow_direct_io,
		.preserve_noatime = cfg.preserve_noatime,
		/* --xattrmap, --posix-acl and --security-label imply --xattr,
		 * as in virtiofsd. */
		.xattr = cfg.xattr || cfg.xattrmap ||
			 cfg.posix_acl != NEGOTIATE_NEVER ||
			 cfg.security_label != NEGOTIATE_NEVER,
	};
	if (!cfg.xattr && !cfg.xattrmap && ptcfg.xattr)
		log_info("--posix-acl/--security-label: extended attributes "
			 "are served (as with --xattr)");
	r = check_shared_dir(cfg.shared_dir);
	if (r == 0)
		r = pt_new(&fs, &ptcfg);
	if (r < 0) {
		log_error_errno(r, "shared directory '%s'", cfg.shared_dir);
		return EXIT_SHARED_DIR;
	}

	struct server_config sc = {
		.ops = &pt_ops,
		.fs = fs,
		.max_write = MAX_WRITE,
		.writeback = cfg.writeback,
		.readdirplus = cfg.readdirplus,
		.readonly = cfg.readonly,
		.killpriv_v2 = cfg.killpriv_v2,
		.announce_submounts = cfg.announce_submounts,
		.posix_lock = cfg.posix_lock,
		.flock = cfg.flock,
		/* /dev/fuse has few request slots: parked lock waits must
		 * leave some for other requests. */
		.max_lock_waiters = cfg.mount ? FUSEDEV_MAX_LOCK_WAITERS : 0,
		.allow_mmap = cfg.allow_mmap,
		/* pt_creds_enter() takes the group (when run as root). */
		.create_supp_group = true,
		.on_init = vq_transport_on_init,
		/* Same order of values: never, auto, always. */
		.posix_acl = (enum server_negotiate)cfg.posix_acl,
		.security_label = (enum server_negotiate)cfg.security_label,
	};
	/* Checked by config_parse(): only memory can fail here.  Lives as
	 * long as the process (the engine points at it). */
	if (cfg.xattrmap) {
		char why[128];

		r = xattrmap_parse(cfg.xattrmap, &xmap, why, sizeof(why));
		if (r < 0) {
			log_error("--xattrmap: %s", why);
			pt_free(fs);
			return EXIT_USAGE;
		}
		sc.xattrmap = xmap;
	}
	r = translate_maps_new(&cfg, &sc);
	if (r < 0) {
		pt_free(fs);
		return EXIT_USAGE;
	}
	set_cache_policy(&sc, cfg.cache);
	r = server_new(&srv, &sc);
	if (r < 0) {
		log_error_errno(r, "cannot create the FUSE engine");
		pt_free(fs);
		return EXIT_RUNTIME;
	}

	/* Before the sandbox hides the notify socket's path. */
	notify_init();
	if (cfg.mount)
		return serve_fusedev(srv, fs, &cfg);

	r = listener_open(&listener, &cfg);
	if (r < 0) {
		server_free(srv);
		pt_free(fs);
		return r == -EINVAL ? EXIT_USAGE : EXIT_SOCKET;
	}
	/* The sandbox (vfsd/sandbox.c): after everything that needs the
	 * host's view (shared directory, socket, lock file) is open, before
	 * the first thread (unshare and capabilities are per thread) and
	 * before READY=1. */
	if (sandbox_enter(&cfg) < 0) {
		listener_close(&listener);
		server_free(srv);
		pt_free(fs);
		return EXIT_SANDBOX;
	}
	/* A pid namespace's server is a fork: its own fds, its own /proc. */
	if (supervisor_active()) {
		r = pt_reopen_proc_self(fs);
		if (r < 0) {
			log_error_errno(r, "sandbox: cannot open /proc/self/fd in the pid namespace");
			listener_close(&listener);
			server_free(srv);
			pt_free(fs);
			return EXIT_SANDBOX;
		}
	}
	/* In a pid namespace of our own, stop requests come from the
	 * supervisor (vfsd/supervisor.c). */
	supervisor_stop_signals(&sigs);
	r = stopper_start(&stopper, &sigs, cfg.shutdown_timeout);
	if (r < 0) {
		log_error_errno(r, "cannot set up signal handling");
		listener_close(&listener);
		server_free(srv);
		pt_free(fs);
		return EXIT_RUNTIME;
	}

	log_info("serving '%s' (cache=%s)", cfg.shared_dir,
		 config_cache_name(cfg.cache));
	/* The socket listens (a hypervisor that connected already is queued
	 * in the backlog), the shared directory is open: ready. */
	notify_ready();
	r = serve(srv, &cfg, listener.fd, stopper.stop_fd);
	notify_stopping();

	listener_close(&listener);
	server_free(srv);
	pt_free(fs);
	/* The stopper thread may still be waiting for a signal: exit() ends
	 * it; stop_fd is closed by the kernel. */
	return r < 0 ? EXIT_RUNTIME : EXIT_OK;
}
