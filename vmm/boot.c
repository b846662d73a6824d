/* SPDX-License-Identifier: MIT */
/* Which loader does this image need? The loaders themselves are boot_pvh.c and boot_bzimage.c. */
#include "vmm/boot.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/util.h"

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
	snprintf(err, errlen, "unrecognised kernel image: neither an ELF (PVH) nor a bzImage");
	return -ENOEXEC;
}
