// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfsd-bench: command line.  See bench/README.md.
 *
 * Exit codes: 0 every run finished (request errors are reported in the
 * output, not in the exit code), 1 a run could not be set up or the
 * transport failed, 2 bad usage.
 */
#include "bench.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
"Usage: vfsd-bench (--socket=PATH | --native) --dir=DIR [OPTIONS]\n"
"\n"
"Run file-system workloads against a vhost-user-fs back-end (playing QEMU\n"
"and the guest driver) or, with --native, as plain syscalls in this process.\n"
"DIR is the host directory the back-end shares; the data files are created\n"
"there first.  One line of key=value pairs is printed per run.\n"
"\n"
"  --socket=PATH       vhost-user socket of the back-end\n"
"  --native            run the syscalls directly (the baseline)\n"
"  --dir=DIR           the shared directory (host path)\n"
"  --label=NAME        label printed in every line (default: vfsd or native)\n"
"  --workloads=LIST    comma list of getattr,lookup,randread4k,randwrite4k,\n"
"                      seqread1m,seqwrite1m,meta (default: all)\n"
"  --depths=LIST       queue depths (default 1,32; max %d)\n"
"  --time=SEC          measured seconds per run (default 2)\n"
"  --warmup=SEC        unmeasured seconds before each run (default 0.3)\n"
"  --queues=N          request queues to spread requests over (default 1)\n"
"  --file-mib=N        size of the data files (default 64)\n"
"  --busy-poll         spin on the used ring instead of sleeping\n"
"  --rss-pid=PID       also measure the back-end's resident memory: idle,\n"
"                      and per inode after --inodes LOOKUPs (default 10000)\n"
"  --inodes=N\n"
"  --forget-window=N   FORGETs in flight on the hiprio queue at most\n"
"                      (default 64; small values exercise its back-pressure)\n",
		BENCH_MAX_DEPTH);
}

static int parse_list(char *s, struct bench_opts *o, bool depths)
{
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		if (depths) {
			char *end;
			unsigned long v = strtoul(tok, &end, 10);

			if (*end || v == 0 || v > BENCH_MAX_DEPTH ||
			    o->ndepths == 8)
				return -EINVAL;
			o->depths[o->ndepths++] = (unsigned int)v;
		} else {
			int wl = bench_workload_parse(tok);

			if (wl < 0)
				return wl;
			o->workloads[wl] = true;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "native", no_argument, NULL, 'n' },
		{ "dir", required_argument, NULL, 'd' },
		{ "label", required_argument, NULL, 'l' },
		{ "workloads", required_argument, NULL, 'w' },
		{ "depths", required_argument, NULL, 'D' },
		{ "time", required_argument, NULL, 't' },
		{ "warmup", required_argument, NULL, 'W' },
		{ "queues", required_argument, NULL, 'q' },
		{ "file-mib", required_argument, NULL, 'f' },
		{ "busy-poll", no_argument, NULL, 'b' },
		{ "rss-pid", required_argument, NULL, 'p' },
		{ "inodes", required_argument, NULL, 'i' },
		{ "forget-window", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct bench_opts o = { .seconds = 2, .warmup = 0.3, .queues = 1,
				.file_mib = 64, .inodes = 10000,
				.forget_window = 64 };
	bool native = false, any = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o.socket = optarg; break;
		case 'n': native = true; break;
		case 'd': o.dir = optarg; break;
		case 'l': o.label = optarg; break;
		case 'w':
			if (parse_list(optarg, &o, false) < 0) {
				fprintf(stderr, "vfsd-bench: bad --workloads\n");
				return 2;
			}
			break;
		case 'D':
			if (parse_list(optarg, &o, true) < 0) {
				fprintf(stderr, "vfsd-bench: bad --depths\n");
				return 2;
			}
			break;
		case 't': o.seconds = atof(optarg); break;
		case 'W': o.warmup = atof(optarg); break;
		case 'q': o.queues = (unsigned int)atoi(optarg); break;
		case 'f': o.file_mib = (unsigned int)atoi(optarg); break;
		case 'b': o.busy_poll = true; break;
		case 'p': o.backend_pid = atoi(optarg); break;
		case 'i': o.inodes = (unsigned int)atoi(optarg); break;
		case 'F': o.forget_window = (unsigned int)atoi(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!o.dir || native == !!o.socket || o.seconds <= 0 || o.warmup < 0 ||
	    o.queues < 1 || o.queues >= 16 || o.file_mib < 2 ||
	    o.forget_window < 1 || o.forget_window > BENCH_MAX_FORGETS ||
	    optind != argc) {
		usage(stderr);
		return 2;
	}
	for (int i = 0; i < WL_COUNT; i++)
		any |= o.workloads[i];
	if (!any)
		for (int i = 0; i < WL_COUNT; i++)
			o.workloads[i] = true;
	if (!o.ndepths) {
		o.depths[o.ndepths++] = 1;
		o.depths[o.ndepths++] = 32;
	}
	if (!o.label)
		o.label = native ? "native" : "vfsd";
	bench_clock_init();
	r = bench_prepare_files(&o);
	if (r == 0)
		r = native ? bench_native(&o) : bench_fuse(&o);
	bench_cleanup_files(&o);
	return r < 0 ? 1 : 0;
}
