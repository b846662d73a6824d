/* SPDX-License-Identifier: MIT */
/*
 * struct hvm_start_info (Xen public/arch-x86/hvm/start_info.h). Everything it points to is
 * below 4 GiB in practice and so identity-mapped; addresses are used as pointers as is.
 */
#include "internal.h"

static const struct hvm_start_info *info;

bool rt_start_info_init(void)
{
	const struct hvm_start_info *si = (const void *)(uintptr_t)rt_start_info_paddr;

	if (!si || si->magic != HVM_START_MAGIC_VALUE)
		return false;
	info = si;
	return true;
}

const struct hvm_start_info *rt_start_info(void)
{
	return info;
}

int rt_memmap(const struct hvm_memmap_table_entry **entries)
{
	if (info->version < 1 || !info->memmap_paddr) {
		*entries = NULL;
		return 0;
	}
	*entries = (const void *)(uintptr_t)info->memmap_paddr;
	return (int)info->memmap_entries;
}

uint64_t rt_ram_total(void)
{
	const struct hvm_memmap_table_entry *e;
	int n = rt_memmap(&e);
	uint64_t total = 0;

	for (int i = 0; i < n; i++)
		if (e[i].type == RT_MEM_RAM)
			total += e[i].size;
	return total;
}

int rt_modules(const struct hvm_modlist_entry **mods)
{
	if (!info->modlist_paddr) {
		*mods = NULL;
		return 0;
	}
	*mods = (const void *)(uintptr_t)info->modlist_paddr;
	return (int)info->nr_modules;
}

const char *rt_module_cmdline(const struct hvm_modlist_entry *mod)
{
	return mod->cmdline_paddr ? (const char *)(uintptr_t)mod->cmdline_paddr : "";
}
