/* SPDX-License-Identifier: MIT */
/* PCI core: MSI, MSI-X (table, PBA, masking) and INTx (swizzle, INTX_DISABLE, sharing). */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>

#include "test_pci_fake.h"

static struct topo t;

#define BAR0  0xc0000000ULL
#define TABLE 0x2000
#define PBA   0x3000

static void setup(void)
{
	topo_init(&t, NULL);
	/* a device on bus 0 with MSI and 4 MSI-X vectors in its register BAR */
	cr_assert_eq(pci_dev_set_bar(&t.hb, 0, PCI_BAR_MEM32, false, KiB(16), &regs_ops, &t.regs[0],
				     NULL),
		     0);
	cr_assert_eq(pci_add_msi(&t.hb, true), 0);
	cr_assert_eq(pci_add_msix(&t.hb, 4, 0, TABLE, PBA), 0);
	cfg_wr(&t, 0, 0, 0, PCI_BASE_ADDRESS_0, (uint32_t)BAR0, 4);
	cfg_wr(&t, 0, 0, 0, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	cr_assert_eq(t.hb.bars[0].mapped_addr, BAR0);
}

static void teardown(void)
{
	topo_fini(&t);
}

TestSuite(pci_irq, .init = setup, .fini = teardown);

static uint64_t mmio_rd(uint64_t off, unsigned size)
{
	return fake_read(&t.host, BUS_MMIO, BAR0 + off, size);
}

static void mmio_wr(uint64_t off, uint64_t v, unsigned size)
{
	fake_write(&t.host, BUS_MMIO, BAR0 + off, v, size);
}

static unsigned msix_cap(void)
{
	return t.hb.msix.cap;
}

static void msix_ctrl(uint16_t v)
{
	cfg_wr(&t, 0, 0, 0, msix_cap() + PCI_MSIX_FLAGS, v, 2);
}

static void program_vector(int v, uint64_t addr, uint32_t data)
{
	mmio_wr(TABLE + 16 * (unsigned)v, addr, 8);
	mmio_wr(TABLE + 16 * (unsigned)v + 8, data, 4);
}

static void unmask_vector(int v)
{
	mmio_wr(TABLE + 16 * (unsigned)v + 12, 0, 4);
}

Test(pci_irq, msix_capability_registers)
{
	unsigned cap = msix_cap();

	cr_assert_eq(cfg_rd(&t, 0, 0, 0, cap, 1), PCI_CAP_ID_MSIX);
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, cap + PCI_MSIX_FLAGS, 2), 3); /* N - 1 */
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, cap + PCI_MSIX_TABLE, 4), TABLE | 0);
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, cap + PCI_MSIX_PBA, 4), PBA | 0);
	msix_ctrl(0xffff);
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, cap + PCI_MSIX_FLAGS, 2), 0xc003);
	cfg_wr(&t, 0, 0, 0, cap + PCI_MSIX_TABLE, 0xffffffff, 4);
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, cap + PCI_MSIX_TABLE, 4), TABLE);
}

Test(pci_irq, msix_entries_start_masked_and_pba_is_read_only)
{
	for (int v = 0; v < 4; v++)
		cr_assert_eq(mmio_rd(TABLE + 16 * (unsigned)v + 12, 4), 1);
	mmio_wr(PBA, ~0ULL, 8);
	cr_assert_eq(mmio_rd(PBA, 8), 0);
	/* vector control keeps only the mask bit */
	mmio_wr(TABLE + 12, 0xfffffffe, 4);
	cr_assert_eq(mmio_rd(TABLE + 12, 4), 0);
}

Test(pci_irq, msix_table_takes_dword_and_qword_accesses_only)
{
	program_vector(1, 0xfee01000, 0x4041);
	cr_assert_eq(mmio_rd(TABLE + 16, 8), 0xfee01000);
	cr_assert_eq(mmio_rd(TABLE + 24, 4), 0x4041);
	cr_assert_eq(mmio_rd(TABLE + 24, 8), 0x0000000100004041ULL);
	cr_assert_eq(mmio_rd(TABLE + 16, 2) & 0xffff, 0xffff);	       /* not a dword */
	cr_assert_eq(mmio_rd(TABLE + 18, 4) & 0xffffffff, 0xffffffff); /* unaligned */
	mmio_wr(TABLE + 16, 0x1234, 2);
	mmio_wr(TABLE + 20, 0x1234, 8); /* misaligned qword */
	cr_assert_eq(mmio_rd(TABLE + 16, 8), 0xfee01000);
	/* the registers around the table still reach the device */
	mmio_wr(0x10, 0xabcd, 4);
	cr_assert_eq(t.regs[0].last_off, 0x10);
	cr_assert_eq(mmio_rd(0x10, 4), 0xabcd);
	cr_assert_eq(t.regs[0].writes, 1);
}

Test(pci_irq, notify_without_msi_or_msix_returns_false)
{
	cr_assert_not(pci_notify(&t.hb, 0));
	cr_assert_eq(t.host.nmsi, 0);
}

Test(pci_irq, msix_masked_vector_sets_pba_and_unmask_delivers_once)
{
	program_vector(2, 0xfee00000, 0x31);
	msix_ctrl(PCI_MSIX_FLAGS_ENABLE);
	cr_assert(pci_notify(&t.hb, 2));
	cr_assert_eq(t.host.nmsi, 0);
	cr_assert_eq(mmio_rd(PBA, 8), 1 << 2);
	cr_assert(pci_notify(&t.hb, 2)); /* still one pending bit */
	unmask_vector(2);
	cr_assert_eq(t.host.nmsi, 1);
	cr_assert_eq(t.host.msi_addr[0], 0xfee00000);
	cr_assert_eq(t.host.msi_data[0], 0x31);
	cr_assert_eq(mmio_rd(PBA, 8), 0);
	unmask_vector(2);
	cr_assert_eq(t.host.nmsi, 1);
	cr_assert(pci_notify(&t.hb, 2));
	cr_assert_eq(t.host.nmsi, 2);
}

Test(pci_irq, msix_function_mask_holds_every_vector)
{
	program_vector(0, 0xfee00000, 0x40);
	program_vector(3, 0xfee02000, 0x43);
	unmask_vector(0);
	unmask_vector(3);
	msix_ctrl(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	cr_assert(pci_notify(&t.hb, 0));
	cr_assert(pci_notify(&t.hb, 3));
	cr_assert_eq(t.host.nmsi, 0);
	cr_assert_eq(mmio_rd(PBA, 4), 0x9);
	msix_ctrl(PCI_MSIX_FLAGS_ENABLE);
	cr_assert_eq(t.host.nmsi, 2);
	cr_assert_eq(t.host.msi_data[0], 0x40);
	cr_assert_eq(t.host.msi_data[1], 0x43);
	cr_assert_eq(mmio_rd(PBA, 4), 0);
}

Test(pci_irq, msix_vector_out_of_range_is_refused)
{
	msix_ctrl(PCI_MSIX_FLAGS_ENABLE);
	cr_assert_not(pci_notify(&t.hb, 4));
	cr_assert_not(pci_notify(&t.hb, -1));
	cr_assert_not(pci_notify(&t.hb, 1 << 30));
	cr_assert_eq(mmio_rd(PBA, 8), 0);
}

Test(pci_irq, msix_takes_precedence_over_msi)
{
	unsigned msi = t.hb.msi.cap;

	cfg_wr(&t, 0, 0, 0, msi + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE, 2);
	program_vector(1, 0xfee00000, 0x51);
	unmask_vector(1);
	msix_ctrl(PCI_MSIX_FLAGS_ENABLE);
	cr_assert(pci_notify(&t.hb, 1));
	cr_assert_eq(t.host.msi_data[0], 0x51);
}

Test(pci_irq, msi_capability_registers)
{
	unsigned msi = t.hb.msi.cap;

	cr_assert_eq(cfg_rd(&t, 0, 0, 0, msi, 1), PCI_CAP_ID_MSI);
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, msi + PCI_MSI_FLAGS, 2),
		     PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT);
	cfg_wr(&t, 0, 0, 0, msi + PCI_MSI_FLAGS, 0xffff, 2);
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, msi + PCI_MSI_FLAGS, 2),
		     PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT | PCI_MSI_FLAGS_ENABLE);
	cfg_wr(&t, 0, 0, 0, msi + PCI_MSI_ADDRESS_LO, 0xffffffff, 4);
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, msi + PCI_MSI_ADDRESS_LO, 4), 0xfffffffc);
	cfg_wr(&t, 0, 0, 0, msi + PCI_MSI_MASK_64, 0xffffffff, 4);
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, msi + PCI_MSI_MASK_64, 4), 1);
	cfg_wr(&t, 0, 0, 0, msi + PCI_MSI_PENDING_64, 0xffffffff, 4);
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, msi + PCI_MSI_PENDING_64, 4), 0);
}

Test(pci_irq, msi_delivers_address_and_data)
{
	unsigned msi = t.hb.msi.cap;

	cfg_wr(&t, 0, 0, 0, msi + PCI_MSI_ADDRESS_LO, 0xfee0100c, 4);
	cfg_wr(&t, 0, 0, 0, msi + PCI_MSI_ADDRESS_HI, 0, 4);
	cfg_wr(&t, 0, 0, 0, msi + PCI_MSI_DATA_64, 0x4023, 2);
	cfg_wr(&t, 0, 0, 0, msi + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE, 2);
	cr_assert(pci_notify(&t.hb, 0));
	cr_assert_eq(t.host.nmsi, 1);
	cr_assert_eq(t.host.msi_addr[0], 0xfee0100c);
	cr_assert_eq(t.host.msi_data[0], 0x4023);
	/* one message allocated: every vector is signalled as message 0 */
	cr_assert(pci_notify(&t.hb, 3));
	cr_assert_eq(t.host.msi_data[1], 0x4023);
}

Test(pci_irq, msi_mask_holds_and_unmask_delivers)
{
	unsigned msi = t.hb.msi.cap;

	cfg_wr(&t, 0, 0, 0, msi + PCI_MSI_ADDRESS_LO, 0xfee00000, 4);
	cfg_wr(&t, 0, 0, 0, msi + PCI_MSI_DATA_64, 0x22, 2);
	cfg_wr(&t, 0, 0, 0, msi + PCI_MSI_MASK_64, 1, 4);
	cfg_wr(&t, 0, 0, 0, msi + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE, 2);
	cr_assert(pci_notify(&t.hb, 0));
	cr_assert_eq(t.host.nmsi, 0);
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, msi + PCI_MSI_PENDING_64, 4), 1);
	cfg_wr(&t, 0, 0, 0, msi + PCI_MSI_MASK_64, 0, 4);
	cr_assert_eq(t.host.nmsi, 1);
	cr_assert_eq(t.host.msi_data[0], 0x22);
	cr_assert_eq(cfg_rd(&t, 0, 0, 0, msi + PCI_MSI_PENDING_64, 4), 0);
}

Test(pci_irq, messages_need_bus_mastering)
{
	unsigned msi = t.hb.msi.cap;

	cfg_wr(&t, 0, 0, 0, msi + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE, 2);
	cfg_wr(&t, 0, 0, 0, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	cr_assert(pci_notify(&t.hb, 0));
	cr_assert_eq(t.host.nmsi, 0);
}

Test(pci_irq, add_msix_rejects_bad_layouts)
{
	static struct pci_dev d;

	pci_dev_init(&d, "d", 1, 2, 0, 0, false);
	cr_assert_eq(pci_add_msix(&d, 4, 0, 0, 0x100), -EINVAL); /* no BAR yet */
	cr_assert_eq(pci_dev_set_bar(&d, 0, PCI_BAR_MEM32, false, KiB(4), NULL, NULL, NULL), 0);
	cr_assert_eq(pci_add_msix(&d, 0, 0, 0, 0x100), -EINVAL);
	cr_assert_eq(pci_add_msix(&d, 2049, 0, 0, 0x100), -EINVAL);
	cr_assert_eq(pci_add_msix(&d, 16, 0, 0, 0x80), -EINVAL);    /* overlap */
	cr_assert_eq(pci_add_msix(&d, 16, 0, 0xf80, 0x0), -EINVAL); /* table past the BAR */
	cr_assert_eq(pci_add_msix(&d, 16, 0, 0x4, 0x800), -EINVAL); /* unaligned */
	cr_assert_eq(pci_add_msix(&d, 16, 0, 0, 0x1000), -EINVAL);  /* PBA past the BAR */
	cr_assert_eq(pci_add_msix(&d, 256, 0, 0, 0x1000 - 32), -EINVAL);
	cr_assert_eq(pci_add_msix(&d, 16, 0, 0, 0x100), 0);
	pci_dev_destroy(&d);
}

/* ---- INTx ---- */

Test(pci_irq, intx_gsi_swizzles_through_every_bridge)
{
	static struct pci_dev a;

	pci_set_intx_pin(&t.hb, 1);
	cr_assert_eq(pci_intx_gsi(&t.hb), 16);
	pci_set_intx_pin(&t.rp, 1);
	cr_assert_eq(pci_intx_gsi(&t.rp), 17); /* slot 1, INTA */
	/* ep1: slot 0 behind dn1 (slot 1) behind up (slot 0) behind rp (slot 1), INTB */
	pci_set_intx_pin(&t.ep[1], 2);
	/* pin B(1) -> +0 = 1 at dn1 -> +1 = 2 at up -> +0 = 2 at rp; rp slot 1: (1+2)%4 = 3 */
	cr_assert_eq(pci_intx_gsi(&t.ep[1]), 19);
	pci_dev_init(&a, "a", 1, 2, 0, 0, false);
	pci_set_intx_pin(&a, 4);
	cr_assert_eq(pci_bus_add(&t.root.bus0, &a, PCI_DEVFN(6, 0)), 0);
	cr_assert_eq(pci_intx_gsi(&a), 16 + (6 + 3) % 4);
	pci_set_intx_pin(&a, 0);
	cr_assert_eq(pci_intx_gsi(&a), PCI_NO_GSI);
	cr_assert_eq(cfg_rd(&t, 0, 6, 0, PCI_INTERRUPT_PIN, 1), 0);
}

Test(pci_irq, intx_level_sets_status_and_the_line)
{
	pci_set_intx_pin(&t.hb, 1);
	pci_intx_set(&t.hb, true);
	cr_assert(cfg_rd(&t, 0, 0, 0, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	cr_assert_eq(t.host.gsi_level[16], 1);
	pci_intx_set(&t.hb, false);
	cr_assert_not(cfg_rd(&t, 0, 0, 0, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	cr_assert_eq(t.host.gsi_level[16], 0);
}

Test(pci_irq, intx_disable_masks_the_line_but_not_the_status)
{
	pci_set_intx_pin(&t.hb, 1);
	cfg_wr(&t, 0, 0, 0, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE, 2);
	pci_intx_set(&t.hb, true);
	cr_assert(cfg_rd(&t, 0, 0, 0, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	cr_assert_eq(t.host.intx_calls, 0);
	cfg_wr(&t, 0, 0, 0, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	cr_assert_eq(t.host.gsi_level[16], 1);
	cfg_wr(&t, 0, 0, 0, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE, 2);
	cr_assert_eq(t.host.gsi_level[16], 0);
	cr_assert_eq(t.host.intx_calls, 2);
}

Test(pci_irq, shared_line_stays_up_while_any_device_asserts)
{
	static struct pci_dev a;

	pci_dev_init(&a, "a", 1, 2, 0, 0, false);
	cr_assert_eq(pci_bus_add(&t.root.bus0, &a, PCI_DEVFN(4, 0)), 0); /* slot 4 INTA: 16 */
	pci_set_intx_pin(&a, 1);
	pci_set_intx_pin(&t.hb, 1);
	pci_intx_set(&t.hb, true);
	pci_intx_set(&a, true);
	pci_intx_set(&t.hb, false);
	cr_assert_eq(t.host.gsi_level[16], 1);
	pci_intx_set(&a, false);
	cr_assert_eq(t.host.gsi_level[16], 0);
	cr_assert_eq(t.host.intx_calls, 2);
}

Test(pci_irq, intx_without_pin_does_nothing)
{
	pci_intx_set(&t.hb, true);
	cr_assert_eq(t.host.intx_calls, 0);
}

/*
 * A logical clock orders notifications and deliveries per vector. PCIe 5.0 6.1.4.5: a
 * notification while masked leaves the vector pending and the message goes out once it is
 * unmasked, so however the race interleaves, the last notification of every vector must be
 * followed by a delivery of that vector. A lost pending bit leaves it without one.
 */
static uint64_t clock_now, notified_at[4], sent_at[4], sent[4];

static void stamped_msi(void *o, uint64_t addr, uint32_t data)
{
	unsigned v = data - 0x60;

	cr_assert_lt(v, 4u);
	__atomic_store_n(&sent_at[v], __atomic_add_fetch(&clock_now, 1, __ATOMIC_SEQ_CST),
			 __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&sent[v], 1, __ATOMIC_RELAXED);
}

static void *notify_loop(void *arg)
{
	for (int i = 0; i < 20000; i++) {
		__atomic_store_n(&notified_at[i & 3],
				 __atomic_add_fetch(&clock_now, 1, __ATOMIC_SEQ_CST),
				 __ATOMIC_SEQ_CST);
		pci_notify(&t.hb, i & 3);
	}
	return NULL;
}

Test(pci_irq, notify_races_with_table_writes_without_losing_pending_bits)
{
	static struct pci_host_ops stamped;
	pthread_t th;

	stamped = fake_host_ops;
	stamped.msi = stamped_msi;
	t.root.host = &stamped;
	for (int v = 0; v < 4; v++)
		program_vector(v, 0xfee00000, 0x60 + (uint32_t)v);
	msix_ctrl(PCI_MSIX_FLAGS_ENABLE);
	cr_assert_eq(pthread_create(&th, NULL, notify_loop, NULL), 0);
	for (int i = 0; i < 20000; i++)
		mmio_wr(TABLE + 16 * (unsigned)(i & 3) + 12, (uint64_t)(i >> 2) & 1, 4);
	pthread_join(th, NULL);
	for (int v = 0; v < 4; v++)
		unmask_vector(v);
	cr_assert_eq(mmio_rd(PBA, 8), 0, "nothing left pending once every vector is unmasked");
	for (int v = 0; v < 4; v++) {
		cr_assert_gt(sent_at[v], notified_at[v],
			     "vector %d: its last notification was never delivered", v);
		cr_assert_leq(sent[v], 5000, "at most one message per notification");
	}
}
