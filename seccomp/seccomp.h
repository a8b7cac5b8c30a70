/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The system call allowlist (libseccomp).
 *
 * What the daemon may ask of the kernel once it serves: the host
 * filesystem calls of passthrough, vhost-user's socket and memory calls,
 * io_uring, and what glibc itself calls underneath (clone3, rseq, statx,
 * newfstatat, ...).  Names are resolved for the running architecture by
 * libseccomp; a name the architecture does not have is skipped, so one
 * list serves x86-64, aarch64 and the rest.
 *
 * socket(2) is allowed for AF_UNIX only (sd_notify, syslog).  Everything
 * else -- execve, fork without CLONE_THREAD is still possible through
 * clone3 (its flags live in memory seccomp cannot read), but exec, ptrace,
 * kill, mount, network sockets, module loading are not -- hits `action`.
 */
#ifndef VFSD_SECCOMP_H
#define VFSD_SECCOMP_H

#include <stdbool.h>
#include <sys/types.h>

/* What happens on a call outside the list (--seccomp=...). */
enum filter_action {
	FILTER_KILL,    /* the whole process dies with SIGSYS (default) */
	FILTER_LOG,     /* allowed, logged by the kernel (audit / dmesg) */
	FILTER_TRAP,    /* SIGSYS: vfsd logs the call, it fails with ENOSYS */
	FILTER_NONE,    /* no filter */
};

/* "kill", "log", "trap", "none" <-> the enum.  -EINVAL for anything else. */
int filter_action_parse(const char *s, enum filter_action *out);
const char *filter_action_name(enum filter_action action);

/*
 * Build the filter and load it for every thread of the process (TSYNC).
 * Requires PR_SET_NO_NEW_PRIVS or CAP_SYS_ADMIN.  FILTER_NONE: nothing.
 * 0 or -errno; does not log (the caller does).
 */
int filter_install(enum filter_action action);

/*
 * The much shorter filter of the pid namespace's supervisor (vfsd/
 * supervisor.c): waiting, relaying, logging; rt_sigqueueinfo to `server`
 * only.  Same actions and return values as filter_install().
 */
int filter_install_supervisor(enum filter_action action, pid_t server);

/* The allowlists, NULL-terminated (tests, documentation). */
extern const char *const filter_allowed_syscalls[];
extern const char *const filter_supervisor_syscalls[];

#endif
