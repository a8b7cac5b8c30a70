/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The second transport: the host kernel's FUSE client through /dev/fuse.
 *
 * `vfsd --mount=DIR` mounts the shared directory on DIR (libfuse3's
 * fuse_session_mount(), which uses fusermount3 for unprivileged users) and
 * feeds the same FUSE engine the virtqueues feed.  The engine does not know
 * which transport serves it.  Used to test the filesystem semantics at
 * native speed, with no VM, against the host's own behaviour.
 */
#ifndef VFSD_FUSEDEV_H
#define VFSD_FUSEDEV_H

#include "server.h"

/* For server_config.max_lock_waiters: a blocking lock request parked in
 * the engine holds a request slot (2 default workers x 4 slots); half of
 * them stay for everything else. */
#define FUSEDEV_MAX_LOCK_WAITERS 4u

struct fusedev_config {
	const char *mountpoint;
	unsigned int threads;      /* worker threads; 0: default (2) */
	uint32_t max_write;        /* as negotiated by the engine */
};

/*
 * Mount, serve until SIGTERM/SIGINT/SIGHUP or until the mount goes away
 * (umount from outside), unmount.  Logs its own failures.
 * Returns 0, -EBUSY-style -errno when the mount could not be set up
 * (nothing was mounted), or another -errno for a failure while serving.
 * *mounted tells the two apart: false when mounting failed.
 */
int fusedev_serve(struct server *srv, const struct fusedev_config *cfg,
		  bool *mounted);

#endif
