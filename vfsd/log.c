// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Logging to stderr (one line per message, "vfsd: " prefixed), syslog, or
 * natively to the systemd journal when stderr is a journal stream: then each
 * message carries its priority and the context fields (log_set_field) as
 * structured fields, instead of a line the journal would have to guess at.
 *
 * The journal's native protocol is spoken here rather than through
 * sd_journal_sendv(): libsystemd addresses every datagram to
 * /run/systemd/journal/socket by path, which no longer resolves once the
 * sandbox has pivoted into the shared directory.  A datagram socket
 * connected at start-up keeps working inside it.
 */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

#define RATELIMIT_INTERVAL_S 5
#define RATELIMIT_BURST 10

static enum log_level current_level = LOG_LEVEL_INFO;
static bool to_syslog;
static bool to_journal;
static int journal_fd = -1;     /* connected to JOURNAL_SOCKET */
static pthread_mutex_t ratelimit_lock = PTHREAD_MUTEX_INITIALIZER;

/* Structured context for journal entries (log_set_field). */
#define LOG_FIELDS 4
#define LOG_FIELD_LEN 256
static pthread_mutex_t fields_lock = PTHREAD_MUTEX_INITIALIZER;
static char fields[LOG_FIELDS][LOG_FIELD_LEN];   /* "NAME=value" or "" */

static const char *const level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
	[LOG_LEVEL_TRACE] = "trace",
};

void log_set_level(enum log_level level) { current_level = level; }
enum log_level log_get_level(void) { return current_level; }

int log_parse_level(const char *name, enum log_level *out)
{
	if (strcmp(name, "off") == 0) {
		*out = LOG_LEVEL_OFF;
		return 0;
	}
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* systemd sets JOURNAL_STREAM=DEV:INO for a service whose stderr is a
 * journal stream; a child that inherited the variable but whose stderr was
 * redirected elsewhere must keep writing to stderr. */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	int n = 0;

	if (!e || sscanf(e, "%llu:%llu%n", &dev, &ino, &n) != 2 || e[n] != '\0')
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

static int journal_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = JOURNAL_SOCKET };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

void log_use_syslog(bool on)
{
	to_syslog = on;
	to_journal = false;
	if (on) {
		/* LOG_NDELAY: connect now, before the sandbox hides /dev/log. */
		openlog("vfsd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	} else if (stderr_is_journal()) {
		if (journal_fd < 0)
			journal_fd = journal_connect();
		to_journal = journal_fd >= 0;
	}
}

bool log_to_journal(void) { return to_journal; }
int log_journal_fd(void) { return journal_fd; }

static bool valid_field_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > 64 || name[0] == '_' ||
	    (name[0] >= '0' && name[0] <= '9'))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return false;
	return true;
}

void log_set_field(const char *name, const char *value)
{
	size_t len = strlen(name);
	int slot = -1;

	if (!valid_field_name(name))
		return;
	pthread_mutex_lock(&fields_lock);
	for (int i = 0; i < LOG_FIELDS; i++) {
		if (strncmp(fields[i], name, len) == 0 && fields[i][len] == '=') {
			slot = i;
			break;
		}
		if (slot < 0 && !fields[i][0])
			slot = i;
	}
	if (slot >= 0) {
		if (value)
			snprintf(fields[slot], LOG_FIELD_LEN, "%s=%s", name, value);
		else
			fields[slot][0] = '\0';
	}
	pthread_mutex_unlock(&fields_lock);
}

static int syslog_priority(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_ERROR: return LOG_ERR;
	case LOG_LEVEL_WARN: return LOG_WARNING;
	case LOG_LEVEL_INFO: return LOG_INFO;
	default: return LOG_DEBUG;
	}
}

/*
 * Append one field in the journal's native format: "NAME=value\n", or, when
 * the value holds a newline, "NAME\n" + 64-bit little-endian length + value
 * + "\n".  Returns the new length, or len unchanged when it does not fit.
 */
static size_t journal_field(char *buf, size_t cap, size_t len,
			    const char *name, const char *value)
{
	size_t nlen = strlen(name), vlen = strlen(value);

	if (len + nlen + vlen + 10 > cap)
		return len;
	memcpy(buf + len, name, nlen);
	len += nlen;
	if (!strchr(value, '\n')) {
		buf[len++] = '=';
	} else {
		uint64_t le = vlen;

		buf[len++] = '\n';
		for (int i = 0; i < 8; i++, le >>= 8)
			buf[len++] = (char)(le & 0xff);
	}
	memcpy(buf + len, value, vlen);
	len += vlen;
	buf[len++] = '\n';
	return len;
}

/* Returns -errno when the journal cannot be reached (then stderr it is). */
static int journal_write(enum log_level level, int err, const char *text)
{
	char buf[2048 + LOG_FIELDS * LOG_FIELD_LEN], num[16];
	char ctx[LOG_FIELDS][LOG_FIELD_LEN];
	size_t len = 0;

	snprintf(num, sizeof(num), "%d", syslog_priority(level));
	len = journal_field(buf, sizeof(buf), len, "PRIORITY", num);
	len = journal_field(buf, sizeof(buf), len, "SYSLOG_IDENTIFIER", "vfsd");
	len = journal_field(buf, sizeof(buf), len, "MESSAGE", text);
	if (err) {
		snprintf(num, sizeof(num), "%d", -err);
		len = journal_field(buf, sizeof(buf), len, "ERRNO", num);
	}
	pthread_mutex_lock(&fields_lock);
	memcpy(ctx, fields, sizeof(ctx));
	pthread_mutex_unlock(&fields_lock);
	for (int i = 0; i < LOG_FIELDS; i++) {
		char *eq = strchr(ctx[i], '=');

		if (!eq)
			continue;
		*eq = '\0';
		len = journal_field(buf, sizeof(buf), len, ctx[i], eq + 1);
	}
	if (send(journal_fd, buf, len, MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

static void log_write(enum log_level level, int err, const char *text)
{
	if (to_journal && journal_write(level, err, text) >= 0)
		return;
	if (to_syslog) {
		syslog(syslog_priority(level), "%s", text);
		return;
	}
	/* One fprintf per line so that lines from threads do not interleave. */
	fprintf(stderr, "vfsd: %s%s\n",
		level == LOG_LEVEL_ERROR ? "error: " :
		level == LOG_LEVEL_WARN ? "warning: " : "",
		text);
}

static void log_vmsg(enum log_level level, int err, const char *fmt, va_list ap)
{
	char text[1024];
	int n;

	if (level > current_level)
		return;
	n = vsnprintf(text, sizeof(text), fmt, ap);
	if (n < 0)
		return;
	if (err != 0 && (size_t)n < sizeof(text))
		snprintf(text + n, sizeof(text) - (size_t)n, ": %s", strerror(-err));
	log_write(level, err, text);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_vmsg(level, 0, fmt, ap);
	va_end(ap);
	errno = saved;
}

int log_msg_errno(enum log_level level, int err, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_vmsg(level, err, fmt, ap);
	va_end(ap);
	errno = saved;
	return err;
}

bool log_ratelimit_ok(struct log_ratelimit *rl)
{
	struct timespec now;
	bool ok;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&ratelimit_lock);
	if (now.tv_sec - rl->window_start >= RATELIMIT_INTERVAL_S) {
		if (rl->suppressed)
			log_msg(LOG_LEVEL_WARN, "suppressed %u similar messages",
				rl->suppressed);
		rl->window_start = now.tv_sec;
		rl->count = 0;
		rl->suppressed = 0;
	}
	ok = rl->count < RATELIMIT_BURST;
	if (ok)
		rl->count++;
	else
		rl->suppressed++;
	pthread_mutex_unlock(&ratelimit_lock);
	return ok;
}
