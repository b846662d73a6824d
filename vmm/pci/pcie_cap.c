/* SPDX-License-Identifier: MIT */
/*
 * The PCI Express capability builder (PCIe 5.0 7.5.3): one layout for endpoints and ports,
 * the registers and masks Linux's PCI core and drivers read. Slot and root registers are
 * the port's (devices/pcie-switch/pcie_cap.c).
 */
#include "vmm/pci/pcie_cap.h"

uint8_t pci_add_pcie_cap(struct pci_dev *d, uint8_t off, const struct pcie_cap_desc *c)
{
	/* root or downstream port: the upper end of its link */
	bool up = c->type == PCIE_TYPE_ROOT_PORT || c->type == PCIE_TYPE_DOWNSTREAM;
	uint8_t *wm, *w1c;
	uint16_t flags;
	uint8_t at;

	if (off & 3)
		return 0;
	if (off)
		d->cap_next = off;
	at = pci_add_cap(d, PCI_CAP_ID_EXP, PCIE_CAP_V2_SIZE);
	if (!at || (off && at != off))
		return 0;
	wm = d->wmask + at;
	w1c = d->w1cmask + at;

	/* 7.5.3.2: capability version 2, port type, Slot Implemented (root/downstream only) */
	flags = (uint16_t)(2 | c->type << PCIE_FLAGS_TYPE_SHIFT | (c->slot ? PCIE_FLAGS_SLOT : 0));
	pci_set16(d, at + PCIE_FLAGS, flags);

	/* 7.5.3.3-5: 256-byte MPS supported, Role-Based Error Reporting; 7.5.3.4 defaults:
	 * MPS 128, Relaxed Ordering and No Snoop enabled, MRRS 512; error bits RW1C */
	pci_set32(d, at + PCIE_DEVCAP, PCIE_DEVCAP_MPSS_256 | PCIE_DEVCAP_RBER);
	pci_set16(d, at + PCIE_DEVCTL,
		  PCIE_DEVCTL_RELAX_EN | PCIE_DEVCTL_NOSNOOP_EN | PCIE_DEVCTL_READRQ_512);
	pci_mask_or16(wm, PCIE_DEVCTL,
		      PCIE_DEVCTL_ERR_REPORT | PCIE_DEVCTL_RELAX_EN | PCIE_DEVCTL_PAYLOAD |
			      PCIE_DEVCTL_NOSNOOP_EN | PCIE_DEVCTL_READRQ);
	pci_mask_or16(w1c, PCIE_DEVSTA, PCIE_DEVSTA_ERR);

	/* 7.5.3.6: no ASPM (ASPM Optionality Compliance set); the upper end of a link reports
	 * Data Link Layer Link Active, so Linux polls it instead of sleeping a second. */
	pci_set32(d, at + PCIE_LNKCAP,
		  c->speed | (uint32_t)c->width << PCIE_LNKCAP_MLW_SHIFT | PCIE_LNKCAP_ASPM_OPT |
			  (up ? PCIE_LNKCAP_DLLLARC : 0) |
			  (uint32_t)c->port_number << PCIE_LNKCAP_PN_SHIFT);
	/* 7.5.3.7: Link Disable and Retrain Link exist on the upper end only */
	pci_mask_or16(wm, PCIE_LNKCTL,
		      PCIE_LNKCTL_ASPMC | PCIE_LNKCTL_CCC | PCIE_LNKCTL_ES | PCIE_LNKCTL_HAWD |
			      (up ? PCIE_LNKCTL_LD | PCIE_LNKCTL_RL : 0));
	/* 7.5.3.8: trained at our width and speed (a port updates it as its link changes) */
	pci_set16(d, at + PCIE_LNKSTA,
		  (uint16_t)(PCIE_LNKSTA_SLC | c->width << PCIE_LNKSTA_NLW_SHIFT | c->speed));

	/* 7.5.3.15-16: ARI Forwarding on the upper end of a link; nothing else optional */
	if (up) {
		pci_set32(d, at + PCIE_DEVCAP2, PCIE_DEVCAP2_ARI);
		pci_mask_or16(wm, PCIE_DEVCTL2, PCIE_DEVCTL2_ARI);
	}
	/* 7.5.3.18-19: every speed up to ours; Target Link Speed defaults to the highest */
	pci_set32(d, at + PCIE_LNKCAP2, ((1u << c->speed) - 1) << PCIE_LNKCAP2_SLSV_SHIFT);
	pci_set16(d, at + PCIE_LNKCTL2, c->speed);
	pci_mask_or16(wm, PCIE_LNKCTL2, PCIE_LNKCTL2_TLS | PCIE_LNKCTL2_HASD);
	return at;
}
