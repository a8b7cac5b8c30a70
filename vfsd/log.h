/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging.  Control-plane code logs; data-path code returns -errno and logs
 * only through the rate-limited variants, because the guest can trigger it.
 * log_*_errno() return the (negative) error they were given, so a function
 * can log and return in one statement.
 */
#ifndef VFSD_LOG_H
#define VFSD_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LEVEL_OFF = -1,
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_TRACE,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parse "error|warn|info|debug|trace|off"; -EINVAL when unknown. */
int log_parse_level(const char *name, enum log_level *out);
/*
 * Choose where messages go: syslog when `on`, else the systemd journal
 * (natively, with structured fields) when stderr is connected to it
 * (JOURNAL_STREAM names stderr's device:inode), else stderr.
 */
void log_use_syslog(bool on);
/* True when messages go natively to the journal. */
bool log_to_journal(void);
/* The journal socket log_use_syslog() connected, or -1: a process that
 * closes all its other fds (the pid namespace's supervisor) keeps it. */
int log_journal_fd(void);

/*
 * Context attached to every message sent to the journal as a structured
 * field, e.g. log_set_field("VFSD_SHARE", "/srv/share") or
 * log_set_field("VFSD_FRONTEND_PID", "1234").  name: upper case, digits and
 * '_' (journal field rules); value NULL removes the field.  Thread-safe.
 */
void log_set_field(const char *name, const char *value);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* err is a negative errno; its text is appended.  Returns err. */
int log_msg_errno(enum log_level level, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_error_errno(err, ...) log_msg_errno(LOG_LEVEL_ERROR, err, __VA_ARGS__)
#define log_warn_errno(err, ...)  log_msg_errno(LOG_LEVEL_WARN, err, __VA_ARGS__)

/*
 * Rate limiting for messages the guest can trigger: at most `burst` messages
 * per `interval_s`, then one "suppressed N messages" line.  One static
 * struct per call site.
 */
struct log_ratelimit {
	long window_start;
	unsigned int count;
	unsigned int suppressed;
};

bool log_ratelimit_ok(struct log_ratelimit *rl);

#define log_ratelimited(level, ...)                                          \
	do {                                                                 \
		static struct log_ratelimit rl_;                             \
		if (log_get_level() >= (level) && log_ratelimit_ok(&rl_))    \
			log_msg((level), __VA_ARGS__);                       \
	} while (0)

#endif
