/* SPDX-License-Identifier: MIT */
#include "vmm/mem.h"

#include <errno.h>
#include <linux/memfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/addr_space.h"
#include "vmm/util.h"

int mem_init(struct guest_mem *mem, uint64_t size, bool hugepages, char *err, size_t errlen)
{
	unsigned int flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
	void *p;

	memset(mem, 0, sizeof(*mem));
	mem->memfd = -1;
	if (size < MiB(2) || size % MiB(2)) {
		snprintf(err, errlen, "guest memory must be a non-zero multiple of 2 MiB");
		return -EINVAL;
	}
	if (hugepages)
		flags = MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_HUGE_2MB;
	mem->memfd = memfd_create("vmm-guest-ram", flags);
	if (mem->memfd < 0) {
		int e = errno;
		snprintf(err, errlen, "memfd_create%s: %s", hugepages ? " (hugepages)" : "",
			 strerror(e));
		return -e;
	}
	if (ftruncate(mem->memfd, (off_t)size) < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot size guest RAM to %llu bytes: %s",
			 (unsigned long long)size, strerror(e));
		close(mem->memfd);
		mem->memfd = -1;
		return -e;
	}
	/* An NTB peer maps this memfd and trusts its size (devices/ntb/ntb.c ntb_set_peer). */
	if (memfd_seal_shrink(mem->memfd) < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot seal guest RAM against shrinking: %s", strerror(e));
		close(mem->memfd);
		mem->memfd = -1;
		return -e;
	}
	/*
	 * MAP_NORESERVE: RAM the guest never touches costs nothing. Hugepages are reserved at
	 * mmap time instead (no MAP_NORESERVE), so a short pool is an error here and not a
	 * SIGBUS when the guest first touches a page.
	 */
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | (hugepages ? 0 : MAP_NORESERVE),
		 mem->memfd, 0);
	if (p == MAP_FAILED) {
		int e = errno;
		snprintf(err, errlen, "cannot map %llu bytes of guest RAM%s: %s",
			 (unsigned long long)size,
			 hugepages ? " (is /proc/sys/vm/nr_hugepages large enough?)" : "",
			 strerror(e));
		close(mem->memfd);
		mem->memfd = -1;
		return -e;
	}
	if (!hugepages)
		madvise(p, size, MADV_MERGEABLE | MADV_DONTDUMP);
	mem->base = p;
	mem->size = size;
	mem->hugepages = hugepages;

	mem->nregions = mem_layout(size, mem->regions);
	for (int i = 0; i < mem->nregions; i++)
		mem->regions[i].hva = mem->base + mem->regions[i].offset;
	return 0;
}

int mem_layout(uint64_t size, struct mem_region out[MEM_MAX_REGIONS])
{
	uint64_t low = size < MEM_HOLE_START ? size : MEM_HOLE_START;

	out[0] = (struct mem_region){.gpa = 0, .size = low, .offset = 0};
	if (size == low)
		return 1;
	out[1] = (struct mem_region){.gpa = MEM_HOLE_END, .size = size - low, .offset = low};
	return 2;
}

bool mem_layout_has(uint64_t size, uint64_t gpa, uint64_t len)
{
	struct mem_region r[MEM_MAX_REGIONS];
	int n = mem_layout(size, r);
	uint64_t end, off;

	if (add_overflows_u64(gpa, len ? len : 1, &end))
		return false;
	for (int i = 0; i < n; i++)
		if (as_range_offset(r[i].gpa, r[i].size, gpa, len, &off))
			return true;
	return false;
}

void mem_free(struct guest_mem *mem)
{
	if (mem->base)
		munmap(mem->base, mem->size);
	if (mem->memfd >= 0)
		close(mem->memfd);
	memset(mem, 0, sizeof(*mem));
	mem->memfd = -1;
}

void *mem_gpa_to_hva(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	uint64_t end, off;

	if (add_overflows_u64(gpa, len ? len : 1, &end))
		return NULL;
	for (int i = 0; i < mem->nregions; i++) {
		const struct mem_region *r = &mem->regions[i];

		if (as_range_offset(r->gpa, r->size, gpa, len, &off))
			return r->hva + off;
	}
	return NULL;
}

int mem_as_regions(const struct guest_mem *mem, struct as_region *out, int max)
{
	int n = 0;

	for (int i = 0; i < mem->nregions && n < max; i++)
		out[n++] = (struct as_region){.base = mem->regions[i].gpa,
					      .size = mem->regions[i].size,
					      .hva = mem->regions[i].hva};
	return n;
}

int mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, uint64_t len)
{
	void *p;

	if (len == 0)
		return 0;
	p = mem_gpa_to_hva(mem, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

int mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, uint64_t len)
{
	const void *p;

	if (len == 0)
		return 0;
	p = mem_gpa_to_hva(mem, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

static int e820_add(struct e820_entry *out, int n, int max, uint64_t addr, uint64_t size,
		    uint32_t type)
{
	if (n < max && size)
		out[n++] = (struct e820_entry){.addr = addr, .size = size, .type = type};
	return n;
}

/*
 * The map a PC firmware would report: conventional memory up to the EBDA, the legacy
 * VGA/ROM/BIOS area reserved, RAM from 1 MiB to the hole, the ECAM window reserved (Linux
 * checks MCFG against E820_RESERVED in pci_mmcfg_reserved()), RAM above 4 GiB.
 */
int mem_e820(const struct guest_mem *mem, struct e820_entry *out, int max)
{
	uint64_t low = mem->regions[0].size;
	int n = 0;

	n = e820_add(out, n, max, 0, MEM_EBDA_START, E820_RAM);
	n = e820_add(out, n, max, MEM_EBDA_START, MEM_HIGH_START - MEM_EBDA_START, E820_RESERVED);
	if (low > MEM_HIGH_START)
		n = e820_add(out, n, max, MEM_HIGH_START, low - MEM_HIGH_START, E820_RAM);
	n = e820_add(out, n, max, MEM_ECAM_BASE, MEM_ECAM_SIZE, E820_RESERVED);
	if (mem->nregions > 1)
		n = e820_add(out, n, max, mem->regions[1].gpa, mem->regions[1].size, E820_RAM);
	return n;
}
