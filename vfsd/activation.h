/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where the listening socket comes from, and telling the service manager
 * about our state.  Three sources, in this order of precedence:
 *   --fd=N          an inherited listening socket (kata, LXD, libvirt);
 *   --socket-path   a socket we create (and remove on exit);
 *   LISTEN_FDS      systemd socket activation (never created or removed by us).
 */
#ifndef VFSD_ACTIVATION_H
#define VFSD_ACTIVATION_H

#include <stdbool.h>

#include "config.h"

struct listener {
	int fd;
	char *created_path;    /* set when we created the socket file */
	int lock_fd;           /* lock on created_path + ".lock" */
};

/* Acquire the listening socket; logs one line and returns -errno on
 * failure, leaving nothing behind. */
int listener_open(struct listener *l, const struct config *cfg);
/* Close it, and remove the socket file if we created it. */
void listener_close(struct listener *l);

/* sd_notify wrappers: no-ops without NOTIFY_SOCKET. */
void notify_ready(void);
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void notify_stopping(void);

#endif
