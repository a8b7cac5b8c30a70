// SPDX-License-Identifier: GPL-2.0-or-later
/* Logging: level names as on the command line, rate limiting of messages
 * the guest can trigger. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>

#include "vfsd/log.h"

Test(log, level_names_match_the_command_line)
{
	static const char *const names[] = { "error", "warn", "info", "debug", "trace" };
	enum log_level l;

	for (int i = 0; i < 5; i++) {
		cr_assert_eq(log_parse_level(names[i], &l), 0);
		cr_assert_eq((int)l, LOG_LEVEL_ERROR + i);
	}
	cr_assert_eq(log_parse_level("off", &l), 0);
	cr_assert_eq(l, LOG_LEVEL_OFF);
	cr_assert_eq(log_parse_level("loud", &l), -EINVAL);
	cr_assert_eq(log_parse_level("", &l), -EINVAL);
}

/* A guest that triggers the same message in a loop gets a burst, then
 * silence: the log cannot be flooded. */
Test(log, ratelimit_allows_a_burst_then_suppresses)
{
	struct log_ratelimit rl = { 0 };
	unsigned int ok = 0;

	for (int i = 0; i < 1000; i++)
		ok += log_ratelimit_ok(&rl);
	/* 10 per 5 s window; a window boundary inside the loop allows one
	 * more burst at most. */
	cr_assert(ok >= 10 && ok <= 20, "%u messages let through", ok);
	cr_assert_geq(rl.suppressed, 1000 - ok - 10);
}

Test(log, messages_below_the_level_are_dropped, .init = cr_redirect_stderr)
{
	log_use_syslog(false);
	log_set_level(LOG_LEVEL_WARN);
	log_info("invisible");
	log_warn("visible %d", 1);
	cr_assert_eq(log_error_errno(-ENOENT, "with errno"), -ENOENT);
	log_set_field("VFSD_SHARE", "/srv");        /* not on stderr */
	log_set_field("bad name", "ignored");
	log_set_field("VFSD_SHARE", NULL);
	fflush(stderr);
	cr_assert_stderr_eq_str("vfsd: warning: visible 1\n"
				"vfsd: error: with errno: No such file or directory\n");
}
