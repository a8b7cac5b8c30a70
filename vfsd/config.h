/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The command line: virtiofsd-compatible option names, validated once here.
 * Nothing else in vfsd looks at argv.
 */
#ifndef VFSD_CONFIG_H
#define VFSD_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "log.h"

/* Exit codes (documented in vfsd(8)). */
enum vfsd_exit {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,     /* failure while serving */
	EXIT_USAGE = 2,       /* invalid command line */
	EXIT_SHARED_DIR = 3,  /* shared directory missing or unusable */
	EXIT_SOCKET = 4,      /* listening socket cannot be set up */
};

enum cache_mode {
	CACHE_NEVER,
	CACHE_METADATA,
	CACHE_AUTO,
	CACHE_ALWAYS,
};

struct config {
	const char *shared_dir;
	const char *socket_path;
	const char *socket_group;
	int listen_fd;                 /* --fd, -1 when not given */
	enum cache_mode cache;
	enum log_level log_level;
	unsigned int request_queues;   /* request queues offered (not hiprio) */
	unsigned int thread_pool_size; /* accepted for compatibility */
	bool readonly;
	bool writeback;
	bool readdirplus;
	bool allow_direct_io;
	bool exit_on_disconnect;
	bool io_uring;
	bool syslog;
	bool print_capabilities;
	bool help;
	bool version;
};

/* Fill cfg from argv.  On error prints one line naming the bad option and
 * why to stderr and returns -EINVAL. */
int config_parse(struct config *cfg, int argc, char **argv);
void config_usage(FILE *out, const char *argv0);
const char *config_cache_name(enum cache_mode mode);

#endif
