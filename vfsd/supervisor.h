/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pid namespace (sandbox stage 2) and the supervisor it takes: vfsd
 * forks once, the child serves as pid 1 of a new pid namespace, the parent
 * stays outside and does what only a process outside can do.  See
 * supervisor.c.
 */
#ifndef VFSD_SUPERVISOR_H
#define VFSD_SUPERVISOR_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"

/*
 * Create a pid namespace where the kernel permits it, and fork into it.
 * Must be called on the process's only thread, after notify_init() and
 * log_use_syslog() (their sockets are what the supervisor keeps).
 *  - In the server (the namespace's pid 1): returns 1.
 *  - When the kernel refuses a pid namespace (EPERM, EINVAL: containers,
 *    no CAP_SYS_ADMIN): returns 0, nothing changed.
 *  - In the supervisor: never returns; it exits as the server does.
 *  - -errno after one line when a pid namespace exists but vfsd could not
 *    fork into it.
 */
int supervisor_fork(const struct config *cfg);

/* True in a server forked by supervisor_fork(). */
bool supervisor_active(void);

/*
 * The signals that ask the server to stop (the stopper thread waits for
 * them): SIGTERM, SIGINT and SIGHUP without a supervisor; with one, the
 * signal it passes them on as (the number received in si_value).
 */
void supervisor_stop_signals(sigset_t *mask);
/* The signal a stop request was (SIGTERM...), from what the stopper got. */
int supervisor_stop_signal_of(const siginfo_t *si);

/*
 * The pid of the process at the other end of the connected AF_UNIX socket
 * conn, as the host sees it: asked from the supervisor when there is one
 * (SO_PEERCRED gives 0 for a process outside our pid namespace), else
 * SO_PEERCRED.  0 when unknown.  Thread-safe.
 */
int supervisor_peer_pid(int conn);

/*
 * The notification lines the supervisor passes on from the server, into
 * out (NUL-terminated, newline-separated): READY=1, STOPPING=1,
 * WATCHDOG=1, STATUS=..., and MAINPID= only naming self.  Anything else a
 * compromised server might send is dropped.  Returns the length of out.
 */
size_t supervisor_filter_notify(const char *in, size_t len, char *out,
				size_t size, pid_t self);

#endif
