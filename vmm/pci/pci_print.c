/* SPDX-License-Identifier: MIT */
/*
 * The PCI tree as `vmm inspect` shows it. The format is stable (tests compare it):
 *
 *   -[0000:00]
 *    +-00.0  8086:29c0 host
 *    \-01.0-[01-04]  1b36:000c rp0
 *      |     buses primary 00 secondary 01 subordinate 04
 *      |     io    closed
 *      |     mem   0xc0000000-0xc01fffff
 *      |     pref  0x0000000800000000-0x0000000807ffffff
 *      \-00.0-[02-04]  104c:8232 sw0.up
 *        |     ...
 *        +-00.0-[03-03]  104c:8233 sw0.0
 *        | |     ...
 *        | \-00.0  1234:0001 ep0
 *        |         BAR0 mem32 0x00000000c0000000 size 0x4000 [mapped]
 *        |         BAR2 mem64 pref ram 0x0000000800000000 size 0x4000000 [mapped]
 *        \-01.0-[04-04]  104c:8233 sw0.1
 *          ...
 *
 * The first line is the root bus. Then one line per function: the tree glyph ("+-" when
 * more functions follow on its bus, "\-" for the last one), SS.F (slot, function; hex), for
 * bridges "-[SS-UU]" (the secondary and subordinate bus numbers the bridge holds now), two
 * spaces, vendor:device (hex), the instance name. Below it, indented past the glyph ("|"
 * continuing down to the bridge's children): per BAR "BARn <io|mem32|mem64>[ pref][ ram]
 * 0x<address, 16 digits> size 0x<size> [mapped|unmapped]", the address being what the
 * registers hold; per bridge "buses primary PP secondary SS subordinate UU" and the windows
 * "io", "mem", "pref" as base-limit (inclusive; 4, 8 and 16 hex digits) or "closed" when
 * base > limit. A bridge's children follow, their glyphs under the "|".
 */
#include "vmm/pci/pci.h"

#include <inttypes.h>

#include "vmm/pci/pci_internal.h"

#define PREFIX_MAX (2 * PCI_MAX_DEPTH + 8)

static const char *const bar_type_names[] = {[PCI_BAR_NONE] = "none",
					     [PCI_BAR_IO] = "io",
					     [PCI_BAR_MEM32] = "mem32",
					     [PCI_BAR_MEM64] = "mem64"};

static bool bus_empty(const struct pci_bus *bus)
{
	for (int i = 0; i < PCI_MAX_DEVFN; i++)
		if (bus->devs[i])
			return false;
	return true;
}

static void print_window(FILE *out, const char *indent, const char *name, struct pci_window w,
			 int digits)
{
	if (w.base > w.limit)
		fprintf(out, "%s%-5s closed\n", indent, name);
	else
		fprintf(out, "%s%-5s 0x%0*" PRIx64 "-0x%0*" PRIx64 "\n", indent, name, digits,
			w.base, digits, w.limit);
}

static void print_dev(FILE *out, struct pci_dev *dev, const char *prefix, bool last, int depth);

static void print_bus(FILE *out, struct pci_bus *bus, const char *prefix, int depth)
{
	int lastfn = -1;

	if (depth > PCI_MAX_DEPTH)
		return;
	for (int i = 0; i < PCI_MAX_DEVFN; i++)
		if (bus->devs[i])
			lastfn = i;
	for (int i = 0; i <= lastfn; i++)
		if (bus->devs[i])
			print_dev(out, bus->devs[i], prefix, i == lastfn, depth);
}

static void print_dev(FILE *out, struct pci_dev *dev, const char *prefix, bool last, int depth)
{
	bool children = dev->secondary && !bus_empty(dev->secondary);
	char child[PREFIX_MAX], indent[PREFIX_MAX + 8];

	fprintf(out, "%s%s%02x.%x", prefix, last ? "\\-" : "+-", PCI_SLOT(dev->devfn),
		PCI_FUNC(dev->devfn));
	if (dev->secondary)
		fprintf(out, "-[%02x-%02x]", dev->cfg[PCI_SECONDARY_BUS],
			dev->cfg[PCI_SUBORDINATE_BUS]);
	fprintf(out, "  %04x:%04x %s\n", pci_get16(dev, PCI_VENDOR_ID),
		pci_get16(dev, PCI_DEVICE_ID), dev->name ? dev->name : "-");

	snprintf(child, sizeof(child), "%s%s", prefix, last ? "  " : "| ");
	snprintf(indent, sizeof(indent), "%s%s     ", child, children ? "|" : " ");
	for (int i = 0; i < pci_dev_nbars(dev); i++) {
		const struct pci_bar *b = &dev->bars[i];

		if (b->type == PCI_BAR_NONE || !b->size)
			continue;
		fprintf(out, "%sBAR%d %s%s%s 0x%016" PRIx64 " size 0x%" PRIx64 " [%s]\n", indent, i,
			bar_type_names[b->type], b->prefetch ? " pref" : "", b->ram ? " ram" : "",
			pci_bar_reg_addr(dev, i), b->size,
			b->mapped_addr != ~0ULL ? "mapped" : "unmapped");
	}
	if (dev->secondary) {
		fprintf(out, "%sbuses primary %02x secondary %02x subordinate %02x\n", indent,
			dev->cfg[PCI_PRIMARY_BUS], dev->cfg[PCI_SECONDARY_BUS],
			dev->cfg[PCI_SUBORDINATE_BUS]);
		print_window(out, indent, "io", pci_bridge_window(dev, PCI_WIN_IO), 4);
		print_window(out, indent, "mem", pci_bridge_window(dev, PCI_WIN_MEM), 8);
		print_window(out, indent, "pref", pci_bridge_window(dev, PCI_WIN_PREF), 16);
		if (children)
			print_bus(out, dev->secondary, child, depth + 1);
	}
}

void pci_print_tree(struct pci_root *root, FILE *out)
{
	pthread_mutex_lock(&root->lock);
	fprintf(out, "-[0000:%02x]\n", root->bus0.assigned_number);
	print_bus(out, &root->bus0, " ", 0);
	pthread_mutex_unlock(&root->lock);
}
