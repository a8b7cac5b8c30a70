// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * --xattrmap rules: parsing and name translation (see xattrmap.h).
 *
 * Behaviour follows virtiofsd's documented semantics, including the
 * expansion of the "map" sugar and the implicit final rule that refuses
 * (guest side) or hides (host side) every name no rule matched.
 */
#include "xattrmap.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum xm_type {
	XM_PREFIX,
	XM_OK,
	XM_BAD,
	XM_UNSUPPORTED,
};

#define XM_CLIENT (1u << 0)
#define XM_SERVER (1u << 1)
#define XM_ALL    (XM_CLIENT | XM_SERVER)

struct xm_rule {
	enum xm_type type;
	unsigned int scope;
	char key[XATTRMAP_NAME_MAX + 1];
	char prepend[XATTRMAP_NAME_MAX + 1];
};

struct xattrmap {
	unsigned int n;
	/* + the implicit terminator, + up to 3 more from "map" */
	struct xm_rule rules[XATTRMAP_MAX_RULES + 4];
};

struct cursor {
	const char *p;
	char *why;
	size_t whylen;
};

static int fail(struct cursor *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct cursor *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, c->whylen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* The field up to the next sep into out; the cursor moves past sep. */
static int field(struct cursor *c, char sep, char *out, size_t outlen,
		 const char *what)
{
	const char *end = strchr(c->p, sep);
	size_t len;

	if (!end)
		return fail(c, "missing separator after the %s field", what);
	len = (size_t)(end - c->p);
	if (len >= outlen)
		return fail(c, "%s field too long", what);
	memcpy(out, c->p, len);
	out[len] = '\0';
	c->p = end + 1;
	return 0;
}

static struct xm_rule *add(struct xattrmap *m, enum xm_type type,
			   unsigned int scope, const char *key,
			   const char *prepend)
{
	struct xm_rule *r = &m->rules[m->n++];

	r->type = type;
	r->scope = scope;
	snprintf(r->key, sizeof(r->key), "%s", key);
	snprintf(r->prepend, sizeof(r->prepend), "%s", prepend);
	return r;
}

/* ":map:key:prefix:" in virtiofsd's words: prefix what matches key (or
 * everything), hide host names outside the mapping, stop the guest from
 * reaching prefixed names directly, let the rest through. */
static void add_map(struct xattrmap *m, const char *key, const char *prefix)
{
	add(m, XM_PREFIX, XM_ALL, key, prefix);
	if (!*key) {
		add(m, XM_BAD, XM_ALL, "", "");
		return;
	}
	add(m, XM_BAD, XM_SERVER, "", key);
	add(m, XM_BAD, XM_CLIENT, prefix, "");
	add(m, XM_OK, XM_ALL, "", "");
}

static int parse_type(struct cursor *c, const char *s, enum xm_type *out,
		      bool *map)
{
	*map = false;
	if (!strcmp(s, "prefix"))
		*out = XM_PREFIX;
	else if (!strcmp(s, "ok"))
		*out = XM_OK;
	else if (!strcmp(s, "bad"))
		*out = XM_BAD;
	else if (!strcmp(s, "unsupported"))
		*out = XM_UNSUPPORTED;
	else if (!strcmp(s, "map"))
		*map = true;
	else
		return fail(c, "unknown rule type '%s'", s);
	return 0;
}

static int parse_scope(struct cursor *c, const char *s, unsigned int *out)
{
	if (!strcmp(s, "client"))
		*out = XM_CLIENT;
	else if (!strcmp(s, "server"))
		*out = XM_SERVER;
	else if (!strcmp(s, "all"))
		*out = XM_ALL;
	else
		return fail(c, "unknown scope '%s'", s);
	return 0;
}

static void skip_space(struct cursor *c)
{
	while (*c->p && isspace((unsigned char)*c->p))
		c->p++;
}

static int parse_rule(struct cursor *c, struct xattrmap *m, bool *last)
{
	char type[16], scope[16];
	char key[XATTRMAP_NAME_MAX + 1], prepend[XATTRMAP_NAME_MAX + 1];
	enum xm_type t = XM_OK;
	unsigned int sc = 0;
	bool map = false;
	char sep = *c->p++;
	int r;

	if (m->n >= XATTRMAP_MAX_RULES)
		return fail(c, "more than %d rules", XATTRMAP_MAX_RULES);
	r = field(c, sep, type, sizeof(type), "type");
	if (r == 0)
		r = parse_type(c, type, &t, &map);
	if (r < 0)
		return r;
	if (map) {
		r = field(c, sep, key, sizeof(key), "key");
		if (r == 0)
			r = field(c, sep, prepend, sizeof(prepend), "prefix");
		if (r < 0)
			return r;
		add_map(m, key, prepend);
		*last = true;
		return 0;
	}
	r = field(c, sep, scope, sizeof(scope), "scope");
	if (r == 0)
		r = parse_scope(c, scope, &sc);
	if (r == 0)
		r = field(c, sep, key, sizeof(key), "key");
	if (r == 0)
		r = field(c, sep, prepend, sizeof(prepend), "prepend");
	if (r < 0)
		return r;
	add(m, t, sc, key, prepend);
	return 0;
}

int xattrmap_parse(const char *spec, struct xattrmap **out, char *why,
		   size_t whylen)
{
	struct cursor c = { .p = spec, .why = why, .whylen = whylen };
	struct xattrmap *m;
	bool last = false;
	int r;

	if (!spec)
		return fail(&c, "no rules");
	m = calloc(1, sizeof(*m));
	if (!m)
		return fail(&c, "out of memory");
	for (;;) {
		skip_space(&c);
		if (!*c.p)
			break;
		if (last) {
			free(m);
			return fail(&c, "a 'map' rule must be the last rule");
		}
		r = parse_rule(&c, m, &last);
		if (r < 0) {
			free(m);
			return r;
		}
	}
	if (m->n == 0) {
		free(m);
		return fail(&c, "no rules");
	}
	/* The implicit end: what no rule matched is refused and hidden. */
	add(m, XM_BAD, XM_ALL, "", "");
	*out = m;
	return 0;
}

void xattrmap_free(struct xattrmap *map)
{
	free(map);
}

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int copy_name(char *out, size_t outlen, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la + lb > XATTRMAP_NAME_MAX || la + lb + 1 > outlen)
		return -ERANGE;
	memcpy(out, a, la);
	memcpy(out + la, b, lb + 1);
	return 0;
}

int xattrmap_to_host(const struct xattrmap *map, const char *name,
		     char *out, size_t outlen)
{
	for (unsigned int i = 0; i < map->n; i++) {
		const struct xm_rule *r = &map->rules[i];

		if (!(r->scope & XM_CLIENT) || !starts(name, r->key))
			continue;
		switch (r->type) {
		case XM_PREFIX:
			return copy_name(out, outlen, r->prepend, name);
		case XM_OK:
			return copy_name(out, outlen, "", name);
		case XM_BAD:
			return -EPERM;
		case XM_UNSUPPORTED:
			return -ENOTSUP;
		}
	}
	return -EPERM;  /* not reached: the terminator matches everything */
}

int xattrmap_to_guest(const struct xattrmap *map, const char *name,
		      char *out, size_t outlen)
{
	for (unsigned int i = 0; i < map->n; i++) {
		const struct xm_rule *r = &map->rules[i];
		int ret;

		if (!(r->scope & XM_SERVER) || !starts(name, r->prepend))
			continue;
		switch (r->type) {
		case XM_PREFIX:
			ret = copy_name(out, outlen, "",
					name + strlen(r->prepend));
			/* Stripping everything leaves no name: hide it. */
			return ret < 0 ? ret : !!out[0];
		case XM_OK:
			ret = copy_name(out, outlen, "", name);
			return ret < 0 ? ret : 1;
		case XM_BAD:
		case XM_UNSUPPORTED:
			return 0;
		}
	}
	return 0;
}

ssize_t xattrmap_list_to_guest(const struct xattrmap *map, const char *list,
			       size_t len, char *out, size_t outlen)
{
	char name[XATTRMAP_NAME_MAX + 1];
	size_t pos = 0, total = 0;

	while (pos < len) {
		const char *host = list + pos;
		size_t hl = strnlen(host, len - pos);
		size_t gl;
		int r;

		if (hl == len - pos)
			break;          /* no NUL: not a name list */
		pos += hl + 1;
		if (hl == 0 || hl > XATTRMAP_NAME_MAX)
			continue;       /* cannot be a name: skip it */
		r = xattrmap_to_guest(map, host, name, sizeof(name));
		if (r <= 0)
			continue;       /* hidden, or too long once mapped */
		gl = strlen(name) + 1;
		if (outlen) {
			if (total + gl > outlen)
				return -ERANGE;
			memcpy(out + total, name, gl);
		}
		total += gl;
	}
	return (ssize_t)total;
}
