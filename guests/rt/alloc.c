/* SPDX-License-Identifier: MIT */
/*
 * A bump allocator over the RAM region that holds the guest image, above the image and
 * below anything the loader put there (QEMU puts modules and boot data at the top of RAM).
 */
#include "internal.h"

#define LOW_4G 0x100000000ULL

static uint64_t next, limit;

static void below(uint64_t addr)
{
	if (addr >= next && addr < limit)
		limit = addr & ~4095ULL;
}

void rt_alloc_init(void)
{
	const struct hvm_memmap_table_entry *e;
	int n = rt_memmap(&e);
	uint64_t start = ((uintptr_t)__image_end + 4095) & ~4095ULL;

	next = start;
	limit = start;
	for (int i = 0; i < n; i++) {
		if (e[i].type == RT_MEM_RAM && e[i].addr <= start &&
		    e[i].addr + e[i].size > start) {
			limit = e[i].addr + e[i].size;
			break;
		}
	}
	if (limit > LOW_4G)
		limit = LOW_4G;

	const struct hvm_start_info *si = rt_start_info();
	const struct hvm_modlist_entry *m;
	int nmods = rt_modules(&m);

	below(rt_start_info_paddr);
	below(si->cmdline_paddr);
	below(si->memmap_paddr);
	below(si->modlist_paddr);
	for (int i = 0; i < nmods; i++) {
		below(m[i].paddr);
		below(m[i].cmdline_paddr);
	}
}

void *rt_alloc(size_t size, size_t align)
{
	uint64_t p = (next + align - 1) & ~(uint64_t)(align - 1);

	if (p < next || p + size < p || p + size > limit)
		return NULL;
	next = p + size;
	return (void *)(uintptr_t)p;
}
