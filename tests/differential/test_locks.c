// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Locks through `vfsd --mount --posix-lock --flock`, against the same steps
 * on a native directory: fcntl record locks between processes (GETLK,
 * SETLK, SETLKW), flock, release on close and exit, SETLKW that waits while
 * the mount keeps serving, a wait interrupted by a signal (FUSE_INTERRUPT),
 * locks seen by host processes, SIGTERM with a wait parked -- and, with
 * the options off, the guest-local locking of the kernel.
 *
 * "A process waits in fcntl/flock" is observed through /proc/PID/syscall,
 * never through sleeps; every wait below is bounded.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "diff.h"

#define WAIT_MS 20000

static void setup_locks(void)
{
	static const char *const opts[] = { "--cache=never", "--posix-lock",
					    "--flock", NULL };

	diff_setup_opts(opts);
}

/* One suite (two leak a criterion allocation under ASan); the locks-off
 * test sets its own fixture. */
TestSuite(locks, .init = setup_locks, .fini = diff_teardown, .timeout = 120);

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int setlk(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET,
			    .l_start = start, .l_len = len };

	return fcntl(fd, cmd, &fl) < 0 ? -errno : 0;
}

static int open_at(struct side *s, const char *name)
{
	int fd = openat(s->dir, name, O_RDWR | O_CLOEXEC);

	cr_assert(fd >= 0, "%s: open %s: %s", s->name, name, strerror(errno));
	return fd;
}

/* Read one int from fd within WAIT_MS; -10000 on timeout or EOF. */
static int read_int(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int v;

	if (poll(&p, 1, timeout_ms) != 1)
		return -10000;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return -10000;
	return v;
}

static void write_int(int fd, int v)
{
	if (write(fd, &v, sizeof(v)) != sizeof(v))
		_exit(99);
}

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

/* Exit status of pid, waited for at most WAIT_MS (then killed: -1). */
static int wait_exit(pid_t pid)
{
	long deadline = now_ms() + WAIT_MS;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		if (r < 0 || now_ms() > deadline)
			break;
		usleep(2000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/* Wait until pid sits in system call nr (bounded). */
static void wait_in_syscall(pid_t pid, long nr, const char *what)
{
	long deadline = now_ms() + WAIT_MS;
	char path[64], buf[64];

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	for (;;) {
		FILE *f = fopen(path, "re");
		bool in = false;

		if (f) {
			if (fgets(buf, sizeof(buf), f))
				in = strtol(buf, NULL, 10) == nr;
			fclose(f);
		}
		if (in)
			return;
		cr_assert(now_ms() < deadline, "%s: process %d never waited",
			  what, (int)pid);
		usleep(2000);
	}
}

/* ---- fcntl record locks between two processes ----------------------------- */

struct conflict_result {
	int getlk_type;
	long getlk_start, getlk_len;
	int getlk_pid;
	int setlk_overlap;      /* -errno */
	int setlk_beside;
	int getlk_free_type;
};

static void conflicts_on(struct side *s, struct conflict_result *res)
{
	int fd = open_at(s, "a"), p[2];
	pid_t pid;

	cr_assert_eq(setlk(fd, F_SETLK, F_WRLCK, 0, 10), 0, "%s", s->name);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		struct conflict_result r = { 0 };
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
				    .l_start = 5, .l_len = 1 };
		int fd2 = openat(s->dir, "a", O_RDWR | O_CLOEXEC);

		if (fd2 < 0 || fcntl(fd2, F_GETLK, &fl) < 0)
			_exit(1);
		r.getlk_type = fl.l_type;
		r.getlk_start = fl.l_start;
		r.getlk_len = fl.l_len;
		r.getlk_pid = fl.l_pid;
		r.setlk_overlap = setlk(fd2, F_SETLK, F_RDLCK, 5, 1);
		r.setlk_beside = setlk(fd2, F_SETLK, F_WRLCK, 20, 5);
		fl = (struct flock){ .l_type = F_RDLCK, .l_whence = SEEK_SET,
				     .l_start = 10, .l_len = 10 };
		if (fcntl(fd2, F_GETLK, &fl) < 0)
			_exit(2);
		r.getlk_free_type = fl.l_type;
		if (write(p[1], &r, sizeof(r)) != sizeof(r))
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	cr_assert_eq(wait_exit(pid), 0, "%s: child failed", s->name);
	cr_assert_eq(read(p[0], res, sizeof(*res)), (ssize_t)sizeof(*res));
	close(p[0]);
	/* The child's lock on [20,25) went with it. */
	cr_assert_eq(setlk(fd, F_SETLK, F_WRLCK, 20, 5), 0, "%s", s->name);
	close(fd);
}

Test(locks, fcntl_locks_conflict_between_processes)
{
	struct conflict_result r[2];

	for (int i = 0; i < 2; i++)
		conflicts_on(&D.s[i], &r[i]);
	cr_assert_eq(r[0].getlk_type, F_WRLCK);
	cr_assert_eq(r[1].getlk_type, r[0].getlk_type);
	cr_assert_eq(r[1].getlk_start, r[0].getlk_start);
	cr_assert_eq(r[1].getlk_len, r[0].getlk_len);
	cr_assert_eq(r[0].setlk_overlap, -EAGAIN);
	cr_assert_eq(r[1].setlk_overlap, r[0].setlk_overlap);
	cr_assert_eq(r[0].setlk_beside, 0);
	cr_assert_eq(r[1].setlk_beside, 0);
	cr_assert_eq(r[0].getlk_free_type, F_UNLCK);
	cr_assert_eq(r[1].getlk_free_type, F_UNLCK);
	/* The holder's pid: the native kernel knows it; vfsd reports 0,
	 * "not known" (documented in vfsd(8)). */
	cr_assert_eq(r[0].getlk_pid, getpid());
	cr_assert_eq(r[1].getlk_pid, 0);
}

/* ---- SETLKW waits, and the mount keeps serving meanwhile ------------------ */

#define WAITERS 3

struct wait_result {
	bool early;             /* a waiter got the lock while it was held */
	int stat_ok;
	int acquired;
	int exits_ok;
};

static void waiter_child(struct side *s, int wfd, int idx)
{
	int fd = openat(s->dir, "a", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		_exit(1);
	if (setlk(fd, F_SETLKW, F_WRLCK, 0, 0) < 0)
		_exit(2);
	write_int(wfd, idx);
	/* Exiting releases the lock for the next waiter. */
	_exit(0);
}

static void waits_on(struct side *s, struct wait_result *res)
{
	int fd = open_at(s, "a"), p[2], q[2];
	pid_t pids[WAITERS], st;
	struct stat sb;

	memset(res, 0, sizeof(*res));
	cr_assert_eq(setlk(fd, F_SETLK, F_WRLCK, 0, 0), 0);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(q, O_CLOEXEC), 0);
	for (int i = 0; i < WAITERS; i++) {
		pids[i] = fork();
		cr_assert(pids[i] >= 0);
		if (pids[i] == 0)
			waiter_child(s, p[1], i);
	}
	for (int i = 0; i < WAITERS; i++)
		wait_in_syscall(pids[i], SYS_fcntl, s->name);
	/*
	 * /dev/fuse hands requests out in order, so this stat and read reach
	 * vfsd after every SETLKW above: if a wait held a worker (vfsd has
	 * two), they would never be answered.
	 */
	st = fork();
	cr_assert(st >= 0);
	if (st == 0) {
		char buf[8];
		int f;

		if (fstatat(s->dir, "d/x", &sb, 0) < 0)
			_exit(1);
		f = openat(s->dir, "d/x", O_RDONLY | O_CLOEXEC);
		if (f < 0 || read(f, buf, sizeof(buf)) != 6)
			_exit(2);
		write_int(q[1], 1);
		_exit(0);
	}
	res->stat_ok = read_int(q[0], WAIT_MS);
	cr_assert_eq(wait_exit(st), 0, "%s: stat while locks wait", s->name);
	res->early = readable(p[0]);
	close(fd);	/* releases: the waiters now get it one by one */
	for (int i = 0; i < WAITERS; i++)
		if (read_int(p[0], WAIT_MS) >= 0)
			res->acquired++;
	for (int i = 0; i < WAITERS; i++)
		res->exits_ok += wait_exit(pids[i]) == 0;
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

Test(locks, setlkw_waits_while_the_mount_serves_others)
{
	struct wait_result r[2];

	for (int i = 0; i < 2; i++) {
		waits_on(&D.s[i], &r[i]);
		cr_assert_not(r[i].early, "%s: a waiter got a held lock",
			      D.s[i].name);
		cr_assert_eq(r[i].stat_ok, 1, "%s: stat not served",
			     D.s[i].name);
		cr_assert_eq(r[i].acquired, WAITERS, "%s", D.s[i].name);
		cr_assert_eq(r[i].exits_ok, WAITERS, "%s", D.s[i].name);
	}
}

/* ---- a wait interrupted by a signal ------------------------------------- */

static void on_usr1(int sig)
{
	(void)sig;
}

static int interrupted_on(struct side *s)
{
	int fd = open_at(s, "a"), p[2], v;
	pid_t pid;

	cr_assert_eq(setlk(fd, F_SETLK, F_WRLCK, 0, 0), 0);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		/* No SA_RESTART: the wait must end with EINTR. */
		struct sigaction sa = { .sa_handler = on_usr1 };
		int fd2 = openat(s->dir, "a", O_RDWR | O_CLOEXEC);

		sigaction(SIGUSR1, &sa, NULL);
		if (fd2 < 0)
			_exit(1);
		write_int(p[1], setlk(fd2, F_SETLKW, F_WRLCK, 0, 0));
		_exit(0);
	}
	wait_in_syscall(pid, SYS_fcntl, s->name);
	kill(pid, SIGUSR1);
	v = read_int(p[0], WAIT_MS);
	cr_assert_eq(wait_exit(pid), 0);
	/* Still ours: the cancelled wait took nothing. */
	cr_assert_eq(setlk(fd, F_SETLK, F_UNLCK, 0, 0), 0);
	close(fd);
	close(p[0]);
	close(p[1]);
	return v;
}

Test(locks, setlkw_interrupted_by_a_signal_gives_eintr)
{
	int r0 = interrupted_on(&D.s[0]);
	int r1 = interrupted_on(&D.s[1]);

	cr_assert_eq(r0, -EINTR);
	cr_assert_eq(r1, r0);
}

/* ---- flock ------------------------------------------------------------- */

Test(locks, flock_conflicts_between_open_files)
{
	OPEN(0, openat(S->dir, "a", O_RDWR | O_CLOEXEC));
	OPEN(1, openat(S->dir, "a", O_RDONLY | O_CLOEXEC));
	BOTH(flock(S->fd[0], LOCK_EX | LOCK_NB));
	BOTH(flock(S->fd[1], LOCK_EX | LOCK_NB));
	BOTH(flock(S->fd[1], LOCK_SH | LOCK_NB));
	BOTH(flock(S->fd[0], LOCK_SH));
	BOTH(flock(S->fd[1], LOCK_SH | LOCK_NB));
	BOTH(flock(S->fd[1], LOCK_EX | LOCK_NB));
	BOTH(flock(S->fd[0], LOCK_UN));
	BOTH(flock(S->fd[1], LOCK_EX | LOCK_NB));
	BOTH(flock(S->fd[0], LOCK_SH | LOCK_NB));
	/* Closing the holder releases. */
	diff_close(1);
	BOTH_AFTER_RELEASE(flock(S->fd[0], LOCK_EX | LOCK_NB));
	/* The two kinds are independent. */
	OPEN(2, openat(S->dir, "a", O_RDWR | O_CLOEXEC));
	BOTH(setlk(S->fd[2], F_SETLK, F_WRLCK, 0, 0));
	diff_close(0);
	diff_close(2);
}

/* An OFD lock belongs to its open file: closing that file must free it.
 * Through FUSE the kernel sends no unlock for it, only RELEASE of the
 * handle (in the background), so this fails on a server that drops locks
 * at FLUSH alone. */
Test(locks, ofd_lock_goes_when_its_open_file_closes)
{
	OPEN(0, openat(S->dir, "a", O_RDWR | O_CLOEXEC));
	OPEN(1, openat(S->dir, "a", O_RDWR | O_CLOEXEC));
	BOTH(setlk(S->fd[0], F_OFD_SETLK, F_WRLCK, 0, 100));
	/* The other open file conflicts, even in the same process. */
	BOTH(setlk(S->fd[1], F_OFD_SETLK, F_WRLCK, 50, 10));
	BOTH(setlk(S->fd[1], F_OFD_SETLK, F_RDLCK, 100, 10));
	diff_close(0);
	BOTH_AFTER_RELEASE(setlk(S->fd[1], F_OFD_SETLK, F_WRLCK, 0, 100));
	diff_close(1);
}

static int flock_wait_on(struct side *s)
{
	int fd = open_at(s, "a"), p[2], v;
	pid_t pid;

	cr_assert_eq(flock(fd, LOCK_EX), 0);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int fd2 = openat(s->dir, "a", O_RDWR | O_CLOEXEC);

		/* The inherited fd shares the holder's open file (and its
		 * flock): it must not keep it alive. */
		close(fd);
		if (fd2 < 0)
			_exit(1);
		write_int(p[1], flock(fd2, LOCK_EX) < 0 ? -errno : 0);
		_exit(0);
	}
	wait_in_syscall(pid, SYS_flock, s->name);
	cr_assert_not(readable(p[0]), "%s: flock granted while held",
		      s->name);
	close(fd);
	v = read_int(p[0], WAIT_MS);
	cr_assert_eq(wait_exit(pid), 0);
	close(p[0]);
	close(p[1]);
	return v;
}

Test(locks, flock_waits_until_the_holder_closes)
{
	cr_assert_eq(flock_wait_on(&D.s[0]), 0);
	cr_assert_eq(flock_wait_on(&D.s[1]), 0);
}

/* ---- release on close and on exit --------------------------------------- */

struct release_result {
	int after_close;        /* parent's SETLK once the child closed fd2 */
	int after_exit_posix;
	int after_exit_flock;
};

static void release_on(struct side *s, struct release_result *res)
{
	int fd = open_at(s, "a"), p[2], go[2];
	pid_t pid;

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(go, O_CLOEXEC), 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int f1 = openat(s->dir, "a", O_RDWR | O_CLOEXEC);
		int f2 = openat(s->dir, "a", O_RDONLY | O_CLOEXEC);

		if (f1 < 0 || f2 < 0 || setlk(f1, F_SETLK, F_WRLCK, 0, 0) < 0)
			_exit(1);
		write_int(p[1], 1);
		(void)read_int(go[0], WAIT_MS);
		/* POSIX: closing ANY fd of the file drops the process's locks
		 * on it (FLUSH with the lock owner). */
		close(f2);
		write_int(p[1], 2);
		(void)read_int(go[0], WAIT_MS);
		if (setlk(f1, F_SETLK, F_WRLCK, 0, 0) < 0 ||
		    flock(f1, LOCK_EX) < 0)
			_exit(2);
		write_int(p[1], 3);
		(void)read_int(go[0], WAIT_MS);
		_exit(0);       /* exit with both locks held */
	}
	cr_assert_eq(read_int(p[0], WAIT_MS), 1);
	cr_assert_eq(setlk(fd, F_SETLK, F_WRLCK, 0, 0), -EAGAIN, "%s",
		     s->name);
	write_int(go[1], 0);
	cr_assert_eq(read_int(p[0], WAIT_MS), 2);
	res->after_close = setlk(fd, F_SETLK, F_WRLCK, 0, 0);
	cr_assert_eq(setlk(fd, F_SETLK, F_UNLCK, 0, 0), 0);
	write_int(go[1], 0);
	cr_assert_eq(read_int(p[0], WAIT_MS), 3);
	cr_assert_eq(flock(fd, LOCK_EX | LOCK_NB), -1);
	write_int(go[1], 0);
	cr_assert_eq(wait_exit(pid), 0);
	res->after_exit_posix = setlk(fd, F_SETLK, F_WRLCK, 0, 0);
	res->after_exit_flock = flock(fd, LOCK_EX | LOCK_NB) < 0 ? -errno : 0;
	close(fd);
	close(p[0]);
	close(p[1]);
	close(go[0]);
	close(go[1]);
}

Test(locks, locks_go_when_the_holder_closes_or_exits)
{
	struct release_result r[2];

	for (int i = 0; i < 2; i++) {
		release_on(&D.s[i], &r[i]);
		cr_assert_eq(r[i].after_close, 0, "%s", D.s[i].name);
		cr_assert_eq(r[i].after_exit_posix, 0, "%s", D.s[i].name);
		cr_assert_eq(r[i].after_exit_flock, 0, "%s", D.s[i].name);
	}
}

/* ---- the host sees them: they are real host locks ------------------------ */

static int host_getlk_type(const char *name)
{
	char path[4200];
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd, type;

	snprintf(path, sizeof(path), "%s/%s", D.shared, name);
	fd = open(path, O_RDWR | O_CLOEXEC);
	cr_assert(fd >= 0);
	/* An OFD query: our own classic locks would not show. */
	cr_assert_eq(fcntl(fd, F_OFD_GETLK, &fl), 0);
	type = fl.l_type;
	close(fd);
	return type;
}

Test(locks, guest_locks_are_host_locks)
{
	int fd = open_at(&D.s[1], "a"), h[2], go[2];
	char path[4200];
	pid_t pid;

	cr_assert_eq(setlk(fd, F_SETLK, F_WRLCK, 0, 0), 0);
	cr_assert_eq(host_getlk_type("a"), F_WRLCK);
	cr_assert_eq(setlk(fd, F_SETLK, F_UNLCK, 0, 0), 0);
	cr_assert_eq(host_getlk_type("a"), F_UNLCK);

	/* A host process's lock stops the guest side. */
	snprintf(path, sizeof(path), "%s/a", D.shared);
	cr_assert_eq(pipe2(h, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(go, O_CLOEXEC), 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int hf = open(path, O_RDWR | O_CLOEXEC);

		if (hf < 0 || setlk(hf, F_SETLK, F_RDLCK, 0, 100) < 0)
			_exit(1);
		write_int(h[1], 1);
		(void)read_int(go[0], WAIT_MS);
		_exit(0);
	}
	cr_assert_eq(read_int(h[0], WAIT_MS), 1);
	cr_assert_eq(setlk(fd, F_SETLK, F_WRLCK, 50, 1), -EAGAIN);
	cr_assert_eq(setlk(fd, F_SETLK, F_RDLCK, 50, 1), 0);
	cr_assert_eq(setlk(fd, F_SETLK, F_WRLCK, 100, 1), 0);
	write_int(go[1], 0);
	cr_assert_eq(wait_exit(pid), 0);
	cr_assert_eq(setlk(fd, F_SETLK, F_WRLCK, 0, 0), 0);
	close(fd);
	close(h[0]);
	close(h[1]);
	close(go[0]);
	close(go[1]);
}

/* ---- SIGTERM with a wait parked ------------------------------------------ */

Test(locks, sigterm_with_a_parked_setlkw_exits_promptly)
{
	int fd = open_at(&D.s[1], "a"), p[2], status = 0;
	long deadline;
	pid_t pid, r;

	cr_assert_eq(setlk(fd, F_SETLK, F_WRLCK, 0, 0), 0);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int fd2 = openat(D.s[1].dir, "a", O_RDWR | O_CLOEXEC);

		if (fd2 < 0)
			_exit(1);
		write_int(p[1], setlk(fd2, F_SETLKW, F_WRLCK, 0, 0));
		_exit(0);
	}
	wait_in_syscall(pid, SYS_fcntl, "vfsd");
	cr_assert_eq(kill(D.vfsd, SIGTERM), 0);
	deadline = now_ms() + WAIT_MS;
	while ((r = waitpid(D.vfsd, &status, WNOHANG)) == 0 &&
	       now_ms() < deadline)
		usleep(2000);
	if (r != D.vfsd) {
		kill(D.vfsd, SIGKILL);
		waitpid(D.vfsd, &status, 0);
		D.vfsd = 0;
		cr_assert_fail("vfsd did not exit on SIGTERM with a lock wait");
	}
	D.vfsd = 0;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "vfsd exit status 0x%x", status);
	/* The waiter was answered, not granted. */
	cr_assert_lt(read_int(p[0], WAIT_MS), 0);
	cr_assert_eq(wait_exit(pid), 0);
	close(fd);
	close(p[0]);
	close(p[1]);
}

/* ---- locks off: the guest kernel's own locks ---------------------------- */

Test(locks, off_locks_stay_local_to_the_mount, .init = diff_setup)
{
	int fd = open_at(&D.s[1], "a"), fd2, p[2];
	pid_t pid;

	cr_assert_eq(setlk(fd, F_SETLK, F_WRLCK, 0, 0), 0);
	/* Invisible on the host: vfsd was never asked. */
	cr_assert_eq(host_getlk_type("a"), F_UNLCK);
	/* Still a lock between processes using the mount. */
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int f = openat(D.s[1].dir, "a", O_RDWR | O_CLOEXEC);

		write_int(p[1], f < 0 ? -1000 : setlk(f, F_SETLK, F_WRLCK, 0, 0));
		_exit(0);
	}
	cr_assert_eq(read_int(p[0], WAIT_MS), -EAGAIN);
	cr_assert_eq(wait_exit(pid), 0);
	/* flock too. */
	fd2 = open_at(&D.s[1], "a");
	cr_assert_eq(flock(fd, LOCK_EX), 0);
	cr_assert_eq(flock(fd2, LOCK_EX | LOCK_NB), -1);
	cr_assert_eq(errno, EWOULDBLOCK);
	close(fd2);
	close(fd);
	close(p[0]);
	close(p[1]);
}
