/* SPDX-License-Identifier: MIT */
/*
 * The ECAM walk an OS does at boot: from bus 0, every device's function 0 (and 1..7 when
 * the header type says multi-function), following each bridge to its secondary bus. It only
 * reads what firmware (vmm's pci_assign, or SeaBIOS under QEMU) programmed, except for the
 * BAR sizing protocol, which it undoes.
 */
#include "pcie_enum.h"

#define MAX_DEPTH 32 /* bridges nested deeper than this: treat as a loop */

static bool bus_seen[256];

static void add_bar_line(const struct bar *b, int i)
{
	static const char *const kind[] = {"none", "io", "mem32", "mem64"};

	rt_printf("pcie-enum:   bar%d 0x%016llx size 0x%llx %s%s\n", i, (unsigned long long)b->addr,
		  (unsigned long long)b->size, kind[b->kind], b->pref ? " pref" : "");
}

/* Lowest set bit: BAR sizing reads back ones in every writable address bit. */
static uint64_t bar_size(uint64_t mask)
{
	return mask & (~mask + 1);
}

/*
 * PCI Local Bus 3.0 6.2.5.1: save, write all ones, read back, restore; decoding off
 * meanwhile (as Linux's __pci_read_base), so the BAR never claims a range at ~0. Host
 * bridges keep decoding (Linux: mmio_always_on).
 */
static void size_bars(struct pci_func *f)
{
	int nbars = f->hdr == 0 ? 6 : f->hdr == 1 ? 2 : 0;
	bool host = (f->class_code >> 8) == 0x0600;
	uint16_t off_decode = f->command & (uint16_t) ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY);

	if (!host && off_decode != f->command)
		cfg_write16(f, PCI_COMMAND, off_decode);
	for (int i = 0; i < nbars; i++) {
		uint16_t reg = (uint16_t)(PCI_BASE_ADDRESS_0 + 4 * i);
		uint32_t lo = cfg_read32(f, reg), szlo, hi = 0, szhi = 0;
		struct bar *b = &f->bar[i];

		cfg_write32(f, reg, 0xffffffffu);
		szlo = cfg_read32(f, reg);
		cfg_write32(f, reg, lo);
		if (szlo == 0 || szlo == 0xffffffffu)
			continue; /* not implemented (all ones: the function went away) */
		if (szlo & PCI_BASE_ADDRESS_SPACE_IO) {
			b->kind = BAR_IO;
			b->addr = lo & ~3u;
			b->size = bar_size((szlo & ~3u) | 0xffff0000u) & 0xffff;
			continue;
		}
		b->pref = szlo & PCI_BASE_ADDRESS_MEM_PREFETCH;
		if ((szlo & 6) == PCI_BASE_ADDRESS_MEM_TYPE_64 && i + 1 < nbars) {
			hi = cfg_read32(f, reg + 4);
			cfg_write32(f, reg + 4, 0xffffffffu);
			szhi = cfg_read32(f, reg + 4);
			cfg_write32(f, reg + 4, hi);
			b->kind = BAR_MEM64;
		} else {
			b->kind = BAR_MEM32;
			szhi = 0xffffffffu; /* only 32 address bits */
		}
		b->addr = ((uint64_t)hi << 32) | (lo & ~0xfu);
		b->size = bar_size(((uint64_t)szhi << 32) | (szlo & ~0xfu));
		if (b->kind == BAR_MEM64)
			i++; /* the upper half is not a BAR of its own */
	}
	if (!host && off_decode != f->command)
		cfg_write16(f, PCI_COMMAND, f->command);
	for (int i = 0; i < nbars; i++)
		if (f->bar[i].kind != BAR_NONE)
			add_bar_line(&f->bar[i], i);
}

/* PCI-to-PCI Bridge 1.2 3.2.5.6-3.2.5.10: the forwarding windows. */
static void read_windows(struct pci_func *f)
{
	uint32_t io = cfg_read32(f, PCI_IO_BASE) & 0xffff, mem = cfg_read32(f, PCI_MEMORY_BASE);
	uint32_t pref = cfg_read32(f, PCI_PREF_MEMORY_BASE), pbu = 0, plu = 0;
	uint32_t io_base = (io & 0xf0) << 8, io_limit = ((io >> 8) & 0xf0) << 8 | 0xfff;

	f->mem_base = (uint64_t)(mem & 0xfff0) << 16;
	f->mem_limit = (uint64_t)(mem >> 16 & 0xfff0) << 16 | 0xfffff;
	if ((pref & 0xf) == 1) { /* 64-bit prefetchable window */
		pbu = cfg_read32(f, PCI_PREF_BASE_UPPER32);
		plu = cfg_read32(f, PCI_PREF_LIMIT_UPPER32);
	}
	f->pref_base = (uint64_t)pbu << 32 | (uint64_t)(pref & 0xfff0) << 16;
	f->pref_limit = (uint64_t)plu << 32 | (uint64_t)(pref >> 16 & 0xfff0) << 16 | 0xfffff;
	rt_printf("pcie-enum:   window io 0x%04x-0x%04x mem 0x%08llx-0x%08llx "
		  "pref 0x%016llx-0x%016llx\n",
		  io_base, io_limit, (unsigned long long)f->mem_base,
		  (unsigned long long)f->mem_limit, (unsigned long long)f->pref_base,
		  (unsigned long long)f->pref_limit);
}

static bool in_range(uint64_t addr, uint64_t size, uint64_t base, uint64_t limit)
{
	return base <= limit && addr >= base && addr + size - 1 <= limit && addr + size > addr;
}

/* A memory range below a bridge must lie in one of its windows, or nothing routes it. */
static bool routed(const struct pci_func *bridge, uint64_t addr, uint64_t size)
{
	return in_range(addr, size, bridge->mem_base, bridge->mem_limit) ||
	       in_range(addr, size, bridge->pref_base, bridge->pref_limit);
}

static void check_routing(const struct pci_scan *s, const struct pci_func *f)
{
	const struct pci_func *p = f->parent >= 0 ? &s->f[f->parent] : NULL;
	char bdf[16];

	if (!p)
		return;
	rt_snprintf(bdf, sizeof(bdf), "%02x:%02x.%x", f->bus, PCI_SLOT(f->devfn),
		    PCI_FUNC(f->devfn));
	for (int i = 0; i < 6; i++) {
		const struct bar *b = &f->bar[i];
		if ((b->kind == BAR_MEM32 || b->kind == BAR_MEM64) && !routed(p, b->addr, b->size))
			rt_fail("%s bar%d 0x%llx is outside the windows of its bridge", bdf, i,
				(unsigned long long)b->addr);
	}
	if (f->hdr == 1 && f->mem_base <= f->mem_limit &&
	    !routed(p, f->mem_base, f->mem_limit - f->mem_base + 1))
		rt_fail("%s mem window is outside its bridge's windows", bdf);
	if (f->hdr == 1 && f->pref_base <= f->pref_limit &&
	    !routed(p, f->pref_base, f->pref_limit - f->pref_base + 1))
		rt_fail("%s pref window is outside its bridge's windows", bdf);
}

/* Append to a line that may fill up (a looping list): then end it with " ..." once. */
__attribute__((format(printf, 4, 5))) static size_t append(char *line, size_t size, size_t n,
							   const char *fmt, ...)
{
	va_list ap;

	if (n + 16 > size)
		return n; /* full: " ..." is there already */
	if (n + 32 > size) {
		rt_snprintf(line + n, size - n, " ...");
		return size;
	}
	va_start(ap, fmt);
	n += (size_t)rt_vsnprintf(line + n, size - n, fmt, ap);
	va_end(ap);
	return n;
}

/* Capability lists (PCI Local Bus 3.0 6.7, PCIe 5.0 7.6): printed, bounded, in range. */
static void walk_caps(struct pci_func *f, const char *bdf)
{
	char line[400];
	size_t n = 0;
	int count = 0;
	uint32_t v;

	n = append(line, sizeof(line), n, "caps");
	if (cfg_read16(f, PCI_STATUS) & PCI_STATUS_CAP_LIST) {
		uint8_t ptr = (uint8_t)(cfg_read32(f, PCI_CAPABILITY_LIST) & 0xfc);
		while (ptr) {
			if (ptr < 0x40) {
				rt_fail("%s capability pointer 0x%02x inside the header", bdf, ptr);
				break;
			}
			if (++count > MAX_CAPS) {
				rt_fail("%s capability list does not end (loop?)", bdf);
				break;
			}
			v = cfg_read32(f, ptr);
			if ((v & 0xff) == PCI_CAP_ID_MSIX && !f->msix)
				f->msix = ptr;
			n = append(line, sizeof(line), n, " %02x:%02x", ptr, v & 0xff);
			ptr = (uint8_t)(v >> 8 & 0xfc);
		}
	}
	if (count == 0)
		n = append(line, sizeof(line), n, " none");

	/* No extended space (conventional PCI, or nothing there): all ones or zero. */
	v = cfg_read32(f, PCI_CFG_EXT);
	count = 0;
	if (v != 0 && v != 0xffffffffu) {
		uint16_t off = PCI_CFG_EXT;
		n = append(line, sizeof(line), n, " ext");
		for (;;) {
			if (++count > MAX_CAPS) {
				rt_fail("%s extended capability list does not end (loop?)", bdf);
				break;
			}
			n = append(line, sizeof(line), n, " %03x:%04x", off, v & 0xffff);
			off = (uint16_t)(v >> 20 & 0xffc);
			if (!off)
				break;
			if (off < PCI_CFG_EXT) {
				rt_fail("%s extended capability pointer 0x%03x below 0x100", bdf,
					off);
				break;
			}
			v = cfg_read32(f, off);
		}
	}
	rt_printf("pcie-enum:   %s\n", line);
}

static void scan_bus(struct pci_scan *s, uint8_t bus, int parent, int depth);

static void scan_func(struct pci_scan *s, uint8_t bus, uint8_t devfn, uint32_t id, uint8_t hdr,
		      int parent, int depth)
{
	struct pci_func *f;
	char bdf[16];
	int idx;

	if (s->n == MAX_FUNCS) {
		rt_fail("more than %d functions", MAX_FUNCS);
		return;
	}
	idx = s->n++;
	f = &s->f[idx];
	memset(f, 0, sizeof(*f));
	f->bus = bus;
	f->devfn = devfn;
	f->vendor = (uint16_t)id;
	f->device = (uint16_t)(id >> 16);
	f->hdr = hdr & 0x7f;
	f->parent = parent;
	f->class_code = cfg_read32(f, PCI_CLASS_REVISION) >> 8;
	f->command = cfg_read16(f, PCI_COMMAND);
	rt_snprintf(bdf, sizeof(bdf), "%02x:%02x.%x", bus, PCI_SLOT(devfn), PCI_FUNC(devfn));

	if (f->hdr == 1) {
		uint32_t b = cfg_read32(f, PCI_PRIMARY_BUS);
		uint8_t pri = (uint8_t)b;

		f->sec = (uint8_t)(b >> 8);
		f->sub = (uint8_t)(b >> 16);
		rt_printf("pcie-enum: %s %04x:%04x class %06x hdr %u cmd 0x%04x bus %02x-%02x\n",
			  bdf, f->vendor, f->device, f->class_code, f->hdr, f->command, f->sec,
			  f->sub);
		if (pri != bus)
			rt_fail("%s primary bus %02x, found on bus %02x", bdf, pri, bus);
		if (f->sec <= bus || f->sub < f->sec)
			rt_fail("%s bus numbers %02x-%02x do not follow bus %02x", bdf, f->sec,
				f->sub, bus);
		if (parent >= 0 && (f->sec <= s->f[parent].sec || f->sub > s->f[parent].sub))
			rt_fail("%s bus numbers %02x-%02x outside its bridge's %02x-%02x", bdf,
				f->sec, f->sub, s->f[parent].sec, s->f[parent].sub);
	} else {
		rt_printf("pcie-enum: %s %04x:%04x class %06x hdr %u cmd 0x%04x\n", bdf, f->vendor,
			  f->device, f->class_code, f->hdr, f->command);
	}
	size_bars(f);
	if (f->hdr == 1)
		read_windows(f);
	walk_caps(f, bdf);
	check_routing(s, f);

	if (f->hdr == 1 && f->sec > bus && f->sub >= f->sec) {
		if (depth >= MAX_DEPTH)
			rt_fail("%s bridges nested more than %d deep", bdf, MAX_DEPTH);
		else if (bus_seen[f->sec])
			rt_fail("%s secondary bus %02x reached twice", bdf, f->sec);
		else
			scan_bus(s, f->sec, idx, depth + 1);
	}
}

static void scan_bus(struct pci_scan *s, uint8_t bus, int parent, int depth)
{
	bus_seen[bus] = true;
	for (uint8_t dev = 0; dev < 32; dev++) {
		uint32_t id = mmio_read32(ecam_addr(bus, PCI_DEVFN(dev, 0), PCI_VENDOR_ID));
		uint8_t hdr, nfn;

		if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0)
			continue;
		hdr = (uint8_t)(mmio_read32(ecam_addr(bus, PCI_DEVFN(dev, 0), 0x0c)) >> 16);
		nfn = hdr & PCI_HEADER_TYPE_MULTI ? 8 : 1;
		scan_func(s, bus, PCI_DEVFN(dev, 0), id, hdr, parent, depth);
		for (uint8_t fn = 1; fn < nfn; fn++) {
			uint8_t devfn = PCI_DEVFN(dev, fn);
			id = mmio_read32(ecam_addr(bus, devfn, PCI_VENDOR_ID));
			if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0)
				continue;
			hdr = (uint8_t)(mmio_read32(ecam_addr(bus, devfn, 0x0c)) >> 16);
			scan_func(s, bus, devfn, id, hdr, parent, depth);
		}
	}
}

void scan_tree(struct pci_scan *s)
{
	s->n = 0;
	memset(bus_seen, 0, sizeof(bus_seen));
	scan_bus(s, 0, -1, 0);
	rt_printf("pcie-enum: scan found %d functions\n", s->n);
}

bool scan_range_used(const struct pci_scan *s, uint64_t addr, uint64_t size)
{
	for (int i = 0; i < s->n; i++) {
		const struct pci_func *f = &s->f[i];
		for (int j = 0; j < 6; j++) {
			const struct bar *b = &f->bar[j];
			if ((b->kind == BAR_MEM32 || b->kind == BAR_MEM64) &&
			    addr < b->addr + b->size && b->addr < addr + size)
				return true;
		}
		if (f->hdr == 1 && f->mem_base <= f->mem_limit && addr <= f->mem_limit &&
		    f->mem_base < addr + size)
			return true;
		if (f->hdr == 1 && f->pref_base <= f->pref_limit && addr <= f->pref_limit &&
		    f->pref_base < addr + size)
			return true;
	}
	return false;
}
