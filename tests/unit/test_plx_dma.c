/* SPDX-License-Identifier: MIT */
/*
 * The PLX DMA engine driven through its registers the way Linux's plx_dma.c does, against
 * a fake guest RAM (64 MiB at 0), a recording host, and a second function with a trapped
 * BAR that accepts DMA through the PCI core's dma_rw hook.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <time.h>

#include "devices/plx-dma/plx_dma.h"
#include "tests/unit/test_ntb.h"
#include "tests/unit/test_pci_fake.h"

#define P_DEVFN	  PCI_DEVFN(2, 0)
#define P_BAR0	  0xc0100000ull
#define TGT_DEVFN PCI_DEVFN(3, 0)
#define TGT_BAR	  0xc0200000ull
#define TGT_SIZE  KiB(64)
#define RING	  0x10000ull
#define NDESC	  2048 /* PLX_DMA_RING_COUNT */
#define MSI_DATA  0x45
#define RAM_SIZE  MiB(64)
#define RESET_VAL                                                                                  \
	(PLX_CTRL_DESC_INVALID | PLX_CTRL_GRACEFUL_PAUSE_DONE | PLX_CTRL_ABORT_DONE |              \
	 PLX_CTRL_IMM_PAUSE_DONE)
#define START_VAL                                                                                  \
	(PLX_CTRL_WRITE_BACK_EN | PLX_CTRL_DESC_MODE_OFF_CHIP | PLX_CTRL_START | RESET_VAL)

static struct guest_mem mem;
static struct fake_host host;
static struct pci_root root;
static struct plx_dma *p;
/* where the engine's function lives: the plain rig, or NTB side A */
static struct fake_host *hp = &host;
static struct pci_root *rp = &root;

/* The DMA target: a function whose trapped BAR0 takes DMA through the hook. */
static struct pci_dev tgt;
static struct regs tgt_regs;
static uint8_t tgt_mem[TGT_SIZE];
static int tgt_calls;
static bool tgt_refuse;

static int tgt_dma(void *opaque, uint64_t off, void *buf, uint64_t len, bool write)
{
	cr_assert_eq(opaque, &tgt_regs, "the hook gets the BAR's opaque");
	tgt_calls++;
	if (tgt_refuse || off > TGT_SIZE || len > TGT_SIZE - off)
		return -EFAULT;
	if (write)
		memcpy(tgt_mem + off, buf, len);
	else
		memcpy(buf, tgt_mem + off, len);
	return 0;
}

static uint8_t *ram(uint64_t gpa)
{
	return mem_gpa_to_hva(&mem, gpa, 1);
}

static void cfg_w(uint8_t devfn, unsigned off, uint32_t v, unsigned size)
{
	pci_config_write(rp, 0, devfn, off, v, size);
}

static uint32_t rd32(unsigned off)
{
	return (uint32_t)fake_read(hp, BUS_MMIO, P_BAR0 + off, 4);
}

static uint16_t rd16(unsigned off)
{
	return (uint16_t)fake_read(hp, BUS_MMIO, P_BAR0 + off, 2);
}

static void wr32(unsigned off, uint32_t v)
{
	fake_write(hp, BUS_MMIO, P_BAR0 + off, v, 4);
}

static void wr16(unsigned off, uint16_t v)
{
	fake_write(hp, BUS_MMIO, P_BAR0 + off, v, 2);
}

static void rig_init(bool threaded)
{
	char err[200];

	memset(&host, 0, sizeof(host));
	cr_assert_eq(mem_init(&mem, RAM_SIZE, false, err, sizeof(err)), 0, "%s", err);
	pci_root_init(&root, &fake_host_ops, &host, &mem, MEM_ECAM_BASE);
	p = plx_dma_create("dma0", threaded);
	cr_assert(p);
	cr_assert_eq(pci_bus_add(&root.bus0, &p->pci, P_DEVFN), 0);
	cfg_w(P_DEVFN, PCI_BASE_ADDRESS_0, (uint32_t)P_BAR0, 4);
	cfg_w(P_DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);

	memset(&tgt_regs, 0, sizeof(tgt_regs));
	memset(tgt_mem, 0, sizeof(tgt_mem));
	tgt_calls = 0;
	tgt_refuse = false;
	pci_dev_init(&tgt, "tgt", 0x1234, 0x0001, 0x058000, 0, false);
	cr_assert_eq(pci_dev_set_bar(&tgt, 0, PCI_BAR_MEM32, false, TGT_SIZE, &regs_ops, &tgt_regs,
				     NULL),
		     0);
	cr_assert_eq(pci_dev_set_bar_dma(&tgt, 0, tgt_dma), 0);
	cr_assert_eq(pci_bus_add(&root.bus0, &tgt, TGT_DEVFN), 0);
	cfg_w(TGT_DEVFN, PCI_BASE_ADDRESS_0, (uint32_t)TGT_BAR, 4);
	cfg_w(TGT_DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
}

static void setup_inline(void)
{
	rig_init(false);
}

static void setup_threaded(void)
{
	rig_init(true);
}

static void teardown(void)
{
	plx_dma_quiesce(p);
	pci_root_destroy(&root);
	plx_dma_destroy(p);
	p = NULL;
	mem_free(&mem);
}

static void enable_msi(void)
{
	uint8_t cap = p->pci.msi.cap;

	cr_assert(cap);
	cfg_w(P_DEVFN, cap + PCI_MSI_ADDRESS_LO, 0xfee00000u, 4);
	cfg_w(P_DEVFN, cap + PCI_MSI_DATA_64, MSI_DATA, 2);
	cfg_w(P_DEVFN, cap + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE, 2);
}

/* plx_dma_alloc_chan_resources */
static void ring_setup(uint64_t ring, uint32_t count)
{
	wr32(PLX_REG_CTRL, RESET_VAL);
	wr32(PLX_REG_DESC_RING_ADDR, (uint32_t)ring);
	wr32(PLX_REG_DESC_RING_ADDR_HI, (uint32_t)(ring >> 32));
	wr32(PLX_REG_DESC_RING_NEXT_ADDR, (uint32_t)ring);
	wr32(PLX_REG_DESC_RING_COUNT, count);
	wr32(PLX_REG_PREF_LIMIT, 8);
}

/* plx_dma_prep_memcpy + plx_dma_tx_submit, descriptor i of the ring at `ring` */
static void put_desc_at(uint64_t ring, int i, uint64_t dst, uint64_t src, uint32_t len, bool irq)
{
	uint8_t *d = ram(ring + PLX_DESC_SIZE * (uint64_t)i);

	bus_store_le(d + 4, dst >> 32, 2);
	bus_store_le(d + 6, src >> 32, 2);
	bus_store_le(d + 8, (uint32_t)dst, 4);
	bus_store_le(d + 12, (uint32_t)src, 4);
	bus_store_le(d, len | (irq ? PLX_DESC_FLAG_INT_WHEN_DONE : 0) | PLX_DESC_FLAG_VALID, 4);
}

static void put_desc(int i, uint64_t dst, uint64_t src, uint32_t len, bool irq)
{
	put_desc_at(RING, i, dst, src, len, irq);
}

static uint32_t desc_flags(int i)
{
	return (uint32_t)bus_load_le(ram(RING + PLX_DESC_SIZE * (uint64_t)i), 4);
}

/* plx_dma_issue_pending */
static void issue(void)
{
	wr16(PLX_REG_CTRL, START_VAL);
}

/* plx_dma_isr: read status, write it back */
static uint16_t isr(void)
{
	uint16_t st = rd16(PLX_REG_INTR_STATUS);

	if (st)
		wr16(PLX_REG_INTR_STATUS, st);
	return st;
}

static void fill(uint64_t gpa, uint64_t len, unsigned seed)
{
	uint8_t *b = ram(gpa);

	for (uint64_t i = 0; i < len; i++)
		b[i] = (uint8_t)(i * 7 + seed);
}

TestSuite(plx_dma, .init = setup_inline, .fini = teardown);
TestSuite(plx_dma_thread, .init = setup_threaded, .fini = teardown);

Test(plx_dma, identity_matches_the_driver_id_table)
{
	cr_assert_eq(pci_config_read(&root, 0, P_DEVFN, PCI_VENDOR_ID, 4), 0x87d010b5u);
	cr_assert_eq(pci_config_read(&root, 0, P_DEVFN, PCI_REVISION_ID, 4) >> 8, 0x088000u,
		     "class PCI_CLASS_SYSTEM_OTHER << 8, prog-if 0 (class_mask is all ones)");
	cr_assert_eq(p->pci.bars[0].size, PLX_DMA_BAR0_SIZE);
	cr_assert_eq(p->pci.bars[0].mapped_addr, P_BAR0);
	cr_assert_neq(p->pci.msi.cap, 0, "MSI for pci_alloc_irq_vectors");
	cr_assert_eq(p->pci.msix.nvec, 0);
	cr_assert_eq(pci_config_read(&root, 0, P_DEVFN, PCI_INTERRUPT_PIN, 1), 1);
}

Test(plx_dma, ring_registers_read_back_and_ctrl_is_idle)
{
	cr_assert_eq(rd32(PLX_REG_CTRL), 0, "__plx_dma_stop returns early on an idle engine");
	ring_setup(0x123456789000ull, NDESC);
	cr_assert_eq(rd32(PLX_REG_DESC_RING_ADDR), 0x56789000u);
	cr_assert_eq(rd32(PLX_REG_DESC_RING_ADDR_HI), 0x1234u);
	cr_assert_eq(rd32(PLX_REG_DESC_RING_NEXT_ADDR), 0x56789000u);
	cr_assert_eq(rd32(PLX_REG_DESC_RING_COUNT), NDESC);
	cr_assert_eq(rd32(PLX_REG_PREF_LIMIT), 8);
	cr_assert_eq(rd32(PLX_REG_CTRL), 0, "RESET_VAL's status bits are write-1-to-clear");
	wr32(PLX_REG_INTR_CTRL, PLX_INTR_ERROR | PLX_INTR_INV_DESC);
	cr_assert_eq(rd16(PLX_REG_INTR_CTRL), PLX_INTR_ERROR | PLX_INTR_INV_DESC);
	cr_assert_eq(rd16(PLX_REG_INTR_STATUS), 0);
	wr32(PLX_REG_DESC_RING_LAST_ADDR, 0x1000);
	cr_assert_eq(rd32(PLX_REG_DESC_RING_LAST_ADDR), 0, "read-only");
}

Test(plx_dma, single_copy_writes_back_success_and_raises_msi)
{
	enable_msi();
	ring_setup(RING, NDESC);
	fill(0x100000, 4096, 1);
	put_desc(0, 0x200000, 0x100000, 4096, true);
	issue();
	cr_assert_eq(memcmp(ram(0x200000), ram(0x100000), 4096), 0);
	cr_assert_eq(desc_flags(0), PLX_DESC_WB_SUCCESS | 4096,
		     "VALID cleared, SUCCESS, SIZE = bytes moved (residue 0)");
	cr_assert_eq(host.nmsi, 1);
	cr_assert_eq(host.msi_data[0], MSI_DATA);
	cr_assert_eq(host.msi_addr[0], 0xfee00000u);
	cr_assert_eq(rd32(PLX_REG_DESC_RING_NEXT_ADDR), RING + 16);
	cr_assert_eq(rd32(PLX_REG_DESC_RING_LAST_ADDR), RING);
	cr_assert_eq(rd32(PLX_REG_DESC_RING_LAST_SIZE), 4096);
	/* stopped at descriptor 1 (not VALID), waiting for the next START */
	cr_assert_eq(rd32(PLX_REG_CTRL) & PLX_CTRL_IN_PROGRESS, 0);
	cr_assert(rd32(PLX_REG_CTRL) & PLX_CTRL_DESC_INVALID);
	cr_assert_eq(isr() & PLX_INTR_DESC_DONE, PLX_INTR_DESC_DONE);
	cr_assert_eq(rd16(PLX_REG_INTR_STATUS) & PLX_INTR_DESC_DONE, 0, "write-1-to-clear");
	cr_assert_eq(host.nmsi, 1, "clearing everything sends nothing");
}

Test(plx_dma, multi_descriptor_copy_interrupts_only_where_asked)
{
	struct plx_dma_stats st;

	enable_msi();
	ring_setup(RING, NDESC);
	fill(0x100000, 3 * 65536, 3);
	for (int i = 0; i < 3; i++)
		put_desc(i, 0x400000 + 65536 * (uint64_t)i, 0x100000 + 65536 * (uint64_t)i, 65536,
			 i == 2);
	issue();
	for (int i = 0; i < 3; i++)
		cr_assert_eq(desc_flags(i), PLX_DESC_WB_SUCCESS | 65536, "descriptor %d", i);
	cr_assert_eq(memcmp(ram(0x400000), ram(0x100000), 3 * 65536), 0);
	cr_assert_eq(host.nmsi, 1, "only the last descriptor had INT_WHEN_DONE");
	cr_assert_eq(rd32(PLX_REG_DESC_RING_NEXT_ADDR), RING + 48);
	/* the driver submits more and issues again: the engine resumes where it stopped */
	isr();
	put_desc(3, 0x600000, 0x100000, 100, true);
	issue();
	cr_assert_eq(desc_flags(3), PLX_DESC_WB_SUCCESS | 100);
	cr_assert_eq(host.nmsi, 2);
	plx_dma_get_stats(p, &st);
	cr_assert_eq(st.descriptors, 4);
	cr_assert_eq(st.bytes, 3 * 65536 + 100);
	cr_assert_eq(st.failed, 0);
}

Test(plx_dma, msi_is_resent_when_a_status_write_leaves_causes_pending)
{
	enable_msi();
	ring_setup(RING, NDESC);
	put_desc(0, 0x200000, 0x100000, 16, true);
	issue();
	cr_assert_eq(host.nmsi, 1);
	/* a second completion lands while the ISR runs: still pending after its write */
	put_desc(1, 0x200000, 0x100000, 16, true);
	issue();
	cr_assert_eq(host.nmsi, 1, "DESC_DONE was already pending");
	wr16(PLX_REG_INTR_STATUS, PLX_INTR_INV_DESC);
	cr_assert_eq(host.nmsi, 2, "DESC_DONE still pending after a partial clear");
	isr();
	cr_assert_eq(host.nmsi, 2);
}

Test(plx_dma, intx_follows_pending_causes_without_msi)
{
	uint32_t gsi = pci_intx_gsi(&p->pci);

	ring_setup(RING, NDESC);
	put_desc(0, 0x200000, 0x100000, 64, false);
	issue();
	cr_assert_eq(host.gsi_level[gsi], 0, "no INT_WHEN_DONE, INV_DESC not enabled");
	put_desc(1, 0x200000, 0x100000, 64, true);
	issue();
	cr_assert_eq(host.gsi_level[gsi], 1);
	cr_assert_eq(host.nmsi, 0);
	isr();
	cr_assert_eq(host.gsi_level[gsi], 0);
	/* an enabled cause: INV_DESC at the end of the submitted work */
	wr16(PLX_REG_INTR_CTRL, PLX_INTR_INV_DESC);
	put_desc(2, 0x200000, 0x100000, 64, false);
	issue();
	cr_assert_eq(host.gsi_level[gsi], 1);
	cr_assert_eq(isr(), PLX_INTR_INV_DESC);
	cr_assert_eq(host.gsi_level[gsi], 0);
}

Test(plx_dma, ring_wraps_from_the_last_descriptor_to_the_first)
{
	ring_setup(RING, 4);
	wr32(PLX_REG_DESC_RING_NEXT_ADDR, RING + 3 * 16);
	fill(0x100000, 256, 9);
	put_desc(3, 0x300000, 0x100000, 128, false);
	put_desc(0, 0x300080, 0x100080, 128, false);
	issue();
	cr_assert_eq(desc_flags(3), PLX_DESC_WB_SUCCESS | 128);
	cr_assert_eq(desc_flags(0), PLX_DESC_WB_SUCCESS | 128);
	cr_assert_eq(memcmp(ram(0x300000), ram(0x100000), 256), 0);
	cr_assert_eq(rd32(PLX_REG_DESC_RING_NEXT_ADDR), RING + 16);
	cr_assert_eq(desc_flags(1), 0, "descriptor 1 untouched: ring of 4");
}

Test(plx_dma, a_source_outside_ram_fails_the_descriptor_not_the_engine)
{
	struct plx_dma_stats st;

	enable_msi();
	ring_setup(RING, NDESC);
	wr16(PLX_REG_INTR_CTRL, PLX_INTR_ERROR);
	put_desc(0, 0x200000, 0xe0000000ull, 4096, true);	 /* a hole */
	put_desc(1, 0x200000, RAM_SIZE - 4096, 3 * 4096, false); /* runs past RAM */
	put_desc(2, 0x200000, 0x100000, 512, false);		 /* still runs */
	issue();
	cr_assert_eq(desc_flags(0), PLX_DESC_WB_RD_FAIL | 0, "read failure, nothing moved");
	cr_assert_eq(desc_flags(1), PLX_DESC_WB_RD_FAIL | 0,
		     "a chunk past RAM fails whole: 0 bytes moved");
	cr_assert_eq(desc_flags(2), PLX_DESC_WB_SUCCESS | 512);
	cr_assert_eq(isr(), PLX_INTR_DESC_DONE | PLX_INTR_ERROR | PLX_INTR_INV_DESC);
	plx_dma_get_stats(p, &st);
	cr_assert_eq(st.failed, 2);
}

Test(plx_dma, a_partial_transfer_reports_the_bytes_moved)
{
	/* 256 KiB chunks: the first lands in RAM, the second would run past it */
	ring_setup(RING, NDESC);
	put_desc(0, RAM_SIZE - KiB(256), 0x100000, KiB(256) + 4096, false);
	issue();
	cr_assert_eq(desc_flags(0), PLX_DESC_WB_WR_FAIL | KiB(256));
	cr_assert_eq(rd32(PLX_REG_DESC_RING_LAST_SIZE), KiB(256));
}

Test(plx_dma, a_zero_length_descriptor_completes_moving_nothing)
{
	ring_setup(RING, NDESC);
	put_desc(0, 0xe0000000ull, 0xe0000000ull, 0, false);
	issue();
	cr_assert_eq(desc_flags(0), PLX_DESC_WB_SUCCESS | 0);
}

Test(plx_dma, the_largest_descriptor_length_is_bounded_by_ram)
{
	/* SIZE is 27 bits (PLX_DESC_SIZE_MASK): 128 MiB - 1 from 1 MiB overruns 64 MiB RAM */
	ring_setup(RING, NDESC);
	put_desc(0, 0x100000, 0x200000, PLX_DESC_SIZE_MASK, false);
	issue();
	cr_assert_eq(desc_flags(0) & ~PLX_DESC_SIZE_MASK, PLX_DESC_WB_RD_FAIL);
	cr_assert_lt(desc_flags(0) & PLX_DESC_SIZE_MASK, RAM_SIZE);
}

Test(plx_dma, its_own_bar_is_never_a_dma_target)
{
	wr32(PLX_REG_DESC_RING_COUNT, 0x77);
	ring_setup(RING, NDESC);
	put_desc(0, P_BAR0 + PLX_REG_DESC_RING_COUNT, 0x100000, 4, false);
	put_desc(1, 0x100000, P_BAR0, 16, false);
	issue();
	cr_assert_eq(desc_flags(0), PLX_DESC_WB_WR_FAIL);
	cr_assert_eq(desc_flags(1), PLX_DESC_WB_RD_FAIL);
	cr_assert_eq(rd32(PLX_REG_DESC_RING_COUNT), NDESC);
	/* even with a DMA hook on it */
	cr_assert_eq(pci_dev_set_bar_dma(&p->pci, 0, tgt_dma), 0);
	put_desc(2, P_BAR0, 0x100000, 4, false);
	issue();
	cr_assert_eq(desc_flags(2), PLX_DESC_WB_WR_FAIL);
	cr_assert_eq(tgt_calls, 0);
}

Test(plx_dma, bad_ring_registers_refuse_start)
{
	struct plx_dma_stats st;

	wr16(PLX_REG_INTR_CTRL, PLX_INTR_ERROR);
	ring_setup(RING, 0);
	put_desc(0, 0x200000, 0x100000, 16, false);
	issue();
	cr_assert_eq(desc_flags(0) & PLX_DESC_FLAG_VALID, PLX_DESC_FLAG_VALID, "count 0");
	cr_assert_eq(isr(), PLX_INTR_ERROR);
	wr32(PLX_REG_DESC_RING_COUNT, PLX_DMA_MAX_RING + 1);
	issue();
	cr_assert_eq(isr(), PLX_INTR_ERROR, "count over the limit");
	wr32(PLX_REG_DESC_RING_COUNT, 4);
	wr32(PLX_REG_DESC_RING_NEXT_ADDR, RING + 4 * 16);
	issue();
	cr_assert_eq(isr(), PLX_INTR_ERROR, "NEXT_ADDR past the ring");
	wr32(PLX_REG_DESC_RING_NEXT_ADDR, RING + 8);
	issue();
	cr_assert_eq(isr(), PLX_INTR_ERROR, "NEXT_ADDR between descriptors");
	/* a ring crossing a 4 GiB boundary cannot be followed with a 32-bit NEXT_ADDR */
	ring_setup(0xfffffff0ull, 2);
	issue();
	cr_assert_eq(isr(), PLX_INTR_ERROR);
	/* on-chip/block descriptor modes are not modelled */
	ring_setup(RING, 4);
	wr16(PLX_REG_CTRL, PLX_CTRL_START);
	cr_assert_eq(isr(), PLX_INTR_ERROR);
	cr_assert_eq(desc_flags(0) & PLX_DESC_FLAG_VALID, PLX_DESC_FLAG_VALID);
	plx_dma_get_stats(p, &st);
	cr_assert_eq(st.ring_errors, 6);
	cr_assert_eq(st.descriptors, 0);
	/* and a good ring still works afterwards */
	issue();
	cr_assert_eq(desc_flags(0), PLX_DESC_WB_SUCCESS | 16);
}

Test(plx_dma, a_ring_outside_ram_stops_the_engine_with_error)
{
	wr16(PLX_REG_INTR_CTRL, PLX_INTR_ERROR);
	ring_setup(0xe0000000ull, NDESC);
	issue();
	cr_assert_eq(rd32(PLX_REG_CTRL) & PLX_CTRL_IN_PROGRESS, 0);
	cr_assert_eq(isr(), PLX_INTR_ERROR);
	/* a ring that starts in RAM but ends beyond it fails where it leaves RAM */
	ring_setup(RAM_SIZE - 16, 2);
	put_desc_at(RAM_SIZE - 16, 0, 0x200000, 0x100000, 8, false);
	issue();
	cr_assert_eq((uint32_t)bus_load_le(ram(RAM_SIZE - 16), 4), PLX_DESC_WB_SUCCESS | 8);
	cr_assert_eq(isr(), PLX_INTR_ERROR, "the second descriptor is not in RAM");
}

Test(plx_dma, bus_mastering_off_fetches_nothing)
{
	wr16(PLX_REG_INTR_CTRL, PLX_INTR_ERROR);
	ring_setup(RING, NDESC);
	put_desc(0, 0x200000, 0x100000, 16, false);
	cfg_w(P_DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	issue();
	cr_assert_eq(desc_flags(0) & PLX_DESC_FLAG_VALID, PLX_DESC_FLAG_VALID);
	cr_assert_eq(isr(), PLX_INTR_ERROR);
}

Test(plx_dma, without_write_back_descriptors_stay_valid)
{
	ring_setup(RING, 2);
	fill(0x100000, 32, 5);
	put_desc(0, 0x200000, 0x100000, 32, false);
	wr16(PLX_REG_CTRL, (uint16_t)(START_VAL & ~PLX_CTRL_WRITE_BACK_EN));
	cr_assert_eq(memcmp(ram(0x200000), ram(0x100000), 32), 0);
	cr_assert(desc_flags(0) & PLX_DESC_FLAG_VALID);
	cr_assert_eq(rd32(PLX_REG_DESC_RING_LAST_SIZE), 32);
}

Test(plx_dma, stop_sequence_of_the_driver_on_an_idle_engine)
{
	/* __plx_dma_stop after some work: pause, poll for PAUSE_DONE, clear the ring */
	ring_setup(RING, NDESC);
	put_desc(0, 0x200000, 0x100000, 16, false);
	issue();
	cr_assert_neq(rd32(PLX_REG_CTRL) & ~PLX_CTRL_GRACEFUL_PAUSE, 0, "not skipped");
	wr32(PLX_REG_CTRL, RESET_VAL | PLX_CTRL_GRACEFUL_PAUSE);
	cr_assert(rd32(PLX_REG_CTRL) & PLX_CTRL_GRACEFUL_PAUSE_DONE);
	wr32(PLX_REG_CTRL, RESET_VAL | PLX_CTRL_GRACEFUL_PAUSE);
	cr_assert(rd32(PLX_REG_CTRL) & PLX_CTRL_GRACEFUL_PAUSE_DONE, "still paused");
	wr32(PLX_REG_DESC_RING_COUNT, 0);
	wr32(PLX_REG_DESC_RING_ADDR, 0);
	wr32(PLX_REG_DESC_RING_ADDR_HI, 0);
	wr32(PLX_REG_DESC_RING_NEXT_ADDR, 0);
	/* a START with the pause bit set does nothing */
	wr16(PLX_REG_CTRL, START_VAL | PLX_CTRL_GRACEFUL_PAUSE);
	cr_assert_eq(rd32(PLX_REG_CTRL) & PLX_CTRL_IN_PROGRESS, 0);
	/* abort on an idle engine is done at once */
	wr16(PLX_REG_CTRL, PLX_CTRL_ABORT);
	cr_assert(rd32(PLX_REG_CTRL) & PLX_CTRL_ABORT_DONE);
	/* and the next alloc_chan_resources + issue_pending run again */
	ring_setup(RING, NDESC);
	put_desc(0, 0x200000, 0x100000, 16, false);
	issue();
	cr_assert_eq(desc_flags(0), PLX_DESC_WB_SUCCESS | 16);
}

Test(plx_dma, dma_reaches_a_trapped_bar_through_its_hook)
{
	fill(0x100000, 4096, 11);
	ring_setup(RING, NDESC);
	put_desc(0, TGT_BAR + 0x100, 0x100000, 4096, false);
	put_desc(1, 0x300000, TGT_BAR + 0x100, 4096, false);
	issue();
	cr_assert_eq(desc_flags(0), PLX_DESC_WB_SUCCESS | 4096);
	cr_assert_eq(desc_flags(1), PLX_DESC_WB_SUCCESS | 4096);
	cr_assert_eq(memcmp(tgt_mem + 0x100, ram(0x100000), 4096), 0);
	cr_assert_eq(memcmp(ram(0x300000), ram(0x100000), 4096), 0);
	cr_assert_eq(tgt_calls, 2);
	cr_assert_eq(tgt_regs.writes + tgt_regs.reads, 0, "not through the register handlers");
	/* what the owner refuses (an NTB window with its peer gone) fails the descriptor */
	tgt_refuse = true;
	put_desc(2, TGT_BAR, 0x100000, 64, false);
	put_desc(3, TGT_BAR + TGT_SIZE - 32, 0x100000, 64, false); /* runs past the BAR */
	issue();
	cr_assert_eq(desc_flags(2), PLX_DESC_WB_WR_FAIL);
	cr_assert_eq(desc_flags(3), PLX_DESC_WB_WR_FAIL);
	cr_assert_eq(tgt_calls, 3, "a range past the BAR never reaches the hook");
}

/* ---- on the device's thread ---- */

static void wait_idle(void)
{
	cr_assert(plx_dma_wait_idle(p, 10000), "engine idle within 10 s");
}

Test(plx_dma_thread, copies_complete_asynchronously)
{
	enable_msi();
	ring_setup(RING, NDESC);
	fill(0x100000, MiB(1), 13);
	for (int i = 0; i < 16; i++)
		put_desc(i, 0x1000000 + MiB(1) * (uint64_t)i, 0x100000, MiB(1), i == 15);
	issue();
	wait_idle();
	for (int i = 0; i < 16; i++) {
		cr_assert_eq(desc_flags(i), PLX_DESC_WB_SUCCESS | MiB(1));
		cr_assert_eq(memcmp(ram(0x1000000 + MiB(1) * (uint64_t)i), ram(0x100000), MiB(1)),
			     0);
	}
	cr_assert_eq(host.nmsi, 1);
}

/* Many 1 MiB descriptors, then pause/abort while they run: the engine stops on a
 * descriptor boundary (pause) or mid-descriptor leaving it VALID (abort). */
static int run_and_stop(uint16_t how, uint32_t done_bit)
{
	int completed = 0, n = 48;
	struct timespec t0, now;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ring_setup(RING, NDESC);
	for (int i = 0; i < n; i++)
		put_desc(i, 0x1000000 + MiB(1) * (uint64_t)(i % 32), 0x100000, MiB(1), false);
	issue();
	/* let the first descriptor finish so the stop lands while the engine runs */
	while (__atomic_load_n((uint32_t *)ram(RING), __ATOMIC_ACQUIRE) & PLX_DESC_FLAG_VALID) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		cr_assert_lt(now.tv_sec - t0.tv_sec, 10, "first descriptor done within 10 s");
	}
	wr32(PLX_REG_CTRL, how);
	wait_idle();
	cr_assert(rd32(PLX_REG_CTRL) & done_bit);
	cr_assert_eq(rd32(PLX_REG_CTRL) & PLX_CTRL_IN_PROGRESS, 0);
	for (int i = 0; i < n; i++) {
		uint32_t f = desc_flags(i);

		if (f & PLX_DESC_FLAG_VALID) {
			cr_assert_eq(f & PLX_DESC_SIZE_MASK, MiB(1), "untouched");
			continue;
		}
		cr_assert_eq(f, PLX_DESC_WB_SUCCESS | MiB(1), "descriptor %d", i);
		cr_assert_eq(completed, i, "completed in order");
		completed++;
	}
	cr_assert_geq(completed, 1);
	return completed;
}

Test(plx_dma_thread, graceful_pause_stops_between_descriptors)
{
	int done = run_and_stop(RESET_VAL | PLX_CTRL_GRACEFUL_PAUSE, PLX_CTRL_GRACEFUL_PAUSE_DONE);

	cr_log_info("pause: %d of 48 descriptors done", done);
	/* resume: clear pause and START again; the rest completes */
	wr32(PLX_REG_CTRL, RESET_VAL);
	issue();
	wait_idle();
	for (int i = 0; i < 48; i++)
		cr_assert_eq(desc_flags(i), PLX_DESC_WB_SUCCESS | MiB(1), "descriptor %d", i);
}

Test(plx_dma_thread, abort_stops_and_leaves_the_rest_valid)
{
	wr16(PLX_REG_INTR_CTRL, PLX_INTR_ABORT_DONE);
	enable_msi();
	cr_log_info("abort: %d of 48 descriptors done",
		    run_and_stop(PLX_CTRL_ABORT, PLX_CTRL_ABORT_DONE));
	cr_assert(rd16(PLX_REG_INTR_STATUS) & PLX_INTR_ABORT_DONE);
	cr_assert_geq(host.nmsi, 1);
}

Test(plx_dma_thread, destroy_while_running_does_not_hang)
{
	ring_setup(RING, NDESC);
	for (int i = 0; i < 64; i++)
		put_desc(i, 0x1000000, 0x100000, MiB(8), false);
	issue();
	/* teardown destroys the device with descriptors in flight */
}

/* A throughput note, not a pass/fail bound: RAM to RAM and RAM to a hooked BAR. */
Test(plx_dma_thread, copy_throughput)
{
	struct timespec a, b;
	double s;
	int n = 24;

	ring_setup(RING, NDESC);
	for (int i = 0; i < n; i++)
		put_desc(i, 0x2000000, 0x1000000, MiB(16), false);
	clock_gettime(CLOCK_MONOTONIC, &a);
	issue();
	wait_idle();
	clock_gettime(CLOCK_MONOTONIC, &b);
	s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	cr_assert_eq(desc_flags(n - 1), PLX_DESC_WB_SUCCESS | MiB(16));
	cr_log_info("plx-dma RAM->RAM: %d x 16 MiB in %.3f s = %.0f MB/s", n, s,
		    (double)n * MiB(16) / s / 1e6);

	ring_setup(RING, NDESC);
	for (int i = 0; i < 2048; i++)
		put_desc(i, TGT_BAR, 0x1000000, TGT_SIZE, false);
	clock_gettime(CLOCK_MONOTONIC, &a);
	issue();
	wait_idle();
	clock_gettime(CLOCK_MONOTONIC, &b);
	s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	cr_assert_eq(desc_flags(2047), PLX_DESC_WB_SUCCESS | TGT_SIZE);
	cr_log_info("plx-dma RAM->hooked BAR: 2048 x 64 KiB in %.3f s = %.0f MB/s", s,
		    2048.0 * TGT_SIZE / s / 1e6);
}

/* ---- DMA into an IDT NTB memory window (devices/ntb), as ntb_perf/ntb_transport use_dma ---- */

static struct side A, B;

static void ntb_rig(bool threaded)
{
	char err[200];

	cr_assert_eq(mem_init(&mem, RAM_SIZE, false, err, sizeof(err)), 0, "%s", err);
	side_init(&A, 0);
	side_init(&B, 2);
	A.root.mem = &mem; /* side A's guest RAM, where the ring and the sources live */
	hp = &A.host;
	rp = &A.root;
	p = plx_dma_create("dma0", threaded);
	cr_assert(p);
	cr_assert_eq(pci_bus_add(&A.root.bus0, &p->pci, P_DEVFN), 0);
	cfg_w(P_DEVFN, PCI_BASE_ADDRESS_0, (uint32_t)P_BAR0, 4);
	cfg_w(P_DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	pair_up(&A, &B);
}

static void setup_ntb(void)
{
	ntb_rig(false);
}

static void setup_ntb_threaded(void)
{
	ntb_rig(true);
}

static void teardown_ntb(void)
{
	plx_dma_quiesce(p);
	side_fini(&A);
	side_fini(&B);
	plx_dma_destroy(p);
	p = NULL;
	mem_free(&mem);
}

/* idt_ntb_peer_mw_set_trans on A's BAR2 towards B's partition (1) */
static void a_translate(uint64_t addr, uint64_t size)
{
	unsigned r = IDT_NT_BARSETUP0 + 0x10 * 2;
	uint64_t limit = size ? T_BAR2 + size : 0;
	uint32_t setup = nt_rd(&A, r);

	nt_wr(&A, r, (setup & ~IDT_BARSETUP_TPART_MASK) | 1u << IDT_BARSETUP_TPART_SHIFT);
	nt_wr(&A, r + IDT_BAR_LTBASE, (uint32_t)addr);
	nt_wr(&A, r + IDT_BAR_UTBASE, (uint32_t)(addr >> 32));
	nt_wr(&A, r + IDT_BAR_LIMIT, (uint32_t)limit);
	nt_wr(&A, r + 0x10 + IDT_BAR_LIMIT, (uint32_t)(limit >> 32));
}

TestSuite(plx_dma_ntb, .init = setup_ntb, .fini = teardown_ntb);

Test(plx_dma_ntb, memcpy_into_a_window_lands_in_the_peer_ram)
{
	struct ntb_stats st;

	a_translate(0x40000, KiB(256));
	cr_assert(t_find_map(&A, T_BAR2), "the window is a memslot for the CPU");
	cr_assert_null(pci_dma_map(&p->pci, T_BAR2, 16), "but no raw pointer for DMA");
	fill(0x100000, 8192, 21);
	ring_setup(RING, NDESC);
	put_desc(0, T_BAR2 + 0x10, 0x100000, 8192, false);
	/* and back: the peer's bytes read through the window */
	memcpy(B.ram + 0x40000 + KiB(128), "from the peer", 14);
	put_desc(1, 0x300000, T_BAR2 + KiB(128), 14, false);
	issue();
	cr_assert_eq(desc_flags(0), PLX_DESC_WB_SUCCESS | 8192);
	cr_assert_eq(memcmp(B.ram + 0x40010, ram(0x100000), 8192), 0);
	cr_assert_eq(desc_flags(1), PLX_DESC_WB_SUCCESS | 14);
	cr_assert_str_eq((char *)ram(0x300000), "from the peer");
	ntb_get_stats(A.ntb, &st);
	cr_assert_eq(st.dma_copies, 2);
	/* beyond the translated part (the limit) DMA is refused, as CPU stores are dropped */
	put_desc(2, T_BAR2 + KiB(256) - 8, 0x100000, 16, false);
	issue();
	cr_assert_eq(desc_flags(2), PLX_DESC_WB_WR_FAIL);
}

Test(plx_dma_ntb, unaligned_windows_take_dma_too)
{
	a_translate(0x40004, 0x1000);
	cr_assert_null(t_find_map(&A, T_BAR2), "trapped, not a memslot");
	fill(0x100000, 64, 3);
	ring_setup(RING, NDESC);
	put_desc(0, T_BAR2 + 8, 0x100000, 64, false);
	issue();
	cr_assert_eq(desc_flags(0), PLX_DESC_WB_SUCCESS | 64);
	cr_assert_eq(memcmp(B.ram + 0x4000c, ram(0x100000), 64), 0);
}

Test(plx_dma_ntb, peer_loss_fails_descriptors_instead_of_touching_unmapped_memory)
{
	struct ntb_stats st;

	a_translate(0x40000, KiB(64));
	ring_setup(RING, NDESC);
	ntb_peer_lost(A.ntb);
	put_desc(0, T_BAR2, 0x100000, 4096, false);
	put_desc(1, 0x300000, T_BAR2, 4096, false);
	issue();
	cr_assert_eq(desc_flags(0), PLX_DESC_WB_WR_FAIL);
	cr_assert_eq(desc_flags(1), PLX_DESC_WB_RD_FAIL);
	ntb_get_stats(A.ntb, &st);
	cr_assert_eq(st.dma_copies, 0);
	cr_assert_eq(st.dropped_stores, 1);
	cr_assert_eq(st.dropped_loads, 1);
}

TestSuite(plx_dma_ntb_thread, .init = setup_ntb_threaded, .fini = teardown_ntb);

/* The link thread drops the peer (killed) while the engine streams into its window: the
 * copies in flight finish or fail, none touches the unmapped RAM. */
Test(plx_dma_ntb_thread, peer_killed_during_a_stream_of_copies)
{
	int ok = 0, failed = 0;
	struct timespec t0, now;

	a_translate(0, MiB(1));
	ring_setup(RING, NDESC);
	for (int i = 0; i < NDESC; i++)
		put_desc(i, T_BAR2 + KiB(64) * (uint64_t)(i % 16), 0x100000, KiB(64), false);
	issue();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!(__atomic_load_n((uint32_t *)ram(RING + 8 * PLX_DESC_SIZE), __ATOMIC_ACQUIRE) &
		 PLX_DESC_WB_SUCCESS)) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		cr_assert_lt(now.tv_sec - t0.tv_sec, 10, "9 copies within 10 s");
	}
	ntb_peer_lost(A.ntb);
	cr_assert(plx_dma_wait_idle(p, 10000));
	for (int i = 0; i < NDESC; i++) {
		uint32_t f = desc_flags(i);

		if (f == (PLX_DESC_WB_SUCCESS | KiB(64)))
			cr_assert_eq(failed, 0, "no success after the first failure (%d)", i);
		ok += f == (PLX_DESC_WB_SUCCESS | KiB(64));
		failed += f == PLX_DESC_WB_WR_FAIL;
	}
	cr_log_info("peer lost after %d copies; %d failed", ok, failed);
	cr_assert_geq(ok, 9);
	cr_assert_eq(ok + failed, NDESC);
}
