/* SPDX-License-Identifier: MIT */
/* IDT NT memory windows with lookup-table translation (BARSETUP.ATRAN = LUT12 / LUT24), as
 * ntb_hw_idt's idt_scan_mws and idt_ntb_peer_mw_set_trans use them. BAR2 (1 MiB) and BAR4
 * (64 KiB) are LUT12: 12 entries of 64 KiB and of 4 KiB; one test makes BAR2 a LUT24. */
#include "tests/unit/test_ntb.h"

#define ENT2 (T_MW2 / 16)
#define ENT4 (T_MW4 / 16)

static const uint8_t lut[2] = {12, 12};
static struct side A, B; /* A on port 0 (partition 0), B on port 2 (partition 1) */

static void setup_pair(void)
{
	side_init_lut(&A, 0, lut);
	side_init_lut(&B, 2, lut);
	pair_up(&A, &B);
}

static void teardown_pair(void)
{
	if (B.ntb)
		side_fini(&B);
	side_fini(&A);
}

TestSuite(ntb_lut, .init = setup_pair, .fini = teardown_pair);

/* idt_ntb_peer_mw_set_trans for a LUT window: LUTOFFSET, then LDATA, MDATA, UDATA. */
static void lut_set(struct side *s, int bar, unsigned idx, unsigned part, uint64_t addr, bool valid)
{
	nt_wr(s, IDT_NT_LUTOFFSET, idx | (unsigned)bar << IDT_LUTOFFSET_BAR_SHIFT);
	nt_wr(s, IDT_NT_LUTLDATA, (uint32_t)addr);
	nt_wr(s, IDT_NT_LUTMDATA, (uint32_t)(addr >> 32));
	nt_wr(s, IDT_NT_LUTUDATA, part | (valid ? IDT_LUTUDATA_VALID : 0));
}

Test(ntb_lut, barsetup_reports_the_lut_type_to_idt_scan_mws)
{
	uint32_t b2 = nt_rd(&A, IDT_NT_BARSETUP0 + 0x20), b4 = nt_rd(&A, IDT_NT_BARSETUP0 + 0x40);

	cr_assert_eq(b2 & IDT_BARSETUP_ATRAN_MASK, IDT_BARSETUP_ATRAN_LUT12);
	cr_assert_eq(b4 & IDT_BARSETUP_ATRAN_MASK, IDT_BARSETUP_ATRAN_LUT12);
	cr_assert_eq((b2 & IDT_BARSETUP_SIZE_MASK) >> IDT_BARSETUP_SIZE_SHIFT, 20u);
	cr_assert(b2 & IDT_BARSETUP_EN);
	/* the peer's BARSETUP through GASA (what idt_init_mws scans for peers) agrees */
	cr_assert_eq(sw_rd(&A, 0x5490) & IDT_BARSETUP_ATRAN_MASK, /* port 2 BARSETUP2 */
		     IDT_BARSETUP_ATRAN_LUT12);
}

Test(ntb_lut, an_entry_maps_its_slice_of_the_bar_onto_the_peer)
{
	struct t_map *m;

	lut_set(&A, 2, 3, 1, 0x40000, true);
	m = t_find_map(&A, T_BAR2 + 3 * ENT2);
	cr_assert(m, "entry 3 is a memslot at BAR2 + 3 slices");
	cr_assert_eq(m->size, ENT2);
	memcpy(m->hva + 0x20, "slice three", 12);
	cr_assert_str_eq((char *)B.ram + 0x40020, "slice three");
	cr_assert_eq(A.map_calls, 1, "other entries stay untranslated");
	/* the entry reads back through LUTOFFSET */
	nt_wr(&A, IDT_NT_LUTOFFSET, 3 | 2u << IDT_LUTOFFSET_BAR_SHIFT);
	cr_assert_eq(nt_rd(&A, IDT_NT_LUTLDATA), 0x40000u);
	cr_assert_eq(nt_rd(&A, IDT_NT_LUTMDATA), 0u);
	cr_assert_eq(nt_rd(&A, IDT_NT_LUTUDATA), IDT_LUTUDATA_VALID | 1u);
	/* a second entry in the high region (memfd offset 1 MiB), in the LUT12 BAR */
	lut_set(&A, 4, 11, 1, T_HIGH_GPA + 0x5000, true);
	m = t_find_map(&A, T_BAR4 + 11 * ENT4);
	cr_assert(m);
	cr_assert_eq(m->size, ENT4);
	memcpy(m->hva, "last", 5);
	cr_assert_str_eq((char *)B.ram + MiB(1) + 0x5000, "last");
	/* idt_ntb_peer_mw_clear_trans: all three data registers 0 (each write takes effect:
	 * LDATA = 0 first moves the entry onto peer address 0, UDATA = 0 ends it) */
	lut_set(&A, 2, 3, 0, 0, false);
	cr_assert_null(t_find_map(&A, T_BAR2 + 3 * ENT2));
	cr_assert_eq(A.unmap_calls, A.map_calls - 1, "only BAR4 entry 11 still mapped");
}

Test(ntb_lut, unaligned_entries_trap_and_bad_ones_go_nowhere)
{
	struct ntb_stats st;

	/* dword-aligned but not page-aligned target: carried by the trap handler */
	lut_set(&A, 2, 4, 1, 0x40004, true);
	cr_assert_eq(A.map_calls, 0);
	fake_write(&A.host, BUS_MMIO, T_BAR2 + 4 * ENT2 + 8, 0x11223344, 4);
	cr_assert_eq(*(uint32_t *)(B.ram + 0x4000c), 0x11223344u);
	cr_assert_eq(fake_read(&A.host, BUS_MMIO, T_BAR2 + 4 * ENT2 + 8, 4), 0x11223344u);
	/* an access that crosses into the next (untranslated) slice is dropped */
	fake_write(&A.host, BUS_MMIO, T_BAR2 + 5 * ENT2 - 4, 0x55667788, 8);
	/* LDATA's low two bits do not exist (IDT_TRANS_ALIGN) */
	nt_wr(&A, IDT_NT_LUTLDATA, 0x40007);
	cr_assert_eq(nt_rd(&A, IDT_NT_LUTLDATA), 0x40004u);
	/* invalid entry, own partition, target past the peer's RAM: nowhere */
	lut_set(&A, 2, 5, 1, 0x1000, false);
	lut_set(&A, 2, 6, 0, 0x1000, true);
	lut_set(&A, 2, 7, 1, MiB(1) - 0x1000, true); /* slice is 64 KiB: runs past 1 MiB */
	lut_set(&A, 2, 8, 1, ~0ull - 0xfff, true);   /* would overflow */
	for (int e = 5; e <= 8; e++)
		fake_write(&A.host, BUS_MMIO, T_BAR2 + (uint64_t)e * ENT2, 0xdead, 4);
	/* slices 12-15 of a LUT12 BAR are not windows */
	lut_set(&A, 2, 12, 1, 0, true);
	fake_write(&A.host, BUS_MMIO, T_BAR2 + 12 * ENT2, 0xdead, 4);
	lut_set(&A, 4, 12, 1, 0, true);
	cr_assert_eq(nt_rd(&A, IDT_NT_LUTUDATA), 0u, "no entry 12 in a LUT12");
	/* and a BAR that has no LUT (BAR0) */
	lut_set(&A, 0, 0, 1, 0, true);
	cr_assert_eq(nt_rd(&A, IDT_NT_LUTUDATA), 0u);
	cr_assert_eq(A.map_calls, 0);
	ntb_get_stats(A.ntb, &st);
	cr_assert_eq(st.trapped_copies, 2);
	cr_assert_eq(st.dropped_stores, 6);
	for (size_t i = 0; i < T_RAM_SIZE; i++)
		if (i < 0x4000c || i >= 0x40010)
			cr_assert_eq(B.ram[i], 0, "peer RAM untouched at 0x%zx", i);
}

Test(ntb_lut, peer_loss_unmaps_every_entry_and_a_new_peer_gets_them_back)
{
	lut_set(&A, 2, 0, 1, 0, true);
	lut_set(&A, 2, 11, 1, 0x80000, true);
	lut_set(&A, 4, 0, 1, T_HIGH_GPA, true);
	cr_assert_eq(A.map_calls, 3);
	ntb_peer_lost(A.ntb);
	cr_assert_eq(A.unmap_calls, 3);
	cr_assert_null(t_find_map(&A, T_BAR2));
	side_fini(&B);
	side_init_lut(&B, 2, lut);
	pair_up(&A, &B);
	cr_assert(t_find_map(&A, T_BAR2 + 11 * ENT2), "the table applies to the new peer");
	cr_assert_eq(A.map_calls, 6);
}

Test(ntb_lut, both_sides_must_agree_on_the_window_types)
{
	static const uint8_t other[2] = {12, 0};
	struct side C;

	side_init_lut(&C, 4, other);
	cr_assert_eq(ntb_join(C.ntb, ntb_shm_fd(A.ntb)), -EINVAL);
	side_fini(&C);
}

Test(ntb_lut, create_refuses_impossible_tables)
{
	struct ntb_config c = {.name = "x", .port = 0, .mw_size = {MiB(1), MiB(1)}};
	char err[200];

	c.mw_lut[0] = c.mw_lut[1] = 24;
	cr_assert_null(ntb_create(&c, &t_wops, NULL, err, sizeof(err)));
	cr_assert(strstr(err, "cannot both be LUT24"), "%s", err);
	c.mw_lut[1] = 12;
	cr_assert_null(ntb_create(&c, &t_wops, NULL, err, sizeof(err)));
	cr_assert(strstr(err, "ntb_hw_idt takes 29"), "%s", err);
	c.mw_lut[1] = 16;
	cr_assert_null(ntb_create(&c, &t_wops, NULL, err, sizeof(err)));
	cr_assert(strstr(err, "want 12 or 24"), "%s", err);
	c.mw_lut[1] = 12;
	c.mw_size[1] = KiB(32);
	cr_assert_null(ntb_create(&c, &t_wops, NULL, err, sizeof(err)));
	cr_assert(strstr(err, "at least 64 KiB"), "%s", err);
}

Test(ntb_lut, a_lut24_bar_has_24_entries_of_a_32nd)
{
	static const uint8_t l24[2] = {24, 0};
	struct side C, D;
	struct t_map *m;

	side_init_lut(&C, 0, l24);
	side_init_lut(&D, 2, l24);
	pair_up(&C, &D);
	cr_assert_eq(nt_rd(&C, IDT_NT_BARSETUP0 + 0x20) & IDT_BARSETUP_ATRAN_MASK,
		     IDT_BARSETUP_ATRAN_LUT24);
	cr_assert_eq(nt_rd(&C, IDT_NT_BARSETUP0 + 0x40) & IDT_BARSETUP_ATRAN_MASK,
		     IDT_BARSETUP_ATRAN_DIR);
	lut_set(&C, 2, 23, 1, 0x8000, true);
	m = t_find_map(&C, T_BAR2 + 23 * (T_MW2 / 32));
	cr_assert(m, "entry 23 at BAR2 + 23/32");
	cr_assert_eq(m->size, T_MW2 / 32);
	memcpy(m->hva, "23", 3);
	cr_assert_str_eq((char *)D.ram + 0x8000, "23");
	lut_set(&C, 2, 24, 1, 0, true); /* slices 24-31 are not windows */
	cr_assert_eq(nt_rd(&C, IDT_NT_LUTUDATA), 0u);
	cr_assert_eq(C.map_calls, 1);
	side_fini(&D);
	side_fini(&C);
}
