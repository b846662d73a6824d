/* SPDX-License-Identifier: MIT */
/* The IDT NT function: two of them over one real shared switch state (memfd), as the Linux
 * ntb_hw_idt driver sees them through BAR0, config space and GASA. */
#include "tests/unit/test_ntb.h"

static struct side A, B; /* A on port 0 (partition 0), B on port 2 (partition 1) */

static void setup_pair(void)
{
	side_init(&A, 0);
	side_init(&B, 2);
	pair_up(&A, &B);
}

static void teardown_pair(void)
{
	if (B.ntb)
		side_fini(&B);
	side_fini(&A);
}

static void setup_alone(void)
{
	side_init(&A, 0);
}

static void teardown_alone(void)
{
	side_fini(&A);
}

TestSuite(ntb_alone, .init = setup_alone, .fini = teardown_alone);
TestSuite(ntb_pair, .init = setup_pair, .fini = teardown_pair);

Test(ntb_alone, identity_and_barsetup0_in_config_space)
{
	cr_assert_eq(cfg_read(&A, 0, 4), 0x8091111du);
	cr_assert_eq(cfg_read(&A, PCI_REVISION_ID, 4) >> 8, 0x068000u);
	/* idt_check_setup: EN, MODE_CFG, SIZE 0xC0 (4 KiB) */
	cr_assert_eq(cfg_read(&A, IDT_NT_BARSETUP0, 4), 0x800004c0u);
	/* BAR0 aliases the configuration space */
	cr_assert_eq(nt_rd(&A, 0), 0x8091111du);
	cr_assert_eq(nt_rd(&A, IDT_NT_PCIELCAP) >> 24, 0u);
	cr_assert_eq((nt_rd(&A, IDT_NT_PCIELCTLSTS) >> 16) & 0xf, 2u);	/* Gen2 */
	cr_assert_eq((nt_rd(&A, IDT_NT_PCIELCTLSTS) >> 20) & 0x3f, 4u); /* x4 */
	cr_assert_eq(nt_rd(&A, IDT_NT_PCICMDSTS) & IDT_PCICMDSTS_BME, IDT_PCICMDSTS_BME);
	cr_assert_eq(cfg_read(&A, PCI_INTERRUPT_PIN, 1), 1u);
	cr_assert_eq(cfg_read(&A, IDT_NT_MSICAP, 1), PCI_CAP_ID_MSI);
	/* BAR2: 64-bit prefetchable, BARSETUP2 describes a 1 MiB DIR window */
	cr_assert_eq(nt_rd(&A, IDT_NT_BARSETUP0 + 0x20), 0x8000000cu | 20u << 4);
	cr_assert_eq(nt_rd(&A, IDT_NT_BARSETUP0 + 0x40), 0x8000000cu | 16u << 4);
	cr_assert_eq(nt_rd(&A, IDT_NT_BARSETUP0 + 0x10), 0u);
}

Test(ntb_alone, static_switch_state_reads_correctly_with_the_peer_absent)
{
	uint32_t p0 = sw_rd(&A, IDT_SW_SWPORT0STS), p2 = sw_rd(&A, IDT_SW_SWPORT0STS + 0x40);

	cr_assert_eq(p0, IDT_SWPORTxSTS_LINKUP | IDT_SWPORTxSTS_MODE_NT | 0u << 10);
	cr_assert_eq(p2, IDT_SWPORTxSTS_MODE_NT | 1u << 10, "port 2: NT, partition 1, link down");
	for (unsigned port = 4; port <= 12; port += port == 8 ? 4 : 2)
		cr_assert_eq(sw_rd(&A, IDT_SW_SWPORT0STS + 0x20 * port) & 0x3c0, 0u,
			     "port %u is not an NT port", port);
	cr_assert_eq(sw_rd(&A, IDT_SW_SWPART0STS) & 0x60, IDT_SWPARTxSTS_STATE_ACT);
	cr_assert_eq(sw_rd(&A, IDT_SW_SWPART0STS + 0x20) & 0x60, IDT_SWPARTxSTS_STATE_ACT);
	cr_assert_eq(sw_rd(&A, IDT_SW_SWPART0STS + 0x40) & 0x60, 0u);
	/* idt_scan_mws of the peer port through the global mirror */
	cr_assert_eq(sw_rd(&A, 0x5470), 0x800004c0u);
	cr_assert_eq(sw_rd(&A, 0x5490), 0x8000000cu | 20u << 4);
	cr_assert_eq(sw_rd(&A, 0x54b0), 0x8000000cu | 16u << 4);
	cr_assert_eq(sw_rd(&A, 0x5004) & IDT_PCICMDSTS_BME, 0u);
	/* own port through the mirror = own registers */
	cr_assert_eq(sw_rd(&A, 0x1490), nt_rd(&A, IDT_NT_BARSETUP0 + 0x20));
	cr_assert_eq(sw_rd(&A, 0x1004), nt_rd(&A, IDT_NT_PCICMDSTS));
	/* the driver finds its peer but its link is down */
	cr_assert_not(link_is_up(&A, 2));
}

Test(ntb_alone, temperature_is_plausible_and_tmpctl_writable)
{
	uint32_t t = sw_rd(&A, IDT_SW_TMPSTS);
	unsigned cur = t & 0xff, low = (t >> 8) & 0xff, high = (t >> 16) & 0xff;

	cr_assert(cur / 2 >= 20 && cur / 2 <= 80, "%u", cur);
	cr_assert(low <= cur && cur <= high);
	sw_wr(&A, IDT_SW_TMPCTL, 0);
	cr_assert_eq(sw_rd(&A, IDT_SW_TMPCTL), 0u);
	sw_wr(&A, IDT_SW_TMPADJ, 0x7);
	cr_assert_eq(sw_rd(&A, IDT_SW_TMPADJ), 0x7u);
}

Test(ntb_alone, rejects_bad_ports_and_sizes)
{
	struct ntb_config c = {.name = "x", .port = 1, .mw_size = {T_MW2, 0}};
	char err[200];

	cr_assert_null(ntb_create(&c, NULL, NULL, err, sizeof(err)));
	c.port = 2;
	c.mw_size[1] = 3000;
	cr_assert_null(ntb_create(&c, NULL, NULL, err, sizeof(err)));
	cr_assert(strstr(err, "BAR4"));
}

Test(ntb_pair, link_rules_every_combination_of_bme_cpen_valid)
{
	for (int m = 0; m < 64; m++) {
		bool a_bme = m & 1, a_cpen = m & 2, a_valid = m & 4;
		bool b_bme = m & 8, b_cpen = m & 16, b_valid = m & 32;
		bool a_up = a_bme && a_cpen && a_valid, b_up = b_bme && b_cpen && b_valid;

		set_bme(&A, a_bme);
		set_bme(&B, b_bme);
		link_enable(&A, a_cpen, a_valid);
		link_enable(&B, b_cpen, b_valid);
		cr_assert_eq(local_link_up(&A), a_up, "combination %d", m);
		cr_assert_eq(local_link_up(&B), b_up, "combination %d", m);
		cr_assert_eq(peer_link_up(&A, 2), b_up, "combination %d", m);
		cr_assert_eq(peer_link_up(&B, 0), a_up, "combination %d", m);
		cr_assert_eq(link_is_up(&A, 2), a_up && b_up, "combination %d", m);
		cr_assert_eq(link_is_up(&B, 0), a_up && b_up, "combination %d", m);
	}
}

Test(ntb_pair, mapping_table_is_switch_global)
{
	nt_wr(&A, IDT_NT_NTMTBLADDR, 7);
	nt_wr(&A, IDT_NT_NTMTBLDATA, 0x12345 | IDT_NTMTBLDATA_VALID);
	nt_wr(&B, IDT_NT_NTMTBLADDR, 7);
	cr_assert_eq(nt_rd(&B, IDT_NT_NTMTBLDATA), 0x12345u);
	cr_assert_eq(nt_rd(&A, IDT_NT_REQIDCAP), T_DEVFN);
}

Test(ntb_pair, doorbell_bits_map_to_the_peer_and_clear_by_writing_ones)
{
	nt_wr(&A, IDT_NT_OUTDBELLSET, 0x80000005u);
	cr_assert_eq(nt_rd(&B, IDT_NT_INDBELLSTS), 0x80000005u);
	cr_assert_eq(nt_rd(&A, IDT_NT_INDBELLSTS), 0u);
	cr_assert_eq(nt_rd(&A, IDT_NT_OUTDBELLSET), 0u);
	cr_assert_eq(sw_rd(&A, IDT_SW_GDBELLSTS), 0x80000005u);
	nt_wr(&B, IDT_NT_INDBELLSTS, 0x1);
	cr_assert_eq(nt_rd(&B, IDT_NT_INDBELLSTS), 0x80000004u);
	nt_wr(&B, IDT_NT_OUTDBELLSET, 0x10);
	cr_assert_eq(nt_rd(&A, IDT_NT_INDBELLSTS), 0x10u);
	nt_wr(&B, IDT_NT_INDBELLSTS, 0xffffffffu);
	cr_assert_eq(nt_rd(&B, IDT_NT_INDBELLSTS), 0u);
}

Test(ntb_pair, interrupt_on_rising_edge_and_on_unmasking_pending_bits)
{
	side_enable_msi(&B);
	driver_init(&B);
	nt_wr(&B, IDT_NT_INDBELLMSK, 0xffffffffu);
	ntb_service(B.ntb);
	cr_assert_eq(B.host.nmsi, 0);

	/* masked doorbell: status set, no DBELL, no interrupt */
	nt_wr(&A, IDT_NT_OUTDBELLSET, 0x1);
	ntb_service(B.ntb);
	cr_assert_eq(nt_rd(&B, IDT_NT_INDBELLSTS), 1u);
	cr_assert_eq(nt_rd(&B, IDT_NT_NTINTSTS) & IDT_NTINTSTS_DBELL, 0u);
	cr_assert_eq(B.host.nmsi, 0);
	/* unmasking the pending bit raises it */
	nt_wr(&B, IDT_NT_INDBELLMSK, ~0x1u);
	cr_assert_eq(B.host.nmsi, 1);
	cr_assert_eq(B.host.msi_data[0], T_MSI_DATA);
	cr_assert_eq(nt_rd(&B, IDT_NT_NTINTSTS) & IDT_NTINTSTS_DBELL, IDT_NTINTSTS_DBELL);
	/* more doorbells while DBELL is up: no new edge */
	nt_wr(&B, IDT_NT_INDBELLMSK, 0);
	nt_wr(&A, IDT_NT_OUTDBELLSET, 0x6);
	ntb_service(B.ntb);
	cr_assert_eq(B.host.nmsi, 1);
	/* clear everything, ring again: 0 -> non-zero */
	nt_wr(&B, IDT_NT_INDBELLSTS, 0x7);
	cr_assert_eq(nt_rd(&B, IDT_NT_NTINTSTS), 0u);
	nt_wr(&A, IDT_NT_OUTDBELLSET, 0x8);
	ntb_service(B.ntb);
	cr_assert_eq(B.host.nmsi, 2);
	/* NTINTMSK masks the whole cause; unmasking raises */
	nt_wr(&B, IDT_NT_INDBELLSTS, 0x8);
	nt_wr(&B, IDT_NT_NTINTMSK, IDT_NTINTSTS_DBELL);
	nt_wr(&A, IDT_NT_OUTDBELLSET, 0x8);
	ntb_service(B.ntb);
	cr_assert_eq(B.host.nmsi, 2);
	nt_wr(&B, IDT_NT_NTINTMSK, 0);
	cr_assert_eq(B.host.nmsi, 3);
	/* a different cause while DBELL is pending: the driver expects another interrupt */
	sw_wr(&A, IDT_SW_SWP0MSGCTL0, 1u << 4);
	nt_wr(&B, IDT_NT_MSGSTSMSK, 0);
	nt_wr(&A, IDT_NT_OUTMSG0, 42);
	ntb_service(B.ntb);
	cr_assert_eq(B.host.nmsi, 4);
	cr_assert_eq(nt_rd(&B, IDT_NT_NTINTSTS), IDT_NTINTSTS_DBELL | IDT_NTINTSTS_MSG);
}

Test(ntb_pair, intx_follows_pending_when_msi_is_off)
{
	uint32_t gsi = pci_intx_gsi(ntb_pci(B.ntb));

	driver_init(&B);
	nt_wr(&B, IDT_NT_INDBELLMSK, 0);
	cr_assert_eq(B.host.gsi_level[gsi], 0);
	nt_wr(&A, IDT_NT_OUTDBELLSET, 0x3);
	ntb_service(B.ntb);
	cr_assert_eq(B.host.gsi_level[gsi], 1);
	cr_assert_eq(B.host.nmsi, 0);
	nt_wr(&B, IDT_NT_INDBELLSTS, 0x1);
	cr_assert_eq(B.host.gsi_level[gsi], 1);
	nt_wr(&B, IDT_NT_INDBELLSTS, 0x2);
	cr_assert_eq(B.host.gsi_level[gsi], 0);
}

Test(ntb_pair, messages_route_by_msgctl_and_a_full_inbox_refuses)
{
	/* idt_ntb_peer_msg_write(pidx, midx 0): SWP0MSGCTL0 = REG 2 | PART 1 */
	sw_wr(&A, IDT_SW_SWP0MSGCTL0, 2 | 1u << 4);
	cr_assert_eq(sw_rd(&B, IDT_SW_SWP0MSGCTL0), 0x12u, "routing table is switch-global");
	nt_wr(&A, IDT_NT_OUTMSG0, 0xdeadbeefu);
	cr_assert_eq(nt_rd(&B, IDT_NT_INMSG0 + 8), 0xdeadbeefu);
	cr_assert_eq(nt_rd(&B, IDT_NT_INMSGSRC0 + 8), 0u, "source partition 0");
	cr_assert_eq(nt_rd(&B, IDT_NT_MSGSTS), 1u << 18);
	cr_assert_eq(nt_rd(&A, IDT_NT_MSGSTS), 0u);
	cr_assert_eq(nt_rd(&A, IDT_NT_OUTMSG0), 0xdeadbeefu);
	/* inbox 2 still full: refused, flagged in the sender's MSGSTS.OUT[0] */
	nt_wr(&A, IDT_NT_OUTMSG0, 0x1234);
	cr_assert_eq(nt_rd(&B, IDT_NT_INMSG0 + 8), 0xdeadbeefu);
	cr_assert_eq(nt_rd(&A, IDT_NT_MSGSTS), 1u);
	/* the receiver frees the inbox, the sender clears its flag and retries */
	nt_wr(&B, IDT_NT_MSGSTS, 1u << 18);
	nt_wr(&A, IDT_NT_MSGSTS, 1u);
	cr_assert_eq(nt_rd(&A, IDT_NT_MSGSTS), 0u);
	nt_wr(&A, IDT_NT_OUTMSG0, 0x1234);
	cr_assert_eq(nt_rd(&B, IDT_NT_INMSG0 + 8), 0x1234u);
	/* the other way: B's message 3 to A's inbox 3 */
	sw_wr(&B, IDT_SW_SWP0MSGCTL0 + 0x60 + 4, 3 | 0u << 4);
	nt_wr(&B, IDT_NT_OUTMSG0 + 12, 77);
	cr_assert_eq(nt_rd(&A, IDT_NT_INMSG0 + 12), 77u);
	cr_assert_eq(nt_rd(&A, IDT_NT_INMSGSRC0 + 12), 1u);
	cr_assert_eq(nt_rd(&A, IDT_NT_MSGSTS), 1u << 19);
}

Test(ntb_pair, global_signal_raises_sevent_on_the_peer_only)
{
	side_enable_msi(&A);
	side_enable_msi(&B);
	driver_init(&A);
	driver_init(&B);
	ntb_service(A.ntb);
	ntb_service(B.ntb);
	A.host.nmsi = B.host.nmsi = 0;

	nt_wr(&A, IDT_NT_NTGSIGNAL, IDT_NTGSIGNAL_SET);
	ntb_service(B.ntb);
	cr_assert_eq(nt_rd(&B, IDT_NT_NTINTSTS), IDT_NTINTSTS_SEVENT);
	cr_assert_eq(B.host.nmsi, 1);
	cr_assert_eq(nt_rd(&A, IDT_NT_NTINTSTS), 0u);
	cr_assert_eq(A.host.nmsi, 0);
	cr_assert_eq(sw_rd(&B, IDT_SW_SEGSIGSTS), 1u);
	cr_assert_eq(sw_rd(&B, IDT_SW_SESTS) & IDT_SE_GSIGNAL, IDT_SE_GSIGNAL);
	/* idt_se_isr */
	sw_wr(&B, IDT_SW_SEGSIGSTS, ~0u);
	nt_wr(&B, IDT_NT_NTINTSTS, IDT_NTINTSTS_SEVENT);
	cr_assert_eq(nt_rd(&B, IDT_NT_NTINTSTS), 0u);
	cr_assert_eq(sw_rd(&B, IDT_SW_SESTS), 0u);
	/* masked partition: no event */
	sw_wr(&B, IDT_SW_SEGSIGMSK, ~0u);
	nt_wr(&A, IDT_NT_NTGSIGNAL, IDT_NTGSIGNAL_SET);
	ntb_service(B.ntb);
	cr_assert_eq(nt_rd(&B, IDT_NT_NTINTSTS), 0u);
	cr_assert_eq(B.host.nmsi, 1);
}

/* idt_ntb_peer_mw_set_trans for a DIR window in BAR `bar` */
static void set_trans(struct side *s, int bar, unsigned tpart, uint64_t addr, uint64_t size)
{
	unsigned r = IDT_NT_BARSETUP0 + 0x10 * (unsigned)bar;
	uint64_t base = bar == 2 ? T_BAR2 : T_BAR4, limit = size ? base + size : 0;
	uint32_t setup = nt_rd(s, r);

	nt_wr(s, r, (setup & ~IDT_BARSETUP_TPART_MASK) | tpart << IDT_BARSETUP_TPART_SHIFT);
	nt_wr(s, r + IDT_BAR_LTBASE, (uint32_t)addr);
	nt_wr(s, r + IDT_BAR_UTBASE, (uint32_t)(addr >> 32));
	nt_wr(s, r + IDT_BAR_LIMIT, (uint32_t)limit);
	nt_wr(s, r + 0x10 + IDT_BAR_LIMIT, (uint32_t)(limit >> 32));
}

Test(ntb_pair, translated_window_maps_the_peer_ram)
{
	struct t_map *m;

	set_trans(&A, 2, 1, 0x40000, KiB(256));
	m = t_find_map(&A, T_BAR2);
	cr_assert(m, "BAR2 mapped as a memslot");
	cr_assert_eq(m->size, KiB(256));
	memcpy(m->hva + 0x10, "hello, peer", 12);
	cr_assert_str_eq((char *)B.ram + 0x40010, "hello, peer");
	/* the peer writes, we read */
	B.ram[0x40000 + KiB(256) - 1] = 0x5a;
	cr_assert_eq(m->hva[KiB(256) - 1], 0x5a);
	/* beyond the limit the BAR is trapped and goes nowhere */
	fake_write(&A.host, BUS_MMIO, T_BAR2 + KiB(256), 0x1111, 4);
	cr_assert_eq(fake_read(&A.host, BUS_MMIO, T_BAR2 + KiB(300), 4), 0xffffffffull);
	/* the high region (guest-physical 4 GiB) is memfd offset 1 MiB */
	set_trans(&B, 4, 0, T_HIGH_GPA + 0x3000, KiB(64));
	m = t_find_map(&B, T_BAR4);
	cr_assert(m);
	memcpy(m->hva, "up high", 8);
	cr_assert_str_eq((char *)A.ram + MiB(1) + 0x3000, "up high");
	/* clearing the translation (LIMIT 0) unmaps */
	set_trans(&A, 2, 1, 0x40000, 0);
	cr_assert_null(t_find_map(&A, T_BAR2));
	cr_assert_eq(A.unmap_calls, A.map_calls);
	/* moving the BAR moves the memslot */
	set_trans(&A, 2, 1, 0, KiB(4));
	cr_assert(t_find_map(&A, T_BAR2));
	cfg_write(&A, PCI_BASE_ADDRESS_0 + 12, 9, 4);
	cr_assert_null(t_find_map(&A, T_BAR2));
	cr_assert(t_find_map(&A, 0x900000000ull) == NULL, "limit no longer above the BAR");
}

Test(ntb_pair, unaligned_window_is_carried_by_traps)
{
	struct ntb_stats st;

	set_trans(&A, 2, 1, 0x40004, 0x1000);
	cr_assert_eq(A.map_calls, 0);
	fake_write(&A.host, BUS_MMIO, T_BAR2 + 8, 0x11223344, 4);
	cr_assert_eq(*(uint32_t *)(B.ram + 0x4000c), 0x11223344u);
	cr_assert_eq(fake_read(&A.host, BUS_MMIO, T_BAR2 + 8, 4), 0x11223344u);
	ntb_get_stats(A.ntb, &st);
	cr_assert_eq(st.trapped_copies, 2);
	cr_assert_eq(st.dropped_stores, 0);
}

Test(ntb_pair, untranslated_windows_drop_and_count_stores)
{
	struct ntb_stats st;

	fake_write(&A.host, BUS_MMIO, T_BAR4, 1, 4);
	fake_write(&A.host, BUS_MMIO, T_BAR4 + 8, 2, 8);
	cr_assert_eq(fake_read(&A.host, BUS_MMIO, T_BAR4, 4), 0xffffffffull);
	/* a target outside the peer's RAM goes nowhere too */
	set_trans(&A, 2, 1, MiB(1) - 0x1000, 0x2000);
	cr_assert_eq(A.map_calls, 0);
	fake_write(&A.host, BUS_MMIO, T_BAR2, 3, 4);
	/* and a window aimed at a partition that is not the peer */
	set_trans(&A, 2, 3, 0, 0x1000);
	fake_write(&A.host, BUS_MMIO, T_BAR2, 3, 4);
	ntb_get_stats(A.ntb, &st);
	cr_assert_eq(st.dropped_stores, 4);
	cr_assert_eq(st.dropped_loads, 1);
	cr_assert_eq(st.trapped_copies, 0);
	for (size_t i = 0; i < T_RAM_SIZE; i++)
		cr_assert_eq(B.ram[i], 0, "peer RAM untouched at 0x%zx", i);
}

Test(ntb_pair, peer_loss_shows_link_down_and_a_new_peer_brings_it_back)
{
	side_enable_msi(&A);
	driver_init(&A);
	driver_init(&B);
	link_enable(&A, true, true);
	link_enable(&B, true, true);
	ntb_service(A.ntb);
	cr_assert(link_is_up(&A, 2));
	set_trans(&A, 2, 1, 0, KiB(64));
	cr_assert(t_find_map(&A, T_BAR2));
	nt_wr(&A, IDT_NT_NTINTSTS, IDT_NTINTSTS_SEVENT);
	A.host.nmsi = 0;

	/* B dies without a word (its socket closed): A notices */
	ntb_peer_lost(A.ntb);
	cr_assert_not(link_is_up(&A, 2));
	cr_assert_eq(sw_rd(&A, IDT_SW_SWPORT0STS + 0x40) & IDT_SWPORTxSTS_LINKUP, 0u);
	cr_assert_eq(sw_rd(&A, IDT_SW_SELINKDNSTS), 1u << 2);
	cr_assert_eq(nt_rd(&A, IDT_NT_NTINTSTS), IDT_NTINTSTS_SEVENT);
	cr_assert_eq(A.host.nmsi, 1);
	cr_assert_null(t_find_map(&A, T_BAR2), "window onto the dead peer unmapped");
	/* static state still right */
	cr_assert_eq(sw_rd(&A, 0x5490), 0x8000000cu | 20u << 4);
	ntb_peer_lost(A.ntb); /* idempotent */

	/* B restarts as a fresh process and rejoins */
	side_fini(&B);
	side_init(&B, 2);
	nt_wr(&A, IDT_NT_NTINTSTS, IDT_NTINTSTS_SEVENT);
	pair_up(&A, &B);
	cr_assert_eq(sw_rd(&A, IDT_SW_SWPORT0STS + 0x40) & IDT_SWPORTxSTS_LINKUP,
		     IDT_SWPORTxSTS_LINKUP);
	cr_assert_eq(sw_rd(&A, IDT_SW_SELINKUPSTS) & (1u << 2), 1u << 2);
	cr_assert_eq(A.host.nmsi, 2, "link-up event");
	cr_assert_not(link_is_up(&A, 2), "until the new guest enables its side");
	link_enable(&B, true, true);
	cr_assert(link_is_up(&A, 2));
	cr_assert(link_is_up(&B, 0));
	cr_assert(t_find_map(&A, T_BAR2), "the translation applies to the new peer");
}

Test(ntb_pair, orderly_exit_shows_link_down)
{
	link_enable(&A, true, true);
	link_enable(&B, true, true);
	cr_assert(link_is_up(&A, 2));
	side_fini(&B);
	ntb_service(A.ntb);
	cr_assert_not(link_is_up(&A, 2));
	cr_assert_eq(sw_rd(&A, IDT_SW_SELINKDNSTS), 1u << 2);
}

Test(ntb_pair, joining_carries_state_and_refuses_a_busy_port)
{
	struct side c;

	/* a second function for port 2 cannot join while B serves it */
	side_init(&c, 2);
	cr_assert_eq(ntb_join(c.ntb, ntb_shm_fd(A.ntb)), -EBUSY);
	side_fini(&c);
	/* state B had on its own switch came along: its mapping-table entry */
	link_enable(&B, true, true);
	cr_assert(peer_link_up(&A, 2));
}

Test(ntb_alone, state_set_before_the_peer_arrives_is_carried_over)
{
	struct side b;

	side_init(&b, 2);
	/* B's guest runs alone first */
	driver_init(&b);
	link_enable(&b, true, true);
	nt_wr(&b, IDT_NT_INDBELLMSK, 0x0f);
	pair_up(&A, &b);
	cr_assert(peer_link_up(&A, 2));
	cr_assert_eq(nt_rd(&b, IDT_NT_INDBELLMSK), 0x0fu);
	cr_assert_eq(sw_rd(&A, IDT_SW_SEMSK), ~(IDT_SE_LINKUP | IDT_SE_LINKDN | IDT_SE_GSIGNAL));
	side_fini(&b);
}
