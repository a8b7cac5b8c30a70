/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where the listening socket comes from, and telling the service manager
 * about our state.  Exactly one source:
 *   --fd=N          an inherited listening socket (kata, LXD, libvirt);
 *   --socket-path   a socket we create (and remove on exit);
 *   LISTEN_FDS      systemd socket activation (never created or removed by us).
 * Combining socket activation with --fd or --socket-path is refused.
 */
#ifndef VFSD_ACTIVATION_H
#define VFSD_ACTIVATION_H

#include <stdbool.h>

#include "config.h"

/* The name a socket unit gives our socket (FileDescriptorName=) when it
 * passes several. */
#define VFSD_FD_NAME "vfsd"

struct listener {
	int fd;
	char *created_path;    /* set when we created the socket file */
	char *lock_path;       /* PATH.lock, set while we hold its lock */
	int lock_fd;           /* flock on lock_path */
	int dir_fd;            /* O_PATH of their directory: they are removed
				* through it, as the sandbox hides the path */
};

/* Acquire the listening socket; logs one line and returns -errno on
 * failure, leaving nothing behind (no socket file, no lock file).
 * -EINVAL means a usage error (conflicting or missing options); anything
 * else means the socket could not be set up. */
int listener_open(struct listener *l, const struct config *cfg);
/* Close it, and remove the socket and lock files if we created them. */
void listener_close(struct listener *l);

/* Connect to the service manager's NOTIFY_SOCKET now, while its path is
 * reachable: the sandbox hides it later.  Without NOTIFY_SOCKET, or if it
 * cannot be reached, notifications are dropped (logged at debug level).
 * Also takes our pid as the main pid, and WATCHDOG_PID/WATCHDOG_USEC,
 * before a pid namespace renames us pid 1. */
void notify_init(void);
/* sd_notify wrappers: no-ops without NOTIFY_SOCKET.  Thread-safe. */
void notify_ready(void);
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void notify_stopping(void);
/* Service watchdog (WatchdogSec=): notify_watchdog_ms() is how long a loop
 * may sleep between notify_watchdog() calls (-1: no watchdog);
 * notify_watchdog() sends WATCHDOG=1 when one is due.  Called from the
 * control thread only, so that a stuck control thread stops the pings. */
int notify_watchdog_ms(void);
void notify_watchdog(void);

/*
 * The pid namespace (vfsd/supervisor.c).  The service manager knows only
 * the supervisor's pid, so the server sends its notifications through the
 * supervisor: notify_redirect(fd) in the server makes every notify_*()
 * write to fd instead; notify_forward() in the supervisor passes one on.
 * notify_socket_fd(): the fd the supervisor must keep open (-1: none).
 */
void notify_redirect(int fd);
void notify_forward(const char *msg, size_t len);
int notify_socket_fd(void);

#endif
