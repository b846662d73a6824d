/* SPDX-License-Identifier: MIT */
/*
 * TI XIO3130 PCI Express switch, register-compatible with QEMU's x3130-upstream and
 * xio3130-downstream (hw/pci-bridge), so guests see the identity they already know:
 *
 *   upstream 104c:8232 rev 2             downstream 104c:8233 rev 1
 *   0x70 MSI, 1 vector, 64-bit           0x70 MSI, 1 vector, 64-bit
 *   0x80 SSVID 0000:0000                 0x80 SSVID 0000:0000
 *   0x90 PCI Express v2, Upstream (5)    0x90 PCI Express v2, Downstream (6), slot
 *   ext 0x100 AER                        ext 0x100 AER, ext 0x148 ACS (acs only)
 *
 * Links are x1 at 2.5 GT/s. The upstream port's secondary bus is the switch's internal bus;
 * downstream port i sits on it at device i, function 0.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pcie-switch/pcie_port.h"

#define XIO3130_UP_REVISION   2
#define XIO3130_DOWN_REVISION 1
#define XIO3130_MSI_OFFSET    0x70
#define XIO3130_SSVID_OFFSET  0x80
#define XIO3130_EXP_OFFSET    0x90
#define XIO3130_AER_OFFSET    0x100
#define XIO3130_ACS_OFFSET    (XIO3130_AER_OFFSET + PCIE_AER_SIZE)
#define XIO3130_LINK_WIDTH    1
#define XIO3130_LINK_SPEED    PCIE_SPEED_2_5GT

static int xio3130_port_caps(struct pcie_port *p, uint8_t port_number, uint16_t slot, bool acs)
{
	bool down = p->type == PCIE_TYPE_DOWNSTREAM;

	if (pcie_port_add_msi(p, XIO3130_MSI_OFFSET) < 0 ||
	    pcie_port_add_ssvid(p, XIO3130_SSVID_OFFSET, 0, 0) < 0 ||
	    pcie_port_add_exp(p, XIO3130_EXP_OFFSET, port_number, down, slot) < 0 ||
	    pcie_port_add_aer(p, XIO3130_AER_OFFSET) < 0)
		return -ENOSPC;
	if (down && acs && pcie_port_add_acs(p, XIO3130_ACS_OFFSET) < 0)
		return -ENOSPC;
	return 0;
}

struct xio3130 *xio3130_create(const char *id, int ndown, uint16_t first_slot, bool acs)
{
	struct xio3130 *sw;
	char name[sizeof(sw->up.name)];

	/* room for "<id>.31" in every port's name */
	if (!id || !*id || strlen(id) + 3 >= sizeof(name) || ndown < 1 ||
	    ndown > XIO3130_MAX_DOWN || (unsigned)first_slot + ndown - 1 > PCIE_SLTCAP_PSN_MAX) {
		errno = EINVAL;
		return NULL;
	}
	sw = calloc(1, sizeof(*sw) + (size_t)ndown * sizeof(sw->down[0]));
	if (!sw)
		return NULL;
	sw->ndown = ndown;
	sw->internal = &sw->up.bus;

	pcie_port_init(&sw->up, id, PCIE_VENDOR_TI, PCIE_DEVICE_XIO3130_UP, XIO3130_UP_REVISION,
		       PCIE_TYPE_UPSTREAM, XIO3130_LINK_WIDTH, XIO3130_LINK_SPEED);
	if (xio3130_port_caps(&sw->up, 0, 0, false) < 0)
		goto fail;

	for (int i = 0; i < ndown; i++) {
		struct pcie_port *p = &sw->down[i];

		snprintf(name, sizeof(name), "%s.%d", id, i);
		pcie_port_init(p, name, PCIE_VENDOR_TI, PCIE_DEVICE_XIO3130_DOWN,
			       XIO3130_DOWN_REVISION, PCIE_TYPE_DOWNSTREAM, XIO3130_LINK_WIDTH,
			       XIO3130_LINK_SPEED);
		if (xio3130_port_caps(p, (uint8_t)(i + 1), (uint16_t)(first_slot + i), acs) < 0)
			goto fail;
		if (pci_bus_add(sw->internal, &p->dev, PCI_DEVFN(i, 0)) < 0)
			goto fail;
	}
	return sw;
fail:
	xio3130_destroy(sw);
	errno = ENOSPC;
	return NULL;
}

void xio3130_destroy(struct xio3130 *sw)
{
	if (!sw)
		return;
	for (int i = 0; i < sw->ndown; i++)
		pci_dev_destroy(&sw->down[i].dev);
	pci_dev_destroy(&sw->up.dev);
	free(sw);
}
