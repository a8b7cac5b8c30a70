/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * --xattrmap: translate extended attribute names between the guest
 * ("client") and the host ("server"), with virtiofsd's rule syntax:
 *
 *   :type:scope:key:prepend:    type  prefix | ok | bad | unsupported
 *                               scope client | server | all
 *   :map:key:prefix:            sugar for a set of rules; must be last
 *
 * The first character of a rule is its separator.  The first rule that
 * matches decides: a guest name matches when it starts with key, a host name
 * when it starts with prepend.  prefix adds prepend to a guest name and
 * strips it from a host name; ok passes the name unchanged; bad refuses a
 * guest name with EPERM and hides a host name; unsupported refuses with
 * ENOTSUP and hides.  A name no rule matches is refused (EPERM) / hidden.
 *
 * The parsed map is immutable: the mapping functions are thread-safe.
 */
#ifndef VFSD_XATTRMAP_H
#define VFSD_XATTRMAP_H

#include <stddef.h>
#include <sys/types.h>

struct xattrmap;

/* Longest rule set accepted, and longest key/prepend (a name's limit). */
#define XATTRMAP_MAX_RULES 64
#define XATTRMAP_NAME_MAX 255

/* 0 and *out, or -EINVAL with a one-line reason in why (no trailing
 * newline).  Does not print. */
int xattrmap_parse(const char *spec, struct xattrmap **out, char *why,
		   size_t whylen);
void xattrmap_free(struct xattrmap *map);

/* A guest name to the host name in out (outlen bytes with the NUL).
 * 0, -EPERM (bad or unmatched), -ENOTSUP (unsupported), -ERANGE (the
 * mapped name does not fit, or is longer than XATTRMAP_NAME_MAX). */
int xattrmap_to_host(const struct xattrmap *map, const char *name,
		     char *out, size_t outlen);

/* A host name to the guest's: 1 with the name in out, 0 when hidden,
 * -ERANGE when it does not fit. */
int xattrmap_to_guest(const struct xattrmap *map, const char *name,
		      char *out, size_t outlen);

/* A host listxattr() list (NUL-terminated names, len bytes) to the guest's
 * list in out (outlen bytes; outlen 0: only count).  Returns the guest
 * list's length, or -ERANGE when it does not fit in a non-zero outlen. */
ssize_t xattrmap_list_to_guest(const struct xattrmap *map, const char *list,
			       size_t len, char *out, size_t outlen);

#endif
