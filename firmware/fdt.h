/* SPDX-License-Identifier: MIT */
/*
 * A flattened device tree (DTB) of the machine, for test guests (passed as a PVH module) and
 * for `vmm inspect --dtb FILE`:
 *
 *   /            #address-cells = #size-cells = 2, compatible "vmm,virt"
 *   /chosen
 *   /memory@A    one per RAM entry of the e820 map, reg = <A size>
 *   /cpus/cpu@N  one per vCPU, reg = <APIC ID>
 *   /pcie@E      "pci-host-ecam-generic" (Documentation/devicetree/bindings/pci/
 *                host-generic-pci.yaml): reg = the ECAM of bus-range, ranges = the io, mmio32
 *                and mmio64 windows (I/O ports are mapped 1:1: x86 has no I/O-to-MMIO window)
 *     pci@S,F / pciVVVV,DDDD@S,F   one node per PCI function, bridges holding the functions
 *                behind them (IEEE 1275 PCI bus binding 2.2): reg = <bus<<16 | devfn<<8 0 0 0 0>
 */
#ifndef FIRMWARE_FDT_H
#define FIRMWARE_FDT_H

#include <stddef.h>

#include "firmware/platform.h"

/* Write the DTB into buf. Returns its size, -ENOSPC when `size` is too small, -EINVAL. */
int fdt_build(const struct fw_platform *p, void *buf, size_t size);

#endif
