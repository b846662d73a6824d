/* SPDX-License-Identifier: MIT */
/*
 * The PLX DMA engine (devices/plx-dma) driven through its registers as Linux's plx_dma does
 * (plx_dma_alloc_chan_resources, prep_memcpy + tx_submit, issue_pending, isr, __plx_dma_stop),
 * over 64 MiB of fake guest RAM, on bus 0 of a PCI root with a recording host. A second device
 * has a trapped BAR that takes bus-master accesses (pci_dev_set_bar_dma, as NTB windows do).
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "devices/plx-dma/plx_dma.h"
#include "test_pci_fake.h"

#define PLX_DEVFN  PCI_DEVFN(3, 0)
#define HOOK_DEVFN PCI_DEVFN(4, 0)
#define PLX_BAR	   0xc0000000ull
#define HOOK_BAR   0xc0100000ull
#define HOOK_SIZE  KiB(64)
#define RING	   0x100000ull /* 2048 descriptors, as the driver allocates */
#define NDESC	   2048u
#define RAM	   MiB(64)
#define MSI_DATA   0x4a

static struct fake_host host;
static struct pci_root root;
static struct guest_mem mem;
static struct plx_dma *plx;
static struct pci_dev hookdev;
static uint8_t hookbuf[HOOK_SIZE];
static int hook_calls;

static int hook_rw(void *opaque, int bar, uint64_t off, void *buf, uint64_t len, bool write)
{
	hook_calls++;
	cr_assert_eq(bar, 0);
	if (off >= 0x8000 || len > 0x8000 - off) /* only the first half "is translated" */
		return -EFAULT;
	if (write)
		memcpy(hookbuf + off, buf, len);
	else
		memcpy(buf, hookbuf + off, len);
	return 0;
}

static uint8_t *ram(uint64_t gpa)
{
	return mem_gpa_to_hva(&mem, gpa, 1);
}

static void cfgw(uint8_t devfn, unsigned off, uint32_t v, unsigned size)
{
	pci_config_write(&root, 0, devfn, off, v, size);
}

static uint32_t rd(unsigned off, unsigned size)
{
	return (uint32_t)fake_read(&host, BUS_MMIO, PLX_BAR + off, size);
}

static void wr(unsigned off, uint32_t v, unsigned size)
{
	fake_write(&host, BUS_MMIO, PLX_BAR + off, v, size);
}

static void setup(void)
{
	char err[200];

	memset(&host, 0, sizeof(host));
	memset(hookbuf, 0, sizeof(hookbuf));
	hook_calls = 0;
	cr_assert_eq(mem_init(&mem, RAM, false, err, sizeof(err)), 0, "%s", err);
	pci_root_init(&root, &fake_host_ops, &host, &mem, MEM_ECAM_BASE);
	plx = plx_dma_create("plx0");
	cr_assert(plx);
	cr_assert_eq(pci_bus_add(&root.bus0, &plx->pci, PLX_DEVFN), 0);
	pci_dev_init(&hookdev, "hook", 0x1234, 0x0003, 0xff0000, 0, false);
	cr_assert_eq(pci_dev_set_bar(&hookdev, 0, PCI_BAR_MEM32, false, HOOK_SIZE, &regs_ops, NULL,
				     NULL),
		     0);
	pci_dev_set_bar_dma(&hookdev, 0, hook_rw, NULL);
	cr_assert_eq(pci_bus_add(&root.bus0, &hookdev, HOOK_DEVFN), 0);
	cfgw(PLX_DEVFN, PCI_BASE_ADDRESS_0, (uint32_t)PLX_BAR, 4);
	cfgw(HOOK_DEVFN, PCI_BASE_ADDRESS_0, (uint32_t)HOOK_BAR, 4);
	cfgw(PLX_DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	cfgw(HOOK_DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
}

static void teardown(void)
{
	pci_root_destroy(&root);
	plx_dma_destroy(plx);
	mem_free(&mem);
}

TestSuite(plx_dma, .init = setup, .fini = teardown);

static void enable_msi(void)
{
	uint8_t cap = plx->pci.msi.cap;

	cr_assert(cap);
	cfgw(PLX_DEVFN, cap + PCI_MSI_ADDRESS_LO, 0xfee00000u, 4);
	cfgw(PLX_DEVFN, cap + PCI_MSI_DATA_64, MSI_DATA, 2);
	cfgw(PLX_DEVFN, cap + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE, 2);
}

/* plx_dma_alloc_chan_resources */
static void driver_setup(uint64_t ring, uint32_t count)
{
	wr(PLX_REG_CTRL, PLX_CTRL_STATUS, 4);
	wr(PLX_REG_DESC_RING_ADDR, (uint32_t)ring, 4);
	wr(PLX_REG_DESC_RING_ADDR_HI, (uint32_t)(ring >> 32), 4);
	wr(PLX_REG_DESC_RING_NEXT_ADDR, (uint32_t)ring, 4);
	wr(PLX_REG_DESC_RING_COUNT, count, 4);
	wr(PLX_REG_PREF_LIMIT, 8, 4);
}

/* plx_dma_prep_memcpy + plx_dma_tx_submit for descriptor i */
static void desc(unsigned i, uint64_t dst, uint64_t src, uint32_t len, bool irq)
{
	uint8_t *d = ram(RING + 16ull * i);

	bus_store_le(d + 4, (uint16_t)(dst >> 32), 2);
	bus_store_le(d + 6, (uint16_t)(src >> 32), 2);
	bus_store_le(d + 8, (uint32_t)dst, 4);
	bus_store_le(d + 12, (uint32_t)src, 4);
	bus_store_le(d, len | (irq ? PLX_DESC_FLAG_INT_WHEN_DONE : 0) | PLX_DESC_FLAG_VALID, 4);
}

static uint32_t wb(unsigned i)
{
	return (uint32_t)bus_load_le(ram(RING + 16ull * i), 4);
}

/* plx_dma_issue_pending: writew(PLX_REG_CTRL_START_VAL) */
static void start(void)
{
	wr(PLX_REG_CTRL, PLX_CTRL_WRITE_BACK_EN | (2u << 5) | PLX_CTRL_START | PLX_CTRL_STATUS, 2);
}

static void fill(uint64_t gpa, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		ram(gpa)[i] = (uint8_t)(seed + i * 7);
}

Test(plx_dma, identity_matches_plx_dma_pci_tbl)
{
	cr_assert_eq(pci_config_read(&root, 0, PLX_DEVFN, PCI_VENDOR_ID, 4), 0x87d010b5u);
	cr_assert_eq(pci_config_read(&root, 0, PLX_DEVFN, 0x08, 4) >> 8, 0x088000u);
	cr_assert_eq(pci_config_read(&root, 0, PLX_DEVFN, PCI_INTERRUPT_PIN, 1), 1u);
	cr_assert(plx->pci.msi.cap, "MSI for pci_alloc_irq_vectors(PCI_IRQ_ALL_TYPES)");
	cfgw(PLX_DEVFN, PCI_BASE_ADDRESS_0, 0xffffffffu, 4);
	cr_assert_eq(pci_config_read(&root, 0, PLX_DEVFN, PCI_BASE_ADDRESS_0, 4), 0xfffff000u);
}

Test(plx_dma, one_copy_writes_back_success_and_interrupts)
{
	struct plx_dma_stats st;

	enable_msi();
	driver_setup(RING, NDESC);
	fill(0x10000, 5000, 3);
	desc(0, 0x20003, 0x10000, 5000, true);
	start();
	cr_assert_eq(memcmp(ram(0x20003), ram(0x10000), 5000), 0);
	cr_assert_eq(wb(0), PLX_DESC_WB_SUCCESS | 5000u, "VALID clear, residue 0: 0x%x", wb(0));
	cr_assert_eq(rd(0x23e, 2), PLX_INTR_DESC_DONE);
	cr_assert_eq(host.nmsi, 1);
	cr_assert_eq(host.msi_data[0], MSI_DATA);
	cr_assert_eq(rd(PLX_REG_DESC_RING_NEXT_ADDR, 4), (uint32_t)RING + 16);
	cr_assert_eq(rd(PLX_REG_DESC_RING_LAST_ADDR, 4), (uint32_t)RING);
	cr_assert_eq(rd(PLX_REG_DESC_RING_LAST_SIZE, 4), 5000u);
	cr_assert(rd(PLX_REG_CTRL, 4) & PLX_CTRL_DESC_INVALID, "stopped at the empty slot");
	/* plx_dma_isr: write the status back to clear it */
	wr(0x23e, PLX_INTR_DESC_DONE, 2);
	cr_assert_eq(rd(0x23e, 2), 0u);
	/* the next submission continues at slot 1 */
	desc(1, 0x30000, 0x10000, 100, true);
	start();
	cr_assert_eq(wb(1), PLX_DESC_WB_SUCCESS | 100u);
	cr_assert_eq(host.nmsi, 2);
	plx_dma_get_stats(plx, &st);
	cr_assert_eq(st.descriptors, 2);
	cr_assert_eq(st.bytes, 5100);
	cr_assert_eq(st.failed, 0);
}

Test(plx_dma, a_batch_wraps_around_the_ring_and_interrupts_once_per_request)
{
	enable_msi();
	driver_setup(RING, 4);
	wr(PLX_REG_DESC_RING_NEXT_ADDR, (uint32_t)RING + 3 * 16, 4);
	fill(0x40000, 3 * 4096, 9);
	desc(3, 0x50000, 0x40000, 4096, false);
	desc(0, 0x51000, 0x41000, 4096, false);
	desc(1, 0x52000, 0x42000, 4096, true); /* DMA_PREP_INTERRUPT on the last only */
	start();
	cr_assert_eq(memcmp(ram(0x50000), ram(0x40000), 3 * 4096), 0);
	cr_assert_eq(wb(3), PLX_DESC_WB_SUCCESS | 4096u);
	cr_assert_eq(wb(0), PLX_DESC_WB_SUCCESS | 4096u);
	cr_assert_eq(wb(1), PLX_DESC_WB_SUCCESS | 4096u);
	cr_assert_eq(rd(PLX_REG_DESC_RING_NEXT_ADDR, 4), (uint32_t)RING + 2 * 16);
	cr_assert_eq(host.nmsi, 1);
}

Test(plx_dma, no_interrupt_unless_asked_and_intx_when_msi_is_off)
{
	driver_setup(RING, NDESC);
	desc(0, 0x20000, 0x10000, 64, false);
	start();
	cr_assert_eq(rd(0x23e, 2), 0u);
	cr_assert_eq(host.nmsi, 0);
	desc(1, 0x20000, 0x10000, 64, true);
	start();
	cr_assert_eq(host.nmsi, 0);
	cr_assert_eq(host.gsi_level[pci_intx_gsi(&plx->pci)], 1, "INTx asserted");
	wr(0x23e, PLX_INTR_DESC_DONE, 2);
	cr_assert_eq(host.gsi_level[pci_intx_gsi(&plx->pci)], 0, "and released on W1C");
}

Test(plx_dma, failed_reads_and_writes_are_written_back_and_the_ring_goes_on)
{
	struct plx_dma_stats st;

	driver_setup(RING, NDESC);
	fill(RAM - 4096, 4096, 1);
	desc(0, 0x20000, RAM - 4096, 8192, true); /* the second page is past the end of RAM */
	desc(1, RAM + 0x1000, 0x10000, 64, true); /* destination outside RAM */
	desc(2, PLX_BAR + PLX_REG_DESC_RING_COUNT, 0x10000, 4, true); /* its own registers */
	desc(3, 0x30000, 0x10000, 64, true);
	start();
	cr_assert_eq(wb(0), PLX_DESC_WB_RD_FAIL | 4096u, "0x%x", wb(0));
	cr_assert_eq(memcmp(ram(0x20000), ram(RAM - 4096), 4096), 0, "the part that existed");
	cr_assert_eq(wb(1), PLX_DESC_WB_WR_FAIL | 0u);
	cr_assert_eq(wb(2), PLX_DESC_WB_WR_FAIL | 0u);
	cr_assert_eq(rd(PLX_REG_DESC_RING_COUNT, 4), NDESC, "own registers untouched");
	cr_assert_eq(wb(3), PLX_DESC_WB_SUCCESS | 64u);
	cr_assert_eq(rd(0x23e, 2), PLX_INTR_DESC_DONE | PLX_INTR_ERROR);
	plx_dma_get_stats(plx, &st);
	cr_assert_eq(st.failed, 3);
	cr_assert_eq(st.descriptors, 4);
}

Test(plx_dma, an_unusable_ring_is_refused_without_touching_memory)
{
	wr(PLX_REG_INTR_CTRL, PLX_INTR_INV_DESC | PLX_INTR_ERROR, 2);
	enable_msi();
	driver_setup(RAM + MiB(1), NDESC); /* ring outside RAM */
	start();
	cr_assert_eq(rd(0x23e, 2), PLX_INTR_INV_DESC | PLX_INTR_ERROR);
	cr_assert_eq(host.nmsi, 1, "INV_DESC is enabled in INTR_CTRL");
	wr(0x23e, 0xffff, 2);
	driver_setup(RING, 0); /* no entries */
	start();
	cr_assert(rd(0x23e, 2) & PLX_INTR_INV_DESC);
	wr(0x23e, 0xffff, 2);
	driver_setup(RING, 4);
	wr(PLX_REG_DESC_RING_NEXT_ADDR, (uint32_t)RING + 4 * 16, 4); /* past the ring */
	desc(4, 0x20000, 0x10000, 64, true);
	start();
	cr_assert(rd(0x23e, 2) & PLX_INTR_INV_DESC);
	cr_assert_eq(wb(4) & PLX_DESC_FLAG_VALID, PLX_DESC_FLAG_VALID, "not executed");
	wr(0x23e, 0xffff, 2);
	driver_setup(RING, PLX_DMA_MAX_RING + 1); /* more than the engine takes */
	start();
	cr_assert(rd(0x23e, 2) & PLX_INTR_INV_DESC);
	/* and with bus mastering off nothing is fetched */
	wr(0x23e, 0xffff, 2);
	driver_setup(RING, NDESC);
	desc(0, 0x20000, 0x10000, 64, true);
	cfgw(PLX_DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	start();
	cr_assert_eq(wb(0) & PLX_DESC_FLAG_VALID, PLX_DESC_FLAG_VALID);
}

Test(plx_dma, graceful_pause_and_abort_complete_at_once)
{
	driver_setup(RING, NDESC);
	desc(0, 0x20000, 0x10000, 64, true);
	start();
	/* __plx_dma_stop: write RESET_VAL | GRACEFUL_PAUSE, poll for GRACEFUL_PAUSE_DONE */
	wr(PLX_REG_CTRL, PLX_CTRL_STATUS | PLX_CTRL_GRACEFUL_PAUSE, 4);
	cr_assert(rd(PLX_REG_CTRL, 4) & PLX_CTRL_GRACEFUL_PAUSE_DONE);
	cr_assert_eq(rd(PLX_REG_CTRL, 4) & PLX_CTRL_IN_PROGRESS, 0u);
	/* paused: START is ignored */
	desc(1, 0x20000, 0x10000, 64, true);
	wr(PLX_REG_CTRL, PLX_CTRL_START | PLX_CTRL_GRACEFUL_PAUSE, 2);
	cr_assert_eq(wb(1) & PLX_DESC_FLAG_VALID, PLX_DESC_FLAG_VALID);
	/* issue_pending's START_VAL clears the pause and runs */
	start();
	cr_assert_eq(wb(1), PLX_DESC_WB_SUCCESS | 64u);
	wr(PLX_REG_CTRL, PLX_CTRL_ABORT, 2);
	cr_assert(rd(PLX_REG_CTRL, 4) & PLX_CTRL_ABORT_DONE);
	cr_assert(rd(0x23e, 2) & PLX_INTR_ABORT_DONE);
}

Test(plx_dma, copies_reach_a_bar_through_its_dma_hook)
{
	fill(0x10000, 0x2000, 5);
	driver_setup(RING, NDESC);
	desc(0, HOOK_BAR + 0x100, 0x10000, 0x2000, true); /* into the hooked BAR */
	desc(1, 0x60000, HOOK_BAR + 0x100, 0x2000, true); /* and back out of it */
	desc(2, HOOK_BAR + 0x7f00, 0x10000, 0x200, true); /* runs past the translated half */
	start();
	cr_assert_eq(wb(0), PLX_DESC_WB_SUCCESS | 0x2000u);
	cr_assert_eq(memcmp(hookbuf + 0x100, ram(0x10000), 0x2000), 0);
	cr_assert_eq(wb(1), PLX_DESC_WB_SUCCESS | 0x2000u);
	cr_assert_eq(memcmp(ram(0x60000), ram(0x10000), 0x2000), 0);
	cr_assert_eq(wb(2) & ~PLX_DESC_SIZE_MASK, PLX_DESC_WB_WR_FAIL);
	cr_assert_gt(hook_calls, 2);
}

/* The PCI core's part: pci_dma_read/write fall back to a mapped BAR's dma_rw. */
Test(plx_dma, pci_dma_falls_back_to_the_bar_hook_only_when_it_applies)
{
	uint8_t b[16] = "through the bar";

	cr_assert_eq(pci_dma_write(&plx->pci, HOOK_BAR + 0x10, b, sizeof(b)), 0);
	cr_assert_str_eq((char *)hookbuf + 0x10, "through the bar");
	cr_assert_null(pci_dma_map(&plx->pci, HOOK_BAR + 0x10, 16), "no raw pointer into it");
	/* straddling the end of the BAR, beyond it, the hook refusing: -EFAULT */
	cr_assert_eq(pci_dma_write(&plx->pci, HOOK_BAR + HOOK_SIZE - 8, b, 16), -EFAULT);
	cr_assert_eq(pci_dma_read(&plx->pci, HOOK_BAR + HOOK_SIZE, b, 4), -EFAULT);
	cr_assert_eq(pci_dma_write(&plx->pci, HOOK_BAR + 0x9000, b, 4), -EFAULT);
	/* a trapped BAR without a hook (the PLX's own registers) */
	cr_assert_eq(pci_dma_write(&plx->pci, PLX_BAR, b, 4), -EFAULT);
	/* an unmapped BAR (memory decode off) is not reachable */
	cfgw(HOOK_DEVFN, PCI_COMMAND, 0, 2);
	cr_assert_eq(pci_dma_write(&plx->pci, HOOK_BAR + 0x10, b, 4), -EFAULT);
	cfgw(HOOK_DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	/* nor anything when the requester is not a bus master */
	cfgw(PLX_DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	cr_assert_eq(pci_dma_write(&plx->pci, HOOK_BAR + 0x10, b, 4), -EFAULT);
	cr_assert_eq(pci_dma_read(&plx->pci, 0x1000, b, 4), -EFAULT);
}
