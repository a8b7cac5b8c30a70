// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The listening socket and readiness notification.
 *
 * A created socket is guarded by an flock on "PATH.lock" so that two vfsd
 * processes can never serve one path: the second one fails with a clear
 * message instead of unlinking the first one's live socket.  A socket file
 * left behind by a dead daemon (lock free) is removed and recreated.
 *
 * The lock file is removed on exit by the holder of the lock.  A daemon that
 * opened the file just before it was removed would then lock an orphaned
 * inode; so after locking we check that the path still names the inode we
 * locked, and start over if it does not.
 */
#include "activation.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LISTEN_BACKLOG 16
#define SUN_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path))

static int check_listening_unix(int fd, const char *what)
{
	int r = sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0);

	if (r < 0)
		return log_error_errno(r, "%s: cannot use fd %d", what, fd);
	if (r == 0) {
		log_error("%s: fd %d is not a listening AF_UNIX stream socket",
			  what, fd);
		return -ENOTSOCK;
	}
	return 0;
}

static int from_inherited_fd(struct listener *l, int fd)
{
	int r = check_listening_unix(fd, "--fd");

	if (r < 0)
		return r;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return log_error_errno(-errno, "--fd: fd %d", fd);
	l->fd = fd;
	return 0;
}

static bool fd_named(char **names, int i)
{
	return names && names[i] && strcmp(names[i], "unknown") != 0;
}

/* One socket: take it, whatever its name.  Several: take the one named
 * VFSD_FD_NAME and close the others (we will never serve them). */
static int from_socket_activation(struct listener *l, int n, char **names)
{
	int pick = -1, r;

	if (n == 1) {
		pick = 0;
	} else {
		for (int i = 0; i < n; i++) {
			if (fd_named(names, i) && strcmp(names[i], VFSD_FD_NAME) == 0) {
				if (pick >= 0) {
					log_error("socket activation: %d sockets named '%s' passed (LISTEN_FDNAMES), vfsd serves exactly one",
						  n, VFSD_FD_NAME);
					return -E2BIG;
				}
				pick = i;
			}
		}
		if (pick < 0) {
			log_error("socket activation: %d sockets passed (LISTEN_FDS) and none is named '%s': pass one, or name it with FileDescriptorName=%s",
				  n, VFSD_FD_NAME, VFSD_FD_NAME);
			return -E2BIG;
		}
	}
	r = check_listening_unix(SD_LISTEN_FDS_START + pick, "socket activation");
	if (r < 0)
		return r;
	for (int i = 0; i < n; i++)
		if (i != pick)
			close(SD_LISTEN_FDS_START + i);
	log_info("listening on the socket passed by the service manager%s%s",
		 fd_named(names, pick) ? ", named " : "",
		 fd_named(names, pick) ? names[pick] : "");
	l->fd = SD_LISTEN_FDS_START + pick;
	return 0;
}

/* Is something accepting connections on path? */
static bool socket_is_live(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return false;
	live = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0;
	close(fd);
	return live;
}

/* Lock PATH.lock; see the top of the file for why the inode is checked. */
static int take_path_lock(struct listener *l, const char *path)
{
	char lock_path[SUN_PATH_MAX + 8];
	struct stat fst, pst;
	int fd;

	snprintf(lock_path, sizeof(lock_path), "%s.lock", path);
	for (int tries = 0; tries < 100; tries++) {
		fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return log_error_errno(-errno, "socket path '%s': cannot create lock file '%s'",
					       path, lock_path);
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int err = -errno;

			close(fd);
			if (err == -EWOULDBLOCK) {
				log_error("socket path '%s': already served by another vfsd (lock '%s' held)",
					  path, lock_path);
				return -EADDRINUSE;
			}
			return log_error_errno(err, "socket path '%s': cannot lock '%s'",
					       path, lock_path);
		}
		if (fstat(fd, &fst) == 0 && stat(lock_path, &pst) == 0 &&
		    fst.st_dev == pst.st_dev && fst.st_ino == pst.st_ino) {
			l->lock_path = strdup(lock_path);
			l->lock_fd = fd;
			if (!l->lock_path) {
				unlink(lock_path);
				return log_error_errno(-ENOMEM, "socket path '%s'", path);
			}
			return 0;
		}
		/* Removed by its previous holder after we opened it. */
		close(fd);
	}
	log_error("socket path '%s': lock file '%s' keeps being replaced", path,
		  lock_path);
	return -EAGAIN;
}

static int set_socket_group(const char *path, const char *group)
{
	struct group *gr = getgrnam(group);

	if (!gr) {
		log_error("--socket-group: no such group '%s'", group);
		return -ENOENT;
	}
	if (chown(path, (uid_t)-1, gr->gr_gid) < 0 || chmod(path, 0660) < 0)
		return log_error_errno(-errno, "socket path '%s': cannot give group '%s' access",
				       path, group);
	return 0;
}

/* A clearer message than ENOENT from the lock file for the usual mistake. */
static int check_parent_dir(const char *path)
{
	char copy[SUN_PATH_MAX];
	struct stat st;
	const char *dir;

	snprintf(copy, sizeof(copy), "%s", path);
	dir = dirname(copy);
	if (stat(dir, &st) < 0)
		return log_error_errno(-errno, "socket path '%s': directory '%s'",
				       path, dir);
	if (!S_ISDIR(st.st_mode)) {
		log_error("socket path '%s': '%s' is not a directory", path, dir);
		return -ENOTDIR;
	}
	return 0;
}

static int open_parent_dir(struct listener *l, const char *path)
{
	char copy[SUN_PATH_MAX];

	snprintf(copy, sizeof(copy), "%s", path);
	l->dir_fd = open(dirname(copy), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (l->dir_fd < 0)
		return log_error_errno(-errno, "socket path '%s': its directory", path);
	return 0;
}

/* Remove a file we created, by its name in l->dir_fd (the path itself may
 * be out of reach in the sandbox). */
static void unlink_created(const struct listener *l, const char *path)
{
	const char *slash = strrchr(path, '/');

	if (l->dir_fd < 0 || unlinkat(l->dir_fd, slash ? slash + 1 : path, 0) < 0)
		log_debug("cannot remove '%s': %s", path, strerror(errno));
}

static int from_socket_path(struct listener *l, const char *path,
			    const char *group)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old_umask;
	int fd, r;

	/* Room for PATH.lock too, which must fit the same limit. */
	if (path[0] == '\0' || strlen(path) >= SUN_PATH_MAX - 5) {
		log_error("socket path '%s': %s (max %zu bytes)", path,
			  path[0] ? "too long" : "empty", SUN_PATH_MAX - 6);
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, path);

	r = check_parent_dir(path);
	if (r < 0)
		return r;
	r = open_parent_dir(l, path);
	if (r < 0)
		return r;
	r = take_path_lock(l, path);
	if (r < 0)
		return r;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_error("socket path '%s': exists and is not a socket", path);
			return -EEXIST;
		}
		if (socket_is_live(&addr)) {
			log_error("socket path '%s': another process is serving it", path);
			return -EADDRINUSE;
		}
		/* Stale socket of a dead daemon: we hold the lock, remove it. */
		log_info("socket path '%s': removing a stale socket", path);
		unlink(path);
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return log_error_errno(-errno, "socket()");
	old_umask = umask(0177);  /* socket created 0600 */
	r = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old_umask);
	if (r < 0) {
		r = log_error_errno(-errno, "socket path '%s': cannot bind", path);
		close(fd);
		return r;
	}
	l->fd = fd;
	l->created_path = strdup(path);
	if (!l->created_path) {
		unlink(path);
		return log_error_errno(-ENOMEM, "socket path '%s'", path);
	}
	if (group) {
		r = set_socket_group(path, group);
		if (r < 0)
			return r;
	}
	if (listen(fd, LISTEN_BACKLOG) < 0)
		return log_error_errno(-errno, "socket path '%s': cannot listen", path);
	log_info("listening on %s", path);
	return 0;
}

static void free_names(char **names)
{
	if (!names)
		return;
	for (char **p = names; *p; p++)
		free(*p);
	free(names);
}

int listener_open(struct listener *l, const struct config *cfg)
{
	const char *env_fds = getenv("LISTEN_FDS");
	bool activation_env = env_fds != NULL;
	char **names = NULL;
	int n, r;

	*l = (struct listener){ .fd = -1, .lock_fd = -1, .dir_fd = -1 };
	/* Unset the variables: nothing we start may think they are its. */
	n = sd_listen_fds_with_names(1, &names);
	if (n < 0) {
		log_error_errno(n, "socket activation: invalid LISTEN_FDS='%s'",
				env_fds ? env_fds : "");
		/* Not a usage error (-EINVAL): the environment is wrong. */
		return n == -EINVAL ? -EBADF : n;
	}
	if (n > 0 && (cfg->listen_fd >= 0 || cfg->socket_path)) {
		log_error("socket activation (LISTEN_FDS) conflicts with %s",
			  cfg->socket_path ? "--socket-path" : "--fd");
		r = -EINVAL;
	} else if (cfg->listen_fd >= 0) {
		r = from_inherited_fd(l, cfg->listen_fd);
	} else if (cfg->socket_path) {
		r = from_socket_path(l, cfg->socket_path, cfg->socket_group);
	} else if (n > 0) {
		r = from_socket_activation(l, n, names);
	} else if (activation_env) {
		log_error("socket activation: LISTEN_FDS is set but not for this process (LISTEN_PID) or empty");
		r = -ENXIO;
	} else {
		log_error("no socket: give --socket-path=PATH or --fd=N, or start vfsd through socket activation");
		r = -EINVAL;
	}
	free_names(names);
	if (r < 0)
		listener_close(l);
	return r;
}

void listener_close(struct listener *l)
{
	if (l->created_path) {
		unlink_created(l, l->created_path);
		free(l->created_path);
		l->created_path = NULL;
	}
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	/* Unlink while still holding the lock: see the top of the file. */
	if (l->lock_path) {
		unlink_created(l, l->lock_path);
		free(l->lock_path);
		l->lock_path = NULL;
	}
	if (l->lock_fd >= 0)
		close(l->lock_fd);
	l->lock_fd = -1;
	if (l->dir_fd >= 0)
		close(l->dir_fd);
	l->dir_fd = -1;
}

/* ---- sd_notify ---------------------------------------------------------- */

static int notify_fd = -1;
static bool notify_relayed;     /* notify_fd is the supervisor's relay */
static pid_t main_pid;          /* the service manager's main pid: ours */

static uint64_t watchdog_usec(void);

void notify_init(void)
{
	const char *e = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	size_t n;
	int fd;

	main_pid = getpid();
	/* sd_watchdog_enabled() compares WATCHDOG_PID with getpid(): ask it
	 * now, while that is still the pid the service manager started. */
	(void)watchdog_usec();
	if (!e || !*e || notify_fd >= 0)
		return;
	n = strlen(e);
	if ((e[0] != '/' && e[0] != '@') || n >= sizeof(sa.sun_path)) {
		log_debug("NOTIFY_SOCKET '%s' not supported", e);
		return;
	}
	memcpy(sa.sun_path, e, n);
	if (e[0] == '@')
		sa.sun_path[0] = '\0';   /* abstract */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&sa, len) < 0) {
		log_debug("NOTIFY_SOCKET '%s': %s", e, strerror(errno));
		close(fd);
		return;
	}
	notify_fd = fd;
}

static void notify_send_len(const char *msg, size_t len)
{
	if (notify_fd < 0) {
		/* notify_init not called, or failed: libsystemd's way. */
		if (!notify_relayed)
			sd_notify(0, msg);
		return;
	}
	/* Never block serving on a service manager that does not read. */
	if (send(notify_fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("sd_notify: %s", strerror(errno));
}

static void notify_send(const char *msg)
{
	notify_send_len(msg, strlen(msg));
}

void notify_redirect(int fd)
{
	notify_fd = fd;
	notify_relayed = true;
}

void notify_forward(const char *msg, size_t len)
{
	if (notify_fd >= 0)
		notify_send_len(msg, len);
}

int notify_socket_fd(void)
{
	return notify_relayed ? -1 : notify_fd;
}

void notify_ready(void)
{
	char msg[64];

	snprintf(msg, sizeof(msg), "READY=1\nMAINPID=%d",
		 (int)(main_pid ? main_pid : getpid()));
	notify_send(msg);
}

void notify_status(const char *fmt, ...)
{
	char text[256] = "STATUS=";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text + 7, sizeof(text) - 7, fmt, ap);
	va_end(ap);
	notify_send(text);
}

void notify_stopping(void)
{
	notify_send("STOPPING=1\nSTATUS=Stopping");
}

static uint64_t watchdog_usec(void)
{
	static int enabled = -1;
	static uint64_t usec;

	if (enabled < 0)
		enabled = sd_watchdog_enabled(0, &usec) > 0 && usec > 0;
	return enabled ? usec : 0;
}

int notify_watchdog_ms(void)
{
	uint64_t usec = watchdog_usec();

	if (!usec)
		return -1;
	/* Wake at a quarter of the period: pings go out at least twice. */
	usec /= 4000;
	return usec < 1 ? 1 : usec > 60000 ? 60000 : (int)usec;
}

void notify_watchdog(void)
{
	static struct timespec last;
	uint64_t usec = watchdog_usec();
	struct timespec now;
	uint64_t since;

	if (!usec)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	since = (uint64_t)(now.tv_sec - last.tv_sec) * 1000000 +
		(uint64_t)((now.tv_nsec - last.tv_nsec) / 1000);
	if (last.tv_sec && since < usec / 4)
		return;
	last = now;
	notify_send("WATCHDOG=1");
}
