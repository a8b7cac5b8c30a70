/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest memory of the test front-end: one memfd, mapped once, exposed to the
 * back-end as one or two regions.  Region i covers memfd bytes
 * [i*rsize, (i+1)*rsize) at guest address base + i*(rsize + FE_REGION_GAP):
 * guest addresses are neither host addresses nor memfd offsets, and with two
 * regions there is a hole between them.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "fe_internal.h"

#define PAGE 4096u

int fe_mem_create(struct fe_dev *d)
{
	size_t rsize;
	unsigned int i;
	void *p;

	d->nregions = d->opts.mem_regions;
	rsize = d->opts.mem_size / d->nregions / PAGE * PAGE;
	if (!rsize)
		return -EINVAL;
	d->mem_size = rsize * d->nregions;
	d->memfd = memfd_create("fe-guest-ram", MFD_CLOEXEC);
	if (d->memfd < 0)
		return -errno;
	if (ftruncate(d->memfd, d->mem_size) < 0)
		return -errno;
	p = mmap(NULL, d->mem_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 d->memfd, 0);
	if (p == MAP_FAILED)
		return -errno;
	d->mem = p;
	for (i = 0; i < d->nregions; i++) {
		d->regions[i] = (struct fe_vu_region){
			.gpa = d->opts.gpa_base + i * (rsize + FE_REGION_GAP),
			.size = rsize,
			.uaddr = (uint64_t)(uintptr_t)(d->mem + i * rsize),
			.mmap_offset = i * rsize,
		};
	}
	d->cursor = 0;
	return 0;
}

void fe_mem_destroy(struct fe_dev *d)
{
	if (d->mem)
		munmap(d->mem, d->mem_size);
	d->mem = NULL;
	if (d->memfd >= 0)
		close(d->memfd);
	d->memfd = -1;
}

static size_t region_size(const struct fe_dev *d)
{
	return d->mem_size / d->nregions;
}

void *fe_mem_alloc(struct fe_dev *d, size_t len, size_t align)
{
	size_t rsize = region_size(d), off, end;

	if (!align || (align & (align - 1)))
		return NULL;
	if (!len)
		len = 1;
	off = (d->cursor + align - 1) & ~(align - 1);
	if (off >= d->mem_size)
		return NULL;
	end = (off / rsize + 1) * rsize;
	if (len > end - off) {
		/* Never straddle regions: start at the next one. */
		off = end;
		if (off >= d->mem_size || len > rsize)
			return NULL;
	}
	d->cursor = off + len;
	memset(d->mem + off, 0, len);
	return d->mem + off;
}

size_t fe_mem_mark(const struct fe_dev *d)
{
	return d->cursor;
}

void fe_mem_release(struct fe_dev *d, size_t mark)
{
	if (mark <= d->cursor)
		d->cursor = mark;
}

int fe_mem_use_region(struct fe_dev *d, unsigned int r)
{
	size_t start;

	if (r >= d->nregions)
		return -EINVAL;
	start = r * region_size(d);
	if (d->cursor < start)
		d->cursor = start;
	return 0;
}

static bool host_off(const struct fe_dev *d, const void *host, size_t *off)
{
	uintptr_t p = (uintptr_t)host, base = (uintptr_t)d->mem;

	if (!d->mem || p < base || p - base >= d->mem_size)
		return false;
	*off = p - base;
	return true;
}

uint64_t fe_mem_gpa(const struct fe_dev *d, const void *host)
{
	size_t off, r;

	if (!host_off(d, host, &off))
		return UINT64_MAX;
	r = off / region_size(d);
	return d->regions[r].gpa + (off - r * region_size(d));
}

uint64_t fe_mem_uaddr(const struct fe_dev *d, const void *host)
{
	size_t off, r;

	if (!host_off(d, host, &off))
		return UINT64_MAX;
	r = off / region_size(d);
	return d->regions[r].uaddr + (off - r * region_size(d));
}

void *fe_mem_host(const struct fe_dev *d, uint64_t gpa, size_t len)
{
	unsigned int i;

	for (i = 0; i < d->nregions; i++) {
		const struct fe_vu_region *r = &d->regions[i];

		if (gpa < r->gpa || gpa - r->gpa >= r->size ||
		    len > r->size - (gpa - r->gpa))
			continue;
		return d->mem + r->mmap_offset + (gpa - r->gpa);
	}
	return NULL;
}

unsigned int fe_mem_nregions(const struct fe_dev *d)
{
	return d->nregions;
}

const struct fe_vu_region *fe_mem_region(const struct fe_dev *d,
					 unsigned int r)
{
	return r < d->nregions ? &d->regions[r] : NULL;
}

int fe_mem_fd(const struct fe_dev *d)
{
	return d->memfd;
}
