/* SPDX-License-Identifier: MIT */
/*
 * The PCI Express root port: one per `[[root_port]]`, on bus 0.
 *
 * Identity 1234:7101 rev 0, not QEMU's 1b36:000c: firmware and guests key QEMU behaviour on
 * that ID (SeaBIOS looks for Red Hat's vendor-specific resource-reserve capability on Red Hat
 * bridges), and we do not implement QEMU's extras. Our own ID promises only what is here.
 *
 * MSI with one vector rather than QEMU's MSI-X: MSI-X would need a BAR on the port (taking
 * window space above everything below it) for interrupts a port without hot-plug never
 * raises; portdrv takes MSI as readily.
 *
 * Link: x16 at 5.0 GT/s. Linux only reads and prints these numbers (and computes available
 * bandwidth from them); 8.0 GT/s and above would oblige the Secondary PCI Express extended
 * capability (PCIe 5.0 7.7.3), which we do not model. The negotiated values follow the device
 * below (pcie_port_set_link).
 *
 *   0x40 PCI Express v2, Root Port, slot      ext 0x100 AER
 *   0x80 MSI, 1 vector, 64-bit                ext 0x148 ACS (acs only)
 *   0x90 Power Management (D0, D3hot)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pcie-switch/pcie_port.h"

#define RP_EXP_OFFSET 0x40
#define RP_MSI_OFFSET 0x80
#define RP_PM_OFFSET  0x90
#define RP_AER_OFFSET 0x100
#define RP_ACS_OFFSET (RP_AER_OFFSET + PCIE_AER_SIZE)
#define RP_LINK_WIDTH 16
#define RP_LINK_SPEED PCIE_SPEED_5GT

struct pcie_port *pcie_root_port_create(const char *id, uint8_t port_number, uint16_t slot,
					bool acs)
{
	struct pcie_port *rp;

	if (!id || !*id || strlen(id) >= sizeof(rp->name) || slot > PCIE_SLTCAP_PSN_MAX) {
		errno = EINVAL;
		return NULL;
	}
	rp = calloc(1, sizeof(*rp));
	if (!rp)
		return NULL;
	pcie_port_init(rp, id, PCIE_VENDOR_VMM, PCIE_DEVICE_ROOT_PORT, 0, PCIE_TYPE_ROOT_PORT,
		       RP_LINK_WIDTH, RP_LINK_SPEED);
	if (pcie_port_add_exp(rp, RP_EXP_OFFSET, port_number, true, slot) < 0 ||
	    pcie_port_add_msi(rp, RP_MSI_OFFSET) < 0 || pcie_port_add_pm(rp, RP_PM_OFFSET) < 0 ||
	    pcie_port_add_aer(rp, RP_AER_OFFSET) < 0 ||
	    (acs && pcie_port_add_acs(rp, RP_ACS_OFFSET) < 0)) {
		pcie_root_port_destroy(rp);
		errno = ENOSPC;
		return NULL;
	}
	return rp;
}

void pcie_root_port_destroy(struct pcie_port *rp)
{
	if (!rp)
		return;
	pci_dev_destroy(&rp->dev);
	free(rp);
}
