// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Command line parsing.  Option names follow virtiofsd (the Rust one, 1.13
 * and 1.14, and the QEMU-era "-o key=value" forms) so that vfsd can replace
 * it in the command lines libvirt, kata and microvm.nix generate.
 *
 * To add an option: one OPT_ id, one row in option_table (name, argument,
 * help: --help is generated from the table), one case in parse_option(), and
 * if it is not implemented yet, one line in config_unimplemented().  An
 * option vfsd does not implement is refused with a clear message, never
 * silently ignored.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "idmap.h"
#include "sandbox.h"
#include "xattrmap.h"
#include "vhost-user/vu.h"

/* Longest --tag virtiofsd accepts (the virtio-fs config space tag). */
#define TAG_MAX 36

enum {
	OPT_SOCKET_PATH = 256,
	OPT_SOCKET_GROUP,
	OPT_FD,
	OPT_SHARED_DIR,
	OPT_TAG,
	OPT_CACHE,
	OPT_LOG_LEVEL,
	OPT_THREAD_POOL_SIZE,
	OPT_READONLY,
	OPT_WRITEBACK,
	OPT_NO_WRITEBACK,            /* -o no_writeback */
	OPT_READDIRPLUS,             /* -o readdirplus */
	OPT_NO_READDIRPLUS,
	OPT_ALLOW_DIRECT_IO,
	OPT_NO_ALLOW_DIRECT_IO,      /* -o no_allow_direct_io */
	OPT_ALLOW_MMAP,
	OPT_EXIT_ON_DISCONNECT,
	OPT_NO_IO_URING,
	OPT_SYSLOG,
	OPT_PRINT_CAPABILITIES,
	OPT_REQUEST_QUEUES,
	OPT_SANDBOX,
	OPT_SECCOMP,
	OPT_XATTR,
	OPT_NO_XATTR,                /* -o no_xattr */
	OPT_XATTRMAP,
	OPT_POSIX_ACL,
	OPT_NO_POSIX_ACL,            /* -o no_posix_acl */
	OPT_POSIX_ACL_CREATE_FALLBACK,
	OPT_SECURITY_LABEL,
	OPT_NO_SECURITY_LABEL,       /* -o no_security_label */
	OPT_ANNOUNCE_SUBMOUNTS,
	OPT_NO_ANNOUNCE_SUBMOUNTS,
	OPT_INODE_FILE_HANDLES,
	OPT_MODCAPS,
	OPT_RLIMIT_NOFILE,
	OPT_KILLPRIV_V2,
	OPT_NO_KILLPRIV_V2,
	OPT_UID_MAP,
	OPT_GID_MAP,
	OPT_TRANSLATE_UID,
	OPT_TRANSLATE_GID,
	OPT_PRESERVE_NOATIME,
	OPT_MIGRATION_MODE,
	OPT_MIGRATION_ON_ERROR,
	OPT_MIGRATION_VERIFY_HANDLES,
	OPT_MIGRATION_CONFIRM_PATHS,
	OPT_POSIX_LOCK,
	OPT_NO_POSIX_LOCK,
	OPT_FLOCK,
	OPT_NO_FLOCK,
	OPT_MOUNT,
	OPT_IDLE_TIMEOUT,
	OPT_SHUTDOWN_TIMEOUT,
};

struct option_def {
	const char *name;
	int has_arg;                 /* getopt's no_/required_/optional_argument */
	int id;
	const char *arg;             /* argument name in --help */
	const char *help;            /* lines after the first indented */
};

static const struct option_def option_table[] = {
	{ "shared-dir", required_argument, OPT_SHARED_DIR, "DIR",
	  "directory to share (also -o source=DIR)" },
	{ "socket-path", required_argument, OPT_SOCKET_PATH, "PATH",
	  "create and listen on the vhost-user socket PATH" },
	{ "socket", required_argument, OPT_SOCKET_PATH, "PATH",
	  "deprecated alias of --socket-path" },
	{ "socket-group", required_argument, OPT_SOCKET_GROUP, "GROUP",
	  "give GROUP access to the socket (mode 0660)" },
	{ "fd", required_argument, OPT_FD, "N",
	  "listen on the inherited listening socket N\n"
	  "(neither this nor --socket-path: LISTEN_FDS)" },
	{ "tag", required_argument, OPT_TAG, "TAG",
	  "tag advertised in the device config space" },
	{ "cache", required_argument, OPT_CACHE, "MODE",
	  "never | metadata | auto | always (default auto)" },
	{ "readonly", no_argument, OPT_READONLY, NULL,
	  "refuse every modification (EROFS)" },
	{ "mount", required_argument, OPT_MOUNT, "DIR",
	  "serve through the host's FUSE client on DIR\n"
	  "(/dev/fuse) instead of vhost-user: for tests" },
	{ "xattr", no_argument, OPT_XATTR, NULL,
	  "serve extended attributes" },
	{ "xattrmap", required_argument, OPT_XATTRMAP, "RULES",
	  "translate extended attribute names" },
	{ "posix-acl", optional_argument, OPT_POSIX_ACL, "never|auto|always",
	  "POSIX ACL support, implies --xattr" },
	{ "posix-acl-create-fallback", no_argument, OPT_POSIX_ACL_CREATE_FALLBACK,
	  NULL, "retry ACL-denied creates" },
	{ "security-label", optional_argument, OPT_SECURITY_LABEL,
	  "never|auto|always",
	  "store security labels, implies --xattr" },
	{ "writeback", no_argument, OPT_WRITEBACK, NULL,
	  "enable the guest's writeback cache" },
	{ "no-readdirplus", no_argument, OPT_NO_READDIRPLUS, NULL,
	  "do not offer READDIRPLUS" },
	{ "allow-direct-io", no_argument, OPT_ALLOW_DIRECT_IO, NULL,
	  "honour O_DIRECT from the guest" },
	{ "allow-mmap", no_argument, OPT_ALLOW_MMAP, NULL,
	  "allow mmap with --cache=never|metadata" },
	{ "announce-submounts", no_argument, OPT_ANNOUNCE_SUBMOUNTS, NULL,
	  "tell the guest which directories are mount points" },
	{ "no-announce-submounts", no_argument, OPT_NO_ANNOUNCE_SUBMOUNTS, NULL,
	  "do not announce mount points (vfsd's default)" },
	{ "killpriv-v2", no_argument, OPT_KILLPRIV_V2, NULL,
	  "enable FUSE_HANDLE_KILLPRIV_V2" },
	{ "no-killpriv-v2", no_argument, OPT_NO_KILLPRIV_V2, NULL,
	  "disable FUSE_HANDLE_KILLPRIV_V2 (default)" },
	{ "posix-lock", no_argument, OPT_POSIX_LOCK, NULL,
	  "serve the guest's POSIX locks (fcntl) from the host" },
	{ "no-posix-lock", no_argument, OPT_NO_POSIX_LOCK, NULL,
	  "POSIX locks stay local to the guest (default)" },
	{ "flock", no_argument, OPT_FLOCK, NULL,
	  "serve the guest's flock() locks from the host" },
	{ "no-flock", no_argument, OPT_NO_FLOCK, NULL,
	  "flock() locks stay local to the guest (default)" },
	{ "preserve-noatime", no_argument, OPT_PRESERVE_NOATIME, NULL,
	  "pass the guest's O_NOATIME through" },
	{ "inode-file-handles", required_argument, OPT_INODE_FILE_HANDLES,
	  "never|prefer|mandatory",
	  "use file handles instead of O_PATH fds" },
	{ "thread-pool-size", required_argument, OPT_THREAD_POOL_SIZE, "N",
	  "metadata helper threads per request queue (default 1 if 3+ CPUs)" },
	{ "request-queues", required_argument, OPT_REQUEST_QUEUES, "N",
	  "request queues offered (default 1)" },
	{ "exit-on-disconnect", no_argument, OPT_EXIT_ON_DISCONNECT, NULL,
	  "exit when the hypervisor disconnects" },
	{ "idle-timeout", required_argument, OPT_IDLE_TIMEOUT, "SECONDS",
	  "exit (status 0) after SECONDS with no hypervisor\n"
	  "connected (default 0: never)" },
	{ "shutdown-timeout", required_argument, OPT_SHUTDOWN_TIMEOUT, "SECONDS",
	  "on SIGTERM, wait at most SECONDS for in-flight\n"
	  "requests, then exit anyway (default 5)" },
	{ "no-io-uring", no_argument, OPT_NO_IO_URING, NULL,
	  "use plain syscalls instead of io_uring" },
	{ "sandbox", required_argument, OPT_SANDBOX, "MODE",
	  "namespace | chroot | none (default namespace\n"
	  "when permitted, else none with a warning)" },
	{ "seccomp", required_argument, OPT_SECCOMP, "ACTION",
	  "on a system call outside the allowlist:\n"
	  "kill | log | trap | none (default kill)" },
	{ "modcaps", required_argument, OPT_MODCAPS, "+CAP:-CAP",
	  "add/remove capabilities kept in the sandbox\n"
	  "(e.g. -mknod:+sys_admin)" },
	{ "rlimit-nofile", required_argument, OPT_RLIMIT_NOFILE, "N",
	  "open file limit (default: raise to 1048576)" },
	{ "uid-map", required_argument, OPT_UID_MAP, ":NSUID:HOSTUID:COUNT:",
	  "user namespace UID mapping (repeatable; for\n"
	  "an unprivileged vfsd, see vfsd(8))" },
	{ "gid-map", required_argument, OPT_GID_MAP, ":NSGID:HOSTGID:COUNT:",
	  "user namespace GID mapping (repeatable)" },
	{ "translate-uid", required_argument, OPT_TRANSLATE_UID,
	  "TYPE:FROM:TO:COUNT", "translate UIDs in the daemon (repeatable)" },
	{ "translate-gid", required_argument, OPT_TRANSLATE_GID,
	  "TYPE:FROM:TO:COUNT", "translate GIDs in the daemon (repeatable)" },
	{ "migration-mode", required_argument, OPT_MIGRATION_MODE,
	  "find-paths|file-handles", "live migration" },
	{ "migration-on-error", required_argument, OPT_MIGRATION_ON_ERROR,
	  "abort|guest-error", "live migration" },
	{ "migration-verify-handles", no_argument, OPT_MIGRATION_VERIFY_HANDLES,
	  NULL, "live migration" },
	{ "migration-confirm-paths", no_argument, OPT_MIGRATION_CONFIRM_PATHS,
	  NULL, "live migration" },
	{ "log-level", required_argument, OPT_LOG_LEVEL,
	  "error|warn|info|debug|trace|off", "log level (default info)" },
	{ "syslog", no_argument, OPT_SYSLOG, NULL,
	  "log to syslog instead of stderr or the journal" },
	{ "print-capabilities", no_argument, OPT_PRINT_CAPABILITIES, NULL,
	  "print the back-end capabilities (JSON), exit" },
	{ "help", no_argument, 'h', NULL, "this text (also -h)" },
	{ "version", no_argument, 'V', NULL, "print the version (also -V)" },
};

#define N_OPTIONS (sizeof(option_table) / sizeof(option_table[0]))

/*
 * QEMU-era "-o" items, mapped onto the long options above.  Items with a
 * value ("source=DIR") go through the same parser as the long option.
 */
struct o_item {
	const char *name;
	bool has_value;
	int id;
};

static const struct o_item o_items[] = {
	{ "source", true, OPT_SHARED_DIR },
	{ "cache", true, OPT_CACHE },
	{ "log_level", true, OPT_LOG_LEVEL },   /* QEMU's C virtiofsd */
	{ "loglevel", true, OPT_LOG_LEVEL },    /* Rust virtiofsd */
	{ "sandbox", true, OPT_SANDBOX },
	{ "xattrmap", true, OPT_XATTRMAP },
	{ "modcaps", true, OPT_MODCAPS },
	{ "xattr", false, OPT_XATTR },
	{ "no_xattr", false, OPT_NO_XATTR },
	{ "readdirplus", false, OPT_READDIRPLUS },
	{ "no_readdirplus", false, OPT_NO_READDIRPLUS },
	{ "writeback", false, OPT_WRITEBACK },
	{ "no_writeback", false, OPT_NO_WRITEBACK },
	{ "allow_direct_io", false, OPT_ALLOW_DIRECT_IO },
	{ "no_allow_direct_io", false, OPT_NO_ALLOW_DIRECT_IO },
	{ "announce_submounts", false, OPT_ANNOUNCE_SUBMOUNTS },
	{ "killpriv_v2", false, OPT_KILLPRIV_V2 },
	{ "no_killpriv_v2", false, OPT_NO_KILLPRIV_V2 },
	{ "posix_acl", false, OPT_POSIX_ACL },
	{ "no_posix_acl", false, OPT_NO_POSIX_ACL },
	{ "security_label", false, OPT_SECURITY_LABEL },
	{ "no_security_label", false, OPT_NO_SECURITY_LABEL },
	{ "posix_lock", false, OPT_POSIX_LOCK },
	{ "no_posix_lock", false, OPT_NO_POSIX_LOCK },
	{ "flock", false, OPT_FLOCK },
	{ "no_flock", false, OPT_NO_FLOCK },
};

static const char *const cache_names[] = {
	[CACHE_NEVER] = "never", [CACHE_METADATA] = "metadata",
	[CACHE_AUTO] = "auto", [CACHE_ALWAYS] = "always",
};
static const char *const inode_fh_names[] = {
	[INODE_FH_NEVER] = "never", [INODE_FH_PREFER] = "prefer",
	[INODE_FH_MANDATORY] = "mandatory",
};
static const char *const negotiation_names[] = {
	[NEGOTIATE_NEVER] = "never", [NEGOTIATE_AUTO] = "auto",
	[NEGOTIATE_ALWAYS] = "always",
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int parse_option(struct config *cfg, int opt, char *arg);
static void config_defaults(struct config *cfg);
static const char *config_unimplemented(const struct config *cfg,
					char *buf, size_t len);

/* A valid value for options that take one and may be unimplemented. */
static const char *option_sample(int id)
{
	switch (id) {
	case OPT_TAG: return "fs";
	case OPT_XATTRMAP: return ":map::user.vfsd.:";
	case OPT_UID_MAP: case OPT_GID_MAP: return ":0:100000:65536:";
	case OPT_TRANSLATE_UID: case OPT_TRANSLATE_GID: return "guest:0:1000:1";
	case OPT_MIGRATION_MODE: return "find-paths";
	case OPT_MIGRATION_ON_ERROR: return "abort";
	case OPT_INODE_FILE_HANDLES: return "prefer";
	default: return NULL;
	}
}

/* Would this option with this value (NULL: none) be refused as
 * unimplemented?  Asks config_unimplemented(), so --help never goes stale. */
static bool value_implemented(const struct option_def *o, const char *value)
{
	struct config probe;
	char buf[128], arg[128];

	snprintf(arg, sizeof(arg), "%s", value ? value : "");
	config_defaults(&probe);
	if (parse_option(&probe, o->id, value ? arg : NULL) < 0)
		return true;
	return !config_unimplemented(&probe, buf, sizeof(buf));
}

/* NULL when implemented, else what --help says about it. */
static const char *option_unimplemented_note(const struct option_def *o)
{
	const char *sample = option_sample(o->id);

	if (o->has_arg == required_argument && !sample)
		return NULL;
	if (value_implemented(o, sample))
		return NULL;
	/* --posix-acl=never, --inode-file-handles=never: the default works. */
	if (o->arg && strncmp(o->arg, "never|", 6) == 0 &&
	    value_implemented(o, "never"))
		return "(only 'never' is implemented in this version)";
	return "(not implemented in this version)";
}

static void usage_option(FILE *out, const struct option_def *o)
{
	char lhs[96];
	const char *h = o->help, *nl;

	if (!o->arg)
		snprintf(lhs, sizeof(lhs), "--%s", o->name);
	else if (o->has_arg == optional_argument)
		snprintf(lhs, sizeof(lhs), "--%s[=%s]", o->name, o->arg);
	else
		snprintf(lhs, sizeof(lhs), "--%s=%s", o->name, o->arg);
	/* Long left-hand sides get their help on the next line. */
	if (strlen(lhs) > 26)
		fprintf(out, "  %s\n%-30s", lhs, "");
	else
		fprintf(out, "  %-26s  ", lhs);
	while ((nl = strchr(h, '\n'))) {
		fprintf(out, "%.*s\n%-30s", (int)(nl - h), h, "");
		h = nl + 1;
	}
	fprintf(out, "%s\n", h);
	if (option_unimplemented_note(o))
		fprintf(out, "%-30s%s\n", "", option_unimplemented_note(o));
}

void config_usage(FILE *out, const char *argv0)
{
	fprintf(out,
		"Usage: %s --shared-dir=DIR [--socket-path=PATH | --fd=N] [OPTIONS]\n"
		"\n"
		"Serve DIR to a virtual machine over virtio-fs (vhost-user-fs back-end).\n"
		"\n", argv0);
	for (size_t i = 0; i < N_OPTIONS; i++)
		usage_option(out, &option_table[i]);
	fprintf(out,
		"  -o OPT[,OPT...]             QEMU-era options:");
	for (size_t i = 0, col = 46; i < ARRAY_SIZE(o_items); i++) {
		size_t len = strlen(o_items[i].name) + (o_items[i].has_value ? 2 : 0);

		if (col + len + 2 > 78) {
			fprintf(out, "\n%-29s", "");
			col = 30;
		}
		fprintf(out, " %s%s%s", o_items[i].name,
			o_items[i].has_value ? "=" : "",
			i + 1 < ARRAY_SIZE(o_items) ? "," : "\n");
		col += len + 2;
	}
	fprintf(out,
		"  -d                          debug logging (--log-level=debug)\n"
		"  -f                          accepted: vfsd always runs in the foreground\n"
		"\n"
		"Options not implemented in this version are refused, never ignored.\n"
		"See vfsd(8).\n");
}

const char *config_cache_name(enum cache_mode mode)
{
	return cache_names[mode];
}

static int bad(const char *what, const char *value, const char *why)
{
	fprintf(stderr, "vfsd: error: invalid %s '%s': %s\n", what, value, why);
	return -EINVAL;
}

static int parse_ull(const char *what, const char *s, unsigned long long max,
		     unsigned long long *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || s[0] == '+' || v > max)
		return bad(what, s, "not a number in range");
	*out = v;
	return 0;
}

static int parse_uint(const char *what, const char *s, unsigned int max,
		      unsigned int *out)
{
	unsigned long long v;
	int r = parse_ull(what, s, max, &v);

	if (r == 0)
		*out = (unsigned int)v;
	return r;
}

/* One of `names` (n entries); *out is the index. */
static int parse_name(const char *what, const char *s,
		      const char *const *names, size_t n, int *out)
{
	char why[160] = "expected";

	for (size_t i = 0; i < n; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	}
	for (size_t i = 0; i < n; i++)
		snprintf(why + strlen(why), sizeof(why) - strlen(why), "%s %s",
			 i == 0 ? "" : i + 1 == n ? " or" : ",", names[i]);
	return bad(what, s, why);
}

#define PARSE_ENUM(what, s, names, field)                                    \
	({                                                                   \
		int v_, r_ = parse_name(what, s, names, ARRAY_SIZE(names), &v_); \
		if (r_ == 0)                                                 \
			(field) = v_;                                        \
		r_;                                                          \
	})

static int parse_cache(const char *s, enum cache_mode *out)
{
	/* QEMU-era virtiofsd spelled "never" as "none". */
	if (strcmp(s, "none") == 0) {
		*out = CACHE_NEVER;
		return 0;
	}
	return PARSE_ENUM("cache mode", s, cache_names, *out);
}

static int parse_log_level(const char *s, enum log_level *out)
{
	/* "-o loglevel=err" in the Rust virtiofsd's compat options. */
	if (strcmp(s, "err") == 0) {
		*out = LOG_LEVEL_ERROR;
		return 0;
	}
	if (log_parse_level(s, out) < 0)
		return bad("log level", s,
			   "expected error, warn, info, debug, trace or off");
	return 0;
}

static int parse_inode_fh(const char *s, enum inode_fh_mode *out)
{
	if (strcmp(s, "fallback") == 0) {	/* deprecated alias */
		*out = INODE_FH_PREFER;
		return 0;
	}
	return PARSE_ENUM("--inode-file-handles", s, inode_fh_names, *out);
}

/* --posix-acl and --security-label: no value means "always". */
static int parse_negotiation(const char *what, const char *s,
			     enum negotiation_mode *out)
{
	if (!s) {
		*out = NEGOTIATE_ALWAYS;
		return 0;
	}
	return PARSE_ENUM(what, s, negotiation_names, *out);
}

static bool all_digits(const char *s, size_t len)
{
	if (len == 0 || len > 10)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* ":A:B:C:" (--uid-map) or "TYPE:A:B:C" (--translate-*): count the numeric
 * fields; the semantics belong to whoever implements the mapping. */
static int parse_id_map(const char *what, const char *s, bool typed,
			struct config_id_maps *maps)
{
	static const char *const types[] = {
		"guest", "host", "squash-guest", "squash-host", "forbid-guest",
		"map",
	};
	const char *p = s;
	unsigned int fields = 0;

	if (maps->n == CONFIG_MAX_ID_MAPS)
		return bad(what, s, "too many mappings");
	if (typed) {
		const char *colon = strchr(s, ':');
		bool known = false;

		for (size_t i = 0; colon && i < ARRAY_SIZE(types); i++)
			known |= strlen(types[i]) == (size_t)(colon - s) &&
				 strncmp(s, types[i], colon - s) == 0;
		if (!known)
			return bad(what, s, "expected TYPE:FROM:TO:COUNT with TYPE one of "
				   "guest, host, squash-guest, squash-host, forbid-guest, map");
		p = colon;
	}
	if (*p != ':')
		return bad(what, s, "expected :NSID:HOSTID:COUNT:");
	p++;
	while (*p) {
		size_t len = strcspn(p, ":");

		if (!all_digits(p, len))
			return bad(what, s, "fields must be decimal numbers");
		fields++;
		p += len;
		if (*p == ':')
			p++;
		else if (!typed)
			return bad(what, s, "expected :NSID:HOSTID:COUNT:");
	}
	if (fields != 3)
		return bad(what, s, "expected three numbers");
	maps->map[maps->n++] = s;
	return 0;
}

/* --translate-uid/--translate-gid: virtiofsd's TYPE:A:B:C (idmap.h); the
 * overlap between entries is checked once all are known (config_check). */
static int parse_translate(const char *what, const char *s,
			   struct config_id_maps *maps)
{
	char why[160];

	if (maps->n == CONFIG_MAX_ID_MAPS)
		return bad(what, s, "too many mappings");
	if (idmap_check_spec(s, why, sizeof(why)) < 0)
		return bad(what, s, why);
	maps->map[maps->n++] = s;
	return 0;
}

static int parse_option(struct config *cfg, int opt, char *arg)
{
	unsigned long long ull;
	int ret;

	switch (opt) {
	case OPT_SOCKET_PATH: cfg->socket_path = arg; break;
	case OPT_SOCKET_GROUP: cfg->socket_group = arg; break;
	case OPT_FD:
		ret = parse_ull("--fd", arg, INT_MAX, &ull);
		if (ret < 0)
			return ret;
		if (ull < 3)
			return bad("--fd", arg, "must not be stdin, stdout or stderr");
		cfg->listen_fd = (int)ull;
		break;
	case OPT_SHARED_DIR: cfg->shared_dir = arg; break;
	case OPT_MOUNT: cfg->mount = arg; break;
	case OPT_TAG:
		if (!*arg || strlen(arg) > TAG_MAX)
			return bad("--tag", arg, "must be 1 to 36 bytes");
		cfg->tag = arg;
		break;
	case OPT_CACHE: return parse_cache(arg, &cfg->cache);
	case OPT_LOG_LEVEL: return parse_log_level(arg, &cfg->log_level);
	case OPT_THREAD_POOL_SIZE:
		return parse_uint("--thread-pool-size", arg, 1024,
				  &cfg->thread_pool_size);
	case OPT_REQUEST_QUEUES:
		ret = parse_uint("--request-queues", arg, VU_MAX_QUEUES - 1,
				 &cfg->request_queues);
		if (ret == 0 && cfg->request_queues == 0)
			return bad("--request-queues", arg, "at least 1 is needed");
		return ret;
	case OPT_IDLE_TIMEOUT:
		return parse_uint("--idle-timeout", arg, 86400 * 365,
				  &cfg->idle_timeout);
	case OPT_SHUTDOWN_TIMEOUT:
		ret = parse_uint("--shutdown-timeout", arg, 3600,
				 &cfg->shutdown_timeout);
		if (ret == 0 && cfg->shutdown_timeout == 0)
			return bad("--shutdown-timeout", arg, "at least 1 second is needed");
		return ret;
	case OPT_READONLY: cfg->readonly = true; break;
	case OPT_XATTR: cfg->xattr = true; break;
	case OPT_NO_XATTR: cfg->xattr = false; break;
	case OPT_XATTRMAP: {
		struct xattrmap *map;
		char why[128];

		if (xattrmap_parse(arg, &map, why, sizeof(why)) < 0)
			return bad("--xattrmap", arg, why);
		xattrmap_free(map);
		cfg->xattrmap = arg;
		break;
	}
	case OPT_POSIX_ACL:
		return parse_negotiation("--posix-acl", arg, &cfg->posix_acl);
	case OPT_NO_POSIX_ACL: cfg->posix_acl = NEGOTIATE_NEVER; break;
	case OPT_POSIX_ACL_CREATE_FALLBACK: cfg->posix_acl_create_fallback = true; break;
	case OPT_SECURITY_LABEL:
		return parse_negotiation("--security-label", arg, &cfg->security_label);
	case OPT_NO_SECURITY_LABEL: cfg->security_label = NEGOTIATE_NEVER; break;
	case OPT_WRITEBACK: cfg->writeback = true; break;
	case OPT_NO_WRITEBACK: cfg->writeback = false; break;
	case OPT_READDIRPLUS: cfg->readdirplus = true; break;
	case OPT_NO_READDIRPLUS: cfg->readdirplus = false; break;
	case OPT_ALLOW_DIRECT_IO: cfg->allow_direct_io = true; break;
	case OPT_NO_ALLOW_DIRECT_IO: cfg->allow_direct_io = false; break;
	case OPT_ALLOW_MMAP: cfg->allow_mmap = true; break;
	case OPT_ANNOUNCE_SUBMOUNTS: cfg->announce_submounts = true; break;
	case OPT_NO_ANNOUNCE_SUBMOUNTS: cfg->announce_submounts = false; break;
	case OPT_KILLPRIV_V2: cfg->killpriv_v2 = true; break;
	case OPT_NO_KILLPRIV_V2: cfg->killpriv_v2 = false; break;
	case OPT_PRESERVE_NOATIME: cfg->preserve_noatime = true; break;
	case OPT_INODE_FILE_HANDLES:
		return parse_inode_fh(arg, &cfg->inode_file_handles);
	case OPT_EXIT_ON_DISCONNECT: cfg->exit_on_disconnect = true; break;
	case OPT_NO_IO_URING: cfg->io_uring = false; break;
	case OPT_SYSLOG: cfg->syslog = true; break;
	case OPT_PRINT_CAPABILITIES: cfg->print_capabilities = true; break;
	case OPT_SANDBOX:
		if (strcmp(arg, "namespace") == 0)
			cfg->sandbox = SANDBOX_NAMESPACE;
		else if (strcmp(arg, "chroot") == 0)
			cfg->sandbox = SANDBOX_CHROOT;
		else if (strcmp(arg, "none") == 0)
			cfg->sandbox = SANDBOX_NONE;
		else
			return bad("--sandbox", arg, "expected namespace, chroot or none");
		break;
	case OPT_SECCOMP:
		if (filter_action_parse(arg, &cfg->seccomp) < 0)
			return bad("--seccomp", arg, "expected kill, log, trap or none");
		break;
	case OPT_MODCAPS: cfg->modcaps = arg; break;
	case OPT_RLIMIT_NOFILE:
		ret = parse_ull("--rlimit-nofile", arg, 1u << 30, &ull);
		if (ret == 0 && ull < 64)
			return bad("--rlimit-nofile", arg, "at least 64 is needed");
		cfg->rlimit_nofile = (unsigned long)ull;
		return ret;
	case OPT_UID_MAP: return parse_id_map("--uid-map", arg, false, &cfg->uid_map);
	case OPT_GID_MAP: return parse_id_map("--gid-map", arg, false, &cfg->gid_map);
	case OPT_TRANSLATE_UID:
		return parse_translate("--translate-uid", arg, &cfg->translate_uid);
	case OPT_TRANSLATE_GID:
		return parse_translate("--translate-gid", arg, &cfg->translate_gid);
	case OPT_MIGRATION_MODE: cfg->migration_mode = "--migration-mode"; break;
	case OPT_MIGRATION_ON_ERROR: cfg->migration_mode = "--migration-on-error"; break;
	case OPT_MIGRATION_VERIFY_HANDLES:
		cfg->migration_mode = "--migration-verify-handles";
		break;
	case OPT_MIGRATION_CONFIRM_PATHS:
		cfg->migration_mode = "--migration-confirm-paths";
		break;
	case OPT_POSIX_LOCK: cfg->posix_lock = true; break;
	case OPT_NO_POSIX_LOCK: cfg->posix_lock = false; break;
	case OPT_FLOCK: cfg->flock = true; break;
	case OPT_NO_FLOCK: cfg->flock = false; break;
	case 'o': return -EINVAL; /* handled by parse_o */
	case 'f': break;
	case 'd': cfg->log_level = LOG_LEVEL_DEBUG; break;
	case 'h': cfg->help = true; break;
	case 'V': cfg->version = true; break;
	default: return -EINVAL; /* getopt already printed why */
	}
	return 0;
}

/* One "-o" item: key or key=value. */
static int parse_o_item(struct config *cfg, char *item)
{
	char *value = strchr(item, '=');

	if (value)
		*value++ = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(o_items); i++) {
		if (strcmp(item, o_items[i].name) != 0)
			continue;
		if (o_items[i].has_value != !!value)
			return bad("-o option", item, o_items[i].has_value ?
				   "needs a value" : "takes no value");
		return parse_option(cfg, o_items[i].id, value);
	}
	return bad("-o option", item, "not supported by this version of vfsd");
}

/*
 * Split on ',' in place; ",," is a literal comma, the way QEMU option
 * strings escape it (libvirt writes "source=/a,,b" for the path "/a,b").
 */
static int parse_o(struct config *cfg, char *list)
{
	char *item = list, *out = list;
	int ret;

	for (char *in = list;; in++) {
		if (*in == ',' && in[1] == ',') {
			*out++ = *in++;
			continue;
		}
		if (*in != ',' && *in != '\0') {
			*out++ = *in;
			continue;
		}
		bool last = *in == '\0';

		*out = '\0';
		if (*item) {
			ret = parse_o_item(cfg, item);
			if (ret < 0)
				return ret;
		}
		if (last)
			return 0;
		item = out = in + 1;
	}
}

static void config_defaults(struct config *cfg)
{
	*cfg = (struct config){
		.listen_fd = -1,
		.cache = CACHE_AUTO,
		.log_level = LOG_LEVEL_INFO,
		.request_queues = 1,
		/* One helper per queue when a CPU is left for it besides the
		 * queue's worker and the guest's vCPU: on 2 CPUs it added no
		 * throughput, only latency (bench/RESULTS.md).  Looked up
		 * before the sandbox hides /sys. */
		.thread_pool_size = sysconf(_SC_NPROCESSORS_ONLN) > 2 ? 1 : 0,
		.shutdown_timeout = 5,
		.readdirplus = true,
		.io_uring = true,
		.sandbox = SANDBOX_AUTO,
		.seccomp = FILTER_KILL,
		.inode_file_handles = INODE_FH_NEVER,
		.posix_acl = NEGOTIATE_NEVER,
		.security_label = NEGOTIATE_NEVER,
	};
}

/*
 * THE place that says what is not implemented yet: returns the option (and
 * value) to refuse, or NULL.  Implementing a feature = deleting or narrowing
 * its line.  config_print_capabilities() asks this too, so capabilities
 * follow what is implemented.
 */
static const char *config_unimplemented(const struct config *cfg,
					char *buf, size_t len)
{
#define REFUSE(...) do { snprintf(buf, len, __VA_ARGS__); return buf; } while (0)
	/* Its virtiofsd 1.14 semantics could not be established. */
	if (cfg->posix_acl_create_fallback)
		REFUSE("--posix-acl-create-fallback");
	if (cfg->tag)
		REFUSE("--tag");
	if (cfg->migration_mode)
		REFUSE("%s (live migration)", cfg->migration_mode);
	return NULL;
#undef REFUSE
}

/* Overlapping ranges are only visible with every entry known. */
static int check_translate(const char *what, const struct config_id_maps *m)
{
	struct idmap *map;
	char why[256];

	if (!m->n)
		return 0;
	if (idmap_new(&map, m->map, m->n, why, sizeof(why)) < 0) {
		fprintf(stderr, "vfsd: error: %s: %s\n", what, why);
		return -EINVAL;
	}
	idmap_free(map);
	return 0;
}

static int config_check(const struct config *cfg)
{
	char what[128];

	if (cfg->help || cfg->version || cfg->print_capabilities)
		return 0;
	if (config_unimplemented(cfg, what, sizeof(what))) {
		fprintf(stderr, "vfsd: error: %s is not implemented in this version "
			"of vfsd (%s)\n", what, VFSD_VERSION);
		return -EINVAL;
	}
	if (!cfg->shared_dir) {
		fprintf(stderr, "vfsd: error: no shared directory: give --shared-dir=DIR\n");
		return -EINVAL;
	}
	if (cfg->socket_path && cfg->listen_fd >= 0) {
		fprintf(stderr, "vfsd: error: --socket-path and --fd are mutually exclusive\n");
		return -EINVAL;
	}
	if (cfg->modcaps) {
		uint64_t add, drop;

		if (sandbox_parse_modcaps(cfg->modcaps, &add, &drop) < 0)
			return -EINVAL;
	}
	if (cfg->socket_group && !cfg->socket_path) {
		fprintf(stderr, "vfsd: error: --socket-group needs --socket-path\n");
		return -EINVAL;
	}
	if (check_translate("--translate-uid", &cfg->translate_uid) < 0 ||
	    check_translate("--translate-gid", &cfg->translate_gid) < 0)
		return -EINVAL;
	if (cfg->posix_acl != NEGOTIATE_NEVER &&
	    (cfg->translate_uid.n || cfg->translate_gid.n)) {
		fprintf(stderr, "vfsd: error: --translate-uid/--translate-gid cannot "
			"be used with --posix-acl: translating IDs would break ACLs\n");
		return -EINVAL;
	}
	return 0;
}

/*
 * docs/interop/vhost-user.rst, "Back-end program conventions": a JSON object
 * with the back-end "type" and the optional features it supports.  The
 * features are virtiofsd's, advertised only when vfsd implements them.
 */
void config_print_capabilities(FILE *out)
{
	struct config probe;
	char buf[128];
	const char *features[4];
	size_t n = 0;

	/* libvirt then passes --shared-dir, --cache, ... instead of -o. */
	features[n++] = "separate-options";
	config_defaults(&probe);
	probe.posix_acl = NEGOTIATE_AUTO;
	if (!config_unimplemented(&probe, buf, sizeof(buf)))
		features[n++] = "posix-acl-negotiation-mode";
	config_defaults(&probe);
	probe.security_label = NEGOTIATE_AUTO;
	if (!config_unimplemented(&probe, buf, sizeof(buf)))
		features[n++] = "security-label-negotiation-mode";

	fprintf(out, "{\n  \"type\": \"fs\",\n  \"features\": [\n");
	for (size_t i = 0; i < n; i++)
		fprintf(out, "    \"%s\"%s\n", features[i], i + 1 < n ? "," : "");
	fprintf(out, "  ]\n}\n");
}

int config_parse(struct config *cfg, int argc, char **argv)
{
	struct option long_options[N_OPTIONS + 1];
	int opt, ret;

	for (size_t i = 0; i < N_OPTIONS; i++)
		long_options[i] = (struct option){
			option_table[i].name, option_table[i].has_arg, NULL,
			option_table[i].id,
		};
	long_options[N_OPTIONS] = (struct option){ 0 };

	config_defaults(cfg);
	optind = 0;	/* 0, not 1: glibc then also resets its internal state */
	opterr = 1;
	while ((opt = getopt_long(argc, argv, "o:fdhV", long_options, NULL)) != -1) {
		if (opt == '?' || opt == ':')
			return -EINVAL;
		ret = opt == 'o' ? parse_o(cfg, optarg) : parse_option(cfg, opt, optarg);
		if (ret < 0)
			return ret;
	}
	if (optind < argc) {
		fprintf(stderr, "vfsd: error: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return config_check(cfg);
}
