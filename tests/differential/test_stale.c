// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Stale handles: the host deletes, replaces or removes what the guest holds
 * (open files, a working directory), and the guest gets what a local file
 * system would give, never a hang.  Run with the default O_PATH inode fds
 * and with --inode-file-handles=mandatory, where the daemon keeps only file
 * handles and must reopen them (a removed inode's handle is stale on the
 * host: the guest must still see ENOENT, not ESTALE).
 *
 * test_semantics.c has the O_PATH versions of the open-file cases; here
 * they run again under file handles, plus a process whose cwd is removed.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "diff.h"

static void setup_fh(void)
{
	static const char *const opts[] = {
		"--cache=never", "--inode-file-handles=mandatory", NULL
	};

	diff_setup_opts(opts);
}

TestSuite(stale, .init = diff_setup, .fini = diff_teardown, .timeout = 60);
TestSuite(stale_fh, .init = setup_fh, .fini = diff_teardown, .timeout = 60);

static void unlinked_open_file(void)
{
	OPEN(0, openat(S->dir, "d/x", O_RDWR | O_CLOEXEC));
	OPEN(1, openat(S->dir, "a", O_RDONLY | O_CLOEXEC));
	diff_on_host(diff_host_unlink, "d/x", NULL);
	diff_on_host(diff_host_unlink, "a", NULL);
	diff_pread(0, 0, 100);          /* the host inode lives on */
	diff_pread(1, 0, 20000);
	BOTH(pwrite(S->fd[0], "bye", 3, 0));
	diff_pread(0, 0, 100);
	diff_fstat(0);                  /* nlink 0 */
	diff_fstat(1);
	BOTH(ftruncate(S->fd[0], 2));
	diff_fstat(0);
	diff_stat("d/x", 0);            /* ENOENT */
	OPEN(2, openat(S->dir, "d/x", O_RDONLY | O_CLOEXEC));
	diff_close(0);
	diff_close(1);
	diff_tree();
}

static void replaced_open_file(void)
{
	OPEN(0, openat(S->dir, "a", O_RDONLY | O_CLOEXEC));
	diff_stat("a", 0);              /* the guest knows the old inode */
	diff_on_host(diff_host_replace, "a", NULL);
	diff_pread(0, 0, 10000);        /* the old contents */
	diff_fstat(0);
	diff_stat("a", 0);              /* a new lookup: the new file */
	diff_read_file("a");
	OPEN(1, openat(S->dir, "a", O_RDONLY | O_CLOEXEC));
	diff_pread(1, 0, 100);
	diff_pread(0, 0, 100);
	diff_tree();
}

/* ---- a process whose working directory is removed on the host ------- */

#define CWD_RESULTS 6

struct cwd_results {
	long r[2][CWD_RESULTS];
	int e[2][CWD_RESULTS];
};

static const char *const cwd_what[CWD_RESULTS] = {
	"create in the removed cwd", "mkdir in the removed cwd",
	"stat(\".\") succeeds", "nlink of \".\"", "symlink in the removed cwd",
	"mknod in the removed cwd",
};

/* In a child (cwd is per process): chdir into d/e of each side, remove it
 * on the host, then try to create things there. */
static void cwd_child(int out, void *arg)
{
	struct cwd_results res;
	char path[4200];
	int shared = open(D.shared, O_PATH | O_DIRECTORY | O_CLOEXEC);

	(void)arg;
	memset(&res, 0, sizeof(res));
	for (int i = 0; i < 2; i++) {
		struct stat st;
		long *r = res.r[i];
		int *e = res.e[i];
		int k = 0;

		snprintf(path, sizeof(path), "%s/d/e", D.s[i].root);
		if (chdir(path) < 0)
			_exit(2);
		if (unlinkat(i == 0 ? D.s[0].dir : shared, "d/e",
			     AT_REMOVEDIR) < 0)
			_exit(3);
#define REC(expr) do { errno = 0; r[k] = (long)(expr); \
		       e[k] = r[k] < 0 ? errno : 0; k++; } while (0)
		REC(open("child", O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
		REC(mkdir("sub", 0755));
		REC(stat(".", &st));
		REC(r[2] == 0 ? (long)st.st_nlink : -1);
		REC(symlink("t", "sl"));
		REC(mknod("fifo", S_IFIFO | 0644, 0));
#undef REC
		if (r[0] >= 0)
			close((int)r[0]);
		if (chdir("/") < 0)
			_exit(4);
	}
	if (write(out, &res, sizeof(res)) != sizeof(res))
		_exit(5);
	_exit(0);
}

/* handles: with --inode-file-handles the daemon holds no fd of an idle
 * node, so a directory removed on the host is gone there: stat(".") is
 * ENOENT where a local file system still shows the dead inode (nlink 0).
 * Everything else matches. */
static void removed_cwd(bool handles)
{
	struct cwd_results res;
	int status;

	status = diff_in_child(cwd_child, NULL, &res, sizeof(res),
			       "removed cwd");
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "child status 0x%x", status);
	for (int k = 0; k < CWD_RESULTS; k++) {
		long r[2] = { res.r[0][k], res.r[1][k] };
		int e[2] = { res.e[0][k], res.e[1][k] };

		if (handles && (k == 2 || k == 3)) {
			cr_assert_eq(r[1], -1, "%s", cwd_what[k]);
			if (k == 2)
				cr_assert_eq(e[1], ENOENT, "%s: %s",
					     cwd_what[k], strerror(e[1]));
			continue;
		}

		/* An fd number differs by nature: compare success only. */
		diff_cmp(cwd_what[k], __FILE__, __LINE__, r, e, k == 0);
	}
	cr_assert_eq(res.e[0][0], ENOENT, "native create: %s",
		     strerror(res.e[0][0]));
	diff_stat("d/e", 0);
	diff_tree();
}

/* A directory the guest holds open is removed, then a new directory takes
 * its name: lookups find the new one, the open fd still the old one. */
static int host_swap_dir(int dir, const char *a, const char *b)
{
	(void)b;
	if (unlinkat(dir, a, AT_REMOVEDIR) < 0 || mkdirat(dir, a, 0700) < 0)
		return -1;
	return mknodat(dir, "d/e/inside", S_IFREG | 0600, 0);
}

static void replaced_dir(void)
{
	char buf[4096];

	OPEN(0, openat(S->dir, "d/e", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	diff_stat("d/e", 0);
	diff_on_host(host_swap_dir, "d/e", NULL);
	BOTH_SIGN(openat(S->fd[0], "x", O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	BOTH(syscall(SYS_getdents64, S->fd[0], buf, sizeof(buf)));
	diff_stat("d/e", 0);
	diff_stat("d/e/inside", 0);
	diff_listdir("d/e");
	diff_tree();
}

Test(stale, removed_cwd) { removed_cwd(false); }
Test(stale, replaced_dir) { replaced_dir(); }

Test(stale_fh, unlinked_open_file) { unlinked_open_file(); }
Test(stale_fh, replaced_open_file) { replaced_open_file(); }
Test(stale_fh, removed_cwd) { removed_cwd(true); }
Test(stale_fh, replaced_dir) { replaced_dir(); }
