/* SPDX-License-Identifier: MIT */
/*
 * PCI configuration space: the type 0 and type 1 headers, guest writes through the write and
 * write-1-to-clear masks, routing of config cycles by the bridges' bus numbers, the two
 * access mechanisms (0xCF8/0xCFC and ECAM), and the capability list builder.
 */
#include "vmm/pci/pci.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/pci/pci_internal.h"
#include "vmm/util.h"

void pci_root_init(struct pci_root *root, const struct pci_host_ops *host, void *opaque,
		   const struct guest_mem *mem, uint64_t ecam_base)
{
	pthread_mutexattr_t attr;

	memset(root, 0, sizeof(*root));
	root->bus0.root = root;
	root->host = host;
	root->host_opaque = opaque;
	root->mem = mem;
	root->ecam_base = ecam_base;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&root->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	as_init(&root->as);
	pci_update_mappings(root); /* guest RAM, before any BAR is mapped */
}

static void destroy_one(struct pci_dev *dev, void *arg)
{
	pci_dev_destroy(dev);
}

void pci_root_destroy(struct pci_root *root)
{
	pci_for_each_dev(&root->bus0, destroy_one, NULL);
	pthread_mutex_destroy(&root->lock);
	as_destroy(&root->as);
}

static void for_each_dev(struct pci_bus *bus, void (*fn)(struct pci_dev *dev, void *arg), void *arg,
			 int depth)
{
	if (depth > PCI_MAX_DEPTH)
		return;
	for (int devfn = 0; devfn < bus->devfn_end; devfn++) {
		struct pci_dev *dev = bus->devs[devfn];

		if (!dev)
			continue;
		fn(dev, arg);
		if (dev->secondary)
			for_each_dev(dev->secondary, fn, arg, depth + 1);
	}
}

void pci_for_each_dev(struct pci_bus *bus, void (*fn)(struct pci_dev *dev, void *arg), void *arg)
{
	for_each_dev(bus, fn, arg, 0);
}

/* ---- routing ---- */

/* PCI 3.0 3.2.2.3.4 / 6.2.1: a function other than 0 exists only when function 0 does. */
static struct pci_dev *bus_function(struct pci_bus *bus, uint8_t devfn)
{
	if (!bus->devs[devfn & ~7])
		return NULL;
	return bus->devs[devfn];
}

/*
 * PCI-to-PCI Bridge 1.2 3.1.2.1: a bridge claims a type 1 cycle for a bus number inside
 * [secondary, subordinate]; it converts it to type 0 when the number is its secondary bus,
 * and passes it on as type 1 otherwise. The numbers are read live, so guest re-programming
 * takes effect at once.
 */
struct pci_dev *pci_find_dev(struct pci_root *root, uint8_t busnr, uint8_t devfn)
{
	struct pci_bus *bus = &root->bus0;

	for (int depth = 0; busnr != 0 && depth <= PCI_MAX_DEPTH; depth++) {
		struct pci_bus *next = NULL;

		for (int i = 0; i < bus->devfn_end && !next; i++) {
			struct pci_dev *br = bus_function(bus, (uint8_t)i);
			uint8_t sec, sub;

			if (!br || !br->secondary)
				continue;
			sec = br->cfg[PCI_SECONDARY_BUS];
			sub = br->cfg[PCI_SUBORDINATE_BUS];
			if (busnr < sec || busnr > sub)
				continue;
			/* PCIe 5.0 2.9.1: a port in DL_Down answers UR for what is behind it */
			if (__atomic_load_n(&br->link_down, __ATOMIC_ACQUIRE))
				return NULL;
			if (busnr == sec)
				return bus_function(br->secondary, devfn);
			next = br->secondary;
		}
		if (!next)
			return NULL;
		bus = next;
	}
	return busnr == 0 ? bus_function(bus, devfn) : NULL;
}

/* ---- config cycles ---- */

/* Config requests are at most a dword and never cross one (PCIe 5.0 7.2.2). */
static bool cfg_access_ok(unsigned off, unsigned size)
{
	if (size != 1 && size != 2 && size != 4)
		return false;
	if (off >= PCI_CFG_SIZE || (off & 3) + size > 4)
		return false;
	return true;
}

static uint32_t all_ones(unsigned size)
{
	return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

uint32_t pci_config_read(struct pci_root *root, uint8_t busnr, uint8_t devfn, unsigned off,
			 unsigned size)
{
	struct pci_dev *dev;
	uint32_t v = 0;

	if (!cfg_access_ok(off, size))
		return 0xffffffffu;
	pthread_mutex_lock(&root->lock);
	dev = pci_find_dev(root, busnr, devfn);
	if (!dev) {
		pthread_mutex_unlock(&root->lock);
		return all_ones(size);
	}
	if (dev->ops && dev->ops->config_read)
		dev->ops->config_read(dev, off, size);
	pthread_mutex_lock(&dev->irq_lock);
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)dev->cfg[off + i] << (8 * i);
	pthread_mutex_unlock(&dev->irq_lock);
	pthread_mutex_unlock(&root->lock);
	return v;
}

/* Registers whose change moves, enables or disables a decoded range. */
static bool touches_mappings(const struct pci_dev *dev, unsigned off, unsigned size)
{
	bool bridge = dev->secondary != NULL;

	if (ranges_overlap(off, size, PCI_COMMAND, 2))
		return true;
	if (ranges_overlap(off, size, PCI_BASE_ADDRESS_0, 4 * (unsigned)pci_dev_nbars(dev)))
		return true;
	/* bus numbers, I/O, memory and prefetchable windows with their upper halves */
	return bridge && ranges_overlap(off, size, PCI_PRIMARY_BUS,
					PCI_IO_LIMIT_UPPER16 + 2 - PCI_PRIMARY_BUS);
}

static void dev_config_write(struct pci_dev *dev, unsigned off, uint32_t val, unsigned size)
{
	uint16_t old_cmd = pci_get16(dev, PCI_COMMAND);

	pthread_mutex_lock(&dev->irq_lock);
	for (unsigned i = 0; i < size; i++) {
		unsigned o = off + i;
		uint8_t v = (uint8_t)(val >> (8 * i));
		uint8_t b = (uint8_t)((dev->cfg[o] & ~dev->wmask[o]) | (v & dev->wmask[o]));

		b &= (uint8_t) ~(v & dev->w1cmask[o]);
		pci_cfg_store(dev, o, b);
	}
	if (pci_config_touches_msi(dev, off, size))
		pci_msi_after_config_write(dev, off, size);
	pthread_mutex_unlock(&dev->irq_lock);

	if ((old_cmd ^ pci_get16(dev, PCI_COMMAND)) & PCI_COMMAND_INTX_DISABLE)
		pci_intx_update(dev);
	if (dev->ops && dev->ops->config_write)
		dev->ops->config_write(dev, off, val, size);
	if (dev->root && touches_mappings(dev, off, size))
		pci_update_mappings_locked(dev->root);
}

void pci_config_write(struct pci_root *root, uint8_t busnr, uint8_t devfn, unsigned off,
		      uint32_t val, unsigned size)
{
	struct pci_dev *dev;

	if (!cfg_access_ok(off, size))
		return;
	pthread_mutex_lock(&root->lock);
	dev = pci_find_dev(root, busnr, devfn);
	if (dev)
		dev_config_write(dev, off, val, size);
	pthread_mutex_unlock(&root->lock);
}

/* ---- access mechanisms ---- */

/* PCI 3.0 3.2.2.3.2: enable 31, bus 23:16, device 15:11, function 10:8, register 7:2.
 * Bits 30:24 are reserved (no AMD extended register bits 27:24); 1:0 read as 0. */
#define CF8_ENABLE 0x80000000u
#define CF8_MASK   0x80fffffcu

static uint64_t cf8_read(void *opaque, uint64_t off, unsigned size)
{
	struct pci_root *root = opaque;
	uint32_t addr = __atomic_load_n(&root->cf8, __ATOMIC_RELAXED);

	if (off < 4)
		return off == 0 && size == 4 ? addr : ~0ULL;
	off -= 4;
	if (off + size > 4 || !(addr & CF8_ENABLE))
		return ~0ULL;
	return pci_config_read(root, (uint8_t)(addr >> 16), (uint8_t)(addr >> 8),
			       (addr & 0xfc) + (unsigned)off, size);
}

static void cf8_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct pci_root *root = opaque;
	uint32_t addr;

	if (off < 4) {
		/* Only a dword write at 0xCF8 is the address latch. */
		if (off == 0 && size == 4)
			__atomic_store_n(&root->cf8, (uint32_t)val & CF8_MASK, __ATOMIC_RELAXED);
		return;
	}
	off -= 4;
	addr = __atomic_load_n(&root->cf8, __ATOMIC_RELAXED);
	if (off + size > 4 || !(addr & CF8_ENABLE))
		return;
	pci_config_write(root, (uint8_t)(addr >> 16), (uint8_t)(addr >> 8),
			 (addr & 0xfc) + (unsigned)off, (uint32_t)val, size);
}

const struct bus_ops pci_cf8_ops = {.read = cf8_read, .write = cf8_write};

/* PCIe 5.0 7.2.2: bus 27:20, device 19:15, function 14:12, register 11:0. */
static uint64_t ecam_read(void *opaque, uint64_t off, unsigned size)
{
	if (off >= MEM_ECAM_SIZE || size > 4)
		return ~0ULL;
	return pci_config_read(opaque, (uint8_t)(off >> 20), (uint8_t)(off >> 12),
			       (unsigned)(off & 0xfff), size);
}

static void ecam_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	if (off >= MEM_ECAM_SIZE || size > 4)
		return;
	pci_config_write(opaque, (uint8_t)(off >> 20), (uint8_t)(off >> 12),
			 (unsigned)(off & 0xfff), (uint32_t)val, size);
}

const struct bus_ops pci_ecam_ops = {.read = ecam_read, .write = ecam_write};

/* ---- devices ---- */

static void set_wmask16(struct pci_dev *dev, unsigned off, uint16_t m)
{
	dev->wmask[off] = (uint8_t)m;
	dev->wmask[off + 1] = (uint8_t)(m >> 8);
}

static void set_wmask32(struct pci_dev *dev, unsigned off, uint32_t m)
{
	for (int i = 0; i < 4; i++)
		dev->wmask[off + i] = (uint8_t)(m >> (8 * i));
}

void pci_dev_init(struct pci_dev *dev, const char *name, uint16_t vendor, uint16_t device,
		  uint32_t class_code, uint8_t revision, bool bridge)
{
	memset(dev, 0, sizeof(*dev));
	dev->name = name;
	pthread_mutex_init(&dev->irq_lock, NULL);
	dev->live = true;
	dev->cap_next = 0x40;
	dev->ecap_next = 0x100;
	dev->msi.route.route = -1;
	/* PCIe 5.0 7.5.1.1.3: no requests upstream without Bus Master Enable */
	dev->dma = (struct as_requester){
		.id = dev, .enable = &dev->cfg[PCI_COMMAND], .enable_mask = PCI_COMMAND_MASTER};
	for (int i = 0; i < PCI_NUM_BARS; i++) {
		dev->bars[i].mapped_addr = ~0ULL;
		dev->bars[i].dev = dev;
		dev->bars[i].index = i;
	}

	pci_set16(dev, PCI_VENDOR_ID, vendor);
	pci_set16(dev, PCI_DEVICE_ID, device);
	dev->cfg[PCI_REVISION_ID] = revision;
	dev->cfg[PCI_CLASS_PROG] = (uint8_t)class_code;
	pci_set16(dev, PCI_CLASS_DEVICE, (uint16_t)(class_code >> 8));
	dev->cfg[PCI_HEADER_TYPE] = bridge ? PCI_HEADER_TYPE_BRIDGE : PCI_HEADER_TYPE_NORMAL;

	/* PCIe 5.0 7.5.1.1.3: the command bits a PCIe function implements. */
	set_wmask16(dev, PCI_COMMAND,
		    PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY |
			    PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
	dev->w1cmask[PCI_STATUS + 1] = PCI_STATUS_ERRORS >> 8;
	dev->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	dev->wmask[PCI_INTERRUPT_LINE] = 0xff;
	if (!bridge)
		return;

	/* PCI-to-PCI Bridge 1.2 3.2 */
	for (unsigned o = PCI_PRIMARY_BUS; o <= PCI_SUBORDINATE_BUS + 1; o++)
		dev->wmask[o] = 0xff; /* bus numbers, secondary latency timer */
	dev->cfg[PCI_IO_BASE] = PCI_IO_RANGE_TYPE_16;
	dev->cfg[PCI_IO_LIMIT] = PCI_IO_RANGE_TYPE_16;
	dev->wmask[PCI_IO_BASE] = 0xf0;
	dev->wmask[PCI_IO_LIMIT] = 0xf0;
	dev->w1cmask[PCI_SEC_STATUS + 1] = PCI_STATUS_ERRORS >> 8;
	set_wmask16(dev, PCI_MEMORY_BASE, 0xfff0);
	set_wmask16(dev, PCI_MEMORY_LIMIT, 0xfff0);
	pci_set16(dev, PCI_PREF_MEMORY_BASE, PCI_PREF_RANGE_TYPE_64);
	pci_set16(dev, PCI_PREF_MEMORY_LIMIT, PCI_PREF_RANGE_TYPE_64);
	set_wmask16(dev, PCI_PREF_MEMORY_BASE, 0xfff0);
	set_wmask16(dev, PCI_PREF_MEMORY_LIMIT, 0xfff0);
	set_wmask32(dev, PCI_PREF_BASE_UPPER32, 0xffffffff);
	set_wmask32(dev, PCI_PREF_LIMIT_UPPER32, 0xffffffff);
	/* Bits 0-6: parity, SERR, ISA, VGA, VGA 16-bit, master abort, secondary bus reset (a
	 * no-op here); the rest are read-only 0 on PCIe (PCIe 5.0 7.5.1.3.13). */
	set_wmask16(dev, PCI_BRIDGE_CONTROL, 0x7f);
}

void pci_dev_destroy(struct pci_dev *dev)
{
	if (!dev->live)
		return;
	dev->live = false;
	free(dev->msix.table);
	free(dev->msix.pba);
	free(dev->msix.routes);
	dev->msix.table = NULL;
	dev->msix.pba = NULL;
	dev->msix.routes = NULL;
	dev->msix.nvec = 0;
	free(dev->dma.iotlb);
	dev->dma.iotlb = NULL;
	pthread_mutex_destroy(&dev->irq_lock);
}

int pci_dev_nbars(const struct pci_dev *dev)
{
	return (dev->cfg[PCI_HEADER_TYPE] & 0x7f) == PCI_HEADER_TYPE_BRIDGE ? PCI_BRIDGE_NUM_BARS
									    : PCI_NUM_BARS;
}

uint64_t pci_bar_reg_addr(const struct pci_dev *dev, int bar)
{
	const struct pci_bar *b = &dev->bars[bar];
	uint64_t lo = pci_get32(dev, PCI_BASE_ADDRESS_0 + 4 * (unsigned)bar);

	switch (b->type) {
	case PCI_BAR_IO:
		return lo & ~3ULL;
	case PCI_BAR_MEM32:
		return lo & ~0xfULL;
	case PCI_BAR_MEM64:
		return (lo & ~0xfULL) |
		       (uint64_t)pci_get32(dev, PCI_BASE_ADDRESS_0 + 4 * (unsigned)bar + 4) << 32;
	default:
		return 0;
	}
}

/*
 * PCI 3.0 6.2.5.1: the address bits below the size are read-only 0, so writing all ones
 * reads back the size mask with the type bits. 64-bit BARs take the next slot as the upper
 * half, fully writable above the size.
 */
int pci_dev_set_bar_dma(struct pci_dev *dev, int bar, as_rw_fn dma_rw)
{
	struct pci_bar *b;

	if (bar < 0 || bar >= PCI_NUM_BARS)
		return -EINVAL;
	b = &dev->bars[bar];
	if (b->type == PCI_BAR_NONE || b->type == PCI_BAR_IO || b->ram)
		return -EINVAL;
	b->dma_rw = dma_rw;
	if (dev->root) /* already mapped: the address space learns of the handler now */
		pci_update_mappings(dev->root);
	return 0;
}

int pci_dev_set_bar(struct pci_dev *dev, int bar, enum pci_bar_type type, bool prefetch,
		    uint64_t size, const struct bus_ops *ops, void *opaque, void *ram)
{
	int nbars = pci_dev_nbars(dev);
	unsigned off = PCI_BASE_ADDRESS_0 + 4 * (unsigned)bar;
	struct pci_bar *b;
	uint64_t mask;
	uint32_t lo;

	if (bar < 0 || bar >= nbars || !IS_POW2(size))
		return -EINVAL;
	if (dev->bars[bar].type != PCI_BAR_NONE ||
	    (bar > 0 && dev->bars[bar - 1].type == PCI_BAR_MEM64))
		return -EINVAL;
	switch (type) {
	case PCI_BAR_IO:
		/* PCI 3.0 6.2.5.1: I/O BARs claim at most 256 bytes */
		if (size < 4 || size > 256 || prefetch || ram)
			return -EINVAL;
		lo = PCI_BASE_ADDRESS_SPACE_IO;
		break;
	case PCI_BAR_MEM32:
		if (size < 16 || size > GiB(2))
			return -EINVAL;
		lo = prefetch ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0;
		break;
	case PCI_BAR_MEM64:
		if (size < 16 || size > (1ULL << 63) || bar + 1 >= nbars ||
		    dev->bars[bar + 1].type != PCI_BAR_NONE)
			return -EINVAL;
		lo = PCI_BASE_ADDRESS_MEM_TYPE_64 | (prefetch ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
		break;
	default:
		return -EINVAL;
	}
	/* A RAM-backed BAR becomes a memslot: whole pages. */
	if (ram && size < KiB(4))
		return -EINVAL;

	b = &dev->bars[bar];
	b->type = type;
	b->prefetch = prefetch;
	b->size = size;
	b->ops = ops;
	b->opaque = opaque;
	b->ram = ram;
	b->mapped_addr = ~0ULL;
	b->mapped_ram = false;

	mask = ~(size - 1);
	pci_set32(dev, off, lo);
	set_wmask32(dev, off, (uint32_t)mask & (type == PCI_BAR_IO ? ~3u : ~0xfu));
	if (type == PCI_BAR_MEM64) {
		pci_set32(dev, off + 4, 0);
		set_wmask32(dev, off + 4, (uint32_t)(mask >> 32));
	}
	return 0;
}

void pci_bus_init(struct pci_bus *bus, const char *id)
{
	memset(bus, 0, sizeof(*bus));
	bus->id = id;
}

static void set_root(struct pci_bus *bus, struct pci_root *root, int depth)
{
	if (depth > PCI_MAX_DEPTH)
		return;
	bus->root = root;
	for (int i = 0; i < bus->devfn_end; i++) {
		struct pci_dev *dev = bus->devs[i];

		if (!dev)
			continue;
		dev->root = root;
		if (dev->secondary)
			set_root(dev->secondary, root, depth + 1);
	}
}

void pci_bridge_set_secondary(struct pci_dev *bridge, struct pci_bus *bus)
{
	bridge->secondary = bus;
	bus->self = bridge;
	set_root(bus, bridge->root, 0);
}

int pci_bus_add(struct pci_bus *bus, struct pci_dev *dev, uint8_t devfn)
{
	struct pci_dev *fn0;

	if (bus->devs[devfn])
		return -EEXIST;
	bus->devs[devfn] = dev;
	if (devfn >= bus->devfn_end)
		bus->devfn_end = (uint16_t)(devfn + 1);
	dev->bus = bus;
	dev->devfn = devfn;
	dev->root = bus->root;
	if (bus->root)
		dev->dma.iommu = bus->root->iommu;
	if (dev->secondary)
		pci_bridge_set_secondary(dev, dev->secondary);
	fn0 = bus->devs[devfn & ~7];
	if (!fn0)
		return 0;
	for (int fn = 1; fn < 8; fn++)
		if (bus->devs[(devfn & ~7) | fn])
			fn0->cfg[PCI_HEADER_TYPE] |= PCI_HEADER_TYPE_MULTI;
	return 0;
}

/* ---- capabilities ---- */

uint8_t pci_add_cap(struct pci_dev *dev, uint8_t id, uint8_t len)
{
	unsigned off = ALIGN_UP(dev->cap_next, 4);

	if (len < 2 || off < 0x40 || off + len > PCI_LEGACY_CFG_SIZE ||
	    (dev->cap_last && off <= dev->cap_last))
		return 0;
	dev->cfg[off] = id;
	dev->cfg[off + 1] = 0;
	if (dev->cap_last)
		dev->cfg[dev->cap_last + 1] = (uint8_t)off;
	else
		dev->cfg[PCI_CAPABILITY_LIST] = (uint8_t)off;
	pci_set16(dev, PCI_STATUS, pci_get16(dev, PCI_STATUS) | PCI_STATUS_CAP_LIST);
	dev->cap_last = (uint8_t)off;
	dev->cap_next = (uint8_t)ALIGN_UP(off + len, 4);
	return (uint8_t)off;
}

/* PCIe 5.0 7.6.3: ID 15:0, version 19:16, next offset 31:20 (dword aligned). */
uint16_t pci_add_ecap(struct pci_dev *dev, uint16_t id, uint8_t version, uint16_t len)
{
	unsigned off = ALIGN_UP(dev->ecap_next, 4);

	if (len < 4 || off < PCI_LEGACY_CFG_SIZE || off + len > PCI_CFG_SIZE ||
	    (dev->ecap_last && off <= dev->ecap_last))
		return 0;
	pci_set32(dev, off, id | (uint32_t)(version & 0xf) << 16);
	if (dev->ecap_last)
		pci_set32(dev, dev->ecap_last,
			  (pci_get32(dev, dev->ecap_last) & 0xfffff) | (uint32_t)off << 20);
	dev->ecap_last = (uint16_t)off;
	dev->ecap_next = (uint16_t)ALIGN_UP(off + len, 4);
	return (uint16_t)off;
}
