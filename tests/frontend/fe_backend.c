/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Back-end processes for tests: spawn vfsd or QEMU's virtiofsd on a private
 * temp dir, wait for its socket, stop it, clean up.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fe_internal.h"

#define MAX_ARGS 32

char *fe_path(char *buf, size_t len, const char *dir, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
	return buf;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	/* Tests may leave read-only dirs behind; make them removable. */
	if (flag == FTW_DP)
		chmod(path, 0700);
	remove(path);
	return 0;
}

int fe_rmtree(const char *path)
{
	if (!path || !*path)
		return -EINVAL;
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
		return -errno;
	return 0;
}

static void build_argv(const char **argv, char *a_sock, size_t la,
		       char *a_dir, size_t ld, const char *exe,
		       const struct fe_backend *b, const char *const *extra)
{
	int n = 0;

	argv[n++] = exe;
	snprintf(a_sock, la, "--socket-path=%s", b->sock);
	argv[n++] = a_sock;
	if (b->kind == FE_BACKEND_VIRTIOFSD) {
		snprintf(a_dir, ld, "source=%s", b->shared);
		argv[n++] = "-o";
		argv[n++] = a_dir;
		argv[n++] = "-o";
		argv[n++] = "cache=auto";
	} else {
		snprintf(a_dir, ld, "--shared-dir=%s", b->shared);
		argv[n++] = a_dir;
	}
	while (extra && *extra && n < MAX_ARGS - 1)
		argv[n++] = *extra++;
	argv[n] = NULL;
}

static void child(const char *const *argv, const char *log)
{
	int fd;

	setpgid(0, 0);
	/* Die with the test process, even when criterion kills it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		dup2(fd, STDIN_FILENO);
	execv(argv[0], (char *const *)argv);
	_exit(127);
}

int fe_backend_start(struct fe_backend *b, const char *exe,
		     enum fe_backend_kind kind, const char *const *extra_args,
		     int timeout_ms)
{
	const char *argv[MAX_ARGS];
	char a_sock[200], a_dir[200];
	int64_t deadline;
	struct stat st;
	pid_t pid;

	memset(b, 0, sizeof(*b));
	b->kind = kind;
	if (!exe || access(exe, X_OK) < 0)
		return -ENOENT;
	snprintf(b->tmpdir, sizeof(b->tmpdir), "/tmp/vfsd-fe-XXXXXX");
	if (!mkdtemp(b->tmpdir)) {
		b->tmpdir[0] = '\0';
		return -errno;
	}
	fe_path(b->shared, sizeof(b->shared), b->tmpdir, "shared");
	fe_path(b->sock, sizeof(b->sock), b->tmpdir, "vhost.sock");
	fe_path(b->log, sizeof(b->log), b->tmpdir, "backend.log");
	if (mkdir(b->shared, 0755) < 0)
		return -errno;
	build_argv(argv, a_sock, sizeof(a_sock), a_dir, sizeof(a_dir), exe, b,
		   extra_args);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		child(argv, b->log);
	setpgid(pid, pid);      /* both sides: no race with kill(-pid) */
	b->pid = pid;
	if (timeout_ms <= 0)
		timeout_ms = FE_DEFAULT_TIMEOUT_MS;
	deadline = fe_now_ms() + timeout_ms;
	while (stat(b->sock, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		if (!fe_backend_alive(b))
			return -ECHILD;
		if (fe_now_ms() >= deadline)
			return -ETIMEDOUT;
		usleep(10000);
	}
	return 0;
}

bool fe_backend_alive(struct fe_backend *b)
{
	int status;
	pid_t r;

	if (!b->pid || b->exited)
		return false;
	r = waitpid(b->pid, &status, WNOHANG);
	if (r == 0)
		return true;
	if (r == b->pid) {
		b->status = status;
		b->exited = true;
	}
	return false;
}

int fe_backend_wait(struct fe_backend *b, int timeout_ms)
{
	int64_t deadline = fe_now_ms() + timeout_ms;

	while (fe_backend_alive(b)) {
		if (fe_now_ms() >= deadline)
			return -ETIMEDOUT;
		usleep(5000);
	}
	return 0;
}

/* Exited, but not reaped: its pid, hence its process group id, stays
 * reserved, so signalling the group cannot hit a stranger. */
static bool exited_unreaped(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	       si.si_pid == pid;
}

int fe_backend_stop(struct fe_backend *b, int timeout_ms)
{
	int64_t deadline = fe_now_ms() + timeout_ms;
	int status;

	if (!b->pid)
		return -ECHILD;
	if (!b->exited) {
		kill(-b->pid, SIGTERM);
		while (!exited_unreaped(b->pid) && fe_now_ms() < deadline)
			usleep(5000);
		/* Leftovers of its group (virtiofsd's sandbox child), or the
		 * daemon itself if it ignored SIGTERM. */
		kill(-b->pid, SIGKILL);
		if (waitpid(b->pid, &status, 0) == b->pid) {
			b->status = status;
			b->exited = true;
		}
	}
	return b->exited ? b->status : -ECHILD;
}

void fe_backend_cleanup(struct fe_backend *b)
{
	if (b->pid && !b->exited)
		fe_backend_stop(b, 2000);
	if (getenv("FE_VERBOSE") && b->log[0])
		fe_backend_dump_log(b);
	if (b->tmpdir[0] && !getenv("FE_KEEP_TMP"))
		fe_rmtree(b->tmpdir);
	b->tmpdir[0] = '\0';
}

void fe_backend_dump_log(const struct fe_backend *b)
{
	char buf[4096];
	size_t n;
	FILE *f;

	f = fopen(b->log, "re");
	if (!f)
		return;
	fprintf(stderr, "---- back-end log %s ----\n", b->log);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stderr);
	fprintf(stderr, "---- end of back-end log ----\n");
	fclose(f);
}

bool fe_backend_sanitizer_report(const struct fe_backend *b, char *line,
				 size_t len)
{
	char buf[1024];
	bool found = false;
	FILE *f;

	f = fopen(b->log, "re");
	if (!f)
		return false;
	while (!found && fgets(buf, sizeof(buf), f)) {
		if (strstr(buf, "ERROR: AddressSanitizer") ||
		    strstr(buf, "runtime error:")) {
			found = true;
			if (line && len)
				snprintf(line, len, "%s", buf);
		}
	}
	fclose(f);
	return found;
}

bool fe_backend_crashed(const struct fe_backend *b)
{
	if (!b->exited)
		return false;
	if (WIFSIGNALED(b->status)) {
		int sig = WTERMSIG(b->status);

		return sig != SIGTERM && sig != SIGKILL;
	}
	/* ASan/UBSan report through exit code 1 by default; abort() is a
	 * signal.  Any nonzero exit after our SIGTERM is suspicious. */
	return WIFEXITED(b->status) && WEXITSTATUS(b->status) != 0;
}

pid_t fe_server_pid(pid_t pid)
{
	char path[64], buf[64], *end;
	ssize_t n;
	long child;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
		 (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pid;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return pid;
	buf[n] = '\0';
	child = strtol(buf, &end, 10);
	/* Exactly one child: the stage-0 map helper is gone by then. */
	if (child <= 0 || (*end != ' ' && *end != '\0') ||
	    strspn(end, " \n") != strlen(end))
		return pid;
	return (pid_t)child;
}

int fe_count_fds(pid_t pid)
{
	char path[64];
	struct dirent *de;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)fe_server_pid(pid));
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir)))
		if (de->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}
