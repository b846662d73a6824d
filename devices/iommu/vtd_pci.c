/* SPDX-License-Identifier: MIT */
/*
 * The VT-d unit on a PCI root: every function's bus requests (as_map through dev->dma) are
 * translated by source-id, except those a switch routes to a peer (pci_peer_direct). The
 * tables and the wait descriptors' status live in guest RAM; the fault MSI goes out through
 * the root's host like a device's MSI (vmm/irqroute.c).
 */
#include <stdlib.h>

#include "devices/iommu/vtd.h"
#include "vmm/mem.h"
#include "vmm/pci/pci.h"

static int host_read(void *opaque, uint64_t gpa, void *buf, uint64_t len)
{
	struct vtd_pci *vp = opaque;

	return mem_read(vp->mem, gpa, buf, len) ? -14 : 0;
}

static int host_write(void *opaque, uint64_t gpa, const void *buf, uint64_t len)
{
	struct vtd_pci *vp = opaque;

	return mem_write(vp->mem, gpa, buf, len) ? -14 : 0;
}

static void host_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct vtd_pci *vp = opaque;

	vp->root->host->msi(vp->root->host_opaque, addr, data);
}

/* The requester's cache, made on its first translated request. */
static struct vtd_iotlb *iotlb_of(const struct as_requester *req)
{
	struct as_requester *r = (struct as_requester *)req;
	void *c = __atomic_load_n(&r->iotlb, __ATOMIC_ACQUIRE), *expect = NULL;

	if (c)
		return c;
	c = calloc(1, sizeof(struct vtd_iotlb));
	if (!c)
		return NULL; /* walks every time */
	if (!__atomic_compare_exchange_n(&r->iotlb, &expect, c, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		free(c);
		return expect;
	}
	return c;
}

static bool translate(const struct as_iommu *iommu, const struct as_requester *req, uint64_t iova,
		      uint64_t len, unsigned access, uint64_t *addr)
{
	struct vtd_pci *vp = (struct vtd_pci *)iommu;
	const struct pci_dev *dev = req->id;
	uint16_t sid;
	uint64_t gpa, span, done;
	struct vtd_iotlb *c;

	if (!vtd_enabled(&vp->vtd)) {
		*addr = iova;
		return true;
	}
	sid = pci_requester_id(dev);
	c = iotlb_of(req);
	if (!len)
		len = 1;
	if (vtd_translate(&vp->vtd, c, sid, iova, access, &gpa, &span))
		return false;
	/* the rest of the range, translation unit by unit, must follow on behind (as_map
	 * hands out one host pointer) */
	for (done = span; done < len; done += span) {
		uint64_t g;

		if (vtd_translate(&vp->vtd, c, sid, iova + done, access, &g, &span))
			return false;
		if (g != gpa + done)
			return false;
	}
	*addr = gpa;
	return true;
}

static bool peer_direct(const struct as_iommu *iommu, const struct as_requester *req,
			const void *owner)
{
	return pci_peer_direct(req->id, owner);
}

void vtd_pci_attach(struct vtd_pci *vp, struct pci_root *root, const struct guest_mem *mem)
{
	vp->iommu = (struct as_iommu){.translate = translate, .peer_direct = peer_direct};
	vp->root = root;
	vp->mem = mem;
	vtd_init(&vp->vtd,
		 &(struct vtd_host){
			 .read = host_read, .write = host_write, .msi = host_msi, .opaque = vp});
	pci_root_set_iommu(root, &vp->iommu);
}

void vtd_pci_detach(struct vtd_pci *vp)
{
	pci_root_set_iommu(vp->root, NULL);
	vtd_destroy(&vp->vtd);
}
