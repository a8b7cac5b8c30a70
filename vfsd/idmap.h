/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * UID/GID translation inside the daemon (--translate-uid, --translate-gid),
 * with virtiofsd's (1.11+) syntax and meaning.  One map translates one kind
 * of id (uids or gids), in two independent directions:
 *
 *   guest:G:H:N         guest ids [G, G+N) -> host ids [H, H+N)
 *   host:H:G:N          host ids [H, H+N)  -> guest ids [G, G+N)
 *   map:G:H:N           both of the above
 *   squash-guest:G:H:N  guest ids [G, G+N) -> the one host id H
 *   squash-host:H:G:N   host ids [H, H+N)  -> the one guest id G
 *   forbid-guest:G:N    guest ids [G, G+N) are refused (EPERM)
 *
 * The type is case-insensitive; the separator is the first character that
 * is not a letter, digit, '-' or '_' (':' above), the same one throughout.
 * Numbers are decimal u32; G+N and H+N must not exceed 2^32 - 1.  Within one
 * direction, ranges must not overlap (an error names the entry).  An id no
 * entry covers maps to itself.
 *
 * The FUSE engine applies a map at one place each way: the caller's ids and
 * SETATTR's uid/gid on the way in, every attribute it replies with on the
 * way out (server.c, server_node.c).
 */
#ifndef VFSD_IDMAP_H
#define VFSD_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct idmap;

/* Check one spec's syntax; on error -EINVAL and why. */
int idmap_check_spec(const char *spec, char *why, size_t why_len);
/* Build a map from n specs (NULL specs and n == 0: an identity map is
 * still returned).  On error -EINVAL with why naming the spec. */
int idmap_new(struct idmap **out, const char *const *specs, unsigned int n,
	      char *why, size_t why_len);
void idmap_free(struct idmap *map);

/* Guest id to host id: 0, or -EPERM for a forbid-guest id.  map may be
 * NULL (identity). */
int idmap_to_host(const struct idmap *map, uint32_t guest, uint32_t *host);
/* Host id to guest id; never fails. */
uint32_t idmap_to_guest(const struct idmap *map, uint32_t host);

#endif
