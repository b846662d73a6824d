/* SPDX-License-Identifier: MIT */
/* The machine as a flattened device tree, written with libfdt's sequential-write API. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libfdt.h>

#include "firmware/fdt.h"
#include "vmm/pci/pci.h"

/* phys.hi of a PCI address (IEEE 1275 PCI binding 2.2.1.1): npt000ss bbbbbbbb dddddfff rrrrrrrr */
#define FDT_PCI_SPACE_CONFIG 0x00000000u
#define FDT_PCI_SPACE_IO     0x01000000u
#define FDT_PCI_SPACE_MEM32  0x02000000u
#define FDT_PCI_SPACE_MEM64  0x03000000u
#define FDT_PCI_PREFETCHABLE 0x40000000u

#define FDT_MAX_BRIDGE_DEPTH 32

/* Errors are sticky: the first libfdt error ends the build. */
struct fdtw {
	void *fdt;
	int err;
};

static void fw_check(struct fdtw *w, int ret)
{
	if (ret < 0 && !w->err)
		w->err = ret == -FDT_ERR_NOSPACE ? -ENOSPC : -EINVAL;
}

static void fw_begin(struct fdtw *w, const char *name)
{
	if (!w->err)
		fw_check(w, fdt_begin_node(w->fdt, name));
}

static void fw_end(struct fdtw *w)
{
	if (!w->err)
		fw_check(w, fdt_end_node(w->fdt));
}

static void fw_prop(struct fdtw *w, const char *name, const void *val, int len)
{
	if (!w->err)
		fw_check(w, fdt_property(w->fdt, name, val, len));
}

static void fw_u32(struct fdtw *w, const char *name, uint32_t v)
{
	fdt32_t be = cpu_to_fdt32(v);

	fw_prop(w, name, &be, sizeof(be));
}

static void fw_str(struct fdtw *w, const char *name, const char *s)
{
	fw_prop(w, name, s, (int)strlen(s) + 1);
}

/* A list of cells, each value written as `ncells[i]` cells (1 or 2). */
static void fw_cells(struct fdtw *w, const char *name, const uint64_t *v, const int *ncells, int n)
{
	fdt32_t cells[32];
	int k = 0;

	for (int i = 0; i < n; i++) {
		if (k + ncells[i] > (int)(sizeof(cells) / sizeof(cells[0]))) {
			w->err = w->err ? w->err : -EINVAL;
			return;
		}
		if (ncells[i] == 2)
			cells[k++] = cpu_to_fdt32((uint32_t)(v[i] >> 32));
		cells[k++] = cpu_to_fdt32((uint32_t)v[i]);
	}
	fw_prop(w, name, cells, k * (int)sizeof(fdt32_t));
}

static void fdt_memory(struct fdtw *w, const struct fw_platform *p)
{
	static const int nc[] = {2, 2};

	for (int i = 0; i < p->ne820; i++) {
		const struct e820_entry *e = &p->e820[i];
		char name[32];
		if (e->type != E820_RAM || e->size == 0)
			continue;
		snprintf(name, sizeof(name), "memory@%llx", (unsigned long long)e->addr);
		fw_begin(w, name);
		fw_str(w, "device_type", "memory");
		fw_cells(w, "reg", (const uint64_t[]){e->addr, e->size}, nc, 2);
		fw_end(w);
	}
}

static void fdt_cpus(struct fdtw *w, const struct fw_platform *p)
{
	fw_begin(w, "cpus");
	fw_u32(w, "#address-cells", 1);
	fw_u32(w, "#size-cells", 0);
	for (int i = 0; i < p->ncpus; i++) {
		char name[16];
		snprintf(name, sizeof(name), "cpu@%x", i);
		fw_begin(w, name);
		fw_str(w, "device_type", "cpu");
		fw_u32(w, "reg", (uint32_t)i); /* the APIC ID, as in the MADT */
		fw_end(w);
	}
	fw_end(w);
}

static void fdt_pci_bus(struct fdtw *w, const struct pci_bus *bus, uint8_t busnr, int depth);

/* One function; a bridge's node holds the functions on its secondary bus. */
static void fdt_pci_func(struct fdtw *w, const struct pci_dev *d, uint8_t busnr, uint8_t devfn,
			 int depth)
{
	uint16_t vendor = pci_get16(d, PCI_VENDOR_ID), device = pci_get16(d, PCI_DEVICE_ID);
	uint32_t class_code = pci_get32(d, PCI_REVISION_ID) >> 8;
	int bridge = (d->cfg[PCI_HEADER_TYPE] & 0x7f) == PCI_HEADER_TYPE_BRIDGE;
	char name[48], unit[8], compat[64];
	int n;

	/* dtc's unit-address rule for PCI: "S" for function 0, else "S,F" */
	if (PCI_FUNC(devfn))
		snprintf(unit, sizeof(unit), "%x,%x", PCI_SLOT(devfn), PCI_FUNC(devfn));
	else
		snprintf(unit, sizeof(unit), "%x", PCI_SLOT(devfn));
	if (bridge)
		snprintf(name, sizeof(name), "pci@%s", unit);
	else
		snprintf(name, sizeof(name), "pci%x,%x@%s", vendor, device, unit);

	fw_begin(w, name);
	fw_cells(w, "reg",
		 (const uint64_t[]){FDT_PCI_SPACE_CONFIG | (uint32_t)busnr << 16 |
					    (uint32_t)devfn << 8,
				    0, 0, 0, 0},
		 (const int[]){1, 1, 1, 1, 1}, 5);
	/* "pciVVVV,DDDD" then "pciclass,CCSSPP" (binding 2.5), as a string list */
	n = snprintf(compat, sizeof(compat), "pci%x,%x", vendor, device);
	n += 1 +
	     snprintf(compat + n + 1, sizeof(compat) - (size_t)n - 1, "pciclass,%06x", class_code);
	fw_prop(w, "compatible", compat, n + 1);
	fw_u32(w, "vendor-id", vendor);
	fw_u32(w, "device-id", device);
	fw_u32(w, "revision-id", d->cfg[PCI_REVISION_ID]);
	fw_u32(w, "class-code", class_code);
	if (bridge) {
		uint8_t sec = d->cfg[PCI_SECONDARY_BUS], sub = d->cfg[PCI_SUBORDINATE_BUS];
		fw_str(w, "device_type", "pci");
		fw_u32(w, "#address-cells", 3);
		fw_u32(w, "#size-cells", 2);
		fw_cells(w, "bus-range", (const uint64_t[]){sec, sub}, (const int[]){1, 1}, 2);
		fw_prop(w, "ranges", NULL, 0); /* windows pass addresses through unchanged */
		if (d->secondary)
			fdt_pci_bus(w, d->secondary, sec, depth + 1);
	}
	fw_end(w);
}

static void fdt_pci_bus(struct fdtw *w, const struct pci_bus *bus, uint8_t busnr, int depth)
{
	if (depth > FDT_MAX_BRIDGE_DEPTH) {
		w->err = w->err ? w->err : -EINVAL;
		return;
	}
	for (int devfn = 0; devfn < PCI_MAX_DEVFN && !w->err; devfn++)
		if (bus->devs[devfn])
			fdt_pci_func(w, bus->devs[devfn], busnr, (uint8_t)devfn, depth);
}

static void fdt_pcie(struct fdtw *w, const struct fw_platform *p)
{
	uint64_t ecam = p->ecam_base + ((uint64_t)p->bus_start << 20);
	uint64_t ecam_size = (uint64_t)(p->bus_end - p->bus_start + 1) << 20;
	uint64_t ranges[3 * 6];
	int nc[3 * 6], n = 0;
	char name[32];

	/* ranges entry: PCI address (3 cells), CPU address (2), size (2) */
#define RANGE(space, base, size)                                                                   \
	do {                                                                                       \
		ranges[n] = (space), nc[n++] = 1;                                                  \
		ranges[n] = (base), nc[n++] = 2;                                                   \
		ranges[n] = (base), nc[n++] = 2;                                                   \
		ranges[n] = (size), nc[n++] = 2;                                                   \
	} while (0)
	if (p->io_size)
		RANGE(FDT_PCI_SPACE_IO, p->io_base, p->io_size);
	if (p->mmio32_size)
		RANGE(FDT_PCI_SPACE_MEM32, p->mmio32_base, p->mmio32_size);
	if (p->mmio64_size)
		RANGE(FDT_PCI_SPACE_MEM64 | FDT_PCI_PREFETCHABLE, p->mmio64_base, p->mmio64_size);
#undef RANGE

	snprintf(name, sizeof(name), "pcie@%llx", (unsigned long long)ecam);
	fw_begin(w, name);
	fw_str(w, "compatible", "pci-host-ecam-generic");
	fw_str(w, "device_type", "pci");
	fw_u32(w, "#address-cells", 3);
	fw_u32(w, "#size-cells", 2);
	fw_u32(w, "linux,pci-domain", 0);
	fw_cells(w, "reg", (const uint64_t[]){ecam, ecam_size}, (const int[]){2, 2}, 2);
	fw_cells(w, "bus-range", (const uint64_t[]){p->bus_start, p->bus_end}, (const int[]){1, 1},
		 2);
	fw_cells(w, "ranges", ranges, nc, n);
	if (p->pci)
		fdt_pci_bus(w, &p->pci->bus0, p->bus_start, 0);
	fw_end(w);
}

int fdt_build(const struct fw_platform *p, void *buf, size_t size)
{
	struct fdtw w = {.fdt = buf};

	if (p->ncpus < 1 || p->bus_end < p->bus_start || p->ne820 < 0 || (p->ne820 > 0 && !p->e820))
		return -EINVAL;
	if (size > INT32_MAX)
		size = INT32_MAX;
	fw_check(&w, fdt_create(buf, (int)size));
	if (!w.err)
		fw_check(&w, fdt_finish_reservemap(buf));
	fw_begin(&w, "");
	fw_u32(&w, "#address-cells", 2);
	fw_u32(&w, "#size-cells", 2);
	fw_str(&w, "compatible", "vmm,virt");
	fw_str(&w, "model", "vmm");
	fw_begin(&w, "chosen");
	fw_end(&w);
	fdt_memory(&w, p);
	fdt_cpus(&w, p);
	fdt_pcie(&w, p);
	fw_end(&w);
	if (!w.err)
		fw_check(&w, fdt_finish(buf));
	if (w.err)
		return w.err;
	return (int)fdt_totalsize(buf);
}
