// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * --xattrmap: the rule parser and the name translation both ways, against
 * the examples of virtiofsd's documentation.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "vfsd/xattrmap.h"

static struct xattrmap *map;
static char why[128];

static void fini(void)
{
	xattrmap_free(map);
	map = NULL;
}

TestSuite(parse, .fini = fini);
TestSuite(mapping, .fini = fini);

static void load(const char *spec)
{
	int r = xattrmap_parse(spec, &map, why, sizeof(why));

	cr_assert_eq(r, 0, "%s: %s", spec, why);
}

static int refused(const char *spec)
{
	struct xattrmap *m = NULL;
	int r;

	why[0] = '\0';
	r = xattrmap_parse(spec, &m, why, sizeof(why));
	xattrmap_free(m);
	return r == -EINVAL && why[0] != '\0';
}

/* Guest name → host name ("" with the error when refused). */
static int host(const char *guest, char *out)
{
	return xattrmap_to_host(map, guest, out, XATTRMAP_NAME_MAX + 1);
}

static const char *guest(const char *host_name)
{
	static char out[XATTRMAP_NAME_MAX + 1];
	int r = xattrmap_to_guest(map, host_name, out, sizeof(out));

	cr_assert_geq(r, 0);
	return r ? out : NULL;
}

Test(parse, syntax_errors_are_refused_with_a_reason)
{
	cr_assert(refused(""));
	cr_assert(refused("   "));
	cr_assert(refused(":prefix:client:a:"));          /* 3 fields */
	cr_assert(refused(":frob:all:::"));
	cr_assert(refused(":ok:everyone:::"));
	cr_assert(refused(":map::user.x:"
			  ":ok:all:::"));                  /* map not last */
	cr_assert(refused(":map:"));
	cr_assert(strlen(why) > 0);
}

Test(parse, separators_and_white_space)
{
	load(" :ok:all::: ");
	fini();
	/* Any first character is the separator of its rule. */
	load("/prefix/all/trusted./user.virtiofs./ :ok:all:::\n");
	fini();
	load(":map::user.virtiofs.:");
}

Test(parse, too_many_rules)
{
	char spec[64 * 12 + 16] = "";

	for (int i = 0; i < 65; i++)
		strcat(spec, ":ok:all:::");
	cr_assert(refused(spec));
}

/* virtiofsd's example: prefix trusted. (guest) as user.virtiofs. (host). */
Test(mapping, prefix_both_ways)
{
	char h[XATTRMAP_NAME_MAX + 1];

	load(":prefix:all:trusted.:user.virtiofs.: :ok:all:::");
	cr_assert_eq(host("trusted.overlay.opaque", h), 0);
	cr_assert_str_eq(h, "user.virtiofs.trusted.overlay.opaque");
	cr_assert_eq(host("user.x", h), 0);
	cr_assert_str_eq(h, "user.x");
	cr_assert_str_eq(guest("user.virtiofs.trusted.a"), "trusted.a");
	cr_assert_str_eq(guest("security.selinux"), "security.selinux");
}

Test(mapping, bad_and_unsupported)
{
	char h[XATTRMAP_NAME_MAX + 1];

	load(":bad:client:security.:: :unsupported:all:system.:system.:"
	     ":bad:server::user.hidden.: :ok:all:::");
	cr_assert_eq(host("security.selinux", h), -EPERM);
	cr_assert_eq(host("system.posix_acl_access", h), -ENOTSUP);
	cr_assert_null(guest("system.posix_acl_access"));
	cr_assert_null(guest("user.hidden.x"));
	cr_assert_str_eq(guest("security.selinux"), "security.selinux");
	cr_assert_eq(host("user.hidden.x", h), 0);
}

Test(mapping, unmatched_names_are_refused_and_hidden)
{
	char h[XATTRMAP_NAME_MAX + 1];

	load(":ok:all:user.:user.:");
	cr_assert_eq(host("trusted.x", h), -EPERM);
	cr_assert_null(guest("trusted.x"));
	cr_assert_str_eq(guest("user.a"), "user.a");
}

/* ":map:KEY:PREFIX:" sugar, with a key. */
Test(mapping, map_with_key)
{
	char h[XATTRMAP_NAME_MAX + 1];

	load(":map:trusted.:user.virtiofs.:");
	cr_assert_eq(host("trusted.a", h), 0);
	cr_assert_str_eq(h, "user.virtiofs.trusted.a");
	/* The guest cannot reach the host's prefixed names directly. */
	cr_assert_eq(host("user.virtiofs.trusted.a", h), -EPERM);
	cr_assert_eq(host("user.other", h), 0);
	cr_assert_str_eq(h, "user.other");
	cr_assert_str_eq(guest("user.virtiofs.trusted.a"), "trusted.a");
	/* A host trusted.* is not the guest's: hidden. */
	cr_assert_null(guest("trusted.b"));
	cr_assert_str_eq(guest("user.other"), "user.other");
}

/* ":map::PREFIX:": every guest name lives under PREFIX on the host. */
Test(mapping, map_everything)
{
	char h[XATTRMAP_NAME_MAX + 1];

	load(":map::user.vm.:");
	cr_assert_eq(host("security.selinux", h), 0);
	cr_assert_str_eq(h, "user.vm.security.selinux");
	cr_assert_str_eq(guest("user.vm.trusted.x"), "trusted.x");
	cr_assert_null(guest("user.plain"));
	cr_assert_null(guest("user.vm."));     /* nothing left of the name */
}

Test(mapping, mapped_name_too_long_is_erange)
{
	char name[256], h[XATTRMAP_NAME_MAX + 1];

	memset(name, 'a', 250);
	memcpy(name, "user.", 5);
	name[250] = '\0';
	load(":map::user.virtiofs.:");
	cr_assert_eq(host(name, h), -ERANGE);
	cr_assert_eq(xattrmap_to_host(map, "user.a", h, 8), -ERANGE);
}

Test(mapping, list_translation_and_sizes)
{
	static const char list[] = "user.vm.a\0user.plain\0user.vm.trusted.b\0"
				   "security.selinux";
	char out[64];

	load(":map::user.vm.:");
	/* Size query, then the list. */
	cr_assert_eq(xattrmap_list_to_guest(map, list, sizeof(list), NULL, 0),
		     (ssize_t)sizeof("a\0trusted.b"));
	cr_assert_eq(xattrmap_list_to_guest(map, list, sizeof(list), out,
					    sizeof(out)),
		     (ssize_t)sizeof("a\0trusted.b"));
	cr_assert(memcmp(out, "a\0trusted.b", sizeof("a\0trusted.b")) == 0);
	cr_assert_eq(xattrmap_list_to_guest(map, list, sizeof(list), out, 5),
		     -ERANGE);
	/* A list without a final NUL ends before its broken tail. */
	cr_assert_eq(xattrmap_list_to_guest(map, "user.vm.a\0user.vm.b", 19,
					    out, sizeof(out)), 2);
}
