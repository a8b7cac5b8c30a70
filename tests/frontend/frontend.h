/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A vhost-user FRONT-END for tests and the benchmark: it plays the part of
 * QEMU (control socket, guest memory, split rings) and of the guest kernel's
 * virtio-fs driver (FUSE requests), against any vhost-user-fs back-end.
 *
 * It deliberately carries its own copy of the vhost-user constants and
 * message layouts instead of sharing the back-end's headers: a wrong value in
 * one place must not cancel out in the other.
 *
 * Layers, each usable on its own:
 *   fe_vu_*      raw control messages (any request, size, fds) and replies
 *   fe_dev_*     connection, QEMU-like handshake, teardown
 *   fe_mem_*     guest memory (memfd, 1 or 2 regions, bump allocator)
 *   fe_vq_*      split rings: chains, kick, used entries, raw access
 *   fe_req_* / fe_submit / fe_reap    asynchronous FUSE requests
 *   fe_fuse_call and the typed helpers (fe_lookup, fe_read, ...)  sync FUSE
 *   fe_backend_* spawn vfsd or virtiofsd on a temp socket/dir, kill it
 *
 * Errors are negative errno values.  Every wait is bounded by a timeout.
 * Guest physical addresses start at FE_GPA_BASE by default, so that they
 * never equal a host address or a memfd offset: a back-end that confuses the
 * two fails loudly.
 */
#ifndef VFSD_FRONTEND_H
#define VFSD_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <linux/fuse.h>
#include <linux/virtio_ring.h>

/* ---- vhost-user protocol (own copy, see above) ---- */

enum fe_vu_request {
	FE_VU_GET_FEATURES = 1,
	FE_VU_SET_FEATURES = 2,
	FE_VU_SET_OWNER = 3,
	FE_VU_RESET_OWNER = 4,
	FE_VU_SET_MEM_TABLE = 5,
	FE_VU_SET_LOG_BASE = 6,
	FE_VU_SET_LOG_FD = 7,
	FE_VU_SET_VRING_NUM = 8,
	FE_VU_SET_VRING_ADDR = 9,
	FE_VU_SET_VRING_BASE = 10,
	FE_VU_GET_VRING_BASE = 11,
	FE_VU_SET_VRING_KICK = 12,
	FE_VU_SET_VRING_CALL = 13,
	FE_VU_SET_VRING_ERR = 14,
	FE_VU_GET_PROTOCOL_FEATURES = 15,
	FE_VU_SET_PROTOCOL_FEATURES = 16,
	FE_VU_GET_QUEUE_NUM = 17,
	FE_VU_SET_VRING_ENABLE = 18,
	FE_VU_SEND_RARP = 19,
	FE_VU_NET_SET_MTU = 20,
	FE_VU_SET_BACKEND_REQ_FD = 21,
	FE_VU_IOTLB_MSG = 22,
	FE_VU_SET_VRING_ENDIAN = 23,
	FE_VU_GET_CONFIG = 24,
	FE_VU_SET_CONFIG = 25,
	FE_VU_GET_INFLIGHT_FD = 31,
	FE_VU_SET_INFLIGHT_FD = 32,
	FE_VU_RESET_DEVICE = 34,
	FE_VU_VRING_KICK = 35,
	FE_VU_GET_MAX_MEM_SLOTS = 36,
	FE_VU_ADD_MEM_REG = 37,
	FE_VU_REM_MEM_REG = 38,
	FE_VU_SET_STATUS = 39,
	FE_VU_GET_STATUS = 40,
};

#define FE_VU_VERSION 0x1u
#define FE_VU_VERSION_MASK 0x3u
#define FE_VU_FLAG_REPLY (1u << 2)
#define FE_VU_FLAG_NEED_REPLY (1u << 3)
#define FE_VU_MAX_FDS 8           /* fds in one message (QEMU's limit) */
#define FE_VU_MAX_PAYLOAD 4096    /* what fe_vu_recv accepts */
#define FE_VU_MEM_REGIONS 8       /* regions in one SET_MEM_TABLE */
#define FE_VU_VRING_IDX_MASK 0xffu
#define FE_VU_VRING_NOFD (1ull << 8)

/* Virtio device feature bits (bit numbers) */
#define FE_VU_F_PROTOCOL_FEATURES 30

/* Protocol feature bits (bit numbers) */
#define FE_VU_PROTO_MQ 0
#define FE_VU_PROTO_LOG_SHMFD 1
#define FE_VU_PROTO_REPLY_ACK 3
#define FE_VU_PROTO_BACKEND_REQ 5
#define FE_VU_PROTO_CONFIG 9
#define FE_VU_PROTO_INFLIGHT_SHMFD 12
#define FE_VU_PROTO_RESET_DEVICE 13
#define FE_VU_PROTO_INBAND_NOTIFICATIONS 14
#define FE_VU_PROTO_CONFIGURE_MEM_SLOTS 15
#define FE_VU_PROTO_STATUS 16

struct fe_vu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;                  /* payload bytes after the header */
};

struct fe_vu_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uaddr;                 /* front-end virtual address */
	uint64_t mmap_offset;
};

struct fe_vu_mem {
	uint32_t nregions;
	uint32_t padding;
	struct fe_vu_region regions[FE_VU_MEM_REGIONS];
};

struct fe_vu_mem_reg {                  /* ADD_MEM_REG / REM_MEM_REG */
	uint64_t padding;
	struct fe_vu_region region;
};

struct fe_vu_state {
	uint32_t index;
	uint32_t num;
};

struct fe_vu_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc;                  /* front-end virtual addresses */
	uint64_t used;
	uint64_t avail;
	uint64_t log;
};

/* A received message.  Payload is whatever the peer sent (up to
 * FE_VU_MAX_PAYLOAD); fds received with it are owned by the message
 * (fe_vu_msg_close_fds). */
struct fe_vu_msg {
	struct fe_vu_hdr hdr;
	union {
		uint64_t u64;
		struct fe_vu_state state;
		struct fe_vu_addr addr;
		struct fe_vu_mem mem;
		struct fe_vu_mem_reg mem_reg;
		uint8_t raw[FE_VU_MAX_PAYLOAD];
	} payload;
	int fds[FE_VU_MAX_FDS];
	unsigned int nfds;
};

/* ---- options ---- */

#define FE_GPA_BASE 0x100000000ull           /* 4 GiB */
#define FE_REGION_GAP 0x40000000ull          /* hole between regions */
#define FE_DEFAULT_MEM_SIZE (64u << 20)
#define FE_DEFAULT_QUEUE_SIZE 128u
#define FE_DEFAULT_TIMEOUT_MS 5000
#define FE_MAX_QUEUES 16
#define FE_MAX_SEGS 512                      /* segments in one chain */

struct fe_opts {
	size_t mem_size;            /* guest memory; 0: 64 MiB */
	unsigned int mem_regions;   /* 1 or 2; 0: 1 */
	uint64_t gpa_base;          /* 0: FE_GPA_BASE */
	unsigned int num_queues;    /* vrings incl. hiprio; 0: 2 */
	unsigned int queue_size;    /* power of two; 0: 128 */
	bool event_idx;             /* negotiate VIRTIO_RING_F_EVENT_IDX */
	bool indirect;              /* negotiate INDIRECT_DESC and use it */
	bool no_reply_ack;          /* do not negotiate REPLY_ACK */
	bool busy_poll;             /* reap by spinning on used->idx */
	uint32_t seg_max;           /* split data buffers into descriptors of
				     * at most this many bytes (kernel: 4096);
				     * 0: one descriptor per buffer */
	int timeout_ms;             /* every wait; 0: $FE_TIMEOUT_MS or 5000 */
};

struct fe_dev;
struct fe_vq;

/* ---- connection and handshake ---- */

/* Connect to a back-end (retrying ECONNREFUSED/ENOENT until the timeout,
 * because the socket file appears before listen()) and create guest memory.
 * Sends nothing.  opts may be NULL. */
int fe_dev_connect(struct fe_dev **out, const char *sock_path,
		   const struct fe_opts *opts);
/* Wrap an already connected socket (taken over). */
int fe_dev_from_fd(struct fe_dev **out, int fd, const struct fe_opts *opts);

/* The QEMU order, in steps (hostile tests stop between them):
 *   negotiate:  GET_FEATURES, GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES,
 *               GET_QUEUE_NUM (if MQ), SET_OWNER, SET_FEATURES
 *   mem table:  SET_MEM_TABLE (memfd per region, SCM_RIGHTS)
 *   per queue:  SET_VRING_NUM, SET_VRING_BASE 0, SET_VRING_ADDR,
 *               SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ENABLE 1 */
int fe_dev_negotiate(struct fe_dev *d);
int fe_dev_set_mem_table(struct fe_dev *d);
int fe_dev_setup_queue(struct fe_dev *d, unsigned int qidx);
int fe_dev_handshake(struct fe_dev *d);
/* Without REPLY_ACK: a GET_FEATURES round trip, so that every message sent
 * before has been handled (QEMU's enforce_reply).  No-op with REPLY_ACK. */
int fe_dev_sync(struct fe_dev *d);
/* connect + handshake */
int fe_dev_open(struct fe_dev **out, const char *sock_path,
		const struct fe_opts *opts);

/* SET_VRING_ENABLE 0 then GET_VRING_BASE for every set-up queue (QEMU's
 * vhost_dev_stop).  Stores each ring's base (fe_vq_base). */
int fe_dev_stop(struct fe_dev *d);
/* Stop (if the connection still works), close the socket and free.
 * Accepts NULL. */
void fe_dev_close(struct fe_dev *d);
/* A guest reboot as QEMU drives it: stop (GET_VRING_BASE), reset the rings
 * to index 0, then SET_FEATURES, SET_MEM_TABLE and set every queue up
 * again.  The guest must send FUSE_INIT afterwards. */
int fe_dev_restart(struct fe_dev *d);
/* Close without any message (abrupt disconnect) and free. */
void fe_dev_abort(struct fe_dev *d);

int fe_dev_sock(const struct fe_dev *d);
int fe_dev_timeout(const struct fe_dev *d);
const struct fe_opts *fe_dev_opts(const struct fe_dev *d);
uint64_t fe_dev_features(const struct fe_dev *d);        /* negotiated */
uint64_t fe_dev_features_offered(const struct fe_dev *d);
uint64_t fe_dev_protocol_features(const struct fe_dev *d); /* negotiated */
uint64_t fe_dev_protocol_offered(const struct fe_dev *d);
unsigned int fe_dev_queue_num_offered(const struct fe_dev *d); /* 0: no MQ */
unsigned int fe_dev_num_queues(const struct fe_dev *d);
struct fe_vq *fe_dev_vq(struct fe_dev *d, unsigned int qidx);
/* Is the control connection still open (no EOF/HUP pending)? */
bool fe_dev_connected(struct fe_dev *d);

/* ---- raw control messages ---- */

/* Send one message with a header claiming `size` bytes and exactly
 * payload_len payload bytes (they may differ: hostile tests). */
int fe_vu_send(struct fe_dev *d, uint32_t request, uint32_t flags,
	       uint32_t size, const void *payload, size_t payload_len,
	       const int *fds, unsigned int nfds);
/* Send arbitrary bytes (header included) with fds in the first sendmsg. */
int fe_vu_send_raw(struct fe_dev *d, const void *buf, size_t len,
		   const int *fds, unsigned int nfds);
/* Receive one message.  -ETIMEDOUT, -ECONNRESET on EOF, -EMSGSIZE when the
 * payload is larger than FE_VU_MAX_PAYLOAD. */
int fe_vu_recv(struct fe_dev *d, struct fe_vu_msg *m, int timeout_ms);
void fe_vu_msg_close_fds(struct fe_vu_msg *m);
/* Does this request get a reply even without NEED_REPLY? */
bool fe_vu_request_has_reply(uint32_t request);
/* Send a well-formed request; read its reply when it has one, or its ack
 * when REPLY_ACK is negotiated (NEED_REPLY is then set).  A nonzero ack gives
 * -EREMOTEIO.  reply may be NULL. */
int fe_vu_call(struct fe_dev *d, uint32_t request, const void *payload,
	       uint32_t size, const int *fds, unsigned int nfds,
	       struct fe_vu_msg *reply);
int fe_vu_get_u64(struct fe_dev *d, uint32_t request, uint64_t *val);
int fe_vu_set_u64(struct fe_dev *d, uint32_t request, uint64_t val);

/* ---- guest memory ---- */

/* Zeroed, aligned (power of two) allocation; NULL when memory is full.
 * Allocations never straddle two regions. */
void *fe_mem_alloc(struct fe_dev *d, size_t len, size_t align);
/* Bump-allocator mark/release: everything allocated after the mark is
 * freed by release. */
size_t fe_mem_mark(const struct fe_dev *d);
void fe_mem_release(struct fe_dev *d, size_t mark);
/* Move the allocator to the start of region `r` (if it is not past it). */
int fe_mem_use_region(struct fe_dev *d, unsigned int r);
/* Translations; UINT64_MAX / NULL when outside guest memory. */
uint64_t fe_mem_gpa(const struct fe_dev *d, const void *host);
void *fe_mem_host(const struct fe_dev *d, uint64_t gpa, size_t len);
uint64_t fe_mem_uaddr(const struct fe_dev *d, const void *host);
unsigned int fe_mem_nregions(const struct fe_dev *d);
const struct fe_vu_region *fe_mem_region(const struct fe_dev *d,
					 unsigned int r);
int fe_mem_fd(const struct fe_dev *d);

/* ---- split rings ---- */

struct fe_seg {
	void *addr;                 /* inside guest memory */
	uint32_t len;
	bool writable;              /* device-writable */
};

/* Add a chain (caller orders readable before writable; the ring does not
 * check, hostile tests use that).  Uses an indirect table when the device
 * was opened with opts.indirect and nseg > 1.  Returns the head index or
 * -ENOSPC (no free descriptors), -E2BIG (nseg > queue size), -EINVAL.
 * Publishes into the avail ring; does not kick. */
int fe_vq_add(struct fe_vq *q, const struct fe_seg *seg, unsigned int nseg,
	      void *token);
/* Notify the back-end if it wants it (EVENT_IDX avail_event or
 * VRING_USED_F_NO_NOTIFY); fe_vq_kick_force always writes the eventfd. */
int fe_vq_kick(struct fe_vq *q);
int fe_vq_kick_force(struct fe_vq *q);
/* Take one used entry: 1 with token/len, 0 if none, -EPROTO when the
 * back-end returned an id that is not in flight. */
int fe_vq_get(struct fe_vq *q, void **token, uint32_t *len);
/* Wait until a used entry is pending: 0, or -ETIMEDOUT.  timeout_ms < 0:
 * the device's timeout. */
int fe_vq_wait(struct fe_vq *q, int timeout_ms);
unsigned int fe_vq_inflight(const struct fe_vq *q);
unsigned int fe_vq_size(const struct fe_vq *q);
unsigned int fe_vq_index(const struct fe_vq *q);
int fe_vq_kick_fd(const struct fe_vq *q);
int fe_vq_call_fd(const struct fe_vq *q);
uint16_t fe_vq_base(const struct fe_vq *q);   /* from GET_VRING_BASE */
/* Raw ring access for hostile tests. */
struct vring_desc *fe_vq_desc(struct fe_vq *q);
struct vring_avail *fe_vq_avail(struct fe_vq *q);
struct vring_used *fe_vq_used(struct fe_vq *q);
/* Put `head` in the next avail slot and bump avail->idx (release order),
 * without touching the free list. */
void fe_vq_publish_raw(struct fe_vq *q, uint16_t head);
void fe_vq_set_avail_idx(struct fe_vq *q, uint16_t idx);
uint16_t fe_vq_used_idx(const struct fe_vq *q);

/* ---- FUSE: asynchronous requests ---- */

/* One FUSE request with its guest buffers, reusable.  Chain layout, like the
 * kernel's virtio_fs.c: readable [in (header + args)] [data if !data_out],
 * writable [out (out header + reply args)] [data if data_out]. */
struct fe_req {
	uint8_t *in;                /* guest memory */
	size_t in_cap;
	size_t in_len;              /* set by fe_req_prepare */
	uint8_t *out;               /* guest memory */
	size_t out_cap;
	size_t out_len;             /* bytes of out posted; 0: out_cap */
	uint8_t *data;              /* optional, guest memory */
	size_t data_len;
	bool data_out;              /* data is device-writable (READ) */
	uint64_t unique;
	uint32_t used_len;          /* set on completion */
	void *opaque;               /* caller's */
};

/* The reply as parsed from the out buffer. */
struct fe_reply {
	int32_t error;              /* fuse_out_header.error (0 or -errno) */
	uint32_t len;               /* payload bytes after the out header */
	uint64_t unique;
	uint32_t used_len;          /* what the back-end put in the used ring */
};

/* Allocate a request (host memory, fe_req_free) with its buffers in guest
 * memory (given back only by fe_mem_release).  data_cap may be 0. */
struct fe_req *fe_req_new(struct fe_dev *d, size_t in_cap, size_t out_cap,
			  size_t data_cap);
void fe_req_free(struct fe_req *r);
/* Fill in header + args; assigns a fresh unique; len = header + args +
 * (readable data_len). */
int fe_req_prepare(struct fe_dev *d, struct fe_req *r, uint32_t opcode,
		   uint64_t nodeid, const void *arg, size_t arg_len);
int fe_submit(struct fe_dev *d, unsigned int qidx, struct fe_req *r);
int fe_kick(struct fe_dev *d, unsigned int qidx);
/* 1 with *done, 0 on timeout (timeout_ms 0: do not wait), -errno. */
int fe_reap(struct fe_dev *d, unsigned int qidx, struct fe_req **done,
	    int timeout_ms);
/* Check the out header: used_len >= header, header len == used_len, unique
 * matches, error in range (and no payload with an error).  0 or -EPROTO;
 * rep is filled as far as it could be parsed. */
int fe_req_reply(const struct fe_req *r, struct fe_reply *rep);

/* ---- FUSE: synchronous calls ---- */

/* Request queue used by the typed helpers (default 1). */
void fe_fuse_set_queue(struct fe_dev *d, unsigned int qidx);
/* Build fuse_in_header + in[] (each its own readable segment, like the
 * kernel), out header + out[] writable; submit on qidx, wait, copy reply args
 * back into out[].  Returns 0 when a well-formed reply arrived (rep->error
 * holds the FUSE result) or a transport error: -ETIMEDOUT, -EPROTO
 * (malformed reply), -ENOMEM (guest memory full). */
int fe_fuse_call(struct fe_dev *d, unsigned int qidx, uint32_t opcode,
		 uint64_t nodeid, const struct iovec *in, unsigned int nin,
		 const struct iovec *out, unsigned int nout,
		 struct fe_reply *rep);
/* Send `req` bytes verbatim as the readable part (no header patching) and
 * post reply_cap writable bytes; copy the reply into reply (may be NULL).
 * 0 when a used entry came back (rep filled, rep->used_len may be anything,
 * rep->error is valid only if used_len >= sizeof(fuse_out_header)). */
int fe_fuse_call_raw(struct fe_dev *d, unsigned int qidx, const void *req,
		     size_t req_len, void *reply, size_t reply_cap,
		     struct fe_reply *rep);
uint64_t fe_fuse_next_unique(struct fe_dev *d);
/* The caller's ids in every later fuse_in_header (default: the test
 * process's real ids, and its pid, each looked up per request: three
 * syscalls); the pid becomes the calling process's at the time of this
 * call.  fe_fuse_reset_caller goes back to the default. */
void fe_fuse_set_caller(struct fe_dev *d, uint32_t uid, uint32_t gid);
void fe_fuse_reset_caller(struct fe_dev *d);
/* Set by the last transport failure of a typed helper (0 if none). */
int fe_fuse_transport_error(const struct fe_dev *d);

/* Typed helpers: return the FUSE error (0 or -errno), byte counts for
 * read/write/readdir/readlink; a transport failure is also returned as a
 * negative value and recorded in fe_fuse_transport_error. */
/* What a recent Linux guest asks for (minus DAX and locks); POSIX ACLs
 * (with SETXATTR_EXT) as Linux does, so --posix-acl=always serves it. */
#define FE_INIT_FLAGS_DEFAULT \
	(FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC | FUSE_EXPORT_SUPPORT | \
	 FUSE_BIG_WRITES | FUSE_DONT_MASK | FUSE_AUTO_INVAL_DATA | \
	 FUSE_POSIX_ACL | FUSE_SETXATTR_EXT | \
	 FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO | FUSE_ASYNC_DIO | \
	 FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES | \
	 FUSE_CACHE_SYMLINKS | FUSE_INIT_EXT)
/* minor 0: FUSE_KERNEL_MINOR_VERSION of the installed header. */
int fe_fuse_init(struct fe_dev *d, uint32_t minor, uint32_t flags,
		 struct fuse_init_out *out);
/* A negative entry (success with nodeid 0) is returned as -ENOENT. */
int fe_lookup(struct fe_dev *d, uint64_t parent, const char *name,
	      struct fuse_entry_out *out);
/* FORGET on the hiprio queue 0: waits only for the used entry. */
int fe_forget(struct fe_dev *d, uint64_t nodeid, uint64_t nlookup);
int fe_getattr(struct fe_dev *d, uint64_t nodeid, struct fuse_attr_out *out);
int fe_setattr(struct fe_dev *d, uint64_t nodeid,
	       const struct fuse_setattr_in *in, struct fuse_attr_out *out);
int fe_mkdir(struct fe_dev *d, uint64_t parent, const char *name,
	     uint32_t mode, struct fuse_entry_out *out);
int fe_create(struct fe_dev *d, uint64_t parent, const char *name,
	      uint32_t mode, uint32_t flags, struct fuse_entry_out *entry,
	      struct fuse_open_out *open);
int fe_open(struct fe_dev *d, uint64_t nodeid, uint32_t flags,
	    struct fuse_open_out *out);
int fe_opendir(struct fe_dev *d, uint64_t nodeid, uint32_t flags,
	       struct fuse_open_out *out);
ssize_t fe_read(struct fe_dev *d, uint64_t nodeid, uint64_t fh,
		uint64_t off, void *buf, uint32_t size);
ssize_t fe_write(struct fe_dev *d, uint64_t nodeid, uint64_t fh,
		 uint64_t off, const void *buf, uint32_t size);
int fe_release(struct fe_dev *d, uint64_t nodeid, uint64_t fh,
	       uint32_t flags);
int fe_releasedir(struct fe_dev *d, uint64_t nodeid, uint64_t fh);
int fe_unlink(struct fe_dev *d, uint64_t parent, const char *name);
int fe_rmdir(struct fe_dev *d, uint64_t parent, const char *name);
ssize_t fe_readdir(struct fe_dev *d, uint64_t nodeid, uint64_t fh,
		   uint64_t off, void *buf, uint32_t size, bool plus);
int fe_rename(struct fe_dev *d, uint64_t olddir, const char *oldname,
	      uint64_t newdir, const char *newname);
int fe_symlink(struct fe_dev *d, uint64_t parent, const char *name,
	       const char *target, struct fuse_entry_out *out);
ssize_t fe_readlink(struct fe_dev *d, uint64_t nodeid, char *buf,
		    uint32_t size);
int fe_statfs(struct fe_dev *d, uint64_t nodeid, struct fuse_statfs_out *out);
int fe_fsync(struct fe_dev *d, uint64_t nodeid, uint64_t fh, bool datasync);
int fe_flush(struct fe_dev *d, uint64_t nodeid, uint64_t fh);

/* Largest READ/WRITE payload for one request: min(init max_write /
 * max_pages, what fits in a chain), or 128 KiB before INIT. */
uint32_t fe_fuse_max_io(const struct fe_dev *d);
/* Whole-buffer loops over fe_read/fe_write; short read at EOF is fine. */
ssize_t fe_write_all(struct fe_dev *d, uint64_t nodeid, uint64_t fh,
		     uint64_t off, const void *buf, size_t size);
ssize_t fe_read_all(struct fe_dev *d, uint64_t nodeid, uint64_t fh,
		    uint64_t off, void *buf, size_t size);

/* Iterate over READDIR(PLUS) output.  *pos starts at 0; returns the next
 * dirent (and its entry_out for PLUS) or NULL at the end or on a malformed
 * record (then *pos is set to SIZE_MAX). */
const struct fuse_dirent *fe_dirent_next(const void *buf, size_t len,
					 size_t *pos, bool plus,
					 const struct fuse_entry_out **entry);
/* Read a whole directory (opendir, readdir loop, releasedir) and tell
 * whether `name` is in it: 1, 0, or -errno. */
int fe_dir_has(struct fe_dev *d, uint64_t dir_nodeid, const char *name,
	       bool plus);

/* ---- back-end processes ---- */

enum fe_backend_kind {
	FE_BACKEND_VFSD,            /* --socket-path= --shared-dir= */
	FE_BACKEND_VIRTIOFSD,       /* --socket-path= -o source= -o cache=auto */
};

#define FE_VIRTIOFSD_PATH "/usr/lib/qemu/virtiofsd"

struct fe_backend {
	pid_t pid;                  /* 0 when not running */
	enum fe_backend_kind kind;
	int status;                 /* wait status once exited */
	bool exited;
	char tmpdir[128];           /* removed by fe_backend_cleanup */
	char shared[160];           /* tmpdir/shared */
	char sock[160];             /* tmpdir/vhost.sock */
	char log[160];              /* tmpdir/backend.log: its stdout+stderr */
};

/* Create a temp dir with shared/ and spawn exe (in its own process group)
 * on tmpdir/vhost.sock; wait (bounded) until the socket file exists.
 * extra_args (NULL-terminated, may be NULL) are appended. */
int fe_backend_start(struct fe_backend *b, const char *exe,
		     enum fe_backend_kind kind, const char *const *extra_args,
		     int timeout_ms);
/* Still running?  Records the status when it exited. */
bool fe_backend_alive(struct fe_backend *b);
/* Wait up to timeout_ms for it to exit by itself: 0 or -ETIMEDOUT. */
int fe_backend_wait(struct fe_backend *b, int timeout_ms);
/* SIGTERM, then SIGKILL after timeout_ms; reaps.  Returns the wait status,
 * or -errno. */
int fe_backend_stop(struct fe_backend *b, int timeout_ms);
/* Stop if running and remove the temp dir.  Safe to call twice. */
void fe_backend_cleanup(struct fe_backend *b);
/* Copy the back-end's log to stderr (for failing tests). */
void fe_backend_dump_log(const struct fe_backend *b);
/* Does its log contain an AddressSanitizer error or a UBSan "runtime
 * error" (leak reports at exit are not counted)?  Copies the first such
 * line into line (may be NULL). */
bool fe_backend_sanitizer_report(const struct fe_backend *b, char *line,
				 size_t len);
/* Did it die from a signal or a sanitizer/abort exit code? */
bool fe_backend_crashed(const struct fe_backend *b);
/* Open fds of the process that serves (fe_server_pid(pid)), or -errno. */
int fe_count_fds(pid_t pid);
/* The process that serves: vfsd's only child when it runs in a pid
 * namespace of its own (pid stays outside as its supervisor), else pid.
 * The child exists once the sandbox is entered, i.e. before the first
 * request is answered. */
pid_t fe_server_pid(pid_t pid);
/* CLOCK_MONOTONIC in milliseconds. */
int64_t fe_now_ms(void);
/* Path join into tmp dirs; returns buf. */
char *fe_path(char *buf, size_t len, const char *dir, const char *name);
/* rm -rf (no symlink following). */
int fe_rmtree(const char *path);

#endif
