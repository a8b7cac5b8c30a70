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
 *
 * Larger maps go through newuidmap/newgidmap (setuid root, package uidmap),
 * which check /etc/subuid and /etc/subgid.  Those tests never touch the
 * machine's files: vfsd runs in a private mount namespace of its own where
 * temp files are bind-mounted over them (newuidmap, started by vfsd's map
 * helper, reads them there).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
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

/* In the forked child: a private mount namespace where the test's grants
 * cover the machine's files; reported in the log, exit 125 on failure. */
static void cover_etc(const char *subuid, const char *subgid)
{
	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount(subuid, "/etc/subuid", NULL, MS_BIND, NULL) < 0 ||
	    mount(subgid, "/etc/subgid", NULL, MS_BIND, NULL) < 0) {
		dprintf(2, "test: cannot cover /etc/subuid, /etc/subgid: %s\n",
			strerror(errno));
		_exit(125);
	}
}

/*
 * Fork vfsd (args: its argv, NULL-terminated) as uid and gid 65534 --
 * setpriv drops every capability with the switch -- with supplementary
 * group option `groups` (NULL: none), its output in t.log.  With subuid
 * and subgid, in a private mount namespace where they cover the machine's
 * files.
 */
static void spawn_nobody(const char *groups, const char *subuid,
			 const char *subgid, const char *const *args)
{
	const char *argv[24] = {
		"setpriv", "--reuid=65534", "--regid=65534",
		groups ? groups : "--clear-groups", "--",
	};
	size_t n = 5;

	for (; *args && n + 1 < sizeof(argv) / sizeof(argv[0]); args++)
		argv[n++] = *args;
	argv[n] = NULL;
	t.pid = fork();
	cr_assert_geq(t.pid, 0);
	if (t.pid == 0) {
		int fd = open(t.log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		setpgid(0, 0);
		if (subuid)
			cover_etc(subuid, subgid);
		execv(SETPRIV, (char *const *)argv);
		_exit(127);
	}
}

static void spawn(const char *vfsd, const char *uid_map, const char *gid_map)
{
	char sock_arg[128], dir_arg[128], umap[64], gmap[64];

	snprintf(sock_arg, sizeof(sock_arg), "--socket-path=%s", t.sock);
	snprintf(dir_arg, sizeof(dir_arg), "--shared-dir=%s", t.shared);
	snprintf(umap, sizeof(umap), "--uid-map=%s", uid_map);
	snprintf(gmap, sizeof(gmap), "--gid-map=%s", gid_map);
	spawn_nobody(NULL, NULL, NULL, (const char *const[]){
		vfsd, sock_arg, dir_arg, "--sandbox=namespace", umap, gmap, NULL });
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

/* Connect to the vfsd just spawned (what: for the message), start a FUSE
 * session, and check that it serves from a user namespace of its own. */
static void open_served(const char *what)
{
	bool same;
	int r = fe_dev_open(&t.dev, t.sock, NULL);

	if (r < 0)
		dump_log();
	cr_assert_eq(r, 0, "%s did not serve: %s", what, strerror(-r));
	cr_assert_eq(fe_fuse_init(t.dev, 0, FE_INIT_FLAGS_DEFAULT, NULL), 0);
	same_ns(fe_server_pid(t.pid), "user", &same);
	cr_assert(!same, "vfsd is still in the host's user namespace");
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
	open_served("an unprivileged vfsd with --uid-map");

	/* It runs in namespaces of its own: user (open_served) and mount. */
	same_ns(fe_server_pid(t.pid), "mnt", &same);
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

/* ---- the newuidmap/newgidmap route ---- */

#define NEWUIDMAP "/usr/bin/newuidmap"
#define NEWGIDMAP "/usr/bin/newgidmap"
/* Host ranges granted to uid/gid NOBODY in the test's /etc/subuid and
 * /etc/subgid; different starts, so that a uid map applied to gids shows. */
#define SUBUID 300000u
#define SUBGID 400000u
#define SUBCOUNT 2000u
/* A host group vfsd's starter is in and no guest id maps to. */
#define HOST_GROUP 4242u

struct grants {
	bool uids, gids;        /* grant the whole SUB*ID range, or nothing */
	bool starter_group;     /* start vfsd with HOST_GROUP as supplementary */
};

static void tool_preconditions(void)
{
	if (access(NEWUIDMAP, X_OK) < 0 || access(NEWGIDMAP, X_OK) < 0)
		cr_skip_test("%s or %s not installed (package uidmap, see scripts/setup-debian)",
			     NEWUIDMAP, NEWGIDMAP);
	/* A bind mount needs a file to cover; we never create one in /etc. */
	if (access("/etc/subuid", F_OK) < 0 || access("/etc/subgid", F_OK) < 0)
		cr_skip_test("/etc/subuid or /etc/subgid missing: nothing to bind-mount the test's grants over");
}

/* The test's own subuid/subgid file: NOBODY's name and a range, or empty. */
static void write_grant(char *path, size_t size, const char *name,
			unsigned int start, bool grant)
{
	struct passwd *pw = getpwuid(NOBODY);
	FILE *f;

	cr_assert_not_null(pw, "no user name for uid %d", NOBODY);
	snprintf(path, size, "%s/%s", t.dir, name);
	f = fopen(path, "we");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	if (grant)
		fprintf(f, "%s:%u:%u\n", pw->pw_name, start, SUBCOUNT);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(chmod(path, 0644), 0);
}

/* vfsd as NOBODY with own id -> 0 and SUB*ID..+SUBCOUNT-1 -> 1..SUBCOUNT. */
static void spawn_granted(const char *vfsd, const struct grants *g)
{
	char sock_arg[128], dir_arg[128], umap[64], gmap[64];
	char subuid[128], subgid[128], groups[32];

	write_grant(subuid, sizeof(subuid), "subuid", SUBUID, g->uids);
	write_grant(subgid, sizeof(subgid), "subgid", SUBGID, g->gids);
	snprintf(sock_arg, sizeof(sock_arg), "--socket-path=%s", t.sock);
	snprintf(dir_arg, sizeof(dir_arg), "--shared-dir=%s", t.shared);
	snprintf(umap, sizeof(umap), "--uid-map=:1:%u:%u:", SUBUID, SUBCOUNT);
	snprintf(gmap, sizeof(gmap), "--gid-map=:1:%u:%u:", SUBGID, SUBCOUNT);
	snprintf(groups, sizeof(groups), "--groups=%u", HOST_GROUP);
	spawn_nobody(g->starter_group ? groups : NULL, subuid, subgid,
		     (const char *const[]){
			vfsd, sock_arg, dir_arg, "--sandbox=namespace",
			"--uid-map=:0:65534:1:", umap,
			"--gid-map=:0:65534:1:", gmap, NULL });
}

static void open_granted(const char *vfsd, const struct grants *g)
{
	spawn_granted(vfsd, g);
	open_served("vfsd with a map through newuidmap");
}

static void assert_owner(const char *name, uid_t uid, gid_t gid)
{
	char path[160];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", t.shared, name);
	cr_assert_eq(lstat(path, &st), 0, "%s: %s", path, strerror(errno));
	cr_assert(st.st_uid == uid && st.st_gid == gid,
		  "%s is %u:%u on the host, expected %u:%u", name,
		  (unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)uid,
		  (unsigned)gid);
}

/* Create `name` as guest uid:gid; 0 or the FUSE error. */
static int guest_create(uint32_t uid, uint32_t gid, uint64_t parent,
			const char *name, uint64_t *nodeid)
{
	struct fuse_entry_out e;
	struct fuse_open_out o;
	int r;

	fe_fuse_set_caller(t.dev, uid, gid);
	r = fe_create(t.dev, parent, name, 0644, O_WRONLY, &e, &o);
	if (r == 0) {
		cr_assert_eq(fe_release(t.dev, e.nodeid, o.fh, O_WRONLY), 0);
		if (nodeid)
			*nodeid = e.nodeid;
	}
	fe_fuse_reset_caller(t.dev);
	return r;
}

/*
 * The grant in /etc/subuid and /etc/subgid maps the whole range: guest id N
 * (1..SUBCOUNT) is host SUB*ID+N-1 on disk, for creating and for chown;
 * guest root is still vfsd's own host id; one past the range is refused.
 */
Test(userns, subuid_grant_maps_guest_ids)
{
	const char *vfsd = preconditions();
	const struct grants g = { .uids = true, .gids = true };
	struct fuse_setattr_in sa = { .valid = FATTR_UID | FATTR_GID,
				      .uid = 5, .gid = 7 };
	struct fuse_attr_out ao;
	struct fuse_entry_out e;
	uint64_t node;
	char path[160];
	int r;

	tool_preconditions();
	make_dirs();
	/* Guest users create in the share's root too. */
	cr_assert_eq(chmod(t.shared, 0777), 0);
	open_granted(vfsd, &g);

	cr_assert_eq(guest_create(0, 0, FUSE_ROOT_ID, "by-root", &node), 0);
	assert_owner("by-root", NOBODY, NOBODY);

	fe_fuse_set_caller(t.dev, 1000, 1000);
	r = fe_mkdir(t.dev, FUSE_ROOT_ID, "by-1000", 0755, &e);
	fe_fuse_reset_caller(t.dev);
	cr_assert_eq(r, 0, "mkdir as guest 1000: %s", strerror(-r));
	assert_owner("by-1000", SUBUID + 999, SUBGID + 999);

	/* The last id of the range (an off-by-one shows here). */
	r = guest_create(SUBCOUNT, SUBCOUNT, FUSE_ROOT_ID, "by-last", NULL);
	cr_assert_eq(r, 0, "create as guest %u: %s", SUBCOUNT, strerror(-r));
	assert_owner("by-last", SUBUID + SUBCOUNT - 1, SUBGID + SUBCOUNT - 1);

	/* Guest root gives a file away inside the range. */
	fe_fuse_set_caller(t.dev, 0, 0);
	r = fe_setattr(t.dev, node, &sa, &ao);
	fe_fuse_reset_caller(t.dev);
	cr_assert_eq(r, 0, "chown 5:7 as guest root: %s", strerror(-r));
	assert_owner("by-root", SUBUID + 4, SUBGID + 6);
	cr_assert(ao.attr.uid == 5 && ao.attr.gid == 7,
		  "the guest sees %u:%u, expected 5:7", ao.attr.uid, ao.attr.gid);

	/* One past the range has no host id: refused, nothing made. */
	r = guest_create(SUBCOUNT + 1, SUBCOUNT + 1, FUSE_ROOT_ID, "past", NULL);
	cr_assert_lt(r, 0, "guest uid %u, outside the map, created a file",
		     SUBCOUNT + 1);
	snprintf(path, sizeof(path), "%s/past", t.shared);
	cr_assert_eq(access(path, F_OK), -1, "%s exists", path);
}

/*
 * With a subgid grant newgidmap leaves setgroups(2) allowed, so vfsd can
 * and must drop the supplementary groups of whoever started it
 * (CVE-2022-0358 in QEMU's virtiofsd): a guest user must not write where
 * only such a host group may.  The guest's own gid, mapped, still works.
 */
Test(userns, subgid_grant_starters_groups_grant_the_guest_nothing)
{
	const char *vfsd = preconditions();
	const struct grants g = { .uids = true, .gids = true, .starter_group = true };
	struct fuse_entry_out e;
	char path[160];
	int r;

	tool_preconditions();
	make_dirs();
	/* Host-owned (root, unmapped) directories only a group may write. */
	snprintf(path, sizeof(path), "%s/host-group", t.shared);
	cr_assert_eq(mkdir(path, 0700), 0);
	cr_assert_eq(chown(path, 0, HOST_GROUP), 0);
	cr_assert_eq(chmod(path, 0770), 0);
	snprintf(path, sizeof(path), "%s/guest-group", t.shared);
	cr_assert_eq(mkdir(path, 0700), 0);
	cr_assert_eq(chown(path, 0, SUBGID + 999), 0);
	cr_assert_eq(chmod(path, 0770), 0);
	open_granted(vfsd, &g);

	r = fe_lookup(t.dev, FUSE_ROOT_ID, "guest-group", &e);
	cr_assert_eq(r, 0, "lookup guest-group: %s", strerror(-r));
	r = guest_create(1000, 1000, e.nodeid, "f", NULL);
	cr_assert_eq(r, 0, "guest 1000:1000 in its own group's directory: %s",
		     strerror(-r));
	assert_owner("guest-group/f", SUBUID + 999, SUBGID + 999);

	r = fe_lookup(t.dev, FUSE_ROOT_ID, "host-group", &e);
	cr_assert_eq(r, 0, "lookup host-group: %s", strerror(-r));
	r = guest_create(1000, 1000, e.nodeid, "f", NULL);
	cr_assert_eq(r, -EACCES,
		     "guest 1000 in a directory of vfsd's starter's group %u: %s (expected EACCES)",
		     HOST_GROUP, r ? strerror(-r) : "created");
	snprintf(path, sizeof(path), "%s/host-group/f", t.shared);
	cr_assert_eq(access(path, F_OK), -1, "%s exists", path);
}

/*
 * A range /etc/subuid or /etc/subgid does not grant: vfsd exits 5
 * (sandbox) before serving, after one error line that names the map, the
 * file to fix and newuidmap/newgidmap's reason.  The gid map is written
 * first, so each case grants the other kind.
 */
Test(userns, no_subuid_grant_refused)
{
	static const struct {
		struct grants g;
		const char *kind, *option, *file;
	} cases[] = {
		{ { .uids = false, .gids = true }, "uid map", "--uid-map", "/etc/subuid" },
		{ { .uids = true, .gids = false }, "gid map", "--gid-map", "/etc/subgid" },
	};
	const char *vfsd = preconditions();

	tool_preconditions();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char line[1024], range[64];
		int status, errors = 0;
		bool named = false;
		FILE *f;

		make_dirs();
		spawn_granted(vfsd, &cases[i].g);
		status = wait_exit(10000);
		cr_assert_neq(status, -1, "vfsd kept running without a %s grant",
			      cases[i].file);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 5)
			dump_log();
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 5,
			  "no %s grant: wait status 0x%x, expected exit 5",
			  cases[i].file, status);
		snprintf(range, sizeof(range), ":1:%u:%u:",
			 i == 0 ? SUBUID : SUBGID, SUBCOUNT);
		f = fopen(t.log, "re");
		cr_assert_not_null(f);
		while (fgets(line, sizeof(line), f)) {
			errors += strstr(line, "error") != NULL ||
				  strncmp(line, "new", 3) == 0;
			named |= strstr(line, cases[i].kind) &&
				 strstr(line, cases[i].option) &&
				 strstr(line, range) && strstr(line, cases[i].file);
		}
		fclose(f);
		if (!named || errors != 1)
			dump_log();
		cr_assert(named, "no line naming the %s, %s and %s",
			  cases[i].kind, range, cases[i].file);
		cr_assert_eq(errors, 1, "%d error lines, expected one", errors);
		cr_assert_eq(access(t.sock, F_OK), -1, "the socket was created");
		fe_rmtree(t.dir);
		t.dir[0] = '\0';
	}
}

/*
 * The procfs in the sandbox's root is mounted hidepid=invisible,subset=pid:
 * it lists the daemon's own process only, also where it has no pid
 * namespace of its own (sandbox.c, stage 2), not the host's (where the
 * kernel has these options: Linux 5.8+).  Checked in the mount table of the
 * process that serves.
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
	snprintf(path, sizeof(path), "/proc/%d/mountinfo",
		 (int)fe_server_pid(fe_t.be.pid));
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
