/* SPDX-License-Identifier: MIT */
/*
 * MSI-X end to end (PCIe 5.0 6.1.4 and 7.7.2): a testdev writes its table entry's message
 * to 0xFEEx_xxxx, the VMM turns it into a local APIC interrupt (Intel SDM vol. 3 11.11:
 * message address = 0xFEE00000 | destination << 12, physical mode; data = fixed, edge,
 * vector). Masked entries leave the message pending in the PBA until unmasked.
 */
#include "pcie_enum.h"

#define LAPIC_BASE	 0xFEE00000ULL
#define LAPIC_ID	 0x20
#define LAPIC_TPR	 0x80
#define LAPIC_EOI	 0xb0
#define LAPIC_SVR	 0xf0
#define LAPIC_SVR_ENABLE 0x100
#define LAPIC_ISR	 0x100
#define LAPIC_IRR	 0x200
#define SPURIOUS_VECTOR	 0xff
#define MSIX_VECTOR	 0x40
#define MSI_ADDR_BASE	 0xFEE00000u

/* Bounds for waiting on a message, in TSC cycles: about 0.1 s and 20 ms at 2 GHz. */
#define WAIT_ARRIVE 200000000ULL
#define WAIT_ABSENT 40000000ULL

static volatile uint32_t msix_count;

static bool msix_hook(struct rt_frame *frame)
{
	if (frame->vector == MSIX_VECTOR) {
		msix_count++;
		mmio_write32(LAPIC_BASE + LAPIC_EOI, 0);
		return true;
	}
	return frame->vector == SPURIOUS_VECTOR; /* no EOI for spurious (SDM 11.9) */
}

/* Spin with interrupts on until msix_count reaches `want` or `cycles` pass. */
static bool wait_count(uint32_t want, uint64_t cycles)
{
	uint64_t t0 = rt_rdtsc();

	while (msix_count < want && rt_rdtsc() - t0 < cycles)
		rt_barrier();
	return msix_count >= want;
}

static uint32_t lapic_enable(void)
{
	uint32_t svr = mmio_read32(LAPIC_BASE + LAPIC_SVR);

	mmio_write32(LAPIC_BASE + LAPIC_SVR, (svr & ~0xffu) | LAPIC_SVR_ENABLE | SPURIOUS_VECTOR);
	mmio_write32(LAPIC_BASE + LAPIC_TPR, 0);
	return mmio_read32(LAPIC_BASE + LAPIC_ID) >> 24;
}

static uint32_t vec_bit(uint32_t reg_base, uint8_t vector)
{
	return mmio_read32(LAPIC_BASE + reg_base + 0x10 * (vector / 32)) >> (vector % 32) & 1;
}

static void report_lost(const char *name, const char *when, uint64_t pba)
{
	rt_fail("msix %s: no interrupt %s (count %u, PBA bit %u, APIC IRR bit %u ISR bit %u)", name,
		when, msix_count, mmio_read32(pba) & 1, vec_bit(LAPIC_IRR, MSIX_VECTOR),
		vec_bit(LAPIC_ISR, MSIX_VECTOR));
}

void msix_check(const struct pci_func *f, const char *name)
{
	uint8_t cap = f->msix;
	uint16_t ctrl;
	uint32_t table, pba_reg, apic_id;
	const struct bar *tb, *pb;
	uint64_t entry, pba, raise = f->bar[0].addr + TESTDEV_REG_RAISE;
	int errors = rt_failures;

	if (!cap) {
		rt_fail("msix %s: no MSI-X capability", name);
		return;
	}
	ctrl = cfg_read16(f, cap + PCI_MSIX_FLAGS);
	table = cfg_read32(f, cap + PCI_MSIX_TABLE);
	pba_reg = cfg_read32(f, cap + PCI_MSIX_PBA);
	tb = &f->bar[table & PCI_MSIX_BIR];
	pb = &f->bar[pba_reg & PCI_MSIX_BIR];
	if (tb->kind < BAR_MEM32 || pb->kind < BAR_MEM32 || (table & ~7u) >= tb->size ||
	    (pba_reg & ~7u) >= pb->size) {
		rt_fail("msix %s: table 0x%08x or PBA 0x%08x outside its BAR", name, table,
			pba_reg);
		return;
	}
	entry = tb->addr + (table & ~7u);
	pba = pb->addr + (pba_reg & ~7u);
	rt_printf("pcie-enum: msix %s vectors %u table 0x%llx pba 0x%llx\n", name,
		  (ctrl & PCI_MSIX_FLAGS_QSIZE) + 1u, (unsigned long long)entry,
		  (unsigned long long)pba);

	apic_id = lapic_enable();
	msix_count = 0;
	rt_set_trap_hook(msix_hook);
	/* Linux's order (msix_capability_init): enable with all masked, program, unmask. */
	cfg_write16(f, cap + PCI_MSIX_FLAGS,
		    (uint16_t)(ctrl | PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL));
	mmio_write32(entry + 0, MSI_ADDR_BASE | (apic_id & 0xff) << 12);
	mmio_write32(entry + 4, 0);
	mmio_write32(entry + 8, MSIX_VECTOR);
	mmio_write32(entry + PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
	cfg_write16(f, cap + PCI_MSIX_FLAGS,
		    (uint16_t)((ctrl | PCI_MSIX_FLAGS_ENABLE) & ~PCI_MSIX_FLAGS_MASKALL));
	__asm__ volatile("sti" ::: "memory");

	mmio_write32(raise, 0);
	if (!wait_count(1, WAIT_ARRIVE))
		report_lost(name, "after raise", pba);

	mmio_write32(entry + PCI_MSIX_ENTRY_VECTOR_CTRL, PCI_MSIX_ENTRY_CTRL_MASKBIT);
	mmio_write32(raise, 0);
	if (wait_count(2, WAIT_ABSENT))
		rt_fail("msix %s: masked entry delivered an interrupt", name);
	else if (!(mmio_read32(pba) & 1))
		rt_fail("msix %s: masked raise left PBA bit 0 clear", name);

	mmio_write32(entry + PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
	if (!wait_count(2, WAIT_ARRIVE))
		report_lost(name, "after unmasking a pending vector", pba);
	else if (mmio_read32(pba) & 1)
		rt_fail("msix %s: PBA bit 0 still set after delivery", name);

	__asm__ volatile("cli" ::: "memory");
	mmio_write32(entry + PCI_MSIX_ENTRY_VECTOR_CTRL, PCI_MSIX_ENTRY_CTRL_MASKBIT);
	cfg_write16(f, cap + PCI_MSIX_FLAGS, ctrl);
	rt_set_trap_hook(NULL);
	if (rt_failures == errors)
		rt_printf("pcie-enum: msix %s ok (apic %u vector 0x%x, masked raise pending, "
			  "delivered on unmask)\n",
			  name, apic_id, MSIX_VECTOR);
}
