/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The sandbox vfsd serves from: namespaces, an empty root, capabilities,
 * no_new_privs and the seccomp allowlist.  Entered once, after the shared
 * directory and the listening socket are open and before READY=1, while
 * the process still has one thread.  See sandbox.c for the stages.
 */
#ifndef VFSD_SANDBOX_H
#define VFSD_SANDBOX_H

#include <stdint.h>

#include "config.h"

/*
 * --uid-map/--gid-map: move into a new user namespace with those maps (an
 * id kind without a map maps our own id to 0).  A no-op without maps.
 * Before the shared directory is opened and before any thread; logs one
 * line and returns -errno on failure (-EINVAL: a bad map, a usage error).
 */
int sandbox_userns_enter(const struct config *cfg);

/*
 * Enter the sandbox cfg asks for (--sandbox, --modcaps, --seccomp).  Logs
 * one line saying what is in place, or one line naming what failed; then
 * returns -errno and the caller exits with EXIT_SANDBOX.  Must be called
 * before any thread is started (capabilities and unshare are per thread).
 */
int sandbox_enter(const struct config *cfg);

/*
 * Parse --modcaps: items separated by ':' or ',', each "+name" or "-name",
 * name as in capabilities(7) with or without "cap_", any case
 * ("+sys_admin:-mknod").  Bit masks of capability numbers.  -EINVAL (and
 * one line on stderr) on an unknown name.
 */
int sandbox_parse_modcaps(const char *spec, uint64_t *add, uint64_t *drop);

/* Stages 4: keep only the capabilities in keep (a mask), in every set,
 * bounding set included.  Also for the pid namespace's supervisor (keep
 * 0).  Logs one line on failure. */
int sandbox_drop_caps(uint64_t keep);

/* The capabilities kept by default, as a mask (CHOWN, DAC_OVERRIDE, FOWNER,
 * FSETID, SETGID, SETUID, MKNOD, SETFCAP). */
uint64_t sandbox_default_caps(void);

#endif
