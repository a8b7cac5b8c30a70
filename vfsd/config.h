/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The command line: virtiofsd-compatible option names, validated once here.
 * Nothing else in vfsd looks at argv.
 *
 * Every option of virtiofsd 1.13/1.14 (and the QEMU-era "-o" forms) is
 * parsed into a field below.  What vfsd does not implement yet is refused in
 * one place, config_unimplemented() in config.c: implementing a feature
 * means flipping its line there (and config_implemented() then also makes
 * --print-capabilities advertise it).
 */
#ifndef VFSD_CONFIG_H
#define VFSD_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "log.h"
#include "seccomp/seccomp.h"

/* Exit codes (documented in vfsd(8)). */
enum vfsd_exit {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,     /* failure while serving */
	EXIT_USAGE = 2,       /* invalid command line */
	EXIT_SHARED_DIR = 3,  /* shared directory missing or unusable */
	EXIT_SOCKET = 4,      /* listening socket cannot be set up */
	EXIT_SANDBOX = 5,     /* sandbox or seccomp filter cannot be set up */
};

enum cache_mode {
	CACHE_NEVER,
	CACHE_METADATA,
	CACHE_AUTO,
	CACHE_ALWAYS,
};

/* --sandbox (vfsd/sandbox.h).  AUTO is the default: namespace when the
 * daemon may create namespaces, else none with a warning. */
enum sandbox_mode {
	SANDBOX_AUTO,
	SANDBOX_NAMESPACE,
	SANDBOX_CHROOT,
	SANDBOX_NONE,
};

enum inode_fh_mode {
	INODE_FH_NEVER,
	INODE_FH_PREFER,      /* "fallback" is virtiofsd's deprecated alias */
	INODE_FH_MANDATORY,
};

/* --posix-acl[=MODE], --security-label[=MODE] (virtiofsd 1.14). */
enum negotiation_mode {
	NEGOTIATE_NEVER,
	NEGOTIATE_AUTO,
	NEGOTIATE_ALWAYS,
};

/* Repeatable options (--uid-map, --translate-uid, ...) keep this many. */
#define CONFIG_MAX_ID_MAPS 16

struct config_id_maps {
	const char *map[CONFIG_MAX_ID_MAPS];   /* as given, validated */
	unsigned int n;
};

struct config {
	const char *shared_dir;
	const char *socket_path;
	const char *socket_group;
	const char *mount;             /* --mount: /dev/fuse transport */
	int listen_fd;                 /* --fd, -1 when not given */
	const char *tag;               /* --tag, NULL when not given */
	enum cache_mode cache;
	enum log_level log_level;
	unsigned int request_queues;   /* request queues offered (not hiprio) */
	unsigned int thread_pool_size; /* helper threads per request queue */
	unsigned int idle_timeout;     /* seconds without a front-end; 0: never */
	unsigned int shutdown_timeout; /* seconds for in-flight work on SIGTERM */
	bool readonly;
	bool xattr;
	bool writeback;
	bool readdirplus;
	bool allow_direct_io;
	bool allow_mmap;
	bool exit_on_disconnect;
	bool io_uring;
	bool syslog;
	bool print_capabilities;
	bool help;
	bool version;

	/* virtiofsd features; see config_unimplemented() in config.c */
	enum sandbox_mode sandbox;
	enum filter_action seccomp;    /* --seccomp, default kill */
	const char *modcaps;           /* --modcaps=+cap:-cap, checked by sandbox */
	unsigned long rlimit_nofile;   /* --rlimit-nofile; 0: default */
	enum inode_fh_mode inode_file_handles;
	enum negotiation_mode posix_acl;
	enum negotiation_mode security_label;
	bool posix_acl_create_fallback;
	bool announce_submounts;
	bool killpriv_v2;
	bool posix_lock;               /* --posix-lock, default off */
	bool flock;                    /* --flock, default off */
	bool preserve_noatime;
	const char *xattrmap;          /* validated syntax, NULL: none */
	struct config_id_maps uid_map, gid_map;             /* user namespace */
	struct config_id_maps translate_uid, translate_gid; /* in-daemon */
	const char *migration_mode;    /* non-NULL: a --migration-* was given */
};

/* Fill cfg from argv.  On error prints one line naming the bad option and
 * why to stderr and returns -EINVAL. */
int config_parse(struct config *cfg, int argc, char **argv);
void config_usage(FILE *out, const char *argv0);
/* The vhost-user back-end capabilities JSON (--print-capabilities). */
void config_print_capabilities(FILE *out);
const char *config_cache_name(enum cache_mode mode);

#endif
