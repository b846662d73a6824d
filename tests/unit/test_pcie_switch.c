/* SPDX-License-Identifier: MIT */
/*
 * Root port and XIO3130 switch, seen the way firmware and Linux see them: through config
 * cycles on a PCI root (bus numbers programmed first, as firmware does), walking the
 * capability lists from 0x34 and 0x100, and writing registers through the core's masks.
 *
 * Topology: bus 0 rp0 at 01.0 (slot 1) -> bus 1 switch upstream at 00.0 -> bus 2 internal,
 * downstream port i at i.0 -> bus 3 + i; a second root port rp1 at 02.0 (slot 2) -> bus 9.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "devices/pcie-switch/pcie_port.h"
#include "vmm/util.h"

#define RP_DEVFN     PCI_DEVFN(1, 0)
#define RP1_DEVFN    PCI_DEVFN(2, 0)
#define SW_BUS	     1
#define INTERNAL_BUS 2
#define DOWN_BUS(i)  (3 + (i))
#define RP1_BUS	     9
#define NDOWN	     3

struct fake_host {
	int traps, rams, msis, intx;
};

static int fake_map_trap(void *opaque, enum bus_space space, uint64_t addr, uint64_t size,
			 const struct bus_ops *ops, void *dev_opaque, const char *name)
{
	((struct fake_host *)opaque)->traps++;
	return 0;
}

static void fake_unmap_trap(void *opaque, enum bus_space space, uint64_t addr)
{
}

static int fake_map_ram(void *opaque, uint64_t addr, uint64_t size, void *hva)
{
	((struct fake_host *)opaque)->rams++;
	return 0;
}

static void fake_unmap_ram(void *opaque, uint64_t addr)
{
}

static void fake_msi(void *opaque, uint64_t addr, uint32_t data)
{
	((struct fake_host *)opaque)->msis++;
}

static void fake_intx(void *opaque, uint32_t gsi, int level)
{
	((struct fake_host *)opaque)->intx++;
}

static const struct pci_host_ops fake_host_ops = {
	.map_trap = fake_map_trap,
	.unmap_trap = fake_unmap_trap,
	.map_ram = fake_map_ram,
	.unmap_ram = fake_unmap_ram,
	.msi = fake_msi,
	.intx = fake_intx,
};

struct tree {
	struct fake_host host;
	struct pci_root root;
	struct pcie_port *rp, *rp1;
	struct xio3130 *sw;
};

static uint32_t rd(struct tree *t, uint8_t bus, uint8_t devfn, unsigned off, unsigned size)
{
	return pci_config_read(&t->root, bus, devfn, off, size);
}

static void wr(struct tree *t, uint8_t bus, uint8_t devfn, unsigned off, uint32_t v, unsigned size)
{
	pci_config_write(&t->root, bus, devfn, off, v, size);
}

static void set_bus_numbers(struct tree *t, uint8_t bus, uint8_t devfn, uint8_t sec, uint8_t sub)
{
	wr(t, bus, devfn, PCI_PRIMARY_BUS, (uint32_t)bus | sec << 8 | sub << 16, 4);
}

/* The tree with bus numbers assigned; `acs` goes to both root ports and the switch. */
static void tree_build(struct tree *t, bool acs)
{
	memset(t, 0, sizeof(*t));
	pci_root_init(&t->root, &fake_host_ops, &t->host, NULL, 0);
	t->rp = pcie_root_port_create("rp0", 1, 1, acs);
	t->rp1 = pcie_root_port_create("rp1", 2, 2, acs);
	t->sw = xio3130_create("sw0", NDOWN, 10, acs);
	cr_assert(t->rp && t->rp1 && t->sw);
	cr_assert_eq(pci_bus_add(&t->root.bus0, &t->rp->dev, RP_DEVFN), 0);
	cr_assert_eq(pci_bus_add(&t->root.bus0, &t->rp1->dev, RP1_DEVFN), 0);
	cr_assert_eq(pci_bus_add(&t->rp->bus, &t->sw->up.dev, PCI_DEVFN(0, 0)), 0);
	cr_assert_eq(pcie_port_set_link(&t->rp->dev, true), 0);

	set_bus_numbers(t, 0, RP_DEVFN, SW_BUS, DOWN_BUS(NDOWN - 1));
	set_bus_numbers(t, SW_BUS, 0, INTERNAL_BUS, DOWN_BUS(NDOWN - 1));
	for (int i = 0; i < NDOWN; i++)
		set_bus_numbers(t, INTERNAL_BUS, PCI_DEVFN(i, 0), DOWN_BUS(i), DOWN_BUS(i));
	set_bus_numbers(t, 0, RP1_DEVFN, RP1_BUS, RP1_BUS);
}

static void tree_destroy(struct tree *t)
{
	pci_root_destroy(&t->root);
	xio3130_destroy(t->sw);
	pcie_root_port_destroy(t->rp);
	pcie_root_port_destroy(t->rp1);
}

/* Standard capability offsets in list order, as a driver walks them; returns the count. */
static int walk_caps(struct tree *t, uint8_t bus, uint8_t devfn, uint8_t *offs, uint8_t *ids)
{
	int n = 0;
	unsigned off;

	cr_assert(rd(t, bus, devfn, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	for (off = rd(t, bus, devfn, PCI_CAPABILITY_LIST, 1); off && n < 16;
	     off = rd(t, bus, devfn, off + 1, 1) & 0xfc) {
		offs[n] = (uint8_t)off;
		ids[n++] = (uint8_t)rd(t, bus, devfn, off, 1);
	}
	return n;
}

/* Extended capabilities from 0x100: (id, version, offset) triples; returns the count. */
static int walk_ecaps(struct tree *t, uint8_t bus, uint8_t devfn, uint16_t *offs, uint16_t *ids)
{
	int n = 0;
	unsigned off = 0x100;

	while (off && n < 16) {
		uint32_t hdr = rd(t, bus, devfn, off, 4);

		if (hdr == 0)
			break;
		offs[n] = (uint16_t)off;
		ids[n++] = (uint16_t)hdr;
		off = hdr >> 20;
	}
	return n;
}

static uint8_t find_cap(struct tree *t, uint8_t bus, uint8_t devfn, uint8_t id)
{
	uint8_t offs[16], ids[16];
	int n = walk_caps(t, bus, devfn, offs, ids);

	for (int i = 0; i < n; i++)
		if (ids[i] == id)
			return offs[i];
	return 0;
}

static uint16_t find_ecap(struct tree *t, uint8_t bus, uint8_t devfn, uint16_t id)
{
	uint16_t offs[16], ids[16];
	int n = walk_ecaps(t, bus, devfn, offs, ids);

	for (int i = 0; i < n; i++)
		if (ids[i] == id)
			return offs[i];
	return 0;
}

static void assert_bridge_identity(struct tree *t, uint8_t bus, uint8_t devfn, uint16_t vendor,
				   uint16_t device, uint8_t rev)
{
	cr_assert_eq(rd(t, bus, devfn, PCI_VENDOR_ID, 2), vendor);
	cr_assert_eq(rd(t, bus, devfn, PCI_DEVICE_ID, 2), device);
	cr_assert_eq(rd(t, bus, devfn, PCI_REVISION_ID, 1), rev);
	cr_assert_eq(rd(t, bus, devfn, PCI_REVISION_ID, 4) >> 8, 0x060400);
	cr_assert_eq(rd(t, bus, devfn, PCI_HEADER_TYPE, 1), PCI_HEADER_TYPE_BRIDGE);
}

/* ---- XIO3130 ---- */

Test(xio3130, upstream_port_is_104c_8232_rev_2_bridge)
{
	struct tree t;

	tree_build(&t, false);
	assert_bridge_identity(&t, SW_BUS, 0, 0x104c, 0x8232, 2);
	tree_destroy(&t);
}

Test(xio3130, downstream_ports_are_104c_8233_rev_1_at_slot_i_function_0)
{
	struct tree t;

	tree_build(&t, false);
	for (int i = 0; i < NDOWN; i++)
		assert_bridge_identity(&t, INTERNAL_BUS, PCI_DEVFN(i, 0), 0x104c, 0x8233, 1);
	cr_assert_eq(rd(&t, INTERNAL_BUS, PCI_DEVFN(NDOWN, 0), PCI_VENDOR_ID, 2), 0xffff);
	cr_assert_eq(rd(&t, INTERNAL_BUS, PCI_DEVFN(0, 1), PCI_VENDOR_ID, 2), 0xffff);
	cr_assert_eq(t.sw->internal, t.sw->up.dev.secondary);
	cr_assert_str_eq(t.sw->internal->id, "sw0");
	cr_assert_str_eq(t.sw->down[1].bus.id, "sw0.1");
	cr_assert_eq(t.sw->down[1].dev.secondary, &t.sw->down[1].bus);
	tree_destroy(&t);
}

Test(xio3130, downstream_port_has_msi_at_0x70_and_pcie_at_0x90)
{
	static const uint8_t want_off[] = {0x70, 0x80, 0x90};
	static const uint8_t want_id[] = {PCI_CAP_ID_MSI, PCI_CAP_ID_SSVID, PCI_CAP_ID_EXP};
	struct tree t;
	uint8_t offs[16], ids[16];

	tree_build(&t, false);
	for (int port = -1; port < NDOWN; port++) {
		uint8_t bus = port < 0 ? SW_BUS : INTERNAL_BUS;
		uint8_t devfn = port < 0 ? 0 : PCI_DEVFN(port, 0);

		cr_assert_eq(walk_caps(&t, bus, devfn, offs, ids), 3, "port %d", port);
		for (int i = 0; i < 3; i++) {
			cr_assert_eq(offs[i], want_off[i], "port %d cap %d", port, i);
			cr_assert_eq(ids[i], want_id[i], "port %d cap %d", port, i);
		}
	}
	tree_destroy(&t);
}

Test(xio3130, msi_is_one_vector_64_bit)
{
	struct tree t;
	uint16_t flags;

	tree_build(&t, false);
	flags = (uint16_t)rd(&t, INTERNAL_BUS, 0, 0x70 + PCI_MSI_FLAGS, 2);
	cr_assert(flags & PCI_MSI_FLAGS_64BIT);
	cr_assert_eq(flags & 0x000e, 0, "Multiple Message Capable: 1 vector");
	flags = (uint16_t)rd(&t, SW_BUS, 0, 0x70 + PCI_MSI_FLAGS, 2);
	cr_assert(flags & PCI_MSI_FLAGS_64BIT);
	tree_destroy(&t);
}

Test(xio3130, pcie_capability_is_v2_upstream_and_downstream_with_slot)
{
	struct tree t;
	uint16_t flags;

	tree_build(&t, false);
	flags = (uint16_t)rd(&t, SW_BUS, 0, 0x90 + PCIE_FLAGS, 2);
	cr_assert_eq(flags & PCIE_FLAGS_VERS, 2);
	cr_assert_eq((flags >> 4) & 0xf, PCIE_TYPE_UPSTREAM);
	cr_assert_eq(flags & PCIE_FLAGS_SLOT, 0);
	for (int i = 0; i < NDOWN; i++) {
		flags = (uint16_t)rd(&t, INTERNAL_BUS, PCI_DEVFN(i, 0), 0x90 + PCIE_FLAGS, 2);
		cr_assert_eq(flags & PCIE_FLAGS_VERS, 2);
		cr_assert_eq((flags >> 4) & 0xf, PCIE_TYPE_DOWNSTREAM);
		cr_assert(flags & PCIE_FLAGS_SLOT);
	}
	tree_destroy(&t);
}

Test(xio3130, aer_at_0x100_and_no_acs_by_default)
{
	struct tree t;
	uint16_t offs[16], ids[16];

	tree_build(&t, false);
	cr_assert_eq(walk_ecaps(&t, SW_BUS, 0, offs, ids), 1);
	cr_assert_eq(offs[0], 0x100);
	cr_assert_eq(ids[0], PCI_EXT_CAP_ID_ERR);
	cr_assert_eq((rd(&t, SW_BUS, 0, 0x100, 4) >> 16) & 0xf, 2, "AER version 2");
	for (int i = 0; i < NDOWN; i++) {
		cr_assert_eq(walk_ecaps(&t, INTERNAL_BUS, PCI_DEVFN(i, 0), offs, ids), 1);
		cr_assert_eq(offs[0], 0x100);
		cr_assert_eq(ids[0], PCI_EXT_CAP_ID_ERR);
	}
	tree_destroy(&t);
}

Test(xio3130, acs_follows_aer_on_downstream_ports_only_when_asked)
{
	struct tree t;
	uint16_t offs[16], ids[16];

	tree_build(&t, true);
	cr_assert_eq(walk_ecaps(&t, SW_BUS, 0, offs, ids), 1, "upstream port: AER only");
	for (int i = 0; i < NDOWN; i++) {
		cr_assert_eq(walk_ecaps(&t, INTERNAL_BUS, PCI_DEVFN(i, 0), offs, ids), 2);
		cr_assert_eq(ids[0], PCI_EXT_CAP_ID_ERR);
		cr_assert_eq(offs[1], 0x148);
		cr_assert_eq(ids[1], PCI_EXT_CAP_ID_ACS);
	}
	tree_destroy(&t);
}

Test(xio3130, downstream_link_is_x1_2_5gt_and_active_once_a_device_is_attached)
{
	struct tree t;
	unsigned lnksta = 0x90 + PCIE_LNKSTA, sltsta = 0x90 + PCIE_SLTSTA;
	uint32_t lnkcap;
	uint16_t sta;

	tree_build(&t, false);
	lnkcap = rd(&t, INTERNAL_BUS, 0, 0x90 + PCIE_LNKCAP, 4);
	cr_assert_eq(lnkcap & PCIE_LNKCAP_SLS, PCIE_SPEED_2_5GT);
	cr_assert_eq((lnkcap >> 4) & 0x3f, 1);
	cr_assert(lnkcap & PCIE_LNKCAP_DLLLARC);
	cr_assert_eq(lnkcap >> 24, 1, "downstream port 0 is port number 1");

	sta = (uint16_t)rd(&t, INTERNAL_BUS, 0, lnksta, 2);
	cr_assert_eq(sta & PCIE_LNKSTA_DLLLA, 0, "empty slot: link down");
	cr_assert_eq((sta & PCIE_LNKSTA_NLW) >> 4, 1, "width never reads 0");
	cr_assert_eq(sta & PCIE_LNKSTA_CLS, PCIE_SPEED_2_5GT);
	cr_assert_eq(rd(&t, INTERNAL_BUS, 0, sltsta, 2) & PCIE_SLTSTA_PDS, 0);

	cr_assert_eq(pcie_port_set_link(&t.sw->down[0].dev, true), 0);
	sta = (uint16_t)rd(&t, INTERNAL_BUS, 0, lnksta, 2);
	cr_assert(sta & PCIE_LNKSTA_DLLLA);
	cr_assert_eq((sta & PCIE_LNKSTA_NLW) >> 4, 1);
	cr_assert_eq(sta & PCIE_LNKSTA_CLS, PCIE_SPEED_2_5GT);
	cr_assert(rd(&t, INTERNAL_BUS, 0, sltsta, 2) & PCIE_SLTSTA_PDS);
	cr_assert_eq(rd(&t, INTERNAL_BUS, PCI_DEVFN(1, 0), lnksta, 2) & PCIE_LNKSTA_DLLLA, 0,
		     "only the port with a device");

	cr_assert_eq(pcie_port_set_link(&t.sw->down[0].dev, false), 0);
	cr_assert_eq(rd(&t, INTERNAL_BUS, 0, lnksta, 2) & PCIE_LNKSTA_DLLLA, 0);
	cr_assert_eq(rd(&t, INTERNAL_BUS, 0, sltsta, 2) & PCIE_SLTSTA_PDS, 0);
	tree_destroy(&t);
}

Test(xio3130, upstream_link_is_trained_x1_2_5gt)
{
	struct tree t;
	uint16_t sta;

	tree_build(&t, false);
	sta = (uint16_t)rd(&t, SW_BUS, 0, 0x90 + PCIE_LNKSTA, 2);
	cr_assert_eq((sta & PCIE_LNKSTA_NLW) >> 4, 1);
	cr_assert_eq(sta & PCIE_LNKSTA_CLS, PCIE_SPEED_2_5GT);
	cr_assert_eq(rd(&t, SW_BUS, 0, 0x90 + PCIE_LNKCAP, 4) & PCIE_LNKCAP_DLLLARC, 0);
	cr_assert_eq(pcie_port_set_link(&t.sw->up.dev, true), -EINVAL);
	tree_destroy(&t);
}

Test(xio3130, every_slot_has_its_own_physical_slot_number)
{
	struct tree t;
	uint32_t psn[NDOWN + 2];

	tree_build(&t, false);
	for (int i = 0; i < NDOWN; i++)
		psn[i] = rd(&t, INTERNAL_BUS, PCI_DEVFN(i, 0), 0x90 + PCIE_SLTCAP, 4) >> 19;
	psn[NDOWN] = rd(&t, 0, RP_DEVFN, 0x40 + PCIE_SLTCAP, 4) >> 19;
	psn[NDOWN + 1] = rd(&t, 0, RP1_DEVFN, 0x40 + PCIE_SLTCAP, 4) >> 19;
	cr_assert_eq(psn[0], 10);
	cr_assert_eq(psn[2], 12);
	for (int i = 0; i < NDOWN + 2; i++)
		for (int j = i + 1; j < NDOWN + 2; j++)
			cr_assert_neq(psn[i], psn[j], "slots %d and %d", i, j);
	tree_destroy(&t);
}

Test(xio3130, windows_are_16_bit_io_and_64_bit_prefetchable)
{
	struct tree t;

	tree_build(&t, false);
	wr(&t, INTERNAL_BUS, 0, PCI_IO_BASE, 0xffff, 2);
	cr_assert_eq(rd(&t, INTERNAL_BUS, 0, PCI_IO_BASE, 1) & 0xf, 0);
	cr_assert_eq(rd(&t, INTERNAL_BUS, 0, PCI_IO_LIMIT, 1) & 0xf, 0);
	wr(&t, INTERNAL_BUS, 0, PCI_IO_BASE_UPPER16, 0xffffffff, 4);
	cr_assert_eq(rd(&t, INTERNAL_BUS, 0, PCI_IO_BASE_UPPER16, 4), 0);
	wr(&t, SW_BUS, 0, PCI_PREF_MEMORY_BASE, 0, 4);
	cr_assert_eq(rd(&t, SW_BUS, 0, PCI_PREF_MEMORY_BASE, 2) & 0xf, 1);
	cr_assert_eq(rd(&t, SW_BUS, 0, PCI_PREF_MEMORY_LIMIT, 2) & 0xf, 1);
	wr(&t, SW_BUS, 0, PCI_PREF_BASE_UPPER32, 0x12345678, 4);
	cr_assert_eq(rd(&t, SW_BUS, 0, PCI_PREF_BASE_UPPER32, 4), 0x12345678);
	tree_destroy(&t);
}

Test(xio3130, create_rejects_bad_port_counts)
{
	cr_assert_null(xio3130_create("sw", 0, 1, false));
	cr_assert_null(xio3130_create("sw", XIO3130_MAX_DOWN + 1, 1, false));
	cr_assert_null(xio3130_create("sw", 4, PCIE_SLTCAP_PSN_MAX - 2, false));
	cr_assert_null(xio3130_create(NULL, 1, 1, false));
}

Test(xio3130, thirty_two_downstream_ports_fill_the_internal_bus)
{
	struct xio3130 *sw = xio3130_create("big", XIO3130_MAX_DOWN, 100, false);

	cr_assert_not_null(sw);
	for (int i = 0; i < XIO3130_MAX_DOWN; i++)
		cr_assert_eq(sw->internal->devs[PCI_DEVFN(i, 0)], &sw->down[i].dev);
	cr_assert_str_eq(sw->down[31].dev.name, "big.31");
	xio3130_destroy(sw);
}

/* ---- root port ---- */

#define RP_EXP 0x40

static uint16_t rp_rd16(struct tree *t, unsigned off)
{
	return (uint16_t)rd(t, 0, RP_DEVFN, off, 2);
}

static void rp_wr16(struct tree *t, unsigned off, uint16_t v)
{
	wr(t, 0, RP_DEVFN, off, v, 2);
}

Test(root_port, is_1234_7101_rev_0_bridge)
{
	struct tree t;

	tree_build(&t, false);
	assert_bridge_identity(&t, 0, RP_DEVFN, 0x1234, 0x7101, 0);
	cr_assert_str_eq(t.rp->bus.id, "rp0");
	cr_assert_eq(t.rp->dev.secondary, &t.rp->bus);
	tree_destroy(&t);
}

Test(root_port, capabilities_are_pcie_0x40_msi_0x80_pm_0x90_aer_0x100)
{
	struct tree t;
	uint8_t offs[16], ids[16];
	uint16_t eoffs[16], eids[16];

	tree_build(&t, false);
	cr_assert_eq(walk_caps(&t, 0, RP_DEVFN, offs, ids), 3);
	cr_assert_eq(offs[0], 0x40);
	cr_assert_eq(ids[0], PCI_CAP_ID_EXP);
	cr_assert_eq(offs[1], 0x80);
	cr_assert_eq(ids[1], PCI_CAP_ID_MSI);
	cr_assert_eq(offs[2], 0x90);
	cr_assert_eq(ids[2], PCI_CAP_ID_PM);
	cr_assert_eq(walk_ecaps(&t, 0, RP_DEVFN, eoffs, eids), 1);
	cr_assert_eq(eoffs[0], 0x100);
	cr_assert_eq(eids[0], PCI_EXT_CAP_ID_ERR);
	cr_assert_eq(rd(&t, 0, RP_DEVFN, PCI_INTERRUPT_PIN, 1), 1);
	tree_destroy(&t);
}

Test(root_port, pcie_capability_is_v2_root_port_with_slot)
{
	struct tree t;
	uint16_t flags;
	uint32_t sltcap;

	tree_build(&t, false);
	flags = rp_rd16(&t, RP_EXP + PCIE_FLAGS);
	cr_assert_eq(flags & PCIE_FLAGS_VERS, 2);
	cr_assert_eq((flags >> 4) & 0xf, PCIE_TYPE_ROOT_PORT);
	cr_assert(flags & PCIE_FLAGS_SLOT);
	sltcap = rd(&t, 0, RP_DEVFN, RP_EXP + PCIE_SLTCAP, 4);
	cr_assert_eq(sltcap >> 19, 1);
	cr_assert_eq(sltcap & PCIE_SLTCAP_HPC, 0, "hot-plug not modelled: pciehp stays away");
	cr_assert(sltcap & PCIE_SLTCAP_PCP);
	tree_destroy(&t);
}

Test(root_port, link_x16_5gt_negotiates_down_to_the_switch_below)
{
	struct tree t;
	uint32_t lnkcap;
	uint16_t sta;

	tree_build(&t, false);
	lnkcap = rd(&t, 0, RP_DEVFN, RP_EXP + PCIE_LNKCAP, 4);
	cr_assert_eq(lnkcap & PCIE_LNKCAP_SLS, PCIE_SPEED_5GT);
	cr_assert_eq((lnkcap >> 4) & 0x3f, 16);
	cr_assert_eq(lnkcap >> 24, 1);
	cr_assert_eq(rd(&t, 0, RP_DEVFN, RP_EXP + PCIE_LNKCAP2, 4), 0x6, "2.5 and 5.0 GT/s");
	sta = rp_rd16(&t, RP_EXP + PCIE_LNKSTA);
	cr_assert(sta & PCIE_LNKSTA_DLLLA);
	cr_assert_eq((sta & PCIE_LNKSTA_NLW) >> 4, 1, "the XIO3130 upstream port is x1");
	cr_assert_eq(sta & PCIE_LNKSTA_CLS, PCIE_SPEED_2_5GT);
	cr_assert(rp_rd16(&t, RP_EXP + PCIE_SLTSTA) & PCIE_SLTSTA_PDS);

	/* rp1 has nothing below: link down, but a non-zero width and speed */
	sta = (uint16_t)rd(&t, 0, RP1_DEVFN, RP_EXP + PCIE_LNKSTA, 2);
	cr_assert_eq(sta & PCIE_LNKSTA_DLLLA, 0);
	cr_assert_eq((sta & PCIE_LNKSTA_NLW) >> 4, 16);
	cr_assert_eq(sta & PCIE_LNKSTA_CLS, PCIE_SPEED_5GT);
	cr_assert_eq(rd(&t, 0, RP1_DEVFN, RP_EXP + PCIE_SLTSTA, 2) & PCIE_SLTSTA_PDS, 0);
	tree_destroy(&t);
}

Test(root_port, retrain_link_reads_0_and_the_link_stays_up)
{
	struct tree t;
	uint16_t ctl;

	tree_build(&t, false);
	rp_wr16(&t, RP_EXP + PCIE_LNKCTL, PCIE_LNKCTL_RL | PCIE_LNKCTL_CCC);
	ctl = rp_rd16(&t, RP_EXP + PCIE_LNKCTL);
	cr_assert_eq(ctl, PCIE_LNKCTL_CCC);
	cr_assert(rp_rd16(&t, RP_EXP + PCIE_LNKSTA) & PCIE_LNKSTA_DLLLA);
	cr_assert_eq(rp_rd16(&t, RP_EXP + PCIE_LNKSTA) & PCIE_LNKSTA_LT, 0);
	tree_destroy(&t);
}

Test(root_port, link_disable_and_slot_power_off_take_the_link_down)
{
	struct tree t;
	uint16_t sltctl;

	tree_build(&t, false);
	rp_wr16(&t, RP_EXP + PCIE_LNKCTL, PCIE_LNKCTL_LD);
	cr_assert_eq(rp_rd16(&t, RP_EXP + PCIE_LNKSTA) & PCIE_LNKSTA_DLLLA, 0);
	cr_assert(rp_rd16(&t, RP_EXP + PCIE_SLTSTA) & PCIE_SLTSTA_PDS, "still present");
	rp_wr16(&t, RP_EXP + PCIE_LNKCTL, 0);
	cr_assert(rp_rd16(&t, RP_EXP + PCIE_LNKSTA) & PCIE_LNKSTA_DLLLA);

	sltctl = rp_rd16(&t, RP_EXP + PCIE_SLTCTL);
	rp_wr16(&t, RP_EXP + PCIE_SLTCTL, sltctl | PCIE_SLTCTL_PCC);
	cr_assert_eq(rp_rd16(&t, RP_EXP + PCIE_LNKSTA) & PCIE_LNKSTA_DLLLA, 0);
	rp_wr16(&t, RP_EXP + PCIE_SLTCTL, sltctl);
	cr_assert(rp_rd16(&t, RP_EXP + PCIE_LNKSTA) & PCIE_LNKSTA_DLLLA);
	tree_destroy(&t);
}

Test(root_port, slot_control_takes_indicators_and_power_but_not_hot_plug_enables)
{
	struct tree t;

	tree_build(&t, false);
	cr_assert_eq(rp_rd16(&t, RP_EXP + PCIE_SLTCTL), PCIE_SLTCTL_AIC_OFF | PCIE_SLTCTL_PIC_ON);
	rp_wr16(&t, RP_EXP + PCIE_SLTCTL, 0xffff);
	cr_assert_eq(rp_rd16(&t, RP_EXP + PCIE_SLTCTL), PCIE_SLTCTL_PDCE | PCIE_SLTCTL_AIC |
								PCIE_SLTCTL_PIC | PCIE_SLTCTL_PCC |
								PCIE_SLTCTL_DLLSCE);
	tree_destroy(&t);
}

Test(root_port, device_control_is_writable_and_capabilities_are_not)
{
	struct tree t;
	uint32_t devcap = 0;

	tree_build(&t, false);
	devcap = rd(&t, 0, RP_DEVFN, RP_EXP + PCIE_DEVCAP, 4);
	cr_assert_eq(devcap & 7, 1, "MPS up to 256 bytes");
	cr_assert(devcap & PCIE_DEVCAP_RBER);
	wr(&t, 0, RP_DEVFN, RP_EXP + PCIE_DEVCAP, 0, 4);
	cr_assert_eq(rd(&t, 0, RP_DEVFN, RP_EXP + PCIE_DEVCAP, 4), devcap);
	wr(&t, 0, RP_DEVFN, RP_EXP + PCIE_LNKCAP, 0, 4);
	cr_assert_neq(rd(&t, 0, RP_DEVFN, RP_EXP + PCIE_LNKCAP, 4), 0);

	cr_assert_eq(rp_rd16(&t, RP_EXP + PCIE_DEVCTL) & PCIE_DEVCTL_PAYLOAD, 0, "MPS 128");
	rp_wr16(&t, RP_EXP + PCIE_DEVCTL, 0x0020 | PCIE_DEVCTL_ERR_REPORT);
	cr_assert_eq(rp_rd16(&t, RP_EXP + PCIE_DEVCTL), 0x0020 | PCIE_DEVCTL_ERR_REPORT);
	tree_destroy(&t);
}

Test(root_port, device_status_error_bits_are_write_1_to_clear)
{
	struct tree t;

	tree_build(&t, false);
	t.rp->dev.cfg[RP_EXP + PCIE_DEVSTA] = 0x0f; /* as if errors were detected */
	rp_wr16(&t, RP_EXP + PCIE_DEVSTA, 0x0005);
	cr_assert_eq(rp_rd16(&t, RP_EXP + PCIE_DEVSTA), 0x000a);
	rp_wr16(&t, RP_EXP + PCIE_DEVSTA, 0);
	cr_assert_eq(rp_rd16(&t, RP_EXP + PCIE_DEVSTA), 0x000a, "writing 0 changes nothing");
	tree_destroy(&t);
}

Test(root_port, root_control_and_pme_status)
{
	struct tree t;

	tree_build(&t, false);
	rp_wr16(&t, RP_EXP + PCIE_RTCTL, 0xffff);
	cr_assert_eq(rp_rd16(&t, RP_EXP + PCIE_RTCTL), PCIE_RTCTL_SYSERR | PCIE_RTCTL_PMEIE,
		     "no CRS Software Visibility");
	t.rp->dev.cfg[RP_EXP + PCIE_RTSTA + 2] = 0x01;
	wr(&t, 0, RP_DEVFN, RP_EXP + PCIE_RTSTA, PCIE_RTSTA_PME, 4);
	cr_assert_eq(rd(&t, 0, RP_DEVFN, RP_EXP + PCIE_RTSTA, 4), 0);
	tree_destroy(&t);
}

Test(root_port, aer_masks)
{
	struct tree t;
	unsigned aer = 0x100;

	tree_build(&t, false);
	cr_assert_eq(rd(&t, 0, RP_DEVFN, aer + PCIE_AER_UNCOR_SEVER, 4),
		     PCIE_AER_UNCOR_SEVER_DEFAULT);
	cr_assert_eq(rd(&t, 0, RP_DEVFN, aer + PCIE_AER_COR_MASK, 4), PCIE_AER_COR_MASK_DEFAULT);
	wr(&t, 0, RP_DEVFN, aer + PCIE_AER_UNCOR_MASK, 0xffffffff, 4);
	cr_assert_eq(rd(&t, 0, RP_DEVFN, aer + PCIE_AER_UNCOR_MASK, 4), PCIE_AER_UNCOR_SUPPORTED);
	wr(&t, 0, RP_DEVFN, aer + PCIE_AER_COR_MASK, 0xffffffff, 4);
	cr_assert_eq(rd(&t, 0, RP_DEVFN, aer + PCIE_AER_COR_MASK, 4), PCIE_AER_COR_SUPPORTED);
	wr(&t, 0, RP_DEVFN, aer + PCIE_AER_CAP, 0xffffffff, 4);
	cr_assert_eq(rd(&t, 0, RP_DEVFN, aer + PCIE_AER_CAP, 4), 0, "no ECRC");
	wr(&t, 0, RP_DEVFN, aer + PCIE_AER_ROOT_COMMAND, 0xffffffff, 4);
	cr_assert_eq(rd(&t, 0, RP_DEVFN, aer + PCIE_AER_ROOT_COMMAND, 4), 7);

	pci_set32(&t.rp->dev, aer + PCIE_AER_UNCOR_STATUS, 0x00101000); /* UR, Poisoned TLP */
	pci_set32(&t.rp->dev, aer + PCIE_AER_ROOT_STATUS, 0x00000005);
	wr(&t, 0, RP_DEVFN, aer + PCIE_AER_UNCOR_STATUS, 0x00001000, 4);
	cr_assert_eq(rd(&t, 0, RP_DEVFN, aer + PCIE_AER_UNCOR_STATUS, 4), 0x00100000);
	wr(&t, 0, RP_DEVFN, aer + PCIE_AER_ROOT_STATUS, 0xffffffff, 4);
	cr_assert_eq(rd(&t, 0, RP_DEVFN, aer + PCIE_AER_ROOT_STATUS, 4), 0);
	tree_destroy(&t);
}

Test(root_port, acs_only_when_asked_with_sv_tb_rr_cr_uf_writable)
{
	struct tree t;
	unsigned acs;

	tree_build(&t, false);
	cr_assert_eq(find_ecap(&t, 0, RP_DEVFN, PCI_EXT_CAP_ID_ACS), 0);
	tree_destroy(&t);

	tree_build(&t, true);
	acs = find_ecap(&t, 0, RP_DEVFN, PCI_EXT_CAP_ID_ACS);
	cr_assert_eq(acs, 0x148);
	cr_assert_eq(rd(&t, 0, RP_DEVFN, acs + PCIE_ACS_CAP, 2), 0x1f);
	cr_assert_eq(rd(&t, 0, RP_DEVFN, acs + PCIE_ACS_CTRL, 2), 0, "redirect off at reset");
	wr(&t, 0, RP_DEVFN, acs + PCIE_ACS_CTRL, 0xffff, 2);
	cr_assert_eq(rd(&t, 0, RP_DEVFN, acs + PCIE_ACS_CTRL, 2),
		     PCIE_ACS_SV | PCIE_ACS_TB | PCIE_ACS_RR | PCIE_ACS_CR | PCIE_ACS_UF);
	wr(&t, 0, RP_DEVFN, acs + PCIE_ACS_CAP, 0, 2);
	cr_assert_eq(rd(&t, 0, RP_DEVFN, acs + PCIE_ACS_CAP, 2), 0x1f);

	acs = find_ecap(&t, INTERNAL_BUS, PCI_DEVFN(2, 0), PCI_EXT_CAP_ID_ACS);
	wr(&t, INTERNAL_BUS, PCI_DEVFN(2, 0), acs + PCIE_ACS_CTRL, PCIE_ACS_RR | PCIE_ACS_EC, 2);
	cr_assert_eq(rd(&t, INTERNAL_BUS, PCI_DEVFN(2, 0), acs + PCIE_ACS_CTRL, 2), PCIE_ACS_RR);
	tree_destroy(&t);
}

Test(root_port, power_state_takes_d3hot_and_ignores_d1)
{
	struct tree t;
	unsigned pm;

	tree_build(&t, false);
	pm = find_cap(&t, 0, RP_DEVFN, PCI_CAP_ID_PM);
	cr_assert_eq(rp_rd16(&t, pm + PCIE_PM_PMC) & 7, 3, "PCI PM 1.2");
	cr_assert(rp_rd16(&t, pm + PCIE_PM_CSR) & PCIE_PM_CSR_NSR);
	rp_wr16(&t, pm + PCIE_PM_CSR, 3);
	cr_assert_eq(rp_rd16(&t, pm + PCIE_PM_CSR) & PCIE_PM_CSR_STATE, 3);
	rp_wr16(&t, pm + PCIE_PM_CSR, 1);
	cr_assert_eq(rp_rd16(&t, pm + PCIE_PM_CSR) & PCIE_PM_CSR_STATE, 3);
	rp_wr16(&t, pm + PCIE_PM_CSR, 0);
	cr_assert_eq(rp_rd16(&t, pm + PCIE_PM_CSR) & PCIE_PM_CSR_STATE, 0);
	tree_destroy(&t);
}

Test(root_port, set_link_refuses_devices_that_are_not_ports)
{
	struct pci_dev other;

	pci_dev_init(&other, "other", 0x1234, 0x0001, 0x010802, 0, false);
	cr_assert_eq(pcie_port_set_link(&other, true), -EINVAL);
	cr_assert_eq(pcie_port_set_link(NULL, true), -EINVAL);
	cr_assert_null(pcie_port_of(&other));
	pci_dev_destroy(&other);
}

Test(root_port, create_rejects_bad_arguments)
{
	cr_assert_null(pcie_root_port_create(NULL, 1, 1, false));
	cr_assert_null(pcie_root_port_create("", 1, 1, false));
	cr_assert_null(pcie_root_port_create("rp", 1, PCIE_SLTCAP_PSN_MAX + 1, false));
}

Test(pcie_port, p2pdma_path_has_no_acs_capability_by_default)
{
	struct tree t;

	tree_build(&t, false);
	cr_assert_eq(find_ecap(&t, 0, RP_DEVFN, PCI_EXT_CAP_ID_ACS), 0);
	cr_assert_eq(find_ecap(&t, SW_BUS, 0, PCI_EXT_CAP_ID_ACS), 0);
	for (int i = 0; i < NDOWN; i++)
		cr_assert_eq(find_ecap(&t, INTERNAL_BUS, PCI_DEVFN(i, 0), PCI_EXT_CAP_ID_ACS), 0);
	tree_destroy(&t);
}

/* ---- the link forced down and back (pcie_port_force_link: the control socket's link_down) ---- */

Test(root_port, a_forced_link_down_clears_dllla_sets_dllsc_and_hides_the_switch)
{
	struct tree t;

	tree_build(&t, false);
	cr_assert_eq(rd(&t, SW_BUS, 0, PCI_VENDOR_ID, 2), PCIE_VENDOR_TI);
	cr_assert_eq(rp_rd16(&t, RP_EXP + PCIE_SLTSTA) & PCIE_SLTSTA_DLLSC, 0,
		     "the machine's own attach is the power-on state, not an event");
	cr_assert(pcie_port_link_active(&t.rp->dev));

	cr_assert_eq(pcie_port_force_link(&t.rp->dev, false), 0);
	/* PCIe 5.0 7.5.3.8 DLLLA, 7.5.3.11 DLLSC */
	cr_assert_eq(rp_rd16(&t, RP_EXP + PCIE_LNKSTA) & PCIE_LNKSTA_DLLLA, 0);
	cr_assert(rp_rd16(&t, RP_EXP + PCIE_SLTSTA) & PCIE_SLTSTA_DLLSC);
	cr_assert(rp_rd16(&t, RP_EXP + PCIE_SLTSTA) & PCIE_SLTSTA_PDS, "the device is still there");
	cr_assert_not(pcie_port_link_active(&t.rp->dev));
	/* 2.9.1: nothing below answers */
	cr_assert_eq(rd(&t, SW_BUS, 0, PCI_VENDOR_ID, 2), 0xffff);
	cr_assert_eq(rd(&t, DOWN_BUS(0) - 1, PCI_DEVFN(0, 0), PCI_VENDOR_ID, 2), 0xffff);
	/* DLLSC is RW1C */
	rp_wr16(&t, RP_EXP + PCIE_SLTSTA, PCIE_SLTSTA_DLLSC);
	cr_assert_eq(rp_rd16(&t, RP_EXP + PCIE_SLTSTA) & PCIE_SLTSTA_DLLSC, 0);

	cr_assert_eq(pcie_port_force_link(&t.rp->dev, true), 0);
	cr_assert(rp_rd16(&t, RP_EXP + PCIE_LNKSTA) & PCIE_LNKSTA_DLLLA);
	cr_assert(rp_rd16(&t, RP_EXP + PCIE_SLTSTA) & PCIE_SLTSTA_DLLSC);
	cr_assert_eq(rd(&t, SW_BUS, 0, PCI_VENDOR_ID, 2), PCIE_VENDOR_TI);
	cr_assert_eq(rd(&t, INTERNAL_BUS, PCI_DEVFN(1, 0), PCI_DEVICE_ID, 2),
		     PCIE_DEVICE_XIO3130_DOWN);
	tree_destroy(&t);
}

Test(root_port, link_up_does_not_override_link_disable_or_an_empty_slot)
{
	struct tree t;

	tree_build(&t, false);
	cr_assert_eq(pcie_port_force_link(&t.rp->dev, false), 0);
	rp_wr16(&t, RP_EXP + PCIE_LNKCTL, PCIE_LNKCTL_LD);
	cr_assert_eq(pcie_port_force_link(&t.rp->dev, true), 0);
	cr_assert_not(pcie_port_link_active(&t.rp->dev), "Link Disable still holds it down");
	cr_assert_eq(rd(&t, SW_BUS, 0, PCI_VENDOR_ID, 2), 0xffff);
	rp_wr16(&t, RP_EXP + PCIE_LNKCTL, 0);
	cr_assert(pcie_port_link_active(&t.rp->dev));
	cr_assert_eq(rd(&t, SW_BUS, 0, PCI_VENDOR_ID, 2), PCIE_VENDOR_TI);

	/* rp1 has nothing below: its link stays down whatever is asked */
	cr_assert_eq(pcie_port_force_link(&t.rp1->dev, true), 0);
	cr_assert_not(pcie_port_link_active(&t.rp1->dev));
	tree_destroy(&t);
}

Test(xio3130, a_downstream_port_takes_its_link_down_and_the_upstream_port_refuses)
{
	struct tree t;

	tree_build(&t, false);
	cr_assert_eq(pcie_port_force_link(&t.sw->up.dev, false), -EINVAL,
		     "the upstream port has no link of its own to take down here");
	cr_assert_eq(pcie_port_set_link(&t.sw->down[1].dev, true), 0);
	cr_assert_not(t.sw->down[1].dev.link_down);
	cr_assert_eq(pcie_port_force_link(&t.sw->down[1].dev, false), 0);
	cr_assert_not(pcie_port_link_active(&t.sw->down[1].dev));
	cr_assert(t.sw->down[1].dev.link_down);
	cr_assert_eq(rd(&t, INTERNAL_BUS, PCI_DEVFN(1, 0), PCI_VENDOR_ID, 2), PCIE_VENDOR_TI,
		     "the port itself still answers");
	cr_assert_eq(pcie_port_force_link(&t.sw->down[1].dev, true), 0);
	cr_assert_not(t.sw->down[1].dev.link_down);
	/* an empty slot has no link to bring up */
	cr_assert(t.sw->down[0].dev.link_down);
	cr_assert_eq(pcie_port_force_link(&t.sw->down[0].dev, true), 0);
	cr_assert(t.sw->down[0].dev.link_down);
	tree_destroy(&t);
}
