/* SPDX-License-Identifier: MIT */
/*
 * Firmware-like enumeration (bus numbers, BARs, bridge windows) so that a directly booted
 * kernel finds a configured tree, and the tree printer for `vmm inspect`.
 *
 * Resources come in three pools: I/O, 32-bit memory, and 64-bit prefetchable memory (64-bit
 * prefetchable BARs; the bridges' prefetchable windows are 64-bit). Each bridge gets one
 * window per pool covering everything behind it. Sizing runs bottom-up, placement top-down;
 * inside a window items go largest alignment first, so no space is lost between them except
 * behind bridge windows that are not a multiple of their alignment.
 */
#include "vmm/pci/pci.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/pci/pci_internal.h"
#include "vmm/util.h"

enum pool { POOL_IO, POOL_MEM, POOL_PREF, POOL_COUNT };

static const char *const pool_names[POOL_COUNT] = {"I/O", "32-bit memory",
						   "64-bit prefetchable memory"};
/* PCI-to-PCI Bridge 1.2 3.2.5.6, 3.2.5.8 */
static const uint64_t pool_granule[POOL_COUNT] = {KiB(4), MiB(1), MiB(1)};

static enum pool bar_pool(const struct pci_bar *b)
{
	if (b->type == PCI_BAR_IO)
		return POOL_IO;
	return b->type == PCI_BAR_MEM64 && b->prefetch ? POOL_PREF : POOL_MEM;
}

struct item {
	struct pci_dev *dev;
	int bar; /* -1: the bridge's window for the pool */
	enum pool pool;
	uint64_t size, align;
};

struct assign {
	struct pci_root *root;
	char *err;
	size_t errlen;
	int next_bus;
	bool overflow; /* a bridge window did not fit, though its BARs did (so far) */
};

/* ---- bus numbers ---- */

static int number_buses(struct assign *a, struct pci_bus *bus, int number, int depth)
{
	bus->assigned_number = (uint8_t)number;
	if (depth > PCI_MAX_DEPTH)
		return -ELOOP;
	for (int devfn = 0; devfn < bus->devfn_end; devfn++) {
		struct pci_dev *br = bus->devs[devfn];
		int sec, ret;

		if (!br || !br->secondary)
			continue;
		if (a->next_bus > 255) {
			snprintf(a->err, a->errlen, "pci: no bus number left for %s", br->name);
			return -ENOSPC;
		}
		sec = a->next_bus++;
		br->cfg[PCI_PRIMARY_BUS] = (uint8_t)number;
		br->cfg[PCI_SECONDARY_BUS] = (uint8_t)sec;
		br->cfg[PCI_SUBORDINATE_BUS] = 0xff;
		ret = number_buses(a, br->secondary, sec, depth + 1);
		if (ret)
			return ret;
		br->cfg[PCI_SUBORDINATE_BUS] = (uint8_t)(a->next_bus - 1);
	}
	return 0;
}

/* ---- sizing ---- */

static void window_need(struct pci_bus *bus, enum pool pool, uint64_t *size, uint64_t *align,
			int depth);

static int item_cmp(const void *pa, const void *pb)
{
	const struct item *a = pa, *b = pb;

	if (a->align != b->align)
		return a->align < b->align ? 1 : -1;
	if (a->size != b->size)
		return a->size < b->size ? 1 : -1;
	return 0; /* qsort is not stable: callers' order is by devfn, keep it */
}

/* Append `it` to the growing array v[0..*n). */
static struct item *item_push(struct item *v, int *n, int *cap, const struct item *it)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		v = realloc(v, (size_t)*cap * sizeof(*v));
		if (!v)
			die("out of memory");
	}
	v[(*n)++] = *it;
	return v;
}

/* What `bus` puts in pools selected by `mask`: its devices' BARs and the bridges' windows. */
static struct item *bus_items(struct pci_bus *bus, unsigned mask, int *n, int depth)
{
	struct item *v = NULL;
	int cap = 0;

	*n = 0;
	for (int devfn = 0; devfn < bus->devfn_end; devfn++) {
		struct pci_dev *dev = bus->devs[devfn];

		if (!dev)
			continue;
		for (int i = -1; i < pci_dev_nbars(dev); i++) {
			struct item it = {.dev = dev, .bar = i};

			if (i < 0) {
				if (!dev->secondary)
					continue;
				for (enum pool p = 0; p < POOL_COUNT; p++) {
					if (!(mask & (1u << p)))
						continue;
					it.pool = p;
					window_need(dev->secondary, p, &it.size, &it.align,
						    depth + 1);
					if (!it.size)
						continue;
					v = item_push(v, n, &cap, &it);
				}
				continue;
			}
			if (dev->bars[i].type == PCI_BAR_NONE || !dev->bars[i].size)
				continue;
			it.pool = bar_pool(&dev->bars[i]);
			if (!(mask & (1u << it.pool)))
				continue;
			it.size = it.align = dev->bars[i].size;
			v = item_push(v, n, &cap, &it);
		}
	}
	/* Largest first; for equal keys keep devfn order (insertion sort is stable). */
	for (int i = 1; i < *n; i++) {
		struct item t = v[i];
		int j = i;

		for (; j > 0 && item_cmp(&v[j - 1], &t) > 0; j--)
			v[j] = v[j - 1];
		v[j] = t;
	}
	return v;
}

/* Size of a bridge window (0: closed) and the alignment it needs, for one pool. */
static void window_need(struct pci_bus *bus, enum pool pool, uint64_t *size, uint64_t *align,
			int depth)
{
	uint64_t off = 0;
	struct item *v;
	int n;

	*size = 0;
	*align = pool_granule[pool];
	if (depth > PCI_MAX_DEPTH)
		return;
	v = bus_items(bus, 1u << pool, &n, depth);
	for (int i = 0; i < n; i++) {
		if (v[i].align > *align)
			*align = v[i].align;
		/* saturate instead of wrapping: it then fails placement */
		off = ALIGN_UP(off, v[i].align);
		if (add_overflows_u64(off, v[i].size, &off) || off > (1ULL << 62))
			off = 1ULL << 62;
	}
	free(v);
	if (off)
		*size = ALIGN_UP(off, pool_granule[pool]);
}

/* ---- placement ---- */

static void program_bar(struct pci_dev *dev, int i, uint64_t addr)
{
	unsigned off = PCI_BASE_ADDRESS_0 + 4 * (unsigned)i;
	uint32_t type = pci_get32(dev, off) & (dev->bars[i].type == PCI_BAR_IO ? 0x3 : 0xf);

	pci_set32(dev, off, (uint32_t)addr | type);
	if (dev->bars[i].type == PCI_BAR_MEM64)
		pci_set32(dev, off + 4, (uint32_t)(addr >> 32));
}

static void program_window(struct pci_dev *br, enum pool pool, uint64_t base, uint64_t size)
{
	uint64_t limit = base + size - 1;

	if (!size) {
		/* closed: base above limit */
		base = 0xfffff000ULL;
		limit = 0;
		if (pool == POOL_PREF)
			base = 0xfffffffffff00000ULL;
	}
	switch (pool) {
	case POOL_IO:
		br->cfg[PCI_IO_BASE] = (uint8_t)((base >> 8) & 0xf0) | PCI_IO_RANGE_TYPE_16;
		br->cfg[PCI_IO_LIMIT] = (uint8_t)((limit >> 8) & 0xf0) | PCI_IO_RANGE_TYPE_16;
		break;
	case POOL_MEM:
		pci_set16(br, PCI_MEMORY_BASE, (uint16_t)(base >> 16) & 0xfff0);
		pci_set16(br, PCI_MEMORY_LIMIT, (uint16_t)(limit >> 16) & 0xfff0);
		break;
	default:
		pci_set16(br, PCI_PREF_MEMORY_BASE,
			  ((uint16_t)(base >> 16) & 0xfff0) | PCI_PREF_RANGE_TYPE_64);
		pci_set16(br, PCI_PREF_MEMORY_LIMIT,
			  ((uint16_t)(limit >> 16) & 0xfff0) | PCI_PREF_RANGE_TYPE_64);
		pci_set32(br, PCI_PREF_BASE_UPPER32, (uint32_t)(base >> 32));
		pci_set32(br, PCI_PREF_LIMIT_UPPER32, (uint32_t)(limit >> 32));
		break;
	}
}

/*
 * Place the items of `bus` in the pools of `mask` from `*cursor` up to `end` (exclusive),
 * recursing into bridge windows. `region` names the root window for messages.
 */
static int place(struct assign *a, struct pci_bus *bus, unsigned mask, uint64_t *cursor,
		 uint64_t end, const char *region, int depth)
{
	struct item *v;
	int n, ret = 0;

	v = bus_items(bus, mask, &n, depth);
	for (int i = 0; i < n && !ret; i++) {
		struct item *it = &v[i];
		uint64_t base = ALIGN_UP(*cursor, it->align), top = 0;
		bool fits =
			base >= *cursor && !add_overflows_u64(base, it->size, &top) && top <= end;

		if (it->bar >= 0) {
			if (!fits) {
				snprintf(a->err, a->errlen,
					 "pci: %s BAR%d (%s, %" PRIu64 " bytes) does not fit in "
					 "the %s window",
					 it->dev->name, it->bar, pool_names[it->pool], it->size,
					 region);
				ret = -ENOSPC;
				break;
			}
			program_bar(it->dev, it->bar, base);
		} else {
			/*
			 * Too small: pack the children tightly anyway, to name the BAR that
			 * overflows; if none does, the bridge's granularity is to blame.
			 */
			uint64_t inner = fits ? base : *cursor;

			if (fits)
				program_window(it->dev, it->pool, base, it->size);
			ret = place(a, it->dev->secondary, 1u << it->pool, &inner, fits ? top : end,
				    region, depth + 1);
			if (!ret && !fits && !a->overflow) {
				snprintf(a->err, a->errlen,
					 "pci: the %s window of bridge %s (%" PRIu64 " bytes) "
					 "does not fit in the %s window",
					 pool_names[it->pool], it->dev->name, it->size, region);
				a->overflow = true;
			}
			if (!fits)
				top = inner;
		}
		*cursor = top;
	}
	free(v);
	return ret;
}

static void close_windows(struct pci_dev *dev, void *arg)
{
	if (!dev->secondary)
		return;
	for (enum pool p = 0; p < POOL_COUNT; p++)
		program_window(dev, p, 0, 0);
}

/* COMMAND: decode what the device has, bus master for everything with resources. */
static void enable_dev(struct pci_dev *dev, void *arg)
{
	uint16_t cmd = pci_get16(dev, PCI_COMMAND);
	bool io = false, mem = false;

	for (int i = 0; i < pci_dev_nbars(dev); i++) {
		if (dev->bars[i].type == PCI_BAR_IO)
			io = true;
		else if (dev->bars[i].type != PCI_BAR_NONE)
			mem = true;
	}
	if (dev->secondary) {
		struct pci_window w = pci_bridge_window(dev, PCI_WIN_IO);

		io |= w.base <= w.limit;
		w = pci_bridge_window(dev, PCI_WIN_MEM);
		mem |= w.base <= w.limit;
		w = pci_bridge_window(dev, PCI_WIN_PREF);
		mem |= w.base <= w.limit;
	}
	if (io)
		cmd |= PCI_COMMAND_IO;
	if (mem)
		cmd |= PCI_COMMAND_MEMORY;
	if (io || mem || dev->secondary)
		cmd |= PCI_COMMAND_MASTER;
	pci_set16(dev, PCI_COMMAND, cmd);
	/* What firmware leaves in INTERRUPT_LINE: the IOAPIC input (ACPI _PRT agrees). */
	if (pci_intx_gsi(dev) != PCI_NO_GSI)
		dev->cfg[PCI_INTERRUPT_LINE] = (uint8_t)pci_intx_gsi(dev);
}

int pci_assign(struct pci_root *root, const struct pci_windows *w, char *err, size_t errlen)
{
	struct assign a = {.root = root, .err = err, .errlen = errlen, .next_bus = 1};
	uint64_t cur, end;
	unsigned mem_mask = 1u << POOL_MEM;
	int ret;

	if (errlen)
		err[0] = '\0';
	pthread_mutex_lock(&root->lock);
	ret = number_buses(&a, &root->bus0, 0, 0);
	if (ret)
		goto out;
	pci_for_each_dev(&root->bus0, close_windows, NULL);

	/* 64-bit prefetchable BARs above 4 GiB when there is room, else with the others. */
	if (w->mmio64_size) {
		cur = w->mmio64_base;
		if (add_overflows_u64(cur, w->mmio64_size, &end))
			end = UINT64_MAX;
		ret = place(&a, &root->bus0, 1u << POOL_PREF, &cur, end, "mmio64", 0);
		if (ret)
			goto out;
	} else {
		mem_mask |= 1u << POOL_PREF;
	}
	cur = w->mmio32_base;
	end = w->mmio32_base + w->mmio32_size;
	ret = place(&a, &root->bus0, mem_mask, &cur, end, "mmio32", 0);
	if (ret)
		goto out;
	cur = w->io_base;
	end = (uint64_t)w->io_base + w->io_size;
	ret = place(&a, &root->bus0, 1u << POOL_IO, &cur, end, "io", 0);
	if (ret)
		goto out;

	if (a.overflow) {
		ret = -ENOSPC;
		goto out;
	}
	pci_for_each_dev(&root->bus0, enable_dev, NULL);
	pci_update_mappings_locked(root);
out:
	pthread_mutex_unlock(&root->lock);
	if (ret && errlen && !err[0])
		snprintf(err, errlen, "pci: enumeration failed (%d)", ret);
	return ret;
}
