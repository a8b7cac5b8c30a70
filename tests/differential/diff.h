/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Differential testing: every operation runs twice, once on a native
 * directory and once through a `vfsd --mount` of an identical copy, and the
 * results (return value, errno, data, stat fields, listings) must match.
 *
 * A test writes an operation once, as an expression over `S`, the side it
 * runs on: S->dir is a directory fd (the test's root on that side), S->fd[k]
 * the k-th file the test holds open there.  Return values that name an fd
 * (open, openat) differ by nature: OPEN() stores them and compares only
 * success and errno.
 */
#ifndef VFSD_DIFF_H
#define VFSD_DIFF_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

#define DIFF_FDS 16

struct side {
	const char *name;       /* "native" or "vfsd" */
	char root[4096];
	int dir;
	int fd[DIFF_FDS];
};

struct diff {
	struct side s[2];
	char tmp[256];
	char shared[4096];
	char mnt[4096];
	pid_t vfsd;
	unsigned long ops;
};

extern struct diff D;

/* Fixtures: a temp dir with native/ and shared/ seeded identically, and a
 * vfsd --mount of shared/ on mnt/ with the given extra options (NULL
 * terminated).  diff_setup_opts(NULL) = --cache=never. */
void diff_setup_opts(const char *const *extra);
void diff_setup(void);
void diff_setup_xattr(void);
void diff_setup_readonly(void);
void diff_teardown(void);

/* Compare one result pair; fails the test on a mismatch. */
void diff_cmp(const char *what, const char *file, int line,
	      const long r[2], const int e[2], bool sign_only);

#define BOTH_(expr, sign_only) do {					\
	long _r[2]; int _e[2];						\
	for (int _i = 0; _i < 2; _i++) {				\
		struct side *S = &D.s[_i];				\
		(void)S;						\
		errno = 0;						\
		_r[_i] = (long)(expr);					\
		_e[_i] = _r[_i] < 0 ? errno : 0;			\
	}								\
	diff_cmp(#expr, __FILE__, __LINE__, _r, _e, sign_only);	\
} while (0)

/* Run expr on both sides; results and errno must be equal. */
#define BOTH(expr) BOTH_(expr, false)
/* Same, but only success/failure and errno must match. */
#define BOTH_SIGN(expr) BOTH_(expr, true)

/*
 * BOTH, for a lock that close() freed: the kernel's FUSE client sends
 * RELEASE in the background once close() has returned, and a server with
 * several workers may handle the next request first.  So on the vfsd side
 * expr is tried again while it fails with EAGAIN, for at most
 * DIFF_RELEASE_WAIT_MS: a lock that is never freed still fails.
 */
#define DIFF_RELEASE_WAIT_MS 5000
#define BOTH_AFTER_RELEASE(expr) do {					\
	long _r[2]; int _e[2];						\
	for (int _i = 0; _i < 2; _i++) {				\
		struct side *S = &D.s[_i];				\
		for (int _ms = 0;; _ms++) {				\
			errno = 0;					\
			_r[_i] = (long)(expr);				\
			_e[_i] = _r[_i] < 0 ? errno : 0;		\
			if (_i == 0 || _e[_i] != EAGAIN ||		\
			    _ms >= DIFF_RELEASE_WAIT_MS)		\
				break;					\
			usleep(1000);					\
		}							\
	}								\
	diff_cmp(#expr, __FILE__, __LINE__, _r, _e, false);		\
} while (0)

/* Open on both sides into slot k (closing what k held). */
#define OPEN(k, expr) do {						\
	long _r[2]; int _e[2];						\
	for (int _i = 0; _i < 2; _i++) {				\
		struct side *S = &D.s[_i];				\
		if (S->fd[k] >= 0)					\
			close(S->fd[k]);				\
		errno = 0;						\
		S->fd[k] = (int)(expr);					\
		_r[_i] = S->fd[k];					\
		_e[_i] = _r[_i] < 0 ? errno : 0;			\
	}								\
	diff_cmp(#expr, __FILE__, __LINE__, _r, _e, true);		\
} while (0)

void diff_close(int k);

/* Compare data and metadata. */
void diff_pread(int k, off_t off, size_t len);          /* bytes + count */
void diff_read_file(const char *path);                  /* whole file */
void diff_stat(const char *path, int flags);            /* fstatat */
void diff_fstat(int k);
void diff_listdir(const char *path);                    /* sorted names+types */
void diff_tree(void);                                    /* everything */
void diff_xattrs(const char *path);                      /* names and values */

/* Run fn on both sides in a child with these credentials (no supplementary
 * groups); compare what it returns (-1 + errno on failure). */
void diff_as_user(uid_t uid, gid_t gid, long (*fn)(struct side *s, void *arg),
		  void *arg, const char *what);
/* Same, with these supplementary groups. */
void diff_as_user_groups(uid_t uid, gid_t gid, const gid_t *groups,
			 size_t ngroups,
			 long (*fn)(struct side *s, void *arg), void *arg,
			 const char *what);
/* A diff_as_user fn: open arg (a path) for writing and write one byte. */
long diff_write_byte(struct side *s, void *arg);

/* Fork; child(out, arg) writes len bytes to out and _exits; they are read
 * into res (the test fails on fewer).  Returns the child's wait status. */
int diff_in_child(void (*child)(int out, void *arg), void *arg, void *res,
		  size_t len, const char *what);

/* Do fn(dir, a, b) "on the host": natively on one side, in the shared
 * directory (not through the mount) on the other; it must return 0. */
void diff_on_host(int (*fn)(int dir, const char *a, const char *b),
		  const char *a, const char *b);
/* diff_on_host fns: unlink a; replace a by a new file (rename over it). */
int diff_host_unlink(int dir, const char *a, const char *b);
int diff_host_replace(int dir, const char *a, const char *b);

/* Fill buf with a reproducible pattern. */
void diff_pattern(void *buf, size_t len, uint32_t seed);

#endif
