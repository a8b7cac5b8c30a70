/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FUSE over the test front-end's virtqueues, shaped like the guest kernel's
 * fs/fuse/virtio_fs.c: readable part = fuse_in_header + in args, writable
 * part = fuse_out_header + out args; FORGET on the hiprio queue with no
 * writable part.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fe_internal.h"

#define SEGS_MAX_SYNC 8             /* in/out args of one sync call */

/* ---- asynchronous requests ---- */

uint64_t fe_fuse_next_unique(struct fe_dev *d)
{
	/* Like the kernel: unique ids are even (odd ones mark interrupts). */
	d->unique += 2;
	return d->unique;
}

struct fe_req *fe_req_new(struct fe_dev *d, size_t in_cap, size_t out_cap,
			  size_t data_cap)
{
	struct fe_req *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->in_cap = in_cap < sizeof(struct fuse_in_header) ?
		    sizeof(struct fuse_in_header) : in_cap;
	r->out_cap = out_cap < sizeof(struct fuse_out_header) ?
		     sizeof(struct fuse_out_header) : out_cap;
	r->in = fe_mem_alloc(d, r->in_cap, 64);
	r->out = fe_mem_alloc(d, r->out_cap, 64);
	if (data_cap) {
		r->data = fe_mem_alloc(d, data_cap, 4096);
		r->data_len = data_cap;
	}
	if (!r->in || !r->out || (data_cap && !r->data)) {
		free(r);
		return NULL;
	}
	return r;
}

void fe_req_free(struct fe_req *r)
{
	free(r);
}

void fe_fuse_set_caller(struct fe_dev *d, uint32_t uid, uint32_t gid)
{
	d->caller_set = true;
	d->caller_uid = uid;
	d->caller_gid = gid;
	d->caller_pid = (uint32_t)getpid();
}

void fe_fuse_reset_caller(struct fe_dev *d)
{
	d->caller_set = false;
}

static uint32_t fe_caller_uid(const struct fe_dev *d)
{
	return d->caller_set ? d->caller_uid : (uint32_t)getuid();
}

static uint32_t fe_caller_gid(const struct fe_dev *d)
{
	return d->caller_set ? d->caller_gid : (uint32_t)getgid();
}

static uint32_t fe_caller_pid(const struct fe_dev *d)
{
	return d->caller_set ? d->caller_pid : (uint32_t)getpid();
}

int fe_req_prepare(struct fe_dev *d, struct fe_req *r, uint32_t opcode,
		   uint64_t nodeid, const void *arg, size_t arg_len)
{
	struct fuse_in_header h = {
		.opcode = opcode,
		.nodeid = nodeid,
		.uid = fe_caller_uid(d),
		.gid = fe_caller_gid(d),
		.pid = fe_caller_pid(d),
	};
	size_t data = (r->data && !r->data_out) ? r->data_len : 0;

	if (arg_len > r->in_cap - sizeof(h))
		return -ENOSPC;
	h.unique = fe_fuse_next_unique(d);
	h.len = (uint32_t)(sizeof(h) + arg_len + data);
	memcpy(r->in, &h, sizeof(h));
	if (arg_len)
		memcpy(r->in + sizeof(h), arg, arg_len);
	r->in_len = sizeof(h) + arg_len;
	r->unique = h.unique;
	r->used_len = 0;
	return 0;
}

/* Append buf as one or more segments of at most seg_max bytes. */
static int add_segs(const struct fe_dev *d, struct fe_seg *seg,
		    unsigned int *n, void *buf, size_t len, bool writable,
		    bool split)
{
	size_t max = (split && d->opts.seg_max) ? d->opts.seg_max : len;

	if (!max)
		max = 1;
	do {
		size_t l = len < max ? len : max;

		if (*n >= FE_MAX_SEGS || l > UINT32_MAX)
			return -E2BIG;
		seg[(*n)++] = (struct fe_seg){ .addr = buf, .len = (uint32_t)l,
					       .writable = writable };
		buf = (uint8_t *)buf + l;
		len -= l;
	} while (len);
	return 0;
}

int fe_submit(struct fe_dev *d, unsigned int qidx, struct fe_req *r)
{
	struct fe_vq *q = fe_dev_vq(d, qidx);
	struct fe_seg seg[FE_MAX_SEGS];
	unsigned int n = 0;
	int ret;

	if (!q)
		return -EINVAL;
	ret = add_segs(d, seg, &n, r->in, r->in_len, false, false);
	if (!ret && r->data && r->data_len && !r->data_out)
		ret = add_segs(d, seg, &n, r->data, r->data_len, false, true);
	if (!ret && (r->out_len || r->out_cap))
		ret = add_segs(d, seg, &n, r->out,
			       r->out_len ? r->out_len : r->out_cap, true,
			       false);
	if (!ret && r->data && r->data_len && r->data_out)
		ret = add_segs(d, seg, &n, r->data, r->data_len, true, true);
	if (ret < 0)
		return ret;
	ret = fe_vq_add(q, seg, n, r);
	return ret < 0 ? ret : 0;
}

int fe_kick(struct fe_dev *d, unsigned int qidx)
{
	struct fe_vq *q = fe_dev_vq(d, qidx);

	return q ? fe_vq_kick(q) : -EINVAL;
}

int fe_reap(struct fe_dev *d, unsigned int qidx, struct fe_req **done,
	    int timeout_ms)
{
	struct fe_vq *q = fe_dev_vq(d, qidx);
	void *tok;
	uint32_t len;
	int r;

	if (!q)
		return -EINVAL;
	r = fe_vq_get(q, &tok, &len);
	if (r == 0 && timeout_ms != 0) {
		r = fe_vq_wait(q, timeout_ms);
		if (r == -ETIMEDOUT)
			return 0;
		if (r < 0)
			return r;
		r = fe_vq_get(q, &tok, &len);
	}
	if (r <= 0)
		return r;
	((struct fe_req *)tok)->used_len = len;
	*done = tok;
	return 1;
}

int fe_req_reply(const struct fe_req *r, struct fe_reply *rep)
{
	struct fuse_out_header oh;
	size_t posted = r->out_len ? r->out_len : r->out_cap;

	memset(rep, 0, sizeof(*rep));
	rep->used_len = r->used_len;
	if (r->data && r->data_out)
		posted += r->data_len;
	if (r->used_len < sizeof(oh) || r->used_len > posted)
		return -EPROTO;
	memcpy(&oh, r->out, sizeof(oh));
	rep->error = oh.error;
	rep->unique = oh.unique;
	rep->len = oh.len >= sizeof(oh) ? oh.len - sizeof(oh) : 0;
	if (oh.len != r->used_len || oh.unique != r->unique)
		return -EPROTO;
	if (oh.error > 0 || oh.error <= -4096)
		return -EPROTO;
	if (oh.error && oh.len != sizeof(oh))
		return -EPROTO;
	return 0;
}

/* ---- synchronous calls ---- */

void fe_fuse_set_queue(struct fe_dev *d, unsigned int qidx)
{
	d->fuse_q = qidx;
}

int fe_fuse_transport_error(const struct fe_dev *d)
{
	return d->transport_err;
}

/* Wait for the one request in flight on q. */
static int wait_one(struct fe_dev *d, unsigned int qidx, void *want,
		    uint32_t *len)
{
	struct fe_vq *q = fe_dev_vq(d, qidx);
	void *tok;
	int r;

	for (;;) {
		r = fe_vq_get(q, &tok, len);
		if (r < 0)
			return r;
		if (r == 1)
			return tok == want ? 0 : -EPROTO;
		r = fe_vq_wait(q, -1);
		if (r < 0)
			return r;
	}
}

int fe_fuse_call(struct fe_dev *d, unsigned int qidx, uint32_t opcode,
		 uint64_t nodeid, const struct iovec *in, unsigned int nin,
		 const struct iovec *out, unsigned int nout,
		 struct fe_reply *rep)
{
	struct fe_vq *q = fe_dev_vq(d, qidx);
	struct fe_seg seg[FE_MAX_SEGS];
	struct fuse_in_header *h;
	struct fuse_out_header *oh;
	uint8_t *outbuf[SEGS_MAX_SYNC];
	size_t mark = fe_mem_mark(d), total_in = sizeof(*h), copied;
	unsigned int n = 0, i;
	uint32_t used;
	int r;

	memset(rep, 0, sizeof(*rep));
	if (!q || nin > SEGS_MAX_SYNC || nout > SEGS_MAX_SYNC)
		return -EINVAL;
	if (fe_vq_inflight(q))
		return -EBUSY;
	h = fe_mem_alloc(d, sizeof(*h), 64);
	oh = fe_mem_alloc(d, sizeof(*oh), 64);
	if (!h || !oh) {
		r = -ENOMEM;
		goto out;
	}
	seg[n++] = (struct fe_seg){ .addr = h, .len = sizeof(*h) };
	for (i = 0; i < nin; i++) {
		void *b = fe_mem_alloc(d, in[i].iov_len, 64);

		if (!b) {
			r = -ENOMEM;
			goto out;
		}
		memcpy(b, in[i].iov_base, in[i].iov_len);
		total_in += in[i].iov_len;
		r = add_segs(d, seg, &n, b, in[i].iov_len, false, true);
		if (r < 0)
			goto out;
	}
	seg[n++] = (struct fe_seg){ .addr = oh, .len = sizeof(*oh),
				    .writable = true };
	for (i = 0; i < nout; i++) {
		outbuf[i] = fe_mem_alloc(d, out[i].iov_len, 64);
		if (!outbuf[i]) {
			r = -ENOMEM;
			goto out;
		}
		r = add_segs(d, seg, &n, outbuf[i], out[i].iov_len, true,
			     true);
		if (r < 0)
			goto out;
	}
	*h = (struct fuse_in_header){
		.len = (uint32_t)total_in,
		.opcode = opcode,
		.unique = fe_fuse_next_unique(d),
		.nodeid = nodeid,
		.uid = fe_caller_uid(d),
		.gid = fe_caller_gid(d),
		.pid = fe_caller_pid(d),
	};
	r = fe_vq_add(q, seg, n, h);
	if (r < 0)
		goto out;
	r = fe_vq_kick(q);
	if (r < 0)
		goto out;
	r = wait_one(d, qidx, h, &used);
	if (r < 0)
		goto out;
	rep->used_len = used;
	if (used < sizeof(*oh)) {
		r = -EPROTO;
		goto out;
	}
	rep->error = oh->error;
	rep->unique = oh->unique;
	rep->len = oh->len >= sizeof(*oh) ? oh->len - sizeof(*oh) : 0;
	if (oh->len != used || oh->unique != h->unique ||
	    oh->error > 0 || oh->error <= -4096 ||
	    (oh->error && oh->len != sizeof(*oh))) {
		r = -EPROTO;
		goto out;
	}
	/* The reply payload fills the writable buffers in order. */
	copied = 0;
	for (i = 0; i < nout && copied < rep->len; i++) {
		size_t l = rep->len - copied;

		if (l > out[i].iov_len)
			l = out[i].iov_len;
		memcpy(out[i].iov_base, outbuf[i], l);
		copied += l;
	}
	if (copied < rep->len) {
		r = -EPROTO;
		goto out;
	}
	r = 0;
out:
	/* On a timeout the chain stays in flight: keep its memory. */
	if (r != -ETIMEDOUT)
		fe_mem_release(d, mark);
	return r;
}

int fe_fuse_call_raw(struct fe_dev *d, unsigned int qidx, const void *req,
		     size_t req_len, void *reply, size_t reply_cap,
		     struct fe_reply *rep)
{
	struct fe_vq *q = fe_dev_vq(d, qidx);
	struct fe_seg seg[2];
	size_t mark = fe_mem_mark(d);
	uint8_t *in, *out = NULL;
	unsigned int n = 0;
	uint32_t used;
	int r;

	memset(rep, 0, sizeof(*rep));
	if (!q)
		return -EINVAL;
	if (fe_vq_inflight(q))
		return -EBUSY;
	in = fe_mem_alloc(d, req_len, 64);
	if (reply_cap)
		out = fe_mem_alloc(d, reply_cap, 64);
	if (!in || (reply_cap && !out)) {
		r = -ENOMEM;
		goto done;
	}
	memcpy(in, req, req_len);
	seg[n++] = (struct fe_seg){ .addr = in, .len = (uint32_t)req_len };
	if (reply_cap)
		seg[n++] = (struct fe_seg){ .addr = out,
					    .len = (uint32_t)reply_cap,
					    .writable = true };
	r = fe_vq_add(q, seg, n, in);
	if (r < 0)
		goto done;
	r = fe_vq_kick(q);
	if (r < 0)
		goto done;
	r = wait_one(d, qidx, in, &used);
	if (r < 0)
		goto done;
	rep->used_len = used;
	if (out && used >= sizeof(struct fuse_out_header)) {
		struct fuse_out_header oh;

		memcpy(&oh, out, sizeof(oh));
		rep->error = oh.error;
		rep->unique = oh.unique;
		rep->len = oh.len >= sizeof(oh) ? oh.len - sizeof(oh) : 0;
	}
	if (reply && out)
		memcpy(reply, out, used < reply_cap ? used : reply_cap);
done:
	if (r != -ETIMEDOUT)
		fe_mem_release(d, mark);
	return r;
}

/* One call of a typed helper: FUSE error, or transport error recorded. */
static int call(struct fe_dev *d, uint32_t opcode, uint64_t nodeid,
		const struct iovec *in, unsigned int nin,
		const struct iovec *out, unsigned int nout,
		struct fe_reply *rep)
{
	struct fe_reply local;
	int r;

	if (!rep)
		rep = &local;
	r = fe_fuse_call(d, d->fuse_q, opcode, nodeid, in, nin, out, nout,
			 rep);
	if (r < 0) {
		d->transport_err = r;
		return r;
	}
	return rep->error;
}

/* Reply payload must be exactly the expected size. */
static int call_fixed(struct fe_dev *d, uint32_t opcode, uint64_t nodeid,
		      const struct iovec *in, unsigned int nin,
		      const struct iovec *out, unsigned int nout)
{
	struct fe_reply rep;
	size_t want = 0;
	unsigned int i;
	int r;

	for (i = 0; i < nout; i++)
		want += out[i].iov_len;
	r = call(d, opcode, nodeid, in, nin, out, nout, &rep);
	if (r == 0 && rep.len != want) {
		d->transport_err = -EPROTO;
		return -EPROTO;
	}
	return r;
}

#define IOV(p, l) ((struct iovec){ .iov_base = (void *)(p), .iov_len = (l) })
#define NAME(s) IOV((s), strlen(s) + 1)

int fe_fuse_init(struct fe_dev *d, uint32_t minor, uint32_t flags,
		 struct fuse_init_out *out)
{
	struct fuse_init_in in = {
		.major = FUSE_KERNEL_VERSION,
		.minor = minor ? minor : FUSE_KERNEL_MINOR_VERSION,
		.max_readahead = 128 * 1024,
		.flags = flags,
	};
	struct fuse_init_out o;
	struct iovec iv = IOV(&in, sizeof(in)), ov = IOV(&o, sizeof(o));
	struct fe_reply rep;
	int r;

	memset(&o, 0, sizeof(o));
	r = call(d, FUSE_INIT, 0, &iv, 1, &ov, 1, &rep);
	if (r < 0)
		return r;
	/* Old servers answer the 7.22 compat size (24 bytes). */
	if (rep.len < 24 || rep.len > sizeof(o)) {
		d->transport_err = -EPROTO;
		return -EPROTO;
	}
	d->init = o;
	d->inited = true;
	if (out)
		*out = o;
	return 0;
}

int fe_lookup(struct fe_dev *d, uint64_t parent, const char *name,
	      struct fuse_entry_out *out)
{
	struct iovec iv = NAME(name), ov = IOV(out, sizeof(*out));
	int r;

	r = call_fixed(d, FUSE_LOOKUP, parent, &iv, 1, &ov, 1);
	/* A cacheable negative entry: success with nodeid 0 means ENOENT
	 * (as the kernel reads it). */
	if (r == 0 && out->nodeid == 0)
		return -ENOENT;
	return r;
}

int fe_forget(struct fe_dev *d, uint64_t nodeid, uint64_t nlookup)
{
	struct {
		struct fuse_in_header h;
		struct fuse_forget_in f;
	} msg = {
		.h = {
			.len = sizeof(msg),
			.opcode = FUSE_FORGET,
			.unique = fe_fuse_next_unique(d),
			.nodeid = nodeid,
		},
		.f = { .nlookup = nlookup },
	};
	struct fe_reply rep;
	int r;

	r = fe_fuse_call_raw(d, 0, &msg, sizeof(msg), NULL, 0, &rep);
	if (r < 0)
		d->transport_err = r;
	return r;
}

int fe_getattr(struct fe_dev *d, uint64_t nodeid, struct fuse_attr_out *out)
{
	struct fuse_getattr_in in = {0};
	struct iovec iv = IOV(&in, sizeof(in)), ov = IOV(out, sizeof(*out));

	return call_fixed(d, FUSE_GETATTR, nodeid, &iv, 1, &ov, 1);
}

int fe_setattr(struct fe_dev *d, uint64_t nodeid,
	       const struct fuse_setattr_in *in, struct fuse_attr_out *out)
{
	struct iovec iv = IOV(in, sizeof(*in)), ov = IOV(out, sizeof(*out));

	return call_fixed(d, FUSE_SETATTR, nodeid, &iv, 1, &ov, 1);
}

int fe_mkdir(struct fe_dev *d, uint64_t parent, const char *name,
	     uint32_t mode, struct fuse_entry_out *out)
{
	struct fuse_mkdir_in in = { .mode = mode, .umask = 0 };
	struct iovec iv[2] = { IOV(&in, sizeof(in)), NAME(name) };
	struct iovec ov = IOV(out, sizeof(*out));

	return call_fixed(d, FUSE_MKDIR, parent, iv, 2, &ov, 1);
}

int fe_create(struct fe_dev *d, uint64_t parent, const char *name,
	      uint32_t mode, uint32_t flags, struct fuse_entry_out *entry,
	      struct fuse_open_out *open)
{
	struct fuse_create_in in = { .flags = flags, .mode = mode };
	struct iovec iv[2] = { IOV(&in, sizeof(in)), NAME(name) };
	struct iovec ov[2] = { IOV(entry, sizeof(*entry)),
			       IOV(open, sizeof(*open)) };

	return call_fixed(d, FUSE_CREATE, parent, iv, 2, ov, 2);
}

static int open_common(struct fe_dev *d, uint32_t opcode, uint64_t nodeid,
		       uint32_t flags, struct fuse_open_out *out)
{
	struct fuse_open_in in = { .flags = flags };
	struct iovec iv = IOV(&in, sizeof(in)), ov = IOV(out, sizeof(*out));

	return call_fixed(d, opcode, nodeid, &iv, 1, &ov, 1);
}

int fe_open(struct fe_dev *d, uint64_t nodeid, uint32_t flags,
	    struct fuse_open_out *out)
{
	return open_common(d, FUSE_OPEN, nodeid, flags, out);
}

int fe_opendir(struct fe_dev *d, uint64_t nodeid, uint32_t flags,
	       struct fuse_open_out *out)
{
	return open_common(d, FUSE_OPENDIR, nodeid, flags, out);
}

static ssize_t read_common(struct fe_dev *d, uint32_t opcode,
			   uint64_t nodeid, uint64_t fh, uint64_t off,
			   void *buf, uint32_t size)
{
	struct fuse_read_in in = { .fh = fh, .offset = off, .size = size };
	struct iovec iv = IOV(&in, sizeof(in)), ov = IOV(buf, size);
	struct fe_reply rep;
	int r;

	r = call(d, opcode, nodeid, &iv, 1, &ov, 1, &rep);
	if (r < 0)
		return r;
	return rep.len;
}

ssize_t fe_read(struct fe_dev *d, uint64_t nodeid, uint64_t fh,
		uint64_t off, void *buf, uint32_t size)
{
	return read_common(d, FUSE_READ, nodeid, fh, off, buf, size);
}

ssize_t fe_readdir(struct fe_dev *d, uint64_t nodeid, uint64_t fh,
		   uint64_t off, void *buf, uint32_t size, bool plus)
{
	return read_common(d, plus ? FUSE_READDIRPLUS : FUSE_READDIR, nodeid,
			   fh, off, buf, size);
}

ssize_t fe_write(struct fe_dev *d, uint64_t nodeid, uint64_t fh,
		 uint64_t off, const void *buf, uint32_t size)
{
	struct fuse_write_in in = { .fh = fh, .offset = off, .size = size };
	struct fuse_write_out o = {0};
	struct iovec iv[2] = { IOV(&in, sizeof(in)), IOV(buf, size) };
	struct iovec ov = IOV(&o, sizeof(o));
	int r;

	r = call_fixed(d, FUSE_WRITE, nodeid, iv, 2, &ov, 1);
	if (r < 0)
		return r;
	if (o.size > size) {
		d->transport_err = -EPROTO;
		return -EPROTO;
	}
	return o.size;
}

static int release_common(struct fe_dev *d, uint32_t opcode,
			  uint64_t nodeid, uint64_t fh, uint32_t flags)
{
	struct fuse_release_in in = { .fh = fh, .flags = flags };
	struct iovec iv = IOV(&in, sizeof(in));

	return call_fixed(d, opcode, nodeid, &iv, 1, NULL, 0);
}

int fe_release(struct fe_dev *d, uint64_t nodeid, uint64_t fh,
	       uint32_t flags)
{
	return release_common(d, FUSE_RELEASE, nodeid, fh, flags);
}

int fe_releasedir(struct fe_dev *d, uint64_t nodeid, uint64_t fh)
{
	return release_common(d, FUSE_RELEASEDIR, nodeid, fh, 0);
}

int fe_unlink(struct fe_dev *d, uint64_t parent, const char *name)
{
	struct iovec iv = NAME(name);

	return call_fixed(d, FUSE_UNLINK, parent, &iv, 1, NULL, 0);
}

int fe_rmdir(struct fe_dev *d, uint64_t parent, const char *name)
{
	struct iovec iv = NAME(name);

	return call_fixed(d, FUSE_RMDIR, parent, &iv, 1, NULL, 0);
}

int fe_rename(struct fe_dev *d, uint64_t olddir, const char *oldname,
	      uint64_t newdir, const char *newname)
{
	struct fuse_rename_in in = { .newdir = newdir };
	struct iovec iv[3] = { IOV(&in, sizeof(in)), NAME(oldname),
			       NAME(newname) };

	return call_fixed(d, FUSE_RENAME, olddir, iv, 3, NULL, 0);
}

int fe_symlink(struct fe_dev *d, uint64_t parent, const char *name,
	       const char *target, struct fuse_entry_out *out)
{
	struct iovec iv[2] = { NAME(name), NAME(target) };
	struct iovec ov = IOV(out, sizeof(*out));

	return call_fixed(d, FUSE_SYMLINK, parent, iv, 2, &ov, 1);
}

ssize_t fe_readlink(struct fe_dev *d, uint64_t nodeid, char *buf,
		    uint32_t size)
{
	struct iovec ov = IOV(buf, size);
	struct fe_reply rep;
	int r;

	r = call(d, FUSE_READLINK, nodeid, NULL, 0, &ov, 1, &rep);
	if (r < 0)
		return r;
	return rep.len;
}

int fe_statfs(struct fe_dev *d, uint64_t nodeid, struct fuse_statfs_out *out)
{
	struct iovec ov = IOV(out, sizeof(*out));

	return call_fixed(d, FUSE_STATFS, nodeid, NULL, 0, &ov, 1);
}

int fe_fsync(struct fe_dev *d, uint64_t nodeid, uint64_t fh, bool datasync)
{
	struct fuse_fsync_in in = { .fh = fh, .fsync_flags = datasync ? 1 : 0 };
	struct iovec iv = IOV(&in, sizeof(in));

	return call_fixed(d, FUSE_FSYNC, nodeid, &iv, 1, NULL, 0);
}

int fe_flush(struct fe_dev *d, uint64_t nodeid, uint64_t fh)
{
	struct fuse_flush_in in = { .fh = fh };
	struct iovec iv = IOV(&in, sizeof(in));

	return call_fixed(d, FUSE_FLUSH, nodeid, &iv, 1, NULL, 0);
}

uint32_t fe_fuse_max_io(const struct fe_dev *d)
{
	uint64_t max = 128 * 1024, segs;

	if (d->inited) {
		uint64_t pages = (d->init.flags & FUSE_MAX_PAGES) &&
				 d->init.max_pages ? d->init.max_pages : 32;

		max = d->init.max_write;
		if (max > pages * 4096)
			max = pages * 4096;
	}
	/* Room in one chain, keeping a few segments for headers/args.  Like
	 * the guest kernel: a chain, indirect or not, never exceeds the
	 * queue size (virtio 1.1, 2.6.5.3.1). */
	segs = FE_MAX_SEGS - 4;
	if (segs > d->opts.queue_size - 4)
		segs = d->opts.queue_size - 4;
	if (d->opts.seg_max && max > segs * d->opts.seg_max)
		max = segs * d->opts.seg_max;
	if (!max)
		max = 4096;
	return (uint32_t)max;
}

ssize_t fe_write_all(struct fe_dev *d, uint64_t nodeid, uint64_t fh,
		     uint64_t off, const void *buf, size_t size)
{
	uint32_t chunk = fe_fuse_max_io(d);
	size_t done = 0;

	while (done < size) {
		size_t l = size - done < chunk ? size - done : chunk;
		ssize_t n;

		n = fe_write(d, nodeid, fh, off + done,
			     (const uint8_t *)buf + done, (uint32_t)l);
		if (n < 0)
			return n;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

ssize_t fe_read_all(struct fe_dev *d, uint64_t nodeid, uint64_t fh,
		    uint64_t off, void *buf, size_t size)
{
	uint32_t chunk = fe_fuse_max_io(d);
	size_t done = 0;

	while (done < size) {
		size_t l = size - done < chunk ? size - done : chunk;
		ssize_t n;

		n = fe_read(d, nodeid, fh, off + done, (uint8_t *)buf + done,
			    (uint32_t)l);
		if (n < 0)
			return n;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* ---- directories ---- */

const struct fuse_dirent *fe_dirent_next(const void *buf, size_t len,
					 size_t *pos, bool plus,
					 const struct fuse_entry_out **entry)
{
	const uint8_t *p = buf;
	size_t hdr = plus ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;
	const struct fuse_dirent *de;
	size_t rec;

	if (*pos >= len)
		return NULL;
	if (len - *pos < hdr)
		goto bad;
	if (plus) {
		const struct fuse_direntplus *dp = (const void *)(p + *pos);

		de = &dp->dirent;
		if (entry)
			*entry = &dp->entry_out;
	} else {
		de = (const void *)(p + *pos);
	}
	if (de->namelen == 0 || de->namelen > 4096)
		goto bad;
	rec = FUSE_DIRENT_ALIGN(hdr + de->namelen);
	if (rec > len - *pos)
		goto bad;
	*pos += rec;
	return de;
bad:
	*pos = SIZE_MAX;
	return NULL;
}

int fe_dir_has(struct fe_dev *d, uint64_t dir_nodeid, const char *name,
	       bool plus)
{
	struct fuse_open_out oo;
	uint64_t off = 0;
	size_t bufsz = 16384;
	uint8_t *buf;
	int found = 0, r;

	buf = malloc(bufsz);
	if (!buf)
		return -ENOMEM;
	r = fe_opendir(d, dir_nodeid, 0, &oo);
	if (r < 0)
		goto out;
	for (;;) {
		const struct fuse_entry_out *e = NULL;
		const struct fuse_dirent *de;
		ssize_t n;
		size_t pos = 0;

		n = fe_readdir(d, dir_nodeid, oo.fh, off, buf,
			       (uint32_t)bufsz, plus);
		if (n <= 0) {
			r = (int)n;
			break;
		}
		while ((de = fe_dirent_next(buf, (size_t)n, &pos, plus, &e))) {
			bool dot = (de->namelen == 1 && de->name[0] == '.') ||
				   (de->namelen == 2 && !memcmp(de->name, "..", 2));

			if (strlen(name) == de->namelen &&
			    !memcmp(de->name, name, de->namelen))
				found = 1;
			/* READDIRPLUS took a lookup reference, like
			 * LOOKUP: give it back as the kernel would. */
			if (plus && e && e->nodeid && !dot)
				fe_forget(d, e->nodeid, 1);
			off = de->off;
		}
		if (pos == SIZE_MAX) {
			r = -EPROTO;
			break;
		}
	}
	fe_releasedir(d, dir_nodeid, oo.fh);
out:
	free(buf);
	return r < 0 ? r : found;
}
