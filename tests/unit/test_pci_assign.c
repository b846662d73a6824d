/* SPDX-License-Identifier: MIT */
/* PCI core: firmware-like enumeration and the tree printer. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>

#include "test_pci_fake.h"
#include "vmm/pci/pci_internal.h"

static struct topo t;

#define EXPECTED_TREE                                                                              \
	"-[0000:00]\n"                                                                             \
	" +-00.0  8086:29c0 host\n"                                                                \
	" \\-01.0-[01-04]  1b36:000c rp0\n"                                                        \
	"   |     buses primary 00 secondary 01 subordinate 04\n"                                  \
	"   |     io    closed\n"                                                                  \
	"   |     mem   0xc0000000-0xc01fffff\n"                                                   \
	"   |     pref  0x0000000800000000-0x0000000807ffffff\n"                                   \
	"   \\-00.0-[02-04]  104c:8232 sw0.up\n"                                                   \
	"     |     buses primary 01 secondary 02 subordinate 04\n"                                \
	"     |     io    closed\n"                                                                \
	"     |     mem   0xc0000000-0xc01fffff\n"                                                 \
	"     |     pref  0x0000000800000000-0x0000000807ffffff\n"                                 \
	"     +-00.0-[03-03]  104c:8233 sw0.0\n"                                                   \
	"     | |     buses primary 02 secondary 03 subordinate 03\n"                              \
	"     | |     io    closed\n"                                                              \
	"     | |     mem   0xc0000000-0xc00fffff\n"                                               \
	"     | |     pref  0x0000000800000000-0x0000000803ffffff\n"                               \
	"     | \\-00.0  1234:0001 ep0\n"                                                          \
	"     |         BAR0 mem32 0x00000000c0000000 size 0x4000 [mapped]\n"                      \
	"     |         BAR2 mem64 pref ram 0x0000000800000000 size 0x4000000 [mapped]\n"          \
	"     \\-01.0-[04-04]  104c:8233 sw0.1\n"                                                  \
	"       |     buses primary 02 secondary 04 subordinate 04\n"                              \
	"       |     io    closed\n"                                                              \
	"       |     mem   0xc0100000-0xc01fffff\n"                                               \
	"       |     pref  0x0000000804000000-0x0000000807ffffff\n"                               \
	"       \\-00.0  1234:0002 ep1\n"                                                          \
	"               BAR0 mem32 0x00000000c0100000 size 0x4000 [mapped]\n"                      \
	"               BAR2 mem64 pref ram 0x0000000804000000 size 0x4000000 [mapped]\n"

static const struct pci_windows win = {
	.mmio32_base = 0xc0000000,
	.mmio32_size = 0x3ec00000,
	.mmio64_base = 0x800000000ULL,
	.mmio64_size = GiB(64),
	.io_base = 0x1000,
	.io_size = 0xf000,
};

static void setup(void)
{
	topo_init(&t, NULL);
	topo_add_bars(&t);
}

static void teardown(void)
{
	topo_fini(&t);
}

TestSuite(pci_assign, .init = setup, .fini = teardown);

static void assert_inside(uint64_t base, uint64_t size, struct pci_window w, const char *what)
{
	cr_assert_leq(w.base, w.limit, "%s: window closed", what);
	cr_assert(base >= w.base && base + size - 1 <= w.limit,
		  "%s [0x%llx+0x%llx] outside [0x%llx-0x%llx]", what, (unsigned long long)base,
		  (unsigned long long)size, (unsigned long long)w.base,
		  (unsigned long long)w.limit);
}

static void assert_window_in(struct pci_dev *child, struct pci_dev *parent, enum pci_window_kind k)
{
	struct pci_window c = pci_bridge_window(child, k), p = pci_bridge_window(parent, k);

	assert_inside(c.base, c.limit - c.base + 1, p, child->name);
}

Test(pci_assign, numbers_buses_depth_first)
{
	char err[256];

	cr_assert_eq(pci_assign(&t.root, &win, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(pci_get32(&t.rp, PCI_PRIMARY_BUS) & 0xffffff, 0x040100);
	cr_assert_eq(pci_get32(&t.up, PCI_PRIMARY_BUS) & 0xffffff, 0x040201);
	cr_assert_eq(pci_get32(&t.dn[0], PCI_PRIMARY_BUS) & 0xffffff, 0x030302);
	cr_assert_eq(pci_get32(&t.dn[1], PCI_PRIMARY_BUS) & 0xffffff, 0x040402);
	cr_assert_eq(t.dn_bus[1].assigned_number, 4);
	cr_assert_eq(pci_config_read(&t.root, 4, 0, PCI_DEVICE_ID, 2), 0x0002);
}

Test(pci_assign, switch_tree_gets_nested_windows_and_no_overlaps)
{
	char err[256];
	const struct pci_bar *all[4];

	cr_assert_eq(pci_assign(&t.root, &win, err, sizeof(err)), 0, "%s", err);
	for (int i = 0; i < 2; i++) {
		struct pci_dev *ep = &t.ep[i], *dn = &t.dn[i];
		uint64_t regs = pci_bar_reg_addr(ep, 0), ram = pci_bar_reg_addr(ep, 2);

		cr_assert_eq(regs % KiB(16), 0);
		cr_assert_eq(ram % MiB(64), 0);
		cr_assert(regs >= win.mmio32_base && regs + KiB(16) <= 0x100000000ULL);
		cr_assert_geq(ram, win.mmio64_base);
		assert_inside(regs, KiB(16), pci_bridge_window(dn, PCI_WIN_MEM), "regs");
		assert_inside(ram, MiB(64), pci_bridge_window(dn, PCI_WIN_PREF), "ram");
		assert_window_in(dn, &t.up, PCI_WIN_MEM);
		assert_window_in(dn, &t.up, PCI_WIN_PREF);
		cr_assert_eq(pci_bridge_window(dn, PCI_WIN_MEM).base % MiB(1), 0);
		cr_assert_gt(pci_bridge_window(dn, PCI_WIN_IO).base,
			     pci_bridge_window(dn, PCI_WIN_IO).limit, "empty I/O window is closed");
		cr_assert_eq(ep->bars[0].mapped_addr, regs);
		cr_assert_eq(ep->bars[2].mapped_addr, ram);
		cr_assert(ep->bars[2].mapped_ram);
		cr_assert_eq(pci_get16(ep, PCI_COMMAND) & 7,
			     PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
		all[2 * i] = &ep->bars[0];
		all[2 * i + 1] = &ep->bars[2];
	}
	assert_window_in(&t.up, &t.rp, PCI_WIN_MEM);
	assert_window_in(&t.up, &t.rp, PCI_WIN_PREF);
	/* sibling windows do not overlap */
	cr_assert(pci_bridge_window(&t.dn[0], PCI_WIN_PREF).limit <
			  pci_bridge_window(&t.dn[1], PCI_WIN_PREF).base ||
		  pci_bridge_window(&t.dn[1], PCI_WIN_PREF).limit <
			  pci_bridge_window(&t.dn[0], PCI_WIN_PREF).base);
	cr_assert(pci_bridge_window(&t.dn[0], PCI_WIN_MEM).limit <
			  pci_bridge_window(&t.dn[1], PCI_WIN_MEM).base ||
		  pci_bridge_window(&t.dn[1], PCI_WIN_MEM).limit <
			  pci_bridge_window(&t.dn[0], PCI_WIN_MEM).base);
	for (int i = 0; i < 4; i++)
		for (int j = i + 1; j < 4; j++)
			cr_assert(all[i]->mapped_addr + all[i]->size <= all[j]->mapped_addr ||
				  all[j]->mapped_addr + all[j]->size <= all[i]->mapped_addr);
	cr_assert_eq(fake_nmaps(&t.host), 4);
	cr_assert_eq(pci_get16(&t.rp, PCI_COMMAND) & 7, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	cr_assert_eq(pci_get16(&t.hb, PCI_COMMAND) & 7, 0, "no resources, nothing enabled");
}

Test(pci_assign, bars_go_largest_first)
{
	static struct pci_dev d;
	char err[256];

	pci_dev_init(&d, "multi", 0x1234, 9, 0xff0000, 0, false);
	cr_assert_eq(pci_dev_set_bar(&d, 0, PCI_BAR_MEM32, false, KiB(4), NULL, NULL, NULL), 0);
	cr_assert_eq(pci_dev_set_bar(&d, 1, PCI_BAR_MEM32, false, MiB(1), NULL, NULL, NULL), 0);
	cr_assert_eq(pci_dev_set_bar(&d, 2, PCI_BAR_IO, false, 32, NULL, NULL, NULL), 0);
	cr_assert_eq(pci_dev_set_bar(&d, 3, PCI_BAR_MEM32, false, KiB(64), NULL, NULL, NULL), 0);
	cr_assert_eq(pci_bus_add(&t.root.bus0, &d, PCI_DEVFN(2, 0)), 0);
	cr_assert_eq(pci_assign(&t.root, &win, err, sizeof(err)), 0, "%s", err);
	/* bus 0: rp's 2 MiB memory window (two 1 MiB windows) first, then 1 MiB, 64K, 4K */
	cr_assert_eq(pci_bridge_window(&t.rp, PCI_WIN_MEM).base, 0xc0000000);
	cr_assert_eq(pci_bar_reg_addr(&d, 1), 0xc0200000);
	cr_assert_eq(pci_bar_reg_addr(&d, 3), 0xc0300000);
	cr_assert_eq(pci_bar_reg_addr(&d, 0), 0xc0310000);
	cr_assert_eq(pci_bar_reg_addr(&d, 2), 0x1000);
	cr_assert_eq(pci_get16(&d, PCI_COMMAND) & 7, 7);
	cr_assert_eq(d.bars[2].mapped_addr, 0x1000);
}

Test(pci_assign, without_mmio64_prefetchable_bars_stay_below_4g)
{
	struct pci_windows w = win;
	char err[256];

	w.mmio64_size = 0;
	cr_assert_eq(pci_assign(&t.root, &w, err, sizeof(err)), 0, "%s", err);
	for (int i = 0; i < 2; i++) {
		uint64_t ram = pci_bar_reg_addr(&t.ep[i], 2);

		cr_assert(ram >= w.mmio32_base && ram + MiB(64) <= w.mmio32_base + w.mmio32_size);
		assert_inside(ram, MiB(64), pci_bridge_window(&t.dn[i], PCI_WIN_PREF), "ram");
		cr_assert(t.ep[i].bars[2].mapped_ram);
	}
	assert_window_in(&t.up, &t.rp, PCI_WIN_PREF);
}

Test(pci_assign, too_small_window_names_the_bar)
{
	struct pci_windows w = win;
	char err[256];

	w.mmio64_size = MiB(64);
	cr_assert_eq(pci_assign(&t.root, &w, err, sizeof(err)), -ENOSPC);
	cr_assert(strstr(err, "ep1 BAR2"), "%s", err);
	cr_assert(strstr(err, "mmio64"), "%s", err);

	w = win;
	w.mmio32_size = KiB(16); /* the registers of ep0 fit, not ep1's */
	cr_assert_eq(pci_assign(&t.root, &w, err, sizeof(err)), -ENOSPC);
	cr_assert(strstr(err, "ep1 BAR0"), "%s", err);
}

Test(pci_assign, window_padding_that_does_not_fit_names_the_bridge)
{
	struct pci_windows w = win;
	char err[256];

	/* the BARs need 32 KiB, but each downstream port's window takes a whole MiB */
	w.mmio32_size = MiB(1) + KiB(512);
	cr_assert_eq(pci_assign(&t.root, &w, err, sizeof(err)), -ENOSPC);
	cr_assert(strstr(err, "bridge sw0.1"), "%s", err);
}

Test(pci_assign, print_tree_shows_buses_bars_and_windows)
{
	char err[256], *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_eq(pci_assign(&t.root, &win, err, sizeof(err)), 0, "%s", err);
	pci_print_tree(&t.root, f);
	fclose(f);
	cr_assert_str_eq(buf, EXPECTED_TREE);
	free(buf);
}
