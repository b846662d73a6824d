/* SPDX-License-Identifier: MIT */
/* Which loader does this image need? The loaders themselves are boot_pvh.c and boot_bzimage.c. */
#include "vmm/boot/boot.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/boot/boot_internal.h"
#include "vmm/util.h"

#define PAGE_SIZE 4096ULL

enum boot_image_kind boot_detect(const uint8_t *img, size_t size)
{
	if (!img)
		return BOOT_IMAGE_UNKNOWN;
	if (size >= 4 && memcmp(img, "\177ELF", 4) == 0)
		return BOOT_IMAGE_PVH_ELF;
	/* boot.rst: boot_flag 0xAA55 at 0x1fe, header magic "HdrS" at 0x202 */
	if (size >= 0x206 && img[0x1fe] == 0x55 && img[0x1ff] == 0xaa &&
	    memcmp(img + 0x202, "HdrS", 4) == 0)
		return BOOT_IMAGE_BZIMAGE;
	return BOOT_IMAGE_UNKNOWN;
}

bool boot_ram_has(const struct boot_ram *r, uint64_t gpa, uint64_t len)
{
	return r->mem ? mem_gpa_to_hva(r->mem, gpa, len) != NULL
		      : mem_layout_has(r->size, gpa, len);
}

uint64_t boot_ram_low_end(const struct boot_ram *r)
{
	struct mem_region reg[MEM_MAX_REGIONS];

	if (r->mem)
		return r->mem->nregions > 0 && r->mem->regions[0].gpa == 0 ? r->mem->regions[0].size
									   : 0;
	mem_layout(r->size, reg);
	return reg[0].size;
}

bool boot_place_below(uint64_t top, uint64_t floor, uint64_t size, uint64_t *addr)
{
	top &= ~(PAGE_SIZE - 1);
	if (top < floor || size > top - floor || ((top - size) & ~(PAGE_SIZE - 1)) < floor)
		return false;
	*addr = (top - size) & ~(PAGE_SIZE - 1);
	return true;
}

static const char unknown_image[] =
	"neither a bzImage (no \"HdrS\" boot header at 0x202) nor a PVH ELF (no ELF magic)";

int boot_check(const struct boot_check_in *in, char *err, size_t errlen)
{
	const struct boot_ram ram = {.size = in->ram};

	if (!in->kernel || !in->kernel_size) {
		snprintf(err, errlen, "the kernel image is empty");
		return -ENOEXEC;
	}
	switch (boot_detect(in->kernel, in->kernel_size)) {
	case BOOT_IMAGE_PVH_ELF:
		return boot_check_pvh(&ram, in, err, errlen);
	case BOOT_IMAGE_BZIMAGE:
		return boot_check_bzimage(&ram, in, err, errlen);
	case BOOT_IMAGE_UNKNOWN:
		break;
	}
	snprintf(err, errlen, "%s", unknown_image);
	return -ENOEXEC;
}

int boot_load(struct guest_mem *mem, const struct boot_params_in *in, struct boot_entry *out,
	      char *err, size_t errlen)
{
	if (!in || !in->kernel || !in->kernel_size) {
		snprintf(err, errlen, "no kernel image given");
		return -EINVAL;
	}
	switch (boot_detect(in->kernel, in->kernel_size)) {
	case BOOT_IMAGE_PVH_ELF:
		return boot_load_pvh(mem, in, out, err, errlen);
	case BOOT_IMAGE_BZIMAGE:
		return boot_load_bzimage(mem, in, out, err, errlen);
	case BOOT_IMAGE_UNKNOWN:
		break;
	}
	snprintf(err, errlen, "unrecognised kernel image: %s", unknown_image);
	return -ENOEXEC;
}
