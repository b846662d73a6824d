/* SPDX-License-Identifier: MIT */
/*
 * Adding identity mappings to the boot page tables (start.S), 2 MiB pages only. Table pages
 * come from a small static pool: 1 GiB of new address space costs one page.
 */
#include "internal.h"

#define PAGE_2M	       0x200000ULL
#define ADDR_MASK      0x000ffffffffff000ULL
#define LOWER_HALF_END (1ULL << 47)
#define POOL_PAGES     16

static uint64_t pool[POOL_PAGES][512] __attribute__((section(".pagepool"), aligned(4096)));
static int pool_used;

static uint64_t *next_table(uint64_t *table, unsigned int idx)
{
	if (!(table[idx] & PTE_P)) {
		uint64_t *t;

		if (pool_used == POOL_PAGES)
			return NULL;
		t = pool[pool_used++];
		memset(t, 0, sizeof(pool[0]));
		table[idx] = (uintptr_t)t | PTE_P | PTE_RW | PTE_US;
	}
	return (uint64_t *)(uintptr_t)(table[idx] & ADDR_MASK);
}

int rt_map(uint64_t addr, uint64_t size, unsigned int flags)
{
	uint64_t start = addr & ~(PAGE_2M - 1);
	uint64_t end = (addr + size + PAGE_2M - 1) & ~(PAGE_2M - 1);
	uint64_t attr = PTE_P | PTE_RW | PTE_US | PTE_PS;
	int ret = 0;

	if (flags & RT_MAP_UC)
		attr |= PTE_PCD | PTE_PWT;
	if (end > LOWER_HALF_END || end < start)
		return -1;
	for (uint64_t a = start; a < end; a += PAGE_2M) {
		uint64_t *pdpt = next_table(rt_pml4, (a >> 39) & 511);
		uint64_t *pd = pdpt ? next_table(pdpt, (a >> 30) & 511) : NULL;

		if (!pd) {
			ret = -1;
			break;
		}
		pd[(a >> 21) & 511] = a | attr;
	}
	/* flush the TLB: changed entries may have been cached */
	__asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" : : : "rax", "memory");
	return ret;
}
