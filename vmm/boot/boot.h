/* SPDX-License-Identifier: MIT */
/*
 * Kernel loaders: PVH ELF (Xen PVH boot ABI) and Linux bzImage (x86 boot protocol, 64-bit
 * entry). A loader writes the image and its boot data into guest RAM and fills in a
 * `struct boot_entry` describing the vCPU state to start in; the KVM core applies it.
 */
#ifndef VMM_BOOT_H
#define VMM_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/mem.h"

/* Fixed guest-physical addresses of boot data (all below 1 MiB, outside the kernel). */
#define BOOT_GDT_ADDR	     0x500ULL  /* GDT for the 64-bit Linux entry */
#define BOOT_START_INFO_ADDR 0x6000ULL /* PVH hvm_start_info + memmap + modlist */
#define BOOT_ZERO_PAGE_ADDR  0x7000ULL /* Linux boot_params */
#define BOOT_PML4_ADDR	     0x9000ULL /* identity page tables for the 64-bit Linux entry */
#define BOOT_PDPT_ADDR	     0xA000ULL
#define BOOT_PD_ADDR	     0xB000ULL /* 4 pages: identity map of the first 4 GiB in 2 MiB pages */
#define BOOT_CMDLINE_ADDR    0x20000ULL
#define BOOT_CMDLINE_MAX     4096
/* Loaders refuse kernel segments in [0, BOOT_DATA_END): real-mode IVT/BDA and the data above. */
#define BOOT_DATA_END (BOOT_CMDLINE_ADDR + BOOT_CMDLINE_MAX)
/* hvm_start_info, the memmap, the modlist and module command lines share this one page. */
#define BOOT_START_INFO_MAX 0x1000ULL
/* The 64-bit Linux entry: GDT selectors (Documentation/arch/x86/boot.rst, 64-bit protocol). */
#define BOOT_LINUX_CS 0x10
#define BOOT_LINUX_DS 0x18

enum boot_mode {
	BOOT_MODE_PVH32,   /* 32-bit protected mode, paging off, EBX = hvm_start_info */
	BOOT_MODE_LINUX64, /* long mode, identity paging, RSI = boot_params */
	BOOT_MODE_RESET,   /* firmware: the reset vector, real mode at F000:FFF0 (base FFFF0000) */
};

struct boot_entry {
	enum boot_mode mode;
	uint64_t rip;
	uint64_t rsi; /* LINUX64: boot_params */
	uint64_t rbx; /* PVH32: hvm_start_info */
	uint64_t rsp; /* 0: leave as is */
	/* LINUX64 only: page tables and GDT the loader wrote */
	uint64_t cr3;
	uint64_t gdt_base;
	uint16_t gdt_limit;
};

/* An extra blob handed to a PVH guest as a module (initrd, device tree). */
struct boot_module {
	const void *data;
	size_t size;
	const char *cmdline; /* may be NULL */
};

struct boot_params_in {
	const uint8_t *kernel;
	size_t kernel_size;
	const uint8_t *initrd; /* may be NULL */
	size_t initrd_size;
	const char *cmdline;		   /* may be NULL */
	const struct boot_module *modules; /* PVH only, after the initrd module */
	int nmodules;
	const struct e820_entry *e820;
	int ne820;
	uint64_t rsdp; /* ACPI RSDP guest address, 0: none given (the guest scans) */
};

/*
 * The Xen PVH boot ABI as the guest sees it (xen/include/public/arch-x86/hvm/start_info.h),
 * spelled as the spec spells it so the two read side by side.
 */
#define XEN_ELFNOTE_PHYS32_ENTRY  18
#define XEN_HVM_START_MAGIC_VALUE 0x336ec578U

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr; /* version >= 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type; /* same numbering as e820 */
	uint32_t reserved;
};

/* What boot_check is asked: a kernel image, and the sizes of what boots with it. */
struct boot_check_in {
	const uint8_t *kernel;
	size_t kernel_size;
	uint64_t initrd_size; /* 0: none */
	size_t cmdline_len;   /* bytes, without the NUL */
	uint64_t ram;	      /* bytes of guest RAM, laid out as mem_init lays them out */
};

/*
 * The checks boot_load makes before it writes anything, made on the kernel's headers and
 * the sizes alone, with no guest RAM: 0 when boot_load would accept them (the device tree
 * a PVH guest gets as a module is not counted), else what is wrong, with a message in `err`:
 *   -ENOEXEC  the kernel is not a bzImage or PVH ELF that vmm can boot
 *   -ENOMEM   the kernel does not fit in guest RAM
 *   -EFBIG    the initrd does not fit in guest RAM above the kernel
 *   -E2BIG    the command line is longer than this kernel takes
 * For checking a configuration before any VM exists (`vmm check`, and `vmm run` first).
 */
int boot_check(const struct boot_check_in *in, char *err, size_t errlen);

/* What kind of image is this? */
enum boot_image_kind { BOOT_IMAGE_UNKNOWN, BOOT_IMAGE_PVH_ELF, BOOT_IMAGE_BZIMAGE };
enum boot_image_kind boot_detect(const uint8_t *img, size_t size);
/* A PVH ELF that is a Linux vmlinux (it has notes owned by "Linux"). Linux takes PVH module
 * 0 as its initrd, so vmm hands it no device-tree module. */
bool boot_pvh_is_linux(const uint8_t *img, size_t size);

/*
 * Load an image (detected by boot_detect) into guest RAM. Returns 0 or -errno, with a
 * user-facing message in `err` (e.g. "ELF has no PVH entry note").
 */
int boot_load(struct guest_mem *mem, const struct boot_params_in *in, struct boot_entry *out,
	      char *err, size_t errlen);
int boot_load_pvh(struct guest_mem *mem, const struct boot_params_in *in, struct boot_entry *out,
		  char *err, size_t errlen);
int boot_load_bzimage(struct guest_mem *mem, const struct boot_params_in *in,
		      struct boot_entry *out, char *err, size_t errlen);

#endif
