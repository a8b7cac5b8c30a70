// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * --translate-uid / --translate-gid: parsing and lookup (idmap.h).
 * A handful of ranges per direction: a linear scan is all it takes.
 */
#include "idmap.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum idmap_kind {
	IDMAP_RANGE,    /* [from, end) -> to + (id - from) */
	IDMAP_SQUASH,   /* [from, end) -> to */
	IDMAP_FAIL,     /* [from, end) -> EPERM */
};

struct idmap_entry {
	uint64_t from, end;     /* end exclusive, at most 2^32 - 1 */
	uint32_t to;
	enum idmap_kind kind;
};

struct idmap_dir {
	struct idmap_entry *e;
	unsigned int n;
};

struct idmap {
	struct idmap_dir to_host, to_guest;
};

/* One spec, parsed. */
struct idmap_spec {
	const char *type;        /* canonical name */
	bool guest_to_host, host_to_guest;
	enum idmap_kind kind;
	uint32_t f[3];
	unsigned int nf;
};

static const struct {
	const char *name;
	unsigned int fields;
	bool g2h, h2g;
	enum idmap_kind kind;
} types[] = {
	{ "guest", 3, true, false, IDMAP_RANGE },
	{ "host", 3, false, true, IDMAP_RANGE },
	{ "map", 3, true, true, IDMAP_RANGE },
	{ "squash-guest", 3, true, false, IDMAP_SQUASH },
	{ "squash-host", 3, false, true, IDMAP_SQUASH },
	{ "forbid-guest", 2, true, false, IDMAP_FAIL },
};

#define WHY(...) do { snprintf(why, why_len, __VA_ARGS__); return -EINVAL; } while (0)

static bool prefix_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_';
}

static int parse_u32(const char *s, size_t len, uint32_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 10)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int parse_spec(const char *spec, struct idmap_spec *out,
		      char *why, size_t why_len)
{
	char prefix[16];
	size_t plen = 0;
	const char *p = spec;
	char sep;

	memset(out, 0, sizeof(*out));
	while (*p && prefix_char(*p)) {
		if (plen + 1 >= sizeof(prefix))
			WHY("unknown mapping type");
		prefix[plen++] = (char)tolower((unsigned char)*p);
		p++;
	}
	prefix[plen] = '\0';
	if (!*p)
		WHY("expected TYPE:FROM:TO:COUNT");
	sep = *p++;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcmp(prefix, types[i].name) != 0)
			continue;
		out->type = types[i].name;
		out->guest_to_host = types[i].g2h;
		out->host_to_guest = types[i].h2g;
		out->kind = types[i].kind;
		out->nf = types[i].fields;
	}
	if (!out->type)
		WHY("unknown mapping type '%s' (guest, host, map, squash-guest, "
		    "squash-host or forbid-guest)", prefix);
	for (unsigned int i = 0;; i++) {
		const char *end = strchr(p, sep);
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (i >= out->nf)
			WHY("%s takes %u numbers", out->type, out->nf);
		if (parse_u32(p, len, &out->f[i]) < 0)
			WHY("'%.*s' is not a number from 0 to 4294967295",
			    (int)len, p);
		if (!end) {
			if (i + 1 != out->nf)
				WHY("%s takes %u numbers", out->type, out->nf);
			break;
		}
		p = end + 1;
	}
	return 0;
}

int idmap_check_spec(const char *spec, char *why, size_t why_len)
{
	struct idmap_spec s;
	uint32_t count;
	int r;

	r = parse_spec(spec, &s, why, why_len);
	if (r < 0)
		return r;
	count = s.f[s.nf - 1];
	if ((uint64_t)s.f[0] + count > UINT32_MAX ||
	    (s.nf == 3 && s.kind == IDMAP_RANGE &&
	     (uint64_t)s.f[1] + count > UINT32_MAX))
		WHY("range overflows 4294967295");
	return 0;
}

static bool dir_overlaps(const struct idmap_dir *d, uint64_t from,
			 uint64_t end)
{
	for (unsigned int i = 0; i < d->n; i++)
		if (from < d->e[i].end && d->e[i].from < end)
			return true;
	return false;
}

static void dir_add(struct idmap_dir *d, uint64_t from, uint64_t count,
		    uint32_t to, enum idmap_kind kind)
{
	d->e[d->n++] = (struct idmap_entry){
		.from = from, .end = from + count, .to = to, .kind = kind,
	};
}

static int map_add(struct idmap *m, const char *spec, char *why,
		   size_t why_len)
{
	struct idmap_spec s;
	uint32_t count, a, b;
	int r;

	r = idmap_check_spec(spec, why, why_len);
	if (r < 0)
		return r;
	parse_spec(spec, &s, why, why_len);
	count = s.f[s.nf - 1];
	a = s.f[0];
	b = s.nf == 3 ? s.f[1] : 0;
	if (count == 0)
		return 0;
	/* guest/map/squash-guest/forbid-guest: a guest range first; host
	 * and squash-host: a host range first; map: guest a, host b. */
	if (s.guest_to_host && dir_overlaps(&m->to_host, a, (uint64_t)a + count))
		WHY("guest range [%u, %llu) overlaps an earlier mapping", a,
		    (unsigned long long)a + count);
	if (s.host_to_guest) {
		uint32_t host = s.guest_to_host ? b : a;

		if (dir_overlaps(&m->to_guest, host, (uint64_t)host + count))
			WHY("host range [%u, %llu) overlaps an earlier mapping",
			    host, (unsigned long long)host + count);
	}
	if (s.guest_to_host)
		dir_add(&m->to_host, a, count, b, s.kind);
	if (s.host_to_guest) {
		if (s.guest_to_host)	/* map: the reverse of the above */
			dir_add(&m->to_guest, b, count, a, IDMAP_RANGE);
		else
			dir_add(&m->to_guest, a, count, b, s.kind);
	}
	return 0;
}

int idmap_new(struct idmap **out, const char *const *specs, unsigned int n,
	      char *why, size_t why_len)
{
	struct idmap *m = calloc(1, sizeof(*m));
	char sub[160];
	int r;

	if (!m)
		return -ENOMEM;
	m->to_host.e = calloc(n ? n : 1, sizeof(struct idmap_entry));
	m->to_guest.e = calloc(n ? n : 1, sizeof(struct idmap_entry));
	if (!m->to_host.e || !m->to_guest.e) {
		idmap_free(m);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < n; i++) {
		r = map_add(m, specs[i], sub, sizeof(sub));
		if (r < 0) {
			snprintf(why, why_len, "%s: %s", specs[i], sub);
			idmap_free(m);
			return r;
		}
	}
	*out = m;
	return 0;
}

void idmap_free(struct idmap *map)
{
	if (!map)
		return;
	free(map->to_host.e);
	free(map->to_guest.e);
	free(map);
}

static const struct idmap_entry *find(const struct idmap_dir *d, uint32_t id)
{
	for (unsigned int i = 0; i < d->n; i++)
		if (id >= d->e[i].from && id < d->e[i].end)
			return &d->e[i];
	return NULL;
}

static uint32_t apply(const struct idmap_entry *e, uint32_t id)
{
	if (e->kind == IDMAP_SQUASH)
		return e->to;
	return e->to + (uint32_t)(id - e->from);
}

int idmap_to_host(const struct idmap *map, uint32_t guest, uint32_t *host)
{
	const struct idmap_entry *e = map ? find(&map->to_host, guest) : NULL;

	if (!e) {
		*host = guest;
		return 0;
	}
	if (e->kind == IDMAP_FAIL)
		return -EPERM;
	*host = apply(e, guest);
	return 0;
}

uint32_t idmap_to_guest(const struct idmap *map, uint32_t host)
{
	const struct idmap_entry *e = map ? find(&map->to_guest, host) : NULL;

	return e ? apply(e, host) : host;
}
