// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * --translate-uid / --translate-gid (vfsd/idmap.c): virtiofsd's syntax and
 * mapping rules.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "vfsd/idmap.h"

static struct idmap *build(const char *const *specs, unsigned int n)
{
	struct idmap *m = NULL;
	char why[256] = "";

	cr_assert_eq(idmap_new(&m, specs, n, why, sizeof(why)), 0, "%s", why);
	return m;
}

static int build_err(const char *const *specs, unsigned int n, char *why,
		     size_t len)
{
	struct idmap *m = NULL;
	int r = idmap_new(&m, specs, n, why, len);

	if (r == 0)
		idmap_free(m);
	return r;
}

static uint32_t to_host(const struct idmap *m, uint32_t g)
{
	uint32_t h = 0xdeadbeef;

	cr_assert_eq(idmap_to_host(m, g, &h), 0, "guest %u refused", g);
	return h;
}

Test(idmap, empty_map_is_identity)
{
	struct idmap *m = build(NULL, 0);

	cr_expect_eq(to_host(m, 0), 0);
	cr_expect_eq(to_host(m, 4294967295u), 4294967295u);
	cr_expect_eq(idmap_to_guest(m, 1234), 1234);
	cr_expect_eq(to_host(NULL, 7), 7);
	cr_expect_eq(idmap_to_guest(NULL, 7), 7);
	idmap_free(m);
}

Test(idmap, map_is_bidirectional)
{
	const char *specs[] = { "map:0:1000:10" };
	struct idmap *m = build(specs, 1);

	cr_expect_eq(to_host(m, 0), 1000);
	cr_expect_eq(to_host(m, 9), 1009);
	cr_expect_eq(to_host(m, 10), 10);	/* outside: identity */
	cr_expect_eq(idmap_to_guest(m, 1000), 0);
	cr_expect_eq(idmap_to_guest(m, 1009), 9);
	cr_expect_eq(idmap_to_guest(m, 1010), 1010);
	idmap_free(m);
}

Test(idmap, guest_and_host_are_one_way)
{
	const char *specs[] = { "guest:0:1000:1", "host:2000:5:2" };
	struct idmap *m = build(specs, 2);

	cr_expect_eq(to_host(m, 0), 1000);
	cr_expect_eq(idmap_to_guest(m, 1000), 1000);	/* not reversed */
	cr_expect_eq(idmap_to_guest(m, 2000), 5);
	cr_expect_eq(idmap_to_guest(m, 2001), 6);
	cr_expect_eq(to_host(m, 5), 5);			/* not reversed */
	idmap_free(m);
}

Test(idmap, squash_maps_a_range_to_one_id)
{
	const char *specs[] = { "squash-guest:0:1000:4294967295",
				"squash-host:1000:0:1" };
	struct idmap *m = build(specs, 2);

	cr_expect_eq(to_host(m, 0), 1000);
	cr_expect_eq(to_host(m, 65534), 1000);
	cr_expect_eq(to_host(m, 4294967294u), 1000);
	cr_expect_eq(idmap_to_guest(m, 1000), 0);
	cr_expect_eq(idmap_to_guest(m, 1001), 1001);
	idmap_free(m);
}

Test(idmap, forbid_guest_refuses_with_eperm)
{
	const char *specs[] = { "forbid-guest:0:1000", "map:1000:1000:1" };
	struct idmap *m = build(specs, 2);
	uint32_t h = 42;

	cr_expect_eq(idmap_to_host(m, 0, &h), -EPERM);
	cr_expect_eq(idmap_to_host(m, 999, &h), -EPERM);
	cr_expect_eq(h, 42, "output written on failure");
	cr_expect_eq(to_host(m, 1000), 1000);
	cr_expect_eq(to_host(m, 1001), 1001);
	idmap_free(m);
}

Test(idmap, type_is_case_insensitive_and_separator_is_free)
{
	const char *specs[] = { "MAP/0/1000/1", "Squash-Guest,5,7,2" };
	struct idmap *m = build(specs, 2);

	cr_expect_eq(to_host(m, 0), 1000);
	cr_expect_eq(to_host(m, 6), 7);
	idmap_free(m);
}

Test(idmap, syntax_errors_are_refused_with_a_reason)
{
	static const char *const bad[] = {
		"", "map", "map:", "map:1:2", "map:1:2:3:4", "map:1::3",
		"map:a:2:3", "map:-1:2:3", "map:1:2:4294967296", "frob:1:2:3",
		"forbid-guest:1:2:3", "map:1:2/3", "guest:0:1:99999999999",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char why[160] = "";

		cr_expect_eq(idmap_check_spec(bad[i], why, sizeof(why)),
			     -EINVAL, "'%s' accepted", bad[i]);
		cr_expect_neq(why[0], '\0', "no reason for '%s'", bad[i]);
	}
}

Test(idmap, ranges_past_the_last_id_are_refused)
{
	char why[160];

	cr_expect_eq(idmap_check_spec("map:1:0:4294967295", why, sizeof(why)),
		     -EINVAL);
	cr_expect_eq(idmap_check_spec("map:0:1:4294967295", why, sizeof(why)),
		     -EINVAL);
	cr_expect_eq(idmap_check_spec("forbid-guest:2:4294967294", why,
				      sizeof(why)), -EINVAL);
	cr_expect_eq(idmap_check_spec("squash-guest:0:4294967295:4294967295",
				      why, sizeof(why)), 0);
}

Test(idmap, overlapping_entries_in_one_direction_are_refused)
{
	const char *g[] = { "guest:0:1000:10", "squash-guest:5:0:1" };
	const char *h[] = { "map:0:1000:10", "host:1005:0:1" };
	const char *ok[] = { "guest:0:1000:10", "host:0:1000:10",
			     "guest:10:0:1" };
	char why[256] = "";
	struct idmap *m;

	cr_expect_eq(build_err(g, 2, why, sizeof(why)), -EINVAL);
	cr_expect(strstr(why, "squash-guest:5:0:1"), "why: %s", why);
	cr_expect_eq(build_err(h, 2, why, sizeof(why)), -EINVAL);
	/* Different directions, or adjacent ranges, do not clash. */
	m = build(ok, 3);
	cr_expect_eq(to_host(m, 10), 0);
	idmap_free(m);
}

Test(idmap, zero_count_maps_nothing)
{
	const char *specs[] = { "map:0:1000:0" };
	struct idmap *m = build(specs, 1);

	cr_expect_eq(to_host(m, 0), 0);
	idmap_free(m);
}
