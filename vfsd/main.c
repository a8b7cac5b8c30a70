// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfsd: serve a host directory to a virtual machine over virtio-fs.
 *
 * Start-up order matters for honest readiness: options, shared directory,
 * listening socket, signals — and only then READY=1.  Every failure before
 * that prints one line and exits with a documented code (config.h), and
 * nothing is left behind.  This is the only file that calls exit.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <poll.h>
#include <unistd.h>

#include "vfsd/activation.h"
#include "vfsd/config.h"
#include "vfsd/log.h"
#include "vfsd/passthrough.h"
#include "vfsd/server.h"
#include "vfsd/uring.h"
#include "vfsd/vq_transport.h"
#include "vhost-user/vu.h"

#define MAX_WRITE (1u << 20)
/* Like virtiofsd's default --rlimit-nofile. */
#define FD_LIMIT_WANTED 1048576

static void print_capabilities(void)
{
	/* The vhost-user back-end conventions (docs/interop/vhost-user.rst). */
	printf("{\n  \"type\": \"fs\"\n}\n");
}

static void set_cache_policy(struct server_config *sc, enum cache_mode mode)
{
	switch (mode) {
	case CACHE_NEVER:
		sc->entry_timeout = sc->attr_timeout = 0;
		sc->direct_io = true;
		break;
	case CACHE_METADATA:
		sc->entry_timeout = sc->attr_timeout = 86400;
		sc->direct_io = true;
		break;
	case CACHE_AUTO:
		sc->entry_timeout = sc->attr_timeout = 1;
		break;
	case CACHE_ALWAYS:
		sc->entry_timeout = sc->attr_timeout = 86400;
		sc->keep_cache = true;
		break;
	}
}

/* The guest may hold many files open: use all the fds we are allowed (the
 * passthrough layer sizes its tables from this limit). */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < FD_LIMIT_WANTED &&
	    rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max < FD_LIMIT_WANTED ? rl.rlim_max : FD_LIMIT_WANTED;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn_errno(-errno, "cannot raise the open file limit");
	}
}

/* SIGTERM, SIGINT and SIGHUP arrive through a signalfd so that both the
 * accept loop and the vhost-user loop can wait for them. */
static int setup_signals(void)
{
	sigset_t mask;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	fd = signalfd(-1, &mask, SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Wait for a front-end; returns its connection fd, or -EINTR when a
 * termination signal came first. */
static int wait_for_frontend(int listen_fd, int signal_fd)
{
	struct pollfd pfd[2] = {
		{ .fd = listen_fd, .events = POLLIN },
		{ .fd = signal_fd, .events = POLLIN },
	};
	int fd;

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pfd[1].revents)
			return -EINTR;
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN)
			return -errno;
	}
}

static int serve(struct server *srv, const struct config *cfg, int listen_fd,
		 int signal_fd)
{
	int conn, r;

	for (;;) {
		notify_status("Waiting for the hypervisor to connect");
		conn = wait_for_frontend(listen_fd, signal_fd);
		if (conn == -EINTR)
			return 0;
		if (conn < 0)
			return log_error_errno(conn, "accepting a connection");
		log_info("hypervisor connected");
		r = vq_transport_serve(srv, conn, signal_fd, cfg->request_queues);
		close(conn);
		if (r == 1)
			return 0;	/* signal: stop */
		log_info("hypervisor disconnected%s", r < 0 ? " after an error" : "");
		if (cfg->exit_on_disconnect)
			return 0;
	}
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct listener listener;
	struct pt_fs *fs = NULL;
	struct server *srv = NULL;
	int signal_fd, r;

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
		print_capabilities();
		return EXIT_OK;
	}
	log_set_level(cfg.log_level);
	log_use_syslog(cfg.syslog);
	uring_force_fallback(!cfg.io_uring);
	raise_fd_limit();

	struct pt_config ptcfg = {
		.shared_dir = cfg.shared_dir,
		.allow_direct_io = cfg.allow_direct_io,
	};
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
	};
	set_cache_policy(&sc, cfg.cache);
	r = server_new(&srv, &sc);
	if (r < 0) {
		log_error_errno(r, "cannot create the FUSE engine");
		pt_free(fs);
		return EXIT_RUNTIME;
	}

	if (listener_open(&listener, &cfg) < 0) {
		server_free(srv);
		pt_free(fs);
		return EXIT_SOCKET;
	}
	signal_fd = setup_signals();
	if (signal_fd < 0) {
		log_error_errno(signal_fd, "cannot set up signal handling");
		listener_close(&listener);
		server_free(srv);
		pt_free(fs);
		return EXIT_RUNTIME;
	}

	log_info("serving '%s' (cache=%s)", cfg.shared_dir,
		 config_cache_name(cfg.cache));
	notify_ready();
	r = serve(srv, &cfg, listener.fd, signal_fd);
	notify_stopping();

	listener_close(&listener);
	close(signal_fd);
	server_free(srv);
	pt_free(fs);
	return r < 0 ? EXIT_RUNTIME : EXIT_OK;
}
