/* SPDX-License-Identifier: MIT */
/*
 * A function as a DMA requester seen from the root complex: its requester ID after the
 * bridges' aliasing, whether a request to a peer is routed below the root complex, and the
 * IOMMU every requester of a root goes through.
 */
#include <stdlib.h>

#include "vmm/pci/pci.h"
#include "vmm/pci/pcie_cap.h"

#define PCIE_TYPE_PCI_BRIDGE 0x7 /* PCIe 5.0 7.5.3.2: PCI Express to PCI/PCI-X Bridge */

static uint8_t bus_number(const struct pci_bus *bus)
{
	return bus->self ? __atomic_load_n(&bus->self->cfg[PCI_SECONDARY_BUS], __ATOMIC_RELAXED)
			 : 0;
}

/* Offset of capability `id` in the list (bounded: a list is at most 48 entries), or 0. */
static unsigned find_cap(const struct pci_dev *dev, uint8_t id)
{
	unsigned off;

	if (!(dev->cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST))
		return 0;
	off = dev->cfg[PCI_CAPABILITY_LIST] & ~3u;
	for (int i = 0; i < 48 && off >= 0x40 && off < PCI_LEGACY_CFG_SIZE - 1; i++) {
		if (dev->cfg[off] == id)
			return off;
		off = dev->cfg[off + 1] & ~3u;
	}
	return 0;
}

/* Device/Port Type of a PCIe function, -1 for conventional PCI. */
static int pcie_type(const struct pci_dev *dev)
{
	unsigned cap = find_cap(dev, PCI_CAP_ID_EXP);

	return cap ? (dev->cfg[cap + 2] >> 4) & 0xf : -1;
}

uint16_t pci_requester_id(const struct pci_dev *dev)
{
	uint16_t rid;

	if (!dev->bus)
		return dev->devfn;
	rid = (uint16_t)(bus_number(dev->bus) << 8 | dev->devfn);
	/*
	 * What reaches the root complex, bridge by bridge (Linux: pci_for_each_dma_alias()):
	 * PCIe ports forward the ID; a PCIe-to-PCI bridge forwards requests from its
	 * conventional side as (secondary bus, devfn 0) (PCIe-to-PCI/PCI-X Bridge 1.0 2.3); a
	 * conventional PCI bridge takes them over with its own ID.
	 */
	for (const struct pci_bus *bus = dev->bus; bus->self && bus->self->bus;
	     bus = bus->self->bus) {
		const struct pci_dev *br = bus->self;
		int type = pcie_type(br);

		if (type < 0)
			rid = (uint16_t)(bus_number(br->bus) << 8 | br->devfn);
		else if (type == PCIE_TYPE_PCI_BRIDGE)
			rid = (uint16_t)(bus_number(bus) << 8);
	}
	return rid;
}

/* ACS P2P Request Redirect in the port's ACS capability (PCIe 5.0 7.7.8.3). */
static bool acs_redirects(const struct pci_dev *port)
{
	unsigned off = 0x100;

	for (int i = 0; i < 64 && off >= 0x100 && off + 8 <= PCI_CFG_SIZE; i++) {
		uint32_t h = pci_get32(port, off);

		if ((h & 0xffff) == PCI_EXT_CAP_ID_ACS)
			return pci_get16(port, off + 6) & 0x0004; /* PCIE_ACS_RR */
		off = h >> 20;
		if (!off)
			break;
	}
	return false;
}

bool pci_peer_direct(const struct pci_dev *req, const struct pci_dev *target)
{
	/*
	 * The request climbs from `req` until a bus where `target` is below another port: a
	 * switch's internal bus routes it there without reaching the root complex (PCIe 5.0
	 * 6.12.1.1) unless the ingress port redirects it (ACS P2P Request Redirect). On the root
	 * bus it is the root complex's: translated.
	 */
	const struct pci_dev *in = req;

	for (const struct pci_bus *bus = req->bus; bus && bus->self; bus = bus->self->bus) {
		for (const struct pci_dev *t = target; t && t->bus; t = t->bus->self) {
			if (t->bus == bus)
				return t != in && !acs_redirects(in);
		}
		in = bus->self;
	}
	return false;
}

static void set_iommu(struct pci_bus *bus, const struct as_iommu *iommu)
{
	for (int i = 0; i < bus->devfn_end; i++) {
		struct pci_dev *d = bus->devs[i];

		if (!d)
			continue;
		d->dma.iommu = iommu;
		if (d->secondary)
			set_iommu(d->secondary, iommu);
	}
}

void pci_root_set_iommu(struct pci_root *root, const struct as_iommu *iommu)
{
	pthread_mutex_lock(&root->lock);
	root->iommu = iommu;
	set_iommu(&root->bus0, iommu);
	pthread_mutex_unlock(&root->lock);
}
