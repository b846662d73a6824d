/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables for the machine (ACPI 6.5): RSDP, XSDT, FADT, FACS, DSDT, MADT, MCFG, and DMAR
 * (Intel VT-d spec 8) when the machine has an IOMMU.
 *
 * Two steps, so that a firmware that allocates memory itself (SeaBIOS reading QEMU-style
 * etc/table-loader commands over fw_cfg) can reuse the first one:
 *   1. acpi_tables_build() makes every table a blob of its own. Fields that hold another
 *      table's address contain the offset into that table (0) and are listed as pointers;
 *      the checksums that cover them are listed too (they map onto the loader's ADD_POINTER
 *      and ADD_CHECKSUM commands).
 *   2. acpi_tables_place() lays the blobs out at one guest-physical base address, adds the
 *      addresses into the pointer fields and computes the checksums.
 * acpi_build() does both for direct boot: the machine copies the result to 0xE0000, where the
 * RSDP is also found by the legacy scan of 0xE0000-0xFFFFF (ACPI 6.5 5.2.5.1), and hands the
 * RSDP address to the kernel (PVH start_info.rsdp_paddr, boot_params.acpi_rsdp_addr).
 */
#ifndef FIRMWARE_ACPI_H
#define FIRMWARE_ACPI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "firmware/platform.h"

/* Every table's header says this (the RSDP carries the OEM ID only). */
#define ACPI_OEM_ID	      "VMM   "	 /* 6 characters */
#define ACPI_OEM_TABLE_ID     "VMMTABLE" /* 8 characters */
#define ACPI_OEM_REVISION     1
#define ACPI_CREATOR_ID	      "VMM " /* 4 characters */
#define ACPI_CREATOR_REVISION 1

#define ACPI_HEADER_SIZE 36

/* Blobs, in the order acpi_tables_place() lays them out. */
enum acpi_blob_id {
	ACPI_BLOB_RSDP,
	ACPI_BLOB_FACS,
	ACPI_BLOB_DSDT,
	ACPI_BLOB_FADT,
	ACPI_BLOB_MADT,
	ACPI_BLOB_MCFG,
	ACPI_BLOB_DMAR, /* empty (len 0) without an IOMMU */
	ACPI_BLOB_XSDT,
	ACPI_NBLOBS,
};

/* A field of `size` (4 or 8) bytes at `offset` to which the address of `target` is added. */
struct acpi_pointer {
	uint32_t offset;
	uint8_t size;
	enum acpi_blob_id target;
};

/* The byte at `offset` makes the bytes [start, start + length) sum to zero. */
struct acpi_checksum {
	uint32_t offset, start, length;
};

#define ACPI_MAX_POINTERS  8
#define ACPI_MAX_CHECKSUMS 2

struct acpi_blob {
	const char *name; /* e.g. "DSDT", "RSDP" */
	uint8_t *data;
	size_t len;
	uint32_t align; /* power of two */
	int npointers, nchecksums;
	struct acpi_pointer pointers[ACPI_MAX_POINTERS];
	/* Applied in order: the RSDP's first checksum is inside its extended one's range. */
	struct acpi_checksum checksums[ACPI_MAX_CHECKSUMS];
};

struct acpi_tables {
	struct acpi_blob blob[ACPI_NBLOBS];
};

/* 0, -EINVAL (a platform the tables cannot describe, e.g. > 255 CPUs) or -ENOMEM. */
int acpi_tables_build(const struct fw_platform *p, struct acpi_tables *t);
void acpi_tables_free(struct acpi_tables *t);

/*
 * Lay the blobs out in `buf`, which will appear at guest physical `base` (16-byte aligned for
 * the RSDP's sake): each blob at the next multiple of its alignment, unused bytes zero. The
 * blobs in `t` are not changed. Returns the number of bytes used, -ENOSPC when `size` is too
 * small, -EINVAL when base is misaligned or an address does not fit a 32-bit pointer field.
 * `addr` (optional) receives every blob's guest physical address.
 */
ssize_t acpi_tables_place(const struct acpi_tables *t, uint64_t base, void *buf, size_t size,
			  uint64_t addr[ACPI_NBLOBS]);

/*
 * Build and place in one go. Returns 0 with the RSDP's guest physical address and the bytes
 * used, or -ENOSPC, -EINVAL, -ENOMEM.
 */
int acpi_build(const struct fw_platform *p, uint64_t base, void *buf, size_t size,
	       uint64_t *rsdp_addr, size_t *total);

/* The byte that makes `len` bytes sum to zero when stored in a zeroed checksum field. */
uint8_t acpi_checksum(const void *data, size_t len);

#endif
