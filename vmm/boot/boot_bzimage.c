/* SPDX-License-Identifier: MIT */
/*
 * Linux bzImage loader, entered through the 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"): the protected-mode kernel is
 * copied to 1 MiB, the zero page (struct boot_params) carries the setup header, command line,
 * initrd and e820 map, and the vCPU starts at startup_64 (load address + 0x200) in long mode
 * with identity-mapped paging, CS = __BOOT_CS (0x10), DS = __BOOT_DS (0x18), RSI = zero page.
 *
 * The image comes from the user: every header field is checked before it is used.
 */
#include "vmm/boot/boot.h"
#include "vmm/boot/boot_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/util.h"

#define PAGE_SIZE 4096ULL

/* Offsets in the image and in struct boot_params (boot.rst, "The real-mode kernel header"). */
#define BP_ACPI_RSDP_ADDR    0x070 /* protocol 2.14+ (zero-page.rst) */
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE  0x0c4
#define BP_EXT_CMD_LINE_PTR  0x0c8
#define BP_E820_ENTRIES	     0x1e8
#define BP_HDR		     0x1f1 /* the setup header starts here */
#define BP_SETUP_SECTS	     0x1f1
#define BP_VID_MODE	     0x1fa
#define BP_BOOT_FLAG	     0x1fe
#define BP_JUMP		     0x200
#define BP_HEADER	     0x202
#define BP_VERSION	     0x206
#define BP_TYPE_OF_LOADER    0x210
#define BP_LOADFLAGS	     0x211
#define BP_RAMDISK_IMAGE     0x218
#define BP_RAMDISK_SIZE	     0x21c
#define BP_HEAP_END_PTR	     0x224
#define BP_CMD_LINE_PTR	     0x228
#define BP_INITRD_ADDR_MAX   0x22c
#define BP_KERNEL_ALIGNMENT  0x230
#define BP_RELOCATABLE	     0x234
#define BP_XLOADFLAGS	     0x236
#define BP_CMDLINE_SIZE	     0x238
#define BP_SETUP_DATA	     0x250
#define BP_PREF_ADDRESS	     0x258
#define BP_INIT_SIZE	     0x260
#define BP_HDR_MAX_END	     0x290 /* boot_params pads the header to here */
#define BP_E820_TABLE	     0x2d0
#define BP_E820_MAX	     128
#define BP_E820_ENTRY_SIZE   20 /* packed {u64 addr, u64 size, u32 type} */
#define BP_SIZE		     4096

#define LOADED_HIGH   0x01
#define CAN_USE_HEAP  0x80
#define XLF_KERNEL_64 0x01

#define KERNEL_LOAD_ADDR 0x100000ULL

/* A GDT for the 64-bit entry: null, null, __BOOT_CS, __BOOT_DS (boot.rst 64-bit protocol). */
#define GDT_CODE64 0x00af9b000000ffffULL /* present, DPL0, code exec/read, L=1, G=1 */
#define GDT_DATA   0x00cf93000000ffffULL /* present, DPL0, data read/write, D/B=1, G=1 */

#define PTE_P  0x001ULL
#define PTE_RW 0x002ULL
#define PTE_PS 0x080ULL /* 2 MiB page in a PD entry */

static uint16_t rd16(const uint8_t *p, size_t off)
{
	uint16_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint32_t rd32(const uint8_t *p, size_t off)
{
	uint32_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint64_t rd64(const uint8_t *p, size_t off)
{
	uint64_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static void wr16(uint8_t *p, size_t off, uint16_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

static void wr32(uint8_t *p, size_t off, uint32_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

static void wr64(uint8_t *p, size_t off, uint64_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

/* Identity map of [0, 4 GiB) with 2 MiB pages: one PML4 entry, 4 PDPT entries, 4 PDs. */
static int write_page_tables(const struct guest_mem *mem)
{
	uint64_t page[512];

	memset(page, 0, sizeof(page));
	page[0] = BOOT_PDPT_ADDR | PTE_P | PTE_RW;
	if (mem_write(mem, BOOT_PML4_ADDR, page, sizeof(page)))
		return -ENOMEM;
	memset(page, 0, sizeof(page));
	for (int i = 0; i < 4; i++)
		page[i] = (BOOT_PD_ADDR + (uint64_t)i * PAGE_SIZE) | PTE_P | PTE_RW;
	if (mem_write(mem, BOOT_PDPT_ADDR, page, sizeof(page)))
		return -ENOMEM;
	for (int pd = 0; pd < 4; pd++) {
		for (int i = 0; i < 512; i++)
			page[i] = (((uint64_t)pd * 512 + (uint64_t)i) << 21) | PTE_P | PTE_RW |
				  PTE_PS;
		if (mem_write(mem, BOOT_PD_ADDR + (uint64_t)pd * PAGE_SIZE, page, sizeof(page)))
			return -ENOMEM;
	}
	return 0;
}

static int write_gdt(const struct guest_mem *mem, struct boot_entry *out)
{
	const uint64_t gdt[4] = {0, 0, GDT_CODE64, GDT_DATA};

	if (mem_write(mem, BOOT_GDT_ADDR, gdt, sizeof(gdt)))
		return -ENOMEM;
	out->gdt_base = BOOT_GDT_ADDR;
	out->gdt_limit = sizeof(gdt) - 1;
	return 0;
}

/* Everything boot_load_bzimage decides before it writes: what the header says, where it goes. */
struct bz_plan {
	uint64_t hdr_end;      /* the setup header is [BP_HDR, hdr_end) of the image */
	uint64_t setup_size;   /* the real-mode part, not loaded */
	uint64_t payload_size; /* the protected-mode kernel, copied to `load` */
	uint64_t load, kernel_end;
	uint64_t initrd_addr; /* 0: no initrd */
};

/*
 * The checks of the header, the kernel's room in RAM, the command line's length and the
 * initrd's place, in that order. Returns 0 or the boot_check code (-ENOEXEC, -ENOMEM,
 * -E2BIG, -EFBIG) with a message.
 */
static int bz_plan(const struct boot_ram *ram, const uint8_t *img, size_t size, size_t cmdline_len,
		   uint64_t initrd_size, struct bz_plan *p, char *err, size_t errlen)
{
	uint64_t init_size, pref, align, run_start, payload_end = 0;
	uint16_t version;
	uint32_t cmdline_size;
	unsigned int setup_sects;

	memset(p, 0, sizeof(*p));
	/* Everything up to init_size (protocol 2.10+) must be in the file. */
	if (size < BP_INIT_SIZE + 4) {
		snprintf(err, errlen, "bzImage is truncated (%zu bytes)", size);
		return -ENOEXEC;
	}
	if (rd16(img, BP_BOOT_FLAG) != 0xaa55 || memcmp(img + BP_HEADER, "HdrS", 4) != 0) {
		snprintf(err, errlen, "not a bzImage (no \"HdrS\" setup header)");
		return -ENOEXEC;
	}
	version = rd16(img, BP_VERSION);
	if (version < 0x020c) {
		snprintf(
			err, errlen,
			"bzImage boot protocol %u.%02u is too old (need 2.12 for the 64-bit entry)",
			version >> 8, version & 0xff);
		return -ENOEXEC;
	}
	if (!(rd16(img, BP_XLOADFLAGS) & XLF_KERNEL_64)) {
		snprintf(err, errlen, "kernel has no 64-bit entry point (XLF_KERNEL_64 not set)");
		return -ENOEXEC;
	}
	if (!(img[BP_LOADFLAGS] & LOADED_HIGH)) {
		snprintf(err, errlen, "zImage (not loaded high) is not supported");
		return -ENOEXEC;
	}
	/* boot.rst: the header ends at 0x202 + the byte at 0x201 (the jump's offset). */
	p->hdr_end = BP_HEADER + (uint64_t)img[BP_JUMP + 1];
	if (p->hdr_end < BP_INIT_SIZE + 4) {
		snprintf(err, errlen, "bzImage setup header is too short for protocol 2.12");
		return -ENOEXEC;
	}
	if (p->hdr_end > BP_HDR_MAX_END)
		p->hdr_end = BP_HDR_MAX_END;
	if (p->hdr_end > size)
		p->hdr_end = size;

	/* setup_sects 0 means 4 (boot.rst); the protected-mode kernel follows the setup code. */
	setup_sects = img[BP_SETUP_SECTS] ? img[BP_SETUP_SECTS] : 4;
	p->setup_size = ((uint64_t)setup_sects + 1) * 512;
	if (p->setup_size >= size) {
		snprintf(err, errlen, "bzImage is truncated: no kernel after %u setup sectors",
			 setup_sects);
		return -ENOEXEC;
	}
	p->payload_size = size - p->setup_size;

	/*
	 * Load at 1 MiB. A relocatable kernel's startup_64 moves itself to
	 * max(aligned load address, LOAD_PHYSICAL_ADDR = pref_address) and needs init_size bytes
	 * from there; a non-relocatable one must be loaded at pref_address itself.
	 */
	init_size = rd32(img, BP_INIT_SIZE);
	pref = rd64(img, BP_PREF_ADDRESS);
	align = rd32(img, BP_KERNEL_ALIGNMENT);
	if (!IS_POW2(align))
		align = PAGE_SIZE;
	p->load = img[BP_RELOCATABLE] ? KERNEL_LOAD_ADDR : pref;
	run_start = ALIGN_UP(p->load, align);
	if (run_start < p->load || (img[BP_RELOCATABLE] && run_start < pref))
		run_start = img[BP_RELOCATABLE] ? pref : p->load;
	if (add_overflows_u64(run_start, init_size, &p->kernel_end) ||
	    add_overflows_u64(p->load, p->payload_size, &payload_end))
		p->kernel_end = UINT64_MAX;
	if (payload_end > p->kernel_end)
		p->kernel_end = payload_end;
	if (p->load < BOOT_DATA_END || p->kernel_end == UINT64_MAX ||
	    !boot_ram_has(ram, p->load, p->kernel_end - p->load)) {
		snprintf(err, errlen,
			 "kernel does not fit in guest RAM: needs 0x%llx..0x%llx (init_size %llu), "
			 "guest RAM is %llu bytes",
			 (unsigned long long)p->load, (unsigned long long)p->kernel_end,
			 (unsigned long long)init_size, (unsigned long long)ram->size);
		return -ENOMEM;
	}

	/* cmdline_size (2.06+): the longest command line, without the NUL */
	cmdline_size = rd32(img, BP_CMDLINE_SIZE);
	if (cmdline_len > BOOT_CMDLINE_MAX - 1 || cmdline_len > cmdline_size) {
		snprintf(err, errlen, "kernel command line is longer than %u bytes",
			 cmdline_size < BOOT_CMDLINE_MAX - 1 ? cmdline_size : BOOT_CMDLINE_MAX - 1);
		return -E2BIG;
	}

	/*
	 * The initrd goes as high as allowed (like QEMU): below the end of low RAM and so that
	 * its last byte is at most initrd_addr_max, and above everything the kernel needs.
	 */
	if (initrd_size) {
		uint64_t top = (uint64_t)rd32(img, BP_INITRD_ADDR_MAX) + 1;
		uint64_t floor = ALIGN_UP(p->kernel_end, PAGE_SIZE);

		if (top > boot_ram_low_end(ram))
			top = boot_ram_low_end(ram);
		if (!boot_place_below(top, floor, initrd_size, &p->initrd_addr)) {
			snprintf(err, errlen,
				 "initrd (%llu bytes) does not fit in guest RAM between the kernel "
				 "end 0x%llx and 0x%llx",
				 (unsigned long long)initrd_size, (unsigned long long)floor,
				 (unsigned long long)(top & ~(PAGE_SIZE - 1)));
			return -EFBIG;
		}
	}
	return 0;
}

int boot_check_bzimage(const struct boot_ram *ram, const struct boot_check_in *in, char *err,
		       size_t errlen)
{
	struct bz_plan p;

	return bz_plan(ram, in->kernel, in->kernel_size, in->cmdline_len, in->initrd_size, &p, err,
		       errlen);
}

int boot_load_bzimage(struct guest_mem *mem, const struct boot_params_in *in,
		      struct boot_entry *out, char *err, size_t errlen)
{
	const struct boot_ram ram = {.mem = mem, .size = mem->size};
	const uint8_t *img = in->kernel;
	uint8_t zp[BP_SIZE];
	struct bz_plan p;
	size_t cmdline_len = in->cmdline ? strnlen(in->cmdline, BOOT_CMDLINE_MAX) : 0;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!img || in->ne820 < 0 || (in->ne820 > 0 && !in->e820)) {
		snprintf(err, errlen, "bad boot parameters");
		return -EINVAL;
	}
	if (in->ne820 > BP_E820_MAX) {
		snprintf(err, errlen, "e820 map has %d entries, boot_params holds %d", in->ne820,
			 BP_E820_MAX);
		return -E2BIG;
	}
	ret = bz_plan(&ram, img, in->kernel_size, cmdline_len, in->initrd ? in->initrd_size : 0, &p,
		      err, errlen);
	if (ret == -EFBIG)
		ret = -ENOMEM; /* as before: the initrd does not fit */
	if (ret)
		return ret;

	/* The zero page: all zero, then the image's setup header copied in place. */
	memset(zp, 0, sizeof(zp));
	memcpy(zp + BP_HDR, img + BP_HDR, p.hdr_end - BP_HDR);
	wr16(zp, BP_VID_MODE, 0xffff); /* "normal": no video mode change */
	zp[BP_TYPE_OF_LOADER] = 0xff;  /* undefined boot loader: we have no assigned ID */
	/* LOADED_HIGH stays; CAN_USE_HEAP makes heap_end_ptr valid (the setup code's heap). */
	zp[BP_LOADFLAGS] |= CAN_USE_HEAP;
	wr16(zp, BP_HEAP_END_PTR, 0xe000 - 0x200);
	wr32(zp, BP_CMD_LINE_PTR, (uint32_t)BOOT_CMDLINE_ADDR);
	wr32(zp, BP_EXT_CMD_LINE_PTR, 0);
	wr32(zp, BP_RAMDISK_IMAGE, (uint32_t)p.initrd_addr);
	wr32(zp, BP_RAMDISK_SIZE, p.initrd_addr ? (uint32_t)in->initrd_size : 0);
	wr32(zp, BP_EXT_RAMDISK_IMAGE, 0);
	wr32(zp, BP_EXT_RAMDISK_SIZE, 0);
	/* setup_data is a guest pointer to a chain we did not build: never pass the image's. */
	wr64(zp, BP_SETUP_DATA, 0);
	wr64(zp, BP_ACPI_RSDP_ADDR, in->rsdp); /* 0: the kernel scans for it */
	zp[BP_E820_ENTRIES] = (uint8_t)in->ne820;
	for (int i = 0; i < in->ne820; i++) {
		size_t off = BP_E820_TABLE + (size_t)i * BP_E820_ENTRY_SIZE;

		wr64(zp, off, in->e820[i].addr);
		wr64(zp, off + 8, in->e820[i].size);
		wr32(zp, off + 16, in->e820[i].type);
	}

	if (mem_write(mem, p.load, img + p.setup_size, p.payload_size) ||
	    (p.initrd_addr && mem_write(mem, p.initrd_addr, in->initrd, in->initrd_size)) ||
	    mem_write(mem, BOOT_CMDLINE_ADDR, in->cmdline ? in->cmdline : "", cmdline_len + 1) ||
	    mem_write(mem, BOOT_ZERO_PAGE_ADDR, zp, sizeof(zp)) || write_page_tables(mem) ||
	    write_gdt(mem, out)) {
		snprintf(err, errlen, "guest RAM too small for the kernel and its boot data");
		return -ENOMEM;
	}

	out->mode = BOOT_MODE_LINUX64;
	out->rip = p.load + 0x200; /* startup_64 is 0x200 after startup_32 */
	out->rsi = BOOT_ZERO_PAGE_ADDR;
	out->cr3 = BOOT_PML4_ADDR;
	return 0;
}
