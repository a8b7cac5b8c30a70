// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Guest memory regions.  Every number in a region description comes from the
 * front-end: sums are checked for overflow, regions may not overlap, and the
 * backing file must be large enough for the mapping (touching a mapping past
 * the end of its file raises SIGBUS).  The file may still shrink later, under
 * the mapping: every mapping is registered with the SIGBUS guard (guard.h).
 */
#include "vhost-user/mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "vfsd/log.h"

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif

void vu_mem_init(struct vu_mem *mem)
{
	memset(mem, 0, sizeof(*mem));
}

/* Last byte of [start, start + size); false when size is 0 or it wraps. */
static bool range_last(uint64_t start, uint64_t size, uint64_t *last)
{
	if (size == 0 || size - 1 > UINT64_MAX - start)
		return false;
	*last = start + size - 1;
	return true;
}

static bool ranges_overlap(uint64_t a, uint64_t a_last, uint64_t b,
			   uint64_t b_last)
{
	return a <= b_last && b <= a_last;
}

/* mmap offsets must be aligned to the page size of the backing fs. */
static uint64_t fd_alignment(int fd)
{
	long page = sysconf(_SC_PAGESIZE);
	struct statfs fs;

	if (page <= 0)
		page = 4096;
	if (fstatfs(fd, &fs) == 0 && (unsigned long)fs.f_type == HUGETLBFS_MAGIC &&
	    fs.f_bsize > page && (fs.f_bsize & (fs.f_bsize - 1)) == 0)
		return (uint64_t)fs.f_bsize;
	return (uint64_t)page;
}

static int check_region(const struct vu_mem *mem, const struct vu_msg_region *r)
{
	uint64_t gpa_last, qva_last, off_last;

	if (!range_last(r->guest_addr, r->size, &gpa_last) ||
	    !range_last(r->user_addr, r->size, &qva_last) ||
	    !range_last(r->mmap_offset, r->size, &off_last))
		return -EINVAL;
	if (r->size > SIZE_MAX / 2)
		return -EINVAL;
	for (unsigned int i = 0; i < mem->nregions; i++) {
		const struct vu_mem_region *o = &mem->regions[i];

		if (ranges_overlap(r->guest_addr, gpa_last, o->gpa,
				   o->gpa + o->size - 1) ||
		    ranges_overlap(r->user_addr, qva_last, o->qva,
				   o->qva + o->size - 1))
			return -EINVAL;
	}
	return 0;
}

static int check_backing(int fd, const struct vu_msg_region *r)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	/* Regular files (memfd, tmpfs, hugetlbfs) have a size to check; a
	 * device (DAX) is trusted to be as large as the front-end says. */
	if (S_ISREG(st.st_mode)) {
		if (st.st_size < 0 ||
		    (uint64_t)st.st_size < r->mmap_offset + r->size)
			return -EINVAL;
	} else if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) {
		return -EINVAL;
	}
	return 0;
}

int vu_mem_add(struct vu_mem *mem, const struct vu_msg_region *r, int fd)
{
	struct vu_mem_region *reg;
	uint64_t align, fd_off, delta, len;
	void *base;
	int ret;

	if (mem->nregions >= VU_MAX_MEM_REGIONS)
		return log_error_errno(-ENOSPC, "vhost-user: too many memory regions");
	ret = check_region(mem, r);
	if (ret < 0)
		return log_error_errno(ret,
			"vhost-user: bad memory region gpa 0x%llx size 0x%llx "
			"uaddr 0x%llx offset 0x%llx",
			(unsigned long long)r->guest_addr,
			(unsigned long long)r->size,
			(unsigned long long)r->user_addr,
			(unsigned long long)r->mmap_offset);
	ret = check_backing(fd, r);
	if (ret < 0)
		return log_error_errno(ret,
			"vhost-user: memory region fd smaller than offset+size");

	align = fd_alignment(fd);
	fd_off = r->mmap_offset & ~(align - 1);
	delta = r->mmap_offset - fd_off;
	len = r->size + delta;
	len = (len + align - 1) & ~(align - 1);

	base = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_NORESERVE, fd, (off_t)fd_off);
	if (base == MAP_FAILED)
		return log_error_errno(-errno, "vhost-user: mmap of memory region");
	/* Guest memory does not belong in our core dumps. */
	(void)madvise(base, (size_t)len, MADV_DONTDUMP);
	ret = vu_guard_add(base, (size_t)len, (size_t)align, mem->owner);
	if (ret < 0) {
		munmap(base, (size_t)len);
		return log_error_errno(ret, "vhost-user: no room to guard a memory region");
	}

	reg = &mem->regions[mem->nregions++];
	*reg = (struct vu_mem_region) {
		.gpa = r->guest_addr,
		.size = r->size,
		.qva = r->user_addr,
		.host = (uint8_t *)base + delta,
		.map_base = base,
		.map_len = (size_t)len,
		.guard_slot = ret,
	};
	log_debug("vhost-user: mapped region gpa 0x%llx size 0x%llx",
		  (unsigned long long)r->guest_addr, (unsigned long long)r->size);
	return 0;
}

static void unmap_region(struct vu_mem_region *reg)
{
	if (reg->map_base) {
		vu_guard_remove(reg->guard_slot);
		munmap(reg->map_base, reg->map_len);
	}
	reg->map_base = NULL;
}

int vu_mem_remove(struct vu_mem *mem, const struct vu_msg_region *r)
{
	for (unsigned int i = 0; i < mem->nregions; i++) {
		struct vu_mem_region *reg = &mem->regions[i];

		if (reg->gpa != r->guest_addr || reg->size != r->size ||
		    reg->qva != r->user_addr)
			continue;
		unmap_region(reg);
		memmove(reg, reg + 1,
			(mem->nregions - i - 1) * sizeof(*reg));
		mem->nregions--;
		return 0;
	}
	return -ENOENT;
}

void vu_mem_clear(struct vu_mem *mem)
{
	for (unsigned int i = 0; i < mem->nregions; i++)
		unmap_region(&mem->regions[i]);
	mem->nregions = 0;
}

void *vu_mem_gpa_to_va_partial(const struct vu_mem *mem, uint64_t gpa,
			       uint64_t len, uint64_t *contig)
{
	for (unsigned int i = 0; i < mem->nregions; i++) {
		const struct vu_mem_region *reg = &mem->regions[i];
		uint64_t off, avail;

		if (gpa < reg->gpa || gpa - reg->gpa >= reg->size)
			continue;
		off = gpa - reg->gpa;
		avail = reg->size - off;
		*contig = len < avail ? len : avail;
		return reg->host + off;
	}
	return NULL;
}

void *vu_mem_gpa_to_va(const struct vu_mem *mem, uint64_t gpa, uint64_t len)
{
	uint64_t contig;
	void *p;

	if (len == 0)
		len = 1;
	p = vu_mem_gpa_to_va_partial(mem, gpa, len, &contig);
	return p && contig == len ? p : NULL;
}

void *vu_mem_qva_to_va(const struct vu_mem *mem, uint64_t qva, uint64_t len)
{
	if (len == 0)
		len = 1;
	for (unsigned int i = 0; i < mem->nregions; i++) {
		const struct vu_mem_region *reg = &mem->regions[i];
		uint64_t off;

		if (qva < reg->qva || qva - reg->qva >= reg->size)
			continue;
		off = qva - reg->qva;
		if (len > reg->size - off)
			return NULL;
		return reg->host + off;
	}
	return NULL;
}

void *vu_mem_qva_to_va_partial(const struct vu_mem *mem, uint64_t qva,
			       uint64_t len, uint64_t *contig)
{
	for (unsigned int i = 0; i < mem->nregions; i++) {
		const struct vu_mem_region *reg = &mem->regions[i];
		uint64_t off, avail;

		if (qva < reg->qva || qva - reg->qva >= reg->size)
			continue;
		off = qva - reg->qva;
		avail = reg->size - off;
		*contig = len < avail ? len : avail;
		return reg->host + off;
	}
	return NULL;
}

int vu_mem_read(const struct vu_mem *mem, uint64_t gpa, void *dst, size_t len)
{
	uint8_t *out = dst;

	while (len > 0) {
		uint64_t contig;
		void *src = vu_mem_gpa_to_va_partial(mem, gpa, len, &contig);

		if (!src)
			return -EFAULT;
		memcpy(out, src, (size_t)contig);
		out += contig;
		len -= (size_t)contig;
		if (len > 0 && contig > UINT64_MAX - gpa)
			return -EFAULT;
		gpa += contig;
	}
	return 0;
}
