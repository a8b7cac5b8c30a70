// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Command line parsing.  Option names follow virtiofsd (the Rust one, and
 * the QEMU-era "-o key=value" forms) so that vfsd can replace it in the
 * command lines libvirt, kata and microvm.nix generate.  An option vfsd does
 * not implement is refused with a clear message, never silently ignored.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "vhost-user/vu.h"

enum {
	OPT_SOCKET_PATH = 256,
	OPT_SOCKET_GROUP,
	OPT_FD,
	OPT_SHARED_DIR,
	OPT_CACHE,
	OPT_LOG_LEVEL,
	OPT_THREAD_POOL_SIZE,
	OPT_READONLY,
	OPT_WRITEBACK,
	OPT_NO_READDIRPLUS,
	OPT_ALLOW_DIRECT_IO,
	OPT_EXIT_ON_DISCONNECT,
	OPT_NO_IO_URING,
	OPT_SYSLOG,
	OPT_PRINT_CAPABILITIES,
	OPT_REQUEST_QUEUES,
	OPT_SANDBOX,
	OPT_SECCOMP,
};

static const struct option long_options[] = {
	{ "socket-path", required_argument, NULL, OPT_SOCKET_PATH },
	{ "socket", required_argument, NULL, OPT_SOCKET_PATH },
	{ "socket-group", required_argument, NULL, OPT_SOCKET_GROUP },
	{ "fd", required_argument, NULL, OPT_FD },
	{ "shared-dir", required_argument, NULL, OPT_SHARED_DIR },
	{ "cache", required_argument, NULL, OPT_CACHE },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "thread-pool-size", required_argument, NULL, OPT_THREAD_POOL_SIZE },
	{ "readonly", no_argument, NULL, OPT_READONLY },
	{ "writeback", no_argument, NULL, OPT_WRITEBACK },
	{ "no-readdirplus", no_argument, NULL, OPT_NO_READDIRPLUS },
	{ "allow-direct-io", no_argument, NULL, OPT_ALLOW_DIRECT_IO },
	{ "exit-on-disconnect", no_argument, NULL, OPT_EXIT_ON_DISCONNECT },
	{ "no-io-uring", no_argument, NULL, OPT_NO_IO_URING },
	{ "syslog", no_argument, NULL, OPT_SYSLOG },
	{ "print-capabilities", no_argument, NULL, OPT_PRINT_CAPABILITIES },
	{ "request-queues", required_argument, NULL, OPT_REQUEST_QUEUES },
	{ "sandbox", required_argument, NULL, OPT_SANDBOX },
	{ "seccomp", required_argument, NULL, OPT_SECCOMP },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ 0 },
};

void config_usage(FILE *out, const char *argv0)
{
	fprintf(out,
"Usage: %s --shared-dir=DIR (--socket-path=PATH | --fd=N | socket activation) [OPTIONS]\n"
"\n"
"Serve DIR to a virtual machine over virtio-fs (vhost-user-fs back-end).\n"
"\n"
"  --shared-dir=DIR          directory to share (also -o source=DIR)\n"
"  --socket-path=PATH        create and listen on the vhost-user socket PATH\n"
"  --socket-group=GROUP      give GROUP access to the socket (mode 0660)\n"
"  --fd=N                    listen on the inherited listening socket N\n"
"                            (without either: LISTEN_FDS socket activation)\n"
"  --cache=MODE              never | metadata | auto | always (default auto)\n"
"  --readonly                refuse every modification (EROFS)\n"
"  --writeback               enable the guest's writeback cache\n"
"  --no-readdirplus          do not offer READDIRPLUS\n"
"  --allow-direct-io         honour O_DIRECT from the guest\n"
"  --request-queues=N        request queues offered (default 1, max %d)\n"
"  --thread-pool-size=N      accepted for compatibility (one thread per queue)\n"
"  --exit-on-disconnect      exit when the hypervisor disconnects\n"
"  --no-io-uring             use plain syscalls instead of io_uring\n"
"  --sandbox=none            sandbox mode (only 'none' in this version)\n"
"  --seccomp=none            seccomp mode (only 'none' in this version)\n"
"  --log-level=LEVEL         error | warn | info | debug | trace | off\n"
"  --syslog                  log to syslog instead of stderr\n"
"  --print-capabilities      print the vhost-user back-end capabilities\n"
"  -o OPT[,OPT...]           QEMU-era options: source=DIR, cache=MODE,\n"
"                            readdirplus, no_readdirplus, writeback,\n"
"                            no_writeback, log_level=LEVEL\n"
"  -f, -d                    accepted for compatibility (always foreground;\n"
"                            -d sets debug logging)\n"
"  -h, --help                this text\n"
"  -V, --version             version\n",
		argv0, VU_MAX_QUEUES - 1);
}

const char *config_cache_name(enum cache_mode mode)
{
	static const char *const names[] = {
		[CACHE_NEVER] = "never", [CACHE_METADATA] = "metadata",
		[CACHE_AUTO] = "auto", [CACHE_ALWAYS] = "always",
	};
	return names[mode];
}

static int bad(const char *what, const char *value, const char *why)
{
	fprintf(stderr, "vfsd: error: invalid %s '%s': %s\n", what, value, why);
	return -EINVAL;
}

static int parse_uint(const char *what, const char *s, unsigned long max,
		      unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > max)
		return bad(what, s, "not a number in range");
	*out = v;
	return 0;
}

static int parse_cache(const char *s, enum cache_mode *out)
{
	for (int m = CACHE_NEVER; m <= CACHE_ALWAYS; m++) {
		if (strcmp(s, config_cache_name(m)) == 0) {
			*out = m;
			return 0;
		}
	}
	/* QEMU-era virtiofsd spelled "never" as "none". */
	if (strcmp(s, "none") == 0) {
		*out = CACHE_NEVER;
		return 0;
	}
	return bad("cache mode", s, "expected never, metadata, auto or always");
}

static int parse_log_level(const char *s, enum log_level *out)
{
	if (log_parse_level(s, out) < 0)
		return bad("log level", s,
			   "expected error, warn, info, debug, trace or off");
	return 0;
}

/* One "-o" item: key or key=value. */
static int parse_o_item(struct config *cfg, char *item)
{
	char *value = strchr(item, '=');

	if (value)
		*value++ = '\0';
	if (strcmp(item, "source") == 0 && value)
		cfg->shared_dir = value;
	else if (strcmp(item, "cache") == 0 && value)
		return parse_cache(value, &cfg->cache);
	else if (strcmp(item, "log_level") == 0 && value)
		return parse_log_level(value, &cfg->log_level);
	else if (strcmp(item, "readdirplus") == 0 && !value)
		cfg->readdirplus = true;
	else if (strcmp(item, "no_readdirplus") == 0 && !value)
		cfg->readdirplus = false;
	else if (strcmp(item, "writeback") == 0 && !value)
		cfg->writeback = true;
	else if (strcmp(item, "no_writeback") == 0 && !value)
		cfg->writeback = false;
	else
		return bad("-o option", item, "not supported by this version of vfsd");
	return 0;
}

static int parse_o(struct config *cfg, char *list)
{
	char *save = NULL;
	int ret;

	for (char *item = strtok_r(list, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		ret = parse_o_item(cfg, item);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int parse_option(struct config *cfg, int opt, char *arg)
{
	unsigned long v;
	int ret;

	switch (opt) {
	case OPT_SOCKET_PATH: cfg->socket_path = arg; break;
	case OPT_SOCKET_GROUP: cfg->socket_group = arg; break;
	case OPT_FD:
		ret = parse_uint("--fd", arg, INT_MAX, &v);
		if (ret < 0)
			return ret;
		if (v < 3)
			return bad("--fd", arg, "must not be stdin, stdout or stderr");
		cfg->listen_fd = (int)v;
		break;
	case OPT_SHARED_DIR: cfg->shared_dir = arg; break;
	case OPT_CACHE: return parse_cache(arg, &cfg->cache);
	case OPT_LOG_LEVEL: return parse_log_level(arg, &cfg->log_level);
	case OPT_THREAD_POOL_SIZE:
		ret = parse_uint("--thread-pool-size", arg, 1024, &v);
		cfg->thread_pool_size = (unsigned int)v;
		return ret;
	case OPT_REQUEST_QUEUES:
		ret = parse_uint("--request-queues", arg, VU_MAX_QUEUES - 1, &v);
		if (ret == 0 && v == 0)
			return bad("--request-queues", arg, "at least 1 is needed");
		cfg->request_queues = (unsigned int)v;
		return ret;
	case OPT_READONLY: cfg->readonly = true; break;
	case OPT_WRITEBACK: cfg->writeback = true; break;
	case OPT_NO_READDIRPLUS: cfg->readdirplus = false; break;
	case OPT_ALLOW_DIRECT_IO: cfg->allow_direct_io = true; break;
	case OPT_EXIT_ON_DISCONNECT: cfg->exit_on_disconnect = true; break;
	case OPT_NO_IO_URING: cfg->io_uring = false; break;
	case OPT_SYSLOG: cfg->syslog = true; break;
	case OPT_PRINT_CAPABILITIES: cfg->print_capabilities = true; break;
	case OPT_SANDBOX:
		if (strcmp(arg, "none") != 0)
			return bad("--sandbox", arg, "only 'none' is implemented in this version");
		break;
	case OPT_SECCOMP:
		if (strcmp(arg, "none") != 0)
			return bad("--seccomp", arg, "only 'none' is implemented in this version");
		break;
	case 'o': return parse_o(cfg, arg);
	case 'f': break;
	case 'd': cfg->log_level = LOG_LEVEL_DEBUG; break;
	case 'h': cfg->help = true; break;
	case 'V': cfg->version = true; break;
	default: return -EINVAL; /* getopt already printed why */
	}
	return 0;
}

static void config_defaults(struct config *cfg)
{
	*cfg = (struct config){
		.listen_fd = -1,
		.cache = CACHE_AUTO,
		.log_level = LOG_LEVEL_INFO,
		.request_queues = 1,
		.readdirplus = true,
		.io_uring = true,
	};
}

static int config_check(const struct config *cfg)
{
	if (cfg->help || cfg->version || cfg->print_capabilities)
		return 0;
	if (!cfg->shared_dir) {
		fprintf(stderr, "vfsd: error: no shared directory: give --shared-dir=DIR\n");
		return -EINVAL;
	}
	if (cfg->socket_path && cfg->listen_fd >= 0) {
		fprintf(stderr, "vfsd: error: --socket-path and --fd are mutually exclusive\n");
		return -EINVAL;
	}
	if (cfg->socket_group && !cfg->socket_path) {
		fprintf(stderr, "vfsd: error: --socket-group needs --socket-path\n");
		return -EINVAL;
	}
	return 0;
}

int config_parse(struct config *cfg, int argc, char **argv)
{
	int opt, ret;

	config_defaults(cfg);
	optind = 0;	/* 0, not 1: glibc then also resets its internal state */
	opterr = 1;
	while ((opt = getopt_long(argc, argv, "o:fdhV", long_options, NULL)) != -1) {
		if (opt == '?' || opt == ':')
			return -EINVAL;
		ret = parse_option(cfg, opt, optarg);
		if (ret < 0)
			return ret;
	}
	if (optind < argc) {
		fprintf(stderr, "vfsd: error: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return config_check(cfg);
}
