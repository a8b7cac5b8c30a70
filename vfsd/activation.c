// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The listening socket and readiness notification.
 *
 * A created socket is guarded by an flock on "PATH.lock" so that two vfsd
 * processes can never serve one path: the second one fails with a clear
 * message instead of unlinking the first one's live socket.  A socket file
 * left behind by a dead daemon (lock free) is removed and recreated.
 */
#include "activation.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "log.h"

#define LISTEN_BACKLOG 16

static int check_listening_unix(int fd, const char *what)
{
	int r = sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0);

	if (r < 0)
		return log_error_errno(r, "%s: cannot inspect fd %d", what, fd);
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

static int from_socket_activation(struct listener *l, int n, char **names)
{
	int r;

	if (n > 1) {
		log_error("socket activation: %d sockets passed (LISTEN_FDS), vfsd serves exactly one",
			  n);
		return -EINVAL;
	}
	r = check_listening_unix(SD_LISTEN_FDS_START, "socket activation");
	if (r < 0)
		return r;
	log_info("listening on the socket passed by the service manager%s%s",
		 names && names[0] && strcmp(names[0], "unknown") ? ", named " : "",
		 names && names[0] && strcmp(names[0], "unknown") ? names[0] : "");
	l->fd = SD_LISTEN_FDS_START;
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

static int take_path_lock(struct listener *l, const char *path)
{
	char lock_path[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
	int fd;

	snprintf(lock_path, sizeof(lock_path), "%s.lock", path);
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
	l->lock_fd = fd;
	return 0;
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

static int from_socket_path(struct listener *l, const char *path,
			    const char *group)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old_umask;
	int fd, r;

	if (strlen(path) >= sizeof(addr.sun_path) - 5 /* ".lock" */) {
		log_error("socket path '%s': too long (max %zu bytes)", path,
			  sizeof(addr.sun_path) - 6);
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, path);

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
	l->created_path = strdup(path);
	l->fd = fd;
	if (!l->created_path)
		return -ENOMEM;
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

int listener_open(struct listener *l, const struct config *cfg)
{
	char **names = NULL;
	int n, r;

	*l = (struct listener){ .fd = -1, .lock_fd = -1 };
	n = sd_listen_fds_with_names(1, &names);
	if (n < 0) {
		log_error_errno(n, "socket activation: invalid LISTEN_FDS/LISTEN_PID");
		return n;
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
	} else {
		log_error("no socket: give --socket-path=PATH or --fd=N, or start vfsd through socket activation");
		r = -EINVAL;
	}
	if (names) {
		for (char **p = names; *p; p++)
			free(*p);
		free(names);
	}
	if (r < 0)
		listener_close(l);
	return r;
}

void listener_close(struct listener *l)
{
	if (l->created_path) {
		unlink(l->created_path);
		free(l->created_path);
		l->created_path = NULL;
	}
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	/* The lock file stays: removing it would race with a new daemon that
	 * already opened it.  It is empty and harmless. */
	if (l->lock_fd >= 0)
		close(l->lock_fd);
	l->lock_fd = -1;
}

void notify_ready(void)
{
	sd_notify(0, "READY=1");
}

void notify_status(const char *fmt, ...)
{
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	sd_notifyf(0, "STATUS=%s", text);
}

void notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=Stopping");
}
