// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: FUSE requests through the engine (server.c) and the
 * real passthrough filesystem on a temp directory (a small tmpfs in a
 * private mount namespace when run as root, so that nothing the fuzzer
 * makes can fill the host's disk).
 *
 * Each input starts a fresh session (reset + FUSE_INIT), then runs a
 * sequence of requests, each encoded as
 *
 *   u8  flags    bits 0-1: split the request into 1-3 iovecs at the two
 *                positions below; bit 2: split the reply space in two;
 *                bit 3: fix fuse_in_header.len to the bytes sent;
 *                bit 4: map small node ids / file handles (below)
 *   u16 in_len   request bytes that follow (clipped to the input)
 *   u16 cut_a, cut_b   split positions (mod in_len + 1)
 *   u16 out_len  reply space posted
 *   in_len bytes the request: fuse_in_header + arguments, as the guest
 *                sends them
 *
 * Node ids and file handles are counters in vfsd, out of a fuzzer's
 * reach; with bit 4 a nodeid below 16 names the n-th node an earlier
 * reply of this input returned (0: the root), and so does an fh below 16
 * at the start of the arguments of the opcodes that take one there.
 * The session agrees to POSIX and flock locks, ACLs, security labels and
 * the supplementary-group extension.  A SETLKW that parks on a conflict is
 * cancelled as a stopping transport would (server_cancel) and must answer.
 * Every buffer is its own exact-size allocation, so that an access past a
 * request or reply buffer is an ASan report.  Every reply is checked:
 * length within the space given and equal to its header, error 0 or a
 * valid -errno, no payload with an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/fuse.h>

#include "vfsd/log.h"
#include "vfsd/passthrough.h"
#include "vfsd/server.h"
#include "vfsd/uring.h"

#define SLOTS 16

static struct {
	char dir[64];
	struct pt_fs *fs;
	struct server *srv;
	struct uring *ring;
	uint64_t nodes[SLOTS];
	unsigned int nnodes;
	uint64_t fhs[SLOTS];
	unsigned int nfhs;
} F;

struct fz_req {
	struct server_req req;
	uint32_t opcode;
	size_t out_size;
	_Atomic bool done;          /* a parked SETLKW answers on its thread */
	size_t len;
	struct iovec out[2];
	unsigned int out_cnt;
};

static void die(const char *what)
{
	fprintf(stderr, "fuzz_fuse: setup: %s: %s\n", what, strerror(errno));
	abort();
}

static void remove_dir(void);

static void setup(void)
{
	/* Locks, ACLs, labels and the group extension on: their parsers
	 * and the SETLKW park/cancel path are guest-facing too. */
	struct server_config sc = { .ops = &pt_ops, .max_write = 1 << 16,
				    .readdirplus = true, .posix_lock = true,
				    .flock = true, .create_supp_group = true,
				    .max_lock_waiters = 4,
				    .posix_acl = SRV_NEGOTIATE_AUTO,
				    .security_label = SRV_NEGOTIATE_AUTO };
	struct pt_config pc = { .max_nodes = 256, .max_handles = 64,
				.xattr = true };

	log_set_level(LOG_LEVEL_OFF);
	snprintf(F.dir, sizeof(F.dir), "/tmp/vfsd-fuzz-XXXXXX");
	if (!mkdtemp(F.dir))
		die("mkdtemp");
	atexit(remove_dir);
	/* A bounded tmpfs nobody else sees (root only; else a plain dir). */
	if (geteuid() == 0 && unshare(CLONE_NEWNS) == 0) {
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("vfsd-fuzz", F.dir, "tmpfs", MS_NOSUID | MS_NODEV,
			  "size=16m,nr_inodes=4096,mode=0777") < 0)
			die("tmpfs");
	}
	pc.shared_dir = F.dir;
	uring_force_fallback(true);
	if (uring_new(&F.ring, 64) < 0)
		die("uring_new");
	if (pt_new(&F.fs, &pc) < 0)
		die("pt_new");
	sc.fs = F.fs;
	if (server_new(&F.srv, &sc) < 0)
		die("server_new");
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	if (ftw->level > 0)
		remove(path);
	return 0;
}

/* At exit (libFuzzer exits normally when its time is up): leave nothing
 * in /tmp.  The tmpfs goes with the private mount namespace anyway. */
static void remove_dir(void)
{
	nftw(F.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	umount2(F.dir, MNT_DETACH);
	rmdir(F.dir);
}

/* Back to an empty, root-owned 0777 directory: inputs do not depend on
 * each other. */
static void clean_dir(void)
{
	nftw(F.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	if (chown(F.dir, 0, 0) < 0 && geteuid() == 0)
		die("chown");
	chmod(F.dir, 0777);
}

static void record(struct fz_req *r, const uint8_t *out)
{
	struct fuse_out_header oh;

	memcpy(&oh, out, sizeof(oh));
	if (oh.error)
		return;
	switch (r->opcode) {
	case FUSE_LOOKUP: case FUSE_MKDIR: case FUSE_MKNOD:
	case FUSE_SYMLINK: case FUSE_LINK: case FUSE_CREATE: {
		struct fuse_entry_out e;

		if (r->len < sizeof(oh) + sizeof(e))
			return;
		memcpy(&e, out + sizeof(oh), sizeof(e));
		if (e.nodeid && F.nnodes < SLOTS)
			F.nodes[F.nnodes++] = e.nodeid;
		if (r->opcode == FUSE_CREATE &&
		    r->len >= sizeof(oh) + sizeof(e) + sizeof(struct fuse_open_out)) {
			struct fuse_open_out o;

			memcpy(&o, out + sizeof(oh) + sizeof(e), sizeof(o));
			if (F.nfhs < SLOTS)
				F.fhs[F.nfhs++] = o.fh;
		}
		break;
	}
	case FUSE_OPEN: case FUSE_OPENDIR: {
		struct fuse_open_out o;

		if (r->len < sizeof(oh) + sizeof(o))
			return;
		memcpy(&o, out + sizeof(oh), sizeof(o));
		if (F.nfhs < SLOTS)
			F.fhs[F.nfhs++] = o.fh;
		break;
	}
	default:
		break;
	}
}

static void req_done(struct server_req *sr, size_t len)
{
	struct fz_req *r = (struct fz_req *)sr;
	uint8_t hdr[sizeof(struct fuse_out_header)];
	struct fuse_out_header oh;
	size_t got = 0;

	if (atomic_load(&r->done))
		abort();                /* done() twice */
	r->len = len;
	if (len == 0) {
		atomic_store(&r->done, true);
		return;
	}
	if (len > r->out_size || len < sizeof(oh))
		abort();
	/* The header may straddle the two reply iovecs. */
	for (unsigned int i = 0; i < r->out_cnt && got < sizeof(hdr); i++) {
		size_t n = r->out[i].iov_len < sizeof(hdr) - got ?
			   r->out[i].iov_len : sizeof(hdr) - got;

		memcpy(hdr + got, r->out[i].iov_base, n);
		got += n;
	}
	memcpy(&oh, hdr, sizeof(oh));
	if (oh.len != len || oh.error > 0 || oh.error < -4095 ||
	    (oh.error && len != sizeof(oh)))
		abort();
	if (r->out_cnt == 1)
		record(r, r->out[0].iov_base);
	/* Last: the waiting fuzzer thread frees the buffers after this. */
	atomic_store(&r->done, true);
}

static void run(struct fz_req *r, struct iovec *in, unsigned int in_cnt)
{
	struct iovec scratch[8];

	r->req.in = in;
	r->req.in_cnt = in_cnt;
	r->req.out = r->out;
	r->req.out_cnt = r->out_cnt;
	r->req.done = req_done;
	r->req.scratch = scratch;
	r->req.scratch_cnt = 8;
	atomic_store(&r->done, false);
	server_handle(F.srv, F.ring, &r->req);
	while (!atomic_load(&r->done) && uring_inflight(F.ring) > 0)
		uring_run(F.ring, true);
	if (!atomic_load(&r->done)) {
		/* A SETLKW parked on a conflict (another owner's lock): what
		 * a transport does when it stops the queue.  It must answer
		 * (-EINTR) from its thread; anything else is a hang. */
		server_cancel(F.srv, &r->req);
		for (unsigned int i = 0; i < 5000 && !atomic_load(&r->done); i++)
			usleep(1000);
		if (!atomic_load(&r->done))
			abort();        /* never answered */
	}
}

static void do_init(void)
{
	struct {
		struct fuse_in_header h;
		struct fuse_init_in i;
	} m = { 0 };
	struct fz_req r = { 0 };
	uint8_t *out = malloc(4096);
	struct iovec in = { &m, sizeof(m) };

	m.h.len = sizeof(m);
	m.h.opcode = FUSE_INIT;
	m.h.unique = 1;
	m.i.major = FUSE_KERNEL_VERSION;
	m.i.minor = FUSE_KERNEL_MINOR_VERSION;
	m.i.max_readahead = 1 << 16;
	m.i.flags = FUSE_ASYNC_READ | FUSE_DO_READDIRPLUS | FUSE_EXPORT_SUPPORT |
		    FUSE_BIG_WRITES | FUSE_MAX_PAGES | FUSE_INIT_EXT |
		    FUSE_POSIX_LOCKS | FUSE_FLOCK_LOCKS | FUSE_POSIX_ACL |
		    FUSE_DONT_MASK | FUSE_SETXATTR_EXT;
	/* FUSE_SECURITY_CTX (bit 32), FUSE_CREATE_SUPP_GROUP (bit 34). */
	m.i.flags2 = 1u << 0 | 1u << 2;
	r.out[0] = (struct iovec){ out, 4096 };
	r.out_cnt = 1;
	r.out_size = 4096;
	r.opcode = FUSE_INIT;
	run(&r, &in, 1);
	free(out);
}

static bool fh_first(uint32_t op)
{
	switch (op) {
	case FUSE_READ: case FUSE_WRITE: case FUSE_RELEASE:
	case FUSE_RELEASEDIR: case FUSE_FLUSH: case FUSE_FSYNC:
	case FUSE_FSYNCDIR: case FUSE_READDIR: case FUSE_READDIRPLUS:
	case FUSE_LSEEK: case FUSE_FALLOCATE: case FUSE_COPY_FILE_RANGE:
	case FUSE_GETLK: case FUSE_SETLK: case FUSE_SETLKW:
		return true;
	default:
		return false;
	}
}

static void one_request(const uint8_t *p, size_t len, unsigned int flags,
			size_t cut_a, size_t cut_b, size_t out_len)
{
	uint8_t *buf = malloc(len ? len : 1), *piece[3] = { NULL };
	struct fuse_in_header h;
	struct fz_req r = { 0 };
	struct iovec in[3];
	unsigned int n = 0;
	size_t cuts[4];

	memcpy(buf, p, len);
	if (len >= sizeof(h)) {
		memcpy(&h, buf, sizeof(h));
		if (flags & 8)
			h.len = (uint32_t)len;
		if ((flags & 16) && h.nodeid < SLOTS)
			h.nodeid = h.nodeid == 0 || h.nodeid > F.nnodes ?
				   FUSE_ROOT_ID : F.nodes[h.nodeid - 1];
		if ((flags & 16) && fh_first(h.opcode) && len >= sizeof(h) + 8) {
			uint64_t fh;

			memcpy(&fh, buf + sizeof(h), 8);
			if (fh < SLOTS && F.nfhs) {
				fh = F.fhs[fh % F.nfhs];
				memcpy(buf + sizeof(h), &fh, 8);
			}
		}
		memcpy(buf, &h, sizeof(h));
		r.opcode = h.opcode;
	}

	/* Split the request into exact-size pieces. */
	cut_a %= len + 1;
	cut_b %= len + 1;
	if (cut_a > cut_b) {
		size_t t = cut_a;

		cut_a = cut_b;
		cut_b = t;
	}
	cuts[0] = 0;
	cuts[1] = (flags & 3) >= 1 ? cut_a : len;
	cuts[2] = (flags & 3) >= 2 ? cut_b : len;
	cuts[3] = len;
	for (unsigned int i = 0; i < 3; i++) {
		size_t sz = cuts[i + 1] - cuts[i];

		if (sz == 0 && !(i == 0 && len == 0))
			continue;
		piece[n] = malloc(sz ? sz : 1);
		memcpy(piece[n], buf + cuts[i], sz);
		in[n] = (struct iovec){ piece[n], sz };
		n++;
	}

	/* Reply space, split in two at half with flag bit 2. */
	r.out_size = out_len;
	if ((flags & 4) && out_len >= 2) {
		r.out[0] = (struct iovec){ malloc(out_len / 2), out_len / 2 };
		r.out[1] = (struct iovec){ malloc(out_len - out_len / 2),
					   out_len - out_len / 2 };
		r.out_cnt = 2;
	} else {
		r.out[0] = (struct iovec){ malloc(out_len ? out_len : 1), out_len };
		r.out_cnt = out_len ? 1 : 0;
	}
	run(&r, in, n);
	for (unsigned int i = 0; i < n; i++)
		free(piece[i]);
	free(r.out[0].iov_base);
	if (r.out_cnt == 2)
		free(r.out[1].iov_base);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t at = 0;

	if (!F.srv)
		setup();
	server_reset(F.srv);
	clean_dir();
	F.nnodes = F.nfhs = 0;
	do_init();
	while (at + 9 <= size) {
		unsigned int flags = data[at];
		size_t len = data[at + 1] | (size_t)data[at + 2] << 8;
		size_t cut_a = data[at + 3] | (size_t)data[at + 4] << 8;
		size_t cut_b = data[at + 5] | (size_t)data[at + 6] << 8;
		size_t out_len = data[at + 7] | (size_t)data[at + 8] << 8;

		at += 9;
		if (len > size - at)
			len = size - at;
		one_request(data + at, len, flags, cut_a, cut_b, out_len);
		at += len;
	}
	return 0;
}
