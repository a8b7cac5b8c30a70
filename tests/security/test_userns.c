// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * --uid-map/--gid-map: an unprivileged vfsd (uid/gid 65534, no
 * capabilities, started through setpriv) builds its own user namespace and
 * with it the namespace sandbox.  Real daemon over its real socket.
 *
 * Without newuidmap/newgidmap an unprivileged user can map only its own id:
 * :0:65534:1: makes vfsd root of its namespace, so that it switches to the
 * guest's ids per request like a root daemon: guest id 0 becomes host 65534
 * on disk, an unmapped guest id is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fe_test.h"

#define NOBODY 65534
#define SETPRIV "/usr/bin/setpriv"

static struct {
	char dir[64];
	char shared[96];
	char sock[96];
	char log[96];
	pid_t pid;
	struct fe_dev *dev;
} t;

/* Can uid NOBODY create a user namespace here at all? */
static bool userns_permitted(void)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
		    setresuid(NOBODY, NOBODY, NOBODY) < 0)
			_exit(2);
		_exit(unshare(CLONE_NEWUSER) == 0 ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Skips (before anything is created) where the test cannot run. */
static const char *preconditions(void)
{
	const char *vfsd = fe_test_vfsd();

	if (geteuid() != 0)
		cr_skip_test("needs root to start vfsd as uid %d", NOBODY);
	if (access(SETPRIV, X_OK) < 0)
		cr_skip_test("%s not installed", SETPRIV);
	if (!userns_permitted())
		cr_skip_test("unprivileged user namespaces are not permitted here");
	return vfsd;
}

static void make_dirs(void)
{
	snprintf(t.dir, sizeof(t.dir), "/tmp/vfsd-userns-XXXXXX");
	cr_assert_not_null(mkdtemp(t.dir));
	snprintf(t.shared, sizeof(t.shared), "%s/shared", t.dir);
	snprintf(t.sock, sizeof(t.sock), "%s/vhost.sock", t.dir);
	snprintf(t.log, sizeof(t.log), "%s/vfsd.log", t.dir);
	cr_assert_eq(mkdir(t.shared, 0755), 0);
	cr_assert_eq(chown(t.dir, NOBODY, NOBODY), 0);
	cr_assert_eq(chown(t.shared, NOBODY, NOBODY), 0);
	cr_assert_eq(chmod(t.dir, 0755), 0);
}

/* setpriv drops every capability with the switch to uid 65534. */
static void spawn(const char *vfsd, const char *uid_map, const char *gid_map)
{
	char sock_arg[128], dir_arg[128], umap[64], gmap[64];

	snprintf(sock_arg, sizeof(sock_arg), "--socket-path=%s", t.sock);
	snprintf(dir_arg, sizeof(dir_arg), "--shared-dir=%s", t.shared);
	snprintf(umap, sizeof(umap), "--uid-map=%s", uid_map);
	snprintf(gmap, sizeof(gmap), "--gid-map=%s", gid_map);
	t.pid = fork();
	cr_assert_geq(t.pid, 0);
	if (t.pid == 0) {
		int fd = open(t.log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		setpgid(0, 0);
		execl(SETPRIV, "setpriv", "--reuid=65534", "--regid=65534",
		      "--clear-groups", "--", vfsd, sock_arg, dir_arg,
		      "--sandbox=namespace", umap, gmap, (char *)NULL);
		_exit(127);
	}
}

static void dump_log(void)
{
	char line[512];
	FILE *f = fopen(t.log, "re");

	if (!f)
		return;
	fprintf(stderr, "---- vfsd log ----\n");
	while (fgets(line, sizeof(line), f))
		fputs(line, stderr);
	fprintf(stderr, "---- end ----\n");
	fclose(f);
}

/* Wait (bounded) for vfsd to exit by itself; its wait status or -1. */
static int wait_exit(int timeout_ms)
{
	int64_t end = fe_now_ms() + timeout_ms;
	int status;

	while (fe_now_ms() < end) {
		pid_t r = waitpid(t.pid, &status, WNOHANG);

		if (r == t.pid) {
			t.pid = 0;
			return status;
		}
		usleep(10000);
	}
	return -1;
}

static void fini(void)
{
	fe_dev_close(t.dev);
	t.dev = NULL;
	if (t.pid > 0) {
		kill(t.pid, SIGTERM);
		if (wait_exit(5000) < 0) {
			kill(t.pid, SIGKILL);
			waitpid(t.pid, NULL, 0);
		}
		t.pid = 0;
	}
	if (t.dir[0])
		fe_rmtree(t.dir);
	t.dir[0] = '\0';
}

TestSuite(userns, .fini = fini, .timeout = 60);

static void same_ns(pid_t pid, const char *ns, bool *same)
{
	char a[64], b[64], path[64];
	ssize_t la, lb;

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns);
	la = readlink(path, a, sizeof(a) - 1);
	snprintf(path, sizeof(path), "/proc/self/ns/%s", ns);
	lb = readlink(path, b, sizeof(b) - 1);
	cr_assert(la > 0 && lb > 0, "readlink %s: %s", path, strerror(errno));
	*same = la == lb && memcmp(a, b, (size_t)la) == 0;
}

Test(userns, unprivileged_with_own_id_mapped)
{
	const char *vfsd = preconditions();
	struct fuse_entry_out e;
	struct fuse_open_out o;
	struct stat st;
	char path[160];
	bool same;
	int r;

	make_dirs();
	spawn(vfsd, ":0:65534:1:", ":0:65534:1:");
	r = fe_dev_open(&t.dev, t.sock, NULL);
	if (r < 0)
		dump_log();
	cr_assert_eq(r, 0, "an unprivileged vfsd with --uid-map did not serve: %s",
		     strerror(-r));
	cr_assert_eq(fe_fuse_init(t.dev, 0, FE_INIT_FLAGS_DEFAULT, NULL), 0);

	/* It runs in namespaces of its own: user and mount. */
	same_ns(t.pid, "user", &same);
	cr_assert(!same, "vfsd is still in the host's user namespace");
	same_ns(t.pid, "mnt", &same);
	cr_assert(!same, "vfsd has no mount namespace (no sandbox)");

	/* Guest root is namespace root is host 65534. */
	fe_fuse_set_caller(t.dev, 0, 0);
	r = fe_create(t.dev, FUSE_ROOT_ID, "by-root", 0644, O_WRONLY, &e, &o);
	cr_assert_eq(r, 0, "create as guest root: %s", strerror(-r));
	snprintf(path, sizeof(path), "%s/by-root", t.shared);
	cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(st.st_uid, (uid_t)NOBODY, "owner %u, not the mapped host uid",
		     (unsigned)st.st_uid);
	cr_assert_eq(st.st_gid, (gid_t)NOBODY, "group %u, not the mapped host gid",
		     (unsigned)st.st_gid);
	cr_assert_eq(fe_release(t.dev, e.nodeid, o.fh, O_WRONLY), 0);

	/* A guest id outside the map has no host id: refused, nothing made. */
	fe_fuse_set_caller(t.dev, 1000, 1000);
	r = fe_mkdir(t.dev, FUSE_ROOT_ID, "by-1000", 0755, &e);
	cr_assert_lt(r, 0, "an unmapped guest uid created a directory");
	snprintf(path, sizeof(path), "%s/by-1000", t.shared);
	cr_assert_eq(access(path, F_OK), -1);
	fe_fuse_reset_caller(t.dev);
}

/* A map an unprivileged user may not set (host uid 0): one line naming it,
 * exit status 5 (sandbox), nothing served. */
Test(userns, unprivileged_foreign_id_refused)
{
	const char *vfsd = preconditions();
	char line[512];
	bool named = false;
	int status;
	FILE *f;

	make_dirs();
	spawn(vfsd, ":0:0:1:", ":0:65534:1:");
	status = wait_exit(10000);
	cr_assert_neq(status, -1, "vfsd kept running with a map it cannot have");
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 5,
		  "wait status 0x%x, expected exit 5", status);
	f = fopen(t.log, "re");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f))
		named |= strstr(line, "uid map") != NULL &&
			 strstr(line, "newuidmap") != NULL;
	fclose(f);
	if (!named)
		dump_log();
	cr_assert(named, "no line naming the uid map and newuidmap");
	cr_assert_eq(access(t.sock, F_OK), -1, "the socket was created");
}

/*
 * Without a pid namespace of its own (see sandbox.c, stage 2), the procfs in
 * the sandbox's root is mounted hidepid=invisible,subset=pid: it lists the
 * daemon's own process only, not the host's (where the kernel has these
 * options: Linux 5.8+).  Checked in the daemon's own mount table.
 */
static void root_fini(void)
{
	fe_test_fini();
}

TestSuite(sandbox_proc, .fini = root_fini, .timeout = 60);

Test(sandbox_proc, proc_hides_other_processes)
{
	char path[64], line[1024];
	bool found = false, hidden = false;
	FILE *f;

	if (geteuid() != 0)
		cr_skip_test("the namespace sandbox needs root (or --uid-map)");
	fe_test_start(FE_BACKEND_VFSD, NULL);
	fe_t.dev = fe_test_open_init(NULL);
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)fe_t.be.pid);
	f = fopen(path, "re");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - TYPE SRC SUPEROPTS" */
		char mnt[256];

		if (sscanf(line, "%*s %*s %*s %*s %255s", mnt) != 1 ||
		    strcmp(mnt, "/proc") != 0 || !strstr(line, " - proc "))
			continue;
		found = true;
		hidden = strstr(line, "hidepid=invisible") && strstr(line, "subset=pid");
	}
	fclose(f);
	cr_assert(found, "no procfs on /proc in the daemon's mount namespace");
	cr_assert(hidden, "the sandbox's /proc shows the host's processes");
	fe_test_end();
}
