/* SPDX-License-Identifier: MIT */
/*
 * The bus-address view: which BARs the CPU reaches through the bridges' windows (their
 * effective mappings, pushed to the host as trapped ranges or RAM memslots), the trap
 * handler that carves the MSI-X table and PBA out of a BAR, and the address space device DMA
 * is resolved through, rebuilt from the same view (guest RAM, peers' RAM-backed BARs and
 * BARs with a DMA handler).
 */
#include "vmm/pci/pci.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/pci/pci_internal.h"
#include "vmm/util.h"

/* PCI-to-PCI Bridge 1.2 3.2.5: 16-bit I/O with 4 KiB, memory with 1 MiB granularity. */
struct pci_window pci_bridge_window(const struct pci_dev *br, enum pci_window_kind kind)
{
	struct pci_window w;

	switch (kind) {
	case PCI_WIN_IO:
		w.base = (uint64_t)(br->cfg[PCI_IO_BASE] & 0xf0) << 8;
		w.limit = (uint64_t)(br->cfg[PCI_IO_LIMIT] & 0xf0) << 8 | 0xfff;
		break;
	case PCI_WIN_MEM:
		w.base = (uint64_t)(pci_get16(br, PCI_MEMORY_BASE) & 0xfff0) << 16;
		w.limit = (uint64_t)(pci_get16(br, PCI_MEMORY_LIMIT) & 0xfff0) << 16 | 0xfffff;
		break;
	default:
		w.base = (uint64_t)(pci_get16(br, PCI_PREF_MEMORY_BASE) & 0xfff0) << 16 |
			 (uint64_t)pci_get32(br, PCI_PREF_BASE_UPPER32) << 32;
		w.limit = (uint64_t)(pci_get16(br, PCI_PREF_MEMORY_LIMIT) & 0xfff0) << 16 |
			  (uint64_t)pci_get32(br, PCI_PREF_LIMIT_UPPER32) << 32 | 0xfffff;
		break;
	}
	return w;
}

static bool window_holds(struct pci_window w, uint64_t addr, uint64_t size)
{
	return w.base <= w.limit && addr >= w.base && size - 1 <= w.limit - addr && addr <= w.limit;
}

/*
 * The address a BAR decodes at now, or ~0 when it decodes nothing: decoding disabled in
 * COMMAND, address 0, the sizing pattern (all ones written), or a range that does not fit
 * the address space.
 */
static uint64_t bar_decoded_addr(const struct pci_dev *dev, int i)
{
	const struct pci_bar *b = &dev->bars[i];
	uint16_t cmd = pci_get16(dev, PCI_COMMAND);
	uint64_t addr = pci_bar_reg_addr(dev, i), mask = ~(b->size - 1), end;

	if (b->size == 0 || b->type == PCI_BAR_NONE)
		return ~0ULL;
	if (!(cmd & (b->type == PCI_BAR_IO ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)))
		return ~0ULL;
	if (addr == 0 || add_overflows_u64(addr, b->size, &end))
		return ~0ULL;
	switch (b->type) {
	case PCI_BAR_IO:
		if (end > 0x10000 || addr == (mask & 0xfffffffcULL))
			return ~0ULL;
		break;
	case PCI_BAR_MEM32:
		if (addr == (mask & 0xfffffff0ULL))
			return ~0ULL;
		break;
	default:
		/* Either half still holding the all-ones pattern means sizing is under way. */
		if ((uint32_t)addr == ((uint32_t)mask & 0xfffffff0u) && (uint32_t)mask != 0)
			return ~0ULL;
		if ((addr >> 32) == (mask >> 32) && (mask >> 32) != 0)
			return ~0ULL;
		break;
	}
	return addr;
}

/* Every bridge above forwards the range: its decode enable and one of its windows. */
static bool path_forwards(const struct pci_dev *dev, const struct pci_bar *b, uint64_t addr)
{
	bool io = b->type == PCI_BAR_IO;
	int depth = 0;

	for (; dev->bus && dev->bus->self; dev = dev->bus->self) {
		const struct pci_dev *br = dev->bus->self;
		uint16_t cmd = pci_get16(br, PCI_COMMAND);

		if (++depth > PCI_MAX_DEPTH)
			return false;
		if (br->link_down) /* PCIe 5.0 2.9.1: nothing is forwarded onto a link that is down
				    */
			return false;
		if (io) {
			if (!(cmd & PCI_COMMAND_IO) ||
			    !window_holds(pci_bridge_window(br, PCI_WIN_IO), addr, b->size))
				return false;
		} else {
			if (!(cmd & PCI_COMMAND_MEMORY) ||
			    (!window_holds(pci_bridge_window(br, PCI_WIN_MEM), addr, b->size) &&
			     !window_holds(pci_bridge_window(br, PCI_WIN_PREF), addr, b->size)))
				return false;
		}
	}
	/* A subtree not hanging from this root reaches nothing. */
	return dev->bus && dev->root && dev->bus == &dev->root->bus0;
}

/* ---- the BAR trap: MSI-X table/PBA, then the device's own handlers ---- */

static uint64_t bar_trap_read(void *opaque, uint64_t off, unsigned size)
{
	struct pci_bar *b = opaque;
	uint64_t v;

	if (size == 0 || size > 8 || off >= b->size || size > b->size - off)
		return ~0ULL;
	if (pci_msix_mmio(b->dev, b->index, off, &v, size, false))
		return v;
	if (b->ops && b->ops->read)
		return b->ops->read(b->opaque, off, size);
	return ~0ULL;
}

static void bar_trap_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct pci_bar *b = opaque;

	if (size == 0 || size > 8 || off >= b->size || size > b->size - off)
		return;
	if (pci_msix_mmio(b->dev, b->index, off, &val, size, true))
		return;
	if (b->ops && b->ops->write)
		b->ops->write(b->opaque, off, val, size);
}

static const struct bus_ops bar_trap_ops = {.read = bar_trap_read, .write = bar_trap_write};

/* ---- effective mappings ---- */

struct bar_ref {
	struct pci_dev *dev;
	int bar;
	uint64_t want; /* ~0: should not be mapped */
	uint64_t before;
};

struct bar_list {
	struct bar_ref *v;
	int n, cap;
	bool oom;
};

static void collect_bars(struct pci_dev *dev, void *arg)
{
	struct bar_list *l = arg;

	for (int i = 0; i < pci_dev_nbars(dev); i++) {
		struct pci_bar *b = &dev->bars[i];
		uint64_t want;

		if (b->type == PCI_BAR_NONE || b->size == 0)
			continue;
		want = bar_decoded_addr(dev, i);
		if (want != ~0ULL && !path_forwards(dev, b, want))
			want = ~0ULL;
		if (l->n == l->cap) {
			int cap = l->cap ? l->cap * 2 : 32;
			struct bar_ref *n = realloc(l->v, (size_t)cap * sizeof(*n));

			if (!n) {
				l->oom = true;
				return;
			}
			l->v = n;
			l->cap = cap;
		}
		l->v[l->n++] = (struct bar_ref){dev, i, want, b->mapped_addr};
	}
}

static bool same_space(const struct pci_bar *a, const struct pci_bar *b)
{
	return (a->type == PCI_BAR_IO) == (b->type == PCI_BAR_IO);
}

static bool bars_overlap(const struct pci_bar *a, uint64_t a_addr, const struct pci_bar *b,
			 uint64_t b_addr)
{
	return same_space(a, b) && a_addr <= b_addr + (b->size - 1) &&
	       b_addr <= a_addr + (a->size - 1);
}

static void host_unmap(struct pci_root *root, struct pci_bar *b)
{
	const struct pci_host_ops *h = root->host;

	if (b->mapped_ram) {
		if (h && h->unmap_ram)
			h->unmap_ram(root->host_opaque, b->mapped_addr);
	} else if (h && h->unmap_trap) {
		h->unmap_trap(root->host_opaque, b->type == PCI_BAR_IO ? BUS_PIO : BUS_MMIO,
			      b->mapped_addr);
	}
	b->mapped_addr = ~0ULL;
	b->mapped_ram = false;
}

static int host_map(struct pci_root *root, struct pci_dev *dev, struct pci_bar *b, uint64_t addr)
{
	const struct pci_host_ops *h = root->host;
	int ret;

	if (b->ram)
		ret = h && h->map_ram ? h->map_ram(root->host_opaque, addr, b->size, b->ram) : 0;
	else
		ret = h && h->map_trap ? h->map_trap(root->host_opaque,
						     b->type == PCI_BAR_IO ? BUS_PIO : BUS_MMIO,
						     addr, b->size, &bar_trap_ops, b, dev->name)
				       : 0;
	if (ret == 0) {
		b->mapped_addr = addr;
		b->mapped_ram = b->ram != NULL;
	}
	return ret;
}

/* Does [addr, addr+size) of `b` collide with a BAR that is mapped now? */
static const struct bar_ref *find_conflict(const struct bar_list *l, const struct pci_bar *b,
					   uint64_t addr)
{
	for (int j = 0; j < l->n; j++) {
		const struct pci_bar *o = &l->v[j].dev->bars[l->v[j].bar];

		if (o != b && o->mapped_addr != ~0ULL && bars_overlap(b, addr, o, o->mapped_addr))
			return &l->v[j];
	}
	return NULL;
}

/*
 * What DMA reaches now: guest RAM first (it wins over a BAR programmed on top of it, as
 * RAM memslots do in KVM), then every mapped memory BAR that is RAM-backed or takes DMA
 * through a handler. Called with root->lock held, after the mappings changed.
 */
static void rebuild_address_space(struct pci_root *root, const struct bar_list *l)
{
	int max = MEM_MAX_REGIONS + l->n, n = 0, ret;
	struct as_region *v = calloc((size_t)max, sizeof(*v));

	if (!v) {
		pr_err("pci: out of memory rebuilding the DMA address space");
		return;
	}
	if (root->mem)
		n = mem_as_regions(root->mem, v, MEM_MAX_REGIONS);
	for (int i = 0; i < l->n; i++) {
		const struct pci_bar *b = &l->v[i].dev->bars[l->v[i].bar];

		if (b->mapped_addr == ~0ULL || b->type == PCI_BAR_IO)
			continue;
		if (b->mapped_ram && b->ram)
			v[n++] = (struct as_region){.base = b->mapped_addr,
						    .size = b->size,
						    .hva = b->ram,
						    .owner = l->v[i].dev};
		else if (!b->mapped_ram && b->dma_rw)
			v[n++] = (struct as_region){.base = b->mapped_addr,
						    .size = b->size,
						    .rw = b->dma_rw,
						    .opaque = b->opaque,
						    .owner = l->v[i].dev};
	}
	ret = as_rebuild(&root->as, v, n);
	if (ret > 0)
		pr_ratelimited("pci: %d BAR(s) overlap guest RAM; DMA does not reach them", ret);
	else if (ret < 0)
		pr_err("pci: out of memory rebuilding the DMA address space");
	free(v);
}

/*
 * Diff the wanted state against what the host has: unmap what moved or went away first (so
 * a BAR can move onto the place another one left), then map what is new. A BAR that would
 * overlap one already mapped stays unmapped (the first one keeps its place) until the
 * conflict goes away.
 */
void pci_update_mappings_locked(struct pci_root *root)
{
	struct bar_list l = {0};

	pci_for_each_dev(&root->bus0, collect_bars, &l);
	if (l.oom)
		pr_err("pci: out of memory updating BAR mappings");

	for (int i = 0; i < l.n; i++) {
		struct pci_bar *b = &l.v[i].dev->bars[l.v[i].bar];

		if (b->mapped_addr != ~0ULL && b->mapped_addr != l.v[i].want)
			host_unmap(root, b);
	}
	for (int i = 0; i < l.n; i++) {
		struct bar_ref *r = &l.v[i];
		struct pci_bar *b = &r->dev->bars[r->bar];
		const struct bar_ref *c;
		int ret;

		if (r->want == ~0ULL || b->mapped_addr != ~0ULL)
			continue;
		c = find_conflict(&l, b, r->want);
		if (c) {
			pr_ratelimited("pci: %s BAR%d at 0x%llx overlaps %s BAR%d; left unmapped",
				       r->dev->name, r->bar, (unsigned long long)r->want,
				       c->dev->name, c->bar);
			continue;
		}
		ret = host_map(root, r->dev, b, r->want);
		if (ret)
			pr_ratelimited("pci: %s BAR%d at 0x%llx could not be mapped (%d)",
				       r->dev->name, r->bar, (unsigned long long)r->want, ret);
	}
	rebuild_address_space(root, &l);

	for (int i = 0; i < l.n; i++) {
		struct bar_ref *r = &l.v[i];
		struct pci_bar *b = &r->dev->bars[r->bar];

		if (b->mapped_addr != r->before && r->dev->ops && r->dev->ops->bar_mapped)
			r->dev->ops->bar_mapped(r->dev, r->bar, b->mapped_addr);
	}
	free(l.v);
}

void pci_update_mappings(struct pci_root *root)
{
	pthread_mutex_lock(&root->lock);
	pci_update_mappings_locked(root);
	pthread_mutex_unlock(&root->lock);
}

/* ---- links ---- */

void pci_bridge_set_link(struct pci_dev *br, bool up)
{
	if (__atomic_load_n(&br->link_down, __ATOMIC_ACQUIRE) == !up)
		return;
	__atomic_store_n(&br->link_down, !up, __ATOMIC_RELEASE);
	if (br->root)
		pci_update_mappings_locked(br->root);
}

bool pci_dev_link_up(const struct pci_dev *dev)
{
	for (int depth = 0; dev->bus && dev->bus->self && depth <= PCI_MAX_DEPTH; depth++) {
		dev = dev->bus->self;
		if (__atomic_load_n(&dev->link_down, __ATOMIC_ACQUIRE))
			return false;
	}
	return true;
}

/* ---- DMA ---- */

/* The bus as `dev` reaches it: none when a link above it is down (PCIe 5.0 2.9.1: nothing
 * from below crosses a port in DL_Down), so only the device's own memory answers. */
static const struct addr_space *dma_bus(const struct pci_dev *dev)
{
	return dev->root && pci_dev_link_up(dev) ? &dev->root->as : NULL;
}

void *pci_dma_map(struct pci_dev *dev, uint64_t addr, uint64_t len)
{
	struct as_target t = as_map(dma_bus(dev), &dev->dma, addr, len);

	return t.kind == AS_RAM ? t.hva : NULL;
}

/*
 * A handler runs with no PCI core lock held, so it may take its device's lock in any state
 * (the NTB link thread holds that lock while it changes memslots). A BAR moved meanwhile is
 * the guest racing its own DMA; the handler still checks `off` against what it backs now.
 */
static int dma_rw_one(struct pci_dev *dev, uint64_t addr, void *buf, uint64_t len, bool write)
{
	struct as_target t;

	t = as_map_access(dma_bus(dev), &dev->dma, addr, len, write ? AS_WRITE : AS_READ);
	switch (t.kind) {
	case AS_RAM:
		if (write)
			memcpy(t.hva, buf, len);
		else
			memcpy(buf, t.hva, len);
		return 0;
	case AS_HANDLER:
		return t.rw(t.opaque, t.off, buf, len, write) ? -EFAULT : 0;
	case AS_NONE:
		break;
	}
	return -EFAULT;
}

/* Through an IOMMU, page by page: IOVA-contiguous pages need not be contiguous behind it
 * (Linux's iommu_dma_alloc_remap() builds buffers from single pages). */
static int dma_rw(struct pci_dev *dev, uint64_t addr, void *buf, uint64_t len, bool write)
{
	uint8_t *p = buf;

	if (len == 0)
		return 0;
	if (!dev->dma.iommu)
		return dma_rw_one(dev, addr, buf, len, write);
	if (addr + len < addr)
		return -EFAULT;
	while (len) {
		uint64_t n = 4096 - (addr & 4095);

		if (n > len)
			n = len;
		if (dma_rw_one(dev, addr, p, n, write))
			return -EFAULT;
		addr += n;
		p += n;
		len -= n;
	}
	return 0;
}

int pci_dma_read(struct pci_dev *dev, uint64_t addr, void *buf, uint64_t len)
{
	return dma_rw(dev, addr, buf, len, false);
}

int pci_dma_write(struct pci_dev *dev, uint64_t addr, const void *buf, uint64_t len)
{
	return dma_rw(dev, addr, (void *)buf, len, true);
}
