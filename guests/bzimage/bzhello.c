/* SPDX-License-Identifier: MIT */
/*
 * bzhello: entered through the Linux 64-bit boot protocol (boot.rst "64-bit Boot Protocol":
 * long mode, identity-mapped, RSI = struct boot_params). Prints what the loader handed over
 * and powers off. Checked by tests/integration/t_bzimage.sh.
 *
 * Output:
 *   bzhello: entered 64-bit, boot_params 0xADDR
 *   bzhello: type_of_loader 0xff loadflags 0xNN
 *   bzhello: cmdline "..."
 *   bzhello: e820 0xADDR 0xSIZE TYPE        (one per entry)
 *   bzhello: initrd 0xADDR 0xSIZE "first bytes"
 *   bzhello: done
 */
#include "rt.h"

/* struct boot_params offsets (Documentation/arch/x86/zero-page.rst) */
#define BP_EXT_RAMDISK_IMAGE  0x0c0
#define BP_E820_ENTRIES	      0x1e8
#define BP_HDR_TYPE_OF_LOADER 0x210
#define BP_HDR_LOADFLAGS      0x211
#define BP_HDR_RAMDISK_IMAGE  0x218
#define BP_HDR_RAMDISK_SIZE   0x21c
#define BP_HDR_CMD_LINE_PTR   0x228
#define BP_E820_TABLE	      0x2d0

void bz_main(const uint8_t *bp);

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

void bz_main(const uint8_t *bp)
{
	const char *cmdline = (const char *)(uintptr_t)get32(bp + BP_HDR_CMD_LINE_PTR);
	uint32_t initrd = get32(bp + BP_HDR_RAMDISK_IMAGE);
	uint32_t initrd_size = get32(bp + BP_HDR_RAMDISK_SIZE);

	rt_serial_init();
	rt_printf("bzhello: entered 64-bit, boot_params 0x%llx\n",
		  (unsigned long long)(uintptr_t)bp);
	rt_printf("bzhello: type_of_loader 0x%x loadflags 0x%x\n", bp[BP_HDR_TYPE_OF_LOADER],
		  bp[BP_HDR_LOADFLAGS]);
	rt_printf("bzhello: cmdline \"%s\"\n", cmdline ? cmdline : "");
	for (unsigned i = 0; i < bp[BP_E820_ENTRIES] && i < 128; i++) {
		const uint8_t *e = bp + BP_E820_TABLE + 20 * i;

		rt_printf("bzhello: e820 0x%016llx 0x%016llx %u\n", (unsigned long long)get64(e),
			  (unsigned long long)get64(e + 8), get32(e + 16));
	}
	if (initrd_size) {
		char first[17] = {0};

		memcpy(first, (const void *)(uintptr_t)initrd, initrd_size < 16 ? initrd_size : 16);
		for (int i = 0; i < 16; i++)
			if (first[i] && (first[i] < 0x20 || first[i] > 0x7e))
				first[i] = '.';
		rt_printf("bzhello: initrd 0x%x 0x%x \"%s\"\n", initrd, initrd_size, first);
	}
	rt_printf("bzhello: done\n");
	/* ACPI PM1a_CNT: SLP_TYP 0 (S5) | SLP_EN, vmm/dev/pm.h; then debug-exit as a fallback */
	outw(0x604, 1 << 13);
	outl(0xf4, 0);
}
