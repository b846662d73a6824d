/* SPDX-License-Identifier: MIT */
#include "devices/nvme/nvme_pci.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/pci/pcie_cap.h"
#include "vmm/util.h"

#define PAGE 4096u

static const struct pcie_cap_desc nvme_pcie_cap = {
	.type = PCIE_TYPE_ENDPOINT,
	.width = 1,
	.speed = PCIE_SPEED_2_5GT,
};

/*
 * The controller's own memory space (CMB/PMR with CMSE, n->pci.dma.own) is routed inside the
 * device; the rest goes upstream. A request that comes back to the device's own RAM BAR
 * while the memory space is off would target its ingress port: the address space refuses
 * it, like any DMA to a function's own BARs.
 */
static void *glue_dma_map(void *opaque, uint64_t addr, uint64_t len)
{
	struct nvme_pci *n = opaque;

	return pci_dma_map(&n->pci, addr, len);
}

static bool msi_or_msix_enabled(const struct pci_dev *d)
{
	if (d->msix.cap && (pci_get16(d, d->msix.cap + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_ENABLE))
		return true;
	return d->msi.cap && (pci_get16(d, d->msi.cap + PCI_MSI_FLAGS) & PCI_MSI_FLAGS_ENABLE);
}

/* NVMe 1.4 7.5.1: pin-based interrupts are a level that follows the CQs' state. */
static void update_intx(struct nvme_pci *n)
{
	if (!msi_or_msix_enabled(&n->pci))
		pci_intx_set(&n->pci, nvme_intx_level(n->ctrl));
}

static void glue_irq(void *opaque, unsigned vector)
{
	struct nvme_pci *n = opaque;

	if (!pci_notify(&n->pci, (int)vector))
		update_intx(n);
}

static uint64_t bar0_read(void *opaque, uint64_t off, unsigned size)
{
	struct nvme_pci *n = opaque;

	return off < n->regs_size ? nvme_bar0_read(n->ctrl, off, size) : 0;
}

static void bar0_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct nvme_pci *n = opaque;

	if (off >= n->regs_size)
		return;
	nvme_bar0_write(n->ctrl, off, val, size);
	/* a CQ head doorbell or INTMC may lower (or raise) the pin */
	update_intx(n);
}

static const struct bus_ops nvme_pci_bar0_ops = {.read = bar0_read, .write = bar0_write};

static void efd_host(struct nvme_pci *n, const struct nvme_pci_efd *e, bool assign)
{
	const struct pci_host_ops *h = n->pci.root ? n->pci.root->host : NULL;

	if (h && h->ioeventfd && n->efd_bar != ~0ULL)
		h->ioeventfd(n->pci.root->host_opaque, n->efd_bar + e->off, 4, e->efd, assign);
}

/* nvme_host.ioeventfd: doorbells through KVM ioeventfds (DESIGN.md rule 4). */
static int glue_ioeventfd(void *opaque, uint64_t off, int efd, bool assign)
{
	struct nvme_pci *n = opaque;
	const struct pci_host_ops *h = n->pci.root ? n->pci.root->host : NULL;
	struct nvme_pci_efd e = {.off = off, .efd = efd};
	int ret = 0;

	if (!h || !h->ioeventfd)
		return -ENOTSUP;
	pthread_mutex_lock(&n->efd_lock);
	if (assign) {
		if (n->nefd == n->efd_cap) {
			unsigned cap = n->efd_cap ? 2 * n->efd_cap : 16;
			struct nvme_pci_efd *v = realloc(n->efd, cap * sizeof(*v));

			if (!v) {
				pthread_mutex_unlock(&n->efd_lock);
				return -ENOMEM;
			}
			n->efd = v;
			n->efd_cap = cap;
		}
		if (n->efd_bar != ~0ULL)
			ret = h->ioeventfd(n->pci.root->host_opaque, n->efd_bar + off, 4, efd,
					   true);
		if (!ret)
			n->efd[n->nefd++] = e;
	} else {
		for (unsigned i = 0; i < n->nefd; i++)
			if (n->efd[i].efd == efd && n->efd[i].off == off) {
				efd_host(n, &n->efd[i], false);
				n->efd[i] = n->efd[--n->nefd];
				break;
			}
	}
	pthread_mutex_unlock(&n->efd_lock);
	return ret;
}

static void glue_bar_mapped(struct pci_dev *dev, int bar, uint64_t addr)
{
	struct nvme_pci *n = dev->opaque;

	if (bar != 0)
		return;
	pthread_mutex_lock(&n->efd_lock);
	for (unsigned i = 0; i < n->nefd; i++)
		efd_host(n, &n->efd[i], false);
	n->efd_bar = addr;
	for (unsigned i = 0; i < n->nefd; i++)
		efd_host(n, &n->efd[i], true);
	pthread_mutex_unlock(&n->efd_lock);
}

static const struct pci_dev_ops nvme_pci_dev_ops = {.bar_mapped = glue_bar_mapped};

struct nvme_pci *nvme_pci_create(const struct nvme_ctrl_config *cfg, char *err, size_t errlen)
{
	struct nvme_pci *n = calloc(1, sizeof(*n));
	struct nvme_ctrl_config c = *cfg;
	struct nvme_host host;
	uint64_t regs, table, pba, bar = 16 * 1024, cmb_size, pmr_size;
	uint32_t nvec;
	void *cmb, *pmr;

	if (!n) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	host = (struct nvme_host){
		.dma_map = glue_dma_map, .irq = glue_irq, .ioeventfd = glue_ioeventfd, .opaque = n};
	pthread_mutex_init(&n->efd_lock, NULL);
	n->efd_bar = ~0ULL;
	c.vid = NVME_PCI_VENDOR;
	c.ssvid = NVME_PCI_VENDOR;
	n->ctrl = nvme_ctrl_create(&c, &host, err, errlen);
	if (!n->ctrl) {
		free(n);
		return NULL;
	}
	regs = ALIGN_UP(nvme_bar0_regs_size(n->ctrl), PAGE);
	nvec = c.nr_vectors ? c.nr_vectors
			    : (c.max_queues ? c.max_queues : NVME_DEFAULT_MAX_QUEUES) + 1;
	if (nvec > PCI_MSIX_MAX_VECTORS)
		nvec = PCI_MSIX_MAX_VECTORS;
	table = regs;
	pba = ALIGN_UP(table + (uint64_t)nvec * PCI_MSIX_ENTRY_SIZE, PAGE);
	while (bar < pba + PAGE)
		bar <<= 1;
	n->regs_size = (uint32_t)nvme_bar0_regs_size(n->ctrl);

	pci_dev_init(&n->pci, cfg->name ? cfg->name : "nvme", NVME_PCI_VENDOR, NVME_PCI_DEVICE,
		     NVME_PCI_CLASS, 0, false);
	n->pci.opaque = n;
	n->pci.ops = &nvme_pci_dev_ops;
	n->pci.dma.own = nvme_ctrl_mem_space(n->ctrl, &n->pci.dma.nown);
	pci_set16(&n->pci, PCI_SUBSYSTEM_VENDOR_ID, NVME_PCI_VENDOR);
	pci_set16(&n->pci, PCI_SUBSYSTEM_ID, NVME_PCI_DEVICE);
	cmb = nvme_cmb_ram(n->ctrl, &cmb_size);
	pmr = nvme_pmr_ram(n->ctrl, &pmr_size);
	if (pci_dev_set_bar(&n->pci, 0, PCI_BAR_MEM64, false, bar, &nvme_pci_bar0_ops, n, NULL) ||
	    (cmb && pci_dev_set_bar(&n->pci, 2, PCI_BAR_MEM64, true, cmb_size, NULL, NULL, cmb)) ||
	    (pmr && pci_dev_set_bar(&n->pci, 4, PCI_BAR_MEM64, true, pmr_size, NULL, NULL, pmr)) ||
	    pci_add_msix(&n->pci, (int)nvec, 0, (uint32_t)table, (uint32_t)pba) < 0) {
		snprintf(err, errlen, "%s: PCI setup failed", cfg->name ? cfg->name : "nvme");
		nvme_pci_destroy(n);
		return NULL;
	}
	/* PCI Express Endpoint capability so Linux sees a PCIe function (PCIe 5.0 7.5.3),
	 * link x1 at 2.5 GT/s */
	pci_add_pcie_cap(&n->pci, 0, &nvme_pcie_cap);
	pci_set_intx_pin(&n->pci, 1);
	return n;
}

void nvme_pci_destroy(struct nvme_pci *n)
{
	if (!n)
		return;
	n->efd_bar = ~0ULL; /* the VM may be gone: leave KVM alone */
	if (n->ctrl)
		nvme_ctrl_destroy(n->ctrl);
	free(n->efd);
	pci_dev_destroy(&n->pci);
	free(n);
}
