/* SPDX-License-Identifier: MIT */
/*
 * Shared by the loaders (boot.c, boot_pvh.c, boot_bzimage.c); not a public interface. A
 * loader first plans where everything goes, then writes: the plan is made against a
 * `struct boot_ram`, which is either the guest RAM itself (boot_load) or only its size,
 * laid out as mem_init lays it out (boot_check, before any VM exists). The same code decides
 * in both cases, so `vmm check` cannot accept what `vmm run` refuses.
 */
#ifndef VMM_BOOT_INTERNAL_H
#define VMM_BOOT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/boot/boot.h"
#include "vmm/mem.h"

struct boot_ram {
	const struct guest_mem *mem; /* NULL: only `size` is known */
	uint64_t size;
};

/* Is [gpa, gpa+len) in guest RAM (in one region)? */
bool boot_ram_has(const struct boot_ram *r, uint64_t gpa, uint64_t len);
/* The end of the RAM below the PCI hole: low RAM ends there or at the end of RAM. */
uint64_t boot_ram_low_end(const struct boot_ram *r);

/*
 * Where `size` bytes go top-down (as QEMU places an initrd): the highest page-aligned
 * address whose range ends at most at `top` and starts at or above `floor`. False if there
 * is none.
 */
bool boot_place_below(uint64_t top, uint64_t floor, uint64_t size, uint64_t *addr);

int boot_check_pvh(const struct boot_ram *ram, const struct boot_check_in *in, char *err,
		   size_t errlen);
int boot_check_bzimage(const struct boot_ram *ram, const struct boot_check_in *in, char *err,
		       size_t errlen);

#endif
