/* SPDX-License-Identifier: MIT */
/*
 * Interrupts of PCI functions: MSI (PCI 3.0 6.8.1), MSI-X (PCIe 5.0 7.7.2, 6.1.4) and INTx
 * with the bridge swizzle (PCI-to-PCI Bridge 1.2 9.1).
 *
 * MSI/MSI-X state (capability registers, table, PBA) is guarded by dev->irq_lock so that
 * vCPU threads (config cycles, table writes) and the device's threads (pci_notify) agree.
 */
#include "vmm/pci/pci.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/pci/pci_internal.h"
#include "vmm/util.h"

static const struct pci_host_ops *host_of(const struct pci_dev *dev)
{
	return dev->root ? dev->root->host : NULL;
}

/*
 * The guest programmed (addr, data) into a vector that may fire: bind its route now, so
 * that delivering it later is one host call with nothing to look up (dev->irq_lock held).
 */
static void route_update(struct pci_dev *dev, struct pci_msi_route *rt, uint64_t addr,
			 uint32_t data)
{
	const struct pci_host_ops *host = host_of(dev);

	if (!host || !host->msi_route || !host->msi_fire)
		return;
	if (rt->bound && rt->addr == addr && rt->data == data)
		return;
	rt->addr = addr;
	rt->data = data;
	rt->bound = host->msi_route(dev->root->host_opaque, &rt->route, addr, data) == 0;
}

/* Through the vector's route when it carries this very message, else as a plain message.
 * `rt` is a copy taken under dev->irq_lock (or NULL). */
static void msi_send(struct pci_dev *dev, const struct pci_msi_route *rt, uint64_t addr,
		     uint32_t data)
{
	const struct pci_host_ops *host = host_of(dev);

	if (!host)
		return;
	if (rt && rt->bound && rt->addr == addr && rt->data == data && host->msi_fire &&
	    host->msi_fire(dev->root->host_opaque, rt->route))
		return;
	if (host->msi)
		host->msi(dev->root->host_opaque, addr, data);
}

/* PCIe 5.0 7.5.1.1.3: with Bus Master Enable clear, MSI/MSI-X messages cannot be sent;
 * 2.9.1: nor across a link that is down (the message is lost, as a write would be). */
static bool may_send(const struct pci_dev *dev)
{
	return (__atomic_load_n(&dev->cfg[PCI_COMMAND], __ATOMIC_RELAXED) & PCI_COMMAND_MASTER) &&
	       pci_dev_link_up(dev);
}

/* ---- MSI ---- */

int pci_add_msi(struct pci_dev *dev, bool maskable)
{
	uint8_t len = maskable ? PCI_MSI_PENDING_64 + 4 : PCI_MSI_DATA_64 + 2;
	uint8_t cap = pci_add_cap(dev, PCI_CAP_ID_MSI, len);

	if (!cap)
		return -ENOSPC;
	/* One message (MMC = 0), so Multiple Message Enable stays 0 too. */
	pci_set16(dev, cap + PCI_MSI_FLAGS,
		  PCI_MSI_FLAGS_64BIT | (maskable ? PCI_MSI_FLAGS_MASKBIT : 0));
	dev->wmask[cap + PCI_MSI_FLAGS] = PCI_MSI_FLAGS_ENABLE;
	pci_set32(dev, cap + PCI_MSI_ADDRESS_LO, 0);
	for (int i = 0; i < 4; i++) {
		dev->wmask[cap + PCI_MSI_ADDRESS_LO + i] = i ? 0xff : 0xfc; /* dword aligned */
		dev->wmask[cap + PCI_MSI_ADDRESS_HI + i] = 0xff;
	}
	dev->wmask[cap + PCI_MSI_DATA_64] = 0xff;
	dev->wmask[cap + PCI_MSI_DATA_64 + 1] = 0xff;
	if (maskable)
		dev->wmask[cap + PCI_MSI_MASK_64] = 0x1;
	dev->msi.cap = cap;
	dev->msi.is64 = true;
	dev->msi.maskable = maskable;
	return 0;
}

static bool msi_enabled(const struct pci_dev *dev)
{
	return dev->msi.cap && (dev->cfg[dev->msi.cap + PCI_MSI_FLAGS] & PCI_MSI_FLAGS_ENABLE);
}

static bool msi_masked(const struct pci_dev *dev)
{
	return dev->msi.maskable && (dev->cfg[dev->msi.cap + PCI_MSI_MASK_64] & 1);
}

static void msi_message(const struct pci_dev *dev, uint64_t *addr, uint32_t *data)
{
	unsigned cap = dev->msi.cap;

	*addr = pci_get32(dev, cap + PCI_MSI_ADDRESS_LO) |
		(uint64_t)pci_get32(dev, cap + PCI_MSI_ADDRESS_HI) << 32;
	*data = pci_get16(dev, cap + PCI_MSI_DATA_64);
}

/* ---- MSI-X ---- */

int pci_add_msix(struct pci_dev *dev, int nvec, int bar, uint32_t table_off, uint32_t pba_off)
{
	const struct pci_bar *b;
	uint64_t table_len, pba_len;
	uint8_t cap;

	if (nvec < 1 || nvec > PCI_MSIX_MAX_VECTORS || bar < 0 || bar >= pci_dev_nbars(dev))
		return -EINVAL;
	b = &dev->bars[bar];
	if ((b->type != PCI_BAR_MEM32 && b->type != PCI_BAR_MEM64) || b->ram || dev->msix.nvec)
		return -EINVAL;
	table_len = (uint64_t)nvec * PCI_MSIX_ENTRY_SIZE;
	pba_len = (uint64_t)(nvec + 63) / 64 * 8;
	if ((table_off | pba_off) & 7 || table_off > b->size || table_len > b->size - table_off ||
	    pba_off > b->size || pba_len > b->size - pba_off ||
	    ranges_overlap(table_off, (unsigned)table_len, pba_off, (unsigned)pba_len))
		return -EINVAL;
	cap = pci_add_cap(dev, PCI_CAP_ID_MSIX, 12);
	if (!cap)
		return -ENOSPC;
	dev->msix.table = calloc((size_t)nvec, PCI_MSIX_ENTRY_SIZE);
	dev->msix.pba = calloc((size_t)(nvec + 63) / 64, sizeof(uint64_t));
	dev->msix.routes = calloc((size_t)nvec, sizeof(*dev->msix.routes));
	if (!dev->msix.table || !dev->msix.pba || !dev->msix.routes) {
		free(dev->msix.table);
		free(dev->msix.pba);
		free(dev->msix.routes);
		dev->msix.table = NULL;
		dev->msix.pba = NULL;
		dev->msix.routes = NULL;
		return -ENOMEM;
	}
	for (int v = 0; v < nvec; v++)
		dev->msix.routes[v].route = -1;
	/* PCIe 5.0 7.7.2.2: every vector starts masked. */
	for (int v = 0; v < nvec; v++)
		dev->msix.table[v * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL] =
			PCI_MSIX_ENTRY_CTRL_MASKBIT;
	pci_set16(dev, cap + PCI_MSIX_FLAGS, (uint16_t)(nvec - 1));
	dev->wmask[cap + PCI_MSIX_FLAGS + 1] =
		(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL) >> 8;
	pci_set32(dev, cap + PCI_MSIX_TABLE, table_off | (uint32_t)bar);
	pci_set32(dev, cap + PCI_MSIX_PBA, pba_off | (uint32_t)bar);
	dev->msix.nvec = nvec;
	dev->msix.cap = cap;
	dev->msix.bar = bar;
	dev->msix.table_off = table_off;
	dev->msix.pba_off = pba_off;
	return 0;
}

static uint16_t msix_flags(const struct pci_dev *dev)
{
	return pci_get16(dev, dev->msix.cap + PCI_MSIX_FLAGS);
}

static bool msix_enabled(const struct pci_dev *dev)
{
	return dev->msix.nvec && (msix_flags(dev) & PCI_MSIX_FLAGS_ENABLE);
}

static uint8_t *msix_entry(const struct pci_dev *dev, int vec)
{
	return dev->msix.table + (size_t)vec * PCI_MSIX_ENTRY_SIZE;
}

static bool msix_vector_masked(const struct pci_dev *dev, int vec)
{
	return (msix_flags(dev) & PCI_MSIX_FLAGS_MASKALL) ||
	       (msix_entry(dev, vec)[PCI_MSIX_ENTRY_VECTOR_CTRL] & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

static bool pba_test(const struct pci_dev *dev, int vec)
{
	return dev->msix.pba[vec / 64] >> (vec % 64) & 1;
}

static void pba_set(struct pci_dev *dev, int vec, bool on)
{
	uint64_t bit = 1ULL << (vec % 64);

	dev->msix.pba[vec / 64] =
		on ? dev->msix.pba[vec / 64] | bit : dev->msix.pba[vec / 64] & ~bit;
}

/* PCIe 5.0 6.1.4.5: a pending message is sent once its vector is no longer masked. */
static void msix_deliver_pending(struct pci_dev *dev, int vec)
{
	const uint8_t *e = msix_entry(dev, vec);

	if (!pba_test(dev, vec) || !msix_enabled(dev) || msix_vector_masked(dev, vec))
		return;
	pba_set(dev, vec, false);
	if (may_send(dev))
		msi_send(dev, &dev->msix.routes[vec], bus_load_le(e, 8),
			 (uint32_t)bus_load_le(e + 8, 4));
}

/* A vector whose entry is unmasked may fire with the message it holds now: bind it. */
static void msix_route_update(struct pci_dev *dev, int vec)
{
	const uint8_t *e = msix_entry(dev, vec);

	if (!(e[PCI_MSIX_ENTRY_VECTOR_CTRL] & PCI_MSIX_ENTRY_CTRL_MASKBIT))
		route_update(dev, &dev->msix.routes[vec], bus_load_le(e, 8),
			     (uint32_t)bus_load_le(e + 8, 4));
}

bool pci_config_touches_msi(const struct pci_dev *dev, unsigned off, unsigned size)
{
	if (dev->msi.cap && ranges_overlap(off, size, dev->msi.cap, PCI_MSI_PENDING_64))
		return true;
	return dev->msix.nvec && ranges_overlap(off, size, dev->msix.cap + PCI_MSIX_FLAGS, 2);
}

void pci_msi_after_config_write(struct pci_dev *dev, unsigned off, unsigned size)
{
	if (msi_enabled(dev)) {
		uint64_t addr;
		uint32_t data;

		msi_message(dev, &addr, &data);
		route_update(dev, &dev->msi.route, addr, data);
	}
	if (dev->msix.nvec && msix_enabled(dev) && !(msix_flags(dev) & PCI_MSIX_FLAGS_MASKALL)) {
		for (int w = 0; w < (dev->msix.nvec + 63) / 64; w++)
			if (dev->msix.pba[w])
				for (int v = w * 64; v < dev->msix.nvec && v < w * 64 + 64; v++)
					msix_deliver_pending(dev, v);
	}
	if (msi_enabled(dev) && dev->msi.maskable && !msi_masked(dev) &&
	    (dev->cfg[dev->msi.cap + PCI_MSI_PENDING_64] & 1)) {
		uint64_t addr;
		uint32_t data;

		dev->cfg[dev->msi.cap + PCI_MSI_PENDING_64] &= (uint8_t)~1;
		msi_message(dev, &addr, &data);
		if (may_send(dev))
			msi_send(dev, &dev->msi.route, addr, data);
	}
}

/*
 * PCIe 5.0 7.7.2: software accesses the table and PBA with aligned dwords or qwords; other
 * accesses read all ones and are dropped. The PBA is read-only; in the table only bit 0 of
 * Vector Control is writable besides the message.
 */
bool pci_msix_mmio(struct pci_dev *dev, int bar, uint64_t off, uint64_t *val, unsigned size,
		   bool write)
{
	const struct pci_msix *x = &dev->msix;
	uint64_t table_len = (uint64_t)x->nvec * PCI_MSIX_ENTRY_SIZE;
	uint64_t pba_len = (uint64_t)(x->nvec + 63) / 64 * 8;
	bool in_table, in_pba, ok = (size == 4 || size == 8) && (off & (size - 1)) == 0;

	if (!x->nvec || bar != x->bar)
		return false;
	in_table = off < x->table_off + table_len && off + size > x->table_off;
	in_pba = off < x->pba_off + pba_len && off + size > x->pba_off;
	if (!in_table && !in_pba)
		return false;
	if (!write)
		*val = ~0ULL;
	/* Aligned and at most 8 bytes, both regions being 8-aligned: fully inside. */
	if (!ok)
		return true;

	pthread_mutex_lock(&dev->irq_lock);
	if (in_pba) {
		if (!write)
			*val = bus_load_le((const uint8_t *)x->pba + (off - x->pba_off), size);
	} else if (!write) {
		*val = bus_load_le(x->table + (off - x->table_off), size);
	} else {
		for (uint64_t o = off - x->table_off; o < off - x->table_off + size; o += 4) {
			int vec = (int)(o / PCI_MSIX_ENTRY_SIZE);
			unsigned field = (unsigned)(o % PCI_MSIX_ENTRY_SIZE);
			uint32_t v = (uint32_t)(*val >> (8 * (o - (off - x->table_off))));

			if (field == PCI_MSIX_ENTRY_VECTOR_CTRL) {
				v &= PCI_MSIX_ENTRY_CTRL_MASKBIT;
				bus_store_le(x->table + o, v, 4);
				msix_route_update(dev, vec);
				msix_deliver_pending(dev, vec);
			} else {
				bus_store_le(x->table + o, v, 4);
				msix_route_update(dev, vec);
			}
		}
	}
	pthread_mutex_unlock(&dev->irq_lock);
	return true;
}

/* ---- signalling ---- */

bool pci_notify(struct pci_dev *dev, int vec)
{
	struct pci_msi_route rt;
	uint64_t addr;
	uint32_t data;
	bool send;

	if (!dev || vec < 0)
		return false;
	pthread_mutex_lock(&dev->irq_lock);
	if (msix_enabled(dev)) {
		if (vec >= dev->msix.nvec) {
			pthread_mutex_unlock(&dev->irq_lock);
			pr_ratelimited("pci: %s: MSI-X vector %d out of range (%d vectors)",
				       dev->name, vec, dev->msix.nvec);
			return false;
		}
		if (msix_vector_masked(dev, vec)) {
			pba_set(dev, vec, true);
			pthread_mutex_unlock(&dev->irq_lock);
			return true;
		}
		addr = bus_load_le(msix_entry(dev, vec), 8);
		data = (uint32_t)bus_load_le(msix_entry(dev, vec) + 8, 4);
		rt = dev->msix.routes[vec];
	} else if (msi_enabled(dev)) {
		if (msi_masked(dev)) {
			dev->cfg[dev->msi.cap + PCI_MSI_PENDING_64] |= 1;
			pthread_mutex_unlock(&dev->irq_lock);
			return true;
		}
		msi_message(dev, &addr, &data);
		rt = dev->msi.route;
	} else {
		pthread_mutex_unlock(&dev->irq_lock);
		return false;
	}
	send = may_send(dev);
	pthread_mutex_unlock(&dev->irq_lock);
	if (send)
		msi_send(dev, &rt, addr, data);
	else
		pr_ratelimited("pci: %s: MSI dropped, %s", dev->name,
			       pci_dev_link_up(dev) ? "bus mastering is disabled"
						    : "a link above it is down");
	return true;
}

/* ---- INTx ---- */

void pci_set_intx_pin(struct pci_dev *dev, uint8_t pin)
{
	dev->cfg[PCI_INTERRUPT_PIN] = pin <= 4 ? pin : 0;
}

/* PCI-to-PCI Bridge 1.2 9.1: a device's pin appears on the bridge's pin (slot + pin) mod 4;
 * on bus 0 the four pins of each slot rotate over GSIs 16..19 the same way. */
uint32_t pci_intx_gsi(const struct pci_dev *dev)
{
	unsigned pin = dev->cfg[PCI_INTERRUPT_PIN];

	if (pin < 1 || pin > 4)
		return PCI_NO_GSI;
	pin--;
	for (int depth = 0; dev->bus && dev->bus->self && depth <= PCI_MAX_DEPTH; depth++) {
		pin = (pin + PCI_SLOT(dev->devfn)) % 4;
		dev = dev->bus->self;
	}
	return 16 + (PCI_SLOT(dev->devfn) + pin) % 4;
}

/* Lines are shared: the GSI is high while any device asserts it. Caller holds root->lock. */
void pci_intx_update(struct pci_dev *dev)
{
	struct pci_root *root = dev->root;
	uint32_t gsi = pci_intx_gsi(dev);
	bool assert = dev->intx_level && gsi != PCI_NO_GSI &&
		      !(pci_get16(dev, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);
	int *count;

	if (!root || assert == dev->intx_asserted)
		return;
	dev->intx_asserted = assert;
	count = &root->intx_count[gsi - 16];
	*count += assert ? 1 : -1;
	if (root->host && root->host->intx && *count == (assert ? 1 : 0))
		root->host->intx(root->host_opaque, gsi, assert);
}

void pci_intx_set(struct pci_dev *dev, bool level)
{
	uint16_t status;

	if (!dev->root) {
		dev->intx_level = level;
		return;
	}
	pthread_mutex_lock(&dev->root->lock);
	dev->intx_level = level;
	status = pci_get16(dev, PCI_STATUS);
	status = level ? status | PCI_STATUS_INTERRUPT : status & ~PCI_STATUS_INTERRUPT;
	pci_set16(dev, PCI_STATUS, status);
	pci_intx_update(dev);
	pthread_mutex_unlock(&dev->root->lock);
}
