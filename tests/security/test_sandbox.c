// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The sandbox of the real daemon, as it runs by default: read from its
 * /proc entry (capabilities, no_new_privs, seccomp, namespaces, root) while
 * it serves a front-end over its socket.  Needs root (skipped otherwise).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fe_test.h"

/* CHOWN DAC_OVERRIDE FOWNER FSETID SETGID SETUID MKNOD SETFCAP */
#define DEFAULT_CAPS 0x880000dbull
#define CAP_BIT(n) (1ull << (n))

static void need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("the sandbox needs root");
}

static void start(const char *const *extra)
{
	need_root();
	fe_test_start(FE_BACKEND_VFSD, extra);
	/* A served request proves the daemon is past its sandbox. */
	fe_t.dev = fe_test_open(NULL);
	fe_scenario_smoke(fe_t.dev, fe_t.be.shared);
}

/* The value of "key:" in /proc/PID/status. */
static void status_field(pid_t pid, const char *key, char *val, size_t len)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	val[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			snprintf(val, len, "%s", line + klen + 1 + strspn(line + klen + 1, " \t"));
			val[strcspn(val, "\n")] = '\0';
			break;
		}
	}
	fclose(f);
	cr_assert(val[0], "no %s in %s", key, path);
}

static uint64_t status_hex(pid_t pid, const char *key)
{
	char v[64];

	status_field(pid, key, v, sizeof(v));
	return strtoull(v, NULL, 16);
}

static bool same_ns(pid_t pid, const char *ns)
{
	char a[128], b[128], pa[64], pb[64];
	ssize_t na, nb;

	snprintf(pa, sizeof(pa), "/proc/%d/ns/%s", (int)pid, ns);
	snprintf(pb, sizeof(pb), "/proc/self/ns/%s", ns);
	na = readlink(pa, a, sizeof(a) - 1);
	nb = readlink(pb, b, sizeof(b) - 1);
	cr_assert(na > 0 && nb > 0);
	return na == nb && memcmp(a, b, (size_t)na) == 0;
}

TestSuite(sandbox, .fini = fe_test_fini, .timeout = 60);

Test(sandbox, default_is_namespace_caps_nnp_and_seccomp)
{
	char v[64];

	start(NULL);
	pid_t pid = fe_server_pid(fe_t.be.pid);
	cr_assert_eq(status_hex(pid, "CapEff"), DEFAULT_CAPS, "CapEff %#" PRIx64,
		     status_hex(pid, "CapEff"));
	cr_assert_eq(status_hex(pid, "CapPrm"), DEFAULT_CAPS);
	cr_assert_eq(status_hex(pid, "CapBnd"), DEFAULT_CAPS);
	cr_assert_eq(status_hex(pid, "CapInh"), 0);
	status_field(pid, "NoNewPrivs", v, sizeof(v));
	cr_assert_str_eq(v, "1");
	status_field(pid, "Seccomp", v, sizeof(v));
	cr_assert_str_eq(v, "2", "seccomp mode %s, expected 2 (filter)", v);
	cr_assert(!same_ns(pid, "mnt"), "no private mount namespace");
	cr_assert(!same_ns(pid, "net"), "no private network namespace");
}

/* The daemon's root holds nothing but /proc: not the host's tree, not even
 * the shared directory (reached only through fds opened before). */
Test(sandbox, root_is_empty_but_proc)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	start(NULL);
	snprintf(path, sizeof(path), "/proc/%d/root",
		 (int)fe_server_pid(fe_t.be.pid));
	d = opendir(path);
	cr_assert_not_null(d, "%s: %s", path, strerror(errno));
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		cr_assert_str_eq(de->d_name, "proc", "unexpected '%s' in the sandbox root",
				 de->d_name);
		n++;
	}
	closedir(d);
	cr_assert_eq(n, 1);
}

Test(sandbox, modcaps_changes_the_set)
{
	static const char *const extra[] = { "--modcaps=-mknod:+sys_admin", NULL };

	start(extra);
	uint64_t eff = status_hex(fe_server_pid(fe_t.be.pid), "CapEff");
	cr_assert(!(eff & CAP_BIT(27)), "mknod still there");
	cr_assert(eff & CAP_BIT(21), "sys_admin not added");
	cr_assert_eq(eff, (DEFAULT_CAPS & ~CAP_BIT(27)) | CAP_BIT(21));
}

Test(sandbox, chroot_mode_roots_in_the_shared_dir)
{
	static const char *const extra[] = { "--sandbox=chroot", NULL };
	char path[64], target[512], real[512];
	ssize_t n;

	start(extra);
	snprintf(path, sizeof(path), "/proc/%d/root", (int)fe_t.be.pid);
	n = readlink(path, target, sizeof(target) - 1);
	cr_assert_gt(n, 0);
	target[n] = '\0';
	cr_assert_not_null(realpath(fe_t.be.shared, real));
	cr_assert_str_eq(target, real);
	cr_assert(same_ns(fe_t.be.pid, "mnt"));
}

Test(sandbox, none_mode_and_no_seccomp)
{
	static const char *const extra[] = { "--sandbox=none", "--seccomp=none", NULL };
	char v[64];

	start(extra);
	status_field(fe_t.be.pid, "Seccomp", v, sizeof(v));
	cr_assert_str_eq(v, "0");
	cr_assert(same_ns(fe_t.be.pid, "mnt"));
}

Test(sandbox, bad_options_exit_2)
{
	static const char *const bad[][2] = {
		{ "--sandbox=jail", NULL }, { "--seccomp=allow", NULL },
		{ "--modcaps=+nosuchcap", NULL }, { "--modcaps=mknod", NULL },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fe_backend b = { 0 };
		int r = fe_backend_start(&b, fe_test_vfsd(), FE_BACKEND_VFSD,
					 bad[i], 3000);

		if (r == 0 || b.pid)
			fe_backend_wait(&b, 5000);
		cr_assert(b.exited && WIFEXITED(b.status) &&
			  WEXITSTATUS(b.status) == 2, "%s: not refused with 2",
			  bad[i][0]);
		fe_backend_cleanup(&b);
	}
}

/* READY=1 must still reach NOTIFY_SOCKET, sent from inside the sandbox
 * (the socket's path is not in the sandbox root). */
Test(sandbox, ready_notification_from_inside)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/vfsd-notify-XXXXXX", buf[256];
	struct pollfd pfd;
	int fd, one = 1;
	ssize_t n;
	bool ready = false;

	need_root();
	cr_assert_not_null(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", dir);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
	fe_test_start(FE_BACKEND_VFSD, NULL);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	while (!ready && poll(&pfd, 1, 10000) == 1) {
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			break;
		buf[n] = '\0';
		ready = strstr(buf, "READY=1") != NULL;
	}
	close(fd);
	unlink(sa.sun_path);
	rmdir(dir);
	cr_assert(ready, "no READY=1 from the sandboxed daemon");
	char v[64];
	status_field(fe_server_pid(fe_t.be.pid), "Seccomp", v, sizeof(v));
	cr_assert_str_eq(v, "2", "READY=1 came before the filter");
}

/* The exit path runs inside the filter too (unlinking the socket, thread
 * teardown, sanitizer leak checks): SIGTERM must end in a clean exit 0,
 * not SIGSYS. */
Test(sandbox, sigterm_exits_cleanly_under_the_filter)
{
	start(NULL);
	fe_dev_close(fe_t.dev);
	fe_t.dev = NULL;
	int st = fe_backend_stop(&fe_t.be, 10000);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "exit status %#x (SIGSYS is 31)", st);
}

/* open_by_handle_at needs CAP_DAC_READ_SEARCH: kept only with file
 * handles. */
Test(sandbox, file_handles_keep_dac_read_search)
{
	static const char *const extra[] = { "--inode-file-handles=prefer", NULL };

	start(extra);
	uint64_t eff = status_hex(fe_server_pid(fe_t.be.pid), "CapEff");
	cr_assert_eq(eff, DEFAULT_CAPS | CAP_BIT(2), "CapEff %#" PRIx64, eff);
}

/* ---- the pid namespace and its supervisor (vfsd/supervisor.c) ---- */

/* Is pid a zombie or gone (State: Z or no /proc entry)? */
static bool dead(pid_t pid)
{
	char path[64], line[128];
	bool zombie = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return true;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "State:", 6) == 0)
			zombie = strchr(line, 'Z') != NULL;
	fclose(f);
	return zombie;
}

static pid_t start_server(void)
{
	start(NULL);
	pid_t server = fe_server_pid(fe_t.be.pid);
	cr_assert_neq(server, fe_t.be.pid, "vfsd serves without a pid namespace of its own");
	return server;
}

Test(sandbox, serves_as_pid_1_of_a_pid_namespace_that_shows_only_it)
{
	char v[64], path[64], want[32];
	struct dirent *de;
	DIR *d;
	int n = 0;

	pid_t server = start_server();
	status_field(server, "NSpid", v, sizeof(v));
	snprintf(want, sizeof(want), "%d\t1", (int)server);
	cr_assert_str_eq(v, want, "NSpid '%s'", v);
	cr_assert(!same_ns(server, "pid"));
	cr_assert(same_ns(fe_t.be.pid, "pid"), "the supervisor must stay outside");
	/* The /proc it mounted lists its own pid namespace: itself. */
	snprintf(path, sizeof(path), "/proc/%d/root/proc", (int)server);
	d = opendir(path);
	cr_assert_not_null(d, "%s: %s", path, strerror(errno));
	while ((de = readdir(d))) {
		if (strspn(de->d_name, "0123456789") != strlen(de->d_name))
			continue;
		cr_assert_str_eq(de->d_name, "1", "process %s visible in the sandbox",
				 de->d_name);
		n++;
	}
	closedir(d);
	cr_assert_eq(n, 1);
}

/* What the supervisor keeps: stdio and its own sockets -- no capability,
 * no directory (the shared one), under its own filter. */
Test(sandbox, supervisor_keeps_no_capability_and_no_directory)
{
	char v[64], path[64], fdpath[384];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int n = 0;

	start_server();
	pid_t sup = fe_t.be.pid;
	cr_assert_eq(status_hex(sup, "CapEff"), 0);
	cr_assert_eq(status_hex(sup, "CapPrm"), 0);
	cr_assert_eq(status_hex(sup, "CapBnd"), 0);
	status_field(sup, "NoNewPrivs", v, sizeof(v));
	cr_assert_str_eq(v, "1");
	status_field(sup, "Seccomp", v, sizeof(v));
	cr_assert_str_eq(v, "2");
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)sup);
	d = opendir(path);
	cr_assert_not_null(d, "%s: %s", path, strerror(errno));
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(fdpath, sizeof(fdpath), "%s/%s", path, de->d_name);
		cr_assert(stat(fdpath, &st) < 0 || !S_ISDIR(st.st_mode),
			  "the supervisor holds a directory (fd %s)", de->d_name);
		n++;
	}
	closedir(d);
	/* stdio, two relay sockets, a signalfd (no journal, no notify
	 * socket here). */
	cr_assert_leq(n, 6, "the supervisor holds %d fds", n);
}

/* A signal sent to the server from outside is dropped (the supervisor is
 * the process to signal, and it passes a stop on exactly once). */
Test(sandbox, stop_goes_through_the_supervisor)
{
	struct fuse_attr_out ao;

	pid_t server = start_server();
	cr_assert_eq(kill(server, SIGTERM), 0);
	cr_assert_eq(kill(server, SIGINT), 0);
	cr_assert_eq(fe_getattr(fe_t.dev, FUSE_ROOT_ID, &ao), 0,
		     "a signal sent to the server itself stopped it");
	cr_assert(fe_backend_alive(&fe_t.be));
	fe_dev_close(fe_t.dev);
	fe_t.dev = NULL;
	cr_assert_eq(kill(fe_t.be.pid, SIGTERM), 0);
	cr_assert_eq(fe_backend_wait(&fe_t.be, 10000), 0, "no exit after SIGTERM");
	cr_assert(WIFEXITED(fe_t.be.status) && WEXITSTATUS(fe_t.be.status) == 0,
		  "wait status %#x", fe_t.be.status);
	cr_assert(dead(server), "the server outlived its supervisor");
}

/* The started pid ends as the server does... */
Test(sandbox, supervisor_exits_as_the_server_did)
{
	pid_t server = start_server();
	cr_assert_eq(kill(server, SIGKILL), 0);
	cr_assert_eq(fe_backend_wait(&fe_t.be, 10000), 0,
		     "the supervisor outlived the server");
	cr_assert(WIFSIGNALED(fe_t.be.status) && WTERMSIG(fe_t.be.status) == SIGKILL,
		  "wait status %#x, not SIGKILL", fe_t.be.status);
}

/* ...and the server never outlives it. */
Test(sandbox, server_dies_with_its_supervisor)
{
	pid_t server = start_server();
	cr_assert_eq(kill(fe_t.be.pid, SIGKILL), 0);
	cr_assert_eq(fe_backend_wait(&fe_t.be, 10000), 0);
	for (int i = 0; i < 500 && !dead(server); i++)
		usleep(10000);
	cr_assert(dead(server), "the server lives on after its supervisor was killed");
}

/* ---- --syslog through the pid namespace (review) ---- */

#include <sched.h>
#include <sys/mount.h>

/*
 * A syslog daemon of our own at /dev/log, in a mount namespace of this test
 * process: an overlay on /dev (its nodes stay) with the socket in the
 * upper layer.  Returns the socket; *dir gets the layers' tmpfs.
 */
static int fake_dev_log(char *dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/dev/log" };
	char opts[256], path[64];
	int fd;

	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(unshare(CLONE_NEWNS), 0, "unshare: %s", strerror(errno));
	cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	cr_assert_eq(mount("tmpfs", dir, "tmpfs", 0, "size=1m"), 0);
	snprintf(path, sizeof(path), "%s/u", dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/w", dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(opts, sizeof(opts), "lowerdir=/dev,upperdir=%s/u,workdir=%s/w",
		 dir, dir);
	if (mount("overlay", "/dev", "overlay", 0, opts) < 0)
		cr_skip_test("no overlayfs for a /dev/log of our own: %s", strerror(errno));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0,
		     "bind /dev/log: %s", strerror(errno));
	return fd;
}

static void fake_dev_log_end(int fd, const char *dir)
{
	close(fd);
	umount2("/dev", MNT_DETACH);
	umount2(dir, MNT_DETACH);
	rmdir(dir);
}

struct syslog_run {
	int status;                 /* the started pid's wait status */
	bool pid_1_named;           /* a line says "vfsd[1]: " */
	bool server_named;          /* a line names the server's host pid */
	bool death_told;            /* the supervisor said how it died */
};

/* Start vfsd with extra (--syslog...) on a /dev/log of our own, SIGKILL its
 * server, and read what reached the log. */
static struct syslog_run syslog_run(const char *const *extra)
{
	char dir[] = "/tmp/vfsd-syslog-XXXXXX", buf[1200], want[96], died[128];
	struct syslog_run run = { 0 };
	ssize_t n;
	int fd;

	need_root();
	fd = fake_dev_log(dir);
	/* /etc/localtime is read on syslog's first use, not from $TZ. */
	unsetenv("TZ");
	start(extra);
	pid_t sup = fe_t.be.pid;
	pid_t server = fe_server_pid(sup);
	cr_assert_neq(server, sup, "vfsd serves without a pid namespace of its own");
	snprintf(want, sizeof(want), "vfsd[%d]: ", (int)server);
	snprintf(died, sizeof(died), "vfsd[%d]: the server (pid %d) was killed by SIGKILL",
		 (int)sup, (int)server);
	fe_dev_close(fe_t.dev);
	fe_t.dev = NULL;
	cr_assert_eq(kill(server, SIGKILL), 0);
	cr_assert_eq(fe_backend_wait(&fe_t.be, 10000), 0, "the supervisor outlived the server");
	run.status = fe_t.be.status;
	while ((n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		buf[n] = '\0';
		run.pid_1_named |= strstr(buf, "vfsd[1]: ") != NULL;
		run.server_named |= strstr(buf, want) != NULL;
		run.death_told |= strstr(buf, died) != NULL;
	}
	fake_dev_log_end(fd, dir);
	return run;
}

/* glibc's LOG_PID names getpid(), which is 1 for every server in a pid
 * namespace: its lines must name its host pid instead. */
Test(sandbox, syslog_lines_name_the_servers_host_pid)
{
	static const char *const extra[] = { "--syslog", NULL };
	struct syslog_run run = syslog_run(extra);

	cr_assert(!run.pid_1_named, "a syslog line names pid 1");
	cr_assert(run.server_named, "no syslog line names the server's host pid");
}

/* The supervisor logs under its own filter (how its server died): the
 * first syslog line of a process reads /etc/localtime, which that filter
 * denies.  With --log-level=error nothing logged before the fork. */
Test(sandbox, supervisor_can_syslog_under_its_filter)
{
	static const char *const extra[] = { "--syslog", "--log-level=error", NULL };
	struct syslog_run run = syslog_run(extra);

	cr_assert(WIFSIGNALED(run.status) && WTERMSIG(run.status) == SIGKILL,
		  "wait status %#x, not SIGKILL (SIGSYS is 31)", run.status);
	cr_assert(run.death_told, "the supervisor did not log how the server died");
}

/* ---- where the kernel refuses a pid namespace (containers) ---- */

#include <sys/prctl.h>

static bool log_has(const char *path, const char *what)
{
	char line[1024];
	bool found = false;
	FILE *f = fopen(path, "re");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, what) != NULL;
	fclose(f);
	return found;
}

/* No fork then: the started pid serves, in our pid namespace, is stopped
 * by a plain SIGTERM and exits 0 -- as before pid namespaces.  exe: vfsd
 * or a wrapper in wrapper_dir that execs it (removed once it has). */
static void serves_without_a_fork(const char *exe, const char *wrapper_dir,
				  const char *mode)
{
	char want[64];
	int r;

	r = fe_backend_start(&fe_t.be, exe, FE_BACKEND_VFSD, NULL, 10000);
	fe_t.started = true;
	if (wrapper_dir) {
		unlink(exe);
		rmdir(wrapper_dir);
	}
	if (r < 0)
		fe_backend_dump_log(&fe_t.be);
	cr_assert_eq(r, 0, "starting %s: %s", exe, strerror(-r));
	fe_t.dev = fe_test_open(NULL);
	fe_scenario_smoke(fe_t.dev, fe_t.be.shared);
	pid_t pid = fe_t.be.pid;
	cr_assert_eq(fe_server_pid(pid), pid, "vfsd forked although the pid namespace was refused");
	cr_assert(same_ns(pid, "pid"));
	snprintf(want, sizeof(want), "sandbox: %s;", mode);
	cr_assert(log_has(fe_t.be.log, want), "no '%s' in %s", want, fe_t.be.log);
	fe_dev_close(fe_t.dev);
	fe_t.dev = NULL;
	int st = fe_backend_stop(&fe_t.be, 10000);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %#x", st);
}

/*
 * A wrapper (dir/vfsd) that runs vfsd in a user namespace of its own
 * whose quota of `kind` namespaces (pid, mnt) is 0: this test process has
 * threads, it cannot unshare a user namespace itself.
 */
static void wrapper_without(const char *kind, char *dir, char *path, size_t size)
{
	char text[512];
	FILE *f;

	need_root();
	if (access("/usr/bin/unshare", X_OK) < 0)
		cr_skip_test("no unshare(1)");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, size, "%s/vfsd", dir);
	snprintf(text, sizeof(text),
		 "#!/bin/sh\n"
		 "exec /usr/bin/unshare --user --map-root-user /bin/sh -c "
		 "'echo 0 > /proc/sys/user/max_%s_namespaces && exec \"$0\" \"$@\"' "
		 "'%s' \"$@\"\n", kind, fe_test_vfsd());
	f = fopen(path, "we");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	cr_assert_eq(chmod(path, 0755), 0);
}

/* unshare(CLONE_NEWPID) fails with ENOSPC, a mount namespace is still
 * permitted. */
Test(sandbox, pid_namespace_refused_no_fork_same_sandbox)
{
	char dir[] = "/tmp/vfsd-nopidns-XXXXXX", path[64];

	wrapper_without("pid", dir, path, sizeof(path));
	serves_without_a_fork(path, dir, "namespace (mount, network)");
}

/* A failure after the fork, inside the pid namespace (stage 2: the mount
 * namespace refused, ENOSPC), still ends the started pid with exit 5
 * (man vfsd.8, EXIT STATUS) and one line naming the cause. */
Test(sandbox, failure_in_the_pid_namespace_exits_5)
{
	static const char *const extra[] = { "--sandbox=namespace", NULL };
	char dir[] = "/tmp/vfsd-nomntns-XXXXXX", path[64];
	int r;

	wrapper_without("mnt", dir, path, sizeof(path));
	r = fe_backend_start(&fe_t.be, path, FE_BACKEND_VFSD, extra, 10000);
	fe_t.started = true;
	unlink(path);
	rmdir(dir);
	cr_assert(r == 0 || r == -ECHILD, "starting: %s", strerror(-r));
	cr_assert_eq(fe_backend_wait(&fe_t.be, 10000), 0, "vfsd did not exit");
	cr_assert(WIFEXITED(fe_t.be.status) && WEXITSTATUS(fe_t.be.status) == 5,
		  "wait status %#x, not exit 5", fe_t.be.status);
	cr_assert(log_has(fe_t.be.log, "error: sandbox"), "no error line in %s",
		  fe_t.be.log);
}

/* Docker's default: no CAP_SYS_ADMIN, no namespace at all (EPERM); the
 * automatic mode falls back to a chroot. */
Test(sandbox, no_cap_sys_admin_no_fork_chroot)
{
	const char *asan = getenv("ASAN_OPTIONS");
	char opts[512];

	need_root();
	cr_assert_eq(prctl(PR_CAPBSET_DROP, 21 /* CAP_SYS_ADMIN */, 0, 0, 0), 0);
	/* A sanitizer build's exit-time leak check reads /proc, which a
	 * chroot into the shared directory does not have: it would fail the
	 * exit status this test is about.  (Ignored by other builds.) */
	snprintf(opts, sizeof(opts), "%s%sdetect_leaks=0", asan ? asan : "",
		 asan && *asan ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
	serves_without_a_fork(fe_test_vfsd(), NULL, "chroot");
}
