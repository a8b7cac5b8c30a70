// SPDX-License-Identifier: GPL-2.0-or-later
/* Command line parsing: virtiofsd-compatible names, clear refusals. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <string.h>

#include "vfsd/config.h"

/* Writable copies: "-o" parsing splits its argument in place, and cfg keeps
 * pointers into it. */
static char arg_store[32][128];

static int parse(struct config *cfg, const char *const *args)
{
	char *argv[32];
	int argc = 0;

	argv[argc++] = (char *)"vfsd";
	for (; *args; args++, argc++) {
		snprintf(arg_store[argc], sizeof(arg_store[argc]), "%s", *args);
		argv[argc] = arg_store[argc];
	}
	argv[argc] = NULL;
	return config_parse(cfg, argc, argv);
}

#define PARSE(cfg, ...) parse(cfg, (const char *const[]){ __VA_ARGS__, NULL })

static void quiet(void) { cr_redirect_stderr(); }

Test(config, minimal_command_line_gets_defaults)
{
	struct config cfg;

	cr_assert_eq(PARSE(&cfg, "--socket-path=/tmp/s", "--shared-dir=/srv"), 0);
	cr_assert_str_eq(cfg.socket_path, "/tmp/s");
	cr_assert_str_eq(cfg.shared_dir, "/srv");
	cr_assert_eq(cfg.cache, CACHE_AUTO);
	cr_assert(cfg.readdirplus);
	cr_assert(cfg.io_uring);
	cr_assert_eq(cfg.listen_fd, -1);
	cr_assert_eq(cfg.request_queues, 1);
}

Test(config, qemu_era_dash_o_options)
{
	struct config cfg;

	cr_assert_eq(PARSE(&cfg, "--socket-path=/s", "-o",
			   "source=/srv,cache=none,no_readdirplus,writeback"), 0);
	cr_assert_str_eq(cfg.shared_dir, "/srv");
	cr_assert_eq(cfg.cache, CACHE_NEVER);
	cr_assert_not(cfg.readdirplus);
	cr_assert(cfg.writeback);
}

Test(config, deprecated_socket_alias)
{
	struct config cfg;

	cr_assert_eq(PARSE(&cfg, "--socket=/s", "--shared-dir=/d"), 0);
	cr_assert_str_eq(cfg.socket_path, "/s");
}

Test(config, every_cache_mode, .init = quiet)
{
	static const char *const names[] = { "never", "metadata", "auto", "always" };
	struct config cfg;
	char opt[64];

	for (int m = 0; m < 4; m++) {
		snprintf(opt, sizeof(opt), "--cache=%s", names[m]);
		cr_assert_eq(PARSE(&cfg, "--shared-dir=/d", opt), 0);
		cr_assert_eq((int)cfg.cache, m);
	}
	cr_assert_eq(PARSE(&cfg, "--shared-dir=/d", "--cache=sometimes"), -EINVAL);
}

Test(config, missing_shared_dir_is_refused, .init = quiet)
{
	struct config cfg;

	cr_assert_eq(PARSE(&cfg, "--socket-path=/s"), -EINVAL);
}

Test(config, conflicting_socket_options_are_refused, .init = quiet)
{
	struct config cfg;

	cr_assert_eq(PARSE(&cfg, "--shared-dir=/d", "--socket-path=/s", "--fd=5"),
		     -EINVAL);
	cr_assert_eq(PARSE(&cfg, "--shared-dir=/d", "--socket-group=kvm"), -EINVAL);
}

Test(config, bad_numbers_are_refused, .init = quiet)
{
	struct config cfg;

	cr_assert_eq(PARSE(&cfg, "--shared-dir=/d", "--fd=abc"), -EINVAL);
	cr_assert_eq(PARSE(&cfg, "--shared-dir=/d", "--fd=-3"), -EINVAL);
	cr_assert_eq(PARSE(&cfg, "--shared-dir=/d", "--fd=1"), -EINVAL);
	cr_assert_eq(PARSE(&cfg, "--shared-dir=/d", "--request-queues=0"), -EINVAL);
	cr_assert_eq(PARSE(&cfg, "--shared-dir=/d", "--request-queues=99"), -EINVAL);
	cr_assert_eq(PARSE(&cfg, "--shared-dir=/d", "--fd=7"), 0);
	cr_assert_eq(cfg.listen_fd, 7);
}

Test(config, unimplemented_options_are_refused_not_ignored, .init = quiet)
{
	struct config cfg;

	cr_assert_eq(PARSE(&cfg, "--shared-dir=/d", "--sandbox=namespace"), -EINVAL);
	cr_assert_eq(PARSE(&cfg, "--shared-dir=/d", "-o", "flock"), -EINVAL);
	cr_assert_eq(PARSE(&cfg, "--shared-dir=/d", "--no-such-option"), -EINVAL);
	cr_assert_eq(PARSE(&cfg, "--shared-dir=/d", "stray"), -EINVAL);
}

Test(config, help_and_version_need_nothing_else)
{
	struct config cfg;

	cr_assert_eq(PARSE(&cfg, "--help"), 0);
	cr_assert(cfg.help);
	cr_assert_eq(PARSE(&cfg, "-V"), 0);
	cr_assert(cfg.version);
	cr_assert_eq(PARSE(&cfg, "--print-capabilities"), 0);
	cr_assert(cfg.print_capabilities);
}

Test(config, error_message_names_the_option)
{
	struct config cfg;
	FILE *err;
	char line[256] = "";

	cr_redirect_stderr();
	PARSE(&cfg, "--shared-dir=/d", "--log-level=loud");
	fflush(stderr);
	err = cr_get_redirected_stderr();
	cr_assert(fgets(line, sizeof(line), err));
	cr_assert(strstr(line, "log level") && strstr(line, "loud"), "got: %s", line);
}
