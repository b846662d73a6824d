/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM and the guest-physical memory layout.
 *
 * RAM is one memfd (so it can be shared with an NTB peer). It is mapped at guest physical 0
 * up to the start of the 32-bit PCI hole, and the rest resumes at 4 GiB (DESIGN.md, memory
 * map). mem_gpa_to_hva() is the RAM case of the one bus-address lookup (vmm/addr_space.h,
 * DESIGN.md rule 2), for callers that only ever reach RAM (boot loaders, fw_cfg DMA): no
 * other code does pointer arithmetic on guest addresses.
 */
#ifndef VMM_MEM_H
#define VMM_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The x86-64 layout. Everything that describes memory (e820, ACPI, fw_cfg, DTB) uses it. */
#define MEM_HOLE_START	0x80000000ULL  /* low RAM ends here at most: 2 GiB */
#define MEM_HOLE_END	0x100000000ULL /* RAM resumes at 4 GiB */
#define MEM_ECAM_BASE	0xB0000000ULL  /* PCIe ECAM, 256 buses x 1 MiB */
#define MEM_ECAM_SIZE	0x10000000ULL
#define MEM_MMIO32_BASE 0xC0000000ULL /* 32-bit BARs */
#define MEM_MMIO32_END	0xFEC00000ULL
#define MEM_IOAPIC_BASE 0xFEC00000ULL
#define MEM_IOMMU_BASE	0xFED90000ULL /* VT-d registers, 4 KiB (where QEMU puts them) */
#define MEM_LAPIC_BASE	0xFEE00000ULL

/* Low-memory areas a BIOS-less boot still keeps free of RAM in the e820 map. */
#define MEM_EBDA_START 0x9FC00ULL
#define MEM_BIOS_START 0xA0000ULL /* VGA hole + option ROMs + BIOS, to 1 MiB */
#define MEM_HIGH_START 0x100000ULL

enum e820_type {
	E820_RAM = 1,
	E820_RESERVED = 2,
	E820_ACPI = 3,
	E820_NVS = 4,
};

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

#define MEM_MAX_E820	16
#define MEM_MAX_REGIONS 2 /* below the hole, above 4 GiB */

struct mem_region {
	uint64_t gpa; /* guest physical start */
	uint64_t size;
	uint8_t *hva;	 /* host mapping */
	uint64_t offset; /* offset in the memfd */
};

struct guest_mem {
	int memfd;
	uint8_t *base; /* whole memfd mapping */
	uint64_t size; /* total RAM bytes */
	bool hugepages;
	int nregions;
	struct mem_region regions[MEM_MAX_REGIONS];
};

/*
 * Create `size` bytes of guest RAM. With `hugepages` the memfd uses MFD_HUGETLB (2 MiB pages;
 * size must be a multiple). Returns 0 or -errno; `err` gets a message for the user.
 */
int mem_init(struct guest_mem *mem, uint64_t size, bool hugepages, char *err, size_t errlen);
void mem_free(struct guest_mem *mem);

/*
 * The regions mem_init makes of `size` bytes (gpa, size, offset; hva NULL); returns how
 * many. Lets a plan be checked against guest RAM before any exists (boot_check).
 */
int mem_layout(uint64_t size, struct mem_region out[MEM_MAX_REGIONS]);
/* mem_gpa_to_hva's answer for RAM of `size` bytes, without the RAM: is [gpa, gpa+len) in it? */
bool mem_layout_has(uint64_t size, uint64_t gpa, uint64_t len);

/*
 * Host pointer for [gpa, gpa+len) if the whole range lies in guest RAM (in one region), else
 * NULL. Never overflows; len 0 is treated as 1.
 */
void *mem_gpa_to_hva(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* RAM as address-space regions (owner NULL), for the bus-address space; returns how many. */
struct as_region;
int mem_as_regions(const struct guest_mem *mem, struct as_region *out, int max);

/* Copy to/from guest RAM; 0 or -EFAULT if any byte is outside RAM. */
int mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, uint64_t len);
int mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, uint64_t len);

/* The e820 map for this RAM size. Returns the number of entries written (<= max). */
int mem_e820(const struct guest_mem *mem, struct e820_entry *out, int max);

#endif
