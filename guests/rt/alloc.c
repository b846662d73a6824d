/* SPDX-License-Identifier: MIT */
/* A bump allocator over the RAM region that holds the guest image, above the image. */
#include "internal.h"

#define LOW_4G 0x100000000ULL

static uint64_t next, limit;

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
}

void *rt_alloc(size_t size, size_t align)
{
	uint64_t p = (next + align - 1) & ~(uint64_t)(align - 1);

	if (p < next || p + size < p || p + size > limit)
		return NULL;
	next = p + size;
	return (void *)(uintptr_t)p;
}
