/* SPDX-License-Identifier: MIT */
/*
 * pcie-enum: the PCIe tree as a guest sees it. One file per check: scan.c walks ECAM like
 * an OS (bus numbers from the bridges, BAR sizing, capability lists), dtb.c compares the
 * device tree vmm passes with the scan, msix.c raises testdev MSI-X vectors into the local
 * APIC, p2p.c has one testdev DMA into another's RAM BAR.
 */
#ifndef PCIE_ENUM_H
#define PCIE_ENUM_H

#include "rt.h"

#define ECAM_BASE 0xB0000000ULL /* vmm/mem.h MEM_ECAM_BASE; QEMU q35 after SeaBIOS too */
#define MAX_FUNCS 256
#define MAX_CAPS  48 /* a longer list is a loop */

#define TESTDEV_VENDOR	       0x1234 /* devices/testdev/testdev.h */
#define TESTDEV_DEVICE	       0x7120
#define TESTDEV_MAGIC	       0x544d4d56u
#define TESTDEV_REG_MAGIC      0x00
#define TESTDEV_REG_NVEC       0x04
#define TESTDEV_REG_RAISE      0x08
#define TESTDEV_REG_DMA_SRC    0x10
#define TESTDEV_REG_DMA_DST    0x18
#define TESTDEV_REG_DMA_LEN    0x20
#define TESTDEV_REG_DMA_GO     0x24
#define TESTDEV_REG_DMA_STATUS 0x28
#define TESTDEV_DMA_OK	       0
#define TESTDEV_DMA_BAD_DST    2

/* PCI Local Bus 3.0 / PCIe 5.0 chapter 7 */
#define PCI_VENDOR_ID		      0x00
#define PCI_COMMAND		      0x04
#define PCI_COMMAND_IO		      0x1
#define PCI_COMMAND_MEMORY	      0x2
#define PCI_COMMAND_MASTER	      0x4
#define PCI_STATUS		      0x06
#define PCI_STATUS_CAP_LIST	      0x10
#define PCI_CLASS_REVISION	      0x08
#define PCI_HEADER_TYPE		      0x0e
#define PCI_HEADER_TYPE_MULTI	      0x80
#define PCI_BASE_ADDRESS_0	      0x10
#define PCI_BASE_ADDRESS_SPACE_IO     0x1
#define PCI_BASE_ADDRESS_MEM_TYPE_64  0x4
#define PCI_BASE_ADDRESS_MEM_PREFETCH 0x8
#define PCI_PRIMARY_BUS		      0x18 /* dword: primary, secondary, subordinate, latency */
#define PCI_IO_BASE		      0x1c
#define PCI_MEMORY_BASE		      0x20
#define PCI_PREF_MEMORY_BASE	      0x24
#define PCI_PREF_BASE_UPPER32	      0x28
#define PCI_PREF_LIMIT_UPPER32	      0x2c
#define PCI_CAPABILITY_LIST	      0x34
#define PCI_CFG_EXT		      0x100
#define PCI_CFG_SIZE		      0x1000
#define PCI_CAP_ID_MSIX		      0x11
#define PCI_MSIX_FLAGS		      2
#define PCI_MSIX_FLAGS_QSIZE	      0x7ff
#define PCI_MSIX_FLAGS_MASKALL	      0x4000
#define PCI_MSIX_FLAGS_ENABLE	      0x8000
#define PCI_MSIX_TABLE		      4
#define PCI_MSIX_PBA		      8
#define PCI_MSIX_BIR		      0x7
#define PCI_MSIX_ENTRY_SIZE	      16
#define PCI_MSIX_ENTRY_VECTOR_CTRL    12
#define PCI_MSIX_ENTRY_CTRL_MASKBIT   0x1

#define PCI_DEVFN(slot, fn) ((uint8_t)(((slot) << 3) | ((fn)&7)))
#define PCI_SLOT(devfn)	    (((devfn) >> 3) & 0x1f)
#define PCI_FUNC(devfn)	    ((devfn)&7)

enum bar_kind { BAR_NONE, BAR_IO, BAR_MEM32, BAR_MEM64 };

struct bar {
	uint64_t addr, size;
	uint8_t kind; /* enum bar_kind */
	bool pref;
};

/* One function found by the scan. */
struct pci_func {
	uint8_t bus, devfn, hdr; /* hdr: header type without the multi-function bit */
	uint16_t vendor, device, command;
	uint32_t class_code; /* base, sub, prog-if */
	int parent;	     /* index of the bridge above, -1 on bus 0 */
	uint8_t sec, sub;    /* bridges */
	uint64_t mem_base, mem_limit, pref_base, pref_limit; /* bridges; limit < base: closed */
	struct bar bar[6];
	uint8_t msix; /* capability offset, 0 if none */
	bool in_dtb;
};

struct pci_scan {
	int n;
	struct pci_func f[MAX_FUNCS];
};

static inline uint64_t ecam_addr(uint8_t bus, uint8_t devfn, uint16_t off)
{
	return ECAM_BASE + ((uint64_t)bus << 20) + ((uint64_t)devfn << 12) + off;
}
static inline uint32_t cfg_read32(const struct pci_func *f, uint16_t off)
{
	return mmio_read32(ecam_addr(f->bus, f->devfn, off));
}
static inline uint16_t cfg_read16(const struct pci_func *f, uint16_t off)
{
	return mmio_read16(ecam_addr(f->bus, f->devfn, off));
}
static inline void cfg_write32(const struct pci_func *f, uint16_t off, uint32_t v)
{
	mmio_write32(ecam_addr(f->bus, f->devfn, off), v);
}
static inline void cfg_write16(const struct pci_func *f, uint16_t off, uint16_t v)
{
	mmio_write16(ecam_addr(f->bus, f->devfn, off), v);
}

/* scan.c: walk from bus 0, print every function, size BARs, walk capabilities. */
void scan_tree(struct pci_scan *s);
/* The first standard capability with `id`, 0 if none (reads config space). */
uint8_t scan_find_cap(const struct pci_func *f, uint8_t id);
/* Does [addr, addr + size) overlap any BAR or bridge memory window? */
bool scan_range_used(const struct pci_scan *s, uint64_t addr, uint64_t size);

/* dtb.c: compare the "vmm-dtb" module with the scan (prints "no dtb module" without one). */
void dtb_check(struct pci_scan *s);

/* msix.c: MSI-X delivery through the local APIC for one testdev. */
void msix_check(const struct pci_func *f, const char *name);

/* p2p.c: DMA from testdev a into testdev b's RAM BAR, and into a hole. */
void p2p_check(const struct pci_scan *s, const struct pci_func *a, const struct pci_func *b);

/* plx.c: every PLX DMA engine copies RAM -> RAM, and into `ram_bar`'s BAR2 when given. */
void plx_check(const struct pci_scan *s, const struct pci_func *ram_bar);

#endif
