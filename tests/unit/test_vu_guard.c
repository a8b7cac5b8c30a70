// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The SIGBUS guard (vhost-user/guard.c) in-process: a registered mapping
 * whose file shrinks reads as zeros afterwards, the owner is told and its
 * socket shut down; a fault outside every registered range still kills.
 * Each case runs in a child process (the handler is process-wide).
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "vhost-user/guard.h"

#define SIZE (1u << 20)

static uint8_t *map_memfd(int *fd_out)
{
	int fd = memfd_create("guard-test", MFD_CLOEXEC);
	uint8_t *p;

	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, SIZE), 0);
	p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(p, MAP_FAILED);
	memset(p, 0xab, SIZE);
	*fd_out = fd;
	return p;
}

/* Child: 0 when everything held, else the number of the failed check. */
static int guarded_child(void)
{
	struct vu_guard_owner owner;
	int sv[2], fd, slot;
	uint8_t *p, v;
	char c;

	if (vu_guard_install() < 0)
		return 1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 2;
	atomic_init(&owner.truncated, 0);
	atomic_init(&owner.sock, sv[0]);
	p = map_memfd(&fd);
	slot = vu_guard_add(p, SIZE, 4096, &owner);
	if (slot < 0)
		return 3;
	if (ftruncate(fd, SIZE / 2) < 0)
		return 4;
	/* Below the cut: the file's data. */
	if (((volatile uint8_t *)p)[SIZE / 2 - 1] != 0xab)
		return 5;
	/* Past it: would be SIGBUS; zeros, writes land somewhere harmless. */
	v = ((volatile uint8_t *)p)[SIZE / 2 + 100];
	if (v != 0)
		return 6;
	((volatile uint8_t *)p)[SIZE - 1] = 1;
	if (!atomic_load(&owner.truncated) || vu_guard_faults() != 1)
		return 7;
	/* The peer sees EOF: the socket was shut down. */
	if (recv(sv[1], &c, 1, MSG_DONTWAIT) != 0)
		return 8;
	vu_guard_remove(slot);
	munmap(p, SIZE);
	return 0;
}

Test(vu_guard, truncated_memory_reads_zeros_and_tells_the_owner)
{
	int status;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(guarded_child());
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "the guarded process died (status 0x%x)", status);
	cr_assert_eq(WEXITSTATUS(status), 0, "check %d failed", WEXITSTATUS(status));
}

/* A range that was never registered (or no longer is) is not ours. */
Test(vu_guard, fault_outside_guest_memory_still_kills)
{
	int status;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fd, slot;
		uint8_t *p = map_memfd(&fd);

		if (vu_guard_install() < 0)
			_exit(1);
		slot = vu_guard_add(p, SIZE, 4096, NULL);
		vu_guard_remove(slot);
		if (ftruncate(fd, 0) < 0)
			_exit(2);
		(void)((volatile uint8_t *)p)[100];
		_exit(3);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS,
		  "status 0x%x: the fault did not end the process by SIGBUS", status);
}
