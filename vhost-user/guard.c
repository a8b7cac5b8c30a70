// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The SIGBUS guard over guest memory (see guard.h for the why).
 *
 * Everything the handler touches is a plain array of slots with atomic
 * fields, and it calls only mmap, shutdown and sigaction (plus raise for a
 * SIGBUS somebody sent us): all async-signal-safe system calls, all in the
 * seccomp allowlist.  SA_ONSTACK is not asked for: the fault is an access
 * to guest memory from an ordinary stack frame (memcpy, a ring read), not a
 * stack overflow, and worker threads have no alternate stack anyway.
 *
 * Slots are claimed with a compare-and-swap, filled, then published by a
 * release store of `start`; the handler reads `start` with acquire.  A
 * slot is unpublished before its range is unmapped, and ranges are
 * unmapped only after every worker stopped touching them (vu.h's
 * queue_stop contract), so the handler never races with a removal of the
 * range it is looking at.
 */
#include "vhost-user/guard.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

/* Two memory tables of VU_MAX_MEM_REGIONS during SET_MEM_TABLE, for more
 * than one device in tests: plenty. */
#define GUARD_SLOTS 256

struct guard_slot {
	atomic_int claimed;
	_Atomic uintptr_t start;        /* 0: not published */
	_Atomic size_t len;
	_Atomic size_t align;
	struct vu_guard_owner *_Atomic owner;
};

static struct guard_slot slots[GUARD_SLOTS];
static atomic_ulong faults;

static void restore_default(const siginfo_t *si)
{
	struct sigaction dfl;

	/* The init of a pid namespace drops a signal it has no handler for
	 * (vfsd/supervisor.c): a SIGBUS sent by someone would not end it,
	 * only disarm the guard.  Like any signal sent to it, it is ignored;
	 * its supervisor is the process to signal. */
	if (si->si_code <= 0 && getpid() == 1)
		return;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(SIGBUS, &dfl, NULL);
	/* A fault repeats on return and then kills with a core dump; a
	 * signal sent by someone must be raised again (it is blocked until
	 * the handler returns). */
	if (si->si_code <= 0)
		raise(SIGBUS);
}

/* Zero pages from the faulting page to the end of the mapping: everything
 * past a shrunk file's end is missing, and the device stops anyway. */
static int patch(struct guard_slot *s, uintptr_t start, uintptr_t addr)
{
	size_t len = atomic_load_explicit(&s->len, memory_order_relaxed);
	size_t align = atomic_load_explicit(&s->align, memory_order_relaxed);
	uintptr_t page = start + ((addr - start) & ~(uintptr_t)(align - 1));
	struct vu_guard_owner *owner;
	void *p;

	p = mmap((void *)page, start + len - page, PROT_READ | PROT_WRITE,
		 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	atomic_fetch_add_explicit(&faults, 1, memory_order_relaxed);
	owner = atomic_load_explicit(&s->owner, memory_order_relaxed);
	if (owner) {
		int sock = atomic_load(&owner->sock);

		atomic_store(&owner->truncated, 1);
		/* Wakes the control thread (EOF on its socket) and tells the
		 * front-end at once. */
		if (sock >= 0)
			shutdown(sock, SHUT_RDWR);
	}
	return 0;
}

static void on_sigbus(int sig, siginfo_t *si, void *uctx)
{
	uintptr_t addr = (uintptr_t)si->si_addr;
	int saved_errno = errno;

	(void)sig;
	(void)uctx;
	/* BUS_ADRERR: a page past the end of the mapped file.  Hardware
	 * memory errors (BUS_MCEERR_*) and alignment faults are not ours. */
	if (si->si_code == BUS_ADRERR) {
		for (unsigned int i = 0; i < GUARD_SLOTS; i++) {
			struct guard_slot *s = &slots[i];
			uintptr_t start = atomic_load_explicit(&s->start,
							       memory_order_acquire);

			if (!start || addr < start ||
			    addr - start >= atomic_load_explicit(&s->len, memory_order_relaxed))
				continue;
			if (patch(s, start, addr) == 0) {
				errno = saved_errno;
				return;
			}
			break;
		}
	}
	restore_default(si);
	errno = saved_errno;
}

int vu_guard_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGBUS, &sa, NULL) < 0 ? -errno : 0;
}

int vu_guard_add(void *base, size_t len, size_t align,
		 struct vu_guard_owner *owner)
{
	if (!base || !len || !align || (align & (align - 1)))
		return -EINVAL;
	for (int i = 0; i < GUARD_SLOTS; i++) {
		struct guard_slot *s = &slots[i];
		int expect = 0;

		if (!atomic_compare_exchange_strong(&s->claimed, &expect, 1))
			continue;
		atomic_store_explicit(&s->len, len, memory_order_relaxed);
		atomic_store_explicit(&s->align, align, memory_order_relaxed);
		atomic_store_explicit(&s->owner, owner, memory_order_relaxed);
		atomic_store_explicit(&s->start, (uintptr_t)base,
				      memory_order_release);
		return i;
	}
	return -ENOSPC;
}

void vu_guard_remove(int slot)
{
	if (slot < 0 || slot >= GUARD_SLOTS)
		return;
	atomic_store_explicit(&slots[slot].start, 0, memory_order_release);
	atomic_store_explicit(&slots[slot].owner, NULL, memory_order_relaxed);
	atomic_store(&slots[slot].claimed, 0);
}

unsigned long vu_guard_faults(void)
{
	return atomic_load(&faults);
}
