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

	cr_assert_eq(PARSE(&cfg, "--shared-dir=/d", "--migration-mode=find-paths"), -EINVAL);
	cr_assert_eq(PARSE(&cfg, "--shared-dir=/d", "--sandbox=jail"), -EINVAL);
	cr_assert_eq(PARSE(&cfg, "--shared-dir=/d", "-o", "norace"), -EINVAL);
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

/* Read the first line the last PARSE wrote to (redirected) stderr. */
static void first_stderr_line(char *line, size_t len)
{
	FILE *err;

	fflush(stderr);
	err = cr_get_redirected_stderr();
	line[0] = '\0';
	cr_assert(fgets(line, (int)len, err));
}

Test(config, unimplemented_feature_is_named_in_the_refusal)
{
	struct config cfg;
	char line[256];

	cr_redirect_stderr();
	cr_assert_eq(PARSE(&cfg, "--shared-dir=/d", "--tag=myfs"), -EINVAL);
	first_stderr_line(line, sizeof(line));
	cr_assert(strstr(line, "--tag") && strstr(line, "not implemented"),
		  "got: %s", line);
}

Test(config, qemu_era_negative_and_compat_items)
{
	struct config cfg;

	cr_assert_eq(PARSE(&cfg, "-o", "source=/srv", "-o",
			   "xattr,no_xattr,allow_direct_io,no_flock,no_posix_lock,loglevel=err",
			   "--fd=3"), 0);
	cr_assert_not(cfg.xattr);
	cr_assert(cfg.allow_direct_io);
	cr_assert_eq(cfg.log_level, LOG_LEVEL_ERROR);
	cr_assert_eq(PARSE(&cfg, "-o", "source=/srv,log_level=debug,readdirplus",
			   "--fd=3"), 0);
	cr_assert_eq(cfg.log_level, LOG_LEVEL_DEBUG);
	cr_assert(cfg.readdirplus);
}

Test(config, lock_options_default_off_and_both_spellings)
{
	struct config cfg;

	cr_assert_eq(PARSE(&cfg, "--fd=3", "--shared-dir=/d"), 0);
	cr_assert_not(cfg.posix_lock);
	cr_assert_not(cfg.flock);
	cr_assert_eq(PARSE(&cfg, "--fd=3", "--shared-dir=/d", "--posix-lock",
			   "--flock"), 0);
	cr_assert(cfg.posix_lock);
	cr_assert(cfg.flock);
	cr_assert_eq(PARSE(&cfg, "--fd=3", "--shared-dir=/d", "--posix-lock",
			   "--flock", "--no-posix-lock", "--no-flock"), 0);
	cr_assert_not(cfg.posix_lock);
	cr_assert_not(cfg.flock);
	cr_assert_eq(PARSE(&cfg, "--fd=3", "-o", "source=/d,posix_lock,flock"),
		     0);
	cr_assert(cfg.posix_lock);
	cr_assert(cfg.flock);
	cr_assert_eq(PARSE(&cfg, "--fd=3", "-o",
			   "source=/d,posix_lock,flock,no_posix_lock,no_flock"), 0);
	cr_assert_not(cfg.posix_lock);
	cr_assert_not(cfg.flock);
}

Test(config, dash_o_value_shape_is_checked, .init = quiet)
{
	struct config cfg;

	cr_assert_eq(PARSE(&cfg, "-o", "source"), -EINVAL);
	cr_assert_eq(PARSE(&cfg, "-o", "source=/d,xattr=1"), -EINVAL);
	cr_assert_eq(PARSE(&cfg, "-o", "source=/d,timeout=3"), -EINVAL);
}

Test(config, optional_value_options_follow_virtiofsd, .init = quiet)
{
	struct config cfg;

	/* Parsed with virtiofsd's meaning even while refused as unimplemented:
	 * a bad value is a usage error either way. */
	cr_assert_eq(PARSE(&cfg, "--shared-dir=/d", "--posix-acl=sometimes"), -EINVAL);
	cr_assert_eq(PARSE(&cfg, "--shared-dir=/d", "--inode-file-handles=never"), 0);
	cr_assert_eq(cfg.inode_file_handles, INODE_FH_NEVER);
	cr_assert_eq(PARSE(&cfg, "--shared-dir=/d", "--inode-file-handles=bogus"), -EINVAL);
	cr_assert_eq(PARSE(&cfg, "--shared-dir=/d", "--posix-acl=never",
			   "--security-label=never", "--no-killpriv-v2",
			   "--no-announce-submounts"), 0);
}

Test(config, id_maps_are_validated, .init = quiet)
{
	struct config cfg;

	cr_assert_eq(PARSE(&cfg, "--shared-dir=/d", "--uid-map=:0:100000"), -EINVAL);
	cr_assert_eq(PARSE(&cfg, "--shared-dir=/d", "--uid-map=:0:x:1:"), -EINVAL);
	cr_assert_eq(PARSE(&cfg, "--shared-dir=/d", "--translate-uid=sideways:0:0:1"),
		     -EINVAL);
	cr_assert_eq(PARSE(&cfg, "--shared-dir=/d", "--translate-gid=map:0"), -EINVAL);
}

Test(config, capabilities_json_has_type_fs)
{
	char buf[512] = "";
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

	cr_assert(f);
	config_print_capabilities(f);
	fclose(f);
	cr_assert(strstr(buf, "\"type\": \"fs\""), "got: %s", buf);
	cr_assert(strstr(buf, "\"separate-options\""), "got: %s", buf);
}

Test(config, dash_o_double_comma_is_a_literal_comma)
{
	struct config cfg;

	/* libvirt escapes commas in the source path QEMU-style. */
	cr_assert_eq(PARSE(&cfg, "--fd=3", "-o", "source=/srv/a,,b,cache=always"), 0);
	cr_assert_str_eq(cfg.shared_dir, "/srv/a,b");
	cr_assert_eq(cfg.cache, CACHE_ALWAYS);
}
