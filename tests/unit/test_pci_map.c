/* SPDX-License-Identifier: MIT */
/* PCI core: effective BAR mappings through the bridges' windows, and DMA. */
#include <criterion/criterion.h>
#include <errno.h>

#include "test_pci_fake.h"

static struct topo t;
static struct guest_mem mem;

#define EP0_REGS 0xc0000000ULL
#define EP1_REGS 0xc0100000ULL
#define EP0_RAM	 0x800000000ULL
#define EP1_RAM	 0x804000000ULL

static void mem_window(int bus, int slot, uint64_t base, uint64_t limit)
{
	cfg_wr(&t, bus, slot, 0, PCI_MEMORY_BASE,
	       (uint32_t)((base >> 16) & 0xfff0) | (uint32_t)((limit >> 16) & 0xfff0) << 16, 4);
}

static void pref_window(int bus, int slot, uint64_t base, uint64_t limit)
{
	cfg_wr(&t, bus, slot, 0, PCI_PREF_MEMORY_BASE,
	       (uint32_t)((base >> 16) & 0xfff0) | (uint32_t)((limit >> 16) & 0xfff0) << 16, 4);
	cfg_wr(&t, bus, slot, 0, PCI_PREF_BASE_UPPER32, (uint32_t)(base >> 32), 4);
	cfg_wr(&t, bus, slot, 0, PCI_PREF_LIMIT_UPPER32, (uint32_t)(limit >> 32), 4);
}

static void set_bar64(int bus, int slot, int bar, uint64_t addr)
{
	cfg_wr(&t, bus, slot, 0, PCI_BASE_ADDRESS_0 + 4 * (unsigned)bar, (uint32_t)addr, 4);
	cfg_wr(&t, bus, slot, 0, PCI_BASE_ADDRESS_0 + 4 * (unsigned)bar + 4, (uint32_t)(addr >> 32),
	       4);
}

/* The whole tree programmed like firmware would, every decode enabled. */
static void program_tree(void)
{
	topo_number_buses(&t);
	mem_window(0, 1, 0xc0000000, 0xc01fffff);
	pref_window(0, 1, EP0_RAM, EP1_RAM + MiB(64) - 1);
	mem_window(1, 0, 0xc0000000, 0xc01fffff);
	pref_window(1, 0, EP0_RAM, EP1_RAM + MiB(64) - 1);
	mem_window(2, 0, EP0_REGS, EP0_REGS + MiB(1) - 1);
	pref_window(2, 0, EP0_RAM, EP0_RAM + MiB(64) - 1);
	mem_window(2, 1, EP1_REGS, EP1_REGS + MiB(1) - 1);
	pref_window(2, 1, EP1_RAM, EP1_RAM + MiB(64) - 1);
	cfg_wr(&t, 3, 0, 0, PCI_BASE_ADDRESS_0, (uint32_t)EP0_REGS, 4);
	set_bar64(3, 0, 2, EP0_RAM);
	cfg_wr(&t, 4, 0, 0, PCI_BASE_ADDRESS_0, (uint32_t)EP1_REGS, 4);
	set_bar64(4, 0, 2, EP1_RAM);
	cfg_wr(&t, 0, 1, 0, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	cfg_wr(&t, 1, 0, 0, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	cfg_wr(&t, 2, 0, 0, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	cfg_wr(&t, 2, 1, 0, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	cfg_wr(&t, 3, 0, 0, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	cfg_wr(&t, 4, 0, 0, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
}

static int hook_calls, hook_bar;
static uint64_t hook_addr;

static void record_bar_mapped(struct pci_dev *dev, int bar, uint64_t addr)
{
	hook_calls++;
	hook_bar = bar;
	hook_addr = addr;
}

static const struct pci_dev_ops hook_ops = {.bar_mapped = record_bar_mapped};

static void setup(void)
{
	char err[256];

	cr_assert_eq(mem_init(&mem, MiB(64), false, err, sizeof(err)), 0, "%s", err);
	topo_init(&t, &mem);
	topo_add_bars(&t);
	hook_calls = 0;
}

static void teardown(void)
{
	topo_fini(&t);
	mem_free(&mem);
}

TestSuite(pci_map, .init = setup, .fini = teardown);

static bool mapped_at(enum bus_space space, uint64_t addr, bool ram)
{
	struct fake_map *m = fake_find(&t.host, space, addr);

	return m && m->addr == addr && m->ram == ram;
}

Test(pci_map, nothing_is_mapped_before_decode_is_enabled)
{
	pci_update_mappings(&t.root);
	cr_assert_eq(fake_nmaps(&t.host), 0);
	cr_assert_eq(t.ep[0].bars[0].mapped_addr, ~0ULL);
}

Test(pci_map, bars_behind_two_bridge_levels_map_when_every_window_forwards)
{
	program_tree();
	cr_assert(mapped_at(BUS_MMIO, EP0_REGS, false));
	cr_assert(mapped_at(BUS_MMIO, EP1_REGS, false));
	cr_assert(mapped_at(BUS_MMIO, EP0_RAM, true));
	cr_assert(mapped_at(BUS_MMIO, EP1_RAM, true));
	cr_assert_eq(fake_nmaps(&t.host), 4);
	cr_assert_eq(t.ep[0].bars[2].mapped_addr, EP0_RAM);
	cr_assert(t.ep[0].bars[2].mapped_ram);
	cr_assert_not(t.ep[0].bars[0].mapped_ram);
}

Test(pci_map, trapped_bar_gets_offset_inside_the_bar)
{
	program_tree();
	fake_write(&t.host, BUS_MMIO, EP0_REGS + 0x1008, 0x1122334455667788ULL, 8);
	cr_assert_eq(t.regs[0].last_off, 0x1008);
	cr_assert_eq(t.regs[0].last_size, 8);
	cr_assert_eq(fake_read(&t.host, BUS_MMIO, EP0_REGS + 0x100c, 4), 0x11223344);
}

Test(pci_map, ram_bar_accesses_land_in_the_backing_memory)
{
	program_tree();
	fake_write(&t.host, BUS_MMIO, EP1_RAM + 0x40, 0xdeadbeef, 4);
	cr_assert_eq(bus_load_le(t.ram[1] + 0x40, 4), 0xdeadbeef);
}

Test(pci_map, clearing_a_bridge_memory_enable_unmaps_everything_below)
{
	program_tree();
	cfg_wr(&t, 1, 0, 0, PCI_COMMAND, 0, 2); /* switch upstream port */
	cr_assert_eq(fake_nmaps(&t.host), 0);
	cr_assert_eq(t.ep[1].bars[2].mapped_addr, ~0ULL);
	cfg_wr(&t, 1, 0, 0, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	cr_assert_eq(fake_nmaps(&t.host), 4);
}

Test(pci_map, window_moved_away_unmaps_and_moving_back_remaps)
{
	program_tree();
	mem_window(2, 0, 0xc0200000, 0xc02fffff); /* dn0 no longer covers ep0 BAR0 */
	cr_assert_not(mapped_at(BUS_MMIO, EP0_REGS, false));
	cr_assert(mapped_at(BUS_MMIO, EP0_RAM, true));
	mem_window(2, 0, EP0_REGS, EP0_REGS + MiB(1) - 1);
	cr_assert(mapped_at(BUS_MMIO, EP0_REGS, false));
}

Test(pci_map, bar_partly_outside_a_window_is_not_mapped)
{
	program_tree();
	/* the prefetchable window of dn1 one MiB too short */
	pref_window(2, 1, EP1_RAM, EP1_RAM + MiB(63) - 1);
	cr_assert_not(mapped_at(BUS_MMIO, EP1_RAM, true));
}

Test(pci_map, closed_window_forwards_nothing)
{
	program_tree();
	mem_window(0, 1, 0xc0100000, 0xc0000000); /* base > limit */
	cr_assert_not(mapped_at(BUS_MMIO, EP0_REGS, false));
	cr_assert_not(mapped_at(BUS_MMIO, EP1_REGS, false));
	cr_assert(mapped_at(BUS_MMIO, EP0_RAM, true));
}

Test(pci_map, memory_bar_may_sit_in_a_prefetchable_window)
{
	program_tree();
	mem_window(2, 0, 0xc0200000, 0xc02fffff);
	pref_window(2, 0, EP0_REGS, EP0_REGS + MiB(1) - 1); /* only ep0's registers */
	cr_assert(mapped_at(BUS_MMIO, EP0_REGS, false));
	cr_assert_not(mapped_at(BUS_MMIO, EP0_RAM, true));
}

Test(pci_map, sizing_unmaps_and_restoring_remaps)
{
	program_tree();
	cfg_wr(&t, 3, 0, 0, PCI_BASE_ADDRESS_0, 0xffffffff, 4);
	cr_assert_not(mapped_at(BUS_MMIO, EP0_REGS, false));
	cr_assert_eq(fake_find(&t.host, BUS_MMIO, 0xffffc000), NULL);
	cfg_wr(&t, 3, 0, 0, PCI_BASE_ADDRESS_0, (uint32_t)EP0_REGS, 4);
	cr_assert(mapped_at(BUS_MMIO, EP0_REGS, false));
	/* 64-bit: the lower half sized while the upper still holds 8 */
	cfg_wr(&t, 3, 0, 0, PCI_BASE_ADDRESS_0 + 8, 0xffffffff, 4);
	cr_assert_eq(t.ep[0].bars[2].mapped_addr, ~0ULL);
	cfg_wr(&t, 3, 0, 0, PCI_BASE_ADDRESS_0 + 12, 0xffffffff, 4);
	cr_assert_eq(t.ep[0].bars[2].mapped_addr, ~0ULL);
	set_bar64(3, 0, 2, EP0_RAM);
	cr_assert(mapped_at(BUS_MMIO, EP0_RAM, true));
}

Test(pci_map, zero_address_is_not_mapped)
{
	program_tree();
	cfg_wr(&t, 3, 0, 0, PCI_BASE_ADDRESS_0, 0, 4);
	cr_assert_eq(t.ep[0].bars[0].mapped_addr, ~0ULL);
}

Test(pci_map, host_sees_only_changes)
{
	int maps, unmaps;

	program_tree();
	maps = t.host.map_calls;
	unmaps = t.host.unmap_calls;
	cfg_wr(&t, 3, 0, 0, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	cfg_wr(&t, 0, 1, 0, PCI_MEMORY_BASE, 0xc010c000, 4);
	pci_update_mappings(&t.root);
	cr_assert_eq(t.host.map_calls, maps);
	cr_assert_eq(t.host.unmap_calls, unmaps);
	/* a BAR that moves is unmapped once and mapped once */
	mem_window(2, 0, EP0_REGS, EP0_REGS + MiB(1) - 1);
	cfg_wr(&t, 3, 0, 0, PCI_BASE_ADDRESS_0, (uint32_t)EP0_REGS + 0x4000, 4);
	cr_assert_eq(t.host.map_calls, maps + 1);
	cr_assert_eq(t.host.unmap_calls, unmaps + 1);
	cr_assert(mapped_at(BUS_MMIO, EP0_REGS + 0x4000, false));
}

Test(pci_map, bar_mapped_hook_reports_map_and_unmap)
{
	t.ep[1].ops = &hook_ops;
	program_tree();
	cr_assert_eq(hook_calls, 2);
	cfg_wr(&t, 4, 0, 0, PCI_COMMAND, PCI_COMMAND_MASTER, 2);
	cr_assert_eq(hook_calls, 4);
	cr_assert_eq(hook_addr, ~0ULL);
	cfg_wr(&t, 4, 0, 0, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	cr_assert_eq(hook_calls, 6);
	cr_assert_eq(hook_bar, 2);
	cr_assert_eq(hook_addr, EP1_RAM);
}

Test(pci_map, overlapping_bars_map_the_first_and_survive)
{
	static struct pci_dev a, b;

	pci_dev_init(&a, "a", 0x1234, 1, 0xff0000, 0, false);
	pci_dev_init(&b, "b", 0x1234, 2, 0xff0000, 0, false);
	cr_assert_eq(
		pci_dev_set_bar(&a, 0, PCI_BAR_MEM32, false, KiB(8), &regs_ops, &t.regs[0], NULL),
		0);
	cr_assert_eq(
		pci_dev_set_bar(&b, 0, PCI_BAR_MEM32, false, KiB(4), &regs_ops, &t.regs[1], NULL),
		0);
	cr_assert_eq(pci_bus_add(&t.root.bus0, &a, PCI_DEVFN(4, 0)), 0);
	cr_assert_eq(pci_bus_add(&t.root.bus0, &b, PCI_DEVFN(5, 0)), 0);
	cfg_wr(&t, 0, 4, 0, PCI_BASE_ADDRESS_0, 0xd0000000, 4);
	cfg_wr(&t, 0, 5, 0, PCI_BASE_ADDRESS_0, 0xd0001000, 4);
	cfg_wr(&t, 0, 4, 0, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	cfg_wr(&t, 0, 5, 0, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	cr_assert_eq(a.bars[0].mapped_addr, 0xd0000000);
	cr_assert_eq(b.bars[0].mapped_addr, ~0ULL);
	cr_assert_eq(fake_nmaps(&t.host), 1);
	/* the first one moves away: the second one gets its place */
	cfg_wr(&t, 0, 4, 0, PCI_BASE_ADDRESS_0, 0xd0010000, 4);
	cr_assert_eq(a.bars[0].mapped_addr, 0xd0010000);
	cr_assert_eq(b.bars[0].mapped_addr, 0xd0001000);
}

Test(pci_map, io_bar_needs_io_enable_and_the_io_windows)
{
	static struct pci_dev d;

	pci_dev_init(&d, "io", 0x1234, 3, 0xff0000, 0, false);
	cr_assert_eq(pci_dev_set_bar(&d, 1, PCI_BAR_IO, false, 64, &regs_ops, &t.regs[0], NULL), 0);
	cr_assert_eq(pci_bus_add(&t.dn_bus[1], &d, PCI_DEVFN(0, 1)), 0);
	program_tree();
	cfg_wr(&t, 4, 0, 1, PCI_BASE_ADDRESS_0 + 4, 0x2040, 4);
	cfg_wr(&t, 4, 0, 1, PCI_COMMAND, PCI_COMMAND_IO, 2);
	cr_assert_eq(d.bars[1].mapped_addr, ~0ULL); /* bridges' I/O decode is off */
	cfg_wr(&t, 0, 1, 0, PCI_IO_BASE, 0x2020, 2);
	cfg_wr(&t, 1, 0, 0, PCI_IO_BASE, 0x2020, 2);
	cfg_wr(&t, 2, 1, 0, PCI_IO_BASE, 0x2020, 2);
	cr_assert_eq(d.bars[1].mapped_addr, ~0ULL);
	cfg_wr(&t, 0, 1, 0, PCI_COMMAND, 7, 2);
	cfg_wr(&t, 1, 0, 0, PCI_COMMAND, 7, 2);
	cfg_wr(&t, 2, 1, 0, PCI_COMMAND, 7, 2);
	cr_assert_eq(d.bars[1].mapped_addr, 0x2040);
	cr_assert(mapped_at(BUS_PIO, 0x2040, false));
	fake_write(&t.host, BUS_PIO, 0x2042, 0xab, 1);
	cr_assert_eq(t.regs[0].last_off, 2);
	/* the sibling bridge's I/O window does not forward it */
	cfg_wr(&t, 2, 1, 0, PCI_IO_BASE, 0x3030, 2);
	cr_assert_eq(d.bars[1].mapped_addr, ~0ULL);
}

Test(pci_map, io_bar_above_64k_is_not_mapped)
{
	cr_assert_eq(pci_dev_set_bar(&t.hb, 0, PCI_BAR_IO, false, 16, &regs_ops, &t.regs[0], NULL),
		     0);
	cfg_wr(&t, 0, 0, 0, PCI_BASE_ADDRESS_0, 0x10000, 4);
	cfg_wr(&t, 0, 0, 0, PCI_COMMAND, PCI_COMMAND_IO, 2);
	cr_assert_eq(t.hb.bars[0].mapped_addr, ~0ULL);
	cfg_wr(&t, 0, 0, 0, PCI_BASE_ADDRESS_0, 0xfff0, 4);
	cr_assert_eq(t.hb.bars[0].mapped_addr, 0xfff0);
}

/* ---- DMA ---- */

Test(pci_map, dma_reaches_guest_ram)
{
	uint8_t buf[16] = "hello, dma";

	program_tree();
	cr_assert_eq(pci_dma_write(&t.ep[0], 0x1000, buf, sizeof(buf)), 0);
	cr_assert_eq(memcmp(mem_gpa_to_hva(&mem, 0x1000, 16), buf, 16), 0);
	memset(buf, 0, sizeof(buf));
	cr_assert_eq(pci_dma_read(&t.ep[0], 0x1000, buf, sizeof(buf)), 0);
	cr_assert_str_eq((char *)buf, "hello, dma");
	cr_assert_eq(pci_dma_map(&t.ep[0], 0x1000, 16), mem_gpa_to_hva(&mem, 0x1000, 16));
}

Test(pci_map, dma_reaches_a_peer_ram_bar)
{
	uint32_t v = 0x5a5aa5a5;

	program_tree();
	cr_assert_eq(pci_dma_write(&t.ep[1], EP0_RAM + 0x200, &v, 4), 0);
	cr_assert_eq(bus_load_le(t.ram[0] + 0x200, 4), 0x5a5aa5a5);
	cr_assert_eq(pci_dma_map(&t.ep[1], EP0_RAM + MiB(64) - 8, 8), t.ram[0] + MiB(64) - 8);
}

Test(pci_map, dma_is_refused_where_nothing_backs_it)
{
	uint8_t b[8];

	program_tree();
	cr_assert_null(pci_dma_map(&t.ep[1], EP0_REGS, 4));		 /* trapped registers */
	cr_assert_null(pci_dma_map(&t.ep[1], 0xe0000000, 4));		 /* a hole */
	cr_assert_null(pci_dma_map(&t.ep[1], EP0_RAM + MiB(64) - 4, 8)); /* runs past the BAR */
	cr_assert_null(pci_dma_map(&t.ep[1], MiB(64) - 4, 8));		 /* runs past RAM */
	cr_assert_null(pci_dma_map(&t.ep[1], UINT64_MAX - 3, 8));	 /* wraps */
	cr_assert_null(pci_dma_map(&t.ep[1], 0x1000, UINT64_MAX));
	cr_assert_eq(pci_dma_read(&t.ep[1], 0xe0000000, b, 8), -EFAULT);
	cr_assert_eq(pci_dma_write(&t.ep[1], 0xe0000000, b, 8), -EFAULT);
}

Test(pci_map, dma_into_an_unmapped_peer_bar_is_refused)
{
	program_tree();
	cfg_wr(&t, 3, 0, 0, PCI_COMMAND, PCI_COMMAND_MASTER, 2); /* ep0 memory decode off */
	cr_assert_null(pci_dma_map(&t.ep[1], EP0_RAM, 4));
}

Test(pci_map, dma_needs_bus_mastering)
{
	program_tree();
	cfg_wr(&t, 3, 0, 0, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	cr_assert_null(pci_dma_map(&t.ep[0], 0x1000, 4));
	cr_assert_null(pci_dma_map(&t.ep[0], EP1_RAM, 4));
	cr_assert_not_null(pci_dma_map(&t.ep[1], 0x1000, 4));
}

/* A trapped BAR with a DMA hook (how NTB windows take DMA): records and serves a buffer. */
static uint8_t hook_buf[KiB(16)];
static int hook_dma_calls;
static uint64_t hook_dma_off, hook_dma_len;
static bool hook_dma_write_seen;

static int hook_dma(void *opaque, uint64_t off, void *buf, uint64_t len, bool write)
{
	cr_assert_eq(opaque, &t.regs[0], "the BAR's own opaque");
	hook_dma_calls++;
	hook_dma_off = off;
	hook_dma_len = len;
	hook_dma_write_seen = write;
	if (write)
		memcpy(hook_buf + off, buf, len);
	else
		memcpy(buf, hook_buf + off, len);
	return 0;
}

Test(pci_map, dma_reaches_a_trapped_bar_through_its_dma_hook)
{
	uint8_t b[8] = "abcdefg";

	cr_assert_eq(pci_dev_set_bar_dma(&t.ep[0], 0, hook_dma), 0);
	program_tree();
	cr_assert_eq(pci_dma_write(&t.ep[1], EP0_REGS + 0x100, b, 8), 0);
	cr_assert_eq(hook_dma_calls, 1);
	cr_assert_eq(hook_dma_off, 0x100);
	cr_assert_eq(hook_dma_len, 8);
	cr_assert(hook_dma_write_seen);
	cr_assert_str_eq((char *)hook_buf + 0x100, "abcdefg");
	cr_assert_eq(t.regs[0].writes, 0, "not through the register handler");
	memset(b, 0, sizeof(b));
	cr_assert_eq(pci_dma_read(&t.ep[1], EP0_REGS + 0x100, b, 8), 0);
	cr_assert_str_eq((char *)b, "abcdefg");
	cr_assert_not(hook_dma_write_seen);
	/* the raw-pointer path still says no: the owner must copy under its own lock */
	cr_assert_null(pci_dma_map(&t.ep[1], EP0_REGS + 0x100, 8));
	/* the last byte of the BAR, and one byte past it */
	cr_assert_eq(pci_dma_write(&t.ep[1], EP0_REGS + KiB(16) - 1, b, 1), 0);
	cr_assert_eq(pci_dma_write(&t.ep[1], EP0_REGS + KiB(16) - 1, b, 2), -EFAULT);
	cr_assert_eq(hook_dma_calls, 3);
}

Test(pci_map, dma_hook_is_refused_to_its_own_function_unmapped_bars_and_non_masters)
{
	uint8_t b[4] = {0};

	cr_assert_eq(pci_dev_set_bar_dma(&t.ep[0], 0, hook_dma), 0);
	program_tree();
	cr_assert_eq(pci_dma_write(&t.ep[0], EP0_REGS, b, 4), -EFAULT, "its own BAR");
	cfg_wr(&t, 4, 0, 0, PCI_COMMAND, PCI_COMMAND_MEMORY, 2); /* ep1: no bus mastering */
	cr_assert_eq(pci_dma_write(&t.ep[1], EP0_REGS, b, 4), -EFAULT);
	cfg_wr(&t, 4, 0, 0, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	cfg_wr(&t, 3, 0, 0, PCI_COMMAND, PCI_COMMAND_MASTER, 2); /* ep0: decode off */
	cr_assert_eq(pci_dma_write(&t.ep[1], EP0_REGS, b, 4), -EFAULT, "BAR not mapped");
	cr_assert_eq(pci_dma_write(&t.ep[1], UINT64_MAX - 1, b, 4), -EFAULT, "wraps");
	cr_assert_eq(hook_dma_calls, 0);
}

Test(pci_map, dma_hook_only_on_trapped_memory_bars)
{
	cr_assert_eq(pci_dev_set_bar_dma(&t.ep[0], 2, hook_dma), -EINVAL, "RAM-backed BAR");
	cr_assert_eq(pci_dev_set_bar_dma(&t.ep[0], 1, hook_dma), -EINVAL, "no BAR there");
	cr_assert_eq(pci_dev_set_bar_dma(&t.ep[0], 6, hook_dma), -EINVAL);
	cr_assert_eq(pci_dev_set_bar_dma(&t.ep[0], 0, hook_dma), 0);
}

/* ---- a link that goes down (pci_bridge_set_link; PCIe 5.0 2.9.1 DL_Down) ---- */

static void set_link(struct pci_dev *port, bool up)
{
	pthread_mutex_lock(&t.root.lock);
	pci_bridge_set_link(port, up);
	pthread_mutex_unlock(&t.root.lock);
}

Test(pci_map, a_link_down_hides_the_function_below_and_coming_back_restores_it)
{
	program_tree();
	set_link(&t.dn[0], false);
	/* config requests below end as Unsupported Request: all ones, writes dropped */
	cr_assert_eq(cfg_rd(&t, 3, 0, 0, PCI_VENDOR_ID, 2), 0xffff);
	cr_assert_eq(cfg_rd(&t, 3, 0, 0, PCI_COMMAND, 4), 0xffffffff);
	cfg_wr(&t, 3, 0, 0, PCI_COMMAND, 0, 2);
	/* the port itself and the other branch answer */
	cr_assert_eq(cfg_rd(&t, 2, 0, 0, PCI_VENDOR_ID, 2), 0x104c);
	cr_assert_eq(cfg_rd(&t, 4, 0, 0, PCI_VENDOR_ID, 2), 0x1234);
	/* its BARs decode nothing; ep1's stay */
	cr_assert_not(mapped_at(BUS_MMIO, EP0_REGS, false));
	cr_assert_not(mapped_at(BUS_MMIO, EP0_RAM, true));
	cr_assert(mapped_at(BUS_MMIO, EP1_REGS, false));
	cr_assert(mapped_at(BUS_MMIO, EP1_RAM, true));
	cr_assert_eq(fake_read(&t.host, BUS_MMIO, EP0_REGS, 4), ~0ULL, "nothing decodes it");
	cr_assert_not(pci_dev_link_up(&t.ep[0]));
	cr_assert(pci_dev_link_up(&t.ep[1]));

	set_link(&t.dn[0], true);
	cr_assert_eq(cfg_rd(&t, 3, 0, 0, PCI_VENDOR_ID, 2), 0x1234);
	cr_assert_eq(cfg_rd(&t, 3, 0, 0, PCI_COMMAND, 2), PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER,
		     "a write while the link was down reached the function");
	cr_assert(mapped_at(BUS_MMIO, EP0_REGS, false));
	cr_assert(mapped_at(BUS_MMIO, EP0_RAM, true));
	cr_assert_eq(fake_nmaps(&t.host), 4);
}

Test(pci_map, a_link_down_at_the_root_port_hides_the_whole_switch)
{
	program_tree();
	set_link(&t.rp, false);
	for (int bus = 1; bus <= 4; bus++)
		cr_assert_eq(cfg_rd(&t, bus, 0, 0, PCI_VENDOR_ID, 2), 0xffff, "bus %d", bus);
	cr_assert_eq(fake_nmaps(&t.host), 0);
	cr_assert_not(pci_dev_link_up(&t.ep[1]));
	cr_assert_not(pci_dev_link_up(&t.dn[0]));
	cr_assert(pci_dev_link_up(&t.rp), "the port's own side of the link is on bus 0");
	set_link(&t.rp, true);
	cr_assert_eq(fake_nmaps(&t.host), 4);
	cr_assert_eq(cfg_rd(&t, 4, 0, 0, PCI_VENDOR_ID, 2), 0x1234);
}

Test(pci_map, nothing_from_below_a_link_that_is_down_reaches_memory)
{
	uint8_t buf[8] = "payload";

	program_tree();
	set_link(&t.dn[0], false);
	cr_assert_eq(pci_dma_write(&t.ep[0], 0x1000, buf, sizeof(buf)), -EFAULT);
	cr_assert_eq(pci_dma_read(&t.ep[0], 0x1000, buf, sizeof(buf)), -EFAULT);
	cr_assert_null(pci_dma_map(&t.ep[0], 0x1000, 8));
	cr_assert_neq(memcmp(mem_gpa_to_hva(&mem, 0x1000, 8), "payload", 8), 0);
	/* nor does anything reach its RAM BAR from the other side */
	cr_assert_null(pci_dma_map(&t.ep[1], EP0_RAM, 8));
	cr_assert_eq(pci_dma_write(&t.ep[1], 0x1000, buf, sizeof(buf)), 0);

	set_link(&t.dn[0], true);
	cr_assert_eq(pci_dma_write(&t.ep[0], 0x2000, buf, sizeof(buf)), 0);
	cr_assert_eq(memcmp(mem_gpa_to_hva(&mem, 0x2000, 8), "payload", 8), 0);
	cr_assert_eq(pci_dma_map(&t.ep[1], EP0_RAM, 8), t.ram[0]);
}

Test(pci_map, an_msi_from_below_a_link_that_is_down_is_lost)
{
	unsigned cap;

	cr_assert_eq(pci_add_msi(&t.ep[0], false), 0);
	cap = t.ep[0].msi.cap;
	program_tree();
	cfg_wr(&t, 3, 0, 0, cap + PCI_MSI_ADDRESS_LO, 0xfee00000, 4);
	cfg_wr(&t, 3, 0, 0, cap + PCI_MSI_DATA_64, 0x41, 2);
	cfg_wr(&t, 3, 0, 0, cap + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE, 2);
	cr_assert(pci_notify(&t.ep[0], 0));
	cr_assert_eq(t.host.nmsi, 1);

	set_link(&t.dn[0], false);
	cr_assert(pci_notify(&t.ep[0], 0), "the device raised it; the link lost it");
	cr_assert_eq(t.host.nmsi, 1);

	set_link(&t.dn[0], true);
	cr_assert(pci_notify(&t.ep[0], 0));
	cr_assert_eq(t.host.nmsi, 2);
	cr_assert_eq(t.host.msi_data[1], 0x41);
}
