/* SPDX-License-Identifier: MIT */
/*
 * What every PCI Express port here shares: the PCI Express capability with its slot and root
 * registers, MSI, power management, SSVID, AER and ACS, and the link/slot state that follows
 * the machine's pcie_port_set_link() and the guest's Link Control and Slot Control writes.
 * The type-1 header itself (bus numbers, a 16-bit I/O window, a 64-bit prefetchable window)
 * is the PCI core's.
 */
#include <errno.h>
#include <stdio.h>

#include "devices/pcie-switch/pcie_port.h"

static bool overlaps(unsigned off, unsigned size, unsigned reg, unsigned reg_size)
{
	return off < reg + reg_size && reg < off + size;
}

/* The PCI Express capability of any function, found as a driver would: walk from 0x34. */
static uint8_t find_exp_cap(const struct pci_dev *d)
{
	uint8_t off = d->cfg[PCI_CAPABILITY_LIST] & 0xfc;

	if (!(pci_get16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	for (int guard = 0; off >= 0x40 && guard < 48; guard++) {
		if (d->cfg[off] == PCI_CAP_ID_EXP)
			return off;
		off = d->cfg[off + 1] & 0xfc;
	}
	return 0;
}

static bool link_up(const struct pcie_port *p)
{
	const struct pci_dev *d = &p->dev;
	uint16_t lnkctl = pci_get16(d, p->exp + PCIE_LNKCTL);
	uint16_t sltctl = pci_get16(d, p->exp + PCIE_SLTCTL);
	bool slot = pci_get16(d, p->exp + PCIE_FLAGS) & PCIE_FLAGS_SLOT;

	/* 7.5.3.7 Link Disable; 7.5.3.10 Power Controller Control = 1 powers the slot off */
	if (lnkctl & PCIE_LNKCTL_LD)
		return false;
	if (slot && (pci_get32(d, p->exp + PCIE_SLTCAP) & PCIE_SLTCAP_PCP) &&
	    (sltctl & PCIE_SLTCTL_PCC))
		return false;
	return p->present && !p->forced_down;
}

/*
 * Link Status of a root or downstream port (7.5.3.8). The negotiated width and speed are the
 * smaller of both ends' Link Capabilities; they stay at the port's own values while the link
 * is down, because Linux reads a zero width as a link that cannot train.
 */
static void update_link(struct pcie_port *p, bool event)
{
	struct pci_dev *d = &p->dev;
	uint8_t width = p->width, speed = p->speed;
	uint16_t sta = PCIE_LNKSTA_SLC, was;
	bool up = link_up(p);

	if (p->type == PCIE_TYPE_UPSTREAM)
		return;
	was = pci_get16(d, p->exp + PCIE_LNKSTA) & PCIE_LNKSTA_DLLLA;
	if (up) {
		const struct pci_dev *child = p->bus.devs[0];
		uint8_t ce = child ? find_exp_cap(child) : 0;

		if (ce) {
			uint32_t cap = pci_get32(child, ce + PCIE_LNKCAP);
			uint8_t cw = (cap >> PCIE_LNKCAP_MLW_SHIFT) & 0x3f;
			uint8_t cs = cap & PCIE_LNKCAP_SLS;

			if (cw && cw < width)
				width = cw;
			if (cs && cs < speed)
				speed = cs;
		}
		sta |= PCIE_LNKSTA_DLLLA;
	}
	sta |= (uint16_t)(width << PCIE_LNKSTA_NLW_SHIFT) | speed;
	pci_set16(d, p->exp + PCIE_LNKSTA, sta);

	if (pci_get16(d, p->exp + PCIE_FLAGS) & PCIE_FLAGS_SLOT) {
		uint16_t slt = pci_get16(d, p->exp + PCIE_SLTSTA) & ~PCIE_SLTSTA_PDS;

		/* 7.5.3.11 Presence Detect State: a device is in the slot, powered or not;
		 * Data Link Layer State Changed: DLLLA changed (not for the machine's own
		 * attach at build time, which is the power-on state) */
		if (event && was != (sta & PCIE_LNKSTA_DLLLA))
			slt |= PCIE_SLTSTA_DLLSC;
		pci_set16(d, p->exp + PCIE_SLTSTA, slt | (p->present ? PCIE_SLTSTA_PDS : 0));
	}
	/* 2.9.1: what the port forwards follows its Data Link Layer state */
	pci_bridge_set_link(d, up);
}

static void pcie_port_config_write(struct pci_dev *d, unsigned off, uint32_t val, unsigned size)
{
	struct pcie_port *p = d->opaque;

	if (overlaps(off, size, p->exp + PCIE_LNKCTL, 2)) {
		uint16_t lnkctl = pci_get16(d, p->exp + PCIE_LNKCTL);

		/* 7.5.3.7 Retrain Link always reads 0; our link retrains at once and stays up,
		 * so Link Training never shows and no bandwidth change is reported. */
		pci_set16(d, p->exp + PCIE_LNKCTL, lnkctl & ~PCIE_LNKCTL_RL);
	}
	if (overlaps(off, size, p->exp + PCIE_LNKCTL, 2) ||
	    overlaps(off, size, p->exp + PCIE_SLTCTL, 2))
		update_link(p, true);

	if (p->pm && overlaps(off, size, p->pm + PCIE_PM_CSR, 2)) {
		uint16_t csr = pci_get16(d, p->pm + PCIE_PM_CSR);
		uint8_t state = csr & PCIE_PM_CSR_STATE;

		/* 7.5.2.2: a write of an unsupported state (D1, D2) is discarded */
		if (state == 1 || state == 2)
			pci_set16(d, p->pm + PCIE_PM_CSR,
				  (uint16_t)((csr & ~PCIE_PM_CSR_STATE) | p->power_state));
		else
			p->power_state = state;
	}
}

static const struct pci_dev_ops pcie_port_ops = {
	.config_write = pcie_port_config_write,
};

struct pcie_port *pcie_port_of(struct pci_dev *dev)
{
	return dev && dev->ops == &pcie_port_ops ? dev->opaque : NULL;
}

/* A root port or downstream port: one with a link below it. */
static struct pcie_port *downstream_port(struct pci_dev *port)
{
	struct pcie_port *p = pcie_port_of(port);

	return p && p->type != PCIE_TYPE_UPSTREAM ? p : NULL;
}

/* Presence (forced = false) or the forced link state changes, under the root's lock; only a
 * forced change is an event (DLLSC): the machine's attach at build time is the power-on state. */
static int relink(struct pci_dev *port, bool forced, bool value)
{
	struct pcie_port *p = downstream_port(port);

	if (!p)
		return -EINVAL;
	/* root->lock is recursive: a caller that already holds it is fine */
	if (port->root)
		pthread_mutex_lock(&port->root->lock);
	if (forced)
		p->forced_down = !value;
	else
		p->present = value;
	update_link(p, forced);
	if (port->root)
		pthread_mutex_unlock(&port->root->lock);
	return 0;
}

int pcie_port_set_link(struct pci_dev *port, bool device_present)
{
	return relink(port, false, device_present);
}

int pcie_port_force_link(struct pci_dev *port, bool up)
{
	return relink(port, true, up);
}

bool pcie_port_has_link(struct pci_dev *port)
{
	return downstream_port(port) != NULL;
}

bool pcie_port_link_active(struct pci_dev *port)
{
	struct pcie_port *p = downstream_port(port);

	return p && (pci_get16(port, p->exp + PCIE_LNKSTA) & PCIE_LNKSTA_DLLLA);
}

void pcie_port_init(struct pcie_port *p, const char *name, uint16_t vendor, uint16_t device,
		    uint8_t revision, uint8_t type, uint8_t width, uint8_t speed)
{
	struct pci_dev *d = &p->dev;

	snprintf(p->name, sizeof(p->name), "%s", name);
	pci_dev_init(d, p->name, vendor, device, PCIE_CLASS_BRIDGE_PCI, revision, true);
	d->ops = &pcie_port_ops;
	d->opaque = p;
	pci_bus_init(&p->bus, p->name);
	pci_bridge_set_secondary(d, &p->bus);
	p->type = type;
	p->width = width;
	p->speed = speed;

	/* INTx for PCIe services when the guest has MSI disabled (pcie_port_enable_irq_vec) */
	pci_set_intx_pin(d, 1);
}

static int place_cap(struct pcie_port *p, uint8_t off, uint8_t id, uint8_t len)
{
	p->dev.cap_next = off;
	return pci_add_cap(&p->dev, id, len) == off ? 0 : -ENOSPC;
}

static int place_ecap(struct pcie_port *p, uint16_t off, uint16_t id, uint8_t ver, uint16_t len)
{
	p->dev.ecap_next = off;
	return pci_add_ecap(&p->dev, id, ver, len) == off ? 0 : -ENOSPC;
}

int pcie_port_add_exp(struct pcie_port *p, uint8_t off, uint8_t port_number, bool slot,
		      uint16_t slot_number)
{
	struct pci_dev *d = &p->dev;
	const struct pcie_cap_desc desc = {
		.type = p->type,
		.width = p->width,
		.speed = p->speed,
		.port_number = port_number,
		.slot = slot,
	};
	uint8_t *wm = d->wmask + off, *w1c = d->w1cmask + off;

	/* the registers every PCIe function has, from the PCI core (vmm/pci/pcie_cap.c) */
	if (pci_add_pcie_cap(d, off, &desc) != off)
		return -ENOSPC;
	p->exp = off;

	if (slot) {
		/* 7.5.3.9: power controller and both indicators, no Command Completed events,
		 * not Hot-Plug Capable (hot-plug is not modelled). */
		pci_set32(d, off + PCIE_SLTCAP,
			  PCIE_SLTCAP_PCP | PCIE_SLTCAP_AIP | PCIE_SLTCAP_PIP | PCIE_SLTCAP_NCCS |
				  (uint32_t)slot_number << PCIE_SLTCAP_PSN_SHIFT);
		/* 7.5.3.10: indicators, power, and the two enables whose events we can have */
		pci_set16(d, off + PCIE_SLTCTL, PCIE_SLTCTL_AIC_OFF | PCIE_SLTCTL_PIC_ON);
		pci_mask_or16(wm, PCIE_SLTCTL,
			      PCIE_SLTCTL_PDCE | PCIE_SLTCTL_AIC | PCIE_SLTCTL_PIC |
				      PCIE_SLTCTL_PCC | PCIE_SLTCTL_DLLSCE);
		pci_mask_or16(w1c, PCIE_SLTSTA, PCIE_SLTSTA_EVENTS);
	}
	if (p->type == PCIE_TYPE_ROOT_PORT) {
		/* 7.5.3.12-14: no CRS Software Visibility; PME Status is RW1C */
		pci_mask_or16(wm, PCIE_RTCTL, PCIE_RTCTL_SYSERR | PCIE_RTCTL_PMEIE);
		pci_mask_or32(w1c, PCIE_RTSTA, PCIE_RTSTA_PME);
	}

	update_link(p, false);
	return 0;
}

int pcie_port_add_msi(struct pcie_port *p, uint8_t off)
{
	p->dev.cap_next = off;
	if (pci_add_msi(&p->dev, false) < 0 || p->dev.msi.cap != off)
		return -ENOSPC;
	p->msi = off;
	return 0;
}

int pcie_port_add_pm(struct pcie_port *p, uint8_t off)
{
	if (place_cap(p, off, PCI_CAP_ID_PM, PCIE_PM_SIZE) < 0)
		return -ENOSPC;
	p->pm = off;
	/* 7.5.2.1: PCI PM 1.2 (version 3), D0 and D3hot only, no PME;
	 * 7.5.2.2: No_Soft_Reset, since nothing here is lost in D3hot */
	pci_set16(&p->dev, off + PCIE_PM_PMC, 3);
	pci_set16(&p->dev, off + PCIE_PM_CSR, PCIE_PM_CSR_NSR);
	pci_mask_or16(p->dev.wmask, off + PCIE_PM_CSR, PCIE_PM_CSR_STATE);
	p->power_state = 0;
	return 0;
}

int pcie_port_add_ssvid(struct pcie_port *p, uint8_t off, uint16_t svid, uint16_t ssid)
{
	if (place_cap(p, off, PCI_CAP_ID_SSVID, PCIE_SSVID_SIZE) < 0)
		return -ENOSPC;
	pci_set16(&p->dev, off + PCIE_SSVID_VENDOR, svid);
	pci_set16(&p->dev, off + PCIE_SSVID_ID, ssid);
	return 0;
}

int pcie_port_add_aer(struct pcie_port *p, uint16_t off)
{
	struct pci_dev *d = &p->dev;

	if (place_ecap(p, off, PCI_EXT_CAP_ID_ERR, 2, PCIE_AER_SIZE) < 0)
		return -ENOSPC;
	p->aer = off;
	/* 7.8.4.2-7: status RW1CS, mask and severity RWS, for the errors a port can log;
	 * no ECRC and no multiple header recording, so the control register is read-only. */
	pci_mask_or32(d->w1cmask, off + PCIE_AER_UNCOR_STATUS, PCIE_AER_UNCOR_SUPPORTED);
	pci_mask_or32(d->wmask, off + PCIE_AER_UNCOR_MASK, PCIE_AER_UNCOR_SUPPORTED);
	pci_set32(d, off + PCIE_AER_UNCOR_SEVER, PCIE_AER_UNCOR_SEVER_DEFAULT);
	pci_mask_or32(d->wmask, off + PCIE_AER_UNCOR_SEVER, PCIE_AER_UNCOR_SUPPORTED);
	pci_mask_or32(d->w1cmask, off + PCIE_AER_COR_STATUS, PCIE_AER_COR_SUPPORTED);
	pci_set32(d, off + PCIE_AER_COR_MASK, PCIE_AER_COR_MASK_DEFAULT);
	pci_mask_or32(d->wmask, off + PCIE_AER_COR_MASK, PCIE_AER_COR_SUPPORTED);
	if (p->type == PCIE_TYPE_ROOT_PORT) {
		/* 7.8.4.9-11: Root Error Command RW, Root Error Status RW1CS, source IDs RO */
		pci_mask_or32(d->wmask, off + PCIE_AER_ROOT_COMMAND, PCIE_AER_ROOT_COMMAND_EN);
		pci_mask_or32(d->w1cmask, off + PCIE_AER_ROOT_STATUS, PCIE_AER_ROOT_STATUS_W1C);
	}
	return 0;
}

int pcie_port_add_acs(struct pcie_port *p, uint16_t off)
{
	const uint16_t bits = PCIE_ACS_SV | PCIE_ACS_TB | PCIE_ACS_RR | PCIE_ACS_CR | PCIE_ACS_UF;

	if (place_ecap(p, off, PCI_EXT_CAP_ID_ACS, 1, PCIE_ACS_SIZE) < 0)
		return -ENOSPC;
	p->acs = off;
	/* 7.7.8.2-3: no Egress Control, so no egress control vector follows; every control
	 * bit for a capability we have is RW and starts clear (redirect off: P2P allowed). */
	pci_set16(&p->dev, off + PCIE_ACS_CAP, bits);
	pci_mask_or16(p->dev.wmask, off + PCIE_ACS_CTRL, bits);
	return 0;
}
