/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest memory the front-end can pull away: a SIGBUS guard.
 *
 * Guest memory is a MAP_SHARED mapping of a file the front-end owns.  If the
 * front-end shrinks that file (ftruncate of its memfd) after handing it
 * over, every access of ours to the pages past the new end raises SIGBUS,
 * which by default kills the daemon: one hostile front-end would end the
 * service for everybody.  The guard turns that into "this device stops":
 *
 *   - mem.c registers each mapped range (vu_guard_add) and removes it
 *     before unmapping (vu_guard_remove).  The registry is a fixed array
 *     of slots with atomic fields: the signal handler reads it without a
 *     lock, on whatever thread faulted.
 *   - The SIGBUS handler (vu_guard_install, once at start-up, process-wide)
 *     looks the faulting address up.  Inside guest memory it maps
 *     anonymous zero pages (MAP_FIXED|MAP_PRIVATE|MAP_ANONYMOUS) from the
 *     faulting page to the end of the mapping, so that the access completes
 *     (reads give zeros, writes go nowhere), latches the owner's
 *     `truncated` flag and shuts the owner's connection socket down, which
 *     wakes the control thread: vu_dev_dispatch then logs one line and
 *     fails, the caller frees the device and serves the next front-end.
 *     Outside guest memory the default action is restored and the access
 *     faults again: a real bug still dumps core.
 *
 * The kernel's own accesses (pread/io_uring into truncated pages) never
 * raise SIGBUS: they fail with EFAULT, which the engine answers as an error.
 */
#ifndef VU_GUARD_H
#define VU_GUARD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Per device: what the handler tells it. */
struct vu_guard_owner {
	atomic_int truncated;   /* set by the handler, never cleared */
	atomic_int sock;        /* shut down by the handler; -1: none */
};

/* Install the process-wide SIGBUS handler.  0 or -errno. */
int vu_guard_install(void);

/* Register [base, base + len) (one mmap), faults in which are handled with
 * pages of `align` bytes (its page size: hugetlbfs mappings can only be
 * replaced in huge pages).  owner may be NULL (tests).  Returns the slot
 * (>= 0) or -ENOSPC when the registry is full. */
int vu_guard_add(void *base, size_t len, size_t align,
		 struct vu_guard_owner *owner);

/* Forget a slot before its range is unmapped.  Negative slots are ignored. */
void vu_guard_remove(int slot);

/* Has a fault anywhere in guest memory happened since start-up (tests)? */
unsigned long vu_guard_faults(void);

#endif
