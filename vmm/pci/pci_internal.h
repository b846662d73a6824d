/* SPDX-License-Identifier: MIT */
/* What the PCI core's files share with each other; not for device models (use vmm/pci/pci.h). */
#ifndef VMM_PCI_INTERNAL_H
#define VMM_PCI_INTERNAL_H

#include "vmm/pci/pci.h"

/* The deepest bridge nesting walked; a guard against a mis-built (cyclic) tree. */
#define PCI_MAX_DEPTH 32

/* Call fn for every device in the tree below `bus`, depth first, in devfn order. */
void pci_for_each_dev(struct pci_bus *bus, void (*fn)(struct pci_dev *dev, void *arg), void *arg);

/* The device a config cycle for (bus, devfn) reaches, or NULL. Caller holds root->lock. */
struct pci_dev *pci_find_dev(struct pci_root *root, uint8_t bus, uint8_t devfn);

/* pci_update_mappings with root->lock already held. */
void pci_update_mappings_locked(struct pci_root *root);

/* A bridge window as the bridge decodes it now; closed when base > limit. */
struct pci_window {
	uint64_t base, limit;
};
enum pci_window_kind { PCI_WIN_IO, PCI_WIN_MEM, PCI_WIN_PREF, PCI_WIN_COUNT };
struct pci_window pci_bridge_window(const struct pci_dev *bridge, enum pci_window_kind kind);

/* Number of BAR slots in the header (6 for type 0, 2 for type 1). */
int pci_dev_nbars(const struct pci_dev *dev);
/* The address a BAR's registers hold (type bits removed), 64-bit BARs both halves. */
uint64_t pci_bar_reg_addr(const struct pci_dev *dev, int bar);

/* MSI/MSI-X side of a config write (dev->irq_lock held): delivers pending messages that the
 * write unmasked. */
void pci_msi_after_config_write(struct pci_dev *dev, unsigned off, unsigned size);
bool pci_config_touches_msi(const struct pci_dev *dev, unsigned off, unsigned size);
/* MSI-X table/PBA access from the BAR trap: true when [off, off+size) is theirs. */
bool pci_msix_mmio(struct pci_dev *dev, int bar, uint64_t off, uint64_t *val, unsigned size,
		   bool write);
/* Re-evaluate the INTx line after COMMAND.INTX_DISABLE or the level changed (root->lock). */
void pci_intx_update(struct pci_dev *dev);

/* Byte store that a concurrent lock-free reader (pci_dma_map's COMMAND check) may observe. */
static inline void pci_cfg_store(struct pci_dev *dev, unsigned off, uint8_t v)
{
	__atomic_store_n(&dev->cfg[off], v, __ATOMIC_RELAXED);
}

static inline bool ranges_overlap(unsigned a, unsigned alen, unsigned b, unsigned blen)
{
	return a < b + blen && b < a + alen;
}

#endif
