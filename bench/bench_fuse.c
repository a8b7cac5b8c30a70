// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The load generator proper: plays QEMU and the guest's virtio-fs driver
 * (tests/frontend) against any vhost-user-fs back-end and keeps `depth`
 * operations in flight, spread over the request queues.
 *
 * One thread, like one guest vCPU issuing from many tasks: it submits a
 * batch, kicks each queue once (EVENT_IDX decides whether the kick is
 * needed), then reaps used entries, sleeping on the call eventfds (or
 * spinning with --busy-poll) when none is there.  Every reply is checked:
 * out header, unique, error, payload size; anything else is an error and
 * never a success.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend.h"

#define FORGET_POOL BENCH_MAX_FORGETS

enum stage {
	ST_GETATTR, ST_LOOKUP, ST_READ, ST_WRITE,
	ST_CREATE, ST_META_WRITE, ST_RELEASE, ST_UNLINK,
};

struct slot {
	struct fe_req *req;
	unsigned int qidx;
	enum stage stage;
	uint64_t t0;
	uint64_t nodeid;            /* meta: the created file */
	uint64_t fh;
	uint32_t expect;            /* reply payload bytes a success carries */
	char name[48];
};

struct forget_buf {
	struct fuse_in_header h;
	struct fuse_forget_in f;
};

struct fbench {
	const struct bench_opts *o;
	struct fe_dev *d;
	struct slot slots[BENCH_MAX_DEPTH];
	struct forget_buf *forgets;         /* guest memory, FORGET_POOL */
	unsigned int forget_free[FORGET_POOL];  /* free buffers (indexes) */
	unsigned int forget_nfree;
	unsigned int forget_inflight;
	bool dirty[FE_MAX_QUEUES];          /* submitted since the last kick */
	uint64_t root_file;                 /* nodeid of the read file */
	uint64_t write_file;
	uint64_t fh_read, fh_write;
	uint64_t file_size;
	uint64_t seq_off;
	uint64_t rng;
	uint64_t meta_seq;
	enum bench_workload wl;
	uint32_t io;
	bool stopping;
	bool measuring;
	uint64_t t_measure, t_stop;
	struct bench_stats st;
	unsigned int inflight;
	unsigned int reported_errors;
	uint64_t all_ops;                   /* warm-up and drain included */
};

static int submit(struct fbench *b, struct slot *s, uint32_t opcode,
		  uint64_t nodeid, const void *arg, size_t arg_len,
		  uint32_t data_len, bool data_out, uint32_t expect)
{
	struct fe_req *r = s->req;
	int ret;

	r->data_len = data_len;
	r->data_out = data_out;
	/* The kernel posts exactly the reply's size; a READ's data follows. */
	r->out_len = sizeof(struct fuse_out_header) + (data_out ? 0 : expect);
	ret = fe_req_prepare(b->d, r, opcode, nodeid, arg, arg_len);
	if (ret == 0)
		ret = fe_submit(b->d, s->qidx, r);
	if (ret < 0)
		return ret;
	s->expect = expect;
	b->dirty[s->qidx] = true;
	b->inflight++;
	return 0;
}

static uint64_t next_offset(struct fbench *b)
{
	uint64_t off;

	if (b->wl == WL_SEQREAD || b->wl == WL_SEQWRITE) {
		off = b->seq_off;
		b->seq_off += b->io;
		if (b->seq_off + b->io > b->file_size)
			b->seq_off = 0;
		return off;
	}
	return (bench_rand(&b->rng) % (b->file_size / b->io)) * b->io;
}

static int submit_io(struct fbench *b, struct slot *s, bool write,
		     uint64_t nodeid, uint64_t fh, uint64_t off, uint32_t size)
{
	if (write) {
		struct fuse_write_in in = { .fh = fh, .offset = off,
					    .size = size };

		return submit(b, s, FUSE_WRITE, nodeid, &in, sizeof(in), size,
			      false, sizeof(struct fuse_write_out));
	} else {
		struct fuse_read_in in = { .fh = fh, .offset = off,
					   .size = size };

		return submit(b, s, FUSE_READ, nodeid, &in, sizeof(in), size,
			      true, size);
	}
}

/* Start a new operation in slot s. */
static int start_op(struct fbench *b, struct slot *s)
{
	s->t0 = bench_now_ns();
	switch (b->wl) {
	case WL_GETATTR: {
		struct fuse_getattr_in in = { 0 };

		s->stage = ST_GETATTR;
		return submit(b, s, FUSE_GETATTR, b->root_file, &in, sizeof(in),
			      0, false, sizeof(struct fuse_attr_out));
	}
	case WL_LOOKUP:
		s->stage = ST_LOOKUP;
		return submit(b, s, FUSE_LOOKUP, FUSE_ROOT_ID, BENCH_READ_FILE,
			      sizeof(BENCH_READ_FILE), 0, false,
			      sizeof(struct fuse_entry_out));
	case WL_READ4K:
	case WL_SEQREAD:
		s->stage = ST_READ;
		return submit_io(b, s, false, b->root_file, b->fh_read,
				 next_offset(b), b->io);
	case WL_WRITE4K:
	case WL_SEQWRITE:
		s->stage = ST_WRITE;
		return submit_io(b, s, true, b->write_file, b->fh_write,
				 next_offset(b), b->io);
	case WL_META: {
		struct {
			struct fuse_create_in in;
			char name[48];
		} a = { .in = { .flags = O_RDWR | O_CREAT | O_EXCL,
				.mode = 0100644 } };
		int n;

		n = snprintf(s->name, sizeof(s->name), "meta-%d-%llu", bench_pid(),
			     (unsigned long long)b->meta_seq++);
		memcpy(a.name, s->name, (size_t)n + 1);
		s->stage = ST_CREATE;
		return submit(b, s, FUSE_CREATE, FUSE_ROOT_ID, &a,
			      sizeof(a.in) + (size_t)n + 1, 0, false,
			      sizeof(struct fuse_entry_out) +
			      sizeof(struct fuse_open_out));
	}
	default:
		return -EINVAL;
	}
}

/* A FORGET's used entry came back: its buffer is free again. */
static int forget_reaped(struct fbench *b, void *tok)
{
	struct forget_buf *f = tok;

	if (f < b->forgets || f >= b->forgets + FORGET_POOL)
		return -EPROTO;
	b->forget_free[b->forget_nfree++] = (unsigned int)(f - b->forgets);
	b->forget_inflight--;
	return 0;
}

/* FORGET on the hiprio queue: no reply, only the used entry comes back.
 * At most forget_window in flight: past that, wait for used entries. */
static int send_forget(struct fbench *b, uint64_t nodeid)
{
	struct fe_vq *q0 = fe_dev_vq(b->d, 0);
	struct forget_buf *f;
	struct fe_seg seg;
	void *tok;
	int r;

	while (b->forget_inflight >= b->o->forget_window) {
		r = fe_vq_get(q0, &tok, NULL);
		if (r < 0)
			return r;
		if (r == 1) {
			r = forget_reaped(b, tok);
			if (r < 0)
				return r;
			continue;
		}
		/* FORGETs queued since the last kick_dirty() were never
		 * announced: the back-end may be asleep waiting for a kick,
		 * and waiting for their used entries would hang (until the
		 * timeout, then "transport failure").  Kick first. */
		if (b->dirty[0]) {
			b->dirty[0] = false;
			r = fe_vq_kick(q0);
			if (r < 0)
				return r;
		}
		r = fe_vq_wait(q0, -1);
		if (r < 0)
			return r;
	}
	f = &b->forgets[b->forget_free[--b->forget_nfree]];
	f->h = (struct fuse_in_header){
		.len = sizeof(*f), .opcode = FUSE_FORGET,
		.unique = fe_fuse_next_unique(b->d), .nodeid = nodeid,
	};
	f->f.nlookup = 1;
	seg = (struct fe_seg){ .addr = f, .len = sizeof(*f) };
	r = fe_vq_add(q0, &seg, 1, f);
	if (r < 0) {
		b->forget_nfree++;
		return r;
	}
	b->forget_inflight++;
	b->dirty[0] = true;
	return 0;
}

static int reap_forgets(struct fbench *b)
{
	void *tok;
	int r;

	while (b->forget_inflight &&
	       (r = fe_vq_get(fe_dev_vq(b->d, 0), &tok, NULL)) != 0) {
		if (r < 0 || (r = forget_reaped(b, tok)) < 0)
			return r;
	}
	return 0;
}

/* Why an operation could not go on: the transport, not a FUSE error. */
static int transport_error(struct fbench *b, const char *what, int r)
{
	fprintf(stderr, "vfsd-bench: %s: %s: %s\n", bench_workload_name(b->wl),
		what, strerror(-r));
	return r;
}

/* The operation in slot s finished (well or not). */
static int op_done(struct fbench *b, struct slot *s, bool ok, uint32_t bytes)
{
	uint64_t now = bench_now_ns();

	b->all_ops++;
	if (b->measuring) {
		if (ok) {
			b->st.ops++;
			b->st.bytes += bytes;
			bench_record(&b->st, now - s->t0);
		} else {
			b->st.errors++;
		}
	}
	if (!b->measuring && !b->stopping && now >= b->t_measure) {
		bench_stats_reset(&b->st, now);
		b->measuring = true;
	}
	if (now >= b->t_stop)
		b->stopping = true;
	return b->stopping ? 0 : start_op(b, s);
}

/* A used entry came back for slot s: check it, advance the state machine. */
static int completed(struct fbench *b, struct slot *s)
{
	struct fe_req *r = s->req;
	struct fe_reply rep;
	uint8_t *payload = r->out + sizeof(struct fuse_out_header);
	bool ok;
	int ret;

	b->inflight--;
	ok = fe_req_reply(r, &rep) == 0 && rep.error == 0 &&
	     rep.len == s->expect;
	if (!ok) {
		if (b->reported_errors++ < 5)
			fprintf(stderr, "vfsd-bench: %s: stage %d failed: %s\n",
				bench_workload_name(b->wl), s->stage,
				rep.error ? strerror(-rep.error) : "malformed reply");
		return op_done(b, s, false, 0);
	}
	switch (s->stage) {
	case ST_LOOKUP: {
		struct fuse_entry_out e;

		memcpy(&e, payload, sizeof(e));
		if (e.nodeid == 0)
			return op_done(b, s, false, 0);
		ret = send_forget(b, e.nodeid);
		if (ret < 0)
			return transport_error(b, "queueing a FORGET", ret);
		return op_done(b, s, true, 0);
	}
	case ST_WRITE: {
		struct fuse_write_out w;

		memcpy(&w, payload, sizeof(w));
		return op_done(b, s, w.size == b->io, w.size);
	}
	case ST_READ:
		return op_done(b, s, true, rep.len);
	case ST_GETATTR:
		return op_done(b, s, true, 0);
	case ST_CREATE: {
		struct fuse_entry_out e;
		struct fuse_open_out oo;

		memcpy(&e, payload, sizeof(e));
		memcpy(&oo, payload + sizeof(e), sizeof(oo));
		if (e.nodeid == 0)
			return op_done(b, s, false, 0);
		s->nodeid = e.nodeid;
		s->fh = oo.fh;
		s->stage = ST_META_WRITE;
		{
			struct fuse_write_in in = { .fh = s->fh,
						    .size = BENCH_SMALL_IO };

			return submit(b, s, FUSE_WRITE, s->nodeid, &in,
				      sizeof(in), BENCH_SMALL_IO, false,
				      sizeof(struct fuse_write_out));
		}
	}
	case ST_META_WRITE: {
		struct fuse_release_in in = { .fh = s->fh, .flags = O_RDWR };
		struct fuse_write_out w;

		memcpy(&w, payload, sizeof(w));
		if (w.size != BENCH_SMALL_IO)
			b->st.errors += b->measuring;
		s->stage = ST_RELEASE;
		return submit(b, s, FUSE_RELEASE, s->nodeid, &in, sizeof(in),
			      0, false, 0);
	}
	case ST_RELEASE:
		s->stage = ST_UNLINK;
		return submit(b, s, FUSE_UNLINK, FUSE_ROOT_ID, s->name,
			      strlen(s->name) + 1, 0, false, 0);
	case ST_UNLINK:
		ret = send_forget(b, s->nodeid);
		if (ret < 0)
			return transport_error(b, "queueing a FORGET", ret);
		return op_done(b, s, true, BENCH_SMALL_IO);
	}
	return -EINVAL;
}

static void kick_dirty(struct fbench *b)
{
	for (unsigned int q = 0; q <= b->o->queues; q++) {
		if (b->dirty[q]) {
			b->dirty[q] = false;
			fe_kick(b->d, q);
		}
	}
}

/* Wait until some queue has a used entry (or the timeout). */
static int wait_any(struct fbench *b)
{
	struct pollfd p[FE_MAX_QUEUES];
	unsigned int n = 0;
	uint64_t v;
	int r;

	for (unsigned int q = 1; q <= b->o->queues; q++) {
		/* Arms used_event and checks, without sleeping. */
		if (fe_vq_wait(fe_dev_vq(b->d, q), 0) == 0)
			return 0;
		p[n++] = (struct pollfd){ .fd = fe_vq_call_fd(fe_dev_vq(b->d, q)),
					  .events = POLLIN };
	}
	if (b->o->busy_poll)
		return 0;
	r = poll(p, n, fe_dev_timeout(b->d));
	if (r == 0)
		return -ETIMEDOUT;
	for (unsigned int i = 0; i < n; i++)
		if (p[i].revents && read(p[i].fd, &v, sizeof(v)) < 0)
			continue;
	return 0;
}

static int run_one(struct fbench *b, enum bench_workload wl, unsigned int depth)
{
	const struct bench_opts *o = b->o;
	struct bench_run run = { .wl = wl, .depth = depth, .queues = o->queues,
				 .io_size = bench_io_size(wl) };
	uint64_t now = bench_now_ns();
	char extra[64];
	int r = 0;

	b->all_ops = 0;
	b->wl = wl;
	b->io = bench_io_size(wl);
	b->stopping = b->measuring = false;
	b->t_measure = now + (uint64_t)(o->warmup * 1e9);
	b->t_stop = b->t_measure + (uint64_t)(o->seconds * 1e9);
	bench_stats_reset(&b->st, now);
	for (unsigned int i = 0; i < depth && r == 0; i++) {
		b->slots[i].qidx = 1 + i % o->queues;
		r = start_op(b, &b->slots[i]);
	}
	kick_dirty(b);
	while (r == 0 && b->inflight) {
		unsigned int got = 0;

		for (unsigned int q = 1; q <= o->queues && r == 0; q++) {
			struct fe_req *done;

			while (r == 0 && fe_reap(b->d, q, &done, 0) == 1) {
				got++;
				r = completed(b, done->opaque);
			}
		}
		if (r == 0)
			r = reap_forgets(b);
		kick_dirty(b);
		if (!got && r == 0)
			r = wait_any(b);
	}
	b->st.t_end_ns = bench_now_ns();
	/* Let pending FORGETs finish before the next run. */
	while (r == 0 && b->forget_inflight) {
		r = reap_forgets(b);
		if (r == 0 && b->forget_inflight &&
		    fe_vq_wait(fe_dev_vq(b->d, 0), -1) < 0)
			r = transport_error(b, "waiting for FORGETs", -ETIMEDOUT);
	}
	if (r < 0) {
		fprintf(stderr, "vfsd-bench: %s depth %u: transport failure: %s\n",
			bench_workload_name(wl), depth, strerror(-r));
		return r;
	}
	if (!b->measuring)
		b->st.t_end_ns = b->st.t_start_ns;
	snprintf(extra, sizeof(extra), "ops_all=%llu",
		 (unsigned long long)b->all_ops);
	bench_report(o, &run, &b->st, extra);
	return 0;
}

static int open_file(struct fbench *b, const char *name, uint32_t flags,
		     uint64_t *nodeid, uint64_t *fh)
{
	struct fuse_entry_out e;
	struct fuse_open_out oo;
	int r;

	r = fe_lookup(b->d, FUSE_ROOT_ID, name, &e);
	if (r < 0) {
		fprintf(stderr, "vfsd-bench: LOOKUP %s: %s\n", name, strerror(-r));
		return r;
	}
	*nodeid = e.nodeid;
	r = fe_open(b->d, e.nodeid, flags, &oo);
	if (r < 0) {
		fprintf(stderr, "vfsd-bench: OPEN %s: %s\n", name, strerror(-r));
		return r;
	}
	*fh = oo.fh;
	return 0;
}

static unsigned int max_depth(const struct bench_opts *o)
{
	unsigned int m = 1;

	for (unsigned int i = 0; i < o->ndepths; i++)
		if (o->depths[i] > m)
			m = o->depths[i];
	return m;
}

static int setup(struct fbench *b)
{
	const struct bench_opts *o = b->o;
	struct fe_opts fo = {
		/* 1 MiB of data per slot, plus rings and headers. */
		.mem_size = ((size_t)max_depth(o) + 16) << 20,
		.num_queues = 1 + o->queues,
		.queue_size = 256,
		.event_idx = true,
		.busy_poll = o->busy_poll,
		.timeout_ms = 20000,
	};
	struct fuse_init_out init;
	int r;

	r = fe_dev_open(&b->d, o->socket, &fo);
	if (r < 0) {
		fprintf(stderr, "vfsd-bench: connect %s: %s\n", o->socket, strerror(-r));
		return r;
	}
	if (o->queues > 1 && fe_dev_queue_num_offered(b->d) < o->queues) {
		fprintf(stderr, "vfsd-bench: back-end offers %u request queues, %u asked\n",
			fe_dev_queue_num_offered(b->d), o->queues);
		return -EINVAL;
	}
	/* Ids looked up once, not three syscalls per request (a guest
	 * kernel does not make any). */
	fe_fuse_set_caller(b->d, (uint32_t)getuid(), (uint32_t)getgid());
	r = fe_fuse_init(b->d, 0, FE_INIT_FLAGS_DEFAULT, &init);
	if (r < 0) {
		fprintf(stderr, "vfsd-bench: FUSE_INIT: %s\n", strerror(-r));
		return r;
	}
	if (fe_fuse_max_io(b->d) < BENCH_BIG_IO) {
		fprintf(stderr, "vfsd-bench: back-end takes at most %u bytes per request, 1 MiB needed\n",
			fe_fuse_max_io(b->d));
		return -EINVAL;
	}
	r = open_file(b, BENCH_READ_FILE, O_RDONLY, &b->root_file, &b->fh_read);
	if (r == 0)
		r = open_file(b, BENCH_WRITE_FILE, O_RDWR, &b->write_file,
			      &b->fh_write);
	if (r < 0)
		return r;
	b->forgets = fe_mem_alloc(b->d, sizeof(*b->forgets) * FORGET_POOL, 64);
	if (!b->forgets)
		return -ENOMEM;
	for (unsigned int i = 0; i < FORGET_POOL; i++)
		b->forget_free[b->forget_nfree++] = FORGET_POOL - 1 - i;
	for (unsigned int i = 0; i < max_depth(o); i++) {
		struct fe_req *rq = fe_req_new(b->d, 256, 256, BENCH_BIG_IO);

		if (!rq) {
			fprintf(stderr, "vfsd-bench: guest memory full\n");
			return -ENOMEM;
		}
		rq->opaque = &b->slots[i];
		b->slots[i].req = rq;
	}
	return 0;
}

/* Resident set of a process in KiB, and the part of it that is its own
 * (private pages: not the shared libraries every process maps). */
static long rss_kib(int pid, long *private_kib)
{
	char path[64], line[256];
	long kib = -1, v;
	FILE *f;

	*private_kib = 0;
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Rss: %ld kB", &v) == 1)
			kib = v;
		else if (sscanf(line, "Private_Clean: %ld kB", &v) == 1 ||
			 sscanf(line, "Private_Dirty: %ld kB", &v) == 1)
			*private_kib += v;
	}
	fclose(f);
	return kib;
}

/*
 * Idle resident size (connected, FUSE_INIT done, files open), then the
 * resident size after LOOKUPs of `inodes` distinct files (the back-end keeps
 * one inode each), per inode.  The files are made by bench_prepare_files.
 */
static int measure_memory(struct fbench *b)
{
	const struct bench_opts *o = b->o;
	struct fuse_entry_out e;
	uint64_t dir, *ids;
	long idle, full, priv_idle, priv_full;
	unsigned int ok = 0;
	char name[32], extra[256];
	int r;

	idle = rss_kib(o->backend_pid, &priv_idle);
	r = fe_lookup(b->d, FUSE_ROOT_ID, BENCH_INODE_DIR, &e);
	if (r < 0) {
		fprintf(stderr, "vfsd-bench: LOOKUP %s: %s\n", BENCH_INODE_DIR,
			strerror(-r));
		return r;
	}
	dir = e.nodeid;
	ids = calloc(o->inodes ? o->inodes : 1, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	for (unsigned int i = 0; i < o->inodes; i++) {
		snprintf(name, sizeof(name), "f%u", i);
		if (fe_lookup(b->d, dir, name, &e) == 0)
			ids[ok++] = e.nodeid;
	}
	full = rss_kib(o->backend_pid, &priv_full);
	/* Give them back: a back-end caps its inode table. */
	for (unsigned int i = 0; i < ok; i++)
		fe_forget(b->d, ids[i], 1);
	fe_forget(b->d, dir, 1);
	free(ids);
	snprintf(extra, sizeof(extra),
		 "inodes=%u looked_up=%u rss_idle_kib=%ld private_idle_kib=%ld "
		 "rss_inodes_kib=%ld private_inodes_kib=%ld bytes_per_inode=%.0f",
		 o->inodes, ok, idle, priv_idle, full, priv_full,
		 ok ? (double)(full - idle) * 1024.0 / ok : 0.0);
	printf("bench=vfsd-bench label=%s workload=memory %s\n", o->label, extra);
	fflush(stdout);
	return 0;
}

int bench_fuse(const struct bench_opts *o)
{
	struct fbench *b = calloc(1, sizeof(*b));
	int r;

	if (!b)
		return -ENOMEM;
	b->o = o;
	b->file_size = (uint64_t)o->file_mib << 20;
	b->rng = 0x9e3779b97f4a7c15ull;
	r = setup(b);
	if (r == 0 && o->backend_pid > 0)
		r = measure_memory(b);
	for (int wl = 0; wl < WL_COUNT && r == 0; wl++) {
		if (!o->workloads[wl])
			continue;
		for (unsigned int i = 0; i < o->ndepths && r == 0; i++) {
			b->seq_off = 0;
			r = run_one(b, (enum bench_workload)wl, o->depths[i]);
		}
	}
	if (b->d) {
		for (unsigned int i = 0; i < BENCH_MAX_DEPTH; i++)
			if (b->slots[i].req)
				fe_req_free(b->slots[i].req);
		fe_dev_close(b->d);
	}
	free(b);
	return r;
}
