/* SPDX-License-Identifier: MIT */
/*
 * The PCI Express capability (PCIe 5.0 7.5.3) as every PCIe function here has it: endpoints
 * (NVMe, the NTB functions) and the switch's ports. pci_add_pcie_cap() writes the registers
 * a Linux driver reads (flags, device, link, the version 2 registers) and their masks; a
 * port adds its slot and root registers on top (devices/pcie-switch/pcie_cap.c).
 */
#ifndef VMM_PCI_PCIE_CAP_H
#define VMM_PCI_PCIE_CAP_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/pci/pci.h"

/* OR bits into a byte-addressed mask array (wmask, w1cmask) at off, little-endian. */
static inline void pci_mask_or16(uint8_t *a, unsigned off, uint16_t v)
{
	a[off] |= (uint8_t)v;
	a[off + 1] |= (uint8_t)(v >> 8);
}

static inline void pci_mask_or32(uint8_t *a, unsigned off, uint32_t v)
{
	pci_mask_or16(a, off, (uint16_t)v);
	pci_mask_or16(a, off + 2, (uint16_t)(v >> 16));
}

/* PCI Express capability registers, offsets from the capability (PCIe 5.0 7.5.3) */
#define PCIE_FLAGS		0x02 /* PCI Express Capabilities Register */
#define PCIE_FLAGS_VERS		0x000f
#define PCIE_FLAGS_TYPE_SHIFT	4
#define PCIE_FLAGS_SLOT		0x0100
#define PCIE_TYPE_ENDPOINT	0x0
#define PCIE_TYPE_ROOT_PORT	0x4
#define PCIE_TYPE_UPSTREAM	0x5
#define PCIE_TYPE_DOWNSTREAM	0x6
#define PCIE_DEVCAP		0x04
#define PCIE_DEVCAP_MPSS_256	0x00000001
#define PCIE_DEVCAP_RBER	0x00008000
#define PCIE_DEVCTL		0x08
#define PCIE_DEVCTL_ERR_REPORT	0x000f /* CERE, NFERE, FERE, URRE */
#define PCIE_DEVCTL_RELAX_EN	0x0010
#define PCIE_DEVCTL_PAYLOAD	0x00e0
#define PCIE_DEVCTL_NOSNOOP_EN	0x0800
#define PCIE_DEVCTL_READRQ	0x7000
#define PCIE_DEVCTL_READRQ_512	0x2000
#define PCIE_DEVSTA		0x0a
#define PCIE_DEVSTA_ERR		0x000f /* CED, NFED, FED, URD: RW1C */
#define PCIE_LNKCAP		0x0c
#define PCIE_LNKCAP_SLS		0x0000000f
#define PCIE_LNKCAP_MLW_SHIFT	4
#define PCIE_LNKCAP_DLLLARC	0x00100000
#define PCIE_LNKCAP_ASPM_OPT	0x00400000
#define PCIE_LNKCAP_PN_SHIFT	24
#define PCIE_LNKCTL		0x10
#define PCIE_LNKCTL_ASPMC	0x0003
#define PCIE_LNKCTL_LD		0x0010
#define PCIE_LNKCTL_RL		0x0020
#define PCIE_LNKCTL_CCC		0x0040
#define PCIE_LNKCTL_ES		0x0080
#define PCIE_LNKCTL_HAWD	0x0200
#define PCIE_LNKSTA		0x12
#define PCIE_LNKSTA_CLS		0x000f
#define PCIE_LNKSTA_NLW		0x03f0
#define PCIE_LNKSTA_NLW_SHIFT	4
#define PCIE_LNKSTA_LT		0x0800
#define PCIE_LNKSTA_SLC		0x1000
#define PCIE_LNKSTA_DLLLA	0x2000
#define PCIE_SLTCAP		0x14
#define PCIE_SLTCAP_PCP		0x00000002
#define PCIE_SLTCAP_AIP		0x00000008
#define PCIE_SLTCAP_PIP		0x00000010
#define PCIE_SLTCAP_HPC		0x00000040
#define PCIE_SLTCAP_NCCS	0x00040000
#define PCIE_SLTCAP_PSN_SHIFT	19
#define PCIE_SLTCAP_PSN_MAX	0x1fff
#define PCIE_SLTCTL		0x18
#define PCIE_SLTCTL_PDCE	0x0008
#define PCIE_SLTCTL_AIC		0x00c0
#define PCIE_SLTCTL_AIC_OFF	0x00c0
#define PCIE_SLTCTL_PIC		0x0300
#define PCIE_SLTCTL_PIC_ON	0x0100
#define PCIE_SLTCTL_PCC		0x0400 /* 1: power off */
#define PCIE_SLTCTL_DLLSCE	0x1000
#define PCIE_SLTSTA		0x1a
#define PCIE_SLTSTA_EVENTS	0x011f /* ABP, PFD, MRLSC, PDC, CC, DLLSC: RW1C */
#define PCIE_SLTSTA_PDS		0x0040
#define PCIE_SLTSTA_DLLSC	0x0100
#define PCIE_RTCTL		0x1c
#define PCIE_RTCTL_SYSERR	0x0007 /* SECEE, SENFEE, SEFEE */
#define PCIE_RTCTL_PMEIE	0x0008
#define PCIE_RTCAP		0x1e
#define PCIE_RTSTA		0x20
#define PCIE_RTSTA_PME		0x00010000 /* RW1C */
#define PCIE_DEVCAP2		0x24
#define PCIE_DEVCAP2_ARI	0x00000020
#define PCIE_DEVCTL2		0x28
#define PCIE_DEVCTL2_ARI	0x0020
#define PCIE_LNKCAP2		0x2c
#define PCIE_LNKCAP2_SLSV_SHIFT 1
#define PCIE_LNKCTL2		0x30
#define PCIE_LNKCTL2_TLS	0x000f
#define PCIE_LNKCTL2_HASD	0x0020
#define PCIE_CAP_V2_SIZE	0x3c
/* Link speed encodings (Supported Link Speeds Vector bit numbers) */
#define PCIE_SPEED_2_5GT 1
#define PCIE_SPEED_5GT	 2
#define PCIE_SPEED_8GT	 3

/* Power Management capability (PCIe 5.0 7.5.2) */
#define PCIE_PM_PMC	    0x02
#define PCIE_PM_PMC_VERSION 0x0003
#define PCIE_PM_CSR	    0x04
#define PCIE_PM_CSR_STATE   0x0003
#define PCIE_PM_CSR_NSR	    0x0008 /* No_Soft_Reset */
#define PCIE_PM_SIZE	    8

struct pcie_cap_desc {
	uint8_t type;	      /* PCIE_TYPE_* */
	uint8_t width, speed; /* Link Capabilities: lanes, PCIE_SPEED_* */
	uint8_t port_number;  /* Link Capabilities 31:24 */
	bool slot;	      /* Slot Implemented (root and downstream ports) */
};

/*
 * Add the PCI Express capability (PCIE_CAP_V2_SIZE bytes) at `off`, or at dev->cap_next when
 * `off` is 0. Root and downstream ports are the upper end of their link: Data Link Layer
 * Link Active Reporting, Link Disable/Retrain Link and ARI Forwarding. Returns the offset,
 * 0 when there is no room there. Slot and root registers are the caller's.
 */
uint8_t pci_add_pcie_cap(struct pci_dev *dev, uint8_t off, const struct pcie_cap_desc *c);

#endif
