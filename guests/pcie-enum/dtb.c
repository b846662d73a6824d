/* SPDX-License-Identifier: MIT */
/*
 * The device tree vmm passes (firmware/fdt.h) against the scan: a minimal flattened device
 * tree reader (Devicetree Specification 0.4, chapter 5: header, structure block tokens,
 * strings block), bounds-checked against the module's size. The walk runs at CPL 3, where
 * this project's host runs guest code natively (HOST.md).
 */
#include "pcie_enum.h"

#define FDT_MAGIC	   0xd00dfeedu
#define FDT_BEGIN_NODE	   1
#define FDT_END_NODE	   2
#define FDT_PROP	   3
#define FDT_NOP		   4
#define FDT_END		   9
#define FDT_MAX_DEPTH	   40
#define DTB_MODULE_CMDLINE "vmm-dtb"

struct fdt_header {
	uint32_t magic, totalsize, off_dt_struct, off_dt_strings, off_mem_rsvmap, version;
	uint32_t last_comp_version, boot_cpuid_phys, size_dt_strings, size_dt_struct;
};

/* What the walk keeps of each open node. */
struct fdt_node {
	const char *name;
	bool host;   /* compatible "pci-host-ecam-generic" */
	bool in_pci; /* below the host bridge node: a PCI function */
	bool has_reg, has_vendor, has_device, has_class, has_bus_range;
	uint32_t reg_hi, vendor, device, class_code, bus_lo, bus_hi;
	uint64_t reg_addr, reg_size; /* host: the ECAM (2 address and 2 size cells) */
};

struct dtb_func {
	uint8_t bus, devfn;
	uint32_t vendor, device, class_code;
	bool in_scan;
};

struct dtb_walk {
	const uint8_t *blob;
	uint32_t size;
	struct pci_scan *scan;
	int nfuncs, nhosts;
	struct dtb_func funcs[MAX_FUNCS];
	struct fdt_node stack[FDT_MAX_DEPTH];
};

static struct dtb_walk walk;

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* A NUL-terminated string inside [p, end), or NULL. */
static const char *str_in(const uint8_t *p, const uint8_t *end)
{
	for (const uint8_t *q = p; q < end; q++)
		if (!*q)
			return (const char *)p;
	return NULL;
}

/* Is `s` one of the strings of a string-list property? */
static bool strlist_has(const uint8_t *val, uint32_t len, const char *s)
{
	size_t n = strlen(s);

	for (uint32_t i = 0; i < len;) {
		const char *e = str_in(val + i, val + len);
		if (!e)
			return false;
		if (strlen(e) == n && !memcmp(e, s, n))
			return true;
		i += (uint32_t)strlen(e) + 1;
	}
	return false;
}

static void node_prop(struct fdt_node *nd, const char *name, const uint8_t *val, uint32_t len)
{
	if (!strcmp(name, "compatible") && strlist_has(val, len, "pci-host-ecam-generic"))
		nd->host = true;
	else if (!strcmp(name, "reg") && len >= 4) {
		nd->has_reg = true;
		nd->reg_hi = be32(val);
		if (len >= 16) {
			nd->reg_addr = be64(val);
			nd->reg_size = be64(val + 8);
		}
	} else if (!strcmp(name, "vendor-id") && len == 4) {
		nd->has_vendor = true;
		nd->vendor = be32(val);
	} else if (!strcmp(name, "device-id") && len == 4) {
		nd->has_device = true;
		nd->device = be32(val);
	} else if (!strcmp(name, "class-code") && len == 4) {
		nd->has_class = true;
		nd->class_code = be32(val);
	} else if (!strcmp(name, "bus-range") && len == 8) {
		nd->has_bus_range = true;
		nd->bus_lo = be32(val);
		nd->bus_hi = be32(val + 4);
	}
}

/* A node closes: record a PCI function, check it sits on its parent's secondary bus. */
static void node_end(struct dtb_walk *w, int depth)
{
	struct fdt_node *nd = &w->stack[depth], *parent = depth ? &w->stack[depth - 1] : NULL;
	uint8_t bus, devfn;

	if (nd->host) {
		w->nhosts++;
		rt_printf("pcie-enum: dtb %s ecam 0x%llx size 0x%llx bus-range %02x-%02x\n",
			  nd->name, (unsigned long long)nd->reg_addr,
			  (unsigned long long)nd->reg_size, nd->bus_lo, nd->bus_hi);
		if (nd->reg_addr != ECAM_BASE + ((uint64_t)nd->bus_lo << 20))
			rt_fail("dtb %s reg 0x%llx is not the ECAM at 0x%llx", nd->name,
				(unsigned long long)nd->reg_addr, (unsigned long long)ECAM_BASE);
		return;
	}
	if (!nd->in_pci)
		return;
	if (!nd->has_reg || !nd->has_vendor || !nd->has_device || !nd->has_class) {
		rt_fail("dtb node %s lacks reg, vendor-id, device-id or class-code", nd->name);
		return;
	}
	bus = (uint8_t)(nd->reg_hi >> 16);
	devfn = (uint8_t)(nd->reg_hi >> 8);
	if (parent->has_bus_range && bus != parent->bus_lo)
		rt_fail("dtb node %s (bus %02x) is not on its parent %s's bus %02x", nd->name, bus,
			parent->name, parent->bus_lo);
	if (w->nfuncs == MAX_FUNCS) {
		rt_fail("dtb lists more than %d functions", MAX_FUNCS);
		return;
	}
	w->funcs[w->nfuncs++] = (struct dtb_func){.bus = bus,
						  .devfn = devfn,
						  .vendor = nd->vendor,
						  .device = nd->device,
						  .class_code = nd->class_code};
}

/* The structure block walk. Returns 0, or -1 after reporting a malformed blob. */
static int fdt_walk(struct dtb_walk *w)
{
	const uint8_t *b = w->blob;
	struct fdt_header h;
	uint32_t *hv = (uint32_t *)&h;
	const uint8_t *p, *end, *strings;
	int depth = -1;

	if (w->size < sizeof(h)) {
		rt_fail("dtb: %u bytes, smaller than a header", w->size);
		return -1;
	}
	for (size_t i = 0; i < sizeof(h) / 4; i++)
		hv[i] = be32(b + 4 * i);
	if (h.magic != FDT_MAGIC || h.totalsize > w->size || h.version < 16 ||
	    h.off_dt_struct > h.totalsize || h.size_dt_struct > h.totalsize - h.off_dt_struct ||
	    h.off_dt_strings > h.totalsize || h.size_dt_strings > h.totalsize - h.off_dt_strings ||
	    (h.off_dt_struct & 3)) {
		rt_fail("dtb: bad header (magic 0x%08x version %u size %u of %u)", h.magic,
			h.version, h.totalsize, w->size);
		return -1;
	}
	rt_printf("pcie-enum: dtb %u bytes version %u\n", h.totalsize, h.version);
	p = b + h.off_dt_struct;
	end = p + h.size_dt_struct;
	strings = b + h.off_dt_strings;

	while (p + 4 <= end) {
		uint32_t tok = be32(p);
		p += 4;
		if (tok == FDT_BEGIN_NODE) {
			const char *name = str_in(p, end);
			struct fdt_node *nd;
			if (!name || depth + 1 >= FDT_MAX_DEPTH)
				goto bad;
			nd = &w->stack[++depth];
			memset(nd, 0, sizeof(*nd));
			nd->name = name;
			if (depth > 0)
				nd->in_pci = w->stack[depth - 1].host || w->stack[depth - 1].in_pci;
			p += (strlen(name) + 4) & ~(size_t)3;
		} else if (tok == FDT_END_NODE) {
			if (depth < 0)
				goto bad;
			node_end(w, depth--);
		} else if (tok == FDT_PROP) {
			uint32_t len, nameoff;
			const char *pname;
			if (p + 8 > end || depth < 0)
				goto bad;
			len = be32(p);
			nameoff = be32(p + 4);
			p += 8;
			if (len > (uint32_t)(end - p) || nameoff >= h.size_dt_strings)
				goto bad;
			pname = str_in(strings + nameoff, strings + h.size_dt_strings);
			if (!pname)
				goto bad;
			node_prop(&w->stack[depth], pname, p, len);
			p += (len + 3) & ~3u;
		} else if (tok == FDT_NOP) {
			continue;
		} else if (tok == FDT_END) {
			if (depth != -1)
				goto bad;
			return 0;
		} else {
			goto bad;
		}
	}
bad:
	rt_fail("dtb: malformed structure block at offset 0x%llx", (unsigned long long)(p - b));
	return -1;
}

static void compare(struct dtb_walk *w)
{
	struct pci_scan *s = w->scan;
	int errors = rt_failures;

	for (int i = 0; i < s->n; i++) {
		struct pci_func *f = &s->f[i];
		struct dtb_func *d = NULL;

		for (int j = 0; j < w->nfuncs && !d; j++)
			if (w->funcs[j].bus == f->bus && w->funcs[j].devfn == f->devfn)
				d = &w->funcs[j];
		if (!d) {
			rt_fail("dtb lacks %02x:%02x.%x %04x:%04x", f->bus, PCI_SLOT(f->devfn),
				PCI_FUNC(f->devfn), f->vendor, f->device);
			continue;
		}
		if (d->in_scan)
			rt_fail("dtb lists %02x:%02x.%x twice", f->bus, PCI_SLOT(f->devfn),
				PCI_FUNC(f->devfn));
		d->in_scan = f->in_dtb = true;
		if (d->vendor != f->vendor || d->device != f->device ||
		    d->class_code != f->class_code)
			rt_fail("dtb %02x:%02x.%x is %04x:%04x class %06x, config space says "
				"%04x:%04x class %06x",
				f->bus, PCI_SLOT(f->devfn), PCI_FUNC(f->devfn), d->vendor,
				d->device, d->class_code, f->vendor, f->device, f->class_code);
	}
	for (int j = 0; j < w->nfuncs; j++)
		if (!w->funcs[j].in_scan)
			rt_fail("dtb lists %02x:%02x.%x %04x:%04x, the scan did not find it",
				w->funcs[j].bus, PCI_SLOT(w->funcs[j].devfn),
				PCI_FUNC(w->funcs[j].devfn), w->funcs[j].vendor,
				w->funcs[j].device);
	if (w->nhosts != 1)
		rt_fail("dtb has %d pci-host-ecam-generic nodes", w->nhosts);
	if (rt_failures == errors)
		rt_printf("pcie-enum: dtb matches %d functions\n", s->n);
}

static uint64_t dtb_user(uint64_t arg)
{
	struct dtb_walk *w = (struct dtb_walk *)(uintptr_t)arg;

	if (fdt_walk(w) == 0)
		compare(w);
	return 0;
}

void dtb_check(struct pci_scan *s)
{
	const struct hvm_modlist_entry *mods;
	int n = rt_modules(&mods), found = -1;

	for (int i = n - 1; i >= 0 && found < 0; i--)
		if (!strcmp(rt_module_cmdline(&mods[i]), DTB_MODULE_CMDLINE))
			found = i;
	if (found < 0) {
		rt_printf("pcie-enum: no dtb module\n");
		return;
	}
	if (found != n - 1)
		rt_fail("dtb is module %d of %d, not the last", found, n);
	if (mods[found].paddr + mods[found].size > 0x100000000ULL ||
	    mods[found].size > 0xffffffffu) {
		rt_fail("dtb module at 0x%llx is not below 4 GiB",
			(unsigned long long)mods[found].paddr);
		return;
	}
	walk.blob = (const uint8_t *)(uintptr_t)mods[found].paddr;
	walk.size = (uint32_t)mods[found].size;
	walk.scan = s;
	walk.nfuncs = walk.nhosts = 0;
	rt_run_user(dtb_user, (uint64_t)(uintptr_t)&walk, NULL);
}
