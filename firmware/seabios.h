/* SPDX-License-Identifier: MIT */
/*
 * SeaBIOS as the machine's firmware: the image (mapped below 4 GiB by the machine), the
 * fw_cfg files it reads (etc/e820, the ACPI tables through etc/table-loader, ...) and the
 * 0x402 debug console it logs to. Facts from SeaBIOS 1.16 src/fw/paravirt.c,
 * src/fw/romfile_loader.[ch], src/boot.c and QEMU docs/specs/fw_cfg.rst.
 */
#ifndef FIRMWARE_SEABIOS_H
#define FIRMWARE_SEABIOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "firmware/acpi.h"
#include "vmm/bus.h"
#include "vmm/dev/fw_cfg.h"
#include "vmm/mem.h"
#include "vmm/pci/pci.h"

/* Debian's seabios package: the 256 KiB build is the one with the NVMe driver. */
#define SEABIOS_DEFAULT_IMAGE "/usr/share/seabios/bios-256k.bin"

/*
 * The end of the image also appears below 1 MiB, ending at 0xFFFFF: at most 256 KiB, from
 * 0xC0000. On QEMU only the last 128 KiB are there at reset, and SeaBIOS copies the rest of
 * itself (the 256 KiB build's 32-bit init code) down after opening the i440FX/Q35 PAM
 * registers (src/fw/shadow.c). Our host bridge has no PAM, so that copy never happens: the
 * machine does it (writable RAM), which is the state SeaBIOS would have reached.
 */
#define SEABIOS_LOW_END	 0x100000ULL
#define SEABIOS_LOW_MAX	 0x40000ULL
#define SEABIOS_MIN_SIZE 0x20000ULL
#define SEABIOS_MAX_SIZE (16ULL << 20)

/* QEMU's debug console (isa-debugcon): SeaBIOS writes its log here; reads return 0xE9. */
#define SEABIOS_DEBUGCON_PORT	  0x402
#define SEABIOS_DEBUGCON_READBACK 0xe9

/* etc/table-loader commands (romfile_loader.h): 128 bytes each, little-endian. */
#define LOADER_ENTRY_SIZE	128
#define LOADER_FILESZ		56
#define LOADER_CMD_ALLOCATE	1
#define LOADER_CMD_ADD_POINTER	2
#define LOADER_CMD_ADD_CHECKSUM 3
#define LOADER_ZONE_HIGH	1 /* malloc_high: RAM below 4 GiB */
#define LOADER_ZONE_FSEG	2 /* the 0xF0000 segment, where the RSDP scan looks */
/* Field offsets inside an entry */
#define LOADER_ALLOC_FILE   4
#define LOADER_ALLOC_ALIGN  60
#define LOADER_ALLOC_ZONE   64
#define LOADER_PTR_DEST	    4
#define LOADER_PTR_SRC	    60
#define LOADER_PTR_OFFSET   116
#define LOADER_PTR_SIZE	    120
#define LOADER_CKSUM_FILE   4
#define LOADER_CKSUM_OFFSET 60
#define LOADER_CKSUM_START  64
#define LOADER_CKSUM_LENGTH 68

#define SEABIOS_FILE_RSDP   "etc/acpi/rsdp"
#define SEABIOS_FILE_TABLES "etc/acpi/tables"
#define SEABIOS_FILE_LOADER "etc/table-loader"

/* The ACPI tables as SeaBIOS loads them: two blobs and the commands that link them. */
struct seabios_acpi {
	uint8_t *rsdp, *tables, *loader;
	uint32_t rsdp_len, tables_len, loader_len;
	uint32_t offset[ACPI_NBLOBS]; /* each table's offset inside its file */
};

/* 0, -ENOMEM, or -EINVAL for tables the loader cannot express. */
int seabios_acpi_build(const struct acpi_tables *t, struct seabios_acpi *out);
void seabios_acpi_free(struct seabios_acpi *a);

/*
 * "bootorder" (src/boot.c loadBootOrder): one device path per line, the first line the first
 * to try. SeaBIOS builds a path for each PCI function it can boot from (build_pci_path):
 * "/pci@i0cf8", then "/pci-bridge@<slot>[,<fn>]" for every bridge on the way down, then a node
 * "*@<slot>[,<fn>]" for the device, and matches it against each line's prefix, '*' standing
 * for any node name. A last line "HALT" makes every device not listed unbootable (QEMU
 * writes it for -boot strict=on).
 */
#define SEABIOS_FILE_BOOTORDER "bootorder"
#define SEABIOS_PCI_ROOT       "/pci@i0cf8" /* the host bridge, at config mechanism #1 */
#define SEABIOS_BOOT_HALT      "HALT"
#define SEABIOS_BOOT_PATH_MAX  256 /* SeaBIOS's own buffer (bootprio_find_pci_device) */

/*
 * The path of PCI function `dev` as a bootorder line, from where it sits in the tree: its
 * own slot and function and those of the bridges above it (bus numbers play no part, so it
 * holds whatever numbers SeaBIOS's enumeration gives the buses). The device's node is named
 * "pci<vendor>,<device>", as QEMU names a function it has no class name for. Returns the
 * length, or -ENAMETOOLONG if it does not fit `len` (at most SEABIOS_BOOT_PATH_MAX).
 */
int seabios_pci_boot_path(const struct pci_dev *dev, char *buf, size_t len);

/* What the fw_cfg device tells SeaBIOS. */
struct seabios_config {
	int ncpus;
	const struct e820_entry *e820;
	int ne820;
	const struct acpi_tables *acpi; /* NULL: SeaBIOS builds its own tables */
	uint16_t sercon_port;		/* 0: no serial console; else its I/O base */
	bool have_reboot_timeout;
	int32_t reboot_timeout_ms;	   /* -1: wait forever after "No bootable device" */
	const struct pci_dev *const *boot; /* boot order: only these, in this order */
	int nboot;			   /* 0: no "bootorder" (SeaBIOS's default order) */
};

/* Fill `f` with SeaBIOS's items and files. 0 or -errno. */
int seabios_fw_cfg_setup(struct fw_cfg *f, const struct seabios_config *c);

/*
 * Read a firmware image into page-aligned, read-only host memory (for a read-only memslot).
 * Its size must be a multiple of 4 KiB between SEABIOS_MIN_SIZE and SEABIOS_MAX_SIZE.
 * Returns 0 or -errno with a message in `err`.
 */
int seabios_image_load(const char *path, void **image, size_t *size, char *err, size_t errlen);
void seabios_image_free(void *image, size_t size);

/* The debug console: bytes go to `log` (may be NULL: dropped). */
struct seabios_debugcon {
	FILE *log;
};
extern const struct bus_ops seabios_debugcon_ops;

#endif
