/* SPDX-License-Identifier: MIT */
/*
 * The PCI core's PCI Express capability builder (vmm/pci/pcie_cap.c), read the way a Linux
 * driver reads it: config cycles through the routing, the capability found by walking the
 * list from 0x34, writes going through the core's write and write-1-to-clear masks. An
 * endpoint (ep0, bus 3) and a downstream port (dn0, bus 2) of the shared test topology.
 */
#include <criterion/criterion.h>

#include "test_pci_fake.h"
#include "vmm/pci/pcie_cap.h"

#define DN_BUS 2
#define EP_BUS 3

/* The writable Device Control bits (PCIe 5.0 7.5.3.4) */
#define DEVCTL_WRITABLE                                                                            \
	(PCIE_DEVCTL_ERR_REPORT | PCIE_DEVCTL_RELAX_EN | PCIE_DEVCTL_PAYLOAD |                     \
	 PCIE_DEVCTL_NOSNOOP_EN | PCIE_DEVCTL_READRQ)

static struct topo t;
static uint8_t ep_exp, dn_exp;

static const struct pcie_cap_desc ep_desc = {
	.type = PCIE_TYPE_ENDPOINT,
	.width = 4,
	.speed = PCIE_SPEED_5GT,
	.port_number = 7,
};

static const struct pcie_cap_desc dn_desc = {
	.type = PCIE_TYPE_DOWNSTREAM,
	.width = 1,
	.speed = PCIE_SPEED_2_5GT,
	.port_number = 3,
	.slot = true,
};

static void setup(void)
{
	topo_init(&t, NULL);
	/* the endpoint's capability goes after another one, at the next free place */
	cr_assert_eq(pci_add_cap(&t.ep[0], PCI_CAP_ID_PM, PCIE_PM_SIZE), 0x40);
	ep_exp = pci_add_pcie_cap(&t.ep[0], 0, &ep_desc);
	/* the port's at a fixed offset above its MSI capability, as the XIO3130's */
	t.dn[0].cap_next = 0x70;
	cr_assert_eq(pci_add_msi(&t.dn[0], false), 0);
	dn_exp = pci_add_pcie_cap(&t.dn[0], 0x90, &dn_desc);
	topo_number_buses(&t);
}

static void teardown(void)
{
	topo_fini(&t);
}

TestSuite(pcie_cap, .init = setup, .fini = teardown);

static uint32_t rd(int bus, unsigned off, unsigned size)
{
	return cfg_rd(&t, bus, 0, 0, off, size);
}

static void wr(int bus, unsigned off, uint32_t v, unsigned size)
{
	cfg_wr(&t, bus, 0, 0, off, v, size);
}

/* As Linux's pci_find_capability(): from 0x34, following next pointers. */
static uint8_t find_exp(int bus)
{
	uint8_t off;

	if (!(rd(bus, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST))
		return 0;
	off = (uint8_t)rd(bus, PCI_CAPABILITY_LIST, 1) & 0xfc;
	for (int guard = 0; off >= 0x40 && guard < 48; guard++) {
		if (rd(bus, off, 1) == PCI_CAP_ID_EXP)
			return off;
		off = (uint8_t)rd(bus, off + 1, 1) & 0xfc;
	}
	return 0;
}

Test(pcie_cap, found_by_walking_the_list_at_the_offset_returned)
{
	cr_assert_eq(ep_exp, 0x48, "next free after PM: 0x%x", ep_exp);
	cr_assert_eq(dn_exp, 0x90);
	cr_assert_eq(find_exp(EP_BUS), ep_exp);
	cr_assert_eq(find_exp(DN_BUS), dn_exp);
}

Test(pcie_cap, flags_carry_version_2_type_and_slot)
{
	uint16_t ep = (uint16_t)rd(EP_BUS, ep_exp + PCIE_FLAGS, 2);
	uint16_t dn = (uint16_t)rd(DN_BUS, dn_exp + PCIE_FLAGS, 2);

	cr_assert_eq(ep & PCIE_FLAGS_VERS, 2);
	cr_assert_eq((ep >> PCIE_FLAGS_TYPE_SHIFT) & 0xf, PCIE_TYPE_ENDPOINT);
	cr_assert_eq(ep & PCIE_FLAGS_SLOT, 0);
	cr_assert_eq(dn & PCIE_FLAGS_VERS, 2);
	cr_assert_eq((dn >> PCIE_FLAGS_TYPE_SHIFT) & 0xf, PCIE_TYPE_DOWNSTREAM);
	cr_assert(dn & PCIE_FLAGS_SLOT);
}

Test(pcie_cap, link_capabilities_and_status_width_speed_port_number)
{
	uint32_t ep = rd(EP_BUS, ep_exp + PCIE_LNKCAP, 4);
	uint32_t dn = rd(DN_BUS, dn_exp + PCIE_LNKCAP, 4);
	uint16_t ep_sta = (uint16_t)rd(EP_BUS, ep_exp + PCIE_LNKSTA, 2);
	uint16_t dn_sta = (uint16_t)rd(DN_BUS, dn_exp + PCIE_LNKSTA, 2);

	cr_assert_eq(ep & PCIE_LNKCAP_SLS, PCIE_SPEED_5GT);
	cr_assert_eq((ep >> PCIE_LNKCAP_MLW_SHIFT) & 0x3f, 4);
	cr_assert_eq(ep >> PCIE_LNKCAP_PN_SHIFT, 7, "ntb_hw_idt reads the port number here");
	cr_assert_eq(dn & PCIE_LNKCAP_SLS, PCIE_SPEED_2_5GT);
	cr_assert_eq((dn >> PCIE_LNKCAP_MLW_SHIFT) & 0x3f, 1);
	cr_assert_eq(dn >> PCIE_LNKCAP_PN_SHIFT, 3);

	cr_assert_eq(ep_sta & PCIE_LNKSTA_CLS, PCIE_SPEED_5GT);
	cr_assert_eq((ep_sta & PCIE_LNKSTA_NLW) >> PCIE_LNKSTA_NLW_SHIFT, 4);
	cr_assert(ep_sta & PCIE_LNKSTA_SLC);
	cr_assert_eq(dn_sta & PCIE_LNKSTA_CLS, PCIE_SPEED_2_5GT);
	cr_assert_eq((dn_sta & PCIE_LNKSTA_NLW) >> PCIE_LNKSTA_NLW_SHIFT, 1);

	/* 7.5.3.18: every speed up to ours */
	cr_assert_eq(rd(EP_BUS, ep_exp + PCIE_LNKCAP2, 4), 0x6);
	cr_assert_eq(rd(DN_BUS, dn_exp + PCIE_LNKCAP2, 4), 0x2);
	cr_assert_eq(rd(EP_BUS, ep_exp + PCIE_LNKCTL2, 2) & PCIE_LNKCTL2_TLS, PCIE_SPEED_5GT);
}

Test(pcie_cap, dlllarc_ld_rl_and_ari_only_on_the_upper_end)
{
	cr_assert_eq(rd(EP_BUS, ep_exp + PCIE_LNKCAP, 4) & PCIE_LNKCAP_DLLLARC, 0);
	cr_assert(rd(DN_BUS, dn_exp + PCIE_LNKCAP, 4) & PCIE_LNKCAP_DLLLARC);

	wr(EP_BUS, ep_exp + PCIE_LNKCTL, 0xffff, 2);
	wr(DN_BUS, dn_exp + PCIE_LNKCTL, 0xffff, 2);
	cr_assert_eq(rd(EP_BUS, ep_exp + PCIE_LNKCTL, 2),
		     PCIE_LNKCTL_ASPMC | PCIE_LNKCTL_CCC | PCIE_LNKCTL_ES | PCIE_LNKCTL_HAWD);
	cr_assert_eq(rd(DN_BUS, dn_exp + PCIE_LNKCTL, 2),
		     PCIE_LNKCTL_ASPMC | PCIE_LNKCTL_CCC | PCIE_LNKCTL_ES | PCIE_LNKCTL_HAWD |
			     PCIE_LNKCTL_LD | PCIE_LNKCTL_RL);

	cr_assert_eq(rd(EP_BUS, ep_exp + PCIE_DEVCAP2, 4), 0);
	cr_assert_eq(rd(DN_BUS, dn_exp + PCIE_DEVCAP2, 4), PCIE_DEVCAP2_ARI);
	wr(EP_BUS, ep_exp + PCIE_DEVCTL2, 0xffff, 2);
	wr(DN_BUS, dn_exp + PCIE_DEVCTL2, 0xffff, 2);
	cr_assert_eq(rd(EP_BUS, ep_exp + PCIE_DEVCTL2, 2), 0);
	cr_assert_eq(rd(DN_BUS, dn_exp + PCIE_DEVCTL2, 2), PCIE_DEVCTL2_ARI);
}

Test(pcie_cap, devcap_and_devctl_defaults_and_write_mask)
{
	cr_assert_eq(rd(EP_BUS, ep_exp + PCIE_DEVCAP, 4), PCIE_DEVCAP_MPSS_256 | PCIE_DEVCAP_RBER);
	cr_assert_eq(rd(EP_BUS, ep_exp + PCIE_DEVCTL, 2),
		     PCIE_DEVCTL_RELAX_EN | PCIE_DEVCTL_NOSNOOP_EN | PCIE_DEVCTL_READRQ_512);
	for (int bus = DN_BUS; bus <= EP_BUS; bus++) {
		uint8_t exp = bus == EP_BUS ? ep_exp : dn_exp;

		wr(bus, exp + PCIE_DEVCTL, 0xffff, 2);
		cr_assert_eq(rd(bus, exp + PCIE_DEVCTL, 2), DEVCTL_WRITABLE, "bus %d", bus);
		wr(bus, exp + PCIE_DEVCTL, 0, 2);
		cr_assert_eq(rd(bus, exp + PCIE_DEVCTL, 2), 0, "bus %d", bus);
	}
	/* the read-only capability register next to it is not touched by a dword write */
	wr(EP_BUS, ep_exp + PCIE_DEVCAP, 0, 4);
	cr_assert_eq(rd(EP_BUS, ep_exp + PCIE_DEVCAP, 4), PCIE_DEVCAP_MPSS_256 | PCIE_DEVCAP_RBER);
}

Test(pcie_cap, devsta_error_bits_are_write_one_to_clear)
{
	/* the device logs all four errors and has a transaction pending (read-only) */
	pci_set16(&t.ep[0], ep_exp + PCIE_DEVSTA, PCIE_DEVSTA_ERR | 0x0020);
	wr(EP_BUS, ep_exp + PCIE_DEVSTA, 0, 2);
	cr_assert_eq(rd(EP_BUS, ep_exp + PCIE_DEVSTA, 2), PCIE_DEVSTA_ERR | 0x0020);
	wr(EP_BUS, ep_exp + PCIE_DEVSTA, 0x0001, 2);
	cr_assert_eq(rd(EP_BUS, ep_exp + PCIE_DEVSTA, 2), 0x000e | 0x0020);
	wr(EP_BUS, ep_exp + PCIE_DEVSTA, 0xffff, 2);
	cr_assert_eq(rd(EP_BUS, ep_exp + PCIE_DEVSTA, 2), 0x0020);
	/* a dword write to Device Control with status 0 leaves logged errors alone */
	pci_set16(&t.ep[0], ep_exp + PCIE_DEVSTA, PCIE_DEVSTA_ERR);
	wr(EP_BUS, ep_exp + PCIE_DEVCTL, PCIE_DEVCTL_RELAX_EN, 4);
	cr_assert_eq(rd(EP_BUS, ep_exp + PCIE_DEVSTA, 2), PCIE_DEVSTA_ERR);
}

Test(pcie_cap, no_room_or_a_bad_offset_gives_zero)
{
	/* below the last capability, misaligned, past the legacy space */
	cr_assert_eq(pci_add_pcie_cap(&t.ep[1], 0x42, &ep_desc), 0);
	cr_assert_eq(t.ep[1].cfg[PCI_CAPABILITY_LIST], 0, "nothing added");
	cr_assert_eq(pci_add_pcie_cap(&t.ep[1], 0xd0, &ep_desc), 0);
	cr_assert_eq(pci_add_pcie_cap(&t.ep[0], 0x40, &ep_desc), 0);
	cr_assert_eq(pci_add_pcie_cap(&t.ep[1], 0xc0, &ep_desc), 0xc0);
}
