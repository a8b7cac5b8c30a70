// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The system call allowlist.  Keep it one flat list of names: a reviewer
 * reads it top to bottom, and the test suite (run under --seccomp=kill,
 * including the QEMU end-to-end test) is what proves it complete.  To find
 * a missing call: run with --seccomp=log and read the kernel log
 * ("audit: type=1326 ... syscall=N"), or strace -f -c the daemon.
 */
#include "seccomp/seccomp.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <ucontext.h>
#include <unistd.h>

const char *const filter_allowed_syscalls[] = {
	/* memory, threads, signals: glibc and the pthreads underneath */
	"brk", "mmap", "mmap2", "munmap", "mprotect", "madvise", "mremap",
	"clone", "clone3", "set_robust_list", "get_robust_list", "rseq",
	"set_tid_address", "futex", "futex_time64", "exit", "exit_group",
	"gettid", "getpid", "getppid",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigreturn",
	"rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_sigpending",
	"rt_sigsuspend",
	"sigaltstack", "restart_syscall",
	"sched_yield", "sched_getaffinity", "nanosleep", "clock_nanosleep",
	"clock_nanosleep_time64", "clock_gettime", "clock_gettime64",
	"clock_getres", "gettimeofday", "time", "getrandom",
	"getrlimit", "prlimit64", "ugetrlimit", "uname",
	/* credentials: passthrough runs each creating call as the caller */
	"getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid",
	"setresuid", "setresgid", "setresuid32", "setresgid32", "getgroups",
	"setgroups", "capget",
	/* the host filesystem (passthrough) */
	"openat", "openat2", "open", "close", "close_range", "dup", "dup2",
	"dup3", "read", "readv", "pread64", "preadv", "preadv2",
	"write", "writev", "pwrite64", "pwritev", "pwritev2",
	"lseek", "_llseek", "fstat", "fstat64", "newfstatat", "fstatat64",
	"statx", "lstat", "stat", "fstatfs", "fstatfs64", "statfs", "statfs64",
	"fchmodat", "fchmod", "fchownat", "fchown", "fchown32",
	"ftruncate", "ftruncate64", "utimensat", "utimensat_time64",
	"readlinkat", "readlink", "faccessat", "faccessat2", "access",
	"syncfs", "mknodat", "mkdirat", "symlinkat", "linkat", "unlinkat",
	"renameat", "renameat2", "unlink", "getdents64", "fsync", "fdatasync",
	"fcntl", "fcntl64", "flock", "copy_file_range", "fallocate",
	"name_to_handle_at", "open_by_handle_at", "umask", "fchdir",
	"getxattr", "lgetxattr", "fgetxattr", "setxattr", "lsetxattr",
	"fsetxattr", "listxattr", "llistxattr", "flistxattr",
	"removexattr", "lremovexattr", "fremovexattr",
	/* waiting: signalfd, eventfds, poll, io_uring */
	"signalfd4", "eventfd2", "poll", "ppoll", "ppoll_time64",
	"pselect6", "epoll_create1", "epoll_ctl", "epoll_wait",
	"epoll_pwait", "io_uring_setup", "io_uring_enter",
	"io_uring_register",
	/* vhost-user, sd_notify, syslog (socket: AF_UNIX only, below) */
	"recvmsg", "sendmsg", "sendto", "recvfrom", "accept4", "accept",
	"connect", "getsockopt", "setsockopt", "getsockname", "getpeername",
	"shutdown",
	NULL,
};

/*
 * The pid namespace's supervisor (vfsd/supervisor.c): it waits for the
 * server, relays its notifications, asks SO_PEERCRED on its behalf and
 * passes signals on.  Logging (stderr, journal, syslog) and exiting.
 */
const char *const filter_supervisor_syscalls[] = {
	"brk", "mmap", "mmap2", "munmap", "mprotect", "madvise", "futex",
	"futex_time64", "exit", "exit_group", "getpid", "gettid", "getuid",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigreturn",
	"restart_syscall", "sigaltstack", "clock_gettime", "clock_gettime64",
	"read", "write", "writev", "close", "fstat", "newfstatat",
	"recvmsg", "recvfrom", "sendmsg", "sendto", "connect", "getsockopt",
	"poll", "ppoll", "ppoll_time64", "wait4", "waitid",
	NULL,
};

/*
 * The sanitizer runtimes (ASan, UBSan, LSan) need more at exit: LSan stops
 * the world with a ptrace-ing helper task and reads /proc/self/maps.
 * Only in sanitizer builds: a product build never allows ptrace.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define SANITIZER_BUILD 1
#endif
#endif

#ifdef SANITIZER_BUILD
static const char *const sanitizer_syscalls[] = {
	"ptrace", "wait4", "waitid", "prctl", "getpgid", "sched_setaffinity",
	"getdents",
	"kill", "process_vm_readv", "pipe", "pipe2",
	NULL,
};
#endif

int filter_action_parse(const char *s, enum filter_action *out)
{
	for (int a = FILTER_KILL; a <= FILTER_NONE; a++) {
		if (strcmp(s, filter_action_name(a)) == 0) {
			*out = a;
			return 0;
		}
	}
	return -EINVAL;
}

const char *filter_action_name(enum filter_action action)
{
	static const char *const names[] = {
		[FILTER_KILL] = "kill", [FILTER_LOG] = "log",
		[FILTER_TRAP] = "trap", [FILTER_NONE] = "none",
	};
	return names[action];
}

/*
 * --seccomp=trap: say which call was refused, and make it fail with ENOSYS
 * (the kernel leaves the syscall number in the return register otherwise,
 * which the caller would take for success).  Async-signal-safe: write only.
 */
static void sigsys_handler(int sig, siginfo_t *si, void *uctx)
{
	char msg[64], num[16];
	int n = si->si_syscall, len = 0;
	ucontext_t *uc = uctx;

	(void)sig;
	if (n < 0)
		n = 0;
	do
		num[len++] = (char)('0' + n % 10);
	while ((n /= 10) && len < (int)sizeof(num));
	strcpy(msg, "vfsd: seccomp: refused system call ");
	for (size_t at = strlen(msg); len > 0 && at < sizeof(msg) - 2; at++) {
		msg[at] = num[--len];
		msg[at + 1] = '\n';
		msg[at + 2] = '\0';
	}
	if (write(STDERR_FILENO, msg, strlen(msg)) < 0) {
		/* nothing better to do */
	}
#if defined(__x86_64__)
	uc->uc_mcontext.gregs[REG_RAX] = -ENOSYS;
#elif defined(__aarch64__)
	uc->uc_mcontext.regs[0] = (unsigned long long)-ENOSYS;
#else
	(void)uc;
	_exit(128 + SIGSYS);
#endif
}

static int install_trap_handler(void)
{
	struct sigaction sa = {
		.sa_sigaction = sigsys_handler,
		.sa_flags = SA_SIGINFO,
	};

	sigemptyset(&sa.sa_mask);
	return sigaction(SIGSYS, &sa, NULL) < 0 ? -errno : 0;
}

static uint32_t default_action(enum filter_action action)
{
	switch (action) {
	case FILTER_LOG:
		return SCMP_ACT_LOG;
	case FILTER_TRAP:
		return SCMP_ACT_TRAP;
	default:
		return SCMP_ACT_KILL_PROCESS;
	}
}

/* Allow every name of list this architecture knows. */
static int allow_list(scmp_filter_ctx ctx, const char *const *list)
{
	for (; *list; list++) {
		int nr = seccomp_syscall_resolve_name(*list);
		int r;

		if (nr == __NR_SCMP_ERROR)
			continue;	/* not on this architecture */
		if (strcmp(*list, "socket") == 0)
			continue;	/* conditional, below */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (r < 0 && r != -EEXIST)
			return r;
	}
	return 0;
}

/* A filter with `action` for calls outside it and the sanitizers' calls
 * in sanitizer builds; NULL on failure (-errno in *err). */
static scmp_filter_ctx filter_new(enum filter_action action, int *err)
{
	scmp_filter_ctx ctx;
	int r;

	if (action == FILTER_TRAP) {
		r = install_trap_handler();
		if (r < 0) {
			*err = r;
			return NULL;
		}
	}
	ctx = seccomp_init(default_action(action));
	if (!ctx) {
		*err = -ENOMEM;
		return NULL;
	}
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
#ifdef SANITIZER_BUILD
	if (r == 0)
		r = allow_list(ctx, sanitizer_syscalls);
#endif
	/* Local sockets only: no network, whatever the guest achieves. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	/* Signals to its own threads only (pthread_kill, raise, abort): this
	 * is what keeps a process running as root from signalling others. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	if (r < 0) {
		seccomp_release(ctx);
		*err = r;
		return NULL;
	}
	return ctx;
}

/* A worker's own umask for --posix-acl creates (passthrough_acl.c):
 * CLONE_FS alone, never a namespace. */
static int allow_unshare_fs(scmp_filter_ctx ctx, scmp_datum_t unused)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(unshare), 1,
				SCMP_A0(SCMP_CMP_EQ, CLONE_FS));
}

/* The supervisor's stop requests go to the server, to no other process. */
static int allow_sigqueue_to(scmp_filter_ctx ctx, scmp_datum_t server)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(rt_sigqueueinfo),
				1, SCMP_A0(SCMP_CMP_EQ, server));
}

/* Load a filter allowing `list`, plus what `extra` adds (given `arg`). */
static int install(enum filter_action action, const char *const *list,
		   int (*extra)(scmp_filter_ctx, scmp_datum_t), scmp_datum_t arg)
{
	scmp_filter_ctx ctx;
	int r = 0;

	if (action == FILTER_NONE)
		return 0;
	ctx = filter_new(action, &r);
	if (!ctx)
		return r;
	r = allow_list(ctx, list);
	if (r == 0)
		r = extra(ctx, arg);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}

int filter_install(enum filter_action action)
{
	return install(action, filter_allowed_syscalls, allow_unshare_fs, 0);
}

int filter_install_supervisor(enum filter_action action, pid_t server)
{
	return install(action, filter_supervisor_syscalls, allow_sigqueue_to,
		       (scmp_datum_t)server);
}
