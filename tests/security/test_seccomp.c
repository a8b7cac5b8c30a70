// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The seccomp allowlist, tested by installing the real filter (the same
 * function the daemon calls) in a forked child and making a call outside
 * the list: kill mode must kill the child with SIGSYS, log mode must let
 * the call through, trap mode must make it fail with ENOSYS.  Calls the
 * daemon needs (AF_UNIX sockets, files) must keep working.
 */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "seccomp/seccomp.h"

enum probe {
	PROBE_INET, PROBE_EXECVE, PROBE_UNIX, PROBE_FILE,
	PROBE_SIGNAL_OTHER,         /* tgkill of another process */
	PROBE_SIGNAL_SELF,          /* tgkill of one's own thread */
	PROBE_QUEUE_PARENT,         /* sigqueue to the parent (the "server") */
	PROBE_QUEUE_INIT,           /* sigqueue to pid 1 */
};

/* The test process, as the child saw it before its filter (which may not
 * allow getppid). */
static pid_t parent;

/* In the child: returns the exit code (0 = the call succeeded, 1 = failed
 * with ENOSYS, 2 = failed otherwise). */
static int run_probe(enum probe p)
{
	char *const argv[] = { "/bin/true", NULL };
	int fd;

	switch (p) {
	case PROBE_INET:
		fd = socket(AF_INET, SOCK_STREAM, 0);
		break;
	case PROBE_EXECVE:
		fd = execve(argv[0], argv, NULL);
		break;
	case PROBE_UNIX:
		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		break;
	case PROBE_SIGNAL_OTHER:
		/* Signal 0 to the test process: only a permission check. */
		fd = (int)syscall(SYS_tgkill, getppid(), getppid(), 0);
		break;
	case PROBE_SIGNAL_SELF:
		fd = (int)syscall(SYS_tgkill, getpid(), gettid(), 0);
		break;
	case PROBE_QUEUE_PARENT:
	case PROBE_QUEUE_INIT:
		/* Signal 0: only a permission check. */
		fd = sigqueue(p == PROBE_QUEUE_PARENT ? parent : 1, 0,
			      (union sigval){ .sival_int = 0 });
		break;
	default:
		fd = openat(AT_FDCWD, "/proc/self/status", O_RDONLY | O_CLOEXEC);
		break;
	}
	if (fd >= 0)
		return 0;
	return errno == ENOSYS ? 1 : 2;
}

/* Fork, install the filter, probe; the wait status. */
static int filtered_child(enum filter_action action, enum probe p)
{
	pid_t pid = fork();
	int status;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    filter_install(action) < 0)
			_exit(99);
		_exit(run_probe(p));
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/* The same under the pid namespace supervisor's filter, its server being
 * the test process. */
static int supervisor_child(enum probe p)
{
	pid_t pid = fork();
	int status;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		parent = getppid();
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    filter_install_supervisor(FILTER_KILL, parent) < 0)
			_exit(99);
		_exit(run_probe(p));
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static void assert_killed(int status, const char *what)
{
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
		  "%s: expected death by SIGSYS, got status %#x", what, status);
}

static void assert_exit(int status, int code, const char *what)
{
	cr_assert(WIFEXITED(status), "%s: died (status %#x)", what, status);
	cr_assert_eq(WEXITSTATUS(status), code, "%s: exit %d, expected %d",
		     what, WEXITSTATUS(status), code);
}

TestSuite(seccomp, .timeout = 30);

Test(seccomp, kill_mode_kills_network_socket)
{
	assert_killed(filtered_child(FILTER_KILL, PROBE_INET), "socket(AF_INET)");
}

Test(seccomp, kill_mode_kills_execve)
{
	assert_killed(filtered_child(FILTER_KILL, PROBE_EXECVE), "execve");
}

Test(seccomp, kill_mode_allows_what_vfsd_needs)
{
	assert_exit(filtered_child(FILTER_KILL, PROBE_UNIX), 0, "socket(AF_UNIX)");
	assert_exit(filtered_child(FILTER_KILL, PROBE_FILE), 0, "openat");
}

Test(seccomp, kill_mode_allows_signals_to_own_threads_only)
{
	assert_exit(filtered_child(FILTER_KILL, PROBE_SIGNAL_SELF), 0,
		    "tgkill(self)");
	assert_killed(filtered_child(FILTER_KILL, PROBE_SIGNAL_OTHER),
		      "tgkill(another process)");
}

Test(seccomp, log_mode_lets_the_call_through)
{
	assert_exit(filtered_child(FILTER_LOG, PROBE_INET), 0, "socket(AF_INET)");
}

Test(seccomp, trap_mode_fails_the_call_with_enosys)
{
	assert_exit(filtered_child(FILTER_TRAP, PROBE_INET), 1, "socket(AF_INET)");
	assert_exit(filtered_child(FILTER_TRAP, PROBE_EXECVE), 1, "execve");
}

Test(seccomp, none_mode_installs_nothing)
{
	assert_exit(filtered_child(FILTER_NONE, PROBE_INET), 0, "socket(AF_INET)");
}

/* Names, not numbers: the list must resolve on this architecture for the
 * calls vfsd cannot do without (a typo would silently drop one). */
Test(seccomp, core_names_resolve)
{
	static const char *const core[] = {
		"openat", "read", "write", "close", "futex", "mmap", "recvmsg",
		"sendmsg", "io_uring_enter", "exit_group", NULL,
	};

	for (const char *const *n = core; *n; n++) {
		bool listed = false;

		for (const char *const *a = filter_allowed_syscalls; *a; a++)
			listed |= strcmp(*a, *n) == 0;
		cr_assert(listed, "%s not in the allowlist", *n);
		cr_assert_neq(seccomp_syscall_resolve_name(*n), __NR_SCMP_ERROR,
			      "%s does not resolve", *n);
	}
}

Test(seccomp, action_names_round_trip)
{
	enum filter_action a;

	for (int i = FILTER_KILL; i <= FILTER_NONE; i++) {
		cr_assert_eq(filter_action_parse(filter_action_name(i), &a), 0);
		cr_assert_eq((int)a, i);
	}
	cr_assert_eq(filter_action_parse("allow", &a), -EINVAL);
}

/* The supervisor may pass a stop on to its server and do little else:
 * no file, no signal to any other process, no exec, no network. */
Test(seccomp, supervisor_filter_is_narrow)
{
	assert_exit(supervisor_child(PROBE_QUEUE_PARENT), 0, "sigqueue to the server");
	assert_exit(supervisor_child(PROBE_UNIX), 0, "socket(AF_UNIX) (syslog)");
	assert_killed(supervisor_child(PROBE_QUEUE_INIT), "sigqueue to pid 1");
	assert_killed(supervisor_child(PROBE_FILE), "openat");
	assert_killed(supervisor_child(PROBE_EXECVE), "execve");
	assert_killed(supervisor_child(PROBE_INET), "socket(AF_INET)");
	assert_killed(supervisor_child(PROBE_SIGNAL_OTHER), "tgkill of another process");
}
