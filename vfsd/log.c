// SPDX-License-Identifier: GPL-2.0-or-later
/* Logging to stderr (one line per message, "vfsd: " prefixed) or syslog. */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#define RATELIMIT_INTERVAL_S 5
#define RATELIMIT_BURST 10

static enum log_level current_level = LOG_LEVEL_INFO;
static bool to_syslog;
static pthread_mutex_t ratelimit_lock = PTHREAD_MUTEX_INITIALIZER;

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

void log_use_syslog(bool on)
{
	to_syslog = on;
	if (on)
		openlog("vfsd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
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

static void log_write(enum log_level level, const char *text)
{
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
	log_write(level, text);
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
