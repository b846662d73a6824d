/* SPDX-License-Identifier: MIT */
/*
 * What firmware tables describe: one plain description of the machine, filled in by the
 * machine from the same layout that places the devices (DESIGN.md, memory map), and turned
 * into ACPI tables (firmware/acpi.h) and a device tree (firmware/fdt.h).
 */
#ifndef FIRMWARE_PLATFORM_H
#define FIRMWARE_PLATFORM_H

#include <stdint.h>

#include "vmm/dev/pm.h"
#include "vmm/dev/serial.h"
#include "vmm/mem.h"

struct pci_root;

struct fw_platform {
	int ncpus; /* vCPU i has APIC ID i and ACPI processor UID i */
	const struct e820_entry *e820;
	int ne820;

	/* PCIe: ECAM covers buses bus_start..bus_end (1 MiB each) from ecam_base. */
	uint64_t ecam_base;
	uint8_t bus_start, bus_end;
	/* Host bridge windows BARs are placed in (pci_assign); a size of 0 means none. */
	uint64_t mmio32_base, mmio32_size;
	uint64_t mmio64_base, mmio64_size;
	uint32_t io_base, io_size;
	struct pci_root *pci; /* may be NULL: no PCI functions in the device tree */

	/* Interrupt controllers */
	uint64_t lapic_base;
	uint64_t ioapic_base;
	uint8_t ioapic_id;
	int sci_irq; /* ISA IRQ of the SCI */
	/* A VT-d unit's register page covering PCI segment 0 (DMAR table); 0: none */
	uint64_t iommu_base;

	/* ACPI fixed hardware (I/O ports) */
	uint16_t pm1a_evt, pm1a_cnt;
	uint16_t reset_port;
	uint8_t reset_value;

	/* COM1 (0 ports: no serial device described) */
	uint16_t com1_port;
	uint8_t com1_irq;
};

/* The parts of vmm's fixed layout: everything except ncpus, e820, pci and mmio64. */
static inline void fw_platform_defaults(struct fw_platform *p)
{
	*p = (struct fw_platform){
		.ncpus = 1,
		.ecam_base = MEM_ECAM_BASE,
		.bus_start = 0,
		.bus_end = (uint8_t)((MEM_ECAM_SIZE >> 20) - 1),
		.mmio32_base = MEM_MMIO32_BASE,
		.mmio32_size = MEM_MMIO32_END - MEM_MMIO32_BASE,
		.io_base = 0xc000, /* where SeaBIOS puts I/O BARs too */
		.io_size = 0x4000,
		.lapic_base = MEM_LAPIC_BASE,
		.ioapic_base = MEM_IOAPIC_BASE,
		.ioapic_id = 0,
		.sci_irq = 9,
		.pm1a_evt = PM_BASE,
		.pm1a_cnt = PM_CNT_PORT,
		.reset_port = RESET_CONTROL_PORT,
		.reset_value = 0x06, /* SYS_RST | RST_CPU */
		.com1_port = SERIAL_COM1_BASE,
		.com1_irq = SERIAL_COM1_IRQ,
	};
}

#endif
