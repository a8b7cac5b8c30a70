// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * IOTLB cache.  A sorted array of non-overlapping ranges: lookups are a
 * binary search, changes are memmoves over at most VU_IOTLB_MAX_ENTRIES
 * small entries, which the front-end sends one round trip at a time.
 *
 * Every number comes from the front-end: ranges are kept as [first, last]
 * so that a range ending at the top of the address space does not overflow.
 */
#include "vhost-user/iotlb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int vu_iotlb_init(struct vu_iotlb *t, unsigned int max)
{
	memset(t, 0, sizeof(*t));
	t->max = max ? max : VU_IOTLB_MAX_ENTRIES;
	t->e = calloc(t->max, sizeof(*t->e));
	if (!t->e)
		return -ENOMEM;
	if (pthread_rwlock_init(&t->lock, NULL) != 0) {
		free(t->e);
		t->e = NULL;
		return -ENOMEM;
	}
	return 0;
}

void vu_iotlb_destroy(struct vu_iotlb *t)
{
	if (!t->e)
		return;
	pthread_rwlock_destroy(&t->lock);
	free(t->e);
	t->e = NULL;
	t->n = 0;
}

void vu_iotlb_flush(struct vu_iotlb *t)
{
	t->n = 0;
	t->evict_next = 0;
	t->evicted = false;
}

/* Index of the first entry whose last byte is at or after iova (n if none);
 * entries are sorted and disjoint, so their last bytes are sorted too. */
static unsigned int first_ending_at_or_after(const struct vu_iotlb *t,
					     uint64_t iova)
{
	unsigned int lo = 0, hi = t->n;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (t->e[mid].last < iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void remove_at(struct vu_iotlb *t, unsigned int i)
{
	memmove(&t->e[i], &t->e[i + 1], (t->n - i - 1) * sizeof(*t->e));
	t->n--;
}

static void insert_at(struct vu_iotlb *t, unsigned int i,
		      const struct vu_iotlb_entry *e)
{
	memmove(&t->e[i + 1], &t->e[i], (t->n - i) * sizeof(*t->e));
	t->e[i] = *e;
	t->n++;
}

/* Drop [first, last] from every entry; returns the entries touched. */
static unsigned int remove_range(struct vu_iotlb *t, uint64_t first,
				 uint64_t last)
{
	unsigned int i = first_ending_at_or_after(t, first), touched = 0;

	while (i < t->n && t->e[i].iova <= last) {
		struct vu_iotlb_entry *e = &t->e[i];

		touched++;
		if (e->iova < first && e->last > last) {
			/* The range is inside e: keep both ends.  With no room
			 * for the second half drop e whole: this is a cache. */
			struct vu_iotlb_entry right = {
				.iova = last + 1,
				.last = e->last,
				.uaddr = e->uaddr + (last + 1 - e->iova),
				.perm = e->perm,
			};

			if (t->n == t->max) {
				remove_at(t, i);
				t->evicted = true;
				break;
			}
			e->last = first - 1;
			insert_at(t, i + 1, &right);
			break;
		}
		if (e->iova < first) {
			e->last = first - 1;
			i++;
		} else if (e->last > last) {
			e->uaddr += last + 1 - e->iova;
			e->iova = last + 1;
			break;
		} else {
			remove_at(t, i);
		}
	}
	return touched;
}

int vu_iotlb_update(struct vu_iotlb *t, uint64_t iova, uint64_t size,
		    uint64_t uaddr, uint8_t perm)
{
	struct vu_iotlb_entry e;
	unsigned int i;

	if (size == 0 || size - 1 > UINT64_MAX - iova ||
	    size - 1 > UINT64_MAX - uaddr)
		return -EINVAL;
	if (perm == 0 || (perm & ~VU_ACCESS_RW))
		return -EINVAL;
	e = (struct vu_iotlb_entry) {
		.iova = iova, .last = iova + (size - 1), .uaddr = uaddr,
		.perm = perm,
	};
	remove_range(t, e.iova, e.last);
	if (t->n == t->max) {
		if (t->evict_next >= t->n)
			t->evict_next = 0;
		remove_at(t, t->evict_next++);
		t->evicted = true;
	}
	i = first_ending_at_or_after(t, e.iova);
	insert_at(t, i, &e);
	return 0;
}

unsigned int vu_iotlb_invalidate(struct vu_iotlb *t, uint64_t iova,
				 uint64_t size)
{
	uint64_t last = UINT64_MAX;

	if (size != 0 && size - 1 <= UINT64_MAX - iova)
		last = iova + (size - 1);
	return remove_range(t, iova, last);
}

int vu_iotlb_lookup(const struct vu_iotlb *t, uint64_t iova, uint64_t len,
		    uint8_t perm, uint64_t *uaddr, uint64_t *contig)
{
	unsigned int i = first_ending_at_or_after(t, iova);
	const struct vu_iotlb_entry *e;

	if (i == t->n || t->e[i].iova > iova)
		return -ENOENT;
	e = &t->e[i];
	if ((e->perm & perm) != perm)
		return -EACCES;
	if (len == 0)
		len = 1;
	*uaddr = e->uaddr + (iova - e->iova);
	*contig = len - 1 <= e->last - iova ? len : e->last - iova + 1;
	return 0;
}
