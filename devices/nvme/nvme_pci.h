/* SPDX-License-Identifier: MIT */
/*
 * The NVMe controller as a PCIe function: config space, BAR0 (registers, doorbells and the
 * MSI-X table), interrupts and DMA through the PCI core. The controller model itself
 * (nvme.h) knows nothing of PCI (DESIGN.md rule 1).
 *
 * Identity: 1234:7110, class 01 08 02 (NVM Express), our own IDs so Linux applies no
 * quirks meant for other controllers (REFERENCE.md section 1: QEMU's 1b36:0010 gets
 * NVME_QUIRK_BOGUS_NID).
 *
 * BAR0 (64-bit, non-prefetchable): [0, regs) controller registers and doorbells, then the
 * MSI-X table and PBA, each 4 KiB aligned; the BAR is the next power of two (at least 16 KiB).
 * BAR2 (64-bit, prefetchable, RAM-backed): the CMB when configured (cmb.h).
 * BAR4 (64-bit, prefetchable, RAM-backed): the PMR when configured (pmr.h).
 */
#ifndef DEVICES_NVME_PCI_H
#define DEVICES_NVME_PCI_H

#include "devices/nvme/nvme.h"
#include "vmm/pci/pci.h"

#define NVME_PCI_VENDOR 0x1234
#define NVME_PCI_DEVICE 0x7110
#define NVME_PCI_CLASS	0x010802

struct nvme_pci_efd {
	uint64_t off; /* in BAR0 */
	int efd;
};

struct nvme_pci {
	struct pci_dev pci;
	struct nvme_ctrl *ctrl;
	uint32_t regs_size; /* BAR0 bytes the controller decodes */
	/* ioeventfd doorbells the controller asked for; registered at BAR0's bus address and
	 * moved with it (the guest may reprogram BAR0). */
	pthread_mutex_t efd_lock;
	struct nvme_pci_efd *efd;
	unsigned nefd, efd_cap;
	uint64_t efd_bar; /* where they are registered now; ~0: nowhere */
};

/* NULL with a message in err. The caller attaches n->pci to a bus. */
struct nvme_pci *nvme_pci_create(const struct nvme_ctrl_config *cfg, char *err, size_t errlen);
/* After pci_root_destroy() (or before the device was attached). */
void nvme_pci_destroy(struct nvme_pci *n);

#endif
