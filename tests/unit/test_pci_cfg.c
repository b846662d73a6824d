/* SPDX-License-Identifier: MIT */
/* PCI core: config space through the masks, BAR sizing, routing, access mechanisms, caps. */
#include <criterion/criterion.h>
#include <errno.h>

#include "test_pci_fake.h"

static struct topo t;

static void setup(void)
{
	topo_init(&t, NULL);
}

static void teardown(void)
{
	topo_fini(&t);
}

TestSuite(pci_cfg, .init = setup, .fini = teardown);

Test(pci_cfg, vendor_device_class_and_header_type_are_read_only)
{
	cfg_wr(&t, 0, 1, 0, PCI_VENDOR_ID, 0xffffffff, 4);
	cfg_wr(&t, 0, 1, 0, PCI_REVISION_ID, 0xffffffff, 4);
	cfg_wr(&t, 0, 1, 0, PCI_HEADER_TYPE, 0xff, 1);
	cfg_wr(&t, 0, 1, 0, PCI_CAPABILITY_LIST, 0xff, 1);
	cfg_wr(&t, 0, 1, 0, PCI_INTERRUPT_PIN, 0xff, 1);
	cr_assert_eq(cfg_rd(&t, 0, 1, 0, PCI_VENDOR_ID, 4), 0x000c1b36);
	cr_assert_eq(cfg_rd(&t, 0, 1, 0, PCI_REVISION_ID, 4), 0x06040000);
	cr_assert_eq(cfg_rd(&t, 0, 1, 0, PCI_HEADER_TYPE, 1), PCI_HEADER_TYPE_BRIDGE);
	cr_assert_eq(cfg_rd(&t, 0, 1, 0, PCI_CAPABILITY_LIST, 1), 0);
	cr_assert_eq(cfg_rd(&t, 0, 1, 0, PCI_INTERRUPT_PIN, 1), 0);
}

Test(pci_cfg, command_takes_only_implemented_bits)
{
	cfg_wr(&t, 0, 0, 0, PCI_COMMAND, 0xffff, 2);
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, PCI_COMMAND, 2), 0x0547);
}

Test(pci_cfg, status_error_bits_are_write_one_to_clear)
{
	pci_set16(&t.hb, PCI_STATUS, 0xf900 | PCI_STATUS_CAP_LIST);
	cfg_wr(&t, 0, 0, 0, PCI_STATUS, 0x2000, 2); /* clear received master abort */
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, PCI_STATUS, 2), 0xd900 | PCI_STATUS_CAP_LIST);
	cfg_wr(&t, 0, 0, 0, PCI_STATUS, 0x0000, 2); /* writing 0 changes nothing */
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, PCI_STATUS, 2), 0xd900 | PCI_STATUS_CAP_LIST);
	/* a dword write to COMMAND with status 0 leaves the errors alone */
	cfg_wr(&t, 0, 0, 0, PCI_COMMAND, 0x00000002, 4);
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, PCI_STATUS, 2), 0xd900 | PCI_STATUS_CAP_LIST);
	cfg_wr(&t, 0, 0, 0, PCI_STATUS, 0xffff, 2); /* CAP_LIST is read-only */
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
}

Test(pci_cfg, secondary_status_error_bits_are_write_one_to_clear)
{
	pci_set16(&t.rp, PCI_SEC_STATUS, 0xf900);
	cfg_wr(&t, 0, 1, 0, PCI_SEC_STATUS, 0x8100, 2);
	cr_assert_eq(cfg_rd(&t, 0, 1, 0, PCI_SEC_STATUS, 2), 0x7800);
}

Test(pci_cfg, interrupt_line_is_writable)
{
	cfg_wr(&t, 0, 0, 0, PCI_INTERRUPT_LINE, 0x0b, 1);
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, PCI_INTERRUPT_LINE, 1), 0x0b);
}

Test(pci_cfg, mem32_bar_sizing_reads_back_size_mask_with_type)
{
	cr_assert_eq(pci_dev_set_bar(&t.hb, 0, PCI_BAR_MEM32, false, KiB(16), &regs_ops, &t.regs[0],
				     NULL),
		     0);
	cfg_wr(&t, 0, 0, 0, PCI_BASE_ADDRESS_0, 0xffffffff, 4);
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, PCI_BASE_ADDRESS_0, 4), 0xffffc000);
	cfg_wr(&t, 0, 0, 0, PCI_BASE_ADDRESS_0, 0xc0001234, 4);
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, PCI_BASE_ADDRESS_0, 4), 0xc0000000);
}

Test(pci_cfg, prefetchable_mem64_bar_uses_two_slots)
{
	cr_assert_eq(pci_dev_set_bar(&t.hb, 2, PCI_BAR_MEM64, true, MiB(64), NULL, NULL, NULL), 0);
	cfg_wr(&t, 0, 0, 0, PCI_BASE_ADDRESS_0 + 8, 0xffffffff, 4);
	cfg_wr(&t, 0, 0, 0, PCI_BASE_ADDRESS_0 + 12, 0xffffffff, 4);
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, PCI_BASE_ADDRESS_0 + 8, 4), 0xfc00000c);
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, PCI_BASE_ADDRESS_0 + 12, 4), 0xffffffff);
	cfg_wr(&t, 0, 0, 0, PCI_BASE_ADDRESS_0 + 8, 0x04000000, 4);
	cfg_wr(&t, 0, 0, 0, PCI_BASE_ADDRESS_0 + 12, 0x00000008, 4);
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, PCI_BASE_ADDRESS_0 + 8, 4), 0x0400000c);
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, PCI_BASE_ADDRESS_0 + 12, 4), 0x00000008);
	/* the slot after a 64-bit BAR cannot be declared again */
	cr_assert_eq(pci_dev_set_bar(&t.hb, 3, PCI_BAR_MEM32, false, KiB(4), NULL, NULL, NULL),
		     -EINVAL);
}

Test(pci_cfg, huge_mem64_bar_sizes_in_the_upper_half)
{
	cr_assert_eq(pci_dev_set_bar(&t.hb, 0, PCI_BAR_MEM64, true, GiB(16), NULL, NULL, NULL), 0);
	cfg_wr(&t, 0, 0, 0, PCI_BASE_ADDRESS_0, 0xffffffff, 4);
	cfg_wr(&t, 0, 0, 0, PCI_BASE_ADDRESS_0 + 4, 0xffffffff, 4);
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, PCI_BASE_ADDRESS_0, 4), 0x0000000c);
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, PCI_BASE_ADDRESS_0 + 4, 4), 0xfffffffc);
}

Test(pci_cfg, io_bar_sizing_keeps_bit0_set)
{
	cr_assert_eq(pci_dev_set_bar(&t.hb, 4, PCI_BAR_IO, false, 32, &regs_ops, &t.regs[0], NULL),
		     0);
	cfg_wr(&t, 0, 0, 0, PCI_BASE_ADDRESS_0 + 16, 0xffffffff, 4);
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, PCI_BASE_ADDRESS_0 + 16, 4), 0xffffffe1);
	cfg_wr(&t, 0, 0, 0, PCI_BASE_ADDRESS_0 + 16, 0x1000, 4);
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, PCI_BASE_ADDRESS_0 + 16, 4), 0x1001);
}

Test(pci_cfg, unused_bars_and_expansion_rom_read_zero_and_ignore_writes)
{
	cfg_wr(&t, 0, 0, 0, PCI_BASE_ADDRESS_0 + 4, 0xffffffff, 4);
	cfg_wr(&t, 0, 0, 0, PCI_ROM_ADDRESS, 0xffffffff, 4);
	cfg_wr(&t, 0, 1, 0, PCI_BRIDGE_ROM_ADDRESS, 0xffffffff, 4);
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, PCI_BASE_ADDRESS_0 + 4, 4), 0);
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, PCI_ROM_ADDRESS, 4), 0);
	cr_assert_eq(cfg_rd(&t, 0, 1, 0, PCI_BRIDGE_ROM_ADDRESS, 4), 0);
}

Test(pci_cfg, set_bar_rejects_bad_declarations)
{
	cr_assert_eq(pci_dev_set_bar(&t.hb, 6, PCI_BAR_MEM32, false, KiB(4), NULL, NULL, NULL),
		     -EINVAL);
	cr_assert_eq(pci_dev_set_bar(&t.hb, 0, PCI_BAR_MEM32, false, 3000, NULL, NULL, NULL),
		     -EINVAL);
	cr_assert_eq(pci_dev_set_bar(&t.hb, 5, PCI_BAR_MEM64, false, KiB(4), NULL, NULL, NULL),
		     -EINVAL);
	cr_assert_eq(pci_dev_set_bar(&t.hb, 0, PCI_BAR_IO, false, 512, NULL, NULL, NULL), -EINVAL);
	cr_assert_eq(pci_dev_set_bar(&t.rp, 2, PCI_BAR_MEM32, false, KiB(4), NULL, NULL, NULL),
		     -EINVAL);
	cr_assert_eq(pci_dev_set_bar(&t.hb, 0, PCI_BAR_MEM32, false, KiB(4), NULL, NULL, NULL), 0);
	cr_assert_eq(pci_dev_set_bar(&t.hb, 0, PCI_BAR_MEM32, false, KiB(4), NULL, NULL, NULL),
		     -EINVAL);
}

Test(pci_cfg, bridge_header_masks)
{
	cfg_wr(&t, 0, 1, 0, PCI_IO_BASE, 0xffff, 2);
	cr_assert_eq(cfg_rd(&t, 0, 1, 0, PCI_IO_BASE, 2), 0xf0f0); /* 16-bit decode */
	cfg_wr(&t, 0, 1, 0, PCI_IO_BASE_UPPER16, 0xffffffff, 4);
	cr_assert_eq(cfg_rd(&t, 0, 1, 0, PCI_IO_BASE_UPPER16, 4), 0);
	cfg_wr(&t, 0, 1, 0, PCI_MEMORY_BASE, 0xffffffff, 4);
	cr_assert_eq(cfg_rd(&t, 0, 1, 0, PCI_MEMORY_BASE, 4), 0xfff0fff0);
	cfg_wr(&t, 0, 1, 0, PCI_PREF_MEMORY_BASE, 0xffffffff, 4);
	cr_assert_eq(cfg_rd(&t, 0, 1, 0, PCI_PREF_MEMORY_BASE, 4), 0xfff1fff1); /* 64-bit */
	cfg_wr(&t, 0, 1, 0, PCI_PREF_BASE_UPPER32, 0x12345678, 4);
	cfg_wr(&t, 0, 1, 0, PCI_PREF_LIMIT_UPPER32, 0x9abcdef0, 4);
	cr_assert_eq(cfg_rd(&t, 0, 1, 0, PCI_PREF_BASE_UPPER32, 4), 0x12345678);
	cr_assert_eq(cfg_rd(&t, 0, 1, 0, PCI_PREF_LIMIT_UPPER32, 4), 0x9abcdef0);
	cfg_wr(&t, 0, 1, 0, PCI_BRIDGE_CONTROL, 0xffff, 2);
	cr_assert_eq(cfg_rd(&t, 0, 1, 0, PCI_BRIDGE_CONTROL, 2), 0x007f);
	cfg_wr(&t, 0, 1, 0, PCI_PRIMARY_BUS, 0x00ffffff, 4);
	cr_assert_eq(cfg_rd(&t, 0, 1, 0, PCI_PRIMARY_BUS, 4), 0x00ffffff);
}

Test(pci_cfg, absent_functions_read_all_ones_and_ignore_writes)
{
	cr_assert_eq(cfg_rd(&t, 0, 5, 0, PCI_VENDOR_ID, 4), 0xffffffff);
	cr_assert_eq(cfg_rd(&t, 0, 5, 0, PCI_VENDOR_ID, 2), 0xffff);
	cr_assert_eq(cfg_rd(&t, 0, 5, 0, PCI_HEADER_TYPE, 1), 0xff);
	cr_assert_eq(cfg_rd(&t, 9, 0, 0, PCI_VENDOR_ID, 4), 0xffffffff); /* no such bus */
	cfg_wr(&t, 0, 5, 0, PCI_COMMAND, 0x7, 2);
}

Test(pci_cfg, function_without_function_zero_is_absent)
{
	static struct pci_dev f1, f0;

	pci_dev_init(&f1, "f1", 0x1234, 0x5678, 0x020000, 0, false);
	pci_dev_init(&f0, "f0", 0x1234, 0x5679, 0x020000, 0, false);
	cr_assert_eq(pci_bus_add(&t.root.bus0, &f1, PCI_DEVFN(3, 1)), 0);
	cr_assert_eq(cfg_rd(&t, 0, 3, 1, PCI_VENDOR_ID, 2), 0xffff);
	cr_assert_eq(pci_bus_add(&t.root.bus0, &f0, PCI_DEVFN(3, 0)), 0);
	cr_assert_eq(cfg_rd(&t, 0, 3, 1, PCI_VENDOR_ID, 2), 0x1234);
	cr_assert_eq(cfg_rd(&t, 0, 3, 0, PCI_HEADER_TYPE, 1), PCI_HEADER_TYPE_MULTI);
	cr_assert_eq(pci_bus_add(&t.root.bus0, &f0, PCI_DEVFN(3, 0)), -EEXIST);
}

Test(pci_cfg, config_cycles_follow_bus_numbers_through_two_bridge_levels)
{
	/* unprogrammed bridges forward nothing */
	cr_assert_eq(cfg_rd(&t, 1, 0, 0, PCI_VENDOR_ID, 2), 0xffff);
	topo_number_buses(&t);
	cr_assert_eq(cfg_rd(&t, 1, 0, 0, PCI_DEVICE_ID, 2), 0x8232);
	cr_assert_eq(cfg_rd(&t, 2, 0, 0, PCI_DEVICE_ID, 2), 0x8233);
	cr_assert_eq(cfg_rd(&t, 2, 1, 0, PCI_DEVICE_ID, 2), 0x8233);
	cr_assert_eq(cfg_rd(&t, 3, 0, 0, PCI_DEVICE_ID, 2), 0x0001);
	cr_assert_eq(cfg_rd(&t, 4, 0, 0, PCI_DEVICE_ID, 2), 0x0002);
	cr_assert_eq(cfg_rd(&t, 5, 0, 0, PCI_DEVICE_ID, 2), 0xffff);
	cr_assert_eq(cfg_rd(&t, 3, 1, 0, PCI_DEVICE_ID, 2), 0xffff);
}

Test(pci_cfg, guest_renumbering_takes_effect_at_once)
{
	topo_number_buses(&t);
	/* move dn1's secondary from 4 to 7: the root port and upstream port must cover it */
	cfg_wr(&t, 2, 1, 0, PCI_SECONDARY_BUS, 0x0707, 2);
	cr_assert_eq(cfg_rd(&t, 7, 0, 0, PCI_DEVICE_ID, 2), 0xffff);
	cfg_wr(&t, 1, 0, 0, PCI_SUBORDINATE_BUS, 7, 1);
	cfg_wr(&t, 0, 1, 0, PCI_SUBORDINATE_BUS, 7, 1);
	cr_assert_eq(cfg_rd(&t, 7, 0, 0, PCI_DEVICE_ID, 2), 0x0002);
	cr_assert_eq(cfg_rd(&t, 4, 0, 0, PCI_DEVICE_ID, 2), 0xffff);
	/* narrow the root port: everything below bus 1 disappears */
	cfg_wr(&t, 0, 1, 0, PCI_SUBORDINATE_BUS, 1, 1);
	cr_assert_eq(cfg_rd(&t, 3, 0, 0, PCI_DEVICE_ID, 2), 0xffff);
	cr_assert_eq(cfg_rd(&t, 1, 0, 0, PCI_DEVICE_ID, 2), 0x8232);
}

static uint32_t cf8_cycle(uint32_t addr, unsigned port, unsigned size, bool write, uint32_t v)
{
	pci_cf8_ops.write(&t.root, 0, addr, 4);
	if (write) {
		pci_cf8_ops.write(&t.root, 4 + port, v, size);
		return 0;
	}
	return (uint32_t)pci_cf8_ops.read(&t.root, 4 + port, size);
}

static uint32_t ecam_rd(int bus, int devfn, unsigned reg, unsigned size)
{
	return (uint32_t)pci_ecam_ops.read(&t.root,
					   (uint64_t)bus << 20 | (uint64_t)devfn << 12 | reg, size);
}

Test(pci_cfg, cf8_and_ecam_paths_agree)
{
	topo_number_buses(&t);
	for (int bus = 0; bus < 6; bus++)
		for (int devfn = 0; devfn < 16; devfn++)
			for (unsigned reg = 0; reg < 0x40; reg += 4) {
				uint32_t a = 0x80000000u | (uint32_t)bus << 16 |
					     (uint32_t)devfn << 8 | reg;

				cr_assert_eq(cf8_cycle(a, 0, 4, false, 0),
					     ecam_rd(bus, devfn, reg, 4));
				cr_assert_eq(cf8_cycle(a, 2, 2, false, 0),
					     ecam_rd(bus, devfn, reg + 2, 2));
				cr_assert_eq(cf8_cycle(a, 3, 1, false, 0),
					     ecam_rd(bus, devfn, reg + 3, 1));
			}
	/* a byte write through 0xCFD lands where ECAM sees it */
	cf8_cycle(0x80000000u | 3 << 16 | PCI_INTERRUPT_LINE, 0, 1, true, 0x5a);
	cr_assert_eq(ecam_rd(3, 0, PCI_INTERRUPT_LINE, 1), 0x5a);
	pci_ecam_ops.write(&t.root, 3 << 20 | PCI_INTERRUPT_LINE, 0xa5, 1);
	cr_assert_eq(cf8_cycle(0x80000000u | 3 << 16 | PCI_INTERRUPT_LINE, 0, 1, false, 0), 0xa5);
}

Test(pci_cfg, cf8_latch_needs_enable_and_dword_writes)
{
	pci_cf8_ops.write(&t.root, 0, 0x80000003u | 0x0f000000u, 4);
	/* reserved bits (incl. AMD extended register 27:24) and 1:0 are not kept */
	cr_assert_eq(pci_cf8_ops.read(&t.root, 0, 4), 0x80000000u);
	cr_assert_eq(pci_cf8_ops.read(&t.root, 4, 2), 0x8086);
	pci_cf8_ops.write(&t.root, 0, 0x00000000u, 4);
	cr_assert_eq(pci_cf8_ops.read(&t.root, 4, 4) & 0xffffffff, 0xffffffff); /* enable clear */
	pci_cf8_ops.write(&t.root, 0, 0x80000000u, 2); /* not a dword: not latched */
	cr_assert_eq(pci_cf8_ops.read(&t.root, 0, 4), 0);
	cr_assert_eq(pci_cf8_ops.read(&t.root, 1, 1) & 0xff, 0xff);
}

Test(pci_cfg, extended_config_space_only_through_ecam)
{
	uint16_t off = pci_add_ecap(&t.hb, PCI_EXT_CAP_ID_ERR, 2, 0x48);

	cr_assert_eq(off, 0x100);
	cr_assert_eq(ecam_rd(0, 0, 0x100, 4), 0x00020001);
	cr_assert_eq(ecam_rd(0, 0, 0xffc, 4), 0);
	/* CF8 register bits stop at 0xfc */
	cr_assert_eq(cf8_cycle(0x80000000u | 0xfc, 0, 4, false, 0), ecam_rd(0, 0, 0xfc, 4));
}

Test(pci_cfg, hostile_sizes_and_offsets_are_refused)
{
	cr_assert_eq(pci_config_read(&t.root, 0, 0, PCI_CFG_SIZE, 4), 0xffffffff);
	cr_assert_eq(pci_config_read(&t.root, 0, 0, PCI_CFG_SIZE - 2, 4), 0xffffffff);
	cr_assert_eq(pci_config_read(&t.root, 0, 0, 0, 3), 0xffffffff);
	cr_assert_eq(pci_config_read(&t.root, 0, 0, 0, 8), 0xffffffff);
	cr_assert_eq(pci_config_read(&t.root, 0, 0, 3, 2), 0xffffffff); /* crosses a dword */
	cr_assert_eq(pci_config_read(&t.root, 0, 0, 1, 2), 0xc080);	/* inside one: fine */
	pci_config_write(&t.root, 0, 0, 0xfff, 0xffffffff, 4);
	pci_config_write(&t.root, 0, 0, UINT32_MAX, 0xffffffff, 4);
	cr_assert_eq(ecam_rd(0, 0, 0, 8), 0xffffffff);
	cr_assert_eq(pci_ecam_ops.read(&t.root, MEM_ECAM_SIZE, 4), ~0ULL);
	cr_assert_eq(pci_cf8_ops.read(&t.root, 6, 4), ~0ULL); /* 0xCFE, 4 bytes: crosses */
}

static uint8_t walk_caps(struct pci_dev *d, uint8_t *ids, int max)
{
	int n = 0;

	cr_assert(pci_get16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST);
	for (uint8_t p = d->cfg[PCI_CAPABILITY_LIST]; p && n < max; p = d->cfg[p + 1]) {
		cr_assert_eq(p & 3, 0);
		cr_assert_geq(p, 0x40);
		ids[n++] = d->cfg[p];
	}
	return (uint8_t)n;
}

Test(pci_cfg, capability_chains_walk_in_order)
{
	uint8_t ids[8];
	uint16_t e1, e2, e3;

	cr_assert_eq(pci_add_cap(&t.ep[0], PCI_CAP_ID_PM, 8), 0x40);
	cr_assert_eq(pci_add_msi(&t.ep[0], true), 0);
	cr_assert_eq(t.ep[0].msi.cap, 0x48);
	t.ep[0].cap_next = 0x70; /* a fixed place, as the XIO3130 has */
	cr_assert_eq(pci_add_cap(&t.ep[0], PCI_CAP_ID_EXP, 0x3c), 0x70);
	cr_assert_eq(pci_add_cap(&t.ep[0], PCI_CAP_ID_SSVID, 6), 0xac);
	cr_assert_eq(pci_add_cap(&t.ep[0], PCI_CAP_ID_PM, 0x60), 0); /* would pass 0x100 */
	cr_assert_eq(walk_caps(&t.ep[0], ids, 8), 4);
	cr_assert_eq(ids[0], PCI_CAP_ID_PM);
	cr_assert_eq(ids[1], PCI_CAP_ID_MSI);
	cr_assert_eq(ids[2], PCI_CAP_ID_EXP);
	cr_assert_eq(ids[3], PCI_CAP_ID_SSVID);

	e1 = pci_add_ecap(&t.ep[0], PCI_EXT_CAP_ID_ERR, 2, 0x48);
	t.ep[0].ecap_next = 0x148;
	e2 = pci_add_ecap(&t.ep[0], PCI_EXT_CAP_ID_ACS, 1, 8);
	e3 = pci_add_ecap(&t.ep[0], 0x0b, 1, 0x10);
	cr_assert_eq(e1, 0x100);
	cr_assert_eq(e2, 0x148);
	cr_assert_eq(e3, 0x150);
	cr_assert_eq(pci_add_ecap(&t.ep[0], 0x0b, 1, 0xf00), 0);
	{
		uint16_t want[] = {PCI_EXT_CAP_ID_ERR, PCI_EXT_CAP_ID_ACS, 0x0b};
		unsigned off = 0x100;
		int n = 0;

		while (off) {
			uint32_t h = pci_get32(&t.ep[0], off);

			cr_assert_lt(n, 3);
			cr_assert_eq(h & 0xffff, want[n]);
			n++;
			off = h >> 20;
		}
		cr_assert_eq(n, 3);
		cr_assert_eq(pci_get32(&t.ep[0], 0x100) >> 16 & 0xf, 2);
	}
}
