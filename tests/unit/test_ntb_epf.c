/* SPDX-License-Identifier: MIT */
/*
 * The epf personality: two functions over one real shared switch state, driven the way Linux's
 * ntb_hw_epf drives them (ctrl region in BAR0, peer scratchpads in BAR1, doorbells and MW1
 * in BAR2, MW2 in BAR3, MSI-X).
 */
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "devices/ntb/epf.h"
#include "devices/ntb/internal.h" /* ntb_bar_rw, for the DMA hook */
#include "tests/unit/test_ntb.h"
#include "tests/unit/test_zygote.h"

#define E_BAR0	    0xc0000000ull
#define E_BAR1	    0xc0001000ull
#define E_BAR3	    0xc0010000ull
#define E_BAR2	    0xc0200000ull /* 2 * E_MW1 */
#define E_MW1	    MiB(1)
#define E_MW2	    KiB(64)
#define E_MW1_BASE  (E_BAR2 + E_MW1)
#define E_MSIXCAP   0x80
#define E_DATA_BASE 0x100 /* MSI-X message data of vector v: E_DATA_BASE + v */

static struct side A, B; /* A on port 0, B on port 2 */

static uint32_t rd(struct side *s, unsigned off)
{
	return (uint32_t)fake_read(&s->host, BUS_MMIO, E_BAR0 + off, 4);
}

static void wr(struct side *s, unsigned off, uint32_t v)
{
	fake_write(&s->host, BUS_MMIO, E_BAR0 + off, v, 4);
}

static void epf_side_init(struct side *s, unsigned port, bool know_own_ram)
{
	struct ntb_config cfg = {.name = port ? "epf-b" : "epf-a",
				 .port = port,
				 .mw_size = {E_MW1, E_MW2},
				 .personality = NTB_EPF};

	side_create(s, &cfg);
	if (know_own_ram)
		ntb_set_own_ram(s->ntb, &s->nram);
	cr_assert_eq(pci_bus_add(&s->root.bus0, ntb_pci(s->ntb), T_DEVFN), 0);
	cfg_write(s, PCI_BASE_ADDRESS_0, (uint32_t)E_BAR0, 4);
	cfg_write(s, PCI_BASE_ADDRESS_0 + 4, (uint32_t)E_BAR1, 4);
	cfg_write(s, PCI_BASE_ADDRESS_0 + 8, (uint32_t)E_BAR2, 4);
	cfg_write(s, PCI_BASE_ADDRESS_0 + 12, (uint32_t)E_BAR3, 4);
	set_bme(s, true);
}

/* What pci_alloc_irq_vectors(PCI_IRQ_MSIX) leaves behind: all vectors programmed. */
static void enable_msix(struct side *s)
{
	for (unsigned v = 0; v < EPF_NR_VECTORS; v++) {
		unsigned e = EPF_MSIX_TABLE + 16 * v;

		wr(s, e, 0xfee00000u);
		wr(s, e + 4, 0);
		wr(s, e + 8, E_DATA_BASE + v);
		wr(s, e + 12, 0);
	}
	cfg_write(s, E_MSIXCAP + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
}

/* ntb_epf_send_command: argument, command, poll CMD_STATUS, clear it with writew(0). */
static uint16_t cmd(struct side *s, uint32_t command, uint32_t argument)
{
	uint16_t status;

	wr(s, NTB_EPF_ARGUMENT, argument);
	wr(s, NTB_EPF_COMMAND, command);
	status = (uint16_t)fake_read(&s->host, BUS_MMIO, E_BAR0 + NTB_EPF_CMD_STATUS, 2);
	fake_write(&s->host, BUS_MMIO, E_BAR0 + NTB_EPF_CMD_STATUS, 0, 2);
	return status;
}

/* ntb_epf_init_isr with `nvec` vectors */
static void init_isr(struct side *s, unsigned nvec)
{
	enable_msix(s);
	cr_assert_eq(cmd(s, CMD_CONFIGURE_DOORBELL, MSIX_ENABLE | nvec), COMMAND_STATUS_OK);
}

/* ntb_epf_mw_set_trans */
static uint16_t set_trans(struct side *s, unsigned idx, uint64_t addr, uint64_t size)
{
	wr(s, NTB_EPF_LOWER_ADDR, (uint32_t)addr);
	wr(s, NTB_EPF_UPPER_ADDR, (uint32_t)(addr >> 32));
	wr(s, NTB_EPF_LOWER_SIZE, (uint32_t)size);
	wr(s, NTB_EPF_UPPER_SIZE, (uint32_t)(size >> 32));
	return cmd(s, CMD_CONFIGURE_MW, idx);
}

/* ntb_epf_peer_db_set: interrupt ffs(bits) + 1, DB_DATA at entry * size + DB_OFFSET */
static void peer_db_set(struct side *s, uint64_t bits)
{
	uint32_t n = (uint32_t)__builtin_ffsll((long long)bits) + 1;
	uint32_t esz = rd(s, NTB_EPF_DB_ENTRY_SIZE);

	fake_write(&s->host, BUS_MMIO, E_BAR2 + esz * n + rd(s, NTB_EPF_DB_OFFSET(n)),
		   rd(s, NTB_EPF_DB_DATA(n)), 4);
}

static bool epf_link_up(struct side *s)
{
	return fake_read(&s->host, BUS_MMIO, E_BAR0 + NTB_EPF_LINK_STATUS, 2) & LINK_STATUS_UP;
}

static int nmsi(struct side *s)
{
	return __atomic_load_n(&s->host.nmsi, __ATOMIC_RELAXED);
}

static int last_vector(struct side *s)
{
	int n = nmsi(s);

	return n ? (int)s->host.msi_data[n - 1] - E_DATA_BASE : -1;
}

static void epf_pair_up(struct side *a, struct side *b)
{
	cr_assert_eq(ntb_set_peer(a->ntb, b->port, &b->nram, ntb_kick_fd(b->ntb)), 0);
	cr_assert_eq(ntb_set_peer(b->ntb, a->port, &a->nram, ntb_kick_fd(a->ntb)), 0);
	cr_assert_eq(ntb_join(b->ntb, ntb_shm_fd(a->ntb)), 0);
	ntb_service(a->ntb);
	ntb_service(b->ntb);
}

static void setup_alone(void)
{
	epf_side_init(&A, 0, true);
}

static void teardown_alone(void)
{
	side_fini(&A);
}

static void setup_pair(void)
{
	epf_side_init(&A, 0, true);
	epf_side_init(&B, 2, true);
	epf_pair_up(&A, &B);
	init_isr(&A, EPF_NR_VECTORS);
	init_isr(&B, EPF_NR_VECTORS);
}

static void teardown_pair(void)
{
	if (B.ntb)
		side_fini(&B);
	if (A.ntb)
		side_fini(&A);
}

TestSuite(ntb_epf_alone, .init = setup_alone, .fini = teardown_alone);
TestSuite(ntb_epf_pair, .init = setup_pair, .fini = teardown_pair);

Test(ntb_epf_alone, identity_bars_and_msix_as_ntb_hw_epf_expects)
{
	uint16_t flags;

	cr_assert_eq(cfg_read(&A, 0, 4), 0xb00d104cu);
	/* ntb_epf_pci_tbl: class PCI_CLASS_MEMORY_RAM << 8, mask 0xffff00 */
	cr_assert_eq(cfg_read(&A, PCI_REVISION_ID, 4) >> 8, 0x050000u);
	cr_assert_eq(cfg_read(&A, PCI_HEADER_TYPE, 1) & 0x7f, 0u, "not a bridge");
	/* j721e_map: BAR0 config, BAR1 peer spads, BAR2 doorbells + MW1, BAR3 MW2 */
	for (int b = 0; b < 4; b++) {
		uint32_t v = cfg_read(&A, PCI_BASE_ADDRESS_0 + 4 * b, 4);

		cr_assert_eq(v & 0x7, 0u, "BAR%d: 32-bit memory", b);
	}
	cfg_write(&A, PCI_BASE_ADDRESS_0 + 8, 0xffffffffu, 4);
	cr_assert_eq(cfg_read(&A, PCI_BASE_ADDRESS_0 + 8, 4), (uint32_t) ~(2 * E_MW1 - 1));
	cfg_write(&A, PCI_BASE_ADDRESS_0 + 8, (uint32_t)E_BAR2, 4);
	cr_assert_eq(cfg_read(&A, E_MSIXCAP, 1), PCI_CAP_ID_MSIX);
	flags = (uint16_t)cfg_read(&A, E_MSIXCAP + PCI_MSIX_FLAGS, 2);
	cr_assert_eq((flags & PCI_MSIX_FLAGS_QSIZE) + 1u, 32u, "ntb_epf_init_isr asks for 4..32");
	cr_assert_eq(cfg_read(&A, E_MSIXCAP + PCI_MSIX_TABLE, 4), EPF_MSIX_TABLE | 0u);
	/* the layout the driver reads */
	cr_assert_eq(rd(&A, NTB_EPF_MW_COUNT), 2u);
	cr_assert_eq(rd(&A, NTB_EPF_MW1_OFFSET), (uint32_t)E_MW1);
	cr_assert_eq(rd(&A, NTB_EPF_SPAD_OFFSET), EPF_SPAD_OFFSET);
	cr_assert_eq(rd(&A, NTB_EPF_SPAD_COUNT), 64u, "pci-epf-ntb SPAD_COUNT; transport needs 6");
	cr_assert_eq(rd(&A, NTB_EPF_DB_ENTRY_SIZE), 4u);
	cr_assert_eq(rd(&A, NTB_EPF_DB_OFFSET(5)), 0u);
	cr_assert_eq(epf_link_up(&A), false);
}

Test(ntb_epf_alone, commands_answer_ok_or_error_and_the_status_clears)
{
	cr_assert_eq(cmd(&A, CMD_CONFIGURE_DOORBELL, MSIX_ENABLE | 32), COMMAND_STATUS_OK);
	cr_assert_eq(rd(&A, NTB_EPF_CMD_STATUS) & 0xffff, 0u, "writew(0) cleared it");
	cr_assert_eq(rd(&A, NTB_EPF_COMMAND), 0u, "taken at once");
	cr_assert_eq(rd(&A, NTB_EPF_ARGUMENT), 0u, "taken at once");
	cr_assert_eq(cmd(&A, CMD_CONFIGURE_DOORBELL, 32), COMMAND_STATUS_ERROR, "MSI: no cap");
	cr_assert_eq(cmd(&A, CMD_CONFIGURE_DOORBELL, MSIX_ENABLE | 0), COMMAND_STATUS_ERROR);
	cr_assert_eq(cmd(&A, CMD_CONFIGURE_DOORBELL, MSIX_ENABLE | 33), COMMAND_STATUS_ERROR);
	cr_assert_eq(cmd(&A, CMD_TEARDOWN_DOORBELL, 33), COMMAND_STATUS_OK);
	cr_assert_eq(cmd(&A, 7, 0), COMMAND_STATUS_ERROR, "unknown command");
	cr_assert_eq(cmd(&A, 0xffffffffu, 0), COMMAND_STATUS_ERROR, "unknown command");
	cr_assert_eq(cmd(&A, CMD_LINK_UP, 0), COMMAND_STATUS_OK);
	cr_assert_eq(epf_link_up(&A), false, "no peer");
	cr_assert_eq(cmd(&A, CMD_LINK_DOWN, 0), COMMAND_STATUS_OK);
	cr_assert_eq(cmd(&A, CMD_TEARDOWN_MW, 1), COMMAND_STATUS_OK);
	cr_assert_eq(cmd(&A, CMD_TEARDOWN_MW, 2), COMMAND_STATUS_ERROR, "two windows");
	/* LINK_STATUS is read-only: a dword write to 0x08 only changes CMD_STATUS */
	wr(&A, NTB_EPF_CMD_STATUS, 0x00010002u);
	cr_assert_eq(rd(&A, NTB_EPF_CMD_STATUS), 0x2u);
}

Test(ntb_epf_alone, translations_outside_ram_overflowing_or_misaligned_are_refused)
{
	cr_assert_eq(set_trans(&A, 0, 0x80000, KiB(512)), COMMAND_STATUS_OK);
	cr_assert_eq(set_trans(&A, 1, T_HIGH_GPA + 0x10000, E_MW2), COMMAND_STATUS_OK);
	cr_assert_eq(set_trans(&A, 0, MiB(2), KiB(4)), COMMAND_STATUS_ERROR, "in the hole");
	cr_assert_eq(set_trans(&A, 0, 0xff000, 0x2000), COMMAND_STATUS_ERROR, "straddles");
	cr_assert_eq(set_trans(&A, 0, T_HIGH_GPA + MiB(1) - 0x1000, 0x2000), COMMAND_STATUS_ERROR);
	cr_assert_eq(set_trans(&A, 0, 0xfffffffffffff000ull, 0x2000), COMMAND_STATUS_ERROR,
		     "wraps");
	cr_assert_eq(set_trans(&A, 0, 0x80010, 0x1000), COMMAND_STATUS_ERROR, "misaligned");
	cr_assert_eq(set_trans(&A, 0, 0, 0), COMMAND_STATUS_ERROR, "empty");
	cr_assert_eq(set_trans(&A, 0, 0, 2 * E_MW1), COMMAND_STATUS_ERROR, "bigger than MW1");
	cr_assert_eq(set_trans(&A, 1, T_HIGH_GPA, 2 * E_MW2), COMMAND_STATUS_ERROR);
	cr_assert_eq(set_trans(&A, 2, 0, 0x1000), COMMAND_STATUS_ERROR, "no MW3");
	/* the fields read back what was written */
	cr_assert_eq(rd(&A, NTB_EPF_LOWER_ADDR), 0u);
	cr_assert_eq(rd(&A, NTB_EPF_LOWER_SIZE), 0x1000u);
}

Test(ntb_epf_alone, peer_scratchpads_go_nowhere_without_a_peer)
{
	struct ntb_stats st;

	fake_write(&A.host, BUS_MMIO, E_BAR1 + 8, 0x1234, 4);
	cr_assert_eq(fake_read(&A.host, BUS_MMIO, E_BAR1 + 8, 4), 0u);
	ntb_get_stats(A.ntb, &st);
	cr_assert_eq(st.dropped_spads, 1u);
	wr(&A, EPF_SPAD_OFFSET + 4 * 63, 0xabcd);
	cr_assert_eq(rd(&A, EPF_SPAD_OFFSET + 4 * 63), 0xabcdu, "own spads work alone");
}

Test(ntb_epf_pair, scratchpads_self_and_peer)
{
	/* ntb_epf_spad_write / ntb_epf_peer_spad_read */
	wr(&A, rd(&A, NTB_EPF_SPAD_OFFSET) + 4 * 5, 0x11112222u);
	cr_assert_eq(rd(&A, EPF_SPAD_OFFSET + 4 * 5), 0x11112222u);
	cr_assert_eq(fake_read(&B.host, BUS_MMIO, E_BAR1 + 4 * 5, 4), 0x11112222u);
	cr_assert_eq(fake_read(&A.host, BUS_MMIO, E_BAR1 + 4 * 5, 4), 0u, "B's own spad 5");
	/* ntb_epf_peer_spad_write: what ntb_transport_link_work does to tell the peer */
	for (unsigned i = 0; i < 64; i++)
		fake_write(&B.host, BUS_MMIO, E_BAR1 + 4 * i, 0x5000 + i, 4);
	for (unsigned i = 0; i < 64; i++)
		cr_assert_eq(rd(&A, EPF_SPAD_OFFSET + 4 * i), 0x5000 + i);
	/* byte and word lanes */
	fake_write(&B.host, BUS_MMIO, E_BAR1 + 4 * 7 + 2, 0xee, 1);
	cr_assert_eq(rd(&A, EPF_SPAD_OFFSET + 4 * 7), 0x00ee5007u);
	cr_assert_eq(fake_read(&B.host, BUS_MMIO, E_BAR1 + 4 * 7 + 2, 2), 0x00eeu);
}

Test(ntb_epf_pair, link_comes_up_when_both_ask_and_both_hear_vector_0)
{
	int a0 = nmsi(&A), b0 = nmsi(&B);

	cr_assert_eq(cmd(&A, CMD_LINK_UP, 0), COMMAND_STATUS_OK);
	ntb_service(B.ntb);
	cr_assert_eq(epf_link_up(&A), false, "B has not asked");
	cr_assert_eq(nmsi(&A), a0);
	cr_assert_eq(nmsi(&B), b0);
	cr_assert_eq(cmd(&B, CMD_LINK_UP, 0), COMMAND_STATUS_OK);
	cr_assert(epf_link_up(&B));
	cr_assert_eq(nmsi(&B), b0 + 1);
	cr_assert_eq(last_vector(&B), 0, "EPF_IRQ_LINK");
	ntb_service(A.ntb); /* B kicked A */
	cr_assert(epf_link_up(&A));
	cr_assert_eq(nmsi(&A), a0 + 1);
	cr_assert_eq(last_vector(&A), 0);

	/* either side's LINK_DOWN takes it down on both */
	cr_assert_eq(cmd(&A, CMD_LINK_DOWN, 0), COMMAND_STATUS_OK);
	ntb_service(B.ntb);
	cr_assert_eq(epf_link_up(&A), false);
	cr_assert_eq(epf_link_up(&B), false);
	cr_assert_eq(nmsi(&A), a0 + 2);
	cr_assert_eq(nmsi(&B), b0 + 2);
	cr_assert_eq(last_vector(&B), 0);
}

Test(ntb_epf_pair, doorbell_bits_become_the_peers_vectors)
{
	struct ntb_stats st;
	int b0 = nmsi(&B), a0 = nmsi(&A);

	/* ntb_epf_vec_isr: vector n >= 2 is doorbell bit n - 2 */
	peer_db_set(&A, 1u << 0);
	ntb_service(B.ntb);
	cr_assert_eq(nmsi(&B), b0 + 1);
	cr_assert_eq(last_vector(&B), 2);
	peer_db_set(&A, 1u << 29); /* the last bit of db_valid_mask with 32 vectors */
	ntb_service(B.ntb);
	cr_assert_eq(last_vector(&B), 31);
	peer_db_set(&B, 1u << 3);
	ntb_service(A.ntb);
	cr_assert_eq(last_vector(&A), 5);
	cr_assert_eq(nmsi(&A), a0 + 1, "a doorbell never comes back to the ringer");

	/* a masked vector is held pending and sent on unmask */
	wr(&B, EPF_MSIX_TABLE + 16 * 4 + 12, 1);
	peer_db_set(&A, 1u << 2);
	ntb_service(B.ntb);
	cr_assert_eq(nmsi(&B), b0 + 2);
	wr(&B, EPF_MSIX_TABLE + 16 * 4 + 12, 0);
	cr_assert_eq(nmsi(&B), b0 + 3);
	cr_assert_eq(last_vector(&B), 4);

	/* the peer set up 4 vectors only: bit 2 (vector 4) has nowhere to go */
	cr_assert_eq(cmd(&B, CMD_CONFIGURE_DOORBELL, MSIX_ENABLE | 4), COMMAND_STATUS_OK);
	peer_db_set(&A, 1u << 2);
	ntb_service(B.ntb);
	cr_assert_eq(nmsi(&B), b0 + 3);
	ntb_get_stats(A.ntb, &st);
	cr_assert_eq(st.dropped_doorbells, 1u);
	peer_db_set(&A, 1u << 1);
	ntb_service(B.ntb);
	cr_assert_eq(last_vector(&B), 3);
	/* after TEARDOWN_DOORBELL nothing reaches it */
	cr_assert_eq(cmd(&B, CMD_TEARDOWN_DOORBELL, 5), COMMAND_STATUS_OK);
	peer_db_set(&A, 1u << 0);
	ntb_service(B.ntb);
	cr_assert_eq(nmsi(&B), b0 + 4);
}

Test(ntb_epf_pair, mw_translation_maps_the_peers_bar_onto_this_ram)
{
	struct t_map *m;
	uint32_t v;

	/* A's ntb_transport: ntb_mw_set_trans(MW1 -> A's buffer at 0x80000) */
	cr_assert_eq(set_trans(&A, 0, 0x80000, KiB(512)), COMMAND_STATUS_OK);
	cr_assert_null(t_find_map(&B, E_MW1_BASE), "B has not looked yet");
	ntb_service(B.ntb);
	m = t_find_map(&B, E_MW1_BASE);
	cr_assert_not_null(m, "B's MW1 is a memslot");
	cr_assert_eq(m->size, KiB(512));
	A.ram[0x80000] = 0x33; /* B's own mapping of A's memfd, at A's 0x80000 */
	cr_assert_eq(m->hva[0], 0x33);
	/* B's stores through the window (as the trap handler carries them too) land in A */
	fake_write(&B.host, BUS_MMIO, E_MW1_BASE + 0x10, 0xdeadbeef, 4);
	memcpy(&v, A.ram + 0x80010, 4);
	cr_assert_eq(v, 0xdeadbeefu);
	cr_assert_eq(fake_read(&B.host, BUS_MMIO, E_MW1_BASE + 0x10, 4), 0xdeadbeefu);
	/* the doorbell area below MW1 is not RAM */
	cr_assert_eq(fake_read(&B.host, BUS_MMIO, E_BAR2, 4), 0u);

	/* MW2 (BAR3) onto A's high RAM */
	cr_assert_eq(set_trans(&A, 1, T_HIGH_GPA + 0x10000, E_MW2), COMMAND_STATUS_OK);
	ntb_service(B.ntb);
	m = t_find_map(&B, E_BAR3);
	cr_assert_not_null(m);
	A.ram[MiB(1) + 0x10000] = 0x44;
	cr_assert_eq(m->hva[0], 0x44);
	cr_assert_eq(m->size, E_MW2);

	/* the mapping is per direction: A's own windows go nowhere */
	cr_assert_null(t_find_map(&A, E_MW1_BASE));
	cr_assert_eq(fake_read(&A.host, BUS_MMIO, E_MW1_BASE, 4), 0xffffffffu);

	/* B's BAR2 moves: the memslot follows */
	cfg_write(&B, PCI_BASE_ADDRESS_0 + 8, 0xc0400000u, 4);
	cr_assert_null(t_find_map(&B, E_MW1_BASE));
	cr_assert_not_null(t_find_map(&B, 0xc0400000u + E_MW1));
}

Test(ntb_epf_pair, teardown_mw_unmaps_and_stores_are_dropped)
{
	struct ntb_stats st;

	cr_assert_eq(set_trans(&A, 0, 0x80000, KiB(512)), COMMAND_STATUS_OK);
	ntb_service(B.ntb);
	cr_assert_not_null(t_find_map(&B, E_MW1_BASE));
	cr_assert_eq(cmd(&A, CMD_TEARDOWN_MW, 0), COMMAND_STATUS_OK);
	ntb_service(B.ntb);
	cr_assert_null(t_find_map(&B, E_MW1_BASE));
	cr_assert_eq(B.unmap_calls, 1);
	A.ram[0x80000] = 0x5a;
	fake_write(&B.host, BUS_MMIO, E_MW1_BASE, 0x77, 1);
	cr_assert_eq(A.ram[0x80000], 0x5a);
	cr_assert_eq(fake_read(&B.host, BUS_MMIO, E_MW1_BASE, 4), 0xffffffffu);
	ntb_get_stats(B.ntb, &st);
	cr_assert_eq(st.dropped_stores, 1u);
	cr_assert_eq(st.dropped_loads, 1u);
}

Test(ntb_epf_pair, an_unaligned_size_is_carried_by_the_trap_handler)
{
	struct ntb_stats st;
	uint32_t v;

	/* ntb_epf_mw_get_align: size_align 1 */
	cr_assert_eq(set_trans(&A, 0, 0x80000, 0x1800), COMMAND_STATUS_OK);
	ntb_service(B.ntb);
	cr_assert_null(t_find_map(&B, E_MW1_BASE), "not a whole page: no memslot");
	fake_write(&B.host, BUS_MMIO, E_MW1_BASE + 0x17fc, 0x01020304, 4);
	memcpy(&v, A.ram + 0x817fc, 4);
	cr_assert_eq(v, 0x01020304u);
	fake_write(&B.host, BUS_MMIO, E_MW1_BASE + 0x1800, 0x99, 4);
	cr_assert_eq(A.ram[0x81800], 0, "beyond the translated size");
	ntb_get_stats(B.ntb, &st);
	cr_assert_eq(st.trapped_copies, 1u);
	cr_assert_eq(st.dropped_stores, 1u);
}

/* A's vmm did not know its RAM (or lies): B checks against A's layout before mapping. */
Test(ntb_epf_pair, the_mapping_side_checks_the_translation_again)
{
	ntb_set_own_ram(A.ntb, &(struct ntb_ram){.nregions = 0});
	cr_assert_eq(set_trans(&A, 0, MiB(2), KiB(4)), COMMAND_STATUS_OK, "A cannot tell");
	ntb_service(B.ntb);
	cr_assert_null(t_find_map(&B, E_MW1_BASE));
	fake_write(&B.host, BUS_MMIO, E_MW1_BASE, 0x99, 4);
	cr_assert_eq(fake_read(&B.host, BUS_MMIO, E_MW1_BASE, 4), 0xffffffffu);
	cr_assert_eq(set_trans(&A, 0, 0xff000, 0x2000), COMMAND_STATUS_OK);
	ntb_service(B.ntb);
	cr_assert_null(t_find_map(&B, E_MW1_BASE), "straddles the end of a region");
}

Test(ntb_epf_pair, peer_loss_takes_the_link_and_windows_down_and_a_new_peer_comes_up)
{
	int b0;

	cr_assert_eq(cmd(&A, CMD_LINK_UP, 0), COMMAND_STATUS_OK);
	cr_assert_eq(cmd(&B, CMD_LINK_UP, 0), COMMAND_STATUS_OK);
	ntb_service(A.ntb);
	cr_assert_eq(set_trans(&A, 0, 0x80000, KiB(512)), COMMAND_STATUS_OK);
	wr(&A, EPF_SPAD_OFFSET, 0x42);
	ntb_service(B.ntb);
	cr_assert(epf_link_up(&B));
	cr_assert_not_null(t_find_map(&B, E_MW1_BASE));
	b0 = nmsi(&B);

	/* A's process dies (the link thread saw the socket close) */
	ntb_peer_lost(B.ntb);
	cr_assert_eq(epf_link_up(&B), false);
	cr_assert_eq(nmsi(&B), b0 + 1);
	cr_assert_eq(last_vector(&B), 0);
	cr_assert_null(t_find_map(&B, E_MW1_BASE));
	cr_assert_eq(fake_read(&B.host, BUS_MMIO, E_BAR1, 4), 0u, "A's spads are gone");
	side_fini(&A);

	/* a new A: fresh guest, so its driver asks for the link again */
	epf_side_init(&A, 0, true);
	cr_assert_eq(ntb_set_peer(A.ntb, B.port, &B.nram, ntb_kick_fd(B.ntb)), 0);
	cr_assert_eq(ntb_set_peer(B.ntb, A.port, &A.nram, ntb_kick_fd(A.ntb)), 0);
	cr_assert_eq(ntb_join(A.ntb, ntb_shm_fd(B.ntb)), 0);
	ntb_service(B.ntb);
	init_isr(&A, EPF_NR_VECTORS);
	cr_assert_eq(epf_link_up(&B), false, "the new A has not asked yet");
	cr_assert_eq(fake_read(&B.host, BUS_MMIO, E_BAR1, 4), 0u, "spads of the new A");
	cr_assert_eq(cmd(&A, CMD_LINK_UP, 0), COMMAND_STATUS_OK);
	ntb_service(B.ntb);
	cr_assert(epf_link_up(&A));
	cr_assert(epf_link_up(&B));
	cr_assert_eq(last_vector(&A), 0);
	cr_assert_eq(last_vector(&B), 0);
	cr_assert_eq(nmsi(&B), b0 + 2);
}

Test(ntb_epf_pair, an_orderly_exit_is_link_down_for_the_survivor)
{
	int a0;

	cr_assert_eq(cmd(&A, CMD_LINK_UP, 0), COMMAND_STATUS_OK);
	cr_assert_eq(cmd(&B, CMD_LINK_UP, 0), COMMAND_STATUS_OK);
	ntb_service(A.ntb);
	cr_assert(epf_link_up(&A));
	a0 = nmsi(&A);
	side_fini(&B);
	ntb_service(A.ntb);
	cr_assert_eq(epf_link_up(&A), false);
	cr_assert_eq(nmsi(&A), a0 + 1);
}

Test(ntb_epf_mix, an_idt_and_an_epf_function_do_not_pair)
{
	struct side a, b;

	side_init(&a, 0); /* idt */
	epf_side_init(&b, 2, true);
	cr_assert_eq(ntb_join(b.ntb, ntb_shm_fd(a.ntb)), -EINVAL);
	cr_assert_eq(ntb_join(a.ntb, ntb_shm_fd(b.ntb)), -EINVAL);
	side_fini(&b);
	side_fini(&a);
}

struct hs {
	struct side *s;
	int sock, ret;
	bool listener;
};

static void *handshake_thread(void *arg)
{
	struct hs *h = arg;

	h->ret = ntb_link_handshake(h->s->ntb, h->sock, h->listener, &h->s->nram);
	return NULL;
}

Test(ntb_epf_mix, the_hello_refuses_another_personality)
{
	struct side a, b;
	struct hs ha, hb;
	pthread_t t;
	int sv[2];

	side_init(&a, 0);
	epf_side_init(&b, 2, false);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ha = (struct hs){&a, sv[0], 0, true};
	hb = (struct hs){&b, sv[1], 0, false};
	cr_assert_eq(pthread_create(&t, NULL, handshake_thread, &ha), 0);
	handshake_thread(&hb);
	pthread_join(t, NULL);
	cr_assert_eq(ha.ret, -EINVAL);
	cr_assert_eq(hb.ret, -EINVAL);
	close(sv[0]);
	close(sv[1]);
	side_fini(&b);
	side_fini(&a);
}

Test(ntb_epf_mix, epf_window_sizes_must_fit_32_bit_bars)
{
	struct ntb_config cfg = {.name = "x", .port = 0, .personality = NTB_EPF};
	char err[200];

	cfg.mw_size[0] = 0;
	cr_assert_null(ntb_create(&cfg, &t_wops, NULL, err, sizeof(err)));
	cfg.mw_size[0] = MiB(512);
	cr_assert_null(ntb_create(&cfg, &t_wops, NULL, err, sizeof(err)));
	cr_assert(strstr(err, "256 MiB"), "%s", err);
}

/* ---- two processes over the real rendezvous ---- */

static bool up_cond(void *s)
{
	return epf_link_up(s);
}

static bool down_cond(void *s)
{
	return !epf_link_up(s);
}

struct win_want {
	struct side *s;
	uint32_t want;
};

static bool window_cond(void *arg)
{
	struct win_want *w = arg;

	return fake_read(&w->s->host, BUS_MMIO, E_MW1_BASE, 4) == w->want;
}

struct vec_want {
	struct side *s;
	int vec;
};

static bool vector_cond(void *arg)
{
	struct vec_want *v = arg;
	int n = nmsi(v->s);

	for (int i = 0; i < n && i < FAKE_MAX; i++)
		if ((int)v->s->host.msi_data[i] - E_DATA_BASE == v->vec)
			return true;
	return false;
}

/*
 * The peer process, as its ntb_hw_epf + ntb_transport would: doorbells, link up, MW1 onto
 * its RAM at 0x2000 holding `word`, doorbell bit 0 to us once the link is up. Exit codes
 * name the step that failed.
 */
static void epf_peer_main(const char *path, const char *unused, uint32_t word)
{
	struct side b;
	struct ntb_link *l;
	char err[200];

	(void)unused;
	epf_side_init(&b, 2, false);
	l = ntb_link_start(b.ntb, path, &b.nram, err, sizeof(err));
	if (!l)
		_exit(10);
	if (!wait_for(link_connected_cond, l, 10000))
		_exit(11);
	enable_msix(&b);
	if (cmd(&b, CMD_CONFIGURE_DOORBELL, MSIX_ENABLE | 32) != COMMAND_STATUS_OK)
		_exit(12);
	memcpy(b.ram + 0x2000, &word, 4);
	if (set_trans(&b, 0, 0x2000, KiB(64)) != COMMAND_STATUS_OK)
		_exit(13);
	if (cmd(&b, CMD_LINK_UP, 0) != COMMAND_STATUS_OK)
		_exit(14);
	if (!wait_for(up_cond, &b, 10000))
		_exit(15);
	peer_db_set(&b, 1u << 0);
	for (;;)
		pause();
}

Test(ntb_epf_link, a_peer_killed_and_restarted_takes_the_link_down_and_up, .timeout = 60)
{
	char path[80], err[200];
	struct side a;
	struct ntb_link *l;
	struct win_want w = {&a, 0x11111111u};
	struct vec_want db = {&a, 2}, lk = {&a, 0};
	pid_t pid;
	int status, n0;

	struct zygote z;

	snprintf(path, sizeof(path), "/tmp/vmm-ntb-epf-test-%d.sock", (int)getpid());
	zygote_start(&z, epf_peer_main); /* before ntb_link_start's thread */
	epf_side_init(&a, 0, false);
	init_isr(&a, EPF_NR_VECTORS);
	cr_assert_eq(cmd(&a, CMD_LINK_UP, 0), COMMAND_STATUS_OK, "asked before the peer exists");
	l = ntb_link_start(a.ntb, path, &a.nram, err, sizeof(err));
	cr_assert(l, "%s", err);
	pid = zygote_spawn(&z, path, NULL, w.want);
	cr_assert(wait_for(link_connected_cond, l, 10000), "connected");
	cr_assert(wait_for(up_cond, &a, 10000), "link up");
	cr_assert(wait_for(vector_cond, &lk, 10000), "link vector");
	cr_assert(wait_for(window_cond, &w, 10000), "MW1 reaches the peer's RAM");
	cr_assert(wait_for(vector_cond, &db, 10000), "doorbell bit 0 = vector 2");

	n0 = nmsi(&a);
	kill(pid, SIGKILL);
	status = zygote_wait(&z, pid);
	cr_assert(WIFSIGNALED(status), "peer exit status %d", WEXITSTATUS(status));
	cr_assert(wait_for(down_cond, &a, 10000), "link down after kill -9");
	cr_assert(wait_for(link_lost_cond, l, 10000), "peer loss noticed");
	cr_assert_geq(nmsi(&a), n0 + 1, "link vector on the way down");
	cr_assert_eq(fake_read(&a.host, BUS_MMIO, E_MW1_BASE, 4), 0xffffffffu, "window gone");

	w.want = 0x22222222u;
	pid = zygote_spawn(&z, path, NULL, w.want);
	cr_assert(wait_for(up_cond, &a, 10000), "link up with the new peer");
	cr_assert(wait_for(window_cond, &w, 10000), "MW1 reaches the new peer's RAM");

	ntb_link_stop(l);
	kill(pid, SIGKILL);
	zygote_wait(&z, pid);
	zygote_stop(&z);
	side_fini(&a);
	unlink(path);
	strcat(path, ".lock");
	unlink(path);
}

/* What the PCI core's DMA hook will call when a device of B's machine writes into B's BARs. */
Test(ntb_epf_pair, bus_master_access_reaches_windows_and_doorbells)
{
	uint32_t v = 0xcafef00du, r = 0;
	int a0 = nmsi(&A);

	cr_assert_eq(set_trans(&A, 0, 0x80000, KiB(512)), COMMAND_STATUS_OK);
	ntb_service(B.ntb);
	cr_assert(ntb_bar_rw(B.ntb, 2, E_MW1 + 0x100, &v, 4, true));
	cr_assert_eq(memcmp(A.ram + 0x80100, &v, 4), 0);
	cr_assert(ntb_bar_rw(B.ntb, 2, E_MW1 + 0x100, &r, 4, false));
	cr_assert_eq(r, v);
	cr_assert_not(ntb_bar_rw(B.ntb, 2, E_MW1 + KiB(512), &v, 4, true), "beyond SIZE");
	cr_assert_not(ntb_bar_rw(B.ntb, 3, 0, &v, 4, true), "MW2 untranslated");
	cr_assert_not(ntb_bar_rw(B.ntb, 0, 0, &v, 4, true), "registers are not DMA targets");
	/* a DMA write to doorbell entry 3 rings A's vector 3 */
	cr_assert(ntb_bar_rw(B.ntb, 2, 3 * EPF_DB_ENTRY_SIZE, &v, 4, true));
	ntb_service(A.ntb);
	cr_assert_eq(nmsi(&A), a0 + 1);
	cr_assert_eq(last_vector(&A), 3);
}
