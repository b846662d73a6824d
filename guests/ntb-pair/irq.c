/* SPDX-License-Identifier: MIT */
/*
 * Interrupts: the local APIC (xAPIC MMIO, Intel SDM vol. 3 chapter 11) with one trap hook for
 * the two vectors this guest uses, the sleep timer and the NT function's MSI (PCI Local Bus
 * 3.0 6.8.1: message address 0xFEE00000 | APIC ID << 12, data = vector, fixed, edge).
 *
 * The doorbell interrupt check, after the polled exchange, once each way: the receiver
 * unmasks DBELL in NTINTMSK and only DB_IRQ in INDBELLMSK, rings DB_IRQ_READY, and sleeps
 * until the MSI arrives; the sender waits for DB_IRQ_READY and rings DB_IRQ. That is the
 * whole path: the sender's vmm sets our INDBELLSTS in the shared state and kicks our vmm,
 * whose link thread raises the MSI on the rising edge of NTINTSTS & ~NTINTMSK.
 */
#include "ntb_pair.h"

#define LAPIC_BASE	 0xFEE00000ULL
#define LAPIC_ID	 0x020
#define LAPIC_TPR	 0x080
#define LAPIC_EOI	 0x0b0
#define LAPIC_SVR	 0x0f0
#define LAPIC_SVR_ENABLE 0x100
#define SPURIOUS_VECTOR	 0xff
#define NTB_VECTOR	 0x41
#define MSI_ADDR_BASE	 0xFEE00000u

#define PCI_STATUS_CAP_LIST  0x10
#define PCI_CAPABILITY_LIST  0x34
#define PCI_CAP_ID_MSI	     0x05
#define PCI_MSI_FLAGS	     2
#define PCI_MSI_FLAGS_ENABLE 0x1
#define PCI_MSI_FLAGS_64BIT  0x80
#define PCI_MSI_ADDRESS_LO   4
#define PCI_MSI_DATA_32	     8
#define PCI_MSI_DATA_64	     12
#define MAX_CAPS	     48

#define IDT_NTINTMSK_ALL   0x8bu
#define IDT_NTINTSTS_DBELL 0x2u
#define IRQ_WAIT_MS	   10000

static volatile uint32_t ntb_irqs;
static bool apic_on;

static bool hook(struct rt_frame *frame)
{
	if (frame->vector == TIMER_VECTOR || frame->vector == NTB_VECTOR) {
		if (frame->vector == NTB_VECTOR)
			ntb_irqs++;
		mmio_write32(LAPIC_BASE + LAPIC_EOI, 0);
		return true;
	}
	return frame->vector == SPURIOUS_VECTOR; /* no EOI for spurious (SDM 11.9) */
}

void apic_enable(void)
{
	uint32_t svr;

	if (apic_on)
		return;
	svr = mmio_read32(LAPIC_BASE + LAPIC_SVR);
	mmio_write32(LAPIC_BASE + LAPIC_SVR, (svr & ~0xffu) | LAPIC_SVR_ENABLE | SPURIOUS_VECTOR);
	mmio_write32(LAPIC_BASE + LAPIC_TPR, 0);
	rt_set_trap_hook(hook);
	apic_on = true;
}

static uint8_t find_msi(const struct ntb_dev *d)
{
	uint8_t ptr;

	if (!(cfg_read32(d, PCI_COMMAND) >> 16 & PCI_STATUS_CAP_LIST))
		return 0;
	ptr = (uint8_t)(cfg_read32(d, PCI_CAPABILITY_LIST) & 0xfc);
	for (int n = 0; ptr >= 0x40 && n < MAX_CAPS; n++) {
		uint32_t v = cfg_read32(d, ptr);

		if ((v & 0xff) == PCI_CAP_ID_MSI)
			return ptr;
		ptr = (uint8_t)(v >> 8 & 0xfc);
	}
	return 0;
}

static int msi_enable(const struct ntb_dev *d)
{
	static bool done;
	uint8_t cap = find_msi(d);
	uint32_t flags;

	if (done)
		return 0;
	if (!cap) {
		rt_fail("%s: the NT function has no MSI capability", d->role);
		return -1;
	}
	apic_enable();
	flags = cfg_read32(d, cap) >> 16;
	cfg_write32(d, cap + PCI_MSI_ADDRESS_LO,
		    MSI_ADDR_BASE | (mmio_read32(LAPIC_BASE + LAPIC_ID) >> 24) << 12);
	if (flags & PCI_MSI_FLAGS_64BIT) {
		cfg_write32(d, cap + PCI_MSI_ADDRESS_LO + 4, 0);
		cfg_write32(d, cap + PCI_MSI_DATA_64, NTB_VECTOR);
	} else {
		cfg_write32(d, cap + PCI_MSI_DATA_32, NTB_VECTOR);
	}
	/* One vector (MME 0); the dword write also leaves the capability header as it is. */
	cfg_write32(d, cap, (cfg_read32(d, cap) & 0xff8fffffu) | PCI_MSI_FLAGS_ENABLE << 16);
	done = true;
	return 0;
}

static void receive(struct ntb_dev *d)
{
	uint64_t t0, limit = ms_to_tsc(IRQ_WAIT_MS);
	uint32_t before = ntb_irqs, sts;

	nt_write(d, IDT_NT_INDBELLMSK, ~DB_IRQ);
	nt_write(d, IDT_NT_NTINTMSK, IDT_NTINTMSK_ALL & ~IDT_NTINTSTS_DBELL);
	nt_write(d, IDT_NT_OUTDBELLSET, DB_IRQ_READY);
	t0 = rt_rdtsc();
	while (ntb_irqs == before && rt_rdtsc() - t0 < limit)
		delay_ms(1); /* hlt: the MSI wakes it as well as the timer */
	sts = nt_read(d, IDT_NT_INDBELLSTS);
	nt_write(d, IDT_NT_INDBELLSTS, DB_IRQ);
	nt_write(d, IDT_NT_NTINTMSK, IDT_NTINTMSK_ALL);
	nt_write(d, IDT_NT_INDBELLMSK, ~0u);
	if (ntb_irqs == before)
		rt_fail("%s: no MSI for doorbell 0x%x within %u ms (INDBELLSTS 0x%08x NTINTSTS "
			"0x%08x)",
			d->role, DB_IRQ, IRQ_WAIT_MS, sts, nt_read(d, IDT_NT_NTINTSTS));
	else if (!(sts & DB_IRQ))
		rt_fail("%s: MSI arrived but INDBELLSTS is 0x%08x", d->role, sts);
	else
		rt_printf("ntb-pair: %s doorbell irq ok (msi vector 0x%x)\n", d->role, NTB_VECTOR);
}

static void send(const struct ntb_dev *d)
{
	if (db_wait(d, DB_IRQ_READY, IRQ_WAIT_MS))
		nt_write(d, IDT_NT_OUTDBELLSET, DB_IRQ);
}

void irq_check(struct ntb_dev *d)
{
	int errors = rt_failures;

	if (msi_enable(d))
		return;
	/* B first, then A. */
	if (d->a)
		send(d);
	else
		receive(d);
	if (rt_failures != errors)
		return;
	if (d->a)
		receive(d);
	else
		send(d);
}
