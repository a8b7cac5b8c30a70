// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Scatter-gather access for the FUSE engine: the request and reply buffers
 * may be split anywhere, across any number of iovecs.  Every access is
 * bounds-checked against the iovecs; nothing here trusts a length twice.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "server_internal.h"

size_t srv_iov_length(const struct iovec *iov, unsigned int cnt)
{
	size_t total = 0;

	for (unsigned int i = 0; i < cnt; i++) {
		/* Saturate: a length that large cannot be used anyway. */
		if (iov[i].iov_len > SIZE_MAX - total)
			return SIZE_MAX;
		total += iov[i].iov_len;
	}
	return total;
}

/* Find the iovec holding byte pos: index and offset inside it. */
static int iov_seek(const struct iovec *iov, unsigned int cnt, size_t pos,
		    unsigned int *idx, size_t *off)
{
	unsigned int i;

	for (i = 0; i < cnt && pos >= iov[i].iov_len; i++)
		pos -= iov[i].iov_len;
	*idx = i;
	*off = pos;
	return 0;
}

int srv_iov_read(const struct iovec *iov, unsigned int cnt, size_t pos,
		 void *dst, size_t len)
{
	uint8_t *d = dst;
	unsigned int i;
	size_t off;

	if (len == 0)
		return 0;
	iov_seek(iov, cnt, pos, &i, &off);
	for (; i < cnt && len > 0; i++, off = 0) {
		size_t n = iov[i].iov_len - off;

		if (n > len)
			n = len;
		memcpy(d, (const uint8_t *)iov[i].iov_base + off, n);
		d += n;
		len -= n;
	}
	return len == 0 ? 0 : -EINVAL;
}

int srv_iov_write(const struct iovec *iov, unsigned int cnt, size_t pos,
		  const void *src, size_t len)
{
	const uint8_t *s = src;
	unsigned int i;
	size_t off;

	/* Refuse before writing anything: no partial replies. */
	if (pos > srv_iov_length(iov, cnt) ||
	    len > srv_iov_length(iov, cnt) - pos)
		return -ERANGE;
	if (len == 0)
		return 0;
	iov_seek(iov, cnt, pos, &i, &off);
	for (; i < cnt && len > 0; i++, off = 0) {
		size_t n = iov[i].iov_len - off;

		if (n > len)
			n = len;
		memcpy((uint8_t *)iov[i].iov_base + off, s, n);
		s += n;
		len -= n;
	}
	return 0;
}

/* dst = the bytes [pos, pos + len) of iov, as at most dst_max iovecs.
 * Zero-length pieces are left out.  Returns the number of iovecs. */
int srv_iov_slice(const struct iovec *iov, unsigned int cnt, size_t pos,
		  size_t len, struct iovec *dst, unsigned int dst_max)
{
	unsigned int i, n = 0;
	size_t off;

	if (pos > srv_iov_length(iov, cnt) ||
	    len > srv_iov_length(iov, cnt) - pos)
		return -EINVAL;
	iov_seek(iov, cnt, pos, &i, &off);
	for (; i < cnt && len > 0; i++, off = 0) {
		size_t piece = iov[i].iov_len - off;

		if (piece == 0)
			continue;
		if (piece > len)
			piece = len;
		if (n == dst_max)
			return -EINVAL;
		dst[n].iov_base = (uint8_t *)iov[i].iov_base + off;
		dst[n].iov_len = piece;
		n++;
		len -= piece;
	}
	return n > INT_MAX ? -EINVAL : (int)n;
}

int srv_arg_string(struct argp *a, const char **s, size_t max)
{
	const uint8_t *nul = memchr(a->p, '\0', a->left);
	size_t len;

	if (!nul)
		return -EINVAL;
	len = (size_t)(nul - a->p);
	if (len == 0)
		return -EINVAL;
	if (len > max)
		return -ENAMETOOLONG;
	*s = (const char *)a->p;
	a->p += len + 1;
	a->left -= len + 1;
	return 0;
}

int srv_arg_name(struct argp *a, const char **name)
{
	const char *n;
	int r;

	r = srv_arg_string(a, &n, NAME_MAX);
	if (r < 0)
		return r;
	/* "." and ".." would let a guest walk out of a directory (".." of the
	 * shared root) or alias a node; the kernel never sends them. */
	if (strchr(n, '/') || strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
		return -EINVAL;
	*name = n;
	return 0;
}
