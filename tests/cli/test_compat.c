// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Drop-in compatibility: the command lines that management software
 * generates for virtiofsd, run against vfsd unchanged.  Each must start and
 * serve: a real vhost-user handshake over the socket the command line names
 * (or the inherited --fd socket), FUSE_INIT, a LOOKUP of a file created on
 * the host and a GETATTR of the root.
 *
 * Arguments marked PENDING are ones the generator passes by default but
 * vfsd may not implement yet.  With them, vfsd must either serve or refuse
 * with exit status 2 and a message naming one of them (never ignore it);
 * without them it must serve.  When the feature lands the first run serves
 * and this test keeps passing unchanged.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fe_test.h"

#define MAX_ARGS 32
#define PENDING "\x01"          /* prefix: may be refused as unimplemented */

/* Placeholders expanded per run. */
#define SOCK "@SOCK@"
#define DIR_ "@DIR@"
#define FD "@FD@"

struct shape {
	const char *who;
	int inherit_fd;             /* fd number the socket is passed on; 0: none */
	const char *args[MAX_ARGS];
};

struct run {
	struct fe_backend be;
	int status;                 /* wait status when it exited */
	bool exited;
};

static void expand(char *out, size_t len, const char *arg, const struct run *r,
		   int fd)
{
	char fdbuf[16];
	const char *p;

	snprintf(fdbuf, sizeof(fdbuf), "%d", fd);
	out[0] = '\0';
	for (p = arg; *p;) {
		const char *sub = NULL;
		size_t skip = 1;

		if (strncmp(p, SOCK, strlen(SOCK)) == 0)
			sub = r->be.sock, skip = strlen(SOCK);
		else if (strncmp(p, DIR_, strlen(DIR_)) == 0)
			sub = r->be.shared, skip = strlen(DIR_);
		else if (strncmp(p, FD, strlen(FD)) == 0)
			sub = fdbuf, skip = strlen(FD);
		if (sub)
			snprintf(out + strlen(out), len - strlen(out), "%s", sub);
		else
			snprintf(out + strlen(out), len - strlen(out), "%c", *p);
		p += skip;
	}
}

/* A listening socket bound at path, as libvirt and kata create it. */
static int listen_at(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert(fd >= 0, "socket: %s", strerror(errno));
	cr_assert(strlen(path) < sizeof(addr.sun_path), "path too long: %s", path);
	memcpy(addr.sun_path, path, strlen(path) + 1);
	cr_assert(bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0,
		  "bind %s: %s", path, strerror(errno));
	cr_assert(listen(fd, 8) == 0);
	return fd;
}

static void spawn(struct run *r, const struct shape *s, bool with_pending)
{
	static char bufs[MAX_ARGS][512];
	const char *argv[MAX_ARGS + 1];
	int n = 0, lfd = -1, logfd;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	r->be.kind = FE_BACKEND_VFSD;
	snprintf(r->be.tmpdir, sizeof(r->be.tmpdir), "/tmp/vfsd-cli-XXXXXX");
	cr_assert(mkdtemp(r->be.tmpdir), "mkdtemp: %s", strerror(errno));
	fe_path(r->be.shared, sizeof(r->be.shared), r->be.tmpdir, "shared");
	fe_path(r->be.sock, sizeof(r->be.sock), r->be.tmpdir, "vhost.sock");
	fe_path(r->be.log, sizeof(r->be.log), r->be.tmpdir, "backend.log");
	cr_assert(mkdir(r->be.shared, 0755) == 0);

	argv[n++] = fe_test_vfsd();
	for (const char *const *a = s->args; *a; a++) {
		const char *arg = *a;

		if (arg[0] == PENDING[0]) {
			if (!with_pending)
				continue;
			arg++;
		}
		expand(bufs[n], sizeof(bufs[n]), arg, r, s->inherit_fd);
		argv[n] = bufs[n];
		n++;
	}
	argv[n] = NULL;
	if (s->inherit_fd)
		lfd = listen_at(r->be.sock);

	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		logfd = open(r->be.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (logfd >= 0) {
			dup2(logfd, STDOUT_FILENO);
			dup2(logfd, STDERR_FILENO);
		}
		/* dup2 clears close-on-exec: exactly this fd is inherited. */
		if (lfd >= 0 && dup2(lfd, s->inherit_fd) < 0)
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	setpgid(pid, pid);
	r->be.pid = pid;
	/* Only the daemon holds the socket now: if it exits, a connection
	 * waiting in the backlog is reset instead of hanging. */
	if (lfd >= 0)
		close(lfd);
}

/* Wait until the daemon exits or its socket exists. */
static void wait_started(struct run *r)
{
	int64_t deadline = fe_now_ms() + 10000;
	struct stat st;

	while (fe_now_ms() < deadline) {
		if (!fe_backend_alive(&r->be)) {
			r->exited = true;
			r->status = r->be.status;
			return;
		}
		if (stat(r->be.sock, &st) == 0 && S_ISSOCK(st.st_mode))
			return;
		usleep(10000);
	}
	cr_assert_fail("vfsd neither listened nor exited within 10 s");
}

/* "-o announce_submounts" and "--announce-submounts" name the same option. */
static void normalize(char *out, size_t len, const char *arg)
{
	size_t i = 0;

	while (*arg == '-')
		arg++;
	for (; *arg && *arg != '=' && i + 1 < len; arg++)
		out[i++] = *arg == '_' ? '-' : *arg;
	out[i] = '\0';
}

/* Did the daemon refuse one of the shape's PENDING arguments by name? */
static bool refused_pending(const struct run *r, const struct shape *s,
			    char *why, size_t len)
{
	char log[4096] = "", named[128], pend[128];
	const char *e;
	FILE *f = fopen(r->be.log, "r");
	size_t n;

	if (!f)
		return false;
	n = fread(log, 1, sizeof(log) - 1, f);
	log[n] = '\0';
	fclose(f);
	snprintf(why, len, "%s", log);
	if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 2)
		return false;
	e = strstr(log, "error: ");
	if (!e || !strstr(e, "is not implemented in this version"))
		return false;
	normalize(named, sizeof(named), e + strlen("error: "));
	for (char *p = named; *p; p++)
		if (isspace((unsigned char)*p))
			*p = '\0';
	for (const char *const *a = s->args; *a; a++) {
		if ((*a)[0] != PENDING[0])
			continue;
		normalize(pend, sizeof(pend), *a + 1);
		if (strcmp(pend, named) == 0)
			return true;
	}
	return false;
}

static void stop(struct run *r)
{
	int st = fe_backend_stop(&r->be, 5000);

	/* SIGTERM is a clean shutdown: status 0, no crash, no sanitizer. */
	if (st >= 0) {
		cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			  "vfsd did not exit cleanly on SIGTERM (status 0x%x)", st);
		if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
			fe_backend_dump_log(&r->be);
	}
	fe_backend_cleanup(&r->be);
}

/* 1: served; 0: refused a pending option (cleaned up); asserts otherwise. */
static int try_shape(const struct shape *s, bool with_pending)
{
	struct run r;
	struct fe_dev *d = NULL;
	char why[4096];
	int ret;

	spawn(&r, s, with_pending);
	wait_started(&r);
	if (!r.exited) {
		ret = fe_dev_open(&d, r.be.sock, NULL);
		/* A refusal resets the connection as the daemon exits: wait
		 * (bounded) for that exit rather than racing it. */
		if (ret < 0 && fe_backend_wait(&r.be, 10000) == 0) {
			r.exited = true;
			r.status = r.be.status;
		}
	}
	if (r.exited) {
		bool ok = with_pending && refused_pending(&r, s, why, sizeof(why));

		if (!ok)
			fe_backend_dump_log(&r.be);
		fe_backend_cleanup(&r.be);
		cr_assert(ok, "%s command line: vfsd exited (status 0x%x) instead of "
			  "serving", s->who, r.status);
		return 0;
	}
	cr_assert_eq(ret, 0, "%s command line: vhost-user handshake: %s", s->who,
		     strerror(-ret));
	fe_scenario_smoke(d, r.be.shared);
	fe_dev_close(d);
	stop(&r);
	return 1;
}

static void check_shape(const struct shape *s)
{
	bool has_pending = false;

	for (const char *const *a = s->args; *a; a++)
		has_pending |= (*a)[0] == PENDING[0];
	if (try_shape(s, true) == 1 || !has_pending)
		return;
	cr_log_info("%s: a pending option was refused by name; checking the "
		    "rest of the command line serves", s->who);
	cr_assert_eq(try_shape(s, false), 1);
}

/*
 * microvm.nix, nixos-modules/microvm/virtiofsd/default.nix (microvm-nix/
 * microvm.nix): the supervisord program "virtiofsd-${tag}" runs
 *   virtiofsd --socket-path=S [--socket-group=G] --shared-dir=D
 *     [--rlimit-nofile 1048576 (as root)] --thread-pool-size N
 *     [--posix-acl --xattr] --cache=C [--inode-file-handles=M]
 *     [--tag=T (crosvm)] [--readonly] extraArgs...
 */
Test(compat, microvm_nix)
{
	static const struct shape s = {
		.who = "microvm.nix", .args = {
			"--socket-path=" SOCK, "--shared-dir=" DIR_,
			"--rlimit-nofile", "1048576", "--thread-pool-size", "2",
			"--cache=auto", NULL,
		},
	};
	check_shape(&s);
}

Test(compat, microvm_nix_readonly_store_with_options)
{
	static const struct shape s = {
		.who = "microvm.nix (posixAcl, inodeFileHandles, readOnly)", .args = {
			"--socket-path=" SOCK, "--shared-dir=" DIR_,
			"--thread-pool-size", "1", PENDING "--posix-acl", "--xattr",
			"--cache=always", PENDING "--inode-file-handles=mandatory",
			"--readonly", NULL,
		},
	};
	check_shape(&s);
}

/*
 * libvirt, src/qemu/qemu_virtiofs.c qemuVirtioFSBuildCommandLine
 * (libvirt/libvirt): libvirt creates and binds the socket itself
 * (qemuVirtioFSOpenChardev) and passes it:
 *   virtiofsd --fd=N -o source=DIR[,cache=C][,sandbox=M][,xattr|,no_xattr]
 *     [,flock|,no_flock][,posix_lock|,no_posix_lock]
 *     [--thread-pool-size=N] [-d]
 * N is whatever fd number libvirt got: not necessarily 3.
 */
Test(compat, libvirt_fd_and_dash_o)
{
	static const struct shape s = {
		.who = "libvirt", .inherit_fd = 7, .args = {
			"--fd=" FD, "-o",
			"source=" DIR_ ",cache=always,xattr,no_flock,no_posix_lock",
			"--thread-pool-size=16", NULL,
		},
	};
	check_shape(&s);
}

Test(compat, libvirt_debug)
{
	static const struct shape s = {
		.who = "libvirt (virtiofsd_debug = 1)", .inherit_fd = 23, .args = {
			"--fd=" FD, "-o", "source=" DIR_ ",cache=none,no_xattr", "-d",
			NULL,
		},
	};
	check_shape(&s);
}

/*
 * kata-containers, src/runtime/virtcontainers/virtiofsd.go (args): the
 * runtime binds the socket and passes it as the first ExtraFile (fd 3):
 *   virtiofsd --syslog --cache=C --shared-dir=DIR --fd=3
 *     [--inode-file-handles=M] extraArgs...
 * with kata's packaged default extra args (DEFVIRTIOFSEXTRAARGS)
 * "--thread-pool-size=1", "-o", "announce_submounts".
 */
Test(compat, kata)
{
	static const struct shape s = {
		.who = "kata", .inherit_fd = 3, .args = {
			"--syslog", "--cache=auto", "--shared-dir=" DIR_, "--fd=" FD,
			PENDING "--inode-file-handles=prefer",
			"--thread-pool-size=1", "-o", "announce_submounts",
			NULL,
		},
	};
	check_shape(&s);
}

/* QEMU's documentation and the QEMU-era C virtiofsd. */
Test(compat, qemu_docs_legacy)
{
	static const struct shape s = {
		.who = "QEMU-era virtiofsd", .args = {
			"--socket-path=" SOCK, "-o", "source=" DIR_, "-o",
			"cache=auto", "-f", NULL,
		},
	};
	check_shape(&s);
}
