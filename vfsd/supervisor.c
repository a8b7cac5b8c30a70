// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The pid namespace, and the supervisor it takes (sandbox stage 2).
 *
 * In a pid namespace of its own vfsd sees no host process, and no host
 * process id means anything to it.  The kernel puts only children into a
 * new pid namespace, so vfsd forks once: the child serves, as pid 1 of the
 * namespace; the parent -- the pid the service manager, the shell or the
 * test started -- stays outside as the supervisor, for the three things
 * only a process outside can do:
 *
 *  - Notifications.  With NotifyAccess=main (Type=notify's default) the
 *    service manager takes READY=1, STATUS= and WATCHDOG=1 only from its
 *    main pid.  The server sends them over a relay socket; the supervisor
 *    passes on the lines it expects (supervisor_filter_notify()).
 *  - The front-end's pid.  SO_PEERCRED gives pid 0 for a process outside
 *    our pid namespace; the server passes the connection to the
 *    supervisor, which asks and answers.
 *  - Signals.  The init of a pid namespace is sent no signal from outside
 *    that it has no handler for (SIGKILL excepted), and the server keeps
 *    SIGTERM, SIGINT and SIGHUP at their defaults: systemd's SIGTERM to
 *    the whole cgroup, a terminal's Ctrl-C to the process group, kill(1)
 *    of the server's host pid do not reach it.  The supervisor gets them
 *    and passes each on exactly once, as SUPERVISOR_STOP with the signal's
 *    number attached: one SIGTERM to the cgroup is one stop request, and
 *    a second Ctrl-C still means "now".
 *
 * It then exits as the server did: the same code, or the same signal
 * (without a core dump of its own; one line says which signal, as nobody
 * else can).  If it dies first, the kernel kills the server
 * (PR_SET_PDEATHSIG).  It keeps nothing else: stdio, its two relay
 * sockets, a signalfd, the notify and journal sockets; no capability,
 * no_new_privs, and a seccomp list of 30-odd calls.  What it reads from the
 * relays comes from the server, which a guest may have taken over: bounded
 * reads, received fds closed, only known notification lines passed on.
 */
#include "supervisor.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "activation.h"
#include "log.h"
#include "sandbox.h"
#include "seccomp/seccomp.h"

/* glibc keeps the first real-time signals for itself; SIGRTMIN is the
 * first it leaves to programs. */
#define SUPERVISOR_STOP SIGRTMIN

#define NOTIFY_MAX 4096

/* In the server: the query socket (-1 without a supervisor). */
static int query_fd = -1;
static pthread_mutex_t query_lock = PTHREAD_MUTEX_INITIALIZER;

bool supervisor_active(void)
{
	return query_fd >= 0;
}

/* ---- the notification filter ---- */

static bool line_passes(const char *line, size_t len, pid_t self)
{
	static const char *const exact[] = {
		"READY=1", "STOPPING=1", "WATCHDOG=1",
	};
	char mainpid[32];

	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (len == strlen(exact[i]) && memcmp(line, exact[i], len) == 0)
			return true;
	if (len > 7 && memcmp(line, "STATUS=", 7) == 0)
		return memchr(line, '\0', len) == NULL;
	snprintf(mainpid, sizeof(mainpid), "MAINPID=%d", (int)self);
	return len == strlen(mainpid) && memcmp(line, mainpid, len) == 0;
}

size_t supervisor_filter_notify(const char *in, size_t len, char *out,
				size_t size, pid_t self)
{
	size_t at = 0;

	if (!size)
		return 0;
	while (len) {
		const char *nl = memchr(in, '\n', len);
		size_t n = nl ? (size_t)(nl - in) : len;

		if (line_passes(in, n, self) && at + n + 2 <= size) {
			if (at)
				out[at++] = '\n';
			memcpy(out + at, in, n);
			at += n;
		}
		if (!nl)
			break;
		len -= n + 1;
		in = nl + 1;
	}
	out[at] = '\0';
	return at;
}

/* ---- stop signals ---- */

/* What a user, a terminal or systemd sends to stop vfsd, plus SIGCHLD
 * where the caller also deals with that. */
static void outside_stop_signals(sigset_t *mask, bool with_sigchld)
{
	sigemptyset(mask);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGHUP);
	if (with_sigchld)
		sigaddset(mask, SIGCHLD);
}

void supervisor_stop_signals(sigset_t *mask)
{
	if (supervisor_active()) {
		sigemptyset(mask);
		sigaddset(mask, SUPERVISOR_STOP);
		return;
	}
	outside_stop_signals(mask, false);
}

int supervisor_stop_signal_of(const siginfo_t *si)
{
	if (si->si_signo == SUPERVISOR_STOP && si->si_code == SI_QUEUE)
		return si->si_value.sival_int;
	return si->si_signo;
}

/* ---- the front-end's pid ---- */

static int socket_peer_pid(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    len != sizeof(cred) || cred.pid < 0)
		return 0;
	return cred.pid;
}

static int send_fd(int sock, int fd)
{
	char tag = 'P';
	struct iovec iov = { .iov_base = &tag, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	memset(&u, 0, sizeof(u));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

int supervisor_peer_pid(int conn)
{
	int32_t pid = 0;

	if (!supervisor_active())
		return socket_peer_pid(conn);
	pthread_mutex_lock(&query_lock);
	if (send_fd(query_fd, conn) < 0 ||
	    recv(query_fd, &pid, sizeof(pid), 0) != sizeof(pid))
		pid = 0;
	pthread_mutex_unlock(&query_lock);
	return pid > 0 ? pid : 0;
}

/* ---- the supervisor ---- */

struct supervisor {
	pid_t server;
	int notify;         /* notifications from the server */
	int query;          /* "who is this front-end?" */
	int signals;        /* signalfd: SIGTERM, SIGINT, SIGHUP, SIGCHLD */
};

/* Close every fd but those in keep (-1 entries ignored). */
static void close_all_but(int *keep, size_t n)
{
	unsigned int from = 0;

	/* Few entries: insertion sort. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];

			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		if (keep[i] < 0 || (unsigned int)keep[i] < from)
			continue;
		if ((unsigned int)keep[i] > from)
			close_range(from, (unsigned int)keep[i] - 1, 0);
		from = (unsigned int)keep[i] + 1;
	}
	close_range(from, ~0u, 0);
}

static void relay_notification(struct supervisor *s)
{
	char in[NOTIFY_MAX], out[NOTIFY_MAX + 1];
	ssize_t n;

	/* recv() has no room for fds: any the server sent are closed. */
	n = recv(s->notify, in, sizeof(in), MSG_DONTWAIT | MSG_TRUNC);
	if (n == 0) {
		close(s->notify);	/* the server is exiting */
		s->notify = -1;
		return;
	}
	if (n < 0 || (size_t)n > sizeof(in))
		return;			/* nothing, or too long: dropped */
	if (supervisor_filter_notify(in, (size_t)n, out, sizeof(out), getpid()))
		notify_forward(out, strlen(out));
}

static void answer_query(struct supervisor *s)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	char tag;
	struct iovec iov = { .iov_base = &tag, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	int32_t pid = 0;
	int fd = -1, nfds = 0;
	ssize_t n;

	n = recvmsg(s->query, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n == 0) {
		close(s->query);
		s->query = -1;
		return;
	}
	if (n < 0)
		return;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (nfds++ == 0)
				fd = got;
			else
				close(got);
		}
	}
	if (fd >= 0) {
		if (tag == 'P' && nfds == 1)
			pid = socket_peer_pid(fd);
		close(fd);
	}
	(void)send(s->query, &pid, sizeof(pid), MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* The exit system call itself: nothing of ours to flush, and a sanitizer
 * build's exit-time leak check would only check a copy of the server. */
static void __attribute__((noreturn)) exit_now(int code)
{
	for (;;)
		syscall(SYS_exit_group, code);
}

/* Exit as the server did: its code, or its signal. */
static void __attribute__((noreturn)) exit_like(struct supervisor *s, int status)
{
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		sigset_t one;

		/* A stop ends in an exit: a signal is a crash, the OOM
		 * killer, or a SIGKILL after a stop timeout.  The server
		 * cannot say so itself. */
		log_error("the server (pid %d) was killed by SIG%s", (int)s->server,
			  sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");

		/* Not dumpable (supervise()): no core of our own. */
		signal(sig, SIG_DFL);
		sigemptyset(&one);
		sigaddset(&one, sig);
		sigprocmask(SIG_UNBLOCK, &one, NULL);
		raise(sig);
		exit_now(128 + sig);
	}
	exit_now(WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_RUNTIME);
}

static void server_exited(struct supervisor *s, int status)
{
	/* Its last words (STOPPING=1) may still be queued. */
	while (s->notify >= 0) {
		struct pollfd p = { .fd = s->notify, .events = POLLIN };

		if (poll(&p, 1, 0) <= 0)
			break;
		relay_notification(s);
	}
	exit_like(s, status);
}

static void on_signal(struct supervisor *s)
{
	struct signalfd_siginfo si;
	int status;

	if (read(s->signals, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo != SIGCHLD) {
		union sigval v = { .sival_int = (int)si.ssi_signo };

		if (sigqueue(s->server, SUPERVISOR_STOP, v) < 0)
			log_warn_errno(-errno, "supervisor: cannot pass signal %u on to the server",
				       si.ssi_signo);
		return;
	}
	if (waitpid(s->server, &status, WNOHANG) == s->server)
		server_exited(s, status);
}

/*
 * What logging needs that its filter denies, done before it is loaded:
 * glibc's syslog(3) stamps each line with localtime_r(), which reads
 * /etc/localtime on first use (openat); tzset() reads it now.  The syslog
 * socket itself is one of the fds close_all_but() closes (glibc keeps no
 * fd we could name): forgotten here, connected again after.
 */
static void logging_before(bool syslog_on)
{
	tzset();
	if (syslog_on)
		closelog();
}

static void logging_after(bool syslog_on)
{
	/* /dev/log of the host: the supervisor keeps its mount namespace. */
	if (syslog_on)
		openlog("vfsd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* Shed what the supervisor does not need, before it reads anything. */
static int lock_down(struct supervisor *s, const struct config *cfg)
{
	int keep[] = {
		STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, s->notify,
		s->query, s->signals, notify_socket_fd(), log_journal_fd(),
	};
	int r;

	logging_before(cfg->syslog);
	close_all_but(keep, sizeof(keep) / sizeof(keep[0]));
	logging_after(cfg->syslog);
	if (chdir("/") < 0)
		return log_error_errno(-errno, "supervisor: chdir /");
	r = sandbox_drop_caps(0);
	if (r < 0)
		return r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return log_error_errno(-errno, "supervisor: set no_new_privs");
	r = filter_install_supervisor(cfg->seccomp, s->server);
	if (r < 0)
		return log_error_errno(r, "supervisor: cannot load its seccomp filter");
	return 0;
}

static void __attribute__((noreturn))
supervise(struct supervisor *s, const struct config *cfg)
{
	sigset_t mask;

	/* No core dump of ours when we re-raise the server's signal. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* We map no guest memory: vu_guard_install()'s handler is the
	 * server's business. */
	signal(SIGBUS, SIG_DFL);
	/* SIGTERM, SIGINT and SIGHUP are blocked since main() started,
	 * SIGCHLD since the fork: what came before is still pending. */
	outside_stop_signals(&mask, true);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	s->signals = signalfd(-1, &mask, SFD_CLOEXEC);
	if (s->signals < 0 || lock_down(s, cfg) < 0) {
		if (s->signals < 0)
			log_error_errno(-errno, "supervisor: signalfd");
		kill(s->server, SIGKILL);
		exit_now(EXIT_SANDBOX);
	}
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = s->signals, .events = POLLIN },
			{ .fd = s->notify, .events = POLLIN },
			{ .fd = s->query, .events = POLLIN },
		};

		if (poll(p, 3, -1) < 0)
			continue;	/* EINTR: nothing is unblocked, but cheap */
		if (p[1].revents)
			relay_notification(s);
		if (p[2].revents)
			answer_query(s);
		if (p[0].revents)
			on_signal(s);
	}
}

/* ---- the fork ---- */

/*
 * glibc's syslog(3) with LOG_PID (log_use_syslog()) names getpid(): 1 in
 * every server, which no one outside can tell apart or find.  Our host pid
 * goes where LOG_PID would put it ("vfsd[PID]: "), read from the host's
 * /proc while it is still ours to read (stage 3 mounts the namespace's).
 * The journal takes the pid from the socket's credentials anyway.
 */
static void syslog_as_host_pid(void)
{
	static char ident[32];
	char self[16];
	ssize_t n = readlink("/proc/self", self, sizeof(self) - 1);

	if (n <= 0) {
		openlog("vfsd", LOG_NDELAY, LOG_DAEMON);
		return;
	}
	self[n] = '\0';
	snprintf(ident, sizeof(ident), "vfsd[%s]", self);
	openlog(ident, LOG_NDELAY, LOG_DAEMON);
}

/* In the server, right after the fork. */
static int become_server(const struct config *cfg, int notify, int query)
{
	struct pollfd p = { .fd = query, .events = 0 };
	sigset_t stops;

	/* The supervisor may have died before this: then so do we. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return log_error_errno(-errno, "sandbox: set the parent-death signal");
	if (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP))
		_exit(EXIT_SANDBOX);
	/* Signals from outside reach pid 1 only with a handler: unblocked
	 * at their default they are dropped, so that only the supervisor's
	 * SUPERVISOR_STOP (blocked since before the fork) stops us; see the
	 * top of the file.  SIGCHLD: we have no child. */
	outside_stop_signals(&stops, true);
	sigprocmask(SIG_UNBLOCK, &stops, NULL);
	notify_redirect(notify);
	query_fd = query;
	if (cfg->syslog)
		syslog_as_host_pid();
	return 1;
}

int supervisor_fork(const struct config *cfg)
{
	struct supervisor s = { .notify = -1, .query = -1, .signals = -1 };
	int notify[2], query[2], r;
	sigset_t block;
	pid_t pid;

	if (unshare(CLONE_NEWPID) < 0) {
		if (errno == EPERM || errno == EINVAL || errno == ENOSPC ||
		    errno == EUSERS)
			return 0;	/* not permitted here: the caller says so */
		return log_error_errno(-errno, "sandbox: cannot create a pid namespace");
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, notify) < 0)
		return log_error_errno(-errno, "sandbox: socketpair for the supervisor");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, query) < 0) {
		r = -errno;
		close(notify[0]);
		close(notify[1]);
		return log_error_errno(r, "sandbox: socketpair for the supervisor");
	}
	/* Blocked before the fork, so that neither is lost in between: a
	 * stop request that reaches the server before it blocks it would be
	 * dropped (pid 1), a SIGCHLD before the supervisor blocks it
	 * discarded (its default is to ignore). */
	sigemptyset(&block);
	sigaddset(&block, SUPERVISOR_STOP);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, NULL);
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(notify[0]);
		close(notify[1]);
		close(query[0]);
		close(query[1]);
		return log_error_errno(r, "sandbox: cannot fork into the new pid namespace");
	}
	if (pid == 0) {
		close(notify[0]);
		close(query[0]);
		return become_server(cfg, notify[1], query[1]);
	}
	close(notify[1]);
	close(query[1]);
	s.server = pid;
	s.notify = notify[0];
	s.query = query[0];
	supervise(&s, cfg);
}
